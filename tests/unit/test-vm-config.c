/* SPDX-License-Identifier: MIT */
/*
 * A VM record as an engine configuration (app/vm-config.c), and the arm64 UEFI variable
 * store's life (app/efi-vars.c, app/vessel-store.c, app/vessel-vm.c): made when the VM is
 * created, reused across runs, made again when missing or damaged, deleted with the VM,
 * given to VMs from a library written before stores existed.
 *
 * The firmware directory is $VESSEL_AAVMF_DIR: a fake one made here (so the mapping and the
 * "not installed" message are checked on any host), and Debian's /usr/share/AAVMF for the
 * parts that start the engine (skipped, and said so, when qemu-efi-aarch64 is missing).
 */
#include <fcntl.h>
#include <glib/gstdio.h>
#include <sqlite3.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "efi-vars.h"
#include "library-private.h"
#include "vessel-store.h"
#include "vessel-vm.h"
#include "vm-config.h"

#define TEMPLATE_SIZE (1u << 20)

static char *g_dir;        /* scratch directory */
static char *g_fake_aavmf; /* a fake firmware directory: AAVMF_CODE.fd, AAVMF_VARS.fd */
static char *g_template;   /* its AAVMF_VARS.fd */

static void write_bytes(const char *path, const void *data, size_t n)
{
    GError *error = NULL;
    if (!g_file_set_contents(path, data, (gssize)n, &error)) {
        fprintf(stderr, "cannot write %s: %s\n", path, error->message);
        exit(1);
    }
}

static GBytes *read_bytes(const char *path)
{
    char *data;
    gsize n;
    if (!g_file_get_contents(path, &data, &n, NULL))
        return NULL;
    return g_bytes_new_take(data, n);
}

static gboolean same_file_contents(const char *a, const char *b)
{
    GBytes *x = read_bytes(a), *y = read_bytes(b);
    gboolean same = x && y && g_bytes_equal(x, y);
    if (x)
        g_bytes_unref(x);
    if (y)
        g_bytes_unref(y);
    return same;
}

static off_t file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? st.st_size : -1;
}

/* A template like Debian's (mostly zeros) with a few marked bytes, so a copy that drops or
 * moves data is caught. */
static void make_fake_aavmf(void)
{
    g_fake_aavmf = g_build_filename(g_dir, "aavmf", NULL);
    g_mkdir(g_fake_aavmf, 0700);
    g_autofree char *code = g_build_filename(g_fake_aavmf, "AAVMF_CODE.fd", NULL);
    write_bytes(code, "code", 4);
    g_template = g_build_filename(g_fake_aavmf, "AAVMF_VARS.fd", NULL);
    guint8 *t = g_malloc0(TEMPLATE_SIZE);
    t[5] = 0x11;
    t[200000] = 0x22;
    t[TEMPLATE_SIZE - 1] = 0x33;
    write_bytes(g_template, t, TEMPLATE_SIZE);
    g_free(t);
}

/* An arm64 record with a disk, an ISO and one NAT adapter. */
static void arm_record(VlVm *r, VlBoot boot)
{
    vl_vm_init(r);
    snprintf(r->name, sizeof(r->name), "arm");
    snprintf(r->arch, sizeof(r->arch), "aarch64");
    r->memory_bytes = 1024ull << 20;
    r->boot = boot;
    VlDrive *d = vl_vm_add_drive(r);
    snprintf(d->path, sizeof(d->path), "/vms/disk0.qcow2");
    snprintf(d->format, sizeof(d->format), "qcow2");
    VlMedia *m = vl_vm_add_media(r);
    snprintf(m->path, sizeof(m->path), "/isos/debian-arm64.iso");
    VlNic *n = vl_vm_add_nic(r);
    n->mode = VL_NET_USER;
}

/* ---- mapping ---- */

