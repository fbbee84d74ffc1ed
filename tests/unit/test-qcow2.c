/* SPDX-License-Identifier: MIT */
/*
 * The block layer: raw and qcow2 read/write, backing chains, discard and write-zeroes,
 * check/repair, and every qcow2 item of the bad-input list (TESTING.md, item 8), plus flush
 * durability across kill -9 (item 7). Where /usr/bin/qemu-img exists it is the oracle:
 * images Vessel writes must pass `qemu-img check` and `qemu-img compare` against a raw model
 * written with the same operations, and images qemu-img/qemu-io make must read correctly.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "block/block-int.h"
#include "block/block.h"
#include "tmpdir.h"

static int fails, checks;
static char dir[256];
static bool have_qemu;

#define CHECK(cond, ...)                                \
    do {                                                \
        checks++;                                       \
        if (!(cond)) {                                  \
            fails++;                                    \
            printf("FAIL %s:%d: ", __FILE__, __LINE__); \
            printf(__VA_ARGS__);                        \
            printf("\n");                               \
        }                                               \
    } while (0)

static const char *path(const char *name)
{
    static char bufs[1024][320];
    static int i;
    char *b = bufs[i++ & 1023];
    snprintf(b, 512, "%s/%s", dir, name);
    return b;
}

/* Run a shell command quietly; returns its exit status (or -1). */
static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
    char cmd[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    char full[2400];
    snprintf(full, sizeof(full), "(%s) >%s/cmd.log 2>&1", cmd, dir);
    int r = system(full);
    if (r == -1 || !WIFEXITED(r))
        return -1;
    return WEXITSTATUS(r);
}

static void show_log(void)
{
    char p[300];
    snprintf(p, sizeof(p), "%s/cmd.log", dir);
    FILE *f = fopen(p, "r");
    char line[512];
    while (f && fgets(line, sizeof(line), f))
        printf("    | %s", line);
    if (f)
        fclose(f);
}

static void qemu_check_clean(const char *img)
{
    if (!have_qemu)
        return;
    int r = sh("qemu-img check '%s'", img);
    CHECK(r == 0, "qemu-img check %s exit %d", img, r);
    if (r)
        show_log();
}

static void qemu_compare(const char *a, const char *b)
{
    if (!have_qemu)
        return;
    int r = sh("qemu-img compare '%s' '%s'", a, b);
    CHECK(r == 0, "qemu-img compare %s %s exit %d", a, b, r);
    if (r)
        show_log();
}

static uint8_t pat(uint64_t off, unsigned seed)
{
    uint64_t x = (off + 1) * 0x9e3779b97f4a7c15ull ^ ((uint64_t)seed << 32);
    x ^= x >> 29;
    return (uint8_t)(x ^ (x >> 13) ^ seed);
}

static void fill(uint8_t *b, uint64_t off, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        b[i] = pat(off + i, seed);
}

static BlockImage *open_ok(const char *p, BlockFormat f, unsigned flags)
{
    BlockImage *img = NULL;
    VsError err = { 0 };
    VsStatus st = block_open(p, f, flags, &img, &err);
    CHECK(st == VS_OK, "open %s: %s", p, err.message);
    return st == VS_OK ? img : NULL;
}

static void close_ok(BlockImage *img)
{
    VsError err = { 0 };
    if (img)
        CHECK(block_close(img, &err) == VS_OK, "close: %s", err.message);
}

/* Open must fail with a message containing `want`. */
static void open_fails_as(const char *p, BlockFormat fmt, unsigned flags, const char *want)
{
    BlockImage *img = NULL;
    VsError err = { 0 };
    VsStatus st = block_open(p, fmt, flags, &img, &err);
    CHECK(st != VS_OK, "open %s should fail (%s)", p, want);
    if (st == VS_OK) {
        block_close(img, NULL);
        return;
    }
    CHECK(strstr(err.message, want) != NULL, "open %s: message '%s' lacks '%s'", p, err.message,
          want);
    CHECK(strstr(err.message, p) != NULL, "message '%s' does not name the file", err.message);
}

static void open_fails(const char *p, unsigned flags, const char *want)
{
    open_fails_as(p, BLOCK_FORMAT_AUTO, flags, want);
}

static void create_ok(const char *p, BlockFormat f, uint64_t size, const char *backing,
                      uint32_t cluster_size, uint32_t version)
{
    BlockCreateOptions o = { .path = p,
                             .format = f,
                             .size = size,
                             .backing_file = backing,
                             .cluster_size = cluster_size,
                             .qcow2_version = version };
    VsError err = { 0 };
    CHECK(block_create(&o, &err) == VS_OK, "create %s: %s", p, err.message);
}

static void write_ok(BlockImage *img, uint64_t off, size_t n, unsigned seed)
{
    uint8_t *b = malloc(n);
    fill(b, off, n, seed);
    VsError err = { 0 };
    CHECK(block_pwrite(img, off, b, n, &err) == VS_OK, "write %llu+%zu: %s",
          (unsigned long long)off, n, err.message);
    free(b);
}

/* The same writes on a qcow2 image and on its raw model. */
static void write2(BlockImage *a, BlockImage *b, uint64_t off, size_t n, unsigned seed)
{
    write_ok(a, off, n, seed);
    write_ok(b, off, n, seed);
}

static void expect(BlockImage *img, uint64_t off, size_t n, unsigned seed, const char *what)
{
    uint8_t *b = malloc(n), *want = malloc(n);
    VsError err = { 0 };
    VsStatus st = block_pread(img, off, b, n, &err);
    CHECK(st == VS_OK, "%s: read %llu+%zu: %s", what, (unsigned long long)off, n, err.message);
    if (seed == 0)
        memset(want, 0, n);
    else
        fill(want, off, n, seed);
    if (st == VS_OK) {
        size_t i = 0;
        while (i < n && b[i] == want[i])
            i++;
        CHECK(i == n, "%s: byte %llu is %#x, want %#x", what, (unsigned long long)(off + i),
              i < n ? b[i] : 0, i < n ? want[i] : 0);
    }
    free(b);
    free(want);
}

/* Read both images fully and compare (without qemu). */
static void same_content(BlockImage *a, BlockImage *b, const char *what)
{
    CHECK(block_size(a) == block_size(b), "%s: sizes differ", what);
    size_t chunk = 1u << 20;
    uint8_t *x = malloc(chunk), *y = malloc(chunk);
    VsError err = { 0 };
    for (uint64_t off = 0; off < block_size(a); off += chunk) {
        size_t n = block_size(a) - off < chunk ? (size_t)(block_size(a) - off) : chunk;
        CHECK(block_pread(a, off, x, n, &err) == VS_OK, "%s: %s", what, err.message);
        CHECK(block_pread(b, off, y, n, &err) == VS_OK, "%s: %s", what, err.message);
        if (memcmp(x, y, n)) {
            CHECK(0, "%s: contents differ in the MiB at %llu", what, (unsigned long long)off);
            break;
        }
    }
    free(x);
    free(y);
}

/* ---- raw file helpers for patching headers --------------------------------------------- */

static uint64_t rd64(const char *p, uint64_t off)
{
    uint8_t b[8] = { 0 };
    int fd = open(p, O_RDONLY);
    if (pread(fd, b, 8, (off_t)off) != 8)
        memset(b, 0, 8);
    close(fd);
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | b[i];
    return v;
}

static uint32_t rd32(const char *p, uint64_t off)
{
    return (uint32_t)(rd64(p, off) >> 32);
}

static void wr(const char *p, uint64_t off, uint64_t v, int bytes)
{
    uint8_t b[8];
    for (int i = bytes - 1; i >= 0; i--, v >>= 8)
        b[i] = (uint8_t)v;
    int fd = open(p, O_WRONLY);
    CHECK(pwrite(fd, b, (size_t)bytes, (off_t)off) == bytes, "patch %s", p);
    close(fd);
}

