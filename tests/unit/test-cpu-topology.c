/* SPDX-License-Identifier: MIT */
/*
 * osal/cpu-topology.c against fake sysfs trees built in a temporary directory: an Arm
 * big.LITTLE phone, an Intel hybrid laptop, a uniform server, offline CPUs, missing and
 * garbage files; the CPU list parser; the pinning plans.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "fake-sysfs.h"
#include "osal/cpu-topology.h"
#include "tmpdir.h"

static void cpu_file(unsigned cpu, const char *file, const char *fmt, unsigned long v)
{
    char path[256];
    snprintf(path, sizeof(path), "devices/system/cpu/cpu%u/%s", cpu, file);
    put(path, fmt, v);
}

static bool list_is(const VsCpuSet *s, const char *want)
{
    char buf[256];
    vs_cpu_list_format(s, buf, sizeof(buf));
    if (strcmp(buf, want)) {
        fprintf(stderr, "  set is '%s', expected '%s'\n", buf, want);
        return false;
    }
    return true;
}

static bool contains(const char *text, const char *word)
{
    if (!strstr(text, word)) {
        fprintf(stderr, "  '%s' does not contain '%s'\n", text, word);
        return false;
    }
    return true;
}

static VsCpuSet set_of(const char *list)
{
    VsCpuSet s;
    char err[256];
    if (!vs_cpu_list_parse(list, &s, err, sizeof(err))) {
        fprintf(stderr, "bad list in test: %s\n", err);
        exit(1);
    }
    return s;
}

static void test_cpu_lists(void)
{
    VsCpuSet s;
    char err[256], buf[256];

    CHECK(vs_cpu_list_parse("0-3,8,10-11", &s, err, sizeof(err)));
    CHECK_EQ(vs_cpuset_count(&s), 7);
    CHECK(list_is(&s, "0-3,8,10-11"));
    CHECK_EQ(vs_cpuset_nth(&s, 4), 8);
    CHECK_EQ(vs_cpuset_nth(&s, 6), 11);
    CHECK_EQ(vs_cpuset_nth(&s, 7), -1);
    CHECK(vs_cpu_list_parse("5", &s, err, sizeof(err)) && list_is(&s, "5"));
    CHECK(vs_cpu_list_parse("0-15\n", &s, err, sizeof(err)) && list_is(&s, "0-15"));
    CHECK(vs_cpu_list_parse("7,3,1-2", &s, err, sizeof(err)) && list_is(&s, "1-3,7"));
    CHECK(vs_cpu_list_parse("1023", &s, err, sizeof(err)) && vs_cpuset_has(&s, 1023));
    CHECK(vs_cpu_list_parse("4-4", &s, err, sizeof(err)) && list_is(&s, "4"));

    static const struct {
        const char *text, *word;
    } bad[] = {
        { "", "empty" },
        { "\n", "empty" },
        { "3-1", "3-1" },
        { "1,1", "listed twice" },
        { "0-3,2", "CPU 2 is listed twice" },
        { "1024", "out of range" },
        { "2-1024", "1024 is out of range" },
        { "99999999999999999999999", "out of range" },
        { "abc", "expected a CPU number at 'abc'" },
        { "1,", "at the end" },
        { ",1", "expected a CPU number" },
        { "1-", "at the end" },
        { "1-2-3", "unexpected '-'" },
        { " 1", "expected a CPU number" },
        { "1 ", "unexpected ' '" },
        { "-1", "expected a CPU number" },
        { "1\n\n", "unexpected" },
        { "0x3", "unexpected 'x'" },
        { "1;2", "unexpected ';'" },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = 0;
        bool ok = vs_cpu_list_parse(bad[i].text, &s, err, sizeof(err));
        CHECK(!ok);
        CHECK(contains(err, bad[i].word));
    }
    CHECK(!vs_cpu_list_parse(NULL, &s, err, sizeof(err)));

    /* Formatting: whole items only when the buffer is short. */
    s = set_of("0-3,8,10-11");
    vs_cpu_list_format(&s, buf, 6);
    CHECK(!strcmp(buf, "0-3,8"));
    vs_cpu_list_format(&s, buf, 5);
    CHECK(!strcmp(buf, "0-3"));
    vs_cpu_list_format(&s, buf, 3);
    CHECK(!strcmp(buf, ""));
    vs_cpuset_clear(&s);
    vs_cpu_list_format(&s, buf, sizeof(buf));
    CHECK(!strcmp(buf, ""));
}

