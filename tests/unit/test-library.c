/* SPDX-License-Identifier: MIT */
/*
 * The VM library (app/library): schema migrations from every earlier version, CRUD of
 * every table, constraint failures, rollback, corrupt / newer / locked files, VM bundle
 * directories and cloning. Every test works in its own temporary directory.
 */
#include "check.h"
#include "library-private.h"
#include "library.h"
#include "tmpdir.h"

#include <dirent.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char g_tmp[256];

static void tmp_setup(const char *name)
{
    char prefix[96];
    snprintf(prefix, sizeof(prefix), "vessel-test-library-%s", name);
    if (!test_mkdtemp(g_tmp, sizeof(g_tmp), prefix)) {
        perror("mkdtemp");
        exit(1);
    }
}

static void tmp_teardown(void)
{
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g_tmp);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", g_tmp);
}

static void path_in_tmp(char *buf, size_t size, const char *rel)
{
    snprintf(buf, size, "%s/%s", g_tmp, rel);
}

static bool exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0;
}

static void write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, n, f) != n) {
        perror(path);
        exit(1);
    }
    fclose(f);
}

/* The whole file in a malloc'd buffer (NULL if absent). */
static char *read_all(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)len + 1);
    *n = fread(buf, 1, (size_t)len, f);
    buf[*n] = '\0';
    fclose(f);
    return buf;
}

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

/* Files next to the database whose name starts with prefix (backups). */
static int count_prefixed(const char *prefix)
{
    DIR *d = opendir(g_tmp);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strncmp(e->d_name, prefix, strlen(prefix)) == 0 && !strstr(e->d_name, "-wal"))
            n++;
    closedir(d);
    return n;
}

static sqlite3 *raw_open(const char *path)
{
    sqlite3 *db;
    if (sqlite3_open(path, &db) != SQLITE_OK) {
        fprintf(stderr, "raw open %s: %s\n", path, sqlite3_errmsg(db));
        exit(1);
    }
    return db;
}

static int raw_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *s;
    int v = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_int(s, 0);
    else
        fprintf(stderr, "raw query failed: %s: %s\n", sql, sqlite3_errmsg(db));
    sqlite3_finalize(s);
    return v;
}

static int raw_exec(sqlite3 *db, const char *sql)
{
    sqlite3_exec(db, sql, NULL, NULL, NULL);
    return sqlite3_extended_errcode(db);
}

static VlLibrary *open_ok(const char *path)
{
    VlLibrary *lib = NULL;
    VlError err;
    VlStatus st = vl_open(path, &lib, &err);
    CHECK_EQ(st, VL_OK);
    if (st != VL_OK) {
        fprintf(stderr, "vl_open: %s\n", err.message);
        exit(1);
    }
    return lib;
}

/* A VM with one of every child row. */
static void full_vm(VlVm *vm, const char *name)
{
    vl_vm_init(vm);
    snprintf(vm->name, sizeof(vm->name), "%s", name);
    snprintf(vm->arch, sizeof(vm->arch), "aarch64");
    snprintf(vm->os_kind, sizeof(vm->os_kind), "bsd");
    vm->memory_bytes = 2048ull << 20;
    vm->vcpus = 4;
    vm->accel = VL_ACCEL_JIT;
    vm->jit_threshold = 200;
    vm->pin = VL_PIN_LIST;
    snprintf(vm->pin_cpus, sizeof(vm->pin_cpus), "0-3,6");
    snprintf(vm->firmware, sizeof(vm->firmware), "/usr/share/AAVMF/AAVMF_CODE.fd");
    snprintf(vm->efi_vars, sizeof(vm->efi_vars), "/nvram/efi-vars.fd");
    vm->boot = VL_BOOT_KERNEL;
    snprintf(vm->kernel, sizeof(vm->kernel), "/boot/Image");
    snprintf(vm->initrd, sizeof(vm->initrd), "/boot/initrd.img");
    snprintf(vm->cmdline, sizeof(vm->cmdline), "console=ttyAMA0 root=/dev/vda");
    VlDrive *d = vl_vm_add_drive(vm);
    snprintf(d->path, sizeof(d->path), "/images/root.qcow2");
    d = vl_vm_add_drive(vm);
    snprintf(d->path, sizeof(d->path), "/images/data.img");
    snprintf(d->format, sizeof(d->format), "raw");
    d->readonly = true;
    VlMedia *m = vl_vm_add_media(vm);
    snprintf(m->path, sizeof(m->path), "/isos/install.iso");
    VlNic *n = vl_vm_add_nic(vm);
    snprintf(n->mac, sizeof(n->mac), "52:54:00:aa:bb:cc");
    VlForward *f = vl_nic_add_forward(n);
    f->host_port = 2222;
    f->guest_port = 22;
    f = vl_nic_add_forward(n);
    snprintf(f->proto, sizeof(f->proto), "udp");
    snprintf(f->host_addr, sizeof(f->host_addr), "127.0.0.1");
    f->host_port = 5353;
    f->guest_port = 53;
    n = vl_vm_add_nic(vm);
    n->mode = VL_NET_BRIDGE;
    snprintf(n->ifname, sizeof(n->ifname), "tap0");
    VlShare *s = vl_vm_add_share(vm);
    snprintf(s->path, sizeof(s->path), "/home/me/shared");
    snprintf(s->tag, sizeof(s->tag), "hostshare");
    s = vl_vm_add_share(vm);
    snprintf(s->path, sizeof(s->path), "/home/me/docs");
    snprintf(s->tag, sizeof(s->tag), "docs");
    s->readonly = true;
    vm->display.width = 1920;
    vm->display.height = 1080;
    vm->display.scale_to_fit = false;
    vm->display.gl = VL_GL_OFF;
}

/* Everything a user set survives the round trip (ids and generated fields aside). */
static void check_same_settings(const VlVm *a, const VlVm *b)
{
    CHECK(strcmp(a->name, b->name) == 0);
    CHECK(strcmp(a->arch, b->arch) == 0);
    CHECK(strcmp(a->os_kind, b->os_kind) == 0);
    CHECK_EQ(a->memory_bytes, b->memory_bytes);
    CHECK_EQ(a->vcpus, b->vcpus);
    CHECK_EQ(a->accel, b->accel);
    CHECK_EQ(a->jit_threshold, b->jit_threshold);
    CHECK_EQ(a->pin, b->pin);
    CHECK(strcmp(a->pin_cpus, b->pin_cpus) == 0);
    CHECK(strcmp(a->firmware, b->firmware) == 0);
    CHECK(strcmp(a->efi_vars, b->efi_vars) == 0);
    CHECK_EQ(a->boot, b->boot);
    CHECK(strcmp(a->kernel, b->kernel) == 0);
    CHECK(strcmp(a->initrd, b->initrd) == 0);
    CHECK(strcmp(a->cmdline, b->cmdline) == 0);
    CHECK_EQ(a->n_drives, b->n_drives);
    for (size_t i = 0; i < a->n_drives && i < b->n_drives; i++) {
        CHECK(strcmp(a->drives[i].format, b->drives[i].format) == 0);
        CHECK_EQ(a->drives[i].readonly, b->drives[i].readonly);
        CHECK_EQ(a->drives[i].position, b->drives[i].position);
    }
    CHECK_EQ(a->n_media, b->n_media);
    for (size_t i = 0; i < a->n_media && i < b->n_media; i++) {
        CHECK_EQ(a->media[i].slot, b->media[i].slot);
        CHECK(strcmp(a->media[i].path, b->media[i].path) == 0);
    }
    CHECK_EQ(a->n_nics, b->n_nics);
    for (size_t i = 0; i < a->n_nics && i < b->n_nics; i++) {
        CHECK_EQ(a->nics[i].mode, b->nics[i].mode);
        CHECK_EQ(a->nics[i].position, b->nics[i].position);
        CHECK(strcmp(a->nics[i].ifname, b->nics[i].ifname) == 0);
        CHECK_EQ(a->nics[i].n_forwards, b->nics[i].n_forwards);
        for (size_t j = 0; j < a->nics[i].n_forwards && j < b->nics[i].n_forwards; j++) {
            const VlForward *x = &a->nics[i].forwards[j], *y = &b->nics[i].forwards[j];
            CHECK(strcmp(x->proto, y->proto) == 0);
            CHECK(strcmp(x->host_addr, y->host_addr) == 0);
            CHECK_EQ(x->host_port, y->host_port);
            CHECK_EQ(x->guest_port, y->guest_port);
        }
    }
    CHECK_EQ(a->n_shares, b->n_shares);
    for (size_t i = 0; i < a->n_shares && i < b->n_shares; i++) {
        CHECK(strcmp(a->shares[i].path, b->shares[i].path) == 0);
        CHECK(strcmp(a->shares[i].tag, b->shares[i].tag) == 0);
        CHECK_EQ(a->shares[i].readonly, b->shares[i].readonly);
    }
    CHECK_EQ(a->display.width, b->display.width);
    CHECK_EQ(a->display.height, b->display.height);
    CHECK_EQ(a->display.scale_to_fit, b->display.scale_to_fit);
    CHECK_EQ(a->display.gl, b->display.gl);
}

