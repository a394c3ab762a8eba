/* SPDX-License-Identifier: MIT */
/*
 * protoval: the validator. See protoval.h. Sizes and fd counts come from
 * proto's request tables, never from the peer.
 */
#include "protoval.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const finding_names[PROTO_FIND_CODE_MAX] = {
	[PROTO_FIND_VERSION] = "VERSION",
	[PROTO_FIND_REPLY_ON_REQUEST] = "REPLY_ON_REQUEST",
	[PROTO_FIND_NO_REPLY_FLAG] = "NO_REPLY_FLAG",
	[PROTO_FIND_NEED_REPLY_ON_REPLY] = "NEED_REPLY_ON_REPLY",
	[PROTO_FIND_UNKNOWN_FLAGS] = "UNKNOWN_FLAGS",
	[PROTO_FIND_UNKNOWN_REQUEST] = "UNKNOWN_REQUEST",
	[PROTO_FIND_SIZE_MISMATCH] = "SIZE_MISMATCH",
	[PROTO_FIND_SIZE_TOO_BIG] = "SIZE_TOO_BIG",
	[PROTO_FIND_TRUNCATED] = "TRUNCATED",
	[PROTO_FIND_MMAP_PADDING] = "MMAP_PADDING",
	[PROTO_FIND_MMAP_FLAGS] = "MMAP_FLAGS",
	[PROTO_FIND_MMAP_LEN_ZERO] = "MMAP_LEN_ZERO",
	[PROTO_FIND_MMAP_WRAP] = "MMAP_WRAP",
	[PROTO_FIND_UNMAP_FIELDS] = "UNMAP_FIELDS",
	[PROTO_FIND_FD_COUNT] = "FD_COUNT",
	[PROTO_FIND_SHMEM_NREGIONS] = "SHMEM_NREGIONS",
	[PROTO_FIND_SHMEM_NREGIONS_MISMATCH] = "SHMEM_NREGIONS_MISMATCH",
	[PROTO_FIND_SHMEM_PAGE] = "SHMEM_PAGE",
	[PROTO_FIND_SHMEM_PADDING] = "SHMEM_PADDING",
	[PROTO_FIND_MEM_NREGIONS] = "MEM_NREGIONS",
	[PROTO_FIND_REPLY_VALUE] = "REPLY_VALUE",
	[PROTO_FIND_PADDING] = "PADDING",
};

const char *proto_finding_name(enum proto_finding_code code)
{
	if ((int)code <= 0 || code >= PROTO_FIND_CODE_MAX)
		return "UNKNOWN";
	return finding_names[code];
}

/* What one validation pass works with. */
struct vstate {
	const struct proto_vctx *ctx;
	const struct proto_hdr *h;
	const uint8_t *payload;
	size_t avail;      /* decodable bytes: min(size, payload_len) */
	const char *name;  /* request name, or "request N" */
	char namebuf[24];
	struct proto_findings *out;
	unsigned added;
};

__attribute__((format(printf, 4, 5)))
static void add(struct vstate *v, enum proto_finding_code code,
		enum proto_severity sev, const char *fmt, ...)
{
	struct proto_finding *f;
	va_list ap;

	if (v->out->count >= PROTO_MAX_FINDINGS) {
		v->out->dropped++;
		return;
	}
	f = &v->out->items[v->out->count++];
	f->code = code;
	f->severity = sev;
	va_start(ap, fmt);
	vsnprintf(f->text, sizeof(f->text), fmt, ap);
	va_end(ap);
	v->added++;
}

/* Digest 1: version MUST be 1, REPLY on every reply; other bits are
 * undefined, which the rst does not forbid outright (WARN). */
static void check_flags(struct vstate *v)
{
	uint32_t fl = v->h->flags;

	if ((fl & PROTO_VERSION_MASK) != PROTO_VERSION)
		add(v, PROTO_FIND_VERSION, PROTO_SEV_ERROR,
		    "%s flags 0x%x carry version %u, expected 1.", v->name, fl,
		    fl & PROTO_VERSION_MASK);
	if (!v->ctx->is_reply && (fl & PROTO_F_REPLY))
		add(v, PROTO_FIND_REPLY_ON_REQUEST, PROTO_SEV_ERROR,
		    "%s request flags 0x%x have the REPLY bit set.", v->name, fl);
	if (v->ctx->is_reply && !(fl & PROTO_F_REPLY))
		add(v, PROTO_FIND_NO_REPLY_FLAG, PROTO_SEV_ERROR,
		    "%s reply flags 0x%x lack the REPLY bit, expected 0x5.",
		    v->name, fl);
	if (v->ctx->is_reply && (fl & PROTO_F_NEED_REPLY))
		add(v, PROTO_FIND_NEED_REPLY_ON_REPLY, PROTO_SEV_WARN,
		    "%s reply flags 0x%x have NEED_REPLY set.", v->name, fl);
	if (fl & ~PROTO_F_KNOWN)
		add(v, PROTO_FIND_UNKNOWN_FLAGS, PROTO_SEV_WARN,
		    "%s flags 0x%x have undefined bits 0x%x set.", v->name, fl,
		    fl & ~PROTO_F_KNOWN);
}

