"""The recording HTTP endpoints over the real relay (docs/PROTOCOL.md, "Recordings over HTTP"):
session summary, downloads with Range, clips cut at keyframes, DELETE, who may see what, and that a
client who stops reading a download costs other sessions nothing.

Recordings are made the way test_recording.py makes them: a real WebM made by ffmpeg is streamed
as the family's camera and recorded by the relay."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import pytest

from vrtest import (CAMERA, F_INIT, F_KEY, SCREEN, HTTPConn, assert_error, bearer, give_consent, media_frame, patterned, process_rss_kib, run, send_camera,
                    start_recording, stop_recording, wait_until)

HEX16 = "0123456789abcdef"


# --- fixtures and helpers ----------------------------------------------------------------

def _make_webm(path: Path, seconds: int, size: str) -> bytes:
    """A VP8 WebM with a keyframe (and so a Cluster) every second, made by ffmpeg."""
    p = subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc=size={size}:rate=10", "-t", str(seconds),
                        "-c:v", "libvpx", "-g", "10", "-b:v", "60k", "-fflags", "+bitexact", str(path)],
                       capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert p.returncode == 0, f"ffmpeg could not make the test WebM: {p.stderr}"
    return path.read_bytes()


@pytest.fixture(scope="session")
def webm12(tmp_path_factory) -> bytes:
    """12 s at 10 fps, a keyframe and a Cluster every second: the recording lasts until its last
    block, 11900 ms."""
    return _make_webm(tmp_path_factory.mktemp("webm") / "t12.webm", 12, "160x120")


@pytest.fixture(scope="session")
def webm70(tmp_path_factory) -> bytes:
    """70 s, tiny, keyframe every second: long enough for a span over 60 s."""
    return _make_webm(tmp_path_factory.mktemp("webm") / "t70.webm", 70, "64x48")


def record(relay, data: bytes, labels: dict | None = None, size: int = 4096) -> dict:
    """A session of its own with one finished recording of `data`; peers still connected."""
    tok = relay.token("alice")
    s = relay.create_session(tok, labels)
    p, _ = relay.join(s["sessionId"], tok, "practitioner")
    f, _ = relay.join(s["sessionId"], s["inviteToken"], "family")
    assert p.recv_json() == {"type": "peer", "event": "joined", "role": "family"}
    give_consent(p, f)
    rid = start_recording(p, f)
    frames = send_camera(p, f, data, size)
    stopped = stop_recording(p, f, rid)
    return {"sid": s["sessionId"], "token": tok, "invite": s["inviteToken"], "rid": rid, "p": p, "f": f,
            "frames": frames, "stopped": stopped, "data": data}


def rec_path(sid: str, rid: str, part: int | None = None) -> str:
    return f"/v1/sessions/{sid}/recordings/{rid}" + (f"?part={part}" if part is not None else "")


def get(relay, path: str, token: str | None, headers: dict | None = None, method: str = "GET"):
    h = dict(headers or {})
    if token is not None:
        h.update(bearer(token))
    if method == "HEAD":
        conn = HTTPConn(relay.port, relay.ssl_ctx)
        try:
            return conn.request("HEAD", path, h)
        finally:
            conn.close()
    return relay.http(method, path, headers=h)


def post_clip(relay, rec: dict, body) -> object:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return relay.http("POST", f"/v1/sessions/{rec['sid']}/clips", headers=bearer(rec["token"]), body=raw)


def ffprobe_span_s(path: Path) -> float:
    """Seconds from the first packet's pts to the end of the last (the clip has no Duration element)."""
    out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v", "-show_entries", "packet=pts_time,duration_time",
                          "-of", "csv=p=0", str(path)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    rows = [line.split(",") for line in out.stdout.split() if line]
    pts = [float(r[0]) for r in rows]
    last_duration = float(rows[-1][1]) if len(rows[-1]) > 1 and rows[-1][1] not in ("", "N/A") else 0.1
    return max(pts) + last_duration - min(pts)


def ffmpeg_errors(path: Path) -> str:
    out = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-f", "null", "-"], capture_output=True, text=True, timeout=60)
    return out.stderr if out.returncode == 0 else f"exit {out.returncode}: {out.stderr}"


@pytest.fixture(scope="module")
def rec(relay, webm12):
    """One session with a finished recording of the 12 s WebM and a mark, shared by the read-only tests."""
    r = record(relay, webm12, labels={"caseRef": "fam-042", "cycle": 2, "purpose": "filming"})
    r["p"].send_json({"type": "mark", "recordingId": r["rid"], "atMs": 4200, "note": "lovely turn-taking"})
    marked = r["p"].recv_json()
    assert marked.get("type") == "marked", marked
    r["markId"] = marked["markId"]
    yield r
    r["p"].close()
    r["f"].close()


# --- summary -----------------------------------------------------------------------------

