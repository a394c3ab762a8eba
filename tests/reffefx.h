/* SPDX-License-Identifier: MIT */
/*
 * The test rig of the reference front-end's tests (test_reffe,
 * test_reffemain, test_refannounce, test_refshmem): reffe driven in
 * process over real socketpairs with real memfds, the test playing the
 * back-end; mappings checked in /proc/self/maps.
 */
#ifndef VHU_TEST_REFFEFX_H
#define VHU_TEST_REFFEFX_H

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
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include "chan.h"
#include "fdpool.h"
#include "proto.h"
#include "refbe.h"
#include "reffe.h"
#include "reffemain.h"
#include "refannounce.h"
#include "refbemain.h"
#include "refshmem.h"

#define PAGE 0x1000u
#define NO_REPLY (-1)
#define NEED (PROTO_VERSION | PROTO_F_NEED_REPLY)

/* Regions the fixture advertises: shmid 2 has size 0 (unused). */
static const uint64_t fx_sizes[] = { 0x100000, 0x10000, 0, 0x10000 };

struct fx {
	struct reffe *fe;
	struct chan be;         /* the test's end of the back-end channel */
	struct chan mainc;      /* the test's end of the main channel */
	unsigned seq;
	char last_name[64];     /* name of the last memfd made */
};

__attribute__((unused))
static uint64_t all_pfeatures(void)
{
	return reffe_supported_pfeatures(PROTO_SHMEM_BIT_DEFAULT);
}

__attribute__((unused))
static void make_config_reply(struct chan_msg *m, uint32_t nregions,
			      const uint64_t *sizes, unsigned n)
{
	struct proto_shmem_config c;
	int len;

	memset(&c, 0, sizeof(c));
	c.nregions = nregions;
	memcpy(c.memory_sizes, sizes, n * sizeof(sizes[0]));
	chan_msg_init(m);
	len = proto_shmem_config_encode(&c, m->payload, sizeof(m->payload));
	ck_assert_int_eq(len, PROTO_SHMEM_CONFIG_SIZE);
	m->payload_len = (size_t)len;
	m->hdr = (struct proto_hdr){ PROTO_GET_SHMEM_CONFIG,
				     PROTO_VERSION | PROTO_F_REPLY, (uint32_t)len };
}

__attribute__((unused))
static struct fx *fx_setup(const char *faults, uint64_t pfeatures, bool start)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct reffe_config cfg;
	struct chan_msg m;
	char err[160];
	int sv[2];

	ck_assert_ptr_nonnull(f);
	reffe_config_default(&cfg);
	if (faults)
		ck_assert_int_eq(fault_parse(&cfg.faults, faults,
					     FAULT_ROLE_FRONTEND, err,
					     sizeof(err)), 0);
	cfg.reply_timeout_ms = 500;
	cfg.deadlock_wait_ms = 400;
	f->fe = calloc(1, sizeof(*f->fe));
	ck_assert_ptr_nonnull(f->fe);
	reffe_init(f->fe, &cfg);
	reffe_set_negotiated(f->fe, UINT64_C(1) << PROTO_F_PROTOCOL_FEATURES,
			     pfeatures);
	ck_assert_int_eq(chan_socketpair(sv), 0);
	reffe_attach_backend(f->fe, sv[0]);
	chan_init(&f->be, sv[1], "backend", PROTO_CHAN_BACKEND);
	chan_init(&f->mainc, -1, "main", PROTO_CHAN_MAIN);
	make_config_reply(&m, 3, fx_sizes, 4);
	ck_assert_int_eq(reffe_apply_shmem_config(f->fe, &m, err, sizeof(err)), 0);
	if (start)
		ck_assert_int_eq(reffe_start(f->fe, chan_deadline(100), err,
					     sizeof(err)), 0);
	return f;
}

__attribute__((unused))
static struct fx *fx_new(const char *faults)
{
	return fx_setup(faults, all_pfeatures(), true);
}

