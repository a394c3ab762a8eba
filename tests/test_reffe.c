/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for targets/ref/reffe: the reference front-end's handlers,
 * driven in process over real socketpairs with real memfds. The test
 * plays the back-end: it sends SHMEM_MAP / SHMEM_UNMAP on its end of the
 * back-end channel, lets reffe serve them, and reads the replies; the
 * mappings are checked in /proc/self/maps.
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
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "chan.h"
#include "fdpool.h"
#include "proto.h"
#include "refbe.h"
#include "reffe.h"
#include "vhutest.h"

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

static uint64_t all_pfeatures(void)
{
	return reffe_supported_pfeatures(PROTO_SHMEM_BIT_DEFAULT);
}

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

static struct fx *fx_new(const char *faults)
{
	return fx_setup(faults, all_pfeatures(), true);
}

/* A main channel whose other end the test holds. */
static void fx_attach_main(struct fx *f)
{
	int sv[2];

	ck_assert_int_eq(chan_socketpair(sv), 0);
	reffe_attach_main(f->fe, sv[0]);
	chan_init(&f->mainc, sv[1], "main", PROTO_CHAN_MAIN);
}

static void fx_free(struct fx *f)
{
	reffe_free(f->fe);
	free(f->fe);
	chan_close(&f->be);
	chan_close(&f->mainc);
	free(f);
}

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
static int serve(struct fx *f, struct chan_msg *m)
{
	ck_assert_int_eq(reffe_service_backend(f->fe, chan_deadline(500)), 0);
	return chan_recv(&f->be, m, chan_deadline(100));
}

/* Serves one message and returns the reply value, checking the reply's
 * shape; NO_REPLY when none came. */
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
static int64_t map(struct fx *f, uint8_t shmid, uint64_t off, uint64_t len,
		   uint64_t flags)
{
	int fd = fx_memfd(f, len ? len : PAGE);
	int64_t v = map_fd(f, shmid, off, len, flags, fd);

	close(fd);
	return v;
}

static int64_t unmap(struct fx *f, uint8_t shmid, uint64_t off, uint64_t len)
{
	struct proto_mmap mm = { .shmid = shmid, .shm_offset = off, .len = len };

	send_raw_mmap(f, PROTO_BE_SHMEM_UNMAP, NEED, &mm, PROTO_MMAP_SIZE,
		      NULL, 0);
	return serve_value(f, PROTO_BE_SHMEM_UNMAP);
}

/* How many lines of /proc/self/maps map memfd `name`; the permissions
 * and start of the first. */
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

static uintptr_t region_base(const struct fx *f, unsigned shmid)
{
	return (uintptr_t)f->fe->regions[shmid].base;
}

/* Runs reffe_service_backend in a child on a message already sent, and
 * says whether the child died (signal, or a sanitizer's non-zero exit). */
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

/* ------------------------------------------------------------------ */
/* MAP: accepted, and really mapped */

TEST_CASE("map");

START_TEST(test_map_rw_is_mapped_rw)
{
	struct fx *f = fx_new(NULL);
	char perms[5];
	uintptr_t start;

	ck_assert_int_eq(map(f, 0, 0x1000, 0x2000, PROTO_MMAP_F_RW), 0);
	ck_assert_int_eq(maps_of(f->last_name, perms, &start), 1);
	ck_assert_str_eq(perms, "rw-s");
	ck_assert_uint_eq(start, region_base(f, 0) + 0x1000);
	ck_assert_uint_eq(f->fe->nmaps, 1);
	/* The memory really is the memfd's. */
	*(volatile uint8_t *)(start + 5) = 0x5a;
	ck_assert_uint_eq(reffe_kept_fds(f->fe), 1);
	fx_free(f);
}
END_TEST

START_TEST(test_map_ro_is_read_only)
{
	struct fx *f = fx_new(NULL);
	char perms[5];

	ck_assert_int_eq(map(f, 0, 0x4000, 0x1000, 0), 0);
	ck_assert_int_eq(maps_of(f->last_name, perms, NULL), 1);
	ck_assert_str_eq(perms, "r--s");
	fx_free(f);
}
END_TEST

START_TEST(test_map_fd_offset_honoured)
{
	struct fx *f = fx_new(NULL);
	struct proto_mmap mm = { .shmid = 0, .fd_offset = 0x2000,
				 .shm_offset = 0, .len = 0x1000,
				 .flags = PROTO_MMAP_F_RW };
	int fd = fx_memfd(f, 0x3000);
	uint8_t mark = 0x77;

	ck_assert_int_eq(pwrite(fd, &mark, 1, 0x2000), 1);
	send_raw_mmap(f, PROTO_BE_SHMEM_MAP, NEED, &mm, PROTO_MMAP_SIZE, &fd, 1);
	ck_assert_int_eq(serve_value(f, PROTO_BE_SHMEM_MAP), 0);
	ck_assert_uint_eq(*(volatile uint8_t *)region_base(f, 0), 0x77);
	close(fd);
	fx_free(f);
}
END_TEST

START_TEST(test_map_whole_region_and_last_page)
{
	struct fx *f = fx_new(NULL);

	ck_assert_int_eq(map(f, 1, 0, 0x10000, PROTO_MMAP_F_RW), 0);
	ck_assert_int_eq(unmap(f, 1, 0, 0x10000), 0);
	ck_assert_int_eq(map(f, 1, 0xf000, 0x1000, PROTO_MMAP_F_RW), 0);
	fx_free(f);
}
END_TEST

/* ------------------------------------------------------------------ */
/* MAP: overlap (half-open ranges) */

static struct fx *fx_with_live(const char *faults)
{
	struct fx *f = fx_new(faults);

	ck_assert_int_eq(map(f, 0, 0x4000, 0x4000, PROTO_MMAP_F_RW), 0);
	return f;
}

START_TEST(test_overlap_equal_rejected)
{
	struct fx *f = fx_with_live(NULL);

	ck_assert_int_gt(map(f, 0, 0x4000, 0x4000, PROTO_MMAP_F_RW), 0);
	ck_assert_uint_eq(f->fe->nmaps, 1);
	fx_free(f);
}
END_TEST

START_TEST(test_overlap_inside_rejected)
{
	struct fx *f = fx_with_live(NULL);

	ck_assert_int_gt(map(f, 0, 0x5000, 0x1000, PROTO_MMAP_F_RW), 0);
	fx_free(f);
}
END_TEST

START_TEST(test_overlap_straddle_start_rejected)
{
	struct fx *f = fx_with_live(NULL);

	ck_assert_int_gt(map(f, 0, 0x3000, 0x2000, PROTO_MMAP_F_RW), 0);
	fx_free(f);
}
END_TEST

START_TEST(test_overlap_straddle_end_rejected)
{
	struct fx *f = fx_with_live(NULL);

	ck_assert_int_gt(map(f, 0, 0x7000, 0x2000, PROTO_MMAP_F_RW), 0);
	fx_free(f);
}
END_TEST

START_TEST(test_overlap_superset_rejected)
{
	struct fx *f = fx_with_live(NULL);

	ck_assert_int_gt(map(f, 0, 0x2000, 0x8000, PROTO_MMAP_F_RW), 0);
	fx_free(f);
}
END_TEST

START_TEST(test_overlap_keeps_original_mapping)
{
	struct fx *f = fx_with_live(NULL);
	char first[64], perms[5];

	snprintf(first, sizeof(first), "%s", f->last_name);
	ck_assert_int_gt(map(f, 0, 0x4000, 0x1000, 0), 0);
	ck_assert_int_eq(maps_of(first, perms, NULL), 1);
	ck_assert_str_eq(perms, "rw-s");
	ck_assert_int_eq(maps_of(f->last_name, NULL, NULL), 0);
	fx_free(f);
}
END_TEST

