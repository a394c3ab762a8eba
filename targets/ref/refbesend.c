/* SPDX-License-Identifier: MIT */
/*
 * refbesend: the reference back-end's MAP and UNMAP requests: the queue,
 * sending them on the back-end channel, judging the replies. See
 * refbesend.h.
 */
#include "refbesend.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "refsys.h"
#include "refwait.h"

/* be_nonzero_padding and be_unknown_flags write these. */
#define BAD_PADDING_BYTE 0xa5u
#define BAD_FLAG_BIT (UINT64_C(1) << 2)
const char *refbe_outcome_name(enum refbe_outcome o)
{
	switch (o) {
	case REFBE_DONE: return "done";
	case REFBE_REFUSED: return "refused";
	case REFBE_NO_REPLY: return "no-reply";
	case REFBE_BAD_REPLY: return "bad-reply";
	case REFBE_EOF: return "eof";
	case REFBE_SEND_FAILED: return "send-failed";
	}
	return "?";
}

/* ------------------------------------------------------------------ */
/* MAP and UNMAP: the queue, sending, and the replies */

static void pump(struct refbe *be);

/* The ledger follows the outcome of a request; the program hears it. */
static void complete_as(struct refbe *be, const struct refbe_op *op,
			int outcome, bool sent_only)
{
	int i = refbe_ledger_by_seq(be, op->seq);

	if (be->cfg.on_done)
		be->cfg.on_done(be->cfg.done_opaque, op->map, outcome, sent_only);

	refbe_log(be, "%s shmid %u 0x%llx+0x%llx: %s", op->map ? "MAP" : "UNMAP",
		  op->req.shmid, (unsigned long long)op->req.shm_offset,
		  (unsigned long long)op->req.len,
		  refbe_outcome_name((enum refbe_outcome)outcome));
	be->last_outcome = outcome;
	if (i < 0)
		return; /* forgotten meanwhile (reset) */
	if (op->map && outcome == REFBE_DONE)
		be->maps[i].state = REFBE_MAP_LIVE;
	else if (op->map || outcome == REFBE_DONE)
		refbe_ledger_remove(be, (unsigned)i);
	else
		be->maps[i].state = REFBE_MAP_LIVE;
}

static void complete(struct refbe *be, const struct refbe_op *op, int outcome)
{
	complete_as(be, op, outcome, false);
}

void refbesend_finish_inflight(struct refbe *be, int outcome)
{
	be->waiting = false;
	complete(be, &be->inflight, outcome);
	pump(be);
}

static int eof_outcome(struct refbe *be, const char *why)
{
	refbe_log(be, "back-end channel: %s while waiting for a reply", why);
	if (refbe_fault(be, FAULT_BE_EOF_AS_SUCCESS)) {
		/* The bug: EOF read as a reply, the channel still thought
		 * alive. Stop reading it so the poll loop does not spin. */
		be->backend_deaf = true;
		return REFBE_DONE;
	}
	chan_close(&be->backend);
	return REFBE_EOF;
}

/* be_keeps_reply_fds: the fds are taken from the message and never
 * closed (the leak is the fault). */
static void keep_fds(struct chan_msg *m)
{
	for (unsigned i = 0; i < m->nfds; i++)
		(void)chan_msg_take_fd(m, i);
}

/* The bugs that read a reply shorter than the u64 anyway: the value
 * from the bytes that came, the rest zero. */
static int value_of_what_came(const struct chan_msg *m)
{
	uint64_t v = 0;

	if (m->payload_len)
		memcpy(&v, m->payload, m->payload_len < 8 ? m->payload_len : 8);
	return v ? REFBE_REFUSED : REFBE_DONE;
}

