/* SPDX-License-Identifier: MIT */
/* The host capability probe (vs_host_probe): CPU model and SIMD features, cores, KVM. */
#include <stdio.h>
#include <string.h>

#include "accel/accel-machine.h"
#include "vessel/engine.h"

#if defined(__x86_64__)
#include <cpuid.h>

typedef struct Feature {
    const char *name;
    unsigned leaf, sub;
    char reg; /* 'a', 'b', 'c', 'd' */
    unsigned bit;
    unsigned xcr0; /* XCR0 bits the OS must enable for it (0: none) */
} Feature;

#define XCR0_AVX    0x6u  /* SSE and AVX state */
#define XCR0_AVX512 0xe6u /* plus opmask, ZMM_Hi256, Hi16_ZMM */

/* clang-format off */
static const Feature features[] = {
    { "sse2", 1, 0, 'd', 26, 0 },           { "sse3", 1, 0, 'c', 0, 0 },
    { "ssse3", 1, 0, 'c', 9, 0 },           { "sse4.1", 1, 0, 'c', 19, 0 },
    { "sse4.2", 1, 0, 'c', 20, 0 },         { "popcnt", 1, 0, 'c', 23, 0 },
    { "aes", 1, 0, 'c', 25, 0 },            { "pclmulqdq", 1, 0, 'c', 1, 0 },
    { "avx", 1, 0, 'c', 28, XCR0_AVX },     { "f16c", 1, 0, 'c', 29, XCR0_AVX },
    { "fma", 1, 0, 'c', 12, XCR0_AVX },     { "avx2", 7, 0, 'b', 5, XCR0_AVX },
    { "bmi1", 7, 0, 'b', 3, 0 },            { "bmi2", 7, 0, 'b', 8, 0 },
    { "lzcnt", 0x80000001, 0, 'c', 5, 0 },  { "movbe", 1, 0, 'c', 22, 0 },
    { "adx", 7, 0, 'b', 19, 0 },            { "sha", 7, 0, 'b', 29, 0 },
    { "erms", 7, 0, 'b', 9, 0 },            { "avx-vnni", 7, 1, 'a', 4, XCR0_AVX },
    { "avx512f", 7, 0, 'b', 16, XCR0_AVX512 },
    { "avx512cd", 7, 0, 'b', 28, XCR0_AVX512 },
    { "avx512bw", 7, 0, 'b', 30, XCR0_AVX512 },
    { "avx512dq", 7, 0, 'b', 17, XCR0_AVX512 },
    { "avx512vl", 7, 0, 'b', 31, XCR0_AVX512 },
    { "avx512ifma", 7, 0, 'b', 21, XCR0_AVX512 },
    { "avx512vbmi", 7, 0, 'c', 1, XCR0_AVX512 },
    { "avx512vbmi2", 7, 0, 'c', 6, XCR0_AVX512 },
    { "avx512vnni", 7, 0, 'c', 11, XCR0_AVX512 },
    { "avx512bitalg", 7, 0, 'c', 12, XCR0_AVX512 },
    { "avx512vpopcntdq", 7, 0, 'c', 14, XCR0_AVX512 },
    { "avx512bf16", 7, 1, 'a', 5, XCR0_AVX512 },
    { "avx512fp16", 7, 0, 'd', 23, XCR0_AVX512 },
    { "gfni", 7, 0, 'c', 8, 0 },            { "vaes", 7, 0, 'c', 9, XCR0_AVX },
    { "vpclmulqdq", 7, 0, 'c', 10, XCR0_AVX },
};
/* clang-format on */

static void probe_x86(VsHostProbe *p)
{
    unsigned a, b, c, d;
    unsigned max = __get_cpuid_max(0, NULL), max_ext = __get_cpuid_max(0x80000000, NULL);
    __cpuid(0, a, b, c, d);
    memcpy(p->cpu_vendor, &b, 4);
    memcpy(p->cpu_vendor + 4, &d, 4);
    memcpy(p->cpu_vendor + 8, &c, 4);
    p->cpu_vendor[12] = 0;
    if (max_ext >= 0x80000004) {
        unsigned r[12];
        for (unsigned i = 0; i < 3; i++)
            __cpuid(0x80000002 + i, r[4 * i], r[4 * i + 1], r[4 * i + 2], r[4 * i + 3]);
        char brand[49];
        memcpy(brand, r, 48);
        brand[48] = 0;
        const char *s = brand;
        while (*s == ' ')
            s++;
        snprintf(p->cpu_model, sizeof(p->cpu_model), "%s", s);
    }
    uint64_t xcr0 = 0;
    __cpuid(1, a, b, c, d);
    if (c & (1u << 27)) { /* OSXSAVE: XGETBV is usable */
        uint32_t lo, hi;
        __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
        xcr0 = lo | (uint64_t)hi << 32;
    }
    size_t n = 0;
    for (size_t i = 0; i < sizeof(features) / sizeof(features[0]); i++) {
        const Feature *f = &features[i];
        unsigned top = f->leaf >= 0x80000000 ? max_ext : max;
        if (f->leaf > top)
            continue;
        __cpuid_count(f->leaf, f->sub, a, b, c, d);
        unsigned v = f->reg == 'a' ? a : f->reg == 'b' ? b : f->reg == 'c' ? c : d;
        if (!(v & (1u << f->bit)) || (xcr0 & f->xcr0) != f->xcr0)
            continue;
        int w = snprintf(p->simd + n, sizeof(p->simd) - n, "%s%s", n ? " " : "", f->name);
        if (w < 0 || (size_t)w >= sizeof(p->simd) - n)
            break;
        n += (size_t)w;
    }
}
#endif

void vs_host_probe(VsHostProbe *p)
{
    memset(p, 0, sizeof(*p));
#if defined(__x86_64__)
    snprintf(p->arch, sizeof(p->arch), "x86_64");
    probe_x86(p);
#elif defined(__aarch64__)
    snprintf(p->arch, sizeof(p->arch), "arm64");
#else
    snprintf(p->arch, sizeof(p->arch), "other");
#endif
    VsError err = { 0 };
    if (vs_host_cpu_summary(p->cores, sizeof(p->cores), &err) != VS_OK)
        snprintf(p->cores, sizeof(p->cores), "unknown: %.200s", err.message);
    p->kvm = accel_kvm_available(p->kvm_detail, sizeof(p->kvm_detail));
}
