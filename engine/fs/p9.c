/* SPDX-License-Identifier: MIT */
/*
 * 9P2000.L server: frame decoding, the fid table and the request handlers. See p9.h for
 * the security rules; the helpers below are where they are enforced:
 * - p9_valid_name(): one path component, never '/', NUL, ".", ".." or empty;
 * - fs_resolve(): every path opened with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
 *   RESOLVE_NO_MAGICLINKS) relative to the root fd, O_PATH | O_NOFOLLOW;
 * - fs_reopen(): only regular files and directories are opened for I/O.
 * Fids hold a path relative to the root (renames through the server fix them up) and, once
 * opened, the open fd (so an unlinked open file stays usable).
 */
#include "fs/p9.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "core/iov.h"

/* Message types (9P2000.L). */
enum {
    P9_RLERROR = 7,
    P9_TSTATFS = 8,
    P9_TLOPEN = 12,
    P9_TLCREATE = 14,
    P9_TSYMLINK = 16,
    P9_TMKNOD = 18,
    P9_TRENAME = 20,
    P9_TREADLINK = 22,
    P9_TGETATTR = 24,
    P9_TSETATTR = 26,
    P9_TXATTRWALK = 30,
    P9_TXATTRCREATE = 32,
    P9_TREADDIR = 40,
    P9_TFSYNC = 50,
    P9_TLOCK = 52,
    P9_TGETLOCK = 54,
    P9_TLINK = 70,
    P9_TMKDIR = 72,
    P9_TRENAMEAT = 74,
    P9_TUNLINKAT = 76,
    P9_TVERSION = 100,
    P9_TAUTH = 102,
    P9_TATTACH = 104,
    P9_TFLUSH = 108,
    P9_TWALK = 110,
    P9_TREAD = 116,
    P9_TWRITE = 118,
    P9_TCLUNK = 120,
    P9_TREMOVE = 122,
};

#define P9_HDR       7 /* size[4] type[1] tag[2] */
#define P9_NOFID     0xffffffffu
#define P9_QTDIR     0x80
#define P9_QTSYMLINK 0x02
#define P9_QTFILE    0x00

/* Tlopen / Tlcreate flags (the generic Linux values, fixed by the protocol). */
#define P9_DOTL_ACCMODE 03
#define P9_DOTL_WRONLY  01
#define P9_DOTL_RDWR    02
#define P9_DOTL_EXCL    0200
#define P9_DOTL_TRUNC   01000
#define P9_DOTL_APPEND  02000
#define P9_DOTL_DSYNC   010000
#define P9_DOTL_SYNC    04000000

/* Tsetattr valid bits. */
#define P9_ATTR_MODE      0x001
#define P9_ATTR_UID       0x002
#define P9_ATTR_GID       0x004
#define P9_ATTR_SIZE      0x008
#define P9_ATTR_ATIME     0x010
#define P9_ATTR_MTIME     0x020
#define P9_ATTR_CTIME     0x040
#define P9_ATTR_ATIME_SET 0x080
#define P9_ATTR_MTIME_SET 0x100

#define P9_GETATTR_BASIC  0x7ffull
#define P9_AT_REMOVEDIR   0x200
#define P9_LOCK_SUCCESS   0
#define P9_LOCK_UNLCK     2

/* The xattrs of the mapped model (QEMU's names and encoding). */
#define XA_UID  "user.virtfs.uid"
#define XA_GID  "user.virtfs.gid"
#define XA_MODE "user.virtfs.mode"
#define XA_RDEV "user.virtfs.rdev"

/* Host permission bits of objects the guest creates in the mapped model. */
#define MAPPED_FILE_MODE 0600
#define MAPPED_DIR_MODE  0700

#define FID_BUCKETS      1024
#define P9_IOV_MAX       1024 /* buffers a scatter-gather Tread/Twrite may span */

typedef struct P9Fid {
    struct P9Fid *next; /* hash chain */
    uint32_t id;
    uint32_t uid;   /* the attaching user: owner of what this fid creates */
    char *path;     /* relative to the root, "" for the root itself */
    int fd;         /* open file or directory (Tlopen/Tlcreate), or -1 */
    int open_flags; /* P9_DOTL_* of the open */
    DIR *dir;       /* readdir stream on a dup of fd */
    long dir_off;   /* where dir stands: the offset the next Treaddir should ask for */
} P9Fid;

struct P9Server {
    int root;
    bool readonly;
    bool mapped;
    uint32_t msize;
    unsigned nfids;
    unsigned nopen; /* fids holding an open fd (at most P9_MAX_OPEN) */
    P9Fid *fids[FID_BUCKETS];
    struct iovec iov_tmp[P9_IOV_MAX]; /* p9_handle_iov */
};

/* ---- frame reading and writing ---- */

typedef struct P9Reader {
    const uint8_t *p;
    size_t len, pos;
    bool bad; /* ran past the end */
} P9Reader;

typedef struct P9Writer {
    uint8_t *p;
    size_t cap, pos;
    bool overflow;
} P9Writer;

static const uint8_t *rd_take(P9Reader *r, size_t n)
{
    if (r->bad || n > r->len - r->pos) {
        r->bad = true;
        return NULL;
    }
    const uint8_t *q = r->p + r->pos;
    r->pos += n;
    return q;
}

static uint64_t rd_le(P9Reader *r, unsigned n)
{
    const uint8_t *q = rd_take(r, n);
    uint64_t v = 0;
    if (!q)
        return 0;
    for (unsigned i = 0; i < n; i++)
        v |= (uint64_t)q[i] << (8 * i);
    return v;
}

static uint8_t rd8(P9Reader *r)
{
    return (uint8_t)rd_le(r, 1);
}
static uint16_t rd16(P9Reader *r)
{
    return (uint16_t)rd_le(r, 2);
}
static uint32_t rd32(P9Reader *r)
{
    return (uint32_t)rd_le(r, 4);
}
static uint64_t rd64(P9Reader *r)
{
    return rd_le(r, 8);
}

/*
 * A string into out (cap bytes with the NUL). Returns 0, -EPROTO when it runs past the
 * frame, -ENAMETOOLONG when it does not fit, -EINVAL when it contains a NUL byte (the
 * host would see a shorter name than the guest sent).
 */
static int rd_str(P9Reader *r, char *out, size_t cap)
{
    uint16_t n = rd16(r);
    const uint8_t *q = rd_take(r, n);
    if (!q)
        return -EPROTO;
    if ((size_t)n >= cap)
        return -ENAMETOOLONG;
    if (memchr(q, 0, n))
        return -EINVAL;
    memcpy(out, q, n);
    out[n] = 0;
    return 0;
}

static uint8_t *wr_take(P9Writer *w, size_t n)
{
    if (w->overflow || n > w->cap - w->pos) {
        w->overflow = true;
        return NULL;
    }
    uint8_t *q = w->p + w->pos;
    w->pos += n;
    return q;
}

static void wr_le(P9Writer *w, uint64_t v, unsigned n)
{
    uint8_t *q = wr_take(w, n);
    if (!q)
        return;
    for (unsigned i = 0; i < n; i++)
        q[i] = (uint8_t)(v >> (8 * i));
}

static void wr8(P9Writer *w, uint8_t v)
{
    wr_le(w, v, 1);
}
static void wr16(P9Writer *w, uint16_t v)
{
    wr_le(w, v, 2);
}
static void wr32(P9Writer *w, uint32_t v)
{
    wr_le(w, v, 4);
}
static void wr64(P9Writer *w, uint64_t v)
{
    wr_le(w, v, 8);
}

static void wr_str(P9Writer *w, const char *s, size_t n)
{
    if (n > 0xffff) {
        w->overflow = true;
        return;
    }
    wr16(w, (uint16_t)n);
    uint8_t *q = wr_take(w, n);
    if (q)
        memcpy(q, s, n);
}

/* ---- fids ---- */

