/* SPDX-License-Identifier: MIT */
/*
 * libvessel-engine public API.
 *
 * This is the only header a front end (vessel-run, the app, tests) includes. It has no
 * GLib/GTK dependency. Every call that can fail returns a VsStatus and fills a VsError
 * with a message a person can act on.
 */
#ifndef VESSEL_ENGINE_H
#define VESSEL_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define VS_ERROR_MSG_MAX 512

typedef enum VsStatus {
    VS_OK = 0,
    VS_ERR_INVALID = -1,     /* bad argument or configuration */
    VS_ERR_IO = -2,          /* a file could not be read or written */
    VS_ERR_FORMAT = -3,      /* a file is not in the expected format */
    VS_ERR_NOMEM = -4,       /* out of host memory */
    VS_ERR_UNSUPPORTED = -5, /* valid but not implemented / not available here */
    VS_ERR_STATE = -6,       /* wrong machine state for this call */
} VsStatus;

typedef struct VsError {
    VsStatus status;
    char message[VS_ERROR_MSG_MAX];
} VsError;

typedef enum VsArch {
    VS_ARCH_NONE = 0,
    VS_ARCH_RISCV64,
    VS_ARCH_ARM64,
    VS_ARCH_X86_64,
} VsArch;

typedef enum VsAccel {
    VS_ACCEL_AUTO = 0,
    VS_ACCEL_INTERP,
    VS_ACCEL_JIT,
    VS_ACCEL_KVM,
} VsAccel;

/* Tracing, a bit set (vessel-run --trace). */
enum {
    VS_TRACE_IR = 1u << 0,     /* print each block's IR when it is translated */
    VS_TRACE_IR_OPT = 1u << 1, /* print IR after optimisation too */
    VS_TRACE_EXEC = 1u << 2,   /* print each block's guest PC as it runs */
    VS_TRACE_INT = 1u << 3,    /* print traps and interrupts */
    VS_TRACE_MMIO = 1u << 4,   /* print unhandled MMIO accesses */
};

/*
 * Host core pinning (VsConfig.pin). The engine detects performance and efficiency cores
 * from sysfs (Intel hybrid cpu_core/cpu_atom lists, Arm cpu_capacity, cpufreq maximum
 * frequencies; $VESSEL_SYSFS_ROOT replaces /sys) and pins its threads when they start.
 * "Helper threads" are the I/O thread, the timer thread and the device worker threads
 * (disk I/O pool, 9P worker).
 *  VS_PIN_NONE: no pinning (the default).
 *  VS_PIN_AUTO: vCPU i on the i-th performance core (every vCPU on all performance cores
 *    when there are more vCPUs than performance cores), the helper threads on the
 *    efficiency cores. On a host whose usable cores are all of one kind: vCPUs spread one
 *    per CPU the same way, the helper threads not pinned.
 *  VS_PIN_PERFORMANCE: vCPUs as for AUTO, the helper threads on the performance cores
 *    too (all usable cores on a uniform host).
 *  VS_PIN_LIST: vCPU i on the i-th CPU of VsConfig.pin_cpus as written ("6,2": vCPU 0 on
 *    CPU 6); every vCPU on the whole list when it has fewer CPUs than there are vCPUs; the
 *    helper threads not pinned.
 * Only CPUs that are online and in the process's affinity mask can be used; a listed CPU
 * that is not is an error from vs_machine_create. See vs_machine_pin_summary().
 */
typedef enum VsPinPolicy {
    VS_PIN_NONE = 0,
    VS_PIN_AUTO,
    VS_PIN_PERFORMANCE,
    VS_PIN_LIST,
} VsPinPolicy;

/* ---- Devices (virtio) ---- */

typedef enum VsDiskFormat {
    VS_DISK_FORMAT_AUTO = 0, /* detect from the header: qcow2 magic, else raw */
    VS_DISK_FORMAT_RAW,
    VS_DISK_FORMAT_QCOW2,
} VsDiskFormat;

