/* SPDX-License-Identifier: MIT */
/*
 * emitaim: fuzz_shmem_map's aiming (its header documents the anchors),
 * one code for both users: the fuzzer aims the ranges it sends, emitfe
 * makes the case send the same range (at the live mapping, shmid 0
 * 0x10000+0x10000, or at the case's region ends).
 */
#ifndef VHU_FUZZ_EMITAIM_H
#define VHU_FUZZ_EMITAIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The live mapping fuzz_shmem_map's state bit 0x02 (or an aim at it)
 * makes first. */
#define EMITAIM_PREMAP_OFF UINT64_C(0x10000)
#define EMITAIM_PREMAP_LEN UINT64_C(0x10000)

/* Aims a MAP/UNMAP payload (len bytes) in place by its two aim bytes
 * (padding bytes 1 and 2, zeroed), region ends from sizes[shmid].
 * Returns true when the aim names the live mapping. */
bool emitaim_apply(uint8_t *payload, size_t len, uint32_t request,
		   const uint64_t *sizes);

/* A little-endian u32 of the input. */
uint32_t emitaim_u32(const uint8_t *p);

#endif
