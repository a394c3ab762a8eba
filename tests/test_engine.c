/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for harness/engine (with session, handshake, expect, checks): whole cases
 * against fake targets. The fake targets are this program, re-run with
 * --peer=MODE: a small front-end or back-end that behaves well or breaks
 * one rule on purpose.
 */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "chan.h"
#include "engine.h"
#include "proto.h"
#include "script.h"
#include "session.h"
#include "vhutest.h"

#define SHMEM_BIT 22
#define PEER_WAIT_MS 3000

/* ---- the fake targets ---- */

static int peer_send_u64(struct chan *c, uint32_t req, uint32_t flags,
			 uint64_t v)
{
	struct proto_hdr h = { req, flags, 8 };
	uint8_t b[8];

	proto_u64_encode(v, b, sizeof(b));
	return chan_send(c, &h, b, sizeof(b), NULL, 0, chan_deadline(PEER_WAIT_MS));
}

/* A request and, when asked for, its reply's u64. */
static uint64_t peer_call(struct chan *c, uint32_t req, const void *p,
			  size_t len, const int *fds, unsigned nfds,
			  uint32_t flags, bool wait)
{
	struct proto_hdr h = { req, flags, (uint32_t)len };
	struct chan_msg m;
	uint64_t v = 0;

	if (chan_send(c, &h, p, len, fds, nfds, chan_deadline(PEER_WAIT_MS)) != CHAN_OK)
		_exit(10);
	if (!wait)
		return 0;
	chan_msg_init(&m);
	if (chan_recv(c, &m, chan_deadline(PEER_WAIT_MS)) != CHAN_OK)
		_exit(11);
	proto_u64_decode(m.payload, m.payload_len, &v);
	chan_msg_release(&m);
	return v;
}

static void fe_peer_handshake(struct chan *mc, struct chan *bc)
{
	uint64_t want = 1ull << PROTO_PF_REPLY_ACK | 1ull << PROTO_PF_BACKEND_REQ |
			1ull << PROTO_PF_BACKEND_SEND_FD | 1ull << PROTO_PF_STATUS |
			1ull << SHMEM_BIT;
	uint8_t b[8];
	uint64_t f, pf;
	int sv[2];

	f = peer_call(mc, PROTO_GET_FEATURES, NULL, 0, NULL, 0, 1, true);
	proto_u64_encode(f, b, 8);
	peer_call(mc, PROTO_SET_FEATURES, b, 8, NULL, 0, 1, false);
	pf = peer_call(mc, PROTO_GET_PROTOCOL_FEATURES, NULL, 0, NULL, 0, 1, true);
	proto_u64_encode(pf & want, b, 8);
	peer_call(mc, PROTO_SET_PROTOCOL_FEATURES, b, 8, NULL, 0, 1, false);
	if (chan_socketpair(sv) < 0)
		_exit(12);
	peer_call(mc, PROTO_SET_BACKEND_REQ_FD, NULL, 0, &sv[1], 1, 9, true);
	close(sv[1]);
	chan_init(bc, sv[0], "backend", PROTO_CHAN_BACKEND);
	proto_u64_encode(PROTO_STATUS_DRIVER_OK | 0xb, b, 8);
	peer_call(mc, PROTO_SET_STATUS, b, 8, NULL, 0, 9, true);
}

/* A front-end: handshake, then answers the back-end channel per mode. */
static int fe_peer(int fd, const char *mode)
{
	struct chan mc, bc;
	struct chan_msg m;

	chan_init(&mc, fd, "main", PROTO_CHAN_MAIN);
	fe_peer_handshake(&mc, &bc);
	for (;;) {
		chan_msg_init(&m);
		if (chan_recv(&bc, &m, chan_deadline(PEER_WAIT_MS)) != CHAN_OK) {
			/* The crash-on-disconnect bug; the default action,
			 * so that a sanitizer build dies by it too. */
			if (strcmp(mode, "eofsegv") == 0) {
				signal(SIGSEGV, SIG_DFL);
				raise(SIGSEGV);
			}
			return 0;
		}
		/* SIGABRT: sanitizers leave it alone by default. */
		if (strcmp(mode, "crash") == 0)
			raise(SIGABRT);
		if (strcmp(mode, "asan") == 0) {
			fprintf(stderr, "==1==ERROR: AddressSanitizer: "
				"heap-use-after-free on address 0x1\n");
			_exit(1);
		}
		if (strcmp(mode, "deadlock") == 0) {
			uint8_t reg[PROTO_MEM_REG_MSG_SIZE] = { 0 };

			/* Waits for its own memory-table reply first. */
			peer_call(&mc, PROTO_ADD_MEM_REG, reg, sizeof(reg), &m.fds[0],
				  1, 9, true);
		}
		if (strcmp(mode, "silent") != 0 &&
		    (strcmp(mode, "needreply") != 0 ||
		     (m.hdr.flags & PROTO_F_NEED_REPLY)))
			peer_send_u64(&bc, m.hdr.request,
				      strcmp(mode, "noreplyflag") == 0 ? 1 : 5, 0);
		chan_msg_release(&m);
	}
}

