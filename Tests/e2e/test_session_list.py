"""GET /v1/sessions over the real relay (docs/PROTOCOL.md, "GET /v1/sessions"): who may list, that a
practitioner sees only their own sessions, what each entry says after consent, recording, a clip,
withdrawal and leaving, pages and their limit, and the same facts after a restart (read from disk).

Each test lists the sessions of practitioner ids of its own, so sessions other tests make on the
shared relay do not show up in its lists. Every wait has a deadline."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone
from pathlib import Path

import pytest

from vrtest import assert_error, bearer, bye, give_consent, HTTPConn, new_practitioner, next_json, send_camera, start_recording, stop_recording

FIXTURES = Path(__file__).resolve().parent.parent / "VigRelayCoreTests" / "Fixtures"
WEBM = FIXTURES / "testsrc-4s.webm"  # VP8, sized Segment and Clusters, Cues; 4 s, a keyframe each second


def listing(relay, token: str | None, query: str = "") -> dict:
    r = relay.http("GET", "/v1/sessions" + query, headers=bearer(token))
    assert r.status == 200, r
    assert r.headers.get("content-type", "").startswith("application/json")
    assert r.headers.get("cache-control") == "no-store"
    return r.json()


def entry(relay, token: str, sid: str) -> dict:
    body = listing(relay, token)
    found = [s for s in body["sessions"] if s["sessionId"] == sid]
    assert len(found) == 1, f"session {sid} not listed once: {body}"
    return found[0]


# --- who may list ------------------------------------------------------------------------

def test_without_a_valid_token_is_401(relay, forged_token):
    for headers in ({}, {"Authorization": "Bearer"}, {"Authorization": "Bearer not-a-token"},
                    {"Authorization": f"Bearer {forged_token}"}, {"Authorization": "Basic dXNlcjpwYXNz"}):
        assert_error(relay.http("GET", "/v1/sessions", headers=headers), 401, "unauthorized")


def test_a_family_invite_is_403(relay):
    _, tok = new_practitioner(relay, "list-invite")
    s = relay.create_session(tok)
    assert_error(relay.http("GET", "/v1/sessions", headers=bearer(s["inviteToken"])), 403, "forbidden")


def test_each_practitioner_sees_only_their_own_sessions(relay):
    _, mine = new_practitioner(relay, "list-mine")
    _, theirs = new_practitioner(relay, "list-theirs")
    a = relay.create_session(mine, {"caseRef": "fam-1"})
    b = relay.create_session(mine)
    c = relay.create_session(theirs, {"caseRef": "fam-2"})
    got = listing(relay, mine)
    # Creation times are whole seconds; sessions of the same second are listed by id, descending.
    assert [s["sessionId"] for s in got["sessions"]] == sorted([a["sessionId"], b["sessionId"]], reverse=True) or \
        got["sessions"][0]["createdAt"] > got["sessions"][1]["createdAt"], got
    assert {s["sessionId"] for s in got["sessions"]} == {a["sessionId"], b["sessionId"]}, "mine, and only mine"
    assert got["total"] == 2 and got["limit"] == 50 and "nextBefore" not in got
    assert got["retentionSeconds"] == 60 * 86400, "the default retention, for the practitioner's page to say"
    other = listing(relay, theirs)
    assert [s["sessionId"] for s in other["sessions"]] == [c["sessionId"]]
    _, nobody = new_practitioner(relay, "list-nobody")
    assert listing(relay, nobody) == {"sessions": [], "total": 0, "limit": 50, "retentionSeconds": 60 * 86400}
    # Another practitioner's session is no cursor of mine: nobody learns which sessions exist.
    assert_error(relay.http("GET", f"/v1/sessions?before={c['sessionId']}", headers=bearer(mine)), 400, "invalid_request")


def test_a_new_session_as_listed(relay):
    pid, tok = new_practitioner(relay, "list-new")
    s = relay.create_session(tok, {"caseRef": "fam-042", "cycle": 3, "purpose": "review"})
    e = entry(relay, tok, s["sessionId"])
    assert e["practitioner"] == pid
    assert e == {"sessionId": s["sessionId"], "createdAt": e["createdAt"], "caseRef": "fam-042", "cycle": 3, "purpose": "review",
                 "state": "new", "connected": [], "consent": "none", "childAgreed": False, "supervisorMayView": False,
                 "practitioner": e["practitioner"], "recordingState": "idle",
                 "recordingCount": 0, "recordingBytes": 0, "deletedRecordingCount": 0, "clipCount": 0,
                 "lastActivityAt": e["lastActivityAt"], "inviteExpiresAt": s["expiresAt"].replace("Z", ".000Z")}
    assert e["createdAt"].endswith(".000Z") and e["lastActivityAt"].endswith("Z")
    assert "inviteToken" not in json.dumps(e) and s["inviteToken"] not in json.dumps(e), "the list never carries invites"


# --- what an entry says as a session goes on ----------------------------------------------

def test_entries_follow_consent_recording_clips_withdrawal_and_leaving(relay):
    pid, tok = new_practitioner(relay, "list-life")
    s = relay.create_session(tok, {"caseRef": "fam-9"})
    sid = s["sessionId"]
    quiet = relay.create_session(tok)
    p, _ = relay.join(sid, tok, "practitioner")
    e = entry(relay, tok, sid)
    assert (e["state"], e["connected"], e["consent"]) == ("live", ["practitioner"], "none")

    f, _ = relay.join(sid, s["inviteToken"], "family")
    assert next_json(p) == {"type": "peer", "event": "joined", "role": "family"}
    give_consent(p, f, child_agreed=True)
    e = entry(relay, tok, sid)
    assert (e["state"], e["connected"], e["consent"], e["childAgreed"], e["recordingState"]) == \
        ("live", ["family", "practitioner"], "given", True, "idle")

    rid = start_recording(p, f)
    e = entry(relay, tok, sid)
    assert (e["recordingState"], e["recordingId"], e["recordingCount"]) == ("recording", rid, 1)
    data = WEBM.read_bytes()
    send_camera(p, f, data)
    stopped = stop_recording(p, f, rid)
    e = entry(relay, tok, sid)
    assert (e["recordingState"], e["recordingCount"], e["recordingBytes"]) == ("stopped", 1, stopped["bytes"])
    assert stopped["bytes"] == len(data), "a whole WebM is recorded whole"
    assert "recordingId" not in e

    clip = relay.http("POST", f"/v1/sessions/{sid}/clips", headers=bearer(tok),
                      body=json.dumps({"recordingId": rid, "fromMs": 1000, "toMs": 3000}).encode())
    assert clip.status == 201, clip
    assert entry(relay, tok, sid)["clipCount"] == 1

    f.send_json({"type": "consent", "recording": False})
    assert next_json(f)["recording"] is False
    assert next_json(p)["recording"] is False
    deleted = next_json(p, timeout=15)
    assert deleted == {"type": "recording", "state": "deleted", "recordingIds": [rid]}, deleted
    e = entry(relay, tok, sid)
    assert (e["consent"], e["childAgreed"], e["recordingState"]) == ("withdrawn", False, "idle")
    assert (e["recordingCount"], e["recordingBytes"], e["deletedRecordingCount"], e["clipCount"]) == (0, 0, 1, 0)

    bye(f)
    assert next_json(p) == {"type": "peer", "event": "left", "role": "family"}
    assert entry(relay, tok, sid)["connected"] == ["practitioner"]
    bye(p)
    e = entry(relay, tok, sid)
    assert (e["state"], e["connected"]) == ("ended", [])
    assert e["lastActivityAt"] >= e["createdAt"]
    q = entry(relay, tok, quiet["sessionId"])
    assert (q["state"], q["consent"], q["recordingState"]) == ("new", "none", "idle"), "the other session is untouched"


def test_a_recording_that_waits_for_the_family_says_so(relay):
    p, f, s = relay.pair(f"list-away-{uuid.uuid4().hex[:8]}")
    tok, sid = s["practitionerToken"], s["sessionId"]
    give_consent(p, f)
    rid = start_recording(p, f)
    bye(f)
    assert next_json(p) == {"type": "peer", "event": "left", "role": "family"}
    e = entry(relay, tok, sid)
    assert (e["recordingState"], e["recordingId"], e["awaiting"], e["connected"]) == ("recording", rid, ["family"], ["practitioner"])
    p.send_json({"type": "record", "action": "stop"})
    assert next_json(p, timeout=15)["state"] == "stopped"
    assert "awaiting" not in entry(relay, tok, sid)
    p.close()


# --- pages ---------------------------------------------------------------------------------

def test_a_family_turned_away_on_an_old_link_is_listed_until_it_joins(relay):
    """The family's page checking a replaced link (`?from=family`) shows in the list with the reason
    and when, so the practitioner can send the newest link without opening the session; the family
    joining on the newest ends it."""
    _, tok = new_practitioner(relay, "list-refused")
    s = relay.create_session(tok)
    sid, first = s["sessionId"], s["inviteToken"]
    r = relay.http("POST", f"/v1/sessions/{sid}/invite", headers=bearer(tok))
    assert r.status == 200, r
    newest = r.json()["inviteToken"]
    relay.secrets_seen.add(newest)
    assert "familyLinkRefused" not in entry(relay, tok, sid)
    before = datetime.now(timezone.utc).replace(microsecond=0)
    assert_error(relay.http("GET", f"/v1/sessions/{sid}/invite?from=family", headers=bearer(first)), 401, "invite_replaced")
    e = entry(relay, tok, sid)
    assert e["familyLinkRefused"] == "replaced", e
    at = datetime.fromisoformat(e["familyLinkRefusedAt"].replace("Z", "+00:00"))
    assert before <= at <= datetime.now(timezone.utc), (before, at)
    assert e["state"] == "new", "listed as still to happen, with the family's attempt"
    family, _ = relay.join(sid, newest, "family on the newest link", role="family")
    e = entry(relay, tok, sid)
    assert "familyLinkRefused" not in e and "familyLinkRefusedAt" not in e, e
    family.close()


def test_pages_of_a_limit_follow_each_other(relay):
    _, tok = new_practitioner(relay, "list-pages")
    made = [relay.create_session(tok)["sessionId"] for _ in range(5)]
    seen, before, pages = [], None, 0
    while pages < 10:  # 5 sessions, 2 a page: a cursor that went round would loop
        body = listing(relay, tok, "?limit=2" + (f"&before={before}" if before else ""))
        assert body["total"] == 5 and body["limit"] == 2 and len(body["sessions"]) <= 2
        seen += [x["sessionId"] for x in body["sessions"]]
        pages += 1
        before = body.get("nextBefore")
        if before is None:
            break
        assert before == body["sessions"][-1]["sessionId"]
    else:
        pytest.fail(f"still paging after 10 pages of 2: the cursor goes round ({seen})")
    assert pages == 3
    assert sorted(seen) == sorted(made) and len(set(seen)) == 5, "every session once"
    created = [x["createdAt"] for x in listing(relay, tok)["sessions"]]
    assert created == sorted(created, reverse=True), "newest first"
    assert len(listing(relay, tok, "?limit=200")["sessions"]) == 5


@pytest.mark.parametrize("query", ["?limit=0", "?limit=201", "?limit=abc", "?limit=", "?limit=1&limit=2", "?before=nothex",
                                   "?before=00000000000000000000000000000000"])
def test_bad_limits_and_cursors_are_400(relay, query):
    _, tok = new_practitioner(relay, "list-bad")
    relay.create_session(tok)
    body = assert_error(relay.http("GET", "/v1/sessions" + query, headers=bearer(tok)), 400, "invalid_request")
    assert ("limit" if "limit" in query else "before") in body["message"]


def test_head_and_methods(relay):
    _, tok = new_practitioner(relay, "list-head")
    relay.create_session(tok)
    conn = HTTPConn(relay.port, relay.ssl_ctx)
    try:
        get = conn.request("GET", "/v1/sessions", bearer(tok))
        head = conn.request("HEAD", "/v1/sessions", bearer(tok))
    finally:
        conn.close()
    assert get.status == head.status == 200 and head.body == b""
    assert head.headers["content-length"] == get.headers["content-length"]
    body = assert_error(relay.http("DELETE", "/v1/sessions", headers=bearer(tok)), 405, "method_not_allowed")
    assert "GET" in body["message"] and "POST" in body["message"]


# --- after a restart: what the disk says ---------------------------------------------------

def test_after_a_restart_the_list_reads_consent_recordings_and_past_joins_from_disk(relay_factory):
    relay = relay_factory()
    tok = relay.token("list-restart")
    p, f, kept = relay.pair("list-restart")
    give_consent(p, f)
    rid = start_recording(p, f)
    send_camera(p, f, WEBM.read_bytes())
    stopped = stop_recording(p, f, rid)
    p.close()
    f.close()
    p2, f2, gone = relay.pair("list-restart")
    give_consent(p2, f2)
    f2.send_json({"type": "consent", "recording": False})
    assert next_json(f2)["recording"] is False
    assert next_json(p2)["recording"] is False
    assert next_json(p2, timeout=15) == {"type": "recording", "state": "deleted", "recordingIds": []}, "the writer is past the withdrawal"
    p2.close()
    f2.close()
    never = relay.create_session(tok)

    rc, _ = relay.stop()
    assert rc == 0
    relay.start()
    body = listing(relay, tok)
    by_id = {x["sessionId"]: x for x in body["sessions"]}
    assert set(by_id) == {never["sessionId"], gone["sessionId"], kept["sessionId"]}
    created = [x["createdAt"] for x in body["sessions"]]
    assert created == sorted(created, reverse=True), "newest first"
    k = by_id[kept["sessionId"]]
    assert (k["state"], k["consent"], k["recordingState"], k["recordingCount"], k["recordingBytes"]) == \
        ("ended", "given", "stopped", 1, stopped["bytes"])
    g = by_id[gone["sessionId"]]
    assert (g["state"], g["consent"], g["recordingState"]) == ("ended", "withdrawn", "idle")
    n = by_id[never["sessionId"]]
    assert (n["state"], n["consent"]) == ("new", "none")


# --- vigrelay-client sessions ---------------------------------------------------------------

def test_client_sessions_prints_the_list(client_bin, relay, certs):
    from vrtest import run
    p, f, s = relay.pair(f"list-client-{uuid.uuid4().hex[:8]}")
    tok, sid = s["practitionerToken"], s["sessionId"]
    give_consent(p, f, child_agreed=True)
    rid = start_recording(p, f)
    send_camera(p, f, WEBM.read_bytes())
    stop_recording(p, f, rid)
    older = relay.create_session(tok, {"caseRef": "fam-77", "cycle": 2})
    common = [client_bin, "sessions", "--server", relay.base_url, "--ca", certs.ca, "--token", tok]

    table = run(common)
    assert table.returncode == 0, table.stderr
    lines = table.stdout.strip().splitlines()
    assert lines[0].split()[:3] == ["CREATED", "(UTC)", "SESSION"], lines
    assert len(lines) == 4 and lines[-1] == "2 of 2 sessions", lines
    live = next(line for line in lines if sid in line)
    assert "live (family+practitioner)" in live and "given+child" in live and "stopped" in live, live
    labelled = next(line for line in lines if older["sessionId"] in line)
    assert "fam-77 c2" in labelled and "new" in labelled and "none" in labelled and "idle" in labelled, labelled

    as_json = run(common + ["--json"])
    assert as_json.returncode == 0, as_json.stderr
    body = json.loads(as_json.stdout)
    assert body["total"] == 2 and {x["sessionId"] for x in body["sessions"]} == {sid, older["sessionId"]}

    first = run(common + ["--limit", "1"])
    assert first.returncode == 0, first.stderr
    last = first.stdout.strip().splitlines()[-1]
    assert last.startswith("1 of 2 sessions; next page: --before "), last
    second = run(common + ["--limit", "1", "--before", last.split()[-1]])
    assert second.returncode == 0 and second.stdout.strip().splitlines()[-1] == "1 of 2 sessions", second.stdout

    refused = run([client_bin, "sessions", "--server", relay.base_url, "--ca", certs.ca, "--token", s["inviteToken"]])
    assert refused.returncode == 3 and "forbidden" in refused.stderr, refused.stderr
    for bad in (["--limit", "0"], ["--limit", "201"], ["--before", "nope"]):
        r = run(common + bad)
        assert r.returncode == 64, (bad, r.stderr)
    p.close()
    f.close()