static void test_default_path(void)
{
    char buf[VL_PATH_MAX];
    VlError err;
    setenv("XDG_DATA_HOME", "/data/home", 1);
    CHECK_EQ(vl_default_path(buf, sizeof(buf), &err), VL_OK);
    CHECK(strcmp(buf, "/data/home/vessel/library.db") == 0);
    unsetenv("XDG_DATA_HOME");
    setenv("HOME", "/home/someone", 1);
    CHECK_EQ(vl_default_path(buf, sizeof(buf), &err), VL_OK);
    CHECK(strcmp(buf, "/home/someone/.local/share/vessel/library.db") == 0);
    /* A relative XDG_DATA_HOME is ignored, as the XDG spec says. */
    setenv("XDG_DATA_HOME", "relative", 1);
    CHECK_EQ(vl_default_path(buf, sizeof(buf), &err), VL_OK);
    CHECK(strcmp(buf, "/home/someone/.local/share/vessel/library.db") == 0);

    /* vl_open(NULL) creates the default library (and its directories). */
    tmp_setup("default");
    setenv("XDG_DATA_HOME", g_tmp, 1);
    VlLibrary *lib = open_ok(NULL);
    char expect[VL_PATH_MAX];
    path_in_tmp(expect, sizeof(expect), "vessel/library.db");
    CHECK(strcmp(vl_path(lib), expect) == 0);
    CHECK(exists(expect));
    vl_close(lib);
    unsetenv("XDG_DATA_HOME");
    tmp_teardown();
}

static void test_fresh_open(void)
{
    tmp_setup("fresh");
    char path[512];
    path_in_tmp(path, sizeof(path), "sub/dir/library.db");
    VlLibrary *lib = open_ok(path);
    CHECK_EQ(vl_schema_version(lib), VL_SCHEMA_VERSION);
    vl_close(lib);
    sqlite3 *db = raw_open(path);
    CHECK_EQ(raw_int(db, "PRAGMA user_version"), VL_SCHEMA_VERSION);
    /* WAL is persistent in the file. */
    sqlite3_stmt *s;
    sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &s, NULL);
    CHECK(sqlite3_step(s) == SQLITE_ROW &&
          strcmp((const char *)sqlite3_column_text(s, 0), "wal") == 0);
    sqlite3_finalize(s);
    sqlite3_close(db);
    /* Reopening an up-to-date library changes nothing. */
    lib = open_ok(path);
    CHECK_EQ(vl_schema_version(lib), VL_SCHEMA_VERSION);
    vl_close(lib);
    tmp_teardown();
}

static void test_crud(void)
{
    tmp_setup("crud");
    char path[512];
    path_in_tmp(path, sizeof(path), "library.db");
    VlLibrary *lib = open_ok(path);
    VlError err;
    VlVm vm, got;
    full_vm(&vm, "Debian arm64");
    int64_t id = 0;
    char uuid[37];
    CHECK_EQ(vl_vm_create(lib, &vm, &id, uuid, &err), VL_OK);
    CHECK(id > 0);
    CHECK_EQ(strlen(uuid), 36);
    CHECK_EQ(uuid[14], '4');

    CHECK_EQ(vl_vm_get(lib, id, &got, &err), VL_OK);
    check_same_settings(&vm, &got);
    CHECK(strcmp(got.uuid, uuid) == 0);
    CHECK(got.created > 0 && got.modified >= got.created);
    CHECK(strcmp(got.nics[0].mac, "52:54:00:aa:bb:cc") == 0);
    /* An empty MAC was generated, unicast and locally administered range. */
    CHECK(strncmp(got.nics[1].mac, "52:54:00:", 9) == 0 && strlen(got.nics[1].mac) == 17);
    int64_t found = 0;
    CHECK_EQ(vl_vm_find(lib, "Debian arm64", &found, &err), VL_OK);
    CHECK_EQ(found, id);
    CHECK_EQ(vl_vm_find(lib, "nope", &found, &err), VL_ERR_NOT_FOUND);

    /* A second, minimal VM, and the list sorted by name. */
    VlVm small;
    vl_vm_init(&small);
    snprintf(small.name, sizeof(small.name), "alpine");
    int64_t id2;
    CHECK_EQ(vl_vm_create(lib, &small, &id2, NULL, &err), VL_OK);
    VlVm *list;
    size_t n;
    CHECK_EQ(vl_vm_list(lib, &list, &n, &err), VL_OK);
    CHECK_EQ(n, 2);
    if (n == 2) {
        CHECK(strcmp(list[0].name, "alpine") == 0);
        CHECK(strcmp(list[1].name, "Debian arm64") == 0);
        check_same_settings(&vm, &list[1]);
        CHECK_EQ(list[0].display.width, 1024);
        CHECK_EQ(list[0].n_drives, 0);
    }
    vl_vm_list_free(list, n);

    /* Update the VM's own settings and display. */
    got.memory_bytes = 4096ull << 20;
    got.vcpus = 8;
    got.accel = VL_ACCEL_INTERPRETER;
    got.jit_threshold = 7;
    got.pin = VL_PIN_PERFORMANCE;
    got.boot = VL_BOOT_ISO;
    got.display.gl = VL_GL_ON;
    got.display.width = 800;
    got.display.height = 600;
    CHECK_EQ(vl_vm_update(lib, &got, &err), VL_OK);
    VlVm again;
    CHECK_EQ(vl_vm_get(lib, id, &again, &err), VL_OK);
    CHECK_EQ(again.memory_bytes, 4096ull << 20);
    CHECK_EQ(again.vcpus, 8);
    CHECK_EQ(again.accel, VL_ACCEL_INTERPRETER);
    CHECK_EQ(again.jit_threshold, 7);
    CHECK_EQ(again.pin, VL_PIN_PERFORMANCE);
    CHECK(again.pin_cpus[0] == '\0'); /* the list is only kept for VL_PIN_LIST */
    CHECK_EQ(again.boot, VL_BOOT_ISO);
    CHECK_EQ(again.display.gl, VL_GL_ON);
    CHECK_EQ(again.display.width, 800);
    CHECK_EQ(again.n_drives, 2); /* children untouched */
    vl_vm_clear(&again);

    /* Rename. */
    CHECK_EQ(vl_vm_rename(lib, id, "Debian", &err), VL_OK);
    CHECK_EQ(vl_vm_find(lib, "Debian", &found, &err), VL_OK);
    CHECK_EQ(found, id);
    CHECK_EQ(vl_vm_rename(lib, 9999, "x", &err), VL_ERR_NOT_FOUND);

    /* Drives. */
    VlDrive d = { 0 };
    snprintf(d.path, sizeof(d.path), "/images/third.qcow2");
    snprintf(d.format, sizeof(d.format), "qcow2");
    d.position = 5;
    int64_t did;
    CHECK_EQ(vl_drive_add(lib, id, &d, &did, &err), VL_OK);
    d.id = did;
    d.readonly = true;
    snprintf(d.format, sizeof(d.format), "raw");
    CHECK_EQ(vl_drive_update(lib, &d, &err), VL_OK);
    CHECK_EQ(vl_vm_get(lib, id, &again, &err), VL_OK);
    CHECK_EQ(again.n_drives, 3);
    if (again.n_drives == 3) {
        CHECK_EQ(again.drives[2].id, did);
        CHECK(again.drives[2].readonly);
        CHECK(strcmp(again.drives[2].format, "raw") == 0);
    }
    vl_vm_clear(&again);
    CHECK_EQ(vl_drive_remove(lib, got.drives[0].id, &err), VL_OK);
    CHECK_EQ(vl_drive_remove(lib, got.drives[0].id, &err), VL_ERR_NOT_FOUND);
    CHECK_EQ(vl_drive_add(lib, 424242, &d, NULL, &err), VL_ERR_NOT_FOUND);

    /* Media: eject, insert, add a slot, remove it. */
    int64_t mid = got.media[0].id;
    CHECK_EQ(vl_media_set_path(lib, mid, NULL, &err), VL_OK);
    CHECK_EQ(vl_vm_get(lib, id, &again, &err), VL_OK);
    CHECK(again.n_media == 1 && again.media[0].path[0] == '\0');
    vl_vm_clear(&again);
    CHECK_EQ(vl_media_set_path(lib, mid, "/isos/other.iso", &err), VL_OK);
    VlMedia m = { .slot = 1 };
    int64_t mid2;
    CHECK_EQ(vl_media_add(lib, id, &m, &mid2, &err), VL_OK);
    CHECK_EQ(vl_vm_get(lib, id, &again, &err), VL_OK);
    CHECK_EQ(again.n_media, 2);
    if (again.n_media == 2) {
        CHECK(strcmp(again.media[0].path, "/isos/other.iso") == 0);
        CHECK_EQ(again.media[1].slot, 1);
    }
    vl_vm_clear(&again);
    CHECK_EQ(vl_media_remove(lib, mid2, &err), VL_OK);

    /* NICs and forwards. */
    VlNic nic = { .position = 3, .mode = VL_NET_USER };
    int64_t nid;
    CHECK_EQ(vl_nic_add(lib, id, &nic, &nid, &err), VL_OK);
    VlForward fw = { .proto = "tcp", .host_port = 8080, .guest_port = 80 };
    int64_t fid;
    CHECK_EQ(vl_forward_add(lib, nid, &fw, &fid, &err), VL_OK);
    /* Forwards only on NAT adapters. */
    CHECK_EQ(vl_forward_add(lib, got.nics[1].id, &fw, NULL, &err), VL_ERR_INVALID);
    CHECK_EQ(vl_vm_get(lib, id, &again, &err), VL_OK);
    CHECK_EQ(again.n_nics, 3);
    if (again.n_nics == 3) {
        CHECK_EQ(again.nics[2].id, nid);
        CHECK_EQ(again.nics[2].n_forwards, 1);
        if (again.nics[2].n_forwards == 1)
            CHECK_EQ(again.nics[2].forwards[0].host_port, 8080);
        VlNic upd = again.nics[2];
        upd.mode = VL_NET_NONE;
        upd.n_forwards = 0;
        snprintf(upd.mac, sizeof(upd.mac), "52:54:00:01:02:03");
        CHECK_EQ(vl_nic_update(lib, &upd, &err), VL_OK);
    }
    vl_vm_clear(&again);
    CHECK_EQ(vl_forward_remove(lib, fid, &err), VL_OK);
    CHECK_EQ(vl_forward_remove(lib, fid, &err), VL_ERR_NOT_FOUND);
    CHECK_EQ(vl_nic_remove(lib, got.nics[0].id, &err), VL_OK); /* cascades its 2 forwards */
    CHECK_EQ(vl_vm_get(lib, id, &again, &err), VL_OK);
    CHECK_EQ(again.n_nics, 2);
    if (again.n_nics == 2) {
        CHECK_EQ(again.nics[1].mode, VL_NET_NONE);
        CHECK(strcmp(again.nics[1].mac, "52:54:00:01:02:03") == 0);
    }
    vl_vm_clear(&again);

    /* Shares. */
    VlShare sh = { .path = "/srv/data", .tag = "data" };
    int64_t sid;
    CHECK_EQ(vl_share_add(lib, id, &sh, &sid, &err), VL_OK);
    sh.id = sid;
    sh.readonly = true;
    snprintf(sh.tag, sizeof(sh.tag), "data2");
    CHECK_EQ(vl_share_update(lib, &sh, &err), VL_OK);
    CHECK_EQ(vl_share_remove(lib, got.shares[0].id, &err), VL_OK);
    CHECK_EQ(vl_vm_get(lib, id, &again, &err), VL_OK);
    CHECK_EQ(again.n_shares, 2);
    if (again.n_shares == 2) {
        CHECK(strcmp(again.shares[1].tag, "data2") == 0);
        CHECK(again.shares[1].readonly);
    }
    vl_vm_clear(&again);

    /* Display. */
    VlDisplay disp = { .width = 640, .height = 480, .scale_to_fit = true, .gl = VL_GL_AUTO };
    CHECK_EQ(vl_display_set(lib, id, &disp, &err), VL_OK);
    CHECK_EQ(vl_vm_get(lib, id, &again, &err), VL_OK);
    CHECK_EQ(again.display.width, 640);
    CHECK_EQ(again.display.gl, VL_GL_AUTO);
    vl_vm_clear(&again);
    CHECK_EQ(vl_display_set(lib, 9999, &disp, &err), VL_ERR_NOT_FOUND);

    /* Delete cascades every child row (foreign keys are on). */
    CHECK_EQ(vl_vm_delete(lib, id, false, &err), VL_OK);
    CHECK_EQ(vl_vm_get(lib, id, &again, &err), VL_ERR_NOT_FOUND);
    CHECK_EQ(vl_vm_delete(lib, id, false, &err), VL_ERR_NOT_FOUND);
    vl_close(lib);
    sqlite3 *db = raw_open(path);
    CHECK_EQ(raw_int(db, "SELECT count(*) FROM vms"), 1);
    CHECK_EQ(raw_int(db, "SELECT count(*) FROM drives"), 0);
    CHECK_EQ(raw_int(db, "SELECT count(*) FROM media"), 0);
    CHECK_EQ(raw_int(db, "SELECT count(*) FROM nics"), 0);
    CHECK_EQ(raw_int(db, "SELECT count(*) FROM forwards"), 0);
    CHECK_EQ(raw_int(db, "SELECT count(*) FROM shares"), 0);
    CHECK_EQ(raw_int(db, "SELECT count(*) FROM display"), 1);
    sqlite3_close(db);

    vl_vm_clear(&got);
    vl_vm_clear(&vm);
    vl_vm_clear(&small);
    tmp_teardown();
}