static void copy_file(const char *from, const char *to)
{
    CHECK(sh("cp '%s' '%s'", from, to) == 0, "cp %s %s", from, to);
}

/* Host offset of the L2 table for guest cluster 0, and of that cluster's data. */
static uint64_t l2_of(const char *p)
{
    return rd64(p, rd64(p, 40)) & 0x00fffffffffffe00ull;
}

static void check_image(const char *p, bool repair, BlockCheckResult *res);

/* ---- tests -------------------------------------------------------------------------------- */

static void test_raw(void)
{
    const char *p = path("raw.img");
    create_ok(p, BLOCK_FORMAT_RAW, 4 << 20, NULL, 0, 0);
    BlockImage *img = open_ok(p, BLOCK_FORMAT_AUTO, 0);
    if (!img)
        return;
    BlockInfo info;
    VsError err = { 0 };
    CHECK(block_get_info(img, &info, &err) == VS_OK && info.format == BLOCK_FORMAT_RAW,
          "raw detected");
    CHECK(block_size(img) == 4 << 20, "raw size");
    expect(img, 0, 4 << 20, 0, "sparse raw reads zeros");
    write_ok(img, 1000, 70000, 3);
    write_ok(img, (4 << 20) - 5, 5, 4);
    expect(img, 1000, 70000, 3, "raw unaligned write");
    expect(img, (4 << 20) - 5, 5, 4, "raw tail");
    uint8_t b[16];
    CHECK(block_pread(img, (4 << 20) - 8, b, 16, &err) == VS_ERR_INVALID,
          "read past the end refused");
    CHECK(block_write_zeroes(img, 2000, 5000, &err) == VS_OK, "raw write_zeroes");
    expect(img, 2000, 5000, 0, "raw zeroed");
    expect(img, 1000, 1000, 3, "raw before zeroes");
    CHECK(block_discard(img, 0, 1 << 20, &err) == VS_OK, "raw discard");
    CHECK(block_flush(img, &err) == VS_OK, "raw flush");

    /* A second writer is refused, and so is a reader (it would see the disk change under
     * it); an unlocked inspection open is fine. */
    BlockImage *other = NULL;
    CHECK(block_open(p, BLOCK_FORMAT_RAW, 0, &other, &err) == VS_ERR_STATE &&
              strstr(err.message, "in use by another program"),
          "second writer refused: %s", err.message);
    CHECK(block_open(p, BLOCK_FORMAT_RAW, BLOCK_OPEN_READ_ONLY, &other, &err) == VS_ERR_STATE &&
              strstr(err.message, "in use by another program that writes"),
          "reader of a written image refused: %s", err.message);
    CHECK(block_open(p, BLOCK_FORMAT_RAW, BLOCK_OPEN_SHARED, &other, &err) == VS_ERR_INVALID,
          "unlocked writable open refused");
    BlockImage *ro = open_ok(p, BLOCK_FORMAT_RAW, BLOCK_OPEN_READ_ONLY | BLOCK_OPEN_SHARED);
    if (ro) {
        CHECK(block_pwrite(ro, 0, b, 16, &err) == VS_ERR_STATE, "read-only write refused");
        expect(ro, (4 << 20) - 5, 5, 4, "read-only reader sees data");
        close_ok(ro);
    }
    close_ok(img);

    /* A detected raw image may not be turned into a qcow2 by a write; a raw by request may. */
    img = open_ok(p, BLOCK_FORMAT_AUTO, 0);
    if (img) {
        CHECK(block_pwrite(img, 0, "QFI\xfb", 4, &err) == VS_ERR_STATE &&
                  strstr(err.message, "qcow2 header"),
              "magic write refused: %s", err.message);
        CHECK(block_pwrite(img, 0, "QF", 2, &err) == VS_OK, "half the magic is fine");
        CHECK(block_pwrite(img, 2, "I\xfb\0\0", 4, &err) == VS_ERR_STATE,
              "completing the magic is refused");
        CHECK(block_pwrite(img, 4, "\0\0\0\3", 4, &err) == VS_OK, "later bytes are fine");
        struct iovec split[2] = { { "QF", 2 }, { "I\xfb", 2 } };
        CHECK(block_pwritev(img, 0, split, 2, &err) == VS_ERR_STATE,
              "a magic split over two buffers is refused too");
        CHECK(block_pwrite(img, 0, "\0\0\0\0", 4, &err) == VS_OK, "restore");
        close_ok(img);
    }
    img = open_ok(p, BLOCK_FORMAT_RAW, 0);
    if (img) {
        CHECK(block_pwrite(img, 0, "QFI\xfb", 4, &err) == VS_OK, "explicit raw may: %s",
              err.message);
        CHECK(block_pwrite(img, 0, "\0\0\0\0", 4, &err) == VS_OK, "restore");
        close_ok(img);
    }
    open_fails(path("missing.img"), 0, "No such file");
    open_fails(dir, BLOCK_OPEN_READ_ONLY, "folder");
    /* A FIFO (no writer) or a character device: refused at once, no hang. */
    CHECK(mkfifo(path("fifo"), 0600) == 0, "mkfifo");
    open_fails(path("fifo"), BLOCK_OPEN_READ_ONLY, "not a regular file or block device");
    open_fails(path("fifo"), 0, "not a regular file or block device");
    open_fails_as("/dev/zero", BLOCK_FORMAT_RAW, BLOCK_OPEN_READ_ONLY, "not a regular file");
    create_ok(path("fifo-top.qcow2"), BLOCK_FORMAT_QCOW2, 1 << 20, "raw.img", 0, 3);
    const char *t = path("fifo-top.qcow2");
    uint64_t boff = rd64(t, 8);
    int fd = open(t, O_WRONLY);
    CHECK(pwrite(fd, "fifo", 4, (off_t)boff) == 4, "patch name");
    close(fd);
    wr(t, 16, 4, 4);
    open_fails(t, BLOCK_OPEN_READ_ONLY, "not a regular file or block device");
}