START_TEST(test_touching_accepted)
{
	struct fx *f = fx_with_live(NULL);

	ck_assert_int_eq(map(f, 0, 0x3000, 0x1000, PROTO_MMAP_F_RW), 0);
	ck_assert_int_eq(map(f, 0, 0x8000, 0x1000, PROTO_MMAP_F_RW), 0);
	ck_assert_uint_eq(f->fe->nmaps, 3);
	fx_free(f);
}
END_TEST

START_TEST(test_same_range_other_shmid_accepted)
{
	struct fx *f = fx_with_live(NULL);

	ck_assert_int_eq(map(f, 3, 0x4000, 0x4000, PROTO_MMAP_F_RW), 0);
	fx_free(f);
}
END_TEST

/* ------------------------------------------------------------------ */
/* MAP: bounds, len, shmid */

START_TEST(test_bounds_past_end_rejected)
{
	struct fx *f = fx_new(NULL);

	ck_assert_int_gt(map(f, 1, 0xf000, 0x2000, PROTO_MMAP_F_RW), 0);
	ck_assert_int_gt(map(f, 1, 0x10000, 0x1000, PROTO_MMAP_F_RW), 0);
	ck_assert_int_gt(map(f, 1, 0, 0x11000, PROTO_MMAP_F_RW), 0);
	ck_assert_uint_eq(f->fe->nmaps, 0);
	fx_free(f);
}
END_TEST

START_TEST(test_bounds_wrap_rejected)
{
	struct fx *f = fx_new(NULL);

	int fd = fx_memfd(f, 0x2000);

	ck_assert_int_gt(map_fd(f, 0, UINT64_MAX - 0xfff, 0x2000,
				PROTO_MMAP_F_RW, fd), 0);
	ck_assert_int_gt(map_fd(f, 0, 0x2000, UINT64_MAX - 0xfff,
				PROTO_MMAP_F_RW, fd), 0);
	ck_assert_uint_eq(f->fe->nmaps, 0);
	close(fd);
	fx_free(f);
}
END_TEST

START_TEST(test_len_zero_rejected)
{
	struct fx *f = fx_new(NULL);

	ck_assert_int_gt(map(f, 0, 0x2000, 0, PROTO_MMAP_F_RW), 0);
	ck_assert_uint_eq(f->fe->nmaps, 0);
	fx_free(f);
}
END_TEST

START_TEST(test_unknown_shmid_rejected)
{
	struct fx *f = fx_new(NULL);

	ck_assert_int_gt(map(f, 200, 0, 0x1000, PROTO_MMAP_F_RW), 0);
	ck_assert_int_gt(map(f, 255, 0, 0x1000, PROTO_MMAP_F_RW), 0);
	fx_free(f);
}
END_TEST

START_TEST(test_zero_sized_region_rejected)
{
	struct fx *f = fx_new(NULL);

	ck_assert_int_gt(map(f, 2, 0, 0x1000, PROTO_MMAP_F_RW), 0);
	fx_free(f);
}
END_TEST

START_TEST(test_unaligned_rejected)
{
	struct fx *f = fx_new(NULL);

	ck_assert_int_gt(map(f, 0, 0x1800, 0x1000, PROTO_MMAP_F_RW), 0);
	ck_assert_int_gt(map(f, 0, 0x1000, 0x800, PROTO_MMAP_F_RW), 0);
	fx_free(f);
}
END_TEST

START_TEST(test_unknown_flag_bits_rejected)
{
	struct fx *f = fx_new(NULL);

	ck_assert_int_gt(map(f, 0, 0, 0x1000, 0x2), 0);
	ck_assert_int_gt(map(f, 0, 0, 0x1000, PROTO_MMAP_F_RW | (UINT64_C(1) << 63)), 0);
	ck_assert_int_eq(map(f, 0, 0, 0x1000, PROTO_MMAP_F_RW), 0);
	fx_free(f);
}
END_TEST

/* ------------------------------------------------------------------ */
/* MAP: the fd */

START_TEST(test_no_fd_rejected)
{
	struct fx *f = fx_new(NULL);

	ck_assert_int_gt(map_fd(f, 0, 0, 0x1000, PROTO_MMAP_F_RW, -1), 0);
	/* Framing survives: the next MAP works. */
	ck_assert_int_eq(map(f, 0, 0, 0x1000, PROTO_MMAP_F_RW), 0);
	fx_free(f);
}
END_TEST

START_TEST(test_two_fds_rejected_and_closed)
{
	struct fx *f = fx_new(NULL);
	struct proto_mmap mm = { .shmid = 0, .len = 0x1000 };
	int fds[2] = { fx_memfd(f, 0x1000), fx_memfd(f, 0x1000) };
	int before = fdpool_count_open_fds();

	send_raw_mmap(f, PROTO_BE_SHMEM_MAP, NEED, &mm, PROTO_MMAP_SIZE, fds, 2);
	ck_assert_int_gt(serve_value(f, PROTO_BE_SHMEM_MAP), 0);
	ck_assert_int_eq(fdpool_count_open_fds(), before);
	close(fds[0]);
	close(fds[1]);
	fx_free(f);
}
END_TEST

START_TEST(test_pipe_fd_rejected)
{
	struct fx *f = fx_new(NULL);
	int p[2], before;

	ck_assert_int_eq(pipe(p), 0);
	before = fdpool_count_open_fds();
	ck_assert_int_gt(map_fd(f, 0, 0, 0x1000, PROTO_MMAP_F_RW, p[0]), 0);
	ck_assert_int_gt(map_fd(f, 0, 0, 0x1000, 0, p[0]), 0);
	ck_assert_uint_eq(f->fe->nmaps, 0);
	ck_assert_int_eq(fdpool_count_open_fds(), before);
	close(p[0]);
	close(p[1]);
	fx_free(f);
}
END_TEST

START_TEST(test_rdonly_fd_rw_rejected_ro_accepted)
{
	struct fx *f = fx_new(NULL);
	int fd = fx_memfd(f, 0x1000), ro;
	char path[64], perms[5];

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	ro = open(path, O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(ro, 0);
	ck_assert_int_gt(map_fd(f, 0, 0, 0x1000, PROTO_MMAP_F_RW, ro), 0);
	ck_assert_int_eq(map_fd(f, 0, 0, 0x1000, 0, ro), 0);
	ck_assert_int_eq(maps_of(f->last_name, perms, NULL), 1);
	ck_assert_str_eq(perms, "r--s");
	close(ro);
	close(fd);
	fx_free(f);
}
END_TEST

START_TEST(test_sealed_memfd_rw_rejected)
{
	struct fx *f = fx_new(NULL);
	int fd = fx_memfd(f, 0x1000);

	ck_assert_int_eq(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SHRINK |
			       F_SEAL_GROW | F_SEAL_SEAL), 0);
	ck_assert_int_gt(map_fd(f, 0, 0, 0x1000, PROTO_MMAP_F_RW, fd), 0);
	ck_assert_int_eq(map_fd(f, 0, 0, 0x1000, 0, fd), 0);
	close(fd);
	fx_free(f);
}
END_TEST

START_TEST(test_file_shorter_than_range_rejected)
{
	struct fx *f = fx_new(NULL);
	int fd = fx_memfd(f, 0x1000);

	ck_assert_int_gt(map_fd(f, 0, 0, 0x2000, PROTO_MMAP_F_RW, fd), 0);
	close(fd);
	fx_free(f);
}
END_TEST

/* ------------------------------------------------------------------ */
/* framing and replies */