static P9Fid **fid_slot(P9Server *s, uint32_t id)
{
    P9Fid **pp = &s->fids[id % FID_BUCKETS];
    while (*pp && (*pp)->id != id)
        pp = &(*pp)->next;
    return pp;
}

static P9Fid *fid_get(P9Server *s, uint32_t id)
{
    return *fid_slot(s, id);
}

static void fid_close(P9Server *s, P9Fid *f)
{
    if (f->dir)
        closedir(f->dir); /* owns fd */
    else if (f->fd >= 0)
        close(f->fd);
    if (f->fd >= 0)
        s->nopen--;
    f->dir = NULL;
    f->fd = -1;
}

static void fid_free(P9Server *s, P9Fid *f)
{
    fid_close(s, f);
    free(f->path);
    free(f);
}

/* A new fid with a copy of path; NULL with *err set when id is in use or the table full. */
static P9Fid *fid_new(P9Server *s, uint32_t id, const char *path, uint32_t uid, int *err)
{
    P9Fid **pp = fid_slot(s, id);
    if (id == P9_NOFID || *pp) {
        *err = -EBADF;
        return NULL;
    }
    if (s->nfids >= P9_MAX_FIDS) {
        *err = -EMFILE;
        return NULL;
    }
    P9Fid *f = calloc(1, sizeof(*f));
    char *p = strdup(path);
    if (!f || !p) {
        free(f);
        free(p);
        *err = -ENOMEM;
        return NULL;
    }
    f->id = id;
    f->uid = uid;
    f->path = p;
    f->fd = -1;
    *pp = f;
    s->nfids++;
    return f;
}

static void fid_remove(P9Server *s, uint32_t id)
{
    P9Fid **pp = fid_slot(s, id);
    P9Fid *f = *pp;
    if (!f)
        return;
    *pp = f->next;
    fid_free(s, f);
    s->nfids--;
}

/* ---- paths and host access ---- */

/* One path component the host may see. */
static bool p9_valid_name(const char *name)
{
    return name[0] && strcmp(name, ".") && strcmp(name, "..") && !strchr(name, '/');
}

/* "dir/name" into a new string; -ENAMETOOLONG past PATH_MAX. */
static int path_join(const char *dir, const char *name, char **out)
{
    size_t dl = strlen(dir), nl = strlen(name);
    if (dl + 1 + nl >= PATH_MAX)
        return -ENAMETOOLONG;
    char *p = malloc(dl + nl + 2);
    if (!p)
        return -ENOMEM;
    if (dl) {
        memcpy(p, dir, dl);
        p[dl] = '/';
        memcpy(p + dl + 1, name, nl + 1);
    } else {
        memcpy(p, name, nl + 1);
    }
    *out = p;
    return 0;
}

static int openat2_beneath(int dirfd, const char *path, int flags, mode_t mode)
{
    struct open_how how = {
        .flags = (uint64_t)flags | O_CLOEXEC,
        .mode = (flags & O_CREAT) ? mode : 0,
        .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
    };
    int fd;
    do
        fd = (int)syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
    while (fd < 0 && errno == EAGAIN);
    return fd < 0 ? -errno : fd;
}

/* An O_PATH fd for path (below the root, no symlink followed, a final symlink itself). */
static int fs_resolve(P9Server *s, const char *path)
{
    return openat2_beneath(s->root, path[0] ? path : ".", O_PATH | O_NOFOLLOW, 0);
}

/* The O_PATH fd of path's parent directory, and its last component in *base. */
static int fs_resolve_parent(P9Server *s, const char *path, const char **base)
{
    if (!path[0])
        return -EBUSY; /* the root has no parent in the share */
    const char *slash = strrchr(path, '/');
    if (!slash) {
        *base = path;
        return fs_resolve(s, "");
    }
    size_t n = (size_t)(slash - path);
    char *dir = strndup(path, n);
    if (!dir)
        return -ENOMEM;
    int fd = fs_resolve(s, dir);
    free(dir);
    *base = slash + 1;
    return fd;
}

static void proc_path(char *buf, size_t cap, int fd)
{
    snprintf(buf, cap, "/proc/self/fd/%d", fd);
}

static int host_stat(int fd, struct stat *st)
{
    return fstatat(fd, "", st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
}

/*
 * Open the object behind the O_PATH fd opath for I/O with flags: regular files and
 * directories only (checked on the same inode the reopen uses, so nothing can be swapped in).
 */
static int fs_reopen(int opath, int flags)
{
    struct stat st;
    int e = host_stat(opath, &st);
    if (e)
        return e;
    if (S_ISLNK(st.st_mode))
        return -ELOOP;
    if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
        return -ENXIO;
    if (S_ISDIR(st.st_mode) && (flags & O_ACCMODE) != O_RDONLY)
        return -EISDIR;
    char pp[32];
    proc_path(pp, sizeof(pp), opath);
    int fd = open(pp, flags | O_CLOEXEC | O_NOCTTY);
    return fd < 0 ? -errno : fd;
}

/* xattr I/O on a regular file or directory given by any fd (O_PATH included). */
static int xa_get(int fd, const char *name, void *buf, size_t len)
{
    char pp[32];
    proc_path(pp, sizeof(pp), fd);
    ssize_t n = getxattr(pp, name, buf, len);
    return n < 0 ? -errno : (int)n;
}

static int xa_set(int fd, const char *name, const void *buf, size_t len)
{
    char pp[32];
    proc_path(pp, sizeof(pp), fd);
    return setxattr(pp, name, buf, len, 0) < 0 ? -errno : 0;
}

static int xa_set_u32(int fd, const char *name, uint32_t v)
{
    uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };
    return xa_set(fd, name, b, 4);
}

static int xa_set_u64(int fd, const char *name, uint64_t v)
{
    uint8_t b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    return xa_set(fd, name, b, 8);
}

static bool xa_get_le(int fd, const char *name, unsigned n, uint64_t *v)
{
    uint8_t b[8];
    if (xa_get(fd, name, b, n) != (int)n)
        return false;
    *v = 0;
    for (unsigned i = 0; i < n; i++)
        *v |= (uint64_t)b[i] << (8 * i);
    return true;
}

/* What the guest sees of the object behind fd: the host's stat with the mapped xattrs. */
static int fs_getattr(P9Server *s, int fd, struct stat *st)
{
    int e = host_stat(fd, st);
    if (e || !s->mapped || !(S_ISREG(st->st_mode) || S_ISDIR(st->st_mode)))
        return e;
    uint64_t v;
    if (xa_get_le(fd, XA_UID, 4, &v))
        st->st_uid = (uid_t)v;
    if (xa_get_le(fd, XA_GID, 4, &v))
        st->st_gid = (gid_t)v;
    if (xa_get_le(fd, XA_MODE, 4, &v)) {
        mode_t m = (mode_t)v;
        if (S_ISDIR(st->st_mode))
            m = S_IFDIR | (m & 07777); /* a directory stays a directory */
        else if (S_ISDIR(m) || !(m & S_IFMT))
            m = S_IFREG | (m & 07777);
        st->st_mode = m;
    }
    if (xa_get_le(fd, XA_RDEV, 8, &v))
        st->st_rdev = (dev_t)v;
    return 0;
}

/* Store the guest's view of a new object (mapped model). */
static int fs_set_owner(P9Server *s, int fd, uint32_t uid, uint32_t gid, uint32_t mode,
                        uint64_t rdev)
{
    if (!s->mapped)
        return 0;
    int e = xa_set_u32(fd, XA_UID, uid);
    if (!e)
        e = xa_set_u32(fd, XA_GID, gid);
    if (!e)
        e = xa_set_u32(fd, XA_MODE, mode);
    if (!e && rdev)
        e = xa_set_u64(fd, XA_RDEV, rdev);
    return e;
}

