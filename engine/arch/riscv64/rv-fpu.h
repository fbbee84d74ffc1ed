/* SPDX-License-Identifier: MIT */
/*
 * RISC-V F and D extension arithmetic as IR helpers.
 *
 * Every helper takes and returns raw bit patterns in uint64_t. Single-precision operands
 * and results are NaN-boxed (upper 32 bits all ones); an operand that is not properly
 * boxed reads as the canonical NaN. Results are bit-exact with the RISC-V unprivileged
 * spec: canonical NaNs (payloads never propagate), tininess detected after rounding,
 * saturating float-to-integer conversions.
 *
 * Helpers taking a VsCpu* OR the accrued exception flags into RvCpu.fflags (they never
 * clear flags and never touch mstatus.FS). An `rm` argument is the instruction's rm
 * field: 0..4, or 7 for the dynamic mode in RvCpu.frm. An invalid effective mode (5, 6,
 * or 7 with frm >= 5) raises an illegal-instruction exception and does not return.
 *
 * W results (fcvt.w[u].*) are sign-extended from 32 bits; comparison results are 0 / 1;
 * fclass returns the 10-bit class mask.
 */
#ifndef VESSEL_RV_FPU_H
#define VESSEL_RV_FPU_H

#include <stdbool.h>
#include <stdint.h>

#include "core/cpu.h"
#include "ir/ir.h"

/* ---- arithmetic (rounding) ---- */
uint64_t rv_fadd_s(VsCpu *cpu, uint64_t a, uint64_t b, uint64_t rm);
uint64_t rv_fsub_s(VsCpu *cpu, uint64_t a, uint64_t b, uint64_t rm);
uint64_t rv_fmul_s(VsCpu *cpu, uint64_t a, uint64_t b, uint64_t rm);
uint64_t rv_fdiv_s(VsCpu *cpu, uint64_t a, uint64_t b, uint64_t rm);
uint64_t rv_fsqrt_s(VsCpu *cpu, uint64_t a, uint64_t rm);
uint64_t rv_fadd_d(VsCpu *cpu, uint64_t a, uint64_t b, uint64_t rm);
uint64_t rv_fsub_d(VsCpu *cpu, uint64_t a, uint64_t b, uint64_t rm);
uint64_t rv_fmul_d(VsCpu *cpu, uint64_t a, uint64_t b, uint64_t rm);
uint64_t rv_fdiv_d(VsCpu *cpu, uint64_t a, uint64_t b, uint64_t rm);
uint64_t rv_fsqrt_d(VsCpu *cpu, uint64_t a, uint64_t rm);

/* Fused: fmadd = a*b+c, fmsub = a*b-c, fnmsub = -(a*b)+c, fnmadd = -(a*b)-c (one rounding). */
uint64_t rv_fmadd_s(VsCpu *cpu, uint64_t a, uint64_t b, uint64_t c, uint64_t rm);
uint64_t rv_fmsub_s(VsCpu *cpu, uint64_t a, uint64_t b, uint64_t c, uint64_t rm);
uint64_t rv_fnmsub_s(VsCpu *cpu, uint64_t a, uint64_t b, uint64_t c, uint64_t rm);
uint64_t rv_fnmadd_s(VsCpu *cpu, uint64_t a, uint64_t b, uint64_t c, uint64_t rm);
uint64_t rv_fmadd_d(VsCpu *cpu, uint64_t a, uint64_t b, uint64_t c, uint64_t rm);
uint64_t rv_fmsub_d(VsCpu *cpu, uint64_t a, uint64_t b, uint64_t c, uint64_t rm);
uint64_t rv_fnmsub_d(VsCpu *cpu, uint64_t a, uint64_t b, uint64_t c, uint64_t rm);
uint64_t rv_fnmadd_d(VsCpu *cpu, uint64_t a, uint64_t b, uint64_t c, uint64_t rm);

/* ---- min/max (IEEE 754-2019 minimumNumber/maximumNumber, -0 < +0), compares ---- */
uint64_t rv_fmin_s(VsCpu *cpu, uint64_t a, uint64_t b);
uint64_t rv_fmax_s(VsCpu *cpu, uint64_t a, uint64_t b);
uint64_t rv_fmin_d(VsCpu *cpu, uint64_t a, uint64_t b);
uint64_t rv_fmax_d(VsCpu *cpu, uint64_t a, uint64_t b);
uint64_t rv_feq_s(VsCpu *cpu, uint64_t a, uint64_t b); /* quiet: NV only for sNaN */
uint64_t rv_flt_s(VsCpu *cpu, uint64_t a, uint64_t b); /* signalling: NV for any NaN */
uint64_t rv_fle_s(VsCpu *cpu, uint64_t a, uint64_t b);
uint64_t rv_feq_d(VsCpu *cpu, uint64_t a, uint64_t b);
uint64_t rv_flt_d(VsCpu *cpu, uint64_t a, uint64_t b);
uint64_t rv_fle_d(VsCpu *cpu, uint64_t a, uint64_t b);

