/* SPDX-License-Identifier: MIT */
/* Asynchronous file I/O: io_uring with a thread-pool fallback (see aio.h). */
#include <errno.h>
#include <liburing.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "block/aio.h"
#include "core/machine.h"

#define AIO_RING_DEPTH   128 /* SQEs in flight at most; the CQ (2x) can never overflow */
#define AIO_POOL_THREADS 4

typedef enum AioOp {
    AIO_OP_READ,
    AIO_OP_WRITE,
    AIO_OP_SYNC,
    AIO_OP_CALL,
} AioOp;

typedef struct AioReq {
    AioOp op;
    bool on_pool; /* runs on a worker thread rather than io_uring */
    int fd;
    unsigned flags;
    uint64_t offset; /* of the first byte not yet transferred */
    struct iovec *iov_alloc;
    struct iovec *iov; /* the part not yet transferred */
    int iovcnt;
    uint64_t len, done;
    int64_t (*fn)(void *arg);
    void *arg;
    int64_t result;
    AioCallback cb;
    void *opaque;
    struct AioReq *next;
} AioReq;

typedef struct AioList {
    AioReq *head, *tail;
} AioList;

struct Aio {
    VsIoThread *io;
    VsIoHandler *handler;
    void (*batch_done)(void *opaque);
    void *opaque;
    int efd; /* completions of both back ends */
    AioBackend backend;
    struct io_uring ring;
    unsigned in_ring; /* SQEs handed to the kernel whose CQE has not been seen */
    unsigned inflight;
    AioList ready; /* queued, not yet submitted (I/O thread only) */

    pthread_t threads[AIO_POOL_THREADS];
    unsigned nthreads;
    pthread_mutex_t lock; /* the two lists below and stop */
    pthread_cond_t cond;
    AioList work; /* for the workers */
    AioList done; /* finished by the workers */
    bool stop;
};

static void list_add(AioList *l, AioReq *r)
{
    r->next = NULL;
    if (l->tail)
        l->tail->next = r;
    else
        l->head = r;
    l->tail = r;
}

static AioReq *list_take_all(AioList *l)
{
    AioReq *r = l->head;
    l->head = l->tail = NULL;
    return r;
}

static void efd_signal(int fd)
{
    uint64_t one = 1;
    while (write(fd, &one, sizeof(one)) < 0 && errno == EINTR)
        ;
}

static void efd_clear(int fd)
{
    uint64_t v;
    while (read(fd, &v, sizeof(v)) < 0 && errno == EINTR)
        ;
}

/* n bytes of the remaining transfer are done. */
static void req_advance(AioReq *r, uint64_t n)
{
    r->done += n;
    r->offset += n;
    while (r->iovcnt && n >= r->iov->iov_len) {
        n -= r->iov->iov_len;
        r->iov++;
        r->iovcnt--;
    }
    if (r->iovcnt && n) {
        r->iov->iov_base = (char *)r->iov->iov_base + n;
        r->iov->iov_len -= n;
    }
    while (r->iovcnt && r->iov->iov_len == 0) {
        r->iov++;
        r->iovcnt--;
    }
}

/* A read reached end of file: the rest reads as zeros. */
static void req_zero_rest(AioReq *r)
{
    for (int i = 0; i < r->iovcnt; i++)
        memset(r->iov[i].iov_base, 0, r->iov[i].iov_len);
    r->done = r->len;
    r->iovcnt = 0;
}

/*
 * One transfer result (bytes or -errno) for a read or write. Returns true when the request
 * is finished (r->result set), false when the rest must be submitted again.
 */
static bool req_transferred(AioReq *r, int64_t res)
{
    if (res == -EINTR || res == -EAGAIN)
        return false;
    if (res < 0) {
        r->result = res;
        return true;
    }
    if (res == 0 && r->done < r->len) {
        if (r->op == AIO_OP_WRITE) {
            r->result = -EIO; /* no progress: never spin */
            return true;
        }
        req_zero_rest(r);
    } else {
        req_advance(r, (uint64_t)res);
    }
    if (r->done < r->len)
        return false;
    r->result = (int64_t)r->len;
    return true;
}

