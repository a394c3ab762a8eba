/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for harness/engine/session: one live connection on real
 * socketpairs, the test playing the target at the other end. The log and
 * its cursors, the validator's findings, the poll rounds, the back-end
 * role's answers (now, held, released), the back-end channel a
 * SET_BACKEND_REQ_FD installs, the front-end ledger, the control line,
 * the ends of a wait (deadline, case deadline, cancel, gone).
 */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "chan.h"
#include "proto.h"
#include "session.h"
#include "vhutest.h"

#define WAIT_MS 3000

static int peer_send_u64(struct chan *c, uint32_t req, uint32_t flags,
			 uint64_t v)
{
	struct proto_hdr h = { req, flags, 8 };
	uint8_t b[8];

	proto_u64_encode(v, b, sizeof(b));
	return chan_send(c, &h, b, sizeof(b), NULL, 0, chan_deadline(WAIT_MS));
}

static int peer_send_empty(struct chan *c, uint32_t req, uint32_t flags,
			   const int *fds, unsigned nfds)
{
	struct proto_hdr h = { req, flags, 0 };

	return chan_send(c, &h, NULL, 0, fds, nfds, chan_deadline(WAIT_MS));
}

/* A session in ROLE on a fresh socketpair; *peer is the target's end. */
static struct session *open_session(enum script_role role, struct chan *peer)
{
	struct session *s = calloc(1, sizeof(*s));
	int sv[2];

	ck_assert_ptr_nonnull(s);
	vt_socketpair(sv);
	sess_init(s, role, sv[0], -1, -1, -1, NULL, NULL);
	chan_init(peer, sv[1], "peer", PROTO_CHAN_MAIN);
	return s;
}

static void close_session(struct session *s, struct chan *peer)
{
	sess_free(s);
	free(s);
	chan_close(peer);
}

static bool has_records(struct session *s, void *arg)
{
	return s->nlog >= *(const unsigned *)arg;
}

/* Nothing waiting on fd, without waiting. */
static bool nothing_to_read(int fd)
{
	char b;

	return recv(fd, &b, 1, MSG_DONTWAIT | MSG_PEEK) < 0;
}


TEST_CASE("session");

/* A main-channel message and a back-end reply both waiting: one look
 * takes both in, the reply first, as one poll round. */
START_TEST(ready_at_once_backend_first_same_round)
{
	uint8_t reg[PROTO_MEM_REG_MSG_SIZE] = { 0 };
	struct proto_hdr add = { PROTO_ADD_MEM_REG, 1, sizeof(reg) };
	struct session *s = calloc(1, sizeof(*s));
	struct chan pm, pb;
	int m[2], b[2];

	ck_assert_int_eq(chan_socketpair(m) >= 0 && chan_socketpair(b) >= 0, 1);
	sess_init(s, SCRIPT_ROLE_BACKEND, m[0], -1, -1, -1, NULL, NULL);
	sess_set_chan(s, SCRIPT_BACKEND, b[0]);
	chan_init(&pm, m[1], "main", PROTO_CHAN_MAIN);
	chan_init(&pb, b[1], "backend", PROTO_CHAN_BACKEND);
	ck_assert_int_eq(chan_send(&pm, &add, reg, sizeof(reg), NULL, 0,
				   chan_deadline(100)), CHAN_OK);
	ck_assert_int_eq(peer_send_u64(&pb, PROTO_BE_SHMEM_MAP, 5, 0), CHAN_OK);
	ck_assert_int_eq(sess_pump(s, chan_now_ms(), NULL, NULL), SESS_DEADLINE);
	ck_assert_uint_eq(s->nlog, 2);
	ck_assert_int_eq(s->log[0].chan, SCRIPT_BACKEND);
	ck_assert_int_eq(s->log[1].chan, SCRIPT_MAIN);
	ck_assert_uint_eq(s->log[0].round, s->log[1].round);
	chan_close(&pm);
	chan_close(&pb);
	sess_free(s);
	free(s);
}
END_TEST

TEST_CASE("log");

