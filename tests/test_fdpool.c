/* SPDX-License-Identifier: MIT */
/* Unit tests for harness/fdpool: every kind is checked for what it really
 * is (fstat, seals, access mode, mmap behaviour), not for what it says. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fdpool.h"
#include "vhutest.h"

static struct fdpool_entry *add_get(struct fdpool *p, const char *name,
				    enum fdpool_kind k, uint64_t size)
{
	int i = fdpool_add(p, name, k, size);

	ck_assert_msg(i >= 0, "fdpool_add %s: %s", name, strerror(-i));
	ck_assert_ptr_eq(fdpool_get(p, name), &p->e[i]);
	return &p->e[i];
}

static bool is_cloexec(int fd)
{
	return (fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0;
}

static void fd_link(int fd, char *out, size_t cap)
{
	char path[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, out, cap - 1);
	ck_assert_int_gt(n, 0);
	out[n] = '\0';
}

TEST_CASE("kinds");

START_TEST(kind_names_both_ways)
{
	for (int k = 0; k < FDPOOL_KIND_MAX; k++) {
		const char *n = fdpool_kind_name(k);
		char up[32];

		ck_assert_ptr_nonnull(n);
		ck_assert_int_eq(fdpool_kind_by_name(n), k);
		for (size_t i = 0; i <= strlen(n); i++)
			up[i] = n[i] == '-' ? '_' : (char)(n[i] >= 'a' &&
				n[i] <= 'z' ? n[i] - 32 : n[i]);
		ck_assert_int_eq(fdpool_kind_by_name(up), k);
	}
	ck_assert_str_eq(fdpool_kind_name(FDPOOL_MEMFD_SEALED), "memfd-sealed");
	ck_assert_ptr_null(fdpool_kind_name(FDPOOL_KIND_MAX));
	ck_assert_int_eq(fdpool_kind_by_name("memfdx"), -1);
	ck_assert_int_eq(fdpool_kind_by_name("memf"), -1);
	ck_assert_int_eq(fdpool_kind_by_name(""), -1);
	ck_assert_int_eq(fdpool_kind_by_name(NULL), -1);
}
END_TEST

START_TEST(memfd_is_named_sized_and_mappable)
{
	struct fdpool p;
	struct fdpool_entry *e;
	struct stat st;
	char link[128];
	uint8_t *map;

	fdpool_init(&p, "t1");
	e = add_get(&p, "a", FDPOOL_MEMFD, 0x10000);
	ck_assert_int_eq(fstat(e->fd, &st), 0);
	ck_assert_int_eq(st.st_size, 0x10000);
	ck_assert(is_cloexec(e->fd));
	ck_assert_int_eq(e->aux_fd, -1);
	ck_assert_str_eq(e->memfd_name, "/memfd:vhu-t1-a (deleted)");
	fd_link(e->fd, link, sizeof(link));
	ck_assert_str_eq(link, e->memfd_name);
	ck_assert_int_eq(fcntl(e->fd, F_GET_SEALS), 0);
	map = mmap(NULL, 0x10000, PROT_READ | PROT_WRITE, MAP_SHARED, e->fd, 0);
	ck_assert(map != MAP_FAILED);
	map[0x1234] = 7;
	munmap(map, 0x10000);
	fdpool_free(&p);
}
END_TEST

START_TEST(memfd_name_in_maps)
{
	struct fdpool p;
	struct fdpool_entry *e;
	char line[512];
	bool found = false;
	FILE *f;
	void *map;

	fdpool_init(&p, "mapstag");
	e = add_get(&p, "region", FDPOOL_MEMFD, 4096);
	map = mmap(NULL, 4096, PROT_READ, MAP_SHARED, e->fd, 0);
	ck_assert(map != MAP_FAILED);
	f = fopen("/proc/self/maps", "re");
	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f))
		if (strstr(line, e->memfd_name))
			found = true;
	fclose(f);
	ck_assert_msg(found, "%s not in /proc/self/maps", e->memfd_name);
	munmap(map, 4096);
	fdpool_free(&p);
}
END_TEST

START_TEST(memfd_sealed_refuses_writes)
{
	struct fdpool p;
	struct fdpool_entry *e;
	int seals;

	fdpool_init(&p, "t");
	e = add_get(&p, "s", FDPOOL_MEMFD_SEALED, 8192);
	seals = fcntl(e->fd, F_GET_SEALS);
	ck_assert_int_eq(seals, F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW |
				F_SEAL_SEAL);
	ck_assert_int_eq(write(e->fd, "x", 1), -1);
	ck_assert_int_eq(errno, EPERM);
	ck_assert_int_eq(ftruncate(e->fd, 4096), -1);
	ck_assert(mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, e->fd,
		       0) == MAP_FAILED);
	ck_assert_int_eq(fcntl(e->fd, F_ADD_SEALS, F_SEAL_FUTURE_WRITE), -1);
	ck_assert_uint_eq(e->size, 8192);
	fdpool_free(&p);
}
END_TEST

START_TEST(memfd_empty_is_empty)
{
	struct fdpool p;
	struct fdpool_entry *e;
	struct stat st;

	fdpool_init(&p, "t");
	e = add_get(&p, "e", FDPOOL_MEMFD_EMPTY, 0x1000);
	ck_assert_int_eq(fstat(e->fd, &st), 0);
	ck_assert_int_eq(st.st_size, 0);
	ck_assert_uint_eq(e->size, 0);
	e = add_get(&p, "z", FDPOOL_MEMFD, 0);
	ck_assert_int_eq(fstat(e->fd, &st), 0);
	ck_assert_int_eq(st.st_size, 0);
	fdpool_free(&p);
}
END_TEST

START_TEST(rdonly_file_is_readonly_and_gone)
{
	char dir[] = "/tmp/vhu-fdpool-XXXXXX";
	struct fdpool p;
	struct fdpool_entry *e;
	struct stat st;
	DIR *d;
	int left = 0;

	const char *old = getenv("TMPDIR");
	char *saved = old ? strdup(old) : NULL;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(setenv("TMPDIR", dir, 1), 0);
	fdpool_init(&p, "t");
	e = add_get(&p, "ro", FDPOOL_RDONLY_FILE, 0x3000);
	ck_assert_int_eq(fcntl(e->fd, F_GETFL) & O_ACCMODE, O_RDONLY);
	ck_assert(is_cloexec(e->fd));
	ck_assert_int_eq(fstat(e->fd, &st), 0);
	ck_assert(S_ISREG(st.st_mode));
	ck_assert_int_eq(st.st_size, 0x3000);
	ck_assert_int_eq(st.st_nlink, 0);
	ck_assert_int_eq(write(e->fd, "x", 1), -1);
	ck_assert(mmap(NULL, 0x3000, PROT_READ | PROT_WRITE, MAP_SHARED, e->fd,
		       0) == MAP_FAILED);
	ck_assert_int_eq(errno, EACCES);
	ck_assert_ptr_nonnull(strstr(e->memfd_name, dir));
	d = opendir(dir);
	ck_assert_ptr_nonnull(d);
	for (struct dirent *de; (de = readdir(d));)
		left += de->d_name[0] != '.';
	closedir(d);
	ck_assert_int_eq(left, 0);
	fdpool_free(&p);
	ck_assert_int_eq(rmdir(dir), 0);
	/* CK_FORK=no runs later tests in this process: leave it as found. */
	if (saved)
		setenv("TMPDIR", saved, 1);
	else
		unsetenv("TMPDIR");
	free(saved);
}
END_TEST

