"""Relaying after joining: signals, media frames, the late-joiner cache, slow viewers
(docs/PROTOCOL.md, "Messages after joining", "Binary media frames")."""

from __future__ import annotations

import json
import subprocess
import time

import pytest

from vrtest import CAMERA, F_EOS, F_INIT, F_KEY, SCREEN, frame_header, media_frame, patterned, serve_refused, wait_until, ws_path
from wsraw import OP_BINARY, OP_CONT, RawWebSocket

ODD_SIGNAL = ('{ "type" : "signal",\n\t"sdp":"v=0\\r\\no=- 1 2 IN IP4 127.0.0.1\\r\\n",'
              '"z":1.50e0, "u":"caf\u00e9 \u2713 \\u00e9", "nested":{"b":[1, 2 ,3],"a":null}, "big":12345678901234567890 }')


def test_signal_is_relayed_byte_for_byte_both_ways(relay):
    p, f, _ = relay.pair()
    f.send_text(ODD_SIGNAL)
    assert p.recv_text() == ODD_SIGNAL
    p.send_text(ODD_SIGNAL + "  ")
    assert f.recv_text() == ODD_SIGNAL + "  "
    with_id = '{"type":"signal","id":"s-9","chat":"hello"}'
    p.send_text(with_id)
    assert f.recv_text() == with_id
    p.close()
    f.close()


def test_large_signal_is_relayed(relay):
    p, f, _ = relay.pair()
    text = json.dumps({"type": "signal", "blob": "x" * (2 * 1024 * 1024)})
    f.send_text(text)
    assert p.recv_text(timeout=10) == text
    p.close()
    f.close()


def test_signal_without_peer_is_peer_absent(relay):
    tok = relay.token("alice")
    s = relay.create_session(tok)
    p, _ = relay.join(s["sessionId"], tok, "practitioner")
    p.send_json({"type": "signal", "id": "q1", "x": 1})
    err = p.recv_error("peer_absent")
    assert err.get("id") == "q1", err
    p.send_json({"type": "signal", "x": 2})
    err = p.recv_error("peer_absent")
    assert "id" not in err, err
    # Still open and usable: the family joins and signals flow.
    f, _ = relay.join(s["sessionId"], s["inviteToken"], "family", peer_present=True)
    assert p.recv_json()["event"] == "joined"
    p.send_json({"type": "signal", "x": 3})
    assert f.recv_json() == {"type": "signal", "x": 3}
    p.close()
    f.close()


def test_ping_is_answered_pong_to_the_sender_only(relay):
    p, f, _ = relay.pair()
    f.send_json({"type": "ping"})
    assert f.recv_text() == '{"type":"pong"}'
    p.send_json({"type": "ping", "id": "hb-1"})
    assert p.recv_json() == {"type": "pong", "id": "hb-1"}
    # Neither peer saw the other's ping or pong: the next thing each gets is the other's signal.
    f.send_json({"type": "signal", "n": 1})
    assert p.recv_json() == {"type": "signal", "n": 1}
    p.send_json({"type": "signal", "n": 2})
    assert f.recv_json() == {"type": "signal", "n": 2}
    p.close()
    f.close()


def test_signal_after_peer_left_is_peer_absent(relay):
    p, f, _ = relay.pair()
    f.close()
    assert p.recv_json(timeout=3)["event"] == "left"
    p.send_json({"type": "signal"})
    p.recv_error("peer_absent")
    p.close()


def test_media_frames_forwarded_byte_for_byte_both_ways(relay):
    p, f, _ = relay.pair()
    cam = [media_frame(CAMERA, F_INIT, 0, 0, b"\x1aE\xdf\xa3 webm init" + patterned(3000, 1)),
           media_frame(CAMERA, F_KEY, 1, 33_333, patterned(70_000, 2)),
           media_frame(CAMERA, 0, 2, 66_666, patterned(125, 3)),
           media_frame(CAMERA, 0, 3, 99_999, b""),  # header only
           media_frame(CAMERA, F_KEY | F_INIT, 0xFFFFFFFF, 2**64 - 1, patterned(1_000_000, 4)),
           media_frame(CAMERA, F_EOS, 5, 123, b"")]
    scr = [media_frame(SCREEN, F_INIT, 0, 0, patterned(500, 5)),
           media_frame(SCREEN, F_KEY, 1, 1, patterned(65_536, 6)),
           media_frame(SCREEN, 0, 2, 2, patterned(126, 7))]
    for fr in cam:
        f.send_bytes(fr)
    for fr in scr:
        p.send_bytes(fr)
    for i, fr in enumerate(cam):
        got = p.recv_binary(timeout=10)
        assert got == fr, f"camera frame {i} changed in transit: header {frame_header(got)} vs {frame_header(fr)}, {len(got)} vs {len(fr)} bytes"
    for i, fr in enumerate(scr):
        got = f.recv_binary(timeout=10)
        assert got == fr, f"screen frame {i} changed in transit"
    p.close()
    f.close()


