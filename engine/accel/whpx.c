/* SPDX-License-Identifier: MIT */
/*
 * The Windows Hypervisor Platform backend of the Accel interface (WinHvPlatform.h,
 * WinHvEmulation.h; Windows 10 1803 and later with the "Windows Hypervisor Platform" feature).
 *
 * Status: built with Debian's mingw-w64 cross compiler (tests/kvm/check-whpx-build.py);
 * it has never run: no Windows host is available to the project. The rest of the engine does
 * not build for Windows yet (POSIX memory, epoll, eventfd, io_uring), so no machine can use
 * it there; it is the backend those ports will plug in.
 *
 * One partition per VM, one virtual processor per vCPU. With `irqchip` the hypervisor
 * emulates each vCPU's local APIC (xAPIC mode); WHPX has no IOAPIC, PIC or PIT, so
 * set_irq_line is unsupported until Vessel has a user-space IOAPIC. Port I/O exits are
 * completed by this file (the next vcpu_run stores an IN's value in RAX and steps over the
 * instruction); MMIO exits go through the platform's instruction emulator: a write is
 * decoded and reported at once, a read is reported and completed by emulating the same
 * instruction again on the next vcpu_run with the value the VMM stored. String port I/O is
 * reported as an internal error. eventfd-based irqfd/ioeventfd have no Windows equivalent
 * here (WHPX doorbells take event HANDLEs).
 */
#ifdef _WIN32

#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <windows.h>
#include <winhvemulation.h>
#include <winhvplatform.h>

#include "accel/accel.h"

/* core/machine.h (vs_error_set, vs_log) is not portable to Windows yet (sigjmp_buf in
 * core/cpu.h): this file fills VsError itself, as vs_error_set does. */
static VsStatus whpx_error(VsError *err, VsStatus status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static VsStatus whpx_error(VsError *err, VsStatus status, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof(err->message), fmt, ap);
        va_end(ap);
        err->status = status;
    }
    return status;
}

#define WHPX_MAX_SLOTS 32

typedef struct WhpxSlot {
    bool used;
    uint64_t gpa, size;
    void *hva;
    WHV_MAP_GPA_RANGE_FLAGS flags;
} WhpxSlot;

typedef struct WhpxVm {
    AccelVm base;
    WHV_PARTITION_HANDLE part;
    unsigned ncpus;
    bool irqchip;
    pthread_mutex_t lock; /* slots */
    WhpxSlot slots[WHPX_MAX_SLOTS];
    bool dirty_logging;
} WhpxVm;

enum { PENDING_NONE = 0, PENDING_IO_IN, PENDING_IO_OUT, PENDING_MMIO_READ };

typedef struct WhpxVcpu {
    AccelVcpu base;
    WHV_EMULATOR_HANDLE emu;
    WHV_RUN_VP_EXIT_CONTEXT exit; /* the last exit, for completing it */
    int pending;
    uint8_t data[8]; /* the AccelExit data buffer: the VMM reads writes, stores reads here */
    uint8_t size;
    bool probe; /* emulator memory callback: record the access instead of completing it */
    uint64_t mmio_gpa;
    bool mmio_write, mmio_seen;
    /* Power-on register state, read at creation; vcpu_reset writes it back. */
    WHV_REGISTER_VALUE reset_values[64];
    unsigned nreset;
} WhpxVcpu;

static VsStatus hr_error(VsError *err, const char *what, HRESULT hr)
{
    return whpx_error(err, VS_ERR_IO, "%s failed (HRESULT 0x%08lx)", what, (unsigned long)hr);
}

static bool whpx_available(char *why, size_t len)
{
    WHV_CAPABILITY cap;
    UINT32 written = 0;
    memset(&cap, 0, sizeof(cap));
    HRESULT hr = WHvGetCapability(WHvCapabilityCodeHypervisorPresent, &cap, sizeof(cap), &written);
    if (FAILED(hr)) {
        snprintf(why, len,
                 "WHvGetCapability failed (HRESULT 0x%08lx): the Windows Hypervisor "
                 "Platform is not installed",
                 (unsigned long)hr);
        return false;
    }
    if (!cap.HypervisorPresent) {
        snprintf(why, len,
                 "no hypervisor: turn on the Windows feature \"Windows Hypervisor Platform\" "
                 "(and virtualization in the firmware settings)");
        return false;
    }
    snprintf(why, len, "the Windows Hypervisor Platform is present");
    return true;
}

/* ---- VM ---- */

static void whpx_vm_destroy(AccelVm *base)
{
    WhpxVm *vm = (WhpxVm *)base;
    if (!vm)
        return;
    if (vm->part)
        WHvDeletePartition(vm->part);
    pthread_mutex_destroy(&vm->lock);
    free(vm);
}

