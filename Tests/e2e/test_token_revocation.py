"""`vigrelay token revoke`: an operator ends every token issued so far to a practitioner (a laptop
lost, someone leaving) or a scraper, without replacing the secret that every other token hangs on.

A running relay notices the change to DATA/revoked-tokens.json within about a second: it closes the
WebSockets such a token opened and refuses the token from then on. Every wait has a deadline."""
import base64
import hashlib
import hmac
import json
import subprocess
import time

from vrtest import assert_error, bearer, next_json, run, serve_refused, wait_until


def revoke(relay, kind: str, who: str):
    out = run([relay.bins.vigrelay, "token", "revoke", kind, "--id", who, "--data-dir", relay.data_dir])
    assert out.returncode == 0, out.stderr
    assert f"revoked every {kind} token for {who} issued before" in out.stdout, out.stdout
    assert f"vigrelay token {kind} --id {who}" in out.stdout, out.stdout
    return out


def old_style_token(relay, who: str) -> str:
    """A practitioner token as relays signed them before tokens carried their issue time (`iat`),
    signed here with the relay's own secret (DATA/secret, its text being the key)."""
    key = (relay.data_dir / "secret").read_bytes().strip()
    claims = {"v": 1, "exp": int(time.time()) + 3600, "kind": "practitioner", "sub": who}
    payload = base64.urlsafe_b64encode(json.dumps(claims, separators=(",", ":")).encode()).rstrip(b"=")
    signature = base64.urlsafe_b64encode(hmac.new(key, payload, hashlib.sha256).digest()).rstrip(b"=")
    return (payload + b"." + signature).decode()


def test_a_revoked_practitioner_is_closed_refused_and_can_be_given_a_new_token(relay_factory):
    relay = relay_factory()
    old = relay.token("alice")
    session = relay.create_session(old)
    sid = session["sessionId"]
    practitioner, _ = relay.join(sid, old, "practitioner", role="practitioner")
    family, _ = relay.join(sid, session["inviteToken"], "family", role="family")
    assert next_json(practitioner)["event"] == "joined"
    bob, bob_family, _ = relay.pair("bob")

    revoke(relay, "practitioner", "alice")

    messages, code = practitioner.expect_close(timeout=10)
    refusal = json.loads(messages[0])
    assert refusal["type"] == "error" and refusal["code"] == "unauthorized" and "revoked" in refusal["message"], messages
    assert code == 1008, code
    assert family.recv_json(10) == {"type": "peer", "event": "left", "role": "practitioner"}
    body = assert_error(relay.http("GET", "/v1/sessions", headers=bearer(old)), 401, "unauthorized")
    assert "revoked" in body["message"] and "ask them for a new one" in body["message"], body
    again = relay.connect(sid, "practitioner again")
    again.send_json({"type": "hello", "token": old})
    assert "revoked" in again.recv_error("unauthorized")["message"]

    bob.send_json({"type": "ping", "id": "still-here"})
    assert bob.recv_json() == {"type": "pong", "id": "still-here"}, "another practitioner's call goes on"

    new = relay.token("alice")
    listed = relay.http("GET", "/v1/sessions", headers=bearer(new))
    assert listed.status == 200 and [s["sessionId"] for s in listed.json()["sessions"]] == [sid], listed
    back, _ = relay.join(sid, new, "practitioner with a new token", role="practitioner", peer_present=True)
    assert family.recv_json() == {"type": "peer", "event": "joined", "role": "practitioner"}
    wait_until(lambda: "token revocations changed" in relay.log_text(), 10, "the revocation logged")
    assert "connections.closed=1 entries=1 revoked=practitioner:alice" in relay.log_text(), relay.log_text()[-2000:]
    for ws in (back, family, bob, bob_family, again):
        ws.close()


def test_revocations_hold_over_a_restart_and_cover_tokens_from_before_issue_times(relay_factory):
    relay = relay_factory(start=False)
    relay.start()
    carol = old_style_token(relay, "carol")
    assert relay.http("GET", "/v1/sessions", headers=bearer(carol)).status == 200, "a token without iat still works"
    dave = relay.token("dave")
    relay.stop()

    revoke(relay, "practitioner", "carol")
    revoke(relay, "practitioner", "dave")
    relay.start()
    assert "token revocations loaded" in relay.log_text()
    for token in (carol, dave):
        assert_error(relay.http("GET", "/v1/sessions", headers=bearer(token)), 401, "unauthorized")
    assert relay.http("GET", "/v1/sessions", headers=bearer(relay.token("dave"))).status == 200