START_TEST(messages_are_logged_peeked_and_consumed_in_order)
{
	struct chan peer;
	struct session *s = open_session(SCRIPT_ROLE_FRONTEND, &peer);
	unsigned want = 2;
	const struct sess_rec *r;

	ck_assert_int_eq(peer_send_u64(&peer, PROTO_GET_FEATURES, PROTO_VERSION |
				       PROTO_F_REPLY, 7), CHAN_OK);
	ck_assert_int_eq(peer_send_u64(&peer, PROTO_GET_PROTOCOL_FEATURES,
				       PROTO_VERSION | PROTO_F_REPLY, 9), CHAN_OK);
	ck_assert_int_eq(sess_pump(s, chan_deadline(WAIT_MS), has_records, &want),
			 SESS_MET);
	r = sess_peek(s, SCRIPT_MAIN);
	ck_assert_ptr_nonnull(r);
	ck_assert(r->hdr_valid);
	ck_assert_uint_eq(r->hdr.request, PROTO_GET_FEATURES);
	ck_assert_uint_eq(r->payload_len, 8);
	ck_assert_ptr_eq(sess_peek(s, SCRIPT_MAIN), r);    /* peek does not move */
	sess_consume(s, SCRIPT_MAIN);
	r = sess_peek(s, SCRIPT_MAIN);
	ck_assert_uint_eq(r->hdr.request, PROTO_GET_PROTOCOL_FEATURES);
	sess_consume(s, SCRIPT_MAIN);
	ck_assert_ptr_null(sess_peek(s, SCRIPT_MAIN));
	ck_assert_ptr_null(sess_peek(s, SCRIPT_BACKEND));
	close_session(s, &peer);
}
END_TEST

/* The target closing the main channel is a record too, and with no
 * other channel and no process the wait ends as GONE. */
START_TEST(eof_is_a_record_and_the_target_is_gone)
{
	struct chan peer;
	struct session *s = open_session(SCRIPT_ROLE_FRONTEND, &peer);
	const struct sess_rec *r;
	char text[128];

	chan_close(&peer);
	ck_assert_int_eq(sess_pump(s, chan_deadline(WAIT_MS), NULL, NULL), SESS_GONE);
	ck_assert(!sess_chan_live(s, SCRIPT_MAIN));
	r = sess_peek(s, SCRIPT_MAIN);
	ck_assert_ptr_nonnull(r);
	ck_assert(r->eof);
	ck_assert_int_eq(r->st, CHAN_EOF);
	sess_describe(r, text, sizeof(text));
	ck_assert_str_eq(text, "main channel closed (EOF)");
	sess_free(s);
	free(s);
}
END_TEST

START_TEST(describe_names_requests_and_unknown_numbers)
{
	struct sess_rec r = { .chan = SCRIPT_BACKEND, .hdr_valid = true,
			      .hdr = { PROTO_BE_SHMEM_MAP, PROTO_VERSION |
				       PROTO_F_NEED_REPLY, 40 }, .nfds = 1 };
	char text[128];

	sess_describe(&r, text, sizeof(text));
	ck_assert_str_eq(text, "SHMEM_MAP request flags=0x9 size=40 fds=1");
	r.hdr.request = 999;
	r.hdr.flags = PROTO_VERSION | PROTO_F_REPLY;
	r.hdr.size = 0;
	r.nfds = 0;
	sess_describe(&r, text, sizeof(text));
	ck_assert_str_eq(text, "request 999 reply flags=0x5 size=0 fds=0");
}
END_TEST

/* What breaks the protocol is logged and the validator's findings kept,
 * named after the message. */
START_TEST(validator_findings_are_kept_with_the_message_name)
{
	struct chan peer;
	struct session *s = open_session(SCRIPT_ROLE_FRONTEND, &peer);
	unsigned want = 1;

	/* A reply with version 2: the validator names the version. */
	ck_assert_int_eq(peer_send_u64(&peer, PROTO_GET_FEATURES, 0x2 | PROTO_F_REPLY,
				       1), CHAN_OK);
	ck_assert_int_eq(sess_pump(s, chan_deadline(WAIT_MS), has_records, &want),
			 SESS_MET);
	ck_assert_uint_ge(s->nfindings, 1);
	ck_assert_int_eq(s->findings[0].f.code, PROTO_FIND_VERSION);
	ck_assert_str_eq(s->findings[0].msg, "GET_FEATURES reply");
	sess_observe(s, sess_peek(s, SCRIPT_MAIN), 1000, PROTO_SEV_WARN, "mine");
	ck_assert_str_eq(s->findings[s->nfindings - 1].f.text, "mine");
	close_session(s, &peer);
}
END_TEST

TEST_CASE("waits");

