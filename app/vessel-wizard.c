/* SPDX-License-Identifier: MIT */
/*
 * The new-VM wizard (see vessel-wizard.h for its actions and properties).
 *
 * State lives in the VesselWizard struct; widgets are synced from it by sync_ui(), and
 * widget edits go through the same setters as the actions. Files are looked at off the main
 * thread: each chosen file gets a "slot" whose check (architecture detection, readability,
 * image format) runs in a GTask; a result that arrives for a file no longer chosen is
 * dropped (the slot's generation moved on).
 *
 * Creating: the record is written with vessel_store_create_vm_async. With a new disk, the
 * image is then made in the VM's bundle (whose name needs the uuid the library assigns) off
 * the main thread and attached with vessel_store_save_vm_async; if either step fails, the
 * VM is deleted again (its bundle with it), so nothing is left half-way.
 */
#include "vessel-wizard.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "detect.h"
#include "efi-vars.h"

typedef enum { SOURCE_ISO, SOURCE_DISK, SOURCE_KERNEL, SOURCE_DEMO } Source;
typedef enum { STORAGE_NEW, STORAGE_EXISTING, STORAGE_NONE } Storage;
typedef enum { SLOT_MAIN, SLOT_INITRD, SLOT_FIRMWARE, SLOT_EXISTING, SLOT_SHARE, N_SLOTS } SlotId;

static const char *const source_names[] = { "iso", "disk", "kernel", "demo" };
static const char *const storage_names[] = { "new", "existing", "none" };
static const char *const arch_names[] = { "riscv64", "aarch64", "x86_64" };
static const char *const page_names[] = { "source",  "files", "resources",
                                          "storage", "name",  "summary" };
#define N_PAGES 6

/* A chosen file and what its check found. */
typedef struct {
    char *path;     /* NULL or "": none */
    guint gen;      /* bumped on every change; a check result for an older gen is dropped */
    gboolean busy;  /* a check runs */
    int result;     /* 1 fine (detected), 0 read but undetermined, -1 unreadable */
    char *message;  /* the error (-1) or the detection reason */
    VsArch arch;    /* detected */
    char format[8]; /* disk images: "raw" / "qcow2" */
    guint64 size;   /* disk images: virtual size */
} Slot;

struct _VesselWizard {
    AdwWindow parent_instance;

    VesselApplication *app; /* weak: the application outlives its windows */
    GtkWindow *parent;      /* weak pointer */
    GCancellable *cancellable;

    /* template children */
    AdwToastOverlay *toast_overlay;
    AdwWindowTitle *window_title;
    GtkWidget *back_button, *next_button, *create_button, *busy_spinner;
    GtkStack *stack;
    GtkLabel *source_message;
    AdwPreferencesGroup *files_group;
    AdwActionRow *file_row, *initrd_row, *firmware_row;
    AdwEntryRow *cmdline_row;
    AdwComboRow *arch_row;
    GtkWidget *detect_spinner;
    GtkLabel *files_message;
    AdwActionRow *memory_row, *vcpus_row;
    GtkSpinButton *memory_spin, *vcpus_spin;
    AdwActionRow *disk_size_row, *existing_row;
    GtkSpinButton *disk_size_spin;
    AdwExpanderRow *share_expander;
    AdwActionRow *share_folder_row;
    AdwEntryRow *share_tag_row;
    GtkLabel *storage_message;
    AdwEntryRow *name_row;
    GtkLabel *name_message;
    GtkListBox *summary_list;
    GtkLabel *summary_note, *summary_message;

    /* state */
    Source source;
    int page;
    Slot slots[N_SLOTS];
    int arch;                 /* index into arch_names */
    gboolean arch_chosen;     /* the user picked the architecture for the current file */
    gboolean firmware_chosen; /* the user picked the firmware (or none) */
    char *cmdline;
    gint64 memory_mib, max_memory_mib, host_mib;
    int vcpus, max_vcpus;
    Storage storage;
    gint64 disk_gib;
    gboolean share_enabled;
    char *share_tag; /* the shared folder is slots[SLOT_SHARE] */
    char *name;
    gboolean name_edited;                            /* the user typed a name: stop proposing one */
    char *demo_kernel, *demo_initrd, *demo_firmware; /* the demo's files, when present */
    char *demo_error;
    gboolean creating;
    char *create_error;
    gint64 created_id;
    gboolean syncing; /* sync_ui is writing widgets: ignore their change signals */
};

G_DEFINE_FINAL_TYPE(VesselWizard, vessel_wizard, ADW_TYPE_WINDOW)

enum {
    PROP_0,
    PROP_SOURCE,
    PROP_STORAGE,
    PROP_PAGE,
    PROP_CAN_NEXT,
    PROP_BUSY,
    PROP_MESSAGE,
    PROP_ARCH,
    PROP_CREATED_ID,
    N_PROPS
};
static GParamSpec *props[N_PROPS];

enum { SIGNAL_VM_CREATED, N_SIGNALS };
static guint signals[N_SIGNALS];

static void sync_ui(VesselWizard *self);
static void slot_set(VesselWizard *self, SlotId id, const char *path);
static void default_firmware(VesselWizard *self);

/* ---- helpers ------------------------------------------------------------------------------ */

static gboolean is_empty(const char *s)
{
    return !s || !*s;
}

static VsArch arch_enum(int index)
{
    switch (index) {
    case 0: return VS_ARCH_RISCV64;
    case 1: return VS_ARCH_ARM64;
    default: return VS_ARCH_X86_64;
    }
}

static int arch_index(VsArch arch)
{
    switch (arch) {
    case VS_ARCH_ARM64: return 1;
    case VS_ARCH_X86_64: return 2;
    default: return 0;
    }
}

static int name_index(const char *const *names, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (g_strcmp0(names[i], name) == 0)
            return i;
    return -1;
}

static const char *current_page_name(VesselWizard *self)
{
    return page_names[self->page];
}

static Slot *main_slot(VesselWizard *self)
{
    return &self->slots[SLOT_MAIN];
}

static VesselStore *get_store(VesselWizard *self)
{
    return self->app ? vessel_application_get_store(self->app) : NULL;
}

static GSettings *get_settings(VesselWizard *self)
{
    return self->app ? vessel_application_get_settings(self->app) : NULL;
}

static gboolean name_taken(VesselWizard *self, const char *name)
{
    VesselStore *store = get_store(self);
    if (!store)
        return FALSE;
    GListModel *vms = vessel_store_get_vms(store);
    guint n = g_list_model_get_n_items(vms);
    for (guint i = 0; i < n; i++) {
        g_autoptr(VesselVm) vm = g_list_model_get_item(vms, i);
        if (g_strcmp0(vessel_vm_get_name(vm), name) == 0)
            return TRUE;
    }
    return FALSE;
}

/* ---- file checks (off the main thread) ---------------------------------------------------- */

typedef struct {
    SlotId slot;
    guint gen;
    char *path;
    int mode; /* 0 detect (kind), 1 readable file, 2 disk image info, 3 folder */
    VesselMediumKind kind;
    /* results */
    int result;
    char message[768];
    VsArch arch;
    char format[8];
    guint64 size;
} Check;

static void check_free(gpointer data)
{
    Check *c = data;
    g_free(c->path);
    g_free(c);
}

static void image_info(Check *c)
{
    VsError err = { 0 };
    VsDiskFormat fmt;
    uint64_t size;
    if (vs_image_info(c->path, &fmt, &size, &err) != VS_OK) {
        c->result = -1;
        g_strlcpy(c->message, err.message, sizeof(c->message));
        return;
    }
    g_strlcpy(c->format, fmt == VS_DISK_FORMAT_QCOW2 ? "qcow2" : "raw", sizeof(c->format));
    c->size = size;
    c->result = 1;
}

