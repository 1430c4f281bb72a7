"""Helpers for the end-to-end tests: the real `vigrelay` process, HTTPS requests, WebSocket
clients (the `websockets` library's protocol), media frames. Every wait here has a deadline."""

from __future__ import annotations

import json
import re
import signal
import socket
import ssl
import struct
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from collections import deque

from websockets.client import ClientProtocol
from websockets.extensions.permessage_deflate import enable_client_permessage_deflate
from websockets.frames import Close, Frame, Opcode
from websockets.protocol import State
from websockets.typing import Subprotocol
from websockets.uri import parse_uri

from prometheus_client.parser import text_string_to_metric_families

from wsraw import parse_response_head

SUBPROTOCOL = "vigrelay.v1"
HEX32 = re.compile(r"^[0-9a-f]{32}$")

# Media frame header fields (docs/PROTOCOL.md, "Binary media frames").
CAMERA, SCREEN = 1, 2
F_INIT, F_KEY, F_EOS = 1, 2, 4
HEADER = struct.Struct(">BBBBIQ")


def media_frame(stream: int, flags: int = 0, seq: int = 0, t_us: int = 0, payload: bytes = b"",
                version: int = 1, reserved: int = 0) -> bytes:
    return HEADER.pack(version, stream, flags, reserved, seq, t_us) + payload


def frame_header(data: bytes) -> dict:
    v, s, f, r, seq, t = HEADER.unpack(data[:16])
    return {"version": v, "stream": s, "flags": f, "reserved": r, "seq": seq, "t_us": t}


def patterned(n: int, seed: int) -> bytes:
    """n bytes of content that differs per seed (cheap, checkable)."""
    block = (seed.to_bytes(4, "big") + bytes(range(256))) * 4
    reps = n // len(block) + 1
    return (block * reps)[:n]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- HTTPS ---------------------------------------------------------------------------------

@dataclass
class Response:
    status: int
    reason: str
    headers: dict[str, str]
    body: bytes

    def json(self):
        try:
            return json.loads(self.body)
        except ValueError as e:
            raise AssertionError(f"HTTP {self.status} body is not JSON: {self.body[:300]!r}") from e

    def __repr__(self) -> str:
        return f"Response({self.status} {self.reason}, {self.body[:300]!r})"


def https_request(port: int, method: str, path: str, ssl_ctx: ssl.SSLContext,
                  headers: dict[str, str] | None = None, body: bytes | None = None,
                  timeout: float = 10.0, host: str = "127.0.0.1") -> Response:
    """One HTTP/1.1 request on a fresh TLS connection (Connection: close). Tolerates a server that
    answers before reading the whole body (e.g. 413)."""
    deadline = time.monotonic() + timeout
    raw = socket.create_connection((host, port), timeout=timeout)
    sock = ssl_ctx.wrap_socket(raw, server_hostname=host)
    try:
        lines = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}", "Connection: close",
                 "Accept: application/json"]
        for k, v in (headers or {}).items():
            lines.append(f"{k}: {v}")
        if body is not None:
            lines.append(f"Content-Length: {len(body)}")
            if not any(k.lower() == "content-type" for k in (headers or {})):
                lines.append("Content-Type: application/json")
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        if body:
            try:
                for i in range(0, len(body), 16384):
                    sock.sendall(body[i:i + 16384])
            except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
                pass  # the server answered early; read what it said
        buf = bytearray()

        def fill(pred) -> bool:
            while not pred():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"{method} {path}: no complete response within {timeout} s; got {bytes(buf[:300])!r}")
                sock.settimeout(remaining)
                try:
                    chunk = sock.recv(65536)
                except (ConnectionResetError, ssl.SSLError):
                    chunk = b""
                if not chunk:
                    return False
                buf.extend(chunk)
            return True

        if not fill(lambda: b"\r\n\r\n" in buf):
            raise AssertionError(f"{method} {path}: connection closed before a response head; got {bytes(buf)!r}")
        head, _, rest = bytes(buf).partition(b"\r\n\r\n")
        status, reason, hdrs = parse_response_head(head)
        head_len = len(head) + 4
        if method == "HEAD":
            return Response(status, reason, hdrs, b"")  # the head says what a GET would send; no body follows
        if "content-length" in hdrs:
            n = int(hdrs["content-length"])
            if not fill(lambda: len(buf) >= head_len + n):
                raise AssertionError(f"{method} {path}: body shorter than Content-Length {n}: {bytes(buf[head_len:])!r}")
            data = bytes(buf[head_len:head_len + n])
        elif hdrs.get("transfer-encoding", "").lower() == "chunked":
            if not fill(lambda: b"\r\n0\r\n\r\n" in buf[head_len - 2:]):
                raise AssertionError(f"{method} {path}: chunked body cut off before its last chunk: {bytes(buf[head_len:])[-200:]!r}")
            data = _dechunk(bytes(buf[head_len:]))
        else:
            fill(lambda: False)  # read to EOF
            data = bytes(buf[head_len:])
        return Response(status, reason, hdrs, data)
    finally:
        sock.close()


