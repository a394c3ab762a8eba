/* SPDX-License-Identifier: MIT */
/*
 * shadow: an independent model of what a conforming front-end does with
 * the back-end channel's SHMEM_MAP / SHMEM_UNMAP (digest 1, 6, 7, 9, 10),
 * written from the digest, not from targets/ref/reffe.c.
 *
 * The fuzzers feed every message to both the model and the reference
 * front-end and compare: a mismatch is a finding. The model decides only
 * what the protocol decides (accept or refuse, reply or not, what stays
 * mapped); which errno a refusal carries is the implementation's.
 */
#ifndef VHU_FUZZ_SHADOW_H
#define VHU_FUZZ_SHADOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fuzzpool.h"
#include "proto.h"

#define SHADOW_MAX_MAPPINGS 128u /* the reference's table; a full table
				    refuses (digest 6: MAY fail) */

struct shadow_map {
	uint8_t shmid;
	bool rw;
	uint64_t shm_offset, len, fd_offset;
};

struct shadow {
	uint64_t sizes[PROTO_SHMEM_MAX_REGIONS];
	/* A region is usable when its size is non-zero and the front-end
	 * could reserve address space for it: the latter is the machine's
	 * say, so it is read from the front-end, not predicted. */
	bool usable[PROTO_SHMEM_MAX_REGIONS];
	struct shadow_map maps[SHADOW_MAX_MAPPINGS];
	unsigned nmaps;
	bool shmem;        /* SHMEM negotiated */
	bool reply_ack;    /* REPLY_ACK negotiated */
	bool started;      /* device started */
	uint64_t page;
};

/* What the model says a message does. */
struct shadow_verdict {
	bool dropped;      /* ignored whole: a reply sent as a request */
	bool accepted;     /* reply value 0, state changed */
	bool reply;        /* a REPLY_ACK reply must follow */
	struct shadow_map removed; /* UNMAP accepted: the range now gone */
	const char *why;   /* the rule that refused it, for messages */
};

void shadow_init(struct shadow *s);
/* A GET_SHMEM_CONFIG reply was applied: every mapping is gone, the
 * regions are the new sizes. */
void shadow_config(struct shadow *s, const uint64_t *sizes,
		   const bool *usable);
/* Device reset (digest 10): no mapping survives. */
void shadow_reset(struct shadow *s);

/* One back-end channel message, complete (size == payload bytes), with
 * the fds of one pool choice. Updates the model; fills *v. */
void shadow_backend_msg(struct shadow *s, const struct proto_hdr *h,
			const uint8_t *payload, size_t len,
			const struct fuzzpool_traits *fds,
			struct shadow_verdict *v);

/* The target accepted what the model refused by choice (v->why a rule
 * the digest leaves open): the model takes the target's choice where it
 * knows what that choice leaves behind, so the stream goes on knowing
 * the shmid instead of restarting the target to learn it again. A
 * request other than MAP/UNMAP changes nothing; a MAP whose only
 * objections were open ones (unknown flag bits or header flag bits, a
 * file shorter than fd_offset+len, alignment or a payload longer than 40
 * bytes left aside) adds the range as asked; an UNMAP carrying fds removes the whole mapping it names.
 * Returns true and fills *v as accepted when the model followed; false
 * (the model unchanged) when it cannot say what the target now holds.
 * *rough: the range is not page aligned (where the kernel rounds, /proc
 * cannot be judged against it). */
bool shadow_adopt(struct shadow *s, const struct proto_hdr *h,
		  const uint8_t *payload, size_t len,
		  const struct fuzzpool_traits *fds, struct shadow_verdict *v,
		  bool *rough);

/* Whether a refusal's rule (a verdict's why) is one the digest makes
 * MUST (6: overlap, outside the region, wrap, unknown shmid, only with
 * SHMEM; 7: exactly one whole mapping); the rest it leaves open. */
bool shadow_rule_must(const char *why);

/* Whether [a, a+alen) and [b, b+blen) intersect (half-open, no wrap). */
bool shadow_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen);

#endif
