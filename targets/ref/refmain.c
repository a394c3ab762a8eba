/* SPDX-License-Identifier: MIT */
#include "refmain.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "proto.h"
#include "protoname.h"

#define CTL_ANSWER_MS 1000

void refmain_opts_init(struct refmain_opts *o, const char *prog)
{
	memset(o, 0, sizeof(*o));
	o->prog = prog;
	o->fd = -1;
	o->control_fd = -1;
	o->shmem_bit = PROTO_SHMEM_BIT_DEFAULT;
	o->reply_timeout_ms = 1000;
	fault_set_clear(&o->faults);
}

static int parse_int(const char *name, const char *arg, long lo, long hi,
		     long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 0);
	if (errno || end == arg || *end || v < lo || v > hi) {
		fprintf(stderr, "--%s: bad value '%s' (%ld..%ld)\n", name, arg,
			lo, hi);
		return -1;
	}
	*out = v;
	return 0;
}

int refmain_common_opt(struct refmain_opts *o, const char *name,
		       const char *arg, enum fault_role role)
{
	char err[160];
	long v;

	if (strcmp(name, "fd") == 0 || strcmp(name, "control-fd") == 0) {
		if (parse_int(name, arg, 0, 1 << 20, &v) < 0)
			return -1;
		*(name[0] == 'f' ? &o->fd : &o->control_fd) = (int)v;
	} else if (strcmp(name, "socket-path") == 0) {
		o->socket_path = arg;
	} else if (strcmp(name, "shmem-bit") == 0) {
		if (parse_int(name, arg, 0, 63, &v) < 0)
			return -1;
		o->shmem_bit = (unsigned)v;
	} else if (strcmp(name, "reply-timeout") == 0) {
		if (parse_int(name, arg, 1, 600000, &v) < 0)
			return -1;
		o->reply_timeout_ms = (int)v;
	} else if (strcmp(name, "fault") == 0) {
		if (fault_parse(&o->faults, arg, role, err, sizeof(err)) < 0) {
			fprintf(stderr, "--fault: %s\n", err);
			return -1;
		}
	} else if (strcmp(name, "disable") == 0) {
		if (o->ndisable == sizeof(o->disable) / sizeof(o->disable[0])) {
			fprintf(stderr, "--disable: too many\n");
			return -1;
		}
		o->disable[o->ndisable++] = arg;
	} else if (strcmp(name, "no-shmem") == 0) {
		o->no_shmem = true;
	} else if (strcmp(name, "no-reply-ack") == 0) {
		o->no_reply_ack = true;
	} else if (strcmp(name, "verbose") == 0) {
		o->verbose = true;
	} else {
		return 0;
	}
	return 1;
}

int refmain_pfeatures(const struct refmain_opts *o, uint64_t supported,
		      uint64_t *out)
{
	uint64_t f = supported;

	if (o->no_shmem)
		f &= ~(UINT64_C(1) << o->shmem_bit);
	if (o->no_reply_ack)
		f &= ~(UINT64_C(1) << PROTO_PF_REPLY_ACK);
	for (unsigned i = 0; i < o->ndisable; i++) {
		int bit = proto_pfeat_by_name(o->disable[i], o->shmem_bit);

		if (bit < 0 || bit > 63) {
			fprintf(stderr, "--disable: unknown feature '%s'\n",
				o->disable[i]);
			return -1;
		}
		f &= ~(UINT64_C(1) << bit);
	}
	*out = f;
	return 0;
}

void refmain_usage_common(enum fault_role role)
{
	char names[2048];

	fault_list_names(role, names, sizeof(names));
	printf("  --fd=N               use the connected socket N\n"
	       "  --socket-path=PATH   unix socket path (see above)\n"
	       "  --control-fd=N       control channel (docs/control.md)\n"
	       "  --shmem-bit=N        protocol feature bit of SHMEM (default %d)\n"
	       "  --no-shmem           do not negotiate SHMEM\n"
	       "  --no-reply-ack       do not negotiate REPLY_ACK\n"
	       "  --disable=FEATURE    do not negotiate this protocol feature\n"
	       "  --reply-timeout=MS   how long to wait for a reply (1000)\n"
	       "  --fault=NAME[,..]    switch a fault on (repeatable):\n"
	       "                       %s\n"
	       "  --verbose            trace every message on stderr\n"
	       "  --help               this text\n",
	       PROTO_SHMEM_BIT_DEFAULT, names);
}

