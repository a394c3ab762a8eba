/* SPDX-License-Identifier: MIT */
#include "qdrv.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define VERSION 2               /* control protocol; 2 changed back-end commands only */
#define ERROR_SERVE_S 600
#define SETTLE_S 2
#define IDLE_NS 1000000
#define END_TIMEOUT_MS 1000
#define POLL_MS 1000

static const char FRONTEND_COMMANDS[] =
	"version, start, stop, reset, reconnect, dump, quit";

void qdrv_log(const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	n = snprintf(line, sizeof(line), "vhu-qtest[%ld]: ", (long)getpid());
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	strcat(line, "\n");
	/* one write per line: QEMU writes to the same file */
	(void)!write(2, line, strlen(line));
}

/* ---- the device ---- */

static bool match(unsigned vendor, unsigned device, unsigned slot, const void *arg)
{
	const struct qdrv_opts *o = arg;

	if (o->slot >= 0 && slot != (unsigned long)o->slot)
		return false;
	if (vendor != QVIRTIO_VENDOR || device < 0x1000 || device > 0x107F)
		return false;
	return o->device_id < 0 || device == (unsigned long)o->device_id;
}

static void describe(struct qdrv *d)
{
	char where[512] = "", shm[512] = "";
	unsigned dev_id = qpci_cfg(&d->fn, QPCI_DEVICE_ID, 2);
	char type[16] = "None";
	size_t n = 0, m = 0;

	for (unsigned i = 0; i < QPCI_NBARS; i++) {
		const struct qpci_bar *b = &d->fn.bar[i];

		if (b->index < 0 || n >= sizeof(where))
			continue;
		if (b->assigned)
			n += (size_t)snprintf(where + n, sizeof(where) - n, "%sBAR%d 0x%" PRIx64
					      "@0x%" PRIx64, n ? ", " : "", b->index, b->size,
					      b->address);
		else
			n += (size_t)snprintf(where + n, sizeof(where) - n, "%sBAR%d 0x%" PRIx64
					      " unassigned", n ? ", " : "", b->index, b->size);
	}
	for (unsigned i = 0; i < d->dev.nshm && m < sizeof(shm); i++) {
		const struct qvirtio_shm *s = &d->dev.shm[i];

		m += (size_t)snprintf(shm + m, sizeof(shm) - m, "%sshmid %u: BAR%u+0x%" PRIx64
				      " len 0x%" PRIx64, m ? ", " : "", s->shmid, s->bar,
				      s->offset, s->length);
	}
	if (dev_id >= 0x1040 && dev_id <= 0x107F)
		snprintf(type, sizeof(type), "%u", dev_id - 0x1040);
	qdrv_log("00:%02x.%u %04x:%04x (virtio type %s): %s; shared memory regions: %s",
		 d->fn.slot, d->fn.func, QVIRTIO_VENDOR, dev_id, type, where,
		 m ? shm : "none");
}

bool qdrv_probe(struct qdrv *d, char *why, size_t cap)
{
	bool found;

	if (!qpci_find(d->q, match, d->o, &d->fn, &found)) {
		if (found || d->q->broken)
			snprintf(why, cap, "%s", d->q->err);
		else
			snprintf(why, cap, "no virtio PCI function on bus 0%s%.0lx%s%.0lx",
				 d->o->slot >= 0 ? " slot 0x" : "", d->o->slot >= 0 ? d->o->slot : 0,
				 d->o->device_id >= 0 ? " device id 0x" : "",
				 d->o->device_id >= 0 ? d->o->device_id : 0);
		return false;
	}
	if (!qpci_size_bars(d->q, &d->fn)) {
		snprintf(why, cap, "%s", d->q->err);
		return false;
	}
	qpci_assign_bars(d->q, &d->fn, d->o->shm_unmapped ? qvirtio_shm_bars(&d->fn) : 0);
	if (!qvirtio_open(&d->dev, d->q, &d->fn, why, cap))
		return false;
	describe(d);
	return true;
}

