"""Removing a mark over the real relay (docs/PROTOCOL.md, `unmark`): a stray mark made while
filming, or one to be marked again with another note. The practitioner is answered once the disk
writer has logged the removal and erased the note; the summary no longer lists it; the note is gone
from the disk; a mark made before a restart can be removed after it; bad requests get their codes and
leave the connection open."""

from __future__ import annotations

import json
from pathlib import Path

from vrtest import next_json, send_camera, give_consent, start_recording, stop_recording, bearer

FIXTURE = Path(__file__).resolve().parent.parent / "VigRelayCoreTests" / "Fixtures" / "testsrc-4s.webm"


def recorded(relay) -> dict:
    """A session with one finished recording of the 4 s fixture; both sides still connected."""
    p, f, s = relay.pair()
    give_consent(p, f)
    rid = start_recording(p, f)
    send_camera(p, f, FIXTURE.read_bytes(), 1000)
    stop_recording(p, f, rid)
    return {"p": p, "f": f, "sid": s["sessionId"], "rid": rid}


def mark(p, rid: str, at_ms: int, note: str) -> str:
    p.send_json({"type": "mark", "recordingId": rid, "atMs": at_ms, "note": note})
    marked = next_json(p)
    assert marked.get("type") == "marked", marked
    return marked["markId"]


def summary_marks(relay, sid: str) -> list[dict]:
    r = relay.http("GET", f"/v1/sessions/{sid}", headers=bearer(relay.token("alice")))
    assert r.status == 200, r
    return r.json()["marks"]


def log_events(relay, sid: str) -> list[dict]:
    return [json.loads(line) for line in (Path(relay.data_dir) / "sessions" / sid / "session.jsonl").read_text().splitlines()]


def test_a_removed_mark_is_gone_from_the_summary_and_its_note_from_the_disk(relay):
    r = recorded(relay)
    p, sid, rid = r["p"], r["sid"], r["rid"]
    stray, kept = mark(p, rid, 1200, "stray tap"), mark(p, rid, 2500, "she looks up")
    notes = Path(relay.data_dir) / "sessions" / sid / "recordings" / f"{rid}.marks"

    p.send_json({"type": "unmark", "recordingId": rid, "markId": stray, "id": "u1"})
    assert next_json(p) == {"type": "unmarked", "markId": stray, "recordingId": rid, "id": "u1"}
    # Answered once the removal is on disk: nothing to wait for.
    assert [(m["markId"], m["note"]) for m in summary_marks(relay, sid)] == [(kept, "she looks up")]
    text = notes.read_text()
    assert "stray tap" not in text and stray not in text and "she looks up" in text
    [removal] = [e for e in log_events(relay, sid) if e["event"] == "mark_removed"]
    assert (removal["recordingId"], removal["markId"]) == (rid, stray)
    assert "stray tap" not in (Path(relay.data_dir) / "sessions" / sid / "session.jsonl").read_text()

    # Removed already, an id the relay never gave, the family, malformed: each its code, nothing removed.
    p.send_json({"type": "unmark", "recordingId": rid, "markId": stray})
    assert next_json(p)["code"] == "mark_not_found"
    p.send_json({"type": "unmark", "recordingId": rid, "markId": "0123456789abcdef"})
    assert next_json(p)["code"] == "mark_not_found"
    r["f"].send_json({"type": "unmark", "recordingId": rid, "markId": kept})
    assert next_json(r["f"])["code"] == "not_allowed"
    p.send_json({"type": "unmark", "recordingId": rid, "markId": "../" + kept})
    assert next_json(p)["code"] == "invalid_message"
    p.send_json({"type": "unmark", "recordingId": "0123456789abcdef", "markId": kept})
    assert next_json(p)["code"] == "recording_not_found"
    p.send_json({"type": "ping", "id": 1})
    assert next_json(p) == {"type": "pong", "id": 1}, "the connection stays open"
    assert [m["markId"] for m in summary_marks(relay, sid)] == [kept]
    assert sum(e["event"] == "mark_removed" for e in log_events(relay, sid)) == 1
    p.close()
    r["f"].close()


def test_a_mark_is_in_the_summary_as_soon_as_it_is_answered(relay):
    """`marked` comes once the writer has kept the mark, so a page that reads the summary on it (the
    practitioner's, marking while watching) finds it there, however busy the writer is: here with a
    burst of a thousand marks (answered at once, before, most were not in the summary read after the
    last answer), each answered in turn with its message's id."""
    r = recorded(relay)
    p, sid, rid = r["p"], r["sid"], r["rid"]
    count = 1000
    for i in range(count):
        p.send_json({"type": "mark", "recordingId": rid, "atMs": 100 * i, "note": f"moment {i}", "id": i})
    first = next_json(p)
    assert (first.get("type"), first.get("id")) == ("marked", 0), first
    assert first["markId"] in [m["markId"] for m in summary_marks(relay, sid)], "the first mark answered is in the summary"
    answers = [first] + [next_json(p) for _ in range(count - 1)]
    assert [(a.get("type"), a.get("id")) for a in answers] == [("marked", i) for i in range(count)], answers
    listed = {m["markId"]: (m["atMs"], m["note"]) for m in summary_marks(relay, sid)}
    assert {a["markId"]: (100 * a["id"], f"moment {a['id']}") for a in answers} == listed
    p.close()
    r["f"].close()