static void check_thread(GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
    (void)source, (void)cancellable;
    Check *c = data;
    if (c->mode == 0) {
        VesselDetect d;
        char err[512] = "";
        c->result = vessel_detect(c->path, c->kind, &d, err, sizeof(err));
        c->arch = d.arch;
        g_strlcpy(c->message, c->result < 0 ? err : d.reason, sizeof(c->message));
        if (c->result >= 0 && c->kind == VESSEL_MEDIUM_DISK) {
            int r = c->result;
            image_info(c);
            if (c->result == 1)
                c->result = r;
        }
    } else if (c->mode == 1) {
        /* O_NONBLOCK: a FIFO must not hang the check. */
        int fd = open(c->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
        struct stat st;
        if (fd < 0) {
            c->result = -1;
            g_snprintf(c->message, sizeof(c->message), _("cannot open '%s': %s"), c->path,
                       g_strerror(errno));
        } else if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
            c->result = -1;
            g_snprintf(c->message, sizeof(c->message), _("'%s' is not a regular file"), c->path);
        } else {
            c->result = 1;
        }
        if (fd >= 0)
            close(fd);
    } else if (c->mode == 3) {
        GStatBuf st;
        if (g_stat(c->path, &st) < 0) {
            c->result = -1;
            g_snprintf(c->message, sizeof(c->message), _("cannot open '%s': %s"), c->path,
                       g_strerror(errno));
        } else if (!S_ISDIR(st.st_mode)) {
            c->result = -1;
            g_snprintf(c->message, sizeof(c->message), _("“%s” is not a folder."), c->path);
        } else {
            c->result = 1;
        }
    } else {
        image_info(c);
    }
    g_task_return_boolean(task, TRUE);
}

static void check_done(GObject *source, GAsyncResult *res, gpointer user_data)
{
    (void)user_data;
    VesselWizard *self = VESSEL_WIZARD(source);
    Check *c = g_task_get_task_data(G_TASK(res));
    if (!g_task_propagate_boolean(G_TASK(res), NULL))
        return; /* cancelled: the wizard is closing */
    Slot *s = &self->slots[c->slot];
    if (c->gen != s->gen)
        return; /* a newer file was chosen meanwhile */
    s->busy = FALSE;
    s->result = c->result;
    g_free(s->message);
    s->message = g_strdup(c->message);
    s->arch = c->arch;
    g_strlcpy(s->format, c->format, sizeof(s->format));
    s->size = c->size;
    if (c->slot == SLOT_MAIN && c->result == 1 && c->arch != VS_ARCH_NONE && !self->arch_chosen) {
        self->arch = arch_index(c->arch);
        default_firmware(self);
    }
    sync_ui(self);
}

static void slot_set(VesselWizard *self, SlotId id, const char *path)
{
    Slot *s = &self->slots[id];
    g_free(s->path);
    s->path = is_empty(path) ? NULL : g_strdup(path);
    s->gen++;
    s->result = 0;
    s->arch = VS_ARCH_NONE;
    s->format[0] = 0;
    s->size = 0;
    g_clear_pointer(&s->message, g_free);
    s->busy = s->path != NULL;
    if (!s->path)
        return;
    Check *c = g_new0(Check, 1);
    c->slot = id;
    c->gen = s->gen;
    c->path = g_strdup(path);
    if (id == SLOT_MAIN && self->source != SOURCE_DEMO) {
        c->mode = 0;
        c->kind = self->source == SOURCE_ISO    ? VESSEL_MEDIUM_ISO
                  : self->source == SOURCE_DISK ? VESSEL_MEDIUM_DISK
                                                : VESSEL_MEDIUM_KERNEL;
    } else if (id == SLOT_EXISTING) {
        c->mode = 2;
    } else if (id == SLOT_SHARE) {
        c->mode = 3;
    } else {
        c->mode = 1;
    }
    GTask *task = g_task_new(self, self->cancellable, check_done, NULL);
    g_task_set_task_data(task, c, check_free);
    g_task_set_return_on_cancel(task, TRUE);
    g_task_run_in_thread(task, check_thread);
    g_object_unref(task);
}

/* ---- validation --------------------------------------------------------------------------- */

/* format: a translated "Cannot use this …: %s". */
static char *slot_problem(const Slot *s, const char *format)
{
    if (!s->path || s->busy || s->result >= 0)
        return NULL;
    return g_strdup_printf(format, s->message ? s->message : "");
}

/* The VM boots through UEFI: arm64 with an installer ISO or a disk image (efi-vars.h). */
static gboolean uefi_boot(VesselWizard *self)
{
    return arch_enum(self->arch) == VS_ARCH_ARM64 &&
           (self->source == SOURCE_ISO || self->source == SOURCE_DISK);
}

/* The message shown on a page and whether Next may be pressed there. */
static char *page_message(VesselWizard *self, int page, gboolean *ok)
{
    *ok = TRUE;
    switch (page) {
    case 0:
        if (self->source == SOURCE_DEMO && self->demo_error) {
            *ok = FALSE;
            return g_strdup(self->demo_error);
        }
        return NULL;
    case 1: {
        if (self->source == SOURCE_DEMO) {
            if (self->demo_error) {
                *ok = FALSE;
                return g_strdup(self->demo_error);
            }
            return NULL;
        }
        Slot *m = main_slot(self);
        if (!m->path) {
            *ok = FALSE;
            return NULL;
        }
        if (m->busy) {
            *ok = FALSE;
            return g_strdup(_("Looking at the file…"));
        }
        if (m->result < 0) {
            *ok = FALSE;
            return g_strdup_printf(_("Cannot read this file: %s"), m->message);
        }
        if (self->source == SOURCE_ISO && m->result == 0) {
            *ok = FALSE;
            return g_strdup_printf(_("This ISO has no UEFI boot loader for riscv64, aarch64 or "
                                     "x86_64, so Vessel cannot start it. Details: %s."),
                                   m->message);
        }
        char *p =
            slot_problem(&self->slots[SLOT_INITRD], _("Cannot use this initial RAM disk: %s"));
        if (!p)
            p = slot_problem(&self->slots[SLOT_FIRMWARE], _("Cannot use this firmware: %s"));
        if (p) {
            *ok = FALSE;
            return p;
        }
        if (self->slots[SLOT_INITRD].busy || self->slots[SLOT_FIRMWARE].busy) {
            *ok = FALSE;
            return g_strdup(_("Looking at the file…"));
        }
        /* arm64 installers and disks boot through UEFI: say now, not at the first start, when
         * the firmware package is missing. */
        g_autoptr(GError) fw_error = NULL;
        if (uefi_boot(self) && !vessel_uefi_find_aavmf(NULL, NULL, &fw_error)) {
            *ok = FALSE;
            return g_strdup(fw_error->message);
        }
        if (m->result == 0)
            return g_strdup_printf(_("The architecture could not be detected (%s): choose it "
                                     "above."),
                                   m->message);
        return NULL;
    }
    case 3: {
        if (self->storage == STORAGE_EXISTING) {
            Slot *e = &self->slots[SLOT_EXISTING];
            if (!e->path) {
                *ok = FALSE;
                return g_strdup(_("Choose the disk image to use."));
            }
            if (e->busy) {
                *ok = FALSE;
                return g_strdup(_("Looking at the file…"));
            }
            if (e->result < 0) {
                *ok = FALSE;
                return g_strdup_printf(_("Cannot use this disk image: %s"), e->message);
            }
            if (self->source == SOURCE_DISK && main_slot(self)->path &&
                g_strcmp0(e->path, main_slot(self)->path) == 0) {
                *ok = FALSE;
                return g_strdup(_("This image is already the boot disk: choose another one."));
            }
        }
        if (self->share_enabled) {
            Slot *sh = &self->slots[SLOT_SHARE];
            if (!sh->path) {
                *ok = FALSE;
                return g_strdup(_("Choose the folder to share, or switch sharing off."));
            }
            if (sh->busy) {
                *ok = FALSE;
                return g_strdup(_("Looking at the file…"));
            }
            if (sh->result < 0) {
                *ok = FALSE;
                return g_strdup_printf(_("Cannot share this folder: %s"), sh->message);
            }
            const char *t = self->share_tag ? self->share_tag : "";
            gboolean tag_ok = *t && strlen(t) <= 31;
            for (const char *c = t; *c; c++)
                if (!g_ascii_isalnum(*c) && *c != '_' && *c != '.' && *c != '-')
                    tag_ok = FALSE;
            if (!tag_ok) {
                *ok = FALSE;
                return g_strdup(_("The mount tag must be 1 to 31 letters, digits, “_”, “.” or "
                                  "“-”."));
            }
        }
        return NULL;
    }
    case 4: {
        g_autofree char *n = g_strstrip(g_strdup(self->name ? self->name : ""));
        if (!*n) {
            *ok = FALSE;
            return g_strdup(_("Give the VM a name."));
        }
        if (strlen(n) >= VL_NAME_MAX) {
            *ok = FALSE;
            return g_strdup(_("This name is too long."));
        }
        if (name_taken(self, n)) {
            *ok = FALSE;
            return g_strdup_printf(_("A VM named “%s” already exists: choose another name."), n);
        }
        return NULL;
    }
    case 5: *ok = !self->creating; return self->create_error ? g_strdup(self->create_error) : NULL;
    default: return NULL;
    }
}