/* Vessel-created qcow2: writes of every shape, compared with a raw model. */
static void test_rw(uint32_t cluster_size, uint32_t version, uint64_t size)
{
    char name[64], model[64];
    snprintf(name, sizeof(name), "rw-%u-v%u.qcow2", cluster_size, version);
    snprintf(model, sizeof(model), "rw-%u-v%u.raw", cluster_size, version);
    const char *q = path(name), *r = path(model);
    create_ok(q, BLOCK_FORMAT_QCOW2, size, NULL, cluster_size, version);
    create_ok(r, BLOCK_FORMAT_RAW, size, NULL, 0, 0);
    qemu_check_clean(q);
    BlockImage *a = open_ok(q, BLOCK_FORMAT_AUTO, 0), *b = open_ok(r, BLOCK_FORMAT_RAW, 0);
    if (!a || !b)
        return;
    CHECK(block_size(a) == size, "qcow2 size");
    expect(a, 0, 1 << 20, 0, "new qcow2 reads zeros");
    write2(a, b, 0, 512, 1);
    write2(a, b, 777, 3000, 2);                                   /* unaligned, inside a cluster */
    write2(a, b, cluster_size - 100, 300, 3);                     /* across a cluster boundary */
    write2(a, b, 5ull * cluster_size, 4u * cluster_size + 17, 4); /* several clusters */
    write2(a, b, size - 1000, 1000, 5);                           /* the last bytes */
    write2(a, b, size / 2, 3u << 20, 6);                          /* a big write */
    write2(a, b, 800, 100, 7);                                    /* overwrite in place */
    write2(a, b, size / 2 + 4096, 8192, 8); /* overwrite inside the big write */
    /* Scatter-gather: three pieces across a cluster boundary, read back in two. */
    uint8_t *sg = malloc(3 * cluster_size);
    fill(sg, 2ull * cluster_size - 700, 3 * cluster_size, 9);
    struct iovec wv[3] = { { sg, 500 }, { sg + 500, 0 }, { sg + 500, 3 * cluster_size - 500 } };
    struct iovec rv[2] = { { sg, 1 }, { sg + 1, 3 * cluster_size - 1 } };
    VsError verr = { 0 };
    CHECK(block_pwritev(a, 2ull * cluster_size - 700, wv, 3, &verr) == VS_OK &&
              block_pwritev(b, 2ull * cluster_size - 700, wv, 3, &verr) == VS_OK,
          "pwritev: %s", verr.message);
    memset(sg, 0, 3 * cluster_size);
    CHECK(block_preadv(a, 2ull * cluster_size - 700, rv, 2, &verr) == VS_OK, "preadv: %s",
          verr.message);
    uint8_t *want = malloc(3 * cluster_size);
    fill(want, 2ull * cluster_size - 700, 3 * cluster_size, 9);
    CHECK(!memcmp(sg, want, 3 * cluster_size), "preadv returns what pwritev wrote");
    CHECK(block_preadv(a, size - 10, rv, 2, &verr) == VS_ERR_INVALID, "preadv past the end");
    free(sg);
    free(want);
    VsError err = { 0 };
    CHECK(block_flush(a, &err) == VS_OK, "flush: %s", err.message);
    same_content(a, b, "before reopen");
    close_ok(a);
    close_ok(b);
    qemu_check_clean(q);
    qemu_compare(q, r);
    a = open_ok(q, BLOCK_FORMAT_QCOW2, BLOCK_OPEN_READ_ONLY);
    b = open_ok(r, BLOCK_FORMAT_RAW, BLOCK_OPEN_READ_ONLY);
    if (a && b)
        same_content(a, b, "after reopen");
    if (a) {
        BlockCheckResult res;
        CHECK(block_check(a, false, &res, NULL, NULL, &err) == VS_OK && !res.corruptions &&
                  !res.leaks,
              "own check clean (%llu corruptions, %llu leaks)", (unsigned long long)res.corruptions,
              (unsigned long long)res.leaks);
    }
    close_ok(a);
    close_ok(b);
}

/* Enough 512-byte clusters to outgrow the first refcount table and block. */
static void test_refcount_growth(void)
{
    const char *q = path("grow.qcow2"), *r = path("grow.raw");
    create_ok(q, BLOCK_FORMAT_QCOW2, 64 << 20, NULL, 512, 3);
    create_ok(r, BLOCK_FORMAT_RAW, 64 << 20, NULL, 0, 0);
    BlockImage *a = open_ok(q, BLOCK_FORMAT_QCOW2, 0), *b = open_ok(r, BLOCK_FORMAT_RAW, 0);
    if (!a || !b)
        return;
    for (uint64_t off = 0; off < (12u << 20); off += 1u << 20)
        write2(a, b, off * 2 + 1234, 1u << 20, 9);
    close_ok(a);
    close_ok(b);
    CHECK(rd32(q, 56) > 1, "the refcount table grew (%u clusters)", rd32(q, 56));
    qemu_check_clean(q);
    qemu_compare(q, r);
}

static void test_zeroes_discard(uint32_t version, bool with_backing)
{
    char name[64];
    snprintf(name, sizeof(name), "zero-v%u-%d.qcow2", version, with_backing);
    const char *q = path(name), *r = path("zero.raw"), *base = path("zero-base.raw");
    uint64_t size = 8 << 20, cs = 65536;
    if (with_backing) {
        create_ok(base, BLOCK_FORMAT_RAW, size, NULL, 0, 0);
        BlockImage *bb = open_ok(base, BLOCK_FORMAT_RAW, 0);
        if (bb) {
            write_ok(bb, 0, size, 11);
            close_ok(bb);
        }
    }
    create_ok(q, BLOCK_FORMAT_QCOW2, size, with_backing ? "zero-base.raw" : NULL, 0, version);
    copy_file(with_backing ? base : q, r);
    if (!with_backing)
        create_ok(r, BLOCK_FORMAT_RAW, size, NULL, 0, 0);
    BlockImage *a = open_ok(q, BLOCK_FORMAT_QCOW2, 0), *b = open_ok(r, BLOCK_FORMAT_RAW, 0);
    if (!a || !b)
        return;
    write2(a, b, 0, 4 * cs, 12);
    VsError err = { 0 };
    /* Whole clusters, a partial cluster, and an unallocated range. */
    CHECK(block_write_zeroes(a, cs, 2 * cs, &err) == VS_OK, "write_zeroes: %s", err.message);
    CHECK(block_write_zeroes(b, cs, 2 * cs, &err) == VS_OK, "model write_zeroes");
    CHECK(block_write_zeroes(a, 3 * cs + 100, 1000, &err) == VS_OK, "partial: %s", err.message);
    CHECK(block_write_zeroes(b, 3 * cs + 100, 1000, &err) == VS_OK, "model partial");
    CHECK(block_write_zeroes(a, 6 * cs, 3 * cs, &err) == VS_OK, "unallocated: %s", err.message);
    CHECK(block_write_zeroes(b, 6 * cs, 3 * cs, &err) == VS_OK, "model unallocated");
    expect(a, cs, 2 * cs, 0, "zeroed clusters read zeros");
    expect(a, 6 * cs, 3 * cs, 0, "zeroed backing clusters read zeros");
    expect(a, 0, cs, 12, "data before the zeroes");
    /* Discard releases whole clusters: the content is unspecified, so the model copies it. */
    CHECK(block_discard(a, 0, cs + 5, &err) == VS_OK, "discard: %s", err.message);
    uint8_t *buf = malloc(cs);
    CHECK(block_pread(a, 0, buf, cs, &err) == VS_OK, "read discarded");
    CHECK(block_pwrite(b, 0, buf, cs, &err) == VS_OK, "model discarded");
    free(buf);
    CHECK(block_flush(a, &err) == VS_OK, "flush: %s", err.message);
    same_content(a, b, "zeroes/discard");
    close_ok(a);
    close_ok(b);
    qemu_check_clean(q);
    qemu_compare(q, r);
}