def _dechunk(data: bytes) -> bytes:
    out = bytearray()
    while data:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out += data[:size]
        data = data[size + 2:]
    return bytes(out)


def assert_error(resp: Response, status: int, code: str) -> dict:
    """An HTTP error with the contract's shape: {"type":"error","code":...,"message":...}."""
    assert resp.status == status, f"expected HTTP {status} {code}, got {resp!r}"
    body = resp.json()
    assert body.get("type") == "error", f"error body lacks type=error: {body}"
    assert body.get("code") == code, f"expected code {code!r}, got {body}"
    assert isinstance(body.get("message"), str) and body["message"], f"error body lacks a message: {body}"
    return body


# --- WebSocket (the `websockets` library's protocol, driven from one thread) ----------------
#
# The `websockets` sync client reads on a background thread while the caller writes on the same
# TLS socket; under TLS 1.3 that races (about 1 handshake in 100 hangs, against any server). So the
# tests drive the library's sans-I/O ClientProtocol (handshake checks, framing, masking, close
# handshake, permessage-deflate) over a blocking socket from a single thread.

class WSClosed(AssertionError):
    def __init__(self, name: str, code: int | None, reason: str = ""):
        self.code, self.reason = code, reason
        super().__init__(f"{name}: connection closed while a message was expected "
                         f"({'close code %s reason %r' % (code, reason) if code is not None else 'no close frame'})")


