/* SPDX-License-Identifier: MIT */
/*
 * vhucheck-harness: runs .vhu cases against a target, one JSON line per
 * case (docs/architecture.md, "vhucheck-harness").
 *
 * Exit: 0 every case ran (whatever the verdicts), 2 usage or script
 * errors (nothing run), 3 harness fault, 130 interrupted. With
 * --check-cases nothing runs: 0 no finding, 2 findings (casecheck.h,
 * reqcheck.h). --check-control runs no case: 0 every item of the
 * target's control channel fine, 1 not (ctlcheck.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "casecheck.h"
#include "caselist.h"
#include "ctlcheck.h"
#include "engine.h"
#include "outline.h"
#include "proto.h"
#include "reqcheck.h"
#include "result.h"
#include "script.h"
#include "target.h"

enum { EXIT_ALL_RAN = 0, EXIT_USAGE = 2, EXIT_FAULT = 3, EXIT_INTERRUPTED = 130 };

struct opts {
	struct runenv env;
	bool has_role;
	bool validate;
	bool check;             /* --check-cases: validate, then the model */
	bool check_control;     /* --check-control: no case, the target's channel */
	bool outline;           /* --outline: each case's steps and words, as JSON */
	bool list_json;         /* --list-json: each case's header, as JSON */
	const char *json;
	int ncases;
	char **cases;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: vhucheck-harness --target-role frontend|backend\n"
		"         (--target-cmd 'CMD with {fd} {socket} {control} {shmem_bit}'\n"
		"          | --connect PATH | --listen PATH)\n"
		"         [--target-pid PID] [--listener harness|target]\n"
		"         [--shmem-bit N] [--timeout-multiplier X]\n"
		"         [--trace-dir DIR] [--json FILE] [--launch-ahead]\n"
		"         CASE.vhu ...\n"
		"       vhucheck-harness --validate CASE.vhu ...\n"
		"       vhucheck-harness --check-cases CASE.vhu ...\n"
		"       vhucheck-harness --outline CASE.vhu ...\n"
		"       vhucheck-harness --list-json CASE.vhu ...\n"
		"       vhucheck-harness --check-control --target-role frontend|backend\n"
		"         --target-cmd 'CMD with {control}' [--shmem-bit N]\n"
		"         [--timeout-multiplier X] [--trace-dir DIR]\n"
		"\n"
		"--target-role is the role of the implementation under test (the\n"
		"harness plays the other), as a case's `target` line says it. One\n"
		"JSON line per case on stdout or in --json FILE. Exit: 0 all cases\n"
		"ran, 2 usage or script errors (nothing run), 3 harness fault, 130\n"
		"interrupted.\n"
		"--check-cases: each MAP/UNMAP reply a case expects, against the\n"
		"spec's model, and each case's requires against its steps;\n"
		"findings as file:line: message on stderr, exit 0\n"
		"none, 2 findings or script errors.\n"
		"--outline: one JSON line per case: its header lines, its steps\n"
		"(fd names defined and used, repeat blocks) and their words, for\n"
		"`vhucheck reduce`; exit 0, 2 script errors.\n"
		"--launch-ahead: once a case's target is up, the next case's\n"
		"target (a fresh one) is launched, so its start overlaps the case;\n"
		"one that waited more than 1 s (scaled) is replaced.\n"
		"--list-json: one JSON line per case file: its header, whether it\n"
		"parsed, its errors (the runner's catalogue); exit 0.\n"
		"--check-control: exercises the target's control channel\n"
		"(docs/control.md), one line per item on stdout; exit 0 every\n"
		"item fine, 1 not, 2 usage, 3 harness fault.\n");
}

static bool parse_number(const char *s, unsigned long long max,
			 unsigned long long *out)
{
	char *end;

	errno = 0;
	*out = strtoull(s, &end, 0);
	return *s && !*end && errno == 0 && *out <= max && s[0] != '-';
}

static bool parse_real(const char *s, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(s, &end);
	return *s && !*end && errno == 0;
}

