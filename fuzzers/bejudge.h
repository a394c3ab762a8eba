/* SPDX-License-Identifier: MIT */
/*
 * bejudge: what a conforming back-end must do with what the front-end
 * asks and answers, the one model of it for the cases emitted from
 * fuzz_backend_replies inputs (emitbe.c) and the live back-end stream
 * (belive.c). A record is fuzz_backend_replies.c's (16 bytes); the reply
 * kinds are berig.h's, in the same order.
 *
 * The rules: a MAP outside the back-end's advertised regions, over one
 * of its own live mappings or without SHMEM is refused before anything
 * is sent (12H, 6); the reply 0 is success, a non-zero reply failure,
 * and no reply, EOF or a malformed reply is no success (9, 12H).
 */
#ifndef VHU_FUZZ_BEJUDGE_H
#define VHU_FUZZ_BEJUDGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto.h"

#define BEJUDGE_RECORD 16u
#define BEJUDGE_PAGE UINT64_C(0x1000)
#define BEJUDGE_MAX_LIVE 128u
/* Longer than any back-end's own wait for a reply (the reference's is
 * 1000 ms): `not-ok` then means it did not take silence as success. */
#define BEJUDGE_OUTCOME_MS 3000

/* Record bits (byte 4). */
#define BEJUDGE_B_RW 0x01u
#define BEJUDGE_B_NEED 0x02u      /* need_reply=1 */
#define BEJUDGE_B_NO_NEED 0x04u   /* need_reply=0 */
#define BEJUDGE_B_RAW 0x08u       /* page counts not reduced */
#define BEJUDGE_B_FD_SIZE 0x10u   /* a memfd one page larger */
#define BEJUDGE_B_MAIN 0x20u      /* GET_FEATURES while the request waits */

enum bejudge_op { BEJUDGE_MAP, BEJUDGE_UNMAP, BEJUDGE_CONFIG, BEJUDGE_RESET,
		  BEJUDGE_NEGOTIATE, BEJUDGE_RECONNECT, BEJUDGE_STRAY,
		  BEJUDGE_OP_MAX };

/* berig.h's enum berig_reply, in the same order. */
enum bejudge_reply { BEJUDGE_R_OK, BEJUDGE_R_ERR, BEJUDGE_R_NONE,
		     BEJUDGE_R_WRONG_ID, BEJUDGE_R_WRONG_FLAGS,
		     BEJUDGE_R_SHORT, BEJUDGE_R_LONG, BEJUDGE_R_TRUNC,
		     BEJUDGE_R_FDS, BEJUDGE_R_EOF, BEJUDGE_R_DOUBLE,
		     BEJUDGE_R_MAX };

struct bejudge_rec {
	uint8_t op, reply, fd, shmid, bits, value;
	uint16_t fd_pages;
	uint32_t off_pages, len_pages;
};

struct bejudge_range {
	uint8_t shmid;
	uint64_t off, len;
};

/* What the front-end knows of the back-end. */
struct bejudge {
	uint64_t sizes[PROTO_SHMEM_MAX_REGIONS];
	bool shmem, reply_ack;
	struct bejudge_range live[BEJUDGE_MAX_LIVE];
	unsigned nlive;
};

/* What the back-end must conclude from a reply. */
struct bejudge_outcome {
	const char *want;       /* "ok", "fail", "not-ok", "sent" */
	const char *rule;
	bool must;              /* MUST (else the digest leaves it open) */
	bool known;             /* its state is known afterwards */
};

void bejudge_rec_read(const uint8_t *p, struct bejudge_rec *r);
void bejudge_rec_write(const struct bejudge_rec *r, uint8_t *p);
const char *bejudge_reply_name(enum bejudge_reply k);

/* need_reply as the record says, else as REPLY_ACK says. */
bool bejudge_need(const struct bejudge *b, const struct bejudge_rec *r);
/* The MAP a record asks for, and its fd_offset. */
void bejudge_map_range(const struct bejudge_rec *r, struct bejudge_range *g,
		       uint64_t *fd_offset);
/* Why a conforming back-end refuses this MAP before sending it, or NULL. */
const char *bejudge_map_refusal(const struct bejudge *b,
				const struct bejudge_range *g);
/* The live mapping a record's UNMAP names (-1: none). */
int bejudge_unmap_index(const struct bejudge *b, const struct bejudge_rec *r);
void bejudge_outcome(enum bejudge_reply k, bool need, struct bejudge_outcome *o);
/* Whether a control answer ("ok result=0", "ok result=fail ...",
 * "ok result=sent"; "" when none came in the window) is what want
 * calls for. */
bool bejudge_answer_holds(const char *want, const char *answer);
/* The model after a request whose outcome o was judged to hold. */
void bejudge_mapped(struct bejudge *b, const struct bejudge_range *g,
		    const struct bejudge_outcome *o);
void bejudge_unmapped(struct bejudge *b, int idx,
		      const struct bejudge_outcome *o);
/* The flags of a WRONG_FLAGS reply (value picks the variant). */
uint32_t bejudge_wrong_flags(uint8_t value);

#endif
