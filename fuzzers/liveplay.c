/* SPDX-License-Identifier: MIT */
/*
 * liveplay: one operation of a live stream played and judged
 * (fuzzlive.h; the program's comment in fuzzlive.c says what and why).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "fuzzlive.h"
#include "fuzzpool.h"
#include "seqop.h"

#define LIVE_OPEN_REPLY_MS 50         /* an open step's reply window */
/* What bends a message, for livespare's key */
#define LIVE_BENT_BITS (SEQOP_B_NEED_REPLY | SEQOP_B_PADDING | SEQOP_B_FLAGS | \
			SEQOP_B_HDR | SEQOP_B_SHORT)

/* ---- output ---- */

#if defined(__GNUC__)
__attribute__((format(printf, 5, 6)))
#endif
static void violate(struct live *L, const char *cls, const char *kind,
		    const char *rule, const char *fmt, ...)
{
	va_list ap;

	/* after a known FAIL, the rest of its operation's checks: the
	 * model no longer knows that region (lost when the operation ends) */
	if (L->violated || (L->absorbing && strcmp(cls, "FAIL") == 0))
		return;
	if (strcmp(cls, "FAIL") == 0 &&
	    liveopts_match(L->opts->known, L->opts->nknown, kind, rule)) {
		L->absorbed++;
		L->absorbing = true;
		return;
	}
	L->violated = true;
	snprintf(L->vclass, sizeof(L->vclass), "%s", cls);
	snprintf(L->vkind, sizeof(L->vkind), "%s", kind);
	snprintf(L->vrule, sizeof(L->vrule), "%s", rule);
	va_start(ap, fmt);
	vsnprintf(L->vobs, sizeof(L->vobs), fmt, ap);
	va_end(ap);
}

/* The target went: a crash (its signal or exit) or a closed channel. */
void live_gone(struct live *L, const char *kind)
{
	char sig[16];

	/* The channel's EOF shows before the process is reaped. */
	if (target_wait(&L->peer.t, chan_deadline(200)) == 0) {
		violate(L, "CLOSED", kind, "the target closed a channel",
			"a channel closed while the target runs");
		return;
	}
	if (L->peer.t.signal)
		violate(L, "CRASH", kind, "the target ended", "signal %s",
			target_signal_name(L->peer.t.signal, sig, sizeof(sig)));
	else
		violate(L, "CRASH", kind, "the target ended", "exit %d",
			L->peer.t.exit_code);
}

static void must_hold(struct live *L, bool must, const char *kind,
		      const char *rule, enum livecheck_what c, int fdi,
		      uint64_t offset, uint64_t len)
{
	char obs[1024];

	/* An open step's /proc would decide no verdict: not read (what the
	 * target kept of it, the next reset's checks still see). */
	if (!must || fdi < 0 ||
	    livecheck_holds(&L->chk, &L->peer, c, fdi, offset, len,
			    LIVECHECK_WINDOW_MS, obs, sizeof(obs)))
		return;
	violate(L, "FAIL", kind, rule, "%s", obs);
}

/* ---- messages ---- */

static bool tainted(const struct live *L, unsigned shmid)
{
	shmid %= PROTO_SHMEM_MAX_REGIONS;
	return L->taint_all || L->doubt || L->taint[shmid] || L->blind[shmid];
}

/* As emitfe's open_accept: a request the model takes that a front-end
 * may still refuse. */
static bool open_accept(const struct proto_hdr *h, const struct proto_mmap *m,
			unsigned choice)
{
	static const uint8_t zero[7];

	choice %= FUZZPOOL_CHOICE_MAX;
	if (memcmp(m->padding, zero, sizeof(zero)) != 0)
		return true;
	if (h->request == PROTO_BE_SHMEM_UNMAP)
		return m->fd_offset != 0 || m->flags != 0;
	return choice != FUZZPOOL_MEMFD_4K && choice != FUZZPOOL_MEMFD_64K &&
	       choice != FUZZPOOL_MEMFD_1M;
}

