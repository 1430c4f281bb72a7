"""Copies of clips for the family to keep (`vigrelay serve --family-copies`, docs/RECORDING.md,
"Copies for the family"), over the real relay: the practitioner gives a clip and the family, with
its link, lists and saves exactly the clip's bytes; only what was given, only with the newest link,
only while given; each step logged; nothing at all where the operator did not turn copies on; the
note of an encrypted recording stays sealed when the clip is given."""

from __future__ import annotations

import json
import stat
import subprocess
from pathlib import Path

import pytest

from test_marks import FIXTURE
from test_recording_encryption import make_key
from vrtest import HTTPConn, assert_error, bearer, give_consent, next_json, run, send_camera, start_recording, stop_recording


def filmed(relay, pid: str = "alice", labels: dict | None = None) -> dict:
    """A session (of practitioner `pid`, with `labels`) with one finished recording of the 4 s fixture
    and a clip of it; both sides still connected."""
    p, f, s = relay.pair(pid, labels)
    give_consent(p, f)
    rid = start_recording(p, f)
    send_camera(p, f, FIXTURE.read_bytes(), 1000)
    stop_recording(p, f, rid)
    token, sid = s["practitionerToken"], s["sessionId"]
    made = relay.http("POST", f"/v1/sessions/{sid}/clips", headers=bearer(token),
                      body=json.dumps({"recordingId": rid, "fromMs": 0, "toMs": 3500, "note": "she waits for his turn"}).encode())
    assert made.status == 201, made
    return {"p": p, "f": f, "sid": sid, "rid": rid, "token": token, "invite": s["inviteToken"], "clip": made.json()["clipId"]}


def copies(relay, s: dict, invite: str | None = None):
    return relay.http("GET", f"/v1/sessions/{s['sid']}/family-copies", headers=bearer(invite or s["invite"]))


def copy(relay, s: dict, invite: str | None = None, method: str = "GET"):
    return relay.http(method, f"/v1/sessions/{s['sid']}/family-copies/{s['clip']}", headers=bearer(invite or s["invite"]))


def give(relay, s: dict, method: str = "PUT"):
    return relay.http(method, f"/v1/sessions/{s['sid']}/family-copies/{s['clip']}", headers=bearer(s["token"]))


def events(relay, sid: str) -> list[dict]:
    return [json.loads(line) for line in (Path(relay.data_dir) / "sessions" / sid / "session.jsonl").read_text().splitlines()]


def test_the_family_saves_the_clip_its_practitioner_gave_it(relay_factory):
    relay = relay_factory(["--family-copies"])
    s = filmed(relay)
    clip_bytes = relay.http("GET", f"/v1/sessions/{s['sid']}/clips/{s['clip']}", headers=bearer(s["token"])).body
    # Before it is given, the family has nothing, and the clip answers as one that does not exist.
    assert copies(relay, s).json() == {"clips": []}
    assert_error(copy(relay, s), 404, "clip_not_found")

    given = give(relay, s)
    assert given.status == 200, given
    assert given.json()["clipId"] == s["clip"] and given.json()["givenToFamily"] is True and given.json()["givenAt"]
    assert given.json()["sessionId"] == s["sid"], "the session the clip was cut in"
    assert next_json(s["f"]) == {"type": "family_copies"}, "the family's page hears its list changed"
    [listed] = copies(relay, s).json()["clips"]
    assert listed["clipId"] == s["clip"] and listed["mediaType"] == "video/webm" and listed["bytes"] == len(clip_bytes)
    assert 3000 <= listed["durationMs"] <= 4500, listed
    assert "note" not in listed, "the practitioner's note is theirs"
    summary = lambda: relay.http("GET", f"/v1/sessions/{s['sid']}", headers=bearer(s["token"])).json()  # noqa: E731
    assert summary()["familyCopies"] == [{"clipId": s["clip"], "sessionId": s["sid"], "givenAt": given.json()["givenAt"]}]
    saved = copy(relay, s)
    assert saved.status == 200 and saved.body == clip_bytes
    assert saved.headers["content-type"] == "video/webm"
    # The practitioner hears it once the disk writer has logged it, so the summary then shows it.
    assert next_json(s["p"]) == {"type": "family_copy_fetched", "clipId": s["clip"]}
    assert summary()["familyCopies"][0]["fetchedAt"] >= given.json()["givenAt"]
    assert summary()["clips"][0]["note"] == "she waits for his turn"
    log = events(relay, s["sid"])
    assert [e["clipId"] for e in log if e["event"] == "family_copy_given"] == [s["clip"]]
    assert [e["clipId"] for e in log if e["event"] == "family_copy_downloaded"] == [s["clip"]]

    # Given again: nothing changes, given when first given, nothing more logged or told.
    again = give(relay, s)
    assert again.json()["givenAt"] == given.json()["givenAt"]
    assert sum(e["event"] == "family_copy_given" for e in events(relay, s["sid"])) == 1

    # Taken back: gone from the family's list and not fetched any more.
    taken = give(relay, s, "DELETE")
    assert taken.status == 200 and taken.json() == {"clipId": s["clip"], "givenToFamily": False}
    assert next_json(s["f"]) == {"type": "family_copies"}
    assert copies(relay, s).json() == {"clips": []}
    assert_error(copy(relay, s), 404, "clip_not_found")
    assert sum(e["event"] == "family_copy_taken_back" for e in events(relay, s["sid"])) == 1
    assert relay.http("GET", f"/v1/sessions/{s['sid']}", headers=bearer(s["token"])).json()["familyCopies"] == []
    # The practitioner keeps the clip itself.
    assert relay.http("GET", f"/v1/sessions/{s['sid']}/clips/{s['clip']}", headers=bearer(s["token"])).body == clip_bytes
    s["p"].close()
    s["f"].close()


