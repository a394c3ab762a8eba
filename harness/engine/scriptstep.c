/* SPDX-License-Identifier: MIT */
/* scriptstep: action step parsers (scriptstep.h). */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "proto.h"

#include "scriptstep.h"

/* ---- steps, both roles ---- */

bool sstep_fd(struct pctx *p, char **w, unsigned n)
{
	struct script_fd *f = &p->st->u.fd;
	struct args a;
	bool bad = false;
	int kind;

	if (n < 2 || strchr(w[0], '=') || strchr(w[1], '=')) {
		sctx_perr(p, "usage: fd NAME KIND [size=N]");
		return false;
	}
	if (!sctx_valid_name(w[0], FDPOOL_NAME_MAX)) {
		sctx_perr(p, "fd name '%s': letters, digits, '_' and '-', at most %d",
		     w[0], FDPOOL_NAME_MAX - 1);
		return false;
	}
	kind = fdpool_kind_by_name(w[1]);
	if (kind < 0) {
		sctx_perr(p, "unknown fd kind '%s' (memfd, memfd-sealed, memfd-empty, "
			"rdonly-file, pipe, socket, closed)", w[1]);
		return false;
	}
	if (p->depth > 0) {
		sctx_perr(p, "'fd' inside a repeat block: declare fds before it");
		return false;
	}
	for (unsigned i = 0; i < p->nfds; i++) {
		if (strcmp(p->fds[i], w[0]) == 0) {
			sctx_perr(p, "fd '%s' declared twice", w[0]);
			return false;
		}
	}
	if (p->nfds == FDPOOL_MAX) {
		sctx_perr(p, "more than %d fds", FDPOOL_MAX);
		return false;
	}
	snprintf(f->name, sizeof(f->name), "%s", w[0]);
	f->kind = (enum fdpool_kind)kind;
	f->size = kind == FDPOOL_MEMFD_EMPTY ? 0 : 0x10000;
	if (!sctx_split_args(p, w + 2, n - 2, &a))
		return false;
	if (kind == FDPOOL_MEMFD || kind == FDPOOL_MEMFD_SEALED ||
	    kind == FDPOOL_RDONLY_FILE)
		sctx_arg_num(p, &a, "size", true, 1ull << 40, &f->size, &bad);
	if (bad || !sctx_args_all_used(p, &a, "fd"))
		return false;
	snprintf(p->fds[p->nfds++], FDPOOL_NAME_MAX, "%s", w[0]);
	return true;
}

/* `sleep MS`, `repeat N`: one number. */
bool sstep_count(struct pctx *p, char **w, unsigned n, uint64_t max)
{
	const char *what = script_op_name(p->st->op);
	int rc;

	if (n != 1) {
		sctx_perr(p, "usage: %s %s", what,
		     p->st->op == SCRIPT_SLEEP ? "MS" : "N");
		return false;
	}
	rc = script_parse_u64(w[0], false, &p->st->count);
	if (rc < 0 || p->st->count > max) {
		sctx_perr(p, "%s %s: %s (0 to %llu)", what, w[0],
		     rc == -EINVAL ? "not a number" : "out of range",
		     (unsigned long long)max);
		return false;
	}
	return true;
}

bool sstep_repeat(struct pctx *p, char **w, unsigned n)
{
	if (!sstep_count(p, w, n, 1000000))
		return false;
	if (p->depth == SCTX_MAX_DEPTH) {
		sctx_perr(p, "repeat blocks nested deeper than %u", SCTX_MAX_DEPTH);
		return false;
	}
	p->stack[p->depth++] = p->c->nsteps - 1;
	return true;
}

bool sstep_end(struct pctx *p, unsigned n)
{
	unsigned open_idx, idx = p->c->nsteps - 1;

	if (n != 0) {
		sctx_perr(p, "'end' takes no arguments");
		return false;
	}
	if (p->depth == 0) {
		sctx_perr(p, "'end' without 'repeat'");
		return false;
	}
	open_idx = p->stack[--p->depth];
	p->c->steps[open_idx].jump = idx;
	p->st->jump = open_idx;
	return true;
}

