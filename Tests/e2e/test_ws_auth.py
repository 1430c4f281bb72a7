"""WebSocket joining: hello, welcome, roles, tokens, peer events, replacement, hello timeout
(docs/PROTOCOL.md, "Joining" and "Errors")."""

from __future__ import annotations

import json
import socket
import ssl
import time

import pytest

from vrtest import forge, wait_until, ws_path
from wsraw import RawWebSocket, parse_response_head


def test_practitioner_then_family_welcome_and_joined(relay):
    tok = relay.token("alice")
    s = relay.create_session(tok)
    sid = s["sessionId"]
    p, welcome = relay.join(sid, tok, "practitioner")
    assert welcome == {"type": "welcome", "role": "practitioner", "sessionId": sid, "peerPresent": False, "retentionSeconds": 5184000}, welcome
    f, welcome = relay.join(sid, s["inviteToken"], "family")
    assert welcome == {"type": "welcome", "role": "family", "sessionId": sid, "peerPresent": True, "retentionSeconds": 5184000}, welcome
    assert p.recv_json() == {"type": "peer", "event": "joined", "role": "family"}
    p.close()
    f.close()


def test_family_then_practitioner_welcome_and_joined(relay):
    tok = relay.token("alice")
    s = relay.create_session(tok)
    sid = s["sessionId"]
    f, welcome = relay.join(sid, s["inviteToken"], "family")
    assert welcome == {"type": "welcome", "role": "family", "sessionId": sid, "peerPresent": False, "retentionSeconds": 5184000}, welcome
    p, welcome = relay.join(sid, tok, "practitioner")
    assert welcome == {"type": "welcome", "role": "practitioner", "sessionId": sid, "peerPresent": True, "retentionSeconds": 5184000}, welcome
    assert f.recv_json() == {"type": "peer", "event": "joined", "role": "practitioner"}
    p.close()
    f.close()


def test_peer_left_on_close_and_on_abrupt_drop(relay, ssl_ctx):
    p, f, s = relay.pair()
    sid = s["sessionId"]
    t0 = time.monotonic()
    f.close()  # a clean WebSocket close
    assert p.recv_json(timeout=3) == {"type": "peer", "event": "left", "role": "family"}
    assert time.monotonic() - t0 < 3

    # The family comes back over a raw socket and then drops the TCP connection without a close frame.
    raw = RawWebSocket.connect("127.0.0.1", relay.port, ws_path(sid), ssl_ctx)
    assert raw.status == 101
    raw.send_text('{"type":"hello","token":"%s"}' % s["inviteToken"])
    m = raw.recv()
    assert m.kind == "text" and '"welcome"' in m.text, m
    assert p.recv_json() == {"type": "peer", "event": "joined", "role": "family"}
    raw.abort()
    assert p.recv_json(timeout=3) == {"type": "peer", "event": "left", "role": "family"}

    # And the other way round.
    f, _ = relay.join(sid, s["inviteToken"], "family", peer_present=True)
    assert p.recv_json() == {"type": "peer", "event": "joined", "role": "family"}
    p.close()
    assert f.recv_json(timeout=3) == {"type": "peer", "event": "left", "role": "practitioner"}
    f.close()


def test_bye_closes_with_1000_and_peer_gets_left(relay):
    p, f, _ = relay.pair()
    f.send_json({"type": "bye"})
    before, code = f.expect_close()
    assert code == 1000, f"bye should close with 1000, got {code} (messages before: {before})"
    assert p.recv_json(timeout=3) == {"type": "peer", "event": "left", "role": "family"}
    p.close()


def test_hello_id_is_echoed_on_welcome(relay):
    tok = relay.token("alice")
    s = relay.create_session(tok)
    _, welcome = relay.join(s["sessionId"], tok, "practitioner", msg_id="h-1")
    assert welcome.get("id") == "h-1", welcome
    _, welcome = relay.join(s["sessionId"], s["inviteToken"], "family", msg_id=7)
    assert welcome.get("id") == 7, welcome


