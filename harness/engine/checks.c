/* SPDX-License-Identifier: MIT */
#include "checks.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chan.h"
#include "oracle.h"
#include "protoval.h"

static void chk_alive(struct run *x)
{
	char ts[96];

	if (!run_drain(x))
		return;
	run_target_state(x, ts, sizeof(ts));
	if (x->tgt.pid > 0 && x->tgt.ended)
		run_fail(x, "the target is running", "%s", ts + 2);
	else if (x->tgt.pid <= 0 && x->pid > 0 && kill(x->pid, 0) < 0 &&
		 errno == ESRCH)
		run_fail(x, "the target is running", "process %ld is gone",
			 (long)x->pid);
	else if (!sess_chan_live(&x->s, SCRIPT_MAIN))
		run_fail(x, "the target is running with its main channel open",
			 "the main channel is closed");
}

/* What /proc shows of a pool fd: the link text of our own copy. */
static bool pool_link(struct run *x, const char *name, char *out, size_t cap)
{
	struct fdpool_entry *e = fdpool_get(&x->pool, name);

	if (!e) {
		run_abort(x, RESULT_ERROR, "line %u: fd %s was not created",
			  x->st->line, name);
		return false;
	}
	if (e->kind != FDPOOL_CLOSED && oracle_self_link(e->fd, out, cap) == 0)
		return true;
	run_copy_cut(out, cap, e->memfd_name);
	return true;
}

static char *read_maps(struct run *x)
{
	int err = 0;
	char *text = oracle_read_maps(x->pid, &err);

	if (!text)
		run_abort(x, RESULT_ERROR, "line %u: /proc/%ld/maps: %s",
			  x->st->line, (long)x->pid, strerror(-err));
	return text;
}

/* "7f..-7f.. rw-s 0x0, ..." for every mapping of path. */
static void list_maps(const char *text, const char *path, char *out, size_t cap)
{
	struct oracle_filter all = { .path = path };
	struct oracle_map m[8];
	int n = oracle_maps_select(text, &all, m, 8);
	size_t len = 0;

	out[0] = '\0';
	if (n == 0)
		snprintf(out, cap, "no mapping of it");
	for (int i = 0; i < n && i < 8 && len < cap; i++)
		len += (size_t)snprintf(out + len, cap - len, "%s%llx-%llx %s off 0x%llx",
					i ? ", " : "", (unsigned long long)m[i].start,
					(unsigned long long)m[i].end, m[i].perms,
					(unsigned long long)m[i].offset);
}

static void describe_check_mapped(const struct script_check *k, char *out,
				  size_t cap)
{
	size_t len;

	if (k->has_count)
		len = (size_t)snprintf(out, cap, "%llu mapping(s) of %s",
				       (unsigned long long)k->count, k->fd);
	else
		len = (size_t)snprintf(out, cap, "a mapping of %s", k->fd);
	if (k->has_prot && len < cap)
		len += (size_t)snprintf(out + len, cap - len, " with prot %s", k->prot);
	if (k->has_offset && len < cap)
		len += (size_t)snprintf(out + len, cap - len, " at file offset 0x%llx",
					(unsigned long long)k->offset);
	if (k->has_len && len < cap)
		snprintf(out + len, cap - len, " of length 0x%llx",
			 (unsigned long long)k->len);
}

/* A /proc judgement: 1 holds, 0 not (yet), -1 the case stopped. */
typedef int (*probe_fn)(struct run *x, char *expected, char *obs, size_t cap);

static int probe_mapped(struct run *x, char *expected, char *obs, size_t cap)
{
	const struct script_check *k = &x->st->u.chk;
	char path[ORACLE_PATH_MAX], seen[400], *text;
	struct oracle_filter f = { 0 };
	bool ok;
	int n;

	if (!pool_link(x, k->fd, path, sizeof(path)) || !(text = read_maps(x)))
		return -1;
	f.path = path;
	f.perms = k->has_prot ? k->prot : NULL;
	f.has_offset = k->has_offset;
	f.offset = k->offset;
	f.has_len = k->has_len;
	f.len = k->len;
	n = oracle_maps_select(text, &f, NULL, 0);
	list_maps(text, path, seen, sizeof(seen));
	free(text);
	if (x->st->op == SCRIPT_CHECK_UNMAPPED) {
		snprintf(expected, 256, "no mapping of %s", k->fd);
		ok = n == 0;
	} else {
		describe_check_mapped(k, expected, 256);
		ok = n >= 0 && (k->has_count ? (uint64_t)n == k->count : n >= 1);
	}
	snprintf(obs, cap, "%d matching; %s", n, seen);
	return ok;
}

static int probe_fds(struct run *x, char *expected, char *obs, size_t cap)
{
	const struct script_check *k = &x->st->u.chk;
	char link[ORACLE_PATH_MAX];
	unsigned match, total;
	int rc;

	if (!pool_link(x, k->fd, link, sizeof(link)))
		return -1;
	rc = oracle_scan_fds(x->pid, link, &match, &total);
	if (rc < 0) {
		run_abort(x, RESULT_ERROR, "line %u: /proc/%ld/fd: %s", x->st->line,
			  (long)x->pid, strerror(-rc));
		return -1;
	}
	snprintf(expected, 256, "%llu fd(s) of the target on %s",
		 (unsigned long long)k->count, k->fd);
	snprintf(obs, cap, "%u (of %u open fds)", match, total);
	return match == k->count;
}

/* The target's open fds and shared mappings. */
static bool footprint(struct run *x, unsigned *fds, int *maps)
{
	unsigned match;
	char *text;
	int rc;

	rc = oracle_scan_fds(x->pid, NULL, &match, fds);
	if (rc < 0) {
		run_abort(x, RESULT_ERROR, "line %u: /proc/%ld/fd: %s", x->st->line,
			  (long)x->pid, strerror(-rc));
		return false;
	}
	text = read_maps(x);
	if (!text)
		return false;
	*maps = oracle_maps_count_shared(text);
	free(text);
	return true;
}

