/* SPDX-License-Identifier: MIT */
/* The Vessel VM library: SQLite storage and VM bundle directories. */
#include "library.h"
#include "library-private.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_BUSY_TIMEOUT_MS 5000

struct VlLibrary {
    sqlite3 *db;
    char path[VL_PATH_MAX];
    char vms_dir[VL_PATH_MAX]; /* <dir of path>/vms */
    int busy_timeout_ms;
    int version;
};

/* ---- errors ---- */

__attribute__((format(printf, 3, 4))) static VlStatus fail(VlError *err, VlStatus code,
                                                           const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->code = code;
        vsnprintf(err->message, sizeof(err->message), fmt, ap);
        va_end(ap);
    }
    return code;
}

static void err_reset(VlError *err)
{
    if (err) {
        err->code = VL_OK;
        err->message[0] = '\0';
        err->backup_path[0] = '\0';
    }
}

/* Maps an SQLite failure while doing `what` to a status and an actionable message. */
static VlStatus db_fail(VlLibrary *lib, VlError *err, int rc, const char *what)
{
    const char *msg = sqlite3_errmsg(lib->db);
    switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return fail(err, VL_ERR_LOCKED,
                    "%s: the VM library %s is in use by another program (waited %d ms); close "
                    "other Vessel windows and try again",
                    what, lib->path, lib->busy_timeout_ms);
    case SQLITE_CONSTRAINT:
        if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY)
            return fail(err, VL_ERR_EXISTS, "%s: already exists (%s)", what, msg);
        if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
            return fail(err, VL_ERR_NOT_FOUND, "%s: the VM or adapter it belongs to does not exist",
                        what);
        return fail(err, VL_ERR_INVALID, "%s: invalid value (%s)", what, msg);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
        return fail(err, VL_ERR_CORRUPT, "%s: the VM library %s is damaged (%s)", what, lib->path,
                    msg);
    case SQLITE_FULL:
        return fail(err, VL_ERR_IO, "%s: the disk holding %s is full", what, lib->path);
    case SQLITE_NOMEM: return fail(err, VL_ERR_NOMEM, "%s: out of memory", what);
    case SQLITE_IOERR:
    case SQLITE_READONLY:
    case SQLITE_CANTOPEN:
        return fail(err, VL_ERR_IO, "%s: cannot write %s (%s)", what, lib->path, msg);
    default: return fail(err, VL_ERR_DB, "%s: %s", what, msg);
    }
}

/* ---- enum names ---- */

static const char *const accel_names[] = { "auto", "kvm", "jit", "interpreter" };
static const char *const pin_names[] = { "auto", "performance", "list", "none" };
static const char *const boot_names[] = { "iso", "disk", "kernel", "demo" };
static const char *const net_names[] = { "user", "bridge", "none" };
static const char *const gl_names[] = { "auto", "on", "off" };
static const char *const arch_names[] = { "riscv64", "aarch64", "x86_64" };
static const char *const os_names[] = { "linux", "windows", "bsd", "other" };
static const char *const format_names[] = { "raw", "qcow2" };
static const char *const proto_names[] = { "tcp", "udp" };

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

static const char *enum_name(const char *const *names, int n, int v)
{
    return v >= 0 && v < n ? names[v] : NULL;
}

static int enum_parse(const char *const *names, int n, const char *s)
{
    for (int i = 0; s && i < n; i++)
        if (strcmp(names[i], s) == 0)
            return i;
    return -1;
}

const char *vl_accel_name(VlAccel a)
{
    return enum_name(accel_names, N(accel_names), (int)a);
}
const char *vl_pin_name(VlPin p)
{
    return enum_name(pin_names, N(pin_names), (int)p);
}
const char *vl_boot_name(VlBoot b)
{
    return enum_name(boot_names, N(boot_names), (int)b);
}
const char *vl_net_mode_name(VlNetMode m)
{
    return enum_name(net_names, N(net_names), (int)m);
}
const char *vl_gl_name(VlGl g)
{
    return enum_name(gl_names, N(gl_names), (int)g);
}

/* ---- small helpers ---- */

static bool copy_str(char *dst, size_t size, const char *src)
{
    size_t n = src ? strlen(src) : 0;
    if (n >= size)
        return false;
    memcpy(dst, src ? src : "", n);
    dst[n] = '\0';
    return true;
}

static int64_t now_seconds(void)
{
    return (int64_t)time(NULL);
}

static bool random_bytes(uint8_t *buf, size_t n)
{
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        if (r <= 0 && errno != EINTR)
            break;
        if (r > 0)
            got += (size_t)r;
    }
    close(fd);
    return got == n;
}

static VlStatus make_uuid(char out[37], VlError *err)
{
    uint8_t b[16];
    if (!random_bytes(b, sizeof(b)))
        return fail(err, VL_ERR_IO, "cannot read /dev/urandom for a VM uuid: %s", strerror(errno));
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40); /* version 4 */
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
             b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
             b[14], b[15]);
    return VL_OK;
}

/* A locally administered address in QEMU's 52:54:00 range, as guests' drivers expect. */
static VlStatus make_mac(char out[18], VlError *err)
{
    uint8_t b[3];
    if (!random_bytes(b, sizeof(b)))
        return fail(err, VL_ERR_IO, "cannot read /dev/urandom for a MAC address: %s",
                    strerror(errno));
    snprintf(out, 18, "52:54:00:%02x:%02x:%02x", b[0], b[1], b[2]);
    return VL_OK;
}

static bool mac_valid(const char *m)
{
    if (strlen(m) != 17)
        return false;
    for (int i = 0; i < 17; i++) {
        if (i % 3 == 2) {
            if (m[i] != ':')
                return false;
        } else if (!((m[i] >= '0' && m[i] <= '9') || (m[i] >= 'a' && m[i] <= 'f'))) {
            return false;
        }
    }
    /* A multicast address cannot be a NIC's own address. */
    int first = (int)strtol((char[]){ m[0], m[1], 0 }, NULL, 16);
    return (first & 1) == 0;
}

static bool tag_valid(const char *t)
{
    size_t n = strlen(t);
    if (n < 1 || n > 31)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = t[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-'))
            return false;
    }
    return true;
}

/* "0-3,6,8-9": ascending-or-not ranges of CPU numbers below 4096. */
static bool cpulist_valid(const char *s)
{
    if (!*s)
        return false;
    while (*s) {
        char *end;
        if (*s < '0' || *s > '9')
            return false;
        long a = strtol(s, &end, 10);
        s = end;
        if (*s == '-') {
            s++;
            if (*s < '0' || *s > '9')
                return false;
            long b = strtol(s, &end, 10);
            s = end;
            if (b < a || b >= 4096)
                return false;
        }
        if (a >= 4096)
            return false;
        if (*s == ',') {
            s++;
            if (!*s)
                return false;
        } else if (*s) {
            return false;
        }
    }
    return true;
}

/* ---- statements ---- */

static sqlite3_stmt *prepare(VlLibrary *lib, const char *sql, VlError *err, VlStatus *st)
{
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(lib->db, sql, -1, &s, NULL);
    if (rc != SQLITE_OK) {
        *st = db_fail(lib, err, rc, "preparing a library query");
        return NULL;
    }
    *st = VL_OK;
    return s;
}

static void bind_text(sqlite3_stmt *s, int i, const char *v)
{
    sqlite3_bind_text(s, i, v ? v : "", -1, SQLITE_TRANSIENT);
}

/* Runs a statement that returns no rows, then finalizes it. */
static VlStatus step_done(VlLibrary *lib, sqlite3_stmt *s, const char *what, VlError *err)
{
    int rc = sqlite3_step(s);
    VlStatus st = VL_OK;
    if (rc != SQLITE_DONE)
        st = db_fail(lib, err, sqlite3_extended_errcode(lib->db), what);
    sqlite3_finalize(s);
    return st;
}

/* step_done for an INSERT; on success *id (when given) is the new row's id. */
static VlStatus step_insert(VlLibrary *lib, sqlite3_stmt *s, const char *what, int64_t *id,
                            VlError *err)
{
    VlStatus st = step_done(lib, s, what, err);
    if (st == VL_OK && id)
        *id = sqlite3_last_insert_rowid(lib->db);
    return st;
}

static VlStatus col_text(sqlite3_stmt *s, int i, char *dst, size_t size, VlError *err)
{
    const char *v = (const char *)sqlite3_column_text(s, i);
    if (!copy_str(dst, size, v))
        return fail(err, VL_ERR_CORRUPT,
                    "the VM library holds a value of column '%s' that is "
                    "too long",
                    sqlite3_column_name(s, i));
    return VL_OK;
}

static VlStatus exec(VlLibrary *lib, const char *sql, const char *what, VlError *err)
{
    int rc = sqlite3_exec(lib->db, sql, NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        return db_fail(lib, err, sqlite3_extended_errcode(lib->db), what);
    return VL_OK;
}

static VlStatus tx_begin(VlLibrary *lib, VlError *err)
{
    return exec(lib, "BEGIN IMMEDIATE", "starting a library transaction", err);
}

static VlStatus tx_commit(VlLibrary *lib, VlError *err)
{
    VlStatus st = exec(lib, "COMMIT", "saving to the VM library", err);
    if (st != VL_OK && !sqlite3_get_autocommit(lib->db))
        sqlite3_exec(lib->db, "ROLLBACK", NULL, NULL, NULL);
    return st;
}

static void tx_rollback(VlLibrary *lib)
{
    if (!sqlite3_get_autocommit(lib->db))
        sqlite3_exec(lib->db, "ROLLBACK", NULL, NULL, NULL);
}

/* Finishes a write: commit when st is VL_OK, otherwise roll back and keep st. */
static VlStatus tx_end(VlLibrary *lib, VlStatus st, VlError *err)
{
    if (st == VL_OK)
        return tx_commit(lib, err);
    tx_rollback(lib);
    return st;
}

static VlStatus touch_vm(VlLibrary *lib, int64_t vm_id, VlError *err)
{
    VlStatus st;
    sqlite3_stmt *s = prepare(lib, "UPDATE vms SET modified = ? WHERE id = ?", err, &st);
    if (!s)
        return st;
    sqlite3_bind_int64(s, 1, now_seconds());
    sqlite3_bind_int64(s, 2, vm_id);
    st = step_done(lib, s, "updating the VM's modification time", err);
    if (st == VL_OK && sqlite3_changes(lib->db) == 0)
        st = fail(err, VL_ERR_NOT_FOUND, "there is no VM with id %lld", (long long)vm_id);
    return st;
}

/* The VM a child row belongs to, looked up by the child's id. */
static VlStatus owner_of(VlLibrary *lib, const char *sql, int64_t id, const char *kind,
                         int64_t *vm_id, VlError *err)
{
    VlStatus st;
    sqlite3_stmt *s = prepare(lib, sql, err, &st);
    if (!s)
        return st;
    sqlite3_bind_int64(s, 1, id);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        *vm_id = sqlite3_column_int64(s, 0);
    else if (rc == SQLITE_DONE)
        st = fail(err, VL_ERR_NOT_FOUND, "there is no %s with id %lld", kind, (long long)id);
    else
        st = db_fail(lib, err, sqlite3_extended_errcode(lib->db), "looking up a VM setting");
    sqlite3_finalize(s);
    return st;
}

/* ---- files and directories ---- */

static VlStatus mkdir_p(const char *path, VlError *err)
{
    char buf[VL_PATH_MAX];
    if (!copy_str(buf, sizeof(buf), path))
        return fail(err, VL_ERR_INVALID, "path too long: %s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0700) != 0 && errno != EEXIST)
            return fail(err, VL_ERR_IO, "cannot create directory %s: %s", buf, strerror(errno));
        *p = '/';
    }
    if (mkdir(buf, 0700) != 0 && errno != EEXIST)
        return fail(err, VL_ERR_IO, "cannot create directory %s: %s", buf, strerror(errno));
    return VL_OK;
}

static VlStatus remove_tree(const char *path, VlError *err)
{
    struct stat sb;
    if (lstat(path, &sb) != 0)
        return errno == ENOENT
                   ? VL_OK
                   : fail(err, VL_ERR_IO, "cannot remove %s: %s", path, strerror(errno));
    if (S_ISDIR(sb.st_mode)) {
        DIR *d = opendir(path);
        if (!d)
            return fail(err, VL_ERR_IO, "cannot remove %s: %s", path, strerror(errno));
        struct dirent *e;
        VlStatus st = VL_OK;
        while (st == VL_OK && (e = readdir(d))) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            char child[VL_PATH_MAX];
            if (snprintf(child, sizeof(child), "%s/%s", path, e->d_name) >= (int)sizeof(child))
                st = fail(err, VL_ERR_IO, "cannot remove %s/%s: path too long", path, e->d_name);
            else
                st = remove_tree(child, err);
        }
        closedir(d);
        if (st != VL_OK)
            return st;
        if (rmdir(path) != 0)
            return fail(err, VL_ERR_IO, "cannot remove %s: %s", path, strerror(errno));
        return VL_OK;
    }
    if (unlink(path) != 0)
        return fail(err, VL_ERR_IO, "cannot remove %s: %s", path, strerror(errno));
    return VL_OK;
}