static void test_constraints(void)
{
    tmp_setup("constraints");
    char path[512];
    path_in_tmp(path, sizeof(path), "library.db");
    VlLibrary *lib = open_ok(path);
    VlError err;
    VlVm vm;
    full_vm(&vm, "one");
    int64_t id;
    CHECK_EQ(vl_vm_create(lib, &vm, &id, NULL, &err), VL_OK);

    /* Duplicate name: create, rename and update. */
    CHECK_EQ(vl_vm_create(lib, &vm, NULL, NULL, &err), VL_ERR_EXISTS);
    CHECK(strcmp(err.message, "a VM named \"one\" already exists") == 0);
    VlVm two;
    vl_vm_init(&two);
    snprintf(two.name, sizeof(two.name), "two");
    int64_t id2;
    CHECK_EQ(vl_vm_create(lib, &two, &id2, NULL, &err), VL_OK);
    CHECK_EQ(vl_vm_rename(lib, id2, "one", &err), VL_ERR_EXISTS);
    CHECK(strcmp(err.message, "a VM named \"one\" already exists") == 0);
    two.id = id2;
    snprintf(two.name, sizeof(two.name), "one");
    CHECK_EQ(vl_vm_update(lib, &two, &err), VL_ERR_EXISTS);

    /* Bad enums and ranges are refused with a message naming the value. */
    VlVm bad;
    vl_vm_init(&bad);
    snprintf(bad.name, sizeof(bad.name), "bad");
    snprintf(bad.arch, sizeof(bad.arch), "sparc");
    CHECK_EQ(vl_vm_create(lib, &bad, NULL, NULL, &err), VL_ERR_INVALID);
    CHECK(strstr(err.message, "sparc") != NULL);
    vl_vm_init(&bad);
    snprintf(bad.name, sizeof(bad.name), "bad");
    bad.accel = (VlAccel)9;
    CHECK_EQ(vl_vm_create(lib, &bad, NULL, NULL, &err), VL_ERR_INVALID);
    bad.accel = VL_ACCEL_KVM;
    bad.vcpus = 0;
    CHECK_EQ(vl_vm_create(lib, &bad, NULL, NULL, &err), VL_ERR_INVALID);
    bad.vcpus = 1;
    bad.memory_bytes = 1 << 20;
    CHECK_EQ(vl_vm_create(lib, &bad, NULL, NULL, &err), VL_ERR_INVALID);
    bad.memory_bytes = 64 << 20;
    bad.pin = VL_PIN_LIST;
    snprintf(bad.pin_cpus, sizeof(bad.pin_cpus), "0-");
    CHECK_EQ(vl_vm_create(lib, &bad, NULL, NULL, &err), VL_ERR_INVALID);
    snprintf(bad.pin_cpus, sizeof(bad.pin_cpus), "3-1");
    CHECK_EQ(vl_vm_create(lib, &bad, NULL, NULL, &err), VL_ERR_INVALID);
    bad.pin = VL_PIN_NONE;
    bad.boot = VL_BOOT_KERNEL; /* without a kernel */
    CHECK_EQ(vl_vm_create(lib, &bad, NULL, NULL, &err), VL_ERR_INVALID);
    bad.boot = VL_BOOT_DISK;
    bad.name[0] = '\0';
    CHECK_EQ(vl_vm_create(lib, &bad, NULL, NULL, &err), VL_ERR_INVALID);

    /* Child rows: duplicate share tag, bad tag, duplicate drive position, bad MAC... */
    VlShare sh = { .path = "/x", .tag = "hostshare" };
    CHECK_EQ(vl_share_add(lib, id, &sh, NULL, &err), VL_ERR_EXISTS);
    CHECK(strstr(err.message, "hostshare") != NULL);
    CHECK_EQ(vl_share_add(lib, id2, &sh, NULL, &err), VL_OK); /* unique per VM only */
    snprintf(sh.tag, sizeof(sh.tag), "bad tag");
    CHECK_EQ(vl_share_add(lib, id, &sh, NULL, &err), VL_ERR_INVALID);
    VlDrive d = { .path = "/x.img", .format = "raw", .position = 0 };
    CHECK_EQ(vl_drive_add(lib, id, &d, NULL, &err), VL_ERR_EXISTS);
    d.position = 9;
    snprintf(d.format, sizeof(d.format), "vmdk");
    CHECK_EQ(vl_drive_add(lib, id, &d, NULL, &err), VL_ERR_INVALID);
    VlNic nic = { .position = 7, .mode = VL_NET_USER, .mac = "01:00:5e:00:00:01" };
    CHECK_EQ(vl_nic_add(lib, id, &nic, NULL, &err), VL_ERR_INVALID); /* multicast */
    nic.mac[0] = '\0';
    nic.mode = VL_NET_BRIDGE; /* without an interface */
    CHECK_EQ(vl_nic_add(lib, id, &nic, NULL, &err), VL_ERR_INVALID);
    VlForward fw = { .proto = "tcp", .host_port = 2222, .guest_port = 22 };
    VlVm got;
    CHECK_EQ(vl_vm_get(lib, id, &got, &err), VL_OK);
    CHECK_EQ(vl_forward_add(lib, got.nics[0].id, &fw, NULL, &err), VL_ERR_EXISTS);
    fw.host_port = 70000;
    CHECK_EQ(vl_forward_add(lib, got.nics[0].id, &fw, NULL, &err), VL_ERR_INVALID);
    CHECK_EQ(vl_forward_add(lib, 31337, &fw, NULL, &err), VL_ERR_NOT_FOUND);
    VlDisplay disp = { .width = 100, .height = 100 };
    CHECK_EQ(vl_display_set(lib, id, &disp, &err), VL_ERR_INVALID);
    vl_vm_clear(&got);
    vl_close(lib);

    /* The database's own CHECK and FOREIGN KEY constraints, bypassing the C checks. */
    sqlite3 *db = raw_open(path);
    raw_exec(db, "PRAGMA foreign_keys = ON");
    CHECK_EQ(raw_exec(db, "INSERT INTO vms (uuid, name, arch, memory_bytes, vcpus, accel,"
                          " boot_kind, created, modified) VALUES"
                          " ('00000000-0000-4000-8000-000000000000', 'raw', 'riscv64',"
                          " 67108864, 1, 'turbo', 'demo', 0, 0)"),
             SQLITE_CONSTRAINT_CHECK);
    CHECK_EQ(raw_exec(db, "INSERT INTO vms (uuid, name, arch, memory_bytes, vcpus,"
                          " pin_policy, boot_kind, created, modified) VALUES"
                          " ('00000000-0000-4000-8000-000000000000', 'raw', 'riscv64',"
                          " 67108864, 1, 'list', 'demo', 0, 0)"),
             SQLITE_CONSTRAINT_CHECK); /* 'list' without CPUs */
    CHECK_EQ(raw_exec(db, "INSERT INTO nics (vm_id, position, mode, mac) VALUES"
                          " (1, 5, 'user', 'not-a-mac-address')"),
             SQLITE_CONSTRAINT_CHECK);
    CHECK_EQ(raw_exec(db, "INSERT INTO shares (vm_id, path, tag) VALUES (1, '/x', 'a/b')"),
             SQLITE_CONSTRAINT_CHECK);
    CHECK_EQ(raw_exec(db, "INSERT INTO drives (vm_id, path, format, position) VALUES"
                          " (777, '/x', 'raw', 0)"),
             SQLITE_CONSTRAINT_FOREIGNKEY);
    CHECK_EQ(raw_exec(db, "INSERT INTO forwards (nic_id, proto, host_port, guest_port) VALUES"
                          " (777, 'tcp', 1, 1)"),
             SQLITE_CONSTRAINT_FOREIGNKEY);
    CHECK_EQ(raw_exec(db, "INSERT INTO display (vm_id, width, height) VALUES (1, 99999, 768)"),
             SQLITE_CONSTRAINT_CHECK);
    sqlite3_close(db);

    vl_vm_clear(&vm);
    vl_vm_clear(&two);
    vl_vm_clear(&bad);
    tmp_teardown();
}

