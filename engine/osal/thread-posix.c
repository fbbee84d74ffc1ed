/* SPDX-License-Identifier: MIT */
#include <pthread.h>
#include <string.h>

#include "osal/osal.h"

void vs_thread_set_name(const char *name)
{
    char buf[16]; /* Linux limit, including the terminator */
    strncpy(buf, name, sizeof(buf) - 1);
    buf[sizeof(buf) - 1] = 0;
    pthread_setname_np(pthread_self(), buf);
}
