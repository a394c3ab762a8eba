/* SPDX-License-Identifier: MIT */
/*
 * reffe: the reference front-end's state, its settings and its mappings.
 * See reffe.h.
 */
#include "reffe.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "refsys.h"
#include "protofmt.h"

/* ------------------------------------------------------------------ */
/* small helpers */

__attribute__((format(printf, 2, 3)))
void reffe_log(const struct reffe *fe, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	refsys_vlog(fe->cfg.log, fe->cfg.log_opaque, fmt, ap);
	va_end(ap);
}

bool reffe_fault(const struct reffe *fe, enum fault_id f)
{
	return fault_on(&fe->cfg.faults, f);
}

bool reffe_pfeat(const struct reffe *fe, unsigned bit)
{
	return bit < 64 && ((fe->pfeatures >> bit) & 1);
}

bool reffe_shmem_negotiated(const struct reffe *fe)
{
	return reffe_pfeat(fe, fe->cfg.shmem_bit);
}

void reffe_close_chan(struct chan *c)
{
	if (c->fd >= 0)
		chan_close(c);
	c->fd = -1;
}

int reffe_chan_errno(int st)
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
	reffe_close_chan(&fe->main);
	fe->main.fd = fd;
}

void reffe_attach_backend(struct reffe *fe, int fd)
{
	reffe_close_chan(&fe->backend);
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
/* mappings */

void reffe_mapping_remove(struct reffe *fe, unsigned i)
{
	struct reffe_mapping *mp = &fe->maps[i];
	const struct reffe_region *r = &fe->regions[mp->shmid];

	if (mp->mapped && r->base)
		refregion_clear(r, mp->shm_offset, mp->len);
	refsys_close_fd(&mp->fd);
	fe->maps[i] = fe->maps[--fe->nmaps];
}

void reffe_drop_all(struct reffe *fe)
{
	while (fe->nmaps)
		reffe_mapping_remove(fe, fe->nmaps - 1);
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

	/* Downwards: reffe_mapping_remove() moves the last entry into the hole,
	 * and above i only the kept one can remain. */
	for (unsigned i = fe->nmaps; i-- > 0;) {
		if (!kept && mapping_same(&fe->maps[i], keep))
			kept = true;
		else
			reffe_mapping_remove(fe, i);
	}
	return kept;
}

void reffe_drop_mappings(struct reffe *fe)
{
	if (reffe_fault(fe, FAULT_FE_RESET_KEEPS_MAPPINGS)) {
		reffe_log(fe, "reset: keeping %u mappings (fault)", fe->nmaps);
		return;
	}
	reffe_drop_all(fe);
}

void reffe_leak_fd(struct reffe *fe, const struct chan_msg *m)
{
	int d;

	if (m->nfds == 0 || fe->nleaked == REFFE_MAX_LEAKED)
		return;
	d = refsys_dup_cloexec(m->fds[0]);
	if (d >= 0)
		fe->leaked[fe->nleaked++] = d;
}

void reffe_announce_clear(struct reffe *fe)
{
	for (unsigned i = 0; i < fe->nannounce; i++)
		refsys_close_fd(&fe->announce[i].fd);
	fe->nannounce = 0;
}

void reffe_disconnect(struct reffe *fe)
{
	reffe_close_chan(&fe->main);
	reffe_close_chan(&fe->backend);
	reffe_drop_all(fe);
	reffe_announce_clear(fe);
	refregion_release_all(fe->regions, PROTO_SHMEM_MAX_REGIONS);
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
