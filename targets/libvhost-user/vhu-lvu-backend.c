/* SPDX-License-Identifier: MIT */
/*
 * vhu-lvu-backend: a vhost-user back-end built on QEMU's libvhost-user,
 * so that the suite can test what libvhost-user itself puts on the wire
 * for SHMEM_MAP / SHMEM_UNMAP (vu_shmem_map, vu_shmem_unmap) and what it
 * concludes from the replies. The harness drives it through the control
 * channel (docs/control.md): `version`, `map`, `unmap`, `get-config`,
 * `dump`, `reset`, `quit`. It is also the C example of docs/shims.md.
 *
 * Deliberately thin: no range or overlap checks of its own (a
 * libvhost-user device must do them; the library does not know the
 * region sizes), no check before the library call, so the verdicts are
 * the library's. libvhost-user has no GET_SHMEM_CONFIG, so this program
 * answers it (--regions).
 *
 * Two choices real devices make differently are options, so that the
 * suite shows what each kind of device meets (docs/targets.md):
 * --sigpipe=default|ignore (the library writes with plain sendmsg(), so a
 * closed channel is SIGPIPE unless the device ignores it) and
 * --dispatch=single|worker (vu_shmem_map called from the one dispatch
 * loop, blocking it until the reply, as QEMU's contrib devices would; or
 * from a worker thread while the loop keeps serving).
 *
 * Built only with -Dlibvhost_user=PATH (a libvhost-user tree with
 * vu_shmem_map, e.g. QEMU's subprojects/libvhost-user); the library is
 * GPL-2.0-or-later, so such a binary is for local use only.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "chan.h"
#include "lvu.h"
#include "protofmt.h"

#define LVU_MAX_QUEUES 8
#define LVU_POLL_MS 1000
#define LVU_DUMP_WAIT_MS 500
#define LVU_MAX_FD_SIZE (1ull << 40)

static struct lvu *lvu_of(VuDev *dev)
{
	return (struct lvu *)(void *)dev;
}

void lvu_note_panic(struct lvu *l, const char *err)
{
	pthread_mutex_lock(&l->panic_lock);
	l->panics++;
	snprintf(l->last_panic, sizeof(l->last_panic), "%s", err ? err : "");
	pthread_mutex_unlock(&l->panic_lock);
}

/* ---- libvhost-user callbacks ---- */

static void cb_panic(VuDev *dev, const char *err)
{
	lvu_log("libvhost-user panic: %s", err);
	lvu_note_panic(lvu_of(dev), err);
	lvu_of(dev)->broken = true;
}

static void cb_set_watch(VuDev *dev, int fd, int condition, vu_watch_cb cb,
			 void *data)
{
	struct lvu *l = lvu_of(dev);

	(void)condition;        /* only VU_WATCH_IN is ever asked for here */
	for (unsigned i = 0; i < l->nwatch; i++) {
		if (l->watch[i].fd == fd) {
			l->watch[i].cb = cb;
			l->watch[i].data = data;
			return;
		}
	}
	if (l->nwatch == LVU_MAX_WATCH) {
		lvu_log("too many watched fds; fd %d ignored", fd);
		return;
	}
	l->watch[l->nwatch++] = (struct lvu_watch){ fd, cb, data };
}

static void cb_remove_watch(VuDev *dev, int fd)
{
	struct lvu *l = lvu_of(dev);

	for (unsigned i = 0; i < l->nwatch; i++) {
		if (l->watch[i].fd == fd) {
			l->watch[i] = l->watch[--l->nwatch];
			return;
		}
	}
}

static uint64_t cb_get_features(VuDev *dev)
{
	(void)dev;
	return 1ull << VHOST_USER_F_PROTOCOL_FEATURES | 1ull << VIRTIO_F_VERSION_1;
}

static uint64_t cb_get_protocol_features(VuDev *dev)
{
	return 1ull << lvu_of(dev)->o->shmem_bit;
}

/* GET_SHMEM_CONFIG: 2056 bytes do not fit libvhost-user's VhostUserMsg,
 * so the reply is written here, straight to the socket. */
