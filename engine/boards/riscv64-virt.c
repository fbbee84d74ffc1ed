/* SPDX-License-Identifier: MIT */
/* riscv64 `virt` board: devices, boot images and the device tree (see riscv64-virt.h). */
#include "boards/riscv64-virt.h"

#include <inttypes.h>
#include <libfdt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "boards/boards.h"
#include "devices/riscv-hart.h"
#include "virtio/vdev.h"

/* ---- Device tree ---- */

/* libfdt's read-write calls move nodes around, so nodes are found by path every time and
 * the first error sticks. */
typedef struct FdtBuilder {
    void *buf;
    int err;
} FdtBuilder;

static int fdt_node(FdtBuilder *f, const char *path)
{
    if (f->err)
        return -1;
    int off = fdt_path_offset(f->buf, path);
    if (off < 0)
        f->err = off;
    return off;
}

static void fdt_add(FdtBuilder *f, const char *parent, const char *name)
{
    int off = fdt_node(f, parent);
    if (off < 0)
        return;
    int r = fdt_add_subnode(f->buf, off, name);
    if (r < 0)
        f->err = r;
}

static void fdt_prop(FdtBuilder *f, const char *path, const char *name, const void *val, int len)
{
    int off = fdt_node(f, path);
    if (off < 0)
        return;
    int r = fdt_setprop(f->buf, off, name, val, len);
    if (r < 0)
        f->err = r;
}

static void fdt_prop_str(FdtBuilder *f, const char *path, const char *name, const char *val)
{
    fdt_prop(f, path, name, val, (int)strlen(val) + 1);
}

/* A list of strings; NUL separated, like "compatible". */
static void fdt_prop_strs(FdtBuilder *f, const char *path, const char *name,
                          const char *const *list, unsigned n)
{
    char buf[256];
    size_t len = 0;
    for (unsigned i = 0; i < n; i++) {
        size_t l = strlen(list[i]) + 1;
        if (len + l > sizeof(buf)) {
            f->err = -FDT_ERR_NOSPACE;
            return;
        }
        memcpy(buf + len, list[i], l);
        len += l;
    }
    fdt_prop(f, path, name, buf, (int)len);
}

/* 32-bit cells given in host order. */
static void fdt_prop_cells(FdtBuilder *f, const char *path, const char *name, const uint32_t *cells,
                           unsigned n)
{
    uint32_t *be = malloc((n ? n : 1) * sizeof(*be));
    if (!be) {
        f->err = -FDT_ERR_NOSPACE;
        return;
    }
    for (unsigned i = 0; i < n; i++)
        be[i] = cpu_to_fdt32(cells[i]);
    fdt_prop(f, path, name, be, (int)(n * sizeof(*be)));
    free(be);
}

static void fdt_prop_u32(FdtBuilder *f, const char *path, const char *name, uint32_t val)
{
    fdt_prop_cells(f, path, name, &val, 1);
}

static void fdt_prop_u64(FdtBuilder *f, const char *path, const char *name, uint64_t val)
{
    fdt64_t be = cpu_to_fdt64(val);
    fdt_prop(f, path, name, &be, sizeof(be));
}

static void fdt_prop_empty(FdtBuilder *f, const char *path, const char *name)
{
    fdt_prop(f, path, name, NULL, 0);
}

/* reg = <addr size> with #address-cells = #size-cells = 2. */
static void fdt_prop_reg(FdtBuilder *f, const char *path, uint64_t addr, uint64_t size)
{
    uint32_t cells[4] = { (uint32_t)(addr >> 32), (uint32_t)addr, (uint32_t)(size >> 32),
                          (uint32_t)size };
    fdt_prop_cells(f, path, "reg", cells, 4);
}

/* Phandles: hart h's cpu node 1 + 2h, its interrupt controller 2 + 2h, then PLIC, test. */
static uint32_t ph_cpu(unsigned h)
{
    return 1 + 2 * h;
}

static uint32_t ph_intc(unsigned h)
{
    return 2 + 2 * h;
}