def test_summary_after_consent_record_mark_stop(relay, rec):
    # The mark is logged by the writer after the reply: wait (bounded) until the summary has it.
    summary = wait_until(lambda: (lambda r: r.json() if r.status == 200 and r.json()["marks"] else None)(
        get(relay, f"/v1/sessions/{rec['sid']}", rec["token"])), 10, "the mark in the summary")
    assert summary["sessionId"] == rec["sid"]
    assert (summary["caseRef"], summary["cycle"], summary["purpose"]) == ("fam-042", 2, "filming")
    assert summary["createdAt"].endswith("Z")
    assert summary["consent"]["recording"] is True and summary["consent"]["childAgreed"] is False
    by_type = summary["events"]["byType"]
    for event in ("consent", "recording_started", "recording_stopped", "mark"):
        assert by_type.get(event) == 1, summary["events"]
    assert summary["events"]["count"] == sum(by_type.values())
    assert summary["events"]["firstAt"] <= summary["events"]["lastAt"]

    [recording] = summary["recordings"]
    assert recording["recordingId"] == rec["rid"] and recording["state"] == "complete"
    assert recording["mediaType"] == "video/webm"
    assert recording["bytes"] == len(rec["data"]) == rec["stopped"]["bytes"]
    assert recording["frames"] == rec["frames"]
    assert recording["durationMs"] == 11900 == rec["stopped"]["durationMs"]
    assert recording["startedAt"] <= recording["stoppedAt"]
    assert recording["parts"] == [{"number": 1, "bytes": len(rec["data"]), "frames": rec["frames"], "durationMs": 11900, "startMs": 0}]
    [mark] = summary["marks"]
    assert {k: mark[k] for k in ("markId", "recordingId", "atMs", "note")} == {
        "markId": rec["markId"], "recordingId": rec["rid"], "atMs": 4200, "note": "lovely turn-taking"}
    assert summary["clips"] == [] or all(c["recordingId"] == rec["rid"] for c in summary["clips"])


def test_summary_of_a_session_without_recordings(relay):
    tok = relay.token("alice")
    s = relay.create_session(tok)
    r = get(relay, f"/v1/sessions/{s['sessionId']}", tok)
    assert r.status == 200, r
    body = r.json()
    assert body["recordings"] == [] and body["marks"] == [] and body["clips"] == []
    assert body["consent"] == {"recording": False}
    assert "caseRef" not in body


# --- downloads ---------------------------------------------------------------------------

def test_full_download_equals_the_bytes_sent(relay, rec):
    r = get(relay, rec_path(rec["sid"], rec["rid"]), rec["token"])
    assert r.status == 200, r
    assert r.body == rec["data"], "the download must equal the camera bytes sent"
    assert r.headers["content-type"] == "video/webm"
    assert r.headers["accept-ranges"] == "bytes"
    assert r.headers["content-length"] == str(len(rec["data"]))
    assert r.headers["cache-control"] == "no-store" and r.headers["x-content-type-options"] == "nosniff"
    assert get(relay, rec_path(rec["sid"], rec["rid"], 1), rec["token"]).body == rec["data"]


@pytest.mark.parametrize("spec, sl", [("bytes=0-99", slice(0, 100)), ("bytes=100-", slice(100, None)),
                                      ("bytes=-100", slice(-100, None)), ("bytes=70000-70099", slice(70000, 70100)),
                                      ("bytes=5-999999999", slice(5, None))])
def test_range_requests(relay, rec, spec, sl):
    data = rec["data"]
    r = get(relay, rec_path(rec["sid"], rec["rid"]), rec["token"], {"Range": spec})
    assert r.status == 206, r
    want = data[sl]
    assert r.body == want
    first = sl.start if sl.start >= 0 else len(data) + sl.start
    assert r.headers["content-range"] == f"bytes {first}-{first + len(want) - 1}/{len(data)}"
    assert r.headers["content-length"] == str(len(want))


def test_unsatisfiable_range_is_416(relay, rec):
    n = len(rec["data"])
    r = get(relay, rec_path(rec["sid"], rec["rid"]), rec["token"], {"Range": f"bytes={n}-"})
    assert_error(r, 416, "range_not_satisfiable")
    assert r.headers["content-range"] == f"bytes */{n}"


def test_head_gives_the_headers_of_a_get(relay, rec):
    r = get(relay, rec_path(rec["sid"], rec["rid"]), rec["token"], method="HEAD")
    assert r.status == 200 and r.body == b""
    assert r.headers["content-length"] == str(len(rec["data"])) and r.headers["content-type"] == "video/webm"


def test_keep_alive_works_after_streamed_bodies(relay, rec):
    conn = HTTPConn(relay.port, relay.ssl_ctx)
    try:
        h = bearer(rec["token"])
        assert conn.request("GET", rec_path(rec["sid"], rec["rid"]), h).body == rec["data"]
        assert conn.request("GET", rec_path(rec["sid"], rec["rid"]), {**h, "Range": "bytes=10-19"}).body == rec["data"][10:20]
        assert conn.request("HEAD", rec_path(rec["sid"], rec["rid"]), h).status == 200
        assert conn.request("GET", f"/v1/sessions/{rec['sid']}", h).json()["sessionId"] == rec["sid"]
        assert conn.request("GET", rec_path(rec["sid"], rec["rid"], 2), h).status == 404
        assert conn.request("GET", rec_path(rec["sid"], rec["rid"]), h).body == rec["data"]
    finally:
        conn.close()


@pytest.mark.parametrize("query", ["?part=2", "?part=0", "?part=1000", "?part=abc", "?part=", "?part=-1", "?part=1&part=1",
                                   "?part=0001"])
def test_absent_or_invalid_part_is_404(relay, rec, query):
    r = get(relay, f"/v1/sessions/{rec['sid']}/recordings/{rec['rid']}{query}", rec["token"])
    assert_error(r, 404, "recording_not_found")


@pytest.mark.parametrize("rid", ["0123456789ABCDEF", "0123456789abcde", "0123456789abcdef0", "..%2f..%2fsecret",
                                 "0123456789abcdeg", "0000000000000000", "%30123456789abcdef"])
