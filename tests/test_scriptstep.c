/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for harness/engine/scriptstep: the parsers of the steps
 * that act, each on one line's words in a parser context of its own
 * (tests/lib/vhuparse.h): what they fill in, and the error each mistake
 * gets (with the file and line).
 */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "proto.h"
#include "scriptstep.h"
#include "vhuparse.h"
#include "vhutest.h"

static void declare_fd(struct vt_parse *q, const char *name)
{
	snprintf(q->p.fds[q->p.nfds++], FDPOOL_NAME_MAX, "%s", name);
}

static void has_error(const struct vt_parse *q, const char *part)
{
	ck_assert_msg(strstr(q->err, part) != NULL, "errors '%s' lack '%s'",
		      q->err, part);
	ck_assert_msg(strncmp(q->err, "t.vhu:7: ", 9) == 0, "'%s'", q->err);
}

TEST_CASE("fd");

START_TEST(fd_kinds_and_sizes)
{
	struct vt_parse q;

	vt_parse_init(&q, SCRIPT_ROLE_BACKEND, SCRIPT_FD, "a memfd size=2m");
	ck_assert(sstep_fd(&q.p, q.w, q.n));
	ck_assert_str_eq(q.st.u.fd.name, "a");
	ck_assert_int_eq(q.st.u.fd.kind, FDPOOL_MEMFD);
	ck_assert_uint_eq(q.st.u.fd.size, 0x200000);
	ck_assert_uint_eq(q.p.nfds, 1);
	vt_parse_init(&q, SCRIPT_ROLE_BACKEND, SCRIPT_FD, "e memfd-empty");
	ck_assert(sstep_fd(&q.p, q.w, q.n));
	ck_assert_uint_eq(q.st.u.fd.size, 0);
	vt_parse_init(&q, SCRIPT_ROLE_BACKEND, SCRIPT_FD, "p pipe size=4k");
	ck_assert(!sstep_fd(&q.p, q.w, q.n));
	has_error(&q, "unknown argument 'size' for fd");
}
END_TEST

START_TEST(fd_mistakes)
{
	struct vt_parse q;

	vt_parse_init(&q, SCRIPT_ROLE_BACKEND, SCRIPT_FD, "a");
	ck_assert(!sstep_fd(&q.p, q.w, q.n));
	has_error(&q, "usage: fd NAME KIND");
	vt_parse_init(&q, SCRIPT_ROLE_BACKEND, SCRIPT_FD, "a.b memfd");
	ck_assert(!sstep_fd(&q.p, q.w, q.n));
	has_error(&q, "fd name 'a.b'");
	vt_parse_init(&q, SCRIPT_ROLE_BACKEND, SCRIPT_FD, "a hugepage");
	ck_assert(!sstep_fd(&q.p, q.w, q.n));
	has_error(&q, "unknown fd kind 'hugepage'");
	vt_parse_init(&q, SCRIPT_ROLE_BACKEND, SCRIPT_FD, "a memfd");
	declare_fd(&q, "a");
	ck_assert(!sstep_fd(&q.p, q.w, q.n));
	has_error(&q, "fd 'a' declared twice");
	vt_parse_init(&q, SCRIPT_ROLE_BACKEND, SCRIPT_FD, "b memfd");
	q.p.depth = 1;
	ck_assert(!sstep_fd(&q.p, q.w, q.n));
	has_error(&q, "inside a repeat block");
}
END_TEST

TEST_CASE("blocks");

/* repeat/end point at each other; an end without repeat is an error. */
START_TEST(repeat_and_end_pair_up)
{
	struct script_step steps[2] = { { .op = SCRIPT_REPEAT },
					{ .op = SCRIPT_END } };
	struct vt_parse q;

	vt_parse_init(&q, SCRIPT_ROLE_BACKEND, SCRIPT_REPEAT, "3");
	q.c.steps = steps;
	q.c.nsteps = 1;
	q.p.st = &steps[0];
	ck_assert(sstep_repeat(&q.p, q.w, q.n));
	ck_assert_uint_eq(steps[0].count, 3);
	ck_assert_uint_eq(q.p.depth, 1);
	q.c.nsteps = 2;
	q.p.st = &steps[1];
	ck_assert(sstep_end(&q.p, 0));
	ck_assert_uint_eq(steps[0].jump, 1);
	ck_assert_uint_eq(steps[1].jump, 0);
	ck_assert_uint_eq(q.p.depth, 0);
	ck_assert(!sstep_end(&q.p, 0));
	has_error(&q, "'end' without 'repeat'");
	q.c.steps = NULL;
}
END_TEST

