#!/usr/bin/env bash
# Run one GUI test hermetically: private XDG directories (a fresh VM library), the build
# tree's compiled GSettings schema (memory backend) and translations, a virtual X server.
# Usage: run-gui.sh BUILD_ROOT TEST [ARGS...]
set -euo pipefail
build=$1
shift
if ! command -v xvfb-run >/dev/null 2>&1; then
    echo "SKIP: xvfb-run is not installed (tools/bootstrap installs xvfb)"
    exit 77
fi
# The guest assets stay where tools/guest-assets put them.
if [ -z "${VESSEL_GUEST_DIR:-}" ]; then
    export VESSEL_GUEST_DIR=${XDG_CACHE_HOME:-$HOME/.cache}/vessel/guests
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vessel-gui.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
export HOME=$tmp/home XDG_DATA_HOME=$tmp/data XDG_CONFIG_HOME=$tmp/config
export XDG_CACHE_HOME=$tmp/cache XDG_RUNTIME_DIR=$tmp/run
mkdir -p "$HOME" "$XDG_DATA_HOME" "$XDG_CONFIG_HOME" "$XDG_CACHE_HOME" "$XDG_RUNTIME_DIR"
chmod 0700 "$XDG_RUNTIME_DIR"
export GSETTINGS_SCHEMA_DIR=$build/data GSETTINGS_BACKEND=memory
export VESSEL_LOCALEDIR=$build/po
export NO_AT_BRIDGE=1 GTK_A11Y=none GDK_BACKEND=x11
export LIBGL_ALWAYS_SOFTWARE=1
exec xvfb-run -a -s "-screen 0 1600x1200x24 -nolisten tcp" "$@"