def test_invalid_or_unknown_recording_id_is_404(relay, rec, rid):
    r = get(relay, f"/v1/sessions/{rec['sid']}/recordings/{rid}", rec["token"])
    if rid.startswith(".."):
        # lws resolves "../.." (after URL-decoding) before the API sees the path: still a 404.
        assert r.status == 404 and r.json()["code"] in ("recording_not_found", "not_found", "session_not_found"), r
    else:
        assert_error(r, 404, "recording_not_found")


# --- who may see what --------------------------------------------------------------------

def _every_endpoint(rec) -> list:
    sid, rid = rec["sid"], rec["rid"]
    clip_body = json.dumps({"recordingId": rid, "fromMs": 3000, "toMs": 5000}).encode()
    return [("GET", f"/v1/sessions/{sid}", None), ("GET", rec_path(sid, rid), None),
            ("POST", f"/v1/sessions/{sid}/clips", clip_body), ("GET", f"/v1/sessions/{sid}/clips/{HEX16}", None),
            ("DELETE", f"/v1/sessions/{sid}/recordings", None)]


def test_family_invite_is_403(relay, rec):
    for method, path, body in _every_endpoint(rec):
        r = relay.http(method, path, headers=bearer(rec["invite"]), body=body)
        body_json = assert_error(r, 403, "forbidden")
        assert rec["rid"] not in json.dumps(body_json)


def test_another_practitioner_gets_404_and_learns_nothing(relay, rec):
    bob = relay.token("bob")
    for method, path, body in _every_endpoint(rec):
        r = relay.http(method, path, headers=bearer(bob), body=body)
        assert_error(r, 404, "session_not_found")
        assert rec["rid"] not in r.body.decode()
    # The same answer as for a session that does not exist.
    unknown = relay.http("GET", "/v1/sessions/" + "0" * 32, headers=bearer(bob))
    assert unknown.json() == relay.http("GET", f"/v1/sessions/{rec['sid']}", headers=bearer(bob)).json()


def test_missing_or_bad_token_is_401(relay, rec, forged_token):
    for method, path, body in _every_endpoint(rec):
        assert_error(relay.http(method, path, body=body), 401, "unauthorized")
        assert_error(relay.http(method, path, headers=bearer(forged_token), body=body), 401, "unauthorized")
    assert get(relay, rec_path(rec["sid"], rec["rid"]), rec["token"]).status == 200, "nothing was deleted"


def test_wrong_methods_are_405(relay, rec):
    h = bearer(rec["token"])
    assert_error(relay.http("POST", f"/v1/sessions/{rec['sid']}", headers=h, body=b"{}"), 405, "method_not_allowed")
    assert_error(relay.http("GET", f"/v1/sessions/{rec['sid']}/recordings", headers=h), 405, "method_not_allowed")
    assert_error(relay.http("DELETE", rec_path(rec["sid"], rec["rid"]), headers=h), 405, "method_not_allowed")
    assert_error(relay.http("GET", f"/v1/sessions/{rec['sid']}/clips", headers=h), 405, "method_not_allowed")


# --- clips -------------------------------------------------------------------------------

def test_clip_of_3_to_10_s_plays_alone(relay, rec, tmp_path):
    r = post_clip(relay, rec, {"recordingId": rec["rid"], "fromMs": 3000, "toMs": 10000, "note": "shared smile"})
    assert r.status == 201, r
    clip = r.json()
    assert set(clip) == {"clipId", "recordingId", "fromMs", "toMs", "actualFromMs", "actualToMs", "bytes"}, clip
    assert clip["recordingId"] == rec["rid"] and (clip["fromMs"], clip["toMs"]) == (3000, 10000)
    assert (clip["actualFromMs"], clip["actualToMs"]) == (3000, 10000), "keyframes every second: the cut is exact"
    assert len(clip["clipId"]) == 16

    got = get(relay, f"/v1/sessions/{rec['sid']}/clips/{clip['clipId']}", rec["token"])
    assert got.status == 200, got
    assert got.headers["content-type"] == "video/webm" and got.headers["accept-ranges"] == "bytes"
    assert len(got.body) == clip["bytes"] < len(rec["data"])
    path = tmp_path / "clip.webm"
    path.write_bytes(got.body)
    assert ffmpeg_errors(path) == "", "the clip must decode without a single error"
    span = ffprobe_span_s(path)
    assert abs(span - 7.0) <= 1.0, f"clip plays {span} s, asked for 7 s"

    part = get(relay, f"/v1/sessions/{rec['sid']}/clips/{clip['clipId']}", rec["token"], {"Range": "bytes=100-4099"})
    assert part.status == 206 and part.body == got.body[100:4100], part
    assert part.headers["content-range"] == f"bytes 100-4099/{clip['bytes']}"

    record_file = Path(relay.data_dir) / "sessions" / rec["sid"] / "clips" / f"{clip['clipId']}.json"
    stored = json.loads(record_file.read_text())
    assert (stored["recordingId"], stored["fromMs"], stored["toMs"], stored["note"]) == (rec["rid"], 3000, 10000, "shared smile")
    log = (Path(relay.data_dir) / "sessions" / rec["sid"] / "session.jsonl").read_text()
    created = [json.loads(line) for line in log.splitlines() if '"clip_created"' in line]
    assert any(e["clipId"] == clip["clipId"] and e["fromMs"] == 3000 for e in created), log
    assert "shared smile" not in log, "the note is kept with the clip, not in the event log"

    summary = get(relay, f"/v1/sessions/{rec['sid']}", rec["token"]).json()
    listed = next(c for c in summary["clips"] if c["clipId"] == clip["clipId"])
    assert listed["note"] == "shared smile" and listed["bytes"] == clip["bytes"] and listed["actualToMs"] == 10000