static VsStatus whpx_vm_create(const AccelVmConfig *cfg, AccelVm **out, VsError *err)
{
    char why[256];
    *out = NULL;
    if (!whpx_available(why, sizeof(why)))
        return whpx_error(err, VS_ERR_UNSUPPORTED, "WHPX unavailable: %s", why);
    WhpxVm *vm = calloc(1, sizeof(*vm));
    if (!vm)
        return whpx_error(err, VS_ERR_NOMEM, "out of memory");
    vm->base.ops = &accel_whpx_ops;
    vm->ncpus = cfg->ncpus;
    vm->irqchip = cfg->irqchip;
    pthread_mutex_init(&vm->lock, NULL);
    HRESULT hr = WHvCreatePartition(&vm->part);
    if (FAILED(hr)) {
        vm->part = NULL;
        whpx_vm_destroy(&vm->base);
        return hr_error(err, "WHvCreatePartition", hr);
    }
    WHV_PARTITION_PROPERTY p;
    memset(&p, 0, sizeof(p));
    p.ProcessorCount = cfg->ncpus;
    hr = WHvSetPartitionProperty(vm->part, WHvPartitionPropertyCodeProcessorCount, &p, sizeof(p));
    if (SUCCEEDED(hr) && cfg->irqchip) {
        memset(&p, 0, sizeof(p));
        p.LocalApicEmulationMode = WHvX64LocalApicEmulationModeXApic;
        hr = WHvSetPartitionProperty(vm->part, WHvPartitionPropertyCodeLocalApicEmulationMode, &p,
                                     sizeof(p));
    }
    if (SUCCEEDED(hr))
        hr = WHvSetupPartition(vm->part);
    if (FAILED(hr)) {
        whpx_vm_destroy(&vm->base);
        return hr_error(err, "setting up the WHPX partition", hr);
    }
    *out = &vm->base;
    return VS_OK;
}

static VsStatus slot_map(WhpxVm *vm, WhpxSlot *s, VsError *err)
{
    HRESULT hr = WHvMapGpaRange(vm->part, s->hva, s->gpa, s->size, s->flags);
    if (FAILED(hr))
        return whpx_error(err, VS_ERR_IO,
                          "WHvMapGpaRange 0x%" PRIx64 "+0x%" PRIx64 " failed (HRESULT 0x%08lx)",
                          s->gpa, s->size, (unsigned long)hr);
    return VS_OK;
}

static WHV_MAP_GPA_RANGE_FLAGS region_flags(const WhpxVm *vm, const MemRegion *mr)
{
    if (mr->kind == MR_ROM)
        return WHvMapGpaRangeFlagRead | WHvMapGpaRangeFlagExecute;
    WHV_MAP_GPA_RANGE_FLAGS f =
        WHvMapGpaRangeFlagRead | WHvMapGpaRangeFlagWrite | WHvMapGpaRangeFlagExecute;
    if (vm->dirty_logging)
        f |= WHvMapGpaRangeFlagTrackDirtyPages;
    return f;
}

static VsStatus sync_locked(WhpxVm *vm, const PhysMem *pm, VsError *err)
{
    VsStatus st = VS_OK;
    bool keep[WHPX_MAX_SLOTS] = { false };
    for (unsigned r = 0; r < pm->count; r++) {
        const MemRegion *mr = pm->regions[r];
        if (mr->kind == MR_MMIO)
            continue;
        for (unsigned i = 0; i < WHPX_MAX_SLOTS; i++) {
            WhpxSlot *s = &vm->slots[i];
            if (s->used && s->gpa == mr->base && s->size == mr->size && s->hva == mr->host &&
                s->flags == region_flags(vm, mr))
                keep[i] = true;
        }
    }
    for (unsigned i = 0; i < WHPX_MAX_SLOTS; i++) {
        WhpxSlot *s = &vm->slots[i];
        if (s->used && !keep[i]) {
            WHvUnmapGpaRange(vm->part, s->gpa, s->size);
            s->used = false;
        }
    }
    for (unsigned r = 0; r < pm->count && st == VS_OK; r++) {
        const MemRegion *mr = pm->regions[r];
        if (mr->kind == MR_MMIO)
            continue;
        if ((mr->base | mr->size) & (GUEST_PAGE_SIZE - 1))
            return whpx_error(err, VS_ERR_INVALID,
                              "memory region '%s' is not page aligned, which WHPX needs", mr->name);
        bool present = false;
        for (unsigned i = 0; i < WHPX_MAX_SLOTS; i++)
            present |= vm->slots[i].used && vm->slots[i].gpa == mr->base &&
                       vm->slots[i].size == mr->size && vm->slots[i].hva == mr->host;
        if (present)
            continue;
        unsigned i = 0;
        while (i < WHPX_MAX_SLOTS && vm->slots[i].used)
            i++;
        if (i == WHPX_MAX_SLOTS)
            return whpx_error(err, VS_ERR_UNSUPPORTED, "more than %d memory regions for WHPX",
                              WHPX_MAX_SLOTS);
        vm->slots[i] = (WhpxSlot){ true, mr->base, mr->size, mr->host, region_flags(vm, mr) };
        st = slot_map(vm, &vm->slots[i], err);
        if (st != VS_OK)
            vm->slots[i].used = false;
    }
    return st;
}

static VsStatus whpx_sync_memory(AccelVm *base, const PhysMem *pm, VsError *err)
{
    WhpxVm *vm = (WhpxVm *)base;
    pthread_mutex_lock(&vm->lock);
    VsStatus st = sync_locked(vm, pm, err);
    pthread_mutex_unlock(&vm->lock);
    return st;
}