START_TEST(test_payload_size_not_40_rejected)
{
	struct fx *f = fx_new(NULL);
	struct proto_mmap mm = { .shmid = 0, .len = 0x1000, .flags = 1 };
	int fd = fx_memfd(f, 0x1000);

	send_raw_mmap(f, PROTO_BE_SHMEM_MAP, NEED, &mm, 32, &fd, 1);
	ck_assert_int_gt(serve_value(f, PROTO_BE_SHMEM_MAP), 0);
	send_raw_mmap(f, PROTO_BE_SHMEM_MAP, NEED, &mm, 48, &fd, 1);
	ck_assert_int_gt(serve_value(f, PROTO_BE_SHMEM_MAP), 0);
	ck_assert_uint_eq(f->fe->nmaps, 0);
	close(fd);
	fx_free(f);
}
END_TEST

START_TEST(test_no_reply_without_need_reply)
{
	struct fx *f = fx_new(NULL);
	struct proto_mmap mm = { .shmid = 0, .len = 0x1000, .flags = 1 };
	struct chan_msg m;
	int fd = fx_memfd(f, 0x1000);

	send_raw_mmap(f, PROTO_BE_SHMEM_MAP, PROTO_VERSION, &mm,
		      PROTO_MMAP_SIZE, &fd, 1);
	ck_assert_int_eq(serve(f, &m), CHAN_TIMEOUT);
	ck_assert_uint_eq(f->fe->nmaps, 1);
	/* Nor for a rejected one. */
	send_raw_mmap(f, PROTO_BE_SHMEM_MAP, PROTO_VERSION, &mm,
		      PROTO_MMAP_SIZE, &fd, 1);
	ck_assert_int_eq(serve(f, &m), CHAN_TIMEOUT);
	close(fd);
	fx_free(f);
}
END_TEST

START_TEST(test_no_reply_without_reply_ack)
{
	struct fx *f = fx_setup(NULL, all_pfeatures() &
				~(UINT64_C(1) << PROTO_PF_REPLY_ACK), true);

	ck_assert_int_eq(map(f, 0, 0, 0x1000, PROTO_MMAP_F_RW), NO_REPLY);
	ck_assert_uint_eq(f->fe->nmaps, 1);
	fx_free(f);
}
END_TEST

START_TEST(test_bad_header_version_rejected)
{
	struct fx *f = fx_new(NULL);
	struct proto_mmap mm = { .shmid = 0, .len = 0x1000, .flags = 1 };
	int fd = fx_memfd(f, 0x1000);

	send_raw_mmap(f, PROTO_BE_SHMEM_MAP, PROTO_F_NEED_REPLY | 0x2, &mm,
		      PROTO_MMAP_SIZE, &fd, 1);
	ck_assert_int_gt(serve_value(f, PROTO_BE_SHMEM_MAP), 0);
	send_raw_mmap(f, PROTO_BE_SHMEM_MAP, NEED | 0x100, &mm,
		      PROTO_MMAP_SIZE, &fd, 1);
	ck_assert_int_gt(serve_value(f, PROTO_BE_SHMEM_MAP), 0);
	ck_assert_uint_eq(f->fe->nmaps, 0);
	close(fd);
	fx_free(f);
}
END_TEST

START_TEST(test_unknown_request_answered_nonzero)
{
	struct fx *f = fx_new(NULL);
	struct proto_hdr h = { PROTO_BE_CONFIG_CHANGE_MSG, NEED, 0 };

	ck_assert_int_eq(chan_send(&f->be, &h, NULL, 0, NULL, 0,
				   chan_deadline(100)), CHAN_OK);
	ck_assert_int_gt(serve_value(f, PROTO_BE_CONFIG_CHANGE_MSG), 0);
	h.request = 77;
	ck_assert_int_eq(chan_send(&f->be, &h, NULL, 0, NULL, 0,
				   chan_deadline(100)), CHAN_OK);
	ck_assert_int_gt(serve_value(f, 77), 0);
	fx_free(f);
}
END_TEST

START_TEST(test_unsolicited_reply_dropped)
{
	struct fx *f = fx_new(NULL);
	struct proto_hdr h = { PROTO_BE_SHMEM_MAP, PROTO_VERSION | PROTO_F_REPLY, 8 };
	uint8_t zero[8] = { 0 };
	struct chan_msg m;

	ck_assert_int_eq(chan_send(&f->be, &h, zero, 8, NULL, 0,
				   chan_deadline(100)), CHAN_OK);
	ck_assert_int_eq(serve(f, &m), CHAN_TIMEOUT);
	ck_assert_int_eq(map(f, 0, 0, 0x1000, 1), 0);
	fx_free(f);
}
END_TEST

START_TEST(test_backend_eof_closes_channel)
{
	struct fx *f = fx_new(NULL);

	ck_assert_int_eq(map(f, 0, 0, 0x1000, 1), 0);
	chan_close(&f->be);
	ck_assert_int_eq(reffe_service_backend(f->fe, chan_deadline(200)), 1);
	ck_assert_int_lt(f->fe->backend.fd, 0);
	/* The device is still there: mappings stay until reset. */
	ck_assert_uint_eq(f->fe->nmaps, 1);
	fx_free(f);
}
END_TEST

START_TEST(test_truncated_message_closes_channel)
{
	struct fx *f = fx_new(NULL);
	uint8_t hdr[12] = { 9, 0, 0, 0, 9, 0, 0, 0, 40, 0, 0, 0 };

	ck_assert_int_eq(chan_send_raw(&f->be, hdr, sizeof(hdr), NULL, 0,
				       chan_deadline(100)), CHAN_OK);
	ck_assert_int_eq(reffe_service_backend(f->fe, chan_deadline(100)), 1);
	ck_assert_int_lt(f->fe->backend.fd, 0);
	fx_free(f);
}
END_TEST

/* ------------------------------------------------------------------ */
/* UNMAP */

TEST_CASE("unmap");

START_TEST(test_unmap_exact_removes_and_closes)
{
	struct fx *f = fx_new(NULL);
	int before = fdpool_count_open_fds();
	char name[64];

	ck_assert_int_eq(map(f, 0, 0x2000, 0x2000, 1), 0);
	snprintf(name, sizeof(name), "%s", f->last_name);
	ck_assert_int_eq(fdpool_count_open_fds(), before + 1);
	ck_assert_int_eq(unmap(f, 0, 0x2000, 0x2000), 0);
	ck_assert_int_eq(maps_of(name, NULL, NULL), 0);
	ck_assert_int_eq(fdpool_count_open_fds(), before);
	ck_assert_uint_eq(f->fe->nmaps, 0);
	/* The range is free again. */
	ck_assert_int_eq(map(f, 0, 0x2000, 0x2000, 1), 0);
	fx_free(f);
}
END_TEST

START_TEST(test_unmap_partial_rejected)
{
	struct fx *f = fx_new(NULL);

	ck_assert_int_eq(map(f, 0, 0x2000, 0x4000, 1), 0);
	ck_assert_int_gt(unmap(f, 0, 0x2000, 0x1000), 0);
	ck_assert_int_gt(unmap(f, 0, 0x3000, 0x1000), 0);
	ck_assert_int_gt(unmap(f, 0, 0x5000, 0x1000), 0);
	ck_assert_int_eq(maps_of(f->last_name, NULL, NULL), 1);
	fx_free(f);
}
END_TEST

START_TEST(test_unmap_superset_shifted_unknown_rejected)
{
	struct fx *f = fx_new(NULL);

	ck_assert_int_eq(map(f, 0, 0x2000, 0x2000, 1), 0);
	ck_assert_int_gt(unmap(f, 0, 0x1000, 0x4000), 0);
	ck_assert_int_gt(unmap(f, 0, 0x3000, 0x2000), 0);
	ck_assert_int_gt(unmap(f, 0, 0x8000, 0x1000), 0);
	ck_assert_int_gt(unmap(f, 3, 0x2000, 0x2000), 0);
	ck_assert_int_gt(unmap(f, 200, 0x2000, 0x2000), 0);
	ck_assert_uint_eq(f->fe->nmaps, 1);
	fx_free(f);
}
END_TEST