/* How virtio devices reach the guest (arm64 virt). AUTO: PCI for a firmware boot (UEFI finds
 * its disks there), virtio-mmio for a kernel boot. Other boards: virtio-mmio. */
typedef enum VsVirtioTransport {
    VS_VIRTIO_AUTO = 0,
    VS_VIRTIO_MMIO,
    VS_VIRTIO_PCI,
} VsVirtioTransport;

/* A virtio-blk disk. Disks appear to the guest in the order given (vda, vdb, ...). */
typedef struct VsDiskConfig {
    const char *path;
    VsDiskFormat format;
    bool readonly;
    bool cdrom; /* removable read-only medium (an ISO image); implies readonly */
} VsDiskConfig;

typedef enum VsNetMode {
    VS_NET_NONE = 0,
    VS_NET_USER,   /* NAT, DHCP and DNS in-process (libslirp) */
    VS_NET_BRIDGE, /* an existing TAP interface (VsNetConfig.ifname) */
} VsNetMode;

/* A host port forward into the guest (user networking). */
typedef struct VsPortForward {
    bool udp;
    const char *host_addr; /* NULL: 127.0.0.1 */
    uint16_t host_port;
    const char *guest_addr; /* NULL: the address the guest gets from DHCP */
    uint16_t guest_port;
} VsPortForward;

typedef struct VsNetConfig {
    VsNetMode mode;
    const char *ifname; /* VS_NET_BRIDGE: the TAP interface */
    const VsPortForward *forwards;
    unsigned nforwards;
    bool mac_set;
    uint8_t mac[6]; /* when mac_set; else 52:54:00:12:34:(56 + index) */
} VsNetConfig;

/*
 * A host directory shared with the guest over virtio-9p (9P2000.L). Nothing outside it is
 * reachable (no host symlink is followed, no device node or FIFO opened). Guest ownership
 * and modes are kept in user.virtfs.* xattrs (QEMU's mapped-xattr model): files stay owned
 * by the user running Vessel. vs_machine_create fails when path is not a directory.
 */
typedef struct VsShareConfig {
    const char *path;
    const char *tag; /* the guest mounts it with: mount -t 9p -o trans=virtio TAG DIR */
    bool readonly;   /* every modifying request fails with EROFS */
} VsShareConfig;

typedef struct VsConfig {
    VsArch arch;
    VsAccel accel;
    uint64_t ram_size;    /* bytes */
    unsigned smp;         /* number of vCPUs, >= 1 */
    const char *firmware; /* riscv64: OpenSBI fw_jump.bin, or a bare-metal ELF;
                           * arm64: a UEFI flash image (QEMU_EFI.fd / AAVMF_CODE.fd) */
    /* arm64 firmware boot: the UEFI variable store (a flash image, written by the guest).
     * Created from efi_vars_template when missing. NULL: variables are not kept. */
    const char *efi_vars;
    const char *efi_vars_template;
    const char *kernel;       /* Linux Image or ELF; may be NULL */
    const char *initrd;       /* may be NULL */
    const char *cmdline;      /* may be NULL */
    unsigned trace;           /* VS_TRACE_* */
    bool stats;               /* collect and print translation statistics at exit */
    uint64_t code_cache_size; /* bytes of translations before a full flush; 0: 512 MiB */
    VsPinPolicy pin;          /* host core pinning; VS_PIN_NONE by default */
    const char *pin_cpus;     /* VS_PIN_LIST: a CPU list like "0-3,6" (copied) */

    /* Devices. The arrays are copied by vs_machine_create(). */
    const VsDiskConfig *disks;
    unsigned ndisks;
    const VsNetConfig *nets;
    unsigned nnets;
    const VsShareConfig *shares;
    unsigned nshares;
    bool rng; /* virtio-rng fed from the host's getrandom() */
    VsVirtioTransport virtio_transport;
    bool virtio_console; /* virtio-console (the guest's hvc0); see vs_machine_console_input */
    bool display;        /* virtio-gpu (2D) with virtio-input keyboard, tablet and mouse */
    unsigned display_width, display_height; /* preferred mode; 0: 1024x768 */
    /* JIT tier (accel VS_ACCEL_JIT): compile a block once it has run this many times,
     * interpreting it until then. 0: the engine default, which compiles every block
     * before its first run. */
    uint64_t jit_threshold;
    /* Diagnostics: write the guest state at every block boundary to this file (NULL: off;
     * one vCPU, interpreter or JIT). Format and purpose: engine/core/trace-state.h. */
    const char *trace_state;
    /* arm64 virt: the interrupt controller, 2 (GICv2, up to 8 vCPUs) or 3; 0: 3. */
    unsigned gic_version;
} VsConfig;

