/* SPDX-License-Identifier: MIT */
/*
 * Harness of the random instruction-sequence programs that tools/fuzz-riscv generates
 * (the sequences and their initial state are in the generated fuzz-seqs.S). Each
 * sequence runs three times from the same initial registers and scratch buffer; the
 * first run prints every integer and FP register, fcsr and the scratch buffer, the
 * other two a hash of the same (they run the blocks again: tiered JIT code is compiled
 * by then).
 */
#include "isa.h"

#define FZ_SCRATCH 1024
#define FZ_OUT     64 /* x1, x3..x30 (x2 = sp and x31 = scratch base are not), f0-f31, fcsr */

extern const u64 fz_nseq;
extern void (*const fz_seq[])(void);
extern const u8 fz_scratch_init[]; /* FZ_SCRATCH bytes per sequence */

/* Written by the sequences' epilogue: fz_out[0..30] = x0..x30, [32..63] = f0..f31,
 * [31] = fcsr. */
u64 fz_out[FZ_OUT];
/* The scratch buffer straddles a page boundary: it is the last 512 bytes of one page and
 * the first 512 of the next; the sequences address it from the page boundary (x31). */
u8 fz_scratch_area[8192] PAGE_ALIGNED;

static u64 fnv(u64 h, const u8 *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

int main(void)
{
    u8 *scratch = fz_scratch_area + 4096 - FZ_SCRATCH / 2;
    pr("# fuzz %lu sequences\n", (unsigned long)fz_nseq);
    for (u64 i = 0; i < fz_nseq; i++) {
        for (int run = 0; run < 3; run++) {
            for (unsigned k = 0; k < FZ_SCRATCH; k++)
                scratch[k] = fz_scratch_init[i * FZ_SCRATCH + k];
            for (unsigned k = 0; k < FZ_OUT; k++)
                fz_out[k] = 0;
            fz_seq[i]();
            if (run == 0) {
                pr("seq %lu\n", (unsigned long)i);
                for (unsigned k = 1; k < 31; k++)
                    if (k != 2)
                        pr("x%u %lx\n", k, fz_out[k]);
                pr("fcsr %lx\n", fz_out[31]);
                for (unsigned k = 0; k < 32; k++)
                    pr("f%u %lx\n", k, fz_out[32 + k]);
                for (unsigned k = 0; k < FZ_SCRATCH; k += 8) {
                    u64 v = 0;
                    for (unsigned b = 0; b < 8; b++)
                        v |= (u64)scratch[k + b] << (8 * b);
                    pr("m%u %lx\n", k, v);
                }
            } else {
                u64 h = fnv(0xcbf29ce484222325ull, (const u8 *)fz_out, sizeof(fz_out));
                h = fnv(h, scratch, FZ_SCRATCH);
                pr("seq %lu run %d hash %lx\n", (unsigned long)i, run, h);
            }
        }
    }
    return 0;
}