static void wr_qid(P9Writer *w, const struct stat *st)
{
    uint8_t type = S_ISDIR(st->st_mode)   ? P9_QTDIR
                   : S_ISLNK(st->st_mode) ? P9_QTSYMLINK
                                          : P9_QTFILE;
    wr8(w, type);
    wr32(w, 0);
    wr64(w, (uint64_t)st->st_ino);
}

/* Guest view (stat) of path. */
static int stat_path(P9Server *s, const char *path, struct stat *st)
{
    int fd = fs_resolve(s, path);
    if (fd < 0)
        return fd;
    int e = fs_getattr(s, fd, st);
    close(fd);
    return e;
}

/* After a rename from `from` to `to`, fids on from or below it follow. */
static void fix_paths(P9Server *s, const char *from, const char *to)
{
    size_t fl = strlen(from);
    for (unsigned b = 0; b < FID_BUCKETS; b++) {
        for (P9Fid *f = s->fids[b]; f; f = f->next) {
            if (strncmp(f->path, from, fl) || (f->path[fl] && f->path[fl] != '/'))
                continue;
            char *np;
            const char *rest = f->path + fl;
            size_t tl = strlen(to), rl = strlen(rest);
            if (tl + rl >= PATH_MAX || !(np = malloc(tl + rl + 1)))
                continue; /* keeps the old path: later accesses fail with ENOENT */
            memcpy(np, to, tl);
            memcpy(np + tl, rest, rl + 1);
            free(f->path);
            f->path = np;
        }
    }
}

/* ---- request handlers: return 0 with the body written, or -errno ---- */

typedef struct P9Req {
    P9Server *s;
    P9Reader r;
    P9Writer w;
} P9Req;

#define RD_CHECK(q)         \
    do {                    \
        if ((q)->r.bad)     \
            return -EPROTO; \
    } while (0)

static P9Fid *req_fid(P9Req *q, uint32_t id)
{
    return q->r.bad ? NULL : fid_get(q->s, id);
}

static int h_version(P9Req *q)
{
    uint32_t msize = rd32(&q->r);
    char version[32];
    int e = rd_str(&q->r, version, sizeof(version));
    RD_CHECK(q);
    if (msize < P9_MIN_MSIZE)
        return -EINVAL;
    p9_server_reset(q->s); /* a new session: every fid of the old one is gone */
    if (msize > P9_MAX_MSIZE)
        msize = P9_MAX_MSIZE;
    q->s->msize = msize;
    wr32(&q->w, msize);
    const char *v = (!e && !strcmp(version, "9P2000.L")) ? "9P2000.L" : "unknown";
    wr_str(&q->w, v, strlen(v));
    return 0;
}

static int h_attach(P9Req *q)
{
    uint32_t fid = rd32(&q->r);
    uint32_t afid = rd32(&q->r);
    char uname[256], aname[256];
    int e = rd_str(&q->r, uname, sizeof(uname));
    if (!e)
        e = rd_str(&q->r, aname, sizeof(aname));
    uint32_t n_uname = rd32(&q->r);
    RD_CHECK(q);
    if (e)
        return e;
    if (afid != P9_NOFID)
        return -EOPNOTSUPP; /* no authentication */
    struct stat st;
    e = stat_path(q->s, "", &st);
    if (e)
        return e;
    P9Fid *f = fid_new(q->s, fid, "", n_uname == P9_NOFID ? 0 : n_uname, &e);
    if (!f)
        return e;
    wr_qid(&q->w, &st);
    return 0;
}

static int h_walk(P9Req *q)
{
    uint32_t fid = rd32(&q->r), newfid = rd32(&q->r);
    uint16_t nwname = rd16(&q->r);
    RD_CHECK(q);
    P9Fid *f = fid_get(q->s, fid);
    if (!f)
        return -EBADF;
    if (nwname > P9_MAX_WELEM)
        return -E2BIG;
    if (newfid != fid && fid_get(q->s, newfid))
        return -EBADF;
    char names[P9_MAX_WELEM][NAME_MAX + 1];
    for (unsigned i = 0; i < nwname; i++) {
        int e = rd_str(&q->r, names[i], sizeof(names[i]));
        if (e)
            return e;
    }
    if (q->r.pos != q->r.len)
        return -EPROTO;

    char *path = strdup(f->path);
    if (!path)
        return -ENOMEM;
    int e = 0;
    unsigned done = 0;
    uint8_t *count = wr_take(&q->w, 2);
    for (; done < nwname; done++) {
        const char *n = names[done];
        char *next;
        if (!strcmp(n, "..")) {
            char *slash = strrchr(path, '/');
            next = slash ? strndup(path, (size_t)(slash - path)) : strdup("");
            e = next ? 0 : -ENOMEM;
        } else if (!p9_valid_name(n)) {
            e = -ENOENT;
        } else {
            e = path_join(path, n, &next);
        }
        if (e)
            break;
        struct stat st;
        e = stat_path(q->s, next, &st);
        if (!e && done + 1 < nwname && !S_ISDIR(st.st_mode))
            e = -ENOTDIR;
        if (e) {
            free(next);
            break;
        }
        free(path);
        path = next;
        wr_qid(&q->w, &st);
    }
    if (e && done == 0 && nwname > 0) {
        free(path);
        return e; /* the first name failed: Rlerror */
    }
    if (count) {
        count[0] = (uint8_t)done;
        count[1] = (uint8_t)(done >> 8);
    }
    if (done == nwname) {
        /* All walked: newfid names the result (it may be fid itself). */
        if (newfid == fid) {
            free(f->path);
            f->path = path;
            path = NULL;
        } else if (!fid_new(q->s, newfid, path, f->uid, &e)) {
            free(path);
            return e;
        }
    }
    free(path);
    return 0;
}

static int dotl_to_host_flags(uint32_t fl)
{
    int h = (fl & P9_DOTL_ACCMODE) == P9_DOTL_RDWR     ? O_RDWR
            : (fl & P9_DOTL_ACCMODE) == P9_DOTL_WRONLY ? O_WRONLY
                                                       : O_RDONLY;
    if (fl & P9_DOTL_TRUNC)
        h |= O_TRUNC;
    if (fl & P9_DOTL_APPEND)
        h |= O_APPEND;
    if (fl & P9_DOTL_DSYNC)
        h |= O_DSYNC;
    if ((fl & P9_DOTL_SYNC) == P9_DOTL_SYNC)
        h |= O_SYNC;
    return h;
}

static bool dotl_modifies(uint32_t fl)
{
    return (fl & P9_DOTL_ACCMODE) || (fl & (P9_DOTL_TRUNC | P9_DOTL_APPEND));
}

/* Open the object behind the O_PATH fd op for Tlopen flags, if the guest may open it on the
 * host: a regular file or directory in the guest's view too (a mapped symlink, device node,
 * FIFO or socket is opened by the guest kernel itself, never here). */
static int open_checked(P9Server *s, int op, uint32_t flags, struct stat *st)
{
    int e = fs_getattr(s, op, st);
    if (!e && S_ISLNK(st->st_mode))
        e = -ELOOP;
    else if (!e && !S_ISREG(st->st_mode) && !S_ISDIR(st->st_mode))
        e = -ENXIO;
    return e ? e : fs_reopen(op, dotl_to_host_flags(flags));
}

static int h_lopen(P9Req *q)
{
    uint32_t fid = rd32(&q->r), flags = rd32(&q->r);
    P9Fid *f = req_fid(q, fid);
    RD_CHECK(q);
    if (!f)
        return -EBADF;
    if (f->fd >= 0)
        return -EBADF; /* already open */
    if (q->s->readonly && dotl_modifies(flags))
        return -EROFS;
    if (q->s->nopen >= P9_MAX_OPEN)
        return -EMFILE;
    int op = fs_resolve(q->s, f->path);
    if (op < 0)
        return op;
    struct stat st;
    int fd = open_checked(q->s, op, flags, &st);
    close(op);
    if (fd < 0)
        return fd;
    f->fd = fd;
    q->s->nopen++;
    f->open_flags = (int)flags;
    f->dir_off = 0;
    wr_qid(&q->w, &st);
    wr32(&q->w, 0); /* iounit: the client uses msize */
    return 0;
}

