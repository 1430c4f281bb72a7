#!/usr/bin/env python3
"""The floor under scenario 2: how long this machine takes to wake a sleeping process.

Scenario 2's frames arrive about every 10 ms (10 pairs at 10 fps), so between frames the relay and
the load generator's threads sleep. Every frame then needs at least three wake-ups: the load
generator's sending lws thread (its timer: the frame is due), the relay (bytes arrived on its
socket), the load generator's receiving thread (bytes arrived back). This measures the two kinds,
with nothing else going on:

- *socket wake*: a process sleeping in a blocking read on a Unix socket pair is sent one byte every
  --gap ms; the time from the write to the moment the reader runs again (it reads the clock as soon
  as its read returns and sends the reading back);
- *timer lateness*: how long after its due time a sleep (clock_nanosleep through time.sleep) returns.

    bench/wake_latency.py --samples 2000 --gap-ms 10 --report wake.json

Python adds a few microseconds to each figure (its p50 with no sleep in between is printed as
`busySocketWake`). Standard library only; bounded by --samples x --gap-ms.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import time


def summary_us(values_ns: list[int]) -> dict:
    v = sorted(values_ns)
    at = lambda p: round(v[min(len(v) - 1, int(len(v) * p / 100))] / 1000, 1)  # noqa: E731
    return {"count": len(v), "p50": at(50), "p90": at(90), "p99": at(99), "p99.9": at(99.9), "max": round(v[-1] / 1000, 1)}


def measure(samples: int, gap_s: float) -> tuple[list[int], list[int]]:
    """(socket wake, timer lateness) in nanoseconds, one of each per sample."""
    parent, child = socket.socketpair()
    pid = os.fork()
    if pid == 0:  # the sleeper: blocks in recv, answers with the time it woke
        parent.close()
        while child.recv(1):
            child.sendall(time.monotonic_ns().to_bytes(8, "little"))
        os._exit(0)
    child.close()
    wakes, late = [], []
    try:
        due = time.monotonic_ns()
        for _ in range(samples):
            due += int(gap_s * 1e9)
            pause = (due - time.monotonic_ns()) / 1e9
            if pause > 0:
                time.sleep(pause)
            sent = time.monotonic_ns()
            late.append(max(0, sent - due))
            parent.sendall(b"x")
            answer = b""
            while len(answer) < 8:
                chunk = parent.recv(8 - len(answer))
                if not chunk:
                    raise RuntimeError("the sleeper ended early")
                answer += chunk
            wakes.append(int.from_bytes(answer, "little") - sent)
    finally:
        parent.close()
        os.waitpid(pid, 0)
    return wakes, late


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--samples", type=int, default=2000, help="wake-ups to measure (default 2000)")
    ap.add_argument("--gap-ms", type=float, default=10, help="sleep between them, ms (default 10: scenario 2's frame gap)")
    ap.add_argument("--report", required=True, help="JSON file to write")
    args = ap.parse_args()
    if not (10 <= args.samples <= 100_000 and 0.1 <= args.gap_ms <= 1000):
        print("wake_latency: --samples 10-100000, --gap-ms 0.1-1000", file=sys.stderr)
        return 64
    busy, _ = measure(200, 0)
    wakes, late = measure(args.samples, args.gap_ms / 1000)
    report = {"samples": args.samples, "gapMs": args.gap_ms, "socketWakeUs": summary_us(wakes),
              "timerLatenessUs": summary_us(late), "busySocketWakeUs": summary_us(busy)["p50"],
              "loadAverage": open("/proc/loadavg").read().split()[:3]}
    w, t = report["socketWakeUs"], report["timerLatenessUs"]
    print(f"wake_latency: socket wake p50 {w['p50']} us, p99 {w['p99']} us, max {w['max']} us; "
          f"timer lateness p50 {t['p50']} us, p99 {t['p99']} us (busy: {report['busySocketWakeUs']} us)", file=sys.stderr)
    with open(args.report, "w") as f:
        json.dump(report, f, indent=2, sort_keys=True)
        f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
