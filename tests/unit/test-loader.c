/* SPDX-License-Identifier: MIT */
/*
 * Boot image loading and the riscv64 virt board: file errors, ELF validation (truncated and
 * overflowing headers), Linux Image detection, image placement, and the device tree parsed
 * back with libfdt. Runs against the real guest memory map (mmu/physmem.c); the machine
 * core, timers and harts are fakes below.
 *
 * VESSEL_DUMP_DTB=path writes the generated device tree (2 harts, 512 MiB) for
 * `dtc -I dtb -O dts path`.
 */
#include <elf.h>
#include <errno.h>
#include <inttypes.h>
#include <libfdt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boards/board-loader.h"
#include "boards/boards.h"
#include "boards/riscv64-virt.h"
#include "devices/riscv-hart.h"
#include "virtio/vdev.h"

/* ---- Test harness ---- */

#include "check.h"

#define CHECK_STR(a, b)                                                                     \
    do {                                                                                    \
        const char *a_ = (a), *b_ = (b);                                                    \
        if (a_ && b_ && strcmp(a_, b_) == 0) {                                              \
            g_pass++;                                                                       \
        } else {                                                                            \
            g_fail++;                                                                       \
            fprintf(stderr, "%s:%d: CHECK_STR failed:\n  got      '%s'\n  expected '%s'\n", \
                    __FILE__, __LINE__, a_ ? a_ : "(null)", b_ ? b_ : "(null)");            \
        }                                                                                   \
    } while (0)

/* The error message contains every one of the given fragments. */
static void check_msg(int line, VsStatus st, const VsError *err, const char *const *frags)
{
    bool ok = st != VS_OK && err->status == st;
    for (unsigned i = 0; ok && frags[i]; i++)
        ok = strstr(err->message, frags[i]) != NULL;
    if (ok) {
        g_pass++;
        return;
    }
    g_fail++;
    fprintf(stderr, "%s:%d: error message check failed (status %d): '%s'\n  wanted:", __FILE__,
            line, st, err->message);
    for (unsigned i = 0; frags[i]; i++)
        fprintf(stderr, " '%s'", frags[i]);
    fprintf(stderr, "\n");
}
#define CHECK_MSG(st, err, ...) \
    check_msg(__LINE__, (st), (err), (const char *const[]){ __VA_ARGS__, NULL })

/* ---- Fakes for the modules the board calls ---- */

VsStatus vs_error_set(VsError *err, VsStatus status, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof(err->message), fmt, ap);
        va_end(ap);
        err->status = status;
    }
    return status;
}

static char g_log[1024];

void vs_log(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g_log, sizeof(g_log), fmt, ap);
    va_end(ap);
}

uint64_t vs_clock_ns(void)
{
    return 1000000000ull;
}

void vs_timer_init(VsTimer *t, VsTimerService *svc, void (*cb)(void *), void *opaque)
{
    t->svc = svc;
    t->cb = cb;
    t->opaque = opaque;
    t->deadline_ns = UINT64_MAX;
    t->next = NULL;
}

void vs_timer_mod(VsTimer *t, uint64_t deadline_ns)
{
    t->deadline_ns = deadline_ns;
}

void vs_timer_del(VsTimer *t)
{
    t->deadline_ns = UINT64_MAX;
}

void rv_cpu_set_irq(RvCpu *cpu, unsigned irq, bool level)
{
    if (level)
        atomic_fetch_or(&cpu->mip, 1ull << irq);
    else
        atomic_fetch_and(&cpu->mip, ~(1ull << irq));
}

static uint8_t g_serial[256];
static size_t g_serial_len;

void vs_machine_serial_output(VsMachine *m, const uint8_t *buf, size_t len)
{
    (void)m;
    for (size_t i = 0; i < len && g_serial_len < sizeof(g_serial); i++)
        g_serial[g_serial_len++] = buf[i];
}

static VsStopReason g_stop_reason;

void vs_machine_request_stop(VsMachine *m, VsStopReason reason, const char *fmt, ...)
{
    (void)m;
    (void)fmt;
    g_stop_reason = reason;
}

/* The machine made here has no virtio devices (m->nvdevs is 0), so the board never maps one. */
VsStatus vs_vdev_map(VsMachine *m, unsigned i, uint64_t base, unsigned irq,
                     void (*set_irq)(void *opaque, int level), void *irq_opaque, VsError *err)
{
    (void)m, (void)i, (void)base, (void)irq, (void)set_irq, (void)irq_opaque;
    return vs_error_set(err, VS_ERR_INVALID, "unexpected virtio device");
}

/* boards.c names the x86_64 board too; it is not under test here (test-x86-boot.c). */
const BoardOps x86_microvm_board_ops = { .name = "x86_64 microvm (not linked)" };
/* ... and the arm64 one (test-a64-virt.c). */
const BoardOps a64_virt_board_ops = { .name = "arm64 virt (not linked)" };

void vs_machine_request_reset(VsMachine *m)
{
    (void)m;
}

/* ---- Files ---- */

static char g_dir[64];

static char *tmp_path(const char *name)
{
    static char paths[16][128];
    static unsigned next;
    char *p = paths[next++ % 16];
    snprintf(p, 128, "%s/%s", g_dir, name);
    return p;
}

static const char *write_file(const char *name, const void *data, size_t len)
{
    const char *path = tmp_path(name);
    FILE *f = fopen(path, "wb");
    if (!f) {
        perror(path);
        exit(2);
    }
    if (len && fwrite(data, 1, len, f) != len) {
        perror(path);
        exit(2);
    }
    fclose(f);
    return path;
}

/* ---- ELF builder ---- */

static void wr16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void wr32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void wr64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

typedef struct Seg {
    uint32_t type;
    uint64_t paddr, filesz, memsz;
    uint8_t fill; /* file bytes are fill, fill+1, ... */
} Seg;

/* An ELF64 LE RISC-V executable: header, program headers, then each segment's bytes. */
static size_t make_elf(uint8_t *buf, size_t cap, uint64_t entry, const Seg *segs, unsigned n)
{
    size_t off = 64 + 56 * (size_t)n;
    memset(buf, 0, cap);
    memcpy(buf, "\177ELF", 4);
    buf[4] = 2; /* ELFCLASS64 */
    buf[5] = 1; /* little-endian */
    buf[6] = 1;
    wr16(buf + 16, 2);   /* ET_EXEC */
    wr16(buf + 18, 243); /* EM_RISCV */
    wr32(buf + 20, 1);
    wr64(buf + 24, entry);
    wr64(buf + 32, 64);
    wr16(buf + 52, 64);
    wr16(buf + 54, 56);
    wr16(buf + 56, (uint16_t)n);
    for (unsigned i = 0; i < n; i++) {
        uint8_t *ph = buf + 64 + 56 * i;
        wr32(ph, segs[i].type);
        wr32(ph + 4, 7);
        wr64(ph + 8, off);
        wr64(ph + 16, segs[i].paddr);
        wr64(ph + 24, segs[i].paddr);
        wr64(ph + 32, segs[i].filesz);
        wr64(ph + 40, segs[i].memsz);
        wr64(ph + 48, 0x1000);
        for (uint64_t j = 0; j < segs[i].filesz && off < cap; j++)
            buf[off++] = (uint8_t)(segs[i].fill + j);
    }
    return off;
}

