/* SPDX-License-Identifier: MIT */
/* The machine object: creation, vCPU threads, state changes, pause/exclusive, reset. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accel/accel-machine.h"
#include "arch/arm64/a64-cpu.h"
#include "arch/riscv64/rv-cpu.h"
#include "boards/boards.h"
#include "core/blocks.h"
#include "core/iothread.h"
#include "core/machine.h"
#include "core/pin.h"
#include "core/trace-state.h"
#include "jit/jit.h"
#include "virtio/vdev.h"

/*
 * A reset loop is RESET_LOOP_COUNT resets in a row, each after a short life: fewer than
 * RESET_LOOP_INSNS guest instructions or less than RESET_LOOP_NS since the previous one.
 * The instruction count keeps the verdict on a slow or loaded host (a sanitizer build
 * boots several times slower); the time catches a loop whose boots run up instructions on
 * a spinning vCPU.
 */
#define RESET_LOOP_COUNT 8
#define RESET_LOOP_INSNS 2000000000ull
#define RESET_LOOP_NS    10000000000ull

static const VsArchOps *arch_find(VsArch arch)
{
    switch (arch) {
    case VS_ARCH_RISCV64: return &rv_arch_ops;
    case VS_ARCH_ARM64: return &a64_arch_ops;
    default: return NULL;
    }
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* Deep copies of the device arrays in VsConfig (strings included). */
static bool dup_str(const char **dst, const char *src)
{
    *dst = NULL;
    if (!src)
        return true;
    return (*dst = strdup(src)) != NULL;
}

static void *dup_array(const void *src, size_t n, size_t size)
{
    if (!n)
        return NULL;
    void *p = calloc(n, size);
    if (p)
        memcpy(p, src, n * size);
    return p;
}

static bool config_dup_devices(VsConfig *dst, const VsConfig *src)
{
    dst->disks = NULL;
    dst->nets = NULL;
    dst->shares = NULL;
    VsDiskConfig *disks = dup_array(src->disks, src->ndisks, sizeof(*disks));
    VsNetConfig *nets = dup_array(src->nets, src->nnets, sizeof(*nets));
    VsShareConfig *shares = dup_array(src->shares, src->nshares, sizeof(*shares));
    dst->disks = disks;
    dst->nets = nets;
    dst->shares = shares;
    if ((src->ndisks && !disks) || (src->nnets && !nets) || (src->nshares && !shares)) {
        dst->ndisks = disks ? src->ndisks : 0;
        dst->nnets = nets ? src->nnets : 0;
        dst->nshares = shares ? src->nshares : 0;
        return false;
    }
    bool ok = true;
    for (unsigned i = 0; i < src->ndisks; i++)
        ok &= dup_str(&disks[i].path, src->disks[i].path);
    for (unsigned i = 0; i < src->nshares; i++) {
        ok &= dup_str(&shares[i].path, src->shares[i].path);
        ok &= dup_str(&shares[i].tag, src->shares[i].tag);
    }
    for (unsigned i = 0; i < src->nnets; i++) {
        nets[i].forwards = NULL;
        ok &= dup_str(&nets[i].ifname, src->nets[i].ifname);
        VsPortForward *fw = dup_array(src->nets[i].forwards, src->nets[i].nforwards, sizeof(*fw));
        if (src->nets[i].nforwards && !fw) {
            nets[i].nforwards = 0;
            ok = false;
            continue;
        }
        nets[i].forwards = fw;
        for (unsigned j = 0; j < src->nets[i].nforwards; j++) {
            ok &= dup_str(&fw[j].host_addr, src->nets[i].forwards[j].host_addr);
            ok &= dup_str(&fw[j].guest_addr, src->nets[i].forwards[j].guest_addr);
        }
    }
    return ok;
}

static void config_free_devices(VsConfig *c)
{
    for (unsigned i = 0; i < c->ndisks; i++)
        free((char *)c->disks[i].path);
    for (unsigned i = 0; i < c->nshares; i++) {
        free((char *)c->shares[i].path);
        free((char *)c->shares[i].tag);
    }
    for (unsigned i = 0; i < c->nnets; i++) {
        free((char *)c->nets[i].ifname);
        for (unsigned j = 0; j < c->nets[i].nforwards; j++) {
            free((char *)c->nets[i].forwards[j].host_addr);
            free((char *)c->nets[i].forwards[j].guest_addr);
        }
        free((void *)c->nets[i].forwards);
    }
    free((void *)c->disks);
    free((void *)c->nets);
    free((void *)c->shares);
}

/* PhysMem.dma_written: a device wrote a RAM page that holds translated code. */
static void dma_invalidate(void *opaque, uint64_t paddr)
{
    blocks_invalidate_page(opaque, paddr);
}

static void set_state(VsMachine *m, VsMachineState st)
{
    m->state = st;
    if (m->listener.state_changed)
        m->listener.state_changed(m->listener.opaque, st);
}

static VsCpu *cpu_create(VsMachine *m, unsigned index)
{
    const VsArchOps *arch = m->arch;
    size_t size = arch ? arch->cpu_size : sizeof(VsCpu); /* no arch: a hardware-run vCPU */
    VsCpu *cpu = aligned_alloc(64, (size + 63) & ~(size_t)63);
    if (!cpu)
        return NULL;
    memset(cpu, 0, size);
    cpu->ops = arch;
    cpu->machine = m;
    cpu->index = index;
    if (!arch) {
        pthread_mutex_init(&cpu->halt_lock, NULL);
        pthread_cond_init(&cpu->halt_cond, NULL);
        return cpu;
    }
    cpu->jmp_cache = calloc(JMP_CACHE_SIZE, sizeof(JmpCacheEntry));
    if (!tlb_init(cpu) || !cpu->jmp_cache) {
        tlb_destroy(cpu);
        free(cpu->jmp_cache);
        free(cpu);
        return NULL;
    }
    pthread_mutex_init(&cpu->halt_lock, NULL);
    pthread_cond_init(&cpu->halt_cond, NULL);
    ir_init(&cpu->xlate, arch->globals);
    return cpu;
}

static void cpu_destroy(VsCpu *cpu)
{
    if (!cpu)
        return;
    tlb_destroy(cpu);
    free(cpu->jmp_cache);
    ir_free(&cpu->xlate);
    pthread_mutex_destroy(&cpu->halt_lock);
    pthread_cond_destroy(&cpu->halt_cond);
    free(cpu);
}

static void cpu_reset_all(VsMachine *m)
{
    for (unsigned i = 0; i < m->ncpus; i++) {
        VsCpu *cpu = m->cpus[i];
        if (!m->arch)
            continue; /* hardware-run vCPUs: their board sets them up (none resets yet) */
        m->arch->cpu_reset(cpu);
        tlb_flush_all(cpu);
        jmp_cache_flush(cpu);
        cpu->halted = false;
        m->board_ops->cpu_boot_state(m, cpu);
    }
}

/* The host's architecture as a guest architecture, VS_ARCH_NONE for others. */
static VsArch host_arch(void)
{
#if defined(__x86_64__)
    return VS_ARCH_X86_64;
#elif defined(__aarch64__)
    return VS_ARCH_ARM64;
#elif defined(__riscv) && __riscv_xlen == 64
    return VS_ARCH_RISCV64;
#else
    return VS_ARCH_NONE;
#endif
}

static void jit_flush_hook(void *opaque)
{
    jit_flush(opaque);
}

static void jit_invalidate_hook(void *opaque, VsBlock *b)
{
    jit_block_invalidated(opaque, b);
}

VsStatus vs_machine_create(const VsConfig *cfg, const VsMachineListener *listener, VsMachine **out,
                           VsError *err)
{
    *out = NULL;
    if (cfg->arch == VS_ARCH_NONE)
        return vs_error_set(err, VS_ERR_INVALID, "no guest architecture given");
    const VsArchOps *arch = arch_find(cfg->arch);
    const BoardOps *board = board_find(cfg->arch);
    /* Hardware acceleration decides first: x86_64 guests and --accel kvm (accel/). */
    bool use_accel = false;
    char accel_why[256];
    VsStatus ast = accel_choose(cfg, host_arch(), &use_accel, accel_why, sizeof(accel_why), err);
    if (ast != VS_OK)
        return ast;
    if ((!arch && !use_accel) || !board)
        return vs_error_set(err, VS_ERR_UNSUPPORTED,
                            "guest architecture '%s' is not supported yet (riscv64 and arm64 are)",
                            vs_arch_name(cfg->arch));
    const char *why;
    /* The JIT runs with --accel jit, and with auto for a guest of another architecture
     * than the host's (KVM needs the host's): tiered, so cold code stays interpreted. */
    bool jit = cfg->accel == VS_ACCEL_JIT;
    uint64_t jit_threshold = cfg->jit_threshold;
    switch (cfg->accel) {
    case VS_ACCEL_AUTO:
        if (!use_accel && arch && cfg->arch != host_arch() && jit_host_supported()) {
            jit = true;
            if (jit_threshold == 0)
                jit_threshold = JIT_AUTO_THRESHOLD;
            why = "automatic choice: KVM needs a guest of the host's architecture";
        } else {
            why = cfg->arch == host_arch()
                      ? "automatic choice: there is no KVM backend for this architecture yet "
                        "and the JIT generates x86-64 code only"
                      : "automatic choice: KVM needs a guest of the host's architecture and the "
                        "JIT generates x86-64 code only";
        }
        break;
    case VS_ACCEL_INTERP: why = "chosen in the configuration"; break;
    case VS_ACCEL_JIT:
        if (!jit_host_supported())
            return vs_error_set(err, VS_ERR_UNSUPPORTED,
                                "the JIT tier generates x86-64 code and this host is not "
                                "x86-64; use --accel interp");
        why = "chosen in the configuration";
        break;
    case VS_ACCEL_KVM: why = "chosen in the configuration"; break; /* see accel_choose() */
    default: return vs_error_set(err, VS_ERR_INVALID, "unknown accelerator");
    }
    if (cfg->smp < 1 || cfg->smp > 64)
        return vs_error_set(err, VS_ERR_INVALID, "--smp must be between 1 and 64 (got %u)",
                            cfg->smp);

    VsMachine *m = calloc(1, sizeof(*m));
    if (!m)
        return vs_error_set(err, VS_ERR_NOMEM, "out of memory");
    m->cfg = *cfg;
    m->cfg.firmware = dup_or_null(cfg->firmware);
    m->cfg.efi_vars = dup_or_null(cfg->efi_vars);
    m->cfg.efi_vars_template = dup_or_null(cfg->efi_vars_template);
    m->cfg.kernel = dup_or_null(cfg->kernel);
    m->cfg.initrd = dup_or_null(cfg->initrd);
    m->cfg.cmdline = dup_or_null(cfg->cmdline);
    m->cfg.pin_cpus = dup_or_null(cfg->pin_cpus);
    m->cfg.trace_state = NULL; /* only read here: m->trace_state owns the open file */
    bool cfg_ok = config_dup_devices(&m->cfg, cfg);
    if (jit && jit_threshold == 0)
        snprintf(m->accel_summary, sizeof(m->accel_summary),
                 "JIT (%s guest on a %s host): %s; every block is compiled to host code "
                 "before its first run, blocks the JIT cannot compile are interpreted",
                 vs_arch_name(cfg->arch), host_arch() ? vs_arch_name(host_arch()) : "other", why);
    else if (jit)
        snprintf(m->accel_summary, sizeof(m->accel_summary),
                 "JIT (%s guest on a %s host): %s; blocks are interpreted until they have run "
                 "%llu times, then compiled to host code",
                 vs_arch_name(cfg->arch), host_arch() ? vs_arch_name(host_arch()) : "other", why,
                 (unsigned long long)jit_threshold);
    else
        snprintf(m->accel_summary, sizeof(m->accel_summary),
                 "Interpreter (%s guest on a %s host): %s", vs_arch_name(cfg->arch),
                 host_arch() ? vs_arch_name(host_arch()) : "other", why);
    if (use_accel)
        snprintf(m->accel_summary, sizeof(m->accel_summary), "%s", accel_why);
    m->arch = arch;
    m->board_ops = board;
    if (listener)
        m->listener = *listener;
    pthread_mutex_init(&m->lock, NULL);
    pthread_cond_init(&m->cond, NULL);
    physmem_init(&m->mem);
    m->blocks = blocks_create(cfg->code_cache_size);
    if (jit && m->blocks) {
        m->jit = jit_create(cfg->code_cache_size, cfg->stats);
        if (!m->jit) {
            vs_machine_destroy(m);
            return vs_error_set(err, VS_ERR_NOMEM, "cannot create the JIT code cache: %s",
                                strerror(errno));
        }
        blocks_set_flush_hook(m->blocks, jit_flush_hook, m->jit);
        blocks_set_invalidate_hook(m->blocks, jit_invalidate_hook, m->jit);
    }
    m->cpus = calloc(cfg->smp, sizeof(VsCpu *));
    m->mem.code_written = dma_invalidate;
    m->mem.code_written_opaque = m;
    if (!m->blocks || !m->cpus || !cfg_ok || (cfg->pin_cpus && !m->cfg.pin_cpus)) {
        vs_machine_destroy(m);
        return vs_error_set(err, VS_ERR_NOMEM, "out of memory");
    }
    VsStatus st = vs_machine_pin_prepare(m, "/sys", err);
    if (st != VS_OK) {
        vs_machine_destroy(m);
        return st;
    }
    if (cfg->trace_state) {
        /* Records of several vCPUs would interleave as the host schedules them. */
        if (cfg->smp != 1 || use_accel || !arch ||
            arch->globals->count + arch->ntrace_fields > 256) {
            vs_machine_destroy(m);
            return vs_error_set(err, VS_ERR_UNSUPPORTED,
                                "--trace-state needs one vCPU (--smp 1) run by the "
                                "interpreter or the JIT (--accel interp or jit)");
        }
        st = trace_state_open(&m->trace_state, cfg->trace_state, arch, err);
        if (st != VS_OK) {
            vs_machine_destroy(m);
            return st;
        }
    }
    if (!vs_timer_service_start(&m->timers)) {
        vs_machine_destroy(m);
        return vs_error_set(err, VS_ERR_NOMEM, "cannot start the timer thread");
    }
    for (unsigned i = 0; i < cfg->smp; i++) {
        m->cpus[i] = cpu_create(m, i);
        if (!m->cpus[i]) {
            vs_machine_destroy(m);
            return vs_error_set(err, VS_ERR_NOMEM, "out of memory creating vCPU %u", i);
        }
        m->ncpus++;
        m->cpus[i]->jit_enabled = m->jit != NULL;
        m->cpus[i]->jit_threshold = jit_threshold;
        if (m->trace_state) /* every block returns to the vCPU loop: trace-state.h */
            atomic_fetch_or(&m->cpus[i]->interrupt_request, CPU_REQ_TRACE);
        if (arch)
            arch->cpu_reset(m->cpus[i]);
    }
    st = use_accel ? accel_machine_create(m, err) : VS_OK;
    if (st == VS_OK)
        st = vs_iothread_create(&m->io, err);
    if (st == VS_OK)
        st = vs_machine_pin_helpers(m, err);
    if (st == VS_OK)
        st = vs_vdevs_create(m, err);
    if (st != VS_OK) {
        vs_machine_destroy(m);
        return st;
    }
    st = board->create(m, err);
    if (st != VS_OK) {
        vs_machine_destroy(m);
        return st;
    }
    for (unsigned i = 0; i < m->ncpus; i++)
        board->cpu_boot_state(m, m->cpus[i]);
    set_state(m, VS_STATE_CREATED);
    *out = m;
    return VS_OK;
}

VsStatus vs_machine_start(VsMachine *m, VsError *err)
{
    pthread_mutex_lock(&m->lock);
    if (m->state != VS_STATE_CREATED) {
        pthread_mutex_unlock(&m->lock);
        return vs_error_set(err, VS_ERR_STATE, "the machine has already been started");
    }
    m->cpus_alive = 0;
    for (unsigned i = 0; i < m->ncpus; i++) {
        VsCpu *cpu = m->cpus[i];
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        int rc = vs_machine_pin_vcpu_attr(m, i, &attr); /* starts on its pinned CPUs */
        if (rc == 0)
            rc = pthread_create(&cpu->thread, &attr, vs_cpu_thread_main, cpu);
        pthread_attr_destroy(&attr);
        if (rc != 0) {
            m->stop_requested = true;
            pthread_mutex_unlock(&m->lock);
            vs_machine_request_stop(m, VS_STOP_ERROR, "cannot create the thread of vCPU %u: %s", i,
                                    strerror(rc));
            return vs_error_set(err, VS_ERR_NOMEM, "cannot create the thread of vCPU %u: %s", i,
                                strerror(rc));
        }
        cpu->thread_started = true;
        m->cpus_alive++;
    }
    m->reset_time_ns = vs_clock_ns();
    set_state(m, VS_STATE_RUNNING);
    pthread_mutex_unlock(&m->lock);
    return VS_OK;
}

static void kick_all(VsMachine *m, uint32_t req)
{
    for (unsigned i = 0; i < m->ncpus; i++)
        vs_cpu_kick(m->cpus[i], req);
}

void vs_machine_request_stop(VsMachine *m, VsStopReason reason, const char *fmt, ...)
{
    pthread_mutex_lock(&m->lock);
    if (m->stop_reason == VS_STOP_NONE) {
        m->stop_reason = reason;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(m->stop_message, sizeof(m->stop_message), fmt, ap);
        va_end(ap);
    }
    __atomic_store_n(&m->stop_requested, true, __ATOMIC_RELEASE);
    pthread_cond_broadcast(&m->cond);
    pthread_mutex_unlock(&m->lock);
    kick_all(m, CPU_REQ_EXIT);
}

void vs_machine_force_stop(VsMachine *m)
{
    vs_machine_request_stop(m, VS_STOP_FORCED, "stopped by the host");
}

void vs_machine_request_reset(VsMachine *m)
{
    atomic_store_explicit(&m->reset_requested, true, memory_order_release);
    kick_all(m, CPU_REQ_EXIT);
}

static void reset_cb(VsMachine *m, void *arg)
{
    (void)arg;
    if (!m->accel)
        blocks_flush_all(m); /* hardware-run vCPUs have no translations */
    if (m->board_ops->reset)
        m->board_ops->reset(m);
    vs_vdevs_reset(m);
    cpu_reset_all(m);
}

void vs_machine_do_reset(VsMachine *m, VsCpu *self)
{
    if (!atomic_exchange(&m->reset_requested, false))
        return;
    /* A reset the host asked for is never part of a guest's reset loop. */
    bool host = atomic_exchange(&m->host_reset, false);
    uint64_t now = vs_clock_ns(), insns = 0;
    for (unsigned i = 0; i < m->ncpus; i++)
        insns += m->cpus[i]->insn_count;
    pthread_mutex_lock(&m->lock);
    /* Hardware-run vCPUs count no instructions: only the time between resets tells. */
    bool quick = !host && ((!m->accel && insns - m->reset_insns < RESET_LOOP_INSNS) ||
                           now - m->reset_time_ns < RESET_LOOP_NS);
    m->quick_resets = quick ? m->quick_resets + 1 : 0;
    m->reset_insns = insns;
    m->reset_time_ns = now;
    bool loop = m->quick_resets >= RESET_LOOP_COUNT;
    pthread_mutex_unlock(&m->lock);
    if (loop) {
        vs_machine_request_stop(m, VS_STOP_RESET_LOOP,
                                "the guest reset %d times in a row, each soon after the last",
                                RESET_LOOP_COUNT);
        return;
    }
    vs_machine_exclusive(m, self, reset_cb, NULL);
}

/* Park while a pause or another vCPU's exclusive section is pending. Lock held. */
static void park_locked(VsMachine *m)
{
    m->cpus_parked++;
    pthread_cond_broadcast(&m->cond);
    while ((m->pause_requested || m->exclusive_pending) && !m->stop_requested)
        pthread_cond_wait(&m->cond, &m->lock);
    m->cpus_parked--;
}

void vs_machine_cpu_checkpoint(VsMachine *m, VsCpu *cpu)
{
    (void)cpu;
    pthread_mutex_lock(&m->lock);
    if ((m->pause_requested || m->exclusive_pending) && !m->stop_requested)
        park_locked(m);
    pthread_mutex_unlock(&m->lock);
}

void vs_machine_exclusive(VsMachine *m, VsCpu *self, void (*fn)(VsMachine *m, void *arg), void *arg)
{
    pthread_mutex_lock(&m->lock);
    while (m->exclusive_pending && !m->stop_requested) {
        if (self)
            park_locked(m);
        else
            pthread_cond_wait(&m->cond, &m->lock);
    }
    m->exclusive_pending = 1;
    if (self)
        m->cpus_parked++;
    pthread_mutex_unlock(&m->lock);
    for (unsigned i = 0; i < m->ncpus; i++)
        if (m->cpus[i] != self)
            vs_cpu_kick(m->cpus[i], CPU_REQ_EXIT);
    pthread_mutex_lock(&m->lock);
    while (m->cpus_parked < m->cpus_alive && !m->stop_requested)
        pthread_cond_wait(&m->cond, &m->lock);
    /* Everyone else is parked (or the machine is stopping and threads are leaving). */
    fn(m, arg);
    m->exclusive_pending = 0;
    if (self)
        m->cpus_parked--;
    pthread_cond_broadcast(&m->cond);
    pthread_mutex_unlock(&m->lock);
}

void vs_machine_cpu_exited(VsMachine *m, VsCpu *cpu)
{
    (void)cpu;
    pthread_mutex_lock(&m->lock);
    m->cpus_alive--;
    pthread_cond_broadcast(&m->cond);
    pthread_mutex_unlock(&m->lock);
}

VsStatus vs_machine_pause(VsMachine *m, VsError *err)
{
    pthread_mutex_lock(&m->lock);
    if (m->state != VS_STATE_RUNNING) {
        pthread_mutex_unlock(&m->lock);
        return vs_error_set(err, VS_ERR_STATE, "the machine is not running");
    }
    m->pause_requested = true;
    pthread_mutex_unlock(&m->lock);
    kick_all(m, CPU_REQ_EXIT);
    pthread_mutex_lock(&m->lock);
    while (m->cpus_parked < m->cpus_alive && !m->stop_requested)
        pthread_cond_wait(&m->cond, &m->lock);
    set_state(m, VS_STATE_PAUSED);
    pthread_mutex_unlock(&m->lock);
    return VS_OK;
}

VsStatus vs_machine_resume(VsMachine *m, VsError *err)
{
    pthread_mutex_lock(&m->lock);
    if (m->state != VS_STATE_PAUSED) {
        pthread_mutex_unlock(&m->lock);
        return vs_error_set(err, VS_ERR_STATE, "the machine is not paused");
    }
    m->pause_requested = false;
    set_state(m, VS_STATE_RUNNING);
    pthread_cond_broadcast(&m->cond);
    pthread_mutex_unlock(&m->lock);
    return VS_OK;
}

VsStopReason vs_machine_wait(VsMachine *m)
{
    pthread_mutex_lock(&m->lock);
    while (!m->stop_requested)
        pthread_cond_wait(&m->cond, &m->lock);
    pthread_mutex_unlock(&m->lock);
    for (unsigned i = 0; i < m->ncpus; i++) {
        if (m->cpus[i]->thread_started) {
            pthread_join(m->cpus[i]->thread, NULL);
            m->cpus[i]->thread_started = false;
        }
    }
    pthread_mutex_lock(&m->lock);
    set_state(m, VS_STATE_STOPPED);
    VsStopReason r = m->stop_reason;
    pthread_mutex_unlock(&m->lock);
    return r;
}

VsMachineState vs_machine_state(const VsMachine *m)
{
    return m->state;
}

const char *vs_machine_stop_message(const VsMachine *m)
{
    return m->stop_message;
}

void vs_machine_serial_input(VsMachine *m, const uint8_t *buf, size_t len)
{
    if (m->board_ops->serial_input)
        m->board_ops->serial_input(m, buf, len);
}

void vs_machine_console_input(VsMachine *m, const uint8_t *buf, size_t len)
{
    if (m->console)
        virtio_console_input(m, buf, len);
}

VsStatus vs_machine_reset(VsMachine *m, VsError *err)
{
    pthread_mutex_lock(&m->lock);
    bool ok = (m->state == VS_STATE_RUNNING || m->state == VS_STATE_PAUSED) && !m->stop_requested;
    pthread_mutex_unlock(&m->lock);
    if (!ok)
        return vs_error_set(err, VS_ERR_STATE, "the machine is not running");
    if (m->accel && !m->board_ops->reset)
        return vs_error_set(err, VS_ERR_UNSUPPORTED,
                            "the %s board cannot reset under KVM yet: stop and start it",
                            m->board_ops->name);
    atomic_store_explicit(&m->host_reset, true, memory_order_release);
    vs_machine_request_reset(m);
    return VS_OK;
}

const char *vs_machine_accel_summary(const VsMachine *m)
{
    return m->accel_summary;
}

VsStatus vs_machine_powerdown(VsMachine *m, VsError *err)
{
    /* The board's own button first (arm64 virt); riscv64 virt has none. */
    if (m->board_ops->power_button && m->board_ops->power_button(m))
        return VS_OK;
    if (virtio_input_power_button(m))
        return VS_OK;
    return vs_error_set(err, VS_ERR_UNSUPPORTED,
                        "this machine has no power button: the %s board has none and there is "
                        "no virtio keyboard to press KEY_POWER on (start it with a display)",
                        m->board_ops->name);
}

void vs_machine_serial_output(VsMachine *m, const uint8_t *buf, size_t len)
{
    if (m->listener.serial_output)
        m->listener.serial_output(m->listener.opaque, buf, len);
}

void vs_machine_print_stats(VsMachine *m, void *file)
{
    FILE *out = file;
    BlockCacheStats bs;
    blocks_get_stats(m->blocks, &bs);
    fprintf(out,
            "translation: %llu blocks, %llu guest bytes, %llu IR ops, %llu KiB code, "
            "%.1f ms translating, %llu invalidated, %llu flushes, %llu reaps\n",
            (unsigned long long)bs.translated, (unsigned long long)bs.guest_bytes,
            (unsigned long long)bs.ir_ops, (unsigned long long)(bs.interp_bytes >> 10),
            bs.translate_ns / 1e6, (unsigned long long)bs.invalidated,
            (unsigned long long)bs.flushes, (unsigned long long)bs.reaps);
    if (m->jit) {
        JitStats js;
        jit_get_stats(m->jit, &js);
        fprintf(out,
                "jit: %llu blocks compiled, %llu not compilable (interpreted), %llu KiB code of "
                "a %llu MiB cache, %.1f ms compiling, %llu flushes, %llu regions of %llu blocks, "
                "%llu direct jumps linked, %llu unlinked\n",
                (unsigned long long)js.blocks, (unsigned long long)js.failed,
                (unsigned long long)(js.code_bytes >> 10),
                (unsigned long long)(js.cache_size >> 20), js.compile_ns / 1e6,
                (unsigned long long)js.flushes, (unsigned long long)js.regions,
                (unsigned long long)js.region_blocks, (unsigned long long)js.links,
                (unsigned long long)js.unlinks);
    }
    fprintf(out, "pinning: %s\n", vs_machine_pin_summary(m));
    uint64_t total_insns = 0;
    for (unsigned i = 0; i < m->ncpus; i++)
        total_insns += m->cpus[i]->insn_count;
    VsBlock *hot[10];
    unsigned nhot = blocks_hottest(m->blocks, hot, 10);
    fprintf(out, "hottest blocks (of those still cached):\n");
    for (unsigned i = 0; i < nhot; i++) {
        uint64_t runs = hot[i]->exec_count;
        fprintf(out, "  pc 0x%llx mode 0x%x: %u insns, run %llu times, %.1f%% of instructions\n",
                (unsigned long long)hot[i]->vpc, hot[i]->mode, hot[i]->ninsns,
                (unsigned long long)runs,
                total_insns ? 100.0 * (double)(runs * hot[i]->ninsns) / (double)total_insns : 0.0);
    }
    for (unsigned i = 0; i < m->ncpus; i++) {
        VsCpuStats *s = &m->cpus[i]->stats;
        /* Every block entered other than from the loop came through a chain or the jump cache. */
        uint64_t hits = s->blocks_executed - s->loop_entries, jt = hits + s->jmp_cache_misses;
        fprintf(out,
                "cpu%u: %llu insns, %llu blocks, %.1f%% of exits chained, %llu TLB fills, "
                "%llu exceptions, %llu interrupts\n",
                i, (unsigned long long)m->cpus[i]->insn_count,
                (unsigned long long)s->blocks_executed,
                jt ? 100.0 * (double)hits / (double)jt : 0.0, (unsigned long long)s->tlb_fills,
                (unsigned long long)s->exceptions, (unsigned long long)s->interrupts);
        if (m->arch) {
            /* Misses are loads/stores/atomics that left the inline lookup for want of an
             * entry; the victim hits among them needed no page walk. */
            fprintf(out,
                    "cpu%u TLB: %llu lookups, %.3f%% hits, %llu misses (%.2f per 1000 insns), "
                    "%llu victim hits, %llu flushes, %llu page flushes, %llu resizes, entries now",
                    i, (unsigned long long)s->tlb_lookups,
                    s->tlb_lookups && s->tlb_lookups >= s->tlb_misses
                        ? 100.0 * (double)(s->tlb_lookups - s->tlb_misses) / (double)s->tlb_lookups
                        : 0.0,
                    (unsigned long long)s->tlb_misses,
                    m->cpus[i]->insn_count
                        ? 1000.0 * (double)s->tlb_misses / (double)m->cpus[i]->insn_count
                        : 0.0,
                    (unsigned long long)s->tlb_victim_hits, (unsigned long long)s->tlb_flushes,
                    (unsigned long long)s->tlb_page_flushes, (unsigned long long)s->tlb_resizes);
            for (unsigned idx = 0; idx < m->arch->mmu_modes; idx++)
                fprintf(out, " %u", tlb_size(m->cpus[i], idx));
            fprintf(out, " (per MMU index)\n");
        }
        if (m->arch && m->arch->dump_state)
            m->arch->dump_state(m->cpus[i], out);
    }
}

void vs_machine_destroy(VsMachine *m)
{
    if (!m)
        return;
    if (m->state == VS_STATE_RUNNING || m->state == VS_STATE_PAUSED) {
        vs_machine_force_stop(m);
        vs_machine_wait(m);
    }
    vs_timer_service_stop(&m->timers);
    vs_vdevs_destroy(m);
    if (m->board_ops && m->board && m->board_ops->destroy)
        m->board_ops->destroy(m);
    accel_machine_destroy(m); /* before the RAM its memory slots point into */
    for (unsigned i = 0; i < m->ncpus; i++)
        cpu_destroy(m->cpus[i]);
    free(m->cpus);
    blocks_destroy(m->blocks);
    jit_destroy(m->jit);
    trace_state_close(m->trace_state);
    physmem_destroy(&m->mem);
    free((char *)m->cfg.firmware);
    free((char *)m->cfg.efi_vars);
    free((char *)m->cfg.efi_vars_template);
    free((char *)m->cfg.kernel);
    free((char *)m->cfg.initrd);
    free((char *)m->cfg.cmdline);
    free((char *)m->cfg.pin_cpus);
    vs_machine_pin_free(m);
    config_free_devices(&m->cfg);
    pthread_mutex_destroy(&m->lock);
    pthread_cond_destroy(&m->cond);
    free(m);
}
