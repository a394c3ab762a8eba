/* SPDX-License-Identifier: MIT */
#include "handshake.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "chan.h"
#include "control.h"
#include "runenv.h"
#include "ledger.h"
#include "protoname.h"

#define QUIET_MS 100
#define VRING_NUM 256u

/* The protocol features the harness offers (as back-end) or acks (as
 * front-end) before a case turns some off. */
static uint64_t harness_pfeatures(unsigned shmem_bit, bool shmem)
{
	uint64_t pf = 1ull << PROTO_PF_REPLY_ACK | 1ull << PROTO_PF_BACKEND_REQ |
		      1ull << PROTO_PF_BACKEND_SEND_FD |
		      1ull << PROTO_PF_CONFIGURE_MEM_SLOTS | 1ull << PROTO_PF_STATUS |
		      1ull << PROTO_PF_RESET_DEVICE;

	if (shmem)
		pf |= 1ull << shmem_bit;
	return pf;
}

static unsigned case_shmem_bit(const struct run *x, const struct script_step *st)
{
	return st->u.hs.has_shmem_bit ? st->u.hs.shmem_bit : x->env->shmem_bit;
}

/* A handshake that could not be completed: graded, and the case stops. */
static void hs_fail(struct run *x, const char *expected, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void hs_fail(struct run *x, const char *expected, const char *fmt, ...)
{
	char obs[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(obs, sizeof(obs), fmt, ap);
	va_end(ap);
	run_fail(x, expected, "%s", obs);
	x->stop = true;
}

/* UNSUPPORTED when the target lacks a required protocol feature. */
static bool check_requires(struct run *x, uint64_t have, const char *verb)
{
	unsigned bit = x->s.shmem_bit;
	uint64_t need = x->c->requires_pf | (x->c->requires_shmem ? 1ull << bit : 0);
	uint64_t missing = need & ~have;
	char names[256] = "";
	size_t len = 0;

	if (!missing)
		return true;
	for (unsigned b = 0; b < 64 && len < sizeof(names); b++) {
		const char *n = b == bit ? "SHMEM" : proto_pfeat_name(b, bit);

		if (missing & (1ull << b))
			len += (size_t)snprintf(names + len, sizeof(names) - len,
						"%s%s", len ? " " : "", n ? n : "?");
	}
	run_abort(x, RESULT_UNSUPPORTED, "the target %s %s (protocol features "
		  "0x%llx, SHMEM at bit %u)", verb, names,
		  (unsigned long long)have, bit);
	return false;
}

/* Harness as back-end: what to offer and answer. Done before the first
 * pump, since the front-end starts its handshake as soon as it runs. */
static void configure_offer(struct run *x, const struct script_step *st)
{
	const struct script_handshake *hs = &st->u.hs;
	struct rbe_offer *o = &x->s.be.offer;
	unsigned bit = case_shmem_bit(x, st);

	x->s.shmem_bit = bit;
	o->features = 1ull << PROTO_F_PROTOCOL_FEATURES | 1ull << 32;
	o->pfeatures = harness_pfeatures(bit, hs->shmem != SCRIPT_SHMEM_OFF) &
		       ~hs->pf_off;
	o->max_mem_slots = hs->has_max_slots ? hs->max_slots : 509;
	memset(&o->cfg, 0, sizeof(o->cfg));
	for (unsigned i = 0; i < hs->nsizes && i < PROTO_SHMEM_MAX_REGIONS; i++)
		o->cfg.memory_sizes[i] = st->list[i];
	o->cfg.nregions = hs->has_nregions ? hs->nregions : hs->nsizes;
	o->cfg.padding = hs->has_config_padding ? hs->config_padding : 0;
	o->cfg_request = hs->has_config_request ? hs->config_request
						: PROTO_GET_SHMEM_CONFIG;
	o->cfg_flags = hs->has_config_flags ? hs->config_flags
					    : PROTO_VERSION | PROTO_F_REPLY;
	o->cfg_size = hs->has_config_size ? hs->config_size
					  : PROTO_SHMEM_CONFIG_SIZE;
}

static bool be_negotiated(struct session *s, void *arg)
{
	uint64_t breq = 1ull << PROTO_PF_BACKEND_REQ;

	(void)arg;
	return s->be.pf_set && (!(s->be.negotiated & s->be.offer.pfeatures & breq) ||
			     sess_chan_live(s, SCRIPT_BACKEND));
}

static bool be_driver_ok(struct session *s, void *arg)
{
	(void)arg;
	return s->be.driver_ok;
}

/* Until the main channel has been quiet for QUIET_MS. */
static void quiet(struct run *x, int64_t deadline)
{
	for (;;) {
		int64_t until = x->s.last_rx_ms + run_scaled(x, QUIET_MS);
		enum sess_wait w;

		if (until > deadline)
			until = deadline;
		if (chan_now_ms() >= until)
			return;
		w = sess_pump(&x->s, until, NULL, NULL);
		if (!run_wait_ok(x, w) || w == SESS_GONE)
			return;
	}
}

/* Everything the target sent so far has been served. */
static void barrier(struct run *x, int64_t deadline)
{
	if (x->speaks_control) {
		if (!control_command(x, "dump", SCRIPT_CTL_OK, deadline))
			x->stop = true;
	} else {
		quiet(x, deadline);
	}
}

static void be_start(struct run *x, int64_t deadline)
{
	enum sess_wait w;

	/* A target that speaks control says itself when its device runs:
	 * QEMU forwards DRIVER_OK to the back-end only for some device
	 * types (net, blk, vdpa), so SET_STATUS is no proof either way. */
	if (x->speaks_control) {
		/* Any answer to the dump that follows means the start is
		 * done: the front-end answers dump only with nothing pending. */
		if (!control_command(x, "start", SCRIPT_CTL_OK, deadline))
			x->stop = true;
		else
			run_wait_ok(x, sess_control(&x->s, "dump", deadline));
		return;
	}
	if (!(x->s.be.negotiated & (1ull << PROTO_PF_STATUS))) {
		barrier(x, deadline);
		return;
	}
	w = sess_pump(&x->s, deadline, be_driver_ok, NULL);
	if (run_wait_ok(x, w) && !x->s.be.driver_ok)
		hs_fail(x, "handshake: SET_STATUS with DRIVER_OK (device started)",
			"no DRIVER_OK within %lld ms (status 0x%llx)",
			(long long)run_scaled(x, x->st->within_ms),
			(unsigned long long)x->s.be.status);
}

void handshake_backend(struct run *x)
{
	const struct script_handshake *hs = &x->st->u.hs;
	int64_t deadline = run_deadline(x);
	uint64_t shmem = 1ull << case_shmem_bit(x, x->st);
	enum sess_wait w;
	char d[160];

	configure_offer(x, x->st);
	w = sess_pump(&x->s, deadline, be_negotiated, NULL);
	if (!run_wait_ok(x, w))
		return;
	if (!be_negotiated(&x->s, NULL)) {
		run_nothing_seen(x, w, d, sizeof(d));
		hs_fail(x, "handshake: SET_PROTOCOL_FEATURES and SET_BACKEND_REQ_FD "
			"from the front-end", "%s%s",
			x->s.be.pf_set ? "no SET_BACKEND_REQ_FD: " : "", d);
		return;
	}
	sess_note(&x->s, "negotiated protocol features 0x%llx",
		  (unsigned long long)x->s.be.negotiated);
	if (!check_requires(x, x->s.be.negotiated, "did not negotiate"))
		return;
	if (hs->shmem == SCRIPT_SHMEM_ON && !(x->s.be.negotiated & shmem)) {
		run_abort(x, RESULT_UNSUPPORTED, "the target did not negotiate SHMEM "
			  "(bit %u)", x->s.shmem_bit);
		return;
	}
	if (hs->shmem == SCRIPT_SHMEM_OFFER_ONLY && (x->s.be.negotiated & shmem)) {
		run_abort(x, RESULT_UNSUPPORTED, "shmem=offer-only needs a front-end "
			  "that declines SHMEM (bit %u); this one accepted it",
			  x->s.shmem_bit);
		return;
	}
	if (hs->start)
		be_start(x, deadline);
	else
		barrier(x, deadline);
	/* The negotiation's requests were the handshake's: `expect msg` looks
	 * at what comes after it. */
	x->s.cursor[SCRIPT_MAIN] = x->s.nlog;
}

/* Harness as front-end: one request on the main channel; when it has a
 * reply (a body, or NEED_REPLY), waits for it and puts its u64 in *value.
 * false (the case stopped) when the target does not answer properly. */
static bool fe_call(struct run *x, uint32_t req, const void *payload,
		    size_t len, int fd, bool need_reply, uint64_t *value)
{
	struct proto_hdr h = { req, PROTO_VERSION, (uint32_t)len };
	bool body = proto_has_reply_body(PROTO_CHAN_MAIN, req);
	enum script_chan c = SCRIPT_MAIN;
	const struct sess_rec *rec;
	char expected[96], namebuf[32], d[200];
	const char *name = run_req_name(SCRIPT_MAIN, req, namebuf, sizeof(namebuf));
	int64_t deadline = run_deadline(x);
	enum sess_wait w;
	uint64_t v = 0;
	int rc;

	if (need_reply)
		h.flags |= PROTO_F_NEED_REPLY;
	rc = sess_send(&x->s, c, &h, payload, len, fd >= 0 ? &fd : NULL, fd >= 0);
	run_note_sent(x, c, req, h.flags);
	if (rc != CHAN_OK) {
		hs_fail(x, "handshake: the target takes our requests", "%s: %s", name,
			rc < 0 ? strerror(-rc) : chan_status_name(rc));
		return false;
	}
	if (!body && !need_reply)
		return true;
	do {
		w = sess_pump(&x->s, deadline, run_has_record, &c);
		rec = sess_peek(&x->s, c);
	} while (run_skip_unsolicited(x, c, rec, req));
	if (!run_wait_ok(x, w))
		return false;
	snprintf(expected, sizeof(expected), "handshake: a reply to %s", name);
	if (!rec || rec->eof) {
		if (rec)
			run_describe_rec(rec, d, sizeof(d));
		else
			run_nothing_seen(x, w, d, sizeof(d));
		hs_fail(x, expected, "%s", d);
		return false;
	}
	sess_consume(&x->s, c);
	run_replied(x, c);
	run_describe_rec(rec, d, sizeof(d));
	if (!(rec->hdr.flags & PROTO_F_REPLY) || rec->hdr.request != req) {
		hs_fail(x, expected, "%s", d);
		return false;
	}
	if (rec->payload_len >= 8)
		proto_u64_decode(rec->payload, 8, &v);
	if (!body && v != 0) {
		hs_fail(x, expected, "refused: %s", d);
		return false;
	}
	if (value)
		*value = v;
	return true;
}

static bool fe_u64(struct run *x, uint32_t req, uint64_t v, bool ack)
{
	uint8_t b[8];

	proto_u64_encode(v, b, sizeof(b));
	return fe_call(x, req, b, sizeof(b), -1, ack, NULL);
}

static bool fe_vring_state(struct run *x, uint32_t req, uint32_t num, bool ack)
{
	struct proto_vring_state vs = { 0, num };
	uint8_t b[PROTO_VRING_STATE_SIZE];

	proto_vring_state_encode(&vs, b, sizeof(b));
	return fe_call(x, req, b, sizeof(b), -1, ack, NULL);
}

static bool fe_backend_channel(struct run *x, bool ack)
{
	int sv[2];
	bool ok;

	if (chan_socketpair(sv) < 0) {
		run_abort(x, RESULT_ERROR, "socketpair: %s", strerror(errno));
		return false;
	}
	sess_set_chan(&x->s, SCRIPT_BACKEND, sv[0]);
	ok = fe_call(x, PROTO_SET_BACKEND_REQ_FD, NULL, 0, sv[1], ack, NULL);
	close(sv[1]);
	return ok;
}

/* GET_SHMEM_CONFIG: kept for `stable` and the ledger. */
static bool fe_shmem_config(struct run *x)
{
	const struct sess_rec *rec;
	struct proto_shmem_config zero = { 0 };

	if (!fe_call(x, PROTO_GET_SHMEM_CONFIG, NULL, 0, -1, false, NULL))
		return false;
	rec = &x->s.log[x->s.cursor[SCRIPT_MAIN] - 1];
	x->hs_cfg_valid = rec->hdr.size == PROTO_SHMEM_CONFIG_SIZE &&
			  proto_shmem_config_decode(rec->payload, rec->payload_len,
						    &x->hs_cfg) == PROTO_OK;
	ledger_init(&x->s.fe.ledger, x->hs_cfg_valid ? &x->hs_cfg : &zero);
	return true;
}

static bool fe_mem_table(struct run *x, uint64_t size, bool ack)
{
	struct proto_mem_table t = { .nregions = 1 };
	uint8_t b[8 + PROTO_MEM_REGION_SIZE * PROTO_MAX_MEM_REGIONS];
	int n;

	if (x->mem)
		munmap(x->mem, x->mem_len);
	if (x->mem_fd >= 0)
		close(x->mem_fd);
	x->mem = NULL;
	x->mem_fd = memfd_create("vhu-harness-guest-ram", MFD_CLOEXEC);
	if (x->mem_fd < 0 || ftruncate(x->mem_fd, (off_t)size) < 0) {
		run_abort(x, RESULT_ERROR, "guest RAM memfd: %s", strerror(errno));
		return false;
	}
	x->mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, x->mem_fd, 0);
	if (x->mem == MAP_FAILED) {
		x->mem = NULL;
		run_abort(x, RESULT_ERROR, "guest RAM mmap: %s", strerror(errno));
		return false;
	}
	x->mem_len = size;
	t.regions[0].memory_size = size;
	t.regions[0].userspace_addr = (uint64_t)(uintptr_t)x->mem;
	n = proto_mem_table_encode(&t, b, sizeof(b));
	return n > 0 && fe_call(x, PROTO_SET_MEM_TABLE, b, (size_t)n, x->mem_fd, ack,
				NULL);
}

static bool fe_vring_fd(struct run *x, uint32_t req, int *fd, bool ack)
{
	uint8_t b[8];

	if (*fd >= 0)
		close(*fd);
	*fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (*fd < 0) {
		run_abort(x, RESULT_ERROR, "eventfd: %s", strerror(errno));
		return false;
	}
	proto_u64_encode(0, b, sizeof(b));
	return fe_call(x, req, b, sizeof(b), *fd, ack, NULL);
}

/* One vring in the guest RAM: descriptors, then avail, then used. */
static bool fe_vring(struct run *x, bool ack)
{
	uint64_t base = (uint64_t)(uintptr_t)x->mem;
	struct proto_vring_addr a = {
		.desc_user_addr = base,
		.avail_user_addr = base + 16 * VRING_NUM,
		.used_user_addr = base + 16 * VRING_NUM + 0x1000,
	};
	uint8_t b[PROTO_VRING_ADDR_SIZE];

	proto_vring_addr_encode(&a, b, sizeof(b));
	return fe_vring_state(x, PROTO_SET_VRING_NUM, VRING_NUM, ack) &&
	       fe_call(x, PROTO_SET_VRING_ADDR, b, sizeof(b), -1, ack, NULL) &&
	       fe_vring_state(x, PROTO_SET_VRING_BASE, 0, ack) &&
	       fe_vring_fd(x, PROTO_SET_VRING_KICK, &x->vring_fds[0], ack) &&
	       fe_vring_fd(x, PROTO_SET_VRING_CALL, &x->vring_fds[1], ack) &&
	       fe_vring_state(x, PROTO_SET_VRING_ENABLE, 1, ack);
}

/* Features and protocol features; false when the case stops. */
static bool fe_negotiate(struct run *x, const struct script_handshake *hs)
{
	uint64_t features = 0, offered = 0, shmem = 1ull << x->s.shmem_bit;

	if (!fe_call(x, PROTO_GET_FEATURES, NULL, 0, -1, false, &features))
		return false;
	if (!(features & (1ull << PROTO_F_PROTOCOL_FEATURES))) {
		hs_fail(x, "handshake: GET_FEATURES offers bit 30 (PROTOCOL_FEATURES)",
			"features 0x%llx", (unsigned long long)features);
		return false;
	}
	if (!fe_u64(x, PROTO_SET_FEATURES, features & (1ull << 30 | 1ull << 32),
		    false) ||
	    !fe_call(x, PROTO_GET_PROTOCOL_FEATURES, NULL, 0, -1, false, &offered))
		return false;
	sess_note(&x->s, "the target offers protocol features 0x%llx",
		  (unsigned long long)offered);
	if (!check_requires(x, offered, "does not offer"))
		return false;
	if (hs->shmem == SCRIPT_SHMEM_ON && !(offered & shmem)) {
		run_abort(x, RESULT_UNSUPPORTED, "the target does not offer SHMEM "
			  "(bit %u)", x->s.shmem_bit);
		return false;
	}
	x->fe_negotiated = harness_pfeatures(x->s.shmem_bit,
					     hs->shmem != SCRIPT_SHMEM_OFF) &
			   ~hs->pf_off & offered;
	return fe_u64(x, PROTO_SET_PROTOCOL_FEATURES, x->fe_negotiated, false);
}

void handshake_frontend(struct run *x)
{
	const struct script_handshake *hs = &x->st->u.hs;
	uint64_t pf;
	bool ack, ok;

	x->s.shmem_bit = case_shmem_bit(x, x->st);
	if (!fe_negotiate(x, hs))
		return;
	pf = x->fe_negotiated;
	ack = pf & (1ull << PROTO_PF_REPLY_ACK);
	ok = fe_call(x, PROTO_SET_OWNER, NULL, 0, -1, ack, NULL);
	if (ok && (pf & (1ull << PROTO_PF_BACKEND_REQ)))
		ok = fe_backend_channel(x, ack);
	if (ok && (pf & (1ull << x->s.shmem_bit)))
		ok = fe_shmem_config(x);
	else if (ok)
		ledger_init(&x->s.fe.ledger, NULL);
	ok = ok && fe_mem_table(x, hs->mem, ack);
	if (ok && hs->start) {
		ok = fe_vring(x, ack);
		if (ok && (pf & (1ull << PROTO_PF_STATUS)))
			ok = fe_u64(x, PROTO_SET_STATUS, PROTO_STATUS_ACKNOWLEDGE |
				    PROTO_STATUS_DRIVER | PROTO_STATUS_FEATURES_OK |
				    PROTO_STATUS_DRIVER_OK, ack);
	}
	/* GET_FEATURES always has a reply: everything before it was read. */
	if (ok)
		fe_call(x, PROTO_GET_FEATURES, NULL, 0, -1, false, NULL);
}

/* The SHMEM bit of the case: its first handshake's, or --shmem-bit. */
unsigned handshake_case_bit(const struct run *x)
{
	for (unsigned i = 0; i < x->c->nsteps; i++)
		if (x->c->steps[i].op == SCRIPT_HANDSHAKE)
			return case_shmem_bit(x, &x->c->steps[i]);
	return x->env->shmem_bit;
}

/* The offer before any handshake step ran: the first one's, or the
 * defaults. */
void handshake_first_offer(struct run *x)
{
	static uint64_t dflt_list[1] = { 0x100000 };
	struct script_step dflt = { .op = SCRIPT_HANDSHAKE, .list = dflt_list };

	dflt.u.hs.nsizes = 1;
	dflt.u.hs.start = true;
	for (unsigned i = 0; i < x->c->nsteps; i++) {
		if (x->c->steps[i].op == SCRIPT_HANDSHAKE) {
			configure_offer(x, &x->c->steps[i]);
			return;
		}
	}
	configure_offer(x, &dflt);
}

void handshake_next_offer(struct run *x)
{
	unsigned next = (unsigned)(x->st - x->c->steps) + 1;

	for (unsigned i = next; i < x->c->nsteps; i++) {
		if (x->c->steps[i].op == SCRIPT_HANDSHAKE) {
			configure_offer(x, &x->c->steps[i]);
			return;
		}
	}
}