/* The size a fixed or variable payload should have, or -1 unknown.
 * Variable ones are derived from their own count fields. */
static long want_size(const struct vstate *v, const struct proto_reqinfo *ri)
{
	enum proto_ptype t = v->ctx->is_reply ? (ri->body ? ri->rep : PROTO_PT_U64) : ri->req;

	if (t == PROTO_PT_MEMTAB && v->avail >= 8) {
		uint32_t n = proto_get32(v->payload);

		return n <= PROTO_MAX_MEM_REGIONS ? 8 + 32 * (long)n : -1;
	}
	if (t == PROTO_PT_CONFIG && v->avail >= PROTO_CONFIG_HDR_SIZE) {
		uint32_t n = proto_get32(v->payload + 4);

		return n <= PROTO_CONFIG_MAX ? PROTO_CONFIG_HDR_SIZE + (long)n
					     : -1;
	}
	return proto_expected_size(v->ctx->chan, v->h->request,
				   v->ctx->is_reply);
}

static void check_size(struct vstate *v, const struct proto_reqinfo *ri)
{
	uint32_t size = v->h->size;
	long want;

	if (size > PROTO_MAX_PAYLOAD) {
		add(v, PROTO_FIND_SIZE_TOO_BIG, PROTO_SEV_ERROR,
		    "%s size %u is above the %u-byte limit.", v->name, size,
		    PROTO_MAX_PAYLOAD);
		return;
	}
	if (v->ctx->payload_len < size)
		add(v, PROTO_FIND_TRUNCATED, PROTO_SEV_ERROR,
		    "%s size is %u but only %zu payload bytes came.", v->name,
		    size, v->ctx->payload_len);
	want = ri ? want_size(v, ri) : -1;
	if (want < 0 || (long)size == want)
		return;
	if (v->ctx->is_reply && !ri->body)
		/* Digest 9: a REPLY_ACK answer MUST be a u64. */
		add(v, PROTO_FIND_REPLY_VALUE, PROTO_SEV_ERROR,
		    "%s REPLY_ACK reply size is %u, expected 8.", v->name, size);
	else
		/* Digest 6: MAP/UNMAP size other than 40 is silent (WARN). */
		add(v, PROTO_FIND_SIZE_MISMATCH,
		    ri->req == PROTO_PT_MMAP && !v->ctx->is_reply ? PROTO_SEV_WARN
							     : PROTO_SEV_ERROR,
		    "%s %s size is %u, expected %ld.", v->name,
		    v->ctx->is_reply ? "reply" : "request", size, want);
}

static void check_mmap_padding(struct vstate *v, const struct proto_mmap *m)
{
	for (unsigned i = 0; i < sizeof(m->padding); i++) {
		if (!m->padding[i])
			continue;
		/* Digest 6: non-zero padding is silent in the rst. */
		add(v, PROTO_FIND_MMAP_PADDING, PROTO_SEV_WARN,
		    "%s padding byte %u is 0x%02x, expected 0.", v->name, i,
		    m->padding[i]);
		return;
	}
}

static void check_mmap_range(struct vstate *v, const struct proto_mmap *m,
			     bool is_map)
{
	uint64_t end;

	if (m->len == 0)
		add(v, PROTO_FIND_MMAP_LEN_ZERO, PROTO_SEV_WARN,
		    "%s len is 0.", v->name); /* digest 6: silent */
	if (__builtin_add_overflow(m->shm_offset, m->len, &end))
		/* Digest 6: a wrapping range MUST fail. */
		add(v, PROTO_FIND_MMAP_WRAP, PROTO_SEV_ERROR,
		    "%s shm_offset 0x%" PRIx64 " + len 0x%" PRIx64
		    " wraps past 2^64.", v->name, m->shm_offset, m->len);
	if (is_map && __builtin_add_overflow(m->fd_offset, m->len, &end))
		/* Not among digest 6's MUSTs: the mmap() would just fail. */
		add(v, PROTO_FIND_MMAP_WRAP, PROTO_SEV_WARN,
		    "%s fd_offset 0x%" PRIx64 " + len 0x%" PRIx64
		    " wraps past 2^64.", v->name, m->fd_offset, m->len);
}

