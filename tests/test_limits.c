/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for "our limits are not their failures": a control command
 * answered `err unsupported: WHY` makes the case UNSUPPORTED (not FAIL),
 * unless something already failed; a configuration the case marks
 * `refusal VERDICT` may be refused cleanly during the first handshake
 * (an exit, or the connection closed) for that verdict, while a crash
 * stays a CRASH. The fake targets are this program, re-run with
 * --peer=MODE FD CONTROL-FD: a small front-end that refuses or serves.
 */
#include <check.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chan.h"
#include "engine.h"
#include "proto.h"
#include "result.h"
#include "script.h"
#include "vhutest.h"

#define SHMEM_BIT 22
#define PEER_WAIT_MS 3000

/* ---- the fake front-end ---- */

/* A request; with want, its reply in *m (to release). */
static void peer_call(struct chan *c, uint32_t req, const void *p, size_t len,
		      const int *fds, unsigned nfds, uint32_t flags,
		      struct chan_msg *m)
{
	struct proto_hdr h = { req, flags, (uint32_t)len };

	if (chan_send(c, &h, p, len, fds, nfds, chan_deadline(PEER_WAIT_MS)) != CHAN_OK)
		_exit(10);
	if (!m)
		return;
	chan_msg_init(m);
	if (chan_recv(c, m, chan_deadline(PEER_WAIT_MS)) != CHAN_OK)
		_exit(11);
}

static uint64_t peer_u64(struct chan *c, uint32_t req, uint64_t v, bool call)
{
	struct chan_msg m;
	uint8_t b[8];

	proto_u64_encode(v, b, sizeof(b));
	peer_call(c, req, call ? NULL : b, call ? 0 : sizeof(b), NULL, 0, 1,
		  call ? &m : NULL);
	if (!call)
		return 0;
	v = 0;
	proto_u64_decode(m.payload, m.payload_len, &v);
	chan_msg_release(&m);
	return v;
}

/* Features, the back-end channel, GET_SHMEM_CONFIG: region 0's size. */
static uint64_t peer_handshake(struct chan *mc, struct chan *bc)
{
	uint64_t want = 1ull << PROTO_PF_REPLY_ACK | 1ull << PROTO_PF_BACKEND_REQ |
			1ull << PROTO_PF_BACKEND_SEND_FD | 1ull << SHMEM_BIT;
	struct proto_shmem_config cfg = { 0 };
	struct chan_msg m;
	int sv[2];

	peer_u64(mc, PROTO_SET_FEATURES, peer_u64(mc, PROTO_GET_FEATURES, 0, true),
		 false);
	peer_u64(mc, PROTO_SET_PROTOCOL_FEATURES,
		 peer_u64(mc, PROTO_GET_PROTOCOL_FEATURES, 0, true) & want, false);
	if (chan_socketpair(sv) < 0)
		_exit(12);
	peer_call(mc, PROTO_SET_BACKEND_REQ_FD, NULL, 0, &sv[1], 1, 9, &m);
	chan_msg_release(&m);
	close(sv[1]);
	chan_init(bc, sv[0], "backend", PROTO_CHAN_BACKEND);
	peer_call(mc, PROTO_GET_SHMEM_CONFIG, NULL, 0, NULL, 0, 1, &m);
	proto_shmem_config_decode(m.payload, m.payload_len, &cfg);
	chan_msg_release(&m);
	return cfg.memory_sizes[0];
}

static void ctl_say(int ctl, const char *line)
{
	if (write(ctl, line, strlen(line)) < 0)
		_exit(13);
}

/* The answer of a serving front-end to one control line. "nostart":
 * it cannot start a device at all; "closed": it has no connection. The unsupported answers come in their
 * three spellings; "stop" gets a plain err that only looks alike. */
static bool ctl_answer(int ctl, const char *line, const char *mode)
{
	if (strcmp(mode, "closed") == 0 && strncmp(line, "quit", 4) != 0)
		ctl_say(ctl, "err not connected\n");
	else if (strncmp(line, "start", 5) == 0)
		ctl_say(ctl, strcmp(mode, "nostart") == 0
			? "err unsupported: this peer cannot start a device\n" : "ok\n");
	else if (strncmp(line, "dump", 4) == 0)
		ctl_say(ctl, "ok {}\n");
	else if (strncmp(line, "reconnect", 9) == 0)
		ctl_say(ctl, "err unsupported: no way to reconnect here\n");
	else if (strncmp(line, "reset", 5) == 0)
		ctl_say(ctl, "err unsupported\n");
	else if (strncmp(line, "stop", 4) == 0)
		ctl_say(ctl, "err unsupportedly stopped\n");
	else if (strncmp(line, "quit", 4) == 0)
		return false;
	else
		ctl_say(ctl, "err unknown command\n");
	return true;
}

