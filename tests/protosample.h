/* SPDX-License-Identifier: MIT */
/* Sample payloads shared by the tests of the proto modules (test_proto,
 * test_protoval, test_protofmt). */
#ifndef VHU_TEST_PROTOSAMPLE_H
#define VHU_TEST_PROTOSAMPLE_H

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

static inline struct proto_mmap sample_mmap(void)
{
	struct proto_mmap m;

	memset(&m, 0, sizeof(m));
	m.shmid = 0;
	m.fd_offset = 0;
	m.shm_offset = 0x1000;
	m.len = 0x1000;
	m.flags = PROTO_MMAP_F_RW;
	return m;
}

static inline void mmap_bytes(const struct proto_mmap *m, uint8_t out[40])
{
	ck_assert_int_eq(proto_mmap_encode(m, out, 40), 40);
}

static inline struct proto_shmem_config *sample_config(void)
{
	struct proto_shmem_config *c = calloc(1, sizeof(*c));

	ck_assert_ptr_nonnull(c);
	c->nregions = 2;
	c->memory_sizes[0] = 0x100000;
	c->memory_sizes[1] = 0x10000;
	return c;
}

#endif
