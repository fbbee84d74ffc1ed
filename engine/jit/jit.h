/* SPDX-License-Identifier: MIT */
/*
 * The JIT tier: IR -> x86-64 machine code, one host function per block.
 *
 * A compiled block is called as `int code(VsCpu *cpu)` and returns what interp_exec would:
 * INTERP_RET_EXIT_BASE + IrExitCode for an EXIT op, INTERP_RET_LOOKUP after a
 * goto_block/goto_ptr (the pc global is set). jit_run is the tiered executor: it runs a
 * block's generated code when it has some, compiles it once it is hot, and otherwise runs
 * the interpreter, following exits through the vCPU's jump cache like interp_exec does.
 * See docs/JIT.md for the design.
 */
#ifndef VESSEL_JIT_H
#define VESSEL_JIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ir/ir.h"

typedef struct VsCpu VsCpu;
typedef struct VsBlock VsBlock;
typedef struct JitState JitState;

/* One entry of a block's host-PC -> guest-PC map (one per insn_start). */
typedef struct JitPcMap {
    uint32_t host_off; /* offset of the insn's first host instruction in the block's code */
    uint32_t pad;
    uint64_t pc;
} JitPcMap;

/*
 * A direct exit (goto_block to a pc in the block's own guest page): `jmp rel32` whose
 * displacement, 4-byte aligned, is patched atomically to the target block's code once
 * jit_run has found it, and set back to the exit's stub when either block is
 * invalidated. While unlinked the jmp goes to the stub, which stores the pc, leaves this
 * link in cpu->jit_link and returns to jit_run.
 */
typedef struct JitLink {
    VsBlock *src;
    VsBlock *dst;            /* NULL while unlinked */
    struct JitLink *next_in; /* in dst->jit_in */
    uint64_t pc;             /* the target's guest pc */
    uint32_t jmp_off;        /* offset of the jmp's rel32 in src's code */
    uint32_t stub_off;       /* offset of the stub */
} JitLink;

typedef struct JitStats {
    uint64_t blocks;     /* blocks compiled */
    uint64_t failed;     /* blocks the JIT could not compile (they run interpreted) */
    uint64_t code_bytes; /* bytes of host code and maps generated */
    uint64_t compile_ns;
    uint64_t flushes;       /* full code cache flushes */
    uint64_t regions;       /* hot blocks compiled with the blocks that follow them */
    uint64_t region_blocks; /* blocks in those regions */
    uint64_t links;         /* direct jumps patched to another block's code */
    uint64_t unlinks;       /* ... and set back (invalidated blocks) */
    uint64_t cache_size;
} JitStats;

/* cache_bytes: size of the code cache (0: the default, 256 MiB); profile: generated code
 * counts block runs (VsBlock.exec_count, the vCPU's blocks_executed) for --stats, which
 * it does not otherwise. NULL on failure. */
JitState *jit_create(size_t cache_bytes, bool profile);
void jit_destroy(JitState *js);
/* True if the host can run generated code (x86-64 with the instructions the JIT uses). */
bool jit_host_supported(void);

/* --accel auto's threshold when none is given: a block is compiled after this many runs
 * (the tiered tests run with 20). */
#define JIT_AUTO_THRESHOLD 32

/*
 * Compile f, the optimised IR of block b, and attach the code to b. Thread-safe; if b
 * already has code, nothing happens. Returns false when the block cannot be compiled
 * (b->jit_failed is set: it stays interpreted) or when the cache is full (then
 * jit_wants_flush() is true and the caller arranges a flush).
 */
bool jit_compile(JitState *js, VsBlock *b, const IrFunc *f);
/*
 * Compile f, a region of n blocks, as the code of block b (b->vpc is pcs[0]): label i
 * (0..n-1) of f starts the block at pcs[i] with ninsns[i] instructions, a `br` to one of
 * these labels is a jump from block to block (see compile_region in jit.c, which builds
 * such regions with ir_append). Results as jit_compile.
 */
#define REGION_MAX_BLOCKS 8
bool jit_compile_region(JitState *js, VsBlock *b, const IrFunc *f, unsigned n, const uint64_t *pcs,
                        const uint32_t *ninsns);
/* The cache filled up: flush it (with the block cache) at the next exclusive section. */
bool jit_wants_flush(JitState *js);
/* Forget all generated code. Only when no vCPU runs generated code (exclusive section),
 * after every block referring to it has been freed. */
void jit_flush(JitState *js);
void jit_get_stats(JitState *js, JitStats *out);

/* Block b was invalidated (b->valid already false, the block cache locked): undo the
 * direct jumps into it and out of it. */
void jit_block_invalidated(JitState *js, VsBlock *b);

/* Run one compiled block (b->jit_code) once: the raw result of the generated code. */
int jit_exec_block(VsCpu *cpu, VsBlock *b);
/* The tiered executor for cpu->machine->jit (see above). */
int jit_run(VsCpu *cpu, VsBlock *b);
/* If host_pc lies in b's generated code, store the guest pc of its instruction. */
bool jit_block_pc(const VsBlock *b, const void *host_pc, uint64_t *pc);

#endif