def _refused(relay, sid, hello, code, close_code=1008, msg_id=None):
    ws = relay.connect(sid, "refused")
    if msg_id is not None:
        hello = dict(hello, id=msg_id)
    ws.send_json(hello)
    got, closed = ws.expect_close()
    assert got, f"expected error {code!r} before the close, got nothing (close {closed})"
    err = json.loads(got[0])
    assert err.get("type") == "error" and err.get("code") == code, f"expected error {code}, got {got}"
    assert isinstance(err.get("message"), str) and err["message"], err
    if msg_id is not None:
        assert err.get("id") == msg_id, f"error should echo id {msg_id!r}: {err}"
    assert closed == close_code, f"expected close {close_code} after {code}, got {closed}"
    return err


def test_practitioner_token_of_another_practitioner_is_forbidden(relay):
    s = relay.create_session(relay.token("alice"))
    _refused(relay, s["sessionId"], {"type": "hello", "token": relay.token("bob")}, "forbidden", msg_id="x")


def test_invite_of_another_session_is_forbidden(relay):
    tok = relay.token("alice")
    a = relay.create_session(tok)
    b = relay.create_session(tok)
    _refused(relay, a["sessionId"], {"type": "hello", "token": b["inviteToken"]}, "forbidden")


def test_forbidden_does_not_disturb_the_joined_side(relay):
    p, f, s = relay.pair()
    other = relay.create_session(s["practitionerToken"])
    _refused(relay, s["sessionId"], {"type": "hello", "token": other["inviteToken"]}, "forbidden")
    _refused(relay, s["sessionId"], {"type": "hello", "token": relay.token("mallory")}, "forbidden")
    f.send_json({"type": "signal", "n": 1})
    assert p.recv_json() == {"type": "signal", "n": 1}, "the refused connections must not replace or notify anyone"
    p.close()
    f.close()


@pytest.mark.parametrize("kind", ["garbage", "wrong-signature", "other-secret", "empty", "no-token", "number"])
def test_bad_token_is_unauthorized_1008(relay, forged_token, kind):
    tok = relay.token("alice")
    s = relay.create_session(tok)
    hello = {"type": "hello", "token": {
        "garbage": "not-a-token", "wrong-signature": forge(tok), "other-secret": forged_token,
        "empty": "", "number": 12345, "no-token": None}[kind]}
    if kind == "no-token":
        del hello["token"]
    _refused(relay, s["sessionId"], hello, "unauthorized", msg_id="a1")


def test_forged_invite_is_unauthorized(relay):
    s = relay.create_session(relay.token("alice"))
    _refused(relay, s["sessionId"], {"type": "hello", "token": forge(s["inviteToken"])}, "unauthorized")


def test_expired_practitioner_token_is_unauthorized(relay):
    s = relay.create_session(relay.token("alice"))
    short = relay.token("alice", ttl="1s")
    # Wait (bounded) until the HTTP API says it has expired, then try to join with it.
    wait_until(lambda: relay.post_sessions(short).status == 401, 5, "the 1 s token to expire", interval=0.2)
    _refused(relay, s["sessionId"], {"type": "hello", "token": short}, "unauthorized")


def test_unknown_session_is_session_not_found_4404(relay):
    tok = relay.token("alice")
    relay.create_session(tok)
    _refused(relay, "0123456789abcdef0123456789abcdef", {"type": "hello", "token": tok},
             "session_not_found", close_code=4404)


@pytest.mark.parametrize("path", ["/v1/sessions/0123456789ABCDEF0123456789ABCDEF/ws", "/v1/sessions/abc/ws",
                                  "/v1/sessions//ws", "/ws", "/", "/v1/sessions/0123456789abcdef0123456789abcdef/ws/x"])