static int send_shmem_config(struct lvu *l)
{
	struct proto_shmem_config cfg = { .nregions = 0 };
	uint8_t buf[PROTO_HDR_SIZE + PROTO_SHMEM_CONFIG_SIZE];
	struct proto_hdr h = { PROTO_GET_SHMEM_CONFIG, PROTO_VERSION | PROTO_F_REPLY,
			       PROTO_SHMEM_CONFIG_SIZE };
	int len;

	for (unsigned i = 0; i < l->o->nregions; i++) {
		cfg.memory_sizes[i] = l->o->regions[i];
		cfg.nregions += l->o->regions[i] != 0;
	}
	if (proto_hdr_encode(&h, buf, sizeof(buf)) < 0)
		return -EINVAL;
	len = proto_shmem_config_encode(&cfg, buf + PROTO_HDR_SIZE,
					sizeof(buf) - PROTO_HDR_SIZE);
	if (len < 0)
		return -EINVAL;
	l->config_calls++;
	if (send(l->dev.sock, buf, PROTO_HDR_SIZE + (size_t)len, MSG_NOSIGNAL) < 0)
		return -errno;
	return 0;
}

static int cb_process_msg(VuDev *dev, VhostUserMsg *vmsg, int *do_reply)
{
	int rc;

	if (vmsg->request != PROTO_GET_SHMEM_CONFIG)
		return 0;       /* libvhost-user handles everything else */
	*do_reply = 0;
	rc = send_shmem_config(lvu_of(dev));
	if (rc < 0)
		lvu_log("GET_SHMEM_CONFIG: reply not sent: %s", strerror(-rc));
	return 1;
}

static const VuDevIface lvu_iface = {
	.get_features = cb_get_features,
	.get_protocol_features = cb_get_protocol_features,
	.process_msg = cb_process_msg,
};

/* ---- control commands ---- */

static int map_memfd(struct lvu *l, uint64_t size)
{
	char name[32];
	int fd;

	snprintf(name, sizeof(name), "vhu-lvu-%u", l->memfd_seq++);
	fd = memfd_create(name, MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)size) < 0) {
		int e = errno;

		close(fd);
		return -e;
	}
	return fd;
}

struct map_args {
	uint64_t shmid, shm_offset, len, fd_offset, flags, fd_size;
};

static int parse_map(const struct ctl_cmd *cmd, bool is_map, struct map_args *a,
		     char *err, size_t cap)
{
	static const char *const map_keys[] = { "shmid", "shm_offset", "len",
		"fd_offset", "flags", "need_reply", "fd_size", NULL };
	static const char *const unmap_keys[] = { "shmid", "shm_offset", "len",
		"need_reply", NULL };
	const struct ctl_arg *fl = ctl_find(cmd, "flags");
	uint64_t dflt;

	if (ctl_check_keys(cmd, is_map ? map_keys : unmap_keys, err, cap) < 0 ||
	    ctl_arg_u64(cmd, "shmid", 0, &a->shmid, err, cap) < 0 ||
	    ctl_arg_u64(cmd, "shm_offset", 0, &a->shm_offset, err, cap) < 0 ||
	    ctl_arg_u64(cmd, "len", 0, &a->len, err, cap) < 0 ||
	    ctl_arg_u64(cmd, "fd_offset", 0, &a->fd_offset, err, cap) < 0)
		return -EINVAL;
	a->flags = PROTO_MMAP_F_RW;
	if (fl && fl->has_val && (strcmp(fl->val, "ro") == 0 || strcmp(fl->val, "0") == 0))
		a->flags = 0;
	/* memfds are sparse; a size no file can have (a wrapping or huge
	 * range, which is the point of some cases) gets one page, so that the
	 * library, not memfd_create, decides whether the MAP goes out. */
	dflt = a->fd_offset + a->len;
	if (dflt < a->len || dflt > LVU_MAX_FD_SIZE)
		dflt = 0x1000;
	if (ctl_arg_u64(cmd, "fd_size", dflt, &a->fd_size, err, cap) < 0)
		return -EINVAL;
	if (a->shmid > 255) {
		snprintf(err, cap, "shmid %llu does not fit the u8 field",
			 (unsigned long long)a->shmid);
		return -EINVAL;
	}
	return 0;
}

