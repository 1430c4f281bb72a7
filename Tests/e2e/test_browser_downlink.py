"""A page on a slow download (web/downlink.js, docs/PROTOCOL.md "Slow viewers"): a live stream that
arrives seconds late is skipped to the present by the relay at the page's request (`catch_up`), so
the picture stays within seconds of live; the sender, and the recording made from it, are untouched.

The lag watch's logic is run in Chromium's JavaScript engine against made-up arrival times, fast and
to the millisecond; then a real practitioner page watches the family's camera through a forwarder
whose download is throttled below the camera's bitrate, with a recording running."""

from __future__ import annotations

import json

import pytest

from contrast import low_contrast
from test_browser_reconnect import record_two_seconds, start_session, stop_and_check
from webpages import live_video_state, video_playing

pytestmark = pytest.mark.timeout(300)

# Bits a second the practitioner's download carries: well below what Chromium's fake camera sends
# (about 670 kbit/s of its 1 Mbit/s).
SLOW_DOWNLOAD = 300_000

# Feeds a LagWatch the frames of one case: {"frames": [[timeUs, arrivalMs, flags], ...], "skipped":
# [[arrival ms after which the relay's `skipped` comes, its frames], ...]}; returns when it asked to catch up.
SIMULATION = """
async (cases) => {
  const { LagWatch } = await import('/app/downlink.js');
  return cases.map(({ frames, skipped = [] }) => {
    const watch = new LagWatch(), asks = [];
    const pending = [...skipped];
    for (const [timeUs, at, flags] of frames) {
      while (pending.length && pending[0][0] <= at) { const [when, n] = pending.shift(); watch.skipped(n, when); }
      if (watch.frame({ timeUs, flags }, at)) asks.push(at);
    }
    return { asks, lateMs: watch.lateMs };
  });
}
"""


def frames(seconds: float, arrival) -> list[list[float]]:
    """A frame every 100 ms for `seconds`, stamped from the stream's start; `arrival(i, sent_ms)`."""
    return [[i * 100_000, arrival(i, i * 100.0), 0] for i in range(int(seconds * 10))]


def test_the_lag_watch_asks_only_when_a_stream_arrives_seconds_late(blank):
    offset = 5_000_000  # the page's clock against the sender's: any
    jitter = [offset + 40 + (i * 7919 % 600) for i in range(600)]  # 40-640 ms on the way, in no order
    keeps_up = frames(60, lambda i, t: t + jitter[i])
    # The link carries 0.4 of the stream: each frame comes 250 ms after the one before.
    behind = frames(30, lambda i, t: offset + 250 * i)
    # A late joiner's replay (2 s of frames at once, the oldest first), then the live stream.
    replay = frames(30, lambda i, t: offset + max(2000, t + 50))
    # The sender's recorder starts again (an init segment, its clock from 0) 30 s in.
    restart = keeps_up[:300] + [[f[0], f[1] + 30_000, 1 if j == 0 else 0] for j, f in enumerate(keeps_up[:300])]
    cases = [{"frames": keeps_up}, {"frames": behind}, {"frames": replay}, {"frames": restart},
             {"frames": behind, "skipped": [[offset + 6000, 12]]}, {"frames": behind, "skipped": [[offset + 6000, 0]]}]
    r = blank.js(f"({SIMULATION})({json.dumps(cases)})")
    assert r[0]["asks"] == [] and r[2]["asks"] == [] and r[3]["asks"] == [], f"a stream that keeps up is left alone: {r}"
    # 150 ms later with each frame: 3 s late at frame 20 (5 s in); asked again every 10 s while no `skipped` comes.
    assert [a - offset for a in r[1]["asks"]] == list(range(5000, 75_000, 10_000)), r[1]
    # Once `skipped` came with frames, a stream still late is asked about again at once; when nothing
    # waited at the relay (0 frames: the sender's upload, or the kernel held them), 2 s after that answer.
    assert [a - offset for a in r[4]["asks"]][:2] == [5000, 6000], r[4]
    assert [a - offset for a in r[5]["asks"]][:2] == [5000, 8000], r[5]