def test_only_the_practitioner_gives_and_only_the_newest_link_fetches(relay_factory):
    relay = relay_factory(["--family-copies"])
    s = filmed(relay)
    other = relay.create_session(relay.token("alice"))
    assert give(relay, s).status == 200

    assert_error(copy(relay, s, method="PUT"), 403, "forbidden")  # the family cannot give itself one
    assert_error(copy(relay, s, invite=s["token"]), 403, "forbidden")  # the practitioner reads the clip itself
    assert_error(copies(relay, s, invite=other["inviteToken"]), 404, "session_not_found")
    assert_error(copy(relay, s, invite=other["inviteToken"]), 404, "session_not_found")
    assert_error(relay.http("PUT", f"/v1/sessions/{s['sid']}/family-copies/{s['clip']}", headers=bearer(relay.token("bob"))),
                 404, "session_not_found")
    assert_error(relay.http("GET", f"/v1/sessions/{s['sid']}/family-copies"), 401, "unauthorized")
    assert_error(relay.http("PUT", f"/v1/sessions/{s['sid']}/family-copies/{'0' * 16}", headers=bearer(s["token"])),
                 404, "clip_not_found")
    assert_error(relay.http("PUT", f"/v1/sessions/{s['sid']}/family-copies/0123456789ABCDEF", headers=bearer(s["token"])),
                 404, "clip_not_found")
    assert_error(relay.http("POST", f"/v1/sessions/{s['sid']}/family-copies", headers=bearer(s["invite"])),
                 405, "method_not_allowed")
    assert_error(relay.http("GET", f"/v1/sessions/{s['sid']}/family-copies/{s['clip']}/x", headers=bearer(s["invite"])),
                 404, "not_found")

    # A new link for the family: the old one fetches nothing more, the new one does.
    fresh = relay.http("POST", f"/v1/sessions/{s['sid']}/invite", headers=bearer(s["token"]))
    assert fresh.status == 200, fresh
    assert_error(copies(relay, s), 401, "invite_replaced")
    assert_error(copy(relay, s), 401, "invite_replaced")
    relay.secrets_seen.add(fresh.json()["inviteToken"])
    assert copy(relay, s, invite=fresh.json()["inviteToken"]).status == 200

    # Withdrawn consent deletes the clip, so the copy goes with it.
    s["f"].close()
    withdrawn = relay.http("POST", f"/v1/sessions/{s['sid']}/withdrawal", headers=bearer(fresh.json()["inviteToken"]))
    assert withdrawn.status == 200, withdrawn
    assert copies(relay, s, invite=fresh.json()["inviteToken"]).json() == {"clips": []}
    assert_error(copy(relay, s, invite=fresh.json()["inviteToken"]), 404, "clip_not_found")
    assert_error(give(relay, s), 404, "clip_not_found")
    s["p"].close()