/* A Linux RISC-V Image: 64-byte header with the magic, then `len` body bytes. */
static size_t make_image(uint8_t *buf, size_t len, uint64_t image_size)
{
    memset(buf, 0, 64);
    wr32(buf, 0x0000006f); /* j . (code0) */
    wr64(buf + 8, 0x200000);
    wr64(buf + 16, image_size);
    memcpy(buf + 0x30, "RISCV\0\0\0", 8);
    memcpy(buf + 0x38, "RSC\x05", 4);
    for (size_t i = 64; i < len; i++)
        buf[i] = (uint8_t)(i * 7);
    return len;
}

/* ---- Loader tests ---- */

#define RAM_BASE 0x80000000ull
#define RAM_SIZE (16ull << 20)

static PhysMem g_mem;
static LoadTarget g_t;

static void mem_setup(void)
{
    physmem_init(&g_mem);
    if (!physmem_add_ram(&g_mem, "ram", RAM_BASE, RAM_SIZE)) {
        fprintf(stderr, "cannot create guest RAM\n");
        exit(2);
    }
    g_t = (LoadTarget){ .mem = &g_mem, .ram_base = RAM_BASE, .ram_size = RAM_SIZE };
}

static uint8_t guest_byte(uint64_t addr)
{
    uint8_t b = 0xee;
    physmem_read(&g_mem, addr, &b, 1);
    return b;
}

static void test_read_file(void)
{
    VsError err = { 0 };
    uint8_t *data;
    size_t size;
    VsStatus st;

    st = loader_read_file("kernel", "/nonexistent/x", 100, &data, &size, &err);
    CHECK_EQ(st, VS_ERR_IO);
    CHECK_STR(err.message, "cannot open kernel '/nonexistent/x': No such file or directory");
    CHECK(data == NULL);

    const char *empty = write_file("empty", "", 0);
    st = loader_read_file("kernel", empty, 100, &data, &size, &err);
    char want[256];
    snprintf(want, sizeof(want), "kernel '%s' is empty", empty);
    CHECK_STR(err.message, want);
    CHECK_EQ(st, VS_ERR_FORMAT);

    st = loader_read_file("initrd", g_dir, 100, &data, &size, &err);
    snprintf(want, sizeof(want), "initrd '%s' is a directory, not a file", g_dir);
    CHECK_STR(err.message, want);

    st = loader_read_file("kernel", "/etc/passwd/x", 100, &data, &size, &err);
    CHECK_STR(err.message, "cannot open kernel '/etc/passwd/x': Not a directory");

    /* Unreadable: only testable when not root (root reads anything). */
    if (geteuid() != 0) {
        const char *secret = write_file("secret", "x", 1);
        chmod(secret, 0);
        st = loader_read_file("kernel", secret, 100, &data, &size, &err);
        CHECK_MSG(st, &err, "cannot open kernel", "Permission denied");
    }

    static uint8_t buf[3 << 20];
    const char *big = write_file("big", buf, sizeof(buf));
    st = loader_read_file("kernel", big, 2 << 20, &data, &size, &err);
    CHECK_MSG(st, &err, "is too large", "3 MiB", "2 MiB of guest RAM");
    st = loader_read_file("kernel", big, sizeof(buf), &data, &size, &err);
    CHECK_EQ(st, VS_OK);
    CHECK_EQ(size, sizeof(buf));
    free(data);

    /* A character device has no size: read until EOF, still bounded. */
    st = loader_read_file("initrd", "/dev/zero", 100000, &data, &size, &err);
    CHECK_MSG(st, &err, "is too large");
    st = loader_read_file("initrd", "/dev/null", 100, &data, &size, &err);
    CHECK_MSG(st, &err, "is empty");

    char s[32];
    loader_format_size(512ull << 20, s, sizeof(s));
    CHECK_STR(s, "512 MiB");
    loader_format_size(1536ull << 20, s, sizeof(s));
    CHECK_STR(s, "1.5 GiB");
    loader_format_size(1, s, sizeof(s));
    CHECK_STR(s, "1 byte");
    loader_format_size(1023, s, sizeof(s));
    CHECK_STR(s, "1023 bytes");
    loader_format_size(UINT64_MAX, s, sizeof(s));
    CHECK_STR(s, "15.9 EiB");
}

static void test_elf_good(void)
{
    static uint8_t buf[65536];
    VsError err = { 0 };
    LoadedImage li;
    Seg segs[3] = {
        { PT_LOAD, RAM_BASE + 0x1000, 0x100, 0x200, 0x10 }, /* 0x100 bytes of bss */
        { PT_NOTE, 0, 0x10, 0x10, 0 },
        { PT_LOAD, RAM_BASE + 0x8000, 0x40, 0x40, 0x80 },
    };
    /* Dirty the bss first: the loader must zero it. */
    uint8_t junk[0x100];
    memset(junk, 0xaa, sizeof(junk));
    physmem_write(&g_mem, RAM_BASE + 0x1100, junk, sizeof(junk));

    size_t n = make_elf(buf, sizeof(buf), RAM_BASE + 0x1004, segs, 3);
    CHECK(loader_is_elf(buf, n));
    VsStatus st = loader_load_elf(&g_t, "firmware", "fw.elf", buf, n, &li, &err);
    CHECK_EQ(st, VS_OK);
    CHECK_EQ(li.entry, RAM_BASE + 0x1004);
    CHECK_EQ(li.low, RAM_BASE + 0x1000);
    CHECK_EQ(li.high, RAM_BASE + 0x8040);
    CHECK_EQ(guest_byte(RAM_BASE + 0x1000), 0x10);
    CHECK_EQ(guest_byte(RAM_BASE + 0x10ff), (uint8_t)(0x10 + 0xff));
    CHECK_EQ(guest_byte(RAM_BASE + 0x1100), 0);
    CHECK_EQ(guest_byte(RAM_BASE + 0x11ff), 0);
    CHECK_EQ(guest_byte(RAM_BASE + 0x8000), 0x80);
    CHECK_EQ(guest_byte(RAM_BASE + 0x803f), 0x80 + 0x3f);

    /* Firmware through the file path: ELF keeps its entry; a raw binary goes to the base. */
    const char *fw = write_file("fw.elf", buf, n);
    st = loader_load_rv_firmware(&g_t, fw, RAM_BASE, &li, &err);
    CHECK_EQ(st, VS_OK);
    CHECK_EQ(li.entry, RAM_BASE + 0x1004);
    const char *raw = write_file("fw.bin", "\x13\x00\x00\x00OpenSBI", 11);
    st = loader_load_rv_firmware(&g_t, raw, RAM_BASE, &li, &err);
    CHECK_EQ(st, VS_OK);
    CHECK_EQ(li.entry, RAM_BASE);
    CHECK_EQ(li.high, RAM_BASE + 11);
    CHECK_EQ(guest_byte(RAM_BASE + 4), 'O');
}

