/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for harness/engine/handshake: the `handshake` step in both
 * roles against a peer thread on real socketpairs. As front-end the
 * harness negotiates with a small compliant back-end (the thread) and
 * sets up the back-end channel, the memory table (a real memfd) and a
 * vring; as back-end it serves a small front-end's negotiation.
 */
#include <check.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "handshake.h"
#include "proto.h"
#include "vhurun.h"
#include "vhutest.h"

#define PEER_MS 5000
#define MAX_SEEN 64
#define SHMEM (1ull << PROTO_SHMEM_BIT_DEFAULT)
#define PF_BASE (1ull << PROTO_PF_REPLY_ACK | 1ull << PROTO_PF_BACKEND_REQ)

/* The target's side: what it offers and what it saw. */
struct peer {
	struct chan *c;
	uint64_t pfeatures;         /* offered (back-end) or wanted (front-end) */
	uint32_t seen[MAX_SEEN];    /* requests, in order */
	unsigned nseen;
	unsigned memtable_fds;
	int backend_fd;             /* the back-end channel's target end */
	uint64_t negotiated;        /* front-end peer: the answer it got */
	bool ok;
};

static bool reply_u64(struct chan *c, uint32_t req, uint64_t v)
{
	struct proto_hdr h = { req, PROTO_VERSION | PROTO_F_REPLY, 8 };
	uint8_t b[8];

	proto_u64_encode(v, b, sizeof(b));
	return chan_send(c, &h, b, sizeof(b), NULL, 0, chan_deadline(PEER_MS)) == CHAN_OK;
}

static bool reply_config(struct chan *c)
{
	struct proto_shmem_config cfg = { .nregions = 1 };
	struct proto_hdr h = { PROTO_GET_SHMEM_CONFIG, PROTO_VERSION | PROTO_F_REPLY,
			       PROTO_SHMEM_CONFIG_SIZE };
	uint8_t b[PROTO_SHMEM_CONFIG_SIZE];

	cfg.memory_sizes[0] = 0x10000;
	proto_shmem_config_encode(&cfg, b, sizeof(b));
	return chan_send(c, &h, b, sizeof(b), NULL, 0, chan_deadline(PEER_MS)) == CHAN_OK;
}

/* One request of the harness answered as a compliant back-end would. */
static bool backend_answer(struct peer *p, struct chan_msg *m)
{
	uint32_t req = m->hdr.request;

	if (p->nseen < MAX_SEEN)
		p->seen[p->nseen++] = req;
	if (req == PROTO_SET_BACKEND_REQ_FD && m->nfds == 1)
		p->backend_fd = chan_msg_take_fd(m, 0);
	if (req == PROTO_SET_MEM_TABLE)
		p->memtable_fds = m->nfds;
	switch (req) {
	case PROTO_GET_FEATURES:
		return reply_u64(p->c, req, 1ull << PROTO_F_PROTOCOL_FEATURES | 1ull << 32);
	case PROTO_GET_PROTOCOL_FEATURES:
		return reply_u64(p->c, req, p->pfeatures);
	case PROTO_GET_SHMEM_CONFIG:
		return reply_config(p->c);
	default:
		return !(m->hdr.flags & PROTO_F_NEED_REPLY) || reply_u64(p->c, req, 0);
	}
}

/* The back-end target: answers until the harness closes the channel. */
static void *backend_peer(void *arg)
{
	struct peer *p = arg;
	struct chan_msg m;

	p->ok = true;
	for (;;) {
		chan_msg_init(&m);
		if (chan_recv(p->c, &m, chan_deadline(PEER_MS)) != CHAN_OK) {
			chan_msg_release(&m);
			return NULL;
		}
		p->ok = backend_answer(p, &m) && p->ok;
		chan_msg_release(&m);
	}
}

