/* SPDX-License-Identifier: MIT */
/*
 * refshmem: the reference front-end's back-end channel: SHMEM_MAP and
 * SHMEM_UNMAP received, checked (digest 6-7), mapped into the reserved
 * region, answered (digest 9). See refshmem.h.
 */
#include "refshmem.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "refannounce.h"
#include "refregion.h"
#include "refsys.h"
#include "refwait.h"

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

/* ------------------------------------------------------------------ */
/* the back-end channel: SHMEM_MAP and SHMEM_UNMAP */

/* NULL for an unknown shmid, a size-0 region or one we could not
 * reserve. */
static const struct reffe_region *region_get(const struct reffe *fe,
					     unsigned shmid)
{
	const struct reffe_region *r = &fe->regions[shmid];

	return r->size && r->base ? r : NULL;
}

/* Status of a request: 0 done, else a positive errno for the reply. */

static int gate(const struct reffe *fe, const char *what, bool with_fd)
{
	if (!reffe_shmem_negotiated(fe) && !reffe_fault(fe, FAULT_FE_MAP_WITHOUT_SHMEM)) {
		reffe_log(fe, "%s refused: SHMEM not negotiated", what);
		return ENOTSUP;
	}
	/* The SHMEM text never says so, but an fd from the back-end is
	 * only allowed with BACKEND_SEND_FD (digest 5). */
	if (with_fd && !reffe_pfeat(fe, PROTO_PF_BACKEND_SEND_FD)) {
		reffe_log(fe, "%s refused: BACKEND_SEND_FD not negotiated", what);
		return ENOTSUP;
	}
	if (!fe->started) {
		if (reffe_fault(fe, FAULT_FE_ABORT_BEFORE_START))
			abort();
		reffe_log(fe, "%s refused: device not started", what);
		return EBUSY;
	}
	return 0;
}

static int decode_mmap(struct reffe *fe, const struct chan_msg *m,
		       struct proto_mmap *mm)
{
	size_t len = m->payload_len;

	if (m->hdr.size != len)
		return EINVAL;
	if (len == PROTO_MMAP_SIZE) {
		memcpy(fe->stale, m->payload, len);
	} else if (len < PROTO_MMAP_SIZE &&
		   reffe_fault(fe, FAULT_FE_SHORT_PAYLOAD_STALE)) {
		/* The bug: a fixed buffer reused across messages, filled
		 * with what arrived and read whole. */
		memcpy(fe->stale, m->payload, len);
	} else {
		reffe_log(fe, "payload of %zu bytes, not %u", len, PROTO_MMAP_SIZE);
		return EINVAL;
	}
	return proto_mmap_decode(fe->stale, PROTO_MMAP_SIZE, mm) == PROTO_OK
		       ? 0 : EINVAL;
}

static bool ranges_overlap(uint64_t a_off, uint64_t a_len, uint64_t b_off,
			   uint64_t b_len)
{
	/* Half-open ranges, written so that nothing can wrap. */
	return a_off - b_off < b_len || b_off - a_off < a_len;
}

static bool overlaps_live(const struct reffe *fe, const struct proto_mmap *mm)
{
	for (unsigned i = 0; i < fe->nmaps; i++) {
		const struct reffe_mapping *mp = &fe->maps[i];
		bool hit;

		if (mp->shmid != mm->shmid)
			continue;
		if (reffe_fault(fe, FAULT_FE_OVERLAP_TOUCHING_REJECTED))
			hit = mm->shm_offset <= mp->shm_offset + mp->len &&
			      mp->shm_offset <= mm->shm_offset + mm->len;
		else if (reffe_fault(fe, FAULT_FE_OVERLAP_STRADDLE_MISSED))
			hit = mm->shm_offset - mp->shm_offset < mp->len;
		else
			hit = ranges_overlap(mm->shm_offset, mm->len,
					     mp->shm_offset, mp->len);
		if (hit)
			return true;
	}
	return false;
}

