/* SPDX-License-Identifier: MIT */
/*
 * The Vessel VM library: the VMs a user has made, stored in an SQLite database
 * ($XDG_DATA_HOME/vessel/library.db by default) with one bundle directory per VM
 * (<library dir>/vms/<uuid>/ with disks/, snapshots/, nvram/ and logs/; an arm64 UEFI VM's
 * variable store lives in nvram/).
 *
 * Plain C over sqlite3; no GTK, no GLib. A VlLibrary is one database connection: use it
 * from one thread at a time (the app keeps it on one worker thread).
 *
 * Every write is one transaction (BEGIN IMMEDIATE ... COMMIT): on any error it is rolled
 * back and nothing of it remains, including a half-created bundle directory.
 *
 * Errors are a VlStatus plus a message a person can act on, in a caller-provided VlError.
 */
#ifndef VESSEL_LIBRARY_H
#define VESSEL_LIBRARY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VL_SCHEMA_VERSION 3

#define VL_NAME_MAX       128 /* VM name, bytes including the NUL */
#define VL_PATH_MAX       4096
#define VL_TEXT_MAX       4096 /* kernel command line */
#define VL_TAG_MAX        32   /* 9P mount tag, including the NUL */
#define VL_IFNAME_MAX     16   /* IFNAMSIZ */

typedef enum {
    VL_OK = 0,
    VL_ERR_INVALID,   /* a setting is out of range or malformed (nothing was written) */
    VL_ERR_EXISTS,    /* a name, share tag, drive position... is already taken */
    VL_ERR_NOT_FOUND, /* no such VM or child row */
    VL_ERR_IO,        /* a file or directory operation failed (errno in the message) */
    VL_ERR_CORRUPT,   /* the database file is damaged or not a Vessel library (backed up) */
    VL_ERR_NEWER,     /* the database was written by a newer Vessel (backed up, untouched) */
    VL_ERR_LOCKED,    /* another program holds the database beyond the busy timeout */
    VL_ERR_DB,        /* any other SQLite failure */
    VL_ERR_NOMEM,
} VlStatus;

typedef struct {
    VlStatus code;
    char message[1024];
    /* For VL_ERR_CORRUPT / VL_ERR_NEWER from vl_open: the backup copy made, else "". */
    char backup_path[VL_PATH_MAX];
} VlError;

typedef enum { VL_ACCEL_AUTO, VL_ACCEL_KVM, VL_ACCEL_JIT, VL_ACCEL_INTERPRETER } VlAccel;
typedef enum { VL_PIN_AUTO, VL_PIN_PERFORMANCE, VL_PIN_LIST, VL_PIN_NONE } VlPin;
typedef enum { VL_BOOT_ISO, VL_BOOT_DISK, VL_BOOT_KERNEL, VL_BOOT_DEMO } VlBoot;
typedef enum { VL_NET_USER, VL_NET_BRIDGE, VL_NET_NONE } VlNetMode;
typedef enum { VL_GL_AUTO, VL_GL_ON, VL_GL_OFF } VlGl;

typedef struct {
    int64_t id;
    char path[VL_PATH_MAX];
    char format[8]; /* "raw" or "qcow2" */
    bool readonly;
    int position; /* boot/bus order, unique per VM */
} VlDrive;

/* A removable-media slot (a CD/ISO drive). An empty path means the slot is empty. */
typedef struct {
    int64_t id;
    int slot; /* unique per VM */
    char path[VL_PATH_MAX];
} VlMedia;

typedef struct {
    int64_t id;
    char proto[4];      /* "tcp" or "udp" */
    char host_addr[64]; /* "" = all host addresses */
    int host_port;      /* 1..65535, unique per adapter and protocol */
    int guest_port;     /* 1..65535 */
} VlForward;

typedef struct {
    int64_t id;
    int position; /* unique per VM */
    VlNetMode mode;
    char ifname[VL_IFNAME_MAX]; /* the TAP interface for VL_NET_BRIDGE */
    char mac[18];               /* "52:54:00:12:34:56"; "" on create = generate one */
    VlForward *forwards;        /* port forwards (VL_NET_USER only), owned */
    size_t n_forwards;
} VlNic;

typedef struct {
    int64_t id;
    char path[VL_PATH_MAX]; /* host directory */
    char tag[VL_TAG_MAX];   /* 9P mount tag: [A-Za-z0-9_.-]{1,31}, unique per VM */
    bool readonly;
} VlShare;

