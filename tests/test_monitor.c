/* SPDX-License-Identifier: MIT */
/* Unit tests for harness/monitor: the stateful checks of vhucheck-monitor,
 * fed message by message as the proxy would feed them. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "monitor.h"
#include "vhutest.h"

#define BIT 22
#define T0 1000

/* Every finding emitted, in order, beside the monitor's own copy. */
struct sink {
	unsigned n;
	char codes[64][40];
};

struct fx {
	struct monitor m;
	struct sink sink;
	int64_t now;
};

static void emit(void *opaque, const struct monitor_finding *f)
{
	struct sink *s = opaque;

	if (s->n < 64)
		snprintf(s->codes[s->n++], sizeof(s->codes[0]), "%s", f->code);
}

static struct fx *fx_new(void)
{
	struct fx *x = calloc(1, sizeof(*x));
	struct monitor_cfg cfg = { .shmem_bit = BIT, .reply_timeout_ms = 500,
				   .emit = emit };

	ck_assert_ptr_nonnull(x);
	cfg.opaque = &x->sink;
	monitor_init(&x->m, &cfg, T0);
	x->now = T0;
	return x;
}

static void feed(struct fx *x, enum proto_chan chan, enum monitor_side from,
		 uint32_t req, uint32_t flags, const void *payload, size_t len,
		 unsigned nfds)
{
	struct monitor_msg msg = {
		.chan = chan, .from = from, .hdr = { req, flags, (uint32_t)len },
		.payload = payload, .payload_len = len, .nfds = nfds,
		.t_ms = ++x->now,
	};

	monitor_on_msg(&x->m, &msg);
}

/* Front-end request on the main channel. */
static void fe(struct fx *x, uint32_t req, uint32_t flags, const void *p, size_t len,
	       unsigned nfds)
{
	feed(x, PROTO_CHAN_MAIN, MONITOR_FRONTEND, req, PROTO_VERSION | flags, p, len, nfds);
}

static void fe_u64(struct fx *x, uint32_t req, uint32_t flags, uint64_t v)
{
	fe(x, req, flags, &v, 8, 0);
}

/* Back-end reply on the main channel. */
static void be_reply(struct fx *x, uint32_t req, const void *p, size_t len)
{
	feed(x, PROTO_CHAN_MAIN, MONITOR_BACKEND, req, PROTO_VERSION | PROTO_F_REPLY, p,
	     len, 0);
}

static void be_reply_u64(struct fx *x, uint32_t req, uint64_t v)
{
	be_reply(x, req, &v, 8);
}

static void config_reply(struct fx *x, uint64_t size0, uint64_t size1)
{
	struct proto_shmem_config c = { .nregions = size1 ? 2 : 1 };
	uint8_t buf[PROTO_SHMEM_CONFIG_SIZE];

	c.memory_sizes[0] = size0;
	c.memory_sizes[1] = size1;
	proto_shmem_config_encode(&c, buf, sizeof(buf));
	be_reply(x, PROTO_GET_SHMEM_CONFIG, buf, sizeof(buf));
}

static const uint64_t PF_ALL = (1ull << PROTO_PF_REPLY_ACK) | (1ull << PROTO_PF_BACKEND_REQ) |
	(1ull << PROTO_PF_BACKEND_SEND_FD) | (1ull << PROTO_PF_RESET_DEVICE) |
	(1ull << PROTO_PF_STATUS);