/* A failure part-way through a write leaves no trace: no rows, no bundle directory. */
static void test_rollback(void)
{
    tmp_setup("rollback");
    char path[512], vms[512];
    path_in_tmp(path, sizeof(path), "library.db");
    path_in_tmp(vms, sizeof(vms), "vms");
    VlLibrary *lib = open_ok(path);
    VlError err;
    VlVm vm;
    full_vm(&vm, "half");
    /* The second share repeats the first one's tag: found only by the database's UNIQUE,
     * after the VM row, drives, media, NICs, forwards and the first share were inserted. */
    snprintf(vm.shares[1].tag, sizeof(vm.shares[1].tag), "hostshare");
    CHECK_EQ(vl_vm_create(lib, &vm, NULL, NULL, &err), VL_ERR_EXISTS);
    CHECK(strstr(err.message, "hostshare") != NULL);
    int64_t id;
    CHECK_EQ(vl_vm_find(lib, "half", &id, &err), VL_ERR_NOT_FOUND);
    CHECK(!exists(vms) || count_entries(vms) == 0);

    /* The same VM without the clash goes in: the failed attempt left nothing in the way. */
    snprintf(vm.shares[1].tag, sizeof(vm.shares[1].tag), "docs");
    CHECK_EQ(vl_vm_create(lib, &vm, &id, NULL, &err), VL_OK);
    CHECK_EQ(count_entries(vms), 1);

    /* A drive clash inside vl_nic_add's forwards rolls back the adapter too. */
    VlNic nic = { .position = 9, .mode = VL_NET_USER };
    VlForward *f = vl_nic_add_forward(&nic);
    f->host_port = 1000;
    f->guest_port = 1;
    f = vl_nic_add_forward(&nic);
    f->host_port = 1000;
    f->guest_port = 2;
    CHECK_EQ(vl_nic_add(lib, id, &nic, NULL, &err), VL_ERR_EXISTS);
    free(nic.forwards);
    vl_close(lib);

    sqlite3 *db = raw_open(path);
    CHECK_EQ(raw_int(db, "SELECT count(*) FROM vms"), 1);
    CHECK_EQ(raw_int(db, "SELECT count(*) FROM drives"), 2);
    CHECK_EQ(raw_int(db, "SELECT count(*) FROM media"), 1);
    CHECK_EQ(raw_int(db, "SELECT count(*) FROM nics"), 2);
    CHECK_EQ(raw_int(db, "SELECT count(*) FROM forwards"), 2);
    CHECK_EQ(raw_int(db, "SELECT count(*) FROM shares"), 2);
    CHECK_EQ(raw_int(db, "SELECT count(*) FROM display"), 1);
    sqlite3_close(db);
    vl_vm_clear(&vm);
    tmp_teardown();
}

/* vl_vm_save: the whole record in one transaction; a clash anywhere changes nothing. */
static void test_save(void)
{
    tmp_setup("save");
    char path[512];
    path_in_tmp(path, sizeof(path), "library.db");
    VlLibrary *lib = open_ok(path);
    VlError err;
    VlVm vm, got, other;
    full_vm(&vm, "saved");
    full_vm(&other, "other");
    int64_t id;
    CHECK_EQ(vl_vm_create(lib, &vm, &id, NULL, &err), VL_OK);
    CHECK_EQ(vl_vm_create(lib, &other, NULL, NULL, &err), VL_OK);
    vl_vm_init(&got);
    CHECK_EQ(vl_vm_get(lib, id, &got, &err), VL_OK);
    char mac[18];
    snprintf(mac, sizeof(mac), "%s", got.nics[0].mac);

    /* Change settings and child rows together: one drive fewer, a new share, a forward. */
    got.memory_bytes = 1024ull << 20;
    got.vcpus = 3;
    got.n_drives = 1;
    VlShare *sh = vl_vm_add_share(&got);
    snprintf(sh->path, sizeof(sh->path), "/srv/new");
    snprintf(sh->tag, sizeof(sh->tag), "newtag");
    VlForward *f = vl_nic_add_forward(&got.nics[0]);
    snprintf(f->proto, sizeof(f->proto), "tcp");
    f->host_port = 8080;
    f->guest_port = 80;
    got.display.width = 1280;
    CHECK_EQ(vl_vm_save(lib, &got, &err), VL_OK);
    VlVm again;
    vl_vm_init(&again);
    CHECK_EQ(vl_vm_get(lib, id, &again, &err), VL_OK);
    CHECK_EQ(again.memory_bytes, 1024ull << 20);
    CHECK_EQ(again.vcpus, 3);
    CHECK_EQ(again.n_drives, 1);
    CHECK_EQ(again.n_shares, vm.n_shares + 1);
    CHECK(!strcmp(again.shares[again.n_shares - 1].tag, "newtag"));
    CHECK_EQ(again.nics[0].n_forwards, vm.nics[0].n_forwards + 1);
    CHECK(!strcmp(again.nics[0].mac, mac));
    CHECK_EQ(again.display.width, 1280);
    CHECK_EQ(again.n_media, vm.n_media);

    /* A duplicate share tag, found by the database after the VM row and the drives were
     * written: nothing of the save remains. */
    VlShare *dup = vl_vm_add_share(&again);
    snprintf(dup->path, sizeof(dup->path), "/srv/dup");
    snprintf(dup->tag, sizeof(dup->tag), "newtag");
    again.vcpus = 7;
    CHECK_EQ(vl_vm_save(lib, &again, &err), VL_ERR_EXISTS);
    /* Renaming onto another VM's name through a save fails the same way. */
    VlVm clash;
    vl_vm_init(&clash);
    CHECK_EQ(vl_vm_get(lib, id, &clash, &err), VL_OK);
    snprintf(clash.name, sizeof(clash.name), "other");
    CHECK_EQ(vl_vm_save(lib, &clash, &err), VL_ERR_EXISTS);
    VlVm after;
    vl_vm_init(&after);
    CHECK_EQ(vl_vm_get(lib, id, &after, &err), VL_OK);
    CHECK_EQ(after.vcpus, 3);
    CHECK(!strcmp(after.name, "saved"));
    CHECK_EQ(after.n_shares, vm.n_shares + 1);
    CHECK_EQ(after.n_drives, 1);
    /* An unknown id. */
    after.id = 999999;
    CHECK_EQ(vl_vm_save(lib, &after, &err), VL_ERR_NOT_FOUND);

    vl_vm_clear(&vm);
    vl_vm_clear(&other);
    vl_vm_clear(&got);
    vl_vm_clear(&again);
    vl_vm_clear(&clash);
    vl_vm_clear(&after);
    vl_close(lib);
    tmp_teardown();
}

