/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for targets/ref/refbe: the reference back-end's handlers,
 * driven in process over real socketpairs. The test plays the front-end:
 * it sends main-channel requests and reads the answers, and on the
 * back-end channel it reads the SHMEM_MAP / SHMEM_UNMAP refbe sends and
 * answers them (well or badly).
 */
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
#include "vhutest.h"

#define NEED (PROTO_VERSION | PROTO_F_NEED_REPLY)
#define REPLY (PROTO_VERSION | PROTO_F_REPLY)
#define SHMEM_BIT PROTO_SHMEM_BIT_DEFAULT

struct bx {
	struct refbe *be;
	struct chan mainc;      /* the test's end of the main channel */
	struct chan bch;        /* the test's end of the back-end channel */
};

static uint64_t all_pfeatures(void)
{
	return refbe_supported_pfeatures(SHMEM_BIT);
}

/* A request on the main channel, served by refbe. */
static void main_req(struct bx *x, uint32_t req, uint32_t flags,
		     const void *payload, size_t len, const int *fds,
		     unsigned nfds)
{
	struct proto_hdr h = { req, flags, (uint32_t)len };

	ck_assert_int_eq(chan_send(&x->mainc, &h, payload, len, fds, nfds,
				   chan_deadline(200)), CHAN_OK);
	ck_assert_int_eq(refbe_service_main(x->be, chan_deadline(500)), 0);
}

static void main_u64(struct bx *x, uint32_t req, uint32_t flags, uint64_t v)
{
	uint8_t buf[8];

	proto_u64_encode(v, buf, sizeof(buf));
	main_req(x, req, flags, buf, sizeof(buf), NULL, 0);
}

/* The answer refbe sent on the main channel; CHAN_TIMEOUT if none. */
static int main_answer(struct bx *x, struct chan_msg *m)
{
	return chan_recv(&x->mainc, m, chan_deadline(100));
}

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

static uint64_t get_u64(struct bx *x, uint32_t req)
{
	main_req(x, req, PROTO_VERSION, NULL, 0, NULL, 0);
	return answer_u64(x, req);
}

/* refbe with regions {1M, 64k}, protocol features set as given, and a
 * back-end channel when BACKEND_REQ is among them. */
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

static struct bx *bx_new(const char *faults)
{
	return bx_setup(faults, all_pfeatures());
}

static void bx_free(struct bx *x)
{
	refbe_free(x->be);
	free(x->be);
	chan_close(&x->mainc);
	chan_close(&x->bch);
	free(x);
}

static struct refbe_map_req mreq(uint8_t shmid, uint64_t off, uint64_t len,
				 bool rw)
{
	struct refbe_map_req r = { .shmid = shmid, .rw = rw, .need_reply = -1,
				   .shm_offset = off, .len = len };

	return r;
}

/* Checks, then submits (as the control channel does). */
static void submit(struct bx *x, const struct refbe_map_req *r, bool map)
{
	char err[160];

	ck_assert_int_eq(map ? refbe_check_map(x->be, r, err, sizeof(err))
			     : refbe_check_unmap(x->be, r, err, sizeof(err)), 0);
	ck_assert_int_eq(refbe_submit(x->be, r, map), 0);
}

/* The next message refbe sent on the back-end channel. */
static int be_msg(struct bx *x, struct chan_msg *m, int ms)
{
	return chan_recv(&x->bch, m, chan_deadline(ms));
}

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
static int settle(struct bx *x)
{
	return refbe_wait_idle(x->be, chan_deadline(1000));
}

/* MAP sent, read, answered with value v: the outcome. */
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

static unsigned live_count(const struct refbe *be)
{
	unsigned n = 0;

	for (unsigned i = 0; i < be->nmaps; i++)
		n += be->maps[i].state == REFBE_MAP_LIVE;
	return n;
}

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

/* ------------------------------------------------------------------ */
/* main channel */

TEST_CASE("main");

START_TEST(test_get_features)
{
	struct bx *x = bx_new(NULL);
	uint64_t f = get_u64(x, PROTO_GET_FEATURES);

	ck_assert(f & (UINT64_C(1) << PROTO_F_PROTOCOL_FEATURES));
	bx_free(x);
}
END_TEST