/* One option; false on a bad value (message printed). */
static bool take_opt(struct opts *o, const char *name, const char *arg)
{
	unsigned long long v;
	double d;

	if (strcmp(name, "role") == 0) {
		/* It said the harness's role: refused, never reinterpreted. */
		fprintf(stderr, "vhucheck-harness: --role is gone: say --target-role %s "
			"(the role of the implementation under test)\n",
			strcmp(arg, "backend") == 0 ? "frontend"
			: strcmp(arg, "frontend") == 0 ? "backend" : "frontend|backend");
		return false;
	}
	if (strcmp(name, "target-role") == 0) {
		o->has_role = strcmp(arg, "backend") == 0 || strcmp(arg, "frontend") == 0;
		o->env.role = arg[0] == 'f' ? SCRIPT_ROLE_BACKEND : SCRIPT_ROLE_FRONTEND;
		if (!o->has_role)
			fprintf(stderr, "vhucheck-harness: --target-role %s: frontend or "
				"backend\n", arg);
		return o->has_role;
	}
	if (strcmp(name, "target-cmd") == 0)
		o->env.target_cmd = arg;
	else if (strcmp(name, "connect") == 0)
		o->env.connect_path = arg;
	else if (strcmp(name, "listen") == 0)
		o->env.listen_path = arg;
	else if (strcmp(name, "trace-dir") == 0)
		o->env.trace_dir = arg;
	else if (strcmp(name, "json") == 0)
		o->json = arg;
	else if (strcmp(name, "target-pid") == 0 && parse_number(arg, 1u << 30, &v) && v)
		o->env.target_pid = (pid_t)v;
	else if (strcmp(name, "shmem-bit") == 0 && parse_number(arg, 63, &v))
		o->env.shmem_bit = (unsigned)v;
	else if (strcmp(name, "timeout-multiplier") == 0 && parse_real(arg, &d))
		o->env.timeout_mult = d;
	else if (strcmp(name, "listener") == 0 && strcmp(arg, "harness") == 0)
		o->env.listener = RUNENV_LISTENER_HARNESS;
	else if (strcmp(name, "listener") == 0 && strcmp(arg, "target") == 0)
		o->env.listener = RUNENV_LISTENER_TARGET;
	else {
		fprintf(stderr, "vhucheck-harness: --%s %s: bad value\n", name, arg);
		return false;
	}
	return true;
}

/* 0 to go on, else the exit code. */
static int parse_args(struct opts *o, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "role", required_argument, NULL, 0 },
		{ "target-role", required_argument, NULL, 0 },
		{ "target-cmd", required_argument, NULL, 0 },
		{ "connect", required_argument, NULL, 0 },
		{ "listen", required_argument, NULL, 0 },
		{ "target-pid", required_argument, NULL, 0 },
		{ "listener", required_argument, NULL, 0 },
		{ "shmem-bit", required_argument, NULL, 0 },
		{ "timeout-multiplier", required_argument, NULL, 0 },
		{ "trace-dir", required_argument, NULL, 0 },
		{ "json", required_argument, NULL, 0 },
		{ "validate", no_argument, NULL, 'V' },
		{ "check-cases", no_argument, NULL, 'K' },
		{ "check-control", no_argument, NULL, 'C' },
		{ "outline", no_argument, NULL, 'O' },
		{ "list-json", no_argument, NULL, 'L' },
		{ "launch-ahead", no_argument, NULL, 'A' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c, idx;

	while ((c = getopt_long(argc, argv, "h", longopts, &idx)) != -1) {
		if (c == 'h') {
			usage(stdout);
			return -1;
		}
		if (c == 'C') {
			o->check_control = true;
		} else if (c == 'A') {
			o->env.launch_ahead = true;
		} else if (c == 'V' || c == 'K' || c == 'O' || c == 'L') {
			o->validate = true;
			o->check |= c == 'K';
			o->outline |= c == 'O';
			o->list_json |= c == 'L';
		} else if (c != 0 || !take_opt(o, longopts[idx].name, optarg)) {
			return EXIT_USAGE;
		}
	}
	o->cases = argv + optind;
	o->ncases = argc - optind;
	if (o->check_control && (o->ncases > 0 || o->validate)) {
		fprintf(stderr, "vhucheck-harness: --check-control takes no case\n");
		return EXIT_USAGE;
	}
	if (o->ncases == 0 && !o->check_control) {
		fprintf(stderr, "vhucheck-harness: no case files\n");
		return EXIT_USAGE;
	}
	if (!o->validate && !o->has_role) {
		fprintf(stderr, "vhucheck-harness: --target-role is required\n");
		return EXIT_USAGE;
	}
	return 0;
}

