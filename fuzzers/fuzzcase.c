/* SPDX-License-Identifier: MIT */
/*
 * vhu-fuzzcase: fuzz inputs as cases carrying the model's expectations
 * (emitcase.h), the one translation the runner asks for (vhucheck fuzz
 * --to-cases, --against, and a finding's reproducer).
 *
 *   vhu-fuzzcase FUZZER --out DIR [--regions LIST] [--note TEXT]
 *                [--no-final-reset] [--mutate N --seed S] INPUT...
 *   vhu-fuzzcase FUZZER --records INPUT...
 *   vhu-fuzzcase FUZZER --out DIR [--regions LIST] [--note TEXT]
 *                --keep LIST [--keep LIST...] INPUT
 *
 * INPUT: files or directories of inputs (names starting with '.' are
 * skipped). Without --mutate, every input becomes a case; with it, N
 * mutants of inputs picked at random (emitmut.h) do, repeatable by S.
 * For each case: DIR/ID.vhu, DIR/ID.input (the bytes), DIR/ID.steps
 * (one line per graded step: line, step kind, MUST|SHOULD, rule; tab
 * separated). On stdout one line per input or mutant:
 *   case ID            written
 *   dup ID             the same case was written already
 *   skip NAME: WHY     no case says it
 * --records writes no case: one line per input, `records N BYTES NAME`,
 * its N records of BYTES bytes each (0: the input is one record; emitrec.h).
 * --keep LIST (indices, "0,2,5"; "-" none) makes one case of the records
 * of the one INPUT it lists, per --keep, in that order (the sub-input is
 * its ID.input): input reduction (fuzz/inreduce.py) asks for its
 * candidates so, and the model computes each one's expectations anew.
 * --no-final-reset: a front-end's case ends without the closing
 * `control reset` and its checks (a live campaign whose target's reset is
 * a known finding asks so: the reset would crash every case the same way).
 * Exit 0; 2 usage, an unreadable input or a --keep LIST that names no
 * records of it (one line on stderr).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "driver.h"
#include "emitcase.h"
#include "emitmut.h"
#include "emitrec.h"
#include "seqmut.h"

#define FC_MAX_INPUTS 100000u
#define FC_MAX_KEEPS 1024u

struct fc_input {
	char *name;
	uint8_t *data;
	size_t size;
};

struct fc {
	struct emitcase_opts opts;
	const char *out;
	long mutate;            /* -1: translate each input */
	bool records;           /* --records: list, write nothing */
	const char *keeps[FC_MAX_KEEPS];
	unsigned nkeeps;
	uint64_t seed;
	struct fc_input *in;
	unsigned nin, capin;
	char err[512];
};

static int fc_usage(const char *why)
{
	fprintf(stderr, "vhu-fuzzcase: %s\nusage: vhu-fuzzcase fuzz_shmem_map|"
		"fuzz_shmem_sequence|fuzz_backend_replies --out DIR "
		"[--regions LIST] [--note TEXT] [--no-final-reset] "
		"[--mutate N --seed S | --keep LIST...] INPUT... | "
		"--records INPUT...\n",
		why);
	return FUZZ_EXIT_USAGE;
}

