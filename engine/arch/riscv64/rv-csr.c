/* SPDX-License-Identifier: MIT */
/*
 * RISC-V CSRs, trap entry, mret/sret and interrupt selection.
 *
 * The reference is the privileged spec 1.12, but where Debian 12's qemu-system-riscv64 7.2
 * (the test oracle; -cpu rv64 without H, V, Sstc, Sdtrig and the PMU counters) behaves
 * differently in a way a bare-metal program can see, this file follows QEMU. Those places
 * are marked "QEMU 7.2:"; each was checked against the real QEMU 7.2 binary with bare-metal
 * probes.
 *
 * Threading: everything here runs on the vCPU's own thread except rv_cpu_set_irq, which
 * devices call from any thread; mip is therefore only changed with atomic operations.
 */
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "arch/riscv64/rv-cpu.h"
#include "core/cpu.h"
#include "mmu/mmu.h"

/* ---- CSR numbers ---- */
enum {
    CSR_FFLAGS = 0x001,
    CSR_FRM = 0x002,
    CSR_FCSR = 0x003,

    CSR_SSTATUS = 0x100,
    CSR_SIE = 0x104,
    CSR_STVEC = 0x105,
    CSR_SCOUNTEREN = 0x106,
    CSR_SENVCFG = 0x10a,
    CSR_SSCRATCH = 0x140,
    CSR_SEPC = 0x141,
    CSR_SCAUSE = 0x142,
    CSR_STVAL = 0x143,
    CSR_SIP = 0x144,
    CSR_SATP = 0x180,

    CSR_MSTATUS = 0x300,
    CSR_MISA = 0x301,
    CSR_MEDELEG = 0x302,
    CSR_MIDELEG = 0x303,
    CSR_MIE = 0x304,
    CSR_MTVEC = 0x305,
    CSR_MCOUNTEREN = 0x306,
    CSR_MENVCFG = 0x30a,
    CSR_MCOUNTINHIBIT = 0x320,
    CSR_MSCRATCH = 0x340,
    CSR_MEPC = 0x341,
    CSR_MCAUSE = 0x342,
    CSR_MTVAL = 0x343,
    CSR_MIP = 0x344,
    CSR_PMPCFG0 = 0x3a0,
    CSR_PMPCFG2 = 0x3a2,
    CSR_PMPADDR0 = 0x3b0,
    CSR_PMPADDR15 = 0x3bf,

    CSR_MCYCLE = 0xb00,
    CSR_MINSTRET = 0xb02,
    CSR_CYCLE = 0xc00,
    CSR_TIME = 0xc01,
    CSR_INSTRET = 0xc02,

    CSR_MVENDORID = 0xf11,
    CSR_MARCHID = 0xf12,
    CSR_MIMPID = 0xf13,
    CSR_MHARTID = 0xf14,
    CSR_MCONFIGPTR = 0xf15,
};

/* ---- Constant machine description ---- */

/* misa: MXL=2 (RV64), extensions A C D F I M S U. Read-only: QEMU 7.2 ignores misa writes. */
#define RV_MISA_EXT(c) (1ull << ((c) - 'A'))
#define RV_MISA_VALUE                                                                           \
    ((2ull << 62) | RV_MISA_EXT('A') | RV_MISA_EXT('C') | RV_MISA_EXT('D') | RV_MISA_EXT('F') | \
     RV_MISA_EXT('I') | RV_MISA_EXT('M') | RV_MISA_EXT('S') | RV_MISA_EXT('U'))

/*
 * Identification CSRs. QEMU 7.2 reports marchid = mimpid = its own version
 * (0x70216 for Debian's 7.2 build); Vessel reports 0 as specified by the project.
 */
#define RV_MVENDORID 0ull
#define RV_MARCHID   0ull
#define RV_MIMPID    0ull

/* Encodings of mret/sret: xtval of the illegal-instruction trap they can raise. */
#define RV_INSN_MRET 0x30200073ull
#define RV_INSN_SRET 0x10200073ull

/* mstatus bits rv-cpu.h does not name. */
#define MSTATUS_VS        (3ull << 9)
#define MSTATUS_GVA       (1ull << 38)
#define MSTATUS_MPV       (1ull << 39)
#define MSTATUS_SXL_SHIFT 34
#define MSTATUS_UXL_SHIFT 32

/*
 * QEMU 7.2: mstatus.VS, MPV and GVA are writable although V and H are absent (they have no
 * effect here, but VS=3 sets SD), and UXL takes any non-zero value written to it (a write
 * with UXL=0 keeps it). Vessel only stores these for readback: U-mode is always RV64.
 */