static void test_map_arm64_uefi(void)
{
    g_setenv("VESSEL_AAVMF_DIR", g_fake_aavmf, TRUE);
    g_autofree char *code = g_build_filename(g_fake_aavmf, "AAVMF_CODE.fd", NULL);
    for (int b = 0; b < 2; b++) {
        VlVm r;
        arm_record(&r, b ? VL_BOOT_DISK : VL_BOOT_ISO);
        snprintf(r.efi_vars, sizeof(r.efi_vars), "/vms/u/nvram/efi-vars.fd");
        VesselMachineConfig mc;
        GError *error = NULL;
        CHECK(vessel_machine_config_build(&r, &mc, &error));
        CHECK_EQ(mc.cfg.arch, VS_ARCH_ARM64);
        /* No firmware in the record: Debian's AAVMF code. */
        CHECK(mc.cfg.firmware && strcmp(mc.cfg.firmware, code) == 0);
        CHECK(mc.cfg.efi_vars && strcmp(mc.cfg.efi_vars, "/vms/u/nvram/efi-vars.fd") == 0);
        CHECK(mc.cfg.efi_vars_template && strcmp(mc.cfg.efi_vars_template, g_template) == 0);
        CHECK_EQ(mc.cfg.virtio_transport, VS_VIRTIO_PCI);
        CHECK(mc.cfg.kernel == NULL && mc.cfg.initrd == NULL);
        CHECK_EQ(mc.cfg.ndisks, 2);
        if (mc.cfg.ndisks == 2) {
            CHECK(strcmp(mc.cfg.disks[0].path, "/vms/disk0.qcow2") == 0);
            CHECK_EQ(mc.cfg.disks[0].format, VS_DISK_FORMAT_QCOW2);
            CHECK(!mc.cfg.disks[0].readonly && !mc.cfg.disks[0].cdrom);
            CHECK(strcmp(mc.cfg.disks[1].path, "/isos/debian-arm64.iso") == 0);
            CHECK(mc.cfg.disks[1].readonly && mc.cfg.disks[1].cdrom);
        }
        CHECK_EQ(mc.cfg.ram_size, 1024ull << 20);
        CHECK_EQ(mc.cfg.nnets, 1);
        vessel_machine_config_clear(&mc);
        vl_vm_clear(&r);
    }

    /* Firmware the user chose is used as it is. */
    VlVm r;
    arm_record(&r, VL_BOOT_ISO);
    g_autofree char *custom = g_build_filename(g_dir, "QEMU_EFI.fd", NULL);
    write_bytes(custom, "efi", 3);
    snprintf(r.firmware, sizeof(r.firmware), "%s", custom);
    VesselMachineConfig mc;
    GError *error = NULL;
    CHECK(vessel_machine_config_build(&r, &mc, &error));
    CHECK(mc.cfg.firmware && strcmp(mc.cfg.firmware, custom) == 0);
    CHECK(mc.cfg.efi_vars == NULL); /* none recorded: the engine keeps no variables */
    CHECK_EQ(mc.cfg.virtio_transport, VS_VIRTIO_PCI);
    vessel_machine_config_clear(&mc);

    /* ... and when it has gone, the message says what to do. */
    snprintf(r.firmware, sizeof(r.firmware), "%s/gone/AAVMF_CODE.fd", g_dir);
    CHECK(!vessel_machine_config_build(&r, &mc, &error));
    CHECK(error && strstr(error->message, "gone/AAVMF_CODE.fd") &&
          strstr(error->message, "sudo apt install qemu-efi-aarch64"));
    g_clear_error(&error);
    vl_vm_clear(&r);
}

