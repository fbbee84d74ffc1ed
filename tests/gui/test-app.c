/* SPDX-License-Identifier: MIT */
/*
 * The whole app, end to end, as a user would use it (driven through actions, not clicks):
 *
 *   phase "first": the app starts on an empty library (empty state), the new-VM wizard
 *     creates a VM from the demo guest's kernel and initrd with a shared folder, the VM
 *     boots, its window's display receives frames (screenshot not blank), its console
 *     (VTE) shows the guest's output and takes typed input, a drop of two files lands them
 *     in the share and the guest sees them over 9p, pause/resume/power down work from the
 *     window's actions.
 *   phase "again": a new app process finds the VM in the library.
 *   phase "zh_CN" (LANG=zh_CN.UTF-8): the UI is in Chinese.
 *   phase "corrupt": a library file that is not a database is reported in a dialog that
 *     names the backup copy, and the file is left as it was.
 *
 * The test runs the first phase and re-executes itself for the other two, so the library
 * is really reopened by another process. Screenshots go to $VESSEL_SCREENSHOT_DIR.
 */
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <locale.h>
#include <string.h>
#include <vte/vte.h>

#include "gui-test.h"
#include "vessel-application.h"
#include "vessel-display.h"
#include "vessel-vm-window.h"
#include "vessel-window.h"
#include "vessel-wizard.h"

#define VM_NAME "Test VM"

static char *shot_path(const char *name)
{
    const char *dir = g_getenv("VESSEL_SCREENSHOT_DIR");
    if (!dir || !dir[0])
        return NULL;
    g_mkdir_with_parents(dir, 0755);
    return g_build_filename(dir, name, NULL);
}

/* Screenshot a window; check it is not blank (many colours: text, widgets, a guest). */
static void shoot(GtkWidget *w, const char *name, int min_colours)
{
    g_autofree char *path = shot_path(name);
    g_autofree char *tmp = NULL;
    if (!path) {
        tmp = g_build_filename(g_get_tmp_dir(), name, NULL);
        path = g_strdup(tmp);
    }
    gui_spin(200);
    int colours = gui_screenshot(w, path);
    printf("screenshot %s: %d colours\n", path, colours);
    GUI_CHECK(colours >= min_colours);
    if (tmp)
        g_unlink(tmp);
}

static VesselApplication *app;

static gboolean store_open(gpointer data)
{
    (void)data;
    return vessel_store_get_path(vessel_application_get_store(app))[0] != 0;
}

/* A visible toplevel of this type. */
static GtkWindow *find_window(GType type)
{
    GtkWindow *w = gui_find_toplevel(type);
    return w && gtk_widget_get_visible(GTK_WIDGET(w)) ? w : NULL;
}

static GtkWidget *find_child(GtkWidget *root, GType type)
{
    if (G_TYPE_CHECK_INSTANCE_TYPE(root, type))
        return root;
    for (GtkWidget *c = gtk_widget_get_first_child(root); c; c = gtk_widget_get_next_sibling(c)) {
        GtkWidget *found = find_child(c, type);
        if (found)
            return found;
    }
    return NULL;
}

/* A label (anywhere under root) whose text contains `text`. */
static gboolean has_label(GtkWidget *root, const char *text)
{
    if (GTK_IS_LABEL(root) && strstr(gtk_label_get_text(GTK_LABEL(root)), text))
        return TRUE;
    for (GtkWidget *c = gtk_widget_get_first_child(root); c; c = gtk_widget_get_next_sibling(c))
        if (has_label(c, text))
            return TRUE;
    return FALSE;
}

static void start_app(void)
{
    app = vessel_application_new();
    GUI_CHECK(g_application_register(G_APPLICATION(app), NULL, NULL));
    g_application_activate(G_APPLICATION(app));
    GUI_CHECK(gui_wait_until(store_open, NULL, 10000));
    gui_spin(300);
}

static VesselVm *find_vm(const char *name)
{
    GListModel *vms = vessel_store_get_vms(vessel_application_get_store(app));
    for (guint i = 0; i < g_list_model_get_n_items(vms); i++) {
        g_autoptr(VesselVm) vm = g_list_model_get_item(vms, i);
        if (!strcmp(vessel_vm_get_name(vm), name))
            return vm;
    }
    return NULL;
}

