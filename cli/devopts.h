/* SPDX-License-Identifier: MIT */
/* Parsing of vessel-run's device options (--disk, --iso, --net-mode, --share). */
#ifndef VESSEL_DEVOPTS_H
#define VESSEL_DEVOPTS_H

#include <stdbool.h>
#include <stddef.h>

#include "vessel/engine.h"

/*
 * The parsers fill their output with strings allocated from the heap (never freed:
 * vessel-run keeps them for the machine's life) and return true, or write a message a
 * person can act on into err[errlen] and return false. A comma inside a value is written
 * ",," (as in QEMU).
 */

/* FILE[,format=raw|qcow2][,readonly] */
bool devopt_parse_disk(const char *arg, VsDiskConfig *out, char *err, size_t errlen);
/* user[,hostfwd=[tcp|udp]:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT]... | bridge | none */
bool devopt_parse_net(const char *arg, VsNetConfig *out, char *err, size_t errlen);
/* path=DIR,tag=NAME[,readonly] */
bool devopt_parse_share(const char *arg, VsShareConfig *out, char *err, size_t errlen);

#endif
