/* SPDX-License-Identifier: MIT */
/*
 * beplay: the operations of a live back-end stream (belive.h), each
 * chosen by what the model holds live, played against the back-end and
 * judged by bejudge.h, the model the emitted cases carry too: a MAP it
 * must refuse, the shape of what it sends, what it concludes from each
 * reply (its control answer), the main channel while its request waits,
 * the fds of a reply closed (/proc), its GET_SHMEM_CONFIG answer.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "belive.h"
#include "protoval.h"

/* ---- choosing ---- */

static unsigned pick(struct belive *L, unsigned n)
{
	return n ? (unsigned)(belive_rand(L) % n) : 0;
}

/* Replies the back-end waits out its own time limit for (no reply, a
 * truncated one, some bent flags) cost up to a second each: rare, so
 * that the stream stays fast (each one in some 19,000 replies: a second
 * in every ten thousand operations or so). */
static uint8_t pick_reply(struct belive *L)
{
	static const uint8_t fast[] = { BEJUDGE_R_WRONG_ID, BEJUDGE_R_SHORT,
					BEJUDGE_R_LONG, BEJUDGE_R_FDS,
					BEJUDGE_R_EOF, BEJUDGE_R_DOUBLE };
	static const uint8_t slow[] = { BEJUDGE_R_NONE, BEJUDGE_R_TRUNC,
					BEJUDGE_R_WRONG_FLAGS };
	unsigned r = pick(L, 100), k;

	if (r < 55)
		return BEJUDGE_R_OK;
	if (r < 72)
		return BEJUDGE_R_ERR;
	k = pick(L, 4000);
	if (k < (unsigned)sizeof(slow))
		return slow[k];
	return fast[pick(L, sizeof(fast))];
}

/* A MAP aimed at what is live: over a live mapping, at a region's end,
 * or anywhere in (and past) the region. */
static void aim_map(struct belive *L, struct bejudge_rec *r)
{
	const struct bejudge *m = &L->model;
	uint64_t pages;
	unsigned how = pick(L, 8);

	r->shmid = pick(L, 16) == 0 ? (uint8_t)pick(L, 4) : 0;
	pages = m->sizes[r->shmid] / BEJUDGE_PAGE;
	r->len_pages = 1 + pick(L, 32);
	if (how < 2 && m->nlive) {
		const struct bejudge_range *g = &m->live[pick(L, m->nlive)];

		r->shmid = g->shmid;
		r->off_pages = (uint32_t)(g->off / BEJUDGE_PAGE +
					  pick(L, (unsigned)(g->len / BEJUDGE_PAGE + 1)));
		if (r->off_pages && pick(L, 2))
			r->off_pages -= pick(L, r->off_pages < 4 ? r->off_pages : 4);
	} else if (how == 2 && pages) {
		r->off_pages = (uint32_t)(pages > r->len_pages ? pages - r->len_pages
						 : 0) + pick(L, 3);
	} else {
		r->off_pages = pick(L, pages && pages < 512 ? (unsigned)pages + 8 : 512);
	}
	r->fd_pages = (uint16_t)pick(L, 16);
}

static void gen(struct belive *L, struct bejudge_rec *r)
{
	unsigned k = pick(L, 100);

	if (L->nseg + 1 < BELIVE_MAX_SEG && belive_next(L, r))
		return;
	memset(r, 0, sizeof(*r));
	r->reply = pick_reply(L);
	r->value = (uint8_t)pick(L, 256);
	r->fd = (uint8_t)pick(L, 256);
	r->bits = (uint8_t)(pick(L, 2) ? BEJUDGE_B_RW : 0);
	k = L->nseg + 1 >= BELIVE_MAX_SEG ? 99 : k;
	if (pick(L, 12) == 0)
		r->bits |= BEJUDGE_B_NO_NEED;
	else if (pick(L, 12) == 0)
		r->bits |= BEJUDGE_B_NEED;
	if (pick(L, 8) == 0)
		r->bits |= BEJUDGE_B_FD_SIZE;
	if (pick(L, 6) == 0)
		r->bits |= BEJUDGE_B_MAIN;
	if (k < 55 || (k < 82 && L->model.nlive == 0)) {
		r->op = BEJUDGE_MAP;
		aim_map(L, r);
	} else if (k < 82) {
		r->op = BEJUDGE_UNMAP;
		r->off_pages = (uint32_t)pick(L, 1u << 16);
	} else if (k < 90) {
		r->op = BEJUDGE_CONFIG;
	} else {
		r->op = BEJUDGE_RESET;
	}
}

