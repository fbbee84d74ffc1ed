/* SPDX-License-Identifier: MIT */
/*
 * The KVM backend of the Accel interface (Documentation/virt/kvm/api.rst), x86_64 hosts.
 *
 * One VM file descriptor per machine, one vCPU descriptor and its mmap'ed kvm_run page per
 * vCPU. The in-kernel irqchip (PIC, IOAPIC, LAPICs) and PIT keep interrupt and timer
 * traffic out of the VMM. A kick is a real-time signal to the vCPU thread plus
 * kvm_run.immediate_exit, so a kick between the check of the request flags and KVM_RUN is
 * never lost (KVM_CAP_IMMEDIATE_EXIT).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "accel/accel.h"
#include "accel/kvm-cpuid.h"
#include "core/machine.h"

#define KVM_DEVICE "/dev/kvm"
/* Where KVM puts the real-mode TSS and identity page table Intel VMX needs (QEMU's and
 * Firecracker's choice: just below the 4 GiB BIOS area, never RAM on our boards). */
#define KVM_TSS_ADDR     0xfffbd000ull
#define KVM_IDENTITY_MAP 0xfffbc000ull
#define KVM_MAX_SLOTS    32
#define KVM_MAX_TRACKED  4
#define KVM_MAX_CPUID    256
#define KVM_KICK_SIGNAL  (SIGRTMIN + 3)

/* x86 MSRs set at boot. */
#define MSR_IA32_TSC          0x10
#define MSR_IA32_SYSENTER_CS  0x174
#define MSR_IA32_SYSENTER_ESP 0x175
#define MSR_IA32_SYSENTER_EIP 0x176
#define MSR_IA32_MISC_ENABLE  0x1a0
#define MSR_MTRR_DEF_TYPE     0x2ff
#define MSR_STAR              0xc0000081
#define MSR_LSTAR             0xc0000082
#define MSR_CSTAR             0xc0000083
#define MSR_SYSCALL_MASK      0xc0000084
#define MSR_KERNEL_GS_BASE    0xc0000102

/* LAPIC registers (offsets in struct kvm_lapic_state.regs). */
#define APIC_LVT_LINT0   0x350
#define APIC_LVT_LINT1   0x360
#define APIC_MODE_NMI    0x4
#define APIC_MODE_EXTINT 0x7

typedef struct KvmSlot {
    bool used;
    uint64_t gpa, size;
    void *hva;
    uint32_t flags; /* KVM_MEM_* */
} KvmSlot;

/* A guest physical range with dirty logging in a slot of its own (dirty_track). */
typedef struct KvmTracked {
    uint64_t gpa, size; /* size 0: unused */
} KvmTracked;

typedef struct KvmVm {
    AccelVm base;
    int kvm_fd, vm_fd;
    size_t run_size;
    bool irqchip;
    unsigned ncpus;
    pthread_mutex_t lock; /* slots */
    KvmSlot slots[KVM_MAX_SLOTS];
    const PhysMem *pm; /* the map of the last sync_memory, kept for re-mapping */
    KvmTracked tracked[KVM_MAX_TRACKED];
    bool dirty_logging;
    struct kvm_cpuid2 *supported; /* KVM_GET_SUPPORTED_CPUID */
    /* Power-on state of the in-kernel devices, read right after they were created: the
     * two 8259s, the IOAPIC and the PIT. vm_reset writes it back. */
    struct kvm_irqchip reset_chips[3];
    struct kvm_pit_state2 reset_pit;
} KvmVm;

typedef struct KvmVcpu {
    AccelVcpu base;
    int fd;
    struct kvm_run *run;
    size_t run_size;
    pthread_mutex_t thread_lock; /* thread_known, thread: a kick never signals a gone thread */
    bool thread_known;
    pthread_t thread;
    /* Power-on (INIT) state, read right after KVM_CREATE_VCPU; vcpu_reset writes it back. */
    struct kvm_regs reset_regs;
    struct kvm_sregs reset_sregs;
    struct kvm_lapic_state reset_lapic;
    struct kvm_vcpu_events reset_events;
    struct kvm_debugregs reset_debugregs;
    struct kvm_xcrs reset_xcrs;
    bool have_xcrs;
} KvmVcpu;

static int kvm_errno_status(int e)
{
    return e == ENOMEM ? VS_ERR_NOMEM : VS_ERR_IO;
}

/* ---- The kick signal ---- */

static void kick_handler(int sig)
{
    (void)sig; /* only here to make KVM_RUN return EINTR */
}

static pthread_once_t kick_once = PTHREAD_ONCE_INIT;

static void kick_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = kick_handler; /* no SA_RESTART: KVM_RUN must return */
    sigemptyset(&sa.sa_mask);
    sigaction(KVM_KICK_SIGNAL, &sa, NULL);
}

/* ---- Opening and capability checks ---- */