/* Create name in the directory dfd (an O_PATH fd) as a new regular host file. O_EXCL and
 * O_NOFOLLOW: never an existing file, never through a symlink. */
static int create_file(int dfd, const char *name, int flags, mode_t host_mode)
{
    int fd =
        openat(dfd, name, flags | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, host_mode);
    return fd < 0 ? -errno : fd;
}

static int h_lcreate(P9Req *q)
{
    uint32_t fid = rd32(&q->r);
    char name[NAME_MAX + 1];
    int e = rd_str(&q->r, name, sizeof(name));
    uint32_t flags = rd32(&q->r), mode = rd32(&q->r), gid = rd32(&q->r);
    P9Fid *f = req_fid(q, fid);
    RD_CHECK(q);
    if (e)
        return e;
    if (!f || f->fd >= 0)
        return -EBADF;
    if (!p9_valid_name(name))
        return -EINVAL;
    if (q->s->readonly)
        return -EROFS;
    if (q->s->nopen >= P9_MAX_OPEN)
        return -EMFILE;
    char *path;
    e = path_join(f->path, name, &path);
    if (e)
        return e;
    int dfd = fs_resolve(q->s, f->path);
    if (dfd < 0) {
        free(path);
        return dfd;
    }
    int hflags = dotl_to_host_flags(flags) & ~O_TRUNC;
    mode_t hmode = q->s->mapped ? MAPPED_FILE_MODE : (mode & 0777);
    int fd = create_file(dfd, name, hflags, hmode);
    if (fd == -EEXIST && !(flags & P9_DOTL_EXCL)) {
        /* O_CREAT without O_EXCL on an existing name: a plain open, through the checks. */
        int op = openat2_beneath(dfd, name, O_PATH | O_NOFOLLOW, 0);
        struct stat ost;
        fd = op < 0 ? op : open_checked(q->s, op, flags, &ost);
        if (op >= 0)
            close(op);
    } else if (fd >= 0) {
        e = fs_set_owner(q->s, fd, f->uid, gid, S_IFREG | (mode & 07777), 0);
        if (e) {
            close(fd);
            unlinkat(dfd, name, 0);
            fd = e;
        }
    }
    close(dfd);
    struct stat st;
    if (fd >= 0 && (e = fs_getattr(q->s, fd, &st))) {
        close(fd);
        fd = e;
    }
    if (fd < 0) {
        free(path);
        return fd;
    }
    free(f->path);
    f->path = path;
    f->fd = fd;
    q->s->nopen++;
    f->open_flags = (int)flags;
    wr_qid(&q->w, &st);
    wr32(&q->w, 0);
    return 0;
}

/* The checks Tread and Twrite share with the scatter-gather path (p9_handle_iov). */
static int read_check(P9Server *s, P9Fid *f, uint64_t off, uint32_t count)
{
    if (!f || f->fd < 0 || (f->open_flags & P9_DOTL_ACCMODE) == P9_DOTL_WRONLY)
        return -EBADF;
    if (off > INT64_MAX)
        return -EINVAL;
    if (count > s->msize - 11)
        return -EMSGSIZE; /* no client asks for more than an Rread within msize can carry */
    return 0;
}

static int write_check(P9Server *s, P9Fid *f, uint64_t off)
{
    if (!f || f->fd < 0 || !(f->open_flags & P9_DOTL_ACCMODE))
        return -EBADF;
    if (s->readonly)
        return -EROFS;
    if (off > INT64_MAX)
        return -EINVAL;
    return 0;
}

static int h_read(P9Req *q)
{
    uint32_t fid = rd32(&q->r);
    uint64_t off = rd64(&q->r);
    uint32_t count = rd32(&q->r);
    P9Fid *f = req_fid(q, fid);
    RD_CHECK(q);
    int e = read_check(q->s, f, off, count);
    if (e)
        return e;
    size_t room = q->w.cap - q->w.pos;
    if (room < 4)
        return -EMSGSIZE;
    if (count > room - 4)
        count = (uint32_t)(room - 4); /* the transport's buffers are smaller: a short read */
    uint8_t *cnt = wr_take(&q->w, 4);
    ssize_t n;
    do
        n = pread(f->fd, q->w.p + q->w.pos, count, (off_t)off);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return -errno;
    q->w.pos += (size_t)n;
    for (int i = 0; i < 4; i++)
        cnt[i] = (uint8_t)((uint32_t)n >> (8 * i));
    return 0;
}

static int h_write(P9Req *q)
{
    uint32_t fid = rd32(&q->r);
    uint64_t off = rd64(&q->r);
    uint32_t count = rd32(&q->r);
    P9Fid *f = req_fid(q, fid);
    RD_CHECK(q);
    if (count != q->r.len - q->r.pos)
        return -EPROTO; /* the data must fill the rest of the frame exactly */
    int e = write_check(q->s, f, off);
    if (e)
        return e;
    ssize_t n;
    do
        n = pwrite(f->fd, q->r.p + q->r.pos, count, (off_t)off);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return -errno;
    wr32(&q->w, (uint32_t)n);
    return 0;
}

static int h_clunk(P9Req *q)
{
    uint32_t fid = rd32(&q->r);
    RD_CHECK(q);
    if (!fid_get(q->s, fid))
        return -EBADF;
    fid_remove(q->s, fid);
    return 0;
}

static int h_remove(P9Req *q)
{
    uint32_t fid = rd32(&q->r);
    P9Fid *f = req_fid(q, fid);
    RD_CHECK(q);
    if (!f)
        return -EBADF;
    int e = 0;
    if (q->s->readonly) {
        e = -EROFS;
    } else {
        const char *base;
        int dfd = fs_resolve_parent(q->s, f->path, &base);
        struct stat st;
        if (dfd < 0) {
            e = dfd;
        } else {
            e = fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
            if (!e && unlinkat(dfd, base, S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0) < 0)
                e = -errno;
            close(dfd);
        }
    }
    fid_remove(q->s, fid); /* Tremove clunks the fid even when the remove fails */
    return e;
}

static int h_getattr(P9Req *q)
{
    uint32_t fid = rd32(&q->r);
    (void)rd64(&q->r); /* request_mask: we always answer the basic set */
    P9Fid *f = req_fid(q, fid);
    RD_CHECK(q);
    if (!f)
        return -EBADF;
    struct stat st;
    int e = f->fd >= 0 ? fs_getattr(q->s, f->fd, &st) : stat_path(q->s, f->path, &st);
    if (e)
        return e;
    wr64(&q->w, P9_GETATTR_BASIC);
    wr_qid(&q->w, &st);
    wr32(&q->w, st.st_mode);
    wr32(&q->w, st.st_uid);
    wr32(&q->w, st.st_gid);
    wr64(&q->w, st.st_nlink);
    wr64(&q->w, st.st_rdev);
    wr64(&q->w, (uint64_t)st.st_size);
    wr64(&q->w, (uint64_t)st.st_blksize);
    wr64(&q->w, (uint64_t)st.st_blocks);
    wr64(&q->w, (uint64_t)st.st_atim.tv_sec);
    wr64(&q->w, (uint64_t)st.st_atim.tv_nsec);
    wr64(&q->w, (uint64_t)st.st_mtim.tv_sec);
    wr64(&q->w, (uint64_t)st.st_mtim.tv_nsec);
    wr64(&q->w, (uint64_t)st.st_ctim.tv_sec);
    wr64(&q->w, (uint64_t)st.st_ctim.tv_nsec);
    for (int i = 0; i < 4; i++)
        wr64(&q->w, 0); /* btime sec/nsec, gen, data_version */
    return 0;
}

