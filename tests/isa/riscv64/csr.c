/* SPDX-License-Identifier: MIT */
/*
 * csr: Zicsr instruction semantics (csrrw/rs/rc and the immediate forms, rd = x0 and
 * rs1 = x0 / zimm = 0 special cases), WARL masks of the machine and supervisor CSRs
 * (mstatus/sstatus, mie/sie, mip/sip, medeleg/mideleg, mepc/sepc, mtvec/stvec,
 * mcounteren/scounteren, satp MODE), read-only CSRs, non-existent CSRs and privilege
 * checks from S- and U-mode.
 */
#include "isa.h"

static const u64 vals[] = {
    0,
    1,
    0xfffffffffffffffful,
    0x8000000000000000ul,
    0x00000000fffffffful,
    0x0123456789abcdeful,
    0x1f,
    0x15,
};

static void insn_semantics(void)
{
    /* mscratch/sscratch hold the trap stacks: restore them at the end */
    u64 saved_m = csr_read(mscratch), saved_s = csr_read(sscratch);
    for (unsigned i = 0; i < ARRAY_SIZE(vals); i++)
        for (unsigned j = 0; j < ARRAY_SIZE(vals); j++) {
            u64 o1, o2, o3, n1, n2, n3;
            csr_write(mscratch, vals[i]);
            asm volatile("csrrw %0, mscratch, %1" : "=r"(o1) : "r"(vals[j]));
            n1 = csr_read(mscratch);
            csr_write(mscratch, vals[i]);
            asm volatile("csrrs %0, mscratch, %1" : "=r"(o2) : "r"(vals[j]));
            n2 = csr_read(mscratch);
            csr_write(mscratch, vals[i]);
            asm volatile("csrrc %0, mscratch, %1" : "=r"(o3) : "r"(vals[j]));
            n3 = csr_read(mscratch);
            pr("csrr[wsc] %u %u %p %p %p %p %p %p\n", i, j, o1, n1, o2, n2, o3, n3);
        }
    for (unsigned i = 0; i < ARRAY_SIZE(vals); i++) {
        u64 o1, o2, o3, n1, n2, n3;
        csr_write(sscratch, vals[i]);
        asm volatile("csrrwi %0, sscratch, 0x15" : "=r"(o1));
        n1 = csr_read(sscratch);
        csr_write(sscratch, vals[i]);
        asm volatile("csrrsi %0, sscratch, 0x1f" : "=r"(o2));
        n2 = csr_read(sscratch);
        csr_write(sscratch, vals[i]);
        asm volatile("csrrci %0, sscratch, 0x11" : "=r"(o3));
        n3 = csr_read(sscratch);
        pr("csrr[wsc]i %u %p %p %p %p %p %p\n", i, o1, n1, o2, n2, o3, n3);
    }
    /* rd = x0 and rs1 = x0 forms; rd == rs1 */
    u64 r = 0x77;
    csr_write(mscratch, 0x1234);
    asm volatile("csrrw x0, mscratch, %0" ::"r"(r));
    pr("csrrw x0 -> %lx\n", csr_read(mscratch));
    asm volatile("csrrs %0, mscratch, x0" : "=r"(r));
    pr("csrrs x0 read %lx now %lx\n", r, csr_read(mscratch));
    asm volatile("csrrc %0, mscratch, x0" : "=r"(r));
    pr("csrrc x0 read %lx now %lx\n", r, csr_read(mscratch));
    asm volatile("csrrsi %0, mscratch, 0\n csrrci %0, mscratch, 0" : "=r"(r));
    pr("csrr[sc]i 0 read %lx now %lx\n", r, csr_read(mscratch));
    r = 0xf0;
    asm volatile("csrrw %0, mscratch, %0" : "+r"(r));
    pr("csrrw rd=rs1 old %lx new %lx\n", r, csr_read(mscratch));
    r = 0x0f;
    asm volatile("csrrs %0, mscratch, %0" : "+r"(r));
    pr("csrrs rd=rs1 old %lx new %lx\n", r, csr_read(mscratch));
    csr_write(mscratch, saved_m);
    csr_write(sscratch, saved_s);
}

#define WARL(name, csr, mask)                                           \
    do {                                                                \
        u64 old = csr_read(csr);                                        \
        csr_write(csr, ~0ul);                                           \
        u64 ones = csr_read(csr);                                       \
        csr_write(csr, 0);                                              \
        u64 zeros = csr_read(csr);                                      \
        csr_write(csr, old);                                            \
        pr("%s ones=%p zeros=%p\n", name, ones &(mask), zeros &(mask)); \
    } while (0)