/* Control lines until EOF; false to end. */
static bool ctl_serve(int ctl, const char *mode, char *buf, size_t *len)
{
	ssize_t n = read(ctl, buf + *len, 1023 - *len);
	char *nl;

	if (n <= 0)
		return false;
	*len += (size_t)n;
	buf[*len] = '\0';
	while ((nl = strchr(buf, '\n')) != NULL) {
		*nl = '\0';
		if (!ctl_answer(ctl, buf, mode))
			return false;
		*len -= (size_t)(nl + 1 - buf);
		memmove(buf, nl + 1, *len + 1);
	}
	return true;
}

/* MAPs and UNMAPs are all accepted (reply 0). */
static bool be_serve(struct chan *bc)
{
	struct chan_msg m;
	uint8_t b[8];
	struct proto_hdr h = { 0, 5, 8 };
	bool ok;

	chan_msg_init(&m);
	if (chan_recv(bc, &m, chan_deadline(PEER_WAIT_MS)) != CHAN_OK)
		return false;
	h.request = m.hdr.request;
	proto_u64_encode(0, b, sizeof(b));
	ok = !(m.hdr.flags & PROTO_F_NEED_REPLY) ||
	     chan_send(bc, &h, b, sizeof(b), NULL, 0, chan_deadline(PEER_WAIT_MS)) == CHAN_OK;
	chan_msg_release(&m);
	return ok;
}

/* Serves the control channel (and the back-end channel while open). */
static int serve(struct chan *bc, int ctl, const char *mode)
{
	char buf[1024];
	size_t len = 0;

	for (;;) {
		struct pollfd p[2] = { { ctl, POLLIN, 0 }, { bc->fd, POLLIN, 0 } };

		if (poll(p, bc->fd >= 0 ? 2 : 1, PEER_WAIT_MS) <= 0)
			return 0;
		if (bc->fd >= 0 && p[1].revents && !be_serve(bc))
			chan_close(bc);
		if (p[0].revents && !ctl_serve(ctl, mode, buf, &len))
			return 0;
	}
}

/* exit: says why on stderr and exits 1, as QEMU refusing a device does.
 * close: drops the connection but lives on, answering control with err.
 * crash / asan: dies by SIGABRT / exits after a sanitizer report. */
static int peer(const char *mode, int fd, int ctl)
{
	struct chan mc, bc;
	uint64_t size;

	chan_init(&mc, fd, "main", PROTO_CHAN_MAIN);
	size = peer_handshake(&mc, &bc);
	if (strcmp(mode, "exit") == 0) {
		fprintf(stderr, "peer: realizing the device\n"
			"peer: shared memory 0 size 0x%llx is not a page multiple\n\n",
			(unsigned long long)size);
		exit(1);
	}
	if (strcmp(mode, "crash") == 0) {
		signal(SIGABRT, SIG_DFL);
		raise(SIGABRT);
	}
	if (strcmp(mode, "asan") == 0) {
		fprintf(stderr, "==1==ERROR: AddressSanitizer: heap-buffer-overflow "
			"on address 0x1\n");
		_exit(1);
	}
	if (strcmp(mode, "close") == 0) {
		chan_close(&mc);
		chan_close(&bc);
		mode = "closed";
	}
	return serve(&bc, ctl, mode);
}

/* ---- running cases ---- */

struct outcome {
	struct result r;
	double ms;
};

static struct outcome *run_peer(const char *mode, const char *text)
{
	struct outcome *o = calloc(1, sizeof(*o));
	char exe[512], cmd[700], err[4096] = "";
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	struct runenv e = { .role = SCRIPT_ROLE_BACKEND, .target_cmd = cmd,
				.shmem_bit = SHMEM_BIT, .timeout_mult = 1.0,
				.cancel_fd = -1 };
	struct script_case c;

