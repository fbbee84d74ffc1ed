/* SPDX-License-Identifier: MIT */
/* Errors, logging, the host clock and the small name/size parsers of the public API. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/machine.h"

VsStatus vs_error_set(VsError *err, VsStatus status, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof(err->message), fmt, ap);
        va_end(ap);
        err->status = status;
    }
    return status;
}

void vs_log(const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    fprintf(stderr, "vessel: %s\n", buf);
}

void vs_config_init(VsConfig *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->arch = VS_ARCH_RISCV64;
    cfg->accel = VS_ACCEL_AUTO;
    cfg->ram_size = 512ull << 20;
    cfg->smp = 1;
}

static const struct {
    const char *name;
    VsArch arch;
} arch_names[] = {
    { "riscv64", VS_ARCH_RISCV64 }, { "rv64", VS_ARCH_RISCV64 },  { "arm64", VS_ARCH_ARM64 },
    { "aarch64", VS_ARCH_ARM64 },   { "x86_64", VS_ARCH_X86_64 }, { "amd64", VS_ARCH_X86_64 },
};

VsArch vs_arch_from_name(const char *name)
{
    for (size_t i = 0; name && i < sizeof(arch_names) / sizeof(arch_names[0]); i++)
        if (!strcasecmp(name, arch_names[i].name))
            return arch_names[i].arch;
    return VS_ARCH_NONE;
}

const char *vs_arch_name(VsArch arch)
{
    switch (arch) {
    case VS_ARCH_RISCV64: return "riscv64";
    case VS_ARCH_ARM64: return "arm64";
    case VS_ARCH_X86_64: return "x86_64";
    default: return "none";
    }
}

static const char *const accel_names[] = { "auto", "interp", "jit", "kvm" };

int vs_accel_from_name(const char *name)
{
    if (!name)
        return -1;
    if (!strcasecmp(name, "interpreter"))
        return VS_ACCEL_INTERP;
    for (int i = 0; i < 4; i++)
        if (!strcasecmp(name, accel_names[i]))
            return i;
    return -1;
}

const char *vs_accel_name(VsAccel accel)
{
    return (unsigned)accel < 4 ? accel_names[accel] : "unknown";
}

bool vs_parse_size(const char *text, uint64_t *out)
{
    if (!text || !*text || isspace((unsigned char)*text) || *text == '-' || *text == '+')
        return false;
    errno = 0;
    char *end;
    /* Whole part, then an optional fraction. */
    unsigned long long whole = strtoull(text, &end, 10);
    if (errno || end == text)
        return false;
    double frac = 0;
    if (*end == '.') {
        const char *f = end + 1;
        double scale = 0.1;
        if (!isdigit((unsigned char)*f))
            return false;
        while (isdigit((unsigned char)*f)) {
            frac += (*f - '0') * scale;
            scale /= 10;
            f++;
        }
        end = (char *)f;
    }
    uint64_t mult = 1;
    switch (toupper((unsigned char)*end)) {
    case 0: break;
    case 'K':
        mult = 1ull << 10;
        end++;
        break;
    case 'M':
        mult = 1ull << 20;
        end++;
        break;
    case 'G':
        mult = 1ull << 30;
        end++;
        break;
    case 'T':
        mult = 1ull << 40;
        end++;
        break;
    default: return false;
    }
    if (mult > 1 && (*end == 'i' || *end == 'I'))
        end++;
    if (mult > 1 && (*end == 'B' || *end == 'b'))
        end++;
    if (*end)
        return false;
    if (frac != 0 && mult == 1)
        return false;
    if (whole > UINT64_MAX / mult)
        return false;
    uint64_t v = whole * mult + (uint64_t)(frac * (double)mult);
    *out = v;
    return true;
}
