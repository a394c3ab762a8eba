/* SPDX-License-Identifier: MIT */
/* Unit tests for harness/monitor/monitor: the monitor's findings: the
 * validator's passed through, a finding as a line and as JSON, the cap.
 * Fed message by message as the proxy would feed them (monfx.h); the
 * ledger and the live checks have their own files (test_monledger,
 * test_monjudge). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "monitor.h"
#include "monjudge.h"
#include "monfx.h"
#include "vhutest.h"

TEST_CASE("findings");

START_TEST(validator_findings_pass_through)
{
	struct fx *x = fx_new();
	struct proto_mmap mm = { .len = 0x1000, .padding = { 1 } };
	uint8_t buf[PROTO_MMAP_SIZE];
	uint64_t v = 0;
	const struct monitor_finding *f;

	handshake(x, true, true);
	proto_mmap_encode(&mm, buf, sizeof(buf));
	feed(x, PROTO_CHAN_BACKEND, MONITOR_BACKEND, PROTO_BE_SHMEM_MAP,
	     PROTO_VERSION | PROTO_F_NEED_REPLY, buf, sizeof(buf), 1);
	f = find(x, "MMAP_PADDING");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(f->check, MONITOR_CHECK_FRAMING);
	ck_assert_int_eq(f->severity, PROTO_SEV_WARN);
	ck_assert_str_eq(f->msg, "SHMEM_MAP");
	/* a reply without the REPLY bit (flags 0x1) */
	feed(x, PROTO_CHAN_BACKEND, MONITOR_FRONTEND, PROTO_BE_SHMEM_MAP,
	     PROTO_VERSION, &v, 8, 0);
	f = find(x, "NO_REPLY_FLAG");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(f->side, MONITOR_FRONTEND);
	ck_assert_str_eq(f->msg, "SHMEM_MAP reply");
	ck_assert_uint_eq(count(x, "UNSOLICITED_REPLY"), 0);
	free(x);
}
END_TEST

START_TEST(finding_line_and_json)
{
	struct fx *x = fx_new();
	char line[1024], json[2048];

	handshake(x, true, true);
	mmap_req(x, true, 0, 0x1000, 0);
	mmap_req(x, true, 0, 0x1000, 0);
	monitor_finding_line(find(x, "MAP_ACCEPTED_INVALID"), line, sizeof(line));
	ck_assert_ptr_nonnull(strstr(line, "[error] frontend MAP_ACCEPTED_INVALID #"));
	ck_assert_ptr_nonnull(strstr(line, "backend SHMEM_MAP reply:"));
	ck_assert_ptr_nonnull(strstr(line, "(digest 6: MUST fail"));
	monitor_finding_json(find(x, "MAP_ACCEPTED_INVALID"), json, sizeof(json));
	ck_assert_ptr_nonnull(strstr(json, "\"code\":\"MAP_ACCEPTED_INVALID\""));
	ck_assert_ptr_nonnull(strstr(json, "\"side\":\"frontend\""));
	ck_assert_ptr_nonnull(strstr(json, "\"check\":\"verdicts\""));
	ck_assert_ptr_nonnull(strstr(json, "\"msg\":\"SHMEM_MAP reply\""));
	free(x);
}
END_TEST

START_TEST(findings_are_capped)
{
	struct fx *x = fx_new();

	for (unsigned i = 0; i < MONITOR_MAX_FINDINGS + 10; i++)
		be_reply_u64(x, PROTO_GET_FEATURES, 0);
	ck_assert_uint_eq(x->m.nfindings, MONITOR_MAX_FINDINGS);
	ck_assert_uint_eq(x->m.findings_dropped, 10);
	ck_assert_uint_eq(x->m.by_severity[PROTO_SEV_ERROR], MONITOR_MAX_FINDINGS + 10);
	free(x);
}
END_TEST
