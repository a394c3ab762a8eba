/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for harness/casecheck: the model of MAP/UNMAP outcomes that
 * `vhucheck-harness --check-cases` judges the cases' expectations with.
 *
 * Each case text marks the lines that must be findings with "# F" (a
 * comment to the parser); every test asserts exactly that set, so a model
 * that judges too little or too much fails it. Most tests also hold the
 * same steps with the expectation turned the other way.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "casecheck.h"
#include "script.h"
#include "vhutest.h"

#define PATH "suites/C-map/t.vhu"
#define HDR "id t\ntitle A title\ntarget frontend\nrule 6: a rule\nlevel MUST\n" \
	    "requires SHMEM REPLY_ACK BACKEND_REQ BACKEND_SEND_FD control pid\n"
#define ERRCAP 8192

static struct casecheck_report rep;

/* Parses HDR + body and runs the checker into rep. */
static void run_case(const char *body)
{
	struct script_case c;
	char err[ERRCAP], text[16384];

	snprintf(text, sizeof(text), "%s%s", HDR, body);
	err[0] = '\0';
	ck_assert_msg(script_parse_text(PATH, text, &c, err, sizeof(err)) == 0,
		      "parse errors:\n%s", err);
	ck_assert_int_eq(casecheck_case(&c, &rep, err, sizeof(err)), 0);
	script_free(&c);
}

static bool has_finding(unsigned line)
{
	for (unsigned i = 0; i < rep.nfindings; i++)
		if (rep.f[i].line == line)
			return true;
	return false;
}

/* The findings are exactly the lines marked "# F". */
static void expect_findings(const char *body)
{
	unsigned line = 7, marked = 0;      /* HDR is 6 lines */
	char all[4096] = "";

	run_case(body);
	for (unsigned i = 0; i < rep.nfindings; i++) {
		size_t n = strlen(all);

		snprintf(all + n, sizeof(all) - n, "%u: %s\n", rep.f[i].line,
			 rep.f[i].msg);
	}
	for (const char *p = body; *p; p++) {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);
		bool mark = len >= 3 && memcmp(p + len - 3, "# F", 3) == 0;

		if (mark) {
			marked++;
			ck_assert_msg(has_finding(line), "no finding at line %u; got:\n%s",
				      line, all);
		}
		if (!eol)
			break;
		p = eol;
		line++;
	}
	ck_assert_msg(rep.nfindings == marked, "%u findings, %u marked:\n%s",
		      rep.nfindings, marked, all);
}

/* The message of the only finding contains what. */
static void finding_says(const char *what)
{
	ck_assert_uint_ge(rep.nfindings, 1);
	ck_assert_msg(strstr(rep.f[0].msg, what) != NULL, "want '%s' in: %s",
		      what, rep.f[0].msg);
}

#define BASE "handshake regions=1m\nfd a memfd size=64k\n"
#define MAP(off, len) "send map shmid=0 shm_offset=" off " len=" len " fd=a need_reply\n"
#define UNMAP(off, len) "send unmap shmid=0 shm_offset=" off " len=" len " need_reply\n"
#define OK "expect reply value=0\n"
#define OK_F "expect reply value=0 # F\n"
#define NZ "expect reply value=nonzero\n"
#define NZ_F "expect reply value=nonzero # F\n"

/* ---- MAP over a live mapping ---- */

TEST_CASE("map");

START_TEST(overlap_equal)
{
	expect_findings(BASE MAP("0x2000", "0x2000") OK MAP("0x2000", "0x2000") NZ);
	expect_findings(BASE MAP("0x2000", "0x2000") OK MAP("0x2000", "0x2000") OK_F);
	finding_says("must fail: it overlaps the live mapping [0x2000, 0x4000) of line 9");
}
END_TEST