START_TEST(test_unmap_twice_rejected)
{
	struct fx *f = fx_new(NULL);

	ck_assert_int_eq(map(f, 0, 0x2000, 0x2000, 1), 0);
	ck_assert_int_eq(unmap(f, 0, 0x2000, 0x2000), 0);
	ck_assert_int_gt(unmap(f, 0, 0x2000, 0x2000), 0);
	fx_free(f);
}
END_TEST

START_TEST(test_unmap_with_fd_rejected)
{
	struct fx *f = fx_new(NULL);
	struct proto_mmap mm = { .shmid = 0, .shm_offset = 0x2000, .len = 0x2000 };
	int fd;

	ck_assert_int_eq(map(f, 0, 0x2000, 0x2000, 1), 0);
	fd = fx_memfd(f, 0x1000);
	send_raw_mmap(f, PROTO_BE_SHMEM_UNMAP, NEED, &mm, PROTO_MMAP_SIZE, &fd, 1);
	ck_assert_int_gt(serve_value(f, PROTO_BE_SHMEM_UNMAP), 0);
	ck_assert_uint_eq(f->fe->nmaps, 1);
	close(fd);
	fx_free(f);
}
END_TEST

START_TEST(test_unmap_ignores_fd_offset_and_flags)
{
	struct fx *f = fx_new(NULL);
	struct proto_mmap mm = { .shmid = 0, .fd_offset = 0x5000,
				 .shm_offset = 0x2000, .len = 0x2000,
				 .flags = 1 };

	ck_assert_int_eq(map(f, 0, 0x2000, 0x2000, 1), 0);
	send_raw_mmap(f, PROTO_BE_SHMEM_UNMAP, NEED, &mm, PROTO_MMAP_SIZE, NULL, 0);
	ck_assert_int_eq(serve_value(f, PROTO_BE_SHMEM_UNMAP), 0);
	ck_assert_uint_eq(f->fe->nmaps, 0);
	fx_free(f);
}
END_TEST

/* ------------------------------------------------------------------ */
/* lifecycle */

TEST_CASE("lifecycle");

START_TEST(test_before_start_error_reply)
{
	struct fx *f = fx_setup(NULL, all_pfeatures(), false);

	ck_assert_int_gt(map(f, 0, 0, 0x1000, 1), 0);
	ck_assert_int_gt(unmap(f, 0, 0, 0x1000), 0);
	ck_assert_uint_eq(f->fe->nmaps, 0);
	ck_assert_int_eq(maps_of(f->last_name, NULL, NULL), 0);
	fx_free(f);
}
END_TEST

START_TEST(test_after_stop_error_reply)
{
	struct fx *f = fx_new(NULL);
	char err[128];

	ck_assert_int_eq(map(f, 0, 0, 0x1000, 1), 0);
	ck_assert_int_eq(reffe_stop(f->fe, chan_deadline(100), err, sizeof(err)), 0);
	ck_assert_int_gt(map(f, 0, 0x1000, 0x1000, 1), 0);
	ck_assert_int_gt(unmap(f, 0, 0, 0x1000), 0);
	ck_assert_uint_eq(f->fe->nmaps, 1);
	ck_assert_int_eq(reffe_start(f->fe, chan_deadline(100), err, sizeof(err)), 0);
	ck_assert_int_eq(unmap(f, 0, 0, 0x1000), 0);
	fx_free(f);
}
END_TEST

START_TEST(test_without_shmem_rejected)
{
	struct fx *f = fx_setup(NULL, all_pfeatures() &
				~(UINT64_C(1) << PROTO_SHMEM_BIT_DEFAULT), true);

	ck_assert_int_gt(map(f, 0, 0, 0x1000, 1), 0);
	ck_assert_int_gt(unmap(f, 0, 0, 0x1000), 0);
	ck_assert_uint_eq(f->fe->nmaps, 0);
	fx_free(f);
}
END_TEST

START_TEST(test_map_without_backend_send_fd_rejected)
{
	struct fx *f = fx_setup(NULL, all_pfeatures() &
				~(UINT64_C(1) << PROTO_PF_BACKEND_SEND_FD), true);
	int before = fdpool_count_open_fds();

	ck_assert_int_gt(map(f, 0, 0, 0x1000, 1), 0);
	ck_assert_uint_eq(f->fe->nmaps, 0);
	ck_assert_int_eq(fdpool_count_open_fds(), before);
	/* UNMAP carries no fd: only the missing mapping makes it fail. */
	ck_assert_int_gt(unmap(f, 0, 0, 0x1000), 0);
	fx_free(f);
}
END_TEST

START_TEST(test_reset_removes_all_and_closes_fds)
{
	struct fx *f = fx_new(NULL);
	int before = fdpool_count_open_fds();
	char err[128], names[3][64];

	for (unsigned i = 0; i < 3; i++) {
		ck_assert_int_eq(map(f, i == 2 ? 3 : 0, 0x1000 * (i + 1), 0x1000,
				     i & 1), 0);
		snprintf(names[i], sizeof(names[i]), "%s", f->last_name);
	}
	ck_assert_int_eq(fdpool_count_open_fds(), before + 3);
	ck_assert_int_eq(reffe_reset(f->fe, chan_deadline(100), err, sizeof(err)), 0);
	ck_assert_int_eq(fdpool_count_open_fds(), before);
	for (unsigned i = 0; i < 3; i++)
		ck_assert_int_eq(maps_of(names[i], NULL, NULL), 0);
	ck_assert_uint_eq(reffe_kept_fds(f->fe), 0);
	ck_assert(!f->fe->started);
	fx_free(f);
}
END_TEST

/* Maps shmid 0 pages 1..3 (the middle one read-only) and returns the
 * front-end's record of page 2, the memfd names in names. */
static struct reffe_mapping map_three(struct fx *f, char names[3][64])
{
	struct reffe_mapping keep = { .fd = -1 };

	for (unsigned i = 0; i < 3; i++) {
		ck_assert_int_eq(map(f, 0, 0x1000 * (i + 1), 0x1000, i != 1), 0);
		snprintf(names[i], sizeof(names[i]), "%s", f->last_name);
	}
	for (unsigned i = 0; i < f->fe->nmaps; i++)
		if (f->fe->maps[i].shm_offset == 0x2000)
			keep = f->fe->maps[i];
	ck_assert_int_ge(keep.fd, 0);
	return keep;
}

START_TEST(test_drop_except_keeps_one_mapping_and_its_fd)
{
	struct fx *f = fx_new(NULL);
	int before = fdpool_count_open_fds();
	struct reffe_mapping keep;
	char names[3][64], perms[5];

	keep = map_three(f, names);
	ck_assert(reffe_drop_mappings_except(f->fe, &keep));
	ck_assert_uint_eq(f->fe->nmaps, 1);
	ck_assert_uint_eq(f->fe->maps[0].shm_offset, 0x2000);
	ck_assert_int_eq(f->fe->maps[0].fd, keep.fd);
	ck_assert_int_eq(fdpool_count_open_fds(), before + 1);
	ck_assert_int_eq(maps_of(names[0], NULL, NULL), 0);
	ck_assert_int_eq(maps_of(names[1], perms, NULL), 1);
	ck_assert_str_eq(perms, "r--s");
	ck_assert_int_eq(maps_of(names[2], NULL, NULL), 0);
	/* Its neighbours' pages are free for new mappings again. */
	ck_assert_int_eq(map(f, 0, 0x1000, 0x1000, 1), 0);
	fx_free(f);
}
END_TEST