static bool qmp_do(struct qdrv *d, const char *command, char *why, size_t cap)
{
	if (!d->qmp) {
		snprintf(why, cap, "'%s' needs QMP (started with --no-qmp)", command);
		return false;
	}
	if (!qmp_execute(d->qmp, command, NULL, 0, why, cap))
		return false;
	qdrv_log("QMP %s", command);
	return true;
}

bool qdrv_start(struct qdrv *d, char *why, size_t cap)
{
	unsigned n;
	uint8_t st;

	if (d->paused) {
		if (!qmp_do(d, "cont", why, cap))
			return false;
		d->paused = false;
	}
	if (!qvirtio_status(&d->dev, &st, why, cap))
		return false;
	if (st & QVIRTIO_DRIVER_OK) {
		d->started = true;
		return true;
	}
	if (!qvirtio_initialise(&d->dev, d->o->features, d->o->ring_base, &n, why, cap))
		return false;
	d->started = true;
	qdrv_log("DRIVER_OK: features 0x%" PRIx64 " of 0x%" PRIx64 ", %u queue(s)",
		 d->dev.negotiated, d->dev.offered, n);
	return true;
}

static bool stop(struct qdrv *d, char *why, size_t cap)
{
	if (!qmp_do(d, "stop", why, cap))
		return false;
	d->paused = true;
	return true;
}

static bool reset(struct qdrv *d, char *why, size_t cap)
{
	if (!qvirtio_reset(&d->dev, why, cap))
		return false;
	d->started = false;
	qdrv_log("device reset (status 0)");
	return true;
}

/* Whether every socket chardev QEMU has, other than our own qtest and
 * QMP sockets (in tmpdir), reads "disconnected:" in query-chardev. */
static bool others_disconnected(const char *reply, const char *tmpdir)
{
	static const char key[] = "\"filename\": \"";
	const char *f = reply;

	while ((f = strstr(f, key)) != NULL) {
		size_t len;

		f += strlen(key);
		len = strcspn(f, "\"");
		if (strncmp(f, "disconnected:", 13) != 0 && strncmp(f, "unix:", 5) == 0 &&
		    !(tmpdir && memmem(f, len, tmpdir, strlen(tmpdir))))
			return false;
		f += len;
	}
	return true;
}

/* Waits (bounded) until QEMU has handled the close of its vhost-user
 * sockets. The main loop dispatches a socket's hang-up below every other
 * source, and a device's clean-up after it is a bottom half that runs
 * before any QMP command that comes later: once query-chardev shows the
 * socket disconnected, the `quit` we send next is handled after that
 * clean-up, a crash in it included. Between queries QEMU is left idle,
 * so that the hang-up is not starved by our own queries. */
static bool settled(struct qdrv *d)
{
	struct timespec idle = { 0, IDLE_NS };
	char reply[sizeof(d->qmp->buf) + 1], why[QTIO_WHY];
	time_t end = time(NULL) + SETTLE_S;

	while (time(NULL) <= end) {
		if (!qmp_execute(d->qmp, "query-chardev", reply, sizeof(reply), why,
				 sizeof(why)))
			return false;
		if (others_disconnected(reply, d->tmpdir))
			return true;
		nanosleep(&idle, NULL);
	}
	return false;
}

void qdrv_end_qemu(struct qdrv *d, bool settle)
{
	/* without QMP, nothing says when QEMU is done: the harness ends it */
	if (settle && (!d->qmp || !settled(d)))
		return;
	if (d->qmp)
		qmp_quit(d->qmp, END_TIMEOUT_MS);
	else
		kill(getppid(), SIGTERM);       /* QEMU: we are its guest */
}

/* ---- the control channel ---- */

static void answer(int fd, bool ok, const char *text)
{
	char line[8192];
	size_t len, off = 0;

	snprintf(line, sizeof(line), "%s%s%s\n", ok ? "ok" : "err", *text ? " " : "", text);
	len = strlen(line);
	while (off < len) {
		ssize_t n = write(fd, line + off, len - off);

		if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
			struct pollfd p = { .fd = fd, .events = POLLOUT };

			if (poll(&p, 1, POLL_MS) <= 0)
				return;
			continue;
		}
		if (n <= 0)
			return;         /* the controller went away: EOF ends the loop */
		off += (size_t)n;
	}
}