/* The honest note on the summary: what the engine cannot do yet with this VM. */
static char *summary_note(VesselWizard *self)
{
    VsArch a = arch_enum(self->arch);
    if (a == VS_ARCH_ARM64)
        return NULL;
    if (a == VS_ARCH_X86_64)
        return g_strdup(self->source == SOURCE_ISO || self->source == SOURCE_DISK
                            ? _("Vessel cannot boot x86_64 installer ISOs or disk images yet: "
                                "x86_64 guests run only under KVM, on a minimal board that "
                                "boots a Linux kernel directly. The VM is created, but "
                                "starting it will fail with the engine’s message.")
                            : _("x86_64 guests run only under KVM (hardware virtualization), "
                                "on a minimal board that boots the Linux kernel directly: "
                                "starting the VM needs /dev/kvm on this computer."));
    if (self->source == SOURCE_ISO || self->source == SOURCE_DISK)
        return g_strdup(_("Vessel cannot boot riscv64 installer ISOs or disk images yet: that "
                          "needs UEFI firmware, which the engine does not have so far (it boots "
                          "a Linux kernel or the demo). The VM is created, but starting it will "
                          "fail with the engine’s message."));
    return NULL;
}

/* ---- UI sync ------------------------------------------------------------------------------ */

static void set_message(GtkLabel *label, const char *text, gboolean error)
{
    gtk_label_set_text(label, text ? text : "");
    gtk_widget_set_visible(GTK_WIDGET(label), !is_empty(text));
    if (error) {
        gtk_widget_add_css_class(GTK_WIDGET(label), "error");
        gtk_widget_remove_css_class(GTK_WIDGET(label), "dim-label");
    } else {
        gtk_widget_remove_css_class(GTK_WIDGET(label), "error");
        gtk_widget_add_css_class(GTK_WIDGET(label), "dim-label");
    }
}

static void path_subtitle(AdwActionRow *row, const char *path, const char *none)
{
    g_autofree char *escaped = g_markup_escape_text(path ? path : none, -1);
    adw_action_row_set_subtitle(row, escaped);
}

static void summary_add(VesselWizard *self, const char *title, const char *value)
{
    GtkWidget *row = adw_action_row_new();
    adw_preferences_row_set_title(ADW_PREFERENCES_ROW(row), title);
    g_autofree char *escaped = g_markup_escape_text(value, -1);
    adw_action_row_set_subtitle(ADW_ACTION_ROW(row), escaped);
    adw_action_row_set_subtitle_lines(ADW_ACTION_ROW(row), 3);
    gtk_widget_add_css_class(row, "property");
    gtk_list_box_append(self->summary_list, row);
}

static const char *source_label(Source s)
{
    switch (s) {
    case SOURCE_ISO: return _("Installer ISO");
    case SOURCE_DISK: return _("Existing disk image");
    case SOURCE_KERNEL: return _("Linux kernel");
    default: return _("Demo guest");
    }
}

static void fill_summary(VesselWizard *self)
{
    GtkWidget *child;
    while ((child = gtk_widget_get_first_child(GTK_WIDGET(self->summary_list))))
        gtk_list_box_remove(self->summary_list, child);
    summary_add(self, _("Name"), self->name ? self->name : "");
    summary_add(self, _("Boot"), source_label(self->source));
    if (self->source == SOURCE_DEMO) {
        summary_add(self, _("Kernel"), self->demo_kernel ? self->demo_kernel : "");
    } else {
        const char *what = self->source == SOURCE_ISO    ? _("Installer ISO")
                           : self->source == SOURCE_DISK ? _("Boot disk")
                                                         : _("Kernel");
        summary_add(self, what, main_slot(self)->path ? main_slot(self)->path : "");
    }
    if (self->source == SOURCE_KERNEL) {
        const char *initrd = self->slots[SLOT_INITRD].path;
        const char *fw = self->slots[SLOT_FIRMWARE].path;
        summary_add(self, _("Initial RAM disk"), initrd ? initrd : _("None"));
        summary_add(self, _("Command line"), self->cmdline ? self->cmdline : "");
        summary_add(self, _("Firmware"), fw ? fw : _("None"));
    }
    if (uefi_boot(self)) {
        g_autofree char *code = NULL;
        if (vessel_uefi_find_aavmf(&code, NULL, NULL)) {
            /* TRANSLATORS: the firmware row of an arm64 VM's summary; %s is a file. */
            g_autofree char *fw = g_strdup_printf(_("UEFI (%s), with its own variable store in "
                                                    "the VM’s folder"),
                                                  code);
            summary_add(self, _("Firmware"), fw);
        }
    }
    summary_add(self, _("Architecture"), arch_names[self->arch]);
    g_autofree char *mem = g_strdup_printf(_("%d MiB"), (int)self->memory_mib);
    summary_add(self, _("Memory"), mem);
    g_autofree char *cpus = g_strdup_printf("%d", self->vcpus);
    summary_add(self, _("Virtual processors"), cpus);
    g_autofree char *disk = NULL;
    if (self->storage == STORAGE_NEW)
        disk = g_strdup_printf(_("New %d GiB qcow2 image in the VM’s folder"), (int)self->disk_gib);
    else if (self->storage == STORAGE_EXISTING)
        disk = g_strdup(self->slots[SLOT_EXISTING].path ? self->slots[SLOT_EXISTING].path : "");
    else
        disk = g_strdup(_("None"));
    summary_add(self, _("Disk"), disk);
    if (self->share_enabled) {
        g_autofree char *share =
            g_strdup_printf(_("%s (tag %s)"), self->slots[SLOT_SHARE].path, self->share_tag);
        summary_add(self, _("Shared folder"), share);
    }
    summary_add(self, _("Network"), _("User-mode networking (NAT)"));
    g_autofree char *note = summary_note(self);
    gtk_label_set_text(self->summary_note, note ? note : "");
    gtk_widget_set_visible(GTK_WIDGET(self->summary_note), note != NULL);
}

/* Propose a name from the boot source that is not taken yet. */
static void propose_name(VesselWizard *self)
{
    if (self->name_edited)
        return;
    g_autofree char *base = NULL;
    const char *path = main_slot(self)->path;
    if (self->source == SOURCE_DEMO) {
        base = g_strdup(_("Demo (riscv64)"));
    } else if (self->source == SOURCE_KERNEL || !path) {
        base = g_strdup_printf(_("Linux (%s)"), arch_names[self->arch]);
    } else {
        base = g_path_get_basename(path);
        char *dot = strrchr(base, '.');
        if (dot && dot != base)
            *dot = 0;
    }
    g_autofree char *name = g_strdup(base);
    for (int i = 2; name_taken(self, name) && i < 1000; i++) {
        g_free(name);
        name = g_strdup_printf("%s %d", base, i);
    }
    g_free(self->name);
    self->name = g_steal_pointer(&name);
}

