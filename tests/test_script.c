/* SPDX-License-Identifier: MIT */
/* Unit tests for harness/script: the .vhu language. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proto.h"
#include "script.h"
#include "vhutest.h"

#define PATH "suites/C-map/t.vhu"
#define HDR_BE "id t\ntitle A title\ntarget frontend\nrule 6: a rule\nlevel MUST\n"
#define HDR_FE "id t\ntitle A title\ntarget backend\nrule 12H: a rule\nlevel MUST\n"

#define ERRCAP 8192

static int parse(const char *text, struct script_case *c, char *errbuf)
{
	errbuf[0] = '\0';
	return script_parse_text(PATH, text, c, errbuf, ERRCAP);
}

static void parse_ok(const char *text, struct script_case *c)
{
	char errbuf[ERRCAP];
	int n = parse(text, c, errbuf);

	ck_assert_msg(n == 0, "unexpected errors:\n%s", errbuf);
}

/* One error at that line whose message contains what. */
static void parse_err(const char *text, unsigned line, const char *what)
{
	struct script_case c;
	char where[64], errbuf[ERRCAP];
	int n = parse(text, &c, errbuf);

	if (line)
		snprintf(where, sizeof(where), PATH ":%u: ", line);
	else
		snprintf(where, sizeof(where), PATH ": ");
	ck_assert_msg(n >= 1, "no error for:\n%s", text);
	ck_assert_msg(strstr(errbuf, where) != NULL, "want '%s' in:\n%s", where, errbuf);
	ck_assert_msg(strstr(errbuf, what) != NULL, "want '%s' in:\n%s", what, errbuf);
	ck_assert_ptr_null(c.steps);
}

/* ---- good cases ---- */

TEST_CASE("good");

START_TEST(good_backend_case)
{
	struct script_case c;
	const struct script_step *s;

	parse_ok("# A comment first.\n"
		 HDR_BE
		 "requires  SHMEM REPLY_ACK BACKEND_REQ BACKEND_SEND_FD pid\n"
		 "\n"
		 "handshake regions=0x100000,2m nregions=3\n"
		 "fd a memfd size=0x10000\n"
		 "send map shmid=1 shm_offset=0x2000 len=8k fd=a need_reply  # trailing\n"
		 "expect reply value=nonzero\n"
		 "check mapped a count=1 prot=r--s offset=0 len=4k\n", &c);
	ck_assert_str_eq(c.id, "t");
	ck_assert_str_eq(c.title, "A title");
	ck_assert_str_eq(c.area, "C-map");
	ck_assert_int_eq(c.role, SCRIPT_ROLE_BACKEND);
	ck_assert_int_eq(c.level, SCRIPT_MUST);
	ck_assert(c.requires_shmem && c.requires_pid && !c.requires_control);
	ck_assert_uint_eq(c.requires_pf, 1u << PROTO_PF_REPLY_ACK |
			  1u << PROTO_PF_BACKEND_REQ | 1u << PROTO_PF_BACKEND_SEND_FD);
	ck_assert_uint_eq(c.timeout_ms, 5000);
	ck_assert_uint_eq(c.nsteps, 5);
	s = &c.steps[0];
	ck_assert_int_eq(s->op, SCRIPT_HANDSHAKE);
	ck_assert_uint_eq(s->line, 9);
	ck_assert_uint_eq(s->u.hs.nsizes, 2);
	ck_assert_uint_eq(s->list[1], 0x200000);
	ck_assert(s->u.hs.has_nregions && s->u.hs.nregions == 3 && s->u.hs.start);
	ck_assert_int_eq(c.steps[1].op, SCRIPT_FD);
	ck_assert_int_eq(c.steps[1].u.fd.kind, FDPOOL_MEMFD);
	s = &c.steps[2];
	ck_assert_int_eq(s->op, SCRIPT_SEND);
	ck_assert_int_eq(s->u.send.kind, SCRIPT_SEND_MAP);
	ck_assert_uint_eq(s->u.send.request, PROTO_BE_SHMEM_MAP);
	ck_assert_uint_eq(s->u.send.shmid, 1);
	ck_assert_uint_eq(s->u.send.shm_offset, 0x2000);
	ck_assert_uint_eq(s->u.send.len, 0x2000);
	ck_assert_uint_eq(s->u.send.flags, PROTO_MMAP_F_RW);
	ck_assert(s->u.send.need_reply);
	ck_assert_uint_eq(s->u.send.nfds, 1);
	ck_assert_str_eq(s->u.send.fds[0], "a");
	ck_assert_int_eq(s->on, SCRIPT_BACKEND);
	s = &c.steps[3];
	ck_assert_int_eq(s->op, SCRIPT_EXPECT_REPLY);
	ck_assert_int_eq(s->u.er.value_kind, SCRIPT_VALUE_NONZERO);
	ck_assert_int_eq(s->on, SCRIPT_BACKEND);
	ck_assert_int_eq(s->within_ms, 500);
	ck_assert_int_eq(s->grade, SCRIPT_MUST);
	s = &c.steps[4];
	ck_assert_int_eq(s->op, SCRIPT_CHECK_MAPPED);
	ck_assert(s->u.chk.has_count && s->u.chk.count == 1);
	ck_assert_str_eq(s->u.chk.prot, "r--s");
	ck_assert(s->u.chk.has_offset && s->u.chk.has_len && s->u.chk.len == 0x1000);
	script_free(&c);
}
END_TEST

