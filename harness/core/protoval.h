/* SPDX-License-Identifier: MIT */
/*
 * protoval: the validator: every deviation of one message from the
 * digest, each with a code, a severity and a sentence (pure).
 */
#ifndef VHU_PROTOVAL_H
#define VHU_PROTOVAL_H

#include "proto.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum proto_finding_code {
	PROTO_FIND_VERSION = 1,         /* version bits not 1 */
	PROTO_FIND_REPLY_ON_REQUEST,    /* REPLY set on a request */
	PROTO_FIND_NO_REPLY_FLAG,       /* reply without REPLY */
	PROTO_FIND_NEED_REPLY_ON_REPLY, /* NEED_REPLY set on a reply */
	PROTO_FIND_UNKNOWN_FLAGS,       /* header flag bits above 3 */
	PROTO_FIND_UNKNOWN_REQUEST,     /* request id not defined */
	PROTO_FIND_SIZE_MISMATCH,       /* size not the request's size */
	PROTO_FIND_SIZE_TOO_BIG,        /* size above PROTO_MAX_PAYLOAD */
	PROTO_FIND_TRUNCATED,           /* fewer payload bytes than size */
	PROTO_FIND_MMAP_PADDING,        /* VhostUserMMap padding non-zero */
	PROTO_FIND_MMAP_FLAGS,          /* unknown MMap flag bits */
	PROTO_FIND_MMAP_LEN_ZERO,       /* len 0 */
	PROTO_FIND_MMAP_WRAP,           /* shm_offset+len or fd_offset+len wraps */
	PROTO_FIND_UNMAP_FIELDS,        /* UNMAP with fd_offset or flags set */
	PROTO_FIND_FD_COUNT,            /* fds not what the request takes */
	PROTO_FIND_SHMEM_NREGIONS,      /* nregions > 256 */
	PROTO_FIND_SHMEM_NREGIONS_MISMATCH, /* nregions != non-zero entries */
	PROTO_FIND_SHMEM_PAGE,          /* a size not a page multiple */
	PROTO_FIND_SHMEM_PADDING,       /* ShMemConfig padding non-zero */
	PROTO_FIND_MEM_NREGIONS,        /* memory table nregions 0 or > 8 */
	PROTO_FIND_REPLY_VALUE,         /* REPLY_ACK reply size not 8 */
	PROTO_FIND_PADDING,             /* other padding fields non-zero */
	PROTO_FIND_CODE_MAX,
};

enum proto_severity {
	PROTO_SEV_ERROR = 0, /* breaks a MUST of the spec */
	PROTO_SEV_WARN = 1,  /* spec silent or ambiguous: NON-STRICT */
	PROTO_SEV_INFO = 2,
};

struct proto_finding {
	enum proto_finding_code code;
	enum proto_severity severity;
	char text[160]; /* one sentence naming the field and the values */
};

#define PROTO_MAX_FINDINGS 16u

struct proto_findings {
	unsigned count;
	unsigned dropped; /* findings beyond PROTO_MAX_FINDINGS */
	struct proto_finding items[PROTO_MAX_FINDINGS];
};

/* What the validator knows of the message's context. */
struct proto_vctx {
	enum proto_chan chan;
	bool is_reply;     /* we expected a reply here */
	unsigned nfds;     /* fds that came with it */
	size_t payload_len; /* payload bytes actually received */
	unsigned page_size; /* for ShMemConfig checks; 0 means 4096 */
};

/* Appends every deviation found to *out (does not clear it first).
 * Returns the number appended. */
unsigned proto_validate(const struct proto_vctx *ctx, const struct proto_hdr *h,
			const uint8_t *payload, struct proto_findings *out);
const char *proto_finding_name(enum proto_finding_code code);

#endif
