/* SPDX-License-Identifier: MIT */
/*
 * KVM machines through the engine API, as the app drives them:
 * - reset: the kvm-reset guest, told (a flag in its RAM) to wait at boot 4, is reset by the
 *   host with vs_machine_reset while its vCPUs are halted; boot 5 must find both vCPUs,
 *   the in-kernel devices, the UART and its image as at power-on, then power off;
 * - fb: vs_machine_fb_track / vs_machine_fb_dirty on the fb guest's framebuffer: after each
 *   drawing step every pixel written is in a reported rectangle, every reported pixel shares
 *   a page with a written byte, and a second read reports nothing; bad framebuffers and a
 *   read without tracking are refused.
 *
 * usage: test-kvm-machine RESET-GUEST FB-GUEST. Exit 77 when KVM cannot run a VM here.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "accel/accel-machine.h"
#include "core/machine.h"
#include "vessel/engine.h"

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

typedef struct Output {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    char buf[1 << 16];
    size_t len;
} Output;

static void serial_output(void *opaque, const uint8_t *b, size_t n)
{
    Output *o = opaque;
    pthread_mutex_lock(&o->lock);
    if (n > sizeof(o->buf) - 1 - o->len)
        n = sizeof(o->buf) - 1 - o->len;
    memcpy(o->buf + o->len, b, n);
    o->len += n;
    o->buf[o->len] = 0;
    pthread_cond_broadcast(&o->cond);
    pthread_mutex_unlock(&o->lock);
    fwrite(b, 1, n, stdout);
}

/* Wait until the guest printed text (a failure after 30 s: never a timing condition). */
static bool wait_for(Output *o, const char *text)
{
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += 30;
    pthread_mutex_lock(&o->lock);
    bool found;
    while (!(found = strstr(o->buf, text) != NULL))
        if (pthread_cond_timedwait(&o->cond, &o->lock, &dl) != 0)
            break;
    pthread_mutex_unlock(&o->lock);
    if (!found)
        printf("FAIL: the guest never printed '%s'\n", text);
    return found;
}

static VsMachine *create(const char *kernel, unsigned smp, Output *o)
{
    VsConfig cfg;
    vs_config_init(&cfg);
    cfg.arch = VS_ARCH_X86_64;
    cfg.accel = VS_ACCEL_KVM;
    cfg.ram_size = 64ull << 20;
    cfg.smp = smp;
    cfg.kernel = kernel;
    VsMachineListener l = { .opaque = o, .serial_output = serial_output };
    VsMachine *m = NULL;
    VsError err = { 0 };
    if (vs_machine_create(&cfg, &l, &m, &err) != VS_OK) {
        printf("FAIL: vs_machine_create: %s\n", err.message);
        return NULL;
    }
    return m;
}

static void test_host_reset(const char *guest)
{
    static Output o = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, { 0 }, 0 };
    VsMachine *m = create(guest, 2, &o);
    if (!m) {
        fails++;
        return;
    }
    const uint32_t host = 0x54534f48; /* "HOST" at 0x31000: wait for the host at boot 4 */
    CHECK(physmem_write(&m->mem, 0x31000, &host, 4), "cannot set the guest's host flag");
    VsError err = { 0 };
    CHECK(vs_machine_start(m, &err) == VS_OK, "start: %s", err.message);
    if (wait_for(&o, "waiting for the host to reset the machine\n")) {
        CHECK(vs_machine_reset(m, &err) == VS_OK, "vs_machine_reset: %s", err.message);
        wait_for(&o, "boot 5");
    } else {
        vs_machine_force_stop(m);
    }
    VsStopReason why = vs_machine_wait(m);
    CHECK(why == VS_STOP_POWEROFF, "stopped for reason %d: %s", why, vs_machine_stop_message(m));
    CHECK(strstr(o.buf, "boot 5: vcpu 0 state as at power-on, image loaded again\n"),
          "boot 5 did not find vCPU 0 as at power-on");
    CHECK(strstr(o.buf, "vcpu 1 state as at power-on, boot 5\n"),
          "boot 5 did not find vCPU 1 as at power-on");
    CHECK(!strstr(o.buf, "FAIL"), "the guest reported a failure");
    vs_machine_destroy(m);
}

#define FB_GPA    0x400000ull
#define FB_W      320
#define FB_H      200
#define FB_STRIDE 1280

typedef struct Px {
    unsigned x, y;
} Px;

