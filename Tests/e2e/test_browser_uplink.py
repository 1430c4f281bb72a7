"""A page on a slow upload (web/uplink.js, docs/PROTOCOL.md "Slow links"): the camera's bitrate
follows what the link carries, so the practitioner's picture stays live and the family's page keeps
its connection.

The pacer's logic is run in Chromium's JavaScript engine against a simulated link (a queue drained
at a set rate, pongs behind it), fast and to the millisecond; then a real family page sends its
camera through a forwarder whose upload is throttled, with a recording running."""

from __future__ import annotations

import json

import pytest

from contrast import low_contrast
from test_browser_reconnect import FAMILY_DROPPED, record_two_seconds, remember_shared, shown_to_family, start_session, stop_and_check
from test_webkit import SAFARI_RECORDING
from webpages import video_playing

pytestmark = pytest.mark.timeout(300)

# Bits a second the practitioner's upload carries in the screen test: below what Chromium's fake
# screen sends at the screen's full 1.5 Mbit/s.
SCREEN_LINK = 150_000

# A link as the pacer sees it: the sender's recorder, while it runs, puts `bitrate` bits a second
# into a FIFO queue every 100 ms; the link takes `capacity` bits a second out of it (0: it carries
# nothing), and a ping put into the queue reaches the relay when the link has carried it; the relay
# (whose clock is 1e6 ms ahead of the page's) answers, and the pong arrives 50 ms later, plus `down`
# ms (a download the link cannot carry). Every 500 ms the sender pings and asks the pacer, and
# stops its recorder or starts it at the bitrate the pacer answers. A phase with `reconnect` ends
# as the heartbeat ends a silent socket: a new one, empty, the pacer reset and the recorder
# started. Returns the changes, how late a byte sent would arrive (the worst, and the worst from
# 10 s after the first restart on), and the bitrate at the end.
SIMULATION = """
async (phases) => {
  const { UplinkPacer, PACING } = await import('/app/uplink.js');
  const pacer = new UplinkPacer(1_000_000, 0);
  const queue = [];           // {bytes, ping?: id}
  let now = 0, sent = 0, pings = 0, running = true, worstLag = 0, worstLagLater = 0, firstStart = null;
  const changes = [], answers = [];
  for (const { seconds, capacity, reconnect, down = 0 } of phases) {
    const end = now + seconds * 1000;
    for (; now < end; now += 10) {
      if (running && now % 100 === 0) { const b = pacer.bitrate / 80; queue.push({ bytes: b }); sent += b; }
      let budget = capacity / 800;   // bytes the link carries in 10 ms
      while (queue.length && budget > 0) {
        const head = queue[0];
        if (head.ping !== undefined) { answers.push({ id: head.ping, relayMs: now + 1e6, at: now + 50 + down }); queue.shift(); continue; }
        const take = Math.min(budget, head.bytes);
        head.bytes -= take; budget -= take;
        if (head.bytes <= 0) queue.shift();
      }
      while (answers.length && answers[0].at <= now) { const a = answers.shift(); pacer.pongReceived(a.id, now, a.relayMs); }
      if (now % PACING.pingEveryMs === 0) {
        const id = ++pings;
        pacer.pingSent(id, now, sent);
        queue.push({ bytes: 0, ping: id });
        const change = pacer.check(now);
        if (change) {
          changes.push({ at: now, ...change });
          running = !change.stop;
          if (running && firstStart === null) firstStart = now;
        }
      }
      if (capacity > 0) {
        const lag = queue.reduce((n, q) => n + q.bytes, 0) * 8 / capacity * 1000;
        worstLag = Math.max(worstLag, lag);
        if (firstStart !== null && now > firstStart + 10000) worstLagLater = Math.max(worstLagLater, lag);
      }
    }
    if (reconnect) {
      queue.length = 0;
      answers.length = 0;
      pacer.reset(now);
      running = true;
      changes.push({ at: now, bitrate: pacer.bitrate, reconnected: true });
    }
  }
  return { changes, worstLag, worstLagLater, bitrate: pacer.bitrate, floor: PACING.floorBps };
}
"""


def simulate(page, phases: list[dict]) -> dict:
    return page.js(f"({SIMULATION})({json.dumps(phases)})")


def test_a_camera_on_a_link_a_fifth_of_its_bitrate_stops_until_it_drains_and_goes_on_lower(blank):
    r = simulate(blank, [{"seconds": 190, "capacity": 200_000}])
    stop, start = r["changes"][0], r["changes"][1]
    # The first ping's own wait (behind the first 100 ms of video) is taken as the link's empty delay,
    # so the stop comes when a ping has waited 1.5 s more than that: by 4 s.
    assert stop["stop"] and stop["at"] <= 4000, f"the link was behind from the start: {r}"
    assert not start.get("stop") and 110_000 <= start["bitrate"] <= 150_000, f"started again at 0.7x the 200 kbit/s measured: {r}"
    # 3.5 s at 1 Mbit/s into 200 kbit/s queued 2.8 Mbit: 14 s to drain.
    assert start["at"] - stop["at"] < 16_000, f"started again once what was queued had drained: {r}"
    # After 30 s of quiet pings it tries higher, is behind again and lowers; the next try waits twice as long.
    raises = [c for prev, c in zip(r["changes"], r["changes"][1:]) if not c.get("stop") and not prev.get("stop")]
    assert len(raises) == 2 and raises[0]["at"] - start["at"] >= 30_000, r
    assert raises[1]["at"] - raises[0]["at"] >= 90_000, f"a raise taken back within 60 s doubles the wait: {r}"
    assert r["worstLagLater"] < 3000, f"the picture stayed live once lowered (a byte sent waited < 3 s): {r}"
    assert r["bitrate"] <= 200_000, r


