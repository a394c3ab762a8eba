/* SPDX-License-Identifier: MIT */
/*
 * vhu-lvu-backend: a vhost-user back-end built on QEMU's libvhost-user,
 * so that the suite can test what libvhost-user itself puts on the wire
 * for SHMEM_MAP / SHMEM_UNMAP (vu_shmem_map, vu_shmem_unmap) and how it
 * takes the replies. The harness drives it through the control channel
 * (docs/architecture.md): `map`, `unmap`, `get-config`, `dump`, `reset`,
 * `quit`.
 *
 * Deliberately thin: no range or overlap checks of its own (a
 * libvhost-user device must do them; the library does not know the
 * region sizes), so the verdicts are the library's. libvhost-user has no
 * GET_SHMEM_CONFIG, so this program answers it (--regions).
 *
 * Built only with -Dlibvhost_user=PATH (a libvhost-user tree with
 * vu_shmem_map, e.g. QEMU's subprojects/libvhost-user); the library is
 * GPL-2.0-or-later, so such a binary is for local use only.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdarg.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "chan.h"
#include "ctl.h"
#include "libvhost-user.h"
#include "proto.h"

#define LVU_MAX_WATCH 64
#define LVU_MAX_MAPS 256
#define LVU_MAX_QUEUES 8
#define LVU_CTL_TIMEOUT_MS 1000
#define LVU_POLL_MS 1000
#define LVU_DUMP_WAIT_MS 500
#define LVU_MAX_FD_SIZE (1ull << 40)

struct lvu_watch {
	int fd;
	vu_watch_cb cb;
	void *data;
};

struct lvu_map {
	uint8_t shmid;
	uint64_t shm_offset, len;
};

struct lvu_opts {
	int fd;                     /* --fd, or -1 */
	const char *socket_path;    /* --socket-path, or NULL */
	int control_fd;
	unsigned shmem_bit;
	unsigned nregions;          /* entries used in regions[] */
	uint64_t regions[PROTO_SHMEM_MAX_REGIONS];
	int reply_timeout_ms;
	int accept_timeout_ms;
};

/* ---- the worker: libvhost-user's blocking calls off the main thread ----
 *
 * vu_shmem_map / vu_shmem_unmap send, then (with REPLY_ACK) read the
 * front-end's reply with a blocking recvmsg() under the library's
 * backend_mutex, retrying EAGAIN and EINTR. They run here, one at a time
 * in command order, so the main thread keeps serving the main channel and
 * the control channel meanwhile, as a device's own threads would. No
 * socket option or signal can bound that wait; the main thread does: a
 * call that outlives --reply-timeout ends the process (exit 4). The
 * default (30 s) is longer than any case deadline, so under the harness a
 * missing reply shows as the library's own hang, not as our exit.
 */
#define LVU_MAX_JOBS 64

struct lvu_job {
	bool is_map;
	int fd;                     /* the memfd for a MAP, else -1 */
	uint8_t shmid;
	uint64_t shm_offset, len, fd_offset, flags;
};

struct lvu_worker {
	pthread_t thread;
	pthread_mutex_t lock;       /* guards everything below and the ledger */
	pthread_cond_t cond;
	bool stop;
	unsigned head, count;
	struct lvu_job jobs[LVU_MAX_JOBS];
	int64_t busy_since_ms;      /* 0: idle */
};

struct lvu {
	VuDev dev;                  /* first: callbacks get &dev */
	const struct lvu_opts *o;
	bool connected;
	atomic_bool broken;         /* libvhost-user called panic (any thread) */
	bool quit;
	int listen_fd;
	struct ctl_reader ctl;
	unsigned config_calls;
	unsigned nwatch;
	struct lvu_watch watch[LVU_MAX_WATCH];
	unsigned nmaps;
	struct lvu_map maps[LVU_MAX_MAPS];
	unsigned memfd_seq;
	struct lvu_worker worker;
};

static struct lvu *lvu_of(VuDev *dev)
{
	return (struct lvu *)(void *)dev;
}

static void lvu_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void lvu_log(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "vhu-lvu-backend[%d]: ", (int)getpid());
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* ---- libvhost-user callbacks ---- */

