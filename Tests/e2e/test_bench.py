"""`bench/run.sh`, the benchmark driver: a quick run with tiny numbers against the binaries under test
must write a BENCHMARKS-like file with every scenario's section, command lines and figures, so the
script does not rot. (The figures themselves are not judged here: this machine may be busy.)"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import REPO


@pytest.mark.one_at_a_time
@pytest.mark.timeout(150)
def test_bench_quick_run_writes_every_scenario_with_commands_and_numbers(vigrelay_bin, client_bin, tmp_path):
    out = tmp_path / "BENCHMARKS.md"
    work = tmp_path / "work"
    # The binaries under test, wherever they were named from (run.sh takes one directory for both).
    bin_dir = Path(vigrelay_bin).resolve().parent
    assert Path(client_bin).resolve().parent == bin_dir, f"bench/run.sh needs both binaries in one directory: {vigrelay_bin}, {client_bin}"
    cmd = [str(REPO / "bench" / "run.sh"), "--quick", "--bin-dir", str(bin_dir), "--certs", str(tmp_path / "certs"),
           "--work", str(work), "--out", str(out), "--seconds", "2", "--search-start", "2", "--search-max", "2",
           "--search-seconds", "1", "--search-budget", "25", "--idle-pairs", "5", "--pipe-mb", "20", "--slow-seconds", "3"]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=140, stdin=subprocess.DEVNULL, cwd=tmp_path)
    assert p.returncode == 0, f"bench/run.sh exited {p.returncode}\n{p.stdout[-3000:]}\n{p.stderr[-3000:]}"
    assert out.is_file(), f"no {out}:\n{p.stderr[-2000:]}"
    md = out.read_text()

    sections = re.split(r"^## ", md, flags=re.M)
    titles = [s.splitlines()[0] for s in sections[1:]]
    for prefix in ("Machine", "Summary", "1. One pair", "2. 10 pairs", "3. Recorded pairs", "4. 10 idle connections",
                   "5. The physical reference", "6. Another relay", "7. Scenario 2 with two practitioners on slow downloads", "Where the server's time goes"):
        assert any(t.startswith(prefix) for t in titles), f"no section '{prefix}' in {titles}"
    section = {t.split(" ")[0]: s for t, s in zip(titles, sections[1:])}

    # How to reproduce, and the machine.
    assert "bench/run.sh --quick" in md
    for field in ("| CPU |", "| cores | ", "| RAM |", "| OS, kernel |", "| Swift | Swift version", "| libwebsockets | libwebsockets",
                  "| OpenSSL | libssl3", "| kernel TLS (kTLS) | "):
        assert field in section["Machine"], f"machine info lacks {field!r}"

    number = r"\d[\d,]*\.\d+"
    s1 = section["1."]
    assert "vigrelay-client load" in s1 and "--frame-size 65536 --bitrate 0" in s1 and "--record" in s1, s1
    assert re.search(rf"\| recording off \| {number} \| {number} \| {number} \|", s1), s1
    assert re.search(rf"\| recording on \| {number} \| {number} \| {number} \|", s1), s1
    s2 = section["2."]
    assert "--pairs 10 --bitrate 2.5M" in s2
    assert re.search(rf"^\| 1[^|]* \| \d+ \| {number} \| {number} \| {number} \|", s2, re.M), s2
    # The latency from the load generator's write, beside the one from the due time.
    assert re.search(rf"^\| 1[^|]* \| \d+ \| (?:{number} \| ){{5}}{number} / {number} \|", s2, re.M), s2
    assert "bench/wake_latency.py --samples 300 --gap-ms 10" in s2, s2  # the floor under it
    assert re.search(rf"^\| socket wake [^|]* \| 300 \| {number} \| {number} \| {number} \|", s2, re.M), s2
    s3 = section["3."]
    assert "--record" in s3 and "--pairs PAIRS" in s3 and "--ramp RAMPs" in s3
    # pairs | ramp s (quick mode's shortest, 2 s) | lost | p99 | send lag | CPU share
    # pairs, ramp, lost, p99, send lag, the server's steady CPU share and its service thread's (found by name in /proc).
    assert re.search(rf"^\| 2 \| 2 \| \d+ \| {number} \| {number} \| {number} \| {number} \|", s3, re.M), s3
    # Whether 2 pairs were carried: on a busy machine the load generator may be late even there.
    carried3 = bool(re.search(r"^\| 2 \| .* \| carried \|$", s3, re.M))
    s4 = section["4."]
    assert "--idle --pairs 5" in s4
    assert re.search(rf"\| 10 of 10 \| {number} s \| {number} s \|", s4), s4
    assert re.search(rf"{number} KB", s4), s4
    s5 = section["5."]
    assert "socat" in s5 and "OPENSSL-LISTEN" in s5
    assert re.search(rf"\| TLS pipe \(socat; TLSv1\.3 \S+\) \| {number} \| {number} \| {number} \|", s5), s5
    assert re.search(rf"throughput is \*\*{number}x\*\* the pipe's", s5), s5

    # Scenario 6 runs when nginx and its nchan module are installed (bench/run.sh does not install
    # them); otherwise the section says so and how to add it.
    s6 = section["6."]
    nchan = bool(shutil.which("nginx") or Path("/usr/sbin/nginx").exists()) and Path("/usr/lib/nginx/modules/ngx_nchan_module.so").exists()
    if nchan:
        assert "--mode mirror --url wss://127.0.0.1:" in s6 and "bench/nchan.conf" in s6, s6
        shapes = [("1 (one pair, 64 KiB)", "vigrelay"), ("1 (one pair, 64 KiB)", "nginx \\+ nchan"),
                  ("2 (10 pairs x 2.5 Mbit/s)", "vigrelay"), ("2 (10 pairs x 2.5 Mbit/s)", "nginx \\+ nchan")]
        # Scenario 3's shape runs at the count scenario 3 carried; on a busy machine it may carry none.
        if carried3:
            shapes += [("3 (2 pairs x 2.5 Mbit/s, not recorded)", "vigrelay"), ("3 (2 pairs x 2.5 Mbit/s, not recorded)", "nginx \\+ nchan")]
        else:
            assert "Scenario 3's shape was not run: scenario 3 carried no count" in s6, s6
        for shape, relay in shapes:
            # MB/s, then CPU-s per GB and GB per CPU-s; a relay that used under one 10 ms tick in the
            # two-pair second (nginx's worker can) has 0.000 CPU-s per GB and no GB per CPU-s.
            assert re.search(rf"^\| {re.escape(shape)} \| {relay} \| {number} \| (?:{number} \| {number}|0\.000 \| n/a) \| {number} / {number} \| .* \| 0 \| {number} \| OK \|$",
                             s6, re.M), (shape, relay, s6)
        assert re.search(rf"vigrelay spent \*\*{number}x\*\* nginx \+ nchan's CPU per GB", s6), s6
        # Two pairs for a second may round a steady share down to 0 ticks; then the report says there is no ratio.
        assert not carried3 or re.search(rf"At 2 pairs without recording (vigrelay's steady CPU share was {number} .* \*\*{number}x\*\*|"
                         r"a steady CPU share was 0 \(too little CPU)", s6), s6
    else:
        assert "Not run: nginx with the nchan module is not installed" in s6 and "libnginx-mod-nchan" in s6, s6

    s7 = section["7."]
    assert "--slow-viewers 2 --slow-viewer-rate 1M" in s7, s7
    # Scenario 2's row and this one's: viewers at full speed, frames, p50, p99, max.
    assert re.search(rf"^\| scenario 2 \| 10 \| \d+ \| {number} \| {number} \| {number} \|", s7, re.M), s7
    assert re.search(rf"^\| with 2 slow viewers \| 8 \| \d+ \| {number} \| {number} \| {number} \| 0 \|", s7, re.M), s7
    assert re.search(r"The 2 slow viewers received \d+ of the \d+ frames", s7), s7

    summary = section["Summary"]
    rows = [l for l in summary.splitlines() if l.startswith("| ") and not l.startswith("| scenario")]
    assert len(rows) == 9, summary
    # Each row: the verdict, then the machine's speed when that run started (openssl speed, GB per CPU-second).
    ran = [r for r in rows if nchan or not r.startswith("| 6.")]
    assert all(re.search(rf"\| (met|\*\*not met\*\*|n/a|-) \| {number} \|$", r) or ("| none carried |" in r and r.endswith("| n/a | n/a |"))
               for r in ran), rows
    assert carried3 or any("| none carried |" in r for r in rows), rows
    assert re.search(rf"\*\*Machine speed\.\*\* .* from {number} to {number} over \d+ runs", section["Machine"]), section["Machine"]

    # No secret reaches the file: the token is shown as "$TOKEN".
    assert '--token "$TOKEN"' in md
    assert not re.search(r"eyJ[\w-]+\.[\w-]+", md), "a token leaked into BENCHMARKS.md"
    # The reports it read are kept in the work directory; the servers' data directories are not.
    for name in ("s1", "s1-record", "s2", "s2-wake", "s3-2", "s4", "s5", "s7") + (("s6-s1", "s6-s2") if nchan else ()) + (("s6-s3-vigrelay", "s6-s3") if nchan and carried3 else ()):
        assert (work / f"{name}.json").is_file(), f"{name}.json missing in {sorted(p.name for p in work.iterdir())}"
    assert not list(work.glob("data-*")), "server data directories left behind"


@pytest.mark.one_at_a_time
@pytest.mark.timeout(120)
def test_the_churn_script_runs_rounds_against_one_relay_and_reports_what_stays(vigrelay_bin, client_bin, tmp_path):
    """`bench/churn.sh` with tiny rounds against the binaries under test: a row per round with the
    sessions so far, the relay's RSS and open descriptors, and the summary; a bad option is refused."""
    bin_dir = Path(vigrelay_bin).resolve().parent
    cmd = [str(REPO / "bench" / "churn.sh"), "--bin-dir", str(bin_dir), "--certs", str(tmp_path / "certs"),
           "--rounds", "3", "--pairs", "3", "--seconds", "1"]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=110, stdin=subprocess.DEVNULL, cwd=tmp_path)
    assert p.returncode == 0, f"bench/churn.sh exited {p.returncode}\n{p.stdout[-3000:]}\n{p.stderr[-3000:]}"
    rows = re.findall(r"^\| (\d+) \| (\d+) \| (\d+) \| (\d+) \|$", p.stdout, re.M)
    assert [(r[0], r[1]) for r in rows] == [("0", "0"), ("1", "3"), ("2", "6"), ("3", "9")], p.stdout
    assert all(int(r[2]) > 1000 and int(r[3]) > 3 for r in rows), p.stdout
    assert re.search(r"^RSS added per session from round 3 on: -?\d+ bytes$", p.stdout, re.M), p.stdout
    assert re.search(rf"^open fds after the second round: {rows[2][3]}, after the last: {rows[3][3]}$", p.stdout, re.M), p.stdout
    bad = subprocess.run([str(REPO / "bench" / "churn.sh"), "--rounds", "0"], capture_output=True, text=True, timeout=20,
                         stdin=subprocess.DEVNULL)
    assert bad.returncode == 64 and "--rounds needs a whole number above 0" in bad.stderr, bad
