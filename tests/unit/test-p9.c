/* SPDX-License-Identifier: MIT */
/*
 * The 9P2000.L server (engine/fs/p9.c) driven with hand-built frames on a temporary
 * directory: round trips of the common requests, the mapped security model, traversal
 * attacks (.., '/', NUL in names, host symlinks to /etc, a FIFO, hard links to outside
 * files), malformed frames, the fid table bound and a read-only share.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "check.h"
#include "fs/p9.h"
#include "tmpdir.h"

enum {
    RLERROR = 7,
    TSTATFS = 8,
    TLOPEN = 12,
    TLCREATE = 14,
    TSYMLINK = 16,
    TMKNOD = 18,
    TRENAME = 20,
    TREADLINK = 22,
    TGETATTR = 24,
    TSETATTR = 26,
    TXATTRWALK = 30,
    TREADDIR = 40,
    TFSYNC = 50,
    TLOCK = 52,
    TGETLOCK = 54,
    TLINK = 70,
    TMKDIR = 72,
    TRENAMEAT = 74,
    TUNLINKAT = 76,
    TVERSION = 100,
    TATTACH = 104,
    TFLUSH = 108,
    TWALK = 110,
    TREAD = 116,
    TWRITE = 118,
    TCLUNK = 120,
    TREMOVE = 122,
};

#define NOFID 0xffffffffu

static uint8_t msg[P9_MAX_MSIZE + 64];
static size_t mlen;
static uint8_t rep[P9_MAX_MSIZE];
static size_t rlen;
static P9Server *srv;

static void put(uint64_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        msg[mlen++] = i < 8 ? (uint8_t)(v >> (8 * i)) : 0;
}
static void begin(uint8_t type)
{
    mlen = 4;
    put(type, 1);
    put(0x1234, 2);
}
static void pstr(const char *s)
{
    size_t n = strlen(s);
    put(n, 2);
    memcpy(msg + mlen, s, n);
    mlen += n;
}
/* Send the frame with a correct size field; returns the reply type. */
static uint8_t send_cap(size_t cap)
{
    for (int i = 0; i < 4; i++)
        msg[i] = (uint8_t)(mlen >> (8 * i));
    rlen = p9_handle(srv, msg, mlen, rep, cap);
    return rlen >= 7 ? rep[4] : 0;
}
static uint8_t send(void)
{
    return send_cap(sizeof(rep));
}
static uint64_t get(size_t off, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v |= (uint64_t)rep[off + i] << (8 * i);
    return v;
}
/* The errno of an Rlerror reply, 0 for any other reply. */
static uint32_t err_of(void)
{
    return rep[4] == RLERROR ? (uint32_t)get(7, 4) : 0;
}