bool sstep_control(struct pctx *p, char **w, unsigned n)
{
	static const char *const fe_cmds[] = { "start", "stop", "reset",
		"reconnect", "dump", "quit", NULL };
	static const char *const be_cmds[] = { "map", "unmap", "get-config",
		"dump", "reset", "quit", NULL };
	static const char *const ok_err[] = { "ok", "err", NULL };
	const char *const *cmds = p->c->role == SCRIPT_ROLE_BACKEND ? fe_cmds
								       : be_cmds;
	struct script_control *ctl = &p->st->u.control;
	struct args a;
	bool bad = false, known = false;
	size_t len;
	int i;

	if (n < 1 || strchr(w[0], '=')) {
		sctx_perr(p, "usage: control CMD [k=v ...] [expect=ok|err]");
		return false;
	}
	for (i = 0; cmds[i]; i++)
		known |= strcmp(cmds[i], w[0]) == 0;
	if (!known) {
		sctx_perr(p, "control '%s': not a command of a %s target", w[0],
		     p->c->role == SCRIPT_ROLE_BACKEND ? "front-end" : "back-end");
		return false;
	}
	if (!p->c->requires_control) {
		sctx_perr(p, "'control' needs 'requires control' in the header");
		return false;
	}
	if (!sctx_split_args(p, w + 1, n - 1, &a))
		return false;
	i = sctx_arg_choice(p, &a, "expect", ok_err, &bad);
	ctl->expect = i == 1 ? SCRIPT_CTL_ERR : SCRIPT_CTL_OK;
	if (bad || !sctx_take_within(p, &a, 1000))
		return false;
	len = (size_t)snprintf(ctl->line, sizeof(ctl->line), "%s", w[0]);
	for (unsigned k = 0; k < a.n && len < sizeof(ctl->line); k++) {
		if (a.a[k].used)
			continue;
		len += (size_t)snprintf(ctl->line + len, sizeof(ctl->line) - len,
					a.a[k].val ? " %s=%s" : " %s", a.a[k].key,
					a.a[k].val ? a.a[k].val : "");
	}
	if (len >= sizeof(ctl->line)) {
		sctx_perr(p, "control line longer than %zu bytes",
		     sizeof(ctl->line) - 1);
		return false;
	}
	return true;
}

static bool parse_on_off(struct pctx *p, struct args *a, const char *key,
			 unsigned bit, uint64_t *off_mask)
{
	static const char *const oo[] = { "on", "off", NULL };
	bool bad = false;

	if (sctx_arg_choice(p, a, key, oo, &bad) == 1)
		*off_mask |= 1ull << bit;
	return !bad;
}

static bool parse_handshake_features(struct pctx *p, struct args *a)
{
	static const struct {
		const char *key;
		unsigned bit;
	} feats[] = {
		{ "reply-ack", PROTO_PF_REPLY_ACK },
		{ "backend-req", PROTO_PF_BACKEND_REQ },
		{ "backend-send-fd", PROTO_PF_BACKEND_SEND_FD },
		{ "slots", PROTO_PF_CONFIGURE_MEM_SLOTS },
		{ "status", PROTO_PF_STATUS },
		{ "reset-device", PROTO_PF_RESET_DEVICE },
	};
	struct script_handshake *hs = &p->st->u.hs;

	for (size_t i = 0; i < sizeof(feats) / sizeof(feats[0]); i++)
		if (!parse_on_off(p, a, feats[i].key, feats[i].bit, &hs->pf_off))
			return false;
	return true;
}

/* regions=/nregions= (harness as back-end) or mem= (as front-end). */
static bool parse_handshake_layout(struct pctx *p, struct args *a)
{
	struct script_handshake *hs = &p->st->u.hs;
	bool bad = false;
	const char *v;

	if (p->c->role == SCRIPT_ROLE_FRONTEND) {
		hs->mem = 0x100000;
		sctx_arg_num(p, a, "mem", true, 1ull << 32, &hs->mem, &bad);
		if (!bad && hs->mem < 0x10000) {
			sctx_perr(p, "mem=0x%llx: at least 64k (the vring lives there)",
			     (unsigned long long)hs->mem);
			bad = true;
		}
		return !bad;
	}
	v = sctx_arg_val(p, a, "regions", &bad);
	hs->has_regions = v != NULL;
	if (v && !sctx_parse_sizes(p, "regions", v, &hs->nsizes))
		return false;
	if (!v && !bad) {
		p->st->list = calloc(SCRIPT_MAX_REGIONS, sizeof(uint64_t));
		if (!p->st->list) {
			sctx_perr(p, "out of memory");
			return false;
		}
		p->st->list[0] = 0x100000;
		hs->nsizes = 1;
	}
	hs->has_nregions = sctx_arg_u32(p, a, "nregions", false, &hs->nregions, &bad);
	hs->has_max_slots = sctx_arg_num(p, a, "max-slots", false, 0xffffffffu,
				    &hs->max_slots, &bad);
	hs->has_config_size = sctx_arg_u32(p, a, "config-size", false,
				      &hs->config_size, &bad);
	hs->has_config_request = sctx_arg_u32(p, a, "config-request", false,
					 &hs->config_request, &bad);
	hs->has_config_flags = sctx_arg_u32(p, a, "config-flags", false,
				       &hs->config_flags, &bad);
	hs->has_config_padding = sctx_arg_u32(p, a, "config-padding", false,
					 &hs->config_padding, &bad);
	if (!bad && hs->has_config_size && hs->config_size > PROTO_SHMEM_CONFIG_SIZE) {
		sctx_perr(p, "config-size=%u: at most %u", hs->config_size,
		     PROTO_SHMEM_CONFIG_SIZE);
		return false;
	}
	return !bad;
}

