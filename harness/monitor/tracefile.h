/* SPDX-License-Identifier: MIT */
/*
 * tracefile: the monitor's recording of a vhost-user session, both
 * channels, both directions, every byte of every message, the fds each
 * message carried described (not their contents), and notes (findings,
 * control-channel lines, fault actions) in time order.
 *
 * Binary, host byte order (vhost-user is AF_UNIX only, so a trace is
 * read on the kind of machine that wrote it); every record is 8-byte
 * aligned. Layout (docs/monitor.md has the same with examples):
 *
 *   file header, 32 bytes:
 *     char magic[8] "VHUTRACE"   u32 version (1)   u32 shmem_bit
 *     u64 start_realtime_ns      u64 reserved (0)
 *   then records until end of file, each:
 *     u32 rec_size (whole record, header included, multiple of 8)
 *     u8 type   (1 message, 2 note)
 *     u8 chan   (0 main, 1 back-end channel)
 *     u8 from   (0 front-end, 1 back-end, 2 the monitor itself)
 *     u8 flags  (TRACEFILE_F_*)
 *     i32 status (enum chan_status, or -errno)
 *     u32 nfds
 *     u64 t_ns  (monotonic, since the session started)
 *     u32 data_len   u32 reserved (0)
 *     nfds fd descriptions, each 16 bytes + name padded to 8:
 *       u8 kind (TRACEFILE_FD_*)  u8 accmode (0 r, 1 w, 2 rw)
 *       u16 name_len  u32 seals (memfd F_GET_SEALS, else 0)  u64 size
 *       char name[name_len]  (readlink of /proc/self/fd/N)
 *     data: data_len bytes padded to 8 (a message: the 12-byte header
 *     and the payload as received; a note: UTF-8 text).
 */
#ifndef VHU_TRACEFILE_H
#define VHU_TRACEFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto.h"

#define TRACEFILE_MAGIC "VHUTRACE"
#define TRACEFILE_VERSION 1u
#define TRACEFILE_HDR_SIZE 32u
#define TRACEFILE_REC_HDR_SIZE 32u
#define TRACEFILE_FD_HDR_SIZE 16u
#define TRACEFILE_FD_NAME_MAX 128u
#define TRACEFILE_DATA_MAX (PROTO_HDR_SIZE + PROTO_MAX_PAYLOAD)

enum tracefile_type {
	TRACEFILE_MSG = 1,
	TRACEFILE_NOTE = 2,
};

enum tracefile_from {
	TRACEFILE_FROM_FRONTEND = 0,
	TRACEFILE_FROM_BACKEND = 1,
	TRACEFILE_FROM_MONITOR = 2,
};

/* What the monitor did to a message (fault rules). */
#define TRACEFILE_F_DROPPED 0x01u   /* not forwarded */
#define TRACEFILE_F_INJECTED 0x02u  /* made by the monitor */
#define TRACEFILE_F_CORRUPTED 0x04u /* forwarded with bytes changed; the
				       record holds what was sent */
#define TRACEFILE_F_DELAYED 0x08u
#define TRACEFILE_F_DUPLICATE 0x10u /* a second copy the monitor sent */
#define TRACEFILE_F_SWALLOWED 0x20u /* a reply to an injected request */

enum tracefile_fd_kind {
	TRACEFILE_FD_UNKNOWN = 0,
	TRACEFILE_FD_MEMFD = 1,
	TRACEFILE_FD_FILE = 2,      /* another regular file */
	TRACEFILE_FD_PIPE = 3,
	TRACEFILE_FD_SOCKET = 4,
	TRACEFILE_FD_ANON = 5,      /* anon_inode: eventfd, ... */
	TRACEFILE_FD_CHARDEV = 6,
	TRACEFILE_FD_OTHER = 7,
};

struct tracefile_fd {
	uint8_t kind;
	uint8_t accmode;
	uint32_t seals;
	uint64_t size;
	char name[TRACEFILE_FD_NAME_MAX]; /* NUL-terminated */
};

struct tracefile_rec {
	uint8_t type, chan, from, flags;
	int32_t status;
	uint64_t t_ns;
	unsigned nfds;
	struct tracefile_fd fds[PROTO_MAX_FDS];
	size_t data_len;
	uint8_t data[TRACEFILE_DATA_MAX];
};

/* Describes an open fd of this process (fstat, /proc/self/fd readlink,
 * F_GET_SEALS). 0 or -errno (a closed fd: kind UNKNOWN, -EBADF). */
int tracefile_describe_fd(int fd, struct tracefile_fd *out);
const char *tracefile_fd_kind_name(unsigned kind);
const char *tracefile_from_name(unsigned from);

struct tracefile_writer {
	int fd;
	int64_t t0_ns;          /* monotonic ns at creation */
	int error;              /* first write error (-errno), sticky */
};

/* Monotonic nanoseconds, the clock of t_ns. */
int64_t tracefile_now_ns(void);

/* Creates (truncates) path and writes the file header. 0 or -errno. */
int tracefile_create(struct tracefile_writer *w, const char *path,
		     unsigned shmem_bit);
/* Appends one record (one write()). 0 or -errno. */
int tracefile_write(struct tracefile_writer *w, const struct tracefile_rec *r);
/* A note record from the monitor at now. 0 or -errno. */
int tracefile_note(struct tracefile_writer *w, unsigned chan, const char *text);
/* Closes; returns the first error seen, or 0. */
int tracefile_close(struct tracefile_writer *w);

/* Encodes a record into out (cap bytes): bytes written, or -ENOSPC /
 * -EINVAL. Exposed for the unit tests and fuzzers. */
long tracefile_encode(const struct tracefile_rec *r, uint8_t *out, size_t cap);
/* Decodes one record at in: bytes consumed (> 0), or -EINVAL for a
 * malformed one, -ENODATA when len is 0. */
long tracefile_decode(const uint8_t *in, size_t len, struct tracefile_rec *r);

struct tracefile_reader {
	uint8_t *buf;           /* the whole file */
	size_t len, pos;
	unsigned version, shmem_bit;
	uint64_t start_realtime_ns;
};

/* Reads the whole file. 0, or -errno / -EINVAL (not a trace) with a
 * message. */
int tracefile_open(struct tracefile_reader *rd, const char *path, char *err,
		   size_t errcap);
/* 1 a record, 0 end of file, -EINVAL a malformed record (the offset is
 * rd->pos). */
int tracefile_next(struct tracefile_reader *rd, struct tracefile_rec *r);
void tracefile_free(struct tracefile_reader *rd);

/* One readable line, chan_format_trace style ("+0.0123s main FE->BE
 * GET_FEATURES flags=0x1(v1) size=0 fds=0 ...") with fd descriptions;
 * snprintf-style return. */
int tracefile_format(const struct tracefile_rec *r, char *out, size_t cap);
/* The same record as one JSON object (no newline): every header field,
 * the request name, the payload decoded by proto_format_payload, the
 * bytes in hex, the fds. snprintf-style return. */
int tracefile_format_json(const struct tracefile_rec *r, unsigned shmem_bit,
			  char *out, size_t cap);

#endif
