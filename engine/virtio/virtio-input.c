/* SPDX-License-Identifier: MIT */
/*
 * virtio-input (virtio 1.2 section 5.8): a keyboard, an absolute tablet and a relative
 * mouse, fed by the front end through vs_machine_input_*().
 *
 * Queues: 0 eventq (device -> driver, one struct virtio_input_event per buffer), 1 statusq
 * (driver -> device: LED state, consumed and recorded). The configuration space answers
 * the driver's select/subsel queries (5.8.5): ID_NAME, ID_SERIAL, ID_DEVIDS, PROP_BITS,
 * EV_BITS per event type, ABS_INFO per axis; an unknown selection has size 0.
 *
 * Host events wait in a bounded queue (INPUT_QUEUE_MAX events) until the guest has
 * posted buffers. When it is full the oldest complete event groups (up to and including
 * a SYN_REPORT) are dropped, so the guest never sees half a group. A guest buffer shorter
 * than one event is a guest error: the device is marked DEVICE_NEEDS_RESET.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "virtio/vdev.h"

/* Linux input event types and codes (linux/input-event-codes.h; fixed ABI). */
#define EV_SYN                     0x00
#define EV_KEY                     0x01
#define EV_REL                     0x02
#define EV_ABS                     0x03
#define EV_LED                     0x11
#define EV_REP                     0x14
#define SYN_REPORT                 0
#define REL_X                      0x00
#define REL_Y                      0x01
#define REL_HWHEEL                 0x06
#define REL_WHEEL                  0x08
#define ABS_X                      0x00
#define ABS_Y                      0x01
#define BTN_LEFT                   0x110
#define KEY_POWER                  116
#define LED_NUML                   0x00
#define LED_CAPSL                  0x01
#define LED_SCROLLL                0x02
#define BUS_VIRTUAL                0x06
#define KEY_LAST_STD               248 /* KEY_MICMUTE: the keys a PC keyboard front end can send */

#define VIRTIO_INPUT_CFG_UNSET     0x00
#define VIRTIO_INPUT_CFG_ID_NAME   0x01
#define VIRTIO_INPUT_CFG_ID_SERIAL 0x02
#define VIRTIO_INPUT_CFG_ID_DEVIDS 0x03
#define VIRTIO_INPUT_CFG_PROP_BITS 0x10
#define VIRTIO_INPUT_CFG_EV_BITS   0x11
#define VIRTIO_INPUT_CFG_ABS_INFO  0x12

#define INPUT_CFG_SIZE             136 /* select, subsel, size, reserved[5], u[128] */
#define INPUT_EVENT_SIZE           8
#define INPUT_QUEUE_MAX            1024
#define INPUT_ABS_MAX              32767
#define INPUT_QUEUE                0
#define STATUS_QUEUE               1

typedef enum InputKind { INPUT_KEYBOARD, INPUT_TABLET, INPUT_MOUSE, INPUT_KINDS } InputKind;

typedef struct InputEvent {
    uint16_t type, code;
    uint32_t value;
} InputEvent;

typedef struct VirtioInput {
    VirtioDevice dev;
    VsMachine *m;
    InputKind kind;
    uint8_t select, subsel; /* the driver's current config selection */

    pthread_mutex_t q_lock; /* the event queue */
    InputEvent queue[INPUT_QUEUE_MAX];
    unsigned q_head, q_len;
    uint64_t dropped;
    VsNotifier notify; /* host events arrived */
    VsIoHandler *handler;
    VirtqElem *elem; /* I/O thread only */
    uint8_t leds;    /* from the statusq */
} VirtioInput;

static const char *const input_names[INPUT_KINDS] = {
    "Vessel Virtio Keyboard",
    "Vessel Virtio Tablet",
    "Vessel Virtio Mouse",
};

static void set_bit(uint8_t *map, unsigned bit)
{
    map[bit / 8] |= (uint8_t)(1u << (bit % 8));
}

