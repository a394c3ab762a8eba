/* SPDX-License-Identifier: MIT */
/*
 * vhucheck-monitor: stands between a real front-end and a real back-end,
 * relays both channels, judges the traffic live, records it.
 *
 * Exit: 0 no error finding, 1 error findings, 2 usage, 3 the monitor
 * could not run the session (launch, connect, accept).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "chan.h"
#include "ctlscript.h"
#include "faultrule.h"
#include "monreport.h"
#include "proxy.h"
#include "target.h"
#include "tracefile.h"
#include "monjudge.h"

#ifndef VHU_VERSION
#define VHU_VERSION "0.1.0"
#endif

enum { EXIT_CLEAN = 0, EXIT_FINDINGS = 1, EXIT_USAGE = 2, EXIT_FAULT = 3 };

struct opts {
	const char *listen_path, *connect_path;
	const char *cmd[2];             /* front-end, back-end */
	const char *script_path, *record, *json, *log_dir;
	const char *print_trace, *trace_json;
	int connect_timeout_ms;
	bool quiet;
	struct proxy_opts po;
};

/* What a launched side has. */
struct side {
	struct target t;
	char socket[256];
	char log[512];
	int ctl[2];                     /* ours, theirs; -1 */
};

static void usage(FILE *f)
{
	fprintf(f,
"usage: vhucheck-monitor [options]\n"
"       vhucheck-monitor --print-trace FILE | --trace-json FILE\n"
"Relays a vhost-user session between a front-end and a back-end and\n"
"checks it live (docs/monitor.md).\n\n"
"  --listen PATH          socket the front-end connects to\n"
"  --connect PATH         the back-end's listening socket\n"
"  --frontend-cmd CMD     launch the front-end ({socket} {control} {shmem_bit})\n"
"  --backend-cmd CMD      launch the back-end (same placeholders)\n"
"  --shmem-bit N          the SHMEM protocol feature bit (22)\n"
"  --reply-timeout MS     a required reply later than this is a finding (2000)\n"
"  --msg-timeout MS       to finish or hand over one message (1000)\n"
"  --connect-timeout MS   to reach the back-end and be reached (10000)\n"
"  --duration MS          end after MS (default: when a side closes)\n"
"  --control-script FILE  lines for the targets' control channels\n"
"  --control-timeout MS   bound of each control-script wait (5000)\n"
"  --fault-rule RULE      drop:MSG delay:MSG:MS corrupt:MSG[:OFF[:XOR]]\n"
"                         duplicate:MSG inject-map:K=V,... (repeatable)\n"
"  --record FILE          write a trace file\n"
"  --json FILE            write the JSON report (- for stdout)\n"
"  --log-dir DIR          keep the targets' output as DIR/{frontend,backend}.log\n"
"  --quiet                no live finding lines on stderr\n");
}

static int num_opt(const char *name, const char *arg, long lo, long hi, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 0);
	if (errno || *end || v < lo || v > hi) {
		fprintf(stderr, "vhucheck-monitor: --%s: %ld..%ld\n", name, lo, hi);
		return -1;
	}
	*out = v;
	return 0;
}

static int add_rule(struct opts *o, const char *arg)
{
	char err[256];

	if (o->po.nrules == FAULTRULE_MAX) {
		fprintf(stderr, "vhucheck-monitor: at most %u fault rules\n",
			FAULTRULE_MAX);
		return -1;
	}
	if (faultrule_parse(arg, &o->po.rules[o->po.nrules], err, sizeof(err)) < 0) {
		fprintf(stderr, "vhucheck-monitor: --fault-rule: %s\n", err);
		return -1;
	}
	o->po.nrules++;
	return 0;
}

