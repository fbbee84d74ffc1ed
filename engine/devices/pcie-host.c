/* SPDX-License-Identifier: MIT */
/* ECAM PCIe host bridge, root bus only (pcie-host.h). */
#include "devices/pcie-host.h"

#include <string.h>

#define QEMU_VENDOR       0x1b36
#define QEMU_PCIE_HOST    0x0008
#define CLASS_HOST_BRIDGE 0x060000

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

void pci_function_init(PciFunction *f, uint16_t vendor, uint16_t device, uint32_t class_code,
                       uint8_t revision, uint16_t subsys_vendor, uint16_t subsys_id, uint8_t pin)
{
    memset(f, 0, sizeof(*f));
    put16(f->config + PCI_VENDOR_ID, vendor);
    put16(f->config + PCI_DEVICE_ID, device);
    f->config[PCI_REVISION_ID] = revision;
    f->config[PCI_CLASS_PROG] = (uint8_t)class_code;
    f->config[PCI_CLASS_PROG + 1] = (uint8_t)(class_code >> 8);
    f->config[PCI_CLASS_PROG + 2] = (uint8_t)(class_code >> 16);
    put16(f->config + PCI_SUBSYSTEM_VENDOR, subsys_vendor);
    put16(f->config + PCI_SUBSYSTEM_ID, subsys_id);
    f->config[PCI_INTERRUPT_PIN] = pin;
    uint16_t cmd = PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | PCI_COMMAND_PARITY |
                   PCI_COMMAND_SERR | PCI_COMMAND_INTX_DISABLE;
    put16(f->wmask + PCI_COMMAND, cmd);
    /* Detected parity error, signalled system error, received master/target abort,
     * signalled target abort, master data parity error. */
    put16(f->w1cmask + PCI_STATUS, 0xf900);
    f->wmask[0x0c] = 0xff; /* cache line size */
    f->wmask[0x0d] = 0xff; /* latency timer */
    f->wmask[PCI_INTERRUPT_LINE] = 0xff;
}

bool pci_function_set_bar(PciFunction *f, unsigned index, uint64_t size, uint8_t flags,
                          const MmioOps *ops, void *opaque)
{
    bool is64 = flags & PCI_BAR_MEM_64;
    if (index >= PCI_NUM_BARS || (is64 && index + 1 >= PCI_NUM_BARS) || size < 16 ||
        (size & (size - 1)) || (!is64 && size > (1ull << 31)))
        return false;
    f->bars[index] = (PciBar){ .size = size, .flags = flags, .ops = ops, .opaque = opaque };
    uint64_t mask = ~(size - 1);
    unsigned reg = PCI_BAR0 + 4 * index;
    for (unsigned i = 0; i < 4; i++) {
        f->config[reg + i] = i == 0 ? flags : 0;
        f->wmask[reg + i] = (uint8_t)((mask & ~0xfull) >> (8 * i));
    }
    if (is64)
        for (unsigned i = 0; i < 4; i++) {
            f->config[reg + 4 + i] = 0;
            f->wmask[reg + 4 + i] = (uint8_t)(mask >> (32 + 8 * i));
        }
    return true;
}

static uint16_t command(const PciFunction *f)
{
    return (uint16_t)(f->config[PCI_COMMAND] | f->config[PCI_COMMAND + 1] << 8);
}

uint64_t pci_function_bar_addr(const PciFunction *f, unsigned index)
{
    const PciBar *b = &f->bars[index];
    if (!b->size || !(command(f) & PCI_COMMAND_MEMORY))
        return 0;
    unsigned reg = PCI_BAR0 + 4 * index;
    uint64_t a = get32(f->config + reg) & ~0xfull;
    if (b->flags & PCI_BAR_MEM_64)
        a |= (uint64_t)get32(f->config + reg + 4) << 32;
    return a;
}

/* Under irq_lock: the host line of f's pin follows its output. */
static void update_line(PciHost *h, PciFunction *f, bool was, bool now)
{
    if (was == now)
        return;
    unsigned pin = f->config[PCI_INTERRUPT_PIN];
    if (pin < 1 || pin > 4)
        return;
    unsigned line = (pin - 1 + f->slot) % 4;
    if (now) {
        if (h->line_count[line]++ == 0 && h->set_irq)
            h->set_irq(h->irq_opaque, line, 1);
    } else if (h->line_count[line] && --h->line_count[line] == 0 && h->set_irq) {
        h->set_irq(h->irq_opaque, line, 0);
    }
}

static bool output(bool level, uint16_t cmd)
{
    return level && !(cmd & PCI_COMMAND_INTX_DISABLE);
}

void pci_set_irq(PciFunction *f, bool level)
{
    PciHost *h = f->host;
    if (!h) {
        f->intx_level = level;
        return;
    }
    pthread_mutex_lock(&h->irq_lock);
    uint16_t cmd = command(f);
    bool was = output(f->intx_level, cmd);
    f->intx_level = level;
    update_line(h, f, was, output(level, cmd));
    pthread_mutex_unlock(&h->irq_lock);
}