static bool call(struct peer *p, uint32_t req, uint32_t flags, const uint64_t *v,
		 const int *fds, unsigned nfds, uint64_t *answer)
{
	struct proto_hdr h = { req, PROTO_VERSION | flags, v ? 8 : 0 };
	uint8_t b[8];
	struct chan_msg m;
	bool ok;

	if (v)
		proto_u64_encode(*v, b, sizeof(b));
	if (chan_send(p->c, &h, b, v ? 8 : 0, fds, nfds, chan_deadline(PEER_MS)) != CHAN_OK)
		return false;
	if (!answer)
		return true;
	chan_msg_init(&m);
	ok = chan_recv(p->c, &m, chan_deadline(PEER_MS)) == CHAN_OK &&
	     m.hdr.request == req &&
	     proto_u64_decode(m.payload, m.payload_len, answer) == PROTO_OK;
	chan_msg_release(&m);
	return ok;
}

/* The front-end target: negotiates, hands over the back-end channel,
 * then waits for the harness to close the main channel. */
static void *frontend_peer(void *arg)
{
	struct peer *p = arg;
	uint64_t features = 0, offered = 0, ack = 0, want;
	int sv[2];
	char b;

	p->ok = call(p, PROTO_GET_FEATURES, 0, NULL, NULL, 0, &features) &&
		(features >> PROTO_F_PROTOCOL_FEATURES & 1);
	want = features & (1ull << PROTO_F_PROTOCOL_FEATURES | 1ull << 32);
	p->ok = p->ok && call(p, PROTO_SET_FEATURES, 0, &want, NULL, 0, NULL) &&
		call(p, PROTO_GET_PROTOCOL_FEATURES, 0, NULL, NULL, 0, &offered);
	p->negotiated = offered & p->pfeatures;
	p->ok = p->ok && call(p, PROTO_SET_PROTOCOL_FEATURES, 0, &p->negotiated,
			      NULL, 0, NULL);
	if (p->ok && chan_socketpair(sv) == 0) {
		p->backend_fd = sv[0];
		p->ok = call(p, PROTO_SET_BACKEND_REQ_FD, PROTO_F_NEED_REPLY, NULL,
			     &sv[1], 1, &ack) && ack == 0;
		close(sv[1]);
	}
	while (read(p->c->fd, &b, 1) > 0)
		;
	return NULL;
}

/* Runs step 0 of the case against PEER_FN in a thread; the harness
 * closes its channels, the thread ends, and *p tells what it saw. */
static struct vt_run *run_handshake(const char *text, void *(*peer_fn)(void *),
				    struct peer *p)
{
	struct vt_run *t = vt_run_case(text);
	pthread_t th;

	p->c = &t->peer_main;
	p->backend_fd = -1;
	ck_assert_int_eq(pthread_create(&th, NULL, peer_fn, p), 0);
	if (t->c.role == SCRIPT_ROLE_FRONTEND)
		handshake_frontend(&t->x);
	else
		handshake_backend(&t->x);
	shutdown(t->x.s.ch[SCRIPT_MAIN].fd, SHUT_RDWR);
	ck_assert_int_eq(pthread_join(th, NULL), 0);
	if (p->backend_fd >= 0)
		close(p->backend_fd);
	return t;
}

static void assert_passed(const struct vt_run *t)
{
	ck_assert_msg(t->r.nfailures == 0 && !t->x.aborted,
		      "failed: expected '%s', observed '%s' (%s)",
		      t->r.failures[0].expected, t->r.failures[0].observed,
		      t->r.reason);
}

#define FE "id t\ntitle t\ntarget backend\nrule r\nlevel MUST\nrequires SHMEM BACKEND_REQ\n"
#define BE "id t\ntitle t\ntarget frontend\nrule r\nlevel MUST\nrequires SHMEM BACKEND_REQ\n"

TEST_CASE("as-frontend", 20);

START_TEST(frontend_negotiates_and_sets_up_the_device)
{
	struct peer p = { .pfeatures = PF_BASE | SHMEM };
	struct vt_run *t = run_handshake(FE "handshake\n", backend_peer, &p);

	assert_passed(t);
	ck_assert(p.ok);
	ck_assert_uint_eq(t->x.fe_negotiated, PF_BASE | SHMEM);
	ck_assert_uint_eq(p.seen[0], PROTO_GET_FEATURES);
	ck_assert_uint_eq(p.seen[p.nseen - 1], PROTO_GET_FEATURES);
	ck_assert_uint_eq(p.memtable_fds, 1);
	ck_assert_int_ge(p.backend_fd, 0);
	ck_assert(t->x.hs_cfg_valid);
	ck_assert_uint_eq(t->x.hs_cfg.memory_sizes[0], 0x10000);
	ck_assert(t->x.s.fe.ledger.have_config);
	ck_assert_int_ge(t->x.vring_fds[0], 0);
	vt_run_free(t);
}
END_TEST