static bool out_of_bounds(const struct reffe *fe, uint64_t size,
			  const struct proto_mmap *mm)
{
	if (reffe_fault(fe, FAULT_FE_NO_BOUNDS_CHECK))
		return false;
	if (reffe_fault(fe, FAULT_FE_BOUNDS_WRAP))
		return mm->shm_offset + mm->len > size;
	return mm->shm_offset > size || mm->len > size - mm->shm_offset;
}

/* Range rules of digest 6, in the order a reader of the spec checks
 * them. */
static int check_map_range(struct reffe *fe, const struct proto_mmap *mm)
{
	const struct reffe_region *r = region_get(fe, mm->shmid);
	uint64_t page = refsys_page_size(), size;

	if (!r && !reffe_fault(fe, FAULT_FE_UNKNOWN_SHMID_NULL)) {
		reffe_log(fe, "MAP refused: no region for shmid %u", mm->shmid);
		return EINVAL;
	}
	size = r ? r->size : refregion_size_unchecked(r);
	if (mm->len == 0 && !reffe_fault(fe, FAULT_FE_LEN_ZERO_ACCEPTED)) {
		reffe_log(fe, "MAP refused: len 0");
		return EINVAL;
	}
	if (out_of_bounds(fe, size, mm)) {
		reffe_log(fe, "MAP refused: 0x%llx+0x%llx outside region of 0x%llx",
			  (unsigned long long)mm->shm_offset,
			  (unsigned long long)mm->len, (unsigned long long)size);
		return EINVAL;
	}
	if ((mm->flags & ~(uint64_t)PROTO_MMAP_F_KNOWN) && !fe->cfg.lenient) {
		reffe_log(fe, "MAP refused: unknown flags 0x%llx",
			  (unsigned long long)mm->flags);
		return EINVAL;
	}
	if (mm->fd_offset + mm->len < mm->fd_offset ||
	    (mm->shm_offset | mm->fd_offset | mm->len) & (page - 1)) {
		reffe_log(fe, "MAP refused: fd_offset/shm_offset/len not aligned "
			  "or wrapping");
		return EINVAL;
	}
	if (overlaps_live(fe, mm) && !reffe_fault(fe, FAULT_FE_NO_OVERLAP_CHECK)) {
		reffe_log(fe, "MAP refused: overlaps a live mapping");
		return EEXIST;
	}
	return 0;
}

static int check_map_fd(const struct reffe *fe, const struct chan_msg *m,
			const struct proto_mmap *mm)
{
	struct stat st;

	if (m->nfds != 1) {
		reffe_log(fe, "MAP refused: %u fds, not 1", m->nfds);
		return m->nfds ? EINVAL : EBADF;
	}
	if (fstat(m->fds[0], &st) < 0)
		return EBADF;
	if (S_ISREG(st.st_mode) && !fe->cfg.lenient &&
	    (uint64_t)st.st_size < mm->fd_offset + mm->len) {
		reffe_log(fe, "MAP refused: file of 0x%llx bytes shorter than "
			  "fd_offset+len", (unsigned long long)st.st_size);
		return EINVAL;
	}
	return 0;
}

/* mmap at region+shm_offset: MAP_FIXED inside our reservation, and never
 * over memory we do not own. */
static int map_into_region(const struct reffe_region *r,
			   const struct proto_mmap *mm, int prot, int fd)
{
	uintptr_t addr = refregion_addr(r, mm->shm_offset);
	int flags = MAP_SHARED;
	void *p;

	flags |= refregion_contains(r, addr, mm->len) ? MAP_FIXED
						  : MAP_FIXED_NOREPLACE;
	p = mmap((void *)addr, (size_t)mm->len, prot, flags, fd,
		 (off_t)mm->fd_offset);
	if (p == MAP_FAILED) {
		int e = errno;

		/* A failed MAP_FIXED may have unmapped what was there. */
		if (refregion_contains(r, addr, mm->len))
			refregion_clear(r, mm->shm_offset, mm->len);
		return e;
	}
	if ((uintptr_t)p != addr) {
		munmap(p, (size_t)mm->len);
		return EEXIST;
	}
	return 0;
}