bool sstep_handshake(struct pctx *p, char **w, unsigned n)
{
	static const char *const be_shmem[] = { "on", "off", "offer-only", NULL };
	static const char *const fe_shmem[] = { "on", "off", NULL };
	static const char *const yes_no[] = { "yes", "no", NULL };
	struct script_handshake *hs = &p->st->u.hs;
	struct args a;
	bool bad = false;
	uint64_t bit;
	int i;

	if (!sctx_split_args(p, w, n, &a))
		return false;
	i = sctx_arg_choice(p, &a, "shmem",
		       p->c->role == SCRIPT_ROLE_BACKEND ? be_shmem : fe_shmem,
		       &bad);
	hs->shmem = i >= 0 ? (enum script_shmem)i : SCRIPT_SHMEM_ON;
	if (sctx_arg_num(p, &a, "shmem-bit", false, 63, &bit, &bad)) {
		hs->has_shmem_bit = true;
		hs->shmem_bit = (unsigned)bit;
	}
	i = sctx_arg_choice(p, &a, "start", yes_no, &bad);
	hs->start = i != 1;
	if (bad || !parse_handshake_features(p, &a) ||
	    !parse_handshake_layout(p, &a) || !sctx_take_within(p, &a, 2000))
		return false;
	if (!sctx_args_all_used(p, &a, "handshake"))
		return false;
	p->c->has_handshake = true;
	return true;
}

static bool parse_fd_list(struct pctx *p, const char *v, char names[][FDPOOL_NAME_MAX],
			  unsigned max, unsigned *count)
{
	char buf[1024], *save = NULL, *tok;

	*count = 0;
	if (strlen(v) >= sizeof(buf) || v[0] == '\0' || v[0] == ',' ||
	    v[strlen(v) - 1] == ',' || strstr(v, ",,")) {
		sctx_perr(p, "fd=%s: expected fd names separated by commas", v);
		return false;
	}
	snprintf(buf, sizeof(buf), "%s", v);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (*count == max) {
			sctx_perr(p, "fd=: more than %u fds", max);
			return false;
		}
		if (!sctx_fd_declared(p, tok))
			return false;
		snprintf(names[(*count)++], FDPOOL_NAME_MAX, "%s", tok);
	}
	return true;
}

/* Arguments every kind of send shares. */
static bool parse_send_common(struct pctx *p, struct args *a)
{
	struct script_send *s = &p->st->u.send;
	bool bad = false;
	const char *v;

	s->need_reply = sctx_arg_flag(p, a, "need_reply", &bad);
	s->has_hdr_flags = sctx_arg_u32(p, a, "hdr_flags", false, &s->hdr_flags, &bad);
	s->has_size = sctx_arg_u32(p, a, "size", true, &s->size, &bad);
	s->has_truncate = sctx_arg_u32(p, a, "truncate", true, &s->truncate, &bad);
	v = sctx_arg_val(p, a, "fd", &bad);
	if (v && !parse_fd_list(p, v, s->fds, SCRIPT_MAX_SEND_FDS, &s->nfds))
		return false;
	v = sctx_arg_val(p, a, "payload", &bad);
	if (v) {
		if (!sctx_parse_hex(p, "payload", v, SCTX_MAX_DATA, &p->st->data,
			       &p->st->data_len))
			return false;
		s->has_payload = true;
	}
	return !bad;
}

