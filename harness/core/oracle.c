/* SPDX-License-Identifier: MIT */
#include "oracle.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Parses a hex number at *p, advancing it; false when there is none. */
static bool hex_field(const char **p, const char *end, uint64_t *out)
{
	uint64_t v = 0;
	const char *s = *p;

	if (s >= end)
		return false;
	while (s < end) {
		int d;
		char c = *s;

		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			break;
		if (v >> 60)
			return false;
		v = v << 4 | (uint64_t)d;
		s++;
	}
	if (s == *p)
		return false;
	*p = s;
	*out = v;
	return true;
}

static bool dec_field(const char **p, const char *end, uint64_t *out)
{
	uint64_t v = 0;
	const char *s = *p;

	while (s < end && *s >= '0' && *s <= '9') {
		if (v > (UINT64_MAX - 9) / 10)
			return false;
		v = v * 10 + (uint64_t)(*s - '0');
		s++;
	}
	if (s == *p)
		return false;
	*p = s;
	*out = v;
	return true;
}

static bool expect_char(const char **p, const char *end, char c)
{
	if (*p >= end || **p != c)
		return false;
	(*p)++;
	return true;
}

static void skip_spaces(const char **p, const char *end)
{
	while (*p < end && (**p == ' ' || **p == '\t'))
		(*p)++;
}

/* "start-end perms " */
static bool parse_range_perms(const char **p, const char *end,
			      struct oracle_map *m)
{
	if (!hex_field(p, end, &m->start) || !expect_char(p, end, '-') ||
	    !hex_field(p, end, &m->end) || !expect_char(p, end, ' '))
		return false;
	if (end - *p < 5 || (*p)[4] != ' ')
		return false;
	memcpy(m->perms, *p, 4);
	m->perms[4] = '\0';
	*p += 5;
	return m->end >= m->start;
}

/* "offset maj:min inode" */
static bool parse_offset_dev_inode(const char **p, const char *end,
				   struct oracle_map *m)
{
	uint64_t maj, min;

	if (!hex_field(p, end, &m->offset) || !expect_char(p, end, ' ') ||
	    !hex_field(p, end, &maj) || !expect_char(p, end, ':') ||
	    !hex_field(p, end, &min) || !expect_char(p, end, ' ') ||
	    !dec_field(p, end, &m->inode))
		return false;
	m->dev_major = (unsigned)maj;
	m->dev_minor = (unsigned)min;
	return true;
}

int oracle_parse_maps_line(const char *line, size_t len, struct oracle_map *m)
{
	const char *p = line, *end = line + len;
	size_t plen;

	memset(m, 0, sizeof(*m));
	while (end > p && (end[-1] == '\n' || end[-1] == '\r'))
		end--;
	if (!parse_range_perms(&p, end, m) || !parse_offset_dev_inode(&p, end, m))
		return -EINVAL;
	if (p < end && *p != ' ' && *p != '\t')
		return -EINVAL;
	skip_spaces(&p, end);
	/* The path is the rest of the line, spaces and all. */
	plen = (size_t)(end - p);
	if (plen >= sizeof(m->path))
		plen = sizeof(m->path) - 1;
	memcpy(m->path, p, plen);
	m->path[plen] = '\0';
	return 0;
}

static bool filter_pass(const struct oracle_map *m,
			const struct oracle_filter *f)
{
	if (f->path && strcmp(m->path, f->path) != 0)
		return false;
	if (f->perms && strcmp(m->perms, f->perms) != 0)
		return false;
	if (f->has_offset && m->offset != f->offset)
		return false;
	if (f->has_len && m->end - m->start != f->len)
		return false;
	return true;
}

/* Walks maps text line by line: counts the mappings keep() accepts and
 * copies the first max of them to out (out may be NULL). */