#define MSTATUS_WMASK                                                                       \
    (RV_MSTATUS_SIE | RV_MSTATUS_MIE | RV_MSTATUS_SPIE | RV_MSTATUS_MPIE | RV_MSTATUS_SPP | \
     RV_MSTATUS_MPP | MSTATUS_VS | RV_MSTATUS_FS | RV_MSTATUS_MPRV | RV_MSTATUS_SUM |       \
     RV_MSTATUS_MXR | RV_MSTATUS_TVM | RV_MSTATUS_TW | RV_MSTATUS_TSR | MSTATUS_GVA | MSTATUS_MPV)
#define SSTATUS_WMASK                                                                 \
    (RV_MSTATUS_SIE | RV_MSTATUS_SPIE | RV_MSTATUS_SPP | MSTATUS_VS | RV_MSTATUS_FS | \
     RV_MSTATUS_SUM | RV_MSTATUS_MXR)
#define SSTATUS_RMASK \
    (SSTATUS_WMASK | RV_MSTATUS_UBE | RV_MSTATUS_XS | RV_MSTATUS_UXL | RV_MSTATUS_SD)

/* Exceptions medeleg can delegate (QEMU 7.2 mask, including the H-only causes 10, 20-23). */
#define MEDELEG_WMASK 0xf0bfffull

#define IRQ_BIT(n)    (1ull << (n))
#define MIP_SSIP      IRQ_BIT(RV_IRQ_SSI)
#define MIP_MSIP      IRQ_BIT(RV_IRQ_MSI)
#define MIP_STIP      IRQ_BIT(RV_IRQ_STI)
#define MIP_MTIP      IRQ_BIT(RV_IRQ_MTI)
#define MIP_SEIP      IRQ_BIT(RV_IRQ_SEI)
#define MIP_MEIP      IRQ_BIT(RV_IRQ_MEI)
#define MIP_VSSIP     IRQ_BIT(2)
#define MIP_VSTIP     IRQ_BIT(6)
#define MIP_VSEIP     IRQ_BIT(10)
#define MIP_LCOFIP    IRQ_BIT(13)
/* S-level interrupts (sie/sip view). QEMU 7.2 includes LCOFI (13) without Sscofpmf. */
#define S_INTERRUPTS  (MIP_SSIP | MIP_STIP | MIP_SEIP | MIP_LCOFIP)
#define VS_INTERRUPTS (MIP_VSSIP | MIP_VSTIP | MIP_VSEIP)
/* QEMU 7.2: mideleg and the software-writable part of mip are S | VS | LCOFI interrupts. */
#define MIDELEG_WMASK (S_INTERRUPTS | VS_INTERRUPTS)
#define MIP_WMASK     MIDELEG_WMASK
#define MIE_WMASK     (MIDELEG_WMASK | MIP_MSIP | MIP_MTIP | MIP_MEIP)
/* sip: only SSIP (and LCOFIP) are writable, and only when delegated. */
#define SIP_WMASK (MIP_SSIP | MIP_LCOFIP)

/*
 * mip.SEIP is the OR of the bit software writes and the external line a PLIC drives
 * through rv_cpu_set_irq (QEMU 7.2 keeps the two apart the same way). RvCpu has no field
 * for that, so the two sources live in high mip bits that no interrupt uses and that mie
 * can never enable; bit RV_IRQ_SEI always holds their OR. CSR reads hide them.
 */
#define MIP_SEIP_SW  (1ull << 61)
#define MIP_SEIP_EXT (1ull << 62)
#define MIP_SHADOW   (MIP_SEIP_SW | MIP_SEIP_EXT)
/* Lines driven by devices: they survive a CPU reset. */
#define MIP_DEVICE_BITS (MIP_MSIP | MIP_MTIP | MIP_MEIP | MIP_SEIP_EXT)

/* QEMU 7.2: menvcfg FIOM, CBIE, CBCFE, CBZE, PBMTE, STCE are writable (no effect here). */
#define MENVCFG_WMASK 0xc0000000000000f1ull
#define SENVCFG_WMASK 0xf1ull

/* satp */
#define SATP_MODE_SHIFT 60
enum { SATP_BARE = 0, SATP_SV39 = 8, SATP_SV48 = 9, SATP_SV57 = 10 };

/* PMP configuration bits. */
#define PMP_A_SHIFT 3
#define PMP_A_TOR   1u
#define PMP_L       0x80u

/* TLBs that depend on satp / mstatus.MXR. */
#define RV_TLB_SU_MASK ((1u << RV_MMU_U) | (1u << RV_MMU_S) | (1u << RV_MMU_S_SUM))

