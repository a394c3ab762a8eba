/* SPDX-License-Identifier: MIT */
/*
 * sendwide: a message sent with more fds than chan allows. See
 * sendwide.h.
 */
#include "sendwide.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>

#include "chan.h"
#include "script.h"

int sendwide_send(int fd, const void *buf, size_t len, const int *fds,
		  unsigned nfds, int64_t deadline)
{
	union {
		struct cmsghdr align;
		char b[CMSG_SPACE(sizeof(int) * SCRIPT_MAX_SEND_FDS)];
	} ctl;
	struct iovec iov = { (void *)buf, len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = ctl.b,
			     .msg_controllen = CMSG_SPACE(sizeof(int) * nfds) };
	struct cmsghdr *cm;
	size_t off = 0;

	if (nfds > SCRIPT_MAX_SEND_FDS || len == 0)
		return -EINVAL;
	memset(&ctl, 0, sizeof(ctl));
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
	memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
	while (off < len) {
		ssize_t n = sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			if (chan_now_ms() >= deadline)
				return CHAN_TIMEOUT;
			poll(NULL, 0, 1);
			continue;
		}
		if (n < 0)
			return errno == EPIPE || errno == ECONNRESET ? CHAN_RESET
								     : -errno;
		off += (size_t)n;
		iov.iov_base = (char *)buf + off;
		iov.iov_len = len - off;
		mh.msg_control = NULL;
		mh.msg_controllen = 0;
	}
	return CHAN_OK;
}