START_TEST(reply_split_and_pause)
{
	struct script_case c;

	parse_ok(HDR_FE "reply value=0 split=6 pause=50\nreply size=8 payload=00000000\n",
		 &c);
	ck_assert(c.steps[0].u.reply.has_split);
	ck_assert_uint_eq(c.steps[0].u.reply.split, 6);
	ck_assert_uint_eq(c.steps[0].u.reply.pause_ms, 50);
	ck_assert(!c.steps[1].u.reply.has_split);
	ck_assert(c.steps[1].u.reply.has_size && c.steps[1].u.reply.size == 8);
	ck_assert_uint_eq(c.steps[1].data_len, 4);
	script_free(&c);
	parse_err(HDR_FE "reply pause=50\n", 6, "pause= needs split=");
	parse_err(HDR_FE "reply split=4 pause=600001\n", 6, "pause= needs split=");
	parse_err(HDR_FE "reply split=0\n", 6, "split=0: 1 to");
	parse_err(HDR_FE "reply split=x\n", 6, "not a number");
}
END_TEST

START_TEST(good_frontend_case)
{
	struct script_case c;
	const struct script_step *s;

	parse_ok(HDR_FE
		 "requires SHMEM BACKEND_REQ control\n"
		 "handshake mem=2m reply-ack=off start=no\n"
		 "control map shmid=0 len=0x1000 need_reply=1 within=300\n"
		 "expect msg SHMEM_MAP fds=1 size=40 flags=9\n"
		 "reply value=1\n"
		 "send GET_SHMEM_CONFIG\n"
		 "expect shmem-config nregions-match page-multiple stable regions=1m\n"
		 "expect no-msg SHMEM_UNMAP within=20\n"
		 "check ledger grade=should\n", &c);
	ck_assert_uint_eq(c.nsteps, 8);
	s = &c.steps[0];
	ck_assert_uint_eq(s->u.hs.mem, 0x200000);
	ck_assert_uint_eq(s->u.hs.pf_off, 1u << PROTO_PF_REPLY_ACK);
	ck_assert(!s->u.hs.start);
	s = &c.steps[1];
	ck_assert_str_eq(s->u.control.line, "map shmid=0 len=0x1000 need_reply=1");
	ck_assert_int_eq(s->u.control.expect, SCRIPT_CTL_OK);
	ck_assert_int_eq(s->within_ms, 300);
	s = &c.steps[2];
	ck_assert_int_eq(s->on, SCRIPT_BACKEND);
	ck_assert_uint_eq(s->u.em.request, PROTO_BE_SHMEM_MAP);
	ck_assert(s->u.em.has_fds && s->u.em.fds == 1 && s->u.em.size == 40);
	ck_assert(s->u.em.has_flags && s->u.em.flags == 9);
	ck_assert_int_eq(c.steps[3].op, SCRIPT_REPLY);
	ck_assert_int_eq(c.steps[3].on, SCRIPT_BACKEND);
	ck_assert_uint_eq(c.steps[3].u.reply.value, 1);
	s = &c.steps[4];
	ck_assert_int_eq(s->u.send.kind, SCRIPT_SEND_NAMED);
	ck_assert_uint_eq(s->u.send.request, PROTO_GET_SHMEM_CONFIG);
	ck_assert_int_eq(s->on, SCRIPT_MAIN);
	s = &c.steps[5];
	ck_assert(s->u.sc.nregions_match && s->u.sc.page_multiple && s->u.sc.stable);
	ck_assert(s->u.sc.has_regions && s->u.sc.nsizes == 1 && s->list[0] == 0x100000);
	s = &c.steps[6];
	ck_assert_int_eq(s->op, SCRIPT_EXPECT_NO_MSG);
	ck_assert(s->u.em.has_request && s->u.em.request == PROTO_BE_SHMEM_UNMAP);
	ck_assert_int_eq(s->on, SCRIPT_BACKEND);
	ck_assert_int_eq(c.steps[7].grade, SCRIPT_SHOULD);
	script_free(&c);
}
END_TEST