/* mcountinhibit / counteren bit numbers */
enum { CTR_CY = 0, CTR_TM = 1, CTR_IR = 2 };

/* ---- mstatus helpers ---- */

/* SD summarises FS/VS/XS == Dirty. Kept in the stored value and recomputed on reads (the
 * translator may set FS=Dirty without touching SD). */
static uint64_t mstatus_with_sd(uint64_t s)
{
    if ((s & RV_MSTATUS_FS) == RV_MSTATUS_FS || (s & MSTATUS_VS) == MSTATUS_VS ||
        (s & RV_MSTATUS_XS) == RV_MSTATUS_XS)
        return s | RV_MSTATUS_SD;
    return s & ~RV_MSTATUS_SD;
}

static void mstatus_set(RvCpu *cpu, uint64_t val)
{
    uint64_t old = cpu->mstatus;
    cpu->mstatus = mstatus_with_sd(val);
    /* MXR changes what the cached S/U translations allow. SUM, MPRV and MPP only select a
     * different data MMU index (part of the block key), so they need no flush. */
    if ((old ^ cpu->mstatus) & RV_MSTATUS_MXR)
        tlb_flush_mask(&cpu->common, RV_TLB_SU_MASK);
}

/* M-mode write of mstatus (sstatus writes come here after merging). */
static void mstatus_write(RvCpu *cpu, uint64_t val)
{
    uint64_t mask = MSTATUS_WMASK;
    if (val & RV_MSTATUS_UXL)
        mask |= RV_MSTATUS_UXL; /* QEMU 7.2: a non-zero UXL is stored as written */
    uint64_t s = (cpu->mstatus & ~mask) | (val & mask);
    /*
     * QEMU 7.2: MPP=2 (reserved) is stored as written, not legalised; mret then treats it
     * as U (see rv_do_mret). SXL is fixed to 2.
     */
    s = (s & ~RV_MSTATUS_SXL) | (2ull << MSTATUS_SXL_SHIFT);
    mstatus_set(cpu, s);
}

static void fs_mark_dirty(RvCpu *cpu)
{
    cpu->mstatus |= RV_MSTATUS_FS | RV_MSTATUS_SD;
}

static bool fs_enabled(const RvCpu *cpu)
{
    return (cpu->mstatus & RV_MSTATUS_FS) != 0;
}

/* ---- mip (shared with device threads) ---- */

static uint64_t mip_seip_fold(uint64_t v)
{
    return (v & MIP_SHADOW) ? v | MIP_SEIP : v & ~MIP_SEIP;
}

/* Software write of the `mask` bits of mip. */
static void mip_write(RvCpu *cpu, uint64_t mask, uint64_t val)
{
    if (!mask)
        return;
    uint64_t old = atomic_load(&cpu->mip), nv;
    do {
        nv = (old & ~mask) | (val & mask);
        /*
         * rv_csr_write gets the merged value of csrrs/csrrc, not their write mask, so a
         * SEIP equal to what software reads is taken as "not written": a csrrs on another
         * bit must not latch an externally driven SEIP into the software bit.
         */
        if ((mask & MIP_SEIP) && ((val ^ old) & MIP_SEIP))
            nv = (val & MIP_SEIP) ? nv | MIP_SEIP_SW : nv & ~MIP_SEIP_SW;
        nv = mip_seip_fold(nv);
    } while (nv != old && !atomic_compare_exchange_weak(&cpu->mip, &old, nv));
}

static uint64_t mip_read(RvCpu *cpu)
{
    return atomic_load(&cpu->mip) & ~MIP_SHADOW;
}

void rv_cpu_set_irq(RvCpu *cpu, unsigned irq, bool level)
{
    if (irq >= 16)
        return;
    uint64_t bit = irq == RV_IRQ_SEI ? MIP_SEIP_EXT : IRQ_BIT(irq);
    uint64_t old = atomic_load(&cpu->mip), nv;
    do {
        nv = level ? old | bit : old & ~bit;
        if (irq == RV_IRQ_SEI)
            nv = mip_seip_fold(nv);
    } while (nv != old && !atomic_compare_exchange_weak(&cpu->mip, &old, nv));
    if (nv != old)
        vs_cpu_kick(&cpu->common, CPU_REQ_IRQ);
}

/* ---- counters ---- */

static int64_t *counter_offset(RvCpu *cpu, unsigned ctr)
{
    return ctr == CTR_CY ? &cpu->cycle_offset : &cpu->instret_offset;
}

