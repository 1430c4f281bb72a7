"""HTTPS API: GET /healthz and POST /v1/sessions (docs/PROTOCOL.md, "HTTP API")."""

from __future__ import annotations

import json
import socket
import ssl
import time
import uuid
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

import pytest

from vrtest import HEX32, assert_error, forge, serve_refused, wait_until
from wsraw import parse_response_head


def test_healthz_is_200_json_with_status_and_connections(relay):
    r = relay.http("GET", "/healthz")
    assert r.status == 200, r
    assert "application/json" in r.headers.get("content-type", ""), f"Content-Type: {r.headers.get('content-type')}"
    body = r.json()
    assert body.get("status") == "ok", body
    assert isinstance(body.get("connections"), int) and not isinstance(body["connections"], bool), body


def test_healthz_counts_websocket_connections(relay_factory):
    relay = relay_factory()
    assert relay.http("GET", "/healthz").json()["connections"] == 0
    p, f, _ = relay.pair()
    wait_until(lambda: relay.http("GET", "/healthz").json()["connections"] == 2, 5, "connections == 2")
    p.close()
    f.close()
    wait_until(lambda: relay.http("GET", "/healthz").json()["connections"] == 0, 5, "connections back to 0")


def test_tls_only_plain_http_is_not_served(relay):
    with socket.create_connection(("127.0.0.1", relay.port), timeout=5) as s:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        s.settimeout(5)
        try:
            data = s.recv(4096)
        except (ConnectionResetError, TimeoutError, OSError):
            data = b""
    assert not data.startswith(b"HTTP/") and b"\"status\"" not in data, f"plain HTTP was answered in plain HTTP: {data[:200]!r}"


def test_alpn_selects_http_1_1(relay, certs):
    ctx = ssl.create_default_context(cafile=str(certs.ca))
    ctx.set_alpn_protocols(["h2", "http/1.1"])
    with socket.create_connection(("127.0.0.1", relay.port), timeout=5) as raw:
        with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            assert tls.selected_alpn_protocol() == "http/1.1", f"ALPN chose {tls.selected_alpn_protocol()!r}"


def test_certificate_is_verified_for_localhost_too(relay, certs):
    ctx = ssl.create_default_context(cafile=str(certs.ca))
    with socket.create_connection(("127.0.0.1", relay.port), timeout=5) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as tls:
            assert tls.version() in ("TLSv1.2", "TLSv1.3"), tls.version()