START_TEST(test_get_protocol_features)
{
	struct bx *x = bx_new(NULL);
	uint64_t f = get_u64(x, PROTO_GET_PROTOCOL_FEATURES);
	static const unsigned want[] = {
		PROTO_PF_REPLY_ACK, PROTO_PF_BACKEND_REQ,
		PROTO_PF_BACKEND_SEND_FD, PROTO_PF_CONFIGURE_MEM_SLOTS,
		PROTO_PF_STATUS, PROTO_PF_RESET_DEVICE, SHMEM_BIT,
	};

	for (unsigned i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		ck_assert_msg(f & (UINT64_C(1) << want[i]), "bit %u", want[i]);
	bx_free(x);
}
END_TEST

START_TEST(test_shmem_bit_setting)
{
	uint64_t f = refbe_supported_pfeatures(20);

	ck_assert(f & (UINT64_C(1) << 20));
	ck_assert(!(f & (UINT64_C(1) << 22)));
}
END_TEST

START_TEST(test_set_protocol_features_acked)
{
	struct bx *x = bx_new(NULL);

	main_u64(x, PROTO_SET_PROTOCOL_FEATURES, NEED,
		 all_pfeatures() | (UINT64_C(1) << 40));
	ck_assert_uint_eq(answer_u64(x, PROTO_SET_PROTOCOL_FEATURES), 0);
	ck_assert_uint_eq(x->be->pfeatures, all_pfeatures());
	bx_free(x);
}
END_TEST

START_TEST(test_no_ack_without_need_reply)
{
	struct bx *x = bx_new(NULL);
	struct chan_msg m;

	main_req(x, PROTO_SET_OWNER, PROTO_VERSION, NULL, 0, NULL, 0);
	ck_assert_int_eq(main_answer(x, &m), CHAN_TIMEOUT);
	ck_assert(x->be->owner);
	bx_free(x);
}
END_TEST

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

START_TEST(test_get_shmem_config_layout_and_stable)
{
	struct bx *x = bx_new(NULL);
	struct proto_shmem_config a, b;

	get_config(x, &a);
	ck_assert_uint_eq(a.nregions, 2);
	ck_assert_uint_eq(a.memory_sizes[0], 0x100000);
	ck_assert_uint_eq(a.memory_sizes[1], 0x10000);
	for (unsigned i = 2; i < PROTO_SHMEM_MAX_REGIONS; i++)
		ck_assert_uint_eq(a.memory_sizes[i], 0);
	for (unsigned i = 0; i < 3; i++) {
		get_config(x, &b);
		ck_assert_int_eq(memcmp(&a, &b, sizeof(a)), 0);
	}
	bx_free(x);
}
END_TEST

START_TEST(test_get_shmem_config_without_shmem_empty)
{
	struct bx *x = bx_setup(NULL, all_pfeatures() &
				~(UINT64_C(1) << SHMEM_BIT));
	struct proto_shmem_config c;

	get_config(x, &c);
	ck_assert_uint_eq(c.nregions, 0);
	ck_assert_uint_eq(c.memory_sizes[0], 0);
	bx_free(x);
}
END_TEST

START_TEST(test_set_mem_table_maps_shared)
{
	struct bx *x = bx_new(NULL);
	struct proto_mem_table t = { .nregions = 1 };
	uint8_t buf[8 + PROTO_MEM_REGION_SIZE], got = 0;
	int fd = vt_memfd("vhu-test-guest", 0x10000, 0);

	t.regions[0] = (struct proto_mem_region){ 0, 0x10000, 0x7000000, 0 };
	proto_mem_table_encode(&t, buf, sizeof(buf));
	main_req(x, PROTO_SET_MEM_TABLE, NEED, buf, sizeof(buf), &fd, 1);
	ck_assert_uint_eq(answer_u64(x, PROTO_SET_MEM_TABLE), 0);
	ck_assert_uint_eq(x->be->nmem, 1);
	((volatile uint8_t *)x->be->mem[0].addr)[0x123] = 0x42;
	ck_assert_int_eq(pread(fd, &got, 1, 0x123), 1);
	ck_assert_uint_eq(got, 0x42);
	close(fd);
	bx_free(x);
}
END_TEST

START_TEST(test_set_mem_table_fd_count_mismatch_rejected)
{
	struct bx *x = bx_new(NULL);
	struct proto_mem_table t = { .nregions = 1 };
	uint8_t buf[8 + PROTO_MEM_REGION_SIZE];

	t.regions[0] = (struct proto_mem_region){ 0, 0x10000, 0x7000000, 0 };
	proto_mem_table_encode(&t, buf, sizeof(buf));
	main_req(x, PROTO_SET_MEM_TABLE, NEED, buf, sizeof(buf), NULL, 0);
	ck_assert_uint_ne(answer_u64(x, PROTO_SET_MEM_TABLE), 0);
	ck_assert_uint_eq(x->be->nmem, 0);
	bx_free(x);
}
END_TEST

START_TEST(test_add_and_rem_mem_reg)
{
	struct bx *x = bx_new(NULL);
	struct proto_mem_reg_msg r = { 0, { 0x100000000, 0x1000, 0x7000000, 0 } };
	uint8_t buf[PROTO_MEM_REG_MSG_SIZE];
	int fd = vt_memfd("vhu-test-guest", 0x1000, 0);

	proto_mem_reg_encode(&r, buf, sizeof(buf));
	main_req(x, PROTO_ADD_MEM_REG, NEED, buf, sizeof(buf), &fd, 1);
	ck_assert_uint_eq(answer_u64(x, PROTO_ADD_MEM_REG), 0);
	ck_assert_uint_eq(x->be->nmem, 1);
	main_req(x, PROTO_REM_MEM_REG, NEED, buf, sizeof(buf), NULL, 0);
	ck_assert_uint_eq(answer_u64(x, PROTO_REM_MEM_REG), 0);
	ck_assert_uint_eq(x->be->nmem, 0);
	main_req(x, PROTO_REM_MEM_REG, NEED, buf, sizeof(buf), NULL, 0);
	ck_assert_uint_ne(answer_u64(x, PROTO_REM_MEM_REG), 0);
	close(fd);
	bx_free(x);
}
END_TEST

START_TEST(test_simple_gets)
{
	struct bx *x = bx_new(NULL);

	ck_assert_uint_eq(get_u64(x, PROTO_GET_MAX_MEM_SLOTS), REFBE_MAX_MEM_SLOTS);
	ck_assert_uint_eq(get_u64(x, PROTO_GET_QUEUE_NUM), 1);
	main_u64(x, PROTO_SET_STATUS, PROTO_VERSION, 0xf);
	ck_assert_uint_eq(get_u64(x, PROTO_GET_STATUS), 0xf);
	ck_assert(refbe_started(x->be));
	bx_free(x);
}
END_TEST

START_TEST(test_vring_messages)
{
	struct bx *x = bx_new(NULL);
	struct proto_vring_state s = { 0, 256 };
	struct proto_vring_addr a = { .index = 0, .desc_user_addr = 0x1000 };
	uint8_t buf[PROTO_VRING_ADDR_SIZE];
	int fd = vt_memfd("vhu-test-guest", 0, 0);
	struct chan_msg m;
	struct proto_vring_state got;

	proto_vring_state_encode(&s, buf, sizeof(buf));
	main_req(x, PROTO_SET_VRING_NUM, NEED, buf, PROTO_VRING_STATE_SIZE, NULL, 0);
	ck_assert_uint_eq(answer_u64(x, PROTO_SET_VRING_NUM), 0);
	s.num = 7;
	proto_vring_state_encode(&s, buf, sizeof(buf));
	main_req(x, PROTO_SET_VRING_BASE, NEED, buf, PROTO_VRING_STATE_SIZE, NULL, 0);
	ck_assert_uint_eq(answer_u64(x, PROTO_SET_VRING_BASE), 0);
	proto_vring_addr_encode(&a, buf, sizeof(buf));
	main_req(x, PROTO_SET_VRING_ADDR, NEED, buf, PROTO_VRING_ADDR_SIZE, NULL, 0);
	ck_assert_uint_eq(answer_u64(x, PROTO_SET_VRING_ADDR), 0);
	main_u64(x, PROTO_SET_VRING_KICK, NEED, 0);   /* index 0, no fd: bad */
	ck_assert_uint_ne(answer_u64(x, PROTO_SET_VRING_KICK), 0);
	proto_u64_encode(0, buf, 8);
	main_req(x, PROTO_SET_VRING_KICK, NEED, buf, 8, &fd, 1);
	ck_assert_uint_eq(answer_u64(x, PROTO_SET_VRING_KICK), 0);
	main_u64(x, PROTO_SET_VRING_CALL, NEED, UINT64_C(1) << 8);
	ck_assert_uint_eq(answer_u64(x, PROTO_SET_VRING_CALL), 0);
	s.num = 0;
	proto_vring_state_encode(&s, buf, sizeof(buf));
	main_req(x, PROTO_GET_VRING_BASE, PROTO_VERSION, buf,
		 PROTO_VRING_STATE_SIZE, NULL, 0);
	ck_assert_int_eq(main_answer(x, &m), CHAN_OK);
	ck_assert_int_eq(proto_vring_state_decode(m.payload, m.payload_len, &got), 0);
	ck_assert_uint_eq(got.num, 7);
	close(fd);
	bx_free(x);
}
END_TEST

START_TEST(test_unknown_and_malformed_requests)
{
	struct bx *x = bx_new(NULL);
	struct chan_msg m;

	main_req(x, 99, NEED, NULL, 0, NULL, 0);
	ck_assert_uint_ne(answer_u64(x, 99), 0);
	main_req(x, PROTO_SET_STATUS, NEED, "abc", 3, NULL, 0);
	ck_assert_uint_ne(answer_u64(x, PROTO_SET_STATUS), 0);
	main_req(x, PROTO_SET_OWNER, PROTO_F_NEED_REPLY | 0x2, NULL, 0, NULL, 0);
	ck_assert_uint_ne(answer_u64(x, PROTO_SET_OWNER), 0);
	/* A reply sent to the back-end as if it were a request: dropped. */
	main_req(x, PROTO_GET_FEATURES, REPLY, NULL, 0, NULL, 0);
	ck_assert_int_eq(main_answer(x, &m), CHAN_TIMEOUT);
	bx_free(x);
}
END_TEST

START_TEST(test_set_backend_req_fd_needs_fd)
{
	struct bx *x = bx_new(NULL);

	main_req(x, PROTO_SET_BACKEND_REQ_FD, NEED, NULL, 0, NULL, 0);
	ck_assert_uint_ne(answer_u64(x, PROTO_SET_BACKEND_REQ_FD), 0);
	bx_free(x);
}
END_TEST

START_TEST(test_main_eof_disconnects)
{
	struct bx *x = bx_new(NULL);

	chan_close(&x->mainc);
	ck_assert_int_eq(refbe_service_main(x->be, chan_deadline(200)), 1);
	ck_assert_int_lt(x->be->main.fd, 0);
	ck_assert_int_lt(x->be->backend.fd, 0);
	bx_free(x);
}
END_TEST

/* ------------------------------------------------------------------ */
/* control commands: parsing and refusals */

TEST_CASE("control");

START_TEST(test_parse_regions)
{
	struct refbe_config cfg;

	refbe_config_default(&cfg);
	ck_assert_uint_eq(cfg.sizes[0], 0x100000);
	ck_assert_int_eq(refbe_parse_regions(&cfg, "64k,0,2g"), 0);
	ck_assert_uint_eq(cfg.sizes[0], 0x10000);
	ck_assert_uint_eq(cfg.sizes[1], 0);
	ck_assert_uint_eq(cfg.sizes[2], UINT64_C(0x80000000));
	ck_assert_uint_eq(cfg.sizes[3], 0);
	ck_assert_int_eq(refbe_parse_regions(&cfg, "1M,,1M"), -EINVAL);
	ck_assert_int_eq(refbe_parse_regions(&cfg, "lots"), -EINVAL);
}
END_TEST

START_TEST(test_parse_map_cmd)
{
	struct refbe_map_req r;
	struct ctl_cmd c;
	char err[160];

	ck_assert_int_eq(ctl_parse("map shmid=1 shm_offset=0x2000 len=4k "
				   "fd_offset=0x1000 flags=rw need_reply=0",
				   &c, err, sizeof(err)), 0);
	ck_assert_int_eq(refbe_parse_map_cmd(&c, &r, err, sizeof(err)), 0);
	ck_assert_uint_eq(r.shmid, 1);
	ck_assert_uint_eq(r.shm_offset, 0x2000);
	ck_assert_uint_eq(r.len, 0x1000);
	ck_assert_uint_eq(r.fd_offset, 0x1000);
	ck_assert(r.rw);
	ck_assert_int_eq(r.need_reply, 0);
	ck_assert_int_eq(ctl_parse("map len=4k flags=1", &c, err, sizeof(err)), 0);
	ck_assert_int_eq(refbe_parse_map_cmd(&c, &r, err, sizeof(err)), 0);
	ck_assert(r.rw);
	ck_assert_int_eq(r.need_reply, -1);
	ck_assert_int_eq(ctl_parse("map len=4k flags=ro", &c, err, sizeof(err)), 0);
	ck_assert_int_eq(refbe_parse_map_cmd(&c, &r, err, sizeof(err)), 0);
	ck_assert(!r.rw);
}
END_TEST

START_TEST(test_parse_map_cmd_errors)
{
	static const char *const bad[] = {
		"map shmid=0", "map len=4k color=red", "map len=4k flags=2",
		"map len=4k shmid=256", "map len=zz", "map len=4k need_reply=maybe",
		"unmap len=4k fd_offset=0",
	};
	struct refbe_map_req r;
	struct ctl_cmd c;
	char err[160];

	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_eq(ctl_parse(bad[i], &c, err, sizeof(err)), 0);
		err[0] = '\0';
		ck_assert_msg((c.name[0] == 'm'
				       ? refbe_parse_map_cmd(&c, &r, err, sizeof(err))
				       : refbe_parse_unmap_cmd(&c, &r, err,
							       sizeof(err))) == -EINVAL,
			      "'%s' accepted", bad[i]);
		ck_assert_uint_gt(strlen(err), 0);
	}
}
END_TEST

