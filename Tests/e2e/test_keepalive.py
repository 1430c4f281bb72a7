"""The relay's keepalive: a WebSocket quiet for --ping-after is pinged, one silent (no message, no
pong) for --silence-limit is hung up, and its peer is told, as for any other drop."""

from __future__ import annotations

import time

import pytest

from tcpforward import TCPForwarder
from vrtest import serve_refused, ws_connect, ws_path


def _join(port: int, ssl_ctx, session_id: str, token: str, name: str):
    ws = ws_connect(port, ws_path(session_id), ssl_ctx, name=name)
    ws.send_json({"type": "hello", "token": token})
    welcome = ws.recv_json()
    assert welcome.get("type") == "welcome", f"{name}: {welcome}"
    return ws


def _read_both(a, b, seconds: float) -> None:
    """Reads on both connections for `seconds` (answering pings), keeping what arrives queued."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for ws in (a, b):
            try:
                ws._pump(min(end, time.monotonic() + 0.1))
            except TimeoutError:
                pass


@pytest.mark.timeout(60)
def test_a_family_whose_network_goes_silent_is_hung_up_and_an_idle_practitioner_is_kept(relay_factory, ssl_ctx):
    relay = relay_factory(["--ping-after", "1s", "--silence-limit", "3s"])
    tok = relay.token("alice")
    s = relay.create_session(tok)
    forwarder = TCPForwarder(relay.port, "family")
    try:
        p = _join(relay.port, ssl_ctx, s["sessionId"], tok, "practitioner")
        f = _join(forwarder.port, ssl_ctx, s["sessionId"], s["inviteToken"], "family")
        assert p.recv_json() == {"type": "peer", "event": "joined", "role": "family"}
        # Both send nothing for longer than the silence limit but read, so they answer the relay's
        # pings (as browsers do): neither is hung up, and the practitioner hears of no leaving.
        _read_both(p, f, seconds=4.5)
        with pytest.raises(AssertionError, match="no message within"):
            p.recv(timeout=0.3)
        forwarder.silence(True)
        silent_at = time.monotonic()
        left = p.recv_json(timeout=15)
        waited = time.monotonic() - silent_at
        assert left == {"type": "peer", "event": "left", "role": "family"}, left
        # Hung up 3 s after the family was last heard (its last pong, at most ~2 s before the
        # silence), checked once a second.
        assert 0.5 <= waited <= 6.0, f"the silent family was hung up {waited:.1f} s into the silence"
        log = relay.log_text()
        assert "hanging up a silent connection" in log, log[-2000:]

        # The practitioner, idle for longer than the silence limit, is still connected: pongs count.
        with pytest.raises(AssertionError, match="no message within"):
            p.recv(timeout=5)
        f2 = _join(relay.port, ssl_ctx, s["sessionId"], s["inviteToken"], "family again")
        assert p.recv_json() == {"type": "peer", "event": "joined", "role": "family"}
        f2.close()
        p.close()
        f.abort()
    finally:
        forwarder.close()


@pytest.mark.parametrize("args, message", [
    (["--ping-after", "0s"], "--ping-after '0s' must be a duration from 1s to 1h"),
    (["--ping-after", "30s", "--silence-limit", "30s"], "--silence-limit '30s' must be a duration longer than --ping-after (30 s)"),
    (["--silence-limit", "soon"], "--silence-limit 'soon' must be a duration"),
])
def test_keepalive_options_are_checked(vigrelay_bin, tmp_path, args, message):
    out = serve_refused(vigrelay_bin, tmp_path, *args)
    assert out.returncode == 64 and message in out.stderr, (args, out.returncode, out.stderr)
