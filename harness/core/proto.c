/* SPDX-License-Identifier: MIT */
/*
 * proto: the vhost-user wire codec (header, payloads) and the request
 * tables. See proto.h for the contract.
 *
 * Every codec goes through memcpy on byte buffers: the wire is packed and
 * unaligned, and a struct cast of received bytes would be undefined
 * behaviour. Sizes come from the tables below, never from the peer.
 */
#include "proto.h"

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


#define NOREP PROTO_PT_U64, 8
#define R(n, t, s, fmin, fmax) { n, t, s, NOREP, fmin, fmax, false, 0 }
#define G(n, t, s, rt, rs, fmin, fmax, rfd) { n, t, s, rt, rs, fmin, fmax, true, rfd }

/* Sizes follow the rst's payload definitions (digest 3-4); the ones the
 * suite never sends (log, inflight, iotlb, uuid) are only size-checked. */
static const struct proto_reqinfo fe_reqs[PROTO_FE_REQ_MAX + 1] = {
	[PROTO_GET_FEATURES] = G("GET_FEATURES", PROTO_PT_NONE, 0, PROTO_PT_U64, 8, 0, 0, 0),
	[PROTO_SET_FEATURES] = R("SET_FEATURES", PROTO_PT_U64, 8, 0, 0),
	[PROTO_SET_OWNER] = R("SET_OWNER", PROTO_PT_NONE, 0, 0, 0),
	[PROTO_RESET_OWNER] = R("RESET_OWNER", PROTO_PT_NONE, 0, 0, 0),
	[PROTO_SET_MEM_TABLE] = R("SET_MEM_TABLE", PROTO_PT_MEMTAB, -1, 1, 8),
	[PROTO_SET_LOG_BASE] = R("SET_LOG_BASE", PROTO_PT_FIXED, 16, 1, 1),
	[PROTO_SET_LOG_FD] = R("SET_LOG_FD", PROTO_PT_NONE, 0, 1, 1),
	[PROTO_SET_VRING_NUM] = R("SET_VRING_NUM", PROTO_PT_VSTATE, 8, 0, 0),
	[PROTO_SET_VRING_ADDR] = R("SET_VRING_ADDR", PROTO_PT_VADDR, 40, 0, 0),
	[PROTO_SET_VRING_BASE] = R("SET_VRING_BASE", PROTO_PT_VSTATE, 8, 0, 0),
	[PROTO_GET_VRING_BASE] = G("GET_VRING_BASE", PROTO_PT_VSTATE, 8, PROTO_PT_VSTATE, 8,
				   0, 0, 0),
	[PROTO_SET_VRING_KICK] = R("SET_VRING_KICK", PROTO_PT_VRING_FD, 8, 0, 1),
	[PROTO_SET_VRING_CALL] = R("SET_VRING_CALL", PROTO_PT_VRING_FD, 8, 0, 1),
	[PROTO_SET_VRING_ERR] = R("SET_VRING_ERR", PROTO_PT_VRING_FD, 8, 0, 1),
	[PROTO_GET_PROTOCOL_FEATURES] = G("GET_PROTOCOL_FEATURES", PROTO_PT_NONE, 0,
					  PROTO_PT_U64, 8, 0, 0, 0),
	[PROTO_SET_PROTOCOL_FEATURES] = R("SET_PROTOCOL_FEATURES", PROTO_PT_U64, 8, 0,
					  0),
	[PROTO_GET_QUEUE_NUM] = G("GET_QUEUE_NUM", PROTO_PT_NONE, 0, PROTO_PT_U64, 8, 0, 0,
				  0),
	[PROTO_SET_VRING_ENABLE] = R("SET_VRING_ENABLE", PROTO_PT_VSTATE, 8, 0, 0),
	[PROTO_SEND_RARP] = R("SEND_RARP", PROTO_PT_U64, 8, 0, 0),
	[PROTO_NET_SET_MTU] = R("NET_SET_MTU", PROTO_PT_U64, 8, 0, 0),
	[PROTO_SET_BACKEND_REQ_FD] = R("SET_BACKEND_REQ_FD", PROTO_PT_NONE, 0, 1, 1),
	[PROTO_IOTLB_MSG] = R("IOTLB_MSG", PROTO_PT_FIXED, 32, 0, 0),
	[PROTO_SET_VRING_ENDIAN] = R("SET_VRING_ENDIAN", PROTO_PT_VSTATE, 8, 0, 0),
	[PROTO_GET_CONFIG] = G("GET_CONFIG", PROTO_PT_CONFIG, -1, PROTO_PT_CONFIG, -1, 0, 0,
			       0),
	[PROTO_SET_CONFIG] = R("SET_CONFIG", PROTO_PT_CONFIG, -1, 0, 0),
	[PROTO_CREATE_CRYPTO_SESSION] = G("CREATE_CRYPTO_SESSION", PROTO_PT_VAR, -1,
					  PROTO_PT_VAR, -1, 0, 0, 0),
	[PROTO_CLOSE_CRYPTO_SESSION] = R("CLOSE_CRYPTO_SESSION", PROTO_PT_U64, 8, 0,
					 0),
	[PROTO_POSTCOPY_ADVISE] = G("POSTCOPY_ADVISE", PROTO_PT_NONE, 0, PROTO_PT_VAR, -1, 0,
				    0, 1),
	[PROTO_POSTCOPY_LISTEN] = R("POSTCOPY_LISTEN", PROTO_PT_NONE, 0, 0, 0),
	[PROTO_POSTCOPY_END] = G("POSTCOPY_END", PROTO_PT_NONE, 0, PROTO_PT_U64, 8, 0, 0, 0),
	[PROTO_GET_INFLIGHT_FD] = G("GET_INFLIGHT_FD", PROTO_PT_FIXED, 24, PROTO_PT_FIXED,
				    24, 0, 0, 1),
	[PROTO_SET_INFLIGHT_FD] = R("SET_INFLIGHT_FD", PROTO_PT_FIXED, 24, 1, 1),
	[PROTO_GPU_SET_SOCKET] = R("GPU_SET_SOCKET", PROTO_PT_NONE, 0, 1, 1),
	[PROTO_RESET_DEVICE] = R("RESET_DEVICE", PROTO_PT_NONE, 0, 0, 0),
	[PROTO_VRING_KICK] = R("VRING_KICK", PROTO_PT_VSTATE, 8, 0, 0),
	[PROTO_GET_MAX_MEM_SLOTS] = G("GET_MAX_MEM_SLOTS", PROTO_PT_NONE, 0, PROTO_PT_U64, 8,
				      0, 0, 0),
	[PROTO_ADD_MEM_REG] = R("ADD_MEM_REG", PROTO_PT_MEMREG, 40, 1, 1),
	/* Older front-ends attached the region's fd to REM_MEM_REG too;
	 * the rst tells back-ends to tolerate (and close) it. */
	[PROTO_REM_MEM_REG] = R("REM_MEM_REG", PROTO_PT_MEMREG, 40, 0, 1),
	[PROTO_SET_STATUS] = R("SET_STATUS", PROTO_PT_U64, 8, 0, 0),
	[PROTO_GET_STATUS] = G("GET_STATUS", PROTO_PT_NONE, 0, PROTO_PT_U64, 8, 0, 0, 0),
	[PROTO_GET_SHARED_OBJECT] = G("GET_SHARED_OBJECT", PROTO_PT_FIXED, 16, PROTO_PT_U64,
				      8, 0, 0, 1),
	[PROTO_SET_DEVICE_STATE_FD] = G("SET_DEVICE_STATE_FD", PROTO_PT_FIXED, 8,
					PROTO_PT_U64, 8, 1, 1, 1),
	[PROTO_CHECK_DEVICE_STATE] = G("CHECK_DEVICE_STATE", PROTO_PT_NONE, 0, PROTO_PT_U64,
				       8, 0, 0, 0),
	/* Digest 3 and 8: the reply is mandatory. */
	[PROTO_GET_SHMEM_CONFIG] = G("GET_SHMEM_CONFIG", PROTO_PT_NONE, 0, PROTO_PT_SHMCFG,
				     PROTO_SHMEM_CONFIG_SIZE, 0, 0, 0),
};