/* Copies [off, end) of in to the same offsets of out. */
#define COPY_CHUNK (1u << 20)
static VlStatus copy_range(int in, int out, char *buf, off_t off, off_t end, const char *src,
                           const char *dst, VlError *err)
{
    while (off < end) {
        size_t want = (size_t)(end - off) < COPY_CHUNK ? (size_t)(end - off) : COPY_CHUNK;
        ssize_t r = pread(in, buf, want, off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return fail(err, VL_ERR_IO, "cannot read %s: %s", src, strerror(errno));
        if (r == 0)
            return fail(err, VL_ERR_IO, "cannot copy %s: it shrank while being copied", src);
        for (ssize_t done = 0; done < r;) {
            ssize_t w = pwrite(out, buf + done, (size_t)(r - done), off + done);
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0)
                return fail(err, VL_ERR_IO, "cannot write %s: %s", dst, strerror(errno));
            done += w;
        }
        off += r;
    }
    return VL_OK;
}

/*
 * Copies src to a new file dst (which must not exist), keeping holes: a sparse raw disk
 * image stays sparse. dst is fsync'ed before the library records it.
 */
static VlStatus copy_file(const char *src, const char *dst, VlError *err)
{
    int in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return fail(err, VL_ERR_IO, "cannot read %s: %s", src, strerror(errno));
    struct stat sb;
    if (fstat(in, &sb) != 0) {
        close(in);
        return fail(err, VL_ERR_IO, "cannot read %s: %s", src, strerror(errno));
    }
    int out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, sb.st_mode & 0777);
    if (out < 0) {
        close(in);
        return fail(err, VL_ERR_IO, "cannot create %s: %s", dst, strerror(errno));
    }
    VlStatus st = VL_OK;
    char *buf = malloc(COPY_CHUNK);
    if (!buf)
        st = fail(err, VL_ERR_NOMEM, "out of memory");
    off_t size = sb.st_size, off = 0;
    while (st == VL_OK && off < size) {
        off_t data = lseek(in, off, SEEK_DATA);
        if (data < 0 && errno == ENXIO)
            break; /* only a hole is left */
        off_t hole = data < 0 ? size : lseek(in, data, SEEK_HOLE);
        if (data < 0)
            data = off; /* no SEEK_DATA on this file system: copy everything */
        if (hole < 0 || hole > size)
            hole = size;
        st = copy_range(in, out, buf, data, hole, src, dst, err);
        off = hole;
    }
    free(buf);
    if (st == VL_OK && ftruncate(out, size) != 0)
        st = fail(err, VL_ERR_IO, "cannot write %s: %s", dst, strerror(errno));
    if (st == VL_OK && fsync(out) != 0)
        st = fail(err, VL_ERR_IO, "cannot write %s: %s", dst, strerror(errno));
    if (close(out) != 0 && st == VL_OK)
        st = fail(err, VL_ERR_IO, "cannot write %s: %s", dst, strerror(errno));
    close(in);
    if (st != VL_OK)
        unlink(dst);
    return st;
}

VlStatus vl_default_path(char *buf, size_t size, VlError *err)
{
    const char *xdg = getenv("XDG_DATA_HOME");
    int n;
    /* The XDG spec: a relative $XDG_DATA_HOME is invalid and must be ignored. */
    if (xdg && xdg[0] == '/') {
        n = snprintf(buf, size, "%s/vessel/library.db", xdg);
    } else {
        const char *home = getenv("HOME");
        if (!home || home[0] != '/')
            return fail(err, VL_ERR_INVALID,
                        "neither XDG_DATA_HOME nor HOME is set to an absolute path; cannot "
                        "place the VM library");
        n = snprintf(buf, size, "%s/.local/share/vessel/library.db", home);
    }
    if (n < 0 || (size_t)n >= size)
        return fail(err, VL_ERR_INVALID, "the VM library path is too long");
    return VL_OK;
}

/* Only a well-formed uuid becomes a path component: a damaged row must not point
 * bundle creation or removal outside <library>/vms/. */
static bool uuid_valid(const char *u)
{
    if (strlen(u) != 36)
        return false;
    for (int i = 0; i < 36; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? u[i] != '-' : !((u[i] >= '0' && u[i] <= '9') || (u[i] >= 'a' && u[i] <= 'f')))
            return false;
    }
    return true;
}

VlStatus vl_bundle_path(const VlLibrary *lib, const char *uuid, char *buf, size_t size,
                        VlError *err)
{
    if (!uuid || !uuid_valid(uuid))
        return fail(err, VL_ERR_CORRUPT, "'%.40s' is not a VM uuid", uuid ? uuid : "");
    int n = snprintf(buf, size, "%s/%s", lib->vms_dir, uuid);
    if (n < 0 || (size_t)n >= size)
        return fail(err, VL_ERR_INVALID, "the VM bundle path is too long");
    return VL_OK;
}

static VlStatus bundle_create(const VlLibrary *lib, const char *uuid, VlError *err)
{
    static const char *const subdirs[] = { "disks", "snapshots", "nvram", "logs" };
    char dir[VL_PATH_MAX], sub[VL_PATH_MAX];
    VlStatus st = vl_bundle_path(lib, uuid, dir, sizeof(dir), err);
    if (st != VL_OK)
        return st;
    if ((st = mkdir_p(lib->vms_dir, err)) != VL_OK)
        return st;
    if (mkdir(dir, 0700) != 0)
        return fail(err, VL_ERR_IO, "cannot create the VM directory %s: %s", dir, strerror(errno));
    for (int i = 0; i < N(subdirs); i++) {
        snprintf(sub, sizeof(sub), "%.4000s/%s", dir, subdirs[i]);
        if (mkdir(sub, 0700) != 0) {
            st = fail(err, VL_ERR_IO, "cannot create %s: %s", sub, strerror(errno));
            remove_tree(dir, NULL);
            return st;
        }
    }
    return VL_OK;
}

/* ---- opening ---- */

/* Copies the database (and its WAL, if any) to "<path>.<reason>-<UTC time>[-N]". */
static VlStatus backup_file(const char *path, const char *reason, char *out, size_t size,
                            VlError *err)
{
    char stamp[32];
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
    for (int i = 0; i < 100; i++) {
        int n = i ? snprintf(out, size, "%s.%s-%s-%d", path, reason, stamp, i)
                  : snprintf(out, size, "%s.%s-%s", path, reason, stamp);
        if (n < 0 || (size_t)n >= size)
            return fail(err, VL_ERR_IO, "the backup path for %s is too long", path);
        if (access(out, F_OK) == 0)
            continue;
        VlStatus st = copy_file(path, out, err);
        if (st != VL_OK)
            return st;
        char wal[VL_PATH_MAX + 8], wal_out[VL_PATH_MAX + 8];
        snprintf(wal, sizeof(wal), "%s-wal", path);
        snprintf(wal_out, sizeof(wal_out), "%s-wal", out);
        struct stat wsb;
        /* Committed transactions not yet checkpointed live in the WAL: keep them too. */
        if (stat(wal, &wsb) == 0 && wsb.st_size > 0 && (st = copy_file(wal, wal_out, err)) != VL_OK)
            return st;
        return VL_OK;
    }
    return fail(err, VL_ERR_IO, "cannot find a free backup name for %s", path);
}

