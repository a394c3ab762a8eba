/* SPDX-License-Identifier: MIT */
/*
 * driver: the engine glue of every fuzz target (see driver.h). Compiled
 * with exactly one of FUZZ_ENGINE_LIBFUZZER, FUZZ_ENGINE_AFL, or neither.
 */
#include "driver.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#if defined(FUZZ_ENGINE_LIBFUZZER) && defined(FUZZ_ENGINE_AFL)
#error "driver.c: choose one engine"
#endif

_Noreturn void fuzz_finding(const char *fmt, ...)
{
	va_list ap;

	fputs("vhu-fuzz: finding: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fflush(stderr);
	abort();
}

const char *fuzz_engine_name(void)
{
#if defined(FUZZ_ENGINE_LIBFUZZER)
	return "libfuzzer";
#elif defined(FUZZ_ENGINE_AFL)
	return "afl";
#else
	return "replay";
#endif
}

/*
 * Sanitizer defaults: every report exits FUZZ_EXIT_FINDING, never the
 * sanitizers' 1 (ambiguous) and never 77. The environment
 * (ASAN_OPTIONS, ...) still wins, which is what AFL++ relies on to set
 * abort_on_error=1. Unused when built without sanitizers.
 */
const char *__asan_default_options(void);
const char *__ubsan_default_options(void);
const char *__lsan_default_options(void);

const char *__asan_default_options(void)
{
	return "exitcode=" FUZZ_EXIT_FINDING_STR ":detect_leaks=1"
	       ":allocator_may_return_null=1:handle_abort=0";
}

const char *__ubsan_default_options(void)
{
	return "exitcode=" FUZZ_EXIT_FINDING_STR
	       ":print_stacktrace=1:halt_on_error=1";
}

const char *__lsan_default_options(void)
{
	return "exitcode=" FUZZ_EXIT_FINDING_STR;
}

/* ---- set-up shared by every mode ---- */

static void *driver_setup(void)
{
	char err[256] = "";
	void *st = fuzz_init(err, sizeof(err));

	if (st)
		return st;
	fprintf(stderr, "vhu-fuzz: set-up failed: %s\n",
		err[0] ? err : "no reason given");
	exit(strncmp(err, "usage:", 6) == 0 ? FUZZ_EXIT_USAGE
					    : FUZZ_EXIT_SETUP);
}

/* ---- replay: files and directories from the command line ---- */
#if !defined(FUZZ_ENGINE_LIBFUZZER)

struct replay {
	void *state;
	uint8_t *buf;       /* FUZZ_MAX_INPUT bytes */
	unsigned inputs;
	unsigned repeat;    /* runs per input (VHU_FUZZ_REPEAT), for timing */
	uint64_t runs;
	char err[512];
};

/* Monotonic seconds, for the replay rate. */
static double replay_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Reads at most cap bytes of path into buf: the count or -errno. */
static ssize_t replay_read(const char *path, uint8_t *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t got = 0;

	if (fd < 0)
		return -errno;
	while (got < cap) {
		ssize_t n = read(fd, buf + got, cap - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;

			close(fd);
			return -e;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	return (ssize_t)got;
}

static int replay_file(struct replay *r, const char *path)
{
	ssize_t n = replay_read(path, r->buf, FUZZ_MAX_INPUT);
	uint8_t *exact;

	if (n < 0) {
		snprintf(r->err, sizeof(r->err), "%s: %s", path,
			 strerror((int)-n));
		return -1;
	}
	/* An exact-size copy, so ASan sees any read past the input's end
	 * (as it would under libFuzzer). */
	exact = malloc(n > 0 ? (size_t)n : 1);
	if (!exact) {
		snprintf(r->err, sizeof(r->err), "%s: out of memory", path);
		return -1;
	}
	memcpy(exact, r->buf, (size_t)n);
	for (unsigned k = 0; k < r->repeat; k++)
		fuzz_one(r->state, exact, (size_t)n);
	free(exact);
	r->inputs++;
	r->runs += r->repeat;
	return 0;
}

static int replay_name_cmp(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static int replay_dir(struct replay *r, const char *dir)
{
	struct dirent **names;
	int n = scandir(dir, &names, NULL, replay_name_cmp);
	int rc = 0;

	if (n < 0) {
		snprintf(r->err, sizeof(r->err), "%s: %s", dir, strerror(errno));
		return -1;
	}
	for (int i = 0; i < n; i++) {
		char path[4096];
		struct stat sb;

		if (rc == 0 && names[i]->d_name[0] != '.' &&
		    snprintf(path, sizeof(path), "%s/%s", dir,
			     names[i]->d_name) < (int)sizeof(path) &&
		    stat(path, &sb) == 0 && S_ISREG(sb.st_mode))
			rc = replay_file(r, path);
		free(names[i]);
	}
	free(names);
	return rc;
}

static int replay_path(struct replay *r, const char *path)
{
	struct stat sb;

	if (stat(path, &sb) != 0) {
		snprintf(r->err, sizeof(r->err), "%s: %s", path, strerror(errno));
		return -1;
	}
	return S_ISDIR(sb.st_mode) ? replay_dir(r, path) : replay_file(r, path);
}

/* argv[1..]: paths; "-" options are ignored so that libFuzzer-style
 * command lines (-runs=0 ...) replay too. */
static int replay_main(int argc, char **argv)
{
	const char *rep = getenv("VHU_FUZZ_REPEAT");
	struct replay r = { .state = NULL, .repeat = 1 };
	unsigned paths = 0;
	int rc = FUZZ_EXIT_OK;
	double t0;

	/* Runs each input this many times and reports the rate: the
	 * target's own speed, without an engine (bench/fuzz). */
	if (rep && atoi(rep) > 0)
		r.repeat = (unsigned)atoi(rep);

	r.buf = malloc(FUZZ_MAX_INPUT);
	if (!r.buf) {
		fprintf(stderr, "vhu-fuzz: out of memory\n");
		return FUZZ_EXIT_SETUP;
	}
	r.state = driver_setup();
	t0 = replay_now();
	for (int i = 1; i < argc && rc == FUZZ_EXIT_OK; i++) {
		if (argv[i][0] == '-' && argv[i][1] != '\0')
			continue;
		paths++;
		if (replay_path(&r, argv[i]) != 0) {
			fprintf(stderr, "vhu-fuzz: %s\n", r.err);
			rc = FUZZ_EXIT_USAGE;
		}
	}
	fuzz_fini(r.state);
	free(r.buf);
	if (rc == FUZZ_EXIT_OK)
		fprintf(stderr, "vhu-fuzz: %s: replayed %u inputs from %u paths "
			"(%llu runs, %.0f/s)\n", argv[0], r.inputs, paths,
			(unsigned long long)r.runs,
			(double)r.runs / (replay_now() - t0 + 1e-9));
	return rc;
}
#endif

/* ---- libFuzzer (and every engine speaking its interface) ---- */
#if defined(FUZZ_ENGINE_LIBFUZZER)

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* libFuzzer's callbacks carry no user pointer, so the state made by
 * LLVMFuzzerInitialize has to live here: the one mutable file-scope
 * variable of the project, forced by that ABI. */
static void *driver_state;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	driver_state = driver_setup();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > FUZZ_MAX_INPUT)
		return FUZZ_REJECT;
	return fuzz_one(driver_state, data, size);
}

/* ---- AFL++ persistent mode ---- */
#elif defined(FUZZ_ENGINE_AFL)

#ifndef __AFL_FUZZ_INIT
#error "FUZZ_ENGINE_AFL needs CC=afl-clang-fast (or afl-clang-lto)"
#endif

__AFL_FUZZ_INIT();

int main(int argc, char **argv)
{
	unsigned char *buf;
	void *st;

	/* With file arguments: plain replay, no fork server. */
	if (argc > 1)
		return replay_main(argc, argv);

	/* The fork server starts here; each child then makes its own
	 * pool and sockets once and keeps them for 10000 inputs, so no
	 * socket buffer or fd is ever shared between children. */
	__AFL_INIT();
	st = driver_setup();
	buf = __AFL_FUZZ_TESTCASE_BUF;
	while (__AFL_LOOP(10000)) {
		size_t len = __AFL_FUZZ_TESTCASE_LEN;

		fuzz_one(st, buf, len > FUZZ_MAX_INPUT ? FUZZ_MAX_INPUT : len);
	}
	fuzz_fini(st);
	return FUZZ_EXIT_OK;
}

/* ---- plain replay ---- */
#else

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE|DIR...  (replays each input once)\n",
			argv[0]);
		return FUZZ_EXIT_USAGE;
	}
	return replay_main(argc, argv);
}

#endif