START_TEST(test_check_map_refusals)
{
	struct bx *x = bx_new(NULL);
	struct refbe_map_req r;
	char err[160];

	r = mreq(1, 0xf000, 0x2000, true);
	ck_assert_int_eq(refbe_check_map(x->be, &r, err, sizeof(err)), -ERANGE);
	r = mreq(2, 0, 0x1000, true);
	ck_assert_int_eq(refbe_check_map(x->be, &r, err, sizeof(err)), -ERANGE);
	r = mreq(0, UINT64_MAX - 0xfff, 0x2000, true);
	ck_assert_int_eq(refbe_check_map(x->be, &r, err, sizeof(err)), -ERANGE);
	r = mreq(0, 0, 0, true);
	ck_assert_int_eq(refbe_check_map(x->be, &r, err, sizeof(err)), -EINVAL);
	r = mreq(0, 0x2000, 0x2000, true);
	ck_assert_int_eq(map_answered(x, &r, 0), REFBE_DONE);
	r = mreq(0, 0x3000, 0x2000, true);
	ck_assert_int_eq(refbe_check_map(x->be, &r, err, sizeof(err)), -EEXIST);
	r = mreq(0, 0x1000, 0x1000, true);   /* touching: fine */
	ck_assert_int_eq(refbe_check_map(x->be, &r, err, sizeof(err)), 0);
	bx_free(x);
}
END_TEST

