"""The per-address connection limit (`--max-connections-per-address`; docs/PROTOCOL.md,
"Connection limit"): one address cannot hold more connections than the limit, the ones past it are
told why (HTTP 429 or a WebSocket error and close 1013), and sessions already running carry on."""

from __future__ import annotations

import socket
import ssl
import subprocess

import pytest

from vrtest import (serve_refused, CAMERA, F_INIT, F_KEY, HTTPConn, assert_error, free_port, https_request, media_frame, patterned, wait_until,
                    ws_connect, ws_path)

LIMIT_OPTION = "--max-connections-per-address"


def hold_connection(relay, ssl_ctx) -> HTTPConn:
    """A keep-alive connection the relay has answered 200 on (so it is counted and within the limit).
    Connections that just closed may still be counted for a moment, so a 429 here is retried."""
    held: list[HTTPConn] = []

    def try_once() -> bool:
        conn = HTTPConn(relay.port, ssl_ctx, timeout=5)
        if conn.request("GET", "/healthz").status == 200:
            held.append(conn)
            return True
        conn.sock.close()
        return False

    wait_until(try_once, 10, "a connection within the limit")
    return held[0]


def test_connections_past_the_limit_are_told_why_and_running_sessions_carry_on(relay_factory, ssl_ctx):
    relay = relay_factory([LIMIT_OPTION, "4"])
    p, f, session = relay.pair()  # two connections held
    held = [hold_connection(relay, ssl_ctx), hold_connection(relay, ssl_ctx)]  # four: the limit

    refused = https_request(relay.port, "GET", "/healthz", ssl_ctx)
    body = assert_error(refused, 429, "too_many_connections")
    assert "4 connections" in body["message"] and LIMIT_OPTION in body["message"], body

    ws = ws_connect(relay.port, ws_path(session["sessionId"]), ssl_ctx, name="fifth")
    ws.recv_error("too_many_connections")
    messages, code = ws.expect_close()
    assert (messages, code) == ([], 1013), (messages, code)

    # The session that was running before is untouched: the camera still reaches the practitioner.
    frames = [media_frame(CAMERA, F_INIT, 0, 0, b"\x1aE\xdf\xa3 init" + patterned(2000, 1)),
              media_frame(CAMERA, F_KEY, 1, 100_000, patterned(40_000, 2))]
    for fr in frames:
        f.send_bytes(fr)
    for i, fr in enumerate(frames):
        assert p.recv_binary(timeout=10) == fr, f"camera frame {i} changed or lost"
    assert held[0].request("GET", "/healthz").status == 200, "a connection within the limit keeps being served"
    other = HTTPConn(relay.port, ssl_ctx, timeout=5, source="127.0.0.2")
    assert other.request("GET", "/healthz").status == 200, "another address has a limit of its own"
    other.sock.close()

    # A connection closed makes room for a new one.
    held.pop().sock.close()
    wait_until(lambda: https_request(relay.port, "GET", "/healthz", ssl_ctx).status == 200, 10,
               "a new connection served once one of the four closed")

    # The refusals were logged, once for the address (reports are at most one a minute).
    log = relay.log_text()
    assert log.count("connections refused: an address is at its connection limit") == 1, log
    assert "127.0.0.1" in log and "limit=4" in log, log
    for conn in held:
        conn.sock.close()
    p.close()
    f.close()


def test_a_session_cannot_be_created_past_the_limit(relay_factory, ssl_ctx):
    relay = relay_factory([LIMIT_OPTION, "1"])
    token = relay.token("alice")
    held = hold_connection(relay, ssl_ctx)
    refused = relay.post_sessions(token, {"caseRef": "fam-1"})
    assert_error(refused, 429, "too_many_connections")
    held.sock.close()
    wait_until(lambda: relay.post_sessions(token, {"caseRef": "fam-1"}).status == 201, 10,
               "a session created once the held connection closed")
    listed = []
    wait_until(lambda: listed.append(relay.http("GET", "/v1/sessions", headers={"Authorization": f"Bearer {token}"})) or listed[-1].status == 200,
               10, "the session list (the creating connection may still be counted for a moment)")
    sessions = listed[-1].json()["sessions"]
    assert len(sessions) == 1, f"the refused request created nothing: {sessions}"


def test_zero_means_no_limit(relay_factory, ssl_ctx):
    relay = relay_factory([LIMIT_OPTION, "0"])
    held = [HTTPConn(relay.port, ssl_ctx, timeout=5) for _ in range(30)]
    try:
        assert [c.request("GET", "/healthz").status for c in held] == [200] * 30
    finally:
        for c in held:
            c.sock.close()


