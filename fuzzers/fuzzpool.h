/* SPDX-License-Identifier: MIT */
/*
 * fuzzpool: the fds a fuzz input can attach to a message, made once.
 *
 * An input never carries fd numbers (they mean nothing from one run to
 * the next); it carries a choice, an index into this fixed menu, the way
 * syzkaller picks resources. Every kind of fd the digest's scenario C
 * lists is on the menu.
 */
#ifndef VHU_FUZZ_FUZZPOOL_H
#define VHU_FUZZ_FUZZPOOL_H

#include <stdbool.h>
#include <stdint.h>

#include "fdpool.h"

enum fuzzpool_choice {
	FUZZPOOL_NONE = 0,      /* no fd at all */
	FUZZPOOL_MEMFD_4K,
	FUZZPOOL_MEMFD_64K,
	FUZZPOOL_MEMFD_1M,
	FUZZPOOL_SEALED,        /* 64 KiB, write-sealed */
	FUZZPOOL_EMPTY,         /* memfd of 0 bytes */
	FUZZPOOL_RDONLY,        /* O_RDONLY regular file of 64 KiB */
	FUZZPOOL_PIPE,
	FUZZPOOL_SOCKET,
	FUZZPOOL_CLOSED,        /* a closed number: the send itself fails */
	FUZZPOOL_TWO,           /* two memfds (64 KiB and 4 KiB) */
	FUZZPOOL_CHOICE_MAX,
};

/* What the kernel does with a choice's fds: the shadow models of the
 * fuzzers predict a handler's answer from these, never from fd numbers. */
struct fuzzpool_traits {
	unsigned nfds;          /* fds the message carries */
	bool sendable;          /* false for CLOSED: sendmsg fails */
	bool regular;           /* fstat says S_ISREG (memfds are) */
	uint64_t size;          /* st_size when regular */
	bool mmap_ro;           /* mmap(PROT_READ, MAP_SHARED) works */
	bool mmap_rw;           /* mmap(PROT_READ|PROT_WRITE, MAP_SHARED) */
};

struct fuzzpool {
	struct fdpool pool;
	int idx[FUZZPOOL_CHOICE_MAX]; /* pool entry per single-fd choice */
};

/* Makes every fd. 0, or -errno with the failing entry named in err. */
int fuzzpool_init(struct fuzzpool *fp, char *err, size_t errcap);
void fuzzpool_free(struct fuzzpool *fp);
/* The fds of a choice (any value: taken modulo the menu) into fds[2].
 * Returns how many (0..2). The pool keeps ownership. */
unsigned fuzzpool_fds(const struct fuzzpool *fp, unsigned choice, int fds[2]);
/* The traits of a choice (any value: taken modulo the menu). */
struct fuzzpool_traits fuzzpool_traits(unsigned choice);
const char *fuzzpool_choice_name(unsigned choice);

#endif
