/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for harness/engine/splitsend: `reply split=N pause=MS`, one
 * message in two writes on a real unix stream socket. A read on such a
 * socket stops where a write carrying fds ended, so the first part can
 * be seen on its own, with the fds.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "splitsend.h"
#include "vhurun.h"
#include "vhutest.h"

/* One recvmsg: the bytes (into buf) and how many fds came with them. */
static ssize_t recv_part(int fd, uint8_t *buf, size_t cap, unsigned *nfds)
{
	union {
		char b[CMSG_SPACE(8 * sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { buf, cap };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = u.b, .msg_controllen = sizeof(u.b) };
	ssize_t n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);

	*nfds = 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		for (size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
			int got;

			memcpy(&got, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			close(got);
			(*nfds)++;
		}
	}
	return n;
}

static const struct proto_hdr reply = { PROTO_BE_SHMEM_MAP,
					 PROTO_VERSION | PROTO_F_REPLY, 8 };
static const uint8_t value[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };

TEST_CASE("splitsend");

START_TEST(split_header_arrives_in_two_parts_fds_first)
{
	struct vt_run *t = vt_run_new(SCRIPT_ROLE_FRONTEND);
	uint8_t buf[64], want[PROTO_HDR_SIZE + 8];
	int fd = vt_memfd("vhu-test-split", 4096, 0);
	unsigned nfds;

	vt_run_backend(t);
	proto_hdr_encode(&reply, want, sizeof(want));
	memcpy(want + PROTO_HDR_SIZE, value, sizeof(value));
	ck_assert_int_eq(splitsend_msg(&t->x, SCRIPT_BACKEND, &reply, value,
				       sizeof(value), &fd, 1, 5, 10), 0);
	close(fd);
	ck_assert_int_eq(recv_part(t->peer_backend.fd, buf, sizeof(buf), &nfds), 5);
	ck_assert_uint_eq(nfds, 1);
	ck_assert_mem_eq(buf, want, 5);
	ck_assert_int_eq(recv_part(t->peer_backend.fd, buf, sizeof(buf), &nfds),
			 (ssize_t)sizeof(want) - 5);
	ck_assert_uint_eq(nfds, 0);
	ck_assert_mem_eq(buf, want + 5, sizeof(want) - 5);
	vt_run_free(t);
}
END_TEST

/* A split at or past the end sends the message whole: one read. */
START_TEST(split_past_the_end_is_one_write)
{
	struct vt_run *t = vt_run_new(SCRIPT_ROLE_FRONTEND);
	uint8_t buf[64];
	int fd = vt_memfd("vhu-test-split", 4096, 0);
	unsigned nfds;

	ck_assert_int_eq(splitsend_msg(&t->x, SCRIPT_MAIN, &reply, value,
				       sizeof(value), &fd, 1,
				       PROTO_HDR_SIZE + 8, 1000), 0);
	close(fd);
	ck_assert_int_eq(recv_part(t->peer_main.fd, buf, sizeof(buf), &nfds),
			 PROTO_HDR_SIZE + 8);
	ck_assert_uint_eq(nfds, 1);
	vt_run_free(t);
}
END_TEST

/* What the target sends during the pause is served (logged) as in a
 * `sleep`. */
START_TEST(pause_serves_the_channels)
{
	struct vt_run *t = vt_run_new(SCRIPT_ROLE_FRONTEND);
	struct proto_hdr h = { PROTO_GET_FEATURES, PROTO_VERSION | PROTO_F_REPLY, 8 };
	uint8_t buf[64];
	unsigned nfds;
	ssize_t n, total = 0;

	ck_assert_int_eq(chan_send(&t->peer_main, &h, value, sizeof(value), NULL, 0,
				   chan_deadline(3000)), CHAN_OK);
	ck_assert_int_eq(splitsend_msg(&t->x, SCRIPT_MAIN, &reply, value,
				       sizeof(value), NULL, 0, 3, 20), 0);
	ck_assert_uint_eq(t->x.s.nlog, 1);
	ck_assert_uint_eq(t->x.s.log[0].hdr.request, PROTO_GET_FEATURES);
	while ((n = recv_part(t->peer_main.fd, buf, sizeof(buf), &nfds)) > 0)
		total += n;
	ck_assert_int_eq(total, PROTO_HDR_SIZE + 8);
	vt_run_free(t);
}
END_TEST

/* SIGINT during the pause: the rest is not sent, the case stops. */
START_TEST(cancel_during_the_pause)
{
	struct vt_run *t = vt_run_new(SCRIPT_ROLE_FRONTEND);
	uint8_t buf[64];
	unsigned nfds;
	int p[2];

	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	t->x.s.cancel_fd = p[0];
	ck_assert_int_eq(write(p[1], "x", 1), 1);
	ck_assert_int_eq(splitsend_msg(&t->x, SCRIPT_MAIN, &reply, value,
				       sizeof(value), NULL, 0, 4, 1000), -ECANCELED);
	ck_assert(t->x.interrupted);
	ck_assert_int_eq(recv_part(t->peer_main.fd, buf, sizeof(buf), &nfds), 4);
	ck_assert_int_eq(recv_part(t->peer_main.fd, buf, sizeof(buf), &nfds), -1);
	close(p[0]);
	close(p[1]);
	vt_run_free(t);
}
END_TEST

START_TEST(oversized_payload_is_refused)
{
	struct vt_run *t = vt_run_new(SCRIPT_ROLE_FRONTEND);
	static uint8_t big[8193];
	struct proto_hdr h = { PROTO_BE_SHMEM_MAP, PROTO_VERSION, sizeof(big) };

	ck_assert_int_eq(splitsend_msg(&t->x, SCRIPT_MAIN, &h, big, sizeof(big),
				       NULL, 0, 4, 0), -EMSGSIZE);
	vt_run_free(t);
}
END_TEST