def test_a_shared_review_gives_its_family_the_filmings_clip(relay_factory, client_bin, certs):
    """A filming and its shared review are two sessions of a case: the review gives the filming's
    clip (named with its session), and the review's family, on the review's link, saves it."""
    relay = relay_factory(["--family-copies"])
    case = {"caseRef": "fam-042", "cycle": 1}
    filming = filmed(relay, "alice", {**case, "purpose": "filming"})
    filming["p"].close()
    filming["f"].close()
    token = filming["token"]
    review = relay.create_session(token, {**case, "purpose": "review"})
    r = {"sid": review["sessionId"], "invite": review["inviteToken"], "clip": filming["clip"], "token": token}
    from_filming = json.dumps({"sessionId": filming["sid"]}).encode()
    path = f"/v1/sessions/{r['sid']}/family-copies/{r['clip']}"

    # Without naming the filming, the review has no such clip.
    assert_error(give(relay, r), 404, "clip_not_found")
    given = run([client_bin, "give-clip", "--server", relay.base_url, "--ca", certs.ca, "--token", token, "--session", r["sid"],
                 "--clip", r["clip"], "--clip-session", filming["sid"]])
    assert given.returncode == 0 and json.loads(given.stdout)["sessionId"] == filming["sid"], given.stderr
    assert relay.http("PUT", path, headers=bearer(token), body=from_filming).json()["givenAt"] == json.loads(given.stdout)["givenAt"]
    clip_bytes = relay.http("GET", f"/v1/sessions/{filming['sid']}/clips/{r['clip']}", headers=bearer(token)).body
    assert [c["clipId"] for c in copies(relay, r).json()["clips"]] == [r["clip"]]
    assert copy(relay, r).body == clip_bytes
    assert copies(relay, filming).json() == {"clips": []}, "given to the review's family, not the filming's link"
    [logged] = [e for e in events(relay, r["sid"]) if e["event"] == "family_copy_given"]
    assert logged["clipId"] == r["clip"] and logged["clipSessionId"] == filming["sid"]

    # Another case's session, or another practitioner's, cannot give it.
    other = relay.create_session(token, {"caseRef": "fam-043", "purpose": "review"})
    assert_error(relay.http("PUT", f"/v1/sessions/{other['sessionId']}/family-copies/{r['clip']}", headers=bearer(token),
                            body=from_filming), 404, "clip_not_found")
    bobs = relay.create_session(relay.token("bob"), {**case, "purpose": "review"})
    assert_error(relay.http("PUT", f"/v1/sessions/{bobs['sessionId']}/family-copies/{r['clip']}", headers=bearer(relay.token("bob")),
                            body=from_filming), 404, "clip_not_found")

    # The filming's family withdraws consent: its clips are deleted, so the review's copy goes too.
    withdrawn = relay.http("POST", f"/v1/sessions/{filming['sid']}/withdrawal", headers=bearer(filming["invite"]))
    assert withdrawn.status == 200, withdrawn
    assert copies(relay, r).json() == {"clips": []}
    assert_error(copy(relay, r), 404, "clip_not_found")
    assert relay.http("GET", f"/v1/sessions/{r['sid']}", headers=bearer(token)).json()["familyCopies"] == []


def test_a_relay_without_family_copies_gives_none(relay):
    s = filmed(relay)
    assert_error(give(relay, s), 403, "family_copies_off")
    assert_error(copies(relay, s), 403, "family_copies_off")
    assert_error(copy(relay, s), 403, "family_copies_off")
    # Taking back is always allowed (a copy given before the operator turned copies off).
    assert give(relay, s, "DELETE").json() == {"clipId": s["clip"], "givenToFamily": False}
    assert not any(e["event"].startswith("family_copy") for e in events(relay, s["sid"]))
    s["p"].close()
    s["f"].close()


def test_a_given_clip_of_an_encrypted_recording_keeps_its_note_sealed(relay_factory, vigrelay_bin, tmp_path):
    key = tmp_path / "recording.key"
    make_key(vigrelay_bin, key)
    relay = relay_factory(["--recording-key", str(key), "--family-copies"])
    s = filmed(relay)
    session_dir = Path(relay.data_dir) / "sessions" / s["sid"]
    record = (session_dir / "clips" / f"{s['clip']}.json").read_text()
    assert give(relay, s).status == 200
    assert (session_dir / "clips" / f"{s['clip']}.json").read_text() == record, "the clip's record is not touched"
    assert "sealedNote" in record and "his turn" not in record
    assert "his turn" not in (session_dir / "family-copies.json").read_text()
    summary = relay.http("GET", f"/v1/sessions/{s['sid']}", headers=bearer(s["token"])).json()
    assert summary["clips"][0]["note"] == "she waits for his turn" and [c["clipId"] for c in summary["familyCopies"]] == [s["clip"]]
    saved = copy(relay, s)
    assert saved.status == 200
    assert saved.body == relay.http("GET", f"/v1/sessions/{s['sid']}/clips/{s['clip']}", headers=bearer(s["token"])).body
    assert saved.body[:4] == b"\x1a\x45\xdf\xa3", "the family gets the clip decrypted, as WebM"
    s["p"].close()
    s["f"].close()


