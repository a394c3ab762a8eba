/* SPDX-License-Identifier: MIT */
/*
 * proto: the vhost-user wire codec. See proto.h for the contract.
 *
 * Every codec goes through memcpy on byte buffers: the wire is packed and
 * unaligned, and a struct cast of received bytes would be undefined
 * behaviour. Sizes come from the tables below, never from the peer.
 */
#include "proto.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ---- layouts: the structs are the wire, so pin every offset ---- */

_Static_assert(sizeof(struct proto_hdr) == PROTO_HDR_SIZE, "hdr");
_Static_assert(sizeof(struct proto_mmap) == PROTO_MMAP_SIZE, "mmap size");
_Static_assert(offsetof(struct proto_mmap, shmid) == 0, "mmap shmid");
_Static_assert(offsetof(struct proto_mmap, padding) == 1, "mmap padding");
_Static_assert(offsetof(struct proto_mmap, fd_offset) == 8, "mmap fd_offset");
_Static_assert(offsetof(struct proto_mmap, shm_offset) == 16, "mmap shm_off");
_Static_assert(offsetof(struct proto_mmap, len) == 24, "mmap len");
_Static_assert(offsetof(struct proto_mmap, flags) == 32, "mmap flags");
_Static_assert(sizeof(struct proto_shmem_config) == PROTO_SHMEM_CONFIG_SIZE,
	       "shmem config size");
_Static_assert(offsetof(struct proto_shmem_config, nregions) == 0, "cfg nr");
_Static_assert(offsetof(struct proto_shmem_config, padding) == 4, "cfg pad");
_Static_assert(offsetof(struct proto_shmem_config, memory_sizes) == 8,
	       "cfg sizes");
_Static_assert(sizeof(struct proto_mem_region) == PROTO_MEM_REGION_SIZE,
	       "mem region size");
_Static_assert(offsetof(struct proto_mem_region, guest_phys_addr) == 0, "gpa");
_Static_assert(offsetof(struct proto_mem_region, memory_size) == 8, "msize");
_Static_assert(offsetof(struct proto_mem_region, userspace_addr) == 16, "uva");
_Static_assert(offsetof(struct proto_mem_region, mmap_offset) == 24, "moff");
_Static_assert(offsetof(struct proto_mem_table, nregions) == 0, "mt nr");
_Static_assert(offsetof(struct proto_mem_table, padding) == 4, "mt pad");
_Static_assert(offsetof(struct proto_mem_table, regions) == 8, "mt regions");
_Static_assert(sizeof(struct proto_mem_reg_msg) == PROTO_MEM_REG_MSG_SIZE,
	       "mem reg size");
_Static_assert(offsetof(struct proto_mem_reg_msg, padding) == 0, "mr pad");
_Static_assert(offsetof(struct proto_mem_reg_msg, region) == 8, "mr region");
_Static_assert(sizeof(struct proto_vring_state) == PROTO_VRING_STATE_SIZE,
	       "vring state size");
_Static_assert(offsetof(struct proto_vring_state, index) == 0, "vs index");
_Static_assert(offsetof(struct proto_vring_state, num) == 4, "vs num");
_Static_assert(sizeof(struct proto_vring_addr) == PROTO_VRING_ADDR_SIZE,
	       "vring addr size");
_Static_assert(offsetof(struct proto_vring_addr, index) == 0, "va index");
_Static_assert(offsetof(struct proto_vring_addr, flags) == 4, "va flags");
_Static_assert(offsetof(struct proto_vring_addr, desc_user_addr) == 8, "desc");
_Static_assert(offsetof(struct proto_vring_addr, used_user_addr) == 16, "used");
_Static_assert(offsetof(struct proto_vring_addr, avail_user_addr) == 24, "av");
_Static_assert(offsetof(struct proto_vring_addr, log_guest_addr) == 32, "log");
_Static_assert(offsetof(struct proto_config_space, region) ==
		       PROTO_CONFIG_HDR_SIZE, "config hdr");
_Static_assert(PROTO_SHMEM_CONFIG_SIZE <= PROTO_MAX_PAYLOAD, "max payload");

/* ---- the request tables ---- */

/* How a payload is laid out, for decoding, formatting and validation. */
enum ptype {
	PT_NONE,     /* no payload */
	PT_U64,
	PT_VRING_FD, /* u64: vring index in bits 0-7, bit 8 = no fd */
	PT_MMAP,
	PT_SHMCFG,
	PT_MEMTAB,   /* variable: 8 + 32 * nregions */
	PT_MEMREG,
	PT_VSTATE,
	PT_VADDR,
	PT_CONFIG,   /* variable: 12 + size */
	PT_FIXED,    /* known size, no decoder here: printed as hex */
	PT_VAR,      /* size varies and is not checked */
};

