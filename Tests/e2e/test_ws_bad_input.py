"""Bad input on the WebSocket: what closes (abuse) and what only gets an error (buggy clients)
(docs/PROTOCOL.md, "Errors")."""

from __future__ import annotations

import json
import struct

import pytest

from vrtest import CAMERA, F_KEY, SCREEN, media_frame, patterned, wait_until, ws_path
from wsraw import OP_BINARY, OP_CONT, OP_TEXT, RawClosed, RawWebSocket


def _raw(relay, ssl_ctx, sid):
    ws = RawWebSocket.connect("127.0.0.1", relay.port, ws_path(sid), ssl_ctx)
    assert ws.status == 101, f"upgrade: HTTP {ws.status}"
    return ws


def _texts(msgs):
    return [json.loads(m.text) for m in msgs if m.kind == "text"]


# --- the first message ---------------------------------------------------------------------

@pytest.mark.parametrize("first, code", [
    ('{"type":"signal","token":"x"}', "hello_required"),
    ('{"token":"x"}', "hello_required"),
    ('{"type":"bye"}', "hello_required"),
    ('{"type":"welcome"}', "hello_required"),
    ("[1, 2]", "hello_required"),
    ("\"hello\"", "hello_required"),
    ("not json at all", "invalid_json"),
    ('{"type":"hello","token":', "invalid_json"),
    ("", "invalid_json"),
], ids=["signal", "no-type", "bye", "welcome", "array", "string", "text", "truncated", "empty"])
def test_first_text_that_is_not_hello_gets_error_then_1008(relay, ssl_ctx, first, code):
    s = relay.create_session(relay.token("alice"))
    ws = _raw(relay, ssl_ctx, s["sessionId"])
    ws.send_text(first)
    got, close = ws.recv_until_close()
    ws.abort()
    errs = _texts(got)
    assert errs and errs[0].get("type") == "error" and errs[0].get("code") == code, \
        f"first message {first!r}: expected error {code!r}, got {got}"
    assert isinstance(errs[0].get("message"), str) and errs[0]["message"]
    assert close is not None and close.code == 1008, f"first message {first!r}: expected close 1008, got {close}"


def test_first_message_id_is_echoed_on_the_error(relay, ssl_ctx):
    s = relay.create_session(relay.token("alice"))
    ws = _raw(relay, ssl_ctx, s["sessionId"])
    ws.send_text('{"type":"signal","id":"first-1"}')
    got, close = ws.recv_until_close()
    ws.abort()
    errs = _texts(got)
    assert errs and errs[0].get("code") == "hello_required" and errs[0].get("id") == "first-1", got


@pytest.mark.parametrize("payload", [media_frame(CAMERA, F_KEY, 1, 0, b"x"), b"\x01", b""], ids=["frame", "byte", "empty"])
def test_binary_first_message_closes_1008(relay, ssl_ctx, payload):
    s = relay.create_session(relay.token("alice"))
    ws = _raw(relay, ssl_ctx, s["sessionId"])
    ws.send_binary(payload)
    got, close = ws.recv_until_close()
    ws.abort()
    assert close is not None and close.code == 1008, f"expected close 1008, got {close} after {got}"
    assert not any(m.kind == "text" and '"welcome"' in m.text for m in got), got
    assert not got, f"the contract sends no error for a binary first message, got {got}"


def test_a_refused_first_message_does_not_reach_a_joined_peer(relay, ssl_ctx):
    p, f, s = relay.pair()
    ws = _raw(relay, ssl_ctx, s["sessionId"])
    ws.send_text('{"type":"signal","leak":true}')
    ws.recv_until_close()
    ws.abort()
    ws = _raw(relay, ssl_ctx, s["sessionId"])
    ws.send_binary(media_frame(CAMERA, F_KEY, 1, 0, b"leak"))
    ws.recv_until_close()
    ws.abort()
    f.send_json({"type": "signal", "n": 2})
    assert p.recv_json() == {"type": "signal", "n": 2}
    p.close()
    f.close()


