/* SPDX-License-Identifier: MIT */
/*
 * vhu-ref-frontend: the reference vhost-user front-end as a program.
 * Connects (or is handed a connected socket), runs the handshake, then
 * serves the back-end channel, the main channel and the control channel
 * from one poll loop until SIGTERM, `quit`, or nothing is left to serve.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "reffe.h"
#include "refmain.h"
#include "refwait.h"
#include "reffemain.h"
#include "refannounce.h"
#include "refshmem.h"

#define HANDSHAKE_MS 5000

struct fe_prog {
	struct refmain_opts o;
	struct reffe_config cfg;
	struct reffe fe;
	bool auto_start;
	int connect_ms;
	int sigfd;
	struct ctl_reader ctl;
	struct refwait_gate main_gate;    /* half-sent messages wait here */
	struct refwait_gate backend_gate;
};

static void usage(void)
{
	printf("usage: vhu-ref-frontend (--fd=N | --socket-path=PATH) [options]\n"
	       "The reference vhost-user front-end of vhucheck. With\n"
	       "--socket-path it connects to a listening back-end, retrying\n"
	       "until --connect-timeout.\n\n"
	       "  --auto-start         start the device after the handshake\n"
	       "  --announce=on|off    tell the back-end about new mappings\n"
	       "                       (ADD_MEM_REG or SET_MEM_TABLE; off)\n"
	       "  --lenient            take the other choice where the digest\n"
	       "                       leaves it open: ignore unknown MMap flag\n"
	       "                       bits, map past a file's end, close the\n"
	       "                       fds an UNMAP carries (as QEMU v11 does)\n"
	       "  --connect-timeout=MS (5000)\n"
	       "  --guest-mem=SIZE     guest RAM memfd size (1M)\n");
	refmain_usage_common(FAULT_ROLE_FRONTEND);
}

static int fe_opt(struct fe_prog *p, const char *name, const char *arg)
{
	uint64_t v;
	int r = refmain_common_opt(&p->o, name, arg, FAULT_ROLE_FRONTEND);

	if (r != 0)
		return r < 0 ? -1 : 0;
	if (strcmp(name, "auto-start") == 0) {
		p->auto_start = true;
	} else if (strcmp(name, "lenient") == 0) {
		p->cfg.lenient = true;
	} else if (strcmp(name, "announce") == 0) {
		if (strcmp(arg, "on") && strcmp(arg, "off")) {
			fprintf(stderr, "--announce: on or off\n");
			return -1;
		}
		p->cfg.announce = strcmp(arg, "on") == 0;
	} else if (strcmp(name, "connect-timeout") == 0) {
		p->connect_ms = atoi(arg);
	} else if (strcmp(name, "guest-mem") == 0) {
		if (ctl_parse_u64(arg, &v) < 0 || v < 0x10000 || v > (1u << 30)) {
			fprintf(stderr, "--guest-mem: 64k..1G\n");
			return -1;
		}
		p->cfg.guest_mem_size = v;
	}
	return 0;
}

