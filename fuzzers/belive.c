/* SPDX-License-Identifier: MIT */
/*
 * vhu-fuzzlive-be: live fuzzing of a back-end (the harness plays the
 * front-end), one target process, operations streamed into it and each
 * outcome judged by the model as it goes (vhucheck fuzz --against T
 * --live, T a back-end; docs/fuzzing.md, "Live mode").
 *
 *   vhu-fuzzlive-be --target-cmd CMD --out DIR [--shmem-bit N]
 *                   [--seconds N] [--seed N] [--max-ops N]
 *                   [--timeout-ms N] [--avoid KIND:VERDICT]... [--log FILE]
 *                   [--states FILE] [--regions LIST] [--edges] [--pingpong]
 *
 * (the options both live drivers share: liveopts.h; --edges as
 * vhu-fuzzlive's, edgemap.h)
 *
 * The target is launched once and negotiated with as a front-end
 * (bepeer.h); then the stream (beplay.c): `control map`/`unmap` aimed at
 * what the model holds live (over its own mappings, past its regions:
 * those it must refuse), each request's message checked and answered
 * with a fuzzed reply (good, an error value, none, another request id,
 * bad flags, short, long, truncated, with fds, EOF, twice), sometimes a
 * GET_FEATURES on the main channel while it waits, GET_SHMEM_CONFIG,
 * device resets, and at segment starts a negotiation without SHMEM or
 * REPLY_ACK. What the back-end concluded (its control answer, docs/
 * control.md version 2) is judged by bejudge.h, the model the emitted
 * cases carry; after a reply with fds, /proc says whether it closed them.
 *
 * The run ends at --seconds, or at the first violation: a wrong
 * conclusion or refusal, a malformed request, a crash, a hang (no answer
 * within --timeout-ms; for a reply it must wait out, 3 s), a main channel
 * starved, a reply's fd kept. The records since the last state known good
 * (the last reset; a reply that leaves the back-end's state unknown is
 * followed by a new back-end channel and a reset) are written as a
 * fuzz_backend_replies input, DIR/slice-PID-OP.input, which vhu-fuzzcase
 * turns into the case that shows it. --regions is accepted for the
 * runner's sake: the regions are the back-end's own.
 *
 * stdout: {"event":"violation",...} at a violation, {"event":"end",...}
 * always last. Exit: 0 ended by time or --max-ops; 1 a violation; 2
 * usage; 3 the target could not be started or did not negotiate.
 */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "belive.h"
#include "exitcodes.h"
#include "liveopts.h"

struct args {
	struct bepeer_opts peer;
	struct liveopts o;      /* as given (liveopts.h) */
};

uint64_t belive_rand(struct belive *L)
{
	/* xorshift64*: fixed by --seed. */
	L->rng ^= L->rng >> 12;
	L->rng ^= L->rng << 25;
	L->rng ^= L->rng >> 27;
	return L->rng * UINT64_C(2685821657736338717);
}

void belive_segment_done(struct belive *L)
{
	unsigned k, n;

	if (L->seg_new && L->nseg && L->ncorpus < BELIVE_CORPUS) {
		memcpy(L->corpus[L->ncorpus], L->seg, sizeof(L->seg));
		L->corpus_len[L->ncorpus++] = L->nseg;
	}
	L->seg_new = false;
	L->nqueue = L->qpos = 0;
	if (!L->ncorpus || belive_rand(L) % 2)
		return;
	k = (unsigned)(belive_rand(L) % L->ncorpus);
	n = L->corpus_len[k];
	memcpy(L->queue, L->corpus[k], n * BEJUDGE_RECORD);
	/* A few fields of a few records: the reply, its value, the bits,
	 * where and how long; one record dropped or doubled now and then. */
	for (unsigned m = 1 + (unsigned)(belive_rand(L) % 3); m > 0; m--) {
		uint8_t *rec = L->queue[belive_rand(L) % n];
		unsigned f = (unsigned)(belive_rand(L) % 6);

		if (f == 0)
			rec[1] ^= 1;    /* ok <-> error, none <-> wrong id, ... */
		else if (f == 1)
			rec[5] = (uint8_t)belive_rand(L);
		else if (f == 2)
			rec[4] ^= (uint8_t)(1u << (belive_rand(L) % 6));
		else if (f == 3)
			rec[8] = (uint8_t)(rec[8] + belive_rand(L) % 5 - 2);
		else if (f == 4)
			rec[12] = (uint8_t)(1 + belive_rand(L) % 32);
		else if (n + 1 < BELIVE_MAX_SEG) {
			memmove(rec + BEJUDGE_RECORD, rec,
				(size_t)(L->queue[n] - rec));
			n++;
		}
	}
	L->nqueue = n;
	L->mutants++;
}

