/* SPDX-License-Identifier: MIT */
/*
 * fdpool: named file descriptors of the kinds cases and fuzzers attach to
 * messages. Every fd is close-on-exec and owned by the pool.
 */
#ifndef VHU_FDPOOL_H
#define VHU_FDPOOL_H

#include <stddef.h>
#include <stdint.h>

enum fdpool_kind {
	FDPOOL_MEMFD = 0,     /* memfd of `size` bytes (0 allowed) */
	FDPOOL_MEMFD_SEALED,  /* memfd with F_SEAL_WRITE|SHRINK|GROW|SEAL */
	FDPOOL_MEMFD_EMPTY,   /* memfd of 0 bytes */
	FDPOOL_RDONLY_FILE,   /* O_RDONLY regular file of `size` bytes */
	FDPOOL_PIPE,          /* read end of a pipe */
	FDPOOL_SOCKET,        /* one end of a socketpair */
	FDPOOL_CLOSED,        /* a number that was an fd and is now closed */
	FDPOOL_KIND_MAX,
};

#define FDPOOL_MAX 32
#define FDPOOL_NAME_MAX 32

struct fdpool_entry {
	char name[FDPOOL_NAME_MAX];
	enum fdpool_kind kind;
	int fd;                 /* the fd to send */
	int aux_fd;             /* other pipe/socket end, or -1 */
	uint64_t size;
	char memfd_name[96];    /* the name /proc/PID/maps shows, e.g.
				   "/memfd:vhu-<tag>-<name> (deleted)" */
};

struct fdpool {
	unsigned count;
	struct fdpool_entry e[FDPOOL_MAX];
	char tag[24];           /* prefix of memfd names, unique per run */
};

void fdpool_init(struct fdpool *p, const char *tag);
/* Adds an entry. Returns its index or -errno (-EEXIST on a duplicate
 * name, -ENOSPC when full). The memfd name is "vhu-<tag>-<name>". */
int fdpool_add(struct fdpool *p, const char *name, enum fdpool_kind kind,
	       uint64_t size);
/* Looks up by name: the entry or NULL. */
struct fdpool_entry *fdpool_get(struct fdpool *p, const char *name);
void fdpool_free(struct fdpool *p);

const char *fdpool_kind_name(enum fdpool_kind k);
/* "memfd", "memfd-sealed", ...; -1 when unknown. */
int fdpool_kind_by_name(const char *name);

/* Counts this process's open fds (/proc/self/fd); -errno on error. */
int fdpool_count_open_fds(void);

#endif