static const struct {
    int cap;
    const char *name;
} required_caps[] = {
    { KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY" },
    { KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP" },
    { KVM_CAP_PIT2, "KVM_CAP_PIT2" },
    { KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT" },
    { KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID" },
    { KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR" },
    { KVM_CAP_IRQFD, "KVM_CAP_IRQFD" },
    { KVM_CAP_IOEVENTFD, "KVM_CAP_IOEVENTFD" },
};

/* Open /dev/kvm and check the API version and capabilities. Returns the fd or -1 with why. */
static int kvm_open(char *why, size_t len)
{
    int fd = open(KVM_DEVICE, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        if (e == ENOENT)
            snprintf(why, len,
                     "%s does not exist (no KVM module loaded, or not a Linux host "
                     "with virtualization enabled)",
                     KVM_DEVICE);
        else if (e == EACCES || e == EPERM)
            snprintf(why, len, "%s: permission denied (add your user to the kvm group)",
                     KVM_DEVICE);
        else
            snprintf(why, len, "%s: %s", KVM_DEVICE, strerror(e));
        return -1;
    }
    int ver = ioctl(fd, KVM_GET_API_VERSION, 0);
    if (ver != KVM_API_VERSION) {
        snprintf(why, len, "%s: KVM API version %d, Vessel needs %d", KVM_DEVICE, ver,
                 KVM_API_VERSION);
        close(fd);
        return -1;
    }
    for (size_t i = 0; i < sizeof(required_caps) / sizeof(required_caps[0]); i++) {
        if (ioctl(fd, KVM_CHECK_EXTENSION, required_caps[i].cap) <= 0) {
            snprintf(why, len, "%s: the host kernel lacks %s", KVM_DEVICE, required_caps[i].name);
            close(fd);
            return -1;
        }
    }
    return fd;
}

static bool kvm_usable(char *why, size_t len)
{
    int fd = kvm_open(why, len);
    if (fd < 0)
        return false;
    int vcpus = ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);
    int max = ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
    snprintf(why, len, "%s opened (API %d, up to %d vCPUs, %d recommended)", KVM_DEVICE,
             KVM_API_VERSION, max > 0 ? max : vcpus, vcpus);
    close(fd);
    return true;
}

/* Which kernel module provides /dev/kvm: hardware VMX or SVM, or PVM (shadow paging in
 * software, for hosts that are themselves VMs without nested virtualization; ordinary
 * guests run much slower there, see docs/KVM.md). */
static const char *kvm_flavour(void)
{
    if (access("/sys/module/kvm_intel", F_OK) == 0)
        return "kvm_intel (VMX)";
    if (access("/sys/module/kvm_amd", F_OK) == 0)
        return "kvm_amd (SVM)";
    if (access("/sys/module/kvm_pvm", F_OK) == 0)
        return "kvm_pvm (PVM: software shadow paging, no VMX/SVM on this CPU)";
    return NULL;
}

static bool kvm_available(char *why, size_t len)
{
    int fd = kvm_open(why, len);
    if (fd < 0)
        return false;
    int vm = ioctl(fd, KVM_CREATE_VM, 0);
    if (vm < 0) {
        snprintf(why, len, "KVM_CREATE_VM failed: %s", strerror(errno));
        close(fd);
        return false;
    }
    int vcpus = ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);
    int max = ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
    const char *flavour = kvm_flavour();
    snprintf(why, len,
             "%s opened and a VM was created (API %d, up to %d vCPUs, %d recommended%s%s)",
             KVM_DEVICE, KVM_API_VERSION, max > 0 ? max : vcpus, vcpus, flavour ? "; " : "",
             flavour ? flavour : "");
    close(vm);
    close(fd);
    return true;
}

/* ---- VM ---- */

static void kvm_vm_destroy(AccelVm *base)
{
    KvmVm *vm = (KvmVm *)base;
    if (!vm)
        return;
    if (vm->vm_fd >= 0)
        close(vm->vm_fd);
    if (vm->kvm_fd >= 0)
        close(vm->kvm_fd);
    free(vm->supported);
    pthread_mutex_destroy(&vm->lock);
    free(vm);
}

static VsStatus kvm_vm_create(const AccelVmConfig *cfg, AccelVm **out, VsError *err)
{
    char why[256];
    *out = NULL;
    KvmVm *vm = calloc(1, sizeof(*vm));
    if (!vm)
        return vs_error_set(err, VS_ERR_NOMEM, "out of memory");
    vm->base.ops = &accel_kvm_ops;
    vm->vm_fd = -1;
    vm->irqchip = cfg->irqchip;
    vm->ncpus = cfg->ncpus;
    pthread_mutex_init(&vm->lock, NULL);
    vm->kvm_fd = kvm_open(why, sizeof(why));
    if (vm->kvm_fd < 0) {
        kvm_vm_destroy(&vm->base);
        return vs_error_set(err, VS_ERR_UNSUPPORTED, "KVM unavailable: %s", why);
    }
    int max = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
    if (max <= 0)
        max = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);
    if (max > 0 && cfg->ncpus > (unsigned)max) {
        kvm_vm_destroy(&vm->base);
        return vs_error_set(err, VS_ERR_UNSUPPORTED,
                            "KVM on this host allows at most %d vCPUs "
                            "per VM (asked for %u)",
                            max, cfg->ncpus);
    }
    int rs = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (rs < (int)sizeof(struct kvm_run)) {
        kvm_vm_destroy(&vm->base);
        return vs_error_set(err, VS_ERR_IO, "KVM_GET_VCPU_MMAP_SIZE failed: %s", strerror(errno));
    }
    vm->run_size = (size_t)rs;
    vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
    if (vm->vm_fd < 0) {
        int e = errno;
        kvm_vm_destroy(&vm->base);
        return vs_error_set(err, VS_ERR_UNSUPPORTED, "KVM unavailable: KVM_CREATE_VM failed: %s",
                            strerror(e));
    }
    if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)KVM_TSS_ADDR) < 0) {
        int e = errno;
        kvm_vm_destroy(&vm->base);
        return vs_error_set(err, VS_ERR_IO, "KVM_SET_TSS_ADDR failed: %s", strerror(e));
    }
    uint64_t idmap = KVM_IDENTITY_MAP;
    if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_SET_IDENTITY_MAP_ADDR) > 0 &&
        ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &idmap) < 0) {
        int e = errno;
        kvm_vm_destroy(&vm->base);
        return vs_error_set(err, VS_ERR_IO, "KVM_SET_IDENTITY_MAP_ADDR failed: %s", strerror(e));
    }
    if (cfg->irqchip) {
        if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0) {
            int e = errno;
            kvm_vm_destroy(&vm->base);
            return vs_error_set(err, VS_ERR_IO, "KVM_CREATE_IRQCHIP failed: %s", strerror(e));
        }
        struct kvm_pit_config pit = { .flags = 0 };
        if (ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit) < 0) {
            int e = errno;
            kvm_vm_destroy(&vm->base);
            return vs_error_set(err, VS_ERR_IO, "KVM_CREATE_PIT2 failed: %s", strerror(e));
        }
        for (unsigned i = 0; i < 3; i++) {
            vm->reset_chips[i].chip_id = i; /* KVM_IRQCHIP_PIC_MASTER, _PIC_SLAVE, _IOAPIC */
            if (ioctl(vm->vm_fd, KVM_GET_IRQCHIP, &vm->reset_chips[i]) < 0) {
                int e = errno;
                kvm_vm_destroy(&vm->base);
                return vs_error_set(err, VS_ERR_IO, "KVM_GET_IRQCHIP %u failed: %s", i,
                                    strerror(e));
            }
        }
        if (ioctl(vm->vm_fd, KVM_GET_PIT2, &vm->reset_pit) < 0) {
            int e = errno;
            kvm_vm_destroy(&vm->base);
            return vs_error_set(err, VS_ERR_IO, "KVM_GET_PIT2 failed: %s", strerror(e));
        }
    }
    vm->supported =
        calloc(1, sizeof(*vm->supported) + KVM_MAX_CPUID * sizeof(vm->supported->entries[0]));
    if (!vm->supported) {
        kvm_vm_destroy(&vm->base);
        return vs_error_set(err, VS_ERR_NOMEM, "out of memory");
    }
    vm->supported->nent = KVM_MAX_CPUID;
    if (ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, vm->supported) < 0) {
        int e = errno;
        kvm_vm_destroy(&vm->base);
        return vs_error_set(err, VS_ERR_IO, "KVM_GET_SUPPORTED_CPUID failed: %s", strerror(e));
    }
    pthread_once(&kick_once, kick_install);
    *out = &vm->base;
    return VS_OK;
}