START_TEST(repeat_nesting_jumps)
{
	struct script_case c;

	parse_ok(HDR_BE
		 "repeat 2\n"          /* 0 */
		 "  sleep 1\n"         /* 1 */
		 "  repeat 3\n"        /* 2 */
		 "    sleep 2\n"       /* 3 */
		 "  end\n"             /* 4 */
		 "end\n"               /* 5 */
		 "repeat 0\n"          /* 6 */
		 "end\n", &c);         /* 7 */
	ck_assert_uint_eq(c.nsteps, 8);
	ck_assert_uint_eq(c.steps[0].count, 2);
	ck_assert_uint_eq(c.steps[0].jump, 5);
	ck_assert_uint_eq(c.steps[5].jump, 0);
	ck_assert_uint_eq(c.steps[2].count, 3);
	ck_assert_uint_eq(c.steps[2].jump, 4);
	ck_assert_uint_eq(c.steps[4].jump, 2);
	ck_assert_uint_eq(c.steps[6].jump, 7);
	ck_assert_uint_eq(c.steps[3].count, 2);
	script_free(&c);
}
END_TEST

START_TEST(send_forms)
{
	struct script_case c;
	const struct script_step *s;

	parse_ok(HDR_BE
		 "fd a memfd\nfd b pipe\n"
		 "send unmap shm_offset=4k len=4k padding=01020304050607 hdr_flags=0x5 "
		 "size=48 truncate=8 request=SHMEM_MAP flags=ro\n"
		 "send raw 0900000001000000 fd=a,b on=main\n"
		 "send VRING_CALL u64=7\n"
		 "send 99 payload=00ff\n"
		 "send map flags=0x3\n", &c);
	s = &c.steps[2];
	ck_assert_int_eq(s->u.send.kind, SCRIPT_SEND_UNMAP);
	ck_assert_uint_eq(s->u.send.request, PROTO_BE_SHMEM_MAP);
	ck_assert_uint_eq(s->u.send.padding[0], 1);
	ck_assert_uint_eq(s->u.send.padding[6], 7);
	ck_assert(s->u.send.has_hdr_flags && s->u.send.hdr_flags == 5);
	ck_assert(s->u.send.has_size && s->u.send.size == 48);
	ck_assert(s->u.send.has_truncate && s->u.send.truncate == 8);
	ck_assert_uint_eq(s->u.send.flags, 0);
	ck_assert_uint_eq(s->u.send.len, 0x1000);
	s = &c.steps[3];
	ck_assert_int_eq(s->u.send.kind, SCRIPT_SEND_RAW);
	ck_assert_uint_eq(s->data_len, 8);
	ck_assert_uint_eq(s->data[0], 9);
	ck_assert_uint_eq(s->u.send.nfds, 2);
	ck_assert_int_eq(s->on, SCRIPT_MAIN);
	s = &c.steps[4];
	ck_assert_uint_eq(s->u.send.request, PROTO_BE_VRING_CALL);
	ck_assert(s->u.send.has_u64 && s->u.send.u64 == 7);
	ck_assert_uint_eq(c.steps[5].u.send.request, 99);
	ck_assert_uint_eq(c.steps[5].data_len, 2);
	ck_assert_uint_eq(c.steps[6].u.send.flags, 3);
	ck_assert_uint_eq(c.steps[6].u.send.len, 0x1000);
	script_free(&c);
}
END_TEST