def test_media_with_no_peer_is_silently_kept(relay):
    """A frame with no viewer is not an error (it goes to the late-joiner cache)."""
    tok = relay.token("alice")
    s = relay.create_session(tok)
    f, _ = relay.join(s["sessionId"], s["inviteToken"], "family")
    f.send_bytes(media_frame(CAMERA, F_KEY, 1, 0, b"x"))
    f.send_json({"type": "signal", "id": "after"})
    err = f.recv_json()
    assert err.get("code") == "peer_absent" and err.get("id") == "after", f"expected only peer_absent for the signal, got {err}"
    f.close()


def test_many_frames_arrive_in_order(relay):
    p, f, _ = relay.pair()
    frames = [media_frame(CAMERA, F_KEY if i % 30 == 0 else 0, i, i * 33_333, patterned(4000 + i, i)) for i in range(300)]
    for fr in frames:
        f.send_bytes(fr)
    for i, fr in enumerate(frames):
        got = p.recv_binary(timeout=10)
        assert got == fr, f"frame {i}: got seq {frame_header(got)['seq']}"
    p.close()
    f.close()


def test_fragmented_media_frame_is_forwarded_whole(relay, ssl_ctx):
    tok = relay.token("alice")
    s = relay.create_session(tok)
    p, _ = relay.join(s["sessionId"], tok, "practitioner")
    raw = RawWebSocket.connect("127.0.0.1", relay.port, ws_path(s["sessionId"]), ssl_ctx)
    raw.send_text(json.dumps({"type": "hello", "token": s["inviteToken"]}))
    assert '"welcome"' in raw.recv().text
    assert p.recv_json()["event"] == "joined"
    frame = media_frame(CAMERA, F_KEY, 1, 0, patterned(200_000, 9))
    raw.send_frame(OP_BINARY, frame[:10], fin=False)          # splits the header itself
    raw.send_frame(OP_CONT, frame[10:100_000], fin=False)
    raw.send_frame(OP_CONT, frame[100_000:], fin=True)
    assert p.recv_binary(timeout=10) == frame
    raw.close()
    p.close()


@pytest.mark.parametrize("sender, stream", [("family", SCREEN), ("practitioner", CAMERA),
                                            ("family", 0), ("family", 3), ("practitioner", 255)])
def test_wrong_stream_is_refused_and_not_forwarded(relay, sender, stream):
    p, f, _ = relay.pair()
    src, dst = (f, p) if sender == "family" else (p, f)
    own = CAMERA if sender == "family" else SCREEN
    bad = media_frame(stream, F_KEY, 1, 0, b"must not arrive")
    good = media_frame(own, F_KEY, 2, 0, b"the next valid frame")
    src.send_bytes(bad)
    src.recv_error("stream_not_allowed")
    src.send_bytes(good)
    got = dst.recv_binary()
    assert got == good, f"peer received {got!r} instead of the next valid frame"
    p.close()
    f.close()


