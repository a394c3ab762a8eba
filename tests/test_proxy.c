/* SPDX-License-Identifier: MIT */
/* Unit tests for harness/proxy: the relay runs in a child process over
 * real socketpairs; the test plays both the front-end and the back-end. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "chan.h"
#include "fdpool.h"
#include "proxy.h"
#include "tracefile.h"
#include "protoval.h"
#include "vhutest.h"

#define WAIT_MS 3000
#define PF ((1ull << PROTO_PF_REPLY_ACK) | (1ull << PROTO_PF_BACKEND_REQ) | \
	    (1ull << PROTO_PF_BACKEND_SEND_FD) | (1ull << 22))

/* What the proxy child reports through a pipe when it ends. */
struct outcome {
	unsigned relayed, dropped, nmsgs, errors, warns;
	char end[200];
};

struct rig {
	struct chan fe, be;     /* the test's ends: front-end, back-end */
	struct chan fe_back, be_back;
	pid_t child;
	int result_fd;
	char trace[128];
};

static void run_child(int fe_fd, int be_fd, int out_fd, const char *trace,
		      const char *rule)
{
	static struct proxy p;
	struct proxy_opts o = { .shmem_bit = 22, .reply_timeout_ms = 300,
				.msg_timeout_ms = 500, .control_timeout_ms = 500 };
	struct tracefile_writer tw;
	struct outcome r = { 0 };
	int ctl[2] = { -1, -1 };
	struct target *tg[2] = { NULL, NULL };
	char err[256];

	if (rule && faultrule_parse(rule, &o.rules[o.nrules++], err, sizeof(err)) < 0)
		_exit(3);
	if (tracefile_create(&tw, trace, 22) < 0)
		_exit(4);
	o.trace = &tw;
	if (proxy_init(&p, &o, fe_fd, be_fd, ctl, tg, -1) < 0)
		_exit(5);
	alarm(20); /* a hung relay fails the test instead of hanging it */
	proxy_run(&p);
	tracefile_close(&tw);
	r.relayed = p.relayed;
	r.dropped = p.dropped;
	r.nmsgs = p.mon.nmsgs;
	r.errors = p.mon.by_severity[PROTO_SEV_ERROR];
	r.warns = p.mon.by_severity[PROTO_SEV_WARN];
	snprintf(r.end, sizeof(r.end), "%s", p.end_reason);
	proxy_free(&p);
	if (write(out_fd, &r, sizeof(r)) != (ssize_t)sizeof(r))
		_exit(6);
	_exit(0);
}

static void rig_start(struct rig *g, const char *rule)
{
	int fe[2], be[2], res[2];

	memset(g, 0, sizeof(*g));
	snprintf(g->trace, sizeof(g->trace), "/tmp/vhu-test-proxy-%d.trace", (int)getpid());
	ck_assert_int_eq(chan_socketpair(fe), 0);
	ck_assert_int_eq(chan_socketpair(be), 0);
	ck_assert_int_eq(pipe2(res, O_CLOEXEC), 0);
	g->child = fork();
	ck_assert_int_ge(g->child, 0);
	if (g->child == 0) {
		close(fe[0]);
		close(be[0]);
		close(res[0]);
		run_child(fe[1], be[1], res[1], g->trace, rule);
	}
	close(fe[1]);
	close(be[1]);
	close(res[1]);
	g->result_fd = res[0];
	chan_init(&g->fe, fe[0], "main", PROTO_CHAN_MAIN);
	chan_init(&g->be, be[0], "main", PROTO_CHAN_MAIN);
	chan_init(&g->fe_back, -1, "backend", PROTO_CHAN_BACKEND);
	chan_init(&g->be_back, -1, "backend", PROTO_CHAN_BACKEND);
}

