/* SPDX-License-Identifier: MIT */
/*
 * x86_64 `microvm` board for KVM: no PCI, no firmware, direct boot.
 *
 *   0x00000000  low RAM (up to 3 GiB; more RAM continues at 4 GiB)
 *               e820: 0-0x9fbff RAM, 0x9fc00-0xfffff reserved, 1 MiB up RAM
 *   0xd0000000  virtio-mmio slots, 4 KiB each        GSI 5 + slot (19 slots, GSI 5-23)
 *   0xfec00000  IOAPIC (in-kernel)
 *   0xfee00000  LAPIC (in-kernel)
 *   ports 0x3f8-0x3ff  8250/16550 UART (COM1)         GSI 4
 *         0x60, 0x64   i8042: only the reset command (0xfe on 0x64), a system reset
 *         0x80         POST code port (Linux's I/O delay): writes ignored
 *         0x600-0x602  ACPI sleep control, sleep status and reset registers (the FADT's)
 *   0x000e0000  ACPI tables (RSDP first), 0x000f0000 MP table: see x86-acpi.h
 *   PIC, PIT (0x20/0xa0, 0x40-0x43, 0x61) are KVM's in-kernel devices.
 *
 * --kernel takes a bzImage (Linux, 64-bit boot protocol: the bootstrap vCPU enters at the
 * 64-bit entry with RSI = zero page, the others wait for INIT/SIPI), an ELF with a PVH note
 * (XEN_ELFNOTE_PHYS32_ENTRY: vCPU 0 enters in 32-bit protected mode with EBX = the
 * hvm_start_info, the others wait for INIT/SIPI), or another x86-64 ELF executable (a
 * bare-metal program: every vCPU enters at e_entry in long mode with RDI = vCPU index and
 * RSI = vCPU count). The virtio-mmio devices are announced to Linux
 * on its command line (virtio_mmio.device=4K@0xd0000000:5).
 */
#include <elf.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "accel/accel-machine.h"
#include "boards/board-loader.h"
#include "boards/boards.h"
#include "boards/x86-acpi.h"
#include "boards/x86-boot.h"
#include "core/iothread.h"
#include "devices/uart-16550.h"
#include "virtio/vdev.h"

#define MIB                 (1024ull * 1024)
#define MICROVM_LOW_MAX     (3072 * MIB)
#define MICROVM_HIGH_BASE   (4096 * MIB)
#define MICROVM_MIN_RAM     (16 * MIB)
#define MICROVM_VIRTIO_BASE 0xd0000000ull
#define MICROVM_VIRTIO_GSI  5
#define MICROVM_VIRTIO_MAX  19
#define MICROVM_COM1        0x3f8
#define MICROVM_COM1_GSI    4
#define MICROVM_EBDA        0x9fc00ull

typedef struct MicrovmBoard {
    VsMachine *m;
    Uart16550 uart;
    bool uart_ok;
    /* Interrupt lines. The virtio slots' are level-triggered irqfds with a resample fd
     * (no ioctl from the device's thread, no vCPU exit); the UART's, and every line where
     * the kernel lacks resampling, are driven with KVM_IRQ_LINE. */
    struct MicrovmIrq {
        struct MicrovmBoard *b;
        unsigned gsi;
        int irqfd, resamplefd;      /* -1: KVM_IRQ_LINE */
        _Atomic bool level;         /* the device's line */
    } irqs[MICROVM_VIRTIO_MAX + 1]; /* [0]: the UART */
    uint8_t *kernel; /* the --kernel file and --initrd, kept to load again on reset */
    size_t kernel_size;
    uint8_t *initrd;
    size_t initrd_size;
    bool linux_boot;
    bool pvh; /* an ELF with a PVH note: vCPU 0 enters it in 32-bit mode, the others wait */
    uint64_t entry;
    uint64_t low_size, high_size;
} MicrovmBoard;

static void irqfd_assert(struct MicrovmIrq *l)
{
    uint64_t one = 1;
    if (write(l->irqfd, &one, sizeof(one)) != sizeof(one))
        vs_log("irqfd of GSI %u: write failed", l->gsi); /* counter full: already pending */
}

