/* SPDX-License-Identifier: MIT */
/* The state trace at block boundaries: see trace-state.h for the format. */
#include "core/trace-state.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/machine.h"

struct TraceState {
    FILE *f;
    char *path;
    unsigned nfields, nwords;
    uint32_t *offsets; /* byte offsets of the fields in the arch CPU struct */
    uint64_t *prev;    /* the fields as last recorded */
    uint64_t *vals;    /* scratch: the changed values of one record */
    uint64_t nrecords;
    bool failed;
};

static bool put(TraceState *t, const void *p, size_t n)
{
    if (t->failed)
        return false;
    if (fwrite(p, 1, n, t->f) != n) {
        fprintf(stderr, "vessel: writing the state trace '%s' failed: %s; tracing stopped\n",
                t->path, strerror(errno));
        t->failed = true;
        return false;
    }
    return true;
}

VsStatus trace_state_open(TraceState **out, const char *path, const VsArchOps *arch, VsError *err)
{
    *out = NULL;
    if (!arch)
        return vs_error_set(err, VS_ERR_UNSUPPORTED,
                            "--trace-state needs the interpreter or the JIT (not KVM)");
    TraceState *t = calloc(1, sizeof(*t));
    if (!t)
        return vs_error_set(err, VS_ERR_NOMEM, "out of memory");
    unsigned nglob = arch->globals->count;
    t->nfields = nglob + arch->ntrace_fields;
    t->nwords = (t->nfields + 63) / 64;
    t->offsets = calloc(t->nfields, sizeof(*t->offsets));
    t->prev = calloc(t->nfields, sizeof(*t->prev));
    t->vals = calloc(t->nfields, sizeof(*t->vals));
    t->path = strdup(path);
    if (!t->offsets || !t->prev || !t->vals || !t->path) {
        trace_state_close(t);
        return vs_error_set(err, VS_ERR_NOMEM, "out of memory");
    }
    t->f = fopen(path, "wb");
    if (!t->f) {
        VsStatus st = vs_error_set(err, VS_ERR_IO, "cannot create the state trace '%s': %s", path,
                                   strerror(errno));
        trace_state_close(t);
        return st;
    }
    setvbuf(t->f, NULL, _IOFBF, 1 << 20);
    uint32_t hdr[2] = { t->nfields, TRACE_STATE_KEYFRAME };
    put(t, "VSTRACE1", 8);
    put(t, hdr, sizeof(hdr));
    for (unsigned i = 0; i < t->nfields; i++) {
        const IrGlobalDef *d = i < nglob ? &arch->globals->defs[i] : &arch->trace_fields[i - nglob];
        uint8_t len = (uint8_t)strnlen(d->name, 255);
        put(t, &len, 1);
        put(t, d->name, len);
        t->offsets[i] = d->offset;
    }
    if (t->failed) {
        VsStatus st = vs_error_set(err, VS_ERR_IO, "cannot write the state trace '%s'", path);
        trace_state_close(t);
        return st;
    }
    *out = t;
    return VS_OK;
}

void trace_state_record(TraceState *t, VsCpu *cpu, uint32_t mode)
{
    const uint8_t *base = (const uint8_t *)cpu;
    bool key = t->nrecords % TRACE_STATE_KEYFRAME == 0;
    uint64_t bitmap[4] = { 0 }; /* up to 256 fields (checked in machine.c) */
    unsigned n = 0;
    for (unsigned i = 0; i < t->nfields; i++) {
        uint64_t v;
        memcpy(&v, base + t->offsets[i], sizeof(v));
        if (key || v != t->prev[i]) {
            bitmap[i / 64] |= 1ull << (i % 64);
            t->vals[n++] = v;
            t->prev[i] = v;
        }
    }
    uint8_t kind = key ? 'K' : 'D';
    put(t, &kind, 1);
    put(t, &mode, sizeof(mode));
    if (!key)
        put(t, bitmap, t->nwords * sizeof(uint64_t));
    put(t, t->vals, n * sizeof(uint64_t));
    t->nrecords++;
}

void trace_state_close(TraceState *t)
{
    if (!t)
        return;
    if (t->f) {
        uint8_t kind = 'E';
        put(t, &kind, 1);
        put(t, &t->nrecords, sizeof(t->nrecords));
        if (fclose(t->f) != 0 && !t->failed)
            fprintf(stderr, "vessel: writing the state trace '%s' failed: %s\n", t->path,
                    strerror(errno));
    }
    free(t->path);
    free(t->offsets);
    free(t->prev);
    free(t->vals);
    free(t);
}