static void rig_finish(struct rig *g, struct outcome *r)
{
	int st;

	chan_close(&g->fe);
	chan_close(&g->be);
	chan_close(&g->fe_back);
	chan_close(&g->be_back);
	ck_assert_int_eq(chan_wait_readable(g->result_fd, chan_deadline(WAIT_MS)), 1);
	ck_assert_int_eq(read(g->result_fd, r, sizeof(*r)), (ssize_t)sizeof(*r));
	close(g->result_fd);
	ck_assert_int_eq(waitpid(g->child, &st, 0), g->child);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static void send_msg(struct chan *c, uint32_t req, uint32_t flags, const void *p,
		     size_t len, const int *fds, unsigned nfds)
{
	struct proto_hdr h = { req, PROTO_VERSION | flags, (uint32_t)len };

	ck_assert_int_eq(chan_send(c, &h, p, len, fds, nfds, chan_deadline(WAIT_MS)), CHAN_OK);
}

static void send_u64(struct chan *c, uint32_t req, uint32_t flags, uint64_t v)
{
	send_msg(c, req, flags, &v, 8, NULL, 0);
}

static void recv_msg(struct chan *c, struct chan_msg *m, uint32_t req)
{
	ck_assert_int_eq(chan_recv(c, m, chan_deadline(WAIT_MS)), CHAN_OK);
	ck_assert_uint_eq(m->hdr.request, req);
}

/* A request one way, its u64 reply the other. */
static void round_trip(struct rig *g, uint32_t req, uint64_t reply)
{
	struct chan_msg m;

	send_msg(&g->fe, req, 0, NULL, 0, NULL, 0);
	recv_msg(&g->be, &m, req);
	send_u64(&g->be, req, PROTO_F_REPLY, reply);
	recv_msg(&g->fe, &m, req);
	ck_assert(m.hdr.flags & PROTO_F_REPLY);
}

static void same_file(int a, int b, bool same)
{
	struct stat s1, s2;

	ck_assert_int_eq(fstat(a, &s1), 0);
	ck_assert_int_eq(fstat(b, &s2), 0);
	ck_assert_int_eq(s1.st_ino == s2.st_ino && s1.st_dev == s2.st_dev, same);
}

/* Negotiation and SET_BACKEND_REQ_FD: the back-end gets the monitor's
 * socket, not the front-end's. */
static void handshake(struct rig *g)
{
	struct chan_msg m;
	int sv[2];

	round_trip(g, PROTO_GET_FEATURES, 1ull << PROTO_F_PROTOCOL_FEATURES);
	round_trip(g, PROTO_GET_PROTOCOL_FEATURES, PF);
	send_u64(&g->fe, PROTO_SET_PROTOCOL_FEATURES, 0, PF);
	recv_msg(&g->be, &m, PROTO_SET_PROTOCOL_FEATURES);
	ck_assert_int_eq(chan_socketpair(sv), 0);
	send_msg(&g->fe, PROTO_SET_BACKEND_REQ_FD, PROTO_F_NEED_REPLY, NULL, 0, &sv[1], 1);
	recv_msg(&g->be, &m, PROTO_SET_BACKEND_REQ_FD);
	ck_assert_uint_eq(m.nfds, 1);
	same_file(m.fds[0], sv[1], false);
	close(sv[1]);
	chan_init(&g->fe_back, sv[0], "backend", PROTO_CHAN_BACKEND);
	chan_init(&g->be_back, chan_msg_take_fd(&m, 0), "backend", PROTO_CHAN_BACKEND);
	send_u64(&g->be, PROTO_SET_BACKEND_REQ_FD, PROTO_F_REPLY, 0);
	recv_msg(&g->fe, &m, PROTO_SET_BACKEND_REQ_FD);
}

TEST_CASE("relay");

START_TEST(relays_both_channels_and_fds)
{
	struct rig g;
	struct outcome r;
	struct chan_msg m;
	struct proto_mmap mm = { .len = 0x1000, .flags = PROTO_MMAP_F_RW };
	uint8_t buf[PROTO_MMAP_SIZE];
	int mfd = memfd_create("vhu-test-proxy", MFD_CLOEXEC);
	int before = fdpool_count_open_fds();

	ck_assert_int_ge(mfd, 0);
	ck_assert_int_eq(ftruncate(mfd, 0x1000), 0);
	rig_start(&g, NULL);
	handshake(&g);
	proto_mmap_encode(&mm, buf, sizeof(buf));
	send_msg(&g.be_back, PROTO_BE_SHMEM_MAP, PROTO_F_NEED_REPLY, buf, sizeof(buf), &mfd, 1);
	recv_msg(&g.fe_back, &m, PROTO_BE_SHMEM_MAP);
	ck_assert_uint_eq(m.nfds, 1);
	same_file(m.fds[0], mfd, true); /* passed through untouched */
	ck_assert_mem_eq(m.payload, buf, sizeof(buf));
	chan_msg_release(&m);
	send_u64(&g.fe_back, PROTO_BE_SHMEM_MAP, PROTO_F_REPLY, 0);
	recv_msg(&g.be_back, &m, PROTO_BE_SHMEM_MAP);
	/* the front-end leaves: the back-end sees both channels end */
	chan_close(&g.fe);
	ck_assert_int_eq(chan_recv(&g.be, &m, chan_deadline(WAIT_MS)), CHAN_EOF);
	ck_assert_int_eq(chan_recv(&g.be_back, &m, chan_deadline(WAIT_MS)), CHAN_EOF);
	rig_finish(&g, &r);
	ck_assert_uint_eq(r.nmsgs, 9);
	ck_assert_uint_eq(r.relayed, 9);
	ck_assert_uint_eq(r.errors, 0);
	ck_assert_ptr_nonnull(strstr(r.end, "frontend closed the main channel"));
	close(mfd);
	ck_assert_int_le(fdpool_count_open_fds(), before + 1); /* only the result of fork */
	unlink(g.trace);
}
END_TEST

START_TEST(trace_records_what_passed)
{
	struct rig g;
	struct outcome r;
	struct tracefile_reader rd;
	struct tracefile_rec *rec = malloc(sizeof(*rec));
	struct chan_msg m;
	char err[256];
	unsigned msgs = 0, notes = 0, setfd = 0;

	rig_start(&g, NULL);
	handshake(&g);
	chan_close(&g.be); /* this time the back-end leaves */
	ck_assert_int_eq(chan_recv(&g.fe, &m, chan_deadline(WAIT_MS)), CHAN_EOF);
	rig_finish(&g, &r);
	ck_assert_ptr_nonnull(strstr(r.end, "backend closed"));
	ck_assert_int_eq(tracefile_open(&rd, g.trace, err, sizeof(err)), 0);
	while (tracefile_next(&rd, rec) == 1) {
		struct proto_hdr h;

		if (rec->type == TRACEFILE_NOTE) {
			notes++;
			continue;
		}
		msgs++;
		proto_hdr_decode(rec->data, rec->data_len, &h);
		if (h.request == PROTO_SET_BACKEND_REQ_FD && rec->from == TRACEFILE_FROM_FRONTEND) {
			setfd++;
			ck_assert_uint_eq(rec->nfds, 1);
			ck_assert_uint_eq(rec->fds[0].kind, TRACEFILE_FD_SOCKET);
		}
	}
	ck_assert_uint_eq(msgs, r.nmsgs);
	ck_assert_uint_eq(setfd, 1);
	ck_assert_uint_ge(notes, 2);
	tracefile_free(&rd);
	unlink(g.trace);
	free(rec);
}
END_TEST

START_TEST(drop_rule)
{
	struct rig g;
	struct outcome r;
	struct chan_msg m;

	rig_start(&g, "drop:GET_QUEUE_NUM");
	send_msg(&g.fe, PROTO_GET_QUEUE_NUM, 0, NULL, 0, NULL, 0);
	send_msg(&g.fe, PROTO_GET_FEATURES, 0, NULL, 0, NULL, 0);
	recv_msg(&g.be, &m, PROTO_GET_FEATURES); /* the first never came */
	ck_assert_int_eq(chan_wait_readable(g.be.fd, chan_deadline(100)), 0);
	chan_close(&g.fe);
	rig_finish(&g, &r);
	ck_assert_uint_eq(r.dropped, 1);
	ck_assert_uint_eq(r.relayed, 1);
	unlink(g.trace);
}
END_TEST

START_TEST(corrupt_and_delay_rules)
{
	struct rig g;
	struct outcome r;
	struct chan_msg m;
	int64_t t0;

	rig_start(&g, "corrupt:SET_FEATURES:12:0x80");
	send_u64(&g.fe, PROTO_SET_FEATURES, 0, 0x1);
	recv_msg(&g.be, &m, PROTO_SET_FEATURES);
	ck_assert_uint_eq(m.payload[0], 0x81);
	chan_close(&g.fe);
	rig_finish(&g, &r);
	unlink(g.trace);

	rig_start(&g, "delay:GET_FEATURES:200");
	t0 = chan_now_ms();
	send_msg(&g.fe, PROTO_GET_FEATURES, 0, NULL, 0, NULL, 0);
	send_msg(&g.fe, PROTO_SET_OWNER, 0, NULL, 0, NULL, 0);
	recv_msg(&g.be, &m, PROTO_GET_FEATURES);
	ck_assert_int_ge(chan_now_ms() - t0, 190);
	recv_msg(&g.be, &m, PROTO_SET_OWNER); /* order kept behind the delay */
	chan_close(&g.fe);
	rig_finish(&g, &r);
	unlink(g.trace);
}
END_TEST

START_TEST(missing_reply_is_found_in_time)
{
	struct rig g;
	struct outcome r;
	struct chan_msg m;

	rig_start(&g, NULL);
	send_msg(&g.fe, PROTO_GET_FEATURES, 0, NULL, 0, NULL, 0);
	recv_msg(&g.be, &m, PROTO_GET_FEATURES);
	usleep(500 * 1000); /* past the 300 ms reply deadline */
	chan_close(&g.fe);
	rig_finish(&g, &r);
	ck_assert_uint_eq(r.errors, 1);
	unlink(g.trace);
}
END_TEST

/* A relay writing to a closed peer must see EPIPE, not die of SIGPIPE. */
static int ignore_sigpipe(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	signal(SIGPIPE, SIG_IGN);
	return -1;
}
TEST_PRE_MAIN(ignore_sigpipe);
