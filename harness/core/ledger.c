/* SPDX-License-Identifier: MIT */
#include "ledger.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void ledger_init(struct ledger *l, const struct proto_shmem_config *cfg)
{
	memset(l, 0, sizeof(*l));
	if (!cfg)
		return;
	l->have_config = true;
	memcpy(l->sizes, cfg->memory_sizes, sizeof(l->sizes));
}

static void violation(struct ledger *l, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void violation(struct ledger *l, const char *fmt, ...)
{
	va_list ap;

	if (l->violations++ > 0)
		return;
	va_start(ap, fmt);
	vsnprintf(l->first, sizeof(l->first), fmt, ap);
	va_end(ap);
}

/* Half-open ranges [a, a+alen) and [b, b+blen). */
static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

static int find_exact(const struct ledger *l, const struct ledger_map *m)
{
	for (unsigned i = 0; i < l->nlive; i++)
		if (l->live[i].shmid == m->shmid && l->live[i].offset == m->offset &&
		    l->live[i].len == m->len)
			return (int)i;
	return -1;
}

/* Whether m can be a new mapping; records the violation when not. */
static bool map_valid(struct ledger *l, const struct ledger_map *m, unsigned n)
{
	uint64_t size = l->sizes[m->shmid];

	if (!l->have_config) {
		violation(l, "request %u: SHMEM_MAP without SHMEM negotiated", n);
		return false;
	}
	if (size == 0) {
		violation(l, "request %u: SHMEM_MAP into shmid %u, which has no "
			  "region", n, m->shmid);
		return false;
	}
	if (m->len == 0 || m->offset + m->len < m->offset ||
	    m->offset + m->len > size) {
		violation(l, "request %u: SHMEM_MAP [0x%llx, +0x%llx) is not inside "
			  "shmid %u (size 0x%llx)", n, (unsigned long long)m->offset,
			  (unsigned long long)m->len, m->shmid,
			  (unsigned long long)size);
		return false;
	}
	for (unsigned i = 0; i < l->nlive; i++) {
		const struct ledger_map *o = &l->live[i];

		if (o->shmid == m->shmid &&
		    overlaps(o->offset, o->len, m->offset, m->len)) {
			violation(l, "request %u: SHMEM_MAP [0x%llx, +0x%llx) overlaps "
				  "its live mapping [0x%llx, +0x%llx) in shmid %u", n,
				  (unsigned long long)m->offset,
				  (unsigned long long)m->len,
				  (unsigned long long)o->offset,
				  (unsigned long long)o->len, m->shmid);
			return false;
		}
	}
	return true;
}

void ledger_on_map(struct ledger *l, const struct proto_mmap *mm)
{
	struct ledger_map m = { mm->shmid, mm->shm_offset, mm->len };
	unsigned n = ++l->requests;

	l->last = LEDGER_LAST_MAP;
	l->last_changed = false;
	l->last_map = m;
	if (!map_valid(l, &m, n))
		return;
	if (l->nlive == LEDGER_MAX_LIVE) {
		violation(l, "request %u: more than %u live mappings (ledger full)",
			  n, LEDGER_MAX_LIVE);
		return;
	}
	l->live[l->nlive++] = m;
	l->last_changed = true;
}

void ledger_on_unmap(struct ledger *l, const struct proto_mmap *mm)
{
	struct ledger_map m = { mm->shmid, mm->shm_offset, mm->len };
	unsigned n = ++l->requests;
	int i;

	l->last = LEDGER_LAST_UNMAP;
	l->last_changed = false;
	l->last_map = m;
	if (!l->have_config) {
		violation(l, "request %u: SHMEM_UNMAP without SHMEM negotiated", n);
		return;
	}
	i = find_exact(l, &m);
	if (i < 0) {
		violation(l, "request %u: SHMEM_UNMAP [0x%llx, +0x%llx) in shmid %u "
			  "is not one of its live mappings", n,
			  (unsigned long long)m.offset, (unsigned long long)m.len,
			  m.shmid);
		return;
	}
	l->live[i] = l->live[--l->nlive];
	l->last_changed = true;
}

void ledger_refuse_last(struct ledger *l)
{
	int i;

	if (!l->last_changed)
		return;
	if (l->last == LEDGER_LAST_MAP) {
		i = find_exact(l, &l->last_map);
		if (i >= 0)
			l->live[i] = l->live[--l->nlive];
	} else if (l->last == LEDGER_LAST_UNMAP && l->nlive < LEDGER_MAX_LIVE) {
		l->live[l->nlive++] = l->last_map;
	}
	l->last_changed = false;
}

void ledger_clear(struct ledger *l)
{
	l->nlive = 0;
	l->last = LEDGER_LAST_NONE;
	l->last_changed = false;
}