/* The reply to h: received, shape and value judged. Returns whether one
 * came (the message is then known handled). */
static bool judge_reply(struct live *L, const struct proto_hdr *h,
			struct chan_msg *r, const struct shadow_verdict *v,
			bool must, const char *kind, unsigned mt_before)
{
	uint64_t val = 1;

	if (r->hdr.request != h->request || r->hdr.flags !=
	    (PROTO_VERSION | PROTO_F_REPLY) || r->hdr.size != 8 ||
	    r->payload_len != 8) {
		if (must) {
			violate(L, "FAIL", kind, "7: the reply: request id as asked, "
				"flags 0x5, size 8", "reply request %u flags %#x size %u",
				r->hdr.request, r->hdr.flags, r->hdr.size);
		} else if (r->hdr.request != h->request || r->payload_len != 8) {
			L->open_choices++;
			L->held = true;
			return true;
		} else {
			/* Its own reply, flags or size bent (a front-end that
			 * echoes a bent header's bits): its value still says
			 * which way the open step went. */
			L->open_choices++;
		}
		if (must)
			return true;
	}
	proto_u64_decode(r->payload, 8, &val);
	if ((val == 0) != v->accepted) {
		if (must) {
			violate(L, "FAIL", kind, v->accepted ? "6/9: the model "
				"accepts it: reply 0" : v->why, "reply value %#llx",
				(unsigned long long)val);
		} else {
			L->open_choices++;
			L->held = true;
		}
		return true;
	}
	if (v->accepted && must && !L->ordered && L->peer.mt_msgs != mt_before)
		violate(L, "FAIL", kind, "9: the reply before any memory-table "
			"traffic it causes", "a memory-table update came first");
	return true;
}

static void map_done(struct live *L, const struct shadow_verdict *v,
		     const struct proto_mmap *m, const int *idx, int nfds,
		     bool must, const char *kind, bool synced)
{
	if (v->accepted) {
		L->maps[L->nmaps++] = (struct live_map){
			.shmid = m->shmid, .off = m->shm_offset, .len = m->len,
			.rw = (m->flags & PROTO_MMAP_F_RW) != 0,
			.fd_offset = m->fd_offset, .fdi = nfds == 1 ? idx[0] : -1 };
		if (synced)
			must_hold(L, must, kind, "6: the model accepts it: mapped "
				  "as asked (offset, length, r--s for read-only)",
				  (m->flags & PROTO_MMAP_F_RW) ? LIVECHECK_MAPPED_RW : LIVECHECK_MAPPED_RO,
				  nfds == 1 ? idx[0] : -1, m->fd_offset, m->len);
		return;
	}
	for (int i = 0; synced && i < nfds; i++) {
		bool mu = must && shadow_rule_must(v->why);

		must_hold(L, mu, kind, v->why, LIVECHECK_UNMAPPED, idx[i], 0, 0);
		must_hold(L, mu, kind, "12G: no fd leak: the front-end keeps no "
			  "copy of an fd it does not map", LIVECHECK_NO_FDS, idx[i], 0, 0);
	}
}

static void unmap_done(struct live *L, const struct shadow_verdict *v,
		       const struct proto_mmap *m, bool must, const char *kind,
		       bool synced)
{
	for (unsigned i = 0; i < L->nmaps; i++) {
		struct live_map *x = &L->maps[i];

		if (v->accepted && x->shmid == v->removed.shmid &&
		    x->off == v->removed.shm_offset && x->len == v->removed.len) {
			if (synced)
				must_hold(L, must, kind, "7: the model removes the "
					  "mapping", LIVECHECK_UNMAPPED, x->fdi, 0, 0);
			*x = L->maps[--L->nmaps];
			return;
		}
		if (!v->accepted && synced && must && !x->rough &&
		    x->shmid == m->shmid &&
		    shadow_overlap(x->off, x->len, m->shm_offset, m->len))
			must_hold(L, true, kind, "7: MUST fail: not exactly one "
				  "whole live mapping: the mapping stays",
				  x->rw ? LIVECHECK_MAPPED_RW : LIVECHECK_MAPPED_RO, x->fdi, x->fd_offset,
				  x->len);
	}
}

