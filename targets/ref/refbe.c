/* SPDX-License-Identifier: MIT */
#include "refbe.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "refsys.h"
#include "refwait.h"
#include "protofmt.h"

#define VHOST_F_VERSION_1 32
#define VRING_INDEX_MASK 0xffu
#define VRING_NOFD_MASK (UINT64_C(1) << 8)
/* be_nonzero_padding and be_unknown_flags write these. */
#define BAD_PADDING_BYTE 0xa5u
#define BAD_FLAG_BIT (UINT64_C(1) << 2)
/* be_config_not_page_multiple adds this to every size. */
#define BAD_SIZE_DELTA 0x200u

enum { VRING_KICK_FD = 0, VRING_CALL_FD = 1, VRING_ERR_FD = 2 };

/* ------------------------------------------------------------------ */
/* small helpers */

__attribute__((format(printf, 2, 3)))
static void be_log(const struct refbe *be, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	refsys_vlog(be->cfg.log, be->cfg.log_opaque, fmt, ap);
	va_end(ap);
}

static bool fault(const struct refbe *be, enum fault_id f)
{
	return fault_on(&be->cfg.faults, f);
}

static bool pfeat(const struct refbe *be, unsigned bit)
{
	return bit < 64 && ((be->pfeatures >> bit) & 1);
}

static const char *status_text(int st)
{
	return st > 0 ? chan_status_name((enum chan_status)st) : strerror(-st);
}

void refbe_config_default(struct refbe_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->shmem_bit = PROTO_SHMEM_BIT_DEFAULT;
	cfg->pfeat_offer = refbe_supported_pfeatures(cfg->shmem_bit);
	cfg->sizes[0] = UINT64_C(1) << 20;
	cfg->reply_timeout_ms = 1000;
	cfg->cancel_fd = -1;
	fault_set_clear(&cfg->faults);
}

uint64_t refbe_supported_pfeatures(unsigned shmem_bit)
{
	uint64_t f = (UINT64_C(1) << PROTO_PF_REPLY_ACK) |
		     (UINT64_C(1) << PROTO_PF_BACKEND_REQ) |
		     (UINT64_C(1) << PROTO_PF_BACKEND_SEND_FD) |
		     (UINT64_C(1) << PROTO_PF_CONFIGURE_MEM_SLOTS) |
		     (UINT64_C(1) << PROTO_PF_STATUS) |
		     (UINT64_C(1) << PROTO_PF_RESET_DEVICE);

	if (shmem_bit < 64)
		f |= UINT64_C(1) << shmem_bit;
	return f;
}

int refbe_parse_regions(struct refbe_config *cfg, const char *list)
{
	uint64_t sizes[PROTO_SHMEM_MAX_REGIONS];
	unsigned n;

	if (ctl_parse_u64_list(list, sizes, PROTO_SHMEM_MAX_REGIONS, &n) < 0)
		return -EINVAL;
	memset(cfg->sizes, 0, sizeof(cfg->sizes));
	memcpy(cfg->sizes, sizes, n * sizeof(sizes[0]));
	return 0;
}

void refbe_init(struct refbe *be, const struct refbe_config *cfg)
{
	memset(be, 0, sizeof(*be));
	be->cfg = *cfg;
	chan_init(&be->main, -1, "main", PROTO_CHAN_MAIN);
	chan_init(&be->backend, -1, "backend", PROTO_CHAN_BACKEND);
	be->main.trace = be->backend.trace = cfg->trace;
	be->main.trace_opaque = be->backend.trace_opaque = cfg->trace_opaque;
	for (unsigned i = 0; i < 3; i++)
		be->vring_fds[i] = -1;
}

void refbe_attach_main(struct refbe *be, int fd)
{
	if (be->main.fd >= 0)
		chan_close(&be->main);
	be->main.fd = fd;
}

bool refbe_shmem_negotiated(const struct refbe *be)
{
	return pfeat(be, be->cfg.shmem_bit);
}

bool refbe_started(const struct refbe *be)
{
	return be->status & PROTO_STATUS_DRIVER_OK;
}

/* ------------------------------------------------------------------ */
/* ledger and memory table */

static void ledger_remove(struct refbe *be, unsigned i)
{
	refsys_close_fd(&be->maps[i].fd);
	be->maps[i] = be->maps[--be->nmaps];
}

void refbe_reset(struct refbe *be)
{
	while (be->nmaps)
		ledger_remove(be, be->nmaps - 1);
	be->status = 0;
	be->vring_enabled = false;
}

