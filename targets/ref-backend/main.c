/* SPDX-License-Identifier: MIT */
/*
 * vhu-ref-backend: the reference vhost-user back-end as a program,
 * following the rst's "Backend program conventions" (--socket-path,
 * --fd, --print-capabilities, no daemonising, prompt exit on SIGTERM).
 * One poll loop serves the main channel, the back-end channel and the
 * control channel, where `map` / `unmap` make it send SHMEM_MAP /
 * SHMEM_UNMAP.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "refbe.h"
#include "refmain.h"
#include "refwait.h"
#include "refbemain.h"
#include "refbemap.h"
#include "refbesend.h"

struct be_prog {
	struct refmain_opts o;
	struct refbe_config cfg;
	struct refbe be;
	int listen_fd;
	int accept_ms;
	int64_t accept_deadline;
	int sigfd;
	int exit_code;
	struct ctl_reader ctl;
	struct refwait_gate main_gate;    /* half-sent messages wait here */
	struct refwait_gate backend_gate;
	int ctl_version;           /* 1, or what `version` agreed on */
	unsigned answers_due;      /* v2 map/unmap answered when done */
};

static void usage(void)
{
	printf("usage: vhu-ref-backend (--fd=N | --socket-path=PATH) [options]\n"
	       "The reference vhost-user back-end of vhucheck. With\n"
	       "--socket-path it listens there and serves one front-end at a\n"
	       "time; the first must connect within --accept-timeout.\n\n"
	       "  --regions=S[,S...]   GET_SHMEM_CONFIG sizes by shmid (1M)\n"
	       "  --accept-timeout=MS  (30000)\n"
	       "  --print-capabilities print the capabilities JSON and exit\n");
	refmain_usage_common(FAULT_ROLE_BACKEND);
}

static void print_capabilities(void)
{
	printf("{\"type\":\"vhu-ref\",\"features\":[\"shmem\"]}\n");
}

static int be_opt(struct be_prog *p, const char *name, const char *arg)
{
	int r = refmain_common_opt(&p->o, name, arg, FAULT_ROLE_BACKEND);

	if (r != 0)
		return r < 0 ? -1 : 0;
	if (strcmp(name, "regions") == 0) {
		if (refbe_parse_regions(&p->cfg, arg) < 0) {
			fprintf(stderr, "--regions: sizes like 1M,64k,0\n");
			return -1;
		}
	} else if (strcmp(name, "accept-timeout") == 0) {
		p->accept_ms = atoi(arg);
	}
	return 0;
}