static VsStatus whpx_dirty_log(AccelVm *base, bool on, VsError *err)
{
    WhpxVm *vm = (WhpxVm *)base;
    VsStatus st = VS_OK;
    pthread_mutex_lock(&vm->lock);
    vm->dirty_logging = on;
    /* WHPX sets dirty tracking when a range is mapped: map the RAM slots again. */
    for (unsigned i = 0; i < WHPX_MAX_SLOTS && st == VS_OK; i++) {
        WhpxSlot *s = &vm->slots[i];
        if (!s->used || !(s->flags & WHvMapGpaRangeFlagWrite))
            continue;
        WHvUnmapGpaRange(vm->part, s->gpa, s->size);
        s->flags = on ? s->flags | WHvMapGpaRangeFlagTrackDirtyPages
                      : s->flags & ~WHvMapGpaRangeFlagTrackDirtyPages;
        st = slot_map(vm, s, err);
    }
    pthread_mutex_unlock(&vm->lock);
    return st;
}

static VsStatus whpx_dirty_get(AccelVm *base, uint64_t gpa, uint64_t size, uint64_t *bitmap,
                               VsError *err)
{
    WhpxVm *vm = (WhpxVm *)base;
    VsStatus st = VS_OK;
    pthread_mutex_lock(&vm->lock);
    unsigned i = 0;
    while (i < WHPX_MAX_SLOTS &&
           !(vm->slots[i].used && vm->slots[i].gpa == gpa && vm->slots[i].size == size))
        i++;
    if (i == WHPX_MAX_SLOTS)
        st = whpx_error(err, VS_ERR_INVALID, "no RAM slot at 0x%" PRIx64 "+0x%" PRIx64, gpa, size);
    else if (!(vm->slots[i].flags & WHvMapGpaRangeFlagTrackDirtyPages))
        st = whpx_error(err, VS_ERR_STATE, "dirty logging is off for the slot at 0x%" PRIx64, gpa);
    if (st == VS_OK) {
        uint64_t pages = size / GUEST_PAGE_SIZE;
        HRESULT hr = WHvQueryGpaRangeDirtyBitmap(vm->part, gpa, size, bitmap,
                                                 (UINT32)((pages + 63) / 64 * 8));
        if (FAILED(hr))
            st = hr_error(err, "WHvQueryGpaRangeDirtyBitmap", hr);
    }
    pthread_mutex_unlock(&vm->lock);
    return st;
}

static VsStatus whpx_dirty_track(AccelVm *base, uint64_t gpa, uint64_t size, bool on, VsError *err)
{
    (void)base;
    (void)on;
    return whpx_error(err, VS_ERR_UNSUPPORTED,
                      "dirty tracking of a range (0x%" PRIx64 "+0x%" PRIx64
                      ") is not implemented for WHPX; use dirty_log on all of RAM",
                      gpa, size);
}

/* ---- Interrupts: only what WHPX itself provides ---- */

static VsStatus whpx_set_irq_line(AccelVm *base, unsigned gsi, bool level, VsError *err)
{
    (void)base;
    (void)level;
    return whpx_error(err, VS_ERR_UNSUPPORTED,
                      "interrupt line %u: WHPX emulates no IOAPIC or PIC, and Vessel has no "
                      "user-space IOAPIC yet",
                      gsi);
}

static VsStatus whpx_irqfd_add(AccelVm *base, int fd, int resample_fd, unsigned gsi, VsError *err)
{
    (void)base;
    (void)fd;
    (void)resample_fd;
    return whpx_error(err, VS_ERR_UNSUPPORTED, "irqfd (GSI %u) is a Linux KVM feature", gsi);
}

/* Nothing can have been added (irqfd_add always fails), so there is nothing to remove. */
static void whpx_irqfd_remove(AccelVm *base, int fd, unsigned gsi)
{
    (void)base;
    (void)fd;
    (void)gsi;
}

static VsStatus whpx_ioeventfd_add(AccelVm *base, int fd, bool pio, uint64_t addr, unsigned len,
                                   bool match, uint64_t value, VsError *err)
{
    (void)base;
    (void)fd;
    (void)pio;
    (void)len;
    (void)match;
    (void)value;
    return whpx_error(err, VS_ERR_UNSUPPORTED,
                      "ioeventfd at 0x%" PRIx64 ": eventfds are Linux's (WHPX doorbells, which "
                      "take event handles, are not wired up)",
                      addr);
}

static void whpx_ioeventfd_remove(AccelVm *base, int fd, bool pio, uint64_t addr, unsigned len,
                                  bool match, uint64_t value)
{
    /* As irqfd_remove: ioeventfd_add never succeeds. */
    (void)base;
    (void)fd;
    (void)pio;
    (void)addr;
    (void)len;
    (void)match;
    (void)value;
}

/* ---- vCPUs ---- */

static WHV_PARTITION_HANDLE part_of(AccelVcpu *c)
{
    return ((WhpxVm *)c->vm)->part;
}

