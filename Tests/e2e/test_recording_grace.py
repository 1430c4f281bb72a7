"""Recording across reconnects and restarts (issue 3): the family drops and comes back within the
grace (one recording, a new part per restarted stream), the grace expires (the recording stops),
and consent and recordings survive a server restart. Streams real WebM files made by ffmpeg (the
committed test fixtures). Every wait has a deadline."""
import json
import subprocess
import time
from pathlib import Path

from vrtest import give_consent, next_json, send_camera, serve_refused, start_recording

# Chunk sizes the family cycles through: odd cuts, as a camera's chunks vary.
GRACE_SIZES = (777, 4096, 13, 20000)
FIXTURES = Path(__file__).resolve().parent.parent / "VigRelayCoreTests" / "Fixtures"
WEBM_A = FIXTURES / "testsrc-4s.webm"       # VP8, sized Segment and Clusters, Cues
WEBM_B = FIXTURES / "testsrc-av-live.webm"  # VP8 + Opus, live (unknown-size Segment)


def events(relay, sid) -> list[dict]:
    path = Path(relay.data_dir) / "sessions" / sid / "session.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def ffmpeg_decodes_silently(path: Path) -> None:
    out = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-f", "null", "-"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stderr == "", f"ffmpeg on {path.name}: rc {out.returncode}: {out.stderr}"


def test_family_back_within_the_grace_continues_the_recording_as_a_second_part(relay_factory):
    relay = relay_factory()
    p, f, s = relay.pair()
    sid = s["sessionId"]
    give_consent(p, f)
    rid = start_recording(p, f)
    a, b = WEBM_A.read_bytes(), WEBM_B.read_bytes()
    send_camera(p, f, a, sizes=GRACE_SIZES)

    f.abort()  # the family's connection drops (no close frame)
    assert next_json(p) == {"type": "peer", "event": "left", "role": "family"}, "the practitioner is told at once"

    f2, welcome = relay.join(sid, s["inviteToken"], "family-again", role="family", peer_present=True)
    assert next_json(f2) == {"type": "consent", "recording": True}, "the returning family's page is told its consent stands"
    assert next_json(f2) == {"type": "recording", "state": "running", "recordingId": rid}, \
        "the returning family is told its camera is being recorded"
    assert next_json(p) == {"type": "peer", "event": "joined", "role": "family"}
    send_camera(p, f2, b, sizes=(1000, 333))

    p.send_json({"type": "record", "action": "stop"})
    stopped = next_json(p)
    assert stopped["state"] == "stopped" and stopped["recordingId"] == rid, stopped
    assert stopped["bytes"] == len(a) + len(b), stopped
    assert "reason" not in stopped, stopped
    assert next_json(f2) == stopped

    rec = Path(relay.data_dir) / "sessions" / sid / "recordings"
    assert sorted(x.name for x in rec.iterdir()) == sorted([f"{rid}.webm", f"{rid}.2.webm", f"{rid}.index", f"{rid}.json"]), \
        "one recording, two parts"
    assert (rec / f"{rid}.webm").read_bytes() == a, "part 1 equals the first stream"
    assert (rec / f"{rid}.2.webm").read_bytes() == b, "part 2 equals the stream after the reconnect"
    ffmpeg_decodes_silently(rec / f"{rid}.webm")
    ffmpeg_decodes_silently(rec / f"{rid}.2.webm")

    index = (rec / f"{rid}.index").read_text().splitlines()
    assert [l.split()[:2] for l in index if l.startswith("G ")] == [["G", "2"]], "the gap is in the index"
    assert any(l.startswith("C 2 ") for l in index), "part 2's clusters are indexed"
    manifest = json.loads((rec / f"{rid}.json").read_text())
    assert manifest["state"] == "complete" and [x["number"] for x in manifest["parts"]] == [1, 2], manifest
    p1, p2 = manifest["parts"]
    assert p1["startMs"] == 0 and p2["startMs"] >= p1["startMs"] + p1["durationMs"], \
        f"part 2 lies after part 1 on the recording's timeline: {manifest['parts']}"

    log = events(relay, sid)
    names = [e["event"] for e in log]
    for name in ("recording_started", "recording_paused", "recording_resumed", "recording_part", "recording_stopped"):
        assert name in names, f"{name} missing from session.jsonl: {names}"
    assert names.index("recording_paused") < names.index("recording_resumed") < names.index("recording_part") < names.index("recording_stopped")
    paused = next(e for e in log if e["event"] == "recording_paused")
    resumed = next(e for e in log if e["event"] == "recording_resumed")
    part = next(e for e in log if e["event"] == "recording_part")
    assert paused["recordingId"] == resumed["recordingId"] == part["recordingId"] == rid
    assert paused["role"] == "family" and resumed["awayMs"] >= 0
    assert part["part"] == 2 and part["startMs"] == p2["startMs"]
    p.close()
    f2.close()