static void sync_ui(VesselWizard *self)
{
    self->syncing = TRUE;
    Slot *m = main_slot(self);

    /* files page */
    switch (self->source) {
    case SOURCE_ISO:
        adw_preferences_group_set_title(self->files_group, _("Installer ISO"));
        adw_preferences_row_set_title(ADW_PREFERENCES_ROW(self->file_row), _("ISO Image"));
        break;
    case SOURCE_DISK:
        adw_preferences_group_set_title(self->files_group, _("Disk Image"));
        adw_preferences_row_set_title(ADW_PREFERENCES_ROW(self->file_row), _("Disk Image"));
        break;
    default:
        adw_preferences_group_set_title(self->files_group, _("Linux Kernel"));
        adw_preferences_row_set_title(ADW_PREFERENCES_ROW(self->file_row), _("Kernel Image"));
        break;
    }
    path_subtitle(self->file_row, m->path, _("None chosen"));
    gboolean kernel = self->source == SOURCE_KERNEL;
    gtk_widget_set_visible(GTK_WIDGET(self->initrd_row), kernel);
    gtk_widget_set_visible(GTK_WIDGET(self->cmdline_row), kernel);
    gtk_widget_set_visible(GTK_WIDGET(self->firmware_row), kernel);
    path_subtitle(self->initrd_row, self->slots[SLOT_INITRD].path, _("None"));
    path_subtitle(self->firmware_row, self->slots[SLOT_FIRMWARE].path, _("None"));
    if (g_strcmp0(gtk_editable_get_text(GTK_EDITABLE(self->cmdline_row)), self->cmdline))
        gtk_editable_set_text(GTK_EDITABLE(self->cmdline_row), self->cmdline ? self->cmdline : "");
    adw_combo_row_set_selected(self->arch_row, (guint)self->arch);
    gtk_widget_set_visible(self->detect_spinner, m->busy);
    gtk_spinner_set_spinning(GTK_SPINNER(self->detect_spinner), m->busy);
    g_autofree char *arch_sub = NULL;
    if (m->busy)
        arch_sub = g_strdup(_("Detecting…"));
    else if (m->path && m->result == 1)
        arch_sub = g_strdup_printf(self->arch == arch_index(m->arch) ? _("Detected: %s")
                                                                     : _("Chosen by you; "
                                                                         "detected: %s"),
                                   m->message);
    else if (m->path && m->result == 0)
        arch_sub =
            g_strdup(self->source == SOURCE_ISO ? _("Not detected") : _("Not detected: choose it"));
    g_autofree char *arch_esc = g_markup_escape_text(arch_sub ? arch_sub : "", -1);
    adw_action_row_set_subtitle(ADW_ACTION_ROW(self->arch_row), arch_esc);

    /* resources */
    gtk_spin_button_set_range(self->memory_spin, 128, (double)self->max_memory_mib);
    gtk_spin_button_set_value(self->memory_spin, (double)self->memory_mib);
    gtk_spin_button_set_range(self->vcpus_spin, 1, self->max_vcpus);
    gtk_spin_button_set_value(self->vcpus_spin, self->vcpus);

    /* storage */
    gtk_widget_set_sensitive(GTK_WIDGET(self->disk_size_row), self->storage == STORAGE_NEW);
    gtk_widget_set_sensitive(GTK_WIDGET(self->existing_row), self->storage == STORAGE_EXISTING);
    gtk_spin_button_set_value(self->disk_size_spin, (double)self->disk_gib);
    path_subtitle(self->existing_row, self->slots[SLOT_EXISTING].path, _("None chosen"));
    adw_expander_row_set_enable_expansion(self->share_expander, self->share_enabled);
    path_subtitle(self->share_folder_row, self->slots[SLOT_SHARE].path, _("None chosen"));
    if (g_strcmp0(gtk_editable_get_text(GTK_EDITABLE(self->share_tag_row)), self->share_tag))
        gtk_editable_set_text(GTK_EDITABLE(self->share_tag_row),
                              self->share_tag ? self->share_tag : "");

    /* name */
    if (g_strcmp0(gtk_editable_get_text(GTK_EDITABLE(self->name_row)), self->name))
        gtk_editable_set_text(GTK_EDITABLE(self->name_row), self->name ? self->name : "");

    /* messages */
    gboolean ok;
    g_autofree char *msg = page_message(self, 0, &ok);
    set_message(self->source_message, msg, TRUE);
    g_free(msg);
    msg = page_message(self, 1, &ok);
    set_message(self->files_message, msg, !ok || (m->path && m->result < 0));
    g_free(msg);
    msg = page_message(self, 3, &ok);
    set_message(self->storage_message, msg, TRUE);
    g_free(msg);
    msg = page_message(self, 4, &ok);
    set_message(self->name_message, msg, TRUE);
    gtk_label_set_text(self->summary_message, self->create_error ? self->create_error : "");
    gtk_widget_set_visible(GTK_WIDGET(self->summary_message), self->create_error != NULL);
    if (self->page == 5)
        fill_summary(self);

    /* navigation */
    gtk_stack_set_visible_child_name(self->stack, current_page_name(self));
    g_autofree char *step =
        g_strdup_printf(_("Step %d of %d: %s"), self->page + 1, N_PAGES,
                        gtk_stack_page_get_title(gtk_stack_get_page(
                            self->stack, gtk_stack_get_visible_child(self->stack))));
    adw_window_title_set_subtitle(self->window_title, step);
    g_autofree char *here = page_message(self, self->page, &ok);
    gboolean last = self->page == N_PAGES - 1;
    gtk_widget_set_visible(self->next_button, !last);
    gtk_widget_set_visible(self->create_button, last);
    gtk_widget_set_visible(self->back_button, self->page > 0);
    gtk_widget_action_set_enabled(GTK_WIDGET(self), "wizard.next", !last && ok);
    gtk_widget_action_set_enabled(GTK_WIDGET(self), "wizard.back",
                                  self->page > 0 && !self->creating);
    gtk_widget_action_set_enabled(GTK_WIDGET(self), "wizard.create", last && ok);
    gtk_widget_set_visible(self->busy_spinner, self->creating);
    gtk_spinner_set_spinning(GTK_SPINNER(self->busy_spinner), self->creating);
    self->syncing = FALSE;

    g_object_notify_by_pspec(G_OBJECT(self), props[PROP_PAGE]);
    g_object_notify_by_pspec(G_OBJECT(self), props[PROP_CAN_NEXT]);
    g_object_notify_by_pspec(G_OBJECT(self), props[PROP_MESSAGE]);
    g_object_notify_by_pspec(G_OBJECT(self), props[PROP_ARCH]);
    g_object_notify_by_pspec(G_OBJECT(self), props[PROP_BUSY]);
}

/* ---- setters (actions and widgets) -------------------------------------------------------- */

/* riscv64 kernels boot through the demo's OpenSBI (fw_jump.bin) unless the user chose other
 * firmware; other architectures do not use it. */
static void default_firmware(VesselWizard *self)
{
    if (self->firmware_chosen || !self->demo_firmware)
        return;
    const char *want = self->arch == 0 ? self->demo_firmware : NULL;
    if (g_strcmp0(self->slots[SLOT_FIRMWARE].path, want) != 0)
        slot_set(self, SLOT_FIRMWARE, want);
}

static void set_source(VesselWizard *self, Source source)
{
    if (self->source == source)
        return;
    self->source = source;
    /* A file chosen for another kind of source means something else now: check it again. */
    g_autofree char *path = g_strdup(main_slot(self)->path);
    self->arch_chosen = FALSE;
    slot_set(self, SLOT_MAIN, source == SOURCE_DEMO ? NULL : path);
    self->storage = source == SOURCE_DEMO || source == SOURCE_DISK ? STORAGE_NONE : STORAGE_NEW;
    self->disk_gib = source == SOURCE_ISO ? 20 : 8;
    if (source == SOURCE_DEMO)
        self->arch = 0;
    g_object_notify_by_pspec(G_OBJECT(self), props[PROP_SOURCE]);
    g_object_notify_by_pspec(G_OBJECT(self), props[PROP_STORAGE]);
    sync_ui(self);
}

static void set_file(VesselWizard *self, const char *path)
{
    self->arch_chosen = FALSE;
    slot_set(self, SLOT_MAIN, path);
    sync_ui(self);
}

static void set_arch(VesselWizard *self, int index)
{
    if (index < 0 || index > 2 || index == self->arch)
        return;
    self->arch = index;
    self->arch_chosen = TRUE;
    default_firmware(self);
    sync_ui(self);
}

static void set_storage(VesselWizard *self, Storage storage)
{
    if (self->storage == storage)
        return;
    self->storage = storage;
    g_object_notify_by_pspec(G_OBJECT(self), props[PROP_STORAGE]);
    sync_ui(self);
}

/* ---- file choosers ------------------------------------------------------------------------ */

typedef struct {
    VesselWizard *self;
    const char *action; /* the setter action to activate with the chosen path */
    const char *key;    /* the GSettings folder key */
} ChooserData;

static void chooser_response(GtkNativeDialog *dialog, int response, gpointer user_data)
{
    ChooserData *cd = user_data;
    if (response == GTK_RESPONSE_ACCEPT) {
        g_autoptr(GFile) file = gtk_file_chooser_get_file(GTK_FILE_CHOOSER(dialog));
        g_autofree char *path = file ? g_file_get_path(file) : NULL;
        if (path) {
            GSettings *settings = get_settings(cd->self);
            if (settings) {
                g_autofree char *folder = g_path_get_dirname(path);
                g_settings_set_string(settings, cd->key, folder);
            }
            gtk_widget_activate_action(GTK_WIDGET(cd->self), cd->action, "s", path);
        }
    }
    gtk_native_dialog_destroy(dialog);
    g_object_unref(dialog);
    g_object_unref(cd->self);
    g_free(cd);
}