/* A real version-1 database, with data, written by the v1 SQL; opened by today's code. */
static void test_migrate_v1(void)
{
    tmp_setup("migrate");
    char path[512];
    path_in_tmp(path, sizeof(path), "library.db");
    sqlite3 *db = raw_open(path);
    CHECK_EQ(raw_exec(db, vl_migration_1), SQLITE_OK);
    CHECK_EQ(raw_exec(db, "PRAGMA user_version = 1"), SQLITE_OK);
    CHECK_EQ(raw_exec(db, "INSERT INTO vms (id, uuid, name, arch, os_kind, memory_mib, vcpus,"
                          " accel, pin_policy, pin_cpus, boot_kind, kernel, cmdline, created,"
                          " modified) VALUES (1, '11111111-2222-4333-8444-555555555555',"
                          " 'old vm', 'x86_64', 'windows', 768, 2, 'kvm', 'list', '1,3',"
                          " 'kernel', '/k', 'quiet', 100, 200),"
                          " (2, '11111111-2222-4333-8444-666666666666', 'tiny', 'riscv64',"
                          " 'linux', 16, 1, 'auto', 'auto', '', 'demo', '', '', 300, 300)"),
             SQLITE_OK);
    CHECK_EQ(raw_exec(db, "INSERT INTO drives (vm_id, path, format, readonly, position) VALUES"
                          " (1, '/d.qcow2', 'qcow2', 1, 0);"
                          "INSERT INTO nics (id, vm_id, position, mode, mac) VALUES"
                          " (1, 1, 0, 'user', '52:54:00:00:00:01');"
                          "INSERT INTO forwards (nic_id, proto, host_port, guest_port) VALUES"
                          " (1, 'tcp', 3389, 3389);"
                          "INSERT INTO shares (vm_id, path, tag) VALUES (1, '/s', 'share');"
                          "INSERT INTO media (vm_id, slot, path) VALUES (1, 0, '/w.iso')"),
             SQLITE_OK);
    sqlite3_close(db);

    VlLibrary *lib = open_ok(path);
    CHECK_EQ(vl_schema_version(lib), VL_SCHEMA_VERSION);
    VlError err;
    VlVm vm;
    CHECK_EQ(vl_vm_get(lib, 1, &vm, &err), VL_OK);
    CHECK(strcmp(vm.name, "old vm") == 0);
    CHECK(strcmp(vm.efi_vars, "") == 0); /* v3 column, default */
    CHECK(strcmp(vm.arch, "x86_64") == 0);
    CHECK(strcmp(vm.os_kind, "windows") == 0);
    CHECK_EQ(vm.memory_bytes, 768ull << 20); /* MiB became bytes */
    CHECK_EQ(vm.jit_threshold, 50);          /* new column, default */
    CHECK_EQ(vm.accel, VL_ACCEL_KVM);
    CHECK_EQ(vm.pin, VL_PIN_LIST);
    CHECK(strcmp(vm.pin_cpus, "1,3") == 0);
    CHECK_EQ(vm.boot, VL_BOOT_KERNEL);
    CHECK(strcmp(vm.cmdline, "quiet") == 0);
    CHECK_EQ(vm.created, 100);
    CHECK_EQ(vm.modified, 200);
    CHECK_EQ(vm.display.width, 1024); /* new table, default row */
    CHECK_EQ(vm.display.height, 768);
    CHECK_EQ(vm.n_drives, 1);
    CHECK(vm.n_drives == 1 && vm.drives[0].readonly);
    CHECK(vm.n_nics == 1 && vm.nics[0].n_forwards == 1 && vm.nics[0].forwards[0].host_port == 3389);
    CHECK(vm.n_shares == 1 && strcmp(vm.shares[0].tag, "share") == 0);
    CHECK(vm.n_media == 1 && strcmp(vm.media[0].path, "/w.iso") == 0);
    vl_vm_clear(&vm);
    CHECK_EQ(vl_vm_get(lib, 2, &vm, &err), VL_OK);
    CHECK_EQ(vm.memory_bytes, 16ull << 20);
    vl_vm_clear(&vm);
    /* The migrated library takes v2 writes. */
    VlDisplay disp = { .width = 1280, .height = 720, .gl = VL_GL_OFF };
    CHECK_EQ(vl_display_set(lib, 1, &disp, &err), VL_OK);
    vl_close(lib);

    /* Its schema is exactly the one a fresh library gets. */
    char fresh[512];
    path_in_tmp(fresh, sizeof(fresh), "fresh.db");
    vl_close(open_ok(fresh));
    sqlite3 *a = raw_open(path), *b = raw_open(fresh);
    const char *q = "SELECT group_concat(sql, ';') FROM (SELECT sql FROM sqlite_master"
                    " ORDER BY name)";
    sqlite3_stmt *sa, *sb;
    sqlite3_prepare_v2(a, q, -1, &sa, NULL);
    sqlite3_prepare_v2(b, q, -1, &sb, NULL);
    CHECK(sqlite3_step(sa) == SQLITE_ROW && sqlite3_step(sb) == SQLITE_ROW);
    CHECK(strcmp((const char *)sqlite3_column_text(sa, 0),
                 (const char *)sqlite3_column_text(sb, 0)) == 0);
    CHECK(strstr((const char *)sqlite3_column_text(sa, 0), "memory_mib") == NULL);
    sqlite3_finalize(sa);
    sqlite3_finalize(sb);
    sqlite3_close(a);
    sqlite3_close(b);
    tmp_teardown();
}

/*
 * A version-2 library (the last one before UEFI variable stores) with an arm64 installer
 * VM: it opens, the VM reads back unchanged with no store, and takes one.
 */
static void test_migrate_v2(void)
{
    tmp_setup("migrate2");
    char path[512];
    path_in_tmp(path, sizeof(path), "library.db");
    sqlite3 *db = raw_open(path);
    CHECK_EQ(raw_exec(db, vl_migration_1), SQLITE_OK);
    CHECK_EQ(raw_exec(db, vl_migration_2), SQLITE_OK);
    CHECK_EQ(raw_exec(db, "PRAGMA user_version = 2"), SQLITE_OK);
    CHECK_EQ(raw_exec(db, "INSERT INTO vms (id, uuid, name, arch, os_kind, memory_bytes, vcpus,"
                          " boot_kind, firmware, created, modified) VALUES (1,"
                          " '11111111-2222-4333-8444-777777777777', 'debian arm', 'aarch64',"
                          " 'linux', 1073741824, 2, 'iso', '/usr/share/AAVMF/AAVMF_CODE.fd',"
                          " 10, 20);"
                          "INSERT INTO display (vm_id) VALUES (1);"
                          "INSERT INTO media (vm_id, slot, path) VALUES (1, 0, '/d.iso')"),
             SQLITE_OK);
    sqlite3_close(db);

    VlLibrary *lib = open_ok(path);
    CHECK_EQ(vl_schema_version(lib), 3);
    VlError err;
    VlVm vm;
    CHECK_EQ(vl_vm_get(lib, 1, &vm, &err), VL_OK);
    CHECK(strcmp(vm.name, "debian arm") == 0);
    CHECK(strcmp(vm.arch, "aarch64") == 0);
    CHECK_EQ(vm.boot, VL_BOOT_ISO);
    CHECK(strcmp(vm.firmware, "/usr/share/AAVMF/AAVMF_CODE.fd") == 0);
    CHECK(strcmp(vm.efi_vars, "") == 0);
    CHECK(vm.n_media == 1 && strcmp(vm.media[0].path, "/d.iso") == 0);
    vl_vm_clear(&vm);

    char vars[VL_PATH_MAX], expect[VL_PATH_MAX];
    CHECK_EQ(
        vl_efi_vars_path(lib, "11111111-2222-4333-8444-777777777777", vars, sizeof(vars), &err),
        VL_OK);
    snprintf(expect, sizeof(expect),
             "%s/vms/11111111-2222-4333-8444-777777777777/nvram/efi-vars.fd", g_tmp);
    CHECK(strcmp(vars, expect) == 0);
    CHECK_EQ(vl_vm_set_efi_vars(lib, 1, vars, &err), VL_OK);
    CHECK_EQ(vl_vm_get(lib, 1, &vm, &err), VL_OK);
    CHECK(strcmp(vm.efi_vars, vars) == 0);
    CHECK_EQ(vm.modified, 20); /* the store is state, not a setting: modified unchanged */
    vl_vm_clear(&vm);
    CHECK_EQ(vl_vm_set_efi_vars(lib, 99, vars, &err), VL_ERR_NOT_FOUND);
    CHECK_EQ(vl_efi_vars_path(lib, "../x", vars, sizeof(vars), &err), VL_ERR_CORRUPT);
    vl_close(lib);
    tmp_teardown();
}

