/* SPDX-License-Identifier: MIT */
/* Unit tests for harness/chan: real socketpairs, real fds, real deadlines.
 * Every test checks that it leaves the process's fd count as it found it. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "chan.h"
#include "fdpool.h"
#include "vhutest.h"

/* Generous: the box may be loaded; we only check "not before, not never". */
#define MARGIN_MS 3000

struct pair {
	struct chan a, b;
	int before; /* open fds before the pair was made */
};

static void pair_open(struct pair *p)
{
	int sv[2];

	p->before = fdpool_count_open_fds();
	ck_assert_int_ge(p->before, 0);
	ck_assert_int_eq(chan_socketpair(sv), 0);
	chan_init(&p->a, sv[0], "main", PROTO_CHAN_MAIN);
	chan_init(&p->b, sv[1], "backend", PROTO_CHAN_BACKEND);
}

static void pair_close_check(struct pair *p)
{
	chan_close(&p->a);
	chan_close(&p->b);
	ck_assert_int_eq(fdpool_count_open_fds(), p->before);
}

static void same_file(int x, int y)
{
	struct stat s1, s2;

	ck_assert_int_eq(fstat(x, &s1), 0);
	ck_assert_int_eq(fstat(y, &s2), 0);
	ck_assert(s1.st_ino == s2.st_ino && s1.st_dev == s2.st_dev);
}

static bool is_cloexec(int fd)
{
	int fl = fcntl(fd, F_GETFD);

	ck_assert_int_ge(fl, 0);
	return (fl & FD_CLOEXEC) != 0;
}

static void map_payload(uint8_t out[40])
{
	struct proto_mmap m = { .shm_offset = 0x1000, .len = 0x1000,
				.flags = PROTO_MMAP_F_RW };

	ck_assert_int_eq(proto_mmap_encode(&m, out, 40), 40);
}

static void put_hdr(uint8_t *b, uint32_t req, uint32_t flags, uint32_t size)
{
	struct proto_hdr h = { req, flags, size };

	proto_hdr_encode(&h, b, 12);
}

/* sendmsg of raw bytes with any number of fds, bypassing chan's checks. */
static void raw_sendmsg(int sock, const void *buf, size_t len, const int *fds,
			unsigned nfds)
{
	char ctl[CMSG_SPACE(sizeof(int) * 64)];
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	ck_assert_uint_le(nfds, 64);
	if (nfds) {
		struct cmsghdr *cm;

		memset(ctl, 0, sizeof(ctl));
		mh.msg_control = ctl;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
	}
	ck_assert_int_eq(sendmsg(sock, &mh, MSG_NOSIGNAL), (ssize_t)len);
}

/* ---- basics ---- */

TEST_CASE("basic");

START_TEST(socketpair_is_cloexec)
{
	int before = fdpool_count_open_fds(), sv[2];

	ck_assert_int_eq(chan_socketpair(sv), 0);
	ck_assert(is_cloexec(sv[0]) && is_cloexec(sv[1]));
	close(sv[0]);
	close(sv[1]);
	ck_assert_int_eq(fdpool_count_open_fds(), before);
}
END_TEST

START_TEST(status_names_distinct)
{
	for (int a = CHAN_OK; a <= CHAN_ERROR; a++) {
		ck_assert_str_ne(chan_status_name(a), "UNKNOWN");
		for (int b = a + 1; b <= CHAN_ERROR; b++)
			ck_assert_str_ne(chan_status_name(a),
					 chan_status_name(b));
	}
	ck_assert_str_eq(chan_status_name(CHAN_TOO_MANY_FDS), "TOO_MANY_FDS");
	ck_assert_str_eq(chan_status_name(99), "UNKNOWN");
}
END_TEST

START_TEST(deadline_helpers)
{
	int64_t now = chan_now_ms();
	int sv[2];

	ck_assert_int_lt(chan_deadline(-1), now + 1);
	ck_assert_int_ge(chan_deadline(1000), now + 1000);
	ck_assert_int_eq(chan_deadline(INT64_MAX), INT64_MAX);
	ck_assert_int_eq(chan_socketpair(sv), 0);
	ck_assert_int_eq(chan_wait_readable(sv[0], chan_deadline(-1)), 0);
	ck_assert_int_eq(write(sv[1], "x", 1), 1);
	ck_assert_int_eq(chan_wait_readable(sv[0], chan_deadline(1000)), 1);
	close(sv[0]);
	close(sv[1]);
	ck_assert_int_eq(chan_wait_readable(sv[0], chan_deadline(100)), -EBADF);
}
END_TEST

