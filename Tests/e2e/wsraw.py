"""A tiny TLS WebSocket client over a raw socket, for what a WebSocket library refuses to send.

It sends exactly the frames it is told to (no subprotocol, a binary first message, fragments,
oversized messages, frames the server should reject) and reads the server's frames one by one,
so tests can check close codes and the order of messages exactly. Every read has a deadline.
"""

from __future__ import annotations

import base64
import hashlib
import os
import socket
import ssl
import struct
import time
from dataclasses import dataclass

OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class RawClosed(Exception):
    """The TCP/TLS stream ended without (more) WebSocket frames."""


class RawTimeout(AssertionError):
    """Nothing (complete) arrived before the deadline."""



def parse_response_head(head: bytes) -> tuple[int, str, dict[str, str]]:
    """Status, reason and lower-cased headers of an HTTP/1.1 response head (without the blank line)."""
    status_line, *header_lines = head.decode("iso-8859-1").split("\r\n")
    parts = status_line.split(" ", 2)
    headers: dict[str, str] = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(parts[1]), parts[2] if len(parts) > 2 else "", headers

@dataclass
class Message:
    kind: str  # "text", "binary" or "close"
    data: bytes = b""
    code: int | None = None  # close code, for kind == "close"
    reason: str = ""

    @property
    def text(self) -> str:
        return self.data.decode("utf-8")

    def __repr__(self) -> str:
        if self.kind == "close":
            return f"Message(close code={self.code} reason={self.reason!r})"
        shown = self.data[:200]
        return f"Message({self.kind}, {len(self.data)} bytes: {shown!r}{'...' if len(self.data) > 200 else ''})"


def mask_payload(payload: bytes, key: bytes) -> bytes:
    """`payload` masked (or unmasked) with the 4-byte `key`, as RFC 6455 5.3 says."""
    if not payload:
        return b""
    n = len(payload)
    repeated = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(repeated, "big")).to_bytes(n, "big")


