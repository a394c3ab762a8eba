/* SPDX-License-Identifier: MIT */
/*
 * tracefile: writing, reading and printing the monitor's recordings.
 * The format is in tracefile.h; encode/decode are pure so the unit tests
 * and fuzzers can check them without files.
 */
#include "tracefile.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "result.h"
#include "protoname.h"
#include "protofmt.h"

#define ALIGN8(n) (((n) + 7u) & ~(size_t)7u)

static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }
static uint16_t get16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static uint32_t get32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t get64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

/* ---- fd descriptions ---- */

static const char *const kind_names[] = {
	[TRACEFILE_FD_UNKNOWN] = "unknown", [TRACEFILE_FD_MEMFD] = "memfd",
	[TRACEFILE_FD_FILE] = "file",       [TRACEFILE_FD_PIPE] = "pipe",
	[TRACEFILE_FD_SOCKET] = "socket",   [TRACEFILE_FD_ANON] = "anon",
	[TRACEFILE_FD_CHARDEV] = "chardev", [TRACEFILE_FD_OTHER] = "other",
};

const char *tracefile_fd_kind_name(unsigned kind)
{
	return kind < sizeof(kind_names) / sizeof(kind_names[0])
		       ? kind_names[kind]
		       : "unknown";
}

const char *tracefile_from_name(unsigned from)
{
	switch (from) {
	case TRACEFILE_FROM_FRONTEND: return "frontend";
	case TRACEFILE_FROM_BACKEND: return "backend";
	case TRACEFILE_FROM_MONITOR: return "monitor";
	}
	return "unknown";
}

static uint8_t kind_of(const struct stat *st, const char *name)
{
	if (S_ISREG(st->st_mode))
		return strncmp(name, "/memfd:", 7) == 0 ? TRACEFILE_FD_MEMFD
							 : TRACEFILE_FD_FILE;
	if (S_ISFIFO(st->st_mode))
		return TRACEFILE_FD_PIPE;
	if (S_ISSOCK(st->st_mode))
		return TRACEFILE_FD_SOCKET;
	if (S_ISCHR(st->st_mode))
		return TRACEFILE_FD_CHARDEV;
	if (strncmp(name, "anon_inode:", 11) == 0)
		return TRACEFILE_FD_ANON;
	return TRACEFILE_FD_OTHER;
}

int tracefile_describe_fd(int fd, struct tracefile_fd *out)
{
	char link[64];
	struct stat st;
	ssize_t n;
	int fl, seals;

	memset(out, 0, sizeof(*out));
	if (fstat(fd, &st) < 0)
		return -errno;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, out->name, sizeof(out->name) - 1);
	out->name[n > 0 ? n : 0] = '\0';
	out->kind = kind_of(&st, out->name);
	out->size = S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0;
	fl = fcntl(fd, F_GETFL);
	out->accmode = fl < 0 ? 0 : (uint8_t)(fl & O_ACCMODE);
	seals = fcntl(fd, F_GET_SEALS);
	out->seals = seals < 0 ? 0 : (uint32_t)seals;
	return 0;
}

/* ---- encoding ---- */

static size_t fd_size(const struct tracefile_fd *f)
{
	return TRACEFILE_FD_HDR_SIZE + ALIGN8(strnlen(f->name, TRACEFILE_FD_NAME_MAX - 1));
}

static size_t rec_size(const struct tracefile_rec *r)
{
	size_t n = TRACEFILE_REC_HDR_SIZE + ALIGN8(r->data_len);

	for (unsigned i = 0; i < r->nfds; i++)
		n += fd_size(&r->fds[i]);
	return n;
}

static size_t encode_fd(const struct tracefile_fd *f, uint8_t *p)
{
	size_t nl = strnlen(f->name, TRACEFILE_FD_NAME_MAX - 1);

	p[0] = f->kind;
	p[1] = f->accmode;
	put16(p + 2, (uint16_t)nl);
	put32(p + 4, f->seals);
	put64(p + 8, f->size);
	memcpy(p + TRACEFILE_FD_HDR_SIZE, f->name, nl);
	return fd_size(f);
}