/* Strict reply check (digest 9 and 12H). */
static int judge_reply(struct refbe *be, struct chan_msg *m, uint32_t req)
{
	uint64_t v = 0;

	if (m->payload_len < 8 && refbe_fault(be, FAULT_BE_ABORT_SHORT_REPLY))
		abort();
	if (m->hdr.request != req && !refbe_fault(be, FAULT_BE_REPLY_ID_UNCHECKED)) {
		refbe_log(be, "reply for request %u, not %u", m->hdr.request, req);
		return REFBE_BAD_REPLY;
	}
	if (!refbe_fault(be, FAULT_BE_REPLY_FLAGS_UNCHECKED) &&
	    ((m->hdr.flags & PROTO_VERSION_MASK) != PROTO_VERSION ||
	     !(m->hdr.flags & PROTO_F_REPLY) ||
	     (m->hdr.flags & ~(PROTO_VERSION_MASK | PROTO_F_REPLY)))) {
		refbe_log(be, "reply flags 0x%x, not 0x5", m->hdr.flags);
		return REFBE_BAD_REPLY;
	}
	if (m->payload_len < 8 && refbe_fault(be, FAULT_BE_SHORT_REPLY_AS_SUCCESS))
		return value_of_what_came(m);
	if (m->hdr.size != 8 || m->payload_len != 8 ||
	    proto_u64_decode(m->payload, 8, &v) != PROTO_OK) {
		refbe_log(be, "reply of %u bytes, not 8", m->hdr.size);
		return REFBE_BAD_REPLY;
	}
	/* fds on a reply are a violation, but its value still says what
	 * the front-end did: believe it, close the fds (release does). */
	if (m->nfds && refbe_fault(be, FAULT_BE_KEEPS_REPLY_FDS))
		keep_fds(m);
	else if (m->nfds)
		refbe_log(be, "reply carried %u fds (closed)", m->nfds);
	return v ? REFBE_REFUSED : REFBE_DONE;
}

/* A receive that did not give a whole message, while a reply was due. */
static int failed_reply(struct refbe *be, struct chan_msg *m, int st)
{
	bool partial = m->hdr_valid || m->payload_len;

	if (st == CHAN_TIMEOUT && !partial)
		return -1; /* nothing yet: keep waiting */
	if (st == CHAN_TIMEOUT && !m->hdr_valid &&
	    refbe_fault(be, FAULT_BE_SPLIT_HEADER_LOST)) {
		/* The bug: one read for the header; what it got is not a
		 * reply, and the rest will be read as a new message. */
		refbe_log(be, "reply header of %zu bytes; bad reply", m->payload_len);
		return REFBE_BAD_REPLY;
	}
	if (st == CHAN_TIMEOUT && m->hdr_valid &&
	    refbe_fault(be, FAULT_BE_PARTIAL_REPLY_AS_SUCCESS)) {
		/* The bug: what one read gave is the reply; the bytes still
		 * to come will start the next message. */
		refbe_log(be, "reply of %zu of %u bytes taken", m->payload_len,
			  m->hdr.size);
		return value_of_what_came(m);
	}
	if ((st == CHAN_TIMEOUT || st == CHAN_TRUNC_PAYLOAD ||
	     st == CHAN_TRUNC_HEADER) && m->payload_len < 8 &&
	    refbe_fault(be, FAULT_BE_ABORT_SHORT_REPLY))
		abort();
	if (st == CHAN_TIMEOUT || st == CHAN_TOOBIG) {
		/* Part of a reply then nothing, or a size we cannot read:
		 * the stream cannot be trusted any more. */
		refbe_log(be, "reply unreadable (%s); closing the channel",
			  refbe_status_text(st));
		chan_close(&be->backend);
		return REFBE_BAD_REPLY;
	}
	if (st == CHAN_TOO_MANY_FDS)
		return REFBE_BAD_REPLY;
	return eof_outcome(be, refbe_status_text(st));
}