static const struct proto_reqinfo be_reqs[PROTO_BE_REQ_MAX + 1] = {
	[PROTO_BE_IOTLB_MSG] = R("IOTLB_MSG", PROTO_PT_FIXED, 32, 0, 0),
	[PROTO_BE_CONFIG_CHANGE_MSG] = R("CONFIG_CHANGE_MSG", PROTO_PT_NONE, 0, 0, 0),
	[PROTO_BE_VRING_HOST_NOTIFIER_MSG] = R("VRING_HOST_NOTIFIER_MSG",
					       PROTO_PT_FIXED, 24, 0, 1),
	[PROTO_BE_VRING_CALL] = R("VRING_CALL", PROTO_PT_VSTATE, 8, 0, 0),
	[PROTO_BE_VRING_ERR] = R("VRING_ERR", PROTO_PT_VSTATE, 8, 0, 0),
	[PROTO_BE_SHARED_OBJECT_ADD] = R("SHARED_OBJECT_ADD", PROTO_PT_FIXED, 16, 0, 0),
	[PROTO_BE_SHARED_OBJECT_REMOVE] = R("SHARED_OBJECT_REMOVE", PROTO_PT_FIXED, 16,
					    0, 0),
	[PROTO_BE_SHARED_OBJECT_LOOKUP] = G("SHARED_OBJECT_LOOKUP", PROTO_PT_FIXED, 16,
					    PROTO_PT_U64, 8, 0, 0, 1),
	/* Digest 6 and 12H: the payload is "fd + VhostUserMMap". */
	[PROTO_BE_SHMEM_MAP] = R("SHMEM_MAP", PROTO_PT_MMAP, 40, 1, 1),
	[PROTO_BE_SHMEM_UNMAP] = R("SHMEM_UNMAP", PROTO_PT_MMAP, 40, 0, 0),
};

