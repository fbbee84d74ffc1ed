/* SPDX-License-Identifier: MIT */
/*
 * Fake sysfs trees for the CPU-topology tests: fake_sysfs_new_tree() starts a new, empty
 * tree under the test's scratch directory (g_tmp, set up by the test with test_mkdtemp),
 * put() writes a file in it, creating directories on the way.
 */
#ifndef VESSEL_TEST_FAKE_SYSFS_H
#define VESSEL_TEST_FAKE_SYSFS_H

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static char g_tmp[256];
static char g_root[512];
static unsigned g_tree;

/* mkdir -p for the directory part of `path` under the current tree, then write text. */
static void put(const char *path, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(const char *path, const char *fmt, ...)
{
    char full[1024];
    snprintf(full, sizeof(full), "%s/%s", g_root, path);
    for (char *p = full + strlen(g_tmp) + 1; *p; p++) {
        if (*p == '/') {
            *p = 0;
            if (mkdir(full, 0755) != 0 && errno != EEXIST) {
                perror(full);
                exit(1);
            }
            *p = '/';
        }
    }
    FILE *f = fopen(full, "w");
    if (!f) {
        perror(full);
        exit(1);
    }
    va_list ap;
    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
    fclose(f);
}

/* Start a new, empty fake tree; g_root is its /sys. */
static void fake_sysfs_new_tree(void)
{
    snprintf(g_root, sizeof(g_root), "%s/tree%u/sys", g_tmp, g_tree++);
}

#endif
