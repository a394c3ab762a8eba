/* SPDX-License-Identifier: MIT */
#include "faultrule.h"
#include "protoname.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const kind_names[] = {
	[FAULTRULE_DROP] = "drop",
	[FAULTRULE_DELAY] = "delay",
	[FAULTRULE_CORRUPT] = "corrupt",
	[FAULTRULE_DUPLICATE] = "duplicate",
	[FAULTRULE_INJECT_MAP] = "inject-map",
};

const char *faultrule_kind_name(enum faultrule_kind k)
{
	return (unsigned)k <= FAULTRULE_INJECT_MAP ? kind_names[k] : "?";
}

/* A number: decimal or 0x hex, with k/m/g binary suffixes. */
static int parse_num(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;
	unsigned shift = 0;

	if (!*s || *s == '-')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s)
		return -EINVAL;
	if (*end == 'k' || *end == 'K')
		shift = 10;
	else if (*end == 'm' || *end == 'M')
		shift = 20;
	else if (*end == 'g' || *end == 'G')
		shift = 30;
	if (shift)
		end++;
	if (*end || (shift && v > (UINT64_MAX >> shift)))
		return -EINVAL;
	v <<= shift;
	if (v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

/* "[main/|backend/]NAME|NUM[.reply][@N]" into r->req, reply, nth. */
static int parse_msg(char *s, struct faultrule *r, char *err, size_t errcap)
{
	char *at = strchr(s, '@'), *dot;
	int only = -1;
	uint64_t v;

	if (at) {
		*at = '\0';
		if (parse_num(at + 1, 1000000, &v) < 0 || v == 0) {
			snprintf(err, errcap, "'@%s': a match number from 1", at + 1);
			return -EINVAL;
		}
		r->nth = (unsigned)v;
	}
	dot = strrchr(s, '.');
	if (dot && strcasecmp(dot, ".reply") == 0) {
		*dot = '\0';
		r->reply = true;
	}
	if (strncmp(s, "main/", 5) == 0) {
		only = PROTO_CHAN_MAIN;
		s += 5;
	} else if (strncmp(s, "backend/", 8) == 0) {
		only = PROTO_CHAN_BACKEND;
		s += 8;
	}
	for (int c = 0; c < 2; c++) {
		r->req[c] = -1;
		if (only >= 0 && c != only)
			continue;
		if (parse_num(s, UINT32_MAX, &v) == 0)
			r->req[c] = (int)v;
		else
			r->req[c] = proto_req_by_name((enum proto_chan)c, s);
	}
	if (r->req[0] < 0 && r->req[1] < 0) {
		snprintf(err, errcap, "'%s' is not a request name or number", s);
		return -EINVAL;
	}
	return 0;
}

/* "OFF[:XOR]" of a corrupt rule. */
static int parse_corrupt(char *s, struct faultrule *r, char *err, size_t errcap)
{
	char *colon = strchr(s, ':');
	uint64_t v;

	if (colon) {
		*colon = '\0';
		if (parse_num(colon + 1, 0xff, &v) < 0 || v == 0) {
			snprintf(err, errcap, "corrupt: XOR mask 1..0xff");
			return -EINVAL;
		}
		r->xor_mask = (uint8_t)v;
	}
	if (parse_num(s, PROTO_HDR_SIZE + PROTO_MAX_PAYLOAD - 1, &v) < 0) {
		snprintf(err, errcap, "corrupt: byte offset 0..%u",
			 PROTO_HDR_SIZE + PROTO_MAX_PAYLOAD - 1);
		return -EINVAL;
	}
	r->offset = (unsigned)v;
	return 0;
}

static int inject_key(struct faultrule *r, const char *k, const char *v)
{
	uint64_t n;

	if (strcmp(k, "flags") == 0 && (!strcmp(v, "rw") || !strcmp(v, "ro"))) {
		r->mm.flags = v[1] == 'w' ? PROTO_MMAP_F_RW : 0;
		return 0;
	}
	if (parse_num(v, UINT64_MAX, &n) < 0)
		return -EINVAL;
	if (strcmp(k, "shmid") == 0 && n < PROTO_SHMEM_MAX_REGIONS)
		r->mm.shmid = (uint8_t)n;
	else if (strcmp(k, "shm_offset") == 0)
		r->mm.shm_offset = n;
	else if (strcmp(k, "fd_offset") == 0 && n <= (1ull << 32))
		r->mm.fd_offset = n;
	else if (strcmp(k, "len") == 0 && n <= (1ull << 32))
		r->mm.len = n;
	else if (strcmp(k, "flags") == 0)
		r->mm.flags = n;
	else if (strcmp(k, "need_reply") == 0 && n <= 1)
		r->need_reply = (int)n;
	else if (strcmp(k, "after") == 0 && n <= 3600000)
		r->after_ms = (unsigned)n;
	else
		return -EINVAL;
	return 0;
}

static int parse_inject(char *s, struct faultrule *r, char *err, size_t errcap)
{
	char *save = NULL;

	r->mm.len = 0x1000;
	r->mm.flags = PROTO_MMAP_F_RW;
	r->need_reply = -1;
	r->after_ms = 200;
	for (char *kv = strtok_r(s, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(kv, '=');

		if (!eq) {
			snprintf(err, errcap, "inject-map: '%s' is not key=value", kv);
			return -EINVAL;
		}
		*eq = '\0';
		if (inject_key(r, kv, eq + 1) < 0) {
			snprintf(err, errcap, "inject-map: bad %s=%s (keys: shmid, "
				 "shm_offset, fd_offset, len, flags, need_reply, after)",
				 kv, eq + 1);
			return -EINVAL;
		}
	}
	return 0;
}

static int parse_kind(const char *s, enum faultrule_kind *k)
{
	for (unsigned i = 0; i <= FAULTRULE_INJECT_MAP; i++)
		if (strcmp(s, kind_names[i]) == 0) {
			*k = (enum faultrule_kind)i;
			return 0;
		}
	return -EINVAL;
}

/* The MSG part and what follows it, per kind. */
static int parse_args(char *rest, struct faultrule *r, char *err, size_t errcap)
{
	char *colon = strchr(rest, ':');
	uint64_t v;

	if (colon)
		*colon = '\0';
	if (parse_msg(rest, r, err, errcap) < 0)
		return -EINVAL;
	if (r->kind == FAULTRULE_DELAY) {
		if (!colon || parse_num(colon + 1, 600000, &v) < 0) {
			snprintf(err, errcap, "delay:MSG:MS with MS up to 600000");
			return -EINVAL;
		}
		r->delay_ms = (unsigned)v;
		return 0;
	}
	if (r->kind == FAULTRULE_CORRUPT && colon)
		return parse_corrupt(colon + 1, r, err, errcap);
	if (colon) {
		snprintf(err, errcap, "%s takes no argument after the message",
			 kind_names[r->kind]);
		return -EINVAL;
	}
	return 0;
}

int faultrule_parse(const char *spec, struct faultrule *r, char *err,
		    size_t errcap)
{
	char buf[sizeof(r->spec)], *colon;

	memset(r, 0, sizeof(*r));
	r->offset = UINT32_MAX;
	r->xor_mask = 0xff;
	r->req[0] = r->req[1] = -1;
	if (strlen(spec) >= sizeof(buf)) {
		snprintf(err, errcap, "fault rule too long");
		return -EINVAL;
	}
	snprintf(r->spec, sizeof(r->spec), "%s", spec);
	snprintf(buf, sizeof(buf), "%s", spec);
	colon = strchr(buf, ':');
	if (colon)
		*colon = '\0';
	if (parse_kind(buf, &r->kind) < 0 || !colon || !colon[1]) {
		snprintf(err, errcap, "'%s': expected drop:MSG, delay:MSG:MS, "
			 "corrupt:MSG[:OFF[:XOR]], duplicate:MSG or inject-map:K=V,...",
			 spec);
		return -EINVAL;
	}
	if (r->kind == FAULTRULE_INJECT_MAP)
		return parse_inject(colon + 1, r, err, errcap);
	return parse_args(colon + 1, r, err, errcap);
}

bool faultrule_match(struct faultrule *r, enum proto_chan chan,
		     uint32_t request, bool is_reply)
{
	if (r->kind == FAULTRULE_INJECT_MAP || is_reply != r->reply ||
	    r->req[chan & 1] < 0 || (uint32_t)r->req[chan & 1] != request)
		return false;
	r->seen++;
	return r->nth == 0 || r->seen == r->nth;
}

long faultrule_corrupt(const struct faultrule *r, uint8_t *msg, size_t len)
{
	size_t off = r->offset;

	if (off == UINT32_MAX)
		off = len > PROTO_HDR_SIZE ? PROTO_HDR_SIZE : 4;
	if (off >= len)
		return -1;
	msg[off] ^= r->xor_mask;
	return (long)off;
}
