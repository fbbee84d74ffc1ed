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
    "  --guest-arch ARCH   guest architecture: riscv64 (default riscv64)\n"
    "  --accel MODE        execution tier: auto, interp (default auto; auto picks the\n"
    "                      interpreter until the JIT and KVM tiers exist)\n"
    "  --memory SIZE       guest RAM, e.g. 512M, 2G (default 512M; at least 16M)\n"
    "  --smp N             number of vCPUs, 1-64 (default 1), one host thread each\n"
    "\n"
    "Boot:\n"
    "  --firmware FILE     M-mode firmware: OpenSBI fw_jump.bin, or a bare-metal ELF\n"
    "                      (default with --kernel: the guest-assets or Debian fw_jump.bin)\n"
    "  --kernel FILE       Linux kernel: riscv64 Image or ELF\n"
    "  --initrd FILE       initial ramdisk\n"
    "  --append STR        kernel command line\n"
    "\n"
    "Console:\n"
    "  --serial MODE       stdio (default) or none. On a terminal, stdio uses raw mode:\n"
    "                      press Ctrl-A then x to quit, Ctrl-A Ctrl-A to send Ctrl-A.\n"
    "\n"
    "Diagnostics:\n"
    "  --trace LIST        comma-separated: ir, ir-opt, exec, int (to stderr)\n"
    "  --stats             print translation and execution statistics at exit\n"
    "  --code-cache SIZE   translations kept before everything is flushed (default 512M)\n"
    "  -h, --help          show this help and exit\n"
    "  --version           show the version and exit\n"
    "\n"
    "Exit status: 0 the guest powered off; 1 error; 2 the guest reported a failure or\n"
    "crashed; 3 the guest kept resetting; 4 stopped from the host (Ctrl-A x, a signal).\n";

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
 * machine runs in normal thread context (it takes locks). */
static sigset_t stop_signals;

static void *signal_thread(void *arg)
{
    VsMachine *m = arg;
    int sig;
    if (sigwait(&stop_signals, &sig) == 0) {
        got_signal = sig;
        vs_machine_force_stop(m);
    }
    return NULL;
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
        if (o)
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
        else {
            free(copy);
            usage_error("unknown --trace item '%s' (use ir, ir-opt, exec, int)", tok);
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
    OPT_LATER,
    OPT_CODE_CACHE,
};

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
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, OPT_VERSION },
        /* Accepted names of devices that arrive with later work: a clear error for now. */
        { "disk", required_argument, NULL, OPT_LATER },
        { "iso", required_argument, NULL, OPT_LATER },
        { "net-mode", required_argument, NULL, OPT_LATER },
        { "net-if", required_argument, NULL, OPT_LATER },
        { "share", required_argument, NULL, OPT_LATER },
        { "display", required_argument, NULL, OPT_LATER },
        { NULL, 0, NULL, 0 },
    };
    VsConfig cfg;
    vs_config_init(&cfg);
    bool serial_stdio = true, firmware_given = false;

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
        case OPT_FIRMWARE:
            cfg.firmware = optarg;
            firmware_given = true;
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
        case OPT_STATS: cfg.stats = true; break;
        case OPT_CODE_CACHE:
            if (!vs_parse_size(optarg, &cfg.code_cache_size) || cfg.code_cache_size < 65536)
                usage_error("invalid --code-cache '%s': use a size of at least 64K, like 64M",
                            optarg);
            break;
        case 'h': fputs(usage_text, stdout); return 0;
        case OPT_VERSION: printf("vessel-run %s\n", VESSEL_VERSION); return 0;
        case OPT_LATER:
            usage_error("%s is not supported yet: virtio devices are not built in this "
                        "version",
                        argv[optind - 1]);
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
    if (cfg.accel == VS_ACCEL_AUTO)
        fprintf(stderr, "vessel-run: using the interpreter (the JIT and KVM tiers are not "
                        "built yet)\n");
    pthread_t sig_tid;
    pthread_create(&sig_tid, NULL, signal_thread, m);
    pthread_detach(sig_tid);

    InputState in = { .m = m, .stop_pipe = { -1, -1 } };
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
        status = EXIT_STOPPED;
        break;
    default:
        fprintf(stderr, "\nvessel-run: error: %s\n", vs_machine_stop_message(m));
        status = EXIT_ERROR;
        break;
    }
    vs_machine_destroy(m);
    return status;
}
