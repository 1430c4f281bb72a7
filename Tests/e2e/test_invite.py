"""A new family link (`POST /v1/sessions/{id}/invite`, `vigrelay-client invite`): for a link that
expired before the family joined, or one that went to the wrong person. The newest link is the only
one that joins; a family connected with an older one is disconnected at once; an older link can
still ask for the videos to be deleted. Every wait has a deadline."""
import base64
import json
import subprocess
import threading
import time

from vrtest import assert_error, bearer, HTTPConn, next_json, run, wait_until


def new_link(relay, sid: str, token: str) -> dict:
    r = relay.http("POST", f"/v1/sessions/{sid}/invite", headers=bearer(token))
    assert r.status == 200, r
    link = r.json()
    relay.secrets_seen.add(link["inviteToken"])
    return link


def test_a_new_link_disconnects_the_old_one_and_is_the_only_one_that_joins(relay_factory):
    relay = relay_factory()
    tok = relay.token("alice")
    session = relay.create_session(tok)
    sid, old = session["sessionId"], session["inviteToken"]
    practitioner, _ = relay.join(sid, tok, "practitioner", role="practitioner")
    family, _ = relay.join(sid, old, "family", role="family", peer_present=True)
    assert next_json(practitioner)["event"] == "joined"
    bob, bob_family, _ = relay.pair("bob")

    before = time.time()
    link = new_link(relay, sid, tok)
    assert link["sessionId"] == sid and link["inviteToken"] != old
    assert link["joinUrl"] == f"{relay.base_url}/join#session={sid}&invite={link['inviteToken']}"
    expires = time.mktime(time.strptime(link["expiresAt"], "%Y-%m-%dT%H:%M:%SZ")) - time.timezone
    assert abs(expires - (before + 7 * 86400)) < 5, f"the new link works 7 days from now: {link['expiresAt']}"

    messages, code = family.expect_close(timeout=10)
    refusal = json.loads(messages[0])
    assert refusal["type"] == "error" and refusal["code"] == "invite_replaced" and "newest link" in refusal["message"], messages
    assert code == 1008, code
    assert practitioner.recv_json(10) == {"type": "peer", "event": "left", "role": "family"}
    again = relay.connect(sid, "old link again")
    again.send_json({"type": "hello", "token": old})
    assert again.recv_error("invite_replaced")["message"] == refusal["message"]
    assert again.expect_close()[1] == 1008

    bob.send_json({"type": "ping", "id": "still-here"})
    assert bob.recv_json() == {"type": "pong", "id": "still-here"}, "another session's call goes on"
    # Sent with `Content-Length: 0` (as `vigrelay-client invite` and curl do), decided once.
    r = relay.http("POST", f"/v1/sessions/{sid}/invite", headers=bearer(tok), body=b"")
    assert r.status == 200, r
    link = r.json()
    relay.secrets_seen.add(link["inviteToken"])
    back, _ = relay.join(sid, link["inviteToken"], "family on the new link", role="family", peer_present=True)
    assert practitioner.recv_json() == {"type": "peer", "event": "joined", "role": "family"}

    events = relay.http("GET", f"/v1/sessions/{sid}", headers=bearer(tok)).json()["events"]["byType"]
    assert events.get("invite_replaced") == 2, events
    wait_until(lambda: "family invite replaced" in relay.log_text(), 10, "the new link logged")
    assert f"connections.closed=1 practitioner.id=alice session.id={sid}" in relay.log_text(), relay.log_text()[-2000:]
    assert relay.log_text().count("family invite replaced") == 2
    for ws in (practitioner, back, bob, bob_family):
        ws.close()


def test_the_new_link_holds_over_a_restart_and_the_old_one_can_still_withdraw(relay_factory):
    relay = relay_factory()
    tok = relay.token("alice")
    session = relay.create_session(tok)
    sid, first = session["sessionId"], session["inviteToken"]
    second = new_link(relay, sid, tok)["inviteToken"]
    third = new_link(relay, sid, tok)["inviteToken"]
    relay.stop()
    relay.start()
    for old in (first, second):
        ws = relay.connect(sid, "old link after a restart")
        ws.send_json({"type": "hello", "token": old})
        ws.recv_error("invite_replaced")
    family, _ = relay.join(sid, third, "family", role="family")
    family.close()
    withdrawn = relay.http("POST", f"/v1/sessions/{sid}/withdrawal", headers=bearer(first))
    assert withdrawn.status == 200 and withdrawn.json() == {"deleted": []}, withdrawn