/* The union part of the config for the current selection; returns its size. */
static uint8_t input_config_payload(VirtioInput *in, uint8_t out[128])
{
    memset(out, 0, 128);
    switch (in->select) {
    case VIRTIO_INPUT_CFG_ID_NAME: {
        size_t n = strlen(input_names[in->kind]);
        memcpy(out, input_names[in->kind], n);
        return (uint8_t)n;
    }
    case VIRTIO_INPUT_CFG_ID_SERIAL: {
        static const char serial[] = "vessel-input";
        memcpy(out, serial, sizeof(serial) - 1);
        return sizeof(serial) - 1;
    }
    case VIRTIO_INPUT_CFG_ID_DEVIDS: {
        /* bustype, vendor, product, version (le16 each). Vendor "VE". */
        const uint16_t ids[4] = { BUS_VIRTUAL, 0x5645, (uint16_t)(in->kind + 1), 1 };
        for (int i = 0; i < 4; i++) {
            out[2 * i] = (uint8_t)ids[i];
            out[2 * i + 1] = (uint8_t)(ids[i] >> 8);
        }
        return 8;
    }
    case VIRTIO_INPUT_CFG_PROP_BITS:
        /* No properties: INPUT_PROP_POINTER/DIRECT would make the tablet a touchscreen. */
        return 0;
    case VIRTIO_INPUT_CFG_EV_BITS: {
        unsigned max = 0;
        switch (in->subsel) {
        case EV_KEY:
            if (in->kind == INPUT_KEYBOARD) {
                for (unsigned k = 1; k <= KEY_LAST_STD; k++)
                    set_bit(out, k);
                max = KEY_LAST_STD;
            } else {
                for (unsigned b = 0; b < 5; b++) /* left right middle side extra */
                    set_bit(out, BTN_LEFT + b);
                max = BTN_LEFT + 4;
            }
            break;
        case EV_REL:
            if (in->kind == INPUT_MOUSE) {
                set_bit(out, REL_X);
                set_bit(out, REL_Y);
                max = REL_Y;
            }
            if (in->kind != INPUT_KEYBOARD) {
                set_bit(out, REL_HWHEEL);
                set_bit(out, REL_WHEEL);
                max = REL_WHEEL;
            }
            break;
        case EV_ABS:
            if (in->kind == INPUT_TABLET) {
                set_bit(out, ABS_X);
                set_bit(out, ABS_Y);
                max = ABS_Y + 1;
            }
            break;
        case EV_LED:
            if (in->kind == INPUT_KEYBOARD) {
                set_bit(out, LED_NUML);
                set_bit(out, LED_CAPSL);
                set_bit(out, LED_SCROLLL);
                max = LED_SCROLLL + 1;
            }
            break;
        case EV_REP:
            /* Any answer turns on autorepeat in the guest's input core (the bitmap's
             * content is not used): the keyboard has it. */
            return in->kind == INPUT_KEYBOARD ? 1 : 0;
        default: break;
        }
        /* The size is the bytes up to the last set bit (5.8.5: 0 for an unsupported type). */
        if (!max)
            return 0;
        uint8_t size = 0;
        for (unsigned i = 0; i < 128; i++)
            if (out[i])
                size = (uint8_t)(i + 1);
        return size;
    }
    case VIRTIO_INPUT_CFG_ABS_INFO:
        if (in->kind == INPUT_TABLET && (in->subsel == ABS_X || in->subsel == ABS_Y)) {
            /* min 0, max INPUT_ABS_MAX, fuzz 0, flat 0, res 0 (le32 each). */
            out[4] = INPUT_ABS_MAX & 0xff;
            out[5] = INPUT_ABS_MAX >> 8;
            return 20;
        }
        return 0;
    default: return 0;
    }
}

static void input_read_config(VirtioDevice *dev, uint32_t offset, void *buf, uint32_t len)
{
    VirtioInput *in = dev->opaque;
    uint8_t cfg[INPUT_CFG_SIZE] = { 0 };
    cfg[0] = in->select;
    cfg[1] = in->subsel;
    cfg[2] = input_config_payload(in, cfg + 8);
    memcpy(buf, cfg + offset, len);
}

static void input_write_config(VirtioDevice *dev, uint32_t offset, const void *buf, uint32_t len)
{
    VirtioInput *in = dev->opaque;
    const uint8_t *b = buf;
    /* Only select (0) and subsel (1) are writable (5.8.5). */
    for (uint32_t i = 0; i < len; i++) {
        if (offset + i == 0)
            in->select = b[i];
        else if (offset + i == 1)
            in->subsel = b[i];
    }
}

/* I/O thread: hand queued events to the guest's buffers, one event per buffer. */
static void input_drain(VirtioInput *in)
{
    VirtioDevice *dev = &in->dev;
    bool pushed = false;
    for (;;) {
        pthread_mutex_lock(&in->q_lock);
        bool have = in->q_len > 0;
        pthread_mutex_unlock(&in->q_lock);
        if (!have)
            break;
        virtio_dev_lock(dev);
        uint64_t epoch = virtio_dev_epoch(dev);
        int got = virtio_dev_pop(dev, INPUT_QUEUE, in->elem);
        if (got <= 0) {
            virtio_dev_unlock(dev);
            break;
        }
        if (in->elem->in_len < INPUT_EVENT_SIZE) {
            virtio_dev_unlock(dev);
            virtio_dev_guest_error(dev);
            virtio_set_needs_reset(dev);
            break;
        }
        pthread_mutex_lock(&in->q_lock);
        InputEvent e = in->queue[in->q_head];
        if (in->q_len) {
            in->q_head = (in->q_head + 1) % INPUT_QUEUE_MAX;
            in->q_len--;
        }
        pthread_mutex_unlock(&in->q_lock);
        uint8_t wire[INPUT_EVENT_SIZE] = {
            (uint8_t)e.type,          (uint8_t)(e.type >> 8),   (uint8_t)e.code,
            (uint8_t)(e.code >> 8),   (uint8_t)e.value,         (uint8_t)(e.value >> 8),
            (uint8_t)(e.value >> 16), (uint8_t)(e.value >> 24),
        };
        iov_from_buf(virtq_elem_in(in->elem), in->elem->in_num, 0, wire, sizeof(wire));
        pushed |= virtio_dev_push(dev, INPUT_QUEUE, in->elem, INPUT_EVENT_SIZE, epoch);
        virtio_dev_unlock(dev);
    }
    if (pushed)
        virtio_notify_used(dev, INPUT_QUEUE);
}

