/* SPDX-License-Identifier: MIT */
/*
 * User networking on libslirp (4.7): NAT, DHCP and DNS in the process.
 *
 * Network 10.0.2.0/24: the host (gateway) is 10.0.2.2, the DNS forwarder 10.0.2.3, DHCP
 * hands out 10.0.2.15 onwards. IPv6 off; enable_emu off (its protocol helpers are not
 * safe); not restricted. Host port forwards bind to 127.0.0.1 unless an address is given.
 *
 * Event loop. libslirp is written for a poll() loop: before sleeping the application
 * calls slirp_pollfds_fill(), which reports each socket with the events slirp wants now
 * (they change as connections fill and drain) and a timeout for its TCP timers; after
 * waking it calls slirp_pollfds_poll() with what happened. We keep that contract on the
 * I/O thread's epoll loop with a "pump":
 *   - the sockets of the last fill are mirrored into a private epoll set (inner_ep), whose
 *     fd the I/O thread watches: it becomes readable when one of them is ready;
 *   - a timerfd fires at the fill's timeout or at the earliest slirp timer;
 *   - a pump runs poll() with a zero timeout over the last fill's sockets, gives the
 *     result to slirp_pollfds_poll() (which also runs the TCP timers), then fills again
 *     and brings inner_ep and the timerfd up to date.
 * It runs when inner_ep or the timerfd fire, after each batch of frames from the guest
 * (slirp_input can open sockets that need watching and schedule TCP's delayed ACK), and
 * through an eventfd when slirp asks with its notify callback. Every slirp call happens on
 * the I/O thread, so slirp needs no locking.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <slirp/libslirp.h>

#include "net/net.h"

#define SLIRP_NET      "10.0.2.0"
#define SLIRP_MASK     "255.255.255.0"
#define SLIRP_HOST     "10.0.2.2"
#define SLIRP_DNS      "10.0.2.3"
#define SLIRP_DHCP     "10.0.2.15"
#define SLIRP_FD_LIMIT 65536 /* fds we mirror; slirp never has that many sockets */

typedef struct SlirpTimer SlirpTimer;
typedef struct SlirpNet SlirpNet;

struct SlirpTimer {
    SlirpNet *s;
    SlirpTimerId id; /* timer_new_opaque timers */
    SlirpTimerCb cb; /* timer_new timers (older interface) */
    void *cb_opaque;
    int64_t expire_ms; /* -1: not armed */
    SlirpTimer *next;
};

typedef struct FdState {
    uint32_t events; /* epoll events registered in inner_ep */
    uint32_t gen;    /* the fill that last asked for it */
    bool on;
} FdState;

struct SlirpNet {
    NetBackend be;
    Slirp *slirp;
    int inner_ep;
    int timer_fd;
    VsNotifier pump_req;
    VsIoHandler *ep_handler, *timer_handler, *pump_handler;
    bool pump_pending;
    bool sent; /* frames went into slirp since the last pump */

    struct pollfd *pfds; /* the last fill */
    unsigned npfds, pfds_cap;
    FdState *fds; /* indexed by fd */
    unsigned fds_cap;
    uint32_t gen;
    int64_t fill_deadline_ms; /* now + the fill's timeout */
    int64_t armed_ms;         /* when timer_fd fires; -1: disarmed */
    SlirpTimer *timers;