def test_kill_9_after_a_reconnect_keeps_the_closed_part_whole_and_cuts_the_open_one(relay_factory):
    """Part 1 was closed (cut to its last complete element, synced) when the family came back;
    a kill -9 while part 2 is written must not cost part 1 anything: it stays byte for byte what
    the camera sent, its last cluster included. Part 2 is cut at its last cluster start."""
    relay = relay_factory()
    p, f, s = relay.pair()
    sid = s["sessionId"]
    give_consent(p, f)
    rid = start_recording(p, f)
    a = WEBM_A.read_bytes()
    send_camera(p, f, a, sizes=GRACE_SIZES)
    f.abort()
    assert next_json(p) == {"type": "peer", "event": "left", "role": "family"}
    f2, _ = relay.join(sid, s["inviteToken"], "family-again", role="family", peer_present=True)
    assert next_json(f2) == {"type": "consent", "recording": True}
    assert next_json(f2)["state"] == "running"
    assert next_json(p) == {"type": "peer", "event": "joined", "role": "family"}
    send_camera(p, f2, a[:11500], sizes=1000)  # stops inside the cluster that starts at 10804
    rec = Path(relay.data_dir) / "sessions" / sid / "recordings"
    index = rec / f"{rid}.index"
    deadline = time.monotonic() + 10
    while not (index.exists() and any(line.startswith("C 2 10804") for line in index.read_text().splitlines())):
        assert time.monotonic() < deadline, "the index never showed part 2's cluster at 10804 (synced once a second)"
        time.sleep(0.05)
    relay.kill()
    relay.start()
    manifest = json.loads((rec / f"{rid}.json").read_text())
    assert manifest["state"] == "interrupted", manifest
    assert (rec / f"{rid}.webm").read_bytes() == a, "the closed part lost bytes in recovery"
    assert len((rec / f"{rid}.2.webm").read_bytes()) == 10804, "the open part is cut at its last cluster start"
    assert [pt["bytes"] for pt in manifest["parts"]] == [len(a), 10804], manifest["parts"]
    ffmpeg_decodes_silently(rec / f"{rid}.webm")
    ffmpeg_decodes_silently(rec / f"{rid}.2.webm")
    assert any(line.startswith("C 1 ") for line in index.read_text().splitlines()), "part 1's index lines stay"


def test_family_not_back_within_the_grace_stops_the_recording(relay_factory):
    relay = relay_factory(["--reconnect-grace", "1s"])
    p, f, s = relay.pair()
    sid = s["sessionId"]
    give_consent(p, f)
    rid = start_recording(p, f)
    # A live WebM (unknown-size Segment, as browsers' MediaRecorder writes), up to a cluster start.
    data = WEBM_B.read_bytes()[:11113]
    frames = send_camera(p, f, data, sizes=(1000,))
    f.abort()
    assert next_json(p) == {"type": "peer", "event": "left", "role": "family"}
    stopped = next_json(p, timeout=15)  # the grace (1 s) runs out on the server's one-second tick
    assert stopped == {"type": "recording", "state": "stopped", "recordingId": rid, "bytes": len(data),
                       "frames": frames, "durationMs": stopped.get("durationMs"),
                       "reason": "grace expired"}, stopped
    assert stopped["durationMs"] > 0, stopped
    rec = Path(relay.data_dir) / "sessions" / sid / "recordings"
    assert json.loads((rec / f"{rid}.json").read_text())["state"] == "complete"
    assert (rec / f"{rid}.webm").read_bytes() == data
    ffmpeg_decodes_silently(rec / f"{rid}.webm")
    final = [e for e in events(relay, sid) if e["event"] == "recording_stopped"]
    assert len(final) == 1 and final[0]["reason"] == "grace expired" and final[0]["role"] == "family", final

    # The family comes back too late: the old recording stays stopped; the practitioner may start anew.
    f2, _ = relay.join(sid, s["inviteToken"], "family-late", role="family", peer_present=True)
    assert next_json(f2) == {"type": "consent", "recording": True}, "consent stands after the recording stopped"
    assert next_json(p) == {"type": "peer", "event": "joined", "role": "family"}
    p.send_json({"type": "record", "action": "stop", "id": 7})
    assert p.recv_error("not_recording")["id"] == 7
    assert start_recording(p, f2) != rid
    p.close()
    f2.close()