def test_a_link_that_keeps_up_is_left_alone_and_one_that_recovers_gets_the_full_bitrate_back(blank):
    assert simulate(blank, [{"seconds": 60, "capacity": 1_500_000}])["changes"] == []
    # Nor is an upload that keeps up under a download that does not: the pongs come back 8 s late.
    assert simulate(blank, [{"seconds": 60, "capacity": 1_500_000, "down": 8000}])["changes"] == []
    r = simulate(blank, [{"seconds": 30, "capacity": 400_000}, {"seconds": 400, "capacity": 5_000_000}])
    assert r["changes"][0]["stop"] and r["changes"][1]["bitrate"] < 400_000, r
    assert r["bitrate"] == 1_000_000, f"back to the full bitrate once the link carries it: {r}"
    after = [c for c in r["changes"] if c["at"] > 30_000]
    assert after and all(not c.get("stop") for c in after), f"only raises once the link is fast: {r}"


def test_a_link_gone_silent_is_not_taken_for_a_slow_one(blank):
    """Wi-Fi gone for 11 s, then back (the heartbeat opens a new socket): nothing answers, so
    nothing changes; that is the heartbeat's to notice."""
    r = simulate(blank, [{"seconds": 30, "capacity": 3_000_000}, {"seconds": 11, "capacity": 0, "reconnect": True},
                         {"seconds": 30, "capacity": 3_000_000}])
    assert r["changes"] == [{"at": 41_000, "bitrate": 1_000_000, "reconnected": True}], r


def test_a_link_silent_for_a_few_seconds_gets_its_bitrate_back_as_it_comes_back(blank):
    """A 5 s gap (a lift, a tunnel) with no new socket: the 5 s the camera queued meanwhile arrive
    late, so the sender stops until they have gone, and starts again at its full bitrate, which the
    link carried them at."""
    r = simulate(blank, [{"seconds": 30, "capacity": 3_000_000}, {"seconds": 5, "capacity": 0}, {"seconds": 30, "capacity": 3_000_000}])
    assert all(c["at"] >= 35_000 for c in r["changes"]) and len(r["changes"]) <= 2, r
    assert [c["bitrate"] for c in r["changes"] if not c.get("stop")] in ([], [1_000_000]), r
    assert r["bitrate"] == 1_000_000, r


def test_a_link_slower_than_the_floor_stays_at_the_floor_and_drains_now_and_then(blank):
    """Below 100 kbit/s the picture cannot be live: the recorder runs at the floor until the link is
    1.5 s behind again, and stops until it has drained; each start is a new recording part. (The
    first pong on so slow a link comes about 8 s after the camera starts, so the first drain takes
    minutes.)"""
    r = simulate(blank, [{"seconds": 300, "capacity": 60_000}])
    assert r["bitrate"] == r["floor"], r
    assert all(c["bitrate"] >= r["floor"] for c in r["changes"]), r
    stops = [c["at"] for c in r["changes"] if c.get("stop")]
    assert all(b - a >= 5000 for a, b in zip(stops, stops[1:])), f"a stop at most every 5 s: {r}"


