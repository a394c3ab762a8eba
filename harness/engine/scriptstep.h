/* SPDX-License-Identifier: MIT */
/*
 * scriptstep: the parsers of the steps that act (fd, repeat/end,
 * control, handshake, send, reply, close, mark, hold/release), each
 * filling p->st from the words of its line. Internal to the parser.
 */
#ifndef VHU_SCRIPTSTEP_H
#define VHU_SCRIPTSTEP_H

#include <stdbool.h>
#include <stdint.h>

#include "scriptctx.h"

bool sstep_fd(struct pctx *p, char **w, unsigned n);
bool sstep_count(struct pctx *p, char **w, unsigned n, uint64_t max);
bool sstep_repeat(struct pctx *p, char **w, unsigned n);
bool sstep_end(struct pctx *p, unsigned n);
bool sstep_control(struct pctx *p, char **w, unsigned n);
bool sstep_handshake(struct pctx *p, char **w, unsigned n);
bool sstep_send(struct pctx *p, char **w, unsigned n);
bool sstep_reply(struct pctx *p, char **w, unsigned n);
bool sstep_close(struct pctx *p, char **w, unsigned n);
bool sstep_mark(struct pctx *p, unsigned n);
bool sstep_hold(struct pctx *p, char **w, unsigned n);
bool sstep_release(struct pctx *p, char **w, unsigned n);

#endif