START_TEST(msg_take_and_release)
{
	struct pair p;
	struct chan_msg m;
	int fds[2], kept;

	pair_open(&p);
	fds[0] = vt_memfd("test-chan", 4096, 0);
	fds[1] = vt_memfd("test-chan", 4096, 0);
	ck_assert_int_eq(chan_send(&p.b, &(struct proto_hdr){ 9, 1, 0 }, NULL, 0,
				   fds, 2, chan_deadline(1000)), CHAN_OK);
	close(fds[0]);
	close(fds[1]);
	ck_assert_int_eq(chan_recv(&p.a, &m, chan_deadline(1000)), CHAN_OK);
	ck_assert_uint_eq(m.nfds, 2);
	kept = chan_msg_take_fd(&m, 1);
	ck_assert_int_ge(kept, 0);
	ck_assert_int_eq(chan_msg_take_fd(&m, 1), -EBADF);
	ck_assert_int_eq(chan_msg_take_fd(&m, 2), -EBADF);
	ck_assert_int_eq(chan_msg_take_fd(&m, 100), -EBADF);
	chan_msg_release(&m);
	chan_msg_release(&m);
	ck_assert_int_ge(fcntl(kept, F_GETFD), 0); /* still ours */
	close(kept);
	pair_close_check(&p);
}
END_TEST

/* ---- messages and fds ---- */

TEST_CASE("messages");

START_TEST(roundtrip_no_fds)
{
	struct pair p;
	struct chan_msg m;
	uint8_t pl[40];
	struct proto_hdr h = { PROTO_BE_SHMEM_MAP, 0x9, 40 };
	int64_t t0 = chan_now_ms();

	pair_open(&p);
	map_payload(pl);
	ck_assert_int_eq(chan_send(&p.b, &h, pl, 40, NULL, 0,
				   chan_deadline(1000)), CHAN_OK);
	ck_assert_int_eq(chan_recv(&p.a, &m, chan_deadline(1000)), CHAN_OK);
	ck_assert(m.hdr_valid);
	ck_assert_uint_eq(m.hdr.request, 9);
	ck_assert_uint_eq(m.hdr.flags, 0x9);
	ck_assert_uint_eq(m.hdr.size, 40);
	ck_assert_uint_eq(m.payload_len, 40);
	ck_assert_mem_eq(m.payload, pl, 40);
	ck_assert_uint_eq(m.nfds, 0);
	ck_assert_int_ge(m.t_ms, t0);
	chan_msg_release(&m);
	pair_close_check(&p);
}
END_TEST

/* 0, 1 and 8 fds: each arrives as a new CLOEXEC fd on the same file. */
START_LOOP_TEST(roundtrip_fds, 0, 3)
{
	static const unsigned counts[] = { 0, 1, 8 };
	unsigned n = counts[_i];
	struct pair p;
	struct chan_msg m;
	int fds[8];
	uint8_t pl[40];

	pair_open(&p);
	map_payload(pl);
	for (unsigned i = 0; i < n; i++)
		fds[i] = vt_memfd("test-chan", 4096, 0);
	ck_assert_int_eq(chan_send(&p.b, &(struct proto_hdr){ 9, 1, 40 }, pl, 40,
				   fds, n, chan_deadline(1000)), CHAN_OK);
	ck_assert_int_eq(chan_recv(&p.a, &m, chan_deadline(1000)), CHAN_OK);
	ck_assert_uint_eq(m.nfds, n);
	for (unsigned i = 0; i < n; i++) {
		ck_assert_int_ge(m.fds[i], 0);
		ck_assert(is_cloexec(m.fds[i]));
		same_file(m.fds[i], fds[i]);
		close(fds[i]);
	}
	chan_msg_release(&m);
	pair_close_check(&p);
}
END_TEST

START_TEST(send_nine_fds_refused)
{
	struct pair p;
	struct chan_msg m;
	int fds[9];

	pair_open(&p);
	for (unsigned i = 0; i < 9; i++)
		fds[i] = vt_memfd("test-chan", 4096, 0);
	ck_assert_int_eq(chan_send(&p.b, &(struct proto_hdr){ 9, 1, 0 }, NULL, 0,
				   fds, 9, chan_deadline(1000)),
			 CHAN_TOO_MANY_FDS);
	ck_assert_int_eq(chan_send_raw(&p.b, "x", 1, fds, 9,
				       chan_deadline(1000)), CHAN_TOO_MANY_FDS);
	/* Nothing went out. */
	ck_assert_int_eq(chan_recv(&p.a, &m, chan_deadline(50)), CHAN_TIMEOUT);
	for (unsigned i = 0; i < 9; i++)
		close(fds[i]);
	pair_close_check(&p);
}
END_TEST