/* Sends h and waits for its reply, taking a late reply to an earlier
 * message sent without NEED_REPLY as stray (a front-end may answer
 * anyway). */
static int send_request(struct live *L, const struct proto_hdr *h,
		   const uint8_t *payload, const int *fds, unsigned nfds,
		   bool want, struct chan_msg *r)
{
	int rc = livepeer_request(&L->peer, h, payload, h->size, fds, nfds, want,
				  r);

	while (rc == LIVEPEER_OK && want && L->unanswered &&
	       r->hdr.request != h->request) {
		L->unanswered--;
		L->strays++;
		chan_msg_release(r);
		rc = livepeer_await(&L->peer, r);
	}
	return rc;
}

/* A reply that disagrees with the model while an earlier message of the
 * same request may still be answered (sent without NEED_REPLY, or with
 * the REPLY bit, which a front-end may answer anyway) could be that
 * one's: when another reply follows at once, that one is this
 * message's and the first was stray. */
static void second_look(struct live *L, struct chan_msg *r,
			const struct shadow_verdict *v)
{
	struct chan_msg next;
	uint64_t val = 1;

	if (!L->unanswered || r->payload_len != 8)
		return;
	proto_u64_decode(r->payload, 8, &val);
	if ((val == 0) == v->accepted)
		return;
	L->peer.reply_ms = LIVE_OPEN_REPLY_MS;
	if (livepeer_await(&L->peer, &next) == LIVEPEER_OK) {
		chan_msg_release(r);
		*r = next;
		L->unanswered--;
		L->strays++;
	} else {
		chan_msg_release(&next);
	}
	L->peer.reply_ms = 0;
}

/* Whether --avoid names this operation's kind and model verdict. */
bool live_avoided(const struct live *L, const char *kind, const char *why)
{
	return liveopts_match(L->opts->avoid, L->opts->navoid, kind, why);
}

static bool play_msg(struct live *L, const struct seqop *op, uint32_t request,
		     const char *kind);

static bool touches_live(const struct live *L, const struct proto_mmap *m)
{
	for (unsigned i = 0; i < L->nmaps; i++)
		if (L->maps[i].shmid == m->shmid &&
		    (m->len == 0 || shadow_overlap(L->maps[i].off, L->maps[i].len,
						   m->shm_offset, m->len)))
			return true;
	return false;
}

/* An open MAP or UNMAP that got no reply (none asked for, or not in
 * time): the target is sent a request it must answer, one it does not
 * serve (CONFIG_CHANGE_MSG with NEED_REPLY, played as the stream's next
 * operation, so the slice and its case hold it too). A front-end reads
 * its back-end channel in order, so once that answer came this message
 * was handled, and /proc says which way: its fd mapped as asked (taken)
 * or not mapped (refused); for an UNMAP, the mapping it names gone or
 * still there. An UNMAP that touches no live mapping needs no probe: it
 * leaves nothing to tell apart. LIVEGEN_NO_REPLY when that cannot be
 * told; a target that does not answer the probe is not asked again. */