/* The variable store in the bundle: kept by writes, copied by a clone, removed on delete. */
static void test_efi_vars(void)
{
    tmp_setup("efivars");
    char path[512];
    path_in_tmp(path, sizeof(path), "library.db");
    VlLibrary *lib = open_ok(path);
    VlError err;
    VlVm vm;
    vl_vm_init(&vm);
    snprintf(vm.name, sizeof(vm.name), "arm");
    snprintf(vm.arch, sizeof(vm.arch), "aarch64");
    vm.boot = VL_BOOT_ISO;
    int64_t id;
    char uuid[37];
    CHECK_EQ(vl_vm_create(lib, &vm, &id, uuid, &err), VL_OK);
    char vars[VL_PATH_MAX];
    CHECK_EQ(vl_efi_vars_path(lib, uuid, vars, sizeof(vars), &err), VL_OK);
    CHECK_EQ(vl_vm_set_efi_vars(lib, id, vars, &err), VL_OK);
    write_file(vars, "boot entries", 12);

    /* A settings write of the record read back keeps the store. */
    VlVm got;
    CHECK_EQ(vl_vm_get(lib, id, &got, &err), VL_OK);
    got.vcpus = 2;
    CHECK_EQ(vl_vm_save(lib, &got, &err), VL_OK);
    vl_vm_clear(&got);
    CHECK_EQ(vl_vm_get(lib, id, &got, &err), VL_OK);
    CHECK(strcmp(got.efi_vars, vars) == 0);
    CHECK_EQ(got.vcpus, 2);
    vl_vm_clear(&got);

    /* The clone gets its own copy, in its own bundle. */
    int64_t cid;
    CHECK_EQ(vl_vm_clone(lib, id, "arm copy", &cid, &err), VL_OK);
    VlVm cl;
    CHECK_EQ(vl_vm_get(lib, cid, &cl, &err), VL_OK);
    char cvars[VL_PATH_MAX];
    CHECK_EQ(vl_efi_vars_path(lib, cl.uuid, cvars, sizeof(cvars), &err), VL_OK);
    CHECK(strcmp(cl.efi_vars, cvars) == 0);
    size_t n;
    char *data = read_all(cvars, &n);
    CHECK(data && n == 12 && memcmp(data, "boot entries", 12) == 0);
    free(data);
    vl_vm_clear(&cl);

    /* A clone of a VM whose store was never made gets a path but no file. */
    unlink(vars);
    int64_t c2;
    CHECK_EQ(vl_vm_clone(lib, id, "arm copy 2", &c2, &err), VL_OK);
    CHECK_EQ(vl_vm_get(lib, c2, &cl, &err), VL_OK);
    CHECK_EQ(vl_efi_vars_path(lib, cl.uuid, cvars, sizeof(cvars), &err), VL_OK);
    CHECK(strcmp(cl.efi_vars, cvars) == 0);
    CHECK(!exists(cvars));
    vl_vm_clear(&cl);

    /* Deleting a VM removes its store, even when its disks are kept. */
    write_file(vars, "boot entries", 12);
    CHECK_EQ(vl_vm_delete(lib, id, true, &err), VL_OK);
    CHECK(!exists(vars));
    CHECK_EQ(vl_vm_get(lib, cid, &cl, &err), VL_OK);
    CHECK(exists(cl.efi_vars));
    CHECK_EQ(vl_vm_delete(lib, cid, false, &err), VL_OK);
    CHECK(!exists(cl.efi_vars));
    vl_vm_clear(&cl);
    vl_vm_clear(&vm);
    vl_close(lib);
    tmp_teardown();
}

/* vl_open refuses path with code, keeps it byte for byte, and leaves one backup copy. */
static void check_refused(const char *path, VlStatus code, const char *reason)
{
    size_t n0, n1, nb;
    char *before = read_all(path, &n0);
    VlLibrary *lib = NULL;
    VlError err;
    CHECK_EQ(vl_open(path, &lib, &err), code);
    CHECK(lib == NULL);
    CHECK(err.message[0] != '\0');
    CHECK(strstr(err.message, err.backup_path) != NULL);
    char *after = read_all(path, &n1);
    CHECK(before && after && n0 == n1 && memcmp(before, after, n0) == 0);
    char prefix[64];
    snprintf(prefix, sizeof(prefix), "library.db.%s-", reason);
    CHECK_EQ(count_prefixed(prefix), 1);
    char *backup = read_all(err.backup_path, &nb);
    CHECK(backup && nb == n0 && memcmp(backup, before, n0) == 0);
    /* Asking again makes another backup, and still does not touch the file. */
    CHECK_EQ(vl_open(path, &lib, &err), code);
    CHECK_EQ(count_prefixed(prefix), 2);
    free(before);
    free(after);
    free(backup);
    free(read_all(path, &n1));
    CHECK_EQ(n1, n0);
}

static void test_corrupt(void)
{
    tmp_setup("corrupt");
    char path[512];
    path_in_tmp(path, sizeof(path), "library.db");

    /* Garbage bytes. */
    char junk[8192];
    for (size_t i = 0; i < sizeof(junk); i++)
        junk[i] = (char)(i * 131 + 7);
    write_file(path, junk, sizeof(junk));
    check_refused(path, VL_ERR_CORRUPT, "corrupt");
    tmp_teardown();

    /* A header cut short. */
    tmp_setup("short");
    path_in_tmp(path, sizeof(path), "library.db");
    vl_close(open_ok(path));
    CHECK(truncate(path, 50) == 0);
    check_refused(path, VL_ERR_CORRUPT, "corrupt");
    tmp_teardown();

    /* A real library cut short: its header promises pages that are gone. */
    tmp_setup("truncated");
    path_in_tmp(path, sizeof(path), "library.db");
    VlLibrary *lib = open_ok(path);
    VlError err;
    for (int i = 0; i < 60; i++) {
        VlVm vm;
        char name[32];
        snprintf(name, sizeof(name), "vm %d", i);
        full_vm(&vm, name);
        memset(vm.cmdline, 'x', 3000);
        vm.cmdline[3000] = '\0';
        CHECK_EQ(vl_vm_create(lib, &vm, NULL, NULL, &err), VL_OK);
        vl_vm_clear(&vm);
    }
    vl_close(lib);
    struct stat sb;
    CHECK(stat(path, &sb) == 0 && sb.st_size > 100000);
    CHECK(truncate(path, sb.st_size / 2) == 0);
    check_refused(path, VL_ERR_CORRUPT, "corrupt");
    tmp_teardown();

    /* An SQLite database that is not a Vessel library is not adopted. */
    tmp_setup("foreign");
    path_in_tmp(path, sizeof(path), "library.db");
    sqlite3 *db = raw_open(path);
    raw_exec(db, "CREATE TABLE notes (t TEXT); INSERT INTO notes VALUES ('mine')");
    sqlite3_close(db);
    check_refused(path, VL_ERR_CORRUPT, "corrupt");
    tmp_teardown();
}