START_TEST(default_channels)
{
	struct script_case c;

	parse_ok(HDR_BE "send SET_STATUS on=main u64=0\nexpect reply\n"
		 "send map\nexpect no-reply\nexpect msg SET_MEM_TABLE\nexpect eof\n", &c);
	ck_assert_int_eq(c.steps[1].on, SCRIPT_MAIN);
	ck_assert_int_eq(c.steps[3].on, SCRIPT_BACKEND);
	ck_assert_int_eq(c.steps[3].within_ms, 200);
	ck_assert_int_eq(c.steps[4].on, SCRIPT_MAIN);
	ck_assert_int_eq(c.steps[5].on, SCRIPT_MAIN);
	script_free(&c);
	parse_ok(HDR_FE "expect reply\nexpect msg SHMEM_UNMAP\n", &c);
	ck_assert_int_eq(c.steps[0].on, SCRIPT_MAIN);
	ck_assert_int_eq(c.steps[1].on, SCRIPT_BACKEND);
	script_free(&c);
}
END_TEST

START_TEST(grades_asserts_windows)
{
	struct script_case c;

	parse_ok("id t\ntitle x\ntarget frontend\nrule r\nlevel SHOULD\n"
		 "reason the rst is silent # kept as text\n"
		 "timeout 900\n"
		 "expect reply grade=must within=0\n"
		 "assert reply\n"
		 "check alive grade=info\n"
		 "assert alive\n", &c);
	ck_assert_str_eq(c.reason, "the rst is silent # kept as text");
	ck_assert_uint_eq(c.timeout_ms, 900);
	ck_assert_int_eq(c.level, SCRIPT_SHOULD);
	ck_assert_int_eq(c.steps[0].grade, SCRIPT_MUST);
	ck_assert_int_eq(c.steps[0].within_ms, 0);
	ck_assert(!c.steps[0].is_assert);
	ck_assert_int_eq(c.steps[1].grade, SCRIPT_SHOULD);
	ck_assert(c.steps[1].is_assert);
	ck_assert_int_eq(c.steps[2].grade, SCRIPT_INFO);
	ck_assert(c.steps[3].is_assert && c.steps[3].op == SCRIPT_CHECK_ALIVE);
	script_free(&c);
}
END_TEST