/* ---- conversions ---- */
uint64_t rv_fcvt_w_s(VsCpu *cpu, uint64_t a, uint64_t rm);
uint64_t rv_fcvt_wu_s(VsCpu *cpu, uint64_t a, uint64_t rm);
uint64_t rv_fcvt_l_s(VsCpu *cpu, uint64_t a, uint64_t rm);
uint64_t rv_fcvt_lu_s(VsCpu *cpu, uint64_t a, uint64_t rm);
uint64_t rv_fcvt_w_d(VsCpu *cpu, uint64_t a, uint64_t rm);
uint64_t rv_fcvt_wu_d(VsCpu *cpu, uint64_t a, uint64_t rm);
uint64_t rv_fcvt_l_d(VsCpu *cpu, uint64_t a, uint64_t rm);
uint64_t rv_fcvt_lu_d(VsCpu *cpu, uint64_t a, uint64_t rm);
/* Integer sources: w/wu use the low 32 bits of a. */
uint64_t rv_fcvt_s_w(VsCpu *cpu, uint64_t a, uint64_t rm);
uint64_t rv_fcvt_s_wu(VsCpu *cpu, uint64_t a, uint64_t rm);
uint64_t rv_fcvt_s_l(VsCpu *cpu, uint64_t a, uint64_t rm);
uint64_t rv_fcvt_s_lu(VsCpu *cpu, uint64_t a, uint64_t rm);
uint64_t rv_fcvt_d_w(VsCpu *cpu, uint64_t a, uint64_t rm);
uint64_t rv_fcvt_d_wu(VsCpu *cpu, uint64_t a, uint64_t rm);
uint64_t rv_fcvt_d_l(VsCpu *cpu, uint64_t a, uint64_t rm);
uint64_t rv_fcvt_d_lu(VsCpu *cpu, uint64_t a, uint64_t rm);
uint64_t rv_fcvt_s_d(VsCpu *cpu, uint64_t a, uint64_t rm);
uint64_t rv_fcvt_d_s(VsCpu *cpu, uint64_t a, uint64_t rm);

/* ---- pure helpers (no cpu, no flags) ---- */
uint64_t rv_fsgnj_s(uint64_t a, uint64_t b);
uint64_t rv_fsgnjn_s(uint64_t a, uint64_t b);
uint64_t rv_fsgnjx_s(uint64_t a, uint64_t b);
uint64_t rv_fsgnj_d(uint64_t a, uint64_t b);
uint64_t rv_fsgnjn_d(uint64_t a, uint64_t b);
uint64_t rv_fsgnjx_d(uint64_t a, uint64_t b);
uint64_t rv_fclass_s(uint64_t a);
uint64_t rv_fclass_d(uint64_t a);

/*
 * Testing/debugging: on x86-64 hosts add/sub/mul/div/sqrt/fma in RNE/RTZ/RDN/RUP run on the
 * host SSE unit; everything else (and every operation on other hosts) uses the exact
 * software implementation. rv_fpu_set_host_fpu(false) forces the software path for
 * everything. Call it only while no vCPU runs. Returns the previous setting.
 */
bool rv_fpu_set_host_fpu(bool enable);

/* ---- IR helper descriptors (nargs counts IR args, not the cpu pointer) ---- */
/* add/sub/mul/div carry the JIT's inline fast-path description (IrHostFpHelper). */
extern const IrHostFpHelper rv_hf_fadd_s, rv_hf_fsub_s, rv_hf_fmul_s, rv_hf_fdiv_s;
extern const IrHostFpHelper rv_hf_fadd_d, rv_hf_fsub_d, rv_hf_fmul_d, rv_hf_fdiv_d;
#define rv_helper_fadd_s (rv_hf_fadd_s.helper)
#define rv_helper_fsub_s (rv_hf_fsub_s.helper)
#define rv_helper_fmul_s (rv_hf_fmul_s.helper)
#define rv_helper_fdiv_s (rv_hf_fdiv_s.helper)
#define rv_helper_fadd_d (rv_hf_fadd_d.helper)
#define rv_helper_fsub_d (rv_hf_fsub_d.helper)
#define rv_helper_fmul_d (rv_hf_fmul_d.helper)
#define rv_helper_fdiv_d (rv_hf_fdiv_d.helper)
extern const IrHelper rv_helper_fsqrt_s, rv_helper_fsqrt_d;
extern const IrHelper rv_helper_fmadd_s, rv_helper_fmsub_s, rv_helper_fnmsub_s, rv_helper_fnmadd_s;
extern const IrHelper rv_helper_fmadd_d, rv_helper_fmsub_d, rv_helper_fnmsub_d, rv_helper_fnmadd_d;
extern const IrHelper rv_helper_fmin_s, rv_helper_fmax_s, rv_helper_fmin_d, rv_helper_fmax_d;
extern const IrHelper rv_helper_feq_s, rv_helper_flt_s, rv_helper_fle_s;
extern const IrHelper rv_helper_feq_d, rv_helper_flt_d, rv_helper_fle_d;
extern const IrHelper rv_helper_fcvt_w_s, rv_helper_fcvt_wu_s, rv_helper_fcvt_l_s,
    rv_helper_fcvt_lu_s;
extern const IrHelper rv_helper_fcvt_w_d, rv_helper_fcvt_wu_d, rv_helper_fcvt_l_d,
    rv_helper_fcvt_lu_d;
extern const IrHelper rv_helper_fcvt_s_w, rv_helper_fcvt_s_wu, rv_helper_fcvt_s_l,
    rv_helper_fcvt_s_lu;
extern const IrHelper rv_helper_fcvt_d_w, rv_helper_fcvt_d_wu, rv_helper_fcvt_d_l,
    rv_helper_fcvt_d_lu;
extern const IrHelper rv_helper_fcvt_s_d, rv_helper_fcvt_d_s;
extern const IrHelper rv_helper_fsgnj_s, rv_helper_fsgnjn_s, rv_helper_fsgnjx_s;
extern const IrHelper rv_helper_fsgnj_d, rv_helper_fsgnjn_d, rv_helper_fsgnjx_d;
extern const IrHelper rv_helper_fclass_s, rv_helper_fclass_d;

#endif