def test_other_websocket_paths_are_session_not_found_4404(relay, ssl_ctx, path):
    tok = relay.token("alice")
    ws = RawWebSocket.connect("127.0.0.1", relay.port, path, ssl_ctx)
    assert ws.status == 101, f"upgrade on {path}: HTTP {ws.status} {ws.reason}; the contract closes it with 4404"
    try:
        ws.send_text('{"type":"hello","token":"%s"}' % tok)
    except OSError:
        pass
    got, close = ws.recv_until_close()
    ws.abort()
    assert close is not None, f"{path}: connection ended without a close frame; got {got}"
    assert close.code == 4404, f"{path}: expected close 4404, got {close}"
    assert any(m.kind == "text" and '"session_not_found"' in m.text for m in got), f"{path}: no session_not_found error: {got}"


def test_missing_subprotocol_closes_1002(relay, ssl_ctx):
    s = relay.create_session(relay.token("alice"))
    ws = RawWebSocket.connect("127.0.0.1", relay.port, ws_path(s["sessionId"]), ssl_ctx, subprotocols=None)
    assert ws.status == 101, f"expected the upgrade then close 1002, got HTTP {ws.status} {ws.reason}"
    got, close = ws.recv_until_close()
    ws.abort()
    assert close is not None and close.code == 1002, f"expected close 1002, got {close} after {got}"
    assert not any(m.kind == "text" and '"welcome"' in m.text for m in got)


def _send_upgrade(relay, ssl_ctx, path: str, headers: list[tuple[str, str]]) -> ssl.SSLSocket:
    """A TLS connection that has sent an upgrade request with exactly `headers` (after Host)."""
    raw = socket.create_connection(("127.0.0.1", relay.port), timeout=10)
    sock = ssl_ctx.wrap_socket(raw, server_hostname="127.0.0.1")
    lines = [f"GET {path} HTTP/1.1", f"Host: 127.0.0.1:{relay.port}"] + [f"{k}: {v}" for k, v in headers]
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
    return sock


def _upgrade_answer(relay, ssl_ctx, path: str, headers: list[tuple[str, str]]) -> tuple[int, dict, dict]:
    """Sends an upgrade request with exactly `headers` and reads the answer to the end: status,
    lower-cased headers, JSON body. The relay must close the connection after it."""
    sock = _send_upgrade(relay, ssl_ctx, path, headers)
    data = bytearray()
    deadline = time.monotonic() + 10
    while True:
        assert time.monotonic() < deadline, f"the relay neither answered nor closed: {bytes(data)!r}"
        try:
            chunk = sock.recv(65536)
        except (ssl.SSLError, ConnectionResetError):
            break
        if not chunk:
            break
        data += chunk
    sock.close()
    head, sep, body = bytes(data).partition(b"\r\n\r\n")
    assert sep, f"no HTTP answer, only {bytes(data)!r}"
    status, _, answer_headers = parse_response_head(head)
    assert int(answer_headers["content-length"]) == len(body), (answer_headers, body)
    return status, answer_headers, json.loads(body)


GOOD_UPGRADE = [("Upgrade", "websocket"), ("Connection", "Upgrade"), ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
                ("Sec-WebSocket-Version", "13"), ("Sec-WebSocket-Protocol", "vigrelay.v1")]


def _with(name: str, value: str | None) -> list[tuple[str, str]]:
    """GOOD_UPGRADE with one header replaced (or left out, for None)."""
    return [(k, value if k == name else v) for k, v in GOOD_UPGRADE if k != name or value is not None]