START_TEST(test_drop_except_drops_all_when_keep_is_gone)
{
	struct fx *f = fx_new("fe_reset_keeps_mappings");
	int before = fdpool_count_open_fds();
	struct reffe_mapping keep;
	char names[3][64];

	keep = map_three(f, names);
	keep.len = 0x2000; /* no longer what the front-end holds */
	ck_assert(!reffe_drop_mappings_except(f->fe, &keep));
	ck_assert_uint_eq(f->fe->nmaps, 0);
	ck_assert_int_eq(fdpool_count_open_fds(), before);
	for (unsigned i = 0; i < 3; i++)
		ck_assert_int_eq(maps_of(names[i], NULL, NULL), 0);
	fx_free(f);
}
END_TEST

START_TEST(test_reset_sends_reset_device)
{
	struct fx *f = fx_new(NULL);
	struct proto_hdr h = { PROTO_RESET_DEVICE, PROTO_VERSION | PROTO_F_REPLY, 8 };
	uint8_t zero[8] = { 0 };
	struct chan_msg m;
	char err[128];

	fx_attach_main(f);
	/* The answer is queued first: reffe reads it after sending. */
	ck_assert_int_eq(chan_send(&f->mainc, &h, zero, 8, NULL, 0,
				   chan_deadline(100)), CHAN_OK);
	ck_assert_int_eq(reffe_reset(f->fe, chan_deadline(500), err, sizeof(err)), 0);
	ck_assert_int_eq(chan_recv(&f->mainc, &m, chan_deadline(100)), CHAN_OK);
	ck_assert_uint_eq(m.hdr.request, PROTO_RESET_DEVICE);
	ck_assert_uint_eq(m.hdr.flags, NEED);
	fx_free(f);
}
END_TEST

START_TEST(test_many_cycles_no_leak)
{
	struct fx *f = fx_new(NULL);
	int before = fdpool_count_open_fds();

	for (unsigned i = 0; i < 200; i++) {
		ck_assert_int_eq(map(f, 0, 0x10000, 0x3000, i & 1), 0);
		ck_assert_int_gt(map(f, 0, 0x11000, 0x1000, 1), 0);
		ck_assert_int_eq(unmap(f, 0, 0x10000, 0x3000), 0);
	}
	ck_assert_int_eq(fdpool_count_open_fds(), before);
	ck_assert_int_eq(maps_of(f->last_name, NULL, NULL), 0);
	fx_free(f);
}
END_TEST

START_TEST(test_dump_json)
{
	struct fx *f = fx_new(NULL);
	char buf[2048];

	ck_assert_int_eq(map(f, 0, 0x2000, 0x1000, 1), 0);
	ck_assert_int_gt(reffe_dump(f->fe, buf, sizeof(buf)), 0);
	ck_assert_ptr_nonnull(strstr(buf, "\"started\":true"));
	ck_assert_ptr_nonnull(strstr(buf, "\"shm_offset\":8192,\"len\":4096"));
	ck_assert_ptr_nonnull(strstr(buf, "\"rw\":true"));
	ck_assert_ptr_nonnull(strstr(buf, "\"fds\":1}"));
	ck_assert_ptr_nonnull(strstr(buf, "\"negotiated\":\"0x"));
	ck_assert_int_eq(reffe_dump(f->fe, buf, 20), -ENOSPC);
	fx_free(f);
}
END_TEST

/* ------------------------------------------------------------------ */
/* GET_SHMEM_CONFIG replies */

START_TEST(test_config_nregions_over_256_tolerated)
{
	struct fx *f = fx_new(NULL);
	static const uint64_t sizes[] = { 0x20000 };
	struct chan_msg m;
	char err[128];

	make_config_reply(&m, 300, sizes, 1);
	ck_assert_int_eq(reffe_apply_shmem_config(f->fe, &m, err, sizeof(err)), 0);
	ck_assert_uint_eq(f->fe->regions[0].size, 0x20000);
	ck_assert_uint_eq(f->fe->regions[1].size, 0);
	ck_assert_int_eq(map(f, 0, 0x1f000, 0x1000, 1), 0);
	fx_free(f);
}
END_TEST

START_TEST(test_config_malformed_refused)
{
	struct fx *f = fx_new(NULL);
	static const uint64_t sizes[] = { 0x20000 };
	struct chan_msg m;
	char err[128];

	make_config_reply(&m, 1, sizes, 1);
	m.hdr.request = PROTO_GET_FEATURES;
	ck_assert_int_eq(reffe_apply_shmem_config(f->fe, &m, err, sizeof(err)),
			 -EPROTO);
	make_config_reply(&m, 1, sizes, 1);
	m.hdr.flags = PROTO_VERSION;
	ck_assert_int_eq(reffe_apply_shmem_config(f->fe, &m, err, sizeof(err)),
			 -EPROTO);
	make_config_reply(&m, 1, sizes, 1);
	m.hdr.size = m.payload_len = 1024;
	ck_assert_int_eq(reffe_apply_shmem_config(f->fe, &m, err, sizeof(err)),
			 -EPROTO);
	/* The old regions stay. */
	ck_assert_uint_eq(f->fe->regions[0].size, fx_sizes[0]);
	fx_free(f);
}
END_TEST

START_TEST(test_config_huge_size_unusable_not_fatal)
{
	struct fx *f = fx_new(NULL);
	static const uint64_t sizes[] = { UINT64_MAX - 0xfff, 0x10000 };
	struct chan_msg m;
	char err[128];

	make_config_reply(&m, 2, sizes, 2);
	ck_assert_int_eq(reffe_apply_shmem_config(f->fe, &m, err, sizeof(err)), 0);
	ck_assert_int_gt(map(f, 0, 0, 0x1000, 1), 0);
	ck_assert_int_eq(map(f, 1, 0, 0x1000, 1), 0);
	fx_free(f);
}
END_TEST

/* ------------------------------------------------------------------ */
/* announcements on the main channel */

static struct fx *fx_announcing(const char *faults)
{
	struct fx *f = fx_new(faults);

	f->fe->cfg.announce = true;
	/* What GET_MAX_MEM_SLOTS would have said at the handshake. */
	f->fe->max_mem_slots = 4;
	fx_attach_main(f);
	return f;
}

START_TEST(test_map_refused_when_memtable_full)
{
	struct fx *f = fx_announcing(NULL);

	/* The guest RAM takes one slot of four: three MAPs fit. */
	ck_assert_int_eq(map(f, 0, 0x3000, 0x1000, 1), 0);
	ck_assert_int_eq(map(f, 0, 0x5000, 0x1000, 1), 0);
	ck_assert_int_eq(map(f, 0, 0x7000, 0x1000, 1), 0);
	ck_assert_int_eq(map(f, 0, 0x9000, 0x1000, 1), ENOSPC);
	fx_free(f);
}
END_TEST

TEST_CASE("faults");

START_TEST(test_fault_memtable_overcommit)
{
	struct fx *f = fx_announcing("fe_memtable_overcommit");

	ck_assert_int_eq(map(f, 0, 0x3000, 0x1000, 1), 0);
	ck_assert_int_eq(map(f, 0, 0x5000, 0x1000, 1), 0);
	ck_assert_int_eq(map(f, 0, 0x7000, 0x1000, 1), 0);
	ck_assert_int_eq(map(f, 0, 0x9000, 0x1000, 1), 0);
	fx_free(f);
}
END_TEST

static void reply_u64_main(struct fx *f, uint32_t req, uint64_t v)
{
	struct proto_hdr h = { req, PROTO_VERSION | PROTO_F_REPLY, 8 };
	uint8_t buf[8];

	proto_u64_encode(v, buf, sizeof(buf));
	ck_assert_int_eq(chan_send(&f->mainc, &h, buf, 8, NULL, 0,
				   chan_deadline(100)), CHAN_OK);
}

TEST_CASE("lifecycle");

