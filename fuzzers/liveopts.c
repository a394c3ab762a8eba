/* SPDX-License-Identifier: MIT */
/* liveopts: see liveopts.h. */
#include "liveopts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exitcodes.h"
#include "proto.h"

/* A flag: set, and no value follows. */
static bool flag(struct liveopts *o, const char *k)
{
	if (strcmp(k, "--pingpong") == 0)
		o->pingpong = true;
	else if (strcmp(k, "--edges") == 0)
		o->edges = true;
	else
		return false;
	return true;
}

/* A numeric option's value, whole. -1 when it is not one. */
static int number(const char *v, unsigned long long max, unsigned long long *out)
{
	char *end = NULL;

	if (!*v || *v == '-')
		return -1;
	*out = strtoull(v, &end, 10);
	return *end || *out > max ? -1 : 0;
}

static int numeric(struct liveopts *o, const char *k, const char *v)
{
	unsigned long long n;
	struct { const char *name; unsigned long long max; } known[] = {
		{ "--shmem-bit", 63 }, { "--seconds", 1000000 },
		{ "--max-ops", (unsigned long long)-1 / 2 },
		{ "--timeout-ms", 3600000 }, { "--seed", (unsigned long long)-1 },
	};
	unsigned i;

	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strcmp(k, known[i].name) == 0)
			break;
	if (i == sizeof(known) / sizeof(known[0]))
		return 1;
	if (number(v, known[i].max, &n) != 0)
		return -1;
	switch (i) {
	case 0: o->shmem_bit = (unsigned)n; break;
	case 1: o->seconds = (unsigned)n; break;
	case 2: o->max_ops = (unsigned long)n; break;
	case 3: o->timeout_ms = (unsigned)n; break;
	default: o->seed = n; break;
	}
	return 0;
}

static int text(struct liveopts *o, const char *k, const char *v)
{
	if (strcmp(k, "--target-cmd") == 0)
		o->cmd = v;
	else if (strcmp(k, "--out") == 0)
		o->out = v;
	else if (strcmp(k, "--states") == 0)
		o->states = v;
	else if (strcmp(k, "--log") == 0)
		o->log_path = v;
	else if (strcmp(k, "--regions") == 0)
		o->regions = v;
	else if (strcmp(k, "--avoid") == 0) {
		if (o->navoid == LIVEOPTS_MAX_AVOID || !strchr(v, ':'))
			return -1;
		o->avoid[o->navoid++] = v;
	} else if (strcmp(k, "--known-rule") == 0) {
		if (o->nknown == LIVEOPTS_MAX_AVOID || !strchr(v, ':'))
			return -1;
		o->known[o->nknown++] = v;
	} else
		return 1;
	return 0;
}

int liveopts_parse(struct liveopts *o, int argc, char **argv, char *err,
		   size_t errcap)
{
	memset(o, 0, sizeof(*o));
	o->shmem_bit = PROTO_SHMEM_BIT_DEFAULT;
	o->timeout_ms = 1000;
	o->seconds = 60;
	for (int i = 1; i < argc; i++) {
		const char *k = argv[i];
		int rc;

		if (flag(o, k))
			continue;
		if (i + 1 >= argc) {
			snprintf(err, errcap, "%s: an option without its value", k);
			return -1;
		}
		rc = text(o, k, argv[i + 1]);
		if (rc == 1)
			rc = numeric(o, k, argv[i + 1]);
		if (rc == 1) {
			snprintf(err, errcap, "%s: unknown option", k);
			return -1;
		}
		if (rc < 0) {
			snprintf(err, errcap, "%s %s: %s", k, argv[i + 1],
				 strcmp(k, "--avoid") == 0 || strcmp(k, "--known-rule") == 0
				 ? "not KIND:RULE, or too many"
				 : "not a number in range");
			return -1;
		}
		i++;
	}
	if (!o->cmd || !o->out) {
		snprintf(err, errcap, "--target-cmd and --out are required");
		return -1;
	}
	return 0;
}

bool liveopts_match(const char *const *list, unsigned n, const char *kind,
		    const char *rule)
{
	size_t k = strlen(kind);

	for (unsigned i = 0; rule && i < n; i++)
		if (strncmp(list[i], kind, k) == 0 && list[i][k] == ':' &&
		    strncmp(rule, list[i] + k + 1, strlen(list[i] + k + 1)) == 0)
			return true;
	return false;
}

int liveopts_usage(const char *prog, const char *why)
{
	fprintf(stderr, "%s: %s\nusage: %s --target-cmd CMD --out DIR "
		"[--shmem-bit N] [--regions LIST] [--seconds N] [--seed N] "
		"[--max-ops N] [--timeout-ms N] [--avoid KIND:RULE]... "
		"[--known-rule KIND:RULE]... "
		"[--states FILE] [--log FILE] [--edges] [--pingpong]\n",
		prog, why, prog);
	return FUZZ_EXIT_USAGE;
}
