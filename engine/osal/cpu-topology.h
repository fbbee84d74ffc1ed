/* SPDX-License-Identifier: MIT */
/*
 * Host CPU topology for the core-pinning policy (VsConfig.pin): which CPUs are online,
 * which are performance and which efficiency cores, CPU lists ("0-3,8,10-11"), and the
 * thread affinity calls. Detection reads sysfs under a root given by the caller, so unit
 * tests point it at fake trees (osal/cpu-topology.c).
 */
#ifndef VESSEL_CPU_TOPOLOGY_H
#define VESSEL_CPU_TOPOLOGY_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vessel/engine.h"

#define VS_CPU_MAX 1024 /* CPUs 0 .. VS_CPU_MAX - 1 (glibc's CPU_SETSIZE) */

typedef struct VsCpuSet {
    uint64_t bits[VS_CPU_MAX / 64];
} VsCpuSet;

static inline void vs_cpuset_clear(VsCpuSet *s)
{
    for (unsigned i = 0; i < VS_CPU_MAX / 64; i++)
        s->bits[i] = 0;
}
static inline void vs_cpuset_add(VsCpuSet *s, unsigned cpu)
{
    s->bits[cpu / 64] |= 1ull << (cpu % 64);
}
static inline bool vs_cpuset_has(const VsCpuSet *s, unsigned cpu)
{
    return cpu < VS_CPU_MAX && (s->bits[cpu / 64] >> (cpu % 64)) & 1;
}
unsigned vs_cpuset_count(const VsCpuSet *s);
/* The n-th CPU (from 0) of the set, or -1. */
int vs_cpuset_nth(const VsCpuSet *s, unsigned n);
/* dst = a & b */
void vs_cpuset_and(VsCpuSet *dst, const VsCpuSet *a, const VsCpuSet *b);
bool vs_cpuset_equal(const VsCpuSet *a, const VsCpuSet *b);

/*
 * Parse a CPU list: comma-separated items, each a CPU number or an ascending range
 * "first-last", decimal, no spaces (one trailing newline, as sysfs writes it, is allowed).
 * Fails on bad syntax, a CPU >= VS_CPU_MAX, a reversed range or a CPU given twice, with
 * a message in err.
 */
bool vs_cpu_list_parse(const char *text, VsCpuSet *out, char *err, size_t errlen);
/* Format a set as a CPU list ("0-3,8"; "" when empty). Truncates to fit len. */
void vs_cpu_list_format(const VsCpuSet *s, char *buf, size_t len);

typedef struct VsCpuTopology {
    VsCpuSet online;
    VsCpuSet performance; /* online CPUs that are performance cores (all on uniform hosts) */
    VsCpuSet efficiency;  /* online CPUs that are efficiency cores (none on uniform hosts) */
    bool hybrid;          /* both kinds are online */
    const char *source;   /* what the core types come from, for messages */
} VsCpuTopology;

/*
 * Detect the online CPUs and their core types from sysfs under `sysfs_root` ("/sys" on the
 * host; a fake tree in tests). The online list is required. Core types, first source
 * that applies: the hybrid PMU lists devices/cpu_core/cpus and devices/cpu_atom/cpus
 * (Intel P- and E-cores); devices/system/cpu/cpuN/cpu_capacity (Arm big.LITTLE, DynamIQ);
 * cpuN/cpufreq/cpuinfo_max_freq. For the last two every online CPU must have a valid
 * value; CPUs within 10% of the lowest value are efficiency cores, the rest performance
 * cores, and a spread of 10% or less means a uniform host. A source with a missing or
 * garbage file is skipped. With none: uniform (all performance).
 */
bool vs_cpu_topology_detect(const char *sysfs_root, VsCpuTopology *t, char *err, size_t errlen);

/* The calling thread's allowed CPUs (sched_getaffinity). */
bool vs_cpu_allowed(VsCpuSet *out);
/* Set / read a thread's affinity. Return 0 or an errno value. */
int vs_thread_set_affinity(pthread_t thread, const VsCpuSet *s);
int vs_thread_get_affinity(pthread_t thread, VsCpuSet *s);
/* Put a CPU set into a pthread attribute for a thread that starts pinned. */
int vs_thread_attr_set_affinity(pthread_attr_t *attr, const VsCpuSet *s);

/*
 * Where each thread goes under a pinning policy.
 *  VS_PIN_NONE: nothing pinned.
 *  VS_PIN_AUTO on a host with both core types (among the usable CPUs): vCPU i on the i-th
 *    performance core (each vCPU on all performance cores when there are more vCPUs than
 *    performance cores); the engine's helper threads (I/O, timer, device workers) on the
 *    efficiency cores. On a uniform host: vCPUs spread one per CPU the same way; helper
 *    threads not pinned.
 *  VS_PIN_PERFORMANCE: vCPUs as for AUTO; helper threads on the performance cores too.
 *  VS_PIN_LIST: vCPU i on the i-th CPU of the list as written ("6,2": vCPU 0 on CPU 6); each
 *    vCPU on the whole list when it has fewer CPUs than there are vCPUs; helper threads not
 *    pinned.
 * Usable CPUs are the online ones in `allowed`. A listed CPU that is not online or not
 * allowed is an error.
 */
#define VS_PIN_MAX_VCPUS 64
typedef struct VsPinPlan {
    VsPinPolicy policy;
    unsigned nvcpus;
    bool pin_vcpus, pin_helpers;
    VsCpuSet vcpu[VS_PIN_MAX_VCPUS];
    VsCpuSet helpers;
    char summary[2048]; /* "vCPU 0 -> CPU 2, vCPU 1 -> CPU 3; I/O, timer and worker ..." */
} VsPinPlan;

bool vs_pin_plan(const VsCpuTopology *t, const VsCpuSet *allowed, VsPinPolicy policy,
                 const char *cpu_list, unsigned nvcpus, VsPinPlan *plan, char *err, size_t errlen);

#endif
