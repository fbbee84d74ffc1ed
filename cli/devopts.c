/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devopts.h"
#include "errbuf.h"

/* Split arg at single commas (",," is a literal comma). Returns a NULL-terminated array
 * of heap strings, or NULL when out of memory. */
static char **split_commas(const char *arg)
{
    size_t n = 1;
    for (const char *p = arg; *p; p++)
        n += *p == ',';
    char **parts = calloc(n + 1, sizeof(*parts));
    char *buf = malloc(strlen(arg) + 1);
    if (!parts || !buf) {
        free(parts);
        free(buf);
        return NULL;
    }
    size_t k = 0, len = 0;
    for (const char *p = arg;; p++) {
        if (*p == ',' && p[1] == ',') {
            buf[len++] = ',';
            p++;
            continue;
        }
        if (*p == ',' || !*p) {
            buf[len] = 0;
            parts[k++] = strdup(buf);
            len = 0;
            if (!*p)
                break;
            continue;
        }
        buf[len++] = *p;
    }
    free(buf);
    return parts;
}

static void free_parts(char **parts)
{
    for (char **p = parts; p && *p; p++)
        free(*p);
    free(parts);
}

bool devopt_parse_disk(const char *arg, VsDiskConfig *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    char **parts = split_commas(arg);
    if (!parts)
        return fail(err, errlen, "out of memory");
    bool ok = true;
    if (!parts[0][0]) {
        ok = fail(err, errlen,
                  "--disk needs a file name: --disk FILE[,format=raw|qcow2][,readonly]");
        goto out;
    }
    for (char **p = parts + 1; *p; p++) {
        if (!strcmp(*p, "readonly") || !strcmp(*p, "readonly=on")) {
            out->readonly = true;
        } else if (!strcmp(*p, "readonly=off")) {
            out->readonly = false;
        } else if (!strncmp(*p, "format=", 7)) {
            const char *f = *p + 7;
            if (!strcmp(f, "raw"))
                out->format = VS_DISK_FORMAT_RAW;
            else if (!strcmp(f, "qcow2"))
                out->format = VS_DISK_FORMAT_QCOW2;
            else if (!strcmp(f, "auto"))
                out->format = VS_DISK_FORMAT_AUTO;
            else {
                ok = fail(err, errlen, "--disk %s: unknown format '%s' (use raw or qcow2)",
                          parts[0], f);
                goto out;
            }
        } else {
            ok = fail(err, errlen,
                      "--disk %s: unknown option '%s' (use format=raw|qcow2 or readonly; write a "
                      "comma in a file name as ',,')",
                      parts[0], *p);
            goto out;
        }
    }
    out->path = strdup(parts[0]);
    if (!out->path)
        ok = fail(err, errlen, "out of memory");
out:
    free_parts(parts);
    return ok;
}

static bool parse_port(const char *s, uint16_t *port)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < 1 || v > 65535)
        return false;
    *port = (uint16_t)v;
    return true;
}

/* [tcp|udp]:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT, as QEMU's hostfwd. */
static bool parse_hostfwd(const char *spec, VsPortForward *fw, char *err, size_t errlen)
{
    memset(fw, 0, sizeof(*fw));
    char *s = strdup(spec), *p = s;
    if (!s)
        return fail(err, errlen, "out of memory");
    bool ok = false;
    if (!strncmp(p, "tcp:", 4)) {
        p += 4;
    } else if (!strncmp(p, "udp:", 4)) {
        fw->udp = true;
        p += 4;
    } else if (*p == ':') { /* an empty protocol is tcp */
        p += 1;
    } else {
        goto bad;
    }
    char *dash = strchr(p, '-');
    if (!dash)
        goto bad;
    *dash = 0;
    char *host = p, *guest = dash + 1;
    char *hc = strrchr(host, ':'), *gc = strrchr(guest, ':');
    if (!hc || !gc)
        goto bad;
    *hc = 0;
    *gc = 0;
    if (!parse_port(hc + 1, &fw->host_port) || !parse_port(gc + 1, &fw->guest_port))
        goto bad;
    if (*host && !(fw->host_addr = strdup(host)))
        goto nomem;
    if (*guest && !(fw->guest_addr = strdup(guest)))
        goto nomem;
    ok = true;
    goto out;
bad:
    fail(err, errlen,
         "invalid hostfwd '%s': use hostfwd=tcp:127.0.0.1:2222-:22 "
         "([tcp|udp]:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT, ports 1-65535)",
         spec);
    goto out;
nomem:
    fail(err, errlen, "out of memory");
out:
    free(s);
    return ok;
}