int refbe_service_backend(struct refbe *be, int64_t deadline)
{
	struct chan_msg m;
	int st, out;

	if (be->backend.fd < 0 || be->backend_deaf)
		return 1;
	st = refwait_recv(&be->backend, &m, be->cfg.cancel_fd, deadline);
	if (st == -ECANCELED)
		return 0;
	if (be->waiting) {
		out = st == CHAN_OK ? judge_reply(be, &m, be->inflight.map ?
						  PROTO_BE_SHMEM_MAP :
						  PROTO_BE_SHMEM_UNMAP)
				    : failed_reply(be, &m, st);
		chan_msg_release(&m);
		if (out >= 0)
			refbesend_finish_inflight(be, out);
	} else if (st == CHAN_OK || st == CHAN_TOO_MANY_FDS) {
		refbe_log(be, "back-end channel: %s %u (flags 0x%x) not awaited; "
			  "dropped", m.hdr.flags & PROTO_F_REPLY ? "reply" :
			  "request", m.hdr.request, m.hdr.flags);
		chan_msg_release(&m);
	} else if (st != CHAN_TIMEOUT || m.hdr_valid || m.payload_len) {
		refbe_log(be, "back-end channel closed: %s", refbe_status_text(st));
		chan_close(&be->backend);
	}
	return be->backend.fd < 0;
}

static int make_memfd(struct refbe *be, uint64_t size)
{
	char name[32];
	int fd;

	snprintf(name, sizeof(name), "vhu-refbe-%u", be->memfd_seq++);
	fd = memfd_create(name, MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)size) < 0) {
		int e = -errno;

		close(fd);
		return e;
	}
	return fd;
}

static bool want_reply(const struct refbe *be, const struct refbe_map_req *req)
{
	return req->need_reply < 0 ? refbe_pfeat(be, PROTO_PF_REPLY_ACK)
				   : req->need_reply != 0;
}

/* The VhostUserMMap of an op, faults applied. */
static void build_mmap(const struct refbe *be, const struct refbe_op *op,
		       struct proto_mmap *mm)
{
	memset(mm, 0, sizeof(*mm));
	mm->shmid = op->req.shmid;
	mm->shm_offset = op->req.shm_offset;
	mm->len = op->req.len;
	if (op->map) {
		mm->fd_offset = op->req.fd_offset;
		mm->flags = op->req.rw ? PROTO_MMAP_F_RW : 0;
	}
	if (refbe_fault(be, FAULT_BE_NONZERO_PADDING))
		memset(mm->padding, BAD_PADDING_BYTE, sizeof(mm->padding));
	if (refbe_fault(be, FAULT_BE_UNKNOWN_FLAGS))
		mm->flags |= BAD_FLAG_BIT;
}

/* The fd an op carries: a new memfd for MAP (kept by the ledger), the
 * mapping's own fd on UNMAP only under be_fd_on_unmap. -1 for none. */
static int op_fd(struct refbe *be, const struct refbe_op *op, int *err)
{
	int i = refbe_ledger_by_seq(be, op->seq), fd;

	*err = 0;
	if (i < 0)
		return -1;
	if (!op->map)
		return refbe_fault(be, FAULT_BE_FD_ON_UNMAP) ? be->maps[i].fd : -1;
	fd = make_memfd(be, op->req.fd_size ? op->req.fd_size
					    : op->req.fd_offset + op->req.len);
	if (fd < 0) {
		*err = fd;
		return -1;
	}
	be->maps[i].fd = fd;
	return refbe_fault(be, FAULT_BE_NO_FD_ON_MAP) ? -1 : fd;
}

/* Sends one op. Returns 1 when its reply is now awaited, 0 when it is
 * complete. */
static int send_op(struct refbe *be, const struct refbe_op *op)
{
	struct proto_hdr h = { op->map ? PROTO_BE_SHMEM_MAP : PROTO_BE_SHMEM_UNMAP,
			       PROTO_VERSION, PROTO_MMAP_SIZE };
	bool need = want_reply(be, &op->req);
	uint8_t buf[PROTO_MMAP_SIZE];
	struct proto_mmap mm;
	int fd, err, st;

	fd = op_fd(be, op, &err);
	if (err < 0) {
		refbe_log(be, "memfd: %s", strerror(-err));
		complete(be, op, REFBE_SEND_FAILED);
		return 0;
	}
	build_mmap(be, op, &mm);
	proto_mmap_encode(&mm, buf, sizeof(buf));
	if (need)
		h.flags |= PROTO_F_NEED_REPLY;
	st = refwait_send(&be->backend, &h, buf, sizeof(buf), &fd, fd >= 0,
			  be->cfg.cancel_fd,
			  chan_deadline(be->cfg.reply_timeout_ms));
	if (st != CHAN_OK) {
		refbe_log(be, "back-end channel: send failed: %s", refbe_status_text(st));
		chan_close(&be->backend);
		complete(be, op, REFBE_SEND_FAILED);
		return 0;
	}
	if (!need || refbe_fault(be, FAULT_BE_NO_WAIT_FOR_REPLY)) {
		complete_as(be, op, REFBE_DONE, !need);
		return 0;
	}
	return 1;
}

