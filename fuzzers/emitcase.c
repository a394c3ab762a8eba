/* SPDX-License-Identifier: MIT */
/*
 * emitcase: see emitcase.h. The front-end fuzzers' inputs (the harness
 * plays the back-end) are translated here, with the shadow model run on
 * exactly the messages the case sends; the back-end fuzzer's in emitbe.c.
 */
#include "emitcase.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emitbe.h"
#include "emitfe.h"
#include "etext.h"

static uint64_t fnv1a(const char *s, size_t n)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325);

	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= UINT64_C(0x100000001b3);
	}
	return h;
}

static const char *short_name(enum emitcase_fuzzer f)
{
	return f == EMITCASE_MAP ? "map" : f == EMITCASE_SEQUENCE ? "sequence"
								 : "backend";
}

static const char *long_name(enum emitcase_fuzzer f)
{
	return f == EMITCASE_MAP ? "fuzz_shmem_map"
	       : f == EMITCASE_SEQUENCE ? "fuzz_shmem_sequence"
					: "fuzz_backend_replies";
}

/* The case's deadline: the default 5 s, plus every graded step's window
 * (1 s; a back-end's outcome 3 s), so that a target failing every check
 * still gets its FAIL rather than a TIMEOUT. */
static unsigned deadline_ms(unsigned nsteps)
{
	unsigned ms = 8000u + 1000u * nsteps;

	return ms < 3600000u ? ms : 3600000u;
}

static void header(struct etext *h, const struct emitcase_opts *opts,
		   const struct emit_header *eh, const char *id, unsigned nsteps)
{
	bool backend = opts->fuzzer == EMITCASE_BACKEND;

	etext_line(h, "# A %s input as a case, with the model's expectations "
		   "step by step", long_name(opts->fuzzer));
	etext_line(h, "# (vhu-fuzzcase; fuzzers/emitcase.h). A MUST rule of the "
		   "digest fails the case, a silent or ambiguous one is "
		   "grade=should (NON-STRICT).");
	if (opts->note)
		etext_line(h, "# %s", opts->note);
	etext_line(h, "id        %s", id);
	etext_line(h, "title     fuzz input %s judged by the %s model", id + 9,
		   backend ? "back-end" : "shadow");
	etext_line(h, "target    %s", backend ? "backend" : "frontend");
	etext_line(h, "rule      %s", backend
		   ? "6, 7, 9, 12H: what a back-end sends and concludes from each reply "
		     "(the model of fuzzers/emitbe.c)"
		   : "6, 7, 9, 10: the shadow model's expectation at each step "
		     "(fuzzers/shadow.c)");
	etext_line(h, "level     MUST");
	etext_line(h, "timeout   %u", deadline_ms(nsteps));
	if (eh->refusal)
		etext_line(h, "refusal   NON-STRICT");
	etext_line(h, "requires  %s", eh->requires);
	etext_line(h, "%s", "");
}

int emitcase_emit(const struct emitcase_opts *opts, const uint8_t *data,
		  size_t size, struct emitcase_out *out, char *err,
		  size_t errcap)
{
	struct etext body, all;
	struct emit_header eh = { .refusal = false };
	char id[64];
	int rc;

	memset(out, 0, sizeof(*out));
	etext_init(&body);
	etext_init(&all);
	if (opts->fuzzer == EMITCASE_BACKEND)
		rc = emitbe_body(opts, data, size, &body, &eh, err, errcap);
	else
		rc = emitfe_body(opts, data, size, &body, &eh, err, errcap);
	if (rc <= 0 || body.oom) {
		if (rc > 0)
			snprintf(err, errcap, "out of memory");
		etext_free(&body);
		return rc > 0 ? -1 : rc;
	}
	snprintf(id, sizeof(id), "fuzzcase_%s_%012llx", short_name(opts->fuzzer),
		 (unsigned long long)(fnv1a(body.buf, body.len) >> 16));
	header(&all, opts, &eh, id, body.nsteps);
	etext_append(&all, &body);
	etext_free(&body);
	if (all.oom) {
		etext_free(&all);
		snprintf(err, errcap, "out of memory");
		return -1;
	}
	out->text = all.buf;
	out->len = all.len;
	out->steps = all.steps;
	out->nsteps = all.nsteps;
	snprintf(out->id, sizeof(out->id), "%s", id);
	return 1;
}