static int probe_baseline(struct run *x, char *expected, char *obs, size_t cap)
{
	unsigned fds;
	int maps;

	if (!footprint(x, &fds, &maps))
		return -1;
	snprintf(expected, 256, "%u open fds and %d shared mappings, as at 'mark'",
		 x->mark_fds, x->mark_maps);
	snprintf(obs, cap, "%u open fds and %d shared mappings", fds, maps);
	return fds == x->mark_fds && maps == x->mark_maps;
}

/* The target acts on what it reads when it gets to it: re-read /proc
 * (still serving the channels) until the judgement holds or the step's
 * window ends. No cost when it holds at once. */
static void settle(struct run *x, probe_fn probe)
{
	int64_t deadline = run_deadline(x);
	char expected[256], obs[600];

	for (;;) {
		int r;

		if (!run_drain(x))
			return;
		r = probe(x, expected, obs, sizeof(obs));
		if (r != 0)
			return;
		if (chan_now_ms() >= deadline) {
			run_fail(x, expected, "%s", obs);
			return;
		}
		if (!run_wait_ok(x, sess_pump(&x->s, chan_now_ms() + 2, NULL, NULL)))
			return;
	}
}

void checks_mark(struct run *x)
{
	x->marked = run_drain(x) && footprint(x, &x->mark_fds, &x->mark_maps);
}

static const char *severity_name(enum proto_severity s)
{
	return s == PROTO_SEV_ERROR ? "error" : s == PROTO_SEV_WARN ? "warn"
								     : "info";
}

static void chk_findings(struct run *x)
{
	const struct script_check *k = &x->st->u.chk;
	char expected[96];

	if (!run_drain(x))
		return;
	snprintf(expected, sizeof(expected), "no finding of severity %s or worse",
		 severity_name((enum proto_severity)k->severity));
	for (unsigned i = 0; i < x->s.nfindings; i++) {
		const struct sess_finding *f = &x->s.findings[i];

		if ((int)f->f.severity <= k->severity) {
			run_fail(x, expected, "%s on %s: %s",
				 script_finding_name((int)f->f.code), f->msg,
				 f->f.text);
			return;
		}
	}
}

static void chk_finding(struct run *x)
{
	const struct script_check *k = &x->st->u.chk;
	char expected[96];

	if (!run_drain(x))
		return;
	for (unsigned i = 0; i < x->s.nfindings; i++)
		if ((int)x->s.findings[i].f.code == k->code)
			return;
	snprintf(expected, sizeof(expected), "a %s finding",
		 script_finding_name(k->code));
	run_fail(x, expected, x->s.nfindings ? "other findings only (first: %s)"
			 : "no finding%s",
		 x->s.nfindings ? script_finding_name((int)x->s.findings[0].f.code)
				: "");
}

static void chk_ledger(struct run *x)
{
	const struct ledger *l = &x->s.fe.ledger;

	if (!run_drain(x))
		return;
	if (l->violations)
		run_fail(x, "MAP/UNMAP inside the advertised regions, no overlap, "
			 "UNMAPs of live ranges",
			 "%u violation(s) in %u request(s); first: %s", l->violations,
			 l->requests, l->first);
}

/* Each MAP the front-end acked 0 is memory the back-end may be handed
 * addresses into; when the front-end announces mappings at all, the
 * regions it added to the back-end's memory table since the first MAP
 * cover them. A MAP it could not announce (no slot left) is one it
 * should have refused (digest 6: MAY fail when out of resources). */
static int probe_memtable(struct run *x, char *expected, char *obs, size_t cap)
{
	int64_t added = x->s.be.memtable_regions -
			(x->memtable_based ? x->memtable_base : x->s.be.memtable_regions);

	snprintf(expected, 256, "the back-end's memory table grew by at least "
		 "the %lld live MAP(s) the front-end acked 0 (max-slots %llu)",
		 (long long)x->maps_acked,
		 (unsigned long long)x->s.be.offer.max_mem_slots);
	snprintf(obs, cap, "it grew by %lld region(s) to %lld (%u memory-table "
		 "message(s) in all)", (long long)added,
		 (long long)x->s.be.memtable_regions, x->s.be.memtable_msgs);
	if ((x->s.be.negotiated >> PROTO_PF_CONFIGURE_MEM_SLOTS & 1) &&
	    x->s.be.memtable_regions > (int64_t)x->s.be.offer.max_mem_slots) {
		snprintf(obs + strlen(obs), cap - strlen(obs), ", more than the "
			 "%llu slots the back-end has",
			 (unsigned long long)x->s.be.offer.max_mem_slots);
		return 0;
	}
	return added >= x->maps_acked;
}

void checks_run(struct run *x)
{
	switch (x->st->op) {
	case SCRIPT_CHECK_ALIVE: chk_alive(x); break;
	case SCRIPT_CHECK_MAPPED:
	case SCRIPT_CHECK_UNMAPPED: settle(x, probe_mapped); break;
	case SCRIPT_CHECK_FDS: settle(x, probe_fds); break;
	case SCRIPT_CHECK_BASELINE: settle(x, probe_baseline); break;
	case SCRIPT_CHECK_FINDINGS_NONE: chk_findings(x); break;
	case SCRIPT_CHECK_FINDING: chk_finding(x); break;
	case SCRIPT_CHECK_LEDGER: chk_ledger(x); break;
	case SCRIPT_CHECK_MEMTABLE: settle(x, probe_memtable); break;
	default: break;
	}
}
