/* SPDX-License-Identifier: MIT */
/*
 * refshmem: the reference front-end's SHMEM_MAP and SHMEM_UNMAP: every
 * check of digest 6-7, then the mapping into the reserved region (or the
 * range given back to PROT_NONE).
 */
#ifndef VHU_REFSHMEM_H
#define VHU_REFSHMEM_H

#include "reffe.h"

/* Handles one back-end request whose header passed: MAP, UNMAP, or an
 * unsupported request. Returns 0 or a positive errno for the reply. *mp
 * is the new mapping of an accepted MAP; *removed the mapping an
 * accepted UNMAP took away (removed->mapped stays false otherwise). */
int refshmem_handle(struct reffe *fe, struct chan_msg *m,
		    struct reffe_mapping **mp, struct reffe_mapping *removed);

#endif
