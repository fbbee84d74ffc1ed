/* SPDX-License-Identifier: MIT */
/*
 * The public machine API, as a front end uses it (only vessel/engine.h): create, start,
 * serial output, pause/resume, reset, wait, force stop, state errors. The guest is a 44-byte
 * bare-metal riscv64 program loaded as raw firmware at 0x80000000:
 *
 *     lui t0, 0x100; lui t1, 0x5; addi t1, t1, 0x555    # test device, 0x5555
 *     lui t3, 0x10000; li t4, 'V'; sb t4, 0(t3)         # one byte to the UART
 *     lui t2, 0x4000                                    # 64 Mi iterations
 * 1:  addi t2, t2, -1; bnez t2, 1b
 *     sw t1, 0(t0)                                      # power off
 * 2:  j 2b
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vessel/engine.h"

static const unsigned char guest[] = {
    0xb7, 0x02, 0x10, 0x00, 0x37, 0x53, 0x00, 0x00, 0x13, 0x03, 0x53, 0x55, 0x37, 0x0e, 0x00,
    0x10, 0x93, 0x0e, 0x60, 0x05, 0x23, 0x00, 0xde, 0x01, 0xb7, 0x03, 0x00, 0x04, 0x93, 0x83,
    0xf3, 0xff, 0xe3, 0x9e, 0x03, 0xfe, 0x23, 0xa0, 0x62, 0x00, 0x6f, 0x00, 0x00, 0x00,
};

static int fails;
#define CHECK(cond, ...)                                \
    do {                                                \
        if (!(cond)) {                                  \
            fails++;                                    \
            printf("FAIL %s:%d: ", __FILE__, __LINE__); \
            printf(__VA_ARGS__);                        \
            printf("\n");                               \
        }                                               \
    } while (0)

typedef struct Seen {
    _Atomic int serial_bytes;
    _Atomic int last_byte;
    _Atomic int states[8]; /* count per VsMachineState */
} Seen;

static void on_serial(void *opaque, const uint8_t *buf, size_t len)
{
    Seen *s = opaque;
    atomic_fetch_add(&s->serial_bytes, (int)len);
    atomic_store(&s->last_byte, buf[len - 1]);
}

static void on_state(void *opaque, VsMachineState st)
{
    Seen *s = opaque;
    atomic_fetch_add(&s->states[st], 1);
}

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

static VsMachine *create(const char *fw, Seen *seen, unsigned smp)
{
    VsConfig cfg;
    vs_config_init(&cfg);
    cfg.accel = VS_ACCEL_INTERP;
    cfg.ram_size = 64ull << 20;
    cfg.smp = smp;
    cfg.firmware = fw;
    VsMachineListener l = { .opaque = seen, .serial_output = on_serial, .state_changed = on_state };
    VsMachine *m = NULL;
    VsError err = { 0 };
    VsStatus st = vs_machine_create(&cfg, &l, &m, &err);
    CHECK(st == VS_OK, "create: %s", err.message);
    return m;
}