/* Reports a corrupt or newer file after backing it up; the file itself is left as it is. */
__attribute__((format(printf, 5, 6))) static VlStatus
refuse_file(const char *path, VlStatus code, const char *reason, VlError *err, const char *fmt, ...)
{
    char why[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    char backup[VL_PATH_MAX];
    VlError berr;
    err_reset(&berr);
    if (backup_file(path, reason, backup, sizeof(backup), &berr) != VL_OK)
        return fail(err, code, "%s; it was left untouched, and making a backup copy failed: %s",
                    why, berr.message);
    if (err)
        copy_str(err->backup_path, sizeof(err->backup_path), backup);
    return fail(err, code, "%s; it was left untouched and a copy was saved as %s", why, backup);
}

static int read_int_pragma(sqlite3 *db, const char *sql, int *rc_out)
{
    sqlite3_stmt *s = NULL;
    int v = -1;
    int rc = sqlite3_prepare_v2(db, sql, -1, &s, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(s);
        if (rc == SQLITE_ROW) {
            v = sqlite3_column_int(s, 0);
            rc = SQLITE_OK;
        }
    }
    if (rc != SQLITE_OK)
        rc = sqlite3_extended_errcode(db);
    sqlite3_finalize(s);
    *rc_out = rc;
    return v;
}

/* PRAGMA quick_check: "ok", or the first problem in buf. */
static int quick_check(sqlite3 *db, char *buf, size_t size)
{
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(db, "PRAGMA quick_check(1)", -1, &s, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(s);
        if (rc == SQLITE_ROW) {
            copy_str(buf, size, "");
            const char *v = (const char *)sqlite3_column_text(s, 0);
            snprintf(buf, size, "%s", v ? v : "");
            rc = SQLITE_OK;
        }
    }
    if (rc != SQLITE_OK)
        rc = sqlite3_extended_errcode(db);
    sqlite3_finalize(s);
    return rc;
}

static VlStatus migrate(VlLibrary *lib, VlError *err)
{
    VlStatus st = tx_begin(lib, err);
    if (st != VL_OK)
        return st;
    /* Read again under the write lock: another process may have migrated meanwhile. */
    int rc;
    int v = read_int_pragma(lib->db, "PRAGMA user_version", &rc);
    if (rc != SQLITE_OK) {
        st = db_fail(lib, err, rc, "reading the library's schema version");
    } else if (v > VL_SCHEMA_VERSION) {
        st = fail(err, VL_ERR_NEWER, "%s was written by a newer Vessel (schema %d)", lib->path, v);
    }
    for (; st == VL_OK && v < VL_SCHEMA_VERSION; v++) {
        char what[64];
        snprintf(what, sizeof(what), "upgrading the VM library to schema %d", v + 1);
        st = exec(lib, vl_migrations[v], what, err);
        if (st == VL_OK) {
            char sql[64];
            snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", v + 1);
            st = exec(lib, sql, what, err);
        }
    }
    if (st == VL_OK) {
        /* The migrations ran with foreign keys enforced; check nothing dangles anyway. */
        sqlite3_stmt *s;
        if ((s = prepare(lib, "PRAGMA foreign_key_check", err, &st))) {
            rc = sqlite3_step(s);
            if (rc == SQLITE_ROW)
                st = fail(err, VL_ERR_CORRUPT, "%s has rows that refer to missing VMs (table %s)",
                          lib->path, (const char *)sqlite3_column_text(s, 0));
            else if (rc != SQLITE_DONE)
                st = db_fail(lib, err, sqlite3_extended_errcode(lib->db), "checking the library");
            sqlite3_finalize(s);
        }
    }
    st = tx_end(lib, st, err);
    if (st == VL_OK)
        lib->version = VL_SCHEMA_VERSION;
    return st;
}

/*
 * Looks at an existing file through lib->db without writing: VL_OK, VL_ERR_CORRUPT or
 * VL_ERR_NEWER (err says why; the caller backs the file up), VL_ERR_LOCKED, or *recheck
 * when a read-only connection cannot tell (SQLite must first recover a hot journal).
 */
static VlStatus check_file(VlLibrary *lib, VlError *err, bool *recheck)
{
    *recheck = false;
    int rc;
    int version = read_int_pragma(lib->db, "PRAGMA user_version", &rc);
    int tables = 0;
    if (rc == SQLITE_OK)
        tables = read_int_pragma(lib->db, "SELECT count(*) FROM sqlite_master", &rc);
    if ((rc & 0xff) == SQLITE_READONLY || (rc & 0xff) == SQLITE_CANTOPEN) {
        *recheck = true;
        return VL_OK;
    }
    if ((rc & 0xff) == SQLITE_NOTADB || (rc & 0xff) == SQLITE_CORRUPT)
        return fail(err, VL_ERR_CORRUPT, "the VM library %s is damaged (%s)", lib->path,
                    sqlite3_errstr(rc));
    if (rc != SQLITE_OK)
        return db_fail(lib, err, rc, "opening the VM library");
    if (version > VL_SCHEMA_VERSION)
        return fail(err, VL_ERR_NEWER,
                    "the VM library %s was written by a newer version of Vessel (schema %d; "
                    "this version understands up to %d); update Vessel to use it",
                    lib->path, version, VL_SCHEMA_VERSION);
    char check[256];
    rc = quick_check(lib->db, check, sizeof(check));
    if ((rc & 0xff) == SQLITE_READONLY || (rc & 0xff) == SQLITE_CANTOPEN) {
        *recheck = true;
        return VL_OK;
    }
    if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED)
        return db_fail(lib, err, rc, "opening the VM library");
    if (rc != SQLITE_OK || strcmp(check, "ok") != 0)
        return fail(err, VL_ERR_CORRUPT, "the VM library %s is damaged (%s)", lib->path,
                    rc != SQLITE_OK ? sqlite3_errstr(rc) : check);
    if (version == 0 && tables > 0)
        return fail(err, VL_ERR_CORRUPT, "%s is an SQLite database but not a Vessel VM library",
                    lib->path);
    return VL_OK;
}

