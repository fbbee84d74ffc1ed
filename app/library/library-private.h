/* SPDX-License-Identifier: MIT */
/* Inside the VM library: the migrations (also used by the tests to build old databases). */
#ifndef VESSEL_LIBRARY_PRIVATE_H
#define VESSEL_LIBRARY_PRIVATE_H

#include "library.h"

/* vl_migrations[i] takes a database from user_version i to i + 1. */
extern const char *const vl_migrations[VL_SCHEMA_VERSION];
extern const char vl_migration_1[];
extern const char vl_migration_2[];
extern const char vl_migration_3[];

#endif