/* A chain base <- mid (Vessel) <- top (Vessel), with copy-on-write of partial clusters. */
static void test_backing_chain(void)
{
    const char *base = path("base.qcow2"), *mid = path("mid.qcow2"), *top = path("top.qcow2");
    const char *model = path("chain.raw");
    uint64_t size = 4 << 20;
    create_ok(base, BLOCK_FORMAT_QCOW2, size, NULL, 0, 3);
    BlockImage *b = open_ok(base, BLOCK_FORMAT_QCOW2, 0);
    if (!b)
        return;
    write_ok(b, 0, size, 21);
    close_ok(b);
    create_ok(mid, BLOCK_FORMAT_QCOW2, 0, "base.qcow2", 0, 3);
    create_ok(top, BLOCK_FORMAT_QCOW2, 0, mid, 0, 2); /* absolute name, v2 */
    create_ok(model, BLOCK_FORMAT_RAW, size, NULL, 0, 0);
    BlockImage *r = open_ok(model, BLOCK_FORMAT_RAW, 0);
    BlockImage *m = open_ok(mid, BLOCK_FORMAT_AUTO, 0);
    if (!r || !m)
        return;
    write_ok(r, 0, size, 21);
    write2(m, r, 100000, 5000, 22);
    close_ok(m);
    BlockImage *t = open_ok(top, BLOCK_FORMAT_AUTO, 0);
    if (!t)
        return;
    BlockInfo info;
    VsError err = { 0 };
    CHECK(block_get_info(t, &info, &err) == VS_OK && !strcmp(info.backing_format, "qcow2") &&
              info.qcow2_version == 2 && info.allocated == 0,
          "top info: fmt '%s' v%u alloc %llu", info.backing_format, info.qcow2_version,
          (unsigned long long)info.allocated);
    CHECK(block_size(t) == size, "size taken from the backing file");
    write2(t, r, 3000, 10, 23);        /* COW from base */
    write2(t, r, 101000, 100, 24);     /* COW from mid */
    write2(t, r, size - 70000, 1, 25); /* COW near the end */
    same_content(t, r, "chain");
    close_ok(t);
    close_ok(r);
    qemu_check_clean(mid);
    qemu_check_clean(top);
    qemu_compare(top, model);

    /* Read-only open without the chain: data held by the backing files is refused. */
    t = open_ok(top, BLOCK_FORMAT_QCOW2, BLOCK_OPEN_READ_ONLY | BLOCK_OPEN_NO_BACKING);
    if (t) {
        uint8_t x[16];
        CHECK(block_pread(t, size - 8192, x, 16, &err) == VS_ERR_STATE, "no backing opened");
        close_ok(t);
    }
    /* A missing backing file is a clear error. */
    create_ok(path("orphan.qcow2"), BLOCK_FORMAT_QCOW2, 0, "chain.raw", 0, 3);
    unlink(model);
    open_fails(path("orphan.qcow2"), BLOCK_OPEN_READ_ONLY, "backing file 'chain.raw'");
}

/* Images made by qemu-img and qemu-io: v2, v3, compressed, zero clusters, backing, refcount
 * widths. Vessel reads them, writes them, and qemu-img check/compare judge the result. */
static void test_qemu_images(void)
{
    if (!have_qemu) {
        printf("SKIP qemu-made images: /usr/bin/qemu-img not found (install qemu-utils)\n");
        return;
    }
    static const struct {
        const char *name, *opts;
    } kinds[] = {
        { "q-v2.qcow2", "compat=0.10" },          { "q-v3.qcow2", "compat=1.1" },
        { "q-v3-4k.qcow2", "cluster_size=4096" }, { "q-rc1.qcow2", "refcount_bits=1" },
        { "q-rc8.qcow2", "refcount_bits=8" },     { "q-rc64.qcow2", "refcount_bits=64" },
        { "q-lazy.qcow2", "lazy_refcounts=on" },  { "q-prealloc.qcow2", "preallocation=metadata" },
    };
    for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
        const char *q = path(kinds[k].name), *r = path("q-model.raw");
        int rc = sh("qemu-img create -f qcow2 -o %s '%s' 16M && "
                    "qemu-io -c 'write -P 0xab 0 96k' -c 'write -P 0xcd 1M 4k' "
                    "-c 'write -P 0xef 8M 64k' -c 'write -z 8M 64k' '%s' && "
                    "qemu-img convert -O raw '%s' '%s'",
                    kinds[k].opts, q, q, q, r);
        CHECK(rc == 0, "qemu-img create %s", kinds[k].name);
        if (rc) {
            show_log();
            continue;
        }
        BlockImage *a = open_ok(q, BLOCK_FORMAT_AUTO, 0), *b = open_ok(r, BLOCK_FORMAT_RAW, 0);
        if (!a || !b)
            continue;
        uint8_t x[4096];
        VsError err = { 0 };
        CHECK(block_pread(a, 0, x, sizeof(x), &err) == VS_OK && x[0] == 0xab && x[4095] == 0xab,
              "%s: qemu-io pattern", kinds[k].name);
        expect(a, 8 << 20, 65536, 0, kinds[k].name);
        same_content(a, b, kinds[k].name);
        write2(a, b, 1000, 200000, 31);
        write2(a, b, (1 << 20) + 10, 10, 32);
        write2(a, b, (8 << 20) + 4096, 100, 33); /* into a zero cluster */
        write2(a, b, (15 << 20) + 1, 65536, 34);
        CHECK(block_write_zeroes(a, 2 << 20, 1 << 20, &err) == VS_OK, "zeroes");
        CHECK(block_write_zeroes(b, 2 << 20, 1 << 20, &err) == VS_OK, "model zeroes");
        close_ok(a);
        close_ok(b);
        qemu_check_clean(q);
        qemu_compare(q, r);
    }

    /* Compressed clusters (read, and copy-on-write out of them). */
    const char *src = path("c-src.raw"), *c = path("c.qcow2"), *r = path("c-model.raw");
    CHECK(sh("head -c 3000000 /dev/urandom > '%s' && yes vessel | head -c 2000000 >> '%s' && "
             "truncate -s 8M '%s' && qemu-img convert -c -O qcow2 '%s' '%s' && cp '%s' '%s'",
             src, src, src, src, c, src, r) == 0,
          "compressed image");
    BlockImage *a = open_ok(c, BLOCK_FORMAT_AUTO, 0), *b = open_ok(r, BLOCK_FORMAT_RAW, 0);
    if (a && b) {
        same_content(a, b, "compressed read");
        write2(a, b, 3100000, 1000, 35); /* partial write into a compressed cluster */
        write2(a, b, 0, 65536, 36);      /* whole-cluster overwrite */
        VsError err = { 0 };
        CHECK(block_write_zeroes(a, 4 << 20, 65536, &err) == VS_OK, "zero compressed");
        CHECK(block_write_zeroes(b, 4 << 20, 65536, &err) == VS_OK, "model");
        same_content(a, b, "compressed after writes");
    }
    close_ok(a);
    close_ok(b);
    qemu_check_clean(c);
    qemu_compare(c, r);

    /* qemu-img overlays on a qcow2 and on a raw base. */
    const char *qb = path("qb.qcow2"), *qo = path("qo.qcow2"), *qr = path("qr.raw");
    CHECK(sh("qemu-img create -f qcow2 '%s' 4M && qemu-io -c 'write -P 0x11 0 4M' '%s' && "
             "qemu-img create -f qcow2 -b qb.qcow2 -F qcow2 '%s' && "
             "qemu-io -c 'write -P 0x22 64k 64k' -c 'write -z 192k 64k' '%s' && "
             "qemu-img convert -O raw '%s' '%s'",
             qb, qb, qo, qo, qo, qr) == 0,
          "qemu overlay");
    a = open_ok(qo, BLOCK_FORMAT_AUTO, 0);
    b = open_ok(qr, BLOCK_FORMAT_RAW, 0);
    if (a && b) {
        same_content(a, b, "qemu overlay read");
        write2(a, b, 70000, 100, 37);
        write2(a, b, 300000, 100, 38);
        write2(a, b, 200000, 100, 39); /* into the zero cluster over the backing file */
        same_content(a, b, "qemu overlay after writes");
    }
    close_ok(a);
    close_ok(b);
    qemu_check_clean(qo);
    qemu_compare(qo, qr);
    /* Internal snapshots: read, counted by check, never written. */
    const char *sn = path("snap.qcow2"), *snr = path("snap.raw");
    CHECK(sh("qemu-img create -f qcow2 '%s' 16M && qemu-io -c 'write -P 1 0 1M' '%s' && "
             "qemu-img snapshot -c s1 '%s' && qemu-io -c 'write -P 2 512k 1M' '%s' && "
             "qemu-img snapshot -c s2 '%s' && qemu-io -c 'write -P 3 100k 4k' '%s' && "
             "qemu-img convert -O raw '%s' '%s'",
             sn, sn, sn, sn, sn, sn, sn, snr) == 0,
          "snapshots");
    a = open_ok(sn, BLOCK_FORMAT_AUTO, 0);
    b = open_ok(snr, BLOCK_FORMAT_RAW, BLOCK_OPEN_READ_ONLY);
    if (a && b) {
        VsError err = { 0 };
        uint8_t x[512] = { 0 };
        BlockInfo info;
        CHECK(block_get_info(a, &info, &err) == VS_OK && info.snapshots == 2, "2 snapshots");
        CHECK(block_is_read_only(a), "an image with snapshots opens read-only");
        CHECK(block_pwrite(a, 0, x, 512, &err) != VS_OK && strstr(err.message, "snapshots"),
              "write refused: %s", err.message);
        same_content(a, b, "snapshot image");
        BlockCheckResult res;
        CHECK(block_check(a, false, &res, NULL, NULL, &err) == VS_OK && !res.corruptions &&
                  !res.leaks,
              "snapshot refcounts counted (%llu, %llu)", (unsigned long long)res.corruptions,
              (unsigned long long)res.leaks);
    }
    close_ok(a);
    close_ok(b);
    qemu_check_clean(sn);

    /* Persistent bitmaps: counted while consistent; a write makes them inconsistent
     * (autoclear bit cleared), after which qemu-img and Vessel both see leaks. */
    const char *bm = path("bitmap.qcow2");
    CHECK(sh("qemu-img create -f qcow2 '%s' 16M && qemu-io -c 'write -P 1 0 1M' '%s' && "
             "qemu-img bitmap --add '%s' b0 && qemu-io -c 'write -P 2 2M 1M' '%s'",
             bm, bm, bm, bm) == 0,
          "bitmaps");
    BlockCheckResult res;
    check_image(bm, false, &res);
    CHECK(!res.corruptions && !res.leaks, "bitmap clusters counted");
    a = open_ok(bm, BLOCK_FORMAT_AUTO, 0);
    if (a) {
        write_ok(a, 5 << 20, 512, 40);
        close_ok(a);
    }
    check_image(bm, false, &res);
    CHECK(!res.corruptions && res.leaks && sh("qemu-img check '%s'", bm) == 3,
          "inconsistent bitmaps are leaks, as qemu-img says (%llu)", (unsigned long long)res.leaks);

    CHECK(sh("qemu-img create -f raw '%s' 1M && qemu-io -f raw -c 'write -P 0x33 0 1M' '%s' &&"
             " qemu-img create -f qcow2 -b rawbase.raw -F raw '%s'",
             path("rawbase.raw"), path("rawbase.raw"), path("rawtop.qcow2")) == 0,
          "raw base");
    a = open_ok(path("rawtop.qcow2"), BLOCK_FORMAT_AUTO, BLOCK_OPEN_READ_ONLY);
    if (a) {
        uint8_t x[8];
        VsError err = { 0 };
        CHECK(block_pread(a, 1000, x, 8, &err) == VS_OK && x[0] == 0x33 && x[7] == 0x33,
              "read through a raw backing file");
        close_ok(a);
    }
}

