/* SPDX-License-Identifier: MIT */
#include "etext.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void etext_init(struct etext *t)
{
	memset(t, 0, sizeof(*t));
}

void etext_free(struct etext *t)
{
	free(t->buf);
	free(t->steps);
	etext_init(t);
}

static bool reserve(struct etext *t, size_t more)
{
	size_t cap = t->cap ? t->cap : 4096;
	char *nb;

	if (t->oom)
		return false;
	if (t->len + more + 1 <= t->cap)
		return true;
	while (cap < t->len + more + 1)
		cap *= 2;
	nb = realloc(t->buf, cap);
	if (!nb) {
		t->oom = true;
		return false;
	}
	t->buf = nb;
	t->cap = cap;
	return true;
}

static void vline(struct etext *t, const char *suffix, const char *fmt,
		  va_list ap)
{
	va_list cp;
	int n;

	va_copy(cp, ap);
	n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	if (n < 0 || !reserve(t, (size_t)n + strlen(suffix) + 1))
		return;
	vsnprintf(t->buf + t->len, (size_t)n + 1, fmt, ap);
	t->len += (size_t)n;
	memcpy(t->buf + t->len, suffix, strlen(suffix));
	t->len += strlen(suffix);
	t->buf[t->len++] = '\n';
	t->buf[t->len] = '\0';
	t->lines++;
}

void etext_line(struct etext *t, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vline(t, "", fmt, ap);
	va_end(ap);
}

static void add_step(struct etext *t, const struct emitcase_step *s)
{
	struct emitcase_step *ns;

	if (t->oom || t->nsteps >= EMITCASE_MAX_STEPS)
		return;
	if ((t->nsteps & 63) == 0) {
		ns = realloc(t->steps, (t->nsteps + 64) * sizeof(*ns));
		if (!ns) {
			t->oom = true;
			return;
		}
		t->steps = ns;
	}
	t->steps[t->nsteps++] = *s;
}

void etext_graded(struct etext *t, const char *kind, bool must,
		  const char *rule, const char *fmt, ...)
{
	struct emitcase_step s = { .must = must };
	va_list ap;

	va_start(ap, fmt);
	vline(t, must ? "" : " grade=should", fmt, ap);
	va_end(ap);
	s.line = t->lines;
	snprintf(s.kind, sizeof(s.kind), "%s", kind);
	snprintf(s.rule, sizeof(s.rule), "%s", rule);
	add_step(t, &s);
}

void etext_step(struct etext *t, const char *kind, const char *rule,
		const char *fmt, ...)
{
	struct emitcase_step s = { .must = true };
	va_list ap;

	va_start(ap, fmt);
	vline(t, "", fmt, ap);
	va_end(ap);
	s.line = t->lines;
	snprintf(s.kind, sizeof(s.kind), "%s", kind);
	snprintf(s.rule, sizeof(s.rule), "%s", rule);
	add_step(t, &s);
}

void etext_append(struct etext *t, const struct etext *src)
{
	unsigned base = t->lines;

	if (src->oom) {
		t->oom = true;
		return;
	}
	if (src->len && reserve(t, src->len)) {
		memcpy(t->buf + t->len, src->buf, src->len);
		t->len += src->len;
		t->buf[t->len] = '\0';
	}
	t->lines += src->lines;
	for (unsigned i = 0; i < src->nsteps; i++) {
		struct emitcase_step s = src->steps[i];

		s.line += base;
		add_step(t, &s);
	}
}

void etext_hex(const unsigned char *p, size_t n, char *out)
{
	static const char hx[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hx[p[i] >> 4];
		out[2 * i + 1] = hx[p[i] & 15];
	}
	out[2 * n] = '\0';
}