struct reqinfo {
	const char *name;
	enum ptype req;
	int req_size;
	enum ptype rep;   /* the reply body when body is true */
	int rep_size;
	unsigned char fd_min, fd_max;
	bool body;        /* always replied, with rep as body */
	unsigned char rep_fd_max;
};

#define NOREP PT_U64, 8
#define R(n, t, s, fmin, fmax) { n, t, s, NOREP, fmin, fmax, false, 0 }
#define G(n, t, s, rt, rs, fmin, fmax, rfd) { n, t, s, rt, rs, fmin, fmax, true, rfd }

/* Sizes follow the rst's payload definitions (digest 3-4); the ones the
 * suite never sends (log, inflight, iotlb, uuid) are only size-checked. */
static const struct reqinfo fe_reqs[PROTO_FE_REQ_MAX + 1] = {
	[PROTO_GET_FEATURES] = G("GET_FEATURES", PT_NONE, 0, PT_U64, 8, 0, 0, 0),
	[PROTO_SET_FEATURES] = R("SET_FEATURES", PT_U64, 8, 0, 0),
	[PROTO_SET_OWNER] = R("SET_OWNER", PT_NONE, 0, 0, 0),
	[PROTO_RESET_OWNER] = R("RESET_OWNER", PT_NONE, 0, 0, 0),
	[PROTO_SET_MEM_TABLE] = R("SET_MEM_TABLE", PT_MEMTAB, -1, 1, 8),
	[PROTO_SET_LOG_BASE] = R("SET_LOG_BASE", PT_FIXED, 16, 1, 1),
	[PROTO_SET_LOG_FD] = R("SET_LOG_FD", PT_NONE, 0, 1, 1),
	[PROTO_SET_VRING_NUM] = R("SET_VRING_NUM", PT_VSTATE, 8, 0, 0),
	[PROTO_SET_VRING_ADDR] = R("SET_VRING_ADDR", PT_VADDR, 40, 0, 0),
	[PROTO_SET_VRING_BASE] = R("SET_VRING_BASE", PT_VSTATE, 8, 0, 0),
	[PROTO_GET_VRING_BASE] = G("GET_VRING_BASE", PT_VSTATE, 8, PT_VSTATE, 8,
				   0, 0, 0),
	[PROTO_SET_VRING_KICK] = R("SET_VRING_KICK", PT_VRING_FD, 8, 0, 1),
	[PROTO_SET_VRING_CALL] = R("SET_VRING_CALL", PT_VRING_FD, 8, 0, 1),
	[PROTO_SET_VRING_ERR] = R("SET_VRING_ERR", PT_VRING_FD, 8, 0, 1),
	[PROTO_GET_PROTOCOL_FEATURES] = G("GET_PROTOCOL_FEATURES", PT_NONE, 0,
					  PT_U64, 8, 0, 0, 0),
	[PROTO_SET_PROTOCOL_FEATURES] = R("SET_PROTOCOL_FEATURES", PT_U64, 8, 0,
					  0),
	[PROTO_GET_QUEUE_NUM] = G("GET_QUEUE_NUM", PT_NONE, 0, PT_U64, 8, 0, 0,
				  0),
	[PROTO_SET_VRING_ENABLE] = R("SET_VRING_ENABLE", PT_VSTATE, 8, 0, 0),
	[PROTO_SEND_RARP] = R("SEND_RARP", PT_U64, 8, 0, 0),
	[PROTO_NET_SET_MTU] = R("NET_SET_MTU", PT_U64, 8, 0, 0),
	[PROTO_SET_BACKEND_REQ_FD] = R("SET_BACKEND_REQ_FD", PT_NONE, 0, 1, 1),
	[PROTO_IOTLB_MSG] = R("IOTLB_MSG", PT_FIXED, 32, 0, 0),
	[PROTO_SET_VRING_ENDIAN] = R("SET_VRING_ENDIAN", PT_VSTATE, 8, 0, 0),
	[PROTO_GET_CONFIG] = G("GET_CONFIG", PT_CONFIG, -1, PT_CONFIG, -1, 0, 0,
			       0),
	[PROTO_SET_CONFIG] = R("SET_CONFIG", PT_CONFIG, -1, 0, 0),
	[PROTO_CREATE_CRYPTO_SESSION] = G("CREATE_CRYPTO_SESSION", PT_VAR, -1,
					  PT_VAR, -1, 0, 0, 0),
	[PROTO_CLOSE_CRYPTO_SESSION] = R("CLOSE_CRYPTO_SESSION", PT_U64, 8, 0,
					 0),
	[PROTO_POSTCOPY_ADVISE] = G("POSTCOPY_ADVISE", PT_NONE, 0, PT_VAR, -1, 0,
				    0, 1),
	[PROTO_POSTCOPY_LISTEN] = R("POSTCOPY_LISTEN", PT_NONE, 0, 0, 0),
	[PROTO_POSTCOPY_END] = G("POSTCOPY_END", PT_NONE, 0, PT_U64, 8, 0, 0, 0),
	[PROTO_GET_INFLIGHT_FD] = G("GET_INFLIGHT_FD", PT_FIXED, 24, PT_FIXED,
				    24, 0, 0, 1),
	[PROTO_SET_INFLIGHT_FD] = R("SET_INFLIGHT_FD", PT_FIXED, 24, 1, 1),
	[PROTO_GPU_SET_SOCKET] = R("GPU_SET_SOCKET", PT_NONE, 0, 1, 1),
	[PROTO_RESET_DEVICE] = R("RESET_DEVICE", PT_NONE, 0, 0, 0),
	[PROTO_VRING_KICK] = R("VRING_KICK", PT_VSTATE, 8, 0, 0),
	[PROTO_GET_MAX_MEM_SLOTS] = G("GET_MAX_MEM_SLOTS", PT_NONE, 0, PT_U64, 8,
				      0, 0, 0),
	[PROTO_ADD_MEM_REG] = R("ADD_MEM_REG", PT_MEMREG, 40, 1, 1),
	/* Older front-ends attached the region's fd to REM_MEM_REG too;
	 * the rst tells back-ends to tolerate (and close) it. */
	[PROTO_REM_MEM_REG] = R("REM_MEM_REG", PT_MEMREG, 40, 0, 1),
	[PROTO_SET_STATUS] = R("SET_STATUS", PT_U64, 8, 0, 0),
	[PROTO_GET_STATUS] = G("GET_STATUS", PT_NONE, 0, PT_U64, 8, 0, 0, 0),
	[PROTO_GET_SHARED_OBJECT] = G("GET_SHARED_OBJECT", PT_FIXED, 16, PT_U64,
				      8, 0, 0, 1),
	[PROTO_SET_DEVICE_STATE_FD] = G("SET_DEVICE_STATE_FD", PT_FIXED, 8,
					PT_U64, 8, 1, 1, 1),
	[PROTO_CHECK_DEVICE_STATE] = G("CHECK_DEVICE_STATE", PT_NONE, 0, PT_U64,
				       8, 0, 0, 0),
	/* Digest 3 and 8: the reply is mandatory. */
	[PROTO_GET_SHMEM_CONFIG] = G("GET_SHMEM_CONFIG", PT_NONE, 0, PT_SHMCFG,
				     PROTO_SHMEM_CONFIG_SIZE, 0, 0, 0),
};

