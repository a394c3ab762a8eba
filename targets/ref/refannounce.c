/* SPDX-License-Identifier: MIT */
/*
 * refannounce: the reference front-end's memory-table announcements of
 * the mappings it made (ADD_MEM_REG, REM_MEM_REG, SET_MEM_TABLE), always
 * after the reply that caused them. See refannounce.h.
 */
#include "refannounce.h"

#include <errno.h>
#include <string.h>

#include "reffemain.h"
#include "refregion.h"
#include "refsys.h"


/* ------------------------------------------------------------------ */
/* memory-table announcements */

static struct proto_mem_region mapping_region(const struct reffe *fe,
					      const struct reffe_mapping *mp)
{
	struct proto_mem_region g = {
		.guest_phys_addr = REFFE_SHMEM_GPA_BASE + mp->shmid * REFFE_SHMEM_GPA_STRIDE +
				   mp->shm_offset,
		.memory_size = mp->len,
		.userspace_addr = refregion_addr(&fe->regions[mp->shmid],
						 mp->shm_offset),
		.mmap_offset = mp->fd_offset,
	};

	return g;
}

static int send_mem_reg(struct reffe *fe, uint32_t req,
			const struct proto_mem_region *g, int fd,
			bool force_need_reply, int64_t deadline,
			reffe_serve_fn serve)
{
	struct proto_mem_reg_msg msg = { .padding = 0, .region = *g };
	uint8_t buf[PROTO_MEM_REG_MSG_SIZE];

	proto_mem_reg_encode(&msg, buf, sizeof(buf));
	return reffemain_request_acked(fe, req, buf, sizeof(buf), &fd, fd >= 0 ? 1 : 0,
				       force_need_reply, deadline, serve);
}

void refannounce_push(struct reffe *fe, enum reffe_announce_kind kind,
			  const struct reffe_mapping *mp)
{
	struct reffe_announce *a;

	if (!reffe_pfeat(fe, PROTO_PF_CONFIGURE_MEM_SLOTS))
		kind = REFFE_ANNOUNCE_TABLE;
	if (fe->nannounce == REFFE_MAX_ANNOUNCE) {
		reffe_log(fe, "announce queue full: dropping one");
		return;
	}
	a = &fe->announce[fe->nannounce++];
	a->kind = kind;
	a->region = mapping_region(fe, mp);
	/* No copy of the fd: the live mapping's own goes out at the
	 * flush, so that the announce holds no fd of its own (a back-end
	 * counting our fds sees only the mappings). */
	a->fd = -1;
}

/* The live mapping an ADD announces, or NULL when it is gone. */
static const struct reffe_mapping *announced_mapping(const struct reffe *fe,
						     const struct proto_mem_region *g)
{
	for (unsigned i = 0; i < fe->nmaps; i++) {
		const struct reffe_mapping *mp = &fe->maps[i];
		struct proto_mem_region m;

		if (!mp->mapped)
			continue;
		m = mapping_region(fe, mp);
		if (m.guest_phys_addr == g->guest_phys_addr &&
		    m.memory_size == g->memory_size)
			return mp;
	}
	return NULL;
}

/* A mapping removed before its ADD went out: neither goes out. */
static void announce_drop_rem(struct reffe *fe, const struct proto_mem_region *g)
{
	for (unsigned i = 0; i < fe->nannounce; i++) {
		struct reffe_announce *a = &fe->announce[i];

		if (a->kind == REFFE_ANNOUNCE_REM &&
		    a->region.guest_phys_addr == g->guest_phys_addr &&
		    a->region.memory_size == g->memory_size) {
			memmove(a, a + 1, (--fe->nannounce - i) * sizeof(*a));
			return;
		}
	}
}

static int flush_one(struct reffe *fe, const struct reffe_announce *a,
		     int64_t deadline, reffe_serve_fn serve)
{
	const struct reffe_mapping *mp;

	if (a->kind == REFFE_ANNOUNCE_TABLE)
		return reffemain_send_mem_table(fe, true, false, deadline, serve);
	if (a->kind == REFFE_ANNOUNCE_REM)
		return send_mem_reg(fe, PROTO_REM_MEM_REG, &a->region, -1, false,
				    deadline, serve);
	mp = announced_mapping(fe, &a->region);
	if (!mp) {
		announce_drop_rem(fe, &a->region);
		return 0;
	}
	return send_mem_reg(fe, PROTO_ADD_MEM_REG, &a->region, mp->fd, false,
			    deadline, serve);
}

int refannounce_flush(struct reffe *fe, int64_t deadline, reffe_serve_fn serve)
{
	int r = 0;

	/* A front-end that blocks on its update serves nothing meanwhile
	 * and waits as long as a deadlocked one would, well past the
	 * harness's window. */
	if (reffe_fault(fe, FAULT_FE_MEMTABLE_BLOCKS_BACKEND)) {
		serve = NULL;
		deadline = chan_deadline(fe->cfg.deadlock_wait_ms);
	}

	/* Replies were sent before anything was queued; serving the
	 * back-end channel while waiting may queue more. */
	while (fe->nannounce && r == 0) {
		struct reffe_announce a = fe->announce[0];

		memmove(&fe->announce[0], &fe->announce[1],
			--fe->nannounce * sizeof(a));
		r = flush_one(fe, &a, deadline, serve);
	}
	if (r < 0) {
		reffe_log(fe, "memory-table update failed: %s", strerror(-r));
		reffe_announce_clear(fe);
	}
	return r;
}

/* fe_memtable_before_reply: what a front-end that updates its memory
 * table synchronously does, before it has answered the MAP. */
void refannounce_blocking(struct reffe *fe, const struct reffe_mapping *mp)
{
	int64_t deadline = chan_deadline(fe->cfg.deadlock_wait_ms);
	struct proto_mem_region g = mapping_region(fe, mp);
	int r;

	if (!reffe_connected(fe))
		return;
	if (reffe_pfeat(fe, PROTO_PF_CONFIGURE_MEM_SLOTS))
		r = send_mem_reg(fe, PROTO_ADD_MEM_REG, &g, mp->fd, true,
				 deadline, NULL);
	else
		r = reffemain_send_mem_table(fe, true, true, deadline, NULL);
	reffe_log(fe, "memory-table update before the MAP reply: %s",
		  r ? strerror(-r) : "answered");
}
