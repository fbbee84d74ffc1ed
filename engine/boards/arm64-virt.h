/* SPDX-License-Identifier: MIT */
/*
 * arm64 `virt` board: QEMU 7.2's memory map, so the same kernels and bare-metal programs run
 * on both.
 *
 *   0x08000000  0x10000          GICv3 distributor
 *   0x080a0000  ncpus x 0x20000  GICv3 redistributors
 *   0x09000000  0x1000           PL011 UART                 SPI 1
 *   0x09010000  0x1000           PL031 RTC                  SPI 2
 *   0x09030000  0x1000           PL061 GPIO (pin 3: power)  SPI 7
 *   0x00000000  64 MiB           flash 0: firmware code (ROM; firmware boot only)
 *   0x04000000  64 MiB           flash 1: UEFI variables (CFI flash; firmware boot only)
 *   0x09020000  0x18             fw_cfg (firmware boot only)
 *   0x0a000000  32 x 0x200       virtio-mmio slots          SPIs 16..47
 *   0x10000000  0x2eff0000       PCIe MMIO window (32-bit)  (virtio on PCI only)
 *   0x3eff0000  0x10000          PCIe I/O window
 *   0x40000000  RAM              kernel (ELF at its own addresses, Image at text_offset),
 *                                initrd above it, device tree at the top (2 MiB aligned);
 *                                firmware boot: the device tree at the base of RAM
 *   0x4010000000 256 MiB         PCIe ECAM, buses 0..255    (INTA..D: SPIs 3..6)
 *   0x8000000000 512 GiB         PCIe MMIO window (64-bit)
 *
 * Firmware boot (--firmware, QEMU's layout for EDK2's ArmVirtQemu): the vCPU starts at 0 in
 * the code flash with x0 = 0; the firmware finds the device tree at 0x40000000. Virtio
 * devices are then on PCI (virtio-pci, slot i + 1 for device i) unless the configuration
 * asks for virtio-mmio.
 *
 * PSCI 1.1 through HVC (no EL2/EL3: the board answers the calls), secondary vCPUs start
 * powered off until CPU_ON. The generic timer's virtual and physical EL1 timers are PPIs 11
 * and 14 (INTIDs 27 and 30).
 */
#ifndef VESSEL_ARM64_VIRT_H
#define VESSEL_ARM64_VIRT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "boards/board-loader.h"
#include "core/machine.h"
#include "devices/arm-gicv2.h"
#include "devices/arm-gicv3.h"
#include "devices/fw-cfg.h"
#include "devices/pcie-host.h"
#include "devices/pflash-cfi01.h"
#include "devices/pl011.h"
#include "devices/pl031.h"
#include "devices/pl061.h"

#define A64_VIRT_MIB              (1024ull * 1024)
#define A64_VIRT_GIC_DIST         0x08000000ull
#define A64_VIRT_GIC_REDIST       0x080a0000ull
#define A64_VIRT_GIC_CPU          0x08010000ull /* GICv2 CPU interface */
#define A64_VIRT_UART_BASE        0x09000000ull
#define A64_VIRT_RTC_BASE         0x09010000ull
#define A64_VIRT_GPIO_BASE        0x09030000ull
#define A64_VIRT_VIRTIO_BASE      0x0a000000ull
#define A64_VIRT_VIRTIO_SIZE      0x200ull
#define A64_VIRT_VIRTIO_COUNT     32
#define A64_VIRT_RAM_BASE         0x40000000ull
#define A64_VIRT_FLASH_BASE       0x00000000ull
#define A64_VIRT_FLASH_SIZE       0x04000000ull /* each of the two banks */
#define A64_VIRT_FW_CFG_BASE      0x09020000ull
#define A64_VIRT_PCIE_MMIO        0x10000000ull
#define A64_VIRT_PCIE_MMIO_SIZE   0x2eff0000ull
#define A64_VIRT_PCIE_PIO         0x3eff0000ull
#define A64_VIRT_PCIE_PIO_SIZE    0x10000ull
#define A64_VIRT_PCIE_ECAM        0x4010000000ull
#define A64_VIRT_PCIE_ECAM_SIZE   0x10000000ull
#define A64_VIRT_PCIE_MMIO64      0x8000000000ull
#define A64_VIRT_PCIE_MMIO64_SIZE 0x8000000000ull
#define A64_VIRT_HIGH_BASE        0x4000000000ull /* RAM must end below the high devices */
#define A64_VIRT_PCIE_SPI         3               /* INTA..INTD: SPIs 3..6 */

