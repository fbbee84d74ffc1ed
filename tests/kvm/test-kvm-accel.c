/* SPDX-License-Identifier: MIT */
/*
 * The KVM backend through the Accel interface, without a machine: bare-metal guests built
 * here (tests/kvm/guest) run in a VM this test drives exit by exit. Checks HLT, interrupt
 * window and injection, MMIO exits (no in-kernel irqchip); irqfd delivery through the
 * in-kernel IOAPIC and LAPIC, ioeventfd (a matching write makes no exit, another does),
 * dirty-page logging, and a kick from another thread (with the irqchip).
 *
 * Usage: test-kvm-accel NOCHIP.elf EVENTS.elf. Exit 77 (skip) with the reason when KVM
 * cannot run a VM here.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "accel/accel.h"
#include "boards/board-loader.h"
#include "boards/x86-boot.h"
#include "core/machine.h"

#define RAM_SIZE    (32ull << 20)
#define PORT_STEP   0x510
#define PORT_REPORT 0x511
#define PORT_NOTIFY 0x520

static int failures;

#define CHECK(cond, ...)                                \
    do {                                                \
        if (!(cond)) {                                  \
            printf("FAIL %s:%d: ", __FILE__, __LINE__); \
            printf(__VA_ARGS__);                        \
            printf("\n");                               \
            failures++;                                 \
        }                                               \
    } while (0)

/* What the engine's core/util.c and core/log.c provide, for the modules linked here. */
VsStatus vs_error_set(VsError *err, VsStatus status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
    err->status = status;
    return status;
}