/*
 * mcycle/minstret = insn_count + offset. While the counter is inhibited (mcountinhibit),
 * its offset holds the frozen value itself (QEMU 7.2 freezes inhibited counters).
 */
static uint64_t counter_read(RvCpu *cpu, unsigned ctr)
{
    uint64_t off = (uint64_t)*counter_offset(cpu, ctr);
    if (cpu->mcountinhibit & (1ull << ctr))
        return off;
    return cpu->common.insn_count + off;
}

static void counter_write(RvCpu *cpu, unsigned ctr, uint64_t val)
{
    if (cpu->mcountinhibit & (1ull << ctr))
        *counter_offset(cpu, ctr) = (int64_t)val;
    else
        *counter_offset(cpu, ctr) = (int64_t)(val - cpu->common.insn_count);
}

static void mcountinhibit_write(RvCpu *cpu, uint64_t val)
{
    uint64_t cy = counter_read(cpu, CTR_CY), ir = counter_read(cpu, CTR_IR);
    cpu->mcountinhibit = val; /* QEMU 7.2 stores all 64 bits */
    counter_write(cpu, CTR_CY, cy);
    counter_write(cpu, CTR_IR, ir);
}

/* cycle/time/instret from S need mcounteren; from U they also need scounteren. */
static bool counter_accessible(const RvCpu *cpu, unsigned ctr)
{
    if (cpu->priv < RV_PRV_M && !((cpu->mcounteren >> ctr) & 1))
        return false;
    if (cpu->priv < RV_PRV_S && !((cpu->scounteren >> ctr) & 1))
        return false;
    return true;
}

/* ---- PMP (storage only) ---- */
/*
 * PMP registers are stored with QEMU 7.2's WARL behaviour (every cfg byte and all 64 address
 * bits are kept as written; locked entries ignore writes) but the checks are NOT enforced
 * yet: M, S and U accesses are never stopped by PMP. The one PMP effect implemented is
 * QEMU's rule that mret to S/U is illegal while no PMP entry is active (rv_do_mret).
 */

static unsigned pmp_cfg(const RvCpu *cpu, unsigned i)
{
    return (unsigned)(cpu->pmpcfg[i / 8] >> (8 * (i % 8))) & 0xff;
}

static void pmpcfg_write(RvCpu *cpu, unsigned reg, uint64_t val)
{
    uint64_t cur = cpu->pmpcfg[reg];
    for (unsigned b = 0; b < 8; b++) {
        if (pmp_cfg(cpu, reg * 8 + b) & PMP_L)
            continue;
        cur &= ~(0xffull << (8 * b));
        cur |= val & (0xffull << (8 * b));
    }
    cpu->pmpcfg[reg] = cur;
}

static void pmpaddr_write(RvCpu *cpu, unsigned i, uint64_t val)
{
    if (pmp_cfg(cpu, i) & PMP_L)
        return;
    if (i + 1 < RV_PMP_COUNT) {
        unsigned next = pmp_cfg(cpu, i + 1);
        if ((next & PMP_L) && ((next >> PMP_A_SHIFT) & 3) == PMP_A_TOR)
            return;
    }
    cpu->pmpaddr[i] = val;
}

static bool pmp_any_active(const RvCpu *cpu)
{
    for (unsigned i = 0; i < RV_PMP_COUNT; i++)
        if ((pmp_cfg(cpu, i) >> PMP_A_SHIFT) & 3)
            return true;
    return false;
}

/* ---- satp ---- */

static bool satp_mode_supported(unsigned mode)
{
    /* QEMU 7.2 accepts Sv57 as well; rv-mmu.c walks it. */
    return mode == SATP_BARE || mode == SATP_SV39 || mode == SATP_SV48 || mode == SATP_SV57;
}

static void satp_write(RvCpu *cpu, uint64_t val)
{
    if (!satp_mode_supported((unsigned)(val >> SATP_MODE_SHIFT)))
        return; /* unsupported MODE: the whole write is ignored */
    if (val == cpu->satp)
        return;
    cpu->satp = val; /* QEMU 7.2 keeps ASID (16 bits) and PPN as written, even for Bare */
    tlb_flush_mask(&cpu->common, RV_TLB_SU_MASK);
    vs_cpu_kick(&cpu->common, CPU_REQ_FLUSH); /* jump cache: vpc -> block may change */
}

/* ---- CSR access ---- */

static unsigned csr_min_priv(unsigned csr)
{
    return (csr >> 8) & 3;
}

static bool csr_read_only(unsigned csr)
{
    return ((csr >> 10) & 3) == 3;
}

