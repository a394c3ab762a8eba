/* SPDX-License-Identifier: MIT */
/*
 * scriptgrade: the parsers of the graded steps (expect ..., check ...,
 * with assert/require and grade=), filling p->st. Internal to the parser.
 */
#ifndef VHU_SCRIPTGRADE_H
#define VHU_SCRIPTGRADE_H

#include <stdbool.h>
#include <stdint.h>

#include "scriptctx.h"

bool sgrade_parse(struct pctx *p, const char *kw, char **w, unsigned n);

#endif