/* A handshake as a conforming pair does it; shmem: ack the SHMEM bit. */
static void handshake(struct fx *x, bool shmem, bool config)
{
	uint64_t pf = PF_ALL | (1ull << BIT);

	fe(x, PROTO_GET_FEATURES, 0, NULL, 0, 0);
	be_reply_u64(x, PROTO_GET_FEATURES, 1ull << PROTO_F_PROTOCOL_FEATURES);
	fe_u64(x, PROTO_SET_FEATURES, 0, 1ull << PROTO_F_PROTOCOL_FEATURES);
	fe(x, PROTO_GET_PROTOCOL_FEATURES, 0, NULL, 0, 0);
	be_reply_u64(x, PROTO_GET_PROTOCOL_FEATURES, pf);
	fe_u64(x, PROTO_SET_PROTOCOL_FEATURES, 0, shmem ? pf : pf & ~(1ull << BIT));
	fe(x, PROTO_SET_BACKEND_REQ_FD, PROTO_F_NEED_REPLY, NULL, 0, 1);
	be_reply_u64(x, PROTO_SET_BACKEND_REQ_FD, 0);
	if (shmem && config) {
		fe(x, PROTO_GET_SHMEM_CONFIG, 0, NULL, 0, 0);
		config_reply(x, 0x100000, 0);
	}
	fe_u64(x, PROTO_SET_STATUS, 0, 0xf); /* DRIVER_OK */
}

/* A back-end MAP or UNMAP, then (unless reply < 0) the front-end's reply. */
static void mmap_req(struct fx *x, bool map, uint64_t off, uint64_t len, int64_t reply)
{
	struct proto_mmap mm = { .shm_offset = off, .len = len,
				 .flags = map ? PROTO_MMAP_F_RW : 0 };
	uint8_t buf[PROTO_MMAP_SIZE];
	uint32_t req = map ? PROTO_BE_SHMEM_MAP : PROTO_BE_SHMEM_UNMAP;
	uint64_t v = (uint64_t)reply;

	proto_mmap_encode(&mm, buf, sizeof(buf));
	feed(x, PROTO_CHAN_BACKEND, MONITOR_BACKEND, req,
	     PROTO_VERSION | PROTO_F_NEED_REPLY, buf, sizeof(buf), map ? 1 : 0);
	if (reply >= 0)
		feed(x, PROTO_CHAN_BACKEND, MONITOR_FRONTEND, req,
		     PROTO_VERSION | PROTO_F_REPLY, &v, 8, 0);
}

static unsigned count(const struct fx *x, const char *code)
{
	unsigned n = 0;

	for (unsigned i = 0; i < x->m.nfindings; i++)
		n += strcmp(x->m.findings[i].code, code) == 0;
	return n;
}

static const struct monitor_finding *find(const struct fx *x, const char *code)
{
	for (unsigned i = 0; i < x->m.nfindings; i++)
		if (strcmp(x->m.findings[i].code, code) == 0)
			return &x->m.findings[i];
	return NULL;
}

static void no_findings(const struct fx *x)
{
	char line[512] = "";

	if (x->m.nfindings)
		monitor_finding_line(&x->m.findings[0], line, sizeof(line));
	ck_assert_msg(x->m.nfindings == 0, "unexpected: %s", line);
}

TEST_CASE("checks");

START_TEST(clean_session)
{
	struct fx *x = fx_new();

	handshake(x, true, true);
	ck_assert(monitor_shmem(&x->m));
	ck_assert(monitor_pfeat(&x->m, PROTO_PF_REPLY_ACK));
	mmap_req(x, true, 0, 0x1000, 0);
	mmap_req(x, true, 0x1000, 0x1000, 0); /* touching: fine */
	mmap_req(x, false, 0, 0x1000, 0);
	mmap_req(x, true, 0, 0x1000, 0);
	monitor_finish(&x->m, x->now);
	no_findings(x);
	ck_assert_uint_eq(x->m.ledger.nlive, 2);
	ck_assert_uint_eq(x->m.count[PROTO_CHAN_BACKEND][MONITOR_BACKEND], 4);
	ck_assert_uint_eq(x->sink.n, 0);
	free(x);
}
END_TEST

