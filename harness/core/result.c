/* SPDX-License-Identifier: MIT */
#include "result.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const verdict_names[] = {
	[RESULT_PASS] = "PASS",
	[RESULT_INFO] = "INFO",
	[RESULT_NON_STRICT] = "NON-STRICT",
	[RESULT_FAIL] = "FAIL",
	[RESULT_TIMEOUT] = "TIMEOUT",
	[RESULT_DEADLOCK] = "DEADLOCK",
	[RESULT_CRASH] = "CRASH",
	[RESULT_ERROR] = "ERROR",
	[RESULT_UNSUPPORTED] = "UNSUPPORTED",
};

const char *result_verdict_name(enum result_verdict v)
{
	if ((unsigned)v < sizeof(verdict_names) / sizeof(verdict_names[0]))
		return verdict_names[v];
	return "ERROR";
}

enum result_verdict result_verdict_max(enum result_verdict a,
				       enum result_verdict b)
{
	/* ERROR and CRASH outrank UNSUPPORTED: they can happen before the
	 * requirement check could be made. */
	if (a == RESULT_UNSUPPORTED)
		return b >= RESULT_CRASH && b != RESULT_UNSUPPORTED ? b : a;
	if (b == RESULT_UNSUPPORTED)
		return a >= RESULT_CRASH ? a : b;
	return a > b ? a : b;
}

void result_init(struct result *r)
{
	memset(r, 0, sizeof(*r));
	r->verdict = RESULT_PASS;
	r->exit_code = -1;
}

void result_set(char *dst, size_t cap, const char *src)
{
	if (cap == 0)
		return;
	snprintf(dst, cap, "%s", src ? src : "");
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0. */
static size_t utf8_seq_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t len;
	unsigned char lo = 0x80, hi = 0xbf;

	if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4;
	else
		return 0;
	if (n < len)
		return 0;
	/* The second byte's range excludes overlongs, surrogates and
	 * code points above U+10FFFF. */
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return len;
}

static void put(char *out, size_t cap, size_t *pos, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++, (*pos)++)
		if (*pos + 1 < cap)
			out[*pos] = s[i];
}

size_t result_json_escape(const char *s, size_t n, char *out, size_t cap)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t pos = 0;
	char esc[8];

	for (size_t i = 0; i < n;) {
		unsigned char c = u[i];
		size_t seq;

		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			put(out, cap, &pos, esc, 2);
		} else if (c == '\n') {
			put(out, cap, &pos, "\\n", 2);
		} else if (c == '\t') {
			put(out, cap, &pos, "\\t", 2);
		} else if (c == '\r') {
			put(out, cap, &pos, "\\r", 2);
		} else if (c < 0x20 || c == 0x7f) {
			snprintf(esc, sizeof(esc), "\\u%04x", c);
			put(out, cap, &pos, esc, 6);
		} else if (c < 0x80) {
			put(out, cap, &pos, (const char *)&u[i], 1);
		} else if ((seq = utf8_seq_len(&u[i], n - i)) > 0) {
			put(out, cap, &pos, (const char *)&u[i], seq);
			i += seq;
			continue;
		} else {
			snprintf(esc, sizeof(esc), "\\u%04x", c);
			put(out, cap, &pos, esc, 6);
		}
		i++;
	}
	if (cap > 0)
		out[pos < cap ? pos : cap - 1] = '\0';
	return pos;
}

/* A growing string; on allocation failure it stays failed. */
struct jbuf {
	char *p;
	size_t len, cap;
	bool failed;
};

static bool jb_reserve(struct jbuf *b, size_t extra)
{
	if (b->failed)
		return false;
	if (b->len + extra + 1 <= b->cap)
		return true;
	size_t ncap = b->cap ? b->cap : 4096;
	while (ncap < b->len + extra + 1)
		ncap *= 2;
	char *np = realloc(b->p, ncap);
	if (!np) {
		b->failed = true;
		return false;
	}
	b->p = np;
	b->cap = ncap;
	return true;
}

static void jb_raw(struct jbuf *b, const char *s)
{
	size_t n = strlen(s);

	if (!jb_reserve(b, n))
		return;
	memcpy(b->p + b->len, s, n + 1);
	b->len += n;
}

static void jb_str(struct jbuf *b, const char *s)
{
	size_t n = strlen(s);
	size_t need = result_json_escape(s, n, NULL, 0);

	if (!jb_reserve(b, need + 2))
		return;
	b->p[b->len++] = '"';
	result_json_escape(s, n, b->p + b->len, need + 1);
	b->len += need;
	b->p[b->len++] = '"';
	b->p[b->len] = '\0';
}

/* ", \"key\": " then the escaped string value. */
static void jb_kstr(struct jbuf *b, const char *key, const char *val,
		    bool first)
{
	jb_raw(b, first ? "\"" : ", \"");
	jb_raw(b, key);
	jb_raw(b, "\": ");
	jb_str(b, val);
}