static void add_filter(GtkFileChooser *chooser, const char *name, const char *const *patterns)
{
    GtkFileFilter *f = gtk_file_filter_new();
    gtk_file_filter_set_name(f, name);
    for (; *patterns; patterns++)
        gtk_file_filter_add_pattern(f, *patterns);
    gtk_file_chooser_add_filter(chooser, f);
    g_object_unref(f);
}

static void open_chooser(VesselWizard *self, const char *title, GtkFileChooserAction mode,
                         const char *action, const char *key, const char *filter_name,
                         const char *const *patterns)
{
    GtkFileChooserNative *native =
        gtk_file_chooser_native_new(title, GTK_WINDOW(self), mode, _("_Open"), _("_Cancel"));
    gtk_native_dialog_set_modal(GTK_NATIVE_DIALOG(native), TRUE);
    GSettings *settings = get_settings(self);
    g_autofree char *folder = settings ? g_settings_get_string(settings, key) : NULL;
    if (!is_empty(folder)) {
        g_autoptr(GFile) f = g_file_new_for_path(folder);
        gtk_file_chooser_set_current_folder(GTK_FILE_CHOOSER(native), f, NULL);
    }
    if (patterns) {
        add_filter(GTK_FILE_CHOOSER(native), filter_name, patterns);
        static const char *const all[] = { "*", NULL };
        add_filter(GTK_FILE_CHOOSER(native), _("All files"), all);
    }
    ChooserData *cd = g_new0(ChooserData, 1);
    cd->self = g_object_ref(self);
    cd->action = action;
    cd->key = key;
    g_signal_connect(native, "response", G_CALLBACK(chooser_response), cd);
    gtk_native_dialog_show(GTK_NATIVE_DIALOG(native));
}

static void choose_file_action(GtkWidget *widget, const char *name, GVariant *param)
{
    (void)param;
    VesselWizard *self = VESSEL_WIZARD(widget);
    static const char *const iso[] = { "*.iso", "*.ISO", NULL };
    static const char *const disk[] = { "*.qcow2", "*.img", "*.raw", "*.IMG", NULL };
    if (g_str_equal(name, "wizard.choose-file")) {
        if (self->source == SOURCE_ISO)
            open_chooser(self, _("Choose an Installer ISO"), GTK_FILE_CHOOSER_ACTION_OPEN,
                         "wizard.set-file", "last-iso-folder", _("ISO images"), iso);
        else if (self->source == SOURCE_DISK)
            open_chooser(self, _("Choose a Disk Image"), GTK_FILE_CHOOSER_ACTION_OPEN,
                         "wizard.set-file", "last-disk-folder", _("Disk images"), disk);
        else
            open_chooser(self, _("Choose a Kernel Image"), GTK_FILE_CHOOSER_ACTION_OPEN,
                         "wizard.set-file", "last-kernel-folder", NULL, NULL);
    } else if (g_str_equal(name, "wizard.choose-initrd")) {
        open_chooser(self, _("Choose an Initial RAM Disk"), GTK_FILE_CHOOSER_ACTION_OPEN,
                     "wizard.set-initrd", "last-kernel-folder", NULL, NULL);
    } else if (g_str_equal(name, "wizard.choose-firmware")) {
        open_chooser(self, _("Choose Firmware"), GTK_FILE_CHOOSER_ACTION_OPEN,
                     "wizard.set-firmware", "last-kernel-folder", NULL, NULL);
    } else if (g_str_equal(name, "wizard.choose-existing-disk")) {
        open_chooser(self, _("Choose a Disk Image"), GTK_FILE_CHOOSER_ACTION_OPEN,
                     "wizard.set-existing-disk", "last-disk-folder", _("Disk images"), disk);
    } else if (g_str_equal(name, "wizard.choose-share")) {
        open_chooser(self, _("Choose a Folder to Share"), GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER,
                     "wizard.set-share", "last-share-folder", NULL, NULL);
    }
}

/* ---- actions ------------------------------------------------------------------------------ */

static void string_action(GtkWidget *widget, const char *name, GVariant *param)
{
    VesselWizard *self = VESSEL_WIZARD(widget);
    const char *s = g_variant_get_string(param, NULL);
    if (g_str_equal(name, "wizard.set-file")) {
        set_file(self, s);
        return;
    }
    if (g_str_equal(name, "wizard.set-initrd")) {
        slot_set(self, SLOT_INITRD, s);
    } else if (g_str_equal(name, "wizard.set-firmware")) {
        self->firmware_chosen = TRUE;
        slot_set(self, SLOT_FIRMWARE, s);
    } else if (g_str_equal(name, "wizard.set-existing-disk")) {
        slot_set(self, SLOT_EXISTING, s);
        if (!is_empty(s))
            self->storage = STORAGE_EXISTING;
        g_object_notify_by_pspec(G_OBJECT(self), props[PROP_STORAGE]);
    } else if (g_str_equal(name, "wizard.set-cmdline")) {
        g_free(self->cmdline);
        self->cmdline = g_strdup(s);
    } else if (g_str_equal(name, "wizard.set-arch")) {
        set_arch(self, name_index(arch_names, 3, s));
        return;
    } else if (g_str_equal(name, "wizard.set-share")) {
        slot_set(self, SLOT_SHARE, s);
        self->share_enabled = !is_empty(s);
    } else if (g_str_equal(name, "wizard.set-share-tag")) {
        g_free(self->share_tag);
        self->share_tag = g_strdup(s);
    } else if (g_str_equal(name, "wizard.set-name")) {
        g_free(self->name);
        self->name = g_strdup(s);
        self->name_edited = TRUE;
        g_clear_pointer(&self->create_error, g_free);
    }
    sync_ui(self);
}

static void number_action(GtkWidget *widget, const char *name, GVariant *param)
{
    VesselWizard *self = VESSEL_WIZARD(widget);
    if (g_str_equal(name, "wizard.set-memory"))
        self->memory_mib = CLAMP(g_variant_get_int64(param), 128, self->max_memory_mib);
    else if (g_str_equal(name, "wizard.set-vcpus"))
        self->vcpus = CLAMP(g_variant_get_int32(param), 1, self->max_vcpus);
    else if (g_str_equal(name, "wizard.set-disk-size"))
        self->disk_gib = CLAMP(g_variant_get_int64(param), 1, 65536);
    sync_ui(self);
}

static void next_action(GtkWidget *widget, const char *name, GVariant *param)
{
    (void)name, (void)param;
    VesselWizard *self = VESSEL_WIZARD(widget);
    gboolean ok;
    g_free(page_message(self, self->page, &ok));
    if (!ok || self->page >= N_PAGES - 1)
        return;
    self->page++;
    if (self->page == 1 && self->source == SOURCE_DEMO)
        self->page++; /* the demo brings its own files */
    if (self->page == 4)
        propose_name(self);
    sync_ui(self);
}

static void back_action(GtkWidget *widget, const char *name, GVariant *param)
{
    (void)name, (void)param;
    VesselWizard *self = VESSEL_WIZARD(widget);
    if (self->page == 0 || self->creating)
        return;
    self->page--;
    if (self->page == 1 && self->source == SOURCE_DEMO)
        self->page--;
    g_clear_pointer(&self->create_error, g_free);
    sync_ui(self);
}

/* ---- creating ----------------------------------------------------------------------------- */

static void create_failed(VesselWizard *self, const char *message)
{
    self->creating = FALSE;
    g_free(self->create_error);
    self->create_error = g_strdup(message);
    adw_toast_overlay_add_toast(self->toast_overlay, adw_toast_new(_("The VM was not created")));
    sync_ui(self);
}

static AdwToastOverlay *find_toast_overlay(GtkWidget *w)
{
    if (!w)
        return NULL;
    if (ADW_IS_TOAST_OVERLAY(w))
        return ADW_TOAST_OVERLAY(w);
    for (GtkWidget *c = gtk_widget_get_first_child(w); c; c = gtk_widget_get_next_sibling(c)) {
        AdwToastOverlay *o = find_toast_overlay(c);
        if (o)
            return o;
    }
    return NULL;
}