START_TEST(overlap_accepted_is_flagged)
{
	struct fx *x = fx_new();
	const struct monitor_finding *f;

	handshake(x, true, true);
	mmap_req(x, true, 0x2000, 0x2000, 0);
	mmap_req(x, true, 0x1000, 0x2000, 0); /* straddles the start */
	f = find(x, "MAP_ACCEPTED_INVALID");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(f->side, MONITOR_FRONTEND);
	ck_assert_int_eq(f->severity, PROTO_SEV_ERROR);
	ck_assert_int_eq(f->check, MONITOR_CHECK_VERDICTS);
	ck_assert_ptr_nonnull(strstr(f->text, "overlaps"));
	f = find(x, "BACKEND_LEDGER");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(f->side, MONITOR_BACKEND);
	ck_assert_uint_eq(x->sink.n, 2);
	free(x);
}
END_TEST

START_TEST(refused_map_is_not_live)
{
	struct fx *x = fx_new();

	handshake(x, true, true);
	mmap_req(x, true, 0, 0x1000, 0);
	mmap_req(x, true, 0x1000, 0x1000, 1); /* valid, refused: MAY fail */
	ck_assert_uint_eq(count(x, "MAP_REFUSED_VALID"), 1);
	ck_assert_int_eq(find(x, "MAP_REFUSED_VALID")->severity, PROTO_SEV_INFO);
	mmap_req(x, true, 0x1000, 0x1000, 0); /* so this one is no overlap */
	ck_assert_uint_eq(x->m.nfindings, 1);
	ck_assert_uint_eq(x->m.ledger.nlive, 2);
	free(x);
}
END_TEST

START_TEST(overlap_refused_is_fine_for_the_frontend)
{
	struct fx *x = fx_new();

	handshake(x, true, true);
	mmap_req(x, true, 0, 0x2000, 0);
	mmap_req(x, true, 0, 0x2000, 1);
	ck_assert_uint_eq(count(x, "MAP_ACCEPTED_INVALID"), 0);
	ck_assert_uint_eq(count(x, "BACKEND_LEDGER"), 1); /* the back-end's doing */
	ck_assert_uint_eq(x->m.ledger.nlive, 1);
	free(x);
}
END_TEST

START_TEST(bounds_and_wrap)
{
	struct fx *x = fx_new();

	handshake(x, true, true);
	mmap_req(x, true, 0xff000, 0x2000, 0); /* past the 1M region */
	ck_assert_uint_eq(count(x, "MAP_ACCEPTED_INVALID"), 1);
	mmap_req(x, true, UINT64_MAX - 0xfff, 0x2000, 0); /* wraps */
	ck_assert_uint_eq(count(x, "MAP_ACCEPTED_INVALID"), 2);
	ck_assert_uint_eq(count(x, "MMAP_WRAP"), 1);
	free(x);
}
END_TEST

START_TEST(len_zero_is_soft)
{
	struct fx *x = fx_new();
	const struct monitor_finding *f;

	handshake(x, true, true);
	mmap_req(x, true, 0, 0, 0);
	f = find(x, "MAP_ACCEPTED_LEN_ZERO");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(f->severity, PROTO_SEV_WARN);
	ck_assert_uint_eq(count(x, "MMAP_LEN_ZERO"), 1);
	ck_assert_uint_eq(count(x, "BACKEND_LEDGER"), 0);
	ck_assert_uint_eq(x->m.by_severity[PROTO_SEV_ERROR], 0);
	free(x);
}
END_TEST

START_TEST(unmap_must_be_exact)
{
	struct fx *x = fx_new();

	handshake(x, true, true);
	mmap_req(x, true, 0, 0x2000, 0);
	mmap_req(x, false, 0, 0x1000, 0); /* partial, accepted */
	ck_assert_uint_eq(count(x, "UNMAP_ACCEPTED_INVALID"), 1);
	ck_assert_uint_eq(count(x, "BACKEND_LEDGER"), 1);
	mmap_req(x, false, 0, 0x2000, 1); /* exact, refused */
	ck_assert_uint_eq(count(x, "UNMAP_REFUSED_VALID"), 1);
	ck_assert_uint_eq(x->m.ledger.nlive, 1); /* still live */
	mmap_req(x, false, 0, 0x2000, 0);
	ck_assert_uint_eq(x->m.ledger.nlive, 0);
	ck_assert_uint_eq(x->m.nfindings, 3);
	free(x);
}
END_TEST

