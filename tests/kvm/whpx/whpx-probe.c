/* SPDX-License-Identifier: MIT */
/*
 * Windows only (built by tests/kvm/whpx/meson.build, never run by the project so far): the
 * WHPX backend end to end on a tiny real-mode guest. Prints whether the Windows Hypervisor
 * Platform is available; if it is, maps one page of RAM holding "mov al, 'V'; out 0x80, al;
 * hlt" at 0x1000, runs the boot processor from there and checks the port exit and the HLT.
 * Exit 0 when both were seen, 77 without WHPX, 1 otherwise.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <windows.h>

#include "accel/accel.h"

int main(void)
{
    const AccelOps *ops = &accel_whpx_ops;
    char why[256];
    if (!ops->available(why, sizeof(why))) {
        printf("SKIP: WHPX unavailable: %s\n", why);
        return 77;
    }
    printf("WHPX: %s\n", why);
    static const uint8_t code[] = { 0xb0, 'V', 0xe6, 0x80, 0xf4 };
    uint8_t *ram = VirtualAlloc(NULL, 0x10000, MEM_COMMIT | MEM_RESERVE, PAGE_READWRITE);
    if (!ram)
        return 1;
    memcpy(ram + 0x1000, code, sizeof(code));
    MemRegion mr = { .name = "ram", .kind = MR_RAM, .base = 0, .size = 0x10000, .host = ram };
    MemRegion *regions[1] = { &mr };
    PhysMem pm = { .regions = regions, .count = 1, .cap = 1 };
    AccelVmConfig cfg = { .ncpus = 1, .irqchip = false };
    AccelVm *vm;
    AccelVcpu *cpu;
    VsError err = { 0 };
    if (ops->vm_create(&cfg, &vm, &err) != VS_OK || ops->sync_memory(vm, &pm, &err) != VS_OK ||
        ops->vcpu_create(vm, 0, &cpu, &err) != VS_OK || ops->vcpu_boot_setup(cpu, &err) != VS_OK) {
        printf("FAIL: %s\n", err.message);
        return 1;
    }
    AccelX86Sregs s;
    AccelX86Regs r;
    if (ops->get_sregs(cpu, &s, &err) != VS_OK || ops->get_regs(cpu, &r, &err) != VS_OK) {
        printf("FAIL: %s\n", err.message);
        return 1;
    }
    s.cs.base = 0;
    s.cs.selector = 0;
    r.rip = 0x1000;
    if (ops->set_sregs(cpu, &s, &err) != VS_OK || ops->set_regs(cpu, &r, &err) != VS_OK) {
        printf("FAIL: %s\n", err.message);
        return 1;
    }
    AccelExit ex;
    bool port = false, halt = false;
    for (int i = 0; i < 10 && !halt; i++) {
        if (ops->vcpu_run(cpu, &ex, &err) != VS_OK) {
            printf("FAIL: %s\n", err.message);
            return 1;
        }
        if (ex.kind == ACCEL_EXIT_IO && ex.io.write && ex.io.port == 0x80 && ex.io.data[0] == 'V')
            port = true;
        else if (ex.kind == ACCEL_EXIT_HALT)
            halt = true;
        else
            printf("exit %d: %s\n", ex.kind, ex.message);
    }
    printf("%s: port exit %s, HLT %s\n", port && halt ? "ok" : "FAIL", port ? "seen" : "missing",
           halt ? "seen" : "missing");
    ops->vcpu_destroy(cpu);
    ops->vm_destroy(vm);
    return port && halt ? 0 : 1;
}