static void pump(struct refbe *be)
{
	while (!be->waiting && be->nqueue) {
		struct refbe_op op = be->queue[0];

		memmove(&be->queue[0], &be->queue[1],
			--be->nqueue * sizeof(op));
		if (be->backend.fd < 0) {
			complete(be, &op, REFBE_SEND_FAILED);
			continue;
		}
		if (send_op(be, &op)) {
			be->waiting = true;
			be->inflight = op;
			be->reply_deadline = chan_deadline(be->cfg.reply_timeout_ms);
		}
	}
}

int refbe_submit(struct refbe *be, const struct refbe_map_req *req, bool map)
{
	struct refbe_op op = { .map = map, .req = *req };
	int i;

	if (be->nqueue == REFBE_MAX_QUEUE)
		return -ENOSPC;
	if (map) {
		if (be->nmaps == REFBE_MAX_MAPPINGS)
			return -ENOSPC;
		op.seq = be->next_seq++;
		be->maps[be->nmaps++] = (struct refbe_mapping){
			op.seq, REFBE_MAP_PENDING, req->shmid, req->rw,
			req->shm_offset, req->len, req->fd_offset, -1 };
	} else {
		i = refbe_ledger_find_live(be, req);
		if (i < 0)
			return -ENOENT;
		op.seq = be->maps[i].seq;
		be->maps[i].state = REFBE_MAP_UNMAPPING;
	}
	be->queue[be->nqueue++] = op;
	pump(be);
	return 0;
}

int refbe_partial_patience(const struct refbe *be, int limit_ms)
{
	return refbe_fault(be, FAULT_BE_SPLIT_HEADER_LOST) ||
			       refbe_fault(be, FAULT_BE_PARTIAL_REPLY_AS_SUCCESS)
		       ? 0 : limit_ms;
}

bool refbe_waiting(const struct refbe *be, int64_t *deadline)
{
	if (be->waiting && deadline)
		*deadline = be->reply_deadline;
	return be->waiting;
}

void refbe_check_timeout(struct refbe *be)
{
	if (!be->waiting || chan_now_ms() < be->reply_deadline)
		return;
	refbe_log(be, "no reply in %d ms", be->cfg.reply_timeout_ms);
	refbesend_finish_inflight(be, refbe_fault(be, FAULT_BE_NO_REPLY_AS_SUCCESS)
				    ? REFBE_DONE : REFBE_NO_REPLY);
}

int refbe_wait_idle(struct refbe *be, int64_t deadline)
{
	while (be->waiting) {
		int64_t due = be->reply_deadline < deadline ? be->reply_deadline
							    : deadline;
		struct pollfd p = { .fd = be->backend_deaf ? -1
							   : be->backend.fd,
				    .events = POLLIN };
		int r = refwait_poll(&p, 1, be->cfg.cancel_fd, due);

		if (r == -ECANCELED)
			return r;
		if (r > 0)
			refbe_service_backend(be, due);
		refbe_check_timeout(be);
		if (be->waiting && chan_now_ms() >= deadline)
			return -ETIMEDOUT;
	}
	return be->last_outcome;
}

int refbe_send_map(struct refbe *be, const struct refbe_map_req *req)
{
	int r = refbe_submit(be, req, true);

	return r < 0 ? r : refbe_wait_idle(be, chan_deadline(
							     be->cfg.reply_timeout_ms + 1000));
}

int refbe_send_unmap(struct refbe *be, const struct refbe_map_req *req)
{
	int r = refbe_submit(be, req, false);

	return r < 0 ? r : refbe_wait_idle(be, chan_deadline(
							     be->cfg.reply_timeout_ms + 1000));
}