static uint64_t tvec_legal(uint64_t old, uint64_t val)
{
    /* QEMU 7.2: modes 2 and 3 are reserved and the whole write is ignored. */
    return (val & 3) < 2 ? val : old;
}

bool rv_csr_read(RvCpu *cpu, unsigned csr, uint64_t *val)
{
    if (csr > 0xfff || cpu->priv < csr_min_priv(csr))
        return false;
    switch (csr) {
    case CSR_FFLAGS:
        if (!fs_enabled(cpu))
            return false;
        *val = cpu->fflags & 0x1f;
        return true;
    case CSR_FRM:
        if (!fs_enabled(cpu))
            return false;
        *val = cpu->frm & 7;
        return true;
    case CSR_FCSR:
        if (!fs_enabled(cpu))
            return false;
        *val = (cpu->fflags & 0x1f) | ((cpu->frm & 7) << 5);
        return true;

    case CSR_CYCLE:
    case CSR_INSTRET:
        if (!counter_accessible(cpu, csr - CSR_CYCLE))
            return false;
        *val = counter_read(cpu, csr - CSR_CYCLE);
        return true;
    case CSR_TIME:
        if (!counter_accessible(cpu, CTR_TM) || !cpu->read_mtime)
            return false;
        *val = cpu->read_mtime(cpu->mtime_opaque);
        return true;

    case CSR_SSTATUS: *val = mstatus_with_sd(cpu->mstatus) & SSTATUS_RMASK; return true;
    case CSR_SIE: *val = cpu->mie & cpu->mideleg & S_INTERRUPTS; return true;
    case CSR_STVEC: *val = cpu->stvec; return true;
    case CSR_SCOUNTEREN: *val = cpu->scounteren; return true;
    case CSR_SENVCFG: *val = cpu->senvcfg; return true;
    case CSR_SSCRATCH: *val = cpu->sscratch; return true;
    case CSR_SEPC: *val = cpu->sepc; return true;
    case CSR_SCAUSE: *val = cpu->scause; return true;
    case CSR_STVAL: *val = cpu->stval; return true;
    case CSR_SIP: *val = mip_read(cpu) & cpu->mideleg & S_INTERRUPTS; return true;
    case CSR_SATP:
        if (cpu->priv == RV_PRV_S && (cpu->mstatus & RV_MSTATUS_TVM))
            return false;
        *val = cpu->satp;
        return true;

    case CSR_MSTATUS: *val = mstatus_with_sd(cpu->mstatus); return true;
    case CSR_MISA: *val = cpu->misa; return true;
    case CSR_MEDELEG: *val = cpu->medeleg; return true;
    case CSR_MIDELEG: *val = cpu->mideleg; return true;
    case CSR_MIE: *val = cpu->mie; return true;
    case CSR_MTVEC: *val = cpu->mtvec; return true;
    case CSR_MCOUNTEREN: *val = cpu->mcounteren; return true;
    case CSR_MENVCFG: *val = cpu->menvcfg; return true;
    case CSR_MCOUNTINHIBIT: *val = cpu->mcountinhibit; return true;
    case CSR_MSCRATCH: *val = cpu->mscratch; return true;
    case CSR_MEPC: *val = cpu->mepc; return true;
    case CSR_MCAUSE: *val = cpu->mcause; return true;
    case CSR_MTVAL: *val = cpu->mtval; return true;
    case CSR_MIP: *val = mip_read(cpu); return true;
    case CSR_PMPCFG0:
    case CSR_PMPCFG2: *val = cpu->pmpcfg[(csr - CSR_PMPCFG0) / 2]; return true;
    case CSR_MCYCLE:
    case CSR_MINSTRET: *val = counter_read(cpu, csr - CSR_MCYCLE); return true;

    case CSR_MVENDORID: *val = RV_MVENDORID; return true;
    case CSR_MARCHID: *val = RV_MARCHID; return true;
    case CSR_MIMPID: *val = RV_MIMPID; return true;
    case CSR_MHARTID: *val = cpu->mhartid; return true;
    case CSR_MCONFIGPTR: *val = 0; return true;
    default:
        if (csr >= CSR_PMPADDR0 && csr <= CSR_PMPADDR15) {
            *val = cpu->pmpaddr[csr - CSR_PMPADDR0];
            return true;
        }
        return false;
    }
}