static void build_cpus(FdtBuilder *f, const RvVirtFdtParams *p)
{
    char path[64], name[32];

    fdt_add(f, "/", "cpus");
    fdt_prop_u32(f, "/cpus", "#address-cells", 1);
    fdt_prop_u32(f, "/cpus", "#size-cells", 0);
    fdt_prop_u32(f, "/cpus", "timebase-frequency", ACLINT_TIMEBASE_HZ);

    /* cpu-map first: libfdt adds a node before its siblings, so this ends up last. */
    fdt_add(f, "/cpus", "cpu-map");
    fdt_add(f, "/cpus/cpu-map", "cluster0");
    for (unsigned h = p->nharts; h-- > 0;) {
        snprintf(name, sizeof(name), "core%u", h);
        fdt_add(f, "/cpus/cpu-map/cluster0", name);
        snprintf(path, sizeof(path), "/cpus/cpu-map/cluster0/core%u", h);
        fdt_prop_u32(f, path, "cpu", ph_cpu(h));
    }

    for (unsigned h = p->nharts; h-- > 0;) {
        snprintf(name, sizeof(name), "cpu@%u", h);
        fdt_add(f, "/cpus", name);
        snprintf(path, sizeof(path), "/cpus/cpu@%u", h);
        fdt_prop_str(f, path, "device_type", "cpu");
        fdt_prop_u32(f, path, "reg", h);
        fdt_prop_str(f, path, "status", "okay");
        fdt_prop_str(f, path, "compatible", "riscv");
        fdt_prop_str(f, path, "riscv,isa", RV_VIRT_ISA);
        fdt_prop_str(f, path, "mmu-type", "riscv,sv48");
        fdt_prop_u32(f, path, "phandle", ph_cpu(h));

        fdt_add(f, path, "interrupt-controller");
        snprintf(path, sizeof(path), "/cpus/cpu@%u/interrupt-controller", h);
        fdt_prop_u32(f, path, "#interrupt-cells", 1);
        fdt_prop_empty(f, path, "interrupt-controller");
        fdt_prop_str(f, path, "compatible", "riscv,cpu-intc");
        fdt_prop_u32(f, path, "phandle", ph_intc(h));
    }
}

/* interrupts-extended = per hart <intc a intc b>. */
static void fdt_prop_per_hart_irqs(FdtBuilder *f, const char *path, unsigned nharts, uint32_t a,
                                   uint32_t b)
{
    uint32_t *cells = calloc(4 * (size_t)nharts, sizeof(*cells));
    if (!cells) {
        f->err = -FDT_ERR_NOSPACE;
        return;
    }
    for (unsigned h = 0; h < nharts; h++) {
        cells[4 * h + 0] = ph_intc(h);
        cells[4 * h + 1] = a;
        cells[4 * h + 2] = ph_intc(h);
        cells[4 * h + 3] = b;
    }
    fdt_prop_cells(f, path, "interrupts-extended", cells, 4 * nharts);
    free(cells);
}

