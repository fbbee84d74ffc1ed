/* SPDX-License-Identifier: MIT */
/*
 * The I/O thread: callbacks run on the I/O thread for eventfd signals; run_sync runs on it
 * and waits; after vs_iothread_remove returns a callback never runs again, whether it is
 * removed from another thread or from inside itself.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <time.h>

#include "core/iothread.h"

static int fails;
#define CHECK(cond, ...)                                \
    do {                                                \
        if (!(cond)) {                                  \
            fails++;                                    \
            printf("FAIL %s:%d: ", __FILE__, __LINE__); \
            printf(__VA_ARGS__);                        \
            printf("\n");                               \
        }                                               \
    } while (0)

typedef struct Counter {
    VsIoThread *io;
    VsNotifier n;
    VsIoHandler *h;
    _Atomic int calls;
    _Atomic int on_io_thread;
    _Atomic bool removed;
    _Atomic int after_removal;
    bool remove_self;
} Counter;

static void on_event(void *opaque, uint32_t events)
{
    Counter *c = opaque;
    if (atomic_load(&c->removed))
        atomic_fetch_add(&c->after_removal, 1);
    vs_notifier_clear(&c->n);
    atomic_fetch_add(&c->calls, 1);
    if (vs_iothread_is_current(c->io) && (events & EPOLLIN))
        atomic_fetch_add(&c->on_io_thread, 1);
    if (c->remove_self) {
        vs_iothread_remove(c->io, c->h);
        atomic_store(&c->removed, true);
    }
}

static void sleep_ms(long ms)
{
    struct timespec ts = { 0, ms * 1000000L };
    nanosleep(&ts, NULL);
}

static void wait_calls(Counter *c, int n)
{
    for (int i = 0; i < 2000 && atomic_load(&c->calls) < n; i++)
        sleep_ms(1);
}

static void mark(void *arg)
{
    VsIoThread *io = ((void **)arg)[0];
    *(int *)((void **)arg)[1] = vs_iothread_is_current(io) ? 1 : -1;
}

int main(void)
{
    VsIoThread *io;
    VsError err;
    if (vs_iothread_create(&io, &err) != VS_OK) {
        printf("FAIL: %s\n", err.message);
        return 1;
    }

    /* Signals reach the callback, on the I/O thread. */
    Counter a = { .io = io };
    CHECK(vs_notifier_init(&a.n), "eventfd");
    a.h = vs_iothread_add_fd(io, a.n.fd, EPOLLIN, on_event, &a, &err);
    CHECK(a.h != NULL, "add_fd: %s", err.message);
    vs_notifier_signal(&a.n);
    wait_calls(&a, 1);
    CHECK(atomic_load(&a.calls) == 1 && atomic_load(&a.on_io_thread) == 1,
          "one call on the I/O thread (calls %d)", atomic_load(&a.calls));
    for (int i = 0; i < 100; i++) {
        vs_notifier_signal(&a.n);
        wait_calls(&a, 2 + i);
    }
    CHECK(atomic_load(&a.calls) == 101, "101 calls, got %d", atomic_load(&a.calls));

    /* Removal from another thread: afterwards no more calls, even with signals pending. */
    vs_notifier_signal(&a.n);
    vs_iothread_remove(io, a.h);
    atomic_store(&a.removed, true);
    int before = atomic_load(&a.calls);
    vs_notifier_signal(&a.n);
    sleep_ms(50);
    CHECK(atomic_load(&a.calls) == before && atomic_load(&a.after_removal) == 0,
          "no call after remove");

    /* A callback removing itself. */
    Counter b = { .io = io, .remove_self = true };
    vs_notifier_init(&b.n);
    b.h = vs_iothread_add_fd(io, b.n.fd, EPOLLIN, on_event, &b, &err);
    vs_notifier_signal(&b.n);
    wait_calls(&b, 1);
    vs_notifier_signal(&b.n);
    sleep_ms(50);
    CHECK(atomic_load(&b.calls) == 1 && atomic_load(&b.after_removal) == 0,
          "self-removal: %d calls", atomic_load(&b.calls));

    /* run_sync runs on the I/O thread and has finished when it returns. */
    int where = 0;
    void *args[2] = { io, &where };
    vs_iothread_run_sync(io, mark, args);
    CHECK(where == 1, "run_sync ran on the I/O thread");

    /* A bad descriptor is an error, not a crash. */
    CHECK(vs_iothread_add_fd(io, -1, EPOLLIN, on_event, &a, &err) == NULL, "fd -1 refused");
    printf("add_fd(-1): %s\n", err.message);

    vs_iothread_destroy(io);
    vs_notifier_destroy(&a.n);
    vs_notifier_destroy(&b.n);
    printf("%s: %d failure(s)\n", fails ? "FAIL" : "PASS", fails);
    return fails ? 1 : 0;
}