static bool avoided(struct belive *L, const char *kind, const char *verdict)
{
	if (!liveopts_match(L->opts->avoid, L->opts->navoid, kind, verdict))
		return false;
	L->avoided++;
	return true;
}

/* AFLNet-style: (op, reply, need, live-set size) tuples seen. */
static void state(struct belive *L, const struct bejudge_rec *r, bool need,
		  const char *refusal)
{
	unsigned n = L->model.nlive;
	uint32_t s = (uint32_t)(r->op % BEJUDGE_OP_MAX) | (uint32_t)(r->reply %
		BEJUDGE_R_MAX) << 4 | (uint32_t)need << 8 |
		(uint32_t)(n > 3 ? 3 : n) << 9 | (uint32_t)(refusal ? refusal[0] : 0) << 12 |
		(uint32_t)(r->bits & BEJUDGE_B_MAIN) << 20;

	for (unsigned i = 0; i < L->nstates; i++)
		if (L->states[i] == s)
			return;
	if (L->nstates < BELIVE_MAX_STATES) {
		L->states[L->nstates++] = s;
		L->new_states++;
		L->seg_new = true;
	}
}

/* ---- the back-end gone, or silent ---- */

static void lost(struct belive *L, const char *kind, int rc, const char *waiting)
{
	char sig[32];

	/* A channel that closed: most likely the target ending; let it. */
	if (rc == BEPEER_GONE && bepeer_alive(&L->peer))
		target_wait(&L->peer.t, chan_deadline(300));
	if (!bepeer_alive(&L->peer) && L->peer.t.signal)
		belive_violation(L, "CRASH", kind, "12H: the back-end survives "
				 "what the front-end sends", "killed by %s while %s",
				 target_signal_name(L->peer.t.signal, sig, sizeof(sig)),
				 waiting);
	else if (!bepeer_alive(&L->peer))
		belive_violation(L, "CRASH", kind, "12H: the back-end survives "
				 "what the front-end sends", "exited %d while %s",
				 L->peer.t.exit_code, waiting);
	else if (rc == BEPEER_NONE)
		belive_violation(L, "HANG", kind, "every wait has a deadline",
				 "nothing within %u ms while %s",
				 L->peer.timeout_ms, waiting);
	else
		belive_violation(L, "CLOSED", kind, "12H: the back-end survives "
				 "what the front-end sends", "a channel closed while %s",
				 waiting);
}

/* ---- the reply ---- */

