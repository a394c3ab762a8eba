/* SPDX-License-Identifier: MIT */
/*
 * berig: see berig.h. Each rule is checked in a function of its own so
 * that findings deduplicate by the rule that broke.
 */
#include "berig.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "driver.h"
#include "fuzzfaults.h"
#include "protoval.h"
#include "refbemain.h"
#include "refbemap.h"
#include "refbesend.h"

#define BERIG_SEND_MS 100
/* Strays drained after a request: a double reply, a reply nobody asked
 * for. More would be a loop. */
#define BERIG_MAX_DRAIN 4

static uint64_t bit(unsigned b)
{
	return b < 64 ? UINT64_C(1) << b : 0;
}

/* ---- the main channel, through the back-end's own handlers ---- */

static void drain_main(struct berig *b)
{
	uint8_t buf[4096];

	while (recv(b->main_peer.fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
}

/* One front-end request; fds stay ours (the handlers dup what they
 * keep). 0 or -errno. */
static int main_msg(struct berig *b, uint32_t request, const uint8_t *payload,
		    size_t len, const int *fds, unsigned nfds)
{
	struct chan_msg m;

	chan_msg_init(&m);
	m.hdr = (struct proto_hdr){ request, PROTO_VERSION, (uint32_t)len };
	if (len)
		memcpy(m.payload, payload, len);
	m.payload_len = len;
	if (nfds)
		memcpy(m.fds, fds, nfds * sizeof(int));
	m.nfds = nfds;
	return refbe_handle_main_msg(&b->be, &m);
}

static int main_u64(struct berig *b, uint32_t request, uint64_t v)
{
	uint8_t buf[8];

	proto_u64_encode(v, buf, sizeof(buf));
	return main_msg(b, request, buf, sizeof(buf), NULL, 0);
}

void berig_negotiate(struct berig *b, bool shmem, bool reply_ack)
{
	uint64_t pf = b->pf_all;

	if (!shmem)
		pf &= ~bit(b->be.cfg.shmem_bit);
	if (!reply_ack)
		pf &= ~bit(PROTO_PF_REPLY_ACK);
	(void)main_u64(b, PROTO_SET_PROTOCOL_FEATURES, pf);
	b->shmem = shmem;
	b->reply_ack = reply_ack;
	drain_main(b);
}

void berig_reconnect(struct berig *b)
{
	int sv[2];

	if (chan_socketpair(sv) < 0)
		fuzz_finding("rig: socketpair: %s", strerror(errno));
	(void)main_msg(b, PROTO_SET_BACKEND_REQ_FD, NULL, 0, &sv[0], 1);
	close(sv[0]);
	chan_close(&b->peer);
	chan_init(&b->peer, sv[1], "backend", PROTO_CHAN_BACKEND);
	drain_main(b);
	if (b->be.backend.fd < 0)
		fuzz_finding("5: SET_BACKEND_REQ_FD with BACKEND_REQ was refused");
}

/* ---- set-up ---- */

static void default_config(struct refbe_config *cfg)
{
	refbe_config_default(cfg);
	cfg->sizes[0] = UINT64_C(1) << 20;
	cfg->sizes[1] = UINT64_C(1) << 16;
	cfg->sizes[3] = UINT64_C(2) << 20;
	/* Nobody answers later in process: an absent reply is final at
	 * once, not after a second. */
	cfg->reply_timeout_ms = 0;
}

static int read_config(struct berig *b, struct proto_shmem_config *c,
		       struct chan_msg *m)
{
	int st;

	(void)main_msg(b, PROTO_GET_SHMEM_CONFIG, NULL, 0, NULL, 0);
	st = chan_recv(&b->main_peer, m, chan_deadline(0));
	if (st != CHAN_OK)
		return -EPROTO;
	return proto_shmem_config_decode(m->payload, m->payload_len, c) ==
			       PROTO_OK ? 0 : -EPROTO;
}

int berig_init(struct berig *b)
{
	struct refbe_config cfg;
	struct chan_msg m;
	int sv[2], rc;

	memset(b, 0, sizeof(*b));
	chan_init(&b->peer, -1, "backend", PROTO_CHAN_BACKEND);
	chan_init(&b->main_peer, -1, "main", PROTO_CHAN_MAIN);
	default_config(&cfg);
	rc = fuzzfaults_from_env(&cfg.faults, FAULT_ROLE_BACKEND, b->err,
				 sizeof(b->err));
	refbe_init(&b->be, &cfg);
	if (rc == 0)
		rc = fuzzpool_init(&b->pool, b->err, sizeof(b->err));
	if (rc == 0 && (rc = chan_socketpair(sv)) < 0)
		snprintf(b->err, sizeof(b->err), "socketpair: %s", strerror(-rc));
	if (rc < 0) {
		refbe_free(&b->be);
		return rc;
	}
	refbe_attach_main(&b->be, sv[0]);
	chan_init(&b->main_peer, sv[1], "main", PROTO_CHAN_MAIN);
	b->pf_all = refbe_supported_pfeatures(cfg.shmem_bit);
	(void)main_u64(b, PROTO_SET_FEATURES, bit(PROTO_F_PROTOCOL_FEATURES));
	berig_negotiate(b, true, true);
	(void)main_msg(b, PROTO_SET_OWNER, NULL, 0, NULL, 0);
	berig_reconnect(b);
	/* The first answer is the front-end's view of the regions; it is
	 * judged by later GET_SHMEM_CONFIG steps, not here, so that a
	 * faulty answer is a finding of an input rather than of set-up. */
	if (read_config(b, &b->first_config, &m) < 0) {
		snprintf(b->err, sizeof(b->err), "no GET_SHMEM_CONFIG answer");
		berig_free(b);
		return -EPROTO;
	}
	b->config = b->first_config;
	return 0;
}

void berig_free(struct berig *b)
{
	refbe_free(&b->be);
	chan_close(&b->peer);
	chan_close(&b->main_peer);
	fuzzpool_free(&b->pool);
}

/* ---- what the back-end sends ---- */

/* Any validator finding short of INFO breaks a rule a conforming
 * back-end keeps (digest 12H). */
static void check_validator(const struct chan_msg *m, enum proto_chan chan,
			    bool is_reply)
{
	struct proto_vctx ctx = { .chan = chan, .is_reply = is_reply,
				  .nfds = m->nfds,
				  .payload_len = m->payload_len };
	struct proto_findings f;

	memset(&f, 0, sizeof(f));
	proto_validate(&ctx, &m->hdr, m->payload, &f);
	for (unsigned i = 0; i < f.count; i++)
		if (f.items[i].severity != PROTO_SEV_INFO)
			fuzz_finding("12H: %s: %s",
				     proto_finding_name(f.items[i].code),
				     f.items[i].text);
}

static bool overlaps_live(const struct berig *b, const struct proto_mmap *mm)
{
	for (unsigned i = 0; i < b->nlive; i++) {
		const struct berig_range *x = &b->live[i];
		uint64_t lo = x->shm_offset > mm->shm_offset ? x->shm_offset
							     : mm->shm_offset;

		if (x->shmid == mm->shmid && lo < x->shm_offset + x->len &&
		    lo < mm->shm_offset + mm->len)
			return true;
	}
	return false;
}

static void check_map_fd(const struct chan_msg *m, const struct proto_mmap *mm)
{
	struct stat st;

	if (m->nfds != 1)
		fuzz_finding("12H: SHMEM_MAP with %u fds, not 1", m->nfds);
	if (fstat(m->fds[0], &st) != 0 || !S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_size < mm->fd_offset + mm->len)
		fuzz_finding("6: the MAP's fd cannot back fd_offset 0x%llx + len "
			     "0x%llx", (unsigned long long)mm->fd_offset,
			     (unsigned long long)mm->len);
}

static void check_map_range(const struct berig *b, const struct proto_mmap *mm)
{
	uint64_t size = b->config.memory_sizes[mm->shmid];

	if (mm->shm_offset > size || mm->len > size - mm->shm_offset)
		fuzz_finding("12H: MAP shmid %u 0x%llx+0x%llx outside the "
			     "advertised 0x%llx", mm->shmid,
			     (unsigned long long)mm->shm_offset,
			     (unsigned long long)mm->len,
			     (unsigned long long)size);
	if (overlaps_live(b, mm))
		fuzz_finding("12H: MAP shmid %u 0x%llx+0x%llx overlaps its own "
			     "live mapping", mm->shmid,
			     (unsigned long long)mm->shm_offset,
			     (unsigned long long)mm->len);
}

/* Receives the request the back-end just sent and checks what every
 * MAP/UNMAP must be. Returns whether it asked for a reply. */
static bool take_request(struct berig *b, uint32_t want, struct chan_msg *m,
			 struct proto_mmap *mm)
{
	int st = chan_recv(&b->peer, m, chan_deadline(0));

	if (st != CHAN_OK)
		fuzz_finding("12H: the back-end accepted a request but sent no "
			     "whole message (%s)",
			     st > 0 ? chan_status_name((enum chan_status)st)
				    : strerror(-st));
	if (m->hdr.request != want)
		fuzz_finding("12H: sent request %u, not %u", m->hdr.request, want);
	check_validator(m, PROTO_CHAN_BACKEND, false);
	if (!b->shmem)
		fuzz_finding("6/7: request %u sent without SHMEM negotiated", want);
	if (proto_mmap_decode(m->payload, m->payload_len, mm) != PROTO_OK)
		fuzz_finding("4: request %u payload of %zu bytes", want,
			     m->payload_len);
	return (m->hdr.flags & PROTO_F_NEED_REPLY) != 0;
}

/* ---- what the rig answers ---- */

static int send_raw(struct berig *b, const uint8_t *buf, size_t len,
		    const int *fds, unsigned nfds)
{
	return chan_send_raw(&b->peer, buf, len, fds, nfds,
			     chan_deadline(BERIG_SEND_MS));
}

/* A reply of `size` payload bytes with this header; the outcome it
 * must have, or REFBE_NO_REPLY when nothing could be sent. */
static int send_reply_bytes(struct berig *b, struct proto_hdr h, uint64_t v,
			    size_t bytes, const int *fds, unsigned nfds,
			    int outcome)
{
	uint8_t buf[PROTO_HDR_SIZE + 16] = { 0 };

	proto_hdr_encode(&h, buf, sizeof(buf));
	proto_u64_encode(v, buf + PROTO_HDR_SIZE, 8);
	return send_raw(b, buf, PROTO_HDR_SIZE + bytes, fds, nfds) == CHAN_OK
		       ? outcome : REFBE_NO_REPLY;
}

static uint32_t wrong_flags(uint8_t value)
{
	static const uint32_t f[5] = {
		PROTO_VERSION, PROTO_VERSION | PROTO_F_REPLY | PROTO_F_NEED_REPLY,
		0x2 | PROTO_F_REPLY, PROTO_VERSION | PROTO_F_REPLY | 0x20,
		PROTO_F_REPLY,
	};

	return f[value % 5];
}

/* Sends the answer; returns the outcome a conforming back-end must
 * record for it (when it asked for a reply). */
static int answer(struct berig *b, uint32_t request, enum berig_reply kind,
		  uint8_t value, unsigned fd_choice)
{
	struct proto_hdr h = { request, PROTO_VERSION | PROTO_F_REPLY, 8 };
	int fds[2];
	unsigned nfds;

	switch (kind) {
	case BERIG_OK: return send_reply_bytes(b, h, 0, 8, NULL, 0, REFBE_DONE);
	case BERIG_ERR:
		return send_reply_bytes(b, h, (uint64_t)value | 1, 8, NULL, 0,
					REFBE_REFUSED);
	case BERIG_NONE: return REFBE_NO_REPLY;
	case BERIG_WRONG_ID:
		h.request = request + 1;
		return send_reply_bytes(b, h, 0, 8, NULL, 0, REFBE_BAD_REPLY);
	case BERIG_WRONG_FLAGS:
		h.flags = wrong_flags(value);
		return send_reply_bytes(b, h, 0, 8, NULL, 0, REFBE_BAD_REPLY);
	case BERIG_SHORT:
		h.size = 4;
		return send_reply_bytes(b, h, 0, 4, NULL, 0, REFBE_BAD_REPLY);
	case BERIG_LONG:
		h.size = 16;
		return send_reply_bytes(b, h, 0, 16, NULL, 0, REFBE_BAD_REPLY);
	case BERIG_TRUNC:
		return send_reply_bytes(b, h, 0, 3, NULL, 0, REFBE_BAD_REPLY);
	case BERIG_FDS:
		nfds = fuzzpool_fds(&b->pool, fd_choice, fds);
		return send_reply_bytes(b, h, 0, 8, fds, nfds, REFBE_DONE);
	case BERIG_EOF:
		shutdown(b->peer.fd, SHUT_WR);
		return REFBE_EOF;
	default:
		send_reply_bytes(b, h, 0, 8, NULL, 0, REFBE_DONE);
		return send_reply_bytes(b, h, 0, 8, NULL, 0, REFBE_DONE);
	}
}

/* Lets the back-end take its reply, give up on a missing one, and drop
 * whatever else arrived, as its poll loop would. */
static void let_backend_run(struct berig *b)
{
	if (refbe_waiting(&b->be, NULL)) {
		if (!b->be.backend_deaf)
			refbe_service_backend(&b->be, chan_deadline(0));
		refbe_check_timeout(&b->be);
	}
	for (unsigned i = 0; i < BERIG_MAX_DRAIN && b->be.backend.fd >= 0 &&
			     !b->be.backend_deaf &&
			     chan_wait_readable(b->be.backend.fd,
						chan_deadline(0)) == 1;
	     i++)
		refbe_service_backend(&b->be, chan_deadline(0));
}

/* ---- the ledger ---- */

static const struct refbe_mapping *be_find(const struct berig *b,
					   const struct berig_range *r)
{
	for (unsigned i = 0; i < b->be.nmaps; i++) {
		const struct refbe_mapping *mp = &b->be.maps[i];

		if (mp->shmid == r->shmid && mp->shm_offset == r->shm_offset &&
		    mp->len == r->len)
			return mp;
	}
	return NULL;
}

static void check_ledger(const struct berig *b)
{
	if (refbe_waiting(&b->be, NULL) || b->be.nqueue)
		fuzz_finding("9: the back-end still waits after the outcome");
	if (b->be.nmaps != b->nlive)
		fuzz_finding("12H: the back-end's ledger holds %u mappings, the "
			     "front-end %u", b->be.nmaps, b->nlive);
	for (unsigned i = 0; i < b->nlive; i++) {
		const struct refbe_mapping *mp = be_find(b, &b->live[i]);

		if (!mp || mp->state != REFBE_MAP_LIVE || mp->fd < 0)
			fuzz_finding("12H: live mapping shmid %u 0x%llx+0x%llx "
				     "missing from the back-end's ledger",
				     b->live[i].shmid,
				     (unsigned long long)b->live[i].shm_offset,
				     (unsigned long long)b->live[i].len);
	}
}

static void check_outcome(const struct berig *b, const char *what, int want)
{
	if (b->be.last_outcome != want)
		fuzz_finding("12H: %s: outcome %s, the reply sent calls for %s",
			     what,
			     refbe_outcome_name((enum refbe_outcome)b->be.last_outcome),
			     refbe_outcome_name((enum refbe_outcome)want));
}

static void after_request(struct berig *b)
{
	check_ledger(b);
	if (b->be.backend.fd < 0 || b->be.backend_deaf)
		berig_reconnect(b);
}

/* ---- steps ---- */

static void check_waits(const struct berig *b, bool need)
{
	if (need && !refbe_waiting(&b->be, NULL))
		fuzz_finding("9: asked for a reply and went on without it");
}

void berig_map(struct berig *b, const struct refbe_map_req *req,
	       enum berig_reply reply, uint8_t value, unsigned fd_choice)
{
	struct chan_msg m;
	struct proto_mmap mm;
	char err[160];
	bool need;
	int want;

	if (refbe_check_map(&b->be, req, err, sizeof(err)) != 0 ||
	    refbe_submit(&b->be, req, true) != 0)
		return; /* refused before sending: what its control says */
	need = take_request(b, PROTO_BE_SHMEM_MAP, &m, &mm);
	check_map_fd(&m, &mm);
	check_map_range(b, &mm);
	chan_msg_release(&m);
	check_waits(b, need);
	want = answer(b, PROTO_BE_SHMEM_MAP, reply, value, fd_choice);
	let_backend_run(b);
	if (!need)
		want = REFBE_DONE;
	check_outcome(b, "MAP", want);
	if (want == REFBE_DONE && b->nlive < REFBE_MAX_MAPPINGS)
		b->live[b->nlive++] = (struct berig_range){ mm.shmid,
							    mm.shm_offset, mm.len };
	after_request(b);
}

void berig_unmap(struct berig *b, unsigned idx, int need_reply,
		 enum berig_reply reply, uint8_t value, unsigned fd_choice)
{
	struct refbe_map_req req = { .need_reply = need_reply };
	struct berig_range r;
	struct chan_msg m;
	struct proto_mmap mm;
	char err[160];
	bool need;
	int want;

	if (b->nlive == 0)
		return;
	r = b->live[idx % b->nlive];
	req.shmid = r.shmid;
	req.shm_offset = r.shm_offset;
	req.len = r.len;
	if (refbe_check_unmap(&b->be, &req, err, sizeof(err)) != 0 ||
	    refbe_submit(&b->be, &req, false) != 0)
		return;
	need = take_request(b, PROTO_BE_SHMEM_UNMAP, &m, &mm);
	if (m.nfds)
		fuzz_finding("12H: SHMEM_UNMAP with %u fds", m.nfds);
	if (mm.shmid != r.shmid || mm.shm_offset != r.shm_offset ||
	    mm.len != r.len)
		fuzz_finding("7: UNMAP names another range than the mapping");
	chan_msg_release(&m);
	check_waits(b, need);
	want = answer(b, PROTO_BE_SHMEM_UNMAP, reply, value, fd_choice);
	let_backend_run(b);
	if (!need)
		want = REFBE_DONE;
	check_outcome(b, "UNMAP", want);
	if (want == REFBE_DONE) {
		unsigned i = idx % b->nlive;

		b->live[i] = b->live[b->nlive - 1];
		b->nlive--;
	}
	after_request(b);
}

void berig_get_config(struct berig *b)
{
	struct proto_shmem_config c;
	struct chan_msg m;

	if (read_config(b, &c, &m) < 0)
		fuzz_finding("8: no well-formed GET_SHMEM_CONFIG reply");
	if (m.hdr.flags != (PROTO_VERSION | PROTO_F_REPLY))
		fuzz_finding("8: reply flags 0x%x", m.hdr.flags);
	check_validator(&m, PROTO_CHAN_MAIN, true);
	chan_msg_release(&m);
	if (b->shmem && memcmp(c.memory_sizes, b->first_config.memory_sizes,
			       sizeof(c.memory_sizes)) != 0)
		fuzz_finding("8: the GET_SHMEM_CONFIG answer changed during the "
			     "connection");
}

void berig_device_reset(struct berig *b)
{
	(void)main_u64(b, PROTO_SET_STATUS, 0);
	drain_main(b);
	b->nlive = 0;
	check_ledger(b);
}

void berig_stray(struct berig *b, uint8_t value, unsigned fd_choice)
{
	struct proto_hdr h = { PROTO_BE_SHMEM_MAP, PROTO_VERSION | PROTO_F_REPLY,
			       8 };
	int fds[2];
	unsigned nfds = fuzzpool_fds(&b->pool, fd_choice, fds);

	if (value & 1) /* a request a back-end does not serve */
		h = (struct proto_hdr){ (uint32_t)(value >> 1) % 12,
					PROTO_VERSION, 8 };
	if (send_reply_bytes(b, h, value, 8, fds, nfds, REFBE_DONE) !=
	    REFBE_DONE)
		return; /* not sendable (a closed fd): nothing happened */
	let_backend_run(b);
	if (b->be.backend.fd < 0)
		fuzz_finding("1: a whole stray message made the back-end close "
			     "its channel");
	after_request(b);
}

void berig_reset_input(struct berig *b)
{
	uint8_t buf[256];

	refbe_reset(&b->be);
	b->nlive = 0;
	if (!b->shmem || !b->reply_ack)
		berig_negotiate(b, true, true);
	if (b->be.backend.fd < 0 || b->be.backend_deaf || b->peer.fd < 0)
		berig_reconnect(b);
	while (recv(b->peer.fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
	drain_main(b);
}