long tracefile_encode(const struct tracefile_rec *r, uint8_t *out, size_t cap)
{
	size_t n, pos = TRACEFILE_REC_HDR_SIZE;

	if (r->nfds > PROTO_MAX_FDS || r->data_len > TRACEFILE_DATA_MAX)
		return -EINVAL;
	n = rec_size(r);
	if (n > cap)
		return -ENOSPC;
	memset(out, 0, n);
	put32(out, (uint32_t)n);
	out[4] = r->type;
	out[5] = r->chan;
	out[6] = r->from;
	out[7] = r->flags;
	put32(out + 8, (uint32_t)r->status);
	put32(out + 12, r->nfds);
	put64(out + 16, r->t_ns);
	put32(out + 24, (uint32_t)r->data_len);
	for (unsigned i = 0; i < r->nfds; i++)
		pos += encode_fd(&r->fds[i], out + pos);
	memcpy(out + pos, r->data, r->data_len);
	return (long)n;
}

/* One fd description at p (avail bytes): its size, or -EINVAL. */
static long decode_fd(const uint8_t *p, size_t avail, struct tracefile_fd *f)
{
	size_t nl, n;

	if (avail < TRACEFILE_FD_HDR_SIZE)
		return -EINVAL;
	nl = get16(p + 2);
	n = TRACEFILE_FD_HDR_SIZE + ALIGN8(nl);
	if (nl >= TRACEFILE_FD_NAME_MAX || n > avail)
		return -EINVAL;
	memset(f, 0, sizeof(*f));
	f->kind = p[0];
	f->accmode = p[1];
	f->seals = get32(p + 4);
	f->size = get64(p + 8);
	memcpy(f->name, p + TRACEFILE_FD_HDR_SIZE, nl);
	return (long)n;
}

long tracefile_decode(const uint8_t *in, size_t len, struct tracefile_rec *r)
{
	size_t size, pos = TRACEFILE_REC_HDR_SIZE;

	if (len == 0)
		return -ENODATA;
	if (len < TRACEFILE_REC_HDR_SIZE)
		return -EINVAL;
	size = get32(in);
	if (size < TRACEFILE_REC_HDR_SIZE || size > len || size % 8)
		return -EINVAL;
	r->type = in[4];
	r->chan = in[5];
	r->from = in[6];
	r->flags = in[7];
	r->status = (int32_t)get32(in + 8);
	r->nfds = get32(in + 12);
	r->t_ns = get64(in + 16);
	r->data_len = get32(in + 24);
	if (r->nfds > PROTO_MAX_FDS || r->data_len > TRACEFILE_DATA_MAX)
		return -EINVAL;
	for (unsigned i = 0; i < r->nfds; i++) {
		long n = decode_fd(in + pos, size - pos, &r->fds[i]);

		if (n < 0)
			return n;
		pos += (size_t)n;
	}
	if (pos + ALIGN8(r->data_len) != size)
		return -EINVAL;
	memcpy(r->data, in + pos, r->data_len);
	return (long)size;
}

/* ---- writing ---- */