static void set_irq(void *opaque, int level)
{
    struct MicrovmIrq *l = opaque;
    VsError err;
    if (l->irqfd >= 0) {
        /* Level-triggered irqfd: assert on a rising line; KVM deasserts at the guest's EOI
         * and signals the resample fd (resample_ready), where a line still high asserts
         * again. A falling line needs nothing from KVM. */
        atomic_store(&l->level, level != 0);
        if (level)
            irqfd_assert(l);
        return;
    }
    if (accel_set_irq_line(l->b->m->accel->vm, l->gsi, level != 0, &err) != VS_OK)
        vs_machine_request_stop(l->b->m, VS_STOP_ERROR, "%s", err.message);
}

/* I/O thread: the guest ended a level-triggered interrupt of this line. */
static void resample_ready(void *opaque, uint32_t events)
{
    struct MicrovmIrq *l = opaque;
    uint64_t n;
    (void)events;
    if (read(l->resamplefd, &n, sizeof(n)) == sizeof(n) && atomic_load(&l->level))
        irqfd_assert(l);
}

/* Make a virtio slot's line a level-triggered irqfd; without KVM_CAP_IRQFD_RESAMPLE it stays
 * on KVM_IRQ_LINE (which is level-triggered too, from the calling thread). */
static VsStatus irqfd_setup(VsMachine *m, struct MicrovmIrq *l, VsError *err)
{
    AccelMachine *a = m->accel;
    l->irqfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    l->resamplefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (l->irqfd < 0 || l->resamplefd < 0)
        return vs_error_set(err, VS_ERR_IO, "cannot create the eventfds of GSI %u", l->gsi);
    VsError why = { 0 };
    VsStatus st = a->ops->irqfd_add(a->vm, l->irqfd, l->resamplefd, l->gsi, &why);
    if (st == VS_ERR_UNSUPPORTED) {
        close(l->irqfd);
        close(l->resamplefd);
        l->irqfd = l->resamplefd = -1;
        return VS_OK;
    }
    if (st != VS_OK)
        return vs_error_set(err, st, "%s", why.message);
    if (!vs_iothread_add_fd(m->io, l->resamplefd, EPOLLIN, resample_ready, l, err))
        return VS_ERR_IO;
    return VS_OK;
}

static void uart_tx(void *opaque, const uint8_t *buf, size_t len)
{
    MicrovmBoard *b = opaque;
    vs_machine_serial_output(b->m, buf, len);
}

static uint64_t sink_read(void *opaque, uint64_t offset, unsigned size)
{
    (void)opaque;
    (void)offset;
    return size >= 8 ? UINT64_MAX : (1ull << (8 * size)) - 1;
}

static void sink_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    (void)opaque;
    (void)offset;
    (void)value;
    (void)size;
}

/* i8042: no keyboard, no mouse; the status register says "nothing to read, ready". */
static uint64_t i8042_read(void *opaque, uint64_t offset, unsigned size)
{
    (void)opaque;
    (void)offset;
    (void)size;
    return 0;
}

/* Port 0x64 (command): 0xfe pulses the reset line (a system reset); others are ignored. */
static void i8042_cmd_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    MicrovmBoard *b = opaque;
    (void)offset;
    if (size == 1 && (value & 0xff) == 0xfe)
        vs_machine_request_reset(b->m);
}

static const MmioOps i8042_cmd_ops = { .read = i8042_read, .write = i8042_cmd_write };
static const MmioOps i8042_data_ops = { .read = i8042_read, .write = sink_write };

/*
 * The FADT's power registers (ACPI 6.4, 4.8.3.6 and 4.8.3.7): writing SLP_EN with the
 * SLP_TYP of \_S5 to the sleep control register powers off; writing the reset value to the
 * reset register resets. Other sleep types are not supported and are ignored (no wake-up
 * source exists); the sleep status register reads 0.
 */
static uint64_t pm_read(void *opaque, uint64_t offset, unsigned size)
{
    (void)opaque;
    (void)offset;
    (void)size;
    return 0;
}

static void pm_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    MicrovmBoard *b = opaque;
    if (size != 1)
        return;
    if (offset == X86_PM_SLEEP_CTL && (value & X86_PM_SLP_EN) &&
        ((value >> 2) & 7) == X86_PM_SLP_TYP_S5)
        vs_machine_request_stop(b->m, VS_STOP_POWEROFF, "the guest powered off (ACPI S5)");
    else if (offset == X86_PM_RESET && (value & 0xff) == X86_PM_RESET_VALUE)
        vs_machine_request_reset(b->m);
}