/* ---- waiting on properties ---- */

typedef struct {
    GObject *obj;
    const char *prop;
    const char *str;
    guint u;
} PropWait;

static gboolean prop_str_is(gpointer data)
{
    PropWait *w = data;
    g_autofree char *v = NULL;
    g_object_get(w->obj, w->prop, &v, NULL);
    return !g_strcmp0(v, w->str);
}

static gboolean wizard_idle(gpointer data)
{
    gboolean busy;
    g_object_get(data, "busy", &busy, NULL);
    return !busy;
}

static void wizard_act(GtkWindow *wiz, const char *action, GVariant *arg)
{
    g_autofree char *full = g_strconcat("wizard.", action, NULL);
    GUI_CHECK(gtk_widget_activate_action_variant(GTK_WIDGET(wiz), full, arg));
    GUI_CHECK(gui_wait_until(wizard_idle, wiz, 20000));
    gui_spin(50);
}

static void wizard_next(GtkWindow *wiz, const char *expect_page)
{
    gboolean can;
    g_object_get(wiz, "can-next", &can, NULL);
    if (!can) {
        g_autofree char *msg = NULL, *page = NULL;
        g_object_get(wiz, "message", &msg, "page", &page, NULL);
        fprintf(stderr, "wizard cannot go on from %s: %s\n", page, msg);
        exit(1);
    }
    wizard_act(wiz, "next", NULL);
    PropWait pw = { G_OBJECT(wiz), "page", expect_page, 0 };
    GUI_CHECK(gui_wait_until(prop_str_is, &pw, 5000));
}

static gboolean vm_state_is(gpointer data)
{
    PropWait *w = data;
    return vessel_vm_get_state(VESSEL_VM(w->obj)) == w->u;
}

static void wait_state(VesselVm *vm, VesselVmState st, guint ms)
{
    PropWait w = { G_OBJECT(vm), NULL, NULL, st };
    if (!gui_wait_until(vm_state_is, &w, ms)) {
        fprintf(stderr, "VM never reached state %u (now %u: %s)\n", st, vessel_vm_get_state(vm),
                vessel_vm_get_stop_message(vm));
        exit(1);
    }
}

/* ---- the console ---- */

typedef struct {
    VteTerminal *term;
    const char *want;
} TermWait;

static char *term_text(VteTerminal *t)
{
    /* vte_terminal_get_text is deprecated from VTE 0.76; Debian 12 has 0.70. */
    G_GNUC_BEGIN_IGNORE_DEPRECATIONS
    return vte_terminal_get_text(t, NULL, NULL, NULL);
    G_GNUC_END_IGNORE_DEPRECATIONS
}

static gboolean term_has(gpointer data)
{
    TermWait *w = data;
    g_autofree char *text = term_text(w->term);
    return text && strstr(text, w->want);
}

static void wait_term(VteTerminal *t, const char *want, guint ms)
{
    TermWait w = { t, want };
    if (!gui_wait_until(term_has, &w, ms)) {
        g_autofree char *text = term_text(t);
        fprintf(stderr, "console never showed \"%s\"; it shows:\n%s\n", want, text);
        exit(1);
    }
}

static gboolean frames_at_least(gpointer data)
{
    return vessel_display_get_frames(VESSEL_DISPLAY(data)) > 5;
}

static gboolean not_copying(gpointer data)
{
    gboolean copying;
    g_object_get(data, "copying", &copying, NULL);
    return !copying;
}

static gboolean file_exists(gpointer data)
{
    return g_file_test(data, G_FILE_TEST_EXISTS);
}

static void write_file(const char *path, const char *text)
{
    GUI_CHECK(g_file_set_contents(path, text, -1, NULL));
}

