/* SPDX-License-Identifier: MIT */
/*
 * vhu-chaos: a vhost-user peer that misbehaves on purpose, to prove that
 * vhucheck-harness and ./vhucheck survive any target: no hang, no crash,
 * no leak, no lost result. It plays the front-end or the back-end
 * (--role, the role of this program), is launched like the reference
 * targets, and misbehaves as --mode and --seed say (docs/chaos.md).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "chaos_act.h"
#include "chaos_be.h"
#include "chaos_fe.h"
#include "chaos_peer.h"

#define CONNECT_MS 5000
#define ACCEPT_MS 10000
#define SEQ_LOCK_MS 2000

/* What differs between the two roles. */
struct persona {
	void (*on_main)(struct chaos_peer *p, struct chan_msg *m);
	void (*on_backend)(struct chaos_peer *p, struct chan_msg *m);
	void (*on_control)(struct chaos_peer *p, const struct ctl_cmd *cmd);
	void (*flood)(struct chaos_peer *p, unsigned ms);
};

static const struct persona as_backend = { chaos_be_on_main,
	chaos_be_on_backend, chaos_be_on_control, chaos_be_flood };
static const struct persona as_frontend = { chaos_fe_on_main,
	chaos_fe_on_backend, chaos_fe_on_control, chaos_fe_flood };

struct opts {
	int frontend;            /* -1 unset, 0 back-end, 1 front-end */
	int fd, control_fd;
	const char *socket_path;
	const char *seed_seq;
	const char *parent_fds;  /* --note-parent-fds */
	unsigned shmem_bit;
	uint64_t seed;
	int mode;                /* or CHAOS_MODE_RANDOM / _CYCLE */
};

struct prog {
	struct opts o;
	struct chaos_peer peer;
	const struct persona *ops;
	int sigfd;
	int listen_fd;
};

static void log_line(void *opaque, const char *msg)
{
	(void)opaque;
	fprintf(stderr, "vhu-chaos[%d]: %s\n", (int)getpid(), msg);
}

static void usage(void)
{
	printf("usage: vhu-chaos --role=frontend|backend (--fd=N | "
	       "--socket-path=PATH) [options]\n"
	       "A vhost-user peer that misbehaves on purpose (docs/chaos.md).\n\n"
	       "  --role=R            the role of this program\n"
	       "  --fd=N              use the connected socket N\n"
	       "  --socket-path=PATH  connect (front-end) or listen (back-end)\n"
	       "  --control-fd=N      control channel (docs/control.md)\n"
	       "  --shmem-bit=N       protocol feature bit of SHMEM (%d)\n"
	       "  --mode=NAME         what to do wrong (--list-modes); random:\n"
	       "                      picked from the seed; cycle: each mode in\n"
	       "                      turn, one per --seed-seq step\n"
	       "  --seed=N            the seed (1)\n"
	       "  --seed-seq=FILE     add a counter kept in FILE to the seed, one\n"
	       "                      step per launch (a new seed per case)\n"
	       "  --tag=TEXT          ignored: a marker for finding our processes\n"
	       "  --note-parent-fds=FILE  append how many fds our parent (the\n"
	       "                      harness) has open as we start: a leak in\n"
	       "                      it grows from case to case\n"
	       "  --list-modes        the modes, one a line\n"
	       "  --print-capabilities\n",
	       PROTO_SHMEM_BIT_DEFAULT);
}

static void list_modes(void)
{
	for (unsigned i = 0; i < CHAOS_MODE_COUNT; i++)
		printf("%-14s %s\n", chaos_mode_name((enum chaos_mode)i),
		       chaos_mode_help((enum chaos_mode)i));
}

static int parse_num(const char *name, const char *arg, uint64_t max,
		     uint64_t *out)
{
	char *end;

	errno = 0;
	*out = strtoull(arg, &end, 0);
	if (errno || end == arg || *end || *out > max || arg[0] == '-') {
		fprintf(stderr, "vhu-chaos: --%s: bad value '%s'\n", name, arg);
		return -1;
	}
	return 0;
}

/* One option with a value. -1 on a bad one (message printed). */
static int set_opt(struct opts *o, const char *name, const char *arg)
{
	uint64_t v = 0;
	int r = 0;

	if (strcmp(name, "role") == 0) {
		o->frontend = strcmp(arg, "frontend") == 0 ? 1
			      : strcmp(arg, "backend") == 0 ? 0 : -2;
		if (o->frontend == -2) {
			fprintf(stderr, "vhu-chaos: --role: frontend or backend\n");
			r = -1;
		}
	} else if (strcmp(name, "mode") == 0) {
		if ((o->mode = chaos_mode_by_name(arg)) < 0) {
			fprintf(stderr, "vhu-chaos: --mode: unknown '%s' "
				"(--list-modes)\n", arg);
			r = -1;
		}
	} else if (strcmp(name, "fd") == 0 || strcmp(name, "control-fd") == 0) {
		r = parse_num(name, arg, 1 << 20, &v);
		*(name[0] == 'f' ? &o->fd : &o->control_fd) = (int)v;
	} else if (strcmp(name, "shmem-bit") == 0) {
		r = parse_num(name, arg, 63, &v);
		o->shmem_bit = (unsigned)v;
	} else if (strcmp(name, "seed") == 0) {
		r = parse_num(name, arg, UINT64_MAX, &o->seed);
	} else if (strcmp(name, "socket-path") == 0) {
		o->socket_path = arg;
	} else if (strcmp(name, "seed-seq") == 0) {
		o->seed_seq = arg;
	} else if (strcmp(name, "note-parent-fds") == 0) {
		o->parent_fds = arg;
	}
	return r;
}