/* Corrupt one field of a good ELF and expect a message with the given fragments. */
static void test_elf_bad(void)
{
    static uint8_t good[4096], buf[4096];
    VsError err = { 0 };
    LoadedImage li;
    VsStatus st;
    Seg segs[2] = {
        { PT_LOAD, RAM_BASE + 0x2000, 0x20, 0x20, 1 },
        { PT_LOAD, RAM_BASE + 0x3000, 0x20, 0x40, 2 },
    };
    size_t n = make_elf(good, sizeof(good), RAM_BASE + 0x2000, segs, 2);
    uint8_t *ph0 = buf + 64, *ph1 = buf + 64 + 56;

#define RESET()   memcpy(buf, good, sizeof(buf))
#define LOAD(len) (st = loader_load_elf(&g_t, "kernel", "k", buf, (len), &li, &err))

    RESET();
    LOAD(40);
    CHECK_MSG(st, &err, "kernel 'k' is a truncated ELF file", "40 bytes");
    LOAD(3);
    CHECK_MSG(st, &err, "kernel 'k' is not an ELF file");

    RESET();
    wr16(buf + 18, 62);
    LOAD(n);
    CHECK_STR(err.message, "kernel 'k' is an ELF for x86-64, not riscv64");
    wr16(buf + 18, 183);
    LOAD(n);
    CHECK_STR(err.message, "kernel 'k' is an ELF for arm64 (AArch64), not riscv64");
    wr16(buf + 18, 0x7777);
    LOAD(n);
    CHECK_MSG(st, &err, "is an ELF for machine type 30583, not riscv64");

    RESET();
    buf[4] = 1;
    LOAD(n);
    CHECK_STR(err.message, "kernel 'k' is a 32-bit ELF (riscv32), not riscv64");
    buf[4] = 7;
    LOAD(n);
    CHECK_MSG(st, &err, "corrupt ELF", "class 7");

    RESET();
    buf[5] = 2;
    buf[18] = 0; /* big-endian EM_RISCV */
    buf[19] = 243;
    LOAD(n);
    CHECK_MSG(st, &err, "big-endian");
    buf[5] = 9;
    LOAD(n);
    CHECK_MSG(st, &err, "byte order 9");

    RESET();
    wr16(buf + 16, 1);
    LOAD(n);
    CHECK_MSG(st, &err, "relocatable object", "not an executable");
    wr16(buf + 16, 4);
    LOAD(n);
    CHECK_MSG(st, &err, "core dump");
    wr16(buf + 16, 3); /* ET_DYN is accepted (loaded at its addresses) */
    LOAD(n);
    CHECK_EQ(st, VS_OK);

    RESET();
    wr16(buf + 54, 32);
    LOAD(n);
    CHECK_MSG(st, &err, "program header size 32");
    RESET();
    wr16(buf + 56, 0);
    LOAD(n);
    CHECK_MSG(st, &err, "has no ELF program headers");
    wr16(buf + 56, 0xffff);
    LOAD(n);
    CHECK_MSG(st, &err, "too many ELF program headers");

    /* Program headers beyond the end, or at an offset that overflows. */
    RESET();
    LOAD(64 + 56 + 10);
    CHECK_MSG(st, &err, "truncated ELF", "program headers");
    wr64(buf + 32, UINT64_MAX - 8);
    LOAD(n);
    CHECK_MSG(st, &err, "truncated ELF", "program headers at 0xfffffffffffffff7");
    wr64(buf + 32, n - 56);
    LOAD(n);
    CHECK(st != VS_OK);

    /* Segments. */
    RESET();
    wr64(ph1 + 32, 0x41);
    LOAD(n);
    CHECK_MSG(st, &err, "segment 1 has 0x41 file bytes but only 0x40 bytes of memory");
    RESET();
    wr64(ph1 + 8, UINT64_MAX - 1);
    LOAD(n);
    CHECK_MSG(st, &err, "truncated ELF", "segment 1");
    RESET();
    wr64(ph1 + 8, n - 8);
    LOAD(n);
    CHECK_MSG(st, &err, "truncated ELF", "segment 1");
    RESET();
    wr64(ph1 + 24, UINT64_MAX - 0x10);
    LOAD(n);
    CHECK_MSG(st, &err, "wraps around");
    RESET();
    wr64(ph1 + 24, 0x1000);
    LOAD(n);
    CHECK_STR(err.message, "kernel 'k': segment 1 at 0x1000-0x103f is outside guest RAM "
                           "(0x80000000-0x80ffffff)");
    wr64(ph1 + 24, RAM_BASE + RAM_SIZE - 0x20); /* half inside */
    LOAD(n);
    CHECK_MSG(st, &err, "segment 1 at 0x80ffffe0-0x8100001f is outside guest RAM");
    wr64(ph1 + 40, UINT64_MAX);
    wr64(ph1 + 24, RAM_BASE);
    LOAD(n);
    CHECK_MSG(st, &err, "wraps around");

    /* Nothing is written when a later segment is bad. */
    uint8_t zero[0x20] = { 0 };
    physmem_write(&g_mem, RAM_BASE + 0x2000, zero, sizeof(zero));
    RESET();
    wr64(ph1 + 24, 0x1000);
    LOAD(n);
    CHECK(st != VS_OK);
    CHECK_EQ(guest_byte(RAM_BASE + 0x2000), 0);

    RESET();
    wr32(ph0, PT_NOTE);
    wr32(ph1, PT_DYNAMIC);
    LOAD(n);
    CHECK_MSG(st, &err, "has no loadable ELF segments");

    RESET();
    wr64(buf + 24, RAM_BASE + 0x5000);
    LOAD(n);
    CHECK_MSG(st, &err, "entry point 0x80005000 is outside its loaded segments");

    /* Segments with memsz 0 are skipped, even at silly addresses. */
    RESET();
    wr64(ph1 + 24, 0x10);
    wr64(ph1 + 32, 0);
    wr64(ph1 + 40, 0);
    LOAD(n);
    CHECK_EQ(st, VS_OK);

    /* Random corruption of the headers never crashes (ASan/UBSan watch). */
    uint64_t rng = 88172645463325252ull;
    unsigned ok = 0;
    for (int i = 0; i < 20000; i++) {
        RESET();
        for (int k = 0; k < 4; k++) {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            buf[rng % (64 + 2 * 56)] = (uint8_t)(rng >> 32);
        }
        LOAD(rng & 1 ? n : (rng >> 8) % (n + 1));
        ok += st == VS_OK;
    }
    CHECK(ok < 20000);
#undef RESET
#undef LOAD
}

