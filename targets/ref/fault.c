/* SPDX-License-Identifier: MIT */
#include "fault.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define FE FAULT_ROLE_FRONTEND
#define BE FAULT_ROLE_BACKEND

static const struct fault_info fault_table[FAULT_COUNT] = {
	[FAULT_FE_NO_OVERLAP_CHECK] = { "fe_no_overlap_check", FE,
		"MAP over a live mapping is accepted" },
	[FAULT_FE_OVERLAP_TOUCHING_REJECTED] = { "fe_overlap_touching_rejected", FE,
		"overlap test off by one: touching ranges are rejected" },
	[FAULT_FE_OVERLAP_STRADDLE_MISSED] = { "fe_overlap_straddle_missed", FE,
		"overlap test looks only at the new start: straddles and supersets pass" },
	[FAULT_FE_NO_BOUNDS_CHECK] = { "fe_no_bounds_check", FE,
		"MAP past the end of the region is accepted" },
	[FAULT_FE_BOUNDS_WRAP] = { "fe_bounds_wrap", FE,
		"bounds test computes shm_offset+len without overflow check" },
	[FAULT_FE_LEN_ZERO_ACCEPTED] = { "fe_len_zero_accepted", FE,
		"MAP with len 0 is accepted" },
	[FAULT_FE_UNKNOWN_SHMID_NULL] = { "fe_unknown_shmid_null", FE,
		"unknown shmid dereferences a NULL region (SIGSEGV)" },
	[FAULT_FE_NO_REPLY_ON_ERROR] = { "fe_no_reply_on_error", FE,
		"rejected MAP/UNMAP gets no reply although NEED_REPLY is set" },
	[FAULT_FE_ERROR_REPLY_ZERO] = { "fe_error_reply_zero", FE,
		"rejected MAP/UNMAP is answered 0 (success)" },
	[FAULT_FE_REPLY_WRONG_FLAGS] = { "fe_reply_wrong_flags", FE,
		"replies carry flags 0x1 (no REPLY bit)" },
	[FAULT_FE_REPLY_WRONG_SIZE] = { "fe_reply_wrong_size", FE,
		"replies carry a 4-byte payload" },
	[FAULT_FE_MEMTABLE_BEFORE_REPLY] = { "fe_memtable_before_reply", FE,
		"memory-table update waiting for its reply sent before the MAP reply (deadlock)" },
	[FAULT_FE_MEMTABLE_BLOCKS_BACKEND] = { "fe_memtable_blocks_backend", FE,
		"memory-table update awaited without serving the back-end channel" },
	[FAULT_FE_MEMTABLE_OVERCOMMIT] = { "fe_memtable_overcommit", FE,
		"MAP acked 0 when the back-end's memory table has no slot left for it" },
	[FAULT_FE_UNMAP_IGNORES_LEN] = { "fe_unmap_ignores_len", FE,
		"UNMAP matches on shm_offset only" },
	[FAULT_FE_UNMAP_PARTIAL] = { "fe_unmap_partial", FE,
		"UNMAP of part of a mapping is accepted" },
	[FAULT_FE_RESET_KEEPS_MAPPINGS] = { "fe_reset_keeps_mappings", FE,
		"device reset keeps every mapping and fd" },
	[FAULT_FE_FD_LEAK_ON_ERROR] = { "fe_fd_leak_on_error", FE,
		"a rejected MAP keeps its fd open" },
	[FAULT_FE_RO_MAPPED_RW] = { "fe_ro_mapped_rw", FE,
		"read-only MAP is mapped read-write" },
	[FAULT_FE_MAP_WITHOUT_SHMEM] = { "fe_map_without_shmem", FE,
		"SHMEM used without being negotiated (config asked, MAP served)" },
	[FAULT_FE_SHORT_PAYLOAD_STALE] = { "fe_short_payload_stale", FE,
		"MAP payload shorter than 40 accepted, rest read from stale bytes" },
	[FAULT_FE_ABORT_BEFORE_START] = { "fe_abort_before_start", FE,
		"MAP/UNMAP before DRIVER_OK or after stop aborts" },
	[FAULT_FE_ABORT_NREGIONS] = { "fe_abort_nregions", FE,
		"asserts on nregions > 256 in the GET_SHMEM_CONFIG reply" },
	[FAULT_BE_MAP_WITHOUT_SHMEM] = { "be_map_without_shmem", BE,
		"sends SHMEM_MAP without SHMEM negotiated" },
	[FAULT_BE_NO_WAIT_FOR_REPLY] = { "be_no_wait_for_reply", BE,
		"does not wait for the MAP/UNMAP reply before going on" },
	[FAULT_BE_FD_ON_UNMAP] = { "be_fd_on_unmap", BE,
		"attaches an fd to SHMEM_UNMAP" },
	[FAULT_BE_NO_FD_ON_MAP] = { "be_no_fd_on_map", BE,
		"sends SHMEM_MAP without its fd" },
	[FAULT_BE_NONZERO_PADDING] = { "be_nonzero_padding", BE,
		"VhostUserMMap padding not zeroed" },
	[FAULT_BE_UNKNOWN_FLAGS] = { "be_unknown_flags", BE,
		"sets an undefined VhostUserMMap flag bit" },
	[FAULT_BE_MAP_OUTSIDE_REGION] = { "be_map_outside_region", BE,
		"maps past the region size it advertised" },
	[FAULT_BE_MAP_OVERLAP_OWN] = { "be_map_overlap_own", BE,
		"maps over one of its own live mappings" },
	[FAULT_BE_EOF_AS_SUCCESS] = { "be_eof_as_success", BE,
		"takes EOF on the back-end channel as a successful reply" },
	[FAULT_BE_ABORT_SHORT_REPLY] = { "be_abort_short_reply", BE,
		"aborts on a reply shorter than 8 bytes" },
	[FAULT_BE_CONFIG_NOT_PAGE_MULTIPLE] = { "be_config_not_page_multiple", BE,
		"GET_SHMEM_CONFIG sizes are not page multiples" },
	[FAULT_BE_CONFIG_UNSTABLE] = { "be_config_unstable", BE,
		"GET_SHMEM_CONFIG sizes change between calls" },
	[FAULT_BE_SHORT_REPLY_AS_SUCCESS] = { "be_short_reply_as_success", BE,
		"a reply shorter than the u64 is read as value 0 (success)" },
	[FAULT_BE_PARTIAL_REPLY_AS_SUCCESS] = { "be_partial_reply_as_success", BE,
		"a reply whose payload stops short is taken as it stands (success)" },
	[FAULT_BE_SPLIT_HEADER_LOST] = { "be_split_header_lost", BE,
		"a reply header in two writes is read as a bad reply; framing lost" },
	[FAULT_BE_REPLY_FLAGS_UNCHECKED] = { "be_reply_flags_unchecked", BE,
		"reply flags not checked: no REPLY bit or version 0 taken" },
	[FAULT_BE_REPLY_ID_UNCHECKED] = { "be_reply_id_unchecked", BE,
		"reply request id not checked: another request's reply taken" },
	[FAULT_BE_KEEPS_REPLY_FDS] = { "be_keeps_reply_fds", BE,
		"fds that came on a reply are kept open" },
	[FAULT_BE_NO_REPLY_AS_SUCCESS] = { "be_no_reply_as_success", BE,
		"no reply within its time limit is taken as success" },
	[FAULT_BE_BLOCKS_MAIN_WHILE_WAITING] = { "be_blocks_main_while_waiting", BE,
		"the main channel is not served while a MAP/UNMAP reply is due" },
};