static int phase_first(const char *self_exe)
{
    (void)self_exe;
    g_autofree char *kernel = NULL, *initrd = NULL, *firmware = NULL;
    GUI_CHECK(vessel_demo_find_assets(&kernel, &initrd, &firmware, NULL));
    start_app();
    GtkWindow *main_win = vessel_application_get_main_window(app);
    GUI_CHECK(main_win && VESSEL_IS_WINDOW(main_win));
    GUI_CHECK(g_list_model_get_n_items(vessel_store_get_vms(vessel_application_get_store(app))) ==
              0);
    shoot(GTK_WIDGET(main_win), "app-empty-state.png", 8);

    /* The wizard: kernel + initrd, a shared folder, a name. */
    g_autofree char *share = g_build_filename(g_get_home_dir(), "shared", NULL);
    GUI_CHECK(g_mkdir_with_parents(share, 0755) == 0);
    GUI_CHECK(g_action_group_has_action(G_ACTION_GROUP(app), "new-vm"));
    g_action_group_activate_action(G_ACTION_GROUP(app), "new-vm", NULL);
    gui_spin(300);
    GtkWindow *wiz = find_window(VESSEL_TYPE_WIZARD);
    GUI_CHECK(wiz != NULL);
    wizard_act(wiz, "set-source", g_variant_new_string("kernel"));
    wizard_next(wiz, "files");
    wizard_act(wiz, "set-file", g_variant_new_string(kernel));
    wizard_act(wiz, "set-initrd", g_variant_new_string(initrd));
    wizard_act(wiz, "set-firmware", g_variant_new_string(firmware));
    PropWait arch = { G_OBJECT(wiz), "arch", "riscv64", 0 };
    GUI_CHECK(gui_wait_until(prop_str_is, &arch, 10000));
    shoot(GTK_WIDGET(wiz), "app-wizard-files.png", 8);
    wizard_next(wiz, "resources");
    wizard_act(wiz, "set-memory", g_variant_new_int64(256));
    wizard_act(wiz, "set-vcpus", g_variant_new_int32(1));
    wizard_next(wiz, "storage");
    wizard_act(wiz, "set-storage", g_variant_new_string("none"));
    wizard_act(wiz, "set-share", g_variant_new_string(share));
    wizard_act(wiz, "set-share-tag", g_variant_new_string("share"));
    wizard_next(wiz, "name");
    wizard_act(wiz, "set-name", g_variant_new_string(VM_NAME));
    wizard_next(wiz, "summary");
    shoot(GTK_WIDGET(wiz), "app-wizard-summary.png", 8);
    g_object_add_weak_pointer(G_OBJECT(wiz), (gpointer *)&wiz);
    /* The wizard closes (and is freed) once the VM is created. */
    GUI_CHECK(gtk_widget_activate_action_variant(GTK_WIDGET(wiz), "wizard.create", NULL));
    for (int i = 0; i < 200 && wiz; i++)
        gui_spin(50);
    GUI_CHECK(wiz == NULL); /* closed after creating */
    VesselVm *vm = find_vm(VM_NAME);
    GUI_CHECK(vm != NULL);
    const VlVm *rec = vessel_vm_get_record(vm);
    GUI_CHECK(!strcmp(rec->arch, "riscv64") && rec->memory_bytes == 256ull << 20);
    GUI_CHECK(rec->n_shares == 1 && !strcmp(rec->shares[0].tag, "share"));
    GUI_CHECK(vessel_window_get_selected_vm(VESSEL_WINDOW(main_win)) == vm);
    shoot(GTK_WIDGET(main_win), "app-main-window.png", 8);

    /* Boot it and open its window. */
    gint64 id = vessel_vm_get_id(vm);
    g_action_group_activate_action(G_ACTION_GROUP(app), "start-vm", g_variant_new_int64(id));
    g_action_group_activate_action(G_ACTION_GROUP(app), "open-vm", g_variant_new_int64(id));
    wait_state(vm, VESSEL_VM_RUNNING, 30000);
    GtkWindow *vmwin = vessel_application_lookup_vm_window(app, vm);
    GUI_CHECK(vmwin && VESSEL_IS_VM_WINDOW(vmwin));
    gtk_window_set_default_size(vmwin, 1100, 900);
    VesselDisplay *display = VESSEL_DISPLAY(find_child(GTK_WIDGET(vmwin), VESSEL_TYPE_DISPLAY));
    VteTerminal *term = VTE_TERMINAL(find_child(GTK_WIDGET(vmwin), VTE_TYPE_TERMINAL));
    GUI_CHECK(display && term);
    /* The console: boot messages, then the shell, which takes typed input. */
    GUI_CHECK(gtk_widget_activate_action(GTK_WIDGET(vmwin), "vm.view", "s", "console"));
    wait_term(term, "VESSEL-INIT-OK", 60000);
    wait_term(term, "interactive shell", 30000);
    gui_spin(300);
    vte_terminal_feed_child(term, "echo typed-$((6*7))\n", -1);
    wait_term(term, "typed-42", 30000);
    shoot(GTK_WIDGET(vmwin), "app-vm-console.png", 4);
    /* The display: the framebuffer console draws. */
    GUI_CHECK(gtk_widget_activate_action(GTK_WIDGET(vmwin), "vm.view", "s", "display"));
    GUI_CHECK(gui_wait_until(frames_at_least, display, 30000));
    gui_spin(1500);
    printf("display renderer: %s, frames %" G_GUINT64_FORMAT "\n",
           vessel_display_get_renderer(display), vessel_display_get_frames(display));
    shoot(GTK_WIDGET(vmwin), "app-vm-display.png", 4);

    /* Drop two files: they land in the share, and the guest sees them. */
    g_autofree char *src_dir = g_build_filename(g_get_home_dir(), "outside", NULL);
    GUI_CHECK(g_mkdir_with_parents(src_dir, 0755) == 0);
    g_autofree char *f1 = g_build_filename(src_dir, "dropped-one.txt", NULL);
    g_autofree char *f2 = g_build_filename(src_dir, "dropped-two.txt", NULL);
    write_file(f1, "first file\n");
    write_file(f2, "second file\n");
    GList *files = g_list_append(NULL, g_file_new_for_path(f1));
    files = g_list_append(files, g_file_new_for_path(f2));
    vessel_vm_window_copy_files(VESSEL_VM_WINDOW(vmwin), files);
    g_list_free_full(files, g_object_unref);
    g_autofree char *d1 = g_build_filename(share, "dropped-one.txt", NULL);
    g_autofree char *d2 = g_build_filename(share, "dropped-two.txt", NULL);
    GUI_CHECK(gui_wait_until(file_exists, d2, 20000) && gui_wait_until(not_copying, vmwin, 20000));
    GUI_CHECK(g_file_test(d1, G_FILE_TEST_IS_REGULAR));
    GUI_CHECK(gtk_widget_activate_action(GTK_WIDGET(vmwin), "vm.view", "s", "console"));
    vte_terminal_feed_child(term,
                            "mkdir -p /mnt/s && mount -t 9p -o trans=virtio,version=9p2000.L "
                            "share /mnt/s && cat /mnt/s/dropped-*.txt && echo seen-$((2+3))\n",
                            -1);
    wait_term(term, "seen-5", 30000);
    wait_term(term, "second file", 1000);

    /* Pause and resume from the window's actions. */
    GUI_CHECK(gtk_widget_activate_action(GTK_WIDGET(vmwin), "vm.pause", NULL));
    wait_state(vm, VESSEL_VM_PAUSED, 10000);
    vte_terminal_feed_child(term, "echo after-pause-$((5*5))\n", -1);
    gui_spin(800);
    g_autofree char *during = term_text(term);
    GUI_CHECK(!strstr(during, "after-pause-25"));
    GUI_CHECK(gtk_widget_activate_action(GTK_WIDGET(vmwin), "vm.resume", NULL));
    wait_state(vm, VESSEL_VM_RUNNING, 10000);
    wait_term(term, "after-pause-25", 30000);

    /* Power down: the guest's power button handler turns it off. */
    GUI_CHECK(gtk_widget_activate_action(GTK_WIDGET(vmwin), "vm.powerdown", NULL));
    wait_state(vm, VESSEL_VM_STOPPED, 60000);
    printf("stopped: %s\n", vessel_vm_get_stop_message(vm));
    GUI_CHECK(strstr(vessel_vm_get_stop_message(vm), "powered off") != NULL);

    /* Quit: nothing runs, so no question. */
    g_action_group_activate_action(G_ACTION_GROUP(app), "quit", NULL);
    gui_spin(300);
    g_object_unref(app);
    return 0;
}

