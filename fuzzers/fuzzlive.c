/* SPDX-License-Identifier: MIT */
/*
 * vhu-fuzzlive: live fuzzing of a front-end (the harness plays the
 * back-end), one target process, operations streamed into it and each
 * answer and /proc observation judged by the shadow model as it goes
 * (vhucheck fuzz --against T --live; docs/fuzzing.md, "Live mode").
 *
 *   vhu-fuzzlive --target-cmd CMD --out DIR [--shmem-bit N]
 *                [--regions LIST] [--seconds N] [--seed N] [--max-ops N]
 *                [--timeout-ms N] [--avoid KIND:RULE]... [--log FILE]
 *                [--states FILE] [--pingpong]
 *
 * The target is launched once (livepeer.h) and fed what livegen.h picks:
 * MAP/UNMAP aimed at what is live, fd kinds, bent headers and payloads,
 * device stop/start/reset over the control channel, and (without
 * --regions) reconnects with other GET_SHMEM_CONFIG answers. Each
 * message's reply is judged against the model (shadow.h) and graded as
 * the emitted cases grade it (emitcase.h): a MUST rule of the digest, or
 * a rule it leaves open (then, unless the target answered as the model
 * did, the model no longer knows that shmid until a reset). After a
 * reply, /proc says whether the mapping is there as asked or gone, and
 * whether the target kept a refused fd (livecheck.h); after a reset,
 * that nothing is left.
 *
 * The run ends at --seconds, or at the first violation: a MUST
 * expectation that failed, a crash, a hang (no reply or control answer
 * within --timeout-ms), a closed channel. Then the operations since the
 * last state known good (a reset, a reconnect, or the model empty with
 * the device started), after the config in force, are written as a
 * fuzz_shmem_sequence input, DIR/slice-PID-OP.input, which vhu-fuzzcase
 * turns into the case that shows it (the runner does that, then signs
 * and reduces it). A reset that --avoid names ends the run early when
 * only a reset would bring the model back ("recycled": a new process).
 *
 * --states FILE: the protocol states seen so far (livegen.h), read at
 * the start and written at the end, so that a campaign that restarts the
 * target counts each state once.
 *
 * --avoid KIND:RULE (repeatable): operations of that kind (map, unmap,
 * reset, ...) whose model verdict starts with RULE are not sent: known
 * findings are not paid for again. --pingpong: the ceiling instead, one
 * MAP and its UNMAP over and over with no checks (ops/s of the target).
 *
 * stdout, one JSON object a line: {"event":"violation",...} at a
 * violation; {"event":"end",...} with the counts, always last.
 * Exit: 0 ended by time or --max-ops; 1 a violation; 2 usage; 3 the
 * target could not be started or did not handshake.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "emitcase.h"
#include "exitcodes.h"
#include "fuzzlive.h"

/* ---- main ---- */

static int usage(const char *why)
{
	fprintf(stderr, "vhu-fuzzlive: %s\nusage: vhu-fuzzlive --target-cmd CMD "
		"--out DIR [--shmem-bit N] [--regions LIST] [--seconds N] "
		"[--seed N] [--max-ops N] [--timeout-ms N] [--avoid KIND:RULE]... "
		"[--states FILE] [--log FILE] [--pingpong]\n", why);
	return FUZZ_EXIT_USAGE;
}

