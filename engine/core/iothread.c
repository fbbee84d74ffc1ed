/* SPDX-License-Identifier: MIT */
/* The I/O thread's event loop on epoll (Linux). */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/iothread.h"
#include "core/machine.h"

#define MAX_EVENTS 64

struct VsIoHandler {
    int fd;
    VsIoCallback cb;
    void *opaque;
    bool dead;
    VsIoHandler *next; /* all handlers, or the graveyard once dead */
};

typedef struct SyncReq {
    void (*fn)(void *arg);
    void *arg;
    bool done;
    struct SyncReq *next;
} SyncReq;

struct VsIoThread {
    int epfd;
    VsNotifier wake; /* run_sync requests and stop */
    pthread_t thread;
    bool started;
    pthread_mutex_t lock; /* reqs, stop, handlers list */
    pthread_cond_t cond;
    bool stop;
    SyncReq *reqs;
    VsIoHandler *handlers;
    VsIoHandler *graveyard; /* removed during a batch; freed when the batch ends */
};

bool vs_notifier_init(VsNotifier *n)
{
    n->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    return n->fd >= 0;
}

void vs_notifier_destroy(VsNotifier *n)
{
    if (n->fd >= 0)
        close(n->fd);
    n->fd = -1;
}

void vs_notifier_signal(VsNotifier *n)
{
    uint64_t one = 1;
    /* EAGAIN means the counter is saturated: already signalled. */
    while (write(n->fd, &one, sizeof(one)) < 0 && errno == EINTR)
        ;
}

bool vs_notifier_clear(VsNotifier *n)
{
    uint64_t v;
    ssize_t r;
    while ((r = read(n->fd, &v, sizeof(v))) < 0 && errno == EINTR)
        ;
    return r == sizeof(v) && v != 0;
}

bool vs_iothread_is_current(const VsIoThread *io)
{
    return io->started && pthread_equal(pthread_self(), io->thread);
}

/* Run queued run_sync requests (I/O thread). */
static void run_requests(VsIoThread *io)
{
    pthread_mutex_lock(&io->lock);
    while (io->reqs) {
        SyncReq *r = io->reqs;
        io->reqs = r->next;
        pthread_mutex_unlock(&io->lock);
        r->fn(r->arg);
        pthread_mutex_lock(&io->lock);
        r->done = true;
        pthread_cond_broadcast(&io->cond);
    }
    pthread_mutex_unlock(&io->lock);
}

static void *io_main(void *arg)
{
    VsIoThread *io = arg;
    struct epoll_event ev[MAX_EVENTS];
    vs_thread_set_name("vessel-io");
    for (;;) {
        int n = epoll_wait(io->epfd, ev, MAX_EVENTS, -1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            vs_log("I/O thread: epoll_wait failed: %s", strerror(errno));
            break;
        }
        for (int i = 0; i < n; i++) {
            VsIoHandler *h = ev[i].data.ptr;
            if (!h) { /* the wake notifier */
                vs_notifier_clear(&io->wake);
                run_requests(io);
                continue;
            }
            if (!h->dead)
                h->cb(h->opaque, ev[i].events);
        }
        /* Handlers removed during this batch can go now: no event refers to them. */
        pthread_mutex_lock(&io->lock);
        VsIoHandler *g = io->graveyard;
        io->graveyard = NULL;
        bool stop = io->stop;
        pthread_mutex_unlock(&io->lock);
        while (g) {
            VsIoHandler *next = g->next;
            free(g);
            g = next;
        }
        if (stop)
            break;
    }
    return NULL;
}

