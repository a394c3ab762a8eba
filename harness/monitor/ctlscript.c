/* SPDX-License-Identifier: MIT */
#include "ctlscript.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *trim(char *s)
{
	char *end;

	while (*s == ' ' || *s == '\t')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
		*--end = '\0';
	return s;
}

static int parse_ms(const char *s, unsigned *out)
{
	char *end;
	unsigned long v;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *trim(end) || v > 600000)
		return -EINVAL;
	*out = (unsigned)v;
	return 0;
}

/* One non-blank, non-comment line into st. 0 or -EINVAL. */
static int parse_step(char *s, struct ctlscript_step *st, const char **why)
{
	char *rest = s + strcspn(s, " \t");

	if (*rest)
		*rest++ = '\0';
	rest = trim(rest);
	if (!strcmp(s, "frontend") || !strcmp(s, "backend")) {
		*why = "a control line to send";
		if (!*rest || strlen(rest) >= CTLSCRIPT_LINE_MAX)
			return -EINVAL;
		st->kind = CTLSCRIPT_SEND;
		st->side = s[0] == 'b';
		memcpy(st->line, rest, strlen(rest) + 1);
		return 0;
	}
	if (!strcmp(s, "sleep")) {
		*why = "sleep MS (up to 600000)";
		st->kind = CTLSCRIPT_SLEEP;
		return parse_ms(rest, &st->ms);
	}
	if (strcmp(s, "wait")) {
		*why = "expected frontend, backend, sleep or wait";
		return -EINVAL;
	}
	*why = "wait backend-channel | wait quiet MS";
	if (!strcmp(rest, "backend-channel")) {
		st->kind = CTLSCRIPT_WAIT_BACKEND_CHANNEL;
		return 0;
	}
	if (strncmp(rest, "quiet", 5) || (rest[5] != ' ' && rest[5] != '\t'))
		return -EINVAL;
	st->kind = CTLSCRIPT_WAIT_QUIET;
	return parse_ms(trim(rest + 5), &st->ms);
}

int ctlscript_parse(const char *text, const char *name, struct ctlscript *s,
		    char *err, size_t errcap)
{
	unsigned lineno = 0;
	const char *p = text;

	s->n = 0;
	while (*p) {
		size_t n = strcspn(p, "\n");
		char buf[1024], *line;
		const char *why = "";

		lineno++;
		snprintf(buf, sizeof(buf), "%.*s", (int)(n < 1023 ? n : 1023), p);
		p += n + (p[n] == '\n');
		line = trim(buf);
		if (!*line || *line == '#')
			continue;
		if (s->n == CTLSCRIPT_MAX_STEPS) {
			snprintf(err, errcap, "%s:%u: more than %u steps", name,
				 lineno, CTLSCRIPT_MAX_STEPS);
			return -EINVAL;
		}
		memset(&s->steps[s->n], 0, sizeof(s->steps[0]));
		s->steps[s->n].lineno = lineno;
		if (parse_step(line, &s->steps[s->n], &why) < 0) {
			snprintf(err, errcap, "%s:%u: %s", name, lineno, why);
			return -EINVAL;
		}
		s->n++;
	}
	return 0;
}

int ctlscript_load(const char *path, struct ctlscript *s, char *err,
		   size_t errcap)
{
	FILE *f = fopen(path, "re");
	char *text;
	size_t n;
	int rc;

	if (!f) {
		rc = -errno;
		snprintf(err, errcap, "%s: %s", path, strerror(errno));
		return rc;
	}
	text = malloc(256 * 1024 + 1);
	if (!text) {
		fclose(f);
		snprintf(err, errcap, "out of memory");
		return -ENOMEM;
	}
	n = fread(text, 1, 256 * 1024, f);
	text[n] = '\0';
	fclose(f);
	rc = ctlscript_parse(text, path, s, err, errcap);
	free(text);
	return rc;
}