class WS:
    """One WebSocket client connection with deadline-bounded receives. Not thread-safe."""

    def __init__(self, sock: ssl.SSLSocket, protocol: ClientProtocol, name: str):
        self.sock = sock
        self.protocol = protocol
        self.name = name
        self.frames: deque = deque()
        self.eof = False
        self.subprotocol = protocol.subprotocol

    # plumbing
    def _flush(self) -> None:
        for data in self.protocol.data_to_send():
            if data:
                self.sock.settimeout(30)
                self.sock.sendall(data)

    def _pump(self, deadline: float) -> None:
        """Reads once from the socket (or raises TimeoutError at the deadline)."""
        if self.eof:
            raise EOFError
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError
        self.sock.settimeout(remaining)
        try:
            data = self.sock.recv(1 << 20)
        except (socket.timeout, TimeoutError):
            raise TimeoutError from None
        except (ConnectionResetError, BrokenPipeError, ssl.SSLError, OSError):
            data = b""
        if data:
            self.protocol.receive_data(data)
        else:
            self.eof = True
            self.protocol.receive_eof()
        for ev in self.protocol.events_received():
            if isinstance(ev, Frame):
                self.frames.append(ev)
        try:
            self._flush()  # pongs, the close reply
        except OSError:
            pass

    def _frame(self, deadline: float) -> Frame:
        while not self.frames:
            self._pump(deadline)
        return self.frames.popleft()

    def _message(self, timeout: float):
        """The next whole message: str, bytes, or a Close for the close frame; EOFError if the stream ended."""
        deadline = time.monotonic() + timeout
        parts, kind = [], None
        while True:
            fr = self._frame(deadline)
            if fr.opcode in (Opcode.PING, Opcode.PONG):
                continue
            if fr.opcode == Opcode.CLOSE:
                return Close.parse(fr.data) if fr.data else Close(1005, "")
            if fr.opcode in (Opcode.TEXT, Opcode.BINARY):
                kind, parts = fr.opcode, [fr.data]
            else:
                parts.append(fr.data)
            if fr.fin:
                data = b"".join(parts)
                if kind == Opcode.TEXT:
                    try:
                        return data.decode("utf-8")
                    except UnicodeDecodeError:
                        raise AssertionError(f"{self.name}: text message is not UTF-8: {data[:100]!r}") from None
                return data

    # API
    def send_json(self, obj) -> None:
        self.send_text(json.dumps(obj))

    def send_text(self, text: str) -> None:
        self.protocol.send_text(text.encode("utf-8"))
        self._flush()

    def send_bytes(self, data: bytes) -> None:
        self.protocol.send_binary(data)
        self._flush()

    def recv(self, timeout: float = 5.0):
        try:
            m = self._message(timeout)
        except TimeoutError:
            raise AssertionError(f"{self.name}: no message within {timeout} s") from None
        except EOFError:
            raise WSClosed(self.name, None) from None
        if isinstance(m, Close):
            raise WSClosed(self.name, m.code, m.reason)
        return m

    def recv_json(self, timeout: float = 5.0) -> dict:
        m = self.recv(timeout)
        assert isinstance(m, str), f"{self.name}: expected a text message, got binary {m[:64]!r} ({len(m)} bytes)"
        try:
            obj = json.loads(m)
        except ValueError:
            raise AssertionError(f"{self.name}: text message is not JSON: {m[:300]!r}") from None
        assert isinstance(obj, dict), f"{self.name}: expected a JSON object, got {m[:300]!r}"
        return obj

    def recv_text(self, timeout: float = 5.0) -> str:
        m = self.recv(timeout)
        assert isinstance(m, str), f"{self.name}: expected a text message, got binary ({len(m)} bytes)"
        return m

    def recv_binary(self, timeout: float = 5.0) -> bytes:
        m = self.recv(timeout)
        assert isinstance(m, bytes), f"{self.name}: expected a binary message, got text {m[:300]!r}"
        return m

    def recv_error(self, code: str, timeout: float = 5.0) -> dict:
        m = self.recv_json(timeout)
        assert m.get("type") == "error" and m.get("code") == code, f"{self.name}: expected error {code!r}, got {m}"
        assert isinstance(m.get("message"), str) and m["message"], f"{self.name}: error without message: {m}"
        return m

    def expect_close(self, timeout: float = 5.0) -> tuple[list, int | None]:
        """Reads until the server closes; returns (messages before the close, close code or None)."""
        deadline = time.monotonic() + timeout
        got = []
        while True:
            try:
                m = self._message(max(0.0, deadline - time.monotonic()))
            except TimeoutError:
                raise AssertionError(f"{self.name}: not closed within {timeout} s; got {got!r}") from None
            except EOFError:
                return got, None
            if isinstance(m, Close):
                return got, m.code
            got.append(m)

    def close(self, timeout: float = 2.0) -> None:
        """Clean close: send 1000 and wait (bounded) for the server's close or EOF."""
        try:
            if self.protocol.state is State.OPEN:
                self.protocol.send_close(1000)
                self._flush()
            deadline = time.monotonic() + timeout
            while not self.eof and self.protocol.state is not State.CLOSED:
                self._pump(deadline)
        except (TimeoutError, EOFError, OSError, AssertionError):
            pass
        finally:
            self.abort()

    def abort(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


def ws_connect(port: int, path: str, ssl_ctx: ssl.SSLContext, name: str = "ws",
               subprotocols=(SUBPROTOCOL,), timeout: float = 10.0) -> WS:
    uri = f"wss://127.0.0.1:{port}{path}"
    protocol = ClientProtocol(parse_uri(uri), subprotocols=[Subprotocol(p) for p in subprotocols],
                              extensions=enable_client_permessage_deflate(None), max_size=None)
    raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock = ssl_ctx.wrap_socket(raw, server_hostname="127.0.0.1")
    ws = WS(sock, protocol, name)
    protocol.send_request(protocol.connect())
    ws._flush()
    deadline = time.monotonic() + timeout
    while protocol.state is State.CONNECTING:
        try:
            ws._pump(deadline)
        except TimeoutError:
            sock.close()
            raise AssertionError(f"{name}: no WebSocket handshake response on {path} within {timeout} s") from None
        except EOFError:
            break
    if protocol.handshake_exc is not None or protocol.state is not State.OPEN:
        sock.close()
        raise AssertionError(f"{name}: WebSocket handshake on {path} failed: {protocol.handshake_exc!r}")
    ws.subprotocol = protocol.subprotocol
    if subprotocols:
        assert ws.subprotocol == SUBPROTOCOL, f"server chose subprotocol {ws.subprotocol!r}"
    return ws


def ws_path(session_id: str) -> str:
    return f"/v1/sessions/{session_id}/ws"


# --- the vigrelay process ------------------------------------------------------------------

@dataclass
class Binaries:
    vigrelay: Path
    client: Path


@dataclass
class Certs:
    dir: Path
    ca: Path
    cert: Path
    key: Path


def run(cmd: list, timeout: float = 60.0, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, **kw)


def serve_refused(vigrelay: Path, data_dir: Path, *args: str) -> subprocess.CompletedProcess:
    """Runs `vigrelay serve` with options it must refuse before listening. Should it start anyway it
    listens on 127.0.0.1 only (never the default address), and `run`'s timeout ends the test."""
    return run([vigrelay, "serve", "--listen", f"127.0.0.1:{free_port()}", "--data-dir", data_dir, *args],
               timeout=30)


def make_token(bins: Binaries, data_dir: Path, pid: str = "alice", ttl: str | None = None,
               env: dict | None = None, extra: list | None = None, kind: str = "practitioner") -> str:
    cmd = [bins.vigrelay, "token", kind, "--id", pid]
    if data_dir is not None:
        cmd += ["--data-dir", data_dir]
    if ttl:
        cmd += ["--ttl", ttl]
    cmd += extra or []
    p = run(cmd, timeout=30, env=env)
    assert p.returncode == 0, f"{' '.join(map(str, cmd))} exited {p.returncode}: {p.stderr or p.stdout}"
    lines = [l.strip() for l in p.stdout.strip().splitlines() if l.strip()]
    assert lines, f"vigrelay token printed nothing on stdout (stderr: {p.stderr!r})"
    return lines[-1]


@dataclass
class Relay:
    bins: Binaries
    certs: Certs
    workdir: Path
    ssl_ctx: ssl.SSLContext
    data_dir: Path | None = None
    port: int | None = None
    extra_args: list = field(default_factory=list)
    env: dict | None = None
    proc: subprocess.Popen | None = None
    secrets_seen: set = field(default_factory=set)  # tokens that must never appear in the log

    def __post_init__(self):
        self.workdir.mkdir(parents=True, exist_ok=True)
        if self.data_dir is None:
            self.data_dir = self.workdir / "data"
        self.out_path = self.workdir / "vigrelay.stdout.log"
        self.err_path = self.workdir / "vigrelay.stderr.log"
        self._auto_port = self.port is None

    @property
    def base_url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> "Relay":
        for attempt in range(3):
            if self._auto_port:
                self.port = free_port()
            cmd = [self.bins.vigrelay, "serve", "--listen", f"127.0.0.1:{self.port}",
                   "--data-dir", self.data_dir, "--cert", self.certs.cert, "--key", self.certs.key,
                   *self.extra_args]
            with open(self.out_path, "ab") as out, open(self.err_path, "ab") as err:
                self.proc = subprocess.Popen([str(c) for c in cmd], stdout=out, stderr=err,
                                             stdin=subprocess.DEVNULL, cwd=self.workdir, env=self.env)
            if self.wait_ready(timeout):
                return self
            if self._auto_port and self.proc.poll() is not None and re.search(r"in use|bind", self.log_text(), re.I) and attempt < 2:
                continue
            break
        rc = self.proc.poll()
        self.kill()
        raise AssertionError(f"vigrelay serve did not become ready on port {self.port} within {timeout} s "
                             f"(exit status {rc}); args {cmd[1:]}\n--- log ---\n{self.log_text()[-3000:]}")

    def wait_ready(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                r = https_request(self.port, "GET", "/healthz", self.ssl_ctx, timeout=2)
                if r.status == 200:
                    return True
            except (OSError, ssl.SSLError, AssertionError):
                pass
            time.sleep(0.05)
        return False

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> tuple[int | None, float]:
        """Sends sig and waits for the exit; returns (exit status or None if it had to be killed, seconds)."""
        if self.proc is None or self.proc.poll() is not None:
            return (self.proc.returncode if self.proc else None), 0.0
        t0 = time.monotonic()
        self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout=timeout)
            return rc, time.monotonic() - t0
        except subprocess.TimeoutExpired:
            self.kill()
            return None, time.monotonic() - t0

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass

    def log_text(self) -> str:
        text = ""
        for p in (self.out_path, self.err_path):
            if p.exists():
                text += p.read_bytes().decode("utf-8", "replace")
        return text

    # --- tokens, HTTP, WebSocket --------------------------------------------------------

    def token(self, pid: str = "alice", ttl: str | None = None) -> str:
        t = make_token(self.bins, self.data_dir, pid, ttl)
        self.secrets_seen.add(t)
        return t

    def metrics_token(self, who: str = "prometheus") -> str:
        t = make_token(self.bins, self.data_dir, who, kind="metrics")
        self.secrets_seen.add(t)
        return t

    def metrics(self, token: str) -> dict[str, float]:
        """`GET /metrics`, parsed as Prometheus parses it: {'name' or 'name{label="value"}': value}."""
        r = self.http("GET", "/metrics", headers={"Authorization": f"Bearer {token}"})
        assert r.status == 200, f"GET /metrics: expected 200, got {r!r}"
        assert r.headers.get("content-type", "").startswith("text/plain; version=0.0.4"), r.headers
        return parse_metrics(r.body.decode())

    def http(self, method: str, path: str, headers: dict | None = None, body: bytes | None = None,
             timeout: float = 10.0) -> Response:
        return https_request(self.port, method, path, self.ssl_ctx, headers=headers, body=body, timeout=timeout)

    def post_sessions(self, token: str | None, body=None, raw_body: bytes | None = None) -> Response:
        headers = bearer(token)
        data = raw_body if raw_body is not None else (json.dumps(body).encode() if body is not None else None)
        return self.http("POST", "/v1/sessions", headers=headers, body=data)

    def create_session(self, token: str, body=None) -> dict:
        r = self.post_sessions(token, body)
        assert r.status == 201, f"POST /v1/sessions: expected 201, got {r!r}"
        s = r.json()
        self.secrets_seen.add(s["inviteToken"])
        return s

    def connect(self, session_id: str, name: str = "ws") -> WS:
        return ws_connect(self.port, ws_path(session_id), self.ssl_ctx, name=name)

    def join(self, session_id: str, token: str, name: str = "ws", msg_id=None,
             role: str | None = None, peer_present: bool | None = None) -> tuple[WS, dict]:
        ws = self.connect(session_id, name)
        hello = {"type": "hello", "token": token}
        if msg_id is not None:
            hello["id"] = msg_id
        ws.send_json(hello)
        welcome = ws.recv_json()
        assert welcome.get("type") == "welcome", f"{name}: first message after hello is not welcome: {welcome}"
        assert welcome.get("sessionId") == session_id, f"{name}: welcome for another session: {welcome}"
        if role is not None:
            assert welcome.get("role") == role, f"{name}: expected role {role}: {welcome}"
        if peer_present is not None:
            assert welcome.get("peerPresent") is peer_present, f"{name}: expected peerPresent {peer_present}: {welcome}"
        return ws, welcome

    def pair(self, pid: str = "alice", body=None) -> tuple[WS, WS, dict]:
        """A fresh session (created with `body`, e.g. {"caseRef": ...}) with the practitioner and
        then the family joined; joined events consumed."""
        tok = self.token(pid)
        s = self.create_session(tok, body)
        p, _ = self.join(s["sessionId"], tok, "practitioner", role="practitioner", peer_present=False)
        f, _ = self.join(s["sessionId"], s["inviteToken"], "family", role="family", peer_present=True)
        ev = p.recv_json()
        assert ev == {"type": "peer", "event": "joined", "role": "family"}, f"practitioner expected family joined, got {ev}"
        s["practitionerToken"] = tok
        return p, f, s


def bearer(token: str | None) -> dict:
    """The Authorization header for a token (none for None)."""
    return {"Authorization": f"Bearer {token}"} if token is not None else {}


def new_practitioner(relay, label: str) -> tuple[str, str]:
    """A practitioner id no other test uses, and a token for it: the sessions a test lists are its own."""
    pid = f"{label}-{uuid.uuid4().hex[:8]}"
    return pid, relay.token(pid)


def bye(ws) -> None:
    """Leaves with bye and waits for the relay's close: it has let go of the connection by then."""
    ws.send_json({"type": "bye"})
    _, code = ws.expect_close()
    assert code == 1000, code


def parse_metrics(text: str) -> dict[str, float]:
    """Prometheus' text format, read by its own parser (which fails on anything malformed), as
    {'name' or 'name{label="value",...}': value}; every sample's family has its TYPE and HELP."""
    samples = {}
    for family in text_string_to_metric_families(text):
        assert family.type in ("counter", "gauge"), f"{family.name}: TYPE {family.type}"
        assert family.documentation, f"{family.name} has no HELP"
        for s in family.samples:
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(s.labels.items()))
            samples[f"{s.name}{{{labels}}}" if labels else s.name] = s.value
    return samples