static void test_newer(void)
{
    tmp_setup("newer");
    char path[512];
    path_in_tmp(path, sizeof(path), "library.db");
    VlLibrary *lib = open_ok(path);
    VlError err;
    VlVm vm;
    full_vm(&vm, "keep me");
    CHECK_EQ(vl_vm_create(lib, &vm, NULL, NULL, &err), VL_OK);
    vl_vm_clear(&vm);
    vl_close(lib);
    sqlite3 *db = raw_open(path);
    raw_exec(db, "PRAGMA user_version = 99");
    sqlite3_close(db);
    check_refused(path, VL_ERR_NEWER, "newer");
    db = raw_open(path);
    CHECK_EQ(raw_int(db, "PRAGMA user_version"), 99);
    CHECK_EQ(raw_int(db, "SELECT count(*) FROM vms WHERE name = 'keep me'"), 1);
    sqlite3_close(db);
    tmp_teardown();

    /* A newer Vessel crashed: its last transactions are still in the WAL, not in the main
     * file. Neither file may change (no checkpoint), and the backup keeps the WAL too. */
    tmp_setup("newer-wal");
    path_in_tmp(path, sizeof(path), "library.db");
    vl_close(open_ok(path));
    pid_t pid = fork();
    if (pid == 0) {
        sqlite3 *cdb;
        sqlite3_open(path, &cdb);
        sqlite3_exec(cdb,
                     "PRAGMA wal_autocheckpoint = 0; PRAGMA user_version = 7;"
                     "CREATE TABLE future (x); INSERT INTO future VALUES (42)",
                     NULL, NULL, NULL);
        _exit(0); /* no sqlite3_close: no checkpoint */
    }
    int status;
    CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status));
    char wal[600];
    snprintf(wal, sizeof(wal), "%s-wal", path);
    size_t nw0, nw1, nm0, nm1;
    char *wal0 = read_all(wal, &nw0), *main0 = read_all(path, &nm0);
    CHECK(wal0 && nw0 > 0);
    VlLibrary *none = NULL;
    CHECK_EQ(vl_open(path, &none, &err), VL_ERR_NEWER);
    CHECK(strstr(err.message, "schema 7") != NULL);
    char *wal1 = read_all(wal, &nw1), *main1 = read_all(path, &nm1);
    CHECK(wal1 && nw1 == nw0 && memcmp(wal0, wal1, nw0) == 0);
    CHECK(main1 && nm1 == nm0 && memcmp(main0, main1, nm0) == 0);
    char bwal[VL_PATH_MAX + 8];
    snprintf(bwal, sizeof(bwal), "%s-wal", err.backup_path);
    size_t nb;
    char *bw = read_all(bwal, &nb);
    CHECK(bw && nb == nw0 && memcmp(bw, wal0, nw0) == 0);
    free(wal0);
    free(wal1);
    free(main0);
    free(main1);
    free(bw);
    tmp_teardown();
}

/* A child process opens path, takes an exclusive write transaction and holds it until
 * the parent writes to *release. Returns its pid once the lock is held. */
static pid_t hold_lock(const char *path, const char *journal_mode, int *release)
{
    int ready[2], go[2];
    if (pipe(ready) || pipe(go))
        exit(1);
    pid_t pid = fork();
    if (pid == 0) {
        sqlite3 *db;
        char sql[64];
        snprintf(sql, sizeof(sql), "PRAGMA journal_mode = %s", journal_mode);
        int ok = sqlite3_open(path, &db) == SQLITE_OK &&
                 sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK &&
                 sqlite3_exec(db, "BEGIN EXCLUSIVE", NULL, NULL, NULL) == SQLITE_OK &&
                 sqlite3_exec(db,
                              "CREATE TABLE IF NOT EXISTS scratch (x);"
                              "INSERT INTO scratch VALUES (1)",
                              NULL, NULL, NULL) == SQLITE_OK;
        char c = ok ? 'y' : 'n';
        if (write(ready[1], &c, 1) != 1)
            _exit(1);
        if (read(go[0], &c, 1) != 1)
            _exit(1);
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        sqlite3_close(db);
        _exit(ok ? 0 : 1);
    }
    close(ready[1]);
    close(go[0]);
    char c = 0;
    CHECK(read(ready[0], &c, 1) == 1 && c == 'y');
    close(ready[0]);
    *release = go[1];
    return pid;
}

static void release_lock(pid_t pid, int release)
{
    CHECK(write(release, "g", 1) == 1);
    close(release);
    int status;
    CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void test_locked(void)
{
    tmp_setup("locked");
    char path[512];
    path_in_tmp(path, sizeof(path), "library.db");
    VlLibrary *early = open_ok(path);
    VlError err;
    VlVm vm;
    full_vm(&vm, "vm");

    /* Another process is mid-transaction on a WAL library. */
    int release;
    pid_t pid = hold_lock(path, "wal", &release);
    VlLibrary *lib = NULL;
    CHECK_EQ(vl_open_timeout(path, 200, &lib, &err), VL_ERR_LOCKED);
    CHECK(lib == NULL);
    CHECK(strstr(err.message, "in use by another program") != NULL);
    CHECK_EQ(count_prefixed("library.db."), 0); /* a locked file is not "bad": no backup */
    /* A library opened before the lock cannot write either, and says why. */
    CHECK_EQ(vl_vm_create(early, &vm, NULL, NULL, &err), VL_ERR_LOCKED);
    release_lock(pid, release);
    CHECK_EQ(vl_vm_create(early, &vm, NULL, NULL, &err), VL_OK);
    vl_close(early);
    lib = open_ok(path);
    vl_close(lib);
    tmp_teardown();

    /* A rollback-journal database under an exclusive lock cannot even be read. */
    tmp_setup("locked-rj");
    path_in_tmp(path, sizeof(path), "library.db");
    sqlite3 *db = raw_open(path);
    raw_exec(db, vl_migration_1);
    raw_exec(db, "PRAGMA user_version = 1");
    sqlite3_close(db);
    pid = hold_lock(path, "delete", &release);
    CHECK_EQ(vl_open_timeout(path, 200, &lib, &err), VL_ERR_LOCKED);
    release_lock(pid, release);
    lib = open_ok(path); /* and once released, it migrates */
    CHECK_EQ(vl_schema_version(lib), VL_SCHEMA_VERSION);
    vl_close(lib);
    vl_vm_clear(&vm);
    tmp_teardown();
}

/* A writer crashed mid-transaction and left a hot rollback journal: the read-only look
 * cannot judge the file, so vl_open lets SQLite roll the journal back, then checks and
 * migrates; the crashed transaction's rows are gone, the committed ones kept. */
static void test_hot_journal(void)
{
    tmp_setup("hot");
    char path[512], journal[600];
    path_in_tmp(path, sizeof(path), "library.db");
    snprintf(journal, sizeof(journal), "%s-journal", path);
    sqlite3 *db = raw_open(path);
    raw_exec(db, vl_migration_1);
    raw_exec(db, "PRAGMA user_version = 1");
    CHECK_EQ(raw_exec(db, "INSERT INTO vms (uuid, name, arch, memory_mib, vcpus, boot_kind,"
                          " created, modified) VALUES ('11111111-2222-4333-8444-555555555555',"
                          " 'committed', 'riscv64', 64, 1, 'demo', 1, 1)"),
             SQLITE_OK);
    sqlite3_close(db);
    pid_t pid = fork();
    if (pid == 0) {
        sqlite3 *cdb;
        sqlite3_open(path, &cdb);
        /* A tiny cache forces the transaction's pages into the file before the "crash". */
        sqlite3_exec(cdb,
                     "PRAGMA cache_size = 2; BEGIN;"
                     "CREATE TABLE junk (x);"
                     "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n"
                     " WHERE i < 2000) INSERT INTO junk SELECT randomblob(500) FROM n;"
                     "UPDATE vms SET name = 'uncommitted'",
                     NULL, NULL, NULL);
        _exit(0);
    }
    int status;
    CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status));
    struct stat sb;
    CHECK(stat(journal, &sb) == 0 && sb.st_size > 0);
    VlLibrary *lib = open_ok(path);
    CHECK_EQ(vl_schema_version(lib), VL_SCHEMA_VERSION);
    VlError err;
    int64_t id;
    CHECK_EQ(vl_vm_find(lib, "committed", &id, &err), VL_OK);
    CHECK_EQ(vl_vm_find(lib, "uncommitted", &id, &err), VL_ERR_NOT_FOUND);
    vl_close(lib);
    CHECK_EQ(count_prefixed("library.db."), 0);
    tmp_teardown();
}