static const MmioOps pm_ops = { .read = pm_read, .write = pm_write };

static const MmioOps post_ops = { .read = sink_read, .write = sink_write };

static void microvm_destroy(VsMachine *m)
{
    MicrovmBoard *b = m->board;
    if (!b)
        return;
    if (b->uart_ok)
        uart16550_destroy(&b->uart);
    for (unsigned i = 0; i <= MICROVM_VIRTIO_MAX; i++) { /* the I/O thread is gone already */
        if (b->irqs[i].irqfd >= 0)
            close(b->irqs[i].irqfd);
        if (b->irqs[i].resamplefd >= 0)
            close(b->irqs[i].resamplefd);
    }
    free(b->kernel);
    free(b->initrd);
    m->board = NULL;
    free(b);
}

static VsStatus add_ram(VsMachine *m, MicrovmBoard *b, VsError *err)
{
    uint64_t ram = m->cfg.ram_size;
    char have[32], min[32];
    loader_format_size(ram, have, sizeof(have));
    loader_format_size(MICROVM_MIN_RAM, min, sizeof(min));
    if (ram < MICROVM_MIN_RAM)
        return vs_error_set(err, VS_ERR_INVALID,
                            "the x86_64 microvm board needs at least %s of RAM; --memory asked "
                            "for %s",
                            min, have);
    if (ram % GUEST_PAGE_SIZE || ram > (1ull << 46))
        return vs_error_set(err, VS_ERR_INVALID,
                            "memory size %s is not usable (a multiple of "
                            "4 KiB up to 64 TiB)",
                            have);
    b->low_size = ram < MICROVM_LOW_MAX ? ram : MICROVM_LOW_MAX;
    b->high_size = ram - b->low_size;
    if (!physmem_add_ram(&m->mem, "microvm.ram", 0, b->low_size) ||
        (b->high_size &&
         !physmem_add_ram(&m->mem, "microvm.ram-high", MICROVM_HIGH_BASE, b->high_size)))
        return vs_error_set(err, VS_ERR_NOMEM, "cannot reserve %s of host memory for guest RAM",
                            have);
    return VS_OK;
}

/*
 * QueueNotify writes of virtio slot i go to an eventfd per queue (KVM ioeventfd with the
 * queue index as datamatch), which the I/O thread watches: a kick costs the vCPU no exit
 * to user space. Other values written there still exit and reach the transport.
 */
static VsStatus notify_by_ioeventfd(VsMachine *m, unsigned i, VsError *err)
{
    AccelMachine *a = m->accel;
    VsVdev *v = m->vdevs[i];
    for (unsigned q = 0; q < v->dev->num_queues; q++) {
        int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (fd < 0)
            return vs_error_set(err, VS_ERR_IO, "cannot create an eventfd for %s", v->name);
        VsStatus st = a->ops->ioeventfd_add(a->vm, fd, false, v->base + VIRTIO_MMIO_QUEUE_NOTIFY, 4,
                                            true, q, err);
        if (st != VS_OK) {
            close(fd);
            return st;
        }
        st = vs_vdev_add_notify_fd(m, i, q, fd, err);
        if (st != VS_OK)
            return st; /* the VM goes with the machine, its ioeventfd with it */
    }
    return VS_OK;
}

