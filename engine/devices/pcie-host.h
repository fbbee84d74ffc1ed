/* SPDX-License-Identifier: MIT */
/*
 * A generic PCI Express host bridge with ECAM configuration space ("pci-host-ecam-generic",
 * Linux Documentation/devicetree/bindings/pci/host-generic-pci.yaml; QEMU's gpex), one root
 * bus with up to 32 single-function devices:
 *
 * - ECAM: offset = bus << 20 | device << 15 | function << 12 | register (PCIe 5.0, 7.2.2).
 *   Accesses of 1, 2 or 4 bytes, naturally aligned (an 8-byte access is two 4-byte ones).
 *   Functions that do not exist (other buses, empty slots, functions 1..7) read all ones
 *   and ignore writes. Registers 0x100..0xfff (extended space) read 0: no extended
 *   capabilities.
 * - Type 0 header (PCI 3.0, 6.1): vendor, device, class, revision, header type, subsystem,
 *   capabilities pointer and interrupt pin are read-only; command bits I/O, memory, bus
 *   master, parity, SERR and INTx disable are writable; status bits 15..11 and 8 are
 *   write-one-to-clear, bit 3 shows the function's INTx level, bit 4 a capability list;
 *   cache line size, latency timer and interrupt line are plain storage. No expansion ROM
 *   (the ROM BAR reads 0). Memory BARs are sized the standard way: the address bits below
 *   the BAR's size read 0, so writing all ones reads back ~(size - 1) | flags; a 64-bit BAR
 *   takes its high half from the next BAR register.
 * - Windows: memory accesses in the 32- and 64-bit MMIO windows reach the BAR of a function
 *   whose memory decode (command bit 1) is on and whose BAR holds the address (PCI address =
 *   CPU address); nothing there reads all ones, writes are dropped (master abort). No
 *   function has I/O BARs, so the I/O window decodes nothing.
 * - INTx: function in slot s asserting pin p (1 = INTA) drives host line (p - 1 + s) % 4
 *   (the swizzle the device tree's interrupt-map describes); a line is the OR of its
 *   functions. The command register's INTx disable masks the function's output (status bit
 *   3 still shows it).
 *
 * Locking: the host lock serialises configuration and window accesses (a function's BAR
 * callbacks run under it). Interrupt levels go through a separate lock, taken last, so a
 * device may raise its line from any thread while holding its own lock.
 */
#ifndef VESSEL_PCIE_HOST_H
#define VESSEL_PCIE_HOST_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "mmu/mmu.h"

#define PCI_SLOTS                32
#define PCI_CONFIG_SIZE          256
#define PCI_NUM_BARS             6

#define PCI_VENDOR_ID            0x00
#define PCI_DEVICE_ID            0x02
#define PCI_COMMAND              0x04
#define PCI_STATUS               0x06
#define PCI_REVISION_ID          0x08
#define PCI_CLASS_PROG           0x09
#define PCI_HEADER_TYPE          0x0e
#define PCI_BAR0                 0x10
#define PCI_SUBSYSTEM_VENDOR     0x2c
#define PCI_SUBSYSTEM_ID         0x2e
#define PCI_ROM_ADDRESS          0x30
#define PCI_CAPABILITY_LIST      0x34
#define PCI_INTERRUPT_LINE       0x3c
#define PCI_INTERRUPT_PIN        0x3d

#define PCI_COMMAND_IO           0x0001
#define PCI_COMMAND_MEMORY       0x0002
#define PCI_COMMAND_MASTER       0x0004
#define PCI_COMMAND_PARITY       0x0040
#define PCI_COMMAND_SERR         0x0100
#define PCI_COMMAND_INTX_DISABLE 0x0400
#define PCI_STATUS_INTERRUPT     0x0008
#define PCI_STATUS_CAP_LIST      0x0010

#define PCI_BAR_MEM_64           0x04
#define PCI_BAR_MEM_PREFETCH     0x08

typedef struct PciFunction PciFunction;
typedef struct PciHost PciHost;