static const struct reqinfo be_reqs[PROTO_BE_REQ_MAX + 1] = {
	[PROTO_BE_IOTLB_MSG] = R("IOTLB_MSG", PT_FIXED, 32, 0, 0),
	[PROTO_BE_CONFIG_CHANGE_MSG] = R("CONFIG_CHANGE_MSG", PT_NONE, 0, 0, 0),
	[PROTO_BE_VRING_HOST_NOTIFIER_MSG] = R("VRING_HOST_NOTIFIER_MSG",
					       PT_FIXED, 24, 0, 1),
	[PROTO_BE_VRING_CALL] = R("VRING_CALL", PT_VSTATE, 8, 0, 0),
	[PROTO_BE_VRING_ERR] = R("VRING_ERR", PT_VSTATE, 8, 0, 0),
	[PROTO_BE_SHARED_OBJECT_ADD] = R("SHARED_OBJECT_ADD", PT_FIXED, 16, 0, 0),
	[PROTO_BE_SHARED_OBJECT_REMOVE] = R("SHARED_OBJECT_REMOVE", PT_FIXED, 16,
					    0, 0),
	[PROTO_BE_SHARED_OBJECT_LOOKUP] = G("SHARED_OBJECT_LOOKUP", PT_FIXED, 16,
					    PT_U64, 8, 0, 0, 1),
	/* Digest 6 and 12H: the payload is "fd + VhostUserMMap". */
	[PROTO_BE_SHMEM_MAP] = R("SHMEM_MAP", PT_MMAP, 40, 1, 1),
	[PROTO_BE_SHMEM_UNMAP] = R("SHMEM_UNMAP", PT_MMAP, 40, 0, 0),
};