static VsStatus add_devices(VsMachine *m, MicrovmBoard *b, VsError *err)
{
    uart16550_init(&b->uart, set_irq, &b->irqs[0], uart_tx, b);
    b->uart_ok = true;
    b->irqs[0] = (struct MicrovmIrq){ b, MICROVM_COM1_GSI, -1, -1, false };
    VsStatus st =
        accel_port_register(m, "COM1", MICROVM_COM1, 8, &uart16550_mmio_ops, &b->uart, err);
    if (st == VS_OK)
        st = accel_port_register(m, "i8042 data", 0x60, 1, &i8042_data_ops, b, err);
    if (st == VS_OK)
        st = accel_port_register(m, "i8042", 0x64, 1, &i8042_cmd_ops, b, err);
    if (st == VS_OK)
        st = accel_port_register(m, "ACPI power", X86_PM_PORT, X86_PM_PORTS, &pm_ops, b, err);
    if (st == VS_OK)
        st = accel_port_register(m, "POST", 0x80, 1, &post_ops, b, err);
    if (st != VS_OK)
        return st;
    if (m->nvdevs > MICROVM_VIRTIO_MAX)
        return vs_error_set(err, VS_ERR_INVALID,
                            "too many virtio devices: the x86_64 microvm board has %d slots and "
                            "this machine needs %u",
                            MICROVM_VIRTIO_MAX, m->nvdevs);
    for (unsigned i = 0; i < m->nvdevs; i++) {
        b->irqs[i + 1] = (struct MicrovmIrq){ b, MICROVM_VIRTIO_GSI + i, -1, -1, false };
        st = irqfd_setup(m, &b->irqs[i + 1], err);
        if (st == VS_OK)
            st = vs_vdev_map(m, i, MICROVM_VIRTIO_BASE + i * VIRTIO_MMIO_SIZE,
                             MICROVM_VIRTIO_GSI + i, set_irq, &b->irqs[i + 1], err);
        if (st == VS_OK)
            st = notify_by_ioeventfd(m, i, err);
        if (st != VS_OK)
            return st;
    }
    return VS_OK;
}

/* The user's command line plus one virtio_mmio.device= per slot. Returns malloc'ed text. */
static char *linux_cmdline(VsMachine *m)
{
    const char *user = m->cfg.cmdline ? m->cfg.cmdline : "console=ttyS0";
    size_t len = strlen(user) + 1 + (size_t)m->nvdevs * 48;
    char *s = malloc(len);
    if (!s)
        return NULL;
    size_t n = (size_t)snprintf(s, len, "%s", user);
    for (unsigned i = 0; i < m->nvdevs && n < len; i++)
        n += (size_t)snprintf(s + n, len - n, " virtio_mmio.device=4K@0x%" PRIx64 ":%u",
                              (uint64_t)(MICROVM_VIRTIO_BASE + i * VIRTIO_MMIO_SIZE),
                              MICROVM_VIRTIO_GSI + i);
    return s;
}

/* The level-triggered lines: the virtio-mmio slots' GSIs (the UART's is an ISA edge). */
static uint32_t level_gsis(const VsMachine *m)
{
    uint32_t mask = 0;
    for (unsigned i = 0; i < m->nvdevs; i++)
        mask |= 1u << (MICROVM_VIRTIO_GSI + i);
    return mask;
}

/* ACPI tables at 0xe0000 (where an OS scans for the RSDP) and the MP table at 0xf0000. */
static VsStatus write_platform_tables(VsMachine *m, VsError *err)
{
    X86PlatformConfig pc = { .ncpus = m->ncpus, .level_gsi_mask = level_gsis(m) };
    uint8_t buf[X86_ACPI_MAX > X86_MPTABLE_MAX ? X86_ACPI_MAX : X86_MPTABLE_MAX];
    X86AcpiLayout l;
    size_t n = x86_acpi_build(buf, X86_ACPI_MAX, X86_ACPI_BASE, &pc, &l);
    if (n == 0 || !physmem_write(&m->mem, X86_ACPI_BASE, buf, n))
        return vs_error_set(err, VS_ERR_INVALID,
                            "cannot describe %u vCPUs in the ACPI tables (at most 255)", m->ncpus);
    n = x86_mptable_build(buf, X86_MPTABLE_MAX, X86_MPTABLE_BASE, &pc);
    if (n == 0 || !physmem_write(&m->mem, X86_MPTABLE_BASE, buf, n))
        return vs_error_set(err, VS_ERR_INVALID,
                            "cannot describe %u vCPUs in the MP table (at most 255)", m->ncpus);
    return VS_OK;
}

static VsStatus load_linux(VsMachine *m, MicrovmBoard *b, const LoadTarget *t, VsError *err)
{
    X86BzImage bz;
    VsStatus st = x86_bzimage_parse(m->cfg.kernel, b->kernel, b->kernel_size, &bz, err);
    if (st != VS_OK)
        return st;
    X86E820 e820[4] = {
        { 0, MICROVM_EBDA, X86_E820_RAM },
        { MICROVM_EBDA, 0x100000 - MICROVM_EBDA, X86_E820_RESERVED },
        { 0x100000, b->low_size - 0x100000, X86_E820_RAM },
        { MICROVM_HIGH_BASE, b->high_size, X86_E820_RAM },
    };
    char *cmdline = linux_cmdline(m);
    if (!cmdline)
        return vs_error_set(err, VS_ERR_NOMEM, "out of memory");
    st = x86_bzimage_load(t, m->cfg.kernel, b->kernel, b->kernel_size, &bz, cmdline, b->initrd,
                          b->initrd_size, e820, b->high_size ? 4 : 3, &b->entry, err);
    free(cmdline);
    b->linux_boot = true;
    return st;
}

