#!/usr/bin/env bash
# Benchmarks vigrelay on this machine and writes BENCHMARKS.md (issue 4's five scenarios, and a sixth:
# another relay, nginx + nchan, measured the same way).
#
#   bench/run.sh [--quick] [--profile] [options]
#
# Builds release (swift build -c release), makes the development certificate (certs/dev), then for
# each scenario starts a fresh release server on a free 127.0.0.1 port with a temporary data dir,
# gets a practitioner token as the README does, runs `vigrelay-client load` (or the TLS pipe), and
# stops the server:
#   1. one pair, 64 KiB frames as fast as possible: MB/s and server CPU-s per GB (also with --record)
#   2. 10 pairs at 2.5 Mbit/s: one-way latency p50/p99, and the machine's own wake-up latency
#      (bench/wake_latency.py: a sleeping process woken by a byte on a socket) as the floor under it
#   3. recorded pairs at 2.5 Mbit/s, searched upward (then bisected) for the most with zero loss,
#      p99 < 50 ms (a step over it while the load generator itself was late is tried once more):
#      pairs, server CPU share, sessions per core
#   4. 5,000 idle connections (load --idle): time to connect all, server RSS per connection
#   5. scenario 1's shape over a plain TLS byte pipe (socat sender -> socat middle -> socat receiver)
#      as the physical reference; vigrelay's throughput and CPU per GB as a ratio of it (run right
#      after scenario 1, so both meet the machine in the same state)
#   6. another relay, nginx + nchan (bench/nchan.conf), measured by `load --mode mirror` in the shapes
#      of scenarios 1 and 2, each right after vigrelay's run, and at scenario 3's largest count without
#      recording (vigrelay, then nchan); only when nginx and its nchan module are
#      installed (apt-get install nginx-light libnginx-mod-nchan; this script does not install them,
#      as installing nginx starts its service on a machine with systemd)
#   7. scenario 2 with two of the ten practitioners on slow downloads (load --slow-viewers 2 at 1 Mbit/s,
#      asking to catch up as the web pages do): the other eight pairs' latency beside scenario 2's, the
#      slow viewers' lateness and skips, the relay's memory (run after scenario 2's runs; at least 20 s)
# Before each run it samples the machine's load average and speed (one second of `openssl speed`: what a
# CPU-second does just then). Each run is bounded in time. bench/report.py turns the JSON reports into
# the markdown.
#
# Options:
#   --quick               much shorter runs (about 3 minutes instead of about 12.5; 13.5-14.5 with --profile)
#   --profile             also run scenarios 1, 3 (the largest count carried) and 4 under `perf record -g`, and
#                         scenario 3's first failing count under `strace -c -w` (time in system calls), and say
#                         where the server's time goes
#   --encrypt             every vigrelay server records with --recording-key (a key made in the work
#                         directory): what encrypting recordings at rest costs
#   --bin-dir DIR         use vigrelay and vigrelay-client from DIR and skip the build (also VIGRELAY_BENCH_BIN_DIR)
#   --certs DIR           development certificate directory (default certs/dev; made if missing)
#   --out FILE            the markdown to write (default BENCHMARKS.md at the repository root)
#   --work DIR            where reports and logs go (default a new directory under ${TMPDIR:-/tmp}; kept)
#   --seconds S           how long scenarios 1 and 2 stream (default 20, quick 5)
#   --slow-seconds S      how long scenario 7 streams (default 20: its slow viewers first ask to catch up
#                         several seconds in)
#   --search-start N      scenario 3's first pair count (default 50); doubled while it passes
#   --search-max N        scenario 3's largest pair count (default 3200)
#   --search-seconds S    how long each scenario 3 step streams after its ramp (default 15, quick 5)
#   --search-budget S     seconds scenario 3 may take in all (default 480, quick 60)
#   --join-rate N         scenario 3's pairs join at most N a second (default 40): each creates a session
#                         and makes two TLS WebSocket handshakes, and faster the setup itself held up the
#                         pairs already streaming, so a step measured the storm rather than the load
#   --idle-pairs N        scenario 4's pairs, two connections each (default 2500: 5,000 connections)
#   --connect-window N    scenario 4's pairs connecting at once (load --connect-window; default 128)
#   --pipe-mb N           megabytes per TLS pipe run in scenario 5 (default 2000, quick 500)
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$repo/scripts/lib.sh"
cd "$repo"