static HRESULT get_regs(AccelVcpu *c, const WHV_REGISTER_NAME *n, unsigned count,
                        WHV_REGISTER_VALUE *v)
{
    return WHvGetVirtualProcessorRegisters(part_of(c), c->index, n, count, v);
}

static HRESULT set_regs(AccelVcpu *c, const WHV_REGISTER_NAME *n, unsigned count,
                        const WHV_REGISTER_VALUE *v)
{
    return WHvSetVirtualProcessorRegisters(part_of(c), c->index, n, count, v);
}

/* The registers a reset writes back (read right after the processor was created). */
static const WHV_REGISTER_NAME reset_names[] = {
    WHvX64RegisterRax,  WHvX64RegisterRcx,      WHvX64RegisterRdx,  WHvX64RegisterRbx,
    WHvX64RegisterRsp,  WHvX64RegisterRbp,      WHvX64RegisterRsi,  WHvX64RegisterRdi,
    WHvX64RegisterR8,   WHvX64RegisterR9,       WHvX64RegisterR10,  WHvX64RegisterR11,
    WHvX64RegisterR12,  WHvX64RegisterR13,      WHvX64RegisterR14,  WHvX64RegisterR15,
    WHvX64RegisterRip,  WHvX64RegisterRflags,   WHvX64RegisterEs,   WHvX64RegisterCs,
    WHvX64RegisterSs,   WHvX64RegisterDs,       WHvX64RegisterFs,   WHvX64RegisterGs,
    WHvX64RegisterLdtr, WHvX64RegisterTr,       WHvX64RegisterIdtr, WHvX64RegisterGdtr,
    WHvX64RegisterCr0,  WHvX64RegisterCr2,      WHvX64RegisterCr3,  WHvX64RegisterCr4,
    WHvX64RegisterCr8,  WHvX64RegisterDr0,      WHvX64RegisterDr1,  WHvX64RegisterDr2,
    WHvX64RegisterDr3,  WHvX64RegisterDr6,      WHvX64RegisterDr7,  WHvX64RegisterXCr0,
    WHvX64RegisterEfer, WHvX64RegisterApicBase,
};
#define NRESET (sizeof(reset_names) / sizeof(reset_names[0]))

static HRESULT CALLBACK emu_io(void *ctx, WHV_EMULATOR_IO_ACCESS_INFO *io)
{
    (void)ctx;
    (void)io;
    return E_NOTIMPL; /* string port I/O: reported as an internal error by vcpu_run */
}

/* The instruction emulator's memory access. Probing (the first emulation of an MMIO exit)
 * records the access; a write completes at once with its data, a read fails so that the
 * emulation stops without effect and is repeated after the VMM has supplied the value. */
static HRESULT CALLBACK emu_memory(void *ctx, WHV_EMULATOR_MEMORY_ACCESS_INFO *m)
{
    WhpxVcpu *c = ctx;
    if (m->AccessSize != 1 && m->AccessSize != 2 && m->AccessSize != 4 && m->AccessSize != 8)
        return E_INVALIDARG;
    if (c->probe) {
        if (c->mmio_seen)
            return E_NOTIMPL; /* one MMIO access per instruction */
        c->mmio_seen = true;
        c->mmio_gpa = m->GpaAddress;
        c->size = m->AccessSize;
        c->mmio_write = m->Direction != 0;
        if (c->mmio_write) {
            memcpy(c->data, m->Data, m->AccessSize);
            return S_OK;
        }
        return E_PENDING;
    }
    if (m->GpaAddress != c->mmio_gpa || m->AccessSize != c->size || m->Direction != 0)
        return E_UNEXPECTED;
    memcpy(m->Data, c->data, m->AccessSize);
    return S_OK;
}

static HRESULT CALLBACK emu_get(void *ctx, const WHV_REGISTER_NAME *n, UINT32 count,
                                WHV_REGISTER_VALUE *v)
{
    return get_regs(&((WhpxVcpu *)ctx)->base, n, count, v);
}

static HRESULT CALLBACK emu_set(void *ctx, const WHV_REGISTER_NAME *n, UINT32 count,
                                const WHV_REGISTER_VALUE *v)
{
    return set_regs(&((WhpxVcpu *)ctx)->base, n, count, v);
}

static HRESULT CALLBACK emu_translate(void *ctx, WHV_GUEST_VIRTUAL_ADDRESS gva,
                                      WHV_TRANSLATE_GVA_FLAGS flags,
                                      WHV_TRANSLATE_GVA_RESULT_CODE *result,
                                      WHV_GUEST_PHYSICAL_ADDRESS *gpa)
{
    WhpxVcpu *c = ctx;
    WHV_TRANSLATE_GVA_RESULT r;
    HRESULT hr = WHvTranslateGva(part_of(&c->base), c->base.index, gva, flags, &r, gpa);
    if (SUCCEEDED(hr))
        *result = r.ResultCode;
    return hr;
}

