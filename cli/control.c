/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "control.h"
#include "errbuf.h"
#include "screendump.h"

#define MAX_CLIENTS 16
/* A client that does not read its replies is dropped beyond this much pending output. */
#define OUT_MAX  (1024 * 1024)
#define MAX_KEYS 16

typedef struct Client {
    int fd;
    char in[CONTROL_LINE_MAX + 1];
    size_t in_len;
    bool discarding; /* inside a line that was too long: skip to its end */
    char *out;
    size_t out_len, out_cap;
} Client;

struct Control {
    ControlConfig cfg;
    char *path;
    dev_t dev;
    ino_t ino;
    int listen_fd;
    int wake[2];
    pthread_t thread;
    bool started;
    Client *clients[MAX_CLIENTS];
};

/* ---- key names ---- */

static const struct {
    const char *name;
    int code;
} key_names[] = {
    /* QEMU's qcode names first, then evdev names (KEY_ prefix optional). */
    { "esc", 1 },
    { "1", 2 },
    { "2", 3 },
    { "3", 4 },
    { "4", 5 },
    { "5", 6 },
    { "6", 7 },
    { "7", 8 },
    { "8", 9 },
    { "9", 10 },
    { "0", 11 },
    { "minus", 12 },
    { "equal", 13 },
    { "backspace", 14 },
    { "tab", 15 },
    { "q", 16 },
    { "w", 17 },
    { "e", 18 },
    { "r", 19 },
    { "t", 20 },
    { "y", 21 },
    { "u", 22 },
    { "i", 23 },
    { "o", 24 },
    { "p", 25 },
    { "bracket_left", 26 },
    { "bracket_right", 27 },
    { "ret", 28 },
    { "ctrl", 29 },
    { "a", 30 },
    { "s", 31 },
    { "d", 32 },
    { "f", 33 },
    { "g", 34 },
    { "h", 35 },
    { "j", 36 },
    { "k", 37 },
    { "l", 38 },
    { "semicolon", 39 },
    { "apostrophe", 40 },
    { "grave_accent", 41 },
    { "shift", 42 },
    { "backslash", 43 },
    { "z", 44 },
    { "x", 45 },
    { "c", 46 },
    { "v", 47 },
    { "b", 48 },
    { "n", 49 },
    { "m", 50 },
    { "comma", 51 },
    { "dot", 52 },
    { "slash", 53 },
    { "shift_r", 54 },
    { "kp_multiply", 55 },
    { "alt", 56 },
    { "spc", 57 },
    { "caps_lock", 58 },
    { "f1", 59 },
    { "f2", 60 },
    { "f3", 61 },
    { "f4", 62 },
    { "f5", 63 },
    { "f6", 64 },
    { "f7", 65 },
    { "f8", 66 },
    { "f9", 67 },
    { "f10", 68 },
    { "num_lock", 69 },
    { "scroll_lock", 70 },
    { "f11", 87 },
    { "f12", 88 },
    { "ctrl_r", 97 },
    { "sysrq", 99 },
    { "print", 99 },
    { "alt_r", 100 },
    { "home", 102 },
    { "up", 103 },
    { "pgup", 104 },
    { "left", 105 },
    { "right", 106 },
    { "end", 107 },
    { "down", 108 },
    { "pgdn", 109 },
    { "insert", 110 },
    { "delete", 111 },
    { "power", 116 },
    { "meta_l", 125 },
    { "meta_r", 126 },
    { "menu", 127 },
    /* evdev spellings */
    { "leftbrace", 26 },
    { "rightbrace", 27 },
    { "enter", 28 },
    { "leftctrl", 29 },
    { "grave", 41 },
    { "leftshift", 42 },
    { "rightshift", 54 },
    { "kpasterisk", 55 },
    { "leftalt", 56 },
    { "space", 57 },
    { "capslock", 58 },
    { "numlock", 69 },
    { "scrolllock", 70 },
    { "rightctrl", 97 },
    { "rightalt", 100 },
    { "pageup", 104 },
    { "pagedown", 109 },
    { "leftmeta", 125 },
    { "rightmeta", 126 },
    { "compose", 127 },
};