/* Handshake on a new connection to path; the size of region 0 from
 * GET_SHMEM_CONFIG in *size. */
static void fe_sock_connect(const char *path, struct chan *mc, struct chan *bc,
			    uint64_t *size)
{
	struct proto_hdr h = { PROTO_GET_SHMEM_CONFIG, 1, 0 };
	struct proto_shmem_config cfg;
	struct chan_msg m;
	int fd = chan_connect(path, chan_deadline(PEER_WAIT_MS));

	if (fd < 0)
		_exit(14);
	chan_init(mc, fd, "main", PROTO_CHAN_MAIN);
	fe_peer_handshake(mc, bc);
	chan_msg_init(&m);
	if (chan_send(mc, &h, NULL, 0, NULL, 0, chan_deadline(PEER_WAIT_MS)) != CHAN_OK ||
	    chan_recv(mc, &m, chan_deadline(PEER_WAIT_MS)) != CHAN_OK ||
	    proto_shmem_config_decode(m.payload, m.payload_len, &cfg) != PROTO_OK)
		_exit(15);
	*size = cfg.memory_sizes[0];
}

/* A MAP is accepted when it fits in region 0. */
static bool fe_sock_serve_map(struct chan *bc, uint64_t size)
{
	struct proto_mmap mm = { 0 };
	struct chan_msg m;
	bool ok;

	chan_msg_init(&m);
	if (chan_recv(bc, &m, chan_deadline(PEER_WAIT_MS)) != CHAN_OK)
		return false;
	proto_mmap_decode(m.payload, m.payload_len, &mm);
	ok = mm.shm_offset + mm.len <= size;
	chan_msg_release(&m);
	return peer_send_u64(bc, PROTO_BE_SHMEM_MAP, 5, ok ? 0 : 22) == CHAN_OK;
}

/* A front-end on {socket} with a control channel (start, dump, reconnect,
 * each answered ok before it acts), as the reference is. */
static int fe_sock_peer(const char *path, int ctl)
{
	struct chan mc, bc;
	uint64_t size;
	char line[256];

	fe_sock_connect(path, &mc, &bc, &size);
	for (;;) {
		struct pollfd p[2] = { { ctl, POLLIN, 0 }, { bc.fd, POLLIN, 0 } };
		ssize_t n;

		if (poll(p, 2, PEER_WAIT_MS) <= 0)
			return 0;
		if (p[1].revents && !fe_sock_serve_map(&bc, size))
			return 0;
		if (!p[0].revents)
			continue;
		n = read(ctl, line, sizeof(line) - 1);
		if (n <= 0 || write(ctl, "ok\n", 3) != 3)
			return 0;
		line[n] = '\0';
		if (strncmp(line, "reconnect", 9) == 0) {
			chan_close(&mc);
			chan_close(&bc);
			fe_sock_connect(path, &mc, &bc, &size);
		}
	}
}

static void be_peer_answer(struct chan *mc, struct chan *bc,
			   const struct chan_msg *m, const char *mode,
			   unsigned *configs)
{
	struct proto_shmem_config cfg = { .nregions = 1 };
	uint8_t b[PROTO_SHMEM_CONFIG_SIZE];
	struct proto_hdr h = { m->hdr.request, 5, PROTO_SHMEM_CONFIG_SIZE };

	switch (m->hdr.request) {
	case PROTO_GET_FEATURES:
		peer_send_u64(mc, m->hdr.request, 5, 1ull << 30 | 1ull << 32);
		return;
	case PROTO_GET_PROTOCOL_FEATURES:
		peer_send_u64(mc, m->hdr.request, 5, 1ull << PROTO_PF_REPLY_ACK |
			      1ull << PROTO_PF_BACKEND_REQ |
			      1ull << PROTO_PF_BACKEND_SEND_FD | 1ull << SHMEM_BIT);
		return;
	case PROTO_GET_SHMEM_CONFIG:
		cfg.memory_sizes[0] = ++*configs > 1 && strcmp(mode, "unstable") == 0
					      ? 0x200000 : 0x100000;
		proto_shmem_config_encode(&cfg, b, sizeof(b));
		chan_send(mc, &h, b, sizeof(b), NULL, 0, chan_deadline(PEER_WAIT_MS));
		return;
	default:
		break;
	}
	if (m->hdr.flags & PROTO_F_NEED_REPLY)
		peer_send_u64(mc, m->hdr.request, 5, 0);
	(void)bc;
}