void vs_log(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("vessel: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

typedef struct TestVm {
    PhysMem mem;
    AccelVm *vm;
    AccelVcpu *cpu;
    char uart[512];
    size_t uart_len;
} TestVm;

static const AccelOps *ops = &accel_kvm_ops;

static void die(const char *what, const VsError *err)
{
    printf("FAIL: %s: %s\n", what, err->message);
    exit(1);
}

static void vm_boot(TestVm *t, const char *elf, bool irqchip)
{
    VsError err = { 0 };
    memset(t, 0, sizeof(*t));
    physmem_init(&t->mem);
    if (!physmem_add_ram(&t->mem, "ram", 0, RAM_SIZE)) {
        printf("FAIL: cannot allocate guest RAM\n");
        exit(1);
    }
    AccelVmConfig cfg = { .ncpus = 1, .irqchip = irqchip };
    if (ops->vm_create(&cfg, &t->vm, &err) != VS_OK)
        die("vm_create", &err);
    if (ops->sync_memory(t->vm, &t->mem, &err) != VS_OK)
        die("sync_memory", &err);
    if (ops->vcpu_create(t->vm, 0, &t->cpu, &err) != VS_OK ||
        ops->vcpu_boot_setup(t->cpu, &err) != VS_OK)
        die("vcpu", &err);
    LoadTarget lt = { .mem = &t->mem, .ram_base = 0, .ram_size = RAM_SIZE };
    if (x86_boot_write_tables(&lt, &err) != VS_OK)
        die("tables", &err);
    uint8_t *data;
    size_t size;
    if (loader_read_file("guest", elf, RAM_SIZE, &data, &size, &err) != VS_OK)
        die("read guest", &err);
    LoadTarget hi = { .mem = &t->mem, .ram_base = 0x100000, .ram_size = RAM_SIZE - 0x100000 };
    LoadedImage li;
    if (loader_load_elf_machine(&hi, "guest", elf, data, size, 62 /* EM_X86_64 */, "x86_64", &li,
                                &err) != VS_OK)
        die("load guest", &err);
    free(data);
    AccelX86Sregs s;
    if (ops->get_sregs(t->cpu, &s, &err) != VS_OK)
        die("get_sregs", &err);
    x86_boot_long_mode_sregs(&s);
    AccelX86Regs r = { .rip = li.entry, .rflags = 2, .rsp = X86_BOOT_STACK, .rdi = 0, .rsi = 1 };
    if (ops->set_sregs(t->cpu, &s, &err) != VS_OK || ops->set_regs(t->cpu, &r, &err) != VS_OK)
        die("set registers", &err);
    /* What the VMM wrote is what the vCPU reports. */
    AccelX86Sregs back;
    if (ops->get_sregs(t->cpu, &back, &err) != VS_OK)
        die("get_sregs", &err);
    CHECK(back.cr3 == X86_BOOT_PML4 && (back.efer & X86_EFER_LMA) && back.cs.l == 1,
          "long mode state read back: cr3 0x%" PRIx64 " efer 0x%" PRIx64 " cs.l %u", back.cr3,
          back.efer, back.cs.l);
}

static void vm_free(TestVm *t)
{
    if (failures)
        printf("guest UART output:\n%s\n", t->uart);
    ops->vcpu_destroy(t->cpu);
    ops->vm_destroy(t->vm);
    physmem_destroy(&t->mem);
}

/* Run until an exit other than UART traffic; the UART's bytes are collected. */
static void run(TestVm *t, AccelExit *ex)
{
    VsError err = { 0 };
    for (unsigned n = 0; n < 100000; n++) {
        if (accel_vcpu_run(t->cpu, ex, &err) != VS_OK)
            die("vcpu_run", &err);
        if (getenv("TEST_KVM_TRACE"))
            fprintf(stderr, "exit %d port 0x%x write %d size %u\n", ex->kind, ex->io.port,
                    ex->io.write, ex->io.size);
        if (ex->kind != ACCEL_EXIT_IO || ex->io.port < 0x3f8 || ex->io.port > 0x3ff)
            return;
        if (ex->io.port == 0x3fd && !ex->io.write)
            ex->io.data[0] = 0x60; /* LSR: transmitter empty */
        else if (ex->io.port == 0x3f8 && ex->io.write) {
            for (uint32_t i = 0; i < ex->io.count && t->uart_len + 1 < sizeof(t->uart); i++)
                t->uart[t->uart_len++] = (char)ex->io.data[i];
            t->uart[t->uart_len] = 0;
        }
    }
    printf("FAIL: the guest only ever wrote to the UART\n");
    exit(1);
}

static bool is_out(const AccelExit *ex, uint16_t port, uint32_t *value)
{
    if (ex->kind != ACCEL_EXIT_IO || !ex->io.write || ex->io.port != port)
        return false;
    uint32_t v = 0;
    memcpy(&v, ex->io.data, ex->io.size);
    *value = v;
    return true;
}

static const char *kind_name(AccelExitKind k)
{
    static const char *const names[] = { "io",           "mmio",          "halt",
                                         "shutdown",     "irq window",    "interrupted",
                                         "system event", "internal error" };
    return k <= ACCEL_EXIT_INTERNAL_ERROR ? names[k] : "?";
}

static void test_nochip(const char *elf)
{
    TestVm t;
    AccelExit ex;
    VsError err = { 0 };
    uint32_t v = 0;
    vm_boot(&t, elf, false);
    run(&t, &ex);
    CHECK(is_out(&ex, PORT_STEP, &v) && v == 1, "nochip: step 1, got a %s exit",
          kind_name(ex.kind));
    CHECK(strcmp(t.uart, "nochip: ready\n") == 0, "nochip: UART output '%s'", t.uart);
    /* The guest runs sti and spins: KVM tells us when it can take an interrupt. */
    ops->request_irq_window(t.cpu, true);
    run(&t, &ex);
    CHECK(ex.kind == ACCEL_EXIT_IRQ_WINDOW, "nochip: expected an interrupt window, got %s",
          kind_name(ex.kind));
    ops->request_irq_window(t.cpu, false);
    if (ops->inject_interrupt(t.cpu, 0x31, &err) != VS_OK)
        die("inject_interrupt", &err);
    run(&t, &ex);
    CHECK(ex.kind == ACCEL_EXIT_MMIO && ex.mmio.write && ex.mmio.addr == 0xfee000b0 &&
              ex.mmio.size == 4,
          "nochip: expected the EOI write to 0xfee000b0, got %s at 0x%" PRIx64, kind_name(ex.kind),
          ex.mmio.addr);
    run(&t, &ex);
    CHECK(is_out(&ex, PORT_REPORT, &v) && v == 0x31, "nochip: handler saw vector 0x%x (%s exit)", v,
          kind_name(ex.kind));
    run(&t, &ex);
    CHECK(ex.kind == ACCEL_EXIT_HALT, "nochip: expected HLT, got %s", kind_name(ex.kind));
    run(&t, &ex);
    CHECK(is_out(&ex, PORT_STEP, &v) && v == 2, "nochip: step 2 after HLT, got %s",
          kind_name(ex.kind));
    vm_free(&t);
    printf("nochip: HLT, interrupt window, injection and MMIO exits checked\n");
}

static bool dirty(const uint64_t *bm, uint64_t page)
{
    return bm[page / 64] >> (page % 64) & 1;
}

static void *kicker(void *arg)
{
    usleep(50000);
    accel_vcpu_kick(arg);
    return NULL;
}

static void test_events(const char *elf)
{
    TestVm t;
    AccelExit ex;
    VsError err = { 0 };
    uint32_t v = 0;
    vm_boot(&t, elf, true);
    int irq = eventfd(0, EFD_CLOEXEC), notify = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (irq < 0 || notify < 0) {
        printf("FAIL: eventfd: %s\n", strerror(errno));
        exit(1);
    }
    if (ops->irqfd_add(t.vm, irq, -1, 10, &err) != VS_OK ||
        ops->ioeventfd_add(t.vm, notify, true, PORT_NOTIFY, 4, true, 0x1234, &err) != VS_OK ||
        ops->dirty_log(t.vm, true, &err) != VS_OK)
        die("irqfd/ioeventfd/dirty log", &err);

    run(&t, &ex);
    CHECK(is_out(&ex, PORT_STEP, &v) && v == 1, "events: step 1, got a %s exit",
          kind_name(ex.kind));
    uint64_t one = 1;
    CHECK(write(irq, &one, 8) == 8, "irqfd write");
    run(&t, &ex);
    CHECK(is_out(&ex, PORT_REPORT, &v) && v == 0x30, "events: irqfd interrupt: vector 0x%x (%s)", v,
          kind_name(ex.kind));
    run(&t, &ex);
    CHECK(is_out(&ex, PORT_NOTIFY, &v) && v == 0x4321,
          "events: expected only the non-matching notify write to exit, got %s value 0x%x",
          kind_name(ex.kind), v);
    uint64_t count = 0;
    CHECK(read(notify, &count, 8) == 8 && count == 1,
          "events: the ioeventfd counted %" PRIu64 " matching writes", count);

    uint64_t bm[RAM_SIZE / 4096 / 64];
    run(&t, &ex);
    CHECK(is_out(&ex, PORT_STEP, &v) && v == 2, "events: step 2, got %s", kind_name(ex.kind));
    memset(bm, 0, sizeof(bm));
    if (ops->dirty_get(t.vm, 0, RAM_SIZE, bm, &err) != VS_OK)
        die("dirty_get", &err);
    CHECK(dirty(bm, 0x400) && dirty(bm, 0x402) && dirty(bm, 0x405),
          "events: written pages not all dirty");
    CHECK(!dirty(bm, 0x401) && !dirty(bm, 0x403) && !dirty(bm, 0x404) && !dirty(bm, 0x1000),
          "events: untouched pages reported dirty");
    run(&t, &ex);
    CHECK(is_out(&ex, PORT_STEP, &v) && v == 3, "events: step 3, got %s", kind_name(ex.kind));
    memset(bm, 0, sizeof(bm));
    if (ops->dirty_get(t.vm, 0, RAM_SIZE, bm, &err) != VS_OK)
        die("dirty_get", &err);
    CHECK(dirty(bm, 0x403) && !dirty(bm, 0x400) && !dirty(bm, 0x402) && !dirty(bm, 0x405),
          "events: the second log must hold only the page written since the first");
    CHECK(ops->dirty_get(t.vm, 0, 4096, bm, &err) == VS_ERR_INVALID,
          "events: dirty_get of a range that is not a slot must fail");

    run(&t, &ex);
    CHECK(is_out(&ex, PORT_STEP, &v) && v == 4, "events: step 4, got %s", kind_name(ex.kind));
    pthread_t th;
    pthread_create(&th, NULL, kicker, t.cpu);
    run(&t, &ex); /* the guest spins; only the kick ends this run */
    pthread_join(th, NULL);
    CHECK(ex.kind == ACCEL_EXIT_INTERRUPTED, "events: a kick must interrupt the run, got %s",
          kind_name(ex.kind));

    ops->irqfd_remove(t.vm, irq, 10);
    ops->ioeventfd_remove(t.vm, notify, true, PORT_NOTIFY, 4, true, 0x1234);
    close(irq);
    close(notify);
    vm_free(&t);
    printf("events: irqfd, ioeventfd, dirty logging and kick checked\n");
}

/* The VMM's side of a level-triggered irqfd: re-assert on every resample while the device's
 * line is high. Also the watchdog: a guest left halted forever is kicked after 20 s. */
typedef struct Resampler {
    AccelVcpu *cpu;
    int irq, resample;
    _Atomic bool level, done;
    _Atomic unsigned resamples;
} Resampler;

static void *resampler(void *arg)
{
    Resampler *r = arg;
    for (unsigned waited = 0; !atomic_load(&r->done); waited++) {
        struct pollfd p = { .fd = r->resample, .events = POLLIN };
        if (waited == 2000) {
            printf("FAIL: resample: no progress in 20 s, kicking the vCPU\n");
            accel_vcpu_kick(r->cpu);
        }
        if (poll(&p, 1, 10) != 1)
            continue;
        uint64_t n;
        if (read(r->resample, &n, 8) == 8)
            atomic_fetch_add(&r->resamples, (unsigned)n);
        uint64_t one = 1;
        if (atomic_load(&r->level) && write(r->irq, &one, 8) != 8)
            printf("FAIL: irqfd write\n");
    }
    return NULL;
}

static void test_resample(const char *elf)
{
    TestVm t;
    AccelExit ex;
    VsError err = { 0 };
    uint32_t v = 0;
    vm_boot(&t, elf, true);
    Resampler r = { .cpu = t.cpu,
                    .irq = eventfd(0, EFD_CLOEXEC),
                    .resample = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK) };
    if (r.irq < 0 || r.resample < 0) {
        printf("FAIL: eventfd: %s\n", strerror(errno));
        exit(1);
    }
    VsStatus st = ops->irqfd_add(t.vm, r.irq, r.resample, 11, &err);
    if (st == VS_ERR_UNSUPPORTED) {
        printf("resample: not checked: %s\n", err.message);
        close(r.irq);
        close(r.resample);
        vm_free(&t);
        return;
    }
    if (st != VS_OK)
        die("irqfd_add with resample", &err);
    pthread_t th;
    pthread_create(&th, NULL, resampler, &r);
    run(&t, &ex);
    CHECK(is_out(&ex, PORT_STEP, &v) && v == 1, "resample: step 1, got a %s exit",
          kind_name(ex.kind));
    atomic_store(&r.level, true); /* the device raises its line */
    uint64_t one = 1;
    CHECK(write(r.irq, &one, 8) == 8, "irqfd write");
    run(&t, &ex);
    CHECK(is_out(&ex, PORT_REPORT, &v) && v == 1, "resample: first delivery, got %s %u",
          kind_name(ex.kind), v);
    run(&t, &ex); /* the EOI; the line is still high: delivered again after the resample */
    CHECK(is_out(&ex, PORT_REPORT, &v) && v == 2, "resample: second delivery, got %s %u",
          kind_name(ex.kind), v);
    atomic_store(&r.level, false); /* the device lowers its line before this EOI */
    /* A re-assertion already on its way (the kernel injects irqfd writes from a work queue)
     * may still deliver once more, even after the guest's last look at the IOAPIC: a
     * spurious interrupt a driver sees as "not mine". A VMM that re-asserted regardless of
     * the line would deliver without end. */
    unsigned extra = 0;
    for (run(&t, &ex); is_out(&ex, PORT_REPORT, &v) && extra < 4; run(&t, &ex))
        extra++;
    CHECK(is_out(&ex, PORT_STEP, &v) && v == 2 && extra <= 1,
          "resample: step 2 after %u late deliveries, got %s", extra, kind_name(ex.kind));
    run(&t, &ex);
    unsigned count = 0;
    CHECK(is_out(&ex, PORT_REPORT, &count) && count == 2 + extra, "resample: %u deliveries", count);
    run(&t, &ex);
    CHECK(is_out(&ex, PORT_REPORT, &v) && v <= 1, "resample: Remote IRR read as %u", v);
    bool pending = v == 1; /* delivered after the guest closed its last window: no EOI yet */
    atomic_store(&r.done, true);
    pthread_join(th, NULL);
    uint64_t n = 0;
    if (read(r.resample, &n, 8) == 8)
        atomic_fetch_add(&r.resamples, (unsigned)n);
    CHECK(atomic_load(&r.resamples) == count && count + pending <= 3,
          "resample: the resample fd fired %u times for %u EOIs (%u deliveries)",
          atomic_load(&r.resamples), count, count + pending);
    ops->irqfd_remove(t.vm, r.irq, 11);
    close(r.irq);
    close(r.resample);
    vm_free(&t);
    printf("resample: a level-triggered irqfd is delivered again while the line is high\n");
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s NOCHIP.elf EVENTS.elf RESAMPLE.elf\n", argv[0]);
        return 2;
    }
    setvbuf(stdout, NULL, _IONBF, 0);
    char why[256];
    if (!ops->available(why, sizeof(why))) {
        printf("SKIP: KVM unavailable: %s\n", why);
        return 77;
    }
    test_nochip(argv[1]);
    test_events(argv[2]);
    test_resample(argv[3]);
    if (failures) {
        printf("%d check(s) failed\n", failures);
        return 1;
    }
    printf("all KVM accel checks passed\n");
    return 0;
}