def test_the_client_gives_a_clip_and_the_family_saves_it(relay_factory, client_bin, certs, tmp_path):
    relay = relay_factory(["--family-copies"])
    s = filmed(relay)
    s["p"].close()
    s["f"].close()
    clip_bytes = relay.http("GET", f"/v1/sessions/{s['sid']}/clips/{s['clip']}", headers=bearer(s["token"])).body
    server = ["--server", relay.base_url, "--ca", certs.ca]
    practitioner = [*server, "--token", s["token"], "--session", s["sid"]]
    join_url = f"{relay.base_url}/join#session={s['sid']}&invite={s['invite']}"

    gave = run([client_bin, "give-clip", *practitioner, "--clip", s["clip"]])
    assert gave.returncode == 0 and json.loads(gave.stdout)["givenToFamily"] is True, gave.stderr
    saved = run([client_bin, "family-copies", *server, "--invite", join_url, "--save-to", tmp_path])
    assert saved.returncode == 0, saved.stderr
    assert [c["clipId"] for c in json.loads(saved.stdout)["clips"]] == [s["clip"]]
    assert (tmp_path / "clip-1.webm").read_bytes() == clip_bytes
    assert stat.S_IMODE((tmp_path / "clip-1.webm").stat().st_mode) == 0o600, "a film of a child is saved for its owner only"

    taken = run([client_bin, "give-clip", *practitioner, "--clip", s["clip"], "--take-back"])
    assert taken.returncode == 0 and json.loads(taken.stdout)["givenToFamily"] is False, taken.stderr
    listed = run([client_bin, "family-copies", *server, "--invite", s["invite"]])
    assert listed.returncode == 0 and json.loads(listed.stdout) == {"clips": []}, listed.stderr
    bad = run([client_bin, "give-clip", *practitioner, "--clip", "../etc"])
    assert bad.returncode != 0 and "not a clip id" in bad.stderr, bad.stderr
    as_family = run([client_bin, "give-clip", *server, "--token", s["invite"], "--session", s["sid"], "--clip", s["clip"]])
    assert as_family.returncode == 3 and "forbidden" in as_family.stderr, as_family.stderr


def test_the_client_says_when_a_relay_gives_no_copies(relay, client_bin, certs):
    s = filmed(relay)
    s["p"].close()
    s["f"].close()
    listed = run([client_bin, "family-copies", "--server", relay.base_url, "--ca", certs.ca, "--invite", s["invite"]])
    assert listed.returncode == 1 and "family_copies_off" in listed.stderr and "--family-copies" in listed.stderr, listed.stderr


@pytest.mark.timeout(240)
def test_deleting_the_filming_cuts_off_a_download_of_its_clip_given_in_the_review(relay_factory, tmp_path):
    """A copy given in the review is read from the filming's files: the filming's deletion must end
    its download in flight too, as it ends the filming's own (an open file would go on serving
    deleted video)."""
    relay = relay_factory(["--family-copies"])
    video = tmp_path / "big.webm"
    made = subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=640x360:rate=10,noise=alls=100:allf=t",
                           "-t", "8", "-c:v", "libvpx", "-g", "10", "-b:v", "40M", "-minrate", "40M", "-maxrate", "40M",
                           "-bufsize", "40M", "-deadline", "realtime", "-cpu-used", "8", "-fflags", "+bitexact", str(video)],
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert made.returncode == 0, made.stderr
    case = {"caseRef": "fam-042", "cycle": 1}
    p, f, s = relay.pair("alice", {**case, "purpose": "filming"})
    give_consent(p, f)
    rid = start_recording(p, f)
    send_camera(p, f, video.read_bytes(), 256 << 10)
    stop_recording(p, f, rid)
    token = s["practitionerToken"]
    clip = relay.http("POST", f"/v1/sessions/{s['sessionId']}/clips", headers=bearer(token),
                      body=json.dumps({"recordingId": rid, "fromMs": 0, "toMs": 7000}).encode())
    assert clip.status == 201, clip
    clip_id, clip_bytes = clip.json()["clipId"], clip.json()["bytes"]
    assert clip_bytes > 8 << 20, "big enough not to fit in the sockets' buffers"
    review = relay.create_session(token, {**case, "purpose": "review"})
    given = relay.http("PUT", f"/v1/sessions/{review['sessionId']}/family-copies/{clip_id}", headers=bearer(token),
                       body=json.dumps({"sessionId": s["sessionId"]}).encode())
    assert given.status == 200, given

    conn = HTTPConn(relay.port, relay.ssl_ctx, rcvbuf=32 << 10)
    try:
        conn.send("GET", f"/v1/sessions/{review['sessionId']}/family-copies/{clip_id}", bearer(review["inviteToken"]))
        status, headers = conn.read_head()
        assert status == 200 and int(headers["content-length"]) == clip_bytes, (status, headers)
        f.close()
        withdrawn = relay.http("POST", f"/v1/sessions/{s['sessionId']}/withdrawal", headers=bearer(s["inviteToken"]))
        assert withdrawn.status == 200, withdrawn
        got = conn.read_to_eof(timeout=20)
        assert got < clip_bytes, f"the copy's download went on to the end ({got} bytes) after the filming was deleted"
        assert "download cut off: recordings deleted" in relay.log_text()
    finally:
        conn.close()
        p.close()
