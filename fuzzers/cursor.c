/* SPDX-License-Identifier: MIT */
#include "cursor.h"

#include <string.h>

void cursor_init(struct cursor *c, const uint8_t *data, size_t size)
{
	c->p = data;
	c->left = data ? size : 0;
}

size_t cursor_bytes(struct cursor *c, void *out, size_t n)
{
	size_t take = n < c->left ? n : c->left;

	if (take)
		memcpy(out, c->p, take);
	if (n > take)
		memset((uint8_t *)out + take, 0, n - take);
	c->p += take;
	c->left -= take;
	return take;
}

uint8_t cursor_u8(struct cursor *c)
{
	uint8_t v;

	cursor_bytes(c, &v, 1);
	return v;
}

/* Little-endian regardless of the host: inputs stay portable between
 * machines (seed corpora are generated, then shared). */
static uint64_t cursor_le(struct cursor *c, unsigned n)
{
	uint8_t b[8];
	uint64_t v = 0;

	cursor_bytes(c, b, n);
	for (unsigned i = n; i > 0; i--)
		v = (v << 8) | b[i - 1];
	return v;
}

uint16_t cursor_u16(struct cursor *c)
{
	return (uint16_t)cursor_le(c, 2);
}

uint32_t cursor_u32(struct cursor *c)
{
	return (uint32_t)cursor_le(c, 4);
}

uint64_t cursor_u64(struct cursor *c)
{
	return cursor_le(c, 8);
}

unsigned cursor_pick(struct cursor *c, unsigned n)
{
	return n ? cursor_u8(c) % n : 0;
}

const uint8_t *cursor_rest(struct cursor *c, size_t *len)
{
	const uint8_t *p = c->p;

	*len = c->left;
	c->p += c->left;
	c->left = 0;
	return p;
}

bool cursor_empty(const struct cursor *c)
{
	return c->left == 0;
}
