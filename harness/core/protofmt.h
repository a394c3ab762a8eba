/* SPDX-License-Identifier: MIT */
/*
 * protofmt: payloads as text for traces ("shmid=0 fd_offset=0x0 ..."),
 * and the appending printf every trace line is built with (pure).
 */
#ifndef VHU_PROTOFMT_H
#define VHU_PROTOFMT_H

#include "proto.h"
#include <stddef.h>
#include <stdint.h>

/* snprintf that appends at *pos and keeps counting past cap, so the
 * final *pos is the length the whole text would have had (truncation
 * shows as *pos >= cap). */
void proto_appendf(char *out, size_t cap, size_t *pos, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Pretty-prints a decoded payload ("shmid=0 fd_offset=0x0 ..."), or hex
 * when it does not decode. Always NUL-terminates; returns chars that
 * would have been written (snprintf style). The REPLY flag picks the
 * request or reply layout; when that one does not fit the length, the
 * other is tried before hex (a reply that lost its flag). */
int proto_format_payload(enum proto_chan chan, const struct proto_hdr *h,
			 const uint8_t *payload, size_t len, char *out,
			 size_t cap);

#endif