/* The mapping keeps the message's fd itself (taken, not dup'ed, as a
 * front-end that owns what it was sent does): one fd per live mapping. */
static int do_map(struct reffe *fe, struct chan_msg *m,
		  const struct proto_mmap *mm, struct reffe_mapping **out)
{
	const struct reffe_region *r = &fe->regions[mm->shmid];
	bool rw = (mm->flags & PROTO_MMAP_F_RW) ||
		  reffe_fault(fe, FAULT_FE_RO_MAPPED_RW);
	struct reffe_mapping *mp;
	int fd, e;

	if (fe->nmaps == REFFE_MAX_MAPPINGS) {
		reffe_log(fe, "MAP refused: %u mappings already", fe->nmaps);
		return ENOSPC;
	}
	e = mm->len && r->base ? map_into_region(r, mm, rw ? PROT_READ |
						 PROT_WRITE : PROT_READ,
						 m->fds[0])
			       : 0;
	if (e) {
		reffe_log(fe, "MAP refused: mmap: %s", strerror(e));
		return e;
	}
	fd = chan_msg_take_fd(m, 0);
	mp = &fe->maps[fe->nmaps++];
	*mp = (struct reffe_mapping){ mm->shmid, rw, mm->len && r->base,
				      mm->shm_offset, mm->len, mm->fd_offset,
				      fd };
	*out = mp;
	return 0;
}

/* When mappings are announced, each needs a slot in the back-end's
 * memory table (GET_MAX_MEM_SLOTS, else the 8 of SET_MEM_TABLE, one
 * taken by the guest RAM): a MAP that could not be announced is refused
 * (out of resources, digest 6) rather than acked and left unknown. */
static int check_map_slot(const struct reffe *fe)
{
	unsigned limit = reffe_pfeat(fe, PROTO_PF_CONFIGURE_MEM_SLOTS)
				 ? fe->max_mem_slots : PROTO_MAX_MEM_REGIONS;
	unsigned used = 1;

	if (!fe->cfg.announce || reffe_fault(fe, FAULT_FE_MEMTABLE_OVERCOMMIT))
		return 0;
	for (unsigned i = 0; i < fe->nmaps; i++)
		used += fe->maps[i].mapped;
	if (used < limit)
		return 0;
	reffe_log(fe, "MAP refused: the back-end's memory table is full (%u of "
		  "%u slots)", used, limit);
	return ENOSPC;
}

static int handle_map(struct reffe *fe, struct chan_msg *m,
		      struct reffe_mapping **out)
{
	struct proto_mmap mm;
	int e = gate(fe, "MAP", true);

	if (!e)
		e = decode_mmap(fe, m, &mm);
	if (!e)
		e = check_map_range(fe, &mm);
	if (!e)
		e = check_map_fd(fe, m, &mm);
	if (!e)
		e = check_map_slot(fe);
	if (!e)
		e = do_map(fe, m, &mm, out);
	if (e && reffe_fault(fe, FAULT_FE_FD_LEAK_ON_ERROR))
		reffe_leak_fd(fe, m);
	if (!e)
		reffe_log(fe, "MAP shmid %u 0x%llx+0x%llx %s", mm.shmid,
			  (unsigned long long)mm.shm_offset,
			  (unsigned long long)mm.len, (*out)->rw ? "rw" : "ro");
	return e;
}

static int find_unmap(const struct reffe *fe, const struct proto_mmap *mm)
{
	for (unsigned i = 0; i < fe->nmaps; i++) {
		const struct reffe_mapping *mp = &fe->maps[i];

		if (mp->shmid != mm->shmid)
			continue;
		if (mp->shm_offset == mm->shm_offset &&
		    (mp->len == mm->len ||
		     reffe_fault(fe, FAULT_FE_UNMAP_IGNORES_LEN)))
			return (int)i;
		if (reffe_fault(fe, FAULT_FE_UNMAP_PARTIAL) &&
		    mm->shm_offset >= mp->shm_offset &&
		    mm->shm_offset - mp->shm_offset < mp->len &&
		    mm->len <= mp->len - (mm->shm_offset - mp->shm_offset))
			return (int)i;
	}
	return -1;
}