static void build_soc(FdtBuilder *f, const RvVirtFdtParams *p, uint32_t ph_plic, uint32_t ph_test)
{
    char path[64], name[32];
    static const char *const clint_compat[] = { "sifive,clint0", "riscv,clint0" };
    static const char *const plic_compat[] = { "sifive,plic-1.0.0", "riscv,plic0" };
    static const char *const test_compat[] = { "sifive,test1", "sifive,test0", "syscon" };

    fdt_add(f, "/", "soc");
    fdt_prop_u32(f, "/soc", "#address-cells", 2);
    fdt_prop_u32(f, "/soc", "#size-cells", 2);
    fdt_prop_str(f, "/soc", "compatible", "simple-bus");
    fdt_prop_empty(f, "/soc", "ranges");

    /* Added in reverse address order: each new node goes before its siblings. */
    for (unsigned i = RV_VIRT_VIRTIO_COUNT; i-- > 0;) {
        if (!(p->virtio_slots & (1u << i)))
            continue;
        uint64_t base = RV_VIRT_VIRTIO_BASE + i * RV_VIRT_VIRTIO_SIZE;
        snprintf(name, sizeof(name), "virtio_mmio@%" PRIx64, base);
        fdt_add(f, "/soc", name);
        snprintf(path, sizeof(path), "/soc/%s", name);
        fdt_prop_str(f, path, "compatible", "virtio,mmio");
        fdt_prop_reg(f, path, base, RV_VIRT_VIRTIO_SIZE);
        fdt_prop_u32(f, path, "interrupt-parent", ph_plic);
        fdt_prop_u32(f, path, "interrupts", RV_VIRT_VIRTIO_IRQ(i));
    }

    fdt_add(f, "/soc", "serial@10000000");
    fdt_prop_str(f, "/soc/serial@10000000", "compatible", "ns16550a");
    fdt_prop_reg(f, "/soc/serial@10000000", RV_VIRT_UART_BASE, UART16550_MMIO_SIZE);
    fdt_prop_u32(f, "/soc/serial@10000000", "clock-frequency", RV_VIRT_UART_CLOCK_HZ);
    fdt_prop_u32(f, "/soc/serial@10000000", "interrupt-parent", ph_plic);
    fdt_prop_u32(f, "/soc/serial@10000000", "interrupts", RV_VIRT_UART_IRQ);

    fdt_add(f, "/soc", "plic@c000000");
    fdt_prop_strs(f, "/soc/plic@c000000", "compatible", plic_compat, 2);
    fdt_prop_reg(f, "/soc/plic@c000000", RV_VIRT_PLIC_BASE, PLIC_MMIO_SIZE);
    fdt_prop_u32(f, "/soc/plic@c000000", "#address-cells", 0);
    fdt_prop_u32(f, "/soc/plic@c000000", "#interrupt-cells", 1);
    fdt_prop_empty(f, "/soc/plic@c000000", "interrupt-controller");
    fdt_prop_per_hart_irqs(f, "/soc/plic@c000000", p->nharts, RV_IRQ_MEI, RV_IRQ_SEI);
    /* The number of the highest source: ids 1..95 exist. (QEMU 7.2 says 96, an
     * off-by-one later versions fixed.) */
    fdt_prop_u32(f, "/soc/plic@c000000", "riscv,ndev", PLIC_NUM_SOURCES - 1);
    fdt_prop_u32(f, "/soc/plic@c000000", "phandle", ph_plic);

    fdt_add(f, "/soc", "clint@2000000");
    fdt_prop_strs(f, "/soc/clint@2000000", "compatible", clint_compat, 2);
    fdt_prop_reg(f, "/soc/clint@2000000", RV_VIRT_CLINT_BASE, ACLINT_MMIO_SIZE);
    fdt_prop_per_hart_irqs(f, "/soc/clint@2000000", p->nharts, RV_IRQ_MSI, RV_IRQ_MTI);

    fdt_add(f, "/soc", "rtc@101000");
    fdt_prop_str(f, "/soc/rtc@101000", "compatible", "google,goldfish-rtc");
    fdt_prop_reg(f, "/soc/rtc@101000", RV_VIRT_RTC_BASE, GOLDFISH_RTC_MMIO_SIZE);
    fdt_prop_u32(f, "/soc/rtc@101000", "interrupt-parent", ph_plic);
    fdt_prop_u32(f, "/soc/rtc@101000", "interrupts", RV_VIRT_RTC_IRQ);

    fdt_add(f, "/soc", "test@100000");
    fdt_prop_strs(f, "/soc/test@100000", "compatible", test_compat, 3);
    fdt_prop_reg(f, "/soc/test@100000", RV_VIRT_TEST_BASE, SIFIVE_TEST_MMIO_SIZE);
    fdt_prop_u32(f, "/soc/test@100000", "phandle", ph_test);
}

/* syscon-poweroff/-reboot sit at the root (as in QEMU) so Linux creates their devices; under
 * the test node, which is no bus, they would never probe. */
