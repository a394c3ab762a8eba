/* SPDX-License-Identifier: MIT */
#include "ctl.h"

#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "chan.h"

static int copy_word(char *dst, const char *src, size_t n)
{
	if (n >= CTL_WORD_MAX)
		return -EINVAL;
	memcpy(dst, src, n);
	dst[n] = '\0';
	return 0;
}

static int parse_arg(const char *w, size_t n, struct ctl_arg *a, char *err,
		     size_t errcap)
{
	const char *eq = memchr(w, '=', n);
	size_t klen = eq ? (size_t)(eq - w) : n;

	if (klen == 0) {
		snprintf(err, errcap, "argument '%.*s' has no name", (int)n, w);
		return -EINVAL;
	}
	if (copy_word(a->key, w, klen) < 0 ||
	    (eq && copy_word(a->val, eq + 1, n - klen - 1) < 0)) {
		snprintf(err, errcap, "argument too long");
		return -EINVAL;
	}
	a->has_val = eq != NULL;
	if (!eq)
		a->val[0] = '\0';
	return 0;
}

int ctl_parse(const char *line, struct ctl_cmd *cmd, char *err, size_t errcap)
{
	const char *p = line;
	bool first = true;

	memset(cmd, 0, sizeof(*cmd));
	for (;;) {
		size_t n;

		while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
			p++;
		if (!*p)
			break;
		n = strcspn(p, " \t\r\n");
		if (first) {
			if (copy_word(cmd->name, p, n) < 0) {
				snprintf(err, errcap, "command too long");
				return -EINVAL;
			}
			first = false;
		} else {
			if (cmd->nargs == CTL_MAX_ARGS) {
				snprintf(err, errcap, "more than %u arguments",
					 CTL_MAX_ARGS);
				return -EINVAL;
			}
			if (parse_arg(p, n, &cmd->args[cmd->nargs], err,
				      errcap) < 0)
				return -EINVAL;
			cmd->nargs++;
		}
		p += n;
	}
	if (first) {
		snprintf(err, errcap, "empty line");
		return -ENODATA;
	}
	return 0;
}

const struct ctl_arg *ctl_find(const struct ctl_cmd *cmd, const char *key)
{
	for (unsigned i = 0; i < cmd->nargs; i++)
		if (strcmp(cmd->args[i].key, key) == 0)
			return &cmd->args[i];
	return NULL;
}

int ctl_check_keys(const struct ctl_cmd *cmd, const char *const *allowed,
		   char *err, size_t errcap)
{
	for (unsigned i = 0; i < cmd->nargs; i++) {
		const char *const *k = allowed;

		while (*k && strcmp(*k, cmd->args[i].key) != 0)
			k++;
		if (!*k) {
			snprintf(err, errcap, "%s: unknown argument '%s'",
				 cmd->name, cmd->args[i].key);
			return -EINVAL;
		}
	}
	return 0;
}

static int suffix_shift(char c)
{
	switch (tolower((unsigned char)c)) {
	case 'k': return 10;
	case 'm': return 20;
	case 'g': return 30;
	default: return -1;
	}
}

int ctl_parse_u64(const char *s, uint64_t *out)
{
	unsigned base = 10;
	uint64_t v = 0;
	const char *p = s;
	int shift = 0;

	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		base = 16;
		p += 2;
	}
	if (!isxdigit((unsigned char)*p))
		return -EINVAL;
	for (; *p; p++) {
		unsigned d;

		if (isdigit((unsigned char)*p))
			d = (unsigned)(*p - '0');
		else if (base == 16 && isxdigit((unsigned char)*p))
			d = (unsigned)(tolower((unsigned char)*p) - 'a' + 10);
		else
			break;
		if (v > (UINT64_MAX - d) / base)
			return -EINVAL;
		v = v * base + d;
	}
	if (*p) {
		/* k, m and g are not hex digits, so a suffix is unambiguous
		 * after a hex number too. */
		shift = suffix_shift(*p);
		if (shift < 0 || p[1] != '\0')
			return -EINVAL;
		if (v > (UINT64_MAX >> shift))
			return -EINVAL;
		v <<= shift;
	}
	*out = v;
	return 0;
}

int ctl_parse_u64_list(const char *s, uint64_t *out, unsigned max,
		       unsigned *count)
{
	char word[CTL_WORD_MAX];
	const char *p = s;
	unsigned n = 0;

	do {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		if (n == max || copy_word(word, p, len) < 0 ||
		    ctl_parse_u64(word, &out[n]) < 0)
			return -EINVAL;
		n++;
		p = end ? end + 1 : NULL;
	} while (p);
	*count = n;
	return 0;
}

