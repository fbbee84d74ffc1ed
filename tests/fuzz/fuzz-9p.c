/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the 9P2000.L server (engine/fs/p9.c): frame decoding and every
 * request handler, on a scratch directory made afresh for each input.
 *
 * Input layout:
 *   byte 0        bit 0: reply room P9_MAX_MSIZE (0) or 11 + byte (1: a small transport
 *                 buffer); bit 1: p9_handle (0) or p9_handle_iov (1) with the message and
 *                 the room split into buffers of 1 + (byte >> 2)^2 bytes (the reply room
 *                 then ends after 1024 buffers)
 *   then frames:  le16 n, then n bytes handed to p9_handle() as one message (the message's
 *                 own size field may disagree with n: that is part of what is fuzzed)
 * Before the frames the target sends Tversion(msize 65536, "9P2000.L") and Tattach(fid 0,
 * n_uname 0) so that inputs start with a usable root fid.
 *
 * The scratch share holds a file, a subdirectory with a file, a FIFO, and host symlinks to
 * a sibling "outside" directory and to /etc. Checked after every message: the reply fits
 * the room, its size field is the returned length, it is an R-message (the request's type
 * + 1 or Rlerror) with the request's tag. Checked after every input: the outside directory
 * is untouched, and the share holds no symlink, FIFO, socket or device node but the ones
 * made here (the server must never create one on the host).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "../unit/tmpdir.h"
#include "fs/p9.h"

static char base[PATH_MAX];
static uint8_t reply[P9_MAX_MSIZE];
static int n_links, n_special;

static void die(const char *what)
{
    perror(what);
    abort();
}

static void write_file(const char *path, const char *s)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || write(fd, s, strlen(s)) != (ssize_t)strlen(s))
        die(path);
    close(fd);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (flag == FTW_DP)
        rmdir(path);
    else
        unlink(path);
    return 0;
}

static int count_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)path;
    (void)flag;
    (void)ftw;
    if (S_ISLNK(st->st_mode))
        n_links++;
    else if (!S_ISREG(st->st_mode) && !S_ISDIR(st->st_mode))
        n_special++;
    return 0;
}