def test_create_session_201_fields(relay):
    tok = relay.token("alice")
    before = datetime.now(timezone.utc)
    r = relay.post_sessions(tok)
    assert r.status == 201, r
    assert "application/json" in r.headers.get("content-type", ""), r.headers
    s = r.json()
    relay.secrets_seen.add(s["inviteToken"])
    sid = s["sessionId"]
    assert HEX32.match(sid), f"sessionId is not 32 lower-case hex: {sid!r}"
    assert isinstance(s["inviteToken"], str) and s["inviteToken"].count(".") == 1, s["inviteToken"]
    assert s["inviteToken"] != tok

    join = s["joinUrl"]
    prefix = f"https://127.0.0.1:{relay.port}/join#"
    assert join.startswith(prefix), f"joinUrl {join!r} does not start with {prefix!r}"
    parts = urlsplit(join)
    assert parts.query == "", f"joinUrl must carry the invite only in the fragment: {join!r}"
    assert s["inviteToken"] not in join.split("#", 1)[0], "invite appears before the fragment"
    frag = parse_qs(parts.fragment)
    assert frag.get("session") == [sid], f"fragment session: {parts.fragment!r}"
    assert frag.get("invite") == [s["inviteToken"]], f"fragment invite: {parts.fragment!r}"

    assert s["webSocketUrl"] == f"wss://127.0.0.1:{relay.port}/v1/sessions/{sid}/ws", s["webSocketUrl"]

    exp = s["expiresAt"]
    assert exp.endswith("Z"), f"expiresAt should be UTC ISO 8601: {exp!r}"
    exp_t = datetime.strptime(exp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    expected = before + timedelta(days=7)
    assert abs((exp_t - expected).total_seconds()) < 120, f"expiresAt {exp} is not about 7 days from now"


def test_create_session_ids_are_unique(relay):
    tok = relay.token("alice")
    ids = {relay.create_session(tok)["sessionId"] for _ in range(5)}
    assert len(ids) == 5


def test_create_session_keeps_labels(relay):
    tok = relay.token("alice")
    s = relay.create_session(tok, {"caseRef": "fam-042", "cycle": 1, "purpose": "filming"})
    assert (s.get("caseRef"), s.get("cycle"), s.get("purpose")) == ("fam-042", 1, "filming"), s
    s = relay.create_session(tok, {"caseRef": "Z" + "9" * 63, "cycle": 99, "purpose": "review"})
    assert (s.get("caseRef"), s.get("cycle"), s.get("purpose")) == ("Z" + "9" * 63, 99, "review"), s


def test_an_empty_body_with_content_length_0_creates_one_session(relay_factory):
    """`curl -d ''` and most HTTP libraries send `Content-Length: 0` with a POST without a body;
    lws then also reports the end of that empty body, which must not create a second session."""
    relay = relay_factory()
    tok = relay.token("alice")
    r = relay.post_sessions(tok, raw_body=b"")
    assert r.status == 201, r
    listed = relay.http("GET", "/v1/sessions", headers={"Authorization": f"Bearer {tok}"}).json()
    assert [s["sessionId"] for s in listed["sessions"]] == [r.json()["sessionId"]], listed
    assert relay.log_text().count("session created") == 1


@pytest.mark.parametrize("body", [None, {}, {"cycle": 2}, {"purpose": "review"}, {"caseRef": "a"},
                                  {"caseRef": "0a.b_c-D"}])
def test_create_session_optional_body(relay, body):
    tok = relay.token("alice")
    s = relay.create_session(tok, body)
    for label in ("caseRef", "cycle", "purpose"):
        assert s.get(label) == (body or {}).get(label), f"{label}: sent {body}, echoed {s}"


def test_create_session_public_url_is_the_base_of_join_url(relay_factory):
    relay = relay_factory(["--public-url", "https://vig.example.org:9443"])
    s = relay.create_session(relay.token("alice"))
    assert s["joinUrl"].startswith("https://vig.example.org:9443/join#"), s["joinUrl"]
    frag = parse_qs(urlsplit(s["joinUrl"]).fragment)
    assert frag.get("invite") == [s["inviteToken"]] and frag.get("session") == [s["sessionId"]], s["joinUrl"]


BAD_BODIES = [
    # (raw body, field the message must name or None)
    (b"not json", None),
    (b"[1, 2]", None),
    (b"\"caseRef\"", None),
    (b"42", None),
    (json.dumps({"caseRef": ""}).encode(), "caseRef"),
    (json.dumps({"caseRef": "a" * 65}).encode(), "caseRef"),
    (json.dumps({"caseRef": "-fam"}).encode(), "caseRef"),
    (json.dumps({"caseRef": ".fam"}).encode(), "caseRef"),
    (json.dumps({"caseRef": "_fam"}).encode(), "caseRef"),
    (json.dumps({"caseRef": "Jane Doe"}).encode(), "caseRef"),
    (json.dumps({"caseRef": "fam/042"}).encode(), "caseRef"),
    (json.dumps({"caseRef": "famé"}).encode(), "caseRef"),
    (json.dumps({"caseRef": 42}).encode(), "caseRef"),
    (json.dumps({"cycle": 0}).encode(), "cycle"),
    (json.dumps({"cycle": 100}).encode(), "cycle"),
    (json.dumps({"cycle": -1}).encode(), "cycle"),
    (json.dumps({"cycle": "1"}).encode(), "cycle"),
    (json.dumps({"cycle": 1.5}).encode(), "cycle"),
    (json.dumps({"cycle": True}).encode(), "cycle"),
    (json.dumps({"purpose": "therapy"}).encode(), "purpose"),
    (json.dumps({"purpose": "Filming"}).encode(), "purpose"),
    (json.dumps({"purpose": 1}).encode(), "purpose"),
]


@pytest.mark.parametrize("raw, field", BAD_BODIES, ids=[b.decode("utf-8", "replace")[:30] for b, _ in BAD_BODIES])
def test_create_session_invalid_body_is_400(relay, raw, field):
    tok = relay.token("alice")
    r = relay.post_sessions(tok, raw_body=raw)
    body = assert_error(r, 400, "invalid_request")
    if field:
        assert field in body["message"], f"the message should name {field!r}: {body['message']!r}"


def test_missing_token_is_401(relay):
    assert_error(relay.post_sessions(None), 401, "unauthorized")


@pytest.mark.parametrize("header", ["Basic YWxpY2U6c2VjcmV0", "Bearer", "Bearer ", "Bearer not-a-token",
                                    "Bearer a.b", "Bearer ...."])
def test_malformed_authorization_is_401(relay, header):
    r = relay.http("POST", "/v1/sessions", headers={"Authorization": header}, body=b"{}")
    assert_error(r, 401, "unauthorized")


def test_token_with_a_wrong_signature_is_401(relay):
    assert_error(relay.post_sessions(forge(relay.token("alice"))), 401, "unauthorized")


def test_token_from_another_secret_is_401(relay, forged_token):
    assert_error(relay.post_sessions(forged_token), 401, "unauthorized")


def test_token_with_altered_claims_is_401(relay):
    import base64
    tok = relay.token("alice")
    payload, _, sig = tok.partition(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    text = json.dumps(claims).replace("alice", "mallory")
    altered = base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")
    assert altered != payload
    assert_error(relay.post_sessions(f"{altered}.{sig}"), 401, "unauthorized")


def test_expired_token_is_401(relay):
    # --ttl 3s: valid for at least 2 s (expiry is kept to the whole second), so the first use is
    # safely inside its life; then poll (bounded) until it has expired.
    tok = relay.token("alice", ttl="3s")
    first = relay.post_sessions(tok)
    assert first.status == 201, f"a fresh 3 s token should still work: {first!r}"
    relay.secrets_seen.add(first.json()["inviteToken"])
    def refused():
        r = relay.post_sessions(tok)
        if r.status == 201:
            relay.secrets_seen.add(r.json()["inviteToken"])
            return None
        return r
    r = wait_until(refused, 8, "the 3 s token to expire", interval=0.2)
    assert_error(r, 401, "unauthorized")


def test_invite_as_bearer_is_403(relay):
    s = relay.create_session(relay.token("alice"))
    assert_error(relay.post_sessions(s["inviteToken"]), 403, "forbidden")


def test_body_over_64_kib_is_413(relay):
    tok = relay.token("alice")
    raw = b'{"caseRef":"fam-1"' + b" " * (64 * 1024) + b"}"
    assert len(raw) > 64 * 1024
    assert_error(relay.post_sessions(tok, raw_body=raw), 413, "too_large")


def test_body_much_larger_than_the_limit_is_413(relay):
    tok = relay.token("alice")
    raw = b"{" + b" " * (4 * 1024 * 1024) + b"}"
    assert_error(relay.post_sessions(tok, raw_body=raw), 413, "too_large")


def test_body_of_exactly_64_kib_is_accepted(relay):
    tok = relay.token("alice")
    head = b'{"caseRef":"fam-1"'
    raw = head + b" " * (64 * 1024 - len(head) - 1) + b"}"
    assert len(raw) == 64 * 1024
    r = relay.post_sessions(tok, raw_body=raw)
    assert r.status == 201, r
    relay.secrets_seen.add(r.json()["inviteToken"])


def test_unknown_path_is_404(relay):
    assert_error(relay.http("GET", "/nope"), 404, "not_found")
    assert_error(relay.http("GET", "/v1/sessions/" + "0" * 32 + "/nope"), 404, "not_found")


# GET /v1/sessions lists sessions (test_session_list.py).
@pytest.mark.parametrize("method, path", [("PATCH", "/v1/sessions"), ("PUT", "/v1/sessions"),
                                          ("DELETE", "/v1/sessions"), ("POST", "/healthz")])
def test_wrong_method_is_405(relay, method, path):
    tok = relay.token("alice")
    r = relay.http(method, path, headers={"Authorization": f"Bearer {tok}"}, body=b"{}" if method != "GET" else None)
    assert_error(r, 405, "method_not_allowed")


def read_until_closed(s, what: str, data: bytes = b"", limit: float = 10):
    """Reads from `s` (adding to `data`, what came already) until the relay closes the connection.
    Fails the test if it is still open after `limit` seconds (an answer followed by an open
    connection too). Returns the status, the headers and the parsed JSON body of the one response."""
    deadline = time.monotonic() + limit
    while True:
        s.settimeout(max(0.1, deadline - time.monotonic()))
        try:
            chunk = s.recv(4096)
        except TimeoutError:
            pytest.fail(f"the connection was still open {limit} s after {what} (received {data!r})")
        except (ConnectionResetError, ssl.SSLError):
            break
        if not chunk:
            break
        data += chunk
    head, sep, body = data.partition(b"\r\n\r\n")
    assert sep, f"no complete HTTP response to {what}: {data!r}"
    status, _, headers = parse_response_head(head)
    assert int(headers.get("content-length", "-1")) == len(body), (headers, body)
    return status, headers, json.loads(body)


def send_until_closed(relay, ssl_ctx, request: bytes, limit: float = 10):
    """Sends raw request bytes over TLS and reads the answer until the relay closes (`read_until_closed`)."""
    with socket.create_connection(("127.0.0.1", relay.port), timeout=5) as raw:
        with ssl_ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
            s.sendall(request)
            return read_until_closed(s, repr(request[:80]), limit=limit)


@pytest.mark.parametrize("request_line", [b"CONNECT * HTTP/1.1", b"CONNECT 127.0.0.1:443 HTTP/1.1",
                                          b"CONNECT /v1/sessions HTTP/1.1", b"TRACE /healthz HTTP/1.1",
                                          b"BREW /pot HTTP/1.1", b"G\x00T /healthz HTTP/1.1"])
def test_connect_and_unknown_methods_are_refused_with_405_and_the_connection_closed(relay, ssl_ctx, request_line):
    """lws turns a CONNECT request, and (as the relay asks) one with a method it does not know, into
    a raw socket with no timeout; the relay must answer it in its own JSON and hang up, not hold the
    connection for as long as the peer likes (CONNECT) or leave lws's HTML 403 (unknown methods)."""
    status, headers, err = send_until_closed(relay, ssl_ctx, request_line + b"\r\nHost: 127.0.0.1\r\n\r\n")
    assert status == 405, err
    assert headers.get("connection") == "close", headers
    assert err.get("type") == "error" and err.get("code") == "method_not_allowed" and err.get("message"), err
    assert relay.http("GET", "/healthz").status == 200


@pytest.mark.parametrize("framing, status, code", [
    (b"Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n", 411, "length_required"),
    (b"Content-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n", 411, "length_required"),
    (b"Content-Length: -1\r\n\r\n{}", 400, "invalid_request"),
    (b"Content-Length: abc\r\n\r\n{}", 400, "invalid_request"),
    (b"Content-Length: 2\r\nContent-Length: 3\r\n\r\n{} ", 400, "invalid_request"),
    (b"Content-Length: 99999999999999999999\r\n\r\n{}", 413, "too_large"),
])
def test_a_body_whose_end_is_unclear_is_refused_and_the_connection_closed(relay, ssl_ctx, framing, status, code):
    """lws reads request bodies by Content-Length only (taken with atoll) and never decodes chunked
    ones: these requests waited 5 s for a body that never came, or were answered while their body
    stayed in the stream to be read as the next request. Now each is answered at once and the
    connection closed, and no session is created."""
    tok = relay.token("framing-" + uuid.uuid4().hex[:8])  # a practitioner with no sessions yet
    request = b"POST /v1/sessions HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + tok.encode() + b"\r\n" + framing
    got, headers, err = send_until_closed(relay, ssl_ctx, request, limit=4)
    assert got == status, err
    assert err.get("type") == "error" and err.get("code") == code and err.get("message"), err
    listed = relay.http("GET", "/v1/sessions", headers={"Authorization": f"Bearer {tok}"})
    assert listed.status == 200 and listed.json()["sessions"] == [], listed


def test_a_body_trickled_past_the_request_body_timeout_gets_408_and_a_close(relay_factory, ssl_ctx):
    """lws restarts its timeout with every piece of a body, so a body sent a byte at a time held its
    connection for as long as the sender liked (64 KiB at a byte a second: 18 hours). The relay
    bounds the whole body: `--request-body-timeout` after the head it answers 408 and closes."""
    relay = relay_factory(["--request-body-timeout", "2s"])
    tok = relay.token("alice")
    body = b'{"caseRef":"fam-1"}' + b" " * 200
    head = (b"POST /v1/sessions HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + tok.encode()
            + b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n")
    with socket.create_connection(("127.0.0.1", relay.port), timeout=5) as raw:
        with ssl_ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
            s.sendall(head)
            started, data = time.monotonic(), b""
            for byte in body:  # a byte every 0.2 s: the whole body would take 42 s
                try:
                    s.sendall(bytes([byte]))
                except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
                    break
                s.settimeout(0.2)
                try:
                    chunk = s.recv(4096)
                except TimeoutError:
                    continue
                if not chunk:
                    break
                data += chunk
            else:
                pytest.fail(f"the whole trickled body was accepted (received {data!r})")
            status, _, err = read_until_closed(s, "the trickled body", data, limit=5)
            elapsed = time.monotonic() - started
    assert status == 408, err
    assert err.get("code") == "request_timeout" and "2 s" in err.get("message", ""), err
    assert 2 <= elapsed < 10, elapsed
    listed = relay.http("GET", "/v1/sessions", headers={"Authorization": f"Bearer {tok}"})
    assert listed.status == 200 and listed.json()["sessions"] == [], listed


def test_request_body_timeout_is_checked(vigrelay_bin, tmp_path):
    out = serve_refused(vigrelay_bin, tmp_path, "--request-body-timeout", "0s")
    assert out.returncode == 64 and "--request-body-timeout '0s' must be a duration from 1s to 10m" in out.stderr, out.stderr