START_TEST(sleep_is_bounded)
{
	struct vt_parse q;

	vt_parse_init(&q, SCRIPT_ROLE_BACKEND, SCRIPT_SLEEP, "250");
	ck_assert(sstep_count(&q.p, q.w, q.n, 1000));
	ck_assert_uint_eq(q.st.count, 250);
	vt_parse_init(&q, SCRIPT_ROLE_BACKEND, SCRIPT_SLEEP, "1001");
	ck_assert(!sstep_count(&q.p, q.w, q.n, 1000));
	ck_assert_uint_eq(q.p.nerr, 1);
	vt_parse_init(&q, SCRIPT_ROLE_BACKEND, SCRIPT_SLEEP, "");
	ck_assert(!sstep_count(&q.p, q.w, q.n, 1000));
	ck_assert_uint_eq(q.p.nerr, 1);
}
END_TEST

TEST_CASE("send");

START_TEST(send_map_fields)
{
	struct vt_parse q;
	const struct script_send *s = &q.st.u.send;

	vt_parse_init(&q, SCRIPT_ROLE_BACKEND, SCRIPT_SEND,
		      "map shmid=1 shm_offset=0x2000 len=0x1000 fd_offset=0x4000 "
		      "flags=rw fd=a need_reply");
	declare_fd(&q, "a");
	ck_assert_msg(sstep_send(&q.p, q.w, q.n), "%s", q.err);
	ck_assert_int_eq(s->kind, SCRIPT_SEND_MAP);
	ck_assert_uint_eq(s->request, PROTO_BE_SHMEM_MAP);
	ck_assert_uint_eq(s->shmid, 1);
	ck_assert_uint_eq(s->shm_offset, 0x2000);
	ck_assert_uint_eq(s->len, 0x1000);
	ck_assert_uint_eq(s->fd_offset, 0x4000);
	ck_assert(s->need_reply);
	ck_assert_uint_eq(s->nfds, 1);
	ck_assert_str_eq(s->fds[0], "a");
	ck_assert_int_eq(q.st.on, SCRIPT_BACKEND);
}
END_TEST

START_TEST(send_named_and_undeclared_fd)
{
	struct vt_parse q;

	vt_parse_init(&q, SCRIPT_ROLE_BACKEND, SCRIPT_SEND, "unmap shmid=0 "
		      "shm_offset=0 len=0x1000");
	ck_assert_msg(sstep_send(&q.p, q.w, q.n), "%s", q.err);
	ck_assert_int_eq(q.st.u.send.kind, SCRIPT_SEND_UNMAP);
	ck_assert(!q.st.u.send.need_reply);
	vt_parse_init(&q, SCRIPT_ROLE_FRONTEND, SCRIPT_SEND, "GET_SHMEM_CONFIG");
	ck_assert_msg(sstep_send(&q.p, q.w, q.n), "%s", q.err);
	ck_assert_int_eq(q.st.u.send.kind, SCRIPT_SEND_NAMED);
	ck_assert_uint_eq(q.st.u.send.request, PROTO_GET_SHMEM_CONFIG);
	ck_assert_int_eq(q.st.on, SCRIPT_MAIN);
	vt_parse_init(&q, SCRIPT_ROLE_BACKEND, SCRIPT_SEND, "map shmid=0 "
		      "shm_offset=0 len=0x1000 fd=ghost");
	ck_assert(!sstep_send(&q.p, q.w, q.n));
	has_error(&q, "ghost");
}
END_TEST

TEST_CASE("handshake");