static uint64_t data_cluster_of(const char *p)
{
    return rd64(p, l2_of(p)) & 0x00fffffffffffe00ull;
}

/* A small v3 image with guest cluster 0 written, for patching. */
static void make_victim(const char *p)
{
    create_ok(p, BLOCK_FORMAT_QCOW2, 1 << 20, NULL, 0, 3);
    BlockImage *img = open_ok(p, BLOCK_FORMAT_QCOW2, 0);
    if (img) {
        write_ok(img, 0, 65536, 41);
        close_ok(img);
    }
}

static void read_fails(const char *p, unsigned flags, uint64_t off, const char *want)
{
    BlockImage *img = open_ok(p, BLOCK_FORMAT_AUTO, flags);
    if (!img)
        return;
    uint8_t b[512];
    VsError err = { 0 };
    VsStatus st = block_pread(img, off, b, sizeof(b), &err);
    CHECK(st != VS_OK && strstr(err.message, want), "read of %s: status %d '%s' (want '%s')", p, st,
          err.message, want);
    close_ok(img);
}

static void test_hostile(void)
{
    const char *good = path("victim.qcow2"), *p = path("bad.qcow2");
    make_victim(good);
    uint64_t l1 = rd64(good, 40), rt = rd64(good, 48);

    /* Unknown incompatible bit, with and without a name in the feature table. */
    copy_file(good, p);
    wr(p, 72, 1ull << 5, 8);
    open_fails(p, BLOCK_OPEN_READ_ONLY, "unknown incompatible feature bit 5");
    copy_file(good, p);
    wr(p, 72, 1ull << 40, 8);
    open_fails(p, BLOCK_OPEN_READ_ONLY, "unknown incompatible feature bit 40");
    copy_file(good, p);
    wr(p, 72, 1ull << 2, 8);
    open_fails(p, 0, "external data file (incompatible feature bit 2)");
    copy_file(good, p);
    wr(p, 72, 1ull << 3, 8);
    open_fails(p, 0, "incompatible feature bit 3");
    copy_file(good, p);
    wr(p, 72, 1ull << 4, 8);
    open_fails(p, 0, "incompatible feature bit 4");
    if (have_qemu) {
        /* qemu-img writes a feature name table: an unknown bit is then named. */
        const char *n = path("named.qcow2");
        sh("qemu-img create -f qcow2 '%s' 1M", n);
        /* Renumber its "dirty bit" entry (type 0, bit 0) to bit 5, then set bit 5. */
        FILE *f = fopen(n, "r+b");
        char hdr[4096] = { 0 };
        size_t got = f ? fread(hdr, 1, sizeof(hdr), f) : 0;
        char *name = memmem(hdr, got, "dirty bit", 9);
        CHECK(name && name[-2] == 0 && name[-1] == 0, "feature table entry found");
        if (f && name) {
            fseek(f, (long)(name - hdr - 1), SEEK_SET);
            fputc(5, f);
        }
        if (f)
            fclose(f);
        wr(n, 72, 1ull << 5, 8);
        open_fails(n, BLOCK_OPEN_READ_ONLY, "unknown incompatible feature bit 5 ('dirty bit')");
        /* qemu-img's header is 112 bytes: byte 104 is the compression type. */
        wr(n, 72, 0, 8);
        wr(n, 104, 1, 1);
        open_fails(n, BLOCK_OPEN_READ_ONLY, "compression type 1");
    }

    /* Corrupt bit: reads work, writes are refused, check --repair clears it. */
    copy_file(good, p);
    wr(p, 72, 1ull << 1, 8);
    BlockImage *img = open_ok(p, BLOCK_FORMAT_AUTO, 0);
    if (img) {
        VsError err = { 0 };
        uint8_t b[512] = { 0 };
        CHECK(block_is_read_only(img), "corrupt image opens read-only");
        expect(img, 0, 65536, 41, "corrupt image still reads");
        CHECK(block_pwrite(img, 0, b, 512, &err) != VS_OK && strstr(err.message, "corrupt"),
              "write to corrupt image refused: %s", err.message);
        close_ok(img);
    }
    img = open_ok(p, BLOCK_FORMAT_AUTO, BLOCK_OPEN_FOR_REPAIR);
    if (img) {
        BlockCheckResult res;
        VsError err = { 0 };
        CHECK(block_check(img, true, &res, NULL, NULL, &err) == VS_OK && !res.corruptions,
              "repair of a corrupt-flagged image: %s", err.message);
        close_ok(img);
    }
    CHECK((rd64(p, 72) & 2) == 0, "corrupt bit cleared by repair");

    /* Header fields. */
    static const struct {
        uint64_t off;
        int bytes;
        uint64_t value;
        const char *want;
    } bad[] = {
        { 0, 4, 0x12345678, "not a qcow2 image" },
        { 4, 4, 4, "version 4" },
        { 20, 4, 8, "cluster_bits 8 is outside 9..21" },
        { 20, 4, 22, "cluster_bits 22 is outside 9..21" },
        { 20, 4, 0xffffffff, "outside 9..21" },
        { 36, 4, 0x80000000u, "L1 table has 2147483648 entries" },
        { 36, 4, 4u << 20, "past the end of the file" },
        { 36, 4, 0, "too small for the virtual size" },
        { 24, 8, 1ull << 62, "too small for the virtual size" },
        { 24, 8, ~0ull, "too large" },
        { 40, 8, 0, "L1 table overlaps the header" },
        { 40, 8, 0x10200, "not aligned" },
        { 40, 8, 1ull << 50, "past the end of the file" },
        { 48, 8, 0x10008, "refcount table offset 0x10008 is not aligned" },
        { 48, 8, 1ull << 45, "refcount table" },
        { 56, 4, 0, "refcount table is empty" },
        { 56, 4, 0xffffffff, "refcount table has 4294967295 clusters" },
        { 56, 4, 100, "past the end of the file" },
        { 60, 4, 100000, "100000 snapshots" },
        { 96, 4, 7, "refcount_order 7" },
        { 100, 4, 100, "header length 100" },
        { 100, 4, 1u << 20, "header length" },
        { 32, 4, 1, "encrypted" },
        { 8, 8, 0x10000, "outside the header cluster" },
        { 16, 4, 5000, "backing file name" },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        copy_file(good, p);
        /* A name needs both an offset and a length. */
        if (bad[i].off == 16)
            wr(p, 8, 200, 8);
        if (bad[i].off == 8)
            wr(p, 16, 10, 4);
        wr(p, bad[i].off, bad[i].value, bad[i].bytes);
        /* Without the magic, detection says raw: ask for qcow2 explicitly. */
        open_fails_as(p, BLOCK_FORMAT_QCOW2, BLOCK_OPEN_READ_ONLY, bad[i].want);
    }
    copy_file(good, p);
    wr(p, 40, rt, 8); /* L1 on top of the refcount table */
    open_fails(p, BLOCK_OPEN_READ_ONLY, "overlap");
    CHECK(truncate(p, 50) == 0, "truncate");
    open_fails(p, BLOCK_OPEN_READ_ONLY, "not a qcow2 image");
    copy_file(good, p);
    CHECK(truncate(p, 90) == 0, "truncate");
    open_fails(p, BLOCK_OPEN_READ_ONLY, "truncated");
    /* A header extension longer than the header cluster. */
    copy_file(good, p);
    wr(p, 104, 0x12345678, 4);
    wr(p, 108, 0x7fffffff, 4);
    open_fails(p, BLOCK_OPEN_READ_ONLY, "header extension");

    /* L1 entry pointing at an unaligned or out-of-file L2 table, or at the refcount table. */
    uint64_t l2 = l2_of(good), data = data_cluster_of(good);
    copy_file(good, p);
    wr(p, l1, (l2 + 512) | (1ull << 63), 8);
    read_fails(p, BLOCK_OPEN_READ_ONLY, 0, "unaligned L2 table");
    copy_file(good, p);
    wr(p, l1, (1ull << 40) | (1ull << 63), 8);
    read_fails(p, BLOCK_OPEN_READ_ONLY, 0, "past the end of the file");
    copy_file(good, p);
    wr(p, l1, rt | (1ull << 63), 8);
    read_fails(p, BLOCK_OPEN_READ_ONLY, 0, "other metadata");

    /* L2 entries pointing at metadata, past the end, unaligned; a writable open marks the
     * image corrupt so nothing more is written. */
    static const struct {
        uint64_t entry;
        const char *want;
    } l2bad[] = {
        { 0, "points at metadata" },                /* the L1 table */
        { 0, "points at metadata" },                /* the refcount table */
        { 0, "points at metadata" },                /* the L2 table itself */
        { 1ull << 40, "past the end of the file" }, /* outside the file */
        { 0, "is invalid" },                        /* unaligned */
    };
    const uint64_t entries[] = { l1, rt, l2, 1ull << 40, data + 512 };
    for (size_t i = 0; i < sizeof(l2bad) / sizeof(l2bad[0]); i++) {
        copy_file(good, p);
        wr(p, l2, entries[i] | (1ull << 63), 8);
        read_fails(p, BLOCK_OPEN_READ_ONLY, 0, l2bad[i].want);
        read_fails(p, 0, 0, l2bad[i].want);
        CHECK(rd64(p, 72) & 2, "corruption found on a writable open sets the corrupt bit (%zu)", i);
        BlockImage *w = open_ok(p, BLOCK_FORMAT_AUTO, 0);
        if (w) {
            CHECK(block_is_read_only(w), "reopened corrupt image is read-only");
            close_ok(w);
        }
    }
    /* The same in a qcow2 opened read-only leaves the file untouched. */
    copy_file(good, p);
    wr(p, l2, l1 | (1ull << 63), 8);
    read_fails(p, BLOCK_OPEN_READ_ONLY, 0, "points at metadata");
    CHECK(!(rd64(p, 72) & 2), "a read-only open never writes");

    /* Garbage compressed data: an error, no crash. */
    copy_file(good, p);
    wr(p, l2, (1ull << 62) | (3ull << 54) | (data + 7), 8);
    read_fails(p, BLOCK_OPEN_READ_ONLY, 0, "decompress");
    copy_file(good, p);
    wr(p, l2, (1ull << 62) | (1ull << 50), 8);
    read_fails(p, BLOCK_OPEN_READ_ONLY, 0, "invalid host offset");
    (void)data;
}