int main(void)
{
    char fw[] = "/tmp/vessel-test-machine-XXXXXX";
    int fd = mkstemp(fw);
    if (fd < 0 || write(fd, guest, sizeof(guest)) != (ssize_t)sizeof(guest)) {
        perror("temporary firmware");
        return 1;
    }
    close(fd);
    VsError err;

    /* Run, pause, resume, power off. */
    Seen seen = { 0 };
    VsMachine *m = create(fw, &seen, 2);
    if (!m)
        return 1;
    CHECK(vs_machine_state(m) == VS_STATE_CREATED, "created");
    CHECK(vs_machine_resume(m, &err) == VS_ERR_STATE, "resume before start is an error");
    CHECK(vs_machine_start(m, &err) == VS_OK, "start: %s", err.message);
    CHECK(vs_machine_start(m, &err) == VS_ERR_STATE, "second start is an error");
    for (int i = 0; i < 5000 && !atomic_load(&seen.serial_bytes); i++)
        sleep_ms(1);
    /* Both harts run the program, so one or two bytes so far. */
    CHECK(atomic_load(&seen.serial_bytes) >= 1 && atomic_load(&seen.last_byte) == 'V',
          "the guest's byte reached the serial listener");
    CHECK(vs_machine_pause(m, &err) == VS_OK, "pause: %s", err.message);
    CHECK(vs_machine_state(m) == VS_STATE_PAUSED, "paused");
    CHECK(vs_machine_pause(m, &err) == VS_ERR_STATE, "pausing twice is an error");
    /* Unpaused, the loop finishes in about 0.3 s (optimised build); paused, it must not
     * reach the power-off write at all. */
    sleep_ms(1000);
    CHECK(vs_machine_state(m) == VS_STATE_PAUSED, "still paused");
    CHECK(vs_machine_stop_message(m)[0] == 0, "the guest ran while paused: %s",
          vs_machine_stop_message(m));
    CHECK(vs_machine_resume(m, &err) == VS_OK, "resume: %s", err.message);
    VsStopReason why = vs_machine_wait(m);
    CHECK(why == VS_STOP_POWEROFF, "powered off (reason %d: %s)", why, vs_machine_stop_message(m));
    CHECK(vs_machine_state(m) == VS_STATE_STOPPED, "stopped");
    CHECK(atomic_load(&seen.states[VS_STATE_RUNNING]) == 2 &&
              atomic_load(&seen.states[VS_STATE_PAUSED]) == 1 &&
              atomic_load(&seen.states[VS_STATE_STOPPED]) == 1,
          "state listener saw running, paused, running, stopped");
    vs_machine_destroy(m);

    /* Force stop a running guest. */
    Seen seen2 = { 0 };
    m = create(fw, &seen2, 1);
    CHECK(vs_machine_start(m, &err) == VS_OK, "start: %s", err.message);
    vs_machine_force_stop(m);
    CHECK(vs_machine_wait(m) == VS_STOP_FORCED, "forced stop");
    vs_machine_destroy(m);

    /* Host reset: the program starts over (another 'V'); five quick host resets in a row are
     * not a guest reset loop; the tier summary names the interpreter. */
    Seen seen3 = { 0 };
    m = create(fw, &seen3, 1);
    CHECK(vs_machine_reset(m, &err) == VS_ERR_STATE, "reset before start is an error");
    CHECK(strstr(vs_machine_accel_summary(m), "Interpreter") != NULL, "accel summary: %s",
          vs_machine_accel_summary(m));
    CHECK(vs_machine_start(m, &err) == VS_OK, "start: %s", err.message);
    for (int r = 1; r <= 6; r++) {
        for (int i = 0; i < 5000 && atomic_load(&seen3.serial_bytes) < r; i++)
            sleep_ms(1);
        CHECK(atomic_load(&seen3.serial_bytes) == r, "run %d wrote its byte (%d bytes)", r,
              atomic_load(&seen3.serial_bytes));
        if (r < 6)
            CHECK(vs_machine_reset(m, &err) == VS_OK, "reset %d: %s", r, err.message);
    }
    CHECK(vs_machine_state(m) == VS_STATE_RUNNING, "still running after host resets: %s",
          vs_machine_stop_message(m));
    vs_machine_force_stop(m);
    CHECK(vs_machine_wait(m) == VS_STOP_FORCED, "forced stop after resets");
    vs_machine_destroy(m);

    /* Destroying a machine that never started. */
    m = create(fw, &seen2, 1);
    CHECK(!strcmp(vs_machine_pin_summary(m), "no pinning"), "default: no pinning");
    vs_machine_destroy(m);

    /* Core pinning through the public API. */
    VsPinPolicy pin;
    CHECK(vs_pin_parse("auto", &pin, &err) == VS_OK && pin == VS_PIN_AUTO, "pin auto");
    CHECK(vs_pin_parse("performance", &pin, &err) == VS_OK && pin == VS_PIN_PERFORMANCE,
          "pin performance");
    CHECK(vs_pin_parse("none", &pin, &err) == VS_OK && pin == VS_PIN_NONE, "pin none");
    CHECK(vs_pin_parse("0-3,6", &pin, &err) == VS_OK && pin == VS_PIN_LIST, "pin list");
    CHECK(vs_pin_parse("3-1", &pin, &err) == VS_ERR_INVALID && strstr(err.message, "3-1"),
          "reversed range: %s", err.message);
    CHECK(vs_pin_parse("Auto", &pin, &err) == VS_ERR_INVALID, "names are exact");
    CHECK(vs_pin_parse("1\n", &pin, &err) == VS_ERR_INVALID, "no newline");
    CHECK(!strcmp(vs_pin_name(VS_PIN_PERFORMANCE), "performance"), "pin name");
    {
        VsConfig cfg;
        vs_config_init(&cfg);
        cfg.firmware = fw;
        cfg.ram_size = 64ull << 20;
        cfg.pin = VS_PIN_LIST;
        cfg.pin_cpus = "1023";
        VsMachine *pm = NULL;
        VsStatus st = vs_machine_create(&cfg, NULL, &pm, &err);
        CHECK(st == VS_ERR_INVALID && !pm && strstr(err.message, "CPU 1023"),
              "an offline CPU is refused at create: %s", err.message);
        cfg.pin = VS_PIN_AUTO;
        cfg.pin_cpus = NULL;
        st = vs_machine_create(&cfg, NULL, &pm, &err);
        CHECK(st == VS_OK, "create with --pin auto: %s", err.message);
        if (st == VS_OK) {
            CHECK(strstr(vs_machine_pin_summary(pm), "vCPU 0 -> CPU") != NULL, "summary: %s",
                  vs_machine_pin_summary(pm));
            CHECK(vs_machine_start(pm, &err) == VS_OK, "start pinned: %s", err.message);
            vs_machine_force_stop(pm);
            CHECK(vs_machine_wait(pm) == VS_STOP_FORCED, "forced stop");
            vs_machine_destroy(pm);
        }
    }

    unlink(fw);
    printf("%s: %d failure(s)\n", fails ? "FAIL" : "PASS", fails);
    return fails ? 1 : 0;
}
