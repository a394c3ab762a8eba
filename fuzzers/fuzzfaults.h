/* SPDX-License-Identifier: MIT */
/*
 * fuzzfaults: the fault set of a fuzz run, from VHU_FAULTS=name,name.
 *
 * Read once at init, so one binary fuzzes the fault-free reference or a
 * faulty one: campaigns and the Magma-style benchmark switch faults with
 * the environment, never with a rebuild.
 */
#ifndef VHU_FUZZ_FUZZFAULTS_H
#define VHU_FUZZ_FUZZFAULTS_H

#include <stddef.h>

#include "fault.h"

#define FUZZFAULTS_ENV "VHU_FAULTS"

/* Fills s from the environment (empty when unset). Faults of the other
 * role are refused: a campaign that asks for one would silently test
 * nothing. 0, or -EINVAL with "usage: ..." in err. */
int fuzzfaults_from_env(struct fault_set *s, enum fault_role role, char *err,
			size_t errcap);

#endif
