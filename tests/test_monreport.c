/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for harness/monitor/monreport: vhucheck-monitor's JSON
 * report of a session the monitor saw (messages fed as the proxy would),
 * read back by python3's own json module, as the runner reads it.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "faultrule.h"
#include "monitor.h"
#include "monjudge.h"
#include "monreport.h"
#include "proto.h"
#include "vhutest.h"

struct fx {
	struct monitor m;
	int64_t now;
};

static void feed(struct fx *x, enum proto_chan chan, enum monitor_side from,
		 uint32_t req, uint32_t flags, const void *payload, size_t len,
		 unsigned nfds)
{
	struct monitor_msg msg = {
		.chan = chan, .from = from, .hdr = { req, flags, (uint32_t)len },
		.payload = payload, .payload_len = len, .nfds = nfds,
		.t_ms = ++x->now,
	};

	monjudge_on_msg(&x->m, &msg);
}

/* A session: features negotiated, then a SHMEM_MAP with bad padding. */
static struct fx *session(void)
{
	struct monitor_cfg cfg = { .shmem_bit = PROTO_SHMEM_BIT_DEFAULT };
	struct fx *x = calloc(1, sizeof(*x));
	struct proto_mmap mm = { .shmid = 0, .shm_offset = 0, .len = 0x1000 };
	uint8_t v[8], body[PROTO_MMAP_SIZE];

	ck_assert_ptr_nonnull(x);
	monitor_init(&x->m, &cfg, 0);
	feed(x, PROTO_CHAN_MAIN, MONITOR_FRONTEND, PROTO_GET_FEATURES, PROTO_VERSION,
	     NULL, 0, 0);
	proto_u64_encode(1ull << 30 | 1ull << 32, v, sizeof(v));
	feed(x, PROTO_CHAN_MAIN, MONITOR_BACKEND, PROTO_GET_FEATURES,
	     PROTO_VERSION | PROTO_F_REPLY, v, sizeof(v), 0);
	mm.padding[0] = 1;
	ck_assert_int_eq(proto_mmap_encode(&mm, body, sizeof(body)), PROTO_MMAP_SIZE);
	feed(x, PROTO_CHAN_BACKEND, MONITOR_BACKEND, PROTO_BE_SHMEM_MAP,
	     PROTO_VERSION, body, sizeof(body), 1);
	ck_assert_uint_ge(x->m.nfindings, 1);
	return x;
}

static char *report(const struct monreport_info *in, const struct monitor *m)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(monreport_write(f, in, m), 0);
	ck_assert_int_eq(fclose(f), 0);
	return buf;
}

/* Whether python3 reads text as one JSON document satisfying CHECK (a
 * python expression on d). */
static int python_says(const char *text, const char *check)
{
	char path[256], script[1024];
	char *argv[] = { "python3", "-c", script, path, NULL };
	int rc;

	vt_tmp_path(path, sizeof(path), "monreport.json");
	vt_write_file(path, text);
	snprintf(script, sizeof(script), "import json, sys\n"
		 "d = json.load(open(sys.argv[1]))\n"
		 "sys.exit(0 if (%s) else 3)\n", check);
	rc = vt_run_program(argv, 20000);
	remove(path);
	return rc;
}

static void has(const char *text, const char *part)
{
	ck_assert_msg(strstr(text, part) != NULL, "report lacks '%s':\n%s", part, text);
}

TEST_CASE("report");

START_TEST(report_is_json_with_the_schema)
{
	struct fx *x = session();
	struct monreport_info in = {
		.version = "0.1.0", .shmem_bit = 22, .started_unix_ms = 0,
		.duration_ms = 12.5, .end_reason = "both channels closed",
		.trace_path = NULL, .relayed = 3,
	};
	char *text;

	in.side[0].cmd = "qemu \"x\"";
	in.side[0].pid = 77;
	in.side[0].ended = in.side[0].exited = true;
	in.side[0].exit_code = 0;
	in.side[1].socket = "/tmp/be.sock";
	text = report(&in, &x->m);
	has(text, "\"tool\": \"vhucheck-monitor\", \"schema\": 1");
	has(text, "\"started\": \"1970-01-01T00:00:00");
	has(text, "\"trace\": null");
	has(text, "\"cmd\": \"qemu \\\"x\\\"\"");
	ck_assert_int_eq(python_says(text,
		"d['schema'] == 1 and d['version'] == '0.1.0' and d['shmem_bit'] == 22"
		" and d['end'] == 'both channels closed'"
		" and d['frontend']['pid'] == 77 and d['frontend']['exit'] == 0"
		" and d['backend']['pid'] is None and d['backend']['socket'] == '/tmp/be.sock'"
		" and d['messages']['total'] == 3 and d['messages']['main']['frontend'] == 1"
		" and d['messages']['backend']['backend'] == 1 and d['messages']['relayed'] == 3"
		" and d['negotiated']['features'] == '0x0'"
		" and d['negotiated']['features_offered'] == '0x140000000'"
		" and d['negotiated']['shmem'] is False"), 0);
	free(text);
	free(x);
}
END_TEST

/* Every finding the monitor kept is in the report, and the counts add up. */
START_TEST(findings_and_counts_agree)
{
	struct fx *x = session();
	struct monreport_info in = { .version = "t", .end_reason = "eof" };
	char *text = report(&in, &x->m), check[256];

	snprintf(check, sizeof(check),
		 "len(d['findings']) == %u and sum(d['counts'].values()) == %u"
		 " and any(f['code'] == 'MMAP_PADDING' for f in d['findings'])"
		 " and d['findings_dropped'] == 0",
		 x->m.nfindings, x->m.nfindings);
	ck_assert_int_eq(python_says(text, check), 0);
	free(text);
	free(x);
}
END_TEST

START_TEST(fault_rules_are_listed)
{
	struct fx *x = session();
	struct faultrule rules[2];
	struct monreport_info in = { .version = "t", .end_reason = "eof",
				     .rules = rules, .nrules = 2,
				     .script_errors = 1 };
	char err[256], *text;

	ck_assert_int_eq(faultrule_parse("drop:SHMEM_MAP", &rules[0], err, sizeof(err)), 0);
	ck_assert_int_eq(faultrule_parse("duplicate:9", &rules[1], err, sizeof(err)), 0);
	text = report(&in, &x->m);
	ck_assert_int_eq(python_says(text,
		"d['fault_rules'] == ['drop:SHMEM_MAP', 'duplicate:9']"
		" and d['control_script_errors'] == 1"), 0);
	free(text);
	free(x);
}
END_TEST
