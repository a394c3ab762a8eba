/* SPDX-License-Identifier: MIT */
/*
 * ferig: see ferig.h. Every check is its own function, so that a finding
 * reports (and the campaign deduplicates on) the rule that broke.
 */
#include "ferig.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "driver.h"
#include "fuzzfaults.h"
#include "reffemain.h"
#include "refshmem.h"

/* Sends never wait on a peer that is this very thread: they either fit
 * the socket buffer at once or fail. */
#define FERIG_SEND_MS 100
/* Payload bytes worth sending: a little past the largest a receiver
 * accepts, so the too-big path is reached without wasting time. */
#define FERIG_MAX_PAYLOAD (PROTO_MAX_PAYLOAD + 16u)

static uint64_t bit(unsigned b)
{
	return b < 64 ? UINT64_C(1) << b : 0;
}

void ferig_default_sizes(uint64_t sizes[PROTO_SHMEM_MAX_REGIONS])
{
	memset(sizes, 0, PROTO_SHMEM_MAX_REGIONS * sizeof(sizes[0]));
	sizes[0] = UINT64_C(1) << 20;
	sizes[1] = UINT64_C(1) << 16;
	sizes[3] = UINT64_C(2) << 20;
}

/* Reads and drops whatever the reference sent on the main channel
 * (fds that are not received are closed by the kernel). */