START_TEST(test_check_map_needs_channel_and_shmem)
{
	struct bx *x = bx_setup(NULL, all_pfeatures() &
				~(UINT64_C(1) << SHMEM_BIT));
	struct refbe_map_req r = mreq(0, 0, 0x1000, true);
	char err[160];

	ck_assert_int_eq(refbe_check_map(x->be, &r, err, sizeof(err)), -EPERM);
	ck_assert_ptr_nonnull(strstr(err, "SHMEM"));
	bx_free(x);
	x = bx_setup(NULL, all_pfeatures() &
		     ~(UINT64_C(1) << PROTO_PF_BACKEND_REQ));
	ck_assert_int_eq(refbe_check_map(x->be, &r, err, sizeof(err)), -ENOTCONN);
	bx_free(x);
	x = bx_setup(NULL, all_pfeatures() &
		     ~(UINT64_C(1) << PROTO_PF_BACKEND_SEND_FD));
	ck_assert_int_eq(refbe_check_map(x->be, &r, err, sizeof(err)), -EPERM);
	bx_free(x);
}
END_TEST

START_TEST(test_check_unmap_only_live)
{
	struct bx *x = bx_new(NULL);
	struct refbe_map_req r = mreq(0, 0x2000, 0x2000, true), u;
	char err[160];

	ck_assert_int_eq(refbe_check_unmap(x->be, &r, err, sizeof(err)), -ENOENT);
	ck_assert_int_eq(map_answered(x, &r, 0), REFBE_DONE);
	ck_assert_int_eq(refbe_check_unmap(x->be, &r, err, sizeof(err)), 0);
	u = mreq(0, 0x2000, 0x1000, false);
	ck_assert_int_eq(refbe_check_unmap(x->be, &u, err, sizeof(err)), -ENOENT);
	u = mreq(0, 0x1000, 0x3000, false);
	ck_assert_int_eq(refbe_check_unmap(x->be, &u, err, sizeof(err)), -ENOENT);
	bx_free(x);
}
END_TEST

/* ------------------------------------------------------------------ */
/* MAP / UNMAP messages and replies */

TEST_CASE("backend");

START_TEST(test_map_message_shape)
{
	struct bx *x = bx_new(NULL);
	struct refbe_map_req r = mreq(1, 0x2000, 0x3000, true);
	struct proto_mmap mm;
	struct chan_msg m;
	struct stat st;
	char path[64], target[128];
	ssize_t n;

	r.fd_offset = 0x1000;
	submit(x, &r, true);
	ck_assert_int_eq(be_msg(x, &m, 200), CHAN_OK);
	ck_assert_uint_eq(m.hdr.request, PROTO_BE_SHMEM_MAP);
	ck_assert_uint_eq(m.hdr.flags, NEED);
	ck_assert_uint_eq(m.hdr.size, PROTO_MMAP_SIZE);
	ck_assert_uint_eq(m.nfds, 1);
	ck_assert_int_eq(proto_mmap_decode(m.payload, m.payload_len, &mm), 0);
	ck_assert_uint_eq(mm.shmid, 1);
	ck_assert_uint_eq(mm.fd_offset, 0x1000);
	ck_assert_uint_eq(mm.shm_offset, 0x2000);
	ck_assert_uint_eq(mm.len, 0x3000);
	ck_assert_uint_eq(mm.flags, PROTO_MMAP_F_RW);
	for (unsigned i = 0; i < sizeof(mm.padding); i++)
		ck_assert_uint_eq(mm.padding[i], 0);
	ck_assert_int_eq(fstat(m.fds[0], &st), 0);
	ck_assert_int_eq(st.st_size, 0x4000);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", m.fds[0]);
	n = readlink(path, target, sizeof(target) - 1);
	ck_assert_int_gt(n, 0);
	target[n] = '\0';
	ck_assert_ptr_nonnull(strstr(target, "memfd:vhu-refbe-"));
	chan_msg_release(&m);
	ck_assert(refbe_waiting(x->be, NULL));
	bx_free(x);
}
END_TEST

START_TEST(test_map_reply_zero_goes_live)
{
	struct bx *x = bx_new(NULL);
	struct refbe_map_req r = mreq(0, 0, 0x1000, false);

	ck_assert_int_eq(map_answered(x, &r, 0), REFBE_DONE);
	ck_assert_uint_eq(live_count(x->be), 1);
	ck_assert_int_ge(x->be->maps[0].fd, 0);
	ck_assert(!refbe_waiting(x->be, NULL));
	bx_free(x);
}
END_TEST

START_TEST(test_map_refused_forgotten_fd_closed)
{
	struct bx *x = bx_new(NULL);
	struct refbe_map_req r = mreq(0, 0, 0x1000, false);
	int before = fdpool_count_open_fds();

	ck_assert_int_eq(map_answered(x, &r, 22), REFBE_REFUSED);
	ck_assert_uint_eq(x->be->nmaps, 0);
	ck_assert_int_eq(fdpool_count_open_fds(), before);
	bx_free(x);
}
END_TEST

START_TEST(test_waits_for_reply_before_next)
{
	struct bx *x = bx_new(NULL);
	struct refbe_map_req a = mreq(0, 0, 0x1000, true);
	struct refbe_map_req b = mreq(0, 0x1000, 0x1000, true);
	struct chan_msg m;
	struct proto_mmap mm;

	submit(x, &a, true);
	submit(x, &b, true);   /* queued behind a's reply */
	ck_assert_int_eq(be_msg(x, &m, 200), CHAN_OK);
	chan_msg_release(&m);
	ck_assert_int_eq(be_msg(x, &m, 100), CHAN_TIMEOUT);
	ck_assert_uint_eq(x->be->nqueue, 1);
	be_reply(x, PROTO_BE_SHMEM_MAP, REPLY, 0, 8, NULL, 0);
	ck_assert_int_eq(refbe_service_backend(x->be, chan_deadline(200)), 0);
	ck_assert_int_eq(be_msg(x, &m, 200), CHAN_OK);
	ck_assert_int_eq(proto_mmap_decode(m.payload, m.payload_len, &mm), 0);
	ck_assert_uint_eq(mm.shm_offset, 0x1000);
	chan_msg_release(&m);
	be_reply(x, PROTO_BE_SHMEM_MAP, REPLY, 0, 8, NULL, 0);
	ck_assert_int_eq(settle(x), REFBE_DONE);
	ck_assert_uint_eq(live_count(x->be), 2);
	bx_free(x);
}
END_TEST