int64_t tracefile_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t k = write(fd, p, n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

int tracefile_create(struct tracefile_writer *w, const char *path,
		     unsigned shmem_bit)
{
	uint8_t hdr[TRACEFILE_HDR_SIZE] = { 0 };
	struct timespec rt;
	int rc;

	w->error = 0;
	w->t0_ns = tracefile_now_ns();
	w->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (w->fd < 0)
		return -errno;
	clock_gettime(CLOCK_REALTIME, &rt);
	memcpy(hdr, TRACEFILE_MAGIC, 8);
	put32(hdr + 8, TRACEFILE_VERSION);
	put32(hdr + 12, shmem_bit);
	put64(hdr + 16, (uint64_t)rt.tv_sec * 1000000000u + (uint64_t)rt.tv_nsec);
	rc = write_all(w->fd, hdr, sizeof(hdr));
	if (rc < 0) {
		close(w->fd);
		w->fd = -1;
	}
	return rc;
}

int tracefile_write(struct tracefile_writer *w, const struct tracefile_rec *r)
{
	/* The largest record: 8 fds with full names and a full message. */
	uint8_t buf[TRACEFILE_REC_HDR_SIZE +
		    PROTO_MAX_FDS * (TRACEFILE_FD_HDR_SIZE + TRACEFILE_FD_NAME_MAX) +
		    TRACEFILE_DATA_MAX + 8];
	long n;
	int rc;

	if (w->fd < 0)
		return -EBADF;
	n = tracefile_encode(r, buf, sizeof(buf));
	rc = n < 0 ? (int)n : write_all(w->fd, buf, (size_t)n);
	if (rc < 0 && !w->error)
		w->error = rc;
	return rc;
}

int tracefile_note(struct tracefile_writer *w, unsigned chan, const char *text)
{
	struct tracefile_rec r;
	size_t n = strlen(text);

	memset(&r, 0, offsetof(struct tracefile_rec, data));
	r.type = TRACEFILE_NOTE;
	r.chan = (uint8_t)chan;
	r.from = TRACEFILE_FROM_MONITOR;
	r.t_ns = (uint64_t)(tracefile_now_ns() - w->t0_ns);
	r.data_len = n < TRACEFILE_DATA_MAX ? n : TRACEFILE_DATA_MAX;
	memcpy(r.data, text, r.data_len);
	return tracefile_write(w, &r);
}

int tracefile_close(struct tracefile_writer *w)
{
	if (w->fd >= 0 && close(w->fd) < 0 && !w->error)
		w->error = -errno;
	w->fd = -1;
	return w->error;
}

/* ---- reading ---- */

static int read_file(const char *path, uint8_t **buf, size_t *len)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc = 0;
	size_t got = 0;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || st.st_size < 0 || (uint64_t)st.st_size > SIZE_MAX / 2) {
		close(fd);
		return -EFBIG;
	}
	*buf = malloc((size_t)st.st_size + 1);
	if (!*buf) {
		close(fd);
		return -ENOMEM;
	}
	while (got < (size_t)st.st_size) {
		ssize_t k = read(fd, *buf + got, (size_t)st.st_size - got);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			rc = k < 0 ? -errno : 0;
			break;
		}
		got += (size_t)k;
	}
	close(fd);
	*len = got;
	if (rc < 0) {
		free(*buf);
		*buf = NULL;
	}
	return rc;
}

int tracefile_open(struct tracefile_reader *rd, const char *path, char *err,
		   size_t errcap)
{
	int rc;

	memset(rd, 0, sizeof(*rd));
	rc = read_file(path, &rd->buf, &rd->len);
	if (rc < 0) {
		snprintf(err, errcap, "%s: %s", path, strerror(-rc));
		return rc;
	}
	if (rd->len < TRACEFILE_HDR_SIZE || memcmp(rd->buf, TRACEFILE_MAGIC, 8)) {
		snprintf(err, errcap, "%s: not a vhucheck trace file", path);
		tracefile_free(rd);
		return -EINVAL;
	}
	rd->version = get32(rd->buf + 8);
	rd->shmem_bit = get32(rd->buf + 12);
	rd->start_realtime_ns = get64(rd->buf + 16);
	if (rd->version != TRACEFILE_VERSION) {
		snprintf(err, errcap, "%s: trace version %u, this reads %u", path,
			 rd->version, TRACEFILE_VERSION);
		tracefile_free(rd);
		return -EINVAL;
	}
	rd->pos = TRACEFILE_HDR_SIZE;
	return 0;
}

int tracefile_next(struct tracefile_reader *rd, struct tracefile_rec *r)
{
	long n = tracefile_decode(rd->buf + rd->pos, rd->len - rd->pos, r);

	if (n == -ENODATA)
		return 0;
	if (n < 0)
		return -EINVAL;
	rd->pos += (size_t)n;
	return 1;
}

