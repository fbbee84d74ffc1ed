/* SPDX-License-Identifier: MIT */
/* Host CPU topology from sysfs, CPU lists, thread affinity and the pinning plan. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "osal/cpu-topology.h"

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || !errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

unsigned vs_cpuset_count(const VsCpuSet *s)
{
    unsigned n = 0;
    for (unsigned i = 0; i < VS_CPU_MAX / 64; i++)
        n += (unsigned)__builtin_popcountll(s->bits[i]);
    return n;
}

int vs_cpuset_nth(const VsCpuSet *s, unsigned n)
{
    for (unsigned cpu = 0; cpu < VS_CPU_MAX; cpu++)
        if (vs_cpuset_has(s, cpu) && n-- == 0)
            return (int)cpu;
    return -1;
}

void vs_cpuset_and(VsCpuSet *dst, const VsCpuSet *a, const VsCpuSet *b)
{
    for (unsigned i = 0; i < VS_CPU_MAX / 64; i++)
        dst->bits[i] = a->bits[i] & b->bits[i];
}

bool vs_cpuset_equal(const VsCpuSet *a, const VsCpuSet *b)
{
    return memcmp(a->bits, b->bits, sizeof(a->bits)) == 0;
}

/* A decimal CPU number at *p; advances *p. -1: no digits; -2: too large. */
static long parse_cpu_number(const char **p)
{
    const char *s = *p;
    long v = 0;
    if (*s < '0' || *s > '9')
        return -1;
    while (*s >= '0' && *s <= '9') {
        v = v * 10 + (*s - '0');
        if (v >= VS_CPU_MAX) {
            while (*s >= '0' && *s <= '9')
                s++;
            *p = s;
            return -2;
        }
        s++;
    }
    *p = s;
    return v;
}

/* "CPU 5000 is out of range", quoting at most 12 digits of the number from start to end. */
static void out_of_range(char *err, size_t errlen, const char *start, const char *end)
{
    int len = (int)(end - start);
    set_err(err, errlen, "CPU %.*s%s is out of range (0-%d)", len > 12 ? 12 : len, start,
            len > 12 ? "..." : "", VS_CPU_MAX - 1);
}

bool vs_cpu_list_parse(const char *text, VsCpuSet *out, char *err, size_t errlen)
{
    vs_cpuset_clear(out);
    if (!text || !*text || !strcmp(text, "\n")) {
        set_err(err, errlen, "empty CPU list");
        return false;
    }
    const char *p = text;
    for (;;) {
        const char *item = p;
        long first = parse_cpu_number(&p), last;
        if (first == -2) {
            out_of_range(err, errlen, item, p);
            return false;
        }
        if (first < 0) {
            set_err(err, errlen, "invalid CPU list '%s': expected a CPU number at %s%s%s", text,
                    *p ? "'" : "the end", p, *p ? "'" : "");
            return false;
        }
        last = first;
        if (*p == '-') {
            p++;
            const char *second = p;
            last = parse_cpu_number(&p);
            if (last == -2) {
                out_of_range(err, errlen, second, p);
                return false;
            }
            if (last < 0) {
                set_err(err, errlen, "invalid CPU list '%s': expected a CPU number at %s%s%s", text,
                        *p ? "'" : "the end", p, *p ? "'" : "");
                return false;
            }
            if (last < first) {
                set_err(err, errlen,
                        "invalid CPU range %ld-%ld: the first CPU is larger than "
                        "the last",
                        first, last);
                return false;
            }
        }
        for (long c = first; c <= last; c++) {
            if (vs_cpuset_has(out, (unsigned)c)) {
                set_err(err, errlen, "CPU %ld is listed twice in '%s'", c, text);
                return false;
            }
            vs_cpuset_add(out, (unsigned)c);
        }
        if (*p == ',') {
            p++;
            continue;
        }
        if (*p == 0 || (*p == '\n' && p[1] == 0))
            return true;
        set_err(err, errlen,
                "invalid CPU list '%s': unexpected '%c' (use numbers and ranges "
                "like 0-3,6)",
                text, *p);
        return false;
    }
}

void vs_cpu_list_format(const VsCpuSet *s, char *buf, size_t len)
{
    size_t pos = 0;
    if (!len)
        return;
    buf[0] = 0;
    for (unsigned cpu = 0; cpu < VS_CPU_MAX; cpu++) {
        if (!vs_cpuset_has(s, cpu))
            continue;
        unsigned last = cpu;
        while (last + 1 < VS_CPU_MAX && vs_cpuset_has(s, last + 1))
            last++;
        int n = last == cpu ? snprintf(buf + pos, len - pos, "%s%u", pos ? "," : "", cpu)
                            : snprintf(buf + pos, len - pos, "%s%u-%u", pos ? "," : "", cpu, last);
        if (n < 0 || (size_t)n >= len - pos) {
            buf[pos] = 0; /* no partial item */
            return;
        }
        pos += (size_t)n;
        cpu = last;
    }
}

