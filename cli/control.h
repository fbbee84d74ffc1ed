/* SPDX-License-Identifier: MIT */
/*
 * vessel-run's control socket (--control unix:PATH): JSON lines.
 *
 * Each request is one JSON object on one line; each gets one reply line:
 *   {"execute":"status"}                  -> {"return":{"state":"running"}}
 *   {"execute":"pause"} / {"execute":"resume"}
 *   {"execute":"powerdown"}               ask the guest to power down (power button)
 *   {"execute":"quit"}                    stop the machine now (vessel-run exits with 4)
 *   {"execute":"screendump","file":"x.png"}
 *   {"execute":"send-key","keys":["ctrl","alt","f2"]}
 * Arguments may also be given QMP-style in an "arguments" object. An "id" member is copied
 * into the reply. Errors: {"error":{"class":"...","desc":"..."}}. Lines over 64 KiB and
 * invalid JSON get an error reply; the connection stays usable.
 *
 * Several clients may be connected at once; one control thread serves them all with poll.
 */
#ifndef VESSEL_CLI_CONTROL_H
#define VESSEL_CLI_CONTROL_H

#include <stdbool.h>
#include <stddef.h>

#include "vessel/engine.h"

#define CONTROL_LINE_MAX (64 * 1024)

typedef struct Control Control;

typedef struct ControlConfig {
    VsMachine *m;
    bool display; /* the machine has a display and keyboard (screendump, send-key) */
    /* The quit command: called on the control thread after the reply was sent. */
    void (*quit)(void *opaque);
    void *opaque;
} ControlConfig;

/*
 * Listen on `spec` ("unix:PATH") and start the control thread. An existing PATH is
 * refused unless it is a stale socket (nothing listening), which is replaced. Returns
 * NULL with a message in err on failure.
 */
Control *control_start(const char *spec, const ControlConfig *cfg, char *err, size_t errlen);
/* Stop the thread, close every connection and remove the socket file. */
void control_stop(Control *c);

/* The evdev code of a key name for send-key ("ctrl", "f2", "KEY_A", "a", "ret", ...);
 * -1 when unknown. */
int control_key_code(const char *name);

#endif