bool belive_next(struct belive *L, struct bejudge_rec *r)
{
	enum bejudge_reply k;

	if (L->qpos >= L->nqueue)
		return false;
	bejudge_rec_read(L->queue[L->qpos++], r);
	/* A reply the back-end waits out (a second each) stays as rare as
	 * when new (beplay.c's pick_reply): most become an error reply. */
	k = (enum bejudge_reply)(r->reply % BEJUDGE_R_MAX);
	if ((k == BEJUDGE_R_NONE || k == BEJUDGE_R_TRUNC ||
	     k == BEJUDGE_R_WRONG_FLAGS) && belive_rand(L) % 64)
		r->reply = BEJUDGE_R_ERR;
	return true;
}

void belive_violation(struct belive *L, const char *cls, const char *kind,
		      const char *rule, const char *fmt, ...)
{
	va_list ap;

	if (L->violated)
		return;
	L->violated = true;
	snprintf(L->vclass, sizeof(L->vclass), "%s", cls);
	snprintf(L->vkind, sizeof(L->vkind), "%s", kind);
	snprintf(L->vrule, sizeof(L->vrule), "%s", rule);
	va_start(ap, fmt);
	vsnprintf(L->vobs, sizeof(L->vobs), fmt, ap);
	va_end(ap);
}

/* ---- the report ---- */

static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

/* The segment as a fuzz_backend_replies input, after the NEGOTIATE
 * record of what is in force. */
static int write_slice(const struct belive *L, const char *dir, char *path,
		       size_t cap)
{
	uint8_t rec[BEJUDGE_RECORD];
	bool ok = true;
	FILE *f;

	snprintf(path, cap, "%s/slice-%ld-%lu.input", dir, (long)getpid(), L->ops);
	f = fopen(path, "wb");
	if (!f)
		return -1;
	if (L->reduced) {
		bejudge_rec_write(&L->negotiate, rec);
		ok = fwrite(rec, 1, sizeof(rec), f) == sizeof(rec);
	}
	for (unsigned i = 0; i < L->nseg; i++)
		ok = ok && fwrite(L->seg[i], 1, BEJUDGE_RECORD, f) == BEJUDGE_RECORD;
	return fclose(f) == 0 && ok ? 0 : -1;
}

static void report(const struct belive *L, const struct args *a, int64_t t0)
{
	double secs = (double)(chan_now_ms() - t0) / 1000.0;
	char path[4096] = "";

	if (L->violated) {
		if (write_slice(L, a->o.out, path, sizeof(path)) != 0)
			path[0] = '\0';
		printf("{\"event\":\"violation\",\"role\":\"backend\",\"class\":");
		json_str(L->vclass);
		printf(",\"kind\":");
		json_str(L->vkind);
		printf(",\"rule\":");
		json_str(L->vrule);
		printf(",\"observed\":");
		json_str(L->vobs);
		printf(",\"verdict\":");
		json_str(L->vverdict);
		printf(",\"op\":%lu,\"segment_ops\":%u,\"segment_ms\":%lld,"
		       "\"slice\":", L->ops, L->nseg,
		       (long long)(chan_now_ms() - L->seg_start_ms));
		json_str(path);
		printf("}\n");
	}
	printf("{\"event\":\"end\",\"role\":\"backend\",\"ops\":%lu,"
	       "\"messages\":%lu,\"controls\":%lu,\"seconds\":%.3f,"
	       "\"ops_per_sec\":%.1f,\"states\":%u,\"new_states\":%lu,"
	       "\"corpus\":%u,\"mutants\":%lu,"
	       "\"open_choices\":%lu,\"avoided\":%lu,\"cuts\":%lu,"
	       "\"should\":%lu,\"recycled\":false,\"pid\":%ld,\"edges\":",
	       L->ops, L->msgs, L->controls, secs,
	       secs > 0 ? (double)L->ops / secs : 0.0, L->nstates, L->new_states,
	       L->ncorpus, L->mutants, L->open_choices, L->avoided, L->cuts,
	       L->should_misses, (long)L->peer.t.pid);
	if (L->edges.trace && L->edges.edges)   /* as vhu-fuzzlive's */
		printf("%lu,\"new_edge_buckets\":%lu}\n", L->edges.edges,
		       L->edges.new_bits);
	else
		printf("null}\n");
	fflush(stdout);
}

