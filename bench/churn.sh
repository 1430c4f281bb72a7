#!/usr/bin/env bash
# Sessions coming and going against one relay, to see what stays behind: memory, file descriptors.
#
#   bench/churn.sh [options]
#
# Starts one release server on a free 127.0.0.1 port with a temporary data dir, then runs `vigrelay-client
# load --record` again and again, each round with new sessions that all end. After every round it prints
# the sessions so far, the relay's RSS and its open file descriptors; at the end the RSS each session
# added from the third round on (the first two warm the relay's buffers and allocator) and the
# descriptors open after the second round and after the last. A relay keeps every session it has had in memory
# (its record and consent state), so RSS grows a little per session; connections and recordings that
# ended should leave nothing. Exit status: 0 every round's load passed, 1 a round failed, 64 usage.
#
# Options:
#   --rounds N       rounds of load (default 12; the summary needs 3)
#   --pairs N        recorded pairs per round (default 150)
#   --seconds S      how long each round streams after its 3 s ramp (default 5)
#   --bin-dir DIR    use vigrelay and vigrelay-client from DIR and skip the build (also VIGRELAY_BENCH_BIN_DIR)
#   --certs DIR      development certificate directory (default certs/dev; made if missing)
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$repo/scripts/lib.sh"
cd "$repo"

rounds=12 pairs=150 seconds=5 bin_dir="${VIGRELAY_BENCH_BIN_DIR:-}" certs="certs/dev"
usage() { sed -n '2,/^set -euo/p' "$0" | sed -e '/^set -euo/d' -e 's/^# \{0,1\}//' >&2; }
number() { [[ $# -ge 2 && "$2" =~ ^[1-9][0-9]*$ ]] || { echo "bench/churn.sh: $1 needs a whole number above 0" >&2; exit 64; }; }
while [[ $# -gt 0 ]]; do
    case "$1" in
        --rounds) number "$@"; rounds="$2"; shift 2 ;;
        --pairs) number "$@"; pairs="$2"; shift 2 ;;
        --seconds) number "$@"; seconds="$2"; shift 2 ;;
        --bin-dir) [[ $# -ge 2 ]] || { usage; exit 64; }; bin_dir="$2"; shift 2 ;;
        --certs) [[ $# -ge 2 ]] || { usage; exit 64; }; certs="$2"; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "bench/churn.sh: unknown option $1" >&2; usage; exit 64 ;;
    esac
done

if [[ -z "$bin_dir" ]]; then
    find_swift
    ensure_packages "${BUILD_PACKAGES[@]}" curl
    echo "churn: building release (swift build -c release)..." >&2
    swift build -c release >&2
    bin_dir="$(swift build -c release --show-bin-path)"
else
    ensure_packages openssl curl
fi
VIGRELAY="$bin_dir/vigrelay" CLIENT="$bin_dir/vigrelay-client"
for b in "$VIGRELAY" "$CLIENT"; do [[ -x "$b" ]] || { echo "bench/churn.sh: $b is missing: build first or fix --bin-dir" >&2; exit 1; }; done
certs/make-dev-cert.sh "$certs" >&2
work="$(mktemp -d "${TMPDIR:-/tmp}/vigrelay-churn.XXXXXX")"
server_pid=""
stop_server() { [[ -z "$server_pid" ]] || stop_process "$server_pid"; server_pid=""; }
trap 'stop_server; rm -rf "$work"' EXIT

port="$(free_port)"
mkdir -p "$work/data"
"$VIGRELAY" serve --listen "127.0.0.1:$port" --data-dir "$work/data" --cert "$certs/server.crt" --key "$certs/server.key" \
    --log-level warning --max-connections-per-address 0 > "$work/server.log" 2>&1 &
server_pid=$!
wait_for_relay "$port" "$server_pid" "$certs/ca.crt" || {
    cat "$work/server.log" >&2; echo "bench/churn.sh: the server did not start within 30 s" >&2; exit 1; }
"$VIGRELAY" token practitioner --id churn --data-dir "$work/data" | tail -1 > "$work/token"

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$server_pid/status"; }
fds() { find "/proc/$server_pid/fd" -mindepth 1 -maxdepth 1 | wc -l; }
echo "| round | sessions | relay RSS KiB | open fds |"
echo "|---:|---:|---:|---:|"
echo "| 0 | 0 | $(rss_kib) | $(fds) |"
failed=0 warm_rss="" warm_fds=""
for round in $(seq "$rounds"); do
    if ! timeout $((seconds + 120)) "$CLIENT" load --server "https://127.0.0.1:$port" --token "@$work/token" --ca "$certs/ca.crt" \
            --pairs "$pairs" --record --duration "${seconds}s" --ramp 3s > "$work/load-$round.txt" 2>&1; then
        echo "bench/churn.sh: round $round's load failed:" >&2
        tail -20 "$work/load-$round.txt" >&2
        failed=1
    fi
    rss="$(rss_kib)" open="$(fds)"
    echo "| $round | $((round * pairs)) | $rss | $open |"
    if [[ $round -eq 2 ]]; then warm_rss="$rss" warm_fds="$open"; fi
done
if [[ $rounds -ge 3 ]]; then
    echo
    echo "RSS added per session from round 3 on: $(( (rss - warm_rss) * 1024 / ((rounds - 2) * pairs) )) bytes"
    echo "open fds after the second round: $warm_fds, after the last: $open"
fi
stop_server
exit "$failed"
