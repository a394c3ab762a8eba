/* SPDX-License-Identifier: MIT */
#include "monreport.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <time.h>

#include "result.h"

static void json_string(FILE *f, const char *s)
{
	char buf[2048];

	if (!s) {
		fputs("null", f);
		return;
	}
	result_json_escape(s, strlen(s), buf, sizeof(buf));
	fprintf(f, "\"%s\"", buf);
}

static void iso_time(int64_t unix_ms, char *out, size_t cap)
{
	time_t t = (time_t)(unix_ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void write_side(FILE *f, const char *name, const struct monreport_side *s)
{
	fprintf(f, " \"%s\": {\"cmd\": ", name);
	json_string(f, s->cmd);
	fputs(", \"socket\": ", f);
	json_string(f, s->socket);
	fputs(", \"pid\": ", f);
	if (s->pid)
		fprintf(f, "%d", (int)s->pid);
	else
		fputs("null", f);
	fputs(", \"exit\": ", f);
	if (s->ended && s->exited)
		fprintf(f, "%d", s->exit_code);
	else
		fputs("null", f);
	fputs(", \"signal\": ", f);
	if (s->ended && s->signal)
		fprintf(f, "%d", s->signal);
	else
		fputs("null", f);
	fputs(", \"log\": ", f);
	json_string(f, s->log);
	fputs("},\n", f);
}

static const char *yes(bool b)
{
	return b ? "true" : "false";
}

static void write_negotiated(FILE *f, const struct monitor *m)
{
	fprintf(f, " \"negotiated\": {\"features_offered\": \"0x%" PRIx64
		"\", \"features\": \"0x%" PRIx64 "\", \"protocol_features_offered\": "
		"\"0x%" PRIx64 "\", \"protocol_features\": \"0x%" PRIx64 "\", "
		"\"shmem\": %s, \"reply_ack\": %s, \"backend_req\": %s, "
		"\"backend_send_fd\": %s, \"backend_channel\": %s, \"resets\": %u, "
		"\"shmem_regions\": [",
		m->features_offered, m->features_acked, m->pfeat_offered,
		m->pfeat_acked, yes(monitor_shmem(m)),
		yes(monitor_pfeat(m, PROTO_PF_REPLY_ACK)),
		yes(monitor_pfeat(m, PROTO_PF_BACKEND_REQ)),
		yes(monitor_pfeat(m, PROTO_PF_BACKEND_SEND_FD)),
		yes(m->backend_chan), m->resets);
	for (unsigned i = 0, n = 0; m->have_config && i < PROTO_SHMEM_MAX_REGIONS; i++)
		if (m->config.memory_sizes[i])
			fprintf(f, "%s{\"shmid\": %u, \"size\": %" PRIu64 "}",
				n++ ? ", " : "", i, m->config.memory_sizes[i]);
	fprintf(f, "], \"live_mappings_at_end\": %u},\n", m->ledger.nlive);
}

static void write_counts(FILE *f, const struct monreport_info *in,
			 const struct monitor *m)
{
	fprintf(f, " \"messages\": {\"total\": %u, \"main\": {\"frontend\": %u, "
		"\"backend\": %u}, \"backend\": {\"frontend\": %u, \"backend\": %u}, "
		"\"relayed\": %u, \"dropped\": %u, \"injected\": %u},\n",
		m->nmsgs, m->count[0][0], m->count[0][1], m->count[1][0],
		m->count[1][1], in->relayed, in->dropped, in->injected);
	fputs(" \"checks\": {", f);
	for (unsigned c = 0; c < MONITOR_CHECK_MAX; c++)
		fprintf(f, "%s\"%s\": {\"error\": %u, \"warn\": %u, \"info\": %u}",
			c ? ", " : "", monitor_check_name((enum monitor_check)c),
			m->by_check[c][0], m->by_check[c][1], m->by_check[c][2]);
	fprintf(f, "},\n \"counts\": {\"error\": %u, \"warn\": %u, \"info\": %u},\n",
		m->by_severity[0], m->by_severity[1], m->by_severity[2]);
}

static void write_findings(FILE *f, const struct monitor *m)
{
	char buf[2048];

	fprintf(f, " \"findings_dropped\": %u,\n \"findings\": [", m->findings_dropped);
	for (unsigned i = 0; i < m->nfindings; i++) {
		monitor_finding_json(&m->findings[i], buf, sizeof(buf));
		fprintf(f, "%s\n  %s", i ? "," : "", buf);
	}
	fputs("\n ]\n}\n", f);
}

int monreport_write(FILE *f, const struct monreport_info *in,
		    const struct monitor *m)
{
	char when[32];

	iso_time(in->started_unix_ms, when, sizeof(when));
	fprintf(f, "{\n \"tool\": \"vhucheck-monitor\", \"schema\": %d, \"version\": ",
		MONREPORT_SCHEMA);
	json_string(f, in->version);
	fprintf(f, ",\n \"shmem_bit\": %u, \"started\": \"%s\", \"duration_ms\": %.1f,\n"
		" \"end\": ", in->shmem_bit, when, in->duration_ms);
	json_string(f, in->end_reason);
	fputs(",\n \"trace\": ", f);
	json_string(f, in->trace_path);
	fputs(",\n", f);
	write_side(f, "frontend", &in->side[0]);
	write_side(f, "backend", &in->side[1]);
	write_negotiated(f, m);
	write_counts(f, in, m);
	fputs(" \"fault_rules\": [", f);
	for (unsigned i = 0; i < in->nrules; i++) {
		fputs(i ? ", " : "", f);
		json_string(f, in->rules[i].spec);
	}
	fprintf(f, "],\n \"control_script_errors\": %u,\n", in->script_errors);
	write_findings(f, m);
	return ferror(f) ? -EIO : 0;
}
