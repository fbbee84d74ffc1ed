/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the PCIe host bridge's configuration space and windows and the virtio-pci
 * transport (engine/devices/pcie-host.c, engine/virtio/virtio-pci.c) under a hostile driver.
 *
 * One virtio function (a fake echo device: two queues of at most 8 entries, 8 bytes of
 * config space) sits in slot 1; guest RAM is 64 KiB at 0x40000000. The BAR starts assigned
 * at 0x8000000000 with memory decode on, so the transport is reachable at once; the input
 * may move or disable it. The input is a list of 12-byte operations:
 *   op (1)  a (1)  b (2, le)  value (8, le)
 * op % 6: 0/1 ECAM read/write at (a % 4) << 15 | b % 0x1000 (slots 0..3), size 1 << (a >> 6);
 * 2/3 read/write in the 64-bit window at BAR + b (b < 0x5000: the BAR and past it), size
 * 1 << (a % 4); 4 store value into RAM at offset b; 5 machine reset of the bus and device.
 *
 * Checked after every operation: the host's INTA line of slot 1 (line 1) is up exactly when
 * the device's ISR is non-zero and INTx is not disabled in the command register; the status
 * register's interrupt bit follows the ISR.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/iov.h"
#include "devices/pcie-host.h"
#include "virtio/virtio-pci.h"
#include "virtio/virtio.h"

#define RAM_BASE 0x40000000ull
#define RAM_SIZE 0x10000ull
#define ECAM     0x4010000000ull
#define MMIO64   0x8000000000ull
#define BAR      MMIO64

static PhysMem pm;
static PciHost host;
static VirtioDevice dev;
static VirtioPci *vp;
static uint8_t *ram;
static uint8_t config[8];
static int lines[4];

static void echo_read_config(VirtioDevice *d, uint32_t offset, void *buf, uint32_t len)
{
    (void)d;
    memcpy(buf, config + offset, len);
}

static void echo_write_config(VirtioDevice *d, uint32_t offset, const void *buf, uint32_t len)
{
    (void)d;
    memcpy(config + offset, buf, len);
}

static void echo_notify(VirtioDevice *d, unsigned q)
{
    VirtqElem el;
    bool pushed = false;
    for (unsigned n = 0; n < 16; n++) {
        virtio_dev_lock(d);
        uint64_t epoch = virtio_dev_epoch(d);
        int r = virtio_dev_pop(d, q, &el);
        virtio_dev_unlock(d);
        if (r <= 0)
            break;
        uint8_t buf[256];
        size_t len = iov_to_buf(virtq_elem_out(&el), el.out_num, 0, buf, sizeof(buf));
        size_t w = iov_from_buf(virtq_elem_in(&el), el.in_num, 0, buf, len);
        pushed |= virtio_dev_push(d, q, &el, (uint32_t)w, epoch);
    }
    if (pushed)
        virtio_notify_used(d, q);
}

static const VirtioDeviceOps echo_ops = {
    .name = "echo",
    .device_id = 42,
    .caps = VIRTIO_DEV_CAP_EVENT_IDX | VIRTIO_DEV_CAP_INDIRECT_DESC,
    .num_queues = 2,
    .queue_max_size = 8,
    .config_size = sizeof(config),
    .read_config = echo_read_config,
    .write_config = echo_write_config,
    .queue_notify = echo_notify,
};

static void set_line(void *opaque, unsigned line, int level)
{
    (void)opaque;
    lines[line] = level;
}

static void assign_bar(void)
{
    physmem_store(&pm, ECAM + (1u << 15) + 0x20, 4, (uint32_t)BAR);
    physmem_store(&pm, ECAM + (1u << 15) + 0x24, 4, BAR >> 32);
    physmem_store(&pm, ECAM + (1u << 15) + 4, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
}

static void init_once(void)
{
    static int done;
    if (done)
        return;
    done = 1;
    physmem_init(&pm);
    if (!physmem_add_ram(&pm, "ram", RAM_BASE, RAM_SIZE) ||
        !pci_host_init(&host, 16, 0x10000000, 0x2eff0000, MMIO64, 1ull << 39, set_line, NULL) ||
        !physmem_add_mmio(&pm, "ecam", ECAM, 16 << 20, &pci_host_ecam_ops, &host) ||
        !physmem_add_mmio(&pm, "mmio64", MMIO64, 1ull << 39, &pci_host_mmio64_ops, &host) ||
        !virtio_dev_init(&dev, &echo_ops, &pm, NULL))
        abort();
    ram = physmem_host_ptr(&pm, RAM_BASE, RAM_SIZE, false);
    vp = virtio_pci_create(&dev, NULL, NULL);
    if (!ram || !vp || !pci_host_attach(&host, &vp->pci, 1))
        abort();
}

static uint64_t get(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static void check_lines(void)
{
    uint16_t cmd = (uint16_t)(vp->pci.config[PCI_COMMAND] | vp->pci.config[PCI_COMMAND + 1] << 8);
    bool isr = virtio_dev_isr(&dev) != 0;
    if (lines[1] != (isr && !(cmd & PCI_COMMAND_INTX_DISABLE)))
        abort();
    if (lines[0] || lines[2] || lines[3])
        abort();
    uint64_t status = 0;
    physmem_load(&pm, ECAM + (1u << 15) + PCI_STATUS, 2, &status);
    if (!!(status & PCI_STATUS_INTERRUPT) != isr)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    init_once();
    memset(ram, 0, RAM_SIZE);
    pci_host_reset(&host);
    virtio_pci_reset(vp);
    memset(config, 0, sizeof(config));
    assign_bar();
    for (size_t pos = 0; pos + 12 <= size; pos += 12) {
        const uint8_t *op = data + pos;
        unsigned a = op[1];
        unsigned b = (unsigned)get(op + 2, 2);
        uint64_t value = get(op + 4, 8), v;
        switch (op[0] % 6) {
        case 0:
            physmem_load(&pm, ECAM + ((uint64_t)(a % 4) << 15) + b % 0x1000, 1u << (a >> 6), &v);
            break;
        case 1:
            physmem_store(&pm, ECAM + ((uint64_t)(a % 4) << 15) + b % 0x1000, 1u << (a >> 6),
                          value);
            break;
        case 2: physmem_load(&pm, BAR + b % 0x5000, 1u << (a % 4), &v); break;
        case 3: physmem_store(&pm, BAR + b % 0x5000, 1u << (a % 4), value); break;
        case 4:
            if (b <= RAM_SIZE - 8)
                memcpy(ram + b, op + 4, 8);
            break;
        case 5:
            pci_host_reset(&host);
            virtio_pci_reset(vp);
            assign_bar();
            break;
        }
        check_lines();
    }
    return 0;
}