def test_the_familys_page_asks_whether_its_link_joins_before_the_camera(relay_factory):
    """`GET /v1/sessions/{id}/invite` with the family's invite: 200 and the expiry while it would
    join, else what hello would say (expired, replaced, another session), also over a restart; it
    changes nothing."""
    relay = relay_factory(["--invite-ttl", "10s"])
    tok = relay.token("alice")
    session = relay.create_session(tok)
    sid, first = session["sessionId"], session["inviteToken"]
    path = f"/v1/sessions/{sid}/invite"
    good = relay.http("GET", path, headers=bearer(first))
    assert good.status == 200 and good.json() == {"sessionId": sid, "expiresAt": session["expiresAt"], "supervised": False,
                                           "familyCopies": False}, good
    conn = HTTPConn(relay.port, relay.ssl_ctx)
    head = conn.request("HEAD", path, headers=bearer(first))
    conn.close()
    assert head.status == 200 and int(head.headers["content-length"]) == len(good.body), head
    assert_error(relay.http("GET", path), 401, "unauthorized")
    assert_error(relay.http("GET", path, headers=bearer(tok)), 403, "forbidden")
    other = relay.create_session(relay.token("bob"))
    assert_error(relay.http("GET", path, headers=bearer(other["inviteToken"])), 404, "session_not_found")
    family, _ = relay.join(sid, first, "family", role="family")
    family.close()

    second = new_link(relay, sid, tok)["inviteToken"]
    relay.stop()
    relay.start()
    replaced = assert_error(relay.http("GET", path, headers=bearer(first)), 401, "invite_replaced")
    assert "newest link" in replaced["message"], replaced
    assert relay.http("GET", path, headers=bearer(second)).status == 200
    expired = wait_until(lambda: (r := relay.http("GET", path, headers=bearer(second))).status == 401 and r, 20,
                         "the new link to expire (--invite-ttl 10s)", interval=0.25)
    assert "expired" in assert_error(expired, 401, "unauthorized")["message"]
    events = relay.http("GET", f"/v1/sessions/{sid}", headers=bearer(tok)).json()["events"]["byType"]
    assert events.get("invite_replaced") == 1, f"checks are not logged as anything: {events}"


def test_only_the_sessions_practitioner_makes_a_new_link(relay_factory):
    relay = relay_factory()
    tok = relay.token("alice")
    session = relay.create_session(tok)
    sid = session["sessionId"]
    path = f"/v1/sessions/{sid}/invite"
    assert_error(relay.http("POST", path), 401, "unauthorized")
    assert_error(relay.http("POST", path, headers=bearer(session["inviteToken"])), 403, "forbidden")
    assert_error(relay.http("POST", path, headers=bearer(relay.metrics_token())), 403, "forbidden")
    assert_error(relay.http("POST", path, headers=bearer(relay.token("bob"))), 404, "session_not_found")
    assert_error(relay.http("POST", f"/v1/sessions/{'0' * 32}/invite", headers=bearer(tok)), 404, "session_not_found")
    assert "GET or HEAD or POST" in assert_error(relay.http("PUT", path, headers=bearer(tok)), 405, "method_not_allowed")["message"]
    family, _ = relay.join(sid, session["inviteToken"], "family", role="family")
    family.send_json({"type": "ping", "id": "p"})
    assert family.recv_json() == {"type": "pong", "id": "p"}, "no refused request replaced the link"
    family.close()


