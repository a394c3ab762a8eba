/* SPDX-License-Identifier: MIT */
/*
 * calibrate: the ceiling for an in-process back-end channel fuzzer.
 *
 * One round trip is what fuzz_shmem_map's transport costs at the least:
 * a 52-byte message with one fd through sendmsg()/SCM_RIGHTS on a unix
 * socketpair, received as header (with the fd) then payload, the fd
 * closed, a 20-byte reply sent back and read. No handler, no checks.
 *
 * With "mmap", each round trip also does what a front-end that really
 * maps the fd cannot avoid: fstat() it, mmap() one page of it over a
 * PROT_NONE reservation (MAP_FIXED) and put PROT_NONE back. That is the
 * ceiling for a MAP the front-end accepts, as the plain round trip is
 * for one it refuses.
 * Prints one JSON line: {"roundtrips":N,"seconds":S,"per_sec":R}.
 *
 * usage: calibrate [SECONDS [mmap]]   (default 2, no mmap)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int send_with_fd(int sock, const void *buf, size_t len, int fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cm;

	if (fd >= 0) {
		memset(cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf;
		mh.msg_controllen = sizeof(cbuf);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	}
	return sendmsg(sock, &mh, MSG_NOSIGNAL) == (ssize_t)len ? 0 : -errno;
}

/* Header with its fd, then the payload: what a vhost-user receiver does. */
static int recv_msg(int sock, uint8_t *buf, size_t hdr, size_t body, int *fd)
{
	char cbuf[CMSG_SPACE(sizeof(int) * 8)];
	struct iovec iov = { .iov_base = buf, .iov_len = hdr };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm;

	*fd = -1;
	if (recvmsg(sock, &mh, MSG_CMSG_CLOEXEC) != (ssize_t)hdr)
		return -1;
	for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
			memcpy(fd, CMSG_DATA(cm), sizeof(int));
	if (body && recv(sock, buf + hdr, body, 0) != (ssize_t)body)
		return -1;
	return 0;
}

/* The accepted MAP's own work, and its undo. */
static int map_and_undo(int fd, uint8_t *reserve)
{
	struct stat st;

	if (fstat(fd, &st) < 0 ||
	    mmap(reserve + 4096, 4096, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_FIXED, fd, 0) == MAP_FAILED ||
	    mmap(reserve + 4096, 4096, PROT_NONE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE,
		 -1, 0) == MAP_FAILED)
		return -1;
	return 0;
}

int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 2.0, t0, t;
	uint8_t msg[52] = { 9, 0, 0, 0, 9, 0, 0, 0, 40 }, buf[64];
	uint8_t reply[20] = { 9, 0, 0, 0, 5, 0, 0, 0, 8 };
	unsigned long n = 0;
	int sv[2], memfd, fd;
	bool with_mmap = argc > 2 && strcmp(argv[2], "mmap") == 0;
	uint8_t *reserve = mmap(NULL, 1 << 20, PROT_NONE,
				MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
				-1, 0);

	if (secs <= 0 || reserve == MAP_FAILED ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return 2;
	memfd = memfd_create("calibrate", MFD_CLOEXEC);
	if (memfd < 0 || ftruncate(memfd, 4096) < 0)
		return 3;
	t0 = now_s();
	do {
		for (int i = 0; i < 256; i++, n++) {
			if (send_with_fd(sv[1], msg, sizeof(msg), memfd) ||
			    recv_msg(sv[0], buf, 12, 40, &fd))
				return 3;
			if (with_mmap && map_and_undo(fd, reserve) < 0)
				return 3;
			close(fd);
			if (send_with_fd(sv[0], reply, sizeof(reply), -1) ||
			    recv_msg(sv[1], buf, 12, 8, &fd))
				return 3;
		}
		t = now_s() - t0;
	} while (t < secs);
	printf("{\"roundtrips\":%lu,\"seconds\":%.3f,\"per_sec\":%.0f}\n", n, t,
	       (double)n / t);
	return 0;
}
