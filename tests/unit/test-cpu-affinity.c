/* SPDX-License-Identifier: MIT */
/*
 * The pinning plans on this machine's real topology: threads started with each policy's
 * CPUs (as the engine starts vCPU threads) and threads re-pinned afterwards (as the engine
 * pins its I/O and timer threads), their affinity read back with pthread_getaffinity_np
 * and the CPU they run on checked with sched_getcpu. Needs two usable CPUs.
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "osal/cpu-topology.h"

typedef struct {
    VsCpuSet want, seen;
    int get_rc;
    bool ran_inside;
} Probe;

/* Spin a little so the scheduler has run us on a CPU of our mask, then look. */
static void *probe_main(void *arg)
{
    Probe *p = arg;
    p->ran_inside = true;
    for (int i = 0; i < 50; i++) {
        sched_yield();
        int cpu = sched_getcpu();
        if (cpu < 0 || !vs_cpuset_has(&p->want, (unsigned)cpu))
            p->ran_inside = false;
    }
    p->get_rc = vs_thread_get_affinity(pthread_self(), &p->seen);
    return NULL;
}

/* Start a thread pinned through its attributes, as vs_machine_start does. */
static void check_started_pinned(const VsCpuSet *set)
{
    Probe p = { .want = *set };
    pthread_attr_t attr;
    pthread_t t;
    pthread_attr_init(&attr);
    CHECK_EQ(vs_thread_attr_set_affinity(&attr, set), 0);
    CHECK_EQ(pthread_create(&t, &attr, probe_main, &p), 0);
    pthread_attr_destroy(&attr);
    pthread_join(t, NULL);
    CHECK_EQ(p.get_rc, 0);
    CHECK(vs_cpuset_equal(&p.seen, set));
    CHECK(p.ran_inside);
}

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_cond = PTHREAD_COND_INITIALIZER;
static bool g_go;

static void *wait_main(void *arg)
{
    Probe *p = arg;
    pthread_mutex_lock(&g_lock);
    while (!g_go)
        pthread_cond_wait(&g_cond, &g_lock);
    pthread_mutex_unlock(&g_lock);
    return probe_main(p);
}

/* Pin a running thread from outside, as the engine pins the timer thread. */
static void check_repinned(const VsCpuSet *set)
{
    Probe p = { .want = *set };
    pthread_t t;
    g_go = false;
    CHECK_EQ(pthread_create(&t, NULL, wait_main, &p), 0);
    CHECK_EQ(vs_thread_set_affinity(t, set), 0);
    VsCpuSet back;
    CHECK_EQ(vs_thread_get_affinity(t, &back), 0);
    CHECK(vs_cpuset_equal(&back, set));
    pthread_mutex_lock(&g_lock);
    g_go = true;
    pthread_cond_broadcast(&g_cond);
    pthread_mutex_unlock(&g_lock);
    pthread_join(t, NULL);
    CHECK(vs_cpuset_equal(&p.seen, set));
    CHECK(p.ran_inside);
}

static void check_plan(const VsPinPlan *plan)
{
    for (unsigned i = 0; i < plan->nvcpus; i++)
        check_started_pinned(&plan->vcpu[i]);
    if (plan->pin_helpers)
        check_repinned(&plan->helpers);
}

int main(void)
{
    VsCpuTopology t;
    VsCpuSet allowed, usable;
    char err[512], list[256];
    if (!vs_cpu_topology_detect("/sys", &t, err, sizeof(err))) {
        fprintf(stderr, "cannot detect this machine's CPUs: %s\n", err);
        return 1;
    }
    CHECK(vs_cpu_allowed(&allowed));
    vs_cpuset_and(&usable, &t.online, &allowed);
    vs_cpu_list_format(&usable, list, sizeof(list));
    printf("usable CPUs %s; core types from %s; %s\n", list, t.source,
           t.hybrid ? "hybrid" : "uniform");
    if (vs_cpuset_count(&usable) < 2) {
        printf("SKIP: only one usable CPU (%s): no two different affinities to tell apart\n", list);
        return 77;
    }
    unsigned n = vs_cpuset_count(&usable);
    VsPinPlan *plan = malloc(sizeof(*plan));

    /* AUTO and PERFORMANCE with as many vCPUs as usable CPUs, and with more. */
    static const VsPinPolicy policies[] = { VS_PIN_AUTO, VS_PIN_PERFORMANCE };
    for (size_t k = 0; k < 2; k++) {
        for (unsigned nv = 1; nv <= n + 1 && nv <= VS_PIN_MAX_VCPUS; nv++) {
            CHECK(vs_pin_plan(&t, &allowed, policies[k], NULL, nv, plan, err, sizeof(err)));
            printf("%s, %u vCPUs: %s\n", policies[k] == VS_PIN_AUTO ? "auto" : "performance", nv,
                   plan->summary);
            check_plan(plan);
        }
    }

    /* Each single usable CPU as an explicit list, then the first two in reverse order
     * (vCPU 0 on the second). */
    int a = vs_cpuset_nth(&usable, 0), b = vs_cpuset_nth(&usable, 1);
    char text[32];
    snprintf(text, sizeof(text), "%d", a);
    CHECK(vs_pin_plan(&t, &allowed, VS_PIN_LIST, text, 1, plan, err, sizeof(err)));
    check_plan(plan);
    snprintf(text, sizeof(text), "%d", b);
    CHECK(vs_pin_plan(&t, &allowed, VS_PIN_LIST, text, 1, plan, err, sizeof(err)));
    check_plan(plan);
    snprintf(text, sizeof(text), "%d,%d", b, a);
    CHECK(vs_pin_plan(&t, &allowed, VS_PIN_LIST, text, 2, plan, err, sizeof(err)));
    CHECK(vs_cpuset_has(&plan->vcpu[0], (unsigned)b) && vs_cpuset_has(&plan->vcpu[1], (unsigned)a));
    check_plan(plan);

    /* Re-pinning a thread to a different single CPU, then back to all: read back each time. */
    VsCpuSet one;
    vs_cpuset_clear(&one);
    vs_cpuset_add(&one, (unsigned)b);
    check_repinned(&one);
    check_repinned(&usable);

    /* A CPU that is not online is refused by the kernel, as vs_pin_plan refuses it first. */
    unsigned off = VS_CPU_MAX - 1;
    if (!vs_cpuset_has(&t.online, off)) {
        VsCpuSet bad;
        vs_cpuset_clear(&bad);
        vs_cpuset_add(&bad, off);
        CHECK_EQ(vs_thread_set_affinity(pthread_self(), &bad), EINVAL);
        snprintf(text, sizeof(text), "%u", off);
        CHECK(!vs_pin_plan(&t, &allowed, VS_PIN_LIST, text, 1, plan, err, sizeof(err)));
        CHECK(strstr(err, "not online") != NULL);
    }
    free(plan);
    printf("cpu-affinity: %d passed, %d failed\n", g_pass, g_fail);
    return g_fail ? 1 : 0;
}