#undef R
#undef G
#undef NOREP

const struct proto_reqinfo *proto_req_info(enum proto_chan chan, uint32_t request)
{
	const struct proto_reqinfo *t = chan == PROTO_CHAN_BACKEND ? be_reqs : fe_reqs;
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

uint32_t proto_get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

uint64_t proto_get64(const uint8_t *p)
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
	h->request = proto_get32(in);
	h->flags = proto_get32(in + 4);
	h->size = proto_get32(in + 8);
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
		*v = proto_get64(in);
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
	m->fd_offset = proto_get64(in + 8);
	m->shm_offset = proto_get64(in + 16);
	m->len = proto_get64(in + 24);
	m->flags = proto_get64(in + 32);
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
	c->nregions = proto_get32(in);
	c->padding = proto_get32(in + 4);
	for (unsigned i = 0; i < PROTO_SHMEM_MAX_REGIONS; i++)
		c->memory_sizes[i] = proto_get64(in + 8 + 8 * i);
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
	r->guest_phys_addr = proto_get64(p);
	r->memory_size = proto_get64(p + 8);
	r->userspace_addr = proto_get64(p + 16);
	r->mmap_offset = proto_get64(p + 24);
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
	n = proto_get32(in);
	if (n > PROTO_MAX_MEM_REGIONS)
		return PROTO_E_RANGE;
	rc = want_len(len, 8 + (size_t)PROTO_MEM_REGION_SIZE * n);
	if (rc != PROTO_OK)
		return rc;
	memset(t, 0, sizeof(*t));
	t->nregions = n;
	t->padding = proto_get32(in + 4);
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
	r->padding = proto_get64(in);
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
	s->index = proto_get32(in);
	s->num = proto_get32(in + 4);
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
	a->index = proto_get32(in);
	a->flags = proto_get32(in + 4);
	a->desc_user_addr = proto_get64(in + 8);
	a->used_user_addr = proto_get64(in + 16);
	a->avail_user_addr = proto_get64(in + 24);
	a->log_guest_addr = proto_get64(in + 32);
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
	size = proto_get32(in + 4);
	if (size > PROTO_CONFIG_MAX)
		return PROTO_E_RANGE;
	rc = want_len(len, PROTO_CONFIG_HDR_SIZE + (size_t)size);
	if (rc != PROTO_OK)
		return rc;
	memset(c, 0, sizeof(*c));
	c->offset = proto_get32(in);
	c->size = size;
	c->flags = proto_get32(in + 8);
	memcpy(c->region, in + PROTO_CONFIG_HDR_SIZE, size);
	return PROTO_OK;
}

/* ---- expectations ---- */

int proto_expected_size(enum proto_chan chan, uint32_t request, bool is_reply)
{
	const struct proto_reqinfo *ri = proto_req_info(chan, request);

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
	const struct proto_reqinfo *ri = proto_req_info(chan, request);

	if (!ri)
		return -1;
	*min = ri->fd_min;
	*max = ri->fd_max;
	return 0;
}

bool proto_has_reply_body(enum proto_chan chan, uint32_t request)
{
	const struct proto_reqinfo *ri = proto_req_info(chan, request);

	return ri && ri->body;
}
