/* SPDX-License-Identifier: MIT */
/* Core pinning for a machine: the osal/cpu-topology.c plan applied to the engine's threads. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/iothread.h"
#include "core/machine.h"
#include "core/pin.h"
#include "osal/cpu-topology.h"

VsStatus vs_pin_parse(const char *text, VsPinPolicy *policy, VsError *err)
{
    static const struct {
        const char *name;
        VsPinPolicy policy;
    } names[] = { { "none", VS_PIN_NONE },
                  { "auto", VS_PIN_AUTO },
                  { "performance", VS_PIN_PERFORMANCE } };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (!strcmp(text, names[i].name)) {
            *policy = names[i].policy;
            return VS_OK;
        }
    }
    if (*text < '0' || *text > '9')
        return vs_error_set(err, VS_ERR_INVALID,
                            "invalid --pin '%s': use auto, performance, none or a CPU list "
                            "like 0-3,6",
                            text);
    VsCpuSet set;
    char msg[256];
    if (!vs_cpu_list_parse(text, &set, msg, sizeof(msg)) || strchr(text, '\n'))
        return vs_error_set(err, VS_ERR_INVALID, "invalid --pin '%s': %s", text,
                            strchr(text, '\n') ? "newline in the CPU list" : msg);
    *policy = VS_PIN_LIST;
    return VS_OK;
}

const char *vs_pin_name(VsPinPolicy policy)
{
    switch (policy) {
    case VS_PIN_NONE: return "none";
    case VS_PIN_AUTO: return "auto";
    case VS_PIN_PERFORMANCE: return "performance";
    case VS_PIN_LIST: return "list";
    default: return "unknown";
    }
}

VsStatus vs_machine_pin_prepare(VsMachine *m, const char *sysfs_root, VsError *err)
{
    const char *override = getenv("VESSEL_SYSFS_ROOT");
    if (override && *override)
        sysfs_root = override;
    VsPinPlan *plan = calloc(1, sizeof(*plan));
    if (!plan)
        return vs_error_set(err, VS_ERR_NOMEM, "out of memory");
    m->pin = plan;
    char msg[512];
    if (m->cfg.pin == VS_PIN_NONE) {
        VsCpuTopology none = { 0 };
        VsCpuSet all;
        vs_cpuset_clear(&all);
        vs_pin_plan(&none, &all, VS_PIN_NONE, NULL, m->cfg.smp, plan, NULL, 0);
        return VS_OK;
    }
    if (m->cfg.pin == VS_PIN_LIST && !m->cfg.pin_cpus)
        return vs_error_set(err, VS_ERR_INVALID, "pinning to a CPU list needs the list");
    VsCpuTopology *topo = malloc(sizeof(*topo));
    if (!topo)
        return vs_error_set(err, VS_ERR_NOMEM, "out of memory");
    VsCpuSet allowed;
    VsStatus st = VS_OK;
    if (!vs_cpu_topology_detect(sysfs_root, topo, msg, sizeof(msg)))
        st = vs_error_set(err, VS_ERR_IO, "cannot pin threads: %s", msg);
    else if (!vs_cpu_allowed(&allowed))
        st = vs_error_set(err, VS_ERR_IO, "cannot pin threads: sched_getaffinity failed");
    else if (!vs_pin_plan(topo, &allowed, m->cfg.pin, m->cfg.pin_cpus, m->cfg.smp, plan, msg,
                          sizeof(msg)))
        st = vs_error_set(err, VS_ERR_INVALID, "--pin %s: %s",
                          m->cfg.pin == VS_PIN_LIST ? m->cfg.pin_cpus : vs_pin_name(m->cfg.pin),
                          msg);
    free(topo);
    return st;
}

typedef struct {
    const VsCpuSet *set;
    int rc;
} SelfAffinity;

static void set_self_affinity(void *arg)
{
    SelfAffinity *a = arg;
    a->rc = vs_thread_set_affinity(pthread_self(), a->set);
}

VsStatus vs_machine_pin_helpers(VsMachine *m, VsError *err)
{
    if (!m->pin || !m->pin->pin_helpers)
        return VS_OK;
    int rc = vs_thread_set_affinity(m->timers.thread, &m->pin->helpers);
    if (rc)
        return vs_error_set(err, VS_ERR_IO, "cannot pin the timer thread: %s", strerror(rc));
    SelfAffinity a = { .set = &m->pin->helpers, .rc = 0 };
    vs_iothread_run_sync(m->io, set_self_affinity, &a);
    if (a.rc)
        return vs_error_set(err, VS_ERR_IO, "cannot pin the I/O thread: %s", strerror(a.rc));
    /* Device worker threads are created with these attributes (m->helper_attr). */
    pthread_attr_init(&m->helper_attr_storage);
    rc = vs_thread_attr_set_affinity(&m->helper_attr_storage, &m->pin->helpers);
    if (rc) {
        pthread_attr_destroy(&m->helper_attr_storage);
        return vs_error_set(err, VS_ERR_IO, "cannot pin the device worker threads: %s",
                            strerror(rc));
    }
    m->helper_attr = &m->helper_attr_storage;
    return VS_OK;
}