def test_late_joiner_gets_init_segment_and_frames_since_last_keyframe(relay):
    tok = relay.token("alice")
    s = relay.create_session(tok)
    sid = s["sessionId"]
    f, _ = relay.join(sid, s["inviteToken"], "family")
    init = media_frame(CAMERA, F_INIT, 0, 0, b"init-segment" + patterned(1000, 1))
    sent = [init,
            media_frame(CAMERA, F_KEY, 1, 1, b"K1"),
            media_frame(CAMERA, 0, 2, 2, b"d2"),
            media_frame(CAMERA, 0, 3, 3, b"d3"),
            media_frame(CAMERA, F_KEY, 4, 4, b"K4" + patterned(5000, 4)),
            media_frame(CAMERA, 0, 5, 5, b"d5"),
            media_frame(CAMERA, 0, 6, 6, b"d6")]
    for fr in sent:
        f.send_bytes(fr)
    # Make sure the relay has handled them (messages on one connection are handled in order).
    f.send_json({"type": "signal", "id": "sync"})
    assert f.recv_error("peer_absent")["id"] == "sync"

    p, welcome = relay.join(sid, tok, "practitioner", peer_present=True)  # welcome first
    expected = [init, sent[4], sent[5], sent[6]]
    for i, fr in enumerate(expected):
        got = p.recv_binary()
        assert got == fr, f"late joiner message {i + 1}: got seq {frame_header(got)['seq']} flags {frame_header(got)['flags']}, expected seq {frame_header(fr)['seq']}"
    # Then live frames follow; nothing else was replayed.
    live = media_frame(CAMERA, 0, 7, 7, b"live")
    f.send_bytes(live)
    assert f.recv_json() == {"type": "peer", "event": "joined", "role": "practitioner"}
    assert p.recv_binary() == live
    p.close()
    f.close()


def test_late_joiner_to_a_webm_stream_starts_at_the_newest_keyframe_cluster(relay):
    """The relay parses WebM itself: frames cut anywhere (as MediaRecorder's are) are replayed as the
    init segment alone, then the bytes from the newest cluster starting with a keyframe."""
    from test_recording import FIXTURE
    from vrtest import chunks
    data = FIXTURE.read_bytes()[:9000]  # keyframe clusters at 409, 3794, 7308
    tok = relay.token("alice")
    s = relay.create_session(tok)
    f, _ = relay.join(s["sessionId"], s["inviteToken"], "family")
    for i, c in enumerate(chunks(data, [1000])):
        f.send_bytes(media_frame(CAMERA, F_INIT if i == 0 else 0, i, i * 100_000, c))
    f.send_json({"type": "signal", "id": "sync"})
    assert f.recv_error("peer_absent")["id"] == "sync"

    p, _ = relay.join(s["sessionId"], tok, "practitioner", peer_present=True)
    init = p.recv_binary()
    assert frame_header(init)["flags"] == F_INIT and init[16:] == data[:409]
    first = p.recv_binary()
    assert frame_header(first)["flags"] == F_KEY and frame_header(first)["seq"] == 7, "the frame holding 7308, cut there"
    replayed = first[16:] + p.recv_binary()[16:]
    assert replayed == data[7308:], "then everything since, byte for byte"
    p.close()
    f.close()


def test_reconnecting_viewer_gets_the_cache_again(relay):
    p, f, s = relay.pair()
    init = media_frame(SCREEN, F_INIT, 0, 0, b"screen-init")
    key = media_frame(SCREEN, F_KEY, 1, 0, b"screen-key")
    delta = media_frame(SCREEN, 0, 2, 0, b"screen-delta")
    for fr in (init, key, delta):
        p.send_bytes(fr)
    for fr in (init, key, delta):
        assert f.recv_binary() == fr
    f2, welcome = relay.join(s["sessionId"], s["inviteToken"], "family-again", peer_present=True)
    assert [f2.recv_binary() for _ in range(3)] == [init, key, delta]
    f2.close()
    p.close()


def test_late_joiner_cache_is_per_stream_and_role(relay):
    """Each viewer is replayed the other side's stream, never its own frames back."""
    tok = relay.token("alice")
    s = relay.create_session(tok)
    f, _ = relay.join(s["sessionId"], s["inviteToken"], "family")
    cam = media_frame(CAMERA, F_INIT, 0, 0, b"cam-init")
    f.send_bytes(cam)
    f.send_json({"type": "signal", "id": "sync"})
    assert f.recv_error("peer_absent")["id"] == "sync"
    p, _ = relay.join(s["sessionId"], tok, "practitioner", peer_present=True)
    assert p.recv_binary() == cam
    assert f.recv_json() == {"type": "peer", "event": "joined", "role": "practitioner"}
    scr = media_frame(SCREEN, F_INIT, 0, 0, b"scr-init")
    p.send_bytes(scr)
    assert f.recv_binary() == scr
    # The family reconnects (replacing its connection): it gets the screen stream, not its camera.
    f2, _ = relay.join(s["sessionId"], s["inviteToken"], "family-again", peer_present=True)
    assert f2.recv_binary() == scr
    f2.send_json({"type": "signal", "id": "next"})
    m = p.recv_json()
    assert m == {"type": "peer", "event": "joined", "role": "family"}, f"a replaced side never 'left': {m}"
    assert p.recv_json() == {"type": "signal", "id": "next"}
    # The practitioner reconnects: it gets the camera stream again, not its screen.
    p2, _ = relay.join(s["sessionId"], tok, "practitioner-again", peer_present=True)
    assert p2.recv_binary() == cam
    p2.send_json({"type": "signal", "id": "last"})
    assert f2.recv_json() == {"type": "peer", "event": "joined", "role": "practitioner"}
    assert f2.recv_json() == {"type": "signal", "id": "last"}
    p2.close()
    f2.close()


