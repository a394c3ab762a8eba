/* SPDX-License-Identifier: MIT */
/*
 * refbe: the reference back-end's state: configuration, its ledger of
 * mappings, the front-end's memory table as mapped here. See refbe.h.
 */
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
#include "protofmt.h"

/* ------------------------------------------------------------------ */
/* small helpers */

__attribute__((format(printf, 2, 3)))
void refbe_log(const struct refbe *be, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	refsys_vlog(be->cfg.log, be->cfg.log_opaque, fmt, ap);
	va_end(ap);
}

bool refbe_fault(const struct refbe *be, enum fault_id f)
{
	return fault_on(&be->cfg.faults, f);
}

bool refbe_pfeat(const struct refbe *be, unsigned bit)
{
	return bit < 64 && ((be->pfeatures >> bit) & 1);
}

const char *refbe_status_text(int st)
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
	return refbe_pfeat(be, be->cfg.shmem_bit);
}

bool refbe_started(const struct refbe *be)
{
	return be->status & PROTO_STATUS_DRIVER_OK;
}

/* ------------------------------------------------------------------ */
/* ledger and memory table */

void refbe_ledger_remove(struct refbe *be, unsigned i)
{
	refsys_close_fd(&be->maps[i].fd);
	be->maps[i] = be->maps[--be->nmaps];
}

void refbe_reset(struct refbe *be)
{
	while (be->nmaps)
		refbe_ledger_remove(be, be->nmaps - 1);
	be->status = 0;
	be->vring_enabled = false;
}

void refbe_mem_remove(struct refbe *be, unsigned i)
{
	munmap(be->mem[i].addr, be->mem[i].map_len);
	be->mem[i] = be->mem[--be->nmem];
}

void refbe_mem_clear(struct refbe *be)
{
	while (be->nmem)
		refbe_mem_remove(be, be->nmem - 1);
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
	refbe_mem_clear(be);
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
int refbe_mem_add(struct refbe *be, const struct proto_mem_region *g,
		  int fd)
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

int refbe_ledger_by_seq(const struct refbe *be, unsigned seq)
{
	for (unsigned i = 0; i < be->nmaps; i++)
		if (be->maps[i].seq == seq)
			return (int)i;
	return -1;
}

int refbe_ledger_find_live(const struct refbe *be,
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