int vs_machine_pin_vcpu_attr(VsMachine *m, unsigned index, pthread_attr_t *attr)
{
    if (!m->pin || !m->pin->pin_vcpus || index >= m->pin->nvcpus)
        return 0;
    return vs_thread_attr_set_affinity(attr, &m->pin->vcpu[index]);
}

void vs_machine_pin_free(VsMachine *m)
{
    if (m->helper_attr) {
        pthread_attr_destroy(m->helper_attr);
        m->helper_attr = NULL;
    }
    free(m->pin);
    m->pin = NULL;
}

const char *vs_machine_pin_summary(const VsMachine *m)
{
    return m->pin ? m->pin->summary : "no pinning";
}

VsStatus vs_host_cpu_summary(char *buf, size_t len, VsError *err)
{
    const char *root = getenv("VESSEL_SYSFS_ROOT");
    if (!root || !*root)
        root = "/sys";
    if (len)
        buf[0] = 0;
    VsCpuTopology *topo = malloc(sizeof(*topo));
    if (!topo)
        return vs_error_set(err, VS_ERR_NOMEM, "out of memory");
    char msg[512], all[512], perf_list[512], eff_list[512];
    VsCpuSet allowed, usable, perf, eff;
    VsStatus st = VS_OK;
    if (!vs_cpu_topology_detect(root, topo, msg, sizeof(msg))) {
        st = vs_error_set(err, VS_ERR_IO, "cannot read the host's CPUs: %s", msg);
        goto out;
    }
    if (!vs_cpu_allowed(&allowed)) {
        st = vs_error_set(err, VS_ERR_IO, "cannot read the host's CPUs: sched_getaffinity failed");
        goto out;
    }
    vs_cpuset_and(&usable, &topo->online, &allowed);
    vs_cpuset_and(&perf, &topo->performance, &usable);
    vs_cpuset_and(&eff, &topo->efficiency, &usable);
    vs_cpu_list_format(&usable, all, sizeof(all));
    unsigned n = vs_cpuset_count(&usable);
    if (vs_cpuset_count(&perf) && vs_cpuset_count(&eff)) {
        vs_cpu_list_format(&perf, perf_list, sizeof(perf_list));
        vs_cpu_list_format(&eff, eff_list, sizeof(eff_list));
        snprintf(buf, len, "%u CPUs: performance cores %s, efficiency cores %s (from %s)", n,
                 perf_list, eff_list, topo->source);
    } else {
        /* The detected sources are named "from ..."; the fallback says "no core-type data". */
        bool detected = strncmp(topo->source, "no ", 3) != 0;
        snprintf(buf, len, "%u CPU%s (%s), all of one kind (%s%s)", n, n == 1 ? "" : "s", all,
                 detected ? "from " : "", topo->source);
    }
out:
    free(topo);
    return st;
}
