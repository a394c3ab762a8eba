/* SPDX-License-Identifier: MIT */
/*
 * The test rig of the reference back-end's tests (test_refbe,
 * test_refbemain, test_refbemap, test_refbesend): refbe driven in
 * process over real socketpairs, the test playing the front-end.
 */
#ifndef VHU_TEST_REFBERIG_H
#define VHU_TEST_REFBERIG_H

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "chan.h"
#include "fdpool.h"
#include "proto.h"
#include "refbe.h"
#include "reffe.h"
#include "reffemain.h"
#include "refbemain.h"
#include "refbemap.h"
#include "refbesend.h"
#include "refshmem.h"

#define NEED (PROTO_VERSION | PROTO_F_NEED_REPLY)
#define REPLY (PROTO_VERSION | PROTO_F_REPLY)
#define SHMEM_BIT PROTO_SHMEM_BIT_DEFAULT

struct bx {
	struct refbe *be;
	struct chan mainc;      /* the test's end of the main channel */
	struct chan bch;        /* the test's end of the back-end channel */
};

__attribute__((unused))
static uint64_t all_pfeatures(void)
{
	return refbe_supported_pfeatures(SHMEM_BIT);
}

/* A request on the main channel, served by refbe. */
__attribute__((unused))
static void main_req(struct bx *x, uint32_t req, uint32_t flags,
		     const void *payload, size_t len, const int *fds,
		     unsigned nfds)
{
	struct proto_hdr h = { req, flags, (uint32_t)len };

	ck_assert_int_eq(chan_send(&x->mainc, &h, payload, len, fds, nfds,
				   chan_deadline(200)), CHAN_OK);
	ck_assert_int_eq(refbe_service_main(x->be, chan_deadline(500)), 0);
}

__attribute__((unused))
static void main_u64(struct bx *x, uint32_t req, uint32_t flags, uint64_t v)
{
	uint8_t buf[8];

	proto_u64_encode(v, buf, sizeof(buf));
	main_req(x, req, flags, buf, sizeof(buf), NULL, 0);
}

/* The answer refbe sent on the main channel; CHAN_TIMEOUT if none. */
__attribute__((unused))
static int main_answer(struct bx *x, struct chan_msg *m)
{
	return chan_recv(&x->mainc, m, chan_deadline(100));
}

__attribute__((unused))
static uint64_t answer_u64(struct bx *x, uint32_t req)
{
	struct chan_msg m;
	uint64_t v;

	ck_assert_int_eq(main_answer(x, &m), CHAN_OK);
	ck_assert_uint_eq(m.hdr.request, req);
	ck_assert_uint_eq(m.hdr.flags, REPLY);
	ck_assert_int_eq(proto_u64_decode(m.payload, m.payload_len, &v), 0);
	return v;
}

__attribute__((unused))
static uint64_t get_u64(struct bx *x, uint32_t req)
{
	main_req(x, req, PROTO_VERSION, NULL, 0, NULL, 0);
	return answer_u64(x, req);
}

/* refbe with regions {1M, 64k}, protocol features set as given, and a
 * back-end channel when BACKEND_REQ is among them. */
__attribute__((unused))
static struct bx *bx_setup(const char *faults, uint64_t pfeatures)
{
	struct bx *x = calloc(1, sizeof(*x));
	struct refbe_config cfg;
	char err[160];
	int sv[2];

	ck_assert_ptr_nonnull(x);
	refbe_config_default(&cfg);
	ck_assert_int_eq(refbe_parse_regions(&cfg, "1M,64k"), 0);
	cfg.reply_timeout_ms = 200;
	if (faults)
		ck_assert_int_eq(fault_parse(&cfg.faults, faults,
					     FAULT_ROLE_BACKEND, err,
					     sizeof(err)), 0);
	x->be = calloc(1, sizeof(*x->be));
	ck_assert_ptr_nonnull(x->be);
	refbe_init(x->be, &cfg);
	ck_assert_int_eq(chan_socketpair(sv), 0);
	refbe_attach_main(x->be, sv[0]);
	chan_init(&x->mainc, sv[1], "main", PROTO_CHAN_MAIN);
	chan_init(&x->bch, -1, "backend", PROTO_CHAN_BACKEND);
	main_u64(x, PROTO_SET_PROTOCOL_FEATURES, PROTO_VERSION, pfeatures);
	if (pfeatures & (UINT64_C(1) << PROTO_PF_BACKEND_REQ)) {
		ck_assert_int_eq(chan_socketpair(sv), 0);
		main_req(x, PROTO_SET_BACKEND_REQ_FD, PROTO_VERSION, NULL, 0,
			 &sv[1], 1);
		close(sv[1]);
		chan_init(&x->bch, sv[0], "backend", PROTO_CHAN_BACKEND);
	}
	return x;
}