static enum livegen_reply settle(struct live *L, uint32_t request,
				 const struct proto_mmap *m, const int *idx,
				 int nfds)
{
	const struct seqop probe = { .op = SEQOP_OTHER, .aux = LIVE_PROBE_REQUEST,
				     .bits = SEQOP_B_NEED_REPLY };
	const char *verdict = L->verdict;
	char obs[512];

	if (request == PROTO_BE_SHMEM_UNMAP && !touches_live(L, m))
		return LIVEGEN_REFUSED;
	if (L->no_settle || L->violated || !L->model.reply_ack ||
	    (request == PROTO_BE_SHMEM_MAP && nfds < 1))
		return LIVEGEN_NO_REPLY;
	L->answered = false;
	if (play_msg(L, &probe, LIVE_PROBE_REQUEST, "other"))
		L->ops++;
	L->verdict = verdict;
	if (!L->answered) {
		L->no_settle = !L->violated;
		return LIVEGEN_NO_REPLY;
	}
	L->settled++;
	if (request == PROTO_BE_SHMEM_MAP)
		return livecheck_holds(&L->chk, &L->peer, (m->flags & PROTO_MMAP_F_RW)
				       ? LIVECHECK_MAPPED_RW : LIVECHECK_MAPPED_RO,
				       idx[0], m->fd_offset, m->len, 0, obs, sizeof(obs))
		       ? LIVEGEN_ACCEPTED
		       : livecheck_holds(&L->chk, &L->peer, LIVECHECK_UNMAPPED, idx[0],
					 0, 0, 0, obs, sizeof(obs))
		       ? LIVEGEN_REFUSED : LIVEGEN_NO_REPLY;
	for (unsigned i = 0; i < L->nmaps; i++) {
		const struct live_map *x = &L->maps[i];

		if (x->shmid != m->shmid || x->off != m->shm_offset ||
		    x->len != m->len || x->fdi < 0 || x->rough)
			continue;
		/* unmapped maybe after the reply (QEMU's RCU): the window */
		if (livecheck_holds(&L->chk, &L->peer, LIVECHECK_UNMAPPED, x->fdi,
				    0, 0, LIVECHECK_WINDOW_MS, obs, sizeof(obs)))
			return LIVEGEN_ACCEPTED;
		return livecheck_holds(&L->chk, &L->peer, x->rw ? LIVECHECK_MAPPED_RW
				       : LIVECHECK_MAPPED_RO, x->fdi, x->fd_offset,
				       x->len, 0, obs, sizeof(obs))
		       ? LIVEGEN_REFUSED : LIVEGEN_NO_REPLY;
	}
	return LIVEGEN_NO_REPLY;
}

/* One MAP, UNMAP or other request, judged. false: not sent (avoided,
 * nothing sendable, the pool full): the operation is not played. */