VlStatus vl_open_timeout(const char *path, int busy_timeout_ms, VlLibrary **out, VlError *err)
{
    err_reset(err);
    *out = NULL;
    VlLibrary *lib = calloc(1, sizeof(*lib));
    if (!lib)
        return fail(err, VL_ERR_NOMEM, "out of memory");
    lib->busy_timeout_ms = busy_timeout_ms;
    VlStatus st = VL_OK;
    if (path) {
        if (!copy_str(lib->path, sizeof(lib->path), path))
            st = fail(err, VL_ERR_INVALID, "the VM library path is too long");
    } else {
        st = vl_default_path(lib->path, sizeof(lib->path), err);
    }
    if (st != VL_OK) {
        free(lib);
        return st;
    }
    char dir[VL_PATH_MAX];
    copy_str(dir, sizeof(dir), lib->path);
    char *slash = strrchr(dir, '/');
    if (slash == dir)
        dir[1] = '\0';
    else if (slash)
        *slash = '\0';
    else
        copy_str(dir, sizeof(dir), ".");
    if (snprintf(lib->vms_dir, sizeof(lib->vms_dir), "%s/vms", dir) >= (int)sizeof(lib->vms_dir)) {
        free(lib);
        return fail(err, VL_ERR_INVALID, "the VM library path is too long");
    }
    if ((st = mkdir_p(dir, err)) != VL_OK) {
        free(lib);
        return st;
    }

    /*
     * An existing file is first checked through a read-only connection, so that a bad or
     * newer file is never written, not even by SQLite's recovery or checkpoint on close.
     */
    struct stat fsb;
    bool existing = stat(lib->path, &fsb) == 0 && fsb.st_size > 0;
    bool recheck = false;
    int rc;
    if (existing) {
        rc = sqlite3_open_v2(lib->path, &lib->db, SQLITE_OPEN_READONLY, NULL);
        if (rc == SQLITE_OK) {
            sqlite3_extended_result_codes(lib->db, 1);
            sqlite3_busy_timeout(lib->db, busy_timeout_ms);
            st = check_file(lib, err, &recheck);
        }
        if (rc != SQLITE_OK)
            st = fail(err, VL_ERR_IO, "cannot open the VM library %s: %s", lib->path,
                      lib->db ? sqlite3_errmsg(lib->db) : sqlite3_errstr(rc));
        sqlite3_close(lib->db);
        lib->db = NULL;
        if (st == VL_ERR_CORRUPT || st == VL_ERR_NEWER)
            st = refuse_file(lib->path, st, st == VL_ERR_NEWER ? "newer" : "corrupt", err, "%s",
                             err ? err->message : "the VM library cannot be used");
        if (st != VL_OK)
            goto out;
    }

    rc = sqlite3_open_v2(lib->path, &lib->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    if (rc != SQLITE_OK) {
        st = fail(err, VL_ERR_IO, "cannot open the VM library %s: %s", lib->path,
                  lib->db ? sqlite3_errmsg(lib->db) : sqlite3_errstr(rc));
        goto out;
    }
    sqlite3_extended_result_codes(lib->db, 1);
    sqlite3_busy_timeout(lib->db, busy_timeout_ms);

    if (recheck) {
        /* The read-only look needed recovery (a hot journal): check again, now writable. */
        st = check_file(lib, err, &recheck);
        if (st == VL_ERR_CORRUPT || st == VL_ERR_NEWER) {
            sqlite3_close(lib->db);
            lib->db = NULL;
            st = refuse_file(lib->path, st, st == VL_ERR_NEWER ? "newer" : "corrupt", err, "%s",
                             err ? err->message : "the VM library cannot be used");
        }
        if (st != VL_OK)
            goto out;
    }

    /* WAL: readers (the UI) never wait for the writer. */
    sqlite3_stmt *s = NULL;
    rc = sqlite3_prepare_v2(lib->db, "PRAGMA journal_mode = WAL", -1, &s, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        const char *mode = (const char *)sqlite3_column_text(s, 0);
        rc = mode && strcmp(mode, "wal") == 0 ? SQLITE_OK : SQLITE_BUSY;
    } else {
        rc = sqlite3_extended_errcode(lib->db);
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_OK) {
        st = db_fail(lib, err, rc, "switching the VM library to WAL mode");
        goto out;
    }
    if ((st = exec(lib, "PRAGMA foreign_keys = ON", "enabling foreign keys", err)) != VL_OK)
        goto out;
    if ((st = exec(lib, "PRAGMA synchronous = NORMAL", "configuring the library", err)) != VL_OK)
        goto out;
    st = migrate(lib, err);
out:
    if (st != VL_OK) {
        if (lib->db)
            sqlite3_close(lib->db);
        free(lib);
        return st;
    }
    *out = lib;
    return VL_OK;
}

VlStatus vl_open(const char *path, VlLibrary **out, VlError *err)
{
    return vl_open_timeout(path, DEFAULT_BUSY_TIMEOUT_MS, out, err);
}

void vl_close(VlLibrary *lib)
{
    if (!lib)
        return;
    sqlite3_close(lib->db);
    free(lib);
}

const char *vl_path(const VlLibrary *lib)
{
    return lib->path;
}

int vl_schema_version(const VlLibrary *lib)
{
    return lib->version;
}

/* ---- VlVm helpers ---- */

void vl_vm_init(VlVm *vm)
{
    memset(vm, 0, sizeof(*vm));
    copy_str(vm->arch, sizeof(vm->arch), "riscv64");
    copy_str(vm->os_kind, sizeof(vm->os_kind), "linux");
    vm->memory_bytes = 512ull << 20;
    vm->vcpus = 1;
    vm->accel = VL_ACCEL_AUTO;
    vm->jit_threshold = 50;
    vm->pin = VL_PIN_AUTO;
    vm->boot = VL_BOOT_DEMO;
    vm->display.width = 1024;
    vm->display.height = 768;
    vm->display.scale_to_fit = true;
    vm->display.gl = VL_GL_AUTO;
}

void vl_vm_clear(VlVm *vm)
{
    for (size_t i = 0; i < vm->n_nics; i++)
        free(vm->nics[i].forwards);
    free(vm->drives);
    free(vm->media);
    free(vm->nics);
    free(vm->shares);
    vm->drives = NULL;
    vm->media = NULL;
    vm->nics = NULL;
    vm->shares = NULL;
    vm->n_drives = vm->n_media = vm->n_nics = vm->n_shares = 0;
}

static void *grow(void **arr, size_t *n, size_t elem)
{
    void *p = realloc(*arr, (*n + 1) * elem);
    if (!p)
        return NULL;
    *arr = p;
    void *e = (char *)p + *n * elem;
    memset(e, 0, elem);
    (*n)++;
    return e;
}

VlDrive *vl_vm_add_drive(VlVm *vm)
{
    VlDrive *d = grow((void **)&vm->drives, &vm->n_drives, sizeof(*d));
    if (d) {
        copy_str(d->format, sizeof(d->format), "qcow2");
        d->position = (int)vm->n_drives - 1;
    }
    return d;
}

VlMedia *vl_vm_add_media(VlVm *vm)
{
    VlMedia *m = grow((void **)&vm->media, &vm->n_media, sizeof(*m));
    if (m)
        m->slot = (int)vm->n_media - 1;
    return m;
}

VlNic *vl_vm_add_nic(VlVm *vm)
{
    VlNic *n = grow((void **)&vm->nics, &vm->n_nics, sizeof(*n));
    if (n) {
        n->position = (int)vm->n_nics - 1;
        n->mode = VL_NET_USER;
    }
    return n;
}

VlShare *vl_vm_add_share(VlVm *vm)
{
    return grow((void **)&vm->shares, &vm->n_shares, sizeof(VlShare));
}

VlForward *vl_nic_add_forward(VlNic *nic)
{
    VlForward *f = grow((void **)&nic->forwards, &nic->n_forwards, sizeof(*f));
    if (f)
        copy_str(f->proto, sizeof(f->proto), "tcp");
    return f;
}

/* ---- validation (clear messages before the database's own CHECKs) ---- */

static VlStatus validate_vm(const VlVm *vm, VlError *err)
{
    size_t nl = strnlen(vm->name, sizeof(vm->name));
    if (nl == 0 || nl >= sizeof(vm->name))
        return fail(err, VL_ERR_INVALID, "a VM name must be 1 to %d bytes long",
                    (int)sizeof(vm->name) - 1);
    if (enum_parse(arch_names, N(arch_names), vm->arch) < 0)
        return fail(err, VL_ERR_INVALID,
                    "unknown guest architecture '%.16s' (use riscv64, aarch64 or x86_64)",
                    vm->arch);
    if (enum_parse(os_names, N(os_names), vm->os_kind) < 0)
        return fail(err, VL_ERR_INVALID,
                    "unknown OS kind '%.16s' (use linux, windows, bsd or other)", vm->os_kind);
    if (vm->memory_bytes < (16ull << 20) || vm->memory_bytes > (1ull << 40) ||
        vm->memory_bytes % (1u << 20))
        return fail(err, VL_ERR_INVALID,
                    "memory must be a whole number of MiB between 16 MiB and 1 TiB (got %llu "
                    "bytes)",
                    (unsigned long long)vm->memory_bytes);
    if (vm->vcpus < 1 || vm->vcpus > 512)
        return fail(err, VL_ERR_INVALID, "a VM needs 1 to 512 vCPUs (got %d)", vm->vcpus);
    if (!vl_accel_name(vm->accel))
        return fail(err, VL_ERR_INVALID, "unknown accelerator policy %d", (int)vm->accel);
    if (vm->jit_threshold < 1 || vm->jit_threshold > 1000000)
        return fail(err, VL_ERR_INVALID, "the JIT threshold must be 1 to 1000000 (got %d)",
                    vm->jit_threshold);
    if (!vl_pin_name(vm->pin))
        return fail(err, VL_ERR_INVALID, "unknown core-pinning policy %d", (int)vm->pin);
    if (vm->pin == VL_PIN_LIST && !cpulist_valid(vm->pin_cpus))
        return fail(err, VL_ERR_INVALID, "'%.255s' is not a CPU list (write it like 0-3,6)",
                    vm->pin_cpus);
    if (!vl_boot_name(vm->boot))
        return fail(err, VL_ERR_INVALID, "unknown boot source %d", (int)vm->boot);
    if (vm->boot == VL_BOOT_KERNEL && !vm->kernel[0])
        return fail(err, VL_ERR_INVALID, "booting a Linux kernel needs the kernel image's path");
    const VlDisplay *d = &vm->display;
    if (d->width < 320 || d->width > 16384 || d->height < 200 || d->height > 16384)
        return fail(err, VL_ERR_INVALID,
                    "display size %dx%d is out of range (320x200 to 16384x16384)", d->width,
                    d->height);
    if (!vl_gl_name(d->gl))
        return fail(err, VL_ERR_INVALID, "unknown GL setting %d", (int)d->gl);
    return VL_OK;
}

static VlStatus validate_drive(const VlDrive *d, VlError *err)
{
    if (!d->path[0])
        return fail(err, VL_ERR_INVALID, "a drive needs a disk image path");
    if (enum_parse(format_names, N(format_names), d->format) < 0)
        return fail(err, VL_ERR_INVALID, "unknown disk format '%.8s' (use raw or qcow2)",
                    d->format);
    if (d->position < 0 || d->position > 63)
        return fail(err, VL_ERR_INVALID, "drive position %d is out of range (0 to 63)",
                    d->position);
    return VL_OK;
}

static VlStatus validate_media(const VlMedia *m, VlError *err)
{
    if (m->slot < 0 || m->slot > 7)
        return fail(err, VL_ERR_INVALID, "media slot %d is out of range (0 to 7)", m->slot);
    return VL_OK;
}

static VlStatus validate_forward(const VlForward *f, VlError *err)
{
    if (enum_parse(proto_names, N(proto_names), f->proto) < 0)
        return fail(err, VL_ERR_INVALID,
                    "unknown protocol '%.4s' for a port forward (use tcp "
                    "or udp)",
                    f->proto);
    if (f->host_port < 1 || f->host_port > 65535 || f->guest_port < 1 || f->guest_port > 65535)
        return fail(err, VL_ERR_INVALID, "port forward %d -> %d: ports must be 1 to 65535",
                    f->host_port, f->guest_port);
    return VL_OK;
}

static VlStatus validate_nic(const VlNic *n, VlError *err)
{
    if (!vl_net_mode_name(n->mode))
        return fail(err, VL_ERR_INVALID, "unknown network mode %d", (int)n->mode);
    if (n->position < 0 || n->position > 31)
        return fail(err, VL_ERR_INVALID, "adapter position %d is out of range (0 to 31)",
                    n->position);
    if (n->mode == VL_NET_BRIDGE && !n->ifname[0])
        return fail(err, VL_ERR_INVALID, "a bridged adapter needs a TAP interface name");
    if (strnlen(n->ifname, sizeof(n->ifname)) >= sizeof(n->ifname))
        return fail(err, VL_ERR_INVALID, "interface names are at most 15 bytes");
    if (n->mac[0] && !mac_valid(n->mac))
        return fail(err, VL_ERR_INVALID,
                    "'%.17s' is not a unicast MAC address (write it like 52:54:00:12:34:56)",
                    n->mac);
    if (n->n_forwards && n->mode != VL_NET_USER)
        return fail(err, VL_ERR_INVALID, "port forwards need a NAT (user) adapter");
    for (size_t i = 0; i < n->n_forwards; i++) {
        VlStatus st = validate_forward(&n->forwards[i], err);
        if (st != VL_OK)
            return st;
    }
    return VL_OK;
}

static VlStatus validate_share(const VlShare *s, VlError *err)
{
    if (!s->path[0])
        return fail(err, VL_ERR_INVALID, "a shared folder needs a host directory");
    if (!tag_valid(s->tag))
        return fail(err, VL_ERR_INVALID,
                    "'%.31s' is not a valid mount tag (1 to 31 of A-Z a-z 0-9 _ . -)", s->tag);
    return VL_OK;
}

/* ---- child-row writes (inside a transaction) ---- */

static VlStatus insert_drive(VlLibrary *lib, int64_t vm_id, const VlDrive *d, int64_t *id,
                             VlError *err)
{
    VlStatus st = validate_drive(d, err);
    sqlite3_stmt *s;
    if (st != VL_OK || !(s = prepare(lib,
                                     "INSERT INTO drives (vm_id, path, format, readonly, position)"
                                     " VALUES (?, ?, ?, ?, ?)",
                                     err, &st)))
        return st;
    sqlite3_bind_int64(s, 1, vm_id);
    bind_text(s, 2, d->path);
    bind_text(s, 3, d->format);
    sqlite3_bind_int(s, 4, d->readonly);
    sqlite3_bind_int(s, 5, d->position);
    char what[64];
    snprintf(what, sizeof(what), "adding the drive at position %d", d->position);
    return step_insert(lib, s, what, id, err);
}

static VlStatus insert_media(VlLibrary *lib, int64_t vm_id, const VlMedia *m, int64_t *id,
                             VlError *err)
{
    VlStatus st = validate_media(m, err);
    sqlite3_stmt *s;
    if (st != VL_OK ||
        !(s = prepare(lib, "INSERT INTO media (vm_id, slot, path) VALUES (?, ?, ?)", err, &st)))
        return st;
    sqlite3_bind_int64(s, 1, vm_id);
    sqlite3_bind_int(s, 2, m->slot);
    bind_text(s, 3, m->path);
    char what[64];
    snprintf(what, sizeof(what), "adding media slot %d", m->slot);
    return step_insert(lib, s, what, id, err);
}

static VlStatus insert_forward(VlLibrary *lib, int64_t nic_id, const VlForward *f, int64_t *id,
                               VlError *err)
{
    VlStatus st = validate_forward(f, err);
    sqlite3_stmt *s;
    if (st != VL_OK || !(s = prepare(lib,
                                     "INSERT INTO forwards (nic_id, proto, host_addr, host_port,"
                                     " guest_port) VALUES (?, ?, ?, ?, ?)",
                                     err, &st)))
        return st;
    sqlite3_bind_int64(s, 1, nic_id);
    bind_text(s, 2, f->proto);
    bind_text(s, 3, f->host_addr);
    sqlite3_bind_int(s, 4, f->host_port);
    sqlite3_bind_int(s, 5, f->guest_port);
    char what[96];
    snprintf(what, sizeof(what), "forwarding host %s port %d", f->proto, f->host_port);
    return step_insert(lib, s, what, id, err);
}

static VlStatus insert_nic(VlLibrary *lib, int64_t vm_id, const VlNic *n, int64_t *id, VlError *err)
{
    VlStatus st = validate_nic(n, err);
    if (st != VL_OK)
        return st;
    char mac[18];
    if (n->mac[0])
        copy_str(mac, sizeof(mac), n->mac);
    else if ((st = make_mac(mac, err)) != VL_OK)
        return st;
    sqlite3_stmt *s = prepare(lib,
                              "INSERT INTO nics (vm_id, position, mode, ifname, mac)"
                              " VALUES (?, ?, ?, ?, ?)",
                              err, &st);
    if (!s)
        return st;
    sqlite3_bind_int64(s, 1, vm_id);
    sqlite3_bind_int(s, 2, n->position);
    bind_text(s, 3, vl_net_mode_name(n->mode));
    bind_text(s, 4, n->ifname);
    bind_text(s, 5, mac);
    char what[64];
    snprintf(what, sizeof(what), "adding the network adapter at position %d", n->position);
    if ((st = step_done(lib, s, what, err)) != VL_OK)
        return st;
    int64_t nic_id = sqlite3_last_insert_rowid(lib->db);
    for (size_t i = 0; st == VL_OK && i < n->n_forwards; i++)
        st = insert_forward(lib, nic_id, &n->forwards[i], NULL, err);
    if (st == VL_OK && id)
        *id = nic_id;
    return st;
}

static VlStatus insert_share(VlLibrary *lib, int64_t vm_id, const VlShare *sh, int64_t *id,
                             VlError *err)
{
    VlStatus st = validate_share(sh, err);
    sqlite3_stmt *s;
    if (st != VL_OK ||
        !(s = prepare(lib, "INSERT INTO shares (vm_id, path, tag, readonly) VALUES (?, ?, ?, ?)",
                      err, &st)))
        return st;
    sqlite3_bind_int64(s, 1, vm_id);
    bind_text(s, 2, sh->path);
    bind_text(s, 3, sh->tag);
    sqlite3_bind_int(s, 4, sh->readonly);
    char what[96];
    snprintf(what, sizeof(what), "adding the shared folder with tag '%s'", sh->tag);
    st = step_done(lib, s, what, err);
    if (st == VL_ERR_EXISTS)
        st = fail(err, VL_ERR_EXISTS, "this VM already has a shared folder with the tag '%s'",
                  sh->tag);
    if (st == VL_OK && id)
        *id = sqlite3_last_insert_rowid(lib->db);
    return st;
}

static VlStatus write_display(VlLibrary *lib, int64_t vm_id, const VlDisplay *d, VlError *err)
{
    VlStatus st;
    sqlite3_stmt *s = prepare(lib,
                              "INSERT INTO display (vm_id, width, height, scale_to_fit, gl)"
                              " VALUES (?, ?, ?, ?, ?) ON CONFLICT (vm_id) DO UPDATE SET"
                              " width = excluded.width, height = excluded.height,"
                              " scale_to_fit = excluded.scale_to_fit, gl = excluded.gl",
                              err, &st);
    if (!s)
        return st;
    sqlite3_bind_int64(s, 1, vm_id);
    sqlite3_bind_int(s, 2, d->width);
    sqlite3_bind_int(s, 3, d->height);
    sqlite3_bind_int(s, 4, d->scale_to_fit);
    bind_text(s, 5, vl_gl_name(d->gl));
    return step_done(lib, s, "saving the display settings", err);
}

static VlStatus name_clash(VlStatus st, const char *name, VlError *err)
{
    if (st == VL_ERR_EXISTS)
        return fail(err, VL_ERR_EXISTS, "a VM named \"%s\" already exists", name);
    return st;
}

/* Binds the VM's own settings to parameters 1..16 (the order of VM_COLUMNS). */
#define VM_COLUMNS                                                                           \
    "name, arch, os_kind, memory_bytes, vcpus, accel, jit_threshold, pin_policy, pin_cpus, " \
    "firmware, boot_kind, kernel, initrd, cmdline, efi_vars, modified"
static void bind_vm(sqlite3_stmt *s, const VlVm *vm, int64_t now)
{
    bind_text(s, 1, vm->name);
    bind_text(s, 2, vm->arch);
    bind_text(s, 3, vm->os_kind);
    sqlite3_bind_int64(s, 4, (int64_t)vm->memory_bytes);
    sqlite3_bind_int(s, 5, vm->vcpus);
    bind_text(s, 6, vl_accel_name(vm->accel));
    sqlite3_bind_int(s, 7, vm->jit_threshold);
    bind_text(s, 8, vl_pin_name(vm->pin));
    bind_text(s, 9, vm->pin == VL_PIN_LIST ? vm->pin_cpus : "");
    bind_text(s, 10, vm->firmware);
    bind_text(s, 11, vl_boot_name(vm->boot));
    bind_text(s, 12, vm->kernel);
    bind_text(s, 13, vm->initrd);
    bind_text(s, 14, vm->cmdline);
    bind_text(s, 15, vm->efi_vars);
    sqlite3_bind_int64(s, 16, now);
}

/* Inserts the VM row and all children; the caller owns the transaction. */
/* The VM's drives, media, adapters (with forwards), shares and display (in a transaction). */
static VlStatus insert_children(VlLibrary *lib, int64_t id, const VlVm *vm, VlError *err)
{
    VlStatus st = VL_OK;
    for (size_t i = 0; st == VL_OK && i < vm->n_drives; i++)
        st = insert_drive(lib, id, &vm->drives[i], NULL, err);
    for (size_t i = 0; st == VL_OK && i < vm->n_media; i++)
        st = insert_media(lib, id, &vm->media[i], NULL, err);
    for (size_t i = 0; st == VL_OK && i < vm->n_nics; i++)
        st = insert_nic(lib, id, &vm->nics[i], NULL, err);
    for (size_t i = 0; st == VL_OK && i < vm->n_shares; i++)
        st = insert_share(lib, id, &vm->shares[i], NULL, err);
    if (st == VL_OK)
        st = write_display(lib, id, &vm->display, err);
    return st;
}

static VlStatus insert_vm(VlLibrary *lib, const VlVm *vm, const char *uuid, int64_t *id_out,
                          VlError *err)
{
    VlStatus st = validate_vm(vm, err);
    sqlite3_stmt *s;
    if (st != VL_OK || !(s = prepare(lib,
                                     "INSERT INTO vms (" VM_COLUMNS ", uuid, created)"
                                     " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
                                     " ?, ?)",
                                     err, &st)))
        return st;
    int64_t now = now_seconds();
    bind_vm(s, vm, now);
    bind_text(s, 17, uuid);
    sqlite3_bind_int64(s, 18, now);
    st = name_clash(step_done(lib, s, "creating the VM", err), vm->name, err);
    if (st != VL_OK)
        return st;
    int64_t id = sqlite3_last_insert_rowid(lib->db);
    st = insert_children(lib, id, vm, err);
    if (st == VL_OK)
        *id_out = id;
    return st;
}

VlStatus vl_vm_create(VlLibrary *lib, const VlVm *vm, int64_t *id_out, char uuid_out[37],
                      VlError *err)
{
    err_reset(err);
    char uuid[37];
    int64_t id = 0;
    VlStatus st = make_uuid(uuid, err);
    if (st == VL_OK)
        st = tx_begin(lib, err);
    if (st != VL_OK)
        return st;
    st = insert_vm(lib, vm, uuid, &id, err);
    /* The bundle is made last, inside the transaction, and removed if the commit fails. */
    bool made_bundle = false;
    if (st == VL_OK && (st = bundle_create(lib, uuid, err)) == VL_OK)
        made_bundle = true;
    st = tx_end(lib, st, err);
    if (st != VL_OK) {
        if (made_bundle) {
            char dir[VL_PATH_MAX];
            if (vl_bundle_path(lib, uuid, dir, sizeof(dir), NULL) == VL_OK)
                remove_tree(dir, NULL);
        }
        return st;
    }
    if (id_out)
        *id_out = id;
    if (uuid_out)
        memcpy(uuid_out, uuid, 37);
    return VL_OK;
}

/* ---- reading ---- */

#define VM_SELECT                                                                             \
    "SELECT id, uuid, name, arch, os_kind, memory_bytes, vcpus, accel, jit_threshold, "       \
    "pin_policy, pin_cpus, firmware, boot_kind, kernel, initrd, cmdline, created, modified, " \
    "efi_vars FROM vms"

static VlStatus bad_enum(sqlite3_stmt *s, int col, VlError *err)
{
    return fail(err, VL_ERR_CORRUPT, "the VM library holds an unknown value '%s' in column '%s'",
                (const char *)sqlite3_column_text(s, col), sqlite3_column_name(s, col));
}

static VlStatus read_vm_row(sqlite3_stmt *s, VlVm *vm, VlError *err)
{
    VlStatus st;
    vl_vm_init(vm);
    vm->id = sqlite3_column_int64(s, 0);
    if ((st = col_text(s, 1, vm->uuid, sizeof(vm->uuid), err)) != VL_OK ||
        (st = col_text(s, 2, vm->name, sizeof(vm->name), err)) != VL_OK ||
        (st = col_text(s, 3, vm->arch, sizeof(vm->arch), err)) != VL_OK ||
        (st = col_text(s, 4, vm->os_kind, sizeof(vm->os_kind), err)) != VL_OK)
        return st;
    vm->memory_bytes = (uint64_t)sqlite3_column_int64(s, 5);
    vm->vcpus = sqlite3_column_int(s, 6);
    int v = enum_parse(accel_names, N(accel_names), (const char *)sqlite3_column_text(s, 7));
    if (v < 0)
        return bad_enum(s, 7, err);
    vm->accel = (VlAccel)v;
    vm->jit_threshold = sqlite3_column_int(s, 8);
    if ((v = enum_parse(pin_names, N(pin_names), (const char *)sqlite3_column_text(s, 9))) < 0)
        return bad_enum(s, 9, err);
    vm->pin = (VlPin)v;
    if ((st = col_text(s, 10, vm->pin_cpus, sizeof(vm->pin_cpus), err)) != VL_OK ||
        (st = col_text(s, 11, vm->firmware, sizeof(vm->firmware), err)) != VL_OK)
        return st;
    if ((v = enum_parse(boot_names, N(boot_names), (const char *)sqlite3_column_text(s, 12))) < 0)
        return bad_enum(s, 12, err);
    vm->boot = (VlBoot)v;
    if ((st = col_text(s, 13, vm->kernel, sizeof(vm->kernel), err)) != VL_OK ||
        (st = col_text(s, 14, vm->initrd, sizeof(vm->initrd), err)) != VL_OK ||
        (st = col_text(s, 15, vm->cmdline, sizeof(vm->cmdline), err)) != VL_OK)
        return st;
    vm->created = sqlite3_column_int64(s, 16);
    vm->modified = sqlite3_column_int64(s, 17);
    return col_text(s, 18, vm->efi_vars, sizeof(vm->efi_vars), err);
}

/* Runs a child query bound to one id and calls row() for each result row. */
static VlStatus for_rows(VlLibrary *lib, const char *sql, int64_t id,
                         VlStatus (*row)(sqlite3_stmt *, void *, VlError *), void *ctx,
                         VlError *err)
{
    VlStatus st;
    sqlite3_stmt *s = prepare(lib, sql, err, &st);
    if (!s)
        return st;
    sqlite3_bind_int64(s, 1, id);
    int rc;
    while (st == VL_OK && (rc = sqlite3_step(s)) == SQLITE_ROW)
        st = row(s, ctx, err);
    if (st == VL_OK && rc != SQLITE_DONE)
        st = db_fail(lib, err, sqlite3_extended_errcode(lib->db), "reading the VM library");
    sqlite3_finalize(s);
    return st;
}

static VlStatus drive_row(sqlite3_stmt *s, void *ctx, VlError *err)
{
    VlDrive *d = vl_vm_add_drive(ctx);
    if (!d)
        return fail(err, VL_ERR_NOMEM, "out of memory");
    d->id = sqlite3_column_int64(s, 0);
    d->readonly = sqlite3_column_int(s, 3) != 0;
    d->position = sqlite3_column_int(s, 4);
    VlStatus st = col_text(s, 1, d->path, sizeof(d->path), err);
    return st != VL_OK ? st : col_text(s, 2, d->format, sizeof(d->format), err);
}

static VlStatus media_row(sqlite3_stmt *s, void *ctx, VlError *err)
{
    VlMedia *m = vl_vm_add_media(ctx);
    if (!m)
        return fail(err, VL_ERR_NOMEM, "out of memory");
    m->id = sqlite3_column_int64(s, 0);
    m->slot = sqlite3_column_int(s, 1);
    return col_text(s, 2, m->path, sizeof(m->path), err);
}

static VlStatus forward_row(sqlite3_stmt *s, void *ctx, VlError *err)
{
    VlForward *f = vl_nic_add_forward(ctx);
    if (!f)
        return fail(err, VL_ERR_NOMEM, "out of memory");
    f->id = sqlite3_column_int64(s, 0);
    f->host_port = sqlite3_column_int(s, 3);
    f->guest_port = sqlite3_column_int(s, 4);
    VlStatus st = col_text(s, 1, f->proto, sizeof(f->proto), err);
    return st != VL_OK ? st : col_text(s, 2, f->host_addr, sizeof(f->host_addr), err);
}

static VlStatus nic_row(sqlite3_stmt *s, void *ctx, VlError *err)
{
    VlNic *n = vl_vm_add_nic(ctx);
    if (!n)
        return fail(err, VL_ERR_NOMEM, "out of memory");
    n->id = sqlite3_column_int64(s, 0);
    n->position = sqlite3_column_int(s, 1);
    int v = enum_parse(net_names, N(net_names), (const char *)sqlite3_column_text(s, 2));
    if (v < 0)
        return bad_enum(s, 2, err);
    n->mode = (VlNetMode)v;
    VlStatus st = col_text(s, 3, n->ifname, sizeof(n->ifname), err);
    return st != VL_OK ? st : col_text(s, 4, n->mac, sizeof(n->mac), err);
}

static VlStatus share_row(sqlite3_stmt *s, void *ctx, VlError *err)
{
    VlShare *sh = vl_vm_add_share(ctx);
    if (!sh)
        return fail(err, VL_ERR_NOMEM, "out of memory");
    sh->id = sqlite3_column_int64(s, 0);
    sh->readonly = sqlite3_column_int(s, 3) != 0;
    VlStatus st = col_text(s, 1, sh->path, sizeof(sh->path), err);
    return st != VL_OK ? st : col_text(s, 2, sh->tag, sizeof(sh->tag), err);
}

static VlStatus display_row(sqlite3_stmt *s, void *ctx, VlError *err)
{
    VlDisplay *d = ctx;
    d->width = sqlite3_column_int(s, 0);
    d->height = sqlite3_column_int(s, 1);
    d->scale_to_fit = sqlite3_column_int(s, 2) != 0;
    int v = enum_parse(gl_names, N(gl_names), (const char *)sqlite3_column_text(s, 3));
    if (v < 0)
        return bad_enum(s, 3, err);
    d->gl = (VlGl)v;
    return VL_OK;
}

static VlStatus read_children(VlLibrary *lib, VlVm *vm, VlError *err)
{
    VlStatus st = for_rows(lib,
                           "SELECT id, path, format, readonly, position FROM drives"
                           " WHERE vm_id = ? ORDER BY position",
                           vm->id, drive_row, vm, err);
    if (st == VL_OK)
        st = for_rows(lib, "SELECT id, slot, path FROM media WHERE vm_id = ? ORDER BY slot", vm->id,
                      media_row, vm, err);
    if (st == VL_OK)
        st = for_rows(lib,
                      "SELECT id, position, mode, ifname, mac FROM nics WHERE vm_id = ?"
                      " ORDER BY position",
                      vm->id, nic_row, vm, err);
    for (size_t i = 0; st == VL_OK && i < vm->n_nics; i++)
        st = for_rows(lib,
                      "SELECT id, proto, host_addr, host_port, guest_port FROM forwards"
                      " WHERE nic_id = ? ORDER BY id",
                      vm->nics[i].id, forward_row, &vm->nics[i], err);
    if (st == VL_OK)
        st = for_rows(lib, "SELECT id, path, tag, readonly FROM shares WHERE vm_id = ? ORDER BY id",
                      vm->id, share_row, vm, err);
    if (st == VL_OK)
        st = for_rows(lib, "SELECT width, height, scale_to_fit, gl FROM display WHERE vm_id = ?",
                      vm->id, display_row, &vm->display, err);
    return st;
}

/* One consistent snapshot: the VM row and its children are read in one transaction. */
static VlStatus get_vm(VlLibrary *lib, int64_t id, VlVm *vm, VlError *err)
{
    VlStatus st;
    vl_vm_init(vm);
    sqlite3_stmt *s = prepare(lib, VM_SELECT " WHERE id = ?", err, &st);
    if (!s)
        return st;
    sqlite3_bind_int64(s, 1, id);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        st = read_vm_row(s, vm, err);
    else if (rc == SQLITE_DONE)
        st = fail(err, VL_ERR_NOT_FOUND, "there is no VM with id %lld", (long long)id);
    else
        st = db_fail(lib, err, sqlite3_extended_errcode(lib->db), "reading the VM library");
    sqlite3_finalize(s);
    if (st == VL_OK)
        st = read_children(lib, vm, err);
    if (st != VL_OK)
        vl_vm_clear(vm);
    return st;
}

VlStatus vl_vm_get(VlLibrary *lib, int64_t id, VlVm *vm, VlError *err)
{
    err_reset(err);
    VlStatus st = exec(lib, "BEGIN", "reading the VM library", err);
    if (st != VL_OK) {
        vl_vm_init(vm);
        return st;
    }
    st = get_vm(lib, id, vm, err);
    tx_rollback(lib);
    return st;
}

VlStatus vl_vm_find(VlLibrary *lib, const char *name, int64_t *id_out, VlError *err)
{
    err_reset(err);
    VlStatus st;
    sqlite3_stmt *s = prepare(lib, "SELECT id FROM vms WHERE name = ?", err, &st);
    if (!s)
        return st;
    bind_text(s, 1, name);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        *id_out = sqlite3_column_int64(s, 0);
    else if (rc == SQLITE_DONE)
        st = fail(err, VL_ERR_NOT_FOUND, "there is no VM named \"%s\"", name);
    else
        st = db_fail(lib, err, sqlite3_extended_errcode(lib->db), "reading the VM library");
    sqlite3_finalize(s);
    return st;
}

void vl_vm_list_free(VlVm *vms, size_t n)
{
    for (size_t i = 0; i < n; i++)
        vl_vm_clear(&vms[i]);
    free(vms);
}

VlStatus vl_vm_list(VlLibrary *lib, VlVm **vms_out, size_t *n_out, VlError *err)
{
    err_reset(err);
    *vms_out = NULL;
    *n_out = 0;
    VlStatus st = exec(lib, "BEGIN", "reading the VM library", err);
    if (st != VL_OK)
        return st;
    int64_t *ids = NULL;
    size_t n = 0;
    sqlite3_stmt *s =
        prepare(lib, "SELECT id FROM vms ORDER BY name COLLATE NOCASE, name", err, &st);
    if (s) {
        int rc;
        while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
            int64_t *p = realloc(ids, (n + 1) * sizeof(*ids));
            if (!p) {
                st = fail(err, VL_ERR_NOMEM, "out of memory");
                break;
            }
            ids = p;
            ids[n++] = sqlite3_column_int64(s, 0);
        }
        if (st == VL_OK && rc != SQLITE_DONE)
            st = db_fail(lib, err, sqlite3_extended_errcode(lib->db), "listing the VMs");
        sqlite3_finalize(s);
    }
    VlVm *vms = NULL;
    if (st == VL_OK && n && !(vms = calloc(n, sizeof(*vms))))
        st = fail(err, VL_ERR_NOMEM, "out of memory");
    size_t got = 0;
    for (; st == VL_OK && got < n; got++)
        st = get_vm(lib, ids[got], &vms[got], err);
    tx_rollback(lib);
    free(ids);
    if (st != VL_OK) {
        vl_vm_list_free(vms, got);
        return st;
    }
    *vms_out = vms;
    *n_out = n;
    return VL_OK;
}

