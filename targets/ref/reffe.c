/* SPDX-License-Identifier: MIT */
#include "reffe.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl.h"
#include "refsys.h"
#include "refwait.h"
#include "protofmt.h"

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

/* Room reserved below and (at least) above each region: a faulty bounds
 * check maps into it rather than over the heap. */
#define REGION_SLACK (UINT64_C(1) << 20)
/* Guest-physical address where shared memory regions are announced. */
#define SHMEM_GPA_BASE (UINT64_C(1) << 40)
#define SHMEM_GPA_STRIDE (UINT64_C(1) << 32)
#define VRING_SIZE 256u
#define VHOST_F_VERSION_1 32
#define VRING_NOFD_MASK (UINT64_C(1) << 8)

_Static_assert(offsetof(struct reffe_region, size) == 0,
	       "fe_unknown_shmid_null reads size through the region pointer");

/* ------------------------------------------------------------------ */
/* small helpers */

__attribute__((format(printf, 2, 3)))
static void fe_log(const struct reffe *fe, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	refsys_vlog(fe->cfg.log, fe->cfg.log_opaque, fmt, ap);
	va_end(ap);
}

static bool fault(const struct reffe *fe, enum fault_id f)
{
	return fault_on(&fe->cfg.faults, f);
}

static bool pfeat(const struct reffe *fe, unsigned bit)
{
	return bit < 64 && ((fe->pfeatures >> bit) & 1);
}

static bool shmem_negotiated(const struct reffe *fe)
{
	return pfeat(fe, fe->cfg.shmem_bit);
}

static void close_chan(struct chan *c)
{
	if (c->fd >= 0)
		chan_close(c);
	c->fd = -1;
}

static int chan_status_errno(int st)
{
	switch (st) {
	case CHAN_OK: return 0;
	case CHAN_TIMEOUT: return -ETIMEDOUT;
	case CHAN_EOF:
	case CHAN_RESET:
	case CHAN_TRUNC_HEADER:
	case CHAN_TRUNC_PAYLOAD: return -EPIPE;
	case CHAN_TOOBIG:
	case CHAN_TOO_MANY_FDS: return -EPROTO;
	default: return st < 0 ? st : -EIO;
	}
}

void reffe_config_default(struct reffe_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->shmem_bit = PROTO_SHMEM_BIT_DEFAULT;
	cfg->pfeat_want = reffe_supported_pfeatures(cfg->shmem_bit);
	cfg->announce = false;
	cfg->guest_mem_size = UINT64_C(1) << 20;
	cfg->reply_timeout_ms = 1000;
	cfg->deadlock_wait_ms = 4000;
	cfg->cancel_fd = -1;
	fault_set_clear(&cfg->faults);
}

uint64_t reffe_supported_pfeatures(unsigned shmem_bit)
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

void reffe_init(struct reffe *fe, const struct reffe_config *cfg)
{
	memset(fe, 0, sizeof(*fe));
	fe->cfg = *cfg;
	chan_init(&fe->main, -1, "main", PROTO_CHAN_MAIN);
	chan_init(&fe->backend, -1, "backend", PROTO_CHAN_BACKEND);
	fe->main.trace = fe->backend.trace = cfg->trace;
	fe->main.trace_opaque = fe->backend.trace_opaque = cfg->trace_opaque;
	fe->guest_fd = fe->kick_fd = fe->call_fd = -1;
}

bool reffe_connected(const struct reffe *fe)
{
	return fe->main.fd >= 0;
}

void reffe_attach_main(struct reffe *fe, int fd)
{
	close_chan(&fe->main);
	fe->main.fd = fd;
}

void reffe_attach_backend(struct reffe *fe, int fd)
{
	close_chan(&fe->backend);
	fe->backend.fd = fd;
}

void reffe_set_negotiated(struct reffe *fe, uint64_t features,
			  uint64_t pfeatures)
{
	fe->features = features;
	fe->pfeatures = pfeatures;
	fe->pfeatures_offered = pfeatures;
}

/* ------------------------------------------------------------------ */
/* regions */

static void region_release(struct reffe_region *r)
{
	if (r->resv)
		munmap(r->resv, r->resv_len);
	memset(r, 0, sizeof(*r));
}