static void remove_base(void)
{
    nftw(base, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (!test_mkdtemp(base, sizeof(base), "fuzz-9p"))
        die("mkdtemp");
    char p[PATH_MAX + 32];
    snprintf(p, sizeof(p), "%s/outside", base);
    mkdir(p, 0755);
    snprintf(p, sizeof(p), "%s/outside/secret", base);
    write_file(p, "secret");
    atexit(remove_base);
    return 0;
}

static void make_share(const char *share)
{
    char p[PATH_MAX + 64], t[PATH_MAX + 32];
    if (mkdir(share, 0755) < 0)
        die(share);
    snprintf(p, sizeof(p), "%s/hello.txt", share);
    write_file(p, "hello world");
    snprintf(p, sizeof(p), "%s/sub", share);
    mkdir(p, 0755);
    snprintf(p, sizeof(p), "%s/sub/inner", share);
    write_file(p, "inner");
    snprintf(p, sizeof(p), "%s/fifo", share);
    if (mkfifo(p, 0644) < 0)
        die(p);
    snprintf(p, sizeof(p), "%s/out-link", share);
    snprintf(t, sizeof(t), "%s/outside", base);
    if (symlink(t, p) < 0)
        die(p);
    snprintf(p, sizeof(p), "%s/etc-link", share);
    if (symlink("/etc", p) < 0)
        die(p);
}

/* 0: p9_handle; else p9_handle_iov with every buffer split into chunks of this size. */
static size_t chunk;
static struct iovec out_iov[P9_MAX_MSIZE + 64], in_iov[1024];
static uint8_t req_buf[P9_MAX_MSIZE], reply_buf[P9_MAX_MSIZE];

static unsigned split(struct iovec *iov, unsigned max, uint8_t *p, size_t len)
{
    unsigned n = 0;
    for (size_t off = 0; off < len && n < max; off += chunk, n++) {
        iov[n].iov_base = p + off;
        iov[n].iov_len = len - off < chunk ? len - off : chunk;
    }
    return n;
}

static void send(P9Server *s, const uint8_t *msg, size_t len, size_t cap)
{
    size_t r;
    if (chunk) {
        unsigned no = split(out_iov, sizeof(out_iov) / sizeof(out_iov[0]), (uint8_t *)msg, len);
        /* At most 1024 in buffers: the rest of the room is not offered. */
        unsigned ni = split(in_iov, 1024, reply, cap);
        size_t room = 0;
        for (unsigned i = 0; i < ni; i++)
            room += in_iov[i].iov_len;
        r = p9_handle_iov(s, out_iov, no, in_iov, ni, req_buf, reply_buf);
        cap = room;
    } else {
        r = p9_handle(s, msg, len, reply, cap);
    }
    if (r < 7 || r > cap)
        abort();
    uint32_t size = (uint32_t)reply[0] | (uint32_t)reply[1] << 8 | (uint32_t)reply[2] << 16 |
                    (uint32_t)reply[3] << 24;
    if (size != r || !(reply[4] & 1))
        abort();
    if (len >= 7 && (reply[5] != msg[5] || reply[6] != msg[6]))
        abort();
    if (reply[4] != 7 && len >= 7 && reply[4] != msg[4] + 1)
        abort();
}

static void check_outside(void)
{
    char p[PATH_MAX + 32];
    snprintf(p, sizeof(p), "%s/outside", base);
    DIR *d = opendir(p);
    int entries = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        entries++;
    if (d)
        closedir(d);
    struct stat st;
    snprintf(p, sizeof(p), "%s/outside/secret", base);
    if (entries != 3 || stat(p, &st) < 0 || st.st_size != 6 || st.st_nlink != 1)
        abort(); /* something appeared outside, or the file changed or got a hard link */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char share[PATH_MAX + 32], err[256];
    snprintf(share, sizeof(share), "%s/share", base);
    make_share(share);
    P9Server *s;
    if (p9_server_new(&s, share, 0, err, sizeof(err)) < 0) {
        fprintf(stderr, "%s\n", err);
        abort();
    }
    size_t cap = sizeof(reply);
    chunk = 0;
    if (size > 0) {
        if (data[0] & 1)
            cap = 11 + data[0];
        if (data[0] & 2)
            chunk = 1 + (data[0] >> 2) * (data[0] >> 2);
        data++;
        size--;
    }
    static const uint8_t version[] = { 21, 0, 0,   0,   100, 0xff, 0xff, 0,   0,   1,  0,
                                       8,  0, '9', 'P', '2', '0',  '0',  '0', '.', 'L' };
    static const uint8_t attach[] = { 23,   0,    0,    0, 104, 1, 0, 0, 0, 0, 0, 0xff,
                                      0xff, 0xff, 0xff, 0, 0,   0, 0, 0, 0, 0, 0 };
    send(s, version, sizeof(version), cap);
    send(s, attach, sizeof(attach), cap);

    while (size >= 2) {
        size_t n = (size_t)data[0] | (size_t)data[1] << 8;
        data += 2;
        size -= 2;
        if (n > size)
            n = size;
        /* An exact-size copy, so ASan sees any read past the message. */
        uint8_t *msg = malloc(n ? n : 1);
        if (!msg)
            abort();
        memcpy(msg, data, n);
        send(s, msg, n, cap);
        free(msg);
        data += n;
        size -= n;
    }
    p9_server_free(s);

    n_links = n_special = 0;
    if (nftw(share, count_one, 16, FTW_PHYS) < 0)
        die("nftw");
    if (n_links > 2 || n_special > 1) {
        fprintf(stderr, "the server made a symlink or special file on the host\n");
        abort();
    }
    nftw(share, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    check_outside();
    return 0;
}