	ck_assert_int_gt(n, 0);
	exe[n] = '\0';
	snprintf(cmd, sizeof(cmd), "%s --peer=%s {fd} {control}", exe, mode);
	ck_assert_msg(script_parse_text("/x/t.vhu", text, &c, err, sizeof(err)) == 0,
		      "%s", err);
	ck_assert_int_eq(runenv_open(&e, err, sizeof(err)), 0);
	engine_run(&e, &c, &o->r);
	o->ms = o->r.duration_ms;
	runenv_close(&e);
	script_free(&c);
	return o;
}

static void assert_verdict(const struct outcome *o, enum result_verdict v)
{
	ck_assert_msg(o->r.verdict == v, "verdict %s, want %s; reason '%s'; "
		      "expected '%s'; observed '%s'",
		      result_verdict_name(o->r.verdict), result_verdict_name(v),
		      o->r.reason, o->r.expected, o->r.observed);
}

#define HDR "id t\ntitle t\ntarget frontend\nrule r\nlevel MUST\n" \
	    "requires SHMEM REPLY_ACK BACKEND_REQ control\n"
#define BAD_CONFIG "handshake regions=0x1800\n"
#define MAP_STEPS "fd a memfd\nsend map fd=a need_reply\n" \
		  "expect reply value=nonzero\n"

/* ---- err unsupported ---- */

TEST_CASE("unsupported", 20);

START_TEST(unsupported_control_is_unsupported_not_fail)
{
	struct outcome *o = run_peer("serve", HDR "handshake\ncontrol reconnect\n"
				     "check alive\n");

	assert_verdict(o, RESULT_UNSUPPORTED);
	ck_assert_str_eq(o->r.reason, "control reconnect: unsupported by the "
			 "target: no way to reconnect here");
	ck_assert_uint_eq(o->r.nfailures, 0);
	free(o);
	/* Whatever expect= wanted: an err of this kind is our limit. */
	o = run_peer("serve", HDR "handshake\ncontrol reconnect expect=err\n");
	assert_verdict(o, RESULT_UNSUPPORTED);
	free(o);
	/* Without a why, it says so. */
	o = run_peer("serve", HDR "handshake\ncontrol reset\n");
	assert_verdict(o, RESULT_UNSUPPORTED);
	ck_assert_str_eq(o->r.reason, "control reset: unsupported by the target: "
			 "(no reason given)");
	free(o);
	/* The handshake's own `control start` too. */
	o = run_peer("nostart", HDR "handshake\n" MAP_STEPS);
	assert_verdict(o, RESULT_UNSUPPORTED);
	ck_assert_ptr_nonnull(strstr(o->r.reason, "control start: unsupported"));
	free(o);
}
END_TEST

/* Only `err unsupported` and `err unsupported: ...` are that answer. */
START_TEST(lookalike_err_is_a_plain_err)
{
	struct outcome *o = run_peer("serve", HDR "handshake\ncontrol stop expect=err\n");

	assert_verdict(o, RESULT_PASS);
	free(o);
	o = run_peer("serve", HDR "handshake\ncontrol stop\n");
	assert_verdict(o, RESULT_FAIL);
	ck_assert_ptr_nonnull(strstr(o->r.failures[0].observed, "unsupportedly"));
	free(o);
}
END_TEST

/* What failed before the limit was reached stands. */
START_TEST(earlier_failures_stand)
{
	struct outcome *o = run_peer("serve", HDR "handshake\n" MAP_STEPS
				     "control reconnect\ncheck alive\n");

	assert_verdict(o, RESULT_FAIL);
	ck_assert_uint_eq(o->r.nfailures, 1);
	ck_assert_ptr_nonnull(strstr(o->r.expected, "SHMEM_MAP"));
	ck_assert_str_eq(o->r.reason, "");
	ck_assert_ptr_nonnull(strstr(o->r.observed, "unsupported by the target"));
	free(o);
	o = run_peer("serve", HDR "handshake\nfd a memfd\nsend map fd=a need_reply\n"
		     "expect reply value=nonzero grade=should\ncontrol reconnect\n");
	assert_verdict(o, RESULT_NON_STRICT);
	free(o);
}
END_TEST

/* ---- refusal ---- */

TEST_CASE("refusal", 20);