/* SHMEM required and not offered: the case cannot be exercised. */
START_TEST(frontend_without_shmem_offered_is_unsupported)
{
	struct peer p = { .pfeatures = PF_BASE };
	struct vt_run *t = run_handshake(FE "handshake\n", backend_peer, &p);

	ck_assert(t->x.aborted);
	ck_assert_int_eq(t->x.abort_verdict, RESULT_UNSUPPORTED);
	ck_assert_ptr_nonnull(strstr(t->r.reason, "SHMEM"));
	vt_run_free(t);
}
END_TEST

/* shmem=off: no GET_SHMEM_CONFIG, and the ledger has no layout. */
START_TEST(frontend_shmem_off_asks_no_config)
{
	struct peer p = { .pfeatures = PF_BASE | SHMEM };
	struct vt_run *t = run_handshake("id t\ntitle t\ntarget backend\nrule r\n"
					 "level MUST\nhandshake shmem=off\n",
					 backend_peer, &p);

	assert_passed(t);
	ck_assert_uint_eq(t->x.fe_negotiated & SHMEM, 0);
	for (unsigned i = 0; i < p.nseen; i++)
		ck_assert_uint_ne(p.seen[i], PROTO_GET_SHMEM_CONFIG);
	ck_assert(!t->x.s.fe.ledger.have_config);
	vt_run_free(t);
}
END_TEST

TEST_CASE("as-backend", 20);

START_TEST(backend_serves_the_negotiation)
{
	struct peer p = { .pfeatures = PF_BASE | SHMEM };
	struct vt_run *t = run_handshake(BE "handshake regions=64k\n", frontend_peer, &p);

	assert_passed(t);
	ck_assert(p.ok);
	ck_assert_uint_eq(t->x.s.be.negotiated, PF_BASE | SHMEM);
	ck_assert_uint_eq(t->x.s.be.offer.cfg.memory_sizes[0], 0x10000);
	ck_assert_int_ge(t->x.s.ch[SCRIPT_BACKEND].fd, 0);
	/* `expect msg` looks past the negotiation. */
	ck_assert_uint_eq(t->x.s.cursor[SCRIPT_MAIN], t->x.s.nlog);
	vt_run_free(t);
}
END_TEST

START_TEST(backend_front_end_declining_shmem_is_unsupported)
{
	struct peer p = { .pfeatures = PF_BASE };
	struct vt_run *t = run_handshake(BE "handshake regions=64k\n", frontend_peer, &p);

	ck_assert(t->x.aborted);
	ck_assert_int_eq(t->x.abort_verdict, RESULT_UNSUPPORTED);
	ck_assert_ptr_nonnull(strstr(t->r.reason, "did not negotiate SHMEM"));
	vt_run_free(t);
}
END_TEST

/* The case's SHMEM bit: its first handshake's, else --shmem-bit. */
START_TEST(case_bit_from_the_first_handshake)
{
	struct vt_run *t = vt_run_case("id t\ntitle t\ntarget frontend\nrule r\n"
				       "level MUST\nhandshake shmem-bit=40\n");
	struct vt_run *u = vt_run_new(SCRIPT_ROLE_BACKEND);

	ck_assert_uint_eq(handshake_case_bit(&t->x), 40);
	u->env.shmem_bit = 33;
	ck_assert_uint_eq(handshake_case_bit(&u->x), 33);
	handshake_first_offer(&u->x);
	ck_assert_uint_eq(u->x.s.be.offer.cfg.memory_sizes[0], 0x100000);
	ck_assert(u->x.s.be.offer.pfeatures & (1ull << 33));
	vt_run_free(t);
	vt_run_free(u);
}
END_TEST
