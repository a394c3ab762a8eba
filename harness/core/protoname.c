/* SPDX-License-Identifier: MIT */
/*
 * protoname: request and feature names. See protoname.h.
 * Names come from proto's request tables, so they cannot drift from
 * the layouts.
 */
#include "protoname.h"

#include <ctype.h>
#include <stddef.h>
#include <string.h>

const char *proto_req_name(enum proto_chan chan, uint32_t request)
{
	const struct proto_reqinfo *ri = proto_req_info(chan, request);

	return ri ? ri->name : NULL;
}

/* Case-insensitive prefix test; '-' matches '_' so "shmem-map" works. */
static size_t name_prefix(const char *s, const char *prefix)
{
	size_t i;

	for (i = 0; prefix[i]; i++) {
		int a = s[i] == '-' ? '_' : toupper((unsigned char)s[i]);

		if (a != prefix[i])
			return 0;
	}
	return i;
}

static bool name_eq(const char *s, const char *canon)
{
	size_t n = name_prefix(s, canon);

	return n == strlen(canon) && s[n] == '\0';
}

/* Strips the first prefix of the list that matches. */
static const char *strip_prefix(const char *s, const char *const *prefixes)
{
	for (; *prefixes; prefixes++) {
		size_t n = name_prefix(s, *prefixes);

		if (n && s[n])
			return s + n;
	}
	return s;
}

int proto_req_by_name(enum proto_chan chan, const char *name)
{
	static const char *const be_pfx[] = { "VHOST_USER_BACKEND_",
		"VHOST_USER_SLAVE_", "VHOST_USER_", "BACKEND_", NULL };
	static const char *const fe_pfx[] = { "VHOST_USER_", NULL };
	uint32_t max = chan == PROTO_CHAN_BACKEND ? PROTO_BE_REQ_MAX
						  : PROTO_FE_REQ_MAX;
	const char *bare;

	if (!name)
		return -1;
	bare = strip_prefix(name, chan == PROTO_CHAN_BACKEND ? be_pfx : fe_pfx);
	for (uint32_t id = 1; id <= max; id++) {
		const char *n = proto_req_name(chan, id);

		if (n && (name_eq(bare, n) || name_eq(name, n)))
			return (int)id;
	}
	return -1;
}

static const char *const pfeat_names[] = {
	"MQ", "LOG_SHMFD", "RARP", "REPLY_ACK", "MTU", "BACKEND_REQ",
	"CROSS_ENDIAN", "CRYPTO_SESSION", "PAGEFAULT", "CONFIG",
	"BACKEND_SEND_FD", "HOST_NOTIFIER", "INFLIGHT_SHMFD", "RESET_DEVICE",
	"INBAND_NOTIFICATIONS", "CONFIGURE_MEM_SLOTS", "STATUS", "XEN_MMAP",
	"SHARED_OBJECT", "DEVICE_STATE",
};
#define N_PFEAT (sizeof(pfeat_names) / sizeof(pfeat_names[0]))
_Static_assert(N_PFEAT == PROTO_PF_DEVICE_STATE + 1, "pfeat table");

/* Bits 20 and 21 belong to features this digest does not name (digest 2)
 * unless shmem_bit points at them. */
const char *proto_pfeat_name(unsigned bit, unsigned shmem_bit)
{
	if (bit == shmem_bit)
		return "SHMEM";
	return bit < N_PFEAT ? pfeat_names[bit] : NULL;
}

int proto_pfeat_by_name(const char *name, unsigned shmem_bit)
{
	static const char *const pfx[] = { "VHOST_USER_PROTOCOL_F_",
		"PROTOCOL_F_", NULL };
	const char *bare;

	if (!name)
		return -1;
	bare = strip_prefix(name, pfx);
	if (name_eq(bare, "SHMEM"))
		return shmem_bit < 64 ? (int)shmem_bit : -1;
	/* The old names of the back-end features, as older code spells them. */
	if (name_eq(bare, "SLAVE_REQ"))
		return PROTO_PF_BACKEND_REQ;
	if (name_eq(bare, "SLAVE_SEND_FD"))
		return PROTO_PF_BACKEND_SEND_FD;
	for (unsigned i = 0; i < N_PFEAT; i++)
		if (i != shmem_bit && name_eq(bare, pfeat_names[i]))
			return (int)i;
	return -1;
}

const char *proto_feat_name(unsigned bit)
{
	switch (bit) {
	case 24: return "NOTIFY_ON_EMPTY";
	case 26: return "LOG_ALL";
	case 27: return "ANY_LAYOUT";
	case 28: return "RING_INDIRECT_DESC";
	case 29: return "RING_EVENT_IDX";
	case PROTO_F_PROTOCOL_FEATURES: return "PROTOCOL_FEATURES";
	case 32: return "VERSION_1";
	case 33: return "ACCESS_PLATFORM";
	case 34: return "RING_PACKED";
	case 35: return "IN_ORDER";
	case 36: return "ORDER_PLATFORM";
	}
	return NULL;
}
