/* SPDX-License-Identifier: MIT */
/* Unit tests for targets/ref/refregion: the address space the reference
 * front-end reserves for a shared memory region, judged in
 * /proc/self/maps. */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "refregion.h"
#include "vhutest.h"

/* The permissions of the mapping holding addr ("---p", "rw-s"), or ""
 * when nothing is mapped there. */
static void perms_at(uintptr_t addr, char perms[5])
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];

	ck_assert_ptr_nonnull(f);
	perms[0] = '\0';
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;
		char p[5];

		if (sscanf(line, "%lx-%lx %4s", &lo, &hi, p) == 3 &&
		    addr >= lo && addr < hi) {
			memcpy(perms, p, 5);
			break;
		}
	}
	fclose(f);
}

TEST_CASE("region");

START_TEST(reserved_span_is_prot_none_with_slack)
{
	struct reffe_region r;
	char p[5];

	memset(&r, 0, sizeof(r));
	ck_assert_int_eq(refregion_reserve(&r, 0x10000), 0);
	ck_assert_uint_eq(r.size, 0x10000);
	ck_assert_ptr_nonnull(r.base);
	ck_assert(r.base > r.resv);
	ck_assert_uint_ge(r.resv_len, (size_t)(r.base - r.resv) + 0x10000);
	perms_at((uintptr_t)r.base, p);
	ck_assert_str_eq(p, "---p");
	perms_at((uintptr_t)r.resv, p);
	ck_assert_str_eq(p, "---p");
	ck_assert_uint_eq(refregion_addr(&r, 0x1000), (uintptr_t)r.base + 0x1000);
	ck_assert(refregion_contains(&r, (uintptr_t)r.base, 0x10000));
	ck_assert(!refregion_contains(&r, (uintptr_t)r.resv - 1, 2));
	ck_assert(!refregion_contains(&r, (uintptr_t)r.resv, r.resv_len + 1));
	ck_assert_uint_eq(refregion_size_unchecked(&r), 0x10000);
	refregion_release(&r);
	ck_assert_ptr_null(r.base);
	ck_assert_ptr_null(r.resv);
	ck_assert_uint_eq(r.size, 0);
}
END_TEST

START_TEST(clear_gives_a_mapping_back_to_prot_none)
{
	struct reffe_region r;
	int fd = memfd_create("vhu-test-region", MFD_CLOEXEC);
	uint8_t *p;
	char perms[5];

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, 0x2000), 0);
	memset(&r, 0, sizeof(r));
	ck_assert_int_eq(refregion_reserve(&r, 0x4000), 0);
	p = mmap(r.base + 0x1000, 0x2000, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_FIXED, fd, 0);
	ck_assert_ptr_eq(p, r.base + 0x1000);
	p[0] = 0x5a;
	perms_at((uintptr_t)p, perms);
	ck_assert_str_eq(perms, "rw-s");
	refregion_clear(&r, 0x1000, 0x2000);
	perms_at((uintptr_t)p, perms);
	ck_assert_str_eq(perms, "---p");
	refregion_clear(&r, 0x1000, 0);
	refregion_release(&r);
	close(fd);
}
END_TEST

START_TEST(sizes_that_cannot_be_reserved)
{
	struct reffe_region r;

	memset(&r, 0, sizeof(r));
	ck_assert_int_eq(refregion_reserve(&r, UINT64_MAX), -EOVERFLOW);
	ck_assert_uint_eq(r.size, UINT64_MAX);
	ck_assert_ptr_null(r.base);
	memset(&r, 0, sizeof(r));
	ck_assert_int_eq(refregion_reserve(&r, UINT64_C(1) << 62), -ENOMEM);
	ck_assert_ptr_null(r.base);
}
END_TEST

START_TEST(release_all_releases_each)
{
	struct reffe_region r[3];

	memset(r, 0, sizeof(r));
	ck_assert_int_eq(refregion_reserve(&r[0], 0x1000), 0);
	ck_assert_int_eq(refregion_reserve(&r[2], 0x2000), 0);
	refregion_release_all(r, 3);
	for (unsigned i = 0; i < 3; i++) {
		ck_assert_ptr_null(r[i].resv);
		ck_assert_uint_eq(r[i].size, 0);
	}
}
END_TEST
