/* SPDX-License-Identifier: MIT */
/*
 * refregion: the address space the reference front-end reserves for one
 * shared memory region. See refregion.h.
 */
#include "refregion.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include "refsys.h"

/* Room reserved below and (at least) above each region: a faulty bounds
 * check maps into it rather than over the heap. */
#define REGION_SLACK (UINT64_C(1) << 20)
_Static_assert(offsetof(struct reffe_region, size) == 0,
	       "fe_unknown_shmid_null reads size through the region pointer");

void refregion_release(struct reffe_region *r)
{
	if (r->resv)
		munmap(r->resv, r->resv_len);
	memset(r, 0, sizeof(*r));
}

int refregion_reserve(struct reffe_region *r, uint64_t size)
{
	uint64_t page = refsys_page_size(), rounded, hi, len;
	void *p;

	r->size = size;
	if (size > UINT64_MAX - page)
		return -EOVERFLOW;
	rounded = (size + page - 1) & ~(page - 1);
	hi = rounded > REGION_SLACK ? rounded : REGION_SLACK;
	if (rounded > (uint64_t)SIZE_MAX / 4)
		return -ENOMEM;
	len = REGION_SLACK + rounded + hi;
	p = mmap(NULL, (size_t)len, PROT_NONE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	r->resv = p;
	r->resv_len = (size_t)len;
	r->base = r->resv + REGION_SLACK;
	return 0;
}

void refregion_release_all(struct reffe_region *r, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		refregion_release(&r[i]);
}

/* The bug fe_unknown_shmid_null mirrors: the region pointer is used
 * without a NULL test. size is the first member, so this reads address 0
 * when r is NULL. */
uint64_t refregion_size_unchecked(const struct reffe_region *r)
{
	const volatile uint64_t *p = (const volatile uint64_t *)(uintptr_t)r;

	return *p;
}

uintptr_t refregion_addr(const struct reffe_region *r, uint64_t off)
{
	/* uintptr_t arithmetic: faulty bounds checks may wrap on purpose. */
	return (uintptr_t)r->base + (uintptr_t)off;
}

bool refregion_contains(const struct reffe_region *r, uintptr_t addr,
			uint64_t len)
{
	uintptr_t lo = (uintptr_t)r->resv;

	return addr >= lo && len <= r->resv_len &&
	       addr - lo <= r->resv_len - len;
}

/* Puts PROT_NONE back over a range we had mapped. */
void refregion_clear(const struct reffe_region *r, uint64_t off,
		     uint64_t len)
{
	uintptr_t addr = refregion_addr(r, off);

	if (len == 0)
		return;
	if (refregion_contains(r, addr, len))
		mmap((void *)addr, (size_t)len, PROT_NONE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE,
		     -1, 0);
	else
		munmap((void *)addr, (size_t)len);
}