/* ---- VM writes ---- */

/* The VM's own row (inside a transaction). */
static VlStatus update_vm_row(VlLibrary *lib, const VlVm *vm, VlError *err)
{
    VlStatus st = VL_OK;
    sqlite3_stmt *s = prepare(lib,
                              "UPDATE vms SET (" VM_COLUMNS ") = (?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
                              " ?, ?, ?, ?, ?, ?) WHERE id = ?",
                              err, &st);
    if (!s)
        return st;
    bind_vm(s, vm, now_seconds());
    sqlite3_bind_int64(s, 17, vm->id);
    st = name_clash(step_done(lib, s, "saving the VM's settings", err), vm->name, err);
    if (st == VL_OK && sqlite3_changes(lib->db) == 0)
        st = fail(err, VL_ERR_NOT_FOUND, "there is no VM with id %lld", (long long)vm->id);
    return st;
}

VlStatus vl_vm_update(VlLibrary *lib, const VlVm *vm, VlError *err)
{
    err_reset(err);
    VlStatus st = validate_vm(vm, err);
    if (st == VL_OK)
        st = tx_begin(lib, err);
    if (st != VL_OK)
        return st;
    st = update_vm_row(lib, vm, err);
    if (st == VL_OK)
        st = write_display(lib, vm->id, &vm->display, err);
    return tx_end(lib, st, err);
}