static int region_reserve(struct reffe_region *r, uint64_t size)
{
	uint64_t page = refsys_page_size(), rounded, hi, len;
	void *p;

	r->size = size;
	if (size > UINT64_MAX - page)
		return -EOVERFLOW;
	rounded = (size + page - 1) & ~(page - 1);
	hi = rounded > REGION_SLACK ? rounded : REGION_SLACK;
	if (rounded > (uint64_t)SIZE_MAX / 4)
		return -ENOMEM;
	len = REGION_SLACK + rounded + hi;
	p = mmap(NULL, (size_t)len, PROT_NONE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	r->resv = p;
	r->resv_len = (size_t)len;
	r->base = r->resv + REGION_SLACK;
	return 0;
}

static void regions_release(struct reffe *fe)
{
	for (unsigned i = 0; i < PROTO_SHMEM_MAX_REGIONS; i++)
		region_release(&fe->regions[i]);
}

/* NULL for an unknown shmid, a size-0 region or one we could not
 * reserve. */
static const struct reffe_region *region_get(const struct reffe *fe,
					     unsigned shmid)
{
	const struct reffe_region *r = &fe->regions[shmid];

	return r->size && r->base ? r : NULL;
}

/* The bug fe_unknown_shmid_null mirrors: the region pointer is used
 * without a NULL test. size is the first member, so this reads address 0
 * when r is NULL. */
static uint64_t region_size_unchecked(const struct reffe_region *r)
{
	const volatile uint64_t *p = (const volatile uint64_t *)(uintptr_t)r;

	return *p;
}

static uintptr_t region_addr(const struct reffe_region *r, uint64_t off)
{
	/* uintptr_t arithmetic: faulty bounds checks may wrap on purpose. */
	return (uintptr_t)r->base + (uintptr_t)off;
}

static bool in_reservation(const struct reffe_region *r, uintptr_t addr,
			   uint64_t len)
{
	uintptr_t lo = (uintptr_t)r->resv;

	return addr >= lo && len <= r->resv_len &&
	       addr - lo <= r->resv_len - len;
}

/* Puts PROT_NONE back over a range we had mapped. */
static void region_clear(const struct reffe_region *r, uint64_t off,
			 uint64_t len)
{
	uintptr_t addr = region_addr(r, off);

	if (len == 0)
		return;
	if (in_reservation(r, addr, len))
		mmap((void *)addr, (size_t)len, PROT_NONE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE,
		     -1, 0);
	else
		munmap((void *)addr, (size_t)len);
}

/* ------------------------------------------------------------------ */
/* mappings */

static void mapping_remove(struct reffe *fe, unsigned i)
{
	struct reffe_mapping *mp = &fe->maps[i];
	const struct reffe_region *r = &fe->regions[mp->shmid];

	if (mp->mapped && r->base)
		region_clear(r, mp->shm_offset, mp->len);
	refsys_close_fd(&mp->fd);
	fe->maps[i] = fe->maps[--fe->nmaps];
}

static void drop_all(struct reffe *fe)
{
	while (fe->nmaps)
		mapping_remove(fe, fe->nmaps - 1);
}

static bool mapping_same(const struct reffe_mapping *a,
			 const struct reffe_mapping *b)
{
	return a->shmid == b->shmid && a->rw == b->rw &&
	       a->mapped == b->mapped && a->shm_offset == b->shm_offset &&
	       a->len == b->len && a->fd_offset == b->fd_offset &&
	       a->fd == b->fd;
}

bool reffe_drop_mappings_except(struct reffe *fe,
				const struct reffe_mapping *keep)
{
	bool kept = false;

	/* Downwards: mapping_remove() moves the last entry into the hole,
	 * and above i only the kept one can remain. */
	for (unsigned i = fe->nmaps; i-- > 0;) {
		if (!kept && mapping_same(&fe->maps[i], keep))
			kept = true;
		else
			mapping_remove(fe, i);
	}
	return kept;
}

void reffe_drop_mappings(struct reffe *fe)
{
	if (fault(fe, FAULT_FE_RESET_KEEPS_MAPPINGS)) {
		fe_log(fe, "reset: keeping %u mappings (fault)", fe->nmaps);
		return;
	}
	drop_all(fe);
}

static void leak_fd(struct reffe *fe, const struct chan_msg *m)
{
	int d;

	if (m->nfds == 0 || fe->nleaked == REFFE_MAX_LEAKED)
		return;
	d = refsys_dup_cloexec(m->fds[0]);
	if (d >= 0)
		fe->leaked[fe->nleaked++] = d;
}

static void announce_clear(struct reffe *fe)
{
	for (unsigned i = 0; i < fe->nannounce; i++)
		refsys_close_fd(&fe->announce[i].fd);
	fe->nannounce = 0;
}

void reffe_disconnect(struct reffe *fe)
{
	close_chan(&fe->main);
	close_chan(&fe->backend);
	drop_all(fe);
	announce_clear(fe);
	regions_release(fe);
	if (fe->guest_mem)
		munmap(fe->guest_mem, (size_t)fe->cfg.guest_mem_size);
	fe->guest_mem = NULL;
	refsys_close_fd(&fe->guest_fd);
	refsys_close_fd(&fe->kick_fd);
	refsys_close_fd(&fe->call_fd);
	fe->handshake_done = fe->started = false;
	fe->features = fe->pfeatures = fe->pfeatures_offered = 0;
	fe->status = 0;
}

void reffe_free(struct reffe *fe)
{
	reffe_disconnect(fe);
	for (unsigned i = 0; i < fe->nleaked; i++)
		close(fe->leaked[i]);
	fe->nleaked = 0;
}

unsigned reffe_kept_fds(const struct reffe *fe)
{
	unsigned n = fe->nleaked;

	for (unsigned i = 0; i < fe->nmaps; i++)
		n += fe->maps[i].fd >= 0;
	return n;
}

/* ------------------------------------------------------------------ */
/* main channel: requests and their replies */

static int send_main(struct reffe *fe, uint32_t req, uint32_t flags,
		     const void *payload, size_t len, const int *fds,
		     unsigned nfds, int64_t deadline)
{
	struct proto_hdr h = { req, PROTO_VERSION | flags, (uint32_t)len };

	if (fe->main.fd < 0)
		return -ENOTCONN;
	return chan_status_errno(refwait_send(&fe->main, &h, payload, len, fds,
					      nfds, fe->cfg.cancel_fd,
					      deadline));
}

static int check_reply(const struct chan_msg *m, uint32_t req)
{
	if (m->hdr.request != req ||
	    (m->hdr.flags & PROTO_VERSION_MASK) != PROTO_VERSION ||
	    !(m->hdr.flags & PROTO_F_REPLY))
		return -EPROTO;
	return 0;
}

/* Waits for the next main-channel message. With serve_backend the
 * back-end channel keeps being served meanwhile (a conforming front-end
 * never lets a back-end request wait on main-channel traffic). */
static int wait_main_msg(struct reffe *fe, struct chan_msg *out,
			 int64_t deadline, bool serve_backend)
{
	chan_msg_init(out);
	for (;;) {
		struct pollfd p[2] = {
			{ .fd = fe->main.fd, .events = POLLIN },
			{ .fd = serve_backend ? fe->backend.fd : -1,
			  .events = POLLIN },
		};
		int n;

		if (fe->main.fd < 0)
			return -ENOTCONN;
		n = refwait_poll(p, 2, fe->cfg.cancel_fd, deadline);
		if (n < 0)
			return n;
		if (n == 0)
			return -ETIMEDOUT;
		if (p[1].revents &&
		    reffe_service_backend(fe, deadline) == -ECANCELED)
			return -ECANCELED;
		if (p[0].revents)
			return chan_status_errno(refwait_recv(&fe->main, out,
							      fe->cfg.cancel_fd,
							      deadline));
	}
}

/* Waits for the reply to req on the main channel. */
static int wait_main_reply(struct reffe *fe, uint32_t req,
			   struct chan_msg *out, int64_t deadline,
			   bool serve_backend)
{
	int r = wait_main_msg(fe, out, deadline, serve_backend);

	return r < 0 ? r : check_reply(out, req);
}

/* A request whose reply is a u64 (GET_FEATURES and friends). */
static int request_u64(struct reffe *fe, uint32_t req, uint64_t *v,
		       int64_t deadline)
{
	struct chan_msg m;
	int r = send_main(fe, req, 0, NULL, 0, NULL, 0, deadline);

	if (r < 0)
		return r;
	r = wait_main_reply(fe, req, &m, deadline, false);
	if (r == 0 && proto_u64_decode(m.payload, m.payload_len, v) != PROTO_OK)
		r = -EPROTO;
	chan_msg_release(&m);
	return r;
}

/* A request acked per REPLY_ACK: NEED_REPLY is set when negotiated (or
 * forced) and the u64 answer awaited. A non-zero answer is -EREMOTEIO. */
static int request_acked(struct reffe *fe, uint32_t req, const void *payload,
			 size_t len, const int *fds, unsigned nfds,
			 bool force_need_reply, int64_t deadline,
			 bool serve_backend)
{
	bool need = force_need_reply || pfeat(fe, PROTO_PF_REPLY_ACK);
	struct chan_msg m;
	uint64_t v = 0;
	int r;

	r = send_main(fe, req, need ? PROTO_F_NEED_REPLY : 0, payload, len,
		      fds, nfds, deadline);
	if (r < 0 || !need)
		return r;
	r = wait_main_reply(fe, req, &m, deadline, serve_backend);
	if (r == 0 && proto_u64_decode(m.payload, m.payload_len, &v) != PROTO_OK)
		r = -EPROTO;
	chan_msg_release(&m);
	if (r == 0 && v != 0)
		r = -EREMOTEIO;
	return r;
}

static int request_u64_acked(struct reffe *fe, uint32_t req, uint64_t v,
			     int64_t deadline)
{
	uint8_t buf[8];

	proto_u64_encode(v, buf, sizeof(buf));
	return request_acked(fe, req, buf, sizeof(buf), NULL, 0, false,
			     deadline, false);
}

/* ------------------------------------------------------------------ */
/* handshake */

static int hs_features(struct reffe *fe, int64_t deadline, char *err,
		       size_t errcap)
{
	uint64_t offered, want = (UINT64_C(1) << PROTO_F_PROTOCOL_FEATURES) |
				 (UINT64_C(1) << VHOST_F_VERSION_1);
	uint8_t buf[8];
	int r;

	r = request_u64(fe, PROTO_GET_FEATURES, &offered, deadline);
	if (r < 0) {
		snprintf(err, errcap, "GET_FEATURES: %s", strerror(-r));
		return r;
	}
	fe->features = offered & want;
	proto_u64_encode(fe->features, buf, sizeof(buf));
	r = send_main(fe, PROTO_SET_FEATURES, 0, buf, 8, NULL, 0, deadline);
	if (r < 0)
		snprintf(err, errcap, "SET_FEATURES: %s", strerror(-r));
	return r;
}

static int hs_protocol(struct reffe *fe, int64_t deadline, char *err,
		       size_t errcap)
{
	uint8_t buf[8];
	int r;

	if (!(fe->features & (UINT64_C(1) << PROTO_F_PROTOCOL_FEATURES))) {
		fe_log(fe, "back-end lacks PROTOCOL_FEATURES: no extensions");
		return 0;
	}
	r = request_u64(fe, PROTO_GET_PROTOCOL_FEATURES, &fe->pfeatures_offered,
			deadline);
	if (r < 0) {
		snprintf(err, errcap, "GET_PROTOCOL_FEATURES: %s", strerror(-r));
		return r;
	}
	fe->pfeatures = fe->pfeatures_offered & fe->cfg.pfeat_want;
	proto_u64_encode(fe->pfeatures, buf, sizeof(buf));
	r = send_main(fe, PROTO_SET_PROTOCOL_FEATURES, 0, buf, 8, NULL, 0,
		      deadline);
	if (r < 0)
		snprintf(err, errcap, "SET_PROTOCOL_FEATURES: %s", strerror(-r));
	return r;
}

static int hs_backend_channel(struct reffe *fe, int64_t deadline, char *err,
			      size_t errcap)
{
	int sv[2], r;

	if (!pfeat(fe, PROTO_PF_BACKEND_REQ))
		return 0;
	r = chan_socketpair(sv);
	if (r < 0) {
		snprintf(err, errcap, "socketpair: %s", strerror(-r));
		return r;
	}
	r = request_acked(fe, PROTO_SET_BACKEND_REQ_FD, NULL, 0, &sv[1], 1,
			  false, deadline, false);
	close(sv[1]);
	if (r < 0) {
		close(sv[0]);
		snprintf(err, errcap, "SET_BACKEND_REQ_FD: %s", strerror(-r));
		return r;
	}
	reffe_attach_backend(fe, sv[0]);
	return 0;
}

static int hs_shmem_config(struct reffe *fe, int64_t deadline, char *err,
			   size_t errcap)
{
	struct chan_msg m;
	int r;

	if (!shmem_negotiated(fe) && !fault(fe, FAULT_FE_MAP_WITHOUT_SHMEM))
		return 0;
	r = send_main(fe, PROTO_GET_SHMEM_CONFIG, 0, NULL, 0, NULL, 0,
		      deadline);
	if (r < 0) {
		snprintf(err, errcap, "GET_SHMEM_CONFIG: %s", strerror(-r));
		return r;
	}
	r = wait_main_msg(fe, &m, deadline, false);
	if (r == 0 && reffe_apply_shmem_config(fe, &m, err, errcap) < 0) {
		/* A whole message, so framing holds: the answer is not
		 * believed, the device runs without regions (every MAP is
		 * refused) and the connection stays (digest 8: survive). */
		fe_log(fe, "%s: no shared memory regions on this connection",
		       err);
		drop_all(fe);
		regions_release(fe);
		err[0] = '\0';
	}
	if (r < 0)
		snprintf(err, errcap, "GET_SHMEM_CONFIG: %s", strerror(-r));
	chan_msg_release(&m);
	return r;
}

static int hs_mem_slots(struct reffe *fe, int64_t deadline, char *err,
			size_t errcap)
{
	uint64_t v;
	int r;

	if (!pfeat(fe, PROTO_PF_CONFIGURE_MEM_SLOTS))
		return 0;
	r = request_u64(fe, PROTO_GET_MAX_MEM_SLOTS, &v, deadline);
	if (r < 0) {
		snprintf(err, errcap, "GET_MAX_MEM_SLOTS: %s", strerror(-r));
		return r;
	}
	fe->max_mem_slots = v > 509 ? 509 : (unsigned)v;
	return 0;
}

static int guest_mem_create(struct reffe *fe)
{
	size_t len = (size_t)fe->cfg.guest_mem_size;
	void *p;

	fe->guest_fd = memfd_create("vhu-reffe-guest", MFD_CLOEXEC);
	if (fe->guest_fd < 0)
		return -errno;
	if (ftruncate(fe->guest_fd, (off_t)len) < 0)
		return -errno;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fe->guest_fd, 0);
	if (p == MAP_FAILED)
		return -errno;
	fe->guest_mem = p;
	return 0;
}

