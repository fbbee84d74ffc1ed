/* SPDX-License-Identifier: MIT */
/* Internals shared by the riscv64 frontend files. */
#ifndef VESSEL_RV_INTERNAL_H
#define VESSEL_RV_INTERNAL_H

#include "arch/riscv64/rv-cpu.h"
#include "ir/ir.h"

/* IR global indexes. */
#define RV_G_X(i)     (i)
#define RV_G_PC       32
#define RV_G_F(i)     (33 + (i))
#define RV_G_FFLAGS   65
#define RV_G_FRM      66
#define RV_G_RES_ADDR 67
#define RV_G_RES_VAL  68
#define RV_G_MSTATUS  69
#define RV_G_COUNT    70

extern const IrGlobals rv_globals;

/* rv_helper_csr flags (low 2 bits: 1 = write, 2 = set, 3 = clear). */
#define RV_CSR_OP_MASK 3u
#define RV_CSR_READ    4u
#define RV_CSR_WRITE   8u

extern const IrHelper rv_helper_raise;      /* (cause, tval) no return */
extern const IrHelper rv_helper_csr;        /* (csr, value, flags | insn << 32) -> old */
extern const IrHelper rv_helper_mret;       /* () -> new pc */
extern const IrHelper rv_helper_sret;       /* () -> new pc */
extern const IrHelper rv_helper_wfi;        /* () */
extern const IrHelper rv_helper_sfence_vma; /* (vaddr, has_addr, insn) */
extern const IrHelper rv_helper_orc_b;      /* (x) -> orc.b */

/* mtval/stval for an illegal instruction (what the oracle reports). */
uint64_t rv_illegal_tval(uint32_t raw);
unsigned rv_code_mmu_idx(uint32_t mode);
unsigned rv_translate(VsCpu *cpu, IrFunc *f, uint64_t vpc, uint32_t mode, unsigned *ninsns,
                      uint64_t *ppc2);

#endif
