/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for targets/ref/refmain: what both reference programs share
 * besides their handlers: the common options, the protocol features
 * they offer, the connection check, the signalfd, and the control line
 * (version negotiation, dispatch, answers) on a real socketpair.
 */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "proto.h"
#include "refmain.h"
#include "vhutest.h"

/* One option as getopt_long hands it over: 1 taken, 0 not common, -1. */
static int opt(struct refmain_opts *o, const char *name, const char *arg)
{
	return refmain_common_opt(o, name, arg, FAULT_ROLE_BACKEND);
}

TEST_CASE("options");

START_TEST(common_options_fill_the_options)
{
	struct refmain_opts o;

	refmain_opts_init(&o, "vhu-ref-backend");
	ck_assert_int_eq(o.fd, -1);
	ck_assert_int_eq(o.control_fd, -1);
	ck_assert_int_eq(opt(&o, "fd", "5"), 1);
	ck_assert_int_eq(o.fd, 5);
	ck_assert_int_eq(opt(&o, "control-fd", "6"), 1);
	ck_assert_int_eq(o.control_fd, 6);
	ck_assert_int_eq(opt(&o, "shmem-bit", "20"), 1);
	ck_assert_uint_eq(o.shmem_bit, 20);
	ck_assert_int_eq(opt(&o, "reply-timeout", "250"), 1);
	ck_assert_int_eq(o.reply_timeout_ms, 250);
	ck_assert_int_eq(opt(&o, "no-reply-ack", NULL), 1);
	ck_assert(o.no_reply_ack);
	ck_assert_int_eq(opt(&o, "announce", "on"), 0);   /* not a common one */
}
END_TEST

START_TEST(bad_values_are_refused)
{
	struct refmain_opts o;

	refmain_opts_init(&o, "vhu-ref-backend");
	ck_assert_int_eq(opt(&o, "fd", "-1"), -1);
	ck_assert_int_eq(opt(&o, "fd", "five"), -1);
	ck_assert_int_eq(opt(&o, "shmem-bit", "64"), -1);
	ck_assert_int_eq(opt(&o, "reply-timeout", "0"), -1);
	ck_assert_int_eq(opt(&o, "fault", "no_such_fault"), -1);
	for (unsigned i = 0; i < 16; i++)
		ck_assert_int_eq(opt(&o, "disable", "REPLY_ACK"), 1);
	ck_assert_int_eq(opt(&o, "disable", "REPLY_ACK"), -1);
}
END_TEST

/* What the program offers: its supported set less what it was told to
 * drop. */
START_TEST(pfeatures_less_what_is_turned_off)
{
	struct refmain_opts o;
	uint64_t all = 1ull << PROTO_PF_REPLY_ACK | 1ull << PROTO_PF_BACKEND_REQ |
		       1ull << 22, out = 0;

	refmain_opts_init(&o, "p");
	o.shmem_bit = 22;
	ck_assert_int_eq(refmain_pfeatures(&o, all, &out), 0);
	ck_assert_uint_eq(out, all);
	ck_assert_int_eq(opt(&o, "no-shmem", NULL), 1);
	ck_assert_int_eq(opt(&o, "disable", "BACKEND_REQ"), 1);
	ck_assert_int_eq(refmain_pfeatures(&o, all, &out), 0);
	ck_assert_uint_eq(out, 1ull << PROTO_PF_REPLY_ACK);
	ck_assert_int_eq(opt(&o, "disable", "NOT_A_FEATURE"), 1);
	ck_assert_int_eq(refmain_pfeatures(&o, all, &out), -1);
}
END_TEST

/* Exactly one of --fd and --socket-path, and the fds must be open. */
START_TEST(connection_check)
{
	struct refmain_opts o;
	int sv[2];

	vt_socketpair(sv);
	refmain_opts_init(&o, "p");
	ck_assert_int_eq(refmain_check_connection(&o, 1, 1), -1);
	o.fd = sv[0];
	ck_assert_int_eq(refmain_check_connection(&o, 1, 1), 0);
	ck_assert_int_eq(refmain_check_connection(&o, 1, 2), -1);  /* a stray word */
	o.socket_path = "/tmp/x.sock";
	ck_assert_int_eq(refmain_check_connection(&o, 1, 1), -1);
	o.socket_path = NULL;
	o.control_fd = sv[1];
	close(sv[1]);
	ck_assert_int_eq(refmain_check_connection(&o, 1, 1), -1);
	ck_assert_int_eq(refmain_check_fd("--fd", -1), 0);
	close(sv[0]);
}
END_TEST