static void build_power(FdtBuilder *f, uint32_t ph_test)
{
    fdt_add(f, "/", "reboot");
    fdt_prop_str(f, "/reboot", "compatible", "syscon-reboot");
    fdt_prop_u32(f, "/reboot", "regmap", ph_test);
    fdt_prop_u32(f, "/reboot", "offset", 0);
    fdt_prop_u32(f, "/reboot", "value", SIFIVE_TEST_RESET);

    fdt_add(f, "/", "poweroff");
    fdt_prop_str(f, "/poweroff", "compatible", "syscon-poweroff");
    fdt_prop_u32(f, "/poweroff", "regmap", ph_test);
    fdt_prop_u32(f, "/poweroff", "offset", 0);
    fdt_prop_u32(f, "/poweroff", "value", SIFIVE_TEST_PASS);
}

static void build_chosen(FdtBuilder *f, const RvVirtFdtParams *p)
{
    fdt_add(f, "/", "chosen");
    fdt_prop_str(f, "/chosen", "stdout-path", "/soc/serial@10000000");
    if (p->cmdline)
        fdt_prop_str(f, "/chosen", "bootargs", p->cmdline);
    if (p->has_initrd) {
        fdt_prop_u64(f, "/chosen", "linux,initrd-start", p->initrd_start);
        fdt_prop_u64(f, "/chosen", "linux,initrd-end", p->initrd_end);
    }
    if (p->rng_seed) {
        uint8_t seed[32];
        if (getrandom(seed, sizeof(seed), GRND_NONBLOCK) == (ssize_t)sizeof(seed))
            fdt_prop(f, "/chosen", "rng-seed", seed, sizeof(seed));
    }
}

