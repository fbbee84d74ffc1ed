/* SPDX-License-Identifier: MIT */
/*
 * The arm64 virt board's pure parts and its UART: the generated device tree parsed back with
 * libfdt (what Linux's drivers look up), the arm64 Image header checks (truncation, PE/COFF
 * section table), and the PL011 programming model (FIFO levels, FR bits, interrupt bits,
 * identification registers). The machine core and the CPU are fakes below.
 *
 * VESSEL_DUMP_DTB=path writes the device tree (2 vCPUs, 256 MiB, 2 virtio slots) for
 * `dtc -I dtb -O dts path`.
 */
#include <libfdt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch/arm64/a64-cpu.h"
#include "boards/arm64-virt.h"
#include "virtio/vdev.h"

#include "check.h"

/* ---- Fakes for the modules the board calls ---- */

VsStatus vs_error_set(VsError *err, VsStatus status, const char *fmt, ...)
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

void vs_log(const char *fmt, ...)
{
    (void)fmt;
}

void vs_machine_serial_output(VsMachine *m, const uint8_t *buf, size_t len)
{
    (void)m, (void)buf, (void)len;
}

void vs_machine_request_stop(VsMachine *m, VsStopReason reason, const char *fmt, ...)
{
    (void)m, (void)reason, (void)fmt;
}

void vs_machine_request_reset(VsMachine *m)
{
    (void)m;
}

VsStatus vs_vdev_map_pci(VsMachine *m, unsigned i, PciHost *host, unsigned slot, VsError *err)
{
    (void)m;
    (void)i;
    (void)host;
    (void)slot;
    return vs_error_set(err, VS_ERR_INVALID, "unexpected virtio device");
}

VsStatus vs_vdev_map_size(VsMachine *m, unsigned i, uint64_t base, uint64_t size, unsigned irq,
                          void (*set_irq)(void *opaque, int level), void *irq_opaque, VsError *err)
{
    (void)m, (void)i, (void)base, (void)size, (void)irq, (void)set_irq, (void)irq_opaque;
    return vs_error_set(err, VS_ERR_INVALID, "unexpected virtio device");
}

void a64_cpu_set_irq(A64Cpu *cpu, bool irq, bool fiq)
{
    (void)cpu, (void)irq, (void)fiq;
}

void a64_set_el_spsel(A64Cpu *cpu, unsigned el, unsigned spsel)
{
    cpu->el = el;
    cpu->spsel = spsel;
}

VsCpu *vs_cpu_self(void)
{
    return NULL;
}

void vs_cpu_kick(VsCpu *cpu, uint32_t req)
{
    (void)cpu, (void)req;
}

/* ---- Device tree ---- */

static const uint32_t *prop_cells(const void *fdt, const char *path, const char *name, int *n)
{
    int off = fdt_path_offset(fdt, path);
    if (off < 0) {
        *n = -1;
        return NULL;
    }
    int len;
    const uint32_t *p = fdt_getprop(fdt, off, name, &len);
    *n = p ? len / 4 : -1;
    return p;
}

static uint32_t cell(const uint32_t *p, int i)
{
    return fdt32_to_cpu(p[i]);
}

static bool prop_is(const void *fdt, const char *path, const char *name, const char *want)
{
    int off = fdt_path_offset(fdt, path);
    if (off < 0)
        return false;
    int len;
    const char *p = fdt_getprop(fdt, off, name, &len);
    return p && len == (int)strlen(want) + 1 && memcmp(p, want, (size_t)len) == 0;
}

