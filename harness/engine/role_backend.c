/* SPDX-License-Identifier: MIT */
/* role_backend: the harness as back-end (role_backend.h). */
#include <string.h>

#include "role_backend.h"

void rbe_init(struct role_be *b)
{
	memset(b, 0, sizeof(*b));
}

static uint64_t u64_of(const uint8_t *p, size_t len)
{
	uint64_t v = 0;

	if (p)
		proto_u64_decode(p, len, &v);
	return v;
}

void rbe_apply(struct role_be *b, const struct proto_hdr *h, const uint8_t *p,
	       size_t len)
{
	uint64_t v = u64_of(p, len);

	switch (h->request) {
	case PROTO_SET_PROTOCOL_FEATURES:
		b->negotiated = v;
		b->pf_set = true;
		break;
	case PROTO_SET_STATUS:
		b->status = v;
		if (v & PROTO_STATUS_DRIVER_OK)
			b->driver_ok = true;
		break;
	case PROTO_RESET_DEVICE:
	case PROTO_RESET_OWNER:
		b->status = 0;
		break;
	case PROTO_SET_MEM_TABLE:
		b->memtable_msgs++;
		if (len >= 4 && p) {
			uint32_t n;

			memcpy(&n, p, 4);
			b->memtable_regions = n;
		}
		break;
	case PROTO_ADD_MEM_REG:
		b->memtable_msgs++;
		b->memtable_regions++;
		break;
	case PROTO_REM_MEM_REG:
		b->memtable_msgs++;
		b->memtable_regions--;
		break;
	default:
		break;
	}
}

bool rbe_needs_answer(const struct proto_hdr *h)
{
	if (h->flags & PROTO_F_REPLY)
		return false;
	return proto_has_reply_body(PROTO_CHAN_MAIN, h->request) ||
	       (h->flags & PROTO_F_NEED_REPLY);
}

/* The body of the answer to request h. */
static size_t answer_body(const struct role_be *b, const struct proto_hdr *h,
			  const uint8_t *p, size_t len, uint8_t *out, size_t cap)
{
	uint64_t v = 0;
	int n;

	switch (h->request) {
	case PROTO_GET_FEATURES: v = b->offer.features; break;
	case PROTO_GET_PROTOCOL_FEATURES: v = b->offer.pfeatures; break;
	case PROTO_GET_MAX_MEM_SLOTS: v = b->offer.max_mem_slots; break;
	case PROTO_GET_QUEUE_NUM: v = 1; break;
	case PROTO_GET_STATUS: v = b->status; break;
	case PROTO_GET_SHMEM_CONFIG:
		n = proto_shmem_config_encode(&b->offer.cfg, out, cap);
		return n > 0 ? (size_t)n : 0;
	case PROTO_GET_VRING_BASE: {
		struct proto_vring_state vs = { 0, 0 };

		if (len >= 4 && p)
			memcpy(&vs.index, p, 4);
		n = proto_vring_state_encode(&vs, out, cap);
		return n > 0 ? (size_t)n : 0;
	}
	case PROTO_GET_CONFIG:
		/* The device config is all zeroes, in the layout asked for. */
		if (len <= cap && p) {
			memcpy(out, p, len);
			if (len > PROTO_CONFIG_HDR_SIZE)
				memset(out + PROTO_CONFIG_HDR_SIZE, 0,
				       len - PROTO_CONFIG_HDR_SIZE);
			return len;
		}
		break;
	default:
		break; /* a REPLY_ACK answer: success */
	}
	n = proto_u64_encode(v, out, cap);
	return n > 0 ? (size_t)n : 0;
}

size_t rbe_answer(const struct role_be *b, const struct proto_hdr *h,
		  const uint8_t *p, size_t len, struct proto_hdr *out_h,
		  uint8_t *out, size_t cap)
{
	size_t n = answer_body(b, h, p, len, out, cap);

	out_h->request = h->request;
	out_h->flags = PROTO_VERSION | PROTO_F_REPLY;
	if (h->request == PROTO_GET_SHMEM_CONFIG) {
		out_h->request = b->offer.cfg_request;
		out_h->flags = b->offer.cfg_flags;
		if (b->offer.cfg_size < n)
			n = b->offer.cfg_size;
	}
	out_h->size = (uint32_t)n;
	return n;
}

bool rbe_held(const struct role_be *b, uint32_t request)
{
	for (unsigned i = 0; i < b->nhold; i++)
		if (request == b->hold_req[i])
			return true;
	return false;
}

bool rbe_must_wait(const struct role_be *b, uint32_t request)
{
	return (b->blocked && b->single_thread) || rbe_held(b, request);
}

bool rbe_enqueue(struct role_be *b, unsigned idx, uint32_t request)
{
	if (b->nqueue >= RBE_MAX_QUEUE)
		return false;
	b->queue[b->nqueue] = idx;
	b->queue_req[b->nqueue++] = request;
	return true;
}

unsigned rbe_take_ready(struct role_be *b, unsigned *out)
{
	unsigned n = 0, kept = 0;

	for (unsigned i = 0; i < b->nqueue; i++) {
		if (rbe_must_wait(b, b->queue_req[i])) {
			b->queue[kept] = b->queue[i];
			b->queue_req[kept++] = b->queue_req[i];
		} else {
			out[n++] = b->queue[i];
		}
	}
	b->nqueue = kept;
	return n;
}

void rbe_block(struct role_be *b)
{
	b->blocked = true;
}

void rbe_unblock(struct role_be *b)
{
	b->blocked = false;
}

void rbe_hold(struct role_be *b, const uint32_t *req, unsigned n)
{
	if (n > SCRIPT_ORDER_MAX_NAMES)
		n = SCRIPT_ORDER_MAX_NAMES;
	memcpy(b->hold_req, req, n * sizeof(req[0]));
	b->nhold = n;
}

void rbe_release(struct role_be *b)
{
	b->nhold = 0;
}