static bool play_msg(struct live *L, const struct seqop *op, uint32_t request,
		     const char *kind)
{
	struct fuzzpool_traits tr = fuzzpool_traits(op->fd);
	struct shadow after = L->model, before = L->model;
	struct shadow_verdict v;
	struct proto_hdr h;
	struct proto_mmap m;
	uint8_t payload[PROTO_MMAP_SIZE];
	int idx[2] = { -1, -1 }, fds[2], nfds;
	struct chan_msg r;
	enum livegen_rel rel;
	enum livegen_reply rep = LIVEGEN_NO_REPLY;
	bool tnt, must, open, synced = false, held = L->held, rough = false;
	/* Only a MAP or an UNMAP can leave the model not knowing a shmid:
	 * another request, taken or not, maps nothing. */
	bool shmem_req = request == PROTO_BE_SHMEM_MAP ||
			 request == PROTO_BE_SHMEM_UNMAP, knew;
	struct livespare_key sk;
	unsigned mt_before;
	int rc;

	seqop_message(op, request, LIVE_PAGE, &h, &m);
	proto_mmap_encode(&m, payload, sizeof(payload));
	if (!tr.sendable)
		return false;
	shadow_backend_msg(&after, &h, payload, h.size, &tr, &v);
	L->verdict = !v.accepted ? (v.why ? v.why : "")
		     : request != PROTO_BE_SHMEM_MAP ? "accepted"
		     : (m.flags & PROTO_MMAP_F_RW) ? "accepted rw" : "accepted ro";
	if (!L->scrubbing && live_avoided(L, kind, L->verdict)) {
		L->avoided++;
		return false;
	}
	sk = (struct livespare_key){ request, op->fd, op->bits & LIVE_BENT_BITS,
				     L->verdict };
	if (!L->scrubbing && livespare_skip(&L->spare, &sk)) {
		L->spared++;
		return false;
	}
	knew = !L->held && !L->taint_all && !L->taint[m.shmid];
	nfds = livecheck_fds(&L->chk, op->fd, idx);
	if (nfds < 0)
		return false;
	for (int i = 0; i < nfds; i++)
		fds[i] = L->chk.fds[idx[i]].fd;
	livegen_played(&L->gen, op);
	for (int i = 0; request == PROTO_BE_SHMEM_MAP && i < nfds; i++)
		L->fd_shmid[idx[i]] = m.shmid;
	rel = livegen_relation(&L->model, m.shmid, m.shm_offset, m.len);
	tnt = tainted(L, m.shmid) || (request == PROTO_BE_SHMEM_UNMAP && m.len == 0);
	open = v.accepted ? open_accept(&h, &m, op->fd)
			  : !shadow_rule_must(v.why) &&
			    strncmp(v.why, "6: len 0", 8) != 0 &&
			    !(h.size <= 24 && strncmp(v.why, "4: payload is not", 17) == 0);
	tnt = tnt || (v.accepted && open);
	must = !tnt && (v.accepted || shadow_rule_must(v.why));
	mt_before = L->peer.mt_msgs;
	L->model = after;
	L->msgs++;
	/* Silence is no MUST verdict on an open step: no need to wait long
	 * (a late reply is stray). */
	L->peer.reply_ms = must ? 0 : LIVE_OPEN_REPLY_MS;
	rc = send_request(L, &h, payload, fds, (unsigned)nfds, v.reply, &r);
	L->peer.reply_ms = 0;
	if (rc == LIVEPEER_GONE) {
		chan_msg_release(&r);
		live_gone(L, kind);
		return true;
	}
	if (rc == LIVEPEER_NONE) {
		if (must) {
			violate(L, "HANG", kind, "7: a reply where REPLY_ACK and "
				"NEED_REPLY ask for one", "no reply within %u ms",
				L->peer.timeout_ms);
		} else {
			L->open_choices++;
			L->held = shmem_req || L->held;
		}
	} else if (v.reply) {
		if (must)       /* only a verdict needs the right reply */
			second_look(L, &r, &v);
		synced = judge_reply(L, &h, &r, &v, must, kind, mt_before);
		rep = r.payload_len == 8 && !memcmp(r.payload, "\0\0\0\0\0\0\0\0", 8)
		      ? LIVEGEN_ACCEPTED : LIVEGEN_REFUSED;
		L->answered = synced;
	}
	chan_msg_release(&r);
	/* Unanswered (not asked, or not in time): a late reply is stray.
	 * A front-end answers in order, so once a reply came, nothing
	 * earlier is still to come. */
	L->unanswered = v.reply && rc == LIVEPEER_OK ? 0 : L->unanswered + 1;
	if (!shmem_req)
		L->held = held;
	else if (open && !synced && !L->violated) {
		rep = settle(L, request, &m, idx, nfds);
		synced = rep != LIVEGEN_NO_REPLY;
		if (synced)
			L->held = held;
	}
	/* Taken where the model refused by choice: the model follows the
	 * target when it knows what that leaves behind (shadow_adopt), and
	 * the shmid stays known; otherwise it is tainted below. */
	/* Refused where the model took it: the state is the one before. */
	if (open && synced && rep == LIVEGEN_REFUSED && v.accepted &&
	    !v.dropped) {
		L->model = before;
		v.accepted = false;
		v.why = "refused by choice where the model took it";
		L->held = held;
		L->adopted++;
	}
	if (open && synced && rep == LIVEGEN_ACCEPTED && !v.accepted) {
		/* Two fds where one is due: the first is the one mapped. */
		struct fuzzpool_traits one = tr.nfds == 2
			? fuzzpool_traits(FUZZPOOL_MEMFD_64K) : tr;

		if (shadow_adopt(&L->model, &h, payload, h.size, &one, &v, &rough)) {
			L->held = held;
			L->adopted++;
		}
	}
	if (v.accepted || !shadow_rule_must(v.why))
		L->ordered = true;
	/* A step the digest leaves open (refused by choice, unless it named
	 * no range either way; taken where a front-end may refuse): the
	 * model knows the shmid still when the target answered as it did,
	 * which a case cannot know in advance (emitfe taints always). */
	if (shmem_req && rc == LIVEPEER_NONE && !synced)
		live_lost(L, m.shmid, m.shm_offset, m.len);
	/* The emitted case grades an open step's shmid no more until the
	 * next reset (emitfe.c): nor does the stream, until the next cut,
	 * so that each violation it stops for is one the case can show. */
	if (shmem_req && open)
		L->blind[m.shmid] = true;
	/* What this step left the target holding that the model does not
	 * know is in its region: that region is lost (and may be won back
	 * by a scrub), the rest stays known. */
	/* (A step that names no range, a len-0 MAP or a payload too short
	 * for one, is no open step: a conforming front-end changes nothing
	 * for it, whatever it answers. Taken, it stays held, and the MUSTs
	 * after it (no phantom range, nothing stale acted on) are judged on.) */
	if (shmem_req && ((open && L->held && !held) || L->absorbing)) {
		L->held = held;
		L->absorbing = false;
		live_lost(L, m.shmid, m.shm_offset, m.len);
	}
	/* Costly only where a reset cannot clear it (--avoid reset:). */
	if (shmem_req && knew && (L->held || L->taint_all || L->taint[m.shmid]) &&
	    live_avoided(L, "reset", ""))
		livespare_cost(&L->spare, &sk);
	if (shmem_req && open && !(synced && rep == (v.accepted ? LIVEGEN_ACCEPTED
							       : LIVEGEN_REFUSED)))
		live_lost(L, m.shmid, m.shm_offset, m.len);
	for (int i = 0; synced && i < nfds; i++)
		L->chk.fds[idx[i]].synced = true;
	if (livegen_state(&L->gen, op, rel, rep, &L->model))
		L->new_states++;
	if (L->violated || v.dropped)
		return true;
	if (request == PROTO_BE_SHMEM_MAP) {
		map_done(L, &v, &m, idx, nfds, must, kind, synced);
		if (v.accepted && rough)
			L->maps[L->nmaps - 1].rough = true;
	}
	else if (request == PROTO_BE_SHMEM_UNMAP && h.size >= PROTO_MMAP_SIZE)
		unmap_done(L, &v, &m, must, kind, synced);
	return true;
}

