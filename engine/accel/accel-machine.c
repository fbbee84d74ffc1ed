/* SPDX-License-Identifier: MIT */
/* The Accel interface on a machine: tier choice, VM, port bus, vCPU loop. */
#include "accel/accel-machine.h"

#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

bool accel_kvm_available(char *why, size_t len)
{
#ifdef VS_HAVE_KVM
    return accel_kvm_ops.available(why, len);
#else
    snprintf(why, len, "the KVM backend is built only for x86_64 Linux hosts");
    return false;
#endif
}

VsStatus accel_choose(const VsConfig *cfg, VsArch host, bool *use, char *summary, size_t len,
                      VsError *err)
{
    char why[256];
    *use = false;
    bool x86 = cfg->arch == VS_ARCH_X86_64;
    if (cfg->accel != VS_ACCEL_KVM && !(x86 && cfg->accel == VS_ACCEL_AUTO)) {
        if (x86)
            return vs_error_set(err, VS_ERR_UNSUPPORTED,
                                "x86_64 guests run only under KVM so far (the interpreter and "
                                "JIT have no x86_64 frontend yet); use --accel kvm or auto");
        return VS_OK; /* the interpreter's and the JIT's cases */
    }
    if (cfg->arch != host)
        return vs_error_set(err, VS_ERR_UNSUPPORTED,
                            "KVM needs a guest of the host's architecture (this host is %s, "
                            "the guest %s)",
                            host ? vs_arch_name(host) : "neither riscv64, arm64 nor x86_64",
                            vs_arch_name(cfg->arch));
    if (!x86)
        return vs_error_set(err, VS_ERR_UNSUPPORTED, "KVM runs x86_64 guests only so far (not %s)",
                            vs_arch_name(cfg->arch));
#ifdef VS_HAVE_KVM
    bool ok = accel_kvm_ops.usable(why, sizeof(why)); /* the VM itself: accel_machine_create */
#else
    bool ok = accel_kvm_available(why, sizeof(why));
#endif
    if (!ok) {
        if (cfg->accel == VS_ACCEL_KVM)
            return vs_error_set(err, VS_ERR_UNSUPPORTED, "--accel kvm: KVM unavailable: %s", why);
        return vs_error_set(err, VS_ERR_UNSUPPORTED,
                            "KVM unavailable: %s; x86_64 guests have no other tier yet", why);
    }
    *use = true;
    snprintf(summary, len, "KVM (x86_64 guest on a x86_64 host): %s: %s",
             cfg->accel == VS_ACCEL_KVM ? "chosen in the configuration" : "automatic choice", why);
    return VS_OK;
}

VsStatus accel_machine_create(VsMachine *m, VsError *err)
{
#ifdef VS_HAVE_KVM
    AccelMachine *a = calloc(1, sizeof(*a));
    if (!a)
        return vs_error_set(err, VS_ERR_NOMEM, "out of memory");
    m->accel = a;
    a->ops = &accel_kvm_ops;
    pthread_mutex_init(&a->fb_lock, NULL);
    a->vcpus = calloc(m->ncpus, sizeof(*a->vcpus));
    if (!a->vcpus)
        return vs_error_set(err, VS_ERR_NOMEM, "out of memory");
    AccelVmConfig vc = { .ncpus = m->ncpus, .irqchip = true };
    VsStatus st = a->ops->vm_create(&vc, &a->vm, err);
    if (st == VS_OK) {
        size_t n = strlen(m->accel_summary);
        snprintf(m->accel_summary + n, sizeof(m->accel_summary) - n, "; VM created");
    }
    for (unsigned i = 0; i < m->ncpus && st == VS_OK; i++) {
        st = a->ops->vcpu_create(a->vm, i, &a->vcpus[i], err);
        if (st == VS_OK)
            st = a->ops->vcpu_boot_setup(a->vcpus[i], err);
        if (st == VS_OK)
            m->cpus[i]->accel = a->vcpus[i];
    }
    return st;
#else
    (void)m;
    return vs_error_set(err, VS_ERR_UNSUPPORTED, "the KVM backend is not built on this host");
#endif
}