static void test_backing_loops(void)
{
    /* a -> b -> a */
    create_ok(path("loop-a.qcow2"), BLOCK_FORMAT_QCOW2, 1 << 20, NULL, 0, 3);
    create_ok(path("loop-b.qcow2"), BLOCK_FORMAT_QCOW2, 1 << 20, "loop-a.qcow2", 0, 3);
    create_ok(path("loop-a.qcow2"), BLOCK_FORMAT_QCOW2, 1 << 20, "loop-b.qcow2", 0, 3);
    open_fails(path("loop-a.qcow2"), BLOCK_OPEN_READ_ONLY, "loops back");
    /* An image that is its own backing file (patched: create refuses it). */
    BlockCreateOptions o = { .path = path("loop-b.qcow2"),
                             .format = BLOCK_FORMAT_QCOW2,
                             .size = 1 << 20,
                             .backing_file = "loop-b.qcow2" };
    VsError err = { 0 };
    CHECK(block_create(&o, &err) != VS_OK && strstr(err.message, "itself"),
          "create refuses itself as backing: %s", err.message);
    create_ok(path("self.qcow2"), BLOCK_FORMAT_QCOW2, 1 << 20, "raw.img", 0, 3);
    const char *s = path("self.qcow2");
    uint64_t boff = rd64(s, 8);
    int fd = open(s, O_WRONLY);
    CHECK(pwrite(fd, "self.qcow2", 10, (off_t)boff) == 10, "patch name");
    close(fd);
    wr(s, 16, 10, 4);
    open_fails(s, BLOCK_OPEN_READ_ONLY, "loops back");

    /* Chains: 16 backing files open, 17 do not. */
    char name[64], prev[64] = "";
    for (int i = 0; i <= 17; i++) {
        snprintf(name, sizeof(name), "chain%d.qcow2", i);
        create_ok(path(name), BLOCK_FORMAT_QCOW2, 1 << 20, i ? prev : NULL, 0, 3);
        snprintf(prev, sizeof(prev), "%s", name);
    }
    BlockImage *img = open_ok(path("chain16.qcow2"), BLOCK_FORMAT_AUTO, BLOCK_OPEN_READ_ONLY);
    close_ok(img);
    open_fails(path("chain17.qcow2"), BLOCK_OPEN_READ_ONLY, "deeper than 16");
}