/* The reported rectangles against the pixels written (see the file comment). */
static void check_rects(const char *step, const VsRect *r, unsigned n, const Px *w, unsigned nw)
{
    bool page[(FB_STRIDE * FB_H) / 4096 + 2] = { false };
    for (unsigned i = 0; i < nw; i++)
        page[(w[i].y * FB_STRIDE + w[i].x * 4) / 4096] = true; /* 4-byte aligned: one page */
    for (unsigned i = 0; i < nw; i++) {
        bool in = false;
        for (unsigned j = 0; j < n; j++)
            in |= w[i].x >= r[j].x && w[i].x < r[j].x + r[j].width && w[i].y >= r[j].y &&
                  w[i].y < r[j].y + r[j].height;
        CHECK(in, "%s: pixel (%u, %u) written but in no dirty rectangle", step, w[i].x, w[i].y);
    }
    for (unsigned j = 0; j < n; j++) {
        CHECK(r[j].width && r[j].height && r[j].x + r[j].width <= FB_W &&
                  r[j].y + r[j].height <= FB_H,
              "%s: rectangle %u (%u,%u %ux%u) empty or outside the framebuffer", step, j, r[j].x,
              r[j].y, r[j].width, r[j].height);
        for (unsigned y = r[j].y; y < r[j].y + r[j].height && y < FB_H; y++) {
            unsigned b0 = y * FB_STRIDE + r[j].x * 4, b1 = b0 + r[j].width * 4 - 1;
            for (unsigned p = b0 / 4096; p <= b1 / 4096; p++)
                CHECK(page[p],
                      "%s: rectangle %u (%u,%u %ux%u) reports row %u on page %u, "
                      "which has no written pixel",
                      step, j, r[j].x, r[j].y, r[j].width, r[j].height, y, p);
        }
    }
}

static void read_step(VsMachine *m, const char *step, const Px *w, unsigned nw)
{
    VsRect r[16];
    unsigned n = 99;
    VsError err = { 0 };
    CHECK(vs_machine_fb_dirty(m, r, 16, &n, &err) == VS_OK, "%s: %s", step, err.message);
    printf("%s: %u dirty rectangles:", step, n);
    for (unsigned j = 0; j < n; j++)
        printf(" (%u,%u %ux%u)", r[j].x, r[j].y, r[j].width, r[j].height);
    printf("\n");
    CHECK(nw == 0 || n > 0, "%s: nothing reported", step);
    CHECK(nw > 0 || n == 0, "%s: %u rectangles without a write", step, n);
    check_rects(step, r, n, w, nw);
    CHECK(vs_machine_fb_dirty(m, r, 16, &n, &err) == VS_OK && n == 0,
          "%s: a second read reported %u rectangles (the log must clear)", step, n);
}

static void test_fb(const char *guest)
{
    static Output o = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, { 0 }, 0 };
    VsMachine *m = create(guest, 1, &o);
    if (!m) {
        fails++;
        return;
    }
    VsError err = { 0 };
    VsRect r[4];
    unsigned n;
    CHECK(vs_machine_fb_dirty(m, r, 4, &n, &err) == VS_ERR_STATE, "a read before tracking");
    VsFramebuffer bad = { FB_GPA, FB_W, FB_H, FB_W * 4 - 4, 4 };
    CHECK(vs_machine_fb_track(m, &bad, &err) == VS_ERR_INVALID, "a stride shorter than a row");
    bad = (VsFramebuffer){ 0xd0000000ull, FB_W, FB_H, FB_STRIDE, 4 };
    CHECK(vs_machine_fb_track(m, &bad, &err) == VS_ERR_INVALID, "a framebuffer on MMIO");
    bad = (VsFramebuffer){ UINT64_MAX - 4096, FB_W, FB_H, FB_STRIDE, 4 };
    CHECK(vs_machine_fb_track(m, &bad, &err) == VS_ERR_INVALID, "a framebuffer past 2^64");
    VsFramebuffer fb = { FB_GPA, FB_W, FB_H, FB_STRIDE, 4 };
    CHECK(vs_machine_fb_track(m, &fb, &err) == VS_OK, "track: %s", err.message);
    CHECK(vs_machine_start(m, &err) == VS_OK, "start: %s", err.message);
    static const Px step1[] = { { 10, 5 }, { 300, 150 } };
    Px step2[FB_W + 1];
    for (unsigned x = 0; x < FB_W; x++)
        step2[x] = (Px){ x, 100 };
    step2[FB_W] = (Px){ 319, 199 };
    if (wait_for(&o, "drawn 1\n")) {
        read_step(m, "step 1", step1, 2);
        vs_machine_serial_input(m, (const uint8_t *)"g", 1);
    }
    if (wait_for(&o, "drawn 2\n")) {
        read_step(m, "step 2", step2, FB_W + 1);
        vs_machine_serial_input(m, (const uint8_t *)"g", 1);
    }
    if (wait_for(&o, "drawn 3\n")) {
        read_step(m, "step 3", NULL, 0);
        CHECK(vs_machine_fb_track(m, NULL, &err) == VS_OK, "untrack: %s", err.message);
        CHECK(vs_machine_fb_dirty(m, r, 4, &n, &err) == VS_ERR_STATE, "a read after untracking");
        vs_machine_serial_input(m, (const uint8_t *)"g", 1);
    } else {
        vs_machine_force_stop(m);
    }
    VsStopReason why = vs_machine_wait(m);
    CHECK(why == VS_STOP_POWEROFF, "stopped for reason %d: %s", why, vs_machine_stop_message(m));
    vs_machine_destroy(m);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s RESET-GUEST FB-GUEST\n", argv[0]);
        return 2;
    }
    char why[256];
    if (!accel_kvm_available(why, sizeof(why))) {
        printf("SKIP: KVM %s\n", why);
        return 77;
    }
    setvbuf(stdout, NULL, _IONBF, 0);
    test_host_reset(argv[1]);
    test_fb(argv[2]);
    printf("%s\n", fails ? "FAILED" : "ok");
    return fails ? 1 : 0;
}
