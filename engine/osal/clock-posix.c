/* SPDX-License-Identifier: MIT */
#include <time.h>

#include "osal/osal.h"

uint64_t vs_clock_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}