#undef R
#undef G
#undef NOREP

static const struct reqinfo *req_info(enum proto_chan chan, uint32_t request)
{
	const struct reqinfo *t = chan == PROTO_CHAN_BACKEND ? be_reqs : fe_reqs;
	uint32_t max = chan == PROTO_CHAN_BACKEND ? PROTO_BE_REQ_MAX
						  : PROTO_FE_REQ_MAX;

	if (request == 0 || request > max || !t[request].name)
		return NULL;
	return &t[request];
}

/* ---- errors ---- */

const char *proto_strerror(int err)
{
	switch (err) {
	case PROTO_OK: return "ok";
	case PROTO_E_SHORT: return "fewer bytes than the structure needs";
	case PROTO_E_TOOBIG: return "size field above the payload limit";
	case PROTO_E_SIZE: return "size does not match the payload type";
	case PROTO_E_RANGE: return "count out of range";
	case PROTO_E_BUFFER: return "output buffer too small";
	}
	return "unknown proto error";
}

/* ---- byte helpers ---- */

static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

/* Exact-length check shared by the fixed-size decoders. */
static int want_len(size_t len, size_t need)
{
	if (len < need)
		return PROTO_E_SHORT;
	return len > need ? PROTO_E_SIZE : PROTO_OK;
}

/* ---- header ---- */

int proto_hdr_encode(const struct proto_hdr *h, uint8_t *out, size_t cap)
{
	if (cap < PROTO_HDR_SIZE)
		return PROTO_E_BUFFER;
	put32(out, h->request);
	put32(out + 4, h->flags);
	put32(out + 8, h->size);
	return PROTO_HDR_SIZE;
}

/* Fills *h whenever 12 bytes are there, and then says PROTO_E_TOOBIG for
 * a size above the limit: the caller still wants to see the header. */
int proto_hdr_decode(const uint8_t *in, size_t len, struct proto_hdr *h)
{
	if (len < PROTO_HDR_SIZE)
		return PROTO_E_SHORT;
	h->request = get32(in);
	h->flags = get32(in + 4);
	h->size = get32(in + 8);
	return h->size > PROTO_MAX_PAYLOAD ? PROTO_E_TOOBIG : PROTO_OK;
}

/* ---- fixed payloads ---- */

int proto_u64_encode(uint64_t v, uint8_t *out, size_t cap)
{
	if (cap < 8)
		return PROTO_E_BUFFER;
	put64(out, v);
	return 8;
}

int proto_u64_decode(const uint8_t *in, size_t len, uint64_t *v)
{
	int rc = want_len(len, 8);

	if (rc == PROTO_OK)
		*v = get64(in);
	return rc;
}

int proto_mmap_encode(const struct proto_mmap *m, uint8_t *out, size_t cap)
{
	if (cap < PROTO_MMAP_SIZE)
		return PROTO_E_BUFFER;
	out[0] = m->shmid;
	memcpy(out + 1, m->padding, sizeof(m->padding));
	put64(out + 8, m->fd_offset);
	put64(out + 16, m->shm_offset);
	put64(out + 24, m->len);
	put64(out + 32, m->flags);
	return PROTO_MMAP_SIZE;
}

int proto_mmap_decode(const uint8_t *in, size_t len, struct proto_mmap *m)
{
	int rc = want_len(len, PROTO_MMAP_SIZE);

	if (rc != PROTO_OK)
		return rc;
	m->shmid = in[0];
	memcpy(m->padding, in + 1, sizeof(m->padding));
	m->fd_offset = get64(in + 8);
	m->shm_offset = get64(in + 16);
	m->len = get64(in + 24);
	m->flags = get64(in + 32);
	return PROTO_OK;
}

int proto_shmem_config_encode(const struct proto_shmem_config *c, uint8_t *out,
			      size_t cap)
{
	if (cap < PROTO_SHMEM_CONFIG_SIZE)
		return PROTO_E_BUFFER;
	put32(out, c->nregions);
	put32(out + 4, c->padding);
	for (unsigned i = 0; i < PROTO_SHMEM_MAX_REGIONS; i++)
		put64(out + 8 + 8 * i, c->memory_sizes[i]);
	return PROTO_SHMEM_CONFIG_SIZE;
}