/* A main channel whose other end the test holds. */
__attribute__((unused))
static void fx_attach_main(struct fx *f)
{
	int sv[2];

	ck_assert_int_eq(chan_socketpair(sv), 0);
	reffe_attach_main(f->fe, sv[0]);
	chan_init(&f->mainc, sv[1], "main", PROTO_CHAN_MAIN);
}

__attribute__((unused))
static void fx_free(struct fx *f)
{
	reffe_free(f->fe);
	free(f->fe);
	chan_close(&f->be);
	chan_close(&f->mainc);
	free(f);
}

__attribute__((unused))
static int fx_memfd(struct fx *f, uint64_t size)
{
	int fd;

	snprintf(f->last_name, sizeof(f->last_name), "vhu-test-%d-%u",
		 (int)getpid(), f->seq++);
	fd = memfd_create(f->last_name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, (off_t)size), 0);
	return fd;
}

__attribute__((unused))
static void send_raw_mmap(struct fx *f, uint32_t req, uint32_t flags,
			  const struct proto_mmap *mm, size_t len,
			  const int *fds, unsigned nfds)
{
	uint8_t buf[64];
	struct proto_hdr h = { req, flags, (uint32_t)len };

	memset(buf, 0, sizeof(buf));
	proto_mmap_encode(mm, buf, sizeof(buf));
	ck_assert_int_eq(chan_send(&f->be, &h, buf, len, fds, nfds,
				   chan_deadline(500)), CHAN_OK);
}

/* Lets reffe serve one message; the reply it sent, if any, lands in m.
 * Returns CHAN_OK or CHAN_TIMEOUT (no reply within 100 ms). */
__attribute__((unused))
static int serve(struct fx *f, struct chan_msg *m)
{
	ck_assert_int_eq(reffe_service_backend(f->fe, chan_deadline(500)), 0);
	return chan_recv(&f->be, m, chan_deadline(100));
}

/* Serves one message and returns the reply value, checking the reply's
 * shape; NO_REPLY when none came. */
__attribute__((unused))
static int64_t serve_value(struct fx *f, uint32_t req)
{
	struct chan_msg m;
	uint64_t v;
	int st = serve(f, &m);

	if (st == CHAN_TIMEOUT)
		return NO_REPLY;
	ck_assert_int_eq(st, CHAN_OK);
	ck_assert_uint_eq(m.hdr.request, req);
	ck_assert_uint_eq(m.hdr.flags, PROTO_VERSION | PROTO_F_REPLY);
	ck_assert_uint_eq(m.hdr.size, 8);
	ck_assert_uint_eq(m.nfds, 0);
	ck_assert_int_eq(proto_u64_decode(m.payload, m.payload_len, &v), 0);
	return v > INT64_MAX ? INT64_MAX : (int64_t)v;
}

__attribute__((unused))
static int64_t map_fd(struct fx *f, uint8_t shmid, uint64_t off, uint64_t len,
		      uint64_t flags, int fd)
{
	struct proto_mmap mm = { .shmid = shmid, .shm_offset = off,
				 .len = len, .flags = flags };

	send_raw_mmap(f, PROTO_BE_SHMEM_MAP, NEED, &mm, PROTO_MMAP_SIZE, &fd,
		      fd >= 0 ? 1 : 0);
	return serve_value(f, PROTO_BE_SHMEM_MAP);
}

/* MAP of a fresh memfd just big enough; the memfd is closed again (the
 * front-end keeps its own copy). */
__attribute__((unused))
static int64_t map(struct fx *f, uint8_t shmid, uint64_t off, uint64_t len,
		   uint64_t flags)
{
	int fd = fx_memfd(f, len ? len : PAGE);
	int64_t v = map_fd(f, shmid, off, len, flags, fd);

	close(fd);
	return v;
}

__attribute__((unused))
static int64_t unmap(struct fx *f, uint8_t shmid, uint64_t off, uint64_t len)
{
	struct proto_mmap mm = { .shmid = shmid, .shm_offset = off, .len = len };

	send_raw_mmap(f, PROTO_BE_SHMEM_UNMAP, NEED, &mm, PROTO_MMAP_SIZE,
		      NULL, 0);
	return serve_value(f, PROTO_BE_SHMEM_UNMAP);
}