def test_clip_to_the_end_of_the_recording_plays_alone(relay, rec, tmp_path):
    """The last cluster is in the clip, and so are the Cues ffmpeg wrote after it: players skip them."""
    r = post_clip(relay, rec, {"recordingId": rec["rid"], "fromMs": 8500, "toMs": 11900})
    assert r.status == 201, r
    clip = r.json()
    assert (clip["actualFromMs"], clip["actualToMs"]) == (8000, 11900)
    got = get(relay, f"/v1/sessions/{rec['sid']}/clips/{clip['clipId']}", rec["token"])
    path = tmp_path / "end.webm"
    path.write_bytes(got.body)
    assert ffmpeg_errors(path) == ""
    assert abs(ffprobe_span_s(path) - 4.0) <= 0.5


def test_an_excerpt_is_a_clip_kept_nowhere_and_says_its_span(relay, rec, tmp_path):
    """`?fromMs=&toMs=` on a recording: cut like a clip from the keyframe at or before fromMs, to
    toMs or the recording's end, its span in two headers; nothing is saved or logged for the owner."""
    sid, rid = rec["sid"], rec["rid"]
    before = get(relay, f"/v1/sessions/{sid}", rec["token"]).json()["clips"]
    got = get(relay, f"{rec_path(sid, rid)}?fromMs=4500&toMs=64500", rec["token"])
    assert got.status == 200, got
    assert (got.headers["x-vigrelay-from-ms"], got.headers["x-vigrelay-to-ms"]) == ("4000", "11900"), got.headers
    assert got.headers["content-type"] == "video/webm"
    path = tmp_path / "excerpt.webm"
    path.write_bytes(got.body)
    assert ffmpeg_errors(path) == "", "the excerpt must decode without a single error"
    assert abs(ffprobe_span_s(path) - 8.0) <= 0.5
    # The same bytes as a clip of the span it holds.
    clip = post_clip(relay, rec, {"recordingId": rid, "fromMs": 4000, "toMs": 11900}).json()
    assert get(relay, f"/v1/sessions/{sid}/clips/{clip['clipId']}", rec["token"]).body == got.body
    after = get(relay, f"/v1/sessions/{sid}", rec["token"]).json()["clips"]
    # (Listed by creation time, then id: clips of other tests made in the same second may sort after.)
    assert sorted(c["clipId"] for c in after) == sorted([c["clipId"] for c in before] + [clip["clipId"]]), "only the clip was saved"
    # Range reads, as a player makes them; HEAD gives the span too.
    part = get(relay, f"{rec_path(sid, rid)}?fromMs=4500&toMs=64500", rec["token"], {"Range": "bytes=10-99"})
    assert part.status == 206 and part.body == got.body[10:100], part
    head = get(relay, f"{rec_path(sid, rid)}?fromMs=0&toMs=3000", rec["token"], method="HEAD")
    assert head.status == 200 and (head.headers["x-vigrelay-from-ms"], head.headers["x-vigrelay-to-ms"]) == ("0", "3000"), head
    log = (Path(relay.data_dir) / "sessions" / sid / "session.jsonl").read_text()
    assert "fromMs=4500" not in log and '"toMs":64500' not in log, "the owner's excerpts are not logged"


@pytest.mark.parametrize("query, status, words", [
    ("fromMs=12000&toMs=20000", 400, "past the end"),
    ("fromMs=5000&toMs=4000", 400, "reversed or empty"),
    ("fromMs=1000", 400, "fromMs and toMs once each"),
    ("fromMs=1000&toMs=2000&part=1", 400, "and no part"),
    ("fromMs=-1&toMs=2000", 400, "whole milliseconds"),
    ("fromMs=0&toMs=60001", 400, "an excerpt is at most 60 s"),
])
def test_bad_excerpts_say_what_to_ask_for(relay, rec, query, status, words):
    r = get(relay, f"{rec_path(rec['sid'], rec['rid'])}?{query}", rec["token"])
    assert words in assert_error(r, status, "invalid_request")["message"], query


@pytest.mark.parametrize("span, words", [
    ((-1, 3000), "must not be negative"),
    ((5000, 5000), "reversed or empty"),
    ((6000, 5000), "reversed or empty"),
    ((9000, 12000), "past the end"),
    ((11900, 12000), "past the end"),
])
def test_bad_spans_are_400_with_their_message(relay, rec, span, words):
    r = post_clip(relay, rec, {"recordingId": rec["rid"], "fromMs": span[0], "toMs": span[1]})
    assert words in assert_error(r, 400, "invalid_request")["message"]


def test_span_longer_than_60_s_is_400(relay, webm70):
    r = record(relay, webm70, size=8192)
    try:
        assert r["stopped"]["durationMs"] >= 62000, r["stopped"]
        resp = post_clip(relay, r, {"recordingId": r["rid"], "fromMs": 1000, "toMs": 62000})
        assert "longer than 60 s" in assert_error(resp, 400, "invalid_request")["message"]
        ok = post_clip(relay, r, {"recordingId": r["rid"], "fromMs": 1000, "toMs": 61000})
        assert ok.status == 201, ok
    finally:
        r["p"].close()
        r["f"].close()