static int setattr_fd(P9Server *s, int fd, uint32_t valid, uint32_t mode, uint32_t uid,
                      uint32_t gid, uint64_t size, const struct timespec ts[2])
{
    struct stat host, guest;
    int e = host_stat(fd, &host);
    if (!e)
        e = fs_getattr(s, fd, &guest);
    if (e)
        return e;
    bool regdir = S_ISREG(host.st_mode) || S_ISDIR(host.st_mode);
    char pp[32];
    proc_path(pp, sizeof(pp), fd);
    if (valid & P9_ATTR_MODE) {
        if (!regdir)
            return -EOPNOTSUPP; /* a host symlink, FIFO, device node: left alone */
        if (s->mapped)
            e = xa_set_u32(fd, XA_MODE, (guest.st_mode & S_IFMT) | (mode & 07777));
        else if (chmod(pp, mode & 0777) < 0)
            e = -errno;
        if (e)
            return e;
    }
    if (valid & (P9_ATTR_UID | P9_ATTR_GID)) {
        if (!regdir)
            return -EOPNOTSUPP;
        if (s->mapped) {
            if (valid & P9_ATTR_UID)
                e = xa_set_u32(fd, XA_UID, uid);
            if (!e && (valid & P9_ATTR_GID))
                e = xa_set_u32(fd, XA_GID, gid);
            if (e)
                return e;
        } else if (((valid & P9_ATTR_UID) && uid != host.st_uid) ||
                   ((valid & P9_ATTR_GID) && gid != host.st_gid)) {
            return -EPERM; /* no mapping: ownership is the host's */
        }
    }
    if (valid & P9_ATTR_SIZE) {
        if (!S_ISREG(host.st_mode))
            return S_ISDIR(host.st_mode) ? -EISDIR : -EINVAL;
        if (size > INT64_MAX)
            return -EFBIG;
        int wfd = open(pp, O_WRONLY | O_CLOEXEC | O_NOCTTY);
        if (wfd < 0)
            return -errno;
        if (ftruncate(wfd, (off_t)size) < 0)
            e = -errno;
        close(wfd);
        if (e)
            return e;
    }
    if (valid & (P9_ATTR_ATIME | P9_ATTR_MTIME)) {
        if (!regdir)
            return -EOPNOTSUPP;
        if (utimensat(AT_FDCWD, pp, ts, 0) < 0)
            return -errno;
    }
    return 0;
}

static int h_setattr(P9Req *q)
{
    uint32_t fid = rd32(&q->r), valid = rd32(&q->r), mode = rd32(&q->r);
    uint32_t uid = rd32(&q->r), gid = rd32(&q->r);
    uint64_t size = rd64(&q->r);
    uint64_t as = rd64(&q->r), an = rd64(&q->r), ms = rd64(&q->r), mn = rd64(&q->r);
    P9Fid *f = req_fid(q, fid);
    RD_CHECK(q);
    if (!f)
        return -EBADF;
    if (q->s->readonly)
        return -EROFS;
    struct timespec ts[2] = { { 0, UTIME_OMIT }, { 0, UTIME_OMIT } };
    if (valid & P9_ATTR_ATIME) {
        ts[0].tv_sec = (time_t)as;
        ts[0].tv_nsec = (valid & P9_ATTR_ATIME_SET) ? (long)(an % 1000000000) : UTIME_NOW;
    }
    if (valid & P9_ATTR_MTIME) {
        ts[1].tv_sec = (time_t)ms;
        ts[1].tv_nsec = (valid & P9_ATTR_MTIME_SET) ? (long)(mn % 1000000000) : UTIME_NOW;
    }
    int fd = f->fd >= 0 ? f->fd : fs_resolve(q->s, f->path);
    if (fd < 0)
        return fd;
    int e = setattr_fd(q->s, fd, valid, mode, uid, gid, size, ts);
    if (fd != f->fd)
        close(fd);
    return e;
}

static uint8_t dtype_qid(unsigned char t)
{
    return t == DT_DIR ? P9_QTDIR : t == DT_LNK ? P9_QTSYMLINK : P9_QTFILE;
}

static int h_readdir(P9Req *q)
{
    uint32_t fid = rd32(&q->r);
    uint64_t off = rd64(&q->r);
    uint32_t count = rd32(&q->r);
    P9Fid *f = req_fid(q, fid);
    RD_CHECK(q);
    if (!f || f->fd < 0)
        return -EBADF;
    if (off > LONG_MAX)
        return -EINVAL;
    if (!f->dir) {
        f->dir = fdopendir(f->fd);
        if (!f->dir)
            return -errno;
        f->dir_off = 0;
    }
    if ((long)off != f->dir_off) {
        if (off == 0)
            rewinddir(f->dir);
        else
            seekdir(f->dir, (long)off);
        f->dir_off = (long)off;
    }
    size_t room = q->w.cap - q->w.pos;
    if (room < 4)
        return -EMSGSIZE;
    if (count > room - 4)
        count = (uint32_t)(room - 4);
    if (count > q->s->msize - 11)
        count = q->s->msize - 11;
    uint8_t *cnt = wr_take(&q->w, 4);
    size_t start = q->w.pos;
    for (;;) {
        errno = 0;
        struct dirent *d = readdir(f->dir);
        if (!d) {
            if (errno && q->w.pos == start)
                return -errno;
            break;
        }
        size_t nl = strlen(d->d_name);
        size_t need = 13 + 8 + 1 + 2 + nl;
        if (q->w.pos - start + need > count) {
            seekdir(f->dir, f->dir_off); /* this entry goes in the next Treaddir */
            break;
        }
        long next = telldir(f->dir);
        unsigned char type = d->d_type;
        if (q->s->mapped && type == DT_REG)
            type = DT_UNKNOWN; /* may be a mapped symlink or device node */
        wr8(&q->w, dtype_qid(type));
        wr32(&q->w, 0);
        wr64(&q->w, (uint64_t)d->d_ino);
        wr64(&q->w, (uint64_t)next);
        wr8(&q->w, type);
        wr_str(&q->w, d->d_name, nl);
        f->dir_off = next;
    }
    uint32_t n = (uint32_t)(q->w.pos - start);
    for (int i = 0; i < 4; i++)
        cnt[i] = (uint8_t)(n >> (8 * i));
    return 0;
}

/* Common start of the "create name in directory dfid" requests. */
static int dir_and_name(P9Req *q, uint32_t dfid, const char *name, P9Fid **dirf, int *dfd)
{
    P9Fid *f = req_fid(q, dfid);
    if (q->r.bad)
        return -EPROTO;
    if (!f)
        return -EBADF;
    if (!p9_valid_name(name))
        return -EINVAL;
    if (q->s->readonly)
        return -EROFS;
    int fd = fs_resolve(q->s, f->path);
    if (fd < 0)
        return fd;
    *dirf = f;
    *dfd = fd;
    return 0;
}

static int h_mkdir(P9Req *q)
{
    uint32_t dfid = rd32(&q->r);
    char name[NAME_MAX + 1];
    int e = rd_str(&q->r, name, sizeof(name));
    uint32_t mode = rd32(&q->r), gid = rd32(&q->r);
    P9Fid *f;
    int dfd;
    if (!e)
        e = dir_and_name(q, dfid, name, &f, &dfd);
    if (e)
        return e;
    mode_t hmode = q->s->mapped ? MAPPED_DIR_MODE : (mode & 0777);
    if (mkdirat(dfd, name, hmode) < 0) {
        e = -errno;
        close(dfd);
        return e;
    }
    int fd = openat2_beneath(dfd, name, O_PATH | O_NOFOLLOW | O_DIRECTORY, 0);
    struct stat st;
    e = fd < 0 ? fd : fs_set_owner(q->s, fd, f->uid, gid, S_IFDIR | (mode & 07777), 0);
    if (!e)
        e = fs_getattr(q->s, fd, &st);
    if (fd >= 0)
        close(fd);
    if (e)
        unlinkat(dfd, name, AT_REMOVEDIR);
    close(dfd);
    if (e)
        return e;
    wr_qid(&q->w, &st);
    return 0;
}