int control_key_code(const char *name)
{
    if (!strncasecmp(name, "KEY_", 4))
        name += 4;
    for (size_t i = 0; i < sizeof(key_names) / sizeof(key_names[0]); i++)
        if (!strcasecmp(key_names[i].name, name))
            return key_names[i].code;
    return -1;
}

/* ---- replies ---- */

static void client_queue(Control *c, Client *cl, const char *text, size_t len)
{
    (void)c;
    if (cl->out_len + len > OUT_MAX) {
        /* Not reading its replies: stop serving it. */
        shutdown(cl->fd, SHUT_RDWR);
        return;
    }
    if (cl->out_len + len > cl->out_cap) {
        size_t cap = cl->out_cap ? cl->out_cap : 4096;
        while (cap < cl->out_len + len)
            cap *= 2;
        char *p = realloc(cl->out, cap);
        if (!p) {
            shutdown(cl->fd, SHUT_RDWR);
            return;
        }
        cl->out = p;
        cl->out_cap = cap;
    }
    memcpy(cl->out + cl->out_len, text, len);
    cl->out_len += len;
}

/* Write what the socket takes now. Returns false when the connection is dead. */
static bool client_flush(Client *cl)
{
    while (cl->out_len) {
        ssize_t n = send(cl->fd, cl->out, cl->out_len, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return errno == EAGAIN || errno == EWOULDBLOCK;
        }
        memmove(cl->out, cl->out + n, cl->out_len - (size_t)n);
        cl->out_len -= (size_t)n;
    }
    return true;
}

static void send_json(Control *c, Client *cl, json_object *top, json_object *id)
{
    if (id)
        json_object_object_add(top, "id", json_object_get(id));
    const char *s = json_object_to_json_string_ext(top, JSON_C_TO_STRING_PLAIN);
    client_queue(c, cl, s, strlen(s));
    client_queue(c, cl, "\n", 1);
    json_object_put(top);
}

/* {"return": ret} ({} when ret is NULL). */
static void reply_ok(Control *c, Client *cl, json_object *id, json_object *ret)
{
    json_object *top = json_object_new_object();
    json_object_object_add(top, "return", ret ? ret : json_object_new_object());
    send_json(c, cl, top, id);
}

static void reply_error(Control *c, Client *cl, json_object *id, const char *cls, const char *fmt,
                        ...) __attribute__((format(printf, 5, 6)));