static bool parse_mmap_flags(struct pctx *p, struct args *a, uint64_t *flags)
{
	bool bad = false;
	const char *v = sctx_arg_val(p, a, "flags", &bad);
	int rc;

	if (!v)
		return !bad;
	if (strcmp(v, "rw") == 0) {
		*flags = PROTO_MMAP_F_RW;
		return true;
	}
	if (strcmp(v, "ro") == 0) {
		*flags = 0;
		return true;
	}
	rc = script_parse_u64(v, false, flags);
	if (rc < 0)
		sctx_perr(p, "flags=%s: expected rw, ro or a number", v);
	return rc == 0;
}

static bool parse_send_mmap(struct pctx *p, struct args *a)
{
	struct script_send *s = &p->st->u.send;
	bool bad = false;
	uint64_t shmid = 0;
	const char *v;
	uint8_t *pad = NULL;
	size_t padlen = 0;

	s->request = s->kind == SCRIPT_SEND_MAP ? PROTO_BE_SHMEM_MAP
						: PROTO_BE_SHMEM_UNMAP;
	s->len = 0x1000;
	s->flags = s->kind == SCRIPT_SEND_MAP ? PROTO_MMAP_F_RW : 0;
	sctx_arg_num(p, a, "shmid", false, 255, &shmid, &bad);
	s->shmid = (uint8_t)shmid;
	sctx_arg_num(p, a, "shm_offset", true, UINT64_MAX, &s->shm_offset, &bad);
	sctx_arg_num(p, a, "fd_offset", true, UINT64_MAX, &s->fd_offset, &bad);
	sctx_arg_num(p, a, "len", true, UINT64_MAX, &s->len, &bad);
	if (bad || !parse_mmap_flags(p, a, &s->flags))
		return false;
	v = sctx_arg_val(p, a, "padding", &bad);
	if (v) {
		if (strlen(v) != 14) {
			sctx_perr(p, "padding=%s: expected 14 hex digits (7 bytes)", v);
			return false;
		}
		if (!sctx_parse_hex(p, "padding", v, 7, &pad, &padlen))
			return false;
		memcpy(s->padding, pad, 7);
		free(pad);
	}
	v = sctx_arg_val(p, a, "request", &bad);
	if (v && !sctx_resolve_request(p, v, &s->request))
		return false;
	return !bad;
}

bool sstep_send(struct pctx *p, char **w, unsigned n)
{
	struct script_send *s = &p->st->u.send;
	enum script_chan dflt = p->c->role == SCRIPT_ROLE_BACKEND ? SCRIPT_BACKEND
								  : SCRIPT_MAIN;
	unsigned first = 1;
	bool bad = false;
	struct args a;

	if (n < 1 || strchr(w[0], '=')) {
		sctx_perr(p, "usage: send map|unmap|raw|NAME [arguments]");
		return false;
	}
	if (strcmp(w[0], "map") == 0 || strcmp(w[0], "unmap") == 0) {
		if (!sctx_need_role(p, SCRIPT_ROLE_BACKEND, "send map/unmap"))
			return false;
		s->kind = w[0][0] == 'm' ? SCRIPT_SEND_MAP : SCRIPT_SEND_UNMAP;
		dflt = SCRIPT_BACKEND;
	} else if (strcmp(w[0], "raw") == 0) {
		s->kind = SCRIPT_SEND_RAW;
		if (n < 2 || strchr(w[1], '=')) {
			sctx_perr(p, "usage: send raw HEX [fd=...] [on=...]");
			return false;
		}
		if (!sctx_parse_hex(p, "raw", w[1], SCTX_MAX_DATA + PROTO_HDR_SIZE,
			       &p->st->data, &p->st->data_len))
			return false;
		first = 2;
	} else {
		s->kind = SCRIPT_SEND_NAMED;
	}
	if (!sctx_split_args(p, w + first, n - first, &a) || !sctx_take_on(p, &a, dflt))
		return false;
	if (s->kind == SCRIPT_SEND_RAW) {
		const char *v = sctx_arg_val(p, &a, "fd", &bad);

		if (v && !parse_fd_list(p, v, s->fds, SCRIPT_MAX_SEND_FDS, &s->nfds))
			return false;
	} else {
		if (!parse_send_common(p, &a))
			return false;
	}
	if (s->kind == SCRIPT_SEND_MAP || s->kind == SCRIPT_SEND_UNMAP) {
		if (!parse_send_mmap(p, &a))
			return false;
	} else if (s->kind == SCRIPT_SEND_NAMED) {
		s->has_u64 = sctx_arg_num(p, &a, "u64", true, UINT64_MAX, &s->u64, &bad);
		if (s->has_u64 && s->has_payload) {
			sctx_perr(p, "u64= and payload= together");
			return false;
		}
		if (bad || !sctx_resolve_request(p, w[0], &s->request))
			return false;
	}
	if (bad || !sctx_args_all_used(p, &a, "send"))
		return false;
	p->has_send = true;
	p->last_send_chan = p->st->on;
	return true;
}