int proto_shmem_config_decode(const uint8_t *in, size_t len,
			      struct proto_shmem_config *c)
{
	int rc = want_len(len, PROTO_SHMEM_CONFIG_SIZE);

	if (rc != PROTO_OK)
		return rc;
	c->nregions = get32(in);
	c->padding = get32(in + 4);
	for (unsigned i = 0; i < PROTO_SHMEM_MAX_REGIONS; i++)
		c->memory_sizes[i] = get64(in + 8 + 8 * i);
	return PROTO_OK;
}

static void region_put(uint8_t *p, const struct proto_mem_region *r)
{
	put64(p, r->guest_phys_addr);
	put64(p + 8, r->memory_size);
	put64(p + 16, r->userspace_addr);
	put64(p + 24, r->mmap_offset);
}

static void region_get(const uint8_t *p, struct proto_mem_region *r)
{
	r->guest_phys_addr = get64(p);
	r->memory_size = get64(p + 8);
	r->userspace_addr = get64(p + 16);
	r->mmap_offset = get64(p + 24);
}

int proto_mem_table_encode(const struct proto_mem_table *t, uint8_t *out,
			   size_t cap)
{
	size_t need;

	if (t->nregions > PROTO_MAX_MEM_REGIONS)
		return PROTO_E_RANGE;
	need = 8 + (size_t)PROTO_MEM_REGION_SIZE * t->nregions;
	if (cap < need)
		return PROTO_E_BUFFER;
	put32(out, t->nregions);
	put32(out + 4, t->padding);
	for (unsigned i = 0; i < t->nregions; i++)
		region_put(out + 8 + PROTO_MEM_REGION_SIZE * i, &t->regions[i]);
	return (int)need;
}

int proto_mem_table_decode(const uint8_t *in, size_t len,
			   struct proto_mem_table *t)
{
	uint32_t n;
	int rc;

	if (len < 8)
		return PROTO_E_SHORT;
	n = get32(in);
	if (n > PROTO_MAX_MEM_REGIONS)
		return PROTO_E_RANGE;
	rc = want_len(len, 8 + (size_t)PROTO_MEM_REGION_SIZE * n);
	if (rc != PROTO_OK)
		return rc;
	memset(t, 0, sizeof(*t));
	t->nregions = n;
	t->padding = get32(in + 4);
	for (unsigned i = 0; i < n; i++)
		region_get(in + 8 + PROTO_MEM_REGION_SIZE * i, &t->regions[i]);
	return PROTO_OK;
}

int proto_mem_reg_encode(const struct proto_mem_reg_msg *r, uint8_t *out,
			 size_t cap)
{
	if (cap < PROTO_MEM_REG_MSG_SIZE)
		return PROTO_E_BUFFER;
	put64(out, r->padding);
	region_put(out + 8, &r->region);
	return PROTO_MEM_REG_MSG_SIZE;
}

int proto_mem_reg_decode(const uint8_t *in, size_t len,
			 struct proto_mem_reg_msg *r)
{
	int rc = want_len(len, PROTO_MEM_REG_MSG_SIZE);

	if (rc != PROTO_OK)
		return rc;
	r->padding = get64(in);
	region_get(in + 8, &r->region);
	return PROTO_OK;
}

int proto_vring_state_encode(const struct proto_vring_state *s, uint8_t *out,
			     size_t cap)
{
	if (cap < PROTO_VRING_STATE_SIZE)
		return PROTO_E_BUFFER;
	put32(out, s->index);
	put32(out + 4, s->num);
	return PROTO_VRING_STATE_SIZE;
}

int proto_vring_state_decode(const uint8_t *in, size_t len,
			     struct proto_vring_state *s)
{
	int rc = want_len(len, PROTO_VRING_STATE_SIZE);

	if (rc != PROTO_OK)
		return rc;
	s->index = get32(in);
	s->num = get32(in + 4);
	return PROTO_OK;
}

int proto_vring_addr_encode(const struct proto_vring_addr *a, uint8_t *out,
			    size_t cap)
{
	if (cap < PROTO_VRING_ADDR_SIZE)
		return PROTO_E_BUFFER;
	put32(out, a->index);
	put32(out + 4, a->flags);
	put64(out + 8, a->desc_user_addr);
	put64(out + 16, a->used_user_addr);
	put64(out + 24, a->avail_user_addr);
	put64(out + 32, a->log_guest_addr);
	return PROTO_VRING_ADDR_SIZE;
}

