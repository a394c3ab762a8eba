/* SPDX-License-Identifier: MIT */
#include "chaos_fe.h"
#include "protofmt.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define FLOOD_SEND_MS 50
#define FEATURES ((UINT64_C(1) << PROTO_F_PROTOCOL_FEATURES) | \
		  (UINT64_C(1) << VHOST_F_VERSION_1))
#define STATUS_READY (PROTO_STATUS_ACKNOWLEDGE | PROTO_STATUS_DRIVER | \
		      PROTO_STATUS_FEATURES_OK)

static uint32_t ack(const struct chaos_peer *p)
{
	return chaos_peer_has(p, PROTO_PF_REPLY_ACK) ? PROTO_F_NEED_REPLY : 0;
}

/* Waits for the reply to req; other messages are dropped. 0 with the
 * reply in *r (to release), -ETIMEDOUT, or -ECONNRESET (channel lost). */
static int wait_reply(struct chaos_peer *p, uint32_t req, struct chan_msg *r)
{
	int64_t end = chan_deadline(CHAOS_PEER_REPLY_MS);

	for (;;) {
		int64_t left = end - chan_now_ms();
		int st;

		if (left <= 0)
			return -ETIMEDOUT;
		st = chaos_peer_recv(p, &p->main, r, (int)left);
		if (st == CHAN_TIMEOUT)
			return -ETIMEDOUT;
		if (st != CHAN_OK && st != CHAN_TOO_MANY_FDS)
			return -ECONNRESET;
		if ((r->hdr.flags & PROTO_F_REPLY) && r->hdr.request == req)
			return 0;
		chan_msg_release(r);
	}
}

/* A request on the main channel; waits for the reply when there is one
 * to wait for. r may be NULL when its contents do not matter. */
static int call(struct chaos_peer *p, uint32_t req, uint32_t flags,
		const void *pl, size_t len, const int *fds, unsigned nfds,
		struct chan_msg *r)
{
	struct chan_msg scratch;
	bool want = proto_has_reply_body(PROTO_CHAN_MAIN, req) ||
		    ((flags & PROTO_F_NEED_REPLY) &&
		     chaos_peer_has(p, PROTO_PF_REPLY_ACK));
	int e;

	chan_msg_init(r ? r : &scratch);
	if (chaos_peer_request(p, &p->main, req, flags, pl, len, fds, nfds) !=
	    CHAN_OK)
		return p->main.fd < 0 ? -ECONNRESET : 0;
	if (!want)
		return 0;
	e = wait_reply(p, req, r ? r : &scratch);
	if (!r)
		chan_msg_release(&scratch);
	return e;
}

static int call_u64(struct chaos_peer *p, uint32_t req, uint32_t flags,
		    uint64_t v)
{
	uint8_t b[8];

	proto_u64_encode(v, b, sizeof(b));
	return call(p, req, flags, b, sizeof(b), NULL, 0, NULL);
}

/* GET_* with a u64 answer: *v stays as it is without one. */
static int get_u64(struct chaos_peer *p, uint32_t req, uint64_t *v)
{
	struct chan_msg r;
	int e = call(p, req, 0, NULL, 0, NULL, 0, &r);

	if (e == 0)
		proto_u64_decode(r.payload, r.payload_len, v);
	chan_msg_release(&r);
	return e == -ECONNRESET ? e : 0;
}

static int hs_features(struct chaos_peer *p)
{
	uint64_t v = FEATURES;

	if (get_u64(p, PROTO_GET_FEATURES, &v) < 0)
		return -ECONNRESET;
	p->features = v & FEATURES;
	if (call_u64(p, PROTO_SET_FEATURES, 0, p->features) == -ECONNRESET)
		return -ECONNRESET;
	if (!(p->features & (UINT64_C(1) << PROTO_F_PROTOCOL_FEATURES)))
		return 0;
	v = 0;
	if (get_u64(p, PROTO_GET_PROTOCOL_FEATURES, &v) < 0)
		return -ECONNRESET;
	p->pfeat = v & p->pfeat_offer;
	return call_u64(p, PROTO_SET_PROTOCOL_FEATURES, 0, p->pfeat) ==
			       -ECONNRESET ? -ECONNRESET : 0;
}

