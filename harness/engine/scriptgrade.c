/* SPDX-License-Identifier: MIT */
/* scriptgrade: graded step parsers (scriptgrade.h). */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "proto.h"
#include "protoval.h"

#include "scriptgrade.h"

/* ---- expectations and checks ---- */

static bool parse_expect_reply(struct pctx *p, struct args *a)
{
	struct script_expect_reply *er = &p->st->u.er;
	bool bad = false;
	const char *v;

	if (!sctx_take_on(p, a, sctx_default_reply_chan(p)) || !sctx_take_within(p, a, 500))
		return false;
	v = sctx_arg_val(p, a, "value", &bad);
	if (v && strcmp(v, "nonzero") == 0) {
		er->value_kind = SCRIPT_VALUE_NONZERO;
	} else if (v) {
		int rc = script_parse_u64(v, false, &er->value);

		if (rc < 0) {
			sctx_perr(p, "value=%s: expected 0, nonzero or a number", v);
			return false;
		}
		er->value_kind = SCRIPT_VALUE_EQ;
	}
	er->has_flags = sctx_arg_u32(p, a, "flags", false, &er->flags, &bad);
	er->has_size = sctx_arg_u32(p, a, "size", true, &er->size, &bad);
	return !bad;
}

/* expect no-reply / no-msg: a window of silence. */
static bool parse_expect_quiet(struct pctx *p, struct args *a,
			       enum script_chan dflt)
{
	return sctx_take_on(p, a, dflt) && sctx_take_within(p, a, 200);
}

static bool parse_expect_msg(struct pctx *p, char **w, unsigned n,
			     struct args *a)
{
	struct script_expect_msg *em = &p->st->u.em;
	bool bad = false;
	uint64_t fds;

	if (n < 1 || strchr(w[0], '=')) {
		sctx_perr(p, "usage: expect msg NAME[|NAME...] [on=main|backend] [fds=N] "
			"[size=N] [flags=N] [within=MS]");
		return false;
	}
	if (!sctx_split_args(p, w + 1, n - 1, a) ||
	    !sctx_take_on(p, a, sctx_default_msg_chan(p)) || !sctx_take_within(p, a, 500))
		return false;
	if (!sctx_parse_names(p, w[0], em->req, &em->nreq))
		return false;
	em->request = em->req[0];
	em->has_fds = sctx_arg_num(p, a, "fds", false, 253, &fds, &bad);
	em->fds = (unsigned)fds;
	em->has_size = sctx_arg_u32(p, a, "size", true, &em->size, &bad);
	em->has_flags = sctx_arg_u32(p, a, "flags", false, &em->flags, &bad);
	em->has_request = true;
	return !bad;
}

/* expect no-msg [NAME]: nothing, or nothing of that request. */
static bool parse_expect_no_msg(struct pctx *p, char **w, unsigned n,
				struct args *a)
{
	struct script_expect_msg *em = &p->st->u.em;
	unsigned first = n >= 1 && !strchr(w[0], '=') ? 1 : 0;

	if (!sctx_split_args(p, w + first, n - first, a) ||
	    !parse_expect_quiet(p, a, sctx_default_msg_chan(p)))
		return false;
	em->has_request = first == 1;
	if (first && !sctx_parse_names(p, w[0], em->req, &em->nreq))
		return false;
	em->request = em->req[0];
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
		sctx_perr(p, "expect order: '%s' is not CHANNEL:reply or "
			"CHANNEL:NAME[|NAME...]", word);
		return false;
	}
	*colon = '\0';
	if (strcmp(buf, "main") == 0)
		it->chan = SCRIPT_MAIN;
	else if (strcmp(buf, "backend") == 0)
		it->chan = SCRIPT_BACKEND;
	else {
		sctx_perr(p, "expect order: unknown channel '%s' (main, backend)", buf);
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
			sctx_perr(p, "expect order: more than %u names in '%s'",
			     SCRIPT_ORDER_MAX_NAMES, word);
			return false;
		}
		if (!sctx_resolve_request(p, tok, &it->req[it->nreq++]))
			return false;
	}
	if (it->nreq == 0) {
		sctx_perr(p, "expect order: '%s' names no request", word);
		return false;
	}
	return true;
}

