/* SPDX-License-Identifier: MIT */
/*
 * reffe: the reference vhost-user FRONT-END, as a library.
 *
 * It drives a back-end through the handshake, reserves address space for
 * each shared memory region the back-end advertises, and serves SHMEM_MAP
 * and SHMEM_UNMAP on the back-end channel with every check of digest 6-7
 * and the replies of digest 9. With no fault switched on it is strictly
 * conforming; each fault of fault.h (role frontend) breaks one rule.
 *
 * No main here: vhu-ref-frontend, the unit tests and the fuzzers drive
 * the same handlers. Nothing prints; messages go to cfg.log.
 */
#ifndef VHU_REFFE_H
#define VHU_REFFE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chan.h"
#include "fault.h"
#include "proto.h"
#include "refregion.h"

#define REFFE_MAX_MAPPINGS 128u
#define REFFE_MAX_LEAKED 1024u
#define REFFE_MAX_ANNOUNCE 32u

typedef void (*reffe_log_fn)(void *opaque, const char *msg);

struct reffe_config {
	unsigned shmem_bit;        /* which protocol bit is SHMEM */
	uint64_t pfeat_want;       /* protocol features it is willing to ack */
	bool announce;             /* tell the back-end about new mappings */
	bool lenient;              /* take the other choice where the digest
				      leaves it open, as QEMU (SHMEM v11)
				      does: unknown MMap flag bits ignored, a
				      file shorter than fd_offset+len mapped,
				      the fds an UNMAP carries closed */
	uint64_t guest_mem_size;   /* the memfd "guest RAM" */
	int reply_timeout_ms;      /* wait for a main-channel reply */
	int deadlock_wait_ms;      /* fe_memtable_before_reply: how long it
				      sits on the MAP reply */
	int cancel_fd;             /* -1, or an fd (the program's signalfd)
				      whose readability ends every wait with
				      -ECANCELED (refwait.h) */
	struct fault_set faults;
	reffe_log_fn log;
	void *log_opaque;
	chan_trace_fn trace;
	void *trace_opaque;
};

/* shmem_bit = PROTO_SHMEM_BIT_DEFAULT, every feature the reference
 * knows, announce off, 1 MiB guest RAM, 1000 ms replies, no cancel fd.
 * Every function below that waits returns -ECANCELED (nothing more done)
 * as soon as cfg.cancel_fd is readable. */
void reffe_config_default(struct reffe_config *cfg);
/* The protocol features the reference front-end can use. */
uint64_t reffe_supported_pfeatures(unsigned shmem_bit);

struct reffe_mapping {
	uint8_t shmid;
	bool rw;
	bool mapped;               /* false only for fe_len_zero_accepted */
	uint64_t shm_offset;
	uint64_t len;
	uint64_t fd_offset;
	int fd;                    /* the back-end's fd, taken from its message */
};

enum reffe_announce_kind {
	REFFE_ANNOUNCE_ADD = 0,    /* ADD_MEM_REG */
	REFFE_ANNOUNCE_REM,        /* REM_MEM_REG */
	REFFE_ANNOUNCE_TABLE,      /* SET_MEM_TABLE with what is live */
};

struct reffe_announce {
	enum reffe_announce_kind kind;
	struct proto_mem_region region;
	int fd;                    /* ADD only; -1 otherwise */
};

struct reffe {
	struct reffe_config cfg;
	struct chan main;          /* fd -1 when not connected */
	struct chan backend;       /* our end of the back-end channel */
	uint64_t features;         /* negotiated virtio features */
	uint64_t pfeatures;        /* negotiated protocol features */
	uint64_t pfeatures_offered;
	bool handshake_done;
	bool started;              /* DRIVER_OK sent and not stopped/reset */
	uint8_t status;
	uint32_t shm_nregions;     /* non-zero sizes of the config: QEMU's
				      reading of nregions (digest 8) */
	unsigned max_mem_slots;
	struct reffe_region regions[PROTO_SHMEM_MAX_REGIONS];
	struct reffe_mapping maps[REFFE_MAX_MAPPINGS];
	unsigned nmaps;
	int leaked[REFFE_MAX_LEAKED]; /* fe_fd_leak_on_error keeps them here */
	unsigned nleaked;
	struct reffe_announce announce[REFFE_MAX_ANNOUNCE];
	unsigned nannounce;
	int guest_fd;
	uint8_t *guest_mem;
	int kick_fd;
	int call_fd;
	uint8_t stale[PROTO_MMAP_SIZE]; /* fe_short_payload_stale reads here */
};

void reffe_init(struct reffe *fe, const struct reffe_config *cfg);
/* Closes every fd and unmaps everything. fe can be reffe_init()ed again. */
void reffe_free(struct reffe *fe);

/* Adopts a connected main-channel socket. */
void reffe_attach_main(struct reffe *fe, int fd);
/* Adopts our end of an existing back-end channel (tests, fuzzers). */
void reffe_attach_backend(struct reffe *fe, int fd);
/* Drops the connection: closes both channels, removes every mapping and
 * releases the region reservations (a new connection may advertise
 * other sizes). */
void reffe_disconnect(struct reffe *fe);

/* Negotiated state without a handshake (tests, fuzzers). */
void reffe_set_negotiated(struct reffe *fe, uint64_t features,
			  uint64_t pfeatures);

/* Removes every mapping and closes every kept fd (honours
 * fe_reset_keeps_mappings). */
void reffe_drop_mappings(struct reffe *fe);
/* Removes every mapping but the one equal to *keep (range, rights, fd),
 * whatever the faults: a fuzz rig's base state survives the inputs that
 * left it alone. Returns whether *keep was there to be kept. */
bool reffe_drop_mappings_except(struct reffe *fe,
				const struct reffe_mapping *keep);


bool reffe_connected(const struct reffe *fe);
/* fds kept for live mappings (and leaked by fe_fd_leak_on_error). */
unsigned reffe_kept_fds(const struct reffe *fe);
/* One-line JSON: {"started":..,"negotiated":"0x..","mappings":[..],"fds":N}.
 * Returns the length, or -ENOSPC. */
int reffe_dump(const struct reffe *fe, char *out, size_t cap);

/* ---- for the reference front-end's own modules (reffemain, refshmem,
 *      refannounce): not for programs ---- */

/* Guest-physical address where shared memory regions are announced. */
#define REFFE_SHMEM_GPA_BASE (UINT64_C(1) << 40)
#define REFFE_SHMEM_GPA_STRIDE (UINT64_C(1) << 32)

void reffe_log(const struct reffe *fe, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
bool reffe_fault(const struct reffe *fe, enum fault_id f);
bool reffe_pfeat(const struct reffe *fe, unsigned bit);
bool reffe_shmem_negotiated(const struct reffe *fe);
/* Closes a channel if open; its fd is -1 after. */
void reffe_close_chan(struct chan *c);
/* A chan_status (or -errno) as 0 or -errno. */
int reffe_chan_errno(int st);
/* Removes mapping i (unmapped, fd closed), whatever the faults. */
void reffe_mapping_remove(struct reffe *fe, unsigned i);
void reffe_drop_all(struct reffe *fe);
/* fe_fd_leak_on_error: keeps a dup of the message's first fd. */
void reffe_leak_fd(struct reffe *fe, const struct chan_msg *m);
/* Drops the queued announcements (closing their fds). */
void reffe_announce_clear(struct reffe *fe);
/* Serves the back-end channel while the main channel waits
 * (reffe_service_backend); NULL: it is not served. */
typedef int (*reffe_serve_fn)(struct reffe *fe, int64_t deadline);

#endif