#define A64_VIRT_UART_SPI         1
#define A64_VIRT_RTC_SPI          2
#define A64_VIRT_GPIO_SPI         7
#define A64_VIRT_VIRTIO_SPI       16 /* slot i: SPI 16 + i */
#define A64_VIRT_MIN_RAM          (16 * A64_VIRT_MIB)
#define A64_VIRT_MAX_CPUS         GICV3_MAX_CPUS

/* PSCI (Arm DEN 0022) function ids and return codes used here. */
#define PSCI_VERSION           0x84000000u
#define PSCI_CPU_SUSPEND_32    0x84000001u
#define PSCI_CPU_OFF           0x84000002u
#define PSCI_CPU_ON_32         0x84000003u
#define PSCI_AFFINITY_INFO_32  0x84000004u
#define PSCI_MIGRATE_INFO      0x84000006u
#define PSCI_SYSTEM_OFF        0x84000008u
#define PSCI_SYSTEM_RESET      0x84000009u
#define PSCI_FEATURES          0x8400000au
#define PSCI_CPU_SUSPEND_64    0xc4000001u
#define PSCI_CPU_ON_64         0xc4000003u
#define PSCI_AFFINITY_INFO_64  0xc4000004u
#define PSCI_RET_SUCCESS       0
#define PSCI_RET_NOT_SUPPORTED (-1)
#define PSCI_RET_INVALID       (-2)
#define PSCI_RET_ALREADY_ON    (-4)

/* The arm64 Linux `Image` header (Documentation/arm64/booting.rst). */
#define A64_IMAGE_HEADER_SIZE 64
typedef struct A64ImageHeader {
    uint64_t text_offset; /* from a 2 MiB aligned base */
    uint64_t image_size;  /* memory it occupies, bss included (0: old kernel, unknown) */
    uint64_t flags;       /* bit 0: big-endian; bits 1-2: page size; bit 3: placement */
} A64ImageHeader;

/*
 * Check an arm64 Image: true with *hdr filled when data is one. When data has the magic but
 * is truncated (shorter than its header, or than the PE/COFF sections an EFI-stub kernel
 * lists), false with *why set to a sentence saying so; *why is NULL when data is simply not
 * an arm64 Image.
 */
bool a64_virt_parse_image(const uint8_t *data, size_t size, A64ImageHeader *hdr, const char **why);

/*
 * Check a firmware flash image for --firmware: NULL when it can be used, else a sentence
 * saying why not (empty, larger than the 64 MiB code flash, an ELF file or a Linux kernel
 * rather than a flash image, an x86 OVMF image, or an EDK2 image whose firmware volumes run
 * past the end of the file, i.e. truncated).
 */
const char *a64_virt_check_firmware(const uint8_t *data, size_t size);

typedef struct A64VirtBoard {
    VsMachine *m;
    Gicv3 *gic;  /* gic-version 3 (the default) */
    Gicv2 *gic2; /* or gic-version 2 */
    Pl011 uart;
    Pl031 rtc;
    Pl061 gpio;
    bool uart_ok, rtc_ok, gpio_ok;
    uint32_t virtio_slots;
    struct A64VirtIrqLine {
        struct A64VirtBoard *b;
        unsigned spi;
    } virtio_irq[A64_VIRT_VIRTIO_COUNT];

    bool firmware_boot, use_pci;
    PflashCfi01 vars;
    uint8_t *vars_storage;
    int vars_fd;
    bool vars_ok;
    FwCfg fw_cfg;
    bool fw_cfg_ok;
    PciHost pci;
    bool pci_ok;

    uint64_t entry, fdt_addr, fdt_size;
    bool is_linux;
    LoadedImage kernel;
    uint64_t initrd_start, initrd_end;
    bool has_initrd;

    LoaderBlobs blobs; /* the boot images, written again on a guest reset */
} A64VirtBoard;

/* What the device tree describes. */
typedef struct A64VirtFdtParams {
    unsigned ncpus;
    uint64_t ram_base, ram_size;
    const char *cmdline;
    bool has_initrd;
    uint64_t initrd_start, initrd_end;
    uint32_t virtio_slots;
    bool rng_seed;
    unsigned gic_version; /* 2 or 3 (0: 3) */
    bool flash;           /* the two flash banks */
    bool fw_cfg;          /* fw_cfg */
    bool pcie;            /* the PCIe host bridge */
} A64VirtFdtParams;

VsStatus a64_virt_build_fdt(const A64VirtFdtParams *p, void **fdt, size_t *size, VsError *err);

#endif