static void answer_err(struct lvu *l, const char *msg)
{
	lvu_answer_ordered(l, false, msg);
}

/* need_reply=0 once REPLY_ACK is negotiated: sending it with NEED_REPLY
 * anyway would answer another question; the library's limit is not a
 * fault to judge. */
static bool cannot_send(struct lvu *l, const struct ctl_cmd *cmd, char *err, size_t cap)
{
	bool need_reply;

	if (ctl_arg_bool(cmd, "need_reply", true, &need_reply, err, cap) < 0)
		return true;
	if (!need_reply &&
	    l->dev.protocol_features & (1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK)) {
		snprintf(err, cap, "unsupported: need_reply=0: libvhost-user always sets "
			 "NEED_REPLY once REPLY_ACK is negotiated");
		return true;
	}
	return false;
}

/* Protocol 1: `ok` goes out first, the MAP/UNMAP follows. Protocol 2: the
 * answer is the outcome, after the call (lvu_call); with one dispatch
 * thread the call blocks this loop until the library returns. Nothing is
 * checked before the call but what the library cannot be asked at all. */
static void cmd_map(struct lvu *l, const struct ctl_cmd *cmd, bool is_map)
{
	struct map_args a;
	struct lvu_job j;
	char err[200] = "";

	if (!l->connected) {
		answer_err(l, "refused: no front-end connected");
		return;
	}
	if (parse_map(cmd, is_map, &a, err, sizeof(err)) < 0 ||
	    cannot_send(l, cmd, err, sizeof(err))) {
		answer_err(l, err);
		return;
	}
	j = (struct lvu_job){ .is_map = is_map, .fd = -1, .shmid = (uint8_t)a.shmid,
			      .shm_offset = a.shm_offset, .len = a.len,
			      .fd_offset = a.fd_offset, .flags = a.flags,
			      .answer = l->ctl_v2 };
	if (is_map && (j.fd = map_memfd(l, a.fd_size)) < 0) {
		snprintf(err, sizeof(err), "memfd: %s", strerror(-j.fd));
		answer_err(l, err);
		return;
	}
	if (l->o->dispatch == LVU_DISPATCH_WORKER && !lvu_worker_push(l, &j)) {
		if (j.fd >= 0)
			close(j.fd);
		answer_err(l, "queue full");
		return;
	}
	if (!l->ctl_v2)
		lvu_answer(l, true, NULL);
	if (l->o->dispatch == LVU_DISPATCH_SINGLE)
		lvu_call(l, &j);
}

/* `version N`: this program speaks 1 and 2; it answers the highest it
 * speaks up to N, and speaks it from then on. */
static void cmd_version(struct lvu *l, const struct ctl_cmd *cmd)
{
	uint64_t v;

	if (cmd->nargs != 1 || cmd->args[0].has_val ||
	    ctl_parse_u64(cmd->args[0].key, &v) < 0 || v < 1) {
		answer_err(l, "usage: version N (N >= 1)");
		return;
	}
	l->ctl_v2 = v >= 2;
	lvu_answer_ordered(l, true, l->ctl_v2 ? "version=2" : "version=1");
}

/* `dump` is a barrier: it waits (bounded) for the worker to finish what
 * it was asked, so that a reply the front-end already sent has been taken
 * by the library before the harness looks at our fds. */
