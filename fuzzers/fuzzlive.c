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
 *                [--states FILE] [--edges] [--pingpong]
 *
 * (the options both live drivers share: liveopts.h)
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
 * --edges: the target's AFL++ edge coverage (edgemap.h) is a second
 * feedback: a segment reaching a new edge bucket is kept as one reaching
 * a new state is. A target built without it is reported as such
 * ("edges": null) and the stream goes on with the states alone.
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
#include "liveopts.h"

/* ---- main ---- */

/* The shared options (liveopts.h), and what this driver makes of them. */
static int parse(struct live_args *a, int argc, char **argv)
{
	struct emitcase_opts eo = { .fuzzer = EMITCASE_SEQUENCE };
	char err[256];

	if (liveopts_parse(&a->o, argc, argv, err, sizeof(err)) != 0 ||
	    (a->o.regions && emitcase_parse_sizes(&eo, a->o.regions, err,
						  sizeof(err)) != 0))
		return liveopts_usage("vhu-fuzzlive", err);
	a->peer = (struct livepeer_opts){ .cmd = a->o.cmd, .log_path = a->o.log_path,
					  .shmem_bit = a->o.shmem_bit,
					  .timeout_ms = a->o.timeout_ms };
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
	rc = parse(&a, argc, argv);
	L.opts = &a.o;
	if (rc)
		return rc;
	if (target_setup() != 0 || livegen_init(&L.gen, a.o.seed, a.peer.sizes,
						 LIVE_PAGE) != 0) {
		fprintf(stderr, "vhu-fuzzlive: set-up failed\n");
		return FUZZ_EXIT_SETUP;
	}
	livespare_init(&L.spare, a.o.seed);
	if (livespare_beside(&L.spare, a.o.states, false) != 0)
		fprintf(stderr, "vhu-fuzzlive: %s.spare: unreadable; starting "
			"from none\n", a.o.states);
	if (a.o.states && livegen_load_states(&L.gen, a.o.states) != 0) {
		fprintf(stderr, "vhu-fuzzlive: --states %s: not a state table\n",
			a.o.states);
		return FUZZ_EXIT_USAGE;
	}
	livecheck_init(&L.chk);
	memset(L.fd_shmid, 0xff, sizeof(L.fd_shmid));
	shadow_init(&L.model);
	L.model.page = LIVE_PAGE;
	{
		bool usable[PROTO_SHMEM_MAX_REGIONS];

		for (unsigned i = 0; i < PROTO_SHMEM_MAX_REGIONS; i++)
			usable[i] = a.peer.sizes[i] != 0;
		shadow_config(&L.model, a.peer.sizes, usable);
	}
	L.model.shmem = L.model.reply_ack = L.model.started = true;
	if (a.o.edges && edgemap_open(&L.edges, err, sizeof(err)) != 0) {
		fprintf(stderr, "vhu-fuzzlive: %s\n", err);
		return FUZZ_EXIT_SETUP;
	}
	if (edgemap_beside(&L.edges, a.o.states, false) != 0)
		fprintf(stderr, "vhu-fuzzlive: %s.edges: not this map's; "
			"starting from no edges\n", a.o.states);
	t0 = chan_now_ms();
	if (livepeer_start(&L.peer, &a.peer, err, sizeof(err)) != 0) {
		fprintf(stderr, "vhu-fuzzlive: %s\n", err);
		livepeer_stop(&L.peer);
		edgemap_close(&L.edges);
		return FUZZ_EXIT_SETUP;
	}
	edgemap_started(&L.edges);
	L.seg_start_ms = chan_now_ms();
	L.gen.configs = a.configs;
	end = t0 + (int64_t)a.o.seconds * 1000;
	if (a.o.pingpong)
		live_pingpong(&L, end, a.o.max_ops);
	while (!a.o.pingpong && !L.violated && !L.recycle && chan_now_ms() < end &&
	       (!a.o.max_ops || L.ops < a.o.max_ops))
		live_step(&L);
	live_report(&L, &a, t0);
	if (a.o.states && livegen_save_states(&L.gen, a.o.states) != 0)
		fprintf(stderr, "vhu-fuzzlive: --states %s: cannot write\n", a.o.states);
	livepeer_stop(&L.peer);
	livecheck_free(&L.chk);
	livegen_free(&L.gen);
	if (livespare_beside(&L.spare, a.o.states, true) != 0)
		fprintf(stderr, "vhu-fuzzlive: %s.spare: cannot write\n", a.o.states);
	if (edgemap_beside(&L.edges, a.o.states, true) != 0)
		fprintf(stderr, "vhu-fuzzlive: %s.edges: cannot write\n", a.o.states);
	edgemap_close(&L.edges);
	return L.violated ? 1 : 0;
}