static const WHV_EMULATOR_CALLBACKS emu_callbacks = {
    .Size = sizeof(WHV_EMULATOR_CALLBACKS),
    .WHvEmulatorIoPortCallback = emu_io,
    .WHvEmulatorMemoryCallback = emu_memory,
    .WHvEmulatorGetVirtualProcessorRegisters = emu_get,
    .WHvEmulatorSetVirtualProcessorRegisters = emu_set,
    .WHvEmulatorTranslateGvaPage = emu_translate,
};

static void whpx_vcpu_destroy(AccelVcpu *base)
{
    WhpxVcpu *c = (WhpxVcpu *)base;
    if (!c)
        return;
    if (c->emu)
        WHvEmulatorDestroyEmulator(c->emu);
    WHvDeleteVirtualProcessor(part_of(base), base->index);
    free(c);
}

static VsStatus whpx_vcpu_create(AccelVm *vbase, unsigned index, AccelVcpu **out, VsError *err)
{
    WhpxVm *vm = (WhpxVm *)vbase;
    *out = NULL;
    HRESULT hr = WHvCreateVirtualProcessor(vm->part, index, 0);
    if (FAILED(hr))
        return hr_error(err, "WHvCreateVirtualProcessor", hr);
    WhpxVcpu *c = calloc(1, sizeof(*c));
    if (!c) {
        WHvDeleteVirtualProcessor(vm->part, index);
        return whpx_error(err, VS_ERR_NOMEM, "out of memory");
    }
    c->base.vm = vbase;
    c->base.index = index;
    hr = WHvEmulatorCreateEmulator(&emu_callbacks, &c->emu);
    if (SUCCEEDED(hr)) {
        c->nreset = NRESET;
        hr = get_regs(&c->base, reset_names, NRESET, c->reset_values);
    }
    if (FAILED(hr)) {
        whpx_vcpu_destroy(&c->base);
        return hr_error(err, "creating the WHPX instruction emulator", hr);
    }
    *out = &c->base;
    return VS_OK;
}

static VsStatus whpx_vcpu_boot_setup(AccelVcpu *base, VsError *err)
{
    static const WHV_REGISTER_NAME n[] = {
        WHvX64RegisterSysenterCs,     WHvX64RegisterSysenterEsp,     WHvX64RegisterSysenterEip,
        WHvX64RegisterStar,           WHvX64RegisterLstar,           WHvX64RegisterCstar,
        WHvX64RegisterSfmask,         WHvX64RegisterKernelGsBase,    WHvX64RegisterTsc,
        WHvX64RegisterMsrMtrrDefType, WHvX64RegisterFpControlStatus, WHvX64RegisterXmmControlStatus,
    };
    WHV_REGISTER_VALUE v[sizeof(n) / sizeof(n[0])];
    memset(v, 0, sizeof(v));
    v[9].Reg64 = (1u << 11) | 6; /* MTRRs enabled, default type write-back */
    v[10].FpControlStatus.FpControl = 0x37f;
    v[11].XmmControlStatus.XmmStatusControl = 0x1f80;
    HRESULT hr = set_regs(base, n, sizeof(n) / sizeof(n[0]), v);
    if (FAILED(hr))
        return hr_error(err, "setting the boot MSRs and FPU state", hr);
    return VS_OK;
}

static VsStatus whpx_vcpu_set_runnable(AccelVcpu *base, bool runnable, VsError *err)
{
    (void)base;
    if (runnable)
        return VS_OK;
    return whpx_error(err, VS_ERR_UNSUPPORTED,
                      "leaving an application processor waiting for INIT/SIPI is not "
                      "implemented for WHPX");
}

static VsStatus whpx_vm_reset(AccelVm *base, VsError *err)
{
    (void)base;
    (void)err;
    return VS_OK; /* WHPX has no partition-wide devices; the LAPICs are the vCPUs' */
}

static VsStatus whpx_vcpu_reset(AccelVcpu *base, VsError *err)
{
    WhpxVcpu *c = (WhpxVcpu *)base;
    HRESULT hr = set_regs(base, reset_names, c->nreset, c->reset_values);
    if (FAILED(hr))
        return hr_error(err, "restoring the power-on registers", hr);
    c->pending = PENDING_NONE;
    return whpx_vcpu_boot_setup(base, err);
}

static VsStatus whpx_inject_interrupt(AccelVcpu *base, unsigned vector, VsError *err)
{
    if (vector > 255)
        return whpx_error(err, VS_ERR_INVALID, "interrupt vector %u", vector);
    HRESULT hr;
    if (((WhpxVm *)base->vm)->irqchip) {
        WHV_INTERRUPT_CONTROL ic;
        memset(&ic, 0, sizeof(ic));
        ic.Type = WHvX64InterruptTypeFixed;
        ic.DestinationMode = WHvX64InterruptDestinationModePhysical;
        ic.TriggerMode = WHvX64InterruptTriggerModeEdge;
        ic.Destination = base->index;
        ic.Vector = vector;
        hr = WHvRequestInterrupt(part_of(base), &ic, sizeof(ic));
    } else {
        WHV_REGISTER_NAME n = WHvRegisterPendingInterruption;
        WHV_REGISTER_VALUE v;
        memset(&v, 0, sizeof(v));
        v.PendingInterruption.InterruptionPending = 1;
        v.PendingInterruption.InterruptionType = WHvX64PendingInterrupt;
        v.PendingInterruption.InterruptionVector = vector;
        hr = set_regs(base, &n, 1, &v);
    }
    if (FAILED(hr))
        return hr_error(err, "injecting an interrupt", hr);
    return VS_OK;
}

