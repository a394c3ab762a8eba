/* SPDX-License-Identifier: MIT */
/*
 * protoname: the names of requests and feature bits, both ways, for
 * traces, reports and the case language (pure).
 */
#ifndef VHU_PROTONAME_H
#define VHU_PROTONAME_H

#include "proto.h"

/* NULL when unknown. */
const char *proto_req_name(enum proto_chan chan, uint32_t request);
/* Reverse lookup by name, case-insensitive, with or without the
 * VHOST_USER_ / VHOST_USER_BACKEND_ prefix. Returns the id or -1. */
int proto_req_by_name(enum proto_chan chan, const char *name);
/* Protocol feature names; shmem_bit says which bit is SHMEM here. */
const char *proto_pfeat_name(unsigned bit, unsigned shmem_bit);
int proto_pfeat_by_name(const char *name, unsigned shmem_bit);
/* Virtio feature names for the few bits vhost-user defines. */
const char *proto_feat_name(unsigned bit);

#endif