void fault_set_clear(struct fault_set *s)
{
	memset(s, 0, sizeof(*s));
}

void fault_set_add(struct fault_set *s, enum fault_id f)
{
	if ((unsigned)f < FAULT_COUNT)
		s->bits[f / 64] |= UINT64_C(1) << (f % 64);
}

bool fault_on(const struct fault_set *s, enum fault_id f)
{
	if ((unsigned)f >= FAULT_COUNT)
		return false;
	return (s->bits[f / 64] >> (f % 64)) & 1;
}

unsigned fault_set_count(const struct fault_set *s)
{
	unsigned n = 0;

	for (unsigned i = 0; i < FAULT_COUNT; i++)
		n += fault_on(s, (enum fault_id)i);
	return n;
}

const struct fault_info *fault_info(enum fault_id f)
{
	return (unsigned)f < FAULT_COUNT ? &fault_table[f] : NULL;
}

const char *fault_name(enum fault_id f)
{
	const struct fault_info *i = fault_info(f);

	return i ? i->name : NULL;
}

int fault_by_name(const char *name)
{
	for (unsigned i = 0; i < FAULT_COUNT; i++)
		if (strcmp(fault_table[i].name, name) == 0)
			return (int)i;
	return -1;
}

static const char *role_name(enum fault_role r)
{
	return r == FAULT_ROLE_FRONTEND ? "frontend" : "backend";
}

int fault_parse(struct fault_set *s, const char *arg, enum fault_role role,
		char *err, size_t errcap)
{
	struct fault_set add = *s;
	const char *p = arg;

	do {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		char name[64];
		int id;

		if (n == 0 || n >= sizeof(name)) {
			snprintf(err, errcap, "bad fault list '%s'", arg);
			return -EINVAL;
		}
		memcpy(name, p, n);
		name[n] = '\0';
		id = fault_by_name(name);
		if (id < 0) {
			snprintf(err, errcap, "unknown fault '%s'", name);
			return -EINVAL;
		}
		if (fault_table[id].role != role) {
			snprintf(err, errcap, "fault '%s' is for the %s, not the %s",
				 name, role_name(fault_table[id].role),
				 role_name(role));
			return -EINVAL;
		}
		fault_set_add(&add, (enum fault_id)id);
		p = end ? end + 1 : NULL;
	} while (p);
	*s = add;
	return 0;
}

int fault_list_names(enum fault_role role, char *out, size_t cap)
{
	size_t len = 0;

	if (cap)
		out[0] = '\0';
	for (unsigned i = 0; i < FAULT_COUNT; i++) {
		int n;

		if (fault_table[i].role != role)
			continue;
		n = snprintf(len < cap ? out + len : NULL,
			     len < cap ? cap - len : 0, "%s%s",
			     len ? ", " : "", fault_table[i].name);
		if (n < 0)
			return -EINVAL;
		len += (size_t)n;
	}
	return len < cap ? (int)len : -ENOSPC;
}