START_TEST(overlap_inside)
{
	expect_findings(BASE MAP("0x2000", "0x4000") OK MAP("0x3000", "0x1000") NZ);
	expect_findings(BASE MAP("0x2000", "0x4000") OK MAP("0x3000", "0x1000") OK_F);
	/* the other way round: a superset of the live one */
	expect_findings(BASE MAP("0x3000", "0x1000") OK MAP("0x2000", "0x4000") OK_F);
}
END_TEST

START_TEST(overlap_straddle)
{
	expect_findings(BASE MAP("0x2000", "0x2000") OK MAP("0x1000", "0x2000") OK_F
			MAP("0x3000", "0x2000") OK_F MAP("0x3fff", "0x1") OK_F);
	expect_findings(BASE MAP("0x2000", "0x2000") OK MAP("0x1000", "0x2000") NZ
			MAP("0x3000", "0x2000") NZ);
}
END_TEST

START_TEST(overlap_touching_is_free)
{
	/* Half-open: [0x1000, 0x2000) and [0x4000, 0x5000) touch, do not overlap. */
	expect_findings(BASE MAP("0x2000", "0x2000") OK MAP("0x1000", "0x1000") OK
			MAP("0x4000", "0x1000") OK);
	expect_findings(BASE MAP("0x2000", "0x2000") OK MAP("0x1000", "0x1000") NZ_F
			MAP("0x4000", "0x1000") NZ_F);
	finding_says("must succeed");
}
END_TEST

START_TEST(overlap_other_shmid_is_free)
{
	expect_findings("handshake regions=1m,1m\nfd a memfd size=64k\n"
			MAP("0x2000", "0x1000") OK
			"send map shmid=1 shm_offset=0x2000 len=0x1000 fd=a need_reply\n"
			NZ_F);
}
END_TEST

/* ---- bounds, wrap, regions ---- */

START_TEST(bounds)
{
	expect_findings(BASE MAP("0xff000", "0x1000") OK MAP("0xff000", "0x2000") NZ
			MAP("0x100000", "0x1000") NZ MAP("0", "0x101000") NZ);
	expect_findings(BASE MAP("0xff000", "0x1000") NZ_F MAP("0xfe000", "0x2001") OK_F
			MAP("0x100000", "0x1000") OK_F);
	expect_findings(BASE MAP("0xff000", "0x2000") OK_F);
	finding_says("[0xff000, 0x101000) is outside the region of 0x100000 bytes");
}
END_TEST

START_TEST(wrap)
{
	expect_findings(BASE MAP("0xfffffffffffff000", "0x2000") NZ
			MAP("0x2000", "0xfffffffffffff000") NZ MAP("0", "0xffffffffffffffff") NZ);
	expect_findings(BASE MAP("0xfffffffffffff000", "0x2000") OK_F);
	finding_says("wraps");
	/* an unaligned len does not make a wrap open */
	expect_findings(BASE MAP("0xfffffffffffff000", "0x1001") OK_F);
}
END_TEST

START_TEST(unknown_shmid)
{
	expect_findings(BASE "send map shmid=1 shm_offset=0 len=0x1000 fd=a need_reply\n" OK_F
			"send map shmid=255 shm_offset=0 len=0x1000 fd=a need_reply\n" NZ);
	finding_says("shmid 1 has no region");
	/* a size-0 entry between two regions */
	expect_findings("handshake regions=1m,0,1m\nfd a memfd size=64k\n"
			"send map shmid=1 shm_offset=0 len=0x1000 fd=a need_reply\n" OK_F
			"send map shmid=2 shm_offset=0 len=0x1000 fd=a need_reply\n" OK);
}
END_TEST

START_TEST(nregions_readings)
{
	/* shmid 2: the first nregions entries say 0, every non-zero entry
	 * says 1m: not judged; shmid 0 and 1 agree under both readings. */
	expect_findings("handshake nregions=1 regions=1m,0,1m\nfd a memfd size=64k\n"
			"send map shmid=2 shm_offset=0 len=0x1000 fd=a need_reply\n" NZ
			"send map shmid=1 shm_offset=0 len=0x1000 fd=a need_reply\n" OK_F
			"send map shmid=0 shm_offset=0 len=0x1000 fd=a need_reply\n" NZ_F);
	/* a bent config reply: nothing about the layout is known */
	expect_findings("handshake regions=1m config-size=8\nfd a memfd size=64k\n"
			MAP("0x200000", "0x1000") OK MAP("0", "0x1000") NZ);
}
END_TEST

