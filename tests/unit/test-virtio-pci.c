/* SPDX-License-Identifier: MIT */
/*
 * The PCIe host bridge (engine/devices/pcie-host.c) and the virtio-pci transport
 * (engine/virtio/virtio-pci.c), driven through guest physical accesses (physmem_load /
 * physmem_store on the ECAM and window regions) the way Linux's pci-host-generic and
 * virtio_pci_modern drivers drive them: enumerate, size and assign the BAR, walk the vendor
 * capabilities (virtio 1.2, 4.1.4), initialise the device (3.1.1) through the common
 * configuration, run one request through a split virtqueue, take the INTx interrupt and
 * read the ISR. Then a hostile driver.
 *
 * The device is a fake "echo" device (one queue of at most 16 entries: each chain's readable
 * bytes are copied into its writable ones; 4 bytes of config space).
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/iov.h"
#include "devices/pcie-host.h"
#include "virtio/virtio-pci.h"
#include "virtio/virtio.h"

#define ECHO_ID  42
#define RAM_BASE 0x40000000ull
#define RAM_SIZE (4ull << 20)
#define ECAM     0x4010000000ull
#define MMIO32   0x10000000ull
#define MMIO64   0x8000000000ull
#define BAR_ADDR (MMIO64 + 0x100000)
#define SLOT     1
#define CFG(reg) (ECAM + ((uint64_t)SLOT << 15) + (reg))

static PhysMem pm;
static PciHost host;
static VirtioDevice dev;
static uint8_t echo_config[4] = { 1, 2, 3, 4 };
static unsigned echo_resets;
static int lines[4];

static void echo_read_config(VirtioDevice *d, uint32_t offset, void *buf, uint32_t len)
{
    (void)d;
    memcpy(buf, echo_config + offset, len);
}

static void echo_notify(VirtioDevice *d, unsigned q)
{
    VirtqElem el;
    bool pushed = false;
    for (;;) {
        virtio_dev_lock(d);
        uint64_t epoch = virtio_dev_epoch(d);
        int r = virtio_dev_pop(d, q, &el);
        virtio_dev_unlock(d);
        if (r <= 0)
            break;
        uint8_t buf[256];
        size_t n = iov_to_buf(virtq_elem_out(&el), el.out_num, 0, buf, sizeof(buf));
        size_t w = iov_from_buf(virtq_elem_in(&el), el.in_num, 0, buf, n);
        pushed |= virtio_dev_push(d, q, &el, (uint32_t)w, epoch);
    }
    if (pushed)
        virtio_notify_used(d, q);
}

static void echo_reset(VirtioDevice *d)
{
    (void)d;
    echo_resets++;
}

static const VirtioDeviceOps echo_ops = {
    .name = "echo",
    .device_id = ECHO_ID,
    .num_queues = 1,
    .queue_max_size = 16,
    .config_size = 4,
    .read_config = echo_read_config,
    .queue_notify = echo_notify,
    .reset = echo_reset,
};

static void set_line(void *opaque, unsigned line, int level)
{
    (void)opaque;
    lines[line] = level;
}

static uint64_t ld(uint64_t pa, unsigned size)
{
    uint64_t v = 0;
    CHECK(physmem_load(&pm, pa, size, &v));
    return v;
}

static void st(uint64_t pa, unsigned size, uint64_t v)
{
    CHECK(physmem_store(&pm, pa, size, v));
}

static uint64_t guest_errors(void)
{
    return atomic_load(&dev.guest_errors);
}

static void test_config_space(void)
{
    /* The host bridge, empty slots, other functions, other buses. */
    CHECK_EQ(ld(ECAM, 4), 0x00081b36);
    CHECK_EQ(ld(ECAM + 8, 4) >> 8, 0x060000);
    CHECK_EQ(ld(ECAM + (5u << 15), 4), 0xffffffff);
    CHECK_EQ(ld(ECAM + (5u << 15), 2), 0xffff);
    CHECK_EQ(ld(CFG(0) + (1u << 12), 4), 0xffffffff);
    CHECK_EQ(ld(ECAM + (1ull << 20) + ((uint64_t)SLOT << 15), 4), 0xffffffff);
    /* The virtio function (4.1.2): 0x1040 + id, revision 1, subsystem, INTA. */
    CHECK_EQ(ld(CFG(0), 2), 0x1af4);
    CHECK_EQ(ld(CFG(2), 2), 0x1040 + ECHO_ID);
    CHECK_EQ(ld(CFG(8), 1), 1);
    CHECK_EQ(ld(CFG(0x0e), 1), 0); /* header type 0 */
    CHECK_EQ(ld(CFG(0x2c), 4), 0x11001af4u);
    CHECK_EQ(ld(CFG(0x3d), 1), 1);
    CHECK(ld(CFG(6), 2) & PCI_STATUS_CAP_LIST);
    /* Read-only fields stay. Extended space reads 0. */
    st(CFG(0), 4, 0);
    CHECK_EQ(ld(CFG(0), 2), 0x1af4);
    CHECK_EQ(ld(CFG(0x100), 4), 0);
    /* Misaligned: all ones, ignored. */
    CHECK_EQ(ld(CFG(1), 2), 0xffff);

    /* BAR sizing: BAR 4 is 16 KiB, 64-bit, prefetchable; BAR 0 unused. */
    st(CFG(0x10), 4, 0xffffffff);
    CHECK_EQ(ld(CFG(0x10), 4), 0);
    st(CFG(0x20), 4, 0xffffffff);
    st(CFG(0x24), 4, 0xffffffff);
    CHECK_EQ(ld(CFG(0x20), 4), 0xffffc00c);
    CHECK_EQ(ld(CFG(0x24), 4), 0xffffffff);
    st(CFG(0x20), 4, (uint32_t)BAR_ADDR);
    st(CFG(0x24), 4, (uint32_t)(BAR_ADDR >> 32));
    CHECK_EQ(ld(CFG(0x20), 4), (uint32_t)BAR_ADDR | 0xc);
    /* Memory decode off: the window is empty (all ones). */
    CHECK_EQ(ld(BAR_ADDR + VIRTIO_PCI_COMMON_NUMQ, 2), 0xffff);
    st(CFG(4), 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
    CHECK_EQ(ld(BAR_ADDR + VIRTIO_PCI_COMMON_NUMQ, 2), 1);
    CHECK_EQ(ld(MMIO32 + 0x1000, 4), 0xffffffff); /* nothing in the 32-bit window */

    /* The vendor capabilities: common, ISR, device, notify, PCI access; all in BAR 4. */
    unsigned want[5] = { 1, 3, 4, 2, 5 }, n = 0;
    for (unsigned at = (unsigned)ld(CFG(0x34), 1); at && n < 8; at = (unsigned)ld(CFG(at + 1), 1)) {
        CHECK_EQ(ld(CFG(at), 1), 0x09);
        if (n < 5)
            CHECK_EQ(ld(CFG(at + 3), 1), want[n]);
        uint8_t type = (uint8_t)ld(CFG(at + 3), 1);
        if (type != VIRTIO_PCI_CAP_PCI_CFG)
            CHECK_EQ(ld(CFG(at + 4), 1), 4);
        if (type == VIRTIO_PCI_CAP_NOTIFY_CFG) {
            CHECK_EQ(ld(CFG(at + 8), 4), VIRTIO_PCI_NOTIFY);
            CHECK_EQ(ld(CFG(at + 16), 4), 4); /* notify_off_multiplier */
            CHECK(ld(CFG(at + 2), 1) >= 20);
        }
        if (type == VIRTIO_PCI_CAP_DEVICE_CFG)
            CHECK_EQ(ld(CFG(at + 8), 4), VIRTIO_PCI_DEVICE);
        n++;
    }
    CHECK_EQ(n, 5);
}