/* Fill *cfg with defaults: riscv64, auto, 512 MiB, 1 vCPU. */
void vs_config_init(VsConfig *cfg);

/* Name <-> enum helpers. Return VS_ARCH_NONE / -1 when unknown. */
VsArch vs_arch_from_name(const char *name);
const char *vs_arch_name(VsArch arch);
int vs_accel_from_name(const char *name);
const char *vs_accel_name(VsAccel accel);

/*
 * Parse a --pin value: "none", "auto", "performance", or a CPU list such as "0-3,6"
 * (VS_PIN_LIST; the caller puts the text in VsConfig.pin_cpus). The list's syntax is
 * checked here (numbers and ascending ranges, no CPU twice); whether its CPUs exist and
 * may be used is checked by vs_machine_create.
 */
VsStatus vs_pin_parse(const char *text, VsPinPolicy *policy, VsError *err);
const char *vs_pin_name(VsPinPolicy policy);

/*
 * Parse a size like "512M", "2G", "65536", "1.5G" into bytes (K/M/G/T are powers of 1024).
 * Returns false on malformed input or overflow.
 */
bool vs_parse_size(const char *text, uint64_t *out);

typedef struct VsMachine VsMachine;

typedef enum VsMachineState {
    VS_STATE_CREATED = 0,
    VS_STATE_RUNNING,
    VS_STATE_PAUSED,
    VS_STATE_STOPPED,
} VsMachineState;

/* Why a machine stopped. */
typedef enum VsStopReason {
    VS_STOP_NONE = 0,
    VS_STOP_POWEROFF,    /* the guest powered off */
    VS_STOP_RESET_LOOP,  /* the guest reset too often in a short time */
    VS_STOP_GUEST_CRASH, /* the guest reported failure or the CPU could not continue */
    VS_STOP_FORCED,      /* the host asked to stop */
    VS_STOP_ERROR,       /* an engine error; see vs_machine_stop_message() */
} VsStopReason;

typedef struct VsMachineListener {
    void *opaque;
    /* Bytes written by the guest to its serial console. Called from engine threads. */
    void (*serial_output)(void *opaque, const uint8_t *buf, size_t len);
    /* The machine changed state. Called from engine threads. */
    void (*state_changed)(void *opaque, VsMachineState state);
    /* Bytes the guest wrote to its virtio console (hvc0). Called from the I/O thread.
     * NULL: they go to serial_output. */
    void (*console_output)(void *opaque, const uint8_t *buf, size_t len);
} VsMachineListener;

/* Validate the configuration, load firmware/kernel/initrd and build the machine. */
VsStatus vs_machine_create(const VsConfig *cfg, const VsMachineListener *listener, VsMachine **out,
                           VsError *err);
/* Start the vCPU threads. */
VsStatus vs_machine_start(VsMachine *m, VsError *err);
VsStatus vs_machine_pause(VsMachine *m, VsError *err);
VsStatus vs_machine_resume(VsMachine *m, VsError *err);
/* Reset the machine as a reset button would: every vCPU, device and the board restart
 * from their power-on state (guest RAM is kept, as on real hardware; the kernel, initrd
 * and firmware are loaded again). A paused machine resets when it resumes. VS_ERR_STATE
 * unless it is running or paused. Thread-safe. */
