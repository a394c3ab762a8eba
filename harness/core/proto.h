/* SPDX-License-Identifier: MIT */
/*
 * proto: the vhost-user wire codec for the Shared Memory extension.
 *
 * Everything here is pure: no I/O, no allocation beyond what the caller
 * passes in. Decoders take the byte count they were given and never read
 * past it, whatever a size field claims. All integers are host order, as
 * on the wire (vhost-user runs over AF_UNIX only).
 */
#ifndef VHU_PROTO_H
#define VHU_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- framing (digest section 1) ---- */

#define PROTO_HDR_SIZE 12u
#define PROTO_MAX_FDS 8u
/* Largest payload we accept; the biggest defined one is the 2056-byte
 * ShMemConfig. Anything larger is rejected before it is read. */
#define PROTO_MAX_PAYLOAD 4096u

#define PROTO_VERSION_MASK 0x3u
#define PROTO_VERSION 0x1u
#define PROTO_F_REPLY 0x4u
#define PROTO_F_NEED_REPLY 0x8u
#define PROTO_F_KNOWN (PROTO_VERSION_MASK | PROTO_F_REPLY | PROTO_F_NEED_REPLY)

/* Which direction a request id belongs to: ids overlap between them. */
enum proto_chan {
	PROTO_CHAN_MAIN = 0,    /* front-end requests, back-end replies */
	PROTO_CHAN_BACKEND = 1, /* back-end requests, front-end replies */
};

/* ---- front-end requests (main channel, digest section 3) ---- */
enum proto_fe_req {
	PROTO_GET_FEATURES = 1,
	PROTO_SET_FEATURES = 2,
	PROTO_SET_OWNER = 3,
	PROTO_RESET_OWNER = 4,
	PROTO_SET_MEM_TABLE = 5,
	PROTO_SET_LOG_BASE = 6,
	PROTO_SET_LOG_FD = 7,
	PROTO_SET_VRING_NUM = 8,
	PROTO_SET_VRING_ADDR = 9,
	PROTO_SET_VRING_BASE = 10,
	PROTO_GET_VRING_BASE = 11,
	PROTO_SET_VRING_KICK = 12,
	PROTO_SET_VRING_CALL = 13,
	PROTO_SET_VRING_ERR = 14,
	PROTO_GET_PROTOCOL_FEATURES = 15,
	PROTO_SET_PROTOCOL_FEATURES = 16,
	PROTO_GET_QUEUE_NUM = 17,
	PROTO_SET_VRING_ENABLE = 18,
	PROTO_SEND_RARP = 19,
	PROTO_NET_SET_MTU = 20,
	PROTO_SET_BACKEND_REQ_FD = 21,
	PROTO_IOTLB_MSG = 22,
	PROTO_SET_VRING_ENDIAN = 23,
	PROTO_GET_CONFIG = 24,
	PROTO_SET_CONFIG = 25,
	PROTO_CREATE_CRYPTO_SESSION = 26,
	PROTO_CLOSE_CRYPTO_SESSION = 27,
	PROTO_POSTCOPY_ADVISE = 28,
	PROTO_POSTCOPY_LISTEN = 29,
	PROTO_POSTCOPY_END = 30,
	PROTO_GET_INFLIGHT_FD = 31,
	PROTO_SET_INFLIGHT_FD = 32,
	PROTO_GPU_SET_SOCKET = 33,
	PROTO_RESET_DEVICE = 34,
	PROTO_VRING_KICK = 35,
	PROTO_GET_MAX_MEM_SLOTS = 36,
	PROTO_ADD_MEM_REG = 37,
	PROTO_REM_MEM_REG = 38,
	PROTO_SET_STATUS = 39,
	PROTO_GET_STATUS = 40,
	PROTO_GET_SHARED_OBJECT = 41,
	PROTO_SET_DEVICE_STATE_FD = 42,
	PROTO_CHECK_DEVICE_STATE = 43,
	PROTO_GET_SHMEM_CONFIG = 44,
	PROTO_FE_REQ_MAX = 44,
};

/* ---- back-end requests (back-end channel) ---- */
enum proto_be_req {
	PROTO_BE_IOTLB_MSG = 1,
	PROTO_BE_CONFIG_CHANGE_MSG = 2,
	PROTO_BE_VRING_HOST_NOTIFIER_MSG = 3,
	PROTO_BE_VRING_CALL = 4,
	PROTO_BE_VRING_ERR = 5,
	PROTO_BE_SHARED_OBJECT_ADD = 6,
	PROTO_BE_SHARED_OBJECT_REMOVE = 7,
	PROTO_BE_SHARED_OBJECT_LOOKUP = 8,
	PROTO_BE_SHMEM_MAP = 9,
	PROTO_BE_SHMEM_UNMAP = 10,
	PROTO_BE_REQ_MAX = 10,
};

