/* SPDX-License-Identifier: MIT */
/* A fresh scratch directory for a test or fuzz target, under $TMPDIR (default /tmp). */
#ifndef VESSEL_TEST_TMPDIR_H
#define VESSEL_TEST_TMPDIR_H

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

/* buf[size] receives "$TMPDIR/<name>-XXXXXX" made unique and created by mkdtemp (mode 0700).
 * Returns false with errno set when the path does not fit or mkdtemp fails. */
static inline bool test_mkdtemp(char *buf, size_t size, const char *name)
{
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !*tmp)
        tmp = "/tmp";
    int n = snprintf(buf, size, "%s/%s-XXXXXX", tmp, name);
    if (n < 0 || (size_t)n >= size) {
        errno = ENAMETOOLONG;
        return false;
    }
    return mkdtemp(buf) != NULL;
}

#endif
