"""The practitioner's supervisor watching a session's recordings, over the real relay
(docs/PROTOCOL.md, "Supervision"; docs/RECORDING.md, "Who may watch"): the practitioner names
them on the session, and they may read its summary and download its recordings and clips only
while the family's consent says so. They change nothing; anyone else learns nothing; each download
is logged; taking the agreement back (or naming another supervisor) ends it, also mid-download;
the agreement survives a restart; and `vigrelay-client` does it all from the command line.

Each test uses practitioner ids of its own. Every wait has a deadline."""

from __future__ import annotations

import json
from contextlib import contextmanager

import pytest

from test_client_recording import family, finish, start_practitioner
from test_recording import FIXTURE
from vrtest import (HTTPConn, assert_error, bearer, bye, give_consent, new_practitioner, next_json, patterned, run, send_camera,
                    start_recording, stop_recording, wait_until)


def get(relay, path: str, token: str):
    return relay.http("GET", path, headers=bearer(token))


def consent(p, f, **fields) -> dict:
    """The family's consent message with `fields`; both sides get the same notice."""
    msg = {"type": "consent", "recording": True, **fields}
    f.send_json(msg)
    assert next_json(f) == msg
    assert next_json(p) == msg
    return msg


def supervised_recording(relay, supervisor: str, data: bytes, size: int = 4096) -> dict:
    """A session naming `supervisor`, with one finished recording of `data`; peers still connected."""
    pid, tok = new_practitioner(relay, "trainee")
    s = relay.create_session(tok, {"caseRef": "fam-7", "cycle": 1, "purpose": "filming", "supervisor": supervisor})
    assert s["supervisor"] == supervisor, s
    sid = s["sessionId"]
    p, _ = relay.join(sid, tok, "practitioner", role="practitioner")
    f, _ = relay.join(sid, s["inviteToken"], "family", role="family")
    assert p.recv_json() == {"type": "peer", "event": "joined", "role": "family"}
    give_consent(p, f)
    rid = start_recording(p, f)
    send_camera(p, f, data, sizes=size)
    stopped = stop_recording(p, f, rid)
    assert stopped["bytes"] == len(data), stopped
    return {"pid": pid, "token": tok, "sid": sid, "rid": rid, "p": p, "f": f, "data": data}


def supervision_list(relay, token: str) -> list[str]:
    r = get(relay, "/v1/supervision", token)
    assert r.status == 200, r
    return [e["sessionId"] for e in r.json()["sessions"]]


def events(relay, sid: str, name: str) -> list[dict]:
    path = relay.data_dir / "sessions" / sid / "session.jsonl"
    return [e for e in map(json.loads, path.read_text().splitlines()) if e["event"] == name]


