/* SPDX-License-Identifier: MIT */
/* livecheck: see livecheck.h. */
#include "livecheck.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzzpool.h"

void livecheck_init(struct livecheck *c)
{
	memset(c, 0, sizeof(*c));
	livecheck_reset(c);
}

void livecheck_reset(struct livecheck *c)
{
	char tag[24];

	fdpool_free(&c->pool);
	snprintf(tag, sizeof(tag), "live%ld-%u", (long)getpid(), c->gen++);
	fdpool_init(&c->pool, tag);
}

void livecheck_free(struct livecheck *c)
{
	fdpool_free(&c->pool);
}

int livecheck_fds(struct livecheck *c, unsigned choice, int idx[2])
{
	static const struct { enum fdpool_kind kind; uint64_t size; } menu[] = {
		[FUZZPOOL_MEMFD_4K] = { FDPOOL_MEMFD, 0x1000 },
		[FUZZPOOL_MEMFD_64K] = { FDPOOL_MEMFD, 0x10000 },
		[FUZZPOOL_MEMFD_1M] = { FDPOOL_MEMFD, 0x100000 },
		[FUZZPOOL_SEALED] = { FDPOOL_MEMFD_SEALED, 0x10000 },
		[FUZZPOOL_EMPTY] = { FDPOOL_MEMFD_EMPTY, 0 },
		[FUZZPOOL_RDONLY] = { FDPOOL_RDONLY_FILE, 0x10000 },
		[FUZZPOOL_PIPE] = { FDPOOL_PIPE, 0 },
		[FUZZPOOL_SOCKET] = { FDPOOL_SOCKET, 0 },
	};
	unsigned want[2], n = 0;

	choice %= FUZZPOOL_CHOICE_MAX;
	if (choice == FUZZPOOL_NONE)
		return 0;
	if (choice == FUZZPOOL_TWO) {   /* as fuzzpool's: 64k and 4k */
		want[n++] = FUZZPOOL_MEMFD_64K;
		want[n++] = FUZZPOOL_MEMFD_4K;
	} else {
		want[n++] = choice;
	}
	for (unsigned i = 0; i < n; i++) {
		struct livecheck_fd *d;
		char name[16];
		int k;

		snprintf(name, sizeof(name), "f%u", c->pool.count);
		k = fdpool_add(&c->pool, name, menu[want[i]].kind, menu[want[i]].size);
		if (k < 0)
			return -1;
		d = &c->fds[k];
		*d = (struct livecheck_fd){ .fd = c->pool.e[k].fd };
		if (oracle_self_link(d->fd, d->link, sizeof(d->link)) != 0)
			d->link[0] = '\0';
		idx[i] = k;
	}
	return (int)n;
}

static bool holds_now(pid_t pid, enum livecheck_what what,
		      const struct livecheck_fd *d, uint64_t offset,
		      uint64_t len, char *obs, size_t cap)
{
	struct oracle_filter f = { .path = d->link };
	unsigned match = 0, total = 0;
	int err = 0, n;
	char *maps;

	if (what == LIVECHECK_NO_FDS) {
		if (oracle_scan_fds(pid, d->link, &match, &total) != 0)
			return true;
		snprintf(obs, cap, "the target holds %u fd(s) of %s", match, d->link);
		return match == 0;
	}
	maps = oracle_read_maps(pid, &err);
	if (!maps)
		return true;
	if (what != LIVECHECK_UNMAPPED) {
		f.perms = what == LIVECHECK_MAPPED_RW ? "rw-s" : "r--s";
		f.has_offset = f.has_len = true;
		f.offset = offset;
		f.len = len;
	}
	n = oracle_maps_select(maps, &f, NULL, 0);
	free(maps);
	if (what == LIVECHECK_UNMAPPED) {
		snprintf(obs, cap, "%d mapping(s) of %s left", n, d->link);
		return n == 0;
	}
	snprintf(obs, cap, "%d mapping(s) of %s %s offset %#llx len %#llx "
		 "(1 expected)", n, d->link, f.perms, (unsigned long long)offset,
		 (unsigned long long)len);
	return n == 1;
}

bool livecheck_holds(struct livecheck *c, struct livepeer *p,
		     enum livecheck_what what, int fdi, uint64_t offset,
		     uint64_t len, unsigned window_ms, char *obs, size_t cap)
{
	int64_t end = chan_deadline(window_ms);
	const struct livecheck_fd *d = &c->fds[fdi];

	if (!d->link[0])
		return true;
	for (;;) {
		if (holds_now(p->t.pid, what, d, offset, len, obs, cap))
			return true;
		if (chan_now_ms() >= end ||
		    livepeer_serve_for(p, 2) == LIVEPEER_GONE)
			return false;
	}
}

/* The first answered fd with a mapping in maps, or one the target holds
 * (its /proc/PID/fd links read once). -1: none. */
static int first_left(struct livecheck *c, pid_t pid, const char *maps,
		      bool *fd_left)
{
	char dir[64], path[384], link[ORACLE_PATH_MAX];
	struct dirent *de;
	DIR *d;

	for (unsigned i = 0; i < c->pool.count; i++) {
		struct oracle_filter f = { .path = c->fds[i].link };

		if (c->fds[i].synced && c->fds[i].link[0] &&
		    oracle_maps_select(maps, &f, NULL, 0) > 0) {
			*fd_left = false;
			return (int)i;
		}
	}
	snprintf(dir, sizeof(dir), "/proc/%ld/fd", (long)pid);
	d = opendir(dir);
	if (!d)
		return -1;
	while ((de = readdir(d)) != NULL) {
		ssize_t n;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		n = readlink(path, link, sizeof(link) - 1);
		if (n <= 0)
			continue;
		link[n] = '\0';
		for (unsigned i = 0; i < c->pool.count; i++) {
			if (c->fds[i].synced && strcmp(link, c->fds[i].link) == 0) {
				closedir(d);
				*fd_left = true;
				return (int)i;
			}
		}
	}
	closedir(d);
	return -1;
}

bool livecheck_all_gone(struct livecheck *c, struct livepeer *p,
			unsigned window_ms, bool *fds_left, char *obs, size_t cap)
{
	int64_t end = chan_deadline(window_ms);

	for (;;) {
		int err = 0, k;
		char *maps = oracle_read_maps(p->t.pid, &err);

		if (!maps)
			return true;    /* gone: the crash check says so */
		k = first_left(c, p->t.pid, maps, fds_left);
		free(maps);
		if (k < 0)
			return true;
		snprintf(obs, cap, *fds_left ? "the target holds an fd of %s"
			 : "a mapping of %s left", c->fds[k].link);
		if (chan_now_ms() >= end ||
		    livepeer_serve_for(p, 2) == LIVEPEER_GONE)
			return false;
	}
}
