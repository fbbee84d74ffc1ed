/* SPDX-License-Identifier: MIT */
/* arm64 `virt` board: devices, PSCI, boot images and the device tree (see arm64-virt.h). */
#include "boards/arm64-virt.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libfdt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arch/arm64/a64-cpu.h"
#include "boards/boards.h"
#include "boards/fdt-build.h"
#include "virtio/vdev.h"

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const uint8_t *p)
{
    return rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

bool a64_virt_parse_image(const uint8_t *data, size_t size, A64ImageHeader *hdr, const char **why)
{
    *why = NULL;
    if (size < 0x3c || memcmp(data + 0x38, "ARM\x64", 4) != 0)
        return false;
    if (size < A64_IMAGE_HEADER_SIZE) {
        *why = "it is truncated inside the 64-byte Image header";
        return false;
    }
    hdr->text_offset = rd64(data + 8);
    hdr->image_size = rd64(data + 16);
    hdr->flags = rd64(data + 24);
    /* An EFI-stub kernel is also a PE/COFF file: its section table says how long it is. */
    if (data[0] == 'M' && data[1] == 'Z') {
        uint32_t pe = rd32(data + 0x3c);
        if (pe > size || size - pe < 24 || memcmp(data + pe, "PE\0\0", 4) != 0) {
            *why = "its PE/COFF header lies beyond the end of the file (truncated?)";
            return false;
        }
        unsigned nsec = data[pe + 6] | data[pe + 7] << 8;
        unsigned optsz = data[pe + 20] | data[pe + 21] << 8;
        uint64_t tab = (uint64_t)pe + 24 + optsz;
        if (tab + 40ull * nsec > size) {
            *why = "its PE/COFF section table lies beyond the end of the file (truncated?)";
            return false;
        }
        for (unsigned s = 0; s < nsec; s++) {
            const uint8_t *sec = data + tab + 40 * s;
            uint64_t end = (uint64_t)rd32(sec + 20) + rd32(sec + 16);
            if (rd32(sec + 16) && end > size) {
                *why = "it is shorter than the sections its PE/COFF header lists (truncated)";
                return false;
            }
        }
    }
    return true;
}

const char *a64_virt_check_firmware(const uint8_t *data, size_t size)
{
    if (size == 0)
        return "it is empty";
    if (size > A64_VIRT_FLASH_SIZE)
        return "it is larger than the 64 MiB code flash";
    if (size >= 4 && memcmp(data,
                            "\x7f"
                            "ELF",
                            4) == 0)
        return "it is an ELF file, not a flash image; --firmware takes a UEFI flash image such "
               "as /usr/share/AAVMF/AAVMF_CODE.fd (a bare-metal ELF goes to --kernel)";
    if (size >= 0x3c && memcmp(data + 0x38, "ARM\x64", 4) == 0)
        return "it is an arm64 Linux kernel, not firmware; pass it with --kernel";
    if (size >= 0x3c && memcmp(data + 0x38, "RSC\x05", 4) == 0)
        return "it is a riscv64 Linux kernel, not arm64 firmware";
    /* EDK2 images for x86 (OVMF) start with a firmware volume; an arm64 one starts with a
     * branch over its first volume, since the CPU starts executing at offset 0. */
    if (size >= 0x30 && memcmp(data + 0x28, "_FVH", 4) == 0)
        return "it starts with a firmware volume instead of arm64 code: an x86 (OVMF) image? "
               "Debian's arm64 one is /usr/share/AAVMF/AAVMF_CODE.fd (package qemu-efi-aarch64)";
    /* Every firmware volume (signature _FVH at +0x28, length at +0x20) must end inside the
     * file: a copy cut short leaves one running past the end. */
    for (size_t at = 0; at + 0x30 <= size; at += 0x1000) {
        if (memcmp(data + at + 0x28, "_FVH", 4) != 0)
            continue;
        uint64_t len = rd64(data + at + 0x20);
        if (len < 0x48 || len > size - at)
            return "a firmware volume in it runs past the end of the file (truncated?)";
    }
    return NULL;
}

/* ---- device tree ---- */

#define PH_GIC    1
#define PH_CLK    2
#define PH_GPIO   3
#define KEY_POWER 116 /* linux/input-event-codes.h */

static void build_cpus(FdtBuilder *f, const A64VirtFdtParams *p)
{
    char path[64], name[32];
    fdtb_add(f, "/", "cpus");
    fdtb_prop_u32(f, "/cpus", "#address-cells", 1);
    fdtb_prop_u32(f, "/cpus", "#size-cells", 0);
    for (unsigned i = p->ncpus; i-- > 0;) {
        uint32_t aff = (uint32_t)gicv3_mpidr_affinity(i);
        snprintf(name, sizeof(name), "cpu@%x", aff);
        fdtb_add(f, "/cpus", name);
        snprintf(path, sizeof(path), "/cpus/%s", name);
        fdtb_prop_str(f, path, "device_type", "cpu");
        fdtb_prop_str(f, path, "compatible", "arm,cortex-a72");
        fdtb_prop_u32(f, path, "reg", aff);
        if (p->ncpus > 1)
            fdtb_prop_str(f, path, "enable-method", "psci");
    }
}

VsStatus a64_virt_build_fdt(const A64VirtFdtParams *p, void **fdt, size_t *size, VsError *err)
{
    *fdt = NULL;
    *size = 0;
    if (p->ncpus == 0 || p->ncpus > A64_VIRT_MAX_CPUS)
        return vs_error_set(err, VS_ERR_INVALID, "device tree: %u vCPUs is out of range", p->ncpus);
    size_t cmdline_len = p->cmdline ? strlen(p->cmdline) : 0;
    if (cmdline_len > 64 * 1024)
        return vs_error_set(err, VS_ERR_INVALID,
                            "kernel command line is too long (%zu bytes; at most 65536)",
                            cmdline_len);
    size_t cap = 16384 + 512 * (size_t)p->ncpus + cmdline_len;
    FdtBuilder f = { .buf = calloc(1, cap), .err = 0 };
    if (!f.buf)
        return vs_error_set(err, VS_ERR_NOMEM, "out of memory building the device tree");
    f.err = fdt_create_empty_tree(f.buf, (int)cap);
    char path[64], name[48];

    fdtb_prop_u32(&f, "/", "#address-cells", 2);
    fdtb_prop_u32(&f, "/", "#size-cells", 2);
    fdtb_prop_str(&f, "/", "compatible", "linux,dummy-virt");
    fdtb_prop_str(&f, "/", "model", "linux,dummy-virt");
    fdtb_prop_u32(&f, "/", "interrupt-parent", PH_GIC);

    /* Added in reverse order: each new node goes before its siblings. */
    if (p->pcie) {
        const char *n = "/pcie@10000000";
        fdtb_add(&f, "/", "pcie@10000000");
        fdtb_prop_str(&f, n, "compatible", "pci-host-ecam-generic");
        fdtb_prop_str(&f, n, "device_type", "pci");
        fdtb_prop_u32(&f, n, "#address-cells", 3);
        fdtb_prop_u32(&f, n, "#size-cells", 2);
        fdtb_prop_u32(&f, n, "linux,pci-domain", 0);
        uint32_t buses = (uint32_t)(A64_VIRT_PCIE_ECAM_SIZE >> 20);
        uint32_t range[2] = { 0, buses - 1 };
        fdtb_prop_cells(&f, n, "bus-range", range, 2);
        fdtb_prop_empty(&f, n, "dma-coherent");
        fdtb_prop_reg(&f, n, A64_VIRT_PCIE_ECAM, A64_VIRT_PCIE_ECAM_SIZE);
        /* PCI address (3 cells), CPU address (2), size (2): I/O, 32-bit and 64-bit memory. */
        uint32_t ranges[21] = { 0x01000000,
                                0,
                                0,
                                0,
                                (uint32_t)A64_VIRT_PCIE_PIO,
                                0,
                                (uint32_t)A64_VIRT_PCIE_PIO_SIZE,
                                0x02000000,
                                0,
                                (uint32_t)A64_VIRT_PCIE_MMIO,
                                0,
                                (uint32_t)A64_VIRT_PCIE_MMIO,
                                0,
                                (uint32_t)A64_VIRT_PCIE_MMIO_SIZE,
                                0x03000000,
                                (uint32_t)(A64_VIRT_PCIE_MMIO64 >> 32),
                                0,
                                (uint32_t)(A64_VIRT_PCIE_MMIO64 >> 32),
                                0,
                                (uint32_t)(A64_VIRT_PCIE_MMIO64_SIZE >> 32),
                                0 };
        fdtb_prop_cells(&f, n, "ranges", ranges, 21);
        fdtb_prop_u32(&f, n, "#interrupt-cells", 1);
        /* Slot s pin p (1 = INTA) -> SPI 3 + (p - 1 + s) % 4; the mask keeps the slot's two
         * low bits and the pin. Parent unit address: 2 cells (the GIC's #address-cells). */
        uint32_t map[16 * 10];
        unsigned k = 0;
        for (uint32_t slot = 0; slot < 4; slot++)
            for (uint32_t pin = 0; pin < 4; pin++) {
                uint32_t e[10] = { slot << 11, 0,      0,
                                   pin + 1,    PH_GIC, 0,
                                   0,          0,      A64_VIRT_PCIE_SPI + (pin + slot) % 4,
                                   4 };
                memcpy(map + k, e, sizeof(e));
                k += 10;
            }
        fdtb_prop_cells(&f, n, "interrupt-map", map, k);
        uint32_t mask[4] = { 0x1800, 0, 0, 7 };
        fdtb_prop_cells(&f, n, "interrupt-map-mask", mask, 4);
    }

    for (unsigned i = A64_VIRT_VIRTIO_COUNT; i-- > 0;) {
        if (!(p->virtio_slots & (1u << i)))
            continue;
        uint64_t base = A64_VIRT_VIRTIO_BASE + i * A64_VIRT_VIRTIO_SIZE;
        snprintf(name, sizeof(name), "virtio_mmio@%" PRIx64, base);
        fdtb_add(&f, "/", name);
        snprintf(path, sizeof(path), "/%s", name);
        fdtb_prop_str(&f, path, "compatible", "virtio,mmio");
        fdtb_prop_reg(&f, path, base, A64_VIRT_VIRTIO_SIZE);
        uint32_t irq[3] = { 0, A64_VIRT_VIRTIO_SPI + i, 4 };
        fdtb_prop_cells(&f, path, "interrupts", irq, 3);
        fdtb_prop_empty(&f, path, "dma-coherent");
    }

    fdtb_add(&f, "/", "gpio-keys");
    fdtb_prop_str(&f, "/gpio-keys", "compatible", "gpio-keys");
    fdtb_add(&f, "/gpio-keys", "poweroff");
    {
        const char *k = "/gpio-keys/poweroff";
        fdtb_prop_str(&f, k, "label", "GPIO Key Poweroff");
        fdtb_prop_u32(&f, k, "linux,code", KEY_POWER);
        uint32_t gpios[3] = { PH_GPIO, PL061_POWER_KEY_PIN, 0 };
        fdtb_prop_cells(&f, k, "gpios", gpios, 3);
    }

    if (p->fw_cfg) {
        const char *n = "/fw-cfg@9020000";
        fdtb_add(&f, "/", "fw-cfg@9020000");
        fdtb_prop_str(&f, n, "compatible", "qemu,fw-cfg-mmio");
        fdtb_prop_reg(&f, n, A64_VIRT_FW_CFG_BASE, FW_CFG_MMIO_SIZE);
        fdtb_prop_empty(&f, n, "dma-coherent");
    }

    fdtb_add(&f, "/", "pl061@9030000");
    {
        static const char *const compat[] = { "arm,pl061", "arm,primecell" };
        const char *g = "/pl061@9030000";
        fdtb_prop_strs(&f, g, "compatible", compat, 2);
        fdtb_prop_reg(&f, g, A64_VIRT_GPIO_BASE, PL061_MMIO_SIZE);
        uint32_t irq[3] = { 0, A64_VIRT_GPIO_SPI, 4 };
        fdtb_prop_cells(&f, g, "interrupts", irq, 3);
        fdtb_prop_u32(&f, g, "clocks", PH_CLK);
        fdtb_prop_str(&f, g, "clock-names", "apb_pclk");
        fdtb_prop_u32(&f, g, "#gpio-cells", 2);
        fdtb_prop_empty(&f, g, "gpio-controller");
        fdtb_prop_u32(&f, g, "phandle", PH_GPIO);
    }

    fdtb_add(&f, "/", "pl031@9010000");
    {
        static const char *const compat[] = { "arm,pl031", "arm,primecell" };
        const char *r = "/pl031@9010000";
        fdtb_prop_strs(&f, r, "compatible", compat, 2);
        fdtb_prop_reg(&f, r, A64_VIRT_RTC_BASE, PL031_MMIO_SIZE);
        uint32_t irq[3] = { 0, A64_VIRT_RTC_SPI, 4 };
        fdtb_prop_cells(&f, r, "interrupts", irq, 3);
        fdtb_prop_u32(&f, r, "clocks", PH_CLK);
        fdtb_prop_str(&f, r, "clock-names", "apb_pclk");
    }

    fdtb_add(&f, "/", "pl011@9000000");
    {
        static const char *const compat[] = { "arm,pl011", "arm,primecell" };
        static const char *const clk_names[] = { "uartclk", "apb_pclk" };
        const char *u = "/pl011@9000000";
        fdtb_prop_strs(&f, u, "compatible", compat, 2);
        fdtb_prop_reg(&f, u, A64_VIRT_UART_BASE, PL011_MMIO_SIZE);
        uint32_t irq[3] = { 0, A64_VIRT_UART_SPI, 4 };
        fdtb_prop_cells(&f, u, "interrupts", irq, 3);
        uint32_t clocks[2] = { PH_CLK, PH_CLK };
        fdtb_prop_cells(&f, u, "clocks", clocks, 2);
        fdtb_prop_strs(&f, u, "clock-names", clk_names, 2);
    }

    fdtb_add(&f, "/", "apb-pclk");
    fdtb_prop_str(&f, "/apb-pclk", "compatible", "fixed-clock");
    fdtb_prop_u32(&f, "/apb-pclk", "#clock-cells", 0);
    fdtb_prop_u32(&f, "/apb-pclk", "clock-frequency", 24000000);
    fdtb_prop_str(&f, "/apb-pclk", "clock-output-names", "clk24mhz");
    fdtb_prop_u32(&f, "/apb-pclk", "phandle", PH_CLK);

    fdtb_add(&f, "/", "timer");
    {
        static const char *const compat[] = { "arm,armv8-timer", "arm,armv7-timer" };
        fdtb_prop_strs(&f, "/timer", "compatible", compat, 2);
        /* secure phys, non-secure phys, virt, hyp: PPIs, level-high. */
        /* GICv2 PPIs name the vCPUs they go to in bits [15:8] of the flags cell. */
        uint32_t fl = 4;
        if (p->gic_version == 2)
            fl |= ((1u << p->ncpus) - 1) << 8;
        uint32_t irqs[12] = { 1, GICV3_PPI_SEC_TIMER,  fl, 1, GICV3_PPI_PHYS_TIMER, fl,
                              1, GICV3_PPI_VIRT_TIMER, fl, 1, GICV3_PPI_HYP_TIMER,  fl };
        fdtb_prop_cells(&f, "/timer", "interrupts", irqs, 12);
        fdtb_prop_empty(&f, "/timer", "always-on");
    }

    fdtb_add(&f, "/", "intc@8000000");
    {
        const char *g = "/intc@8000000";
        fdtb_prop_u32(&f, g, "#interrupt-cells", 3);
        fdtb_prop_empty(&f, g, "interrupt-controller");
        if (p->gic_version == 2) {
            fdtb_prop_str(&f, g, "compatible", "arm,cortex-a15-gic");
            uint32_t reg[8] = { 0, (uint32_t)A64_VIRT_GIC_DIST, 0, GICV2_DIST_SIZE,
                                0, (uint32_t)A64_VIRT_GIC_CPU,  0, GICV2_CPU_SIZE };
            fdtb_prop_cells(&f, g, "reg", reg, 8);
        } else {
            fdtb_prop_str(&f, g, "compatible", "arm,gic-v3");
            fdtb_prop_u32(&f, g, "#redistributor-regions", 1);
            uint64_t rsize = gicv3_redist_size(p->ncpus);
            uint32_t reg[8] = { 0,
                                (uint32_t)A64_VIRT_GIC_DIST,
                                0,
                                GICV3_DIST_SIZE,
                                0,
                                (uint32_t)A64_VIRT_GIC_REDIST,
                                (uint32_t)(rsize >> 32),
                                (uint32_t)rsize };
            fdtb_prop_cells(&f, g, "reg", reg, 8);
        }
        fdtb_prop_u32(&f, g, "phandle", PH_GIC);
        if (p->pcie) {
            /* As QEMU: interrupt-map entries give the GIC a 2-cell unit address. */
            fdtb_prop_u32(&f, g, "#address-cells", 2);
            fdtb_prop_u32(&f, g, "#size-cells", 2);
            fdtb_prop_empty(&f, g, "ranges");
        }
    }

    fdtb_add(&f, "/", "psci");
    {
        static const char *const compat[] = { "arm,psci-1.0", "arm,psci-0.2", "arm,psci" };
        fdtb_prop_strs(&f, "/psci", "compatible", compat, 3);
        fdtb_prop_str(&f, "/psci", "method", "hvc");
        fdtb_prop_u32(&f, "/psci", "cpu_suspend", PSCI_CPU_SUSPEND_64);
        fdtb_prop_u32(&f, "/psci", "cpu_off", PSCI_CPU_OFF);
        fdtb_prop_u32(&f, "/psci", "cpu_on", PSCI_CPU_ON_64);
    }

    if (p->flash) {
        fdtb_add(&f, "/", "flash@0");
        fdtb_prop_str(&f, "/flash@0", "compatible", "cfi-flash");
        uint32_t reg[8] = { 0, (uint32_t)A64_VIRT_FLASH_BASE,
                            0, (uint32_t)A64_VIRT_FLASH_SIZE,
                            0, (uint32_t)(A64_VIRT_FLASH_BASE + A64_VIRT_FLASH_SIZE),
                            0, (uint32_t)A64_VIRT_FLASH_SIZE };
        fdtb_prop_cells(&f, "/flash@0", "reg", reg, 8);
        fdtb_prop_u32(&f, "/flash@0", "bank-width", PFLASH_BANK_WIDTH);
    }

    build_cpus(&f, p);
    snprintf(name, sizeof(name), "memory@%" PRIx64, p->ram_base);
    fdtb_add(&f, "/", name);
    snprintf(path, sizeof(path), "/%s", name);
    fdtb_prop_str(&f, path, "device_type", "memory");
    fdtb_prop_reg(&f, path, p->ram_base, p->ram_size);

    fdtb_add(&f, "/", "chosen");
    fdtb_prop_str(&f, "/chosen", "stdout-path", "/pl011@9000000");
    if (p->cmdline)
        fdtb_prop_str(&f, "/chosen", "bootargs", p->cmdline);
    if (p->has_initrd) {
        fdtb_prop_u64(&f, "/chosen", "linux,initrd-start", p->initrd_start);
        fdtb_prop_u64(&f, "/chosen", "linux,initrd-end", p->initrd_end);
    }
    if (p->rng_seed) {
        uint8_t seed[32];
        if (getrandom(seed, sizeof(seed), GRND_NONBLOCK) == (ssize_t)sizeof(seed))
            fdtb_prop(&f, "/chosen", "rng-seed", seed, sizeof(seed));
    }

    if (!f.err)
        f.err = fdt_pack(f.buf);
    if (f.err) {
        free(f.buf);
        return vs_error_set(err, VS_ERR_INVALID, "cannot build the device tree: %s",
                            fdt_strerror(f.err));
    }
    *fdt = f.buf;
    *size = fdt_totalsize(f.buf);
    return VS_OK;
}

/* ---- interrupts ---- */

static void gic_output(void *opaque, unsigned cpu, bool irq, bool fiq)
{
    A64VirtBoard *b = opaque;
    if (cpu < b->m->ncpus)
        a64_cpu_set_irq(a64_cpu(b->m->cpus[cpu]), irq, fiq);
}

/* Interrupt lines into whichever GIC the board has. */
static void set_spi(A64VirtBoard *b, unsigned spi, bool level)
{
    if (b->gic2)
        gicv2_set_spi(b->gic2, spi, level);
    else
        gicv3_set_spi(b->gic, spi, level);
}

static void timer_irq(void *opaque, unsigned cpu, unsigned which, bool level)
{
    A64VirtBoard *b = opaque;
    unsigned ppi = which == A64_TIMER_VIRT ? GICV3_PPI_VIRT_TIMER : GICV3_PPI_PHYS_TIMER;
    if (b->gic2)
        gicv2_set_ppi(b->gic2, cpu, ppi, level);
    else
        gicv3_set_ppi(b->gic, cpu, ppi, level);
}

/* The vCPU whose thread makes a GICv2 access (its registers are banked per vCPU). */
static unsigned gic2_who(void *opaque)
{
    (void)opaque;
    VsCpu *cpu = vs_cpu_self();
    return cpu ? cpu->index : 0;
}

static bool icc_read(void *opaque, unsigned cpu, unsigned sysreg, uint64_t *val)
{
    A64VirtBoard *b = opaque;
    return gicv3_cpuif_read(b->gic, cpu, sysreg, val);
}

static bool icc_write(void *opaque, unsigned cpu, unsigned sysreg, uint64_t val)
{
    A64VirtBoard *b = opaque;
    return gicv3_cpuif_write(b->gic, cpu, sysreg, val);
}

static void uart_set_irq(void *opaque, int level)
{
    A64VirtBoard *b = opaque;
    set_spi(b, A64_VIRT_UART_SPI, level);
}

static void uart_tx(void *opaque, const uint8_t *buf, size_t len)
{
    A64VirtBoard *b = opaque;
    vs_machine_serial_output(b->m, buf, len);
}

static void rtc_set_irq(void *opaque, int level)
{
    A64VirtBoard *b = opaque;
    set_spi(b, A64_VIRT_RTC_SPI, level);
}

static void gpio_set_irq(void *opaque, int level)
{
    A64VirtBoard *b = opaque;
    set_spi(b, A64_VIRT_GPIO_SPI, level);
}

static void virtio_set_irq(void *opaque, int level)
{
    struct A64VirtIrqLine *l = opaque;
    set_spi(l->b, l->spi, level);
}

/* ---- PSCI ---- */

static A64Cpu *cpu_by_mpidr(VsMachine *m, uint64_t mpidr)
{
    for (unsigned i = 0; i < m->ncpus; i++)
        if ((mpidr & 0xff00ffffffull) == gicv3_mpidr_affinity(i))
            return a64_cpu(m->cpus[i]);
    return NULL;
}

static bool psci_supported(uint32_t fn)
{
    switch (fn) {
    case PSCI_VERSION:
    case PSCI_CPU_SUSPEND_32:
    case PSCI_CPU_SUSPEND_64:
    case PSCI_CPU_OFF:
    case PSCI_CPU_ON_32:
    case PSCI_CPU_ON_64:
    case PSCI_AFFINITY_INFO_32:
    case PSCI_AFFINITY_INFO_64:
    case PSCI_MIGRATE_INFO:
    case PSCI_SYSTEM_OFF:
    case PSCI_SYSTEM_RESET:
    case PSCI_FEATURES: return true;
    default: return false;
    }
}

static int64_t psci_cpu_on(VsMachine *m, uint64_t mpidr, uint64_t entry, uint64_t context)
{
    A64Cpu *t = cpu_by_mpidr(m, mpidr);
    if (!t)
        return PSCI_RET_INVALID;
    VsCpu *tc = &t->common;
    pthread_mutex_lock(&tc->halt_lock);
    if (!t->powered_off) {
        pthread_mutex_unlock(&tc->halt_lock);
        return PSCI_RET_ALREADY_ON;
    }
    /* The target starts at EL1h with the MMU off and interrupts masked, x0 = context. */
    memset(t->x, 0, sizeof(t->x));
    t->x[0] = context;
    t->pc = entry;
    a64_set_el_spsel(t, 1, 1);
    t->daif = A64_DAIF_D | A64_DAIF_A | A64_DAIF_I | A64_DAIF_F;
    t->sctlr &= ~(A64_SCTLR_M | A64_SCTLR_A);
    t->powered_off = false;
    t->start_pending = true;
    tc->halted = false;
    pthread_mutex_unlock(&tc->halt_lock);
    vs_cpu_kick(tc, CPU_REQ_EXIT);
    return PSCI_RET_SUCCESS;
}

static bool psci_call(void *opaque, A64Cpu *cpu)
{
    A64VirtBoard *b = opaque;
    VsMachine *m = b->m;
    uint64_t fn64 = cpu->x[0];
    /* SMC32 calls take 32-bit arguments. */
    bool is32 = !(fn64 & 0x40000000u);
    uint64_t a1 = cpu->x[1], a2 = cpu->x[2], a3 = cpu->x[3];
    if (is32) {
        a1 = (uint32_t)a1;
        a2 = (uint32_t)a2;
        a3 = (uint32_t)a3;
    }
    /* SMCCC function ids are 32 bits; bits 63:32 are ignored (SMCCC 1.1 section 2.5). */
    uint32_t fn = (uint32_t)fn64;
    int64_t ret;
    switch (fn) {
    case PSCI_VERSION: ret = 0x10001; break; /* 1.1 (as QEMU 7.2): no optional calls */
    case PSCI_CPU_SUSPEND_32:
    case PSCI_CPU_SUSPEND_64:
        /* A power-down state would need the context restored; standby is a WFI. */
        cpu->common.halted = true;
        ret = PSCI_RET_SUCCESS;
        break;
    case PSCI_CPU_OFF:
        cpu->powered_off = true;
        cpu->common.halted = true;
        ret = PSCI_RET_SUCCESS;
        break;
    case PSCI_CPU_ON_32:
    case PSCI_CPU_ON_64: ret = psci_cpu_on(m, a1, a2, a3); break;
    case PSCI_AFFINITY_INFO_32:
    case PSCI_AFFINITY_INFO_64: {
        A64Cpu *t = cpu_by_mpidr(m, a1);
        if (!t || a2 != 0)
            ret = PSCI_RET_INVALID;
        else
            ret = t->powered_off ? 1 : 0;
        break;
    }
    case PSCI_MIGRATE_INFO: ret = 2; break; /* no Trusted OS: migration not required */
    case PSCI_SYSTEM_OFF:
        vs_machine_request_stop(m, VS_STOP_POWEROFF, "guest powered off (PSCI SYSTEM_OFF)");
        cpu->powered_off = true;
        cpu->common.halted = true;
        ret = PSCI_RET_SUCCESS;
        break;
    case PSCI_SYSTEM_RESET:
        vs_machine_request_reset(m);
        ret = PSCI_RET_SUCCESS;
        break;
    case PSCI_FEATURES:
        ret = psci_supported((uint32_t)a1) ? PSCI_RET_SUCCESS : PSCI_RET_NOT_SUPPORTED;
        break;
    default: ret = PSCI_RET_NOT_SUPPORTED; break; /* SMCCC: unknown function id */
    }
    cpu->x[0] = (uint64_t)ret;
    return true;
}

/* ---- board ---- */

static VsStatus load_kernel(VsMachine *m, A64VirtBoard *b, const LoadTarget *t, VsError *err)
{
    const char *path = m->cfg.kernel;
    uint8_t *data;
    size_t size;
    VsStatus st = loader_read_file("kernel", path, t->ram_size, &data, &size, err);
    if (st != VS_OK)
        return st;
    A64ImageHeader hdr;
    const char *why;
    if (loader_is_elf(data, size)) {
        st = loader_load_elf_machine(t, "kernel", path, data, size, EM_AARCH64, "arm64", &b->kernel,
                                     err);
        b->is_linux = false;
    } else if (a64_virt_parse_image(data, size, &hdr, &why)) {
        if (hdr.flags & 1) {
            st = vs_error_set(err, VS_ERR_FORMAT,
                              "kernel '%s' is a big-endian arm64 Image; Vessel runs "
                              "little-endian guests only",
                              path);
        } else {
            uint64_t at = A64_VIRT_RAM_BASE + hdr.text_offset;
            uint64_t mem = hdr.image_size > size ? hdr.image_size : size;
            st = loader_load_raw(t, "kernel", path, data, size, at, mem, &b->kernel, err);
            b->is_linux = true;
        }
    } else if (why) {
        st = vs_error_set(err, VS_ERR_FORMAT, "kernel '%s' is not a usable arm64 Linux Image: %s",
                          path, why);
    } else if (size >= 0x3c && memcmp(data + 0x38, "RSC\x05", 4) == 0) {
        st = vs_error_set(err, VS_ERR_FORMAT,
                          "kernel '%s' is a riscv64 Linux Image, not arm64; use "
                          "--guest-arch riscv64",
                          path);
    } else if (size >= 0x206 && memcmp(data + 0x202, "HdrS", 4) == 0) {
        st =
            vs_error_set(err, VS_ERR_FORMAT,
                         "kernel '%s' is an x86 bzImage, not arm64; use --guest-arch x86_64", path);
    } else if (size >= 2 && data[0] == 0x1f && data[1] == 0x8b) {
        st = vs_error_set(err, VS_ERR_FORMAT,
                          "kernel '%s' is gzip-compressed; decompress it first (zcat %s > "
                          "Image)",
                          path, path);
    } else {
        st =
            vs_error_set(err, VS_ERR_FORMAT,
                         "kernel '%s' is neither an arm64 Linux Image nor an arm64 ELF file", path);
    }
    free(data);
    b->entry = b->kernel.entry;
    return st;
}

static VsStatus load_images(VsMachine *m, A64VirtBoard *b, VsError *err)
{
    const VsConfig *cfg = &m->cfg;
    const uint64_t ram_base = A64_VIRT_RAM_BASE, ram_size = cfg->ram_size;
    LoadTarget t = { .mem = &m->mem,
                     .ram_base = ram_base,
                     .ram_size = ram_size,
                     .loaded = loader_blobs_record,
                     .loaded_opaque = &b->blobs };
    VsStatus st = load_kernel(m, b, &t, err);
    if (st != VS_OK)
        return st;

    uint8_t *initrd = NULL;
    size_t initrd_size = 0;
    if (cfg->initrd) {
        st = loader_read_file("initrd", cfg->initrd, ram_size, &initrd, &initrd_size, err);
        if (st != VS_OK)
            return st;
        b->has_initrd = true;
    }
    A64VirtFdtParams fp = { .ncpus = m->ncpus,
                            .ram_base = ram_base,
                            .ram_size = ram_size,
                            .cmdline = cfg->cmdline,
                            .has_initrd = b->has_initrd,
                            .virtio_slots = b->virtio_slots,
                            .rng_seed = true,
                            .gic_version = b->gic2 ? 2 : 3,
                            .pcie = b->use_pci };
    void *fdt;
    size_t fdt_size;
    st = a64_virt_build_fdt(&fp, &fdt, &fdt_size, err);
    if (st != VS_OK) {
        free(initrd);
        return st;
    }
    /* The device tree at the top of RAM, 2 MiB aligned (at most 2 MiB by the boot protocol). */
    uint64_t top = ram_base + ram_size;
    b->fdt_size = fdt_size;
    b->fdt_addr = (top - fdt_size) & ~(2 * A64_VIRT_MIB - 1);
    if (b->fdt_addr < b->kernel.high) {
        st = vs_error_set(err, VS_ERR_INVALID,
                          "the kernel ends at 0x%" PRIx64 ", leaving no room for the device "
                          "tree; give the guest more memory",
                          b->kernel.high);
        goto out;
    }
    if (b->has_initrd) {
        uint64_t at = (b->kernel.high + 2 * A64_VIRT_MIB - 1) & ~(2 * A64_VIRT_MIB - 1);
        if (at > b->fdt_addr || initrd_size > b->fdt_addr - at) {
            char sz[32];
            loader_format_size(initrd_size, sz, sizeof(sz));
            st = vs_error_set(err, VS_ERR_INVALID,
                              "initrd '%s' (%s) does not fit in guest RAM between the kernel and "
                              "the device tree; give the guest more memory",
                              cfg->initrd, sz);
            goto out;
        }
        b->initrd_start = at;
        b->initrd_end = at + initrd_size;
    }
    st = loader_load_initrd_fdt(&t, cfg->initrd, initrd, initrd_size, b->initrd_start, fdt,
                                fdt_size, b->fdt_addr, err);
out:
    free(fdt);
    free(initrd);
    return st;
}

/* ---- firmware boot ---- */

static void pcie_set_irq(void *opaque, unsigned line, int level)
{
    A64VirtBoard *b = opaque;
    set_spi(b, A64_VIRT_PCIE_SPI + line, level);
}

/* Copy the template to a new variable store at path (created exclusively: never over an
 * existing file). */
static VsStatus vars_from_template(const char *path, const char *tmpl, VsError *err)
{
    uint8_t *data;
    size_t size;
    VsStatus st = loader_read_file("UEFI variable store template", tmpl, A64_VIRT_FLASH_SIZE, &data,
                                   &size, err);
    if (st != VS_OK)
        return st;
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        free(data);
        return vs_error_set(err, VS_ERR_IO, "cannot create the UEFI variable store '%s': %s", path,
                            strerror(errno));
    }
    size_t done = 0;
    while (done < size) {
        ssize_t n = write(fd, data + done, size - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        done += (size_t)n;
    }
    int close_rc = close(fd);
    free(data);
    if (done < size || close_rc) {
        unlink(path);
        return vs_error_set(err, VS_ERR_IO, "cannot write the UEFI variable store '%s': %s", path,
                            strerror(errno ? errno : EIO));
    }
    return VS_OK;
}

/* The variable flash: from cfg->efi_vars (created from the template when missing), else the
 * template (changes not kept), else erased. */
static VsStatus setup_vars(VsMachine *m, A64VirtBoard *b, VsError *err)
{
    const VsConfig *cfg = &m->cfg;
    b->vars_fd = -1;
    b->vars_storage = malloc(A64_VIRT_FLASH_SIZE);
    if (!b->vars_storage)
        return vs_error_set(err, VS_ERR_NOMEM, "out of memory for the UEFI variable flash");
    memset(b->vars_storage, 0xff, A64_VIRT_FLASH_SIZE);
    bool readonly = false;
    const char *src = cfg->efi_vars_template;
    if (cfg->efi_vars) {
        struct stat stt;
        if (stat(cfg->efi_vars, &stt) != 0) {
            if (errno != ENOENT)
                return vs_error_set(err, VS_ERR_IO, "cannot use UEFI variable store '%s': %s",
                                    cfg->efi_vars, strerror(errno));
            if (cfg->efi_vars_template) {
                VsStatus st = vars_from_template(cfg->efi_vars, cfg->efi_vars_template, err);
                if (st != VS_OK)
                    return st;
            }
        } else if (!S_ISREG(stt.st_mode)) {
            return vs_error_set(err, VS_ERR_INVALID,
                                "UEFI variable store '%s' is not a regular file", cfg->efi_vars);
        } else if ((uint64_t)stt.st_size > A64_VIRT_FLASH_SIZE) {
            return vs_error_set(err, VS_ERR_INVALID,
                                "UEFI variable store '%s' is larger than the 64 MiB flash bank",
                                cfg->efi_vars);
        }
        b->vars_fd = open(cfg->efi_vars, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (b->vars_fd < 0 && (errno == EACCES || errno == EROFS || errno == EPERM)) {
            b->vars_fd = open(cfg->efi_vars, O_RDONLY | O_CLOEXEC);
            readonly = true;
            vs_log("UEFI variable store '%s' is read-only: the firmware cannot change "
                   "variables",
                   cfg->efi_vars);
        }
        if (b->vars_fd < 0)
            return vs_error_set(err, VS_ERR_IO, "cannot open UEFI variable store '%s': %s",
                                cfg->efi_vars, strerror(errno));
        size_t done = 0;
        while (done < A64_VIRT_FLASH_SIZE) {
            ssize_t n =
                pread(b->vars_fd, b->vars_storage + done, A64_VIRT_FLASH_SIZE - done, (off_t)done);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0)
                return vs_error_set(err, VS_ERR_IO, "cannot read UEFI variable store '%s': %s",
                                    cfg->efi_vars, strerror(errno));
            if (n == 0)
                break;
            done += (size_t)n;
        }
    } else if (src) {
        uint8_t *data;
        size_t size;
        VsStatus st = loader_read_file("UEFI variable store template", src, A64_VIRT_FLASH_SIZE,
                                       &data, &size, err);
        if (st != VS_OK)
            return st;
        memcpy(b->vars_storage, data, size);
        free(data);
    }
    if (!pflash_init(&b->vars, b->vars_storage, A64_VIRT_FLASH_SIZE, readonly,
                     readonly ? -1 : b->vars_fd))
        return vs_error_set(err, VS_ERR_INVALID, "cannot set up the UEFI variable flash");
    b->vars_ok = true;
    if (!physmem_add_mmio(&m->mem, "virt.flash1", A64_VIRT_FLASH_BASE + A64_VIRT_FLASH_SIZE,
                          A64_VIRT_FLASH_SIZE, &pflash_mmio_ops, &b->vars))
        return vs_error_set(err, VS_ERR_NOMEM, "cannot map the variable flash");
    return VS_OK;
}

static VsStatus load_firmware(VsMachine *m, A64VirtBoard *b, VsError *err)
{
    const VsConfig *cfg = &m->cfg;
    struct stat fst;
    if (stat(cfg->firmware, &fst) == 0 && S_ISREG(fst.st_mode) &&
        (uint64_t)fst.st_size > A64_VIRT_FLASH_SIZE)
        return vs_error_set(err, VS_ERR_FORMAT,
                            "firmware '%s' cannot boot arm64 virt: it is larger than the 64 MiB "
                            "code flash",
                            cfg->firmware);
    uint8_t *data;
    size_t size;
    VsStatus st =
        loader_read_file("firmware", cfg->firmware, A64_VIRT_FLASH_SIZE, &data, &size, err);
    if (st != VS_OK)
        return st;
    const char *why = a64_virt_check_firmware(data, size);
    if (why) {
        st = vs_error_set(err, VS_ERR_FORMAT, "firmware '%s' cannot boot arm64 virt: %s",
                          cfg->firmware, why);
        free(data);
        return st;
    }
    /* Execute-in-place reads hit host memory directly; guest writes are dropped. */
    MemRegion *r = physmem_add_rom(&m->mem, "virt.flash0", A64_VIRT_FLASH_BASE, A64_VIRT_FLASH_SIZE,
                                   data, size);
    free(data);
    if (!r)
        return vs_error_set(err, VS_ERR_NOMEM, "cannot map the firmware flash");
    st = setup_vars(m, b, err);
    if (st != VS_OK)
        return st;

    if (!fw_cfg_init(&b->fw_cfg, &m->mem))
        return vs_error_set(err, VS_ERR_NOMEM, "out of memory creating fw_cfg");
    b->fw_cfg_ok = true;
    uint8_t cpus[2] = { (uint8_t)m->ncpus, (uint8_t)(m->ncpus >> 8) };
    uint8_t nographic[2] = { cfg->display ? 0 : 1, 0 };
    uint8_t menu[2] = { 0, 0 };
    if (!fw_cfg_add_bytes(&b->fw_cfg, FW_CFG_NB_CPUS, cpus, 2) ||
        !fw_cfg_add_bytes(&b->fw_cfg, FW_CFG_MAX_CPUS, cpus, 2) ||
        !fw_cfg_add_bytes(&b->fw_cfg, FW_CFG_NOGRAPHIC, nographic, 2) ||
        !fw_cfg_add_bytes(&b->fw_cfg, FW_CFG_BOOT_MENU, menu, 2) ||
        !fw_cfg_add_i64(&b->fw_cfg, FW_CFG_RAM_SIZE, cfg->ram_size) ||
        !physmem_add_mmio(&m->mem, "virt.fw_cfg", A64_VIRT_FW_CFG_BASE, FW_CFG_MMIO_SIZE,
                          &fw_cfg_mmio_ops, &b->fw_cfg))
        return vs_error_set(err, VS_ERR_NOMEM, "cannot set up fw_cfg");

    /* The device tree at the base of RAM, where ArmVirtQemu looks for it. */
    LoadTarget t = { .mem = &m->mem,
                     .ram_base = A64_VIRT_RAM_BASE,
                     .ram_size = cfg->ram_size,
                     .loaded = loader_blobs_record,
                     .loaded_opaque = &b->blobs };
    A64VirtFdtParams fp = { .ncpus = m->ncpus,
                            .ram_base = A64_VIRT_RAM_BASE,
                            .ram_size = cfg->ram_size,
                            .virtio_slots = b->virtio_slots,
                            .rng_seed = true,
                            .gic_version = b->gic2 ? 2 : 3,
                            .flash = true,
                            .fw_cfg = true,
                            .pcie = b->use_pci };
    void *fdt;
    size_t fdt_size;
    st = a64_virt_build_fdt(&fp, &fdt, &fdt_size, err);
    if (st != VS_OK)
        return st;
    b->fdt_addr = A64_VIRT_RAM_BASE;
    b->fdt_size = fdt_size;
    b->entry = A64_VIRT_FLASH_BASE;
    LoadedImage li;
    st = loader_load_raw(&t, "device tree", "(generated)", fdt, fdt_size, b->fdt_addr, fdt_size,
                         &li, err);
    free(fdt);
    return st;
}

static VsStatus map_virtio(VsMachine *m, A64VirtBoard *b, VsError *err)
{
    if (b->use_pci) {
        if (m->nvdevs > PCI_SLOTS - 1)
            return vs_error_set(err, VS_ERR_INVALID,
                                "too many virtio devices: the PCIe root bus has %d free slots and "
                                "this machine needs %u",
                                PCI_SLOTS - 1, m->nvdevs);
        if (!pci_host_init(&b->pci, (unsigned)(A64_VIRT_PCIE_ECAM_SIZE >> 20), A64_VIRT_PCIE_MMIO,
                           A64_VIRT_PCIE_MMIO_SIZE, A64_VIRT_PCIE_MMIO64, A64_VIRT_PCIE_MMIO64_SIZE,
                           pcie_set_irq, b))
            return vs_error_set(err, VS_ERR_NOMEM, "cannot create the PCIe host bridge");
        b->pci_ok = true;
        if (!physmem_add_mmio(&m->mem, "virt.pcie-mmio", A64_VIRT_PCIE_MMIO,
                              A64_VIRT_PCIE_MMIO_SIZE, &pci_host_mmio32_ops, &b->pci) ||
            !physmem_add_mmio(&m->mem, "virt.pcie-pio", A64_VIRT_PCIE_PIO, A64_VIRT_PCIE_PIO_SIZE,
                              &pci_host_pio_ops, &b->pci) ||
            !physmem_add_mmio(&m->mem, "virt.pcie-ecam", A64_VIRT_PCIE_ECAM,
                              A64_VIRT_PCIE_ECAM_SIZE, &pci_host_ecam_ops, &b->pci) ||
            !physmem_add_mmio(&m->mem, "virt.pcie-mmio64", A64_VIRT_PCIE_MMIO64,
                              A64_VIRT_PCIE_MMIO64_SIZE, &pci_host_mmio64_ops, &b->pci))
            return vs_error_set(err, VS_ERR_NOMEM, "cannot map the PCIe host bridge");
        for (unsigned i = 0; i < m->nvdevs; i++) {
            VsStatus st = vs_vdev_map_pci(m, i, &b->pci, i + 1, err);
            if (st != VS_OK)
                return st;
        }
        return VS_OK;
    }
    if (m->nvdevs > A64_VIRT_VIRTIO_COUNT)
        return vs_error_set(err, VS_ERR_INVALID,
                            "too many virtio devices: the arm64 virt board has %d slots and this "
                            "machine needs %u",
                            A64_VIRT_VIRTIO_COUNT, m->nvdevs);
    for (unsigned i = 0; i < m->nvdevs; i++) {
        b->virtio_irq[i].b = b;
        b->virtio_irq[i].spi = A64_VIRT_VIRTIO_SPI + i;
        VsStatus st = vs_vdev_map_size(m, i, A64_VIRT_VIRTIO_BASE + i * A64_VIRT_VIRTIO_SIZE,
                                       A64_VIRT_VIRTIO_SIZE, 32 + A64_VIRT_VIRTIO_SPI + i,
                                       virtio_set_irq, &b->virtio_irq[i], err);
        if (st != VS_OK)
            return st;
        b->virtio_slots |= 1u << i;
    }
    return VS_OK;
}

static VsStatus a64_virt_create(VsMachine *m, VsError *err)
{
    const VsConfig *cfg = &m->cfg;
    char have[32], min[32];
    if (!cfg->kernel && !cfg->firmware)
        return vs_error_set(err, VS_ERR_INVALID,
                            "arm64 needs something to boot: pass --kernel (a Linux Image or a "
                            "bare-metal arm64 ELF) or --firmware (a UEFI flash image such as "
                            "/usr/share/AAVMF/AAVMF_CODE.fd)");
    if (cfg->kernel && cfg->firmware)
        return vs_error_set(err, VS_ERR_UNSUPPORTED,
                            "arm64: --kernel and --firmware together are not supported (the "
                            "firmware would need the kernel through fw_cfg); boot the kernel "
                            "from a disk, or drop --firmware");
    if (cfg->firmware && cfg->ram_size > A64_VIRT_HIGH_BASE - A64_VIRT_RAM_BASE)
        return vs_error_set(err, VS_ERR_INVALID,
                            "arm64 virt with firmware supports at most 255 GiB of RAM");
    loader_format_size(cfg->ram_size, have, sizeof(have));
    loader_format_size(A64_VIRT_MIN_RAM, min, sizeof(min));
    if (cfg->ram_size < A64_VIRT_MIN_RAM)
        return vs_error_set(err, VS_ERR_INVALID,
                            "arm64 virt needs at least %s of RAM; --memory asked for %s", min,
                            have);
    if (cfg->ram_size % (2 * A64_VIRT_MIB))
        return vs_error_set(err, VS_ERR_INVALID,
                            "memory size %s is not a multiple of 2 MiB (arm64 virt)", have);
    if (cfg->ram_size > (1ull << 43))
        return vs_error_set(err, VS_ERR_INVALID, "memory size %s is too large", have);
    if (m->ncpus > A64_VIRT_MAX_CPUS)
        return vs_error_set(err, VS_ERR_INVALID, "arm64 virt supports 1 to %u vCPUs (%u asked)",
                            A64_VIRT_MAX_CPUS, m->ncpus);
    if (cfg->gic_version != 0 && cfg->gic_version != 2 && cfg->gic_version != 3)
        return vs_error_set(err, VS_ERR_INVALID, "GIC version %u does not exist here: use 2 or 3",
                            cfg->gic_version);
    if (cfg->gic_version == 2 && m->ncpus > GICV2_MAX_CPUS)
        return vs_error_set(err, VS_ERR_INVALID,
                            "a GICv2 serves at most %u vCPUs (%u asked): use --gic-version 3",
                            GICV2_MAX_CPUS, m->ncpus);
    if (!m->arch)
        return vs_error_set(err, VS_ERR_UNSUPPORTED,
                            "arm64 guests run on the interpreter or the JIT only");

    A64VirtBoard *b = calloc(1, sizeof(*b));
    if (!b)
        return vs_error_set(err, VS_ERR_NOMEM, "out of memory creating the arm64 board");
    b->m = m;
    b->vars_fd = -1;
    m->board = b;
    if (!physmem_add_ram(&m->mem, "virt.ram", A64_VIRT_RAM_BASE, cfg->ram_size))
        return vs_error_set(err, VS_ERR_NOMEM, "cannot reserve %s of host memory for guest RAM",
                            have);
    if (cfg->gic_version == 2) {
        b->gic2 = gicv2_new(m->ncpus, GICV2_DEFAULT_NSPIS);
        if (!b->gic2 ||
            !gicv2_map(b->gic2, &m->mem, A64_VIRT_GIC_DIST, A64_VIRT_GIC_CPU, gic2_who, b))
            return vs_error_set(err, VS_ERR_NOMEM, "cannot create the GICv2");
    } else {
        b->gic = gicv3_new(m->ncpus, GICV3_DEFAULT_NSPIS);
        if (!b->gic || !gicv3_map(b->gic, &m->mem, A64_VIRT_GIC_DIST, A64_VIRT_GIC_REDIST))
            return vs_error_set(err, VS_ERR_NOMEM, "cannot create the GICv3");
    }
    pl011_init(&b->uart, uart_set_irq, b, uart_tx, b);
    b->uart_ok = true;
    if (!physmem_add_mmio(&m->mem, "virt.uart0", A64_VIRT_UART_BASE, PL011_MMIO_SIZE,
                          &pl011_mmio_ops, &b->uart))
        return vs_error_set(err, VS_ERR_NOMEM, "cannot map the PL011");
    pl031_init(&b->rtc, &m->timers, rtc_set_irq, b);
    b->rtc_ok = true;
    pl061_init(&b->gpio, &m->timers, gpio_set_irq, b);
    b->gpio_ok = true;
    if (!physmem_add_mmio(&m->mem, "virt.rtc", A64_VIRT_RTC_BASE, PL031_MMIO_SIZE, &pl031_mmio_ops,
                          &b->rtc) ||
        !physmem_add_mmio(&m->mem, "virt.gpio", A64_VIRT_GPIO_BASE, PL061_MMIO_SIZE,
                          &pl061_mmio_ops, &b->gpio))
        return vs_error_set(err, VS_ERR_NOMEM, "cannot map the PL031/PL061");
    b->firmware_boot = cfg->firmware != NULL;
    b->use_pci = cfg->virtio_transport == VS_VIRTIO_PCI ||
                 (cfg->virtio_transport == VS_VIRTIO_AUTO && b->firmware_boot);
    if (b->use_pci && cfg->ram_size > A64_VIRT_HIGH_BASE - A64_VIRT_RAM_BASE)
        return vs_error_set(err, VS_ERR_INVALID,
                            "arm64 virt with virtio on PCI supports at most 255 GiB of RAM");
    VsStatus st = map_virtio(m, b, err);
    if (st != VS_OK)
        return st;
    st = b->firmware_boot ? load_firmware(m, b, err) : load_images(m, b, err);
    if (st != VS_OK)
        return st;
    if (!loader_blobs_snapshot(&b->blobs, &m->mem))
        return vs_error_set(err, VS_ERR_NOMEM, "out of memory keeping a copy of the boot images");
    for (unsigned i = 0; i < m->ncpus; i++) {
        A64Cpu *c = a64_cpu(m->cpus[i]);
        /* With a GICv2 there is no system-register CPU interface: ICC_* are UNDEFINED and
         * ID_AA64PFR0_EL1.GIC reads 0. */
        c->hooks = (A64BoardHooks){ .opaque = b,
                                    .psci_call = psci_call,
                                    .timer_irq = timer_irq,
                                    .icc_read = b->gic ? icc_read : NULL,
                                    .icc_write = b->gic ? icc_write : NULL };
        if (b->gic2)
            gicv2_set_output(b->gic2, i, gic_output, b);
        else
            gicv3_set_output(b->gic, i, gic_output, b);
    }
    return VS_OK;
}

static void a64_virt_cpu_boot_state(VsMachine *m, VsCpu *cpu)
{
    A64VirtBoard *b = m->board;
    A64Cpu *c = a64_cpu(cpu);
    if (!b)
        return;
    c->pc = b->entry;
    /* Linux boot protocol: x0 = device tree, x1..x3 = 0; bare-metal programs get it too.
     * Firmware starts from the reset state (x0 = 0) and finds the tree at the base of RAM. */
    c->x[0] = b->firmware_boot ? 0 : b->fdt_addr;
    if (cpu->index > 0) {
        c->powered_off = true;
        cpu->halted = true;
    } else {
        c->powered_off = false;
    }
    if (b->gic)
        gicv3_sync_cpu(b->gic, cpu->index);
    if (b->gic2)
        gicv2_sync_cpu(b->gic2, cpu->index);
}

static void a64_virt_reset(VsMachine *m)
{
    A64VirtBoard *b = m->board;
    if (!b || !b->uart_ok)
        return;
    pl011_reset(&b->uart);
    pl031_reset(&b->rtc);
    pl061_reset(&b->gpio);
    if (b->gic2)
        gicv2_reset(b->gic2);
    else
        gicv3_reset(b->gic);
    if (b->vars_ok)
        pflash_reset(&b->vars);
    if (b->fw_cfg_ok)
        fw_cfg_reset(&b->fw_cfg);
    if (b->pci_ok)
        pci_host_reset(&b->pci);
    loader_blobs_restore(&b->blobs, &m->mem);
}

static void a64_virt_destroy(VsMachine *m)
{
    A64VirtBoard *b = m->board;
    if (!b)
        return;
    for (unsigned i = 0; i < m->ncpus; i++) {
        A64Cpu *c = a64_cpu(m->cpus[i]);
        c->hooks = (A64BoardHooks){ 0 };
        for (unsigned t = 0; t < 2; t++)
            if (c->timer[t].cpu)
                vs_timer_del(&c->timer[t].host);
    }
    if (b->uart_ok)
        pl011_destroy(&b->uart);
    if (b->rtc_ok)
        pl031_destroy(&b->rtc);
    if (b->gpio_ok)
        pl061_destroy(&b->gpio);
    if (b->gic)
        gicv3_free(b->gic);
    gicv2_free(b->gic2);
    if (b->fw_cfg_ok)
        fw_cfg_destroy(&b->fw_cfg);
    if (b->pci_ok)
        pci_host_destroy(&b->pci);
    if (b->vars_ok && b->vars.io_error)
        vs_log("writing the UEFI variable store failed: some variable changes were lost");
    if (b->vars_fd >= 0)
        close(b->vars_fd);
    free(b->vars_storage);
    loader_blobs_free(&b->blobs);
    m->board = NULL;
    free(b);
}

static void a64_virt_serial_input(VsMachine *m, const uint8_t *buf, size_t len)
{
    A64VirtBoard *b = m->board;
    if (b && b->uart_ok)
        pl011_receive(&b->uart, buf, len);
}

static bool a64_virt_power_button(VsMachine *m)
{
    A64VirtBoard *b = m->board;
    if (!b || !b->gpio_ok)
        return false;
    pl061_press_power_key(&b->gpio);
    return true;
}

const BoardOps a64_virt_board_ops = {
    .name = "virt",
    .arch = VS_ARCH_ARM64,
    .create = a64_virt_create,
    .cpu_boot_state = a64_virt_cpu_boot_state,
    .reset = a64_virt_reset,
    .destroy = a64_virt_destroy,
    .serial_input = a64_virt_serial_input,
    .power_button = a64_virt_power_button,
};
