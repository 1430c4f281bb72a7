#!/usr/bin/env python3
"""The physical reference for scenario 1: a plain TLS byte pipe with the relay's shape.

    sender --TLS--> middle --TLS--> receiver        (all socat, on 127.0.0.1)

The middle process decrypts what the sender sends and encrypts it again towards the receiver, as
the relay does (with no WebSocket framing, no checks, no copies of its own). The sender pushes a
fixed number of bytes from /dev/zero; the receiver counts what arrives. Reports MB/s (10^6 bytes per
second, from starting the sender to the receiver's end of stream) and the middle process's CPU
seconds (user + system, from wait4) per GB, as JSON. With --runs N the pipe is run N times and the
run with the median throughput is reported (every run is listed too): the machine may be shared.

    bench/tls_pipe.py --cert server.crt --key server.key --ca ca.crt --megabytes 2000 --runs 3 --report pipe.json

Standard library only. Every wait has a deadline (--timeout); the processes it starts are killed
if anything goes wrong.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listening(port: int) -> bool:
    """Whether something listens on 127.0.0.1:port (from /proc/net/tcp, without connecting: the
    socat listeners accept a single connection)."""
    want = f"0100007F:{port:04X}"
    try:
        with open("/proc/net/tcp") as f:
            next(f)
            return any(line.split()[1] == want and line.split()[3] == "0A" for line in f)
    except OSError:
        return False


def wait_listening(port: int, proc: subprocess.Popen, deadline: float, name: str) -> None:
    while not listening(port):
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited ({proc.returncode}) before listening on {port}: {read_err(proc)}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{name} did not listen on {port} in time")
        time.sleep(0.01)


def read_err(proc: subprocess.Popen) -> str:
    try:
        return proc.stderr.read().decode(errors="replace")[-800:] if proc.stderr else ""
    except (OSError, ValueError):
        return ""


def cpu_of_exited_child(pid: int, deadline: float) -> tuple[int, float]:
    """Waits for the child to exit (bounded) and returns (exit status, user + system CPU seconds)."""
    while True:
        done, status, usage = os.wait4(pid, os.WNOHANG)
        if done == pid:
            return os.waitstatus_to_exitcode(status), usage.ru_utime + usage.ru_stime
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            _, status, usage = os.wait4(pid, 0)
            return -9, usage.ru_utime + usage.ru_stime
        time.sleep(0.01)


class PipeFailed(Exception):
    pass


def transfer(socat: str, args) -> dict:
    """One run of the pipe; raises PipeFailed."""
    total = args.megabytes * 1_000_000
    deadline = time.monotonic() + args.timeout
    p_mid, p_recv = free_port(), free_port()
    b = str(args.block)
    listen_opts = f"bind=127.0.0.1,reuseaddr,cert={args.cert},key={args.key},verify=0"
    receiver_cmd = [socat, "-u", "-b", b, f"OPENSSL-LISTEN:{p_recv},{listen_opts}", "STDOUT"]
    middle_cmd = [socat, "-d", "-d", "-b", b, f"OPENSSL-LISTEN:{p_mid},{listen_opts}",
                  f"OPENSSL:127.0.0.1:{p_recv},cafile={args.ca}"]
    sender_cmd = [socat, "-u", "-b", b, "STDIN", f"OPENSSL:127.0.0.1:{p_mid},cafile={args.ca}"]
    source_cmd = ["head", "-c", str(total), "/dev/zero"]

    procs: list[subprocess.Popen] = []
    received = 0
    t_end = None

    def drain(stream) -> None:
        nonlocal received, t_end
        while True:
            chunk = stream.read1(1 << 20)
            if not chunk:
                break
            received += len(chunk)
        t_end = time.monotonic()

    try:
        receiver = subprocess.Popen(receiver_cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
        procs.append(receiver)
        wait_listening(p_recv, receiver, deadline, "receiver")
        middle = subprocess.Popen(middle_cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
        procs.append(middle)
        wait_listening(p_mid, middle, deadline, "middle")
        reader = threading.Thread(target=drain, args=(receiver.stdout,), daemon=True)
        reader.start()
        t0 = time.monotonic()
        source = subprocess.Popen(source_cmd, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
        procs.append(source)
        sender = subprocess.Popen(sender_cmd, stdin=source.stdout, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        procs.append(sender)
        source.stdout.close()
        reader.join(max(0.0, deadline - time.monotonic()))
        if reader.is_alive():
            raise RuntimeError(f"the transfer did not finish within {args.timeout:.0f} s ({received} of {total} bytes arrived)")
        status, mid_cpu = cpu_of_exited_child(middle.pid, deadline + 10)
        middle.returncode = status
        mid_log = middle.stderr.read().decode(errors="replace") if middle.stderr else ""
        for p in (sender, source, receiver):
            p.wait(timeout=max(1.0, deadline + 10 - time.monotonic()))
    except (RuntimeError, subprocess.TimeoutExpired) as e:
        raise PipeFailed(str(e)) from None
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait(timeout=10)

    seconds = t_end - t0
    if received != total:
        raise PipeFailed(f"{received} of {total} bytes arrived (middle exit {status}): {mid_log[-800:]}")
    ciphers = sorted(set(re.findall(r"SSL connection using (\S+)", mid_log)))
    versions = sorted(set(re.findall(r"SSL proto version used: (\S+)", mid_log))) or None
    return {
        "bytes": received,
        "seconds": round(seconds, 3),
        "throughputMBps": round(received / seconds / 1e6, 3),
        "middleCpuSeconds": round(mid_cpu, 3),
        "middleCpuSecondsPerGB": round(mid_cpu / (received / 1e9), 3),
        "middleGBPerCpuSecond": round((received / 1e9) / mid_cpu, 3) if mid_cpu > 0 else None,
        "middleExitStatus": status,
        "tlsCiphers": ciphers,
        "tlsVersions": versions,
        "block": args.block,
        "commands": {
            "receiver": " ".join(receiver_cmd),
            "middle": " ".join(middle_cmd),
            "sender": " ".join(source_cmd) + " | " + " ".join(sender_cmd),
        },
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--ca", required=True)
    ap.add_argument("--megabytes", type=int, default=2000, help="bytes to send per run, in 10^6 (default 2000)")
    ap.add_argument("--runs", type=int, default=1, help="runs; the one with the median throughput is reported (default 1)")
    ap.add_argument("--block", type=int, default=65536, help="socat's read/write size (-b), default 65536 like the 64 KiB frames")
    ap.add_argument("--timeout", type=float, default=120, help="seconds one run may take")
    ap.add_argument("--report", required=True, help="JSON file to write")
    args = ap.parse_args()
    if not 1 <= args.runs <= 9 or args.megabytes < 1:
        print("tls_pipe: --runs must be 1 to 9 and --megabytes at least 1", file=sys.stderr)
        return 64

    socat = shutil.which("socat")
    if not socat:
        print("tls_pipe: socat is not installed (Debian: apt-get install socat)", file=sys.stderr)
        return 69
    runs = []
    for i in range(args.runs):
        try:
            run = transfer(socat, args)
        except PipeFailed as e:
            print(f"tls_pipe: run {i + 1}: {e}", file=sys.stderr)
            return 1
        print(f"tls_pipe: run {i + 1}: {run['bytes'] / 1e6:.0f} MB in {run['seconds']:.2f} s = {run['throughputMBps']:.1f} MB/s; "
              f"middle {run['middleCpuSeconds']:.2f} CPU-s = {run['middleCpuSecondsPerGB']:.3f} CPU-s per GB; "
              f"{', '.join(run['tlsCiphers']) or 'cipher unknown'}", file=sys.stderr)
        runs.append(run)
    median = sorted(runs, key=lambda r: r["throughputMBps"])[len(runs) // 2]
    report = dict(median, runs=[{k: r[k] for k in ("seconds", "throughputMBps", "middleCpuSeconds", "middleCpuSecondsPerGB")}
                               for r in runs])
    with open(args.report, "w") as f:
        json.dump(report, f, indent=2, sort_keys=True)
        f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