def test_late_joiner_cache_is_capped_at_8_mib(relay):
    """A stream without keyframes keeps its init segment and only its most recent frames (<= 8 MiB)."""
    tok = relay.token("alice")
    s = relay.create_session(tok)
    f, _ = relay.join(s["sessionId"], s["inviteToken"], "family")
    init = media_frame(CAMERA, F_INIT, 0, 0, b"init")
    f.send_bytes(init)
    n, size = 40, 512 * 1024  # 20 MiB of frames without a keyframe
    frames = [media_frame(CAMERA, 0, i, i, patterned(size, i)) for i in range(1, n + 1)]
    for fr in frames:
        f.send_bytes(fr)
    f.send_json({"type": "signal", "id": "sync"})
    assert f.recv_error("peer_absent", timeout=20)["id"] == "sync"
    p, _ = relay.join(s["sessionId"], tok, "practitioner")
    assert p.recv_binary(timeout=10) == init
    got = []
    f.send_json({"type": "signal", "id": "end"})  # arrives after the replay
    while True:
        m = p.recv(timeout=10)
        if isinstance(m, str):
            assert json.loads(m) == {"type": "signal", "id": "end"}, m
            break
        got.append(m)
    assert got, "the late joiner got no frames besides the init segment"
    assert sum(len(x) for x in got) <= 8 * 1024 * 1024 + 16 * len(got), f"replayed {sum(map(len, got))} bytes, cap is 8 MiB"
    assert sum(len(x) for x in got) >= 4 * 1024 * 1024, "cache kept far less than 8 MiB"
    k = len(got)
    assert got == frames[-k:], "the replay must be the most recent frames, in order"
    p.close()
    f.close()


class SkippingViewer:
    """Reads a slow viewer's messages up to a signal or a frame: `skipped` notices (one before each
    gap, saying how many frames are missing; 0 and no gap after a `catch_up` that found nothing to
    drop), frames in order. Each frame goes to `check(header, data, gap)`, gap being the number of
    frames missing just before it. `received`: frames read; `notices_at`: that count at each notice."""

    def __init__(self, ws: RawWebSocket, check) -> None:
        self.ws, self.check = ws, check
        self.last, self.skip, self.skipped, self.received = -1, None, 0, 0
        self.notices_at: list[int] = []
        self.missing: set[int] = set()

    def read_until(self, marker: str | None = None, seq: int | None = None) -> None:
        deadline = time.monotonic() + 60
        while True:
            assert time.monotonic() < deadline, f"viewer did not get {marker or seq} in time"
            m = self.ws.recv(timeout=30)
            if m.kind == "text":
                obj = json.loads(m.text)
                if obj.get("type") == "skipped":
                    assert self.skip is None or self.skip["frames"] == 0, f"two 'skipped' notices in a row: {self.skip}, {obj}"
                    assert obj.get("stream") == CAMERA and isinstance(obj.get("frames"), int) and obj["frames"] >= 0, obj
                    self.skip = obj
                    self.notices_at.append(self.received)
                elif obj == {"type": "signal", "id": marker}:
                    return
                else:
                    assert obj == {"type": "peer", "event": "joined", "role": "family"}, f"unexpected message to the viewer: {obj}"
                continue
            assert m.kind == "binary", m
            h = frame_header(m.data)
            assert h["seq"] > self.last, f"frame {h['seq']} after {self.last}: out of order"
            gap = h["seq"] - self.last - 1
            if gap:
                assert self.skip is not None, f"frames {self.last + 1}..{h['seq'] - 1} vanished without a 'skipped' notice"
                assert self.skip["frames"] == gap, f"'skipped' says {self.skip['frames']} frames, {gap} are missing"
                self.skipped += gap
                self.missing.update(range(self.last + 1, h["seq"]))
            else:
                assert self.skip is None or self.skip["frames"] == 0, f"'skipped' notice {self.skip} not followed by a gap"
            self.check(h, m.data, gap)
            self.skip = None
            self.last = h["seq"]
            self.received += 1
            if h["seq"] == seq:
                return