static void test_map_no_firmware_installed(void)
{
    g_autofree char *empty = g_build_filename(g_dir, "no-aavmf", NULL);
    g_mkdir(empty, 0700);
    g_setenv("VESSEL_AAVMF_DIR", empty, TRUE);
    VlVm r;
    arm_record(&r, VL_BOOT_ISO);
    VesselMachineConfig mc;
    GError *error = NULL;
    CHECK(!vessel_machine_config_build(&r, &mc, &error));
    CHECK(error && error->domain == VESSEL_VM_ERROR && error->code == VS_ERR_UNSUPPORTED);
    CHECK(error && strstr(error->message, "sudo apt install qemu-efi-aarch64") != NULL);
    CHECK(error && strstr(error->message, "AAVMF_CODE.fd") != NULL);
    g_clear_error(&error);
    CHECK(!vessel_uefi_find_aavmf(NULL, NULL, &error));
    g_clear_error(&error);

    /* A direct kernel boot of arm64 needs no firmware at all. */
    vl_vm_clear(&r);
    arm_record(&r, VL_BOOT_KERNEL);
    snprintf(r.kernel, sizeof(r.kernel), "/guests/arm64/Image");
    snprintf(r.initrd, sizeof(r.initrd), "/guests/arm64/initramfs.cpio.gz");
    snprintf(r.cmdline, sizeof(r.cmdline), "console=ttyAMA0");
    snprintf(r.efi_vars, sizeof(r.efi_vars), "/stale/efi-vars.fd");
    CHECK(vessel_machine_config_build(&r, &mc, &error));
    CHECK(mc.cfg.firmware == NULL);
    CHECK(mc.cfg.efi_vars == NULL && mc.cfg.efi_vars_template == NULL);
    CHECK_EQ(mc.cfg.virtio_transport, VS_VIRTIO_AUTO);
    CHECK(mc.cfg.kernel && strcmp(mc.cfg.kernel, "/guests/arm64/Image") == 0);
    CHECK(mc.cfg.initrd && strcmp(mc.cfg.initrd, "/guests/arm64/initramfs.cpio.gz") == 0);
    CHECK(mc.cfg.cmdline && strcmp(mc.cfg.cmdline, "console=ttyAMA0") == 0);
    vessel_machine_config_clear(&mc);
    vl_vm_clear(&r);
    g_setenv("VESSEL_AAVMF_DIR", g_fake_aavmf, TRUE);
}

/* riscv64 and x86_64 map as before: no UEFI variables, no transport choice. */
static void test_map_other_arches(void)
{
    VlVm r;
    vl_vm_init(&r);
    snprintf(r.name, sizeof(r.name), "rv");
    r.boot = VL_BOOT_KERNEL;
    snprintf(r.kernel, sizeof(r.kernel), "/k");
    snprintf(r.firmware, sizeof(r.firmware), "/fw_jump.bin");
    VesselMachineConfig mc;
    GError *error = NULL;
    CHECK(vessel_machine_config_build(&r, &mc, &error));
    CHECK_EQ(mc.cfg.arch, VS_ARCH_RISCV64);
    CHECK(mc.cfg.firmware && strcmp(mc.cfg.firmware, "/fw_jump.bin") == 0);
    CHECK(mc.cfg.efi_vars == NULL && mc.cfg.efi_vars_template == NULL);
    CHECK_EQ(mc.cfg.virtio_transport, VS_VIRTIO_AUTO);
    vessel_machine_config_clear(&mc);

    r.boot = VL_BOOT_ISO;
    VlMedia *m = vl_vm_add_media(&r);
    snprintf(m->path, sizeof(m->path), "/rv.iso");
    CHECK(!vessel_machine_config_build(&r, &mc, &error));
    CHECK(error && error->code == VS_ERR_UNSUPPORTED && strstr(error->message, "riscv64"));
    g_clear_error(&error);

    snprintf(r.arch, sizeof(r.arch), "x86_64");
    r.firmware[0] = '\0';
    CHECK(vessel_machine_config_build(&r, &mc, &error));
    CHECK_EQ(mc.cfg.arch, VS_ARCH_X86_64);
    CHECK(mc.cfg.firmware == NULL && mc.cfg.efi_vars == NULL);
    CHECK_EQ(mc.cfg.virtio_transport, VS_VIRTIO_AUTO);
    CHECK(mc.cfg.ndisks == 1 && mc.cfg.disks[0].cdrom && mc.cfg.disks[0].readonly);
    vessel_machine_config_clear(&mc);
    vl_vm_clear(&r);
}

/* ---- the variable store on its own ---- */