__attribute__((unused))
static struct bx *bx_new(const char *faults)
{
	return bx_setup(faults, all_pfeatures());
}

__attribute__((unused))
static void bx_free(struct bx *x)
{
	refbe_free(x->be);
	free(x->be);
	chan_close(&x->mainc);
	chan_close(&x->bch);
	free(x);
}

__attribute__((unused))
static struct refbe_map_req mreq(uint8_t shmid, uint64_t off, uint64_t len,
				 bool rw)
{
	struct refbe_map_req r = { .shmid = shmid, .rw = rw, .need_reply = -1,
				   .shm_offset = off, .len = len };

	return r;
}

/* Checks, then submits (as the control channel does). */
__attribute__((unused))
static void submit(struct bx *x, const struct refbe_map_req *r, bool map)
{
	char err[160];

	ck_assert_int_eq(map ? refbe_check_map(x->be, r, err, sizeof(err))
			     : refbe_check_unmap(x->be, r, err, sizeof(err)), 0);
	ck_assert_int_eq(refbe_submit(x->be, r, map), 0);
}

/* The next message refbe sent on the back-end channel. */
__attribute__((unused))
static int be_msg(struct bx *x, struct chan_msg *m, int ms)
{
	return chan_recv(&x->bch, m, chan_deadline(ms));
}

__attribute__((unused))
static void be_reply(struct bx *x, uint32_t req, uint32_t flags, uint64_t v,
		     size_t size, const int *fds, unsigned nfds)
{
	struct proto_hdr h = { req, flags, (uint32_t)size };
	uint8_t buf[16] = { 0 };

	proto_u64_encode(v, buf, sizeof(buf));
	ck_assert_int_eq(chan_send(&x->bch, &h, buf, size, fds, nfds,
				   chan_deadline(200)), CHAN_OK);
}

/* Lets refbe take what the test sent on the back-end channel. */
__attribute__((unused))
static int settle(struct bx *x)
{
	return refbe_wait_idle(x->be, chan_deadline(1000));
}

/* MAP sent, read, answered with value v: the outcome. */
__attribute__((unused))
static int map_answered(struct bx *x, const struct refbe_map_req *r,
			uint64_t v)
{
	struct chan_msg m;

	submit(x, r, true);
	ck_assert_int_eq(be_msg(x, &m, 200), CHAN_OK);
	ck_assert_uint_eq(m.hdr.request, PROTO_BE_SHMEM_MAP);
	chan_msg_release(&m);
	be_reply(x, PROTO_BE_SHMEM_MAP, REPLY, v, 8, NULL, 0);
	return settle(x);
}

__attribute__((unused))
static unsigned live_count(const struct refbe *be)
{
	unsigned n = 0;

	for (unsigned i = 0; i < be->nmaps; i++)
		n += be->maps[i].state == REFBE_MAP_LIVE;
	return n;
}

__attribute__((unused))
static bool child_crashes(struct bx *x)
{
	struct rlimit no_core = { 0, 0 };
	pid_t pid = fork();
	int st;

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		setrlimit(RLIMIT_CORE, &no_core);
		refbe_wait_idle(x->be, chan_deadline(1000));
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	return !(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

__attribute__((unused))
static void get_config(struct bx *x, struct proto_shmem_config *c)
{
	struct chan_msg m;

	main_req(x, PROTO_GET_SHMEM_CONFIG, PROTO_VERSION, NULL, 0, NULL, 0);
	ck_assert_int_eq(main_answer(x, &m), CHAN_OK);
	ck_assert_uint_eq(m.hdr.request, PROTO_GET_SHMEM_CONFIG);
	ck_assert_uint_eq(m.hdr.flags, REPLY);
	ck_assert_uint_eq(m.hdr.size, PROTO_SHMEM_CONFIG_SIZE);
	ck_assert_int_eq(proto_shmem_config_decode(m.payload, m.payload_len, c), 0);
}

__attribute__((unused))
static int guest_memfd(uint64_t size)
{
	int fd = memfd_create("vhu-test-guest", MFD_CLOEXEC);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, (off_t)size), 0);
	return fd;
}

#endif
