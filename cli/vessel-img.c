/* SPDX-License-Identifier: MIT */
/*
 * vessel-img: create, inspect, check and convert disk images (raw, qcow2). It uses the
 * engine's internal block layer (engine/block/block.h) directly.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "block/block.h"

enum {
    EXIT_ERROR = 1,
    EXIT_CHECK_CORRUPT = 2,
    EXIT_CHECK_LEAKS = 3,
};

static const char usage_text[] =
    "Usage: vessel-img COMMAND [OPTIONS] ...\n"
    "Create, inspect, check and convert disk images (raw, qcow2).\n"
    "\n"
    "Commands:\n"
    "  create [-f qcow2|raw] [-b BACKING [-F FMT]] [-o OPTIONS] FILE [SIZE]\n"
    "        Create FILE (default qcow2). SIZE like 10G; with -b it defaults to the\n"
    "        backing file's size. A relative BACKING is relative to FILE's folder.\n"
    "        OPTIONS: cluster_size=BYTES (qcow2, default 64K), compat=0.10|1.1 (qcow2\n"
    "        version 2 or 3, default 1.1).\n"
    "  info [-f FMT] FILE\n"
    "        Show the format, sizes, backing file and qcow2 flags.\n"
    "  check [-f FMT] [-r|--repair] FILE\n"
    "        Check qcow2 metadata; --repair rebuilds refcounts and clears the dirty and\n"
    "        corrupt flags once the image is consistent.\n"
    "  convert [-f FMT] -O qcow2|raw [-o OPTIONS] SRC DST\n"
    "        Copy the disk SRC (with its backing chain) into a new image DST; zero\n"
    "        areas are left unallocated.\n"
    "\n"
    "  -h, --help    show this help and exit\n"
    "  --version     show the version and exit\n"
    "\n"
    "Exit status: 0 success; 1 error. check: 0 consistent, 2 corruptions remain,\n"
    "3 only leaked clusters remain, 1 the check could not be completed.\n";

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("vessel-img: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(EXIT_ERROR);
}

static BlockFormat parse_format(const char *name)
{
    BlockFormat f = block_format_from_name(name);
    if (f == BLOCK_FORMAT_AUTO)
        fail("unknown format '%s' (use qcow2 or raw)", name);
    return f;
}

/* -o cluster_size=N,compat=1.1 */
static void parse_options(char *text, BlockCreateOptions *o)
{
    for (char *save = NULL, *tok = strtok_r(text, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(tok, '=');
        if (!eq)
            fail("option '%s' needs a value (NAME=VALUE)", tok);
        *eq = 0;
        const char *v = eq + 1;
        if (!strcmp(tok, "cluster_size")) {
            uint64_t cs;
            if (!vs_parse_size(v, &cs) || cs > UINT32_MAX)
                fail("invalid cluster_size '%s'", v);
            o->cluster_size = (uint32_t)cs;
        } else if (!strcmp(tok, "compat")) {
            if (!strcmp(v, "0.10") || !strcmp(v, "v2"))
                o->qcow2_version = 2;
            else if (!strcmp(v, "1.1") || !strcmp(v, "v3"))
                o->qcow2_version = 3;
            else
                fail("invalid compat '%s' (use 0.10 or 1.1)", v);
        } else {
            fail("unknown option '%s' (known: cluster_size, compat)", tok);
        }
    }
}

static void human_size(uint64_t v, char *buf, size_t len)
{
    static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
    double d = (double)v;
    int u = 0;
    while (d >= 1024 && u < 6) {
        d /= 1024;
        u++;
    }
    if (u == 0)
        snprintf(buf, len, "%" PRIu64 " B", v);
    else
        snprintf(buf, len, "%.3g %s", d, units[u]);
}

static int cmd_create(int argc, char **argv)
{
    BlockCreateOptions o = { .format = BLOCK_FORMAT_QCOW2 };
    int c;
    optind = 1;
    while ((c = getopt(argc, argv, "+f:b:F:o:")) != -1) {
        switch (c) {
        case 'f': o.format = parse_format(optarg); break;
        case 'b': o.backing_file = optarg; break;
        case 'F': o.backing_format = parse_format(optarg); break;
        case 'o': parse_options(optarg, &o); break;
        default: fail("create: unknown option (see vessel-img --help)");
        }
    }
    if (optind >= argc)
        fail("create: give the image FILE and its SIZE");
    o.path = argv[optind++];
    if (optind < argc) {
        if (!vs_parse_size(argv[optind], &o.size))
            fail("create: invalid size '%s' (use a size like 10G or 512M)", argv[optind]);
        optind++;
    } else if (!o.backing_file) {
        fail("create: give the SIZE of the new image (e.g. 10G)");
    }
    if (optind < argc)
        fail("create: unexpected argument '%s'", argv[optind]);
    if (o.backing_format != BLOCK_FORMAT_AUTO && !o.backing_file)
        fail("create: -F needs a backing file (-b)");
    VsError err = { 0 };
    if (block_create(&o, &err) != VS_OK)
        fail("%s", err.message);
    printf("Formatting '%s', fmt=%s", o.path, block_format_name(o.format));
    if (o.size || !o.backing_file) {
        char hs[32];
        human_size(o.size, hs, sizeof(hs));
        printf(" size=%" PRIu64 " (%s)", o.size, hs);
    }
    if (o.backing_file)
        printf(" backing_file=%s", o.backing_file);
    printf("\n");
    return 0;
}

static int cmd_info(int argc, char **argv)
{
    BlockFormat fmt = BLOCK_FORMAT_AUTO;
    int c;
    optind = 1;
    while ((c = getopt(argc, argv, "+f:")) != -1) {
        if (c == 'f')
            fmt = parse_format(optarg);
        else
            fail("info: unknown option (see vessel-img --help)");
    }
    if (optind != argc - 1)
        fail("info: give exactly one image FILE");
    const char *path = argv[optind];
    BlockImage *img;
    VsError err = { 0 };
    /* Without the image lock: info on the disk of a running VM works (what it reports may
     * be a moment old, like qemu-img info -U). check and convert do take the lock. */
    if (block_open(path, fmt, BLOCK_OPEN_READ_ONLY | BLOCK_OPEN_NO_BACKING | BLOCK_OPEN_SHARED,
                   &img, &err) != VS_OK)
        fail("%s", err.message);
    BlockInfo info;
    if (block_get_info(img, &info, &err) != VS_OK) {
        block_close(img, NULL);
        fail("%s", err.message);
    }
    char vs[32], ds[32];
    human_size(info.virtual_size, vs, sizeof(vs));
    human_size(info.disk_usage, ds, sizeof(ds));
    printf("image: %s\n", path);
    printf("file format: %s\n", block_format_name(info.format));
    printf("virtual size: %s (%" PRIu64 " bytes)\n", vs, info.virtual_size);
    printf("disk size: %s\n", ds);
    if (info.format == BLOCK_FORMAT_QCOW2) {
        printf("cluster_size: %u\n", info.cluster_size);
        printf("allocated: %" PRIu64 " bytes\n", info.allocated);
        if (info.backing_file[0]) {
            printf("backing file: %s\n", info.backing_file);
            if (info.backing_format[0])
                printf("backing file format: %s\n", info.backing_format);
        }
        if (info.snapshots)
            printf("snapshots: %u\n", info.snapshots);
        printf("Format specific information:\n");
        printf("    compat: %s\n", info.qcow2_version >= 3 ? "1.1" : "0.10");
        printf("    refcount bits: %u\n", info.refcount_bits);
        printf("    lazy refcounts: %s\n", info.lazy_refcounts ? "true" : "false");
        printf("    dirty: %s\n", info.dirty ? "true" : "false");
        printf("    corrupt: %s\n", info.corrupt ? "true" : "false");
    }
    block_close(img, NULL);
    return 0;
}

static void print_line(void *opaque, const char *line)
{
    (void)opaque;
    printf("%s\n", line);
}

static int cmd_check(int argc, char **argv)
{
    static const struct option opts[] = { { "repair", no_argument, NULL, 'r' }, { 0 } };
    BlockFormat fmt = BLOCK_FORMAT_AUTO;
    bool repair = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+f:r", opts, NULL)) != -1) {
        switch (c) {
        case 'f': fmt = parse_format(optarg); break;
        case 'r': repair = true; break;
        default: fail("check: unknown option (see vessel-img --help)");
        }
    }
    if (optind != argc - 1)
        fail("check: give exactly one image FILE");
    const char *path = argv[optind];
    BlockImage *img;
    VsError err = { 0 };
    unsigned flags =
        BLOCK_OPEN_NO_BACKING | (repair ? BLOCK_OPEN_FOR_REPAIR : BLOCK_OPEN_READ_ONLY);
    if (block_open(path, fmt, flags, &img, &err) != VS_OK)
        fail("%s", err.message);
    BlockCheckResult r;
    VsStatus st = block_check(img, repair, &r, print_line, NULL, &err);
    VsError cerr = { 0 };
    VsStatus cst = block_close(img, &cerr);
    if (st != VS_OK)
        fail("check not completed: %s", err.message);
    if (cst != VS_OK)
        fail("%s", cerr.message);
    if (repair && (r.corruptions_fixed || r.leaks_fixed))
        printf("The following inconsistencies were found and repaired:\n\n"
               "    %" PRIu64 " leaked clusters\n    %" PRIu64 " corruptions\n\n",
               r.leaks_fixed, r.corruptions_fixed);
    if (!r.corruptions && !r.leaks)
        printf("No errors were found on the image.\n");
    if (r.corruptions)
        printf("\n%" PRIu64 " errors were found on the image.\n"
               "Data may be corrupted, or further writes to the image may corrupt it.\n",
               r.corruptions);
    if (r.leaks)
        printf("\n%" PRIu64 " leaked clusters were found on the image.\n"
               "This means waste of disk space, but no harm to data.\n",
               r.leaks);
    if (r.total_clusters)
        printf("%" PRIu64 "/%" PRIu64 " = %.2f%% allocated\n", r.allocated_clusters,
               r.total_clusters, 100.0 * (double)r.allocated_clusters / (double)r.total_clusters);
    if (r.image_end)
        printf("Image end offset: %" PRIu64 "\n", r.image_end);
    if (r.corruptions)
        return EXIT_CHECK_CORRUPT;
    return r.leaks ? EXIT_CHECK_LEAKS : 0;
}