static void create_succeeded(VesselWizard *self, gint64 id)
{
    self->creating = FALSE;
    self->created_id = id;
    g_object_notify_by_pspec(G_OBJECT(self), props[PROP_CREATED_ID]);
    g_signal_emit(self, signals[SIGNAL_VM_CREATED], 0, id);
    if (self->parent) {
        gtk_widget_activate_action(GTK_WIDGET(self->parent), "win.select-vm", "x", id);
        AdwToastOverlay *o = find_toast_overlay(GTK_WIDGET(self->parent));
        if (o) {
            g_autofree char *name = g_strstrip(g_strdup(self->name ? self->name : ""));
            g_autofree char *t = g_strdup_printf(_("“%s” was created"), name);
            adw_toast_overlay_add_toast(o, adw_toast_new(t));
        }
    }
    gtk_window_close(GTK_WINDOW(self));
}

typedef struct {
    VesselWizard *self;
    gint64 id;
    char *path;  /* the new disk image */
    char *error; /* why it failed, kept while the VM is deleted again */
    gint64 size;
} DiskJob;

static void disk_job_free(DiskJob *j)
{
    g_object_unref(j->self);
    g_free(j->path);
    g_free(j->error);
    g_free(j);
}

static void rollback_done(GObject *source, GAsyncResult *res, gpointer user_data)
{
    DiskJob *j = user_data;
    g_autoptr(GError) error = NULL;
    if (!vessel_store_delete_vm_finish(VESSEL_STORE(source), res, &error)) {
        g_autofree char *m = g_strdup_printf(_("%s\nThe half-made VM could not be removed "
                                               "again either: %s"),
                                             j->error, error->message);
        create_failed(j->self, m);
    } else {
        create_failed(j->self, j->error);
    }
    disk_job_free(j);
}

static void rollback(DiskJob *j, const char *message)
{
    g_free(j->error);
    j->error = g_strdup(message);
    VesselStore *store = get_store(j->self);
    vessel_store_delete_vm_async(store, j->id, FALSE, NULL, rollback_done, j);
}

static void disk_saved(GObject *source, GAsyncResult *res, gpointer user_data)
{
    DiskJob *j = user_data;
    g_autoptr(GError) error = NULL;
    if (!vessel_store_save_vm_finish(VESSEL_STORE(source), res, &error)) {
        g_autofree char *m =
            g_strdup_printf(_("The disk could not be added to the VM: %s"), error->message);
        rollback(j, m);
        return;
    }
    VesselWizard *self = j->self;
    gint64 id = j->id;
    disk_job_free(j);
    create_succeeded(self, id);
}

static void disk_thread(GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
    (void)source, (void)cancellable;
    DiskJob *j = data;
    g_autofree char *dir = g_path_get_dirname(j->path);
    if (g_mkdir_with_parents(dir, 0755) < 0) {
        g_task_return_new_error(task, G_IO_ERROR, g_io_error_from_errno(errno),
                                _("Cannot make the folder “%s”: %s"), dir, g_strerror(errno));
        return;
    }
    VsError err = { 0 };
    if (vs_image_create(j->path, VS_DISK_FORMAT_QCOW2, (guint64)j->size << 30, &err) != VS_OK) {
        g_task_return_new_error(task, G_IO_ERROR, G_IO_ERROR_FAILED, "%s", err.message);
        return;
    }
    g_task_return_boolean(task, TRUE);
}

static void disk_created(GObject *source, GAsyncResult *res, gpointer user_data)
{
    (void)source;
    DiskJob *j = user_data;
    g_autoptr(GError) error = NULL;
    if (!g_task_propagate_boolean(G_TASK(res), &error)) {
        g_autofree char *m =
            g_strdup_printf(_("The new disk could not be created: %s"), error->message);
        rollback(j, m);
        return;
    }
    VesselStore *store = get_store(j->self);
    VesselVm *vm = vessel_store_lookup(store, j->id);
    if (!vm) {
        rollback(j, _("The new VM disappeared from the library."));
        return;
    }
    VlVm *rec = vessel_vm_record_dup(vessel_vm_get_record(vm));
    int pos = 0;
    for (size_t i = 0; i < rec->n_drives; i++)
        pos = MAX(pos, rec->drives[i].position + 1);
    VlDrive *d = vl_vm_add_drive(rec);
    g_strlcpy(d->path, j->path, sizeof(d->path));
    g_strlcpy(d->format, "qcow2", sizeof(d->format));
    d->position = pos;
    vessel_store_save_vm_async(store, rec, NULL, disk_saved, j);
    vessel_vm_record_free(rec);
}

static void vm_created(GObject *source, GAsyncResult *res, gpointer user_data)
{
    VesselWizard *self = user_data; /* a reference taken by create_action */
    g_autoptr(GError) error = NULL;
    gint64 id = vessel_store_create_vm_finish(VESSEL_STORE(source), res, &error);
    if (id == 0) {
        g_autofree char *m = NULL;
        if (g_error_matches(error, VESSEL_STORE_ERROR, VL_ERR_EXISTS))
            m = g_strdup_printf(_("The name “%s” was taken meanwhile (by another window or "
                                  "program): go back and choose another name."),
                                self->name);
        else
            m = g_strdup_printf(_("The VM could not be created: %s"), error->message);
        create_failed(self, m);
        g_object_unref(self);
        return;
    }
    if (self->storage != STORAGE_NEW) {
        create_succeeded(self, id);
        g_object_unref(self);
        return;
    }
    DiskJob *j = g_new0(DiskJob, 1);
    j->self = self; /* takes over the reference */
    j->id = id;
    j->size = self->disk_gib;
    VesselVm *vm = vessel_store_lookup(VESSEL_STORE(source), id);
    if (!vm) {
        rollback(j, _("The new VM disappeared from the library."));
        return;
    }
    const VlVm *rec = vessel_vm_get_record(vm);
    g_autofree char *bundle = vessel_store_bundle_path(VESSEL_STORE(source), rec->uuid);
    if (!bundle) {
        rollback(j, _("The new VM has no folder in the library."));
        return;
    }
    g_autofree char *file = g_strdup_printf("disk%zu.qcow2", rec->n_drives);
    j->path = g_build_filename(bundle, "disks", file, NULL);
    GTask *task = g_task_new(NULL, NULL, disk_created, j);
    g_task_set_task_data(task, j, NULL);
    g_task_run_in_thread(task, disk_thread);
    g_object_unref(task);
}

/* The record for the chosen settings. FALSE with a message when it cannot be made. */
static gboolean build_record(VesselWizard *self, VlVm *rec, char **error_out)
{
    vl_vm_init(rec);
    if (self->source == SOURCE_DEMO) {
        g_autoptr(GError) error = NULL;
        if (!vessel_demo_fill_record(rec, &error)) {
            *error_out = g_strdup(error->message);
            return FALSE;
        }
    }
    g_autofree char *name = g_strstrip(g_strdup(self->name ? self->name : ""));
    g_strlcpy(rec->name, name, sizeof(rec->name));
    g_strlcpy(rec->arch, arch_names[self->arch], sizeof(rec->arch));
    g_strlcpy(rec->os_kind, "linux", sizeof(rec->os_kind));
    rec->memory_bytes = (guint64)self->memory_mib << 20;
    rec->vcpus = self->vcpus;
    Slot *m = main_slot(self);
    switch (self->source) {
    case SOURCE_ISO: {
        rec->boot = VL_BOOT_ISO;
        VlMedia *media = vl_vm_add_media(rec);
        media->slot = 0;
        g_strlcpy(media->path, m->path, sizeof(media->path));
        break;
    }
    case SOURCE_DISK: {
        rec->boot = VL_BOOT_DISK;
        VlDrive *d = vl_vm_add_drive(rec);
        g_strlcpy(d->path, m->path, sizeof(d->path));
        g_strlcpy(d->format, m->format[0] ? m->format : "raw", sizeof(d->format));
        d->position = 0;
        break;
    }
    case SOURCE_KERNEL:
        rec->boot = VL_BOOT_KERNEL;
        g_strlcpy(rec->kernel, m->path, sizeof(rec->kernel));
        g_strlcpy(rec->initrd, self->slots[SLOT_INITRD].path ? self->slots[SLOT_INITRD].path : "",
                  sizeof(rec->initrd));
        g_strlcpy(rec->cmdline, self->cmdline ? self->cmdline : "", sizeof(rec->cmdline));
        g_strlcpy(rec->firmware,
                  self->slots[SLOT_FIRMWARE].path ? self->slots[SLOT_FIRMWARE].path : "",
                  sizeof(rec->firmware));
        break;
    case SOURCE_DEMO: break;
    }
    /* The store records its variable store once the VM has a folder (vessel-store.c). */
    if (uefi_boot(self)) {
        g_autofree char *code = NULL;
        g_autoptr(GError) error = NULL;
        if (!vessel_uefi_find_aavmf(&code, NULL, &error)) {
            *error_out = g_strdup(error->message);
            return FALSE;
        }
        g_strlcpy(rec->firmware, code, sizeof(rec->firmware));
    }
    if (self->storage == STORAGE_EXISTING) {
        Slot *e = &self->slots[SLOT_EXISTING];
        int pos = 0;
        for (size_t i = 0; i < rec->n_drives; i++)
            pos = MAX(pos, rec->drives[i].position + 1);
        VlDrive *d = vl_vm_add_drive(rec);
        g_strlcpy(d->path, e->path, sizeof(d->path));
        g_strlcpy(d->format, e->format[0] ? e->format : "raw", sizeof(d->format));
        d->position = pos;
    }
    if (self->share_enabled) {
        VlShare *s = vl_vm_add_share(rec);
        g_strlcpy(s->path, self->slots[SLOT_SHARE].path, sizeof(s->path));
        g_strlcpy(s->tag, self->share_tag, sizeof(s->tag));
    }
    if (rec->n_nics == 0) {
        VlNic *n = vl_vm_add_nic(rec);
        n->mode = VL_NET_USER;
        n->position = 0;
    }
    return TRUE;
}