/* The statusq: LED updates from the guest. */
static void input_status(VirtioInput *in)
{
    VirtioDevice *dev = &in->dev;
    bool pushed = false;
    for (unsigned budget = 64;; budget--) {
        if (!budget) { /* a flood waits for the next turn: other devices go first */
            vs_vdev_requeue(in->m, dev, STATUS_QUEUE);
            break;
        }
        virtio_dev_lock(dev);
        uint64_t epoch = virtio_dev_epoch(dev);
        int got = virtio_dev_pop(dev, STATUS_QUEUE, in->elem);
        if (got <= 0) {
            virtio_dev_unlock(dev);
            break;
        }
        uint8_t wire[INPUT_EVENT_SIZE];
        if (iov_to_buf(virtq_elem_out(in->elem), in->elem->out_num, 0, wire, sizeof(wire)) ==
            sizeof(wire)) {
            unsigned type = wire[0] | wire[1] << 8, code = wire[2] | wire[3] << 8;
            uint32_t value = (uint32_t)wire[4] | (uint32_t)wire[5] << 8 | (uint32_t)wire[6] << 16 |
                             (uint32_t)wire[7] << 24;
            if (type == EV_LED && code <= LED_SCROLLL) {
                if (value)
                    in->leds |= (uint8_t)(1u << code);
                else
                    in->leds &= (uint8_t) ~(1u << code);
            }
        }
        pushed |= virtio_dev_push(dev, STATUS_QUEUE, in->elem, 0, epoch);
        virtio_dev_unlock(dev);
    }
    if (pushed)
        virtio_notify_used(dev, STATUS_QUEUE);
}

static void input_queue_notify(VirtioDevice *dev, unsigned queue)
{
    VirtioInput *in = dev->opaque;
    if (queue == INPUT_QUEUE)
        input_drain(in);
    else
        input_status(in);
}

static void input_ready(void *opaque, uint32_t events)
{
    VirtioInput *in = opaque;
    (void)events;
    vs_notifier_clear(&in->notify);
    input_drain(in);
}

static void input_reset(VirtioDevice *dev)
{
    VirtioInput *in = dev->opaque;
    /* Events queued for the old driver instance are stale for the new one. */
    pthread_mutex_lock(&in->q_lock);
    in->q_len = 0;
    pthread_mutex_unlock(&in->q_lock);
    in->select = in->subsel = 0;
    in->leds = 0;
}

static const VirtioDeviceOps input_ops = {
    .name = "virtio-input",
    .device_id = VIRTIO_ID_INPUT,
    .caps = VIRTIO_DEV_CAP_EVENT_IDX | VIRTIO_DEV_CAP_INDIRECT_DESC,
    .num_queues = 2,
    .queue_max_size = 64,
    .config_size = INPUT_CFG_SIZE,
    .read_config = input_read_config,
    .write_config = input_write_config,
    .queue_notify = input_queue_notify,
    .reset = input_reset,
};

/* Queue one event group (ending in SYN_REPORT, added here). Any thread. */
static void input_send(VirtioInput *in, const InputEvent *ev, unsigned n)
{
    if (!in || n + 1 > INPUT_QUEUE_MAX)
        return;
    pthread_mutex_lock(&in->q_lock);
    /* Make room by dropping the oldest whole groups. */
    while (INPUT_QUEUE_MAX - in->q_len < n + 1) {
        InputEvent old;
        do {
            old = in->queue[in->q_head];
            in->q_head = (in->q_head + 1) % INPUT_QUEUE_MAX;
            in->q_len--;
        } while (in->q_len && !(old.type == EV_SYN && old.code == SYN_REPORT));
        in->dropped++;
    }
    for (unsigned i = 0; i <= n; i++) {
        InputEvent e = i < n ? ev[i] : (InputEvent){ EV_SYN, SYN_REPORT, 0 };
        in->queue[(in->q_head + in->q_len) % INPUT_QUEUE_MAX] = e;
        in->q_len++;
    }
    pthread_mutex_unlock(&in->q_lock);
    vs_notifier_signal(&in->notify);
}