def raw_pair(relay, ssl_ctx, viewer_rcvbuf: int | None = None) -> tuple[RawWebSocket, RawWebSocket]:
    """A new session joined over raw sockets (reads under the test's control): the practitioner (the
    viewer, with a receive buffer of `viewer_rcvbuf` if given), then the family; both welcomed."""
    tok = relay.token("alice")
    s = relay.create_session(tok)
    joined = []
    for token, rcvbuf in ((tok, viewer_rcvbuf), (s["inviteToken"], None)):
        ws = RawWebSocket.connect("127.0.0.1", relay.port, ws_path(s["sessionId"]), ssl_ctx, rcvbuf=rcvbuf)
        ws.send_text(json.dumps({"type": "hello", "token": token}))
        assert '"welcome"' in ws.recv().text
        joined.append(ws)
    return joined[0], joined[1]


def test_a_pong_goes_ahead_of_the_media_queued_for_its_sender(relay, ssl_ctx):
    """A page measures its own upload by the time its pings take (docs/PROTOCOL.md, "Slow links"),
    so the relay sends the pong ahead of the media frames it has queued for that page, not after
    them (after any reply queued before it: OutboundQueueTests); the frames still all arrive, in
    order."""
    viewer, fam = raw_pair(relay, ssl_ctx, viewer_rcvbuf=64 * 1024)
    size, n = 256 * 1024, 28  # 7 MiB: more than the kernel's buffers hold, less than the relay's queue
    frames = [media_frame(CAMERA, F_KEY if i == 0 else 0, i, i, patterned(size, i)) for i in range(n)]
    for f in frames:
        fam.send_frame(OP_BINARY, f, timeout=30)
    fam.send_text(json.dumps({"type": "ping", "id": "family-sent-all"}))
    assert json.loads(fam.recv(timeout=10).text) == {"type": "pong", "id": "family-sent-all"}
    viewer.send_text(json.dumps({"type": "ping", "id": "viewer"}))
    got, before_pong = [], None
    while len(got) < n or before_pong is None:
        m = viewer.recv(timeout=30)
        if m.kind == "binary":
            got.append(m.data)
        elif json.loads(m.text) != {"type": "peer", "event": "joined", "role": "family"}:
            assert json.loads(m.text) == {"type": "pong", "id": "viewer"}, m.text
            before_pong = len(got)
    assert got == frames, "every frame, in order, unaltered"
    assert before_pong < n, f"the pong came after all {n} frames: it did not go ahead of the queued media"
    viewer.abort()
    fam.close()


@pytest.mark.timeout(240)
def test_slow_viewer_skips_to_next_keyframe_with_skipped_notice(relay, ssl_ctx):
    """A viewer further behind than its queue holds (8 MiB, or up to 32 MiB of a stream this fast)
    loses whole frames up to a keyframe and is told 'skipped' just before it; nothing vanishes
    without a notice, nothing arrives out of order or altered; GET /metrics counts each frame skipped."""
    metrics_token = relay.metrics_token()
    skipped_metric = 'vigrelay_media_skipped_frames_total{stream="camera"}'
    skipped_before = relay.metrics(metrics_token)[skipped_metric]
    viewer, fam = raw_pair(relay, ssl_ctx)
    size, n, gop = 256 * 1024, 256, 8

    def frame(i: int) -> bytes:
        return media_frame(CAMERA, F_KEY if i % gop == 0 else 0, i, i, patterned(size, i))

    def send(i: int) -> None:
        try:
            fam.send_frame(OP_BINARY, frame(i), timeout=30)
        except OSError as e:
            raise AssertionError(f"the family could not send frame {i}: the relay stopped reading it ({e!r})") from None

    # The viewer reads nothing while 64 MiB go out: kernel buffers plus 32 MiB cannot hold that.
    # The sender must never be held back by the slow viewer (each send has a 30 s deadline).
    for i in range(n):
        send(i)
    fam.send_text(json.dumps({"type": "signal", "id": "sync-1"}))

    def check(h: dict, data: bytes, gap: int) -> None:
        assert data == frame(h["seq"]), f"frame {h['seq']} altered in transit"
        if gap:
            assert h["flags"] & (F_KEY | F_INIT), f"after skipping, frame {h['seq']} is not a keyframe or init segment"

    reader = SkippingViewer(viewer, check)
    reader.read_until("sync-1")
    # The viewer has caught up; the next keyframe reaches it, preceded by a notice if frames were lost.
    next_key = (n + gop - 1) // gop * gop
    send(next_key)
    reader.read_until(seq=next_key)
    assert reader.skipped > 0, "64 MiB to a viewer that did not read: expected some frames to be skipped"
    assert relay.metrics(metrics_token)[skipped_metric] - skipped_before == reader.skipped
    viewer.abort()
    fam.close()


