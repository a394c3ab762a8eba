/* SPDX-License-Identifier: MIT */
#include "chaos_be.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define FLOOD_SEND_MS 50
#define FEATURES ((UINT64_C(1) << PROTO_F_PROTOCOL_FEATURES) | \
		  (UINT64_C(1) << VHOST_F_VERSION_1))

static void answer_config(struct chaos_peer *p)
{
	struct proto_shmem_config c;
	uint8_t b[PROTO_SHMEM_CONFIG_SIZE];

	memset(&c, 0, sizeof(c));
	c.nregions = 1;
	c.memory_sizes[0] = CHAOS_PEER_REGION_SIZE;
	proto_shmem_config_encode(&c, b, sizeof(b));
	chaos_peer_reply(p, &p->main, PROTO_GET_SHMEM_CONFIG, b, sizeof(b));
}

/* GET_VRING_BASE and GET_CONFIG echo parts of the request. */
static void answer_echo(struct chaos_peer *p, const struct chan_msg *m)
{
	uint8_t b[PROTO_MAX_PAYLOAD];
	size_t n = m->payload_len;

	memcpy(b, m->payload, n);
	if (m->hdr.request == PROTO_GET_VRING_BASE && n >= 8)
		memset(b + 4, 0, 4); /* index kept, num 0 */
	else if (m->hdr.request == PROTO_GET_CONFIG && n > PROTO_CONFIG_HDR_SIZE)
		memset(b + PROTO_CONFIG_HDR_SIZE, 0, n - PROTO_CONFIG_HDR_SIZE);
	chaos_peer_reply(p, &p->main, m->hdr.request, b, n);
}

static void take_backend_fd(struct chaos_peer *p, struct chan_msg *m)
{
	int fd;

	if (m->nfds < 1)
		return;
	fd = chan_msg_take_fd(m, 0);
	chan_close(&p->backend);
	chan_init(&p->backend, fd, "backend", PROTO_CHAN_BACKEND);
}

static uint64_t u64_of(const struct chan_msg *m)
{
	uint64_t v = 0;

	proto_u64_decode(m->payload, m->payload_len, &v);
	return v;
}

/* What requests change in the state we answer from. */
static void apply(struct chaos_peer *p, struct chan_msg *m)
{
	switch (m->hdr.request) {
	case PROTO_SET_FEATURES: p->features = u64_of(m); break;
	case PROTO_SET_PROTOCOL_FEATURES: p->pfeat = u64_of(m) & p->pfeat_offer; break;
	case PROTO_SET_BACKEND_REQ_FD: take_backend_fd(p, m); break;
	case PROTO_SET_STATUS: p->status = u64_of(m); break;
	case PROTO_RESET_DEVICE:
	case PROTO_RESET_OWNER: p->status = 0; break;
	default: break;
	}
}

/* Requests that always have a reply body. true when m was one. */
static bool answer_get(struct chaos_peer *p, const struct chan_msg *m)
{
	struct chan *c = &p->main;
	uint32_t r = m->hdr.request;

	switch (r) {
	case PROTO_GET_FEATURES:
		chaos_peer_reply_u64(p, c, r, FEATURES);
		break;
	case PROTO_GET_PROTOCOL_FEATURES:
		chaos_peer_reply_u64(p, c, r, p->pfeat_offer);
		break;
	case PROTO_GET_QUEUE_NUM: chaos_peer_reply_u64(p, c, r, 1); break;
	case PROTO_GET_MAX_MEM_SLOTS: chaos_peer_reply_u64(p, c, r, 8); break;
	case PROTO_GET_STATUS: chaos_peer_reply_u64(p, c, r, p->status); break;
	case PROTO_GET_SHMEM_CONFIG: answer_config(p); break;
	case PROTO_GET_VRING_BASE:
	case PROTO_GET_CONFIG: answer_echo(p, m); break;
	default: return false;
	}
	return true;
}

void chaos_be_on_main(struct chaos_peer *p, struct chan_msg *m)
{
	if (m->hdr.flags & PROTO_F_REPLY)
		return; /* nothing of ours to answer */
	apply(p, m);
	if (answer_get(p, m))
		return;
	if ((m->hdr.flags & PROTO_F_NEED_REPLY) &&
	    chaos_peer_has(p, PROTO_PF_REPLY_ACK))
		chaos_peer_reply_u64(p, &p->main, m->hdr.request, 0);
}

/* Version 2: a map/unmap is answered when its reply comes (the chaos
 * back-end takes any reply of 8 bytes with value 0 as success). */
static void answer_outcome(struct chaos_peer *p, const struct chan_msg *m)
{
	bool ok = m->payload_len == 8 && u64_of(m) == 0;

	if (p->answers_due == 0)
		return;
	p->answers_due--;
	chaos_peer_ok(p, ok ? "result=0" : "result=fail reason=reply not 0");
}

void chaos_be_on_backend(struct chaos_peer *p, struct chan_msg *m)
{
	if (m->hdr.flags & PROTO_F_REPLY)
		answer_outcome(p, m);
	if (!(m->hdr.flags & PROTO_F_REPLY))
		chaos_peer_say(p, "back-end channel: request %u from the "
			       "front-end, ignored", m->hdr.request);
}

/* ---- control: map / unmap ---- */

static int parse_flags(const struct ctl_cmd *cmd, uint64_t *flags)
{
	const struct ctl_arg *a = ctl_find(cmd, "flags");

	*flags = PROTO_MMAP_F_RW;
	if (!a || !a->has_val)
		return 0;
	if (strcmp(a->val, "rw") == 0)
		return 0;
	if (strcmp(a->val, "ro") == 0) {
		*flags = 0;
		return 0;
	}
	return ctl_parse_u64(a->val, flags);
}

