/* SPDX-License-Identifier: MIT */
/*
 * chaos_wire: how vhu-chaos sends, wrongly when its plan says so.
 *
 * Every message and control answer of vhu-chaos goes through here, and
 * every one received is counted here (chaos_wire_event), so the plan's
 * trigger counts all traffic and the process acts (chaos_act) happen at
 * the right event whichever side is talking.
 */
#ifndef VHU_CHAOS_WIRE_H
#define VHU_CHAOS_WIRE_H

#include <stdbool.h>
#include <stddef.h>

#include "chan.h"
#include "chaos_mode.h"

/* many-fds sends up to this many, above PROTO_MAX_FDS on purpose. */
#define CHAOS_WIRE_MAX_FDS 16u
#define CHAOS_WIRE_SEND_MS 1000
#define CHAOS_WIRE_SPARES 6u

struct chaos_wire {
	struct chaos_plan *plan;
	const struct chaos_log *log;
	struct chan *main;      /* the channels, for wrong-channel and */
	struct chan *backend;   /* close-mid */
	int *ctl_fd;
	bool closed;            /* close-mid happened */
	int spare[CHAOS_WIRE_SPARES]; /* fds of every kind to attach */
};

void chaos_wire_init(struct chaos_wire *w, struct chaos_plan *plan,
		     const struct chaos_log *log, struct chan *main,
		     struct chan *backend, int *ctl_fd);
void chaos_wire_free(struct chaos_wire *w);

/* Counts a received message or control line; process acts happen here. */
void chaos_wire_event(struct chaos_wire *w);

/* Sends header + payload (len bytes) with fds on c, or not, or twice,
 * or mangled, as the plan says. Returns CHAN_OK (also when the message
 * was dropped on purpose), another enum chan_status, or -errno. */
int chaos_wire_send(struct chaos_wire *w, struct chan *c,
		    const struct proto_hdr *h, const void *payload, size_t len,
		    const int *fds, unsigned nfds);
/* Same, deadline given, never mangled: for the flood. */
int chaos_wire_send_plain(struct chan *c, const struct proto_hdr *h,
			  const void *payload, size_t len, const int *fds,
			  unsigned nfds, int64_t deadline);

/* Writes one control answer line ("ok ..." / "err ..."; the newline is
 * added), or not, or garbage, as the plan says. 0 or -errno. */
int chaos_wire_ctl(struct chaos_wire *w, const char *line);

#endif
