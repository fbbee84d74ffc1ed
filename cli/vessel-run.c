/* SPDX-License-Identifier: MIT */
/*
 * vessel-run: the headless front end. Boots a machine with its serial console on the
 * terminal. Uses only the engine's public header.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "control.h"
#include "detect.h"
#include "devopts.h"
#include "vessel/engine.h"

enum {
    EXIT_POWEROFF = 0,
    EXIT_ERROR = 1,
    EXIT_GUEST_CRASH = 2,
    EXIT_RESET_LOOP = 3,
    EXIT_STOPPED = 4,
};

static const char usage_text[] =
    "Usage: vessel-run [OPTIONS]\n"
    "Run a virtual machine headless, with its serial console on this terminal.\n"
    "\n"
    "Machine:\n"
    "  --guest-arch ARCH   guest architecture: riscv64 (default), arm64 (integer ISA so\n"
    "                      far: no FP/SIMD yet) or x86_64 (KVM only)\n"
    "  --accel MODE        execution tier: auto, interp, jit, kvm (default auto: KVM for an\n"
    "                      x86_64 guest on an x86_64 host with a usable /dev/kvm; the JIT\n"
    "                      (tiered) for a riscv64 or arm64 guest on an x86-64 host; else the\n"
    "                      interpreter; --accel kvm fails with the reason when KVM\n"
    "                      cannot run)\n"
    "  --jit-threshold N   with the JIT: interpret a block until it has run N times, then\n"
    "                      compile it (default: 0 with --accel jit, every block at once;\n"
    "                      32 when auto picks the JIT)\n"
    "  --gic-version 2|3   arm64: the interrupt controller (default 3; a GICv2 serves\n"
    "                      at most 8 vCPUs)\n"
    "  --memory SIZE       guest RAM, e.g. 512M, 2G (default 512M; at least 16M)\n"
    "  --smp N             number of vCPUs, 1-64 (default 1), one host thread each\n"
    "  --pin POLICY        host core pinning: none (default); auto: vCPUs one per\n"
    "                      performance core, I/O and worker threads on efficiency\n"
    "                      cores (one kind of core: vCPUs one per CPU, the rest free);\n"
    "                      performance: all threads on performance cores; or a CPU\n"
    "                      list like 0-3,6: vCPU i on its i-th CPU. Prints the result.\n"
    "\n"
    "Boot:\n"
    "  --firmware FILE     riscv64: M-mode firmware, OpenSBI fw_jump.bin or a bare-metal ELF\n"
    "                      (default with --kernel: the guest-assets or Debian fw_jump.bin);\n"
    "                      arm64: a UEFI flash image (/usr/share/AAVMF/AAVMF_CODE.fd from\n"
    "                      qemu-efi-aarch64), booted from the code flash; virtio on PCI\n"
    "  --efi-vars FILE     arm64 with --firmware: the UEFI variable store, created from\n"
    "                      /usr/share/AAVMF/AAVMF_VARS.fd when missing (default: none, the\n"
    "                      firmware starts from that template every time)\n"
    "  --virtio-transport T  arm64: mmio or pci (default: pci with --firmware, else mmio)\n"
    "  --kernel FILE       Linux kernel: riscv64 Image or ELF; arm64: an uncompressed Image\n"
    "                      or a bare-metal ELF entered at EL1 (x0 = device tree); x86_64: a\n"
    "                      bzImage or an x86-64 ELF program entered in long mode on every vCPU\n"
    "  --initrd FILE       initial ramdisk\n"
    "  --append STR        kernel command line\n"
    "\n"
    "Devices:\n"
    "  --disk FILE[,format=raw|qcow2][,readonly]\n"
    "                      a virtio disk (repeatable; vda, vdb... in order). The format\n"
    "                      is detected from the header when not given.\n"
    "  --iso FILE          a read-only CD-ROM image (a virtio disk after the --disk ones)\n"
    "  --net-mode MODE     user[,hostfwd=tcp:127.0.0.1:2222-:22][,mac=52:54:00:..]: NAT\n"
    "                      with DHCP and DNS, forwards bound to 127.0.0.1 unless given;\n"
    "                      bridge: the TAP interface named by --net-if; none (default)\n"
    "  --net-if IFNAME     the TAP interface for --net-mode bridge\n"
    "  --share path=DIR,tag=NAME[,readonly]\n"
    "                      share a host folder (virtio-9p; repeatable). In the guest:\n"
    "                      mount -t 9p -o trans=virtio,version=9p2000.L NAME /mnt\n"
    "  --display MODE      none (default) or virtio: a virtio-gpu display with keyboard,\n"
    "                      tablet and mouse (see the frames with the control socket's\n"
    "                      screendump)\n"
    "  --no-rng            no virtio-rng (by default the guest gets the host's randomness)\n"
    "\n"
    "Console:\n"
    "  --serial MODE       stdio (default) or none. On a terminal, stdio uses raw mode:\n"
    "                      press Ctrl-A then x to quit, Ctrl-A Ctrl-A to send Ctrl-A.\n"
    "  --console DEV       where terminal input goes: uart (default, ttyS0) or virtio\n"
    "                      (adds a virtio console, hvc0: boot with console=hvc0). The\n"
    "                      output of both is shown.\n"
    "\n"
    "Control:\n"
    "  --control unix:PATH a control socket (JSON lines): status, pause, resume,\n"
    "                      powerdown, quit, screendump, send-key; e.g.\n"
    "                      {\"execute\":\"screendump\",\"file\":\"screen.png\"}\n"
    "\n"
    "Diagnostics:\n"
    "  --trace LIST        comma-separated: ir, ir-opt, exec, int, mmio (to stderr;\n"
    "                      mmio: accesses nothing claimed, under KVM)\n"
    "  --trace-state FILE  write the guest state (registers, pc, mode, some CSRs) at\n"
    "                      every block boundary to FILE, with block chaining off, for\n"
    "                      comparing the interpreter and the JIT (tools/lockstep);\n"
    "                      one vCPU only\n"
    "  --stats             print translation and execution statistics at exit\n"
    "  --code-cache SIZE   translations kept before everything is flushed (default 512M)\n"
    "  -h, --help          show this help and exit\n"
    "  --version           show the version and exit\n"
    "  --probe             show the host: CPU, SIMD features, core types, accelerators\n"
    "\n"
    "Signals: SIGTERM asks the guest to power down (a second SIGTERM stops it); SIGINT\n"
    "and SIGHUP stop it at once.\n"
    "\n"
    "Exit status: 0 the guest powered off; 1 error; 2 the guest reported a failure or\n"
    "crashed; 3 the guest kept resetting; 4 stopped from the host (Ctrl-A x, a signal,\n"
    "the control socket's quit).\n";

/* vessel-run --probe: what this host offers (vs_host_probe). */
static void print_probe(void)
{
    VsHostProbe p;
    vs_host_probe(&p);
    printf("host arch:     %s\n", p.arch);
    printf("cpu:           %s%s%s%s\n", p.cpu_model[0] ? p.cpu_model : "(model unknown)",
           p.cpu_vendor[0] ? " (" : "", p.cpu_vendor, p.cpu_vendor[0] ? ")" : "");
    printf("simd:          %s\n", p.simd[0] ? p.simd : "(no detection for this host)");
    printf("cores:         %s\n", p.cores);
    printf("accelerators:  interpreter: available (riscv64 and arm64 guests)\n");
    printf("               kvm: %s: %s\n", p.kvm ? "available" : "unavailable", p.kvm_detail);
}

