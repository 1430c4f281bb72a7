"""GET /metrics: the relay's counters for its operators, in Prometheus' text format (read here by
Prometheus' own Python parser), behind a token of their own (`vigrelay token metrics`).

Each test has a relay of its own, so every count is known exactly."""
import json
import os
import re
import shutil
import time

import pytest

from conftest import REPO
from vrtest import CAMERA, HTTPConn, bearer, run, F_INIT, F_KEY, assert_error, forge, give_consent, media_frame, patterned, \
    start_recording, stop_recording, wait_until


@pytest.mark.timeout(120)
def test_metrics_are_read_with_a_metrics_token_only_and_count_every_refusal(relay_factory, forged_token):
    relay = relay_factory()
    metrics_token = relay.metrics_token()
    practitioner = relay.token()
    session = relay.create_session(practitioner)

    body = assert_error(relay.http("GET", "/metrics"), 401, "unauthorized")
    assert "vigrelay token metrics" in body["message"], body
    assert_error(relay.http("GET", "/metrics", headers=bearer(forge(metrics_token))), 401, "unauthorized")
    assert_error(relay.http("GET", "/metrics", headers=bearer(forged_token)), 401, "unauthorized")
    body = assert_error(relay.http("GET", "/metrics", headers=bearer(practitioner)), 403, "forbidden")
    assert "metrics token" in body["message"], body
    assert_error(relay.http("GET", "/metrics", headers=bearer(session["inviteToken"])), 403, "forbidden")
    assert_error(relay.http("POST", "/metrics", headers=bearer(metrics_token)), 405, "method_not_allowed")

    # The metrics token opens nothing else: not the API, not a session.
    for method, path in [("POST", "/v1/sessions"), ("GET", "/v1/sessions"),
                         ("GET", f"/v1/sessions/{session['sessionId']}"),
                         ("POST", f"/v1/sessions/{session['sessionId']}/withdrawal")]:
        body = assert_error(relay.http(method, path, headers=bearer(metrics_token)), 403, "forbidden")
        assert "only reads GET /metrics" in body["message"], (method, path, body)
    ws = relay.connect(session["sessionId"], "metrics-token")
    ws.send_json({"type": "hello", "token": metrics_token})
    assert ws.recv_error("forbidden")["message"].startswith("a metrics token only reads GET /metrics"), "hello"
    ws.expect_close()

    # An upgrade the relay refuses before lws answers it is counted too.
    upgrade = HTTPConn(relay.port, relay.ssl_ctx)
    refused = upgrade.request("GET", f"/v1/sessions/{session['sessionId']}/ws", headers={
        "Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        "Sec-WebSocket-Version": "8", "Sec-WebSocket-Protocol": "vigrelay.v1"})
    assert refused.status == 426, refused
    upgrade.close()

    conn = HTTPConn(relay.port, relay.ssl_ctx)
    head = conn.request("HEAD", "/metrics", headers=bearer(metrics_token))
    assert head.status == 200 and int(head.headers["content-length"]) > 1000, head
    assert head.headers["content-type"].startswith("text/plain; version=0.0.4"), head.headers
    conn.close()
    m = relay.metrics(metrics_token)
    assert m['vigrelay_errors_total{code="unauthorized"}'] == 3, m
    assert m['vigrelay_errors_total{code="forbidden"}'] == 2 + 4 + 1, m
    assert m['vigrelay_errors_total{code="method_not_allowed"}'] == 1, m
    assert m['vigrelay_errors_total{code="invalid_request"}'] == 1, m
    assert m['vigrelay_errors_total{code="too_many_connections"}'] == 0, m
    assert m["vigrelay_sessions_created_total"] == 1, m
    assert metrics_token not in relay.log_text()


@pytest.mark.timeout(120)
def test_metrics_count_what_a_call_carries_and_records(relay_factory):
    started = time.time()
    relay = relay_factory()
    token = relay.metrics_token()
    before = relay.metrics(token)
    assert before["vigrelay_websocket_connections"] == 0 and before["vigrelay_calls"] == 0, before
    assert before["vigrelay_media_received_frames_total"] == 0, before

    p, f, s = relay.pair()
    give_consent(p, f)
    rid = start_recording(p, f)
    payloads = [patterned(1000, 1)] + [patterned(5000 + 997 * i, i + 2) for i in range(20)]
    frames = [media_frame(CAMERA, F_INIT if i == 0 else F_KEY, i, i * 100_000, c) for i, c in enumerate(payloads)]
    for frame in frames:
        f.send_bytes(frame)
        assert p.recv_binary() == frame

    during = relay.metrics(token)
    assert during["vigrelay_websocket_connections"] == 2, during
    assert during['vigrelay_joined_connections{role="practitioner"}'] == 1, during
    assert during['vigrelay_joined_connections{role="family"}'] == 1, during
    assert during["vigrelay_calls"] == 1 and during["vigrelay_recordings_running"] == 1, during
    assert during["vigrelay_media_received_frames_total"] == len(frames), during
    assert during["vigrelay_media_received_bytes_total"] == sum(map(len, frames)), during
    assert during['vigrelay_media_forwarded_frames_total{stream="camera"}'] == len(frames), during
    assert during['vigrelay_media_forwarded_bytes_total{stream="camera"}'] == sum(map(len, frames)), during
    assert during['vigrelay_media_forwarded_frames_total{stream="screen"}'] == 0, during
    assert during['vigrelay_media_skipped_frames_total{stream="camera"}'] == 0, during
    assert during["vigrelay_sessions_created_total"] == 1, during

    stopped = stop_recording(p, f, rid)
    assert stopped["bytes"] == sum(map(len, payloads)), stopped
    after = wait_until(lambda: (m := relay.metrics(token))["vigrelay_recorded_bytes_total"] == stopped["bytes"] and m,
                       10, "the recorded bytes to be counted")
    assert after["vigrelay_recordings_running"] == 0 and after["vigrelay_recording_queue_bytes"] == 0, after
    assert after["vigrelay_disk_pauses_total"] == 0 and after["vigrelay_senders_paused_for_disk"] == 0, after
    assert after["vigrelay_recordings_started_total"] == 1, after

    # Deletions by reason: the practitioner's request here, the family's withdrawal in a second call.
    deleted = relay.http("DELETE", f"/v1/sessions/{s['sessionId']}/recordings",
                         headers=bearer(s["practitionerToken"]))
    assert deleted.status == 200 and deleted.json() == {"deleted": [rid]}, deleted
    p2, f2, _ = relay.pair()
    give_consent(p2, f2)
    start_recording(p2, f2)
    f2.send_bytes(frames[0])
    assert p2.recv_binary() == frames[0]
    f2.send_json({"type": "consent", "recording": False})
    counted = wait_until(lambda: (m := relay.metrics(token))['vigrelay_recordings_deleted_total{reason="withdrawal"}'] == 1 and m,
                         10, "the withdrawal's deletion to be counted")
    assert counted['vigrelay_recordings_deleted_total{reason="request"}'] == 1, counted
    assert counted['vigrelay_recordings_deleted_total{reason="retention"}'] == 0, counted
    assert counted["vigrelay_recordings_started_total"] == 2, counted
    for ws in (p2, f2):
        ws.close()

    p.close()
    f.close()
    gone = wait_until(lambda: (m := relay.metrics(token))["vigrelay_websocket_connections"] == 0 and m,
                      10, "both connections to be gone from the metrics")
    assert gone["vigrelay_calls"] == 0 and gone['vigrelay_joined_connections{role="family"}'] == 0, gone

    # The process, as Prometheus' other exporters name it.
    assert gone["process_cpu_seconds_total"] > 0, gone
    assert 1 << 20 < gone["process_resident_memory_bytes"] < 1 << 31, gone
    assert 3 <= gone["process_open_fds"] < gone["process_max_fds"], gone
    assert started - 1 <= gone["process_start_time_seconds"] <= time.time(), gone
    later = relay.metrics(token)
    assert later["process_cpu_seconds_total"] >= gone["process_cpu_seconds_total"], (gone, later)

    # The service thread's own CPU time (read by that thread at each scrape): part of the process's,
    # and most of what relaying costs it (TLS both ways, on that thread; the disk writer idles here).
    service = "vigrelay_service_thread_cpu_seconds_total"
    assert 0 < later[service] <= later["process_cpu_seconds_total"], later
    p3, f3, _ = relay.pair()
    frame = media_frame(CAMERA, F_KEY, 1, 0, patterned(64 << 10, 7))
    for _ in range(300):
        f3.send_bytes(frame)
        assert p3.recv_binary() == frame
    busy = relay.metrics(token)
    used = busy[service] - later[service]
    assert 0 < used <= busy["process_cpu_seconds_total"] - later["process_cpu_seconds_total"] + 0.01, (later, busy)
    assert used >= 0.5 * (busy["process_cpu_seconds_total"] - later["process_cpu_seconds_total"]), (later, busy)
    for ws in (p3, f3):
        ws.close()


@pytest.mark.timeout(120)
def test_load_reads_the_relays_cpu_and_memory_from_its_metrics(client_bin, relay_factory, certs, tmp_path):
    """`load --metrics-token`: the relay's figures from GET /metrics, as for a relay on another machine."""
    relay = relay_factory()
    report = tmp_path / "load.json"
    common = [client_bin, "load", "--server", relay.base_url, "--ca", certs.ca, "--token", relay.token(), "--pairs", "3"]
    p = run([*common, "--duration", "2s", "--metrics-token", relay.metrics_token(), "--report", report], timeout=90)
    assert p.returncode == 0, p.stderr
    assert "sampling the relay's CPU and memory from its GET /metrics" in p.stderr, p.stderr
    s = json.loads(report.read_text())["server"]
    assert s["sampledFrom"] == "metrics" and s["pid"] is None, s
    assert s["cpuSeconds"] > 0 and s["wallSeconds"] >= 1.5 and s["cpuSecondsPerGB"] > 0, s
    assert s["rssStartBytes"] > 1_000_000 and s["rssPeakBytes"] >= max(s["rssStartBytes"], s["rssEndBytes"]), s
    assert s["steadyCpuShare"] is not None and s["processEnded"] is False, s
    # vigrelay_service_thread_cpu_seconds_total, read by the relay at each scrape before the process's.
    assert 0 < s["serviceThreadShare"] <= s["cpuShare"] + 0.01 and s["steadyServiceThreadShare"] is not None, s
    assert "server (its GET /metrics): " in p.stdout, p.stdout

    refused = run([*common, "--duration", "1s", "--metrics-token", relay.token()], timeout=60)
    assert refused.returncode == 3, refused
    assert "--metrics-token refused by the relay (forbidden)" in refused.stderr, refused.stderr
    assert "vigrelay token metrics --id ID" in refused.stderr, refused.stderr
    both = run([*common, "--duration", "1s", "--metrics-token", "x.y", "--server-pid", str(relay.proc.pid)], timeout=60)
    assert both.returncode == 64 and "give one" in both.stderr, both


ALERTS = REPO / "deploy" / "prometheus"


def test_the_alert_rules_check_pass_their_tests_and_name_only_what_the_relay_exports(relay_factory):
    """deploy/prometheus/vigrelay-alerts.yml: Prometheus' own `promtool` accepts the rules and runs
    their tests (each alert fires on the series that should fire it, and not on quiet ones); every
    metric and error code they name is one a real relay exports, on the scrape job deploy/README.md
    configures."""
    promtool = os.environ.get("VIGRELAY_PROMTOOL") or shutil.which("promtool")
    assert promtool, "promtool not found: set VIGRELAY_PROMTOOL (scripts/test.sh takes it out of Debian's prometheus package)"
    for args in (["check", "rules", "vigrelay-alerts.yml"], ["test", "rules", "vigrelay-alerts.test.yml"]):
        p = run([promtool, *args], cwd=ALERTS)
        assert p.returncode == 0 and "SUCCESS" in p.stdout, f"promtool {' '.join(args)}:\n{p.stdout}{p.stderr}"

    rules = (ALERTS / "vigrelay-alerts.yml").read_text()
    exprs = " ".join(re.findall(r"^\s+expr: (.+)$", rules, re.M))
    assert len(re.findall(r"^\s+- alert: ", rules, re.M)) == len(re.findall(r"^\s+expr: ", rules, re.M)) == 11, exprs
    relay = relay_factory()
    exported = relay.metrics(relay.metrics_token())
    families = {name.split("{")[0] for name in exported}
    named = set(re.findall(r"\b(?:vigrelay|process)_[a-z_]+", exprs))
    assert named and named <= families, f"the rules name metrics the relay does not export: {named - families}"
    for code in re.findall(r'code=~?"([a-z_|]+)"', exprs):
        for one in code.split("|"):
            assert f'vigrelay_errors_total{{code="{one}"}}' in exported, f"no error code {one} in /metrics"
    assert re.search(r'job="vigrelay"', exprs) and "job_name: vigrelay" in (REPO / "deploy" / "README.md").read_text()
