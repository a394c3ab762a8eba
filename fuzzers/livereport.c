/* SPDX-License-Identifier: MIT */
/* livereport: what vhu-fuzzlive prints and writes at its end (fuzzlive.h). */
#include <stdio.h>
#include <unistd.h>

#include "chan.h"
#include "fuzzlive.h"
#include "seqop.h"

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static bool put(FILE *f, const struct seqop *op)
{
	uint8_t rec[SEQOP_SIZE];

	seqop_encode(op, rec);
	return fwrite(rec, 1, sizeof(rec), f) == sizeof(rec);
}

/* Whether record i of s is one of its leading CONFIG/NEGOTIATE records
 * (already written as the ones in force). */
static bool leading(const struct livegen_seg *s, unsigned i)
{
	for (unsigned k = 0; k <= i; k++) {
		enum seqop_kind kind = seqop_kind(&s->ops[k]);

		if (kind != SEQOP_CONFIG && kind != SEQOP_NEGOTIATE)
			return false;
	}
	return true;
}

/* The operations since the last reset, as a fuzz_shmem_sequence input. */
static int write_slice(const struct live *L, const char *dir, char *path,
		       size_t cap)
{
	/* A reset's checks judge the segment before it: that one, then the
	 * reset. */
	const struct livegen_seg *before = L->gen.cur.n == 1 &&
		seqop_kind(&L->gen.cur.ops[0]) == SEQOP_RESET ? &L->gen.prev : NULL;
	bool ok = true;
	FILE *f;

	snprintf(path, cap, "%s/slice-%ld-%lu.input", dir, (long)getpid(), L->ops);
	f = fopen(path, "wb");
	if (!f)
		return -1;

	/* The regions and features in force come first: leading CONFIG and
	 * NEGOTIATE records are the case's handshake (emitfe); the
	 * segment's own leading one is the same record. */
	if (L->gen.have_negotiate)
		ok = put(f, &L->gen.negotiate);
	if (L->gen.have_config)
		ok = ok && put(f, &L->gen.config);
	for (unsigned i = 0; before && i < before->n; i++)
		ok = ok && (leading(before, i) || put(f, &before->ops[i]));
	for (unsigned i = 0; i < L->gen.cur.n; i++)
		ok = ok && ((!before && leading(&L->gen.cur, i)) ||
			    put(f, &L->gen.cur.ops[i]));
	return fclose(f) == 0 && ok ? 0 : -1;
}

void live_report(const struct live *L, const struct live_args *a, int64_t t0)
{
	double secs = (double)(chan_now_ms() - t0) / 1000.0;
	char path[4096] = "";

	if (L->violated) {
		if (write_slice(L, a->o.out, path, sizeof(path)) != 0)
			path[0] = '\0';
		printf("{\"event\":\"violation\",\"class\":");
		json_str(stdout, L->vclass);
		printf(",\"kind\":");
		json_str(stdout, L->vkind);
		printf(",\"rule\":");
		json_str(stdout, L->vrule);
		printf(",\"observed\":");
		json_str(stdout, L->vobs);
		printf(",\"after\":");
		json_str(stdout, L->gen.cur.n > 1 ? seqop_kind_name(seqop_kind(
			&L->gen.cur.ops[L->gen.cur.n - 2])) : "");
		printf(",\"verdict\":");
		json_str(stdout, L->verdict ? L->verdict : "");
		printf(",\"op\":%lu,\"segment_ops\":%u,\"segment_ms\":%lld,"
		       "\"slice\":", L->ops, L->gen.cur.n,
		       (long long)(chan_now_ms() - L->seg_start_ms));
		json_str(stdout, path);
		printf("}\n");
	}
	printf("{\"event\":\"end\",\"ops\":%lu,\"messages\":%lu,\"controls\":%lu,"
	       "\"seconds\":%.3f,\"ops_per_sec\":%.1f,\"states\":%u,"
	       "\"new_states\":%lu,\"corpus\":%u,\"mutants\":%u,"
	       "\"open_choices\":%lu,\"stray_replies\":%lu,\"avoided\":%lu,"
	       "\"adopted\":%lu,\"settled\":%lu,\"spared\":%lu,\"scrubbed\":%lu,"
	       "\"absorbed\":%lu,"
	       "\"main_messages\":%u,\"recycled\":%s,"
	       "\"pid\":%ld,\"edges\":",
	       L->ops, L->msgs,
	       L->controls, secs, secs > 0 ? (double)L->ops / secs : 0.0,
	       L->gen.nstates, L->new_states, L->gen.ncorpus, L->gen.mutants,
	       L->open_choices, L->strays, L->avoided, L->adopted, L->settled,
	       L->spared, L->scrubbed, L->absorbed,
	       L->peer.main_msgs,
	       L->recycle ? "true" : "false", (long)L->peer.t.pid);
	/* null: not asked, or the target never wrote the map (not built
	 * with AFL++): no coverage to report, not zero coverage. */
	if (L->edges.trace && L->edges.edges)
		printf("%lu,\"new_edge_buckets\":%lu}\n", L->edges.edges,
		       L->edges.new_bits);
	else
		printf("null}\n");
	fflush(stdout);
}