/* 0 to run, 1 for --help, -1 on a usage error. */
static int parse_args(struct fe_prog *p, int argc, char **argv)
{
	static const struct option opts[] = {
		REFMAIN_COMMON_OPTIONS,
		{ "auto-start", no_argument, NULL, 0 },
		{ "lenient", no_argument, NULL, 0 },
		{ "announce", required_argument, NULL, 0 },
		{ "connect-timeout", required_argument, NULL, 0 },
		{ "guest-mem", required_argument, NULL, 0 },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c, idx;

	while ((c = getopt_long(argc, argv, "h", opts, &idx)) != -1) {
		if (c == 'h') {
			usage();
			return 1;
		}
		if (c != 0 || fe_opt(p, opts[idx].name, optarg) < 0)
			return -1;
	}
	if (refmain_check_connection(&p->o, optind, argc) < 0)
		return -1;
	p->cfg.shmem_bit = p->o.shmem_bit;
	p->cfg.reply_timeout_ms = p->o.reply_timeout_ms;
	p->cfg.faults = p->o.faults;
	return refmain_pfeatures(&p->o, reffe_supported_pfeatures(p->o.shmem_bit),
				 &p->cfg.pfeat_want);
}

/* Connects (socket-path mode) and runs the handshake. */
static int connect_and_handshake(struct fe_prog *p, char *err, size_t errcap)
{
	if (p->o.socket_path) {
		int fd = refwait_connect(p->o.socket_path, p->sigfd,
					 chan_deadline(p->connect_ms));

		if (fd < 0) {
			snprintf(err, errcap, "connect %s: %s", p->o.socket_path,
				 strerror(-fd));
			return fd;
		}
		reffe_attach_main(&p->fe, fd);
	}
	return reffe_handshake(&p->fe, chan_deadline(HANDSHAKE_MS), err, errcap);
}

static int start_if_asked(struct fe_prog *p, char *err, size_t errcap)
{
	if (!p->auto_start)
		return 0;
	return reffe_start(&p->fe, chan_deadline(p->cfg.reply_timeout_ms), err,
			   errcap);
}

static void do_reconnect(struct fe_prog *p)
{
	char err[256];

	reffe_disconnect(&p->fe);
	if (connect_and_handshake(p, err, sizeof(err)) < 0 ||
	    start_if_asked(p, err, sizeof(err)) < 0)
		refmain_log(&p->o, err);
}

/* Commands that change the device: answered before they act. */
static void lifecycle_cmd(struct fe_prog *p, const char *name, int ctl_fd)
{
	int64_t deadline = chan_deadline(p->cfg.reply_timeout_ms);
	char err[256] = "";
	int r;

	if (!reffe_connected(&p->fe)) {
		refmain_err(ctl_fd, "not connected");
		return;
	}
	refmain_ok(ctl_fd, NULL);
	if (strcmp(name, "start") == 0)
		r = reffe_start(&p->fe, deadline, err, sizeof(err));
	else if (strcmp(name, "stop") == 0)
		r = reffe_stop(&p->fe, deadline, err, sizeof(err));
	else
		r = reffe_reset(&p->fe, deadline, err, sizeof(err));
	if (r < 0 && r != -ECANCELED)
		refmain_log(&p->o, err);
}

static bool on_control(void *opaque, const struct ctl_cmd *cmd, int ctl_fd)
{
	struct fe_prog *p = opaque;
	char buf[CTL_LINE_MAX * 3];

	if (strcmp(cmd->name, "start") == 0 || strcmp(cmd->name, "stop") == 0 ||
	    strcmp(cmd->name, "reset") == 0) {
		lifecycle_cmd(p, cmd->name, ctl_fd);
	} else if (strcmp(cmd->name, "reconnect") == 0) {
		if (!p->o.socket_path) {
			/* Handed one connected socket (--fd), it has nothing
			 * to open a new connection to. */
			refmain_unsupported(ctl_fd, "reconnect needs --socket-path; "
					    "this front-end was given a connected "
					    "socket (--fd)");
			return true;
		}
		refmain_ok(ctl_fd, NULL);
		do_reconnect(p);
	} else if (strcmp(cmd->name, "version") == 0) {
		/* Version 2 changed only back-end commands. */
		refmain_on_version(cmd, ctl_fd);
	} else if (strcmp(cmd->name, "dump") == 0) {
		if (reffe_dump(&p->fe, buf, sizeof(buf)) < 0)
			refmain_err(ctl_fd, "dump too long");
		else
			refmain_ok(ctl_fd, buf);
	} else if (strcmp(cmd->name, "quit") == 0) {
		refmain_ok(ctl_fd, NULL);
		return false;
	} else {
		snprintf(buf, sizeof(buf), "unknown command '%s'", cmd->name);
		refmain_err(ctl_fd, buf);
	}
	return true;
}

/* Whether the channel polled in f is to be read now, and with which
 * deadline: a half-sent message is left alone (the loop keeps serving the
 * rest) until it is whole or --reply-timeout late. */
static bool read_now(struct fe_prog *p, struct refwait_gate *g,
		     const struct pollfd *f, int64_t *deadline)
{
	enum refwait_read r;

	if (f->fd < 0 || !(f->revents || f->events == POLLRDHUP))
		return false;
	r = refwait_gate_check(g, f->fd, p->cfg.reply_timeout_ms);
	*deadline = chan_deadline(r == REFWAIT_READ_OVERDUE
					  ? -1 : p->cfg.reply_timeout_ms);
	return r != REFWAIT_LATER;
}

static void serve_backend(struct fe_prog *p, int64_t deadline)
{
	reffe_service_backend(&p->fe, deadline);
	if (p->fe.nannounce)
		reffe_flush_announce(&p->fe,
				     chan_deadline(p->cfg.reply_timeout_ms));
}

/* One poll round. false when the program should end. */
static bool poll_once(struct fe_prog *p)
{
	int mfd = p->fe.main.fd, bfd = p->fe.backend.fd;
	struct pollfd f[4] = {
		{ .fd = p->sigfd, .events = POLLIN },
		{ .fd = p->ctl.fd, .events = POLLIN },
		{ .fd = mfd, .events = refwait_gate_events(&p->main_gate, mfd) },
		{ .fd = bfd,
		  .events = refwait_gate_events(&p->backend_gate, bfd) },
	};
	int timeout = refwait_gate_timeout(&p->main_gate, mfd, 1000);
	int64_t deadline;
	int n;

	timeout = refwait_gate_timeout(&p->backend_gate, bfd, timeout);
	n = poll(f, 4, timeout);
	if (n < 0)
		return errno == EINTR;
	if (f[0].revents && refmain_signalled(p->sigfd))
		return false;
	if (read_now(p, &p->backend_gate, &f[3], &deadline))
		serve_backend(p, deadline);
	if (p->fe.main.fd == mfd &&
	    read_now(p, &p->main_gate, &f[2], &deadline))
		reffe_service_main(&p->fe, deadline);
	if (f[1].revents && refmain_serve_control(&p->ctl, on_control, p) <= 0) {
		/* quit, or the controller is gone. */
		return false;
	}
	/* Without a controller nobody can reconnect us: end with the
	 * connection. */
	return p->ctl.fd >= 0 || reffe_connected(&p->fe);
}

int main(int argc, char **argv)
{
	struct fe_prog p;
	char err[256];
	int r;

	memset(&p, 0, sizeof(p));
	refmain_opts_init(&p.o, "vhu-ref-frontend");
	reffe_config_default(&p.cfg);
	p.connect_ms = 5000;
	r = parse_args(&p, argc, argv);
	if (r != 0)
		return r > 0 ? 0 : 2;
	p.cfg.log = refmain_log;
	p.cfg.log_opaque = &p.o;
	if (p.o.verbose) {
		p.cfg.trace = refmain_trace;
		p.cfg.trace_opaque = &p.o;
	}
	p.sigfd = refmain_signalfd();
	if (p.sigfd < 0) {
		fprintf(stderr, "signalfd: %s\n", strerror(-p.sigfd));
		return 1;
	}
	ctl_reader_init(&p.ctl, p.o.control_fd);
	/* Every wait of the handshake and of replies ends on a signal. */
	p.cfg.cancel_fd = p.sigfd;
	reffe_init(&p.fe, &p.cfg);
	if (p.o.fd >= 0)
		reffe_attach_main(&p.fe, p.o.fd);
	if (connect_and_handshake(&p, err, sizeof(err)) < 0 ||
	    start_if_asked(&p, err, sizeof(err)) < 0) {
		/* SIGTERM during start-up is an ordinary end. */
		bool signalled = refwait_cancelled(p.sigfd);

		if (!signalled)
			fprintf(stderr, "vhu-ref-frontend: %s\n", err);
		reffe_free(&p.fe);
		return signalled ? 0 : 1;
	}
	while (poll_once(&p))
		;
	reffe_free(&p.fe);
	return 0;
}