def test_the_client_makes_a_new_link_and_a_family_client_on_the_old_one_is_refused(relay_factory, client_bin, certs):
    relay = relay_factory()
    tok = relay.token("alice")
    session = relay.create_session(tok)
    sid = session["sessionId"]
    server = ["--server", relay.base_url, "--ca", certs.ca]
    family = subprocess.Popen([str(client_bin), "family", *server, "--invite", session["joinUrl"], "--duration", "60s"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
    try:
        wait_until(lambda: family.poll() is not None or relay.http("GET", "/healthz").json()["connections"] >= 1,
                   15, "the family client to connect")
        out = run([client_bin, "invite", *server, "--token", tok, "--session", sid])
        assert out.returncode == 0, out.stderr
        lines = dict(line.split(": ", 1) for line in out.stdout.strip().splitlines())
        assert set(lines) == {"sessionId", "inviteToken", "joinUrl", "expiresAt"} and lines["sessionId"] == sid, out.stdout
        relay.secrets_seen.add(lines["inviteToken"])
        _, err = family.communicate(timeout=20)
        assert family.returncode == 3, f"exit {family.returncode}: {err}"
        assert "invite_replaced" in err and "vigrelay-client invite" in err, err
    finally:
        if family.poll() is None:
            family.kill()
            family.wait(10)
    practitioner = relay.connect(sid, "practitioner asking for family_link_refused")
    practitioner.send_json({"type": "hello", "token": tok, "notices": ["family_link_refused"]})
    assert practitioner.recv_json(10)["type"] == "welcome"
    refused = run([client_bin, "family", *server, "--invite", session["inviteToken"], "--duration", "1s"])
    assert refused.returncode == 3 and "invite_replaced" in refused.stderr, refused.stderr
    notice = next_json(practitioner)  # after the camera frames the relay kept for a late joiner
    assert notice["type"] == "family_link_refused" and notice["reason"] == "replaced", "the family client checks its link first, as the page does"
    practitioner.close()
    joined = run([client_bin, "family", *server, "--invite", lines["joinUrl"], "--duration", "1s"], timeout=30)
    assert joined.returncode == 0, joined.stderr

    as_json = run([client_bin, "invite", *server, "--token", tok, "--session", sid, "--json"])
    assert as_json.returncode == 0 and json.loads(as_json.stdout)["sessionId"] == sid, as_json.stdout
    relay.secrets_seen.add(json.loads(as_json.stdout)["inviteToken"])
    bad = run([client_bin, "invite", *server, "--token", tok, "--session", "not-a-session"])
    assert bad.returncode == 64 and "not a session id" in bad.stderr, bad.stderr
    other = run([client_bin, "invite", *server, "--token", relay.token("bob"), "--session", sid])
    assert other.returncode == 1 and "session_not_found" in other.stderr, other.stderr


def test_a_new_link_that_cannot_be_saved_changes_nothing(relay_factory):
    """The disk refuses the session record (here its file is a directory, which no rename can
    replace, even as root): 500, the family on the current link stays, and that link still joins."""
    relay = relay_factory()
    tok = relay.token("alice")
    session = relay.create_session(tok)
    sid, invite = session["sessionId"], session["inviteToken"]
    family, _ = relay.join(sid, invite, "family", role="family")
    record = relay.data_dir / "sessions" / sid / "session.json"
    saved = record.read_bytes()
    record.unlink()
    (record / "blocked").mkdir(parents=True)
    body = assert_error(relay.http("POST", f"/v1/sessions/{sid}/invite", headers=bearer(tok)), 500, "internal_error")
    assert "current link still works" in body["message"], body
    assert "could not save the session's new family link" in relay.log_text()
    family.send_json({"type": "ping", "id": "still-here"})
    assert family.recv_json() == {"type": "pong", "id": "still-here"}, "the family on the current link stays"
    again, _ = relay.join(sid, invite, "family again", role="family")
    again.close()
    (record / "blocked").rmdir()
    record.rmdir()
    record.write_bytes(saved)
    link = new_link(relay, sid, tok)
    assert json.loads(record.read_text())["invitesReplacedBeforeMs"] > 0 and link["sessionId"] == sid


def test_links_asked_for_at_once_are_told_apart_and_only_the_newest_joins(relay_factory):
    """Eight new links asked for on eight connections at once, so that several fall in the same ms
    before any is saved: each gets its own issue time, and exactly one of them (the newest) joins."""
    relay = relay_factory()
    tok = relay.token("alice")
    sid = relay.create_session(tok)["sessionId"]
    conns = [HTTPConn(relay.port, relay.ssl_ctx) for _ in range(8)]
    for conn in conns:
        conn.send("POST", f"/v1/sessions/{sid}/invite", headers=bearer(tok), body=b"")
    links = []
    for conn in conns:
        r = conn.read_response()
        conn.close()
        assert r.status == 200, r
        links.append(r.json()["inviteToken"])
        relay.secrets_seen.add(links[-1])
    issued = [json.loads(base64.urlsafe_b64decode(link.split(".")[0] + "==")).get("iat") for link in links]
    assert len(set(issued)) == len(links), f"every link has its own issue time: {issued}"
    path = f"/v1/sessions/{sid}/invite"
    answers = [relay.http("GET", path, headers=bearer(link)) for link in links]
    joining = [iat for iat, r in zip(issued, answers) if r.status == 200]
    assert joining == [max(issued)], f"only the newest link joins: {[(iat, r.status) for iat, r in zip(issued, answers)]}"
    for r in answers:
        if r.status != 200:
            assert_error(r, 401, "invite_replaced")
    events = relay.http("GET", f"/v1/sessions/{sid}", headers=bearer(tok)).json()["events"]["byType"]
    assert events.get("invite_replaced") == 8, events


def test_the_practitioner_is_told_when_the_familys_page_is_turned_away_on_an_old_link(relay_factory, client_bin, certs):
    """The family's page checks its link as it opens, with `?from=family`: refused as replaced or
    expired, the practitioner in the session gets `family_link_refused` with the reason, if its hello
    asked for it (`vigrelay-client practitioner` does, and prints it); one who joins later is told as
    it joins. The practitioner's page checking the link it kept (no `from`) tells nobody, and neither
    does a refused `hello`."""
    relay = relay_factory(["--invite-ttl", "12s"])
    tok = relay.token("alice")
    session = relay.create_session(tok)
    sid, first = session["sessionId"], session["inviteToken"]
    path = f"/v1/sessions/{sid}/invite"
    # Only a practitioner that asks for the notice in its hello gets it.
    plain, _ = relay.join(sid, tok, "practitioner, asking for no notices", role="practitioner")
    assert_error(relay.http("GET", path + "?from=family", headers=bearer(first + "x")), 401, "unauthorized")
    second = new_link(relay, sid, tok)["inviteToken"]
    assert_error(relay.http("GET", path + "?from=family", headers=bearer(first)), 401, "invite_replaced")
    plain.send_json({"type": "ping", "id": "not-asked"})
    assert plain.recv_json(10) == {"type": "pong", "id": "not-asked"}, "a practitioner that did not ask is not told"

    # One that asks, joining after the family's page was refused, is told right after its welcome.
    practitioner = relay.connect(sid, "practitioner asking for family_link_refused")
    practitioner.send_json({"type": "hello", "token": tok, "notices": ["family_link_refused"]})
    assert practitioner.recv_json(10)["type"] == "welcome"
    notice = practitioner.recv_json(10)
    assert notice.keys() == {"type", "reason", "secondsAgo"} and notice["type"] == "family_link_refused", notice
    assert notice["reason"] == "replaced" and 0 <= notice["secondsAgo"] < 60, notice
    plain.recv_error("replaced")

    assert_error(relay.http("GET", path, headers=bearer(first)), 401, "invite_replaced")
    family = relay.connect(sid, "family on the replaced link")
    family.send_json({"type": "hello", "token": first})
    family.recv_error("invite_replaced")
    practitioner.send_json({"type": "ping", "id": "after-check-and-hello"})
    assert practitioner.recv_json(10) == {"type": "pong", "id": "after-check-and-hello"}, \
        "neither a check without from=family nor a refused hello tells the practitioner"
    bad = assert_error(relay.http("GET", path + "?from=practitioner", headers=bearer(first)), 400, "invalid_request")
    assert "from may only be family" in bad["message"], bad
    practitioner.close()

    # The family's page opens the expired link before the practitioner is there: the practitioner
    # who opens the session after is told at once.
    wait_until(lambda: relay.http("GET", path, headers=bearer(second)).status == 401, 20,
               "the newest link to expire (--invite-ttl 12s)", interval=0.25)
    assert "expired" in assert_error(relay.http("GET", path + "?from=family", headers=bearer(second)), 401, "unauthorized")["message"]
    prac = subprocess.Popen([str(client_bin), "practitioner", "--server", relay.base_url, "--ca", str(certs.ca), "--token", tok,
                             "--session", sid, "--output", "/dev/null", "--duration", "60s"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(prac.stderr), daemon=True)
    reader.start()
    try:
        told = wait_until(lambda: [line for line in lines if "family link refused" in line], 10, "the client to print the refusal")
        assert "a link that has expired; make a new one ('vigrelay-client invite' makes one)" in told[0], told
    finally:
        prac.kill()
        prac.wait(10)
        reader.join(10)