static VsStatus slot_set(KvmVm *vm, unsigned i, VsError *err)
{
    KvmSlot *s = &vm->slots[i];
    struct kvm_userspace_memory_region r = {
        .slot = i,
        .flags = s->used ? s->flags : 0,
        .guest_phys_addr = s->used ? s->gpa : 0,
        .memory_size = s->used ? s->size : 0, /* size 0 deletes the slot */
        .userspace_addr = s->used ? (uintptr_t)s->hva : 0,
    };
    if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0)
        return vs_error_set(err, kvm_errno_status(errno),
                            "KVM_SET_USER_MEMORY_REGION (slot %u, 0x%" PRIx64 "+0x%" PRIx64
                            ") failed: %s",
                            i, s->gpa, s->size, strerror(errno));
    return VS_OK;
}

/* One memory slot the VM should have: a piece of a RAM or ROM region. */
typedef struct SlotWant {
    uint64_t gpa, size;
    void *hva;
    uint32_t flags;
} SlotWant;

/*
 * The slots pm's regions need: one per RAM/ROM region, except that a tracked range inside
 * a RAM region gets a slot of its own with dirty logging (so logging costs the rest of RAM
 * nothing), the region's remainder before and after it a slot each. Returns the count, or
 * -1 when there would be more than KVM_MAX_SLOTS.
 */
static int wanted_slots(const KvmVm *vm, const PhysMem *pm, SlotWant *w)
{
    int n = 0;
    for (unsigned r = 0; r < pm->count; r++) {
        const MemRegion *mr = pm->regions[r];
        if (mr->kind == MR_MMIO)
            continue;
        uint32_t flags = mr->kind == MR_ROM ? KVM_MEM_READONLY : 0;
        if (vm->dirty_logging && mr->kind == MR_RAM)
            flags |= KVM_MEM_LOG_DIRTY_PAGES;
        uint64_t at = mr->base, end = mr->base + mr->size;
        while (at < end) {
            /* The first tracked range at or after `at` inside this region. */
            uint64_t tstart = end, tsize = 0;
            for (unsigned t = 0; t < KVM_MAX_TRACKED && mr->kind == MR_RAM; t++) {
                const KvmTracked *k = &vm->tracked[t];
                if (k->size && k->gpa >= at && k->gpa + k->size <= end && k->gpa < tstart) {
                    tstart = k->gpa;
                    tsize = k->size;
                }
            }
            uint64_t pieces[2][2] = { { at, tstart - at }, { tstart, tsize } };
            for (int p = 0; p < 2; p++) {
                if (pieces[p][1] == 0)
                    continue;
                if (n == KVM_MAX_SLOTS)
                    return -1;
                w[n++] =
                    (SlotWant){ pieces[p][0], pieces[p][1], mr->host + (pieces[p][0] - mr->base),
                                p == 1 ? flags | KVM_MEM_LOG_DIRTY_PAGES : flags };
            }
            at = tstart + tsize;
        }
    }
    return n;
}

static VsStatus sync_locked(KvmVm *vm, const PhysMem *pm, VsError *err)
{
    VsStatus st = VS_OK;
    for (unsigned r = 0; r < pm->count; r++) {
        const MemRegion *mr = pm->regions[r];
        if (mr->kind != MR_MMIO && ((mr->base | mr->size) & (GUEST_PAGE_SIZE - 1)))
            return vs_error_set(err, VS_ERR_INVALID,
                                "memory region '%s' at 0x%" PRIx64 "+0x%" PRIx64
                                " is not page aligned, which KVM needs",
                                mr->name, mr->base, mr->size);
    }
    SlotWant w[KVM_MAX_SLOTS];
    int n = wanted_slots(vm, pm, w);
    if (n < 0)
        return vs_error_set(err, VS_ERR_UNSUPPORTED, "more than %d memory slots for KVM",
                            KVM_MAX_SLOTS);
    vm->pm = pm;
    /* Keep the slots that are wanted as they are; remove the others, then add what is new. */
    bool keep[KVM_MAX_SLOTS] = { false }, have[KVM_MAX_SLOTS] = { false };
    for (int j = 0; j < n; j++)
        for (unsigned i = 0; i < KVM_MAX_SLOTS; i++) {
            KvmSlot *s = &vm->slots[i];
            if (s->used && s->gpa == w[j].gpa && s->size == w[j].size && s->hva == w[j].hva &&
                s->flags == w[j].flags) {
                keep[i] = have[j] = true;
                break;
            }
        }
    for (unsigned i = 0; i < KVM_MAX_SLOTS && st == VS_OK; i++) {
        if (vm->slots[i].used && !keep[i]) {
            vm->slots[i].used = false;
            st = slot_set(vm, i, err);
        }
    }
    for (int j = 0; j < n && st == VS_OK; j++) {
        if (have[j])
            continue;
        unsigned i = 0;
        while (i < KVM_MAX_SLOTS && vm->slots[i].used)
            i++;
        if (i == KVM_MAX_SLOTS)
            return vs_error_set(err, VS_ERR_UNSUPPORTED, "more than %d memory slots for KVM",
                                KVM_MAX_SLOTS);
        vm->slots[i] = (KvmSlot){ true, w[j].gpa, w[j].size, w[j].hva, w[j].flags };
        st = slot_set(vm, i, err);
        if (st != VS_OK)
            vm->slots[i].used = false;
    }
    return st;
}

static VsStatus kvm_sync_memory(AccelVm *base, const PhysMem *pm, VsError *err)
{
    KvmVm *vm = (KvmVm *)base;
    pthread_mutex_lock(&vm->lock);
    VsStatus st = sync_locked(vm, pm, err);
    pthread_mutex_unlock(&vm->lock);
    return st;
}

static VsStatus kvm_dirty_log(AccelVm *base, bool on, VsError *err)
{
    KvmVm *vm = (KvmVm *)base;
    VsStatus st = VS_OK;
    pthread_mutex_lock(&vm->lock);
    vm->dirty_logging = on;
    if (vm->pm)
        st = sync_locked(vm, vm->pm, err);
    pthread_mutex_unlock(&vm->lock);
    return st;
}