static uint32_t version(uint32_t msize, const char *v)
{
    begin(TVERSION);
    put(msize, 4);
    pstr(v);
    send();
    return err_of();
}
static uint32_t attach(uint32_t fid, uint32_t uid)
{
    begin(TATTACH);
    put(fid, 4);
    put(NOFID, 4);
    pstr("user");
    pstr("");
    put(uid, 4);
    send();
    return err_of();
}
/* Walk fid -> newfid through n names; returns the errno, or 0 with *nq the qids. */
static uint32_t walk(uint32_t fid, uint32_t newfid, unsigned n, const char *const *names,
                     unsigned *nq)
{
    begin(TWALK);
    put(fid, 4);
    put(newfid, 4);
    put(n, 2);
    for (unsigned i = 0; i < n; i++)
        pstr(names[i]);
    send();
    if (nq)
        *nq = rep[4] == TWALK + 1 ? (unsigned)get(7, 2) : 0;
    return err_of();
}
static uint32_t walk1(uint32_t fid, uint32_t newfid, const char *name)
{
    unsigned nq;
    uint32_t e = walk(fid, newfid, 1, &name, &nq);
    return e ? e : nq == 1 ? 0 : 0xdead;
}
static uint32_t lopen(uint32_t fid, uint32_t flags)
{
    begin(TLOPEN);
    put(fid, 4);
    put(flags, 4);
    send();
    return err_of();
}
static uint32_t clunk(uint32_t fid)
{
    begin(TCLUNK);
    put(fid, 4);
    send();
    return err_of();
}
/* Read up to count bytes at off into buf; returns the byte count or -errno. */
static long readf(uint32_t fid, uint64_t off, uint32_t count, char *buf)
{
    begin(TREAD);
    put(fid, 4);
    put(off, 8);
    put(count, 4);
    send();
    if (err_of())
        return -(long)err_of();
    uint32_t n = (uint32_t)get(7, 4);
    if (buf)
        memcpy(buf, rep + 11, n);
    return n;
}
static long writef(uint32_t fid, uint64_t off, const char *data)
{
    begin(TWRITE);
    put(fid, 4);
    put(off, 8);
    put(strlen(data), 4);
    memcpy(msg + mlen, data, strlen(data));
    mlen += strlen(data);
    send();
    return err_of() ? -(long)err_of() : (long)get(7, 4);
}
typedef struct Attr {
    uint8_t qtype;
    uint64_t ino;
    uint32_t mode, uid, gid;
    uint64_t rdev, size;
} Attr;
static uint32_t getattr(uint32_t fid, Attr *a)
{
    begin(TGETATTR);
    put(fid, 4);
    put(0x7ff, 8);
    send();
    if (err_of())
        return err_of();
    a->qtype = rep[15];
    a->ino = get(20, 8);
    a->mode = (uint32_t)get(28, 4);
    a->uid = (uint32_t)get(32, 4);
    a->gid = (uint32_t)get(36, 4);
    a->rdev = get(48, 8);
    a->size = get(56, 8);
    return 0;
}
static uint32_t setattr(uint32_t fid, uint32_t valid, uint32_t mode, uint32_t uid, uint32_t gid,
                        uint64_t size)
{
    begin(TSETATTR);
    put(fid, 4);
    put(valid, 4);
    put(mode, 4);
    put(uid, 4);
    put(gid, 4);
    put(size, 8);
    put(0, 32);
    send();
    return err_of();
}
static uint32_t lcreate(uint32_t fid, const char *name, uint32_t flags, uint32_t mode, uint32_t gid)
{
    begin(TLCREATE);
    put(fid, 4);
    pstr(name);
    put(flags, 4);
    put(mode, 4);
    put(gid, 4);
    send();
    return err_of();
}
static uint32_t mkdir9(uint32_t dfid, const char *name, uint32_t mode)
{
    begin(TMKDIR);
    put(dfid, 4);
    pstr(name);
    put(mode, 4);
    put(100, 4);
    send();
    return err_of();
}
static uint32_t unlinkat9(uint32_t dfid, const char *name, uint32_t flags)
{
    begin(TUNLINKAT);
    put(dfid, 4);
    pstr(name);
    put(flags, 4);
    send();
    return err_of();
}
static uint32_t renameat9(uint32_t ofid, const char *o, uint32_t nfid, const char *n)
{
    begin(TRENAMEAT);
    put(ofid, 4);
    pstr(o);
    put(nfid, 4);
    pstr(n);
    send();
    return err_of();
}
static uint32_t link9(uint32_t dfid, uint32_t fid, const char *name)
{
    begin(TLINK);
    put(dfid, 4);
    put(fid, 4);
    pstr(name);
    send();
    return err_of();
}
static uint32_t symlink9(uint32_t dfid, const char *name, const char *target)
{
    begin(TSYMLINK);
    put(dfid, 4);
    pstr(name);
    pstr(target);
    put(100, 4);
    send();
    return err_of();
}
static uint32_t readlink9(uint32_t fid, char *out)
{
    begin(TREADLINK);
    put(fid, 4);
    send();
    if (err_of())
        return err_of();
    size_t n = (size_t)get(7, 2);
    memcpy(out, rep + 9, n);
    out[n] = 0;
    return 0;
}
/* Every name a Treaddir stream of fid (opened) returns, joined by ' '. */
static uint32_t readdir_all(uint32_t fid, uint32_t count, char *out, size_t cap)
{
    uint64_t off = 0;
    out[0] = 0;
    for (int rounds = 0; rounds < 1000; rounds++) {
        begin(TREADDIR);
        put(fid, 4);
        put(off, 8);
        put(count, 4);
        send();
        if (err_of())
            return err_of();
        uint32_t n = (uint32_t)get(7, 4);
        if (!n)
            return 0;
        size_t p = 11, end = 11 + n;
        while (p < end) {
            off = get(p + 13, 8);
            size_t nl = (size_t)get(p + 22, 2);
            size_t ol = strlen(out);
            if (ol + nl + 2 < cap) {
                memcpy(out + ol, rep + p + 24, nl);
                out[ol + nl] = ' ';
                out[ol + nl + 1] = 0;
            }
            p += 24 + nl;
        }
    }
    return 0xdead;
}

static bool has_word(const char *list, const char *w)
{
    char buf[300];
    snprintf(buf, sizeof(buf), " %s ", w);
    char big[8192];
    snprintf(big, sizeof(big), " %s", list);
    return strstr(big, buf) != NULL;
}

static char base[1024], share[1100];

static void host_path(char *out, const char *rel)
{
    snprintf(out, PATH_MAX, "%s/%s", share, rel);
}

static void write_host(const char *rel, const char *data)
{
    char p[PATH_MAX];
    host_path(p, rel);
    FILE *f = fopen(p, "w");
    fputs(data, f);
    fclose(f);
}

static void rm_rf(const char *dir)
{
    char cmd[PATH_MAX + 32];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", dir);
}

static void test_version(void)
{
    CHECK_EQ(version(100, "9P2000.L"), EINVAL); /* msize below the minimum */
    CHECK_EQ(version(64 * 1024 * 1024, "9P2000.L"), 0);
    CHECK_EQ(get(7, 4), P9_MAX_MSIZE); /* bounded */
    CHECK_EQ(version(8192, "9P2000.u"), 0);
    CHECK_EQ(get(13, 7), 0x6e776f6e6b6e75ull); /* "unknown" */
    CHECK_EQ(version(65536, "9P2000.L"), 0);
    CHECK_EQ(rep[4], TVERSION + 1);
    CHECK_EQ(get(7, 4), 65536);
    CHECK(!memcmp(rep + 13, "9P2000.L", 8));
    CHECK_EQ(p9_server_msize(srv), 65536);
}

