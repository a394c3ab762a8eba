/* SPDX-License-Identifier: MIT */
/*
 * script: the .vhu case language (docs/writing-cases.md), parsed into a
 * header and a flat array of steps.
 *
 * Everything the engine needs is resolved here: request names to ids,
 * default channels and windows, grades, repeat/end jump indices, fd
 * names checked against the `fd` steps before them. A case that parses
 * can only fail at run time because of the target.
 */
#ifndef VHU_SCRIPT_H
#define VHU_SCRIPT_H

#include <stddef.h>

#include "scriptcase.h"

/* Parses text as the file `path` (used for messages, the id check and
 * the area). Errors are appended to err as "path:line: message\n" lines
 * (at most 10 per file). Returns 0, or the number of errors; c is then
 * freed. */
int script_parse_text(const char *path, const char *text,
		      struct script_case *c, char *err, size_t errcap);
/* Reads and parses one file; a read error is reported as "path: ...". */
int script_parse_file(const char *path, struct script_case *c, char *err,
		      size_t errcap);


#endif