static VsStatus kvm_dirty_track(AccelVm *base, uint64_t gpa, uint64_t size, bool on, VsError *err)
{
    KvmVm *vm = (KvmVm *)base;
    if (((gpa | size) & (GUEST_PAGE_SIZE - 1)) || size == 0 || gpa + size < gpa)
        return vs_error_set(
            err, VS_ERR_INVALID,
            "dirty tracking of 0x%" PRIx64 "+0x%" PRIx64 ": not a page-aligned range", gpa, size);
    VsStatus st = VS_OK;
    pthread_mutex_lock(&vm->lock);
    if (!vm->pm) {
        pthread_mutex_unlock(&vm->lock);
        return vs_error_set(err, VS_ERR_STATE, "dirty tracking before the memory is mapped");
    }
    if (on) {
        const MemRegion *in = NULL;
        for (unsigned r = 0; r < vm->pm->count; r++) {
            const MemRegion *mr = vm->pm->regions[r];
            if (mr->kind == MR_RAM && gpa >= mr->base && gpa + size <= mr->base + mr->size)
                in = mr;
        }
        unsigned free_t = KVM_MAX_TRACKED;
        for (unsigned t = 0; t < KVM_MAX_TRACKED; t++) {
            const KvmTracked *k = &vm->tracked[t];
            if (!k->size)
                free_t = free_t < t ? free_t : t;
            else if (gpa < k->gpa + k->size && k->gpa < gpa + size)
                st =
                    vs_error_set(err, VS_ERR_INVALID,
                                 "0x%" PRIx64 "+0x%" PRIx64 " overlaps a tracked range", gpa, size);
        }
        if (st == VS_OK && !in)
            st =
                vs_error_set(err, VS_ERR_INVALID,
                             "0x%" PRIx64 "+0x%" PRIx64 " is not inside one RAM region", gpa, size);
        else if (st == VS_OK && free_t == KVM_MAX_TRACKED)
            st = vs_error_set(err, VS_ERR_UNSUPPORTED, "more than %d tracked ranges",
                              KVM_MAX_TRACKED);
        if (st == VS_OK)
            vm->tracked[free_t] = (KvmTracked){ gpa, size };
    } else {
        bool found = false;
        for (unsigned t = 0; t < KVM_MAX_TRACKED; t++)
            if (vm->tracked[t].size && vm->tracked[t].gpa == gpa && vm->tracked[t].size == size) {
                vm->tracked[t] = (KvmTracked){ 0, 0 };
                found = true;
            }
        if (!found)
            st = vs_error_set(err, VS_ERR_INVALID, "0x%" PRIx64 "+0x%" PRIx64 " is not tracked",
                              gpa, size);
    }
    if (st == VS_OK)
        st = sync_locked(vm, vm->pm, err);
    pthread_mutex_unlock(&vm->lock);
    return st;
}

static VsStatus kvm_dirty_get(AccelVm *base, uint64_t gpa, uint64_t size, uint64_t *bitmap,
                              VsError *err)
{
    KvmVm *vm = (KvmVm *)base;
    VsStatus st = VS_OK;
    pthread_mutex_lock(&vm->lock);
    unsigned i = 0;
    while (i < KVM_MAX_SLOTS &&
           !(vm->slots[i].used && vm->slots[i].gpa == gpa && vm->slots[i].size == size))
        i++;
    if (i == KVM_MAX_SLOTS)
        st =
            vs_error_set(err, VS_ERR_INVALID, "no RAM slot at 0x%" PRIx64 "+0x%" PRIx64, gpa, size);
    else if (!(vm->slots[i].flags & KVM_MEM_LOG_DIRTY_PAGES))
        st =
            vs_error_set(err, VS_ERR_STATE, "dirty logging is off for the slot at 0x%" PRIx64, gpa);
    if (st == VS_OK) {
        struct kvm_dirty_log log = { .slot = i };
        log.dirty_bitmap = bitmap;
        if (ioctl(vm->vm_fd, KVM_GET_DIRTY_LOG, &log) < 0)
            st = vs_error_set(err, VS_ERR_IO, "KVM_GET_DIRTY_LOG failed: %s", strerror(errno));
    }
    pthread_mutex_unlock(&vm->lock);
    return st;
}

/* ---- Interrupts and event fds ---- */

static VsStatus kvm_set_irq_line(AccelVm *base, unsigned gsi, bool level, VsError *err)
{
    KvmVm *vm = (KvmVm *)base;
    if (!vm->irqchip)
        return vs_error_set(err, VS_ERR_STATE, "no in-kernel interrupt controller");
    struct kvm_irq_level l = { .irq = gsi, .level = level };
    if (ioctl(vm->vm_fd, KVM_IRQ_LINE, &l) < 0)
        return vs_error_set(err, VS_ERR_IO, "KVM_IRQ_LINE %u failed: %s", gsi, strerror(errno));
    return VS_OK;
}

static VsStatus kvm_irqfd_add(AccelVm *base, int fd, int resample_fd, unsigned gsi, VsError *err)
{
    KvmVm *vm = (KvmVm *)base;
    if (!vm->irqchip)
        return vs_error_set(err, VS_ERR_STATE, "irqfd needs the in-kernel interrupt controller");
    if (resample_fd >= 0 && ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IRQFD_RESAMPLE) <= 0)
        return vs_error_set(err, VS_ERR_UNSUPPORTED,
                            "the host kernel lacks KVM_CAP_IRQFD_RESAMPLE (level-triggered "
                            "irqfd)");
    struct kvm_irqfd f = { .fd = (uint32_t)fd, .gsi = gsi };
    if (resample_fd >= 0) {
        f.flags = KVM_IRQFD_FLAG_RESAMPLE;
        f.resamplefd = (uint32_t)resample_fd;
    }
    if (ioctl(vm->vm_fd, KVM_IRQFD, &f) < 0)
        return vs_error_set(err, VS_ERR_IO, "KVM_IRQFD (gsi %u%s) failed: %s", gsi,
                            resample_fd >= 0 ? ", resample" : "", strerror(errno));
    return VS_OK;
}

static void kvm_irqfd_remove(AccelVm *base, int fd, unsigned gsi)
{
    KvmVm *vm = (KvmVm *)base;
    struct kvm_irqfd f = { .fd = (uint32_t)fd, .gsi = gsi, .flags = KVM_IRQFD_FLAG_DEASSIGN };
    if (ioctl(vm->vm_fd, KVM_IRQFD, &f) < 0)
        vs_log("KVM_IRQFD deassign (gsi %u) failed: %s", gsi, strerror(errno));
}

static int ioeventfd_ctl(KvmVm *vm, int fd, bool pio, uint64_t addr, unsigned len, bool match,
                         uint64_t value, bool remove)
{
    struct kvm_ioeventfd io = {
        .datamatch = match ? value : 0,
        .addr = addr,
        .len = len,
        .fd = fd,
        .flags = (pio ? KVM_IOEVENTFD_FLAG_PIO : 0) | (match ? KVM_IOEVENTFD_FLAG_DATAMATCH : 0) |
                 (remove ? KVM_IOEVENTFD_FLAG_DEASSIGN : 0),
    };
    return ioctl(vm->vm_fd, KVM_IOEVENTFD, &io);
}

static VsStatus kvm_ioeventfd_add(AccelVm *base, int fd, bool pio, uint64_t addr, unsigned len,
                                  bool match, uint64_t value, VsError *err)
{
    if (len != 1 && len != 2 && len != 4 && len != 8)
        return vs_error_set(err, VS_ERR_INVALID, "ioeventfd length %u (use 1, 2, 4 or 8)", len);
    if (ioeventfd_ctl((KvmVm *)base, fd, pio, addr, len, match, value, false) < 0)
        return vs_error_set(err, VS_ERR_IO, "KVM_IOEVENTFD at %s 0x%" PRIx64 " failed: %s",
                            pio ? "port" : "address", addr, strerror(errno));
    return VS_OK;
}