static struct proto_mem_region guest_region(const struct reffe *fe)
{
	struct proto_mem_region g = {
		.guest_phys_addr = 0,
		.memory_size = fe->cfg.guest_mem_size,
		.userspace_addr = (uint64_t)(uintptr_t)fe->guest_mem,
		.mmap_offset = 0,
	};

	return g;
}

/* SET_MEM_TABLE with the guest RAM and, when announcing, the live
 * mappings (up to the 8 the message holds). */
static int send_mem_table(struct reffe *fe, bool with_shmem,
			  bool force_need_reply, int64_t deadline,
			  bool serve_backend)
{
	struct proto_mem_table t = { .nregions = 1 };
	int fds[PROTO_MAX_MEM_REGIONS] = { fe->guest_fd };
	uint8_t buf[8 + PROTO_MAX_MEM_REGIONS * PROTO_MEM_REGION_SIZE];
	int len;

	t.regions[0] = guest_region(fe);
	for (unsigned i = 0; with_shmem && i < fe->nmaps &&
			     t.nregions < PROTO_MAX_MEM_REGIONS; i++) {
		const struct reffe_mapping *mp = &fe->maps[i];

		if (!mp->mapped)
			continue;
		t.regions[t.nregions].guest_phys_addr = SHMEM_GPA_BASE +
			mp->shmid * SHMEM_GPA_STRIDE + mp->shm_offset;
		t.regions[t.nregions].memory_size = mp->len;
		t.regions[t.nregions].userspace_addr =
			region_addr(&fe->regions[mp->shmid], mp->shm_offset);
		t.regions[t.nregions].mmap_offset = mp->fd_offset;
		fds[t.nregions++] = mp->fd;
	}
	len = proto_mem_table_encode(&t, buf, sizeof(buf));
	if (len < 0)
		return -EINVAL;
	return request_acked(fe, PROTO_SET_MEM_TABLE, buf, (size_t)len, fds,
			     t.nregions, force_need_reply, deadline,
			     serve_backend);
}