START_TEST(reset_clears_the_ledger)
{
	struct fx *x = fx_new();

	handshake(x, true, true);
	mmap_req(x, true, 0, 0x1000, 0);
	fe(x, PROTO_RESET_DEVICE, 0, NULL, 0, 0);
	ck_assert_uint_eq(x->m.ledger.nlive, 0);
	mmap_req(x, true, 0, 0x1000, 0); /* the same range again: fine */
	no_findings(x);
	fe_u64(x, PROTO_SET_STATUS, 0, 0); /* SET_STATUS 0 resets too */
	ck_assert_uint_eq(x->m.resets, 2);
	mmap_req(x, true, 0, 0x1000, 1); /* refused before the restart: allowed */
	ck_assert_uint_eq(count(x, "RESET_KEPT_MAPPING"), 0);
	ck_assert_ptr_nonnull(strstr(find(x, "MAP_REFUSED_VALID")->text, "not started"));
	fe_u64(x, PROTO_SET_STATUS, 0, 0xf);
	mmap_req(x, true, 0, 0x1000, 1); /* refused when started: it kept it */
	ck_assert_uint_eq(count(x, "RESET_KEPT_MAPPING"), 1);
	ck_assert_int_eq(find(x, "RESET_KEPT_MAPPING")->check, MONITOR_CHECK_LIFECYCLE);
	free(x);
}
END_TEST

START_TEST(reset_kept_caught_by_unmap)
{
	struct fx *x = fx_new();

	handshake(x, true, true);
	mmap_req(x, true, 0x4000, 0x1000, 0);
	fe(x, PROTO_RESET_OWNER, 0, NULL, 0, 0);
	mmap_req(x, false, 0x4000, 0x1000, 0); /* accepted: it was still there */
	ck_assert_uint_eq(count(x, "RESET_KEPT_MAPPING"), 1);
	ck_assert_uint_eq(count(x, "BACKEND_LEDGER_RESET"), 1);
	ck_assert_int_eq(find(x, "BACKEND_LEDGER_RESET")->severity, PROTO_SEV_WARN);
	free(x);
}
END_TEST

START_TEST(shmem_gating)
{
	struct fx *x = fx_new();

	handshake(x, false, false);
	ck_assert(!monitor_shmem(&x->m));
	fe(x, PROTO_GET_SHMEM_CONFIG, 0, NULL, 0, 0);
	ck_assert_uint_eq(count(x, "SHMEM_NOT_NEGOTIATED"), 1);
	ck_assert_int_eq(find(x, "SHMEM_NOT_NEGOTIATED")->side, MONITOR_FRONTEND);
	config_reply(x, 0x100000, 0);
	mmap_req(x, true, 0, 0x1000, 0);
	ck_assert_uint_eq(count(x, "SHMEM_NOT_NEGOTIATED"), 2);
	ck_assert_int_eq(x->m.findings[1].side, MONITOR_BACKEND);
	ck_assert_uint_eq(count(x, "MAP_ACCEPTED_INVALID"), 1);
	free(x);
}
END_TEST

START_TEST(shmem_bit_is_a_setting)
{
	struct fx *x = fx_new();
	uint64_t pf = PF_ALL | (1ull << 20); /* QEMU v11's bit, not ours */

	fe(x, PROTO_GET_PROTOCOL_FEATURES, 0, NULL, 0, 0);
	be_reply_u64(x, PROTO_GET_PROTOCOL_FEATURES, pf);
	fe_u64(x, PROTO_SET_PROTOCOL_FEATURES, 0, pf);
	ck_assert(!monitor_shmem(&x->m));
	ck_assert_uint_eq(count(x, "PROTOCOL_FEATURES_NOT_OFFERED"), 0);
	free(x);
}
END_TEST