/* ---- Thread pool ---- */

static void pool_run(AioReq *r)
{
    switch (r->op) {
    case AIO_OP_READ:
    case AIO_OP_WRITE:
        for (;;) {
            if (r->done >= r->len) {
                r->result = (int64_t)r->len;
                return;
            }
            int cnt = r->iovcnt > IOV_MAX ? IOV_MAX : r->iovcnt;
            ssize_t n;
            if (r->op == AIO_OP_READ)
                n = preadv(r->fd, r->iov, cnt, (off_t)r->offset);
            else
                n = pwritev2(r->fd, r->iov, cnt, (off_t)r->offset,
                             (r->flags & AIO_FUA) ? RWF_DSYNC : 0);
            if (req_transferred(r, n < 0 ? -errno : n))
                return;
        }
    case AIO_OP_SYNC:
        while ((r->result = fdatasync(r->fd) < 0 ? -errno : 0) == -EINTR)
            ;
        return;
    case AIO_OP_CALL: r->result = r->fn(r->arg); return;
    }
}

static void *pool_worker(void *opaque)
{
    Aio *a = opaque;
    pthread_setname_np(pthread_self(), "vessel-aio");
    pthread_mutex_lock(&a->lock);
    for (;;) {
        while (!a->work.head && !a->stop)
            pthread_cond_wait(&a->cond, &a->lock);
        if (!a->work.head)
            break;
        AioReq *r = a->work.head;
        a->work.head = r->next;
        if (!a->work.head)
            a->work.tail = NULL;
        pthread_mutex_unlock(&a->lock);
        pool_run(r);
        pthread_mutex_lock(&a->lock);
        list_add(&a->done, r);
        efd_signal(a->efd);
    }
    pthread_mutex_unlock(&a->lock);
    return NULL;
}

/* ---- Queueing and submission ---- */

static AioReq *req_new(Aio *a, AioOp op, int fd, uint64_t offset, const struct iovec *iov,
                       int iovcnt, AioCallback cb, void *opaque)
{
    AioReq *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->op = op;
    r->fd = fd;
    r->offset = offset;
    r->cb = cb;
    r->opaque = opaque;
    if (iovcnt > 0) {
        r->iov_alloc = malloc(sizeof(*iov) * (size_t)iovcnt);
        if (!r->iov_alloc) {
            free(r);
            return NULL;
        }
        memcpy(r->iov_alloc, iov, sizeof(*iov) * (size_t)iovcnt);
        for (int i = 0; i < iovcnt; i++)
            r->len += iov[i].iov_len;
    }
    r->iov = r->iov_alloc;
    r->iovcnt = iovcnt;
    req_advance(r, 0); /* skip empty leading buffers */
    r->done = 0;
    /* Empty transfers and calls go to the pool; so does everything without io_uring. */
    r->on_pool = a->backend == AIO_BACKEND_THREADS || op == AIO_OP_CALL ||
                 ((op == AIO_OP_READ || op == AIO_OP_WRITE) && r->len == 0);
    a->inflight++;
    list_add(&a->ready, r);
    return r;
}

int aio_readv(Aio *a, int fd, uint64_t offset, const struct iovec *iov, int iovcnt, AioCallback cb,
              void *opaque)
{
    return req_new(a, AIO_OP_READ, fd, offset, iov, iovcnt, cb, opaque) ? 0 : -ENOMEM;
}

int aio_writev(Aio *a, int fd, uint64_t offset, const struct iovec *iov, int iovcnt, unsigned flags,
               AioCallback cb, void *opaque)
{
    AioReq *r = req_new(a, AIO_OP_WRITE, fd, offset, iov, iovcnt, cb, opaque);
    if (!r)
        return -ENOMEM;
    r->flags = flags;
    return 0;
}

int aio_fdatasync(Aio *a, int fd, AioCallback cb, void *opaque)
{
    return req_new(a, AIO_OP_SYNC, fd, 0, NULL, 0, cb, opaque) ? 0 : -ENOMEM;
}

