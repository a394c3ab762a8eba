/* SPDX-License-Identifier: MIT */
/*
 * outline: a parsed case as `vhucheck reduce` sees it (`vhucheck-harness
 * --outline`): which lines are header and which are steps, the fd names
 * each step defines and uses, repeat blocks, and the words of each step
 * line with the ones holding a number marked.
 *
 * The reducer edits whole steps and whole words only where this says,
 * and asks --validate whether each candidate still parses: the .vhu
 * language stays owned by script.c.
 */
#ifndef VHU_OUTLINE_H
#define VHU_OUTLINE_H

#include <stdio.h>

#include "script.h"

/* Writes the outline of c, parsed from text, as one JSON object and a
 * newline. 0, or -ENOMEM. */
int outline_write(FILE *f, const struct script_case *c, const char *text);
/* Reads and parses path, then outline_write(). 0, or the number of
 * errors with "path:line: message" lines in err. */
int outline_file(FILE *f, const char *path, char *err, size_t errcap);

#endif