static void test_kernel(void)
{
    static uint8_t buf[1 << 20];
    VsError err = { 0 };
    LoadedImage li;
    VsStatus st;
    RvImageHeader hdr;
    char want[300];

    size_t n = make_image(buf, 0x3000, 0x10000);
    CHECK(loader_parse_rv_image(buf, n, &hdr));
    CHECK_EQ(hdr.text_offset, 0x200000);
    CHECK_EQ(hdr.image_size, 0x10000);
    CHECK(!loader_parse_rv_image(buf, 63, &hdr));

    /* An Image loads at the address fw_jump jumps to; image_size covers its bss. */
    uint8_t junk[16];
    memset(junk, 0xaa, sizeof(junk));
    physmem_write(&g_mem, RAM_BASE + 0x200000 + 0x3000, junk, sizeof(junk));
    const char *img = write_file("Image", buf, n);
    st = loader_load_rv_kernel(&g_t, img, RAM_BASE + 0x200000, &li, &err);
    CHECK_EQ(st, VS_OK);
    CHECK_EQ(li.entry, RAM_BASE + 0x200000);
    CHECK_EQ(li.low, RAM_BASE + 0x200000);
    CHECK_EQ(li.high, RAM_BASE + 0x210000);
    CHECK_EQ(guest_byte(RAM_BASE + 0x200000 + 0x38), 'R');
    CHECK_EQ(guest_byte(RAM_BASE + 0x200000 + 0x2fff), (uint8_t)(0x2fff * 7));
    CHECK_EQ(guest_byte(RAM_BASE + 0x200000 + 0x3000), 0);

    /* An Image whose image_size does not fit in RAM. */
    make_image(buf, 0x3000, 64ull << 20);
    const char *fat = write_file("Image.fat", buf, 0x3000);
    st = loader_load_rv_kernel(&g_t, fat, RAM_BASE + 0x200000, &li, &err);
    CHECK_MSG(st, &err, "kernel '", "(64 MiB) does not fit in guest RAM (0x80000000-0x80ffffff)",
              "0x80200000");

    /* A file bigger than RAM. */
    static uint8_t huge[RAM_SIZE + 1];
    const char *big = write_file("Image.huge", huge, sizeof(huge));
    st = loader_load_rv_kernel(&g_t, big, RAM_BASE + 0x200000, &li, &err);
    CHECK_MSG(st, &err, "is too large", "16 MiB of guest RAM");

    /* Neither ELF nor Image. */
    const char *garbage = write_file("garbage", "this is not a kernel at all, just text\n", 40);
    st = loader_load_rv_kernel(&g_t, garbage, RAM_BASE + 0x200000, &li, &err);
    snprintf(want, sizeof(want), "kernel '%s' is not a riscv64 Linux Image or ELF file", garbage);
    CHECK_STR(err.message, want);
    CHECK_EQ(st, VS_ERR_FORMAT);

    /* An ELF for another machine says which. */
    Seg seg = { PT_LOAD, RAM_BASE + 0x200000, 0x10, 0x10, 0 };
    n = make_elf(buf, sizeof(buf), RAM_BASE + 0x200000, &seg, 1);
    wr16(buf + 18, 62);
    const char *x86 = write_file("vmlinux-x86", buf, n);
    st = loader_load_rv_kernel(&g_t, x86, RAM_BASE + 0x200000, &li, &err);
    snprintf(want, sizeof(want), "kernel '%s' is an ELF for x86-64, not riscv64", x86);
    CHECK_STR(err.message, want);

    /* A riscv64 ELF kernel loads at its own addresses. */
    wr16(buf + 18, 243);
    const char *elf = write_file("vmlinux", buf, n);
    st = loader_load_rv_kernel(&g_t, elf, RAM_BASE + 0x200000, &li, &err);
    CHECK_EQ(st, VS_OK);
    CHECK_EQ(li.entry, RAM_BASE + 0x200000);

    st = loader_load_rv_kernel(&g_t, "/nonexistent/Image", RAM_BASE, &li, &err);
    CHECK_STR(err.message, "cannot open kernel '/nonexistent/Image': No such file or directory");

    /* Raw loads outside RAM. */
    st = loader_load_raw(&g_t, "initrd", "i", buf, 16, 0x1000, 16, &li, &err);
    CHECK_MSG(st, &err, "initrd 'i': load address 0x1000 is outside guest RAM");
    st = loader_load_raw(&g_t, "initrd", "i", buf, 16, RAM_BASE + RAM_SIZE - 8, 16, &li, &err);
    CHECK_MSG(st, &err, "initrd 'i' (16 bytes) does not fit in guest RAM");
}

/* ---- Board ---- */

#define NHARTS 2
static RvCpu g_harts[NHARTS];
static VsCpu *g_hart_ptrs[NHARTS];

static void machine_init(VsMachine *m, const VsConfig *cfg)
{
    memset(m, 0, sizeof(*m));
    memset(g_harts, 0, sizeof(g_harts));
    m->cfg = *cfg;
    m->board_ops = board_find(VS_ARCH_RISCV64);
    physmem_init(&m->mem);
    for (unsigned i = 0; i < NHARTS; i++) {
        g_harts[i].common.index = i;
        g_hart_ptrs[i] = &g_harts[i].common;
    }
    m->cpus = g_hart_ptrs;
    m->ncpus = cfg->smp < NHARTS ? cfg->smp : NHARTS;
}

static void machine_fini(VsMachine *m)
{
    if (m->board)
        m->board_ops->destroy(m);
    CHECK(m->board == NULL);
    physmem_destroy(&m->mem);
}

static VsConfig base_config(const char *fw)
{
    VsConfig cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.arch = VS_ARCH_RISCV64;
    cfg.ram_size = 512ull << 20;
    cfg.smp = NHARTS;
    cfg.firmware = fw;
    return cfg;
}

static VsStatus create(VsMachine *m, const VsConfig *cfg, VsError *err)
{
    machine_init(m, cfg);
    return m->board_ops->create(m, err);
}

static const void *prop(const void *fdt, const char *path, const char *name, int *len)
{
    int off = fdt_path_offset(fdt, path);
    if (off < 0)
        return NULL;
    return fdt_getprop(fdt, off, name, len);
}

static uint32_t prop_u32(const void *fdt, const char *path, const char *name)
{
    int len;
    const fdt32_t *p = prop(fdt, path, name, &len);
    return p && len == 4 ? fdt32_to_cpu(*p) : 0xdeadbeef;
}

static uint64_t prop_u64(const void *fdt, const char *path, const char *name)
{
    int len;
    const void *p = prop(fdt, path, name, &len);
    fdt64_t v;
    if (!p || len != 8)
        return 0xdeadbeef;
    memcpy(&v, p, 8); /* properties are only 4-byte aligned */
    return fdt64_to_cpu(v);
}

static const char *prop_str(const void *fdt, const char *path, const char *name)
{
    int len;
    const char *p = prop(fdt, path, name, &len);
    return p && len > 0 && p[len - 1] == '\0' ? p : NULL;
}

/* Compare a property with 32-bit cells. */
static bool prop_cells(const void *fdt, const char *path, const char *name, const uint32_t *cells,
                       unsigned n)
{
    int len;
    const fdt32_t *p = prop(fdt, path, name, &len);
    if (!p || len != (int)(4 * n))
        return false;
    for (unsigned i = 0; i < n; i++)
        if (fdt32_to_cpu(p[i]) != cells[i])
            return false;
    return true;
}