bool rv_csr_write(RvCpu *cpu, unsigned csr, uint64_t val)
{
    if (csr > 0xfff || csr_read_only(csr) || cpu->priv < csr_min_priv(csr))
        return false;
    switch (csr) {
    case CSR_FFLAGS:
        if (!fs_enabled(cpu))
            return false;
        cpu->fflags = val & 0x1f;
        fs_mark_dirty(cpu);
        return true;
    case CSR_FRM:
        if (!fs_enabled(cpu))
            return false;
        cpu->frm = val & 7; /* reserved modes 5/6/7 are stored; using them is illegal */
        fs_mark_dirty(cpu);
        return true;
    case CSR_FCSR:
        if (!fs_enabled(cpu))
            return false;
        cpu->fflags = val & 0x1f;
        cpu->frm = (val >> 5) & 7;
        fs_mark_dirty(cpu);
        return true;

    case CSR_SSTATUS: {
        uint64_t mask = SSTATUS_WMASK;
        if (val & RV_MSTATUS_UXL)
            mask |= RV_MSTATUS_UXL;
        mstatus_write(cpu, (cpu->mstatus & ~mask) | (val & mask));
        return true;
    }
    case CSR_SIE: {
        uint64_t mask = cpu->mideleg & S_INTERRUPTS;
        cpu->mie = (cpu->mie & ~mask) | (val & mask);
        return true;
    }
    case CSR_STVEC: cpu->stvec = tvec_legal(cpu->stvec, val); return true;
    case CSR_SCOUNTEREN:
        cpu->scounteren = val; /* QEMU 7.2 keeps all 64 bits */
        return true;
    case CSR_SENVCFG: cpu->senvcfg = val & SENVCFG_WMASK; return true;
    case CSR_SSCRATCH: cpu->sscratch = val; return true;
    case CSR_SEPC:
        cpu->sepc = val; /* QEMU 7.2: stored as written, bit 0 included */
        return true;
    case CSR_SCAUSE: cpu->scause = val; return true;
    case CSR_STVAL: cpu->stval = val; return true;
    case CSR_SIP: mip_write(cpu, cpu->mideleg & SIP_WMASK, val); return true;
    case CSR_SATP:
        if (cpu->priv == RV_PRV_S && (cpu->mstatus & RV_MSTATUS_TVM))
            return false;
        satp_write(cpu, val);
        return true;

    case CSR_MSTATUS: mstatus_write(cpu, val); return true;
    case CSR_MISA: return true; /* QEMU 7.2: writes are ignored */
    case CSR_MEDELEG: cpu->medeleg = val & MEDELEG_WMASK; return true;
    case CSR_MIDELEG: cpu->mideleg = val & MIDELEG_WMASK; return true;
    case CSR_MIE: cpu->mie = val & MIE_WMASK; return true;
    case CSR_MTVEC: cpu->mtvec = tvec_legal(cpu->mtvec, val); return true;
    case CSR_MCOUNTEREN:
        cpu->mcounteren = val; /* QEMU 7.2 keeps all 64 bits */
        return true;
    case CSR_MENVCFG: cpu->menvcfg = val & MENVCFG_WMASK; return true;
    case CSR_MCOUNTINHIBIT: mcountinhibit_write(cpu, val); return true;
    case CSR_MSCRATCH: cpu->mscratch = val; return true;
    case CSR_MEPC:
        cpu->mepc = val; /* QEMU 7.2: stored as written, bit 0 included */
        return true;
    case CSR_MCAUSE: cpu->mcause = val; return true;
    case CSR_MTVAL: cpu->mtval = val; return true;
    case CSR_MIP:
        /* MSIP/MTIP/MEIP are driven by devices only (rv_cpu_set_irq). */
        mip_write(cpu, MIP_WMASK, val);
        return true;
    case CSR_PMPCFG0:
    case CSR_PMPCFG2: pmpcfg_write(cpu, (csr - CSR_PMPCFG0) / 2, val); return true;
    case CSR_MCYCLE:
    case CSR_MINSTRET: counter_write(cpu, csr - CSR_MCYCLE, val); return true;
    default:
        if (csr >= CSR_PMPADDR0 && csr <= CSR_PMPADDR15) {
            pmpaddr_write(cpu, csr - CSR_PMPADDR0, val);
            return true;
        }
        return false;
    }
}

/* ---- privilege, traps ---- */

unsigned rv_data_mmu_idx(RvCpu *cpu)
{
    uint64_t priv = cpu->priv;
    if (priv == RV_PRV_M && (cpu->mstatus & RV_MSTATUS_MPRV))
        priv = (cpu->mstatus & RV_MSTATUS_MPP) >> RV_MSTATUS_MPP_SHIFT;
    switch (priv) {
    case RV_PRV_M: return RV_MMU_M;
    case RV_PRV_S: return (cpu->mstatus & RV_MSTATUS_SUM) ? RV_MMU_S_SUM : RV_MMU_S;
    default: return RV_MMU_U; /* U, and the reserved MPP=2 (which mret also treats as U) */
    }
}

