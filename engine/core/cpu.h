/* SPDX-License-Identifier: MIT */
/*
 * The arch-independent part of a vCPU and the hooks an architecture provides.
 *
 * Each arch CPU struct starts with a VsCpu (`RvCpu { VsCpu common; ... }`), so the same
 * pointer is both; IR globals are byte offsets from it.
 */
#ifndef VESSEL_CPU_H
#define VESSEL_CPU_H

#include <pthread.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "ir/ir.h"
#include "mmu/mmu.h"

typedef struct VsBlock VsBlock;
typedef struct VsArchOps VsArchOps;

/* Bits of VsCpu.interrupt_request: why the running block chain must return to the loop. */
enum {
    CPU_REQ_EXIT = 1u << 0,  /* stop/pause/exclusive section requested by the machine */
    CPU_REQ_IRQ = 1u << 1,   /* an interrupt line changed: re-check pending interrupts */
    CPU_REQ_FLUSH = 1u << 2, /* translations invalidated; flush the jump cache */
    /* Permanent while --trace-state records the state at every block boundary: the vCPU
     * loop ignores it, but it makes every block's chaining return to the loop (both tiers
     * test interrupt_request != 0 before entering the next block). core/trace-state.h */
    CPU_REQ_TRACE = 1u << 3,
};

#define JMP_CACHE_BITS 12
#define JMP_CACHE_SIZE (1u << JMP_CACHE_BITS)
#define JMP_PAGE_BITS  4096u

typedef struct JmpCacheEntry {
    uint64_t vpc;
    uint32_t mode;
    VsBlock *block;
} JmpCacheEntry;

typedef struct VsCpuStats {
    uint64_t blocks_executed;
    uint64_t insns_executed;
    uint64_t loop_entries;     /* blocks entered from the vCPU loop, not by chaining */
    uint64_t jmp_cache_misses; /* chaining found no block in the jump cache */
    uint64_t tlb_fills;        /* entries filled after a page walk (loads, stores, fetches) */
    uint64_t tlb_lookups;      /* loads/stores/atomics executed (counted with --stats only) */
    uint64_t tlb_misses;       /* loads/stores/atomics that missed the main TLB */
    uint64_t tlb_victim_hits;  /* ... of those, found in the victim TLB (no walk) */
    uint64_t tlb_flushes;      /* tables cleared by full flushes (empty ones are skipped) */
    uint64_t tlb_page_flushes; /* single-page flushes */
    uint64_t tlb_resizes;
    uint64_t exceptions, interrupts;
} VsCpuStats;

typedef struct VsCpu {
    /* Hot fields first. */
    _Atomic uint32_t interrupt_request; /* CPU_REQ_* */
    uint32_t mode;                      /* translation mode of the code now running */
    JmpCacheEntry *jmp_cache;           /* [JMP_CACHE_SIZE] */
    VsBlock *cur_block;                 /* block being executed */
    const void *cur_op;                 /* interpreter op being executed (for faults) */
    uint64_t insn_count;                /* retired guest instructions (approximate) */
    TlbFast tlb[TLB_MAX_MMU_IDX];       /* what the inline TLB lookups read */

    uint64_t temps[IR_MAX_TEMPS]; /* interpreter temp frame */

    const VsArchOps *ops;
    VsMachine *machine;
    unsigned index;
    sigjmp_buf unwind; /* exceptions unwind here (the vCPU loop) */
    bool in_exec;      /* unwind is valid */

    pthread_t thread;
    bool thread_started;
    /* Sleeping in wfi. */
    pthread_mutex_t halt_lock;
    pthread_cond_t halt_cond;
    bool halted;

    IrFunc xlate; /* translation scratch (reused) */

    /* One bit per (virtual page number mod JMP_PAGE_BITS): set when a jump-cache entry for
     * a pc in such a page is made, cleared when the whole jump cache is. A single-page
     * flush (sfence.vma with an address) skips the scan when its bit is clear. */
    uint64_t jmp_pages[JMP_PAGE_BITS / 64];

    TlbDesc *tlb_desc; /* [TLB_MAX_MMU_IDX]: sizing state and victim entries */
    void *tlb_mem;     /* the tables' reservation (tlb_init) */
    size_t tlb_mem_size;

    void *accel; /* AccelVcpu (accel/accel.h) when a hardware accelerator runs this vCPU */

    VsCpuStats stats;

    /* JIT tier (engine/jit): on for --accel jit; a block is compiled once it has run
     * jit_threshold times (0: before its first run). */
    bool jit_enabled;
    uint64_t jit_threshold;
    /* The unlinked direct exit the last compiled block left through (a JitLink), so that
     * jit_run can patch it to jump straight to the block it finds next. */
    void *jit_link;
} VsCpu;

