/* SPDX-License-Identifier: MIT */
/* qvirtio: a virtio-pci modern driver, just enough to bring a device to
 * DRIVER_OK: the vendor capabilities, reset, ACKNOWLEDGE, DRIVER,
 * features, FEATURES_OK, queue set-up, DRIVER_OK (virtio 1.2, 4.1.4 and
 * 3.1.1). No interrupts, no kicks: the queues exist so that a vhost-user
 * front-end starts its back-end; nothing is ever put on them. Writes go
 * out with the next read (qtio batches), in the order the spec gives. */
#ifndef VHU_QVIRTIO_H
#define VHU_QVIRTIO_H

#include <stdbool.h>
#include <stdint.h>

#include "qpci.h"
#include "qtio.h"

#define QVIRTIO_VENDOR 0x1AF4
#define QVIRTIO_MAX_SHM 16

enum {
	QVIRTIO_ACKNOWLEDGE = 1, QVIRTIO_DRIVER = 2, QVIRTIO_DRIVER_OK = 4,
	QVIRTIO_FEATURES_OK = 8, QVIRTIO_NEEDS_RESET = 0x40, QVIRTIO_FAILED = 0x80,
};

struct qvirtio_shm {
	unsigned shmid, bar;
	uint64_t offset, length;
};

struct qvirtio {
	struct qtio *q;
	struct qpci_fn *fn;
	uint64_t common;        /* guest-physical address of the common cfg */
	uint64_t offered, negotiated;
	unsigned num_queues;
	unsigned nshm;
	struct qvirtio_shm shm[QVIRTIO_MAX_SHM];
};

/* Bitmask of the BARs that hold shared memory regions. */
unsigned qvirtio_shm_bars(const struct qpci_fn *fn);

/* Reads the capabilities of fn (its BARs assigned). False, why in why. */
bool qvirtio_open(struct qvirtio *d, struct qtio *q, struct qpci_fn *fn,
		  char *why, size_t cap);

/* The device status register (one round trip). */
bool qvirtio_status(struct qvirtio *d, uint8_t *status, char *why, size_t cap);

/* Writes 0 and waits (bounded) for the device to read back 0. */
bool qvirtio_reset(struct qvirtio *d, char *why, size_t cap);

/* Reset to DRIVER_OK accepting VERSION_1 and the wanted features the
 * device offers; *enabled is the number of queues set up. */
bool qvirtio_initialise(struct qvirtio *d, uint64_t wanted, uint64_t ring_base,
			unsigned *enabled, char *why, size_t cap);

#endif