START_TEST(nothing_arrives_until_the_deadline)
{
	struct chan peer;
	struct session *s = open_session(SCRIPT_ROLE_FRONTEND, &peer);

	ck_assert_int_eq(sess_pump(s, chan_now_ms() + 20, NULL, NULL), SESS_DEADLINE);
	ck_assert_uint_eq(s->nlog, 0);
	s->case_deadline = chan_now_ms();
	ck_assert_int_eq(sess_pump(s, chan_deadline(WAIT_MS), NULL, NULL),
			 SESS_CASE_DEADLINE);
	close_session(s, &peer);
}
END_TEST

/* SIGINT/SIGTERM reach the session as a readable cancel fd. */
START_TEST(cancel_fd_stops_the_wait)
{
	struct chan peer;
	struct session *s = open_session(SCRIPT_ROLE_FRONTEND, &peer);
	int p[2];

	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	s->cancel_fd = p[0];
	ck_assert_int_eq(write(p[1], "x", 1), 1);
	ck_assert_int_eq(sess_pump(s, chan_deadline(WAIT_MS), NULL, NULL), SESS_CANCEL);
	ck_assert(s->cancelled);
	ck_assert_int_eq(sess_pump(s, chan_deadline(WAIT_MS), NULL, NULL), SESS_CANCEL);
	close(p[0]);
	close(p[1]);
	close_session(s, &peer);
}
END_TEST

START_TEST(harness_fault_ends_every_wait)
{
	struct chan peer;
	struct session *s = open_session(SCRIPT_ROLE_FRONTEND, &peer);

	snprintf(s->fault, sizeof(s->fault), "out of memory");
	ck_assert_int_eq(sess_pump(s, chan_deadline(WAIT_MS), NULL, NULL), SESS_FAULT);
	close_session(s, &peer);
}
END_TEST

TEST_CASE("as-backend");

/* The harness as back-end answers GET_FEATURES from its offer. */
START_TEST(backend_role_answers_from_its_offer)
{
	struct chan peer;
	struct session *s = open_session(SCRIPT_ROLE_BACKEND, &peer);
	struct chan_msg m;
	unsigned want = 1;
	uint64_t v = 0;

	s->be.offer.features = 0x140000000ull;
	ck_assert_int_eq(peer_send_empty(&peer, PROTO_GET_FEATURES, PROTO_VERSION,
					 NULL, 0), CHAN_OK);
	ck_assert_int_eq(sess_pump(s, chan_deadline(WAIT_MS), has_records, &want),
			 SESS_MET);
	chan_msg_init(&m);
	ck_assert_int_eq(chan_recv(&peer, &m, chan_deadline(WAIT_MS)), CHAN_OK);
	ck_assert_uint_eq(m.hdr.request, PROTO_GET_FEATURES);
	ck_assert_uint_eq(m.hdr.flags, PROTO_VERSION | PROTO_F_REPLY);
	ck_assert_int_eq(proto_u64_decode(m.payload, m.payload_len, &v), PROTO_OK);
	ck_assert_uint_eq(v, 0x140000000ull);
	chan_msg_release(&m);
	close_session(s, &peer);
}
END_TEST

/* `hold main GET_FEATURES`: no answer until `release main`. */
START_TEST(held_answer_goes_out_on_release)
{
	struct chan peer;
	struct session *s = open_session(SCRIPT_ROLE_BACKEND, &peer);
	uint32_t req = PROTO_GET_FEATURES;
	struct chan_msg m;
	unsigned want = 1;

	sess_hold(s, &req, 1);
	ck_assert_int_eq(peer_send_empty(&peer, PROTO_GET_FEATURES, PROTO_VERSION,
					 NULL, 0), CHAN_OK);
	ck_assert_int_eq(sess_pump(s, chan_deadline(WAIT_MS), has_records, &want),
			 SESS_MET);
	ck_assert(sess_held(s, sess_peek(s, SCRIPT_MAIN)));
	ck_assert(nothing_to_read(peer.fd));
	sess_release(s);
	chan_msg_init(&m);
	ck_assert_int_eq(chan_recv(&peer, &m, chan_deadline(WAIT_MS)), CHAN_OK);
	ck_assert_uint_eq(m.hdr.request, PROTO_GET_FEATURES);
	chan_msg_release(&m);
	close_session(s, &peer);
}
END_TEST

/* `model single-thread`: while its own request waits (blocked), the
 * back-end answers nothing; unblocking answers in arrival order. */
