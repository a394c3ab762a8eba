/* SPDX-License-Identifier: MIT */
/* Unit tests for harness/engine/sendwide: one message with more fds than
 * chan allows, over a real socketpair, read back with recvmsg. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "chan.h"
#include "script.h"
#include "sendwide.h"
#include "vhutest.h"

/* Reads one message of len bytes and its fds (up to max) from fd. */
static ssize_t recv_wide(int fd, void *buf, size_t len, int *fds,
			 unsigned max, unsigned *nfds)
{
	union {
		struct cmsghdr align;
		char b[CMSG_SPACE(sizeof(int) * SCRIPT_MAX_SEND_FDS)];
	} ctl;
	struct iovec iov = { buf, len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = ctl.b,
			     .msg_controllen = sizeof(ctl.b) };
	struct cmsghdr *cm;
	ssize_t n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);

	*nfds = 0;
	ck_assert(!(mh.msg_flags & MSG_CTRUNC));
	for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		unsigned k = (unsigned)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));

		ck_assert_int_eq(cm->cmsg_type, SCM_RIGHTS);
		ck_assert_uint_le(*nfds + k, max);
		memcpy(fds + *nfds, CMSG_DATA(cm), k * sizeof(int));
		*nfds += k;
	}
	return n;
}

TEST_CASE("send");

START_TEST(sixteen_fds_arrive_with_the_bytes)
{
	int sv[2], fds[SCRIPT_MAX_SEND_FDS], got[SCRIPT_MAX_SEND_FDS];
	uint8_t msg[PROTO_HDR_SIZE + 8], in[sizeof(msg)];
	unsigned n;

	ck_assert_int_eq(chan_socketpair(sv), 0);
	for (unsigned i = 0; i < SCRIPT_MAX_SEND_FDS; i++) {
		fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
		ck_assert_int_ge(fds[i], 0);
	}
	for (size_t i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)(i * 7 + 1);
	ck_assert_int_eq(sendwide_send(sv[0], msg, sizeof(msg), fds,
				       SCRIPT_MAX_SEND_FDS,
				       chan_deadline(1000)), CHAN_OK);
	ck_assert_int_eq(recv_wide(sv[1], in, sizeof(in), got,
				   SCRIPT_MAX_SEND_FDS, &n), (ssize_t)sizeof(in));
	ck_assert_uint_eq(n, SCRIPT_MAX_SEND_FDS);
	ck_assert_mem_eq(in, msg, sizeof(msg));
	for (unsigned i = 0; i < n; i++) {
		ck_assert_int_ge(fcntl(got[i], F_GETFD), 0);
		close(got[i]);
	}
	for (unsigned i = 0; i < SCRIPT_MAX_SEND_FDS; i++)
		close(fds[i]);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

START_TEST(too_many_fds_or_nothing_refused)
{
	int sv[2], fds[SCRIPT_MAX_SEND_FDS + 1];
	uint8_t msg[PROTO_HDR_SIZE] = { 0 };

	ck_assert_int_eq(chan_socketpair(sv), 0);
	for (unsigned i = 0; i <= SCRIPT_MAX_SEND_FDS; i++)
		fds[i] = sv[0];
	ck_assert_int_eq(sendwide_send(sv[0], msg, sizeof(msg), fds,
				       SCRIPT_MAX_SEND_FDS + 1,
				       chan_deadline(100)), -EINVAL);
	ck_assert_int_eq(sendwide_send(sv[0], msg, 0, fds, 9,
				       chan_deadline(100)), -EINVAL);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

START_TEST(closed_peer_is_a_reset)
{
	int sv[2], fds[9];
	uint8_t msg[PROTO_HDR_SIZE] = { 0 };

	ck_assert_int_eq(chan_socketpair(sv), 0);
	for (unsigned i = 0; i < 9; i++)
		fds[i] = sv[0];
	close(sv[1]);
	ck_assert_int_eq(sendwide_send(sv[0], msg, sizeof(msg), fds, 9,
				       chan_deadline(100)), CHAN_RESET);
	close(sv[0]);
}
END_TEST