int aio_call(Aio *a, int64_t (*fn)(void *arg), void *arg, AioCallback cb, void *opaque)
{
    AioReq *r = req_new(a, AIO_OP_CALL, -1, 0, NULL, 0, cb, opaque);
    if (!r)
        return -ENOMEM;
    r->fn = fn;
    r->arg = arg;
    return 0;
}

static void uring_prep(Aio *a, struct io_uring_sqe *sqe, AioReq *r)
{
    int cnt = r->iovcnt > IOV_MAX ? IOV_MAX : r->iovcnt;
    switch (r->op) {
    case AIO_OP_READ: io_uring_prep_readv(sqe, r->fd, r->iov, (unsigned)cnt, r->offset); break;
    case AIO_OP_WRITE:
        io_uring_prep_writev(sqe, r->fd, r->iov, (unsigned)cnt, r->offset);
        if (r->flags & AIO_FUA)
            sqe->rw_flags = RWF_DSYNC;
        break;
    case AIO_OP_SYNC: io_uring_prep_fsync(sqe, r->fd, IORING_FSYNC_DATASYNC); break;
    case AIO_OP_CALL: break; /* never on the ring */
    }
    io_uring_sqe_set_data(sqe, r);
    a->in_ring++;
}

void aio_submit(Aio *a)
{
    AioReq *r = list_take_all(&a->ready);
    AioList pool = { 0 };
    bool queued = false;
    while (r) {
        AioReq *next = r->next;
        if (r->on_pool) {
            list_add(&pool, r);
        } else {
            struct io_uring_sqe *sqe =
                a->in_ring < AIO_RING_DEPTH ? io_uring_get_sqe(&a->ring) : NULL;
            if (!sqe) {
                list_add(&a->ready, r); /* waits for a completion to make room */
            } else {
                uring_prep(a, sqe, r);
                queued = true;
            }
        }
        r = next;
    }
    if (queued) {
        /* One system call for the whole batch. On -EBUSY/-EAGAIN the SQEs stay in the
         * submission queue and go with the next submit (after completions made room). */
        int ret;
        do
            ret = io_uring_submit(&a->ring);
        while (ret == -EINTR);
    }
    if (pool.head) {
        pthread_mutex_lock(&a->lock);
        if (a->work.tail)
            a->work.tail->next = pool.head;
        else
            a->work.head = pool.head;
        a->work.tail = pool.tail;
        pthread_cond_broadcast(&a->cond);
        pthread_mutex_unlock(&a->lock);
    }
}

static void req_complete(Aio *a, AioReq *r)
{
    a->inflight--;
    AioCallback cb = r->cb;
    void *opaque = r->opaque;
    int64_t result = r->result;
    free(r->iov_alloc);
    free(r);
    if (cb)
        cb(opaque, result);
}

void aio_poll(Aio *a)
{
    bool any = false;
    efd_clear(a->efd);
    if (a->backend == AIO_BACKEND_IO_URING) {
        struct io_uring_cqe *cqe;
        while (io_uring_peek_cqe(&a->ring, &cqe) == 0) {
            AioReq *r = io_uring_cqe_get_data(cqe);
            int res = cqe->res;
            io_uring_cqe_seen(&a->ring, cqe);
            a->in_ring--;
            if (r->op == AIO_OP_SYNC) {
                if (res == -EINTR) {
                    list_add(&a->ready, r);
                    continue;
                }
                r->result = res;
            } else if (!req_transferred(r, res)) {
                list_add(&a->ready, r); /* short transfer: the rest goes again */
                continue;
            }
            req_complete(a, r);
            any = true;
        }
    }
    pthread_mutex_lock(&a->lock);
    AioReq *r = list_take_all(&a->done);
    pthread_mutex_unlock(&a->lock);
    while (r) {
        AioReq *next = r->next;
        req_complete(a, r);
        any = true;
        r = next;
    }
    if (any && a->batch_done)
        a->batch_done(a->opaque);
    aio_submit(a);
}

static void aio_ready(void *opaque, uint32_t events)
{
    (void)events;
    aio_poll(opaque);
}

