/* SPDX-License-Identifier: MIT */
/*
 * Small helpers over libfdt's read-write API for building a board's device tree. Nodes are
 * found by path every time (libfdt moves them as the tree grows) and the first error sticks,
 * so a builder can make all its calls and check f->err once at the end.
 * Each new node is added before its siblings: add the last one first.
 */
#ifndef VESSEL_FDT_BUILD_H
#define VESSEL_FDT_BUILD_H

#include <stdint.h>

typedef struct FdtBuilder {
    void *buf;
    int err; /* 0, or the first libfdt error (negative) */
} FdtBuilder;

void fdtb_add(FdtBuilder *f, const char *parent, const char *name);
void fdtb_prop(FdtBuilder *f, const char *path, const char *name, const void *val, int len);
void fdtb_prop_str(FdtBuilder *f, const char *path, const char *name, const char *val);
/* A NUL-separated string list (like "compatible"). */
void fdtb_prop_strs(FdtBuilder *f, const char *path, const char *name, const char *const *list,
                    unsigned n);
/* 32-bit cells given in host order. */
void fdtb_prop_cells(FdtBuilder *f, const char *path, const char *name, const uint32_t *cells,
                     unsigned n);
void fdtb_prop_u32(FdtBuilder *f, const char *path, const char *name, uint32_t val);
void fdtb_prop_u64(FdtBuilder *f, const char *path, const char *name, uint64_t val);
void fdtb_prop_empty(FdtBuilder *f, const char *path, const char *name);
/* reg = <addr size> with #address-cells = #size-cells = 2. */
void fdtb_prop_reg(FdtBuilder *f, const char *path, uint64_t addr, uint64_t size);

#endif