static void jb_kfmt(struct jbuf *b, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void jb_kfmt(struct jbuf *b, const char *key, const char *fmt, ...)
{
	char tmp[64];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	jb_raw(b, ", \"");
	jb_raw(b, key);
	jb_raw(b, "\": ");
	jb_raw(b, tmp);
}

static void jb_failures(struct jbuf *b, const struct result *r)
{
	jb_raw(b, ", \"failures\": [");
	for (unsigned i = 0; i < r->nfailures && i < RESULT_MAX_FAILURES; i++) {
		const struct result_failure *f = &r->failures[i];
		char line[32];

		snprintf(line, sizeof(line), "%s{\"line\": %u", i ? ", " : "",
			 f->line);
		jb_raw(b, line);
		jb_kstr(b, "grade", f->grade, false);
		jb_kstr(b, "expected", f->expected, false);
		jb_kstr(b, "observed", f->observed, false);
		jb_raw(b, "}");
	}
	jb_raw(b, "]");
}

static void jb_findings(struct jbuf *b, const struct result *r)
{
	jb_raw(b, ", \"findings\": [");
	for (unsigned i = 0; i < r->nfindings && i < RESULT_MAX_FINDINGS; i++) {
		const struct result_finding *f = &r->findings[i];

		jb_raw(b, i ? ", {" : "{");
		jb_kstr(b, "code", f->code, true);
		jb_kstr(b, "severity", f->severity, false);
		jb_kstr(b, "msg", f->msg, false);
		jb_kstr(b, "text", f->text, false);
		jb_raw(b, "}");
	}
	jb_raw(b, "]");
}

static void jb_nullable_str(struct jbuf *b, const char *key, const char *val)
{
	if (val[0]) {
		jb_kstr(b, key, val, false);
	} else {
		jb_raw(b, ", \"");
		jb_raw(b, key);
		jb_raw(b, "\": null");
	}
}

static void jb_target(struct jbuf *b, const struct result *r)
{
	char num[64];

	if (r->pid > 0)
		snprintf(num, sizeof(num), "%ld", (long)r->pid);
	else
		snprintf(num, sizeof(num), "null");
	jb_raw(b, ", \"target\": {\"pid\": ");
	jb_raw(b, num);
	if (r->exited)
		snprintf(num, sizeof(num), "%d", r->exit_code);
	else
		snprintf(num, sizeof(num), "null");
	jb_raw(b, ", \"exit\": ");
	jb_raw(b, num);
	jb_nullable_str(b, "signal", r->signal);
	jb_nullable_str(b, "stderr", r->stderr_path);
	jb_raw(b, "}");
}

char *result_to_json(const struct result *r)
{
	struct jbuf b = { 0 };

	jb_raw(&b, "{");
	jb_kstr(&b, "id", r->id, true);
	jb_kstr(&b, "file", r->file, false);
	jb_kstr(&b, "title", r->title, false);
	jb_kstr(&b, "area", r->area, false);
	jb_kstr(&b, "role", r->role, false);
	jb_kstr(&b, "level", r->level, false);
	jb_kstr(&b, "rule", r->rule, false);
	jb_kstr(&b, "verdict", result_verdict_name(r->verdict), false);
	jb_kfmt(&b, "duration_ms", "%.2f", r->duration_ms);
	jb_kstr(&b, "reason", r->reason, false);
	jb_kstr(&b, "expected", r->expected, false);
	jb_kstr(&b, "observed", r->observed, false);
	jb_failures(&b, r);
	jb_kfmt(&b, "failures_dropped", "%u", r->failures_dropped);
	jb_findings(&b, r);
	jb_kfmt(&b, "findings_dropped", "%u", r->findings_dropped);
	jb_nullable_str(&b, "trace", r->trace);
	jb_target(&b, r);
	jb_raw(&b, "}\n");
	if (b.failed) {
		free(b.p);
		return NULL;
	}
	return b.p;
}

int result_write(int fd, const struct result *r)
{
	char *line = result_to_json(r);
	size_t len, off = 0;

	if (!line)
		return -ENOMEM;
	len = strlen(line);
	while (off < len) {
		ssize_t n = write(fd, line + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int err = n < 0 ? -errno : -EIO;

			free(line);
			return err;
		}
		off += (size_t)n;
	}
	free(line);
	return 0;
}

void result_json_fputs(FILE *f, const char *s)
{
	size_t n = strlen(s), need = result_json_escape(s, n, NULL, 0);
	char *buf = malloc(need + 1);

	if (!buf) {
		fputs("\"\"", f);
		return;
	}
	result_json_escape(s, n, buf, need + 1);
	fprintf(f, "\"%s\"", buf);
	free(buf);
}
