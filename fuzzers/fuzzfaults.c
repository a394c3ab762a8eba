/* SPDX-License-Identifier: MIT */
#include "fuzzfaults.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

int fuzzfaults_from_env(struct fault_set *s, enum fault_role role, char *err,
			size_t errcap)
{
	const char *v = getenv(FUZZFAULTS_ENV);
	char why[192] = "";

	fault_set_clear(s);
	if (!v || !*v)
		return 0;
	if (fault_parse(s, v, role, why, sizeof(why)) != 0) {
		snprintf(err, errcap, "usage: %s=%s: %s", FUZZFAULTS_ENV, v, why);
		return -EINVAL;
	}
	return 0;
}