/* Parses every case; prints all errors. false when any. */
static bool parse_cases(const struct opts *o, struct script_case *cases)
{
	size_t cap = 64 * 1024;
	char *err = malloc(cap);
	bool ok = true;

	if (!err)
		return false;
	for (int i = 0; i < o->ncases; i++) {
		err[0] = '\0';
		if (script_parse_file(o->cases[i], &cases[i], err, cap) != 0) {
			fputs(err, stderr);
			ok = false;
			continue;
		}
		for (int j = 0; j < i; j++) {
			if (cases[j].steps && strcmp(cases[j].id, cases[i].id) == 0) {
				fprintf(stderr, "%s: id %s also in %s\n", o->cases[i],
					cases[i].id, o->cases[j]);
				ok = false;
			}
		}
		if (!o->validate && cases[i].role != o->env.role) {
			fprintf(stderr, "%s: the case is for a %s target, "
				"--target-role is %s\n", o->cases[i],
				script_target_role_name(cases[i].role),
				script_target_role_name(o->env.role));
			ok = false;
		}
	}
	free(err);
	return ok;
}

/* --outline: every case's outline on stdout; errors on stderr. */
static int outline_cases(const struct opts *o)
{
	char err[4096];
	int code = EXIT_ALL_RAN;

	for (int i = 0; i < o->ncases; i++) {
		err[0] = '\0';
		if (outline_file(stdout, o->cases[i], err, sizeof(err)) != 0) {
			fputs(err, stderr);
			code = EXIT_USAGE;
		}
	}
	return fflush(stdout) == 0 ? code : EXIT_FAULT;
}

/* --list-json: every case file's header on stdout, errors as data. */
static int list_cases(const struct opts *o)
{
	for (int i = 0; i < o->ncases; i++)
		if (caselist_write(stdout, o->cases[i]) < 0)
			return EXIT_FAULT;
	return fflush(stdout) == 0 ? EXIT_ALL_RAN : EXIT_FAULT;
}

/* fds 0-2 open, so that no socket of ours gets a number the target
 * would take for stdin/stdout/stderr. */
static void fill_std_fds(void)
{
	for (int fd = 0; fd < 3; fd++) {
		if (fcntl(fd, F_GETFD) >= 0)
			continue;
		int n = open("/dev/null", O_RDWR);

		if (n >= 0 && n != fd)
			close(n);
	}
}

/* SIGINT/SIGTERM to a signalfd the engine polls. -1 on failure. */
static int signals_to_fd(void)
{
	sigset_t set;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -1;
	return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

static int open_output(const char *json)
{
	int fd;

	if (!json)
		return STDOUT_FILENO;
	fd = open(json, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0)
		fprintf(stderr, "vhucheck-harness: %s: %s\n", json, strerror(errno));
	return fd;
}

static int run_cases(struct opts *o, struct script_case *cases, int out)
{
	struct result *r = malloc(sizeof(*r));
	int code = EXIT_ALL_RAN;

	if (!r)
		return EXIT_FAULT;
	for (int i = 0; i < o->ncases; i++) {
		int rc;

		o->env.next = i + 1 < o->ncases ? &cases[i + 1] : NULL;
		rc = engine_run(&o->env, &cases[i], r);

		if (result_write(out, r) < 0) {
			fprintf(stderr, "vhucheck-harness: writing the result of %s: %s\n",
				cases[i].id, strerror(errno));
			code = EXIT_FAULT;
			break;
		}
		if (rc == ENGINE_INTERRUPTED) {
			code = EXIT_INTERRUPTED;
			break;
		}
	}
	free(r);
	return code;
}

static int run(struct opts *o, struct script_case *cases)
{
	char err[512];
	int out, code, rc;

	if (target_setup() < 0)
		fprintf(stderr, "vhucheck-harness: cannot become a subreaper: %s\n",
			strerror(errno));
	o->env.cancel_fd = signals_to_fd();
	if (o->env.cancel_fd < 0) {
		fprintf(stderr, "vhucheck-harness: signalfd: %s\n", strerror(errno));
		return EXIT_FAULT;
	}
	rc = runenv_open(&o->env, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "vhucheck-harness: %s\n", err);
		close(o->env.cancel_fd);
		return rc == -EINVAL ? EXIT_USAGE : EXIT_FAULT;
	}
	out = open_output(o->json);
	if (out < 0) {
		runenv_close(&o->env);
		return EXIT_FAULT;
	}
	code = run_cases(o, cases, out);
	if (out != STDOUT_FILENO)
		close(out);
	runenv_close(&o->env);
	close(o->env.cancel_fd);
	return code;
}