static void usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("vessel-run: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputs(" (see vessel-run --help)\n", stderr);
    va_end(ap);
    exit(EXIT_ERROR);
}

/*
 * A UEFI boot from installer media alone: one of the ISOs must carry an EFI loader for the
 * guest's architecture, or the firmware stops in its boot manager without a word why.
 * The wizard's detection (app/detect.c) reads the El Torito EFI image and the ISO tree.
 */
static void check_uefi_isos(const VsDiskConfig *isos, unsigned n, VsArch arch)
{
    char why[1024] = "";
    size_t used = 0;
    for (unsigned i = 0; i < n; i++) {
        VesselDetect d;
        char err[512];
        int r = vessel_detect(isos[i].path, VESSEL_MEDIUM_ISO, &d, err, sizeof(err));
        if (r < 0) {
            fprintf(stderr, "vessel-run: --iso: %s\n", err);
            exit(EXIT_ERROR);
        }
        if (r == 1 && d.arch == arch)
            return;
        int k = r == 1 ? snprintf(why + used, sizeof(why) - used, "%s%s is for %s guests (%s)",
                                  used ? "; " : "", isos[i].path, vs_arch_name(d.arch), d.reason)
                       : snprintf(why + used, sizeof(why) - used, "%s%s: %s", used ? "; " : "",
                                  isos[i].path, d.reason);
        if (k > 0)
            used = (size_t)k < sizeof(why) - used ? used + (size_t)k : sizeof(why) - 1;
    }
    fprintf(stderr,
            "vessel-run: no --iso image can boot this %s VM through UEFI: %s. An %s installer "
            "ISO has the EFI loader EFI/BOOT/%s; give one, or --disk with an installed "
            "system.\n",
            vs_arch_name(arch), why, vs_arch_name(arch),
            arch == VS_ARCH_ARM64 ? "BOOTAA64.EFI" : "BOOT*.EFI");
    exit(EXIT_ERROR);
}

