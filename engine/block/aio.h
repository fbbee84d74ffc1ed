/* SPDX-License-Identifier: MIT */
/*
 * Asynchronous file I/O for the I/O thread (virtio-blk's back end).
 *
 * Two back ends behind one interface:
 * - io_uring (liburing): requests are queued as SQEs while a device handles a guest kick
 *   and submitted with one io_uring_submit() (aio_submit), completions arrive through an
 *   eventfd registered with io_uring_register_eventfd() that the I/O thread watches.
 * - a thread pool (a few workers doing preadv/pwritev2/fdatasync), completions signalled
 *   through the same kind of eventfd. Used when io_uring_queue_init fails (seccomp, old
 *   kernel, io_uring disabled by sysctl) or when the environment says VESSEL_AIO=threads.
 *
 * aio_call() runs an arbitrary blocking function on the pool in both cases: formats whose
 * requests are not a plain file range (qcow2) and fallocate-style operations use it.
 *
 * Short transfers are finished inside the engine: a short read or write is resubmitted for
 * the rest, and a read that reaches end of file fills the rest with zeros, so a callback
 * sees either the full length or a negative errno.
 *
 * Threads. Every function except aio_create/aio_destroy is called on the I/O thread (or,
 * before the handler is registered / in tests, on one thread that also calls aio_poll).
 * Callbacks run on that thread, from aio_poll() or the eventfd handler, never from inside
 * the call that queued the request.
 */
#ifndef VESSEL_AIO_H
#define VESSEL_AIO_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "core/iothread.h"
#include "vessel/engine.h"

typedef struct Aio Aio;

/* ret: bytes transferred (reads and writes: always the full length), 0 (sync), the
 * function's result (aio_call), or -errno. */
typedef void (*AioCallback)(void *opaque, int64_t ret);

/* aio_writev flags */
enum {
    AIO_FUA = 1u << 0, /* the write is durable when it completes (RWF_DSYNC) */
};

typedef enum AioBackend {
    AIO_BACKEND_IO_URING,
    AIO_BACKEND_THREADS,
} AioBackend;

/*
 * Create an engine. `io` may be NULL: then nothing watches the completion eventfd and the
 * caller drives completions with aio_poll()/aio_drain(). batch_done(opaque), if not NULL,
 * runs after each round of completion callbacks (a device raises one interrupt per round).
 */
VsStatus aio_create(VsIoThread *io, const pthread_attr_t *thread_attr,
                    void (*batch_done)(void *opaque), void *opaque, Aio **out, VsError *err);
/* Wait for every request (callbacks run), then free everything. With an I/O thread, call it
 * from any thread but the I/O thread's callbacks. */
void aio_destroy(Aio *a);

AioBackend aio_backend(const Aio *a);
const char *aio_backend_name(const Aio *a);

/* Queue a request; it reaches the kernel (or the pool) at the next aio_submit(). The iovec
 * array is copied; the buffers must stay valid until the callback. Returns 0 or -ENOMEM
 * (nothing queued, no callback). */
int aio_readv(Aio *a, int fd, uint64_t offset, const struct iovec *iov, int iovcnt, AioCallback cb,
              void *opaque);
int aio_writev(Aio *a, int fd, uint64_t offset, const struct iovec *iov, int iovcnt, unsigned flags,
               AioCallback cb, void *opaque);
/* fdatasync: every write that completed before this is queued is durable when it completes. */
int aio_fdatasync(Aio *a, int fd, AioCallback cb, void *opaque);
/* Run fn(arg) on a pool thread; its return value is the callback's `ret`. */
int aio_call(Aio *a, int64_t (*fn)(void *arg), void *arg, AioCallback cb, void *opaque);

/* Hand every queued request to the kernel / the pool in one go. */
void aio_submit(Aio *a);
/* Run the callbacks of whatever has completed (without waiting). */
void aio_poll(Aio *a);
/* Submit, then wait until no request is in flight, running callbacks as they complete. */
void aio_drain(Aio *a);
/* Requests queued or in flight whose callback has not run yet. */
unsigned aio_inflight(const Aio *a);

#endif
