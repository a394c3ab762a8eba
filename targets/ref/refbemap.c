/* SPDX-License-Identifier: MIT */
/*
 * refbemap: the reference back-end's MAP and UNMAP control commands:
 * parsed, then checked against the ledger before anything is sent. See
 * refbemap.h.
 */
#include "refbemap.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

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
	    !refbe_fault(be, FAULT_BE_MAP_WITHOUT_SHMEM)) {
		snprintf(err, errcap, "SHMEM not negotiated");
		return -EPERM;
	}
	if (be->nqueue == REFBE_MAX_QUEUE) {
		snprintf(err, errcap, "too many requests queued");
		return -ENOSPC;
	}
	return 0;
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
	if (!refbe_pfeat(be, PROTO_PF_BACKEND_SEND_FD)) {
		snprintf(err, errcap, "BACKEND_SEND_FD not negotiated");
		return -EPERM;
	}
	if (req->len == 0 || req->fd_offset + req->len < req->fd_offset) {
		snprintf(err, errcap, "len 0 or fd_offset+len wraps");
		return -EINVAL;
	}
	if (!refbe_fault(be, FAULT_BE_MAP_OUTSIDE_REGION) &&
	    (req->shm_offset > size || req->len > size - req->shm_offset)) {
		snprintf(err, errcap, "0x%llx+0x%llx outside region %u of 0x%llx",
			 (unsigned long long)req->shm_offset,
			 (unsigned long long)req->len, req->shmid,
			 (unsigned long long)size);
		return -ERANGE;
	}
	if (!refbe_fault(be, FAULT_BE_MAP_OVERLAP_OWN) && ledger_overlaps(be, req)) {
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

	if (r == 0 && refbe_ledger_find_live(be, req) < 0) {
		snprintf(err, errcap, "shmid %u 0x%llx+0x%llx is not a live "
			 "mapping", req->shmid,
			 (unsigned long long)req->shm_offset,
			 (unsigned long long)req->len);
		r = -ENOENT;
	}
	return r;
}