static void input_destroy(void *owner)
{
    VirtioInput *in = owner;
    if (in->handler)
        vs_iothread_remove(in->m->io, in->handler);
    vs_notifier_destroy(&in->notify);
    if (in->m->input[in->kind] == in)
        in->m->input[in->kind] = NULL;
    virtio_dev_destroy(&in->dev);
    pthread_mutex_destroy(&in->q_lock);
    free(in->elem);
    free(in);
}

static VsStatus input_create(VsMachine *m, InputKind kind, VsError *err)
{
    VirtioInput *in = calloc(1, sizeof(*in));
    VirtqElem *elem = malloc(sizeof(*elem));
    if (!in || !elem) {
        free(in);
        free(elem);
        return vs_error_set(err, VS_ERR_NOMEM, "out of memory creating virtio-input");
    }
    in->m = m;
    in->kind = kind;
    in->elem = elem;
    in->notify.fd = -1;
    pthread_mutex_init(&in->q_lock, NULL);
    if (!virtio_dev_init(&in->dev, &input_ops, &m->mem, in)) {
        pthread_mutex_destroy(&in->q_lock);
        free(elem);
        free(in);
        return vs_error_set(err, VS_ERR_NOMEM, "cannot create virtio-input");
    }
    if (!vs_notifier_init(&in->notify)) {
        input_destroy(in);
        return vs_error_set(err, VS_ERR_IO, "cannot create an eventfd for virtio-input");
    }
    in->handler = vs_iothread_add_fd(m->io, in->notify.fd, EPOLLIN, input_ready, in, err);
    if (!in->handler) {
        input_destroy(in);
        return err->status;
    }
    m->input[kind] = in;
    return vs_vdev_attach(m, "virtio-input", &in->dev, input_destroy, in, err);
}

VsStatus virtio_input_create_all(VsMachine *m, VsError *err)
{
    VsStatus st = VS_OK;
    for (int k = 0; k < INPUT_KINDS && st == VS_OK; k++)
        st = input_create(m, (InputKind)k, err);
    return st;
}

/* ---- Public API ---- */

void vs_machine_input_key(VsMachine *m, unsigned code, bool pressed)
{
    if (code == 0 || code > KEY_LAST_STD)
        return;
    InputEvent e = { EV_KEY, (uint16_t)code, pressed ? 1u : 0u };
    input_send(m->input[INPUT_KEYBOARD], &e, 1);
}

static uint32_t abs_coord(double v)
{
    if (!(v > 0.0)) /* also NaN */
        return 0;
    if (v >= 1.0)
        return INPUT_ABS_MAX;
    return (uint32_t)(v * INPUT_ABS_MAX + 0.5);
}

void vs_machine_input_move_abs(VsMachine *m, double x, double y)
{
    InputEvent e[2] = { { EV_ABS, ABS_X, abs_coord(x) }, { EV_ABS, ABS_Y, abs_coord(y) } };
    input_send(m->input[INPUT_TABLET], e, 2);
}

void vs_machine_input_move_rel(VsMachine *m, int dx, int dy)
{
    InputEvent e[2];
    unsigned n = 0;
    if (dx)
        e[n++] = (InputEvent){ EV_REL, REL_X, (uint32_t)dx };
    if (dy)
        e[n++] = (InputEvent){ EV_REL, REL_Y, (uint32_t)dy };
    if (n)
        input_send(m->input[INPUT_MOUSE], e, n);
}

void vs_machine_input_button(VsMachine *m, VsButton button, bool pressed, bool absolute)
{
    if ((unsigned)button > VS_BUTTON_EXTRA)
        return;
    InputEvent e = { EV_KEY, (uint16_t)(BTN_LEFT + (unsigned)button), pressed ? 1u : 0u };
    input_send(m->input[absolute ? INPUT_TABLET : INPUT_MOUSE], &e, 1);
}

void vs_machine_input_wheel(VsMachine *m, int dy, int dx, bool absolute)
{
    InputEvent e[2];
    unsigned n = 0;
    if (dy)
        e[n++] = (InputEvent){ EV_REL, REL_WHEEL, (uint32_t)dy };
    if (dx)
        e[n++] = (InputEvent){ EV_REL, REL_HWHEEL, (uint32_t)dx };
    if (n)
        input_send(m->input[absolute ? INPUT_TABLET : INPUT_MOUSE], e, n);
}

bool virtio_input_power_button(VsMachine *m)
{
    VirtioInput *kbd = m->input[INPUT_KEYBOARD];
    if (!kbd)
        return false;
    InputEvent down = { EV_KEY, KEY_POWER, 1 }, up = { EV_KEY, KEY_POWER, 0 };
    input_send(kbd, &down, 1);
    input_send(kbd, &up, 1);
    return true;
}
