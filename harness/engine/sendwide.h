/* SPDX-License-Identifier: MIT */
/*
 * sendwide: sendmsg() of one message with more fds than chan allows (up
 * to SCRIPT_MAX_SEND_FDS), for the cases that test the limit of 8. The
 * fds go with the first byte; the rest follows until the deadline.
 */
#ifndef VHU_SENDWIDE_H
#define VHU_SENDWIDE_H

#include <stddef.h>
#include <stdint.h>

/* CHAN_OK, CHAN_TIMEOUT, CHAN_RESET, or -errno (-EINVAL: too many fds,
 * or nothing to send). */
int sendwide_send(int fd, const void *buf, size_t len, const int *fds,
		  unsigned nfds, int64_t deadline);

#endif
