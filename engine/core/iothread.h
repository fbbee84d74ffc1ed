/* SPDX-License-Identifier: MIT */
/*
 * The I/O thread: one event loop (epoll) that runs every device back end. Devices register
 * file descriptors (eventfds for guest notifications, sockets, timerfds, io_uring
 * completion fds) with a callback; callbacks run on the I/O thread only, one at a time.
 */
#ifndef VESSEL_IOTHREAD_H
#define VESSEL_IOTHREAD_H

#include <stdbool.h>
#include <stdint.h>

#include "vessel/engine.h"

typedef struct VsIoThread VsIoThread;
typedef struct VsIoHandler VsIoHandler;

/* `events` are EPOLLIN/EPOLLOUT/... as reported by epoll. */
typedef void (*VsIoCallback)(void *opaque, uint32_t events);

VsStatus vs_iothread_create(VsIoThread **out, VsError *err);
/* Stop the loop, join the thread, free every handler. */
void vs_iothread_destroy(VsIoThread *io);

/* Watch fd for `events` (EPOLLIN etc.). Returns NULL and fills err on failure. */
VsIoHandler *vs_iothread_add_fd(VsIoThread *io, int fd, uint32_t events, VsIoCallback cb,
                                void *opaque, VsError *err);
/*
 * Stop watching. Safe from any thread, including from inside a callback; once it returns,
 * the callback is not running and will not run again.
 */
void vs_iothread_remove(VsIoThread *io, VsIoHandler *h);

/* Run fn(arg) on the I/O thread and wait for it (directly when already there). Device
 * resets use this so no back-end work is in flight afterwards. */
void vs_iothread_run_sync(VsIoThread *io, void (*fn)(void *arg), void *arg);
bool vs_iothread_is_current(const VsIoThread *io);

/* An eventfd: the cheap cross-thread wake-up a guest notification (queue kick) uses. */
typedef struct VsNotifier {
    int fd;
} VsNotifier;

bool vs_notifier_init(VsNotifier *n);
void vs_notifier_destroy(VsNotifier *n);
void vs_notifier_signal(VsNotifier *n);
/* Consume pending signals; returns true if there were any. */
bool vs_notifier_clear(VsNotifier *n);

#endif