@pytest.mark.parametrize("name,value,status,says", [
    ("Sec-WebSocket-Key", None, 400, "Sec-WebSocket-Key: 16 random bytes in base64"),
    ("Sec-WebSocket-Key", "c2hvcnQ=", 400, "Sec-WebSocket-Key: 16 random bytes in base64"),
    ("Sec-WebSocket-Key", "not base64 at all!!!!!!!", 400, "Sec-WebSocket-Key: 16 random bytes in base64"),
    ("Sec-WebSocket-Version", "8", 426, "send Sec-WebSocket-Version: 13"),
    ("Sec-WebSocket-Version", None, 426, "send Sec-WebSocket-Version: 13"),
    ("Connection", "keep-alive", 400, "Connection: Upgrade"),
    ("Sec-WebSocket-Protocol", "chat, superchat", 400, "send Sec-WebSocket-Protocol: vigrelay.v1"),
], ids=["no-key", "short-key", "key-not-base64", "version-8", "no-version", "connection-without-upgrade", "other-subprotocols"])
def test_a_malformed_upgrade_gets_a_clear_http_error_and_is_closed(relay, ssl_ctx, name, value, status, says):
    """RFC 6455 4.2.1: what lws 4.1.6 would close without a word (or accept, for another version)
    is answered with the API's error shape, and the connection closed; the relay serves on."""
    s = relay.create_session(relay.token("alice"))
    got, headers, body = _upgrade_answer(relay, ssl_ctx, ws_path(s["sessionId"]), _with(name, value))
    assert got == status, (got, headers, body)
    assert body["type"] == "error" and body["code"] == "invalid_request" and says in body["message"], body
    if status == 426:
        assert headers.get("sec-websocket-version") == "13", headers
    assert headers.get("connection") == "close", headers
    p, _ = relay.join(s["sessionId"], relay.token("alice"), "practitioner")
    p.close()


@pytest.mark.parametrize("path", ["/healthz", "/v1/sessions/0123456789abcdef0123456789abcdef/ws"])
def test_an_upgrade_to_h2c_gets_a_clear_http_error(relay, ssl_ctx, path):
    """`Upgrade: h2c` (HTTP/2 over cleartext, asked on a TLS connection) was closed by lws without
    a word: it is refused with the API's error shape, and the connection closed."""
    got, headers, body = _upgrade_answer(relay, ssl_ctx, path, [("Upgrade", "h2c"), ("Connection", "Upgrade, HTTP2-Settings"),
                                                                 ("HTTP2-Settings", "AAMAAABkAAQCAAAAAAIAAAAA")])
    assert got == 400 and body["code"] == "invalid_request" and "h2c" in body["message"], (got, body)
    assert headers.get("connection") == "close", headers


@pytest.mark.parametrize("connection", ["Upgrade", "keep-alive, Upgrade", "upgrade"])
def test_a_well_formed_raw_upgrade_is_accepted(relay, ssl_ctx, connection):
    """The requests above with every header right are upgraded (Firefox sends `keep-alive, Upgrade`):
    each refusal is for its own header."""
    s = relay.create_session(relay.token("alice"))
    sock = _send_upgrade(relay, ssl_ctx, ws_path(s["sessionId"]), _with("Connection", connection))
    head = bytearray()
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(65536)
        assert chunk, f"closed during the upgrade: {bytes(head)!r}"
        head += chunk
    status, _, headers = parse_response_head(bytes(head).partition(b"\r\n\r\n")[0])
    sock.close()
    assert status == 101 and headers.get("sec-websocket-protocol") == "vigrelay.v1", (status, headers)


def test_subprotocol_is_confirmed(relay, ssl_ctx):
    s = relay.create_session(relay.token("alice"))
    ws = RawWebSocket.connect("127.0.0.1", relay.port, ws_path(s["sessionId"]), ssl_ctx,
                              subprotocols=["other.v9", "vigrelay.v1"])
    assert ws.status == 101, ws.status
    assert ws.headers.get("sec-websocket-protocol") == "vigrelay.v1", ws.headers
    ws.close()


