/* SPDX-License-Identifier: MIT */
/* scriptctx: the parser's shared state and value parsers (scriptctx.h). */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "proto.h"
#include "protoname.h"

#include "scriptctx.h"

void sctx_perr(struct pctx *p, const char *fmt, ...)
{
	size_t len = p->err ? strnlen(p->err, p->errcap) : 0;
	va_list ap;

	p->nerr++;
	if (!p->in_steps || p->checking_header)
		p->c->header_errors++;
	if (p->nerr > SCTX_MAX_ERRORS || !p->err || len + 1 >= p->errcap)
		return;
	if (p->line)
		len += (size_t)snprintf(p->err + len, p->errcap - len, "%s:%u: ",
					p->path, p->line);
	else
		len += (size_t)snprintf(p->err + len, p->errcap - len, "%s: ",
					p->path);
	if (len + 1 >= p->errcap)
		return;
	va_start(ap, fmt);
	len += (size_t)vsnprintf(p->err + len, p->errcap - len, fmt, ap);
	va_end(ap);
	if (len + 1 < p->errcap)
		snprintf(p->err + len, p->errcap - len, "\n");
}

/* ---- argument helpers ---- */

static struct arg *arg_find(struct args *a, const char *key)
{
	for (unsigned i = 0; i < a->n; i++)
		if (strcmp(a->a[i].key, key) == 0)
			return &a->a[i];
	return NULL;
}

/* The value of key=value, NULL when absent; a bare `key` is an error. */
const char *sctx_arg_val(struct pctx *p, struct args *a, const char *key,
			   bool *bad)
{
	struct arg *x = arg_find(a, key);

	if (!x)
		return NULL;
	x->used = true;
	if (!x->val) {
		sctx_perr(p, "'%s' needs a value (%s=...)", key, key);
		*bad = true;
		return NULL;
	}
	return x->val;
}

/* A bare word; key=value is an error. */
bool sctx_arg_flag(struct pctx *p, struct args *a, const char *key,
		     bool *bad)
{
	struct arg *x = arg_find(a, key);

	if (!x)
		return false;
	x->used = true;
	if (x->val) {
		sctx_perr(p, "'%s' takes no value", key);
		*bad = true;
	}
	return true;
}

bool sctx_arg_num(struct pctx *p, struct args *a, const char *key,
		    bool suffix, uint64_t max, uint64_t *out, bool *bad)
{
	const char *v = sctx_arg_val(p, a, key, bad);
	int rc;

	if (!v)
		return false;
	rc = script_parse_u64(v, suffix, out);
	if (rc == -ERANGE || (rc == 0 && *out > max)) {
		sctx_perr(p, "%s=%s: out of range (at most %llu)", key, v,
		     (unsigned long long)max);
		*bad = true;
		return false;
	}
	if (rc < 0) {
		sctx_perr(p, "%s=%s: not a number", key, v);
		*bad = true;
		return false;
	}
	return true;
}

bool sctx_arg_u32(struct pctx *p, struct args *a, const char *key,
		    bool suffix, uint32_t *out, bool *bad)
{
	uint64_t v;

	if (!sctx_arg_num(p, a, key, suffix, UINT32_MAX, &v, bad))
		return false;
	*out = (uint32_t)v;
	return true;
}

/* One of the words of choices (NULL-terminated): its index, or -1. */
int sctx_arg_choice(struct pctx *p, struct args *a, const char *key,
		      const char *const *choices, bool *bad)
{
	const char *v = sctx_arg_val(p, a, key, bad);

	if (!v)
		return -1;
	for (int i = 0; choices[i]; i++)
		if (strcmp(v, choices[i]) == 0)
			return i;
	sctx_perr(p, "%s=%s: expected one of %s%s%s%s%s", key, v, choices[0],
	     choices[1] ? "|" : "", choices[1] ? choices[1] : "",
	     choices[1] && choices[2] ? "|" : "",
	     choices[1] && choices[2] ? choices[2] : "");
	*bad = true;
	return -1;
}