    uint64_t guest_errors;
    /* Creation (on the I/O thread). */
    const VsNetConfig *cfg;
    VsError *err;
    VsStatus status;
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- libslirp callbacks ---- */

static ssize_t cb_send_packet(const void *buf, size_t len, void *opaque)
{
    SlirpNet *s = opaque;
    net_backend_deliver(&s->be, buf, len);
    return (ssize_t)len;
}

static void cb_guest_error(const char *msg, void *opaque)
{
    SlirpNet *s = opaque;
    /* The guest controls how often this happens: log the first few only. */
    if (s->guest_errors++ < 8)
        vs_log("user networking: guest error: %s", msg);
}

static int64_t cb_clock_get_ns(void *opaque)
{
    (void)opaque;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void arm_timer(SlirpNet *s);

static SlirpTimer *timer_add(SlirpNet *s)
{
    SlirpTimer *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL; /* libslirp does not expect failure; the timer just never fires */
    t->s = s;
    t->expire_ms = -1;
    t->next = s->timers;
    s->timers = t;
    return t;
}

static void *cb_timer_new(SlirpTimerCb cb, void *cb_opaque, void *opaque)
{
    SlirpTimer *t = timer_add(opaque);
    if (t) {
        t->cb = cb;
        t->cb_opaque = cb_opaque;
    }
    return t;
}

static void *cb_timer_new_opaque(SlirpTimerId id, void *cb_opaque, void *opaque)
{
    SlirpTimer *t = timer_add(opaque);
    if (t) {
        t->id = id;
        t->cb_opaque = cb_opaque;
    }
    return t;
}

static void cb_timer_free(void *timer, void *opaque)
{
    SlirpNet *s = opaque;
    for (SlirpTimer **p = &s->timers; *p; p = &(*p)->next) {
        if (*p == timer) {
            *p = ((SlirpTimer *)timer)->next;
            free(timer);
            return;
        }
    }
}

static void cb_timer_mod(void *timer, int64_t expire_ms, void *opaque)
{
    SlirpTimer *t = timer;
    if (!t)
        return;
    t->expire_ms = expire_ms;
    arm_timer(opaque);
}

static void fd_forget(SlirpNet *s, int fd)
{
    if (fd >= 0 && (unsigned)fd < s->fds_cap && s->fds[fd].on) {
        epoll_ctl(s->inner_ep, EPOLL_CTL_DEL, fd, NULL);
        s->fds[fd].on = false;
    }
}

static void cb_register_poll_fd(int fd, void *opaque)
{
    (void)fd;
    (void)opaque; /* the next fill reports it with the events slirp wants */
}

static void cb_unregister_poll_fd(int fd, void *opaque)
{
    fd_forget(opaque, fd); /* slirp closes it next */
}

static void request_pump(SlirpNet *s)
{
    if (!s->pump_pending) {
        s->pump_pending = true;
        vs_notifier_signal(&s->pump_req);
    }
}

static void cb_notify(void *opaque)
{
    request_pump(opaque);
}

static const SlirpCb slirp_callbacks = {
    .send_packet = cb_send_packet,
    .guest_error = cb_guest_error,
    .clock_get_ns = cb_clock_get_ns,
    .timer_new = cb_timer_new,
    .timer_free = cb_timer_free,
    .timer_mod = cb_timer_mod,
    .register_poll_fd = cb_register_poll_fd,
    .unregister_poll_fd = cb_unregister_poll_fd,
    .notify = cb_notify,
    .timer_new_opaque = cb_timer_new_opaque,
};

/* ---- The pump ---- */

static uint32_t to_epoll(int ev)
{
    uint32_t e = 0;
    if (ev & SLIRP_POLL_IN)
        e |= EPOLLIN;
    if (ev & SLIRP_POLL_OUT)
        e |= EPOLLOUT;
    if (ev & SLIRP_POLL_PRI)
        e |= EPOLLPRI;
    return e;
}

static short to_poll(int ev)
{
    short e = 0;
    if (ev & SLIRP_POLL_IN)
        e |= POLLIN;
    if (ev & SLIRP_POLL_OUT)
        e |= POLLOUT;
    if (ev & SLIRP_POLL_PRI)
        e |= POLLPRI;
    return e;
}

static bool fd_watch(SlirpNet *s, int fd, uint32_t events)
{
    if (fd < 0 || fd >= SLIRP_FD_LIMIT)
        return false;
    if ((unsigned)fd >= s->fds_cap) {
        unsigned cap = s->fds_cap ? s->fds_cap : 64;
        while (cap <= (unsigned)fd)
            cap *= 2;
        FdState *n = realloc(s->fds, cap * sizeof(*n));
        if (!n)
            return false;
        memset(n + s->fds_cap, 0, (cap - s->fds_cap) * sizeof(*n));
        s->fds = n;
        s->fds_cap = cap;
    }
    FdState *f = &s->fds[fd];
    f->gen = s->gen;
    if (f->on && f->events == events)
        return true;
    struct epoll_event ev = { .events = events, .data.fd = fd };
    /* The fd may have been closed and its number reused since we last saw it (epoll
     * forgets closed fds by itself): fall back between ADD and MOD. */
    int op = f->on ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
    if (epoll_ctl(s->inner_ep, op, fd, &ev) < 0) {
        int alt = op == EPOLL_CTL_MOD ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
        if ((errno != ENOENT && errno != EEXIST) || epoll_ctl(s->inner_ep, alt, fd, &ev) < 0) {
            f->on = false;
            return false;
        }
    }
    f->on = true;
    f->events = events;
    return true;
}

static int cb_add_poll(int fd, int events, void *opaque)
{
    SlirpNet *s = opaque;
    if (s->npfds == s->pfds_cap) {
        unsigned cap = s->pfds_cap ? s->pfds_cap * 2 : 32;
        struct pollfd *n = realloc(s->pfds, cap * sizeof(*n));
        if (!n)
            return -1; /* slirp treats a negative index as "not polled" */
        s->pfds = n;
        s->pfds_cap = cap;
    }
    fd_watch(s, fd, to_epoll(events));
    s->pfds[s->npfds] = (struct pollfd){ .fd = fd, .events = to_poll(events) };
    return (int)s->npfds++;
}

static int cb_get_revents(int idx, void *opaque)
{
    SlirpNet *s = opaque;
    if (idx < 0 || (unsigned)idx >= s->npfds)
        return 0;
    short r = s->pfds[idx].revents;
    int ev = 0;
    if (r & POLLIN)
        ev |= SLIRP_POLL_IN;
    if (r & POLLOUT)
        ev |= SLIRP_POLL_OUT;
    if (r & POLLPRI)
        ev |= SLIRP_POLL_PRI;
    if (r & POLLERR)
        ev |= SLIRP_POLL_ERR;
    if (r & POLLHUP)
        ev |= SLIRP_POLL_HUP;
    return ev;
}

static void arm_timer(SlirpNet *s)
{
    int64_t deadline = s->fill_deadline_ms;
    for (SlirpTimer *t = s->timers; t; t = t->next)
        if (t->expire_ms >= 0 && (deadline < 0 || t->expire_ms < deadline))
            deadline = t->expire_ms;
    /* Already set to fire no later than that: keep it (a syscall per pump saved). Firing
     * early is harmless: the pump it causes sets the timer again. */
    if (s->armed_ms >= 0 && s->armed_ms > now_ms() && (deadline < 0 || s->armed_ms <= deadline))
        return;
    s->armed_ms = deadline;
    struct itimerspec its = { 0 };
    if (deadline >= 0) {
        if (deadline < 1)
            deadline = 1; /* 0 would disarm */
        its.it_value.tv_sec = deadline / 1000;
        its.it_value.tv_nsec = (deadline % 1000) * 1000000;
    }
    timerfd_settime(s->timer_fd, TFD_TIMER_ABSTIME, &its, NULL);
}

static void refill(SlirpNet *s)
{
    s->npfds = 0;
    s->gen++;
    uint32_t timeout = UINT32_MAX;
    slirp_pollfds_fill(s->slirp, &timeout, cb_add_poll, s);
    /* Sockets slirp no longer asks about leave the inner set (a registered fd with no
     * events would still report errors and hang-ups forever). */
    for (unsigned fd = 0; fd < s->fds_cap; fd++)
        if (s->fds[fd].on && s->fds[fd].gen != s->gen)
            fd_forget(s, (int)fd);
    s->fill_deadline_ms = timeout == UINT32_MAX ? -1 : now_ms() + timeout;
    arm_timer(s);
}

static void pump(SlirpNet *s)
{
    int n = s->npfds ? poll(s->pfds, s->npfds, 0) : 0;
    if (n < 0)
        for (unsigned i = 0; i < s->npfds; i++)
            s->pfds[i].revents = 0;
    slirp_pollfds_poll(s->slirp, n < 0, cb_get_revents, s);
    refill(s);
}

static void on_sockets(void *opaque, uint32_t events)
{
    SlirpNet *s = opaque;
    (void)events;
    /* Drain the inner set's readiness list; pump() polls the sockets itself. */
    struct epoll_event ev[32];
    epoll_wait(s->inner_ep, ev, 32, 0);
    pump(s);
}

static void on_timer(void *opaque, uint32_t events)
{
    SlirpNet *s = opaque;
    (void)events;
    uint64_t ticks;
    while (read(s->timer_fd, &ticks, sizeof(ticks)) < 0 && errno == EINTR)
        ;
    s->armed_ms = -1;
    int64_t now = now_ms();
    /* Run each expired timer once; a callback may modify or free timers, so restart the
     * scan after each one. */
    for (bool again = true; again;) {
        again = false;
        for (SlirpTimer *t = s->timers; t; t = t->next) {
            if (t->expire_ms >= 0 && t->expire_ms <= now) {
                t->expire_ms = -1;
                if (t->cb)
                    t->cb(t->cb_opaque);
                else
                    slirp_handle_timer(s->slirp, t->id, t->cb_opaque);
                again = true;
                break;
            }
        }
    }
    pump(s);
}

static void on_pump_req(void *opaque, uint32_t events)
{
    SlirpNet *s = opaque;
    (void)events;
    vs_notifier_clear(&s->pump_req);
    s->pump_pending = false;
    pump(s);
}

/* ---- Back end ops (I/O thread) ---- */

static void slirp_send(NetBackend *be, const uint8_t *frame, size_t len)
{
    SlirpNet *s = (SlirpNet *)be;
    slirp_input(s->slirp, frame, (int)len);
    s->sent = true;
}

/* After a batch from the guest: new connections may need watching, and TCP may have
 * scheduled a delayed ACK, which only the next fill turns into a timer. */
static void slirp_flush(NetBackend *be)
{
    SlirpNet *s = (SlirpNet *)be;
    if (s->sent) {
        s->sent = false;
        pump(s);
    }
}

static void slirp_destroy(NetBackend *be)
{
    SlirpNet *s = (SlirpNet *)be;
    VsIoThread *io = be->m->io;
    if (s->slirp)
        slirp_cleanup(s->slirp);
    if (s->ep_handler)
        vs_iothread_remove(io, s->ep_handler);
    if (s->timer_handler)
        vs_iothread_remove(io, s->timer_handler);
    if (s->pump_handler)
        vs_iothread_remove(io, s->pump_handler);
    while (s->timers) {
        SlirpTimer *t = s->timers;
        s->timers = t->next;
        free(t);
    }
    if (s->inner_ep >= 0)
        close(s->inner_ep);
    if (s->timer_fd >= 0)
        close(s->timer_fd);
    vs_notifier_destroy(&s->pump_req);
    free(s->pfds);
    free(s->fds);
    free(s);
}

static const NetBackendOps slirp_ops = {
    .name = "user",
    .send = slirp_send,
    .flush = slirp_flush,
    .destroy = slirp_destroy,
};

static VsStatus add_forward(SlirpNet *s, const VsPortForward *fw, VsError *err)
{
    const char *proto = fw->udp ? "udp" : "tcp";
    const char *haddr = fw->host_addr ? fw->host_addr : "127.0.0.1";
    const char *gaddr = fw->guest_addr ? fw->guest_addr : SLIRP_DHCP;
    struct in_addr h, g;
    if (inet_pton(AF_INET, haddr, &h) != 1)
        return vs_error_set(err, VS_ERR_INVALID,
                            "hostfwd %s:%s:%u: the host address must be an IPv4 address", proto,
                            haddr, fw->host_port);
    if (inet_pton(AF_INET, gaddr, &g) != 1)
        return vs_error_set(err, VS_ERR_INVALID,
                            "hostfwd %s: guest address '%s' is not an IPv4 address", proto, gaddr);
    errno = 0;
    if (slirp_add_hostfwd(s->slirp, fw->udp, h, fw->host_port, g, fw->guest_port) < 0) {
        int e = errno;
        return vs_error_set(
            err, VS_ERR_IO, "cannot forward host port %s:%u (%s) to the guest: %s%s", haddr,
            fw->host_port, proto, e ? strerror(e) : "bind failed",
            e == EADDRINUSE ? " (another program is using it; pick a free port)" : "");
    }
    return VS_OK;
}

/* I/O thread: everything that calls slirp. */
static void create_on_io(void *arg)
{
    SlirpNet *s = arg;
    VsIoThread *io = s->be.m->io;
    SlirpConfig c = { .version = 4 };
    c.restricted = 0;
    c.in_enabled = true;
    inet_pton(AF_INET, SLIRP_NET, &c.vnetwork);
    inet_pton(AF_INET, SLIRP_MASK, &c.vnetmask);
    inet_pton(AF_INET, SLIRP_HOST, &c.vhost);
    inet_pton(AF_INET, SLIRP_DHCP, &c.vdhcp_start);
    inet_pton(AF_INET, SLIRP_DNS, &c.vnameserver);
    c.in6_enabled = false;
    c.enable_emu = false;
    s->slirp = slirp_new(&c, &slirp_callbacks, s);
    if (!s->slirp) {
        s->status = vs_error_set(s->err, VS_ERR_IO, "cannot start user networking (libslirp)");
        return;
    }
    for (unsigned i = 0; i < s->cfg->nforwards; i++) {
        s->status = add_forward(s, &s->cfg->forwards[i], s->err);
        if (s->status != VS_OK)
            return;
    }
    s->ep_handler = vs_iothread_add_fd(io, s->inner_ep, EPOLLIN, on_sockets, s, s->err);
    s->timer_handler =
        s->ep_handler ? vs_iothread_add_fd(io, s->timer_fd, EPOLLIN, on_timer, s, s->err) : NULL;
    s->pump_handler = s->timer_handler
                          ? vs_iothread_add_fd(io, s->pump_req.fd, EPOLLIN, on_pump_req, s, s->err)
                          : NULL;
    if (!s->pump_handler) {
        s->status = s->err->status;
        return;
    }
    refill(s);
    s->status = VS_OK;
}

static void destroy_on_io(void *arg)
{
    slirp_destroy(arg);
}

VsStatus net_slirp_create(VsMachine *m, const VsNetConfig *cfg, NetBackend **out, VsError *err)
{
    *out = NULL;
    SlirpNet *s = calloc(1, sizeof(*s));
    if (!s)
        return vs_error_set(err, VS_ERR_NOMEM, "out of memory creating user networking");
    net_backend_init(&s->be, &slirp_ops, m);
    s->pump_req.fd = -1;
    s->inner_ep = epoll_create1(EPOLL_CLOEXEC);
    s->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    s->fill_deadline_ms = -1;
    s->armed_ms = -1;
    if (s->inner_ep < 0 || s->timer_fd < 0 || !vs_notifier_init(&s->pump_req)) {
        int e = errno;
        vs_iothread_run_sync(m->io, destroy_on_io, s);
        return vs_error_set(err, VS_ERR_IO, "cannot set up user networking: %s", strerror(e));
    }
    s->cfg = cfg;
    s->err = err;
    vs_iothread_run_sync(m->io, create_on_io, s);
    s->cfg = NULL;
    s->err = NULL;
    if (s->status != VS_OK) {
        VsStatus st = s->status;
        vs_iothread_run_sync(m->io, destroy_on_io, s);
        return st;
    }
    *out = &s->be;
    return VS_OK;
}