typedef struct {
    int width, height; /* 320..16384 x 200..16384 */
    bool scale_to_fit;
    VlGl gl;
} VlDisplay;

/*
 * A VM with all its settings. The arrays are owned by the VlVm: grow them with the
 * vl_vm_add_* helpers and release everything with vl_vm_clear().
 */
typedef struct {
    int64_t id;    /* set by the library */
    char uuid[37]; /* set by the library on create */
    char name[VL_NAME_MAX];
    char arch[16];         /* "riscv64", "aarch64" or "x86_64" */
    char os_kind[16];      /* "linux", "windows", "bsd" or "other" */
    uint64_t memory_bytes; /* 16 MiB .. 1 TiB, whole MiB */
    int vcpus;             /* 1..512 */
    VlAccel accel;
    int jit_threshold; /* executions before a block is compiled: 1..1000000 */
    VlPin pin;
    char pin_cpus[256]; /* for VL_PIN_LIST: "0-3,6" */
    char firmware[VL_PATH_MAX];
    /* The UEFI variable store (a flash image the firmware writes: boot entries, settings),
     * normally <bundle>/nvram/efi-vars.fd; "" = none. Set by the app, not by the user. */
    char efi_vars[VL_PATH_MAX];
    VlBoot boot;
    char kernel[VL_PATH_MAX]; /* required for VL_BOOT_KERNEL */
    char initrd[VL_PATH_MAX];
    char cmdline[VL_TEXT_MAX];
    int64_t created, modified; /* Unix seconds, set by the library */

    VlDrive *drives;
    size_t n_drives;
    VlMedia *media;
    size_t n_media;
    VlNic *nics;
    size_t n_nics;
    VlShare *shares;
    size_t n_shares;
    VlDisplay display;
} VlVm;

typedef struct VlLibrary VlLibrary;

/* "$XDG_DATA_HOME/vessel/library.db" ("~/.local/share/..." when unset). */
VlStatus vl_default_path(char *buf, size_t size, VlError *err);

/*
 * Opens (creating if absent) the library at path, or at vl_default_path() when path is
 * NULL, and migrates an older schema forward. Bundles live in <dir of path>/vms/.
 * A corrupt file, a file from a newer Vessel, or a locked file fail with
 * VL_ERR_CORRUPT / VL_ERR_NEWER / VL_ERR_LOCKED; the first two leave a timestamped copy
 * next to the file (err->backup_path). The original file is never modified in these
 * cases, and no empty library is ever created over an existing file.
 */
VlStatus vl_open(const char *path, VlLibrary **out, VlError *err);
/* Same with an explicit busy timeout (vl_open waits 5000 ms for another writer). */
VlStatus vl_open_timeout(const char *path, int busy_timeout_ms, VlLibrary **out, VlError *err);
void vl_close(VlLibrary *lib);
const char *vl_path(const VlLibrary *lib);
int vl_schema_version(const VlLibrary *lib);

/* The VM's bundle directory: <library dir>/vms/<uuid>. */
VlStatus vl_bundle_path(const VlLibrary *lib, const char *uuid, char *buf, size_t size,
                        VlError *err);

/* Defaults: riscv64 linux, 512 MiB, 1 vCPU, auto accel/pinning, demo boot, 1024x768. */
void vl_vm_init(VlVm *vm);
void vl_vm_clear(VlVm *vm);
/* Append a zeroed element (with defaults) and return it; NULL when out of memory. */
VlDrive *vl_vm_add_drive(VlVm *vm);
VlMedia *vl_vm_add_media(VlVm *vm);
VlNic *vl_vm_add_nic(VlVm *vm);
VlShare *vl_vm_add_share(VlVm *vm);
VlForward *vl_nic_add_forward(VlNic *nic);

/*
 * Creates the VM with all its child rows and its bundle directory. vm->id, uuid,
 * created and modified are ignored; the new id (and uuid, if uuid_out) are returned.
 */
VlStatus vl_vm_create(VlLibrary *lib, const VlVm *vm, int64_t *id_out, char uuid_out[37],
                      VlError *err);
/* Fills vm (vl_vm_clear it afterwards) with the VM and all its child rows. */
VlStatus vl_vm_get(VlLibrary *lib, int64_t id, VlVm *vm, VlError *err);
VlStatus vl_vm_find(VlLibrary *lib, const char *name, int64_t *id_out, VlError *err);
/* All VMs, sorted by name. Free with vl_vm_list_free. */
VlStatus vl_vm_list(VlLibrary *lib, VlVm **vms_out, size_t *n_out, VlError *err);
void vl_vm_list_free(VlVm *vms, size_t n);
/* Writes vm's own settings (by vm->id) and its display settings; child rows are
 * changed with their own calls below. */