bool pci_host_init(PciHost *h, unsigned buses, uint64_t mmio32_base, uint64_t mmio32_size,
                   uint64_t mmio64_base, uint64_t mmio64_size,
                   void (*set_irq)(void *opaque, unsigned line, int level), void *irq_opaque)
{
    memset(h, 0, sizeof(*h));
    if (buses < 1 || buses > 256)
        return false;
    if (pthread_mutex_init(&h->lock, NULL))
        return false;
    if (pthread_mutex_init(&h->irq_lock, NULL)) {
        pthread_mutex_destroy(&h->lock);
        return false;
    }
    h->buses = buses;
    h->mmio32_base = mmio32_base;
    h->mmio32_size = mmio32_size;
    h->mmio64_base = mmio64_base;
    h->mmio64_size = mmio64_size;
    h->set_irq = set_irq;
    h->irq_opaque = irq_opaque;
    pci_function_init(&h->bridge, QEMU_VENDOR, QEMU_PCIE_HOST, CLASS_HOST_BRIDGE, 0, QEMU_VENDOR,
                      0x1100, 0);
    h->bridge.host = h;
    h->slots[0] = &h->bridge;
    return true;
}

void pci_host_destroy(PciHost *h)
{
    pthread_mutex_destroy(&h->irq_lock);
    pthread_mutex_destroy(&h->lock);
}

bool pci_host_attach(PciHost *h, PciFunction *f, unsigned slot)
{
    if (slot == 0 || slot >= PCI_SLOTS || h->slots[slot])
        return false;
    f->host = h;
    f->slot = slot;
    h->slots[slot] = f;
    /* A level raised before the function was attached. */
    if (f->intx_level) {
        pthread_mutex_lock(&h->irq_lock);
        update_line(h, f, false, output(true, command(f)));
        pthread_mutex_unlock(&h->irq_lock);
    }
    return true;
}

void pci_host_reset(PciHost *h)
{
    pthread_mutex_lock(&h->lock);
    for (unsigned s = 0; s < PCI_SLOTS; s++) {
        PciFunction *f = h->slots[s];
        if (!f)
            continue;
        pthread_mutex_lock(&h->irq_lock);
        uint16_t old = command(f);
        f->config[PCI_COMMAND] = 0;
        f->config[PCI_COMMAND + 1] = 0;
        update_line(h, f, output(f->intx_level, old), output(f->intx_level, 0));
        pthread_mutex_unlock(&h->irq_lock);
        f->config[PCI_STATUS + 1] = 0;
        f->config[PCI_INTERRUPT_LINE] = 0;
        f->config[0x0c] = 0;
        f->config[0x0d] = 0;
        for (unsigned i = 0; i < PCI_NUM_BARS; i++) {
            if (!f->bars[i].size)
                continue;
            unsigned reg = PCI_BAR0 + 4 * i;
            memset(f->config + reg, 0, f->bars[i].flags & PCI_BAR_MEM_64 ? 8 : 4);
            f->config[reg] = f->bars[i].flags;
        }
    }
    pthread_mutex_unlock(&h->lock);
}

/* ---- configuration space ---- */

static PciFunction *function_at(PciHost *h, uint64_t offset)
{
    unsigned bus = (unsigned)(offset >> 20), dev = (offset >> 15) & 31, fn = (offset >> 12) & 7;
    if (bus != 0 || fn != 0)
        return NULL;
    return h->slots[dev];
}

static uint32_t config_read(PciHost *h, uint64_t offset, unsigned size)
{
    PciFunction *f = function_at(h, offset);
    if (!f)
        return size == 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
    unsigned reg = offset & 0xfff;
    if (reg >= PCI_CONFIG_SIZE)
        return 0;
    uint32_t v;
    if (f->config_read && f->config_read(f, reg, size, &v))
        return v;
    v = 0;
    for (unsigned i = 0; i < size; i++)
        v |= (uint32_t)f->config[reg + i] << (8 * i);
    if (reg <= PCI_STATUS && reg + size > PCI_STATUS) {
        /* Status bit 3: the INTx level, live. */
        pthread_mutex_lock(&h->irq_lock);
        bool level = f->intx_level;
        pthread_mutex_unlock(&h->irq_lock);
        if (level)
            v |= (uint32_t)PCI_STATUS_INTERRUPT << (8 * (PCI_STATUS - reg));
    }
    return v;
}

static void config_write(PciHost *h, uint64_t offset, uint32_t value, unsigned size)
{
    PciFunction *f = function_at(h, offset);
    unsigned reg = offset & 0xfff;
    if (!f || reg >= PCI_CONFIG_SIZE) {
        if (f)
            h->guest_errors++;
        return;
    }
    pthread_mutex_lock(&h->irq_lock);
    uint16_t old_cmd = command(f);
    for (unsigned i = 0; i < size; i++) {
        uint8_t b = (uint8_t)(value >> (8 * i));
        unsigned r = reg + i;
        f->config[r] = (uint8_t)((f->config[r] & ~f->wmask[r]) | (b & f->wmask[r]));
        f->config[r] &= (uint8_t) ~(b & f->w1cmask[r]);
    }
    uint16_t new_cmd = command(f);
    if ((old_cmd ^ new_cmd) & PCI_COMMAND_INTX_DISABLE)
        update_line(h, f, output(f->intx_level, old_cmd), output(f->intx_level, new_cmd));
    pthread_mutex_unlock(&h->irq_lock);
    if (f->config_write)
        f->config_write(f, reg, value, size);
}