static void test_fdt(void)
{
    A64VirtFdtParams p = { .ncpus = 2,
                           .ram_base = A64_VIRT_RAM_BASE,
                           .ram_size = 256ull << 20,
                           .cmdline = "console=ttyAMA0 earlycon",
                           .has_initrd = true,
                           .initrd_start = 0x48000000,
                           .initrd_end = 0x48100000,
                           .virtio_slots = 0x3,
                           .rng_seed = false };
    void *fdt;
    size_t size;
    VsError err = { 0 };
    CHECK_EQ(a64_virt_build_fdt(&p, &fdt, &size, &err), VS_OK);
    if (!fdt)
        return;
    CHECK_EQ(fdt_check_header(fdt), 0);
    CHECK_EQ(fdt_totalsize(fdt), size);
    const char *dump = getenv("VESSEL_DUMP_DTB");
    if (dump) {
        FILE *f = fopen(dump, "wb");
        if (f) {
            fwrite(fdt, 1, size, f);
            fclose(f);
        }
    }
    int n;
    const uint32_t *c;
    CHECK(prop_is(fdt, "/", "compatible", "linux,dummy-virt"));
    c = prop_cells(fdt, "/memory@40000000", "reg", &n);
    CHECK(n == 4 && cell(c, 1) == 0x40000000 && cell(c, 3) == 256u << 20);
    /* CPUs: reg = MPIDR affinity, PSCI enable method with more than one. */
    c = prop_cells(fdt, "/cpus/cpu@1", "reg", &n);
    CHECK(n == 1 && cell(c, 0) == 1);
    CHECK(prop_is(fdt, "/cpus/cpu@0", "enable-method", "psci"));
    CHECK(prop_is(fdt, "/cpus/cpu@0", "device_type", "cpu"));
    CHECK(prop_is(fdt, "/psci", "method", "hvc"));
    c = prop_cells(fdt, "/psci", "cpu_on", &n);
    CHECK(n == 1 && cell(c, 0) == PSCI_CPU_ON_64);
    /* GICv3: distributor and redistributor regions; 3 interrupt cells. */
    c = prop_cells(fdt, "/intc@8000000", "reg", &n);
    CHECK(n == 8 && cell(c, 1) == 0x08000000 && cell(c, 3) == GICV3_DIST_SIZE &&
          cell(c, 5) == 0x080a0000 && cell(c, 7) == 2 * GICV3_REDIST_STRIDE);
    CHECK(prop_is(fdt, "/intc@8000000", "compatible", "arm,gic-v3"));
    c = prop_cells(fdt, "/intc@8000000", "#interrupt-cells", &n);
    CHECK(n == 1 && cell(c, 0) == 3);
    c = prop_cells(fdt, "/", "interrupt-parent", &n);
    const uint32_t *ph = NULL;
    int nph;
    ph = prop_cells(fdt, "/intc@8000000", "phandle", &nph);
    CHECK(n == 1 && nph == 1 && cell(c, 0) == cell(ph, 0));
    /* Timer PPIs: secure 13, non-secure physical 14 (INTID 30), virtual 11 (INTID 27). */
    c = prop_cells(fdt, "/timer", "interrupts", &n);
    CHECK(n == 12 && cell(c, 0) == 1 && cell(c, 1) == 13 && cell(c, 4) == 14 && cell(c, 7) == 11 &&
          cell(c, 10) == 10);
    /* PL011: SPI 1, a clock for the amba bus probe. */
    c = prop_cells(fdt, "/pl011@9000000", "interrupts", &n);
    CHECK(n == 3 && cell(c, 0) == 0 && cell(c, 1) == A64_VIRT_UART_SPI);
    c = prop_cells(fdt, "/pl011@9000000", "clocks", &n);
    CHECK(n == 2);
    CHECK(prop_is(fdt, "/chosen", "stdout-path", "/pl011@9000000"));
    CHECK(prop_is(fdt, "/chosen", "bootargs", "console=ttyAMA0 earlycon"));
    c = prop_cells(fdt, "/chosen", "linux,initrd-start", &n);
    CHECK(n == 2 && cell(c, 1) == 0x48000000);
    /* virtio-mmio: slots 0 and 1, 0x200 apart, SPIs 16 and 17; slot 2 absent. */
    c = prop_cells(fdt, "/virtio_mmio@a000200", "interrupts", &n);
    CHECK(n == 3 && cell(c, 1) == A64_VIRT_VIRTIO_SPI + 1);
    c = prop_cells(fdt, "/virtio_mmio@a000200", "reg", &n);
    CHECK(n == 4 && cell(c, 1) == 0x0a000200 && cell(c, 3) == 0x200);
    CHECK(fdt_path_offset(fdt, "/virtio_mmio@a000400") < 0);
    /* PL031 (SPI 2), PL061 (SPI 7) and the gpio-keys power key on its pin 3. */
    c = prop_cells(fdt, "/pl031@9010000", "interrupts", &n);
    CHECK(n == 3 && cell(c, 1) == A64_VIRT_RTC_SPI);
    c = prop_cells(fdt, "/pl061@9030000", "interrupts", &n);
    CHECK(n == 3 && cell(c, 1) == A64_VIRT_GPIO_SPI);
    ph = prop_cells(fdt, "/pl061@9030000", "phandle", &nph);
    c = prop_cells(fdt, "/gpio-keys/poweroff", "gpios", &n);
    CHECK(n == 3 && nph == 1 && cell(c, 0) == cell(ph, 0) && cell(c, 1) == 3);
    c = prop_cells(fdt, "/gpio-keys/poweroff", "linux,code", &n);
    CHECK(n == 1 && cell(c, 0) == 116);
    free(fdt);

    p.ncpus = 0;
    CHECK(a64_virt_build_fdt(&p, &fdt, &size, &err) != VS_OK);
    p.ncpus = A64_VIRT_MAX_CPUS + 1;
    CHECK(a64_virt_build_fdt(&p, &fdt, &size, &err) != VS_OK);
    /* The largest machine still fits. */
    p.ncpus = A64_VIRT_MAX_CPUS;
    p.virtio_slots = 0xffffffff;
    CHECK_EQ(a64_virt_build_fdt(&p, &fdt, &size, &err), VS_OK);
    free(fdt);

    /* GICv2: distributor and CPU interface (QEMU virt's gic-version=2 node), and the timer
     * PPIs name the vCPUs they reach in bits [15:8] of their flags. */
    p.ncpus = 3;
    p.gic_version = 2;
    CHECK_EQ(a64_virt_build_fdt(&p, &fdt, &size, &err), VS_OK);
    if (!fdt)
        return;
    CHECK(prop_is(fdt, "/intc@8000000", "compatible", "arm,cortex-a15-gic"));
    c = prop_cells(fdt, "/intc@8000000", "reg", &n);
    CHECK(n == 8 && cell(c, 1) == 0x08000000 && cell(c, 3) == GICV2_DIST_SIZE &&
          cell(c, 5) == 0x08010000 && cell(c, 7) == GICV2_CPU_SIZE);
    CHECK(fdt_getprop(fdt, fdt_path_offset(fdt, "/intc@8000000"), "#redistributor-regions", NULL) ==
          NULL);
    c = prop_cells(fdt, "/timer", "interrupts", &n);
    CHECK(n == 12 && cell(c, 2) == (4u | (7u << 8)) && cell(c, 11) == (4u | (7u << 8)));
    free(fdt);
}

