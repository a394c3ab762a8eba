/* SPDX-License-Identifier: MIT */
/* qtio: QEMU's qtest protocol (one text line per command, one answer
 * line per command, "IRQ ..." lines interleaved), pipelined: commands are
 * queued and go out together, and their answers are read back in order.
 * A command whose answer nobody needs (a write) costs no round trip of
 * its own; a batch of reads costs one. Every wait has a deadline. */
#ifndef VHU_QTIO_H
#define VHU_QTIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define QTIO_MAX_QUEUED 512
#define QTIO_WHY 320

struct qtio_slot {
	uint64_t *dst;          /* where the answer's value goes, or NULL */
	char line[48];          /* the command, for error messages */
};

struct qtio {
	int fd;
	int op_timeout_ms;
	char out[QTIO_MAX_QUEUED * 48];
	size_t outlen;
	struct qtio_slot slot[QTIO_MAX_QUEUED];
	unsigned nslots;
	char in[8192];
	size_t inlen;
	unsigned round_trips;   /* batches sent: what the bring-up cost */
	bool broken;            /* the session is unusable; why is in err */
	bool overflow;          /* a command did not fit: flush fails */
	char err[QTIO_WHY];
};

void qtio_init(struct qtio *q, int fd, int op_timeout_ms);

/* Queues one command; its answer's first word after OK (hex) goes to
 * *dst when dst is not NULL. Flushes by itself when the queue is full. */
void qtio_cmd(struct qtio *q, uint64_t *dst, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Sends what is queued and reads every answer. False (why in q->err)
 * on a FAIL answer, EOF, timeout; the session is then broken. */
bool qtio_flush(struct qtio *q);

/* The same with its own deadline (ms) instead of the op timeout. */
bool qtio_flush_within(struct qtio *q, int timeout_ms);

/* Typed accessors: size 1, 2, 4 or 8 bytes. */
void qtio_out(struct qtio *q, unsigned size, unsigned port, uint64_t value);
void qtio_in(struct qtio *q, unsigned size, unsigned port, uint64_t *dst);
void qtio_write(struct qtio *q, unsigned size, uint64_t addr, uint64_t value);
void qtio_read(struct qtio *q, unsigned size, uint64_t addr, uint64_t *dst);
void qtio_memset(struct qtio *q, uint64_t addr, uint64_t len, unsigned byte);

/* Outside a command: reads what QEMU sent by itself (IRQ lines, dropped).
 * True when QEMU closed the connection. Never blocks. */
bool qtio_closed(struct qtio *q);

#endif