VsStatus vs_iothread_create(VsIoThread **out, VsError *err)
{
    *out = NULL;
    VsIoThread *io = calloc(1, sizeof(*io));
    if (!io)
        return vs_error_set(err, VS_ERR_NOMEM, "out of memory");
    io->wake.fd = -1;
    pthread_mutex_init(&io->lock, NULL);
    pthread_cond_init(&io->cond, NULL);
    io->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (io->epfd < 0 || !vs_notifier_init(&io->wake)) {
        int e = errno;
        vs_iothread_destroy(io);
        return vs_error_set(err, VS_ERR_IO, "cannot create the I/O event loop: %s", strerror(e));
    }
    struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
    if (epoll_ctl(io->epfd, EPOLL_CTL_ADD, io->wake.fd, &ev) < 0 ||
        pthread_create(&io->thread, NULL, io_main, io) != 0) {
        int e = errno;
        vs_iothread_destroy(io);
        return vs_error_set(err, VS_ERR_IO, "cannot start the I/O thread: %s", strerror(e));
    }
    io->started = true;
    *out = io;
    return VS_OK;
}

void vs_iothread_destroy(VsIoThread *io)
{
    if (!io)
        return;
    if (io->started) {
        pthread_mutex_lock(&io->lock);
        io->stop = true;
        pthread_mutex_unlock(&io->lock);
        vs_notifier_signal(&io->wake);
        pthread_join(io->thread, NULL);
    }
    for (VsIoHandler *h = io->handlers; h;) {
        VsIoHandler *next = h->next;
        free(h);
        h = next;
    }
    for (VsIoHandler *h = io->graveyard; h;) {
        VsIoHandler *next = h->next;
        free(h);
        h = next;
    }
    if (io->epfd >= 0)
        close(io->epfd);
    vs_notifier_destroy(&io->wake);
    pthread_mutex_destroy(&io->lock);
    pthread_cond_destroy(&io->cond);
    free(io);
}

VsIoHandler *vs_iothread_add_fd(VsIoThread *io, int fd, uint32_t events, VsIoCallback cb,
                                void *opaque, VsError *err)
{
    VsIoHandler *h = calloc(1, sizeof(*h));
    if (!h) {
        vs_error_set(err, VS_ERR_NOMEM, "out of memory");
        return NULL;
    }
    h->fd = fd;
    h->cb = cb;
    h->opaque = opaque;
    pthread_mutex_lock(&io->lock);
    h->next = io->handlers;
    io->handlers = h;
    pthread_mutex_unlock(&io->lock);
    struct epoll_event ev = { .events = events, .data.ptr = h };
    if (epoll_ctl(io->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
        int e = errno;
        vs_iothread_remove(io, h);
        vs_error_set(err, VS_ERR_IO, "cannot watch file descriptor %d: %s", fd, strerror(e));
        return NULL;
    }
    return h;
}

typedef struct RemoveReq {
    VsIoThread *io;
    VsIoHandler *h;
} RemoveReq;

/* On the I/O thread (or before it runs any batch that could see h). */
static void remove_now(void *arg)
{
    RemoveReq *r = arg;
    VsIoThread *io = r->io;
    VsIoHandler *h = r->h;
    epoll_ctl(io->epfd, EPOLL_CTL_DEL, h->fd, NULL); /* fails harmlessly if never added */
    h->dead = true;
    pthread_mutex_lock(&io->lock);
    VsIoHandler **pp = &io->handlers;
    while (*pp && *pp != h)
        pp = &(*pp)->next;
    if (*pp)
        *pp = h->next;
    h->next = io->graveyard;
    io->graveyard = h;
    pthread_mutex_unlock(&io->lock);
}

void vs_iothread_remove(VsIoThread *io, VsIoHandler *h)
{
    if (!h)
        return;
    RemoveReq r = { io, h };
    vs_iothread_run_sync(io, remove_now, &r);
}

void vs_iothread_run_sync(VsIoThread *io, void (*fn)(void *arg), void *arg)
{
    if (!io->started || vs_iothread_is_current(io)) {
        fn(arg);
        return;
    }
    SyncReq req = { fn, arg, false, NULL };
    pthread_mutex_lock(&io->lock);
    SyncReq **pp = &io->reqs;
    while (*pp)
        pp = &(*pp)->next;
    *pp = &req;
    pthread_mutex_unlock(&io->lock);
    vs_notifier_signal(&io->wake);
    pthread_mutex_lock(&io->lock);
    while (!req.done)
        pthread_cond_wait(&io->cond, &io->lock);
    pthread_mutex_unlock(&io->lock);
}