static bool control(struct live *L, const char *cmd, const char *kind,
		    const char *rule)
{
	char ans[4096];
	int rc = livepeer_control(&L->peer, cmd, ans, sizeof(ans));

	L->controls++;
	if (rc == LIVEPEER_GONE) {
		live_gone(L, kind);
		return false;
	}
	if (rc == LIVEPEER_NONE) {
		violate(L, "HANG", kind, rule, "no answer to control %s", cmd);
		return false;
	}
	if (strncmp(ans, "ok", 2) != 0) {
		violate(L, "FAIL", kind, rule, "control %s: %s", cmd, ans);
		return false;
	}
	return true;
}

/* Digest 10: a reset leaves nothing. Every fd whose message was
 * answered is unmapped and closed (one without an answer may be read
 * after the reset: no verdict rests on that race, as in a case). */
static void play_reset(struct live *L)
{
	if (control(L, "reset", "reset", "10: the front-end carries out a "
		    "device reset (control reset)")) {
		char obs[1024];
		bool fds_left = false;

		/* Every answered fd at once: one read of maps and fds a round. */
		if (!livecheck_all_gone(&L->chk, &L->peer, LIVECHECK_WINDOW_MS,
					&fds_left, obs, sizeof(obs)))
			violate(L, "FAIL", "reset", fds_left ? "10: reset closes the "
				"front-end's copies of the fds" : "10: reset removes "
				"every mapping", "%s", obs);
	}
	shadow_reset(&L->model);
	memset(L->taint, 0, sizeof(L->taint));
	memset(L->blind, 0, sizeof(L->blind));
	memset(L->fd_shmid, 0xff, sizeof(L->fd_shmid));
	live_forget_scrubs(L);
	L->taint_all = L->ordered = L->held = false;
	L->nmaps = 0;
	L->unanswered = 0;
	L->seg_start_ms = chan_now_ms();
	if (!L->violated)
		livecheck_reset(&L->chk);
}