/* 0 to run, 1 to exit 0, -1 on a usage error. */
static int parse_args(struct opts *o, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "role", required_argument, NULL, 0 },
		{ "fd", required_argument, NULL, 0 },
		{ "socket-path", required_argument, NULL, 0 },
		{ "control-fd", required_argument, NULL, 0 },
		{ "shmem-bit", required_argument, NULL, 0 },
		{ "mode", required_argument, NULL, 0 },
		{ "seed", required_argument, NULL, 0 },
		{ "seed-seq", required_argument, NULL, 0 },
		{ "tag", required_argument, NULL, 0 },
		{ "note-parent-fds", required_argument, NULL, 0 },
		{ "list-modes", no_argument, NULL, 'l' },
		{ "print-capabilities", no_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c, idx;

	while ((c = getopt_long(argc, argv, "h", lo, &idx)) != -1) {
		if (c == 'h' || c == 'l' || c == 'c') {
			c == 'h' ? usage() : c == 'l' ? list_modes()
			: (void)printf("{\"type\":\"vhu-chaos\",\"features\":[]}\n");
			return 1;
		}
		if (c != 0 || set_opt(o, lo[idx].name, optarg) < 0)
			return -1;
	}
	if (optind < argc || o->frontend < 0 ||
	    (o->fd < 0) == (o->socket_path == NULL)) {
		fprintf(stderr, "vhu-chaos: give --role and exactly one of --fd "
			"and --socket-path (--help)\n");
		return -1;
	}
	return 0;
}

/* The launch counter kept in path: returns its value and stores +1. */
static int seq_next(const char *path, uint64_t *n)
{
	int64_t end = chan_deadline(SEQ_LOCK_MS);
	char buf[32] = "";
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

	if (fd < 0)
		return -errno;
	while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno != EWOULDBLOCK || chan_now_ms() > end) {
			close(fd);
			return -ETIMEDOUT;
		}
		usleep(1000);
	}
	if (read(fd, buf, sizeof(buf) - 1) < 0)
		buf[0] = '\0';
	*n = strtoull(buf, NULL, 10);
	if (ftruncate(fd, 0) == 0 && lseek(fd, 0, SEEK_SET) == 0)
		dprintf(fd, "%llu\n", (unsigned long long)*n + 1);
	close(fd);
	return 0;
}

/* Counts the entries of /proc/PPID/fd and appends "N\n" to path. */
static int note_parent_fds(const char *path)
{
	char dir[64];
	struct dirent *e;
	DIR *d;
	int n = 0, fd;

	snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)getppid());
	if (!(d = opendir(dir)))
		return -errno;
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	dprintf(fd, "%d\n", n);
	close(fd);
	return 0;
}