static void drain_main(struct ferig *r)
{
	uint8_t buf[4096];

	if (r->main_peer < 0)
		return;
	while (recv(r->main_peer, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
}

static int connect_backend(struct ferig *r)
{
	int sv[2], rc = chan_socketpair(sv);

	if (rc < 0) {
		snprintf(r->err, sizeof(r->err), "socketpair: %s", strerror(-rc));
		return rc;
	}
	reffe_attach_backend(&r->fe, sv[0]);
	chan_close(&r->peer);
	chan_init(&r->peer, sv[1], "backend", PROTO_CHAN_BACKEND);
	return 0;
}

static int connect_main(struct ferig *r)
{
	int sv[2], rc = chan_socketpair(sv);

	if (rc < 0) {
		snprintf(r->err, sizeof(r->err), "socketpair: %s", strerror(-rc));
		return rc;
	}
	reffe_attach_main(&r->fe, sv[0]);
	r->main_peer = sv[1];
	return 0;
}

static int open_probes(struct ferig *r)
{
	r->zero_fd = open("/dev/zero", O_RDONLY | O_CLOEXEC);
	if (r->zero_fd < 0 || pipe2(r->probe, O_CLOEXEC | O_NONBLOCK) < 0) {
		snprintf(r->err, sizeof(r->err), "probe fds: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

int ferig_init(struct ferig *r, bool with_main)
{
	struct reffe_config cfg;
	int rc;

	memset(r, 0, sizeof(*r));
	r->main_peer = r->zero_fd = r->probe[0] = r->probe[1] = -1;
	chan_init(&r->peer, -1, "backend", PROTO_CHAN_BACKEND);
	reffe_config_default(&cfg);
	rc = fuzzfaults_from_env(&cfg.faults, FAULT_ROLE_FRONTEND, r->err,
				 sizeof(r->err));
	/* A faulty fe_memtable_before_reply would sit on its reply for
	 * this long, and nobody answers in process. */
	cfg.deadlock_wait_ms = 0;
	cfg.reply_timeout_ms = FERIG_SEND_MS;
	reffe_init(&r->fe, &cfg);
	if (rc == 0)
		rc = fuzzpool_init(&r->pool, r->err, sizeof(r->err));
	if (rc == 0)
		rc = open_probes(r);
	if (rc == 0)
		rc = connect_backend(r);
	if (rc == 0 && with_main)
		rc = connect_main(r);
	if (rc < 0) {
		ferig_free(r);
		return rc;
	}
	/* STATUS and RESET_DEVICE stay off: with them the reference would
	 * wait for main-channel replies that nobody in process sends. */
	r->pf_all = bit(PROTO_PF_REPLY_ACK) | bit(PROTO_PF_BACKEND_REQ) |
		    bit(PROTO_PF_BACKEND_SEND_FD) |
		    bit(PROTO_PF_CONFIGURE_MEM_SLOTS) | bit(cfg.shmem_bit);
	shadow_init(&r->model);
	ferig_default_sizes(r->default_sizes);
	ferig_shmem_config(r, r->default_sizes, 3, PROTO_VERSION | PROTO_F_REPLY,
			   PROTO_SHMEM_CONFIG_SIZE);
	ferig_negotiate(r, true, true);
	ferig_start(r);
	return 0;
}

void ferig_free(struct ferig *r)
{
	reffe_free(&r->fe);
	chan_close(&r->peer);
	fuzzpool_free(&r->pool);
	if (r->main_peer >= 0)
		close(r->main_peer);
	if (r->zero_fd >= 0)
		close(r->zero_fd);
	for (int i = 0; i < 2; i++)
		if (r->probe[i] >= 0)
			close(r->probe[i]);
	r->main_peer = r->zero_fd = r->probe[0] = r->probe[1] = -1;
}

struct ferig *ferig_new(bool with_main, char *err, size_t errcap)
{
	struct ferig *r = malloc(sizeof(*r));

	if (!r) {
		strncpy(err, "out of memory", errcap - 1);
		return NULL;
	}
	if (ferig_init(r, with_main) != 0) {
		strncpy(err, r->err, errcap - 1);
		free(r);
		return NULL;
	}
	return r;
}

void ferig_delete(struct ferig *r)
{
	ferig_free(r);
	free(r);
}

/* ---- probes of the real memory ---- */

static uintptr_t mapping_addr(const struct ferig *r, unsigned shmid,
			      uint64_t off)
{
	return (uintptr_t)r->fe.regions[shmid].base + (uintptr_t)off;
}

/* The kernel writes a zero byte there on our behalf: EFAULT unless the
 * page is mapped writable. (The pool's files are all zeros already.) */
static bool page_writable(const struct ferig *r, uintptr_t addr)
{
	return read(r->zero_fd, (void *)addr, 1) == 1;
}

/* The kernel reads a byte from there into a pipe: EFAULT unless the page
 * is mapped readable. */
static bool page_readable(const struct ferig *r, uintptr_t addr)
{
	uint8_t b;

	if (write(r->probe[1], (const void *)addr, 1) != 1)
		return false;
	(void)!read(r->probe[0], &b, 1);
	return true;
}

/* ---- invariants ---- */

static void check_inside_regions(const struct ferig *r)
{
	for (unsigned i = 0; i < r->fe.nmaps; i++) {
		const struct reffe_mapping *mp = &r->fe.maps[i];
		uint64_t size = r->model.sizes[mp->shmid];

		if (!r->model.usable[mp->shmid] || mp->shm_offset > size ||
		    mp->len > size - mp->shm_offset)
			fuzz_finding("6: live mapping shmid %u 0x%llx+0x%llx lies "
				     "outside its region (size 0x%llx)",
				     mp->shmid, (unsigned long long)mp->shm_offset,
				     (unsigned long long)mp->len,
				     (unsigned long long)size);
		if (mp->len == 0 || !mp->mapped)
			fuzz_finding("6: a live mapping of len 0x%llx, mapped=%d",
				     (unsigned long long)mp->len, mp->mapped);
	}
}

static void check_no_overlap(const struct ferig *r)
{
	for (unsigned i = 0; i < r->fe.nmaps; i++)
		for (unsigned j = i + 1; j < r->fe.nmaps; j++) {
			const struct reffe_mapping *a = &r->fe.maps[i];
			const struct reffe_mapping *b = &r->fe.maps[j];

			if (a->shmid == b->shmid &&
			    shadow_overlap(a->shm_offset, a->len, b->shm_offset,
					   b->len))
				fuzz_finding("6: live mappings 0x%llx+0x%llx and "
					     "0x%llx+0x%llx of shmid %u overlap",
					     (unsigned long long)a->shm_offset,
					     (unsigned long long)a->len,
					     (unsigned long long)b->shm_offset,
					     (unsigned long long)b->len, a->shmid);
		}
}

static void check_fds_held(const struct ferig *r)
{
	unsigned kept = reffe_kept_fds(&r->fe);

	if (kept != r->fe.nmaps)
		fuzz_finding("10: %u fds held for %u live mappings", kept,
			     r->fe.nmaps);
}

static const struct reffe_mapping *find_fe_map(const struct ferig *r,
					       const struct shadow_map *m)
{
	for (unsigned i = 0; i < r->fe.nmaps; i++) {
		const struct reffe_mapping *mp = &r->fe.maps[i];

		if (mp->shmid == m->shmid && mp->shm_offset == m->shm_offset &&
		    mp->len == m->len && mp->fd_offset == m->fd_offset)
			return mp;
	}
	return NULL;
}

static void check_matches_model(const struct ferig *r)
{
	if (r->fe.nmaps != r->model.nmaps)
		fuzz_finding("model: the front-end holds %u mappings, the model "
			     "%u", r->fe.nmaps, r->model.nmaps);
	for (unsigned i = 0; i < r->model.nmaps; i++) {
		const struct shadow_map *m = &r->model.maps[i];
		const struct reffe_mapping *mp = find_fe_map(r, m);

		if (!mp)
			fuzz_finding("model: mapping shmid %u 0x%llx+0x%llx is "
				     "missing", m->shmid,
				     (unsigned long long)m->shm_offset,
				     (unsigned long long)m->len);
		if (mp->rw != m->rw)
			fuzz_finding("6: mapping 0x%llx+0x%llx recorded %s, asked "
				     "%s", (unsigned long long)m->shm_offset,
				     (unsigned long long)m->len,
				     mp->rw ? "rw" : "ro", m->rw ? "rw" : "ro");
	}
}

static void check_read_only(const struct ferig *r)
{
	for (unsigned i = 0; i < r->model.nmaps; i++) {
		const struct shadow_map *m = &r->model.maps[i];

		if (!m->rw && page_writable(r, mapping_addr(r, m->shmid,
							    m->shm_offset)))
			fuzz_finding("6: read-only mapping shmid %u 0x%llx+0x%llx "
				     "is writable", m->shmid,
				     (unsigned long long)m->shm_offset,
				     (unsigned long long)m->len);
	}
}

void ferig_check(struct ferig *r)
{
	check_inside_regions(r);
	check_no_overlap(r);
	check_fds_held(r);
	check_read_only(r);
	check_matches_model(r);
}

/* A range the model removed must not be readable any more. */
static void check_gone(const struct ferig *r, const struct shadow_map *m)
{
	if (r->model.usable[m->shmid] &&
	    page_readable(r, mapping_addr(r, m->shmid, m->shm_offset)))
		fuzz_finding("7/10: removed mapping shmid %u 0x%llx+0x%llx is "
			     "still mapped", m->shmid,
			     (unsigned long long)m->shm_offset,
			     (unsigned long long)m->len);
}

/* ---- lifecycle ---- */

void ferig_negotiate(struct ferig *r, bool shmem, bool reply_ack)
{
	uint64_t pf = r->pf_all;

	if (!shmem)
		pf &= ~bit(r->fe.cfg.shmem_bit);
	if (!reply_ack)
		pf &= ~bit(PROTO_PF_REPLY_ACK);
	reffe_set_negotiated(&r->fe, bit(PROTO_F_PROTOCOL_FEATURES), pf);
	r->model.shmem = shmem;
	r->model.reply_ack = reply_ack;
}

void ferig_start(struct ferig *r)
{
	char err[160];

	if (reffe_start(&r->fe, chan_deadline(0), err, sizeof(err)) != 0)
		fuzz_finding("10: start failed: %s", err);
	r->model.started = true;
}

void ferig_stop(struct ferig *r)
{
	char err[160];

	/* GET_VRING_BASE finds no answer in process: the error is ours. */
	(void)reffe_stop(&r->fe, chan_deadline(0), err, sizeof(err));
	r->model.started = false;
	drain_main(r);
}

void ferig_device_reset(struct ferig *r)
{
	struct shadow_map before[SHADOW_MAX_MAPPINGS];
	unsigned n = r->model.nmaps;
	char err[160];

	if (n)
		memcpy(before, r->model.maps, n * sizeof(before[0]));
	(void)reffe_reset(&r->fe, chan_deadline(0), err, sizeof(err));
	r->base_live = false;
	shadow_reset(&r->model);
	drain_main(r);
	if (r->fe.nmaps != 0)
		fuzz_finding("10: %u mappings survived a device reset",
			     r->fe.nmaps);
	if (reffe_kept_fds(&r->fe) != 0)
		fuzz_finding("10: %u fds kept after a device reset",
			     reffe_kept_fds(&r->fe));
	for (unsigned i = 0; i < n; i++)
		check_gone(r, &before[i]);
	ferig_check(r);
}

void ferig_shmem_config(struct ferig *r, const uint64_t *sizes,
			uint32_t nregions, uint32_t hdr_flags, uint32_t size)
{
	struct proto_shmem_config c = { .nregions = nregions };
	bool usable[PROTO_SHMEM_MAX_REGIONS];
	struct chan_msg m;
	char err[256];
	bool well_formed = (hdr_flags & PROTO_VERSION_MASK) == PROTO_VERSION &&
			   (hdr_flags & PROTO_F_REPLY) &&
			   size == PROTO_SHMEM_CONFIG_SIZE;
	int n, rc;

	memcpy(c.memory_sizes, sizes, sizeof(c.memory_sizes));
	chan_msg_init(&m);
	m.hdr = (struct proto_hdr){ PROTO_GET_SHMEM_CONFIG, hdr_flags, size };
	n = proto_shmem_config_encode(&c, m.payload, sizeof(m.payload));
	m.payload_len = size < (uint32_t)n ? size : (size_t)n;
	rc = reffe_apply_shmem_config(&r->fe, &m, err, sizeof(err));
	if ((rc == 0) != well_formed)
		fuzz_finding("8: a %s GET_SHMEM_CONFIG reply (flags 0x%x size %u) "
			     "was %s", well_formed ? "well-formed" : "malformed",
			     hdr_flags, size, rc == 0 ? "taken" : "refused");
	if (rc != 0)
		return;
	for (unsigned i = 0; i < PROTO_SHMEM_MAX_REGIONS; i++) {
		usable[i] = r->fe.regions[i].base != NULL;
		if (r->fe.regions[i].size != sizes[i])
			fuzz_finding("8: shmid %u has size 0x%llx, advertised "
				     "0x%llx", i,
				     (unsigned long long)r->fe.regions[i].size,
				     (unsigned long long)sizes[i]);
	}
	shadow_config(&r->model, sizes, usable);
	r->base_live = false;
	r->custom_regions = memcmp(sizes, r->default_sizes,
				   sizeof(r->default_sizes)) != 0;
	ferig_check(r);
}

static void make_base(struct ferig *r)
{
	struct fault_set faults = r->fe.cfg.faults;
	struct proto_hdr h = { PROTO_BE_SHMEM_MAP,
			       PROTO_VERSION | PROTO_F_NEED_REPLY,
			       PROTO_MMAP_SIZE };
	uint8_t p[PROTO_MMAP_SIZE];

	proto_mmap_encode(&r->base_mm, p, sizeof(p));
	fault_set_clear(&r->fe.cfg.faults);
	(void)ferig_backend_msg(r, &h, p, sizeof(p), r->base_fd_choice);
	r->fe.cfg.faults = faults;
	r->nmsg = 0;
	r->base_live = r->fe.nmaps == 1;
	if (r->base_live)
		r->base = r->fe.maps[0];
	r->base_model = r->model;
}

void ferig_set_base(struct ferig *r, const struct proto_mmap *mm,
		    unsigned fd_choice)
{
	r->has_base = true;
	r->base_mm = *mm;
	r->base_fd_choice = fd_choice;
	r->base_live = false;
	ferig_reset_input(r);
}

/* Whether a back-end message may have changed the base's pages: a MAP or
 * UNMAP on its region whose range meets the base's, wraps, or cannot be
 * read whole (a faulty front-end may take stale bytes for the rest). */
static bool may_touch_base(const struct ferig *r, const struct proto_hdr *h,
			   const uint8_t *payload, size_t len)
{
	struct proto_mmap m;
	uint64_t base_end = r->base_mm.shm_offset + r->base_mm.len;

	if (h->request != PROTO_BE_SHMEM_MAP &&
	    h->request != PROTO_BE_SHMEM_UNMAP)
		return false;
	if (h->size < PROTO_MMAP_SIZE || len < PROTO_MMAP_SIZE ||
	    proto_mmap_decode(payload, len, &m) < 0)
		return true;
	if (m.shmid != r->base_mm.shmid)
		return false;
	return m.shm_offset + m.len < m.shm_offset ||
	       (m.shm_offset < base_end &&
		r->base_mm.shm_offset < m.shm_offset + m.len);
}

/* Keeps the base's mapping (and drops the rest) when it is live and
 * still recorded as made; drops everything otherwise. */
static bool drop_all_but_base(struct ferig *r)
{
	if (r->has_base && r->base_live &&
	    reffe_drop_mappings_except(&r->fe, &r->base))
		return true;
	reffe_drop_mappings(&r->fe);
	return false;
}

void ferig_reset_input(struct ferig *r)
{
	struct fault_set faults = r->fe.cfg.faults;
	bool kept;

	/* Not the device reset under test: this one must work even when a
	 * fault says otherwise, or one input would leak into the next. */
	fault_set_clear(&r->fe.cfg.faults);
	kept = drop_all_but_base(r);
	r->fe.cfg.faults = faults;
	for (unsigned i = 0; i < r->fe.nleaked; i++)
		close(r->fe.leaked[i]);
	r->fe.nleaked = 0;
	memset(r->fe.stale, 0, sizeof(r->fe.stale));
	if (kept) {
		/* As the base's MAP left them, for fe_short_payload_stale. */
		proto_mmap_encode(&r->base_mm, r->fe.stale, sizeof(r->fe.stale));
		r->model = r->base_model;
	} else {
		shadow_reset(&r->model);
	}
	r->nmsg = 0;
	if (r->custom_regions)
		ferig_shmem_config(r, r->default_sizes, 3,
				   PROTO_VERSION | PROTO_F_REPLY,
				   PROTO_SHMEM_CONFIG_SIZE);
	if (r->fe.backend.fd < 0 || r->peer.fd < 0)
		(void)connect_backend(r);
	ferig_negotiate(r, true, true);
	ferig_start(r);
	drain_main(r);
	if (r->has_base && !kept)
		make_base(r);
}

/* ---- the back-end channel ---- */

/* Everything the reference sent us, in one recvmsg(): a unix stream
 * socket hands over all queued fd-less data at once, and stops after a
 * chunk with fds (a finding anyway). One syscall per input instead of
 * header, body and "nothing more" reads. */
struct peer_data {
	uint8_t buf[256];
	size_t len;
	unsigned nfds;
	bool eof;
};

static void read_peer(struct ferig *r, struct peer_data *d)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * PROTO_MAX_FDS)];
	} ctl;
	struct iovec iov = { .iov_base = d->buf, .iov_len = sizeof(d->buf) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = ctl.buf,
			     .msg_controllen = sizeof(ctl.buf) };
	ssize_t n = recvmsg(r->peer.fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);

	d->len = n > 0 ? (size_t)n : 0;
	d->eof = n == 0;
	d->nfds = 0;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); n > 0 && cm;
	     cm = CMSG_NXTHDR(&mh, cm)) {
		int fds[PROTO_MAX_FDS];
		size_t k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		k = k < PROTO_MAX_FDS ? k : PROTO_MAX_FDS;
		memcpy(fds, CMSG_DATA(cm), k * sizeof(int));
		for (size_t i = 0; i < k; i++)
			close(fds[i]);
		d->nfds += (unsigned)k;
	}
}

