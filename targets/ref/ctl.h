/* SPDX-License-Identifier: MIT */
/*
 * ctl: the control-channel line protocol of the reference targets
 * (docs/control.md, the only specification of it).
 *
 * A request is one line `cmd k=v k2=v2 bare ...`; an answer is one line
 * `ok [text]`, `err text`, or `err unsupported: why` (understood, but not
 * possible for this target). Numbers are decimal or 0x hex, with optional
 * binary size suffixes k, m, g (either case), as in .vhu files.
 */
#ifndef VHU_CTL_H
#define VHU_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CTL_LINE_MAX 1024
#define CTL_MAX_ARGS 16
#define CTL_WORD_MAX 128

struct ctl_arg {
	char key[CTL_WORD_MAX];
	char val[CTL_WORD_MAX];
	bool has_val;           /* false for a bare word */
};

struct ctl_cmd {
	char name[CTL_WORD_MAX];
	unsigned nargs;
	struct ctl_arg args[CTL_MAX_ARGS];
};

/* Parses one line (no newline needed; a trailing \r\n is ignored).
 * Returns 0, -ENODATA for a blank line, or -EINVAL with a message. */
int ctl_parse(const char *line, struct ctl_cmd *cmd, char *err, size_t errcap);

/* The argument named key: NULL when absent. */
const struct ctl_arg *ctl_find(const struct ctl_cmd *cmd, const char *key);
/* Refuses any argument whose key is not in the NULL-terminated list. */
int ctl_check_keys(const struct ctl_cmd *cmd, const char *const *allowed,
		   char *err, size_t errcap);

/* A number with optional k/m/g suffix. 0 or -EINVAL (also on overflow). */
int ctl_parse_u64(const char *s, uint64_t *out);
/* "1M,64k,0": up to max numbers. 0 or -EINVAL. */
int ctl_parse_u64_list(const char *s, uint64_t *out, unsigned max,
		       unsigned *count);
/* key=N, or dflt when absent. A bare key or a bad number is an error. */
int ctl_arg_u64(const struct ctl_cmd *cmd, const char *key, uint64_t dflt,
		uint64_t *out, char *err, size_t errcap);
/* key=0|1|no|yes|off|on, or a bare key (true); dflt when absent. */
int ctl_arg_bool(const struct ctl_cmd *cmd, const char *key, bool dflt,
		 bool *out, char *err, size_t errcap);

/* Buffered, non-blocking line reader over a stream socket. */
struct ctl_reader {
	int fd;
	bool eof;
	bool overlong;          /* discarding the rest of a too-long line */
	size_t len;
	char buf[CTL_LINE_MAX];
};

void ctl_reader_init(struct ctl_reader *r, int fd);
/* One non-blocking read. Returns bytes read, 0 at EOF (r->eof set),
 * -EAGAIN when nothing is there, or another -errno. */
int ctl_reader_fill(struct ctl_reader *r);
/* Takes the next whole line (without its newline) out of the buffer.
 * Returns 1 with a line, 0 when none is complete, -E2BIG for a line that
 * did not fit (it is dropped; the caller should answer err). */
int ctl_reader_next(struct ctl_reader *r, char *line, size_t cap);

/* Writes `ok` / `ok text` / `err text` and a newline, waiting for the
 * socket to take it until the deadline. 0 or -errno. */
int ctl_send_ok(int fd, const char *text, int64_t deadline);
int ctl_send_err(int fd, const char *text, int64_t deadline);
/* `err unsupported: why`: the command is understood but this target, in
 * this mode, cannot carry it out. The harness then judges the case
 * UNSUPPORTED instead of failing it (our limit is not a fault of the
 * implementation under test). */
int ctl_send_unsupported(int fd, const char *why, int64_t deadline);

#endif
