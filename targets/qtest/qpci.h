/* SPDX-License-Identifier: MIT */
/* qpci: PCI configuration space through the PC's 0xcf8/0xcfc ports, as a
 * guest's firmware and kernel use it before a driver touches a device:
 * enumeration of bus 0, BAR sizing and assignment, the capability list.
 * Everything that can go out in one qtest batch does: the whole bus is
 * probed in two round trips, a function's config space read once. */
#ifndef VHU_QPCI_H
#define VHU_QPCI_H

#include <stdbool.h>
#include <stdint.h>

#include "qtio.h"

#define QPCI_NBARS 6
#define QPCI_MAX_CAPS 48

enum {
	QPCI_VENDOR_ID = 0x00, QPCI_DEVICE_ID = 0x02, QPCI_COMMAND = 0x04,
	QPCI_STATUS = 0x06, QPCI_HEADER_TYPE = 0x0E, QPCI_BAR0 = 0x10,
	QPCI_CAP_PTR = 0x34,
};

struct qpci_bar {
	int index;              /* -1: no BAR here */
	uint64_t size;
	bool io, is64;
	bool assigned;          /* false: did not fit, or left at 0 on purpose */
	uint64_t address;
};

struct qpci_fn {
	unsigned slot, func;
	uint8_t cfg[256];       /* config space as read once after discovery */
	struct qpci_bar bar[QPCI_NBARS];        /* by index */
	unsigned ncaps;
	uint8_t cap_off[QPCI_MAX_CAPS], cap_id[QPCI_MAX_CAPS];
};

/* The first function on bus 0 (slot order, then function order) whose
 * vendor/device pass match(vendor, device_id, slot, arg); its config
 * space and capability list are filled in. False with why (q->err when
 * qtest failed, else "no match"): *found says which. */
bool qpci_find(struct qtio *q, bool (*match)(unsigned vendor, unsigned device,
					     unsigned slot, const void *arg),
	       const void *arg, struct qpci_fn *fn, bool *found);

/* Sizes the six BARs (all ones written, read back, the value restored). */
bool qpci_size_bars(struct qtio *q, struct qpci_fn *fn);

/* Places each BAR (largest first) in the pc machine's windows, except the
 * BARs whose bit is set in leave (they stay at 0: not mapped), then
 * enables I/O, memory decoding and bus mastering. Queued, not flushed. */
void qpci_assign_bars(struct qtio *q, struct qpci_fn *fn, unsigned leave);

/* Little-endian reads of the config snapshot. */
uint32_t qpci_cfg(const struct qpci_fn *fn, unsigned off, unsigned size);

#endif