def test_the_supervisor_watches_only_while_the_family_agrees_and_changes_nothing(relay):
    sup, sup_tok = new_practitioner(relay, "supervisor")
    _, stranger = new_practitioner(relay, "stranger")
    rec = supervised_recording(relay, sup, patterned(50_000, 7))
    sid, rid, p, f = rec["sid"], rec["rid"], rec["p"], rec["f"]
    recording = f"/v1/sessions/{sid}/recordings/{rid}"
    # The recording is not a WebM, so it has no clips; the clip route still checks who asks.
    clip_path = f"/v1/sessions/{sid}/clips/{'0' * 16}"

    # Named, but the family has not agreed: refused, saying who decides; not listed.
    for path in (f"/v1/sessions/{sid}", recording, clip_path):
        body = assert_error(get(relay, path, sup_tok), 403, "supervision_not_agreed")
        assert "the family has not agreed" in body["message"], body
    assert supervision_list(relay, sup_tok) == []

    consent(p, f, supervisorMayView=True)
    assert supervision_list(relay, sup_tok) == [sid]
    entry, = get(relay, "/v1/supervision", sup_tok).json()["sessions"]
    assert (entry["practitioner"], entry["supervisor"], entry["supervisorMayView"], entry["caseRef"]) == (rec["pid"], sup, True, "fam-7"), entry
    assert "inviteToken" not in json.dumps(entry) and "joinUrl" not in json.dumps(entry)
    summary = get(relay, f"/v1/sessions/{sid}", sup_tok)
    assert summary.status == 200 and summary.json()["consent"]["supervisorMayView"] is True, summary
    assert [r["recordingId"] for r in summary.json()["recordings"]] == [rid]
    got = get(relay, recording, sup_tok)
    assert got.status == 200 and got.body == rec["data"], got
    ranged = relay.http("GET", recording, headers={**bearer(sup_tok), "Range": "bytes=100-199"})
    assert ranged.status == 206 and ranged.body == rec["data"][100:200], ranged
    assert_error(get(relay, clip_path, sup_tok), 404, "clip_not_found")

    # Watching only: nothing that changes the session or hands out the family's link.
    for method, path, body in (("PATCH", f"/v1/sessions/{sid}", {"cycle": 2}), ("DELETE", f"/v1/sessions/{sid}/recordings", None),
                               ("POST", f"/v1/sessions/{sid}/invite", None), ("GET", f"/v1/sessions/{sid}/invite", None),
                               ("POST", f"/v1/sessions/{sid}/clips", {"recordingId": rid, "fromMs": 0, "toMs": 3000})):
        r = relay.http(method, path, headers=bearer(sup_tok), body=json.dumps(body).encode() if body else None)
        assert r.status == 403, (method, path, r)
    # Anyone else still learns nothing; the owner's own list is theirs.
    assert_error(get(relay, recording, stranger), 404, "session_not_found")
    assert supervision_list(relay, stranger) == []
    assert supervision_list(relay, rec["token"]) == []
    owner_entry, = [e for e in get(relay, "/v1/sessions", rec["token"]).json()["sessions"] if e["sessionId"] == sid]
    assert owner_entry["supervisorMayView"] is True and owner_entry["supervisor"] == sup
    assert sid not in [e["sessionId"] for e in get(relay, "/v1/sessions", sup_tok).json()["sessions"]]

    # Each download from the first byte is in the session's log; a player's later reads, and asking
    # for what is not there, are not.
    logged = events(relay, sid, "supervisor_download")
    assert [(e["supervisor"], e["recordingId"], e["part"]) for e in logged] == [(sup, rid, 1)], logged

    # The family takes it back (the recording stays for the practitioner), then withdraws.
    consent(p, f)
    assert_error(get(relay, recording, sup_tok), 403, "supervision_not_agreed")
    assert supervision_list(relay, sup_tok) == []
    assert get(relay, recording, rec["token"]).body == rec["data"]
    consent(p, f, supervisorMayView=True)
    assert get(relay, recording, sup_tok).status == 200
    f.send_json({"type": "consent", "recording": False})
    wait_until(lambda: get(relay, recording, sup_tok).status == 403, 10, "the withdrawal ends the supervisor's access")
    assert supervision_list(relay, sup_tok) == []
    p.close()
    f.close()


def test_naming_the_supervisor_is_checked_and_another_supervisor_ends_the_first(relay):
    sup, sup_tok = new_practitioner(relay, "supervisor-a")
    other, other_tok = new_practitioner(relay, "supervisor-b")
    rec = supervised_recording(relay, sup, patterned(20_000, 8))
    sid, tok = rec["sid"], rec["token"]
    consent(rec["p"], rec["f"], supervisorMayView=True)
    recording = f"/v1/sessions/{sid}/recordings/{rec['rid']}"
    assert get(relay, recording, sup_tok).status == 200

    for body, says in (({"supervisor": rec["pid"]}, "not yours"), ({"supervisor": "Dr Jane Smith"}, "supervisor must be")):
        assert says in assert_error(relay.post_sessions(tok, body), 400, "invalid_request")["message"], body
        r = relay.http("PATCH", f"/v1/sessions/{sid}", headers=bearer(tok), body=json.dumps(body).encode())
        assert says in assert_error(r, 400, "invalid_request")["message"], body
    r = relay.http("PATCH", f"/v1/sessions/{sid}", headers=bearer(tok), body=json.dumps({"supervisor": other}).encode())
    assert r.status == 200 and r.json()["supervisor"] == other, r
    # The family agreed for the supervisor named then: both sides hear that the agreement ended.
    for ws in (rec["p"], rec["f"]):
        assert next_json(ws) == {"type": "consent", "recording": True}
    assert_error(get(relay, recording, sup_tok), 404, "session_not_found")
    assert_error(get(relay, recording, other_tok), 403, "supervision_not_agreed")
    consent(rec["p"], rec["f"], supervisorMayView=True)
    assert get(relay, recording, other_tok).status == 200, "the family agreed again, for the new supervisor"
    r = relay.http("PATCH", f"/v1/sessions/{sid}", headers=bearer(tok), body=json.dumps({"supervisor": None}).encode())
    assert r.status == 200 and "supervisor" not in r.json(), r
    assert_error(get(relay, recording, other_tok), 404, "session_not_found")
    # No supervisor left: the family's page hears it, after the agreement's end, and stops asking.
    assert next_json(rec["p"]) == {"type": "consent", "recording": True}
    assert next_json(rec["f"]) == {"type": "consent", "recording": True}
    assert next_json(rec["f"]) == {"type": "supervision", "supervised": False}
    # One named during the call: the family's page asks at once (nothing agreed to end).
    r = relay.http("PATCH", f"/v1/sessions/{sid}", headers=bearer(tok), body=json.dumps({"supervisor": sup}).encode())
    assert r.status == 200 and r.json()["supervisor"] == sup, r
    assert next_json(rec["f"]) == {"type": "supervision", "supervised": True}
    rec["p"].send_json({"type": "ping", "id": 1})
    assert next_json(rec["p"]) == {"type": "pong", "id": 1}, "nothing else for the practitioner"
    changed = events(relay, sid, "labels_changed")
    assert [e.get("supervisor") for e in changed] == [other, None, sup], changed
    answers = [(e["supervisorMayView"], e.get("reason")) for e in events(relay, sid, "consent")]
    assert answers == [(False, None), (True, None), (False, "supervisor changed"), (True, None), (False, "supervisor changed")], answers
    rec["p"].close()
    rec["f"].close()


