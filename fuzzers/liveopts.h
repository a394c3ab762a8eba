/* SPDX-License-Identifier: MIT */
/*
 * liveopts: the command line both live drivers take (vhu-fuzzlive for a
 * front-end, vhu-fuzzlive-be for a back-end), read in one place so that
 * the runner (fuzz/live.py) can drive either the same way.
 *
 *   --target-cmd CMD --out DIR [--shmem-bit N] [--regions LIST]
 *   [--seconds N] [--seed N] [--max-ops N] [--timeout-ms N]
 *   [--avoid KIND:RULE]... [--known-rule KIND:RULE]... [--states FILE]
 *   [--log FILE] [--edges] [--pingpong]
 *
 * --known-rule: a FAIL the campaign has signed already (its case run),
 * or whose case never shows it: the stream goes past it (the region it
 * happened in is lost to the model, and won back as livekeep.h says)
 * instead of ending for it.
 */
#ifndef VHU_FUZZ_LIVEOPTS_H
#define VHU_FUZZ_LIVEOPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LIVEOPTS_MAX_AVOID 32u

struct liveopts {
	const char *cmd, *out, *states, *log_path;
	const char *regions;        /* as given; NULL when absent */
	unsigned shmem_bit;         /* PROTO_SHMEM_BIT_DEFAULT unless given */
	unsigned seconds;           /* 60 unless given */
	unsigned timeout_ms;        /* 1000 unless given */
	unsigned long max_ops;      /* 0: no limit */
	uint64_t seed;
	bool pingpong;
	bool edges;                 /* AFL++ edge coverage (edgemap.h) */
	const char *avoid[LIVEOPTS_MAX_AVOID];
	unsigned navoid;
	const char *known[LIVEOPTS_MAX_AVOID];   /* --known-rule KIND:RULE */
	unsigned nknown;
};

/* Reads argv[1..argc-1] into *o. 0, or -1 with one line in err naming the
 * option (then the caller prints it with liveopts_usage). */
int liveopts_parse(struct liveopts *o, int argc, char **argv, char *err,
		   size_t errcap);

/* Whether one of list (KIND:RULE entries, --avoid or --known-rule)
 * names kind, with its RULE a prefix of rule. */
bool liveopts_match(const char *const *list, unsigned n, const char *kind,
		    const char *rule);

/* The usage line, after "PROG: WHY". Returns the usage exit status. */
int liveopts_usage(const char *prog, const char *why);

#endif
