/* SPDX-License-Identifier: MIT */
/* Device tree building helpers (see fdt-build.h). */
#include "boards/fdt-build.h"

#include <libfdt.h>
#include <stdlib.h>
#include <string.h>

static int node(FdtBuilder *f, const char *path)
{
    if (f->err)
        return -1;
    int off = fdt_path_offset(f->buf, path);
    if (off < 0)
        f->err = off;
    return off;
}

void fdtb_add(FdtBuilder *f, const char *parent, const char *name)
{
    int off = node(f, parent);
    if (off < 0)
        return;
    int r = fdt_add_subnode(f->buf, off, name);
    if (r < 0)
        f->err = r;
}

void fdtb_prop(FdtBuilder *f, const char *path, const char *name, const void *val, int len)
{
    int off = node(f, path);
    if (off < 0)
        return;
    int r = fdt_setprop(f->buf, off, name, val, len);
    if (r < 0)
        f->err = r;
}

void fdtb_prop_str(FdtBuilder *f, const char *path, const char *name, const char *val)
{
    fdtb_prop(f, path, name, val, (int)strlen(val) + 1);
}

void fdtb_prop_strs(FdtBuilder *f, const char *path, const char *name, const char *const *list,
                    unsigned n)
{
    char buf[256];
    size_t len = 0;
    for (unsigned i = 0; i < n; i++) {
        size_t l = strlen(list[i]) + 1;
        if (len + l > sizeof(buf)) {
            f->err = -FDT_ERR_NOSPACE;
            return;
        }
        memcpy(buf + len, list[i], l);
        len += l;
    }
    fdtb_prop(f, path, name, buf, (int)len);
}

void fdtb_prop_cells(FdtBuilder *f, const char *path, const char *name, const uint32_t *cells,
                     unsigned n)
{
    uint32_t *be = malloc((n ? n : 1) * sizeof(*be));
    if (!be) {
        f->err = -FDT_ERR_NOSPACE;
        return;
    }
    for (unsigned i = 0; i < n; i++)
        be[i] = cpu_to_fdt32(cells[i]);
    fdtb_prop(f, path, name, be, (int)(n * sizeof(*be)));
    free(be);
}

void fdtb_prop_u32(FdtBuilder *f, const char *path, const char *name, uint32_t val)
{
    fdtb_prop_cells(f, path, name, &val, 1);
}

void fdtb_prop_u64(FdtBuilder *f, const char *path, const char *name, uint64_t val)
{
    fdt64_t be = cpu_to_fdt64(val);
    fdtb_prop(f, path, name, &be, sizeof(be));
}

void fdtb_prop_empty(FdtBuilder *f, const char *path, const char *name)
{
    fdtb_prop(f, path, name, NULL, 0);
}

void fdtb_prop_reg(FdtBuilder *f, const char *path, uint64_t addr, uint64_t size)
{
    uint32_t cells[4] = { (uint32_t)(addr >> 32), (uint32_t)addr, (uint32_t)(size >> 32),
                          (uint32_t)size };
    fdtb_prop_cells(f, path, "reg", cells, 4);
}
