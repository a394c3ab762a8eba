/* SPDX-License-Identifier: MIT */
#include "qmp.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool say(char *why, size_t cap, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static bool say(char *why, size_t cap, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, cap, fmt, ap);
	va_end(ap);
	return false;
}

static bool send_all(struct qmp *m, const char *text, char *why, size_t cap)
{
	size_t len = strlen(text);

	while (len) {
		ssize_t n = send(m->fd, text, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return say(why, cap, "QMP: %s", n < 0 ? strerror(errno) : "closed");
		text += n;
		len -= (size_t)n;
	}
	return true;
}

bool qmp_connect(struct qmp *m, const char *path, int timeout_ms, char *why, size_t cap)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int64_t deadline = now_ms() + timeout_ms;

	memset(m, 0, sizeof(*m));
	m->timeout_ms = timeout_ms;
	if (strlen(path) >= sizeof(sa.sun_path))
		return say(why, cap, "%s: path too long for a unix socket", path);
	strcpy(sa.sun_path, path);
	m->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (m->fd < 0)
		return say(why, cap, "socket: %s", strerror(errno));
	while (connect(m->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		struct timespec ms = { 0, 1000000 };

		if ((errno != ENOENT && errno != ECONNREFUSED) || now_ms() >= deadline) {
			say(why, cap, "%s: QEMU's QMP socket did not appear (%s)", path,
			    strerror(errno));
			qmp_close(m);
			return false;
		}
		nanosleep(&ms, NULL);
	}
	return send_all(m, "{\"execute\":\"qmp_capabilities\"}\n", why, cap);
}

/* The next JSON line into line (NUL-terminated); false on timeout/EOF. */
static bool next_line(struct qmp *m, char *line, size_t lcap, int64_t deadline,
		      char *why, size_t cap)
{
	for (;;) {
		char *nl = memchr(m->buf, '\n', m->len);
		struct pollfd p = { .fd = m->fd, .events = POLLIN };
		int64_t left = deadline - now_ms();
		ssize_t n;

		if (nl) {
			size_t len = (size_t)(nl - m->buf);

			snprintf(line, lcap, "%.*s", (int)len, m->buf);
			memmove(m->buf, nl + 1, m->len - len - 1);
			m->len -= len + 1;
			return true;
		}
		if (m->len == sizeof(m->buf))
			m->len = 0;     /* an event longer than we care for: drop it */
		if (left <= 0)
			return say(why, cap, "no answer on QMP in time (QEMU blocked on its "
				   "vhost-user peer?)");
		if (poll(&p, 1, (int)left) <= 0)
			continue;
		n = read(m->fd, m->buf + m->len, sizeof(m->buf) - m->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return say(why, cap, "QEMU closed the QMP connection");
		m->len += (size_t)n;
	}
}

/* Waits for the answer to the command sent last: {"return": ...} or
 * {"error": {"class": ..., "desc": "..."}}; events are skipped. */
static bool answer(struct qmp *m, const char *command, int64_t deadline, char *reply,
		   size_t rcap, char *why, size_t cap)
{
	char line[sizeof(m->buf) + 1];

	for (;;) {
		const char *e, *d;

		if (!next_line(m, line, sizeof(line), deadline, why, cap))
			return false;
		if (strstr(line, "\"return\"")) {
			if (reply)
				snprintf(reply, rcap, "%s", line);
			return true;
		}
		e = strstr(line, "\"error\"");
		if (!e)
			continue;
		d = strstr(e, "\"desc\": \"");
		if (d) {
			d += strlen("\"desc\": \"");
			return say(why, cap, "%s: %.*s", command, (int)strcspn(d, "\""), d);
		}
		return say(why, cap, "%s: %.200s", command, e);
	}
}

static bool ready(struct qmp *m, int64_t deadline, char *why, size_t cap)
{
	char line[sizeof(m->buf) + 1];

	if (m->ready)
		return true;
	if (!next_line(m, line, sizeof(line), deadline, why, cap))    /* greeting */
		return false;
	if (!answer(m, "qmp_capabilities", deadline, NULL, 0, why, cap))
		return false;
	m->ready = true;
	return true;
}

bool qmp_execute(struct qmp *m, const char *command, char *reply, size_t rcap,
		 char *why, size_t cap)
{
	int64_t deadline = now_ms() + m->timeout_ms;
	char msg[128];

	if (m->fd < 0)
		return say(why, cap, "'%s' needs QMP, and it is closed", command);
	if (!ready(m, deadline, why, cap))
		return false;
	snprintf(msg, sizeof(msg), "{\"execute\":\"%s\"}\n", command);
	if (!send_all(m, msg, why, cap))
		return false;
	return answer(m, command, now_ms() + m->timeout_ms, reply, rcap, why, cap);
}

void qmp_quit(struct qmp *m, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;
	char why[256], line[sizeof(m->buf) + 1];

	if (m->fd < 0)
		return;
	/* the greeting and capabilities answer may still be unread: QEMU
	 * takes the command after them either way; it closes the connection
	 * as it exits */
	if (send_all(m, "{\"execute\":\"quit\"}\n", why, sizeof(why)))
		while (next_line(m, line, sizeof(line), deadline, why, sizeof(why)))
			;
}

void qmp_close(struct qmp *m)
{
	if (m->fd >= 0)
		close(m->fd);
	m->fd = -1;
}