void accel_machine_destroy(VsMachine *m)
{
    AccelMachine *a = m->accel;
    if (!a)
        return;
    for (unsigned i = 0; a->vcpus && i < m->ncpus; i++) {
        if (a->vcpus[i])
            a->ops->vcpu_destroy(a->vcpus[i]);
        m->cpus[i]->accel = NULL;
    }
    if (a->vm)
        a->ops->vm_destroy(a->vm);
    for (unsigned i = 0; i < a->nports; i++)
        pthread_mutex_destroy(&a->ports[i].lock);
    pthread_mutex_destroy(&a->fb_lock);
    free(a->fb_bitmap);
    free(a->vcpus);
    free(a);
    m->accel = NULL;
}

VsStatus accel_machine_reset(VsMachine *m, VsError *err)
{
    AccelMachine *a = m->accel;
    VsStatus st = a->ops->vm_reset(a->vm, err);
    for (unsigned i = 0; i < m->ncpus && st == VS_OK; i++)
        st = a->ops->vcpu_reset(a->vcpus[i], err);
    atomic_fetch_add(&a->resets, 1);
    return st;
}

void accel_machine_reset_failed(VsMachine *m, const char *message)
{
    snprintf(m->accel->reset_error, sizeof(m->accel->reset_error), "%s", message);
}

VsStatus accel_machine_sync_memory(VsMachine *m, VsError *err)
{
    AccelMachine *a = m->accel;
    return a->ops->sync_memory(a->vm, &m->mem, err);
}

VsStatus accel_port_register(VsMachine *m, const char *name, uint16_t base, uint16_t size,
                             const MmioOps *ops, void *opaque, VsError *err)
{
    AccelMachine *a = m->accel;
    if (size == 0 || (uint32_t)base + size > 0x10000)
        return vs_error_set(err, VS_ERR_INVALID, "port range %s 0x%x+%u", name, base, size);
    for (unsigned i = 0; i < a->nports; i++) {
        PortRange *p = &a->ports[i];
        if (base < p->base + p->size && p->base < base + size)
            return vs_error_set(err, VS_ERR_INVALID, "ports of %s overlap those of %s", name,
                                p->name);
    }
    if (a->nports == ACCEL_MAX_PORT_RANGES)
        return vs_error_set(err, VS_ERR_INVALID, "too many port devices");
    PortRange *p = &a->ports[a->nports++];
    *p = (PortRange){ .name = name, .base = base, .size = size, .ops = ops, .opaque = opaque };
    pthread_mutex_init(&p->lock, NULL);
    return VS_OK;
}

static PortRange *port_find(AccelMachine *a, uint16_t port, unsigned size)
{
    for (unsigned i = 0; i < a->nports; i++) {
        PortRange *p = &a->ports[i];
        if (port >= p->base && (uint32_t)port + size <= (uint32_t)p->base + p->size)
            return p;
    }
    return NULL;
}

uint64_t accel_port_read(VsMachine *m, uint16_t port, unsigned size)
{
    AccelMachine *a = m->accel;
    PortRange *p = port_find(a, port, size);
    if (!p || !p->ops->read) {
        atomic_fetch_add(&a->unhandled_pio, 1);
        if (m->cfg.trace & VS_TRACE_MMIO)
            vs_log("unhandled port read 0x%x size %u", port, size);
        return size == 8 ? UINT64_MAX : (1ull << (8 * size)) - 1; /* a floating bus */
    }
    pthread_mutex_lock(&p->lock);
    uint64_t v = p->ops->read(p->opaque, port - p->base, size);
    pthread_mutex_unlock(&p->lock);
    return v;
}

void accel_port_write(VsMachine *m, uint16_t port, unsigned size, uint64_t value)
{
    AccelMachine *a = m->accel;
    PortRange *p = port_find(a, port, size);
    if (!p || !p->ops->write) {
        atomic_fetch_add(&a->unhandled_pio, 1);
        if (m->cfg.trace & VS_TRACE_MMIO)
            vs_log("unhandled port write 0x%x size %u value 0x%" PRIx64, port, size, value);
        return;
    }
    pthread_mutex_lock(&p->lock);
    p->ops->write(p->opaque, port - p->base, value, size);
    pthread_mutex_unlock(&p->lock);
}

static void handle_io(VsMachine *m, const AccelExit *ex)
{
    for (uint32_t i = 0; i < ex->io.count; i++) {
        uint8_t *d = ex->io.data + (size_t)i * ex->io.size;
        uint64_t v = 0;
        if (ex->io.write) {
            memcpy(&v, d, ex->io.size);
            accel_port_write(m, ex->io.port, ex->io.size, v);
        } else {
            v = accel_port_read(m, ex->io.port, ex->io.size);
            memcpy(d, &v, ex->io.size);
        }
    }
}