class RawWebSocket:
    """One client connection. Not thread-safe: use from one thread."""

    def __init__(self, sock: ssl.SSLSocket, status: int, reason: str, headers: dict[str, str], leftover: bytes):
        self.sock = sock
        self.status = status
        self.reason = reason
        self.headers = headers
        self._buf = bytearray(leftover)
        self._eof = False

    # --- opening -------------------------------------------------------------------------

    @classmethod
    def connect(
        cls,
        host: str,
        port: int,
        path: str,
        ssl_ctx: ssl.SSLContext,
        subprotocols: list[str] | None = ("vigrelay.v1",),
        timeout: float = 10.0,
        extra_headers: list[tuple[str, str]] = (),
        nodelay: bool = True,
        rcvbuf: int | None = None,
    ) -> "RawWebSocket":
        """Opens TLS, sends the upgrade request and reads the response head (any status). With
        `rcvbuf`, the socket's receive buffer is that small (set before connecting, so the window
        the server sees is too)."""
        if rcvbuf is None:
            raw = socket.create_connection((host, port), timeout=timeout)
        else:
            raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
            raw.settimeout(timeout)
            raw.connect((host, port))
        if nodelay:
            raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock = ssl_ctx.wrap_socket(raw, server_hostname=host)
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [
            f"GET {path} HTTP/1.1",
            f"Host: {host}:{port}",
            "Upgrade: websocket",
            "Connection: Upgrade",
            f"Sec-WebSocket-Key: {key}",
            "Sec-WebSocket-Version: 13",
        ]
        if subprotocols:
            lines.append("Sec-WebSocket-Protocol: " + ", ".join(subprotocols))
        lines += [f"{k}: {v}" for k, v in extra_headers]
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())

        deadline = time.monotonic() + timeout
        buf = bytearray()
        while b"\r\n\r\n" not in buf:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                sock.close()
                raise RawTimeout(f"no HTTP response to the upgrade of {path} within {timeout} s")
            sock.settimeout(remaining)
            chunk = sock.recv(65536)
            if not chunk:
                sock.close()
                raise RawClosed(f"connection closed during the upgrade of {path}; got {bytes(buf)!r}")
            buf += chunk
        head, _, leftover = bytes(buf).partition(b"\r\n\r\n")
        status, reason, headers = parse_response_head(head)
        ws = cls(sock, status, reason, headers, leftover)
        if status == 101:
            expected = base64.b64encode(hashlib.sha1(key.encode() + _GUID).digest()).decode()
            got = headers.get("sec-websocket-accept")
            if got != expected:
                sock.close()
                raise AssertionError(f"bad Sec-WebSocket-Accept {got!r}, expected {expected!r}")
        return ws

    # --- sending ---------------------------------------------------------------------------

    def send_frame(self, opcode: int, payload: bytes = b"", fin: bool = True, rsv: int = 0,
                   chunk_size: int = 1 << 20, timeout: float = 30.0) -> None:
        """Sends one masked frame (a client must mask). Large payloads go out in chunks."""
        key = os.urandom(4)
        n = len(payload)
        first = (0x80 if fin else 0) | (rsv << 4) | opcode
        if n < 126:
            header = struct.pack("!BB", first, 0x80 | n)
        elif n < 65536:
            header = struct.pack("!BBH", first, 0x80 | 126, n)
        else:
            header = struct.pack("!BBQ", first, 0x80 | 127, n)
        self.sock.settimeout(timeout)
        self.sock.sendall(header + key)
        for i in range(0, n, chunk_size):
            self.sock.sendall(mask_payload(payload[i:i + chunk_size], _rotate(key, i)))

    def send_text(self, text: str | bytes) -> None:
        self.send_frame(OP_TEXT, text.encode() if isinstance(text, str) else text)

    def send_binary(self, data: bytes) -> None:
        self.send_frame(OP_BINARY, data)

    def send_close(self, code: int = 1000, reason: str = "") -> None:
        self.send_frame(OP_CLOSE, struct.pack("!H", code) + reason.encode())

    # --- receiving -------------------------------------------------------------------------

    def _fill(self, n: int, deadline: float) -> None:
        while len(self._buf) < n:
            if self._eof:
                raise RawClosed("connection ended")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise RawTimeout("no complete frame before the deadline")
            self.sock.settimeout(remaining)
            try:
                chunk = self.sock.recv(1 << 20)
            except (socket.timeout, TimeoutError):
                raise RawTimeout("no complete frame before the deadline") from None
            except (ConnectionResetError, BrokenPipeError, ssl.SSLError, OSError) as e:
                self._eof = True
                raise RawClosed(f"connection ended: {e!r}") from None
            if not chunk:
                self._eof = True
                raise RawClosed("connection ended")
            self._buf += chunk

    def recv_frame(self, timeout: float = 5.0) -> tuple[bool, int, bytes]:
        deadline = time.monotonic() + timeout
        self._fill(2, deadline)
        b0, b1 = self._buf[0], self._buf[1]
        fin, opcode = bool(b0 & 0x80), b0 & 0x0F
        masked, n = bool(b1 & 0x80), b1 & 0x7F
        pos = 2
        if n == 126:
            self._fill(4, deadline)
            n = struct.unpack("!H", self._buf[2:4])[0]
            pos = 4
        elif n == 127:
            self._fill(10, deadline)
            n = struct.unpack("!Q", self._buf[2:10])[0]
            pos = 10
        key = b""
        if masked:
            self._fill(pos + 4, deadline)
            key = bytes(self._buf[pos:pos + 4])
            pos += 4
        self._fill(pos + n, deadline)
        payload = bytes(self._buf[pos:pos + n])
        del self._buf[:pos + n]
        if masked:
            payload = mask_payload(payload, key)
        return fin, opcode, payload

    def recv(self, timeout: float = 5.0) -> Message:
        """Next whole message (fragments joined); answers pings. Close frames come back as Message."""
        deadline = time.monotonic() + timeout
        kind = None
        parts: list[bytes] = []
        while True:
            remaining = max(0.0, deadline - time.monotonic())
            fin, opcode, payload = self.recv_frame(timeout=remaining)
            if opcode == OP_PING:
                try:
                    self.send_frame(OP_PONG, payload)
                except OSError:
                    pass
                continue
            if opcode == OP_PONG:
                continue
            if opcode == OP_CLOSE:
                code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
                return Message("close", payload, code, payload[2:].decode("utf-8", "replace"))
            if opcode in (OP_TEXT, OP_BINARY):
                kind = "text" if opcode == OP_TEXT else "binary"
                parts = [payload]
            elif opcode == OP_CONT:
                parts.append(payload)
            else:
                raise AssertionError(f"server sent reserved opcode {opcode:#x}")
            if fin:
                return Message(kind or "binary", b"".join(parts))

    def recv_until_close(self, timeout: float = 5.0) -> tuple[list[Message], Message | None]:
        """Messages until the close frame (returned separately; None if the stream just ended)."""
        deadline = time.monotonic() + timeout
        got: list[Message] = []
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise RawTimeout(f"connection not closed within {timeout} s; got {got!r}")
            try:
                m = self.recv(timeout=remaining)
            except RawClosed:
                return got, None
            if m.kind == "close":
                try:  # complete the closing handshake politely
                    self.send_frame(OP_CLOSE, m.data[:2])
                except OSError:
                    pass
                return got, m
            got.append(m)

    # --- ending ----------------------------------------------------------------------------

    def close(self) -> None:
        try:
            self.send_close(1000)
        except OSError:
            pass
        self.abort()

    def abort(self) -> None:
        """Drops the connection without a WebSocket close (like a phone losing its network)."""
        try:
            self.sock.close()
        except OSError:
            pass


def _rotate(key: bytes, offset: int) -> bytes:
    r = offset % 4
    return key[r:] + key[:r]