START_TEST(order_findings_and_fd_kinds)
{
	struct script_case c;
	const struct script_step *s;

	parse_ok(HDR_BE "requires pid\n"
		 "fd s memfd-sealed size=8k\nfd e memfd-empty\nfd r rdonly-file\n"
		 "fd p pipe\nfd k socket\nfd x closed\n"
		 "expect order backend:reply main:SET_MEM_TABLE|ADD_MEM_REG\n"
		 "check finding MMAP_PADDING\ncheck finding proto_find_fd_count\n"
		 "check findings none severity=warn\n"
		 "mark\ncheck baseline within=50\ncheck fds s count=0\ncheck unmapped e\n",
		 &c);
	ck_assert_uint_eq(c.steps[0].u.fd.size, 0x2000);
	ck_assert_uint_eq(c.steps[1].u.fd.size, 0);
	ck_assert_uint_eq(c.steps[2].u.fd.size, 0x10000);
	ck_assert_int_eq(c.steps[5].u.fd.kind, FDPOOL_CLOSED);
	s = &c.steps[6];
	ck_assert(s->u.order.a.reply && s->u.order.a.chan == SCRIPT_BACKEND);
	ck_assert_uint_eq(s->u.order.b.nreq, 2);
	ck_assert_uint_eq(s->u.order.b.req[0], PROTO_SET_MEM_TABLE);
	ck_assert_uint_eq(s->u.order.b.req[1], PROTO_ADD_MEM_REG);
	ck_assert_int_eq(c.steps[7].u.chk.code, PROTO_FIND_MMAP_PADDING);
	ck_assert_int_eq(c.steps[8].u.chk.code, PROTO_FIND_FD_COUNT);
	ck_assert_int_eq(c.steps[9].u.chk.severity, PROTO_SEV_WARN);
	ck_assert_int_eq(c.steps[11].within_ms, 50);
	ck_assert_int_eq(c.steps[12].within_ms, 100);
	script_free(&c);
}
END_TEST

START_TEST(handshake_backend_knobs)
{
	struct script_case c;
	const struct script_handshake *hs;

	parse_ok(HDR_BE "handshake shmem=offer-only shmem-bit=20 slots=off status=off "
		 "reset-device=off backend-send-fd=off config-size=8 config-request=1 "
		 "config-flags=0x1 config-padding=5 within=900\n"
		 "handshake\n", &c);
	hs = &c.steps[0].u.hs;
	ck_assert_int_eq(hs->shmem, SCRIPT_SHMEM_OFFER_ONLY);
	ck_assert(hs->has_shmem_bit && hs->shmem_bit == 20);
	ck_assert_uint_eq(hs->pf_off, 1u << PROTO_PF_CONFIGURE_MEM_SLOTS |
			  1u << PROTO_PF_STATUS | 1u << PROTO_PF_RESET_DEVICE |
			  1u << PROTO_PF_BACKEND_SEND_FD);
	ck_assert(hs->has_config_size && hs->config_size == 8);
	ck_assert(hs->has_config_request && hs->has_config_flags && hs->has_config_padding);
	ck_assert_int_eq(c.steps[0].within_ms, 900);
	/* Defaults: one region of 1 MiB, started, SHMEM on. */
	hs = &c.steps[1].u.hs;
	ck_assert_uint_eq(hs->nsizes, 1);
	ck_assert_uint_eq(c.steps[1].list[0], 0x100000);
	ck_assert(hs->start && hs->shmem == SCRIPT_SHMEM_ON && !hs->pf_off);
	ck_assert_int_eq(c.steps[1].within_ms, 2000);
	script_free(&c);
}
END_TEST

START_TEST(parse_from_file)
{
	char dir[] = "/tmp/vhu-test-script-XXXXXX", path[128], errbuf[ERRCAP];
	struct script_case c;
	FILE *f;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/case_x.vhu", dir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs("id case_x\ntitle t\ntarget frontend\nrule r\nlevel MUST\nsleep 1\n", f);
	fclose(f);
	ck_assert_int_eq(script_parse_file(path, &c, errbuf, sizeof(errbuf)), 0);
	ck_assert_str_eq(c.id, "case_x");
	ck_assert_str_eq(c.area, dir + 5);
	script_free(&c);
	unlink(path);
	rmdir(dir);
	errbuf[0] = '\0';
	ck_assert_int_eq(script_parse_file(path, &c, errbuf, sizeof(errbuf)), 1);
	ck_assert_ptr_nonnull(strstr(errbuf, "cannot open"));
}
END_TEST