def record_then_stop_the_relay(relay, child_agreed: bool = False) -> tuple[dict, str]:
    """A session whose family consented and whose practitioner recorded WEBM_A, then stopped;
    the relay is stopped (SIGTERM) after. Returns the session and the recording id."""
    p, f, s = relay.pair()
    give_consent(p, f, child_agreed=child_agreed)
    rid = start_recording(p, f)
    send_camera(p, f, WEBM_A.read_bytes(), sizes=GRACE_SIZES)
    p.send_json({"type": "record", "action": "stop"})
    assert next_json(p)["state"] == "stopped"
    p.close()
    f.close()
    rc, _ = relay.stop()
    assert rc == 0, relay.log_text()[-2000:]
    return s, rid


def rejoin_after_a_withdrawal(relay, s: dict, rid: str) -> tuple:
    """Both sides join again; the practitioner can neither record (no consent) nor mark the
    deleted recording `rid`. Returns (practitioner, family)."""
    p, _ = relay.join(s["sessionId"], s["practitionerToken"], "practitioner", role="practitioner", peer_present=False)
    f, _ = relay.join(s["sessionId"], s["inviteToken"], "family", role="family", peer_present=True)
    assert next_json(p) == {"type": "peer", "event": "joined", "role": "family"}
    p.send_json({"type": "record", "action": "start", "id": "start"})
    assert p.recv_error("consent_required")["id"] == "start"
    p.send_json({"type": "mark", "recordingId": rid, "atMs": 1, "id": "mark"})
    assert p.recv_error("recording_not_found")["id"] == "mark", "a deleted recording cannot be marked after a restart"
    return p, f


def test_consent_and_recordings_survive_a_restart_and_withdrawal_does_too(relay_factory):
    relay = relay_factory()
    s, rid1 = record_then_stop_the_relay(relay, child_agreed=True)
    sid, invite, token = s["sessionId"], s["inviteToken"], s["practitionerToken"]
    relay.start()

    p, _ = relay.join(sid, token, "practitioner", role="practitioner", peer_present=False)
    f, _ = relay.join(sid, invite, "family", role="family", peer_present=True)
    assert next_json(f) == {"type": "consent", "recording": True, "childAgreed": True}, \
        "after a restart the family's page is told the consent it gave before"
    assert next_json(p) == {"type": "peer", "event": "joined", "role": "family"}
    p.send_json({"type": "mark", "recordingId": rid1, "atMs": 1500, "note": "before the restart", "id": "m1"})
    marked = next_json(p)
    assert marked.get("type") == "marked" and marked.get("recordingId") == rid1 and marked.get("id") == "m1", marked
    p.send_json({"type": "mark", "recordingId": "0123456789abcdef", "atMs": 1, "id": "m2"})
    assert p.recv_error("recording_not_found")["id"] == "m2"
    rid2 = start_recording(p, f)  # no new consent needed
    assert rid2 != rid1
    send_camera(p, f, WEBM_A.read_bytes()[:5000], sizes=GRACE_SIZES)
    p.send_json({"type": "record", "action": "stop"})
    stopped = next_json(p)
    assert stopped["state"] == "stopped" and stopped["recordingId"] == rid2, stopped
    assert next_json(f) == stopped

    f.send_json({"type": "consent", "recording": False})
    got = [next_json(f), next_json(f)]
    deleted = next(m for m in got if m.get("type") == "recording")
    assert deleted["state"] == "deleted" and set(deleted["recordingIds"]) == {rid1, rid2}, deleted
    p.send_json({"type": "mark", "recordingId": rid1, "atMs": 1, "id": "m3"})
    assert next_json(p)["type"] == "consent"
    deadline = time.monotonic() + 10
    while True:  # the deletion notice, then the refusal of the mark
        m = next_json(p, timeout=max(0.1, deadline - time.monotonic()))
        if m.get("type") == "error":
            assert m["code"] == "recording_not_found" and m["id"] == "m3", m
            break
    p.send_json({"type": "record", "action": "start", "id": "s1"})
    assert p.recv_error("consent_required")["id"] == "s1"
    p.close()
    f.close()

    # Withdrawal before a restart holds after it, until the family consents again.
    rc, _ = relay.stop()
    assert rc == 0
    relay.start()
    p, f = rejoin_after_a_withdrawal(relay, s, rid1)
    give_consent(p, f)
    start_recording(p, f)
    p.close()
    f.close()