quick=0 profile=0 encrypt=0 bin_dir="${VIGRELAY_BENCH_BIN_DIR:-}" certs="certs/dev" out="BENCHMARKS.md" work=""
seconds="" search_start=50 search_max=3200 search_seconds="" search_budget="" idle_pairs=2500 pipe_mb="" connect_window=128
join_rate=40 slow_seconds=20
invocation="bench/run.sh${*:+ $*}"

usage() { sed -n '2,/^set -euo/p' "$0" | sed -e '/^set -euo/d' -e 's/^# \{0,1\}//' >&2; }
need_value() { [[ $# -ge 2 && -n "$2" ]] || { echo "bench/run.sh: $1 needs a value" >&2; exit 64; }; }
while [[ $# -gt 0 ]]; do
    case "$1" in
        --quick) quick=1; shift ;;
        --profile) profile=1; shift ;;
        --encrypt) encrypt=1; shift ;;
        --bin-dir) need_value "$@"; bin_dir="$2"; shift 2 ;;
        --certs) need_value "$@"; certs="$2"; shift 2 ;;
        --out) need_value "$@"; out="$2"; shift 2 ;;
        --work) need_value "$@"; work="$2"; shift 2 ;;
        --seconds) need_value "$@"; seconds="$2"; shift 2 ;;
        --slow-seconds) need_value "$@"; slow_seconds="$2"; shift 2 ;;
        --search-start) need_value "$@"; search_start="$2"; shift 2 ;;
        --search-max) need_value "$@"; search_max="$2"; shift 2 ;;
        --search-seconds) need_value "$@"; search_seconds="$2"; shift 2 ;;
        --search-budget) need_value "$@"; search_budget="$2"; shift 2 ;;
        --idle-pairs) need_value "$@"; idle_pairs="$2"; shift 2 ;;
        --connect-window) need_value "$@"; connect_window="$2"; shift 2 ;;
        --join-rate) need_value "$@"; join_rate="$2"; shift 2 ;;
        --pipe-mb) need_value "$@"; pipe_mb="$2"; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "bench/run.sh: unknown option $1 (see --help)" >&2; exit 64 ;;
    esac
done
if [[ $quick -eq 1 ]]; then
    : "${seconds:=5}" "${search_seconds:=5}" "${search_budget:=60}" "${pipe_mb:=500}"
    search_ramp=2 pipe_runs=3 idle_hold=3 wake_samples=300
else
    : "${seconds:=20}" "${search_seconds:=15}" "${search_budget:=480}" "${pipe_mb:=2000}"
    search_ramp=5 pipe_runs=3 idle_hold=5 wake_samples=2000
fi
for v in seconds slow_seconds search_start search_max search_seconds search_budget idle_pairs pipe_mb connect_window join_rate; do
    [[ "${!v}" =~ ^[1-9][0-9]*$ ]] || { echo "bench/run.sh: --${v//_/-} must be a positive whole number, not '${!v}'" >&2; exit 64; }
done

log() { echo "bench: $*" >&2; }

# --- set up --------------------------------------------------------------------------------------
packages=(socat curl)
[[ $profile -eq 1 ]] && ! command -v perf >/dev/null 2>&1 && packages+=(linux-perf)
[[ $profile -eq 1 ]] && packages+=(strace)
if [[ -z "$bin_dir" ]]; then
    find_swift
    ensure_packages "${BUILD_PACKAGES[@]}" "${packages[@]}"
    log "building release (swift build -c release)..."
    swift build -c release >&2
    bin_dir="$(swift build -c release --show-bin-path)"
    [[ "$(cd .build/release 2>/dev/null && pwd -P)" == "$bin_dir" ]] && bin_dir="$repo/.build/release"  # the shorter name
else
    ensure_packages openssl "${packages[@]}"
fi
bin_dir="$(cd "$bin_dir" && pwd)"
VIGRELAY="$bin_dir/vigrelay" CLIENT="$bin_dir/vigrelay-client"
for b in "$VIGRELAY" "$CLIENT"; do [[ -x "$b" ]] || { echo "bench/run.sh: $b is missing: build first or fix --bin-dir" >&2; exit 1; }; done
certs/make-dev-cert.sh "$certs" >&2
certs="$(cd "$certs" && pwd)"