/* ---- UNMAP: exactly one whole live mapping ---- */

TEST_CASE("unmap");

START_TEST(unmap_exact)
{
	expect_findings(BASE MAP("0x2000", "0x4000") OK UNMAP("0x2000", "0x4000") OK
			UNMAP("0x2000", "0x4000") NZ MAP("0x2000", "0x4000") OK);
	expect_findings(BASE MAP("0x2000", "0x4000") OK UNMAP("0x2000", "0x4000") NZ_F
			UNMAP("0x2000", "0x4000") OK_F MAP("0x2000", "0x4000") NZ_F);
}
END_TEST

START_TEST(unmap_partial_superset_shifted)
{
	expect_findings(BASE MAP("0x2000", "0x4000") OK
			UNMAP("0x2000", "0x1000") NZ UNMAP("0x3000", "0x1000") NZ
			UNMAP("0x5000", "0x1000") NZ UNMAP("0x1000", "0x6000") NZ
			UNMAP("0x3000", "0x4000") NZ UNMAP("0x2000", "0") NZ
			UNMAP("0x2000", "0x4000") OK);
	expect_findings(BASE MAP("0x2000", "0x4000") OK
			UNMAP("0x2000", "0x1000") OK_F UNMAP("0x1000", "0x6000") OK_F
			UNMAP("0x3000", "0x4000") OK_F);
	finding_says("not exactly the live mapping [0x2000, 0x6000) of line 9");
}
END_TEST

START_TEST(unmap_unknown)
{
	expect_findings(BASE UNMAP("0x2000", "0x1000") OK_F
			"send unmap shmid=200 shm_offset=0 len=0x1000 need_reply\n" OK_F);
	/* two live mappings: spanning both is neither */
	expect_findings(BASE MAP("0x2000", "0x1000") OK MAP("0x3000", "0x1000") OK
			UNMAP("0x2000", "0x2000") OK_F UNMAP("0x3000", "0x1000") OK);
}
END_TEST

/* ---- lifecycle ---- */

TEST_CASE("state");

START_TEST(reset_clears)
{
	expect_findings(BASE MAP("0x2000", "0x1000") OK "control reset\ncontrol start\n"
			MAP("0x2000", "0x1000") OK UNMAP("0x8000", "0x1000") NZ);
	expect_findings(BASE MAP("0x2000", "0x1000") OK "control reset\ncontrol start\n"
			MAP("0x2000", "0x1000") NZ_F);
	/* before the new start a valid MAP may go either way; an UNMAP of
	 * the old range can only fail */
	expect_findings(BASE MAP("0x2000", "0x1000") OK "control reset\n"
			MAP("0x8000", "0x1000") NZ UNMAP("0x2000", "0x1000") OK_F);
}
END_TEST

START_TEST(stop_and_reconnect_unknown)
{
	/* what a stop leaves mapped is not said: not judged either way */
	expect_findings(BASE MAP("0x2000", "0x1000") OK "control stop\ncontrol start\n"
			MAP("0x2000", "0x1000") OK UNMAP("0x2000", "0x1000") NZ);
	/* bounds still hold, and a shmid nothing was mapped in is known */
	expect_findings("handshake regions=1m,1m\nfd a memfd size=64k\n"
			MAP("0x2000", "0x1000") OK "control stop\ncontrol start\n"
			MAP("0x100000", "0x1000") OK_F
			"send map shmid=1 shm_offset=0 len=0x1000 fd=a need_reply\n" NZ_F);
	/* reconnect with another size: that region is not known */
	expect_findings(BASE "control reconnect\nhandshake regions=4m\n"
			MAP("0x200000", "0x1000") NZ);
	expect_findings(BASE "control reconnect\nhandshake regions=1m\n"
			MAP("0x200000", "0x1000") OK_F);
}
END_TEST