START_TEST(ack_of_unoffered_features)
{
	struct fx *x = fx_new();

	fe(x, PROTO_GET_FEATURES, 0, NULL, 0, 0);
	be_reply_u64(x, PROTO_GET_FEATURES, 0); /* no PROTOCOL_FEATURES */
	fe(x, PROTO_GET_PROTOCOL_FEATURES, 0, NULL, 0, 0);
	ck_assert_uint_eq(count(x, "PROTOCOL_FEATURES_NOT_OFFERED"), 1);
	be_reply_u64(x, PROTO_GET_PROTOCOL_FEATURES, 1ull << PROTO_PF_REPLY_ACK);
	fe_u64(x, PROTO_SET_PROTOCOL_FEATURES, 0,
	       (1ull << PROTO_PF_REPLY_ACK) | (1ull << BIT));
	ck_assert_uint_eq(count(x, "PFEAT_NOT_OFFERED"), 1);
	ck_assert(!monitor_shmem(&x->m)); /* acked, never offered */
	free(x);
}
END_TEST

START_TEST(memtable_before_reply)
{
	struct fx *x = fx_new();
	uint8_t reg[PROTO_MEM_REG_MSG_SIZE] = { 0 };

	handshake(x, true, true);
	mmap_req(x, true, 0, 0x1000, -1); /* MAP waits for its reply */
	ck_assert(monitor_backend_busy(&x->m));
	fe(x, PROTO_ADD_MEM_REG, PROTO_F_NEED_REPLY, reg, sizeof(reg), 1);
	ck_assert_uint_eq(count(x, "MEMTABLE_BEFORE_REPLY"), 1);
	ck_assert_int_eq(find(x, "MEMTABLE_BEFORE_REPLY")->check, MONITOR_CHECK_ORDERING);
	free(x);
}
END_TEST

START_TEST(memtable_after_reply_is_fine)
{
	struct fx *x = fx_new();
	uint8_t reg[PROTO_MEM_REG_MSG_SIZE] = { 0 };

	handshake(x, true, true);
	mmap_req(x, true, 0, 0x1000, 0);
	ck_assert(!monitor_backend_busy(&x->m));
	fe(x, PROTO_ADD_MEM_REG, PROTO_F_NEED_REPLY, reg, sizeof(reg), 1);
	be_reply_u64(x, PROTO_ADD_MEM_REG, 0);
	no_findings(x);
	free(x);
}
END_TEST

START_TEST(reply_deadline)
{
	struct fx *x = fx_new();

	handshake(x, true, true);
	mmap_req(x, true, 0, 0x1000, -1);
	ck_assert_int_eq(monitor_next_deadline(&x->m), x->now + 500);
	monitor_tick(&x->m, x->now + 499);
	no_findings(x);
	monitor_tick(&x->m, x->now + 500);
	ck_assert_uint_eq(count(x, "NO_REPLY"), 1);
	ck_assert_int_eq(find(x, "NO_REPLY")->side, MONITOR_FRONTEND);
	monitor_tick(&x->m, x->now + 5000); /* once only */
	ck_assert_uint_eq(count(x, "NO_REPLY"), 1);
	ck_assert_int_eq(monitor_next_deadline(&x->m), INT64_MAX);
	free(x);
}
END_TEST

START_TEST(get_needs_a_reply)
{
	struct fx *x = fx_new();

	fe(x, PROTO_GET_FEATURES, 0, NULL, 0, 0);
	monitor_finish(&x->m, x->now + 10);
	ck_assert_uint_eq(count(x, "UNANSWERED_AT_END"), 1);
	ck_assert_int_eq(find(x, "UNANSWERED_AT_END")->side, MONITOR_BACKEND);
	free(x);
}
END_TEST

START_TEST(reply_matching)
{
	struct fx *x = fx_new();

	be_reply_u64(x, PROTO_GET_FEATURES, 0); /* nobody asked */
	ck_assert_uint_eq(count(x, "UNSOLICITED_REPLY"), 1);
	fe(x, PROTO_GET_FEATURES, 0, NULL, 0, 0);
	be_reply_u64(x, PROTO_GET_QUEUE_NUM, 1); /* wrong id */
	ck_assert_uint_eq(count(x, "REPLY_MISMATCH"), 1);
	be_reply_u64(x, PROTO_GET_FEATURES, 0); /* the queue is empty again */
	ck_assert_uint_eq(count(x, "UNSOLICITED_REPLY"), 2);
	free(x);
}
END_TEST

