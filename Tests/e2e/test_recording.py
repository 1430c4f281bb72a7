"""Recording over the real relay (issue 3, first slice): consent, start/stop, bytes on disk,
withdrawal deletes. Streams a real WebM made by ffmpeg (the committed test fixture)."""
from pathlib import Path

from vrtest import CAMERA, F_INIT, chunks, give_consent, media_frame

FIXTURE = Path(__file__).resolve().parent.parent / "VigRelayCoreTests" / "Fixtures" / "testsrc-4s.webm"


def test_record_without_consent_is_refused(relay):
    p, f, s = relay.pair()
    p.send_json({"type": "record", "action": "start", "id": 1})
    assert p.recv_error("consent_required")["id"] == 1
    p.close()
    f.close()


def test_recording_equals_the_bytes_sent_and_withdrawal_deletes_it(relay):
    p, f, s = relay.pair()
    give_consent(p, f)
    p.send_json({"type": "record", "action": "start"})
    started = p.recv_json()
    assert started["type"] == "recording" and started["state"] == "started", started
    assert f.recv_json() == started
    rid = started["recordingId"]
    data = FIXTURE.read_bytes()
    for i, c in enumerate(chunks(data, [777, 4096, 13, 20000])):
        frame = media_frame(CAMERA, F_INIT if i == 0 else 0, i, i * 100_000, c)
        f.send_bytes(frame)
        assert p.recv_binary() == frame
    p.send_json({"type": "record", "action": "stop"})
    stopped = p.recv_json(timeout=10)
    assert stopped["type"] == "recording" and stopped["state"] == "stopped" and stopped["recordingId"] == rid, stopped
    assert stopped["bytes"] == len(data)
    assert f.recv_json() == stopped
    rec_dir = Path(relay.data_dir) / "sessions" / s["sessionId"] / "recordings"
    assert (rec_dir / f"{rid}.webm").read_bytes() == data, "the recording must equal the bytes sent"
    assert (rec_dir / f"{rid}.index").exists() and (rec_dir / f"{rid}.json").exists()

    f.send_json({"type": "consent", "recording": False})
    got = [f.recv_json(), f.recv_json()]
    assert {"type": "consent", "recording": False} in got
    deleted = next(m for m in got if m.get("type") == "recording")
    assert deleted["state"] == "deleted" and rid in deleted["recordingIds"]
    assert not (rec_dir / f"{rid}.webm").exists() and not (rec_dir / f"{rid}.index").exists()
    log = (Path(relay.data_dir) / "sessions" / s["sessionId"] / "session.jsonl").read_text()
    assert '"event":"consent"' in log.replace(" ", "") and '"recording":false' in log.replace(" ", "")
    p.close()
    f.close()


def test_disk_quota_fails_the_recording_but_not_the_live_relay(relay_factory):
    relay = relay_factory(["--recording-quota", "5000"])
    p, f, s = relay.pair()
    give_consent(p, f)
    p.send_json({"type": "record", "action": "start"})
    rid = p.recv_json()["recordingId"]
    f.recv_json()
    data = FIXTURE.read_bytes()
    for i, c in enumerate(chunks(data, [4000])):
        f.send_bytes(media_frame(CAMERA, F_INIT if i == 0 else 0, i, i * 100_000, c))
    got = []
    while True:
        m = p.recv(timeout=10)
        got.append(m)
        if isinstance(m, str) and '"recording_failed"' in m:
            break
    frames = [m for m in got if isinstance(m, bytes)]
    assert len(frames) >= 2, "frames were relayed while the recording ran"
    after = media_frame(CAMERA, 0, 999, 99_900_000, b"after the recording failed")
    f.send_bytes(after)
    rest = []  # what was still on its way (frames sent before, the `recording failed` state), then `after`
    while not rest or rest[-1] != after:
        assert len(rest) < 100, f"the frame sent after the failure never arrived: {rest[-3:]}"
        rest.append(p.recv(timeout=10))
    sent = -(-len(data) // 4000) + 1
    assert len(frames) + sum(isinstance(m, bytes) for m in rest) == sent, "every frame was relayed, before and after the failure"
    manifest = (Path(relay.data_dir) / "sessions" / s["sessionId"] / "recordings" / f"{rid}.json").read_text()
    assert '"failed"' in manifest
    assert (Path(relay.data_dir) / "sessions" / s["sessionId"] / "recordings" / f"{rid}.webm").stat().st_size <= 5000
    p.close()
    f.close()


def test_kill_9_mid_recording_recovers_a_playable_file(relay_factory):
    import json
    import subprocess
    import time
    relay = relay_factory()
    p, f, s = relay.pair()
    give_consent(p, f)
    p.send_json({"type": "record", "action": "start"})
    rid = p.recv_json()["recordingId"]
    data = FIXTURE.read_bytes()
    sent = data[:11500]  # stops inside the cluster that starts at 10804
    for i, c in enumerate(chunks(sent, [1000])):
        f.send_bytes(media_frame(CAMERA, F_INIT if i == 0 else 0, i, i * 100_000, c))
        p.recv_binary()
    rec = Path(relay.data_dir) / "sessions" / s["sessionId"] / "recordings"
    index = rec / f"{rid}.index"
    # The writer syncs at least once a second: wait (with a deadline) until the index covers what was sent.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if index.exists() and any(line.startswith("C 1 10804") for line in index.read_text().splitlines()):
            break
        time.sleep(0.05)
    else:
        raise AssertionError(f"index never showed the cluster at 10804: {index.read_text() if index.exists() else 'missing'}")
    relay.kill()
    relay.start()
    manifest = json.loads((rec / f"{rid}.json").read_text())
    assert manifest["state"] == "interrupted", manifest
    media = (rec / f"{rid}.webm").read_bytes()
    assert len(media) == 10804, f"recovery cuts at the last cluster start, got {len(media)} bytes"
    out = subprocess.run(["ffmpeg", "-v", "error", "-i", str(rec / f"{rid}.webm"), "-f", "null", "-"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stderr == "", out.stderr


def test_recording_started_mid_stream_begins_with_init_then_a_keyframe_cluster(relay):
    """The camera streams before consent (live view only); a recording started later still plays alone."""
    p, f, s = relay.pair()
    data = FIXTURE.read_bytes()
    pieces = list(chunks(data, [1000]))
    for i, c in enumerate(pieces[:5]):  # 5000 bytes: past the key cluster at 3794
        f.send_bytes(media_frame(CAMERA, F_INIT if i == 0 else 0, i, i * 100_000, c))
        p.recv_binary()
    give_consent(p, f)
    p.send_json({"type": "record", "action": "start"})
    rid = p.recv_json()["recordingId"]
    f.recv_json()
    for i, c in enumerate(pieces[5:], start=5):
        f.send_bytes(media_frame(CAMERA, 0, i, i * 100_000, c))
        p.recv_binary()
    p.send_json({"type": "record", "action": "stop"})
    stopped = p.recv_json(timeout=10)
    assert stopped["state"] == "stopped", stopped
    media = (Path(relay.data_dir) / "sessions" / s["sessionId"] / "recordings" / f"{rid}.webm").read_bytes()
    assert media == data[:409] + data[7308:], "init segment, then the stream from the next keyframe cluster (7308)"
    p.close()
    f.close()
