/* SPDX-License-Identifier: MIT */
/* Error messages into a caller's buffer, for the CLI's parsers. */
#ifndef VESSEL_CLI_ERRBUF_H
#define VESSEL_CLI_ERRBUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

/* Format a message into err[errlen]; returns false, so a parser can `return fail(...)`. */
static inline bool fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static inline bool fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return false;
}

#endif