def test_replacement_closes_the_first_with_4001(relay):
    p, f1, s = relay.pair()
    f2, welcome = relay.join(s["sessionId"], s["inviteToken"], "family2", role="family", peer_present=True)
    got, code = f1.expect_close()
    assert got and json.loads(got[0]).get("code") == "replaced", f"first family expected error replaced, got {got}"
    assert json.loads(got[0]).get("type") == "error"
    assert code == 4001, f"replaced connection should close with 4001, got {code}"
    ev = p.recv_json()
    assert ev == {"type": "peer", "event": "joined", "role": "family"}, f"a replaced side never 'left': {ev}"
    # The new family connection is the live one.
    f2.send_json({"type": "signal", "from": "f2"})
    assert p.recv_json() == {"type": "signal", "from": "f2"}
    p.send_json({"type": "signal", "to": "f2"})
    assert f2.recv_json() == {"type": "signal", "to": "f2"}
    p.close()
    f2.close()


def test_replacement_of_the_practitioner(relay):
    p1, f, s = relay.pair()
    p2, _ = relay.join(s["sessionId"], s["practitionerToken"], "practitioner2", role="practitioner", peer_present=True)
    got, code = p1.expect_close()
    assert code == 4001 and got and '"replaced"' in got[0], (got, code)
    ev = f.recv_json()
    assert ev == {"type": "peer", "event": "joined", "role": "practitioner"}, f"a replaced side never 'left': {ev}"
    p2.close()
    f.close()


def test_replacement_of_a_half_open_connection(relay, ssl_ctx):
    """A phone that vanished without closing must not lock the family out."""
    tok = relay.token("alice")
    s = relay.create_session(tok)
    ghost = RawWebSocket.connect("127.0.0.1", relay.port, ws_path(s["sessionId"]), ssl_ctx)
    ghost.send_text('{"type":"hello","token":"%s"}' % s["inviteToken"])
    assert '"welcome"' in ghost.recv().text
    # The ghost never reads or answers again; a new family connection takes over at once.
    f, welcome = relay.join(s["sessionId"], s["inviteToken"], "family", role="family")
    p, welcome = relay.join(s["sessionId"], tok, "practitioner", peer_present=True)
    f.send_json({"type": "signal", "ok": True})
    assert p.recv_json() == {"type": "signal", "ok": True}
    ghost.abort()
    p.close()
    f.close()


def test_no_hello_within_5_s_is_hello_timeout(relay, ssl_ctx):
    s = relay.create_session(relay.token("alice"))
    ws = RawWebSocket.connect("127.0.0.1", relay.port, ws_path(s["sessionId"]), ssl_ctx)
    assert ws.status == 101
    t0 = time.monotonic()
    got, close = ws.recv_until_close(timeout=10)
    elapsed = time.monotonic() - t0
    ws.abort()
    assert any(m.kind == "text" and '"hello_timeout"' in m.text for m in got), f"no hello_timeout error: {got}"
    assert close is not None and close.code == 1008, f"expected close 1008, got {close}"
    assert 4.0 <= elapsed <= 8.0, f"hello timeout after {elapsed:.1f} s, contract says 5 s"


def test_hello_timeout_option(small_relay, ssl_ctx):
    s = small_relay.create_session(small_relay.token("alice"))
    ws = RawWebSocket.connect("127.0.0.1", small_relay.port, ws_path(s["sessionId"]), ssl_ctx)
    t0 = time.monotonic()
    got, close = ws.recv_until_close(timeout=5)
    elapsed = time.monotonic() - t0
    ws.abort()
    assert any(m.kind == "text" and '"hello_timeout"' in m.text for m in got), got
    assert close is not None and close.code == 1008, close
    assert elapsed < 3.0, f"--hello-timeout 1 took {elapsed:.1f} s"


def test_hello_in_time_is_not_timed_out(small_relay):
    """A joined connection stays open past the hello timeout."""
    tok = small_relay.token("alice")
    s = small_relay.create_session(tok)
    p, _ = small_relay.join(s["sessionId"], tok, "practitioner")
    deadline = time.monotonic() + 2.5  # well past the 1 s hello timeout
    while time.monotonic() < deadline:
        p.send_json({"type": "signal", "id": "ping"})
        assert p.recv_error("peer_absent").get("id") == "ping"
        time.sleep(0.25)
    p.close()