VlStatus vl_vm_save(VlLibrary *lib, const VlVm *vm, VlError *err)
{
    err_reset(err);
    VlStatus st = validate_vm(vm, err);
    if (st == VL_OK)
        st = tx_begin(lib, err);
    if (st != VL_OK)
        return st;
    st = update_vm_row(lib, vm, err);
    /* The child rows are replaced as a whole (forwards go with their adapters). */
    static const char *const wipe[] = {
        "DELETE FROM drives WHERE vm_id = ?",
        "DELETE FROM media WHERE vm_id = ?",
        "DELETE FROM nics WHERE vm_id = ?",
        "DELETE FROM shares WHERE vm_id = ?",
    };
    for (size_t i = 0; st == VL_OK && i < sizeof(wipe) / sizeof(wipe[0]); i++) {
        sqlite3_stmt *d = prepare(lib, wipe[i], err, &st);
        if (d) {
            sqlite3_bind_int64(d, 1, vm->id);
            st = step_done(lib, d, "replacing the VM's devices", err);
        }
    }
    if (st == VL_OK)
        st = insert_children(lib, vm->id, vm, err);
    return tx_end(lib, st, err);
}

VlStatus vl_vm_rename(VlLibrary *lib, int64_t id, const char *new_name, VlError *err)
{
    err_reset(err);
    size_t nl = new_name ? strlen(new_name) : 0;
    if (nl == 0 || nl >= VL_NAME_MAX)
        return fail(err, VL_ERR_INVALID, "a VM name must be 1 to %d bytes long", VL_NAME_MAX - 1);
    VlStatus st = tx_begin(lib, err);
    if (st != VL_OK)
        return st;
    sqlite3_stmt *s = prepare(lib, "UPDATE vms SET name = ?, modified = ? WHERE id = ?", err, &st);
    if (s) {
        bind_text(s, 1, new_name);
        sqlite3_bind_int64(s, 2, now_seconds());
        sqlite3_bind_int64(s, 3, id);
        st = name_clash(step_done(lib, s, "renaming the VM", err), new_name, err);
        if (st == VL_OK && sqlite3_changes(lib->db) == 0)
            st = fail(err, VL_ERR_NOT_FOUND, "there is no VM with id %lld", (long long)id);
    }
    return tx_end(lib, st, err);
}

