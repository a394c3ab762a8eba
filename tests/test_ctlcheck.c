/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for harness/engine/ctlcheck: `--check-control` against the
 * real reference targets (built next to this program), a target without
 * a control channel, and the verdict and lines of a report.
 */
#include <check.h>
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctlcheck.h"
#include "vhutest.h"

/* The reference target NAME of this build: <build>/targets/NAME. */
static void ref_target(const char *name, char *out, size_t cap)
{
	char exe[512];

	vt_self_exe(exe, sizeof(exe));
	snprintf(out, cap, "%s/../targets/%s", dirname(exe), name);
}

static int check_target(enum script_role role, const char *cmd,
			struct ctlcheck_report *rep, char *err, size_t errcap)
{
	struct runenv e = { .role = role, .target_cmd = cmd,
				.shmem_bit = 22, .timeout_mult = 2.0,
				.cancel_fd = -1 };
	int rc;

	ck_assert_int_eq(runenv_open(&e, err, errcap), 0);
	rc = ctlcheck_run(&e, rep, err, errcap);
	runenv_close(&e);
	return rc;
}

static char *printed(const struct ctlcheck_report *rep)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	ck_assert_ptr_nonnull(f);
	ctlcheck_print(rep, f);
	fclose(f);
	return buf;
}

TEST_CASE("targets", 30);

/* The reference back-end speaks control protocol 2: every item fine. */
START_TEST(reference_backend_passes)
{
	char path[600], cmd[800], err[512];
	struct ctlcheck_report *rep = malloc(sizeof(*rep));
	char *text;

	ck_assert_ptr_nonnull(rep);
	ref_target("vhu-ref-backend", path, sizeof(path));
	snprintf(cmd, sizeof(cmd), "%s --fd={fd} --control-fd={control} "
		 "--shmem-bit={shmem_bit}", path);
	ck_assert_msg(check_target(SCRIPT_ROLE_FRONTEND, cmd, rep, err,
				   sizeof(err)) == 0, "%s", err);
	text = printed(rep);
	ck_assert_msg(ctlcheck_passed(rep), "%s", text);
	ck_assert_int_eq(rep->version, 2);
	ck_assert_uint_ge(rep->n, 3);
	ck_assert_ptr_nonnull(strstr(text, "control protocol 2: "));
	free(text);
	free(rep);
}
END_TEST

START_TEST(reference_frontend_passes)
{
	char path[600], cmd[800], err[512];
	struct ctlcheck_report *rep = malloc(sizeof(*rep));

	ck_assert_ptr_nonnull(rep);
	ref_target("vhu-ref-frontend", path, sizeof(path));
	snprintf(cmd, sizeof(cmd), "%s --socket-path={socket} "
		 "--control-fd={control} --shmem-bit={shmem_bit}", path);
	ck_assert_msg(check_target(SCRIPT_ROLE_BACKEND, cmd, rep, err,
				   sizeof(err)) == 0, "%s", err);
	ck_assert(ctlcheck_passed(rep));
	free(rep);
}
END_TEST

START_TEST(no_control_channel_is_refused)
{
	struct ctlcheck_report rep;
	char err[256];

	ck_assert_int_eq(check_target(SCRIPT_ROLE_FRONTEND, "/bin/true {fd}", &rep,
				      err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "no {control}"));
	ck_assert(!ctlcheck_passed(&rep));
}
END_TEST

TEST_CASE("report");

/* Unsupported and skipped items pass; missing or wrong ones do not; an
 * empty report is no pass. */
START_TEST(passed_and_printed)
{
	struct ctlcheck_report rep = { .version = 1, .duration_ms = 12, .n = 3 };
	char *text;

	snprintf(rep.it[0].name, sizeof(rep.it[0].name), "version 2");
	rep.it[0].status = CTLCHECK_UNSUPPORTED;
	snprintf(rep.it[0].detail, sizeof(rep.it[0].detail), "speaks 1");
	snprintf(rep.it[1].name, sizeof(rep.it[1].name), "map");
	rep.it[1].status = CTLCHECK_OK;
	snprintf(rep.it[2].name, sizeof(rep.it[2].name), "unmap");
	rep.it[2].status = CTLCHECK_SKIPPED;
	ck_assert(ctlcheck_passed(&rep));
	text = printed(&rep);
	ck_assert_ptr_nonnull(strstr(text, "version 2    unsupported: speaks 1\n"));
	ck_assert_ptr_nonnull(strstr(text, "map          ok\n"));
	ck_assert_ptr_nonnull(strstr(text, "control protocol 1: 1 ok, 1 unsupported, "
				     "1 skipped, 0 missing, 0 wrong in 12 ms\n"));
	free(text);
	rep.it[2].status = CTLCHECK_MISSING;
	ck_assert(!ctlcheck_passed(&rep));
	rep.it[2].status = CTLCHECK_WRONG;
	ck_assert(!ctlcheck_passed(&rep));
	rep.n = 0;
	ck_assert(!ctlcheck_passed(&rep));
	rep.version = 0;
	text = printed(&rep);
	ck_assert_ptr_nonnull(strstr(text, "control protocol unknown: "));
	free(text);
}
END_TEST
