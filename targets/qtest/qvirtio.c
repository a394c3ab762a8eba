/* SPDX-License-Identifier: MIT */
#include "qvirtio.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define CAP_VNDR 0x09
#define CFG_COMMON 1
#define CFG_SHM 8
#define F_VERSION_1 (1ull << 32)
#define NO_VECTOR 0xFFFF
#define MAX_QUEUES 64
#define QUEUE_STRIDE 0x10000u   /* guest memory per queue: desc + avail + used */
#define RESET_POLLS 1000

/* common configuration structure offsets */
enum {
	DFSELECT = 0, DF = 4, GFSELECT = 8, GF = 12, MSIX_CONFIG = 16,
	NUM_QUEUES = 18, STATUS = 20, Q_SELECT = 22, Q_SIZE = 24, Q_MSIX = 26,
	Q_ENABLE = 28, Q_DESC = 32, Q_DRIVER = 40, Q_DEVICE = 48,
};

static bool say(char *why, size_t cap, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static bool say(char *why, size_t cap, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, cap, fmt, ap);
	va_end(ap);
	return false;
}

static bool flushed(struct qvirtio *d, char *why, size_t cap)
{
	return qtio_flush(d->q) || say(why, cap, "%s", d->q->err);
}

unsigned qvirtio_shm_bars(const struct qpci_fn *fn)
{
	unsigned mask = 0;

	for (unsigned i = 0; i < fn->ncaps; i++) {
		unsigned off = fn->cap_off[i];

		if (fn->cap_id[i] == CAP_VNDR && fn->cfg[off + 3] == CFG_SHM &&
		    fn->cfg[off + 4] < 32)
			mask |= 1u << fn->cfg[off + 4];
	}
	return mask;
}

bool qvirtio_open(struct qvirtio *d, struct qtio *q, struct qpci_fn *fn,
		  char *why, size_t cap)
{
	bool have_common = false;

	memset(d, 0, sizeof(*d));
	d->q = q;
	d->fn = fn;
	for (unsigned i = 0; i < fn->ncaps; i++) {
		unsigned off = fn->cap_off[i], type = fn->cfg[off + 3], bar = fn->cfg[off + 4];

		if (fn->cap_id[i] != CAP_VNDR)
			continue;
		if (type == CFG_COMMON && !have_common) {
			const struct qpci_bar *b = bar < QPCI_NBARS ? &fn->bar[bar] : NULL;

			if (!b || b->index < 0 || !b->assigned || b->io)
				return say(why, cap, "common configuration capability in BAR "
					   "%u, which is not a mapped memory BAR", bar);
			d->common = b->address + qpci_cfg(fn, off + 8, 4);
			have_common = true;
		} else if (type == CFG_SHM && d->nshm < QVIRTIO_MAX_SHM) {
			struct qvirtio_shm *s = &d->shm[d->nshm++];

			s->shmid = fn->cfg[off + 5];
			s->bar = bar;
			s->offset = qpci_cfg(fn, off + 8, 4) |
				    (uint64_t)qpci_cfg(fn, off + 16, 4) << 32;
			s->length = qpci_cfg(fn, off + 12, 4) |
				    (uint64_t)qpci_cfg(fn, off + 20, 4) << 32;
		}
	}
	if (!have_common)
		return say(why, cap, "00:%02x.%u: no common configuration capability (not "
			   "a virtio 1.0 modern device?)", fn->slot, fn->func);
	return true;
}

static void w(struct qvirtio *d, unsigned size, unsigned off, uint64_t value)
{
	qtio_write(d->q, size, d->common + off, value);
}

static void r(struct qvirtio *d, unsigned size, unsigned off, uint64_t *dst)
{
	qtio_read(d->q, size, d->common + off, dst);
}

bool qvirtio_status(struct qvirtio *d, uint8_t *status, char *why, size_t cap)
{
	uint64_t v = 0;

	r(d, 1, STATUS, &v);
	if (!flushed(d, why, cap))
		return false;
	*status = (uint8_t)v;
	return true;
}

bool qvirtio_reset(struct qvirtio *d, char *why, size_t cap)
{
	w(d, 1, STATUS, 0);
	for (unsigned i = 0; i < RESET_POLLS; i++) {
		uint8_t st;

		if (!qvirtio_status(d, &st, why, cap))
			return false;
		if (st == 0)
			return true;
	}
	return say(why, cap, "the device did not complete reset (status never read 0)");
}