START_TEST(pipe_and_socket_ends)
{
	struct fdpool p;
	struct fdpool_entry *e;
	struct stat st;
	char c = 0;

	fdpool_init(&p, "t");
	e = add_get(&p, "p", FDPOOL_PIPE, 123);
	ck_assert_int_eq(fstat(e->fd, &st), 0);
	ck_assert(S_ISFIFO(st.st_mode));
	ck_assert_int_eq(fcntl(e->fd, F_GETFL) & O_ACCMODE, O_RDONLY);
	ck_assert(is_cloexec(e->fd) && is_cloexec(e->aux_fd));
	ck_assert_int_eq(write(e->aux_fd, "p", 1), 1);
	ck_assert_int_eq(read(e->fd, &c, 1), 1);
	ck_assert_int_eq(c, 'p');
	e = add_get(&p, "s", FDPOOL_SOCKET, 0);
	ck_assert_int_eq(fstat(e->fd, &st), 0);
	ck_assert(S_ISSOCK(st.st_mode));
	ck_assert(is_cloexec(e->fd) && is_cloexec(e->aux_fd));
	ck_assert_int_eq(write(e->aux_fd, "s", 1), 1);
	ck_assert_int_eq(read(e->fd, &c, 1), 1);
	ck_assert_int_eq(c, 's');
	ck_assert(mmap(NULL, 4096, PROT_READ, MAP_SHARED, e->fd, 0) ==
		  MAP_FAILED);
	fdpool_free(&p);
}
END_TEST

