/* SPDX-License-Identifier: MIT */
/*
 * riscv64 `virt` board: QEMU 7.2's memory map, so the same OpenSBI and kernel boot on both.
 *
 *   0x00100000  0x1000    sifive,test (power-off / reset / failure)
 *   0x00101000  0x1000    goldfish RTC                       PLIC source 11
 *   0x02000000  0x10000   CLINT (msip, mtimecmp, mtime)
 *   0x0c000000  0x600000  PLIC
 *   0x10000000  0x100     NS16550A UART                      PLIC source 10
 *   0x10001000  32x0x1000 virtio-mmio slots                  PLIC sources 1..8, 32..55
 *   0x80000000  RAM       firmware at the base, kernel at +2 MiB, initrd above it,
 *                         device tree in the top 2 MiB below min(RAM end, 3 GiB)
 */
#ifndef VESSEL_RISCV64_VIRT_H
#define VESSEL_RISCV64_VIRT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "boards/board-loader.h"
#include "core/machine.h"
#include "devices/goldfish-rtc.h"
#include "devices/riscv-aclint.h"
#include "devices/riscv-plic.h"
#include "devices/sifive-test.h"
#include "devices/uart-16550.h"

#define RV_VIRT_MIB           (1024ull * 1024)

#define RV_VIRT_TEST_BASE     0x100000ull
#define RV_VIRT_RTC_BASE      0x101000ull
#define RV_VIRT_CLINT_BASE    0x2000000ull
#define RV_VIRT_PLIC_BASE     0xc000000ull
#define RV_VIRT_UART_BASE     0x10000000ull
#define RV_VIRT_RAM_BASE      0x80000000ull

#define RV_VIRT_UART_IRQ      10
#define RV_VIRT_RTC_IRQ       11
#define RV_VIRT_UART_CLOCK_HZ 3686400

/*
 * virtio-mmio transports go in slot i at RV_VIRT_VIRTIO_BASE + i * RV_VIRT_VIRTIO_SIZE. Slots
 * 0-7 are QEMU's, with PLIC sources 1-8; Vessel adds slots 8-31 right after them (QEMU's
 * next device is at 0x10100000) with PLIC sources 32-55 (QEMU's PCIe INTx range, unused
 * here: this board has no PCIe). The machine's virtio devices (m->vdevs) take slots in
 * order; each used slot sets its bit in RvVirtBoard.virtio_slots before the device tree is
 * built, which then gets the node.
 */
#define RV_VIRT_VIRTIO_BASE   0x10001000ull
#define RV_VIRT_VIRTIO_SIZE   0x1000ull
#define RV_VIRT_VIRTIO_COUNT  32
#define RV_VIRT_VIRTIO_IRQ(i) ((i) < 8 ? 1u + (i) : 24u + (i))

#define RV_VIRT_MIN_RAM       (16 * RV_VIRT_MIB)
#define RV_VIRT_MAX_HARTS     512
/* Debian 12 OpenSBI 1.1 fw_jump.bin jumps to FW_JUMP_ADDR = 0x80200000 (the .dword read by its
 * fw_next_addr) and copies the FDT to FW_JUMP_FDT_ADDR = 0x82200000. */
#define RV_VIRT_KERNEL_OFFSET (2 * RV_VIRT_MIB)
#define RV_VIRT_ALIGN         (2 * RV_VIRT_MIB)
#define RV_VIRT_ISA           "rv64imafdc_zicsr_zifencei_zba_zbb"

typedef struct RvVirtBoard {
    VsMachine *m;
    Uart16550 uart;
    RvAclint clint;
    RvPlic plic;
    SifiveTest test;
    GoldfishRtc rtc;
    bool clint_ok, plic_ok, devices_ok;

    uint32_t virtio_slots; /* bit i: a transport sits in virtio slot i */
    struct RvVirtIrqLine {
        struct RvVirtBoard *b;
        unsigned source;
    } virtio_irq[RV_VIRT_VIRTIO_COUNT]; /* the set_irq opaque of slot i */

    uint64_t fw_entry;
    uint64_t fdt_addr, fdt_size;
    LoadedImage firmware, kernel;
    bool has_kernel, has_initrd;
    uint64_t initrd_start, initrd_end;

    LoaderBlobs blobs; /* the boot images, written again on a guest reset */
} RvVirtBoard;

/* Accessors for code that attaches to the board later (virtio transports, tests). */
RvVirtBoard *rv_virt_board(VsMachine *m);
RvPlic *rv_virt_plic(VsMachine *m);
RvAclint *rv_virt_clint(VsMachine *m);
Uart16550 *rv_virt_uart(VsMachine *m);

/* What the device tree describes. */
typedef struct RvVirtFdtParams {
    unsigned nharts;
    uint64_t ram_base, ram_size;
    const char *cmdline; /* NULL: no bootargs */
    bool has_initrd;     /* linux,initrd-start/end are written (fill them in place later) */
    uint64_t initrd_start, initrd_end;
    uint32_t virtio_slots;
    bool rng_seed; /* add /chosen/rng-seed from the host's random source */
} RvVirtFdtParams;

/* Build the packed device tree into a malloc'ed buffer (*size bytes). */
VsStatus rv_virt_build_fdt(const RvVirtFdtParams *p, void **fdt, size_t *size, VsError *err);

/* Where QEMU puts the device tree: 2 MiB aligned, fdt_size below min(RAM end, 3 GiB). */
uint64_t rv_virt_fdt_addr(uint64_t ram_base, uint64_t ram_size, uint64_t fdt_size);

/*
 * Where the initrd goes: like QEMU, kernel start + min(RAM / 2, 128 MiB), 2 MiB aligned, but
 * never inside the kernel; if it does not fit below `limit` there, right after the kernel,
 * or after the reserved window. It never overlaps [resv_lo, resv_hi): the window where
 * OpenSBI's fw_jump copies the device tree (RAM + 0x2200000), which QEMU's placement hits
 * with 64 MiB of RAM. Returns false when it fits nowhere.
 */
bool rv_virt_initrd_addr(uint64_t kernel_start, uint64_t kernel_end, uint64_t ram_size,
                         uint64_t initrd_size, uint64_t limit, uint64_t resv_lo, uint64_t resv_hi,
                         uint64_t *addr);

/* OpenSBI fw_jump (Debian's 1.1 generic build) copies the device tree here. */
#define RV_VIRT_FW_JUMP_FDT_OFFSET 0x2200000ull
#define RV_VIRT_FW_JUMP_FDT_WINDOW (2 * RV_VIRT_MIB)

#endif
