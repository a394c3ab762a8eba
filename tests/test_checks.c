/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for harness/engine/checks: the `check` steps and `mark` on
 * their own. The /proc oracles look at a real process: this test program
 * itself stands in for the target (x.pid), mapping and holding the pool's
 * fds as a target would; liveness is judged on a real child and on the
 * main channel's socketpair.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "checks.h"
#include "proto.h"
#include "vhurun.h"
#include "vhutest.h"

#define HDR "id t\ntitle t\ntarget backend\nrule r\nlevel MUST\n"

/* A run whose target is this process, with memfd `a` (64k) in its pool;
 * the current step is the first of STEPS (step 1, after `fd a`). */
static struct vt_run *self_target(const char *steps)
{
	char text[1024];
	struct vt_run *t;

	snprintf(text, sizeof(text), HDR "requires pid\nfd a memfd size=64k\n%s", steps);
	t = vt_run_case(text);
	vt_run_at(t, 1);
	fdpool_init(&t->x.pool, "chk");
	t->x.pool_ready = true;
	ck_assert_int_ge(fdpool_add(&t->x.pool, "a", FDPOOL_MEMFD, 0x10000), 0);
	t->x.pid = getpid();
	return t;
}

static void done(struct vt_run *t)
{
	if (t->x.pool_ready)
		fdpool_free(&t->x.pool);
	vt_run_free(t);
}

static void assert_passed(const struct vt_run *t)
{
	ck_assert_msg(t->r.nfailures == 0 && !t->x.aborted,
		      "failed: expected '%s', observed '%s' (%s)",
		      t->r.failures[0].expected, t->r.failures[0].observed,
		      t->r.reason);
}

static void assert_failed(const struct vt_run *t, const char *observed_part)
{
	ck_assert_uint_eq(t->r.nfailures, 1);
	ck_assert_msg(strstr(t->r.failures[0].observed, observed_part) != NULL,
		      "observed '%s' lacks '%s'", t->r.failures[0].observed,
		      observed_part);
}

TEST_CASE("alive");

START_TEST(alive_while_the_main_channel_is_open)
{
	struct vt_run *t = vt_run_case(HDR "check alive\n");

	checks_run(&t->x);
	assert_passed(t);
	chan_close(&t->peer_main);
	checks_run(&t->x);
	assert_failed(t, "the main channel is closed");
	done(t);
}
END_TEST

START_TEST(a_target_that_exited_is_not_alive)
{
	struct vt_run *t = vt_run_case(HDR "check alive\n");
	char *argv[] = { "/bin/sh", "-c", "exit 4", NULL };
	char err[256];

	ck_assert_int_eq(target_spawn(&t->x.tgt, argv, NULL, 0, NULL, err,
				      sizeof(err)), 0);
	ck_assert_int_eq(target_wait(&t->x.tgt, chan_deadline(5000)), 1);
	checks_run(&t->x);
	assert_failed(t, "exited with code 4");
	done(t);
}
END_TEST

TEST_CASE("proc");

/* What the target really mapped, from /proc/PID/maps. */
START_TEST(mapped_and_unmapped_from_proc)
{
	struct vt_run *t = self_target("check mapped a count=1 len=0x2000\n"
				       "check unmapped a within=20\n"
				       "check unmapped a\n");
	struct fdpool_entry *e = fdpool_get(&t->x.pool, "a");
	void *p = mmap(NULL, 0x2000, PROT_READ | PROT_WRITE, MAP_SHARED, e->fd, 0x4000);

	ck_assert_ptr_ne(p, MAP_FAILED);
	checks_run(&t->x);
	assert_passed(t);
	vt_run_at(t, 2);
	checks_run(&t->x);
	assert_failed(t, "1 matching");
	ck_assert_int_eq(munmap(p, 0x2000), 0);
	t->r.nfailures = 0;
	vt_run_at(t, 3);
	checks_run(&t->x);
	assert_passed(t);
	done(t);
}
END_TEST

