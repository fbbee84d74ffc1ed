/* SPDX-License-Identifier: MIT */
/*
 * The app's core without widgets: VesselStore on a fresh library and VesselVm driving the
 * demo guest through the engine. Checks that engine events arrive on the main loop as
 * signals (console bytes, display resize/update, state), that pause/resume/reset/power
 * down work through the asynchronous API, that a bad record fails with a message and
 * leaves the VM stopped, and that the library keeps what was written after a reopen.
 */
#include <glib/gstdio.h>
#include <string.h>

#include "gui-test.h"
#include "vessel-application.h"
#include "vessel-store.h"
#include "vessel-vm.h"

typedef struct {
    gboolean done;
    gboolean ok;
    gint64 id;
    GError *error;
} Result;

static gboolean result_done(gpointer data)
{
    return ((Result *)data)->done;
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

static void saved(GObject *src, GAsyncResult *res, gpointer data)
{
    Result *r = data;
    r->ok = vessel_store_save_vm_finish(VESSEL_STORE(src), res, &r->error);
    r->done = TRUE;
}

static void started(GObject *src, GAsyncResult *res, gpointer data)
{
    Result *r = data;
    r->ok = vessel_vm_start_finish(VESSEL_VM(src), res, &r->error);
    r->done = TRUE;
}

static void acted(GObject *src, GAsyncResult *res, gpointer data)
{
    Result *r = data;
    r->ok = vessel_vm_action_finish(VESSEL_VM(src), res, &r->error);
    r->done = TRUE;
}

static void wait_result(Result *r, guint ms)
{
    GUI_CHECK(gui_wait_until(result_done, r, ms));
    if (!r->ok)
        fprintf(stderr, "operation failed: %s\n", r->error ? r->error->message : "?");
}

typedef struct {
    GString *console;
    guint resizes, updates, width, height;
    VesselVm *vm;
    const char *want;
    gsize from;
} Seen;

static void on_console(VesselVm *vm, GBytes *bytes, gpointer data)
{
    (void)vm;
    Seen *s = data;
    gsize n;
    const char *p = g_bytes_get_data(bytes, &n);
    g_string_append_len(s->console, p, (gssize)n);
}

static void on_resize(VesselVm *vm, guint w, guint h, gpointer data)
{
    (void)vm;
    Seen *s = data;
    s->resizes++;
    s->width = w;
    s->height = h;
}

static void on_update(VesselVm *vm, guint x, guint y, guint w, guint h, gpointer data)
{
    (void)vm;
    Seen *s = data;
    GUI_CHECK(x + w <= s->width && y + h <= s->height);
    s->updates++;
}

static gboolean console_has(gpointer data)
{
    Seen *s = data;
    return strstr(s->console->str + s->from, s->want) != NULL;
}

static gboolean vm_state_is(gpointer data)
{
    Seen *s = data;
    return vessel_vm_get_state(s->vm) == (VesselVmState)GPOINTER_TO_UINT(s->want);
}

static void wait_console(Seen *s, const char *text, guint ms)
{
    s->want = text;
    if (!gui_wait_until(console_has, s, ms)) {
        fprintf(stderr, "console never showed \"%s\"; it has:\n%s\n", text,
                s->console->str + s->from);
        exit(1);
    }
}

static void wait_state(Seen *s, VesselVmState st, guint ms)
{
    const char *saved_want = s->want;
    s->want = GUINT_TO_POINTER(st);
    if (!gui_wait_until(vm_state_is, s, ms)) {
        fprintf(stderr, "state %u never reached (now %u: %s)\n", st, vessel_vm_get_state(s->vm),
                vessel_vm_get_stop_message(s->vm));
        exit(1);
    }
    s->want = saved_want;
}

static void type_line(VesselVm *vm, const char *text)
{
    vessel_vm_console_input(vm, (const guint8 *)text, strlen(text));
}

int main(void)
{
    if (!vessel_demo_find_assets(NULL, NULL, NULL, NULL)) {
        printf("SKIP: guest assets missing; run tools/guest-assets\n");
        return 77;
    }
    g_autofree char *dir = g_dir_make_tmp("vessel-core-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "library.db", NULL);

    VesselStore *store = vessel_store_new(path);
    Result r = { 0 };
    vessel_store_open_async(store, NULL, opened, &r);
    wait_result(&r, 10000);
    GUI_CHECK(r.ok);
    GUI_CHECK(g_list_model_get_n_items(vessel_store_get_vms(store)) == 0);

    /* A record the engine cannot run: an ISO boot of riscv64. It fails with a message and
     * the VM stays stopped. */
    VlVm rec;
    GUI_CHECK(vessel_demo_fill_record(&rec, NULL));
    snprintf(rec.name, sizeof(rec.name), "iso");
    rec.boot = VL_BOOT_ISO;
    r = (Result){ 0 };
    vessel_store_create_vm_async(store, &rec, NULL, created, &r);
    wait_result(&r, 10000);
    GUI_CHECK(r.ok);
    VesselVm *iso = vessel_store_lookup(store, r.id);
    GUI_CHECK(iso != NULL);
    r = (Result){ 0 };
    vessel_vm_start_async(iso, NULL, started, &r);
    wait_result(&r, 10000);
    GUI_CHECK(!r.ok && r.error && strstr(r.error->message, "UEFI") != NULL);
    GUI_CHECK(vessel_vm_get_state(iso) == VESSEL_VM_STOPPED);
    g_clear_error(&r.error);

    /* A missing kernel: the engine's message names the file. */
    snprintf(rec.name, sizeof(rec.name), "missing-kernel");
    rec.boot = VL_BOOT_KERNEL;
    snprintf(rec.kernel, sizeof(rec.kernel), "%s/no-such-Image", dir);
    r = (Result){ 0 };
    vessel_store_create_vm_async(store, &rec, NULL, created, &r);
    wait_result(&r, 10000);
    VesselVm *missing = vessel_store_lookup(store, r.id);
    r = (Result){ 0 };
    vessel_vm_start_async(missing, NULL, started, &r);
    wait_result(&r, 20000);
    GUI_CHECK(!r.ok && r.error && strstr(r.error->message, "no-such-Image") != NULL);
    GUI_CHECK(vessel_vm_get_state(missing) == VESSEL_VM_STOPPED);
    g_clear_error(&r.error);
    vl_vm_clear(&rec);

    /* The demo guest. */
    GUI_CHECK(vessel_demo_fill_record(&rec, NULL));
    r = (Result){ 0 };
    vessel_store_create_vm_async(store, &rec, NULL, created, &r);
    wait_result(&r, 10000);
    GUI_CHECK(r.ok);
    vl_vm_clear(&rec);
    VesselVm *vm = vessel_store_lookup(store, r.id);
    GUI_CHECK(vm && !strcmp(vessel_vm_get_name(vm), "Demo (riscv64)"));
    /* Name order: "Demo..." < "iso" < "missing-kernel". */
    g_autoptr(VesselVm) first = g_list_model_get_item(vessel_store_get_vms(store), 0);
    GUI_CHECK(first == vm);

    Seen seen = { .console = g_string_new(NULL), .vm = vm };
    g_signal_connect(vm, "console-output", G_CALLBACK(on_console), &seen);
    g_signal_connect(vm, "display-resize", G_CALLBACK(on_resize), &seen);
    g_signal_connect(vm, "display-update", G_CALLBACK(on_update), &seen);
    r = (Result){ 0 };
    vessel_vm_start_async(vm, NULL, started, &r);
    GUI_CHECK(vessel_vm_get_state(vm) == VESSEL_VM_STARTING);
    wait_result(&r, 30000);
    GUI_CHECK(r.ok);
    GUI_CHECK(vessel_vm_get_state(vm) == VESSEL_VM_RUNNING);
    GUI_CHECK(vessel_vm_get_machine(vm) != NULL);
    /* Automatic: a riscv64 guest on an x86-64 host runs on the tiered JIT. */
    GUI_CHECK(strstr(vessel_vm_get_accel_summary(vm), "JIT") != NULL);
    printf("tier: %s\npinning: %s\n", vessel_vm_get_accel_summary(vm),
           vessel_vm_get_pin_summary(vm));
    wait_console(&seen, "VESSEL-INIT-OK", 60000);
    wait_console(&seen, "interactive shell", 30000);
    GUI_CHECK(seen.resizes >= 1 && seen.width == 1024 && seen.height == 768);
    /* The framebuffer console draws: updates arrive. */
    for (int i = 0; i < 200 && seen.updates == 0; i++)
        gui_spin(50);
    GUI_CHECK(seen.updates > 0);
    guint32 *px = g_malloc(1024 * 768 * 4);
    GUI_CHECK(vs_machine_display_read(vessel_vm_get_machine(vm), 0, 0, 0, 1024, 768, px, 4096));
    gboolean lit = FALSE;
    for (gsize i = 0; i < 1024 * 768 && !lit; i++)
        lit = (px[i] & 0xffffff) != 0;
    GUI_CHECK(lit);
    g_free(px);

    /* The console is the guest's shell. */
    seen.from = seen.console->len;
    type_line(vm, "echo core-$((6*7))\n");
    wait_console(&seen, "core-42", 30000);

    /* Pause: the guest does not run; resume: it does. */
    r = (Result){ 0 };
    vessel_vm_action_async(vm, VESSEL_VM_ACTION_PAUSE, NULL, acted, &r);
    wait_result(&r, 10000);
    GUI_CHECK(r.ok && vessel_vm_get_state(vm) == VESSEL_VM_PAUSED);
    seen.from = seen.console->len;
    type_line(vm, "echo paused-$((7*7))\n");
    gui_spin(1000);
    GUI_CHECK(strstr(seen.console->str + seen.from, "paused-49") == NULL);
    r = (Result){ 0 };
    vessel_vm_action_async(vm, VESSEL_VM_ACTION_PAUSE, NULL, acted, &r);
    wait_result(&r, 10000);
    GUI_CHECK(!r.ok && g_error_matches(r.error, VESSEL_VM_ERROR, VS_ERR_STATE));
    g_clear_error(&r.error);
    r = (Result){ 0 };
    vessel_vm_action_async(vm, VESSEL_VM_ACTION_RESUME, NULL, acted, &r);
    wait_result(&r, 10000);
    GUI_CHECK(r.ok);
    wait_state(&seen, VESSEL_VM_RUNNING, 10000);
    wait_console(&seen, "paused-49", 30000);

    /* Reset: the guest boots again. */
    seen.from = seen.console->len;
    r = (Result){ 0 };
    vessel_vm_action_async(vm, VESSEL_VM_ACTION_RESET, NULL, acted, &r);
    wait_result(&r, 10000);
    GUI_CHECK(r.ok);
    wait_console(&seen, "VESSEL-INIT-OK", 60000);
    wait_console(&seen, "interactive shell", 30000);
    gui_spin(500);

    /* Power down: the guest's power button handler powers off. */
    r = (Result){ 0 };
    vessel_vm_action_async(vm, VESSEL_VM_ACTION_POWERDOWN, NULL, acted, &r);
    wait_result(&r, 10000);
    GUI_CHECK(r.ok);
    wait_state(&seen, VESSEL_VM_STOPPED, 60000);
    GUI_CHECK(vessel_vm_get_machine(vm) == NULL);
    printf("stop: %s\n", vessel_vm_get_stop_message(vm));
    GUI_CHECK(strstr(vessel_vm_get_stop_message(vm), "powered off") != NULL);
    GBytes *hist = vessel_vm_get_console_history(vm);
    GUI_CHECK(g_bytes_get_size(hist) > 0);
    g_bytes_unref(hist);

    /* Start and force stop. */
    r = (Result){ 0 };
    vessel_vm_start_async(vm, NULL, started, &r);
    wait_result(&r, 30000);
    GUI_CHECK(r.ok);
    r = (Result){ 0 };
    vessel_vm_action_async(vm, VESSEL_VM_ACTION_FORCE_STOP, NULL, acted, &r);
    wait_result(&r, 10000);
    GUI_CHECK(r.ok);
    wait_state(&seen, VESSEL_VM_STOPPED, 30000);
    GUI_CHECK(strstr(vessel_vm_get_stop_message(vm), "Stopped by you") != NULL);

    /* Save a change; reopen the library: it is there. */
    VlVm *copy = vessel_vm_record_dup(vessel_vm_get_record(vm));
    copy->vcpus = 2;
    snprintf(copy->name, sizeof(copy->name), "Renamed demo");
    r = (Result){ 0 };
    vessel_store_save_vm_async(store, copy, NULL, saved, &r);
    wait_result(&r, 10000);
    GUI_CHECK(r.ok);
    vessel_vm_record_free(copy);
    GUI_CHECK(!strcmp(vessel_vm_get_name(vm), "Renamed demo"));
    g_object_unref(store);

    store = vessel_store_new(path);
    r = (Result){ 0 };
    vessel_store_open_async(store, NULL, opened, &r);
    wait_result(&r, 10000);
    GUI_CHECK(r.ok);
    GListModel *vms = vessel_store_get_vms(store);
    GUI_CHECK(g_list_model_get_n_items(vms) == 3);
    g_autoptr(VesselVm) again = g_list_model_get_item(vms, 0);
    GUI_CHECK(!strcmp(vessel_vm_get_name(again), "Renamed demo"));
    GUI_CHECK(vessel_vm_get_record(again)->vcpus == 2);
    g_object_unref(store);
    g_string_free(seen.console, TRUE);
    printf("core: OK\n");
    return 0;
}