static int hs_mem_table(struct reffe *fe, int64_t deadline, char *err,
			size_t errcap)
{
	int r = guest_mem_create(fe);

	if (r == 0)
		r = send_mem_table(fe, false, false, deadline, false);
	if (r < 0)
		snprintf(err, errcap, "SET_MEM_TABLE: %s", strerror(-r));
	return r;
}

static int send_vring_state(struct reffe *fe, uint32_t req, uint32_t num,
			    int64_t deadline)
{
	struct proto_vring_state s = { 0, num };
	uint8_t buf[PROTO_VRING_STATE_SIZE];

	proto_vring_state_encode(&s, buf, sizeof(buf));
	return send_main(fe, req, 0, buf, sizeof(buf), NULL, 0, deadline);
}

static int send_vring_fd(struct reffe *fe, uint32_t req, int *fd,
			 int64_t deadline)
{
	uint8_t buf[8];

	*fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (*fd < 0)
		return -errno;
	proto_u64_encode(0, buf, sizeof(buf));
	return send_main(fe, req, 0, buf, sizeof(buf), fd, 1, deadline);
}

static int hs_vring(struct reffe *fe, int64_t deadline, char *err,
		    size_t errcap)
{
	uint64_t base = (uint64_t)(uintptr_t)fe->guest_mem;
	struct proto_vring_addr a = {
		.index = 0,
		.desc_user_addr = base,
		.avail_user_addr = base + 16 * VRING_SIZE,
		.used_user_addr = base + 16 * VRING_SIZE + 0x1000,
	};
	uint8_t buf[PROTO_VRING_ADDR_SIZE];
	int r;

	r = send_vring_state(fe, PROTO_SET_VRING_NUM, VRING_SIZE, deadline);
	if (r == 0) {
		proto_vring_addr_encode(&a, buf, sizeof(buf));
		r = send_main(fe, PROTO_SET_VRING_ADDR, 0, buf, sizeof(buf),
			      NULL, 0, deadline);
	}
	if (r == 0)
		r = send_vring_state(fe, PROTO_SET_VRING_BASE, 0, deadline);
	if (r == 0)
		r = send_vring_fd(fe, PROTO_SET_VRING_KICK, &fe->kick_fd,
				  deadline);
	if (r == 0)
		r = send_vring_fd(fe, PROTO_SET_VRING_CALL, &fe->call_fd,
				  deadline);
	if (r < 0)
		snprintf(err, errcap, "vring set-up: %s", strerror(-r));
	return r;
}

int reffe_handshake(struct reffe *fe, int64_t deadline, char *err,
		    size_t errcap)
{
	int r;

	err[0] = '\0';
	if (fe->main.fd < 0) {
		snprintf(err, errcap, "not connected");
		return -ENOTCONN;
	}
	r = hs_features(fe, deadline, err, errcap);
	if (r == 0)
		r = hs_protocol(fe, deadline, err, errcap);
	if (r == 0) {
		r = send_main(fe, PROTO_SET_OWNER, 0, NULL, 0, NULL, 0, deadline);
		if (r < 0)
			snprintf(err, errcap, "SET_OWNER: %s", strerror(-r));
	}
	if (r == 0)
		r = hs_backend_channel(fe, deadline, err, errcap);
	if (r == 0)
		r = hs_shmem_config(fe, deadline, err, errcap);
	if (r == 0)
		r = hs_mem_slots(fe, deadline, err, errcap);
	if (r == 0)
		r = hs_mem_table(fe, deadline, err, errcap);
	if (r == 0)
		r = hs_vring(fe, deadline, err, errcap);
	if (r < 0) {
		reffe_disconnect(fe);
		return r;
	}
	fe->handshake_done = true;
	fe_log(fe, "handshake done: features 0x%llx protocol 0x%llx",
	       (unsigned long long)fe->features,
	       (unsigned long long)fe->pfeatures);
	return 0;
}

int reffe_apply_shmem_config(struct reffe *fe, const struct chan_msg *reply,
			     char *err, size_t errcap)
{
	struct proto_shmem_config c;
	unsigned nonzero = 0;

	if (check_reply(reply, PROTO_GET_SHMEM_CONFIG) < 0) {
		snprintf(err, errcap, "GET_SHMEM_CONFIG: wrong reply (request %u "
			 "flags 0x%x)", reply->hdr.request, reply->hdr.flags);
		return -EPROTO;
	}
	if (reply->hdr.size != reply->payload_len ||
	    proto_shmem_config_decode(reply->payload, reply->payload_len,
				      &c) != PROTO_OK) {
		snprintf(err, errcap, "GET_SHMEM_CONFIG: reply of %zu bytes, "
			 "not %u", reply->payload_len, PROTO_SHMEM_CONFIG_SIZE);
		return -EPROTO;
	}
	if (c.nregions > PROTO_SHMEM_MAX_REGIONS) {
		if (fault(fe, FAULT_FE_ABORT_NREGIONS))
			abort();
		fe_log(fe, "GET_SHMEM_CONFIG: nregions %u > %u; using the sizes",
		       c.nregions, PROTO_SHMEM_MAX_REGIONS);
	}
	drop_all(fe);
	regions_release(fe);
	/* QEMU's reading (digest 8): every one of the 256 entries counts,
	 * the regions are the non-zero ones, nregions is not believed. */
	for (unsigned i = 0; i < PROTO_SHMEM_MAX_REGIONS; i++) {
		int r;

		if (!c.memory_sizes[i])
			continue;
		nonzero++;
		r = region_reserve(&fe->regions[i], c.memory_sizes[i]);
		if (r < 0)
			fe_log(fe, "shmid %u: cannot reserve 0x%llx bytes: %s",
			       i, (unsigned long long)c.memory_sizes[i],
			       strerror(-r));
	}
	if (nonzero != c.nregions)
		fe_log(fe, "GET_SHMEM_CONFIG: nregions %u, %u non-zero sizes",
		       c.nregions, nonzero);
	if (c.padding)
		fe_log(fe, "GET_SHMEM_CONFIG: padding 0x%x ignored", c.padding);
	fe->shm_nregions = nonzero;
	return 0;
}

