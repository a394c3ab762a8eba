/* SPDX-License-Identifier: MIT */
#include "qtio.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void qtio_init(struct qtio *q, int fd, int op_timeout_ms)
{
	memset(q, 0, sizeof(*q));
	q->fd = fd;
	q->op_timeout_ms = op_timeout_ms;
	/* a batch is written while its first answers come back */
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

static bool fail(struct qtio *q, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static bool fail(struct qtio *q, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(q->err, sizeof(q->err), fmt, ap);
	va_end(ap);
	q->broken = true;
	q->outlen = 0;
	q->nslots = 0;
	return false;
}

void qtio_cmd(struct qtio *q, uint64_t *dst, const char *fmt, ...)
{
	struct qtio_slot *s;
	va_list ap;
	int n;

	if (q->broken)
		return;
	if (q->nslots == QTIO_MAX_QUEUED && !qtio_flush(q))
		return;
	s = &q->slot[q->nslots];
	va_start(ap, fmt);
	n = vsnprintf(s->line, sizeof(s->line), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(s->line) ||
	    q->outlen + (size_t)n + 1 > sizeof(q->out)) {
		q->overflow = true;
		return;
	}
	s->dst = dst;
	memcpy(q->out + q->outlen, s->line, (size_t)n);
	q->outlen += (size_t)n;
	q->out[q->outlen++] = '\n';
	q->nslots++;
}

/* One complete answer line for slot i, if the buffer holds one; IRQ
 * notifications are skipped. 1 taken, 0 need more, -1 failed. */
static int take_answer(struct qtio *q, unsigned i)
{
	for (;;) {
		char *nl = memchr(q->in, '\n', q->inlen);
		size_t len;
		char line[256];

		if (!nl)
			return 0;
		len = (size_t)(nl - q->in);
		snprintf(line, sizeof(line), "%.*s", (int)len, q->in);
		memmove(q->in, nl + 1, q->inlen - len - 1);
		q->inlen -= len + 1;
		if (strncmp(line, "IRQ", 3) == 0)
			continue;
		if (strncmp(line, "OK", 2) != 0 || (line[2] != '\0' && line[2] != ' '))
			return fail(q, "'%s': QEMU answered '%s'", q->slot[i].line, line), -1;
		if (q->slot[i].dst) {
			char *end;

			errno = 0;
			*q->slot[i].dst = strtoull(line + 2, &end, 16);
			if (end == line + 2 || errno)
				return fail(q, "'%s': no value in the answer '%s'",
					    q->slot[i].line, line), -1;
		}
		return 1;
	}
}

/* Reads what is there into q->in. False on EOF or an error. */
static bool fill(struct qtio *q, const char *what)
{
	ssize_t n;

	if (q->inlen == sizeof(q->in))
		return fail(q, "'%s': an answer line longer than %zu bytes", what,
			    sizeof(q->in));
	n = read(q->fd, q->in + q->inlen, sizeof(q->in) - q->inlen);
	if (n > 0) {
		q->inlen += (size_t)n;
		return true;
	}
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return true;
	if (n == 0)
		return fail(q, "'%s': QEMU closed the qtest connection", what);
	return fail(q, "'%s': %s", what, strerror(errno));
}

bool qtio_flush_within(struct qtio *q, int timeout_ms)
{
	size_t sent = 0;
	unsigned answered = 0;
	int64_t deadline = now_ms() + timeout_ms;

	if (q->broken)
		return false;
	if (q->overflow)
		return fail(q, "a qtest command too long for the driver's queue");
	if (q->nslots == 0)
		return true;
	q->round_trips++;
	while (answered < q->nslots) {
		struct pollfd p = { .fd = q->fd, .events = POLLIN };
		const char *what = q->slot[answered].line;
		int64_t left = deadline - now_ms();
		int r;

		if (sent < q->outlen)
			p.events |= POLLOUT;
		if (left <= 0)
			return fail(q, "'%s': no answer from QEMU within %.1f s (QEMU busy or "
				    "blocked on its vhost-user peer)", what, timeout_ms / 1000.0);
		r = poll(&p, 1, (int)left);
		if (r < 0 && errno != EINTR)
			return fail(q, "'%s': poll: %s", what, strerror(errno));
		if (r <= 0)
			continue;
		if (p.revents & POLLOUT) {
			ssize_t n = write(q->fd, q->out + sent, q->outlen - sent);

			if (n < 0 && errno != EAGAIN && errno != EINTR)
				return fail(q, "'%s': QEMU closed the qtest connection (%s)",
					    what, strerror(errno));
			if (n > 0)
				sent += (size_t)n;
		}
		if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
			if (!fill(q, what))
				return false;
		}
		for (int t; answered < q->nslots && (t = take_answer(q, answered)) != 0;) {
			if (t < 0)
				return false;
			/* progress: each answer earns the next one a full timeout */
			deadline = now_ms() + timeout_ms;
			answered++;
		}
	}
	q->outlen = 0;
	q->nslots = 0;
	return true;
}

bool qtio_flush(struct qtio *q)
{
	return qtio_flush_within(q, q->op_timeout_ms);
}

static char suffix(unsigned size)
{
	return size == 1 ? 'b' : size == 2 ? 'w' : size == 4 ? 'l' : 'q';
}

void qtio_out(struct qtio *q, unsigned size, unsigned port, uint64_t value)
{
	qtio_cmd(q, NULL, "out%c 0x%x 0x%" PRIx64, suffix(size), port, value);
}

void qtio_in(struct qtio *q, unsigned size, unsigned port, uint64_t *dst)
{
	qtio_cmd(q, dst, "in%c 0x%x", suffix(size), port);
}

void qtio_write(struct qtio *q, unsigned size, uint64_t addr, uint64_t value)
{
	qtio_cmd(q, NULL, "write%c 0x%" PRIx64 " 0x%" PRIx64, suffix(size), addr, value);
}

void qtio_read(struct qtio *q, unsigned size, uint64_t addr, uint64_t *dst)
{
	qtio_cmd(q, dst, "read%c 0x%" PRIx64, suffix(size), addr);
}

void qtio_memset(struct qtio *q, uint64_t addr, uint64_t len, unsigned byte)
{
	qtio_cmd(q, NULL, "memset 0x%" PRIx64 " 0x%" PRIx64 " 0x%02x", addr, len, byte & 0xFF);
}

bool qtio_closed(struct qtio *q)
{
	struct pollfd p = { .fd = q->fd, .events = POLLIN };
	char *nl;

	/* a session broken by a timeout is still open: a late answer is
	 * read and dropped here, only EOF means QEMU went away */
	if (q->fd < 0)
		return true;
	if (poll(&p, 1, 0) <= 0)
		return false;
	if (q->inlen == sizeof(q->in))
		q->inlen = 0;
	if (!fill(q, "(idle)"))
		return true;    /* EOF, or the connection failed */
	/* nothing is pending between commands: what came is notifications */
	while ((nl = memchr(q->in, '\n', q->inlen)) != NULL) {
		size_t len = (size_t)(nl - q->in) + 1;

		memmove(q->in, nl + 1, q->inlen - len);
		q->inlen -= len;
	}
	return false;
}
