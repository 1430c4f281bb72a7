"""WebSocket framing as the relay reads it itself (docs/ARCHITECTURE.md, Data flow 1): pings are
answered, a close is answered with its code, and frames a client must never send close the
connection with the protocol's code while the peer is told at once."""

from __future__ import annotations

import os
import struct

import pytest

from vrtest import ws_path
from wsraw import OP_PING, OP_PONG, RawWebSocket

LEFT = {"type": "peer", "event": "left", "role": "family"}


def frame(opcode: int, payload: bytes, masked: bool = True, rsv: int = 0) -> bytes:
    """One whole frame as the bytes a client writes (masked unless told otherwise)."""
    head = bytes([0x80 | rsv << 4 | opcode])
    n = len(payload)
    mask_bit = 0x80 if masked else 0
    head += bytes([mask_bit | n]) if n < 126 else struct.pack("!BH", mask_bit | 126, n)
    if not masked:
        return head + payload
    key = os.urandom(4)
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


def test_a_ping_gets_a_pong_with_its_payload(relay, ssl_ctx):
    s = relay.create_session(relay.token("alice"))
    ws = RawWebSocket.connect("127.0.0.1", relay.port, ws_path(s["sessionId"]), ssl_ctx)
    assert ws.status == 101
    for payload in (b"are you there", b"", bytes(range(125))):
        ws.send_frame(OP_PING, payload)
        assert ws.recv_frame(timeout=5) == (True, OP_PONG, payload)
    ws.close()


@pytest.mark.parametrize("bad, code", [
    (frame(0x2, b"\x01\x02\x03", masked=False), 1002),
    (frame(0x1, b'{"type":"signal","x":"\xc3\x28"}'), 1007),
    (frame(0x2, b"\x01", rsv=4), 1002),
    (frame(0x3, b"\x01"), 1002),
    (frame(0x9, b"x" * 126), 1002),
    (frame(0x8, struct.pack("!H", 1006)), 1002),
    (frame(0x8, b"\x03"), 1002),
], ids=["unmasked", "text-not-utf8", "rsv-bit", "reserved-opcode", "long-ping", "close-1006", "close-one-byte"])
def test_a_frame_a_client_must_not_send_closes_with_the_protocol_code(relay, bad, code):
    p, f, _ = relay.pair()
    f.sock.sendall(bad)
    got, closed = f.expect_close(timeout=5)
    assert closed == code, f"closed with {closed}, after {got!r}"
    assert p.recv_json(timeout=5) == LEFT
    p.close()


def test_a_close_is_answered_with_its_code_and_the_peer_is_told_at_once(relay):
    p, f, _ = relay.pair()
    f.sock.sendall(frame(0x8, struct.pack("!H", 4000) + b"done here"))
    got, closed = f.expect_close(timeout=5)
    assert closed == 4000, f"closed with {closed}, after {got!r}"
    assert p.recv_json(timeout=2) == LEFT
    p.close()