static bool prop_strlist(const void *fdt, const char *path, const char *name,
                         const char *const *list, unsigned n)
{
    int len;
    const char *p = prop(fdt, path, name, &len);
    int at = 0;
    for (unsigned i = 0; i < n; i++) {
        int l = (int)strlen(list[i]) + 1;
        if (!p || at + l > len || memcmp(p + at, list[i], (size_t)l) != 0)
            return false;
        at += l;
    }
    return p && at == len;
}

static void test_board_errors(void)
{
    VsMachine m;
    VsError err = { 0 };
    VsStatus st;
    static uint8_t fw[256];
    const char *fwp = write_file("fw_jump.bin", fw, sizeof(fw));

    VsConfig cfg = base_config(NULL);
    st = create(&m, &cfg, &err);
    CHECK_STR(err.message, "riscv64 needs firmware: pass --firmware (e.g. OpenSBI fw_jump.bin)");
    CHECK_EQ(st, VS_ERR_INVALID);
    machine_fini(&m);

    cfg = base_config(fwp);
    cfg.ram_size = 8ull << 20;
    st = create(&m, &cfg, &err);
    CHECK_STR(err.message, "riscv64 virt needs at least 16 MiB of RAM; --memory asked for 8 MiB");
    machine_fini(&m);

    cfg.ram_size = (16ull << 20) + 100;
    st = create(&m, &cfg, &err);
    CHECK_MSG(st, &err, "not a multiple of 4 KiB");
    machine_fini(&m);

    cfg = base_config(fwp);
    cfg.smp = 0;
    st = create(&m, &cfg, &err);
    CHECK_MSG(st, &err, "supports 1 to 512 vCPUs (0 requested)");
    machine_fini(&m);

    cfg = base_config("/nonexistent/fw_jump.bin");
    st = create(&m, &cfg, &err);
    CHECK_STR(err.message,
              "cannot open firmware '/nonexistent/fw_jump.bin': No such file or directory");
    machine_fini(&m);

    /* A kernel that does not fit next to the firmware in the smallest RAM. */
    static uint8_t img[0x2000];
    make_image(img, sizeof(img), 15ull << 20);
    const char *kp = write_file("Image.15M", img, sizeof(img));
    cfg = base_config(fwp);
    cfg.ram_size = 16ull << 20;
    cfg.kernel = kp;
    st = create(&m, &cfg, &err);
    CHECK_MSG(st, &err, "kernel '", "does not fit in guest RAM");
    machine_fini(&m);

    /* Kernel fits, but then nothing is left for the device tree. */
    make_image(img, sizeof(img), 13ull << 20);
    kp = write_file("Image.13M", img, sizeof(img));
    cfg.kernel = kp;
    st = create(&m, &cfg, &err);
    CHECK_MSG(st, &err, "no room for the device tree", "16 MiB");
    machine_fini(&m);

    /* An initrd that does not fit. */
    make_image(img, sizeof(img), 1ull << 20);
    kp = write_file("Image.1M", img, sizeof(img));
    static uint8_t rd[13 << 20];
    const char *rdp = write_file("initrd.13M", rd, sizeof(rd));
    cfg.kernel = kp;
    cfg.initrd = rdp;
    st = create(&m, &cfg, &err);
    CHECK_MSG(st, &err, "initrd '", "(13 MiB) does not fit in 16 MiB of guest RAM");
    machine_fini(&m);

    /* A kernel that is an ELF overlapping the firmware. */
    static uint8_t elf[4096];
    Seg seg = { PT_LOAD, RAM_BASE, 0x10, 0x10, 0 };
    size_t n = make_elf(elf, sizeof(elf), RAM_BASE, &seg, 1);
    cfg = base_config(fwp);
    cfg.kernel = write_file("vmlinux.low", elf, n);
    st = create(&m, &cfg, &err);
    CHECK_MSG(st, &err, "overlaps firmware");
    machine_fini(&m);

    /* Garbage kernel. */
    cfg = base_config(fwp);
    cfg.kernel = write_file("notakernel", "#!/bin/sh\necho hi\n", 18);
    st = create(&m, &cfg, &err);
    CHECK_MSG(st, &err, "is not a riscv64 Linux Image or ELF file");
    machine_fini(&m);

    /* Firmware that is an ELF for another machine. */
    wr16(elf + 18, 183);
    cfg = base_config(write_file("fw-arm64.elf", elf, n));
    st = create(&m, &cfg, &err);
    CHECK_MSG(st, &err, "firmware '", "is an ELF for arm64 (AArch64), not riscv64");
    machine_fini(&m);
}

static void test_placement(void)
{
    uint64_t at;
    const uint64_t MiB = 1ull << 20;

    /* QEMU's FDT address: 2 MiB aligned below min(RAM end, 3 GiB). */
    CHECK_EQ(rv_virt_fdt_addr(RAM_BASE, 512 * MiB, 0x1000), 0x9fe00000);
    CHECK_EQ(rv_virt_fdt_addr(RAM_BASE, 16 * MiB, 0x1000), 0x80e00000);
    CHECK_EQ(rv_virt_fdt_addr(RAM_BASE, 4096 * MiB, 0x1000), 0xbfe00000);
    CHECK_EQ(rv_virt_fdt_addr(RAM_BASE, 512 * MiB, 3 * MiB), 0x9fc00000);
    CHECK_EQ(rv_virt_fdt_addr(RAM_BASE, 1 * MiB, 2 * MiB), UINT64_MAX);

    /* Initrd: kernel + min(RAM/2, 128 MiB). */
    CHECK(rv_virt_initrd_addr(0x80200000, 0x81200000, 512 * MiB, 10 * MiB, 0x9fe00000, 0, 0, &at));
    CHECK_EQ(at, 0x88200000);
    CHECK(rv_virt_initrd_addr(0x80200000, 0x80400000, 64 * MiB, 1 * MiB, 0x83e00000, 0, 0, &at));
    CHECK_EQ(at, 0x82200000);
    /* Too big there: right after the kernel. */
    CHECK(rv_virt_initrd_addr(0x80200000, 0x80300001, 64 * MiB, 50 * MiB, 0x83e00000, 0, 0, &at));
    CHECK_EQ(at, 0x80400000);
    CHECK(!rv_virt_initrd_addr(0x80200000, 0x80300001, 64 * MiB, 60 * MiB, 0x83e00000, 0, 0, &at));
    /* A kernel bigger than the gap: never inside the kernel. */
    CHECK(rv_virt_initrd_addr(0x80200000, 0x90000000, 512 * MiB, 1 * MiB, 0x9fe00000, 0, 0, &at));
    CHECK_EQ(at, 0x90000000);
    CHECK(!rv_virt_initrd_addr(0x80200000, 0x9ff00000, 512 * MiB, 1, 0x9fe00000, 0, 0, &at));
    /* OpenSBI fw_jump's device-tree window at 0x82200000 is never used: with 64 MiB the
     * QEMU spot is inside it, so the initrd goes right after the kernel... */
    CHECK(rv_virt_initrd_addr(0x80200000, 0x80700000, 64 * MiB, 2 * MiB, 0x83e00000, 0x82200000,
                              0x82400000, &at));
    CHECK_EQ(at, 0x80800000);
    /* ...or, if that would run into the window, after it. */
    CHECK(rv_virt_initrd_addr(0x80200000, 0x80700000, 64 * MiB, 28 * MiB, 0x83e00000, 0x82200000,
                              0x82400000, &at) == false);
    CHECK(rv_virt_initrd_addr(0x80200000, 0x80700000, 64 * MiB, 27 * MiB, 0x84000000, 0x82200000,
                              0x82400000, &at));
    CHECK_EQ(at, 0x82400000);
}