int proto_vring_addr_decode(const uint8_t *in, size_t len,
			    struct proto_vring_addr *a)
{
	int rc = want_len(len, PROTO_VRING_ADDR_SIZE);

	if (rc != PROTO_OK)
		return rc;
	a->index = get32(in);
	a->flags = get32(in + 4);
	a->desc_user_addr = get64(in + 8);
	a->used_user_addr = get64(in + 16);
	a->avail_user_addr = get64(in + 24);
	a->log_guest_addr = get64(in + 32);
	return PROTO_OK;
}

int proto_config_encode(const struct proto_config_space *c, uint8_t *out,
			size_t cap)
{
	size_t need;

	if (c->size > PROTO_CONFIG_MAX)
		return PROTO_E_RANGE;
	need = PROTO_CONFIG_HDR_SIZE + (size_t)c->size;
	if (cap < need)
		return PROTO_E_BUFFER;
	put32(out, c->offset);
	put32(out + 4, c->size);
	put32(out + 8, c->flags);
	memcpy(out + PROTO_CONFIG_HDR_SIZE, c->region, c->size);
	return (int)need;
}

int proto_config_decode(const uint8_t *in, size_t len,
			struct proto_config_space *c)
{
	uint32_t size;
	int rc;

	if (len < PROTO_CONFIG_HDR_SIZE)
		return PROTO_E_SHORT;
	size = get32(in + 4);
	if (size > PROTO_CONFIG_MAX)
		return PROTO_E_RANGE;
	rc = want_len(len, PROTO_CONFIG_HDR_SIZE + (size_t)size);
	if (rc != PROTO_OK)
		return rc;
	memset(c, 0, sizeof(*c));
	c->offset = get32(in);
	c->size = size;
	c->flags = get32(in + 8);
	memcpy(c->region, in + PROTO_CONFIG_HDR_SIZE, size);
	return PROTO_OK;
}

/* ---- names ---- */

const char *proto_req_name(enum proto_chan chan, uint32_t request)
{
	const struct reqinfo *ri = req_info(chan, request);

	return ri ? ri->name : NULL;
}

/* Case-insensitive prefix test; '-' matches '_' so "shmem-map" works. */
static size_t name_prefix(const char *s, const char *prefix)
{
	size_t i;

	for (i = 0; prefix[i]; i++) {
		int a = s[i] == '-' ? '_' : toupper((unsigned char)s[i]);

		if (a != prefix[i])
			return 0;
	}
	return i;
}

static bool name_eq(const char *s, const char *canon)
{
	size_t n = name_prefix(s, canon);

	return n == strlen(canon) && s[n] == '\0';
}

/* Strips the first prefix of the list that matches. */
static const char *strip_prefix(const char *s, const char *const *prefixes)
{
	for (; *prefixes; prefixes++) {
		size_t n = name_prefix(s, *prefixes);

		if (n && s[n])
			return s + n;
	}
	return s;
}

int proto_req_by_name(enum proto_chan chan, const char *name)
{
	static const char *const be_pfx[] = { "VHOST_USER_BACKEND_",
		"VHOST_USER_SLAVE_", "VHOST_USER_", "BACKEND_", NULL };
	static const char *const fe_pfx[] = { "VHOST_USER_", NULL };
	uint32_t max = chan == PROTO_CHAN_BACKEND ? PROTO_BE_REQ_MAX
						  : PROTO_FE_REQ_MAX;
	const char *bare;

	if (!name)
		return -1;
	bare = strip_prefix(name, chan == PROTO_CHAN_BACKEND ? be_pfx : fe_pfx);
	for (uint32_t id = 1; id <= max; id++) {
		const char *n = proto_req_name(chan, id);

		if (n && (name_eq(bare, n) || name_eq(name, n)))
			return (int)id;
	}
	return -1;
}

static const char *const pfeat_names[] = {
	"MQ", "LOG_SHMFD", "RARP", "REPLY_ACK", "MTU", "BACKEND_REQ",
	"CROSS_ENDIAN", "CRYPTO_SESSION", "PAGEFAULT", "CONFIG",
	"BACKEND_SEND_FD", "HOST_NOTIFIER", "INFLIGHT_SHMFD", "RESET_DEVICE",
	"INBAND_NOTIFICATIONS", "CONFIGURE_MEM_SLOTS", "STATUS", "XEN_MMAP",
	"SHARED_OBJECT", "DEVICE_STATE",
};
#define N_PFEAT (sizeof(pfeat_names) / sizeof(pfeat_names[0]))
_Static_assert(N_PFEAT == PROTO_PF_DEVICE_STATE + 1, "pfeat table");