/* ---- what the spec leaves open ---- */

START_TEST(open_outcome_not_judged)
{
	static const char *const open[] = {
		"send map shm_offset=0x2000 len=0 fd=a need_reply\n",
		"send map shm_offset=0x2000 len=0x1001 fd=a need_reply\n",
		"send map shm_offset=0x2000 flags=0x3 fd=a need_reply\n",
		"send map shm_offset=0x2000 padding=01000000000000 fd=a need_reply\n",
		"send map shm_offset=0x2000 need_reply\n",
		"send map shm_offset=0x2000 fd=a,b need_reply\n",
		"send map shm_offset=0x2000 fd=p need_reply\n",
		"send map shm_offset=0x2000 fd=s need_reply\n",
		"send map shm_offset=0x2000 fd=r flags=rw need_reply\n",
		"send map shm_offset=0x2000 fd=r flags=ro need_reply\n",
		"send map shm_offset=0x2000 fd_offset=0x10000 fd=a need_reply\n",
		"send map shm_offset=0x2000 fd=a hdr_flags=0x109 need_reply\n",
	};
	char body[1024];

	for (size_t i = 0; i < sizeof(open) / sizeof(open[0]); i++) {
		for (int v = 0; v < 2; v++) {
			snprintf(body, sizeof(body), "%sfd b memfd\nfd p pipe\nfd s "
				 "memfd-sealed\nfd r rdonly-file\n%s%s", BASE, open[i],
				 v ? NZ : OK);
			expect_findings(body);
		}
	}
	/* a plain memfd, ro: nothing is open */
	expect_findings(BASE "send map shm_offset=0x2000 fd=a flags=ro need_reply\n" NZ_F);
	/* an UNMAP's fd_offset, flags and fd: a strict refusal is allowed */
	expect_findings(BASE MAP("0x2000", "0x1000") OK
			"send unmap shm_offset=0x2000 fd_offset=0x1000 need_reply\n" NZ);
	expect_findings(BASE MAP("0x2000", "0x1000") OK
			"send unmap shm_offset=0x2000 fd=a need_reply\n" NZ
			MAP("0x2000", "0x1000") OK_F);
}
END_TEST

START_TEST(open_outcome_splits)
{
	/* The known bug: [0x2000, 0x3001) holds byte 0x3000. */
	expect_findings(BASE MAP("0x2000", "0x1001") "expect reply\n"
			MAP("0x3000", "0x1000") OK_F);
	finding_says("in a front-end that accepted the MAP of line 9");
	/* and the other way: refused, the range is free */
	expect_findings(BASE MAP("0x2000", "0x1001") "expect reply\n"
			MAP("0x3000", "0x1000") NZ_F);
	finding_says("refused the MAP of line 9");
	expect_findings(BASE MAP("0x2000", "0x1001") "expect reply\n"
			MAP("0x4000", "0x1000") OK);
	/* len 0 accepted is an empty range: it blocks nothing */
	expect_findings(BASE MAP("0x2000", "0") "expect reply\n"
			MAP("0x2000", "0x1000") OK);
}
END_TEST

START_TEST(assert_prunes)
{
	/* The case stops where the open MAP was accepted. */
	expect_findings(BASE MAP("0x2000", "0x1001") "assert reply value=nonzero\n"
			MAP("0x2000", "0x1000") OK);
	expect_findings(BASE MAP("0x2000", "0x1001") "expect reply value=nonzero\n"
			MAP("0x2000", "0x1000") OK_F);
	expect_findings(BASE MAP("0x2000", "0x1000") "assert reply value=0\n"
			MAP("0x2000", "0x1000") OK_F);
	/* a check that stops the case where the model cannot tell */
	expect_findings(BASE MAP("0x2000", "0x1001") "expect reply\n"
			"assert mapped a\n" MAP("0x3000", "0x1000") NZ);
	/* require: where the MAP was not refused the case is UNSUPPORTED */
	expect_findings(BASE MAP("0x2000", "0x1001") "require reply value=nonzero\n"
			MAP("0x2000", "0x1000") OK);
}
END_TEST