static int handle_unmap(struct reffe *fe, const struct chan_msg *m,
			struct reffe_mapping *removed)
{
	struct proto_mmap mm;
	const struct reffe_region *r;
	int e = gate(fe, "UNMAP", false), i;

	if (!e)
		e = decode_mmap(fe, m, &mm);
	if (e)
		return e;
	if (m->nfds && !fe->cfg.lenient) {
		reffe_log(fe, "UNMAP refused: %u fds attached", m->nfds);
		return EINVAL;
	}
	r = region_get(fe, mm.shmid);
	if (!r && reffe_fault(fe, FAULT_FE_UNKNOWN_SHMID_NULL))
		refregion_size_unchecked(r);
	i = r ? find_unmap(fe, &mm) : -1;
	if (i < 0) {
		reffe_log(fe, "UNMAP refused: shmid %u 0x%llx+0x%llx is not a "
			  "mapping", mm.shmid, (unsigned long long)mm.shm_offset,
			  (unsigned long long)mm.len);
		return ENOENT;
	}
	*removed = fe->maps[i];
	if (fe->maps[i].shm_offset != mm.shm_offset ||
	    (fe->maps[i].len != mm.len &&
	     !reffe_fault(fe, FAULT_FE_UNMAP_IGNORES_LEN))) {
		/* fe_unmap_partial: the hole is punched, the entry stays. */
		refregion_clear(r, mm.shm_offset, mm.len);
	} else {
		reffe_mapping_remove(fe, (unsigned)i);
	}
	reffe_log(fe, "UNMAP shmid %u 0x%llx+0x%llx", mm.shmid,
		  (unsigned long long)mm.shm_offset, (unsigned long long)mm.len);
	return 0;
}

/* MAP, UNMAP, or an unsupported request: 0 or a positive errno. */
static int handle(struct reffe *fe, struct chan_msg *m,
		  struct reffe_mapping **mp, struct reffe_mapping *removed)
{
	int status;

	switch (m->hdr.request) {
	case PROTO_BE_SHMEM_MAP:
		status = handle_map(fe, m, mp);
		if (status == 0 &&
		    reffe_fault(fe, FAULT_FE_MEMTABLE_BEFORE_REPLY))
			refannounce_blocking(fe, *mp);
		break;
	case PROTO_BE_SHMEM_UNMAP:
		status = handle_unmap(fe, m, removed);
		break;
	default:
		reffe_log(fe, "back-end channel: request %u not supported",
			  m->hdr.request);
		status = EOPNOTSUPP;
	}
	return status;
}

static int send_backend_reply(struct reffe *fe, const struct proto_hdr *req,
			      int status)
{
	struct proto_hdr h = { req->request, PROTO_VERSION | PROTO_F_REPLY, 8 };
	uint8_t buf[8];
	int st;

	if (!reffe_pfeat(fe, PROTO_PF_REPLY_ACK) || !(req->flags & PROTO_F_NEED_REPLY))
		return 0;
	if (status && reffe_fault(fe, FAULT_FE_NO_REPLY_ON_ERROR))
		return 0;
	if (reffe_fault(fe, FAULT_FE_ERROR_REPLY_ZERO))
		status = 0;
	if (reffe_fault(fe, FAULT_FE_REPLY_WRONG_FLAGS))
		h.flags = PROTO_VERSION;
	if (reffe_fault(fe, FAULT_FE_REPLY_WRONG_SIZE))
		h.size = 4;
	proto_u64_encode((uint64_t)status, buf, sizeof(buf));
	st = refwait_send(&fe->backend, &h, buf, h.size, NULL, 0,
			  fe->cfg.cancel_fd,
			  chan_deadline(fe->cfg.reply_timeout_ms));
	if (st == -ECANCELED)
		return st;
	if (st != CHAN_OK) {
		reffe_log(fe, "back-end channel: reply not sent (%s); closing",
			  st > 0 ? chan_status_name((enum chan_status)st)
				 : strerror(-st));
		reffe_close_chan(&fe->backend);
		return reffe_chan_errno(st);
	}
	return 0;
}

