/* SPDX-License-Identifier: MIT */
/*
 * emitrec: see emitrec.h.
 */
#include "emitrec.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bejudge.h"
#include "seqop.h"

size_t emitrec_size(enum emitcase_fuzzer f)
{
	switch (f) {
	case EMITCASE_SEQUENCE: return SEQOP_SIZE;
	case EMITCASE_BACKEND: return BEJUDGE_RECORD;
	default: return 0;
	}
}

unsigned emitrec_count(enum emitcase_fuzzer f, size_t size)
{
	size_t rs = emitrec_size(f), n;

	if (rs == 0)
		return size > 0 ? 1u : 0u;
	n = size / rs;
	return n < EMITREC_MAX ? (unsigned)n : EMITREC_MAX;
}

int emitrec_parse_keep(const char *list, unsigned count, unsigned *keep,
		       unsigned *nkeep, char *err, size_t errcap)
{
	const char *p = list;

	*nkeep = 0;
	if (strcmp(list, "-") == 0 || list[0] == '\0')
		return 0;
	for (;;) {
		char *end;
		unsigned long v;

		errno = 0;
		v = strtoul(p, &end, 10);
		if (end == p || errno || v >= count ||
		    (*nkeep > 0 && v <= keep[*nkeep - 1]) ||
		    (*end != ',' && *end != '\0')) {
			snprintf(err, errcap, "--keep %s: record indices in "
				 "ascending order, each below %u", list, count);
			return -1;
		}
		keep[(*nkeep)++] = (unsigned)v;
		if (*end == '\0')
			return 0;
		p = end + 1;
	}
}

size_t emitrec_subset(enum emitcase_fuzzer f, const uint8_t *data,
		      size_t size, const unsigned *keep, unsigned nkeep,
		      uint8_t *out)
{
	size_t rs = emitrec_size(f), at = 0;

	if (rs == 0) {
		if (nkeep == 0)
			return 0;
		memcpy(out, data, size);
		return size;
	}
	for (unsigned i = 0; i < nkeep; i++) {
		memcpy(out + at, data + (size_t)keep[i] * rs, rs);
		at += rs;
	}
	return at;
}
