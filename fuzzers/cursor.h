/* SPDX-License-Identifier: MIT */
/*
 * cursor: reads a fuzz input front to back. Past the end every read
 * yields zeros, so a target never has to check lengths to stay in
 * bounds and short inputs still mean something.
 */
#ifndef VHU_FUZZ_CURSOR_H
#define VHU_FUZZ_CURSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cursor {
	const uint8_t *p;
	size_t left;
};

void cursor_init(struct cursor *c, const uint8_t *data, size_t size);
uint8_t cursor_u8(struct cursor *c);
uint16_t cursor_u16(struct cursor *c);
uint32_t cursor_u32(struct cursor *c);
uint64_t cursor_u64(struct cursor *c);
/* A value in [0, n) (n > 0) from one byte; n <= 256. */
unsigned cursor_pick(struct cursor *c, unsigned n);
/* Copies up to n bytes into out, zero-fills the rest; returns the
 * number of input bytes used. */
size_t cursor_bytes(struct cursor *c, void *out, size_t n);
/* The rest of the input, consumed: pointer and length. */
const uint8_t *cursor_rest(struct cursor *c, size_t *len);
bool cursor_empty(const struct cursor *c);

#endif