# --- after hello: errors that keep the connection open ---------------------------------------

@pytest.mark.parametrize("text, code", [
    ("not json", "invalid_json"),
    ("[1,2,3]", "invalid_json"),
    ("42", "invalid_json"),
    ('{"type":"signal"', "invalid_json"),
    ('{"no":"type"}', "unknown_type"),
    ('{"type":"teleport"}', "unknown_type"),
    ('{"type":7}', "unknown_type"),
    ('{"type":"welcome"}', "unknown_type"),
])
def test_bad_text_after_hello_is_an_error_and_the_connection_stays_open(relay, text, code):
    p, f, _ = relay.pair()
    f.send_text(text)
    f.recv_error(code)
    f.send_json({"type": "signal", "after": text})
    assert p.recv_json() == {"type": "signal", "after": text}, "the bad message must not reach the peer"
    p.send_json({"type": "signal", "back": 1})
    assert f.recv_json() == {"type": "signal", "back": 1}
    p.close()
    f.close()


def test_second_hello_is_unexpected_hello_and_stays_open(relay):
    p, f, s = relay.pair()
    f.send_json({"type": "hello", "token": s["inviteToken"], "id": "again"})
    err = f.recv_error("unexpected_hello")
    assert err.get("id") == "again", err
    f.send_json({"type": "signal", "x": 1})
    assert p.recv_json() == {"type": "signal", "x": 1}, "the second hello must not reach the peer or re-join"
    p.close()
    f.close()


@pytest.mark.parametrize("msg_id", ["req-1", 42, "", "ü✓"])
def test_id_is_echoed_on_errors_after_hello(relay, msg_id):
    tok = relay.token("alice")
    s = relay.create_session(tok)
    p, _ = relay.join(s["sessionId"], tok, "practitioner")
    p.send_json({"type": "teleport", "id": msg_id})
    assert p.recv_error("unknown_type").get("id") == msg_id
    p.send_json({"id": msg_id})
    assert p.recv_error("unknown_type").get("id") == msg_id
    p.send_json({"type": "signal", "id": msg_id})
    assert p.recv_error("peer_absent").get("id") == msg_id
    p.send_json({"type": "hello", "token": tok, "id": msg_id})
    assert p.recv_error("unexpected_hello").get("id") == msg_id
    p.send_json({"type": "signal"})
    assert "id" not in p.recv_error("peer_absent"), "no id in the request, none in the error"
    p.close()


@pytest.mark.parametrize("sender", ["family", "practitioner"])
@pytest.mark.parametrize("bad", [b"", b"\x01", media_frame(CAMERA, F_KEY, 1, 0)[:15],
                                 media_frame(CAMERA, F_KEY, 1, 0, b"v2", version=2),
                                 media_frame(SCREEN, F_KEY, 1, 0, b"v0", version=0),
                                 media_frame(CAMERA, F_KEY, 1, 0, b"v255", version=255)],
                         ids=["empty", "1-byte", "15-bytes", "version-2", "version-0", "version-255"])
def test_malformed_frame_is_an_error_not_forwarded_and_stays_open(relay, sender, bad):
    p, f, _ = relay.pair()
    src, dst, stream = (f, p, CAMERA) if sender == "family" else (p, f, SCREEN)
    src.send_bytes(bad)
    src.recv_error("malformed_frame")
    good = media_frame(stream, F_KEY, 2, 0, b"valid after malformed")
    src.send_bytes(good)
    got = dst.recv_binary()
    assert got == good, f"peer got {got!r} instead of the next valid frame"
    p.close()
    f.close()