@contextmanager
def two_downloads_in_flight(relay, seed: int):
    """A supervised session with a finished 24 MiB recording the family agreed the supervisor may
    watch, and two downloads of it stalled after their heads (small receive buffers): the
    practitioner's and the supervisor's. Yields (sup, rec, owners, theirs); closes everything after."""
    sup, sup_tok = new_practitioner(relay, "supervisor")
    rec = supervised_recording(relay, sup, patterned(24 << 20, seed), size=1 << 20)
    rec["sup_tok"] = sup_tok
    consent(rec["p"], rec["f"], supervisorMayView=True)
    path = f"/v1/sessions/{rec['sid']}/recordings/{rec['rid']}"
    owners = HTTPConn(relay.port, relay.ssl_ctx, rcvbuf=32 << 10)
    theirs = HTTPConn(relay.port, relay.ssl_ctx, rcvbuf=32 << 10)
    try:
        for conn, token in ((owners, rec["token"]), (theirs, sup_tok)):
            conn.send("GET", path, bearer(token))
            status, headers = conn.read_head()
            assert status == 200 and int(headers["content-length"]) == len(rec["data"]), (status, headers)
        yield sup, rec, owners, theirs
    finally:
        owners.close()
        theirs.close()
        rec["p"].close()
        rec["f"].close()


@pytest.mark.timeout(240)
def test_taking_the_agreement_back_cuts_off_a_supervisors_download_in_flight(relay_factory):
    relay = relay_factory()
    with two_downloads_in_flight(relay, 9) as (_, rec, owners, theirs):
        consent(rec["p"], rec["f"])
        got = theirs.read_to_eof(timeout=20)
        assert got < len(rec["data"]), f"the supervisor's download went on to the end ({got} bytes) after the family took it back"
        assert "download cut off: supervisor no longer allowed" in relay.log_text()
        assert owners.read_to_eof(timeout=60) == len(rec["data"]), "the practitioner's own download is not cut off"


@pytest.mark.timeout(240)
def test_revoking_the_supervisors_token_cuts_off_their_download_not_the_practitioners(relay_factory):
    """A download is cut off by a revocation of the token it was asked with: the supervisor's, not
    the session's owner's."""
    relay = relay_factory()
    with two_downloads_in_flight(relay, 11) as (sup, rec, owners, theirs):
        out = run([relay.bins.vigrelay, "token", "revoke", "practitioner", "--id", sup, "--data-dir", relay.data_dir])
        assert out.returncode == 0, out.stderr
        # Read on only once the relay has the revocation (within about a second): the summary, not
        # the 24 MiB recording, is what is polled.
        wait_until(lambda: get(relay, f"/v1/sessions/{rec['sid']}", rec["sup_tok"]).status == 401, 10, "the revocation applied")
        got = theirs.read_to_eof(timeout=20)
        assert got < len(rec["data"]), f"the supervisor's download went on to the end ({got} bytes) after their token was revoked"
        assert owners.read_to_eof(timeout=60) == len(rec["data"]), "the practitioner's own download is not cut off"