START_TEST(need_reply_without_reply_ack)
{
	struct fx *x = fx_new();

	fe_u64(x, PROTO_SET_FEATURES, PROTO_F_NEED_REPLY, 0);
	ck_assert_uint_eq(count(x, "NEED_REPLY_NO_ACK"), 1);
	be_reply_u64(x, PROTO_SET_FEATURES, 0); /* optional: tolerated */
	monitor_finish(&x->m, x->now + 10000);
	ck_assert_uint_eq(x->m.nfindings, 1);
	free(x);
}
END_TEST

START_TEST(config_must_not_change)
{
	struct fx *x = fx_new();

	handshake(x, true, true);
	fe(x, PROTO_GET_SHMEM_CONFIG, 0, NULL, 0, 0);
	config_reply(x, 0x100000, 0);
	no_findings(x);
	fe(x, PROTO_GET_SHMEM_CONFIG, 0, NULL, 0, 0);
	config_reply(x, 0x200000, 0);
	ck_assert_uint_eq(count(x, "CONFIG_CHANGED"), 1);
	free(x);
}
END_TEST

START_TEST(backend_waits_for_its_reply)
{
	struct fx *x = fx_new();

	handshake(x, true, true);
	mmap_req(x, true, 0, 0x1000, -1);
	mmap_req(x, true, 0x1000, 0x1000, -1);
	ck_assert_uint_eq(count(x, "BACKEND_NO_WAIT"), 1);
	free(x);
}
END_TEST

START_TEST(bounds_unknown_without_config)
{
	struct fx *x = fx_new();

	handshake(x, true, false);
	mmap_req(x, true, 0x7fff0000, 0x1000, 0);
	ck_assert_uint_eq(count(x, "BOUNDS_UNKNOWN"), 1);
	ck_assert_uint_eq(count(x, "MAP_ACCEPTED_INVALID"), 0);
	mmap_req(x, true, 0x7fff0000, 0x1000, 0); /* overlaps still checked */
	ck_assert_uint_eq(count(x, "MAP_ACCEPTED_INVALID"), 1);
	ck_assert_uint_eq(count(x, "BOUNDS_UNKNOWN"), 1);
	free(x);
}
END_TEST

START_TEST(validator_findings_pass_through)
{
	struct fx *x = fx_new();
	struct proto_mmap mm = { .len = 0x1000, .padding = { 1 } };
	uint8_t buf[PROTO_MMAP_SIZE];
	uint64_t v = 0;
	const struct monitor_finding *f;

	handshake(x, true, true);
	proto_mmap_encode(&mm, buf, sizeof(buf));
	feed(x, PROTO_CHAN_BACKEND, MONITOR_BACKEND, PROTO_BE_SHMEM_MAP,
	     PROTO_VERSION | PROTO_F_NEED_REPLY, buf, sizeof(buf), 1);
	f = find(x, "MMAP_PADDING");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(f->check, MONITOR_CHECK_FRAMING);
	ck_assert_int_eq(f->severity, PROTO_SEV_WARN);
	ck_assert_str_eq(f->msg, "SHMEM_MAP");
	/* a reply without the REPLY bit (flags 0x1) */
	feed(x, PROTO_CHAN_BACKEND, MONITOR_FRONTEND, PROTO_BE_SHMEM_MAP,
	     PROTO_VERSION, &v, 8, 0);
	f = find(x, "NO_REPLY_FLAG");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(f->side, MONITOR_FRONTEND);
	ck_assert_str_eq(f->msg, "SHMEM_MAP reply");
	ck_assert_uint_eq(count(x, "UNSOLICITED_REPLY"), 0);
	free(x);
}
END_TEST