bool devopt_parse_net(const char *arg, VsNetConfig *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    char **parts = split_commas(arg);
    if (!parts)
        return fail(err, errlen, "out of memory");
    bool ok = true;
    if (!strcmp(parts[0], "user"))
        out->mode = VS_NET_USER;
    else if (!strcmp(parts[0], "bridge"))
        out->mode = VS_NET_BRIDGE;
    else if (!strcmp(parts[0], "none"))
        out->mode = VS_NET_NONE;
    else {
        ok = fail(err, errlen, "unknown --net-mode '%s' (use user, bridge or none)", parts[0]);
        goto out;
    }
    for (char **p = parts + 1; *p; p++) {
        if (!strncmp(*p, "hostfwd=", 8)) {
            if (out->mode != VS_NET_USER) {
                ok = fail(err, errlen, "hostfwd= needs --net-mode user");
                goto out;
            }
            VsPortForward *fw = realloc((void *)out->forwards, (out->nforwards + 1) * sizeof(*fw));
            if (!fw) {
                ok = fail(err, errlen, "out of memory");
                goto out;
            }
            out->forwards = fw;
            if (!parse_hostfwd(*p + 8, &fw[out->nforwards], err, errlen)) {
                ok = false;
                goto out;
            }
            out->nforwards++;
        } else if (!strncmp(*p, "mac=", 4)) {
            unsigned b[6];
            char tail;
            if (sscanf(*p + 4, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4],
                       &b[5], &tail) != 6 ||
                (b[0] & 1)) {
                ok = fail(err, errlen,
                          "invalid mac '%s': use six hex bytes like 52:54:00:12:34:56 "
                          "(a unicast address: the first byte even)",
                          *p + 4);
                goto out;
            }
            for (int i = 0; i < 6; i++)
                out->mac[i] = (uint8_t)b[i];
            out->mac_set = true;
        } else {
            ok =
                fail(err, errlen, "--net-mode %s: unknown option '%s' (use hostfwd=... or mac=...)",
                     parts[0], *p);
            goto out;
        }
    }
out:
    free_parts(parts);
    return ok;
}

bool devopt_parse_share(const char *arg, VsShareConfig *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    char **parts = split_commas(arg);
    if (!parts)
        return fail(err, errlen, "out of memory");
    bool ok = true;
    const char *path = NULL, *tag = NULL;
    for (char **p = parts; *p; p++) {
        if (!strncmp(*p, "path=", 5))
            path = *p + 5;
        else if (!strncmp(*p, "tag=", 4))
            tag = *p + 4;
        else if (!strcmp(*p, "readonly") || !strcmp(*p, "readonly=on"))
            out->readonly = true;
        else {
            ok = fail(err, errlen,
                      "--share: unknown option '%s' (use path=DIR,tag=NAME[,readonly])", *p);
            goto out;
        }
    }
    if (!path || !*path || !tag || !*tag) {
        ok = fail(err, errlen,
                  "--share needs path=DIR and tag=NAME, e.g. --share "
                  "path=$HOME/shared,tag=hostshare");
        goto out;
    }
    /* The guest's mount tag: virtio-9p's config holds at most 65535 bytes, Linux reads
     * up to 31 (tag_len limit in net/9p/trans_virtio.c is PAGE_SIZE; keep it short). */
    if (strlen(tag) > 31) {
        ok = fail(err, errlen, "--share tag '%s' is longer than 31 characters", tag);
        goto out;
    }
    out->path = strdup(path);
    out->tag = strdup(tag);
    if (!out->path || !out->tag)
        ok = fail(err, errlen, "out of memory");
out:
    free_parts(parts);
    return ok;
}