/* Sends the MAP of "map" mode once the handshake's last request came. */
static void be_peer_map(struct chan *bc)
{
	struct proto_mmap mm = { .shm_offset = 0x1000, .len = 0x1000, .flags = 1 };
	uint8_t b[PROTO_MMAP_SIZE];
	int fd = memfd_create("peer", MFD_CLOEXEC);

	if (fd < 0 || ftruncate(fd, 0x1000) < 0)
		_exit(13);
	proto_mmap_encode(&mm, b, sizeof(b));
	peer_call(bc, PROTO_BE_SHMEM_MAP, b, sizeof(b), &fd, 1, 9, false);
	close(fd);
}

/* "split" mode: the MAP's reply must come in two reads, the first of
 * exactly SPLIT_AT bytes (the harness pauses before the rest), and be a
 * whole reply 0 once joined. Exits 20-22 when not. */
#define SPLIT_AT 5
static void be_peer_read_split(struct chan *bc)
{
	uint8_t b[PROTO_HDR_SIZE + 8] = { 0 };
	struct proto_hdr h;
	size_t got;
	ssize_t n = recv(bc->fd, b, sizeof(b), 0);
	uint64_t v = 1;

	if (n != SPLIT_AT)
		_exit(20);
	for (got = (size_t)n; got < sizeof(b); got += (size_t)n) {
		n = recv(bc->fd, b + got, sizeof(b) - got, 0);
		if (n <= 0)
			_exit(21);
	}
	if (proto_hdr_decode(b, sizeof(b), &h) != PROTO_OK ||
	    h.request != PROTO_BE_SHMEM_MAP || h.flags != 5 || h.size != 8 ||
	    proto_u64_decode(b + PROTO_HDR_SIZE, 8, &v) != PROTO_OK || v != 0)
		_exit(22);
}

/* Whether the back-end channel has something before the main one. */
static bool be_peer_backend_first(const struct chan *mc, const struct chan *bc)
{
	struct pollfd p[2] = { { .fd = mc->fd, .events = POLLIN },
			       { .fd = bc->fd, .events = POLLIN } };

	return poll(p, 2, PEER_WAIT_MS) > 0 && (p[1].revents & POLLIN);
}

/* "mapserve" / "mapblock" modes: one MAP once the handshake's last
 * GET_FEATURES is answered. mapblock then waits for its reply before it
 * reads the main channel again (one dispatch thread blocked in the call);
 * mapserve goes on serving the main channel. */
static void be_peer_late_map(struct chan *bc, const struct chan_msg *m,
			     const char *mode, unsigned *getf)
{
	struct chan_msg r;
	bool block = strcmp(mode, "mapblock") == 0;

	if (m->hdr.request != PROTO_GET_FEATURES || ++*getf != 2 ||
	    (!block && strcmp(mode, "mapserve") != 0))
		return;
	be_peer_map(bc);
	if (!block)
		return;
	chan_msg_init(&r);
	chan_recv(bc, &r, chan_deadline(PEER_WAIT_MS));
	chan_msg_release(&r);
}

/* A back-end: answers the handshake; in "map" mode sends one MAP; in
 * "split" mode also reads its reply (be_peer_read_split). */
static int be_peer(int fd, const char *mode)
{
	struct chan mc, bc = { .fd = -1 };
	unsigned configs = 0, getf = 0;
	bool mapped = false;
	struct chan_msg m;

	chan_init(&mc, fd, "main", PROTO_CHAN_MAIN);
	for (;;) {
		if (mapped && bc.fd >= 0 && strcmp(mode, "split") == 0 &&
		    be_peer_backend_first(&mc, &bc)) {
			be_peer_read_split(&bc);
			continue;
		}
		chan_msg_init(&m);
		if (chan_recv(&mc, &m, chan_deadline(PEER_WAIT_MS)) != CHAN_OK)
			return 0;
		if (m.hdr.request == PROTO_SET_BACKEND_REQ_FD && m.nfds == 1)
			chan_init(&bc, chan_msg_take_fd(&m, 0), "backend",
				  PROTO_CHAN_BACKEND);
		be_peer_answer(&mc, &bc, &m, mode, &configs);
		if (m.hdr.request == PROTO_SET_VRING_ENABLE && !mapped &&
		    (strcmp(mode, "map") == 0 || strcmp(mode, "split") == 0)) {
			be_peer_map(&bc);
			mapped = true;
		}
		be_peer_late_map(&bc, &m, mode, &getf);
		chan_msg_release(&m);
	}
}

/* ---- running cases ---- */

struct outcome {
	struct result r;
	int rc;
	double ms;
};