/* 0 to run, 1 to exit 0 (help, capabilities), -1 on a usage error. */
static int parse_args(struct be_prog *p, int argc, char **argv)
{
	static const struct option opts[] = {
		REFMAIN_COMMON_OPTIONS,
		{ "regions", required_argument, NULL, 0 },
		{ "accept-timeout", required_argument, NULL, 0 },
		{ "print-capabilities", no_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c, idx;

	while ((c = getopt_long(argc, argv, "h", opts, &idx)) != -1) {
		if (c == 'h') {
			usage();
			return 1;
		}
		if (c == 'c') {
			print_capabilities();
			return 1;
		}
		if (c != 0 || be_opt(p, opts[idx].name, optarg) < 0)
			return -1;
	}
	if (refmain_check_connection(&p->o, optind, argc) < 0)
		return -1;
	p->cfg.shmem_bit = p->o.shmem_bit;
	p->cfg.reply_timeout_ms = p->o.reply_timeout_ms;
	p->cfg.faults = p->o.faults;
	return refmain_pfeatures(&p->o, refbe_supported_pfeatures(p->o.shmem_bit),
				 &p->cfg.pfeat_offer);
}

/* Why a call failed, for `ok result=fail reason=...`. */
static const char *fail_reason(int outcome)
{
	switch (outcome) {
	case REFBE_REFUSED: return "the front-end replied non-zero";
	case REFBE_NO_REPLY: return "no reply within --reply-timeout";
	case REFBE_BAD_REPLY: return "malformed reply (request, flags or size)";
	case REFBE_EOF: return "the back-end channel closed before the reply";
	case REFBE_SEND_FAILED: return "the request could not be sent";
	default: return "unknown outcome";
	}
}

/* refbe's on_done: in version 2 the map/unmap answer is the outcome. */
static void on_done(void *opaque, bool map, int outcome, bool sent_only)
{
	struct be_prog *p = opaque;
	char text[160];

	(void)map;
	if (p->answers_due == 0)
		return;
	p->answers_due--;
	if (outcome == REFBE_DONE)
		snprintf(text, sizeof(text), "result=%s", sent_only ? "sent" : "0");
	else
		snprintf(text, sizeof(text), "result=fail reason=%s",
			 fail_reason(outcome));
	refmain_ok(p->ctl.fd, text);
}

static bool on_map(struct be_prog *p, const struct ctl_cmd *cmd, int ctl_fd,
		   bool map)
{
	struct refbe_map_req req;
	char err[256];
	int r;

	r = map ? refbe_parse_map_cmd(cmd, &req, err, sizeof(err))
		: refbe_parse_unmap_cmd(cmd, &req, err, sizeof(err));
	if (r == 0)
		r = map ? refbe_check_map(&p->be, &req, err, sizeof(err))
			: refbe_check_unmap(&p->be, &req, err, sizeof(err));
	if (r < 0) {
		refmain_err(ctl_fd, err);
		return true;
	}
	if (p->ctl_version >= 2) {
		/* Version 2: answered by on_done once the call is done. */
		p->answers_due++;
		r = refbe_submit(&p->be, &req, map);
		if (r < 0) {
			p->answers_due--;
			refmain_err(ctl_fd, "refused: request not queued");
		}
		return true;
	}
	/* Version 1: the answer first; the harness reads it, then the
	 * back-end channel. */
	refmain_ok(ctl_fd, NULL);
	r = refbe_submit(&p->be, &req, map);
	if (r < 0)
		refmain_log(&p->o, "request not queued");
	return true;
}

static bool on_control(void *opaque, const struct ctl_cmd *cmd, int ctl_fd)
{
	struct be_prog *p = opaque;
	char buf[CTL_LINE_MAX * 3];

	if (strcmp(cmd->name, "map") == 0 || strcmp(cmd->name, "unmap") == 0)
		return on_map(p, cmd, ctl_fd, cmd->name[0] == 'm');
	if (strcmp(cmd->name, "version") == 0) {
		int v = refmain_on_version(cmd, ctl_fd);

		if (v > 0)
			p->ctl_version = v;
		return true;
	}
	if (strcmp(cmd->name, "dump") == 0 ||
	    strcmp(cmd->name, "get-config") == 0) {
		int n = cmd->name[0] == 'd'
				? refbe_dump(&p->be, buf, sizeof(buf))
				: refbe_dump_config(&p->be, buf, sizeof(buf));

		if (n < 0)
			refmain_err(ctl_fd, "answer too long");
		else
			refmain_ok(ctl_fd, buf);
	} else if (strcmp(cmd->name, "reset") == 0) {
		refmain_ok(ctl_fd, NULL);
		refbe_reset(&p->be);
	} else if (strcmp(cmd->name, "quit") == 0) {
		refmain_ok(ctl_fd, NULL);
		return false;
	} else {
		snprintf(buf, sizeof(buf), "unknown command '%s'", cmd->name);
		refmain_err(ctl_fd, buf);
	}
	return true;
}

/* The listening socket is readable: take the next front-end. */
static void accept_one(struct be_prog *p)
{
	int fd = chan_accept(p->listen_fd, chan_deadline(0));

	if (fd < 0) {
		if (fd != -EAGAIN && fd != -ETIMEDOUT)
			refmain_log(&p->o, "accept failed");
		return;
	}
	refbe_attach_main(&p->be, fd);
}

/* The main channel is gone: in socket mode wait for the next front-end,
 * with --fd there is nothing more to do. */
static bool main_gone(struct be_prog *p)
{
	refbe_disconnect(&p->be);
	/* Calls dropped with the connection still get their answer. */
	for (; p->answers_due; p->answers_due--)
		refmain_ok(p->ctl.fd, "result=fail reason=the connection closed "
			   "before the call was done");
	return p->listen_fd >= 0;
}

/* How long poll may sleep: up to the awaited reply's deadline. */
static int poll_timeout(const struct be_prog *p)
{
	int64_t due, left;

	if (!refbe_waiting(&p->be, &due))
		return 1000;
	left = due - chan_now_ms();
	return left <= 0 ? 0 : left > 1000 ? 1000 : (int)left;
}

/* Whether the channel polled in f is to be read now, and with which
 * deadline: a half-sent message is left alone (the loop keeps serving the
 * rest) until it is whole or --reply-timeout late. */
static bool read_now(struct be_prog *p, struct refwait_gate *g,
		     const struct pollfd *f, int64_t *deadline)
{
	enum refwait_read r;

	if (f->fd < 0 || !(f->revents || f->events == POLLRDHUP))
		return false;
	r = refwait_gate_check(g, f->fd, g == &p->backend_gate
				   ? refbe_partial_patience(&p->be,
							    p->cfg.reply_timeout_ms)
				   : p->cfg.reply_timeout_ms);
	*deadline = chan_deadline(r == REFWAIT_READ_OVERDUE
					  ? -1 : p->cfg.reply_timeout_ms);
	return r != REFWAIT_LATER;
}

/* The main channel: a front-end's requests, or a new front-end. Returns
 * false when the program should end. */
static bool serve_main(struct be_prog *p, bool listening,
		       const struct pollfd *f)
{
	int64_t deadline;

	if (listening) {
		if (f->revents)
			accept_one(p);
		return true;
	}
	if (!read_now(p, &p->main_gate, f, &deadline) ||
	    refbe_service_main(&p->be, deadline) != 1)
		return true;
	return main_gone(p);
}

/* Whether the main channel is left alone now: while a reply is awaited
 * the main channel is served as by a back-end with a thread per channel,
 * so it never depends on the front-end replying first (digest 9). The
 * fault restores the single dispatch thread blocked in its call. */
static bool main_blocked(const struct be_prog *p, bool waiting)
{
	return waiting && fault_on(&p->cfg.faults,
				   FAULT_BE_BLOCKS_MAIN_WHILE_WAITING);
}

/* One poll round. false when the program should end. */
static bool poll_once(struct be_prog *p)
{
	bool waiting = refbe_waiting(&p->be, NULL);
	bool listening = p->be.main.fd < 0 && p->listen_fd >= 0;
	int mfd = main_blocked(p, waiting) || listening ? -1 : p->be.main.fd;
	int bfd = p->be.backend_deaf ? -1 : p->be.backend.fd;
	struct pollfd f[4] = {
		{ .fd = p->sigfd, .events = POLLIN },
		{ .fd = p->ctl.fd, .events = POLLIN },
		{ .fd = listening && !waiting ? p->listen_fd : mfd,
		  .events = listening ? POLLIN
				      : refwait_gate_events(&p->main_gate, mfd) },
		{ .fd = bfd,
		  .events = refwait_gate_events(&p->backend_gate, bfd) },
	};
	int timeout = refwait_gate_timeout(&p->main_gate, mfd,
					   poll_timeout(p));
	int64_t deadline;
	int n;

	timeout = refwait_gate_timeout(&p->backend_gate, bfd, timeout);
	n = poll(f, 4, timeout);
	if (n < 0)
		return errno == EINTR;
	if (f[0].revents && refmain_signalled(p->sigfd))
		return false;
	if (read_now(p, &p->backend_gate, &f[3], &deadline))
		refbe_service_backend(&p->be, deadline);
	refbe_check_timeout(&p->be);
	if (f[2].fd >= 0 && p->be.main.fd == (listening ? -1 : mfd) &&
	    !serve_main(p, listening, &f[2]))
		return false;
	if (f[1].revents && refmain_serve_control(&p->ctl, on_control, p) <= 0)
		return false;
	if (p->accept_deadline && p->be.main.fd < 0 &&
	    chan_now_ms() > p->accept_deadline) {
		refmain_log(&p->o, "no front-end connected in time");
		p->exit_code = 1;
		return false;
	}
	if (p->be.main.fd >= 0)
		p->accept_deadline = 0;
	return true;
}

static int setup(struct be_prog *p)
{
	p->sigfd = refmain_signalfd();
	if (p->sigfd < 0) {
		fprintf(stderr, "signalfd: %s\n", strerror(-p->sigfd));
		return -1;
	}
	p->listen_fd = -1;
	if (p->o.socket_path) {
		p->listen_fd = chan_listen(p->o.socket_path);
		if (p->listen_fd < 0) {
			fprintf(stderr, "vhu-ref-backend: listen %s: %s\n",
				p->o.socket_path, strerror(-p->listen_fd));
			return -1;
		}
		p->accept_deadline = chan_deadline(p->accept_ms);
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct be_prog p;
	int r;

	memset(&p, 0, sizeof(p));
	refmain_opts_init(&p.o, "vhu-ref-backend");
	refbe_config_default(&p.cfg);
	p.accept_ms = 30000;
	r = parse_args(&p, argc, argv);
	if (r != 0)
		return r > 0 ? 0 : 2;
	p.cfg.log = refmain_log;
	p.cfg.log_opaque = &p.o;
	p.cfg.on_done = on_done;
	p.cfg.done_opaque = &p;
	p.ctl_version = 1;
	if (p.o.verbose) {
		p.cfg.trace = refmain_trace;
		p.cfg.trace_opaque = &p.o;
	}
	if (setup(&p) < 0)
		return 1;
	ctl_reader_init(&p.ctl, p.o.control_fd);
	/* Waits inside a message or a send end on a signal too. */
	p.cfg.cancel_fd = p.sigfd;
	refbe_init(&p.be, &p.cfg);
	if (p.o.fd >= 0)
		refbe_attach_main(&p.be, p.o.fd);
	while (poll_once(&p))
		;
	refbe_free(&p.be);
	if (p.listen_fd >= 0) {
		close(p.listen_fd);
		unlink(p.o.socket_path);
	}
	return p.exit_code;
}