def wait_until(pred, timeout: float, what: str, interval: float = 0.05):
    """Polls pred() until it returns something truthy, failing with `what` at the deadline."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = pred()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what} (last: {last!r})")


def forge(token: str) -> str:
    """The same claims with a signature that is not the server's."""
    payload, _, sig = token.partition(".")
    flipped = ("A" if sig[0] != "A" else "B") + sig[1:]
    return f"{payload}.{flipped}"


# --- keep-alive HTTPS (several requests on one connection; a client that stops reading) ------

class HTTPConn:
    """One HTTP/1.1 keep-alive connection over TLS: requests one after the other, each response
    read by its Content-Length, so a test can check the server keeps the connection open. With
    `rcvbuf`, the socket's receive buffer is made small before connecting (a client that stops
    reading then holds little in the kernel). With `source`, it connects from that local address
    (e.g. 127.0.0.2: another client address on loopback). Every read has a deadline. Not thread-safe."""

    def __init__(self, port: int, ssl_ctx: ssl.SSLContext, rcvbuf: int | None = None, timeout: float = 10.0,
                 host: str = "127.0.0.1", source: str | None = None):
        self.port, self.host = port, host
        raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if source:
            raw.bind((source, 0))
        if rcvbuf:
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        raw.settimeout(timeout)
        raw.connect((host, port))
        self.sock = ssl_ctx.wrap_socket(raw, server_hostname=host)
        self.buf = bytearray()
        self.eof = False

    def send(self, method: str, path: str, headers: dict | None = None, body: bytes | None = None) -> None:
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        if body is not None:
            lines.append(f"Content-Length: {len(body)}")
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b""))

    def _recv(self, deadline: float) -> bytes | None:
        """One read before the deadline: the bytes, b"" at EOF (also noted in self.eof), None if
        the deadline passed."""
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None
        self.sock.settimeout(remaining)
        try:
            chunk = self.sock.recv(1 << 20)
        except (socket.timeout, TimeoutError):
            return self._recv(deadline)
        except (ConnectionResetError, BrokenPipeError, ssl.SSLError, OSError):
            chunk = b""
        self.eof = self.eof or not chunk
        return chunk

    def _fill(self, pred, deadline: float, what: str) -> None:
        while not pred():
            if self.eof:
                raise AssertionError(f"connection closed while waiting for {what}; have {bytes(self.buf[:200])!r}")
            chunk = self._recv(deadline)
            if chunk is None:
                raise AssertionError(f"no {what} within the deadline; have {bytes(self.buf[:200])!r}")
            self.buf.extend(chunk)

    def read_head(self, timeout: float = 10.0) -> tuple[int, dict[str, str]]:
        """Reads one response head; the body bytes after it stay buffered."""
        self._fill(lambda: b"\r\n\r\n" in self.buf, time.monotonic() + timeout, "a response head")
        head, _, rest = bytes(self.buf).partition(b"\r\n\r\n")
        self.buf = bytearray(rest)
        status, _, headers = parse_response_head(head)
        return status, headers

    def read_response(self, head_only: bool = False, timeout: float = 10.0) -> Response:
        """One whole response (no body read for a HEAD request)."""
        deadline = time.monotonic() + timeout
        status, headers = self.read_head(timeout)
        n = 0 if head_only else int(headers.get("content-length", "0"))
        self._fill(lambda: len(self.buf) >= n, deadline, f"a {n}-byte body")
        body = bytes(self.buf[:n])
        del self.buf[:n]
        return Response(status, "", headers, body)

    def request(self, method: str, path: str, headers: dict | None = None, body: bytes | None = None,
                timeout: float = 10.0) -> Response:
        self.send(method, path, headers, body)
        return self.read_response(head_only=method == "HEAD", timeout=timeout)

    def read_to_eof(self, timeout: float) -> int:
        """Reads (and drops) everything until the server closes; returns how many bytes that was.
        Fails if the connection is still open at the deadline."""
        count = len(self.buf)
        self.buf.clear()
        deadline = time.monotonic() + timeout
        while not self.eof:
            chunk = self._recv(deadline)
            if chunk is None:
                raise AssertionError(f"the server did not close the connection within {timeout} s ({count} bytes read)")
            count += len(chunk)
        return count

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