bool sctx_args_all_used(struct pctx *p, struct args *a, const char *what)
{
	for (unsigned i = 0; i < a->n; i++) {
		if (!a->a[i].used) {
			sctx_perr(p, "unknown argument '%s' for %s", a->a[i].key, what);
			return false;
		}
	}
	return true;
}

bool sctx_valid_name(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n == 0 || n >= max)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-')
			return false;
	return true;
}

/* An fd name that an earlier `fd` step declared. */
bool sctx_fd_declared(struct pctx *p, const char *name)
{
	for (unsigned i = 0; i < p->nfds; i++)
		if (strcmp(p->fds[i], name) == 0)
			return true;
	sctx_perr(p, "fd '%s' is not declared by an earlier 'fd' step", name);
	return false;
}

/* Hex bytes into a fresh buffer; false (and an error) on bad input. */
bool sctx_parse_hex(struct pctx *p, const char *what, const char *hex,
		      size_t max, uint8_t **out, size_t *len)
{
	size_t n = strlen(hex);

	if (n % 2) {
		sctx_perr(p, "%s: odd number of hex digits", what);
		return false;
	}
	if (n / 2 > max) {
		sctx_perr(p, "%s: more than %zu bytes", what, max);
		return false;
	}
	*out = malloc(n / 2 + 1);
	if (!*out) {
		sctx_perr(p, "out of memory");
		return false;
	}
	for (size_t i = 0; i < n; i += 2) {
		int hi = script_digit_value(hex[i]), lo = script_digit_value(hex[i + 1]);

		if (hi < 0 || lo < 0) {
			sctx_perr(p, "%s: '%c%c' is not a hex byte", what, hex[i],
			     hex[i + 1]);
			free(*out);
			*out = NULL;
			return false;
		}
		(*out)[i / 2] = (uint8_t)(hi << 4 | lo);
	}
	*len = n / 2;
	return true;
}

/* "S,S,..." sizes into step->list. */
bool sctx_parse_sizes(struct pctx *p, const char *key, const char *v,
			unsigned *count)
{
	char buf[4096], *save = NULL, *tok;
	uint64_t *list = calloc(SCRIPT_MAX_REGIONS, sizeof(*list));
	unsigned n = 0;

	if (!list) {
		sctx_perr(p, "out of memory");
		return false;
	}
	p->st->list = list;
	snprintf(buf, sizeof(buf), "%s", v);
	if (strlen(v) >= sizeof(buf) || v[0] == '\0' || v[0] == ',' ||
	    v[strlen(v) - 1] == ',' || strstr(v, ",,")) {
		sctx_perr(p, "%s=%s: expected sizes separated by commas", key, v);
		return false;
	}
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		int rc;

		if (n == SCRIPT_MAX_REGIONS) {
			sctx_perr(p, "%s: more than %u sizes", key, SCRIPT_MAX_REGIONS);
			return false;
		}
		rc = script_parse_u64(tok, true, &list[n]);
		if (rc < 0) {
			sctx_perr(p, "%s: '%s' is %s", key, tok,
			     rc == -ERANGE ? "out of range" : "not a size");
			return false;
		}
		n++;
	}
	*count = n;
	return true;
}

/* grade=: the step's grade, default the case level. */
bool sctx_take_grade(struct pctx *p, struct args *a)
{
	static const char *const g[] = { "must", "should", "info", NULL };
	bool bad = false;
	int i = sctx_arg_choice(p, a, "grade", g, &bad);

	p->st->grade = i >= 0 ? (enum script_grade)i : p->c->level;
	return !bad;
}

bool sctx_take_within(struct pctx *p, struct args *a, int64_t dflt)
{
	bool bad = false;
	uint64_t v;

	p->st->within_ms = dflt;
	if (sctx_arg_num(p, a, "within", false, SCTX_MAX_WINDOW_MS, &v, &bad))
		p->st->within_ms = (int64_t)v;
	return !bad;
}