VsStatus rv_virt_build_fdt(const RvVirtFdtParams *p, void **fdt, size_t *size, VsError *err)
{
    *fdt = NULL;
    *size = 0;
    if (p->nharts == 0 || p->nharts > RV_VIRT_MAX_HARTS)
        return vs_error_set(err, VS_ERR_INVALID, "device tree: %u harts is out of range",
                            p->nharts);

    /* Room for everything before packing: a fixed part, each hart, the command line. */
    size_t cmdline_len = p->cmdline ? strlen(p->cmdline) : 0;
    if (cmdline_len > 64 * 1024)
        return vs_error_set(err, VS_ERR_INVALID,
                            "kernel command line is too long (%zu bytes; at most 65536)",
                            cmdline_len);
    size_t cap = 16384 + 1024 * (size_t)p->nharts + cmdline_len;
    FdtBuilder f = { .buf = calloc(1, cap), .err = 0 };
    if (!f.buf)
        return vs_error_set(err, VS_ERR_NOMEM, "out of memory building the device tree");
    f.err = fdt_create_empty_tree(f.buf, (int)cap);

    uint32_t ph_plic = 2 * p->nharts + 1, ph_test = 2 * p->nharts + 2;
    fdt_prop_u32(&f, "/", "#address-cells", 2);
    fdt_prop_u32(&f, "/", "#size-cells", 2);
    fdt_prop_str(&f, "/", "compatible", "riscv-virtio");
    fdt_prop_str(&f, "/", "model", "riscv-virtio,qemu");

    /* Each node is added before its siblings: build the last one first. */
    build_soc(&f, p, ph_plic, ph_test);
    build_cpus(&f, p);
    char mem[32];
    snprintf(mem, sizeof(mem), "memory@%" PRIx64, p->ram_base);
    fdt_add(&f, "/", mem);
    char mem_path[40];
    snprintf(mem_path, sizeof(mem_path), "/%s", mem);
    fdt_prop_str(&f, mem_path, "device_type", "memory");
    fdt_prop_reg(&f, mem_path, p->ram_base, p->ram_size);
    build_power(&f, ph_test);
    build_chosen(&f, p);

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

uint64_t rv_virt_fdt_addr(uint64_t ram_base, uint64_t ram_size, uint64_t fdt_size)
{
    const uint64_t limit32 = 3072 * RV_VIRT_MIB; /* reachable by 32-bit code too */
    uint64_t end = ram_base + ram_size;
    uint64_t top = ram_base < limit32 && end > limit32 ? limit32 : end;
    if (fdt_size > top - ram_base)
        return UINT64_MAX;
    return (top - fdt_size) & ~(RV_VIRT_ALIGN - 1);
}

static uint64_t align_up(uint64_t v, uint64_t a)
{
    return v + (a - 1) < v ? UINT64_MAX & ~(a - 1) : (v + a - 1) & ~(a - 1);
}

bool rv_virt_initrd_addr(uint64_t kernel_start, uint64_t kernel_end, uint64_t ram_size,
                         uint64_t initrd_size, uint64_t limit, uint64_t resv_lo, uint64_t resv_hi,
                         uint64_t *addr)
{
    uint64_t gap = ram_size / 2 < 128 * RV_VIRT_MIB ? ram_size / 2 : 128 * RV_VIRT_MIB;
    uint64_t after_kernel = align_up(kernel_end, RV_VIRT_ALIGN);
    uint64_t preferred = align_up(kernel_start + gap, RV_VIRT_ALIGN);
    if (preferred < after_kernel)
        preferred = after_kernel;

    const uint64_t tries[3] = { preferred, after_kernel, align_up(resv_hi, RV_VIRT_ALIGN) };
    for (unsigned i = 0; i < 3; i++) {
        if (tries[i] < after_kernel)
            continue;
        if (resv_lo < resv_hi && tries[i] < resv_hi && tries[i] + initrd_size > resv_lo)
            continue;
        if (tries[i] <= limit && initrd_size <= limit - tries[i]) {
            *addr = tries[i];
            return true;
        }
    }
    return false;
}

/* ---- Board ---- */

RvVirtBoard *rv_virt_board(VsMachine *m)
{
    if (!m || !m->board || (m->board_ops && m->board_ops != &rv_virt_board_ops))
        return NULL;
    return m->board;
}

RvPlic *rv_virt_plic(VsMachine *m)
{
    RvVirtBoard *b = rv_virt_board(m);
    return b ? &b->plic : NULL;
}

RvAclint *rv_virt_clint(VsMachine *m)
{
    RvVirtBoard *b = rv_virt_board(m);
    return b ? &b->clint : NULL;
}

Uart16550 *rv_virt_uart(VsMachine *m)
{
    RvVirtBoard *b = rv_virt_board(m);
    return b ? &b->uart : NULL;
}

static void uart_set_irq(void *opaque, int level)
{
    RvVirtBoard *b = opaque;
    plic_set_irq(&b->plic, RV_VIRT_UART_IRQ, level);
}

static void uart_tx(void *opaque, const uint8_t *buf, size_t len)
{
    RvVirtBoard *b = opaque;
    vs_machine_serial_output(b->m, buf, len);
}

static void rtc_set_irq(void *opaque, int level)
{
    RvVirtBoard *b = opaque;
    plic_set_irq(&b->plic, RV_VIRT_RTC_IRQ, level);
}

static void free_board(VsMachine *m, RvVirtBoard *b)
{
    if (!b)
        return;
    if (b->devices_ok) {
        goldfish_rtc_destroy(&b->rtc);
        uart16550_destroy(&b->uart);
    }
    if (b->plic_ok)
        plic_destroy(&b->plic);
    if (b->clint_ok)
        aclint_destroy(&b->clint);
    loader_blobs_free(&b->blobs);
    if (m->board == b)
        m->board = NULL;
    free(b);
}

static void virtio_set_irq(void *opaque, int level)
{
    struct RvVirtIrqLine *l = opaque;
    plic_set_irq(&l->b->plic, l->source, level);
}

/* The machine's virtio devices, in order, into the virtio-mmio slots. */
static VsStatus map_virtio(VsMachine *m, RvVirtBoard *b, VsError *err)
{
    if (m->nvdevs > RV_VIRT_VIRTIO_COUNT)
        return vs_error_set(err, VS_ERR_INVALID,
                            "too many virtio devices: the riscv64 virt board has %d slots and "
                            "this machine needs %u (disks, network cards, shares, display...)",
                            RV_VIRT_VIRTIO_COUNT, m->nvdevs);
    for (unsigned i = 0; i < m->nvdevs; i++) {
        b->virtio_irq[i].b = b;
        b->virtio_irq[i].source = RV_VIRT_VIRTIO_IRQ(i);
        VsStatus st = vs_vdev_map(m, i, RV_VIRT_VIRTIO_BASE + i * RV_VIRT_VIRTIO_SIZE,
                                  RV_VIRT_VIRTIO_IRQ(i), virtio_set_irq, &b->virtio_irq[i], err);
        if (st != VS_OK)
            return st;
        b->virtio_slots |= 1u << i;
    }
    return VS_OK;
}

static VsStatus add_mmio(VsMachine *m, const char *name, uint64_t base, uint64_t size,
                         const MmioOps *ops, void *opaque, VsError *err)
{
    if (!physmem_add_mmio(&m->mem, name, base, size, ops, opaque))
        return vs_error_set(err, VS_ERR_NOMEM, "cannot map device %s at 0x%" PRIx64, name, base);
    return VS_OK;
}

static VsStatus create_devices(VsMachine *m, RvVirtBoard *b, VsError *err)
{
    unsigned nharts = m->cfg.smp;

    if (!aclint_init(&b->clint, m, nharts))
        return vs_error_set(err, VS_ERR_NOMEM, "out of memory creating the CLINT");
    b->clint_ok = true;
    if (!plic_init(&b->plic, m, nharts))
        return vs_error_set(err, VS_ERR_NOMEM, "out of memory creating the PLIC");
    b->plic_ok = true;
    uart16550_init(&b->uart, uart_set_irq, b, uart_tx, b);
    goldfish_rtc_init(&b->rtc, &m->timers, rtc_set_irq, b);
    sifive_test_init(&b->test, m);
    b->devices_ok = true;

    VsStatus st = add_mmio(m, "virt.test", RV_VIRT_TEST_BASE, SIFIVE_TEST_MMIO_SIZE,
                           &sifive_test_mmio_ops, &b->test, err);
    if (st == VS_OK)
        st = add_mmio(m, "virt.rtc", RV_VIRT_RTC_BASE, GOLDFISH_RTC_MMIO_SIZE,
                      &goldfish_rtc_mmio_ops, &b->rtc, err);
    if (st == VS_OK)
        st = add_mmio(m, "virt.clint", RV_VIRT_CLINT_BASE, ACLINT_MMIO_SIZE, &aclint_mmio_ops,
                      &b->clint, err);
    if (st == VS_OK)
        st = add_mmio(m, "virt.plic", RV_VIRT_PLIC_BASE, PLIC_MMIO_SIZE, &plic_mmio_ops, &b->plic,
                      err);
    if (st == VS_OK)
        st = add_mmio(m, "virt.uart0", RV_VIRT_UART_BASE, UART16550_MMIO_SIZE, &uart16550_mmio_ops,
                      &b->uart, err);
    return st;
}

static bool overlaps(uint64_t a_lo, uint64_t a_hi, uint64_t b_lo, uint64_t b_hi)
{
    return a_lo < b_hi && b_lo < a_hi;
}

static VsStatus check_ram_config(const VsConfig *cfg, VsError *err)
{
    char have[32], min[32];

    loader_format_size(cfg->ram_size, have, sizeof(have));
    loader_format_size(RV_VIRT_MIN_RAM, min, sizeof(min));
    if (cfg->ram_size < RV_VIRT_MIN_RAM)
        return vs_error_set(err, VS_ERR_INVALID,
                            "riscv64 virt needs at least %s of RAM; --memory asked for %s", min,
                            have);
    if (cfg->ram_size % GUEST_PAGE_SIZE)
        return vs_error_set(err, VS_ERR_INVALID, "memory size %s is not a multiple of 4 KiB", have);
    /* A bound far above any host memory that keeps all address arithmetic far from 2^64. */
    if (cfg->ram_size > (1ull << 48) - RV_VIRT_RAM_BASE)
        return vs_error_set(err, VS_ERR_INVALID, "memory size %s is too large", have);
    if (cfg->smp == 0 || cfg->smp > RV_VIRT_MAX_HARTS)
        return vs_error_set(err, VS_ERR_INVALID,
                            "riscv64 virt supports 1 to %u vCPUs (%u requested)", RV_VIRT_MAX_HARTS,
                            cfg->smp);
    return VS_OK;
}

static VsStatus load_images(VsMachine *m, RvVirtBoard *b, VsError *err)
{
    const VsConfig *cfg = &m->cfg;
    const uint64_t ram_base = RV_VIRT_RAM_BASE, ram_size = cfg->ram_size;
    LoadTarget t = { .mem = &m->mem,
                     .ram_base = ram_base,
                     .ram_size = ram_size,
                     .loaded = loader_blobs_record,
                     .loaded_opaque = &b->blobs };
    char sz[32], ram[32];

    VsStatus st = loader_load_rv_firmware(&t, cfg->firmware, ram_base, &b->firmware, err);
    if (st != VS_OK)
        return st;
    b->fw_entry = b->firmware.entry;

    uint64_t kernel_start = ram_base + RV_VIRT_KERNEL_OFFSET, kernel_end = kernel_start;
    if (cfg->kernel) {
        st = loader_load_rv_kernel(&t, cfg->kernel, kernel_start, &b->kernel, err);
        if (st != VS_OK)
            return st;
        b->has_kernel = true;
        if (overlaps(b->kernel.low, b->kernel.high, b->firmware.low, b->firmware.high))
            return vs_error_set(err, VS_ERR_INVALID,
                                "kernel '%s' (0x%" PRIx64 "-0x%" PRIx64 ") overlaps firmware "
                                "'%s' (0x%" PRIx64 "-0x%" PRIx64 ")",
                                cfg->kernel, b->kernel.low, b->kernel.high - 1, cfg->firmware,
                                b->firmware.low, b->firmware.high - 1);
        if (b->kernel.low != kernel_start)
            vs_log("kernel '%s' loads at 0x%" PRIx64 "; OpenSBI fw_jump enters the kernel at "
                   "0x%" PRIx64,
                   cfg->kernel, b->kernel.low, kernel_start);
        kernel_start = b->kernel.low;
        kernel_end = b->kernel.high;
    }

    uint8_t *initrd = NULL;
    size_t initrd_size = 0;
    if (cfg->initrd) {
        st = loader_read_file("initrd", cfg->initrd, ram_size, &initrd, &initrd_size, err);
        if (st != VS_OK)
            return st;
        b->has_initrd = true;
    }

    /* The device tree's size does not depend on the initrd addresses: build it with
     * placeholders, place it, place the initrd below it, then fill them in. */
    RvVirtFdtParams fp = { .nharts = cfg->smp,
                           .ram_base = ram_base,
                           .ram_size = ram_size,
                           .cmdline = cfg->cmdline,
                           .has_initrd = b->has_initrd,
                           .virtio_slots = b->virtio_slots,
                           .rng_seed = true };
    void *fdt;
    size_t fdt_size;
    st = rv_virt_build_fdt(&fp, &fdt, &fdt_size, err);
    if (st != VS_OK) {
        free(initrd);
        return st;
    }
    b->fdt_size = fdt_size;
    b->fdt_addr = rv_virt_fdt_addr(ram_base, ram_size, fdt_size);
    uint64_t images_end = b->firmware.high > kernel_end ? b->firmware.high : kernel_end;
    if (b->fdt_addr == UINT64_MAX || b->fdt_addr < images_end) {
        loader_format_size(ram_size, ram, sizeof(ram));
        st = vs_error_set(err, VS_ERR_INVALID,
                          "the boot images end at 0x%" PRIx64 ", leaving no room for the "
                          "device tree in %s of RAM; give the guest more memory",
                          images_end, ram);
        goto out;
    }

    if (b->has_initrd) {
        uint64_t at;
        /* A raw (non-ELF) firmware with a kernel is taken to be fw_jump, which copies the
         * device tree into a fixed window. */
        uint64_t resv_lo = 0, resv_hi = 0;
        if (!b->firmware.is_elf) {
            resv_lo = RV_VIRT_RAM_BASE + RV_VIRT_FW_JUMP_FDT_OFFSET;
            resv_hi = resv_lo + RV_VIRT_FW_JUMP_FDT_WINDOW;
        }
        if (!rv_virt_initrd_addr(kernel_start, kernel_end, ram_size, initrd_size, b->fdt_addr,
                                 resv_lo, resv_hi, &at) ||
            overlaps(at, at + initrd_size, b->firmware.low, b->firmware.high)) {
            loader_format_size(initrd_size, sz, sizeof(sz));
            loader_format_size(ram_size, ram, sizeof(ram));
            st = vs_error_set(err, VS_ERR_INVALID,
                              "initrd '%s' (%s) does not fit in %s of guest RAM next to the "
                              "kernel and device tree; give the guest more memory",
                              cfg->initrd, sz, ram);
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

static VsStatus rv_virt_create(VsMachine *m, VsError *err)
{
    const VsConfig *cfg = &m->cfg;

    if (!cfg->firmware)
        return vs_error_set(err, VS_ERR_INVALID,
                            "riscv64 needs firmware: pass --firmware (e.g. OpenSBI "
                            "fw_jump.bin)");
    VsStatus st = check_ram_config(cfg, err);
    if (st != VS_OK)
        return st;

    RvVirtBoard *b = calloc(1, sizeof(*b));
    if (!b)
        return vs_error_set(err, VS_ERR_NOMEM, "out of memory creating the riscv64 board");
    b->m = m;
    m->board = b;

    if (!physmem_add_ram(&m->mem, "virt.ram", RV_VIRT_RAM_BASE, cfg->ram_size)) {
        char have[32];
        loader_format_size(cfg->ram_size, have, sizeof(have));
        st =
            vs_error_set(err, VS_ERR_NOMEM, "cannot reserve %s of host memory for guest RAM", have);
        goto fail;
    }
    st = create_devices(m, b, err);
    if (st == VS_OK)
        st = map_virtio(m, b, err);
    if (st != VS_OK)
        goto fail;
    st = load_images(m, b, err);
    if (st != VS_OK)
        goto fail;
    if (!loader_blobs_snapshot(&b->blobs, &m->mem)) {
        st = vs_error_set(err, VS_ERR_NOMEM, "out of memory keeping a copy of the boot images");
        goto fail;
    }
    return VS_OK;

fail:
    /* The board stays in m->board for destroy(): the machine calls it after stopping the
     * timer thread, which still links our timers. */
    return st;
}

/* System reset (every vCPU parked): devices to power-on state, boot images written again.
 * The machine then resets the harts and calls cpu_boot_state. */
static void rv_virt_reset(VsMachine *m)
{
    RvVirtBoard *b = m->board;
    if (!b || !b->devices_ok)
        return;
    uart16550_reset(&b->uart);
    aclint_reset(&b->clint);
    plic_reset(&b->plic);
    goldfish_rtc_reset(&b->rtc);
    loader_blobs_restore(&b->blobs, &m->mem);
}

static void rv_virt_cpu_boot_state(VsMachine *m, VsCpu *cpu)
{
    RvVirtBoard *b = m->board;
    RvCpu *rc = rv_cpu(cpu);
    if (!b)
        return;
    rc->pc = b->fw_entry;
    rc->x[10] = cpu->index;  /* a0: hart id */
    rc->x[11] = b->fdt_addr; /* a1: device tree */
    rc->priv = RV_PRV_M;
    rc->read_mtime = aclint_read_mtime;
    rc->mtime_opaque = &b->clint;
    /* The arch reset cleared mip: send the device lines again. */
    aclint_sync_hart(&b->clint, cpu->index);
    plic_sync_hart(&b->plic, cpu->index);
}

static void rv_virt_destroy(VsMachine *m)
{
    RvVirtBoard *b = m->board;
    if (b)
        free_board(m, b);
}

static void rv_virt_serial_input(VsMachine *m, const uint8_t *buf, size_t len)
{
    RvVirtBoard *b = m->board;
    if (b)
        uart16550_receive(&b->uart, buf, len);
}

const BoardOps rv_virt_board_ops = {
    .name = "virt",
    .arch = VS_ARCH_RISCV64,
    .create = rv_virt_create,
    .cpu_boot_state = rv_virt_cpu_boot_state,
    .reset = rv_virt_reset,
    .destroy = rv_virt_destroy,
    .serial_input = rv_virt_serial_input,
};
