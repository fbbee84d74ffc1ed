/* SPDX-License-Identifier: MIT */
/*
 * The vCPU thread: interrupts and requests at block boundaries, block lookup and
 * translation, the interpreter, wfi sleeps, and unwinding from guest exceptions.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "accel/accel-machine.h"
#include "core/blocks.h"
#include "core/cpu.h"
#include "core/machine.h"
#include "core/trace-state.h"
#include "ir/interp.h"
#include "jit/jit.h"

void vs_cpu_kick(VsCpu *cpu, uint32_t req)
{
    atomic_fetch_or(&cpu->interrupt_request, req);
    pthread_mutex_lock(&cpu->halt_lock);
    pthread_cond_signal(&cpu->halt_cond);
    pthread_mutex_unlock(&cpu->halt_lock);
    if (cpu->accel)
        accel_cpu_kick(cpu);
}

void vs_cpu_unwind(VsCpu *cpu)
{
    cpu->stats.exceptions++;
    siglongjmp(cpu->unwind, 1);
}

uint64_t vs_cpu_current_pc(VsCpu *cpu)
{
    if (cpu->cur_block && cpu->cur_op) {
        /* cur_op is an interpreter op, or a host pc inside the block's generated code. */
        uint64_t pc;
        if (jit_block_pc(cpu->cur_block, cpu->cur_op, &pc))
            return pc;
        return block_pc_of_op(cpu->cur_block, (const InterpInsn *)cpu->cur_op);
    }
    uint64_t vpc;
    uint32_t mode;
    cpu->ops->get_exec_key(cpu, &vpc, &mode);
    return vpc;
}

static VsBlock *find_block(VsCpu *cpu, uint64_t vpc, uint32_t mode)
{
    JmpCacheEntry *je = &cpu->jmp_cache[jmp_cache_hash(vpc)];
    VsBlock *b = je->block;
    if (b && je->vpc == vpc && je->mode == mode && atomic_load(&b->valid))
        return b;
    uint8_t *host;
    uint64_t ppc = mmu_translate_code(cpu, vpc, cpu->ops->code_mmu_idx(mode), &host);
    b = blocks_lookup(cpu->machine->blocks, vpc, ppc, mode);
    if (!b) {
        b = blocks_translate(cpu, vpc, ppc, mode);
        /* JIT-only: compile now, while cpu->xlate still holds the block's optimised IR
         * (also when another vCPU inserted the same block first: same key, same IR). */
        if (cpu->jit_enabled && cpu->jit_threshold == 0 && atomic_load(&b->valid) && !b->jit_code &&
            !b->jit_failed && !jit_wants_flush(cpu->machine->jit)) {
            jit_compile(cpu->machine->jit, b, &cpu->xlate);
            if (jit_wants_flush(cpu->machine->jit))
                atomic_fetch_or(&cpu->interrupt_request, CPU_REQ_EXIT);
        }
    }
    jmp_cache_note_page(cpu, vpc);
    je->vpc = vpc;
    je->mode = mode;
    je->block = b;
    return b;
}

/* Sleep in wfi until there is work or a request. */
static void cpu_halt_wait(VsCpu *cpu)
{
    pthread_mutex_lock(&cpu->halt_lock);
    while (cpu->halted && !(atomic_load(&cpu->interrupt_request) & ~CPU_REQ_TRACE) &&
           !cpu->ops->has_work(cpu))
        pthread_cond_wait(&cpu->halt_cond, &cpu->halt_lock);
    pthread_mutex_unlock(&cpu->halt_lock);
}

static void flush_cb(VsMachine *m, void *arg)
{
    (void)arg;
    blocks_flush_all(m);
}

static void reap_cb(VsMachine *m, void *arg)
{
    (void)arg;
    blocks_reap(m->blocks);
    /* The jump caches may still point at the blocks just freed. */
    for (unsigned c = 0; c < m->ncpus; c++)
        jmp_cache_flush(m->cpus[c]);
}