uint32_t rv_exec_mode(RvCpu *cpu)
{
    uint32_t mode = (uint32_t)cpu->priv & RV_MODE_PRV_MASK;
    mode |= rv_data_mmu_idx(cpu) << RV_MODE_DMMU_SHIFT;
    if (fs_enabled(cpu))
        mode |= RV_MODE_FS_ON;
    return mode;
}

static uint64_t trap_vector(uint64_t tvec, uint64_t cause, bool interrupt)
{
    uint64_t base = tvec & ~3ull;
    if (interrupt && (tvec & 3) == 1)
        return base + 4 * cause;
    return base;
}

void rv_trap_enter(RvCpu *cpu, uint64_t cause, bool interrupt, uint64_t epc, uint64_t tval)
{
    uint64_t deleg = interrupt ? cpu->mideleg : cpu->medeleg;
    uint64_t xcause = cause | (interrupt ? 1ull << 63 : 0);
    uint64_t s = cpu->mstatus;

    /* Delegation only applies to traps taken in S or U: a trap never lowers privilege. */
    if (cpu->priv <= RV_PRV_S && cause < 64 && ((deleg >> cause) & 1)) {
        s = (s & RV_MSTATUS_SIE) ? s | RV_MSTATUS_SPIE : s & ~RV_MSTATUS_SPIE;
        s = cpu->priv == RV_PRV_S ? s | RV_MSTATUS_SPP : s & ~RV_MSTATUS_SPP;
        s &= ~RV_MSTATUS_SIE;
        cpu->scause = xcause;
        cpu->sepc = epc;
        cpu->stval = tval;
        cpu->pc = trap_vector(cpu->stvec, cause, interrupt);
        cpu->priv = RV_PRV_S;
    } else {
        s = (s & RV_MSTATUS_MIE) ? s | RV_MSTATUS_MPIE : s & ~RV_MSTATUS_MPIE;
        s = (s & ~RV_MSTATUS_MPP) | ((cpu->priv & 3) << RV_MSTATUS_MPP_SHIFT);
        s &= ~RV_MSTATUS_MIE;
        cpu->mcause = xcause;
        cpu->mepc = epc;
        cpu->mtval = tval;
        cpu->pc = trap_vector(cpu->mtvec, cause, interrupt);
        cpu->priv = RV_PRV_M;
    }
    mstatus_set(cpu, s);
    /* QEMU 7.2 drops the LR reservation on every privilege-mode set (trap entry, xret). */
    cpu->res_addr = ~0ull;
}

void rv_raise_exception(RvCpu *cpu, uint64_t cause, uint64_t tval)
{
    uint64_t epc = vs_cpu_current_pc(&cpu->common);
    rv_trap_enter(cpu, cause, false, epc, tval);
    /* vs_cpu_unwind counts the exception in cpu->common.stats.exceptions. */
    vs_cpu_unwind(&cpu->common);
}

uint64_t rv_do_mret(RvCpu *cpu)
{
    if (cpu->priv != RV_PRV_M)
        rv_raise_exception(cpu, RV_EXC_ILLEGAL_INSN, RV_INSN_MRET);
    uint64_t s = cpu->mstatus;
    uint64_t mpp = (s & RV_MSTATUS_MPP) >> RV_MSTATUS_MPP_SHIFT;
    /* QEMU 7.2: returning below M while no PMP entry is active is an illegal instruction. */
    if (mpp != RV_PRV_M && !pmp_any_active(cpu))
        rv_raise_exception(cpu, RV_EXC_ILLEGAL_INSN, RV_INSN_MRET);

    s = (s & RV_MSTATUS_MPIE) ? s | RV_MSTATUS_MIE : s & ~RV_MSTATUS_MIE;
    s |= RV_MSTATUS_MPIE;
    s &= ~(RV_MSTATUS_MPP | MSTATUS_MPV); /* MPP = U, the least privileged mode */
    /*
     * QEMU 7.2 does not implement the 1.12 rule that mret to S/U clears MPRV (checked: MPRV
     * survives mret to S and sret to U), so neither does Vessel.
     */
    mstatus_set(cpu, s);
    cpu->priv = mpp == RV_PRV_M ? RV_PRV_M : mpp == RV_PRV_S ? RV_PRV_S : RV_PRV_U;
    cpu->res_addr = ~0ull;
    /* QEMU 7.2 would jump to an odd mepc as is; Vessel keeps pc 2-byte aligned. */
    return cpu->mepc & ~1ull;
}

