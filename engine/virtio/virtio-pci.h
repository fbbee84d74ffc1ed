/* SPDX-License-Identifier: MIT */
/*
 * virtio over PCI, modern interface only (virtio 1.2 section 4.1; no legacy I/O BAR), for any
 * VirtioDevice. The function is non-transitional: vendor 0x1af4, device 0x1040 + virtio id,
 * revision 1, subsystem 0x1af4:0x1100, INTA.
 *
 * Structures, all in BAR 4 (64-bit, prefetchable, 16 KiB), each described by a vendor
 * capability (4.1.4) in configuration space:
 *   0x40 cap  common configuration  BAR 4 + 0x0000 (0x1000)
 *   0x50 cap  ISR status            BAR 4 + 0x1000 (0x1000)
 *   0x60 cap  device configuration  BAR 4 + 0x2000 (0x1000; ops->config_size used)
 *   0x70 cap  notifications         BAR 4 + 0x3000 (0x1000), notify_off_multiplier 4:
 *             queue q is notified by a 2- or 4-byte write at 0x3000 + 4 * q
 *   0x84 cap  PCI configuration access (4.1.4.9): bar/offset/length select a window of
 *             1, 2 or 4 bytes of BAR 4, pci_cfg_data reads and writes it
 *
 * Register rules (4.1.4.3) for a hostile guest: every common field is accessed at its own
 * width; 64-bit queue addresses also as two 32-bit halves. Other widths, write-only-field
 * reads and read-only-field writes read 0 / are ignored and count in dev->guest_errors.
 * Queue setup fields are accepted only while the selected queue may be set up
 * (virtio_dev_queue_configurable); a queue_size that is not a power of two up to the
 * device's maximum is stored as 0, so the queue_enable that follows fails and the device
 * sets DEVICE_NEEDS_RESET, as for a ring outside RAM. queue_enable = 0 is ignored (the
 * driver must not write it). device_status 0 resets the device and the transport's
 * selectors; reset completes before the write returns, so device_status reads 0 at once.
 *
 * Interrupts: INTx only. The ISR status byte reads and clears the pending causes (4.1.4.5)
 * and the pin follows (ISR != 0). No MSI-X: the arm64 virt board's GICv3 has no ITS (and
 * there is no GICv2m), so there would be nowhere to send the messages; config_msix_vector
 * and queue_msix_vector read VIRTIO_MSI_NO_VECTOR and writes are ignored.
 */
#ifndef VESSEL_VIRTIO_PCI_H
#define VESSEL_VIRTIO_PCI_H

#include <stdint.h>

#include "devices/pcie-host.h"
#include "virtio/virtio-dev.h"

#define VIRTIO_PCI_VENDOR      0x1af4
#define VIRTIO_PCI_DEVICE_BASE 0x1040
#define VIRTIO_PCI_BAR         4
#define VIRTIO_PCI_BAR_SIZE    0x4000
#define VIRTIO_PCI_COMMON      0x0000
#define VIRTIO_PCI_ISR         0x1000
#define VIRTIO_PCI_DEVICE      0x2000
#define VIRTIO_PCI_NOTIFY      0x3000
#define VIRTIO_PCI_NOTIFY_MULT 4

/* Capability types (4.1.4). */
#define VIRTIO_PCI_CAP_COMMON_CFG 1
#define VIRTIO_PCI_CAP_NOTIFY_CFG 2
#define VIRTIO_PCI_CAP_ISR_CFG    3
#define VIRTIO_PCI_CAP_DEVICE_CFG 4
#define VIRTIO_PCI_CAP_PCI_CFG    5
#define VIRTIO_PCI_CAP_PCI_CFG_AT 0x84

/* Common configuration (4.1.4.3). */
#define VIRTIO_PCI_COMMON_DFSELECT 0x00
#define VIRTIO_PCI_COMMON_DF       0x04
#define VIRTIO_PCI_COMMON_GFSELECT 0x08
#define VIRTIO_PCI_COMMON_GF       0x0c
#define VIRTIO_PCI_COMMON_MSIX     0x10
#define VIRTIO_PCI_COMMON_NUMQ     0x12
#define VIRTIO_PCI_COMMON_STATUS   0x14
#define VIRTIO_PCI_COMMON_CFGGEN   0x15
#define VIRTIO_PCI_COMMON_Q_SELECT 0x16
#define VIRTIO_PCI_COMMON_Q_SIZE   0x18
#define VIRTIO_PCI_COMMON_Q_MSIX   0x1a
#define VIRTIO_PCI_COMMON_Q_ENABLE 0x1c
#define VIRTIO_PCI_COMMON_Q_NOFF   0x1e
#define VIRTIO_PCI_COMMON_Q_DESC   0x20
#define VIRTIO_PCI_COMMON_Q_AVAIL  0x28
#define VIRTIO_PCI_COMMON_Q_USED   0x30
#define VIRTIO_MSI_NO_VECTOR       0xffff

typedef struct VirtioPci {
    PciFunction pci;
    VirtioDevice *dev;
    void (*notify)(void *opaque, unsigned queue);
    void *notify_opaque;
    uint32_t dfselect, gfselect;
    uint16_t queue_sel;
} VirtioPci;

/* The PCI class code Vessel gives a virtio device type. */
uint32_t virtio_pci_class(uint32_t device_id);

/*
 * A transport for dev (virtio_dev_init done). Guest kicks of a ready queue go to
 * notify(notify_opaque, queue) (NULL: virtio_dev_queue_notify at once). Wires dev's
 * interrupt line to the function's INTA. Attach vp->pci to a host with pci_host_attach.
 * NULL when out of memory or dev's config space does not fit.
 */
VirtioPci *virtio_pci_create(VirtioDevice *dev, void (*notify)(void *opaque, unsigned queue),
                             void *notify_opaque);
void virtio_pci_destroy(VirtioPci *vp);
/* Machine reset: device and selectors (the PCI header is reset by pci_host_reset). */
void virtio_pci_reset(VirtioPci *vp);

/* BAR 4 accesses (offset inside the BAR); also vp->pci.bars[4].ops. */
uint64_t virtio_pci_bar_read(VirtioPci *vp, uint64_t offset, unsigned size);
void virtio_pci_bar_write(VirtioPci *vp, uint64_t offset, uint64_t value, unsigned size);

#endif