/* Read --kernel and --initrd once (a reset loads them again from these copies). */
static VsStatus read_images(VsMachine *m, MicrovmBoard *b, VsError *err)
{
    if (!m->cfg.kernel)
        return vs_error_set(err, VS_ERR_INVALID,
                            "the x86_64 microvm board boots a kernel directly: pass --kernel "
                            "(a bzImage or an x86-64 ELF program)");
    if (m->cfg.firmware)
        return vs_error_set(err, VS_ERR_INVALID,
                            "the x86_64 microvm board takes no firmware (it boots --kernel "
                            "directly)");
    VsStatus st =
        loader_read_file("kernel", m->cfg.kernel, b->low_size, &b->kernel, &b->kernel_size, err);
    if (st != VS_OK)
        return st;
    if (m->cfg.initrd && loader_is_elf(b->kernel, b->kernel_size))
        return vs_error_set(err, VS_ERR_INVALID,
                            "an initrd goes with a Linux bzImage, not with an ELF program");
    if (m->cfg.initrd)
        st = loader_read_file("initrd", m->cfg.initrd, b->low_size, &b->initrd, &b->initrd_size,
                              err);
    return st;
}

/* Write every boot image into guest RAM: at creation and again on each reset. */
static VsStatus load_kernel(VsMachine *m, MicrovmBoard *b, VsError *err)
{
    LoadTarget t = { .mem = &m->mem, .ram_base = 0, .ram_size = b->low_size };
    const uint8_t *data = b->kernel;
    size_t size = b->kernel_size;
    VsStatus st = x86_boot_write_tables(&t, err);
    if (st == VS_OK)
        st = write_platform_tables(m, err);
    if (st == VS_OK && loader_is_elf(data, size)) {
        LoadTarget high = t; /* ELF programs load at 1 MiB and above, clear of the tables */
        high.ram_base = 0x100000;
        high.ram_size = b->low_size - 0x100000;
        LoadedImage li = { 0 };
        st = loader_load_elf_machine(&high, "kernel", m->cfg.kernel, data, size, EM_X86_64,
                                     "x86_64", &li, err);
        b->entry = li.entry;
        uint32_t pvh_entry;
        if (st == VS_OK && x86_pvh_entry(data, size, &pvh_entry)) {
            b->pvh = true;
            b->entry = pvh_entry;
            X86E820 e820[3] = {
                { 0, MICROVM_EBDA, X86_E820_RAM },
                { MICROVM_EBDA, 0x100000 - MICROVM_EBDA, X86_E820_RESERVED },
                { 0x100000, b->low_size - 0x100000, X86_E820_RAM },
            };
            st = x86_pvh_write_start_info(&t, m->cfg.cmdline, X86_ACPI_BASE, e820, 3, err);
        }
    } else if (st == VS_OK) {
        st = load_linux(m, b, &t, err);
    }
    return st;
}

/* Registers and runnable state of every vCPU for the boot kind. */
static VsStatus boot_vcpus(VsMachine *m, MicrovmBoard *b, VsError *err)
{
    const AccelOps *ops = m->accel->ops;
    for (unsigned i = 0; i < m->ncpus; i++) {
        AccelVcpu *v = m->accel->vcpus[i];
        AccelX86Sregs s;
        VsStatus st = ops->get_sregs(v, &s, err);
        if (st != VS_OK)
            return st;
        if ((b->linux_boot || b->pvh) && i > 0) {
            st = ops->vcpu_set_runnable(v, false, err); /* waits for INIT/SIPI */
            if (st != VS_OK)
                return st;
            continue;
        }
        if (b->pvh) {
            x86_boot_pvh_sregs(&s);
            AccelX86Regs r = { .rip = b->entry, .rflags = 2, .rbx = X86_BOOT_PVH_INFO };
            st = ops->set_sregs(v, &s, err);
            if (st == VS_OK)
                st = ops->set_regs(v, &r, err);
            if (st != VS_OK)
                return st;
            continue;
        }
        /* KVM leaves application processors waiting for SIPI; ELF programs start them all. */
        st = ops->vcpu_set_runnable(v, true, err);
        if (st != VS_OK)
            return st;
        x86_boot_long_mode_sregs(&s);
        st = ops->set_sregs(v, &s, err);
        if (st != VS_OK)
            return st;
        AccelX86Regs r = { .rip = b->entry, .rflags = 2, .rsp = X86_BOOT_STACK };
        if (b->linux_boot)
            r.rsi = X86_BOOT_ZERO_PAGE;
        else {
            r.rdi = i;
            r.rsi = m->ncpus;
        }
        st = ops->set_regs(v, &r, err);
        if (st != VS_OK)
            return st;
    }
    return VS_OK;
}