/* ---- errors, each with its line ---- */

TEST_CASE("errors");

START_TEST(err_id_differs_from_file)
{
	parse_err("id other\ntitle t\ntarget frontend\nrule r\nlevel MUST\nsleep 1\n", 1,
		  "differs from the file name");
	parse_err("id Bad-Id\n", 1, "[a-z0-9_]+");
}
END_TEST

START_TEST(err_missing_header)
{
	parse_err("id t\ntarget frontend\nrule r\nlevel MUST\n\nsleep 1\n", 6,
		  "missing 'title'");
	parse_err(HDR_BE "# nothing\n", 0, "no steps");
}
END_TEST

START_TEST(err_reason_required)
{
	parse_err("id t\ntitle t\ntarget frontend\nrule r\nlevel INFO\nsleep 1\n", 6,
		  "needs a 'reason'");
}
END_TEST

START_TEST(err_bad_level_role_timeout)
{
	parse_err("id t\ntitle t\ntarget frontend\nrule r\nlevel MAY\n", 5, "level 'MAY'");
	parse_err("id t\ntitle t\ntarget middle\n", 3, "target 'middle'");
	/* the old key said the harness's role: refused with the new spelling */
	parse_err("id t\ntitle t\nrole backend\n", 3, "write 'target frontend'");
	parse_err("id t\ntitle t\nrole frontend\n", 3, "write 'target backend'");
	parse_err(HDR_BE "role backend\n", 6, "'role' is no longer a header key");
	parse_err(HDR_BE "timeout 0\n", 6, "timeout 0");
}
END_TEST

START_TEST(err_header_after_step_and_twice)
{
	parse_err(HDR_BE "sleep 1\ntitle late\n", 7, "header line");
	parse_err(HDR_BE "sleep 1\nrequires pid\n", 7, "header line");
	parse_err("id t\nid t\n", 2, "given twice");
}
END_TEST

START_TEST(err_requires)
{
	parse_err(HDR_BE "requires SHMEM FOO_BAR\nsleep 1\n", 6, "unknown word 'FOO_BAR'");
	parse_err(HDR_BE "requires SHMEM\nsleep 1\n", 6, "no handshake");
}
END_TEST

START_TEST(err_unknown_keyword_and_kind)
{
	parse_err(HDR_BE "sleep 1\nfrobnicate now\n", 7, "unknown keyword 'frobnicate'");
	parse_err(HDR_BE "expect magic\n", 6, "unknown expect kind 'magic'");
	parse_err(HDR_BE "expect alive\n", 6, "use 'check alive'");
	parse_err(HDR_BE "check reply\n", 6, "use 'expect reply'");
}
END_TEST

START_TEST(err_unknown_argument)
{
	parse_err(HDR_BE "send map colour=red\n", 6, "unknown argument 'colour'");
	parse_err(HDR_BE "expect reply foo\n", 6, "unknown argument 'foo'");
	parse_err(HDR_BE "handshake mem=1m\n", 6, "unknown argument 'mem'");
	parse_err(HDR_FE "handshake regions=1m\n", 6, "unknown argument 'regions'");
}
END_TEST

START_TEST(err_bad_numbers)
{
	parse_err(HDR_BE "send map len=12q\n", 6, "len=12q: not a number");
	parse_err(HDR_BE "send map shmid=256\n", 6, "out of range");
	parse_err(HDR_BE "send map shmid=1k\n", 6, "not a number");
	parse_err(HDR_BE "send map len=0x10000000000000000\n", 6, "out of range");
	parse_err(HDR_BE "send map hdr_flags=0x100000000\n", 6, "out of range");
	parse_err(HDR_BE "sleep 1s\n", 6, "not a number");
	parse_err(HDR_BE "expect reply within=600001\n", 6, "out of range");
	parse_err(HDR_BE "expect reply value=maybe\n", 6, "expected 0, nonzero");
}
END_TEST

