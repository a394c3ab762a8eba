/* SPDX-License-Identifier: MIT */
/*
 * refannounce: the reference front-end's memory-table announcements of
 * its mappings (cfg.announce): queued after the reply that caused them,
 * sent by refannounce_flush (reffe_flush_announce); fe_memtable_before_reply sends one
 * before the reply and blocks on it.
 */
#ifndef VHU_REFANNOUNCE_H
#define VHU_REFANNOUNCE_H

#include <stdint.h>

#include "reffe.h"

/* Queues the announcement of a new (ADD) or removed (REM) mapping. */
void refannounce_push(struct reffe *fe, enum reffe_announce_kind kind,
		      const struct reffe_mapping *mp);
/* fe_memtable_before_reply: announces mp now and waits for the answer. */
void refannounce_blocking(struct reffe *fe, const struct reffe_mapping *mp);
/* Sends the queued announcements (after the replies that caused them),
 * each answer awaited while serve (may be NULL) serves the back-end
 * channel, unless fe_memtable_blocks_backend. 0 or -errno. */
int refannounce_flush(struct reffe *fe, int64_t deadline,
		      reffe_serve_fn serve);

#endif