static void check_reply(struct ferig *r, const struct proto_hdr *req,
			const struct shadow_verdict *v)
{
	struct peer_data d;
	struct proto_hdr h;
	uint64_t value = 0;

	read_peer(r, &d);
	if (d.len == 0) {
		if (v->reply)
			fuzz_finding("9: no reply to request %u with NEED_REPLY "
				     "(message %u; model: %s)", req->request,
				     r->nmsg, v->accepted ? "accepted" : v->why);
		return;
	}
	if (!v->reply)
		fuzz_finding("9: a reply to request %u flags 0x%x (message %u) that "
			     "asked for none", req->request, req->flags, r->nmsg);
	if (proto_hdr_decode(d.buf, d.len, &h) == PROTO_E_SHORT)
		fuzz_finding("1: a reply of %zu bytes", d.len);
	if (h.request != req->request)
		fuzz_finding("9: the reply to request %u says request %u",
			     req->request, h.request);
	if (h.flags != (PROTO_VERSION | PROTO_F_REPLY))
		fuzz_finding("1: reply flags 0x%x, not 0x5", h.flags);
	if (h.size != 8 || d.len < PROTO_HDR_SIZE + 8)
		fuzz_finding("9: reply size %u, not 8", h.size);
	if (d.len > PROTO_HDR_SIZE + 8)
		fuzz_finding("9: %zu bytes after the reply to request %u",
			     d.len - PROTO_HDR_SIZE - 8, req->request);
	if (d.nfds)
		fuzz_finding("9: reply carries %u fds", d.nfds);
	proto_u64_decode(d.buf + PROTO_HDR_SIZE, 8, &value);
	if ((value == 0) != v->accepted)
		fuzz_finding("9: reply value %llu to request %u (message %u), the "
			     "model %s", (unsigned long long)value, req->request,
			     r->nmsg, v->accepted ? "accepted it" : v->why);
}