VlStatus vl_vm_update(VlLibrary *lib, const VlVm *vm, VlError *err);
/*
 * Writes the whole record in one transaction: the VM's own settings, its display, and its
 * child rows (drives, media, adapters with their forwards, shares), which replace the
 * stored ones (they get new row ids; MAC addresses are kept as given). On any error
 * nothing changes.
 */
VlStatus vl_vm_save(VlLibrary *lib, const VlVm *vm, VlError *err);
VlStatus vl_vm_rename(VlLibrary *lib, int64_t id, const char *new_name, VlError *err);
/* Records the VM's UEFI variable store (path, or "" for none) without changing its
 * modified time: the store is the VM's own state, not a setting the user changed. */
VlStatus vl_vm_set_efi_vars(VlLibrary *lib, int64_t id, const char *path, VlError *err);
/* "<bundle>/nvram/efi-vars.fd": where a VM's UEFI variable store belongs. */
VlStatus vl_efi_vars_path(const VlLibrary *lib, const char *uuid, char *buf, size_t size,
                          VlError *err);
/*
 * Deletes the VM's rows and its bundle directory. With keep_disks the bundle's disks/ and
 * snapshots/ directories (and the bundle directory holding them) are kept; nvram/, logs/
 * and anything else go. Disk images outside the bundle are never touched.
 */
VlStatus vl_vm_delete(VlLibrary *lib, int64_t id, bool keep_disks, VlError *err);
/*
 * A copy of the VM under new_name with a new uuid, new MAC addresses and a new bundle.
 * Disk images inside the source bundle's disks/ are COPIED into the new bundle (the
 * drive rows point at the copies); images elsewhere are REFERENCED (same path). A UEFI
 * variable store inside the source bundle is copied too (the clone keeps its boot entries). Media,
 * shares, forwards and display settings are copied as rows.
 */
VlStatus vl_vm_clone(VlLibrary *lib, int64_t id, const char *new_name, int64_t *id_out,
                     VlError *err);

/* Child rows. Every call updates the VM's modified time in the same transaction. */
VlStatus vl_drive_add(VlLibrary *lib, int64_t vm_id, const VlDrive *d, int64_t *id_out,
                      VlError *err);
VlStatus vl_drive_update(VlLibrary *lib, const VlDrive *d, VlError *err);
VlStatus vl_drive_remove(VlLibrary *lib, int64_t drive_id, VlError *err);

VlStatus vl_media_add(VlLibrary *lib, int64_t vm_id, const VlMedia *m, int64_t *id_out,
                      VlError *err);
/* Insert (path) or eject ("" or NULL) the medium in a slot. */
VlStatus vl_media_set_path(VlLibrary *lib, int64_t media_id, const char *path, VlError *err);
VlStatus vl_media_remove(VlLibrary *lib, int64_t media_id, VlError *err);

/* Adds the adapter and its forwards; an empty mac gets a generated one. */
VlStatus vl_nic_add(VlLibrary *lib, int64_t vm_id, const VlNic *n, int64_t *id_out, VlError *err);
/* Updates the adapter row (mode, ifname, mac, position); forwards are left alone. */
VlStatus vl_nic_update(VlLibrary *lib, const VlNic *n, VlError *err);
VlStatus vl_nic_remove(VlLibrary *lib, int64_t nic_id, VlError *err);
VlStatus vl_forward_add(VlLibrary *lib, int64_t nic_id, const VlForward *f, int64_t *id_out,
                        VlError *err);
VlStatus vl_forward_remove(VlLibrary *lib, int64_t forward_id, VlError *err);

VlStatus vl_share_add(VlLibrary *lib, int64_t vm_id, const VlShare *s, int64_t *id_out,
                      VlError *err);
VlStatus vl_share_update(VlLibrary *lib, const VlShare *s, VlError *err);
VlStatus vl_share_remove(VlLibrary *lib, int64_t share_id, VlError *err);

VlStatus vl_display_set(VlLibrary *lib, int64_t vm_id, const VlDisplay *d, VlError *err);

const char *vl_accel_name(VlAccel a);
const char *vl_pin_name(VlPin p);
const char *vl_boot_name(VlBoot b);
const char *vl_net_mode_name(VlNetMode m);
const char *vl_gl_name(VlGl g);

#endif