VsStatus vs_machine_reset(VsMachine *m, VsError *err);
/* Which execution tier runs and why, e.g. "Interpreter (riscv64 guest on a x86_64 host):
 * automatic choice: KVM needs a guest of the host's architecture and the JIT tier is not
 * built yet". Never NULL. */
const char *vs_machine_accel_summary(const VsMachine *m);
/* Stop without asking the guest. */
void vs_machine_force_stop(VsMachine *m);
/* Block until the machine has stopped; returns why. */
VsStopReason vs_machine_wait(VsMachine *m);
VsMachineState vs_machine_state(const VsMachine *m);
/* Human-readable detail for the stop reason (never NULL). */
const char *vs_machine_stop_message(const VsMachine *m);
/* Feed bytes to the guest's serial console input. Thread-safe. */
void vs_machine_serial_input(VsMachine *m, const uint8_t *buf, size_t len);
/* Feed bytes to the guest's virtio console (hvc0) input. Bytes the guest has no buffer
 * for yet are queued (up to 64 KiB, then dropped). Thread-safe; ignored without one. */
void vs_machine_console_input(VsMachine *m, const uint8_t *buf, size_t len);
/* ---- Display (VsConfig.display: virtio-gpu) ---- */

/*
 * Pixels are 32-bit words 0x00RRGGBB in host byte order (XRGB8888; bytes B, G, R, X on
 * a little-endian host), rows `stride` bytes apart. The engine keeps the image of each
 * scanout; a front end learns of changes through the listener and copies pixels with
 * vs_machine_display_read().
 */
typedef struct VsDisplayListener {
    void *opaque;
    /* Scanout `scanout` has a new size (0 x 0: the guest disabled it). I/O thread. */
    void (*resize)(void *opaque, unsigned scanout, unsigned width, unsigned height);
    /* The guest flushed this rectangle of the scanout. I/O thread. */
    void (*update)(void *opaque, unsigned scanout, unsigned x, unsigned y, unsigned width,
                   unsigned height);
    /* A new cursor image (ARGB8888, premultiplied as the guest gave it; width 0: none),
     * hot spot relative to its top left. I/O thread. */
    void (*cursor_define)(void *opaque, unsigned width, unsigned height, unsigned hot_x,
                          unsigned hot_y, const uint32_t *argb);
    /* The cursor moved to (x, y) on `scanout`. I/O thread. */
    void (*cursor_move)(void *opaque, unsigned scanout, int x, int y);
} VsDisplayListener;

/* Set (or with NULL clear) the display listener. A new listener gets a resize call and an
 * update of the whole image for every active scanout, and the cursor if the guest defined
 * one. The listener is installed on the I/O thread: do not call this while holding a lock
 * your listener takes. VS_ERR_STATE without a display. Thread-safe. */
VsStatus vs_machine_set_display_listener(VsMachine *m, const VsDisplayListener *listener,
                                         VsError *err);
/* The scanout's current size; false when it is disabled or there is no display. */
bool vs_machine_display_size(VsMachine *m, unsigned scanout, unsigned *width, unsigned *height);
/* Copy a rectangle of the scanout's image into buf (XRGB8888, `stride` bytes per row).
 * The rectangle must lie inside the current size; returns false otherwise. Thread-safe. */
bool vs_machine_display_read(VsMachine *m, unsigned scanout, unsigned x, unsigned y, unsigned width,
                             unsigned height, void *buf, size_t stride);

