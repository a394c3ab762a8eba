/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for targets/ref/refwait: the reference targets' waits, each
 * ended at once by a readable cancel fd (a pipe here, a signalfd in the
 * programs), on real socketpairs: whole messages only, half messages
 * gated, sends and connects that give up on cancel.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "chan.h"
#include "proto.h"
#include "refwait.h"
#include "vhutest.h"

struct cancel {
	int r, w;
};

static struct cancel cancel_open(void)
{
	int p[2];
	struct cancel c;

	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	c.r = p[0];
	c.w = p[1];
	return c;
}

static void cancel_fire(struct cancel *c)
{
	ck_assert_int_eq(write(c->w, "x", 1), 1);
}

static void cancel_close(struct cancel *c)
{
	close(c->r);
	close(c->w);
}

/* The bytes of a GET_FEATURES reply (header and u64). */
static size_t encoded(uint8_t *out)
{
	struct proto_hdr h = { PROTO_GET_FEATURES, PROTO_VERSION | PROTO_F_REPLY, 8 };

	proto_hdr_encode(&h, out, PROTO_HDR_SIZE);
	proto_u64_encode(7, out + PROTO_HDR_SIZE, 8);
	return PROTO_HDR_SIZE + 8;
}

TEST_CASE("cancel");

START_TEST(cancel_fd_ends_every_wait)
{
	struct cancel k = cancel_open();
	struct chan a, b;
	struct chan_msg m;
	struct pollfd p;
	struct proto_hdr h = { PROTO_GET_FEATURES, PROTO_VERSION, 0 };

	vt_chan_pair(&a, &b);
	ck_assert(!refwait_cancelled(k.r));
	ck_assert(!refwait_cancelled(-1));
	cancel_fire(&k);
	ck_assert(refwait_cancelled(k.r));
	p.fd = b.fd;
	p.events = POLLIN;
	ck_assert_int_eq(refwait_poll(&p, 1, k.r, chan_deadline(5000)), -ECANCELED);
	chan_msg_init(&m);
	ck_assert_int_eq(refwait_recv(&b, &m, k.r, chan_deadline(5000)), -ECANCELED);
	chan_msg_release(&m);
	/* A send waits only when there is no room: fill the socket first. */
	{
		static const uint8_t junk[4096];

		while (send(a.fd, junk, sizeof(junk), MSG_DONTWAIT) > 0)
			;
	}
	ck_assert_int_eq(refwait_send(&a, &h, NULL, 0, NULL, 0, k.r,
				      chan_deadline(5000)), -ECANCELED);
	ck_assert_int_eq(refwait_connect("/nonexistent/vhu.sock", k.r,
					 chan_deadline(5000)), -ECANCELED);
	chan_close(&a);
	chan_close(&b);
	cancel_close(&k);
}
END_TEST

/* Without a cancel: the plain waits, with their deadlines. */
START_TEST(plain_waits_keep_their_deadlines)
{
	struct chan a, b;
	struct chan_msg m;
	struct pollfd p[2];
	struct proto_hdr h = { PROTO_GET_FEATURES, PROTO_VERSION | PROTO_F_REPLY, 8 };
	uint8_t v[8] = { 7 };

	vt_chan_pair(&a, &b);
	p[0].fd = b.fd;
	p[0].events = POLLIN;
	p[1].fd = -1;
	p[1].events = POLLIN;
	ck_assert_int_eq(refwait_poll(p, 2, -1, chan_now_ms() + 10), 0);
	ck_assert_int_eq(refwait_send(&a, &h, v, sizeof(v), NULL, 0, -1,
				      chan_deadline(5000)), CHAN_OK);
	ck_assert_int_eq(refwait_poll(p, 2, -1, chan_deadline(5000)), 1);
	ck_assert(p[0].revents & POLLIN);
	chan_msg_init(&m);
	ck_assert_int_eq(refwait_recv(&b, &m, -1, chan_deadline(5000)), CHAN_OK);
	ck_assert_uint_eq(m.hdr.request, PROTO_GET_FEATURES);
	chan_msg_release(&m);
	ck_assert_int_eq(refwait_connect("/nonexistent/vhu.sock", -1,
					 chan_now_ms() + 30), -ETIMEDOUT);
	chan_close(&a);
	chan_close(&b);
}
END_TEST

TEST_CASE("whole-messages");

/* Half a message is not whole; the rest makes it so; EOF counts too. */
START_TEST(whole_message_needs_every_byte)
{
	uint8_t buf[64];
	size_t n = encoded(buf);
	int sv[2];

	vt_socketpair(sv);
	ck_assert(!refwait_whole_message(sv[1]));
	ck_assert_int_eq(write(sv[0], buf, 5), 5);
	ck_assert(!refwait_whole_message(sv[1]));
	ck_assert_int_eq(write(sv[0], buf + 5, PROTO_HDR_SIZE - 5), PROTO_HDR_SIZE - 5);
	ck_assert(!refwait_whole_message(sv[1]));
	ck_assert_int_eq(write(sv[0], buf + PROTO_HDR_SIZE, n - PROTO_HDR_SIZE),
			 (ssize_t)(n - PROTO_HDR_SIZE));
	ck_assert(refwait_whole_message(sv[1]));
	close(sv[0]);
	ck_assert(refwait_whole_message(sv[1]));
	close(sv[1]);
}
END_TEST

/* The event loop's gate: a part waits (LATER), poll only for the close
 * and in short slices; after limit_ms it is read as it is (OVERDUE). */
START_TEST(gate_holds_a_half_message_until_overdue)
{
	struct refwait_gate g = { .fd = -1 };
	uint8_t buf[64];
	int sv[2];

	encoded(buf);
	vt_socketpair(sv);
	ck_assert_int_eq(refwait_gate_check(&g, sv[1], 1000), REFWAIT_LATER);
	ck_assert_int_eq(refwait_gate_events(&g, sv[1]), POLLIN);
	ck_assert_int_eq(write(sv[0], buf, 6), 6);
	ck_assert_int_eq(refwait_gate_check(&g, sv[1], 1000), REFWAIT_LATER);
	ck_assert_int_ne(g.since, 0);
	ck_assert_int_eq(refwait_gate_events(&g, sv[1]), POLLRDHUP);
	ck_assert_int_lt(refwait_gate_timeout(&g, sv[1], 1000), 1000);
	ck_assert_int_eq(refwait_gate_check(&g, sv[1], 0), REFWAIT_READ_OVERDUE);
	ck_assert_int_eq(g.since, 0);
	ck_assert_int_eq(write(sv[0], buf + 6, PROTO_HDR_SIZE + 8 - 6),
			 PROTO_HDR_SIZE + 8 - 6);
	ck_assert_int_eq(refwait_gate_check(&g, sv[1], 1000), REFWAIT_READ);
	ck_assert_int_eq(refwait_gate_timeout(&g, sv[1], 1000), 1000);
	close(sv[0]);
	close(sv[1]);
}
END_TEST