/* ---- terminal ---- */

static struct termios saved_termios;
static bool termios_saved;
static volatile sig_atomic_t got_signal;

static void restore_terminal(void)
{
    if (termios_saved) {
        tcsetattr(STDIN_FILENO, TCSANOW, &saved_termios);
        termios_saved = false;
    }
}

static void set_raw_terminal(void)
{
    if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &saved_termios) != 0)
        return;
    termios_saved = true;
    atexit(restore_terminal);
    struct termios raw = saved_termios;
    cfmakeraw(&raw);
    raw.c_oflag |= OPOST | ONLCR; /* keep \n -> \r\n on output */
    tcsetattr(STDIN_FILENO, TCSANOW, &raw);
}

/* Signals are blocked in every thread and taken here with sigwait, so stopping the
 * machine runs in normal thread context (it takes locks). SIGTERM first asks the guest to
 * power down; a second one (or the first, when the machine cannot ask) stops it. The
 * thread lives until exit; sig_machine (under sig_lock) is cleared before the machine is
 * destroyed. */
static sigset_t stop_signals;
static pthread_mutex_t sig_lock = PTHREAD_MUTEX_INITIALIZER;
static VsMachine *sig_machine;
static volatile sig_atomic_t quit_requested;

static void *signal_thread(void *arg)
{
    (void)arg;
    bool powerdown_asked = false;
    for (;;) {
        int sig;
        if (sigwait(&stop_signals, &sig) != 0)
            continue;
        pthread_mutex_lock(&sig_lock);
        VsMachine *m = sig_machine;
        if (m && sig == SIGTERM && !powerdown_asked) {
            VsError err = { 0 };
            powerdown_asked = true;
            if (vs_machine_powerdown(m, &err) == VS_OK) {
                fprintf(stderr, "\r\nvessel-run: SIGTERM: asked the guest to power down "
                                "(another SIGTERM stops it at once)\r\n");
                pthread_mutex_unlock(&sig_lock);
                continue;
            }
            fprintf(stderr,
                    "\r\nvessel-run: SIGTERM: cannot ask the guest to power down "
                    "(%s); stopping it\r\n",
                    err.message);
        }
        if (m) {
            got_signal = sig;
            vs_machine_force_stop(m);
        }
        pthread_mutex_unlock(&sig_lock);
    }
    return NULL;
}

/* The control socket's quit command (control thread). */
static void control_quit(void *opaque)
{
    quit_requested = 1;
    vs_machine_force_stop(opaque);
}

static void serial_out(void *opaque, const uint8_t *buf, size_t len)
{
    (void)opaque;
    while (len > 0) {
        ssize_t n = write(STDOUT_FILENO, buf, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return; /* stdout closed: drop output, keep the guest running */
        }
        buf += n;
        len -= (size_t)n;
    }
}