static int phase_again(void)
{
    start_app();
    VesselVm *vm = find_vm(VM_NAME);
    GUI_CHECK(vm != NULL);
    GUI_CHECK(vessel_vm_get_record(vm)->n_shares == 1);
    GtkWindow *main_win = vessel_application_get_main_window(app);
    GUI_CHECK(gtk_widget_activate_action(GTK_WIDGET(main_win), "win.select-vm", "x",
                                         vessel_vm_get_id(vm)));
    gui_spin(300);
    GUI_CHECK(has_label(GTK_WIDGET(main_win), VM_NAME));
    g_action_group_activate_action(G_ACTION_GROUP(app), "quit", NULL);
    gui_spin(200);
    g_object_unref(app);
    return 0;
}

static int phase_zh_cn(void)
{
    start_app();
    VesselVm *vm = find_vm(VM_NAME);
    GUI_CHECK(vm != NULL);
    GtkWindow *main_win = vessel_application_get_main_window(app);
    GUI_CHECK(gtk_widget_activate_action(GTK_WIDGET(main_win), "win.select-vm", "x",
                                         vessel_vm_get_id(vm)));
    gui_spin(300);
    /* "Stopped", as the Chinese catalogue has it. */
    GUI_CHECK(has_label(GTK_WIDGET(main_win), "已停止"));
    shoot(GTK_WIDGET(main_win), "app-main-window-zh_CN.png", 8);
    /* The wizard's first page in Chinese. */
    g_action_group_activate_action(G_ACTION_GROUP(app), "new-vm", NULL);
    gui_spin(300);
    GtkWindow *wiz = find_window(VESSEL_TYPE_WIZARD);
    GUI_CHECK(wiz != NULL);
    shoot(GTK_WIDGET(wiz), "app-wizard-zh_CN.png", 8);
    gtk_window_destroy(wiz);
    /* The VM window while the guest runs. */
    gint64 id = vessel_vm_get_id(vm);
    g_action_group_activate_action(G_ACTION_GROUP(app), "start-vm", g_variant_new_int64(id));
    g_action_group_activate_action(G_ACTION_GROUP(app), "open-vm", g_variant_new_int64(id));
    wait_state(vm, VESSEL_VM_RUNNING, 30000);
    GtkWindow *vmwin = vessel_application_lookup_vm_window(app, vm);
    VesselDisplay *display = VESSEL_DISPLAY(find_child(GTK_WIDGET(vmwin), VESSEL_TYPE_DISPLAY));
    if (!gui_wait_until(frames_at_least, display, 30000)) {
        g_autofree char *view = NULL;
        g_object_get(vmwin, "view", &view, NULL);
        fprintf(stderr,
                "no frames: view %s, renderer %s, frames %" G_GUINT64_FORMAT ", mapped %d\n", view,
                vessel_display_get_renderer(display), vessel_display_get_frames(display),
                gtk_widget_get_mapped(GTK_WIDGET(display)));
        shoot(GTK_WIDGET(vmwin), "app-vm-window-zh_CN-failed.png", 1);
        exit(1);
    }
    gui_spin(2000);
    GUI_CHECK(has_label(GTK_WIDGET(vmwin), "正在运行"));
    shoot(GTK_WIDGET(vmwin), "app-vm-window-zh_CN.png", 4);
    vessel_vm_force_stop_sync(vm);
    g_action_group_activate_action(G_ACTION_GROUP(app), "quit", NULL);
    gui_spin(200);
    g_object_unref(app);
    return 0;
}