@pytest.mark.one_at_a_time
@pytest.mark.parametrize("family", ["chromium", "chromium recording MP4", "firefox"])
def test_a_family_on_a_slow_upload_is_seen_live_and_keeps_its_connection(relay, chromium, forwarders, tmp_path, request, family):
    """The family's upload is throttled to a quarter of its camera's bitrate while a recording runs:
    its page lowers the camera's bitrate and says so, the practitioner is told, the pings the page
    sends behind its frames arrive within a second again, the connection is never dropped, and
    the recording goes on (a new part for each bitrate, each one a file ffmpeg decodes). Also with
    the family's page recording fragmented MP4 as an iPhone's Safari does (test_webkit.py), and in
    Firefox."""
    mp4 = family.endswith("MP4")
    call = start_session(relay, chromium, forwarders, family_browser=request.getfixturevalue("firefox") if family == "firefox" else None,
                         family_script=SAFARI_RECORDING if mp4 else None)
    prac, fam, to_fam = call.prac, call.fam, call.to_fam
    assert fam.js("window.__vigrelay.sender.mimeType").startswith("video/mp4" if mp4 else "video/webm")
    rid = record_two_seconds(prac, fam)
    target = fam.js("window.__vigrelay.sender.pacer.targetBps")
    link = target / 4  # bits a second
    accepted, shown = to_fam.accepted, fam.js("window.__statusShown.length")
    to_fam.throttle(link / 8, direction="up")
    fam.wait(f"window.__vigrelay.sender.pacer.bitrate < {link}", 30, "the camera's bitrate lowered below the link's")
    fam.wait("!document.getElementById('camera-slow').hidden", 5, "the family told their video goes at a lower quality")
    prac.wait("!document.getElementById('family-link').hidden", 10, "the practitioner told the family's link is slow")
    assert "kbit/s" in prac.text("#family-link"), prac.text("#family-link")
    assert low_contrast(fam) == [] and low_contrast(prac) == [], "the two notices can be read"
    # Once what the old bitrate queued has gone, a ping sent behind the frames arrives within a second.
    fam.wait("(p => { const a = p.answered[p.answered.length - 1]; return !p.draining && a && a.sentAt > p.changedAt + 3000 "
             "&& a.delay < 1000; })(window.__vigrelay.sender.pacer)", 60, "the link keeping up at the lower bitrate")
    prac.wait(video_playing("#live-video"), 15, "the family's camera playing live on the practitioner's page")
    # The camera reached the practitioner late while the family's queue drained, and their page may
    # have asked the relay to catch up; but nothing waited at the relay, so they are not told that
    # their own connection is slow.
    assert prac.js("document.getElementById('own-link').hidden"), prac.text("#own-link")
    to_fam.throttle(None, direction="up")
    statuses = fam.js(f"window.__statusShown.slice({shown})")
    assert to_fam.accepted == accepted and not any(FAMILY_DROPPED in t for t in statuses), \
        (statuses, "the family's page reconnected on the slow link")
    stop_and_check(relay, call, rid, tmp_path, parts=range(2, 8))
    found = [p for p in call.problems() if "favicon" not in p]
    assert not found, f"console errors: {found}"


def sharing_the_screen(relay, chromium, forwarders):
    """A call (test_browser_reconnect.start_session) whose practitioner shares the screen, playing on the family's page."""
    call = start_session(relay, chromium, forwarders)
    remember_shared(call.fam)
    call.prac.click("#share-screen")
    shown_to_family(call.fam, "the practitioner's screen")
    return call


@pytest.mark.one_at_a_time
def test_a_practitioner_sharing_the_screen_on_a_slow_upload_is_told_and_the_family_still_sees_it(relay, chromium, forwarders):
    """The practitioner's upload is throttled below what their screen share sends: their screen
    goes lower, their page says so, and the family's page plays it."""
    call = sharing_the_screen(relay, chromium, forwarders)
    prac, fam, to_prac = call.prac, call.fam, call.to_prac
    to_prac.throttle(SCREEN_LINK / 8, direction="up")
    prac.wait(f"(p => !p.draining && p.bitrate < {SCREEN_LINK})(window.__vigrelay.state.screenSender.pacer)", 40,
              "the screen going again below the link's rate")
    assert "Your connection is slow" in prac.text("#review-status"), prac.text("#review-status")
    remember_shared(fam)
    shown_to_family(fam, "the practitioner's screen at the lower bitrate")
    to_prac.throttle(None, direction="up")
    found = [p for p in call.problems() if "favicon" not in p]
    assert not found, f"console errors: {found}"


@pytest.mark.one_at_a_time
def test_a_family_whose_download_cannot_carry_the_screen_share_keeps_its_camera_running(relay, chromium, forwarders):
    """In the shared review the practitioner's screen comes down faster than the family's link
    carries it: the family's pongs come back late, but the relay says when each ping arrived, so the
    family's camera (whose upload keeps up) is neither stopped nor lowered. The family's page asks
    the relay to skip it to the present of the screen (docs/PROTOCOL.md, "Slow viewers") and says
    that what the practitioner shows may jump (test_browser_downlink.py has the practitioner's side).
    The family's forwarder acks little more than its queue, as a real link does (tcpforward.throttle)."""
    call = sharing_the_screen(relay, chromium, lambda name: forwarders(name, receive_buffer=16384))
    fam, to_fam = call.fam, call.to_fam
    to_fam.throttle(SCREEN_LINK / 8, direction="down", queue_seconds=0.5)
    fam.wait("window.__vigrelay.screen.lag.asked >= 1", 40, "the family's page asking the relay to catch up with the screen")
    fam.wait("!document.getElementById('screen-slow').hidden", 30, "the family told the screen may jump")
    assert low_contrast(fam) == [], "the notice can be read"
    since = fam.js("performance.now()")
    fam.wait(f"window.__vigrelay.sender.pacer.answered.filter((a) => a.sentAt > {since}).length >= 12", 60,
             "a dozen of the family's pings answered through the slow download")
    state = fam.js("(s => ({drains: s.drains, bitrate: s.pacer.bitrate, target: s.pacer.targetBps, "
                   "delays: s.pacer.answered.map((a) => Math.round(a.delay))}))(window.__vigrelay.sender)")
    assert state["drains"] == 0 and state["bitrate"] == state["target"], state
    to_fam.throttle(None, direction="down")
