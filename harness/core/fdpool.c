/* SPDX-License-Identifier: MIT */
/*
 * fdpool: named fds of every kind a case attaches. See fdpool.h.
 */
#include "fdpool.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

static const char *const kind_names[FDPOOL_KIND_MAX] = {
	[FDPOOL_MEMFD] = "memfd",
	[FDPOOL_MEMFD_SEALED] = "memfd-sealed",
	[FDPOOL_MEMFD_EMPTY] = "memfd-empty",
	[FDPOOL_RDONLY_FILE] = "rdonly-file",
	[FDPOOL_PIPE] = "pipe",
	[FDPOOL_SOCKET] = "socket",
	[FDPOOL_CLOSED] = "closed",
};

const char *fdpool_kind_name(enum fdpool_kind k)
{
	if ((int)k < 0 || k >= FDPOOL_KIND_MAX)
		return NULL;
	return kind_names[k];
}

/* Case-insensitive, '_' and '-' alike: "MEMFD_SEALED" works too. */
static bool kind_eq(const char *a, const char *canon)
{
	for (; *a && *canon; a++, canon++) {
		int x = *a == '_' ? '-' : tolower((unsigned char)*a);

		if (x != *canon)
			return false;
	}
	return *a == *canon;
}

int fdpool_kind_by_name(const char *name)
{
	if (!name)
		return -1;
	for (int k = 0; k < FDPOOL_KIND_MAX; k++)
		if (kind_eq(name, kind_names[k]))
			return k;
	return -1;
}

void fdpool_init(struct fdpool *p, const char *tag)
{
	memset(p, 0, sizeof(*p));
	if (tag && *tag)
		snprintf(p->tag, sizeof(p->tag), "%s", tag);
	else
		snprintf(p->tag, sizeof(p->tag), "%ld", (long)getpid());
}

struct fdpool_entry *fdpool_get(struct fdpool *p, const char *name)
{
	for (unsigned i = 0; i < p->count; i++)
		if (!strcmp(p->e[i].name, name))
			return &p->e[i];
	return NULL;
}

/* ---- makers: each fills e->fd (and aux_fd, memfd_name) or -errno ---- */

static int make_memfd(struct fdpool_entry *e, const char *tag, uint64_t size,
		      bool seal)
{
	char name[64];
	int fd, rc;

	snprintf(name, sizeof(name), "vhu-%s-%s", tag, e->name);
	fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)size) < 0)
		goto fail;
	/* F_SEAL_SEAL last: nothing can lift the others afterwards. */
	if (seal && fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SHRINK |
					   F_SEAL_GROW | F_SEAL_SEAL) < 0)
		goto fail;
	e->fd = fd;
	snprintf(e->memfd_name, sizeof(e->memfd_name), "/memfd:%s (deleted)",
		 name);
	return 0;
fail:
	rc = -errno;
	close(fd);
	return rc;
}

/* A regular file opened O_RDONLY: created writable to size it, reopened
 * read-only, then unlinked so nothing is left behind. */
static int make_rdonly(struct fdpool_entry *e, const char *tag, uint64_t size)
{
	const char *dir = getenv("TMPDIR");
	char path[256];
	int wfd, fd, rc = 0;

	if (!dir || !*dir)
		dir = "/tmp";
	if (snprintf(path, sizeof(path), "%s/vhu-%s-%s-XXXXXX", dir, tag,
		     e->name) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	wfd = mkostemp(path, O_CLOEXEC);
	if (wfd < 0)
		return -errno;
	if (ftruncate(wfd, (off_t)size) < 0)
		rc = -errno;
	fd = rc ? -1 : open(path, O_RDONLY | O_CLOEXEC);
	if (!rc && fd < 0)
		rc = -errno;
	unlink(path);
	close(wfd);
	if (rc)
		return rc;
	e->fd = fd;
	snprintf(e->memfd_name, sizeof(e->memfd_name), "%.80s (deleted)", path);
	return 0;
}

static int make_pipe(struct fdpool_entry *e)
{
	int p[2];

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	e->fd = p[0];
	e->aux_fd = p[1];
	return 0;
}

static int make_socket(struct fdpool_entry *e)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	e->fd = sv[0];
	e->aux_fd = sv[1];
	return 0;
}

/* The number is taken high above the usual fds, so the next open() does
 * not quietly make it valid again. */
static int make_closed(struct fdpool_entry *e)
{
	struct rlimit rl;
	int lo = 0, fd, num;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur >= 256 &&
	    rl.rlim_cur != RLIM_INFINITY)
		lo = (int)(rl.rlim_cur / 2);
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	num = lo ? fcntl(fd, F_DUPFD_CLOEXEC, lo) : -1;
	if (num >= 0) {
		close(num);
	} else {
		num = fd;
	}
	close(fd);
	e->fd = num;
	return 0;
}

static int make_entry(struct fdpool *p, struct fdpool_entry *e)
{
	switch (e->kind) {
	case FDPOOL_MEMFD:
		return make_memfd(e, p->tag, e->size, false);
	case FDPOOL_MEMFD_SEALED:
		return make_memfd(e, p->tag, e->size, true);
	case FDPOOL_MEMFD_EMPTY:
		return make_memfd(e, p->tag, 0, false);
	case FDPOOL_RDONLY_FILE:
		return make_rdonly(e, p->tag, e->size);
	case FDPOOL_PIPE:
		return make_pipe(e);
	case FDPOOL_SOCKET:
		return make_socket(e);
	case FDPOOL_CLOSED:
		return make_closed(e);
	case FDPOOL_KIND_MAX:
		break;
	}
	return -EINVAL;
}

int fdpool_add(struct fdpool *p, const char *name, enum fdpool_kind kind,
	       uint64_t size)
{
	struct fdpool_entry *e;
	int rc;

	if (!name || !*name || (int)kind < 0 || kind >= FDPOOL_KIND_MAX)
		return -EINVAL;
	if (strlen(name) >= FDPOOL_NAME_MAX)
		return -ENAMETOOLONG;
	if (size > (uint64_t)INT64_MAX)
		return -EFBIG;
	if (fdpool_get(p, name))
		return -EEXIST;
	if (p->count >= FDPOOL_MAX)
		return -ENOSPC;
	e = &p->e[p->count];
	memset(e, 0, sizeof(*e));
	snprintf(e->name, sizeof(e->name), "%s", name);
	e->kind = kind;
	e->fd = -1;
	e->aux_fd = -1;
	e->size = kind == FDPOOL_MEMFD_EMPTY ? 0 : size;
	if (kind == FDPOOL_PIPE || kind == FDPOOL_SOCKET || kind == FDPOOL_CLOSED)
		e->size = 0;
	rc = make_entry(p, e);
	if (rc < 0)
		return rc;
	return (int)p->count++;
}

void fdpool_free(struct fdpool *p)
{
	for (unsigned i = 0; i < p->count; i++) {
		struct fdpool_entry *e = &p->e[i];

		/* A CLOSED entry's number is not ours: it may be reused. */
		if (e->kind != FDPOOL_CLOSED && e->fd >= 0)
			close(e->fd);
		if (e->aux_fd >= 0)
			close(e->aux_fd);
		e->fd = -1;
		e->aux_fd = -1;
	}
	p->count = 0;
}

int fdpool_count_open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0, self;

	if (!d)
		return -errno;
	self = dirfd(d);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (atoi(de->d_name) != self)
			n++;
	}
	closedir(d);
	return n;
}