/* Snapdragon 888-like phone: 4x Cortex-A55 (446), 3x A78 (871), 1x X1 (1024). */
static void make_phone(const char *online)
{
    fake_sysfs_new_tree();
    put("devices/system/cpu/online", "%s\n", online);
    put("devices/system/cpu/possible", "0-7\n");
    for (unsigned c = 0; c < 8; c++) {
        cpu_file(c, "cpu_capacity", "%lu\n", c < 4 ? 446 : c < 7 ? 871 : 1024);
        cpu_file(c, "cpufreq/cpuinfo_max_freq", "%lu\n",
                 c < 4   ? 1804800
                 : c < 7 ? 2419200
                         : 2841600);
    }
}

static void test_phone(void)
{
    VsCpuTopology t;
    VsPinPlan *plan = malloc(sizeof(*plan));
    char err[512];
    VsCpuSet all = set_of("0-7");

    make_phone("0-7");
    CHECK(vs_cpu_topology_detect(g_root, &t, err, sizeof(err)));
    CHECK(list_is(&t.online, "0-7"));
    CHECK(list_is(&t.performance, "4-7"));
    CHECK(list_is(&t.efficiency, "0-3"));
    CHECK(t.hybrid);
    CHECK(!strcmp(t.source, "cpu_capacity"));

    CHECK(vs_pin_plan(&t, &all, VS_PIN_AUTO, NULL, 2, plan, err, sizeof(err)));
    CHECK(plan->pin_vcpus && plan->pin_helpers);
    CHECK(list_is(&plan->vcpu[0], "4"));
    CHECK(list_is(&plan->vcpu[1], "5"));
    CHECK(list_is(&plan->helpers, "0-3"));
    CHECK(!strcmp(plan->summary,
                  "vCPU 0 -> CPU 4, vCPU 1 -> CPU 5; I/O, timer and worker threads -> "
                  "CPUs 0-3 (performance cores 4-7, efficiency cores 0-3, from "
                  "cpu_capacity)"));

    /* More vCPUs than performance cores: each may use all of them. */
    CHECK(vs_pin_plan(&t, &all, VS_PIN_AUTO, NULL, 6, plan, err, sizeof(err)));
    for (unsigned i = 0; i < 6; i++)
        CHECK(list_is(&plan->vcpu[i], "4-7"));
    CHECK(list_is(&plan->helpers, "0-3"));
    CHECK(contains(plan->summary, "vCPU 5 -> CPUs 4-7;"));

    CHECK(vs_pin_plan(&t, &all, VS_PIN_PERFORMANCE, NULL, 1, plan, err, sizeof(err)));
    CHECK(list_is(&plan->vcpu[0], "4"));
    CHECK(plan->pin_helpers && list_is(&plan->helpers, "4-7"));

    /* The process may only use the little cores: one kind of core, helpers free. */
    VsCpuSet little = set_of("0-3");
    CHECK(vs_pin_plan(&t, &little, VS_PIN_AUTO, NULL, 2, plan, err, sizeof(err)));
    CHECK(list_is(&plan->vcpu[0], "0") && list_is(&plan->vcpu[1], "1"));
    CHECK(!plan->pin_helpers);
    CHECK(contains(plan->summary, "I/O, timer and worker threads not pinned (uniform cores 0-3"));

    /* An explicit list: vCPU i on the i-th CPU; helpers not pinned. */
    CHECK(vs_pin_plan(&t, &all, VS_PIN_LIST, "6,2", 2, plan, err, sizeof(err)));
    CHECK(list_is(&plan->vcpu[0], "6") && list_is(&plan->vcpu[1], "2"));
    CHECK(!plan->pin_helpers);
    CHECK(!strcmp(plan->summary,
                  "vCPU 0 -> CPU 6, vCPU 1 -> CPU 2; I/O, timer and worker threads not pinned"));
    CHECK(vs_pin_plan(&t, &all, VS_PIN_LIST, "7,1-3,0", 5, plan, err, sizeof(err)));
    CHECK(list_is(&plan->vcpu[0], "7") && list_is(&plan->vcpu[1], "1"));
    CHECK(list_is(&plan->vcpu[3], "3") && list_is(&plan->vcpu[4], "0"));
    CHECK(vs_pin_plan(&t, &all, VS_PIN_LIST, "7,1-3,0", 2, plan, err, sizeof(err)));
    CHECK(list_is(&plan->vcpu[0], "7") && list_is(&plan->vcpu[1], "1"));
    CHECK(vs_pin_plan(&t, &all, VS_PIN_LIST, "2-3", 3, plan, err, sizeof(err)));
    CHECK(list_is(&plan->vcpu[2], "2-3"));
    CHECK(!vs_pin_plan(&t, &all, VS_PIN_LIST, "8", 1, plan, err, sizeof(err)));
    CHECK(contains(err, "CPU 8: it is not online (online CPUs: 0-7)"));
    CHECK(!vs_pin_plan(&t, &little, VS_PIN_LIST, "1,5", 2, plan, err, sizeof(err)));
    CHECK(contains(err, "CPU 5: this process may not run on it (allowed CPUs: 0-3)"));
    CHECK(!vs_pin_plan(&t, &all, VS_PIN_LIST, "3-1", 1, plan, err, sizeof(err)));
    CHECK(contains(err, "3-1"));
    CHECK(!vs_pin_plan(&t, &all, VS_PIN_LIST, NULL, 1, plan, err, sizeof(err)));
    CHECK(contains(err, "empty CPU list"));
    CHECK(!vs_pin_plan(&t, &all, VS_PIN_AUTO, NULL, 0, plan, err, sizeof(err)));
    CHECK(!vs_pin_plan(&t, &all, VS_PIN_AUTO, NULL, 65, plan, err, sizeof(err)));
    VsCpuSet other = set_of("8-9");
    CHECK(!vs_pin_plan(&t, &other, VS_PIN_AUTO, NULL, 1, plan, err, sizeof(err)));
    CHECK(contains(err, "no CPU is both online (0-7) and allowed for this process (8-9)"));
    CHECK(vs_pin_plan(&t, &all, VS_PIN_NONE, NULL, 4, plan, err, sizeof(err)));
    CHECK(!plan->pin_vcpus && !plan->pin_helpers);
    CHECK(!strcmp(plan->summary, "no pinning"));

    /* Two big cores offline: the rest keep their types. */
    make_phone("0-5");
    put("devices/system/cpu/cpu6/cpu_capacity", "garbage\n"); /* offline: not read */
    CHECK(vs_cpu_topology_detect(g_root, &t, err, sizeof(err)));
    CHECK(list_is(&t.online, "0-5"));
    CHECK(list_is(&t.performance, "4-5"));
    CHECK(list_is(&t.efficiency, "0-3"));
    CHECK(!vs_pin_plan(&t, &all, VS_PIN_LIST, "6", 1, plan, err, sizeof(err)));
    CHECK(contains(err, "CPU 6: it is not online (online CPUs: 0-5)"));
    CHECK(vs_pin_plan(&t, &all, VS_PIN_AUTO, NULL, 3, plan, err, sizeof(err)));
    CHECK(list_is(&plan->vcpu[0], "4-5") && list_is(&plan->helpers, "0-3"));

    /* Only the little cluster online: a uniform machine now. */
    make_phone("0-3");
    CHECK(vs_cpu_topology_detect(g_root, &t, err, sizeof(err)));
    CHECK(list_is(&t.performance, "0-3") && !vs_cpuset_count(&t.efficiency) && !t.hybrid);

    /* A garbage capacity on an online CPU: cpu_capacity is skipped, cpufreq decides. */
    make_phone("0-7");
    put("devices/system/cpu/cpu2/cpu_capacity", "big\n");
    CHECK(vs_cpu_topology_detect(g_root, &t, err, sizeof(err)));
    CHECK(!strcmp(t.source, "cpufreq maximum frequencies"));
    CHECK(list_is(&t.performance, "4-7") && list_is(&t.efficiency, "0-3"));
    free(plan);
}