static void cmd_dump(struct lvu *l, bool config_only)
{
	char out[CTL_LINE_MAX - 8];
	size_t n = 0;
	const char *sep = "";

	lvu_worker_wait_idle(l, LVU_DUMP_WAIT_MS);

	proto_appendf(out, sizeof(out), &n, "{\"regions\":[");
	for (unsigned i = 0; i < l->o->nregions; i++) {
		if (!l->o->regions[i])
			continue;
		proto_appendf(out, sizeof(out), &n, "%s{\"shmid\":%u,\"size\":%llu}", sep, i,
			      (unsigned long long)l->o->regions[i]);
		sep = ",";
	}
	proto_appendf(out, sizeof(out), &n, "],\"calls\":%u", l->config_calls);
	pthread_mutex_lock(&l->worker.lock);
	if (!config_only) {
		proto_appendf(out, sizeof(out), &n, ",\"connected\":%s,\"backend_channel\":%s,"
			      "\"negotiated\":\"0x%llx\",\"mappings\":[",
			      l->connected ? "true" : "false",
			      l->dev.backend_fd >= 0 ? "true" : "false",
			      (unsigned long long)l->dev.protocol_features);
		for (unsigned i = 0; i < l->nmaps; i++)
			proto_appendf(out, sizeof(out), &n, "%s{\"shmid\":%u,\"shm_offset\":%llu,"
				      "\"len\":%llu,\"state\":\"live\"}", i ? "," : "",
				      l->maps[i].shmid,
				      (unsigned long long)l->maps[i].shm_offset,
				      (unsigned long long)l->maps[i].len);
		proto_appendf(out, sizeof(out), &n, "],\"waiting\":%s,\"queued\":%u",
			      l->worker.busy_since_ms ? "true" : "false", l->worker.count);
	}
	pthread_mutex_unlock(&l->worker.lock);
	proto_appendf(out, sizeof(out), &n, "}");
	if (n >= sizeof(out))
		answer_err(l, "dump does not fit one line");
	else
		lvu_answer_ordered(l, true, out);
}

static void control_line(struct lvu *l, const char *line)
{
	struct ctl_cmd cmd;
	char err[200];
	int rc = ctl_parse(line, &cmd, err, sizeof(err));

	if (rc == -ENODATA)
		return;
	if (rc < 0) {
		answer_err(l, err);
	} else if (strcmp(cmd.name, "map") == 0 || strcmp(cmd.name, "unmap") == 0) {
		cmd_map(l, &cmd, cmd.name[0] == 'm');
	} else if (strcmp(cmd.name, "version") == 0) {
		cmd_version(l, &cmd);
	} else if (strcmp(cmd.name, "dump") == 0 || strcmp(cmd.name, "get-config") == 0) {
		cmd_dump(l, cmd.name[0] == 'g');
	} else if (strcmp(cmd.name, "reset") == 0) {
		pthread_mutex_lock(&l->worker.lock);
		l->nmaps = 0;   /* forget the ledger; the library keeps no state */
		pthread_mutex_unlock(&l->worker.lock);
		lvu_answer_ordered(l, true, NULL);
	} else if (strcmp(cmd.name, "quit") == 0) {
		lvu_worker_wait_idle(l, LVU_DUMP_WAIT_MS);
		lvu_answer_ordered(l, true, NULL);
		l->quit = true;
	} else {
		snprintf(err, sizeof(err), "unknown command '%.60s' (back-end: version, map, "
			 "unmap, get-config, dump, reset, quit)", cmd.name);
		answer_err(l, err);
	}
}

static void control_ready(struct lvu *l)
{
	char line[CTL_LINE_MAX];
	int rc = ctl_reader_fill(&l->ctl);

	while ((rc = ctl_reader_next(&l->ctl, line, sizeof(line))) != 0 && !l->quit) {
		if (rc == -E2BIG)
			answer_err(l, "line too long");
		else
			control_line(l, line);
	}
	if (l->ctl.eof)
		l->quit = true;     /* the controller left: so do we */
}

/* ---- the connection ---- */

static int connection_open(struct lvu *l, int sock)
{
	if (!vu_init(&l->dev, LVU_MAX_QUEUES, sock, cb_panic, NULL, cb_set_watch,
		     cb_remove_watch, &lvu_iface)) {
		close(sock);
		return -ENOMEM;
	}
	l->connected = true;
	l->broken = false;
	return 0;
}

static void connection_close(struct lvu *l)
{
	if (!l->connected)
		return;
	if (lvu_worker_busy(l)) {
		/* vu_deinit would pull the back-end fd from under the call. */
		lvu_log("connection ended during a vu_shmem_map/unmap call; exiting");
		_exit(0);
	}
	vu_deinit(&l->dev);
	close(l->dev.sock);
	l->connected = false;
	l->nwatch = 0;
	l->nmaps = 0;
	l->config_calls = 0;
}