/* Guest RAM layout of queue 0. */
#define DESC  (RAM_BASE + 0x1000)
#define AVAIL (RAM_BASE + 0x2000)
#define USED  (RAM_BASE + 0x3000)
#define OUTB  (RAM_BASE + 0x4000)
#define INB   (RAM_BASE + 0x5000)

static void put_desc(unsigned i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
    st(DESC + 16 * i, 8, addr);
    st(DESC + 16 * i + 8, 4, len);
    st(DESC + 16 * i + 12, 2, flags);
    st(DESC + 16 * i + 14, 2, next);
}

static void test_driver(void)
{
    const uint64_t c = BAR_ADDR;
    st(c + VIRTIO_PCI_COMMON_STATUS, 1, 0);
    CHECK_EQ(ld(c + VIRTIO_PCI_COMMON_STATUS, 1), 0);
    st(c + VIRTIO_PCI_COMMON_STATUS, 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    st(c + VIRTIO_PCI_COMMON_DFSELECT, 4, 1);
    CHECK_EQ(ld(c + VIRTIO_PCI_COMMON_DF, 4), 1); /* VIRTIO_F_VERSION_1 = bit 32 */
    st(c + VIRTIO_PCI_COMMON_GFSELECT, 4, 1);
    st(c + VIRTIO_PCI_COMMON_GF, 4, 1);
    CHECK_EQ(ld(c + VIRTIO_PCI_COMMON_GF, 4), 1);
    st(c + VIRTIO_PCI_COMMON_STATUS, 1, 0x0b);
    CHECK_EQ(ld(c + VIRTIO_PCI_COMMON_STATUS, 1), 0x0b);
    CHECK_EQ(ld(c + VIRTIO_PCI_COMMON_MSIX, 2), VIRTIO_MSI_NO_VECTOR);
    st(c + VIRTIO_PCI_COMMON_Q_SELECT, 2, 0);
    CHECK_EQ(ld(c + VIRTIO_PCI_COMMON_Q_SIZE, 2), 16);
    st(c + VIRTIO_PCI_COMMON_Q_SIZE, 2, 8);
    CHECK_EQ(ld(c + VIRTIO_PCI_COMMON_Q_SIZE, 2), 8);
    unsigned noff = (unsigned)ld(c + VIRTIO_PCI_COMMON_Q_NOFF, 2);
    CHECK_EQ(noff, 0);
    /* 64-bit fields as two halves (Linux) and whole. */
    st(c + VIRTIO_PCI_COMMON_Q_DESC, 4, (uint32_t)DESC);
    st(c + VIRTIO_PCI_COMMON_Q_DESC + 4, 4, DESC >> 32);
    st(c + VIRTIO_PCI_COMMON_Q_AVAIL, 8, AVAIL);
    st(c + VIRTIO_PCI_COMMON_Q_USED, 8, USED);
    CHECK_EQ(ld(c + VIRTIO_PCI_COMMON_Q_DESC, 8), DESC);
    CHECK_EQ(ld(c + VIRTIO_PCI_COMMON_Q_USED + 4, 4), USED >> 32);
    st(c + VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1);
    CHECK_EQ(ld(c + VIRTIO_PCI_COMMON_Q_ENABLE, 2), 1);
    st(c + VIRTIO_PCI_COMMON_STATUS, 1, 0x0f);
    CHECK_EQ(ld(c + VIRTIO_PCI_COMMON_STATUS, 1), 0x0f);
    /* Device config through the BAR. */
    CHECK_EQ(ld(c + VIRTIO_PCI_DEVICE, 4), 0x04030201);
    CHECK_EQ(ld(c + VIRTIO_PCI_DEVICE + 2, 1), 3);

    /* One request: "hello" out, 16 bytes in. */
    CHECK(physmem_write(&pm, OUTB, "hello", 5));
    put_desc(0, OUTB, 5, VIRTQ_DESC_F_NEXT, 1);
    put_desc(1, INB, 16, VIRTQ_DESC_F_WRITE, 0);
    st(AVAIL + 4, 2, 0); /* ring[0] = head 0 */
    st(AVAIL + 2, 2, 1); /* idx */
    st(c + VIRTIO_PCI_NOTIFY + 4 * noff, 2, 0);
    CHECK_EQ(ld(USED + 2, 2), 1);
    CHECK_EQ(ld(USED + 4, 4), 0); /* id */
    CHECK_EQ(ld(USED + 8, 4), 5); /* len */
    char got[6] = { 0 };
    CHECK(physmem_read(&pm, INB, got, 5));
    CHECK(strcmp(got, "hello") == 0);

    /* INTA of slot 1 is host line 1 (the swizzle); status bit 3 follows. ISR clears. */
    CHECK_EQ(lines[1], 1);
    CHECK_EQ(lines[0] | lines[2] | lines[3], 0);
    CHECK(ld(CFG(6), 2) & PCI_STATUS_INTERRUPT);
    CHECK_EQ(ld(c + VIRTIO_PCI_ISR, 1), VIRTIO_ISR_QUEUE);
    CHECK_EQ(lines[1], 0);
    CHECK_EQ(ld(c + VIRTIO_PCI_ISR, 1), 0);
    CHECK(!(ld(CFG(6), 2) & PCI_STATUS_INTERRUPT));

    /* INTx disable masks the line but not the status bit. */
    st(CFG(4), 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | PCI_COMMAND_INTX_DISABLE);
    put_desc(2, OUTB, 2, VIRTQ_DESC_F_NEXT, 3);
    put_desc(3, INB, 16, VIRTQ_DESC_F_WRITE, 0);
    st(AVAIL + 6, 2, 2);
    st(AVAIL + 2, 2, 2);
    st(c + VIRTIO_PCI_NOTIFY, 4, 0);
    CHECK_EQ(ld(USED + 2, 2), 2);
    CHECK_EQ(lines[1], 0);
    CHECK(ld(CFG(6), 2) & PCI_STATUS_INTERRUPT);
    st(CFG(4), 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
    CHECK_EQ(lines[1], 1);
    CHECK_EQ(ld(c + VIRTIO_PCI_ISR, 1), VIRTIO_ISR_QUEUE);
    CHECK_EQ(lines[1], 0);

    /* The PCI configuration access capability reads and writes BAR 4. */
    const unsigned cap = VIRTIO_PCI_CAP_PCI_CFG_AT;
    st(CFG(cap + 4), 1, 4);
    st(CFG(cap + 8), 4, VIRTIO_PCI_COMMON_NUMQ);
    st(CFG(cap + 12), 4, 2);
    CHECK_EQ(ld(CFG(cap + 16), 4), 1);
    st(CFG(cap + 8), 4, VIRTIO_PCI_COMMON_Q_SELECT);
    st(CFG(cap + 16), 4, 5);
    CHECK_EQ(ld(c + VIRTIO_PCI_COMMON_Q_SELECT, 2), 5);
    CHECK_EQ(ld(c + VIRTIO_PCI_COMMON_Q_SIZE, 2), 0); /* no queue 5 */
    st(c + VIRTIO_PCI_COMMON_Q_SELECT, 2, 0);
    uint64_t e = guest_errors();
    st(CFG(cap + 12), 4, 3); /* bad length */
    CHECK_EQ(ld(CFG(cap + 16), 4), 0);
    CHECK(guest_errors() > e);
}

static void test_hostile(void)
{
    const uint64_t c = BAR_ADDR;
    uint64_t e = guest_errors();
    /* Wrong widths, read-only fields, write-only areas, holes. */
    CHECK_EQ(ld(c + VIRTIO_PCI_COMMON_STATUS, 4), 0);
    st(c + VIRTIO_PCI_COMMON_NUMQ, 2, 9);
    CHECK_EQ(ld(c + VIRTIO_PCI_COMMON_NUMQ, 2), 1);
    CHECK_EQ(ld(c + VIRTIO_PCI_NOTIFY, 2), 0);
    st(c + VIRTIO_PCI_ISR, 1, 1);
    CHECK_EQ(ld(c + 0x800, 4), 0);
    st(c + VIRTIO_PCI_NOTIFY + 1, 2, 0);     /* misaligned notify */
    st(c + VIRTIO_PCI_NOTIFY + 4 * 9, 2, 9); /* no queue 9 */
    CHECK(guest_errors() >= e + 7);
    /* Queue setup after DRIVER_OK is refused. */
    st(c + VIRTIO_PCI_COMMON_Q_SIZE, 2, 4);
    CHECK_EQ(ld(c + VIRTIO_PCI_COMMON_Q_SIZE, 2), 8);

    /* Reset: status 0 at once, queue disabled, line low, device reset called. */
    unsigned resets = echo_resets;
    st(c + VIRTIO_PCI_COMMON_STATUS, 1, 0);
    CHECK_EQ(ld(c + VIRTIO_PCI_COMMON_STATUS, 1), 0);
    CHECK_EQ(ld(c + VIRTIO_PCI_COMMON_Q_ENABLE, 2), 0);
    CHECK_EQ(echo_resets, resets + 1);

    /* A queue size that is not a power of two: the enable fails and the device asks for a
     * reset (DEVICE_NEEDS_RESET); a ring outside RAM does the same. */
    st(c + VIRTIO_PCI_COMMON_STATUS, 1, 0x03);
    st(c + VIRTIO_PCI_COMMON_GFSELECT, 4, 1);
    st(c + VIRTIO_PCI_COMMON_GF, 4, 1);
    st(c + VIRTIO_PCI_COMMON_STATUS, 1, 0x0b);
    st(c + VIRTIO_PCI_COMMON_Q_SIZE, 2, 3);
    st(c + VIRTIO_PCI_COMMON_Q_DESC, 8, DESC);
    st(c + VIRTIO_PCI_COMMON_Q_AVAIL, 8, AVAIL);
    st(c + VIRTIO_PCI_COMMON_Q_USED, 8, USED);
    st(c + VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1);
    CHECK_EQ(ld(c + VIRTIO_PCI_COMMON_Q_ENABLE, 2), 0);
    CHECK(ld(c + VIRTIO_PCI_COMMON_STATUS, 1) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
    st(c + VIRTIO_PCI_COMMON_STATUS, 1, 0);
    st(c + VIRTIO_PCI_COMMON_STATUS, 1, 0x03);
    st(c + VIRTIO_PCI_COMMON_GF, 4, 0); /* gfselect back to 0 after the reset */
    st(c + VIRTIO_PCI_COMMON_GFSELECT, 4, 1);
    st(c + VIRTIO_PCI_COMMON_GF, 4, 1);
    st(c + VIRTIO_PCI_COMMON_STATUS, 1, 0x0b);
    st(c + VIRTIO_PCI_COMMON_Q_DESC, 8, 0x1000); /* not RAM */
    st(c + VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1);
    CHECK(ld(c + VIRTIO_PCI_COMMON_STATUS, 1) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
    /* queue_enable = 0 is not the driver's to write. */
    e = guest_errors();
    st(c + VIRTIO_PCI_COMMON_Q_ENABLE, 2, 0);
    CHECK(guest_errors() > e);

    /* Machine reset of the bus: decode off, BAR back to 0. */
    pci_host_reset(&host);
    CHECK_EQ(ld(CFG(4), 2), 0);
    CHECK_EQ(ld(CFG(0x20), 4), 0x0c);
    CHECK_EQ(ld(CFG(0x24), 4), 0);
    CHECK_EQ(ld(BAR_ADDR, 4), 0xffffffff);
}

int main(void)
{
    physmem_init(&pm);
    CHECK(physmem_add_ram(&pm, "ram", RAM_BASE, RAM_SIZE) != NULL);
    CHECK(pci_host_init(&host, 16, MMIO32, 0x2eff0000, MMIO64, 1ull << 39, set_line, NULL));
    CHECK(physmem_add_mmio(&pm, "ecam", ECAM, 16 << 20, &pci_host_ecam_ops, &host) != NULL);
    CHECK(physmem_add_mmio(&pm, "mmio32", MMIO32, 0x2eff0000, &pci_host_mmio32_ops, &host));
    CHECK(physmem_add_mmio(&pm, "mmio64", MMIO64, 1ull << 39, &pci_host_mmio64_ops, &host));
    CHECK(virtio_dev_init(&dev, &echo_ops, &pm, NULL));
    VirtioPci *vp = virtio_pci_create(&dev, NULL, NULL);
    CHECK(vp != NULL);
    CHECK(pci_host_attach(&host, &vp->pci, SLOT));
    CHECK(!pci_host_attach(&host, &vp->pci, SLOT)); /* taken */
    CHECK(!pci_host_attach(&host, &vp->pci, 0));

    test_config_space();
    test_driver();
    test_hostile();

    virtio_pci_destroy(vp);
    virtio_dev_destroy(&dev);
    pci_host_destroy(&host);
    physmem_destroy(&pm);
    printf("virtio-pci: %d passed, %d failed\n", g_pass, g_fail);
    return g_fail ? 1 : 0;
}
