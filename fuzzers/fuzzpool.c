/* SPDX-License-Identifier: MIT */
#include "fuzzpool.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

struct menu_item {
	const char *name;
	enum fdpool_kind kind;
	uint64_t size;
};

/* Index = enum fuzzpool_choice; NONE and TWO have no entry of their own. */
static const struct menu_item menu[FUZZPOOL_CHOICE_MAX] = {
	[FUZZPOOL_NONE] = { "none", FDPOOL_KIND_MAX, 0 },
	[FUZZPOOL_MEMFD_4K] = { "memfd4k", FDPOOL_MEMFD, 0x1000 },
	[FUZZPOOL_MEMFD_64K] = { "memfd64k", FDPOOL_MEMFD, 0x10000 },
	[FUZZPOOL_MEMFD_1M] = { "memfd1m", FDPOOL_MEMFD, 0x100000 },
	[FUZZPOOL_SEALED] = { "sealed", FDPOOL_MEMFD_SEALED, 0x10000 },
	[FUZZPOOL_EMPTY] = { "empty", FDPOOL_MEMFD_EMPTY, 0 },
	[FUZZPOOL_RDONLY] = { "rdonly", FDPOOL_RDONLY_FILE, 0x10000 },
	[FUZZPOOL_PIPE] = { "pipe", FDPOOL_PIPE, 0 },
	[FUZZPOOL_SOCKET] = { "socket", FDPOOL_SOCKET, 0 },
	[FUZZPOOL_CLOSED] = { "closed", FDPOOL_CLOSED, 0 },
	[FUZZPOOL_TWO] = { "two", FDPOOL_KIND_MAX, 0 },
};

int fuzzpool_init(struct fuzzpool *fp, char *err, size_t errcap)
{
	char tag[24];

	snprintf(tag, sizeof(tag), "fuzz%ld", (long)getpid());
	fdpool_init(&fp->pool, tag);
	for (unsigned c = 0; c < FUZZPOOL_CHOICE_MAX; c++) {
		int rc;

		fp->idx[c] = -1;
		if (menu[c].kind == FDPOOL_KIND_MAX)
			continue;
		rc = fdpool_add(&fp->pool, menu[c].name, menu[c].kind,
				menu[c].size);
		if (rc < 0) {
			snprintf(err, errcap, "fd pool entry %s: %s",
				 menu[c].name, strerror(-rc));
			fdpool_free(&fp->pool);
			return rc;
		}
		fp->idx[c] = rc;
	}
	return 0;
}

void fuzzpool_free(struct fuzzpool *fp)
{
	fdpool_free(&fp->pool);
}

unsigned fuzzpool_fds(const struct fuzzpool *fp, unsigned choice, int fds[2])
{
	choice %= FUZZPOOL_CHOICE_MAX;
	if (choice == FUZZPOOL_NONE)
		return 0;
	if (choice == FUZZPOOL_TWO) {
		fds[0] = fp->pool.e[fp->idx[FUZZPOOL_MEMFD_64K]].fd;
		fds[1] = fp->pool.e[fp->idx[FUZZPOOL_MEMFD_4K]].fd;
		return 2;
	}
	fds[0] = fp->pool.e[fp->idx[choice]].fd;
	return 1;
}

struct fuzzpool_traits fuzzpool_traits(unsigned choice)
{
	struct fuzzpool_traits t = { .nfds = 1, .sendable = true };
	const struct menu_item *m;

	choice %= FUZZPOOL_CHOICE_MAX;
	if (choice == FUZZPOOL_NONE || choice == FUZZPOOL_TWO) {
		t.nfds = choice == FUZZPOOL_TWO ? 2 : 0;
		return t;
	}
	m = &menu[choice];
	t.sendable = m->kind != FDPOOL_CLOSED;
	t.regular = m->kind == FDPOOL_MEMFD || m->kind == FDPOOL_MEMFD_SEALED ||
		    m->kind == FDPOOL_MEMFD_EMPTY || m->kind == FDPOOL_RDONLY_FILE;
	t.size = m->kind == FDPOOL_MEMFD_EMPTY ? 0 : m->size;
	/* Pipes and sockets have no mmap; a write-sealed memfd and an
	 * O_RDONLY file refuse a shared writable mapping. */
	t.mmap_ro = t.regular;
	t.mmap_rw = m->kind == FDPOOL_MEMFD || m->kind == FDPOOL_MEMFD_EMPTY;
	return t;
}

const char *fuzzpool_choice_name(unsigned choice)
{
	return menu[choice % FUZZPOOL_CHOICE_MAX].name;
}
