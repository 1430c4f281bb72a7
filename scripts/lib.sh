# Shared by scripts/*.sh: find Swift, install missing Debian packages.
# shellcheck shell=bash

repo_root() { cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd; }

# Puts swift on PATH if it is installed in the usual places.
find_swift() {
    if ! command -v swift >/dev/null 2>&1; then
        for d in /opt/swift/usr/bin /usr/share/swift/usr/bin; do
            [ -x "$d/swift" ] && export PATH="$d:$PATH" && break
        done
    fi
    command -v swift >/dev/null 2>&1 || {
        echo "swift not found: install Swift 6.2 or later (https://www.swift.org/install/linux/) and put it on PATH" >&2
        exit 1
    }
    # swift-log 1.16 (a dependency) needs tools version 6.2.
    local version
    version=$(swift --version 2>/dev/null | sed -n 's/.*Swift version \([0-9]*\.[0-9]*\).*/\1/p' | head -1)
    case "$version" in
        [0-5].*|6.[01]) echo "Swift $version is too old: install Swift 6.2 or later (https://www.swift.org/install/linux/)" >&2; exit 1 ;;
    esac
}

# ensure_packages PKG...: installs the Debian packages that are not installed yet (needs root or sudo).
ensure_packages() {
    local missing=()
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "installing system packages: ${missing[*]}" >&2
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# find_promtool: prints the path of Prometheus' promtool: the one on PATH, or one taken out of
# Debian's `prometheus` package into .build-tools/ (downloaded, not installed: installing it would
# also start a Prometheus server on this machine).
find_promtool() {
    local dir
    dir="$(repo_root)/.build-tools/prometheus"
    if command -v promtool >/dev/null 2>&1; then command -v promtool; return 0; fi
    if [ ! -x "$dir/usr/bin/promtool" ]; then
        local tmp
        tmp=$(mktemp -d)
        (cd "$tmp" && { apt-get download -qq prometheus 2>/dev/null || { apt-get update -qq && apt-get download -qq prometheus; }; }) >&2 || {
            rm -rf "$tmp"; echo "could not download Debian's prometheus package (for promtool)" >&2; return 1; }
        mkdir -p "$dir" && dpkg-deb -x "$tmp"/prometheus_*.deb "$dir"
        rm -rf "$tmp"
    fi
    echo "$dir/usr/bin/promtool"
}

# free_port: prints a TCP port free on 127.0.0.1 just now.
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# wait_for_relay PORT PID CA: waits up to 30 s for the relay (process PID) to answer GET /healthz on
# 127.0.0.1:PORT over TLS trusted by CA; fails at once if the process ends, or after 30 s.
wait_for_relay() {
    local port="$1" pid="$2" ca="$3" i
    for i in $(seq 300); do
        curl -sf --max-time 2 --cacert "$ca" "https://127.0.0.1:$port/healthz" >/dev/null 2>&1 && return 0
        kill -0 "$pid" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

# stop_process PID: asks the process to stop (SIGTERM), waits up to 15 s, then kills it.
stop_process() {
    local pid="$1" i
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

# Packages the build needs: libwebsockets (with OpenSSL), pkg-config to find them, git for SwiftPM.
BUILD_PACKAGES=(libwebsockets-dev libwebsockets-evlib-ev libev-dev libssl-dev pkg-config openssl git)
