/* SPDX-License-Identifier: MIT */
#include "qpci.h"

#include <stdio.h>
#include <string.h>

#define CONFIG_ADDR 0xCF8
#define CONFIG_DATA 0xCFC
#define STATUS_CAP_LIST 0x10
#define CMD_IO 0x1
#define CMD_MEMORY 0x2
#define CMD_MASTER 0x4
#define BAR_IO 0x1
#define BAR_MEM64 0x4
#define NSLOTS 32
#define NFUNCS 8

static uint32_t cfg_addr(unsigned slot, unsigned func, unsigned off)
{
	return 0x80000000u | slot << 11 | func << 8 | (off & 0xFC);
}

static void cfg_read(struct qtio *q, unsigned slot, unsigned func, unsigned off,
		     uint64_t *dst)
{
	qtio_out(q, 4, CONFIG_ADDR, cfg_addr(slot, func, off));
	qtio_in(q, 4, CONFIG_DATA, dst);
}

static void cfg_write(struct qtio *q, const struct qpci_fn *fn, unsigned size,
		      unsigned off, uint64_t value)
{
	qtio_out(q, 4, CONFIG_ADDR, cfg_addr(fn->slot, fn->func, off));
	qtio_out(q, size, CONFIG_DATA + (off & 3), value);
}

uint32_t qpci_cfg(const struct qpci_fn *fn, unsigned off, unsigned size)
{
	uint32_t v = 0;

	for (unsigned i = 0; i < size && off + i < sizeof(fn->cfg); i++)
		v |= (uint32_t)fn->cfg[off + i] << (8 * i);
	return v;
}

/* The capability list from the snapshot, loops cut. */
static void parse_caps(struct qpci_fn *fn)
{
	bool seen[256] = { false };
	unsigned off;

	fn->ncaps = 0;
	if (!(qpci_cfg(fn, QPCI_STATUS, 2) & STATUS_CAP_LIST))
		return;
	off = fn->cfg[QPCI_CAP_PTR] & 0xFC;
	while (off && !seen[off] && fn->ncaps < QPCI_MAX_CAPS) {
		seen[off] = true;
		fn->cap_off[fn->ncaps] = (uint8_t)off;
		fn->cap_id[fn->ncaps++] = fn->cfg[off];
		off = fn->cfg[(off + 1) & 0xFF] & 0xFC;
	}
}

/* The whole config space of fn in one batch. */
static bool snapshot(struct qtio *q, struct qpci_fn *fn)
{
	uint64_t dw[64];

	for (unsigned i = 0; i < 64; i++)
		cfg_read(q, fn->slot, fn->func, 4 * i, &dw[i]);
	if (!qtio_flush(q))
		return false;
	for (unsigned i = 0; i < 64; i++)
		for (unsigned b = 0; b < 4; b++)
			fn->cfg[4 * i + b] = (uint8_t)(dw[i] >> (8 * b));
	parse_caps(fn);
	return true;
}

static bool pick(unsigned slot, unsigned func, uint64_t id,
		 bool (*match)(unsigned, unsigned, unsigned, const void *),
		 const void *arg, struct qpci_fn *fn)
{
	if (!match(id & 0xFFFF, (id >> 16) & 0xFFFF, slot, arg))
		return false;
	memset(fn, 0, sizeof(*fn));
	fn->slot = slot;
	fn->func = func;
	return true;
}

bool qpci_find(struct qtio *q, bool (*match)(unsigned, unsigned, unsigned, const void *),
	       const void *arg, struct qpci_fn *fn, bool *found)
{
	uint64_t id[NSLOTS], hdr[NSLOTS], fid[NSLOTS][NFUNCS];
	bool multi = false;

	*found = false;
	/* batch 1: function 0 of every slot, its ids and header type */
	for (unsigned s = 0; s < NSLOTS; s++) {
		cfg_read(q, s, 0, QPCI_VENDOR_ID, &id[s]);
		cfg_read(q, s, 0, 0x0C, &hdr[s]);
	}
	if (!qtio_flush(q))
		return false;
	/* batch 2: the other functions of multi-function devices */
	for (unsigned s = 0; s < NSLOTS; s++) {
		if ((id[s] & 0xFFFF) == 0xFFFF || !(hdr[s] >> 16 & 0x80))
			continue;
		multi = true;
		for (unsigned f = 1; f < NFUNCS; f++)
			cfg_read(q, s, f, QPCI_VENDOR_ID, &fid[s][f]);
	}
	if (multi && !qtio_flush(q))
		return false;
	for (unsigned s = 0; s < NSLOTS && !*found; s++) {
		if ((id[s] & 0xFFFF) == 0xFFFF)
			continue;
		*found = pick(s, 0, id[s], match, arg, fn);
		if (!(hdr[s] >> 16 & 0x80))
			continue;
		for (unsigned f = 1; f < NFUNCS && !*found; f++)
			if ((fid[s][f] & 0xFFFF) != 0xFFFF)
				*found = pick(s, f, fid[s][f], match, arg, fn);
	}
	if (!*found) {
		snprintf(q->err, sizeof(q->err), "no match");
		return false;
	}
	return snapshot(q, fn);
}