TEST_CASE("signals");

/* SIGTERM becomes a readable signalfd, read once. */
START_TEST(sigterm_reaches_the_signalfd)
{
	int sfd = refmain_signalfd();

	ck_assert_int_ge(sfd, 0);
	ck_assert(!refmain_signalled(sfd));
	ck_assert_int_eq(kill(getpid(), SIGTERM), 0);
	ck_assert(refmain_signalled(sfd));
	ck_assert(!refmain_signalled(sfd));
	close(sfd);
}
END_TEST

TEST_CASE("control");

START_TEST(version_is_the_lower_of_both)
{
	struct ctl_cmd cmd;
	char err[128], got[128];
	int sv[2];

	vt_socketpair(sv);
	ck_assert_int_eq(ctl_parse("version 7", &cmd, err, sizeof(err)), 0);
	ck_assert_int_eq(refmain_on_version(&cmd, sv[0]), REFMAIN_CTL_VERSION);
	vt_read_some(sv[1], got, sizeof(got));
	ck_assert_str_eq(got, "ok version=2\n");
	ck_assert_int_eq(ctl_parse("version 1", &cmd, err, sizeof(err)), 0);
	ck_assert_int_eq(refmain_on_version(&cmd, sv[0]), 1);
	vt_read_some(sv[1], got, sizeof(got));
	ck_assert_str_eq(got, "ok version=1\n");
	ck_assert_int_eq(ctl_parse("version 0", &cmd, err, sizeof(err)), 0);
	ck_assert_int_eq(refmain_on_version(&cmd, sv[0]), -1);
	vt_read_some(sv[1], got, sizeof(got));
	ck_assert_ptr_nonnull(strstr(got, "err version: usage"));
	refmain_unsupported(sv[0], "no reset here");
	vt_read_some(sv[1], got, sizeof(got));
	ck_assert_str_eq(got, "err unsupported: no reset here\n");
	close(sv[0]);
	close(sv[1]);
}
END_TEST

struct seen {
	char names[4][CTL_WORD_MAX];
	unsigned n;
};

/* Takes every command; `quit` ends the serving. */
static bool take(void *opaque, const struct ctl_cmd *cmd, int ctl_fd)
{
	struct seen *s = opaque;

	if (s->n < 4)
		snprintf(s->names[s->n++], sizeof(s->names[0]), "%s", cmd->name);
	refmain_ok(ctl_fd, NULL);
	return strcmp(cmd->name, "quit") != 0;
}

/* Lines dispatched in order; a blank one ignored, a bad one answered
 * err; `quit` (the callback says so) or EOF ends it. */
START_TEST(lines_are_dispatched_in_order)
{
	struct ctl_reader r;
	struct seen s = { .n = 0 };
	char got[256];
	int sv[2];

	vt_socketpair(sv);
	ctl_reader_init(&r, sv[0]);
	ck_assert_int_eq(write(sv[1], "dump\n\nmap shmid=0\n", 18), 18);
	ck_assert_int_eq(refmain_serve_control(&r, take, &s), 1);
	ck_assert_uint_eq(s.n, 2);
	ck_assert_str_eq(s.names[0], "dump");
	ck_assert_str_eq(s.names[1], "map");
	vt_read_some(sv[1], got, sizeof(got));
	ck_assert_ptr_nonnull(strstr(got, "ok"));
	ck_assert_int_eq(write(sv[1], "quit\n", 5), 5);
	ck_assert_int_eq(refmain_serve_control(&r, take, &s), 0);
	ck_assert_str_eq(s.names[2], "quit");
	vt_read_some(sv[1], got, sizeof(got));  /* unread, the close is a reset */
	close(sv[1]);
	ck_assert_int_eq(refmain_serve_control(&r, take, &s), 0);
	close(sv[0]);
}
END_TEST
