/* SPDX-License-Identifier: MIT */
/*
 * monledger: the monitor's ledger of the back-end's live mappings. See
 * monledger.h.
 */
#include "monledger.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* ---- the ledger of live mappings ---- */

static bool range_overlaps(const struct ledger_map *a, const struct proto_mmap *b)
{
	return a->shmid == b->shmid && a->offset < b->shm_offset + b->len &&
	       b->shm_offset < a->offset + a->len;
}

static bool range_exact(const struct ledger_map *a, const struct proto_mmap *b)
{
	return a->shmid == b->shmid && a->offset == b->shm_offset &&
	       a->len == b->len;
}

/* Whether mm touches a mapping that the last reset should have removed
 * (overlap for MAP, exact range for UNMAP). */
static bool was_live_before_reset(const struct monitor *m,
				  const struct proto_mmap *mm, bool map)
{
	for (unsigned i = 0; i < m->npre_reset; i++)
		if (map ? range_overlaps(&m->pre_reset[i], mm)
			: range_exact(&m->pre_reset[i], mm))
			return true;
	return false;
}

/* SHMEM negotiated: the ledger needs region sizes; until the front-end
 * asked for them, every region is taken as unbounded (overlaps and exact
 * unmaps are still checked). */
static void ledger_ensure_config(struct monitor *m, const struct monitor_where *w)
{
	if (m->ledger.have_config)
		return;
	m->ledger.have_config = true;
	for (unsigned i = 0; i < PROTO_SHMEM_MAX_REGIONS; i++)
		m->ledger.sizes[i] = UINT64_MAX;
	if (!m->bounds_noted) {
		m->bounds_noted = true;
		MONITOR_FIND(m, MONITOR_C_BOUNDS_UNKNOWN, w,
			     "no GET_SHMEM_CONFIG answer seen before this request: region "
			     "bounds are not checked until one is");
	}
}

/* Runs one MAP/UNMAP through the ledger. The ledger keeps only its first
 * violation's text; zeroing the count makes it write this one's, then
 * the count and the first text are put back. */
static bool ledger_feed(struct ledger *l, const struct proto_mmap *mm, bool map,
			char *why, size_t cap)
{
	unsigned before = l->violations;
	char first[sizeof(l->first)];
	bool bad;

	memcpy(first, l->first, sizeof(first));
	l->violations = 0;
	if (map)
		ledger_on_map(l, mm);
	else
		ledger_on_unmap(l, mm);
	bad = l->violations > 0;
	if (bad)
		snprintf(why, cap, "%s", l->first);
	l->violations += before;
	if (before)
		memcpy(l->first, first, sizeof(first));
	return bad;
}

void monledger_request(struct monitor *m, const struct monitor_msg *msg,
		       const struct monitor_where *w, struct monitor_pending *p)
{
	bool map = msg->hdr.request == PROTO_BE_SHMEM_MAP;

	if (msg->payload_len < PROTO_MMAP_SIZE ||
	    proto_mmap_decode(msg->payload, PROTO_MMAP_SIZE, &p->mm) != PROTO_OK)
		return; /* the validator said why */
	p->is_mmap = true;
	p->pre_reset = was_live_before_reset(m, &p->mm, map);
	/* Digest 10: before DRIVER_OK (and after a reset) refusing is fine.
	 * Without STATUS the device's state is not on the wire. */
	p->stopped = !m->started && monitor_pfeat(m, PROTO_PF_STATUS);
	if (!monitor_shmem(m)) {
		p->must_fail = true;
		snprintf(p->why, sizeof(p->why), "SHMEM (bit %u) is not negotiated",
			 m->cfg.shmem_bit);
		return;
	}
	ledger_ensure_config(m, w);
	if (map && m->ledger.nlive == LEDGER_MAX_LIVE)
		return; /* beyond what we track: no judgement */
	if (!ledger_feed(&m->ledger, &p->mm, map, p->why, sizeof(p->why))) {
		p->changed_ledger = m->ledger.last_changed;
		return;
	}
	if (map && p->mm.len == 0) {
		p->soft_fail = true; /* the validator's MMAP_LEN_ZERO said it */
		return;
	}
	p->must_fail = true;
	if (p->pre_reset)
		MONITOR_FIND(m, MONITOR_C_LEDGER_AFTER_RESET, w,
			     "%s (the range was live before reset %u)", p->why, m->resets);
	else
		MONITOR_FIND(m, MONITOR_C_LEDGER, w, "%s", p->why);
}

/* The front-end refused a MAP/UNMAP the ledger had applied: undo it. */
void monledger_undo(struct monitor *m, const struct monitor_pending *p)
{
	struct ledger *l = &m->ledger;
	struct ledger_map lm = { p->mm.shmid, p->mm.shm_offset, p->mm.len };

	if (!p->changed_ledger)
		return;
	if (l->last_changed && l->last_map.shmid == lm.shmid &&
	    l->last_map.offset == lm.offset && l->last_map.len == lm.len) {
		ledger_refuse_last(l);
		return;
	}
	/* Not the ledger's last request (the back-end did not wait). */
	if (p->request == PROTO_BE_SHMEM_MAP) {
		for (unsigned i = 0; i < l->nlive; i++)
			if (range_exact(&l->live[i], &p->mm)) {
				l->live[i] = l->live[--l->nlive];
				return;
			}
	} else if (l->nlive < LEDGER_MAX_LIVE) {
		l->live[l->nlive++] = lm;
	}
}

/* Reset: every mapping goes; they are kept aside to catch a front-end
 * that did not drop them. */
void monledger_reset(struct monitor *m)
{
	m->resets++;
	m->started = false;
	m->npre_reset = m->ledger.nlive;
	for (unsigned i = 0; i < m->ledger.nlive; i++)
		m->pre_reset[i] = m->ledger.live[i];
	m->ledger.nlive = 0;
	m->ledger.last = LEDGER_LAST_NONE;
	m->ledger.last_changed = false;
}