static void json_string(char *out, size_t cap, const char *s)
{
	size_t n = 0;

	if (cap < 3)
		return;
	out[n++] = '"';
	for (; *s && n + 8 < cap; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			out[n++] = '\\';
			out[n++] = (char)c;
		} else if (c < 0x20 || c >= 0x7F) {
			n += (size_t)snprintf(out + n, cap - n, "\\u%04x", c);
		} else {
			out[n++] = (char)c;
		}
	}
	out[n++] = '"';
	out[n] = '\0';
}

/* The state, as JSON with sorted keys (what the python driver printed). */
static void dump(struct qdrv *d, char *out, size_t cap)
{
	char err[2 * sizeof(d->error)], why[QTIO_WHY], status[32], shm[1024] = "";
	size_t m = 0;
	uint8_t st;

	if (qvirtio_status(&d->dev, &st, why, sizeof(why))) {
		snprintf(status, sizeof(status), "\"0x%x\"", st);
		json_string(err, sizeof(err), d->error);
	} else {
		snprintf(status, sizeof(status), "null");
		json_string(err, sizeof(err), d->error[0] ? d->error : why);
	}
	for (unsigned i = 0; i < d->dev.nshm && m < sizeof(shm); i++) {
		const struct qvirtio_shm *s = &d->dev.shm[i];

		m += (size_t)snprintf(shm + m, sizeof(shm) - m,
				      "%s{\"bar\":%u,\"length\":%" PRIu64 ",\"offset\":%" PRIu64
				      ",\"shmid\":%u}", m ? "," : "", s->bar, s->length,
				      s->offset, s->shmid);
	}
	snprintf(out, cap, "{\"device\":\"00:%02x.%u\",\"error\":%s,\"mappings\":[],"
		 "\"negotiated\":\"0x%" PRIx64 "\",\"paused\":%s,\"shm\":[%s],"
		 "\"started\":%s,\"status\":%s}", d->fn.slot, d->fn.func, err,
		 d->dev.negotiated, d->paused ? "true" : "false", shm,
		 d->started && !d->paused ? "true" : "false", status);
}

static void version(int fd, const char *arg, const char *extra)
{
	char text[32];
	size_t len = arg ? strlen(arg) : 0;
	bool digits = len > 0 && !extra && strspn(arg, "0123456789") == len;
	unsigned long v = digits ? strtoul(arg, NULL, 10) : 0;

	if (digits && len > 9)
		v = VERSION;    /* very large: the lower of the two is ours */
	if (!digits || v < 1) {
		answer(fd, false, "version: usage: version N (N >= 1)");
		return;
	}
	snprintf(text, sizeof(text), "version=%lu", v < VERSION ? v : VERSION);
	answer(fd, true, text);
}

/* A lifecycle command, after its answer went out. */
static void act(struct qdrv *d, const char *name)
{
	char why[QTIO_WHY];
	bool ok;

	if (strcmp(name, "start") == 0)
		ok = qdrv_start(d, why, sizeof(why));
	else if (strcmp(name, "stop") == 0)
		ok = stop(d, why, sizeof(why));
	else
		ok = reset(d, why, sizeof(why));
	if (!ok) {
		snprintf(d->error, sizeof(d->error), "%s: %s", name, why);
		qdrv_log("%s", d->error);
	}
}