static void test_vars_lifecycle(void)
{
    g_autofree char *vars = g_build_filename(g_dir, "bundle", "nvram", "efi-vars.fd", NULL);
    g_autofree char *aside = g_strconcat(vars, ".corrupt", NULL);
    VesselEfiVarsResult res = 99;
    GError *error = NULL;

    /* Create: the nvram folder is made, the copy equals the template, and it is sparse. */
    CHECK(vessel_efi_vars_prepare(vars, g_template, &res, &error));
    CHECK_EQ(res, VESSEL_EFI_VARS_CREATED);
    CHECK(same_file_contents(vars, g_template));
    struct stat st;
    CHECK(stat(vars, &st) == 0 && (st.st_mode & 0077) == 0);
    CHECK(st.st_blocks * 512 < TEMPLATE_SIZE / 2);

    /* Reuse: what the firmware wrote (a formatted volume) survives the next start. */
    guint8 *formatted = g_malloc0(TEMPLATE_SIZE);
    memcpy(formatted + 40, "_FVH", 4);
    memcpy(formatted + 4096, "Boot0001 debian", 15);
    write_bytes(vars, formatted, TEMPLATE_SIZE);
    for (int run = 0; run < 2; run++) {
        res = 99;
        CHECK(vessel_efi_vars_prepare(vars, g_template, &res, &error));
        CHECK_EQ(res, VESSEL_EFI_VARS_KEPT);
    }
    GBytes *b = read_bytes(vars);
    CHECK(b && g_bytes_get_size(b) == TEMPLATE_SIZE &&
          memcmp(g_bytes_get_data(b, NULL), formatted, TEMPLATE_SIZE) == 0);
    g_bytes_unref(b);
    /* An untouched copy of the template is sound too. */
    g_unlink(vars);
    CHECK(vessel_efi_vars_prepare(vars, g_template, &res, &error));
    CHECK(vessel_efi_vars_prepare(vars, g_template, &res, &error));
    CHECK_EQ(res, VESSEL_EFI_VARS_KEPT);

    /* Missing: made again. */
    g_unlink(vars);
    res = 99;
    CHECK(vessel_efi_vars_prepare(vars, g_template, &res, &error));
    CHECK_EQ(res, VESSEL_EFI_VARS_CREATED);
    CHECK(same_file_contents(vars, g_template));

    /* Truncated (a crash, a full disk): kept aside, made again. */
    write_bytes(vars, formatted, TEMPLATE_SIZE / 3);
    res = 99;
    CHECK(vessel_efi_vars_prepare(vars, g_template, &res, &error));
    CHECK_EQ(res, VESSEL_EFI_VARS_RECREATED);
    CHECK(same_file_contents(vars, g_template));
    CHECK_EQ(file_size(aside), TEMPLATE_SIZE / 3);
    /* Empty. */
    write_bytes(vars, "", 0);
    CHECK(vessel_efi_vars_prepare(vars, g_template, &res, &error));
    CHECK_EQ(res, VESSEL_EFI_VARS_RECREATED);
    CHECK(same_file_contents(vars, g_template));
    /* The right size but garbage where the volume header belongs. */
    memset(formatted, 0x5a, 64);
    write_bytes(vars, formatted, TEMPLATE_SIZE);
    CHECK(vessel_efi_vars_prepare(vars, g_template, &res, &error));
    CHECK_EQ(res, VESSEL_EFI_VARS_RECREATED);
    CHECK(same_file_contents(vars, g_template));
    CHECK(same_file_contents(aside, vars) == FALSE);
    g_free(formatted);

    /* Not a file: an error a person can act on, nothing touched. */
    g_unlink(vars);
    g_mkdir(vars, 0700);
    CHECK(!vessel_efi_vars_prepare(vars, g_template, &res, &error));
    CHECK(error && strstr(error->message, "is not a file") != NULL);
    g_clear_error(&error);
    g_rmdir(vars);

    /* No template (the package was removed): says what to install. */
    g_autofree char *none = g_build_filename(g_dir, "none", "AAVMF_VARS.fd", NULL);
    CHECK(!vessel_efi_vars_prepare(vars, none, &res, &error));
    CHECK(error && strstr(error->message, "qemu-efi-aarch64") != NULL);
    g_clear_error(&error);
    CHECK(!g_file_test(vars, G_FILE_TEST_EXISTS));

    /* A folder it cannot write (not as root, who can write anywhere). */
    if (geteuid() != 0) {
        g_autofree char *ro = g_build_filename(g_dir, "ro", NULL);
        g_autofree char *in_ro = g_build_filename(ro, "efi-vars.fd", NULL);
        g_mkdir(ro, 0500);
        CHECK(!vessel_efi_vars_prepare(in_ro, g_template, &res, &error));
        CHECK(error && strstr(error->message, "ro") != NULL);
        g_clear_error(&error);
        g_chmod(ro, 0700);
    }
    /* No temporary files are left behind by any of this. */
    g_autofree char *nvram = g_path_get_dirname(vars);
    GDir *d = g_dir_open(nvram, 0, NULL);
    const char *name;
    while (d && (name = g_dir_read_name(d)))
        CHECK(strstr(name, ".new-") == NULL);
    if (d)
        g_dir_close(d);
}