static void cb_panic(VuDev *dev, const char *err)
{
	lvu_log("libvhost-user panic: %s", err);
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

/* ---- the ledger of what the library reported as mapped ---- */

static void ledger_add(struct lvu *l, uint8_t shmid, uint64_t off, uint64_t len)
{
	if (l->nmaps < LVU_MAX_MAPS)
		l->maps[l->nmaps++] = (struct lvu_map){ shmid, off, len };
}

static void ledger_remove(struct lvu *l, uint8_t shmid, uint64_t off, uint64_t len)
{
	for (unsigned i = 0; i < l->nmaps; i++) {
		struct lvu_map *m = &l->maps[i];

		if (m->shmid == shmid && m->shm_offset == off && m->len == len) {
			*m = l->maps[--l->nmaps];
			return;
		}
	}
}

/* ---- control commands ---- */

static const char *precheck(const struct lvu *l)
{
	if (!l->connected)
		return "no front-end connected";
	if (l->dev.backend_fd < 0)
		return "no back-end channel (SET_BACKEND_REQ_FD not received)";
	/* The library tests its own bit (VHOST_USER_PROTOCOL_F_SHMEM). */
	if (!(l->dev.protocol_features & (1ull << VHOST_USER_PROTOCOL_F_SHMEM)))
		return "SHMEM not negotiated at libvhost-user's bit "
		       "(VHOST_USER_PROTOCOL_F_SHMEM): vu_shmem_map would send nothing";
	return NULL;
}

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

static void answer_err(const struct lvu *l, const char *msg)
{
	ctl_send_err(l->o->control_fd, msg, chan_now_ms() + LVU_CTL_TIMEOUT_MS);
}

static void *worker_main(void *arg);

static int worker_start(struct lvu *l)
{
	struct lvu_worker *w = &l->worker;

	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	if (pthread_create(&w->thread, NULL, worker_main, l) != 0)
		return -EAGAIN;
	return 0;
}

/* The library call of one job; ledger updated under the lock. */
static void worker_run(struct lvu *l, const struct lvu_job *j)
{
	bool ok = j->is_map ? vu_shmem_map(&l->dev, j->shmid, j->fd_offset, j->shm_offset,
					   j->len, j->flags, j->fd)
			    : vu_shmem_unmap(&l->dev, j->shmid, j->shm_offset, j->len);

	if (j->fd >= 0)
		close(j->fd);
	lvu_log("vu_shmem_%s(shmid=%u shm_offset=0x%llx len=0x%llx) returned %s",
		j->is_map ? "map" : "unmap", j->shmid, (unsigned long long)j->shm_offset,
		(unsigned long long)j->len, ok ? "true" : "false");
	pthread_mutex_lock(&l->worker.lock);
	if (ok && j->is_map)
		ledger_add(l, j->shmid, j->shm_offset, j->len);
	else if (ok)
		ledger_remove(l, j->shmid, j->shm_offset, j->len);
	l->worker.busy_since_ms = 0;
	pthread_mutex_unlock(&l->worker.lock);
}

static void *worker_main(void *arg)
{
	struct lvu *l = arg;
	struct lvu_worker *w = &l->worker;

	for (;;) {
		struct lvu_job j;

		pthread_mutex_lock(&w->lock);
		while (!w->stop && w->count == 0)
			pthread_cond_wait(&w->cond, &w->lock);
		if (w->stop) {
			pthread_mutex_unlock(&w->lock);
			return NULL;
		}
		j = w->jobs[w->head];
		w->head = (w->head + 1) % LVU_MAX_JOBS;
		w->count--;
		w->busy_since_ms = chan_now_ms();
		pthread_mutex_unlock(&w->lock);
		worker_run(l, &j);
	}
}

static bool worker_push(struct lvu_worker *w, const struct lvu_job *j)
{
	bool ok;

	pthread_mutex_lock(&w->lock);
	ok = w->count < LVU_MAX_JOBS;
	if (ok) {
		w->jobs[(w->head + w->count) % LVU_MAX_JOBS] = *j;
		w->count++;
		pthread_cond_signal(&w->cond);
	}
	pthread_mutex_unlock(&w->lock);
	return ok;
}

/* true while a library call or a queued job is pending. */
static bool worker_busy(struct lvu_worker *w)
{
	bool busy;

	pthread_mutex_lock(&w->lock);
	busy = w->count || w->busy_since_ms;
	pthread_mutex_unlock(&w->lock);
	return busy;
}

/* The deadline no library call has: see the comment on the worker. */
static void worker_check_deadline(struct lvu *l)
{
	int64_t since;

	pthread_mutex_lock(&l->worker.lock);
	since = l->worker.busy_since_ms;
	pthread_mutex_unlock(&l->worker.lock);
	if (since && chan_now_ms() - since > l->o->reply_timeout_ms) {
		lvu_log("a vu_shmem_map/unmap call got no reply within %d ms; "
			"libvhost-user waits forever, so the process ends here",
			l->o->reply_timeout_ms);
		_exit(4);
	}
}

static void worker_stop(struct lvu *l)
{
	struct lvu_worker *w = &l->worker;

	pthread_mutex_lock(&w->lock);
	w->stop = true;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
}

/* `ok` goes out first: the MAP/UNMAP follows on the back-end channel. */
static void cmd_map(struct lvu *l, const struct ctl_cmd *cmd, bool is_map)
{
	struct map_args a;
	struct lvu_job j;
	char err[200] = "";
	const char *why = precheck(l);

	bool need_reply;

	if (parse_map(cmd, is_map, &a, err, sizeof(err)) < 0 || why ||
	    ctl_arg_bool(cmd, "need_reply", true, &need_reply, err, sizeof(err)) < 0) {
		answer_err(l, why && err[0] == '\0' ? why : err);
		return;
	}
	if (!need_reply && l->dev.protocol_features & (1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK)) {
		/* Sending it with NEED_REPLY anyway would answer another
		 * question; the library's limit is not a fault to judge. */
		ctl_send_unsupported(l->o->control_fd, "need_reply=0: libvhost-user "
				     "always sets NEED_REPLY once REPLY_ACK is negotiated",
				     chan_now_ms() + LVU_CTL_TIMEOUT_MS);
		return;
	}
	j = (struct lvu_job){ is_map, -1, (uint8_t)a.shmid, a.shm_offset, a.len,
			      a.fd_offset, a.flags };
	if (is_map && (j.fd = map_memfd(l, a.fd_size)) < 0) {
		snprintf(err, sizeof(err), "memfd: %s", strerror(-j.fd));
		answer_err(l, err);
		return;
	}
	if (!worker_push(&l->worker, &j)) {
		if (j.fd >= 0)
			close(j.fd);
		answer_err(l, "queue full");
		return;
	}
	ctl_send_ok(l->o->control_fd, NULL, chan_now_ms() + LVU_CTL_TIMEOUT_MS);
}

/* `dump` is a barrier: it waits (bounded) for the worker to finish what
 * it was asked, so that a reply the front-end already sent has been taken
 * by the library before the harness looks at our fds. */
static void wait_worker_idle(struct lvu *l)
{
	int64_t until = chan_now_ms() + LVU_DUMP_WAIT_MS;

	while (worker_busy(&l->worker) && chan_now_ms() < until)
		poll(NULL, 0, 2);
}

static void cmd_dump(struct lvu *l, bool config_only)
{
	char out[CTL_LINE_MAX - 8];
	size_t n = 0;
	const char *sep = "";

	wait_worker_idle(l);

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
		ctl_send_ok(l->o->control_fd, out, chan_now_ms() + LVU_CTL_TIMEOUT_MS);
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
	} else if (strcmp(cmd.name, "dump") == 0 || strcmp(cmd.name, "get-config") == 0) {
		cmd_dump(l, cmd.name[0] == 'g');
	} else if (strcmp(cmd.name, "reset") == 0) {
		pthread_mutex_lock(&l->worker.lock);
		l->nmaps = 0;   /* forget the ledger; the library keeps no state */
		pthread_mutex_unlock(&l->worker.lock);
		ctl_send_ok(l->o->control_fd, NULL, chan_now_ms() + LVU_CTL_TIMEOUT_MS);
	} else if (strcmp(cmd.name, "quit") == 0) {
		ctl_send_ok(l->o->control_fd, NULL, chan_now_ms() + LVU_CTL_TIMEOUT_MS);
		l->quit = true;
	} else {
		snprintf(err, sizeof(err), "unknown command '%.60s' (back-end: map, unmap, "
			 "get-config, dump, reset, quit)", cmd.name);
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
	if (worker_busy(&l->worker)) {
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
		worker_check_deadline(l);
		if (p[PF_CTL].revents)
			control_ready(l);
		if (p[PF_LISTEN].revents && accept_one(l, chan_now_ms()) < 0)
			return 1;
		if (p[PF_MAIN].revents && !main_ready(l) && l->listen_fd < 0)
			return 0;           /* --fd: one connection only */
		for (unsigned i = PF_WATCH0; i < n && l->connected; i++)
			if (p[i].revents)
				watch_ready(l, p[i].fd, p[i].revents);
	}
	return 0;
}

/* ---- options ---- */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: vhu-lvu-backend (--socket-path=PATH | --fd=N) --control-fd=N\n"
		"           [--shmem-bit=N] [--regions=S[,S...]] [--reply-timeout=MS]\n"
		"           [--accept-timeout=MS] | --print-capabilities\n"
		"A vhost-user back-end on libvhost-user; the vhucheck control channel\n"
		"asks it to call vu_shmem_map / vu_shmem_unmap. --shmem-bit is the bit\n"
		"it offers (default 20, libvhost-user's VHOST_USER_PROTOCOL_F_SHMEM).\n");
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
	signal(SIGPIPE, SIG_IGN);
	if (worker_start(l) < 0) {
		free(l);
		return 1;
	}
	rc = start(l) < 0 ? 1 : run(l);
	connection_close(l);
	worker_stop(l);
	if (l->listen_fd >= 0) {
		close(l->listen_fd);
		unlink(o.socket_path);
	}
	free(l);
	return rc;
}