/* Main channel readable: one message. false when the connection ended. */
static bool main_ready(struct lvu *l)
{
	if (vu_dispatch(&l->dev) && !l->broken)
		return true;
	lvu_log("front-end connection ended%s", l->broken ? " (after a panic)" : "");
	connection_close(l);
	return false;
}

static void watch_ready(struct lvu *l, int fd, short revents)
{
	for (unsigned i = 0; i < l->nwatch; i++) {
		if (l->watch[i].fd == fd) {
			l->watch[i].cb(&l->dev, revents & POLLIN ? VU_WATCH_IN : VU_WATCH_HUP,
				       l->watch[i].data);
			return;
		}
	}
}

/* ---- the event loop ---- */

enum { PF_CTL, PF_MAIN, PF_LISTEN, PF_WATCH0 };

static unsigned fill_pollfds(const struct lvu *l, struct pollfd *p)
{
	unsigned n = PF_WATCH0;

	p[PF_CTL] = (struct pollfd){ .fd = l->o->control_fd, .events = POLLIN };
	p[PF_MAIN] = (struct pollfd){ .fd = l->connected ? l->dev.sock : -1,
				      .events = POLLIN };
	p[PF_LISTEN] = (struct pollfd){ .fd = l->connected ? -1 : l->listen_fd,
					.events = POLLIN };
	for (unsigned i = 0; l->connected && i < l->nwatch; i++)
		p[n++] = (struct pollfd){ .fd = l->watch[i].fd, .events = POLLIN };
	return n;
}

static int accept_one(struct lvu *l, int64_t deadline)
{
	int fd = chan_accept(l->listen_fd, deadline);

	if (fd < 0)
		return fd;
	lvu_log("front-end connected");
	return connection_open(l, fd);
}

/* 0 when done (quit, controller or front-end gone), 1 on failure. */
static int run(struct lvu *l)
{
	struct pollfd p[PF_WATCH0 + LVU_MAX_WATCH];

	while (!l->quit) {
		unsigned n = fill_pollfds(l, p);

		if (poll(p, n, LVU_POLL_MS) < 0 && errno != EINTR)
			return 1;
		lvu_worker_check_deadline(l);
		if (p[PF_LISTEN].revents && accept_one(l, chan_now_ms()) < 0)
			return 1;
		if (p[PF_MAIN].revents && !main_ready(l) && l->listen_fd < 0)
			return 0;           /* --fd: one connection only */
		for (unsigned i = PF_WATCH0; i < n && l->connected; i++)
			if (p[i].revents)
				watch_ready(l, p[i].fd, p[i].revents);
		/* Control last: what the front-end sent while a call blocked
		 * this loop is answered before the harness hears of anything
		 * after it (a `dump`, the case's end). */
		if (p[PF_CTL].revents)
			control_ready(l);
	}
	return 0;
}

/* ---- options ---- */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: vhu-lvu-backend (--socket-path=PATH | --fd=N) --control-fd=N\n"
		"           [--shmem-bit=N] [--regions=S[,S...]] [--reply-timeout=MS]\n"
		"           [--accept-timeout=MS] [--sigpipe=default|ignore]\n"
		"           [--dispatch=single|worker] | --print-capabilities\n"
		"A vhost-user back-end on libvhost-user; the vhucheck control channel\n"
		"asks it to call vu_shmem_map / vu_shmem_unmap. --shmem-bit is the bit\n"
		"it offers (default 20, libvhost-user's VHOST_USER_PROTOCOL_F_SHMEM).\n"
		"--sigpipe (default: default) and --dispatch (default: single, the call\n"
		"blocks the dispatch loop) choose what kind of device it is.\n");
}

static bool parse_int(const char *s, long lo, long hi, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 0);
	if (!*s || *end || errno || v < lo || v > hi)
		return false;
	*out = (int)v;
	return true;
}

