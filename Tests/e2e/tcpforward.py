"""A TCP forwarder that a test can cut, to drop the network under browser pages the way a real drop
looks to them: every connection it carries is reset (RST, not a clean close), new connections are
refused for as long as the test says, then connections go through again. Or the network goes
silent (Wi-Fi gone, out of range): every socket stays open but no byte passes either way, new
connections included, until the test ends the silence. Or the link gets slow: bytes towards the
clients, or towards the relay, pass at a set rate.

One thread owns every socket (a selector loop), so a cut really sends RST: a socket closed while
another thread is blocked reading it would not be released until that read returned. The thread
ends on `close()` or at its lifetime's end, whichever comes first."""

from __future__ import annotations

import selectors
import socket
import struct
import threading
import time

_RST = struct.pack("ii", 1, 0)  # SO_LINGER on, 0 s: close() sends RST and drops unsent data
_MAX_PENDING = 1 << 20  # bytes held for a slow side before the other side is no longer read


def _reset(sock: socket.socket) -> None:
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _RST)
    except OSError:
        pass
    sock.close()


class _Pipe:
    """One forwarded connection: the accepted client socket and its upstream socket, each with the
    bytes waiting to be written to it."""

    def __init__(self, client: socket.socket, upstream: socket.socket):
        self.client = client
        self.peer = {client: upstream, upstream: client}
        self.pending = {client: bytearray(), upstream: bytearray()}
        self.eof = set()  # sockets that sent FIN

    def sockets(self):
        return list(self.peer)