static int cmd_convert(int argc, char **argv)
{
    BlockFormat in_fmt = BLOCK_FORMAT_AUTO;
    BlockCreateOptions o = { .format = BLOCK_FORMAT_AUTO };
    int c;
    optind = 1;
    while ((c = getopt(argc, argv, "+f:O:o:")) != -1) {
        switch (c) {
        case 'f': in_fmt = parse_format(optarg); break;
        case 'O': o.format = parse_format(optarg); break;
        case 'o': parse_options(optarg, &o); break;
        default: fail("convert: unknown option (see vessel-img --help)");
        }
    }
    if (o.format == BLOCK_FORMAT_AUTO)
        fail("convert: give the output format with -O qcow2 or -O raw");
    if (optind != argc - 2)
        fail("convert: give the SRC and DST image files");
    const char *src = argv[optind], *dst = argv[optind + 1];
    BlockImage *in, *out;
    VsError err = { 0 };
    if (block_open(src, in_fmt, BLOCK_OPEN_READ_ONLY, &in, &err) != VS_OK)
        fail("%s", err.message);
    o.path = dst;
    o.size = block_size(in); /* bytes copied; block_create rounds the new image up */
    if (block_create(&o, &err) != VS_OK || block_open(dst, o.format, 0, &out, &err) != VS_OK) {
        block_close(in, NULL);
        fail("%s", err.message);
    }
    const size_t chunk = 2u << 20;
    uint8_t *buf = malloc(chunk);
    if (!buf)
        fail("out of memory");
    VsStatus st = VS_OK;
    /* The new image may be a little larger: sizes are rounded up to whole sectors. */
    for (uint64_t off = 0; off < o.size && st == VS_OK; off += chunk) {
        size_t n = o.size - off < chunk ? (size_t)(o.size - off) : chunk;
        st = block_pread(in, off, buf, n, &err);
        /* The new image reads zeros wherever nothing is written: keep it sparse. Skip
         * zeros per 64 KiB so partly zero chunks stay partly unallocated. */
        for (size_t p = 0; st == VS_OK && p < n; p += 65536) {
            size_t m = n - p < 65536 ? n - p : 65536;
            if (!block_is_zero(buf + p, m))
                st = block_pwrite(out, off + p, buf + p, m, &err);
        }
    }
    free(buf);
    if (st == VS_OK)
        st = block_close(out, &err);
    else
        block_close(out, NULL);
    block_close(in, NULL);
    if (st != VS_OK)
        fail("%s", err.message);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        fail("give a command: create, info, check or convert (see vessel-img --help)");
    const char *cmd = argv[1];
    if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help")) {
        fputs(usage_text, stdout);
        return 0;
    }
    if (!strcmp(cmd, "--version")) {
#ifdef VESSEL_VERSION
        printf("vessel-img %s\n", VESSEL_VERSION);
#else
        printf("vessel-img\n");
#endif
        return 0;
    }
    argc--;
    argv++;
    if (!strcmp(cmd, "create"))
        return cmd_create(argc, argv);
    if (!strcmp(cmd, "info"))
        return cmd_info(argc, argv);
    if (!strcmp(cmd, "check"))
        return cmd_check(argc, argv);
    if (!strcmp(cmd, "convert"))
        return cmd_convert(argc, argv);
    fail("unknown command '%s' (use create, info, check or convert)", cmd);
}
