#!/usr/bin/env bash
# Sets up and runs every test: unit tests of the core (swift test), then end-to-end tests that run
# the real vigrelay and vigrelay-client binaries over TLS on 127.0.0.1 (pytest, Tests/e2e).
#
#   scripts/test.sh [pytest options...]
#
# The end-to-end tests run in two pytest-xdist processes (`-n 2`; each has its own shared relays, and
# every test its own ports and directories): half the time on two cores. The tests marked
# `one_at_a_time` (heavy on the CPU, or bounded on lateness) go to one of them as a group
# (`--dist loadgroup`, Tests/e2e/conftest.py), so none runs beside another. `scripts/test.sh -n 0`
# runs them in one process, the order easier to follow when a test fails.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$(repo_root)"
find_swift
# WebKitGTK (Safari's engine) for test_webkit.py: its WebDriver and MiniBrowser (drawn on Xvfb: it has
# no headless mode), and the GStreamer plugins its media playback needs (MP4 and H.264 parsing and
# decoding: -bad, -libav; GL upload: -gl), which apt only recommends.
WEBKIT_PACKAGES=(webkit2gtk-driver gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad
    gstreamer1.0-libav gstreamer1.0-gl libgl1-mesa-dri)
ensure_packages "${BUILD_PACKAGES[@]}" python3 python3-pip ffmpeg chromium firefox-esr xvfb socat curl "${WEBKIT_PACKAGES[@]}"
# Prometheus' promtool checks and tests deploy/prometheus/vigrelay-alerts.yml (test_metrics.py).
VIGRELAY_PROMTOOL="$(find_promtool)"
export VIGRELAY_PROMTOOL

python3 -m pip install --quiet --disable-pip-version-check -r scripts/e2e-requirements.txt 2>/dev/null ||
    python3 -m pip install --quiet --disable-pip-version-check --break-system-packages -r scripts/e2e-requirements.txt

echo "== build" >&2
swift build --build-tests
echo "== unit tests (swift test)" >&2
swift test --skip-build
echo "== end-to-end tests (pytest Tests/e2e)" >&2
VIGRELAY_BIN_DIR="$(swift build --show-bin-path)" python3 -m pytest Tests/e2e -q -n 2 --dist loadgroup "$@"