static void test_bundles(void)
{
    tmp_setup("bundles");
    char path[512];
    path_in_tmp(path, sizeof(path), "library.db");
    VlLibrary *lib = open_ok(path);
    VlError err;
    VlVm vm;
    vl_vm_init(&vm);
    snprintf(vm.name, sizeof(vm.name), "a");
    int64_t a, b;
    char ua[37], ub[37];
    CHECK_EQ(vl_vm_create(lib, &vm, &a, ua, &err), VL_OK);
    snprintf(vm.name, sizeof(vm.name), "b");
    CHECK_EQ(vl_vm_create(lib, &vm, &b, ub, &err), VL_OK);
    CHECK(strcmp(ua, ub) != 0);

    char dir[VL_PATH_MAX], p[VL_PATH_MAX + 64];
    CHECK_EQ(vl_bundle_path(lib, ua, dir, sizeof(dir), &err), VL_OK);
    snprintf(p, sizeof(p), "%s/vms/%s", g_tmp, ua);
    CHECK(strcmp(dir, p) == 0);
    static const char *const subs[] = { "disks", "snapshots", "nvram", "logs" };
    for (int i = 0; i < 4; i++) {
        snprintf(p, sizeof(p), "%s/%s", dir, subs[i]);
        CHECK(exists(p));
    }
    snprintf(p, sizeof(p), "%.3000s/disks/root.qcow2", dir);
    write_file(p, "disk", 4);
    snprintf(p, sizeof(p), "%s/logs/serial.log", dir);
    write_file(p, "log", 3);
    snprintf(p, sizeof(p), "%s/nvram/vars.fd", dir);
    write_file(p, "nv", 2);

    /* keep_disks: the images stay, the rest goes. */
    CHECK_EQ(vl_vm_delete(lib, a, true, &err), VL_OK);
    snprintf(p, sizeof(p), "%.3000s/disks/root.qcow2", dir);
    CHECK(exists(p));
    snprintf(p, sizeof(p), "%s/logs", dir);
    CHECK(!exists(p));
    snprintf(p, sizeof(p), "%s/nvram", dir);
    CHECK(!exists(p));
    snprintf(p, sizeof(p), "%s/snapshots", dir);
    CHECK(exists(p));
    CHECK_EQ(count_entries(dir), 2);

    /* Without it, the whole bundle goes. */
    CHECK_EQ(vl_bundle_path(lib, ub, dir, sizeof(dir), &err), VL_OK);
    snprintf(p, sizeof(p), "%.3000s/disks/root.qcow2", dir);
    write_file(p, "disk", 4);
    CHECK_EQ(vl_vm_delete(lib, b, false, &err), VL_OK);
    CHECK(!exists(dir));

    /* A bundle that cannot be made (a file is in the way) fails the create, no row left. */
    snprintf(p, sizeof(p), "%s/vms", g_tmp);
    char cmd[VL_PATH_MAX + 32];
    snprintf(cmd, sizeof(cmd), "rm -rf '%.3000s'", p);
    CHECK(system(cmd) == 0);
    write_file(p, "x", 1);
    snprintf(vm.name, sizeof(vm.name), "c");
    CHECK_EQ(vl_vm_create(lib, &vm, NULL, NULL, &err), VL_ERR_IO);
    int64_t id;
    CHECK_EQ(vl_vm_find(lib, "c", &id, &err), VL_ERR_NOT_FOUND);
    /* A damaged uuid never becomes a path: the canary directory next to vms/ survives. */
    snprintf(p, sizeof(p), "%s/vms", g_tmp);
    unlink(p);
    snprintf(vm.name, sizeof(vm.name), "d");
    int64_t did;
    CHECK_EQ(vl_vm_create(lib, &vm, &did, NULL, &err), VL_OK);
    const char *evil = "../canary-aaaaaaaaaaaaaaaaaaaaaaaaaa"; /* 36 characters */
    CHECK_EQ(strlen(evil), 36);
    snprintf(p, sizeof(p), "%s/canary-aaaaaaaaaaaaaaaaaaaaaaaaaa", g_tmp);
    CHECK(mkdir(p, 0700) == 0);
    sqlite3 *db = raw_open(path);
    sqlite3_stmt *s;
    sqlite3_prepare_v2(db, "UPDATE vms SET uuid = ? WHERE id = ?", -1, &s, NULL);
    sqlite3_bind_text(s, 1, evil, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, did);
    CHECK_EQ(sqlite3_step(s), SQLITE_DONE);
    sqlite3_finalize(s);
    sqlite3_close(db);
    CHECK_EQ(vl_vm_delete(lib, did, false, &err), VL_ERR_IO);
    CHECK(strstr(err.message, "not a VM uuid") != NULL);
    CHECK(exists(p));
    vl_close(lib);
    vl_vm_clear(&vm);
    tmp_teardown();
}

static void test_clone(void)
{
    tmp_setup("clone");
    char path[512], ext[512], vms[512];
    path_in_tmp(path, sizeof(path), "library.db");
    path_in_tmp(ext, sizeof(ext), "external.img");
    path_in_tmp(vms, sizeof(vms), "vms");
    write_file(ext, "external", 8);
    VlLibrary *lib = open_ok(path);
    VlError err;
    VlVm vm, src, cl;
    full_vm(&vm, "source");
    int64_t id;
    char uuid[37];
    CHECK_EQ(vl_vm_create(lib, &vm, &id, uuid, &err), VL_OK);
    /* Point drive 0 at an image inside the bundle, drive 1 at one outside. */
    CHECK_EQ(vl_vm_get(lib, id, &src, &err), VL_OK);
    char dir[VL_PATH_MAX];
    vl_bundle_path(lib, uuid, dir, sizeof(dir), &err);
    snprintf(src.drives[0].path, sizeof(src.drives[0].path), "%.3000s/disks/root.qcow2", dir);
    write_file(src.drives[0].path, "root image", 10);
    CHECK_EQ(vl_drive_update(lib, &src.drives[0], &err), VL_OK);
    snprintf(src.drives[1].path, sizeof(src.drives[1].path), "%s", ext);
    CHECK_EQ(vl_drive_update(lib, &src.drives[1], &err), VL_OK);
    vl_vm_clear(&src);
    CHECK_EQ(vl_vm_get(lib, id, &src, &err), VL_OK);

    int64_t cid;
    CHECK_EQ(vl_vm_clone(lib, id, "copy", &cid, &err), VL_OK);
    CHECK(cid != id);
    CHECK_EQ(vl_vm_get(lib, cid, &cl, &err), VL_OK);
    CHECK(strcmp(cl.uuid, src.uuid) != 0);
    CHECK(strcmp(cl.name, "copy") == 0);
    snprintf(cl.name, sizeof(cl.name), "source");
    check_same_settings(&src, &cl);
    for (size_t i = 0; i < cl.n_nics && i < src.n_nics; i++)
        CHECK(strcmp(cl.nics[i].mac, src.nics[i].mac) != 0);
    char cdir[VL_PATH_MAX], expect[VL_PATH_MAX + 32];
    vl_bundle_path(lib, cl.uuid, cdir, sizeof(cdir), &err);
    snprintf(expect, sizeof(expect), "%s/disks/root.qcow2", cdir);
    CHECK(cl.n_drives == 2 && strcmp(cl.drives[0].path, expect) == 0); /* copied */
    size_t n;
    char *data = read_all(expect, &n);
    CHECK(data && n == 10 && memcmp(data, "root image", 10) == 0);
    free(data);
    CHECK(cl.n_drives == 2 && strcmp(cl.drives[1].path, ext) == 0); /* referenced */
    snprintf(expect, sizeof(expect), "%s/nvram", cdir);
    CHECK(exists(expect));

    /* Holes in a sparse image stay holes in the copy. */
    char sparse[VL_PATH_MAX + 32];
    snprintf(sparse, sizeof(sparse), "%.3000s/disks/sparse.img", dir);
    int fd = open(sparse, O_WRONLY | O_CREAT, 0600);
    char block[4096];
    memset(block, 0xab, sizeof(block));
    CHECK(pwrite(fd, block, sizeof(block), 0) == sizeof(block));
    CHECK(pwrite(fd, block, sizeof(block), 64 << 20) == sizeof(block));
    close(fd);
    VlDrive sd = { .format = "raw", .position = 7 };
    snprintf(sd.path, sizeof(sd.path), "%.4000s", sparse);
    CHECK_EQ(vl_drive_add(lib, id, &sd, NULL, &err), VL_OK);
    int64_t sid;
    CHECK_EQ(vl_vm_clone(lib, id, "sparse copy", &sid, &err), VL_OK);
    VlVm sc;
    CHECK_EQ(vl_vm_get(lib, sid, &sc, &err), VL_OK);
    CHECK_EQ(sc.n_drives, 3);
    if (sc.n_drives == 3) {
        struct stat a, b;
        CHECK(stat(sparse, &a) == 0 && stat(sc.drives[2].path, &b) == 0);
        CHECK_EQ(b.st_size, a.st_size);
        CHECK(b.st_blocks * 512 < 1 << 20); /* not 64 MiB of written zeros */
        size_t na, nb;
        char *da = read_all(sparse, &na), *db = read_all(sc.drives[2].path, &nb);
        CHECK(da && db && na == nb && memcmp(da, db, na) == 0);
        free(da);
        free(db);
    }
    vl_vm_clear(&sc);
    CHECK_EQ(vl_vm_delete(lib, sid, false, &err), VL_OK);

    /* Deleting the clone leaves the source's image alone. */
    CHECK_EQ(vl_vm_delete(lib, cid, false, &err), VL_OK);
    CHECK(exists(src.drives[0].path));
    CHECK(exists(ext));

    /* A clone onto a taken name fails and leaves no bundle or copied image behind. */
    CHECK_EQ(count_entries(vms), 1);
    CHECK_EQ(vl_vm_clone(lib, id, "source", NULL, &err), VL_ERR_EXISTS);
    CHECK(strcmp(err.message, "a VM named \"source\" already exists") == 0);
    CHECK_EQ(count_entries(vms), 1);
    CHECK_EQ(vl_vm_clone(lib, 4242, "x", NULL, &err), VL_ERR_NOT_FOUND);
    CHECK_EQ(count_entries(vms), 1);

    vl_vm_clear(&cl);
    vl_vm_clear(&src);
    vl_vm_clear(&vm);
    vl_close(lib);
    tmp_teardown();
}

int main(void)
{
    test_default_path();
    test_fresh_open();
    test_crud();
    test_constraints();
    test_rollback();
    test_save();
    test_migrate_v1();
    test_migrate_v2();
    test_corrupt();
    test_newer();
    test_locked();
    test_hot_journal();
    test_bundles();
    test_clone();
    test_efi_vars();
    printf("library: %d passed, %d failed\n", g_pass, g_fail);
    return g_fail ? 1 : 0;
}