/* A peer that sends 9 or more fds: all closed, framing kept. */
START_LOOP_TEST(recv_too_many_fds_closed, 0, 3)
{
	static const unsigned counts[] = { 9, 20, 64 };
	unsigned n = counts[_i];
	struct pair p;
	struct chan_msg m;
	int fds[64];
	uint8_t buf[12 + 40];

	pair_open(&p);
	put_hdr(buf, 9, 1, 40);
	map_payload(buf + 12);
	for (unsigned i = 0; i < n; i++)
		fds[i] = vt_memfd("test-chan", 4096, 0);
	raw_sendmsg(p.b.fd, buf, sizeof(buf), fds, n);
	for (unsigned i = 0; i < n; i++)
		close(fds[i]);
	ck_assert_int_eq(chan_recv(&p.a, &m, chan_deadline(1000)),
			 CHAN_TOO_MANY_FDS);
	ck_assert_uint_eq(m.nfds, 0);
	ck_assert_uint_eq(m.payload_len, 40);
	chan_msg_release(&m);
	/* The next message is read from the right place. */
	ck_assert_int_eq(chan_send(&p.b, &(struct proto_hdr){ 10, 1, 0 }, NULL,
				   0, NULL, 0, chan_deadline(1000)), CHAN_OK);
	ck_assert_int_eq(chan_recv(&p.a, &m, chan_deadline(1000)), CHAN_OK);
	ck_assert_uint_eq(m.hdr.request, 10);
	pair_close_check(&p);
}
END_TEST

/* MSG_CTRUNC for real: with RLIMIT_NOFILE lowered the kernel can install
 * only some of the fds and cuts the rest. All must be closed. */
START_TEST(recv_ctrunc_closes_what_came)
{
	struct pair p;
	struct chan_msg m;
	struct rlimit old, low;
	int fds[4], lowest, st;
	uint8_t buf[12];

	pair_open(&p);
	put_hdr(buf, 9, 1, 0);
	for (unsigned i = 0; i < 4; i++)
		fds[i] = vt_memfd("test-chan", 4096, 0);
	raw_sendmsg(p.b.fd, buf, sizeof(buf), fds, 4);
	lowest = fcntl(0, F_DUPFD_CLOEXEC, 0);
	ck_assert_int_ge(lowest, 0);
	close(lowest);
	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &old), 0);
	low = old;
	low.rlim_cur = (rlim_t)lowest + 2; /* room for two of the four */
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &low), 0);
	st = chan_recv(&p.a, &m, chan_deadline(1000));
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &old), 0);
	ck_assert_int_eq(st, CHAN_TOO_MANY_FDS);
	ck_assert_uint_eq(m.nfds, 0);
	for (unsigned i = 0; i < 4; i++)
		close(fds[i]);
	pair_close_check(&p);
}
END_TEST

/* fds that ride on a later byte than the first are not taken. */
START_TEST(fds_only_on_first_recvmsg)
{
	struct pair p;
	struct chan_msg m;
	uint8_t hdr[12], pl[40];
	int fd;

	pair_open(&p);
	put_hdr(hdr, 9, 1, 40);
	map_payload(pl);
	fd = vt_memfd("test-chan", 4096, 0);
	raw_sendmsg(p.b.fd, hdr, sizeof(hdr), NULL, 0);
	raw_sendmsg(p.b.fd, pl, sizeof(pl), &fd, 1);
	close(fd);
	ck_assert_int_eq(chan_recv(&p.a, &m, chan_deadline(1000)), CHAN_OK);
	ck_assert_uint_eq(m.nfds, 0);
	ck_assert_uint_eq(m.payload_len, 40);
	pair_close_check(&p);
}
END_TEST

struct late_sender {
	int sock;
	const uint8_t *buf;
	size_t len;
	int fd;
};

static void *send_later(void *arg)
{
	struct late_sender *l = arg;
	struct iovec iov = { .iov_base = (void *)l->buf, .iov_len = l->len };
	char ctl[CMSG_SPACE(sizeof(int))];
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = ctl, .msg_controllen = sizeof(ctl) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);

	usleep(300 * 1000); /* the receiver has read the first bytes by now */
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &l->fd, sizeof(int));
	sendmsg(l->sock, &mh, MSG_NOSIGNAL);
	return NULL;
}

/* The header split in two writes, the fd on the second: a receiver that
 * took fds after its first recvmsg() would adopt it. */
START_TEST(fds_on_later_header_bytes_dropped)
{
	struct pair p;
	struct chan_msg m;
	uint8_t buf[12 + 40];
	struct late_sender l;
	pthread_t th;

	pair_open(&p);
	put_hdr(buf, 9, 1, 40);
	map_payload(buf + 12);
	l = (struct late_sender){ p.b.fd, buf + 5, sizeof(buf) - 5,
				  vt_memfd("test-chan", 4096, 0) };
	raw_sendmsg(p.b.fd, buf, 5, NULL, 0);
	ck_assert_int_eq(pthread_create(&th, NULL, send_later, &l), 0);
	ck_assert_int_eq(chan_recv(&p.a, &m, chan_deadline(5000)), CHAN_OK);
	pthread_join(th, NULL);
	ck_assert_uint_eq(m.nfds, 0);
	ck_assert_uint_eq(m.payload_len, 40);
	close(l.fd);
	pair_close_check(&p);
}
END_TEST