static bool parse_expect_order(struct pctx *p, char **w, unsigned n,
			       struct args *a)
{
	if (n < 2 || strchr(w[0], '=') || strchr(w[1], '=')) {
		sctx_perr(p, "usage: expect order A B");
		return false;
	}
	return parse_order_item(p, w[0], &p->st->u.order.a) &&
	       parse_order_item(p, w[1], &p->st->u.order.b) &&
	       sctx_split_args(p, w + 2, n - 2, a);
}

static bool parse_expect_shmem_config(struct pctx *p, struct args *a)
{
	struct script_shmem_cfg *sc = &p->st->u.sc;
	bool bad = false;
	const char *v;

	if (!sctx_need_role(p, SCRIPT_ROLE_FRONTEND, "expect shmem-config") ||
	    !sctx_take_on(p, a, SCRIPT_MAIN) || !sctx_take_within(p, a, 500))
		return false;
	sc->nregions_match = sctx_arg_flag(p, a, "nregions-match", &bad);
	sc->page_multiple = sctx_arg_flag(p, a, "page-multiple", &bad);
	sc->stable = sctx_arg_flag(p, a, "stable", &bad);
	v = sctx_arg_val(p, a, "regions", &bad);
	if (v) {
		if (!sctx_parse_sizes(p, "regions", v, &sc->nsizes))
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
		sctx_perr(p, "usage: %s", usage);
		return false;
	}
	if (!sctx_fd_declared(p, w[0]))
		return false;
	snprintf(p->st->u.chk.fd, sizeof(p->st->u.chk.fd), "%s", w[0]);
	return sctx_need_pid(p);
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
	    !sctx_split_args(p, w + 1, n - 1, a))
		return false;
	k->has_count = sctx_arg_num(p, a, "count", false, 1000000, &k->count, &bad);
	k->has_offset = sctx_arg_num(p, a, "offset", true, UINT64_MAX, &k->offset, &bad);
	k->has_len = sctx_arg_num(p, a, "len", true, UINT64_MAX, &k->len, &bad);
	v = sctx_arg_val(p, a, "prot", &bad);
	if (v) {
		if (!valid_prot(v)) {
			sctx_perr(p, "prot=%s: expected 4 characters as in /proc/PID/maps, "
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
	    !sctx_split_args(p, w + 1, n - 1, a))
		return false;
	k->has_count = sctx_arg_num(p, a, "count", false, 1000000, &k->count, &bad);
	if (!bad && !k->has_count) {
		sctx_perr(p, "check fds: count=N is required");
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
		sctx_perr(p, "usage: check findings none [severity=error|warn|info]");
		return false;
	}
	if (!sctx_split_args(p, w + 1, n - 1, a))
		return false;
	i = sctx_arg_choice(p, a, "severity", sev, &bad);
	p->st->u.chk.severity = i >= 0 ? i : PROTO_SEV_ERROR;
	return !bad;
}

static bool parse_check_finding(struct pctx *p, char **w, unsigned n,
				struct args *a)
{
	const char *name = n >= 1 ? w[0] : "";

	if (n < 1 || strchr(w[0], '=')) {
		sctx_perr(p, "usage: check finding CODE");
		return false;
	}
	if (strncasecmp(name, "PROTO_FIND_", 11) == 0)
		name += 11;
	for (int code = 1; code < PROTO_FIND_CODE_MAX; code++) {
		if (strcasecmp(proto_finding_name((enum proto_finding_code)code),
			       name) == 0) {
			p->st->u.chk.code = code;
			return sctx_split_args(p, w + 1, n - 1, a);
		}
	}
	if (strcasecmp(name, script_finding_name(SCRIPT_FIND_UNSOLICITED_REPLY))
	    == 0) {
		p->st->u.chk.code = SCRIPT_FIND_UNSOLICITED_REPLY;
		return sctx_split_args(p, w + 1, n - 1, a);
	}
	sctx_perr(p, "unknown finding code '%s'", w[0]);
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
		sctx_perr(p, "usage: expect result ok|fail|sent|any|not-ok [within=MS]");
		return false;
	}
	if (!p->c->requires_control) {
		sctx_perr(p, "'expect result' needs 'requires control' in the header");
		return false;
	}
	p->st->u.result = (enum script_result)i;
	return sctx_need_role(p, SCRIPT_ROLE_FRONTEND, "expect result") &&
	       sctx_split_args(p, w + 1, n - 1, a) && sctx_take_within(p, a, 1000);
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
		return sctx_split_args(p, w, n, a) && parse_expect_reply(p, a);
	case SCRIPT_EXPECT_NO_REPLY:
		return sctx_split_args(p, w, n, a) &&
		       parse_expect_quiet(p, a, sctx_default_reply_chan(p));
	case SCRIPT_EXPECT_MSG:
		return parse_expect_msg(p, w, n, a);
	case SCRIPT_EXPECT_NO_MSG:
		return parse_expect_no_msg(p, w, n, a);
	case SCRIPT_EXPECT_EOF:
		return sctx_split_args(p, w, n, a) && sctx_take_on(p, a, SCRIPT_MAIN) &&
		       sctx_take_within(p, a, 500);
	case SCRIPT_EXPECT_ORDER:
		return parse_expect_order(p, w, n, a);
	case SCRIPT_EXPECT_SHMEM_CONFIG:
		return sctx_split_args(p, w, n, a) && parse_expect_shmem_config(p, a);
	case SCRIPT_CHECK_MAPPED:
		return parse_check_mapped(p, w, n, a) && sctx_take_within(p, a, 100);
	case SCRIPT_CHECK_UNMAPPED:
		return check_fd_word(p, w, n, "check unmapped FD") &&
		       sctx_split_args(p, w + 1, n - 1, a) && sctx_take_within(p, a, 100);
	case SCRIPT_CHECK_FDS:
		return parse_check_fds(p, w, n, a) && sctx_take_within(p, a, 100);
	case SCRIPT_CHECK_BASELINE:
		if (!p->marked) {
			sctx_perr(p, "'check baseline' without an earlier 'mark'");
			return false;
		}
		return sctx_need_pid(p) && sctx_split_args(p, w, n, a) &&
		       sctx_take_within(p, a, 100);
	case SCRIPT_CHECK_FINDINGS_NONE:
		return parse_check_findings(p, w, n, a);
	case SCRIPT_CHECK_FINDING:
		return parse_check_finding(p, w, n, a);
	case SCRIPT_CHECK_LEDGER:
		return sctx_need_role(p, SCRIPT_ROLE_FRONTEND, "check ledger") &&
		       sctx_split_args(p, w, n, a);
	case SCRIPT_CHECK_MEMTABLE:
		return sctx_need_role(p, SCRIPT_ROLE_BACKEND, "check memtable") &&
		       sctx_split_args(p, w, n, a) && sctx_take_within(p, a, 500);
	case SCRIPT_EXPECT_RESULT:
		return parse_expect_result(p, w, n, a);
	default:
		return sctx_split_args(p, w, n, a);
	}
}

/* expect KIND ..., check KIND ..., assert KIND ... */
bool sgrade_parse(struct pctx *p, const char *kw, char **w, unsigned n)
{
	const struct graded_kind *k = NULL;
	struct args a;

	for (size_t i = 0; n > 0 && i < sizeof(graded_kinds) / sizeof(graded_kinds[0]); i++)
		if (strcmp(graded_kinds[i].name, w[0]) == 0)
			k = &graded_kinds[i];
	if (!k) {
		sctx_perr(p, "unknown %s kind '%s'", kw, n > 0 ? w[0] : "");
		return false;
	}
	if ((kw[0] == 'e' && k->is_check) || (kw[0] == 'c' && !k->is_check)) {
		sctx_perr(p, "'%s %s': use '%s %s'", kw, k->name,
		     k->is_check ? "check" : "expect", k->name);
		return false;
	}
	p->st->op = k->op;
	p->st->is_assert = kw[0] == 'a';
	p->st->is_require = kw[0] == 'r';
	if (!parse_graded_args(p, w + 1, n - 1, &a) || !sctx_take_grade(p, &a))
		return false;
	return sctx_args_all_used(p, &a, script_op_name(k->op));
}