/* The reference announces memory-table changes only after the reply
 * (queued, flushed later), so the main channel stays silent while a
 * back-end request is handled. */
static void check_main_silent(const struct ferig *r, const struct proto_hdr *h)
{
	if (r->main_peer >= 0 &&
	    chan_wait_readable(r->main_peer, chan_deadline(0)) == 1)
		fuzz_finding("9: main-channel traffic while request %u was being "
			     "handled (memory table before the reply)",
			     h->request);
}

/* After a message whose size disagreed with its bytes: a partial one was
 * consumed whole (the receiver timed out on the rest); bytes past a
 * short size are still queued and are dropped here, so that the next
 * input starts on a message boundary without a new socketpair. A closed
 * channel is made again. */
static void resync(struct ferig *r)
{
	uint8_t buf[PROTO_HDR_SIZE + FERIG_MAX_PAYLOAD];

	if (r->fe.backend.fd >= 0)
		while (recv(r->fe.backend.fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
			;
	if (r->fe.backend.fd < 0 || r->peer.fd < 0)
		(void)connect_backend(r);
}

static int send_msg(struct ferig *r, const struct proto_hdr *h,
		    const uint8_t *payload, size_t len, unsigned fd_choice)
{
	uint8_t buf[PROTO_HDR_SIZE + FERIG_MAX_PAYLOAD];
	int fds[2];
	unsigned nfds = fuzzpool_fds(&r->pool, fd_choice, fds);

	proto_hdr_encode(h, buf, sizeof(buf));
	if (len)
		memcpy(buf + PROTO_HDR_SIZE, payload, len);
	return chan_send_raw(&r->peer, buf, PROTO_HDR_SIZE + len, fds, nfds,
			     chan_deadline(FERIG_SEND_MS));
}

bool ferig_backend_msg(struct ferig *r, const struct proto_hdr *h,
		       const uint8_t *payload, size_t len, unsigned fd_choice)
{
	struct fuzzpool_traits fds = fuzzpool_traits(fd_choice);
	struct shadow_verdict v = { .dropped = true };
	bool complete, exact;
	int rc;

	len = len < FERIG_MAX_PAYLOAD ? len : FERIG_MAX_PAYLOAD;
	complete = h->size <= PROTO_MAX_PAYLOAD && h->size <= len;
	exact = complete && h->size == len;
	if (!fds.sendable || send_msg(r, h, payload, len, fd_choice) != CHAN_OK)
		return false;
	if (r->base_live && may_touch_base(r, h, payload, len))
		r->base_live = false;
	r->nmsg++;
	rc = reffe_service_backend(&r->fe, chan_deadline(0));
	if (complete) {
		shadow_backend_msg(&r->model, h, payload, h->size, &fds, &v);
		if (rc != 0)
			fuzz_finding("12F: the front-end dropped the back-end "
				     "channel over a whole request %u", h->request);
	}
	check_main_silent(r, h);
	check_reply(r, h, &v);
	if (v.accepted && h->request == PROTO_BE_SHMEM_UNMAP)
		check_gone(r, &v.removed);
	ferig_check(r);
	if (!exact)
		resync(r);
	return true;
}