static void handle_mmio(VsMachine *m, const AccelExit *ex)
{
    AccelMachine *a = m->accel;
    uint64_t v = 0;
    bool ok;
    if (ex->mmio.write) {
        memcpy(&v, ex->mmio.data, ex->mmio.size);
        ok = physmem_store(&m->mem, ex->mmio.addr, ex->mmio.size, v);
    } else {
        ok = physmem_load(&m->mem, ex->mmio.addr, ex->mmio.size, &v);
        if (!ok)
            v = UINT64_MAX; /* nothing there: all ones, as on a PC */
        memcpy(ex->mmio.data, &v, ex->mmio.size);
    }
    if (!ok) {
        atomic_fetch_add(&a->unhandled_mmio, 1);
        if (m->cfg.trace & VS_TRACE_MMIO)
            vs_log("unhandled MMIO %s 0x%" PRIx64 " size %u", ex->mmio.write ? "write" : "read",
                   ex->mmio.addr, ex->mmio.size);
    }
}

static uint64_t vcpu_rip(AccelVcpu *v)
{
    AccelX86Regs r;
    VsError err;
    return v->vm->ops->get_regs(v, &r, &err) == VS_OK ? r.rip : 0;
}

static bool stopping(VsMachine *m)
{
    return __atomic_load_n(&m->stop_requested, __ATOMIC_ACQUIRE);
}

/* HLT reached the VMM (no in-kernel LAPIC): sleep until a kick. */
static void halt_wait(VsCpu *cpu)
{
    pthread_mutex_lock(&cpu->halt_lock);
    while (!atomic_load(&cpu->interrupt_request) && !stopping(cpu->machine))
        pthread_cond_wait(&cpu->halt_cond, &cpu->halt_lock);
    pthread_mutex_unlock(&cpu->halt_lock);
}

static void cpu_loop(VsCpu *cpu);

void accel_cpu_loop(VsCpu *cpu)
{
    cpu_loop(cpu);
    AccelVcpu *v = cpu->accel;
    v->vm->ops->vcpu_thread_done(v);
}

/*
 * A triple fault resets the machine, as the shutdown cycle does on a PC (a guest that keeps
 * doing it is stopped by the machine's reset-loop detection). This vCPU must not enter the
 * guest again before the reset has rewritten its state: vCPU 0 performs the reset at its
 * next request check; the others wait until it has been done.
 */
static void reset_from_vcpu(VsCpu *cpu)
{
    VsMachine *m = cpu->machine;
    AccelMachine *a = m->accel;
    unsigned gen = atomic_load(&a->resets);
    vs_machine_request_reset(m);
    if (cpu->index == 0)
        return;
    /* Parks in the checkpoint once vCPU 0's exclusive section is pending. */
    while (atomic_load(&a->resets) == gen && !stopping(m)) {
        vs_machine_cpu_checkpoint(m, cpu);
        nanosleep(&(struct timespec){ .tv_nsec = 1000000 }, NULL);
    }
}