@pytest.mark.timeout(180)
def test_the_agreement_survives_a_restart_and_the_client_commands_use_it(client_bin, relay_factory, certs, tmp_path):
    relay = relay_factory()
    sup, sup_tok = new_practitioner(relay, "supervisor")
    pid, tok = new_practitioner(relay, "trainee")
    common = ["--server", relay.base_url, "--ca", str(certs.ca)]
    created = run([client_bin, "create", *common, "--token", tok, "--case-ref", "fam-9", "--supervisor", sup, "--json"])
    assert created.returncode == 0, created.stderr
    s = json.loads(created.stdout)
    assert s["supervisor"] == sup, s
    sid = s["sessionId"]
    early = run([client_bin, "session", *common, "--token", sup_tok, "--session", sid])
    assert early.returncode == 1 and "HTTP 403 supervision_not_agreed: the family has not agreed" in early.stderr, early.stderr
    assert "token refused" not in early.stderr, "the supervisor's token is good: the family has not agreed yet"
    prac = start_practitioner(client_bin, relay, certs, tok, sid, "--record")
    fam = family(client_bin, relay, certs, s["inviteToken"], "--consent", "--supervisor-may-view", "--wait-for-recording", "30s")
    assert fam.returncode == 0, fam.stderr
    out, err = finish(prac)
    assert prac.returncode == 0, err
    rid = json.loads(out.strip().splitlines()[-1])["recordingId"]
    consented, = events(relay, sid, "consent")
    assert consented["supervisorMayView"] is True and consented["childAgreed"] is False, consented

    relay.stop()
    relay.start()
    assert supervision_list(relay, sup_tok) == [sid], "the family's agreement is read back from the session's log"
    common = ["--server", relay.base_url, "--ca", str(certs.ca)]  # the restarted relay's port

    listed = run([client_bin, "sessions", *common, "--token", sup_tok, "--supervising"])
    assert listed.returncode == 0, listed.stderr
    header, row = listed.stdout.splitlines()[:2]
    assert header.startswith("PRACTITIONER") and row.startswith(pid) and sid in row and "given+supervisor" in row, listed.stdout
    watched = tmp_path / "watched.webm"
    got = run([client_bin, "download", *common, "--token", sup_tok, "--session", sid, "--recording", rid, "--output", str(watched)])
    assert got.returncode == 0, got.stderr
    assert watched.read_bytes() == FIXTURE.read_bytes()
    refused = run([client_bin, "label", *common, "--token", sup_tok, "--session", sid, "--cycle", "2"])
    assert refused.returncode != 0 and "forbidden" in refused.stderr, (refused.stdout, refused.stderr)
    removed = run([client_bin, "label", *common, "--token", tok, "--session", sid, "--remove-supervisor"])
    assert removed.returncode == 0 and "supervisor: (none)" in removed.stdout, (removed.stdout, removed.stderr)
    assert supervision_list(relay, sup_tok) == []


def test_a_supervisor_reads_a_trainees_cycle_log_of_the_sessions_naming_them(client_bin, relay, certs):
    """The count supervisors ask for: a trainee's cycles from their sessions that name the supervisor
    (no video, so the family's agreement to watching is not needed); anyone else gets an empty log."""
    from test_cycle_log import hold

    sup, sup_tok = new_practitioner(relay, "supervisor")
    _, other_tok = new_practitioner(relay, "supervisor-other")
    pid, tok = new_practitioner(relay, "trainee")
    for purpose in ("filming", "review"):
        s = hold(relay, tok, {"caseRef": "fam-a", "cycle": 1, "purpose": purpose, "supervisor": sup})
        bye(s["f"])
        bye(s["p"])
    unsupervised = hold(relay, tok, {"caseRef": "fam-b", "cycle": 1, "purpose": "filming"})
    bye(unsupervised["f"])
    bye(unsupervised["p"])

    def log(token: str, query: str = f"?practitioner={pid}") -> dict:
        r = get(relay, f"/v1/cycles{query}", token)
        assert r.status == 200, r
        return r.json()

    theirs = log(sup_tok)
    assert [c["caseRef"] for c in theirs["cases"]] == ["fam-a"], theirs
    assert (theirs["completedCycles"], theirs["familiesWithCompletedCycles"]) == (1, 1), theirs
    assert [c["caseRef"] for c in log(tok, "")["cases"]] == ["fam-a", "fam-b"], "the trainee's own log has every session"
    assert log(other_tok)["cases"] == [], "not their supervisor: an empty log"
    assert_error(get(relay, "/v1/cycles?practitioner=Jane%20Smith", sup_tok), 400, "invalid_request")

    shown = run([client_bin, "cycles", "--server", relay.base_url, "--ca", str(certs.ca), "--token", sup_tok, "--practitioner", pid])
    assert shown.returncode == 0, shown.stderr
    assert "fam-a" in shown.stdout and "fam-b" not in shown.stdout and "1 complete cycle" in shown.stdout, shown.stdout
