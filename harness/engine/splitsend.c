/* SPDX-License-Identifier: MIT */
#include "splitsend.h"

#include <errno.h>
#include <string.h>

#include "chan.h"
#include "run.h"
#include "session.h"

#define SPLIT_MAX_PAYLOAD 8192u

int splitsend_msg(struct run *x, enum script_chan c, const struct proto_hdr *h,
		  const uint8_t *payload, size_t len, const int *fds,
		  unsigned nfds, uint32_t split, uint32_t pause_ms)
{
	uint8_t buf[PROTO_HDR_SIZE + SPLIT_MAX_PAYLOAD];
	size_t total = PROTO_HDR_SIZE + len;
	int rc;

	if (len > SPLIT_MAX_PAYLOAD)
		return -EMSGSIZE;
	proto_hdr_encode(h, buf, sizeof(buf));
	memcpy(buf + PROTO_HDR_SIZE, payload, len);
	if (split >= total)
		return sess_send_raw(&x->s, c, buf, total, fds, nfds);
	rc = sess_send_raw(&x->s, c, buf, split, fds, nfds);
	if (rc != CHAN_OK)
		return rc;
	sess_note(&x->s, "sent %u of the %zu bytes; the rest after %u ms",
		  split, total, pause_ms);
	if (!run_wait_ok(x, sess_pump(&x->s, chan_now_ms() + (int64_t)pause_ms,
				      NULL, NULL)))
		return -ECANCELED;
	return sess_send_raw(&x->s, c, buf + split, total - split, NULL, 0);
}