/* ---- feature bits (digest section 2) ---- */
#define PROTO_F_PROTOCOL_FEATURES 30 /* virtio feature bit */

enum proto_pfeat {
	PROTO_PF_MQ = 0,
	PROTO_PF_LOG_SHMFD = 1,
	PROTO_PF_RARP = 2,
	PROTO_PF_REPLY_ACK = 3,
	PROTO_PF_MTU = 4,
	PROTO_PF_BACKEND_REQ = 5,
	PROTO_PF_CROSS_ENDIAN = 6,
	PROTO_PF_CRYPTO_SESSION = 7,
	PROTO_PF_PAGEFAULT = 8,
	PROTO_PF_CONFIG = 9,
	PROTO_PF_BACKEND_SEND_FD = 10,
	PROTO_PF_HOST_NOTIFIER = 11,
	PROTO_PF_INFLIGHT_SHMFD = 12,
	PROTO_PF_RESET_DEVICE = 13,
	PROTO_PF_INBAND_NOTIFICATIONS = 14,
	PROTO_PF_CONFIGURE_MEM_SLOTS = 15,
	PROTO_PF_STATUS = 16,
	PROTO_PF_XEN_MMAP = 17,
	PROTO_PF_SHARED_OBJECT = 18,
	PROTO_PF_DEVICE_STATE = 19,
	/* SHMEM has no fixed bit: 20 (QEMU v10/v11), 21 (rust-vmm 0.16),
	 * 22 (merged spec). Callers carry it as a setting. */
};
#define PROTO_SHMEM_BIT_DEFAULT 22

/* Virtio device status bits used by SET_STATUS. */
#define PROTO_STATUS_ACKNOWLEDGE 0x1u
#define PROTO_STATUS_DRIVER 0x2u
#define PROTO_STATUS_DRIVER_OK 0x4u
#define PROTO_STATUS_FEATURES_OK 0x8u

/* ---- payloads (digest section 4) ---- */

struct proto_hdr {
	uint32_t request;
	uint32_t flags;
	uint32_t size;
};

#define PROTO_MMAP_F_RW 0x1u
#define PROTO_MMAP_F_KNOWN PROTO_MMAP_F_RW
#define PROTO_MMAP_SIZE 40u

/* VhostUserMMap, byte for byte as on the wire. */
struct proto_mmap {
	uint8_t shmid;
	uint8_t padding[7];
	uint64_t fd_offset;
	uint64_t shm_offset;
	uint64_t len;
	uint64_t flags;
};

#define PROTO_SHMEM_MAX_REGIONS 256u
#define PROTO_SHMEM_CONFIG_SIZE 2056u

struct proto_shmem_config {
	uint32_t nregions;
	uint32_t padding;
	uint64_t memory_sizes[PROTO_SHMEM_MAX_REGIONS];
};

#define PROTO_MEM_REGION_SIZE 32u
#define PROTO_MAX_MEM_REGIONS 8u

struct proto_mem_region {
	uint64_t guest_phys_addr;
	uint64_t memory_size;
	uint64_t userspace_addr;
	uint64_t mmap_offset;
};

/* SET_MEM_TABLE: 8-byte head then nregions regions (not always 8). */
struct proto_mem_table {
	uint32_t nregions;
	uint32_t padding;
	struct proto_mem_region regions[PROTO_MAX_MEM_REGIONS];
};

/* ADD_MEM_REG / REM_MEM_REG */
#define PROTO_MEM_REG_MSG_SIZE 40u
struct proto_mem_reg_msg {
	uint64_t padding;
	struct proto_mem_region region;
};

#define PROTO_VRING_STATE_SIZE 8u
struct proto_vring_state {
	uint32_t index;
	uint32_t num;
};

#define PROTO_VRING_ADDR_SIZE 40u
struct proto_vring_addr {
	uint32_t index;
	uint32_t flags;
	uint64_t desc_user_addr;
	uint64_t used_user_addr;
	uint64_t avail_user_addr;
	uint64_t log_guest_addr;
};

#define PROTO_CONFIG_HDR_SIZE 12u
#define PROTO_CONFIG_MAX 256u
struct proto_config_space {
	uint32_t offset;
	uint32_t size;
	uint32_t flags;
	uint8_t region[PROTO_CONFIG_MAX];
};

/* ---- errors ---- */
enum proto_err {
	PROTO_OK = 0,
	PROTO_E_SHORT = -1,     /* fewer bytes than the structure needs */
	PROTO_E_TOOBIG = -2,    /* size field above PROTO_MAX_PAYLOAD */
	PROTO_E_SIZE = -3,      /* size does not match the payload type */
	PROTO_E_RANGE = -4,     /* a count out of range (nregions, config size) */
	PROTO_E_BUFFER = -5,    /* caller's output buffer too small */
};
const char *proto_strerror(int err);

