/* SPDX-License-Identifier: MIT */
#include "script.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proto.h"

#define MAX_ERRORS 10u
#define LINE_MAX_LEN 20000u
#define MAX_ARGS 40u
#define MAX_DEPTH 16u
#define MAX_DATA 8192u     /* payload=/raw bytes */
#define MAX_WINDOW_MS 600000u
#define MAX_FILE (1u << 20)

/* ---- names ---- */

const char *script_role_name(enum script_role r)
{
	return r == SCRIPT_ROLE_FRONTEND ? "frontend" : "backend";
}

const char *script_finding_name(int code)
{
	if (code == SCRIPT_FIND_UNSOLICITED_REPLY)
		return "UNSOLICITED_REPLY";
	return proto_finding_name((enum proto_finding_code)code);
}

static const char *const refusal_names[] = {
	[SCRIPT_REFUSAL_NONE] = "", [SCRIPT_REFUSAL_PASS] = "PASS",
	[SCRIPT_REFUSAL_NON_STRICT] = "NON-STRICT",
	[SCRIPT_REFUSAL_INFO] = "INFO",
};

const char *script_refusal_name(enum script_refusal r)
{
	return (unsigned)r < sizeof(refusal_names) / sizeof(refusal_names[0])
		       ? refusal_names[r] : "";
}

const char *script_grade_name(enum script_grade g)
{
	switch (g) {
	case SCRIPT_SHOULD: return "SHOULD";
	case SCRIPT_INFO: return "INFO";
	default: return "MUST";
	}
}

const char *script_chan_name(enum script_chan c)
{
	return c == SCRIPT_BACKEND ? "backend" : "main";
}

static const char *const op_names[] = {
	[SCRIPT_FD] = "fd",
	[SCRIPT_SLEEP] = "sleep",
	[SCRIPT_REPEAT] = "repeat",
	[SCRIPT_END] = "end",
	[SCRIPT_CONTROL] = "control",
	[SCRIPT_HANDSHAKE] = "handshake",
	[SCRIPT_SEND] = "send",
	[SCRIPT_REPLY] = "reply",
	[SCRIPT_CLOSE_BACKEND] = "close backend",
	[SCRIPT_MARK] = "mark",
	[SCRIPT_HOLD] = "hold",
	[SCRIPT_RELEASE] = "release",
	[SCRIPT_EXPECT_REPLY] = "expect reply",
	[SCRIPT_EXPECT_NO_REPLY] = "expect no-reply",
	[SCRIPT_EXPECT_MSG] = "expect msg",
	[SCRIPT_EXPECT_NO_MSG] = "expect no-msg",
	[SCRIPT_EXPECT_EOF] = "expect eof",
	[SCRIPT_EXPECT_ORDER] = "expect order",
	[SCRIPT_EXPECT_SHMEM_CONFIG] = "expect shmem-config",
	[SCRIPT_CHECK_ALIVE] = "check alive",
	[SCRIPT_CHECK_MAPPED] = "check mapped",
	[SCRIPT_CHECK_UNMAPPED] = "check unmapped",
	[SCRIPT_CHECK_FDS] = "check fds",
	[SCRIPT_CHECK_BASELINE] = "check baseline",
	[SCRIPT_CHECK_FINDINGS_NONE] = "check findings none",
	[SCRIPT_CHECK_FINDING] = "check finding",
	[SCRIPT_CHECK_LEDGER] = "check ledger",
	[SCRIPT_CHECK_MEMTABLE] = "check memtable",
	[SCRIPT_EXPECT_RESULT] = "expect result",
};

const char *script_op_name(enum script_op op)
{
	if ((unsigned)op < sizeof(op_names) / sizeof(op_names[0]))
		return op_names[op];
	return "?";
}

bool script_op_graded(enum script_op op)
{
	return op >= SCRIPT_EXPECT_REPLY;
}

/* ---- numbers ---- */

static int digit_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static unsigned suffix_shift(char c)
{
	switch (c) {
	case 'k': case 'K': return 10;
	case 'm': case 'M': return 20;
	case 'g': case 'G': return 30;
	default: return 0;
	}
}

int script_parse_u64(const char *s, bool allow_suffix, uint64_t *out)
{
	unsigned base = 10, shift = 0;
	size_t n = strlen(s);
	uint64_t v = 0;
	const char *p = s, *end;

	if (n > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		p += 2;
	}
	end = s + n;
	if (allow_suffix && end > p && (shift = suffix_shift(end[-1])) != 0)
		end--;
	if (p == end)
		return -EINVAL;
	for (; p < end; p++) {
		int d = digit_value(*p);

		if (d < 0 || (unsigned)d >= base)
			return -EINVAL;
		if (v > (UINT64_MAX - (uint64_t)d) / base)
			return -ERANGE;
		v = v * base + (uint64_t)d;
	}
	if (shift && v > (UINT64_MAX >> shift))
		return -ERANGE;
	*out = v << shift;
	return 0;
}

/* ---- parser state ---- */

struct arg {
	char *key;
	char *val;          /* NULL for a bare word */
	bool used;
};

struct args {
	struct arg a[MAX_ARGS];
	unsigned n;
};

enum hdr_key { HK_ID, HK_TITLE, HK_ROLE, HK_RULE, HK_LEVEL, HK_REASON,
	       HK_TIMEOUT, HK_MODEL, HK_REFUSAL, HK_MAX };

struct pctx {
	const char *path;
	unsigned line;
	char *err;
	size_t errcap;
	unsigned nerr;
	struct script_case *c;
	unsigned cap;
	bool in_steps;
	bool checking_header;   /* check_header(): its errors are the header's */
	bool seen[HK_MAX];
	unsigned header_end_line;
	unsigned stack[MAX_DEPTH];
	unsigned depth;
	char fds[FDPOOL_MAX][FDPOOL_NAME_MAX];
	unsigned nfds;
	bool marked;
	bool has_send;
	enum script_chan last_send_chan;
	unsigned control_line, pid_line, proto_req_line, refusal_line;
	struct script_step *st;   /* the step being parsed */
};