void tracefile_free(struct tracefile_reader *rd)
{
	free(rd->buf);
	rd->buf = NULL;
	rd->len = rd->pos = 0;
}

/* ---- printing ---- */

static const char *arrow(const struct tracefile_rec *r)
{
	switch (r->from) {
	case TRACEFILE_FROM_FRONTEND: return "FE->BE";
	case TRACEFILE_FROM_BACKEND: return "BE->FE";
	default: return r->chan == PROTO_CHAN_BACKEND ? "MON->FE" : "MON";
	}
}

static void fmt_flags(char *out, size_t cap, size_t *pos, unsigned fl)
{
	static const char *const names[] = { "dropped", "injected", "corrupted",
					     "delayed", "duplicate", "swallowed" };

	for (unsigned i = 0; i < 6; i++)
		if (fl & (1u << i))
			proto_appendf(out, cap, pos, " [%s]", names[i]);
}

static void fmt_fds(char *out, size_t cap, size_t *pos,
		    const struct tracefile_rec *r)
{
	for (unsigned i = 0; i < r->nfds; i++) {
		const struct tracefile_fd *f = &r->fds[i];

		proto_appendf(out, cap, pos, " fd%u=%s", i, tracefile_fd_kind_name(f->kind));
		if (f->kind == TRACEFILE_FD_MEMFD || f->kind == TRACEFILE_FD_FILE)
			proto_appendf(out, cap, pos, ":size=0x%" PRIx64, f->size);
		if (f->seals)
			proto_appendf(out, cap, pos, ":seals=0x%" PRIx32, f->seals);
		if (f->name[0])
			proto_appendf(out, cap, pos, ":\"%s\"", f->name);
	}
}

/* A message record: decoded header and payload. */
static void fmt_message(char *out, size_t cap, size_t *pos,
			const struct tracefile_rec *r)
{
	struct proto_hdr h;
	const char *name;
	size_t plen;

	if (r->data_len < PROTO_HDR_SIZE) {
		proto_appendf(out, cap, pos, "partial header, %zu bytes", r->data_len);
		return;
	}
	proto_hdr_decode(r->data, r->data_len, &h);
	name = proto_req_name((enum proto_chan)r->chan, h.request);
	if (name)
		proto_appendf(out, cap, pos, "%s", name);
	else
		proto_appendf(out, cap, pos, "request_%" PRIu32, h.request);
	proto_appendf(out, cap, pos, " flags=0x%" PRIx32 "%s%s size=%" PRIu32 " fds=%u",
		      h.flags, (h.flags & PROTO_F_REPLY) ? "(REPLY)" : "",
		      (h.flags & PROTO_F_NEED_REPLY) ? "(NEED_REPLY)" : "", h.size,
		      r->nfds);
	plen = r->data_len - PROTO_HDR_SIZE;
	if (plen) {
		proto_appendf(out, cap, pos, " ");
		*pos += (size_t)proto_format_payload(
			(enum proto_chan)r->chan, &h, r->data + PROTO_HDR_SIZE, plen,
			*pos < cap ? out + *pos : NULL, *pos < cap ? cap - *pos : 0);
	}
}

int tracefile_format(const struct tracefile_rec *r, char *out, size_t cap)
{
	uint64_t ms = r->t_ns / 1000000u;
	size_t pos = 0;

	if (cap)
		out[0] = '\0';
	proto_appendf(out, cap, &pos, "+%" PRIu64 ".%04" PRIu64 "s %-7s %-6s ",
		      ms / 1000, (r->t_ns / 100000u) % 10000,
		      r->chan == PROTO_CHAN_BACKEND ? "backend" : "main", arrow(r));
	if (r->type == TRACEFILE_NOTE)
		proto_appendf(out, cap, &pos, "# %.*s", (int)r->data_len,
			      (const char *)r->data);
	else
		fmt_message(out, cap, &pos, r);
	if (r->type == TRACEFILE_MSG && r->status != 0)
		proto_appendf(out, cap, &pos, " [status %" PRId32 "]", r->status);
	fmt_flags(out, cap, &pos, r->flags);
	fmt_fds(out, cap, &pos, r);
	return pos > (size_t)INT_MAX ? INT_MAX : (int)pos;
}