def ebml(element_id: int, body: bytes, unknown_size: bool = False) -> bytes:
    """One EBML element: its id, its size (8 bytes; unknown as MediaRecorder writes a Segment or Cluster), its body."""
    size = b"\x01\xff\xff\xff\xff\xff\xff\xff" if unknown_size else (0x0100000000000000 | len(body)).to_bytes(8, "big")
    return element_id.to_bytes((element_id.bit_length() + 7) // 8, "big") + size + body


def simple_block(track: int, relative_ms: int, keyframe: bool) -> bytes:
    return ebml(0xA3, bytes([0x80 | track]) + relative_ms.to_bytes(2, "big") + bytes([0x80 if keyframe else 0]) + b"frame")


def test_after_a_skip_the_webm_rewriter_opens_a_cluster_before_the_next_block_whatever_its_track(blank):
    """The player resets its SourceBuffer's parser where the relay resumes after a skip, so the first
    block the rewriter writes there must be inside a Cluster of its own; a new cluster that starts
    with a sound block (as MediaRecorder's often do) was written without one, and the append failed
    ("Unexpected element ID 0xa0" in Chromium): the live picture stopped at the first skip."""
    tracks = ebml(0x1654AE6B, ebml(0xAE, ebml(0xD7, b"\x01") + ebml(0x83, b"\x01") + ebml(0x86, b"V_VP8"))
                  + ebml(0xAE, ebml(0xD7, b"\x02") + ebml(0x83, b"\x02") + ebml(0x86, b"A_OPUS")))
    head = ebml(0x1A45DFA3, ebml(0x4282, b"webm")) + ebml(0x18538067, b"", unknown_size=True) + tracks
    first = ebml(0x1F43B675, ebml(0xE7, b"\x00") + simple_block(1, 0, True) + simple_block(2, 0, False)
                 + simple_block(1, 33, False) + simple_block(2, 20, False), unknown_size=True)
    # The cluster the relay resumes at: its first block is the sound's.
    resumed = ebml(0x1F43B675, ebml(0xE7, (1000).to_bytes(2, "big")) + simple_block(2, 0, False) + simple_block(1, 10, True)
                   + simple_block(2, 20, False) + simple_block(1, 43, False), unknown_size=True)
    out = blank.js("""(async ([head, first, resumed]) => {
        const { MseWebM } = await import('/app/webm.js');
        const w = new MseWebM();
        const before = w.push(Uint8Array.from([...head, ...first]));
        const rest = w.resync();
        const after = [...w.push(Uint8Array.from(resumed)), ...w.end()];
        return { before: before.length, rest: rest.length, after: after.slice(0, 4), passThrough: w.passThrough };
    })""" + f"({json.dumps([list(head), list(first), list(resumed)])})")
    assert not out["passThrough"] and out["before"] > 0, out
    assert out["after"] == [0x1F, 0x43, 0xB6, 0x75], f"what follows the skip does not start with a Cluster: {out}"


@pytest.mark.one_at_a_time
@pytest.mark.parametrize("practitioner", ["chromium", "firefox"])
def test_a_practitioner_on_a_slow_download_sees_the_family_within_seconds_and_the_recording_is_whole(relay, chromium, forwarders, tmp_path,
                                                                                                       request, practitioner):
    """The practitioner's download carries less than half the family's camera while a recording
    runs (in Chromium, and in Firefox, whose player rewrites the WebM it is given): the page asks the relay to catch up, the relay drops what waits for it, and the frames that
    reach the page stay within a few seconds of live (before, they came later and later: 30 s late
    after a minute). The practitioner is told why the picture jumps; the family's camera goes on at
    its full bitrate and the recording is one whole part."""
    # The practitioner's forwarder acks little more than its queue, as a real link does (tcpforward.throttle).
    call = start_session(relay, chromium, lambda name: forwarders(name, receive_buffer=16384),
                         practitioner_browser=request.getfixturevalue("firefox") if practitioner == "firefox" else None)
    prac, fam, to_prac = call.prac, call.fam, call.to_prac
    metrics_token = relay.metrics_token()
    catch_ups = 'vigrelay_catch_ups_total{stream="camera"}'
    before = relay.metrics(metrics_token).get(catch_ups, 0)
    rid = record_two_seconds(prac, fam)
    # Each frame's lateness as the page measured it, and the relay's notices.
    prac.js("(() => { const c = window.__vigrelay.state.connection, lag = window.__vigrelay.live.lag; window.__late = []; window.__skips = [];"
            " c.addEventListener('frame', () => window.__late.push([performance.now(), lag.lateMs]));"
            " c.addEventListener('message', (e) => { if (e.detail.type === 'skipped' && e.detail.frames > 0) window.__skips.push(performance.now()); }); })()")
    to_prac.throttle(SLOW_DOWNLOAD / 8, direction="down", queue_seconds=0.5)
    prac.wait("window.__skips.length >= 1", 40, "the relay skipping the page to the present at its request")
    prac.wait("!document.getElementById('own-link').hidden", 30, "the practitioner told why the picture jumps")
    assert low_contrast(prac) == [], "the notice can be read"
    first = prac.js("window.__skips[0]")
    prac.wait(f"window.__skips.length >= 4 && performance.now() - {first} > 20000", 60, "20 s more on the slow download")
    late = prac.js(f"window.__late.filter(([at]) => at > {first} + 5000).map(([, ms]) => Math.round(ms))")
    print(f"lateness after the first catch-up: max {max(late)} ms of {len(late)} frames; catch-ups {prac.js('window.__vigrelay.live.lag.asked')}")
    assert len(late) > 20 and max(late) < 8000, f"frames reached the page more than 8 s late once it caught up: {late}"
    try:
        prac.wait(video_playing("#live-video"), 15, "the family's camera playing on the practitioner's page")
    except AssertionError as e:
        raise AssertionError(f"{e}\n{live_video_state(prac)}; waiting for a keyframe: {prac.js('window.__vigrelay.live.waitingForKeyframe')}") from None
    to_prac.throttle(None, direction="down")
    sender = fam.js("(s => ({drains: s.drains, bitrate: s.pacer.bitrate, target: s.pacer.targetBps}))(window.__vigrelay.sender)")
    assert sender["drains"] == 0 and sender["bitrate"] == sender["target"], f"the family's camera was slowed for the practitioner: {sender}"
    assert relay.metrics(metrics_token)[catch_ups] - before >= 4
    stop_and_check(relay, call, rid, tmp_path, parts=1)
    found = [p for p in call.problems() if "favicon" not in p]
    assert not found, f"console errors: {found}"
