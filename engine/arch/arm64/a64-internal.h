/* SPDX-License-Identifier: MIT */
/* Internals shared by the arm64 frontend files. */
#ifndef VESSEL_A64_INTERNAL_H
#define VESSEL_A64_INTERNAL_H

#include "arch/arm64/a64-cpu.h"
#include "ir/ir.h"

/* IR global indexes. */
#define A64_G_X(i)      (i)
#define A64_G_SP        31
#define A64_G_PC        32
#define A64_G_NF        33
#define A64_G_ZF        34
#define A64_G_CF        35
#define A64_G_VF        36
#define A64_G_EXCL_ADDR 37
#define A64_G_EXCL_VAL  38
#define A64_G_EXCL_VAL2 39
#define A64_G_TMP       40                    /* second result of a 128-bit helper */
#define A64_G_V(i, hi)  (41 + 2 * (i) + (hi)) /* V registers: low and high 64 bits */
#define A64_G_COUNT     105

extern const IrGlobals a64_globals;

/* Helper argument packing for atomics done in C (8/16-bit and 128-bit accesses):
 * bits 0..1 log2 size, bits 4..6 MMU index (IR_MEM_* layout), bits 8..11 the operation. */
enum { A64_ATOM_OP_SHIFT = 8 };
enum {
    A64_ATOM_ADD = 0,
    A64_ATOM_CLR,
    A64_ATOM_EOR,
    A64_ATOM_SET,
    A64_ATOM_SMAX,
    A64_ATOM_SMIN,
    A64_ATOM_UMAX,
    A64_ATOM_UMIN,
    A64_ATOM_SWP,
};

extern const IrHelper a64_helper_exception;  /* (esr, elr) no return */
extern const IrHelper a64_helper_pc_align;   /* (pc) no return */
extern const IrHelper a64_helper_mrs;        /* (enc | rt << 16, insn) -> value */
extern const IrHelper a64_helper_msr;        /* (enc | rt << 16, value) */
extern const IrHelper a64_helper_msr_pstate; /* (op1 << 3 | op2, imm4) */
extern const IrHelper a64_helper_eret;       /* () -> new pc */
extern const IrHelper a64_helper_wfx;        /* (is_wfe, insn) */
extern const IrHelper a64_helper_hvc;        /* (imm16, pc) */
extern const IrHelper a64_helper_sys;        /* (op1<<11|crn<<7|crm<<3|op2, value, rt) */
extern const IrHelper a64_helper_atomic;     /* (addr, value, desc) -> old */
extern const IrHelper a64_helper_cas;        /* (addr, expected, desired, desc) -> old */
extern const IrHelper
    a64_helper_cas128; /* (addr, exp_lo, exp_hi, new_lo, new_hi, desc) -> lo; hi in tmp */
extern const IrHelper a64_helper_ld128; /* (addr, desc) -> lo; hi in tmp */
extern const IrHelper a64_helper_crc32; /* (acc, value, size | castagnoli << 8) */
extern const IrHelper a64_helper_rbit;  /* (x) -> bit reverse of 64 bits */
extern const IrHelper a64_helper_cls;   /* (x, is64) */
/* a64-simd.c */
extern const IrHelper a64_helper_simd;  /* (insn, pc): FP/AdvSIMD data processing */
extern const IrHelper a64_helper_vldst; /* (insn, base, mmu_idx): LDn/STn structures */
/* Scalar FMUL, FDIV, FADD, FSUB by FP data-processing opcode (0-3), single and double:
 * (Vn bits 63:0, Vm bits 63:0, A64_FP_RM_DYN) -> the result for Vd; FPSR accrued. The double
 * ones are IrHostFpHelpers (inlined by the JIT while FPCR is 0 and FPSR.IXC is set). */
enum { A64_FP_RM_FPCR0 = 0, A64_FP_RM_DYN = 1 };
extern const IrHelper *const a64_helper_fp_binop_s[4];
extern const IrHelper *const a64_helper_fp_binop_d[4];
extern const IrHelper a64_helper_fcmp;  /* (Vn, Vm or 0, ftype | E << 1) -> NZCV (bits 3:0) */
extern const IrHelper a64_helper_fsqrt; /* (Vn, ftype) -> the result for Vd */
/* Whether FP arithmetic may use the x86-64 host fast path (default: yes where it exists);
 * false forces the exact soft-float path (for tests). Returns the previous setting. */
bool a64_simd_set_host_fpu(bool enable);

unsigned a64_code_mmu_idx(uint32_t mode);
unsigned a64_translate(VsCpu *cpu, IrFunc *f, uint64_t vpc, uint32_t mode, unsigned *ninsns,
                       uint64_t *ppc2);

#endif