static void test_board_boot(void)
{
    VsMachine m;
    VsError err = { 0 };
    static uint8_t fw[0x1000], img[0x4000], rd[0x3000];
    for (size_t i = 0; i < sizeof(fw); i++)
        fw[i] = (uint8_t)(i * 3 + 1);
    for (size_t i = 0; i < sizeof(rd); i++)
        rd[i] = (uint8_t)(i * 5 + 2);
    make_image(img, sizeof(img), 0x100000);

    VsConfig cfg = base_config(write_file("fw_jump2.bin", fw, sizeof(fw)));
    cfg.kernel = write_file("Image.boot", img, sizeof(img));
    cfg.initrd = write_file("initrd.boot", rd, sizeof(rd));
    cfg.cmdline = "console=ttyS0 earlycon=sbi rdinit=/init";
    VsStatus st = create(&m, &cfg, &err);
    if (st != VS_OK)
        fprintf(stderr, "create: %s\n", err.message);
    CHECK_EQ(st, VS_OK);
    RvVirtBoard *b = rv_virt_board(&m);
    CHECK(b != NULL);
    if (!b)
        return;
    CHECK(rv_virt_plic(&m) == &b->plic);
    CHECK(rv_virt_clint(&m) == &b->clint);
    CHECK(rv_virt_uart(&m) == &b->uart);

    /* Placement like QEMU 7.2 with 512 MiB. */
    CHECK_EQ(b->fw_entry, RAM_BASE);
    CHECK_EQ(b->kernel.low, 0x80200000);
    CHECK_EQ(b->initrd_start, 0x88200000);
    CHECK_EQ(b->initrd_end, 0x88200000 + sizeof(rd));
    CHECK_EQ(b->fdt_addr, 0x9fe00000);

    uint8_t got[0x4000];
    CHECK(physmem_read(&m.mem, RAM_BASE, got, sizeof(fw)) && !memcmp(got, fw, sizeof(fw)));
    CHECK(physmem_read(&m.mem, 0x80200000, got, sizeof(img)) && !memcmp(got, img, sizeof(img)));
    CHECK(physmem_read(&m.mem, 0x88200000, got, sizeof(rd)) && !memcmp(got, rd, sizeof(rd)));

    /* The device tree, read back from guest RAM. */
    const void *fdt = physmem_host_ptr(&m.mem, b->fdt_addr, 64, false);
    CHECK(fdt && fdt_check_header(fdt) == 0);
    if (!fdt || fdt_check_header(fdt) != 0)
        return;
    CHECK_EQ(fdt_totalsize(fdt), b->fdt_size);
    fdt = physmem_host_ptr(&m.mem, b->fdt_addr, fdt_totalsize(fdt), false);
    const char *dump = getenv("VESSEL_DUMP_DTB");
    if (dump) {
        FILE *f = fopen(dump, "wb");
        if (f) {
            fwrite(fdt, 1, fdt_totalsize(fdt), f);
            fclose(f);
        }
    }

    CHECK_EQ(prop_u32(fdt, "/", "#address-cells"), 2);
    CHECK_EQ(prop_u32(fdt, "/", "#size-cells"), 2);
    CHECK_STR(prop_str(fdt, "/", "compatible"), "riscv-virtio");
    CHECK_STR(prop_str(fdt, "/", "model"), "riscv-virtio,qemu");

    CHECK_STR(prop_str(fdt, "/chosen", "bootargs"), cfg.cmdline);
    CHECK_STR(prop_str(fdt, "/chosen", "stdout-path"), "/soc/serial@10000000");
    CHECK_EQ(prop_u64(fdt, "/chosen", "linux,initrd-start"), 0x88200000);
    CHECK_EQ(prop_u64(fdt, "/chosen", "linux,initrd-end"), 0x88200000 + sizeof(rd));
    int len;
    CHECK(prop(fdt, "/chosen", "rng-seed", &len) && len == 32);

    CHECK_STR(prop_str(fdt, "/memory@80000000", "device_type"), "memory");
    CHECK(prop_cells(fdt, "/memory@80000000", "reg", (uint32_t[]){ 0, 0x80000000, 0, 0x20000000 },
                     4));

    CHECK_EQ(prop_u32(fdt, "/cpus", "timebase-frequency"), 10000000);
    CHECK_EQ(prop_u32(fdt, "/cpus", "#address-cells"), 1);
    CHECK_EQ(prop_u32(fdt, "/cpus", "#size-cells"), 0);
    uint32_t intc[NHARTS];
    for (unsigned h = 0; h < NHARTS; h++) {
        char cpu[64], ic[96], core[64];
        snprintf(cpu, sizeof(cpu), "/cpus/cpu@%u", h);
        snprintf(ic, sizeof(ic), "%s/interrupt-controller", cpu);
        snprintf(core, sizeof(core), "/cpus/cpu-map/cluster0/core%u", h);
        CHECK_STR(prop_str(fdt, cpu, "device_type"), "cpu");
        CHECK_EQ(prop_u32(fdt, cpu, "reg"), h);
        CHECK_STR(prop_str(fdt, cpu, "status"), "okay");
        CHECK_STR(prop_str(fdt, cpu, "compatible"), "riscv");
        CHECK_STR(prop_str(fdt, cpu, "riscv,isa"), "rv64imafdc_zicsr_zifencei_zba_zbb");
        CHECK_STR(prop_str(fdt, cpu, "mmu-type"), "riscv,sv48");
        CHECK_STR(prop_str(fdt, ic, "compatible"), "riscv,cpu-intc");
        CHECK_EQ(prop_u32(fdt, ic, "#interrupt-cells"), 1);
        CHECK(prop(fdt, ic, "interrupt-controller", &len) && len == 0);
        intc[h] = prop_u32(fdt, ic, "phandle");
        CHECK_EQ(fdt_node_offset_by_phandle(fdt, intc[h]), fdt_path_offset(fdt, ic));
        CHECK_EQ(prop_u32(fdt, core, "cpu"), prop_u32(fdt, cpu, "phandle"));
    }
    CHECK(intc[0] != intc[1]);

    const char *soc = "/soc";
    CHECK_STR(prop_str(fdt, soc, "compatible"), "simple-bus");
    CHECK(prop(fdt, soc, "ranges", &len) && len == 0);
    CHECK_EQ(prop_u32(fdt, soc, "#address-cells"), 2);

    const char *clint = "/soc/clint@2000000";
    CHECK(prop_strlist(fdt, clint, "compatible",
                       (const char *const[]){ "sifive,clint0", "riscv,clint0" }, 2));
    CHECK(prop_cells(fdt, clint, "reg", (uint32_t[]){ 0, 0x2000000, 0, 0x10000 }, 4));
    CHECK(prop_cells(fdt, clint, "interrupts-extended",
                     (uint32_t[]){ intc[0], 3, intc[0], 7, intc[1], 3, intc[1], 7 }, 8));

    const char *plic = "/soc/plic@c000000";
    CHECK(prop_strlist(fdt, plic, "compatible",
                       (const char *const[]){ "sifive,plic-1.0.0", "riscv,plic0" }, 2));
    CHECK(prop_cells(fdt, plic, "reg", (uint32_t[]){ 0, 0xc000000, 0, 0x600000 }, 4));
    CHECK(prop_cells(fdt, plic, "interrupts-extended",
                     (uint32_t[]){ intc[0], 11, intc[0], 9, intc[1], 11, intc[1], 9 }, 8));
    CHECK_EQ(prop_u32(fdt, plic, "riscv,ndev"), 95);
    CHECK_EQ(prop_u32(fdt, plic, "#interrupt-cells"), 1);
    CHECK_EQ(prop_u32(fdt, plic, "#address-cells"), 0);
    CHECK(prop(fdt, plic, "interrupt-controller", &len) && len == 0);
    uint32_t ph_plic = prop_u32(fdt, plic, "phandle");
    CHECK_EQ(fdt_node_offset_by_phandle(fdt, ph_plic), fdt_path_offset(fdt, plic));

    const char *uart = "/soc/serial@10000000";
    CHECK_STR(prop_str(fdt, uart, "compatible"), "ns16550a");
    CHECK(prop_cells(fdt, uart, "reg", (uint32_t[]){ 0, 0x10000000, 0, 0x100 }, 4));
    CHECK_EQ(prop_u32(fdt, uart, "clock-frequency"), 3686400);
    CHECK_EQ(prop_u32(fdt, uart, "interrupts"), 10);
    CHECK_EQ(prop_u32(fdt, uart, "interrupt-parent"), ph_plic);

    const char *rtc = "/soc/rtc@101000";
    CHECK_STR(prop_str(fdt, rtc, "compatible"), "google,goldfish-rtc");
    CHECK(prop_cells(fdt, rtc, "reg", (uint32_t[]){ 0, 0x101000, 0, 0x1000 }, 4));
    CHECK_EQ(prop_u32(fdt, rtc, "interrupts"), 11);
    CHECK_EQ(prop_u32(fdt, rtc, "interrupt-parent"), ph_plic);

    const char *test = "/soc/test@100000";
    CHECK(prop_strlist(fdt, test, "compatible",
                       (const char *const[]){ "sifive,test1", "sifive,test0", "syscon" }, 3));
    CHECK(prop_cells(fdt, test, "reg", (uint32_t[]){ 0, 0x100000, 0, 0x1000 }, 4));
    uint32_t ph_test = prop_u32(fdt, test, "phandle");
    CHECK_EQ(fdt_node_offset_by_phandle(fdt, ph_test), fdt_path_offset(fdt, test));
    CHECK_STR(prop_str(fdt, "/poweroff", "compatible"), "syscon-poweroff");
    CHECK_EQ(prop_u32(fdt, "/poweroff", "regmap"), ph_test);
    CHECK_EQ(prop_u32(fdt, "/poweroff", "offset"), 0);
    CHECK_EQ(prop_u32(fdt, "/poweroff", "value"), 0x5555);
    CHECK_STR(prop_str(fdt, "/reboot", "compatible"), "syscon-reboot");
    CHECK_EQ(prop_u32(fdt, "/reboot", "regmap"), ph_test);
    CHECK_EQ(prop_u32(fdt, "/reboot", "value"), 0x7777);

    /* No virtio transports yet, so no nodes that would make Linux probe empty MMIO. */
    CHECK(fdt_node_offset_by_compatible(fdt, -1, "virtio,mmio") < 0);

    /* Boot state: every hart at the firmware entry with a0 = hart id, a1 = FDT. */
    for (unsigned h = 0; h < NHARTS; h++) {
        m.board_ops->cpu_boot_state(&m, &g_harts[h].common);
        CHECK_EQ(g_harts[h].pc, RAM_BASE);
        CHECK_EQ(g_harts[h].x[10], h);
        CHECK_EQ(g_harts[h].x[11], 0x9fe00000);
        CHECK_EQ(g_harts[h].priv, RV_PRV_M);
        CHECK(g_harts[h].read_mtime == aclint_read_mtime);
        CHECK(g_harts[h].mtime_opaque == &b->clint);
    }

    /* Devices through the memory map. */
    uint64_t v;
    CHECK(physmem_load(&m.mem, 0x10000005, 1, &v));
    CHECK_EQ(v, 0x60);
    m.board_ops->serial_input(&m, (const uint8_t *)"ok", 2);
    CHECK(physmem_load(&m.mem, 0x10000005, 1, &v));
    CHECK_EQ(v, 0x61);
    CHECK(physmem_load(&m.mem, 0x10000000, 1, &v));
    CHECK_EQ(v, 'o');
    g_serial_len = 0;
    CHECK(physmem_store(&m.mem, 0x10000000, 1, 'Z'));
    CHECK_EQ(g_serial_len, 1);
    CHECK_EQ(g_serial[0], 'Z');

    /* UART interrupt reaches hart 0 S-mode through PLIC source 10. */
    CHECK(physmem_store(&m.mem, 0xc000000 + 4 * 10, 4, 1));
    CHECK(physmem_store(&m.mem, 0xc002080, 4, 1u << 10));
    CHECK(physmem_store(&m.mem, 0x10000001, 1, 0x01)); /* IER.RDI, 'k' still queued */
    CHECK((atomic_load(&g_harts[0].mip) >> RV_IRQ_SEI) & 1);
    CHECK(physmem_load(&m.mem, 0xc201004, 4, &v));
    CHECK_EQ(v, 10);
    CHECK(physmem_load(&m.mem, 0x10000000, 1, &v));
    CHECK_EQ(v, 'k');
    CHECK(physmem_store(&m.mem, 0xc201004, 4, 10));
    CHECK(!((atomic_load(&g_harts[0].mip) >> RV_IRQ_SEI) & 1));

    /* CLINT MSIP for hart 1. */
    CHECK(physmem_store(&m.mem, 0x2000004, 4, 1));
    CHECK((atomic_load(&g_harts[1].mip) >> RV_IRQ_MSI) & 1);

    /* The test device powers off. */
    g_stop_reason = VS_STOP_NONE;
    CHECK(physmem_store(&m.mem, 0x100000, 4, 0x5555));
    CHECK_EQ(g_stop_reason, VS_STOP_POWEROFF);

    /* Reset: the guest overwrote its images; they come back, devices go quiet. */
    uint8_t scribble[64];
    memset(scribble, 0x5a, sizeof(scribble));
    physmem_write(&m.mem, RAM_BASE, scribble, sizeof(scribble));
    physmem_write(&m.mem, 0x80200000, scribble, sizeof(scribble));
    physmem_write(&m.mem, 0x88200000, scribble, sizeof(scribble));
    physmem_write(&m.mem, 0x9fe00000, scribble, sizeof(scribble));
    m.board_ops->reset(&m);
    for (unsigned h = 0; h < NHARTS; h++) {
        atomic_store(&g_harts[h].mip, 0);
        m.board_ops->cpu_boot_state(&m, &g_harts[h].common);
    }
    CHECK(physmem_read(&m.mem, RAM_BASE, got, sizeof(fw)) && !memcmp(got, fw, sizeof(fw)));
    CHECK(physmem_read(&m.mem, 0x80200000, got, sizeof(img)) && !memcmp(got, img, sizeof(img)));
    CHECK(physmem_read(&m.mem, 0x88200000, got, sizeof(rd)) && !memcmp(got, rd, sizeof(rd)));
    CHECK(fdt_check_header(physmem_host_ptr(&m.mem, 0x9fe00000, 64, false)) == 0);
    CHECK_EQ(atomic_load(&g_harts[1].mip), 0);
    CHECK(physmem_load(&m.mem, 0x2000004, 4, &v));
    CHECK_EQ(v, 0);

    /* Hostile accesses over the whole device map, through the bus. */
    uint64_t rng = 0x1234567;
    static const uint64_t ranges[][2] = {
        { 0x100000, 0x102000 },   { 0x2000000, 0x2010000 },   { 0xc000000, 0xc003000 },
        { 0xc1fff00, 0xc204000 }, { 0x10000000, 0x10000100 },
    };
    for (unsigned r = 0; r < sizeof(ranges) / sizeof(ranges[0]); r++) {
        for (uint64_t a = ranges[r][0]; a < ranges[r][1]; a += 1) {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            unsigned size = 1u << (rng % 4);
            (void)physmem_load(&m.mem, a, size, &v);
            /* never hit the test device's command word with a value that stops */
            if (a >= 0x100000 && a < 0x101000)
                continue;
            physmem_store(&m.mem, a, size, rng);
        }
    }

    machine_fini(&m);
}