int refmain_signalfd(void)
{
	sigset_t set;
	int fd;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -errno;
	fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	return fd < 0 ? -errno : fd;
}

bool refmain_signalled(int sfd)
{
	struct signalfd_siginfo si;

	return read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si);
}

int refmain_check_fd(const char *what, int fd)
{
	if (fd >= 0 && fcntl(fd, F_GETFD) < 0) {
		fprintf(stderr, "%s %d: %s\n", what, fd, strerror(errno));
		return -1;
	}
	return 0;
}

int refmain_check_connection(const struct refmain_opts *o, int optind_,
			     int argc)
{
	if (optind_ < argc || (o->fd < 0) == (o->socket_path == NULL)) {
		fprintf(stderr, "%s: give exactly one of --fd and --socket-path "
			"(--help)\n", o->prog);
		return -1;
	}
	if (refmain_check_fd("--fd", o->fd) < 0 ||
	    refmain_check_fd("--control-fd", o->control_fd) < 0)
		return -1;
	return 0;
}

void refmain_log(void *opaque, const char *msg)
{
	const struct refmain_opts *o = opaque;

	fprintf(stderr, "%s[%d]: %s\n", o->prog, (int)getpid(), msg);
}

void refmain_trace(void *opaque, const char *chan_name, enum chan_dir dir,
		   const struct chan_msg *m, enum chan_status st)
{
	const struct refmain_opts *o = opaque;
	char line[1024];

	chan_format_trace(line, sizeof(line), 0, chan_name, dir, m, st);
	fprintf(stderr, "%s[%d]: %s\n", o->prog, (int)getpid(), line);
}

void refmain_ok(int ctl_fd, const char *text)
{
	ctl_send_ok(ctl_fd, text, chan_deadline(CTL_ANSWER_MS));
}

void refmain_err(int ctl_fd, const char *text)
{
	ctl_send_err(ctl_fd, text, chan_deadline(CTL_ANSWER_MS));
}

void refmain_unsupported(int ctl_fd, const char *why)
{
	ctl_send_unsupported(ctl_fd, why, chan_deadline(CTL_ANSWER_MS));
}

int refmain_on_version(const struct ctl_cmd *cmd, int ctl_fd)
{
	char text[32];
	uint64_t asked;
	unsigned v;

	if (cmd->nargs != 1 || cmd->args[0].has_val ||
	    ctl_parse_u64(cmd->args[0].key, &asked) < 0 || asked == 0) {
		refmain_err(ctl_fd, "version: usage: version N (N >= 1)");
		return -1;
	}
	/* Each side speaks every version up to its own: the lower one. */
	v = asked < REFMAIN_CTL_VERSION ? (unsigned)asked : REFMAIN_CTL_VERSION;
	snprintf(text, sizeof(text), "version=%u", v);
	refmain_ok(ctl_fd, text);
	return (int)v;
}

static bool dispatch_line(const char *line, refmain_ctl_fn fn, void *opaque,
			  int ctl_fd)
{
	struct ctl_cmd cmd;
	char err[160];
	int r = ctl_parse(line, &cmd, err, sizeof(err));

	if (r == -ENODATA)
		return true;
	if (r < 0) {
		refmain_err(ctl_fd, err);
		return true;
	}
	return fn(opaque, &cmd, ctl_fd);
}

int refmain_serve_control(struct ctl_reader *r, refmain_ctl_fn fn,
			  void *opaque)
{
	char line[CTL_LINE_MAX];
	int n = ctl_reader_fill(r), got;

	if (n < 0 && n != -EAGAIN)
		return n;
	while ((got = ctl_reader_next(r, line, sizeof(line))) != 0) {
		if (got < 0) {
			refmain_err(r->fd, "line too long");
			continue;
		}
		if (!dispatch_line(line, fn, opaque, r->fd))
			return 0;
	}
	return r->eof ? 0 : 1;
}
