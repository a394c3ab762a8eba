/* SPDX-License-Identifier: MIT */
/* qmp: a minimal QMP client (JSON lines over a unix socket) for what a
 * guest cannot do: `stop` and `cont` pause and resume the VM (which stops
 * and restarts the vhost-user device), `quit` ends QEMU cleanly. The
 * greeting and the capabilities negotiation are read lazily, at the first
 * command, so connecting costs no round trip during the bring-up. */
#ifndef VHU_QMP_H
#define VHU_QMP_H

#include <stdbool.h>
#include <stddef.h>

struct qmp {
	int fd;
	int timeout_ms;
	bool ready;             /* greeting and qmp_capabilities answer read */
	char buf[16384];
	size_t len;
};

/* Connects to path (retrying until the socket exists, up to timeout_ms)
 * and sends qmp_capabilities. False, why in why. */
bool qmp_connect(struct qmp *m, const char *path, int timeout_ms, char *why, size_t cap);

/* Runs a command without arguments; false with QEMU's error or why no
 * answer came. The answer's line goes to reply when it is not NULL. */
bool qmp_execute(struct qmp *m, const char *command, char *reply, size_t rcap,
		 char *why, size_t cap);

/* Sends `quit` and waits (up to timeout_ms) for its answer or for QEMU to
 * close the connection, whichever comes first. */
void qmp_quit(struct qmp *m, int timeout_ms);

void qmp_close(struct qmp *m);

#endif