def test_a_negative_limit_is_refused_at_start(vigrelay_bin, tmp_path):
    out = serve_refused(vigrelay_bin, tmp_path, f"{LIMIT_OPTION}=-1")
    assert out.returncode == 64 and f"{LIMIT_OPTION} must be 0 (no limit) or a positive number" in out.stderr, out.stderr


def test_a_load_test_past_the_limit_says_which_option_to_raise(relay_factory, client_bin, certs):
    """An operator load-testing from one machine meets the limit: `load` must say so in the relay's
    words, not report dropped connections."""
    relay = relay_factory([LIMIT_OPTION, "3"])
    out = subprocess.run([str(client_bin), "load", "--server", relay.base_url, "--ca", str(certs.ca), "--token", relay.token("alice"),
                          "--pairs", "3", "--duration", "2s", "--ramp", "1s"],
                         capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert out.returncode != 0, out.stdout
    assert "relay too_many_connections" in out.stdout and LIMIT_OPTION in out.stdout, out.stdout + out.stderr


def test_every_way_a_connection_ends_gives_its_place_back(relay_factory, ssl_ctx):
    """The count depends on lws reporting the end of every connection it accepted: connections that
    end in each way, many times the limit, must leave the address its whole limit afterwards."""
    relay = relay_factory([LIMIT_OPTION, "5"])
    session = relay.create_session(relay.token("alice"))

    def tcp_only():
        socket.create_connection(("127.0.0.1", relay.port), timeout=5).close()

    def not_tls():
        with socket.create_connection(("127.0.0.1", relay.port), timeout=5) as s:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            s.settimeout(5)
            try:
                while s.recv(4096):
                    pass
            except OSError:
                pass

    def tls_then_close():
        raw = socket.create_connection(("127.0.0.1", relay.port), timeout=5)
        ssl_ctx.wrap_socket(raw, server_hostname="127.0.0.1").close()

    def request():
        https_request(relay.port, "GET", "/healthz", ssl_ctx)

    def unknown_method():
        https_request(relay.port, "TRACE", "/", ssl_ctx)

    def websocket_aborted():
        ws_connect(relay.port, ws_path(session["sessionId"]), ssl_ctx).abort()

    for _ in range(6):
        for end in (tcp_only, not_tls, tls_then_close, request, unknown_method, websocket_aborted):
            end()

    held: list[HTTPConn] = []

    def five_held() -> bool:
        while len(held) < 5:
            conn = HTTPConn(relay.port, ssl_ctx, timeout=5)
            if conn.request("GET", "/healthz").status != 200:
                conn.sock.close()
                return False
            held.append(conn)
        return True

    wait_until(five_held, 15, "five connections within the limit once the others ended")
    assert_error(https_request(relay.port, "GET", "/healthz", ssl_ctx), 429, "too_many_connections")
    for conn in held:
        conn.sock.close()


def test_ipv6_and_ipv4_mapped_addresses_are_counted_apart(relay_factory, ssl_ctx):
    """On a dual-stack listener, ::1 is counted by its /64 and an IPv4 client (seen as
    ::ffff:127.0.0.1) as 127.0.0.1: each reaches its own limit, and the log names each as such."""
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as probe:
            probe.bind(("::1", 0))
    except OSError as e:
        pytest.skip(f"this machine has no IPv6 loopback ({e})")
    port = free_port()
    relay = relay_factory([LIMIT_OPTION, "2", "--listen", f"[::]:{port}"], port=port)

    def request(host: str, family: int) -> tuple[int, ssl.SSLSocket]:
        raw = socket.socket(family, socket.SOCK_STREAM)
        raw.settimeout(5)
        raw.connect((host, port))
        conn = ssl_ctx.wrap_socket(raw, server_hostname="127.0.0.1")
        conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: relay\r\n\r\n")
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = conn.recv(4096)
            assert chunk, f"{host}: closed before a response head: {head!r}"
            head += chunk
        return int(head.split(b" ", 2)[1]), conn

    held = []
    try:
        for host, family in (("::1", socket.AF_INET6), ("127.0.0.1", socket.AF_INET)):
            statuses = []
            for _ in range(3):
                status, conn = request(host, family)
                statuses.append(status)
                held.append(conn)
            assert statuses == [200, 200, 429], f"{host}: {statuses}"
    finally:
        for conn in held:
            conn.close()
    log = relay.log_text()
    assert "peer.address=::/64" in log and "peer.address=127.0.0.1" in log, log
