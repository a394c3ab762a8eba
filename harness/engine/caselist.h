/* SPDX-License-Identifier: MIT */
/*
 * caselist: the headers of case files as the runner lists and selects
 * them (`vhucheck-harness --list-json`): the .vhu language is parsed
 * here only, the runner reads this instead of the files.
 */
#ifndef VHU_CASELIST_H
#define VHU_CASELIST_H

#include <stdio.h>

/* One JSON line for the case file at path:
 *
 *   {"file": PATH, "id", "title", "area", "role", "rule", "level",
 *    "reason", "requires": [WORD...], "timeout_ms": N,
 *    "header_ok": BOOL, "wait_ms": N,
 *    "errors": ["path:line: message", ...]}
 *
 * role: the target's (the case's `target` line), as everywhere shown.
 * wait_ms: what the case waits by design when its target behaves (its
 * sleeps and windows of silence, repeats counted; 0 when the steps do
 * not parse).
 * header_ok: the header parsed (the fields hold); errors: every error of
 * the file, header or steps (a case whose steps do not parse is still
 * listed: running it is an ERROR). 0, or -errno when f fails. */
int caselist_write(FILE *f, const char *path);

#endif