@pytest.mark.parametrize("body, words", [
    (b"not json", "JSON object"),
    (b"[1,2]", "JSON object"),
    (json.dumps({"fromMs": 0, "toMs": 1000}).encode(), "recordingId"),
    (json.dumps({"recordingId": 7, "fromMs": 0, "toMs": 1000}).encode(), "recordingId"),
    (json.dumps({"recordingId": "RID", "fromMs": "0", "toMs": 1000}).encode(), "fromMs"),
    (json.dumps({"recordingId": "RID", "fromMs": 0.5, "toMs": 1000}).encode(), "fromMs"),
    (json.dumps({"recordingId": "RID", "fromMs": True, "toMs": 1000}).encode(), "fromMs"),
    (json.dumps({"recordingId": "RID", "fromMs": 0}).encode(), "toMs"),
    (json.dumps({"recordingId": "RID", "fromMs": 0, "toMs": 1000, "note": 5}).encode(), "note"),
    (json.dumps({"recordingId": "RID", "fromMs": 0, "toMs": 1000, "note": "x" * 501}).encode(), "500"),
])
def test_malformed_clip_requests_are_400(relay, rec, body, words):
    r = post_clip(relay, rec, body.replace(b"RID", rec["rid"].encode()))
    assert words in assert_error(r, 400, "invalid_request")["message"]


def test_note_of_500_characters_is_accepted(relay, rec):
    r = post_clip(relay, rec, {"recordingId": rec["rid"], "fromMs": 1000, "toMs": 2000, "note": "é" * 500})
    assert r.status == 201, r


def test_a_note_is_counted_in_unicode_scalars_not_graphemes(relay, rec):
    """One grapheme of 10,001 scalars (a letter and its combining marks) is not one character."""
    heavy = "a" + "\u0301" * 10_000
    r = post_clip(relay, rec, {"recordingId": rec["rid"], "fromMs": 1000, "toMs": 2000, "note": heavy})
    assert "500" in assert_error(r, 400, "invalid_request")["message"]
    rec["p"].send_json({"type": "mark", "recordingId": rec["rid"], "atMs": 1, "note": heavy, "id": "heavy"})
    err = rec["p"].recv_error("invalid_message")
    assert err["id"] == "heavy" and "500" in err["message"], err


def test_a_summary_larger_than_one_write_arrives_whole(relay, webm12):
    """600 marks with notes of 500 four-byte characters: a summary of over 1.2 MB, several times what
    the relay writes in one go (256 KiB), arrives whole and the relay goes on serving."""
    r = record(relay, webm12)
    note = "\U0001F600" * 500
    for i in range(600):
        r["p"].send_json({"type": "mark", "recordingId": r["rid"], "atMs": i, "note": note, "id": i})
        assert r["p"].recv_json().get("type") == "marked"

    def whole():
        got = get(relay, f"/v1/sessions/{r['sid']}", r["token"])
        assert got.status == 200, got
        return got if len(got.json()["marks"]) == 600 else None
    summary = wait_until(whole, 30, "600 marks in the summary")
    assert len(summary.body) > 1_200_000
    assert sorted(m["atMs"] for m in summary.json()["marks"]) == list(range(600))
    assert all(m["note"] == note for m in summary.json()["marks"])
    assert get(relay, "/healthz", None).status == 200
    r["p"].close()
    r["f"].close()

@pytest.mark.parametrize("rid", ["0000000000000000", "0123456789ABCDEF", "../../secret"])
def test_clip_of_an_unknown_recording_is_404(relay, rec, rid):
    assert_error(post_clip(relay, rec, {"recordingId": rid, "fromMs": 0, "toMs": 1000}), 404, "recording_not_found")


@pytest.mark.parametrize("cid", ["0000000000000000", "0123456789ABCDEF", "short"])
def test_unknown_clip_is_404(relay, rec, cid):
    assert_error(get(relay, f"/v1/sessions/{rec['sid']}/clips/{cid}", rec["token"]), 404, "clip_not_found")


def test_clip_needs_webm_or_mp4(relay):
    data = patterned(50_000, 7)
    r = record(relay, data)
    try:
        assert get(relay, rec_path(r["sid"], r["rid"]), r["token"]).headers["content-type"] == "application/octet-stream"
        resp = post_clip(relay, r, {"recordingId": r["rid"], "fromMs": 0, "toMs": 1000})
        assert "WebM or fragmented MP4" in assert_error(resp, 400, "invalid_request")["message"]
    finally:
        r["p"].close()
        r["f"].close()