def process_rss_kib(pid: int) -> int:
    """Resident memory of a process in KiB (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS in /proc/{pid}/status")


def chunks(data: bytes, sizes):
    """Cuts data into pieces of the given sizes, cycling through them (as a camera's chunks vary)."""
    at, i = 0, 0
    while at < len(data):
        n = sizes[i % len(sizes)]
        yield data[at:at + n]
        at += n
        i += 1


def next_json(ws, timeout: float = 10.0) -> dict:
    """The next text message on ws, skipping media frames, within the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"{ws.name}: no control message within {timeout} s"
        m = ws.recv(timeout=remaining)
        if isinstance(m, str):
            return json.loads(m)


# --- recording steps shared by the recording tests --------------------------------------------

def give_consent(p, f, recording: bool = True, child_agreed: bool = False) -> None:
    """The family answers the consent question; both sides get it echoed."""
    msg = {"type": "consent", "recording": recording}
    if child_agreed:
        msg["childAgreed"] = True
    f.send_json(msg)
    assert next_json(f) == msg
    assert next_json(p) == msg


def start_recording(p, f=None) -> str:
    """The practitioner starts recording; both sides (the family if given) are told. Returns its id."""
    p.send_json({"type": "record", "action": "start"})
    started = next_json(p)
    assert started.get("type") == "recording" and started.get("state") == "started", started
    if f is not None:
        assert next_json(f) == started
    return started["recordingId"]


def send_camera(p, f, data: bytes, sizes=4096, first_is_init: bool = True) -> int:
    """The family streams `data` as camera frames cut in `sizes` (one size or several, cycled), the
    first flagged init segment; the practitioner (unless p is None) receives each one live.
    Returns the frame count."""
    n = 0
    for i, c in enumerate(chunks(data, [sizes] if isinstance(sizes, int) else list(sizes))):
        frame = media_frame(CAMERA, F_INIT if i == 0 and first_is_init else 0, i, i * 100_000, c)
        f.send_bytes(frame)
        if p is not None:
            assert p.recv_binary() == frame
        n += 1
    return n


def end_process(proc, exit_wait: float = 0.0) -> None:
    """Gives `proc` `exit_wait` seconds to exit by itself (a browser asked to close), then SIGTERM,
    then SIGKILL, waiting up to 10 s after each."""
    try:
        proc.wait(timeout=exit_wait)
        return
    except subprocess.TimeoutExpired:
        pass
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def stop_recording(p, f, rid: str) -> dict:
    """The practitioner stops recording `rid`; both sides (the family if given) get `stopped`."""
    p.send_json({"type": "record", "action": "stop"})
    stopped = next_json(p, timeout=15)
    assert stopped.get("state") == "stopped" and stopped.get("recordingId") == rid, stopped
    if f is not None:
        assert next_json(f) == stopped
    return stopped