static int hs_backend_channel(struct chaos_peer *p)
{
	int sv[2], e;

	if (!chaos_peer_has(p, PROTO_PF_BACKEND_REQ))
		return 0;
	e = chan_socketpair(sv);
	if (e < 0)
		return 0;
	chan_close(&p->backend);
	chan_init(&p->backend, sv[0], "backend", PROTO_CHAN_BACKEND);
	e = call(p, PROTO_SET_BACKEND_REQ_FD, ack(p), NULL, 0, &sv[1], 1, NULL);
	close(sv[1]);
	return e == -ECONNRESET ? e : 0;
}

static int hs_shmem_config(struct chaos_peer *p)
{
	struct proto_shmem_config c;
	struct chan_msg r;
	int e;

	memset(p->region_size, 0, sizeof(p->region_size));
	if (!chaos_peer_has(p, p->shmem_bit))
		return 0;
	e = call(p, PROTO_GET_SHMEM_CONFIG, 0, NULL, 0, NULL, 0, &r);
	if (e == 0 && proto_shmem_config_decode(r.payload, r.payload_len, &c) ==
			      PROTO_OK)
		memcpy(p->region_size, c.memory_sizes, sizeof(p->region_size));
	chan_msg_release(&r);
	return e == -ECONNRESET ? e : 0;
}

static int hs_mem_table(struct chaos_peer *p)
{
	struct proto_mem_table t = { .nregions = 1 };
	uint8_t b[8 + PROTO_MEM_REGION_SIZE];
	uint64_t slots = 8;

	if (chaos_peer_has(p, PROTO_PF_CONFIGURE_MEM_SLOTS) &&
	    get_u64(p, PROTO_GET_MAX_MEM_SLOTS, &slots) < 0)
		return -ECONNRESET;
	if (p->guest_mem_fd < 0)
		p->guest_mem_fd = chaos_peer_memfd("vhu-chaos-guest",
						   CHAOS_PEER_GUEST_MEM);
	if (p->guest_mem_fd < 0)
		return 0;
	t.regions[0].memory_size = CHAOS_PEER_GUEST_MEM;
	t.regions[0].userspace_addr = UINT64_C(0x7f0000000000);
	proto_mem_table_encode(&t, b, sizeof(b));
	return call(p, PROTO_SET_MEM_TABLE, ack(p), b, sizeof(b),
		    &p->guest_mem_fd, 1, NULL) == -ECONNRESET ? -ECONNRESET : 0;
}

static int hs_vring(struct chaos_peer *p)
{
	struct proto_vring_state s = { .index = 0, .num = 256 };
	uint8_t b[PROTO_VRING_STATE_SIZE];

	proto_vring_state_encode(&s, b, sizeof(b));
	if (call(p, PROTO_SET_VRING_NUM, 0, b, sizeof(b), NULL, 0, NULL) < 0)
		return -ECONNRESET;
	s.num = 0;
	proto_vring_state_encode(&s, b, sizeof(b));
	return call(p, PROTO_SET_VRING_BASE, 0, b, sizeof(b), NULL, 0, NULL);
}

int chaos_fe_handshake(struct chaos_peer *p)
{
	int e = hs_features(p);

	if (e == 0)
		e = call(p, PROTO_SET_OWNER, 0, NULL, 0, NULL, 0, NULL);
	if (e == 0)
		e = hs_backend_channel(p);
	if (e == 0)
		e = hs_shmem_config(p);
	if (e == 0)
		e = hs_mem_table(p);
	if (e == 0)
		e = hs_vring(p);
	chaos_peer_say(p, "handshake %s: protocol features 0x%llx",
		       e == 0 ? "done" : "lost", (unsigned long long)p->pfeat);
	return e;
}

int chaos_fe_connect(struct chaos_peer *p, int ms)
{
	int fd = chan_connect(p->socket_path, chan_deadline(ms));

	if (fd < 0)
		return fd;
	chan_close(&p->main);
	chan_init(&p->main, fd, "main", PROTO_CHAN_MAIN);
	return 0;
}