def test_malformed_and_wrong_stream_frames_do_not_enter_the_late_joiner_cache(relay):
    tok = relay.token("alice")
    s = relay.create_session(tok)
    f, _ = relay.join(s["sessionId"], s["inviteToken"], "family")
    good = media_frame(CAMERA, F_KEY, 1, 0, b"good")
    f.send_bytes(good)
    f.send_bytes(media_frame(CAMERA, F_KEY, 2, 0, b"v2", version=2))
    f.recv_error("malformed_frame")
    f.send_bytes(media_frame(SCREEN, F_KEY, 3, 0, b"screen"))
    f.recv_error("stream_not_allowed")
    p, _ = relay.join(s["sessionId"], tok, "practitioner", peer_present=True)
    assert p.recv_binary() == good
    f.send_json({"type": "signal", "id": "end"})
    assert f.recv_json()["event"] == "joined"
    assert p.recv_json() == {"type": "signal", "id": "end"}, "only the good frame may be replayed"
    p.close()
    f.close()


# --- too large --------------------------------------------------------------------------------

def _expect_too_large(ws: RawWebSocket, what: str):
    got, close = ws.recv_until_close(timeout=30)
    ws.abort()
    errs = _texts(got)
    assert any(e.get("code") == "too_large" for e in errs), f"{what}: no too_large error before the close: {got}"
    assert close is not None and close.code == 1009, f"{what}: expected close 1009, got {close}"


def _send_tolerant(send):
    """Sends; the server may stop reading and close before the whole message is out."""
    try:
        send()
    except (OSError, RawClosed):
        pass


@pytest.mark.timeout(240)
def test_17_mib_message_is_too_large_with_default_limit(relay, ssl_ctx):
    tok = relay.token("alice")
    s = relay.create_session(tok)
    p, _ = relay.join(s["sessionId"], tok, "practitioner")
    ws = _raw(relay, ssl_ctx, s["sessionId"])
    ws.send_text(json.dumps({"type": "hello", "token": s["inviteToken"]}))
    assert '"welcome"' in ws.recv().text
    assert p.recv_json()["event"] == "joined"
    big = media_frame(CAMERA, F_KEY, 1, 0, patterned(17 * 1024 * 1024, 17))
    _send_tolerant(lambda: ws.send_frame(OP_BINARY, big, timeout=60))
    _expect_too_large(ws, "17 MiB binary message")
    assert p.recv_json(timeout=5) == {"type": "peer", "event": "left", "role": "family"}, "the peer must be told left"
    p.close()


@pytest.mark.parametrize("length", [0x7FFFFFFFFFFFFFFF, 0x7FFFFFFFFFFFFFFE, 0xFFFFFFFFFFFFFFFF])
def test_a_continuation_declaring_a_huge_length_is_too_large_and_the_relay_lives(relay, ssl_ctx, length):
    """Before any hello: one byte of a fragmented message, then a continuation frame whose 64-bit
    length is near the largest there is (the sum with what came before must not overflow)."""
    s = relay.create_session(relay.token("alice"))
    ws = _raw(relay, ssl_ctx, s["sessionId"])
    ws.send_frame(OP_BINARY, b"x", fin=False)
    ws.sock.sendall(struct.pack("!BBQ", 0x80 | OP_CONT, 0x80 | 127, length) + b"\x01\x02\x03\x04")
    _expect_too_large(ws, f"a continuation of {length:#x} bytes")
    p, f, _ = relay.pair()  # the relay still serves
    fr = media_frame(CAMERA, F_KEY, 1, 0, b"after")
    f.send_bytes(fr)
    assert p.recv_binary() == fr
    p.close()
    f.close()


def test_a_peer_that_asks_for_replies_but_never_reads_is_closed(small_relay):
    """Replies are never skipped, so a family that sends pings with 512 KiB ids and reads nothing
    fills its send queue: past the media limit plus two largest messages (8 + 2 MiB here) the
    relay closes it instead of holding ever more, and the practitioner is told it left."""
    p, f, _ = small_relay.pair()
    big_id = "i" * (512 << 10)
    sent = 0
    try:
        for sent in range(1, 61):  # 30 MiB of replies: past the queue and both sockets' buffers
            f.send_json({"type": "ping", "id": big_id})
    except OSError:  # the relay closed it while the pings were still going out
        pass
    assert sent >= 20, f"closed after only {sent} pings: before its queue could be full"
    assert p.recv_json(timeout=20) == {"type": "peer", "event": "left", "role": "family"}
    wait_until(lambda: "its send queue is full" in small_relay.log_text(), 5, "the log line")
    f.abort()
    p.close()