bool sstep_reply(struct pctx *p, char **w, unsigned n)
{
	struct script_reply *r = &p->st->u.reply;
	bool bad = false;
	struct args a;
	const char *v;

	if (!sctx_need_role(p, SCRIPT_ROLE_FRONTEND, "reply") ||
	    !sctx_split_args(p, w, n, &a) || !sctx_take_on(p, &a, SCRIPT_BACKEND))
		return false;
	sctx_arg_num(p, &a, "value", true, UINT64_MAX, &r->value, &bad);
	r->has_flags = sctx_arg_u32(p, &a, "flags", false, &r->flags, &bad);
	r->has_size = sctx_arg_u32(p, &a, "size", true, &r->size, &bad);
	r->has_split = sctx_arg_u32(p, &a, "split", false, &r->split, &bad);
	if (sctx_arg_u32(p, &a, "pause", false, &r->pause_ms, &bad) &&
	    (!r->has_split || r->pause_ms > SCTX_MAX_WINDOW_MS)) {
		sctx_perr(p, "pause= needs split= and at most %u ms", SCTX_MAX_WINDOW_MS);
		return false;
	}
	if (r->has_split && (r->split == 0 || r->split >= PROTO_HDR_SIZE + SCTX_MAX_DATA)) {
		sctx_perr(p, "split=%u: 1 to the message's length less one", r->split);
		return false;
	}
	v = sctx_arg_val(p, &a, "payload", &bad);
	if (v) {
		if (!sctx_parse_hex(p, "payload", v, SCTX_MAX_DATA, &p->st->data,
			       &p->st->data_len))
			return false;
		r->has_payload = true;
	}
	v = sctx_arg_val(p, &a, "fd", &bad);
	if (v) {
		if (!sctx_fd_declared(p, v))
			return false;
		snprintf(r->fd, sizeof(r->fd), "%s", v);
		r->has_fd = true;
	}
	return !bad && sctx_args_all_used(p, &a, "reply");
}

bool sstep_close(struct pctx *p, char **w, unsigned n)
{
	if (n != 1 || strcmp(w[0], "backend") != 0) {
		sctx_perr(p, "usage: close backend");
		return false;
	}
	p->st->on = SCRIPT_BACKEND;
	return true;
}

bool sstep_mark(struct pctx *p, unsigned n)
{
	if (n != 0) {
		sctx_perr(p, "'mark' takes no arguments");
		return false;
	}
	p->marked = true;
	return sctx_need_pid(p);
}

/* hold main NAME[|NAME...]: those main-channel requests stay unanswered
 * until `release main`, so that a case can probe what the front-end
 * does while its own request waits. */
bool sstep_hold(struct pctx *p, char **w, unsigned n)
{
	struct script_order_item *it = &p->st->u.hold;

	if (!sctx_need_role(p, SCRIPT_ROLE_BACKEND, "hold"))
		return false;
	if (n != 2 || strcmp(w[0], "main") != 0) {
		sctx_perr(p, "usage: hold main NAME[|NAME...]");
		return false;
	}
	snprintf(it->text, sizeof(it->text), "%s", w[1]);
	it->chan = SCRIPT_MAIN;
	p->st->on = SCRIPT_MAIN;
	return sctx_parse_names(p, w[1], it->req, &it->nreq);
}

bool sstep_release(struct pctx *p, char **w, unsigned n)
{
	if (!sctx_need_role(p, SCRIPT_ROLE_BACKEND, "release"))
		return false;
	if (n != 1 || strcmp(w[0], "main") != 0) {
		sctx_perr(p, "usage: release main");
		return false;
	}
	return true;
}