VlStatus vl_efi_vars_path(const VlLibrary *lib, const char *uuid, char *buf, size_t size,
                          VlError *err)
{
    char dir[VL_PATH_MAX];
    VlStatus st = vl_bundle_path(lib, uuid, dir, sizeof(dir), err);
    if (st != VL_OK)
        return st;
    int n = snprintf(buf, size, "%s/nvram/efi-vars.fd", dir);
    if (n < 0 || (size_t)n >= size)
        return fail(err, VL_ERR_INVALID, "the UEFI variable store's path is too long");
    return VL_OK;
}

VlStatus vl_vm_set_efi_vars(VlLibrary *lib, int64_t id, const char *path, VlError *err)
{
    err_reset(err);
    if (path && strlen(path) >= VL_PATH_MAX)
        return fail(err, VL_ERR_INVALID, "the UEFI variable store's path is too long");
    VlStatus st = tx_begin(lib, err);
    if (st != VL_OK)
        return st;
    sqlite3_stmt *s = prepare(lib, "UPDATE vms SET efi_vars = ? WHERE id = ?", err, &st);
    if (s) {
        bind_text(s, 1, path ? path : "");
        sqlite3_bind_int64(s, 2, id);
        st = step_done(lib, s, "recording the UEFI variable store", err);
        if (st == VL_OK && sqlite3_changes(lib->db) == 0)
            st = fail(err, VL_ERR_NOT_FOUND, "there is no VM with id %lld", (long long)id);
    }
    return tx_end(lib, st, err);
}

/* Removes a bundle; with keep_disks everything but disks/ and snapshots/. */
static VlStatus bundle_remove(const VlLibrary *lib, const char *uuid, bool keep_disks, VlError *err)
{
    char dir[VL_PATH_MAX];
    VlStatus st = vl_bundle_path(lib, uuid, dir, sizeof(dir), err);
    if (st != VL_OK)
        return st;
    if (!keep_disks)
        return remove_tree(dir, err);
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT ? VL_OK
                               : fail(err, VL_ERR_IO, "cannot open %s: %s", dir, strerror(errno));
    struct dirent *e;
    while (st == VL_OK && (e = readdir(d))) {
        /* Snapshot files are disk images too (overlays of the ones in disks/). */
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") || !strcmp(e->d_name, "disks") ||
            !strcmp(e->d_name, "snapshots"))
            continue;
        char child[VL_PATH_MAX];
        if (snprintf(child, sizeof(child), "%s/%s", dir, e->d_name) >= (int)sizeof(child))
            st = fail(err, VL_ERR_IO, "path too long in %s", dir);
        else
            st = remove_tree(child, err);
    }
    closedir(d);
    return st;
}

VlStatus vl_vm_delete(VlLibrary *lib, int64_t id, bool keep_disks, VlError *err)
{
    err_reset(err);
    VlStatus st = tx_begin(lib, err);
    if (st != VL_OK)
        return st;
    char uuid[37] = "";
    sqlite3_stmt *s = prepare(lib, "DELETE FROM vms WHERE id = ? RETURNING uuid", err, &st);
    if (s) {
        sqlite3_bind_int64(s, 1, id);
        int rc = sqlite3_step(s);
        if (rc == SQLITE_ROW) {
            st = col_text(s, 0, uuid, sizeof(uuid), err);
            rc = sqlite3_step(s);
        }
        if (st == VL_OK && rc != SQLITE_DONE)
            st = db_fail(lib, err, sqlite3_extended_errcode(lib->db), "deleting the VM");
        else if (st == VL_OK && !uuid[0])
            st = fail(err, VL_ERR_NOT_FOUND, "there is no VM with id %lld", (long long)id);
        sqlite3_finalize(s);
    }
    if ((st = tx_end(lib, st, err)) != VL_OK)
        return st;
    /* The rows are gone; a bundle that cannot be removed is reported but not resurrected. */
    VlError ferr;
    err_reset(&ferr);
    if (bundle_remove(lib, uuid, keep_disks, &ferr) != VL_OK)
        return fail(err, VL_ERR_IO, "the VM was deleted, but some of its files remain: %s",
                    ferr.message);
    return VL_OK;
}

/* If path is inside <src_bundle>/<sub>/ ("/disks/"), the file name under it. */
static bool in_bundle_dir(const char *path, const char *src_bundle, const char *sub,
                          const char **rel)
{
    size_t n = strlen(src_bundle), k = strlen(sub);
    if (strncmp(path, src_bundle, n) != 0 || strncmp(path + n, sub, k) != 0)
        return false;
    *rel = path + n + k;
    return **rel && !strchr(*rel, '/') && strcmp(*rel, "..") != 0 && strcmp(*rel, ".") != 0;
}

VlStatus vl_vm_clone(VlLibrary *lib, int64_t id, const char *new_name, int64_t *id_out,
                     VlError *err)
{
    err_reset(err);
    size_t nl = new_name ? strlen(new_name) : 0;
    if (nl == 0 || nl >= VL_NAME_MAX)
        return fail(err, VL_ERR_INVALID, "a VM name must be 1 to %d bytes long", VL_NAME_MAX - 1);
    int64_t other;
    VlStatus st = vl_vm_find(lib, new_name, &other, err);
    if (st == VL_OK)
        return fail(err, VL_ERR_EXISTS, "a VM named \"%s\" already exists", new_name);
    if (st != VL_ERR_NOT_FOUND)
        return st;
    err_reset(err);
    VlVm vm;
    if ((st = vl_vm_get(lib, id, &vm, err)) != VL_OK)
        return st;
    /*
     * Disk images are copied before the write transaction, so that a copy of many
     * gigabytes does not hold the library's write lock; a failure removes the new bundle.
     */
    char uuid[37], src_dir[VL_PATH_MAX], dst_dir[VL_PATH_MAX];
    int64_t new_id = 0;
    bool made_bundle = false;
    copy_str(vm.name, sizeof(vm.name), new_name);
    if ((st = make_uuid(uuid, err)) == VL_OK)
        st = vl_bundle_path(lib, vm.uuid, src_dir, sizeof(src_dir), err);
    if (st == VL_OK)
        st = vl_bundle_path(lib, uuid, dst_dir, sizeof(dst_dir), err);
    if (st == VL_OK && (st = bundle_create(lib, uuid, err)) == VL_OK)
        made_bundle = true;
    /* A clone is a new machine on the network: it gets its own MAC addresses. */
    for (size_t i = 0; st == VL_OK && i < vm.n_nics; i++)
        vm.nics[i].mac[0] = '\0';
    for (size_t i = 0; st == VL_OK && i < vm.n_drives; i++) {
        const char *rel;
        if (!in_bundle_dir(vm.drives[i].path, src_dir, "/disks/", &rel))
            continue;
        char dst[VL_PATH_MAX];
        if (snprintf(dst, sizeof(dst), "%s/disks/%s", dst_dir, rel) >= (int)sizeof(dst)) {
            st = fail(err, VL_ERR_INVALID, "the cloned disk path is too long");
            break;
        }
        if ((st = copy_file(vm.drives[i].path, dst, err)) == VL_OK)
            copy_str(vm.drives[i].path, sizeof(vm.drives[i].path), dst);
    }
    /* The variable store holds the boot entries the installed system made: keep them. A
     * store that is missing (never started) leaves the clone to get a fresh one. */
    const char *vrel;
    if (st == VL_OK && vm.efi_vars[0] && in_bundle_dir(vm.efi_vars, src_dir, "/nvram/", &vrel)) {
        char dst[VL_PATH_MAX];
        if (snprintf(dst, sizeof(dst), "%s/nvram/%s", dst_dir, vrel) >= (int)sizeof(dst))
            st = fail(err, VL_ERR_INVALID, "the cloned UEFI variable store's path is too long");
        else if (access(vm.efi_vars, F_OK) != 0)
            copy_str(vm.efi_vars, sizeof(vm.efi_vars), dst);
        else if ((st = copy_file(vm.efi_vars, dst, err)) == VL_OK)
            copy_str(vm.efi_vars, sizeof(vm.efi_vars), dst);
    }
    if (st == VL_OK && (st = tx_begin(lib, err)) == VL_OK) {
        st = insert_vm(lib, &vm, uuid, &new_id, err);
        st = tx_end(lib, st, err);
    }
    if (st != VL_OK && made_bundle)
        remove_tree(dst_dir, NULL);
    vl_vm_clear(&vm);
    if (st == VL_OK && id_out)
        *id_out = new_id;
    return st;
}

/* ---- child-row calls ---- */

/* Runs write() in one transaction that also bumps the owning VM's modified time. */
static VlStatus child_write(VlLibrary *lib, int64_t vm_id,
                            VlStatus (*write)(VlLibrary *, const void *, VlError *),
                            const void *arg, VlError *err)
{
    VlStatus st = tx_begin(lib, err);
    if (st != VL_OK)
        return st;
    st = touch_vm(lib, vm_id, err);
    if (st == VL_OK)
        st = write(lib, arg, err);
    return tx_end(lib, st, err);
}

struct add_args {
    int64_t parent;
    const void *row;
    int64_t *id_out;
    VlStatus (*insert)(VlLibrary *, int64_t, const void *, int64_t *, VlError *);
};

static VlStatus do_add(VlLibrary *lib, const void *arg, VlError *err)
{
    const struct add_args *a = arg;
    return a->insert(lib, a->parent, a->row, a->id_out, err);
}