static void check_image(const char *p, bool repair, BlockCheckResult *res)
{
    BlockImage *img =
        open_ok(p, BLOCK_FORMAT_AUTO,
                BLOCK_OPEN_NO_BACKING | (repair ? BLOCK_OPEN_FOR_REPAIR : BLOCK_OPEN_READ_ONLY));
    memset(res, 0, sizeof(*res));
    if (!img)
        return;
    VsError err = { 0 };
    CHECK(block_check(img, repair, res, NULL, NULL, &err) == VS_OK, "check %s: %s", p, err.message);
    close_ok(img);
}

static void set_refcount16(const char *p, uint64_t cluster, uint16_t v)
{
    uint64_t rb = rd64(p, rd64(p, 48)); /* first refcount block */
    wr(p, rb + cluster * 2, v, 2);
}

static void test_check_repair(void)
{
    const char *good = path("victim.qcow2"), *p = path("rep.qcow2");
    BlockCheckResult res;
    check_image(good, false, &res);
    CHECK(!res.corruptions && !res.leaks && res.allocated_clusters == 1,
          "clean image checks clean (%llu/%llu/%llu)", (unsigned long long)res.corruptions,
          (unsigned long long)res.leaks, (unsigned long long)res.allocated_clusters);
    uint64_t data = data_cluster_of(good) / 65536;

    /* A leak: refcount of an unused cluster past the data. */
    copy_file(good, p);
    set_refcount16(p, data + 1, 1);
    CHECK(truncate(p, (off_t)((data + 2) * 65536)) == 0, "extend");
    check_image(p, false, &res);
    CHECK(res.leaks == 1 && !res.corruptions, "leak found (%llu, %llu)",
          (unsigned long long)res.leaks, (unsigned long long)res.corruptions);
    if (have_qemu)
        CHECK(sh("qemu-img check '%s'", p) == 3, "qemu agrees: a leak");
    check_image(p, true, &res);
    CHECK(res.leaks_fixed == 1 && !res.leaks && !res.corruptions, "leak repaired");
    qemu_check_clean(p);

    /* A refcount too low (data cluster with refcount 0): corruption. */
    copy_file(good, p);
    set_refcount16(p, data, 0);
    check_image(p, false, &res);
    CHECK(res.corruptions >= 1, "refcount 0 of a used cluster is a corruption");
    if (have_qemu)
        CHECK(sh("qemu-img check '%s'", p) == 2, "qemu agrees: corrupt");
    check_image(p, true, &res);
    CHECK(!res.corruptions && !res.leaks && res.corruptions_fixed, "refcount repaired");
    qemu_check_clean(p);

    /* Two L2 entries sharing one cluster: corruption (not fixable by refcounts alone). */
    copy_file(good, p);
    uint64_t l2 = l2_of(p);
    wr(p, l2 + 8, rd64(p, l2), 8);
    check_image(p, false, &res);
    CHECK(res.corruptions >= 1, "overlapping allocation found");

    /* A broken refcount table entry: the structure is rebuilt at the end of the file. */
    copy_file(good, p);
    wr(p, rd64(p, 48), 0x12345, 8);
    check_image(p, false, &res);
    CHECK(res.corruptions >= 1, "bad refcount block pointer found");
    check_image(p, true, &res);
    CHECK(!res.corruptions && !res.leaks, "rebuilt refcounts (%llu, %llu)",
          (unsigned long long)res.corruptions, (unsigned long long)res.leaks);
    qemu_check_clean(p);
    BlockImage *img = open_ok(p, BLOCK_FORMAT_QCOW2, 0);
    if (img) {
        expect(img, 0, 65536, 41, "data kept by the rebuild");
        write_ok(img, 200000, 70000, 42);
        close_ok(img);
    }
    qemu_check_clean(p);

    /* Dirty bit: refcounts are rebuilt before the first write, and the bit cleared. */
    copy_file(good, p);
    set_refcount16(p, data, 0);
    wr(p, 72, 1, 8);
    img = open_ok(p, BLOCK_FORMAT_AUTO, BLOCK_OPEN_READ_ONLY);
    if (img) {
        expect(img, 0, 65536, 41, "dirty image reads");
        close_ok(img);
    }
    CHECK(rd64(p, 72) == 1, "a read-only open leaves the dirty bit");
    img = open_ok(p, BLOCK_FORMAT_AUTO, 0);
    if (img) {
        write_ok(img, 65536, 65536, 43);
        expect(img, 0, 65536, 41, "dirty image data");
        close_ok(img);
    }
    CHECK(rd64(p, 72) == 0, "dirty bit cleared");
    qemu_check_clean(p);
}

static uint64_t rnd(uint64_t *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return *s >> 17;
}

/* Random writes, zeroes, discards, flushes and reopens on a qcow2 over a backing file,
 * mirrored on a raw model; contents compared along the way, qemu-img judges the end. */
static void test_random(uint32_t cluster_size, uint32_t version, uint64_t seed)
{
    const char *base = path("rnd-base.qcow2"), *q = path("rnd.qcow2"), *r = path("rnd.raw");
    uint64_t size = 8 << 20;
    create_ok(base, BLOCK_FORMAT_QCOW2, size, NULL, 0, 3);
    BlockImage *a = open_ok(base, BLOCK_FORMAT_QCOW2, 0);
    if (!a)
        return;
    write_ok(a, 1 << 20, 3 << 20, 60);
    close_ok(a);
    create_ok(q, BLOCK_FORMAT_QCOW2, size, "rnd-base.qcow2", cluster_size, version);
    create_ok(r, BLOCK_FORMAT_RAW, size, NULL, 0, 0);
    a = open_ok(q, BLOCK_FORMAT_QCOW2, 0);
    BlockImage *b = open_ok(r, BLOCK_FORMAT_RAW, 0);
    if (!a || !b)
        return;
    write_ok(b, 1 << 20, 3 << 20, 60);
    VsError err = { 0 };
    uint8_t *buf = malloc(256 << 10);
    for (int i = 0; i < 600 && !fails; i++) {
        uint64_t op = rnd(&seed) % 100;
        uint64_t off = rnd(&seed) % size;
        uint64_t len = 1 + rnd(&seed) % (op < 5 ? (256u << 10) : (24u << 10));
        if (len > size - off)
            len = size - off;
        if (op < 70) {
            write2(a, b, off, (size_t)len, 100 + (unsigned)i);
        } else if (op < 80) {
            CHECK(block_write_zeroes(a, off, len, &err) == VS_OK, "zeroes: %s", err.message);
            CHECK(block_write_zeroes(b, off, len, &err) == VS_OK, "model zeroes");
        } else if (op < 88) {
            /* Discarded data is unspecified: copy whatever the image now says to the model. */
            CHECK(block_discard(a, off, len, &err) == VS_OK, "discard: %s", err.message);
            uint64_t clen = len < (256u << 10) ? len : (256u << 10);
            CHECK(block_pread(a, off, buf, (size_t)clen, &err) == VS_OK, "read");
            CHECK(block_pwrite(b, off, buf, (size_t)clen, &err) == VS_OK, "model");
            if (clen < len) {
                CHECK(block_write_zeroes(a, off + clen, len - clen, &err) == VS_OK, "zero");
                CHECK(block_write_zeroes(b, off + clen, len - clen, &err) == VS_OK, "model");
            }
        } else if (op < 94) {
            CHECK(block_flush(a, &err) == VS_OK, "flush: %s", err.message);
        } else if (op < 97) {
            close_ok(a);
            a = open_ok(q, BLOCK_FORMAT_QCOW2, 0);
            if (!a)
                break;
        } else {
            same_content(a, b, "random ops");
        }
    }
    free(buf);
    if (a)
        same_content(a, b, "random ops at the end");
    close_ok(a);
    close_ok(b);
    qemu_check_clean(q);
    qemu_compare(q, r);
    BlockCheckResult res;
    check_image(q, false, &res);
    CHECK(!res.corruptions && !res.leaks, "own check after random ops (%llu, %llu)",
          (unsigned long long)res.corruptions, (unsigned long long)res.leaks);
}