static void set_status(struct chaos_peer *p, uint64_t st)
{
	p->status = st;
	if (chaos_peer_has(p, PROTO_PF_STATUS))
		call_u64(p, PROTO_SET_STATUS, 0, st);
}

void chaos_fe_start(struct chaos_peer *p)
{
	set_status(p, STATUS_READY | PROTO_STATUS_DRIVER_OK);
}

void chaos_fe_on_main(struct chaos_peer *p, struct chan_msg *m)
{
	if (!(m->hdr.flags & PROTO_F_REPLY))
		chaos_peer_say(p, "main channel: request %u from the back-end, "
			       "ignored", m->hdr.request);
}

/* ---- the back-end channel: SHMEM_MAP / SHMEM_UNMAP ---- */

static bool range_ok(const struct chaos_peer *p, const struct proto_mmap *mm)
{
	uint64_t size = p->region_size[mm->shmid];

	return mm->len && mm->shm_offset + mm->len > mm->shm_offset &&
	       mm->shm_offset + mm->len <= size && mm->fd_offset <= INT64_MAX;
}

static bool overlaps(const struct chaos_peer *p, const struct proto_mmap *mm)
{
	for (unsigned i = 0; i < p->nmaps; i++) {
		const struct chaos_map *x = &p->maps[i];

		if (x->shmid == mm->shmid && mm->shm_offset < x->shm_offset + x->len &&
		    x->shm_offset < mm->shm_offset + mm->len)
			return true;
	}
	return false;
}

static uint64_t do_map(struct chaos_peer *p, const struct chan_msg *m)
{
	struct proto_mmap mm;
	struct chaos_map *x;
	int prot = PROT_READ;
	void *a;

	if (!chaos_peer_has(p, p->shmem_bit) || m->nfds != 1 ||
	    proto_mmap_decode(m->payload, m->payload_len, &mm) != PROTO_OK ||
	    !range_ok(p, &mm) || overlaps(p, &mm) || p->nmaps == CHAOS_PEER_MAX_MAPS)
		return 1;
	if (mm.flags & PROTO_MMAP_F_RW)
		prot |= PROT_WRITE;
	a = mmap(NULL, mm.len, prot, MAP_SHARED, m->fds[0], (off_t)mm.fd_offset);
	if (a == MAP_FAILED)
		return 1;
	x = &p->maps[p->nmaps++];
	x->shmid = mm.shmid;
	x->shm_offset = mm.shm_offset;
	x->len = mm.len;
	x->addr = a;
	return 0;
}

static uint64_t do_unmap(struct chaos_peer *p, const struct chan_msg *m)
{
	struct proto_mmap mm;

	if (!chaos_peer_has(p, p->shmem_bit) ||
	    proto_mmap_decode(m->payload, m->payload_len, &mm) != PROTO_OK)
		return 1;
	for (unsigned i = 0; i < p->nmaps; i++) {
		struct chaos_map *x = &p->maps[i];

		if (x->shmid != mm.shmid || x->shm_offset != mm.shm_offset ||
		    x->len != mm.len)
			continue;
		munmap(x->addr, x->len);
		*x = p->maps[--p->nmaps];
		return 0;
	}
	return 1;
}

static void drop_maps(struct chaos_peer *p)
{
	for (unsigned i = 0; i < p->nmaps; i++)
		munmap(p->maps[i].addr, p->maps[i].len);
	p->nmaps = 0;
}

void chaos_fe_on_backend(struct chaos_peer *p, struct chan_msg *m)
{
	uint64_t v;

	if (m->hdr.flags & PROTO_F_REPLY)
		return;
	if (m->hdr.request == PROTO_BE_SHMEM_MAP)
		v = do_map(p, m);
	else if (m->hdr.request == PROTO_BE_SHMEM_UNMAP)
		v = do_unmap(p, m);
	else
		v = 1;
	if (m->hdr.flags & PROTO_F_NEED_REPLY)
		chaos_peer_reply_u64(p, &p->backend, m->hdr.request, v);
}

/* ---- control ---- */

