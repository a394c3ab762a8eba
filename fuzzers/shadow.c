/* SPDX-License-Identifier: MIT */
/*
 * shadow: the model. Each refusal names the digest rule behind it; where
 * the digest leaves the choice open (len 0, alignment, payload size, a
 * request before the device started) the model takes the strict choice
 * the reference documents, so the comparison stays exact.
 */
#include "shadow.h"

#include <string.h>
#include <unistd.h>

void shadow_init(struct shadow *s)
{
	long p = sysconf(_SC_PAGESIZE);

	memset(s, 0, sizeof(*s));
	s->page = p > 0 ? (uint64_t)p : 4096;
}

void shadow_config(struct shadow *s, const uint64_t *sizes, const bool *usable)
{
	for (unsigned i = 0; i < PROTO_SHMEM_MAX_REGIONS; i++) {
		s->sizes[i] = sizes[i];
		s->usable[i] = sizes[i] != 0 && usable[i];
	}
	s->nmaps = 0;
}

void shadow_reset(struct shadow *s)
{
	s->nmaps = 0;
	s->started = false;
}

bool shadow_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	uint64_t lo = a > b ? a : b;
	uint64_t a_end = a + alen, b_end = b + blen;
	uint64_t hi = a_end < b_end ? a_end : b_end;

	return lo < hi;
}

bool shadow_rule_must(const char *why)
{
	return strstr(why, "MUST") != NULL ||
	       strncmp(why, "6: no region", 12) == 0 ||
	       strncmp(why, "6: SHMEM not", 12) == 0;
}

static const char *map_range_rule(const struct shadow *s,
				  const struct proto_mmap *m)
{
	uint64_t size = s->sizes[m->shmid];

	if (!s->usable[m->shmid])
		return "6: no region with this shmid";
	if (m->len == 0)
		return "6: len 0 (refused by choice)";
	if (m->shm_offset > size || m->len > size - m->shm_offset)
		return "6: MUST fail: range outside the region";
	if (m->flags & ~(uint64_t)PROTO_MMAP_F_KNOWN)
		return "4: unknown MMap flag bits (refused by choice)";
	if (m->fd_offset + m->len < m->fd_offset)
		return "6: fd_offset+len wraps";
	if ((m->shm_offset | m->fd_offset | m->len) & (s->page - 1))
		return "6: not page aligned (refused by choice)";
	for (unsigned i = 0; i < s->nmaps; i++)
		if (s->maps[i].shmid == m->shmid &&
		    shadow_overlap(m->shm_offset, m->len, s->maps[i].shm_offset,
				   s->maps[i].len))
			return "6: MUST fail: overlaps a live mapping";
	return NULL;
}

static const char *map_fd_rule(const struct proto_mmap *m,
			       const struct fuzzpool_traits *fds)
{
	bool rw = (m->flags & PROTO_MMAP_F_RW) != 0;

	if (fds->nfds != 1)
		return "6: MAP needs exactly one fd";
	if (fds->regular && fds->size < m->fd_offset + m->len)
		return "6: file shorter than fd_offset+len";
	if (rw ? !fds->mmap_rw : !fds->mmap_ro)
		return "6: the fd cannot be mapped so";
	return NULL;
}

static void shadow_map_msg(struct shadow *s, const struct proto_mmap *m,
			   const struct fuzzpool_traits *fds,
			   struct shadow_verdict *v)
{
	v->why = map_range_rule(s, m);
	if (!v->why)
		v->why = map_fd_rule(m, fds);
	if (!v->why && s->nmaps == SHADOW_MAX_MAPPINGS)
		v->why = "6: MAY fail: out of mapping slots";
	if (v->why)
		return;
	s->maps[s->nmaps++] = (struct shadow_map){
		.shmid = m->shmid, .rw = (m->flags & PROTO_MMAP_F_RW) != 0,
		.shm_offset = m->shm_offset, .len = m->len,
		.fd_offset = m->fd_offset,
	};
	v->accepted = true;
}

static void shadow_unmap_msg(struct shadow *s, const struct proto_mmap *m,
			     const struct fuzzpool_traits *fds,
			     struct shadow_verdict *v)
{
	if (fds->nfds != 0) {
		v->why = "7: UNMAP takes no fd";
		return;
	}
	for (unsigned i = 0; s->usable[m->shmid] && i < s->nmaps; i++) {
		const struct shadow_map *x = &s->maps[i];

		if (x->shmid == m->shmid && x->shm_offset == m->shm_offset &&
		    x->len == m->len) {
			v->removed = *x;
			s->maps[i] = s->maps[--s->nmaps];
			v->accepted = true;
			return;
		}
	}
	v->why = "7: MUST fail: not exactly one whole live mapping";
}