/* --states: the (op, reply, need, live-set) tuples of earlier streams. */
static void states_io(struct belive *L, const char *path, bool save)
{
	FILE *f;

	if (!path || !(f = fopen(path, save ? "wb" : "rb")))
		return;
	if (save)
		fwrite(L->states, sizeof(L->states[0]), L->nstates, f);
	else
		L->nstates = (unsigned)fread(L->states, sizeof(L->states[0]),
					     BELIVE_MAX_STATES, f);
	fclose(f);
}

/* ---- main ---- */

/* The shared options (liveopts.h). --regions is accepted for the
 * runner's sake: the regions are the back-end's own. */
static int parse(struct args *a, int argc, char **argv)
{
	char err[256];

	if (liveopts_parse(&a->o, argc, argv, err, sizeof(err)) != 0)
		return liveopts_usage("vhu-fuzzlive-be", err);
	a->peer = (struct bepeer_opts){ .cmd = a->o.cmd, .log_path = a->o.log_path,
					.shmem_bit = a->o.shmem_bit,
					.timeout_ms = a->o.timeout_ms };
	return 0;
}

int main(int argc, char **argv)
{
	static struct belive L;   /* large; one per process */
	struct args a;
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
	if (target_setup() != 0) {
		fprintf(stderr, "vhu-fuzzlive-be: set-up failed\n");
		return FUZZ_EXIT_SETUP;
	}
	L.rng = a.o.seed * UINT64_C(0x9e3779b97f4a7c15) + 1;
	states_io(&L, a.o.states, false);
	if (a.o.edges && edgemap_open(&L.edges, err, sizeof(err)) != 0) {
		fprintf(stderr, "vhu-fuzzlive-be: %s\n", err);
		return FUZZ_EXIT_SETUP;
	}
	if (edgemap_beside(&L.edges, a.o.states, false) != 0)
		fprintf(stderr, "vhu-fuzzlive-be: %s.edges: not this map's; "
			"starting from no edges\n", a.o.states);
	t0 = chan_now_ms();
	if (bepeer_start(&L.peer, &a.peer, err, sizeof(err)) != 0) {
		fprintf(stderr, "vhu-fuzzlive-be: %s\n", err);
		bepeer_stop(&L.peer);
		edgemap_close(&L.edges);
		return FUZZ_EXIT_SETUP;
	}
	memcpy(L.model.sizes, L.peer.cfg.memory_sizes, sizeof(L.model.sizes));
	L.model.shmem = L.model.reply_ack = true;
	L.vary = true;
	L.seg_start_ms = chan_now_ms();
	end = t0 + (int64_t)a.o.seconds * 1000;
	if (a.o.pingpong)
		belive_pingpong(&L, end, a.o.max_ops);
	edgemap_started(&L.edges);
	while (!a.o.pingpong && !L.violated && chan_now_ms() < end &&
	       (!a.o.max_ops || L.ops < a.o.max_ops)) {
		belive_step(&L);
		/* --edges: a new bucket of the back-end's keeps the segment */
		if (L.edges.trace && edgemap_take(&L.edges))
			L.seg_new = true;
	}
	report(&L, &a, t0);
	states_io(&L, a.o.states, true);
	bepeer_stop(&L.peer);
	if (edgemap_beside(&L.edges, a.o.states, true) != 0)
		fprintf(stderr, "vhu-fuzzlive-be: %s.edges: cannot write\n", a.o.states);
	edgemap_close(&L.edges);
	return L.violated ? 1 : 0;
}