static void create_action(GtkWidget *widget, const char *name, GVariant *param)
{
    (void)name, (void)param;
    VesselWizard *self = VESSEL_WIZARD(widget);
    VesselStore *store = get_store(self);
    if (self->creating || !store)
        return;
    /* Every page must still be valid: another window may have taken the name meanwhile. */
    for (int p = 0; p < N_PAGES - 1; p++) {
        gboolean ok;
        g_autofree char *m = page_message(self, p, &ok);
        if (!ok) {
            g_free(self->create_error);
            self->create_error = g_strdup(m ? m : _("A page above is not complete."));
            sync_ui(self);
            return;
        }
    }
    g_clear_pointer(&self->create_error, g_free);
    VlVm rec;
    g_autofree char *error = NULL;
    if (!build_record(self, &rec, &error)) {
        vl_vm_clear(&rec);
        create_failed(self, error);
        return;
    }
    self->creating = TRUE;
    sync_ui(self);
    vessel_store_create_vm_async(store, &rec, NULL, vm_created, g_object_ref(self));
    vl_vm_clear(&rec);
}

/* ---- widget signals ----------------------------------------------------------------------- */

static void on_arch_selected(AdwComboRow *row, GParamSpec *pspec, VesselWizard *self)
{
    (void)pspec;
    if (!self->syncing)
        set_arch(self, (int)adw_combo_row_get_selected(row));
}

static void on_cmdline_changed(GtkEditable *e, VesselWizard *self)
{
    if (self->syncing)
        return;
    g_free(self->cmdline);
    self->cmdline = g_strdup(gtk_editable_get_text(e));
}

static void on_memory_changed(GtkSpinButton *spin, VesselWizard *self)
{
    if (!self->syncing)
        self->memory_mib = (gint64)gtk_spin_button_get_value(spin);
}

static void on_vcpus_changed(GtkSpinButton *spin, VesselWizard *self)
{
    if (!self->syncing)
        self->vcpus = gtk_spin_button_get_value_as_int(spin);
}

static void on_disk_size_changed(GtkSpinButton *spin, VesselWizard *self)
{
    if (!self->syncing)
        self->disk_gib = (gint64)gtk_spin_button_get_value(spin);
}

static void on_share_enabled(AdwExpanderRow *row, GParamSpec *pspec, VesselWizard *self)
{
    (void)pspec;
    if (self->syncing)
        return;
    self->share_enabled = adw_expander_row_get_enable_expansion(row);
    sync_ui(self);
}

static void on_share_tag_changed(GtkEditable *e, VesselWizard *self)
{
    if (self->syncing)
        return;
    g_free(self->share_tag);
    self->share_tag = g_strdup(gtk_editable_get_text(e));
    sync_ui(self);
}

static void on_name_changed(GtkEditable *e, VesselWizard *self)
{
    if (self->syncing)
        return;
    g_free(self->name);
    self->name = g_strdup(gtk_editable_get_text(e));
    self->name_edited = TRUE;
    sync_ui(self);
}

/* Closing while the VM is being written would leave the steps after it without a window. */
static gboolean on_close_request(GtkWindow *window, VesselWizard *self)
{
    (void)window;
    if (self->creating) {
        adw_toast_overlay_add_toast(self->toast_overlay,
                                    adw_toast_new(_("Wait until the VM is created")));
        return TRUE;
    }
    return FALSE;
}

/* Enter in the name goes on to the summary, as the Next button would. */
static void on_name_activated(AdwEntryRow *row, VesselWizard *self)
{
    (void)row;
    gtk_widget_activate_action(GTK_WIDGET(self), "wizard.next", NULL);
}

/* ---- GObject ------------------------------------------------------------------------------ */

static void vessel_wizard_get_property(GObject *object, guint prop_id, GValue *value,
                                       GParamSpec *pspec)
{
    VesselWizard *self = VESSEL_WIZARD(object);
    gboolean ok;
    switch (prop_id) {
    case PROP_SOURCE: g_value_set_string(value, source_names[self->source]); break;
    case PROP_STORAGE: g_value_set_string(value, storage_names[self->storage]); break;
    case PROP_PAGE: g_value_set_string(value, current_page_name(self)); break;
    case PROP_CAN_NEXT:
        g_free(page_message(self, self->page, &ok));
        g_value_set_boolean(value, ok);
        break;
    case PROP_BUSY: {
        gboolean busy = self->creating;
        for (int i = 0; i < N_SLOTS; i++)
            busy |= self->slots[i].busy;
        g_value_set_boolean(value, busy);
        break;
    }
    case PROP_MESSAGE: g_value_take_string(value, page_message(self, self->page, &ok)); break;
    case PROP_ARCH: g_value_set_string(value, arch_names[self->arch]); break;
    case PROP_CREATED_ID: g_value_set_int64(value, self->created_id); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
    }
}

static void vessel_wizard_set_property(GObject *object, guint prop_id, const GValue *value,
                                       GParamSpec *pspec)
{
    VesselWizard *self = VESSEL_WIZARD(object);
    int i;
    switch (prop_id) {
    case PROP_SOURCE:
        i = name_index(source_names, 4, g_value_get_string(value));
        if (i >= 0)
            set_source(self, (Source)i);
        break;
    case PROP_STORAGE:
        i = name_index(storage_names, 3, g_value_get_string(value));
        if (i >= 0)
            set_storage(self, (Storage)i);
        break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
    }
}

static void vessel_wizard_dispose(GObject *object)
{
    VesselWizard *self = VESSEL_WIZARD(object);
    if (self->cancellable)
        g_cancellable_cancel(self->cancellable);
    g_clear_object(&self->cancellable);
    if (self->parent)
        g_object_remove_weak_pointer(G_OBJECT(self->parent), (gpointer *)&self->parent);
    self->parent = NULL;
    gtk_widget_dispose_template(GTK_WIDGET(self), VESSEL_TYPE_WIZARD);
    G_OBJECT_CLASS(vessel_wizard_parent_class)->dispose(object);
}

static void vessel_wizard_finalize(GObject *object)
{
    VesselWizard *self = VESSEL_WIZARD(object);
    for (int i = 0; i < N_SLOTS; i++) {
        g_free(self->slots[i].path);
        g_free(self->slots[i].message);
    }
    g_free(self->cmdline);
    g_free(self->share_tag);
    g_free(self->name);
    g_free(self->demo_kernel);
    g_free(self->demo_initrd);
    g_free(self->demo_firmware);
    g_free(self->demo_error);
    g_free(self->create_error);
    G_OBJECT_CLASS(vessel_wizard_parent_class)->finalize(object);
}