def test_a_mark_made_before_a_restart_is_removed_after_it(relay_factory):
    relay = relay_factory()
    r = recorded(relay)
    sid, rid = r["sid"], r["rid"]
    first = mark(r["p"], rid, 800, "before the restart")
    r["p"].close()
    r["f"].close()
    relay.stop()
    relay.start()

    p, _ = relay.join(sid, relay.token("alice"), "practitioner")
    p.send_json({"type": "unmark", "recordingId": rid, "markId": first})
    assert next_json(p) == {"type": "unmarked", "markId": first, "recordingId": rid}
    assert summary_marks(relay, sid) == []
    assert "before the restart" not in (Path(relay.data_dir) / "sessions" / sid / "recordings" / f"{rid}.marks").read_text()
    p.close()


def test_a_withdrawal_leaves_no_mark_to_remove(relay):
    r = recorded(relay)
    p, f, rid = r["p"], r["f"], r["rid"]
    m = mark(p, rid, 500, "gone with the film")
    give_consent(p, f, recording=False)
    deleted = next_json(p, timeout=15)
    assert deleted.get("state") == "deleted" and rid in deleted["recordingIds"], deleted
    p.send_json({"type": "unmark", "recordingId": rid, "markId": m})
    assert next_json(p)["code"] == "recording_not_found"
    p.close()
    f.close()


def test_a_marks_note_is_changed_in_place(relay):
    """A typo, or more to say: `note` gives a mark a new note. The practitioner is answered once the
    note file holds the new note and not the old one; the log says a note changed, not what it says."""
    r = recorded(relay)
    p, sid, rid = r["p"], r["sid"], r["rid"]
    first, other = mark(p, rid, 1200, "she hands him teh block"), mark(p, rid, 2500, "he laughs")
    notes = Path(relay.data_dir) / "sessions" / sid / "recordings" / f"{rid}.marks"

    p.send_json({"type": "note", "recordingId": rid, "markId": first, "note": "she hands him the block", "id": "n1"})
    assert next_json(p) == {"type": "noted", "markId": first, "recordingId": rid, "id": "n1"}
    assert [(m["markId"], m["atMs"], m["note"]) for m in summary_marks(relay, sid)] == \
        [(first, 1200, "she hands him the block"), (other, 2500, "he laughs")]
    assert "teh block" not in notes.read_text()
    [changed] = [e for e in log_events(relay, sid) if e["event"] == "mark_noted"]
    assert (changed["recordingId"], changed["markId"]) == (rid, first) and "block" not in json.dumps(changed)

    # An empty note leaves the mark without one; a removed mark, or the family, changes nothing.
    p.send_json({"type": "note", "recordingId": rid, "markId": other, "note": ""})
    assert next_json(p)["type"] == "noted"
    assert [m["note"] for m in summary_marks(relay, sid)] == ["she hands him the block", ""]
    p.send_json({"type": "unmark", "recordingId": rid, "markId": other})
    assert next_json(p)["type"] == "unmarked"
    p.send_json({"type": "note", "recordingId": rid, "markId": other, "note": "back again?"})
    assert next_json(p)["code"] == "mark_not_found"
    r["f"].send_json({"type": "note", "recordingId": rid, "markId": first, "note": "x"})
    assert next_json(r["f"])["code"] == "not_allowed"
    assert [m["markId"] for m in summary_marks(relay, sid)] == [first] and "back again" not in notes.read_text()
    p.close()
    r["f"].close()


def test_a_clips_note_is_changed_in_place(relay):
    """`PATCH .../clips/{clipId}` with `{"note":...}`: answered once the clip's record holds the new
    note and not the old one; the log says a note changed, not what it says."""
    r = recorded(relay)
    sid, rid = r["sid"], r["rid"]
    token = relay.token("alice")
    made = relay.http("POST", f"/v1/sessions/{sid}/clips", headers=bearer(token),
                      body=json.dumps({"recordingId": rid, "fromMs": 0, "toMs": 3500, "note": "turn-takign"}).encode())
    assert made.status == 201, made
    clip_id = made.json()["clipId"]
    path = f"/v1/sessions/{sid}/clips/{clip_id}"
    before = relay.http("GET", path, headers=bearer(token)).body
    changed = relay.http("PATCH", path, headers=bearer(token), body=json.dumps({"note": "turn-taking"}).encode())
    assert changed.status == 200 and changed.json()["note"] == "turn-taking" and changed.json()["clipId"] == clip_id, changed
    summary = relay.http("GET", f"/v1/sessions/{sid}", headers=bearer(token)).json()
    assert [c["note"] for c in summary["clips"]] == ["turn-taking"]
    record = (Path(relay.data_dir) / "sessions" / sid / "clips" / f"{clip_id}.json").read_text()
    assert "turn-takign" not in record and "turn-taking" in record
    [logged] = [e for e in log_events(relay, sid) if e["event"] == "clip_noted"]
    assert logged["clipId"] == clip_id and "turn" not in json.dumps(logged)
    assert before and relay.http("GET", path, headers=bearer(token)).body == before, "the clip itself is as it was"

    bad = relay.http("PATCH", path, headers=bearer(token), body=b'{"note":7}')
    assert bad.status == 400 and bad.json()["code"] == "invalid_request"
    unknown = relay.http("PATCH", f"/v1/sessions/{sid}/clips/{'0' * 16}", headers=bearer(token), body=b'{"note":"x"}')
    assert unknown.status == 404 and unknown.json()["code"] == "clip_not_found"
    r["p"].close()
    r["f"].close()