/* Bits 20 and 21 belong to features this digest does not name (digest 2)
 * unless shmem_bit points at them. */
const char *proto_pfeat_name(unsigned bit, unsigned shmem_bit)
{
	if (bit == shmem_bit)
		return "SHMEM";
	return bit < N_PFEAT ? pfeat_names[bit] : NULL;
}

int proto_pfeat_by_name(const char *name, unsigned shmem_bit)
{
	static const char *const pfx[] = { "VHOST_USER_PROTOCOL_F_",
		"PROTOCOL_F_", NULL };
	const char *bare;

	if (!name)
		return -1;
	bare = strip_prefix(name, pfx);
	if (name_eq(bare, "SHMEM"))
		return shmem_bit < 64 ? (int)shmem_bit : -1;
	/* The old names of the back-end features, as older code spells them. */
	if (name_eq(bare, "SLAVE_REQ"))
		return PROTO_PF_BACKEND_REQ;
	if (name_eq(bare, "SLAVE_SEND_FD"))
		return PROTO_PF_BACKEND_SEND_FD;
	for (unsigned i = 0; i < N_PFEAT; i++)
		if (i != shmem_bit && name_eq(bare, pfeat_names[i]))
			return (int)i;
	return -1;
}

const char *proto_feat_name(unsigned bit)
{
	switch (bit) {
	case 24: return "NOTIFY_ON_EMPTY";
	case 26: return "LOG_ALL";
	case 27: return "ANY_LAYOUT";
	case 28: return "RING_INDIRECT_DESC";
	case 29: return "RING_EVENT_IDX";
	case PROTO_F_PROTOCOL_FEATURES: return "PROTOCOL_FEATURES";
	case 32: return "VERSION_1";
	case 33: return "ACCESS_PLATFORM";
	case 34: return "RING_PACKED";
	case 35: return "IN_ORDER";
	case 36: return "ORDER_PLATFORM";
	}
	return NULL;
}

/* ---- expectations ---- */

int proto_expected_size(enum proto_chan chan, uint32_t request, bool is_reply)
{
	const struct reqinfo *ri = req_info(chan, request);

	if (!ri)
		return -1;
	if (!is_reply)
		return ri->req_size;
	/* Without a body, the only reply is REPLY_ACK's u64 (digest 9). */
	return ri->body ? ri->rep_size : 8;
}

int proto_expected_fds(enum proto_chan chan, uint32_t request, unsigned *min,
		       unsigned *max)
{
	const struct reqinfo *ri = req_info(chan, request);

	if (!ri)
		return -1;
	*min = ri->fd_min;
	*max = ri->fd_max;
	return 0;
}

bool proto_has_reply_body(enum proto_chan chan, uint32_t request)
{
	const struct reqinfo *ri = req_info(chan, request);

	return ri && ri->body;
}