if [[ -z "$work" ]]; then work="$(mktemp -d "${TMPDIR:-/tmp}/vigrelay-bench.XXXXXX")"; fi
mkdir -p "$work"
work="$(cd "$work" && pwd)"
recording_key=""
if [[ $encrypt -eq 1 ]]; then
    recording_key="$work/recording.key"
    [[ -f "$recording_key" ]] || "$VIGRELAY" recording-key "$recording_key" >&2
fi
log "reports and logs in $work"

# Paths as they appear in BENCHMARKS.md: relative to the repository where they are inside it.
show_path() { local p="$1"; [[ "$p" == "$repo/"* ]] && p="${p#"$repo"/}"; [[ "$p" == "$work/"* ]] && p="\$WORK/${p#"$work"/}"; echo "$p"; }

{
    echo "invocation=$invocation"
    echo "mode=$([[ $quick -eq 1 ]] && echo quick || echo full)"
    echo "profile=$profile"
    echo "started=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "binDir=$(show_path "$bin_dir")"
    echo "searchStart=$search_start"
    echo "searchMax=$search_max"
    echo "searchBudget=$search_budget"
    echo "idlePairs=$idle_pairs"
    echo "connectWindow=$connect_window"
    echo "joinRate=$join_rate"
} > "$work/run.env"
python3 bench/report.py machine --bin-dir "$bin_dir" --out "$work/machine.json"

# --- the server (one fresh process and data dir per scenario) -------------------------------------
SERVER_PID="" PORT="" TOKEN="" PERF_PID=""
RELAY_PID=""  # the process whose CPU and memory `load` samples: vigrelay, or nginx's worker
TARGET=()  # how `load` reaches the running relay: vigrelay's URL and token, or --mode mirror and a URL

# start_server NAME: a release server for scenario NAME; sets SERVER_PID, PORT, TOKEN, TARGET and
# RELAY_PID (the same process). Every connection comes from 127.0.0.1, so the per-address connection
# limit is off (scenario 4 alone holds 5,000).
start_server() {
    local name="$1" data="$work/data-$1" attempt
    rm -rf "$data"
    mkdir -p "$data"
    for attempt in 1 2 3; do
        PORT="$(free_port)"
        local cmd=("$VIGRELAY" serve --listen "127.0.0.1:$PORT" --data-dir "$data" --cert "$certs/server.crt"
                   --key "$certs/server.key" --log-level warning --max-connections-per-address 0)
        if [[ -n "$recording_key" ]]; then cmd+=(--recording-key "$recording_key"); fi
        echo "$(show_cmd "${cmd[@]}")" > "$work/$name.server.cmd"
        "${cmd[@]}" >> "$work/$name.server.log" 2>&1 &
        SERVER_PID=$!
        if wait_for_relay "$PORT" "$SERVER_PID" "$certs/ca.crt"; then
            TOKEN="$("$VIGRELAY" token practitioner --id bench --data-dir "$data" | tail -1)"
            TARGET=(--server "https://127.0.0.1:$PORT" --token "$TOKEN")
            RELAY_PID="$SERVER_PID"
            return 0
        fi
        stop_server
        log "the server did not come up on port $PORT (attempt $attempt); log: $work/$name.server.log"
    done
    echo "bench/run.sh: vigrelay serve would not start; see $work/$name.server.log" >&2
    exit 1
}

# nchan_binary: the nginx that can load the nchan module (scenario 6), or nothing.
NCHAN_MODULE=/usr/lib/nginx/modules/ngx_nchan_module.so
nchan_binary() {
    local n
    n="$(command -v nginx 2>/dev/null || true)"
    [[ -z "$n" && -x /usr/sbin/nginx ]] && n=/usr/sbin/nginx
    [[ -n "$n" && -f "$NCHAN_MODULE" ]] && echo "$n"
    return 0
}