/* One option by its name; 0, or -1 after a message. */
static int take_opt(struct opts *o, const char *name, const char *arg)
{
	long v;

	if (!strcmp(name, "listen")) o->listen_path = arg;
	else if (!strcmp(name, "connect")) o->connect_path = arg;
	else if (!strcmp(name, "frontend-cmd")) o->cmd[0] = arg;
	else if (!strcmp(name, "backend-cmd")) o->cmd[1] = arg;
	else if (!strcmp(name, "control-script")) o->script_path = arg;
	else if (!strcmp(name, "record")) o->record = arg;
	else if (!strcmp(name, "json")) o->json = arg;
	else if (!strcmp(name, "log-dir")) o->log_dir = arg;
	else if (!strcmp(name, "print-trace")) o->print_trace = arg;
	else if (!strcmp(name, "trace-json")) o->trace_json = arg;
	else if (!strcmp(name, "quiet")) o->quiet = true;
	else if (!strcmp(name, "fault-rule")) return add_rule(o, arg);
	else {
		if (num_opt(name, arg, 0, 3600000, &v) < 0)
			return -1;
		if (!strcmp(name, "shmem-bit") && (v < 1 || v > 63)) {
			fprintf(stderr, "vhucheck-monitor: --shmem-bit: 1..63\n");
			return -1;
		}
		if (!strcmp(name, "shmem-bit")) o->po.shmem_bit = (unsigned)v;
		else if (!strcmp(name, "reply-timeout")) o->po.reply_timeout_ms = (int)v;
		else if (!strcmp(name, "msg-timeout")) o->po.msg_timeout_ms = (int)v;
		else if (!strcmp(name, "control-timeout")) o->po.control_timeout_ms = (int)v;
		else if (!strcmp(name, "connect-timeout")) o->connect_timeout_ms = (int)v;
		else if (!strcmp(name, "duration")) o->po.duration_ms = v;
	}
	return 0;
}