START_TEST(send_fds_need_a_byte)
{
	struct pair p;
	int fd;

	pair_open(&p);
	fd = vt_memfd("test-chan", 4096, 0);
	ck_assert_int_eq(chan_send_raw(&p.b, NULL, 0, &fd, 1,
				       chan_deadline(100)), -EINVAL);
	ck_assert_int_eq(chan_send_raw(&p.b, NULL, 0, NULL, 0,
				       chan_deadline(100)), CHAN_OK);
	close(fd);
	pair_close_check(&p);
}
END_TEST

/* A lying size field: the receiver believes the header, as a real one
 * would, and the extra bytes start the next "message". */
START_TEST(send_size_lie)
{
	struct pair p;
	struct chan_msg m;
	uint8_t pl[40];

	pair_open(&p);
	map_payload(pl);
	ck_assert_int_eq(chan_send(&p.b, &(struct proto_hdr){ 9, 1, 20 }, pl, 40,
				   NULL, 0, chan_deadline(1000)), CHAN_OK);
	ck_assert_int_eq(chan_recv(&p.a, &m, chan_deadline(1000)), CHAN_OK);
	ck_assert_uint_eq(m.payload_len, 20);
	ck_assert_int_eq(chan_recv(&p.a, &m, chan_deadline(1000)), CHAN_OK);
	ck_assert_mem_eq(&m.hdr, pl + 20, 12);
	pair_close_check(&p);
}
END_TEST

/* Many messages in one write: each comes out whole, in order. */
START_TEST(back_to_back_messages)
{
	struct pair p;
	struct chan_msg m;
	uint8_t buf[5 * (12 + 40)];

	pair_open(&p);
	for (uint32_t i = 0; i < 5; i++) {
		put_hdr(buf + i * 52, 9, 1, 40);
		memset(buf + i * 52 + 12, (int)i, 40);
	}
	raw_sendmsg(p.b.fd, buf, sizeof(buf), NULL, 0);
	for (uint32_t i = 0; i < 5; i++) {
		ck_assert_int_eq(chan_recv(&p.a, &m, chan_deadline(1000)),
				 CHAN_OK);
		ck_assert_uint_eq(m.payload_len, 40);
		ck_assert_uint_eq(m.payload[39], i);
	}
	ck_assert_int_eq(chan_recv(&p.a, &m, chan_deadline(-1)), CHAN_TIMEOUT);
	pair_close_check(&p);
}
END_TEST

static void count_errors(void *opaque, const char *name, enum chan_dir dir,
			 const struct chan_msg *m, enum chan_status st)
{
	unsigned *n = opaque;

	(void)name;
	(void)dir;
	if (st == CHAN_ERROR && m->errno_value == EBADF)
		(*n)++;
}

START_TEST(bad_fd_is_an_errno)
{
	struct chan c;
	struct chan_msg m;
	unsigned errors = 0;

	chan_init(&c, -1, "main", PROTO_CHAN_MAIN);
	c.trace = count_errors;
	c.trace_opaque = &errors;
	ck_assert_int_eq(chan_send(&c, &(struct proto_hdr){ 1, 1, 0 }, NULL, 0,
				   NULL, 0, chan_deadline(100)), -EBADF);
	ck_assert_int_eq(chan_recv(&c, &m, chan_deadline(100)), -EBADF);
	ck_assert_int_eq(m.errno_value, EBADF);
	ck_assert_uint_eq(errors, 2);
	chan_close(&c);
	ck_assert_int_eq(c.fd, -1);
}
END_TEST

/* ---- ends of streams ---- */

TEST_CASE("stream-ends");

START_TEST(recv_eof)
{
	struct pair p;
	struct chan_msg m;

	pair_open(&p);
	chan_close(&p.b);
	ck_assert_int_eq(chan_recv(&p.a, &m, chan_deadline(1000)), CHAN_EOF);
	ck_assert(!m.hdr_valid);
	ck_assert_uint_eq(m.payload_len, 0);
	pair_close_check(&p);
}
END_TEST

START_TEST(recv_eof_mid_header)
{
	struct pair p;
	struct chan_msg m;
	uint8_t hdr[12];
	int fd;

	pair_open(&p);
	put_hdr(hdr, 9, 1, 40);
	fd = vt_memfd("test-chan", 4096, 0);
	raw_sendmsg(p.b.fd, hdr, 5, &fd, 1);
	close(fd);
	chan_close(&p.b);
	ck_assert_int_eq(chan_recv(&p.a, &m, chan_deadline(1000)),
			 CHAN_TRUNC_HEADER);
	ck_assert(!m.hdr_valid);
	ck_assert_uint_eq(m.hdr.request, 0);
	ck_assert_uint_eq(m.payload_len, 5);
	ck_assert_mem_eq(m.payload, hdr, 5);
	ck_assert_int_eq(m.fds[0], -1); /* closed for us */
	pair_close_check(&p);
}
END_TEST