/* The smallest machine: 16 MiB, one hart, firmware only. */
static void test_board_minimal(void)
{
    VsMachine m;
    VsError err = { 0 };
    static uint8_t elf[4096];
    Seg seg = { PT_LOAD, RAM_BASE + 0x1000, 0x20, 0x100, 9 };
    size_t n = make_elf(elf, sizeof(elf), RAM_BASE + 0x1010, &seg, 1);
    VsConfig cfg = base_config(write_file("bare.elf", elf, n));
    cfg.ram_size = 16ull << 20;
    cfg.smp = 1;
    VsStatus st = create(&m, &cfg, &err);
    if (st != VS_OK)
        fprintf(stderr, "create: %s\n", err.message);
    CHECK_EQ(st, VS_OK);
    RvVirtBoard *b = rv_virt_board(&m);
    if (!b)
        return;
    CHECK_EQ(b->fw_entry, RAM_BASE + 0x1010);
    CHECK_EQ(b->fdt_addr, 0x80e00000);
    const void *fdt = physmem_host_ptr(&m.mem, b->fdt_addr, 64, false);
    CHECK(fdt_check_header(fdt) == 0);
    CHECK(prop_str(fdt, "/chosen", "bootargs") == NULL);
    int len;
    CHECK(prop(fdt, "/chosen", "linux,initrd-start", &len) == NULL);
    CHECK(fdt_path_offset(fdt, "/cpus/cpu@1") < 0);
    CHECK(
        prop_cells(fdt, "/soc/plic@c000000", "interrupts-extended",
                   (uint32_t[]){ prop_u32(fdt, "/cpus/cpu@0/interrupt-controller", "phandle"), 11,
                                 prop_u32(fdt, "/cpus/cpu@0/interrupt-controller", "phandle"), 9 },
                   4));
    m.board_ops->cpu_boot_state(&m, &g_harts[0].common);
    CHECK_EQ(g_harts[0].pc, RAM_BASE + 0x1010);
    CHECK_EQ(g_harts[0].x[11], 0x80e00000);
    machine_fini(&m);
}