static bool take_opt(struct lvu_opts *o, int opt, const char *arg)
{
	int v;

	switch (opt) {
	case 'f': return parse_int(arg, 0, 1 << 20, &o->fd);
	case 's': o->socket_path = arg; return true;
	case 'c': return parse_int(arg, 0, 1 << 20, &o->control_fd);
	case 'b':
		if (!parse_int(arg, 0, 63, &v))
			return false;
		o->shmem_bit = (unsigned)v;
		return true;
	case 'r':
		return ctl_parse_u64_list(arg, o->regions, PROTO_SHMEM_MAX_REGIONS,
					  &o->nregions) == 0;
	case 't': return parse_int(arg, 1, 3600000, &o->reply_timeout_ms);
	case 'a': return parse_int(arg, 1, 3600000, &o->accept_timeout_ms);
	case 'g':
		o->sigpipe_ignore = strcmp(arg, "ignore") == 0;
		return o->sigpipe_ignore || strcmp(arg, "default") == 0;
	case 'd':
		o->dispatch = strcmp(arg, "worker") == 0 ? LVU_DISPATCH_WORKER
							 : LVU_DISPATCH_SINGLE;
		return o->dispatch == LVU_DISPATCH_WORKER || strcmp(arg, "single") == 0;
	default: return false;
	}
}

/* 0 to run, -1 to exit 0 (help, capabilities), 2 on a usage error. */
static int parse_args(struct lvu_opts *o, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "fd", required_argument, NULL, 'f' },
		{ "socket-path", required_argument, NULL, 's' },
		{ "control-fd", required_argument, NULL, 'c' },
		{ "shmem-bit", required_argument, NULL, 'b' },
		{ "regions", required_argument, NULL, 'r' },
		{ "reply-timeout", required_argument, NULL, 't' },
		{ "accept-timeout", required_argument, NULL, 'a' },
		{ "sigpipe", required_argument, NULL, 'g' },
		{ "dispatch", required_argument, NULL, 'd' },
		{ "print-capabilities", no_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (opt == 'h' || opt == 'p') {
			if (opt == 'h')
				usage(stdout);
			else
				printf("{\"type\":\"vhu-lvu\",\"features\":[\"shmem\"]}\n");
			return -1;
		}
		if (opt == '?' || !take_opt(o, opt, optarg)) {
			if (opt != '?')
				fprintf(stderr, "vhu-lvu-backend: bad value '%s'\n", optarg);
			return 2;
		}
	}
	if ((o->fd >= 0) == (o->socket_path != NULL) || o->control_fd < 0 || optind != argc) {
		usage(stderr);
		return 2;
	}
	return 0;
}

static int start(struct lvu *l)
{
	if (l->o->socket_path) {
		l->listen_fd = chan_listen(l->o->socket_path);
		if (l->listen_fd < 0) {
			lvu_log("%s: %s", l->o->socket_path, strerror(-l->listen_fd));
			return -1;
		}
		return accept_one(l, chan_now_ms() + l->o->accept_timeout_ms);
	}
	return connection_open(l, l->o->fd);
}

int main(int argc, char **argv)
{
	struct lvu_opts o = { .fd = -1, .control_fd = -1, .shmem_bit = 20,
			      .nregions = 1, .regions = { 0x100000 },
			      .reply_timeout_ms = 30000, .accept_timeout_ms = 30000 };
	struct lvu *l;
	int rc = parse_args(&o, argc, argv);

	if (rc)
		return rc < 0 ? 0 : rc;
	l = calloc(1, sizeof(*l));
	if (!l)
		return 1;
	l->o = &o;
	l->listen_fd = -1;
	ctl_reader_init(&l->ctl, o.control_fd);
	pthread_mutex_init(&l->ctl_lock, NULL);
	pthread_mutex_init(&l->panic_lock, NULL);
	/* libvhost-user writes with plain sendmsg()/write(): with SIGPIPE at
	 * its default, a channel the front-end closed kills the device. */
	if (o.sigpipe_ignore)
		signal(SIGPIPE, SIG_IGN);
	if (lvu_worker_start(l) < 0) {
		free(l);
		return 1;
	}
	rc = start(l) < 0 ? 1 : run(l);
	connection_close(l);
	lvu_worker_stop(l);
	if (l->listen_fd >= 0) {
		close(l->listen_fd);
		unlink(o.socket_path);
	}
	free(l);
	return rc;
}