START_TEST(recv_eof_mid_payload)
{
	struct pair p;
	struct chan_msg m;
	uint8_t buf[12 + 10];
	int fd;

	pair_open(&p);
	put_hdr(buf, 9, 1, 40);
	memset(buf + 12, 0xaa, 10);
	fd = vt_memfd("test-chan", 4096, 0);
	raw_sendmsg(p.b.fd, buf, sizeof(buf), &fd, 1);
	close(fd);
	chan_close(&p.b);
	ck_assert_int_eq(chan_recv(&p.a, &m, chan_deadline(1000)),
			 CHAN_TRUNC_PAYLOAD);
	ck_assert(m.hdr_valid);
	ck_assert_uint_eq(m.hdr.size, 40);
	ck_assert_uint_eq(m.payload_len, 10);
	ck_assert_uint_eq(m.nfds, 1);
	ck_assert_int_eq(m.fds[0], -1);
	pair_close_check(&p);
}
END_TEST

START_TEST(recv_toobig)
{
	struct pair p;
	struct chan_msg m;
	uint8_t hdr[12];
	int fd;

	pair_open(&p);
	put_hdr(hdr, 9, 1, PROTO_MAX_PAYLOAD + 1);
	fd = vt_memfd("test-chan", 4096, 0);
	raw_sendmsg(p.b.fd, hdr, sizeof(hdr), &fd, 1);
	close(fd);
	ck_assert_int_eq(chan_recv(&p.a, &m, chan_deadline(1000)), CHAN_TOOBIG);
	ck_assert(m.hdr_valid);
	ck_assert_uint_eq(m.hdr.size, PROTO_MAX_PAYLOAD + 1);
	ck_assert_uint_eq(m.payload_len, 0);
	pair_close_check(&p);
}
END_TEST

/* A peer that closes with our bytes unread resets the connection. */
START_TEST(recv_reset)
{
	struct pair p;
	struct chan_msg m;

	pair_open(&p);
	ck_assert_int_eq(chan_send(&p.a, &(struct proto_hdr){ 1, 1, 0 }, NULL, 0,
				   NULL, 0, chan_deadline(1000)), CHAN_OK);
	chan_close(&p.b);
	ck_assert_int_eq(chan_recv(&p.a, &m, chan_deadline(1000)), CHAN_RESET);
	pair_close_check(&p);
}
END_TEST

START_TEST(send_to_closed_peer)
{
	struct pair p;
	uint8_t pl[40] = { 0 };

	pair_open(&p);
	chan_close(&p.b);
	/* No SIGPIPE (the test would die), a status instead. */
	ck_assert_int_eq(chan_send(&p.a, &(struct proto_hdr){ 1, 1, 40 }, pl, 40,
				   NULL, 0, chan_deadline(1000)), CHAN_RESET);
	pair_close_check(&p);
}
END_TEST

/* ---- deadlines ---- */

TEST_CASE("deadlines");

START_TEST(recv_timeout_idle)
{
	struct pair p;
	struct chan_msg m;
	int64_t t0, dt;

	pair_open(&p);
	t0 = chan_now_ms();
	ck_assert_int_eq(chan_recv(&p.a, &m, t0 + 200), CHAN_TIMEOUT);
	dt = chan_now_ms() - t0;
	ck_assert_int_ge(dt, 200);
	ck_assert_int_lt(dt, 200 + MARGIN_MS);
	pair_close_check(&p);
}
END_TEST

START_TEST(recv_timeout_mid_message)
{
	struct pair p;
	struct chan_msg m;
	uint8_t buf[12 + 4];
	int64_t t0;

	pair_open(&p);
	raw_sendmsg(p.b.fd, buf, 5, NULL, 0);
	t0 = chan_now_ms();
	ck_assert_int_eq(chan_recv(&p.a, &m, t0 + 100), CHAN_TIMEOUT);
	ck_assert_int_ge(chan_now_ms() - t0, 100);
	ck_assert(!m.hdr_valid);
	ck_assert_uint_eq(m.payload_len, 5);
	/* now the header is whole but the payload is not */
	put_hdr(buf, 9, 1, 40);
	raw_sendmsg(p.a.fd, buf, 16, NULL, 0);
	ck_assert_int_eq(chan_recv(&p.b, &m, chan_deadline(100)), CHAN_TIMEOUT);
	ck_assert(m.hdr_valid);
	ck_assert_uint_eq(m.payload_len, 4);
	pair_close_check(&p);
}
END_TEST