typedef struct PciBar {
    uint64_t size;      /* a power of two >= 16; 0: unused */
    uint8_t flags;      /* PCI_BAR_MEM_64 | PCI_BAR_MEM_PREFETCH */
    const MmioOps *ops; /* offset inside the BAR */
    void *opaque;
} PciBar;

struct PciFunction {
    uint8_t config[PCI_CONFIG_SIZE];
    uint8_t wmask[PCI_CONFIG_SIZE];   /* bits the guest may write */
    uint8_t w1cmask[PCI_CONFIG_SIZE]; /* bits a 1 clears */
    PciBar bars[PCI_NUM_BARS];
    /* Device-specific registers (capabilities): a read the device answers itself (true),
     * and a hook after each write (config already updated). Both may be NULL. Called with
     * the host lock held. */
    bool (*config_read)(PciFunction *f, unsigned reg, unsigned size, uint32_t *val);
    void (*config_write)(PciFunction *f, unsigned reg, uint32_t val, unsigned size);
    void *opaque;

    PciHost *host;
    unsigned slot;
    bool intx_level; /* the function's pin, before INTx disable */
};

struct PciHost {
    pthread_mutex_t lock;
    pthread_mutex_t irq_lock;
    PciFunction *slots[PCI_SLOTS];
    PciFunction bridge; /* slot 0: the host bridge itself */
    uint64_t mmio32_base, mmio32_size, mmio64_base, mmio64_size;
    unsigned buses; /* ECAM covers buses 0..buses-1; only bus 0 has functions */
    unsigned line_count[4];
    void (*set_irq)(void *opaque, unsigned line, int level); /* line 0..3 (INTA..INTD) */
    void *irq_opaque;
    uint64_t guest_errors;
};

/*
 * Set up f as an endpoint: ids, class (24 bits: base << 16 | sub << 8 | prog-if), revision,
 * subsystem ids, interrupt pin (0: none, 1..4: INTA..INTD), standard writable masks.
 */
void pci_function_init(PciFunction *f, uint16_t vendor, uint16_t device, uint32_t class_code,
                       uint8_t revision, uint16_t subsys_vendor, uint16_t subsys_id, uint8_t pin);
/* A memory BAR: index 0..5 (a 64-bit BAR uses index+1 too), size a power of two >= 16. */
bool pci_function_set_bar(PciFunction *f, unsigned index, uint64_t size, uint8_t flags,
                          const MmioOps *ops, void *opaque);
/* Where BAR index is now (0 while unassigned or memory decode is off). Host lock held. */
uint64_t pci_function_bar_addr(const PciFunction *f, unsigned index);
/* The function drives its INTx pin. Any thread; takes only the interrupt lock. */
void pci_set_irq(PciFunction *f, bool level);

/* A host bridge with `buses` buses of ECAM (1..256) and the given memory windows. */
bool pci_host_init(PciHost *h, unsigned buses, uint64_t mmio32_base, uint64_t mmio32_size,
                   uint64_t mmio64_base, uint64_t mmio64_size,
                   void (*set_irq)(void *opaque, unsigned line, int level), void *irq_opaque);
void pci_host_destroy(PciHost *h);
/* Put f in slot (1..31); false when taken. */
bool pci_host_attach(PciHost *h, PciFunction *f, unsigned slot);
/* Machine reset: every function's command register, BARs and interrupt line to 0. */
void pci_host_reset(PciHost *h);

/* Accessors (host lock taken inside). */
uint64_t pci_host_ecam_read(PciHost *h, uint64_t offset, unsigned size);
void pci_host_ecam_write(PciHost *h, uint64_t offset, uint64_t value, unsigned size);
uint64_t pci_host_mem_read(PciHost *h, uint64_t addr, unsigned size);
void pci_host_mem_write(PciHost *h, uint64_t addr, uint64_t value, unsigned size);

/* opaque: the PciHost. The window ops take a PCI address = region base + offset, so each
 * window needs its own ops: */
extern const MmioOps pci_host_ecam_ops;
extern const MmioOps pci_host_mmio32_ops;
extern const MmioOps pci_host_mmio64_ops;
/* The I/O window: reads all ones, writes dropped (no I/O BARs). */
extern const MmioOps pci_host_pio_ops;

#endif
