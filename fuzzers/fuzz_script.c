/* SPDX-License-Identifier: MIT */
/*
 * fuzz_script: the .vhu parser (harness/script) against arbitrary text.
 *
 * Input: one control byte, then the text (cut at the first NUL).
 *   control & 0x80: the text is a number for script_parse_u64 (bit 0x40:
 *                   suffixes allowed) instead of a case
 *   control & 0x3f: picks the error buffer's size (tiny ones test the
 *                   truncation of messages)
 * The case is parsed as suites/fuzz/fuzz_case.vhu, so seeds carry
 * `id fuzz_case` (fuzzers/gen_corpus.py rewrites it) and get past the
 * id check. A parsed case must be internally consistent (repeat/end
 * jumps, owned buffers, terminated strings); a rejected one must say
 * where, as path:line.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cursor.h"
#include "driver.h"
#include "script.h"

#define FUZZ_SCRIPT_PATH "suites/fuzz/fuzz_case.vhu"

struct script_fuzz {
	int unused; /* the parser is pure: nothing to set up */
};

void *fuzz_init(char *err, size_t errcap)
{
	struct script_fuzz *st = calloc(1, sizeof(*st));

	if (!st)
		strncpy(err, "out of memory", errcap - 1);
	return st;
}

void fuzz_fini(void *state)
{
	free(state);
}

static void check_terminated(const char *field, const char *s, size_t cap)
{
	if (!memchr(s, '\0', cap))
		fuzz_finding("script: %s is not NUL-terminated", field);
}

static void check_header(const struct script_case *c)
{
	check_terminated("file", c->file, sizeof(c->file));
	check_terminated("id", c->id, sizeof(c->id));
	check_terminated("title", c->title, sizeof(c->title));
	check_terminated("area", c->area, sizeof(c->area));
	check_terminated("rule", c->rule, sizeof(c->rule));
	check_terminated("reason", c->reason, sizeof(c->reason));
	if (strcmp(c->id, "fuzz_case") != 0)
		fuzz_finding("script: accepted id '%s' in fuzz_case.vhu", c->id);
	if (c->role != SCRIPT_ROLE_BACKEND && c->role != SCRIPT_ROLE_FRONTEND)
		fuzz_finding("script: role %d", c->role);
	if (c->level > SCRIPT_INFO)
		fuzz_finding("script: level %d", c->level);
	if (c->nsteps && !c->steps)
		fuzz_finding("script: %u steps, no array", c->nsteps);
}

/* repeat and end point at each other, properly nested. */
static void check_jumps(const struct script_case *c, unsigned i)
{
	const struct script_step *s = &c->steps[i];

	if (s->op == SCRIPT_REPEAT &&
	    (s->jump <= i || s->jump >= c->nsteps ||
	     c->steps[s->jump].op != SCRIPT_END || c->steps[s->jump].jump != i))
		fuzz_finding("script: repeat at step %u jumps to %u", i, s->jump);
	if (s->op == SCRIPT_END &&
	    (s->jump >= i || c->steps[s->jump].op != SCRIPT_REPEAT))
		fuzz_finding("script: end at step %u jumps to %u", i, s->jump);
}

static void check_steps(const struct script_case *c)
{
	for (unsigned i = 0; i < c->nsteps; i++) {
		const struct script_step *s = &c->steps[i];

		if (s->op > SCRIPT_EXPECT_RESULT)     /* the last op of script.h */
			fuzz_finding("script: step %u has op %d", i, s->op);
		if (!script_op_name(s->op))
			fuzz_finding("script: op %d has no name", s->op);
		if (s->data_len && !s->data)
			fuzz_finding("script: step %u: %zu bytes, no buffer", i,
				     s->data_len);
		if (s->data_len) /* ASan checks the buffer is that long */
			(void)((volatile const uint8_t *)s->data)[s->data_len - 1];
		if (s->grade > SCRIPT_INFO)
			fuzz_finding("script: step %u grade %d", i, s->grade);
		if (s->on != SCRIPT_MAIN && s->on != SCRIPT_BACKEND)
			fuzz_finding("script: step %u on channel %d", i, s->on);
		if (s->op == SCRIPT_SEND &&
		    s->u.send.nfds > SCRIPT_MAX_SEND_FDS)
			fuzz_finding("script: step %u sends %u fds", i,
				     s->u.send.nfds);
		check_jumps(c, i);
	}
}

static void check_errors(int rc, const char *err, size_t errcap)
{
	size_t plen = strlen(FUZZ_SCRIPT_PATH);

	if (rc < 0)
		fuzz_finding("script_parse_text returned %d", rc);
	check_terminated("error buffer", err, errcap);
	if (rc > 0 && errcap > plen + 1 && strncmp(err, FUZZ_SCRIPT_PATH, plen))
		fuzz_finding("script: error '%.60s' does not name the file", err);
}

static void fuzz_case_text(const char *text, size_t errcap)
{
	char *err = malloc(errcap);
	struct script_case *c = calloc(1, sizeof(*c));
	int rc;

	if (!err || !c)
		fuzz_finding("fuzz_script: out of memory");
	err[0] = '\0';
	rc = script_parse_text(FUZZ_SCRIPT_PATH, text, c, err, errcap);
	check_errors(rc, err, errcap);
	if (rc == 0) {
		check_header(c);
		check_steps(c);
		script_free(c);
	}
	free(c);
	free(err);
}

/* Plain decimal strings have an exact oracle: strtoull. */
static void fuzz_number(const char *text, bool suffix)
{
	uint64_t v = 0;
	int rc = script_parse_u64(text, suffix, &v);
	size_t n = strlen(text);
	unsigned long long want;
	char *end;

	if (rc != 0 && rc != -EINVAL && rc != -ERANGE)
		fuzz_finding("script_parse_u64 returned %d", rc);
	if (n == 0 || n > 19 || strspn(text, "0123456789") != n ||
	    (n > 1 && text[0] == '0'))
		return;
	want = strtoull(text, &end, 10);
	if (rc != 0 || v != want)
		fuzz_finding("script_parse_u64('%s') = %d, %llu", text, rc,
			     (unsigned long long)v);
}

int fuzz_one(void *state, const uint8_t *data, size_t size)
{
	static const size_t caps[8] = { 1, 8, 40, 64, 200, 1024, 4096, 8192 };
	struct cursor c;
	uint8_t ctl;
	const uint8_t *rest;
	size_t len;
	char *text;

	(void)state;
	cursor_init(&c, data, size);
	ctl = cursor_u8(&c);
	rest = cursor_rest(&c, &len);
	text = malloc(len + 1);
	if (!text)
		fuzz_finding("fuzz_script: out of memory");
	if (len)
		memcpy(text, rest, len);
	text[len] = '\0';
	if (ctl & 0x80)
		fuzz_number(text, (ctl & 0x40) != 0);
	else
		fuzz_case_text(text, caps[ctl & 7]);
	free(text);
	return FUZZ_KEEP;
}