static bool features(struct qvirtio *d, uint64_t wanted, char *why, size_t cap)
{
	uint64_t half[2] = { 0, 0 }, accept;

	for (unsigned sel = 0; sel < 2; sel++) {
		w(d, 4, DFSELECT, sel);
		r(d, 4, DF, &half[sel]);
	}
	if (!flushed(d, why, cap))
		return false;
	d->offered = (half[0] & 0xFFFFFFFFu) | (half[1] & 0xFFFFFFFFu) << 32;
	if (!(d->offered & F_VERSION_1))
		return say(why, cap, "the device does not offer VERSION_1 (features 0x%" PRIx64
			   ")", d->offered);
	accept = d->offered & (wanted | F_VERSION_1);
	for (unsigned sel = 0; sel < 2; sel++) {
		w(d, 4, GFSELECT, sel);
		w(d, 4, GF, (accept >> (32 * sel)) & 0xFFFFFFFFu);
	}
	d->negotiated = accept;
	return true;
}

/* Queue set-up, once every queue's size is known; *enabled counts them. */
static bool queues(struct qvirtio *d, uint64_t ring_base, unsigned *enabled,
		   char *why, size_t cap)
{
	uint64_t size[MAX_QUEUES];

	for (unsigned i = 0; i < d->num_queues; i++) {
		w(d, 2, Q_SELECT, i);
		r(d, 2, Q_SIZE, &size[i]);
	}
	if (!flushed(d, why, cap))
		return false;
	*enabled = 0;
	for (unsigned i = 0; i < d->num_queues; i++) {
		uint64_t base = ring_base + (uint64_t)i * QUEUE_STRIDE, n = size[i] & 0xFFFF;
		uint64_t desc = base, avail = base + 16 * n;
		uint64_t used = (avail + 6 + 2 * n + 4095) & ~4095ull;
		const uint64_t addr[3][2] = { { Q_DESC, desc }, { Q_DRIVER, avail },
					      { Q_DEVICE, used } };

		if (n == 0)
			continue;
		if (used + 6 + 8 * n > base + QUEUE_STRIDE)
			return say(why, cap, "queue %u: size %" PRIu64 " does not fit 0x%x bytes",
				   i, n, QUEUE_STRIDE);
		w(d, 2, Q_SELECT, i);
		qtio_memset(d->q, base, QUEUE_STRIDE, 0);
		w(d, 2, Q_MSIX, NO_VECTOR);
		for (unsigned k = 0; k < 3; k++) {
			w(d, 4, (unsigned)addr[k][0], addr[k][1] & 0xFFFFFFFFu);
			w(d, 4, (unsigned)addr[k][0] + 4, addr[k][1] >> 32);
		}
		w(d, 2, Q_ENABLE, 1);
		++*enabled;
	}
	return true;
}

bool qvirtio_initialise(struct qvirtio *d, uint64_t wanted, uint64_t ring_base,
			unsigned *enabled, char *why, size_t cap)
{
	uint64_t nq = 0;
	uint8_t st;

	if (!qvirtio_reset(d, why, cap))
		return false;
	/* status read back 0: each step adds its bit to what was written */
	w(d, 1, STATUS, QVIRTIO_ACKNOWLEDGE);
	w(d, 1, STATUS, QVIRTIO_ACKNOWLEDGE | QVIRTIO_DRIVER);
	if (!features(d, wanted, why, cap))
		return false;
	w(d, 1, STATUS, QVIRTIO_ACKNOWLEDGE | QVIRTIO_DRIVER | QVIRTIO_FEATURES_OK);
	if (!qvirtio_status(d, &st, why, cap))
		return false;
	if (!(st & QVIRTIO_FEATURES_OK))
		return say(why, cap, "the device refused features 0x%" PRIx64 " (FEATURES_OK "
			   "did not stick)", d->negotiated);
	w(d, 2, MSIX_CONFIG, NO_VECTOR);
	r(d, 2, NUM_QUEUES, &nq);
	if (!flushed(d, why, cap))
		return false;
	d->num_queues = (nq & 0xFFFF) < MAX_QUEUES ? (unsigned)(nq & 0xFFFF) : MAX_QUEUES;
	if (!queues(d, ring_base, enabled, why, cap))
		return false;
	w(d, 1, STATUS, st | QVIRTIO_DRIVER_OK);
	if (!qvirtio_status(d, &st, why, cap))
		return false;
	if (st & (QVIRTIO_NEEDS_RESET | QVIRTIO_FAILED) || !(st & QVIRTIO_DRIVER_OK))
		return say(why, cap, "status 0x%02x after DRIVER_OK", st);
	return true;
}