/* Read a small sysfs file into buf (NUL-terminated). False when missing or unreadable. */
static bool read_file(const char *root, const char *path, char *buf, size_t len)
{
    char full[4096];
    if ((size_t)snprintf(full, sizeof(full), "%s/%s", root, path) >= sizeof(full))
        return false;
    int fd = open(full, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    size_t got = 0;
    while (got < len - 1) {
        ssize_t n = read(fd, buf + got, len - 1 - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    buf[got] = 0;
    return true;
}

/* A positive decimal number, optionally followed by a newline. */
static bool parse_u64(const char *s, uint64_t *out)
{
    uint64_t v = 0;
    if (*s < '0' || *s > '9')
        return false;
    for (; *s >= '0' && *s <= '9'; s++) {
        if (v > (UINT64_MAX - 9) / 10)
            return false;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    if (*s == '\n')
        s++;
    if (*s || v == 0)
        return false;
    *out = v;
    return true;
}

/* Hybrid PMUs: cpu_core (performance) and cpu_atom (efficiency). */
static bool detect_hybrid_pmu(const char *root, VsCpuTopology *t)
{
    char buf[4096];
    VsCpuSet core, atom, both;
    if (!read_file(root, "devices/cpu_core/cpus", buf, sizeof(buf)) ||
        !vs_cpu_list_parse(buf, &core, NULL, 0))
        return false;
    if (!read_file(root, "devices/cpu_atom/cpus", buf, sizeof(buf)) ||
        !vs_cpu_list_parse(buf, &atom, NULL, 0))
        return false;
    vs_cpuset_and(&both, &core, &atom);
    if (vs_cpuset_count(&both))
        return false; /* a CPU cannot be both */
    vs_cpuset_and(&t->efficiency, &atom, &t->online);
    /* Online CPUs the PMUs do not list count as performance cores. */
    vs_cpuset_clear(&t->performance);
    for (unsigned cpu = 0; cpu < VS_CPU_MAX; cpu++)
        if (vs_cpuset_has(&t->online, cpu) && !vs_cpuset_has(&t->efficiency, cpu))
            vs_cpuset_add(&t->performance, cpu);
    t->source = "hybrid PMU cpu_core/cpu_atom lists";
    return true;
}

/*
 * A per-CPU value (cpu_capacity, cpuinfo_max_freq) for every online CPU: those within
 * 10% of the lowest are efficiency cores. False when any value is missing or invalid.
 */
static bool detect_per_cpu(const char *root, const char *file, const char *source, VsCpuTopology *t)
{
    uint64_t value[VS_CPU_MAX];
    uint64_t lo = UINT64_MAX, hi = 0;
    char path[256], buf[64];
    for (unsigned cpu = 0; cpu < VS_CPU_MAX; cpu++) {
        if (!vs_cpuset_has(&t->online, cpu))
            continue;
        snprintf(path, sizeof(path), "devices/system/cpu/cpu%u/%s", cpu, file);
        uint64_t v;
        if (!read_file(root, path, buf, sizeof(buf)) || !parse_u64(buf, &v))
            return false;
        value[cpu] = v;
        lo = v < lo ? v : lo;
        hi = v > hi ? v : hi;
    }
    if (hi == 0)
        return false;
    vs_cpuset_clear(&t->performance);
    vs_cpuset_clear(&t->efficiency);
    bool uniform = hi * 10 <= lo * 11;
    for (unsigned cpu = 0; cpu < VS_CPU_MAX; cpu++) {
        if (!vs_cpuset_has(&t->online, cpu))
            continue;
        if (!uniform && value[cpu] * 10 <= lo * 11)
            vs_cpuset_add(&t->efficiency, cpu);
        else
            vs_cpuset_add(&t->performance, cpu);
    }
    t->source = source;
    return true;
}

bool vs_cpu_topology_detect(const char *sysfs_root, VsCpuTopology *t, char *err, size_t errlen)
{
    char buf[4096], msg[256];
    memset(t, 0, sizeof(*t));
    if (!read_file(sysfs_root, "devices/system/cpu/online", buf, sizeof(buf))) {
        set_err(err, errlen, "cannot read %s/devices/system/cpu/online: %s", sysfs_root,
                strerror(errno));
        return false;
    }
    if (!vs_cpu_list_parse(buf, &t->online, msg, sizeof(msg))) {
        set_err(err, errlen, "%s/devices/system/cpu/online: %s", sysfs_root, msg);
        return false;
    }
    if (!detect_hybrid_pmu(sysfs_root, t) &&
        !detect_per_cpu(sysfs_root, "cpu_capacity", "cpu_capacity", t) &&
        !detect_per_cpu(sysfs_root, "cpufreq/cpuinfo_max_freq", "cpufreq maximum frequencies", t)) {
        t->performance = t->online;
        vs_cpuset_clear(&t->efficiency);
        t->source = "no core-type data (uniform)";
    }
    t->hybrid = vs_cpuset_count(&t->performance) && vs_cpuset_count(&t->efficiency);
    return true;
}

static void cpuset_to_native(const VsCpuSet *s, cpu_set_t *c)
{
    CPU_ZERO(c);
    for (unsigned cpu = 0; cpu < VS_CPU_MAX && cpu < CPU_SETSIZE; cpu++)
        if (vs_cpuset_has(s, cpu))
            CPU_SET(cpu, c);
}

static void cpuset_from_native(const cpu_set_t *c, VsCpuSet *s)
{
    vs_cpuset_clear(s);
    for (unsigned cpu = 0; cpu < VS_CPU_MAX && cpu < CPU_SETSIZE; cpu++)
        if (CPU_ISSET(cpu, c))
            vs_cpuset_add(s, cpu);
}

bool vs_cpu_allowed(VsCpuSet *out)
{
    cpu_set_t c;
    if (sched_getaffinity(0, sizeof(c), &c) != 0)
        return false;
    cpuset_from_native(&c, out);
    return true;
}

int vs_thread_set_affinity(pthread_t thread, const VsCpuSet *s)
{
    cpu_set_t c;
    cpuset_to_native(s, &c);
    return pthread_setaffinity_np(thread, sizeof(c), &c);
}

int vs_thread_get_affinity(pthread_t thread, VsCpuSet *s)
{
    cpu_set_t c;
    int r = pthread_getaffinity_np(thread, sizeof(c), &c);
    if (r == 0)
        cpuset_from_native(&c, s);
    return r;
}

int vs_thread_attr_set_affinity(pthread_attr_t *attr, const VsCpuSet *s)
{
    cpu_set_t c;
    cpuset_to_native(s, &c);
    return pthread_attr_setaffinity_np(attr, sizeof(c), &c);
}

/* Append to the plan's summary (truncated when full). */
static void summary_add(VsPinPlan *plan, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void summary_add(VsPinPlan *plan, const char *fmt, ...)
{
    size_t pos = strlen(plan->summary);
    if (pos + 1 >= sizeof(plan->summary))
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(plan->summary + pos, sizeof(plan->summary) - pos, fmt, ap);
    va_end(ap);
}

static void summary_set(VsPinPlan *plan, const char *what, const VsCpuSet *s)
{
    char list[1024];
    vs_cpu_list_format(s, list, sizeof(list));
    summary_add(plan, "%s -> CPU%s %s", what, vs_cpuset_count(s) == 1 ? "" : "s", list);
}

/* vCPU i on the i-th CPU of `cpus`, or every vCPU on all of them when there are too few. */
static void spread_vcpus(VsPinPlan *plan, const VsCpuSet *cpus)
{
    unsigned n = vs_cpuset_count(cpus);
    plan->pin_vcpus = true;
    for (unsigned i = 0; i < plan->nvcpus; i++) {
        if (plan->nvcpus <= n) {
            vs_cpuset_clear(&plan->vcpu[i]);
            vs_cpuset_add(&plan->vcpu[i], (unsigned)vs_cpuset_nth(cpus, i));
        } else {
            plan->vcpu[i] = *cpus;
        }
    }
}

bool vs_pin_plan(const VsCpuTopology *t, const VsCpuSet *allowed, VsPinPolicy policy,
                 const char *cpu_list, unsigned nvcpus, VsPinPlan *plan, char *err, size_t errlen)
{
    char list[1024], list2[1024], msg[256];
    memset(plan, 0, sizeof(*plan));
    plan->policy = policy;
    if (nvcpus < 1 || nvcpus > VS_PIN_MAX_VCPUS) {
        set_err(err, errlen, "cannot pin %u vCPUs (1-%d)", nvcpus, VS_PIN_MAX_VCPUS);
        return false;
    }
    plan->nvcpus = nvcpus;
    if (policy == VS_PIN_NONE) {
        snprintf(plan->summary, sizeof(plan->summary), "no pinning");
        return true;
    }
    VsCpuSet usable, perf, eff;
    vs_cpuset_and(&usable, &t->online, allowed);
    if (!vs_cpuset_count(&usable)) {
        vs_cpu_list_format(&t->online, list, sizeof(list));
        vs_cpu_list_format(allowed, list2, sizeof(list2));
        set_err(err, errlen, "no CPU is both online (%s) and allowed for this process (%s)", list,
                list2);
        return false;
    }
    switch (policy) {
    case VS_PIN_LIST: {
        VsCpuSet want;
        if (!vs_cpu_list_parse(cpu_list, &want, msg, sizeof(msg))) {
            set_err(err, errlen, "pinning: %s", msg);
            return false;
        }
        for (unsigned cpu = 0; cpu < VS_CPU_MAX; cpu++) {
            if (!vs_cpuset_has(&want, cpu))
                continue;
            if (!vs_cpuset_has(&t->online, cpu)) {
                vs_cpu_list_format(&t->online, list, sizeof(list));
                set_err(err, errlen, "cannot pin to CPU %u: it is not online (online CPUs: %s)",
                        cpu, list);
                return false;
            }
            if (!vs_cpuset_has(allowed, cpu)) {
                vs_cpu_list_format(allowed, list, sizeof(list));
                set_err(err, errlen,
                        "cannot pin to CPU %u: this process may not run on it (allowed "
                        "CPUs: %s)",
                        cpu, list);
                return false;
            }
        }
        /* vCPU i on the i-th CPU in the order written ("6,2": vCPU 0 on CPU 6). */
        unsigned n = vs_cpuset_count(&want);
        if (nvcpus > n) {
            spread_vcpus(plan, &want);
            break;
        }
        plan->pin_vcpus = true;
        const char *p = cpu_list;
        for (unsigned i = 0; i < nvcpus;) {
            char *end;
            unsigned long first = strtoul(p, &end, 10), last = first;
            if (*end == '-')
                last = strtoul(end + 1, &end, 10);
            for (unsigned long c = first; c <= last && i < nvcpus; c++, i++) {
                vs_cpuset_clear(&plan->vcpu[i]);
                vs_cpuset_add(&plan->vcpu[i], (unsigned)c);
            }
            p = *end == ',' ? end + 1 : end; /* validated above: never runs off the end */
        }
        break;
    }
    case VS_PIN_AUTO:
    case VS_PIN_PERFORMANCE:
        vs_cpuset_and(&perf, &t->performance, &usable);
        vs_cpuset_and(&eff, &t->efficiency, &usable);
        if (!vs_cpuset_count(&perf) || !vs_cpuset_count(&eff)) {
            /* Uniform among the CPUs this process may use. */
            perf = usable;
            vs_cpuset_clear(&eff);
        }
        spread_vcpus(plan, &perf);
        if (vs_cpuset_count(&eff) && policy == VS_PIN_AUTO) {
            plan->pin_helpers = true;
            plan->helpers = eff;
        } else if (policy == VS_PIN_PERFORMANCE) {
            plan->pin_helpers = true;
            plan->helpers = perf;
        }
        break;
    default: set_err(err, errlen, "unknown pinning policy %d", (int)policy); return false;
    }
    for (unsigned i = 0; i < nvcpus; i++) {
        char what[32];
        snprintf(what, sizeof(what), "%svCPU %u", i ? ", " : "", i);
        summary_set(plan, what, &plan->vcpu[i]);
    }
    if (plan->pin_helpers)
        summary_set(plan, "; I/O, timer and worker threads", &plan->helpers);
    else
        summary_add(plan, "; I/O, timer and worker threads not pinned");
    if (policy != VS_PIN_LIST) {
        vs_cpuset_and(&perf, &t->performance, &usable);
        vs_cpuset_and(&eff, &t->efficiency, &usable);
        if (vs_cpuset_count(&perf) && vs_cpuset_count(&eff)) {
            vs_cpu_list_format(&perf, list, sizeof(list));
            vs_cpu_list_format(&eff, list2, sizeof(list2));
            summary_add(plan, " (performance cores %s, efficiency cores %s, from %s)", list, list2,
                        t->source);
        } else {
            vs_cpu_list_format(&usable, list, sizeof(list));
            summary_add(plan, " (uniform cores %s, from %s)", list, t->source);
        }
    }
    return true;
}