/* Header and gating rules common to both requests. NULL when it passes. */
static const char *shadow_gate(const struct shadow *s,
			       const struct proto_hdr *h, size_t len)
{
	if ((h->flags & PROTO_VERSION_MASK) != PROTO_VERSION ||
	    (h->flags & ~PROTO_F_KNOWN))
		return "1: bad version or undefined header flag bits";
	if (h->request != PROTO_BE_SHMEM_MAP &&
	    h->request != PROTO_BE_SHMEM_UNMAP)
		return "3: not a request this front-end serves";
	if (!s->shmem)
		return "6: SHMEM not negotiated";
	if (!s->started)
		return "10: device not started (refused by choice)";
	if (len != PROTO_MMAP_SIZE)
		return "4: payload is not 40 bytes (refused by choice)";
	return NULL;
}

/* The MAP as the lenient choice reads it: every MUST rule still holds,
 * the open ones are set aside. NULL when it maps. */
static const char *adopt_map_rule(const struct shadow *s,
				  const struct proto_mmap *m,
				  const struct fuzzpool_traits *fds)
{
	bool rw = (m->flags & PROTO_MMAP_F_RW) != 0;

	if (!s->usable[m->shmid] || m->len == 0 ||
	    m->shm_offset > s->sizes[m->shmid] ||
	    m->len > s->sizes[m->shmid] - m->shm_offset ||
	    m->fd_offset + m->len < m->fd_offset)
		return "range";
	for (unsigned i = 0; i < s->nmaps; i++)
		if (s->maps[i].shmid == m->shmid &&
		    shadow_overlap(m->shm_offset, m->len, s->maps[i].shm_offset,
				   s->maps[i].len))
			return "overlap";
	if (fds->nfds != 1 || (rw ? !fds->mmap_rw : !fds->mmap_ro))
		return "fd";
	return s->nmaps == SHADOW_MAX_MAPPINGS ? "slots" : NULL;
}

bool shadow_adopt(struct shadow *s, const struct proto_hdr *h,
		  const uint8_t *payload, size_t len,
		  const struct fuzzpool_traits *fds, struct shadow_verdict *v,
		  bool *rough)
{
	struct proto_mmap m;
	struct shadow_verdict nofd;
	const struct fuzzpool_traits none = { .sendable = true };

	*rough = false;
	if (!v->why || v->accepted || v->dropped || shadow_rule_must(v->why) ||
	    strncmp(v->why, "10:", 3) == 0)
		return false;
	if (h->request != PROTO_BE_SHMEM_MAP && h->request != PROTO_BE_SHMEM_UNMAP) {
		v->accepted = true;      /* served its own way: no mapping */
		return true;
	}
	if (!s->shmem || !s->started || len < PROTO_MMAP_SIZE ||
	    proto_mmap_decode(payload, PROTO_MMAP_SIZE, &m) != PROTO_OK)
		return false;
	if (h->request == PROTO_BE_SHMEM_UNMAP) {
		struct shadow trial = *s;

		if (fds->nfds == 0)
			return false;
		shadow_unmap_msg(&trial, &m, &none, &nofd);
		if (!nofd.accepted)
			return false;
		nofd.reply = v->reply;
		*s = trial;
		*v = nofd;
		return true;
	}
	if (adopt_map_rule(s, &m, fds))
		return false;
	*rough = ((m.shm_offset | m.fd_offset | m.len) & (s->page - 1)) != 0;
	s->maps[s->nmaps++] = (struct shadow_map){
		.shmid = m.shmid, .rw = (m.flags & PROTO_MMAP_F_RW) != 0,
		.shm_offset = m.shm_offset, .len = m.len, .fd_offset = m.fd_offset,
	};
	v->accepted = true;
	return true;
}

void shadow_backend_msg(struct shadow *s, const struct proto_hdr *h,
			const uint8_t *payload, size_t len,
			const struct fuzzpool_traits *fds,
			struct shadow_verdict *v)
{
	struct proto_mmap m;

	memset(v, 0, sizeof(*v));
	if (h->flags & PROTO_F_REPLY) {
		v->dropped = true;
		v->why = "1: a reply where a request was due: ignored";
		return;
	}
	v->reply = s->reply_ack && (h->flags & PROTO_F_NEED_REPLY);
	v->why = shadow_gate(s, h, len);
	if (v->why)
		return;
	if (proto_mmap_decode(payload, len, &m) != PROTO_OK) {
		v->why = "4: payload does not decode";
		return;
	}
	if (h->request == PROTO_BE_SHMEM_MAP)
		shadow_map_msg(s, &m, fds, v);
	else
		shadow_unmap_msg(s, &m, fds, v);
}