/* ---- Image header ---- */

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
    put32(p, (uint32_t)v);
    put32(p + 4, (uint32_t)(v >> 32));
}

static void test_image(void)
{
    static uint8_t img[0x3000];
    A64ImageHeader h;
    const char *why;
    memset(img, 0, sizeof(img));
    CHECK(!a64_virt_parse_image(img, sizeof(img), &h, &why) && why == NULL);
    memcpy(img + 0x38, "ARM\x64", 4);
    put64(img + 8, 0x80000);
    put64(img + 16, 0x200000);
    put64(img + 24, 0xa);
    CHECK(a64_virt_parse_image(img, sizeof(img), &h, &why));
    CHECK_EQ(h.text_offset, 0x80000);
    CHECK_EQ(h.image_size, 0x200000);
    CHECK_EQ(h.flags, 0xa);
    /* Cut inside the header. */
    CHECK(!a64_virt_parse_image(img, 0x3c, &h, &why) && why && strstr(why, "truncated"));
    CHECK(!a64_virt_parse_image(img, 0x30, &h, &why) && why == NULL); /* no magic at all */
    /* EFI stub: "MZ", PE header at 0x40 with one section [0x1000, 0x3000). */
    img[0] = 'M';
    img[1] = 'Z';
    put32(img + 0x3c, 0x40);
    memcpy(img + 0x40, "PE\0\0", 4);
    img[0x46] = 1;    /* NumberOfSections */
    img[0x54] = 0x70; /* SizeOfOptionalHeader */
    uint8_t *sec = img + 0x40 + 24 + 0x70;
    put32(sec + 16, 0x2000); /* SizeOfRawData */
    put32(sec + 20, 0x1000); /* PointerToRawData */
    CHECK(a64_virt_parse_image(img, 0x3000, &h, &why));
    CHECK(!a64_virt_parse_image(img, 0x2fff, &h, &why) && why && strstr(why, "truncated"));
    CHECK(!a64_virt_parse_image(img, 0x100, &h, &why) && why);
    put32(img + 0x3c, 0xfffffff0); /* PE header offset far outside */
    CHECK(!a64_virt_parse_image(img, 0x3000, &h, &why) && why);
    put32(img + 0x3c, 0x40);
    img[0x46] = 0xff; /* a section table running past the end */
    img[0x47] = 0xff;
    CHECK(!a64_virt_parse_image(img, 0x3000, &h, &why) && why);
}