/*
 * A framebuffer in guest RAM that the guest draws into without telling the host (a linear
 * framebuffer, e.g. one described to the OS as a simple-framebuffer or by the boot loader):
 * the engine finds what changed with the hypervisor's dirty-page logging, so a display
 * refreshes only the changed rectangles instead of the whole frame. Needs a machine run by
 * KVM (VS_ERR_UNSUPPORTED otherwise: the interpreter and JIT tiers have no dirty logging).
 * virtio-gpu scanouts do not need it: their guest reports the rectangles it flushed.
 */
typedef struct VsFramebuffer {
    uint64_t gpa;             /* guest physical address of pixel (0, 0); RAM */
    uint32_t width, height;   /* pixels */
    uint32_t stride;          /* bytes from one row to the next, >= width * bytes_per_pixel */
    uint32_t bytes_per_pixel; /* 1 to 4 */
} VsFramebuffer;

typedef struct VsRect {
    uint32_t x, y, width, height;
} VsRect;

/* Start logging writes to fb (NULL: stop). The guest's vCPUs are paused for the moment it
 * takes to map the framebuffer's pages separately. One framebuffer per machine; a new call
 * replaces the previous one. Thread-safe. */
VsStatus vs_machine_fb_track(VsMachine *m, const VsFramebuffer *fb, VsError *err);
/*
 * The rectangles of the tracked framebuffer the guest wrote since the last call (or since
 * vs_machine_fb_track), at the granularity of guest pages: every pixel the guest wrote is
 * in one, and every pixel reported shares a 4 KiB page with a written byte. Rows are
 * reported as runs, at most `max` rectangles (the last one then covers the rest). *n = 0
 * when nothing changed. Thread-safe.
 */
VsStatus vs_machine_fb_dirty(VsMachine *m, VsRect *rects, unsigned max, unsigned *n, VsError *err);

/* ---- Input (VsConfig.display: virtio-input keyboard, tablet, mouse) ---- */

/* Mouse buttons for vs_machine_input_button. */
typedef enum VsButton {
    VS_BUTTON_LEFT = 0,
    VS_BUTTON_RIGHT,
    VS_BUTTON_MIDDLE,
    VS_BUTTON_SIDE,
    VS_BUTTON_EXTRA,
} VsButton;

/*
 * Input events for the guest. Keys are Linux evdev key codes (KEY_A = 30, ...; the same
 * codes a front end gets from XKB keycode - 8). Each call is one complete event
 * (followed by SYN_REPORT). When the guest has not posted buffers, events wait in a
 * bounded queue (the oldest are dropped beyond it). Thread-safe; ignored without a display.
 */
void vs_machine_input_key(VsMachine *m, unsigned code, bool pressed);
/* Absolute pointer (the tablet) at (x, y), each 0.0 - 1.0 across the scanout. */
void vs_machine_input_move_abs(VsMachine *m, double x, double y);
/* Relative pointer motion (the mouse), in guest pixels. */
void vs_machine_input_move_rel(VsMachine *m, int dx, int dy);
/* A button, on the tablet (absolute == true) or the mouse. */
void vs_machine_input_button(VsMachine *m, VsButton button, bool pressed, bool absolute);
/* Scroll wheel clicks: dy > 0 scrolls up, dx > 0 right. */
void vs_machine_input_wheel(VsMachine *m, int dy, int dx, bool absolute);

/*
 * Ask the guest to power down, as a power button would: the board's power button where it
 * has one, otherwise a KEY_POWER press on the virtio keyboard (a guest with systemd-logind
 * or acpid powers off). VS_ERR_UNSUPPORTED when the machine has neither. Thread-safe.
 */
VsStatus vs_machine_powerdown(VsMachine *m, VsError *err);

/* What the pinning policy did, e.g. "vCPU 0 -> CPU 2, vCPU 1 -> CPU 3; I/O, timer and
 * worker threads -> CPUs 0-1 (performance cores 2-3, efficiency cores 0-1, from
 * cpu_capacity)", or "no pinning". The helper threads are pinned by vs_machine_create
 * (device worker threads are created with the helper CPUs in their attributes), the
 * vCPU threads start pinned in vs_machine_start. Never NULL. */