/*
 * What an architecture provides. The vCPU loop (core/cpu-exec.c) calls these; the
 * frontend translates guest code into IR; the page walker fills the TLB.
 */
struct VsArchOps {
    const char *name;
    size_t cpu_size; /* sizeof the arch CPU struct */
    const IrGlobals *globals;
    /* State outside the IR globals that --trace-state records too (CSRs): name, offset
     * in the arch CPU struct, IR_I64. Nothing time-dependent (core/trace-state.h). */
    const IrGlobalDef *trace_fields;
    unsigned ntrace_fields;
    unsigned mmu_modes; /* number of MMU indexes used */

    /* Reset the arch state (called at creation and on system reset). */
    void (*cpu_reset)(VsCpu *cpu);
    /* Current virtual pc and translation mode bits (the block key besides phys pc). */
    void (*get_exec_key)(VsCpu *cpu, uint64_t *vpc, uint32_t *mode);
    /* MMU index used for instruction fetch in the given mode. */
    unsigned (*code_mmu_idx)(uint32_t mode);
    /*
     * Translate one block starting at vpc (physical ppc, host bytes at `code` valid up to
     * the end of the page) into f. Returns the number of guest bytes covered. The block
     * must end with a block exit op. May read the next page via mmu_translate_code for an
     * instruction that crosses the page (then *ppc2 is set to the second page).
     */
    unsigned (*translate)(VsCpu *cpu, IrFunc *f, uint64_t vpc, uint32_t mode, unsigned *ninsns,
                          uint64_t *ppc2);
    /* Deliver a pending enabled interrupt if any (changes pc/mode). Returns true if taken. */
    bool (*check_interrupts)(VsCpu *cpu);
    /* True if an interrupt is pending that should wake the CPU from wfi (even if masked). */
    bool (*has_work)(VsCpu *cpu);
    /*
     * Page walk for vaddr/access in mmu_idx. On success fill *paddr and *prot and return
     * true. On failure return false with *fault_kind (0 page fault, 1 access fault); the
     * caller then calls raise_mmu_fault.
     */
    bool (*tlb_fill)(VsCpu *cpu, uint64_t vaddr, int access, unsigned mmu_idx, uint64_t *paddr,
                     int *prot, uint64_t *page_size, int *fault_kind);
    /* Raise the guest fault for a failed access. Does not return. kind: 0 = page fault,
     * 1 = access fault (nothing mapped / PMP), 2 = misaligned. */
    void (*raise_mmu_fault)(VsCpu *cpu, uint64_t vaddr, int access, int kind)
        __attribute__((noreturn));
    /* Print registers (debugging, crash reports). */
    void (*dump_state)(VsCpu *cpu, void *file);
};

/* Kick a vCPU: make it leave its block chain soon and wake it from wfi. Thread-safe. */
void vs_cpu_kick(VsCpu *cpu, uint32_t req);
/* The vCPU the calling thread runs, or NULL on any other thread. */
VsCpu *vs_cpu_self(void);
/*
 * Unwind from a helper/slow path to the vCPU loop after the arch has updated the guest
 * state for an exception (trap entry done, pc at the handler). An arch that raises an
 * exception from inside a block gets the faulting instruction's pc from
 * vs_cpu_current_pc() first.
 */
void vs_cpu_unwind(VsCpu *cpu) __attribute__((noreturn));
/* The guest pc of the instruction being executed (from cur_block/cur_op). */
uint64_t vs_cpu_current_pc(VsCpu *cpu);

/* The vCPU thread body. */
void *vs_cpu_thread_main(void *arg);

#endif
