/* SPDX-License-Identifier: MIT */
/* CPUID filtering for KVM vCPUs (see kvm-cpuid.h). */
#include "accel/kvm-cpuid.h"

/* Bits needed to number n items (the x2APIC ID shift of a topology level). */
static uint32_t id_bits(unsigned n)
{
    uint32_t b = 0;
    while ((1u << b) < n)
        b++;
    return b;
}

unsigned kvm_cpuid_filter(KvmCpuidEntry *e, unsigned n, unsigned index, unsigned ncpus)
{
    if (ncpus == 0)
        ncpus = 1;
    for (unsigned i = 0; i < n; i++) {
        KvmCpuidEntry *c = &e[i];
        switch (c->function) {
        case 1:
            c->ebx = (c->ebx & 0x0000ffffu) | ((index & 0xffu) << 24) |
                     ((ncpus > 255 ? 255u : ncpus) << 16);
            c->ecx |= CPUID_1_ECX_HYPERVISOR;
            if (ncpus > 1)
                c->edx |= CPUID_1_EDX_HTT;
            else
                c->edx &= ~CPUID_1_EDX_HTT;
            break;
        case 4:
            if ((c->eax & 0x1f) != 0) /* a cache described here (type 0 ends the list) */
                c->eax = (c->eax & 0x3fffu) | ((ncpus > 64 ? 63u : ncpus - 1) << 26);
            break;
        case 6:
        case 0xa: c->eax = c->ebx = c->ecx = c->edx = 0; break;
        case 0xb:
        case 0x1f:
            c->edx = index;
            if (c->index == 0) { /* SMT: one thread per core */
                c->eax = 0;
                c->ebx = 1;
                c->ecx = (1u << 8) | 0;
            } else if (c->index == 1) { /* cores in the package */
                c->eax = id_bits(ncpus);
                c->ebx = ncpus;
                c->ecx = (2u << 8) | 1;
            } else {
                c->eax = c->ebx = 0;
                c->ecx = c->index & 0xff;
            }
            break;
        default: break;
        }
    }
    return n;
}