int ctl_arg_u64(const struct ctl_cmd *cmd, const char *key, uint64_t dflt,
		uint64_t *out, char *err, size_t errcap)
{
	const struct ctl_arg *a = ctl_find(cmd, key);

	if (!a) {
		*out = dflt;
		return 0;
	}
	if (!a->has_val || ctl_parse_u64(a->val, out) < 0) {
		snprintf(err, errcap, "%s: bad number for %s: '%s'", cmd->name,
			 key, a->val);
		return -EINVAL;
	}
	return 0;
}

int ctl_arg_bool(const struct ctl_cmd *cmd, const char *key, bool dflt,
		 bool *out, char *err, size_t errcap)
{
	static const char *const yes[] = { "1", "yes", "on", "true", NULL };
	static const char *const no[] = { "0", "no", "off", "false", NULL };
	const struct ctl_arg *a = ctl_find(cmd, key);

	if (!a) {
		*out = dflt;
		return 0;
	}
	if (!a->has_val) {
		*out = true;
		return 0;
	}
	for (unsigned i = 0; yes[i]; i++) {
		if (strcmp(a->val, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcmp(a->val, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	snprintf(err, errcap, "%s: bad boolean for %s: '%s'", cmd->name, key,
		 a->val);
	return -EINVAL;
}

void ctl_reader_init(struct ctl_reader *r, int fd)
{
	memset(r, 0, sizeof(*r));
	r->fd = fd;
}

int ctl_reader_fill(struct ctl_reader *r)
{
	ssize_t n;

	if (r->len == sizeof(r->buf)) {
		/* A full buffer without a newline: drop it, and the rest of
		 * that line as it comes. */
		r->len = 0;
		r->overlong = true;
	}
	do {
		n = recv(r->fd, r->buf + r->len, sizeof(r->buf) - r->len,
			 MSG_DONTWAIT);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	if (n == 0)
		r->eof = true;
	r->len += (size_t)n;
	return (int)n;
}

int ctl_reader_next(struct ctl_reader *r, char *line, size_t cap)
{
	char *nl = memchr(r->buf, '\n', r->len);
	size_t n, used;

	if (!nl)
		return 0;
	n = (size_t)(nl - r->buf);
	used = n + 1;
	if (r->overlong || n >= cap) {
		r->overlong = false;
		memmove(r->buf, r->buf + used, r->len - used);
		r->len -= used;
		return -E2BIG;
	}
	memcpy(line, r->buf, n);
	line[n] = '\0';
	memmove(r->buf, r->buf + used, r->len - used);
	r->len -= used;
	return 1;
}

static int send_all(int fd, const char *buf, size_t len, int64_t deadline)
{
	size_t off = 0;

	while (off < len) {
		ssize_t n = send(fd, buf + off, len - off,
				 MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n >= 0) {
			off += (size_t)n;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -errno;
		int64_t left = deadline - chan_now_ms();
		struct pollfd p = { .fd = fd, .events = POLLOUT };

		if (left <= 0)
			return -ETIMEDOUT;
		if (poll(&p, 1, (int)(left > 1000 ? 1000 : left)) < 0 &&
		    errno != EINTR)
			return -errno;
	}
	return 0;
}

static int send_answer(int fd, const char *word, const char *text,
		       int64_t deadline)
{
	char line[CTL_LINE_MAX * 4];
	int n;

	if (text && *text)
		n = snprintf(line, sizeof(line), "%s %s\n", word, text);
	else
		n = snprintf(line, sizeof(line), "%s\n", word);
	if (n < 0)
		return -EINVAL;
	if ((size_t)n >= sizeof(line)) {
		/* Keep one line per answer even when the text is too long. */
		n = (int)sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	return send_all(fd, line, (size_t)n, deadline);
}

int ctl_send_ok(int fd, const char *text, int64_t deadline)
{
	return send_answer(fd, "ok", text, deadline);
}

int ctl_send_err(int fd, const char *text, int64_t deadline)
{
	return send_answer(fd, "err", text && *text ? text : "failed",
			   deadline);
}

int ctl_send_unsupported(int fd, const char *why, int64_t deadline)
{
	char text[CTL_LINE_MAX];

	snprintf(text, sizeof(text), "unsupported: %s",
		 why && *why ? why : "not in this mode");
	return send_answer(fd, "err", text, deadline);
}