uint64_t rv_do_sret(RvCpu *cpu)
{
    if (cpu->priv < RV_PRV_S)
        rv_raise_exception(cpu, RV_EXC_ILLEGAL_INSN, RV_INSN_SRET);
    if (cpu->priv == RV_PRV_S && (cpu->mstatus & RV_MSTATUS_TSR))
        rv_raise_exception(cpu, RV_EXC_ILLEGAL_INSN, RV_INSN_SRET);
    uint64_t s = cpu->mstatus;
    bool spp = (s & RV_MSTATUS_SPP) != 0;
    s = (s & RV_MSTATUS_SPIE) ? s | RV_MSTATUS_SIE : s & ~RV_MSTATUS_SIE;
    s |= RV_MSTATUS_SPIE;
    s &= ~RV_MSTATUS_SPP;
    mstatus_set(cpu, s); /* QEMU 7.2: MPRV is left alone here too */
    cpu->priv = spp ? RV_PRV_S : RV_PRV_U;
    cpu->res_addr = ~0ull;
    return cpu->sepc & ~1ull;
}

int rv_pending_interrupt(RvCpu *cpu)
{
    uint64_t pending = atomic_load_explicit(&cpu->mip, memory_order_relaxed) & cpu->mie;
    if (!pending)
        return -1;
    bool m_enabled = cpu->priv < RV_PRV_M || (cpu->mstatus & RV_MSTATUS_MIE);
    bool s_enabled =
        cpu->priv < RV_PRV_S || (cpu->priv == RV_PRV_S && (cpu->mstatus & RV_MSTATUS_SIE));
    /*
     * Interrupts for M (not delegated) first, then those delegated to S. QEMU 7.2 without
     * AIA picks the lowest-numbered pending interrupt within each group (so SSI > MSI >
     * STI > MTI > SEI > MEI), not the spec's MEI, MSI, MTI, SEI, SSI, STI order; checked.
     */
    uint64_t m_irqs = pending & ~cpu->mideleg;
    if (m_enabled && m_irqs)
        return __builtin_ctzll(m_irqs);
    uint64_t s_irqs = pending & cpu->mideleg;
    if (s_enabled && s_irqs)
        return __builtin_ctzll(s_irqs);
    return -1;
}

void rv_cpu_reset(RvCpu *cpu)
{
    for (int i = 0; i < 32; i++) {
        cpu->x[i] = 0;
        cpu->f[i] = 0;
    }
    cpu->pc = 0x1000; /* QEMU's reset vector; the board sets the real entry point */
    cpu->fflags = 0;
    cpu->frm = 0;
    cpu->res_addr = ~0ull;
    cpu->res_val = 0;
    cpu->priv = RV_PRV_M;

    cpu->misa = RV_MISA_VALUE;
    /* SXL = UXL = 2, FS = Off, all enables clear, MPP = U. */
    cpu->mstatus = (2ull << MSTATUS_SXL_SHIFT) | (2ull << MSTATUS_UXL_SHIFT);
    cpu->medeleg = cpu->mideleg = 0;
    cpu->mie = 0;
    /* Software-set pending bits are cleared; lines that devices drive keep their level. */
    uint64_t old = atomic_load(&cpu->mip), nv;
    do {
        nv = mip_seip_fold(old & MIP_DEVICE_BITS);
    } while (nv != old && !atomic_compare_exchange_weak(&cpu->mip, &old, nv));
    cpu->mtvec = cpu->mscratch = cpu->mepc = cpu->mcause = cpu->mtval = 0;
    cpu->mcounteren = cpu->menvcfg = cpu->mcountinhibit = 0;
    cpu->mhartid = cpu->common.index;
    for (unsigned i = 0; i < RV_PMP_COUNT / 8; i++)
        cpu->pmpcfg[i] = 0;
    for (unsigned i = 0; i < RV_PMP_COUNT; i++)
        cpu->pmpaddr[i] = 0;
    cpu->stvec = cpu->sscratch = cpu->sepc = cpu->scause = cpu->stval = 0;
    cpu->scounteren = cpu->senvcfg = 0;
    cpu->satp = 0;
    /* Counters restart from 0. */
    cpu->cycle_offset = (int64_t)(0 - cpu->common.insn_count);
    cpu->instret_offset = cpu->cycle_offset;
    /* Translations made before the reset are stale (satp and priv changed). */
    if (cpu->common.tlb_desc)
        tlb_flush_mask(&cpu->common, RV_TLB_SU_MASK);
}