bool sctx_take_on(struct pctx *p, struct args *a, enum script_chan dflt)
{
	static const char *const ch[] = { "main", "backend", NULL };
	bool bad = false;
	int i = sctx_arg_choice(p, a, "on", ch, &bad);

	p->st->on = i >= 0 ? (enum script_chan)i : dflt;
	return !bad;
}

/* A request name or number, in the table of the step's channel. */
bool sctx_resolve_request(struct pctx *p, const char *word, uint32_t *out)
{
	uint64_t v;
	int id;

	if (script_parse_u64(word, false, &v) == 0) {
		if (v > UINT32_MAX) {
			sctx_perr(p, "request %s: out of range", word);
			return false;
		}
		*out = (uint32_t)v;
		return true;
	}
	id = proto_req_by_name((enum proto_chan)p->st->on, word);
	if (id < 0) {
		sctx_perr(p, "unknown %s-channel request '%s'",
		     script_chan_name(p->st->on), word);
		return false;
	}
	*out = (uint32_t)id;
	return true;
}

bool sctx_need_role(struct pctx *p, enum script_role r, const char *what)
{
	if (p->c->role == r)
		return true;
	sctx_perr(p, "'%s' is only for cases with target %s", what,
		  script_target_role_name(r));
	return false;
}

enum script_chan sctx_default_reply_chan(struct pctx *p)
{
	if (p->has_send)
		return p->last_send_chan;
	return p->c->role == SCRIPT_ROLE_BACKEND ? SCRIPT_BACKEND : SCRIPT_MAIN;
}

enum script_chan sctx_default_msg_chan(struct pctx *p)
{
	return p->c->role == SCRIPT_ROLE_BACKEND ? SCRIPT_MAIN : SCRIPT_BACKEND;
}


bool sctx_split_args(struct pctx *p, char **w, unsigned n, struct args *a)
{
	a->n = 0;
	for (unsigned i = 0; i < n; i++) {
		struct arg *x = &a->a[a->n];
		char *eq = strchr(w[i], '=');

		if (a->n == SCTX_MAX_ARGS) {
			sctx_perr(p, "too many arguments");
			return false;
		}
		x->key = w[i];
		x->val = NULL;
		x->used = false;
		if (eq) {
			*eq = '\0';
			x->val = eq + 1;
		}
		if (x->key[0] == '\0') {
			sctx_perr(p, "'=%s': an argument without a name", x->val);
			return false;
		}
		if (arg_find(a, x->key)) {
			sctx_perr(p, "'%s' given twice", x->key);
			return false;
		}
		a->n++;
	}
	return true;
}

bool sctx_need_pid(struct pctx *p)
{
	if (p->c->requires_pid)
		return true;
	sctx_perr(p, "'%s' needs 'requires pid' in the header",
	     script_op_name(p->st->op));
	return false;
}

/* NAME|NAME...: up to SCRIPT_ORDER_MAX_NAMES requests. */
bool sctx_parse_names(struct pctx *p, const char *word, uint32_t *req,
			unsigned *n)
{
	char buf[160], *save = NULL, *tok;

	*n = 0;
	if (strlen(word) >= sizeof(buf)) {
		sctx_perr(p, "'%s': too long", word);
		return false;
	}
	snprintf(buf, sizeof(buf), "%s", word);
	for (tok = strtok_r(buf, "|", &save); tok; tok = strtok_r(NULL, "|", &save)) {
		if (*n == SCRIPT_ORDER_MAX_NAMES) {
			sctx_perr(p, "more than %u names in '%s'",
			     SCRIPT_ORDER_MAX_NAMES, word);
			return false;
		}
		if (!sctx_resolve_request(p, tok, &req[(*n)++]))
			return false;
	}
	if (*n == 0) {
		sctx_perr(p, "'%s' names no request", word);
		return false;
	}
	return true;
}