static int parse(struct live *L, struct live_args *a, int argc, char **argv)
{
	struct emitcase_opts eo = { .fuzzer = EMITCASE_SEQUENCE };
	char err[256];

	a->peer.shmem_bit = PROTO_SHMEM_BIT_DEFAULT;
	a->peer.timeout_ms = 1000;
	a->seconds = 60;
	for (int i = 1; i < argc; i++) {
		const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		char *end = NULL;

		if (strcmp(k, "--pingpong") == 0) {
			a->pingpong = true;
			continue;
		}
		if (!v)
			return usage("an option without its value");
		i++;
		if (strcmp(k, "--target-cmd") == 0)
			a->peer.cmd = v;
		else if (strcmp(k, "--out") == 0)
			a->out = v;
		else if (strcmp(k, "--states") == 0)
			a->states = v;
		else if (strcmp(k, "--log") == 0)
			a->peer.log_path = v;
		else if (strcmp(k, "--shmem-bit") == 0)
			a->peer.shmem_bit = (unsigned)strtoul(v, &end, 10);
		else if (strcmp(k, "--seconds") == 0)
			a->seconds = (unsigned)strtoul(v, &end, 10);
		else if (strcmp(k, "--max-ops") == 0)
			a->max_ops = strtoul(v, &end, 10);
		else if (strcmp(k, "--timeout-ms") == 0)
			a->peer.timeout_ms = (unsigned)strtoul(v, &end, 10);
		else if (strcmp(k, "--seed") == 0)
			a->seed = strtoull(v, &end, 10);
		else if (strcmp(k, "--avoid") == 0 && L->navoid < LIVE_MAX_AVOID &&
			 strchr(v, ':'))
			L->avoid[L->navoid++] = v;
		else if (strcmp(k, "--regions") == 0) {
			if (emitcase_parse_sizes(&eo, v, err, sizeof(err)) != 0)
				return usage(err);
		} else
			return usage("unknown option (or a bad --avoid KIND:RULE)");
		if (end && *end)
			return usage("a number was expected");
	}
	if (!a->peer.cmd || !a->out)
		return usage("--target-cmd and --out are required");
	if (a->peer.shmem_bit > 63)
		return usage("--shmem-bit: 0..63");
	a->configs = !eo.have_sizes;
	if (!eo.have_sizes) {       /* the rigs' regions, as the emitter's */
		eo.sizes[0] = UINT64_C(1) << 20;
		eo.sizes[1] = UINT64_C(1) << 16;
		eo.sizes[3] = UINT64_C(2) << 20;
	}
	memcpy(a->peer.sizes, eo.sizes, sizeof(a->peer.sizes));
	for (unsigned i = 0; i < PROTO_SHMEM_MAX_REGIONS; i++)
		if (eo.sizes[i])
			a->peer.nsizes = i + 1;
	return 0;
}

int main(int argc, char **argv)
{
	static struct live L;   /* large; one per process */
	struct live_args a;
	char err[512];
	int64_t t0, end;
	int rc;

	memset(&a, 0, sizeof(a));
	/* A target that dies leaves the control channel closed: its write
	 * must fail with EPIPE, not end the driver. */
	signal(SIGPIPE, SIG_IGN);
	rc = parse(&L, &a, argc, argv);
	if (rc)
		return rc;
	if (target_setup() != 0 || livegen_init(&L.gen, a.seed, a.peer.sizes,
						 LIVE_PAGE) != 0) {
		fprintf(stderr, "vhu-fuzzlive: set-up failed\n");
		return FUZZ_EXIT_SETUP;
	}
	if (a.states && livegen_load_states(&L.gen, a.states) != 0) {
		fprintf(stderr, "vhu-fuzzlive: --states %s: not a state table\n",
			a.states);
		return FUZZ_EXIT_USAGE;
	}
	livecheck_init(&L.chk);
	shadow_init(&L.model);
	L.model.page = LIVE_PAGE;
	{
		bool usable[PROTO_SHMEM_MAX_REGIONS];

		for (unsigned i = 0; i < PROTO_SHMEM_MAX_REGIONS; i++)
			usable[i] = a.peer.sizes[i] != 0;
		shadow_config(&L.model, a.peer.sizes, usable);
	}
	L.model.shmem = L.model.reply_ack = L.model.started = true;
	t0 = chan_now_ms();
	if (livepeer_start(&L.peer, &a.peer, err, sizeof(err)) != 0) {
		fprintf(stderr, "vhu-fuzzlive: %s\n", err);
		livepeer_stop(&L.peer);
		return FUZZ_EXIT_SETUP;
	}
	L.seg_start_ms = chan_now_ms();
	L.gen.configs = a.configs;
	end = t0 + (int64_t)a.seconds * 1000;
	if (a.pingpong)
		live_pingpong(&L, end, a.max_ops);
	while (!a.pingpong && !L.violated && !L.recycle && chan_now_ms() < end &&
	       (!a.max_ops || L.ops < a.max_ops))
		live_step(&L);
	live_report(&L, &a, t0);
	if (a.states && livegen_save_states(&L.gen, a.states) != 0)
		fprintf(stderr, "vhu-fuzzlive: --states %s: cannot write\n", a.states);
	livepeer_stop(&L.peer);
	livecheck_free(&L.chk);
	livegen_free(&L.gen);
	return L.violated ? 1 : 0;
}