START_TEST(test_announce_after_reply)
{
	struct fx *f = fx_announcing(NULL);
	struct proto_mem_reg_msg r;
	struct chan_msg m;

	ck_assert_int_eq(map(f, 0, 0x3000, 0x1000, 1), 0);
	/* Nothing on main yet: announcements follow the reply. */
	ck_assert_int_eq(chan_recv(&f->mainc, &m, chan_deadline(50)), CHAN_TIMEOUT);
	reply_u64_main(f, PROTO_ADD_MEM_REG, 0);
	ck_assert_int_eq(reffe_flush_announce(f->fe, chan_deadline(500)), 0);
	ck_assert_int_eq(chan_recv(&f->mainc, &m, chan_deadline(100)), CHAN_OK);
	ck_assert_uint_eq(m.hdr.request, PROTO_ADD_MEM_REG);
	ck_assert_uint_eq(m.hdr.flags, NEED);
	ck_assert_uint_eq(m.nfds, 1);
	ck_assert_int_eq(proto_mem_reg_decode(m.payload, m.payload_len, &r), 0);
	ck_assert_uint_eq(r.region.memory_size, 0x1000);
	ck_assert_uint_eq(r.region.userspace_addr, region_base(f, 0) + 0x3000);
	chan_msg_release(&m);
	fx_free(f);
}
END_TEST

/* The deadlock rule, as the harness sees it: after a MAP with NEED_REPLY,
 * is the reply there within 150 ms while the main channel is left
 * unanswered? reffe runs in a child; the test is the blocked back-end. */
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

START_TEST(test_reply_before_memtable_update)
{
	ck_assert(reply_before_main_traffic(NULL));
}
END_TEST

/* ------------------------------------------------------------------ */
/* the handshake, against the reference back-end in a child */

/* refbe serves fd in a child until EOF; other_end is the parent's. */
static pid_t spawn_refbe(int fd, int other_end, const uint64_t *offer_mask_clear)
{
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct refbe_config cfg;
		struct refbe *be = calloc(1, sizeof(*be));
		int64_t end = chan_deadline(3000);

		close(other_end);
		refbe_config_default(&cfg);
		cfg.sizes[1] = 0x10000;
		if (offer_mask_clear)
			cfg.pfeat_offer &= ~*offer_mask_clear;
		refbe_init(be, &cfg);
		refbe_attach_main(be, fd);
		while (chan_now_ms() < end && refbe_service_main(be, end) != 1)
			;
		refbe_free(be);
		free(be);
		_exit(0);
	}
	close(fd);
	return pid;
}

START_TEST(test_handshake_with_refbe)
{
	struct reffe_config cfg;
	struct reffe *fe = calloc(1, sizeof(*fe));
	char err[160];
	int sv[2], st;
	pid_t pid;

	ck_assert_int_eq(chan_socketpair(sv), 0);
	pid = spawn_refbe(sv[1], sv[0], NULL);
	reffe_config_default(&cfg);
	reffe_init(fe, &cfg);
	reffe_attach_main(fe, sv[0]);
	ck_assert_int_eq(reffe_handshake(fe, chan_deadline(2000), err,
					 sizeof(err)), 0);
	ck_assert_uint_eq(fe->pfeatures, all_pfeatures());
	ck_assert(fe->handshake_done);
	ck_assert_int_ge(fe->backend.fd, 0);
	ck_assert_uint_eq(fe->regions[0].size, 0x100000);
	ck_assert_uint_eq(fe->regions[1].size, 0x10000);
	ck_assert_uint_eq(fe->max_mem_slots, REFBE_MAX_MEM_SLOTS);
	ck_assert_int_eq(reffe_start(fe, chan_deadline(500), err, sizeof(err)), 0);
	ck_assert(fe->started);
	ck_assert_int_eq(reffe_stop(fe, chan_deadline(500), err, sizeof(err)), 0);
	ck_assert_int_eq(reffe_reset(fe, chan_deadline(500), err, sizeof(err)), 0);
	reffe_free(fe);
	free(fe);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}
END_TEST

START_TEST(test_handshake_without_shmem_offered)
{
	uint64_t clear = UINT64_C(1) << PROTO_SHMEM_BIT_DEFAULT;
	struct reffe_config cfg;
	struct reffe *fe = calloc(1, sizeof(*fe));
	char err[160];
	int sv[2], st;
	pid_t pid;

	ck_assert_int_eq(chan_socketpair(sv), 0);
	pid = spawn_refbe(sv[1], sv[0], &clear);
	reffe_config_default(&cfg);
	reffe_init(fe, &cfg);
	reffe_attach_main(fe, sv[0]);
	ck_assert_int_eq(reffe_handshake(fe, chan_deadline(2000), err,
					 sizeof(err)), 0);
	ck_assert_uint_eq(fe->pfeatures, all_pfeatures() & ~clear);
	ck_assert_uint_eq(fe->regions[0].size, 0);
	reffe_free(fe);
	free(fe);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
}
END_TEST

/* The reference back-end in a child, except that its GET_SHMEM_CONFIG
 * reply is bent: 0 8 bytes, 1 2048 bytes, 2 a wrong request id, 3 no
 * REPLY flag, 4 non-zero padding (the only one believed). */
static pid_t spawn_bent_config_backend(int fd, int other_end, int how)
{
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct refbe_config cfg;
		struct refbe *be = calloc(1, sizeof(*be));
		int64_t end = chan_deadline(3000);
		struct chan_msg m, r;

		close(other_end);
		refbe_config_default(&cfg);
		refbe_init(be, &cfg);
		refbe_attach_main(be, fd);
		while (chan_recv(&be->main, &m, end) == CHAN_OK) {
			if (m.hdr.request != PROTO_GET_SHMEM_CONFIG) {
				refbe_handle_main_msg(be, &m);
				chan_msg_release(&m);
				continue;
			}
			make_config_reply(&r, 1, cfg.sizes, 1);
			r.payload_len = how == 0 ? 8 : how == 1 ? 2048
							: r.payload_len;
			r.hdr.size = (uint32_t)r.payload_len;
			r.hdr.request = how == 2 ? PROTO_GET_FEATURES
						 : r.hdr.request;
			r.hdr.flags = how == 3 ? PROTO_VERSION : r.hdr.flags;
			r.payload[4] = how == 4 ? 0x5a : 0;
			chan_send(&be->main, &r.hdr, r.payload, r.payload_len,
				  NULL, 0, end);
		}
		refbe_free(be);
		free(be);
		_exit(0);
	}
	close(fd);
	return pid;
}

/* Digest 8: a robust front-end survives a bent config reply. The
 * reference keeps the connection, believes nothing of a malformed reply
 * (no regions: every MAP refused) and ignores padding. */
START_LOOP_TEST(test_handshake_survives_bent_config_reply, 0, 5)
{
	struct reffe_config cfg;
	struct reffe *fe = calloc(1, sizeof(*fe));
	char err[160];
	int sv[2], st;
	pid_t pid;

	ck_assert_int_eq(chan_socketpair(sv), 0);
	pid = spawn_bent_config_backend(sv[1], sv[0], _i);
	reffe_config_default(&cfg);
	reffe_init(fe, &cfg);
	reffe_attach_main(fe, sv[0]);
	ck_assert_int_eq(reffe_handshake(fe, chan_deadline(2000), err,
					 sizeof(err)), 0);
	ck_assert(fe->handshake_done && reffe_connected(fe));
	ck_assert_uint_eq(fe->regions[0].size, _i == 4 ? 0x100000 : 0);
	ck_assert_uint_eq(fe->shm_nregions, _i == 4 ? 1 : 0);
	reffe_free(fe);
	free(fe);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
}
END_TEST