START_TEST(test_no_reply_times_out_then_next_sent)
{
	struct bx *x = bx_new(NULL);
	struct refbe_map_req a = mreq(0, 0, 0x1000, true);
	struct refbe_map_req b = mreq(0, 0x1000, 0x1000, true);
	struct chan_msg m;
	int64_t t0 = chan_now_ms();

	submit(x, &a, true);
	submit(x, &b, true);
	ck_assert_int_eq(be_msg(x, &m, 200), CHAN_OK);
	chan_msg_release(&m);
	/* No answer: after reply_timeout_ms (200) a is given up. */
	while (refbe_waiting(x->be, NULL) && x->be->nqueue)
		refbe_wait_idle(x->be, chan_deadline(10));
	ck_assert_int_ge(chan_now_ms() - t0, 190);
	ck_assert_int_eq(x->be->last_outcome, REFBE_NO_REPLY);
	ck_assert_int_eq(be_msg(x, &m, 200), CHAN_OK);
	chan_msg_release(&m);
	ck_assert_uint_eq(x->be->nmaps, 1); /* only b, pending */
	bx_free(x);
}
END_TEST

static int bad_reply_outcome(uint32_t req, uint32_t flags, size_t size)
{
	struct bx *x = bx_new(NULL);
	struct refbe_map_req r = mreq(0, 0, 0x1000, true);
	struct chan_msg m;
	int out;

	submit(x, &r, true);
	ck_assert_int_eq(be_msg(x, &m, 200), CHAN_OK);
	chan_msg_release(&m);
	be_reply(x, req, flags, 0, size, NULL, 0);
	out = settle(x);
	/* The channel survives: another MAP goes out and is answered. */
	r = mreq(0, 0x8000, 0x1000, true);
	ck_assert_int_eq(map_answered(x, &r, 0), REFBE_DONE);
	bx_free(x);
	return out;
}

START_TEST(test_bad_replies_not_success)
{
	ck_assert_int_eq(bad_reply_outcome(PROTO_BE_SHMEM_UNMAP, REPLY, 8),
			 REFBE_BAD_REPLY);
	ck_assert_int_eq(bad_reply_outcome(PROTO_BE_SHMEM_MAP, PROTO_VERSION, 8),
			 REFBE_BAD_REPLY);
	ck_assert_int_eq(bad_reply_outcome(PROTO_BE_SHMEM_MAP, REPLY | 0x8, 8),
			 REFBE_BAD_REPLY);
	ck_assert_int_eq(bad_reply_outcome(PROTO_BE_SHMEM_MAP, 0x6, 8),
			 REFBE_BAD_REPLY);
	ck_assert_int_eq(bad_reply_outcome(PROTO_BE_SHMEM_MAP, REPLY, 16),
			 REFBE_BAD_REPLY);
}
END_TEST

START_TEST(test_short_replies_survived)
{
	ck_assert_int_eq(bad_reply_outcome(PROTO_BE_SHMEM_MAP, REPLY, 4),
			 REFBE_BAD_REPLY);
	ck_assert_int_eq(bad_reply_outcome(PROTO_BE_SHMEM_MAP, REPLY, 0),
			 REFBE_BAD_REPLY);
}
END_TEST

START_TEST(test_reply_with_fd_closed)
{
	struct bx *x = bx_new(NULL);
	struct refbe_map_req r = mreq(0, 0, 0x1000, true);
	int fd = vt_memfd("vhu-test-guest", 0x1000, 0), before;
	struct chan_msg m;

	submit(x, &r, true);
	ck_assert_int_eq(be_msg(x, &m, 200), CHAN_OK);
	chan_msg_release(&m);
	before = fdpool_count_open_fds();
	be_reply(x, PROTO_BE_SHMEM_MAP, REPLY, 0, 8, &fd, 1);
	ck_assert_int_eq(settle(x), REFBE_DONE);
	ck_assert_int_eq(fdpool_count_open_fds(), before);
	close(fd);
	bx_free(x);
}
END_TEST

START_TEST(test_eof_is_not_success)
{
	struct bx *x = bx_new(NULL);
	struct refbe_map_req r = mreq(0, 0, 0x1000, true);
	struct chan_msg m;
	char err[160];

	submit(x, &r, true);
	ck_assert_int_eq(be_msg(x, &m, 200), CHAN_OK);
	chan_msg_release(&m);
	chan_close(&x->bch);
	ck_assert_int_eq(settle(x), REFBE_EOF);
	ck_assert_uint_eq(x->be->nmaps, 0);
	ck_assert_int_lt(x->be->backend.fd, 0);
	ck_assert_int_eq(refbe_check_unmap(x->be, &r, err, sizeof(err)), -ENOTCONN);
	bx_free(x);
}
END_TEST

START_TEST(test_without_reply_ack_no_wait)
{
	struct bx *x = bx_setup(NULL, all_pfeatures() &
				~(UINT64_C(1) << PROTO_PF_REPLY_ACK));
	struct refbe_map_req a = mreq(0, 0, 0x1000, true);
	struct refbe_map_req b = mreq(0, 0x1000, 0x1000, true);
	struct chan_msg m;

	submit(x, &a, true);
	submit(x, &b, true);
	for (unsigned i = 0; i < 2; i++) {
		ck_assert_int_eq(be_msg(x, &m, 200), CHAN_OK);
		ck_assert_uint_eq(m.hdr.flags, PROTO_VERSION);
		chan_msg_release(&m);
	}
	ck_assert(!refbe_waiting(x->be, NULL));
	ck_assert_uint_eq(live_count(x->be), 2);
	bx_free(x);
}
END_TEST

START_TEST(test_unmap_message_and_ledger)
{
	struct bx *x = bx_new(NULL);
	struct refbe_map_req r = mreq(0, 0x2000, 0x2000, true);
	struct proto_mmap mm;
	struct chan_msg m;
	int before;

	r.fd_offset = 0x1000;
	ck_assert_int_eq(map_answered(x, &r, 0), REFBE_DONE);
	before = fdpool_count_open_fds();
	submit(x, &r, false);
	ck_assert_int_eq(be_msg(x, &m, 200), CHAN_OK);
	ck_assert_uint_eq(m.hdr.request, PROTO_BE_SHMEM_UNMAP);
	ck_assert_uint_eq(m.hdr.flags, NEED);
	ck_assert_uint_eq(m.nfds, 0);
	ck_assert_int_eq(proto_mmap_decode(m.payload, m.payload_len, &mm), 0);
	ck_assert_uint_eq(mm.fd_offset, 0);
	ck_assert_uint_eq(mm.flags, 0);
	ck_assert_uint_eq(mm.shm_offset, 0x2000);
	ck_assert_uint_eq(mm.len, 0x2000);
	be_reply(x, PROTO_BE_SHMEM_UNMAP, REPLY, 0, 8, NULL, 0);
	ck_assert_int_eq(settle(x), REFBE_DONE);
	ck_assert_uint_eq(x->be->nmaps, 0);
	ck_assert_int_eq(fdpool_count_open_fds(), before - 1);
	bx_free(x);
}
END_TEST

