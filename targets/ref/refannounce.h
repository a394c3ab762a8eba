/* SPDX-License-Identifier: MIT */
/*
 * refannounce: the reference front-end's memory-table announcements of
 * its mappings (cfg.announce): queued after the reply that caused them,
 * sent by reffe_flush_announce; fe_memtable_before_reply sends one
 * before the reply and blocks on it.
 */
#ifndef VHU_REFANNOUNCE_H
#define VHU_REFANNOUNCE_H

#include <stdint.h>

#include "reffe.h"

/* Sends the queued memory-table announcements (always after the replies
 * that caused them), serving the back-end channel while it waits for
 * their replies. 0 or -errno. */
int reffe_flush_announce(struct reffe *fe, int64_t deadline);
/* Queues the announcement of a new (ADD) or removed (REM) mapping. */
void refannounce_push(struct reffe *fe, enum reffe_announce_kind kind,
		      const struct reffe_mapping *mp);
/* fe_memtable_before_reply: announces mp now and waits for the answer. */
void refannounce_blocking(struct reffe *fe, const struct reffe_mapping *mp);
/* Drops the queue (closing its fds). */
void refannounce_clear(struct reffe *fe);

#endif