static int maps_walk(const char *text,
		     bool (*keep)(const struct oracle_map *, const void *),
		     const void *arg, struct oracle_map *out, unsigned max)
{
	struct oracle_map m;
	int count = 0;

	while (*text) {
		const char *nl = strchr(text, '\n');
		size_t len = nl ? (size_t)(nl - text) : strlen(text);

		if (len > 0) {
			if (oracle_parse_maps_line(text, len, &m) < 0)
				return -EINVAL;
			if (keep(&m, arg)) {
				if (out && (unsigned)count < max)
					out[count] = m;
				count++;
			}
		}
		text += len + (nl ? 1 : 0);
	}
	return count;
}

static bool keep_filtered(const struct oracle_map *m, const void *f)
{
	return filter_pass(m, f);
}

static bool keep_shared(const struct oracle_map *m, const void *unused)
{
	(void)unused;
	return m->perms[3] == 's';
}

int oracle_maps_select(const char *text, const struct oracle_filter *f,
		       struct oracle_map *out, unsigned max)
{
	return maps_walk(text, keep_filtered, f, out, max);
}

int oracle_maps_count_shared(const char *text)
{
	return maps_walk(text, keep_shared, NULL, NULL, 0);
}

void oracle_memfd_path(const char *memfd_name, char *out, size_t cap)
{
	snprintf(out, cap, "/memfd:%s (deleted)", memfd_name);
}

bool oracle_memfd_name(const char *path, char *out, size_t cap)
{
	static const char pre[] = "/memfd:", suf[] = " (deleted)";
	size_t n = strlen(path);

	if (cap > 0)
		out[0] = '\0';
	if (strncmp(path, pre, sizeof(pre) - 1) != 0)
		return false;
	path += sizeof(pre) - 1;
	n -= sizeof(pre) - 1;
	if (n >= sizeof(suf) - 1 &&
	    strcmp(path + n - (sizeof(suf) - 1), suf) == 0)
		n -= sizeof(suf) - 1;
	if (cap > 0)
		snprintf(out, cap, "%.*s", (int)n, path);
	return true;
}

char *oracle_read_maps(pid_t pid, int *err)
{
	char path[64], *buf = NULL;
	size_t len = 0, cap = 0;
	int fd;

	snprintf(path, sizeof(path), "/proc/%ld/maps", (long)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		*err = -errno;
		return NULL;
	}
	for (;;) {
		if (cap - len < 4096) {
			char *nb = realloc(buf, cap ? cap * 2 : 16384);

			if (!nb) {
				*err = -ENOMEM;
				break;
			}
			buf = nb;
			cap = cap ? cap * 2 : 16384;
		}
		ssize_t n = read(fd, buf + len, cap - len - 1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n < 0)
				*err = -errno;
			else {
				buf[len] = '\0';
				close(fd);
				return buf;
			}
			break;
		}
		len += (size_t)n;
	}
	close(fd);
	free(buf);
	return NULL;
}

int oracle_scan_fds(pid_t pid, const char *link, unsigned *match,
		    unsigned *total)
{
	char dirpath[64], target[ORACLE_PATH_MAX];
	struct dirent *de;
	DIR *d;

	*match = 0;
	*total = 0;
	snprintf(dirpath, sizeof(dirpath), "/proc/%ld/fd", (long)pid);
	d = opendir(dirpath);
	if (!d)
		return -errno;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		(*total)++;
		if (!link)
			continue;
		ssize_t n = readlinkat(dirfd(d), de->d_name, target,
				       sizeof(target) - 1);

		if (n < 0)
			continue; /* closed while we looked */
		target[n] = '\0';
		if (strcmp(target, link) == 0)
			(*match)++;
	}
	closedir(d);
	return 0;
}

int oracle_self_link(int fd, char *out, size_t cap)
{
	char lpath[64];
	ssize_t n;

	if (cap == 0)
		return -EINVAL;
	snprintf(lpath, sizeof(lpath), "/proc/self/fd/%d", fd);
	n = readlink(lpath, out, cap - 1);
	if (n < 0)
		return -errno;
	out[n] = '\0';
	return 0;
}
