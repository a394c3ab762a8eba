/* SPDX-License-Identifier: MIT */
/*
 * oracle: what a local target really did, read from /proc/PID/maps and
 * /proc/PID/fd.
 *
 * The parsing and matching functions are pure (they take text) so they
 * can be tested on samples; the oracle_read_* / oracle_scan_* functions
 * are the only ones that touch /proc.
 */
#ifndef VHU_ORACLE_H
#define VHU_ORACLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define ORACLE_PATH_MAX 512

/* One line of /proc/PID/maps. */
struct oracle_map {
	uint64_t start, end;    /* [start, end) */
	char perms[5];          /* "rw-s" */
	uint64_t offset;        /* file offset */
	unsigned dev_major, dev_minor;
	uint64_t inode;
	char path[ORACLE_PATH_MAX]; /* "" for anonymous; keeps " (deleted)" */
};

/* Parses one line (without or with its newline; len bytes). 0 or
 * -EINVAL. A path longer than the field is truncated. */
int oracle_parse_maps_line(const char *line, size_t len, struct oracle_map *m);

/* Which mappings to select: path must equal exactly; perms, offset and
 * len (end - start) are optional filters. */
struct oracle_filter {
	const char *path;
	const char *perms;      /* NULL: any */
	bool has_offset;
	uint64_t offset;
	bool has_len;
	uint64_t len;
};

/* Counts the mappings of maps text (many lines) that pass f, copying the
 * first `max` of them to out (out may be NULL). Returns the count, or
 * -EINVAL when a line does not parse. */
int oracle_maps_select(const char *text, const struct oracle_filter *f,
		       struct oracle_map *out, unsigned max);
/* The number of shared mappings (perms ending in 's'), or -EINVAL. */
int oracle_maps_count_shared(const char *text);

/* "/memfd:NAME (deleted)": the path maps and fd links show for a memfd
 * created with memfd_create(NAME). */
void oracle_memfd_path(const char *memfd_name, char *out, size_t cap);
/* The NAME of a memfd path or link, "" when it is not one. Returns true
 * for a memfd. */
bool oracle_memfd_name(const char *path, char *out, size_t cap);

/* ---- /proc readers ---- */

/* The whole /proc/PID/maps text, malloc'd and NUL-terminated; NULL with
 * *err = -errno on failure. */
char *oracle_read_maps(pid_t pid, int *err);
/* Walks /proc/PID/fd: *total open fds, *match of them whose link equals
 * link (link may be NULL). 0 or -errno. */
int oracle_scan_fds(pid_t pid, const char *link, unsigned *match,
		    unsigned *total);
/* What /proc/self/fd/FD links to: the text to look for in another
 * process. 0 or -errno. */
int oracle_self_link(int fd, char *out, size_t cap);

#endif