/* How many lines of /proc/self/maps map memfd `name`; the permissions
 * and start of the first. */
__attribute__((unused))
static int maps_of(const char *name, char perms[5], uintptr_t *start)
{
	char pat[96], line[512];
	FILE *fp = fopen("/proc/self/maps", "r");
	int n = 0;

	ck_assert_ptr_nonnull(fp);
	snprintf(pat, sizeof(pat), "/memfd:%s (deleted)", name);
	while (fgets(line, sizeof(line), fp)) {
		unsigned long s, e;
		char p[5];

		if (!strstr(line, pat))
			continue;
		if (n++ == 0 && sscanf(line, "%lx-%lx %4s", &s, &e, p) == 3) {
			if (perms)
				memcpy(perms, p, 5);
			if (start)
				*start = (uintptr_t)s;
		}
	}
	fclose(fp);
	return n;
}

__attribute__((unused))
static uintptr_t region_base(const struct fx *f, unsigned shmid)
{
	return (uintptr_t)f->fe->regions[shmid].base;
}

/* Runs reffe_service_backend in a child on a message already sent, and
 * says whether the child died (signal, or a sanitizer's non-zero exit). */
__attribute__((unused))
static bool child_crashes(struct fx *f)
{
	struct rlimit no_core = { 0, 0 };
	pid_t pid = fork();
	int st;

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		setrlimit(RLIMIT_CORE, &no_core);
		reffe_service_backend(f->fe, chan_deadline(500));
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	return !(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

__attribute__((unused))
static struct fx *fx_with_live(const char *faults)
{
	struct fx *f = fx_new(faults);

	ck_assert_int_eq(map(f, 0, 0x4000, 0x4000, PROTO_MMAP_F_RW), 0);
	return f;
}

__attribute__((unused))
static struct fx *fx_announcing(const char *faults)
{
	struct fx *f = fx_new(faults);

	f->fe->cfg.announce = true;
	/* What GET_MAX_MEM_SLOTS would have said at the handshake. */
	f->fe->max_mem_slots = 4;
	fx_attach_main(f);
	return f;
}

__attribute__((unused))
static void reply_u64_main(struct fx *f, uint32_t req, uint64_t v)
{
	struct proto_hdr h = { req, PROTO_VERSION | PROTO_F_REPLY, 8 };
	uint8_t buf[8];

	proto_u64_encode(v, buf, sizeof(buf));
	ck_assert_int_eq(chan_send(&f->mainc, &h, buf, 8, NULL, 0,
				   chan_deadline(100)), CHAN_OK);
}

/* The deadlock rule, as the harness sees it: after a MAP with NEED_REPLY,
 * is the reply there within 150 ms while the main channel is left
 * unanswered? reffe runs in a child; the test is the blocked back-end. */
__attribute__((unused))
static bool reply_before_main_traffic(const char *faults)
{
	struct fx *f = fx_announcing(faults);
	struct proto_mmap mm = { .shmid = 0, .shm_offset = 0x3000,
				 .len = 0x1000, .flags = 1 };
	int fd = fx_memfd(f, 0x1000), st;
	struct chan_msg m;
	bool early;
	pid_t pid;

	send_raw_mmap(f, PROTO_BE_SHMEM_MAP, NEED, &mm, PROTO_MMAP_SIZE, &fd, 1);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		reffe_service_backend(f->fe, chan_deadline(1000));
		reffe_flush_announce(f->fe, chan_deadline(1000));
		_exit(0);
	}
	early = chan_recv(&f->be, &m, chan_deadline(150)) == CHAN_OK;
	ck_assert_int_eq(chan_recv(&f->mainc, &m, chan_deadline(500)), CHAN_OK);
	ck_assert_uint_eq(m.hdr.request, PROTO_ADD_MEM_REG);
	chan_msg_release(&m);
	reply_u64_main(f, PROTO_ADD_MEM_REG, 0);
	if (!early)
		ck_assert_int_eq(chan_recv(&f->be, &m, chan_deadline(1000)),
				 CHAN_OK);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	close(fd);
	fx_free(f);
	return early;
}

#endif
