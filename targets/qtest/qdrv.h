/* SPDX-License-Identifier: MIT */
/* qdrv: the guest side of vhu-qtest: one virtio device and its
 * lifecycle, and the front-end side of vhucheck's control channel
 * (docs/control.md) played on behalf of a QEMU that has no such channel:
 * `start` brings the device to DRIVER_OK through qtest, `stop`/`start`
 * pause and resume the VM through QMP, `reset` writes device status 0,
 * `dump` answers once everything asked before is done. What QEMU offers
 * no way to do (`reconnect`, `stop` without QMP) is answered `err
 * unsupported: WHY`. Every answer is sent before the command acts. */
#ifndef VHU_QDRV_H
#define VHU_QDRV_H

#include <stdbool.h>
#include <stdint.h>

#include "qmp.h"
#include "qpci.h"
#include "qtio.h"
#include "qvirtio.h"

struct qdrv_opts {
	long device_id;         /* -1: any virtio function */
	long slot;              /* -1: any slot */
	uint64_t features;      /* accepted besides VERSION_1 */
	uint64_t ring_base;
	bool shm_unmapped;      /* leave the shared-memory BARs at 0 */
};

struct qdrv {
	const struct qdrv_opts *o;
	struct qtio *q;
	struct qmp *qmp;        /* NULL: --no-qmp */
	struct qpci_fn fn;
	struct qvirtio dev;
	const char *tmpdir;     /* where our own sockets were */
	bool paused, started;
	char error[QTIO_WHY + 16];
};

/* A line on stderr, "vhu-qtest[PID]: ...": the driver's own trace, which
 * the harness keeps with the case. */
void qdrv_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Finds the function, assigns its BARs, reads its capabilities. */
bool qdrv_probe(struct qdrv *d, char *why, size_t cap);

/* Brings the device to DRIVER_OK (resuming a paused VM first). */
bool qdrv_start(struct qdrv *d, char *why, size_t cap);

/* The control loop; ends when QEMU or the controller goes away, or on
 * `quit`. At the controller's EOF QEMU is ended cleanly (qdrv_end_qemu).
 * Returns the exit status of the driver process. */
int qdrv_serve(struct qdrv *d, int ctl_fd);

/* The device could not be driven: every command is answered with why,
 * until the controller goes away (QEMU is then ended too). */
int qdrv_serve_error(struct qdrv *d, int ctl_fd, const char *why);

/* No control channel: waits until QEMU ends. */
int qdrv_idle(struct qdrv *d);

/* Ends QEMU as fast as it can end cleanly: QMP `quit`, or SIGTERM
 * without QMP. With settle (the controller went away: the harness closed
 * the vhost-user channels before the control channel), only once QEMU has
 * handled their close, a crash included (a crash on disconnect must show,
 * not be cut short by our quit), and only with QMP, which tells when. */
void qdrv_end_qemu(struct qdrv *d, bool settle);

#endif
