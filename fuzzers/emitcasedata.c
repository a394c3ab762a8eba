/* SPDX-License-Identifier: MIT */
#include "emitcasedata.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int emitcase_fuzzer_of(const char *name)
{
	if (strcmp(name, "fuzz_shmem_map") == 0)
		return EMITCASE_MAP;
	if (strcmp(name, "fuzz_shmem_sequence") == 0)
		return EMITCASE_SEQUENCE;
	if (strcmp(name, "fuzz_backend_replies") == 0)
		return EMITCASE_BACKEND;
	return -1;
}

/* One size: decimal or 0x hex, optional k/m/g. */
static int parse_size(const char *s, size_t n, uint64_t *out)
{
	char buf[32], *end;
	unsigned long long v;
	unsigned shift = 0;

	if (n == 0 || n >= sizeof(buf))
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	switch (buf[n - 1]) {
	case 'k': case 'K': shift = 10; break;
	case 'm': case 'M': shift = 20; break;
	case 'g': case 'G': shift = 30; break;
	default: break;
	}
	if (shift)
		buf[--n] = '\0';
	if (n == 0 || buf[0] == '-' || buf[0] == '+')
		return -1;
	v = strtoull(buf, &end, 0);
	if (*end != '\0' || (shift && v > (UINT64_MAX >> shift)))
		return -1;
	*out = (uint64_t)v << shift;
	return 0;
}

int emitcase_parse_sizes(struct emitcase_opts *opts, const char *list,
			 char *err, size_t errcap)
{
	const char *p = list;
	unsigned i = 0;

	memset(opts->sizes, 0, sizeof(opts->sizes));
	for (;;) {
		size_t n = strcspn(p, ",");

		if (i == PROTO_SHMEM_MAX_REGIONS ||
		    parse_size(p, n, &opts->sizes[i]) != 0) {
			snprintf(err, errcap, "--regions %s: not a list of sizes "
				 "like 1m,1m,0,2m (at most 256)", list);
			return -1;
		}
		i++;
		if (p[n] == '\0')
			break;
		p += n + 1;
	}
	opts->have_sizes = true;
	return 0;
}

/* FNV-1a 64 of the body: the id stays while the input does. */

void emitcase_free(struct emitcase_out *out)
{
	free(out->text);
	free(out->steps);
	memset(out, 0, sizeof(*out));
}
