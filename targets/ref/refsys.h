/* SPDX-License-Identifier: MIT */
/*
 * refsys: the small system helpers the reference targets (and vhu-chaos,
 * which builds on them) share: page size, fd close/dup, and formatting
 * a message for a log callback.
 */
#ifndef VHU_REFSYS_H
#define VHU_REFSYS_H

#include <stdarg.h>
#include <stdint.h>

/* The system page size, or 4096 when sysconf cannot tell. */
uint64_t refsys_page_size(void);

/* Closes *fd if open and sets it to -1, so a second call is harmless. */
void refsys_close_fd(int *fd);

/* A close-on-exec duplicate of fd numbered 3 or above, or -errno. */
int refsys_dup_cloexec(int fd);

/* Formats fmt into a 512-byte line (longer text is cut) and hands it to
 * log(opaque, line); nothing when log is NULL. */
void refsys_vlog(void (*log)(void *opaque, const char *msg), void *opaque,
		 const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

#endif
