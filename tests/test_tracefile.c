/* SPDX-License-Identifier: MIT */
/* Unit tests for harness/tracefile: the record codec, real files, real
 * fds described, the printed and JSON forms. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fdpool.h"
#include "tracefile.h"
#include "vhutest.h"

static struct tracefile_rec *new_rec(void)
{
	struct tracefile_rec *r = calloc(1, sizeof(*r));

	ck_assert_ptr_nonnull(r);
	return r;
}

/* A SHMEM_MAP record with one described memfd. */
static void fill_map(struct tracefile_rec *r)
{
	struct proto_hdr h = { PROTO_BE_SHMEM_MAP, PROTO_VERSION | PROTO_F_NEED_REPLY,
			       PROTO_MMAP_SIZE };
	struct proto_mmap mm = { .shmid = 3, .fd_offset = 0x1000,
				 .shm_offset = 0x2000, .len = 0x3000,
				 .flags = PROTO_MMAP_F_RW };

	r->type = TRACEFILE_MSG;
	r->chan = PROTO_CHAN_BACKEND;
	r->from = TRACEFILE_FROM_BACKEND;
	r->flags = TRACEFILE_F_DELAYED;
	r->t_ns = 123456789;
	r->nfds = 1;
	r->fds[0].kind = TRACEFILE_FD_MEMFD;
	r->fds[0].accmode = 2;
	r->fds[0].seals = 0x1;
	r->fds[0].size = 0x4000;
	snprintf(r->fds[0].name, sizeof(r->fds[0].name), "/memfd:abc (deleted)");
	proto_hdr_encode(&h, r->data, PROTO_HDR_SIZE);
	proto_mmap_encode(&mm, r->data + PROTO_HDR_SIZE, PROTO_MMAP_SIZE);
	r->data_len = PROTO_HDR_SIZE + PROTO_MMAP_SIZE;
}

static void same_rec(const struct tracefile_rec *a, const struct tracefile_rec *b)
{
	ck_assert_uint_eq(a->type, b->type);
	ck_assert_uint_eq(a->chan, b->chan);
	ck_assert_uint_eq(a->from, b->from);
	ck_assert_uint_eq(a->flags, b->flags);
	ck_assert_int_eq(a->status, b->status);
	ck_assert_uint_eq(a->t_ns, b->t_ns);
	ck_assert_uint_eq(a->nfds, b->nfds);
	for (unsigned i = 0; i < a->nfds; i++) {
		ck_assert_uint_eq(a->fds[i].kind, b->fds[i].kind);
		ck_assert_uint_eq(a->fds[i].accmode, b->fds[i].accmode);
		ck_assert_uint_eq(a->fds[i].seals, b->fds[i].seals);
		ck_assert_uint_eq(a->fds[i].size, b->fds[i].size);
		ck_assert_str_eq(a->fds[i].name, b->fds[i].name);
	}
	ck_assert_uint_eq(a->data_len, b->data_len);
	ck_assert_mem_eq(a->data, b->data, a->data_len);
}

TEST_CASE("core");

START_TEST(codec_round_trip)
{
	struct tracefile_rec *a = new_rec(), *b = new_rec();
	uint8_t buf[8192];
	long n;

	fill_map(a);
	n = tracefile_encode(a, buf, sizeof(buf));
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(n % 8, 0);
	/* header 32 + fd 16 + name 20 padded to 24 + data 52 padded to 56 */
	ck_assert_int_eq(n, 32 + 16 + 24 + 56);
	ck_assert_int_eq(tracefile_decode(buf, (size_t)n, b), n);
	same_rec(a, b);
	free(a);
	free(b);
}
END_TEST