static void whpx_request_irq_window(AccelVcpu *base, bool on)
{
    WHV_REGISTER_NAME n = WHvX64RegisterDeliverabilityNotifications;
    WHV_REGISTER_VALUE v;
    memset(&v, 0, sizeof(v));
    v.DeliverabilityNotifications.InterruptNotification = on;
    HRESULT hr = set_regs(base, &n, 1, &v);
    if (FAILED(hr))
        fprintf(stderr, "vessel: WHPX: interrupt window request failed (HRESULT 0x%08lx)\n",
                (unsigned long)hr);
}

static void whpx_vcpu_kick(AccelVcpu *base)
{
    WHvCancelRunVirtualProcessor(part_of(base), base->index, 0);
}

static void whpx_vcpu_thread_done(AccelVcpu *base)
{
    (void)base; /* a kick is a hypervisor call, not a signal to the thread */
}

/* Finish the exit the VMM has handled: an IN's value to RAX, then past the instruction;
 * an MMIO read by emulating its instruction again with the value. */
static VsStatus complete_pending(WhpxVcpu *c, VsError *err)
{
    int p = c->pending;
    c->pending = PENDING_NONE;
    if (p == PENDING_IO_IN || p == PENDING_IO_OUT) {
        WHV_REGISTER_NAME n[2] = { WHvX64RegisterRip, WHvX64RegisterRax };
        WHV_REGISTER_VALUE v[2];
        memset(v, 0, sizeof(v));
        v[0].Reg64 = c->exit.VpContext.Rip + c->exit.VpContext.InstructionLength;
        unsigned count = 1;
        if (p == PENDING_IO_IN) {
            uint64_t rax = c->exit.IoPortAccess.Rax, val = 0;
            memcpy(&val, c->data, c->size);
            if (c->size == 4)
                rax = val; /* a 32-bit result zero-extends into RAX */
            else
                rax = (rax & ~((1ull << (8 * c->size)) - 1)) | val;
            v[1].Reg64 = rax;
            count = 2;
        }
        HRESULT hr = set_regs(&c->base, n, count, v);
        if (FAILED(hr))
            return hr_error(err, "completing a port access", hr);
    } else if (p == PENDING_MMIO_READ) {
        WHV_EMULATOR_STATUS s;
        c->probe = false;
        HRESULT hr =
            WHvEmulatorTryMmioEmulation(c->emu, c, &c->exit.VpContext, &c->exit.MemoryAccess, &s);
        if (FAILED(hr) || !s.EmulationSuccessful)
            return whpx_error(err, VS_ERR_IO,
                              "WHPX could not complete the MMIO read at 0x%" PRIx64
                              " (HRESULT 0x%08lx, status 0x%x)",
                              c->mmio_gpa, (unsigned long)hr, (unsigned)s.AsUINT32);
    }
    return VS_OK;
}

static void internal(AccelExit *ex, const char *fmt, uint64_t a)
{
    ex->kind = ACCEL_EXIT_INTERNAL_ERROR;
    snprintf(ex->message, sizeof(ex->message), fmt, a);
}

