/* SPDX-License-Identifier: MIT */
/* edgemap: see edgemap.h. */
#include "edgemap.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>

static size_t map_size(void)
{
	const char *s = getenv("AFL_MAP_SIZE");
	char *end = NULL;
	unsigned long long n = s ? strtoull(s, &end, 10) : 0;

	/* AFL++ rounds the map to 64 bytes; anything else is not a size. */
	if (!s || *end || n < 64 || n > (1ull << 28))
		return EDGEMAP_SIZE_DEFAULT;
	return (size_t)((n + 63) & ~63ull);
}

int edgemap_open(struct edgemap *e, char *err, size_t errcap)
{
	char num[32];

	memset(e, 0, sizeof(*e));
	e->shmid = -1;
	e->size = map_size();
	e->virgin = malloc(e->size);
	if (!e->virgin) {
		snprintf(err, errcap, "edge map: out of memory");
		return -1;
	}
	memset(e->virgin, 0xff, e->size);
	e->shmid = shmget(IPC_PRIVATE, e->size, IPC_CREAT | IPC_EXCL | 0600);
	if (e->shmid < 0) {
		snprintf(err, errcap, "edge map: shmget %zu bytes: %s", e->size,
			 strerror(errno));
		edgemap_close(e);
		return -1;
	}
	e->trace = shmat(e->shmid, NULL, 0);
	/* Linux lets the target attach a segment already marked for
	 * removal; marking it now means no driver exit leaks it. */
	shmctl(e->shmid, IPC_RMID, NULL);
	if (e->trace == (void *)-1) {
		e->trace = NULL;
		snprintf(err, errcap, "edge map: shmat: %s", strerror(errno));
		edgemap_close(e);
		return -1;
	}
	snprintf(num, sizeof(num), "%d", e->shmid);
	setenv("__AFL_SHM_ID", num, 1);
	snprintf(num, sizeof(num), "%zu", e->size);
	setenv("AFL_MAP_SIZE", num, 1);
	return 0;
}

uint8_t edgemap_bucket(uint8_t c)
{
	if (c <= 3)
		return c == 3 ? 4 : c;     /* 0, 1, 2 -> 0, 1, 2; 3 -> 4 */
	if (c <= 7)
		return 8;
	if (c <= 15)
		return 16;
	if (c <= 31)
		return 32;
	return c <= 127 ? 64 : 128;
}

unsigned long edgemap_take(struct edgemap *e)
{
	unsigned long fresh = 0;
	uint64_t *w = (uint64_t *)e->trace;
	size_t words = e->size / sizeof(uint64_t);

	if (!e->trace)
		return 0;
	for (size_t k = 0; k < words; k++) {
		if (!w[k])          /* most of the map: nothing hit */
			continue;
		for (size_t i = k * 8; i < k * 8 + 8; i++) {
			uint8_t b = edgemap_bucket(e->trace[i]);

			if (!(b & e->virgin[i]))
				continue;
			if (e->virgin[i] == 0xff)
				e->edges++;
			e->virgin[i] &= (uint8_t)~b;
			fresh++;
		}
		w[k] = 0;           /* cleared for the next operation */
	}
	e->new_bits += fresh;
	return fresh;
}

int edgemap_load(struct edgemap *e, const char *path)
{
	FILE *f = fopen(path, "rb");
	size_t n;

	if (!f)
		return errno == ENOENT ? 0 : -1;
	n = fread(e->virgin, 1, e->size, f);
	if (n != e->size || fgetc(f) != EOF) {
		fclose(f);
		memset(e->virgin, 0xff, e->size);
		return -1;
	}
	fclose(f);
	e->edges = 0;
	for (size_t i = 0; i < e->size; i++)
		e->edges += e->virgin[i] != 0xff;
	return 0;
}

int edgemap_save(const struct edgemap *e, const char *path)
{
	FILE *f = fopen(path, "wb");
	int rc;

	if (!f)
		return -1;
	rc = fwrite(e->virgin, 1, e->size, f) == e->size ? 0 : -1;
	return fclose(f) == 0 ? rc : -1;
}

int edgemap_beside(struct edgemap *e, const char *states, bool save)
{
	char path[4096];

	if (!e->trace || !states)
		return 0;
	if ((size_t)snprintf(path, sizeof(path), "%s.edges", states) >= sizeof(path))
		return -1;
	return save ? edgemap_save(e, path) : edgemap_load(e, path);
}

void edgemap_started(struct edgemap *e)
{
	unsigned long before = e->new_bits;

	edgemap_take(e);
	e->new_bits = before;
}

void edgemap_close(struct edgemap *e)
{
	if (e->trace)
		shmdt(e->trace);
	free(e->virgin);
	e->trace = e->virgin = NULL;
	unsetenv("__AFL_SHM_ID");
	unsetenv("AFL_MAP_SIZE");
}
