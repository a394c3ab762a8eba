/* SPDX-License-Identifier: MIT */
/* caselist: case headers as JSON lines (caselist.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "caselist.h"
#include "scriptctx.h"
#include "result.h"
#include "script.h"

#define CASELIST_ERRCAP 4096

static void put_field(FILE *f, const char *key, const char *value)
{
	fprintf(f, ", \"%s\": ", key);
	result_json_fputs(f, value);
}

/* A blank-separated list as a JSON array of strings. */
static void put_words(FILE *f, const char *key, const char *text)
{
	char buf[sizeof(((struct script_case *)0)->requires_text)], *save = NULL;
	bool first = true;

	snprintf(buf, sizeof(buf), "%s", text);
	fprintf(f, ", \"%s\": [", key);
	for (char *w = strtok_r(buf, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
		fputs(first ? "" : ", ", f);
		result_json_fputs(f, w);
		first = false;
	}
	fputs("]", f);
}

/* The ms a case waits by design when its target behaves: sleeps and
 * windows of silence (expect no-reply / no-msg), repeats counted, before
 * the timeout multiplier. The runner schedules such cases first and
 * beside the busy ones (execute.py); a case that waits for an event
 * that never comes is known only from an earlier run's durations. */
static uint64_t case_wait_ms(const struct script_case *c)
{
	uint64_t times[SCTX_MAX_DEPTH + 1] = { 1 }, total = 0;
	unsigned depth = 0;

	for (unsigned i = 0; i < c->nsteps; i++) {
		const struct script_step *st = &c->steps[i];

		if (st->op == SCRIPT_REPEAT && depth < SCTX_MAX_DEPTH) {
			/* repeat counts are at most 1e6: saturate, not wrap */
			times[depth + 1] = st->count && times[depth] > UINT32_MAX
						   ? UINT64_MAX / 2 : times[depth] * st->count;
			depth++;
		} else if (st->op == SCRIPT_END && depth > 0) {
			depth--;
		} else if (st->op == SCRIPT_SLEEP) {
			total += times[depth] * st->count;
		} else if (st->op == SCRIPT_EXPECT_NO_REPLY ||
			   st->op == SCRIPT_EXPECT_NO_MSG) {
			total += times[depth] * (uint64_t)st->within_ms;
		}
	}
	return total;
}

/* err holds "path:line: message\n" lines. */
static void put_errors(FILE *f, char *err)
{
	char *save = NULL;
	bool first = true;

	fputs(", \"errors\": [", f);
	for (char *l = strtok_r(err, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		fputs(first ? "" : ", ", f);
		result_json_fputs(f, l);
		first = false;
	}
	fputs("]", f);
}

int caselist_write(FILE *f, const char *path)
{
	struct script_case *c = malloc(sizeof(*c));
	char *err = malloc(CASELIST_ERRCAP);
	int nerr;

	if (!c || !err) {
		free(c);
		free(err);
		return -ENOMEM;
	}
	err[0] = '\0';
	nerr = script_parse_file(path, c, err, CASELIST_ERRCAP);
	fputs("{\"file\": ", f);
	result_json_fputs(f, path);
	put_field(f, "id", c->id);
	put_field(f, "title", c->title);
	put_field(f, "area", c->area);
	put_field(f, "role", script_target_role_name(c->role));
	put_field(f, "rule", c->rule);
	put_field(f, "level", script_grade_name(c->level));
	put_field(f, "reason", c->reason);
	put_words(f, "requires", c->requires_text);
	fprintf(f, ", \"timeout_ms\": %llu, \"header_ok\": %s",
		(unsigned long long)c->timeout_ms,
		c->header_errors == 0 && c->id[0] ? "true" : "false");
	fprintf(f, ", \"wait_ms\": %llu",
		(unsigned long long)(nerr == 0 ? case_wait_ms(c) : 0));
	put_errors(f, err);
	fputs("}\n", f);
	if (nerr == 0)
		script_free(c);
	free(c);
	free(err);
	return ferror(f) ? -EIO : 0;
}