START_TEST(clean_exit_gets_the_refusal_verdict)
{
	struct outcome *o = run_peer("exit", HDR "refusal PASS\n" BAD_CONFIG MAP_STEPS);

	assert_verdict(o, RESULT_PASS);
	ck_assert_str_eq(o->r.reason, "refused the configuration: exit 1 before the "
			 "device started: peer: shared memory 0 size 0x1800 is "
			 "not a page multiple");
	ck_assert_uint_eq(o->r.nfailures, 0);
	ck_assert(o->r.exited);
	ck_assert_int_eq(o->r.exit_code, 1);
	ck_assert_int_lt(o->ms, 1500);
	free(o);
	o = run_peer("exit", "id t\ntitle t\ntarget frontend\nrule r\nlevel SHOULD\n"
		     "reason r\nrequires SHMEM REPLY_ACK BACKEND_REQ control\n"
		     "refusal NON-STRICT\n" BAD_CONFIG MAP_STEPS);
	assert_verdict(o, RESULT_NON_STRICT);
	ck_assert_ptr_nonnull(strstr(o->r.reason, "refused the configuration: exit 1"));
	free(o);
}
END_TEST

/* The keyword is what makes the difference. */
START_TEST(refusal_without_the_keyword_fails)
{
	struct outcome *o = run_peer("exit", HDR BAD_CONFIG MAP_STEPS);

	assert_verdict(o, RESULT_FAIL);
	ck_assert_str_eq(o->r.reason, "");
	free(o);
}
END_TEST

START_TEST(closed_connection_gets_the_refusal_verdict)
{
	struct outcome *o = run_peer("close", HDR "refusal INFO\n" BAD_CONFIG MAP_STEPS);

	assert_verdict(o, RESULT_INFO);
	ck_assert_str_eq(o->r.reason, "refused the configuration: closed the "
			 "connection before the device started");
	ck_assert(!o->r.exited);
	free(o);
}
END_TEST

START_TEST(crash_stays_a_crash)
{
	struct outcome *o = run_peer("crash", HDR "refusal PASS\n" BAD_CONFIG MAP_STEPS);

	assert_verdict(o, RESULT_CRASH);
	ck_assert_str_eq(o->r.signal, "SIGABRT");
	free(o);
	o = run_peer("asan", HDR "refusal PASS\n" BAD_CONFIG MAP_STEPS);
	assert_verdict(o, RESULT_CRASH);
	ck_assert_ptr_nonnull(strstr(o->r.reason, "AddressSanitizer"));
	free(o);
}
END_TEST

/* A target that takes the configuration is judged as usual. */
START_TEST(accepted_configuration_is_judged)
{
	struct outcome *o = run_peer("serve", HDR "refusal PASS\n" BAD_CONFIG MAP_STEPS);

	assert_verdict(o, RESULT_FAIL);
	ck_assert_ptr_nonnull(strstr(o->r.expected, "SHMEM_MAP"));
	ck_assert_int_lt(o->ms, 1000);
	free(o);
}
END_TEST

START_TEST(refusal_keyword_is_checked)
{
	struct script_case c;
	char err[1024] = "";

	ck_assert_int_ne(script_parse_text("/x/t.vhu", HDR "refusal maybe\n"
					   BAD_CONFIG, &c, err, sizeof(err)), 0);
	ck_assert_ptr_nonnull(strstr(err, "expected PASS, NON-STRICT or INFO"));
	err[0] = '\0';
	ck_assert_int_ne(script_parse_text("/x/t.vhu", "id t\ntitle t\ntarget frontend\n"
					   "rule r\nlevel MUST\nrefusal PASS\n"
					   "sleep 1\n", &c, err, sizeof(err)), 0);
	ck_assert_ptr_nonnull(strstr(err, "needs a handshake step"));
	ck_assert_int_eq(script_parse_text("/x/t.vhu", HDR "refusal NON-STRICT\n"
					   BAD_CONFIG, &c, err, sizeof(err)), 0);
	ck_assert_int_eq(c.refusal, SCRIPT_REFUSAL_NON_STRICT);
	ck_assert_str_eq(script_refusal_name(c.refusal), "NON-STRICT");
	script_free(&c);
}
END_TEST

/* Re-run as a fake target: --peer=MODE FD CONTROL-FD. */
static int as_peer(int argc, char **argv)
{
	if (argc == 4 && strncmp(argv[1], "--peer=", 7) == 0) {
		signal(SIGPIPE, SIG_IGN);
		return peer(argv[1] + 7, atoi(argv[2]), atoi(argv[3]));
	}
	return -1;
}
TEST_PRE_MAIN(as_peer);