static void mem_remove(struct refbe *be, unsigned i)
{
	munmap(be->mem[i].addr, be->mem[i].map_len);
	be->mem[i] = be->mem[--be->nmem];
}

static void mem_clear(struct refbe *be)
{
	while (be->nmem)
		mem_remove(be, be->nmem - 1);
}

void refbe_disconnect(struct refbe *be)
{
	if (be->main.fd >= 0)
		chan_close(&be->main);
	if (be->backend.fd >= 0)
		chan_close(&be->backend);
	refbe_reset(be);
	be->nqueue = 0;
	be->waiting = false;
	be->backend_deaf = false;
	mem_clear(be);
	for (unsigned i = 0; i < 3; i++)
		refsys_close_fd(&be->vring_fds[i]);
	be->features = be->pfeatures = 0;
	be->owner = false;
	be->config_calls = 0;
}

void refbe_free(struct refbe *be)
{
	refbe_disconnect(be);
}

/* Maps one memory-table region: the fd from 0 to mmap_offset+size, as
 * libvhost-user does; read-only when the fd allows nothing else. */
static int mem_add(struct refbe *be, const struct proto_mem_region *g, int fd)
{
	struct refbe_memreg *m;
	size_t len;
	void *p;

	if (be->nmem == REFBE_MAX_MEM)
		return ENOSPC;
	if (g->memory_size == 0 || g->mmap_offset + g->memory_size <
				   g->mmap_offset ||
	    g->mmap_offset + g->memory_size > SIZE_MAX)
		return EINVAL;
	len = (size_t)(g->mmap_offset + g->memory_size);
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED && (errno == EACCES || errno == EPERM))
		p = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return errno;
	m = &be->mem[be->nmem++];
	m->r = *g;
	m->addr = p;
	m->map_len = len;
	return 0;
}

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
		be_log(x->be, "main channel: reply not sent: %s",
		       status_text(st));
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
	be_log(x->be, "request %u: payload of %zu bytes, not %zu",
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
		be_log(x->be, "SET_PROTOCOL_FEATURES 0x%llx: bits not offered "
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
		be_log(be, "SET_MEM_TABLE: bad table (%zu bytes, %u fds)",
		       x->m->payload_len, x->m->nfds);
		return EINVAL;
	}
	mem_clear(be);
	for (unsigned i = 0; i < t.nregions && !e; i++)
		e = mem_add(be, &t.regions[i], x->m->fds[i]);
	if (e) {
		be_log(be, "SET_MEM_TABLE: %s", strerror(e));
		mem_clear(be);
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
	return mem_add(x->be, &r.region, x->m->fds[0]);
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
			mem_remove(be, i);
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

static void finish_inflight(struct refbe *be, int outcome);

/* A new back-end channel while a reply is due (the main channel is
 * served meanwhile): the reply cannot come on the new one, so the call
 * ends as on EOF and what is queued goes out on the new channel. */
static int h_set_backend_req_fd(struct req_ctx *x)
{
	struct refbe *be = x->be;
	int d;

	if (!pfeat(be, PROTO_PF_BACKEND_REQ) || x->m->nfds != 1) {
		be_log(be, "SET_BACKEND_REQ_FD refused (%u fds, BACKEND_REQ %s)",
		       x->m->nfds, pfeat(be, PROTO_PF_BACKEND_REQ) ? "on" : "off");
		return EINVAL;
	}
	d = refsys_dup_cloexec(x->m->fds[0]);
	if (d < 0)
		return -d;
	if (be->backend.fd >= 0)
		chan_close(&be->backend);
	be->backend.fd = d;
	if (be->waiting)
		finish_inflight(be, REFBE_EOF);
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
		if (fault(be, FAULT_BE_CONFIG_NOT_PAGE_MULTIPLE))
			s += BAD_SIZE_DELTA;
		if (fault(be, FAULT_BE_CONFIG_UNSTABLE))
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
		be_log(x->be, "GET_SHMEM_CONFIG without SHMEM: no regions");
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
		be_log(be, "main channel: request %u not supported",
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
		be_log(be, "main channel: unsolicited reply %u dropped",
		       h->request);
		return 0;
	}
	if ((h->flags & PROTO_VERSION_MASK) != PROTO_VERSION) {
		be_log(be, "main channel: bad version in flags 0x%x", h->flags);
		status = EPROTO;
	} else if (handle_get(&x)) {
		status = 0;
	} else {
		status = handle_set(&x);
	}
	if (!x.replied && pfeat(be, PROTO_PF_REPLY_ACK) &&
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
		be_log(be, "main channel closed: %s", status_text(st));
		refbe_disconnect(be);
		return 1;
	}
	return r < 0 || be->main.fd < 0;
}

/* ------------------------------------------------------------------ */
/* MAP and UNMAP: parsing and the checks made before anything is sent */

static int parse_flags(const struct ctl_cmd *cmd, bool *rw, char *err,
		       size_t errcap)
{
	const struct ctl_arg *a = ctl_find(cmd, "flags");
	uint64_t v;

	if (!a) {
		*rw = false;
		return 0;
	}
	if (strcmp(a->val, "rw") == 0 || strcmp(a->val, "ro") == 0) {
		*rw = a->val[1] == 'w';
		return 0;
	}
	if (ctl_parse_u64(a->val, &v) < 0 || (v & ~(uint64_t)PROTO_MMAP_F_KNOWN)) {
		snprintf(err, errcap, "%s: flags must be rw, ro, 0 or 1",
			 cmd->name);
		return -EINVAL;
	}
	*rw = v & PROTO_MMAP_F_RW;
	return 0;
}

static int parse_common(const struct ctl_cmd *cmd, struct refbe_map_req *req,
			char *err, size_t errcap)
{
	uint64_t shmid;
	bool need;

	memset(req, 0, sizeof(*req));
	if (!ctl_find(cmd, "len")) {
		snprintf(err, errcap, "%s: len= is required", cmd->name);
		return -EINVAL;
	}
	if (ctl_arg_u64(cmd, "shmid", 0, &shmid, err, errcap) < 0 ||
	    ctl_arg_u64(cmd, "shm_offset", 0, &req->shm_offset, err,
			errcap) < 0 ||
	    ctl_arg_u64(cmd, "len", 0, &req->len, err, errcap) < 0 ||
	    ctl_arg_bool(cmd, "need_reply", false, &need, err, errcap) < 0)
		return -EINVAL;
	if (shmid >= PROTO_SHMEM_MAX_REGIONS) {
		snprintf(err, errcap, "%s: shmid %llu > 255", cmd->name,
			 (unsigned long long)shmid);
		return -EINVAL;
	}
	req->shmid = (uint8_t)shmid;
	req->need_reply = ctl_find(cmd, "need_reply") ? need : -1;
	return 0;
}

int refbe_parse_map_cmd(const struct ctl_cmd *cmd, struct refbe_map_req *req,
			char *err, size_t errcap)
{
	static const char *const keys[] = { "shmid", "shm_offset", "len",
		"fd_offset", "flags", "need_reply", "fd_size", NULL };

	if (ctl_check_keys(cmd, keys, err, errcap) < 0 ||
	    parse_common(cmd, req, err, errcap) < 0 ||
	    parse_flags(cmd, &req->rw, err, errcap) < 0 ||
	    ctl_arg_u64(cmd, "fd_offset", 0, &req->fd_offset, err, errcap) < 0 ||
	    ctl_arg_u64(cmd, "fd_size", 0, &req->fd_size, err, errcap) < 0)
		return -EINVAL;
	return 0;
}

int refbe_parse_unmap_cmd(const struct ctl_cmd *cmd,
			  struct refbe_map_req *req, char *err, size_t errcap)
{
	static const char *const keys[] = { "shmid", "shm_offset", "len",
		"need_reply", NULL };

	if (ctl_check_keys(cmd, keys, err, errcap) < 0 ||
	    parse_common(cmd, req, err, errcap) < 0)
		return -EINVAL;
	return 0;
}

static int check_channel(const struct refbe *be, char *err, size_t errcap)
{
	if (be->backend.fd < 0) {
		snprintf(err, errcap, "no back-end channel");
		return -ENOTCONN;
	}
	if (!refbe_shmem_negotiated(be) &&
	    !fault(be, FAULT_BE_MAP_WITHOUT_SHMEM)) {
		snprintf(err, errcap, "SHMEM not negotiated");
		return -EPERM;
	}
	if (be->nqueue == REFBE_MAX_QUEUE) {
		snprintf(err, errcap, "too many requests queued");
		return -ENOSPC;
	}
	return 0;
}

static int ledger_by_seq(const struct refbe *be, unsigned seq)
{
	for (unsigned i = 0; i < be->nmaps; i++)
		if (be->maps[i].seq == seq)
			return (int)i;
	return -1;
}

static int ledger_find_live(const struct refbe *be,
			    const struct refbe_map_req *req)
{
	for (unsigned i = 0; i < be->nmaps; i++)
		if (be->maps[i].state == REFBE_MAP_LIVE &&
		    be->maps[i].shmid == req->shmid &&
		    be->maps[i].shm_offset == req->shm_offset &&
		    be->maps[i].len == req->len)
			return (int)i;
	return -1;
}

static bool ledger_overlaps(const struct refbe *be,
			    const struct refbe_map_req *req)
{
	for (unsigned i = 0; i < be->nmaps; i++) {
		const struct refbe_mapping *mp = &be->maps[i];

		/* Half-open ranges, compared without any sum that could
		 * wrap. */
		if (mp->shmid == req->shmid &&
		    (req->shm_offset - mp->shm_offset < mp->len ||
		     mp->shm_offset - req->shm_offset < req->len))
			return true;
	}
	return false;
}

int refbe_check_map(const struct refbe *be, const struct refbe_map_req *req,
		    char *err, size_t errcap)
{
	uint64_t size = be->cfg.sizes[req->shmid];
	int r = check_channel(be, err, errcap);

	if (r < 0)
		return r;
	if (!pfeat(be, PROTO_PF_BACKEND_SEND_FD)) {
		snprintf(err, errcap, "BACKEND_SEND_FD not negotiated");
		return -EPERM;
	}
	if (req->len == 0 || req->fd_offset + req->len < req->fd_offset) {
		snprintf(err, errcap, "len 0 or fd_offset+len wraps");
		return -EINVAL;
	}
	if (!fault(be, FAULT_BE_MAP_OUTSIDE_REGION) &&
	    (req->shm_offset > size || req->len > size - req->shm_offset)) {
		snprintf(err, errcap, "0x%llx+0x%llx outside region %u of 0x%llx",
			 (unsigned long long)req->shm_offset,
			 (unsigned long long)req->len, req->shmid,
			 (unsigned long long)size);
		return -ERANGE;
	}
	if (!fault(be, FAULT_BE_MAP_OVERLAP_OWN) && ledger_overlaps(be, req)) {
		snprintf(err, errcap, "overlaps a mapping of its own");
		return -EEXIST;
	}
	if (be->nmaps == REFBE_MAX_MAPPINGS) {
		snprintf(err, errcap, "ledger full");
		return -ENOSPC;
	}
	return 0;
}

int refbe_check_unmap(const struct refbe *be, const struct refbe_map_req *req,
		      char *err, size_t errcap)
{
	int r = check_channel(be, err, errcap);

	if (r == 0 && ledger_find_live(be, req) < 0) {
		snprintf(err, errcap, "shmid %u 0x%llx+0x%llx is not a live "
			 "mapping", req->shmid,
			 (unsigned long long)req->shm_offset,
			 (unsigned long long)req->len);
		r = -ENOENT;
	}
	return r;
}

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
	int i = ledger_by_seq(be, op->seq);

	if (be->cfg.on_done)
		be->cfg.on_done(be->cfg.done_opaque, op->map, outcome, sent_only);

	be_log(be, "%s shmid %u 0x%llx+0x%llx: %s", op->map ? "MAP" : "UNMAP",
	       op->req.shmid, (unsigned long long)op->req.shm_offset,
	       (unsigned long long)op->req.len,
	       refbe_outcome_name((enum refbe_outcome)outcome));
	be->last_outcome = outcome;
	if (i < 0)
		return; /* forgotten meanwhile (reset) */
	if (op->map && outcome == REFBE_DONE)
		be->maps[i].state = REFBE_MAP_LIVE;
	else if (op->map || outcome == REFBE_DONE)
		ledger_remove(be, (unsigned)i);
	else
		be->maps[i].state = REFBE_MAP_LIVE;
}

static void complete(struct refbe *be, const struct refbe_op *op, int outcome)
{
	complete_as(be, op, outcome, false);
}

static void finish_inflight(struct refbe *be, int outcome)
{
	be->waiting = false;
	complete(be, &be->inflight, outcome);
	pump(be);
}

static int eof_outcome(struct refbe *be, const char *why)
{
	be_log(be, "back-end channel: %s while waiting for a reply", why);
	if (fault(be, FAULT_BE_EOF_AS_SUCCESS)) {
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

	if (m->payload_len < 8 && fault(be, FAULT_BE_ABORT_SHORT_REPLY))
		abort();
	if (m->hdr.request != req && !fault(be, FAULT_BE_REPLY_ID_UNCHECKED)) {
		be_log(be, "reply for request %u, not %u", m->hdr.request, req);
		return REFBE_BAD_REPLY;
	}
	if (!fault(be, FAULT_BE_REPLY_FLAGS_UNCHECKED) &&
	    ((m->hdr.flags & PROTO_VERSION_MASK) != PROTO_VERSION ||
	     !(m->hdr.flags & PROTO_F_REPLY) ||
	     (m->hdr.flags & ~(PROTO_VERSION_MASK | PROTO_F_REPLY)))) {
		be_log(be, "reply flags 0x%x, not 0x5", m->hdr.flags);
		return REFBE_BAD_REPLY;
	}
	if (m->payload_len < 8 && fault(be, FAULT_BE_SHORT_REPLY_AS_SUCCESS))
		return value_of_what_came(m);
	if (m->hdr.size != 8 || m->payload_len != 8 ||
	    proto_u64_decode(m->payload, 8, &v) != PROTO_OK) {
		be_log(be, "reply of %u bytes, not 8", m->hdr.size);
		return REFBE_BAD_REPLY;
	}
	/* fds on a reply are a violation, but its value still says what
	 * the front-end did: believe it, close the fds (release does). */
	if (m->nfds && fault(be, FAULT_BE_KEEPS_REPLY_FDS))
		keep_fds(m);
	else if (m->nfds)
		be_log(be, "reply carried %u fds (closed)", m->nfds);
	return v ? REFBE_REFUSED : REFBE_DONE;
}

/* A receive that did not give a whole message, while a reply was due. */
static int failed_reply(struct refbe *be, struct chan_msg *m, int st)
{
	bool partial = m->hdr_valid || m->payload_len;

	if (st == CHAN_TIMEOUT && !partial)
		return -1; /* nothing yet: keep waiting */
	if (st == CHAN_TIMEOUT && !m->hdr_valid &&
	    fault(be, FAULT_BE_SPLIT_HEADER_LOST)) {
		/* The bug: one read for the header; what it got is not a
		 * reply, and the rest will be read as a new message. */
		be_log(be, "reply header of %zu bytes; bad reply", m->payload_len);
		return REFBE_BAD_REPLY;
	}
	if (st == CHAN_TIMEOUT && m->hdr_valid &&
	    fault(be, FAULT_BE_PARTIAL_REPLY_AS_SUCCESS)) {
		/* The bug: what one read gave is the reply; the bytes still
		 * to come will start the next message. */
		be_log(be, "reply of %zu of %u bytes taken", m->payload_len,
		       m->hdr.size);
		return value_of_what_came(m);
	}
	if ((st == CHAN_TIMEOUT || st == CHAN_TRUNC_PAYLOAD ||
	     st == CHAN_TRUNC_HEADER) && m->payload_len < 8 &&
	    fault(be, FAULT_BE_ABORT_SHORT_REPLY))
		abort();
	if (st == CHAN_TIMEOUT || st == CHAN_TOOBIG) {
		/* Part of a reply then nothing, or a size we cannot read:
		 * the stream cannot be trusted any more. */
		be_log(be, "reply unreadable (%s); closing the channel",
		       status_text(st));
		chan_close(&be->backend);
		return REFBE_BAD_REPLY;
	}
	if (st == CHAN_TOO_MANY_FDS)
		return REFBE_BAD_REPLY;
	return eof_outcome(be, status_text(st));
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
			finish_inflight(be, out);
	} else if (st == CHAN_OK || st == CHAN_TOO_MANY_FDS) {
		be_log(be, "back-end channel: %s %u (flags 0x%x) not awaited; "
		       "dropped", m.hdr.flags & PROTO_F_REPLY ? "reply" :
		       "request", m.hdr.request, m.hdr.flags);
		chan_msg_release(&m);
	} else if (st != CHAN_TIMEOUT || m.hdr_valid || m.payload_len) {
		be_log(be, "back-end channel closed: %s", status_text(st));
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
	return req->need_reply < 0 ? pfeat(be, PROTO_PF_REPLY_ACK)
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
	if (fault(be, FAULT_BE_NONZERO_PADDING))
		memset(mm->padding, BAD_PADDING_BYTE, sizeof(mm->padding));
	if (fault(be, FAULT_BE_UNKNOWN_FLAGS))
		mm->flags |= BAD_FLAG_BIT;
}

/* The fd an op carries: a new memfd for MAP (kept by the ledger), the
 * mapping's own fd on UNMAP only under be_fd_on_unmap. -1 for none. */
static int op_fd(struct refbe *be, const struct refbe_op *op, int *err)
{
	int i = ledger_by_seq(be, op->seq), fd;

	*err = 0;
	if (i < 0)
		return -1;
	if (!op->map)
		return fault(be, FAULT_BE_FD_ON_UNMAP) ? be->maps[i].fd : -1;
	fd = make_memfd(be, op->req.fd_size ? op->req.fd_size
					    : op->req.fd_offset + op->req.len);
	if (fd < 0) {
		*err = fd;
		return -1;
	}
	be->maps[i].fd = fd;
	return fault(be, FAULT_BE_NO_FD_ON_MAP) ? -1 : fd;
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
		be_log(be, "memfd: %s", strerror(-err));
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
		be_log(be, "back-end channel: send failed: %s", status_text(st));
		chan_close(&be->backend);
		complete(be, op, REFBE_SEND_FAILED);
		return 0;
	}
	if (!need || fault(be, FAULT_BE_NO_WAIT_FOR_REPLY)) {
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
		i = ledger_find_live(be, req);
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
	return fault(be, FAULT_BE_SPLIT_HEADER_LOST) ||
			       fault(be, FAULT_BE_PARTIAL_REPLY_AS_SUCCESS)
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
	be_log(be, "no reply in %d ms", be->cfg.reply_timeout_ms);
	finish_inflight(be, fault(be, FAULT_BE_NO_REPLY_AS_SUCCESS)
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

/* ------------------------------------------------------------------ */
/* dump */

static const char *state_name(enum refbe_map_state st)
{
	switch (st) {
	case REFBE_MAP_PENDING: return "pending";
	case REFBE_MAP_LIVE: return "live";
	case REFBE_MAP_UNMAPPING: return "unmapping";
	}
	return "?";
}

int refbe_dump(const struct refbe *be, char *out, size_t cap)
{
	size_t len = 0;
	unsigned fds = 0;

	proto_appendf(out, cap, &len,
		      "{\"started\":%s,\"connected\":%s,\"backend_channel\":%s,"
		      "\"negotiated\":\"0x%llx\",\"waiting\":%s,\"queued\":%u,"
		      "\"mappings\":[",
		      refbe_started(be) ? "true" : "false",
		      be->main.fd >= 0 ? "true" : "false",
		      be->backend.fd >= 0 ? "true" : "false",
		      (unsigned long long)be->pfeatures,
		      be->waiting ? "true" : "false", be->nqueue);
	for (unsigned i = 0; i < be->nmaps; i++) {
		const struct refbe_mapping *mp = &be->maps[i];

		fds += mp->fd >= 0;
		proto_appendf(out, cap, &len,
			      "%s{\"shmid\":%u,\"shm_offset\":%llu,\"len\":%llu,"
			      "\"fd_offset\":%llu,\"rw\":%s,\"state\":\"%s\","
			      "\"fd\":%d}",
			      i ? "," : "", mp->shmid,
			      (unsigned long long)mp->shm_offset,
			      (unsigned long long)mp->len,
			      (unsigned long long)mp->fd_offset,
			      mp->rw ? "true" : "false", state_name(mp->state),
			      mp->fd);
	}
	proto_appendf(out, cap, &len, "],\"fds\":%u}", fds);
	return len < cap ? (int)len : -ENOSPC;
}

int refbe_dump_config(const struct refbe *be, char *out, size_t cap)
{
	size_t len = 0;
	unsigned n = 0;

	proto_appendf(out, cap, &len, "{\"regions\":[");
	for (unsigned i = 0; i < PROTO_SHMEM_MAX_REGIONS; i++)
		if (be->cfg.sizes[i])
			proto_appendf(out, cap, &len,
				      "%s{\"shmid\":%u,\"size\":%llu}",
				      n++ ? "," : "", i,
				      (unsigned long long)be->cfg.sizes[i]);
	proto_appendf(out, cap, &len, "],\"calls\":%u}", be->config_calls);
	return len < cap ? (int)len : -ENOSPC;
}