/* Returns false when the vCPU must leave (machine stopping). */
static bool handle_requests(VsCpu *cpu)
{
    VsMachine *m = cpu->machine;
    /* CPU_REQ_TRACE stays set while tracing (core/trace-state.h). */
    uint32_t req = atomic_fetch_and(&cpu->interrupt_request, CPU_REQ_TRACE);
    if (req & CPU_REQ_FLUSH) {
        jmp_cache_flush(cpu);
    }
    if (atomic_load_explicit(&m->reset_requested, memory_order_acquire) && cpu->index == 0) {
        /* Performed by vCPU 0 inside an exclusive section (see machine.c). */
        vs_machine_do_reset(m, cpu);
    }
    vs_machine_cpu_checkpoint(m, cpu);
    if (__atomic_load_n(&m->stop_requested, __ATOMIC_ACQUIRE))
        return false;
    if (blocks_over_limit(m->blocks) || jit_wants_flush(m->jit))
        vs_machine_request_flush(m, cpu);
    else if (blocks_need_reap(m->blocks))
        vs_machine_exclusive(m, cpu, reap_cb, NULL);
    return true;
}

static void cpu_loop(VsCpu *cpu)
{
    VsMachine *m = cpu->machine;
    const VsArchOps *arch = cpu->ops;

    if (sigsetjmp(cpu->unwind, 0)) {
        /* A guest exception unwound here; the arch already entered the trap. */
        cpu->cur_block = NULL;
        cpu->cur_op = NULL;
        cpu->halted = false;
    }
    for (;;) {
        if ((atomic_load_explicit(&cpu->interrupt_request, memory_order_relaxed) &
             ~CPU_REQ_TRACE) ||
            __atomic_load_n(&m->stop_requested, __ATOMIC_RELAXED)) {
            if (!handle_requests(cpu))
                return;
        }
        cpu->cur_block = NULL;
        cpu->cur_op = NULL;
        if (arch->check_interrupts(cpu)) {
            cpu->halted = false;
            cpu->stats.interrupts++;
        }
        if (cpu->halted) {
            if (arch->has_work(cpu)) {
                cpu->halted = false;
            } else {
                cpu_halt_wait(cpu);
                continue;
            }
        }
        uint64_t vpc;
        uint32_t mode;
        arch->get_exec_key(cpu, &vpc, &mode);
        cpu->mode = mode;
        if (m->trace_state)
            trace_state_record(m->trace_state, cpu, mode);
        VsBlock *b = find_block(cpu, vpc, mode);
        if (m->cfg.trace & VS_TRACE_EXEC)
            fprintf(stderr, "cpu%u: exec 0x%llx mode=0x%x\n", cpu->index, (unsigned long long)vpc,
                    mode);
        cpu->stats.loop_entries++;
        int r = cpu->jit_enabled ? jit_run(cpu, b) : interp_exec(cpu, b);
        cpu->cur_block = NULL;
        cpu->cur_op = NULL;
        switch (r) {
        case INTERP_RET_EXIT_BASE + IR_EXIT_HALT: cpu->halted = true; break;
        case INTERP_RET_EXIT_BASE + IR_EXIT_FLUSH: jmp_cache_flush(cpu); break;
        default: break;
        }
    }
}

static __thread VsCpu *self_cpu;

VsCpu *vs_cpu_self(void)
{
    return self_cpu;
}

void *vs_cpu_thread_main(void *arg)
{
    VsCpu *cpu = arg;
    self_cpu = cpu;
    char name[16];
    snprintf(name, sizeof(name), "vcpu%u", cpu->index);
    vs_thread_set_name(name);
    if (cpu->accel)
        accel_cpu_loop(cpu);
    else
        cpu_loop(cpu);
    vs_machine_cpu_exited(cpu->machine, cpu);
    return NULL;
}

void vs_machine_request_flush(VsMachine *m, VsCpu *self)
{
    vs_machine_exclusive(m, self, flush_cb, NULL);
}
