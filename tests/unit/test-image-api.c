/* SPDX-License-Identifier: MIT */
/*
 * The public disk-image API (vs_image_create, vs_image_info, vs_image_open/read): images are
 * made, described and read back through vessel/engine.h only. qemu-img, when installed, is
 * the oracle: what vs_image_create writes must pass `qemu-img check` and be described by
 * `qemu-img info` the same way, and what qemu-img writes must read back byte for byte.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "tmpdir.h"
#include "vessel/engine.h"

static char dir[256];

static const char *path(const char *name)
{
    static char bufs[16][320];
    static int i;
    char *b = bufs[i++ & 15];
    snprintf(b, 320, "%s/%s", dir, name);
    return b;
}

/* Run a command; its stdout goes to out (may be NULL). Returns the exit status or -1. */
static int run(char *out, size_t outlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int run(char *out, size_t outlen, const char *fmt, ...)
{
    char cmd[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    size_t n = 0;
    char tmp[4096];
    size_t r;
    while ((r = fread(tmp, 1, sizeof(tmp), p)) > 0) {
        if (out && n + 1 < outlen) {
            size_t c = r < outlen - 1 - n ? r : outlen - 1 - n;
            memcpy(out + n, tmp, c);
            n += c;
        }
    }
    if (out)
        out[n] = 0;
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_create_info(bool have_qemu)
{
    VsError err = { 0 };
    VsDiskFormat fmt = VS_DISK_FORMAT_AUTO;
    uint64_t size = 0;

    /* qcow2: 1 GiB virtual, sparse on the host. */
    CHECK(vs_image_create(path("a.qcow2"), VS_DISK_FORMAT_QCOW2, 1ull << 30, &err) == VS_OK);
    CHECK(vs_image_info(path("a.qcow2"), &fmt, &size, &err) == VS_OK);
    CHECK_EQ(fmt, VS_DISK_FORMAT_QCOW2);
    CHECK_EQ(size, 1ull << 30);
    struct stat sb;
    CHECK(stat(path("a.qcow2"), &sb) == 0 && sb.st_size < (1 << 20));

    /* raw, size rounded up to whole sectors. */
    CHECK(vs_image_create(path("b.img"), VS_DISK_FORMAT_RAW, 1000000, &err) == VS_OK);
    CHECK(vs_image_info(path("b.img"), &fmt, &size, &err) == VS_OK);
    CHECK_EQ(fmt, VS_DISK_FORMAT_RAW);
    CHECK_EQ(size, 1000448); /* 1954 * 512 */
    CHECK(stat(path("b.img"), &sb) == 0 && sb.st_size == 1000448);

    if (have_qemu) {
        char out[8192];
        CHECK(run(out, sizeof(out), "qemu-img info --output=json '%s'", path("a.qcow2")) == 0);
        CHECK(strstr(out, "\"format\": \"qcow2\"") != NULL);
        CHECK(strstr(out, "\"virtual-size\": 1073741824") != NULL);
        CHECK(run(out, sizeof(out), "qemu-img check '%s'", path("a.qcow2")) == 0);
        CHECK(strstr(out, "No errors were found") != NULL);
        CHECK(run(out, sizeof(out), "qemu-img info --output=json '%s'", path("b.img")) == 0);
        CHECK(strstr(out, "\"format\": \"raw\"") != NULL);
    } else {
        printf("SKIP qemu-img cross-checks: qemu-img is not installed\n");
    }
}

static void test_refuses(void)
{
    VsError err = { 0 };
    /* An existing file is never overwritten, whatever its format. */
    FILE *f = fopen(path("precious.img"), "w");
    CHECK(f != NULL);
    fputs("do not lose me", f);
    fclose(f);
    CHECK(vs_image_create(path("precious.img"), VS_DISK_FORMAT_QCOW2, 1 << 20, &err) == VS_ERR_IO);
    CHECK(strstr(err.message, "already exists") != NULL);
    CHECK(strstr(err.message, "precious.img") != NULL);
    char buf[32] = { 0 };
    f = fopen(path("precious.img"), "r");
    CHECK(f && fgets(buf, sizeof(buf), f) && !strcmp(buf, "do not lose me"));
    if (f)
        fclose(f);
    /* The qcow2 made above is not replaced by a raw one either. */
    CHECK(vs_image_create(path("a.qcow2"), VS_DISK_FORMAT_RAW, 1 << 20, &err) == VS_ERR_IO);
    VsDiskFormat fmt;
    uint64_t size;
    CHECK(vs_image_info(path("a.qcow2"), &fmt, &size, &err) == VS_OK &&
          fmt == VS_DISK_FORMAT_QCOW2 && size == 1ull << 30);

    /* A folder that does not exist: the message names the file and says why. */
    memset(&err, 0, sizeof(err));
    CHECK(vs_image_create(path("no/such/dir/x.qcow2"), VS_DISK_FORMAT_QCOW2, 1 << 20, &err) ==
          VS_ERR_IO);
    CHECK(strstr(err.message, "no/such/dir/x.qcow2") != NULL);
    CHECK(strstr(err.message, "No such file or directory") != NULL);
    CHECK(access(path("no"), F_OK) != 0);

    /* Bad arguments, and nothing left behind for them. */
    CHECK(vs_image_create(path("c.qcow2"), VS_DISK_FORMAT_AUTO, 1 << 20, &err) == VS_ERR_INVALID);
    CHECK(vs_image_create(path("c.qcow2"), VS_DISK_FORMAT_QCOW2, 0, &err) == VS_ERR_INVALID);
    CHECK(vs_image_create(path("c.qcow2"), VS_DISK_FORMAT_QCOW2, UINT64_MAX, &err) != VS_OK);
    CHECK(strstr(err.message, "too large") != NULL);
    CHECK(access(path("c.qcow2"), F_OK) != 0);
    CHECK(vs_image_create("", VS_DISK_FORMAT_QCOW2, 1 << 20, &err) == VS_ERR_INVALID);

    /* info of a missing file. */
    memset(&err, 0, sizeof(err));
    CHECK(vs_image_info(path("missing.qcow2"), &fmt, &size, &err) == VS_ERR_IO);
    CHECK(strstr(err.message, "missing.qcow2") != NULL);
    CHECK(strstr(err.message, "No such file or directory") != NULL);
    /* A directory is not an image; nor is a FIFO (which must not hang the call). */
    CHECK(vs_image_info(dir, &fmt, &size, &err) != VS_OK);
    CHECK(mkfifo(path("fifo"), 0600) == 0);
    CHECK(vs_image_info(path("fifo"), &fmt, &size, &err) == VS_ERR_INVALID);
    CHECK(strstr(err.message, "not a file") != NULL);
    VsImage *img = NULL;
    CHECK(vs_image_open(path("fifo"), &img, &err) == VS_ERR_INVALID && img == NULL);
}

static void test_read(bool have_qemu)
{
    VsError err = { 0 };
    /* A raw file with a pattern; a qcow2 copy of it made by qemu-img. */
    static unsigned char pattern[3 << 16];
    for (size_t i = 0; i < sizeof(pattern); i++)
        pattern[i] = (unsigned char)(i * 7 + (i >> 9));
    FILE *f = fopen(path("pattern.img"), "w");
    CHECK(f && fwrite(pattern, 1, sizeof(pattern), f) == sizeof(pattern));
    if (f)
        fclose(f);
    const char *names[2] = { "pattern.img", "pattern.qcow2" };
    int n = 1;
    if (have_qemu) {
        CHECK(run(NULL, 0, "qemu-img convert -f raw -O qcow2 '%s' '%s'", path("pattern.img"),
                  path("pattern.qcow2")) == 0);
        n = 2;
    }
    for (int k = 0; k < n; k++) {
        VsImage *img = NULL;
        CHECK(vs_image_open(path(names[k]), &img, &err) == VS_OK);
        if (!img)
            continue;
        CHECK_EQ(vs_image_size(img), sizeof(pattern));
        unsigned char buf[70000];
        CHECK(vs_image_read(img, 12345, buf, sizeof(buf), &err) == VS_OK);
        CHECK(memcmp(buf, pattern + 12345, sizeof(buf)) == 0);
        CHECK(vs_image_read(img, sizeof(pattern) - 10, buf, 10, &err) == VS_OK);
        CHECK(memcmp(buf, pattern + sizeof(pattern) - 10, 10) == 0);
        /* Past the end. */
        CHECK(vs_image_read(img, sizeof(pattern) - 10, buf, 11, &err) == VS_ERR_INVALID);
        CHECK(strstr(err.message, "past its end") != NULL);
        CHECK(vs_image_read(img, UINT64_MAX, buf, 2, &err) == VS_ERR_INVALID);
        vs_image_close(img);
    }
    /* An image a writer holds can still be inspected (no lock is taken). */
    VsImage *img = NULL;
    CHECK(vs_image_open(path("missing.img"), &img, &err) == VS_ERR_IO && img == NULL);
    vs_image_close(NULL);
}

int main(void)
{
    if (!test_mkdtemp(dir, sizeof(dir), "vessel-image-api")) {
        perror("mkdtemp");
        return 1;
    }
    bool have_qemu = access("/usr/bin/qemu-img", X_OK) == 0;
    test_create_info(have_qemu);
    test_refuses();
    test_read(have_qemu);
    char cmd[400];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    printf("image-api: %d passed, %d failed\n", g_pass, g_fail);
    return g_fail ? 1 : 0;
}