START_TEST(single_thread_answers_after_unblock_in_order)
{
	struct chan peer;
	struct session *s = open_session(SCRIPT_ROLE_BACKEND, &peer);
	struct chan_msg m;
	unsigned want = 2;

	s->be.single_thread = true;
	rbe_block(&s->be);
	ck_assert_int_eq(peer_send_empty(&peer, PROTO_GET_FEATURES, PROTO_VERSION,
					 NULL, 0), CHAN_OK);
	ck_assert_int_eq(peer_send_empty(&peer, PROTO_GET_PROTOCOL_FEATURES,
					 PROTO_VERSION, NULL, 0), CHAN_OK);
	ck_assert_int_eq(sess_pump(s, chan_deadline(WAIT_MS), has_records, &want),
			 SESS_MET);
	ck_assert(nothing_to_read(peer.fd));
	sess_unblock(s);
	chan_msg_init(&m);
	ck_assert_int_eq(chan_recv(&peer, &m, chan_deadline(WAIT_MS)), CHAN_OK);
	ck_assert_uint_eq(m.hdr.request, PROTO_GET_FEATURES);
	chan_msg_release(&m);
	chan_msg_init(&m);
	ck_assert_int_eq(chan_recv(&peer, &m, chan_deadline(WAIT_MS)), CHAN_OK);
	ck_assert_uint_eq(m.hdr.request, PROTO_GET_PROTOCOL_FEATURES);
	chan_msg_release(&m);
	close_session(s, &peer);
}
END_TEST

/* SET_BACKEND_REQ_FD with a socket: the session's back-end channel. */
START_TEST(backend_req_fd_installs_the_backend_channel)
{
	struct chan peer, pb;
	struct session *s = open_session(SCRIPT_ROLE_BACKEND, &peer);
	unsigned want = 2;
	int sv[2];

	vt_socketpair(sv);
	ck_assert(!sess_chan_live(s, SCRIPT_BACKEND));
	ck_assert_int_eq(peer_send_empty(&peer, PROTO_SET_BACKEND_REQ_FD,
					 PROTO_VERSION, &sv[1], 1), CHAN_OK);
	close(sv[1]);
	want = 1;
	ck_assert_int_eq(sess_pump(s, chan_deadline(WAIT_MS), has_records, &want),
			 SESS_MET);
	ck_assert(sess_chan_live(s, SCRIPT_BACKEND));
	chan_init(&pb, sv[0], "peer-backend", PROTO_CHAN_BACKEND);
	ck_assert_int_eq(peer_send_u64(&pb, PROTO_BE_SHMEM_UNMAP, PROTO_VERSION |
				       PROTO_F_REPLY, 0), CHAN_OK);
	want = 2;
	ck_assert_int_eq(sess_pump(s, chan_deadline(WAIT_MS), has_records, &want),
			 SESS_MET);
	ck_assert_ptr_nonnull(sess_peek(s, SCRIPT_BACKEND));
	chan_close(&pb);
	close_session(s, &peer);
}
END_TEST

TEST_CASE("as-frontend");

/* The back-end target's SHMEM_MAP goes to the front-end's ledger, and is
 * the request a `reply` answers. */
START_TEST(backend_map_enters_the_ledger)
{
	struct chan peer, pb;
	struct session *s = open_session(SCRIPT_ROLE_FRONTEND, &peer);
	struct proto_shmem_config cfg = { .nregions = 1 };
	struct proto_mmap mm = { .shmid = 0, .shm_offset = 0, .len = 0x1000 };
	uint8_t body[PROTO_MMAP_SIZE];
	struct proto_hdr h = { PROTO_BE_SHMEM_MAP, PROTO_VERSION, PROTO_MMAP_SIZE };
	int sv[2], mfd = vt_memfd("vhu-test-session", 0x1000, 0);
	unsigned want = 1;

	cfg.memory_sizes[0] = 0x10000;
	ledger_init(&s->fe.ledger, &cfg);
	vt_socketpair(sv);
	sess_set_chan(s, SCRIPT_BACKEND, sv[0]);
	chan_init(&pb, sv[1], "peer-backend", PROTO_CHAN_BACKEND);
	ck_assert_int_eq(proto_mmap_encode(&mm, body, sizeof(body)), PROTO_MMAP_SIZE);
	ck_assert_int_eq(chan_send(&pb, &h, body, sizeof(body), &mfd, 1,
				   chan_deadline(WAIT_MS)), CHAN_OK);
	close(mfd);
	ck_assert_int_eq(sess_pump(s, chan_deadline(WAIT_MS), has_records, &want),
			 SESS_MET);
	ck_assert_uint_eq(s->fe.ledger.nlive, 1);
	ck_assert_uint_eq(s->fe.ledger.violations, 0);
	ck_assert_int_eq(s->fe.last_be_req, 0);
	ck_assert_uint_eq(s->log[0].nfds, 1);
	chan_close(&pb);
	close_session(s, &peer);
}
END_TEST