/* 0 run, 1 --help/--version done, -1 usage error. */
static int parse_args(struct opts *o, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "listen", 1, 0, 0 }, { "connect", 1, 0, 0 },
		{ "frontend-cmd", 1, 0, 0 }, { "backend-cmd", 1, 0, 0 },
		{ "shmem-bit", 1, 0, 0 }, { "reply-timeout", 1, 0, 0 },
		{ "msg-timeout", 1, 0, 0 }, { "connect-timeout", 1, 0, 0 },
		{ "duration", 1, 0, 0 }, { "control-script", 1, 0, 0 },
		{ "control-timeout", 1, 0, 0 }, { "fault-rule", 1, 0, 0 },
		{ "record", 1, 0, 0 }, { "json", 1, 0, 0 }, { "log-dir", 1, 0, 0 },
		{ "quiet", 0, 0, 0 }, { "print-trace", 1, 0, 0 },
		{ "trace-json", 1, 0, 0 }, { "help", 0, 0, 'h' },
		{ "version", 0, 0, 'V' }, { 0, 0, 0, 0 },
	};
	int c, idx;

	while ((c = getopt_long(argc, argv, "h", lo, &idx)) != -1) {
		if (c == 'h' || c == 'V') {
			if (c == 'h')
				usage(stdout);
			else
				printf("vhucheck-monitor %s\n", VHU_VERSION);
			return 1;
		}
		if (c != 0 || take_opt(o, lo[idx].name, optarg) < 0)
			return -1;
	}
	if (optind < argc) {
		fprintf(stderr, "vhucheck-monitor: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	if (o->print_trace || o->trace_json)
		return 0;
	if ((!o->cmd[0] && !o->listen_path) || (!o->cmd[1] && !o->connect_path)) {
		fprintf(stderr, "vhucheck-monitor: each side needs a command or a "
			"socket (--frontend-cmd/--listen, --backend-cmd/--connect)\n");
		return -1;
	}
	return 0;
}

/* ---- trace printing modes ---- */

static int print_trace(const char *path, bool json)
{
	struct tracefile_reader rd;
	struct tracefile_rec *r = malloc(sizeof(*r));
	char err[512], line[16384];
	int rc;

	if (!r || tracefile_open(&rd, path, err, sizeof(err)) < 0) {
		fprintf(stderr, "vhucheck-monitor: %s\n", r ? err : "out of memory");
		free(r);
		return EXIT_USAGE;
	}
	if (!json)
		printf("# %s: vhucheck trace v%u, shmem bit %u\n", path, rd.version,
		       rd.shmem_bit);
	else
		printf("{\"type\":\"header\",\"version\":%u,\"shmem_bit\":%u,"
		       "\"start_realtime_ns\":%" PRIu64 "}\n", rd.version,
		       rd.shmem_bit, rd.start_realtime_ns);
	while ((rc = tracefile_next(&rd, r)) == 1) {
		if (json)
			tracefile_format_json(r, rd.shmem_bit, line, sizeof(line));
		else
			tracefile_format(r, line, sizeof(line));
		printf("%s\n", line);
	}
	if (rc < 0)
		fprintf(stderr, "vhucheck-monitor: %s: malformed record at offset %zu\n",
			path, rd.pos);
	tracefile_free(&rd);
	free(r);
	return rc < 0 ? EXIT_FAULT : EXIT_CLEAN;
}

/* ---- launching and connecting ---- */

static const char *side_name(int s)
{
	return s ? "backend" : "frontend";
}

/* Prints the end of a target's log, for a launch that went wrong. */
static void show_log(const struct side *sd, int s)
{
	char buf[2048];
	FILE *f = sd->log[0] ? fopen(sd->log, "re") : NULL;
	size_t n;

	if (!f)
		return;
	fseek(f, 0, SEEK_END);
	if (ftell(f) > (long)sizeof(buf) - 1)
		fseek(f, -(long)(sizeof(buf) - 1), SEEK_END);
	else
		fseek(f, 0, SEEK_SET);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	if (n)
		fprintf(stderr, "vhucheck-monitor: end of the %s's output:\n%s%s",
			side_name(s), buf, buf[n - 1] == '\n' ? "" : "\n");
}

static int launch(const struct opts *o, struct side *sd, int s, const char *dir)
{
	char shmem_bit[16], control[16] = "", err[512];
	struct target_subst sub = { .socket = sd->socket, .shmem_bit = shmem_bit };
	struct target_argv av;
	int keep[1], nkeep = 0;

	snprintf(shmem_bit, sizeof(shmem_bit), "%u", o->po.shmem_bit);
	if (target_cmd_has(o->cmd[s], "{control}")) {
		if (chan_socketpair(sd->ctl) < 0)
			return -errno;
		snprintf(control, sizeof(control), "%d", sd->ctl[1]);
		sub.control = control;
		keep[nkeep++] = sd->ctl[1];
	}
	if (o->log_dir && mkdir(o->log_dir, 0755) < 0 && errno != EEXIST) {
		fprintf(stderr, "vhucheck-monitor: --log-dir %s: %s\n", o->log_dir,
			strerror(errno));
		return -errno;
	}
	snprintf(sd->log, sizeof(sd->log), "%s/%s.log", o->log_dir ? o->log_dir : dir,
		 side_name(s));
	if (target_split(o->cmd[s], &sub, &av, err, sizeof(err)) < 0 ||
	    target_spawn(&sd->t, av.argv, keep, (unsigned)nkeep, sd->log, err,
			 sizeof(err)) < 0) {
		fprintf(stderr, "vhucheck-monitor: %s command: %s\n", side_name(s), err);
		return -EINVAL;
	}
	if (sd->ctl[1] >= 0) {
		close(sd->ctl[1]);
		sd->ctl[1] = -1;
	}
	return 0;
}

/* Whether a launched side already ended (then the wait is pointless). */
static bool gone(struct side *sd, int s)
{
	if (!sd->t.pid || target_poll(&sd->t) != 1)
		return false;
	fprintf(stderr, "vhucheck-monitor: the %s ended before the session began "
		"(%s %d)\n", side_name(s), sd->t.signal ? "signal" : "exit",
		sd->t.signal ? sd->t.signal : sd->t.exit_code);
	show_log(sd, s);
	return true;
}

/* Connects to the back-end, or accepts the front-end, in short slices so
 * a target that dies is noticed at once. fd or -errno. */
static int reach(struct side *sd, int s, int lfd, int timeout_ms)
{
	int64_t end = chan_deadline(timeout_ms);

	while (chan_now_ms() < end) {
		int64_t slice = chan_deadline(100);
		int fd = s ? chan_connect(sd->socket, slice < end ? slice : end)
			   : chan_accept(lfd, slice < end ? slice : end);

		if (fd >= 0)
			return fd;
		if (fd != -ETIMEDOUT && fd != -ENOENT && fd != -ECONNREFUSED)
			return fd;
		if (gone(sd, s))
			return -ECHILD;
	}
	fprintf(stderr, "vhucheck-monitor: the %s did not %s %s within %d ms\n",
		side_name(s), s ? "accept on" : "connect to", sd->socket, timeout_ms);
	show_log(sd, s);
	return -ETIMEDOUT;
}

static int signals(void)
{
	sigset_t set;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -errno;
	return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

/* ---- the session ---- */

struct session {
	struct opts *o;
	struct side sd[2];
	char dir[64];
	int lfd, main_fd[2];
	struct proxy *p;
	struct tracefile_writer tw;
	int64_t started_unix_ms, t0;
};

/* Sockets, processes, connections. 0 or EXIT_FAULT. */
static int open_session(struct session *ss)
{
	struct opts *o = ss->o;

	snprintf(ss->sd[0].socket, sizeof(ss->sd[0].socket), "%s/frontend.sock", ss->dir);
	snprintf(ss->sd[1].socket, sizeof(ss->sd[1].socket), "%s/backend.sock", ss->dir);
	if (o->listen_path)
		snprintf(ss->sd[0].socket, sizeof(ss->sd[0].socket), "%s", o->listen_path);
	if (o->connect_path)
		snprintf(ss->sd[1].socket, sizeof(ss->sd[1].socket), "%s", o->connect_path);
	ss->lfd = chan_listen(ss->sd[0].socket);
	if (ss->lfd < 0) {
		fprintf(stderr, "vhucheck-monitor: listen on %s: %s\n",
			ss->sd[0].socket, strerror(-ss->lfd));
		return EXIT_FAULT;
	}
	if (o->cmd[1] && launch(o, &ss->sd[1], 1, ss->dir) < 0)
		return EXIT_FAULT;
	ss->main_fd[1] = reach(&ss->sd[1], 1, -1, o->connect_timeout_ms);
	if (ss->main_fd[1] < 0)
		return EXIT_FAULT;
	if (o->cmd[0] && launch(o, &ss->sd[0], 0, ss->dir) < 0)
		return EXIT_FAULT;
	ss->main_fd[0] = reach(&ss->sd[0], 0, ss->lfd, o->connect_timeout_ms);
	if (ss->main_fd[0] < 0)
		return EXIT_FAULT;
	/* One session: nobody else may connect. */
	close(ss->lfd);
	ss->lfd = -1;
	unlink(ss->sd[0].socket);
	return 0;
}

static int run_proxy(struct session *ss, int sig_fd)
{
	struct opts *o = ss->o;
	int ctl[2] = { ss->sd[0].ctl[0], ss->sd[1].ctl[0] };
	struct target *tg[2] = { ss->sd[0].t.pid ? &ss->sd[0].t : NULL,
				 ss->sd[1].t.pid ? &ss->sd[1].t : NULL };

	if (!o->quiet)
		o->po.live = stderr;
	if (o->record) {
		int rc = tracefile_create(&ss->tw, o->record, o->po.shmem_bit);

		if (rc < 0) {
			fprintf(stderr, "vhucheck-monitor: %s: %s\n", o->record, strerror(-rc));
			return EXIT_FAULT;
		}
		o->po.trace = &ss->tw;
	}
	ss->p = calloc(1, sizeof(*ss->p));
	if (!ss->p || proxy_init(ss->p, &o->po, ss->main_fd[0], ss->main_fd[1], ctl,
				 tg, sig_fd) < 0) {
		fprintf(stderr, "vhucheck-monitor: out of memory\n");
		return EXIT_FAULT;
	}
	ss->main_fd[0] = ss->main_fd[1] = -1;
	ss->sd[0].ctl[0] = ss->sd[1].ctl[0] = -1;
	proxy_run(ss->p);
	return 0;
}

/* Lets launched sides end by themselves (they saw EOF), then stops the
 * rest. A crash on the way out is still a finding. */
static void stop_targets(struct session *ss)
{
	int64_t end = chan_deadline(500);

	for (int s = 0; s < 2; s++) {
		struct target *t = &ss->sd[s].t;
		bool seen = ss->p && ss->p->tgt_seen_end[s];

		if (!t->pid)
			continue;
		if (target_wait(t, end) == 1 && !seen && ss->p)
			monjudge_on_process_end(&ss->p->mon, (enum monitor_side)s,
					       t->signal, t->exit_code, chan_now_ms());
		target_stop(t);
	}
}

static void fill_side(struct monreport_side *r, const struct session *ss, int s)
{
	const struct side *sd = &ss->sd[s];

	r->cmd = ss->o->cmd[s];
	r->socket = sd->socket;
	r->pid = sd->t.pid;
	r->ended = sd->t.ended;
	r->exited = sd->t.exited;
	r->exit_code = sd->t.exit_code;
	r->signal = sd->t.signal;
	r->log = ss->o->log_dir && sd->t.pid ? sd->log : NULL;
}

static int write_report(struct session *ss)
{
	struct proxy *p = ss->p;
	struct monreport_info in = {
		.version = VHU_VERSION, .shmem_bit = ss->o->po.shmem_bit,
		.started_unix_ms = ss->started_unix_ms,
		.duration_ms = (double)(chan_now_ms() - ss->t0),
		.end_reason = p->end_reason, .trace_path = ss->o->record,
		.relayed = p->relayed, .dropped = p->dropped, .injected = p->injected,
		.script_errors = p->script_errors, .rules = p->o.rules,
		.nrules = p->o.nrules,
	};
	FILE *f;
	int rc;

	fill_side(&in.side[0], ss, 0);
	fill_side(&in.side[1], ss, 1);
	f = strcmp(ss->o->json, "-") ? fopen(ss->o->json, "we") : stdout;
	if (!f) {
		fprintf(stderr, "vhucheck-monitor: %s: %s\n", ss->o->json, strerror(errno));
		return -errno;
	}
	rc = monreport_write(f, &in, &p->mon);
	if (f != stdout && fclose(f) != 0)
		rc = -EIO;
	return rc;
}

static void summary(const struct session *ss)
{
	const struct monitor *m = &ss->p->mon;

	fprintf(stderr, "vhucheck-monitor: %u messages (%u relayed), %u errors, "
		"%u warnings, %u notes; %s\n", m->nmsgs, ss->p->relayed,
		m->by_severity[0], m->by_severity[1], m->by_severity[2],
		ss->p->end_reason);
}

static void close_session(struct session *ss)
{
	if (ss->lfd >= 0) {
		close(ss->lfd);
		unlink(ss->sd[0].socket);
	}
	for (int s = 0; s < 2; s++) {
		if (ss->main_fd[s] >= 0)
			close(ss->main_fd[s]);
		for (int i = 0; i < 2; i++)
			if (ss->sd[s].ctl[i] >= 0)
				close(ss->sd[s].ctl[i]);
		target_stop(&ss->sd[s].t);
		if (!ss->o->log_dir && ss->sd[s].log[0])
			unlink(ss->sd[s].log);
	}
	if (!ss->o->connect_path && ss->sd[1].socket[0])
		unlink(ss->sd[1].socket);
	if (ss->p) {
		proxy_free(ss->p);
		free(ss->p);
	}
	rmdir(ss->dir);
}

static int run(struct opts *o, int sig_fd)
{
	struct session ss = { .o = o, .lfd = -1, .main_fd = { -1, -1 } };
	struct timespec rt;
	int rc;

	clock_gettime(CLOCK_REALTIME, &rt);
	ss.started_unix_ms = (int64_t)rt.tv_sec * 1000 + rt.tv_nsec / 1000000;
	ss.t0 = chan_now_ms();
	for (int s = 0; s < 2; s++) {
		target_init(&ss.sd[s].t);
		ss.sd[s].ctl[0] = ss.sd[s].ctl[1] = -1;
	}
	snprintf(ss.dir, sizeof(ss.dir), "/tmp/vhucheck-monitor.XXXXXX");
	if (!mkdtemp(ss.dir)) {
		fprintf(stderr, "vhucheck-monitor: mkdtemp: %s\n", strerror(errno));
		return EXIT_FAULT;
	}
	rc = open_session(&ss);
	if (rc == 0)
		rc = run_proxy(&ss, sig_fd);
	if (rc == 0) {
		stop_targets(&ss);
		if (o->json && write_report(&ss) < 0)
			rc = EXIT_FAULT;
		summary(&ss);
		if (rc == 0)
			rc = ss.p->mon.by_severity[0] ? EXIT_FINDINGS : EXIT_CLEAN;
	}
	if (o->po.trace && tracefile_close(&ss.tw) < 0) {
		fprintf(stderr, "vhucheck-monitor: %s: write error\n", o->record);
		rc = EXIT_FAULT;
	}
	close_session(&ss);
	return rc;
}

int main(int argc, char **argv)
{
	struct opts o = {
		.connect_timeout_ms = 10000,
		.po = { .shmem_bit = PROTO_SHMEM_BIT_DEFAULT, .reply_timeout_ms = 2000,
			.msg_timeout_ms = 1000, .control_timeout_ms = 5000 },
	};
	struct ctlscript *script = NULL;
	char err[512];
	int sig_fd, rc;

	rc = parse_args(&o, argc, argv);
	if (rc != 0)
		return rc > 0 ? EXIT_CLEAN : EXIT_USAGE;
	if (o.print_trace || o.trace_json)
		return print_trace(o.print_trace ? o.print_trace : o.trace_json,
				   o.trace_json != NULL);
	if (o.script_path) {
		script = malloc(sizeof(*script));
		if (!script || ctlscript_load(o.script_path, script, err, sizeof(err)) < 0) {
			fprintf(stderr, "vhucheck-monitor: %s\n", script ? err : "out of memory");
			free(script);
			return EXIT_USAGE;
		}
		o.po.script = script;
	}
	target_setup();
	sig_fd = signals();
	rc = run(&o, sig_fd);
	if (sig_fd >= 0)
		close(sig_fd);
	free(script);
	return rc;
}