static struct outcome *run_case(enum script_role role, const char *cmd,
				const char *text, int cancel_fd)
{
	struct outcome *o = calloc(1, sizeof(*o));
	struct runenv e = { .role = role, .target_cmd = cmd,
				.shmem_bit = SHMEM_BIT, .timeout_mult = 1.0,
				.cancel_fd = cancel_fd };
	struct script_case c;
	char err[4096] = "";

	ck_assert_msg(script_parse_text("/x/t.vhu", text, &c, err, sizeof(err)) == 0,
		      "%s", err);
	ck_assert_int_eq(runenv_open(&e, err, sizeof(err)), 0);
	o->rc = engine_run(&e, &c, &o->r);
	o->ms = o->r.duration_ms;
	runenv_close(&e);
	script_free(&c);
	return o;
}

static struct outcome *run_fe_peer(const char *mode, const char *text)
{
	char exe[512], cmd[700];

	vt_self_exe(exe, sizeof(exe));
	snprintf(cmd, sizeof(cmd), "%s --peer=fe_%s --fd={fd}", exe, mode);
	return run_case(SCRIPT_ROLE_BACKEND, cmd, text, -1);
}

static struct outcome *run_be_peer(const char *mode, const char *text)
{
	char exe[512], cmd[700];

	vt_self_exe(exe, sizeof(exe));
	snprintf(cmd, sizeof(cmd), "%s --peer=be_%s --fd={fd}", exe, mode);
	return run_case(SCRIPT_ROLE_FRONTEND, cmd, text, -1);
}

#define BE_HDR "id t\ntitle t\ntarget frontend\nrule r\nlevel MUST\n" \
	       "requires SHMEM REPLY_ACK BACKEND_REQ\n"
#define BE_HDR_PID "id t\ntitle t\ntarget frontend\nrule r\nlevel MUST\n" \
	       "requires SHMEM REPLY_ACK BACKEND_REQ pid\n"
#define FE_HDR "id t\ntitle t\ntarget backend\nrule r\nlevel MUST\n" \
	       "requires SHMEM BACKEND_REQ\n"
#define MAP_CASE "handshake\nfd a memfd\nsend map fd=a need_reply\n"

static void assert_verdict(const struct outcome *o, enum result_verdict v)
{
	ck_assert_msg(o->r.verdict == v, "verdict %s, want %s; reason '%s'; "
		      "expected '%s'; observed '%s'",
		      result_verdict_name(o->r.verdict), result_verdict_name(v),
		      o->r.reason, o->r.expected, o->r.observed);
}

TEST_CASE("as-backend", 20);

START_TEST(good_map_passes)
{
	struct outcome *o = run_fe_peer("good", BE_HDR MAP_CASE
					"expect reply value=0 flags=0x5 size=8\n"
					"check findings none severity=info\ncheck alive\n");

	assert_verdict(o, RESULT_PASS);
	ck_assert_int_eq(o->rc, ENGINE_DONE);
	ck_assert_uint_eq(o->r.nfailures, 0);
	ck_assert_int_gt(o->r.pid, 0);
	ck_assert(!o->r.exited);
	ck_assert_str_eq(o->r.area, "x");
	ck_assert_int_lt(o->ms, 1000);
	free(o);
}
END_TEST

START_TEST(missing_reply_fails_within_its_window)
{
	struct outcome *o = run_fe_peer("silent", BE_HDR MAP_CASE
					"expect reply value=0 within=100\n");

	assert_verdict(o, RESULT_FAIL);
	ck_assert_uint_eq(o->r.nfailures, 1);
	ck_assert_uint_eq(o->r.failures[0].line, 10);
	ck_assert_str_eq(o->r.failures[0].grade, "MUST");
	ck_assert_ptr_nonnull(strstr(o->r.failures[0].observed, "nothing within 100 ms"));
	ck_assert_ptr_nonnull(strstr(o->r.expected, "a reply to SHMEM_MAP"));
	/* The trace tail is in the observed text. */
	ck_assert_ptr_nonnull(strstr(o->r.observed, "SHMEM_MAP"));
	ck_assert_int_ge(o->ms, 100);
	ck_assert_int_lt(o->ms, 600);
	free(o);
}
END_TEST

START_TEST(grades_make_non_strict_and_info)
{
	struct outcome *o = run_fe_peer("silent",
					"id t\ntitle t\ntarget frontend\nrule r\nlevel SHOULD\nreason why\n"
					"requires SHMEM\n" MAP_CASE "expect reply within=20\n");

	assert_verdict(o, RESULT_NON_STRICT);
	ck_assert_str_eq(o->r.reason, "why");
	free(o);
	o = run_fe_peer("silent", BE_HDR MAP_CASE "expect reply within=20 grade=info\n");
	assert_verdict(o, RESULT_INFO);
	free(o);
	o = run_fe_peer("silent", BE_HDR MAP_CASE "expect reply within=20 grade=info\n"
			"expect no-reply within=20 grade=must\n"
			"expect reply within=20 grade=should\n");
	assert_verdict(o, RESULT_NON_STRICT);
	ck_assert_uint_eq(o->r.nfailures, 2);
	free(o);
}
END_TEST