START_TEST(recv_past_deadline_takes_ready_data)
{
	struct pair p;
	struct chan_msg m;

	pair_open(&p);
	ck_assert_int_eq(chan_send(&p.b, &(struct proto_hdr){ 10, 1, 0 }, NULL, 0,
				   NULL, 0, chan_deadline(1000)), CHAN_OK);
	ck_assert_int_eq(chan_recv(&p.a, &m, chan_deadline(-1)), CHAN_OK);
	ck_assert_int_eq(chan_recv(&p.a, &m, chan_deadline(-1)), CHAN_TIMEOUT);
	pair_close_check(&p);
}
END_TEST

START_TEST(send_timeout_when_peer_never_reads)
{
	struct pair p;
	size_t len = 16u << 20;
	uint8_t *big = calloc(1, len);
	int64_t t0 = chan_now_ms();

	pair_open(&p);
	ck_assert_int_eq(chan_send_raw(&p.a, big, len, NULL, 0, t0 + 200),
			 CHAN_TIMEOUT);
	ck_assert_int_ge(chan_now_ms() - t0, 200);
	ck_assert_int_lt(chan_now_ms() - t0, 200 + MARGIN_MS);
	free(big);
	pair_close_check(&p);
}
END_TEST

/* ---- partial writes: a slow reader on the other side ---- */

struct reader {
	int fd;
	size_t want;
	uint8_t *got;
	size_t n;
};

static void *reader_main(void *arg)
{
	struct reader *r = arg;

	while (r->n < r->want) {
		size_t chunk = r->want - r->n < 1000 ? r->want - r->n : 1000;
		ssize_t k;

		if (chan_wait_readable(r->fd, chan_deadline(5000)) != 1)
			break;
		k = read(r->fd, r->got + r->n, chunk);
		if (k <= 0)
			break;
		r->n += (size_t)k;
		if (r->n % 50000 < 1000)
			usleep(1000);
	}
	return NULL;
}

TEST_CASE("messages");

START_TEST(partial_writes_are_completed)
{
	struct pair p;
	size_t len = 2u << 20;
	uint8_t *src = malloc(len);
	struct reader r = { .want = len, .got = calloc(1, len) };
	int small = 4096;
	pthread_t th;

	pair_open(&p);
	for (size_t i = 0; i < len; i++)
		src[i] = (uint8_t)(i * 31 + (i >> 11));
	ck_assert_int_eq(setsockopt(p.a.fd, SOL_SOCKET, SO_SNDBUF, &small,
				    sizeof(small)), 0);
	r.fd = p.b.fd;
	ck_assert_int_eq(pthread_create(&th, NULL, reader_main, &r), 0);
	ck_assert_int_eq(chan_send_raw(&p.a, src, len, NULL, 0,
				       chan_deadline(20000)), CHAN_OK);
	pthread_join(th, NULL);
	ck_assert_uint_eq(r.n, len);
	ck_assert(memcmp(src, r.got, len) == 0);
	free(src);
	free(r.got);
	pair_close_check(&p);
}
END_TEST