/* ---- formatting ---- */

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
static bool fmt_scalar(char *out, size_t cap, size_t *pos, enum ptype t,
		       const uint8_t *p, size_t len)
{
	struct proto_vring_state vs;
	uint64_t u;

	if (t == PT_VSTATE) {
		if (proto_vring_state_decode(p, len, &vs) != PROTO_OK)
			return false;
		proto_appendf(out, cap, pos, "index=%" PRIu32 " num=%" PRIu32,
			      vs.index, vs.num);
		return true;
	}
	if (proto_u64_decode(p, len, &u) != PROTO_OK)
		return false;
	if (t == PT_U64)
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
static bool fmt_struct(char *out, size_t cap, size_t *pos, enum ptype t,
		       const uint8_t *p, size_t len)
{
	union {
		struct proto_mem_table mt;
		struct proto_vring_addr va;
		struct proto_config_space cs;
	} d;

	switch (t) {
	case PT_MMAP:
		if (len == PROTO_MMAP_SIZE)
			fmt_mmap(out, cap, pos, p);
		return len == PROTO_MMAP_SIZE;
	case PT_SHMCFG:
		if (len == PROTO_SHMEM_CONFIG_SIZE)
			fmt_shmcfg(out, cap, pos, p);
		return len == PROTO_SHMEM_CONFIG_SIZE;
	case PT_MEMTAB:
		if (proto_mem_table_decode(p, len, &d.mt) != PROTO_OK)
			return false;
		fmt_memtab(out, cap, pos, &d.mt);
		return true;
	case PT_VADDR:
		if (proto_vring_addr_decode(p, len, &d.va) != PROTO_OK)
			return false;
		fmt_vaddr(out, cap, pos, &d.va);
		return true;
	case PT_CONFIG:
		if (proto_config_decode(p, len, &d.cs) != PROTO_OK)
			return false;
		fmt_config(out, cap, pos, &d.cs);
		return true;
	default:
		return false;
	}
}

/* Decodes one payload of type t; false when it does not decode. */
static bool fmt_typed(char *out, size_t cap, size_t *pos, enum ptype t,
		      const uint8_t *p, size_t len)
{
	switch (t) {
	case PT_NONE:
		return len == 0;
	case PT_U64:
	case PT_VRING_FD:
	case PT_VSTATE:
		return fmt_scalar(out, cap, pos, t, p, len);
	case PT_MEMREG:
		return fmt_memreg(out, cap, pos, p, len);
	case PT_FIXED:
	case PT_VAR:
		return false;
	default:
		return fmt_struct(out, cap, pos, t, p, len);
	}
}

/* The payload type of a message, per its REPLY flag; alt is the other
 * reading, for a reply that lost its flag (or a request that gained it). */
static enum ptype msg_ptype(enum proto_chan chan, const struct proto_hdr *h,
			    bool alt)
{
	const struct reqinfo *ri = req_info(chan, h->request);
	bool reply = (h->flags & PROTO_F_REPLY) != 0;

	if (!ri)
		return PT_VAR;
	if (reply == alt)
		return ri->req;
	return ri->body ? ri->rep : PT_U64;
}

int proto_format_payload(enum proto_chan chan, const struct proto_hdr *h,
			 const uint8_t *payload, size_t len, char *out,
			 size_t cap)
{
	size_t pos = 0;
	enum ptype t = msg_ptype(chan, h, false), alt = msg_ptype(chan, h, true);

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

/* ---- the validator ---- */

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
static long want_size(const struct vstate *v, const struct reqinfo *ri)
{
	enum ptype t = v->ctx->is_reply ? (ri->body ? ri->rep : PT_U64) : ri->req;

	if (t == PT_MEMTAB && v->avail >= 8) {
		uint32_t n = get32(v->payload);

		return n <= PROTO_MAX_MEM_REGIONS ? 8 + 32 * (long)n : -1;
	}
	if (t == PT_CONFIG && v->avail >= PROTO_CONFIG_HDR_SIZE) {
		uint32_t n = get32(v->payload + 4);

		return n <= PROTO_CONFIG_MAX ? PROTO_CONFIG_HDR_SIZE + (long)n
					     : -1;
	}
	return proto_expected_size(v->ctx->chan, v->h->request,
				   v->ctx->is_reply);
}

static void check_size(struct vstate *v, const struct reqinfo *ri)
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
		    ri->req == PT_MMAP && !v->ctx->is_reply ? PROTO_SEV_WARN
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
	n = get32(v->payload);
	pad = get32(v->payload + 4);
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
	pad = get64(v->payload);
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
	u = get64(v->payload);
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
static void check_fds(struct vstate *v, const struct reqinfo *ri)
{
	unsigned n = v->ctx->nfds;
	unsigned max = v->ctx->is_reply ? ri->rep_fd_max : ri->fd_max;
	unsigned min = v->ctx->is_reply ? 0 : ri->fd_min;

	if (n > PROTO_MAX_FDS) {
		add(v, PROTO_FIND_FD_COUNT, PROTO_SEV_ERROR,
		    "%s carries %u fds, above the limit of 8.", v->name, n);
		return;
	}
	if (!v->ctx->is_reply && (ri->req == PT_MEMTAB || ri->req == PT_VRING_FD))
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

static void check_payload(struct vstate *v, const struct reqinfo *ri)
{
	enum ptype t = v->ctx->is_reply ? (ri->body ? ri->rep : PT_U64) : ri->req;

	switch (t) {
	case PT_MMAP:
		check_mmap(v, v->h->request == PROTO_BE_SHMEM_MAP);
		break;
	case PT_SHMCFG:
		check_shmcfg(v);
		break;
	case PT_MEMTAB:
		check_memtab(v);
		break;
	case PT_MEMREG:
		check_memreg(v);
		break;
	case PT_VRING_FD:
		check_vring_fd(v);
		break;
	default:
		break;
	}
}

unsigned proto_validate(const struct proto_vctx *ctx, const struct proto_hdr *h,
			const uint8_t *payload, struct proto_findings *out)
{
	const struct reqinfo *ri = req_info(ctx->chan, h->request);
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