/* ---- header ---- */
int proto_hdr_encode(const struct proto_hdr *h, uint8_t *out, size_t cap);
/* Fills *h from the first 12 bytes (len may be larger). Returns
 * PROTO_E_SHORT below 12 bytes, PROTO_E_TOOBIG (with *h filled) when the
 * size field is above PROTO_MAX_PAYLOAD, else PROTO_OK. */
int proto_hdr_decode(const uint8_t *in, size_t len, struct proto_hdr *h);

/* ---- payload codecs: encode returns bytes written or a PROTO_E_*;
 *      decode returns PROTO_OK or PROTO_E_*. ---- */
int proto_u64_encode(uint64_t v, uint8_t *out, size_t cap);
int proto_u64_decode(const uint8_t *in, size_t len, uint64_t *v);
int proto_mmap_encode(const struct proto_mmap *m, uint8_t *out, size_t cap);
int proto_mmap_decode(const uint8_t *in, size_t len, struct proto_mmap *m);
int proto_shmem_config_encode(const struct proto_shmem_config *c, uint8_t *out,
			      size_t cap);
/* Accepts exactly PROTO_SHMEM_CONFIG_SIZE bytes; nregions is reported as
 * sent (it may exceed 256: that is for the validator to flag). */
int proto_shmem_config_decode(const uint8_t *in, size_t len,
			      struct proto_shmem_config *c);
int proto_mem_table_encode(const struct proto_mem_table *t, uint8_t *out,
			   size_t cap);
/* len must be 8 + 32*nregions, nregions <= 8. */
int proto_mem_table_decode(const uint8_t *in, size_t len,
			   struct proto_mem_table *t);
int proto_mem_reg_encode(const struct proto_mem_reg_msg *r, uint8_t *out,
			 size_t cap);
int proto_mem_reg_decode(const uint8_t *in, size_t len,
			 struct proto_mem_reg_msg *r);
int proto_vring_state_encode(const struct proto_vring_state *s, uint8_t *out,
			     size_t cap);
int proto_vring_state_decode(const uint8_t *in, size_t len,
			     struct proto_vring_state *s);
int proto_vring_addr_encode(const struct proto_vring_addr *a, uint8_t *out,
			    size_t cap);
int proto_vring_addr_decode(const uint8_t *in, size_t len,
			    struct proto_vring_addr *a);
/* len must be 12 + size, size <= PROTO_CONFIG_MAX. */
int proto_config_encode(const struct proto_config_space *c, uint8_t *out,
			size_t cap);
int proto_config_decode(const uint8_t *in, size_t len,
			struct proto_config_space *c);

/* ---- the request tables (digest 3-4) ---- */

/* How a payload is laid out, for decoding, formatting and validation. */
enum proto_ptype {
	PROTO_PT_NONE,     /* no payload */
	PROTO_PT_U64,
	PROTO_PT_VRING_FD, /* u64: vring index in bits 0-7, bit 8 = no fd */
	PROTO_PT_MMAP,
	PROTO_PT_SHMCFG,
	PROTO_PT_MEMTAB,   /* variable: 8 + 32 * nregions */
	PROTO_PT_MEMREG,
	PROTO_PT_VSTATE,
	PROTO_PT_VADDR,
	PROTO_PT_CONFIG,   /* variable: 12 + size */
	PROTO_PT_FIXED,    /* known size, no decoder here: printed as hex */
	PROTO_PT_VAR,      /* size varies and is not checked */
};

struct proto_reqinfo {
	const char *name;
	enum proto_ptype req;
	int req_size;
	enum proto_ptype rep;   /* the reply body when body is true */
	int rep_size;
	unsigned char fd_min, fd_max;
	bool body;        /* always replied, with rep as body */
	unsigned char rep_fd_max;
};

/* A request's row of the table, or NULL when the id is not defined. */
const struct proto_reqinfo *proto_req_info(enum proto_chan chan,
					   uint32_t request);

/* Expected payload size for a request, or -1 when it varies
 * (SET_MEM_TABLE, GET/SET_CONFIG) or is unknown. is_reply selects the
 * reply's layout: a GET reply, or the u64 of REPLY_ACK. */
int proto_expected_size(enum proto_chan chan, uint32_t request, bool is_reply);
/* How many fds a request carries: *min and *max. Returns -1 if unknown. */
int proto_expected_fds(enum proto_chan chan, uint32_t request, unsigned *min,
		       unsigned *max);
/* Whether a request always has a reply body (GET_*), regardless of
 * REPLY_ACK. */
bool proto_has_reply_body(enum proto_chan chan, uint32_t request);

/* Host-order integers from unaligned wire bytes. */
uint32_t proto_get32(const uint8_t *p);
uint64_t proto_get64(const uint8_t *p);

#endif
