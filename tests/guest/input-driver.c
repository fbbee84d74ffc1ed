/* SPDX-License-Identifier: MIT */
/*
 * Boots the test guest through the public API with a display and, once the guest prints
 * "ready-for-input", sends one event of every kind through vs_machine_input_*() and a
 * power-button press, then waits for the guest to power off. The guest's output goes to
 * stdout; test-input.py checks what the guest read from /dev/input/event*.
 *
 * Usage: input-driver ASSET_DIR INITRD [riscv64|arm64]
 * (riscv64: ASSET_DIR has Image and fw_jump.bin; arm64: Image, booted directly.)
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vessel/engine.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char seen[64];
static bool ready;

static void serial_out(void *opaque, const uint8_t *buf, size_t len)
{
    (void)opaque;
    fwrite(buf, 1, len, stdout);
    fflush(stdout);
    /* Look for the marker across chunk boundaries. */
    static const char marker[] = "ready-for-input";
    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < len; i++) {
        size_t n = strlen(seen);
        if (n == sizeof(seen) - 1) {
            memmove(seen, seen + 1, n);
            n--;
        }
        seen[n] = (char)buf[i];
        seen[n + 1] = 0;
        if (strstr(seen, marker))
            ready = true;
    }
    pthread_mutex_unlock(&lock);
}

int main(int argc, char **argv)
{
    VsArch arch = argc == 4 ? vs_arch_from_name(argv[3]) : VS_ARCH_RISCV64;
    if (argc < 3 || argc > 4 || (arch != VS_ARCH_RISCV64 && arch != VS_ARCH_ARM64)) {
        fprintf(stderr, "usage: input-driver ASSET_DIR INITRD [riscv64|arm64]\n");
        return 1;
    }
    char kernel[4096], firmware[4096];
    snprintf(kernel, sizeof(kernel), "%s/Image", argv[1]);
    snprintf(firmware, sizeof(firmware), "%s/fw_jump.bin", argv[1]);
    VsConfig cfg;
    vs_config_init(&cfg);
    cfg.arch = arch;
    cfg.kernel = kernel;
    cfg.initrd = argv[2];
    cfg.ram_size = 256ull << 20;
    cfg.display = true;
    /* The tier from the environment, as the other guest tests take it (default: auto). */
    const char *accel = getenv("VESSEL_TEST_ACCEL");
    if (accel && *accel && (cfg.accel = vs_accel_from_name(accel)) < 0) {
        fprintf(stderr, "input-driver: unknown VESSEL_TEST_ACCEL '%s'\n", accel);
        return 1;
    }
    if (arch == VS_ARCH_ARM64) {
        cfg.cmdline = "console=ttyAMA0 quiet panic=-1 vessel.run=\"sh /t/test.sh\"";
    } else {
        cfg.firmware = firmware;
        cfg.cmdline = "console=ttyS0 quiet panic=-1 vessel.run=\"sh /t/test.sh\"";
    }
    VsMachineListener l = { .serial_output = serial_out };
    VsMachine *m;
    VsError err;
    if (vs_machine_create(&cfg, &l, &m, &err) != VS_OK || vs_machine_start(m, &err) != VS_OK) {
        fprintf(stderr, "input-driver: %s\n", err.message);
        return 1;
    }
    bool go = false;
    for (int t = 0; t < 2400 && !go; t++) { /* up to 120 s (sanitizer builds are slow) */
        usleep(50000);
        pthread_mutex_lock(&lock);
        go = ready;
        pthread_mutex_unlock(&lock);
    }
    if (go) {
        vs_machine_input_key(m, 30, true); /* KEY_A */
        vs_machine_input_key(m, 30, false);
        vs_machine_input_move_abs(m, 0.5, 1.0);
        vs_machine_input_button(m, VS_BUTTON_LEFT, true, true);
        vs_machine_input_move_rel(m, 3, -2);
        vs_machine_input_wheel(m, 1, 0, false);
        if (vs_machine_powerdown(m, &err) != VS_OK)
            printf("input-driver: powerdown failed: %s\n", err.message);
        else
            printf("input-driver: powerdown sent\n");
    } else {
        printf("input-driver: the guest never printed ready-for-input\n");
        vs_machine_force_stop(m);
    }
    VsStopReason r = vs_machine_wait(m);
    vs_machine_destroy(m);
    return r == VS_STOP_POWEROFF ? 0 : 2;
}