void aio_drain(Aio *a)
{
    for (;;) {
        aio_poll(a); /* also submits */
        if (!a->inflight)
            return;
        struct pollfd p = { .fd = a->efd, .events = POLLIN };
        if (poll(&p, 1, -1) < 0 && errno != EINTR)
            return; /* cannot wait: nothing sensible left to do */
    }
}

unsigned aio_inflight(const Aio *a)
{
    return a->inflight;
}

AioBackend aio_backend(const Aio *a)
{
    return a->backend;
}

const char *aio_backend_name(const Aio *a)
{
    return a->backend == AIO_BACKEND_IO_URING ? "io_uring" : "threads";
}

/* ---- Life cycle ---- */

static bool uring_init(Aio *a)
{
    if (io_uring_queue_init(AIO_RING_DEPTH, &a->ring, 0) < 0)
        return false;
    if (io_uring_register_eventfd(&a->ring, a->efd) < 0) {
        io_uring_queue_exit(&a->ring);
        return false;
    }
    return true;
}

static void pool_stop(Aio *a)
{
    pthread_mutex_lock(&a->lock);
    a->stop = true;
    pthread_cond_broadcast(&a->cond);
    pthread_mutex_unlock(&a->lock);
    for (unsigned i = 0; i < a->nthreads; i++)
        pthread_join(a->threads[i], NULL);
    a->nthreads = 0;
}

static void aio_free(Aio *a)
{
    pool_stop(a);
    if (a->backend == AIO_BACKEND_IO_URING)
        io_uring_queue_exit(&a->ring);
    if (a->efd >= 0)
        close(a->efd);
    pthread_cond_destroy(&a->cond);
    pthread_mutex_destroy(&a->lock);
    free(a);
}

VsStatus aio_create(VsIoThread *io, const pthread_attr_t *thread_attr,
                    void (*batch_done)(void *opaque), void *opaque, Aio **out, VsError *err)
{
    *out = NULL;
    Aio *a = calloc(1, sizeof(*a));
    if (!a)
        return vs_error_set(err, VS_ERR_NOMEM, "out of memory creating the disk I/O engine");
    a->io = io;
    a->batch_done = batch_done;
    a->opaque = opaque;
    pthread_mutex_init(&a->lock, NULL);
    pthread_cond_init(&a->cond, NULL);
    a->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (a->efd < 0) {
        int e = errno;
        aio_free(a);
        return vs_error_set(err, VS_ERR_IO, "cannot create an eventfd for disk I/O: %s",
                            strerror(e));
    }
    const char *want = getenv("VESSEL_AIO");
    a->backend = AIO_BACKEND_THREADS;
    if (!want || strcmp(want, "threads") != 0) {
        if (uring_init(a)) {
            a->backend = AIO_BACKEND_IO_URING;
        } else if (want && !strcmp(want, "io_uring")) {
            aio_free(a);
            return vs_error_set(err, VS_ERR_UNSUPPORTED,
                                "VESSEL_AIO=io_uring, but io_uring is not available here");
        }
    }
    for (unsigned i = 0; i < AIO_POOL_THREADS; i++) {
        if (pthread_create(&a->threads[i], thread_attr, pool_worker, a) != 0)
            break;
        a->nthreads++;
    }
    if (!a->nthreads) {
        aio_free(a);
        return vs_error_set(err, VS_ERR_NOMEM, "cannot start the disk I/O threads");
    }
    if (io) {
        a->handler = vs_iothread_add_fd(io, a->efd, EPOLLIN, aio_ready, a, err);
        if (!a->handler) {
            aio_free(a);
            return err->status;
        }
    }
    *out = a;
    return VS_OK;
}

static void drain_cb(void *arg)
{
    aio_drain(arg);
}

void aio_destroy(Aio *a)
{
    if (!a)
        return;
    if (a->io) {
        vs_iothread_run_sync(a->io, drain_cb, a);
        vs_iothread_remove(a->io, a->handler);
    } else {
        aio_drain(a);
    }
    aio_free(a);
}