static VlStatus ins_drive(VlLibrary *l, int64_t p, const void *r, int64_t *id, VlError *e)
{
    return insert_drive(l, p, r, id, e);
}
static VlStatus ins_media(VlLibrary *l, int64_t p, const void *r, int64_t *id, VlError *e)
{
    return insert_media(l, p, r, id, e);
}
static VlStatus ins_nic(VlLibrary *l, int64_t p, const void *r, int64_t *id, VlError *e)
{
    return insert_nic(l, p, r, id, e);
}
static VlStatus ins_forward(VlLibrary *l, int64_t p, const void *r, int64_t *id, VlError *e)
{
    return insert_forward(l, p, r, id, e);
}
static VlStatus ins_share(VlLibrary *l, int64_t p, const void *r, int64_t *id, VlError *e)
{
    return insert_share(l, p, r, id, e);
}

static VlStatus
add_child(VlLibrary *lib, int64_t vm_id, int64_t parent, const void *row, int64_t *id_out,
          VlStatus (*insert)(VlLibrary *, int64_t, const void *, int64_t *, VlError *),
          VlError *err)
{
    struct add_args a = { parent, row, id_out, insert };
    return child_write(lib, vm_id, do_add, &a, err);
}

VlStatus vl_drive_add(VlLibrary *lib, int64_t vm_id, const VlDrive *d, int64_t *id_out,
                      VlError *err)
{
    err_reset(err);
    return add_child(lib, vm_id, vm_id, d, id_out, ins_drive, err);
}

VlStatus vl_media_add(VlLibrary *lib, int64_t vm_id, const VlMedia *m, int64_t *id_out,
                      VlError *err)
{
    err_reset(err);
    return add_child(lib, vm_id, vm_id, m, id_out, ins_media, err);
}

VlStatus vl_nic_add(VlLibrary *lib, int64_t vm_id, const VlNic *n, int64_t *id_out, VlError *err)
{
    err_reset(err);
    return add_child(lib, vm_id, vm_id, n, id_out, ins_nic, err);
}

VlStatus vl_share_add(VlLibrary *lib, int64_t vm_id, const VlShare *s, int64_t *id_out,
                      VlError *err)
{
    err_reset(err);
    return add_child(lib, vm_id, vm_id, s, id_out, ins_share, err);
}

VlStatus vl_forward_add(VlLibrary *lib, int64_t nic_id, const VlForward *f, int64_t *id_out,
                        VlError *err)
{
    err_reset(err);
    int64_t vm_id, user_mode;
    VlStatus st = owner_of(lib, "SELECT vm_id FROM nics WHERE id = ?", nic_id, "network adapter",
                           &vm_id, err);
    if (st == VL_OK)
        st = owner_of(lib, "SELECT mode = 'user' FROM nics WHERE id = ?", nic_id, "network adapter",
                      &user_mode, err);
    if (st != VL_OK)
        return st;
    if (!user_mode)
        return fail(err, VL_ERR_INVALID, "port forwards need a NAT (user) adapter");
    return add_child(lib, vm_id, nic_id, f, id_out, ins_forward, err);
}

struct row_args {
    const char *sql; /* statement taking the row id as its last parameter */
    int64_t id;
    const char *what;
    const char *kind;
    void (*bind)(sqlite3_stmt *, const void *);
    const void *row;
};

static VlStatus do_row(VlLibrary *lib, const void *arg, VlError *err)
{
    const struct row_args *a = arg;
    VlStatus st;
    sqlite3_stmt *s = prepare(lib, a->sql, err, &st);
    if (!s)
        return st;
    if (a->bind)
        a->bind(s, a->row);
    sqlite3_bind_int64(s, sqlite3_bind_parameter_count(s), a->id);
    st = step_done(lib, s, a->what, err);
    if (st == VL_OK && sqlite3_changes(lib->db) == 0)
        st = fail(err, VL_ERR_NOT_FOUND, "there is no %s with id %lld", a->kind, (long long)a->id);
    return st;
}

static VlStatus row_write(VlLibrary *lib, const char *owner_sql, struct row_args *a, VlError *err)
{
    int64_t vm_id;
    VlStatus st = owner_of(lib, owner_sql, a->id, a->kind, &vm_id, err);
    if (st != VL_OK)
        return st;
    return child_write(lib, vm_id, do_row, a, err);
}

#define DRIVE_OWNER "SELECT vm_id FROM drives WHERE id = ?"
#define MEDIA_OWNER "SELECT vm_id FROM media WHERE id = ?"
#define NIC_OWNER   "SELECT vm_id FROM nics WHERE id = ?"
#define SHARE_OWNER "SELECT vm_id FROM shares WHERE id = ?"
#define FORWARD_OWNER                                                                           \
    "SELECT nics.vm_id FROM forwards JOIN nics ON nics.id = forwards.nic_id WHERE forwards.id " \
    "= ?"

static void bind_drive(sqlite3_stmt *s, const void *row)
{
    const VlDrive *d = row;
    bind_text(s, 1, d->path);
    bind_text(s, 2, d->format);
    sqlite3_bind_int(s, 3, d->readonly);
    sqlite3_bind_int(s, 4, d->position);
}

VlStatus vl_drive_update(VlLibrary *lib, const VlDrive *d, VlError *err)
{
    err_reset(err);
    VlStatus st = validate_drive(d, err);
    if (st != VL_OK)
        return st;
    struct row_args a = {
        "UPDATE drives SET path = ?, format = ?, readonly = ?, position = ? WHERE id = ?",
        d->id,
        "changing the drive",
        "drive",
        bind_drive,
        d
    };
    return row_write(lib, DRIVE_OWNER, &a, err);
}

VlStatus vl_drive_remove(VlLibrary *lib, int64_t drive_id, VlError *err)
{
    err_reset(err);
    struct row_args a = {
        "DELETE FROM drives WHERE id = ?", drive_id, "removing the drive", "drive", NULL, NULL
    };
    return row_write(lib, DRIVE_OWNER, &a, err);
}

static void bind_path(sqlite3_stmt *s, const void *row)
{
    bind_text(s, 1, row);
}

VlStatus vl_media_set_path(VlLibrary *lib, int64_t media_id, const char *path, VlError *err)
{
    err_reset(err);
    if (path && strlen(path) >= VL_PATH_MAX)
        return fail(err, VL_ERR_INVALID, "the medium's path is too long");
    struct row_args a = { "UPDATE media SET path = ? WHERE id = ?",
                          media_id,
                          path && path[0] ? "inserting the medium" : "ejecting the medium",
                          "media slot",
                          bind_path,
                          path ? path : "" };
    return row_write(lib, MEDIA_OWNER, &a, err);
}

VlStatus vl_media_remove(VlLibrary *lib, int64_t media_id, VlError *err)
{
    err_reset(err);
    struct row_args a = { "DELETE FROM media WHERE id = ?",
                          media_id,
                          "removing the media slot",
                          "media slot",
                          NULL,
                          NULL };
    return row_write(lib, MEDIA_OWNER, &a, err);
}

static void bind_nic(sqlite3_stmt *s, const void *row)
{
    const VlNic *n = row;
    sqlite3_bind_int(s, 1, n->position);
    bind_text(s, 2, vl_net_mode_name(n->mode));
    bind_text(s, 3, n->ifname);
    bind_text(s, 4, n->mac);
}

VlStatus vl_nic_update(VlLibrary *lib, const VlNic *n, VlError *err)
{
    err_reset(err);
    VlStatus st = validate_nic(n, err);
    if (st != VL_OK)
        return st;
    if (!n->mac[0])
        return fail(err, VL_ERR_INVALID, "a network adapter needs a MAC address");
    struct row_args a = { "UPDATE nics SET position = ?, mode = ?, ifname = ?, mac = ?"
                          " WHERE id = ?",
                          n->id,
                          "changing the network adapter",
                          "network adapter",
                          bind_nic,
                          n };
    return row_write(lib, NIC_OWNER, &a, err);
}

VlStatus vl_nic_remove(VlLibrary *lib, int64_t nic_id, VlError *err)
{
    err_reset(err);
    struct row_args a = { "DELETE FROM nics WHERE id = ?",
                          nic_id,
                          "removing the network adapter",
                          "network adapter",
                          NULL,
                          NULL };
    return row_write(lib, NIC_OWNER, &a, err);
}

VlStatus vl_forward_remove(VlLibrary *lib, int64_t forward_id, VlError *err)
{
    err_reset(err);
    struct row_args a = { "DELETE FROM forwards WHERE id = ?",
                          forward_id,
                          "removing the port forward",
                          "port forward",
                          NULL,
                          NULL };
    return row_write(lib, FORWARD_OWNER, &a, err);
}

static void bind_share(sqlite3_stmt *s, const void *row)
{
    const VlShare *sh = row;
    bind_text(s, 1, sh->path);
    bind_text(s, 2, sh->tag);
    sqlite3_bind_int(s, 3, sh->readonly);
}

VlStatus vl_share_update(VlLibrary *lib, const VlShare *sh, VlError *err)
{
    err_reset(err);
    VlStatus st = validate_share(sh, err);
    if (st != VL_OK)
        return st;
    struct row_args a = { "UPDATE shares SET path = ?, tag = ?, readonly = ? WHERE id = ?",
                          sh->id,
                          "changing the shared folder",
                          "shared folder",
                          bind_share,
                          sh };
    st = row_write(lib, SHARE_OWNER, &a, err);
    if (st == VL_ERR_EXISTS)
        st = fail(err, VL_ERR_EXISTS, "this VM already has a shared folder with the tag '%s'",
                  sh->tag);
    return st;
}

VlStatus vl_share_remove(VlLibrary *lib, int64_t share_id, VlError *err)
{
    err_reset(err);
    struct row_args a = { "DELETE FROM shares WHERE id = ?",
                          share_id,
                          "removing the shared folder",
                          "shared folder",
                          NULL,
                          NULL };
    return row_write(lib, SHARE_OWNER, &a, err);
}

struct display_args {
    int64_t vm_id;
    const VlDisplay *d;
};

static VlStatus do_display(VlLibrary *lib, const void *arg, VlError *err)
{
    const struct display_args *a = arg;
    return write_display(lib, a->vm_id, a->d, err);
}

VlStatus vl_display_set(VlLibrary *lib, int64_t vm_id, const VlDisplay *d, VlError *err)
{
    err_reset(err);
    if (d->width < 320 || d->width > 16384 || d->height < 200 || d->height > 16384)
        return fail(err, VL_ERR_INVALID,
                    "display size %dx%d is out of range (320x200 to 16384x16384)", d->width,
                    d->height);
    if (!vl_gl_name(d->gl))
        return fail(err, VL_ERR_INVALID, "unknown GL setting %d", (int)d->gl);
    struct display_args a = { vm_id, d };
    return child_write(lib, vm_id, do_display, &a, err);
}