typedef struct InputState {
    VsMachine *m;
    int stop_pipe[2];
    bool raw;
    bool to_console; /* --console virtio: input goes to hvc0 */
} InputState;

static void *input_thread(void *arg)
{
    InputState *st = arg;
    bool escape = false;
    for (;;) {
        struct pollfd fds[2] = { { STDIN_FILENO, POLLIN, 0 }, { st->stop_pipe[0], POLLIN, 0 } };
        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (fds[1].revents)
            break;
        if (!(fds[0].revents & (POLLIN | POLLHUP)))
            continue;
        uint8_t buf[256], out[256];
        ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
        if (n <= 0)
            break; /* EOF: the guest keeps running without input */
        size_t o = 0;
        for (ssize_t i = 0; i < n; i++) {
            uint8_t ch = buf[i];
            if (st->raw && escape) {
                escape = false;
                if (ch == 'x' || ch == 'X') {
                    vs_machine_force_stop(st->m);
                    return NULL;
                }
                if (ch == 0x01)
                    out[o++] = ch;
                continue;
            }
            if (st->raw && ch == 0x01) {
                escape = true;
                continue;
            }
            out[o++] = ch;
        }
        if (o && st->to_console)
            vs_machine_console_input(st->m, out, o);
        else if (o)
            vs_machine_serial_input(st->m, out, o);
    }
    return NULL;
}

/* ---- options ---- */

static bool file_exists(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISREG(sb.st_mode);
}

/* Default riscv64 firmware: the guest-assets copy, then Debian's opensbi package. */
static const char *default_riscv_firmware(void)
{
    static char path[PATH_MAX];
    const char *dir = getenv("VESSEL_GUEST_DIR");
    if (dir) {
        snprintf(path, sizeof(path), "%s/riscv64/fw_jump.bin", dir);
        if (file_exists(path))
            return path;
    }
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    if (xdg && *xdg)
        snprintf(path, sizeof(path), "%s/vessel/guests/riscv64/fw_jump.bin", xdg);
    else if (home)
        snprintf(path, sizeof(path), "%s/.cache/vessel/guests/riscv64/fw_jump.bin", home);
    if (file_exists(path))
        return path;
    const char *debian = "/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.bin";
    return file_exists(debian) ? debian : NULL;
}

static unsigned parse_trace(const char *list)
{
    unsigned t = 0;
    char *copy = strdup(list), *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (!strcmp(tok, "ir"))
            t |= VS_TRACE_IR;
        else if (!strcmp(tok, "ir-opt"))
            t |= VS_TRACE_IR_OPT;
        else if (!strcmp(tok, "exec"))
            t |= VS_TRACE_EXEC;
        else if (!strcmp(tok, "int"))
            t |= VS_TRACE_INT;
        else if (!strcmp(tok, "mmio"))
            t |= VS_TRACE_MMIO;
        else {
            /* usage_error exits: tok points into copy, so copy stays allocated. */
            usage_error("unknown --trace item '%s' (use ir, ir-opt, exec, int, mmio)", tok);
        }
    }
    free(copy);
    return t;
}

enum {
    OPT_ARCH = 256,
    OPT_ACCEL,
    OPT_MEMORY,
    OPT_SMP,
    OPT_FIRMWARE,
    OPT_KERNEL,
    OPT_INITRD,
    OPT_APPEND,
    OPT_SERIAL,
    OPT_TRACE,
    OPT_STATS,
    OPT_VERSION,
    OPT_CODE_CACHE,
    OPT_JIT_THRESHOLD,
    OPT_DISK,
    OPT_ISO,
    OPT_NET_MODE,
    OPT_NET_IF,
    OPT_SHARE,
    OPT_DISPLAY,
    OPT_NO_RNG,
    OPT_CONSOLE,
    OPT_CONTROL,
    OPT_PIN,
    OPT_PROBE,
    OPT_TRACE_STATE,
    OPT_GIC_VERSION,
    OPT_EFI_VARS,
    OPT_VIRTIO_TRANSPORT,
};