START_TEST(short_reply_is_flagged)
{
	struct fx *x = fx_new();
	uint32_t v = 0;

	handshake(x, true, true);
	mmap_req(x, true, 0, 0x1000, -1);
	feed(x, PROTO_CHAN_BACKEND, MONITOR_FRONTEND, PROTO_BE_SHMEM_MAP,
	     PROTO_VERSION | PROTO_F_REPLY, &v, 4, 0);
	ck_assert_uint_eq(count(x, "REPLY_VALUE"), 1);
	ck_assert_int_eq(find(x, "REPLY_VALUE")->check, MONITOR_CHECK_REPLIES);
	free(x);
}
END_TEST

START_TEST(channel_and_process_ends)
{
	struct fx *x = fx_new();

	monitor_on_channel_status(&x->m, PROTO_CHAN_MAIN, MONITOR_BACKEND, 1 /* EOF */, T0);
	no_findings(x);
	monitor_on_channel_status(&x->m, PROTO_CHAN_MAIN, MONITOR_BACKEND, 5, T0);
	ck_assert_uint_eq(count(x, "TRUNCATED"), 1);
	monitor_on_channel_status(&x->m, PROTO_CHAN_BACKEND, MONITOR_BACKEND, 7, T0);
	ck_assert_uint_eq(count(x, "TOO_MANY_FDS"), 1);
	monitor_on_process_end(&x->m, MONITOR_FRONTEND, 11, 0, T0);
	ck_assert_uint_eq(count(x, "PROCESS_CRASH"), 1);
	monitor_on_process_end(&x->m, MONITOR_FRONTEND, 0, 0, T0); /* a clean exit */
	ck_assert_uint_eq(x->m.nfindings, 3);
	monitor_on_process_end(&x->m, MONITOR_BACKEND, 0, 3, T0);
	ck_assert_uint_eq(count(x, "PROCESS_EXIT"), 1);
	ck_assert_int_eq(find(x, "PROCESS_EXIT")->severity, PROTO_SEV_WARN);
	ck_assert_uint_eq(x->m.by_check[MONITOR_CHECK_SESSION][PROTO_SEV_ERROR], 3);
	free(x);
}
END_TEST

START_TEST(finding_line_and_json)
{
	struct fx *x = fx_new();
	char line[1024], json[2048];

	handshake(x, true, true);
	mmap_req(x, true, 0, 0x1000, 0);
	mmap_req(x, true, 0, 0x1000, 0);
	monitor_finding_line(find(x, "MAP_ACCEPTED_INVALID"), line, sizeof(line));
	ck_assert_ptr_nonnull(strstr(line, "[error] frontend MAP_ACCEPTED_INVALID #"));
	ck_assert_ptr_nonnull(strstr(line, "backend SHMEM_MAP reply:"));
	ck_assert_ptr_nonnull(strstr(line, "(digest 6: MUST fail"));
	monitor_finding_json(find(x, "MAP_ACCEPTED_INVALID"), json, sizeof(json));
	ck_assert_ptr_nonnull(strstr(json, "\"code\":\"MAP_ACCEPTED_INVALID\""));
	ck_assert_ptr_nonnull(strstr(json, "\"side\":\"frontend\""));
	ck_assert_ptr_nonnull(strstr(json, "\"check\":\"verdicts\""));
	ck_assert_ptr_nonnull(strstr(json, "\"msg\":\"SHMEM_MAP reply\""));
	free(x);
}
END_TEST

START_TEST(findings_are_capped)
{
	struct fx *x = fx_new();

	for (unsigned i = 0; i < MONITOR_MAX_FINDINGS + 10; i++)
		be_reply_u64(x, PROTO_GET_FEATURES, 0);
	ck_assert_uint_eq(x->m.nfindings, MONITOR_MAX_FINDINGS);
	ck_assert_uint_eq(x->m.findings_dropped, 10);
	ck_assert_uint_eq(x->m.by_severity[PROTO_SEV_ERROR], MONITOR_MAX_FINDINGS + 10);
	free(x);
}
END_TEST