START_TEST(assert_stops_the_case)
{
	struct outcome *o = run_fe_peer("silent", BE_HDR MAP_CASE
					"assert reply within=20\n"
					"expect reply within=20\n");

	assert_verdict(o, RESULT_FAIL);
	ck_assert_uint_eq(o->r.nfailures, 1);
	free(o);
}
END_TEST

START_TEST(deadlock_is_detected)
{
	struct outcome *o = run_fe_peer("deadlock", BE_HDR
					"model single-thread\n" MAP_CASE
					"expect reply within=150\n");

	assert_verdict(o, RESULT_DEADLOCK);
	ck_assert_ptr_nonnull(strstr(o->r.reason, "ADD_MEM_REG"));
	ck_assert_ptr_nonnull(strstr(o->r.observed, "main: "));
	ck_assert_ptr_nonnull(strstr(o->r.observed, "backend: "));
	ck_assert_int_lt(o->ms, 1000);
	free(o);
}
END_TEST

START_TEST(held_requests_are_answered_after_the_window)
{
	/* The front-end waits on its ADD_MEM_REG before replying: held
	 * during the no-reply window, answered after it, then the MAP reply
	 * comes. */
	struct outcome *o = run_fe_peer("deadlock", BE_HDR
					"model single-thread\n" MAP_CASE
					"expect no-reply within=50\n"
					"expect reply value=0 within=500\n"
					"expect order main:ADD_MEM_REG backend:reply\n");

	assert_verdict(o, RESULT_PASS);
	free(o);
}
END_TEST

START_TEST(threaded_model_serves_main_while_waiting)
{
	/* By default the harness is a back-end with a thread per channel:
	 * the ADD_MEM_REG is answered while the MAP waits, so a front-end
	 * that updates first is judged on order, never by a race. */
	struct outcome *o = run_fe_peer("deadlock", BE_HDR MAP_CASE
					"expect reply value=0 within=500\n"
					"expect order main:ADD_MEM_REG backend:reply\n");

	assert_verdict(o, RESULT_PASS);
	free(o);
}
END_TEST

START_TEST(hold_makes_an_update_first_a_deadlock)
{
	struct outcome *o = run_fe_peer("deadlock", BE_HDR
					"handshake\nfd a memfd\n"
					"hold main ADD_MEM_REG\n"
					"send map fd=a need_reply\n"
					"expect reply within=150\n");

	assert_verdict(o, RESULT_DEADLOCK);
	ck_assert_ptr_nonnull(strstr(o->r.reason, "sent ADD_MEM_REG first"));
	free(o);
}
END_TEST

START_TEST(require_unmet_is_not_exercised)
{
	/* The good front-end sends no memory-table update: a rule that
	 * needs one was not exercised, whatever comes after. */
	struct outcome *o = run_fe_peer("good", BE_HDR MAP_CASE
					"expect reply value=0\n"
					"require msg SET_MEM_TABLE|ADD_MEM_REG within=50\n"
					"expect order backend:reply main:ADD_MEM_REG\n");

	assert_verdict(o, RESULT_UNSUPPORTED);
	ck_assert_ptr_nonnull(strstr(o->r.reason, "not exercised: line 11"));
	ck_assert_uint_eq(o->r.nfailures, 0);
	free(o);
}
END_TEST

START_TEST(require_mapped_unmet_is_not_exercised)
{
	/* The fake front-end acks the MAP but maps nothing: an unmap or
	 * reset check after it would hold vacuously. */
	struct outcome *o = run_fe_peer("good", BE_HDR_PID MAP_CASE
					"expect reply value=0\n"
					"require mapped a\n"
					"check unmapped a\n");

	assert_verdict(o, RESULT_UNSUPPORTED);
	ck_assert_ptr_nonnull(strstr(o->r.reason, "not exercised"));
	free(o);
}
END_TEST

START_TEST(require_after_a_failure_keeps_it)
{
	struct outcome *o = run_fe_peer("good", BE_HDR MAP_CASE
					"expect reply value=nonzero\n"
					"require msg ADD_MEM_REG within=50\n");

	assert_verdict(o, RESULT_FAIL);
	ck_assert_uint_eq(o->r.nfailures, 1);
	free(o);
}
END_TEST

START_TEST(require_met_goes_on)
{
	struct outcome *o = run_fe_peer("deadlock", BE_HDR MAP_CASE
					"expect reply value=0 within=500\n"
					"require msg ADD_MEM_REG within=500\n"
					"check memtable\n");

	assert_verdict(o, RESULT_PASS);
	free(o);
}
END_TEST