START_TEST(codec_rejects_malformed)
{
	struct tracefile_rec *a = new_rec(), *b = new_rec();
	uint8_t buf[8192];
	long n;

	fill_map(a);
	n = tracefile_encode(a, buf, sizeof(buf));
	ck_assert_int_eq(tracefile_decode(buf, 0, b), -ENODATA);
	ck_assert_int_eq(tracefile_decode(buf, 31, b), -EINVAL);
	ck_assert_int_eq(tracefile_decode(buf, (size_t)n - 8, b), -EINVAL); /* cut */
	buf[0] ^= 4; /* size not a multiple of 8 */
	ck_assert_int_eq(tracefile_decode(buf, (size_t)n, b), -EINVAL);
	buf[0] ^= 4;
	buf[12] = 9; /* nine fds */
	ck_assert_int_eq(tracefile_decode(buf, (size_t)n, b), -EINVAL);
	buf[12] = 1;
	buf[32 + 2] = 200; /* fd name longer than the record */
	ck_assert_int_eq(tracefile_decode(buf, (size_t)n, b), -EINVAL);
	ck_assert_int_eq(tracefile_encode(a, buf, 40), -ENOSPC);
	a->nfds = 9;
	ck_assert_int_eq(tracefile_encode(a, buf, sizeof(buf)), -EINVAL);
	free(a);
	free(b);
}
END_TEST