static VsStatus whpx_vcpu_run(AccelVcpu *base, AccelExit *ex, VsError *err)
{
    WhpxVcpu *c = (WhpxVcpu *)base;
    memset(ex, 0, sizeof(*ex));
    VsStatus st = complete_pending(c, err);
    if (st != VS_OK)
        return st;
    HRESULT hr = WHvRunVirtualProcessor(part_of(base), base->index, &c->exit, sizeof(c->exit));
    if (FAILED(hr))
        return hr_error(err, "WHvRunVirtualProcessor", hr);
    const WHV_RUN_VP_EXIT_CONTEXT *e = &c->exit;
    ex->raw_reason = e->ExitReason;
    switch (e->ExitReason) {
    case WHvRunVpExitReasonX64IoPortAccess: {
        unsigned size = e->IoPortAccess.AccessInfo.AccessSize;
        if (e->IoPortAccess.AccessInfo.StringOp || e->IoPortAccess.AccessInfo.RepPrefix) {
            internal(ex, "string port I/O (port 0x%" PRIx64 ") is not supported on WHPX yet",
                     e->IoPortAccess.PortNumber);
            break;
        }
        if (size != 1 && size != 2 && size != 4) {
            internal(ex, "port I/O exit with size %" PRIu64, size);
            break;
        }
        c->size = (uint8_t)size;
        bool write = e->IoPortAccess.AccessInfo.IsWrite;
        uint64_t rax = e->IoPortAccess.Rax;
        memcpy(c->data, &rax, size);
        c->pending = write ? PENDING_IO_OUT : PENDING_IO_IN;
        ex->kind = ACCEL_EXIT_IO;
        ex->io.port = e->IoPortAccess.PortNumber;
        ex->io.size = (uint8_t)size;
        ex->io.write = write;
        ex->io.count = 1;
        ex->io.data = c->data;
        break;
    }
    case WHvRunVpExitReasonMemoryAccess: {
        WHV_EMULATOR_STATUS s;
        c->probe = true;
        c->mmio_seen = false;
        hr = WHvEmulatorTryMmioEmulation(c->emu, c, &e->VpContext, &e->MemoryAccess, &s);
        c->probe = false;
        if (!c->mmio_seen) {
            internal(ex, "WHPX could not decode the MMIO access at 0x%" PRIx64,
                     e->MemoryAccess.Gpa);
            break;
        }
        if (c->mmio_write && (FAILED(hr) || !s.EmulationSuccessful)) {
            internal(ex, "WHPX could not emulate the MMIO write at 0x%" PRIx64, c->mmio_gpa);
            break;
        }
        if (!c->mmio_write)
            c->pending = PENDING_MMIO_READ;
        ex->kind = ACCEL_EXIT_MMIO;
        ex->mmio.addr = c->mmio_gpa;
        ex->mmio.size = c->size;
        ex->mmio.write = c->mmio_write;
        ex->mmio.data = c->data;
        break;
    }
    case WHvRunVpExitReasonX64Halt: ex->kind = ACCEL_EXIT_HALT; break;
    case WHvRunVpExitReasonX64InterruptWindow: ex->kind = ACCEL_EXIT_IRQ_WINDOW; break;
    case WHvRunVpExitReasonCanceled: ex->kind = ACCEL_EXIT_INTERRUPTED; break;
    case WHvRunVpExitReasonUnrecoverableException:
        ex->kind = ACCEL_EXIT_SHUTDOWN;
        snprintf(ex->message, sizeof(ex->message),
                 "the vCPU shut down (an unrecoverable exception: a triple fault)");
        break;
    case WHvRunVpExitReasonInvalidVpRegisterValue:
        internal(ex, "WHPX refused the vCPU's register state (exit %" PRIu64 ")", e->ExitReason);
        break;
    case WHvRunVpExitReasonUnsupportedFeature:
        internal(ex, "the guest used a feature WHPX does not support (exit %" PRIu64 ")",
                 e->ExitReason);
        break;
    default: internal(ex, "unexpected WHPX exit 0x%" PRIx64, e->ExitReason); break;
    }
    return VS_OK;
}

/* ---- Registers ---- */

static const WHV_REGISTER_NAME gp_names[] = {
    WHvX64RegisterRax, WHvX64RegisterRbx,    WHvX64RegisterRcx, WHvX64RegisterRdx,
    WHvX64RegisterRsi, WHvX64RegisterRdi,    WHvX64RegisterRsp, WHvX64RegisterRbp,
    WHvX64RegisterR8,  WHvX64RegisterR9,     WHvX64RegisterR10, WHvX64RegisterR11,
    WHvX64RegisterR12, WHvX64RegisterR13,    WHvX64RegisterR14, WHvX64RegisterR15,
    WHvX64RegisterRip, WHvX64RegisterRflags,
};
#define NGP (sizeof(gp_names) / sizeof(gp_names[0]))

static VsStatus whpx_get_regs(AccelVcpu *base, AccelX86Regs *o, VsError *err)
{
    WHV_REGISTER_VALUE v[NGP];
    HRESULT hr = get_regs(base, gp_names, NGP, v);
    if (FAILED(hr))
        return hr_error(err, "WHvGetVirtualProcessorRegisters", hr);
    uint64_t *d[NGP] = { &o->rax, &o->rbx, &o->rcx, &o->rdx, &o->rsi, &o->rdi,
                         &o->rsp, &o->rbp, &o->r8,  &o->r9,  &o->r10, &o->r11,
                         &o->r12, &o->r13, &o->r14, &o->r15, &o->rip, &o->rflags };
    for (unsigned i = 0; i < NGP; i++)
        *d[i] = v[i].Reg64;
    return VS_OK;
}

static VsStatus whpx_set_regs(AccelVcpu *base, const AccelX86Regs *in, VsError *err)
{
    WHV_REGISTER_VALUE v[NGP];
    memset(v, 0, sizeof(v));
    const uint64_t s[NGP] = { in->rax, in->rbx, in->rcx, in->rdx, in->rsi, in->rdi,
                              in->rsp, in->rbp, in->r8,  in->r9,  in->r10, in->r11,
                              in->r12, in->r13, in->r14, in->r15, in->rip, in->rflags };
    for (unsigned i = 0; i < NGP; i++)
        v[i].Reg64 = s[i];
    HRESULT hr = set_regs(base, gp_names, NGP, v);
    if (FAILED(hr))
        return hr_error(err, "WHvSetVirtualProcessorRegisters", hr);
    return VS_OK;
}

static const WHV_REGISTER_NAME sreg_names[] = {
    WHvX64RegisterCs,   WHvX64RegisterDs,   WHvX64RegisterEs,   WHvX64RegisterFs,
    WHvX64RegisterGs,   WHvX64RegisterSs,   WHvX64RegisterTr,   WHvX64RegisterLdtr,
    WHvX64RegisterGdtr, WHvX64RegisterIdtr, WHvX64RegisterCr0,  WHvX64RegisterCr2,
    WHvX64RegisterCr3,  WHvX64RegisterCr4,  WHvX64RegisterEfer,
};
#define NSREG (sizeof(sreg_names) / sizeof(sreg_names[0]))