TEST_CASE("control");

/* One line out, its answer in; a line that arrives in two pieces. */
START_TEST(control_line_and_its_answer)
{
	struct chan peer;
	struct session *s = open_session(SCRIPT_ROLE_FRONTEND, &peer);
	char got[64];
	int sv[2];

	vt_socketpair(sv);
	s->ctl_fd = sv[0];
	ck_assert_int_eq(write(sv[1], "o", 1), 1);
	ck_assert_int_eq(write(sv[1], "k 1\r\n", 5), 5);
	ck_assert_int_eq(sess_control(s, "map 0 0 4096", chan_deadline(WAIT_MS)),
			 SESS_MET);
	ck_assert(s->ctl_has_answer);
	ck_assert_str_eq(s->ctl_answer, "ok 1");
	ck_assert_int_eq(vt_read_some(sv[1], got, sizeof(got)), 13);
	ck_assert_str_eq(got, "map 0 0 4096\n");
	close(sv[1]);
	ck_assert_int_eq(sess_control(s, "stop", chan_deadline(WAIT_MS)), SESS_GONE);
	close_session(s, &peer);
}
END_TEST

/* Queued answers: a second line waits until the first was taken. */
START_TEST(queued_control_answers_wait_their_turn)
{
	struct chan peer;
	struct session *s = open_session(SCRIPT_ROLE_FRONTEND, &peer);
	int sv[2];

	vt_socketpair(sv);
	s->ctl_fd = sv[0];
	s->ctl_queue = true;
	ck_assert_int_eq(sess_control_send(s, "map 0 0 4096", chan_deadline(WAIT_MS)),
			 SESS_MET);
	ck_assert_int_eq(write(sv[1], "ok\nerr busy\n", 12), 12);
	ck_assert_int_eq(sess_pump(s, chan_now_ms() + 50, NULL, NULL), SESS_DEADLINE);
	ck_assert_str_eq(s->ctl_answer, "ok");
	sess_ctl_next(s);
	ck_assert(s->ctl_has_answer);
	ck_assert_str_eq(s->ctl_answer, "err busy");
	close(sv[1]);
	close_session(s, &peer);
}
END_TEST

TEST_CASE("trace");

/* Every message and note goes to the trace; the tail keeps the last. */
START_TEST(trace_and_tail)
{
	struct chan peer;
	struct session *s = calloc(1, sizeof(*s));
	FILE *trace = tmpfile();
	char tail[1024], all[4096];
	struct chan_msg m;
	size_t n;
	int sv[2];

	ck_assert_ptr_nonnull(trace);
	vt_socketpair(sv);
	sess_init(s, SCRIPT_ROLE_FRONTEND, sv[0], -1, -1, -1, NULL, trace);
	chan_init(&peer, sv[1], "peer", PROTO_CHAN_MAIN);
	sess_note(s, "hello %d", 42);
	ck_assert_int_eq(peer_send_u64(&peer, PROTO_GET_FEATURES, PROTO_VERSION |
				       PROTO_F_REPLY, 3), CHAN_OK);
	ck_assert_int_eq(sess_pump(s, chan_now_ms() + 50, NULL, NULL), SESS_DEADLINE);
	{
		struct proto_hdr h = { PROTO_GET_FEATURES, PROTO_VERSION, 0 };

		ck_assert_int_eq(sess_send(s, SCRIPT_MAIN, &h, NULL, 0, NULL, 0), 0);
	}
	chan_msg_init(&m);
	ck_assert_int_eq(chan_recv(&peer, &m, chan_deadline(WAIT_MS)), CHAN_OK);
	chan_msg_release(&m);
	sess_tail(s, 3, tail, sizeof(tail));
	ck_assert_ptr_nonnull(strstr(tail, "hello 42"));
	ck_assert_ptr_nonnull(strstr(tail, "GET_FEATURES"));
	fflush(trace);
	rewind(trace);
	n = fread(all, 1, sizeof(all) - 1, trace);
	all[n] = '\0';
	ck_assert_ptr_nonnull(strstr(all, "# hello 42"));
	ck_assert_ptr_nonnull(strstr(all, "GET_FEATURES"));
	close_session(s, &peer);
}
END_TEST
