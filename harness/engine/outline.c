/* SPDX-License-Identifier: MIT */
/*
 * outline: the JSON a reducer reads (outline.h). One object:
 *
 *   {"id": "...", "header": [1, 2, ...],
 *    "steps": [{"line": 9, "op": "send", "defines": [], "uses": ["a"],
 *               "pair": null, "words": [{"w": "send"}, {"w": "len=0x1000",
 *               "num": true}, ...]}, ...]}
 *
 * header: the line numbers of the header lines (kept as written);
 * pair: for repeat and end, the index of the other one (a block goes
 * or stays whole); words: the step line without its comment.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "outline.h"
#include "result.h"

#define OUTLINE_LINE_MAX 4096
#define OUTLINE_FILE_MAX (1u << 20)

/* Line n (1-based) of text into buf, '' past the end. */
static void line_of(const char *text, unsigned n, char *buf, size_t cap)
{
	for (unsigned i = 1; i < n && *text; i++) {
		const char *nl = strchr(text, '\n');
		text = nl ? nl + 1 : text + strlen(text);
	}
	size_t len = strcspn(text, "\n");
	if (len >= cap)
		len = cap - 1;
	memcpy(buf, text, len);
	buf[len] = '\0';
}

static bool is_step_line(const struct script_case *c, unsigned line)
{
	for (unsigned i = 0; i < c->nsteps; i++)
		if (c->steps[i].line == line)
			return true;
	return false;
}

static bool is_blank_or_comment(const char *s)
{
	s += strspn(s, " \t\r");
	return *s == '\0' || *s == '#';
}

/* The words of a step line, as the parser splits it: '#' at the start
 * of a word begins a comment. */
static void put_words(FILE *f, char *s)
{
	bool first = true;
	char *save = NULL;

	fputs("[", f);
	for (char *w = strtok_r(s, " \t\r", &save); w; w = strtok_r(NULL, " \t\r", &save)) {
		const char *eq = strchr(w, '=');
		uint64_t v;

		if (w[0] == '#')
			break;
		fprintf(f, "%s{\"w\": ", first ? "" : ", ");
		result_json_fputs(f, w);
		if (eq && script_parse_u64(eq + 1, true, &v) == 0)
			fputs(", \"num\": true", f);
		fputs("}", f);
		first = false;
	}
	fputs("]", f);
}

static void put_names(FILE *f, const char (*names)[FDPOOL_NAME_MAX], unsigned n)
{
	fputs("[", f);
	for (unsigned i = 0; i < n; i++) {
		if (i)
			fputs(", ", f);
		result_json_fputs(f, names[i]);
	}
	fputs("]", f);
}

/* The fd names a step uses (those an `fd` step before it defined). */
static void put_uses(FILE *f, const struct script_step *s)
{
	switch (s->op) {
	case SCRIPT_SEND:
		put_names(f, (const char (*)[FDPOOL_NAME_MAX])s->u.send.fds, s->u.send.nfds);
		return;
	case SCRIPT_REPLY:
		put_names(f, (const char (*)[FDPOOL_NAME_MAX])&s->u.reply.fd,
			  s->u.reply.has_fd ? 1 : 0);
		return;
	case SCRIPT_CHECK_MAPPED:
	case SCRIPT_CHECK_UNMAPPED:
	case SCRIPT_CHECK_FDS:
		put_names(f, (const char (*)[FDPOOL_NAME_MAX])&s->u.chk.fd,
			  s->u.chk.fd[0] ? 1 : 0);
		return;
	default:
		fputs("[]", f);
	}
}

static void put_step(FILE *f, const struct script_case *c, unsigned i, char *buf)
{
	const struct script_step *s = &c->steps[i];

	fprintf(f, "%s{\"line\": %u, \"op\": ", i ? ", " : "", s->line);
	result_json_fputs(f, script_op_name(s->op));
	fputs(", \"defines\": ", f);
	put_names(f, (const char (*)[FDPOOL_NAME_MAX])&s->u.fd.name,
		  s->op == SCRIPT_FD ? 1 : 0);
	fputs(", \"uses\": ", f);
	put_uses(f, s);
	if (s->op == SCRIPT_REPEAT || s->op == SCRIPT_END)
		fprintf(f, ", \"pair\": %u", s->jump);
	else
		fputs(", \"pair\": null", f);
	fputs(", \"words\": ", f);
	put_words(f, buf);
	fputs("}", f);
}

int outline_write(FILE *f, const struct script_case *c, const char *text)
{
	char *buf = malloc(OUTLINE_LINE_MAX);
	unsigned nlines = 1;
	bool first = true;

	if (!buf)
		return -ENOMEM;
	for (const char *p = text; *p; p++)
		nlines += *p == '\n';
	fputs("{\"id\": ", f);
	result_json_fputs(f, c->id);
	fputs(", \"header\": [", f);
	for (unsigned n = 1; n <= nlines; n++) {
		line_of(text, n, buf, OUTLINE_LINE_MAX);
		if (is_step_line(c, n) || is_blank_or_comment(buf))
			continue;
		fprintf(f, "%s%u", first ? "" : ", ", n);
		first = false;
	}
	fputs("], \"steps\": [", f);
	for (unsigned i = 0; i < c->nsteps; i++) {
		line_of(text, c->steps[i].line, buf, OUTLINE_LINE_MAX);
		put_step(f, c, i, buf);
	}
	fputs("]}\n", f);
	free(buf);
	return 0;
}

int outline_file(FILE *f, const char *path, char *err, size_t errcap)
{
	struct script_case c;
	FILE *in = fopen(path, "re");
	char *text = malloc(OUTLINE_FILE_MAX + 1);
	size_t len = 0;
	int rc;

	if (!in || !text) {
		snprintf(err, errcap, "%s: %s\n", path, in ? "out of memory" : strerror(errno));
		if (in)
			fclose(in);
		free(text);
		return 1;
	}
	len = fread(text, 1, OUTLINE_FILE_MAX + 1, in);
	fclose(in);
	if (len > OUTLINE_FILE_MAX) {
		snprintf(err, errcap, "%s: larger than 1 MiB\n", path);
		free(text);
		return 1;
	}
	text[len] = '\0';
	rc = script_parse_text(path, text, &c, err, errcap);
	if (rc == 0) {
		rc = outline_write(f, &c, text) < 0 ? 1 : 0;
		if (rc)
			snprintf(err, errcap, "%s: out of memory\n", path);
		script_free(&c);
	}
	free(text);
	return rc;
}