static void kvm_ioeventfd_remove(AccelVm *base, int fd, bool pio, uint64_t addr, unsigned len,
                                 bool match, uint64_t value)
{
    if (ioeventfd_ctl((KvmVm *)base, fd, pio, addr, len, match, value, true) < 0)
        vs_log("KVM_IOEVENTFD deassign at 0x%" PRIx64 " failed: %s", addr, strerror(errno));
}

/* ---- vCPUs ---- */

static void kvm_vcpu_destroy(AccelVcpu *base)
{
    KvmVcpu *c = (KvmVcpu *)base;
    if (!c)
        return;
    if (c->run)
        munmap(c->run, c->run_size);
    if (c->fd >= 0)
        close(c->fd);
    pthread_mutex_destroy(&c->thread_lock);
    free(c);
}

static VsStatus kvm_vcpu_create(AccelVm *vbase, unsigned index, AccelVcpu **out, VsError *err)
{
    KvmVm *vm = (KvmVm *)vbase;
    *out = NULL;
    KvmVcpu *c = calloc(1, sizeof(*c));
    if (!c)
        return vs_error_set(err, VS_ERR_NOMEM, "out of memory");
    c->base.vm = vbase;
    c->base.index = index;
    pthread_mutex_init(&c->thread_lock, NULL);
    c->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, (unsigned long)index);
    if (c->fd < 0) {
        int e = errno;
        free(c);
        return vs_error_set(err, kvm_errno_status(e), "KVM_CREATE_VCPU %u failed: %s", index,
                            strerror(e));
    }
    c->run_size = vm->run_size;
    c->run = mmap(NULL, c->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, c->fd, 0);
    if (c->run == MAP_FAILED) {
        int e = errno;
        c->run = NULL;
        kvm_vcpu_destroy(&c->base);
        return vs_error_set(err, VS_ERR_NOMEM, "cannot map the kvm_run page of vCPU %u: %s", index,
                            strerror(e));
    }
    /* The state a reset returns to. */
    const char *what = NULL;
    if (ioctl(c->fd, KVM_GET_REGS, &c->reset_regs) < 0)
        what = "KVM_GET_REGS";
    else if (ioctl(c->fd, KVM_GET_SREGS, &c->reset_sregs) < 0)
        what = "KVM_GET_SREGS";
    else if (vm->irqchip && ioctl(c->fd, KVM_GET_LAPIC, &c->reset_lapic) < 0)
        what = "KVM_GET_LAPIC";
    else if (ioctl(c->fd, KVM_GET_VCPU_EVENTS, &c->reset_events) < 0)
        what = "KVM_GET_VCPU_EVENTS";
    else if (ioctl(c->fd, KVM_GET_DEBUGREGS, &c->reset_debugregs) < 0)
        what = "KVM_GET_DEBUGREGS";
    c->have_xcrs = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XCRS) > 0;
    if (!what && c->have_xcrs && ioctl(c->fd, KVM_GET_XCRS, &c->reset_xcrs) < 0)
        what = "KVM_GET_XCRS";
    if (what) {
        int e = errno;
        kvm_vcpu_destroy(&c->base);
        return vs_error_set(err, VS_ERR_IO, "%s on vCPU %u failed: %s", what, index, strerror(e));
    }
    *out = &c->base;
    return VS_OK;
}

static VsStatus kvm_vm_reset(AccelVm *base, VsError *err)
{
    KvmVm *vm = (KvmVm *)base;
    if (!vm->irqchip)
        return VS_OK;
    for (unsigned i = 0; i < 3; i++)
        if (ioctl(vm->vm_fd, KVM_SET_IRQCHIP, &vm->reset_chips[i]) < 0)
            return vs_error_set(err, VS_ERR_IO, "KVM_SET_IRQCHIP %u failed: %s", i,
                                strerror(errno));
    if (ioctl(vm->vm_fd, KVM_SET_PIT2, &vm->reset_pit) < 0)
        return vs_error_set(err, VS_ERR_IO, "KVM_SET_PIT2 failed: %s", strerror(errno));
    return VS_OK;
}

static VsStatus boot_state(KvmVcpu *c, VsError *err);

static VsStatus kvm_vcpu_reset(AccelVcpu *base, VsError *err)
{
    KvmVcpu *c = (KvmVcpu *)base;
    KvmVm *vm = (KvmVm *)base->vm;
    struct kvm_vcpu_events ev = c->reset_events;
    ev.flags |= KVM_VCPUEVENT_VALID_NMI_PENDING; /* drop a pending NMI too */
    ev.nmi.pending = 0;
    const char *what = NULL;
    if (ioctl(c->fd, KVM_SET_SREGS, &c->reset_sregs) < 0)
        what = "KVM_SET_SREGS";
    else if (ioctl(c->fd, KVM_SET_REGS, &c->reset_regs) < 0)
        what = "KVM_SET_REGS";
    else if (vm->irqchip && ioctl(c->fd, KVM_SET_LAPIC, &c->reset_lapic) < 0)
        what = "KVM_SET_LAPIC";
    else if (ioctl(c->fd, KVM_SET_VCPU_EVENTS, &ev) < 0)
        what = "KVM_SET_VCPU_EVENTS";
    else if (ioctl(c->fd, KVM_SET_DEBUGREGS, &c->reset_debugregs) < 0)
        what = "KVM_SET_DEBUGREGS";
    else if (c->have_xcrs && ioctl(c->fd, KVM_SET_XCRS, &c->reset_xcrs) < 0)
        what = "KVM_SET_XCRS";
    if (what)
        return vs_error_set(err, VS_ERR_IO, "%s on vCPU %u failed: %s", what, base->index,
                            strerror(errno));
    c->run->request_interrupt_window = 0;
    /* Not CPUID: KVM refuses to change it once the vCPU has run, and it never changes. */
    return boot_state(c, err);
}