def test_a_viewer_that_asks_to_catch_up_skips_to_the_newest_keyframe_queued_for_it(relay, ssl_ctx):
    """A viewer whose page sees the stream arrive seconds late asks `catch_up` (docs/PROTOCOL.md,
    "Slow viewers"): the frames queued for it before the newest keyframe queued are dropped, and it
    is told how many just before that keyframe. From then on the kernel keeps little of its stream
    unsent, so a backlog builds in the relay's queue, where the next catch-up drops it, not in the
    socket's buffer (the kernel took megabytes before the first). Nothing vanishes without a notice
    or arrives altered; the sender never waits; the metrics count each catch-up and frame dropped."""
    metrics_token = relay.metrics_token()
    skipped_metric, catch_ups_metric = 'vigrelay_media_skipped_frames_total{stream="camera"}', 'vigrelay_catch_ups_total{stream="camera"}'
    before = relay.metrics(metrics_token)
    viewer, fam = raw_pair(relay, ssl_ctx, viewer_rcvbuf=64 * 1024)
    size, gop, burst = 64 * 1024, 8, 64  # 4 MiB a burst: under the queue's 8 MiB, so only a catch-up skips

    def frame(i: int) -> bytes:
        return media_frame(CAMERA, F_KEY if i % gop == 0 else 0, i, i, patterned(size, i))

    def check(h: dict, data: bytes, gap: int) -> None:
        assert data == frame(h["seq"]), f"frame {h['seq']} altered in transit"
        if gap:
            assert h["flags"] & F_KEY, f"after skipping, frame {h['seq']} is not a keyframe"

    def send(frames: range, sync: str) -> None:
        for i in frames:
            fam.send_frame(OP_BINARY, frame(i), timeout=30)
        fam.send_text(json.dumps({"type": "ping", "id": sync}))
        assert json.loads(fam.recv(timeout=10).text) == {"type": "pong", "id": sync}, "the relay has taken every frame"

    def catch_up(count: int) -> None:
        viewer.send_text(json.dumps({"type": "catch_up"}))
        wait_until(lambda: relay.metrics(metrics_token).get(catch_ups_metric, 0) - before.get(catch_ups_metric, 0) == count,
                   10, f"catch-up {count} taken by the relay")

    reader = SkippingViewer(viewer, check)
    send(range(0, burst), "first")  # the viewer reads nothing meanwhile
    catch_up(1)
    send(range(burst, burst + 1), "keyframe")
    reader.read_until(seq=burst)  # the viewer reads what the kernel held of the first burst, and the keyframe
    send(range(burst + 1, 2 * burst), "second")
    catch_up(2)
    fam.send_frame(OP_BINARY, frame(2 * burst), timeout=30)
    fam.send_text(json.dumps({"type": "signal", "id": "end"}))
    reader.read_until("end")
    assert reader.last == 2 * burst
    second = [i for i in range(burst + 1, 2 * burst) if i not in reader.missing]
    assert len(second) <= gop + 4, (f"{len(second)} frames of the second burst came ({second}): the kernel held "
                                    f"{len(second) - gop} of them unsent, out of the catch-up's reach")
    after = relay.metrics(metrics_token)
    assert after[skipped_metric] - before[skipped_metric] == reader.skipped
    viewer.abort()
    fam.close()


