/* SPDX-License-Identifier: MIT */
/*
 * refregion: the address space the reference front-end reserves for one
 * shared memory region, and what it maps into it.
 */
#ifndef VHU_REFREGION_H
#define VHU_REFREGION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One shared memory region: size as advertised, and the address space
 * reserved for it. The reservation is a PROT_NONE span with slack below
 * and above the region so that faulty bounds checks land in memory we
 * own instead of corrupting the process. */
struct reffe_region {
	uint64_t size;             /* first member: see fe_unknown_shmid_null */
	uint8_t *base;             /* NULL: not reserved (size 0 or too big) */
	uint8_t *resv;
	size_t resv_len;
};

/* Reserves the PROT_NONE span for a region of this size (size is set
 * even on failure). 0 or -errno. */
int refregion_reserve(struct reffe_region *r, uint64_t size);
/* Unmaps the reservation; *r is all zero after. */
void refregion_release(struct reffe_region *r);
void refregion_release_all(struct reffe_region *r, unsigned n);
/* The bug fe_unknown_shmid_null mirrors: reads r->size without a NULL
 * test (address 0 when r is NULL). */
uint64_t refregion_size_unchecked(const struct reffe_region *r);
/* base + off, in uintptr_t arithmetic (faulty checks may wrap). */
uintptr_t refregion_addr(const struct reffe_region *r, uint64_t off);
/* Whether [addr, addr+len) lies inside the reservation. */
bool refregion_contains(const struct reffe_region *r, uintptr_t addr,
			uint64_t len);
/* Puts PROT_NONE back over a range that was mapped. */
void refregion_clear(const struct reffe_region *r, uint64_t off,
		     uint64_t len);

#endif