static int parse_map(struct chaos_peer *p, const struct ctl_cmd *cmd,
		     struct proto_mmap *mm, bool *need_reply, char *err,
		     size_t errcap)
{
	uint64_t shmid;

	memset(mm, 0, sizeof(*mm));
	if (ctl_arg_u64(cmd, "shmid", 0, &shmid, err, errcap) < 0 ||
	    ctl_arg_u64(cmd, "shm_offset", 0, &mm->shm_offset, err, errcap) < 0 ||
	    ctl_arg_u64(cmd, "len", 0x1000, &mm->len, err, errcap) < 0 ||
	    ctl_arg_u64(cmd, "fd_offset", 0, &mm->fd_offset, err, errcap) < 0 ||
	    ctl_arg_bool(cmd, "need_reply", chaos_peer_has(p, PROTO_PF_REPLY_ACK),
			 need_reply, err, errcap) < 0)
		return -EINVAL;
	if (parse_flags(cmd, &mm->flags) < 0) {
		snprintf(err, errcap, "bad flags");
		return -EINVAL;
	}
	mm->shmid = (uint8_t)shmid;
	return 0;
}

static void send_map(struct chaos_peer *p, const struct ctl_cmd *cmd, bool map)
{
	struct proto_mmap mm;
	uint8_t b[PROTO_MMAP_SIZE];
	char err[160];
	bool need;
	int fd = -1;

	if (parse_map(p, cmd, &mm, &need, err, sizeof(err)) < 0) {
		chaos_peer_err(p, err);
		return;
	}
	if (p->backend.fd < 0) {
		chaos_peer_err(p, "no back-end channel");
		return;
	}
	if (!map)
		mm.fd_offset = mm.flags = 0;
	else if ((fd = chaos_peer_memfd("vhu-chaos-map", mm.fd_offset + mm.len)) < 0)
		fd = -1;
	if (p->ctl_version < 2)
		chaos_peer_ok(p, NULL);
	proto_mmap_encode(&mm, b, sizeof(b));
	chaos_peer_request(p, &p->backend,
			   map ? PROTO_BE_SHMEM_MAP : PROTO_BE_SHMEM_UNMAP,
			   need ? PROTO_F_NEED_REPLY : 0, b, sizeof(b), &fd,
			   fd >= 0 ? 1 : 0);
	/* Version 2: the outcome once known; without a reply, at once. */
	if (p->ctl_version >= 2 && need)
		p->answers_due++;
	else if (p->ctl_version >= 2)
		chaos_peer_ok(p, "result=sent");
	if (fd >= 0)
		close(fd);
}

void chaos_be_on_control(struct chaos_peer *p, const struct ctl_cmd *cmd)
{
	char text[160];

	if (strcmp(cmd->name, "map") == 0 || strcmp(cmd->name, "unmap") == 0) {
		send_map(p, cmd, cmd->name[0] == 'm');
	} else if (strcmp(cmd->name, "version") == 0) {
		chaos_peer_on_version(p, cmd);
	} else if (strcmp(cmd->name, "get-config") == 0) {
		snprintf(text, sizeof(text), "{\"nregions\":1,\"sizes\":[%u]}",
			 CHAOS_PEER_REGION_SIZE);
		chaos_peer_ok(p, text);
	} else if (strcmp(cmd->name, "dump") == 0) {
		chaos_peer_ok(p, "{\"mappings\":[],\"fds\":[]}");
	} else if (strcmp(cmd->name, "reset") == 0) {
		chaos_peer_ok(p, NULL);
	} else if (strcmp(cmd->name, "quit") == 0) {
		chaos_peer_ok(p, NULL);
		p->quit = true;
	} else {
		snprintf(text, sizeof(text), "unknown command '%.60s'", cmd->name);
		chaos_peer_err(p, text);
	}
}

/* ---- flood ---- */

/* MAPs with a memfd each on the back-end channel, or unasked replies on
 * the main channel when there is no back-end channel yet. */
void chaos_be_flood(struct chaos_peer *p, unsigned ms)
{
	int64_t end = chan_deadline(ms);
	struct proto_mmap mm = { .len = 0x1000, .flags = PROTO_MMAP_F_RW };
	uint8_t b[PROTO_MMAP_SIZE];
	unsigned sent = 0;
	int fd = chaos_peer_memfd("vhu-chaos-flood", 0x1000);
	struct chan *c = p->backend.fd >= 0 ? &p->backend : &p->main;

	while (chan_now_ms() < end && c->fd >= 0) {
		struct proto_hdr h = { .request = PROTO_BE_SHMEM_MAP,
				       .flags = PROTO_VERSION, .size = sizeof(b) };
		int st;

		if (c == &p->main) {
			h.request = PROTO_GET_FEATURES;
			h.flags |= PROTO_F_REPLY;
		} else if (sent % 3 == 0) {
			h.flags |= PROTO_F_NEED_REPLY;
		}
		mm.shm_offset = (uint64_t)(sent % 256) * 0x1000;
		proto_mmap_encode(&mm, b, sizeof(b));
		st = chaos_wire_send_plain(c, &h, b, sizeof(b), &fd,
					   fd >= 0 && c == &p->backend ? 1 : 0,
					   chan_deadline(FLOOD_SEND_MS));
		if (st == CHAN_OK)
			sent++;
		else if (st != CHAN_TIMEOUT)
			break;
	}
	chaos_peer_say(p, "flood: %u messages on the %s channel", sent, c->name);
	if (fd >= 0)
		close(fd);
}