static void vessel_wizard_class_init(VesselWizardClass *klass)
{
    GObjectClass *object_class = G_OBJECT_CLASS(klass);
    GtkWidgetClass *widget_class = GTK_WIDGET_CLASS(klass);
    object_class->get_property = vessel_wizard_get_property;
    object_class->set_property = vessel_wizard_set_property;
    object_class->dispose = vessel_wizard_dispose;
    object_class->finalize = vessel_wizard_finalize;

    GParamFlags ro = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY;
    GParamFlags rw = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY;
    props[PROP_SOURCE] = g_param_spec_string("source", NULL, NULL, "iso", rw);
    props[PROP_STORAGE] = g_param_spec_string("storage", NULL, NULL, "new", rw);
    props[PROP_PAGE] = g_param_spec_string("page", NULL, NULL, "source", ro);
    props[PROP_CAN_NEXT] = g_param_spec_boolean("can-next", NULL, NULL, TRUE, ro);
    props[PROP_BUSY] = g_param_spec_boolean("busy", NULL, NULL, FALSE, ro);
    props[PROP_MESSAGE] = g_param_spec_string("message", NULL, NULL, "", ro);
    props[PROP_ARCH] = g_param_spec_string("arch", NULL, NULL, "riscv64", ro);
    props[PROP_CREATED_ID] = g_param_spec_int64("created-id", NULL, NULL, 0, G_MAXINT64, 0, ro);
    g_object_class_install_properties(object_class, N_PROPS, props);
    signals[SIGNAL_VM_CREATED] =
        g_signal_new("vm-created", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                     G_TYPE_NONE, 1, G_TYPE_INT64);

    gtk_widget_class_set_template_from_resource(widget_class,
                                                "/io/github/vessel/Vessel/vessel-wizard.ui");
    /* clang-format off */
#define CHILD(name) gtk_widget_class_bind_template_child(widget_class, VesselWizard, name)
    CHILD(toast_overlay); CHILD(window_title); CHILD(back_button); CHILD(next_button);
    CHILD(create_button); CHILD(busy_spinner); CHILD(stack); CHILD(source_message);
    CHILD(files_group); CHILD(file_row); CHILD(initrd_row); CHILD(firmware_row);
    CHILD(cmdline_row); CHILD(arch_row); CHILD(detect_spinner); CHILD(files_message);
    CHILD(memory_row); CHILD(vcpus_row); CHILD(memory_spin); CHILD(vcpus_spin);
    CHILD(disk_size_row); CHILD(existing_row); CHILD(disk_size_spin); CHILD(share_expander);
    CHILD(share_folder_row); CHILD(share_tag_row); CHILD(storage_message); CHILD(name_row);
    CHILD(name_message); CHILD(summary_list); CHILD(summary_note); CHILD(summary_message);
#undef CHILD
    /* clang-format on */

    gtk_widget_class_install_property_action(widget_class, "wizard.set-source", "source");
    gtk_widget_class_install_property_action(widget_class, "wizard.set-storage", "storage");
    static const char *const string_actions[] = {
        "wizard.set-file",          "wizard.set-initrd",    "wizard.set-firmware",
        "wizard.set-existing-disk", "wizard.set-cmdline",   "wizard.set-arch",
        "wizard.set-share",         "wizard.set-share-tag", "wizard.set-name",
    };
    for (size_t i = 0; i < G_N_ELEMENTS(string_actions); i++)
        gtk_widget_class_install_action(widget_class, string_actions[i], "s", string_action);
    gtk_widget_class_install_action(widget_class, "wizard.set-memory", "x", number_action);
    gtk_widget_class_install_action(widget_class, "wizard.set-disk-size", "x", number_action);
    gtk_widget_class_install_action(widget_class, "wizard.set-vcpus", "i", number_action);
    gtk_widget_class_install_action(widget_class, "wizard.next", NULL, next_action);
    gtk_widget_class_install_action(widget_class, "wizard.back", NULL, back_action);
    gtk_widget_class_install_action(widget_class, "wizard.create", NULL, create_action);
    static const char *const choosers[] = { "wizard.choose-file", "wizard.choose-initrd",
                                            "wizard.choose-firmware", "wizard.choose-existing-disk",
                                            "wizard.choose-share" };
    for (size_t i = 0; i < G_N_ELEMENTS(choosers); i++)
        gtk_widget_class_install_action(widget_class, choosers[i], NULL, choose_file_action);
    gtk_widget_class_add_binding_action(widget_class, GDK_KEY_Escape, 0, "window.close", NULL);
}

static void host_limits(VesselWizard *self)
{
    long pages = sysconf(_SC_PHYS_PAGES), page_size = sysconf(_SC_PAGESIZE);
    gint64 host_mib = pages > 0 && page_size > 0 ? ((gint64)pages * page_size) >> 20 : 2048;
    self->host_mib = host_mib;
    /* Leave the host at least a quarter of its memory. */
    self->max_memory_mib = MAX(128, host_mib - host_mib / 4);
    self->memory_mib = MIN(2048, MAX(128, host_mib / 2));
    self->max_vcpus = CLAMP((int)g_get_num_processors(), 1, 64);
    self->vcpus = MIN(2, self->max_vcpus);
}

static void vessel_wizard_init(VesselWizard *self)
{
    gtk_widget_init_template(GTK_WIDGET(self));
    self->cancellable = g_cancellable_new();
    self->source = SOURCE_ISO;
    self->storage = STORAGE_NEW;
    self->disk_gib = 20;
    /* The kernel's last console is /dev/console: the serial port, which the VM window's
     * console tab shows; tty0 puts the messages on the screen too. */
    self->cmdline = g_strdup("console=tty0 console=ttyS0");
    self->share_tag = g_strdup("share");
    host_limits(self);

    gtk_spin_button_set_increments(self->memory_spin, 256, 1024);
    gtk_spin_button_set_increments(self->vcpus_spin, 1, 2);
    gtk_spin_button_set_range(self->disk_size_spin, 1, 65536);
    gtk_spin_button_set_increments(self->disk_size_spin, 1, 10);
    g_autofree char *mem_sub = g_strdup_printf(_("This computer has %d MiB"), (int)self->host_mib);
    adw_action_row_set_subtitle(self->memory_row, mem_sub);
    g_autofree char *cpu_sub =
        g_strdup_printf(ngettext("This computer has %u processor",
                                 "This computer has %u processors", g_get_num_processors()),
                        g_get_num_processors());
    adw_action_row_set_subtitle(self->vcpus_row, cpu_sub);

    g_signal_connect(self->arch_row, "notify::selected", G_CALLBACK(on_arch_selected), self);
    g_signal_connect(self->cmdline_row, "changed", G_CALLBACK(on_cmdline_changed), self);
    g_signal_connect(self->memory_spin, "value-changed", G_CALLBACK(on_memory_changed), self);
    g_signal_connect(self->vcpus_spin, "value-changed", G_CALLBACK(on_vcpus_changed), self);
    g_signal_connect(self->disk_size_spin, "value-changed", G_CALLBACK(on_disk_size_changed), self);
    g_signal_connect(self->share_expander, "notify::enable-expansion", G_CALLBACK(on_share_enabled),
                     self);
    g_signal_connect(self->share_tag_row, "changed", G_CALLBACK(on_share_tag_changed), self);
    g_signal_connect(self->name_row, "changed", G_CALLBACK(on_name_changed), self);
    g_signal_connect(self->name_row, "entry-activated", G_CALLBACK(on_name_activated), self);
    g_signal_connect(self, "close-request", G_CALLBACK(on_close_request), self);
}

GtkWindow *vessel_wizard_new(VesselApplication *app, GtkWindow *parent)
{
    VesselWizard *self = g_object_new(VESSEL_TYPE_WIZARD, "application", app, NULL);
    self->app = app;
    if (parent) {
        gtk_window_set_transient_for(GTK_WINDOW(self), parent);
        self->parent = parent;
        g_object_add_weak_pointer(G_OBJECT(parent), (gpointer *)&self->parent);
    }
    /* The demo's files: the riscv64 kernel boot's default firmware, and the demo source. */
    g_autoptr(GError) error = NULL;
    if (vessel_demo_find_assets(&self->demo_kernel, &self->demo_initrd, &self->demo_firmware,
                                &error)) {
        slot_set(self, SLOT_FIRMWARE, self->demo_firmware);
    } else {
        self->demo_error = g_strdup(error->message);
    }
    sync_ui(self);
    gtk_window_present(GTK_WINDOW(self));
    return GTK_WINDOW(self);
}