START_TEST(test_handshake_fails_on_silent_backend)
{
	struct reffe_config cfg;
	struct reffe *fe = calloc(1, sizeof(*fe));
	char err[160];
	int sv[2];
	int64_t t0 = chan_now_ms();

	ck_assert_int_eq(chan_socketpair(sv), 0);
	reffe_config_default(&cfg);
	reffe_init(fe, &cfg);
	reffe_attach_main(fe, sv[0]);
	ck_assert_int_eq(reffe_handshake(fe, chan_deadline(200), err,
					 sizeof(err)), -ETIMEDOUT);
	ck_assert_int_lt(chan_now_ms() - t0, 1000);
	ck_assert_ptr_nonnull(strstr(err, "GET_FEATURES"));
	ck_assert(!reffe_connected(fe));
	close(sv[1]);
	reffe_free(fe);
	free(fe);
}
END_TEST

/* ------------------------------------------------------------------ */
/* each front-end fault changes behaviour */

TEST_CASE("faults");

START_TEST(test_fault_no_overlap_check)
{
	struct fx *f = fx_with_live("fe_no_overlap_check");

	ck_assert_int_eq(map(f, 0, 0x4000, 0x4000, 1), 0);
	ck_assert_int_eq(map(f, 0, 0x5000, 0x1000, 1), 0);
	fx_free(f);
}
END_TEST

START_TEST(test_fault_overlap_touching_rejected)
{
	struct fx *f = fx_with_live("fe_overlap_touching_rejected");

	ck_assert_int_gt(map(f, 0, 0x3000, 0x1000, 1), 0);
	ck_assert_int_gt(map(f, 0, 0x8000, 0x1000, 1), 0);
	ck_assert_int_eq(map(f, 0, 0xa000, 0x1000, 1), 0);
	fx_free(f);
}
END_TEST

START_TEST(test_fault_overlap_straddle_missed)
{
	struct fx *f = fx_with_live("fe_overlap_straddle_missed");

	ck_assert_int_gt(map(f, 0, 0x4000, 0x4000, 1), 0);
	ck_assert_int_eq(map(f, 0, 0x3000, 0x2000, 1), 0);
	fx_free(f);
}
END_TEST

START_TEST(test_fault_no_bounds_check)
{
	struct fx *f = fx_new("fe_no_bounds_check");

	ck_assert_int_eq(map(f, 1, 0xf000, 0x2000, 1), 0);
	fx_free(f);
}
END_TEST

START_TEST(test_fault_bounds_wrap)
{
	struct fx *f = fx_new("fe_bounds_wrap");

	ck_assert_int_gt(map(f, 1, 0xf000, 0x2000, 1), 0);
	ck_assert_int_eq(map(f, 0, UINT64_MAX - 0xfff, 0x2000, 1), 0);
	fx_free(f);
}
END_TEST

START_TEST(test_fault_len_zero_accepted)
{
	struct fx *f = fx_new("fe_len_zero_accepted");

	ck_assert_int_eq(map(f, 0, 0x2000, 0, 1), 0);
	ck_assert_uint_eq(f->fe->nmaps, 1);
	fx_free(f);
}
END_TEST

START_TEST(test_fault_unknown_shmid_null)
{
	struct fx *f = fx_new("fe_unknown_shmid_null");
	struct proto_mmap mm = { .shmid = 200, .len = 0x1000, .flags = 1 };
	int fd = fx_memfd(f, 0x1000);

	send_raw_mmap(f, PROTO_BE_SHMEM_MAP, NEED, &mm, PROTO_MMAP_SIZE, &fd, 1);
	ck_assert(child_crashes(f));
	close(fd);
	fx_free(f);
	/* And without the fault the same message is survived. */
	f = fx_new(NULL);
	fd = fx_memfd(f, 0x1000);
	send_raw_mmap(f, PROTO_BE_SHMEM_MAP, NEED, &mm, PROTO_MMAP_SIZE, &fd, 1);
	ck_assert(!child_crashes(f));
	close(fd);
	fx_free(f);
}
END_TEST

START_TEST(test_fault_no_reply_on_error)
{
	struct fx *f = fx_with_live("fe_no_reply_on_error");

	ck_assert_int_eq(map(f, 0, 0x4000, 0x1000, 1), NO_REPLY);
	ck_assert_int_eq(map(f, 0, 0x9000, 0x1000, 1), 0);
	fx_free(f);
}
END_TEST

START_TEST(test_fault_error_reply_zero)
{
	struct fx *f = fx_with_live("fe_error_reply_zero");

	ck_assert_int_eq(map(f, 0, 0x4000, 0x1000, 1), 0);
	ck_assert_uint_eq(f->fe->nmaps, 1);
	fx_free(f);
}
END_TEST

START_TEST(test_fault_reply_wrong_flags)
{
	struct fx *f = fx_new("fe_reply_wrong_flags");
	struct proto_mmap mm = { .shmid = 0, .len = 0x1000, .flags = 1 };
	int fd = fx_memfd(f, 0x1000);
	struct chan_msg m;

	send_raw_mmap(f, PROTO_BE_SHMEM_MAP, NEED, &mm, PROTO_MMAP_SIZE, &fd, 1);
	ck_assert_int_eq(serve(f, &m), CHAN_OK);
	ck_assert_uint_eq(m.hdr.flags, PROTO_VERSION);
	close(fd);
	fx_free(f);
}
END_TEST

START_TEST(test_fault_reply_wrong_size)
{
	struct fx *f = fx_new("fe_reply_wrong_size");
	struct proto_mmap mm = { .shmid = 0, .len = 0x1000, .flags = 1 };
	int fd = fx_memfd(f, 0x1000);
	struct chan_msg m;

	send_raw_mmap(f, PROTO_BE_SHMEM_MAP, NEED, &mm, PROTO_MMAP_SIZE, &fd, 1);
	ck_assert_int_eq(serve(f, &m), CHAN_OK);
	ck_assert_uint_eq(m.hdr.size, 4);
	ck_assert_uint_eq(m.payload_len, 4);
	close(fd);
	fx_free(f);
}
END_TEST

START_TEST(test_fault_memtable_before_reply)
{
	ck_assert(!reply_before_main_traffic("fe_memtable_before_reply"));
}
END_TEST

START_TEST(test_fault_unmap_ignores_len)
{
	struct fx *f = fx_new("fe_unmap_ignores_len");

	ck_assert_int_eq(map(f, 0, 0x2000, 0x4000, 1), 0);
	ck_assert_int_eq(unmap(f, 0, 0x2000, 0x1000), 0);
	ck_assert_uint_eq(f->fe->nmaps, 0);
	ck_assert_int_eq(maps_of(f->last_name, NULL, NULL), 0);
	fx_free(f);
}
END_TEST

START_TEST(test_fault_unmap_partial)
{
	struct fx *f = fx_new("fe_unmap_partial");

	ck_assert_int_eq(map(f, 0, 0x2000, 0x4000, 1), 0);
	ck_assert_int_eq(unmap(f, 0, 0x3000, 0x1000), 0);
	/* A hole punched in the middle: two pieces left. */
	ck_assert_int_eq(maps_of(f->last_name, NULL, NULL), 2);
	ck_assert_int_gt(unmap(f, 0, 0x1000, 0x8000), 0);
	fx_free(f);
}
END_TEST

START_TEST(test_fault_reset_keeps_mappings)
{
	struct fx *f = fx_new("fe_reset_keeps_mappings");
	char err[128];

	ck_assert_int_eq(map(f, 0, 0x2000, 0x1000, 1), 0);
	ck_assert_int_eq(reffe_reset(f->fe, chan_deadline(100), err, sizeof(err)), 0);
	ck_assert_uint_eq(f->fe->nmaps, 1);
	ck_assert_int_eq(maps_of(f->last_name, NULL, NULL), 1);
	fx_free(f);
}
END_TEST

START_TEST(test_fault_fd_leak_on_error)
{
	struct fx *f = fx_with_live("fe_fd_leak_on_error");
	int before = fdpool_count_open_fds();

	ck_assert_int_gt(map(f, 0, 0x4000, 0x1000, 1), 0);
	ck_assert_int_gt(map(f, 0, 0x200000, 0x1000, 1), 0);
	ck_assert_int_eq(fdpool_count_open_fds(), before + 2);
	ck_assert_uint_eq(reffe_kept_fds(f->fe), 3);
	fx_free(f);
}
END_TEST