START_TEST(err_unknown_request)
{
	parse_err(HDR_BE "send FROB_THING\n", 6, "unknown backend-channel request");
	parse_err(HDR_BE "expect msg SHMEM_MAP\n", 6, "unknown main-channel request");
	parse_err(HDR_BE "send map request=NOPE\n", 6, "unknown backend-channel request");
	parse_err(HDR_BE "expect order main:reply main:NOPE\n", 6, "unknown main-channel");
}
END_TEST

START_TEST(err_fd_names)
{
	parse_err(HDR_BE "send map fd=a\n", 6, "fd 'a' is not declared");
	parse_err(HDR_BE "fd a memfd\nsend map fd=a,b\n", 7, "fd 'b' is not declared");
	parse_err(HDR_BE "fd a memfd\nfd a pipe\n", 7, "declared twice");
	parse_err(HDR_BE "fd a tmpfile\n", 6, "unknown fd kind 'tmpfile'");
	parse_err(HDR_BE "fd a/b memfd\n", 6, "fd name 'a/b'");
	parse_err(HDR_BE "fd p pipe size=4k\n", 6, "unknown argument 'size'");
	parse_err(HDR_BE "repeat 2\nfd a memfd\nend\n", 7, "inside a repeat");
	parse_err(HDR_BE "fd a memfd\nsend map fd=a,\n", 7, "separated by commas");
}
END_TEST

START_TEST(err_repeat_blocks)
{
	parse_err(HDR_BE "sleep 1\nend\n", 7, "'end' without 'repeat'");
	parse_err(HDR_BE "sleep 1\nrepeat 2\n  sleep 1\n", 7, "without 'end'");
	parse_err(HDR_BE "repeat 1000001\nend\n", 6, "out of range");
	parse_err(HDR_BE "repeat 2 3\nend\n", 6, "usage: repeat N");
}
END_TEST

START_TEST(err_steps_not_for_role)
{
	parse_err(HDR_BE "reply value=0\n", 6, "only for cases with target backend");
	parse_err(HDR_BE "check ledger\n", 6, "only for cases with target backend");
	parse_err(HDR_BE "expect shmem-config\n", 6, "only for cases with target backend");
	parse_err(HDR_FE "send map\n", 6, "only for cases with target frontend");
	parse_err(HDR_FE "handshake shmem=offer-only\n", 6, "expected one of on|off");
}
END_TEST

START_TEST(err_capabilities_needed)
{
	parse_err(HDR_BE "control start\n", 6, "needs 'requires control'");
	parse_err(HDR_BE "fd a memfd\ncheck mapped a\n", 7, "needs 'requires pid'");
	parse_err(HDR_BE "mark\n", 6, "needs 'requires pid'");
	parse_err(HDR_BE "requires pid\ncheck baseline\n", 7, "without an earlier 'mark'");
	parse_err(HDR_BE "requires control\ncontrol map\n", 7, "not a command of a front-end");
	parse_err(HDR_FE "requires control\ncontrol start\n", 7, "not a command of a back-end");
	parse_err(HDR_BE "requires control\ncontrol dump expect=maybe\n", 7, "expected one of ok|err");
}
END_TEST

START_TEST(err_values_and_flags)
{
	parse_err(HDR_BE "send map len\n", 6, "'len' needs a value");
	parse_err(HDR_BE "send map need_reply=1\n", 6, "'need_reply' takes no value");
	parse_err(HDR_BE "send map len=1 len=2\n", 6, "'len' given twice");
	parse_err(HDR_BE "send map =5\n", 6, "without a name");
	parse_err(HDR_BE "send map flags=wx\n", 6, "expected rw, ro or a number");
	parse_err(HDR_BE "expect reply grade=maybe\n", 6, "expected one of must|should|info");
	parse_err(HDR_BE "send map on=side\n", 6, "expected one of main|backend");
	parse_err(HDR_BE "send SET_STATUS on=main u64=1 payload=00\n", 6, "u64= and payload=");
}
END_TEST

