"""--retention: recordings of cases whose last session ended longer ago are deleted at start and
periodically, each deletion logged; sessions with someone connected, or of a case with someone
connected, are left alone."""
import json
import time
from pathlib import Path

from test_recording import FIXTURE
from vrtest import give_consent, run, send_camera, serve_refused, start_recording, stop_recording, wait_until


def record_fixture(p, f) -> str:
    """Consents, records the 4 s fixture WebM, stops; returns the recording id."""
    give_consent(p, f)
    rid = start_recording(p, f)
    send_camera(p, f, FIXTURE.read_bytes(), sizes=5000)
    stop_recording(p, f, rid)
    return rid


def manifest(relay, sid, rid) -> dict:
    return json.loads((Path(relay.data_dir) / "sessions" / sid / "recordings" / f"{rid}.json").read_text())


def events(relay, sid) -> list[dict]:
    path = Path(relay.data_dir) / "sessions" / sid / "session.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_periodic_sweep_deletes_ended_sessions_and_spares_connected_ones(relay_factory):
    relay = relay_factory(["--retention", "1s"])
    p_live, f_live, live = relay.pair()
    rid_live = record_fixture(p_live, f_live)
    p, f, ended = relay.pair()
    rid = record_fixture(p, f)
    p.close()
    f.close()

    def deletions():
        return [e for e in events(relay, ended["sessionId"]) if e["event"] == "recordings_deleted"]
    # The deletion is logged after the files are gone and the manifest says so.
    wait_until(deletions, 15, "retention to delete the ended session's recording and log it")
    assert deletions()[-1]["reason"] == "retention" and deletions()[-1]["recordingIds"] == [rid], deletions()
    assert manifest(relay, ended["sessionId"], rid)["state"] == "deleted"
    rec = Path(relay.data_dir) / "sessions" / ended["sessionId"] / "recordings"
    assert sorted(p.name for p in rec.iterdir()) == [f"{rid}.json"], "media and index are gone, the manifest stays"
    assert "retention: deleted" in relay.log_text()
    metrics_token = relay.metrics_token()
    wait_until(lambda: relay.metrics(metrics_token)['vigrelay_recordings_deleted_total{reason="retention"}'] == 1, 10,
               "GET /metrics to count the one recording retention deleted")

    # The connected session stopped recording before the other one ended, so the sweep that
    # deleted that one found this one due as well: it is kept only because someone is connected.
    assert manifest(relay, live["sessionId"], rid_live)["state"] == "complete"
    assert (Path(relay.data_dir) / "sessions" / live["sessionId"] / "recordings" / f"{rid_live}.webm").exists()
    assert events(relay, live["sessionId"])[0]["event"] == "created", "the log starts when the session is created"
    joined = [e for e in events(relay, live["sessionId"]) if e["event"] == "joined"]
    assert {e["role"] for e in joined} == {"practitioner", "family"}, "joins are in the session's event log"
    p_live.close()
    f_live.close()


def ended_and_stopped(relay) -> tuple[str, str, float]:
    """A session with one recording that both sides left, then the relay stopped; returns the
    session id, the recording id and when the session ended."""
    p, f, s = relay.pair()
    rid = record_fixture(p, f)
    p.close()
    f.close()
    sid = s["sessionId"]
    wait_until(lambda: events(relay, sid)[-1]["event"] == "left" and len([e for e in events(relay, sid) if e["event"] == "left"]) == 2,
               10, "both leaves to be logged")
    assert relay.stop()[0] == 0
    return sid, rid, time.time()


def test_sweep_at_start_runs_before_the_server_listens(relay_factory):
    relay = relay_factory()
    sid, rid, ended_at = ended_and_stopped(relay)

    relay.extra_args = ["--retention", "1d"]
    relay.start()
    assert manifest(relay, sid, rid)["state"] == "complete", "a session that ended moments ago is kept"
    assert relay.stop()[0] == 0

    # The session must have ended more than a second before the next start.
    wait_until(lambda: time.time() > ended_at + 1.5, 5, "the retention period to pass")
    relay.extra_args = ["--retention", "1s"]
    relay.start()
    # Ready means listening: the sweep at start has already run.
    assert manifest(relay, sid, rid)["state"] == "deleted"
    assert not (Path(relay.data_dir) / "sessions" / sid / "recordings" / f"{rid}.webm").exists()
    assert any(e["event"] == "recordings_deleted" and e["reason"] == "retention" for e in events(relay, sid))
    assert relay.metrics(relay.metrics_token())['vigrelay_recordings_deleted_total{reason="retention"}'] == 1


