/* SPDX-License-Identifier: MIT */
/* The shared set-up of the unit tests (vhutest.h). */
#include "vhutest.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/mman.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

void vt_self_exe(char *out, size_t cap)
{
	ssize_t n = readlink("/proc/self/exe", out, cap - 1);

	ck_assert_int_gt(n, 0);
	out[n] = '\0';
}

void vt_socketpair(int sv[2])
{
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
}

void vt_chan_pair(struct chan *a, struct chan *b)
{
	int sv[2];

	vt_socketpair(sv);
	chan_init(a, sv[0], "main", PROTO_CHAN_MAIN);
	chan_init(b, sv[1], "backend", PROTO_CHAN_BACKEND);
}

int vt_memfd(const char *name, uint64_t size, int sealable)
{
	int fd = memfd_create(name, MFD_CLOEXEC | (sealable ? MFD_ALLOW_SEALING : 0));

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, (off_t)size), 0);
	return fd;
}

static const char *tmp_root(void)
{
	const char *dir = getenv("TMPDIR");

	return dir && *dir ? dir : "/tmp";
}

void vt_tmp_path(char *out, size_t cap, const char *what)
{
	struct timespec ts;
	int n;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	n = snprintf(out, cap, "%s/vhu-test-%s-%ld-%ld%09ld", tmp_root(), what,
		     (long)getpid(), (long)ts.tv_sec, ts.tv_nsec);
	ck_assert(n > 0 && (size_t)n < cap);
}

void vt_tmp_dir(char *out, size_t cap)
{
	int n = snprintf(out, cap, "%s/vhu-test-XXXXXX", tmp_root());

	ck_assert(n > 0 && (size_t)n < cap);
	ck_assert_ptr_nonnull(mkdtemp(out));
}

void vt_rm_tree(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[4096];

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		ck_assert_int_eq(unlink(path), 0);
	}
	closedir(d);
	ck_assert_int_eq(rmdir(dir), 0);
}

void vt_write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fputs(text, f) >= 0, 1);
	ck_assert_int_eq(fclose(f), 0);
}

pid_t vt_spawn(char *const argv[], const int *keep, unsigned nkeep)
{
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		/* Its log lines would only clutter the test output. */
		if (null >= 0)
			dup2(null, STDERR_FILENO);
		for (unsigned i = 0; i < nkeep; i++)
			fcntl(keep[i], F_SETFD, 0);
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

size_t vt_read_all(int fd, char *out, size_t cap)
{
	size_t len = 0;
	ssize_t n;

	while (len + 1 < cap && (n = read(fd, out + len, cap - 1 - len)) != 0) {
		if (n < 0) {
			ck_assert_int_eq(errno, EINTR);
			continue;
		}
		len += (size_t)n;
	}
	out[len] = '\0';
	return len;
}

size_t vt_read_some(int fd, char *out, size_t cap)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	ssize_t n;

	ck_assert_int_eq(poll(&p, 1, 3000), 1);
	n = read(fd, out, cap - 1);
	ck_assert_int_ge(n, 0);
	out[n] = '\0';
	return (size_t)n;
}

int vt_run_program(char *const argv[], int timeout_ms)
{
	pid_t pid = fork();
	int st = 0;

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		execvp(argv[0], argv);
		_exit(127);
	}
	for (int waited = 0; waitpid(pid, &st, WNOHANG) == 0; waited += 5) {
		if (waited >= timeout_ms) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			return -1;
		}
		poll(NULL, 0, 5);
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