/* Header checks before any payload is looked at. Returns 0, a positive
 * errno for an error reply, or -1 to drop the message silently. */
static int check_request_hdr(const struct reffe *fe, const struct proto_hdr *h)
{
	if (h->flags & PROTO_F_REPLY) {
		reffe_log(fe, "back-end channel: unsolicited reply (request %u) "
			  "dropped", h->request);
		return -1;
	}
	if ((h->flags & PROTO_VERSION_MASK) != PROTO_VERSION ||
	    (h->flags & ~PROTO_F_KNOWN)) {
		reffe_log(fe, "back-end channel: bad header flags 0x%x", h->flags);
		return EPROTO;
	}
	return 0;
}

int reffe_handle_backend_msg(struct reffe *fe, struct chan_msg *m)
{
	struct reffe_mapping *mp = NULL, removed = { .mapped = false };
	int status = check_request_hdr(fe, &m->hdr), r;

	if (status < 0)
		return 0;
	if (status == 0)
		status = handle(fe, m, &mp, &removed);
	r = send_backend_reply(fe, &m->hdr, status);
	/* Memory-table traffic only ever follows the reply (digest 9). */
	if (r == 0 && status == 0 && fe->cfg.announce &&
	    !reffe_fault(fe, FAULT_FE_MEMTABLE_BEFORE_REPLY) && reffe_connected(fe)) {
		if (m->hdr.request == PROTO_BE_SHMEM_MAP && mp->mapped)
			refannounce_push(fe, REFFE_ANNOUNCE_ADD, mp);
		else if (m->hdr.request == PROTO_BE_SHMEM_UNMAP && removed.mapped)
			refannounce_push(fe, REFFE_ANNOUNCE_REM, &removed);
	}
	return r;
}

int reffe_service_backend(struct reffe *fe, int64_t deadline)
{
	struct chan_msg m;
	int st, r = 0;

	if (fe->backend.fd < 0)
		return 1;
	st = refwait_recv(&fe->backend, &m, fe->cfg.cancel_fd, deadline);
	if (st == -ECANCELED)
		return st;
	if (st == CHAN_TIMEOUT && !m.hdr_valid && !m.payload_len)
		return -ETIMEDOUT;
	if (st == CHAN_OK || st == CHAN_TOO_MANY_FDS) {
		r = reffe_handle_backend_msg(fe, &m);
		if (r == -ECANCELED) {
			chan_msg_release(&m);
			return r;
		}
	} else {
		reffe_log(fe, "back-end channel closed: %s",
			  st > 0 ? chan_status_name((enum chan_status)st)
				 : strerror(-st));
		reffe_close_chan(&fe->backend);
	}
	chan_msg_release(&m);
	if (r < 0 || fe->backend.fd < 0)
		return 1;
	return 0;
}

int reffe_service_main(struct reffe *fe, int64_t deadline)
{
	struct chan_msg m;
	int st;

	if (fe->main.fd < 0)
		return 1;
	st = refwait_recv(&fe->main, &m, fe->cfg.cancel_fd, deadline);
	chan_msg_release(&m);
	if (st == -ECANCELED)
		return 0;
	if (st == CHAN_OK) {
		reffe_log(fe, "main channel: unexpected message %u dropped",
			  m.hdr.request);
		return 0;
	}
	if (st == CHAN_TIMEOUT && !m.hdr_valid && !m.payload_len)
		return 0;
	/* EOF, or a message cut short: framing is lost either way. */
	reffe_log(fe, "main channel closed: %s",
		  st > 0 ? chan_status_name((enum chan_status)st) : strerror(-st));
	reffe_disconnect(fe);
	return 1;
}

int reffe_flush_announce(struct reffe *fe, int64_t deadline)
{
	return refannounce_flush(fe, deadline, reffe_service_backend);
}