START_TEST(closed_number_is_invalid)
{
	struct fdpool p;
	struct fdpool_entry *e;
	int other;

	fdpool_init(&p, "t");
	e = add_get(&p, "c", FDPOOL_CLOSED, 0);
	ck_assert_int_ge(e->fd, 0);
	ck_assert_int_eq(fcntl(e->fd, F_GETFD), -1);
	ck_assert_int_eq(errno, EBADF);
	/* The next ordinary open does not revive it. */
	other = open("/dev/null", O_RDONLY | O_CLOEXEC);
	ck_assert_int_ne(other, e->fd);
	close(other);
	fdpool_free(&p);
}
END_TEST

TEST_CASE("management");

START_TEST(add_errors)
{
	struct fdpool p;
	char name[40];

	fdpool_init(&p, "t");
	ck_assert_int_eq(fdpool_add(&p, "a", FDPOOL_PIPE, 0), 0);
	ck_assert_int_eq(fdpool_add(&p, "a", FDPOOL_MEMFD, 0), -EEXIST);
	ck_assert_int_eq(fdpool_add(&p, "", FDPOOL_MEMFD, 0), -EINVAL);
	ck_assert_int_eq(fdpool_add(&p, NULL, FDPOOL_MEMFD, 0), -EINVAL);
	ck_assert_int_eq(fdpool_add(&p, "k", FDPOOL_KIND_MAX, 0), -EINVAL);
	ck_assert_int_eq(fdpool_add(&p, "k", (enum fdpool_kind)-1, 0), -EINVAL);
	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	ck_assert_int_eq(fdpool_add(&p, name, FDPOOL_MEMFD, 0), -ENAMETOOLONG);
	ck_assert_int_eq(fdpool_add(&p, "huge", FDPOOL_MEMFD, UINT64_MAX),
			 -EFBIG);
	ck_assert_uint_eq(p.count, 1);
	ck_assert_ptr_null(fdpool_get(&p, "nope"));
	for (int i = 1; i < FDPOOL_MAX; i++) {
		snprintf(name, sizeof(name), "m%d", i);
		ck_assert_int_eq(fdpool_add(&p, name, FDPOOL_MEMFD_EMPTY, 0), i);
	}
	ck_assert_int_eq(fdpool_add(&p, "full", FDPOOL_MEMFD, 0), -ENOSPC);
	fdpool_free(&p);
}
END_TEST

START_TEST(free_closes_everything)
{
	int before = fdpool_count_open_fds();
	struct fdpool p;

	fdpool_init(&p, "t");
	for (int k = 0; k < FDPOOL_KIND_MAX; k++)
		ck_assert_int_ge(fdpool_add(&p, fdpool_kind_name(k), k, 4096), 0);
	/* pipe and socket hold two each; closed holds none */
	ck_assert_int_eq(fdpool_count_open_fds(), before + FDPOOL_KIND_MAX - 1 + 2);
	fdpool_free(&p);
	ck_assert_int_eq(fdpool_count_open_fds(), before);
	fdpool_free(&p);
	ck_assert_uint_eq(p.count, 0);
}
END_TEST

START_TEST(count_open_fds_counts)
{
	int before = fdpool_count_open_fds(), a, b;

	ck_assert_int_ge(before, 3);
	a = open("/dev/null", O_RDONLY | O_CLOEXEC);
	b = dup(a);
	ck_assert_int_eq(fdpool_count_open_fds(), before + 2);
	close(a);
	close(b);
	ck_assert_int_eq(fdpool_count_open_fds(), before);
}
END_TEST

START_TEST(init_tags)
{
	struct fdpool p;
	char want[32];

	fdpool_init(&p, NULL);
	snprintf(want, sizeof(want), "%ld", (long)getpid());
	ck_assert_str_eq(p.tag, want);
	ck_assert_uint_eq(p.count, 0);
	fdpool_init(&p, "a-very-long-tag-that-does-not-fit-in-24");
	ck_assert_uint_eq(strlen(p.tag), sizeof(p.tag) - 1);
	ck_assert_int_ge(fdpool_add(&p, "x", FDPOOL_MEMFD, 4096), 0);
	ck_assert_ptr_nonnull(strstr(p.e[0].memfd_name, p.tag));
	fdpool_free(&p);
}
END_TEST