def test_clip_of_a_fragmented_mp4_recording_plays_alone(relay, tmp_path):
    """Safari records fragmented MP4: its page sends the init segment, then each fragment that starts
    with a keyframe in a frame flagged keyframe. A clip is cut at fragments and served as MP4."""
    source = tmp_path / "camera.mp4"
    p = subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=160x120:rate=10", "-t", "12",
                        "-c:v", "libx264", "-g", "10", "-bf", "0", "-b:v", "60k", "-fflags", "+bitexact",
                        "-movflags", "empty_moov+default_base_moof+frag_keyframe", str(source)],
                       capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert p.returncode == 0, f"ffmpeg could not make the test MP4: {p.stderr}"
    data = source.read_bytes()
    moofs = [at for kind, at in _top_boxes(data) if kind == "moof"]
    assert len(moofs) == 12, "a fragment per keyframe, one a second"
    tok = relay.token("alice")
    s = relay.create_session(tok)
    prac, _ = relay.join(s["sessionId"], tok, "practitioner")
    fam, _ = relay.join(s["sessionId"], s["inviteToken"], "family")
    assert prac.recv_json() == {"type": "peer", "event": "joined", "role": "family"}
    try:
        give_consent(prac, fam)
        rid = start_recording(prac, fam)
        pieces = [(F_INIT, data[:moofs[0]])] + [(F_KEY, data[a:b]) for a, b in zip(moofs, moofs[1:] + [len(data)])]
        for i, (flags, payload) in enumerate(pieces):
            fam.send_bytes(media_frame(CAMERA, flags, i, max(i - 1, 0) * 1_000_000, payload))
            prac.recv_binary()
        stop_recording(prac, fam, rid)
        rec = {"sid": s["sessionId"], "token": tok}

        r = post_clip(relay, rec, {"recordingId": rid, "fromMs": 3000, "toMs": 10000})
        assert r.status == 201, r
        clip = r.json()
        assert (clip["actualFromMs"], clip["actualToMs"]) == (3000, 10000), "keyframes every second: the cut is exact"
        got = get(relay, f"/v1/sessions/{rec['sid']}/clips/{clip['clipId']}", tok)
        assert got.status == 200 and got.headers["content-type"] == "video/mp4", got
        assert len(got.body) == clip["bytes"] < len(data)
        assert got.body == data[:moofs[0]] + data[moofs[3]:moofs[10]], "the init segment and the fragments at 3-9 s"
        path = tmp_path / "clip.mp4"
        path.write_bytes(got.body)
        assert ffmpeg_errors(path) == "", "the clip must decode without a single error"
        assert abs(ffprobe_span_s(path) - 7.0) <= 0.2
        # To the end (11 s by the frames' times, where the last fragment starts): the last fragment
        # is in, the mfra ffmpeg wrote after it is not.
        end = post_clip(relay, rec, {"recordingId": rid, "fromMs": 9500, "toMs": 11000}).json()
        assert (end["actualFromMs"], end["actualToMs"]) == (9000, 11000), end
        tail = get(relay, f"/v1/sessions/{rec['sid']}/clips/{end['clipId']}", tok).body
        assert tail == data[:moofs[0]] + data[moofs[9]:next(at for kind, at in _top_boxes(data) if kind == "mfra")]
        # An excerpt, as the page's watch asks for it: cut the same way, to the recording's end.
        excerpt = get(relay, f"{rec_path(rec['sid'], rid)}?fromMs=9500&toMs=69500", tok)
        assert excerpt.status == 200 and excerpt.headers["content-type"] == "video/mp4", excerpt
        assert (excerpt.headers["x-vigrelay-from-ms"], excerpt.headers["x-vigrelay-to-ms"]) == ("9000", "11000"), excerpt.headers
        assert excerpt.body == tail
    finally:
        prac.close()
        fam.close()


def _top_boxes(data: bytes):
    """(type, offset) of each top-level box of an MP4 file."""
    at = 0
    while at + 8 <= len(data):
        yield data[at + 4:at + 8].decode("latin1"), at
        at += int.from_bytes(data[at:at + 4], "big")


def test_clip_while_recording_is_409_and_the_download_gives_what_is_written(relay, webm12):
    p, f, s = relay.pair()
    rec = {"sid": s["sessionId"], "token": s["practitionerToken"]}
    give_consent(p, f)
    rid = start_recording(p, f)
    half = webm12[:50_000]
    send_camera(p, f, half)
    msg = assert_error(post_clip(relay, rec, {"recordingId": rid, "fromMs": 0, "toMs": 1000}), 409, "recording_in_progress")["message"]
    assert "stop the recording first" in msg
    # Written so far: a prefix of what was sent (the writer may still be a little behind).
    got = wait_until(lambda: (lambda r: r if r.status == 200 and len(r.body) == len(half) else None)(
        get(relay, rec_path(rec["sid"], rid), rec["token"])), 10, "the recording's bytes so far")
    assert got.body == half
    summary = get(relay, f"/v1/sessions/{rec['sid']}", rec["token"]).json()
    assert summary["recordings"][0]["state"] == "recording"
    stop_recording(p, f, rid)
    assert post_clip(relay, rec, {"recordingId": rid, "fromMs": 0, "toMs": 1000}).status == 201
    p.close()
    f.close()


def test_clip_must_lie_in_one_part(relay, webm12):
    """The camera restarts its stream mid-recording: a new init segment starts part 2."""
    p, f, s = relay.pair()
    rec = {"sid": s["sessionId"], "token": s["practitionerToken"]}
    give_consent(p, f)
    rid = start_recording(p, f)
    send_camera(p, f, webm12)
    send_camera(p, f, webm12)
    stop_recording(p, f, rid)
    summary = get(relay, f"/v1/sessions/{rec['sid']}", rec["token"]).json()
    parts = summary["recordings"][0]["parts"]
    assert [x["number"] for x in parts] == [1, 2], parts
    second = parts[1]["startMs"]
    assert second >= 11000
    assert get(relay, rec_path(rec["sid"], rid, 2), rec["token"]).body == webm12
    msg = assert_error(post_clip(relay, rec, {"recordingId": rid, "fromMs": 10000, "toMs": second + 1000}), 400, "invalid_request")["message"]
    assert "part" in msg and str(second) in msg
    inside = post_clip(relay, rec, {"recordingId": rid, "fromMs": second + 2000, "toMs": second + 5000})
    assert inside.status == 201, inside
    assert inside.json()["actualFromMs"] == second + 2000
    p.close()
    f.close()


# --- deletion ----------------------------------------------------------------------------