static void test_round_trips(void)
{
    Attr a, root;
    char buf[256], p[PATH_MAX];
    struct stat st;

    CHECK_EQ(attach(1, 1000), 0);
    CHECK_EQ(rep[7], 0x80);           /* a directory */
    CHECK_EQ(attach(1, 1000), EBADF); /* fid in use */
    CHECK_EQ(getattr(1, &root), 0);
    CHECK(S_ISDIR(root.mode));

    /* Walk, open, read. */
    CHECK_EQ(walk1(1, 2, "hello.txt"), 0);
    CHECK_EQ(lopen(2, 0), 0);
    CHECK_EQ(readf(2, 0, 100, buf), 11);
    CHECK(!memcmp(buf, "hello world", 11));
    CHECK_EQ(readf(2, 6, 100, buf), 5);
    CHECK_EQ(writef(2, 0, "x"), -EBADF); /* opened read-only */
    CHECK_EQ(lopen(2, 0), EBADF);        /* already open */
    CHECK_EQ(clunk(2), 0);
    CHECK_EQ(clunk(2), EBADF);

    /* Create, write; on the host: owned by us, mode 0600, content. */
    CHECK_EQ(walk(1, 3, 0, NULL, NULL), 0); /* clone */
    CHECK_EQ(lcreate(3, "new.txt", 2, 0644, 1234), 0);
    CHECK_EQ(writef(3, 0, "guest data"), 10);
    begin(TFSYNC);
    put(3, 4);
    put(0, 4);
    send();
    CHECK_EQ(err_of(), 0);
    CHECK_EQ(getattr(3, &a), 0);
    CHECK_EQ(a.mode, S_IFREG | 0644);
    CHECK_EQ(a.uid, 1000);
    CHECK_EQ(a.gid, 1234);
    CHECK_EQ(a.size, 10);
    host_path(p, "new.txt");
    CHECK(stat(p, &st) == 0);
    CHECK_EQ(st.st_uid, getuid());
    CHECK_EQ(st.st_mode & 07777, 0600);
    CHECK_EQ(st.st_size, 10);
    CHECK_EQ(clunk(3), 0);
    CHECK_EQ(walk1(1, 3, "new.txt"), 0);
    CHECK_EQ(lcreate(1, "new.txt", 0x80 | 2, 0644, 0), EEXIST); /* O_EXCL */

    /* chmod / chown in the guest: xattrs only, the host file keeps its owner and mode. */
    CHECK_EQ(setattr(3, 0x1 | 0x2 | 0x4, 04755, 42, 43, 0), 0);
    CHECK_EQ(getattr(3, &a), 0);
    CHECK_EQ(a.mode, S_IFREG | 04755);
    CHECK_EQ(a.uid, 42);
    CHECK_EQ(a.gid, 43);
    CHECK(stat(p, &st) == 0);
    CHECK_EQ(st.st_uid, getuid());
    CHECK_EQ(st.st_mode & 07777, 0600);
    /* truncate */
    CHECK_EQ(setattr(3, 0x8, 0, 0, 0, 4), 0);
    CHECK(stat(p, &st) == 0 && st.st_size == 4);

    /* mkdir, readdir (with a small count, so several rounds) */
    CHECK_EQ(mkdir9(1, "d", 0755), 0);
    CHECK_EQ(rep[7], 0x80);
    CHECK_EQ(mkdir9(1, "d", 0755), EEXIST);
    CHECK_EQ(walk1(1, 4, "d"), 0);
    CHECK_EQ(getattr(4, &a), 0);
    CHECK_EQ(a.mode, S_IFDIR | 0755);
    CHECK_EQ(a.uid, 1000);
    CHECK_EQ(walk(1, 5, 0, NULL, NULL), 0);
    CHECK_EQ(lopen(5, 0), 0);
    char names[4096];
    CHECK_EQ(readdir_all(5, 64, names, sizeof(names)), 0);
    CHECK(has_word(names, "hello.txt"));
    CHECK(has_word(names, "new.txt"));
    CHECK(has_word(names, "d"));
    CHECK(has_word(names, "sub"));
    CHECK(has_word(names, "fifo"));
    CHECK_EQ(clunk(5), 0);

    /* renameat into d; fid 3 (on new.txt) follows the rename. */
    CHECK_EQ(renameat9(1, "new.txt", 4, "moved.txt"), 0);
    host_path(p, "d/moved.txt");
    CHECK(access(p, F_OK) == 0);
    CHECK_EQ(getattr(3, &a), 0);
    CHECK_EQ(a.size, 4);
    /* Trename (fid-based) back to the root */
    begin(TRENAME);
    put(3, 4);
    put(1, 4);
    pstr("back.txt");
    send();
    CHECK_EQ(err_of(), 0);
    host_path(p, "back.txt");
    CHECK(access(p, F_OK) == 0);
    /* Renaming a directory keeps the fids below it working. */
    CHECK_EQ(walk1(1, 6, "sub"), 0);
    CHECK_EQ(walk1(6, 7, "inner.txt"), 0);
    CHECK_EQ(renameat9(1, "sub", 1, "sub2"), 0);
    CHECK_EQ(getattr(7, &a), 0);
    CHECK_EQ(lopen(7, 0), 0);
    CHECK_EQ(readf(7, 0, 10, buf), 5);
    CHECK_EQ(renameat9(1, "sub2", 1, "sub"), 0);
    CHECK_EQ(clunk(6), 0);
    CHECK_EQ(clunk(7), 0);

    /* unlink and rmdir */
    CHECK_EQ(mkdir9(4, "inner", 0700), 0);
    CHECK_EQ(unlinkat9(1, "d", 0x200), ENOTEMPTY);
    CHECK_EQ(unlinkat9(4, "inner", 0x200), 0);
    CHECK_EQ(unlinkat9(4, "moved.txt", 0), ENOENT); /* it moved on */
    CHECK_EQ(unlinkat9(1, "back.txt", 0), 0);
    CHECK_EQ(getattr(3, &a), ENOENT);
    CHECK_EQ(unlinkat9(1, "d", 0x200), 0);
    CHECK_EQ(clunk(3), 0);
    CHECK_EQ(clunk(4), 0);
    /* Tremove clunks */
    CHECK_EQ(walk(1, 8, 0, NULL, NULL), 0);
    CHECK_EQ(lcreate(8, "gone", 2, 0644, 0), 0);
    begin(TREMOVE);
    put(8, 4);
    send();
    CHECK_EQ(err_of(), 0);
    CHECK_EQ(clunk(8), EBADF);
    host_path(p, "gone");
    CHECK(access(p, F_OK) != 0);

    /* statfs, lock, getlock, flush, xattrwalk */
    begin(TSTATFS);
    put(1, 4);
    send();
    CHECK_EQ(rep[4], TSTATFS + 1);
    begin(TLOCK);
    put(1, 4);
    put(1, 1);
    put(0, 4);
    put(0, 8);
    put(0, 8);
    put(1, 4);
    pstr("client");
    send();
    CHECK_EQ(rep[4], TLOCK + 1);
    CHECK_EQ(rep[7], 0);
    begin(TGETLOCK);
    put(1, 4);
    put(1, 1);
    put(0, 8);
    put(10, 8);
    put(1, 4);
    pstr("client");
    send();
    CHECK_EQ(rep[4], TGETLOCK + 1);
    CHECK_EQ(rep[7], 2);
    begin(TFLUSH);
    put(7, 2);
    send();
    CHECK_EQ(rep[4], TFLUSH + 1);
    begin(TXATTRWALK);
    put(1, 4);
    put(9, 4);
    pstr("user.virtfs.uid");
    send();
    CHECK_EQ(err_of(), EOPNOTSUPP);
}