static void dump(struct chaos_peer *p)
{
	char buf[CTL_LINE_MAX];
	size_t len = 0;

	proto_appendf(buf, sizeof(buf), &len, "{\"started\":%s,\"mappings\":[",
		      (p->status & PROTO_STATUS_DRIVER_OK) ? "true" : "false");
	for (unsigned i = 0; i < p->nmaps; i++)
		proto_appendf(buf, sizeof(buf), &len,
			      "%s{\"shmid\":%u,\"shm_offset\":%llu,\"len\":%llu}",
			      i ? "," : "", p->maps[i].shmid,
			      (unsigned long long)p->maps[i].shm_offset,
			      (unsigned long long)p->maps[i].len);
	proto_appendf(buf, sizeof(buf), &len, "],\"fds\":[]}");
	if (len >= sizeof(buf))
		chaos_peer_err(p, "dump too long");
	else
		chaos_peer_ok(p, buf);
}

static void reset(struct chaos_peer *p)
{
	drop_maps(p);
	if (chaos_peer_has(p, PROTO_PF_RESET_DEVICE))
		call(p, PROTO_RESET_DEVICE, 0, NULL, 0, NULL, 0, NULL);
	else if (chaos_peer_has(p, PROTO_PF_STATUS))
		set_status(p, 0);
	else
		call(p, PROTO_RESET_OWNER, 0, NULL, 0, NULL, 0, NULL);
}

static void reconnect(struct chaos_peer *p)
{
	if (!p->socket_path) {
		/* A limit of this mode, not a misbehaviour. */
		chaos_peer_err(p, "unsupported: reconnect needs --socket-path");
		return;
	}
	chaos_peer_ok(p, NULL);
	drop_maps(p);
	chan_close(&p->main);
	chan_close(&p->backend);
	if (chaos_fe_connect(p, CHAOS_PEER_REPLY_MS) == 0)
		chaos_fe_handshake(p);
}

void chaos_fe_on_control(struct chaos_peer *p, const struct ctl_cmd *cmd)
{
	const char *n = cmd->name;
	char text[160];

	if (strcmp(n, "start") == 0 || strcmp(n, "stop") == 0 ||
	    strcmp(n, "reset") == 0) {
		if (p->main.fd < 0) {
			chaos_peer_err(p, "not connected");
			return;
		}
		chaos_peer_ok(p, NULL);
		if (n[2] == 'a')
			chaos_fe_start(p);
		else if (n[2] == 'o')
			set_status(p, STATUS_READY);
		else
			reset(p);
	} else if (strcmp(n, "reconnect") == 0) {
		reconnect(p);
	} else if (strcmp(n, "version") == 0) {
		chaos_peer_on_version(p, cmd);
	} else if (strcmp(n, "dump") == 0) {
		dump(p);
	} else if (strcmp(n, "quit") == 0) {
		chaos_peer_ok(p, NULL);
		p->quit = true;
	} else {
		snprintf(text, sizeof(text), "unknown command '%.60s'", n);
		chaos_peer_err(p, text);
	}
}

/* Requests on the main channel, some waiting for an answer we never
 * read: the back-end's replies pile up against its own deadline. */
void chaos_fe_flood(struct chaos_peer *p, unsigned ms)
{
	int64_t end = chan_deadline(ms);
	unsigned sent = 0;

	while (chan_now_ms() < end && p->main.fd >= 0) {
		struct proto_hdr h = { .request = PROTO_GET_FEATURES,
				       .flags = PROTO_VERSION };
		uint8_t b[PROTO_VRING_STATE_SIZE] = { 0 };
		int st;

		if (sent % 2) {
			h.request = PROTO_SET_VRING_NUM;
			h.flags |= PROTO_F_NEED_REPLY;
			h.size = sizeof(b);
		}
		st = chaos_wire_send_plain(&p->main, &h, b, h.size, NULL, 0,
					   chan_deadline(FLOOD_SEND_MS));
		if (st == CHAN_OK)
			sent++;
		else if (st != CHAN_TIMEOUT)
			break;
	}
	chaos_peer_say(p, "flood: %u requests on the main channel", sent);
}