/* A regular host file standing for a guest symlink or special file (mapped model). */
static int make_mapped(P9Req *q, uint32_t dfid, const char *name, uint32_t mode, uint64_t rdev,
                       uint32_t gid, const char *content)
{
    P9Fid *f;
    int dfd;
    int e = dir_and_name(q, dfid, name, &f, &dfd);
    if (e)
        return e;
    if (!q->s->mapped && !S_ISREG(mode)) {
        close(dfd);
        return -EOPNOTSUPP; /* no xattrs: nowhere to keep the type safely */
    }
    mode_t hmode = q->s->mapped ? MAPPED_FILE_MODE : (mode & 0777);
    int fd = create_file(dfd, name, O_WRONLY, hmode);
    if (fd < 0) {
        close(dfd);
        return fd;
    }
    if (content) {
        size_t len = strlen(content), done = 0;
        while (!e && done < len) {
            ssize_t n = write(fd, content + done, len - done);
            if (n < 0 && errno != EINTR)
                e = -errno;
            else if (n > 0)
                done += (size_t)n;
        }
    }
    if (!e)
        e = fs_set_owner(q->s, fd, f->uid, gid, mode, rdev);
    struct stat st;
    if (!e)
        e = fs_getattr(q->s, fd, &st);
    close(fd);
    if (e)
        unlinkat(dfd, name, 0);
    close(dfd);
    if (e)
        return e;
    wr_qid(&q->w, &st);
    return 0;
}

static int h_symlink(P9Req *q)
{
    uint32_t dfid = rd32(&q->r);
    char name[NAME_MAX + 1], target[PATH_MAX];
    int e = rd_str(&q->r, name, sizeof(name));
    if (!e)
        e = rd_str(&q->r, target, sizeof(target));
    uint32_t gid = rd32(&q->r);
    if (!e && !target[0])
        e = -ENOENT;
    if (e)
        return q->r.bad ? -EPROTO : e;
    return make_mapped(q, dfid, name, S_IFLNK | 0777, 0, gid, target);
}

static int h_mknod(P9Req *q)
{
    uint32_t dfid = rd32(&q->r);
    char name[NAME_MAX + 1];
    int e = rd_str(&q->r, name, sizeof(name));
    uint32_t mode = rd32(&q->r), major = rd32(&q->r), minor = rd32(&q->r), gid = rd32(&q->r);
    if (e)
        return q->r.bad ? -EPROTO : e;
    mode_t t = mode & S_IFMT;
    if (t == 0)
        mode |= S_IFREG;
    else if (t != S_IFREG && t != S_IFCHR && t != S_IFBLK && t != S_IFIFO && t != S_IFSOCK)
        return -EINVAL;
    uint64_t rdev = (t == S_IFCHR || t == S_IFBLK) ? makedev(major, minor) : 0;
    return make_mapped(q, dfid, name, mode, rdev, gid, NULL);
}

static int h_readlink(P9Req *q)
{
    uint32_t fid = rd32(&q->r);
    P9Fid *f = req_fid(q, fid);
    RD_CHECK(q);
    if (!f)
        return -EBADF;
    int op = fs_resolve(q->s, f->path);
    if (op < 0)
        return op;
    struct stat host, guest;
    int e = host_stat(op, &host);
    if (!e)
        e = fs_getattr(q->s, op, &guest);
    char buf[PATH_MAX];
    ssize_t n = -EINVAL;
    if (!e && S_ISLNK(host.st_mode)) {
        n = readlinkat(op, "", buf, sizeof(buf) - 1);
        if (n < 0)
            n = -errno;
    } else if (!e && S_ISREG(host.st_mode) && S_ISLNK(guest.st_mode)) {
        int fd = fs_reopen(op, O_RDONLY);
        n = fd;
        if (fd >= 0) {
            n = pread(fd, buf, sizeof(buf) - 1, 0);
            if (n < 0)
                n = -errno;
            close(fd);
        }
    } else if (e) {
        n = e;
    }
    close(op);
    if (n < 0)
        return (int)n;
    wr_str(&q->w, buf, (size_t)n);
    return 0;
}

static int h_statfs(P9Req *q)
{
    uint32_t fid = rd32(&q->r);
    P9Fid *f = req_fid(q, fid);
    RD_CHECK(q);
    if (!f)
        return -EBADF;
    struct statfs sf;
    if (fstatfs(q->s->root, &sf) < 0)
        return -errno;
    uint64_t fsid =
        (uint64_t)(uint32_t)sf.f_fsid.__val[0] | ((uint64_t)(uint32_t)sf.f_fsid.__val[1] << 32);
    wr32(&q->w, (uint32_t)sf.f_type);
    wr32(&q->w, (uint32_t)sf.f_bsize);
    wr64(&q->w, sf.f_blocks);
    wr64(&q->w, sf.f_bfree);
    wr64(&q->w, sf.f_bavail);
    wr64(&q->w, sf.f_files);
    wr64(&q->w, sf.f_ffree);
    wr64(&q->w, fsid);
    wr32(&q->w, (uint32_t)sf.f_namelen);
    return 0;
}

static int h_fsync(P9Req *q)
{
    uint32_t fid = rd32(&q->r), datasync = rd32(&q->r);
    P9Fid *f = req_fid(q, fid);
    RD_CHECK(q);
    if (!f || f->fd < 0)
        return -EBADF;
    if ((datasync ? fdatasync(f->fd) : fsync(f->fd)) < 0)
        return -errno;
    return 0;
}

static int h_lock(P9Req *q)
{
    uint32_t fid = rd32(&q->r);
    uint8_t type = rd8(&q->r);
    (void)rd32(&q->r); /* flags */
    (void)rd64(&q->r); /* start */
    (void)rd64(&q->r); /* length */
    (void)rd32(&q->r); /* proc_id */
    char client[256];
    int e = rd_str(&q->r, client, sizeof(client));
    P9Fid *f = req_fid(q, fid);
    RD_CHECK(q);
    if (e)
        return e;
    if (!f)
        return -EBADF;
    if (type > 2)
        return -EINVAL;
    wr8(&q->w, P9_LOCK_SUCCESS);
    return 0;
}

static int h_getlock(P9Req *q)
{
    uint32_t fid = rd32(&q->r);
    uint8_t type = rd8(&q->r);
    uint64_t start = rd64(&q->r), length = rd64(&q->r);
    uint32_t proc_id = rd32(&q->r);
    char client[256];
    int e = rd_str(&q->r, client, sizeof(client));
    P9Fid *f = req_fid(q, fid);
    RD_CHECK(q);
    if (e)
        return e;
    if (!f)
        return -EBADF;
    if (type > 2)
        return -EINVAL;
    wr8(&q->w, P9_LOCK_UNLCK); /* no conflicting lock */
    wr64(&q->w, start);
    wr64(&q->w, length);
    wr32(&q->w, proc_id);
    wr_str(&q->w, client, strlen(client));
    return 0;
}

static int h_link(P9Req *q)
{
    uint32_t dfid = rd32(&q->r), fid = rd32(&q->r);
    char name[NAME_MAX + 1];
    int e = rd_str(&q->r, name, sizeof(name));
    P9Fid *src = req_fid(q, fid);
    P9Fid *f;
    int dfd;
    if (e)
        return q->r.bad ? -EPROTO : e;
    if (!src)
        return -EBADF;
    e = dir_and_name(q, dfid, name, &f, &dfd);
    if (e)
        return e;
    int op = fs_resolve(q->s, src->path);
    struct stat st = { 0 };
    if (op < 0)
        e = op;
    else
        e = host_stat(op, &st);
    if (!e && !S_ISREG(st.st_mode))
        e = S_ISDIR(st.st_mode) ? -EPERM : -EOPNOTSUPP;
    if (!e) {
        /* Link the inode the O_PATH fd holds (a regular file inside the share). */
        char pp[32];
        proc_path(pp, sizeof(pp), op);
        if (linkat(AT_FDCWD, pp, dfd, name, AT_SYMLINK_FOLLOW) < 0)
            e = -errno;
    }
    if (op >= 0)
        close(op);
    close(dfd);
    return e;
}