static gboolean store_failed(gpointer data)
{
    (void)data;
    return find_window(ADW_TYPE_MESSAGE_DIALOG) != NULL;
}

/* A library file that is not a database: a dialog says so, names the backup, and the file
 * is left exactly as it was. */
static int phase_corrupt(void)
{
    g_autofree char *dir = g_build_filename(g_get_user_data_dir(), "vessel", NULL);
    g_autofree char *db = g_build_filename(dir, "library.db", NULL);
    GUI_CHECK(g_mkdir_with_parents(dir, 0755) == 0);
    const char junk[] = "this is not an SQLite database, but it is somebody's file\n";
    write_file(db, junk);
    app = vessel_application_new();
    GUI_CHECK(g_application_register(G_APPLICATION(app), NULL, NULL));
    g_application_activate(G_APPLICATION(app));
    GUI_CHECK(gui_wait_until(store_failed, NULL, 10000));
    GtkWindow *d = find_window(ADW_TYPE_MESSAGE_DIALOG);
    const char *heading = adw_message_dialog_get_heading(ADW_MESSAGE_DIALOG(d));
    const char *body = adw_message_dialog_get_body(ADW_MESSAGE_DIALOG(d));
    printf("dialog: %s\n%s\n", heading, body);
    GUI_CHECK(strstr(heading, "cannot be opened") != NULL);
    const char *backup = vessel_store_get_backup_path(vessel_application_get_store(app));
    GUI_CHECK(backup[0] && strstr(body, backup) != NULL);
    g_autofree char *now = NULL, *copy = NULL;
    GUI_CHECK(g_file_get_contents(db, &now, NULL, NULL) && !strcmp(now, junk));
    GUI_CHECK(g_file_get_contents(backup, &copy, NULL, NULL) && !strcmp(copy, junk));
    shoot(GTK_WIDGET(d), "app-corrupt-library.png", 8);
    g_object_unref(app);
    return 0;
}