/* TESTING.md item 7: write, flush, kill -9: the data is in the image and it checks clean. */
static void test_durability(void)
{
    const char *p = path("durable.qcow2");
    create_ok(p, BLOCK_FORMAT_QCOW2, 16 << 20, NULL, 0, 3);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        BlockImage *img;
        VsError err;
        if (block_open(p, BLOCK_FORMAT_QCOW2, 0, &img, &err) != VS_OK)
            _exit(1);
        uint8_t *b = malloc(3 << 20);
        fill(b, 12345, 3 << 20, 51);
        if (block_pwrite(img, 12345, b, 3 << 20, &err) != VS_OK || block_flush(img, &err) != VS_OK)
            _exit(2);
        raise(SIGKILL);
        _exit(3);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "child killed (status %#x)", status);
    BlockImage *img = open_ok(p, BLOCK_FORMAT_QCOW2, BLOCK_OPEN_READ_ONLY);
    if (img) {
        expect(img, 12345, 3 << 20, 51, "data survives kill -9 after flush");
        close_ok(img);
    }
    qemu_check_clean(p);
    BlockCheckResult res;
    check_image(p, false, &res);
    CHECK(!res.corruptions && !res.leaks, "own check clean after kill -9");
}

/* Read [off, off+n) through block_map_read's answer and compare with the pattern. */
static bool direct_matches(BlockImage *img, uint64_t off, size_t n, unsigned seed)
{
    uint64_t host = UINT64_MAX;
    int fd = block_map_read(img, off, n, &host);
    if (fd < 0)
        return false;
    uint8_t *b = malloc(n), *want = malloc(n);
    fill(want, off, n, seed);
    bool ok = pread(fd, b, n, (off_t)host) == (ssize_t)n && !memcmp(b, want, n);
    free(b);
    free(want);
    return ok;
}

static void *hold_lock(void *arg)
{
    BlockImage *img = arg;
    uint64_t host;
    /* Only checks the answer while the main thread holds the image (see below). */
    return (void *)(intptr_t)block_map_read(img, 0, 4096, &host);
}

/* block_map_read: direct reads only where the data really is contiguous in the file. */
static void test_map_read(void)
{
    const char *p = path("map.qcow2"), *r = path("map.raw");
    create_ok(p, BLOCK_FORMAT_QCOW2, 16 << 20, NULL, 65536, 3);
    create_ok(r, BLOCK_FORMAT_RAW, 1 << 20, NULL, 0, 0);
    BlockImage *img = open_ok(p, BLOCK_FORMAT_QCOW2, 0), *raw = open_ok(r, BLOCK_FORMAT_RAW, 0);
    if (!img || !raw) {
        close_ok(img);
        close_ok(raw);
        return;
    }
    uint64_t host = 0;
    /* Raw: the file itself, at the same offset. */
    write_ok(raw, 8192, 4096, 7);
    CHECK(direct_matches(raw, 8192, 4096, 7), "raw: direct read");
    CHECK(block_map_read(raw, 1 << 20, 512, &host) < 0, "raw: past the end");
    /* Unallocated (no L2 table yet): through the driver. */
    CHECK(block_map_read(img, 0, 4096, &host) < 0, "qcow2: unallocated");
    /* Two clusters written in one go are contiguous; a read inside one, or across both. */
    write_ok(img, 0, 2 * 65536, 3);
    CHECK(direct_matches(img, 512, 4096, 3), "qcow2: inside a cluster");
    CHECK(direct_matches(img, 60000, 10000, 3), "qcow2: across two contiguous clusters");
    /* Clusters 6 then 5 are allocated in that order: in the file 5 comes after 6, so the
     * guest range 5..6 is not contiguous there and must go through the driver. */
    write_ok(img, 9 * 65536, 65536, 4);
    write_ok(img, 6 * 65536, 65536, 5);
    write_ok(img, 5 * 65536, 65536, 5);
    CHECK(direct_matches(img, 9 * 65536, 65536, 4), "qcow2: a later cluster");
    CHECK(direct_matches(img, 5 * 65536, 65536, 5), "qcow2: cluster 5 alone");
    CHECK(direct_matches(img, 6 * 65536, 65536, 5), "qcow2: cluster 6 alone");
    CHECK(block_map_read(img, 5 * 65536, 2 * 65536, &host) < 0,
          "qcow2: clusters not contiguous in the file");
    /* Zero clusters and unallocated ones in an allocated L2 table: through the driver. */
    VsError err = { 0 };
    CHECK(block_write_zeroes(img, 0, 65536, &err) == VS_OK, "write zeroes: %s", err.message);
    CHECK(block_map_read(img, 0, 4096, &host) < 0, "qcow2: zero cluster");
    CHECK(block_map_read(img, 12 * 65536, 4096, &host) < 0, "qcow2: unallocated cluster");
    CHECK(block_map_read(img, (16 << 20) - 512, 1024, &host) < 0, "qcow2: past the end");
    /* While another thread is in the image, the answer is -1 at once (never blocks). */
    pthread_mutex_lock(&img->lock);
    pthread_t t;
    void *res = NULL;
    pthread_create(&t, NULL, hold_lock, img);
    pthread_join(t, &res);
    pthread_mutex_unlock(&img->lock);
    CHECK((intptr_t)res < 0, "qcow2: busy image");
    /* After reopening, L2 tables are not cached yet: -1 until a read through the driver. */
    close_ok(img);
    img = open_ok(p, BLOCK_FORMAT_QCOW2, BLOCK_OPEN_READ_ONLY);
    if (img) {
        CHECK(block_map_read(img, 65536, 4096, &host) < 0, "qcow2: L2 table not cached");
        expect(img, 65536, 4096, 3, "qcow2: read through the driver");
        CHECK(direct_matches(img, 65536, 4096, 3), "qcow2: direct once cached");
    }
    close_ok(img);
    close_ok(raw);
}

int main(void)
{
    if (!test_mkdtemp(dir, sizeof(dir), "vessel-qcow2")) {
        perror("mkdtemp");
        return 1;
    }
    have_qemu = access("/usr/bin/qemu-img", X_OK) == 0 && access("/usr/bin/qemu-io", X_OK) == 0;
    if (!have_qemu)
        printf("SKIP qemu-img oracle checks: /usr/bin/qemu-img or qemu-io not found "
               "(install qemu-utils)\n");
    test_raw();
    test_rw(65536, 3, 64 << 20);
    test_rw(65536, 2, 10000384); /* size not a multiple of the cluster size */
    test_rw(512, 3, 16 << 20);
    test_rw(4096, 2, 32 << 20);
    test_rw(2u << 20, 3, 64 << 20);
    test_refcount_growth();
    test_zeroes_discard(3, false);
    test_zeroes_discard(3, true);
    test_zeroes_discard(2, false);
    test_zeroes_discard(2, true);
    test_backing_chain();
    test_qemu_images();
    test_hostile();
    test_backing_loops();
    test_check_repair();
    test_random(4096, 3, 1);
    test_random(512, 2, 2);
    test_random(65536, 3, 3);
    test_durability();
    test_map_read();
    if (!fails)
        sh("rm -rf '%s'", dir);
    else
        printf("images kept in %s\n", dir);
    printf("qcow2: %d checks, %d failed\n", checks, fails);
    printf("%d passed, %d failed\n", checks - fails, fails);
    return fails ? 1 : 0;
}