/* Device tree with every virtio slot and 64 harts: well-formed, nodes where expected. */
static void test_fdt_params(void)
{
    VsError err = { 0 };
    void *fdt;
    size_t size;
    RvVirtFdtParams p = { .nharts = 64,
                          .ram_base = RAM_BASE,
                          .ram_size = 8ull << 30,
                          .virtio_slots = 0xff,
                          .cmdline = "" };
    CHECK_EQ(rv_virt_build_fdt(&p, &fdt, &size, &err), VS_OK);
    CHECK(fdt_check_header(fdt) == 0);
    CHECK_EQ(fdt_totalsize(fdt), size);
    CHECK(prop_cells(fdt, "/memory@80000000", "reg", (uint32_t[]){ 0, 0x80000000, 2, 0 }, 4));
    CHECK(fdt_path_offset(fdt, "/cpus/cpu@63/interrupt-controller") >= 0);
    int len;
    CHECK(prop(fdt, "/soc/clint@2000000", "interrupts-extended", &len) && len == 64 * 16);
    for (unsigned i = 0; i < 8; i++) {
        char path[64];
        snprintf(path, sizeof(path), "/soc/virtio_mmio@%x", 0x10001000 + 0x1000 * i);
        CHECK_EQ(prop_u32(fdt, path, "interrupts"), 1 + i);
        CHECK_STR(prop_str(fdt, path, "compatible"), "virtio,mmio");
    }
    CHECK_STR(prop_str(fdt, "/chosen", "bootargs"), "");
    free(fdt);

    p.nharts = 0;
    CHECK(rv_virt_build_fdt(&p, &fdt, &size, &err) != VS_OK);
    p.nharts = 1;
    static char longline[70000];
    memset(longline, 'a', sizeof(longline) - 1);
    p.cmdline = longline;
    CHECK_MSG(rv_virt_build_fdt(&p, &fdt, &size, &err), &err, "command line is too long");
}

int main(void)
{
    snprintf(g_dir, sizeof(g_dir), "/tmp/vessel-test-loader-XXXXXX");
    if (!mkdtemp(g_dir)) {
        perror("mkdtemp");
        return 2;
    }
    mem_setup();
    test_read_file();
    test_elf_good();
    test_elf_bad();
    test_kernel();
    physmem_destroy(&g_mem);
    test_placement();
    test_board_errors();
    test_board_boot();
    test_board_minimal();
    test_fdt_params();

    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", g_dir);
    printf("%d passed, %d failed\n", g_pass, g_fail);
    return g_fail ? 1 : 0;
}