static int signal_fd(void)
{
	sigset_t set;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -errno;
	return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

/* ---- the loop ---- */

static void serve_channel(struct prog *g, struct chan *c,
			  void (*fn)(struct chaos_peer *, struct chan_msg *))
{
	struct chan_msg m;
	int st = chaos_peer_recv(&g->peer, c, &m, CHAOS_PEER_REPLY_MS);

	if (st == CHAN_OK || st == CHAN_TOO_MANY_FDS)
		fn(&g->peer, &m);
	if (st != CHAN_TIMEOUT)
		chan_msg_release(&m);
}

static void serve_control(struct prog *g)
{
	struct ctl_reader *r = &g->peer.ctl;
	char line[CTL_LINE_MAX], err[160];
	struct ctl_cmd cmd;
	int got;

	if (ctl_reader_fill(r) < 0 && !r->eof)
		return;
	while (!g->peer.quit && r->fd >= 0 &&
	       (got = ctl_reader_next(r, line, sizeof(line))) != 0) {
		int e = got < 0 ? -E2BIG : ctl_parse(line, &cmd, err, sizeof(err));

		if (e == -E2BIG)
			chaos_peer_err(&g->peer, "line too long");
		else if (e < 0 && e != -ENODATA)
			chaos_peer_err(&g->peer, err);
		else if (e == 0)
			g->ops->on_control(&g->peer, &cmd);
	}
	if (r->eof && r->fd >= 0) {
		close(r->fd);
		r->fd = -1;
	}
}

static void accept_one(struct prog *g)
{
	int fd = chan_accept(g->listen_fd, chan_deadline(0));

	if (fd >= 0)
		chan_init(&g->peer.main, fd, "main", PROTO_CHAN_MAIN);
}

static void maybe_flood(struct prog *g)
{
	struct chaos_plan *pl = &g->peer.plan;

	if (pl->mode != CHAOS_FLOOD || pl->done || !chaos_plan_active(pl))
		return;
	pl->done = true;
	g->ops->flood(&g->peer, chaos_range(pl, 1000, 5000));
}

/* Whether anything is left to serve. After close-mid, we linger until
 * SIGTERM: a dead channel and a live process is the case to test. */
static bool still_useful(const struct prog *g)
{
	const struct chaos_peer *p = &g->peer;

	return p->wire.closed || p->main.fd >= 0 || p->backend.fd >= 0 ||
	       g->listen_fd >= 0 || p->ctl.fd >= 0;
}

/* One poll round. false when the program should end. */
static bool poll_once(struct prog *g)
{
	struct chaos_peer *p = &g->peer;
	bool listening = p->main.fd < 0 && g->listen_fd >= 0;
	struct pollfd f[4] = {
		{ .fd = g->sigfd, .events = POLLIN },
		{ .fd = p->ctl.fd, .events = POLLIN },
		{ .fd = listening ? g->listen_fd : p->main.fd, .events = POLLIN },
		{ .fd = p->backend.fd, .events = POLLIN },
	};
	struct signalfd_siginfo si;

	if (poll(f, 4, 1000) < 0)
		return errno == EINTR;
	if (f[0].revents && read(g->sigfd, &si, sizeof(si)) == sizeof(si))
		return false;
	if (f[2].revents && listening)
		accept_one(g);
	else if (f[2].revents)
		serve_channel(g, &p->main, g->ops->on_main);
	if (f[3].revents)
		serve_channel(g, &p->backend, g->ops->on_backend);
	if (f[1].revents)
		serve_control(g);
	return !p->quit && still_useful(g);
}

static void run(struct prog *g)
{
	do
		maybe_flood(g);
	while (poll_once(g));
}

/* ---- set-up ---- */

static int connect_main(struct prog *g)
{
	struct chaos_peer *p = &g->peer;

	if (g->o.fd >= 0) {
		chan_init(&p->main, g->o.fd, "main", PROTO_CHAN_MAIN);
		return 0;
	}
	if (g->o.frontend)
		return chaos_fe_connect(p, CONNECT_MS);
	g->listen_fd = chan_listen(g->o.socket_path);
	if (g->listen_fd < 0)
		return g->listen_fd;
	accept_one(g);
	return 0;
}

static int setup(struct prog *g)
{
	enum chaos_mode mode;
	uint64_t step = 0;
	int r = 0;

	if (g->o.seed_seq && (r = seq_next(g->o.seed_seq, &step)) < 0) {
		fprintf(stderr, "vhu-chaos: --seed-seq %s: %s\n", g->o.seed_seq,
			strerror(-r));
		return -1;
	}
	if (g->o.parent_fds && (r = note_parent_fds(g->o.parent_fds)) < 0)
		fprintf(stderr, "vhu-chaos: --note-parent-fds: %s\n", strerror(-r));
	mode = g->o.mode == CHAOS_MODE_CYCLE ? chaos_mode_cycle(step)
					     : (enum chaos_mode)g->o.mode;
	chaos_peer_init(&g->peer, mode, g->o.seed + step, g->o.shmem_bit);
	g->peer.log.fn = log_line;
	g->peer.socket_path = g->o.socket_path;
	g->peer.ctl.fd = g->o.control_fd;
	g->ops = g->o.frontend ? &as_frontend : &as_backend;
	fprintf(stderr, "vhu-chaos[%d]: role=%s mode=%s seed=%llu trigger=%u\n",
		(int)getpid(), g->o.frontend ? "frontend" : "backend",
		chaos_mode_name(g->peer.plan.mode),
		(unsigned long long)g->peer.plan.seed, g->peer.plan.trigger);
	if (g->peer.plan.trigger == 0)
		chaos_act_run(&g->peer.plan, &g->peer.log);
	g->sigfd = signal_fd();
	if (g->sigfd < 0 || (r = connect_main(g)) < 0) {
		fprintf(stderr, "vhu-chaos: cannot connect: %s\n",
			strerror(g->sigfd < 0 ? errno : -r));
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct prog g;
	int r;

	memset(&g, 0, sizeof(g));
	g.o = (struct opts){ .frontend = -1, .fd = -1, .control_fd = -1,
			     .shmem_bit = PROTO_SHMEM_BIT_DEFAULT, .seed = 1,
			     .mode = CHAOS_MODE_RANDOM };
	g.listen_fd = -1;
	r = parse_args(&g.o, argc, argv);
	if (r != 0)
		return r > 0 ? 0 : 2;
	if (setup(&g) < 0)
		return 1;
	if (g.o.frontend && chaos_fe_handshake(&g.peer) == 0 &&
	    g.peer.ctl.fd < 0)
		chaos_fe_start(&g.peer);
	run(&g);
	chaos_peer_free(&g.peer);
	if (g.listen_fd >= 0) {
		close(g.listen_fd);
		unlink(g.o.socket_path);
	}
	close(g.sigfd);
	return 0;
}
