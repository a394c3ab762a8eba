/* SPDX-License-Identifier: MIT */
/*
 * emitbe: the body of a case for an input of fuzz_backend_replies: the
 * harness as front-end asks the back-end for its MAPs and UNMAPs over the
 * control channel (protocol 2: `map ...` answers `ok result=...`),
 * answers each as the input says (good, refusing, absent, malformed,
 * with fds, EOF, twice) and judges what the back-end concluded
 * (`expect result`), what it sent (`expect msg`, the validator's
 * findings) and its ledger.
 */
#ifndef VHU_FUZZ_EMITBE_H
#define VHU_FUZZ_EMITBE_H

#include "emitcasedata.h"
#include "etext.h"

/* 1: body and eh written; 0: no case (why in err). */
int emitbe_body(const struct emitcase_opts *opts, const uint8_t *data,
		size_t size, struct etext *t, struct emit_header *eh,
		char *err, size_t errcap);

#endif