def test_delete_stops_and_deletes_everything_and_tells_both_peers(relay, webm12):
    r = record(relay, webm12)
    p, f, sid, tok = r["p"], r["f"], r["sid"], r["token"]
    first = r["rid"]
    clip = post_clip(relay, r, {"recordingId": first, "fromMs": 1000, "toMs": 3000})
    assert clip.status == 201, clip
    clip_id = clip.json()["clipId"]
    second = start_recording(p, f)  # still running when DELETE comes
    send_camera(p, f, webm12[:30_000])

    d = relay.http("DELETE", f"/v1/sessions/{sid}/recordings", headers=bearer(tok))
    assert d.status == 200, d
    assert d.json() == {"deleted": sorted([first, second])}
    for peer in (p, f):
        m = peer.recv_json(timeout=10)
        assert m == {"type": "recording", "state": "deleted", "recordingIds": sorted([first, second])}, m

    rec_dir = Path(relay.data_dir) / "sessions" / sid / "recordings"
    assert sorted(x.name for x in rec_dir.iterdir()) == sorted([f"{first}.json", f"{second}.json"]), "only manifests stay"
    assert list((Path(relay.data_dir) / "sessions" / sid / "clips").iterdir()) == []
    summary = get(relay, f"/v1/sessions/{sid}", tok).json()
    for entry in summary["recordings"]:
        assert entry["state"] == "deleted" and "bytes" not in entry and "parts" not in entry, entry
    assert summary["clips"] == [] and summary["consent"]["recording"] is True, "consent is not changed by DELETE"
    assert_error(get(relay, rec_path(sid, first), tok), 404, "recording_not_found")
    assert_error(get(relay, rec_path(sid, second), tok), 404, "recording_not_found")
    assert_error(get(relay, f"/v1/sessions/{sid}/clips/{clip_id}", tok), 404, "clip_not_found")
    log = [json.loads(line) for line in (Path(relay.data_dir) / "sessions" / sid / "session.jsonl").read_text().splitlines()]
    deleted = [e for e in log if e["event"] == "recordings_deleted"]
    assert deleted and deleted[-1]["reason"] == "request", deleted

    # Consent still stands: recording can start again; a second DELETE deletes that one only.
    third = start_recording(p, f)
    assert relay.http("DELETE", f"/v1/sessions/{sid}/recordings", headers=bearer(tok)).json() == {"deleted": [third]}
    p.close()
    f.close()


def _big_recording(relay, mib: int) -> dict:
    """A session with a finished non-WebM recording of `mib` MiB (the practitioner does not read)."""
    p, f, s = relay.pair()
    give_consent(p, f)
    rid = start_recording(p, f)
    data = patterned(mib << 20, 3)
    send_camera(None, f, data, sizes=1 << 20)
    # The relay reads the family's messages in order: once it answers this one, every frame before
    # it is with the writer, and the stop below comes after them.
    f.send_json({"type": "no-such-type"})
    f.recv_error("unknown_type", timeout=60)
    p.send_json({"type": "record", "action": "stop"})
    got = f.recv_json(timeout=60)
    assert got.get("state") == "stopped" and got["bytes"] == len(data), got
    return {"sid": s["sessionId"], "token": s["practitionerToken"], "rid": rid, "p": p, "f": f, "data": data}


def _stalled_download(relay, rec: dict) -> HTTPConn:
    """Requests the whole recording and reads only the response head."""
    conn = HTTPConn(relay.port, relay.ssl_ctx, rcvbuf=32 << 10)
    conn.send("GET", rec_path(rec["sid"], rec["rid"]), bearer(rec["token"]))
    status, headers = conn.read_head()
    assert status == 200 and int(headers["content-length"]) == len(rec["data"]), (status, headers)
    return conn


@pytest.mark.timeout(240)
def test_delete_cuts_off_a_download_in_flight(relay_factory):
    relay = relay_factory()
    big = _big_recording(relay, 24)
    conn = _stalled_download(relay, big)
    try:
        d = relay.http("DELETE", f"/v1/sessions/{big['sid']}/recordings", headers=bearer(big["token"]))
        assert d.status == 200, d
        got = conn.read_to_eof(timeout=20)
        assert got < len(big["data"]), f"the download went on to the end ({got} bytes) after its file was deleted"
    finally:
        conn.close()
        big["p"].abort()
        big["f"].close()


@pytest.mark.timeout(240)
def test_revoking_the_token_cuts_off_its_download_in_flight(relay_factory):
    """A stolen practitioner token stops reading a recording once it is revoked, not only starting
    one; a token issued afterwards downloads it whole."""
    relay = relay_factory()
    big = _big_recording(relay, 24)
    conn = _stalled_download(relay, big)
    try:
        out = run([relay.bins.vigrelay, "token", "revoke", "practitioner", "--id", "alice", "--data-dir", relay.data_dir])
        assert out.returncode == 0, out.stderr
        # Read on only once the relay has the revocation (within about a second).
        wait_until(lambda: get(relay, f"/v1/sessions/{big['sid']}", big["token"]).status == 401, 10, "the revocation applied")
        got = conn.read_to_eof(timeout=20)
        assert got < len(big["data"]), f"the download went on to the end ({got} bytes) after its token was revoked"
        assert "download cut off: token revoked" in relay.log_text()
        assert_error(get(relay, rec_path(big["sid"], big["rid"]), big["token"]), 401, "unauthorized")
        whole = get(relay, rec_path(big["sid"], big["rid"]), relay.token("alice"))
        assert whole.status == 200 and hashlib.sha256(whole.body).digest() == hashlib.sha256(big["data"]).digest()
    finally:
        conn.close()
        big["p"].abort()
        big["f"].close()


