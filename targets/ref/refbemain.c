/* SPDX-License-Identifier: MIT */
/*
 * refbemain: the reference back-end's main channel: each front-end
 * request handled and answered (digest 3-4, 8-9). See refbemain.h.
 */
#include "refbemain.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "refbesend.h"
#include "refsys.h"
#include "refwait.h"

#define VHOST_F_VERSION_1 32
#define VRING_INDEX_MASK 0xffu
#define VRING_NOFD_MASK (UINT64_C(1) << 8)
/* be_config_not_page_multiple adds this to every size. */
#define BAD_SIZE_DELTA 0x200u
enum { VRING_KICK_FD = 0, VRING_CALL_FD = 1, VRING_ERR_FD = 2 };
/* ------------------------------------------------------------------ */
/* main channel */

struct req_ctx {
	struct refbe *be;
	const struct chan_msg *m;
	bool replied;
	int send_err;
};

static void reply_body(struct req_ctx *x, const void *payload, size_t len)
{
	struct proto_hdr h = { x->m->hdr.request, PROTO_VERSION | PROTO_F_REPLY,
			       (uint32_t)len };
	int st = refwait_send(&x->be->main, &h, payload, len, NULL, 0,
			      x->be->cfg.cancel_fd,
			      chan_deadline(x->be->cfg.reply_timeout_ms));

	x->replied = true;
	if (st != CHAN_OK) {
		refbe_log(x->be, "main channel: reply not sent: %s",
			  refbe_status_text(st));
		x->send_err = st < 0 ? st : -EPIPE;
	}
}

static void reply_u64(struct req_ctx *x, uint64_t v)
{
	uint8_t buf[8];

	proto_u64_encode(v, buf, sizeof(buf));
	reply_body(x, buf, sizeof(buf));
}

static int expect_size(const struct req_ctx *x, size_t n)
{
	if (x->m->payload_len == n && x->m->hdr.size == n)
		return 0;
	refbe_log(x->be, "request %u: payload of %zu bytes, not %zu",
		  x->m->hdr.request, x->m->payload_len, n);
	return EINVAL;
}

static int get_u64(const struct req_ctx *x, uint64_t *v)
{
	int e = expect_size(x, 8);

	if (!e && proto_u64_decode(x->m->payload, 8, v) != PROTO_OK)
		e = EINVAL;
	return e;
}

static int h_set_features(struct req_ctx *x)
{
	uint64_t v;
	int e = get_u64(x, &v);

	if (!e)
		x->be->features = v;
	return e;
}

static int h_set_protocol_features(struct req_ctx *x)
{
	uint64_t v;
	int e = get_u64(x, &v);

	if (e)
		return e;
	if (v & ~x->be->cfg.pfeat_offer)
		refbe_log(x->be, "SET_PROTOCOL_FEATURES 0x%llx: bits not offered "
			  "ignored", (unsigned long long)v);
	x->be->pfeatures = v & x->be->cfg.pfeat_offer;
	return 0;
}

static int h_set_mem_table(struct req_ctx *x)
{
	struct proto_mem_table t;
	struct refbe *be = x->be;
	int e = 0;

	if (proto_mem_table_decode(x->m->payload, x->m->payload_len, &t) !=
		    PROTO_OK || t.nregions != x->m->nfds) {
		refbe_log(be, "SET_MEM_TABLE: bad table (%zu bytes, %u fds)",
			  x->m->payload_len, x->m->nfds);
		return EINVAL;
	}
	refbe_mem_clear(be);
	for (unsigned i = 0; i < t.nregions && !e; i++)
		e = refbe_mem_add(be, &t.regions[i], x->m->fds[i]);
	if (e) {
		refbe_log(be, "SET_MEM_TABLE: %s", strerror(e));
		refbe_mem_clear(be);
	}
	return e;
}

static int h_add_mem_reg(struct req_ctx *x)
{
	struct proto_mem_reg_msg r;

	if (x->m->nfds != 1 ||
	    proto_mem_reg_decode(x->m->payload, x->m->payload_len, &r) !=
		    PROTO_OK)
		return EINVAL;
	if (x->be->nmem >= REFBE_MAX_MEM_SLOTS)
		return ENOSPC;
	return refbe_mem_add(x->be, &r.region, x->m->fds[0]);
}

static int h_rem_mem_reg(struct req_ctx *x)
{
	struct proto_mem_reg_msg r;
	struct refbe *be = x->be;

	if (proto_mem_reg_decode(x->m->payload, x->m->payload_len, &r) !=
	    PROTO_OK)
		return EINVAL;
	for (unsigned i = 0; i < be->nmem; i++) {
		if (be->mem[i].r.guest_phys_addr == r.region.guest_phys_addr &&
		    be->mem[i].r.memory_size == r.region.memory_size) {
			refbe_mem_remove(be, i);
			return 0;
		}
	}
	return ENOENT;
}