def test_reconnect_grace_option_is_checked(vigrelay_bin, tmp_path):
    for bad in ("0s", "2", "soon", "2h"):
        out = serve_refused(vigrelay_bin, tmp_path, "--reconnect-grace", bad)
        assert out.returncode == 64 and "--reconnect-grace" in out.stderr, (bad, out.returncode, out.stderr)
    help_text = subprocess.run([str(vigrelay_bin), "serve", "--help"], capture_output=True, text=True, timeout=30).stdout
    assert "--reconnect-grace" in help_text


def test_a_recording_running_at_shutdown_is_logged_stopped_with_its_totals(relay_factory):
    """SIGTERM mid-recording: the recording is finished, and its `recording_stopped` event carries the
    same totals as a stop asked for (bytes, frames, durationMs, parts), with the reason."""
    relay = relay_factory()
    p, f, s = relay.pair()
    give_consent(p, f)
    rid = start_recording(p, f)
    data = WEBM_A.read_bytes()
    frames = send_camera(p, f, data, sizes=GRACE_SIZES)
    rc, _ = relay.stop()
    assert rc == 0, relay.log_text()[-2000:]
    [stopped] = [e for e in events(relay, s["sessionId"]) if e["event"] == "recording_stopped"]
    assert {k: stopped.get(k) for k in ("recordingId", "bytes", "frames", "parts", "reason")} == {
        "recordingId": rid, "bytes": len(data), "frames": frames, "parts": 1, "reason": "server shutdown"}, stopped
    manifest = json.loads((Path(relay.data_dir) / "sessions" / s["sessionId"] / "recordings" / f"{rid}.json").read_text())
    assert manifest["state"] == "complete" and stopped["durationMs"] == max(pt["startMs"] + pt["durationMs"] for pt in manifest["parts"]) > 0
    p.abort()
    f.abort()


def test_a_withdrawal_whose_deletion_did_not_run_is_finished_at_the_next_start(relay_factory):
    """The relay stopped after the family's withdrawal reached session.jsonl but before its
    recordings were deleted (made here by writing the withdrawal while the relay is down): the
    next start deletes them before it listens, logs it, and a practitioner cannot record."""
    relay = relay_factory()
    s, rid = record_then_stop_the_relay(relay)
    sid = s["sessionId"]
    log = Path(relay.data_dir) / "sessions" / sid / "session.jsonl"
    with log.open("a") as out:
        out.write(json.dumps({"time": "2030-01-01T00:00:00.000Z", "event": "consent", "recording": False, "childAgreed": False}) + "\n")
    rec = Path(relay.data_dir) / "sessions" / sid / "recordings"
    assert (rec / f"{rid}.webm").exists()

    relay.start()
    assert not (rec / f"{rid}.webm").exists() and not (rec / f"{rid}.index").exists()
    assert json.loads((rec / f"{rid}.json").read_text())["state"] == "deleted"
    deleted = [e for e in events(relay, sid) if e["event"] == "recordings_deleted"]
    assert deleted and deleted[-1]["reason"] == "consent withdrawn" and deleted[-1]["recordingIds"] == [rid], deleted
    assert "a withdrawal that had not finished" in relay.log_text()
    p, f = rejoin_after_a_withdrawal(relay, s, rid)
    p.close()
    f.close()