/* ------------------------------------------------------------------ */
/* lifecycle */

int reffe_start(struct reffe *fe, int64_t deadline, char *err, size_t errcap)
{
	int r = 0;

	if (reffe_connected(fe) && pfeat(fe, PROTO_PF_STATUS)) {
		fe->status = PROTO_STATUS_ACKNOWLEDGE | PROTO_STATUS_DRIVER |
			     PROTO_STATUS_FEATURES_OK | PROTO_STATUS_DRIVER_OK;
		r = request_u64_acked(fe, PROTO_SET_STATUS, fe->status,
				      deadline);
		if (r < 0)
			snprintf(err, errcap, "SET_STATUS: %s", strerror(-r));
	}
	if (r == 0)
		fe->started = true;
	return r;
}

int reffe_stop(struct reffe *fe, int64_t deadline, char *err, size_t errcap)
{
	struct chan_msg m;
	int r = 0;

	fe->started = false;
	if (!reffe_connected(fe))
		return 0;
	r = send_vring_state(fe, PROTO_GET_VRING_BASE, 0, deadline);
	if (r == 0) {
		r = wait_main_reply(fe, PROTO_GET_VRING_BASE, &m, deadline,
				    false);
		chan_msg_release(&m);
	}
	if (r < 0)
		snprintf(err, errcap, "GET_VRING_BASE: %s", strerror(-r));
	return r;
}

int reffe_reset(struct reffe *fe, int64_t deadline, char *err, size_t errcap)
{
	int r = 0;

	reffe_drop_mappings(fe);
	fe->started = false;
	fe->status = 0;
	if (!reffe_connected(fe))
		return 0;
	if (pfeat(fe, PROTO_PF_RESET_DEVICE))
		r = request_acked(fe, PROTO_RESET_DEVICE, NULL, 0, NULL, 0,
				  false, deadline, false);
	else if (pfeat(fe, PROTO_PF_STATUS))
		r = request_u64_acked(fe, PROTO_SET_STATUS, 0, deadline);
	else
		r = send_main(fe, PROTO_RESET_OWNER, 0, NULL, 0, NULL, 0,
			      deadline);
	if (r < 0)
		snprintf(err, errcap, "reset: %s", strerror(-r));
	return r;
}

/* ------------------------------------------------------------------ */
/* memory-table announcements */

static struct proto_mem_region mapping_region(const struct reffe *fe,
					      const struct reffe_mapping *mp)
{
	struct proto_mem_region g = {
		.guest_phys_addr = SHMEM_GPA_BASE + mp->shmid * SHMEM_GPA_STRIDE +
				   mp->shm_offset,
		.memory_size = mp->len,
		.userspace_addr = region_addr(&fe->regions[mp->shmid],
					      mp->shm_offset),
		.mmap_offset = mp->fd_offset,
	};

	return g;
}

static int send_mem_reg(struct reffe *fe, uint32_t req,
			const struct proto_mem_region *g, int fd,
			bool force_need_reply, int64_t deadline,
			bool serve_backend)
{
	struct proto_mem_reg_msg msg = { .padding = 0, .region = *g };
	uint8_t buf[PROTO_MEM_REG_MSG_SIZE];

	proto_mem_reg_encode(&msg, buf, sizeof(buf));
	return request_acked(fe, req, buf, sizeof(buf), &fd, fd >= 0 ? 1 : 0,
			     force_need_reply, deadline, serve_backend);
}

