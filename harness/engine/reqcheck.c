/* SPDX-License-Identifier: MIT */
/*
 * reqcheck: the rules behind the `requires` findings of
 * `vhucheck-harness --check-cases`.
 *
 * What a step needs is read from the parsed step, not from its text, so
 * the rules follow the language: a `control` step needs `control` (any
 * other use of the channel follows a `control` step); one that reads
 * /proc/PID needs `pid`; a `control reconnect` that must succeed needs
 * `socket` (a target handed a connected fd has nothing to connect to
 * again). A requirement no
 * step needs is a finding at its `requires` line. As back-end, the
 * harness offers protocol features and the front-end negotiates among
 * them, so a handshake that does not offer a required feature can only
 * end UNSUPPORTED: a finding at that handshake.
 */
#include "reqcheck.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "proto.h"
#include "protoname.h"

__attribute__((format(printf, 3, 4)))
static void add(struct reqcheck_report *r, unsigned line, const char *f, ...)
{
	va_list ap;

	if (r->nfindings == REQCHECK_MAX_FINDINGS) {
		r->dropped++;
		return;
	}
	r->f[r->nfindings].line = line;
	va_start(ap, f);
	vsnprintf(r->f[r->nfindings].msg, REQCHECK_MSG_MAX, f, ap);
	va_end(ap);
	r->nfindings++;
}

/* `control CMD ...`: whether CMD is cmd. */
static bool control_is(const struct script_step *st, const char *cmd)
{
	size_t n = strlen(cmd);

	return strncmp(st->u.control.line, cmd, n) == 0 &&
	       (st->u.control.line[n] == '\0' || st->u.control.line[n] == ' ');
}

unsigned reqcheck_step_needs(const struct script_step *st)
{
	switch (st->op) {
	case SCRIPT_CONTROL:
		/* Only a reconnect that must succeed needs a path to connect
		 * to again; one expected to be refused runs anywhere. */
		if (control_is(st, "reconnect") &&
		    st->u.control.expect == SCRIPT_CTL_OK)
			return REQCHECK_NEED_CONTROL | REQCHECK_NEED_SOCKET;
		return REQCHECK_NEED_CONTROL;
	case SCRIPT_CHECK_MAPPED:
	case SCRIPT_CHECK_UNMAPPED:
	case SCRIPT_CHECK_FDS:
	case SCRIPT_CHECK_BASELINE:
	case SCRIPT_MARK:
		return REQCHECK_NEED_PID;
	default:
		return 0;
	}
}

/* The line of the first step needing what, 0 if none. */
static unsigned first_needing(const struct script_case *c, unsigned what)
{
	for (unsigned i = 0; i < c->nsteps; i++)
		if (reqcheck_step_needs(&c->steps[i]) & what)
			return c->steps[i].line;
	return 0;
}

static void check_capabilities(const struct script_case *c,
			       struct reqcheck_report *r)
{
	unsigned reconnect = first_needing(c, REQCHECK_NEED_SOCKET);

	if (c->requires_control && !first_needing(c, REQCHECK_NEED_CONTROL))
		add(r, c->control_line, "requires control but no step needs it "
		    "(no 'control' step)");
	if (c->requires_pid && !first_needing(c, REQCHECK_NEED_PID))
		add(r, c->pid_line, "requires pid but no step needs it (no 'check "
		    "mapped|unmapped|fds|baseline' or 'mark' step)");
	if (c->requires_socket && !reconnect)
		add(r, c->socket_line, "requires socket but no step needs it (only "
		    "'control reconnect' does)");
	if (!c->requires_socket && reconnect)
		add(r, reconnect, "'control reconnect' needs 'requires socket': a "
		    "target handed a connected fd cannot connect again");
}

/* As back-end: a handshake that does not offer a required feature. */
static void check_offers(const struct script_case *c, struct reqcheck_report *r)
{
	static const char *const shmem_mode[] = {
		[SCRIPT_SHMEM_OFF] = "shmem=off does not offer it",
		[SCRIPT_SHMEM_OFFER_ONLY] = "shmem=offer-only needs a front-end "
					    "that declines it",
	};

	if (c->role != SCRIPT_ROLE_BACKEND)
		return;
	for (unsigned i = 0; i < c->nsteps; i++) {
		const struct script_step *st = &c->steps[i];
		uint64_t off = st->u.hs.pf_off & c->requires_pf;

		if (st->op != SCRIPT_HANDSHAKE)
			continue;
		if (c->requires_shmem && st->u.hs.shmem != SCRIPT_SHMEM_ON)
			add(r, st->line, "requires SHMEM but %s: the case is "
			    "UNSUPPORTED against every front-end",
			    shmem_mode[st->u.hs.shmem]);
		for (unsigned b = 0; b < 64; b++)
			if (off & (1ull << b))
				add(r, st->line, "requires %s but this handshake "
				    "does not offer it: the case is UNSUPPORTED "
				    "against every front-end",
				    proto_pfeat_name(b, 64) ? proto_pfeat_name(b, 64)
							    : "?");
	}
}

void reqcheck_case(const struct script_case *c, struct reqcheck_report *r)
{
	memset(r, 0, sizeof(*r));
	check_capabilities(c, r);
	check_offers(c, r);
}