static void reply_error(Control *c, Client *cl, json_object *id, const char *cls, const char *fmt,
                        ...)
{
    char desc[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(desc, sizeof(desc), fmt, ap);
    va_end(ap);
    json_object *err = json_object_new_object();
    json_object_object_add(err, "class", json_object_new_string(cls));
    json_object_object_add(err, "desc", json_object_new_string(desc));
    json_object *top = json_object_new_object();
    json_object_object_add(top, "error", err);
    send_json(c, cl, top, id);
}

static const char *status_class(VsStatus st)
{
    switch (st) {
    case VS_ERR_INVALID: return "InvalidParameter";
    case VS_ERR_IO: return "IOError";
    case VS_ERR_UNSUPPORTED: return "Unsupported";
    case VS_ERR_STATE: return "StateError";
    default: return "GenericError";
    }
}

static const char *state_name(VsMachineState s)
{
    switch (s) {
    case VS_STATE_CREATED: return "created";
    case VS_STATE_RUNNING: return "running";
    case VS_STATE_PAUSED: return "paused";
    case VS_STATE_STOPPED: return "stopped";
    }
    return "unknown";
}

/* ---- commands ---- */

/* An argument: in "arguments" when the request has that object, else at the top level. */
static json_object *arg(json_object *req, const char *name)
{
    json_object *args, *v;
    if (json_object_object_get_ex(req, "arguments", &args) &&
        json_object_is_type(args, json_type_object))
        req = args;
    return json_object_object_get_ex(req, name, &v) ? v : NULL;
}

static void cmd_screendump(Control *c, Client *cl, json_object *id, json_object *req)
{
    json_object *file = arg(req, "file");
    if (!file || !json_object_is_type(file, json_type_string) ||
        !json_object_get_string_len(file)) {
        reply_error(c, cl, id, "InvalidParameter",
                    "screendump needs \"file\": the PNG file to write");
        return;
    }
    const char *path = json_object_get_string(file);
    if (strlen(path) != (size_t)json_object_get_string_len(file)) {
        reply_error(c, cl, id, "InvalidParameter", "the file name contains a NUL byte");
        return;
    }
    if (!c->cfg.display) {
        reply_error(c, cl, id, "StateError",
                    "this machine has no display (start it with --display virtio)");
        return;
    }
    VsError err = { 0 };
    if (render_screendump(c->cfg.m, 0, path, &err) != VS_OK)
        reply_error(c, cl, id, status_class(err.status), "%s", err.message);
    else
        reply_ok(c, cl, id, NULL);
}

static void cmd_send_key(Control *c, Client *cl, json_object *id, json_object *req)
{
    json_object *keys = arg(req, "keys");
    int codes[MAX_KEYS];
    size_t n =
        keys && json_object_is_type(keys, json_type_array) ? json_object_array_length(keys) : 0;
    if (!n || n > MAX_KEYS) {
        reply_error(c, cl, id, "InvalidParameter",
                    "send-key needs \"keys\": an array of 1 to %d key names or evdev codes, "
                    "e.g. [\"ctrl\",\"alt\",\"f2\"]",
                    MAX_KEYS);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        json_object *k = json_object_array_get_idx(keys, i);
        int code = -1;
        if (json_object_is_type(k, json_type_int)) {
            int64_t v = json_object_get_int64(k);
            code = v >= 1 && v <= 0x2ff ? (int)v : -1;
        } else if (json_object_is_type(k, json_type_string)) {
            code = control_key_code(json_object_get_string(k));
        }
        if (code < 0) {
            const char *s = json_object_to_json_string_ext(k, JSON_C_TO_STRING_PLAIN);
            reply_error(c, cl, id, "InvalidParameter",
                        "unknown key %.64s: use a name like \"a\", \"ctrl\", \"f2\", "
                        "\"KEY_ENTER\" or an evdev code from 1 to 767",
                        s);
            return;
        }
        codes[i] = code;
    }
    if (!c->cfg.display) {
        reply_error(c, cl, id, "StateError",
                    "this machine has no keyboard (start it with --display virtio)");
        return;
    }
    for (size_t i = 0; i < n; i++)
        vs_machine_input_key(c->cfg.m, (unsigned)codes[i], true);
    for (size_t i = n; i-- > 0;)
        vs_machine_input_key(c->cfg.m, (unsigned)codes[i], false);
    reply_ok(c, cl, id, NULL);
}

/* Returns true when the command was quit (the caller calls the hook after flushing). */
static bool execute(Control *c, Client *cl, json_object *req)
{
    json_object *id = NULL, *ex = NULL;
    json_object_object_get_ex(req, "id", &id);
    if (!json_object_object_get_ex(req, "execute", &ex) ||
        !json_object_is_type(ex, json_type_string)) {
        reply_error(c, cl, id, "InvalidRequest",
                    "a request is an object with \"execute\": a command name");
        return false;
    }
    const char *cmd = json_object_get_string(ex);
    VsMachine *m = c->cfg.m;
    VsError err = { 0 };
    if (!strcmp(cmd, "status")) {
        json_object *r = json_object_new_object();
        json_object_object_add(r, "state", json_object_new_string(state_name(vs_machine_state(m))));
        reply_ok(c, cl, id, r);
    } else if (!strcmp(cmd, "pause") || !strcmp(cmd, "resume")) {
        VsStatus st = cmd[0] == 'p' ? vs_machine_pause(m, &err) : vs_machine_resume(m, &err);
        if (st == VS_OK)
            reply_ok(c, cl, id, NULL);
        else
            reply_error(c, cl, id, status_class(st), "%s", err.message);
    } else if (!strcmp(cmd, "powerdown")) {
        VsStatus st = vs_machine_powerdown(m, &err);
        if (st == VS_OK)
            reply_ok(c, cl, id, NULL);
        else
            reply_error(c, cl, id, status_class(st), "%s", err.message);
    } else if (!strcmp(cmd, "quit")) {
        reply_ok(c, cl, id, NULL);
        return true;
    } else if (!strcmp(cmd, "screendump")) {
        cmd_screendump(c, cl, id, req);
    } else if (!strcmp(cmd, "send-key")) {
        cmd_send_key(c, cl, id, req);
    } else {
        reply_error(c, cl, id, "CommandNotFound",
                    "unknown command '%.64s' (status, pause, resume, powerdown, quit, "
                    "screendump, send-key)",
                    cmd);
    }
    return false;
}

/* One complete line (without its newline). Returns true for quit. */
static bool handle_line(Control *c, Client *cl, const char *line, size_t len)
{
    while (len && (line[len - 1] == '\r' || line[len - 1] == ' ' || line[len - 1] == '\t'))
        len--;
    size_t start = 0;
    while (start < len && (line[start] == ' ' || line[start] == '\t'))
        start++;
    if (start == len)
        return false; /* empty lines are ignored */
    json_tokener *tok = json_tokener_new();
    if (!tok) {
        reply_error(c, cl, NULL, "GenericError", "out of memory");
        return false;
    }
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    json_object *req = json_tokener_parse_ex(tok, line + start, (int)(len - start));
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    size_t end = start + json_tokener_get_parse_end(tok);
    json_tokener_free(tok);
    bool quit = false;
    if (!req || jerr != json_tokener_success || end != len) {
        reply_error(c, cl, NULL, "ParseError", "invalid JSON: %s",
                    !req || jerr != json_tokener_success ? json_tokener_error_desc(jerr)
                                                         : "text after the object");
    } else if (!json_object_is_type(req, json_type_object)) {
        reply_error(c, cl, NULL, "InvalidRequest", "a request is a JSON object");
    } else {
        quit = execute(c, cl, req);
    }
    json_object_put(req);
    return quit;
}

/* Read what is there and handle complete lines. Returns false when the client is gone. */
static bool client_read(Control *c, Client *cl, bool *quit)
{
    ssize_t n = recv(cl->fd, cl->in + cl->in_len, CONTROL_LINE_MAX + 1 - cl->in_len, MSG_DONTWAIT);
    if (n == 0)
        return false;
    if (n < 0)
        return errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK;
    size_t scan = cl->in_len;
    cl->in_len += (size_t)n;
    size_t start = 0;
    for (size_t i = scan; i < cl->in_len; i++) {
        if (cl->in[i] != '\n')
            continue;
        if (cl->discarding)
            cl->discarding = false;
        else if (handle_line(c, cl, cl->in + start, i - start))
            *quit = true;
        start = i + 1;
    }
    memmove(cl->in, cl->in + start, cl->in_len - start);
    cl->in_len -= start;
    if (cl->in_len > CONTROL_LINE_MAX) {
        /* No newline within the limit: answer once and skip the rest of this line. */
        if (!cl->discarding)
            reply_error(c, cl, NULL, "ParseError", "request line longer than %d bytes",
                        CONTROL_LINE_MAX);
        cl->discarding = true;
        cl->in_len = 0;
    }
    return true;
}

static void client_close(Control *c, unsigned i)
{
    Client *cl = c->clients[i];
    close(cl->fd);
    free(cl->out);
    free(cl);
    c->clients[i] = NULL;
}

static void accept_client(Control *c)
{
    int fd = accept4(c->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0)
        return;
    for (unsigned i = 0; i < MAX_CLIENTS; i++) {
        if (c->clients[i])
            continue;
        Client *cl = calloc(1, sizeof(*cl));
        if (!cl)
            break;
        cl->fd = fd;
        c->clients[i] = cl;
        return;
    }
    static const char busy[] =
        "{\"error\":{\"class\":\"GenericError\",\"desc\":\"too many control connections\"}}\n";
    if (send(fd, busy, sizeof(busy) - 1, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
        /* closing anyway */
    }
    close(fd);
}

static void *control_thread(void *arg)
{
    Control *c = arg;
    for (;;) {
        struct pollfd fds[2 + MAX_CLIENTS];
        unsigned idx[MAX_CLIENTS], n = 2;
        fds[0] = (struct pollfd){ c->wake[0], POLLIN, 0 };
        fds[1] = (struct pollfd){ c->listen_fd, POLLIN, 0 };
        for (unsigned i = 0; i < MAX_CLIENTS; i++) {
            Client *cl = c->clients[i];
            if (!cl)
                continue;
            fds[n] = (struct pollfd){ cl->fd, (short)(POLLIN | (cl->out_len ? POLLOUT : 0)), 0 };
            idx[n - 2] = i;
            n++;
        }
        if (poll(fds, n, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (fds[0].revents)
            break;
        if (fds[1].revents & POLLIN)
            accept_client(c);
        bool quit = false;
        for (unsigned k = 2; k < n; k++) {
            unsigned i = idx[k - 2];
            Client *cl = c->clients[i];
            bool alive = true;
            if (fds[k].revents & (POLLIN | POLLHUP | POLLERR))
                alive = client_read(c, cl, &quit);
            if (!client_flush(cl) || !alive)
                client_close(c, i);
        }
        if (quit && c->cfg.quit)
            c->cfg.quit(c->cfg.opaque);
    }
    return NULL;
}

/* ---- setup ---- */

Control *control_start(const char *spec, const ControlConfig *cfg, char *err, size_t errlen)
{
    if (strncmp(spec, "unix:", 5) != 0 || !spec[5]) {
        fail(err, errlen, "invalid --control '%s': use unix:PATH", spec);
        return NULL;
    }
    const char *path = spec + 5;
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    if (strlen(path) >= sizeof(sa.sun_path)) {
        fail(err, errlen, "control socket path '%s' is too long (at most %zu bytes)", path,
             sizeof(sa.sun_path) - 1);
        return NULL;
    }
    memcpy(sa.sun_path, path, strlen(path) + 1);

    struct stat st;
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            fail(err, errlen, "control socket path '%s' exists and is not a socket", path);
            return NULL;
        }
        /* A socket: in use if something accepts connections on it, else stale. */
        int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        bool in_use = probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0;
        if (probe >= 0)
            close(probe);
        if (in_use) {
            fail(err, errlen, "control socket '%s' is in use by another process", path);
            return NULL;
        }
        unlink(path);
    }

    Control *c = calloc(1, sizeof(*c));
    if (!c || !(c->path = strdup(path))) {
        free(c);
        fail(err, errlen, "out of memory");
        return NULL;
    }
    c->cfg = *cfg;
    c->wake[0] = c->wake[1] = -1;
    c->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (c->listen_fd < 0 || bind(c->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        fail(err, errlen, "cannot create control socket '%s': %s", path, strerror(errno));
        goto fail_free;
    }
    /* Whoever can connect can stop the machine: owner only. */
    if (chmod(path, 0600) != 0 || lstat(path, &st) != 0 || listen(c->listen_fd, 8) != 0) {
        fail(err, errlen, "cannot set up control socket '%s': %s", path, strerror(errno));
        unlink(path);
        goto fail_free;
    }
    c->dev = st.st_dev;
    c->ino = st.st_ino;
    if (pipe2(c->wake, O_CLOEXEC) != 0 ||
        pthread_create(&c->thread, NULL, control_thread, c) != 0) {
        fail(err, errlen, "cannot start the control thread");
        unlink(path);
        goto fail_free;
    }
    c->started = true;
    return c;

fail_free:
    if (c->listen_fd >= 0)
        close(c->listen_fd);
    if (c->wake[0] >= 0) {
        close(c->wake[0]);
        close(c->wake[1]);
    }
    free(c->path);
    free(c);
    return NULL;
}

void control_stop(Control *c)
{
    if (!c)
        return;
    if (c->started) {
        if (write(c->wake[1], "x", 1) < 0) {
            /* the pipe cannot be full: one byte is ever written */
        }
        pthread_join(c->thread, NULL);
    }
    for (unsigned i = 0; i < MAX_CLIENTS; i++) {
        if (c->clients[i]) {
            client_flush(c->clients[i]);
            client_close(c, i);
        }
    }
    close(c->listen_fd);
    close(c->wake[0]);
    close(c->wake[1]);
    /* Remove the socket only if it is still ours (not replaced by someone else). */
    struct stat st;
    if (lstat(c->path, &st) == 0 && st.st_dev == c->dev && st.st_ino == c->ino)
        unlink(c->path);
    free(c->path);
    free(c);
}