static void seg_from(AccelX86Segment *d, const WHV_X64_SEGMENT_REGISTER *s)
{
    *d = (AccelX86Segment){ s->Base,      s->Limit,
                            s->Selector,  s->SegmentType,
                            s->Present,   s->DescriptorPrivilegeLevel,
                            s->Default,   s->NonSystemSegment,
                            s->Long,      s->Granularity,
                            s->Available, !s->Present };
}

static void seg_to(WHV_X64_SEGMENT_REGISTER *d, const AccelX86Segment *s)
{
    memset(d, 0, sizeof(*d));
    d->Base = s->base;
    d->Limit = s->limit;
    d->Selector = s->selector;
    d->SegmentType = s->type;
    d->NonSystemSegment = s->s;
    d->DescriptorPrivilegeLevel = s->dpl;
    d->Present = s->present && !s->unusable;
    d->Available = s->avl;
    d->Long = s->l;
    d->Default = s->db;
    d->Granularity = s->g;
}

static VsStatus whpx_get_sregs(AccelVcpu *base, AccelX86Sregs *o, VsError *err)
{
    WHV_REGISTER_VALUE v[NSREG];
    HRESULT hr = get_regs(base, sreg_names, NSREG, v);
    if (FAILED(hr))
        return hr_error(err, "WHvGetVirtualProcessorRegisters", hr);
    AccelX86Segment *segs[8] = { &o->cs, &o->ds, &o->es, &o->fs, &o->gs, &o->ss, &o->tr, &o->ldt };
    for (unsigned i = 0; i < 8; i++)
        seg_from(segs[i], &v[i].Segment);
    o->gdt_base = v[8].Table.Base;
    o->gdt_limit = v[8].Table.Limit;
    o->idt_base = v[9].Table.Base;
    o->idt_limit = v[9].Table.Limit;
    o->cr0 = v[10].Reg64;
    o->cr2 = v[11].Reg64;
    o->cr3 = v[12].Reg64;
    o->cr4 = v[13].Reg64;
    o->efer = v[14].Reg64;
    return VS_OK;
}

static VsStatus whpx_set_sregs(AccelVcpu *base, const AccelX86Sregs *in, VsError *err)
{
    WHV_REGISTER_VALUE v[NSREG];
    memset(v, 0, sizeof(v));
    const AccelX86Segment *segs[8] = { &in->cs, &in->ds, &in->es, &in->fs,
                                       &in->gs, &in->ss, &in->tr, &in->ldt };
    for (unsigned i = 0; i < 8; i++)
        seg_to(&v[i].Segment, segs[i]);
    v[8].Table.Base = in->gdt_base;
    v[8].Table.Limit = in->gdt_limit;
    v[9].Table.Base = in->idt_base;
    v[9].Table.Limit = in->idt_limit;
    v[10].Reg64 = in->cr0;
    v[11].Reg64 = in->cr2;
    v[12].Reg64 = in->cr3;
    v[13].Reg64 = in->cr4;
    v[14].Reg64 = in->efer;
    HRESULT hr = set_regs(base, sreg_names, NSREG, v);
    if (FAILED(hr))
        return hr_error(err, "WHvSetVirtualProcessorRegisters", hr);
    return VS_OK;
}

const AccelOps accel_whpx_ops = {
    .name = "WHPX",
    .available = whpx_available,
    .usable = whpx_available,
    .vm_create = whpx_vm_create,
    .vm_destroy = whpx_vm_destroy,
    .sync_memory = whpx_sync_memory,
    .vcpu_create = whpx_vcpu_create,
    .vcpu_destroy = whpx_vcpu_destroy,
    .vcpu_run = whpx_vcpu_run,
    .vcpu_kick = whpx_vcpu_kick,
    .vcpu_thread_done = whpx_vcpu_thread_done,
    .get_regs = whpx_get_regs,
    .set_regs = whpx_set_regs,
    .get_sregs = whpx_get_sregs,
    .set_sregs = whpx_set_sregs,
    .vcpu_boot_setup = whpx_vcpu_boot_setup,
    .vcpu_set_runnable = whpx_vcpu_set_runnable,
    .set_irq_line = whpx_set_irq_line,
    .inject_interrupt = whpx_inject_interrupt,
    .request_irq_window = whpx_request_irq_window,
    .irqfd_add = whpx_irqfd_add,
    .irqfd_remove = whpx_irqfd_remove,
    .ioeventfd_add = whpx_ioeventfd_add,
    .ioeventfd_remove = whpx_ioeventfd_remove,
    .dirty_log = whpx_dirty_log,
    .dirty_get = whpx_dirty_get,
    .dirty_track = whpx_dirty_track,
    .vm_reset = whpx_vm_reset,
    .vcpu_reset = whpx_vcpu_reset,
};

#endif /* _WIN32 */