/* One control line. False: end (quit). */
static bool command(struct qdrv *d, int fd, char *line)
{
	char *save = NULL, *name = strtok_r(line, " \t\r\f\v", &save);
	char *arg = name ? strtok_r(NULL, " \t\r\f\v", &save) : NULL;
	char *extra = arg ? strtok_r(NULL, " \t\r\f\v", &save) : NULL;
	char text[8192];

	if (!name)
		return true;
	if (strcmp(name, "reconnect") == 0) {
		answer(fd, false, "unsupported: QEMU offers no way to drop and re-open a "
		       "vhost-user connection on request");
	} else if (strcmp(name, "stop") == 0 && !d->qmp) {
		answer(fd, false, "unsupported: stop needs QMP (vhu-qtest was started with "
		       "--no-qmp)");
	} else if (!strcmp(name, "start") || !strcmp(name, "stop") || !strcmp(name, "reset")) {
		answer(fd, true, "");
		act(d, name);
	} else if (strcmp(name, "version") == 0) {
		version(fd, arg, extra);
	} else if (strcmp(name, "dump") == 0) {
		dump(d, text, sizeof(text));
		answer(fd, true, text);
	} else if (strcmp(name, "quit") == 0) {
		answer(fd, true, "");
		qdrv_end_qemu(d, false);
		return false;
	} else {
		snprintf(text, sizeof(text), "unknown command '%.200s' (a front-end takes: %s)",
			 name, FRONTEND_COMMANDS);
		answer(fd, false, text);
	}
	return true;
}

struct lines {
	char buf[4096];
	size_t len;
	bool eof;
};

/* Reads what the controller sent; false once it went away. */
static bool lines_fill(struct lines *l, int fd)
{
	ssize_t n;

	if (l->len == sizeof(l->buf))
		l->len = 0;     /* a line longer than any command: dropped */
	n = read(fd, l->buf + l->len, sizeof(l->buf) - l->len);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return true;
	if (n <= 0)
		l->eof = true;
	else
		l->len += (size_t)n;
	return !l->eof;
}

/* The next complete line into out (NUL-terminated, no newline). */
static bool lines_next(struct lines *l, char *out, size_t cap)
{
	char *nl = memchr(l->buf, '\n', l->len);
	size_t len;

	if (!nl)
		return false;
	len = (size_t)(nl - l->buf);
	snprintf(out, cap, "%.*s", (int)len, l->buf);
	memmove(l->buf, nl + 1, l->len - len - 1);
	l->len -= len + 1;
	return true;
}

int qdrv_serve(struct qdrv *d, int ctl_fd)
{
	struct lines l = { .len = 0 };
	char line[sizeof(l.buf) + 1];

	for (;;) {
		struct pollfd p[2] = { { .fd = ctl_fd, .events = POLLIN },
				       { .fd = d->q->fd, .events = POLLIN } };

		if (poll(p, 2, POLL_MS) < 0 && errno != EINTR)
			return 1;
		if (p[1].revents && qtio_closed(d->q)) {
			qdrv_log("QEMU closed the qtest connection");
			return 0;
		}
		if (!p[0].revents)
			continue;
		lines_fill(&l, ctl_fd);
		while (lines_next(&l, line, sizeof(line)))
			if (!command(d, ctl_fd, line))
				return 0;
		if (l.eof) {
			qdrv_end_qemu(d, true);
			return 0;
		}
	}
}

int qdrv_serve_error(struct qdrv *d, int ctl_fd, const char *why)
{
	struct lines l = { .len = 0 };
	char line[sizeof(l.buf) + 1], text[QTIO_WHY + 32];
	time_t end = time(NULL) + ERROR_SERVE_S;

	snprintf(text, sizeof(text), "vhu-qtest: %s", why);
	while (time(NULL) < end && !l.eof) {
		struct pollfd p = { .fd = ctl_fd, .events = POLLIN };

		if (poll(&p, 1, POLL_MS) <= 0)
			continue;
		lines_fill(&l, ctl_fd);
		while (lines_next(&l, line, sizeof(line)))
			if (line[strspn(line, " \t\r")])
				answer(ctl_fd, false, text);
	}
	if (l.eof)
		qdrv_end_qemu(d, true);
	return 1;
}

int qdrv_idle(struct qdrv *d)
{
	while (!qtio_closed(d->q)) {
		struct pollfd p = { .fd = d->q->fd, .events = POLLIN };

		poll(&p, 1, POLL_MS);
	}
	return 0;
}