static void test_special_files(void)
{
    Attr a;
    char buf[PATH_MAX], p[PATH_MAX];
    struct stat st;

    /* A guest symlink is a regular host file holding the target. */
    CHECK_EQ(symlink9(1, "gl", "/etc/passwd"), 0);
    CHECK_EQ(rep[7], 0x02);
    host_path(p, "gl");
    CHECK(lstat(p, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 11);
    CHECK_EQ(walk1(1, 10, "gl"), 0);
    CHECK_EQ(getattr(10, &a), 0);
    CHECK_EQ(a.mode & S_IFMT, S_IFLNK);
    CHECK_EQ(readlink9(10, buf), 0);
    CHECK(!strcmp(buf, "/etc/passwd"));
    CHECK_EQ(lopen(10, 0), ELOOP);
    CHECK_EQ(clunk(10), 0);
    CHECK_EQ(walk(1, 10, 0, NULL, NULL), 0);
    CHECK_EQ(lcreate(10, "gl", 0, 0644, 0), ELOOP); /* O_CREAT on it: not opened either */
    CHECK_EQ(clunk(10), 0);

    /* mknod: a regular host file, the type and rdev in xattrs. */
    begin(TMKNOD);
    put(1, 4);
    pstr("gc");
    put(S_IFCHR | 0600, 4);
    put(1, 4);
    put(3, 4);
    put(0, 4);
    send();
    CHECK_EQ(err_of(), 0);
    host_path(p, "gc");
    CHECK(lstat(p, &st) == 0 && S_ISREG(st.st_mode));
    CHECK_EQ(walk1(1, 10, "gc"), 0);
    CHECK_EQ(getattr(10, &a), 0);
    CHECK_EQ(a.mode, S_IFCHR | 0600);
    CHECK_EQ(a.rdev, makedev(1, 3));
    CHECK_EQ(lopen(10, 0), ENXIO);
    CHECK_EQ(clunk(10), 0);
    begin(TMKNOD);
    put(1, 4);
    pstr("gfifo");
    put(S_IFIFO | 0600, 4);
    put(0, 12);
    send();
    CHECK_EQ(err_of(), 0);
    host_path(p, "gfifo");
    CHECK(lstat(p, &st) == 0 && S_ISREG(st.st_mode));
    begin(TMKNOD);
    put(1, 4);
    pstr("gdir");
    put(S_IFDIR | 0600, 4);
    put(0, 12);
    send();
    CHECK_EQ(err_of(), EINVAL);

    /* A hard link to a regular file inside works. */
    CHECK_EQ(walk1(1, 10, "hello.txt"), 0);
    CHECK_EQ(link9(1, 10, "hl"), 0);
    host_path(p, "hl");
    CHECK(lstat(p, &st) == 0 && st.st_nlink == 2);
    CHECK_EQ(clunk(10), 0);
}

static void test_traversal(void)
{
    Attr a, root;
    unsigned nq;
    char buf[PATH_MAX], p[PATH_MAX];
    struct stat st;

    CHECK_EQ(getattr(1, &root), 0);
    /* ".." at the root stays at the root, also several times. */
    const char *up[] = { "..", "..", ".." };
    CHECK_EQ(walk(1, 20, 3, up, &nq), 0);
    CHECK_EQ(nq, 3);
    CHECK_EQ(getattr(20, &a), 0);
    CHECK_EQ(a.ino, root.ino);
    CHECK_EQ(clunk(20), 0);
    const char *up_out[] = { "..", "outside", "secret" };
    CHECK_EQ(walk(1, 20, 3, up_out, &nq), 0); /* ".." walked, then "outside" is not there */
    CHECK_EQ(nq, 1);
    CHECK_EQ(clunk(20), EBADF);
    /* sub/.. is the root */
    const char *sub_up[] = { "sub", ".." };
    CHECK_EQ(walk(1, 20, 2, sub_up, &nq), 0);
    CHECK_EQ(getattr(20, &a), 0);
    CHECK_EQ(a.ino, root.ino);
    CHECK_EQ(clunk(20), 0);
    /* '/' in a name, ".", empty, NUL inside, too long */
    CHECK_EQ(walk1(1, 20, "sub/inner.txt"), ENOENT);
    CHECK_EQ(walk1(1, 20, "../outside"), ENOENT);
    CHECK_EQ(walk1(1, 20, "/etc"), ENOENT);
    CHECK_EQ(walk1(1, 20, "."), ENOENT);
    CHECK_EQ(walk1(1, 20, ""), ENOENT);
    begin(TWALK);
    put(1, 4);
    put(20, 4);
    put(1, 2);
    put(5, 2);
    memcpy(msg + mlen, "a\0bcd", 5);
    mlen += 5;
    send();
    CHECK_EQ(err_of(), EINVAL);
    char longname[300];
    memset(longname, 'a', 299);
    longname[299] = 0;
    CHECK_EQ(walk1(1, 20, longname), ENAMETOOLONG);
    CHECK_EQ(walk(1, 21, 0, NULL, NULL), 0);
    CHECK_EQ(lcreate(21, "x/y", 2, 0644, 0), EINVAL);
    CHECK_EQ(lcreate(21, "..", 2, 0644, 0), EINVAL);
    CHECK_EQ(mkdir9(21, "../evil", 0755), EINVAL);
    CHECK_EQ(mkdir9(21, ".", 0755), EINVAL);
    CHECK_EQ(unlinkat9(21, "..", 0x200), EINVAL);
    CHECK_EQ(renameat9(21, "hello.txt", 21, "../../x"), EINVAL);
    CHECK_EQ(symlink9(21, "a/b", "x"), EINVAL);
    /* more than 16 names */
    const char *many[17];
    for (int i = 0; i < 17; i++)
        many[i] = "..";
    CHECK_EQ(walk(1, 20, 17, many, &nq), E2BIG);
    CHECK_EQ(walk(1, 20, 16, many, &nq), 0);
    CHECK_EQ(clunk(20), 0);
    /* A partial walk answers the qids so far and creates no fid. */
    const char *partial[] = { "sub", "nothere" };
    CHECK_EQ(walk(1, 20, 2, partial, &nq), 0);
    CHECK_EQ(nq, 1);
    CHECK_EQ(clunk(20), EBADF);

    /* A host symlink to /etc: the guest sees a symlink; nothing is followed on the host. */
    CHECK_EQ(walk1(1, 20, "etc-link"), 0);
    CHECK_EQ(rep[9], 0x02);
    CHECK_EQ(getattr(20, &a), 0);
    CHECK_EQ(a.mode & S_IFMT, S_IFLNK);
    CHECK_EQ(readlink9(20, buf), 0);
    CHECK(!strcmp(buf, "/etc"));
    CHECK_EQ(lopen(20, 0), ELOOP);
    CHECK_EQ(setattr(20, 0x1, 0777, 0, 0, 0), EOPNOTSUPP);
    CHECK_EQ(setattr(20, 0x8, 0, 0, 0, 0), EINVAL); /* no truncate through it */
    const char *through[] = { "etc-link", "passwd" };
    CHECK(walk(1, 22, 2, through, &nq) != 0 || nq < 2);
    CHECK_EQ(clunk(22), EBADF);
    /* Creating through a symlinked directory fails too. */
    CHECK_EQ(walk1(1, 23, "etc-link"), 0);
    CHECK(mkdir9(23, "evil", 0755) != 0);
    CHECK(lcreate(23, "evil", 2, 0644, 0) != 0);
    CHECK_EQ(clunk(23), 0);
    /* Hard links to the symlink (pointing at a file outside) are refused. */
    CHECK_EQ(walk1(1, 23, "passwd-link"), 0);
    CHECK(link9(21, 23, "stolen") != 0);
    host_path(p, "stolen");
    CHECK(lstat(p, &st) != 0);
    /* Renaming the symlink is fine (it stays a symlink on the host, still unfollowed). */
    CHECK_EQ(clunk(23), 0);
    CHECK_EQ(clunk(20), 0);

    /* A symlink race: the host swaps a walked directory for a symlink to /etc. The fid's
     * next uses see the symlink, never /etc through it. */
    CHECK_EQ(walk1(1, 25, "racedir"), 0);
    CHECK_EQ(walk1(25, 26, "f"), 0);
    char rd[PATH_MAX], rd2[PATH_MAX];
    host_path(rd, "racedir");
    host_path(rd2, "racedir.old");
    CHECK(rename(rd, rd2) == 0);
    CHECK(symlink("/etc", rd) == 0);
    CHECK_EQ(lopen(25, 0), ELOOP);
    CHECK(walk1(25, 27, "passwd") != 0);
    CHECK(getattr(26, &a) != 0); /* racedir/f: through the symlink, refused */
    CHECK(lopen(26, 0) != 0);
    CHECK(mkdir9(25, "x", 0755) != 0);
    CHECK_EQ(clunk(25), 0);
    CHECK_EQ(clunk(26), 0);
    CHECK_EQ(clunk(27), EBADF);

    /* A FIFO in the share: walkable, never opened on the host (must not hang). */
    alarm(20);
    CHECK_EQ(walk1(1, 24, "fifo"), 0);
    CHECK_EQ(getattr(24, &a), 0);
    CHECK_EQ(a.mode & S_IFMT, S_IFIFO);
    CHECK_EQ(lopen(24, 0), ENXIO);
    CHECK_EQ(lopen(24, 1), ENXIO);
    CHECK_EQ(setattr(24, 0x8, 0, 0, 0, 0), EINVAL);
    CHECK_EQ(clunk(24), 0);
    /* Creating over the FIFO's name without O_EXCL does not open it either. */
    CHECK_EQ(lcreate(21, "fifo", 0, 0644, 0), ENXIO);
    alarm(0);
    CHECK_EQ(clunk(21), 0);
}

static void test_malformed(void)
{
    /* size field disagreeing with the length */
    begin(TCLUNK);
    put(1, 4);
    msg[0] = (uint8_t)(mlen + 1);
    rlen = p9_handle(srv, msg, mlen, rep, sizeof(rep));
    CHECK_EQ(rep[4], RLERROR);
    CHECK_EQ(err_of(), EPROTO);
    CHECK_EQ(get(5, 2), 0x1234); /* with the tag */
    /* shorter than a header */
    rlen = p9_handle(srv, msg, 3, rep, sizeof(rep));
    CHECK_EQ(err_of(), EPROTO);
    /* a string running past the end */
    begin(TWALK);
    put(1, 4);
    put(30, 4);
    put(1, 2);
    put(50, 2);
    memcpy(msg + mlen, "abc", 3);
    mlen += 3;
    send();
    CHECK_EQ(err_of(), EPROTO);
    CHECK_EQ(clunk(30), EBADF);
    /* fields missing */
    begin(TREAD);
    put(1, 4);
    send();
    CHECK_EQ(err_of(), EPROTO);
    /* trailing bytes in a Twalk */
    begin(TWALK);
    put(1, 4);
    put(30, 4);
    put(0, 2);
    put(0, 1);
    send();
    CHECK_EQ(err_of(), EPROTO);
    /* unknown type, an R-message, Tauth */
    begin(200);
    send();
    CHECK_EQ(err_of(), EOPNOTSUPP);
    begin(TWALK + 1);
    send();
    CHECK_EQ(err_of(), EOPNOTSUPP);
    /* unknown fids */
    CHECK_EQ(lopen(999, 0), EBADF);
    CHECK_EQ(walk1(999, 31, "hello.txt"), EBADF);
    CHECK_EQ(readf(999, 0, 10, NULL), -EBADF);
    Attr a;
    CHECK_EQ(getattr(999, &a), EBADF);
    CHECK_EQ(mkdir9(999, "x", 0755), EBADF);
    CHECK_EQ(walk1(1, NOFID, "hello.txt"), EBADF);
    /* walk to an existing newfid */
    CHECK_EQ(walk1(1, 32, "hello.txt"), 0);
    CHECK_EQ(walk1(1, 32, "sub"), EBADF);
    /* huge counts: Tread over msize is refused, a Twrite count disagreeing with the data too */
    CHECK_EQ(lopen(32, 0), 0);
    CHECK_EQ(readf(32, 0, 0xffffffffu, NULL), -EMSGSIZE);
    CHECK_EQ(readf(32, 0, p9_server_msize(srv) - 11, NULL), 11);
    CHECK_EQ(readf(32, UINT64_MAX, 10, NULL), -EINVAL);
    begin(TWRITE);
    put(32, 4);
    put(0, 8);
    put(0xfffffff0u, 4);
    put(0, 4);
    send();
    CHECK_EQ(err_of(), EPROTO);
    /* a frame larger than msize */
    begin(TWRITE);
    put(32, 4);
    put(0, 8);
    uint32_t big = p9_server_msize(srv);
    put(big, 4);
    memset(msg + mlen, 'x', big);
    mlen += big;
    send();
    CHECK_EQ(err_of(), EMSGSIZE);
    /* A reply bigger than the room: Rread shortened, Rgetattr becomes Rlerror. */
    CHECK_EQ(send_cap(7), 0);
    CHECK_EQ(rlen, 0);
    begin(TREAD);
    put(32, 4);
    put(0, 8);
    put(100, 4);
    send_cap(15);
    CHECK_EQ(rep[4], TREAD + 1);
    CHECK_EQ(get(7, 4), 4);
    begin(TGETATTR);
    put(32, 4);
    put(0x7ff, 8);
    send_cap(40);
    CHECK_EQ(err_of(), EMSGSIZE);
    CHECK_EQ(clunk(32), 0);
    /* Tsetattr on a fid with bad flags in Tunlinkat */
    CHECK_EQ(unlinkat9(1, "hello.txt", 0x1), EINVAL);
}

/* p9_handle_iov: Tread into / Twrite from split buffers, the fallback, errors, no room. */
static void test_iov(void)
{
    static uint8_t rq[P9_MAX_MSIZE], rp[P9_MAX_MSIZE];
    uint8_t a[5], b[3], c[400];
    char p[PATH_MAX];
    CHECK_EQ(walk(1, 40, 0, NULL, NULL), 0);
    CHECK_EQ(lcreate(40, "iov.txt", 2, 0644, 0), 0);
    /* Twrite: header split in two, data over three buffers. */
    begin(TWRITE);
    put(40, 4);
    put(2, 8);
    put(10, 4);
    memcpy(msg + mlen, "0123456789", 10);
    mlen += 10;
    for (int i = 0; i < 4; i++)
        msg[i] = (uint8_t)(mlen >> (8 * i));
    struct iovec out[4] = { { msg, 9 }, { msg + 9, 16 }, { msg + 25, 1 }, { msg + 26, 7 } };
    struct iovec in[3] = { { a, 5 }, { b, 3 }, { c, sizeof(c) } };
    CHECK_EQ(p9_handle_iov(srv, out, 4, in, 3, rq, rp), 11);
    CHECK_EQ(a[4], TWRITE + 1);
    CHECK_EQ(b[2], 10); /* count: bytes 7..10 of the reply = b[2], c[0..2] */
    CHECK_EQ(c[0], 0);
    host_path(p, "iov.txt");
    char buf[64] = { 0 };
    FILE *f = fopen(p, "r");
    CHECK(f && fread(buf, 1, sizeof(buf), f) == 12);
    if (f)
        fclose(f);
    CHECK(!memcmp(buf,
                  "\0\0"
                  "0123456789",
                  12));
    /* Tread: the reply header straddles buffers, data lands in the third. */
    begin(TREAD);
    put(40, 4);
    put(3, 8);
    put(100, 4);
    for (int i = 0; i < 4; i++)
        msg[i] = (uint8_t)(mlen >> (8 * i));
    struct iovec rout[2] = { { msg, 10 }, { msg + 10, 13 } };
    memset(c, 0, sizeof(c));
    CHECK_EQ(p9_handle_iov(srv, rout, 2, in, 3, rq, rp), 11 + 9);
    CHECK_EQ(a[0], 20);
    CHECK_EQ(a[4], TREAD + 1);
    CHECK_EQ(b[2], 9);
    CHECK(!memcmp(c + 3, "123456789", 9));
    /* Tread shortened to the room in the buffers. */
    struct iovec small[2] = { { a, 5 }, { b, 3 } };
    uint8_t d[4];
    struct iovec small3[3] = { { a, 5 }, { b, 3 }, { d, 4 } };
    CHECK_EQ(p9_handle_iov(srv, rout, 2, small3, 3, rq, rp), 12);
    CHECK_EQ(d[3], '1');
    /* Less room than an Rlerror: nothing written. */
    CHECK_EQ(p9_handle_iov(srv, rout, 2, small, 2, rq, rp), 0);
    /* Errors on the direct paths: unknown fid, count over msize. */
    msg[7] = 99;
    CHECK_EQ(p9_handle_iov(srv, rout, 2, in, 3, rq, rp), 11);
    CHECK_EQ(a[4], RLERROR);
    CHECK_EQ(b[2], EBADF);
    msg[7] = 40;
    msg[19] = msg[20] = msg[21] = msg[22] = 0xff;
    CHECK_EQ(p9_handle_iov(srv, rout, 2, in, 3, rq, rp), 11);
    CHECK_EQ(b[2], EMSGSIZE);
    /* Any other message goes through the copy (here: Tgetattr). */
    begin(TGETATTR);
    put(40, 4);
    put(0x7ff, 8);
    for (int i = 0; i < 4; i++)
        msg[i] = (uint8_t)(mlen >> (8 * i));
    struct iovec gout[1] = { { msg, mlen } };
    CHECK_EQ(p9_handle_iov(srv, gout, 1, in, 3, rq, rp), 160);
    CHECK_EQ(a[4], TGETATTR + 1);
    /* A Twrite whose count disagrees with its data takes the general path: EPROTO. */
    begin(TWRITE);
    put(40, 4);
    put(0, 8);
    put(5, 4);
    put(0, 2);
    for (int i = 0; i < 4; i++)
        msg[i] = (uint8_t)(mlen >> (8 * i));
    struct iovec wout[1] = { { msg, mlen } };
    CHECK_EQ(p9_handle_iov(srv, wout, 1, in, 3, rq, rp), 11);
    CHECK_EQ(b[2], EPROTO);
    CHECK_EQ(clunk(40), 0);
}

static void test_fid_limit(void)
{
    unsigned base_fids = p9_server_nfids(srv);
    uint32_t e = 0;
    unsigned made = 0;
    for (uint32_t id = 1000; id < 1000 + P9_MAX_FIDS + 10; id++) {
        e = walk(1, id, 0, NULL, NULL);
        if (e)
            break;
        made++;
    }
    CHECK_EQ(e, EMFILE);
    CHECK_EQ(made + base_fids, P9_MAX_FIDS);
    e = 0;
    /* At most P9_MAX_OPEN of them open. */
    for (uint32_t id = 1000; id < 1000 + P9_MAX_OPEN; id++)
        e |= lopen(id, 0);
    CHECK_EQ(e, 0);
    CHECK_EQ(lopen(1000 + P9_MAX_OPEN, 0), EMFILE);
    CHECK_EQ(clunk(1000), 0);
    CHECK_EQ(lopen(1000 + P9_MAX_OPEN, 0), 0);
    CHECK_EQ(lopen(1000 + P9_MAX_OPEN + 1, 0), EMFILE);
    /* Tversion starts a new session: every fid is gone. */
    CHECK_EQ(version(65536, "9P2000.L"), 0);
    CHECK_EQ(p9_server_nfids(srv), 0);
    CHECK_EQ(clunk(1), EBADF);
    CHECK_EQ(attach(1, 1000), 0);
}

/* The passthrough fallback (no user xattrs): host attributes, no host-unsafe objects. */
static void test_no_mapping(void)
{
    char msgbuf[256], p[PATH_MAX];
    struct stat st;
    Attr a;
    P9Server *mapped = srv;
    CHECK_EQ(p9_server_new(&srv, share, P9_NO_MAPPING, msgbuf, sizeof(msgbuf)), 0);
    CHECK(!p9_server_mapped(srv));
    CHECK_EQ(version(65536, "9P2000.L"), 0);
    CHECK_EQ(attach(1, 1000), 0);
    CHECK_EQ(walk(1, 2, 0, NULL, NULL), 0);
    CHECK_EQ(lcreate(2, "plain.txt", 2, 04640, 77), 0);
    host_path(p, "plain.txt");
    CHECK(stat(p, &st) == 0);
    CHECK_EQ(st.st_mode & 07777, 0640); /* the guest's bits, without set-id */
    CHECK_EQ(getattr(2, &a), 0);
    CHECK_EQ(a.uid, getuid()); /* the host's owner */
    CHECK_EQ(setattr(2, 0x1, 04700, 0, 0, 0), 0);
    CHECK(stat(p, &st) == 0);
    CHECK_EQ(st.st_mode & 07777, 0700);
    CHECK_EQ(setattr(2, 0x2, 0, getuid() + 1, 0, 0), EPERM);
    CHECK_EQ(setattr(2, 0x2, 0, getuid(), 0, 0), 0);
    CHECK_EQ(symlink9(1, "nolink", "/etc"), EOPNOTSUPP);
    begin(TMKNOD);
    put(1, 4);
    pstr("nofifo");
    put(S_IFIFO | 0600, 4);
    put(0, 12);
    send();
    CHECK_EQ(err_of(), EOPNOTSUPP);
    host_path(p, "nolink");
    CHECK(lstat(p, &st) != 0);
    host_path(p, "nofifo");
    CHECK(lstat(p, &st) != 0);
    CHECK_EQ(unlinkat9(1, "plain.txt", 0), 0);
    p9_server_free(srv);
    srv = mapped;
}

static void test_readonly(void)
{
    char msgbuf[256];
    P9Server *rw = srv;
    CHECK_EQ(p9_server_new(&srv, share, P9_READONLY, msgbuf, sizeof(msgbuf)), 0);
    CHECK_EQ(version(65536, "9P2000.L"), 0);
    CHECK_EQ(attach(1, 0), 0);
    CHECK_EQ(walk1(1, 2, "hello.txt"), 0);
    CHECK_EQ(lopen(2, 1), EROFS);
    CHECK_EQ(lopen(2, 2), EROFS);
    CHECK_EQ(lopen(2, 01000), EROFS); /* O_TRUNC */
    CHECK_EQ(setattr(2, 0x1, 0777, 0, 0, 0), EROFS);
    CHECK_EQ(lopen(2, 0), 0);
    char buf[32];
    CHECK_EQ(readf(2, 0, 32, buf), 11);
    CHECK_EQ(walk(1, 3, 0, NULL, NULL), 0);
    CHECK_EQ(lcreate(3, "nope", 2, 0644, 0), EROFS);
    CHECK_EQ(mkdir9(1, "nope", 0755), EROFS);
    CHECK_EQ(symlink9(1, "nope", "x"), EROFS);
    CHECK_EQ(unlinkat9(1, "hello.txt", 0), EROFS);
    CHECK_EQ(renameat9(1, "hello.txt", 1, "x"), EROFS);
    CHECK_EQ(link9(1, 2, "x"), EROFS);
    begin(TREMOVE);
    put(2, 4);
    send();
    CHECK_EQ(err_of(), EROFS);
    char p[PATH_MAX];
    host_path(p, "hello.txt");
    CHECK(access(p, F_OK) == 0);
    p9_server_free(srv);
    srv = rw;
}

int main(void)
{
    /* The mapped model needs user xattrs: /tmp may be a tmpfs without them (before Linux
     * 6.6), so fall back to the current (build) directory. */
    if (!test_mkdtemp(base, sizeof(base), "vessel-p9")) {
        perror("mkdtemp");
        return 1;
    }
    if (setxattr(base, "user.vessel-test", "1", 1, 0) < 0) {
        rmdir(base);
        snprintf(base, sizeof(base), "vessel-p9-XXXXXX");
        if (!mkdtemp(base)) {
            perror("mkdtemp");
            return 1;
        }
    }
    snprintf(share, sizeof(share), "%s/share", base);
    char p[PATH_MAX];
    mkdir(share, 0755);
    snprintf(p, sizeof(p), "%s/outside", base);
    mkdir(p, 0755);
    snprintf(p, sizeof(p), "%s/outside/secret", base);
    FILE *f = fopen(p, "w");
    fputs("secret", f);
    fclose(f);
    write_host("hello.txt", "hello world");
    host_path(p, "sub");
    mkdir(p, 0755);
    write_host("sub/inner.txt", "inner");
    host_path(p, "etc-link");
    CHECK(symlink("/etc", p) == 0);
    host_path(p, "passwd-link");
    CHECK(symlink("/etc/passwd", p) == 0);
    host_path(p, "fifo");
    CHECK(mkfifo(p, 0644) == 0);
    host_path(p, "racedir");
    mkdir(p, 0755);
    write_host("racedir/f", "f");

    char msgbuf[256];
    snprintf(p, sizeof(p), "%s/outside/secret", base);
    CHECK(p9_server_new(&srv, p, 0, msgbuf, sizeof(msgbuf)) == -ENOTDIR);
    CHECK(strstr(msgbuf, "not a directory") != NULL);
    snprintf(p, sizeof(p), "%s/missing", base);
    CHECK(p9_server_new(&srv, p, 0, msgbuf, sizeof(msgbuf)) == -ENOENT);
    CHECK_EQ(p9_server_new(&srv, share, 0, msgbuf, sizeof(msgbuf)), 0);
    if (!p9_server_mapped(srv)) {
        fprintf(stderr, "SKIP: neither $TMPDIR (or /tmp) nor . has user xattrs (the mapped model "
                        "needs them)\n");
        p9_server_free(srv);
        rm_rf(base);
        return 77;
    }

    test_version();
    test_round_trips();
    test_special_files();
    test_traversal();
    test_malformed();
    test_iov();
    test_fid_limit();
    test_readonly();
    test_no_mapping();
    p9_server_free(srv);

    /* Nothing outside the share changed. */
    snprintf(p, sizeof(p), "%s/outside", base);
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof(cmd), "ls -A '%s' | wc -l", p);
    FILE *ls = popen(cmd, "r");
    int n = -1;
    CHECK(ls && fscanf(ls, "%d", &n) == 1 && n == 1);
    if (ls)
        pclose(ls);

    rm_rf(base);
    printf("test-p9: %d passed, %d failed\n", g_pass, g_fail);
    return g_fail ? 1 : 0;
}