const char *vs_machine_pin_summary(const VsMachine *m);

/* Print translation/execution statistics (VsConfig.stats) to a FILE*. */
void vs_machine_print_stats(VsMachine *m, void *file);
void vs_machine_destroy(VsMachine *m);

/*
 * The host's cores as the pinning policies see them, for a settings page: the usable CPUs
 * (online and allowed for this process), which are performance and which efficiency
 * cores, and where the core types come from (hybrid PMU lists, cpu_capacity, cpufreq, or
 * none). E.g. "4 CPUs: performance cores 2-3, efficiency cores 0-1 (from cpu_capacity)"
 * or "2 CPUs (0-1), all of one kind (no core-type data (uniform))". Reads sysfs
 * ($VESSEL_SYSFS_ROOT replaces /sys); VS_ERR_IO when the online CPU list cannot be read.
 */
VsStatus vs_host_cpu_summary(char *buf, size_t len, VsError *err);

/* ---- Disk images (for front ends: the app's new-VM wizard and settings) ---- */

/*
 * Create a new, empty disk image of `size` bytes (rounded up to 512) in `format`
 * (VS_DISK_FORMAT_RAW or VS_DISK_FORMAT_QCOW2; qcow2 v3 with 64 KiB clusters, sparse).
 * Fails (VS_ERR_IO, "already exists") when the file exists: nothing is overwritten. On
 * any failure no file is left behind.
 */
VsStatus vs_image_create(const char *path, VsDiskFormat format, uint64_t size, VsError *err);

/* The format (raw or qcow2, from the header) and the size the guest sees of an image. The
 * image is opened read-only (a shared lock: fails while a program writes it). */
VsStatus vs_image_info(const char *path, VsDiskFormat *format, uint64_t *virtual_size,
                       VsError *err);

/*
 * Reading an image's guest-visible contents (qcow2 through its tables, backing chain
 * included), e.g. to look at its partition table. Opened read-only without taking the
 * image lock, so an image a running VM uses can be inspected (what is read may then be
 * inconsistent). Reads past the end fail with VS_ERR_INVALID.
 */
typedef struct VsImage VsImage;
VsStatus vs_image_open(const char *path, VsImage **out, VsError *err);
uint64_t vs_image_size(const VsImage *img);
VsStatus vs_image_read(VsImage *img, uint64_t offset, void *buf, size_t len, VsError *err);
void vs_image_close(VsImage *img);

/* ---- Host capability probe (vessel-run --probe; the app shows the same) ---- */

typedef struct VsHostProbe {
    char arch[16];       /* the host architecture, "x86_64" */
    char cpu_vendor[16]; /* "GenuineIntel", "AuthenticAMD"; "" when unknown */
    char cpu_model[80];  /* the CPU's brand string; "" when unknown */
    /* SIMD and bit-manipulation features the CPU has and the OS has enabled, space
     * separated in a fixed order: "sse2 sse3 ssse3 sse4.1 sse4.2 popcnt aes pclmulqdq avx
     * f16c fma avx2 bmi1 bmi2 lzcnt movbe adx sha avx512f avx512cd avx512bw avx512dq
     * avx512vl ...". AVX and AVX-512 are listed only when XCR0 says the OS saves their
     * registers. "" when the host architecture has no detection yet. */
    char simd[512];
    char cores[256]; /* the host's cores as vs_host_cpu_summary() gives them */
    bool kvm;        /* KVM can run x86_64 guests here */
    /* Why KVM can or cannot run: "/dev/kvm opened and a VM was created (API 12, ...)" or
     * "/dev/kvm: permission denied (add your user to the kvm group)". */
    char kvm_detail[256];
} VsHostProbe;

/* Fill *out for this host. Only the core summary can fail to be read (its text then says
 * why); the call itself always succeeds. */
void vs_host_probe(VsHostProbe *out);

#ifdef __cplusplus
}
#endif
#endif