/* ---- JSON ---- */

static void json_str(char *out, size_t cap, size_t *pos, const char *s, size_t n)
{
	proto_appendf(out, cap, pos, "\"");
	*pos += result_json_escape(s, n, *pos < cap ? out + *pos : NULL,
				   *pos < cap ? cap - *pos : 0);
	proto_appendf(out, cap, pos, "\"");
}

static void json_fds(char *out, size_t cap, size_t *pos,
		     const struct tracefile_rec *r)
{
	proto_appendf(out, cap, pos, ",\"fds\":[");
	for (unsigned i = 0; i < r->nfds; i++) {
		const struct tracefile_fd *f = &r->fds[i];

		proto_appendf(out, cap, pos,
			      "%s{\"kind\":\"%s\",\"accmode\":%u,\"seals\":%" PRIu32
			      ",\"size\":%" PRIu64 ",\"name\":",
			      i ? "," : "", tracefile_fd_kind_name(f->kind), f->accmode,
			      f->seals, f->size);
		json_str(out, cap, pos, f->name, strlen(f->name));
		proto_appendf(out, cap, pos, "}");
	}
	proto_appendf(out, cap, pos, "]");
}

static void json_hex(char *out, size_t cap, size_t *pos, const uint8_t *p,
		     size_t n)
{
	proto_appendf(out, cap, pos, ",\"hex\":\"");
	for (size_t i = 0; i < n; i++)
		proto_appendf(out, cap, pos, "%02x", p[i]);
	proto_appendf(out, cap, pos, "\"");
}

/* The payload's fields, decoded here by proto.c so that nothing reading
 * --trace-json decodes the bytes again: "u64" for any 8-byte payload,
 * "mmap" for a SHMEM_MAP/UNMAP, "shmem_config" for a GET_SHMEM_CONFIG
 * reply (sizes up to the last non-zero one), "mem_table" for a
 * SET_MEM_TABLE. A payload that does not decode gets none of them. */
static void json_decoded(char *out, size_t cap, size_t *pos,
			 const struct tracefile_rec *r, const struct proto_hdr *h)
{
	const uint8_t *p = r->data + PROTO_HDR_SIZE;
	size_t n = r->data_len - PROTO_HDR_SIZE;
	bool backend = r->chan == PROTO_CHAN_BACKEND;
	union {
		uint64_t v;
		struct proto_mmap m;
		struct proto_shmem_config c;
		struct proto_mem_table t;
	} d;

	if (n == 8 && proto_u64_decode(p, n, &d.v) == PROTO_OK)
		proto_appendf(out, cap, pos, ",\"u64\":%" PRIu64, d.v);
	if (backend && (h->request == PROTO_BE_SHMEM_MAP ||
			h->request == PROTO_BE_SHMEM_UNMAP) &&
	    !(h->flags & PROTO_F_REPLY) && proto_mmap_decode(p, n, &d.m) == PROTO_OK) {
		proto_appendf(out, cap, pos, ",\"mmap\":{\"shmid\":%u,\"padding\":\"",
			      d.m.shmid);
		for (size_t i = 0; i < sizeof(d.m.padding); i++)
			proto_appendf(out, cap, pos, "%02x", d.m.padding[i]);
		proto_appendf(out, cap, pos, "\",\"fd_offset\":%" PRIu64 ",\"shm_offset\":%"
			      PRIu64 ",\"len\":%" PRIu64 ",\"flags\":%" PRIu64 "}",
			      d.m.fd_offset, d.m.shm_offset, d.m.len, d.m.flags);
	} else if (!backend && h->request == PROTO_GET_SHMEM_CONFIG &&
		   (h->flags & PROTO_F_REPLY) &&
		   proto_shmem_config_decode(p, n, &d.c) == PROTO_OK) {
		unsigned last = PROTO_SHMEM_MAX_REGIONS;

		while (last && !d.c.memory_sizes[last - 1])
			last--;
		proto_appendf(out, cap, pos, ",\"shmem_config\":{\"nregions\":%" PRIu32
			      ",\"sizes\":[", d.c.nregions);
		for (unsigned i = 0; i < last; i++)
			proto_appendf(out, cap, pos, "%s%" PRIu64, i ? "," : "",
				      d.c.memory_sizes[i]);
		proto_appendf(out, cap, pos, "]}");
	} else if (!backend && h->request == PROTO_SET_MEM_TABLE &&
		   !(h->flags & PROTO_F_REPLY) &&
		   proto_mem_table_decode(p, n, &d.t) == PROTO_OK) {
		proto_appendf(out, cap, pos, ",\"mem_table\":[");
		for (unsigned i = 0; i < d.t.nregions && i < PROTO_MAX_MEM_REGIONS; i++)
			proto_appendf(out, cap, pos, "%s{\"gpa\":%" PRIu64 ",\"size\":%"
				      PRIu64 ",\"uaddr\":%" PRIu64 ",\"mmap_offset\":%" PRIu64 "}",
				      i ? "," : "", d.t.regions[i].guest_phys_addr,
				      d.t.regions[i].memory_size, d.t.regions[i].userspace_addr,
				      d.t.regions[i].mmap_offset);
		proto_appendf(out, cap, pos, "]");
	}
}

