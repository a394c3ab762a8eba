/* SPDX-License-Identifier: MIT */
/*
 * The fixture of the monitor's tests (test_monitor, test_monledger,
 * test_monjudge): a monitor fed message by message as the proxy would
 * feed it, every finding emitted kept beside the monitor's own copy.
 */
#ifndef VHU_TEST_MONFX_H
#define VHU_TEST_MONFX_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "monitor.h"
#include "monjudge.h"

#define BIT 22
#define T0 1000

/* Every finding emitted, in order, beside the monitor's own copy. */
struct sink {
	unsigned n;
	char codes[64][40];
};

struct fx {
	struct monitor m;
	struct sink sink;
	int64_t now;
};

__attribute__((unused))
static void emit(void *opaque, const struct monitor_finding *f)
{
	struct sink *s = opaque;

	if (s->n < 64)
		snprintf(s->codes[s->n++], sizeof(s->codes[0]), "%s", f->code);
}

__attribute__((unused))
static struct fx *fx_new(void)
{
	struct fx *x = calloc(1, sizeof(*x));
	struct monitor_cfg cfg = { .shmem_bit = BIT, .reply_timeout_ms = 500,
				   .emit = emit };

	ck_assert_ptr_nonnull(x);
	cfg.opaque = &x->sink;
	monitor_init(&x->m, &cfg, T0);
	x->now = T0;
	return x;
}

__attribute__((unused))
static void feed(struct fx *x, enum proto_chan chan, enum monitor_side from,
		 uint32_t req, uint32_t flags, const void *payload, size_t len,
		 unsigned nfds)
{
	struct monitor_msg msg = {
		.chan = chan, .from = from, .hdr = { req, flags, (uint32_t)len },
		.payload = payload, .payload_len = len, .nfds = nfds,
		.t_ms = ++x->now,
	};

	monjudge_on_msg(&x->m, &msg);
}

/* Front-end request on the main channel. */
__attribute__((unused))
static void fe(struct fx *x, uint32_t req, uint32_t flags, const void *p, size_t len,
	       unsigned nfds)
{
	feed(x, PROTO_CHAN_MAIN, MONITOR_FRONTEND, req, PROTO_VERSION | flags, p, len, nfds);
}

__attribute__((unused))
static void fe_u64(struct fx *x, uint32_t req, uint32_t flags, uint64_t v)
{
	fe(x, req, flags, &v, 8, 0);
}

/* Back-end reply on the main channel. */
__attribute__((unused))
static void be_reply(struct fx *x, uint32_t req, const void *p, size_t len)
{
	feed(x, PROTO_CHAN_MAIN, MONITOR_BACKEND, req, PROTO_VERSION | PROTO_F_REPLY, p,
	     len, 0);
}

__attribute__((unused))
static void be_reply_u64(struct fx *x, uint32_t req, uint64_t v)
{
	be_reply(x, req, &v, 8);
}

__attribute__((unused))
static void config_reply(struct fx *x, uint64_t size0, uint64_t size1)
{
	struct proto_shmem_config c = { .nregions = size1 ? 2 : 1 };
	uint8_t buf[PROTO_SHMEM_CONFIG_SIZE];

	c.memory_sizes[0] = size0;
	c.memory_sizes[1] = size1;
	proto_shmem_config_encode(&c, buf, sizeof(buf));
	be_reply(x, PROTO_GET_SHMEM_CONFIG, buf, sizeof(buf));
}

static const uint64_t PF_ALL = (1ull << PROTO_PF_REPLY_ACK) | (1ull << PROTO_PF_BACKEND_REQ) |
	(1ull << PROTO_PF_BACKEND_SEND_FD) | (1ull << PROTO_PF_RESET_DEVICE) |
	(1ull << PROTO_PF_STATUS);

/* A handshake as a conforming pair does it; shmem: ack the SHMEM bit. */
__attribute__((unused))
static void handshake(struct fx *x, bool shmem, bool config)
{
	uint64_t pf = PF_ALL | (1ull << BIT);

	fe(x, PROTO_GET_FEATURES, 0, NULL, 0, 0);
	be_reply_u64(x, PROTO_GET_FEATURES, 1ull << PROTO_F_PROTOCOL_FEATURES);
	fe_u64(x, PROTO_SET_FEATURES, 0, 1ull << PROTO_F_PROTOCOL_FEATURES);
	fe(x, PROTO_GET_PROTOCOL_FEATURES, 0, NULL, 0, 0);
	be_reply_u64(x, PROTO_GET_PROTOCOL_FEATURES, pf);
	fe_u64(x, PROTO_SET_PROTOCOL_FEATURES, 0, shmem ? pf : pf & ~(1ull << BIT));
	fe(x, PROTO_SET_BACKEND_REQ_FD, PROTO_F_NEED_REPLY, NULL, 0, 1);
	be_reply_u64(x, PROTO_SET_BACKEND_REQ_FD, 0);
	if (shmem && config) {
		fe(x, PROTO_GET_SHMEM_CONFIG, 0, NULL, 0, 0);
		config_reply(x, 0x100000, 0);
	}
	fe_u64(x, PROTO_SET_STATUS, 0, 0xf); /* DRIVER_OK */
}

/* A back-end MAP or UNMAP, then (unless reply < 0) the front-end's reply. */
__attribute__((unused))
static void mmap_req(struct fx *x, bool map, uint64_t off, uint64_t len, int64_t reply)
{
	struct proto_mmap mm = { .shm_offset = off, .len = len,
				 .flags = map ? PROTO_MMAP_F_RW : 0 };
	uint8_t buf[PROTO_MMAP_SIZE];
	uint32_t req = map ? PROTO_BE_SHMEM_MAP : PROTO_BE_SHMEM_UNMAP;
	uint64_t v = (uint64_t)reply;

	proto_mmap_encode(&mm, buf, sizeof(buf));
	feed(x, PROTO_CHAN_BACKEND, MONITOR_BACKEND, req,
	     PROTO_VERSION | PROTO_F_NEED_REPLY, buf, sizeof(buf), map ? 1 : 0);
	if (reply >= 0)
		feed(x, PROTO_CHAN_BACKEND, MONITOR_FRONTEND, req,
		     PROTO_VERSION | PROTO_F_REPLY, &v, 8, 0);
}

__attribute__((unused))
static unsigned count(const struct fx *x, const char *code)
{
	unsigned n = 0;

	for (unsigned i = 0; i < x->m.nfindings; i++)
		n += strcmp(x->m.findings[i].code, code) == 0;
	return n;
}

__attribute__((unused))
static const struct monitor_finding *find(const struct fx *x, const char *code)
{
	for (unsigned i = 0; i < x->m.nfindings; i++)
		if (strcmp(x->m.findings[i].code, code) == 0)
			return &x->m.findings[i];
	return NULL;
}

__attribute__((unused))
static void no_findings(const struct fx *x)
{
	char line[512] = "";

	if (x->m.nfindings)
		monitor_finding_line(&x->m.findings[0], line, sizeof(line));
	ck_assert_msg(x->m.nfindings == 0, "unexpected: %s", line);
}

#endif