static bool access_ok(uint64_t offset, unsigned size)
{
    return (size == 1 || size == 2 || size == 4) && !(offset & (size - 1));
}

uint64_t pci_host_ecam_read(PciHost *h, uint64_t offset, unsigned size)
{
    if (size == 8 && !(offset & 7))
        return pci_host_ecam_read(h, offset, 4) | pci_host_ecam_read(h, offset + 4, 4) << 32;
    if (!access_ok(offset, size) || (offset >> 20) >= h->buses) {
        pthread_mutex_lock(&h->lock);
        h->guest_errors++;
        pthread_mutex_unlock(&h->lock);
        return size >= 8 ? ~0ull : (1ull << (8 * size)) - 1;
    }
    pthread_mutex_lock(&h->lock);
    uint32_t v = config_read(h, offset, size);
    pthread_mutex_unlock(&h->lock);
    return v;
}

void pci_host_ecam_write(PciHost *h, uint64_t offset, uint64_t value, unsigned size)
{
    if (size == 8 && !(offset & 7)) {
        pci_host_ecam_write(h, offset, (uint32_t)value, 4);
        pci_host_ecam_write(h, offset + 4, value >> 32, 4);
        return;
    }
    pthread_mutex_lock(&h->lock);
    if (!access_ok(offset, size) || (offset >> 20) >= h->buses)
        h->guest_errors++;
    else
        config_write(h, offset, (uint32_t)value, size);
    pthread_mutex_unlock(&h->lock);
}

/* ---- memory windows ---- */

/* Under the lock: the BAR holding [addr, addr+size), if decoded. */
static const PciBar *bar_at(PciHost *h, uint64_t addr, unsigned size, uint64_t *off)
{
    for (unsigned s = 1; s < PCI_SLOTS; s++) {
        PciFunction *f = h->slots[s];
        if (!f || !(command(f) & PCI_COMMAND_MEMORY))
            continue;
        for (unsigned i = 0; i < PCI_NUM_BARS; i++) {
            const PciBar *b = &f->bars[i];
            if (!b->size)
                continue;
            uint64_t base = pci_function_bar_addr(f, i);
            if (base && addr >= base && addr - base < b->size && size <= b->size - (addr - base)) {
                *off = addr - base;
                return b;
            }
            if (b->flags & PCI_BAR_MEM_64)
                i++;
        }
    }
    return NULL;
}

uint64_t pci_host_mem_read(PciHost *h, uint64_t addr, unsigned size)
{
    pthread_mutex_lock(&h->lock);
    uint64_t off, v;
    const PciBar *b = bar_at(h, addr, size, &off);
    if (b && b->ops && b->ops->read)
        v = b->ops->read(b->opaque, off, size);
    else
        v = size >= 8 ? ~0ull : (1ull << (8 * size)) - 1; /* master abort */
    pthread_mutex_unlock(&h->lock);
    return v;
}

void pci_host_mem_write(PciHost *h, uint64_t addr, uint64_t value, unsigned size)
{
    pthread_mutex_lock(&h->lock);
    uint64_t off;
    const PciBar *b = bar_at(h, addr, size, &off);
    if (b && b->ops && b->ops->write)
        b->ops->write(b->opaque, off, value, size);
    pthread_mutex_unlock(&h->lock);
}

static uint64_t ecam_read(void *opaque, uint64_t offset, unsigned size)
{
    return pci_host_ecam_read(opaque, offset, size);
}

static void ecam_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    pci_host_ecam_write(opaque, offset, value, size);
}

static uint64_t mmio32_read(void *opaque, uint64_t offset, unsigned size)
{
    PciHost *h = opaque;
    return pci_host_mem_read(h, h->mmio32_base + offset, size);
}

static void mmio32_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    PciHost *h = opaque;
    pci_host_mem_write(h, h->mmio32_base + offset, value, size);
}

static uint64_t mmio64_read(void *opaque, uint64_t offset, unsigned size)
{
    PciHost *h = opaque;
    return pci_host_mem_read(h, h->mmio64_base + offset, size);
}

static void mmio64_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    PciHost *h = opaque;
    pci_host_mem_write(h, h->mmio64_base + offset, value, size);
}

static uint64_t pio_read(void *opaque, uint64_t offset, unsigned size)
{
    (void)opaque;
    (void)offset;
    return size >= 8 ? ~0ull : (1ull << (8 * size)) - 1;
}

static void pio_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    (void)opaque;
    (void)offset;
    (void)value;
    (void)size;
}

const MmioOps pci_host_ecam_ops = { .read = ecam_read, .write = ecam_write };
const MmioOps pci_host_mmio32_ops = { .read = mmio32_read, .write = mmio32_write };
const MmioOps pci_host_mmio64_ops = { .read = mmio64_read, .write = mmio64_write };
const MmioOps pci_host_pio_ops = { .read = pio_read, .write = pio_write };
