/* SPDX-License-Identifier: MIT */
/*
 * chaos_peer: the state vhu-chaos keeps as a vhost-user peer, and what
 * both of its personalities (chaos_be: a back-end, chaos_fe: a
 * front-end) share. A personality is plausible enough to get a case to
 * its interesting part; everything it sends goes through chaos_wire,
 * which is where it stops being plausible.
 */
#ifndef VHU_CHAOS_PEER_H
#define VHU_CHAOS_PEER_H

#include <stdbool.h>
#include <stdint.h>

#include "chan.h"
#include "chaos_mode.h"
#include "chaos_wire.h"
#include "ctl.h"

#define CHAOS_PEER_MAX_MAPS 64u
#define CHAOS_PEER_REPLY_MS 2000
/* The one shared memory region a chaos back-end advertises. */
#define CHAOS_PEER_REGION_SIZE 0x100000u
#define CHAOS_PEER_GUEST_MEM 0x100000u
#define VHOST_F_VERSION_1 32

struct chaos_map {
	uint8_t shmid;
	uint64_t shm_offset, len;
	void *addr;
};

struct chaos_peer {
	struct chaos_plan plan;
	struct chaos_log log;
	struct chaos_wire wire;
	struct chan main;
	struct chan backend;
	struct ctl_reader ctl;
	const char *socket_path;   /* front-end: for `reconnect` */
	unsigned shmem_bit;
	uint64_t pfeat_offer;      /* what this peer supports */
	uint64_t features;         /* negotiated virtio features */
	uint64_t pfeat;            /* negotiated protocol features */
	uint64_t status;
	bool quit;                 /* `quit` asked for the end */
	int ctl_version;           /* control protocol: 1, or 2 after `version` */
	unsigned answers_due;      /* v2: map/unmap answered at their reply */
	/* front-end: the back-end's region sizes and our live mappings */
	uint64_t region_size[PROTO_SHMEM_MAX_REGIONS];
	unsigned nmaps;
	struct chaos_map maps[CHAOS_PEER_MAX_MAPS];
	int guest_mem_fd;
};

void chaos_peer_init(struct chaos_peer *p, enum chaos_mode mode,
		     uint64_t seed, unsigned shmem_bit);
void chaos_peer_free(struct chaos_peer *p);

/* The protocol features vhu-chaos supports with SHMEM at shmem_bit. */
uint64_t chaos_peer_supported(unsigned shmem_bit);
/* `version N` (docs/control.md): answers `ok version=2` (or N when
 * lower) and keeps it. */
void chaos_peer_on_version(struct chaos_peer *p, const struct ctl_cmd *cmd);
bool chaos_peer_has(const struct chaos_peer *p, unsigned pfeat_bit);

__attribute__((format(printf, 2, 3)))
void chaos_peer_say(const struct chaos_peer *p, const char *fmt, ...);

/* A request (flags: PROTO_F_NEED_REPLY or 0) or a reply, through the
 * wire. CHAN_OK or another status / -errno. */
int chaos_peer_request(struct chaos_peer *p, struct chan *c, uint32_t req,
		       uint32_t flags, const void *payload, size_t len,
		       const int *fds, unsigned nfds);
int chaos_peer_reply(struct chaos_peer *p, struct chan *c, uint32_t req,
		     const void *payload, size_t len);
int chaos_peer_reply_u64(struct chaos_peer *p, struct chan *c, uint32_t req,
			 uint64_t v);

/* Receives one message on c (deadline in ms from now), counting it as
 * an event. CHAN_OK or another status; the channel is closed on any
 * status that loses the stream (EOF, reset, truncation, too big). */
int chaos_peer_recv(struct chaos_peer *p, struct chan *c,
		    struct chan_msg *m, int ms);

/* Control answers, through the wire. */
void chaos_peer_ok(struct chaos_peer *p, const char *text);
void chaos_peer_err(struct chaos_peer *p, const char *text);

/* A memfd of size bytes (clamped to 64 MiB), or -errno. */
int chaos_peer_memfd(const char *name, uint64_t size);

#endif