START_TEST(err_hex)
{
	parse_err(HDR_BE "send raw 123\n", 6, "odd number of hex digits");
	parse_err(HDR_BE "send raw zz\n", 6, "'zz' is not a hex byte");
	parse_err(HDR_BE "send map padding=0102\n", 6, "14 hex digits");
	parse_err(HDR_BE "send raw\n", 6, "usage: send raw HEX");
}
END_TEST

START_TEST(err_checks_arguments)
{
	parse_err(HDR_BE "requires pid\nfd a memfd\ncheck fds a\n", 8, "count=N is required");
	parse_err(HDR_BE "requires pid\nfd a memfd\ncheck mapped a prot=rwx\n", 8,
		  "prot=rwx");
	parse_err(HDR_BE "check finding NOT_A_CODE\n", 6, "unknown finding code");
	parse_err(HDR_BE "check findings some\n", 6, "usage: check findings none");
	parse_err(HDR_BE "expect order backend:reply\n", 6, "usage: expect order A B");
	parse_err(HDR_BE "expect order side:reply main:reply\n", 6, "unknown channel 'side'");
	parse_err(HDR_BE "handshake regions=1m,,2m\n", 6, "separated by commas");
	parse_err(HDR_BE "handshake regions=1m,x\n", 6, "'x' is not a size");
	parse_err(HDR_FE "handshake mem=4k\n", 6, "at least 64k");
	parse_err(HDR_BE "handshake config-size=3000\n", 6, "at most 2056");
	parse_err(HDR_BE "close main\n", 6, "usage: close backend");
}
END_TEST

START_TEST(errors_are_all_reported_with_lines)
{
	struct script_case c;
	char errbuf[ERRCAP];
	int n = parse(HDR_BE "send map len=x\nsleep 1\nsend map shmid=300\n"
		      "bogus\nend\n", &c, errbuf);

	ck_assert_int_eq(n, 4);
	ck_assert_ptr_nonnull(strstr(errbuf, PATH ":6: len=x"));
	ck_assert_ptr_nonnull(strstr(errbuf, PATH ":8: shmid=300"));
	ck_assert_ptr_nonnull(strstr(errbuf, PATH ":9: unknown keyword"));
	ck_assert_ptr_nonnull(strstr(errbuf, PATH ":10: 'end' without"));
}
END_TEST

START_TEST(error_count_is_capped_and_buffer_safe)
{
	struct script_case c;
	char text[4096] = HDR_BE, small[40], errbuf[ERRCAP];
	int n;

	for (int i = 0; i < 30; i++)
		strcat(text, "bogus\n");
	n = parse(text, &c, errbuf);
	ck_assert_int_eq(n, 31); /* and "no steps" */
	ck_assert_int_le((int)(strlen(errbuf) - strlen(strrchr(errbuf, '\n'))), 4000);
	ck_assert_ptr_null(strstr(errbuf, PATH ":16:")); /* the 11th is not printed */
	n = script_parse_text(PATH, text, &c, small, sizeof(small));
	ck_assert_int_eq(n, 31);
	ck_assert_uint_lt(strlen(small), sizeof(small));
}
END_TEST

TEST_CASE("good");

START_TEST(comments_and_blank_lines)
{
	struct script_case c;

	parse_ok("   # indented comment\n\n" HDR_BE
		 "   \t\n"
		 "sleep 5 # a comment after the arguments\n"
		 "send raw 00 #0000\n", &c);
	ck_assert_uint_eq(c.nsteps, 2);
	ck_assert_uint_eq(c.steps[0].count, 5);
	ck_assert_uint_eq(c.steps[1].data_len, 1);
	script_free(&c);
	/* Inside a word '#' is not a comment. */
	parse_err(HDR_BE "sleep 5#x\n", 6, "sleep 5#x");
}
END_TEST