/* A memfd of a unique name, so that /proc tells it apart. */
static int reply_fd(struct belive *L, char *name, size_t cap)
{
	int fd;

	snprintf(name, cap, "vhu-belive-%ld-%u", (long)getpid(), L->memfds++);
	fd = memfd_create(name, MFD_CLOEXEC);
	if (fd >= 0 && ftruncate(fd, 4096) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void hdr(uint8_t *b, uint32_t req, uint32_t flags, uint32_t size)
{
	struct proto_hdr h = { req, flags, size };

	proto_hdr_encode(&h, b, PROTO_HDR_SIZE);
}

/* Sends the reply of a kind (bejudge.h's, as emitbe writes them). */
static int send_reply(struct belive *L, enum bejudge_reply k, uint32_t req,
		      uint8_t value, char *fdname, size_t cap)
{
	uint8_t b[2 * (PROTO_HDR_SIZE + 16)];
	size_t n = PROTO_HDR_SIZE + 8;
	int fd = -1, rc;

	memset(b, 0, sizeof(b));
	hdr(b, req, PROTO_VERSION | PROTO_F_REPLY, 8);
	switch (k) {
	case BEJUDGE_R_NONE: return BEPEER_OK;
	case BEJUDGE_R_EOF:
		chan_close(&L->peer.be);
		L->peer.have_be = false;
		return BEPEER_OK;
	case BEJUDGE_R_ERR: b[PROTO_HDR_SIZE] = value | 1u; break;
	case BEJUDGE_R_WRONG_ID: hdr(b, req + 1, PROTO_VERSION | PROTO_F_REPLY, 8); break;
	case BEJUDGE_R_WRONG_FLAGS: hdr(b, req, bejudge_wrong_flags(value), 8); break;
	case BEJUDGE_R_SHORT: hdr(b, req, PROTO_VERSION | PROTO_F_REPLY, 4); n -= 4; break;
	case BEJUDGE_R_LONG: hdr(b, req, PROTO_VERSION | PROTO_F_REPLY, 16); n += 8; break;
	case BEJUDGE_R_TRUNC: n -= 5; break;
	case BEJUDGE_R_FDS: fd = reply_fd(L, fdname, cap); break;
	case BEJUDGE_R_DOUBLE:
		memcpy(b + n, b, n);
		n *= 2;
		break;
	default: break;
	}
	L->msgs++;
	rc = bepeer_be_send(&L->peer, b, n, &fd, fd >= 0);
	if (fd >= 0)
		close(fd);
	return rc;
}

/* Whether the back-end still holds an fd named name, re-read for up to
 * ms (a target that ended holds nothing). */
static bool holds_fd(struct belive *L, const char *name, unsigned ms)
{
	int64_t deadline = chan_deadline(ms);
	char dir[64];

	snprintf(dir, sizeof(dir), "/proc/%ld/fd", (long)L->peer.t.pid);
	for (;;) {
		DIR *d = opendir(dir);
		struct dirent *e;
		bool found = false;

		while (d && !found && (e = readdir(d)) != NULL) {
			char p[600], link[256];
			ssize_t n;

			snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
			n = readlink(p, link, sizeof(link) - 1);
			if (n > 0) {
				link[n] = '\0';
				found = strstr(link, name) != NULL;
			}
		}
		if (d)
			closedir(d);
		if (!found || chan_now_ms() >= deadline)
			return found;
		usleep(10000);
	}
}

/* The main channel while the back-end's request waits (9). */
static bool main_served(struct belive *L, const char *kind)
{
	struct chan_msg m;
	unsigned saved = L->peer.timeout_ms;
	int rc;

	L->peer.timeout_ms = 500;
	rc = bepeer_call(&L->peer, PROTO_GET_FEATURES, NULL, 0, true, &m);
	L->peer.timeout_ms = saved;
	chan_msg_release(&m);
	L->msgs++;
	if (rc == BEPEER_OK)
		return true;
	if (rc == BEPEER_NONE && bepeer_alive(&L->peer))
		belive_violation(L, "DEADLOCK", kind, "9: the back-end blocks until "
				 "the reply; the main channel is served meanwhile",
				 "GET_FEATURES unanswered within 500 ms while its "
				 "request waits for our reply");
	else
		lost(L, kind, rc, "its request waited");
	return false;
}

/* The message the back-end sent for a control map/unmap: its shape. */
static bool shape(struct belive *L, const struct chan_msg *m, bool map,
		  bool need, const struct bejudge_range *g, uint64_t fdo, bool rw)
{
	struct proto_vctx c = { PROTO_CHAN_BACKEND, false, m->nfds, m->payload_len, 0 };
	struct proto_findings f = { 0 };
	struct proto_mmap mm;
	const char *kind = map ? "map" : "unmap";
	uint32_t req = map ? PROTO_BE_SHMEM_MAP : PROTO_BE_SHMEM_UNMAP;

	if (m->hdr.request != req || m->payload_len != PROTO_MMAP_SIZE)
		belive_violation(L, "FAIL", kind, "12H: the back-end sends the "
				 "request it was asked for", "request %u size %zu",
				 m->hdr.request, m->payload_len);
	else if (m->nfds != (map ? 1u : 0u))
		belive_violation(L, "FAIL", kind, map ? "6: SHMEM_MAP carries "
				 "exactly one fd" : "7: SHMEM_UNMAP carries no fd",
				 "%u fds", m->nfds);
	else if (!!(m->hdr.flags & PROTO_F_NEED_REPLY) != need)
		belive_violation(L, "FAIL", kind, "9: NEED_REPLY as asked",
				 "flags %#x, need_reply=%d asked", m->hdr.flags, need);
	else if (proto_validate(&c, &m->hdr, m->payload, &f) && f.count)
		belive_violation(L, "FAIL", kind, "4, 6, 7, 12H: what the back-end "
				 "sends passes the validator (padding zero, known "
				 "flags)", "%s", f.items[0].text);
	else if (proto_mmap_decode(m->payload, m->payload_len, &mm) != 0 ||
		 mm.shmid != g->shmid || mm.shm_offset != g->off ||
		 mm.len != g->len || (map && (mm.fd_offset != fdo ||
					      !!(mm.flags & PROTO_MMAP_F_RW) != rw)))
		belive_violation(L, "FAIL", kind, "12H: the back-end sends the "
				 "range it was asked for", "shmid %u offset %#llx "
				 "len %#llx", mm.shmid,
				 (unsigned long long)mm.shm_offset,
				 (unsigned long long)mm.len);
	return !L->violated;
}

/* ---- MAP and UNMAP ---- */

/* After the control line went out: the message, the reply, the answer. */
static void exchange(struct belive *L, const struct bejudge_rec *r, bool map,
		     bool need, const struct bejudge_range *g, uint64_t fdo)
{
	const char *kind = map ? "map" : "unmap";
	enum bejudge_reply k = (enum bejudge_reply)(r->reply % BEJUDGE_R_MAX);
	struct bejudge_outcome o;
	struct chan_msg m;
	char ans[1024], early[1024] = "", fdname[64] = "";
	int got = bepeer_await(&L->peer, &m, ans, sizeof(ans), L->peer.timeout_ms);

	/* Its outcome may be read before its message (two sockets): the
	 * message must still come, and the outcome is judged after it. */
	if (got == 2 && strncmp(ans, "ok result=", 10) == 0) {
		snprintf(early, sizeof(early), "%s", ans);
		got = bepeer_await(&L->peer, &m, ans, sizeof(ans), L->peer.timeout_ms);
	}
	if (got == 2 || (got == -BEPEER_NONE && early[0])) {
		belive_violation(L, "FAIL", kind, "12H: the back-end sends a request "
				 "it may send (control map/unmap)", "answered '%s' "
				 "without sending anything", early[0] ? early : ans);
		return;
	}
	if (got < 0) {
		lost(L, kind, -got, "awaiting its request");
		return;
	}
	L->msgs++;
	shape(L, &m, map, need, g, fdo, (r->bits & BEJUDGE_B_RW) != 0);
	chan_msg_release(&m);
	if (L->violated)
		return;
	bejudge_outcome(k, need, &o);
	if (need && (r->bits & BEJUDGE_B_MAIN) && !main_served(L, kind))
		return;
	/* From here a violation is the reply's: --avoid KIND:VERDICT. */
	snprintf(L->vverdict, sizeof(L->vverdict), "%s",
		 need ? bejudge_reply_name(k) : "sent");
	if (need && send_reply(L, k, map ? PROTO_BE_SHMEM_MAP : PROTO_BE_SHMEM_UNMAP,
			       r->value, fdname, sizeof(fdname)) != BEPEER_OK) {
		lost(L, kind, BEPEER_GONE, "replying");
		return;
	}
	if (early[0]) {
		snprintf(ans, sizeof(ans), "%s", early);
		got = BEPEER_OK;
	} else {
		got = bepeer_control_read(&L->peer, ans, sizeof(ans), o.known
					  ? L->peer.timeout_ms : BEJUDGE_OUTCOME_MS);
	}
	if (got == BEPEER_GONE || (got == BEPEER_NONE && o.known) ||
	    !bepeer_alive(&L->peer)) {
		lost(L, kind, got, "awaiting its outcome");
		return;
	}
	if (!bejudge_answer_holds(o.want, ans)) {
		if (o.must) {
			belive_violation(L, "FAIL", kind, o.rule, "reply %s: "
					 "answered '%s', the model wants result %s",
					 bejudge_reply_name(k), ans[0] ? ans : "(none)",
					 o.want);
			return;
		}
		L->open_choices++;
	}
	/* The digest leaves it open (SHOULD, as the emitted case grades
	 * it): counted, never a stop the case could not show as a finding. */
	if (fdname[0] && holds_fd(L, fdname, 1000))
		L->should_misses++;
	if (!o.known)
		L->doubt = true;
	if (map)
		bejudge_mapped(&L->model, g, &o);
}

static void map_line(const struct bejudge_rec *r, const struct bejudge_range *g,
		     uint64_t fdo, char *line, size_t cap)
{
	char fdsize[40] = "";

	if (r->bits & BEJUDGE_B_FD_SIZE)
		snprintf(fdsize, sizeof(fdsize), " fd_size=%#llx",
			 (unsigned long long)(fdo + g->len + BEJUDGE_PAGE));
	snprintf(line, cap, "map shmid=%u shm_offset=%#llx len=%#llx "
		 "fd_offset=%#llx flags=%s%s%s", g->shmid,
		 (unsigned long long)g->off, (unsigned long long)g->len,
		 (unsigned long long)fdo, (r->bits & BEJUDGE_B_RW) ? "rw" : "ro",
		 (r->bits & BEJUDGE_B_NEED) ? " need_reply=1" :
		 (r->bits & BEJUDGE_B_NO_NEED) ? " need_reply=0" : "", fdsize);
}

static void record(struct belive *L, const struct bejudge_rec *r)
{
	bejudge_rec_write(r, L->seg[L->nseg++]);
	L->ops++;
}

/* A MAP it must refuse: `err` before anything is sent. */
static void refusal(struct belive *L, const char *why)
{
	struct chan_msg m;
	char ans[1024];
	int got = bepeer_await(&L->peer, &m, ans, sizeof(ans), L->peer.timeout_ms);

	if (got == 1) {
		chan_msg_release(&m);
		belive_violation(L, "FAIL", "refusal", why, "sent request %u "
				 "instead of refusing", m.hdr.request);
	} else if (got < 0) {
		lost(L, "refusal", -got, "awaiting its refusal");
	} else if (strncmp(ans, "err", 3) != 0) {
		belive_violation(L, "FAIL", "refusal", why, "answered '%s'", ans);
	}
	if (L->violated)
		snprintf(L->vverdict, sizeof(L->vverdict), "%s", why);
}

static void play_map(struct belive *L, const struct bejudge_rec *r)
{
	struct bejudge_range g;
	uint64_t fdo;
	bool need = bejudge_need(&L->model, r);
	const char *why;
	char line[320];

	bejudge_map_range(r, &g, &fdo);
	if (g.len == 0 || (need && !L->model.reply_ack))
		return;
	why = bejudge_map_refusal(&L->model, &g);
	if (avoided(L, why ? "refusal" : "map", why ? why
		    : bejudge_reply_name((enum bejudge_reply)(r->reply % BEJUDGE_R_MAX))))
		return;
	state(L, r, need, why);
	record(L, r);
	map_line(r, &g, fdo, line, sizeof(line));
	L->controls++;
	if (bepeer_control_send(&L->peer, line) != BEPEER_OK) {
		lost(L, "map", BEPEER_GONE, "asking for a MAP");
		return;
	}
	if (why)
		refusal(L, why);
	else
		exchange(L, r, true, need, &g, fdo);
}

static void play_unmap(struct belive *L, const struct bejudge_rec *r)
{
	bool need = bejudge_need(&L->model, r);
	int i = bejudge_unmap_index(&L->model, r);
	struct bejudge_range g;
	struct bejudge_outcome o;
	char line[200];

	if (i < 0 || (need && !L->model.reply_ack) ||
	    avoided(L, "unmap", bejudge_reply_name((enum bejudge_reply)(r->reply %
							BEJUDGE_R_MAX))))
		return;
	g = L->model.live[i];
	state(L, r, need, NULL);
	record(L, r);
	snprintf(line, sizeof(line), "unmap shmid=%u shm_offset=%#llx len=%#llx%s",
		 g.shmid, (unsigned long long)g.off, (unsigned long long)g.len,
		 (r->bits & BEJUDGE_B_NEED) ? " need_reply=1" :
		 (r->bits & BEJUDGE_B_NO_NEED) ? " need_reply=0" : "");
	L->controls++;
	if (bepeer_control_send(&L->peer, line) != BEPEER_OK) {
		lost(L, "unmap", BEPEER_GONE, "asking for an UNMAP");
		return;
	}
	exchange(L, r, false, need, &g, 0);
	bejudge_outcome((enum bejudge_reply)(r->reply % BEJUDGE_R_MAX), need, &o);
	if (!L->violated)
		bejudge_unmapped(&L->model, i, &o);
}

/* ---- the rest ---- */

static void play_config(struct belive *L, struct bejudge_rec *r)
{
	struct chan_msg m;
	struct proto_shmem_config c;
	int rc;

	if (!L->model.shmem)
		return;
	state(L, r, false, NULL);
	record(L, r);
	L->msgs++;
	rc = bepeer_call(&L->peer, PROTO_GET_SHMEM_CONFIG, NULL, 0, true, &m);
	if (rc != BEPEER_OK) {
		chan_msg_release(&m);
		lost(L, "config", rc, "awaiting GET_SHMEM_CONFIG's answer");
		return;
	}
	if (proto_shmem_config_decode(m.payload, m.payload_len, &c) != 0)
		belive_violation(L, "FAIL", "config", "8: the answer is a "
				 "VhostUserShMemConfig", "%zu bytes", m.payload_len);
	for (unsigned i = 0; !L->violated && i < PROTO_SHMEM_MAX_REGIONS; i++)
		if (c.memory_sizes[i] % BEJUDGE_PAGE)
			belive_violation(L, "FAIL", "config", "8: sizes are page "
					 "multiples and never change during a "
					 "connection", "region %u: size %#llx", i,
					 (unsigned long long)c.memory_sizes[i]);
		else if (c.memory_sizes[i] != L->peer.first_cfg.memory_sizes[i])
			belive_violation(L, "FAIL", "config", "8: sizes are page "
					 "multiples and never change during a "
					 "connection", "region %u: %#llx, first %#llx",
					 i, (unsigned long long)c.memory_sizes[i],
					 (unsigned long long)
					 L->peer.first_cfg.memory_sizes[i]);
	chan_msg_release(&m);
}

/* SET_STATUS 0 and `control reset`: the back-end forgets its mappings. */
static bool reset(struct belive *L)
{
	uint8_t zero[8] = { 0 };
	struct chan_msg m;
	char ans[1024];
	int rc = bepeer_call(&L->peer, PROTO_SET_STATUS, zero, 8, false, &m);

	chan_msg_release(&m);
	L->msgs++;
	L->controls++;
	if (rc == BEPEER_OK)
		rc = bepeer_control_send(&L->peer, "reset");
	if (rc == BEPEER_OK)
		rc = bepeer_control_read(&L->peer, ans, sizeof(ans),
					 L->peer.timeout_ms);
	if (rc != BEPEER_OK || !bepeer_alive(&L->peer)) {
		lost(L, "reset", rc, "resetting");
		return false;
	}
	if (strncmp(ans, "ok", 2) != 0) {
		belive_violation(L, "FAIL", "reset", "12H: the back-end forgets its "
				 "mappings (control reset)", "answered '%s'", ans);
		return false;
	}
	L->model.nlive = 0;
	return true;
}

/* A state known good: nothing live, a working back-end channel; now and
 * then negotiated with less (SHMEM or REPLY_ACK left out), which the
 * segment's leading NEGOTIATE record says. */
static void new_segment(struct belive *L)
{
	bool shmem = true, ack = true;

	belive_segment_done(L);
	L->nseg = 0;
	L->seg_start_ms = chan_now_ms();
	if (L->vary && !L->reduced && pick(L, 10) == 0) {
		unsigned v = 1 + pick(L, 2);

		shmem = !(v & 1);
		ack = !(v & 2);
		memset(&L->negotiate, 0, sizeof(L->negotiate));
		L->negotiate.op = BEJUDGE_NEGOTIATE;
		L->negotiate.value = (uint8_t)v;
	}
	if (shmem == L->model.shmem && ack == L->model.reply_ack)
		return;
	L->msgs++;
	if (bepeer_negotiate(&L->peer, shmem, ack) != BEPEER_OK) {
		lost(L, "negotiate", BEPEER_GONE, "negotiating");
		return;
	}
	L->model.shmem = shmem;
	L->model.reply_ack = ack;
	L->reduced = !(shmem && ack);
}

void belive_step(struct belive *L)
{
	struct bejudge_rec r;

	L->vverdict[0] = '\0';
	gen(L, &r);
	switch (r.op) {
	case BEJUDGE_MAP: play_map(L, &r); break;
	case BEJUDGE_UNMAP: play_unmap(L, &r); break;
	case BEJUDGE_CONFIG: play_config(L, &r); break;
	default:
		if (avoided(L, "reset", ""))
			return;
		record(L, &r);
		if (reset(L))
			new_segment(L);
		return;
	}
	if (L->violated || !L->doubt)
		return;
	/* What it read after a malformed or missing reply is its own: a new
	 * channel and a reset, and a new segment (an emitted case ends its
	 * requests there too). */
	L->doubt = false;
	L->cuts++;
	L->msgs++;
	if (bepeer_new_backend(&L->peer) != BEPEER_OK) {
		lost(L, "reset", BEPEER_GONE, "handing a new back-end channel");
		return;
	}
	if (reset(L))
		new_segment(L);
}

void belive_pingpong(struct belive *L, int64_t end, unsigned long max_ops)
{
	static const char *const lines[2] = {
		"map shmid=0 shm_offset=0 len=0x1000 fd_offset=0 flags=rw need_reply=1",
		"unmap shmid=0 shm_offset=0 len=0x1000 need_reply=1",
	};

	while (!L->violated && chan_now_ms() < end && (!max_ops || L->ops < max_ops)) {
		struct chan_msg m;
		char ans[256], name[64];
		int got;

		L->controls++;
		if (bepeer_control_send(&L->peer, lines[L->ops % 2]) != BEPEER_OK) {
			lost(L, "map", BEPEER_GONE, "asking");
			return;
		}
		got = bepeer_await(&L->peer, &m, ans, sizeof(ans), L->peer.timeout_ms);
		if (got != 1) {
			lost(L, "map", got < 0 ? -got : BEPEER_GONE, "awaiting its request");
			return;
		}
		chan_msg_release(&m);
		L->msgs++;
		if (send_reply(L, BEJUDGE_R_OK, m.hdr.request, 0, name,
			       sizeof(name)) != BEPEER_OK ||
		    bepeer_control_read(&L->peer, ans, sizeof(ans),
					L->peer.timeout_ms) != BEPEER_OK) {
			lost(L, "map", BEPEER_GONE, "awaiting its outcome");
			return;
		}
		L->ops++;
	}
}