static void cpu_loop(VsCpu *cpu)
{
    VsMachine *m = cpu->machine;
    AccelVcpu *v = cpu->accel;
    AccelExit ex;
    VsError err = { 0 };
    for (;;) {
        if (atomic_load(&cpu->interrupt_request) || stopping(m) ||
            atomic_load(&m->reset_requested)) {
            atomic_exchange(&cpu->interrupt_request, 0);
            if (cpu->index == 0 && atomic_load(&m->reset_requested)) {
                vs_machine_do_reset(m, cpu); /* an exclusive section: the others park */
                if (m->accel->reset_error[0])
                    vs_machine_request_stop(m, VS_STOP_ERROR, "the reset failed: %s",
                                            m->accel->reset_error);
            }
            vs_machine_cpu_checkpoint(m, cpu);
            if (stopping(m))
                return;
        }
        if (accel_vcpu_run(v, &ex, &err) != VS_OK) {
            vs_machine_request_stop(m, VS_STOP_ERROR, "vCPU %u: %s", cpu->index, err.message);
            return;
        }
        switch (ex.kind) {
        case ACCEL_EXIT_IO: handle_io(m, &ex); break;
        case ACCEL_EXIT_MMIO: handle_mmio(m, &ex); break;
        case ACCEL_EXIT_HALT: halt_wait(cpu); break;
        case ACCEL_EXIT_INTERRUPTED: break;
        case ACCEL_EXIT_IRQ_WINDOW: v->vm->ops->request_irq_window(v, false); break;
        case ACCEL_EXIT_SHUTDOWN:
            vs_log("vCPU %u: triple fault (rip 0x%" PRIx64 "): resetting the machine", cpu->index,
                   vcpu_rip(v));
            reset_from_vcpu(cpu);
            break;
        case ACCEL_EXIT_SYSTEM_EVENT:
            if (ex.event == ACCEL_EVENT_CRASH)
                vs_machine_request_stop(m, VS_STOP_GUEST_CRASH, "vCPU %u: the guest crashed (%s)",
                                        cpu->index, ex.message);
            else if (ex.event == ACCEL_EVENT_RESET)
                reset_from_vcpu(cpu);
            else
                vs_machine_request_stop(m, VS_STOP_POWEROFF, "the guest powered off (%s)",
                                        ex.message);
            if (ex.event != ACCEL_EVENT_RESET)
                return;
            break;
        case ACCEL_EXIT_INTERNAL_ERROR:
        default:
            vs_machine_request_stop(m, VS_STOP_ERROR, "vCPU %u: %s (rip 0x%" PRIx64 ")", cpu->index,
                                    ex.message, vcpu_rip(v));
            return;
        }
    }
}

void accel_cpu_kick(VsCpu *cpu)
{
    if (cpu->accel)
        accel_vcpu_kick(cpu->accel);
}

/* ---- A guest framebuffer's dirty rectangles (vs_machine_fb_track / vs_machine_fb_dirty) ---- */

typedef struct FbTrackArg {
    AccelMachine *a;
    const VsFramebuffer *fb; /* NULL: stop */
    uint64_t gpa, size;      /* the pages fb covers */
    VsError *err;
    VsStatus st;
} FbTrackArg;

/* Re-map with every vCPU parked: the old range's slot joins RAM again, the new one splits. */
static void fb_track_cb(VsMachine *m, void *opaque)
{
    FbTrackArg *t = opaque;
    AccelMachine *a = t->a;
    (void)m;
    t->st = VS_OK;
    if (a->fb_on) {
        t->st = a->ops->dirty_track(a->vm, a->fb_gpa, a->fb_size, false, t->err);
        a->fb_on = false;
    }
    if (t->st == VS_OK && t->fb) {
        t->st = a->ops->dirty_track(a->vm, t->gpa, t->size, true, t->err);
        if (t->st == VS_OK) {
            a->fb_on = true;
            a->fb = *t->fb;
            a->fb_gpa = t->gpa;
            a->fb_size = t->size;
        }
    }
}

VsStatus vs_machine_fb_track(VsMachine *m, const VsFramebuffer *fb, VsError *err)
{
    AccelMachine *a = m->accel;
    if (!a)
        return vs_error_set(err, VS_ERR_UNSUPPORTED,
                            "framebuffer dirty tracking needs a machine run by KVM (the "
                            "interpreter and JIT tiers have no dirty-page logging)");
    FbTrackArg t = { .a = a, .fb = fb, .err = err };
    if (fb) {
        uint64_t row = (uint64_t)fb->width * fb->bytes_per_pixel;
        if (fb->width == 0 || fb->height == 0 || fb->bytes_per_pixel == 0 ||
            fb->bytes_per_pixel > 4 || fb->stride < row || fb->width > 65536 || fb->height > 65536)
            return vs_error_set(err, VS_ERR_INVALID,
                                "framebuffer %ux%u, %u bytes per pixel, stride %u: not a "
                                "framebuffer (1-4 bytes per pixel, at most 65536x65536, "
                                "stride at least a row)",
                                fb->width, fb->height, fb->bytes_per_pixel, fb->stride);
        uint64_t bytes = (uint64_t)fb->stride * (fb->height - 1) + row;
        if (fb->gpa + bytes < fb->gpa)
            return vs_error_set(err, VS_ERR_INVALID, "framebuffer beyond the address space");
        t.gpa = fb->gpa & ~(uint64_t)(GUEST_PAGE_SIZE - 1);
        t.size =
            ((fb->gpa + bytes + GUEST_PAGE_SIZE - 1) & ~(uint64_t)(GUEST_PAGE_SIZE - 1)) - t.gpa;
    }
    pthread_mutex_lock(&a->fb_lock);
    uint64_t *bitmap = NULL;
    if (fb) {
        bitmap = calloc((t.size / GUEST_PAGE_SIZE + 63) / 64, sizeof(uint64_t));
        if (!bitmap) {
            pthread_mutex_unlock(&a->fb_lock);
            return vs_error_set(err, VS_ERR_NOMEM, "out of memory");
        }
    }
    vs_machine_exclusive(m, NULL, fb_track_cb, &t);
    if (t.st == VS_OK || !a->fb_on) {
        free(a->fb_bitmap);
        a->fb_bitmap = a->fb_on ? bitmap : NULL;
        if (!a->fb_on)
            free(bitmap);
    } else {
        free(bitmap);
    }
    pthread_mutex_unlock(&a->fb_lock);
    return t.st;
}