static void check_mmap(struct vstate *v, bool is_map)
{
	struct proto_mmap m;

	if (v->avail < PROTO_MMAP_SIZE)
		return;
	proto_mmap_decode(v->payload, PROTO_MMAP_SIZE, &m);
	check_mmap_padding(v, &m);
	if (is_map && (m.flags & ~(uint64_t)PROTO_MMAP_F_KNOWN))
		add(v, PROTO_FIND_MMAP_FLAGS, PROTO_SEV_WARN,
		    "%s flags 0x%" PRIx64 " have undefined bits 0x%" PRIx64 ".",
		    v->name, m.flags, m.flags & ~(uint64_t)PROTO_MMAP_F_KNOWN);
	if (!is_map && (m.fd_offset || m.flags))
		/* Digest 7: senders zero them; receivers ignore them. */
		add(v, PROTO_FIND_UNMAP_FIELDS, PROTO_SEV_WARN,
		    "%s fd_offset is 0x%" PRIx64 " and flags 0x%" PRIx64
		    ", expected 0.", v->name, m.fd_offset, m.flags);
	check_mmap_range(v, &m, is_map);
}

static unsigned shmcfg_nonzero(const struct proto_shmem_config *c,
			       uint64_t page, unsigned *first_bad)
{
	unsigned n = 0;

	*first_bad = PROTO_SHMEM_MAX_REGIONS;
	for (unsigned i = 0; i < PROTO_SHMEM_MAX_REGIONS; i++) {
		if (!c->memory_sizes[i])
			continue;
		n++;
		if (c->memory_sizes[i] % page && *first_bad == PROTO_SHMEM_MAX_REGIONS)
			*first_bad = i;
	}
	return n;
}

static void check_shmcfg(struct vstate *v)
{
	struct proto_shmem_config c;
	uint64_t page = v->ctx->page_size ? v->ctx->page_size : 4096;
	unsigned nz, bad;

	if (v->avail < PROTO_SHMEM_CONFIG_SIZE)
		return;
	proto_shmem_config_decode(v->payload, PROTO_SHMEM_CONFIG_SIZE, &c);
	nz = shmcfg_nonzero(&c, page, &bad);
	if (c.nregions > PROTO_SHMEM_MAX_REGIONS)
		add(v, PROTO_FIND_SHMEM_NREGIONS, PROTO_SEV_ERROR,
		    "%s nregions is %" PRIu32 ", above 256.", v->name,
		    c.nregions);
	else if (c.nregions != nz)
		/* Digest 8: count vs. array length is ambiguous in the rst. */
		add(v, PROTO_FIND_SHMEM_NREGIONS_MISMATCH, PROTO_SEV_WARN,
		    "%s nregions is %" PRIu32 " but %u sizes are non-zero.",
		    v->name, c.nregions, nz);
	if (bad < PROTO_SHMEM_MAX_REGIONS)
		/* Digest 8: a back-end rule. */
		add(v, PROTO_FIND_SHMEM_PAGE, PROTO_SEV_ERROR,
		    "%s memory_sizes[%u] 0x%" PRIx64
		    " is not a multiple of the page size 0x%" PRIx64 ".",
		    v->name, bad, c.memory_sizes[bad], page);
	if (c.padding)
		add(v, PROTO_FIND_SHMEM_PADDING, PROTO_SEV_WARN,
		    "%s padding is 0x%" PRIx32 ", expected 0.", v->name,
		    c.padding);
}

static void check_memtab(struct vstate *v)
{
	uint32_t n, pad;

	if (v->avail < 8)
		return;
	n = proto_get32(v->payload);
	pad = proto_get32(v->payload + 4);
	if (n == 0 || n > PROTO_MAX_MEM_REGIONS)
		add(v, PROTO_FIND_MEM_NREGIONS, PROTO_SEV_ERROR,
		    "%s nregions is %" PRIu32 ", expected 1 to 8.", v->name, n);
	else if (v->ctx->nfds != n)
		add(v, PROTO_FIND_FD_COUNT, PROTO_SEV_ERROR,
		    "%s carries %u fds for %" PRIu32 " regions.", v->name,
		    v->ctx->nfds, n);
	if (pad)
		add(v, PROTO_FIND_PADDING, PROTO_SEV_WARN,
		    "%s padding is 0x%" PRIx32 ", expected 0.", v->name, pad);
}