static void decode_bars(struct qpci_fn *fn, const uint64_t *ones)
{
	unsigned i = 0;

	for (unsigned k = 0; k < QPCI_NBARS; k++)
		fn->bar[k] = (struct qpci_bar){ .index = -1 };
	while (i < QPCI_NBARS) {
		uint32_t low = (uint32_t)ones[i];
		struct qpci_bar *b = &fn->bar[i];
		uint64_t mask;

		if (low == 0) {
			i++;
			continue;
		}
		b->index = (int)i;
		if (low & BAR_IO) {
			b->io = true;
			b->size = (~(low & ~0x3u) & 0xFFFFu) + 1;
			i++;
			continue;
		}
		b->is64 = (low & 0x6) == BAR_MEM64 && i + 1 < QPCI_NBARS;
		mask = low & ~0xFu;
		if (b->is64) {
			mask |= (ones[i + 1] & 0xFFFFFFFFu) << 32;
			b->size = ~mask + 1;
		} else {
			b->size = (~mask & 0xFFFFFFFFu) + 1;
		}
		i += b->is64 ? 2 : 1;
	}
}

bool qpci_size_bars(struct qtio *q, struct qpci_fn *fn)
{
	uint64_t ones[QPCI_NBARS];

	/* Every BAR register at once: decoding is off (command 0) until
	 * qpci_assign_bars, so the all-ones values are never mapped. */
	for (unsigned i = 0; i < QPCI_NBARS; i++) {
		unsigned off = QPCI_BAR0 + 4 * i;

		cfg_write(q, fn, 4, off, 0xFFFFFFFFu);
		cfg_read(q, fn->slot, fn->func, off, &ones[i]);
		cfg_write(q, fn, 4, off, qpci_cfg(fn, off, 4));
	}
	if (!qtio_flush(q))
		return false;
	decode_bars(fn, ones);
	return true;
}

struct window {
	uint64_t next, end;
};

static bool take(struct window *w, uint64_t size, uint64_t *base)
{
	uint64_t b = (w->next + size - 1) & ~(size - 1);

	/* sizes up to 2^63 must not wrap around the window's end */
	if (size == 0 || b < w->next || b > w->end || size > w->end - b)
		return false;
	w->next = b + size;
	*base = b;
	return true;
}

void qpci_assign_bars(struct qtio *q, struct qpci_fn *fn, unsigned leave)
{
	/* the pc machine's PCI hole below the IOAPIC, a 64-bit window above
	 * 4 GiB for what does not fit, and the I/O port window */
	struct window mmio32 = { 0xE0000000u, 0xFEC00000u };
	struct window mmio64 = { 1ull << 32, (1ull << 32) + (1ull << 40) };
	struct window io = { 0xC000, 0x10000 };
	struct qpci_bar *order[QPCI_NBARS];
	unsigned n = 0;
	uint32_t cmd;
	bool any_io = false;

	for (unsigned i = 0; i < QPCI_NBARS; i++)
		if (fn->bar[i].index >= 0)
			order[n++] = &fn->bar[i];
	/* largest first, so alignment wastes little; ties by index */
	for (unsigned i = 1; i < n; i++)
		for (unsigned j = i; j > 0 && order[j]->size > order[j - 1]->size; j--) {
			struct qpci_bar *t = order[j];

			order[j] = order[j - 1];
			order[j - 1] = t;
		}
	for (unsigned k = 0; k < n; k++) {
		struct qpci_bar *b = order[k];
		unsigned off = QPCI_BAR0 + 4 * (unsigned)b->index;

		any_io |= b->io;
		if (leave & 1u << b->index)
			continue;
		b->assigned = take(b->io ? &io : &mmio32, b->size, &b->address);
		if (!b->assigned && b->is64)
			b->assigned = take(&mmio64, b->size, &b->address);
		if (!b->assigned)
			continue;
		cfg_write(q, fn, 4, off, b->address & 0xFFFFFFFFu);
		if (b->is64)
			cfg_write(q, fn, 4, off + 4, b->address >> 32);
	}
	cmd = qpci_cfg(fn, QPCI_COMMAND, 2) | CMD_MEMORY | CMD_MASTER;
	if (any_io)
		cmd |= CMD_IO;
	cfg_write(q, fn, 2, QPCI_COMMAND, cmd);
}