/* A whole message through a tiny send buffer, read by chan_recv. */
START_TEST(big_message_small_sndbuf)
{
	struct pair p;
	struct chan_msg m;
	uint8_t *pl = malloc(PROTO_MAX_PAYLOAD);
	int small = 1024, fd;

	pair_open(&p);
	fd = vt_memfd("test-chan", 4096, 0);
	for (size_t i = 0; i < PROTO_MAX_PAYLOAD; i++)
		pl[i] = (uint8_t)i;
	setsockopt(p.b.fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	setsockopt(p.a.fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	ck_assert_int_eq(chan_send(&p.b, &(struct proto_hdr){ 24, 1,
				   PROTO_MAX_PAYLOAD }, pl, PROTO_MAX_PAYLOAD,
				   &fd, 1, chan_deadline(2000)), CHAN_OK);
	ck_assert_int_eq(chan_recv(&p.a, &m, chan_deadline(2000)), CHAN_OK);
	ck_assert_uint_eq(m.payload_len, PROTO_MAX_PAYLOAD);
	ck_assert_mem_eq(m.payload, pl, PROTO_MAX_PAYLOAD);
	ck_assert_uint_eq(m.nfds, 1);
	chan_msg_release(&m);
	close(fd);
	free(pl);
	pair_close_check(&p);
}
END_TEST

/* ---- listen / accept / connect ---- */

TEST_CASE("sockets");

START_TEST(listen_connect_accept)
{
	char path[108];
	int before = fdpool_count_open_fds(), lfd, cfd, sfd, stale;
	struct chan c, s;
	struct chan_msg m;

	vt_tmp_path(path, sizeof(path), "chan.sock");
	stale = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	ck_assert_int_ge(stale, 0); /* a stale path: must be replaced */
	close(stale);
	lfd = chan_listen(path);
	ck_assert_int_ge(lfd, 0);
	ck_assert(is_cloexec(lfd));
	cfd = chan_connect(path, chan_deadline(1000));
	ck_assert_int_ge(cfd, 0);
	sfd = chan_accept(lfd, chan_deadline(1000));
	ck_assert_int_ge(sfd, 0);
	ck_assert(is_cloexec(cfd) && is_cloexec(sfd));
	ck_assert_int_eq(fcntl(cfd, F_GETFL) & O_NONBLOCK, 0);
	chan_init(&c, cfd, "main", PROTO_CHAN_MAIN);
	chan_init(&s, sfd, "main", PROTO_CHAN_MAIN);
	ck_assert_int_eq(chan_send(&c, &(struct proto_hdr){ 15, 1, 0 }, NULL, 0,
				   NULL, 0, chan_deadline(1000)), CHAN_OK);
	ck_assert_int_eq(chan_recv(&s, &m, chan_deadline(1000)), CHAN_OK);
	ck_assert_uint_eq(m.hdr.request, 15);
	chan_close(&c);
	chan_close(&s);
	close(lfd);
	unlink(path);
	ck_assert_int_eq(fdpool_count_open_fds(), before);
}
END_TEST

START_TEST(accept_times_out)
{
	char path[108];
	int before = fdpool_count_open_fds(), lfd;
	int64_t t0;

	vt_tmp_path(path, sizeof(path), "chan.sock");
	lfd = chan_listen(path);
	ck_assert_int_ge(lfd, 0);
	t0 = chan_now_ms();
	ck_assert_int_eq(chan_accept(lfd, t0 + 150), -ETIMEDOUT);
	ck_assert_int_ge(chan_now_ms() - t0, 150);
	ck_assert_int_lt(chan_now_ms() - t0, 150 + MARGIN_MS);
	close(lfd);
	unlink(path);
	ck_assert_int_eq(fdpool_count_open_fds(), before);
}
END_TEST

START_TEST(connect_times_out)
{
	char path[108];
	int before = fdpool_count_open_fds();
	int64_t t0;

	vt_tmp_path(path, sizeof(path), "chan.sock");
	unlink(path);
	t0 = chan_now_ms();
	ck_assert_int_eq(chan_connect(path, t0 + 150), -ETIMEDOUT);
	ck_assert_int_ge(chan_now_ms() - t0, 150);
	ck_assert_int_lt(chan_now_ms() - t0, 150 + MARGIN_MS);
	ck_assert_int_eq(fdpool_count_open_fds(), before);
}
END_TEST

struct late_listener {
	char path[108];
	int lfd;
};

static void *listen_later(void *arg)
{
	struct late_listener *l = arg;

	usleep(150 * 1000);
	l->lfd = chan_listen(l->path);
	return NULL;
}

START_TEST(connect_retries_until_listener)
{
	struct late_listener l;
	int before = fdpool_count_open_fds(), cfd, sfd;
	pthread_t th;

	vt_tmp_path(l.path, sizeof(l.path), "chan.sock");
	unlink(l.path);
	l.lfd = -1;
	ck_assert_int_eq(pthread_create(&th, NULL, listen_later, &l), 0);
	cfd = chan_connect(l.path, chan_deadline(5000));
	pthread_join(th, NULL);
	ck_assert_int_ge(cfd, 0);
	ck_assert_int_ge(l.lfd, 0);
	sfd = chan_accept(l.lfd, chan_deadline(1000));
	ck_assert_int_ge(sfd, 0);
	close(sfd);
	close(cfd);
	close(l.lfd);
	unlink(l.path);
	ck_assert_int_eq(fdpool_count_open_fds(), before);
}
END_TEST

START_TEST(bad_paths)
{
	int before = fdpool_count_open_fds();
	char longp[200];

	memset(longp, 'a', sizeof(longp) - 1);
	longp[sizeof(longp) - 1] = '\0';
	ck_assert_int_eq(chan_listen(longp), -ENAMETOOLONG);
	ck_assert_int_eq(chan_connect(longp, chan_deadline(10)), -ENAMETOOLONG);
	ck_assert_int_eq(chan_listen(""), -ENAMETOOLONG);
	ck_assert_int_lt(chan_listen("/nonexistent-dir-vhu/x.sock"), 0);
	ck_assert_int_eq(chan_accept(-1, chan_deadline(10)), -EBADF);
	ck_assert_int_eq(fdpool_count_open_fds(), before);
}
END_TEST

/* ---- traces ---- */

struct trace_log {
	unsigned n;
	enum chan_dir dir[8];
	enum chan_status st[8];
	uint32_t req[8];
	char line[8][512];
	int64_t t0;
};

static void trace_hook(void *opaque, const char *name, enum chan_dir dir,
		       const struct chan_msg *m, enum chan_status st)
{
	struct trace_log *l = opaque;

	if (l->n >= 8)
		return;
	l->dir[l->n] = dir;
	l->st[l->n] = st;
	l->req[l->n] = m->hdr.request;
	chan_format_trace(l->line[l->n], sizeof(l->line[0]), l->t0, name, dir,
			  m, st);
	l->n++;
}

TEST_CASE("trace");

START_TEST(trace_hook_sees_every_message)
{
	struct pair p;
	struct chan_msg m;
	struct trace_log l = { .t0 = chan_now_ms() };
	uint8_t pl[40];
	int fd;

	pair_open(&p);
	fd = vt_memfd("test-chan", 4096, 0);
	map_payload(pl);
	p.a.trace = trace_hook;
	p.a.trace_opaque = &l;
	p.b.trace = trace_hook;
	p.b.trace_opaque = &l;
	ck_assert_int_eq(chan_send(&p.b, &(struct proto_hdr){ 9, 0x9, 40 }, pl,
				   40, &fd, 1, chan_deadline(1000)), CHAN_OK);
	ck_assert_int_eq(chan_recv(&p.a, &m, chan_deadline(1000)), CHAN_OK);
	chan_msg_release(&m);
	ck_assert_int_eq(chan_recv(&p.a, &m, chan_deadline(20)), CHAN_TIMEOUT);
	ck_assert_uint_eq(l.n, 3);
	ck_assert(l.dir[0] == CHAN_DIR_TX && l.dir[1] == CHAN_DIR_RX);
	ck_assert(l.st[0] == CHAN_OK && l.st[1] == CHAN_OK);
	ck_assert(l.st[2] == CHAN_TIMEOUT);
	ck_assert_ptr_nonnull(strstr(l.line[0], " backend -> SHMEM_MAP "
				     "flags=0x9(v1,NEED_REPLY) size=40 fds=1 "
				     "shmid=0"));
	/* the main chan names id 9 by its own table */
	ck_assert_ptr_nonnull(strstr(l.line[1], " main <- SET_VRING_ADDR"));
	ck_assert_ptr_nonnull(strstr(l.line[2], " main <- TIMEOUT"));
	close(fd);
	pair_close_check(&p);
}
END_TEST

START_TEST(format_trace_lines)
{
	struct chan_msg m;
	char out[512];
	struct proto_mmap mm = { .len = 0x1000, .flags = 1 };

	chan_msg_init(&m);
	m.hdr = (struct proto_hdr){ 9, 0x9, 40 };
	m.hdr_valid = true;
	proto_mmap_encode(&mm, m.payload, sizeof(m.payload));
	m.payload_len = 40;
	m.nfds = 1;
	m.t_ms = 1012;
	chan_format_trace(out, sizeof(out), 1000, "backend", CHAN_DIR_RX, &m,
			  CHAN_OK);
	ck_assert_str_eq(out, "+0.0120s backend <- SHMEM_MAP "
			      "flags=0x9(v1,NEED_REPLY) size=40 fds=1 shmid=0 "
			      "fd_offset=0x0 shm_offset=0x0 len=0x1000 "
			      "flags=0x1(RW)");
	m.payload_len = 10;
	chan_format_trace(out, sizeof(out), 1000, "backend", CHAN_DIR_RX, &m,
			  CHAN_TRUNC_PAYLOAD);
	ck_assert_str_eq(out, "+0.0120s backend <- SHMEM_MAP "
			      "flags=0x9(v1,NEED_REPLY) size=40 fds=1 "
			      "hex=00000000000000000000 [TRUNC_PAYLOAD]");
	m.hdr = (struct proto_hdr){ 77, 0x15, 0 };
	m.payload_len = 0;
	m.nfds = 0;
	chan_format_trace(out, sizeof(out), 0, "main", CHAN_DIR_TX, &m, CHAN_OK);
	ck_assert_str_eq(out, "+1.0120s main -> request_77 "
			      "flags=0x15(v1,REPLY,0x10) size=0 fds=0");
	m.hdr_valid = false;
	m.payload_len = 3;
	chan_format_trace(out, sizeof(out), 1012, "main", CHAN_DIR_RX, &m,
			  CHAN_TRUNC_HEADER);
	ck_assert_str_eq(out, "+0.0000s main <- TRUNC_HEADER after 3 header "
			      "bytes");
}
END_TEST

START_TEST(format_trace_truncates)
{
	struct chan_msg m;
	char out[20];
	char full[512];
	int n;

	chan_msg_init(&m);
	m.hdr = (struct proto_hdr){ 44, 0x1, 0 };
	m.hdr_valid = true;
	n = chan_format_trace(full, sizeof(full), 0, "main", CHAN_DIR_TX, &m,
			      CHAN_OK);
	ck_assert_int_eq(n, (int)strlen(full));
	ck_assert_int_eq(chan_format_trace(out, sizeof(out), 0, "main",
					   CHAN_DIR_TX, &m, CHAN_OK), n);
	ck_assert_uint_eq(strlen(out), sizeof(out) - 1);
	ck_assert(strncmp(out, full, sizeof(out) - 1) == 0);
}
END_TEST
