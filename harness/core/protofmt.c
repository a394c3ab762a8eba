/* SPDX-License-Identifier: MIT */
/*
 * protofmt: payloads as text. See protofmt.h. Each payload is decoded
 * with proto's codec first; what does not decode is printed as hex.
 */
#include "protofmt.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void proto_appendf(char *out, size_t cap, size_t *pos, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(*pos < cap ? out + *pos : NULL, *pos < cap ? cap - *pos : 0,
		      fmt, ap);
	va_end(ap);
	if (n > 0)
		*pos += (size_t)n;
}

static void fmt_hex(char *out, size_t cap, size_t *pos, const uint8_t *p,
		    size_t len)
{
	size_t n = len < 64 ? len : 64;

	proto_appendf(out, cap, pos, "hex=");
	for (size_t i = 0; i < n; i++)
		proto_appendf(out, cap, pos, "%02x", p[i]);
	if (len > n)
		proto_appendf(out, cap, pos, "...");
}

static void fmt_u64v(char *out, size_t cap, size_t *pos, const char *key,
		     uint64_t v)
{
	if (v < 4096)
		proto_appendf(out, cap, pos, "%s=%" PRIu64, key, v);
	else
		proto_appendf(out, cap, pos, "%s=0x%" PRIx64, key, v);
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

static void fmt_mmap(char *out, size_t cap, size_t *pos, const uint8_t *p)
{
	struct proto_mmap m;
	uint64_t extra;

	proto_mmap_decode(p, PROTO_MMAP_SIZE, &m);
	proto_appendf(out, cap, pos,
		      "shmid=%u fd_offset=0x%" PRIx64 " shm_offset=0x%" PRIx64
		      " len=0x%" PRIx64 " flags=0x%" PRIx64 "(%s",
		      m.shmid, m.fd_offset, m.shm_offset, m.len, m.flags,
		      (m.flags & PROTO_MMAP_F_RW) ? "RW" : "RO");
	extra = m.flags & ~(uint64_t)PROTO_MMAP_F_KNOWN;
	if (extra)
		proto_appendf(out, cap, pos, "|0x%" PRIx64, extra);
	proto_appendf(out, cap, pos, ")");
	if (!all_zero(m.padding, sizeof(m.padding))) {
		proto_appendf(out, cap, pos, " padding=");
		for (size_t i = 0; i < sizeof(m.padding); i++)
			proto_appendf(out, cap, pos, "%02x", m.padding[i]);
	}
}

static void fmt_shmcfg(char *out, size_t cap, size_t *pos, const uint8_t *p)
{
	struct proto_shmem_config c;
	bool any = false;

	proto_shmem_config_decode(p, PROTO_SHMEM_CONFIG_SIZE, &c);
	proto_appendf(out, cap, pos, "nregions=%" PRIu32 " sizes=", c.nregions);
	for (unsigned i = 0; i < PROTO_SHMEM_MAX_REGIONS; i++) {
		if (!c.memory_sizes[i])
			continue;
		proto_appendf(out, cap, pos, "%s[%u]=0x%" PRIx64, any ? "," : "", i,
			      c.memory_sizes[i]);
		any = true;
	}
	if (!any)
		proto_appendf(out, cap, pos, "none");
	if (c.padding)
		proto_appendf(out, cap, pos, " padding=0x%" PRIx32, c.padding);
}

static void fmt_region(char *out, size_t cap, size_t *pos,
		       const struct proto_mem_region *r)
{
	proto_appendf(out, cap, pos,
		      "gpa=0x%" PRIx64 " size=0x%" PRIx64 " uva=0x%" PRIx64
		      " mmap_offset=0x%" PRIx64,
		      r->guest_phys_addr, r->memory_size, r->userspace_addr,
		      r->mmap_offset);
}

static void fmt_memtab(char *out, size_t cap, size_t *pos,
		       const struct proto_mem_table *t)
{
	proto_appendf(out, cap, pos, "nregions=%" PRIu32, t->nregions);
	for (unsigned i = 0; i < t->nregions; i++) {
		proto_appendf(out, cap, pos, " [%u]", i);
		fmt_region(out, cap, pos, &t->regions[i]);
	}
}

static void fmt_vaddr(char *out, size_t cap, size_t *pos,
		      const struct proto_vring_addr *a)
{
	proto_appendf(out, cap, pos,
		      "index=%" PRIu32 " flags=0x%" PRIx32 " desc=0x%" PRIx64
		      " used=0x%" PRIx64 " avail=0x%" PRIx64 " log=0x%" PRIx64,
		      a->index, a->flags, a->desc_user_addr, a->used_user_addr,
		      a->avail_user_addr, a->log_guest_addr);
}

static void fmt_config(char *out, size_t cap, size_t *pos,
		       const struct proto_config_space *c)
{
	proto_appendf(out, cap, pos, "offset=%" PRIu32 " size=%" PRIu32
		      " flags=0x%" PRIx32 " ", c->offset, c->size, c->flags);
	fmt_hex(out, cap, pos, c->region, c->size);
}

/* The scalar layouts; false when the bytes do not decode as t. */
static bool fmt_scalar(char *out, size_t cap, size_t *pos, enum proto_ptype t,
		       const uint8_t *p, size_t len)
{
	struct proto_vring_state vs;
	uint64_t u;

	if (t == PROTO_PT_VSTATE) {
		if (proto_vring_state_decode(p, len, &vs) != PROTO_OK)
			return false;
		proto_appendf(out, cap, pos, "index=%" PRIu32 " num=%" PRIu32,
			      vs.index, vs.num);
		return true;
	}
	if (proto_u64_decode(p, len, &u) != PROTO_OK)
		return false;
	if (t == PROTO_PT_U64)
		fmt_u64v(out, cap, pos, "u64", u);
	else
		proto_appendf(out, cap, pos, "u64=0x%" PRIx64 " index=%u%s", u,
			      (unsigned)(u & 0xff), (u & 0x100) ? " nofd" : "");
	return true;
}

static bool fmt_memreg(char *out, size_t cap, size_t *pos, const uint8_t *p,
		       size_t len)
{
	struct proto_mem_reg_msg r;

	if (proto_mem_reg_decode(p, len, &r) != PROTO_OK)
		return false;
	fmt_region(out, cap, pos, &r.region);
	if (r.padding)
		proto_appendf(out, cap, pos, " padding=0x%" PRIx64, r.padding);
	return true;
}

/* The structured layouts. */
static bool fmt_struct(char *out, size_t cap, size_t *pos, enum proto_ptype t,
		       const uint8_t *p, size_t len)
{
	union {
		struct proto_mem_table mt;
		struct proto_vring_addr va;
		struct proto_config_space cs;
	} d;

	switch (t) {
	case PROTO_PT_MMAP:
		if (len == PROTO_MMAP_SIZE)
			fmt_mmap(out, cap, pos, p);
		return len == PROTO_MMAP_SIZE;
	case PROTO_PT_SHMCFG:
		if (len == PROTO_SHMEM_CONFIG_SIZE)
			fmt_shmcfg(out, cap, pos, p);
		return len == PROTO_SHMEM_CONFIG_SIZE;
	case PROTO_PT_MEMTAB:
		if (proto_mem_table_decode(p, len, &d.mt) != PROTO_OK)
			return false;
		fmt_memtab(out, cap, pos, &d.mt);
		return true;
	case PROTO_PT_VADDR:
		if (proto_vring_addr_decode(p, len, &d.va) != PROTO_OK)
			return false;
		fmt_vaddr(out, cap, pos, &d.va);
		return true;
	case PROTO_PT_CONFIG:
		if (proto_config_decode(p, len, &d.cs) != PROTO_OK)
			return false;
		fmt_config(out, cap, pos, &d.cs);
		return true;
	default:
		return false;
	}
}

/* Decodes one payload of type t; false when it does not decode. */
static bool fmt_typed(char *out, size_t cap, size_t *pos, enum proto_ptype t,
		      const uint8_t *p, size_t len)
{
	switch (t) {
	case PROTO_PT_NONE:
		return len == 0;
	case PROTO_PT_U64:
	case PROTO_PT_VRING_FD:
	case PROTO_PT_VSTATE:
		return fmt_scalar(out, cap, pos, t, p, len);
	case PROTO_PT_MEMREG:
		return fmt_memreg(out, cap, pos, p, len);
	case PROTO_PT_FIXED:
	case PROTO_PT_VAR:
		return false;
	default:
		return fmt_struct(out, cap, pos, t, p, len);
	}
}

/* The payload type of a message, per its REPLY flag; alt is the other
 * reading, for a reply that lost its flag (or a request that gained it). */
static enum proto_ptype msg_ptype(enum proto_chan chan, const struct proto_hdr *h,
				  bool alt)
{
	const struct proto_reqinfo *ri = proto_req_info(chan, h->request);
	bool reply = (h->flags & PROTO_F_REPLY) != 0;

	if (!ri)
		return PROTO_PT_VAR;
	if (reply == alt)
		return ri->req;
	return ri->body ? ri->rep : PROTO_PT_U64;
}

int proto_format_payload(enum proto_chan chan, const struct proto_hdr *h,
			 const uint8_t *payload, size_t len, char *out,
			 size_t cap)
{
	size_t pos = 0;
	enum proto_ptype t = msg_ptype(chan, h, false), alt = msg_ptype(chan, h, true);

	if (cap)
		out[0] = '\0';
	if (len == 0 || !payload)
		return 0;
	if (!fmt_typed(out, cap, &pos, t, payload, len) &&
	    !fmt_typed(out, cap, &pos, alt, payload, len)) {
		pos = 0;
		if (cap)
			out[0] = '\0';
		fmt_hex(out, cap, &pos, payload, len);
	}
	return pos > (size_t)INT32_MAX ? INT32_MAX : (int)pos;
}