static void warl(void)
{
    pr("misa %p\n", csr_read(misa));
    pr("mhartid %lx mvendorid %lx\n", csr_read(mhartid), csr_read(mvendorid));
    /* mstatus: everything writable except what is read-only; keep MPRV harmless:
     * all ones also sets MPP = M. Interrupts cannot fire: mie = 0.
     * Bits 32-39 (UXL/SXL/SBE/MBE/GVA/MPV) and VS (9-10) are written as zero: QEMU 7.2
     * lets UXL be set to 3 and GVA/MPV/VS be set without H/V, which is not what the
     * spec allows for this hart, so those bits are not exercised. */
    const u64 ones_w = ~0xff00000600ul;
    u64 old = csr_read(mstatus);
    csr_write(mie, 0);
    csr_write(mstatus, ones_w);
    u64 ones = csr_read(mstatus);
    csr_write(mstatus, 0);
    u64 zeros = csr_read(mstatus);
    csr_write(mstatus, old);
    pr("mstatus ones=%p zeros=%p\n", ones, zeros);
    /* MPP accepts U, S, M */
    for (u64 m = 0; m < 4; m++) {
        if (m == 2)
            continue; /* reserved encoding: WARL, not compared */
        csr_clear(mstatus, MSTATUS_MPP);
        csr_set(mstatus, m << 11);
        pr("mstatus.MPP w=%lu r=%lu\n", m, (csr_read(mstatus) >> 11) & 3);
    }
    csr_write(mstatus, old);
    /* sstatus is a restricted view of mstatus */
    old = csr_read(mstatus);
    csr_write(sstatus, ones_w);
    pr("sstatus ones: sstatus=%p mstatus=%p\n", csr_read(sstatus), csr_read(mstatus));
    csr_write(sstatus, 0);
    pr("sstatus zeros: sstatus=%p mstatus=%p\n", csr_read(sstatus), csr_read(mstatus));
    csr_write(mstatus, old);
    /* delegation registers: only the spec-defined delegable bits are compared
     * (QEMU 7.2 also lets medeleg[11] and hypervisor bits be written) */
    WARL("medeleg&b3ff", medeleg, 0xb3fful);
    WARL("mideleg&222", mideleg, 0x222ul);
    WARL("mie&aaa", mie, 0xaaaul);
    /* mip: only SSIP, STIP, SEIP are writable from M */
    csr_write(mip, ~0ul);
    pr("mip ones=%p\n", csr_read(mip) & 0xaaaul);
    csr_write(mip, 0);
    pr("mip zeros=%p\n", csr_read(mip) & 0xaaaul);
    /* sie/sip are views through mideleg */
    csr_write(mideleg, 0);
    csr_write(sie, ~0ul);
    pr("mideleg=0: sie=%p mie=%p\n", csr_read(sie), csr_read(mie));
    csr_write(mideleg, 0x222);
    csr_write(sie, ~0ul);
    pr("mideleg=222: sie=%p mie=%p\n", csr_read(sie), csr_read(mie));
    csr_write(sip, ~0ul);
    pr("sip write ones: sip=%p mip=%p\n", csr_read(sip), csr_read(mip));
    csr_write(mip, 1ul << IRQ_STI);
    pr("mip.STIP set: sip=%p\n", csr_read(sip));
    csr_write(mip, 0);
    csr_write(sie, 0);
    csr_write(mie, 0);
    csr_write(mideleg, 0);
    /* xepc: bit 0 must read as zero, but QEMU 7.2 returns it as written; only
     * bits 63..1 are compared */
    WARL("mepc&~1", mepc, ~1ul);
    WARL("sepc&~1", sepc, ~1ul);
    csr_write(mepc, 0x80000002ul);
    pr("mepc 0x80000002 -> %lx\n", csr_read(mepc));
    /* trap vectors: direct and vectored modes */
    old = csr_read(mtvec);
    csr_write(mtvec, (u64)mtvec_table | 1);
    pr("mtvec vectored %lx\n", csr_read(mtvec) - (u64)mtvec_table);
    csr_write(mtvec, (u64)trap_entry_m);
    pr("mtvec direct %lx\n", csr_read(mtvec) - (u64)trap_entry_m);
    csr_write(mtvec, old);
    old = csr_read(stvec);
    csr_write(stvec, (u64)stvec_table | 1);
    pr("stvec vectored %lx\n", csr_read(stvec) - (u64)stvec_table);
    csr_write(stvec, old);
    WARL("mscratch", mscratch, ~0ul);
    WARL("sscratch", sscratch, ~0ul);
    WARL("mtval", mtval, ~0ul);
    WARL("stval", stval, ~0ul);
    csr_write(mcause, 0x8000000000000007ul);
    pr("mcause irq7 %p\n", csr_read(mcause));
    csr_write(mcause, 2);
    pr("mcause 2 %p\n", csr_read(mcause));
    csr_write(scause, 0x8000000000000005ul);
    pr("scause irq5 %p\n", csr_read(scause));
    csr_write(scause, 13);
    pr("scause 13 %p\n", csr_read(scause));
    WARL("mcounteren&7", mcounteren, 7);
    WARL("scounteren&7", scounteren, 7);
    /* satp: unsupported MODE values leave the register unchanged */
    const u64 sv39 = (8ul << 60) | 0x80123ul, sv48 = (9ul << 60) | 0x80456ul;
    csr_write(satp, sv39);
    pr("satp sv39 %p\n", csr_read(satp));
    csr_write(satp, sv48);
    pr("satp sv48 %p\n", csr_read(satp));
    csr_write(satp, (1ul << 60) | 0x80789ul);
    pr("satp mode1 (ignored) %p\n", csr_read(satp));
    csr_write(satp, (12ul << 60) | 0x80789ul);
    pr("satp mode12 (ignored) %p\n", csr_read(satp));
    csr_write(satp, 0);
    pr("satp bare %p\n", csr_read(satp));
    pr("pmpcfg0&ff %lx\n", csr_read(pmpcfg0) & 0xff);
}

