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

#include "protoname.h"
#include "scriptctx.h"
#include "scriptgrade.h"
#include "scriptstep.h"

#define LINE_MAX_LEN 20000u
#define MAX_FILE (1u << 20)

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
		sctx_perr(p, "id '%s': use [a-z0-9_]+ (at most %zu characters)", v,
		     sizeof(p->c->id) - 1);
		return false;
	}
	base_name(p->path, base, sizeof(base));
	if (strcmp(base, v) != 0) {
		sctx_perr(p, "id '%s' differs from the file name '%s'", v, base);
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
		sctx_perr(p, "usage: requires WORD...");
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
			sctx_perr(p, "requires: unknown word '%s' (a protocol feature, "
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
		sctx_perr(p, "timeout %s: expected milliseconds, 1 to 3600000", v);
		return false;
	}
	return true;
}

/* The verdict a clean refusal gets: the spelling of reports. */
static bool parse_refusal(struct pctx *p, const char *v)
{
	for (unsigned i = SCRIPT_REFUSAL_PASS; i <= SCRIPT_REFUSAL_INFO; i++) {
		if (strcmp(v, script_refusal_name((enum script_refusal)i)) == 0) {
			p->c->refusal = (enum script_refusal)i;
			return true;
		}
	}
	sctx_perr(p, "refusal '%s': expected PASS, NON-STRICT or INFO", v);
	return false;
}

static bool parse_word_header(struct pctx *p, enum hdr_key k, const char *v)
{
	static const char *const levels[] = { "MUST", "SHOULD", "INFO" };

	switch (k) {
	case HK_ID:
		return parse_id(p, v);
	case HK_TARGET:
		/* the target's role; the harness plays the other */
		if (strcmp(v, "backend") == 0 || strcmp(v, "frontend") == 0) {
			p->c->role = v[0] == 'f' ? SCRIPT_ROLE_BACKEND
						 : SCRIPT_ROLE_FRONTEND;
			return true;
		}
		sctx_perr(p, "target '%s': expected frontend or backend (the role of "
			  "the implementation under test)", v);
		return false;
	case HK_LEVEL:
		for (int i = 0; i < 3; i++) {
			if (strcmp(v, levels[i]) == 0) {
				p->c->level = (enum script_grade)i;
				return true;
			}
		}
		sctx_perr(p, "level '%s': expected MUST, SHOULD or INFO", v);
		return false;
	case HK_MODEL:
		if (strcmp(v, "threaded") == 0 || strcmp(v, "single-thread") == 0) {
			p->c->single_thread = v[0] == 's';
			return true;
		}
		sctx_perr(p, "model '%s': expected threaded or single-thread", v);
		return false;
	case HK_REFUSAL:
		p->refusal_line = p->line;
		return parse_refusal(p, v);
	default:
		return parse_timeout(p, v);
	}
}

static const char *const hdr_names[HK_MAX] = {
	[HK_ID] = "id", [HK_TITLE] = "title", [HK_TARGET] = "target",
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
		sctx_perr(p, "'%s' given twice", hdr_names[k]);
		return false;
	}
	p->seen[k] = true;
	if (is_text_key(k)) {
		char *dst = k == HK_TITLE ? c->title : k == HK_RULE ? c->rule
								     : c->reason;
		size_t cap = k == HK_TITLE ? sizeof(c->title)
			     : k == HK_RULE ? sizeof(c->rule) : sizeof(c->reason);

		if (!*text) {
			sctx_perr(p, "'%s' needs text", hdr_names[k]);
			return false;
		}
		if (!valid_text(text)) {
			sctx_perr(p, "'%s': not UTF-8 text (or a control character in it)",
			     hdr_names[k]);
			return false;
		}
		if (strlen(text) >= cap) {
			sctx_perr(p, "'%s' longer than %zu characters", hdr_names[k],
			     cap - 1);
			return false;
		}
		snprintf(dst, cap, "%s", text);
		return true;
	}
	if (n != 1) {
		sctx_perr(p, "usage: %s VALUE", hdr_names[k]);
		return false;
	}
	return parse_word_header(p, (enum hdr_key)k, w[0]);
}

/* The header key `role` said the HARNESS's role, which read as the
 * target's; it is refused, never reinterpreted, with the spelling that
 * says the same case. */
static void old_role_key(struct pctx *p, const char *rest)
{
	const char *v = rest + strspn(rest, " \t");
	const char *now = strncmp(v, "backend", 7) == 0 ? "frontend"
			  : strncmp(v, "frontend", 8) == 0 ? "backend" : NULL;

	if (now)
		sctx_perr(p, "'role' is no longer a header key: write 'target %s' "
			  "(the implementation under test's role)", now);
	else
		sctx_perr(p, "'role' is no longer a header key: write 'target "
			  "frontend' or 'target backend' (the implementation under "
			  "test's role)");
	p->seen[HK_TARGET] = true;      /* one error, not a second "missing" */
}