/* Intel Core i7-1260P-like laptop: P-cores (with SMT) 0-7, E-cores 8-15. */
static void test_intel_hybrid(void)
{
    VsCpuTopology t;
    char err[512];
    fake_sysfs_new_tree();
    put("devices/system/cpu/online", "0-15\n");
    put("devices/cpu_core/cpus", "0-7\n");
    put("devices/cpu_atom/cpus", "8-15\n");
    for (unsigned c = 0; c < 16; c++)
        cpu_file(c, "cpufreq/cpuinfo_max_freq", "%lu\n", c < 8 ? 4700000 : 3400000);
    CHECK(vs_cpu_topology_detect(g_root, &t, err, sizeof(err)));
    CHECK(list_is(&t.performance, "0-7"));
    CHECK(list_is(&t.efficiency, "8-15"));
    CHECK(t.hybrid);
    CHECK(contains(t.source, "cpu_core/cpu_atom"));

    VsPinPlan *plan = malloc(sizeof(*plan));
    VsCpuSet all = set_of("0-15");
    CHECK(vs_pin_plan(&t, &all, VS_PIN_AUTO, NULL, 4, plan, err, sizeof(err)));
    CHECK(list_is(&plan->vcpu[3], "3") && list_is(&plan->helpers, "8-15"));

    /* Garbage in a PMU list: skipped; cpufreq still tells the kinds apart. */
    put("devices/cpu_atom/cpus", "8-x\n");
    CHECK(vs_cpu_topology_detect(g_root, &t, err, sizeof(err)));
    CHECK(!strcmp(t.source, "cpufreq maximum frequencies"));
    CHECK(list_is(&t.performance, "0-7") && list_is(&t.efficiency, "8-15"));

    /* Only cpu_core (no atom PMU) and no cpufreq: uniform. */
    fake_sysfs_new_tree();
    put("devices/system/cpu/online", "0-3\n");
    put("devices/cpu_core/cpus", "0-3\n");
    CHECK(vs_cpu_topology_detect(g_root, &t, err, sizeof(err)));
    CHECK(list_is(&t.performance, "0-3") && !t.hybrid);
    CHECK(contains(t.source, "uniform"));

    /* Overlapping PMU lists are not believed. */
    fake_sysfs_new_tree();
    put("devices/system/cpu/online", "0-3\n");
    put("devices/cpu_core/cpus", "0-2\n");
    put("devices/cpu_atom/cpus", "2-3\n");
    CHECK(vs_cpu_topology_detect(g_root, &t, err, sizeof(err)));
    CHECK(!t.hybrid && list_is(&t.performance, "0-3"));

    /* A P-core offline: the E-cores stay efficiency cores. */
    fake_sysfs_new_tree();
    put("devices/system/cpu/online", "0,2-15\n");
    put("devices/cpu_core/cpus", "0-7\n");
    put("devices/cpu_atom/cpus", "8-15\n");
    CHECK(vs_cpu_topology_detect(g_root, &t, err, sizeof(err)));
    CHECK(list_is(&t.performance, "0,2-7") && list_is(&t.efficiency, "8-15"));
    free(plan);
}