def test_a_recording_left_unfinished_keeps_its_session_and_the_operator_is_told(relay_factory):
    """A recording whose recovery failed at start stays marked `recording`, so retention cannot
    delete its session (a running recording looks the same): every sweep says so in the server's
    log, naming the session and the recording, and the practitioner's DELETE still deletes it."""
    relay = relay_factory()
    sid, rid, ended_at = ended_and_stopped(relay)
    # As a crash mid-recording leaves it; and recovery cannot write the repaired index (a directory
    # stands in its way here, as a full disk would).
    path = Path(relay.data_dir) / "sessions" / sid / "recordings" / f"{rid}.json"
    m = json.loads(path.read_text())
    m["state"] = "recording"
    path.write_text(json.dumps(m))
    index = path.parent / f"{rid}.index"
    index.unlink()
    index.mkdir()
    wait_until(lambda: time.time() > ended_at + 1.5, 5, "the retention period to pass")

    relay.extra_args = ["--retention", "1s"]
    relay.start()
    assert "interrupted recording could not be recovered" in relay.log_text()
    held = "retention: a session past its retention is kept because a recording of it is still marked as being recorded"
    assert held in relay.log_text() and sid in relay.log_text() and rid in relay.log_text(), relay.log_text()[-2000:]
    assert manifest(relay, sid, rid)["state"] == "recording"
    wait_until(lambda: relay.log_text().count(held) >= 2, 10, "the next sweep to say so again")

    index.rmdir()  # the operator clears the way; the recording still says `recording`
    token = relay.token("alice")
    deleted = relay.http("DELETE", f"/v1/sessions/{sid}/recordings", headers={"Authorization": f"Bearer {token}"})
    assert deleted.status == 200 and deleted.json() == {"deleted": [rid]}, deleted
    assert manifest(relay, sid, rid)["state"] == "deleted"
    assert sorted(p.name for p in path.parent.iterdir()) == [f"{rid}.json"]


def test_a_case_is_kept_while_one_of_its_sessions_is_in_use(relay_factory):
    """Retention counts from a case's last session (the practitioner's caseRef): an ended session
    whose case has another session connected is kept, while a session of no case that ended later
    is deleted by the same sweep; once the case's last session ends, its recordings go too."""
    relay = relay_factory(["--retention", "1s"])
    p, f, first = relay.pair(body={"caseRef": "fam-042", "cycle": 1, "purpose": "filming"})
    rid = record_fixture(p, f)
    p.close()
    f.close()
    p_next, f_next, _ = relay.pair(body={"caseRef": "fam-042", "cycle": 1, "purpose": "review"})
    p_other, f_other, other = relay.pair()
    record_fixture(p_other, f_other)
    p_other.close()
    f_other.close()

    def deleted(sid):
        return [e for e in events(relay, sid) if e["event"] == "recordings_deleted"]
    wait_until(lambda: deleted(other["sessionId"]), 15, "retention to delete the session of no case")
    # That sweep found the first session's case past its time as well (nothing was logged in the
    # review since it joined, before the other session ended): only the connection keeps it.
    assert manifest(relay, first["sessionId"], rid)["state"] == "complete"
    assert not deleted(first["sessionId"])

    p_next.close()
    f_next.close()
    wait_until(lambda: deleted(first["sessionId"]), 15, "retention to delete the case's recordings once it ended")
    event = deleted(first["sessionId"])[-1]
    assert event["reason"] == "retention" and event["recordingIds"] == [rid], event
    assert event["caseLastActiveAt"] > events(relay, first["sessionId"])[0]["time"], "the case's last activity, not the session's"
    assert manifest(relay, first["sessionId"], rid)["state"] == "deleted"