START_TEST(test_unmap_refused_stays_live)
{
	struct bx *x = bx_new(NULL);
	struct refbe_map_req r = mreq(0, 0x2000, 0x2000, true);
	struct chan_msg m;

	ck_assert_int_eq(map_answered(x, &r, 0), REFBE_DONE);
	submit(x, &r, false);
	ck_assert_int_eq(be_msg(x, &m, 200), CHAN_OK);
	chan_msg_release(&m);
	be_reply(x, PROTO_BE_SHMEM_UNMAP, REPLY, 1, 8, NULL, 0);
	ck_assert_int_eq(settle(x), REFBE_REFUSED);
	ck_assert_uint_eq(live_count(x->be), 1);
	bx_free(x);
}
END_TEST

START_TEST(test_unsolicited_messages_dropped)
{
	struct bx *x = bx_new(NULL);
	struct refbe_map_req r = mreq(0, 0, 0x1000, true);

	be_reply(x, PROTO_BE_SHMEM_MAP, REPLY, 0, 8, NULL, 0);
	be_reply(x, PROTO_BE_SHMEM_MAP, PROTO_VERSION, 0, 8, NULL, 0);
	ck_assert_int_eq(refbe_service_backend(x->be, chan_deadline(100)), 0);
	ck_assert_int_eq(refbe_service_backend(x->be, chan_deadline(100)), 0);
	ck_assert_int_eq(map_answered(x, &r, 0), REFBE_DONE);
	bx_free(x);
}
END_TEST

START_TEST(test_reset_forgets_ledger)
{
	struct bx *x = bx_new(NULL);
	struct refbe_map_req r = mreq(0, 0, 0x1000, true);
	int before = fdpool_count_open_fds();

	ck_assert_int_eq(map_answered(x, &r, 0), REFBE_DONE);
	main_req(x, PROTO_RESET_DEVICE, PROTO_VERSION, NULL, 0, NULL, 0);
	ck_assert_uint_eq(x->be->nmaps, 0);
	ck_assert_int_eq(fdpool_count_open_fds(), before);
	ck_assert_int_eq(map_answered(x, &r, 0), REFBE_DONE);
	main_u64(x, PROTO_SET_STATUS, PROTO_VERSION, 0);
	ck_assert_uint_eq(x->be->nmaps, 0);
	bx_free(x);
}
END_TEST

START_TEST(test_dump_json)
{
	struct bx *x = bx_new(NULL);
	struct refbe_map_req r = mreq(0, 0x1000, 0x1000, true);
	char buf[2048];

	ck_assert_int_eq(map_answered(x, &r, 0), REFBE_DONE);
	ck_assert_int_gt(refbe_dump(x->be, buf, sizeof(buf)), 0);
	ck_assert_ptr_nonnull(strstr(buf, "\"shm_offset\":4096,\"len\":4096"));
	ck_assert_ptr_nonnull(strstr(buf, "\"state\":\"live\""));
	ck_assert_ptr_nonnull(strstr(buf, "\"fds\":1}"));
	ck_assert_int_gt(refbe_dump_config(x->be, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "{\"regions\":[{\"shmid\":0,\"size\":1048576},"
			      "{\"shmid\":1,\"size\":65536}],\"calls\":0}");
	bx_free(x);
}
END_TEST

/* The reference back-end against the reference front-end, which runs in
 * a child serving its back-end channel. */
START_TEST(test_map_against_reffe)
{
	struct bx *x = bx_new(NULL);
	struct refbe_map_req r = mreq(0, 0x2000, 0x2000, true);
	int sv[2], st;
	pid_t pid;

	/* Swap the test's end of the back-end channel for reffe's. */
	ck_assert_int_eq(chan_socketpair(sv), 0);
	chan_close(&x->be->backend);
	x->be->backend.fd = sv[0];
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct reffe_config cfg;
		struct reffe *fe = calloc(1, sizeof(*fe));
		struct proto_shmem_config c;
		struct chan_msg m;
		char err[128];

		close(sv[0]);
		reffe_config_default(&cfg);
		reffe_init(fe, &cfg);
		reffe_set_negotiated(fe, 0, reffe_supported_pfeatures(SHMEM_BIT));
		reffe_attach_backend(fe, sv[1]);
		refbe_shmem_config(x->be, &c);
		chan_msg_init(&m);
		m.hdr = (struct proto_hdr){ PROTO_GET_SHMEM_CONFIG, REPLY,
					    PROTO_SHMEM_CONFIG_SIZE };
		m.payload_len = PROTO_SHMEM_CONFIG_SIZE;
		proto_shmem_config_encode(&c, m.payload, sizeof(m.payload));
		reffe_apply_shmem_config(fe, &m, err, sizeof(err));
		reffe_start(fe, 0, err, sizeof(err));
		while (reffe_service_backend(fe, chan_deadline(2000)) == 0)
			;
		_exit(fe->nmaps == 0 ? 0 : 3);
	}
	close(sv[1]);
	ck_assert_int_eq(refbe_send_map(x->be, &r), REFBE_DONE);
	r = mreq(0, 0x3000, 0x1000, true);  /* reffe refuses the overlap */
	ck_assert_int_eq(refbe_send_map(x->be, &r), REFBE_REFUSED);
	r = mreq(0, 0x2000, 0x2000, true);
	ck_assert_int_eq(refbe_send_unmap(x->be, &r), REFBE_DONE);
	bx_free(x);   /* EOF ends the child, with no mapping left */
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}
END_TEST

/* ------------------------------------------------------------------ */
/* each back-end fault changes behaviour */

TEST_CASE("faults");