# start_nchan NAME: nginx + nchan from bench/nchan.conf (one worker) as a mirror relay on a free
# port; sets SERVER_PID (nginx's master), RELAY_PID (its worker), PORT and TARGET (load --mode
# mirror). Its log is NAME.nginx.log.
start_nchan() {
    local name="$1" data="$work/data-$1" attempt
    for attempt in 1 2 3; do
        rm -rf "$data"
        mkdir -p "$data"
        PORT="$(free_port)"
        sed -e "s|@PORT@|$PORT|" -e "s|@CERT@|$certs/server.crt|" -e "s|@KEY@|$certs/server.key|" \
            -e "s|@LOG@|$work/$name.nginx.log|" bench/nchan.conf > "$work/$name.nginx.conf"
        local cmd=("$NGINX" -p "$data/" -e "$work/$name.nginx.log" -c "$work/$name.nginx.conf")
        echo "$(show_cmd "${cmd[@]}")  # bench/nchan.conf with the port, certificate and log filled in" > "$work/$name.server.cmd"
        "${cmd[@]}" >> "$work/$name.nginx.log" 2>&1 &
        SERVER_PID=$!
        local i
        for i in $(seq 100); do  # up to 10 s
            RELAY_PID="$(cat /proc/"$SERVER_PID"/task/*/children 2>/dev/null | awk '{ print $1 }')"  # the worker
            if [[ -n "$RELAY_PID" ]] && curl -sf --max-time 2 --cacert "$certs/ca.crt" -o /dev/null "https://127.0.0.1:$PORT/ready"; then
                TARGET=(--mode mirror --url "wss://127.0.0.1:$PORT/mirror")
                return 0
            fi
            kill -0 "$SERVER_PID" 2>/dev/null || break
            sleep 0.1
        done
        stop_server
        log "nginx + nchan did not come up on port $PORT (attempt $attempt); log: $work/$name.nginx.log"
    done
    return 1
}

# stop_server: SIGTERM the server this script started, wait (at most 15 s, then SIGKILL), drop its data.
stop_server() {
    [[ -n "$SERVER_PID" ]] || return 0
    stop_process "$SERVER_PID"
    SERVER_PID=""
    rm -rf "$work"/data-*
}

stop_perf() {
    [[ -n "$PERF_PID" ]] || return 0
    kill -INT "$PERF_PID" 2>/dev/null || true
    local i
    for i in $(seq 300); do kill -0 "$PERF_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$PERF_PID" 2>/dev/null || true
    wait "$PERF_PID" 2>/dev/null || true
    PERF_PID=""
}

cleanup() { stop_perf; stop_server; }
trap cleanup EXIT
trap 'exit 130' INT TERM