START_TEST(handshake_regions_and_switches)
{
	struct vt_parse q;
	const struct script_handshake *h = &q.st.u.hs;

	vt_parse_init(&q, SCRIPT_ROLE_BACKEND, SCRIPT_HANDSHAKE,
		      "shmem-bit=20 regions=1m,64k start=no");
	ck_assert_msg(sstep_handshake(&q.p, q.w, q.n), "%s", q.err);
	ck_assert(h->has_shmem_bit);
	ck_assert_uint_eq(h->shmem_bit, 20);
	ck_assert_uint_eq(h->nsizes, 2);
	ck_assert_uint_eq(q.st.list[0], 0x100000);
	ck_assert_uint_eq(q.st.list[1], 0x10000);
	ck_assert(!h->start);
	vt_parse_free(&q);
	vt_parse_init(&q, SCRIPT_ROLE_BACKEND, SCRIPT_HANDSHAKE, "shmem=off");
	ck_assert_msg(sstep_handshake(&q.p, q.w, q.n), "%s", q.err);
	ck_assert_int_eq(h->shmem, SCRIPT_SHMEM_OFF);
	ck_assert(h->start);
	vt_parse_free(&q);
	vt_parse_init(&q, SCRIPT_ROLE_BACKEND, SCRIPT_HANDSHAKE, "shmem=maybe");
	ck_assert(!sstep_handshake(&q.p, q.w, q.n));
	has_error(&q, "maybe");
	vt_parse_free(&q);
}
END_TEST

TEST_CASE("control");

START_TEST(control_line_and_expectation)
{
	struct vt_parse q;

	/* The harness as front-end: the target is a back-end that maps. */
	vt_parse_init(&q, SCRIPT_ROLE_FRONTEND, SCRIPT_CONTROL,
		      "unmap shmid=0 shm_offset=0 len=0x1000 need_reply=1 expect=err");
	q.c.requires_control = true;
	ck_assert_msg(sstep_control(&q.p, q.w, q.n), "%s", q.err);
	ck_assert_str_eq(q.st.u.control.line, "unmap shmid=0 shm_offset=0 len=0x1000 "
			 "need_reply=1");
	ck_assert_int_eq(q.st.u.control.expect, SCRIPT_CTL_ERR);
	vt_parse_init(&q, SCRIPT_ROLE_BACKEND, SCRIPT_CONTROL, "unmap shmid=0");
	q.c.requires_control = true;
	ck_assert(!sstep_control(&q.p, q.w, q.n));
	has_error(&q, "not a command of a front-end target");
	vt_parse_init(&q, SCRIPT_ROLE_BACKEND, SCRIPT_CONTROL, "");
	ck_assert(!sstep_control(&q.p, q.w, q.n));
	ck_assert_uint_eq(q.p.nerr, 1);
}
END_TEST

TEST_CASE("hold");

/* hold/release are the back-end model's: the harness as back-end only. */
START_TEST(hold_names_requests_backend_only)
{
	struct vt_parse q;

	vt_parse_init(&q, SCRIPT_ROLE_BACKEND, SCRIPT_HOLD,
		      "main SET_MEM_TABLE|ADD_MEM_REG");
	ck_assert_msg(sstep_hold(&q.p, q.w, q.n), "%s", q.err);
	ck_assert_uint_eq(q.st.u.hold.nreq, 2);
	ck_assert_uint_eq(q.st.u.hold.req[0], PROTO_SET_MEM_TABLE);
	ck_assert_uint_eq(q.st.u.hold.req[1], PROTO_ADD_MEM_REG);
	ck_assert_int_eq(q.st.on, SCRIPT_MAIN);
	vt_parse_init(&q, SCRIPT_ROLE_FRONTEND, SCRIPT_HOLD, "main SET_MEM_TABLE");
	ck_assert(!sstep_hold(&q.p, q.w, q.n));
	ck_assert_uint_eq(q.p.nerr, 1);
	vt_parse_init(&q, SCRIPT_ROLE_BACKEND, SCRIPT_RELEASE, "main");
	ck_assert_msg(sstep_release(&q.p, q.w, q.n), "%s", q.err);
	vt_parse_init(&q, SCRIPT_ROLE_BACKEND, SCRIPT_RELEASE, "backend");
	ck_assert(!sstep_release(&q.p, q.w, q.n));
	ck_assert_uint_eq(q.p.nerr, 1);
}
END_TEST

START_TEST(mark_needs_pid)
{
	struct vt_parse q;

	vt_parse_init(&q, SCRIPT_ROLE_BACKEND, SCRIPT_MARK, "");
	ck_assert(!sstep_mark(&q.p, 0));
	has_error(&q, "requires pid");
	vt_parse_init(&q, SCRIPT_ROLE_BACKEND, SCRIPT_MARK, "");
	q.c.requires_pid = true;
	ck_assert(sstep_mark(&q.p, 0));
	ck_assert(q.p.marked);
	ck_assert(!sstep_mark(&q.p, 1));
	has_error(&q, "'mark' takes no arguments");
}
END_TEST