/* At the first step (or the end of a file without steps). */
static void check_header(struct pctx *p)
{
	static const enum hdr_key required[] = { HK_ID, HK_TITLE, HK_TARGET,
						 HK_RULE, HK_LEVEL };

	p->checking_header = true;
	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++)
		if (!p->seen[required[i]])
			sctx_perr(p, "missing '%s' in the header", hdr_names[required[i]]);
	if (p->seen[HK_LEVEL] && p->c->level != SCRIPT_MUST && !p->seen[HK_REASON])
		sctx_perr(p, "level %s needs a 'reason' line",
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
		sctx_perr(p, "unknown keyword '%s'", kw);
		return false;
	}
	if (!p->in_steps) {
		p->in_steps = true;
		p->header_end_line = p->line;
		check_header(p);
	}
	if (!new_step(p, ops[i].op)) {
		sctx_perr(p, "out of memory");
		return false;
	}
	switch (ops[i].op) {
	case SCRIPT_FD: return sstep_fd(p, w, n);
	case SCRIPT_SLEEP: return sstep_count(p, w, n, SCTX_MAX_WINDOW_MS);
	case SCRIPT_REPEAT: return sstep_repeat(p, w, n);
	case SCRIPT_END: return sstep_end(p, n);
	case SCRIPT_CONTROL: return sstep_control(p, w, n);
	case SCRIPT_HANDSHAKE: return sstep_handshake(p, w, n);
	case SCRIPT_SEND: return sstep_send(p, w, n);
	case SCRIPT_REPLY: return sstep_reply(p, w, n);
	case SCRIPT_CLOSE_BACKEND: return sstep_close(p, w, n);
	case SCRIPT_MARK: return sstep_mark(p, n);
	case SCRIPT_HOLD: return sstep_hold(p, w, n);
	case SCRIPT_RELEASE: return sstep_release(p, w, n);
	default: return sgrade_parse(p, kw, w, n);
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
	char *w[SCTX_MAX_ARGS + 8], *kw, *rest, *save = NULL;
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
	if (hk < 0 && strcmp(kw, "role") == 0) {
		old_role_key(p, rest);
		return;
	}
	if (!is_text_key(hk))
		cut_comment(rest);
	trim_right(rest);
	if (hk >= 0 && is_text_key(hk)) {
		if (p->in_steps)
			sctx_perr(p, "'%s' is a header line: put it before the first step", kw);
		else
			parse_header(p, hk, rest, NULL, 0);
		return;
	}
	for (char *t = strtok_r(rest, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
		if (n == sizeof(w) / sizeof(w[0])) {
			sctx_perr(p, "too many words on one line");
			return;
		}
		w[n++] = t;
	}
	if (hk >= 0 || strcmp(kw, "requires") == 0) {
		if (p->in_steps)
			sctx_perr(p, "'%s' is a header line: put it before the first step", kw);
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
		sctx_perr(p, "no steps");
	}
	while (p->depth > 0) {
		p->line = c->steps[p->stack[--p->depth]].line;
		sctx_perr(p, "'repeat' without 'end'");
	}
	if ((c->requires_pf || c->requires_shmem) && !c->has_handshake) {
		p->line = p->proto_req_line;
		sctx_perr(p, "requires protocol features but the case has no handshake "
			"step to negotiate them");
	}
	/* A refusal is judged at the first handshake: without one there
	 * is no configuration to refuse. */
	if (c->refusal != SCRIPT_REFUSAL_NONE && !c->has_handshake) {
		p->line = p->refusal_line;
		sctx_perr(p, "'refusal' needs a handshake step (the configuration "
			"the target may refuse)");
	}
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
		sctx_perr(&p, "out of memory");
		return (int)p.nerr;
	}
	while (*text) {
		size_t len = strcspn(text, "\n");

		p.line++;
		if (len > LINE_MAX_LEN) {
			sctx_perr(&p, "line longer than %u characters", LINE_MAX_LEN);
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
		sctx_perr(&p, "cannot open: %s", strerror(errno));
		return 1;
	}
	buf = malloc(MAX_FILE + 1);
	if (!buf) {
		close(fd);
		sctx_perr(&p, "out of memory");
		return 1;
	}
	while ((n = read(fd, buf + len, MAX_FILE + 1 - len)) > 0 && len <= MAX_FILE)
		len += (size_t)n;
	rc = n < 0 ? errno : 0;
	close(fd);
	if (rc || len > MAX_FILE) {
		sctx_perr(&p, rc ? "cannot read: %s" : "larger than %s",
		     rc ? strerror(rc) : "1 MiB");
		free(buf);
		return 1;
	}
	buf[len] = '\0';
	rc = script_parse_text(path, buf, c, err, errcap);
	free(buf);
	return rc;
}