static VsStatus kvm_vcpu_boot_setup(AccelVcpu *base, VsError *err)
{
    KvmVcpu *c = (KvmVcpu *)base;
    KvmVm *vm = (KvmVm *)base->vm;

    /* CPUID: what KVM supports, filtered to this board and vCPU (kvm-cpuid.c). */
    struct kvm_cpuid2 *cpuid =
        calloc(1, sizeof(*cpuid) + KVM_MAX_CPUID * sizeof(cpuid->entries[0]));
    if (!cpuid)
        return vs_error_set(err, VS_ERR_NOMEM, "out of memory");
    unsigned n = vm->supported->nent;
    KvmCpuidEntry *e = calloc(n, sizeof(*e));
    if (!e) {
        free(cpuid);
        return vs_error_set(err, VS_ERR_NOMEM, "out of memory");
    }
    for (unsigned i = 0; i < n; i++) {
        const struct kvm_cpuid_entry2 *s = &vm->supported->entries[i];
        e[i] = (KvmCpuidEntry){ s->function, s->index, s->flags, s->eax, s->ebx, s->ecx, s->edx };
    }
    n = kvm_cpuid_filter(e, n, base->index, vm->ncpus);
    cpuid->nent = n;
    for (unsigned i = 0; i < n; i++) {
        struct kvm_cpuid_entry2 *d = &cpuid->entries[i];
        d->function = e[i].function;
        d->index = e[i].index;
        d->flags = e[i].flags;
        d->eax = e[i].eax;
        d->ebx = e[i].ebx;
        d->ecx = e[i].ecx;
        d->edx = e[i].edx;
    }
    free(e);
    int r = ioctl(c->fd, KVM_SET_CPUID2, cpuid);
    int ce = errno;
    free(cpuid);
    if (r < 0)
        return vs_error_set(err, VS_ERR_IO, "KVM_SET_CPUID2 on vCPU %u failed: %s", base->index,
                            strerror(ce));
    return boot_state(c, err);
}

/* The MSRs, FPU and LAPIC LINT set-up of vcpu_boot_setup (at creation and on reset). */
static VsStatus boot_state(KvmVcpu *c, VsError *err)
{
    AccelVcpu *base = &c->base;
    KvmVm *vm = (KvmVm *)base->vm;
    int r;

    /* MSRs: a clean TSC and syscall state, write-back MTRR default, fast strings. */
    static const struct {
        uint32_t index;
        uint64_t value;
    } boot_msrs[] = {
        { MSR_IA32_SYSENTER_CS, 0 },
        { MSR_IA32_SYSENTER_ESP, 0 },
        { MSR_IA32_SYSENTER_EIP, 0 },
        { MSR_STAR, 0 },
        { MSR_LSTAR, 0 },
        { MSR_CSTAR, 0 },
        { MSR_SYSCALL_MASK, 0 },
        { MSR_KERNEL_GS_BASE, 0 },
        { MSR_IA32_TSC, 0 },
        { MSR_IA32_MISC_ENABLE, 1 },
        { MSR_MTRR_DEF_TYPE, (1u << 11) | 6 },
    };
    enum { NMSRS = sizeof(boot_msrs) / sizeof(boot_msrs[0]) };
    struct {
        struct kvm_msrs hdr;
        struct kvm_msr_entry e[NMSRS];
    } msrs;
    memset(&msrs, 0, sizeof(msrs));
    msrs.hdr.nmsrs = NMSRS;
    for (unsigned i = 0; i < NMSRS; i++) {
        msrs.e[i].index = boot_msrs[i].index;
        msrs.e[i].data = boot_msrs[i].value;
    }
    r = ioctl(c->fd, KVM_SET_MSRS, &msrs);
    if (r != NMSRS)
        return vs_error_set(
            err, VS_ERR_IO, "KVM_SET_MSRS on vCPU %u set %d of %d boot MSRs (MSR 0x%x refused)",
            base->index, r, (int)NMSRS, r >= 0 && r < NMSRS ? boot_msrs[r].index : 0);

    /* FPU: the power-on control word (x87 exceptions masked) and MXCSR. */
    struct kvm_fpu fpu;
    memset(&fpu, 0, sizeof(fpu));
    fpu.fcw = 0x37f;
    fpu.mxcsr = 0x1f80;
    if (ioctl(c->fd, KVM_SET_FPU, &fpu) < 0)
        return vs_error_set(err, VS_ERR_IO, "KVM_SET_FPU failed: %s", strerror(errno));

    /* LAPIC: LINT0 takes the PIC's ExtINT, LINT1 the NMI, as a PC's firmware leaves them. */
    if (vm->irqchip) {
        struct kvm_lapic_state lapic;
        if (ioctl(c->fd, KVM_GET_LAPIC, &lapic) < 0)
            return vs_error_set(err, VS_ERR_IO, "KVM_GET_LAPIC failed: %s", strerror(errno));
        uint32_t lint0, lint1;
        memcpy(&lint0, &lapic.regs[APIC_LVT_LINT0], 4);
        memcpy(&lint1, &lapic.regs[APIC_LVT_LINT1], 4);
        lint0 = (lint0 & ~0x700u) | (APIC_MODE_EXTINT << 8);
        lint1 = (lint1 & ~0x700u) | (APIC_MODE_NMI << 8);
        memcpy(&lapic.regs[APIC_LVT_LINT0], &lint0, 4);
        memcpy(&lapic.regs[APIC_LVT_LINT1], &lint1, 4);
        if (ioctl(c->fd, KVM_SET_LAPIC, &lapic) < 0)
            return vs_error_set(err, VS_ERR_IO, "KVM_SET_LAPIC failed: %s", strerror(errno));
    }
    return VS_OK;
}

static VsStatus kvm_vcpu_set_runnable(AccelVcpu *base, bool runnable, VsError *err)
{
    KvmVcpu *c = (KvmVcpu *)base;
    KvmVm *vm = (KvmVm *)base->vm;
    if (!vm->irqchip)
        return runnable ? VS_OK
                        : vs_error_set(err, VS_ERR_STATE,
                                       "waiting for SIPI needs the in-kernel interrupt "
                                       "controller");
    struct kvm_mp_state mp = { .mp_state =
                                   runnable ? KVM_MP_STATE_RUNNABLE : KVM_MP_STATE_UNINITIALIZED };
    if (ioctl(c->fd, KVM_SET_MP_STATE, &mp) < 0)
        return vs_error_set(err, VS_ERR_IO, "KVM_SET_MP_STATE on vCPU %u failed: %s", base->index,
                            strerror(errno));
    return VS_OK;
}

static VsStatus kvm_inject_interrupt(AccelVcpu *base, unsigned vector, VsError *err)
{
    KvmVcpu *c = (KvmVcpu *)base;
    if (((KvmVm *)base->vm)->irqchip)
        return vs_error_set(err, VS_ERR_STATE,
                            "with the in-kernel LAPIC, interrupts go through its lines");
    if (vector > 255)
        return vs_error_set(err, VS_ERR_INVALID, "interrupt vector %u", vector);
    struct kvm_interrupt irq = { .irq = vector };
    if (ioctl(c->fd, KVM_INTERRUPT, &irq) < 0)
        return vs_error_set(err, VS_ERR_IO, "KVM_INTERRUPT %u failed: %s", vector, strerror(errno));
    return VS_OK;
}

static void kvm_request_irq_window(AccelVcpu *base, bool on)
{
    ((KvmVcpu *)base)->run->request_interrupt_window = on;
}

