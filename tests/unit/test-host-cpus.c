/* SPDX-License-Identifier: MIT */
/*
 * vs_host_cpu_summary through the public API, on fake sysfs trees ($VESSEL_SYSFS_ROOT)
 * built over the CPUs this process may use: a big.LITTLE tree (cpu_capacity), an Intel
 * hybrid tree (PMU lists), a uniform tree (cpufreq), a tree without core-type data, an
 * online CPU this process may not use, and a tree without the online list.
 */
#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "check.h"
#include "fake-sysfs.h"
#include "tmpdir.h"
#include "vessel/engine.h"

/* A new tree, which the engine reads through $VESSEL_SYSFS_ROOT. */
static void new_tree(void)
{
    fake_sysfs_new_tree();
    setenv("VESSEL_SYSFS_ROOT", g_root, 1);
}

static bool summary_is(const char *want)
{
    char buf[512];
    VsError err = { 0 };
    VsStatus st = vs_host_cpu_summary(buf, sizeof(buf), &err);
    if (st != VS_OK || strcmp(buf, want)) {
        fprintf(stderr, "  summary '%s' (status %d: %s), expected '%s'\n", buf, (int)st,
                err.message, want);
        return false;
    }
    return true;
}

int main(void)
{
    if (!test_mkdtemp(g_tmp, sizeof(g_tmp), "vessel-host-cpus")) {
        perror("mkdtemp");
        return 1;
    }
    /* The first two CPUs this process may use: the trees are built over them. */
    cpu_set_t allowed;
    CHECK(sched_getaffinity(0, sizeof(allowed), &allowed) == 0);
    int a = -1, b = -1;
    for (int cpu = 0; cpu < CPU_SETSIZE && b < 0; cpu++)
        if (CPU_ISSET(cpu, &allowed))
            *(a < 0 ? &a : &b) = cpu;
    char want[512];

    /* One usable CPU: all of one kind, whatever the source. */
    new_tree();
    put("devices/system/cpu/online", "%d\n", a);
    snprintf(want, sizeof(want), "1 CPU (%d), all of one kind (no core-type data (uniform))", a);
    CHECK(summary_is(want));

    /* An online CPU this process may not use does not count. */
    int other = -1;
    for (int cpu = 0; cpu < 1024 && other < 0; cpu++)
        if (cpu >= CPU_SETSIZE || !CPU_ISSET(cpu, &allowed))
            other = cpu;
    new_tree();
    put("devices/system/cpu/online", "%d,%d\n", a < other ? a : other, a < other ? other : a);
    CHECK(summary_is(want));

    if (b >= 0) {
        /* big.LITTLE: a is the LITTLE core. */
        new_tree();
        put("devices/system/cpu/online", "%d,%d\n", a, b);
        put("devices/system/cpu/cpu0/cpu_capacity", "1\n"); /* not online: ignored */
        char path[128];
        snprintf(path, sizeof(path), "devices/system/cpu/cpu%d/cpu_capacity", a);
        put(path, "430\n");
        snprintf(path, sizeof(path), "devices/system/cpu/cpu%d/cpu_capacity", b);
        put(path, "1024\n");
        snprintf(want, sizeof(want),
                 "2 CPUs: performance cores %d, efficiency cores %d (from cpu_capacity)", b, a);
        CHECK(summary_is(want));

        /* Intel hybrid: a is the P-core, b the E-core. */
        new_tree();
        put("devices/system/cpu/online", "%d,%d\n", a, b);
        put("devices/cpu_core/cpus", "%d\n", a);
        put("devices/cpu_atom/cpus", "%d\n", b);
        snprintf(want, sizeof(want),
                 "2 CPUs: performance cores %d, efficiency cores %d (from hybrid PMU "
                 "cpu_core/cpu_atom lists)",
                 a, b);
        CHECK(summary_is(want));

        /* Uniform by cpufreq: equal maximum frequencies. */
        new_tree();
        put("devices/system/cpu/online", "%d,%d\n", a, b);
        snprintf(path, sizeof(path), "devices/system/cpu/cpu%d/cpufreq/cpuinfo_max_freq", a);
        put(path, "2400000\n");
        snprintf(path, sizeof(path), "devices/system/cpu/cpu%d/cpufreq/cpuinfo_max_freq", b);
        put(path, "2400000\n");
        snprintf(want, sizeof(want),
                 "2 CPUs (%d%c%d), all of one kind (from cpufreq maximum frequencies)", a,
                 b == a + 1 ? '-' : ',', b);
        CHECK(summary_is(want));
    } else {
        printf("only one usable CPU: the two-CPU trees are not built\n");
    }

    /* No online list: an error a person can act on, and an empty summary. */
    new_tree();
    put("devices/system/cpu/possible", "0\n");
    char buf[512] = "x";
    VsError err = { 0 };
    CHECK(vs_host_cpu_summary(buf, sizeof(buf), &err) == VS_ERR_IO);
    CHECK(err.status == VS_ERR_IO && strstr(err.message, "devices/system/cpu/online") != NULL);
    CHECK(buf[0] == 0);

    /* The real host: a summary that names its CPUs. */
    unsetenv("VESSEL_SYSFS_ROOT");
    CHECK(vs_host_cpu_summary(buf, sizeof(buf), &err) == VS_OK);
    CHECK(strstr(buf, "CPU") != NULL);
    printf("host: %s\n", buf);

    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g_tmp);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", g_tmp);
    printf("%d passed, %d failed\n", g_pass, g_fail);
    return g_fail ? 1 : 0;
}