static VsStatus microvm_create(VsMachine *m, VsError *err)
{
    if (!m->accel)
        return vs_error_set(err, VS_ERR_UNSUPPORTED,
                            "the x86_64 microvm board runs under KVM only");
    MicrovmBoard *b = calloc(1, sizeof(*b));
    if (!b)
        return vs_error_set(err, VS_ERR_NOMEM, "out of memory creating the x86_64 board");
    b->m = m;
    m->board = b;
    for (unsigned i = 0; i <= MICROVM_VIRTIO_MAX; i++)
        b->irqs[i].irqfd = b->irqs[i].resamplefd = -1;
    VsStatus st = add_ram(m, b, err);
    if (st == VS_OK)
        st = add_devices(m, b, err);
    if (st == VS_OK)
        st = read_images(m, b, err);
    if (st == VS_OK)
        st = load_kernel(m, b, err);
    if (st == VS_OK)
        st = accel_machine_sync_memory(m, err);
    if (st == VS_OK)
        st = boot_vcpus(m, b, err);
    return st; /* on failure the machine's destroy calls microvm_destroy */
}

static void microvm_cpu_boot_state(VsMachine *m, VsCpu *cpu)
{
    /* Set in microvm_create and microvm_reset (boot_vcpus), where failures have a message. */
    (void)m;
    (void)cpu;
}

/*
 * System reset (i8042 0xfe, the ACPI reset register, a triple fault, vs_machine_reset; every
 * vCPU parked): the in-kernel interrupt controllers, PIT and every vCPU back to power-on
 * state, the UART reset, the boot images (tables, kernel, initrd, ACPI and MP tables) written
 * again from the copies read at creation, and the vCPUs set up for the boot as at start.
 * The machine resets the virtio devices afterwards.
 */
static void microvm_reset(VsMachine *m)
{
    MicrovmBoard *b = m->board;
    VsError err = { 0 };
    uart16550_reset(&b->uart);
    VsStatus st = accel_machine_reset(m, &err);
    /* Assign the irqfds again: that also resets KVM's resampler (its line state is not part
     * of the interrupt controllers' state the reset wrote back). */
    AccelMachine *a = m->accel;
    for (unsigned i = 1; i <= m->nvdevs && st == VS_OK; i++) {
        struct MicrovmIrq *l = &b->irqs[i];
        if (l->irqfd < 0)
            continue;
        a->ops->irqfd_remove(a->vm, l->irqfd, l->gsi);
        st = a->ops->irqfd_add(a->vm, l->irqfd, l->resamplefd, l->gsi, &err);
    }
    if (st == VS_OK)
        st = load_kernel(m, b, &err);
    if (st == VS_OK)
        st = boot_vcpus(m, b, &err);
    if (st != VS_OK)
        accel_machine_reset_failed(m, err.message); /* the machine lock is held here */
}

static void microvm_serial_input(VsMachine *m, const uint8_t *buf, size_t len)
{
    MicrovmBoard *b = m->board;
    if (b && b->uart_ok)
        uart16550_receive(&b->uart, buf, len);
}

const BoardOps x86_microvm_board_ops = {
    .name = "x86_64 microvm",
    .arch = VS_ARCH_X86_64,
    .create = microvm_create,
    .cpu_boot_state = microvm_cpu_boot_state,
    .reset = microvm_reset,
    .destroy = microvm_destroy,
    .serial_input = microvm_serial_input,
};