static bool page_dirty(const uint64_t *bm, uint64_t page)
{
    return (bm[page / 64] >> (page % 64)) & 1;
}

/* Add the run [x0, x1) of row y: extend a rectangle that ended at row y - 1 with the same
 * columns, or start one; beyond max, grow the last rectangle to cover it. */
static void add_run(VsRect *r, unsigned max, unsigned *n, uint32_t y, uint32_t x0, uint32_t x1)
{
    for (unsigned i = 0; i < *n; i++)
        if (r[i].x == x0 && r[i].width == x1 - x0 && r[i].y + r[i].height == y) {
            r[i].height++;
            return;
        }
    if (*n < max) {
        r[(*n)++] = (VsRect){ x0, y, x1 - x0, 1 };
        return;
    }
    VsRect *l = &r[max - 1];
    uint32_t rx1 = l->x + l->width > x1 ? l->x + l->width : x1;
    uint32_t ry1 = l->y + l->height > y + 1 ? l->y + l->height : y + 1;
    l->x = l->x < x0 ? l->x : x0;
    l->y = l->y < y ? l->y : y;
    l->width = rx1 - l->x;
    l->height = ry1 - l->y;
}

VsStatus vs_machine_fb_dirty(VsMachine *m, VsRect *rects, unsigned max, unsigned *n, VsError *err)
{
    AccelMachine *a = m->accel;
    *n = 0;
    if (!a)
        return vs_error_set(err, VS_ERR_UNSUPPORTED,
                            "framebuffer dirty tracking needs a machine run by KVM");
    if (max == 0)
        return vs_error_set(err, VS_ERR_INVALID, "room for no rectangle");
    pthread_mutex_lock(&a->fb_lock);
    if (!a->fb_on) {
        pthread_mutex_unlock(&a->fb_lock);
        return vs_error_set(err, VS_ERR_STATE, "no framebuffer is tracked");
    }
    VsStatus st = a->ops->dirty_get(a->vm, a->fb_gpa, a->fb_size, a->fb_bitmap, err);
    const VsFramebuffer *fb = &a->fb;
    uint64_t bpp = fb->bytes_per_pixel, rowbytes = (uint64_t)fb->width * bpp;
    for (uint32_t y = 0; y < fb->height && st == VS_OK; y++) {
        uint64_t lo = fb->gpa - a->fb_gpa + (uint64_t)y * fb->stride, hi = lo + rowbytes;
        /* Runs of dirty pages across this row, each as the pixels it touches. */
        int64_t run_start = -1;
        for (uint64_t p = lo / GUEST_PAGE_SIZE; p <= (hi - 1) / GUEST_PAGE_SIZE + 1; p++) {
            bool d = p <= (hi - 1) / GUEST_PAGE_SIZE && page_dirty(a->fb_bitmap, p);
            if (d && run_start < 0)
                run_start = (int64_t)p;
            if (!d && run_start >= 0) {
                uint64_t b0 = (uint64_t)run_start * GUEST_PAGE_SIZE, b1 = p * GUEST_PAGE_SIZE;
                b0 = b0 > lo ? b0 - lo : 0;
                b1 = (b1 < hi ? b1 : hi) - lo;
                add_run(rects, max, n, y, (uint32_t)(b0 / bpp), (uint32_t)((b1 + bpp - 1) / bpp));
                run_start = -1;
            }
        }
    }
    pthread_mutex_unlock(&a->fb_lock);
    return st;
}