static int h_vring_state(struct req_ctx *x, struct proto_vring_state *dst)
{
	struct proto_vring_state s;
	int e = expect_size(x, PROTO_VRING_STATE_SIZE);

	if (!e && proto_vring_state_decode(x->m->payload, x->m->payload_len,
					   &s) != PROTO_OK)
		e = EINVAL;
	if (!e && s.index != 0)
		e = EINVAL;
	if (!e && dst)
		*dst = s;
	return e;
}

static int h_vring_addr(struct req_ctx *x)
{
	struct proto_vring_addr a;

	if (proto_vring_addr_decode(x->m->payload, x->m->payload_len, &a) !=
		    PROTO_OK || a.index != 0)
		return EINVAL;
	x->be->vring_addr = a;
	return 0;
}

static int h_vring_fd(struct req_ctx *x, unsigned which)
{
	uint64_t v;
	int e = get_u64(x, &v), d;

	if (e)
		return e;
	if ((v & VRING_INDEX_MASK) != 0)
		return EINVAL;
	refsys_close_fd(&x->be->vring_fds[which]);
	if (v & VRING_NOFD_MASK)
		return x->m->nfds ? EINVAL : 0;
	if (x->m->nfds != 1)
		return EINVAL;
	d = refsys_dup_cloexec(x->m->fds[0]);
	if (d < 0)
		return -d;
	x->be->vring_fds[which] = d;
	return 0;
}

static void h_get_vring_base(struct req_ctx *x)
{
	struct proto_vring_state s = { 0, x->be->vring_base.num };
	uint8_t buf[PROTO_VRING_STATE_SIZE];

	x->be->vring_enabled = false;
	proto_vring_state_encode(&s, buf, sizeof(buf));
	reply_body(x, buf, sizeof(buf));
}

/* A new back-end channel while a reply is due (the main channel is
 * served meanwhile): the reply cannot come on the new one, so the call
 * ends as on EOF and what is queued goes out on the new channel. */
static int h_set_backend_req_fd(struct req_ctx *x)
{
	struct refbe *be = x->be;
	int d;

	if (!refbe_pfeat(be, PROTO_PF_BACKEND_REQ) || x->m->nfds != 1) {
		refbe_log(be, "SET_BACKEND_REQ_FD refused (%u fds, BACKEND_REQ %s)",
			  x->m->nfds, refbe_pfeat(be, PROTO_PF_BACKEND_REQ) ? "on" : "off");
		return EINVAL;
	}
	d = refsys_dup_cloexec(x->m->fds[0]);
	if (d < 0)
		return -d;
	if (be->backend.fd >= 0)
		chan_close(&be->backend);
	be->backend.fd = d;
	if (be->waiting)
		refbesend_finish_inflight(be, REFBE_EOF);
	return 0;
}

static int h_set_status(struct req_ctx *x)
{
	uint64_t v;
	int e = get_u64(x, &v);

	if (e)
		return e;
	if (v == 0)
		refbe_reset(x->be);
	x->be->status = (uint8_t)v;
	return 0;
}

void refbe_shmem_config(struct refbe *be, struct proto_shmem_config *out)
{
	memset(out, 0, sizeof(*out));
	for (unsigned i = 0; i < PROTO_SHMEM_MAX_REGIONS; i++) {
		uint64_t s = be->cfg.sizes[i];

		if (!s)
			continue;
		if (refbe_fault(be, FAULT_BE_CONFIG_NOT_PAGE_MULTIPLE))
			s += BAD_SIZE_DELTA;
		if (refbe_fault(be, FAULT_BE_CONFIG_UNSTABLE))
			s += refsys_page_size() * be->config_calls;
		out->memory_sizes[i] = s;
		out->nregions++;
	}
	be->config_calls++;
	be->advertised = *out;
}

static void h_get_shmem_config(struct req_ctx *x)
{
	struct proto_shmem_config c;
	uint8_t buf[PROTO_SHMEM_CONFIG_SIZE];

	if (refbe_shmem_negotiated(x->be)) {
		refbe_shmem_config(x->be, &c);
	} else {
		/* The reply is mandatory; without SHMEM there is nothing to
		 * share. */
		refbe_log(x->be, "GET_SHMEM_CONFIG without SHMEM: no regions");
		memset(&c, 0, sizeof(c));
	}
	proto_shmem_config_encode(&c, buf, sizeof(buf));
	reply_body(x, buf, sizeof(buf));
}

