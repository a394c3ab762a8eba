/* SPDX-License-Identifier: MIT */
/*
 * emitcase: a fuzz input as a .vhu case that carries the model's
 * expectations, step by step, for running against a real implementation
 * (vhucheck fuzz --against, --to-cases; the reproducer of a finding).
 *
 * The in-process fuzzers compare the reference with the shadow model
 * (shadow.h) after every message. A real front-end or back-end is an
 * outside program, so the same judgement has to travel in the case:
 * after each step the reply value where the digest fixes it, the live
 * mappings in /proc (`check mapped` with file offset, length and
 * protection, `check unmapped`), the fds the target holds, and after a
 * device reset that nothing is left. Each expectation is graded as the
 * suite grades it: a MUST rule of the digest at the case's level (MUST:
 * FAIL), a rule the digest calls silent or ambiguous `grade=should`
 * (NON-STRICT). Once a step went a way the digest leaves open (a MAP the
 * model refuses by choice, a stop with live mappings), a conforming
 * target may hold state the model does not: later expectations on that
 * shmid are graded should too, until a reset empties everything.
 *
 * This module owns the translation: the runner never decodes the inputs
 * nor the case text. Besides the case, each emit yields a step table
 * (line, step kind, grade, rule) so that a failure at a line can be
 * named by its rule and step kind (the finding's signature).
 */
#ifndef VHU_FUZZ_EMITCASE_H
#define VHU_FUZZ_EMITCASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "emitcasedata.h"

/* The case for one input. 1: written to out; 0: no case says this input
 * (why in err: nothing to send); -1: out of memory (err). */
int emitcase_emit(const struct emitcase_opts *opts, const uint8_t *data,
		  size_t size, struct emitcase_out *out, char *err,
		  size_t errcap);

#endif