static void perr(struct pctx *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void perr(struct pctx *p, const char *fmt, ...)
{
	size_t len = p->err ? strnlen(p->err, p->errcap) : 0;
	va_list ap;

	p->nerr++;
	if (!p->in_steps || p->checking_header)
		p->c->header_errors++;
	if (p->nerr > MAX_ERRORS || !p->err || len + 1 >= p->errcap)
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
static const char *arg_val(struct pctx *p, struct args *a, const char *key,
			   bool *bad)
{
	struct arg *x = arg_find(a, key);

	if (!x)
		return NULL;
	x->used = true;
	if (!x->val) {
		perr(p, "'%s' needs a value (%s=...)", key, key);
		*bad = true;
		return NULL;
	}
	return x->val;
}

/* A bare word; key=value is an error. */
static bool arg_flag(struct pctx *p, struct args *a, const char *key,
		     bool *bad)
{
	struct arg *x = arg_find(a, key);

	if (!x)
		return false;
	x->used = true;
	if (x->val) {
		perr(p, "'%s' takes no value", key);
		*bad = true;
	}
	return true;
}

static bool arg_num(struct pctx *p, struct args *a, const char *key,
		    bool suffix, uint64_t max, uint64_t *out, bool *bad)
{
	const char *v = arg_val(p, a, key, bad);
	int rc;

	if (!v)
		return false;
	rc = script_parse_u64(v, suffix, out);
	if (rc == -ERANGE || (rc == 0 && *out > max)) {
		perr(p, "%s=%s: out of range (at most %llu)", key, v,
		     (unsigned long long)max);
		*bad = true;
		return false;
	}
	if (rc < 0) {
		perr(p, "%s=%s: not a number", key, v);
		*bad = true;
		return false;
	}
	return true;
}

static bool arg_u32(struct pctx *p, struct args *a, const char *key,
		    bool suffix, uint32_t *out, bool *bad)
{
	uint64_t v;

	if (!arg_num(p, a, key, suffix, UINT32_MAX, &v, bad))
		return false;
	*out = (uint32_t)v;
	return true;
}

/* One of the words of choices (NULL-terminated): its index, or -1. */
static int arg_choice(struct pctx *p, struct args *a, const char *key,
		      const char *const *choices, bool *bad)
{
	const char *v = arg_val(p, a, key, bad);

	if (!v)
		return -1;
	for (int i = 0; choices[i]; i++)
		if (strcmp(v, choices[i]) == 0)
			return i;
	perr(p, "%s=%s: expected one of %s%s%s%s%s", key, v, choices[0],
	     choices[1] ? "|" : "", choices[1] ? choices[1] : "",
	     choices[1] && choices[2] ? "|" : "",
	     choices[1] && choices[2] ? choices[2] : "");
	*bad = true;
	return -1;
}

static bool args_all_used(struct pctx *p, struct args *a, const char *what)
{
	for (unsigned i = 0; i < a->n; i++) {
		if (!a->a[i].used) {
			perr(p, "unknown argument '%s' for %s", a->a[i].key, what);
			return false;
		}
	}
	return true;
}

static bool valid_name(const char *s, size_t max)
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
static bool fd_declared(struct pctx *p, const char *name)
{
	for (unsigned i = 0; i < p->nfds; i++)
		if (strcmp(p->fds[i], name) == 0)
			return true;
	perr(p, "fd '%s' is not declared by an earlier 'fd' step", name);
	return false;
}

/* Hex bytes into a fresh buffer; false (and an error) on bad input. */
static bool parse_hex(struct pctx *p, const char *what, const char *hex,
		      size_t max, uint8_t **out, size_t *len)
{
	size_t n = strlen(hex);

	if (n % 2) {
		perr(p, "%s: odd number of hex digits", what);
		return false;
	}
	if (n / 2 > max) {
		perr(p, "%s: more than %zu bytes", what, max);
		return false;
	}
	*out = malloc(n / 2 + 1);
	if (!*out) {
		perr(p, "out of memory");
		return false;
	}
	for (size_t i = 0; i < n; i += 2) {
		int hi = digit_value(hex[i]), lo = digit_value(hex[i + 1]);

		if (hi < 0 || lo < 0) {
			perr(p, "%s: '%c%c' is not a hex byte", what, hex[i],
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
static bool parse_sizes(struct pctx *p, const char *key, const char *v,
			unsigned *count)
{
	char buf[4096], *save = NULL, *tok;
	uint64_t *list = calloc(SCRIPT_MAX_REGIONS, sizeof(*list));
	unsigned n = 0;

	if (!list) {
		perr(p, "out of memory");
		return false;
	}
	p->st->list = list;
	snprintf(buf, sizeof(buf), "%s", v);
	if (strlen(v) >= sizeof(buf) || v[0] == '\0' || v[0] == ',' ||
	    v[strlen(v) - 1] == ',' || strstr(v, ",,")) {
		perr(p, "%s=%s: expected sizes separated by commas", key, v);
		return false;
	}
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		int rc;

		if (n == SCRIPT_MAX_REGIONS) {
			perr(p, "%s: more than %u sizes", key, SCRIPT_MAX_REGIONS);
			return false;
		}
		rc = script_parse_u64(tok, true, &list[n]);
		if (rc < 0) {
			perr(p, "%s: '%s' is %s", key, tok,
			     rc == -ERANGE ? "out of range" : "not a size");
			return false;
		}
		n++;
	}
	*count = n;
	return true;
}

/* grade=: the step's grade, default the case level. */
static bool take_grade(struct pctx *p, struct args *a)
{
	static const char *const g[] = { "must", "should", "info", NULL };
	bool bad = false;
	int i = arg_choice(p, a, "grade", g, &bad);

	p->st->grade = i >= 0 ? (enum script_grade)i : p->c->level;
	return !bad;
}

static bool take_within(struct pctx *p, struct args *a, int64_t dflt)
{
	bool bad = false;
	uint64_t v;

	p->st->within_ms = dflt;
	if (arg_num(p, a, "within", false, MAX_WINDOW_MS, &v, &bad))
		p->st->within_ms = (int64_t)v;
	return !bad;
}

static bool take_on(struct pctx *p, struct args *a, enum script_chan dflt)
{
	static const char *const ch[] = { "main", "backend", NULL };
	bool bad = false;
	int i = arg_choice(p, a, "on", ch, &bad);

	p->st->on = i >= 0 ? (enum script_chan)i : dflt;
	return !bad;
}

/* A request name or number, in the table of the step's channel. */
static bool resolve_request(struct pctx *p, const char *word, uint32_t *out)
{
	uint64_t v;
	int id;

	if (script_parse_u64(word, false, &v) == 0) {
		if (v > UINT32_MAX) {
			perr(p, "request %s: out of range", word);
			return false;
		}
		*out = (uint32_t)v;
		return true;
	}
	id = proto_req_by_name((enum proto_chan)p->st->on, word);
	if (id < 0) {
		perr(p, "unknown %s-channel request '%s'",
		     script_chan_name(p->st->on), word);
		return false;
	}
	*out = (uint32_t)id;
	return true;
}

static bool need_role(struct pctx *p, enum script_role r, const char *what)
{
	if (p->c->role == r)
		return true;
	perr(p, "'%s' is only for role %s", what, script_role_name(r));
	return false;
}

static enum script_chan default_reply_chan(struct pctx *p)
{
	if (p->has_send)
		return p->last_send_chan;
	return p->c->role == SCRIPT_ROLE_BACKEND ? SCRIPT_BACKEND : SCRIPT_MAIN;
}

static enum script_chan default_msg_chan(struct pctx *p)
{
	return p->c->role == SCRIPT_ROLE_BACKEND ? SCRIPT_MAIN : SCRIPT_BACKEND;
}


static bool split_args(struct pctx *p, char **w, unsigned n, struct args *a)
{
	a->n = 0;
	for (unsigned i = 0; i < n; i++) {
		struct arg *x = &a->a[a->n];
		char *eq = strchr(w[i], '=');

		if (a->n == MAX_ARGS) {
			perr(p, "too many arguments");
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
			perr(p, "'=%s': an argument without a name", x->val);
			return false;
		}
		if (arg_find(a, x->key)) {
			perr(p, "'%s' given twice", x->key);
			return false;
		}
		a->n++;
	}
	return true;
}

/* ---- steps, both roles ---- */

static bool parse_fd(struct pctx *p, char **w, unsigned n)
{
	struct script_fd *f = &p->st->u.fd;
	struct args a;
	bool bad = false;
	int kind;

	if (n < 2 || strchr(w[0], '=') || strchr(w[1], '=')) {
		perr(p, "usage: fd NAME KIND [size=N]");
		return false;
	}
	if (!valid_name(w[0], FDPOOL_NAME_MAX)) {
		perr(p, "fd name '%s': letters, digits, '_' and '-', at most %d",
		     w[0], FDPOOL_NAME_MAX - 1);
		return false;
	}
	kind = fdpool_kind_by_name(w[1]);
	if (kind < 0) {
		perr(p, "unknown fd kind '%s' (memfd, memfd-sealed, memfd-empty, "
			"rdonly-file, pipe, socket, closed)", w[1]);
		return false;
	}
	if (p->depth > 0) {
		perr(p, "'fd' inside a repeat block: declare fds before it");
		return false;
	}
	for (unsigned i = 0; i < p->nfds; i++) {
		if (strcmp(p->fds[i], w[0]) == 0) {
			perr(p, "fd '%s' declared twice", w[0]);
			return false;
		}
	}
	if (p->nfds == FDPOOL_MAX) {
		perr(p, "more than %d fds", FDPOOL_MAX);
		return false;
	}
	snprintf(f->name, sizeof(f->name), "%s", w[0]);
	f->kind = (enum fdpool_kind)kind;
	f->size = kind == FDPOOL_MEMFD_EMPTY ? 0 : 0x10000;
	if (!split_args(p, w + 2, n - 2, &a))
		return false;
	if (kind == FDPOOL_MEMFD || kind == FDPOOL_MEMFD_SEALED ||
	    kind == FDPOOL_RDONLY_FILE)
		arg_num(p, &a, "size", true, 1ull << 40, &f->size, &bad);
	if (bad || !args_all_used(p, &a, "fd"))
		return false;
	snprintf(p->fds[p->nfds++], FDPOOL_NAME_MAX, "%s", w[0]);
	return true;
}

/* `sleep MS`, `repeat N`: one number. */
static bool parse_count(struct pctx *p, char **w, unsigned n, uint64_t max)
{
	const char *what = script_op_name(p->st->op);
	int rc;

	if (n != 1) {
		perr(p, "usage: %s %s", what,
		     p->st->op == SCRIPT_SLEEP ? "MS" : "N");
		return false;
	}
	rc = script_parse_u64(w[0], false, &p->st->count);
	if (rc < 0 || p->st->count > max) {
		perr(p, "%s %s: %s (0 to %llu)", what, w[0],
		     rc == -EINVAL ? "not a number" : "out of range",
		     (unsigned long long)max);
		return false;
	}
	return true;
}

static bool parse_repeat(struct pctx *p, char **w, unsigned n)
{
	if (!parse_count(p, w, n, 1000000))
		return false;
	if (p->depth == MAX_DEPTH) {
		perr(p, "repeat blocks nested deeper than %u", MAX_DEPTH);
		return false;
	}
	p->stack[p->depth++] = p->c->nsteps - 1;
	return true;
}

static bool parse_end(struct pctx *p, unsigned n)
{
	unsigned open_idx, idx = p->c->nsteps - 1;

	if (n != 0) {
		perr(p, "'end' takes no arguments");
		return false;
	}
	if (p->depth == 0) {
		perr(p, "'end' without 'repeat'");
		return false;
	}
	open_idx = p->stack[--p->depth];
	p->c->steps[open_idx].jump = idx;
	p->st->jump = open_idx;
	return true;
}

static bool parse_control(struct pctx *p, char **w, unsigned n)
{
	static const char *const fe_cmds[] = { "start", "stop", "reset",
		"reconnect", "dump", "quit", NULL };
	static const char *const be_cmds[] = { "map", "unmap", "get-config",
		"dump", "reset", "quit", NULL };
	static const char *const ok_err[] = { "ok", "err", NULL };
	const char *const *cmds = p->c->role == SCRIPT_ROLE_BACKEND ? fe_cmds
								       : be_cmds;
	struct script_control *ctl = &p->st->u.control;
	struct args a;
	bool bad = false, known = false;
	size_t len;
	int i;

	if (n < 1 || strchr(w[0], '=')) {
		perr(p, "usage: control CMD [k=v ...] [expect=ok|err]");
		return false;
	}
	for (i = 0; cmds[i]; i++)
		known |= strcmp(cmds[i], w[0]) == 0;
	if (!known) {
		perr(p, "control '%s': not a command of a %s target", w[0],
		     p->c->role == SCRIPT_ROLE_BACKEND ? "front-end" : "back-end");
		return false;
	}
	if (!p->c->requires_control) {
		perr(p, "'control' needs 'requires control' in the header");
		return false;
	}
	if (!split_args(p, w + 1, n - 1, &a))
		return false;
	i = arg_choice(p, &a, "expect", ok_err, &bad);
	ctl->expect = i == 1 ? SCRIPT_CTL_ERR : SCRIPT_CTL_OK;
	if (bad || !take_within(p, &a, 1000))
		return false;
	len = (size_t)snprintf(ctl->line, sizeof(ctl->line), "%s", w[0]);
	for (unsigned k = 0; k < a.n && len < sizeof(ctl->line); k++) {
		if (a.a[k].used)
			continue;
		len += (size_t)snprintf(ctl->line + len, sizeof(ctl->line) - len,
					a.a[k].val ? " %s=%s" : " %s", a.a[k].key,
					a.a[k].val ? a.a[k].val : "");
	}
	if (len >= sizeof(ctl->line)) {
		perr(p, "control line longer than %zu bytes",
		     sizeof(ctl->line) - 1);
		return false;
	}
	return true;
}

static bool parse_on_off(struct pctx *p, struct args *a, const char *key,
			 unsigned bit, uint64_t *off_mask)
{
	static const char *const oo[] = { "on", "off", NULL };
	bool bad = false;

	if (arg_choice(p, a, key, oo, &bad) == 1)
		*off_mask |= 1ull << bit;
	return !bad;
}

static bool parse_handshake_features(struct pctx *p, struct args *a)
{
	static const struct {
		const char *key;
		unsigned bit;
	} feats[] = {
		{ "reply-ack", PROTO_PF_REPLY_ACK },
		{ "backend-req", PROTO_PF_BACKEND_REQ },
		{ "backend-send-fd", PROTO_PF_BACKEND_SEND_FD },
		{ "slots", PROTO_PF_CONFIGURE_MEM_SLOTS },
		{ "status", PROTO_PF_STATUS },
		{ "reset-device", PROTO_PF_RESET_DEVICE },
	};
	struct script_handshake *hs = &p->st->u.hs;

	for (size_t i = 0; i < sizeof(feats) / sizeof(feats[0]); i++)
		if (!parse_on_off(p, a, feats[i].key, feats[i].bit, &hs->pf_off))
			return false;
	return true;
}

/* regions=/nregions= (harness as back-end) or mem= (as front-end). */
static bool parse_handshake_layout(struct pctx *p, struct args *a)
{
	struct script_handshake *hs = &p->st->u.hs;
	bool bad = false;
	const char *v;

	if (p->c->role == SCRIPT_ROLE_FRONTEND) {
		hs->mem = 0x100000;
		arg_num(p, a, "mem", true, 1ull << 32, &hs->mem, &bad);
		if (!bad && hs->mem < 0x10000) {
			perr(p, "mem=0x%llx: at least 64k (the vring lives there)",
			     (unsigned long long)hs->mem);
			bad = true;
		}
		return !bad;
	}
	v = arg_val(p, a, "regions", &bad);
	hs->has_regions = v != NULL;
	if (v && !parse_sizes(p, "regions", v, &hs->nsizes))
		return false;
	if (!v && !bad) {
		p->st->list = calloc(SCRIPT_MAX_REGIONS, sizeof(uint64_t));
		if (!p->st->list) {
			perr(p, "out of memory");
			return false;
		}
		p->st->list[0] = 0x100000;
		hs->nsizes = 1;
	}
	hs->has_nregions = arg_u32(p, a, "nregions", false, &hs->nregions, &bad);
	hs->has_max_slots = arg_num(p, a, "max-slots", false, 0xffffffffu,
				    &hs->max_slots, &bad);
	hs->has_config_size = arg_u32(p, a, "config-size", false,
				      &hs->config_size, &bad);
	hs->has_config_request = arg_u32(p, a, "config-request", false,
					 &hs->config_request, &bad);
	hs->has_config_flags = arg_u32(p, a, "config-flags", false,
				       &hs->config_flags, &bad);
	hs->has_config_padding = arg_u32(p, a, "config-padding", false,
					 &hs->config_padding, &bad);
	if (!bad && hs->has_config_size && hs->config_size > PROTO_SHMEM_CONFIG_SIZE) {
		perr(p, "config-size=%u: at most %u", hs->config_size,
		     PROTO_SHMEM_CONFIG_SIZE);
		return false;
	}
	return !bad;
}

static bool parse_handshake(struct pctx *p, char **w, unsigned n)
{
	static const char *const be_shmem[] = { "on", "off", "offer-only", NULL };
	static const char *const fe_shmem[] = { "on", "off", NULL };
	static const char *const yes_no[] = { "yes", "no", NULL };
	struct script_handshake *hs = &p->st->u.hs;
	struct args a;
	bool bad = false;
	uint64_t bit;
	int i;

	if (!split_args(p, w, n, &a))
		return false;
	i = arg_choice(p, &a, "shmem",
		       p->c->role == SCRIPT_ROLE_BACKEND ? be_shmem : fe_shmem,
		       &bad);
	hs->shmem = i >= 0 ? (enum script_shmem)i : SCRIPT_SHMEM_ON;
	if (arg_num(p, &a, "shmem-bit", false, 63, &bit, &bad)) {
		hs->has_shmem_bit = true;
		hs->shmem_bit = (unsigned)bit;
	}
	i = arg_choice(p, &a, "start", yes_no, &bad);
	hs->start = i != 1;
	if (bad || !parse_handshake_features(p, &a) ||
	    !parse_handshake_layout(p, &a) || !take_within(p, &a, 2000))
		return false;
	if (!args_all_used(p, &a, "handshake"))
		return false;
	p->c->has_handshake = true;
	return true;
}

static bool parse_fd_list(struct pctx *p, const char *v, char names[][FDPOOL_NAME_MAX],
			  unsigned max, unsigned *count)
{
	char buf[1024], *save = NULL, *tok;

	*count = 0;
	if (strlen(v) >= sizeof(buf) || v[0] == '\0' || v[0] == ',' ||
	    v[strlen(v) - 1] == ',' || strstr(v, ",,")) {
		perr(p, "fd=%s: expected fd names separated by commas", v);
		return false;
	}
	snprintf(buf, sizeof(buf), "%s", v);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (*count == max) {
			perr(p, "fd=: more than %u fds", max);
			return false;
		}
		if (!fd_declared(p, tok))
			return false;
		snprintf(names[(*count)++], FDPOOL_NAME_MAX, "%s", tok);
	}
	return true;
}

/* Arguments every kind of send shares. */
static bool parse_send_common(struct pctx *p, struct args *a)
{
	struct script_send *s = &p->st->u.send;
	bool bad = false;
	const char *v;

	s->need_reply = arg_flag(p, a, "need_reply", &bad);
	s->has_hdr_flags = arg_u32(p, a, "hdr_flags", false, &s->hdr_flags, &bad);
	s->has_size = arg_u32(p, a, "size", true, &s->size, &bad);
	s->has_truncate = arg_u32(p, a, "truncate", true, &s->truncate, &bad);
	v = arg_val(p, a, "fd", &bad);
	if (v && !parse_fd_list(p, v, s->fds, SCRIPT_MAX_SEND_FDS, &s->nfds))
		return false;
	v = arg_val(p, a, "payload", &bad);
	if (v) {
		if (!parse_hex(p, "payload", v, MAX_DATA, &p->st->data,
			       &p->st->data_len))
			return false;
		s->has_payload = true;
	}
	return !bad;
}

static bool parse_mmap_flags(struct pctx *p, struct args *a, uint64_t *flags)
{
	bool bad = false;
	const char *v = arg_val(p, a, "flags", &bad);
	int rc;

	if (!v)
		return !bad;
	if (strcmp(v, "rw") == 0) {
		*flags = PROTO_MMAP_F_RW;
		return true;
	}
	if (strcmp(v, "ro") == 0) {
		*flags = 0;
		return true;
	}
	rc = script_parse_u64(v, false, flags);
	if (rc < 0)
		perr(p, "flags=%s: expected rw, ro or a number", v);
	return rc == 0;
}

static bool parse_send_mmap(struct pctx *p, struct args *a)
{
	struct script_send *s = &p->st->u.send;
	bool bad = false;
	uint64_t shmid = 0;
	const char *v;
	uint8_t *pad = NULL;
	size_t padlen = 0;

	s->request = s->kind == SCRIPT_SEND_MAP ? PROTO_BE_SHMEM_MAP
						: PROTO_BE_SHMEM_UNMAP;
	s->len = 0x1000;
	s->flags = s->kind == SCRIPT_SEND_MAP ? PROTO_MMAP_F_RW : 0;
	arg_num(p, a, "shmid", false, 255, &shmid, &bad);
	s->shmid = (uint8_t)shmid;
	arg_num(p, a, "shm_offset", true, UINT64_MAX, &s->shm_offset, &bad);
	arg_num(p, a, "fd_offset", true, UINT64_MAX, &s->fd_offset, &bad);
	arg_num(p, a, "len", true, UINT64_MAX, &s->len, &bad);
	if (bad || !parse_mmap_flags(p, a, &s->flags))
		return false;
	v = arg_val(p, a, "padding", &bad);
	if (v) {
		if (strlen(v) != 14) {
			perr(p, "padding=%s: expected 14 hex digits (7 bytes)", v);
			return false;
		}
		if (!parse_hex(p, "padding", v, 7, &pad, &padlen))
			return false;
		memcpy(s->padding, pad, 7);
		free(pad);
	}
	v = arg_val(p, a, "request", &bad);
	if (v && !resolve_request(p, v, &s->request))
		return false;
	return !bad;
}

static bool parse_send(struct pctx *p, char **w, unsigned n)
{
	struct script_send *s = &p->st->u.send;
	enum script_chan dflt = p->c->role == SCRIPT_ROLE_BACKEND ? SCRIPT_BACKEND
								  : SCRIPT_MAIN;
	unsigned first = 1;
	bool bad = false;
	struct args a;

	if (n < 1 || strchr(w[0], '=')) {
		perr(p, "usage: send map|unmap|raw|NAME [arguments]");
		return false;
	}
	if (strcmp(w[0], "map") == 0 || strcmp(w[0], "unmap") == 0) {
		if (!need_role(p, SCRIPT_ROLE_BACKEND, "send map/unmap"))
			return false;
		s->kind = w[0][0] == 'm' ? SCRIPT_SEND_MAP : SCRIPT_SEND_UNMAP;
		dflt = SCRIPT_BACKEND;
	} else if (strcmp(w[0], "raw") == 0) {
		s->kind = SCRIPT_SEND_RAW;
		if (n < 2 || strchr(w[1], '=')) {
			perr(p, "usage: send raw HEX [fd=...] [on=...]");
			return false;
		}
		if (!parse_hex(p, "raw", w[1], MAX_DATA + PROTO_HDR_SIZE,
			       &p->st->data, &p->st->data_len))
			return false;
		first = 2;
	} else {
		s->kind = SCRIPT_SEND_NAMED;
	}
	if (!split_args(p, w + first, n - first, &a) || !take_on(p, &a, dflt))
		return false;
	if (s->kind == SCRIPT_SEND_RAW) {
		const char *v = arg_val(p, &a, "fd", &bad);

		if (v && !parse_fd_list(p, v, s->fds, SCRIPT_MAX_SEND_FDS, &s->nfds))
			return false;
	} else {
		if (!parse_send_common(p, &a))
			return false;
	}
	if (s->kind == SCRIPT_SEND_MAP || s->kind == SCRIPT_SEND_UNMAP) {
		if (!parse_send_mmap(p, &a))
			return false;
	} else if (s->kind == SCRIPT_SEND_NAMED) {
		s->has_u64 = arg_num(p, &a, "u64", true, UINT64_MAX, &s->u64, &bad);
		if (s->has_u64 && s->has_payload) {
			perr(p, "u64= and payload= together");
			return false;
		}
		if (bad || !resolve_request(p, w[0], &s->request))
			return false;
	}
	if (bad || !args_all_used(p, &a, "send"))
		return false;
	p->has_send = true;
	p->last_send_chan = p->st->on;
	return true;
}

static bool parse_reply(struct pctx *p, char **w, unsigned n)
{
	struct script_reply *r = &p->st->u.reply;
	bool bad = false;
	struct args a;
	const char *v;

	if (!need_role(p, SCRIPT_ROLE_FRONTEND, "reply") ||
	    !split_args(p, w, n, &a) || !take_on(p, &a, SCRIPT_BACKEND))
		return false;
	arg_num(p, &a, "value", true, UINT64_MAX, &r->value, &bad);
	r->has_flags = arg_u32(p, &a, "flags", false, &r->flags, &bad);
	r->has_size = arg_u32(p, &a, "size", true, &r->size, &bad);
	r->has_split = arg_u32(p, &a, "split", false, &r->split, &bad);
	if (arg_u32(p, &a, "pause", false, &r->pause_ms, &bad) &&
	    (!r->has_split || r->pause_ms > MAX_WINDOW_MS)) {
		perr(p, "pause= needs split= and at most %u ms", MAX_WINDOW_MS);
		return false;
	}
	if (r->has_split && (r->split == 0 || r->split >= PROTO_HDR_SIZE + MAX_DATA)) {
		perr(p, "split=%u: 1 to the message's length less one", r->split);
		return false;
	}
	v = arg_val(p, &a, "payload", &bad);
	if (v) {
		if (!parse_hex(p, "payload", v, MAX_DATA, &p->st->data,
			       &p->st->data_len))
			return false;
		r->has_payload = true;
	}
	v = arg_val(p, &a, "fd", &bad);
	if (v) {
		if (!fd_declared(p, v))
			return false;
		snprintf(r->fd, sizeof(r->fd), "%s", v);
		r->has_fd = true;
	}
	return !bad && args_all_used(p, &a, "reply");
}

static bool parse_close(struct pctx *p, char **w, unsigned n)
{
	if (n != 1 || strcmp(w[0], "backend") != 0) {
		perr(p, "usage: close backend");
		return false;
	}
	p->st->on = SCRIPT_BACKEND;
	return true;
}

static bool need_pid(struct pctx *p)
{
	if (p->c->requires_pid)
		return true;
	perr(p, "'%s' needs 'requires pid' in the header",
	     script_op_name(p->st->op));
	return false;
}

static bool parse_mark(struct pctx *p, unsigned n)
{
	if (n != 0) {
		perr(p, "'mark' takes no arguments");
		return false;
	}
	p->marked = true;
	return need_pid(p);
}

/* NAME|NAME...: up to SCRIPT_ORDER_MAX_NAMES requests. */
static bool parse_names(struct pctx *p, const char *word, uint32_t *req,
			unsigned *n)
{
	char buf[160], *save = NULL, *tok;

	*n = 0;
	if (strlen(word) >= sizeof(buf)) {
		perr(p, "'%s': too long", word);
		return false;
	}
	snprintf(buf, sizeof(buf), "%s", word);
	for (tok = strtok_r(buf, "|", &save); tok; tok = strtok_r(NULL, "|", &save)) {
		if (*n == SCRIPT_ORDER_MAX_NAMES) {
			perr(p, "more than %u names in '%s'",
			     SCRIPT_ORDER_MAX_NAMES, word);
			return false;
		}
		if (!resolve_request(p, tok, &req[(*n)++]))
			return false;
	}
	if (*n == 0) {
		perr(p, "'%s' names no request", word);
		return false;
	}
	return true;
}

/* ---- expectations and checks ---- */

static bool parse_expect_reply(struct pctx *p, struct args *a)
{
	struct script_expect_reply *er = &p->st->u.er;
	bool bad = false;
	const char *v;

	if (!take_on(p, a, default_reply_chan(p)) || !take_within(p, a, 500))
		return false;
	v = arg_val(p, a, "value", &bad);
	if (v && strcmp(v, "nonzero") == 0) {
		er->value_kind = SCRIPT_VALUE_NONZERO;
	} else if (v) {
		int rc = script_parse_u64(v, false, &er->value);

		if (rc < 0) {
			perr(p, "value=%s: expected 0, nonzero or a number", v);
			return false;
		}
		er->value_kind = SCRIPT_VALUE_EQ;
	}
	er->has_flags = arg_u32(p, a, "flags", false, &er->flags, &bad);
	er->has_size = arg_u32(p, a, "size", true, &er->size, &bad);
	return !bad;
}

/* expect no-reply / no-msg: a window of silence. */
static bool parse_expect_quiet(struct pctx *p, struct args *a,
			       enum script_chan dflt)
{
	return take_on(p, a, dflt) && take_within(p, a, 200);
}

static bool parse_expect_msg(struct pctx *p, char **w, unsigned n,
			     struct args *a)
{
	struct script_expect_msg *em = &p->st->u.em;
	bool bad = false;
	uint64_t fds;

	if (n < 1 || strchr(w[0], '=')) {
		perr(p, "usage: expect msg NAME[|NAME...] [on=main|backend] [fds=N] "
			"[size=N] [flags=N] [within=MS]");
		return false;
	}
	if (!split_args(p, w + 1, n - 1, a) ||
	    !take_on(p, a, default_msg_chan(p)) || !take_within(p, a, 500))
		return false;
	if (!parse_names(p, w[0], em->req, &em->nreq))
		return false;
	em->request = em->req[0];
	em->has_fds = arg_num(p, a, "fds", false, 253, &fds, &bad);
	em->fds = (unsigned)fds;
	em->has_size = arg_u32(p, a, "size", true, &em->size, &bad);
	em->has_flags = arg_u32(p, a, "flags", false, &em->flags, &bad);
	em->has_request = true;
	return !bad;
}

/* expect no-msg [NAME]: nothing, or nothing of that request. */
static bool parse_expect_no_msg(struct pctx *p, char **w, unsigned n,
				struct args *a)
{
	struct script_expect_msg *em = &p->st->u.em;
	unsigned first = n >= 1 && !strchr(w[0], '=') ? 1 : 0;

	if (!split_args(p, w + first, n - first, a) ||
	    !parse_expect_quiet(p, a, default_msg_chan(p)))
		return false;
	em->has_request = first == 1;
	if (first && !parse_names(p, w[0], em->req, &em->nreq))
		return false;
	em->request = em->req[0];
	return true;
}

/* hold main NAME[|NAME...]: those main-channel requests stay unanswered
 * until `release main`, so that a case can probe what the front-end
 * does while its own request waits. */
static bool parse_hold(struct pctx *p, char **w, unsigned n)
{
	struct script_order_item *it = &p->st->u.hold;

	if (!need_role(p, SCRIPT_ROLE_BACKEND, "hold"))
		return false;
	if (n != 2 || strcmp(w[0], "main") != 0) {
		perr(p, "usage: hold main NAME[|NAME...]");
		return false;
	}
	snprintf(it->text, sizeof(it->text), "%s", w[1]);
	it->chan = SCRIPT_MAIN;
	p->st->on = SCRIPT_MAIN;
	return parse_names(p, w[1], it->req, &it->nreq);
}

static bool parse_release(struct pctx *p, char **w, unsigned n)
{
	if (!need_role(p, SCRIPT_ROLE_BACKEND, "release"))
		return false;
	if (n != 1 || strcmp(w[0], "main") != 0) {
		perr(p, "usage: release main");
		return false;
	}
	return true;
}

/* "backend:reply" or "main:SET_MEM_TABLE|ADD_MEM_REG". */
static bool parse_order_item(struct pctx *p, const char *word,
			     struct script_order_item *it)
{
	char buf[96], *colon, *save = NULL, *tok;

	snprintf(it->text, sizeof(it->text), "%s", word);
	snprintf(buf, sizeof(buf), "%s", word);
	colon = strchr(buf, ':');
	if (!colon || strlen(word) >= sizeof(buf)) {
		perr(p, "expect order: '%s' is not CHANNEL:reply or "
			"CHANNEL:NAME[|NAME...]", word);
		return false;
	}
	*colon = '\0';
	if (strcmp(buf, "main") == 0)
		it->chan = SCRIPT_MAIN;
	else if (strcmp(buf, "backend") == 0)
		it->chan = SCRIPT_BACKEND;
	else {
		perr(p, "expect order: unknown channel '%s' (main, backend)", buf);
		return false;
	}
	if (strcmp(colon + 1, "reply") == 0) {
		it->reply = true;
		return true;
	}
	p->st->on = it->chan;
	for (tok = strtok_r(colon + 1, "|", &save); tok;
	     tok = strtok_r(NULL, "|", &save)) {
		if (it->nreq == SCRIPT_ORDER_MAX_NAMES) {
			perr(p, "expect order: more than %u names in '%s'",
			     SCRIPT_ORDER_MAX_NAMES, word);
			return false;
		}
		if (!resolve_request(p, tok, &it->req[it->nreq++]))
			return false;
	}
	if (it->nreq == 0) {
		perr(p, "expect order: '%s' names no request", word);
		return false;
	}
	return true;
}

static bool parse_expect_order(struct pctx *p, char **w, unsigned n,
			       struct args *a)
{
	if (n < 2 || strchr(w[0], '=') || strchr(w[1], '=')) {
		perr(p, "usage: expect order A B");
		return false;
	}
	return parse_order_item(p, w[0], &p->st->u.order.a) &&
	       parse_order_item(p, w[1], &p->st->u.order.b) &&
	       split_args(p, w + 2, n - 2, a);
}

static bool parse_expect_shmem_config(struct pctx *p, struct args *a)
{
	struct script_shmem_cfg *sc = &p->st->u.sc;
	bool bad = false;
	const char *v;

	if (!need_role(p, SCRIPT_ROLE_FRONTEND, "expect shmem-config") ||
	    !take_on(p, a, SCRIPT_MAIN) || !take_within(p, a, 500))
		return false;
	sc->nregions_match = arg_flag(p, a, "nregions-match", &bad);
	sc->page_multiple = arg_flag(p, a, "page-multiple", &bad);
	sc->stable = arg_flag(p, a, "stable", &bad);
	v = arg_val(p, a, "regions", &bad);
	if (v) {
		if (!parse_sizes(p, "regions", v, &sc->nsizes))
			return false;
		sc->has_regions = true;
	}
	return !bad;
}

/* The FD word of check mapped/unmapped/fds. */
static bool check_fd_word(struct pctx *p, char **w, unsigned n,
			  const char *usage)
{
	if (n < 1 || strchr(w[0], '=')) {
		perr(p, "usage: %s", usage);
		return false;
	}
	if (!fd_declared(p, w[0]))
		return false;
	snprintf(p->st->u.chk.fd, sizeof(p->st->u.chk.fd), "%s", w[0]);
	return need_pid(p);
}

static bool valid_prot(const char *v)
{
	return strlen(v) == 4 && (v[0] == 'r' || v[0] == '-') &&
	       (v[1] == 'w' || v[1] == '-') && (v[2] == 'x' || v[2] == '-') &&
	       (v[3] == 's' || v[3] == 'p');
}

static bool parse_check_mapped(struct pctx *p, char **w, unsigned n,
			       struct args *a)
{
	struct script_check *k = &p->st->u.chk;
	bool bad = false;
	const char *v;

	if (!check_fd_word(p, w, n, "check mapped FD [count=N] [prot=PERMS] "
				     "[offset=N] [len=N]") ||
	    !split_args(p, w + 1, n - 1, a))
		return false;
	k->has_count = arg_num(p, a, "count", false, 1000000, &k->count, &bad);
	k->has_offset = arg_num(p, a, "offset", true, UINT64_MAX, &k->offset, &bad);
	k->has_len = arg_num(p, a, "len", true, UINT64_MAX, &k->len, &bad);
	v = arg_val(p, a, "prot", &bad);
	if (v) {
		if (!valid_prot(v)) {
			perr(p, "prot=%s: expected 4 characters as in /proc/PID/maps, "
				"e.g. r--s or rw-s", v);
			return false;
		}
		snprintf(k->prot, sizeof(k->prot), "%s", v);
		k->has_prot = true;
	}
	return !bad;
}

static bool parse_check_fds(struct pctx *p, char **w, unsigned n,
			    struct args *a)
{
	struct script_check *k = &p->st->u.chk;
	bool bad = false;

	if (!check_fd_word(p, w, n, "check fds FD count=N") ||
	    !split_args(p, w + 1, n - 1, a))
		return false;
	k->has_count = arg_num(p, a, "count", false, 1000000, &k->count, &bad);
	if (!bad && !k->has_count) {
		perr(p, "check fds: count=N is required");
		return false;
	}
	return !bad;
}

static bool parse_check_findings(struct pctx *p, char **w, unsigned n,
				 struct args *a)
{
	static const char *const sev[] = { "error", "warn", "info", NULL };
	bool bad = false;
	int i;

	if (n < 1 || strcmp(w[0], "none") != 0) {
		perr(p, "usage: check findings none [severity=error|warn|info]");
		return false;
	}
	if (!split_args(p, w + 1, n - 1, a))
		return false;
	i = arg_choice(p, a, "severity", sev, &bad);
	p->st->u.chk.severity = i >= 0 ? i : PROTO_SEV_ERROR;
	return !bad;
}

static bool parse_check_finding(struct pctx *p, char **w, unsigned n,
				struct args *a)
{
	const char *name = n >= 1 ? w[0] : "";

	if (n < 1 || strchr(w[0], '=')) {
		perr(p, "usage: check finding CODE");
		return false;
	}
	if (strncasecmp(name, "PROTO_FIND_", 11) == 0)
		name += 11;
	for (int code = 1; code < PROTO_FIND_CODE_MAX; code++) {
		if (strcasecmp(proto_finding_name((enum proto_finding_code)code),
			       name) == 0) {
			p->st->u.chk.code = code;
			return split_args(p, w + 1, n - 1, a);
		}
	}
	if (strcasecmp(name, script_finding_name(SCRIPT_FIND_UNSOLICITED_REPLY))
	    == 0) {
		p->st->u.chk.code = SCRIPT_FIND_UNSOLICITED_REPLY;
		return split_args(p, w + 1, n - 1, a);
	}
	perr(p, "unknown finding code '%s'", w[0]);
	return false;
}

/* expect result ok|fail|sent|any|not-ok [within=MS] (docs/control.md) */
static bool parse_expect_result(struct pctx *p, char **w, unsigned n,
				struct args *a)
{
	static const char *const words[] = { "ok", "fail", "sent", "any",
					     "not-ok" };
	unsigned i = 0;

	while (n >= 1 && i < 5 && strcmp(w[0], words[i]) != 0)
		i++;
	if (n < 1 || i == 5) {
		perr(p, "usage: expect result ok|fail|sent|any|not-ok [within=MS]");
		return false;
	}
	if (!p->c->requires_control) {
		perr(p, "'expect result' needs 'requires control' in the header");
		return false;
	}
	p->st->u.result = (enum script_result)i;
	return need_role(p, SCRIPT_ROLE_FRONTEND, "expect result") &&
	       split_args(p, w + 1, n - 1, a) && take_within(p, a, 1000);
}

struct graded_kind {
	const char *name;
	enum script_op op;
	bool is_check;
};

static const struct graded_kind graded_kinds[] = {
	{ "reply", SCRIPT_EXPECT_REPLY, false },
	{ "no-reply", SCRIPT_EXPECT_NO_REPLY, false },
	{ "msg", SCRIPT_EXPECT_MSG, false },
	{ "no-msg", SCRIPT_EXPECT_NO_MSG, false },
	{ "eof", SCRIPT_EXPECT_EOF, false },
	{ "order", SCRIPT_EXPECT_ORDER, false },
	{ "shmem-config", SCRIPT_EXPECT_SHMEM_CONFIG, false },
	{ "result", SCRIPT_EXPECT_RESULT, false },
	{ "alive", SCRIPT_CHECK_ALIVE, true },
	{ "mapped", SCRIPT_CHECK_MAPPED, true },
	{ "unmapped", SCRIPT_CHECK_UNMAPPED, true },
	{ "fds", SCRIPT_CHECK_FDS, true },
	{ "baseline", SCRIPT_CHECK_BASELINE, true },
	{ "findings", SCRIPT_CHECK_FINDINGS_NONE, true },
	{ "finding", SCRIPT_CHECK_FINDING, true },
	{ "ledger", SCRIPT_CHECK_LEDGER, true },
	{ "memtable", SCRIPT_CHECK_MEMTABLE, true },
};

/* The arguments of one graded step (w: after its kind word). */
static bool parse_graded_args(struct pctx *p, char **w, unsigned n,
			      struct args *a)
{
	switch (p->st->op) {
	case SCRIPT_EXPECT_REPLY:
		return split_args(p, w, n, a) && parse_expect_reply(p, a);
	case SCRIPT_EXPECT_NO_REPLY:
		return split_args(p, w, n, a) &&
		       parse_expect_quiet(p, a, default_reply_chan(p));
	case SCRIPT_EXPECT_MSG:
		return parse_expect_msg(p, w, n, a);
	case SCRIPT_EXPECT_NO_MSG:
		return parse_expect_no_msg(p, w, n, a);
	case SCRIPT_EXPECT_EOF:
		return split_args(p, w, n, a) && take_on(p, a, SCRIPT_MAIN) &&
		       take_within(p, a, 500);
	case SCRIPT_EXPECT_ORDER:
		return parse_expect_order(p, w, n, a);
	case SCRIPT_EXPECT_SHMEM_CONFIG:
		return split_args(p, w, n, a) && parse_expect_shmem_config(p, a);
	case SCRIPT_CHECK_MAPPED:
		return parse_check_mapped(p, w, n, a) && take_within(p, a, 100);
	case SCRIPT_CHECK_UNMAPPED:
		return check_fd_word(p, w, n, "check unmapped FD") &&
		       split_args(p, w + 1, n - 1, a) && take_within(p, a, 100);
	case SCRIPT_CHECK_FDS:
		return parse_check_fds(p, w, n, a) && take_within(p, a, 100);
	case SCRIPT_CHECK_BASELINE:
		if (!p->marked) {
			perr(p, "'check baseline' without an earlier 'mark'");
			return false;
		}
		return need_pid(p) && split_args(p, w, n, a) &&
		       take_within(p, a, 100);
	case SCRIPT_CHECK_FINDINGS_NONE:
		return parse_check_findings(p, w, n, a);
	case SCRIPT_CHECK_FINDING:
		return parse_check_finding(p, w, n, a);
	case SCRIPT_CHECK_LEDGER:
		return need_role(p, SCRIPT_ROLE_FRONTEND, "check ledger") &&
		       split_args(p, w, n, a);
	case SCRIPT_CHECK_MEMTABLE:
		return need_role(p, SCRIPT_ROLE_BACKEND, "check memtable") &&
		       split_args(p, w, n, a) && take_within(p, a, 500);
	case SCRIPT_EXPECT_RESULT:
		return parse_expect_result(p, w, n, a);
	default:
		return split_args(p, w, n, a);
	}
}

/* expect KIND ..., check KIND ..., assert KIND ... */
static bool parse_graded(struct pctx *p, const char *kw, char **w, unsigned n)
{
	const struct graded_kind *k = NULL;
	struct args a;

	for (size_t i = 0; n > 0 && i < sizeof(graded_kinds) / sizeof(graded_kinds[0]); i++)
		if (strcmp(graded_kinds[i].name, w[0]) == 0)
			k = &graded_kinds[i];
	if (!k) {
		perr(p, "unknown %s kind '%s'", kw, n > 0 ? w[0] : "");
		return false;
	}
	if ((kw[0] == 'e' && k->is_check) || (kw[0] == 'c' && !k->is_check)) {
		perr(p, "'%s %s': use '%s %s'", kw, k->name,
		     k->is_check ? "check" : "expect", k->name);
		return false;
	}
	p->st->op = k->op;
	p->st->is_assert = kw[0] == 'a';
	p->st->is_require = kw[0] == 'r';
	if (!parse_graded_args(p, w + 1, n - 1, &a) || !take_grade(p, &a))
		return false;
	return args_all_used(p, &a, script_op_name(k->op));
}

/* ---- header ---- */

static void base_name(const char *path, char *out, size_t cap)
{
	const char *b = strrchr(path, '/');
	size_t n;

	b = b ? b + 1 : path;
	n = strlen(b);
	if (n > 4 && strcmp(b + n - 4, ".vhu") == 0)
		n -= 4;
	snprintf(out, cap, "%.*s", (int)n, b);
}

static void area_name(const char *path, char *out, size_t cap)
{
	const char *end = strrchr(path, '/'), *start;

	out[0] = '\0';
	if (!end)
		return;
	start = end;
	while (start > path && start[-1] != '/')
		start--;
	snprintf(out, cap, "%.*s", (int)(end - start), start);
}

static bool valid_id(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!islower((unsigned char)*s) && !isdigit((unsigned char)*s) &&
		    *s != '_')
			return false;
	return true;
}

static bool parse_id(struct pctx *p, const char *v)
{
	char base[256];

	if (!valid_id(v) || strlen(v) >= sizeof(p->c->id)) {
		perr(p, "id '%s': use [a-z0-9_]+ (at most %zu characters)", v,
		     sizeof(p->c->id) - 1);
		return false;
	}
	base_name(p->path, base, sizeof(base));
	if (strcmp(base, v) != 0) {
		perr(p, "id '%s' differs from the file name '%s'", v, base);
		return false;
	}
	snprintf(p->c->id, sizeof(p->c->id), "%s", v);
	return true;
}

static bool parse_requires(struct pctx *p, char **w, unsigned n)
{
	struct script_case *c = p->c;
	size_t len = strlen(c->requires_text);

	if (n == 0) {
		perr(p, "usage: requires WORD...");
		return false;
	}
	for (unsigned i = 0; i < n; i++) {
		int bit;

		if (strcasecmp(w[i], "control") == 0) {
			c->requires_control = true;
			if (!c->control_line)
				c->control_line = p->line;
		} else if (strcasecmp(w[i], "pid") == 0) {
			c->requires_pid = true;
			if (!c->pid_line)
				c->pid_line = p->line;
		} else if (strcasecmp(w[i], "socket") == 0) {
			c->requires_socket = true;
			if (!c->socket_line)
				c->socket_line = p->line;
		} else if (strcasecmp(w[i], "SHMEM") == 0) {
			c->requires_shmem = true;
			p->proto_req_line = p->line;
		} else if ((bit = proto_pfeat_by_name(w[i], 64)) >= 0) {
			c->requires_pf |= 1ull << bit;
			p->proto_req_line = p->line;
		} else {
			perr(p, "requires: unknown word '%s' (a protocol feature, "
				"control, pid or socket)", w[i]);
			return false;
		}
		len += (size_t)snprintf(c->requires_text + len,
					len < sizeof(c->requires_text)
						? sizeof(c->requires_text) - len : 0,
					"%s%s", len ? " " : "", w[i]);
		if (len >= sizeof(c->requires_text))
			len = sizeof(c->requires_text) - 1;
	}
	return true;
}

static bool parse_timeout(struct pctx *p, const char *v)
{
	int rc = script_parse_u64(v, false, &p->c->timeout_ms);

	if (rc < 0 || p->c->timeout_ms == 0 || p->c->timeout_ms > 3600000) {
		perr(p, "timeout %s: expected milliseconds, 1 to 3600000", v);
		return false;
	}
	return true;
}

/* The verdict a clean refusal gets: the spelling of reports. */
static bool parse_refusal(struct pctx *p, const char *v)
{
	for (unsigned i = SCRIPT_REFUSAL_PASS;
	     i < sizeof(refusal_names) / sizeof(refusal_names[0]); i++) {
		if (strcmp(v, refusal_names[i]) == 0) {
			p->c->refusal = (enum script_refusal)i;
			return true;
		}
	}
	perr(p, "refusal '%s': expected PASS, NON-STRICT or INFO", v);
	return false;
}

static bool parse_word_header(struct pctx *p, enum hdr_key k, const char *v)
{
	static const char *const levels[] = { "MUST", "SHOULD", "INFO" };

	switch (k) {
	case HK_ID:
		return parse_id(p, v);
	case HK_ROLE:
		if (strcmp(v, "backend") == 0 || strcmp(v, "frontend") == 0) {
			p->c->role = v[0] == 'b' ? SCRIPT_ROLE_BACKEND
						 : SCRIPT_ROLE_FRONTEND;
			return true;
		}
		perr(p, "role '%s': expected backend or frontend", v);
		return false;
	case HK_LEVEL:
		for (int i = 0; i < 3; i++) {
			if (strcmp(v, levels[i]) == 0) {
				p->c->level = (enum script_grade)i;
				return true;
			}
		}
		perr(p, "level '%s': expected MUST, SHOULD or INFO", v);
		return false;
	case HK_MODEL:
		if (strcmp(v, "threaded") == 0 || strcmp(v, "single-thread") == 0) {
			p->c->single_thread = v[0] == 's';
			return true;
		}
		perr(p, "model '%s': expected threaded or single-thread", v);
		return false;
	case HK_REFUSAL:
		p->refusal_line = p->line;
		return parse_refusal(p, v);
	default:
		return parse_timeout(p, v);
	}
}

static const char *const hdr_names[HK_MAX] = {
	[HK_ID] = "id", [HK_TITLE] = "title", [HK_ROLE] = "role",
	[HK_RULE] = "rule", [HK_LEVEL] = "level", [HK_REASON] = "reason",
	[HK_TIMEOUT] = "timeout", [HK_MODEL] = "model", [HK_REFUSAL] = "refusal",
};

static int header_key(const char *kw)
{
	for (int k = 0; k < HK_MAX; k++)
		if (strcmp(hdr_names[k], kw) == 0)
			return k;
	return -1;
}

static bool is_text_key(int k)
{
	return k == HK_TITLE || k == HK_RULE || k == HK_REASON;
}

/* Header text is shown in every report: UTF-8, no control characters. */
static bool valid_text(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;

	while (*u) {
		unsigned need = *u < 0x80 ? 0 : (*u & 0xe0) == 0xc0 ? 1
			      : (*u & 0xf0) == 0xe0 ? 2 : (*u & 0xf8) == 0xf0 ? 3 : 4;

		if (need == 4 || (*u < 0x20 && *u != '\t') || *u == 0x7f ||
		    (need == 1 && *u < 0xc2))
			return false;
		for (unsigned i = 1; i <= need; i++)
			if ((u[i] & 0xc0) != 0x80)
				return false;
		u += need + 1;
	}
	return true;
}

static bool parse_header(struct pctx *p, int k, const char *text, char **w,
			 unsigned n)
{
	struct script_case *c = p->c;

	if (p->seen[k]) {
		perr(p, "'%s' given twice", hdr_names[k]);
		return false;
	}
	p->seen[k] = true;
	if (is_text_key(k)) {
		char *dst = k == HK_TITLE ? c->title : k == HK_RULE ? c->rule
								     : c->reason;
		size_t cap = k == HK_TITLE ? sizeof(c->title)
			     : k == HK_RULE ? sizeof(c->rule) : sizeof(c->reason);

		if (!*text) {
			perr(p, "'%s' needs text", hdr_names[k]);
			return false;
		}
		if (!valid_text(text)) {
			perr(p, "'%s': not UTF-8 text (or a control character in it)",
			     hdr_names[k]);
			return false;
		}
		if (strlen(text) >= cap) {
			perr(p, "'%s' longer than %zu characters", hdr_names[k],
			     cap - 1);
			return false;
		}
		snprintf(dst, cap, "%s", text);
		return true;
	}
	if (n != 1) {
		perr(p, "usage: %s VALUE", hdr_names[k]);
		return false;
	}
	return parse_word_header(p, (enum hdr_key)k, w[0]);
}

/* At the first step (or the end of a file without steps). */
static void check_header(struct pctx *p)
{
	static const enum hdr_key required[] = { HK_ID, HK_TITLE, HK_ROLE,
						 HK_RULE, HK_LEVEL };

	p->checking_header = true;
	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++)
		if (!p->seen[required[i]])
			perr(p, "missing '%s' in the header", hdr_names[required[i]]);
	if (p->seen[HK_LEVEL] && p->c->level != SCRIPT_MUST && !p->seen[HK_REASON])
		perr(p, "level %s needs a 'reason' line",
		     script_grade_name(p->c->level));
	p->checking_header = false;
}

/* ---- lines ---- */

static struct script_step *new_step(struct pctx *p, enum script_op op)
{
	struct script_case *c = p->c;

	if (c->nsteps == p->cap) {
		unsigned ncap = p->cap ? p->cap * 2 : 32;
		struct script_step *ns = realloc(c->steps, ncap * sizeof(*ns));

		if (!ns)
			return NULL;
		c->steps = ns;
		p->cap = ncap;
	}
	p->st = &c->steps[c->nsteps++];
	memset(p->st, 0, sizeof(*p->st));
	p->st->op = op;
	p->st->line = p->line;
	p->st->grade = c->level;
	p->st->within_ms = -1;
	return p->st;
}

static bool parse_step(struct pctx *p, const char *kw, char **w, unsigned n)
{
	static const struct {
		const char *kw;
		enum script_op op;
	} ops[] = {
		{ "fd", SCRIPT_FD }, { "sleep", SCRIPT_SLEEP },
		{ "repeat", SCRIPT_REPEAT }, { "end", SCRIPT_END },
		{ "control", SCRIPT_CONTROL }, { "handshake", SCRIPT_HANDSHAKE },
		{ "send", SCRIPT_SEND }, { "reply", SCRIPT_REPLY },
		{ "close", SCRIPT_CLOSE_BACKEND }, { "mark", SCRIPT_MARK },
		{ "expect", SCRIPT_EXPECT_REPLY }, { "check", SCRIPT_CHECK_ALIVE },
		{ "assert", SCRIPT_EXPECT_REPLY },
		{ "require", SCRIPT_EXPECT_REPLY },
		{ "hold", SCRIPT_HOLD }, { "release", SCRIPT_RELEASE },
	};
	size_t i;

	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (strcmp(ops[i].kw, kw) == 0)
			break;
	if (i == sizeof(ops) / sizeof(ops[0])) {
		perr(p, "unknown keyword '%s'", kw);
		return false;
	}
	if (!p->in_steps) {
		p->in_steps = true;
		p->header_end_line = p->line;
		check_header(p);
	}
	if (!new_step(p, ops[i].op)) {
		perr(p, "out of memory");
		return false;
	}
	switch (ops[i].op) {
	case SCRIPT_FD: return parse_fd(p, w, n);
	case SCRIPT_SLEEP: return parse_count(p, w, n, MAX_WINDOW_MS);
	case SCRIPT_REPEAT: return parse_repeat(p, w, n);
	case SCRIPT_END: return parse_end(p, n);
	case SCRIPT_CONTROL: return parse_control(p, w, n);
	case SCRIPT_HANDSHAKE: return parse_handshake(p, w, n);
	case SCRIPT_SEND: return parse_send(p, w, n);
	case SCRIPT_REPLY: return parse_reply(p, w, n);
	case SCRIPT_CLOSE_BACKEND: return parse_close(p, w, n);
	case SCRIPT_MARK: return parse_mark(p, n);
	case SCRIPT_HOLD: return parse_hold(p, w, n);
	case SCRIPT_RELEASE: return parse_release(p, w, n);
	default: return parse_graded(p, kw, w, n);
	}
}

/* Cuts a comment: '#' at the start of a word. */
static void cut_comment(char *s)
{
	for (char *q = s; *q; q++) {
		if (*q == '#' && (q == s || *(q - 1) == ' ' || *(q - 1) == '\t')) {
			*q = '\0';
			return;
		}
	}
}

static void trim_right(char *s)
{
	size_t n = strlen(s);

	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		s[--n] = '\0';
}

static void parse_line(struct pctx *p, char *s)
{
	char *w[MAX_ARGS + 8], *kw, *rest, *save = NULL;
	unsigned n = 0;
	int hk;

	s += strspn(s, " \t");
	trim_right(s);
	if (*s == '\0' || *s == '#')
		return;
	kw = s;
	rest = s + strcspn(s, " \t");
	if (*rest) {
		*rest++ = '\0';
		rest += strspn(rest, " \t");
	}
	hk = header_key(kw);
	if (!is_text_key(hk))
		cut_comment(rest);
	trim_right(rest);
	if (hk >= 0 && is_text_key(hk)) {
		if (p->in_steps)
			perr(p, "'%s' is a header line: put it before the first step", kw);
		else
			parse_header(p, hk, rest, NULL, 0);
		return;
	}
	for (char *t = strtok_r(rest, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
		if (n == sizeof(w) / sizeof(w[0])) {
			perr(p, "too many words on one line");
			return;
		}
		w[n++] = t;
	}
	if (hk >= 0 || strcmp(kw, "requires") == 0) {
		if (p->in_steps)
			perr(p, "'%s' is a header line: put it before the first step", kw);
		else if (hk >= 0)
			parse_header(p, hk, NULL, w, n);
		else
			parse_requires(p, w, n);
		return;
	}
	parse_step(p, kw, w, n);
}

static void final_checks(struct pctx *p)
{
	struct script_case *c = p->c;

	p->line = 0;
	if (!p->in_steps) {
		check_header(p);
		p->in_steps = true;     /* what follows is about the steps */
		perr(p, "no steps");
	}
	while (p->depth > 0) {
		p->line = c->steps[p->stack[--p->depth]].line;
		perr(p, "'repeat' without 'end'");
	}
	if ((c->requires_pf || c->requires_shmem) && !c->has_handshake) {
		p->line = p->proto_req_line;
		perr(p, "requires protocol features but the case has no handshake "
			"step to negotiate them");
	}
	/* A refusal is judged at the first handshake: without one there
	 * is no configuration to refuse. */
	if (c->refusal != SCRIPT_REFUSAL_NONE && !c->has_handshake) {
		p->line = p->refusal_line;
		perr(p, "'refusal' needs a handshake step (the configuration "
			"the target may refuse)");
	}
}

void script_free(struct script_case *c)
{
	for (unsigned i = 0; i < c->nsteps; i++) {
		free(c->steps[i].data);
		free(c->steps[i].list);
	}
	free(c->steps);
	c->steps = NULL;
	c->nsteps = 0;
}

int script_parse_text(const char *path, const char *text,
		      struct script_case *c, char *err, size_t errcap)
{
	struct pctx p = { .path = path, .err = err, .errcap = errcap, .c = c };
	char *line = malloc(LINE_MAX_LEN + 1);

	memset(c, 0, sizeof(*c));
	c->timeout_ms = SCRIPT_DEFAULT_TIMEOUT_MS;
	snprintf(c->file, sizeof(c->file), "%s", path);
	area_name(path, c->area, sizeof(c->area));
	if (!line) {
		perr(&p, "out of memory");
		return (int)p.nerr;
	}
	while (*text) {
		size_t len = strcspn(text, "\n");

		p.line++;
		if (len > LINE_MAX_LEN) {
			perr(&p, "line longer than %u characters", LINE_MAX_LEN);
		} else if (memchr(text, '\0', len) == NULL) {
			memcpy(line, text, len);
			line[len] = '\0';
			parse_line(&p, line);
		}
		text += len + (text[len] == '\n');
	}
	free(line);
	final_checks(&p);
	if (p.nerr > 0)
		script_free(c);
	return (int)p.nerr;
}

int script_parse_file(const char *path, struct script_case *c, char *err,
		      size_t errcap)
{
	struct pctx p = { .path = path, .err = err, .errcap = errcap, .c = c };
	char *buf;
	ssize_t n;
	size_t len = 0;
	int fd, rc;

	memset(c, 0, sizeof(*c));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		perr(&p, "cannot open: %s", strerror(errno));
		return 1;
	}
	buf = malloc(MAX_FILE + 1);
	if (!buf) {
		close(fd);
		perr(&p, "out of memory");
		return 1;
	}
	while ((n = read(fd, buf + len, MAX_FILE + 1 - len)) > 0 && len <= MAX_FILE)
		len += (size_t)n;
	rc = n < 0 ? errno : 0;
	close(fd);
	if (rc || len > MAX_FILE) {
		perr(&p, rc ? "cannot read: %s" : "larger than %s",
		     rc ? strerror(rc) : "1 MiB");
		free(buf);
		return 1;
	}
	buf[len] = '\0';
	rc = script_parse_text(path, buf, c, err, errcap);
	free(buf);
	return rc;
}
