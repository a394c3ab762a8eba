/* SPDX-License-Identifier: MIT */
/*
 * ferig: the reference front-end (targets/ref/reffe) rigged in process
 * for fuzzing, the fuzzer playing the back-end.
 *
 * Made once: the handler state, a real socketpair as the back-end
 * channel (optionally another as the main channel), the fd pool, the
 * shadow model and two probe fds. Per message: the bytes and the chosen
 * fds go through sendmsg() to the reference, which handles them with its
 * own code path (reffe_service_backend), then the reply is read back and
 * everything is compared with the model. Any disagreement is a finding.
 */
#ifndef VHU_FUZZ_FERIG_H
#define VHU_FUZZ_FERIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chan.h"
#include "fuzzpool.h"
#include "reffe.h"
#include "shadow.h"

struct ferig {
	struct reffe fe;
	struct fuzzpool pool;
	struct shadow model;
	struct chan peer;   /* our end of the back-end channel */
	int main_peer;      /* our end of the main channel, or -1 */
	int zero_fd;        /* /dev/zero: read() into a page probes writes */
	int probe[2];       /* a pipe: write() from a page probes reads */
	uint64_t pf_all;    /* protocol features with everything on */
	uint64_t default_sizes[PROTO_SHMEM_MAX_REGIONS];
	bool custom_regions; /* a config step changed the regions */
	unsigned nmsg;      /* back-end messages sent this input: findings
			       about a reply name theirs (reproducers) */
	/* The base state (ferig_set_base): one live mapping every input
	 * starts from, kept between inputs that cannot have touched it. */
	bool has_base;
	bool base_live;     /* made, and nothing may have touched it since */
	struct proto_mmap base_mm;
	unsigned base_fd_choice;
	struct reffe_mapping base;  /* the front-end's record of it */
	struct shadow base_model;   /* the model right after it was made */
	char err[256];      /* why the last set-up call failed */
};

/* with_main: also give the reference a main channel, which lets the rig
 * see memory-table traffic sent while a back-end request is handled.
 * Faults come from VHU_FAULTS (role frontend). 0 or -errno with r->err. */
int ferig_init(struct ferig *r, bool with_main);
void ferig_free(struct ferig *r);
/* A heap rig through ferig_init, for a fuzzer's fuzz_init: the rig, or
 * NULL with the reason in err. ferig_delete frees what it made. */
struct ferig *ferig_new(bool with_main, char *err, size_t errcap);
void ferig_delete(struct ferig *r);

/* The default regions: shmid 0 1 MiB, 1 64 KiB, 3 2 MiB (2 is size 0). */
void ferig_default_sizes(uint64_t sizes[PROTO_SHMEM_MAX_REGIONS]);

/* Between inputs: every mapping, kept fd and stale byte gone whatever
 * the faults, everything negotiated, the device started, the default
 * regions in place. Cheap: no region is re-reserved. With a base, its
 * mapping stays when the input left it alone, else it is made again
 * here, so the cost and coverage of that belong to the input that
 * touched it (AFL++ stability). */
void ferig_reset_input(struct ferig *r);

/* Makes the base: the MAP mm (fds of pool choice fd_choice), sent as a
 * message with the faults off (it is the rig's set-up, not the thing
 * under test), then kept across inputs. Spares the inputs that need a
 * live mapping a MAP round trip and an mmap pair each. */
void ferig_set_base(struct ferig *r, const struct proto_mmap *mm,
		    unsigned fd_choice);

void ferig_negotiate(struct ferig *r, bool shmem, bool reply_ack);
void ferig_start(struct ferig *r);
void ferig_stop(struct ferig *r);
/* Device reset as a step: the reference's reset (faults included), then
 * "nothing left" is checked. */
void ferig_device_reset(struct ferig *r);

/* The front-end receives a GET_SHMEM_CONFIG reply. hdr_flags and size
 * are sent as given (0x5 and 2056 for a well-formed one). */
void ferig_shmem_config(struct ferig *r, const uint64_t *sizes,
			uint32_t nregions, uint32_t hdr_flags, uint32_t size);

/* One back-end channel message: header as given, len payload bytes, the
 * fds of pool choice fd_choice. Returns false when nothing could be sent
 * (the closed-fd choice), true otherwise. */
bool ferig_backend_msg(struct ferig *r, const struct proto_hdr *h,
		       const uint8_t *payload, size_t len, unsigned fd_choice);

/* Every invariant against the reference's state (done after each step;
 * exposed for the sequence fuzzer's final check). */
void ferig_check(struct ferig *r);

#endif