/* Requests with a reply body; true when m was one of them. */
static bool handle_get(struct req_ctx *x)
{
	struct refbe *be = x->be;

	switch (x->m->hdr.request) {
	case PROTO_GET_FEATURES:
		reply_u64(x, (UINT64_C(1) << PROTO_F_PROTOCOL_FEATURES) |
			     (UINT64_C(1) << VHOST_F_VERSION_1));
		return true;
	case PROTO_GET_PROTOCOL_FEATURES:
		reply_u64(x, be->cfg.pfeat_offer);
		return true;
	case PROTO_GET_QUEUE_NUM:
		reply_u64(x, 1);
		return true;
	case PROTO_GET_MAX_MEM_SLOTS:
		reply_u64(x, REFBE_MAX_MEM_SLOTS);
		return true;
	case PROTO_GET_STATUS:
		reply_u64(x, be->status);
		return true;
	case PROTO_GET_VRING_BASE:
		h_get_vring_base(x);
		return true;
	case PROTO_GET_SHMEM_CONFIG:
		h_get_shmem_config(x);
		return true;
	default:
		return false;
	}
}

/* Requests answered (if at all) per REPLY_ACK: returns their status. */
static int handle_set(struct req_ctx *x)
{
	struct refbe *be = x->be;

	switch (x->m->hdr.request) {
	case PROTO_SET_FEATURES: return h_set_features(x);
	case PROTO_SET_PROTOCOL_FEATURES: return h_set_protocol_features(x);
	case PROTO_SET_OWNER: be->owner = true; return 0;
	case PROTO_RESET_OWNER:
		refbe_reset(be);
		be->owner = false;
		return 0;
	case PROTO_RESET_DEVICE: refbe_reset(be); return 0;
	case PROTO_SET_MEM_TABLE: return h_set_mem_table(x);
	case PROTO_ADD_MEM_REG: return h_add_mem_reg(x);
	case PROTO_REM_MEM_REG: return h_rem_mem_reg(x);
	case PROTO_SET_VRING_NUM: return h_vring_state(x, &be->vring_num);
	case PROTO_SET_VRING_BASE: return h_vring_state(x, &be->vring_base);
	case PROTO_SET_VRING_ENABLE: {
		struct proto_vring_state s;
		int e = h_vring_state(x, &s);

		if (!e)
			be->vring_enabled = s.num != 0;
		return e;
	}
	case PROTO_SET_VRING_ADDR: return h_vring_addr(x);
	case PROTO_SET_VRING_KICK: return h_vring_fd(x, VRING_KICK_FD);
	case PROTO_SET_VRING_CALL: return h_vring_fd(x, VRING_CALL_FD);
	case PROTO_SET_VRING_ERR: return h_vring_fd(x, VRING_ERR_FD);
	case PROTO_SET_BACKEND_REQ_FD: return h_set_backend_req_fd(x);
	case PROTO_SET_STATUS: return h_set_status(x);
	default:
		refbe_log(be, "main channel: request %u not supported",
			  x->m->hdr.request);
		return EOPNOTSUPP;
	}
}

int refbe_handle_main_msg(struct refbe *be, const struct chan_msg *m)
{
	struct req_ctx x = { be, m, false, 0 };
	const struct proto_hdr *h = &m->hdr;
	int status;

	if (h->flags & PROTO_F_REPLY) {
		refbe_log(be, "main channel: unsolicited reply %u dropped",
			  h->request);
		return 0;
	}
	if ((h->flags & PROTO_VERSION_MASK) != PROTO_VERSION) {
		refbe_log(be, "main channel: bad version in flags 0x%x", h->flags);
		status = EPROTO;
	} else if (handle_get(&x)) {
		status = 0;
	} else {
		status = handle_set(&x);
	}
	if (!x.replied && refbe_pfeat(be, PROTO_PF_REPLY_ACK) &&
	    (h->flags & PROTO_F_NEED_REPLY))
		reply_u64(&x, (uint64_t)status);
	if (x.send_err && be->main.fd >= 0)
		chan_close(&be->main);
	return x.send_err;
}

int refbe_service_main(struct refbe *be, int64_t deadline)
{
	struct chan_msg m;
	int st, r = 0;

	if (be->main.fd < 0)
		return 1;
	st = refwait_recv(&be->main, &m, be->cfg.cancel_fd, deadline);
	if (st == -ECANCELED)
		return 0;
	if (st == CHAN_OK || st == CHAN_TOO_MANY_FDS)
		r = refbe_handle_main_msg(be, &m);
	chan_msg_release(&m);
	if (st == CHAN_TIMEOUT && !m.hdr_valid && !m.payload_len)
		return -ETIMEDOUT;
	if (st != CHAN_OK && st != CHAN_TOO_MANY_FDS) {
		/* EOF, or a message cut short: framing is lost either way. */
		refbe_log(be, "main channel closed: %s", refbe_status_text(st));
		refbe_disconnect(be);
		return 1;
	}
	return r < 0 || be->main.fd < 0;
}
