/* SPDX-License-Identifier: MIT */
/* Pass/fail counters and CHECK macros shared by the standalone unit tests. */
#ifndef VESSEL_TEST_CHECK_H
#define VESSEL_TEST_CHECK_H

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>

static int g_pass, g_fail;

#define CHECK(cond)                                                                  \
    do {                                                                             \
        if (cond) {                                                                  \
            g_pass++;                                                                \
        } else {                                                                     \
            g_fail++;                                                                \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                            \
    } while (0)

#define CHECK_EQ(a, b)                                                             \
    do {                                                                           \
        uint64_t a_ = (uint64_t)(a), b_ = (uint64_t)(b);                           \
        if (a_ == b_) {                                                            \
            g_pass++;                                                              \
        } else {                                                                   \
            g_fail++;                                                              \
            fprintf(stderr,                                                        \
                    "%s:%d: CHECK_EQ failed: %s == 0x%" PRIx64 ", expected %s == " \
                    "0x%" PRIx64 "\n",                                             \
                    __FILE__, __LINE__, #a, a_, #b, b_);                           \
        }                                                                          \
    } while (0)

#endif