START_TEST(test_fault_ro_mapped_rw)
{
	struct fx *f = fx_new("fe_ro_mapped_rw");
	char perms[5];

	ck_assert_int_eq(map(f, 0, 0x4000, 0x1000, 0), 0);
	ck_assert_int_eq(maps_of(f->last_name, perms, NULL), 1);
	ck_assert_str_eq(perms, "rw-s");
	fx_free(f);
}
END_TEST

START_TEST(test_fault_map_without_shmem)
{
	struct fx *f = fx_setup("fe_map_without_shmem", all_pfeatures() &
				~(UINT64_C(1) << PROTO_SHMEM_BIT_DEFAULT), true);

	ck_assert_int_eq(map(f, 0, 0, 0x1000, 1), 0);
	fx_free(f);
}
END_TEST

START_TEST(test_fault_short_payload_stale)
{
	struct fx *f = fx_new("fe_short_payload_stale");
	struct proto_mmap mm = { .shmid = 0, .shm_offset = 0x8000,
				 .len = 0x1000, .flags = 1 };
	int fd = fx_memfd(f, 0x1000);
	char perms[5];

	/* A first, whole MAP leaves flags=rw in the stale buffer. */
	ck_assert_int_eq(map(f, 0, 0x2000, 0x1000, 1), 0);
	mm.flags = 0;
	send_raw_mmap(f, PROTO_BE_SHMEM_MAP, NEED, &mm, 32, &fd, 1);
	ck_assert_int_eq(serve_value(f, PROTO_BE_SHMEM_MAP), 0);
	ck_assert_int_eq(maps_of(f->last_name, perms, NULL), 1);
	ck_assert_str_eq(perms, "rw-s"); /* the stale flags were used */
	close(fd);
	fx_free(f);
}
END_TEST

START_TEST(test_fault_abort_before_start)
{
	struct fx *f = fx_setup("fe_abort_before_start", all_pfeatures(), false);
	struct proto_mmap mm = { .shmid = 0, .len = 0x1000, .flags = 1 };
	int fd = fx_memfd(f, 0x1000);

	send_raw_mmap(f, PROTO_BE_SHMEM_MAP, NEED, &mm, PROTO_MMAP_SIZE, &fd, 1);
	ck_assert(child_crashes(f));
	close(fd);
	fx_free(f);
}
END_TEST

START_TEST(test_fault_abort_nregions)
{
	struct fx *f = fx_new("fe_abort_nregions");
	static const uint64_t sizes[] = { 0x20000 };
	struct rlimit no_core = { 0, 0 };
	struct chan_msg m;
	char err[128];
	pid_t pid;
	int st;

	make_config_reply(&m, 257, sizes, 1);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		setrlimit(RLIMIT_CORE, &no_core);
		reffe_apply_shmem_config(f->fe, &m, err, sizeof(err));
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT);
	fx_free(f);
}
END_TEST

/* ------------------------------------------------------------------ */
/* the program: SIGTERM ends it promptly wherever it waits */

/* Generous: the old front-end took ~4.8 s (its handshake deadline). */
#define PROMPT_EXIT_MS 2000

/* The built program next to this test: <build>/tests/test_reffe ->
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

TEST_CASE("lifecycle");

/* The program waits in its handshake for a back-end that never answers
 * (0), that sent 6 bytes of its reply (1), or for a socket path nobody
 * listens on (2). */
START_LOOP_TEST(test_program_sigterm_while_waiting, 0, 3)
{
	char path[4200], arg[96];
	char *argv[] = { path, arg, "--connect-timeout=30000", NULL };
	struct chan peer;
	struct chan_msg m;
	int sv[2], st;
	int64_t ms;
	pid_t pid;

	program_path("vhu-ref-frontend", path, sizeof(path));
	if (_i == 2) {
		snprintf(arg, sizeof(arg),
			 "--socket-path=/tmp/vhu-reffe-nobody-%d.sock",
			 (int)getpid());
		pid = vt_spawn(argv, NULL, 0);
		poll(NULL, 0, 200);
	} else {
		ck_assert_int_eq(chan_socketpair(sv), 0);
		snprintf(arg, sizeof(arg), "--fd=%d", sv[1]);
		pid = vt_spawn(argv, &sv[1], 1);
		close(sv[1]);
		chan_init(&peer, sv[0], "main", PROTO_CHAN_MAIN);
		ck_assert_int_eq(chan_recv(&peer, &m, chan_deadline(2000)),
				 CHAN_OK);
		ck_assert_uint_eq(m.hdr.request, PROTO_GET_FEATURES);
		chan_msg_release(&m);
		if (_i == 1)
			ck_assert_int_eq(chan_send_raw(&peer, "\x01\0\0\0\x05\0",
						       6, NULL, 0,
						       chan_deadline(100)),
					 CHAN_OK);
		poll(NULL, 0, 100);
	}
	ms = term_and_time(pid, &st);
	ck_assert_msg(ms >= 0, "still running %d ms after SIGTERM",
		      PROMPT_EXIT_MS);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		      "status 0x%x after SIGTERM", st);
	if (_i != 2)
		chan_close(&peer);
}
END_TEST

/* Answers the program's handshake with the reference back-end in
 * process, until the last vring fd (SET_VRING_CALL) arrived. */
static void serve_program_handshake(struct refbe *be, int fd)
{
	struct refbe_config cfg;
	int64_t end = chan_deadline(2000);

	refbe_config_default(&cfg);
	refbe_init(be, &cfg);
	refbe_attach_main(be, fd);
	while (be->vring_fds[1] < 0 && chan_now_ms() < end)
		ck_assert_int_ne(refbe_service_main(be, end), 1);
	ck_assert_int_ge(be->vring_fds[1], 0);
	ck_assert_int_ge(be->backend.fd, 0);
}

/* Six bytes of a back-end request, then nothing: the program's loop
 * still answers its control channel at once (it used to sit in the read
 * for --reply-timeout). */
START_TEST(test_program_loop_not_blocked_by_half_message)
{
	char path[4200], a1[32], a2[32], ans[512];
	char *argv[] = { path, a1, a2, "--reply-timeout=30000", NULL };
	struct refbe *be = calloc(1, sizeof(*be));
	int sv[2], cv[2], st;
	ssize_t n;
	pid_t pid;

	program_path("vhu-ref-frontend", path, sizeof(path));
	ck_assert_int_eq(chan_socketpair(sv), 0);
	ck_assert_int_eq(chan_socketpair(cv), 0);
	snprintf(a1, sizeof(a1), "--fd=%d", sv[1]);
	snprintf(a2, sizeof(a2), "--control-fd=%d", cv[1]);
	pid = vt_spawn(argv, (int[]){ sv[1], cv[1] }, 2);
	close(sv[1]);
	close(cv[1]);
	serve_program_handshake(be, sv[0]);
	ck_assert_int_eq(chan_send_raw(&be->backend, "\x09\0\0\0\x09\0", 6,
				       NULL, 0, chan_deadline(100)), CHAN_OK);
	poll(NULL, 0, 20);
	ck_assert_int_eq(write(cv[0], "dump\n", 5), 5);
	ck_assert_msg(chan_wait_readable(cv[0], chan_deadline(500)) == 1,
		      "no answer to dump within 500 ms");
	n = read(cv[0], ans, sizeof(ans) - 1);
	ck_assert_int_gt(n, 0);
	ans[n] = '\0';
	ck_assert_ptr_nonnull(strstr(ans, "ok {\"started\""));
	ck_assert_int_ge(term_and_time(pid, &st), 0);
	refbe_free(be);
	free(be);
	close(cv[0]);
}
END_TEST