static void kvm_vcpu_kick(AccelVcpu *base)
{
    KvmVcpu *c = (KvmVcpu *)base;
    __atomic_store_n(&c->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
    pthread_mutex_lock(&c->thread_lock);
    if (c->thread_known)
        pthread_kill(c->thread, KVM_KICK_SIGNAL);
    pthread_mutex_unlock(&c->thread_lock);
}

static void kvm_vcpu_thread_done(AccelVcpu *base)
{
    KvmVcpu *c = (KvmVcpu *)base;
    pthread_mutex_lock(&c->thread_lock);
    c->thread_known = false;
    pthread_mutex_unlock(&c->thread_lock);
}

static const char *exit_name(uint32_t reason)
{
    switch (reason) {
    case KVM_EXIT_UNKNOWN: return "KVM_EXIT_UNKNOWN";
    case KVM_EXIT_EXCEPTION: return "KVM_EXIT_EXCEPTION";
    case KVM_EXIT_DEBUG: return "KVM_EXIT_DEBUG";
    case KVM_EXIT_HYPERCALL: return "KVM_EXIT_HYPERCALL";
    case KVM_EXIT_TPR_ACCESS: return "KVM_EXIT_TPR_ACCESS";
    case KVM_EXIT_NMI: return "KVM_EXIT_NMI";
    case KVM_EXIT_IOAPIC_EOI: return "KVM_EXIT_IOAPIC_EOI";
    case KVM_EXIT_HYPERV: return "KVM_EXIT_HYPERV";
    case KVM_EXIT_X86_RDMSR: return "KVM_EXIT_X86_RDMSR";
    case KVM_EXIT_X86_WRMSR: return "KVM_EXIT_X86_WRMSR";
    default: return "an exit Vessel does not know";
    }
}

static VsStatus kvm_vcpu_run(AccelVcpu *base, AccelExit *ex, VsError *err)
{
    KvmVcpu *c = (KvmVcpu *)base;
    struct kvm_run *run = c->run;
    memset(ex, 0, sizeof(*ex));
    pthread_mutex_lock(&c->thread_lock);
    if (!c->thread_known || !pthread_equal(c->thread, pthread_self())) {
        /* The kick signal must reach this thread while it is in KVM_RUN. */
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, KVM_KICK_SIGNAL);
        pthread_sigmask(SIG_UNBLOCK, &set, NULL);
        c->thread = pthread_self();
        c->thread_known = true;
    }
    pthread_mutex_unlock(&c->thread_lock);
    int r = ioctl(c->fd, KVM_RUN, 0);
    if (r < 0) {
        int e = errno;
        __atomic_store_n(&run->immediate_exit, 0, __ATOMIC_SEQ_CST);
        if (e == EINTR || e == EAGAIN) {
            ex->kind = ACCEL_EXIT_INTERRUPTED;
            return VS_OK;
        }
        return vs_error_set(err, VS_ERR_IO, "KVM_RUN on vCPU %u failed: %s", base->index,
                            strerror(e));
    }
    ex->raw_reason = run->exit_reason;
    switch (run->exit_reason) {
    case KVM_EXIT_IO: {
        uint64_t size = run->io.size, count = run->io.count, off = run->io.data_offset;
        if ((size != 1 && size != 2 && size != 4) || count == 0 || off > c->run_size ||
            size * count > c->run_size - off) {
            ex->kind = ACCEL_EXIT_INTERNAL_ERROR;
            snprintf(ex->message, sizeof(ex->message),
                     "port I/O exit with size %" PRIu64 ", count %" PRIu64 ", data at %" PRIu64
                     " outside the %zu-byte run page",
                     size, count, off, c->run_size);
            break;
        }
        ex->kind = ACCEL_EXIT_IO;
        ex->io.port = run->io.port;
        ex->io.size = (uint8_t)size;
        ex->io.write = run->io.direction == KVM_EXIT_IO_OUT;
        ex->io.count = (uint32_t)count;
        ex->io.data = (uint8_t *)run + off;
        break;
    }
    case KVM_EXIT_MMIO: {
        unsigned len = run->mmio.len;
        if (len != 1 && len != 2 && len != 4 && len != 8) {
            ex->kind = ACCEL_EXIT_INTERNAL_ERROR;
            snprintf(ex->message, sizeof(ex->message), "MMIO exit at 0x%llx with length %u",
                     (unsigned long long)run->mmio.phys_addr, len);
            break;
        }
        ex->kind = ACCEL_EXIT_MMIO;
        ex->mmio.addr = run->mmio.phys_addr;
        ex->mmio.size = (uint8_t)len;
        ex->mmio.write = run->mmio.is_write;
        ex->mmio.data = run->mmio.data;
        break;
    }
    case KVM_EXIT_HLT: ex->kind = ACCEL_EXIT_HALT; break;
    case KVM_EXIT_SHUTDOWN:
        ex->kind = ACCEL_EXIT_SHUTDOWN;
        snprintf(ex->message, sizeof(ex->message),
                 "the vCPU shut down (a triple fault: an exception while delivering a double "
                 "fault)");
        break;
    case KVM_EXIT_IRQ_WINDOW_OPEN: ex->kind = ACCEL_EXIT_IRQ_WINDOW; break;
    case KVM_EXIT_INTR: ex->kind = ACCEL_EXIT_INTERRUPTED; break;
    case KVM_EXIT_SYSTEM_EVENT:
        ex->kind = ACCEL_EXIT_SYSTEM_EVENT;
        switch (run->system_event.type) {
        case KVM_SYSTEM_EVENT_SHUTDOWN: ex->event = ACCEL_EVENT_SHUTDOWN; break;
        case KVM_SYSTEM_EVENT_RESET: ex->event = ACCEL_EVENT_RESET; break;
        default: ex->event = ACCEL_EVENT_CRASH; break;
        }
        snprintf(ex->message, sizeof(ex->message), "KVM system event %u", run->system_event.type);
        break;
    case KVM_EXIT_FAIL_ENTRY:
        ex->kind = ACCEL_EXIT_INTERNAL_ERROR;
        snprintf(ex->message, sizeof(ex->message),
                 "KVM could not enter the guest (hardware entry failure reason 0x%llx on "
                 "CPU %u)",
                 (unsigned long long)run->fail_entry.hardware_entry_failure_reason,
                 run->fail_entry.cpu);
        break;
    case KVM_EXIT_INTERNAL_ERROR:
        ex->kind = ACCEL_EXIT_INTERNAL_ERROR;
        snprintf(ex->message, sizeof(ex->message), "KVM internal error (suberror %u%s)",
                 run->internal.suberror,
                 run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION
                     ? ": an instruction KVM could not emulate, often an access to MMIO it "
                       "cannot decode"
                     : "");
        break;
    default:
        ex->kind = ACCEL_EXIT_INTERNAL_ERROR;
        snprintf(ex->message, sizeof(ex->message), "unexpected KVM exit %u (%s)", run->exit_reason,
                 exit_name(run->exit_reason));
        break;
    }
    return VS_OK;
}