static int read_all(const char *path, uint8_t **data, size_t *size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	uint8_t *buf = malloc(FUZZ_MAX_INPUT);
	size_t got = 0;

	if (fd < 0 || !buf) {
		int e = fd < 0 ? errno : ENOMEM;

		if (fd >= 0)
			close(fd);
		free(buf);
		return -e;
	}
	while (got < FUZZ_MAX_INPUT) {
		ssize_t n = read(fd, buf + got, FUZZ_MAX_INPUT - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	*data = buf;
	*size = got;
	return 0;
}

static int add_file(struct fc *c, const char *path)
{
	struct fc_input *x;
	int rc;

	if (c->nin == c->capin) {
		unsigned cap = c->capin ? c->capin * 2 : 64;

		x = cap <= FC_MAX_INPUTS ? realloc(c->in, cap * sizeof(*x)) : NULL;
		if (!x) {
			snprintf(c->err, sizeof(c->err), "%s: too many inputs", path);
			return -1;
		}
		c->in = x;
		c->capin = cap;
	}
	x = &c->in[c->nin];
	rc = read_all(path, &x->data, &x->size);
	if (rc < 0) {
		snprintf(c->err, sizeof(c->err), "%s: %s", path, strerror(-rc));
		return -1;
	}
	x->name = strdup(path);
	c->nin++;
	return 0;
}

static int name_cmp(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static int add_path(struct fc *c, const char *path)
{
	struct dirent **names;
	struct stat sb;
	int n, rc = 0;

	if (stat(path, &sb) != 0) {
		snprintf(c->err, sizeof(c->err), "%s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(sb.st_mode))
		return add_file(c, path);
	n = scandir(path, &names, NULL, name_cmp);
	if (n < 0) {
		snprintf(c->err, sizeof(c->err), "%s: %s", path, strerror(errno));
		return -1;
	}
	for (int i = 0; i < n; i++) {
		char p[4096];

		if (rc == 0 && names[i]->d_name[0] != '.' &&
		    snprintf(p, sizeof(p), "%s/%s", path, names[i]->d_name) <
			    (int)sizeof(p) &&
		    stat(p, &sb) == 0 && S_ISREG(sb.st_mode))
			rc = add_file(c, p);
		free(names[i]);
	}
	free(names);
	return rc;
}

static int write_file(const char *dir, const char *id, const char *ext,
		      const void *data, size_t len)
{
	char path[4096], tmp[4200];
	FILE *f;
	bool ok;

	snprintf(path, sizeof(path), "%s/%s.%s", dir, id, ext);
	snprintf(tmp, sizeof(tmp), "%s/.%s.%s.tmp", dir, id, ext);
	f = fopen(tmp, "w");
	if (!f)
		return -errno;
	ok = fwrite(data, 1, len, f) == len;
	ok = fclose(f) == 0 && ok;
	if (!ok || rename(tmp, path) != 0) {
		unlink(tmp);
		return -EIO;
	}
	return 0;
}

static int write_steps(const char *dir, const struct emitcase_out *o)
{
	size_t cap = (size_t)o->nsteps * 160 + 1, at = 0;
	char *buf = malloc(cap);
	int rc;

	if (!buf)
		return -ENOMEM;
	buf[0] = '\0';
	for (unsigned i = 0; i < o->nsteps; i++)
		at += (size_t)snprintf(buf + at, cap - at, "%u\t%s\t%s\t%s\n",
				       o->steps[i].line, o->steps[i].kind,
				       o->steps[i].must ? "MUST" : "SHOULD",
				       o->steps[i].rule);
	rc = write_file(dir, o->id, "steps", buf, at);
	free(buf);
	return rc;
}

/* One input (or mutant) as a case. 0, or -1 with c->err. */
static int emit_one(struct fc *c, const char *name, const uint8_t *data,
		    size_t size)
{
	struct emitcase_out o;
	char err[256] = "", path[4096];
	struct stat sb;
	int rc = emitcase_emit(&c->opts, data, size, &o, err, sizeof(err));

	if (rc < 0) {
		snprintf(c->err, sizeof(c->err), "%s: %s", name, err);
		return -1;
	}
	if (rc == 0) {
		printf("skip %s: %s\n", name, err);
		return 0;
	}
	snprintf(path, sizeof(path), "%s/%s.vhu", c->out, o.id);
	if (stat(path, &sb) == 0) {
		printf("dup %s\n", o.id);
		emitcase_free(&o);
		return 0;
	}
	rc = write_file(c->out, o.id, "input", data, size);
	if (rc == 0)
		rc = write_steps(c->out, &o);
	if (rc == 0)
		rc = write_file(c->out, o.id, "vhu", o.text, o.len);
	if (rc == 0)
		printf("case %s\n", o.id);
	else
		snprintf(c->err, sizeof(c->err), "%s: %s", c->out, strerror(-rc));
	emitcase_free(&o);
	return rc == 0 ? 0 : -1;
}

static void list_records(const struct fc *c)
{
	for (unsigned i = 0; i < c->nin; i++)
		printf("records %u %zu %s\n",
		       emitrec_count(c->opts.fuzzer, c->in[i].size),
		       emitrec_size(c->opts.fuzzer), c->in[i].name);
}

/* Each --keep's records of the one input as a case. 0, or -1 with c->err. */
static int emit_keeps(struct fc *c)
{
	const struct fc_input *x = &c->in[0];
	unsigned count = emitrec_count(c->opts.fuzzer, x->size), nkeep;
	unsigned *keep = malloc(EMITREC_MAX * sizeof(*keep));
	uint8_t *buf = malloc(x->size + 1);
	int rc = 0;

	if (!keep || !buf) {
		snprintf(c->err, sizeof(c->err), "out of memory");
		rc = -1;
	}
	for (unsigned k = 0; rc == 0 && k < c->nkeeps; k++) {
		char name[64];
		size_t n;

		if (emitrec_parse_keep(c->keeps[k], count, keep, &nkeep, c->err,
				       sizeof(c->err)) != 0) {
			rc = -1;
			break;
		}
		n = emitrec_subset(c->opts.fuzzer, x->data, x->size, keep,
				   nkeep, buf);
		snprintf(name, sizeof(name), "keep %u", k);
		rc = emit_one(c, name, buf, n);
	}
	free(keep);
	free(buf);
	return rc;
}

static int run(struct fc *c)
{
	uint8_t *buf;
	uint64_t rng = c->seed;

	if (c->records) {
		list_records(c);
		return 0;
	}
	if (c->nkeeps > 0)
		return emit_keeps(c);
	if (c->mutate < 0) {
		for (unsigned i = 0; i < c->nin; i++)
			if (emit_one(c, c->in[i].name, c->in[i].data,
				     c->in[i].size) != 0)
				return -1;
		return 0;
	}
	buf = malloc(FUZZ_MAX_INPUT);
	if (!buf) {
		snprintf(c->err, sizeof(c->err), "out of memory");
		return -1;
	}
	for (long k = 0; k < c->mutate; k++) {
		const struct fc_input *x = &c->in[seqmut_rand(&rng) % c->nin];
		size_t n = x->size < 4096 ? x->size : 4096;
		char name[64];

		memcpy(buf, x->data, n);
		n = emitmut_mutate(c->opts.fuzzer, buf, n, 4096, &rng);
		snprintf(name, sizeof(name), "mutant %ld", k);
		if (emit_one(c, name, buf, n) != 0) {
			free(buf);
			return -1;
		}
	}
	free(buf);
	return 0;
}

static int parse_args(struct fc *c, int argc, char **argv)
{
	int f = argc > 1 ? emitcase_fuzzer_of(argv[1]) : -1;
	bool seeded = false;

	if (f < 0)
		return fc_usage(argc > 1 ? "unknown fuzzer (its inputs do not "
				"become cases)" : "no fuzzer named");
	c->opts.fuzzer = (enum emitcase_fuzzer)f;
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		char *end;

		if (a[0] != '-') {
			if (add_path(c, a) != 0)
				return fc_usage(c->err);
			continue;
		}
		if (strcmp(a, "--records") == 0) {
			c->records = true;
			continue;
		}
		if (strcmp(a, "--no-final-reset") == 0) {
			c->opts.no_final_reset = true;
			continue;
		}
		if (!v)
			return fc_usage("an option without its value");
		i++;
		if (strcmp(a, "--out") == 0) {
			c->out = v;
		} else if (strcmp(a, "--note") == 0) {
			c->opts.note = v;
		} else if (strcmp(a, "--regions") == 0) {
			if (emitcase_parse_sizes(&c->opts, v, c->err,
						 sizeof(c->err)) != 0)
				return fc_usage(c->err);
		} else if (strcmp(a, "--mutate") == 0) {
			c->mutate = strtol(v, &end, 10);
			if (*end || c->mutate < 0)
				return fc_usage("--mutate: a count");
		} else if (strcmp(a, "--keep") == 0) {
			if (c->nkeeps == FC_MAX_KEEPS)
				return fc_usage("--keep: too many");
			c->keeps[c->nkeeps++] = v;
		} else if (strcmp(a, "--seed") == 0) {
			c->seed = strtoull(v, &end, 10);
			if (*end)
				return fc_usage("--seed: a number");
			seeded = true;
		} else {
			return fc_usage("unknown option");
		}
	}
	if (c->nin == 0)
		return fc_usage("no inputs");
	if (c->records)
		return c->nkeeps || c->mutate >= 0
		       ? fc_usage("--records writes no case: no --keep, --mutate")
		       : 0;
	if (!c->out)
		return fc_usage("--out DIR is required");
	if (c->nkeeps && (c->nin != 1 || c->mutate >= 0))
		return fc_usage("--keep takes one input file, no --mutate");
	if (c->mutate >= 0 && !seeded)
		return fc_usage("--mutate needs --seed");
	return 0;
}

int main(int argc, char **argv)
{
	struct fc c;
	int rc;

	memset(&c, 0, sizeof(c));
	c.mutate = -1;
	rc = parse_args(&c, argc, argv);
	if (rc == 0 && !c.records && mkdir(c.out, 0777) != 0 &&
	    errno != EEXIST) {
		snprintf(c.err, sizeof(c.err), "--out %s: %s", c.out,
			 strerror(errno));
		rc = fc_usage(c.err);
	}
	if (rc == 0 && run(&c) != 0) {
		fprintf(stderr, "vhu-fuzzcase: %s\n", c.err);
		rc = FUZZ_EXIT_USAGE;
	}
	for (unsigned i = 0; i < c.nin; i++) {
		free(c.in[i].name);
		free(c.in[i].data);
	}
	free(c.in);
	return rc;
}
