/* SPDX-License-Identifier: MIT */
#include "refsys.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

uint64_t refsys_page_size(void)
{
	long p = sysconf(_SC_PAGESIZE);

	return p > 0 ? (uint64_t)p : 4096;
}

void refsys_close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

int refsys_dup_cloexec(int fd)
{
	int d = fcntl(fd, F_DUPFD_CLOEXEC, 3);

	return d < 0 ? -errno : d;
}

void refsys_vlog(void (*log)(void *opaque, const char *msg), void *opaque,
		 const char *fmt, va_list ap)
{
	char msg[512];

	if (!log)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	log(opaque, msg);
}