static int do_rename(P9Server *s, P9Fid *odir, const char *oname, P9Fid *ndir, const char *nname)
{
    char *from, *to;
    int e = path_join(odir->path, oname, &from);
    if (e)
        return e;
    e = path_join(ndir->path, nname, &to);
    if (e) {
        free(from);
        return e;
    }
    int ofd = fs_resolve(s, odir->path);
    int nfd = ofd < 0 ? ofd : fs_resolve(s, ndir->path);
    if (ofd < 0 || nfd < 0)
        e = ofd < 0 ? ofd : nfd;
    else if (renameat(ofd, oname, nfd, nname) < 0)
        e = -errno;
    if (!e)
        fix_paths(s, from, to);
    if (ofd >= 0)
        close(ofd);
    if (nfd >= 0)
        close(nfd);
    free(from);
    free(to);
    return e;
}

static int h_renameat(P9Req *q)
{
    uint32_t ofid = rd32(&q->r);
    char oname[NAME_MAX + 1], nname[NAME_MAX + 1];
    int e = rd_str(&q->r, oname, sizeof(oname));
    uint32_t nfid = rd32(&q->r);
    if (!e)
        e = rd_str(&q->r, nname, sizeof(nname));
    P9Fid *of = req_fid(q, ofid), *nf = req_fid(q, nfid);
    RD_CHECK(q);
    if (e)
        return e;
    if (!of || !nf)
        return -EBADF;
    if (!p9_valid_name(oname) || !p9_valid_name(nname))
        return -EINVAL;
    if (q->s->readonly)
        return -EROFS;
    return do_rename(q->s, of, oname, nf, nname);
}

static int h_rename(P9Req *q)
{
    uint32_t fid = rd32(&q->r), dfid = rd32(&q->r);
    char nname[NAME_MAX + 1];
    int e = rd_str(&q->r, nname, sizeof(nname));
    P9Fid *f = req_fid(q, fid), *nf = req_fid(q, dfid);
    RD_CHECK(q);
    if (e)
        return e;
    if (!f || !nf)
        return -EBADF;
    if (!p9_valid_name(nname))
        return -EINVAL;
    if (q->s->readonly)
        return -EROFS;
    if (!f->path[0])
        return -EBUSY;
    /* fid's parent as a pseudo-fid for do_rename. */
    const char *slash = strrchr(f->path, '/');
    char *parent = slash ? strndup(f->path, (size_t)(slash - f->path)) : strdup("");
    char *oname = strdup(slash ? slash + 1 : f->path);
    if (!parent || !oname) {
        free(parent);
        free(oname);
        return -ENOMEM;
    }
    P9Fid pf = { .path = parent, .fd = -1 };
    e = do_rename(q->s, &pf, oname, nf, nname);
    free(parent);
    free(oname);
    return e;
}

static int h_unlinkat(P9Req *q)
{
    uint32_t dfid = rd32(&q->r);
    char name[NAME_MAX + 1];
    int e = rd_str(&q->r, name, sizeof(name));
    uint32_t flags = rd32(&q->r);
    P9Fid *f;
    int dfd;
    if (e)
        return q->r.bad ? -EPROTO : e;
    if (flags & ~(uint32_t)P9_AT_REMOVEDIR)
        return -EINVAL;
    e = dir_and_name(q, dfid, name, &f, &dfd);
    if (e)
        return e;
    if (unlinkat(dfd, name, (flags & P9_AT_REMOVEDIR) ? AT_REMOVEDIR : 0) < 0)
        e = -errno;
    close(dfd);
    return e;
}

static int h_flush(P9Req *q)
{
    (void)rd16(&q->r); /* oldtag: requests are answered in order, so it is done already */
    RD_CHECK(q);
    return 0;
}

static int h_xattrwalk(P9Req *q)
{
    uint32_t fid = rd32(&q->r), newfid = rd32(&q->r);
    (void)newfid;
    P9Fid *f = req_fid(q, fid);
    RD_CHECK(q);
    if (!f)
        return -EBADF;
    return -EOPNOTSUPP;
}

static int h_xattrcreate(P9Req *q)
{
    uint32_t fid = rd32(&q->r);
    P9Fid *f = req_fid(q, fid);
    RD_CHECK(q);
    if (!f)
        return -EBADF;
    return -EOPNOTSUPP;
}

static int h_auth(P9Req *q)
{
    (void)q;
    return -EOPNOTSUPP;
}

/* ---- dispatch ---- */

static int dispatch(P9Req *q, uint8_t type)
{
    switch (type) {
    case P9_TVERSION: return h_version(q);
    case P9_TAUTH: return h_auth(q);
    case P9_TATTACH: return h_attach(q);
    case P9_TFLUSH: return h_flush(q);
    case P9_TWALK: return h_walk(q);
    case P9_TLOPEN: return h_lopen(q);
    case P9_TLCREATE: return h_lcreate(q);
    case P9_TREAD: return h_read(q);
    case P9_TWRITE: return h_write(q);
    case P9_TCLUNK: return h_clunk(q);
    case P9_TREMOVE: return h_remove(q);
    case P9_TGETATTR: return h_getattr(q);
    case P9_TSETATTR: return h_setattr(q);
    case P9_TREADDIR: return h_readdir(q);
    case P9_TMKDIR: return h_mkdir(q);
    case P9_TUNLINKAT: return h_unlinkat(q);
    case P9_TRENAMEAT: return h_renameat(q);
    case P9_TRENAME: return h_rename(q);
    case P9_TSTATFS: return h_statfs(q);
    case P9_TFSYNC: return h_fsync(q);
    case P9_TSYMLINK: return h_symlink(q);
    case P9_TREADLINK: return h_readlink(q);
    case P9_TLINK: return h_link(q);
    case P9_TMKNOD: return h_mknod(q);
    case P9_TXATTRWALK: return h_xattrwalk(q);
    case P9_TXATTRCREATE: return h_xattrcreate(q);
    case P9_TLOCK: return h_lock(q);
    case P9_TGETLOCK: return h_getlock(q);
    default: return -EOPNOTSUPP;
    }
}

static size_t put_header(uint8_t *p, size_t size, uint8_t type, uint16_t tag)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(size >> (8 * i));
    p[4] = type;
    p[5] = (uint8_t)tag;
    p[6] = (uint8_t)(tag >> 8);
    return size;
}

static size_t reply_error(uint8_t *reply, uint16_t tag, int err)
{
    put_header(reply, P9_MIN_REPLY, P9_RLERROR, tag);
    uint32_t e = (uint32_t)err;
    for (int i = 0; i < 4; i++)
        reply[7 + i] = (uint8_t)(e >> (8 * i));
    return P9_MIN_REPLY;
}

size_t p9_handle(P9Server *s, const uint8_t *req, size_t req_len, uint8_t *reply, size_t cap)
{
    if (cap < P9_MIN_REPLY)
        return 0;
    if (req_len < P9_HDR)
        return reply_error(reply, 0xffff, EPROTO);
    uint32_t size =
        (uint32_t)req[0] | (uint32_t)req[1] << 8 | (uint32_t)req[2] << 16 | (uint32_t)req[3] << 24;
    uint8_t type = req[4];
    uint16_t tag = (uint16_t)(req[5] | req[6] << 8);
    if (size != req_len)
        return reply_error(reply, tag, EPROTO);
    if (size > s->msize && type != P9_TVERSION)
        return reply_error(reply, tag, EMSGSIZE);
    if (cap > s->msize)
        cap = s->msize;
    if (type & 1)
        return reply_error(reply, tag, EOPNOTSUPP); /* an R-message sent to the server */

    P9Req q = {
        .s = s,
        .r = { .p = req, .len = req_len, .pos = P9_HDR },
        .w = { .p = reply, .cap = cap, .pos = P9_HDR },
    };
    int e = dispatch(&q, type);
    if (e)
        return reply_error(reply, tag, -e);
    if (q.w.overflow)
        return reply_error(reply, tag, EMSGSIZE);
    return put_header(reply, q.w.pos, (uint8_t)(type + 1), tag);
}