/* ---- read-only / missing CSRs, privilege checks ---- */

#define TRY_ASM(label, insn)                                                                    \
    do {                                                                                        \
        trap_reset();                                                                           \
        asm volatile(".option push\n .option norvc\n" insn "\n.option pop" ::: "t0", "memory"); \
        trap_print(label, 0);                                                                   \
    } while (0)

static u64 s_mode_accesses(u64 arg)
{
    (void)arg;
    TRY_ASM("S csrr sstatus", "csrr t0, sstatus");
    TRY_ASM("S csrr sscratch", "csrr t0, sscratch");
    TRY_ASM("S csrr mstatus", "csrr t0, mstatus");
    TRY_ASM("S csrr mscratch", "csrr t0, mscratch");
    TRY_ASM("S csrw medeleg", "csrw medeleg, zero");
    TRY_ASM("S csrr mhartid", "csrr t0, mhartid");
    TRY_ASM("S csrr misa", "csrr t0, misa");
    TRY_ASM("S csrr satp", "csrr t0, satp");
    TRY_ASM("S csrr sip", "csrr t0, sip");
    return 0;
}

static u64 u_mode_accesses(u64 arg)
{
    (void)arg;
    TRY_ASM("U csrr sstatus", "csrr t0, sstatus");
    TRY_ASM("U csrr sscratch", "csrr t0, sscratch");
    TRY_ASM("U csrr mstatus", "csrr t0, mstatus");
    TRY_ASM("U csrr satp", "csrr t0, satp");
    TRY_ASM("U frcsr", "frcsr t0");
    TRY_ASM("U csrw fflags", "csrw fflags, zero");
    return 0;
}

static void access_checks(void)
{
    g_expect = 1;
    TRY_ASM("csrr mhartid", "csrr t0, mhartid");
    TRY_ASM("csrw mhartid", "csrw mhartid, t0");
    TRY_ASM("csrrs mhartid,x0", "csrrs t0, mhartid, x0");
    TRY_ASM("csrrsi mhartid,0", "csrrsi t0, mhartid, 0");
    TRY_ASM("csrrc mhartid,x0", "csrrc t0, mhartid, x0");
    TRY_ASM("csrrwi mhartid,0", "csrrwi x0, mhartid, 0");
    TRY_ASM("csrrs mvendorid,t0", "li t0, 1\n csrrs x0, mvendorid, t0");
    TRY_ASM("csrw cycle", "csrw cycle, zero");
    TRY_ASM("csrw time", "csrw time, zero");
    TRY_ASM("csrw instret", "csrw instret, zero");
    TRY_ASM("csr 0x3ff", "csrr t0, 0x3ff");
    TRY_ASM("csr 0x1ff", "csrr t0, 0x1ff");
    TRY_ASM("csr 0x0ff", "csrr t0, 0x0ff");
    TRY_ASM("csr 0x800", "csrr t0, 0x800");
    TRY_ASM("csr 0x7c0", "csrw 0x7c0, zero");
    run_in_mode(PRV_S, s_mode_accesses, 0, 0);
    run_in_mode(PRV_U, u_mode_accesses, 0, 0);
    g_expect = 0;
}

int main(void)
{
    pr("# csr\n");
    insn_semantics();
    warl();
    access_checks();
    return 0;
}
