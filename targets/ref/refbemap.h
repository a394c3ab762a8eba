/* SPDX-License-Identifier: MIT */
/*
 * refbemap: the reference back-end's MAP and UNMAP control commands,
 * parsed and checked before anything is sent (control `err`). The
 * public functions keep refbe's names.
 */
#ifndef VHU_REFBEMAP_H
#define VHU_REFBEMAP_H

#include <stdbool.h>
#include <stdint.h>

#include "refbe.h"
#include "ctl.h"

/* `map shmid= shm_offset= len= fd_offset= flags=rw|ro|N need_reply=0|1
 * fd_size=` / `unmap shmid= shm_offset= len= need_reply=`. 0 or -EINVAL
 * with a message. */
int refbe_parse_map_cmd(const struct ctl_cmd *cmd, struct refbe_map_req *req,
			char *err, size_t errcap);
int refbe_parse_unmap_cmd(const struct ctl_cmd *cmd,
			  struct refbe_map_req *req, char *err, size_t errcap);

/* What the back-end refuses before anything is sent (control `err`):
 * no back-end channel, SHMEM or BACKEND_SEND_FD not negotiated, len 0,
 * outside the advertised sizes, overlapping its own mappings (pending
 * ones too), unmapping what it does not hold live, a full queue. 0 or
 * -errno with a message. */
int refbe_check_map(const struct refbe *be, const struct refbe_map_req *req,
		    char *err, size_t errcap);
int refbe_check_unmap(const struct refbe *be, const struct refbe_map_req *req,
		      char *err, size_t errcap);

#endif