static void json_message(char *out, size_t cap, size_t *pos,
			 const struct tracefile_rec *r)
{
	char text[1024];
	struct proto_hdr h;
	const char *name;
	size_t plen;

	if (r->data_len < PROTO_HDR_SIZE)
		return;
	proto_hdr_decode(r->data, r->data_len, &h);
	name = proto_req_name((enum proto_chan)r->chan, h.request);
	plen = r->data_len - PROTO_HDR_SIZE;
	proto_appendf(out, cap, pos,
		      ",\"request\":%" PRIu32 ",\"name\":\"%s\",\"hdr_flags\":%" PRIu32
		      ",\"size\":%" PRIu32 ",\"payload_len\":%zu,\"is_reply\":%s",
		      h.request, name ? name : "", h.flags, h.size, plen,
		      (h.flags & PROTO_F_REPLY) ? "true" : "false");
	proto_format_payload((enum proto_chan)r->chan, &h, r->data + PROTO_HDR_SIZE,
			     plen, text, sizeof(text));
	proto_appendf(out, cap, pos, ",\"text\":");
	json_str(out, cap, pos, text, strlen(text));
	json_decoded(out, cap, pos, r, &h);
}

int tracefile_format_json(const struct tracefile_rec *r, unsigned shmem_bit,
			  char *out, size_t cap)
{
	size_t pos = 0;

	if (cap)
		out[0] = '\0';
	proto_appendf(out, cap, &pos,
		      "{\"type\":\"%s\",\"chan\":\"%s\",\"from\":\"%s\",\"flags\":%u,"
		      "\"status\":%" PRId32 ",\"t_ns\":%" PRIu64 ",\"shmem_bit\":%u",
		      r->type == TRACEFILE_NOTE ? "note" : "msg",
		      r->chan == PROTO_CHAN_BACKEND ? "backend" : "main",
		      tracefile_from_name(r->from), r->flags, r->status, r->t_ns,
		      shmem_bit);
	if (r->type == TRACEFILE_NOTE) {
		proto_appendf(out, cap, &pos, ",\"note\":");
		json_str(out, cap, &pos, (const char *)r->data, r->data_len);
	} else {
		json_message(out, cap, &pos, r);
		json_hex(out, cap, &pos, r->data, r->data_len);
	}
	json_fds(out, cap, &pos, r);
	proto_appendf(out, cap, &pos, "}");
	return pos > (size_t)INT_MAX ? INT_MAX : (int)pos;
}
