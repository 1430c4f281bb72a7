#!/usr/bin/env bash
# What encrypting recordings at rest (vigrelay serve --recording-key) costs the server: benchmark
# scenario 1 with recording (one pair, 64 KiB frames as fast as possible, every byte relayed and
# recorded), run alternately without and with a recording key, so both meet the machine in the same
# state. Prints server CPU-seconds per GB for each run and the medians. Each run streams for
# --seconds (default 8) and writes about 4-5 GB, deleted after the run.
#
#   bench/encryption_cost.sh [--runs N] [--seconds S] [--bin-dir DIR]
#
# Uses the release build (.build/release; bench/run.sh builds it) and certs/dev.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$repo/scripts/lib.sh"
cd "$repo"
runs=5 seconds=8 bin_dir=".build/release"
while [[ $# -gt 0 ]]; do
    case "$1" in
        --runs) runs="$2"; shift 2 ;;
        --seconds) seconds="$2"; shift 2 ;;
        --bin-dir) bin_dir="$2"; shift 2 ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed -e '/^set -euo/d' -e 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "bench/encryption_cost.sh: unknown option $1 (see --help)" >&2; exit 64 ;;
    esac
done
for v in runs seconds; do
    [[ "${!v}" =~ ^[1-9][0-9]*$ ]] || { echo "bench/encryption_cost.sh: --$v must be a positive whole number" >&2; exit 64; }
done
for b in vigrelay vigrelay-client; do
    [[ -x "$bin_dir/$b" ]] || { echo "bench/encryption_cost.sh: $bin_dir/$b is missing: swift build -c release first" >&2; exit 1; }
done
[[ -f certs/dev/server.crt ]] || certs/make-dev-cert.sh certs/dev >&2

work="$(mktemp -d "${TMPDIR:-/tmp}/vigrelay-encryption-cost.XXXXXX")"
server=""
trap '[[ -n "$server" ]] && kill "$server" 2>/dev/null; rm -rf "$work"' EXIT
"$bin_dir/vigrelay" recording-key "$work/recording.key" >/dev/null

declare -A results=([plain]="" [encrypted]="")
for run in $(seq 1 "$runs"); do
    for mode in plain encrypted; do
        data="$work/data" port="$(free_port)"
        rm -rf "$data" && mkdir -p "$data"
        key=(); [[ $mode == encrypted ]] && key=(--recording-key "$work/recording.key")
        "$bin_dir/vigrelay" serve --listen "127.0.0.1:$port" --data-dir "$data" --cert certs/dev/server.crt \
            --key certs/dev/server.key --log-level warning "${key[@]}" > "$work/server.log" 2>&1 &
        server=$!
        wait_for_relay "$port" "$server" certs/dev/ca.crt || { echo "run $run ($mode): the relay did not start; see $work/server.log" >&2; trap - EXIT; exit 1; }
        token="$("$bin_dir/vigrelay" token practitioner --id bench --data-dir "$data" | tail -1)"
        "$bin_dir/vigrelay-client" load --server "https://127.0.0.1:$port" --token "$token" --ca certs/dev/ca.crt \
            --pairs 1 --frame-size 65536 --bitrate 0 --duration "${seconds}s" --record --server-pid "$server" \
            --report "$work/report.json" > /dev/null 2>&1 || { echo "run $run ($mode): the load failed; see $work" >&2; trap - EXIT; exit 1; }
        kill -TERM "$server"; wait "$server" || true; server=""
        figure="$(python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); print(d["server"]["cpuSecondsPerGB"], round(d["throughputMBps"], 1))' "$work/report.json")"
        echo "run $run, $mode: ${figure% *} server CPU-s per GB, ${figure#* } MB/s"
        results[$mode]+="${figure% *} "
    done
done
median() { tr ' ' '\n' <<< "$1" | grep . | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }
echo "median: plain $(median "${results[plain]}"), encrypted $(median "${results[encrypted]}") server CPU-s per GB relayed and recorded"
