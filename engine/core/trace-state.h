/* SPDX-License-Identifier: MIT */
/*
 * The state trace (vessel-run --trace-state FILE): one record of the guest state at every
 * block boundary, for comparing two execution tiers record by record (tools/lockstep).
 *
 * While tracing, every vCPU keeps CPU_REQ_TRACE set in interrupt_request. The vCPU loop
 * ignores that bit, but the interpreter's and the JIT's chaining test
 * `interrupt_request != 0` before entering the next block, so every block returns to the
 * loop, which writes a record before it runs the next one: both tiers then stop at exactly
 * the same boundaries (the blocks the frontend translated) and the records line up.
 *
 * File format (little-endian), read by tools/lockstep:
 *   header  "VSTRACE1", u32 nfields, u32 keyframe interval K, then per field:
 *           u8 name length, name bytes
 *   record  'K' u32 mode, every field as u64                    (every K-th record)
 *           'D' u32 mode, u64 changed-field bitmap words
 *               (ceil(nfields / 64)), then the changed fields as u64, in field order
 *   end     'E' u64 number of records                           (written when closed)
 * The fields are the arch's IR globals (the state generated code reads and writes) and
 * the extra fields the arch lists in VsArchOps.trace_fields (CSRs kept outside the IR).
 */
#ifndef VESSEL_TRACE_STATE_H
#define VESSEL_TRACE_STATE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/cpu.h"
#include "vessel/engine.h"

typedef struct TraceState TraceState;

/* Records between two full-state keyframes. */
#define TRACE_STATE_KEYFRAME 65536

/* Create FILE and write the header; fails with a message naming the file. */
VsStatus trace_state_open(TraceState **out, const char *path, const VsArchOps *arch, VsError *err);
/* Append the record for the block about to run in `mode`. */
void trace_state_record(TraceState *t, VsCpu *cpu, uint32_t mode);
/* Write the end record and close; reports a write error on stderr. NULL is fine. */
void trace_state_close(TraceState *t);

#endif