/* Whether a config is one a front-end may refuse or read two ways
 * (digest 8), as emitfe's hs_bent: the model then knows nothing for sure. */
static bool config_bent(const struct proto_shmem_config *c, uint32_t flags,
			uint32_t size)
{
	unsigned listed = 0;
	bool odd = false;

	for (unsigned i = 0; i < PROTO_SHMEM_MAX_REGIONS; i++) {
		odd = odd || (c->memory_sizes[i] & (LIVE_PAGE - 1)) ||
		      c->memory_sizes[i] > (UINT64_C(1) << 40);
		if (c->memory_sizes[i])
			listed = i + 1;
	}
	return odd || flags != (PROTO_VERSION | PROTO_F_REPLY) ||
	       size != PROTO_SHMEM_CONFIG_SIZE || c->nregions != listed;
}

/* A reconnect: the new connection's handshake with this config answer
 * (and the features livepeer_offer set), then start: a fresh connection,
 * a new segment. false: the target cannot reconnect (nothing happened;
 * no more tries) or took a bent config its own way. */
static bool reconnect(struct live *L, const struct seqop *op,
		      const struct proto_shmem_config *c, uint32_t flags,
		      uint32_t size, bool bent)
{
	bool refused, usable[PROTO_SHMEM_MAX_REGIONS];
	char ans[4096];
	int rc = livepeer_reconnect(&L->peer, c, flags, size, &refused, ans,
				    sizeof(ans));

	if (rc == LIVEPEER_OK && refused) {
		L->gen.configs = false;
		return false;
	}
	livegen_played(&L->gen, op);
	L->controls++;
	if (rc == LIVEPEER_GONE) {
		live_gone(L, seqop_kind_name(seqop_kind(op)));
		return true;
	}
	if (rc != LIVEPEER_OK) {
		if (bent)
			L->recycle = true;      /* refused its own way: allowed */
		else
			violate(L, "HANG", "config", "8: the front-end reconnects and "
				"handshakes", "no handshake on the new connection");
		return true;
	}
	for (unsigned i = 0; i < PROTO_SHMEM_MAX_REGIONS; i++)
		usable[i] = c->memory_sizes[i] != 0;
	shadow_config(&L->model, c->memory_sizes, usable);
	livegen_set_sizes(&L->gen, c->memory_sizes);
	livecheck_reset(&L->chk);
	memset(L->taint, 0, sizeof(L->taint));
	memset(L->blind, 0, sizeof(L->blind));
	memset(L->fd_shmid, 0xff, sizeof(L->fd_shmid));
	live_forget_scrubs(L);
	L->taint_all = L->held = false;
	L->doubt = bent;
	L->nmaps = L->unanswered = 0;
	L->ordered = false;
	L->model.started = true;
	control(L, "start", "config", "8, 10: the front-end starts the device on "
		"the new connection (control start)");
	return true;
}

/* Another GET_SHMEM_CONFIG answer, as emitfe's seq_config reads a
 * leading CONFIG record. */
static bool play_config(struct live *L, const struct seqop *op)
{
	struct proto_shmem_config c = { 0 };
	bool raw = (op->bits & SEQOP_B_RAW) != 0;
	uint32_t flags = (op->bits & SEQOP_B_HDR) ? 0x1 : PROTO_VERSION | PROTO_F_REPLY;
	uint32_t size = (op->bits & SEQOP_B_SHORT) ? 2048 : PROTO_SHMEM_CONFIG_SIZE;

	c.memory_sizes[0] = seqop_region_size(op->a, raw, LIVE_PAGE);
	c.memory_sizes[1] = seqop_region_size(op->b, raw, LIVE_PAGE);
	c.memory_sizes[op->shmid] = seqop_region_size(op->c, raw, LIVE_PAGE);
	for (unsigned i = 0; i < PROTO_SHMEM_MAX_REGIONS; i++)
		c.nregions += c.memory_sizes[i] != 0;
	if (raw)
		c.nregions = op->aux;
	return reconnect(L, op, &c, flags, size, config_bent(&c, flags, size));
}

