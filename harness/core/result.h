/* SPDX-License-Identifier: MIT */
/*
 * result: one case's outcome and its JSON line (docs/architecture.md,
 * "One JSON object per case").
 *
 * A line is built in memory and handed to the kernel in one write(), so
 * harness processes sharing an O_APPEND file never interleave.
 */
#ifndef VHU_RESULT_H
#define VHU_RESULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

/* In precedence order, lowest first (UNSUPPORTED is decided apart). */
enum result_verdict {
	RESULT_PASS = 0,
	RESULT_INFO,
	RESULT_NON_STRICT,
	RESULT_FAIL,
	RESULT_TIMEOUT,
	RESULT_DEADLOCK,
	RESULT_CRASH,
	RESULT_ERROR,
	RESULT_UNSUPPORTED,
};
const char *result_verdict_name(enum result_verdict v);
/* Whichever of a and b wins by the precedence rule. */
enum result_verdict result_verdict_max(enum result_verdict a,
				       enum result_verdict b);

#define RESULT_MAX_FAILURES 16u
#define RESULT_MAX_FINDINGS 32u

struct result_failure {
	unsigned line;
	char grade[8];          /* "MUST", "SHOULD", "INFO" */
	char expected[256];
	char observed[512];
};

struct result_finding {
	char code[40];
	char severity[8];       /* "error", "warn", "info" */
	char msg[48];           /* the request it was found on */
	char text[160];
};

struct result {
	char id[64];
	char file[512];
	char title[256];
	char area[64];
	char role[16];
	char level[8];
	char rule[256];
	enum result_verdict verdict;
	double duration_ms;
	char reason[512];
	char expected[512];
	char observed[2048];
	unsigned nfailures;
	unsigned failures_dropped;
	struct result_failure failures[RESULT_MAX_FAILURES];
	unsigned nfindings;
	unsigned findings_dropped;
	struct result_finding findings[RESULT_MAX_FINDINGS];
	char trace[512];        /* "" when no trace was written */
	pid_t pid;              /* 0 when unknown */
	bool exited;            /* ended by itself during the case */
	int exit_code;
	char signal[16];        /* "" unless killed by a signal during the case */
	char stderr_path[512];  /* "" when not kept */
};

void result_init(struct result *r);
/* Copies src into dst (capacity cap), always NUL-terminated. */
void result_set(char *dst, size_t cap, const char *src);

/*
 * Writes s (n bytes) as the inside of a JSON string: quote, backslash
 * and control characters escaped, valid UTF-8 kept, every byte that is
 * not part of valid UTF-8 as \u00XX. Returns the length the escaped text
 * needs (snprintf style); out is always NUL-terminated when cap > 0.
 */
size_t result_json_escape(const char *s, size_t n, char *out, size_t cap);
/* s as a JSON string, quotes included, on f ("" when out of memory). */
void result_json_fputs(FILE *f, const char *s);

/* The JSON object, with a trailing newline, in a malloc'd string; NULL
 * when out of memory. */
char *result_to_json(const struct result *r);
/* result_to_json() then one write() (retried only for a partial write).
 * 0 or -errno. */
int result_write(int fd, const struct result *r);

#endif