/* The target's fds onto the same file, from /proc/PID/fd (the pool's own
 * copy is one of them here). */
START_TEST(fds_counted_from_proc)
{
	struct vt_run *t = self_target("check fds a count=2\n");
	struct fdpool_entry *e = fdpool_get(&t->x.pool, "a");
	int dup_fd;

	checks_run(&t->x);
	ck_assert_uint_eq(t->r.nfailures, 1);
	dup_fd = dup(e->fd);
	t->r.nfailures = 0;
	checks_run(&t->x);
	assert_passed(t);
	close(dup_fd);
	done(t);
}
END_TEST

/* `mark` then `check baseline`: back where it was, or not. */
START_TEST(baseline_after_mark)
{
	struct vt_run *t = self_target("mark\ncheck baseline within=20\n");
	int fd = vt_memfd("vhu-test-baseline", 4096, 0);
	void *p;

	checks_mark(&t->x);
	ck_assert(t->x.marked);
	vt_run_at(t, 2);
	checks_run(&t->x);
	assert_passed(t);
	p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
	ck_assert_ptr_ne(p, MAP_FAILED);
	checks_run(&t->x);
	ck_assert_uint_eq(t->r.nfailures, 1);
	munmap(p, 4096);
	close(fd);
	done(t);
}
END_TEST

START_TEST(fd_not_in_the_pool_is_an_error)
{
	struct vt_run *t = self_target("check mapped a\n");

	fdpool_free(&t->x.pool);
	fdpool_init(&t->x.pool, "chk");
	checks_run(&t->x);
	ck_assert(t->x.aborted);
	ck_assert_int_eq(t->x.abort_verdict, RESULT_ERROR);
	ck_assert_ptr_nonnull(strstr(t->r.reason, "fd a was not created"));
	done(t);
}
END_TEST

TEST_CASE("findings");

/* The validator's findings kept by the session, against `check findings
 * none` and `check finding CODE`. */
START_TEST(findings_none_and_one_finding)
{
	char steps[256];
	struct vt_run *t;
	struct proto_hdr h = { PROTO_GET_FEATURES, 0x2 | PROTO_F_REPLY, 8 };
	uint8_t v[8] = { 0 };

	snprintf(steps, sizeof(steps), HDR "check findings none\ncheck finding %s\n",
		 proto_finding_name(PROTO_FIND_VERSION));
	t = vt_run_case(steps);
	checks_run(&t->x);
	assert_passed(t);
	vt_run_at(t, 1);
	checks_run(&t->x);
	assert_failed(t, "no finding");
	t->r.nfailures = 0;
	ck_assert_int_eq(chan_send(&t->peer_main, &h, v, sizeof(v), NULL, 0,
				   chan_deadline(3000)), CHAN_OK);
	ck_assert_int_eq(sess_pump(&t->x.s, chan_deadline(3000), run_has_record,
				   &(enum script_chan){ SCRIPT_MAIN }), SESS_MET);
	checks_run(&t->x);
	assert_passed(t);
	vt_run_at(t, 0);
	checks_run(&t->x);
	assert_failed(t, "GET_FEATURES reply");
	done(t);
}
END_TEST

/* The harness as front-end: the back-end's MAP/UNMAP in its ledger. */
START_TEST(ledger_violations_fail_the_check)
{
	struct vt_run *t = vt_run_case(HDR "check ledger\n");
	struct proto_shmem_config cfg = { .nregions = 1 };
	struct proto_mmap m = { .shmid = 0, .shm_offset = 0xf000, .len = 0x2000 };

	cfg.memory_sizes[0] = 0x10000;
	ledger_init(&t->x.s.fe.ledger, &cfg);
	checks_run(&t->x);
	assert_passed(t);
	ledger_on_map(&t->x.s.fe.ledger, &m);
	checks_run(&t->x);
	assert_failed(t, "1 violation(s) in 1 request(s)");
	done(t);
}
END_TEST