def test_a_case_counts_from_its_last_session_across_restarts(relay_factory):
    """At start the sweep reads the logs alone: a filming that ended past the retention period is
    kept because a later session of its case is within it, and deleted once that one is past too."""
    relay = relay_factory()
    p, f, first = relay.pair(body={"caseRef": "fam-042"})
    rid = record_fixture(p, f)
    p.close()
    f.close()
    sid = first["sessionId"]
    wait_until(lambda: len([e for e in events(relay, sid) if e["event"] == "left"]) == 2, 10, "both leaves to be logged")
    ended_at = time.time()
    wait_until(lambda: time.time() > ended_at + 6, 8, "the first session to be past a 5 s retention")
    p_next, f_next, _ = relay.pair(body={"caseRef": "fam-042"})
    p_next.close()
    f_next.close()
    next_at = time.time()
    assert relay.stop()[0] == 0

    relay.extra_args = ["--retention", "5s"]
    relay.start()
    assert time.time() < next_at + 5, "the restart took longer than the retention period: the check below means nothing"
    assert manifest(relay, sid, rid)["state"] == "complete", "its case had a session within the period"
    assert relay.stop()[0] == 0

    wait_until(lambda: time.time() > next_at + 5.5, 8, "the case's last session to be past the period")
    relay.start()
    assert manifest(relay, sid, rid)["state"] == "deleted"


def test_retention_is_on_by_default_and_keep_turns_it_off(relay_factory):
    relay = relay_factory()
    assert "retention: a case's recordings and clips are deleted once its last session ended more than 5184000 s ago" in relay.log_text()
    assert relay.stop()[0] == 0
    relay.extra_args = ["--retention", "keep"]
    relay.start()
    assert "retention off (--retention keep)" in relay.log_text()


def test_retention_flag_is_checked(relay_factory):
    relay = relay_factory(start=False)
    out = serve_refused(relay.bins.vigrelay, relay.data_dir, "--retention", "soon")
    assert out.returncode == 64 and "--retention 'soon' is not a duration" in out.stderr and ", or keep" in out.stderr, out.stderr


def test_the_preview_shows_what_a_retention_would_delete_and_deletes_nothing(relay_factory, vigrelay_bin):
    """`vigrelay retention`: a case's recorded session shows once the case was last active before the
    period, with its practitioner, case, recordings and size; nothing is deleted until a relay is
    started with that --retention, which deletes exactly what the preview listed."""
    relay = relay_factory(["--retention", "keep"])
    p, f, recorded = relay.pair(body={"caseRef": "fam-1"})
    rid = record_fixture(p, f)
    p.close()
    f.close()
    p2, f2, other = relay.pair(body={"caseRef": "fam-1"})  # same case, nothing recorded
    p2.close()
    f2.close()
    media = Path(relay.data_dir) / "sessions" / recorded["sessionId"] / "recordings" / f"{rid}.webm"

    def preview(*args: str):
        out = run([vigrelay_bin, "retention", "--data-dir", relay.data_dir, *args])
        assert out.returncode == 0, out.stderr
        return out.stdout

    assert "# nothing would be deleted" in preview("--retention", "1d")
    assert json.loads(preview("--retention", "1d", "--json"))["cases"] == []
    answer = wait_until(lambda: (a := json.loads(preview("--retention", "1s", "--json")))["cases"] and a, 10,
                        "the case to be due with --retention 1s")
    assert answer["retention"] == "1s" and answer["bytes"] == len(FIXTURE.read_bytes()), answer
    [case] = answer["cases"]
    assert case["practitioner"] == "alice" and case["caseRef"] == "fam-1", case
    assert case["sessionIds"] == [recorded["sessionId"]] and case["recordings"] == 1, case
    table = preview("--retention", "1s")
    assert "fam-1" in table and "1 case, 1 session, 1 recording, 14 KB of media" in table, table
    assert "nothing was deleted now" in table, table
    assert "retention deletes nothing" in preview("--retention", "keep")
    assert media.exists(), "the preview deletes nothing"
    bad = run([vigrelay_bin, "retention", "--data-dir", relay.data_dir, "--retention", "3x"])
    assert bad.returncode == 64 and "'3x' is not a duration" in bad.stderr, bad

    relay.stop()
    relay_factory(["--retention", "1s"], data_dir=relay.data_dir)
    assert not media.exists(), "a relay started with that retention deleted it before listening"
    assert (Path(relay.data_dir) / "sessions" / other["sessionId"] / "session.json").exists()
    assert "# nothing would be deleted" in preview("--retention", "1s")

