/* SPDX-License-Identifier: MIT */
#include "afl_mutator.h"

#include <stdlib.h>
#include <string.h>

#include "seqmut.h"

struct afl_seqmut {
	uint64_t rng;
	uint8_t *buf;   /* the mutated input handed back to AFL++ */
	size_t cap;
};

void *afl_custom_init(void *afl, unsigned int seed)
{
	struct afl_seqmut *m = calloc(1, sizeof(*m));

	(void)afl;
	if (m)
		m->rng = seed;
	return m;
}

static int reserve(struct afl_seqmut *m, size_t n)
{
	uint8_t *p;

	if (n <= m->cap)
		return 0;
	p = realloc(m->buf, n);
	if (!p)
		return -1;
	m->buf = p;
	m->cap = n;
	return 0;
}

size_t afl_custom_fuzz(void *data, uint8_t *buf, size_t buf_size,
		       uint8_t **out_buf, uint8_t *add_buf, size_t add_buf_size,
		       size_t max_size)
{
	struct afl_seqmut *m = data;
	size_t n = buf_size < max_size ? buf_size : max_size;

	if (reserve(m, max_size ? max_size : 1) != 0) {
		*out_buf = buf;   /* no memory: hand the input back unchanged */
		return n;
	}
	/* One in eight: splice with the other queue entry AFL++ offers. */
	if (add_buf && add_buf_size && seqmut_rand(&m->rng) % 8 == 0) {
		n = seqmut_crossover(buf, buf_size, add_buf, add_buf_size,
				     m->buf, max_size, &m->rng);
	} else {
		if (n)
			memcpy(m->buf, buf, n);
		n = seqmut_mutate(m->buf, n, max_size, &m->rng);
	}
	*out_buf = m->buf;
	return n;
}

const char *afl_custom_describe(void *data, size_t max_description_len)
{
	(void)data;
	return max_description_len > 6 ? "seqmut" : "";
}

void afl_custom_deinit(void *data)
{
	struct afl_seqmut *m = data;

	if (m)
		free(m->buf);
	free(m);
}