/* ---- PL011 ---- */

static int g_irq;
static uint8_t g_tx[64];
static size_t g_ntx;

static void set_irq(void *o, int level)
{
    (void)o;
    g_irq = level;
}

static void tx(void *o, const uint8_t *b, size_t n)
{
    (void)o;
    for (size_t i = 0; i < n && g_ntx < sizeof(g_tx); i++)
        g_tx[g_ntx++] = b[i];
}

static uint32_t rd(Pl011 *u, unsigned off)
{
    return (uint32_t)pl011_mmio_ops.read(u, off, 4);
}

static void wr(Pl011 *u, unsigned off, uint32_t v)
{
    pl011_mmio_ops.write(u, off, v, 4);
}

static void test_pl011(void)
{
    Pl011 u;
    pl011_init(&u, set_irq, NULL, tx, NULL);
    CHECK_EQ(rd(&u, 0x18), 0x90); /* TXFE | RXFE */
    CHECK_EQ(rd(&u, 0x30), 0x300);
    CHECK_EQ(rd(&u, 0x34), 0x12);
    CHECK_EQ(rd(&u, 0xfe0), 0x11);
    CHECK_EQ(rd(&u, 0xfe4), 0x10);
    CHECK_EQ(rd(&u, 0xff0), 0x0d);
    CHECK_EQ(rd(&u, 0xffc), 0xb1);
    /* Transmit: the byte goes out, TXRIS is raised; with TXIM the line follows. */
    wr(&u, 0x0, 'A');
    CHECK(g_ntx == 1 && g_tx[0] == 'A');
    CHECK_EQ(rd(&u, 0x3c) & 0x20, 0x20);
    CHECK_EQ(g_irq, 0);
    wr(&u, 0x38, 0x20);
    CHECK_EQ(g_irq, 1);
    CHECK_EQ(rd(&u, 0x40), 0x20);
    wr(&u, 0x44, 0x20);
    CHECK_EQ(g_irq, 0);
    /* Receive with FIFOs off: one entry deep, RX interrupt at one byte. */
    wr(&u, 0x38, 0x50); /* RXIM | RTIM */
    CHECK_EQ(pl011_receive(&u, (const uint8_t *)"xyz", 3), 3);
    CHECK_EQ(rd(&u, 0x18) & 0x50, 0x40); /* RXFF, not RXFE */
    CHECK_EQ(rd(&u, 0x3c) & 0x10, 0x10);
    CHECK_EQ(g_irq, 1);
    CHECK_EQ(rd(&u, 0x0), 'x');
    /* FIFOs on (FEN): trigger at 1/2 (8 entries): below it, the receive timeout bit. */
    wr(&u, 0x2c, 0x70);
    CHECK_EQ(rd(&u, 0x3c) & 0x50, 0x40);
    CHECK_EQ(pl011_receive(&u, (const uint8_t *)"0123456789", 10), 10);
    CHECK_EQ(rd(&u, 0x3c) & 0x50, 0x10); /* 12 queued: RXRIS */
    for (int i = 0; i < 12; i++)
        rd(&u, 0x0);
    CHECK_EQ(rd(&u, 0x18) & 0x10, 0x10); /* RXFE */
    CHECK_EQ(rd(&u, 0x3c) & 0x50, 0);
    CHECK_EQ(g_irq, 0);
    CHECK_EQ(rd(&u, 0x0), 0); /* empty FIFO reads 0, no crash */
    /* Hostile offsets and sizes: ignored, reads 0. */
    CHECK_EQ(pl011_mmio_ops.read(&u, 0xfff, 1), 0);
    pl011_mmio_ops.write(&u, 0x800, ~0ull, 8);
    CHECK_EQ(rd(&u, 0x18) & 0x10, 0x10);
    /* A flood larger than the queue: accepted up to its size, the rest refused. */
    static uint8_t flood[PL011_QUEUE + 100];
    memset(flood, 'f', sizeof(flood));
    CHECK_EQ(pl011_receive(&u, flood, sizeof(flood)), PL011_QUEUE);
    pl011_reset(&u);
    CHECK_EQ(rd(&u, 0x18), 0x90);
    CHECK_EQ(g_irq, 0);
    pl011_destroy(&u);
}