/* A 32-CPU server: equal capacities, turbo frequencies within a few percent. */
static void test_uniform_server(void)
{
    VsCpuTopology t;
    char err[512];
    fake_sysfs_new_tree();
    put("devices/system/cpu/online", "0-31\n");
    for (unsigned c = 0; c < 32; c++)
        cpu_file(c, "cpufreq/cpuinfo_max_freq", "%lu\n", c % 4 ? 3500000 : 3700000);
    CHECK(vs_cpu_topology_detect(g_root, &t, err, sizeof(err)));
    CHECK(list_is(&t.performance, "0-31") && !vs_cpuset_count(&t.efficiency) && !t.hybrid);
    CHECK(!strcmp(t.source, "cpufreq maximum frequencies"));

    VsPinPlan *plan = malloc(sizeof(*plan));
    VsCpuSet all = set_of("0-31");
    CHECK(vs_pin_plan(&t, &all, VS_PIN_AUTO, NULL, 3, plan, err, sizeof(err)));
    CHECK(list_is(&plan->vcpu[0], "0") && list_is(&plan->vcpu[2], "2"));
    CHECK(!plan->pin_helpers);
    CHECK(!strcmp(plan->summary, "vCPU 0 -> CPU 0, vCPU 1 -> CPU 1, vCPU 2 -> CPU 2; I/O, "
                                 "timer and worker threads not pinned (uniform cores 0-31, "
                                 "from cpufreq maximum frequencies)"));
    CHECK(vs_pin_plan(&t, &all, VS_PIN_PERFORMANCE, NULL, 1, plan, err, sizeof(err)));
    CHECK(plan->pin_helpers && list_is(&plan->helpers, "0-31"));

    /* Equal cpu_capacity on every CPU: uniform, from cpu_capacity. */
    fake_sysfs_new_tree();
    put("devices/system/cpu/online", "0-63\n");
    for (unsigned c = 0; c < 64; c++)
        cpu_file(c, "cpu_capacity", "%lu\n", 1024);
    CHECK(vs_cpu_topology_detect(g_root, &t, err, sizeof(err)));
    CHECK(list_is(&t.performance, "0-63") && !t.hybrid && !strcmp(t.source, "cpu_capacity"));
    all = set_of("0-63");
    CHECK(vs_pin_plan(&t, &all, VS_PIN_AUTO, NULL, 64, plan, err, sizeof(err)));
    CHECK(list_is(&plan->vcpu[63], "63"));
    free(plan);
}