@pytest.mark.timeout(300)
def test_stalled_downloaders_cost_nothing_to_others(relay_factory, webm12):
    relay = relay_factory()
    big = _big_recording(relay, 24)
    other = record(relay, webm12)
    rss_before = process_rss_kib(relay.proc.pid)
    stalled = [_stalled_download(relay, big) for _ in range(4)]
    try:
        # Another session's live relay still flows both ways.
        p, f, _ = relay.pair()
        for i in range(20):
            frame = media_frame(CAMERA, F_INIT if i == 0 else 0, i, i * 1000, patterned(30_000, i))
            f.send_bytes(frame)
            assert p.recv_binary(timeout=5) == frame
        screen = media_frame(SCREEN, F_INIT, 0, 0, b"screen")
        p.send_bytes(screen)
        assert f.recv_binary(timeout=5) == screen
        # Other downloads complete, the big one included, in full.
        assert get(relay, rec_path(other["sid"], other["rid"]), other["token"]).body == webm12
        full = get(relay, rec_path(big["sid"], big["rid"]), big["token"])
        assert hashlib.sha256(full.body).digest() == hashlib.sha256(big["data"]).digest()
        grown_mib = (process_rss_kib(relay.proc.pid) - rss_before) / 1024
        assert grown_mib < 16, f"the server grew by {grown_mib:.1f} MiB while 4 clients stalled on a 24 MiB download"
        assert relay.http("GET", "/healthz").status == 200
        p.close()
        f.close()
    finally:
        for conn in stalled:
            conn.close()
        big["p"].abort()
        big["f"].close()
        other["p"].close()
        other["f"].close()


# --- the family's withdrawal over HTTP ------------------------------------------------------

def test_a_family_withdraws_over_http_after_its_invite_expired(relay_factory, webm12):
    """POST /v1/sessions/{id}/withdrawal with the family's invite, expired by then (a family may
    withdraw at any time, not only while its link lets it join): consent is withdrawn and logged,
    every recording and clip is deleted, the practitioner (connected) is told both, and the answer
    names what was deleted; a repeat is answered too, with nothing left."""
    relay = relay_factory(["--invite-ttl", "3s"])
    r = record(relay, webm12)
    p, f, sid, invite = r["p"], r["f"], r["sid"], r["invite"]
    f.close()
    assert p.recv_json(timeout=10) == {"type": "peer", "event": "left", "role": "family"}
    # The invite's expiry, read where it has no side effect: GET /v1/sessions refuses a valid
    # invite with 403 and an expired one with 401.
    wait_until(lambda: relay.http("GET", "/v1/sessions", headers=bearer(invite)).status == 401, 10, "the invite to expire")
    late = relay.connect(sid, "family-too-late")
    late.send_json({"type": "hello", "token": invite})
    refusal = late.recv_json(timeout=10)
    assert refusal.get("code") == "unauthorized" and "expired" in refusal.get("message", ""), refusal
    late.close()

    d = relay.http("POST", f"/v1/sessions/{sid}/withdrawal", headers=bearer(invite))
    assert d.status == 200 and d.json() == {"deleted": [r["rid"]]}, d
    assert p.recv_json(timeout=10) == {"type": "consent", "recording": False}
    assert p.recv_json(timeout=10) == {"type": "recording", "state": "deleted", "recordingIds": [r["rid"]]}
    rec_dir = Path(relay.data_dir) / "sessions" / sid / "recordings"
    assert sorted(x.name for x in rec_dir.iterdir()) == [f"{r['rid']}.json"], "only the manifest stays"
    log = [json.loads(line) for line in (Path(relay.data_dir) / "sessions" / sid / "session.jsonl").read_text().splitlines()]
    assert [e["recording"] for e in log if e["event"] == "consent"] == [True, False]
    assert [e["reason"] for e in log if e["event"] == "recordings_deleted"] == ["consent withdrawn"]
    summary = get(relay, f"/v1/sessions/{sid}", r["token"]).json()
    assert summary["consent"]["recording"] is False and [x["state"] for x in summary["recordings"]] == ["deleted"], summary

    for _ in range(3):
        again = relay.http("POST", f"/v1/sessions/{sid}/withdrawal", headers=bearer(invite))
        assert again.status == 200 and again.json() == {"deleted": []}, again
    log = [json.loads(line) for line in (Path(relay.data_dir) / "sessions" / sid / "session.jsonl").read_text().splitlines()]
    assert [e["event"] for e in log].count("recordings_deleted") == 1 and [e["recording"] for e in log if e["event"] == "consent"] == [True, False], \
        "repeats are answered without touching the disk"
    p.send_json({"type": "record", "action": "start"})
    assert_error_message(p, "consent_required")
    p.close()


def assert_error_message(ws, code: str) -> None:
    while True:
        m = ws.recv_json(timeout=10)
        if m.get("type") == "error":
            assert m["code"] == code, m
            return


def test_withdrawal_over_http_is_for_the_sessions_family_only(relay, rec, forged_token):
    sid, path = rec["sid"], f"/v1/sessions/{rec['sid']}/withdrawal"
    assert_error(relay.http("POST", path), 401, "unauthorized")
    assert "invite" in relay.http("POST", path).json()["message"]
    assert_error(relay.http("POST", path, headers=bearer(forged_token)), 401, "unauthorized")
    refused = relay.http("POST", path, headers=bearer(rec["token"]))
    assert_error(refused, 403, "forbidden")
    assert "DELETE" in refused.json()["message"], refused
    other = relay.create_session(relay.token("bob"))
    relay.secrets_seen.add(other["inviteToken"])
    assert_error(relay.http("POST", path, headers=bearer(other["inviteToken"])), 404, "session_not_found")
    assert_error(relay.http("GET", path, headers=bearer(rec["invite"])), 405, "method_not_allowed")
    summary = get(relay, f"/v1/sessions/{sid}", rec["token"]).json()
    assert summary["consent"]["recording"] is True and summary["recordings"][0]["state"] == "complete", "nothing was withdrawn"