@pytest.mark.timeout(240)
def test_16_mib_message_is_forwarded_with_default_limit(relay):
    p, f, _ = relay.pair()
    fr = media_frame(CAMERA, F_KEY, 1, 0, patterned(16 * 1024 * 1024 - 16, 16))
    f.send_bytes(fr)
    assert p.recv_binary(timeout=60) == fr
    p.close()
    f.close()


def test_message_of_exactly_the_limit_is_forwarded(small_relay):
    p, f, _ = small_relay.pair()
    fr = media_frame(CAMERA, F_KEY, 1, 0, patterned(1048576 - 16, 3))
    assert len(fr) == 1048576
    f.send_bytes(fr)
    assert p.recv_binary(timeout=10) == fr
    p.close()
    f.close()


@pytest.mark.parametrize("kind", ["binary", "text", "fragmented"])
def test_message_over_the_limit_is_too_large_1009(small_relay, ssl_ctx, kind):
    relay = small_relay
    tok = relay.token("alice")
    s = relay.create_session(tok)
    p, _ = relay.join(s["sessionId"], tok, "practitioner")
    ws = _raw(relay, ssl_ctx, s["sessionId"])
    ws.send_text(json.dumps({"type": "hello", "token": s["inviteToken"]}))
    assert '"welcome"' in ws.recv().text
    assert p.recv_json()["event"] == "joined"
    if kind == "binary":
        _send_tolerant(lambda: ws.send_frame(OP_BINARY, media_frame(CAMERA, F_KEY, 1, 0, patterned(1048576 - 15, 1))))
    elif kind == "text":
        body = json.dumps({"type": "signal", "pad": "x" * 1048576})
        _send_tolerant(lambda: ws.send_frame(OP_TEXT, body.encode()))
    else:  # 24 fragments of 64 KiB = 1.5 MiB, each small: the limit is on the whole message
        frame = media_frame(CAMERA, F_KEY, 1, 0, patterned(24 * 65536 - 16, 2))

        def frags():
            for i in range(24):
                ws.send_frame(OP_BINARY if i == 0 else OP_CONT, frame[i * 65536:(i + 1) * 65536], fin=(i == 23))
        _send_tolerant(frags)
    _expect_too_large(ws, f"{kind} message over --max-message-bytes 1048576")
    assert p.recv_json(timeout=5) == {"type": "peer", "event": "left", "role": "family"}
    p.close()


def test_too_large_before_hello_closes_1009(small_relay, ssl_ctx):
    s = small_relay.create_session(small_relay.token("alice"))
    ws = _raw(small_relay, ssl_ctx, s["sessionId"])
    _send_tolerant(lambda: ws.send_frame(OP_TEXT, b'{"type":"hello","token":"' + b"a" * 2_000_000 + b'"}'))
    _expect_too_large(ws, "2 MB hello")


def test_too_large_with_the_websockets_library(small_relay):
    """Same rule seen through an ordinary client library."""
    p, f, _ = small_relay.pair()
    try:
        f.send_bytes(media_frame(CAMERA, F_KEY, 1, 0, patterned(1_500_000, 5)))
    except OSError:
        pass
    got, code = f.expect_close(timeout=30)
    assert any(isinstance(m, str) and json.loads(m).get("code") == "too_large" for m in got), got
    assert code == 1009, f"expected close 1009, got {code}"
    assert p.recv_json() == {"type": "peer", "event": "left", "role": "family"}
    p.close()