/* ---- through the store and the VM ---- */

typedef struct {
    gboolean done, ok;
    gint64 id;
    GError *error;
} Result;

static void wait_done(Result *r)
{
    gint64 deadline = g_get_monotonic_time() + 60 * G_USEC_PER_SEC;
    while (!r->done && g_get_monotonic_time() < deadline)
        g_main_context_iteration(NULL, TRUE);
    if (!r->done) {
        fprintf(stderr, "an asynchronous call never completed\n");
        exit(1);
    }
}

static void opened(GObject *src, GAsyncResult *res, gpointer data)
{
    Result *r = data;
    r->ok = vessel_store_open_finish(VESSEL_STORE(src), res, &r->error);
    r->done = TRUE;
}

static void created(GObject *src, GAsyncResult *res, gpointer data)
{
    Result *r = data;
    r->id = vessel_store_create_vm_finish(VESSEL_STORE(src), res, &r->error);
    r->ok = r->id != 0;
    r->done = TRUE;
}

static void deleted(GObject *src, GAsyncResult *res, gpointer data)
{
    Result *r = data;
    r->ok = vessel_store_delete_vm_finish(VESSEL_STORE(src), res, &r->error);
    r->done = TRUE;
}

static void started(GObject *src, GAsyncResult *res, gpointer data)
{
    Result *r = data;
    r->ok = vessel_vm_start_finish(VESSEL_VM(src), res, &r->error);
    r->done = TRUE;
}

static VesselStore *open_store(const char *path)
{
    VesselStore *store = vessel_store_new(path);
    Result r = { 0 };
    vessel_store_open_async(store, NULL, opened, &r);
    wait_done(&r);
    CHECK(r.ok);
    if (r.error) {
        fprintf(stderr, "open: %s\n", r.error->message);
        exit(1);
    }
    return store;
}

static VesselVm *create_vm(VesselStore *store, const VlVm *rec)
{
    Result r = { 0 };
    vessel_store_create_vm_async(store, rec, NULL, created, &r);
    wait_done(&r);
    CHECK(r.ok);
    g_clear_error(&r.error);
    return r.ok ? vessel_store_lookup(store, r.id) : NULL;
}

static char *expected_vars(VesselStore *store, const VlVm *rec)
{
    g_autofree char *bundle = vessel_store_bundle_path(store, rec->uuid);
    return g_build_filename(bundle, "nvram", "efi-vars.fd", NULL);
}