static int run_phase(const char *exe, const char *phase, gboolean chinese)
{
    char *argv[] = { (char *)exe, (char *)phase, NULL };
    char **envp = g_get_environ();
    if (!strcmp(phase, "corrupt")) {
        g_autofree char *other = g_build_filename(g_get_home_dir(), "corrupt-data", NULL);
        envp = g_environ_setenv(envp, "XDG_DATA_HOME", other, TRUE);
    }
    if (chinese) {
        envp = g_environ_setenv(envp, "LANG", "zh_CN.UTF-8", TRUE);
        envp = g_environ_setenv(envp, "LC_ALL", "zh_CN.UTF-8", TRUE);
        envp = g_environ_setenv(envp, "LANGUAGE", "zh_CN", TRUE);
    }
    int status = 0;
    g_autoptr(GError) error = NULL;
    GUI_CHECK(g_spawn_sync(NULL, argv, envp, G_SPAWN_CHILD_INHERITS_STDIN, NULL, NULL, NULL, NULL,
                           &status, &error));
    g_strfreev(envp);
    return g_spawn_check_wait_status(status, NULL) ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (!vessel_demo_find_assets(NULL, NULL, NULL, NULL)) {
        printf("SKIP: guest assets missing; run tools/guest-assets\n");
        return 77;
    }
    if (argc > 1) {
        /* A phase run by the parent (main.c's locale set-up, done by hand). */
        if (!setlocale(LC_ALL, "")) {
            fprintf(stderr,
                    "the locale %s is not installed (tools/bootstrap generates "
                    "zh_CN.UTF-8)\n",
                    g_getenv("LANG"));
            return 1;
        }
        const char *dir = g_getenv("VESSEL_LOCALEDIR");
        bindtextdomain(GETTEXT_PACKAGE, dir ? dir : VESSEL_BUILD_LOCALEDIR);
        bind_textdomain_codeset(GETTEXT_PACKAGE, "UTF-8");
        textdomain(GETTEXT_PACKAGE);
        if (!strcmp(argv[1], "first"))
            return phase_first(argv[0]);
        if (!strcmp(argv[1], "again"))
            return phase_again();
        if (!strcmp(argv[1], "zh_CN"))
            return phase_zh_cn();
        if (!strcmp(argv[1], "corrupt"))
            return phase_corrupt();
        return 2;
    }
    int rc = run_phase(argv[0], "first", FALSE);
    if (rc == 0)
        rc = run_phase(argv[0], "again", FALSE);
    if (rc == 0)
        rc = run_phase(argv[0], "zh_CN", TRUE);
    if (rc == 0)
        rc = run_phase(argv[0], "corrupt", FALSE);
    printf("app: %s\n", rc == 0 ? "OK" : "FAILED");
    return rc;
}