START_TEST(memtable_short_of_acked_maps_fails)
{
	/* MAP acked 0, no region ever added for it. */
	struct outcome *o = run_fe_peer("good", BE_HDR MAP_CASE
					"expect reply value=0\n"
					"check memtable within=20\n");

	assert_verdict(o, RESULT_FAIL);
	ck_assert_ptr_nonnull(strstr(o->r.observed, "grew by 0"));
	free(o);
}
END_TEST

START_TEST(crash_is_reported_with_signal)
{
	struct outcome *o = run_fe_peer("crash", BE_HDR MAP_CASE
					"expect reply\ncheck alive\n");

	assert_verdict(o, RESULT_CRASH);
	ck_assert_ptr_nonnull(strstr(o->r.reason, "SIGABRT"));
	ck_assert_ptr_nonnull(strstr(o->r.reason, "line 10"));
	ck_assert_str_eq(o->r.signal, "SIGABRT");
	free(o);
	/* A sanitizer reports and exits instead of dying by the signal. */
	o = run_fe_peer("asan", BE_HDR MAP_CASE "expect reply\n");
	assert_verdict(o, RESULT_CRASH);
	ck_assert_ptr_nonnull(strstr(o->r.reason, "AddressSanitizer"));
	ck_assert(o->r.exited);
	ck_assert_int_eq(o->r.exit_code, 1);
	free(o);
}
END_TEST

/* The target crashes as the harness closes its channels, the case having
 * passed: still a CRASH, not lost to the SIGTERM that follows. */
START_TEST(crash_on_disconnect_is_reported)
{
	for (int i = 0; i < 5; i++) {
		struct outcome *o = run_fe_peer("eofsegv", BE_HDR MAP_CASE
						"expect reply value=0\n");

		assert_verdict(o, RESULT_CRASH);
		ck_assert_str_eq(o->r.signal, "SIGSEGV");
		ck_assert_ptr_nonnull(strstr(o->r.reason, "SIGSEGV"));
		ck_assert_ptr_nonnull(strstr(o->r.reason, "closed its channels"));
		ck_assert_int_lt(o->ms, 1000);
		free(o);
	}
}
END_TEST

/* A target that ends with the connection is not reported as ended by
 * itself, nor slowed down: it goes before the grace runs out. */
START_TEST(clean_exit_at_the_end_is_quiet)
{
	struct outcome *o = run_fe_peer("good", BE_HDR MAP_CASE
					"expect reply value=0\n");

	assert_verdict(o, RESULT_PASS);
	ck_assert(!o->r.exited);
	ck_assert_str_eq(o->r.signal, "");
	free(o);
}
END_TEST

/* fe_good replies to every request, as the rst literally says (digest
 * 7): the UNMAP's reply comes first and is not the MAP's. */
START_TEST(reply_without_need_reply_is_not_the_next_ones)
{
	const char *text = BE_HDR MAP_CASE "expect reply value=0\n"
			   "send unmap len=0x1000\n"
			   "send map shm_offset=0x1000 fd=a need_reply\n"
			   "expect reply value=0\nexpect no-reply within=50\n";
	char full[1024];
	struct outcome *o;

	snprintf(full, sizeof(full), "%scheck finding UNSOLICITED_REPLY\n", text);
	o = run_fe_peer("good", full);
	assert_verdict(o, RESULT_PASS);
	ck_assert_uint_eq(o->r.nfindings, 1);
	ck_assert_str_eq(o->r.findings[0].code, "UNSOLICITED_REPLY");
	ck_assert_str_eq(o->r.findings[0].severity, "info");
	ck_assert_str_eq(o->r.findings[0].msg, "SHMEM_UNMAP reply");
	free(o);
	o = run_fe_peer("needreply", text);
	assert_verdict(o, RESULT_PASS);
	ck_assert_uint_eq(o->r.nfindings, 0);
	free(o);
	/* A reply to an earlier request that asked for one is still not the
	 * reply wanted. */
	o = run_fe_peer("good", BE_HDR MAP_CASE "expect reply value=0\n"
			"send unmap len=0x1000 need_reply\n"
			"send map shm_offset=0x1000 fd=a need_reply\n"
			"expect reply\n");
	assert_verdict(o, RESULT_FAIL);
	ck_assert_ptr_nonnull(strstr(o->r.failures[0].observed, "a reply to request"));
	free(o);
}
END_TEST

/* After `control reconnect` the next handshake's offer serves the new
 * connection: its larger region takes a MAP the first one refused. */
START_TEST(reconnect_takes_the_next_handshakes_offer)
{
	char exe[512], cmd[700];
	struct outcome *o;

	vt_self_exe(exe, sizeof(exe));
	snprintf(cmd, sizeof(cmd), "%s --peer=fe_sock {socket} {control}", exe);
	o = run_case(SCRIPT_ROLE_BACKEND, cmd, BE_HDR "requires control\n"
		     "handshake regions=1m\nfd a memfd\n"
		     "send map shm_offset=0x200000 fd=a need_reply\n"
		     "expect reply value=nonzero\n"
		     "control reconnect\nhandshake regions=4m\n"
		     "send map shm_offset=0x200000 fd=a need_reply\n"
		     "expect reply value=0\n", -1);
	assert_verdict(o, RESULT_PASS);
	ck_assert_int_lt(o->ms, 1000);
	free(o);
}
END_TEST

