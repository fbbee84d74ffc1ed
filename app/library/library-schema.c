/* SPDX-License-Identifier: MIT */
/* The VM library's schema as forward migrations: migration N takes user_version N-1 to N. */
#include "library-private.h"

/* Version 1: the first schema. Memory was stored in MiB; no JIT threshold, no display. */
const char vl_migration_1[] =
    "CREATE TABLE vms ("
    " id INTEGER PRIMARY KEY,"
    " uuid TEXT NOT NULL UNIQUE CHECK (length(uuid) = 36),"
    " name TEXT NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 127),"
    " arch TEXT NOT NULL CHECK (arch IN ('riscv64', 'aarch64', 'x86_64')),"
    " os_kind TEXT NOT NULL DEFAULT 'other'"
    "  CHECK (os_kind IN ('linux', 'windows', 'bsd', 'other')),"
    " memory_mib INTEGER NOT NULL CHECK (memory_mib BETWEEN 16 AND 1048576),"
    " vcpus INTEGER NOT NULL CHECK (vcpus BETWEEN 1 AND 512),"
    " accel TEXT NOT NULL DEFAULT 'auto'"
    "  CHECK (accel IN ('auto', 'kvm', 'jit', 'interpreter')),"
    " pin_policy TEXT NOT NULL DEFAULT 'auto'"
    "  CHECK (pin_policy IN ('auto', 'performance', 'list', 'none')),"
    " pin_cpus TEXT NOT NULL DEFAULT '',"
    " firmware TEXT NOT NULL DEFAULT '',"
    " boot_kind TEXT NOT NULL CHECK (boot_kind IN ('iso', 'disk', 'kernel', 'demo')),"
    " kernel TEXT NOT NULL DEFAULT '',"
    " initrd TEXT NOT NULL DEFAULT '',"
    " cmdline TEXT NOT NULL DEFAULT '',"
    " created INTEGER NOT NULL,"
    " modified INTEGER NOT NULL,"
    " CHECK (pin_policy <> 'list' OR pin_cpus <> ''),"
    " CHECK (boot_kind <> 'kernel' OR kernel <> '')"
    ");"
    "CREATE TABLE drives ("
    " id INTEGER PRIMARY KEY,"
    " vm_id INTEGER NOT NULL REFERENCES vms(id) ON DELETE CASCADE,"
    " path TEXT NOT NULL CHECK (path <> ''),"
    " format TEXT NOT NULL CHECK (format IN ('raw', 'qcow2')),"
    " readonly INTEGER NOT NULL DEFAULT 0 CHECK (readonly IN (0, 1)),"
    " position INTEGER NOT NULL CHECK (position BETWEEN 0 AND 63),"
    " UNIQUE (vm_id, position)"
    ");"
    "CREATE TABLE media ("
    " id INTEGER PRIMARY KEY,"
    " vm_id INTEGER NOT NULL REFERENCES vms(id) ON DELETE CASCADE,"
    " slot INTEGER NOT NULL CHECK (slot BETWEEN 0 AND 7),"
    " path TEXT NOT NULL DEFAULT '',"
    " UNIQUE (vm_id, slot)"
    ");"
    "CREATE TABLE nics ("
    " id INTEGER PRIMARY KEY,"
    " vm_id INTEGER NOT NULL REFERENCES vms(id) ON DELETE CASCADE,"
    " position INTEGER NOT NULL CHECK (position BETWEEN 0 AND 31),"
    " mode TEXT NOT NULL CHECK (mode IN ('user', 'bridge', 'none')),"
    " ifname TEXT NOT NULL DEFAULT '' CHECK (length(ifname) < 16),"
    " mac TEXT NOT NULL CHECK (length(mac) = 17 AND mac GLOB '[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]:"
    "[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]'),"
    " CHECK (mode <> 'bridge' OR ifname <> ''),"
    " UNIQUE (vm_id, position)"
    ");"
    "CREATE TABLE forwards ("
    " id INTEGER PRIMARY KEY,"
    " nic_id INTEGER NOT NULL REFERENCES nics(id) ON DELETE CASCADE,"
    " proto TEXT NOT NULL CHECK (proto IN ('tcp', 'udp')),"
    " host_addr TEXT NOT NULL DEFAULT '',"
    " host_port INTEGER NOT NULL CHECK (host_port BETWEEN 1 AND 65535),"
    " guest_port INTEGER NOT NULL CHECK (guest_port BETWEEN 1 AND 65535),"
    " UNIQUE (nic_id, proto, host_port)"
    ");"
    "CREATE TABLE shares ("
    " id INTEGER PRIMARY KEY,"
    " vm_id INTEGER NOT NULL REFERENCES vms(id) ON DELETE CASCADE,"
    " path TEXT NOT NULL CHECK (path <> ''),"
    " tag TEXT NOT NULL CHECK (length(tag) BETWEEN 1 AND 31 AND tag NOT GLOB '*[^A-Za-z0-9_.-]*'),"
    " readonly INTEGER NOT NULL DEFAULT 0 CHECK (readonly IN (0, 1)),"
    " UNIQUE (vm_id, tag)"
    ");"
    "CREATE INDEX drives_vm ON drives(vm_id);"
    "CREATE INDEX media_vm ON media(vm_id);"
    "CREATE INDEX nics_vm ON nics(vm_id);"
    "CREATE INDEX forwards_nic ON forwards(nic_id);"
    "CREATE INDEX shares_vm ON shares(vm_id);";

/*
 * Version 2: memory in bytes (sub-MiB sizes for tiny guests were impossible), a per-VM
 * JIT threshold, and the display settings table with a default row for every VM.
 */
const char vl_migration_2[] =
    "ALTER TABLE vms ADD COLUMN memory_bytes INTEGER NOT NULL DEFAULT 536870912"
    " CHECK (memory_bytes BETWEEN 16777216 AND 1099511627776);"
    "UPDATE vms SET memory_bytes = memory_mib * 1048576;"
    "ALTER TABLE vms DROP COLUMN memory_mib;"
    "ALTER TABLE vms ADD COLUMN jit_threshold INTEGER NOT NULL DEFAULT 50"
    " CHECK (jit_threshold BETWEEN 1 AND 1000000);"
    "CREATE TABLE display ("
    " vm_id INTEGER PRIMARY KEY REFERENCES vms(id) ON DELETE CASCADE,"
    " width INTEGER NOT NULL DEFAULT 1024 CHECK (width BETWEEN 320 AND 16384),"
    " height INTEGER NOT NULL DEFAULT 768 CHECK (height BETWEEN 200 AND 16384),"
    " scale_to_fit INTEGER NOT NULL DEFAULT 1 CHECK (scale_to_fit IN (0, 1)),"
    " gl TEXT NOT NULL DEFAULT 'auto' CHECK (gl IN ('auto', 'on', 'off'))"
    ");"
    "INSERT INTO display (vm_id) SELECT id FROM vms;";

/*
 * Version 3: the path of the VM's UEFI variable store (arm64 firmware boots). Existing VMs
 * get "" (none); the app assigns one in the VM's bundle when it needs it.
 */
const char vl_migration_3[] = "ALTER TABLE vms ADD COLUMN efi_vars TEXT NOT NULL DEFAULT '';";

const char *const vl_migrations[VL_SCHEMA_VERSION] = { vl_migration_1, vl_migration_2,
                                                       vl_migration_3 };