static void test_missing_and_garbage(void)
{
    VsCpuTopology t;
    char err[512];

    fake_sysfs_new_tree(); /* nothing at all */
    CHECK(!vs_cpu_topology_detect(g_root, &t, err, sizeof(err)));
    CHECK(contains(err, "devices/system/cpu/online"));

    fake_sysfs_new_tree();
    put("devices/system/cpu/online", "0-x\n");
    CHECK(!vs_cpu_topology_detect(g_root, &t, err, sizeof(err)));
    CHECK(contains(err, "online"));
    CHECK(contains(err, "expected a CPU number"));

    fake_sysfs_new_tree();
    put("devices/system/cpu/online", "\n");
    CHECK(!vs_cpu_topology_detect(g_root, &t, err, sizeof(err)));
    CHECK(contains(err, "empty CPU list"));

    /* Capacity files missing on some CPUs, no cpufreq: uniform. */
    fake_sysfs_new_tree();
    put("devices/system/cpu/online", "0-3\n");
    cpu_file(0, "cpu_capacity", "%lu\n", 300);
    cpu_file(1, "cpu_capacity", "%lu\n", 1024);
    CHECK(vs_cpu_topology_detect(g_root, &t, err, sizeof(err)));
    CHECK(list_is(&t.performance, "0-3") && !t.hybrid && contains(t.source, "uniform"));

    /* Zero, negative, overlong and empty values are garbage. */
    static const char *junk[] = {
        "0\n", "-5\n", "12a\n", "", "99999999999999999999999\n", " 512\n"
    };
    for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
        fake_sysfs_new_tree();
        put("devices/system/cpu/online", "0-1\n");
        cpu_file(0, "cpu_capacity", "%lu\n", 1024);
        put("devices/system/cpu/cpu1/cpu_capacity", "%s", junk[i]);
        CHECK(vs_cpu_topology_detect(g_root, &t, err, sizeof(err)));
        CHECK(list_is(&t.performance, "0-1") && !t.hybrid);
    }

    /* A huge online list file is read only as far as the buffer goes, never overrun. */
    fake_sysfs_new_tree();
    char *big = malloc(20000);
    memset(big, '1', 19999);
    big[19999] = 0;
    put("devices/system/cpu/online", "%s", big);
    free(big);
    CHECK(!vs_cpu_topology_detect(g_root, &t, err, sizeof(err)));
    CHECK(contains(err, "out of range"));
}

static void cleanup(void)
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g_tmp);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", g_tmp);
}

int main(void)
{
    if (!test_mkdtemp(g_tmp, sizeof(g_tmp), "vessel-cputopo")) {
        perror("mkdtemp");
        return 1;
    }
    test_cpu_lists();
    test_phone();
    test_intel_hybrid();
    test_uniform_server();
    test_missing_and_garbage();
    cleanup();
    printf("cpu-topology: %d passed, %d failed\n", g_pass, g_fail);
    return g_fail ? 1 : 0;
}