START_TEST(unknown_state_suppressed)
{
	static const char *const lose[] = {
		"send map shm_offset=0x2000 fd=a need_reply size=8 truncate=8\nexpect reply\n",
		"send map shm_offset=0x2000 fd=a need_reply payload=00\nexpect reply\n",
		"send raw 0900000009000000\n",
		"send SHMEM_MAP need_reply\nexpect reply\n",
		"close backend\n",
		"control quit\n",
	};
	char body[1024];

	for (size_t i = 0; i < sizeof(lose) / sizeof(lose[0]); i++) {
		snprintf(body, sizeof(body), "%s%s" MAP("0x2000", "0x1000") "%s",
			 BASE, lose[i], NZ);
		expect_findings(body);
		ck_assert_uint_ne(rep.stop_line, 0);
	}
	/* SHMEM not negotiated, no back-end channel: nothing is judged */
	expect_findings("handshake shmem=off\nfd a memfd\n" MAP("0x200000", "0x1000") OK);
	expect_findings("handshake shmem=offer-only\nfd a memfd\n" MAP("0", "0x1000") NZ);
	/* a size no back-end may send: only what must fail is judged */
	expect_findings("handshake regions=0x1800\nfd a memfd\n" MAP("0", "0x1000") NZ
			MAP("0x1000", "0x1000") OK_F MAP("0", "0x1000") OK);
	/* without REPLY_ACK no reply is paired with the MAP */
	expect_findings("handshake reply-ack=off regions=1m\nfd a memfd\n"
			MAP("0x200000", "0x1000") OK);
}
END_TEST

/* ---- replies in line, repeat ---- */

START_TEST(replies_in_order)
{
	expect_findings(BASE MAP("0x2000", "0x1000") MAP("0x2000", "0x1000")
			MAP("0x4000", "0x1000") OK NZ OK);
	expect_findings(BASE MAP("0x2000", "0x1000") MAP("0x2000", "0x1000")
			MAP("0x4000", "0x1000") OK OK_F NZ_F);
	/* a MAP without need_reply takes no place in line, but maps */
	expect_findings(BASE "send map shm_offset=0x2000 fd=a\n"
			MAP("0x2000", "0x1000") OK_F "send 99 need_reply\n" NZ);
	/* another request's reply comes first and is not judged */
	expect_findings(BASE "send 99 need_reply\n" MAP("0x2000", "0x1000") NZ NZ_F);
	finding_says("the MAP of line 10 (shmid 0 [0x2000, 0x3000)) must succeed");
}
END_TEST

START_TEST(repeat_followed)
{
	expect_findings(BASE "repeat 3\n" MAP("0x2000", "0x1000") OK UNMAP("0x2000", "0x1000")
			OK "end\n" MAP("0x2000", "0x1000") OK);
	/* the second turn finds the first one's mapping: one finding */
	expect_findings(BASE "repeat 3\n" MAP("0x2000", "0x1000") OK_F "end\n");
	finding_says("of line 10");
	expect_findings(BASE "repeat 0\n" MAP("0x2000", "0x1000") NZ "end\n"
			MAP("0x2000", "0x1000") OK);
}
END_TEST

START_TEST(frontend_cases_skipped)
{
	struct script_case c;
	char err[ERRCAP];

	ck_assert_int_eq(script_parse_text(PATH, "id t\ntitle x\ntarget backend\n"
					   "rule 12H: x\nlevel MUST\nhandshake\n",
					   &c, err, sizeof(err)), 0);
	ck_assert_int_eq(casecheck_case(&c, &rep, err, sizeof(err)), 0);
	ck_assert_uint_eq(rep.nfindings + rep.judged + rep.open, 0);
	script_free(&c);
}
END_TEST
