#!/usr/bin/env bash
# Run one GUI test hermetically: private XDG directories (a fresh VM library), the build
# tree's compiled GSettings schema (memory backend) and translations, a virtual X server.
# Usage: run-gui.sh BUILD_ROOT TEST [ARGS...]
set -euo pipefail
build=$1
shift
if ! command -v Xvfb >/dev/null 2>&1; then
    echo "SKIP: Xvfb is not installed (tools/bootstrap installs xvfb)"
    exit 77
fi
# The guest assets stay where tools/guest-assets put them.
if [ -z "${VESSEL_GUEST_DIR:-}" ]; then
    export VESSEL_GUEST_DIR=${XDG_CACHE_HOME:-$HOME/.cache}/vessel/guests
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vessel-gui.XXXXXX")
xvfb_pid=
cleanup() {
    if [ -n "$xvfb_pid" ]; then
        kill "$xvfb_pid" 2>/dev/null || true
        wait "$xvfb_pid" 2>/dev/null || true
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
export HOME=$tmp/home XDG_DATA_HOME=$tmp/data XDG_CONFIG_HOME=$tmp/config
export XDG_CACHE_HOME=$tmp/cache XDG_RUNTIME_DIR=$tmp/run
mkdir -p "$HOME" "$XDG_DATA_HOME" "$XDG_CONFIG_HOME" "$XDG_CACHE_HOME" "$XDG_RUNTIME_DIR"
chmod 0700 "$XDG_RUNTIME_DIR"
export GSETTINGS_SCHEMA_DIR=$build/data GSETTINGS_BACKEND=memory
export VESSEL_LOCALEDIR=$build/po
export NO_AT_BRIDGE=1 GTK_A11Y=none GDK_BACKEND=x11
export LIBGL_ALWAYS_SOFTWARE=1
# A private X server. -displayfd makes it pick a free display number itself and report
# it once it accepts connections (xvfb-run -a races when tests start in parallel).
Xvfb -displayfd 3 -screen 0 1600x1200x24 -nolisten tcp 3>"$tmp/display" >"$tmp/xvfb.log" 2>&1 &
xvfb_pid=$!
for _ in $(seq 200); do
    [ -s "$tmp/display" ] && break
    if ! kill -0 "$xvfb_pid" 2>/dev/null; then
        echo "run-gui: Xvfb did not start:" >&2
        cat "$tmp/xvfb.log" >&2
        exit 1
    fi
    sleep 0.05
done
if [ ! -s "$tmp/display" ]; then
    echo "run-gui: Xvfb did not report a display within 10 s" >&2
    exit 1
fi
export DISPLAY=":$(tr -d '[:space:]' <"$tmp/display")"
status=0
"$@" || status=$?
exit "$status"