# show_cmd ARGS...: the command as it would be typed, with the token, the server's pid and the
# work directory as variables and paths inside the repository relative to it.
show_cmd() {
    local out="" a prev=""
    for a in "$@"; do
        if [[ "$prev" == "--token" ]]; then
            out+='"$TOKEN" '
        elif [[ "$prev" == "--server-pid" ]]; then
            out+='"$SERVER_PID" '
        else
            a="${a//"$repo/"/}"
            local q
            q="$(printf '%q' "${a//"$work"/@WORK@}")"
            out+="${q//@WORK@/\$WORK} "
        fi
        prev="$a"
    done
    echo "${out% }"
}

# machine_state NAME: the machine as a run starts: NAME.loadavg (its load average) and NAME.speed
# (GB of AES-128-GCM per CPU-second over 1 s; `openssl speed` divides by its own CPU time, so it
# falls when this virtual machine's CPU-second does less, not when other work runs).
machine_state() {
    cut -d' ' -f1-3 /proc/loadavg > "$work/$1.loadavg"
    { openssl speed -seconds 1 -bytes 16384 -evp aes-128-gcm 2>/dev/null || true; } |
        awk '$1 == "AES-128-GCM" { v = $2; sub(/k$/, "", v); printf "%.2f\n", v / 1e6 }' > "$work/$1.speed"
}

# run_load NAME SECONDS ARGS...: vigrelay-client load against the running relay, bounded by SECONDS;
# writes NAME.json (report), NAME.out/.err, NAME.cmd (as shown), NAME.rc, NAME.loadavg, NAME.speed.
run_load() {
    local name="$1" limit="$2"
    shift 2
    local cmd=("$CLIENT" load "${TARGET[@]}" --ca "$certs/ca.crt" "$@"
               --server-pid "$RELAY_PID" --report "$work/$name.json")
    show_cmd "${cmd[@]}" > "$work/$name.cmd"
    machine_state "$name"
    local rc=0
    timeout --signal=INT --kill-after=20 "$limit" "${cmd[@]}" > "$work/$name.out" 2> "$work/$name.err" || rc=$?
    echo "$rc" > "$work/$name.rc"
    [[ $rc -eq 0 ]] || log "$name: load exited $rc (see $work/$name.out)"
    return 0
}

# profile_start NAME SECONDS: perf record -g on the server for SECONDS, into NAME.perf.data.
profile_start() {
    perf record -F 999 -g -p "$SERVER_PID" -o "$work/$1.perf.data" -- sleep "$2" > "$work/$1.perf.log" 2>&1 &
    PERF_PID=$!
}

# profile_finish NAME: stops perf (the load is over), then writes NAME.perf.txt (self time by
# library and symbol).
profile_finish() {
    stop_perf
    local demangle=(cat)
    command -v swift >/dev/null 2>&1 && demangle=(swift demangle --simplified)
    perf report -i "$work/$1.perf.data" --no-children --sort dso,sym --stdio -g none --percent-limit 0.01 2>/dev/null \
        | "${demangle[@]}" > "$work/$1.perf.txt" || log "$1: perf report failed (see $work/$1.perf.log)"
}

# run_vigrelay NAME SECONDS ARGS...: run_load against a fresh vigrelay server.
run_vigrelay() { start_server "$1"; run_load "$@"; stop_server; }

# run_latency RUNNER NAME SECONDS ARGS...: scenario 2's shape through RUNNER (run_vigrelay or
# run_nchan), and once more as NAME-2 when the load generator itself wrote 1% of its frames 1 ms or
# more late: its own lateness alone is over the budget, the machine is busy.
run_latency() {
    local runner="$1" name="$2"
    shift 2
    "$runner" "$name" "$@"
    if python3 bench/report.py tester-late "$work/$name.json" --ms 1; then
        log "$name: the load generator wrote frames late (a busy machine?): once more"
        "$runner" "$name-2" "$@"
    fi
}

# --- 1. one pair, 64 KiB frames, as fast as possible ---------------------------------------------
s1=(--pairs 1 --frame-size 65536 --bitrate 0 --duration "${seconds}s")
log "scenario 1: one pair, 64 KiB frames, as fast as possible, ${seconds} s"
run_vigrelay s1 $((seconds + 90)) "${s1[@]}"

# --- 5. the physical reference: a plain TLS byte pipe ----------------------------------------------
# Right after scenario 1 (recording off), which it is compared with: this machine's speed changes
# over minutes, and the two should meet it in the same state.
log "scenario 5: plain TLS pipe through socat, $pipe_runs x $pipe_mb MB"
pipe=(python3 bench/tls_pipe.py --cert "$certs/server.crt" --key "$certs/server.key" --ca "$certs/ca.crt"
      --megabytes "$pipe_mb" --runs "$pipe_runs" --report "$work/s5.json")
show_cmd "${pipe[@]}" > "$work/s5.cmd"
machine_state s5
rc=0
timeout --kill-after=10 $((pipe_runs * 150 + 30)) "${pipe[@]}" > "$work/s5.out" 2> "$work/s5.err" || rc=$?
echo "$rc" > "$work/s5.rc"
[[ $rc -eq 0 ]] || log "scenario 5: the TLS pipe failed ($rc): $(tail -3 "$work/s5.err")"

# --- 6. another relay: nginx + nchan, in scenario 1's shape ---------------------------------------
# Right after scenario 1 too, for the same reason; its other shapes run after scenarios 2 and 3.
NGINX="$(nchan_binary)"
# run_nchan NAME SECONDS ARGS...: run_load against a fresh nginx + nchan (scenario 6).
run_nchan() {
    if start_nchan "$1"; then
        run_load "$@"
    else
        echo "nginx + nchan would not start; its log: $work/$1.nginx.log" > "$work/$1.failed"
    fi
    stop_server
}
if [[ -n "$NGINX" ]]; then
    log "scenario 6: nginx + nchan in scenario 1's shape (load --mode mirror), ${seconds} s"
    run_nchan s6-s1 $((seconds + 90)) "${s1[@]}"
else
    log "scenario 6: skipped, nginx with the nchan module is not installed"
    echo "nginx with the nchan module is not installed ($NCHAN_MODULE)" > "$work/s6.skipped"
fi

log "scenario 1 with --record"
run_vigrelay s1-record $((seconds + 90)) "${s1[@]}" --record
if [[ $profile -eq 1 ]]; then
    log "scenario 1 again under perf record"
    start_server s1-profile
    profile_start s1-profile "$seconds"
    run_load s1-profile $((seconds + 90)) "${s1[@]}"
    profile_finish s1-profile
    stop_server
fi

# --- 2. 10 pairs at 2.5 Mbit/s -------------------------------------------------------------------
log "scenario 2: 10 pairs at 2.5 Mbit/s, ${seconds} s"
s2=(--pairs 10 --bitrate 2.5M --fps 10 --duration "${seconds}s" --ramp 2s)
run_latency run_vigrelay s2 $((seconds + 90)) "${s2[@]}"
if [[ -n "$NGINX" ]]; then
    log "scenario 6: nginx + nchan in scenario 2's shape, ${seconds} s"
    run_latency run_nchan s6-s2 $((seconds + 90)) "${s2[@]}"
fi
# The floor under it: how long this machine takes to wake a sleeping process (no relay running).
# --- 7. scenario 2 with slow viewers ---------------------------------------------------------------
# After scenario 2, which it is compared with.
log "scenario 7: scenario 2 with 2 practitioners reading at 1 Mbit/s, ${slow_seconds} s"
run_vigrelay s7 $((slow_seconds + 90)) --pairs 10 --bitrate 2.5M --fps 10 --duration "${slow_seconds}s" --ramp 2s \
    --slow-viewers 2 --slow-viewer-rate 1M

log "scenario 2: the machine's wake-up latency (bench/wake_latency.py)"
wake=(python3 bench/wake_latency.py --samples "$wake_samples" --gap-ms 10 --report "$work/s2-wake.json")
show_cmd "${wake[@]}" > "$work/s2-wake.cmd"
timeout --kill-after=10 $((wake_samples / 50 + 30)) "${wake[@]}" 2> "$work/s2-wake.err" ||
    log "scenario 2: the wake-up probe failed: $(tail -3 "$work/s2-wake.err")"

# --- 3. recorded pairs at 2.5 Mbit/s: the most this machine carries --------------------------------
# Up by doubling while a step is carried (bench/report.py step-ok: zero loss, p99 < 50 ms, no failed
# pair), then halves the gap twice; a step over the latency limit while the load generator itself
# was late (saturated, or queueing frames late) is run once more. No step starts unless it fits the
# budget.
search_started=$SECONDS
good=0 bad=0 n=$search_start
# s3_for PAIRS: sets s3, a step's stream (add --pairs PAIRS, and --record for the recorded steps), its
# ramp s3_ramp (the pairs join at --join-rate a second, over at least search_ramp) and its time limit
# s3_limit. With every step over 5 s, 700 recorded pairs had a p99 of 1.0 s here, sessions created
# at 140 a second taking 0.8 s at p50 on the disk thread the recordings share; over 20 s, 49 ms.
s3_for() {
    s3_ramp=$((($1 + join_rate - 1) / join_rate))
    [[ $s3_ramp -ge $search_ramp ]] || s3_ramp=$search_ramp
    s3=(--bitrate 2.5M --fps 10 --duration "${search_seconds}s" --ramp "${s3_ramp}s")
    s3_limit=$((s3_ramp + search_seconds + 120))
}
step_cost() { s3_for "$1"; echo $((s3_ramp + search_seconds + 20 + $1 / 40)); }
fits() { [[ $((SECONDS - search_started + $(step_cost "$1"))) -le $search_budget ]]; }
# run_step PAIRS NAME: one step; returns step-ok's verdict (0 carried, 1 not, 2 the tester was late).
run_step() {
    local pairs="$1" name="$2" rc=0
    s3_for "$pairs"
    log "scenario 3: $pairs recorded pairs at 2.5 Mbit/s (${s3_ramp} s ramp, ${search_seconds} s)"
    run_vigrelay "$name" "$s3_limit" --pairs "$pairs" "${s3[@]}" --record
    python3 bench/report.py step-ok "$work/$name.json" || rc=$?
    return $rc
}
# search_step PAIRS: true when carried, trying once more if only the tester was late the first time.
search_step() {
    local rc=0
    run_step "$1" "s3-$1" || rc=$?
    if [[ $rc -eq 2 ]] && fits "$1"; then
        rc=0
        run_step "$1" "s3-$1-2" || rc=$?
    fi
    [[ $rc -eq 0 ]]
}
while [[ $n -le $search_max ]] && fits "$n"; do
    if search_step "$n"; then good=$n; n=$((n * 2)); else bad=$n; break; fi
done
for _ in 1 2; do
    [[ $bad -gt 0 ]] || break
    mid=$(((good + bad) / 2))
    [[ $mid -gt 10 ]] && mid=$((mid / 10 * 10))
    [[ $mid -gt $good && $mid -lt $bad ]] || break
    fits "$mid" || break
    if search_step "$mid"; then good=$mid; else bad=$mid; fi
done
log "scenario 3: largest count carried $good (first not carried: ${bad:-none})"
# Scenario 6 in scenario 3's shape: that count without recording (nchan has none), through vigrelay
# and then through nginx + nchan.
if [[ -n "$NGINX" && $good -gt 0 ]]; then
    log "scenario 6: $good pairs at 2.5 Mbit/s without recording, through vigrelay and through nginx + nchan"
    s3_for "$good"
    run_vigrelay s6-s3-vigrelay "$s3_limit" --pairs "$good" "${s3[@]}"
    run_nchan s6-s3 "$s3_limit" --pairs "$good" "${s3[@]}"
fi
# rerun_step NAME PAIRS TOOL: scenario 3's step at PAIRS again, running TOOL NAME (a function below)
# on the server for half the streaming time once every pair streams. Its own figures are not
# reported (the tool slows the server down).
rerun_step() {
    local name="$1" pairs="$2" tool="$3"
    log "scenario 3 again at $pairs pairs under $tool"
    s3_for "$pairs"
    start_server "$name"
    run_load "$name" "$s3_limit" --pairs "$pairs" "${s3[@]}" --record &
    local load_pid=$!
    for _ in $(seq $(((s3_ramp + 60) * 10))); do
        grep -q " $pairs/$pairs pairs streaming" "$work/$name.err" 2>/dev/null && break
        kill -0 "$load_pid" 2>/dev/null || break
        sleep 0.1
    done
    echo "$pairs" > "$work/$name.pairs"
    echo $(((search_seconds + 1) / 2)) > "$work/$name.seconds"
    "$tool" "$name" $(((search_seconds + 1) / 2))
    wait "$load_pid" || true
    stop_server
}
# perf_for NAME SECONDS / strace_for NAME SECONDS: the server's CPU by library and symbol / its wall
# time in each system call, every thread together.
perf_for() { profile_start "$1" "$2"; wait "$PERF_PID" 2>/dev/null || true; PERF_PID=""; profile_finish "$1"; }
strace_for() {
    timeout --signal=INT --kill-after=10 "$2" strace -w -c -f -p "$SERVER_PID" -o "$work/$1.strace.txt" 2> "$work/$1.strace.log" || true
}
if [[ $profile -eq 1 ]]; then
    [[ $good -gt 0 ]] && rerun_step s3-profile "$good" perf_for
    [[ $bad -gt 0 ]] && rerun_step s3-syscalls "$bad" strace_for
fi

# --- 4. idle connections --------------------------------------------------------------------------
log "scenario 4: $idle_pairs idle pairs ($((idle_pairs * 2)) connections)"
idle=(--idle --pairs "$idle_pairs" --duration "${idle_hold}s" --connect-window "$connect_window")
run_vigrelay s4 $((idle_hold + 300)) "${idle[@]}"
if [[ $profile -eq 1 ]]; then
    # Profiled from when the sessions are created (load says "connecting") to the end of the hold.
    log "scenario 4 again under perf record"
    start_server s4-profile
    run_load s4-profile $((idle_hold + 300)) "${idle[@]}" &
    load_pid=$!
    for _ in $(seq 1200); do  # up to 120 s for the sessions
        grep -q "; connecting" "$work/s4-profile.err" 2>/dev/null && break
        kill -0 "$load_pid" 2>/dev/null || break
        sleep 0.1
    done
    profile_start s4-profile $((idle_hold + 20))
    wait "$load_pid" || true
    profile_finish s4-profile
    stop_server
fi

# --- the report ----------------------------------------------------------------------------------
echo "finished=$(date -u +%Y-%m-%dT%H:%M:%SZ)" >> "$work/run.env"
echo "elapsedSeconds=$SECONDS" >> "$work/run.env"
python3 bench/report.py write --work "$work" --out "$out"
log "wrote $out ($(( SECONDS / 60 )) min $(( SECONDS % 60 )) s); reports and logs kept in $work"
