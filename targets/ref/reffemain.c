/* SPDX-License-Identifier: MIT */
/*
 * reffemain: the reference front-end's main channel: requests and their
 * replies, the handshake, the device lifecycle. See reffemain.h.
 */
#include "reffemain.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "refregion.h"
#include "refsys.h"
#include "refwait.h"

#define VRING_SIZE 256u
#define VHOST_F_VERSION_1 32
#define VRING_NOFD_MASK (UINT64_C(1) << 8)

/* ------------------------------------------------------------------ */
/* main channel: requests and their replies */

static int send_main(struct reffe *fe, uint32_t req, uint32_t flags,
		     const void *payload, size_t len, const int *fds,
		     unsigned nfds, int64_t deadline)
{
	struct proto_hdr h = { req, PROTO_VERSION | flags, (uint32_t)len };

	if (fe->main.fd < 0)
		return -ENOTCONN;
	return reffe_chan_errno(refwait_send(&fe->main, &h, payload, len, fds,
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

/* Waits for the next main-channel message. With serve the
 * back-end channel keeps being served meanwhile (a conforming front-end
 * never lets a back-end request wait on main-channel traffic). */
static int wait_main_msg(struct reffe *fe, struct chan_msg *out,
			 int64_t deadline, reffe_serve_fn serve)
{
	chan_msg_init(out);
	for (;;) {
		struct pollfd p[2] = {
			{ .fd = fe->main.fd, .events = POLLIN },
			{ .fd = serve ? fe->backend.fd : -1,
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
		if (p[1].revents && serve(fe, deadline) == -ECANCELED)
			return -ECANCELED;
		if (p[0].revents)
			return reffe_chan_errno(refwait_recv(&fe->main, out,
							      fe->cfg.cancel_fd,
							      deadline));
	}
}

/* Waits for the reply to req on the main channel. */
static int wait_main_reply(struct reffe *fe, uint32_t req,
			   struct chan_msg *out, int64_t deadline,
			   reffe_serve_fn serve)
{
	int r = wait_main_msg(fe, out, deadline, serve);

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
	r = wait_main_reply(fe, req, &m, deadline, NULL);
	if (r == 0 && proto_u64_decode(m.payload, m.payload_len, v) != PROTO_OK)
		r = -EPROTO;
	chan_msg_release(&m);
	return r;
}

/* A request acked per REPLY_ACK: NEED_REPLY is set when negotiated (or
 * forced) and the u64 answer awaited. A non-zero answer is -EREMOTEIO. */
int reffemain_request_acked(struct reffe *fe, uint32_t req,
			    const void *payload, size_t len, const int *fds,
			    unsigned nfds, bool force_need_reply,
			    int64_t deadline, reffe_serve_fn serve)
{
	bool need = force_need_reply || reffe_pfeat(fe, PROTO_PF_REPLY_ACK);
	struct chan_msg m;
	uint64_t v = 0;
	int r;

	r = send_main(fe, req, need ? PROTO_F_NEED_REPLY : 0, payload, len,
		      fds, nfds, deadline);
	if (r < 0 || !need)
		return r;
	r = wait_main_reply(fe, req, &m, deadline, serve);
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
	return reffemain_request_acked(fe, req, buf, sizeof(buf), NULL, 0, false,
				       deadline, NULL);
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
		reffe_log(fe, "back-end lacks PROTOCOL_FEATURES: no extensions");
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

	if (!reffe_pfeat(fe, PROTO_PF_BACKEND_REQ))
		return 0;
	r = chan_socketpair(sv);
	if (r < 0) {
		snprintf(err, errcap, "socketpair: %s", strerror(-r));
		return r;
	}
	r = reffemain_request_acked(fe, PROTO_SET_BACKEND_REQ_FD, NULL, 0, &sv[1], 1,
				    false, deadline, NULL);
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

	if (!reffe_shmem_negotiated(fe) && !reffe_fault(fe, FAULT_FE_MAP_WITHOUT_SHMEM))
		return 0;
	r = send_main(fe, PROTO_GET_SHMEM_CONFIG, 0, NULL, 0, NULL, 0,
		      deadline);
	if (r < 0) {
		snprintf(err, errcap, "GET_SHMEM_CONFIG: %s", strerror(-r));
		return r;
	}
	r = wait_main_msg(fe, &m, deadline, NULL);
	if (r == 0 && reffe_apply_shmem_config(fe, &m, err, errcap) < 0) {
		/* A whole message, so framing holds: the answer is not
		 * believed, the device runs without regions (every MAP is
		 * refused) and the connection stays (digest 8: survive). */
		reffe_log(fe, "%s: no shared memory regions on this connection",
			  err);
		reffe_drop_all(fe);
		refregion_release_all(fe->regions, PROTO_SHMEM_MAX_REGIONS);
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

	if (!reffe_pfeat(fe, PROTO_PF_CONFIGURE_MEM_SLOTS))
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
int reffemain_send_mem_table(struct reffe *fe, bool with_shmem,
			     bool force_need_reply, int64_t deadline,
			     reffe_serve_fn serve)
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
		t.regions[t.nregions].guest_phys_addr = REFFE_SHMEM_GPA_BASE +
			mp->shmid * REFFE_SHMEM_GPA_STRIDE + mp->shm_offset;
		t.regions[t.nregions].memory_size = mp->len;
		t.regions[t.nregions].userspace_addr =
			refregion_addr(&fe->regions[mp->shmid], mp->shm_offset);
		t.regions[t.nregions].mmap_offset = mp->fd_offset;
		fds[t.nregions++] = mp->fd;
	}
	len = proto_mem_table_encode(&t, buf, sizeof(buf));
	if (len < 0)
		return -EINVAL;
	return reffemain_request_acked(fe, PROTO_SET_MEM_TABLE, buf, (size_t)len, fds,
				       t.nregions, force_need_reply, deadline,
				       serve);
}

static int hs_mem_table(struct reffe *fe, int64_t deadline, char *err,
			size_t errcap)
{
	int r = guest_mem_create(fe);

	if (r == 0)
		r = reffemain_send_mem_table(fe, false, false, deadline, NULL);
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
	reffe_log(fe, "handshake done: features 0x%llx protocol 0x%llx",
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
		if (reffe_fault(fe, FAULT_FE_ABORT_NREGIONS))
			abort();
		reffe_log(fe, "GET_SHMEM_CONFIG: nregions %u > %u; using the sizes",
			  c.nregions, PROTO_SHMEM_MAX_REGIONS);
	}
	reffe_drop_all(fe);
	refregion_release_all(fe->regions, PROTO_SHMEM_MAX_REGIONS);
	/* QEMU's reading (digest 8): every one of the 256 entries counts,
	 * the regions are the non-zero ones, nregions is not believed. */
	for (unsigned i = 0; i < PROTO_SHMEM_MAX_REGIONS; i++) {
		int r;

		if (!c.memory_sizes[i])
			continue;
		nonzero++;
		r = refregion_reserve(&fe->regions[i], c.memory_sizes[i]);
		if (r < 0)
			reffe_log(fe, "shmid %u: cannot reserve 0x%llx bytes: %s",
				  i, (unsigned long long)c.memory_sizes[i],
				  strerror(-r));
	}
	if (nonzero != c.nregions)
		reffe_log(fe, "GET_SHMEM_CONFIG: nregions %u, %u non-zero sizes",
			  c.nregions, nonzero);
	if (c.padding)
		reffe_log(fe, "GET_SHMEM_CONFIG: padding 0x%x ignored", c.padding);
	fe->shm_nregions = nonzero;
	return 0;
}

/* ------------------------------------------------------------------ */
/* lifecycle */

int reffe_start(struct reffe *fe, int64_t deadline, char *err, size_t errcap)
{
	int r = 0;

	if (reffe_connected(fe) && reffe_pfeat(fe, PROTO_PF_STATUS)) {
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
				    NULL);
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
	if (reffe_pfeat(fe, PROTO_PF_RESET_DEVICE))
		r = reffemain_request_acked(fe, PROTO_RESET_DEVICE, NULL, 0, NULL, 0,
					    false, deadline, NULL);
	else if (reffe_pfeat(fe, PROTO_PF_STATUS))
		r = request_u64_acked(fe, PROTO_SET_STATUS, 0, deadline);
	else
		r = send_main(fe, PROTO_RESET_OWNER, 0, NULL, 0, NULL, 0,
			      deadline);
	if (r < 0)
		snprintf(err, errcap, "reset: %s", strerror(-r));
	return r;
}