START_TEST(describe_fds)
{
	struct tracefile_fd d;
	int mfd = memfd_create("vhu-test-describe", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	int pfd[2], sv[2], closed;

	ck_assert_int_ge(mfd, 0);
	ck_assert_int_eq(ftruncate(mfd, 0x3000), 0);
	ck_assert_int_eq(fcntl(mfd, F_ADD_SEALS, F_SEAL_SHRINK), 0);
	ck_assert_int_eq(tracefile_describe_fd(mfd, &d), 0);
	ck_assert_uint_eq(d.kind, TRACEFILE_FD_MEMFD);
	ck_assert_uint_eq(d.size, 0x3000);
	ck_assert_uint_eq(d.accmode, 2);
	ck_assert_uint_eq(d.seals & F_SEAL_SHRINK, F_SEAL_SHRINK);
	ck_assert_ptr_nonnull(strstr(d.name, "vhu-test-describe"));
	ck_assert_int_eq(pipe2(pfd, O_CLOEXEC), 0);
	ck_assert_int_eq(tracefile_describe_fd(pfd[0], &d), 0);
	ck_assert_uint_eq(d.kind, TRACEFILE_FD_PIPE);
	ck_assert_uint_eq(d.accmode, 0);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	ck_assert_int_eq(tracefile_describe_fd(sv[0], &d), 0);
	ck_assert_uint_eq(d.kind, TRACEFILE_FD_SOCKET);
	closed = dup(pfd[1]);
	close(closed);
	ck_assert_int_eq(tracefile_describe_fd(closed, &d), -EBADF);
	close(mfd);
	close(pfd[0]);
	close(pfd[1]);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

START_TEST(file_round_trip)
{
	struct tracefile_rec *a = new_rec(), *b = new_rec();
	struct tracefile_writer w;
	struct tracefile_reader rd;
	char path[128], err[256];
	int before = fdpool_count_open_fds();

	vt_tmp_path(path, sizeof(path), "trace");
	ck_assert_int_eq(tracefile_create(&w, path, 21), 0);
	fill_map(a);
	ck_assert_int_eq(tracefile_write(&w, a), 0);
	ck_assert_int_eq(tracefile_note(&w, PROTO_CHAN_MAIN, "finding [error] x"), 0);
	a->nfds = 0;
	a->flags = 0;
	a->data_len = PROTO_HDR_SIZE; /* a header-only message */
	ck_assert_int_eq(tracefile_write(&w, a), 0);
	ck_assert_int_eq(tracefile_close(&w), 0);
	ck_assert_int_eq(tracefile_open(&rd, path, err, sizeof(err)), 0);
	ck_assert_uint_eq(rd.shmem_bit, 21);
	ck_assert_uint_eq(rd.version, TRACEFILE_VERSION);
	ck_assert_uint_gt(rd.start_realtime_ns, 0);
	ck_assert_int_eq(tracefile_next(&rd, b), 1);
	fill_map(a);
	same_rec(a, b);
	ck_assert_int_eq(tracefile_next(&rd, b), 1);
	ck_assert_uint_eq(b->type, TRACEFILE_NOTE);
	ck_assert_uint_eq(b->from, TRACEFILE_FROM_MONITOR);
	ck_assert_mem_eq(b->data, "finding [error] x", 17);
	ck_assert_int_eq(tracefile_next(&rd, b), 1);
	ck_assert_uint_eq(b->data_len, PROTO_HDR_SIZE);
	ck_assert_int_eq(tracefile_next(&rd, b), 0);
	tracefile_free(&rd);
	unlink(path);
	ck_assert_int_eq(fdpool_count_open_fds(), before);
	free(a);
	free(b);
}
END_TEST

START_TEST(open_rejects)
{
	struct tracefile_reader rd;
	char path[128], err[256];
	FILE *f;

	ck_assert_int_eq(tracefile_open(&rd, "/nonexistent/x", err, sizeof(err)), -ENOENT);
	vt_tmp_path(path, sizeof(path), "trace");
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs("not a trace, but long enough to hold a header......", f);
	fclose(f);
	ck_assert_int_eq(tracefile_open(&rd, path, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "not a vhucheck trace"));
	unlink(path);
}
END_TEST

START_TEST(truncated_file_is_an_error)
{
	struct tracefile_rec *a = new_rec();
	struct tracefile_writer w;
	struct tracefile_reader rd;
	char path[128], err[256];

	vt_tmp_path(path, sizeof(path), "trace");
	ck_assert_int_eq(tracefile_create(&w, path, 22), 0);
	fill_map(a);
	ck_assert_int_eq(tracefile_write(&w, a), 0);
	ck_assert_int_eq(tracefile_close(&w), 0);
	ck_assert_int_eq(truncate(path, TRACEFILE_HDR_SIZE + 40), 0);
	ck_assert_int_eq(tracefile_open(&rd, path, err, sizeof(err)), 0);
	ck_assert_int_eq(tracefile_next(&rd, a), -EINVAL);
	tracefile_free(&rd);
	unlink(path);
	free(a);
}
END_TEST

/* An 8-byte payload is a u64; a GET_SHMEM_CONFIG reply gives its sizes
 * up to the last non-zero one; a SET_MEM_TABLE its regions; a payload
 * that does not decode gets no fields. */
START_TEST(json_decodes_u64_config_and_mem_table)
{
	struct tracefile_rec *a = new_rec();
	struct proto_hdr h = { PROTO_GET_SHMEM_CONFIG, PROTO_VERSION | PROTO_F_REPLY,
			       PROTO_SHMEM_CONFIG_SIZE };
	struct proto_shmem_config *c = calloc(1, sizeof(*c));
	struct proto_mem_table t = { .nregions = 1,
		.regions = { { 0x100000, 0x200000, 0x7f0000000000ull, 0 } } };
	char line[16384];

	ck_assert_ptr_nonnull(c);
	c->nregions = 2;
	c->memory_sizes[0] = 0x100000;
	c->memory_sizes[2] = 0x2000;      /* a gap, then the last one */
	a->type = TRACEFILE_MSG;
	a->chan = PROTO_CHAN_MAIN;
	a->from = TRACEFILE_FROM_BACKEND;
	proto_hdr_encode(&h, a->data, PROTO_HDR_SIZE);
	proto_shmem_config_encode(c, a->data + PROTO_HDR_SIZE, PROTO_SHMEM_CONFIG_SIZE);
	a->data_len = PROTO_HDR_SIZE + PROTO_SHMEM_CONFIG_SIZE;
	tracefile_format_json(a, 22, line, sizeof(line));
	ck_assert_msg(strstr(line, "\"shmem_config\":{\"nregions\":2,"
			      "\"sizes\":[1048576,0,8192]}") != NULL, "%s", line);

	h = (struct proto_hdr){ PROTO_SET_MEM_TABLE, PROTO_VERSION, 8 + 32 };
	a->from = TRACEFILE_FROM_FRONTEND;
	proto_hdr_encode(&h, a->data, PROTO_HDR_SIZE);
	proto_mem_table_encode(&t, a->data + PROTO_HDR_SIZE, 8 + 32);
	a->data_len = PROTO_HDR_SIZE + 8 + 32;
	tracefile_format_json(a, 22, line, sizeof(line));
	ck_assert_msg(strstr(line, "\"mem_table\":[{\"gpa\":1048576,\"size\":2097152,"
			      "\"uaddr\":139637976727552,\"mmap_offset\":0}]") != NULL,
		      "%s", line);

	h = (struct proto_hdr){ 1 /* GET_FEATURES */, PROTO_VERSION | PROTO_F_REPLY, 8 };
	a->from = TRACEFILE_FROM_BACKEND;
	proto_hdr_encode(&h, a->data, PROTO_HDR_SIZE);
	proto_u64_encode(0x140000000ull, a->data + PROTO_HDR_SIZE, 8);
	a->data_len = PROTO_HDR_SIZE + 8;
	tracefile_format_json(a, 22, line, sizeof(line));
	ck_assert_ptr_nonnull(strstr(line, "\"u64\":5368709120"));

	a->data_len = PROTO_HDR_SIZE + 5;   /* short: nothing decoded */
	tracefile_format_json(a, 22, line, sizeof(line));
	ck_assert_ptr_null(strstr(line, "\"u64\""));
	free(c);
	free(a);
}
END_TEST

START_TEST(format_text_and_json)
{
	struct tracefile_rec *a = new_rec();
	char line[4096];
	int n;

	fill_map(a);
	n = tracefile_format(a, line, sizeof(line));
	ck_assert_int_eq(n, (int)strlen(line));
	ck_assert_ptr_nonnull(strstr(line, "+0.1234s backend BE->FE SHMEM_MAP"));
	ck_assert_ptr_nonnull(strstr(line, "(NEED_REPLY)"));
	ck_assert_ptr_nonnull(strstr(line, "shm_offset=0x2000"));
	ck_assert_ptr_nonnull(strstr(line, "[delayed]"));
	ck_assert_ptr_nonnull(strstr(line, "fd0=memfd:size=0x4000"));
	n = tracefile_format_json(a, 22, line, sizeof(line));
	ck_assert_int_eq(n, (int)strlen(line));
	ck_assert_ptr_nonnull(strstr(line, "\"name\":\"SHMEM_MAP\""));
	ck_assert_ptr_nonnull(strstr(line, "\"chan\":\"backend\""));
	ck_assert_ptr_nonnull(strstr(line, "\"hex\":\"09000000090000002800000003"));
	ck_assert_ptr_nonnull(strstr(line, "\"name\":\"/memfd:abc (deleted)\""));
	/* the fields decoded by proto.c: readers never decode the hex again */
	ck_assert_msg(strstr(line, "\"mmap\":{\"shmid\":3,\"padding\":\"00000000000000\","
			      "\"fd_offset\":4096,\"shm_offset\":8192,\"len\":12288,"
			      "\"flags\":1}") != NULL, "%s", line);
	ck_assert_ptr_null(strstr(line, "\"u64\""));
	/* snprintf-style: a small buffer says how much was needed */
	ck_assert_int_eq(tracefile_format_json(a, 22, line, 10), n);
	ck_assert_uint_eq(strlen(line), 9);
	a->type = TRACEFILE_NOTE;
	a->nfds = 0;
	memcpy(a->data, "say \"hi\"\n", 9);
	a->data_len = 9;
	tracefile_format_json(a, 22, line, sizeof(line));
	ck_assert_ptr_nonnull(strstr(line, "\"note\":\"say \\\"hi\\\"\\n\""));
	free(a);
}
END_TEST
