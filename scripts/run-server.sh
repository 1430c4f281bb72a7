#!/usr/bin/env bash
# Sets up and runs a development vigrelay server on https://127.0.0.1:8443.
#
#   scripts/run-server.sh [vigrelay serve options...]
#
# Installs missing system packages, makes a development certificate in certs/dev, builds release,
# makes a recording key in certs/dev (once), then runs `vigrelay serve` with it, so recordings are
# encrypted at rest here as in a real install (data in ./data). Ctrl-C stops it.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$(repo_root)"
find_swift
ensure_packages "${BUILD_PACKAGES[@]}"
certs/make-dev-cert.sh certs/dev
echo "building vigrelay (release)..." >&2
build_status=0
swift build -c release 2>&1 | grep -E "error|warning: |Compiling|Build complete" >&2 || build_status=${PIPESTATUS[0]}
# A failed build must not leave an older binary running as if it were this checkout's.
[ "$build_status" -eq 0 ] && [ -x .build/release/vigrelay ] || { echo "build failed: run 'swift build -c release' to see why" >&2; exit 1; }
# Recordings of families are encrypted at rest in development too. The key stays beside the
# development certificate, apart from ./data; without it nothing recorded here can be read. A
# --recording-key given to this script comes later on the command line, so it is the one used.
recording_key=certs/dev/recording.key
[ -f "$recording_key" ] || .build/release/vigrelay recording-key "$recording_key" >&2
echo >&2
echo "next, in another shell:" >&2
echo "  TOKEN=\$(.build/release/vigrelay token practitioner --id alice | tail -1)" >&2
echo "  .build/release/vigrelay-client pair --server https://127.0.0.1:8443 --ca certs/dev/ca.crt --token \"\$TOKEN\"" >&2
echo >&2
exec .build/release/vigrelay serve --recording-key "$recording_key" "$@"