START_TEST(test_fault_map_without_shmem)
{
	struct bx *x = bx_setup("be_map_without_shmem", all_pfeatures() &
				~(UINT64_C(1) << SHMEM_BIT));
	struct refbe_map_req r = mreq(0, 0, 0x1000, true);
	struct chan_msg m;

	submit(x, &r, true);
	ck_assert_int_eq(be_msg(x, &m, 200), CHAN_OK);
	ck_assert_uint_eq(m.hdr.request, PROTO_BE_SHMEM_MAP);
	chan_msg_release(&m);
	bx_free(x);
}
END_TEST

START_TEST(test_fault_no_wait_for_reply)
{
	struct bx *x = bx_new("be_no_wait_for_reply");
	struct refbe_map_req a = mreq(0, 0, 0x1000, true);
	struct refbe_map_req b = mreq(0, 0x1000, 0x1000, true);
	struct chan_msg m;

	submit(x, &a, true);
	submit(x, &b, true);
	ck_assert_int_eq(be_msg(x, &m, 200), CHAN_OK);
	ck_assert_uint_eq(m.hdr.flags, NEED);
	chan_msg_release(&m);
	ck_assert_int_eq(be_msg(x, &m, 200), CHAN_OK);
	chan_msg_release(&m);
	ck_assert(!refbe_waiting(x->be, NULL));
	bx_free(x);
}
END_TEST

START_TEST(test_fault_fd_on_unmap)
{
	struct bx *x = bx_new("be_fd_on_unmap");
	struct refbe_map_req r = mreq(0, 0, 0x1000, true);
	struct chan_msg m;

	ck_assert_int_eq(map_answered(x, &r, 0), REFBE_DONE);
	submit(x, &r, false);
	ck_assert_int_eq(be_msg(x, &m, 200), CHAN_OK);
	ck_assert_uint_eq(m.hdr.request, PROTO_BE_SHMEM_UNMAP);
	ck_assert_uint_eq(m.nfds, 1);
	chan_msg_release(&m);
	bx_free(x);
}
END_TEST

START_TEST(test_fault_no_fd_on_map)
{
	struct bx *x = bx_new("be_no_fd_on_map");
	struct refbe_map_req r = mreq(0, 0, 0x1000, true);
	struct chan_msg m;

	submit(x, &r, true);
	ck_assert_int_eq(be_msg(x, &m, 200), CHAN_OK);
	ck_assert_uint_eq(m.nfds, 0);
	bx_free(x);
}
END_TEST

START_TEST(test_fault_nonzero_padding_and_unknown_flags)
{
	static const char *const faults[] = { "be_nonzero_padding",
					      "be_unknown_flags" };

	for (unsigned i = 0; i < 2; i++) {
		struct bx *x = bx_new(faults[i]);
		struct refbe_map_req r = mreq(0, 0, 0x1000, false);
		struct proto_mmap mm;
		struct chan_msg m;

		submit(x, &r, true);
		ck_assert_int_eq(be_msg(x, &m, 200), CHAN_OK);
		ck_assert_int_eq(proto_mmap_decode(m.payload, m.payload_len,
						   &mm), 0);
		if (i == 0)
			ck_assert_uint_ne(mm.padding[0], 0);
		else
			ck_assert_uint_ne(mm.flags & ~(uint64_t)PROTO_MMAP_F_KNOWN,
					  0);
		chan_msg_release(&m);
		bx_free(x);
	}
}
END_TEST

START_TEST(test_fault_map_outside_region)
{
	struct bx *x = bx_new("be_map_outside_region");
	struct refbe_map_req r = mreq(1, 0xf000, 0x2000, true);
	char err[160];

	ck_assert_int_eq(refbe_check_map(x->be, &r, err, sizeof(err)), 0);
	bx_free(x);
}
END_TEST

START_TEST(test_fault_map_overlap_own)
{
	struct bx *x = bx_new("be_map_overlap_own");
	struct refbe_map_req r = mreq(0, 0x2000, 0x2000, true);
	char err[160];

	ck_assert_int_eq(map_answered(x, &r, 0), REFBE_DONE);
	r = mreq(0, 0x3000, 0x1000, true);
	ck_assert_int_eq(refbe_check_map(x->be, &r, err, sizeof(err)), 0);
	bx_free(x);
}
END_TEST

START_TEST(test_fault_eof_as_success)
{
	struct bx *x = bx_new("be_eof_as_success");
	struct refbe_map_req r = mreq(0, 0, 0x1000, true);
	struct chan_msg m;
	char err[160];

	submit(x, &r, true);
	ck_assert_int_eq(be_msg(x, &m, 200), CHAN_OK);
	chan_msg_release(&m);
	chan_close(&x->bch);
	ck_assert_int_eq(settle(x), REFBE_DONE);
	ck_assert_uint_eq(live_count(x->be), 1);
	/* It believes it holds the mapping and the channel still works. */
	ck_assert_int_eq(refbe_check_unmap(x->be, &r, err, sizeof(err)), 0);
	bx_free(x);
}
END_TEST

START_TEST(test_fault_abort_short_reply)
{
	struct bx *x = bx_new("be_abort_short_reply");
	struct refbe_map_req r = mreq(0, 0, 0x1000, true);
	struct chan_msg m;

	submit(x, &r, true);
	ck_assert_int_eq(be_msg(x, &m, 200), CHAN_OK);
	chan_msg_release(&m);
	be_reply(x, PROTO_BE_SHMEM_MAP, REPLY, 0, 4, NULL, 0);
	ck_assert(child_crashes(x));
	bx_free(x);
}
END_TEST

START_TEST(test_fault_config_not_page_multiple)
{
	struct bx *x = bx_new("be_config_not_page_multiple");
	struct proto_shmem_config c;

	get_config(x, &c);
	ck_assert_uint_ne(c.memory_sizes[0] % 4096, 0);
	bx_free(x);
}
END_TEST

START_TEST(test_fault_config_unstable)
{
	struct bx *x = bx_new("be_config_unstable");
	struct proto_shmem_config a, b;

	get_config(x, &a);
	get_config(x, &b);
	ck_assert_uint_ne(a.memory_sizes[0], b.memory_sizes[0]);
	ck_assert_uint_eq(a.memory_sizes[0] % 4096, 0);
	bx_free(x);
}
END_TEST

/* ------------------------------------------------------------------ */
/* the program: SIGTERM ends it promptly wherever it waits */

/* Generous, and far below the --reply-timeout the tests give. */
#define PROMPT_EXIT_MS 2000

/* The built program next to this test: <build>/tests/test_refbe ->
 * <build>/targets/NAME. */