@pytest.mark.timeout(240)
def test_a_fast_streams_viewer_may_fall_a_few_seconds_of_it_behind(relay_factory, ssl_ctx):
    """The queue limit follows the stream's rate: a viewer may hold `--viewer-queue-time` of its
    stream's recent media when that is more than `--viewer-queue-bytes` (up to four times it). Here
    (8 MiB, and a window of 60 s so a slow machine's send still falls within it) a camera sends
    26 MiB while the viewer reads nothing: far past 8 MiB and what the sockets hold, and nothing is
    skipped; with the old fixed 8 MiB limit frames were."""
    relay = relay_factory(["--viewer-queue-time", "60s"])
    viewer, fam = raw_pair(relay, ssl_ctx)
    size, n, gop = 256 * 1024, 104, 8
    frames = [media_frame(CAMERA, F_KEY if i % gop == 0 else 0, i, i, patterned(size, i)) for i in range(n)]
    for i in range(n):
        fam.send_frame(OP_BINARY, frames[i], timeout=30)
    fam.send_text(json.dumps({"type": "signal", "id": "all-sent"}))

    def check(h: dict, data: bytes, gap: int) -> None:
        assert data == frames[h["seq"]], f"frame {h['seq']} altered in transit"

    reader = SkippingViewer(viewer, check)
    reader.read_until("all-sent")
    assert reader.last == n - 1 and reader.skipped == 0, (f"the viewer got frames up to {reader.last} of {n - 1} "
                                                          f"({reader.skipped} skipped before one it got): frames were skipped")
    viewer.abort()
    fam.close()


@pytest.mark.parametrize("args,message", [
    (["--viewer-queue-bytes", "1000"], "--viewer-queue-bytes must be between 1048576 (1 MiB) and 1073741824 (1 GiB)"),
    (["--viewer-queue-time", "0s"], "--viewer-queue-time '0s' must be a duration from 1s to 60s, e.g. 4s"),
    (["--viewer-queue-time", "2m"], "--viewer-queue-time '2m' must be a duration from 1s to 60s, e.g. 4s"),
])
def test_viewer_queue_options_out_of_range_stop_the_server_at_start(vigrelay_bin, tmp_path, args, message):
    out = serve_refused(vigrelay_bin, tmp_path, *args)
    assert out.returncode == 64 and message in out.stderr, out.stderr


@pytest.mark.timeout(240)
@pytest.mark.parametrize("last_flags", [F_EOS, F_INIT], ids=["end-of-stream", "init-segment"])
def test_a_slow_viewer_still_gets_the_end_of_stream_or_a_new_init_segment(relay, ssl_ctx, last_flags):
    """The family streams 64 MiB with no keyframe after the first while the viewer reads nothing,
    then ends its stream (or starts a new one): that frame is not skipped, however far behind the
    viewer is, and comes right after a `skipped` notice counting every frame it missed."""
    viewer, fam = raw_pair(relay, ssl_ctx)
    size, n = 256 * 1024, 256

    def frame(i: int) -> bytes:
        flags = F_KEY if i == 0 else last_flags if i == n else 0
        return media_frame(CAMERA, flags, i, i, patterned(size if i < n else 9 << 20, i))  # the last: larger than the queue

    for i in range(n + 1):
        fam.send_frame(OP_BINARY, frame(i), timeout=30)
    fam.send_text(json.dumps({"type": "signal", "id": "sync"}))

    def check(h: dict, data: bytes, gap: int) -> None:
        assert data == frame(h["seq"]), f"frame {h['seq']} altered in transit"
        if gap:
            assert h["seq"] == n, f"frame {h['seq']} after a gap: only the last frame may end the skip"

    reader = SkippingViewer(viewer, check)
    reader.read_until(seq=n)
    assert reader.skipped > 0, "64 MiB to a viewer that did not read: expected some frames to be skipped"
    reader.read_until("sync")
    viewer.abort()
    fam.close()


CLUSTER_ID = b"\x1f\x43\xb6\x75"


def _vint(data: bytes, at: int, keep_marker: bool = False) -> tuple[int, int]:
    """An EBML variable-length integer at `at`: (value, its length)."""
    first = data[at]
    length = 8 - first.bit_length() + 1
    value = first if keep_marker else first & ((1 << (8 - length)) - 1)
    for b in data[at + 1:at + length]:
        value = value << 8 | b
    return value, length