/* Less offered on the next connection (as emitfe reads a leading
 * NEGOTIATE record: aux bit 0 SHMEM off, bit 1 REPLY_ACK off). */
static bool play_negotiate(struct live *L, const struct seqop *op)
{
	bool shmem = !(op->aux & 1), reply_ack = !(op->aux & 2);
	struct proto_shmem_config c = L->peer.cfg;

	livepeer_offer(&L->peer, shmem, reply_ack);
	if (!reconnect(L, op, &c, L->peer.cfg_flags, L->peer.cfg_size, L->doubt)) {
		if (!L->gen.configs)    /* refused: the offer as it was */
			livepeer_offer(&L->peer, L->model.shmem, L->model.reply_ack);
		return false;
	}
	L->model.shmem = shmem;
	L->model.reply_ack = reply_ack;
	return true;
}

void live_play(struct live *L, const struct seqop *op)
{
	L->verdict = "";
	switch (seqop_kind(op)) {
	case SEQOP_MAP:
		L->ops += play_msg(L, op, PROTO_BE_SHMEM_MAP, "map");
		return;
	case SEQOP_UNMAP:
		L->ops += play_msg(L, op, PROTO_BE_SHMEM_UNMAP, "unmap");
		return;
	case SEQOP_OTHER:
		L->ops += play_msg(L, op, op->aux, "other");
		return;
	case SEQOP_RESET:
		livegen_played(&L->gen, op);
		play_reset(L);
		break;
	case SEQOP_STOP:
		livegen_played(&L->gen, op);
		/* Whether live mappings survive a stop, the digest does not say. */
		for (unsigned i = 0; i < L->nmaps; i++)
			L->taint[L->maps[i].shmid] = true;
		L->model.started = false;
		control(L, "stop", "stop", "10: the front-end stops the device "
			"(control stop)");
		break;
	case SEQOP_START:
		livegen_played(&L->gen, op);
		L->model.started = true;
		control(L, "start", "start", "10: the front-end starts the device "
			"(control start)");
		break;
	case SEQOP_CONFIG:
		if (!play_config(L, op))
			return;
		break;
	case SEQOP_NEGOTIATE:
		if (!play_negotiate(L, op))
			return;
		break;
	default:
		return;
	}
	L->ops++;
}

/* ---- the ceiling: one MAP and its UNMAP, as fast as the target goes ---- */

void live_pingpong(struct live *L, int64_t end, unsigned long max_ops)
{
	struct proto_mmap m = { .shmid = (uint8_t)L->gen.usable[0], .len = LIVE_PAGE,
				.flags = PROTO_MMAP_F_RW };
	struct proto_hdr h = { PROTO_BE_SHMEM_MAP, PROTO_VERSION | PROTO_F_NEED_REPLY,
			       PROTO_MMAP_SIZE };
	uint8_t payload[PROTO_MMAP_SIZE];
	int idx[2], n = livecheck_fds(&L->chk, FUZZPOOL_MEMFD_1M, idx);

	while (n == 1 && !L->violated && chan_now_ms() < end &&
	       (!max_ops || L->ops < max_ops)) {
		struct chan_msg r;
		int rc;

		h.request = L->ops % 2 ? PROTO_BE_SHMEM_UNMAP : PROTO_BE_SHMEM_MAP;
		proto_mmap_encode(&m, payload, sizeof(payload));
		rc = livepeer_request(&L->peer, &h, payload, PROTO_MMAP_SIZE,
				      &L->chk.fds[idx[0]].fd, h.request ==
				      PROTO_BE_SHMEM_MAP, true, &r);
		chan_msg_release(&r);
		if (rc == LIVEPEER_GONE)
			live_gone(L, "map");
		else if (rc == LIVEPEER_NONE)
			violate(L, "HANG", "map", "7: a reply where REPLY_ACK and "
				"NEED_REPLY ask for one", "no reply");
		L->ops++;
		L->msgs++;
	}
}