/* The firmware-boot nodes, against QEMU 7.2's virt device tree (qemu-system-aarch64 -M
 * virt,dumpdtb=...): flash, fw_cfg and the PCIe host with its interrupt map. */
static void test_fdt_firmware(void)
{
    A64VirtFdtParams p = { .ncpus = 1,
                           .ram_base = A64_VIRT_RAM_BASE,
                           .ram_size = 1ull << 30,
                           .flash = true,
                           .fw_cfg = true,
                           .pcie = true };
    void *fdt;
    size_t size;
    VsError err = { 0 };
    CHECK_EQ(a64_virt_build_fdt(&p, &fdt, &size, &err), VS_OK);
    if (!fdt)
        return;
    int n;
    const uint32_t *c;
    CHECK(prop_is(fdt, "/flash@0", "compatible", "cfi-flash"));
    c = prop_cells(fdt, "/flash@0", "reg", &n);
    static const uint32_t flash_reg[8] = { 0, 0, 0, 0x4000000, 0, 0x4000000, 0, 0x4000000 };
    CHECK(n == 8);
    for (int i = 0; i < 8 && n == 8; i++)
        CHECK_EQ(cell(c, i), flash_reg[i]);
    c = prop_cells(fdt, "/flash@0", "bank-width", &n);
    CHECK(n == 1 && cell(c, 0) == 4);
    CHECK(prop_is(fdt, "/fw-cfg@9020000", "compatible", "qemu,fw-cfg-mmio"));
    c = prop_cells(fdt, "/fw-cfg@9020000", "reg", &n);
    CHECK(n == 4 && cell(c, 1) == 0x9020000 && cell(c, 3) == 0x18);
    const char *pc = "/pcie@10000000";
    CHECK(prop_is(fdt, pc, "compatible", "pci-host-ecam-generic"));
    CHECK(prop_is(fdt, pc, "device_type", "pci"));
    c = prop_cells(fdt, pc, "reg", &n);
    CHECK(n == 4 && cell(c, 0) == 0x40 && cell(c, 1) == 0x10000000 && cell(c, 2) == 0 &&
          cell(c, 3) == 0x10000000);
    c = prop_cells(fdt, pc, "bus-range", &n);
    CHECK(n == 2 && cell(c, 0) == 0 && cell(c, 1) == 0xff);
    static const uint32_t ranges[21] = { 0x1000000, 0,          0,         0,          0x3eff0000,
                                         0,         0x10000,    0x2000000, 0,          0x10000000,
                                         0,         0x10000000, 0,         0x2eff0000, 0x3000000,
                                         0x80,      0,          0x80,      0,          0x80,
                                         0 };
    c = prop_cells(fdt, pc, "ranges", &n);
    CHECK(n == 21);
    for (int i = 0; i < 21 && n == 21; i++)
        CHECK_EQ(cell(c, i), ranges[i]);
    c = prop_cells(fdt, pc, "interrupt-map-mask", &n);
    CHECK(n == 4 && cell(c, 0) == 0x1800 && cell(c, 3) == 7);
    /* QEMU's map: slot s, pin p -> SPI 3 + (s + p - 1) % 4, level-high, GIC unit address 0 0. */
    static const uint32_t qemu_spi[16] = { 3, 4, 5, 6, 4, 5, 6, 3, 5, 6, 3, 4, 6, 3, 4, 5 };
    c = prop_cells(fdt, pc, "interrupt-map", &n);
    int nph;
    const uint32_t *ph = prop_cells(fdt, "/intc@8000000", "phandle", &nph);
    CHECK(n == 160 && nph == 1);
    for (int e = 0; e < 16 && n == 160 && nph == 1; e++) {
        const uint32_t *m = c + 10 * e;
        CHECK_EQ(cell(m, 0), (uint32_t)(e / 4) << 11);
        CHECK_EQ(cell(m, 3), (uint32_t)(e % 4) + 1);
        CHECK_EQ(cell(m, 4), cell(ph, 0));
        CHECK(cell(m, 5) == 0 && cell(m, 6) == 0 && cell(m, 7) == 0);
        CHECK_EQ(cell(m, 8), qemu_spi[e]);
        CHECK_EQ(cell(m, 9), 4);
    }
    c = prop_cells(fdt, "/intc@8000000", "#address-cells", &n);
    CHECK(n == 1 && cell(c, 0) == 2);
    free(fdt);
}

