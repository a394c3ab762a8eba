/* SPDX-License-Identifier: MIT */
/*
 * sesstrace: the trace of a running case. See sesstrace.h.
 */
#include "sesstrace.h"

#include <stdlib.h>
#include <string.h>

#include "proto.h"

/* Copies as much of src as fits: trace lines are cut, not refused. */
static void copy_cut(char *dst, size_t cap, const char *src)
{
	size_t n = strnlen(src, cap - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

void sesstrace_init(struct sesstrace *t, FILE *file)
{
	memset(t, 0, sizeof(*t));
	t->file = file;
}

void sesstrace_close(struct sesstrace *t)
{
	if (t->file)
		fclose(t->file);
	t->file = NULL;
}

static void trace_line(struct sesstrace *t, int chan, const char *line)
{
	if (t->file)
		fprintf(t->file, "%s\n", line);
	copy_cut(t->tail[t->ntail % SESS_TAIL], sizeof(t->tail[0]), line);
	t->ntail++;
	if (chan >= 0)
		copy_cut(t->last_line[chan], sizeof(t->last_line[0]), line);
}

void sesstrace_msg(struct sesstrace *t, int64_t t0, const char *chan_name,
		   enum chan_dir dir, const struct chan_msg *m,
		   enum chan_status st)
{
	char line[512];

	chan_format_trace(line, sizeof(line), t0, chan_name, dir, m, st);
	trace_line(t, strcmp(chan_name, "backend") == 0, line);
}

void sesstrace_vnote(struct sesstrace *t, int64_t t0, const char *fmt,
		     va_list ap)
{
	char line[512];
	int n = snprintf(line, sizeof(line), "+%.4fs # ",
			 (double)(chan_now_ms() - t0) / 1000.0);

	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	trace_line(t, -1, line);
}

__attribute__((format(printf, 3, 4)))
static void note(struct sesstrace *t, int64_t t0, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sesstrace_vnote(t, t0, fmt, ap);
	va_end(ap);
}

/* chan's format, with the first 8 fds. */
void sesstrace_wide(struct sesstrace *t, int64_t t0, const char *chan_name,
		    const uint8_t *buf, size_t len, const int *fds,
		    unsigned nfds, int rc)
{
	struct chan_msg *m = malloc(sizeof(*m));
	size_t plen;

	if (!m)
		return;
	chan_msg_init(m);
	m->hdr_valid = len >= PROTO_HDR_SIZE &&
		       proto_hdr_decode(buf, len, &m->hdr) == PROTO_OK;
	plen = m->hdr_valid ? len - PROTO_HDR_SIZE : len;
	if (plen > PROTO_MAX_PAYLOAD)
		plen = PROTO_MAX_PAYLOAD;
	memcpy(m->payload, m->hdr_valid ? buf + PROTO_HDR_SIZE : buf, plen);
	m->payload_len = plen;
	m->nfds = PROTO_MAX_FDS;
	memcpy(m->fds, fds, sizeof(int) * PROTO_MAX_FDS);
	m->t_ms = chan_now_ms();
	sesstrace_msg(t, t0, chan_name, CHAN_DIR_TX, m,
		      rc < 0 ? CHAN_ERROR : (enum chan_status)rc);
	note(t, t0, "... and %u fds more on that message (%u in all)",
	     nfds - PROTO_MAX_FDS, nfds);
	free(m);
}

void sesstrace_tail(const struct sesstrace *t, unsigned n, char *out,
		    size_t cap)
{
	unsigned have = t->ntail < SESS_TAIL ? t->ntail : SESS_TAIL;
	size_t len = 0;

	if (cap == 0)
		return;
	out[0] = '\0';
	if (n > have)
		n = have;
	for (unsigned i = t->ntail - n; i < t->ntail && len < cap; i++)
		len += (size_t)snprintf(out + len, cap - len, "%s%s",
					len ? "\n" : "", t->tail[i % SESS_TAIL]);
}