/* ---- scatter-gather: the transport's buffers as they are ---- */

static size_t reply_small(const struct iovec *in, unsigned in_num, uint8_t type, uint16_t tag,
                          int err_or_count)
{
    uint8_t r[P9_MIN_REPLY];
    if (err_or_count < 0)
        reply_error(r, tag, -err_or_count);
    else {
        put_header(r, P9_MIN_REPLY, type, tag);
        for (int i = 0; i < 4; i++)
            r[7 + i] = (uint8_t)((uint32_t)err_or_count >> (8 * i));
    }
    iov_from_buf(in, in_num, 0, r, P9_MIN_REPLY);
    return P9_MIN_REPLY;
}

/* Tread straight into the reply buffers; 0 when the general path must do it. */
static size_t fast_read(P9Server *s, const uint8_t *h, const struct iovec *in, unsigned in_num,
                        size_t cap)
{
    uint16_t tag = (uint16_t)(h[5] | h[6] << 8);
    P9Reader r = { .p = h, .len = 23, .pos = P9_HDR };
    uint32_t fid = rd32(&r);
    uint64_t off = rd64(&r);
    uint32_t count = rd32(&r);
    P9Fid *f = fid_get(s, fid);
    int e = read_check(s, f, off, count);
    if (e)
        return reply_small(in, in_num, 0, tag, e);
    if (count > cap - P9_MIN_REPLY)
        count = (uint32_t)(cap - P9_MIN_REPLY);
    int k = iov_slice(in, in_num, P9_MIN_REPLY, count, s->iov_tmp, P9_IOV_MAX);
    if (k < 0)
        return 0;
    ssize_t n = 0;
    if (k > 0) {
        do
            n = preadv(f->fd, s->iov_tmp, k, (off_t)off);
        while (n < 0 && errno == EINTR);
    }
    if (n < 0)
        return reply_small(in, in_num, 0, tag, -errno);
    uint8_t hdr[P9_MIN_REPLY];
    put_header(hdr, P9_MIN_REPLY + (size_t)n, P9_TREAD + 1, tag);
    for (int i = 0; i < 4; i++)
        hdr[7 + i] = (uint8_t)((uint32_t)n >> (8 * i));
    iov_from_buf(in, in_num, 0, hdr, P9_MIN_REPLY);
    return P9_MIN_REPLY + (size_t)n;
}

/* Twrite straight from the request buffers; 0 when the general path must do it. */
static size_t fast_write(P9Server *s, const uint8_t *h, const struct iovec *out, unsigned out_num,
                         const struct iovec *in, unsigned in_num)
{
    uint16_t tag = (uint16_t)(h[5] | h[6] << 8);
    P9Reader r = { .p = h, .len = 23, .pos = P9_HDR };
    uint32_t fid = rd32(&r);
    uint64_t off = rd64(&r);
    uint32_t count = rd32(&r);
    int e = write_check(s, fid_get(s, fid), off);
    if (e)
        return reply_small(in, in_num, 0, tag, e);
    int k = iov_slice(out, out_num, 23, count, s->iov_tmp, P9_IOV_MAX);
    if (k < 0)
        return 0;
    ssize_t n = 0;
    if (k > 0) {
        do
            n = pwritev(fid_get(s, fid)->fd, s->iov_tmp, k, (off_t)off);
        while (n < 0 && errno == EINTR);
    }
    return reply_small(in, in_num, P9_TWRITE + 1, tag, n < 0 ? -errno : (int)n);
}

size_t p9_handle_iov(P9Server *s, const struct iovec *out, unsigned out_num, const struct iovec *in,
                     unsigned in_num, uint8_t *req_buf, uint8_t *reply_buf)
{
    size_t out_len = iov_size(out, out_num), in_len = iov_size(in, in_num);
    size_t cap = in_len < s->msize ? in_len : s->msize;
    if (cap < P9_MIN_REPLY)
        return 0;
    uint8_t h[23];
    if (iov_to_buf(out, out_num, 0, h, sizeof(h)) == sizeof(h)) {
        uint32_t size =
            (uint32_t)h[0] | (uint32_t)h[1] << 8 | (uint32_t)h[2] << 16 | (uint32_t)h[3] << 24;
        uint32_t count =
            (uint32_t)h[19] | (uint32_t)h[20] << 8 | (uint32_t)h[21] << 16 | (uint32_t)h[22] << 24;
        size_t r = 0;
        if (size == out_len && size <= s->msize) {
            if (h[4] == P9_TREAD && size == 23)
                r = fast_read(s, h, in, in_num, cap);
            else if (h[4] == P9_TWRITE && count == size - 23)
                r = fast_write(s, h, out, out_num, in, in_num);
        }
        if (r)
            return r;
    }
    /* A frame longer than P9_MAX_MSIZE arrives cut: its size field then disagrees with the
     * length and p9_handle answers Rlerror(EPROTO). */
    size_t req_len = iov_to_buf(out, out_num, 0, req_buf, P9_MAX_MSIZE);
    size_t len = p9_handle(s, req_buf, req_len, reply_buf, cap);
    iov_from_buf(in, in_num, 0, reply_buf, len);
    return len;
}

/* ---- server ---- */

int p9_server_new(P9Server **out, const char *root, unsigned flags, char *errbuf, size_t errlen)
{
    int fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        snprintf(errbuf, errlen, "cannot open shared folder '%s': %s", root,
                 e == ENOTDIR ? "not a directory" : strerror(e));
        return -e;
    }
    /* openat2 is Linux 5.6+: refuse to share without it rather than resolve less safely. */
    int probe = openat2_beneath(fd, ".", O_PATH, 0);
    if (probe < 0) {
        close(fd);
        snprintf(errbuf, errlen,
                 "cannot share '%s': the host kernel lacks openat2 (Linux 5.6 or newer is "
                 "needed): %s",
                 root, strerror(-probe));
        return probe;
    }
    close(probe);
    P9Server *s = calloc(1, sizeof(*s));
    if (!s) {
        close(fd);
        snprintf(errbuf, errlen, "out of memory");
        return -ENOMEM;
    }
    s->root = fd;
    s->readonly = flags & P9_READONLY;
    s->msize = P9_MAX_MSIZE;
    /* Mapped model when the filesystem has user xattrs: ENODATA means "supported, unset". */
    uint8_t b[4];
    s->mapped = !(flags & P9_NO_MAPPING) && xa_get(fd, XA_UID, b, sizeof(b)) != -EOPNOTSUPP;
    *out = s;
    return 0;
}

void p9_server_reset(P9Server *s)
{
    for (unsigned b = 0; b < FID_BUCKETS; b++) {
        while (s->fids[b]) {
            P9Fid *f = s->fids[b];
            s->fids[b] = f->next;
            fid_free(s, f);
        }
    }
    s->nfids = 0;
    s->nopen = 0;
    s->msize = P9_MAX_MSIZE;
}

void p9_server_free(P9Server *s)
{
    if (!s)
        return;
    p9_server_reset(s);
    close(s->root);
    free(s);
}

uint32_t p9_server_msize(const P9Server *s)
{
    return s->msize;
}

bool p9_server_mapped(const P9Server *s)
{
    return s->mapped;
}

unsigned p9_server_nfids(const P9Server *s)
{
    return s->nfids;
}