static void announce_push(struct reffe *fe, enum reffe_announce_kind kind,
			  const struct reffe_mapping *mp)
{
	struct reffe_announce *a;

	if (!pfeat(fe, PROTO_PF_CONFIGURE_MEM_SLOTS))
		kind = REFFE_ANNOUNCE_TABLE;
	if (fe->nannounce == REFFE_MAX_ANNOUNCE) {
		fe_log(fe, "announce queue full: dropping one");
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
		     int64_t deadline, bool serve)
{
	const struct reffe_mapping *mp;

	if (a->kind == REFFE_ANNOUNCE_TABLE)
		return send_mem_table(fe, true, false, deadline, serve);
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

int reffe_flush_announce(struct reffe *fe, int64_t deadline)
{
	bool serve = !fault(fe, FAULT_FE_MEMTABLE_BLOCKS_BACKEND);
	int r = 0;

	/* A front-end that blocks on its update waits as long as a
	 * deadlocked one would, well past the harness's window. */
	if (!serve)
		deadline = chan_deadline(fe->cfg.deadlock_wait_ms);

	/* Replies were sent before anything was queued; serving the
	 * back-end channel while waiting may queue more. */
	while (fe->nannounce && r == 0) {
		struct reffe_announce a = fe->announce[0];

		memmove(&fe->announce[0], &fe->announce[1],
			--fe->nannounce * sizeof(a));
		r = flush_one(fe, &a, deadline, serve);
	}
	if (r < 0) {
		fe_log(fe, "memory-table update failed: %s", strerror(-r));
		announce_clear(fe);
	}
	return r;
}

/* fe_memtable_before_reply: what a front-end that updates its memory
 * table synchronously does, before it has answered the MAP. */
static void announce_blocking(struct reffe *fe, const struct reffe_mapping *mp)
{
	int64_t deadline = chan_deadline(fe->cfg.deadlock_wait_ms);
	struct proto_mem_region g = mapping_region(fe, mp);
	int r;

	if (!reffe_connected(fe))
		return;
	if (pfeat(fe, PROTO_PF_CONFIGURE_MEM_SLOTS))
		r = send_mem_reg(fe, PROTO_ADD_MEM_REG, &g, mp->fd, true,
				 deadline, false);
	else
		r = send_mem_table(fe, true, true, deadline, false);
	fe_log(fe, "memory-table update before the MAP reply: %s",
	       r ? strerror(-r) : "answered");
}

/* ------------------------------------------------------------------ */
/* the back-end channel: SHMEM_MAP and SHMEM_UNMAP */

/* Status of a request: 0 done, else a positive errno for the reply. */

static int gate(const struct reffe *fe, const char *what, bool with_fd)
{
	if (!shmem_negotiated(fe) && !fault(fe, FAULT_FE_MAP_WITHOUT_SHMEM)) {
		fe_log(fe, "%s refused: SHMEM not negotiated", what);
		return ENOTSUP;
	}
	/* The SHMEM text never says so, but an fd from the back-end is
	 * only allowed with BACKEND_SEND_FD (digest 5). */
	if (with_fd && !pfeat(fe, PROTO_PF_BACKEND_SEND_FD)) {
		fe_log(fe, "%s refused: BACKEND_SEND_FD not negotiated", what);
		return ENOTSUP;
	}
	if (!fe->started) {
		if (fault(fe, FAULT_FE_ABORT_BEFORE_START))
			abort();
		fe_log(fe, "%s refused: device not started", what);
		return EBUSY;
	}
	return 0;
}

static int decode_mmap(struct reffe *fe, const struct chan_msg *m,
		       struct proto_mmap *mm)
{
	size_t len = m->payload_len;

	if (m->hdr.size != len)
		return EINVAL;
	if (len == PROTO_MMAP_SIZE) {
		memcpy(fe->stale, m->payload, len);
	} else if (len < PROTO_MMAP_SIZE &&
		   fault(fe, FAULT_FE_SHORT_PAYLOAD_STALE)) {
		/* The bug: a fixed buffer reused across messages, filled
		 * with what arrived and read whole. */
		memcpy(fe->stale, m->payload, len);
	} else {
		fe_log(fe, "payload of %zu bytes, not %u", len, PROTO_MMAP_SIZE);
		return EINVAL;
	}
	return proto_mmap_decode(fe->stale, PROTO_MMAP_SIZE, mm) == PROTO_OK
		       ? 0 : EINVAL;
}

static bool ranges_overlap(uint64_t a_off, uint64_t a_len, uint64_t b_off,
			   uint64_t b_len)
{
	/* Half-open ranges, written so that nothing can wrap. */
	return a_off - b_off < b_len || b_off - a_off < a_len;
}

static bool overlaps_live(const struct reffe *fe, const struct proto_mmap *mm)
{
	for (unsigned i = 0; i < fe->nmaps; i++) {
		const struct reffe_mapping *mp = &fe->maps[i];
		bool hit;

		if (mp->shmid != mm->shmid)
			continue;
		if (fault(fe, FAULT_FE_OVERLAP_TOUCHING_REJECTED))
			hit = mm->shm_offset <= mp->shm_offset + mp->len &&
			      mp->shm_offset <= mm->shm_offset + mm->len;
		else if (fault(fe, FAULT_FE_OVERLAP_STRADDLE_MISSED))
			hit = mm->shm_offset - mp->shm_offset < mp->len;
		else
			hit = ranges_overlap(mm->shm_offset, mm->len,
					     mp->shm_offset, mp->len);
		if (hit)
			return true;
	}
	return false;
}

static bool out_of_bounds(const struct reffe *fe, uint64_t size,
			  const struct proto_mmap *mm)
{
	if (fault(fe, FAULT_FE_NO_BOUNDS_CHECK))
		return false;
	if (fault(fe, FAULT_FE_BOUNDS_WRAP))
		return mm->shm_offset + mm->len > size;
	return mm->shm_offset > size || mm->len > size - mm->shm_offset;
}

/* Range rules of digest 6, in the order a reader of the spec checks
 * them. */
static int check_map_range(struct reffe *fe, const struct proto_mmap *mm)
{
	const struct reffe_region *r = region_get(fe, mm->shmid);
	uint64_t page = refsys_page_size(), size;

	if (!r && !fault(fe, FAULT_FE_UNKNOWN_SHMID_NULL)) {
		fe_log(fe, "MAP refused: no region for shmid %u", mm->shmid);
		return EINVAL;
	}
	size = r ? r->size : region_size_unchecked(r);
	if (mm->len == 0 && !fault(fe, FAULT_FE_LEN_ZERO_ACCEPTED)) {
		fe_log(fe, "MAP refused: len 0");
		return EINVAL;
	}
	if (out_of_bounds(fe, size, mm)) {
		fe_log(fe, "MAP refused: 0x%llx+0x%llx outside region of 0x%llx",
		       (unsigned long long)mm->shm_offset,
		       (unsigned long long)mm->len, (unsigned long long)size);
		return EINVAL;
	}
	if (mm->flags & ~(uint64_t)PROTO_MMAP_F_KNOWN) {
		fe_log(fe, "MAP refused: unknown flags 0x%llx",
		       (unsigned long long)mm->flags);
		return EINVAL;
	}
	if (mm->fd_offset + mm->len < mm->fd_offset ||
	    (mm->shm_offset | mm->fd_offset | mm->len) & (page - 1)) {
		fe_log(fe, "MAP refused: fd_offset/shm_offset/len not aligned "
		       "or wrapping");
		return EINVAL;
	}
	if (overlaps_live(fe, mm) && !fault(fe, FAULT_FE_NO_OVERLAP_CHECK)) {
		fe_log(fe, "MAP refused: overlaps a live mapping");
		return EEXIST;
	}
	return 0;
}

static int check_map_fd(const struct reffe *fe, const struct chan_msg *m,
			const struct proto_mmap *mm)
{
	struct stat st;

	if (m->nfds != 1) {
		fe_log(fe, "MAP refused: %u fds, not 1", m->nfds);
		return m->nfds ? EINVAL : EBADF;
	}
	if (fstat(m->fds[0], &st) < 0)
		return EBADF;
	if (S_ISREG(st.st_mode) &&
	    (uint64_t)st.st_size < mm->fd_offset + mm->len) {
		fe_log(fe, "MAP refused: file of 0x%llx bytes shorter than "
		       "fd_offset+len", (unsigned long long)st.st_size);
		return EINVAL;
	}
	return 0;
}

/* mmap at region+shm_offset: MAP_FIXED inside our reservation, and never
 * over memory we do not own. */
static int map_into_region(const struct reffe_region *r,
			   const struct proto_mmap *mm, int prot, int fd)
{
	uintptr_t addr = region_addr(r, mm->shm_offset);
	int flags = MAP_SHARED;
	void *p;

	flags |= in_reservation(r, addr, mm->len) ? MAP_FIXED
						  : MAP_FIXED_NOREPLACE;
	p = mmap((void *)addr, (size_t)mm->len, prot, flags, fd,
		 (off_t)mm->fd_offset);
	if (p == MAP_FAILED) {
		int e = errno;

		/* A failed MAP_FIXED may have unmapped what was there. */
		if (in_reservation(r, addr, mm->len))
			region_clear(r, mm->shm_offset, mm->len);
		return e;
	}
	if ((uintptr_t)p != addr) {
		munmap(p, (size_t)mm->len);
		return EEXIST;
	}
	return 0;
}

/* The mapping keeps the message's fd itself (taken, not dup'ed, as a
 * front-end that owns what it was sent does): one fd per live mapping. */
static int do_map(struct reffe *fe, struct chan_msg *m,
		  const struct proto_mmap *mm, struct reffe_mapping **out)
{
	const struct reffe_region *r = &fe->regions[mm->shmid];
	bool rw = (mm->flags & PROTO_MMAP_F_RW) ||
		  fault(fe, FAULT_FE_RO_MAPPED_RW);
	struct reffe_mapping *mp;
	int fd, e;

	if (fe->nmaps == REFFE_MAX_MAPPINGS) {
		fe_log(fe, "MAP refused: %u mappings already", fe->nmaps);
		return ENOSPC;
	}
	e = mm->len && r->base ? map_into_region(r, mm, rw ? PROT_READ |
						 PROT_WRITE : PROT_READ,
						 m->fds[0])
			       : 0;
	if (e) {
		fe_log(fe, "MAP refused: mmap: %s", strerror(e));
		return e;
	}
	fd = chan_msg_take_fd(m, 0);
	mp = &fe->maps[fe->nmaps++];
	*mp = (struct reffe_mapping){ mm->shmid, rw, mm->len && r->base,
				      mm->shm_offset, mm->len, mm->fd_offset,
				      fd };
	*out = mp;
	return 0;
}

/* When mappings are announced, each needs a slot in the back-end's
 * memory table (GET_MAX_MEM_SLOTS, else the 8 of SET_MEM_TABLE, one
 * taken by the guest RAM): a MAP that could not be announced is refused
 * (out of resources, digest 6) rather than acked and left unknown. */
static int check_map_slot(const struct reffe *fe)
{
	unsigned limit = pfeat(fe, PROTO_PF_CONFIGURE_MEM_SLOTS)
				 ? fe->max_mem_slots : PROTO_MAX_MEM_REGIONS;
	unsigned used = 1;

	if (!fe->cfg.announce || fault(fe, FAULT_FE_MEMTABLE_OVERCOMMIT))
		return 0;
	for (unsigned i = 0; i < fe->nmaps; i++)
		used += fe->maps[i].mapped;
	if (used < limit)
		return 0;
	fe_log(fe, "MAP refused: the back-end's memory table is full (%u of "
	       "%u slots)", used, limit);
	return ENOSPC;
}

static int handle_map(struct reffe *fe, struct chan_msg *m,
		      struct reffe_mapping **out)
{
	struct proto_mmap mm;
	int e = gate(fe, "MAP", true);

	if (!e)
		e = decode_mmap(fe, m, &mm);
	if (!e)
		e = check_map_range(fe, &mm);
	if (!e)
		e = check_map_fd(fe, m, &mm);
	if (!e)
		e = check_map_slot(fe);
	if (!e)
		e = do_map(fe, m, &mm, out);
	if (e && fault(fe, FAULT_FE_FD_LEAK_ON_ERROR))
		leak_fd(fe, m);
	if (!e)
		fe_log(fe, "MAP shmid %u 0x%llx+0x%llx %s", mm.shmid,
		       (unsigned long long)mm.shm_offset,
		       (unsigned long long)mm.len, (*out)->rw ? "rw" : "ro");
	return e;
}

static int find_unmap(const struct reffe *fe, const struct proto_mmap *mm)
{
	for (unsigned i = 0; i < fe->nmaps; i++) {
		const struct reffe_mapping *mp = &fe->maps[i];

		if (mp->shmid != mm->shmid)
			continue;
		if (mp->shm_offset == mm->shm_offset &&
		    (mp->len == mm->len ||
		     fault(fe, FAULT_FE_UNMAP_IGNORES_LEN)))
			return (int)i;
		if (fault(fe, FAULT_FE_UNMAP_PARTIAL) &&
		    mm->shm_offset >= mp->shm_offset &&
		    mm->shm_offset - mp->shm_offset < mp->len &&
		    mm->len <= mp->len - (mm->shm_offset - mp->shm_offset))
			return (int)i;
	}
	return -1;
}

static int handle_unmap(struct reffe *fe, const struct chan_msg *m,
			struct reffe_mapping *removed)
{
	struct proto_mmap mm;
	const struct reffe_region *r;
	int e = gate(fe, "UNMAP", false), i;

	if (!e)
		e = decode_mmap(fe, m, &mm);
	if (e)
		return e;
	if (m->nfds) {
		fe_log(fe, "UNMAP refused: %u fds attached", m->nfds);
		return EINVAL;
	}
	r = region_get(fe, mm.shmid);
	if (!r && fault(fe, FAULT_FE_UNKNOWN_SHMID_NULL))
		region_size_unchecked(r);
	i = r ? find_unmap(fe, &mm) : -1;
	if (i < 0) {
		fe_log(fe, "UNMAP refused: shmid %u 0x%llx+0x%llx is not a "
		       "mapping", mm.shmid, (unsigned long long)mm.shm_offset,
		       (unsigned long long)mm.len);
		return ENOENT;
	}
	*removed = fe->maps[i];
	if (fe->maps[i].shm_offset != mm.shm_offset ||
	    (fe->maps[i].len != mm.len &&
	     !fault(fe, FAULT_FE_UNMAP_IGNORES_LEN))) {
		/* fe_unmap_partial: the hole is punched, the entry stays. */
		region_clear(r, mm.shm_offset, mm.len);
	} else {
		mapping_remove(fe, (unsigned)i);
	}
	fe_log(fe, "UNMAP shmid %u 0x%llx+0x%llx", mm.shmid,
	       (unsigned long long)mm.shm_offset, (unsigned long long)mm.len);
	return 0;
}

static int send_backend_reply(struct reffe *fe, const struct proto_hdr *req,
			      int status)
{
	struct proto_hdr h = { req->request, PROTO_VERSION | PROTO_F_REPLY, 8 };
	uint8_t buf[8];
	int st;

	if (!pfeat(fe, PROTO_PF_REPLY_ACK) || !(req->flags & PROTO_F_NEED_REPLY))
		return 0;
	if (status && fault(fe, FAULT_FE_NO_REPLY_ON_ERROR))
		return 0;
	if (fault(fe, FAULT_FE_ERROR_REPLY_ZERO))
		status = 0;
	if (fault(fe, FAULT_FE_REPLY_WRONG_FLAGS))
		h.flags = PROTO_VERSION;
	if (fault(fe, FAULT_FE_REPLY_WRONG_SIZE))
		h.size = 4;
	proto_u64_encode((uint64_t)status, buf, sizeof(buf));
	st = refwait_send(&fe->backend, &h, buf, h.size, NULL, 0,
			  fe->cfg.cancel_fd,
			  chan_deadline(fe->cfg.reply_timeout_ms));
	if (st == -ECANCELED)
		return st;
	if (st != CHAN_OK) {
		fe_log(fe, "back-end channel: reply not sent (%s); closing",
		       st > 0 ? chan_status_name((enum chan_status)st)
			      : strerror(-st));
		close_chan(&fe->backend);
		return chan_status_errno(st);
	}
	return 0;
}

/* Header checks before any payload is looked at. Returns 0, a positive
 * errno for an error reply, or -1 to drop the message silently. */
static int check_request_hdr(const struct reffe *fe, const struct proto_hdr *h)
{
	if (h->flags & PROTO_F_REPLY) {
		fe_log(fe, "back-end channel: unsolicited reply (request %u) "
		       "dropped", h->request);
		return -1;
	}
	if ((h->flags & PROTO_VERSION_MASK) != PROTO_VERSION ||
	    (h->flags & ~PROTO_F_KNOWN)) {
		fe_log(fe, "back-end channel: bad header flags 0x%x", h->flags);
		return EPROTO;
	}
	return 0;
}

int reffe_handle_backend_msg(struct reffe *fe, struct chan_msg *m)
{
	struct reffe_mapping *mp = NULL, removed = { .mapped = false };
	int status = check_request_hdr(fe, &m->hdr), r;

	if (status < 0)
		return 0;
	if (status == 0) {
		switch (m->hdr.request) {
		case PROTO_BE_SHMEM_MAP:
			status = handle_map(fe, m, &mp);
			if (status == 0 &&
			    fault(fe, FAULT_FE_MEMTABLE_BEFORE_REPLY))
				announce_blocking(fe, mp);
			break;
		case PROTO_BE_SHMEM_UNMAP:
			status = handle_unmap(fe, m, &removed);
			break;
		default:
			fe_log(fe, "back-end channel: request %u not supported",
			       m->hdr.request);
			status = EOPNOTSUPP;
		}
	}
	r = send_backend_reply(fe, &m->hdr, status);
	/* Memory-table traffic only ever follows the reply (digest 9). */
	if (r == 0 && status == 0 && fe->cfg.announce &&
	    !fault(fe, FAULT_FE_MEMTABLE_BEFORE_REPLY) && reffe_connected(fe)) {
		if (m->hdr.request == PROTO_BE_SHMEM_MAP && mp->mapped)
			announce_push(fe, REFFE_ANNOUNCE_ADD, mp);
		else if (m->hdr.request == PROTO_BE_SHMEM_UNMAP && removed.mapped)
			announce_push(fe, REFFE_ANNOUNCE_REM, &removed);
	}
	return r;
}

int reffe_service_backend(struct reffe *fe, int64_t deadline)
{
	struct chan_msg m;
	int st, r = 0;

	if (fe->backend.fd < 0)
		return 1;
	st = refwait_recv(&fe->backend, &m, fe->cfg.cancel_fd, deadline);
	if (st == -ECANCELED)
		return st;
	if (st == CHAN_TIMEOUT && !m.hdr_valid && !m.payload_len)
		return -ETIMEDOUT;
	if (st == CHAN_OK || st == CHAN_TOO_MANY_FDS) {
		r = reffe_handle_backend_msg(fe, &m);
		if (r == -ECANCELED) {
			chan_msg_release(&m);
			return r;
		}
	} else {
		fe_log(fe, "back-end channel closed: %s",
		       st > 0 ? chan_status_name((enum chan_status)st)
			      : strerror(-st));
		close_chan(&fe->backend);
	}
	chan_msg_release(&m);
	if (r < 0 || fe->backend.fd < 0)
		return 1;
	return 0;
}

int reffe_service_main(struct reffe *fe, int64_t deadline)
{
	struct chan_msg m;
	int st;

	if (fe->main.fd < 0)
		return 1;
	st = refwait_recv(&fe->main, &m, fe->cfg.cancel_fd, deadline);
	chan_msg_release(&m);
	if (st == -ECANCELED)
		return 0;
	if (st == CHAN_OK) {
		fe_log(fe, "main channel: unexpected message %u dropped",
		       m.hdr.request);
		return 0;
	}
	if (st == CHAN_TIMEOUT && !m.hdr_valid && !m.payload_len)
		return 0;
	/* EOF, or a message cut short: framing is lost either way. */
	fe_log(fe, "main channel closed: %s",
	       st > 0 ? chan_status_name((enum chan_status)st) : strerror(-st));
	reffe_disconnect(fe);
	return 1;
}

/* ------------------------------------------------------------------ */
/* dump */

int reffe_dump(const struct reffe *fe, char *out, size_t cap)
{
	size_t len = 0;

	proto_appendf(out, cap, &len,
		      "{\"started\":%s,\"connected\":%s,\"negotiated\":\"0x%llx\","
		      "\"regions\":[",
		      fe->started ? "true" : "false",
		      reffe_connected(fe) ? "true" : "false",
		      (unsigned long long)fe->pfeatures);
	for (unsigned i = 0, n = 0; i < PROTO_SHMEM_MAX_REGIONS; i++)
		if (fe->regions[i].size)
			proto_appendf(out, cap, &len,
				      "%s{\"shmid\":%u,\"size\":%llu}",
				      n++ ? "," : "", i,
				      (unsigned long long)fe->regions[i].size);
	proto_appendf(out, cap, &len, "],\"mappings\":[");
	for (unsigned i = 0; i < fe->nmaps; i++) {
		const struct reffe_mapping *mp = &fe->maps[i];

		proto_appendf(out, cap, &len,
			      "%s{\"shmid\":%u,\"shm_offset\":%llu,\"len\":%llu,"
			      "\"fd_offset\":%llu,\"rw\":%s,\"fd\":%d}",
			      i ? "," : "", mp->shmid,
			      (unsigned long long)mp->shm_offset,
			      (unsigned long long)mp->len,
			      (unsigned long long)mp->fd_offset,
			      mp->rw ? "true" : "false", mp->fd);
	}
	proto_appendf(out, cap, &len, "],\"fds\":%u}", reffe_kept_fds(fe));
	return len < cap ? (int)len : -ENOSPC;
}