def test_a_revoked_metrics_token_reads_nothing(relay_factory):
    relay = relay_factory()
    scraper = relay.metrics_token("prometheus")
    other = relay.metrics_token("grafana-agent")
    assert relay.metrics(scraper)["vigrelay_websocket_connections"] == 0
    revoke(relay, "metrics", "prometheus")
    wait_until(lambda: relay.http("GET", "/metrics", headers=bearer(scraper)).status == 401, 10,
               "the revoked metrics token refused")
    assert relay.metrics(other)["vigrelay_websocket_connections"] == 0, "another scraper's token still reads"
    assert relay.metrics(relay.metrics_token("prometheus"))["vigrelay_websocket_connections"] == 0

    (relay.data_dir / "revoked-tokens.json").unlink()
    wait_until(lambda: relay.http("GET", "/metrics", headers=bearer(scraper)).status == 200, 10,
               "the revocation lifted with the file removed")
    assert "lifted=metrics:prometheus" in relay.log_text()


def test_an_unreadable_revocation_list_stops_the_start_and_is_kept_while_running(relay_factory):
    relay = relay_factory()
    old = relay.token("alice")
    revoke(relay, "practitioner", "alice")
    wait_until(lambda: relay.http("GET", "/v1/sessions", headers=bearer(old)).status == 401, 10, "the revocation applied")

    (relay.data_dir / "revoked-tokens.json").write_text("{not json")
    wait_until(lambda: "token revocations changed but cannot be read" in relay.log_text(), 10, "the bad file logged")
    assert_error(relay.http("GET", "/v1/sessions", headers=bearer(old)), 401, "unauthorized")
    relay.stop()

    out = serve_refused(relay.bins.vigrelay, relay.data_dir, "--cert", relay.certs.cert, "--key", relay.certs.key)
    assert out.returncode != 0 and "cannot read the token revocations" in out.stderr and "revoked-tokens.json" in out.stderr, out.stderr
    out = run([relay.bins.vigrelay, "token", "revoke", "practitioner", "--id", "bob", "--data-dir", relay.data_dir])
    assert out.returncode != 0 and "cannot read the token revocations" in out.stderr, out.stderr


def test_revoke_checks_its_arguments(relay_factory):
    relay = relay_factory(start=False)
    for args, message in ((["practitioner", "--id", "no spaces"], "--id 'no spaces' is not valid"),
                          (["admin", "--id", "alice"], "'admin' is invalid for '<kind>'"),
                          (["practitioner"], "Missing expected argument '--id <id>'")):
        out = run([relay.bins.vigrelay, "token", "revoke", *args, "--data-dir", relay.data_dir])
        assert out.returncode == 64 and message in out.stderr, (args, out.returncode, out.stderr)
    assert not (relay.data_dir / "revoked-tokens.json").exists()
    out = run([relay.bins.vigrelay, "token", "revoke", "practitioner", "--id", "alice", "--data-dir", relay.data_dir / "typo"])
    assert out.returncode == 0 and "is it the relay's --data-dir?" in out.stderr, out.stderr
    relay.start()
    assert "--data-dir" not in revoke(relay, "practitioner", "alice").stderr, "no warning for the relay's own directory"


def test_the_client_in_a_call_says_its_token_was_revoked(relay_factory, client_bin, certs):
    """`vigrelay-client practitioner` whose token is revoked during the call exits 3 (token refused)
    with the relay's words, not as a dropped connection."""
    relay = relay_factory()
    token = relay.token("alice")
    sid = relay.create_session(token)["sessionId"]
    proc = subprocess.Popen([str(client_bin), "practitioner", "--server", relay.base_url, "--ca", str(certs.ca),
                             "--token", token, "--session", sid, "--output", "/dev/null"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
    try:
        wait_until(lambda: "peer joined" in relay.log_text(), 20, "the practitioner client joined")
        revoke(relay, "practitioner", "alice")
        _, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 3, (proc.returncode, err)
    assert "token refused by the relay (unauthorized): token was revoked by this relay's operator" in err, err