static void test_firmware_check(void)
{
    uint8_t img[0x3000];
    memset(img, 0, sizeof(img));
    CHECK(a64_virt_check_firmware(img, 0) != NULL);
    img[0] = 0x00, img[1] = 0x04, img[2] = 0x00, img[3] = 0x14; /* b 0x1000 */
    /* A volume at 0x1000 of 0x2000 bytes: fits. */
    memcpy(img + 0x1028, "_FVH", 4);
    img[0x1020 + 1] = 0x20;
    CHECK(a64_virt_check_firmware(img, sizeof(img)) == NULL);
    /* Cut: the volume runs past the end. */
    CHECK(a64_virt_check_firmware(img, 0x2800) != NULL);
    /* A volume at 0: x86 OVMF's layout. */
    uint8_t ovmf[0x100] = { 0 };
    memcpy(ovmf + 0x28, "_FVH", 4);
    CHECK(a64_virt_check_firmware(ovmf, sizeof(ovmf)) != NULL);
    CHECK(a64_virt_check_firmware((const uint8_t *)"\x7f"
                                                   "ELF\2\1\1",
                                  7) != NULL);
    /* Debian's image, when installed, passes whole and fails cut. */
    FILE *f = fopen("/usr/share/AAVMF/AAVMF_CODE.fd", "rb");
    if (f) {
        size_t cap = 64u << 20;
        uint8_t *d = malloc(cap);
        size_t len = d ? fread(d, 1, cap, f) : 0;
        CHECK(len > 0 && a64_virt_check_firmware(d, len) == NULL);
        CHECK(len > 0 && a64_virt_check_firmware(d, 1u << 20) != NULL);
        free(d);
        fclose(f);
    }
}

int main(void)
{
    test_fdt();
    test_fdt_firmware();
    test_firmware_check();
    test_image();
    test_pl011();
    printf("%d passed, %d failed\n", g_pass, g_fail);
    return g_fail ? 1 : 0;
}