#define MAX_DEVICE_OPTS 32

/* The repeatable device options (at most MAX_DEVICE_OPTS of each kind). */
static VsDiskConfig disk_opts[MAX_DEVICE_OPTS];
static unsigned ndisk_opts;
static VsShareConfig share_opts[MAX_DEVICE_OPTS];
static unsigned nshare_opts;

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "guest-arch", required_argument, NULL, OPT_ARCH },
        { "accel", required_argument, NULL, OPT_ACCEL },
        { "memory", required_argument, NULL, OPT_MEMORY },
        { "smp", required_argument, NULL, OPT_SMP },
        { "firmware", required_argument, NULL, OPT_FIRMWARE },
        { "bios", required_argument, NULL, OPT_FIRMWARE },
        { "kernel", required_argument, NULL, OPT_KERNEL },
        { "initrd", required_argument, NULL, OPT_INITRD },
        { "append", required_argument, NULL, OPT_APPEND },
        { "serial", required_argument, NULL, OPT_SERIAL },
        { "trace", required_argument, NULL, OPT_TRACE },
        { "stats", no_argument, NULL, OPT_STATS },
        { "code-cache", required_argument, NULL, OPT_CODE_CACHE },
        { "jit-threshold", required_argument, NULL, OPT_JIT_THRESHOLD },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, OPT_VERSION },
        { "disk", required_argument, NULL, OPT_DISK },
        { "iso", required_argument, NULL, OPT_ISO },
        { "net-mode", required_argument, NULL, OPT_NET_MODE },
        { "net-if", required_argument, NULL, OPT_NET_IF },
        { "share", required_argument, NULL, OPT_SHARE },
        { "display", required_argument, NULL, OPT_DISPLAY },
        { "no-rng", no_argument, NULL, OPT_NO_RNG },
        { "console", required_argument, NULL, OPT_CONSOLE },
        { "control", required_argument, NULL, OPT_CONTROL },
        { "pin", required_argument, NULL, OPT_PIN },
        { "probe", no_argument, NULL, OPT_PROBE },
        { "trace-state", required_argument, NULL, OPT_TRACE_STATE },
        { "gic-version", required_argument, NULL, OPT_GIC_VERSION },
        { "efi-vars", required_argument, NULL, OPT_EFI_VARS },
        { "virtio-transport", required_argument, NULL, OPT_VIRTIO_TRANSPORT },
        { NULL, 0, NULL, 0 },
    };
    VsConfig cfg;
    vs_config_init(&cfg);
    bool serial_stdio = true, firmware_given = false, console_virtio = false, pin_given = false;
    VsDiskConfig isos[MAX_DEVICE_OPTS];
    unsigned nisos = 0;
    /* Static: the heap strings devopt_parse_net() hangs on it stay reachable until exit
     * (devopts.h: kept for the machine's life, never freed). */
    static VsNetConfig net; /* mode VS_NET_NONE */
    const char *net_if = NULL, *control_spec = NULL;
    char errbuf[512];
    cfg.rng = true;

    opterr = 0;
    int c, longidx = 0;
    while ((c = getopt_long(argc, argv, ":h", opts, &longidx)) != -1) {
        switch (c) {
        case OPT_ARCH:
            cfg.arch = vs_arch_from_name(optarg);
            if (cfg.arch == VS_ARCH_NONE)
                usage_error("unknown guest architecture '%s' (use riscv64, arm64 or x86_64)",
                            optarg);
            break;
        case OPT_ACCEL: {
            int a = vs_accel_from_name(optarg);
            if (a < 0)
                usage_error("unknown accelerator '%s' (use auto, interp, jit or kvm)", optarg);
            cfg.accel = (VsAccel)a;
            break;
        }
        case OPT_MEMORY:
            if (!vs_parse_size(optarg, &cfg.ram_size) || cfg.ram_size == 0)
                usage_error("invalid --memory '%s': use a size like 512M or 2G", optarg);
            /* A bare number is MiB, as in QEMU's -m. */
            if (strspn(optarg, "0123456789") == strlen(optarg)) {
                if (cfg.ram_size > (UINT64_MAX >> 20))
                    usage_error("invalid --memory '%s': too large", optarg);
                cfg.ram_size <<= 20;
            }
            break;
        case OPT_SMP: {
            char *end;
            errno = 0;
            long n = strtol(optarg, &end, 10);
            if (errno || *end || end == optarg || n < 1 || n > 64)
                usage_error("invalid --smp '%s': use a number of vCPUs from 1 to 64", optarg);
            cfg.smp = (unsigned)n;
            break;
        }
        case OPT_PIN: {
            VsError perr = { 0 };
            if (vs_pin_parse(optarg, &cfg.pin, &perr) != VS_OK)
                usage_error("%s", perr.message);
            cfg.pin_cpus = cfg.pin == VS_PIN_LIST ? optarg : NULL;
            pin_given = true;
            break;
        }
        case OPT_FIRMWARE:
            cfg.firmware = optarg;
            firmware_given = true;
            break;
        case OPT_EFI_VARS: cfg.efi_vars = optarg; break;
        case OPT_VIRTIO_TRANSPORT:
            if (strcmp(optarg, "mmio") == 0)
                cfg.virtio_transport = VS_VIRTIO_MMIO;
            else if (strcmp(optarg, "pci") == 0)
                cfg.virtio_transport = VS_VIRTIO_PCI;
            else
                usage_error("--virtio-transport takes mmio or pci, not '%s'", optarg);
            break;
        case OPT_KERNEL: cfg.kernel = optarg; break;
        case OPT_INITRD: cfg.initrd = optarg; break;
        case OPT_APPEND: cfg.cmdline = optarg; break;
        case OPT_SERIAL:
            if (!strcmp(optarg, "stdio"))
                serial_stdio = true;
            else if (!strcmp(optarg, "none"))
                serial_stdio = false;
            else
                usage_error("unknown --serial '%s' (use stdio or none)", optarg);
            break;
        case OPT_TRACE: cfg.trace |= parse_trace(optarg); break;
        case OPT_TRACE_STATE: cfg.trace_state = optarg; break;
        case OPT_GIC_VERSION:
            if (strcmp(optarg, "2") && strcmp(optarg, "3"))
                usage_error("invalid --gic-version '%s': use 2 or 3", optarg);
            cfg.gic_version = (unsigned)(optarg[0] - '0');
            break;
        case OPT_STATS: cfg.stats = true; break;
        case OPT_CODE_CACHE:
            if (!vs_parse_size(optarg, &cfg.code_cache_size) || cfg.code_cache_size < 65536)
                usage_error("invalid --code-cache '%s': use a size of at least 64K, like 64M",
                            optarg);
            break;
        case OPT_JIT_THRESHOLD: {
            char *end;
            errno = 0;
            unsigned long long n = strtoull(optarg, &end, 10);
            if (errno || end == optarg || *end || optarg[0] == '-')
                usage_error("invalid --jit-threshold '%s': use a number of runs, like 100", optarg);
            cfg.jit_threshold = n;
            break;
        }
        case 'h': fputs(usage_text, stdout); return 0;
        case OPT_VERSION: printf("vessel-run %s\n", VESSEL_VERSION); return 0;
        case OPT_PROBE: print_probe(); return 0;
        case OPT_DISK:
            if (ndisk_opts == MAX_DEVICE_OPTS)
                usage_error("too many --disk options (at most %d)", MAX_DEVICE_OPTS);
            if (!devopt_parse_disk(optarg, &disk_opts[ndisk_opts], errbuf, sizeof(errbuf)))
                usage_error("%s", errbuf);
            ndisk_opts++;
            break;
        case OPT_ISO:
            if (nisos == MAX_DEVICE_OPTS)
                usage_error("too many --iso options (at most %d)", MAX_DEVICE_OPTS);
            if (!*optarg)
                usage_error("--iso needs a file name");
            isos[nisos++] = (VsDiskConfig){
                .path = optarg, .format = VS_DISK_FORMAT_RAW, .readonly = true, .cdrom = true
            };
            break;
        case OPT_NET_MODE:
            if (!devopt_parse_net(optarg, &net, errbuf, sizeof(errbuf)))
                usage_error("%s", errbuf);
            break;
        case OPT_NET_IF: net_if = optarg; break;
        case OPT_SHARE:
            if (nshare_opts == MAX_DEVICE_OPTS)
                usage_error("too many --share options (at most %d)", MAX_DEVICE_OPTS);
            if (!devopt_parse_share(optarg, &share_opts[nshare_opts], errbuf, sizeof(errbuf)))
                usage_error("%s", errbuf);
            for (unsigned i = 0; i < nshare_opts; i++)
                if (!strcmp(share_opts[i].tag, share_opts[nshare_opts].tag))
                    usage_error("two --share options use the tag '%s'; tags must differ",
                                share_opts[i].tag);
            nshare_opts++;
            break;
        case OPT_DISPLAY:
            if (!strcmp(optarg, "none"))
                cfg.display = false;
            else if (!strcmp(optarg, "virtio"))
                cfg.display = true;
            else
                usage_error("unknown --display '%s' (use none or virtio)", optarg);
            break;
        case OPT_NO_RNG: cfg.rng = false; break;
        case OPT_CONSOLE:
            if (!strcmp(optarg, "uart"))
                console_virtio = false;
            else if (!strcmp(optarg, "virtio"))
                console_virtio = true;
            else
                usage_error("unknown --console '%s' (use uart or virtio)", optarg);
            break;
        case OPT_CONTROL:
            if (strncmp(optarg, "unix:", 5) != 0 || !optarg[5])
                usage_error("invalid --control '%s': use unix:PATH", optarg);
            control_spec = optarg;
            break;
        case ':': usage_error("option '%s' needs a value", argv[optind - 1]);
        default: usage_error("unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        usage_error("unexpected argument '%s'", argv[optind]);
    if (!firmware_given && cfg.arch == VS_ARCH_RISCV64) {
        if (!cfg.kernel)
            usage_error("nothing to boot: give --kernel (with an initrd) or --firmware");
        cfg.firmware = default_riscv_firmware();
        if (!cfg.firmware)
            usage_error("no riscv64 firmware found: pass --firmware (OpenSBI fw_jump.bin), "
                        "or run tools/guest-assets");
    }

    if (cfg.efi_vars && (cfg.arch != VS_ARCH_ARM64 || !firmware_given))
        usage_error("--efi-vars is for an arm64 firmware boot (--guest-arch arm64 --firmware "
                    "FILE)");
    if (cfg.virtio_transport != VS_VIRTIO_AUTO && cfg.arch != VS_ARCH_ARM64)
        usage_error("--virtio-transport is for arm64 guests");
    if (firmware_given && cfg.arch == VS_ARCH_ARM64) {
        static const char *const tmpl = "/usr/share/AAVMF/AAVMF_VARS.fd";
        if (access(tmpl, R_OK) == 0)
            cfg.efi_vars_template = tmpl;
        else if (cfg.efi_vars && access(cfg.efi_vars, F_OK) != 0)
            usage_error("--efi-vars %s does not exist and there is no template to create it "
                        "from (%s: install qemu-efi-aarch64)",
                        cfg.efi_vars, tmpl);
    }

    if (firmware_given && cfg.arch == VS_ARCH_ARM64 && nisos && !ndisk_opts && !cfg.kernel)
        check_uefi_isos(isos, nisos, cfg.arch);

    /* --iso media come after the disks. */
    for (unsigned i = 0; i < nisos; i++) {
        if (ndisk_opts == MAX_DEVICE_OPTS)
            usage_error("too many disks and ISO images (at most %d)", MAX_DEVICE_OPTS);
        disk_opts[ndisk_opts++] = isos[i];
    }
    cfg.disks = disk_opts;
    cfg.ndisks = ndisk_opts;
    cfg.shares = share_opts;
    cfg.nshares = nshare_opts;
    if (net_if && net.mode != VS_NET_BRIDGE)
        usage_error("--net-if is for --net-mode bridge");
    if (net.mode == VS_NET_BRIDGE) {
        if (!net_if)
            usage_error("--net-mode bridge needs --net-if with the TAP interface, e.g. "
                        "--net-if tap0");
        net.ifname = net_if;
    }
    if (net.mode != VS_NET_NONE) {
        cfg.nets = &net;
        cfg.nnets = 1;
    }
    cfg.virtio_console = console_virtio;

    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &stop_signals, NULL); /* inherited by engine threads */
    signal(SIGPIPE, SIG_IGN);

    VsMachineListener listener = { .serial_output = serial_stdio ? serial_out : NULL };
    VsError err = { 0 };
    VsMachine *m;
    if (vs_machine_create(&cfg, &listener, &m, &err) != VS_OK) {
        fprintf(stderr, "vessel-run: %s\n", err.message);
        return EXIT_ERROR;
    }
    if (pin_given)
        fprintf(stderr, "vessel-run: pinning: %s\n", vs_machine_pin_summary(m));
    if (cfg.accel == VS_ACCEL_AUTO)
        fprintf(stderr, "vessel-run: %s\n", vs_machine_accel_summary(m));
    Control *control = NULL;
    if (control_spec) {
        ControlConfig cc = { .m = m, .display = cfg.display, .quit = control_quit, .opaque = m };
        control = control_start(control_spec, &cc, errbuf, sizeof(errbuf));
        if (!control) {
            fprintf(stderr, "vessel-run: %s\n", errbuf);
            vs_machine_destroy(m);
            return EXIT_ERROR;
        }
    }
    sig_machine = m;
    pthread_t sig_tid;
    pthread_create(&sig_tid, NULL, signal_thread, NULL);
    pthread_detach(sig_tid);

    InputState in = { .m = m, .stop_pipe = { -1, -1 }, .to_console = console_virtio };
    pthread_t input_tid;
    bool input_started = false;
    if (serial_stdio) {
        in.raw = isatty(STDIN_FILENO);
        if (in.raw)
            set_raw_terminal();
        if (pipe(in.stop_pipe) == 0 && pthread_create(&input_tid, NULL, input_thread, &in) == 0)
            input_started = true;
    }
    if (vs_machine_start(m, &err) != VS_OK) {
        restore_terminal();
        fprintf(stderr, "vessel-run: %s\n", err.message);
        control_stop(control);
        pthread_mutex_lock(&sig_lock);
        sig_machine = NULL;
        pthread_mutex_unlock(&sig_lock);
        vs_machine_destroy(m);
        return EXIT_ERROR;
    }
    VsStopReason reason = vs_machine_wait(m);
    if (input_started) {
        if (write(in.stop_pipe[1], "x", 1) < 0) {
            /* the input thread also ends on EOF */
        }
        pthread_join(input_tid, NULL);
    }
    restore_terminal();
    if (cfg.stats)
        vs_machine_print_stats(m, stderr);

    int status;
    switch (reason) {
    case VS_STOP_POWEROFF: status = EXIT_POWEROFF; break;
    case VS_STOP_GUEST_CRASH:
        fprintf(stderr, "\nvessel-run: guest failure: %s\n", vs_machine_stop_message(m));
        status = EXIT_GUEST_CRASH;
        break;
    case VS_STOP_RESET_LOOP:
        fprintf(stderr, "\nvessel-run: stopped: %s\n", vs_machine_stop_message(m));
        status = EXIT_RESET_LOOP;
        break;
    case VS_STOP_FORCED:
        if (got_signal)
            fprintf(stderr, "\nvessel-run: stopped by signal %d\n", (int)got_signal);
        else if (quit_requested)
            fprintf(stderr, "\nvessel-run: stopped by the control socket's quit command\n");
        status = EXIT_STOPPED;
        break;
    default:
        fprintf(stderr, "\nvessel-run: error: %s\n", vs_machine_stop_message(m));
        status = EXIT_ERROR;
        break;
    }
    control_stop(control);
    pthread_mutex_lock(&sig_lock);
    sig_machine = NULL;
    pthread_mutex_unlock(&sig_lock);
    vs_machine_destroy(m);
    return status;
}
