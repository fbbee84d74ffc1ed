/* SPDX-License-Identifier: MIT */
/*
 * The IR interpreter: a block's IR is converted once, at translation time, into a
 * direct-threaded array of InterpInsn (handler address + pre-decoded operands) that a
 * computed-goto loop runs. Operands are byte offsets from the CPU state base: guest
 * globals and the temp frame (VsCpu.temps) are both reached through one pointer.
 * Constant operands are folded into handler variants (`_ri`) or materialised into
 * scratch temp slots.
 */
#ifndef VESSEL_INTERP_H
#define VESSEL_INTERP_H

#include <stdbool.h>
#include <stdint.h>

#include "ir/ir.h"

typedef struct VsCpu VsCpu;
typedef struct VsBlock VsBlock;

typedef struct InterpInsn {
    const void *h;
    uint32_t d, a;
    union {
        struct {
            uint32_t b, c;
        };
        /* goto_block: the successor block, cached when it is on the same guest page (so no
         * mapping change can make it stale); cleared before invalidated blocks are freed. */
        VsBlock *chain;
    };
    uint64_t imm;
} InterpInsn;

/* Decoded helper call (stored after the code array). */
typedef struct InterpCall {
    void *fn;
    uint8_t nargs, flags, pass_cpu, pad;
    uint32_t const_mask; /* bit i: argument i is the constant vals[i] */
    uint32_t off[IR_MAX_HELPER_ARGS];
    uint64_t vals[IR_MAX_HELPER_ARGS];
} InterpCall;

/* Result of interp_exec. */
enum {
    INTERP_RET_EXIT_BASE = 0, /* + IrExitCode: an EXIT op ran */
    INTERP_RET_LOOKUP = 16,   /* the next block is not in the jump cache: pc is set */
    INTERP_RET_REQUEST = 17,  /* interrupt_request was set at a block boundary */
};

/*
 * Size the interpreter code for f: returns false if the function cannot be run (too many
 * temps). *ninsn and *ncalls receive the sizes interp_compile needs.
 */
bool interp_size(const IrFunc *f, unsigned *ninsn, unsigned *ncalls, unsigned *nmap);
/* Convert f into code (ninsn entries), calls (ncalls entries) and the insn map. */
void interp_compile(const IrFunc *f, InterpInsn *code, InterpCall *calls, void *insn_map,
                    unsigned *nmap_out);
/* Run block b and follow direct/indirect exits through the jump cache. */
int interp_exec(VsCpu *cpu, VsBlock *b);
/* Forget every cached successor in a block's code (before blocks are freed). */
void interp_unchain(InterpInsn *code, unsigned n);

#endif