/* ---- Registers ---- */

static VsStatus kvm_get_regs(AccelVcpu *base, AccelX86Regs *o, VsError *err)
{
    struct kvm_regs r;
    if (ioctl(((KvmVcpu *)base)->fd, KVM_GET_REGS, &r) < 0)
        return vs_error_set(err, VS_ERR_IO, "KVM_GET_REGS failed: %s", strerror(errno));
    *o = (AccelX86Regs){ r.rax, r.rbx, r.rcx, r.rdx, r.rsi, r.rdi, r.rsp, r.rbp, r.r8,
                         r.r9,  r.r10, r.r11, r.r12, r.r13, r.r14, r.r15, r.rip, r.rflags };
    return VS_OK;
}

static VsStatus kvm_set_regs(AccelVcpu *base, const AccelX86Regs *i, VsError *err)
{
    struct kvm_regs r = {
        .rax = i->rax,
        .rbx = i->rbx,
        .rcx = i->rcx,
        .rdx = i->rdx,
        .rsi = i->rsi,
        .rdi = i->rdi,
        .rsp = i->rsp,
        .rbp = i->rbp,
        .r8 = i->r8,
        .r9 = i->r9,
        .r10 = i->r10,
        .r11 = i->r11,
        .r12 = i->r12,
        .r13 = i->r13,
        .r14 = i->r14,
        .r15 = i->r15,
        .rip = i->rip,
        .rflags = i->rflags,
    };
    if (ioctl(((KvmVcpu *)base)->fd, KVM_SET_REGS, &r) < 0)
        return vs_error_set(err, VS_ERR_IO, "KVM_SET_REGS failed: %s", strerror(errno));
    return VS_OK;
}

static void seg_from_kvm(AccelX86Segment *d, const struct kvm_segment *s)
{
    *d = (AccelX86Segment){ s->base, s->limit, s->selector, s->type, s->present, s->dpl,
                            s->db,   s->s,     s->l,        s->g,    s->avl,     s->unusable };
}

static void seg_to_kvm(struct kvm_segment *d, const AccelX86Segment *s)
{
    d->base = s->base;
    d->limit = s->limit;
    d->selector = s->selector;
    d->type = s->type;
    d->present = s->present;
    d->dpl = s->dpl;
    d->db = s->db;
    d->s = s->s;
    d->l = s->l;
    d->g = s->g;
    d->avl = s->avl;
    d->unusable = s->unusable;
}

static VsStatus kvm_get_sregs(AccelVcpu *base, AccelX86Sregs *o, VsError *err)
{
    struct kvm_sregs s;
    if (ioctl(((KvmVcpu *)base)->fd, KVM_GET_SREGS, &s) < 0)
        return vs_error_set(err, VS_ERR_IO, "KVM_GET_SREGS failed: %s", strerror(errno));
    seg_from_kvm(&o->cs, &s.cs);
    seg_from_kvm(&o->ds, &s.ds);
    seg_from_kvm(&o->es, &s.es);
    seg_from_kvm(&o->fs, &s.fs);
    seg_from_kvm(&o->gs, &s.gs);
    seg_from_kvm(&o->ss, &s.ss);
    seg_from_kvm(&o->tr, &s.tr);
    seg_from_kvm(&o->ldt, &s.ldt);
    o->gdt_base = s.gdt.base;
    o->gdt_limit = s.gdt.limit;
    o->idt_base = s.idt.base;
    o->idt_limit = s.idt.limit;
    o->cr0 = s.cr0;
    o->cr2 = s.cr2;
    o->cr3 = s.cr3;
    o->cr4 = s.cr4;
    o->efer = s.efer;
    return VS_OK;
}

static VsStatus kvm_set_sregs(AccelVcpu *base, const AccelX86Sregs *i, VsError *err)
{
    KvmVcpu *c = (KvmVcpu *)base;
    struct kvm_sregs s;
    /* Read first so the fields the interface does not carry (apic_base, the pending
     * interrupt bitmap) keep KVM's values. */
    if (ioctl(c->fd, KVM_GET_SREGS, &s) < 0)
        return vs_error_set(err, VS_ERR_IO, "KVM_GET_SREGS failed: %s", strerror(errno));
    seg_to_kvm(&s.cs, &i->cs);
    seg_to_kvm(&s.ds, &i->ds);
    seg_to_kvm(&s.es, &i->es);
    seg_to_kvm(&s.fs, &i->fs);
    seg_to_kvm(&s.gs, &i->gs);
    seg_to_kvm(&s.ss, &i->ss);
    seg_to_kvm(&s.tr, &i->tr);
    seg_to_kvm(&s.ldt, &i->ldt);
    s.gdt.base = i->gdt_base;
    s.gdt.limit = i->gdt_limit;
    s.idt.base = i->idt_base;
    s.idt.limit = i->idt_limit;
    s.cr0 = i->cr0;
    s.cr2 = i->cr2;
    s.cr3 = i->cr3;
    s.cr4 = i->cr4;
    s.efer = i->efer;
    if (ioctl(c->fd, KVM_SET_SREGS, &s) < 0)
        return vs_error_set(err, VS_ERR_IO, "KVM_SET_SREGS failed: %s", strerror(errno));
    return VS_OK;
}

const AccelOps accel_kvm_ops = {
    .name = "KVM",
    .available = kvm_available,
    .usable = kvm_usable,
    .vm_create = kvm_vm_create,
    .vm_destroy = kvm_vm_destroy,
    .sync_memory = kvm_sync_memory,
    .vcpu_create = kvm_vcpu_create,
    .vcpu_destroy = kvm_vcpu_destroy,
    .vcpu_run = kvm_vcpu_run,
    .vcpu_kick = kvm_vcpu_kick,
    .vcpu_thread_done = kvm_vcpu_thread_done,
    .get_regs = kvm_get_regs,
    .set_regs = kvm_set_regs,
    .get_sregs = kvm_get_sregs,
    .set_sregs = kvm_set_sregs,
    .vcpu_boot_setup = kvm_vcpu_boot_setup,
    .vcpu_set_runnable = kvm_vcpu_set_runnable,
    .set_irq_line = kvm_set_irq_line,
    .inject_interrupt = kvm_inject_interrupt,
    .request_irq_window = kvm_request_irq_window,
    .irqfd_add = kvm_irqfd_add,
    .irqfd_remove = kvm_irqfd_remove,
    .ioeventfd_add = kvm_ioeventfd_add,
    .ioeventfd_remove = kvm_ioeventfd_remove,
    .dirty_log = kvm_dirty_log,
    .dirty_get = kvm_dirty_get,
    .dirty_track = kvm_dirty_track,
    .vm_reset = kvm_vm_reset,
    .vcpu_reset = kvm_vcpu_reset,
};