static void check_memreg(struct vstate *v)
{
	uint64_t pad;

	if (v->avail < PROTO_MEM_REG_MSG_SIZE)
		return;
	pad = proto_get64(v->payload);
	if (pad)
		add(v, PROTO_FIND_PADDING, PROTO_SEV_WARN,
		    "%s padding is 0x%" PRIx64 ", expected 0.", v->name, pad);
}

/* SET_VRING_KICK/CALL/ERR: bit 8 of the u64 says "no fd". */
static void check_vring_fd(struct vstate *v)
{
	uint64_t u;
	unsigned want;

	if (v->avail < 8)
		return;
	u = proto_get64(v->payload);
	want = (u & 0x100) ? 0 : 1;
	if (v->ctx->nfds != want)
		add(v, PROTO_FIND_FD_COUNT, PROTO_SEV_ERROR,
		    "%s u64 0x%" PRIx64 " asks for %u fds but %u came.", v->name,
		    u, want, v->ctx->nfds);
}

/* Fd counts of requests with a fixed count (variable ones are checked
 * against their payload). Digest 1: never more than 8. The MAP/UNMAP
 * counts are ERROR: digest 6 defines the payload as "fd + MMap" and
 * 12H requires exactly one on MAP and none on UNMAP from a back-end. */
static void check_fds(struct vstate *v, const struct proto_reqinfo *ri)
{
	unsigned n = v->ctx->nfds;
	unsigned max = v->ctx->is_reply ? ri->rep_fd_max : ri->fd_max;
	unsigned min = v->ctx->is_reply ? 0 : ri->fd_min;

	if (n > PROTO_MAX_FDS) {
		add(v, PROTO_FIND_FD_COUNT, PROTO_SEV_ERROR,
		    "%s carries %u fds, above the limit of 8.", v->name, n);
		return;
	}
	if (!v->ctx->is_reply && (ri->req == PROTO_PT_MEMTAB || ri->req == PROTO_PT_VRING_FD))
		return;
	if (n >= min && n <= max)
		return;
	if (min == max)
		add(v, PROTO_FIND_FD_COUNT,
		    v->ctx->is_reply ? PROTO_SEV_WARN : PROTO_SEV_ERROR,
		    "%s %s carries %u fds, expected %u.", v->name,
		    v->ctx->is_reply ? "reply" : "request", n, min);
	else
		add(v, PROTO_FIND_FD_COUNT,
		    v->ctx->is_reply ? PROTO_SEV_WARN : PROTO_SEV_ERROR,
		    "%s %s carries %u fds, expected %u to %u.", v->name,
		    v->ctx->is_reply ? "reply" : "request", n, min, max);
}

static void check_payload(struct vstate *v, const struct proto_reqinfo *ri)
{
	enum proto_ptype t = v->ctx->is_reply ? (ri->body ? ri->rep : PROTO_PT_U64) : ri->req;

	switch (t) {
	case PROTO_PT_MMAP:
		check_mmap(v, v->h->request == PROTO_BE_SHMEM_MAP);
		break;
	case PROTO_PT_SHMCFG:
		check_shmcfg(v);
		break;
	case PROTO_PT_MEMTAB:
		check_memtab(v);
		break;
	case PROTO_PT_MEMREG:
		check_memreg(v);
		break;
	case PROTO_PT_VRING_FD:
		check_vring_fd(v);
		break;
	default:
		break;
	}
}

unsigned proto_validate(const struct proto_vctx *ctx, const struct proto_hdr *h,
			const uint8_t *payload, struct proto_findings *out)
{
	const struct proto_reqinfo *ri = proto_req_info(ctx->chan, h->request);
	struct vstate v = { .ctx = ctx, .h = h, .payload = payload, .out = out };

	v.avail = ctx->payload_len < h->size ? ctx->payload_len : h->size;
	if (!payload)
		v.avail = 0;
	if (ri) {
		v.name = ri->name;
	} else {
		snprintf(v.namebuf, sizeof(v.namebuf), "request %u", h->request);
		v.name = v.namebuf;
	}
	check_flags(&v);
	if (!ri)
		/* The rst has no MUST on unknown ids; receivers answer them. */
		add(&v, PROTO_FIND_UNKNOWN_REQUEST, PROTO_SEV_WARN,
		    "Request id %u is not defined on the %s channel.",
		    h->request, ctx->chan == PROTO_CHAN_BACKEND ? "back-end"
								: "main");
	check_size(&v, ri);
	if (!ri)
		return v.added;
	check_fds(&v, ri);
	check_payload(&v, ri);
	return v.added;
}