class TCPForwarder:
    """Listens on 127.0.0.1 (a free port) and forwards each connection to 127.0.0.1:`upstream_port`
    (from `source`, another loopback address such as 127.0.0.3, if given: the relay then sees the
    page's connections come from there).

    Counters (read from any thread): `accepted`, `refused`, `cut_count`, `bytes_up` (towards the
    relay), `bytes_down`.
    Thread: `cut`, `refuse`, `silence` and `close` may be called from any thread; the loop thread
    does the work.
    """

    def __init__(self, upstream_port: int, name: str = "forwarder", lifetime: float = 300.0, source: str | None = None,
                 receive_buffer: int | None = None):
        self.upstream_port = upstream_port
        self.source = source
        self.name = name
        # SO_RCVBUF of every socket it reads, set before each connection is made (see throttle).
        self.receive_buffer = receive_buffer
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if receive_buffer:
            self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)  # accepted sockets inherit it
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.listener.setblocking(False)
        self.port = self.listener.getsockname()[1]
        self.accepted = self.refused = self.cut_count = self.bytes_up = self.bytes_down = 0
        self._refusing = False
        self._silent = False
        # Per direction ("down": towards the clients, "up": towards the relay): bytes/s, None as fast as
        # they go; the bytes that may go now (a token bucket), and when it was last filled.
        self._rate: dict[str, float | None] = {"down": None, "up": None}
        self._allowance = {"down": 0.0, "up": 0.0}
        self._refilled = {"down": time.monotonic(), "up": time.monotonic()}
        # Per direction: bytes taken from the sending side and not yet passed on, at most (a link's own
        # queue); None: _MAX_PENDING, on top of the kernel's receive buffer.
        self._queue_bytes: dict[str, int | None] = {"down": None, "up": None}
        self._requests: list = []  # (what, threading.Event) handed to the loop thread
        self._lock = threading.Lock()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._pipes: dict[socket.socket, _Pipe] = {}
        self._interest: dict[socket.socket, int] = {}  # what the selector watches on each socket
        self._closed = False
        self.error: BaseException | None = None  # what ended the loop thread, if it failed
        self._deadline = time.monotonic() + lifetime
        self._thread = threading.Thread(target=self._run, name=f"tcpforward-{name}", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    # --- called from the test's thread ---------------------------------------------------------

    def cut(self, refuse: bool = False, timeout: float = 5.0) -> int:
        """Resets every connection carried now (RST both ways); with `refuse`, new connections are
        reset as soon as they are accepted until `refuse(False)`. Returns how many were cut."""
        before = self.cut_count
        self._ask(("cut", refuse), timeout)
        return self.cut_count - before

    def refuse(self, on: bool, timeout: float = 5.0) -> None:
        """Refuses (accepts and resets) new connections, or lets them through again."""
        self._ask(("refuse", on), timeout)

    def silence(self, on: bool, timeout: float = 5.0) -> None:
        """With `on`, the network goes silent: every connection stays open but the forwarder stops
        reading and writing it (bytes wait in the kernel's buffers, then the senders' own), and new
        connections are accepted and connected upstream but held silent too; nobody is told. With
        `on` False, bytes pass again on every connection still open, as when a network comes back."""
        self._ask(("silence", on), timeout)

    def throttle(self, bytes_per_second: float | None, timeout: float = 5.0, direction: str = "down",
                 queue_seconds: float | None = None) -> None:
        """Bytes towards the clients (`direction` "down": what the relay sends the page), or towards the
        relay ("up": what the page sends), pass at `bytes_per_second` at most, over all connections,
        in bursts of at most 20 ms' worth; None lifts the limit. By default the forwarder takes up to
        1 MiB from the sending side beyond what it passed on, on top of its socket's receive buffer
        (which the kernel grows while the forwarder reads fast), as a link with a deep queue does.
        With `queue_seconds` it takes that many seconds at the rate (at least 16 KiB), as a router's
        queue in front of a slow link; made with a small `receive_buffer`, the forwarder then acks
        little more than that, so the sender's kernel holds the rest unacknowledged, as on a real
        link. (A receive buffer shrunk under an open loopback connection cannot take the 64 KiB
        segments already on their way, and the connection stalls: it is set before connecting.)"""
        assert direction in self._rate, direction
        queue = None if queue_seconds is None or bytes_per_second is None else max(16384, int(bytes_per_second * queue_seconds))
        self._ask(("throttle", (direction, bytes_per_second, queue)), timeout)

    def close(self, timeout: float = 5.0) -> None:
        """Stops the loop: every connection and the listener are closed."""
        if self._thread.is_alive():
            try:
                self._ask(("close", None), timeout)
            except AssertionError:
                pass
            self._thread.join(timeout)
        self._wake_w.close()

    def _ask(self, request, timeout: float) -> None:
        if not self._thread.is_alive():
            raise AssertionError(f"{self.name}: the forwarder no longer runs (its lifetime ended, or it failed: {self.error!r})")
        done = threading.Event()
        with self._lock:
            self._requests.append((request, done))
        try:
            self._wake_w.send(b"x")
        except OSError:
            pass
        if not done.wait(timeout):
            raise AssertionError(f"{self.name}: the forwarder did not carry out {request[0]!r} within {timeout} s")
        if self.error is not None:
            raise AssertionError(f"{self.name}: the forwarder's thread failed: {self.error!r}")

    # --- the loop thread ---------------------------------------------------------------------

    def _run(self) -> None:
        sel = selectors.DefaultSelector()
        self._sel = sel
        sel.register(self.listener, selectors.EVENT_READ, "listen")
        sel.register(self._wake_r, selectors.EVENT_READ, "wake")
        try:
            while not self._closed and time.monotonic() < self._deadline:
                throttled = any(self._rate.values())
                for key, mask in sel.select(timeout=0.005 if throttled else 0.5):
                    if key.data == "listen":
                        self._accept()
                    elif key.data == "wake":
                        self._handle_requests()
                    elif key.fileobj in self._pipes:
                        self._service(key.fileobj, mask)
                if throttled and not self._silent:
                    self._send_throttled()
        except Exception as e:  # noqa: BLE001 - reported to the test by the next request
            self.error = e
        finally:
            for pipe in {id(p): p for p in self._pipes.values()}.values():
                for s in pipe.sockets():
                    s.close()
            self._pipes.clear()
            self.listener.close()
            self._wake_r.close()
            sel.close()
            with self._lock:
                for _, done in self._requests:
                    done.set()
                self._requests.clear()

    def _handle_requests(self) -> None:
        try:
            while self._wake_r.recv(4096):
                pass
        except BlockingIOError:
            pass
        with self._lock:
            requests, self._requests = self._requests, []
        for (what, arg), done in requests:
            if what == "cut":
                pipes = {id(p): p for p in self._pipes.values()}.values()
                for pipe in list(pipes):
                    self._drop(pipe, reset=True)
                    self.cut_count += 1
                self._refusing = arg
            elif what == "refuse":
                self._refusing = arg
            elif what == "silence":
                self._silent = arg
                for pipe in {id(p): p for p in self._pipes.values()}.values():
                    self._watch(pipe)
            elif what == "throttle":
                direction, rate, queue = arg
                self._rate[direction] = rate
                self._queue_bytes[direction] = queue
                self._allowance[direction] = 0.0
                self._refilled[direction] = time.monotonic()
                for pipe in {id(p): p for p in self._pipes.values()}.values():
                    self._watch(pipe)
            elif what == "close":
                self._closed = True
            done.set()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except BlockingIOError:
                return
            if self._refusing:
                self.refused += 1
                _reset(client)
                continue
            try:
                upstream = self._connect_upstream()
            except OSError:
                _reset(client)
                continue
            self.accepted += 1
            for s in (client, upstream):
                s.setblocking(False)
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            pipe = _Pipe(client, upstream)
            for s in pipe.sockets():
                self._pipes[s] = pipe
            self._watch(pipe)

    def _service(self, sock: socket.socket, mask: int) -> None:
        if self._silent:
            return  # an event selected just before the silence began
        pipe = self._pipes[sock]
        other = pipe.peer[sock]
        if mask & selectors.EVENT_READ:
            try:
                data = sock.recv(65536)
            except BlockingIOError:
                data = None
            except OSError:
                self._drop(pipe, reset=True)
                return
            if data == b"":
                pipe.eof.add(sock)
            elif data:
                if sock is pipe.client:
                    self.bytes_up += len(data)
                else:
                    self.bytes_down += len(data)
                pipe.pending[other] += data
        if mask & selectors.EVENT_WRITE or pipe.pending[other]:
            for s in pipe.sockets():
                if pipe.pending[s] and not self._flush(pipe, s):
                    return
        if pipe.eof and not any(pipe.pending.values()):
            self._drop(pipe, reset=False)  # one side closed cleanly and everything was passed on
            return
        self._watch(pipe)

    def _direction(self, pipe: _Pipe, sock: socket.socket) -> str:
        """Which way bytes written to `sock` go."""
        return "down" if sock is pipe.client else "up"

    def _send_throttled(self) -> None:
        """Passes on what the rates allow now of the bytes waiting in a throttled direction (the
        selector does not watch those sockets for writing while throttled)."""
        now = time.monotonic()
        for direction, rate in self._rate.items():
            if rate:
                self._allowance[direction] = min(self._allowance[direction] + (now - self._refilled[direction]) * rate, rate * 0.02)
            self._refilled[direction] = now
        for pipe in {id(p): p for p in self._pipes.values()}.values():
            for s in pipe.sockets():
                if self._rate[self._direction(pipe, s)] and pipe.pending[s]:
                    if not self._flush(pipe, s):
                        break
                    self._watch(pipe)

    def _flush(self, pipe: _Pipe, sock: socket.socket) -> bool:
        limit = len(pipe.pending[sock])
        direction = self._direction(pipe, sock)
        if self._rate[direction]:
            limit = min(limit, int(self._allowance[direction]))
            if limit == 0:
                return True
        try:
            sent = sock.send(pipe.pending[sock][:limit])
        except BlockingIOError:
            return True
        except OSError:
            self._drop(pipe, reset=True)
            return False
        del pipe.pending[sock][:sent]
        if self._rate[direction]:
            self._allowance[direction] -= sent
        return True

    def _connect_upstream(self) -> socket.socket:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            if self.receive_buffer:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.receive_buffer)
            if self.source:
                s.bind((self.source, 0))
            s.settimeout(5)
            s.connect(("127.0.0.1", self.upstream_port))
        except OSError:
            s.close()
            raise
        return s

    def _watch(self, pipe: _Pipe) -> None:
        """Reads a side while the other side's backlog is small; waits to write where bytes wait;
        watches nothing while silent."""
        for s in pipe.sockets():
            events = 0
            if not self._silent:
                queue = self._queue_bytes[self._direction(pipe, pipe.peer[s])] or _MAX_PENDING
                if s not in pipe.eof and len(pipe.pending[pipe.peer[s]]) < queue:
                    events |= selectors.EVENT_READ
                if pipe.pending[s] and not self._rate[self._direction(pipe, s)]:
                    events |= selectors.EVENT_WRITE
            had = self._interest.get(s, 0)
            if events == had:
                continue
            if not had:
                self._sel.register(s, events)
            elif not events:
                self._sel.unregister(s)
            else:
                self._sel.modify(s, events)
            self._interest[s] = events

    def _drop(self, pipe: _Pipe, reset: bool) -> None:
        for s in pipe.sockets():
            if self._pipes.pop(s, None) is None:
                continue
            if self._interest.pop(s, 0):
                self._sel.unregister(s)
            if reset:
                _reset(s)
            else:
                s.close()
