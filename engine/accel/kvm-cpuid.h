/* SPDX-License-Identifier: MIT */
/*
 * CPUID for a KVM vCPU: KVM_GET_SUPPORTED_CPUID filtered to what the board describes.
 * A pure function over a plain table so it can be tested without /dev/kvm.
 */
#ifndef VESSEL_KVM_CPUID_H
#define VESSEL_KVM_CPUID_H

#include <stdint.h>

typedef struct KvmCpuidEntry {
    uint32_t function, index, flags;
    uint32_t eax, ebx, ecx, edx;
} KvmCpuidEntry;

#define CPUID_1_ECX_HYPERVISOR (1u << 31)
#define CPUID_1_EDX_HTT        (1u << 28)

/*
 * Rewrite entries[0..n) in place for vCPU `index` of `ncpus` and return the new count
 * (never larger than n):
 * - leaf 1: the initial APIC ID (EBX[31:24]) is the vCPU index, the logical processor count
 *   (EBX[23:16]) is ncpus, HTT set when ncpus > 1, the hypervisor bit set;
 * - leaves 0xB and 0x1F: x2APIC ID in EDX, one thread per core and ncpus cores in one
 *   package (level 0 SMT, level 1 core, then the terminating invalid level);
 * - leaf 4: cores per package (EAX[31:26]) ncpus - 1 (capped at 63), one thread per cache;
 * - leaves 6 (thermal and power management) and 0xA (performance monitoring) are emptied:
 *   the board has neither.
 */
unsigned kvm_cpuid_filter(KvmCpuidEntry *entries, unsigned n, unsigned index, unsigned ncpus);

#endif