static void test_store(void)
{
    g_setenv("VESSEL_AAVMF_DIR", g_fake_aavmf, TRUE);
    g_autofree char *lib_dir = g_build_filename(g_dir, "library", NULL);
    g_mkdir(lib_dir, 0700);
    g_autofree char *path = g_build_filename(lib_dir, "library.db", NULL);
    VesselStore *store = open_store(path);

    /* Created: the store is in the VM's folder, recorded, a copy of the template. */
    VlVm rec;
    arm_record(&rec, VL_BOOT_ISO);
    VesselVm *vm = create_vm(store, &rec);
    CHECK(vm != NULL);
    const VlVm *got = vm ? vessel_vm_get_record(vm) : NULL;
    g_autofree char *vars = got ? expected_vars(store, got) : NULL;
    CHECK(got && vars && strcmp(got->efi_vars, vars) == 0);
    CHECK(vars && same_file_contents(vars, g_template));
    gint64 arm_id = vm ? vessel_vm_get_id(vm) : 0;

    /* A kernel-boot arm64 VM and a riscv64 VM get none. */
    vl_vm_clear(&rec);
    arm_record(&rec, VL_BOOT_KERNEL);
    snprintf(rec.name, sizeof(rec.name), "arm kernel");
    snprintf(rec.kernel, sizeof(rec.kernel), "/Image");
    VesselVm *kvm = create_vm(store, &rec);
    CHECK(kvm && vessel_vm_get_record(kvm)->efi_vars[0] == '\0');
    vl_vm_clear(&rec);

    /* Deleted with the VM (also when its disks are kept). */
    Result r = { 0 };
    vessel_store_delete_vm_async(store, arm_id, TRUE, NULL, deleted, &r);
    wait_done(&r);
    CHECK(r.ok);
    CHECK(vars && !g_file_test(vars, G_FILE_TEST_EXISTS));
    g_object_unref(store);

    /* A library from before stores (schema 2) with an arm64 installer VM: it loads, and the
     * VM gets its store recorded in its folder. */
    g_autofree char *old_dir = g_build_filename(g_dir, "old", NULL);
    g_mkdir(old_dir, 0700);
    g_autofree char *old = g_build_filename(old_dir, "library.db", NULL);
    sqlite3 *db;
    CHECK(sqlite3_open(old, &db) == SQLITE_OK);
    CHECK(sqlite3_exec(db, vl_migration_1, NULL, NULL, NULL) == SQLITE_OK);
    CHECK(sqlite3_exec(db, vl_migration_2, NULL, NULL, NULL) == SQLITE_OK);
    CHECK(sqlite3_exec(db,
                       "PRAGMA user_version = 2;"
                       "INSERT INTO vms (id, uuid, name, arch, memory_bytes, vcpus, boot_kind,"
                       " created, modified) VALUES (1, '11111111-2222-4333-8444-999999999999',"
                       " 'old arm', 'aarch64', 1073741824, 1, 'iso', 1, 1),"
                       " (2, '11111111-2222-4333-8444-aaaaaaaaaaaa', 'old rv', 'riscv64',"
                       " 536870912, 1, 'demo', 1, 1);"
                       "INSERT INTO display (vm_id) VALUES (1), (2);",
                       NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(db);
    g_autofree char *b1 =
        g_build_filename(old_dir, "vms", "11111111-2222-4333-8444-999999999999", "nvram", NULL);
    g_mkdir_with_parents(b1, 0700);
    store = open_store(old);
    CHECK_EQ(g_list_model_get_n_items(vessel_store_get_vms(store)), 2);
    VesselVm *oldvm = vessel_store_lookup(store, 1);
    g_autofree char *ovars = g_build_filename(b1, "efi-vars.fd", NULL);
    CHECK(oldvm && strcmp(vessel_vm_get_record(oldvm)->efi_vars, ovars) == 0);
    VesselVm *rv = vessel_store_lookup(store, 2);
    CHECK(rv && vessel_vm_get_record(rv)->efi_vars[0] == '\0');
    g_object_unref(store);
    /* Recorded in the file, not just in memory. */
    VlLibrary *lib;
    VlError err;
    CHECK(vl_open(old, &lib, &err) == VL_OK);
    VlVm back;
    CHECK(vl_vm_get(lib, 1, &back, &err) == VL_OK);
    CHECK(strcmp(back.efi_vars, ovars) == 0);
    vl_vm_clear(&back);
    vl_close(lib);
}

/*
 * Starting with Debian's firmware: a missing store is made, a truncated one made again, and
 * the engine takes the configuration (the firmware runs; the VM is stopped at once).
 */
static void test_start(void)
{
    g_unsetenv("VESSEL_AAVMF_DIR");
    g_autofree char *tmpl = NULL;
    if (!vessel_uefi_find_aavmf(NULL, &tmpl, NULL)) {
        printf("SKIP part: qemu-efi-aarch64 is not installed (no %s/AAVMF_CODE.fd): the "
               "engine start is not checked\n",
               VESSEL_AAVMF_DIR);
        return;
    }
    g_autofree char *lib_dir = g_build_filename(g_dir, "start", NULL);
    g_mkdir(lib_dir, 0700);
    g_autofree char *path = g_build_filename(lib_dir, "library.db", NULL);
    g_autofree char *iso = g_build_filename(lib_dir, "blank.iso", NULL);
    guint8 *blank = g_malloc0(1 << 20);
    write_bytes(iso, blank, 1 << 20);
    g_free(blank);
    VesselStore *store = open_store(path);
    VlVm rec;
    vl_vm_init(&rec);
    snprintf(rec.name, sizeof(rec.name), "arm start");
    snprintf(rec.arch, sizeof(rec.arch), "aarch64");
    rec.boot = VL_BOOT_ISO;
    rec.memory_bytes = 256ull << 20;
    rec.accel = VL_ACCEL_INTERPRETER;
    VlMedia *m = vl_vm_add_media(&rec);
    snprintf(m->path, sizeof(m->path), "%s", iso);
    VesselVm *vm = create_vm(store, &rec);
    vl_vm_clear(&rec);
    if (!vm)
        return;
    const char *vars = vessel_vm_get_record(vm)->efi_vars;
    CHECK(strcmp(vessel_vm_get_record(vm)->firmware, "") == 0); /* the default is used */
    CHECK(file_size(vars) == file_size(tmpl));
    struct stat st;
    CHECK(stat(vars, &st) == 0 && st.st_blocks * 512 < (1 << 20)); /* 64 MiB of zeros: holes */

    for (int run = 0; run < 3; run++) {
        if (run == 1)
            g_unlink(vars);
        if (run == 2)
            CHECK(truncate(vars, 4096) == 0);
        Result r = { 0 };
        vessel_vm_start_async(vm, NULL, started, &r);
        wait_done(&r);
        CHECK(r.ok);
        if (r.error) {
            fprintf(stderr, "start: %s\n", r.error->message);
            g_clear_error(&r.error);
        }
        CHECK(file_size(vars) == file_size(tmpl));
        vessel_vm_force_stop_sync(vm);
        CHECK_EQ(vessel_vm_get_state(vm), VESSEL_VM_STOPPED);
        CHECK(file_size(vars) == file_size(tmpl)); /* kept after the run */
    }
    g_autofree char *aside = g_strconcat(vars, ".corrupt", NULL);
    CHECK_EQ(file_size(aside), 4096);
    g_object_unref(store);
}

int main(void)
{
    g_dir = g_dir_make_tmp("vessel-vm-config-XXXXXX", NULL);
    if (!g_dir) {
        fprintf(stderr, "cannot make a scratch directory\n");
        return 1;
    }
    /* Own the main context, as g_main_loop_run does in the app: the engine's and the
     * store's threads then hand their callbacks to this thread instead of running them. */
    g_main_context_acquire(NULL);
    make_fake_aavmf();
    test_map_arm64_uefi();
    test_map_no_firmware_installed();
    test_map_other_arches();
    test_vars_lifecycle();
    test_store();
    test_start();
    g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", g_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", g_dir);
    g_free(g_fake_aavmf);
    g_free(g_template);
    g_free(g_dir);
    printf("vm-config: %d passed, %d failed\n", g_pass, g_fail);
    return g_fail ? 1 : 0;
}