START_TEST(case_deadline_is_a_timeout)
{
	struct outcome *o = run_fe_peer("good", BE_HDR "timeout 200\nhandshake\n"
					"sleep 2000\n");

	assert_verdict(o, RESULT_TIMEOUT);
	ck_assert_int_ge(o->ms, 190);
	ck_assert_int_lt(o->ms, 800);
	free(o);
}
END_TEST

START_TEST(reply_flags_findings)
{
	struct outcome *o = run_fe_peer("noreplyflag", BE_HDR MAP_CASE
					"expect reply\n"
					"check finding NO_REPLY_FLAG\n");

	assert_verdict(o, RESULT_FAIL);
	ck_assert_uint_eq(o->r.nfailures, 1);
	ck_assert_ptr_nonnull(strstr(o->r.failures[0].observed, "not a reply"));
	ck_assert_uint_ge(o->r.nfindings, 1);
	ck_assert_str_eq(o->r.findings[0].code, "NO_REPLY_FLAG");
	ck_assert_str_eq(o->r.findings[0].msg, "SHMEM_MAP reply");
	free(o);
}
END_TEST

START_TEST(raw_stream_counts_requests)
{
	/* A MAP with NEED_REPLY in two raw pieces, then its reply. */
	struct outcome *o = run_fe_peer("good", BE_HDR
					"handshake\nfd a memfd\n"
					"send raw 0900000009000000 fd=a\n"
					"send raw 2800000000000000000000000000000000000000002000000000000000100000000000000100000000000000\n"
					"expect reply value=0\n");

	assert_verdict(o, RESULT_PASS);
	free(o);
}
END_TEST

START_TEST(unsupported_before_anything)
{
	char exe[512], cmd[700];
	struct outcome *o;

	o = run_fe_peer("good", BE_HDR "requires control\n" MAP_CASE "expect reply\n");
	assert_verdict(o, RESULT_UNSUPPORTED);
	ck_assert_ptr_nonnull(strstr(o->r.reason, "control"));
	free(o);
	/* The fake front-end does not take CONFIGURE_MEM_SLOTS. */
	o = run_fe_peer("good", BE_HDR "requires CONFIGURE_MEM_SLOTS\n" MAP_CASE
			"expect reply\n");
	assert_verdict(o, RESULT_UNSUPPORTED);
	ck_assert_ptr_nonnull(strstr(o->r.reason, "CONFIGURE_MEM_SLOTS"));
	free(o);
	vt_self_exe(exe, sizeof(exe));
	snprintf(cmd, sizeof(cmd), "%s --peer=fe_good --fd={fd}", exe);
	o = run_case(SCRIPT_ROLE_BACKEND, cmd, "id t\ntitle t\ntarget frontend\nrule r\n"
		     "level MUST\nrequires socket\nsleep 1\n", -1);
	assert_verdict(o, RESULT_UNSUPPORTED);
	free(o);
}
END_TEST

START_TEST(launch_failure_is_an_error)
{
	struct outcome *o = run_case(SCRIPT_ROLE_BACKEND,
				     "/nonexistent/target --fd={fd}",
				     BE_HDR MAP_CASE "expect reply\n", -1);

	assert_verdict(o, RESULT_ERROR);
	ck_assert_ptr_nonnull(strstr(o->r.reason, "/nonexistent/target"));
	free(o);
}
END_TEST

/* {socket}: a target that never connects is at fault, not the harness. */
START_TEST(no_connection_is_the_targets_fault)
{
	struct outcome *o = run_case(SCRIPT_ROLE_BACKEND, "sh -c 'sleep 30' {socket}",
				     BE_HDR "timeout 300\nhandshake\n", -1);

	assert_verdict(o, RESULT_TIMEOUT);
	ck_assert_ptr_nonnull(strstr(o->r.reason, "did not connect on"));
	ck_assert_int_ge(o->ms, 290);
	ck_assert_int_lt(o->ms, 1000);
	free(o);
	o = run_case(SCRIPT_ROLE_FRONTEND, "sh -c 'sleep 30' {socket}",
		     FE_HDR "timeout 200\nhandshake\n", -1);
	assert_verdict(o, RESULT_TIMEOUT);
	ck_assert_ptr_nonnull(strstr(o->r.reason, "did not listen on"));
	free(o);
	/* One that exits first fails the case at its level. */
	o = run_case(SCRIPT_ROLE_BACKEND, "sh -c 'exit 3' {socket}",
		     BE_HDR "handshake\n", -1);
	assert_verdict(o, RESULT_FAIL);
	ck_assert_ptr_nonnull(strstr(o->r.observed, "exited with code 3"));
	ck_assert(o->r.exited);
	ck_assert_int_eq(o->r.exit_code, 3);
	free(o);
}
END_TEST

