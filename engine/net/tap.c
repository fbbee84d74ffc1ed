/* SPDX-License-Identifier: MIT */
/*
 * TAP back end (--net-mode bridge --net-if tapX): the guest's frames go to an existing TAP
 * interface, which the host bridges or routes as it likes.
 *
 * We attach to an interface someone made (ip tuntap add dev tapX mode tap [user NAME]),
 * never create one: TUNSETIFF on a name that does not exist would quietly make a new,
 * unconfigured device. IFF_TAP|IFF_NO_PI: plain Ethernet frames, no packet-information
 * prefix and no virtio-net header (IFF_VNET_HDR is not used, so the kernel hands us fully
 * checksummed frames and takes the same).
 *
 * The fd is non-blocking and read on the I/O thread. Flow control: while the device's
 * receive queue is full we stop watching the fd, so frames wait in the kernel's queue
 * (txqueuelen) instead of being read and dropped; rx_resume watches it again. Each wake
 * reads a bounded number of frames so a flood cannot starve other devices.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "net/net.h"

#define TAP_READ_BUDGET 64 /* frames per wake-up */

typedef struct TapNet {
    NetBackend be;
    int fd;
    VsIoHandler *handler;
    bool watching;
    uint8_t buf[NET_FRAME_MAX];
} TapNet;

static void tap_readable(void *opaque, uint32_t events);

static void tap_watch(TapNet *t, bool on)
{
    if (on == t->watching)
        return;
    if (on) {
        VsError err;
        t->handler = vs_iothread_add_fd(t->be.m->io, t->fd, EPOLLIN, tap_readable, t, &err);
        t->watching = t->handler != NULL;
        if (!t->handler)
            vs_log("tap: cannot watch the interface: %s", err.message);
    } else {
        vs_iothread_remove(t->be.m->io, t->handler);
        t->handler = NULL;
        t->watching = false;
    }
}

static void tap_readable(void *opaque, uint32_t events)
{
    TapNet *t = opaque;
    (void)events;
    for (unsigned i = 0; i < TAP_READ_BUDGET; i++) {
        if (!net_backend_can_deliver(&t->be)) {
            tap_watch(t, false); /* until the guest posts buffers */
            return;
        }
        ssize_t n = read(t->fd, t->buf, sizeof(t->buf));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return; /* EAGAIN: drained; other errors: the fd stays level-triggered */
        }
        net_backend_deliver(&t->be, t->buf, (size_t)n);
    }
}

static void tap_send(NetBackend *be, const uint8_t *frame, size_t len)
{
    TapNet *t = (TapNet *)be;
    ssize_t n;
    while ((n = write(t->fd, frame, len)) < 0 && errno == EINTR)
        ;
    /* EAGAIN (the interface's queue is full) or the interface went down: drop, as a
     * NIC would; the guest's TCP retransmits. */
    if (n != (ssize_t)len)
        be->tx_dropped++;
}

static void tap_rx_resume(NetBackend *be)
{
    tap_watch((TapNet *)be, true);
}

static void tap_destroy(NetBackend *be)
{
    TapNet *t = (TapNet *)be;
    tap_watch(t, false);
    if (t->fd >= 0)
        close(t->fd);
    free(t);
}

static const NetBackendOps tap_ops = {
    .name = "tap",
    .send = tap_send,
    .rx_resume = tap_rx_resume,
    .destroy = tap_destroy,
};

static VsStatus tap_open(const char *ifname, int *out, VsError *err)
{
    *out = -1;
    if (!ifname || !*ifname)
        return vs_error_set(err, VS_ERR_INVALID,
                            "--net-mode bridge needs the TAP interface name (--net-if tap0)");
    if (strlen(ifname) >= IFNAMSIZ)
        return vs_error_set(err, VS_ERR_INVALID,
                            "TAP interface name '%s' is too long (at most %d characters)", ifname,
                            IFNAMSIZ - 1);
    if (if_nametoindex(ifname) == 0)
        return vs_error_set(err, VS_ERR_INVALID,
                            "there is no network interface '%s': create it first, e.g. "
                            "'ip tuntap add dev %s mode tap user $USER && ip link set %s up'",
                            ifname, ifname, ifname);
    int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        if (e == ENOENT || e == ENODEV || e == ENXIO)
            return vs_error_set(err, VS_ERR_UNSUPPORTED,
                                "cannot open /dev/net/tun: %s (load the tun module: "
                                "modprobe tun)",
                                strerror(e));
        if (e == EACCES || e == EPERM)
            return vs_error_set(err, VS_ERR_IO,
                                "cannot open /dev/net/tun: %s (it must be readable and writable "
                                "by this user)",
                                strerror(e));
        return vs_error_set(err, VS_ERR_IO, "cannot open /dev/net/tun: %s", strerror(e));
    }
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    memcpy(ifr.ifr_name, ifname, strlen(ifname));
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        int e = errno;
        close(fd);
        switch (e) {
        case EPERM:
        case EACCES:
            return vs_error_set(err, VS_ERR_IO,
                                "cannot attach to TAP interface '%s': permission denied (run "
                                "with CAP_NET_ADMIN, or make the interface yours: "
                                "ip tuntap add dev %s mode tap user $USER)",
                                ifname, ifname);
        case EBUSY:
            return vs_error_set(err, VS_ERR_IO,
                                "cannot attach to TAP interface '%s': another program is "
                                "using it",
                                ifname);
        case EINVAL:
            return vs_error_set(err, VS_ERR_INVALID,
                                "network interface '%s' is not a TAP interface (make one with "
                                "'ip tuntap add dev NAME mode tap')",
                                ifname);
        default:
            return vs_error_set(err, VS_ERR_IO, "cannot attach to TAP interface '%s': %s", ifname,
                                strerror(e));
        }
    }
    *out = fd;
    return VS_OK;
}

typedef struct TapStart {
    TapNet *t;
    VsError *err;
    VsStatus st;
} TapStart;

static void start_on_io(void *arg)
{
    TapStart *ts = arg;
    ts->t->handler =
        vs_iothread_add_fd(ts->t->be.m->io, ts->t->fd, EPOLLIN, tap_readable, ts->t, ts->err);
    ts->t->watching = ts->t->handler != NULL;
    ts->st = ts->t->handler ? VS_OK : ts->err->status;
}

VsStatus net_tap_create(VsMachine *m, const VsNetConfig *cfg, NetBackend **out, VsError *err)
{
    *out = NULL;
    int fd;
    VsStatus st = tap_open(cfg->ifname, &fd, err);
    if (st != VS_OK)
        return st;
    TapNet *t = calloc(1, sizeof(*t));
    if (!t) {
        close(fd);
        return vs_error_set(err, VS_ERR_NOMEM, "out of memory creating the TAP back end");
    }
    net_backend_init(&t->be, &tap_ops, m);
    t->fd = fd;
    TapStart ts = { .t = t, .err = err };
    vs_iothread_run_sync(m->io, start_on_io, &ts);
    if (ts.st != VS_OK) {
        close(fd);
        free(t);
        return ts.st;
    }
    *out = &t->be;
    return VS_OK;
}