/* --check-control: 0 every item fine, 1 not, 2 usage, 3 fault. */
static int check_control(struct opts *o)
{
	struct ctlcheck_report *rep = malloc(sizeof(*rep));
	char err[512];
	int rc, code;

	if (!rep)
		return EXIT_FAULT;
	o->env.cancel_fd = signals_to_fd();
	rc = runenv_open(&o->env, err, sizeof(err));
	if (rc == 0) {
		rc = ctlcheck_run(&o->env, rep, err, sizeof(err));
		runenv_close(&o->env);
	}
	if (rc < 0) {
		fprintf(stderr, "vhucheck-harness: %s\n", err);
		code = rc == -EINVAL ? EXIT_USAGE : rc == -EINTR ? EXIT_INTERRUPTED
								: EXIT_FAULT;
	} else {
		ctlcheck_print(rep, stdout);
		code = ctlcheck_passed(rep) ? 0 : 1;
	}
	if (o->env.cancel_fd >= 0)
		close(o->env.cancel_fd);
	free(rep);
	return code;
}

/* The requires findings of one case, printed; how many. */
static unsigned report_requires(const char *file, const struct script_case *c)
{
	struct reqcheck_report rr;

	reqcheck_case(c, &rr);
	for (unsigned j = 0; j < rr.nfindings; j++)
		fprintf(stderr, "%s:%u: %s\n", file, rr.f[j].line, rr.f[j].msg);
	if (rr.dropped)
		fprintf(stderr, "%s: %u more finding(s)\n", file, rr.dropped);
	return rr.nfindings + rr.dropped;
}

/* --check-cases: the findings of every case; 0 none, 2 some, 3 fault. */
static int check_cases(const struct opts *o, const struct script_case *cases)
{
	struct casecheck_report *r = malloc(sizeof(*r));
	unsigned findings = 0, judged = 0, open = 0;
	char err[256];
	int code = 0;

	if (!r)
		return EXIT_FAULT;
	for (int i = 0; i < o->ncases && code != EXIT_FAULT; i++) {
		if (casecheck_case(&cases[i], r, err, sizeof(err)) < 0) {
			fprintf(stderr, "vhucheck-harness: %s\n", err);
			code = EXIT_FAULT;
		}
		for (unsigned j = 0; j < r->nfindings; j++)
			fprintf(stderr, "%s:%u: %s\n", o->cases[i], r->f[j].line,
				r->f[j].msg);
		if (r->dropped)
			fprintf(stderr, "%s: %u more finding(s)\n", o->cases[i],
				r->dropped);
		findings += r->nfindings + r->dropped;
		findings += report_requires(o->cases[i], &cases[i]);
		judged += r->judged;
		open += r->open;
	}
	free(r);
	printf("%d case(s) checked: %u expectation(s) judged, %u left open, "
	       "%u finding(s)\n", o->ncases, judged, open, findings);
	return code ? code : findings ? EXIT_USAGE : 0;
}

int main(int argc, char **argv)
{
	struct opts o = { .env = { .shmem_bit = PROTO_SHMEM_BIT_DEFAULT, .timeout_mult = 1.0,
				   .cancel_fd = -1, .listen_fd = -1 } };
	struct script_case *cases;
	int code = parse_args(&o, argc, argv);

	if (code != 0)
		return code < 0 ? 0 : code;
	fill_std_fds();
	if (o.check_control) {
		if (target_setup() < 0)
			fprintf(stderr, "vhucheck-harness: cannot become a subreaper: "
				"%s\n", strerror(errno));
		return check_control(&o);
	}
	if (o.outline)
		return outline_cases(&o);
	if (o.list_json)
		return list_cases(&o);
	cases = calloc((size_t)o.ncases, sizeof(*cases));
	if (!cases)
		return EXIT_FAULT;
	if (!parse_cases(&o, cases)) {
		code = EXIT_USAGE;
	} else if (o.check) {
		code = check_cases(&o, cases);
	} else if (o.validate) {
		fprintf(stderr, "%d case(s) valid\n", o.ncases);
	} else {
		code = run(&o, cases);
	}
	for (int i = 0; i < o.ncases; i++)
		script_free(&cases[i]);
	free(cases);
	return code;
}