START_TEST(cancel_interrupts)
{
	char exe[512], cmd[700];
	struct outcome *o;
	int p[2];

	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(write(p[1], "x", 1), 1);
	vt_self_exe(exe, sizeof(exe));
	snprintf(cmd, sizeof(cmd), "%s --peer=fe_good --fd={fd}", exe);
	o = run_case(SCRIPT_ROLE_BACKEND, cmd, BE_HDR "handshake\nsleep 3000\n", p[0]);
	ck_assert_int_eq(o->rc, ENGINE_INTERRUPTED);
	assert_verdict(o, RESULT_ERROR);
	ck_assert_str_eq(o->r.reason, "interrupted");
	ck_assert_int_lt(o->ms, 1000);
	free(o);
	close(p[0]);
	close(p[1]);
}
END_TEST

TEST_CASE("as-frontend");

START_TEST(frontend_config_stable)
{
	const char *text = FE_HDR "handshake\nsend GET_SHMEM_CONFIG\n"
			   "expect shmem-config nregions-match page-multiple stable "
			   "regions=1m\n";
	struct outcome *o = run_be_peer("good", text);

	assert_verdict(o, RESULT_PASS);
	free(o);
	o = run_be_peer("unstable", text);
	assert_verdict(o, RESULT_FAIL);
	ck_assert_ptr_nonnull(strstr(o->r.observed, "shmid 0 has size 0x200000"));
	free(o);
}
END_TEST

START_TEST(frontend_map_and_ledger)
{
	struct outcome *o = run_be_peer("map", FE_HDR "handshake\n"
					"expect msg SHMEM_MAP fds=1 size=40 flags=9\n"
					"expect no-msg within=20\nreply value=0\ncheck ledger\n"
					"check findings none\n");

	assert_verdict(o, RESULT_PASS);
	free(o);
	o = run_be_peer("good", FE_HDR "handshake\nexpect msg SHMEM_MAP within=50\n");
	assert_verdict(o, RESULT_FAIL);
	ck_assert_ptr_nonnull(strstr(o->r.failures[0].observed, "nothing within 50 ms"));
	free(o);
}
END_TEST

/* The reply's first 5 bytes, a pause, the rest: the peer reads them in
 * two reads (it exits otherwise, and `check alive` fails). */
START_TEST(reply_split_arrives_in_two_reads)
{
	struct outcome *o = run_be_peer("split", FE_HDR "handshake\n"
					"expect msg SHMEM_MAP fds=1\n"
					"reply value=0 split=5 pause=200\n"
					"send GET_FEATURES on=main\nexpect reply value=nonzero\n"
					"check alive\n");

	assert_verdict(o, RESULT_PASS);
	free(o);
}
END_TEST

/* The main channel unanswered while the back-end's own MAP, seen before
 * our request went out, waits for our reply: DEADLOCK naming the channel
 * that starved for a back-end that blocks in its call, PASS for one that
 * serves the main channel meanwhile. */
START_TEST(backend_starving_main_is_a_deadlock)
{
	const char *text = FE_HDR "handshake\nexpect msg SHMEM_MAP fds=1\n"
			   "send GET_FEATURES\nexpect reply within=200\n"
			   "reply value=0\n";
	struct outcome *o = run_be_peer("mapblock", text);

	assert_verdict(o, RESULT_DEADLOCK);
	ck_assert_ptr_nonnull(strstr(o->r.reason, "no answer to GET_FEATURES on "
				     "the main channel: the back-end's SHMEM_MAP "
				     "(NEED_REPLY) waits for our reply"));
	free(o);
	o = run_be_peer("mapserve", text);
	assert_verdict(o, RESULT_PASS);
	free(o);
}
END_TEST

/* Re-run as a fake target: --peer=fe_sock PATH CTL, or --peer=MODE --fd=N. */
static int as_peer(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "--peer=fe_sock") == 0) {
		signal(SIGPIPE, SIG_IGN);
		return fe_sock_peer(argv[2], atoi(argv[3]));
	}
	if (argc == 3 && strncmp(argv[1], "--peer=", 7) == 0 &&
	    strncmp(argv[2], "--fd=", 5) == 0) {
		const char *mode = argv[1] + 7;
		int fd = atoi(argv[2] + 5);

		signal(SIGPIPE, SIG_IGN);
		if (strncmp(mode, "fe_", 3) == 0)
			return fe_peer(fd, mode + 3);
		return be_peer(fd, mode + 3);
	}
	return -1;
}
TEST_PRE_MAIN(as_peer);