def _cluster_starts_with_keyframe(payload: bytes) -> bool:
    """The payload starts with a WebM Cluster whose first SimpleBlock is a keyframe."""
    if not payload.startswith(CLUSTER_ID):
        return False
    _, n = _vint(payload, 4)
    at = 4 + n
    while at < len(payload):
        eid, n = _vint(payload, at, keep_marker=True)
        size, m = _vint(payload, at + n)
        body = at + n + m
        if eid == 0xA3:  # SimpleBlock: track vint, 2-byte timecode, flags (0x80 keyframe)
            _, t = _vint(payload, body)
            return bool(payload[body + t + 2] & 0x80)
        at = body + size
    return False


@pytest.mark.timeout(240)
def test_slow_viewer_of_a_webm_camera_resumes_at_a_keyframe_cluster(relay_factory, ssl_ctx):
    """With a real WebM camera stream in frames that do not line up with clusters (as MediaRecorder
    sends them), a viewer that falls behind resumes where the relay's own WebM parsing found a
    keyframe cluster: the frame holding that cluster's start, sent from the cluster on and flagged
    keyframe, after a 'skipped' notice; every other frame arrives whole and unaltered. (A 2 MiB
    queue, at most 8 MiB for this fast stream: the 34 MiB sent first must overflow it.)"""
    relay = relay_factory(["--viewer-queue-bytes", str(2 << 20)])
    # Written to a pipe, like MediaRecorder's output: a Segment of unknown size, so clusters may go on.
    webm = subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=s=1280x720:r=25", "-t", "4",
                           "-c:v", "libvpx", "-b:v", "20M", "-deadline", "realtime", "-cpu-used", "8", "-g", "25",
                           "-auto-alt-ref", "0", "-f", "webm", "pipe:1"], check=True, timeout=120, capture_output=True).stdout
    init_end = webm.index(CLUSTER_ID)
    body = webm[init_end:]
    # Clusters repeated: the relay's scanner sees a long stream of clusters (timecodes repeat, which
    # a player would mind but the relay does not look at).
    stream = webm + body * 11
    sizes = [100_003, 77_777, 250_001, 1_234]
    payloads, at = [], 0
    while at < len(stream):
        n = sizes[len(payloads) % len(sizes)]
        payloads.append(stream[at:at + n])
        at += n
    assert all(not p.startswith(CLUSTER_ID) for p in payloads[1:40]), "test frames should not line up with clusters"

    def frame(i: int) -> bytes:
        return media_frame(CAMERA, F_INIT if i == 0 else 0, i, i, payloads[i])

    viewer, fam = raw_pair(relay, ssl_ctx)

    first_part = len(payloads) * 3 // 4
    for i in range(first_part):  # the viewer reads nothing meanwhile
        fam.send_frame(OP_BINARY, frame(i), timeout=30)
    fam.send_text(json.dumps({"type": "signal", "id": "sync-1"}))

    resumed = []

    def check(h: dict, data: bytes, gap: int) -> None:
        if not gap:
            assert data == frame(h["seq"]), f"frame {h['seq']} altered in transit"
            return
        assert h["flags"] == F_KEY, f"after skipping, frame {h['seq']} is flagged {h['flags']}, not keyframe"
        cut = data[16:]
        assert payloads[h["seq"]].endswith(cut), f"frame {h['seq']} is not its own payload cut"
        assert _cluster_starts_with_keyframe(cut), f"frame {h['seq']} does not resume at a keyframe cluster"
        resumed.append(h["seq"])

    reader = SkippingViewer(viewer, check)
    reader.read_until("sync-1")
    # The viewer keeps up from here (each frame read before the next is sent): the stream resumes at
    # its next keyframe cluster if it was still skipping, and everything after arrives.
    for i in range(first_part, len(payloads)):
        fam.send_frame(OP_BINARY, frame(i), timeout=30)
        fam.send_text(json.dumps({"type": "signal", "id": f"after-{i}"}))
        reader.read_until(f"after-{i}")
    assert reader.last == len(payloads) - 1, f"the last frame did not arrive (last {reader.last})"
    assert reader.skipped > 0, f"{len(stream) >> 20} MiB to a viewer that did not read: expected skips"
    assert resumed
    viewer.abort()
    fam.close()