static void program_path(const char *name, char *out, size_t cap)
{
	char self[4096];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;

	ck_assert_int_gt(n, 0);
	self[n] = '\0';
	for (int i = 0; i < 2; i++) {
		slash = strrchr(self, '/');
		ck_assert_ptr_nonnull(slash);
		*slash = '\0';
	}
	snprintf(out, cap, "%s/targets/%s", self, name);
	ck_assert_msg(access(out, X_OK) == 0, "%s not built", out);
}

/* SIGTERM, then ms until it exited (status in *st), or -1 if it still
 * runs after PROMPT_EXIT_MS (it is killed then). */
static int64_t term_and_time(pid_t pid, int *st)
{
	int64_t t0 = chan_now_ms();

	ck_assert_int_eq(kill(pid, SIGTERM), 0);
	while (chan_now_ms() - t0 < PROMPT_EXIT_MS) {
		if (waitpid(pid, st, WNOHANG) == pid)
			return chan_now_ms() - t0;
		poll(NULL, 0, 5);
	}
	kill(pid, SIGKILL);
	waitpid(pid, st, 0);
	return -1;
}

/* Drives the program as a front-end (the reference one, in process) up
 * to a SHMEM_MAP whose reply the program now awaits. */
static void program_awaits_map_reply(struct reffe *fe, int main_fd, int ctl)
{
	struct reffe_config cfg;
	struct chan_msg m;
	char err[160], ans[64];
	static const char cmd[] = "map shmid=0 shm_offset=0 len=0x1000\n";
	ssize_t n;

	reffe_config_default(&cfg);
	reffe_init(fe, &cfg);
	reffe_attach_main(fe, main_fd);
	ck_assert_int_eq(reffe_handshake(fe, chan_deadline(2000), err,
					 sizeof(err)), 0);
	ck_assert_int_eq(write(ctl, cmd, strlen(cmd)), (ssize_t)strlen(cmd));
	ck_assert_int_eq(chan_wait_readable(ctl, chan_deadline(2000)), 1);
	n = read(ctl, ans, sizeof(ans) - 1);
	ck_assert_int_gt(n, 0);
	ans[n] = '\0';
	ck_assert_str_eq(ans, "ok\n");
	ck_assert_int_eq(chan_recv(&fe->backend, &m, chan_deadline(2000)),
			 CHAN_OK);
	ck_assert_uint_eq(m.hdr.request, PROTO_BE_SHMEM_MAP);
	ck_assert_uint_eq(m.hdr.flags, NEED);
	chan_msg_release(&m);
}

TEST_CASE("backend");

/* The program awaits a MAP reply that never comes (0), has 6 bytes of
 * that reply (1), or listens for a front-end that never comes (2); the
 * reply and accept deadlines are 30 s. */
START_LOOP_TEST(test_program_sigterm_while_waiting, 0, 3)
{
	char path[4200], a1[96], a2[64];
	char *argv[] = { path, a1, a2, "--reply-timeout=30000",
			 "--accept-timeout=30000", NULL };
	struct reffe *fe = calloc(1, sizeof(*fe));
	int sv[2], cv[2], st;
	int64_t ms;
	pid_t pid;

	program_path("vhu-ref-backend", path, sizeof(path));
	if (_i == 2) {
		snprintf(a1, sizeof(a1),
			 "--socket-path=/tmp/vhu-refbe-nobody-%d.sock",
			 (int)getpid());
		snprintf(a2, sizeof(a2), "--verbose");
		pid = vt_spawn(argv, NULL, 0);
		poll(NULL, 0, 200);
	} else {
		ck_assert_int_eq(chan_socketpair(sv), 0);
		ck_assert_int_eq(chan_socketpair(cv), 0);
		snprintf(a1, sizeof(a1), "--fd=%d", sv[1]);
		snprintf(a2, sizeof(a2), "--control-fd=%d", cv[1]);
		pid = vt_spawn(argv, (int[]){ sv[1], cv[1] }, 2);
		close(sv[1]);
		close(cv[1]);
		program_awaits_map_reply(fe, sv[0], cv[0]);
		if (_i == 1)
			ck_assert_int_eq(chan_send_raw(&fe->backend,
						       "\x09\0\0\0\x05\0", 6,
						       NULL, 0,
						       chan_deadline(100)),
					 CHAN_OK);
		poll(NULL, 0, 100);
	}
	ms = term_and_time(pid, &st);
	ck_assert_msg(ms >= 0, "still running %d ms after SIGTERM",
		      PROMPT_EXIT_MS);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		      "status 0x%x after SIGTERM", st);
	if (_i != 2) {
		reffe_free(fe);
		close(cv[0]);
	}
	free(fe);
}
END_TEST

/* Six bytes of a main-channel request, then nothing: the program's loop
 * still answers its control channel at once (it used to sit in the read
 * for --reply-timeout). */
START_TEST(test_program_loop_not_blocked_by_half_message)
{
	char path[4200], a1[32], a2[32], ans[512];
	char *argv[] = { path, a1, a2, "--reply-timeout=30000", NULL };
	struct reffe *fe = calloc(1, sizeof(*fe));
	struct reffe_config cfg;
	int sv[2], cv[2], st;
	char err[160];
	ssize_t n;
	pid_t pid;

	program_path("vhu-ref-backend", path, sizeof(path));
	ck_assert_int_eq(chan_socketpair(sv), 0);
	ck_assert_int_eq(chan_socketpair(cv), 0);
	snprintf(a1, sizeof(a1), "--fd=%d", sv[1]);
	snprintf(a2, sizeof(a2), "--control-fd=%d", cv[1]);
	pid = vt_spawn(argv, (int[]){ sv[1], cv[1] }, 2);
	close(sv[1]);
	close(cv[1]);
	reffe_config_default(&cfg);
	reffe_init(fe, &cfg);
	reffe_attach_main(fe, sv[0]);
	ck_assert_int_eq(reffe_handshake(fe, chan_deadline(2000), err,
					 sizeof(err)), 0);
	ck_assert_int_eq(chan_send_raw(&fe->main, "\x01\0\0\0\x01\0", 6,
				       NULL, 0, chan_deadline(100)), CHAN_OK);
	poll(NULL, 0, 20);
	ck_assert_int_eq(write(cv[0], "dump\n", 5), 5);
	ck_assert_msg(chan_wait_readable(cv[0], chan_deadline(500)) == 1,
		      "no answer to dump within 500 ms");
	n = read(cv[0], ans, sizeof(ans) - 1);
	ck_assert_int_gt(n, 0);
	ans[n] = '\0';
	ck_assert_ptr_nonnull(strstr(ans, "ok {"));
	ck_assert_int_ge(term_and_time(pid, &st), 0);
	reffe_free(fe);
	free(fe);
	close(cv[0]);
}
END_TEST
