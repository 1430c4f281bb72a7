"""The web app in a real headless Chromium (Debian's package), driven over the DevTools Protocol:
the family and the practitioner in two isolated browser contexts, with Chromium's fake camera.

Covers: consent, the family's camera reaching the practitioner's <video> (MSE), recording and a file
ffmpeg decodes, a mark, a clip (made from the mark, decoded), the shared review (screen share, and
a clip played in step on both sides), and withdrawal deleting the files; in each state, every control
has a name and text and controls meet WCAG AA contrast (contrast.py). Screenshots of both pages
go to the test's directory (and to $VIGRELAY_SCREENSHOTS if set)."""

from __future__ import annotations

import json
import uuid

import pytest

from contrast import low_contrast
from vrtest import wait_until
from webpages import (CONSENT_GIVEN, check_recording, check_started_at_next_keyframe, join_as_family, make_clip_from_mark, mark_on_screen,
                      open_from_list, open_session, start_recording_after_keyframe, stop_recording_after_mark, unlabelled_controls,
                      video_played, video_playing, wait_for_live_video, withdraw_and_check_deleted)

pytestmark = pytest.mark.timeout(300)


def test_family_and_practitioner_pages_end_to_end(relay, chromium, shots, tmp_path):
    token = relay.token("alice")
    prac = chromium.new_page("practitioner")
    fam = chromium.new_page("family")

    # --- practitioner: token, session, invite
    join_url, session_id = open_session(prac, relay, token)

    # --- family: consent, camera, join
    fam.navigate(join_url)
    assert fam.js("location.hash") == "" and fam.js("location.pathname") == "/join", "the invite stayed in the address bar"
    # A reload (a phone reloads a tab it put to sleep) still has the invite: kept for this tab only.
    fam.navigate(relay.base_url + "/join")
    assert fam.js("document.getElementById('join').disabled") is False, "the page lost its invite when reloaded"
    fam.screenshot(shots / "family-consent-phone.png", 390, 844, mobile=True)
    fam.screenshot(shots / "family-consent.png")
    assert low_contrast(fam) == []
    assert fam.js("document.getElementById('retention-hint').hidden") is True, "the relay has not said it yet"
    join_as_family(fam)
    prac.wait(CONSENT_GIVEN, 10, "the consent notice")
    # The relay's retention (60 days unless set), beside the consent: how long the videos are kept.
    assert fam.text("#retention-hint") == ("Recorded videos are deleted at the latest 60 days after your last call "
                                           "with your practitioner, and at once if you ask."), fam.text("#retention-hint")

    # --- live video reaches the practitioner's <video>, and keeps advancing
    wait_for_live_video(prac, fam, lambda: chromium.console_problems())

    # --- recording, with a mark. Chromium makes the keyframe every second that the family's page asks
    # for, so even just after one the next is near: the recording starts with it, no new recorder.
    _, live_edge_ms = start_recording_after_keyframe(prac, fam)
    entry = f"document.querySelector('#sessions li[data-session-id=\"{session_id}\"]')"
    prac.wait(f"{entry}?.querySelector('.badge.rec') && {entry}.textContent.includes('live: family + practitioner')", 10,
              "the session list to show the recording and both sides")
    assert prac.text("#retention-note") == ("This relay deletes a case's recordings and clips 60 days after its last session "
                                            "(sessions with the same case reference; a session without one counts alone)."), \
        prac.text("#retention-note")
    # A live mark the relay refuses (a recording it does not have: as if deleted in the instant between
    # the press and the disk writer) is said on the page, and leaves no mark waiting for an answer, so
    # the next one's time is its own.
    recording_id = prac.js("window.__vigrelay.state.recordingId")
    prac.js("(() => { const s = window.__vigrelay.state; s.recordingId = '0123456789abcdef'; "
            f"document.getElementById('mark').click(); s.recordingId = {json.dumps(recording_id)}; return true; }})()")
    prac.wait("document.getElementById('recording-status').textContent.startsWith('Could not mark: mark needs')", 10, "the refused mark said")
    assert prac.js("window.__vigrelay.state.pendingMarks.length") == 0
    on_screen = mark_on_screen(prac)
    assert fam.js("window.__vigrelay.sender.keyframeRestarts") == 0
    fam.screenshot(shots / "family-recording-phone.png", 390, 844, mobile=True)
    prac.screenshot(shots / "practitioner-live-recording.png", 1280, 900)
    assert low_contrast(fam) == [] and low_contrast(prac) == []
    stop_recording_after_mark(prac, fam, on_screen)

    auth = {"Authorization": f"Bearer {token}"}
    summary = check_recording(relay, prac, auth, session_id, on_screen, tmp_path / "recording.webm")
    assert summary["consent"]["recording"] is True
    check_started_at_next_keyframe(prac, live_edge_ms)

    # --- a clip from the mark, made and previewed on the page, decoded by ffmpeg
    clip_id = make_clip_from_mark(relay, prac, auth, session_id, tmp_path / "clip.webm")
    prac.click("#clips .preview-clip")
    prac.wait("document.getElementById('review-video').readyState >= 1 && document.getElementById('review-video').duration > 2",
              15, "the clip preview to load")

    # --- shared review: a clip on both sides in step (signal play/pause/seek)
    prac.click("#clips .show-clip")
    fam.wait("!document.getElementById('shared-box').hidden && document.getElementById('shared-screen').readyState >= 1",
             15, "the clip on the family's page")
    prac.js("document.getElementById('review-video').play().then(() => true)")
    fam.wait(video_played("#shared-screen", 0.3), 15, "the clip to play on the family's page")
    # A clip keeps the recording's timestamps: its timeline starts where it was cut, not at 0. The
    # family must end up paused where the practitioner's player is (a seek the browser cannot make
    # exactly lands elsewhere on both sides alike).
    prac.js("(() => { const v = document.getElementById('review-video'); v.pause(); "
            "v.currentTime = v.buffered.start(0) + 1.0; return true; })()")
    target = prac.wait("(() => { const v = document.getElementById('review-video'); "
                       "return !v.seeking && v.paused ? String(v.currentTime) : ''; })()", 10, "the practitioner's seek")
    try:
        fam.wait("(() => { const v = document.getElementById('shared-screen'); return v.paused && Math.abs(v.currentTime - " + target + ") < 0.3; })()",
                 10, f"the family's player to pause at {target} s")
    except AssertionError as e:
        state = fam.js("(() => { const v = document.getElementById('shared-screen'); return {t: v.currentTime, p: v.paused, rs: v.readyState, d: v.duration}; })()")
        pstate = prac.js("(() => { const v = document.getElementById('review-video'); return {t: v.currentTime, p: v.paused}; })()")
        raise AssertionError(f"{e}; family {state}; practitioner {pstate}; console {chromium.console_problems()}")
    fam.screenshot(shots / "family-review-phone.png", 390, 844, mobile=True)

    # --- shared review: the practitioner's screen (getDisplayMedia -> stream 2)
    prac.js("document.getElementById('review-status').textContent = ''; true")
    prac.click("#share-screen")
    prac.wait("document.getElementById('review-status').textContent !== ''", 10, "screen sharing to start or fail")
    shared = prac.text("#review-status")
    assert "sees your screen" in shared, f"screen sharing did not start in headless Chromium: {shared}"
    fam.wait(video_playing("#shared-screen", 0.5), 30, "the practitioner's screen on the family's page")
    prac.screenshot(shots / "practitioner-review.png", 1280, 900)
    prac.screenshot(shots / "practitioner-review-phone.png", 390, 844, mobile=True)
    # Every control has a name a screen reader can say, and text and controls stand out enough (here
    # with recordings and clips listed, and the family showing the practitioner's screen).
    assert unlabelled_controls(prac) == []
    assert low_contrast(prac) == [] and low_contrast(fam) == []
    prac.click("#stop-review")
    fam.wait("document.getElementById('shared-box').hidden", 10, "the shared screen to close")

    # --- withdrawal deletes the files, and the practitioner's page lets go of the clip it held
    assert prac.js("window.__vigrelay.clipsHeld") == 1, "the clip shown earlier is held by the page"
    withdraw_and_check_deleted(relay, prac, fam, auth, session_id, clip_id)
    assert prac.js("window.__vigrelay.clipsHeld") == 0, "a deleted clip must not stay in the practitioner's page"
    after = relay.http("GET", f"/v1/sessions/{session_id}", headers=auth).json()
    assert after["consent"]["recording"] is False and after["recordings"][0]["state"] == "deleted"
    fam.screenshot(shots / "family-withdrawn-phone.png", 390, 844, mobile=True)
    prac.click("#refresh-sessions")
    prac.wait(f"{entry}?.querySelector('.facts').textContent.includes('consent withdrawn') && "
              f"{entry}.querySelector('.facts').textContent.includes('0 recordings, 1 deleted, 0 clips')", 10, "the session list")
    assert prac.js(f"{entry}.querySelector('.badge.rec') === null"), "no recording runs any more"
    prac.screenshot(shots / "practitioner-after.png", 1280, 900)
    assert low_contrast(fam) == [] and low_contrast(prac) == []

    assert unlabelled_controls(fam) == []

    problems = [p for p in chromium.console_problems() if "favicon" not in p]
    assert not problems, f"console errors: {problems}"


# The family's ReviewFollower (web/review.js), run in Chromium as the page loads it, with a stand-in
# <video> and player: the practitioner's signals, then the moment the whole clip is appended.
FOLLOWER_AFTER_READY = """(async () => {
  const { ReviewFollower } = await import('/app/review.js');
  const run = (messages) => {
    const video = { paused: true, currentTime: 0, readyState: 1,
                    play() { this.paused = false; return Promise.resolve(); }, pause() { this.paused = true; } };
    const player = { onready: null, sourceBuffer: {}, startTime: 5, live: false };
    const follower = new ReviewFollower(video, player);
    follower.signal({ type: 'signal', review: 'clip' }, () => {});
    for (const m of messages) follower.signal({ type: 'signal', ...m }, () => {});
    if (player.onready) player.onready();  // the whole clip is appended now
    return { playing: !video.paused, t: video.currentTime };
  };
  return {
    playThenSeek: run([{ review: 'play', t: 5, playing: true }, { review: 'seek', t: 5.5, playing: true }]),
    playThenSeekFromAnOlderPage: run([{ review: 'play', t: 5 }, { review: 'seek', t: 5.5 }]),
    playThenPause: run([{ review: 'play', t: 5, playing: true }, { review: 'pause', t: 5.2, playing: false }]),
    seekWhilePaused: run([{ review: 'seek', t: 6, playing: false }]),
  };
})()"""


def test_the_familys_player_follows_what_came_before_the_clip_was_ready(relay, chromium):
    """The practitioner may play and then seek before the family's page has appended the whole clip
    (a slow phone, a busy machine): once it has, the family's player plays from the seek. It stayed
    paused: the seek took the family's own player, not started yet, for the practitioner's. Signals
    from a page before `playing` was sent still work."""
    page = chromium.new_page("family")
    page.navigate(relay.base_url + "/join")
    got = page.js(FOLLOWER_AFTER_READY)
    assert got == {
        "playThenSeek": {"playing": True, "t": 5.5},
        "playThenSeekFromAnOlderPage": {"playing": True, "t": 5.5},
        "playThenPause": {"playing": False, "t": 5.2},
        "seekWhilePaused": {"playing": False, "t": 6},
    }, got


def test_a_note_the_relay_could_not_read_is_said_not_hidden(relay, chromium):
    """A mark's or clip's note of an encrypted recording that the relay cannot open (a damaged file)
    is listed empty with `noteUnreadable`; the pages say so instead of showing no note."""
    page = chromium.new_page("practitioner")
    page.navigate(relay.base_url + "/")
    got = page.js("""(async () => {
      const { noteText } = await import('/app/clips.js');
      return [noteText({ note: "she laughs" }), noteText({ note: "", noteUnreadable: true }), noteText({ note: "" }), noteText({})];
    })()""")
    assert got == ["she laughs", "(the note could not be read)", "", ""]


def test_a_clip_around_a_mark_stays_inside_the_marks_part(relay, chromium):
    """The practitioner's page proposes 3 s before a mark to 4 s after, inside the recording and
    inside the mark's part: the relay cuts a clip from one part only, and the first part can be a
    fraction of a second when the family's camera starts a new stream just after Start."""
    page = chromium.new_page("practitioner")
    page.navigate(relay.base_url + "/")
    got = page.js("""(async () => {
      const { clipSpanAround } = await import('/app/clips.js');
      const parts = [{ startMs: 0, durationMs: 129 }, { startMs: 129, durationMs: 10400 }];
      return {
        noParts: clipSpanAround(3100, 10529),
        afterShortFirstPart: clipSpanAround(3100, 10529, parts),
        nearTheEnd: clipSpanAround(10000, 10529, parts),
        inTheShortPart: clipSpanAround(50, 10529, parts),
        inAGapBetweenParts: clipSpanAround(5000, 12000, [{ startMs: 0, durationMs: 4000 }, { startMs: 6000, durationMs: 6000 }]),
      };
    })()""")
    # Ends on tenths of a second, rounded inwards (the page's From and To fields show tenths).
    assert got == {
        "noParts": [100, 7100],
        "afterShortFirstPart": [200, 7100],
        "nearTheEnd": [7000, 10500],  # 3 s before the mark, to the recording's end
        "inTheShortPart": [0, 100],  # the relay refuses it (under 3 s) and says why
        "inAGapBetweenParts": [2000, 9000],  # no part holds the mark: the whole recording bounds it
    }, got


def test_the_screen_stays_on_while_the_family_is_in_the_call(relay, chromium):
    """A phone propped up to film turns its screen off untouched, and its browser then stops the
    camera: the family's page holds a screen wake lock from joining to leaving, asked for again when
    the system lets go of it; the practitioner's page holds one while the family is in the open
    session. A browser without the API tells the family how to keep the screen on. When the family's
    page goes off screen anyway (another app), the practitioner is told, and when it is back."""
    prac, fam = chromium.new_page("practitioner"), chromium.new_page("family")
    join_url, _ = open_session(prac, relay, relay.token())
    assert prac.js("window.__vigrelay.awake.state") == "off", "no family yet"
    join_as_family(fam, join_url, consent=False)
    fam.wait("window.__vigrelay.awake.state === 'held'", 10, "the family's screen kept on")
    assert fam.js("document.getElementById('awake-hint').hidden")
    prac.wait("window.__vigrelay.awake.state === 'held'", 15, "the practitioner's screen kept on once the family is in")

    fam.js("window.__first = window.__vigrelay.awake.sentinel; window.__first.release().then(() => true)")
    fam.wait("window.__first.released && window.__vigrelay.awake.sentinel !== null && window.__vigrelay.awake.sentinel !== window.__first"
             " && !window.__vigrelay.awake.sentinel.released && window.__vigrelay.awake.state === 'held'", 10,
             "the lock asked for again after the system let go of it")

    # Headless pages are always on screen: the family's page is made to say otherwise.
    seen = "document.getElementById('connection-status').textContent === %s"
    hide = "Object.defineProperty(document, 'visibilityState', {configurable: true, get: () => '%s'}); document.dispatchEvent(new Event('visibilitychange')); true"
    fam.js(hide % "hidden")
    prac.wait(seen % json.dumps("The family's page is not on screen (another app, or their phone locked): their camera may be paused."),
              10, "the practitioner told that the family's page is off screen")
    fam.js(hide % "visible")
    prac.wait(seen % json.dumps("The family's page is back on screen."), 10, "the practitioner told that it is back")

    fam.click("#leave")
    assert fam.js("window.__vigrelay.awake.state") == "off" and fam.js("window.__vigrelay.awake.sentinel") is None
    prac.wait("window.__vigrelay.awake.state === 'off'", 15, "the practitioner's screen let go once the family left")

    without = chromium.new_page("family on a browser without wake lock")
    without.add_init_script("delete Navigator.prototype.wakeLock;")
    join_as_family(without, join_url, consent=False)
    without.wait("!document.getElementById('awake-hint').hidden", 10, "the hint on keeping the screen on")
    assert without.js("window.__vigrelay.awake.state") == "unsupported"
    assert "auto-lock" in without.text("#awake-hint")


def test_the_practitioners_page_says_before_start_when_the_relay_is_low_on_disk_space(relay_factory, chromium):
    """A relay under --min-free-space: the practitioner's page says so as the session opens, before
    Start is pressed, and Start is then answered with what to do."""
    relay = relay_factory(["--min-free-space", "1000000T"])
    prac, fam = chromium.new_page("practitioner"), chromium.new_page("family")
    join_url, _ = open_session(prac, relay, relay.token())
    low = "The relay is low on disk space, so a recording cannot start now (the live video works). Ask whoever runs the relay to free space."
    prac.wait(f"document.getElementById('recording-status').textContent === {json.dumps(low)}", 10, "the page to say so before Start")
    join_as_family(fam, join_url)
    prac.wait("document.getElementById('consent-status').textContent.includes('agreed')", 15, "the family's consent on the page")
    prac.click("#record-toggle")
    prac.wait("document.getElementById('recording-status').textContent.startsWith('the relay is low on disk space, so a new recording cannot start')",
              10, "the relay's answer to Start")
    assert prac.text("#record-toggle") == "Start recording"


def test_the_practitioner_can_make_the_browser_forget_the_token_and_invites(relay, chromium):
    """On a shared or handed-on computer: "Forget this browser" removes the token and every family's
    invite link the page kept, empties the field, the invite box and the session list, and says so."""
    prac = chromium.new_page("practitioner")
    join_url, session_id = open_session(prac, relay, relay.token("alice"))
    keys = "Object.keys(localStorage).filter((k) => k.startsWith('vigrelay.')).sort()"
    assert prac.js(keys) == ["vigrelay.invites", "vigrelay.practitionerToken"]
    assert session_id in prac.js("localStorage.getItem('vigrelay.invites')")
    prac.wait(f"document.querySelector('#sessions [data-session-id=\"{session_id}\"]') !== null", 15, "the session in the list")
    prac.click("#forget-browser")
    assert prac.js(keys) == []
    assert prac.js("document.getElementById('token').value") == ""
    assert prac.js("document.getElementById('invite-box').hidden && document.getElementById('invite-link').textContent === ''")
    assert prac.text("#token-status") == "This browser no longer keeps your token or any family's invite link."
    prac.wait("document.getElementById('sessions').children.length === 0", 5, "the session list to empty")
    prac.navigate(relay.base_url + "/")
    assert prac.js(keys) == [] and prac.text("#token-status") == "No token yet: ask your administrator for one."


def test_a_new_family_link_disconnects_the_old_one_and_is_made_from_any_browser(relay, chromium, shots):
    """The practitioner makes a new family link (for one that expired or went astray): after a
    confirmation, the family on the old link is disconnected and told why, the new link joins, and a
    practitioner on a browser without the session's link sees that and can make one there."""
    token = relay.token("alice")
    prac = chromium.new_page("practitioner")
    fam = chromium.new_page("family")
    join_url, session_id = open_session(prac, relay, token)
    assert prac.text("#invite-expiry").startswith(" (it works until "), prac.text("#invite-expiry")
    join_as_family(fam, join_url, consent=False)
    prac.wait("document.getElementById('connection-status').textContent.includes('The family has joined')", 15, "the family to join")

    prac.click("#new-invite")
    assert prac.js("!document.getElementById('new-invite-confirm').hidden")
    assert prac.js("document.getElementById('new-invite').getAttribute('aria-expanded')") == "true"
    assert unlabelled_controls(prac) == [] and low_contrast(prac) == []
    prac.screenshot(shots / "practitioner-new-link.png", 1280, 900)
    prac.click("#new-invite-yes")
    new_url = prac.wait(f"(t => t !== {json.dumps(join_url)} && t)(document.getElementById('invite-link').textContent)", 15, "the new link")
    relay.secrets_seen.add(new_url.split("invite=")[1])
    assert new_url.startswith(f"{relay.base_url}/join#session={session_id}&invite=")
    assert prac.text("#new-invite-status") == "New link made: send it to the family. The links sent before no longer work."
    assert prac.js("document.getElementById('new-invite-confirm').hidden")
    assert new_url in prac.js("localStorage.getItem('vigrelay.invites')") and join_url not in prac.js("localStorage.getItem('vigrelay.invites')")
    fam.wait("document.getElementById('connection-status').textContent.includes('newer link')", 15, "the family told of the newer link")
    assert fam.js("document.getElementById('preview').srcObject === null"), "the camera is off once the call cannot go on"
    prac.wait("document.getElementById('connection-status').textContent.includes('The family has left')", 15, "the family gone")
    fam.screenshot(shots / "family-link-replaced-phone.png", 390, 844, mobile=True)

    # The family opens the old link again: their page says it was replaced, and the practitioner,
    # waiting, is told what to send.
    stale = chromium.new_page("family on the old link again")
    stale.navigate(join_url)
    stale.wait("!document.getElementById('link-problem').hidden", 10, "the old link refused as the page opens")
    prac.wait("!document.getElementById('family-refused').hidden", 10, "the practitioner told of the family at the door")
    assert prac.text("#family-refused").startswith("The family tried to join with an older link, which a newer one replaced."), prac.text("#family-refused")
    assert low_contrast(prac) == []
    prac.screenshot(shots / "practitioner-family-refused.png", 1280, 900)

    again = chromium.new_page("family on the new link")
    join_as_family(again, new_url, consent=False)
    prac.wait("document.getElementById('connection-status').textContent.includes('The family has joined')", 15, "the family back")
    assert prac.js("document.getElementById('family-refused').hidden"), "the notice goes once the family is in"

    # Another browser has the token but not the link: it says so, and makes a new one there.
    other = chromium.new_page("practitioner elsewhere")
    other.navigate(relay.base_url + "/")
    other.js(f"document.getElementById('token').value = {json.dumps(token)}; document.getElementById('save-token').click(); true")
    open_from_list(other, session_id)
    other.wait("document.getElementById('connection-status').textContent.includes('Connected')", 15, "the practitioner to connect")
    assert other.js("!document.getElementById('invite-box').hidden && document.getElementById('invite-known').hidden")
    assert other.text("#invite-unknown") == "This browser does not keep this session's family link. If the family needs it, make a new one."
    other.click("#new-invite")
    other.click("#new-invite-yes")
    third = other.wait("document.getElementById('invite-link').textContent", 15, "a link made in this browser")
    relay.secrets_seen.add(third.split("invite=")[1])
    assert third not in (join_url, new_url) and other.js("!document.getElementById('invite-known').hidden")
    again.wait("document.getElementById('connection-status').textContent.includes('newer link')", 15, "the family on the second link told")

    # The first browser still keeps the second link: opened again, it asks the relay and says that
    # link was replaced, instead of offering it for sending.
    assert prac.js("!document.getElementById('invite-known').hidden"), "the kept link is shown until it is replaced"
    open_from_list(prac, session_id)
    prac.wait("!document.getElementById('invite-stale').hidden", 15, "the kept link found replaced")
    assert prac.text("#invite-stale").startswith("The family link this browser kept was replaced by a newer one"), prac.text("#invite-stale")
    assert prac.js("document.getElementById('invite-known').hidden && !document.getElementById('new-invite').hidden")
    assert low_contrast(prac) == []
    prac.wait("document.getElementById('connection-status').textContent.startsWith('Connected')", 15, "the practitioner back")
    assert prac.text("#recording-status") == "Not recording", "the error of the connection replaced before is gone"
    prac.screenshot(shots / "practitioner-kept-link-replaced.png", 1280, 900)
    # The refused links' checks (401) are logged by the browser: they are answers, not faults.
    problems = [p for p in chromium.console_problems() if "favicon" not in p and "401" not in p]
    assert not problems, f"console errors: {problems}"


def test_a_family_page_on_a_replaced_link_says_so_and_never_starts_the_camera(relay, chromium, shots):
    """The family's page asks the relay whether its link joins as it opens: on a link replaced by a
    newer one, it says so at the top and offers only the deletion, so the camera is never started;
    the deletion works with that link, and the newest link joins."""
    token = relay.token("alice")
    session = relay.create_session(token)
    r = relay.http("POST", f"/v1/sessions/{session['sessionId']}/invite", headers={"Authorization": f"Bearer {token}"})
    assert r.status == 200, r
    relay.secrets_seen.add(r.json()["inviteToken"])

    opened = chromium.new_page("family, opening the old link")
    opened.navigate(session["joinUrl"])
    opened.wait("!document.getElementById('link-problem').hidden", 10, "the refusal shown when the page opens")
    assert opened.text("#link-problem").startswith("Your practitioner has sent you a newer link for this call"), opened.text("#link-problem")
    assert opened.js("['before', 'consent-box', 'join-box', 'during'].every((id) => document.getElementById(id).hidden)")
    assert opened.js("document.getElementById('join').disabled")
    assert opened.js("!document.getElementById('delete-box').hidden && !document.getElementById('delete-videos').disabled")
    assert unlabelled_controls(opened) == [] and low_contrast(opened) == []
    opened.screenshot(shots / "family-link-refused-phone.png", 390, 844, mobile=True)
    opened.click("#delete-videos")
    opened.wait("document.getElementById('withdraw-status').textContent === 'The videos of this call have been deleted.'", 10,
                "the deletion answered: a replaced link still withdraws")

    good = chromium.new_page("family on the newest link")
    join_as_family(good, r.json()["joinUrl"], consent=False)
    assert good.js("document.getElementById('link-problem').hidden")
    problems = [p for p in chromium.console_problems() if "favicon" not in p and "401" not in p]
    assert not problems, f"console errors: {problems}"


def test_a_link_that_expired_unused_shows_in_the_list_and_a_new_one_joins(relay_factory, chromium):
    """The list marks a session whose family link expired before anyone joined, and then that the
    family tried it; the practitioner makes a new link there and the family joins with it."""
    relay = relay_factory(["--invite-ttl", "8s"])
    prac = chromium.new_page("practitioner")
    join_url, session_id = open_session(prac, relay, relay.token("alice"))
    invite = join_url.split("invite=")[1]
    # An invite is refused on the session list (403) while valid, and as a token (401) once expired.
    wait_until(lambda: relay.http("GET", "/v1/sessions", headers={"Authorization": f"Bearer {invite}"}).status == 401, 15,
               "the link to expire")
    prac.click("#refresh-sessions")
    entry = f"document.querySelector('#sessions li[data-session-id=\"{session_id}\"]')"
    prac.wait(f"{entry}?.querySelector('.badge.warn')?.textContent === 'family link expired'", 10, "the expired link in the list")
    late = chromium.new_page("family on the expired link")
    late.navigate(join_url)
    late.wait("!document.getElementById('link-problem').hidden", 10, "the expired link refused as the page opens")
    prac.wait("!document.getElementById('family-refused').hidden", 10, "the practitioner told the family's link expired")
    assert prac.text("#family-refused") == ("The family tried to join with a link that has expired. "
                                            "Make a new one with “New link for the family…” and send it to them.")
    # The list says so too, with when, in place of "family link expired".
    prac.click("#refresh-sessions")
    prac.wait(f"{entry}?.querySelector('.badge.warn')?.textContent.startsWith('family tried an expired link at ')", 10,
              "the family's attempt in the list")
    assert "family link expired" not in prac.js(f"{entry}.textContent")
    # Opened again (as after a reload, or coming to the session after the family tried), it is still said.
    open_from_list(prac, session_id)
    prac.wait("document.getElementById('connection-status').textContent.startsWith('Connected')", 15, "the practitioner back")
    prac.wait("!document.getElementById('family-refused').hidden", 10, "the refusal told again on joining")
    assert prac.text("#family-refused").startswith("The family tried to join with a link that has expired.")
    prac.click("#new-invite")
    prac.click("#new-invite-yes")
    new_url = prac.wait(f"(t => t !== {json.dumps(join_url)} && t)(document.getElementById('invite-link').textContent)", 15, "the new link")
    relay.secrets_seen.add(new_url.split("invite=")[1])
    assert prac.js("document.getElementById('family-refused').hidden"), "the notice goes once a new link is made"
    prac.wait(f"{entry} && !{entry}.textContent.includes('link expired')", 10, "the list to drop the expired link")
    fam = chromium.new_page("family")
    join_as_family(fam, new_url, consent=False)
    prac.wait("document.getElementById('connection-status').textContent.includes('The family has joined')", 15, "the family to join")


def test_opening_another_session_leaves_nothing_of_the_one_before(relay, chromium, shots):
    """The practitioner records and shares the screen in one session, then opens another. Asked
    first, as that session records ("Stay here" changes nothing), the page then shows the new session
    as it is (not recording, Start, no Mark, its own consent, nothing shared), not the state of the
    one left, whose screen share ends. Opened again, the first session shows its recording still
    running (the relay says so after welcome)."""
    prac = chromium.new_page("practitioner")
    fam = chromium.new_page("family")
    token = relay.token("leaving")
    join_url, first = open_session(prac, relay, token)
    join_as_family(fam, join_url, consent=True)
    prac.wait("document.getElementById('consent-status').textContent.startsWith('The family agreed')", 15, "the family's consent")
    prac.click("#record-toggle")
    prac.wait("document.getElementById('recording-status').textContent === '● Recording'", 15, "the recording to start")
    prac.click("#share-screen")
    prac.wait("document.getElementById('review-status').textContent.includes('sees your screen')", 10, "screen sharing to start")
    fam.wait(video_playing("#shared-screen", 0.5), 30, "the practitioner's screen on the family's page")

    # While it records, leaving is asked first; "Stay here" keeps everything as it was.
    prac.click("#create-session")
    assert prac.js("!document.getElementById('leave-confirm').hidden && document.activeElement.id === 'leave-no'")
    assert "is recording" in prac.text("#leave-text")
    assert unlabelled_controls(prac) == [] and low_contrast(prac) == []
    prac.screenshot(shots / "practitioner-leave-while-recording.png", 1280, 900)
    prac.click("#leave-no")
    assert prac.js("document.getElementById('leave-confirm').hidden")
    assert prac.js("window.__vigrelay.state.sessionId") == first and prac.text("#recording-status") == "● Recording"
    sessions = relay.http("GET", "/v1/sessions", headers={"Authorization": f"Bearer {token}"}).json()
    assert sessions["total"] == 1, f"no session is made before the practitioner confirms: {sessions}"
    prac.click("#create-session")
    prac.click("#leave-yes")
    second = prac.wait(f"(id => id !== {json.dumps(first)} && id)(window.__vigrelay.state.sessionId)", 15, "the second session")
    relay.secrets_seen.add(prac.text("#invite-link").split("invite=")[-1])
    prac.wait("document.getElementById('connection-status').textContent.startsWith('Connected')", 15, "the second session's connection")
    assert prac.text("#recording-status") == "Not recording" and prac.text("#record-toggle") == "Start recording"
    assert prac.js("document.getElementById('recording-status').className") == "recording-off"
    assert prac.js("document.getElementById('mark').disabled") is True
    assert prac.js("window.__vigrelay.state.screenSender === null && document.getElementById('review-video').srcObject === null && "
                   "document.getElementById('stop-review').disabled && document.getElementById('review-status').textContent === ''"), \
        "the screen share of the session left has ended"
    fam.wait("document.getElementById('shared-box').hidden", 10, "the family left behind no longer shown the screen")
    prac.wait("document.getElementById('consent-status').textContent.startsWith('The family has not agreed')", 15,
              "the second session's own consent")
    assert second != first

    open_from_list(prac, first, "the first session in the list")
    prac.wait("document.getElementById('recording-status').textContent === '● Recording'", 15, "the first session's recording shown again")
    assert prac.text("#record-toggle") == "Stop recording"
    prac.wait("document.getElementById('consent-status').textContent.startsWith('The family agreed')", 15, "the first session's consent")
    # Opening another session from the list is asked too; the same one again (a reconnect) is not.
    open_from_list(prac, second, "the second session in the list")
    assert prac.js("!document.getElementById('leave-confirm').hidden")
    prac.click("#leave-no")
    open_from_list(prac, first)
    prac.wait("document.getElementById('connection-status').textContent.startsWith('Connected')", 15, "the first session again")
    assert prac.js("document.getElementById('leave-confirm').hidden && window.__vigrelay.state.sessionId") == first
    prac.wait("document.getElementById('recording-status').textContent === '● Recording'", 15, "the recording shown after the reconnect")
    prac.click("#record-toggle")
    fam.wait("document.getElementById('recording-status').className === 'recording-off'", 15, "the family's indicator off")


def test_a_filming_and_a_shared_review_the_family_joined_make_a_cycle_in_the_log(relay, chromium, shots):
    """The practitioner creates a filming session for a case and cycle and the family joins it: the
    cycle log lists the filming with the review still to do. A shared-review session for the same
    cycle, joined too, completes it."""
    case_ref = f"fam-{uuid.uuid4().hex[:6]}"
    prac = chromium.new_page("practitioner")
    prac.navigate(relay.base_url + "/")
    prac.js(f"document.getElementById('token').value = {json.dumps(relay.token('cycles-' + case_ref))}; "
            "document.getElementById('save-token').click(); true")
    prac.wait("document.getElementById('cycles-status').textContent.startsWith('0 complete cycles')", 10, "the empty cycle log")
    assert prac.js("document.getElementById('cycles').hidden"), "no table without cycles"

    links: list[str] = []

    def held(purpose: str, cells: list[str], summary: str) -> None:
        prac.js(f"document.getElementById('case-ref').value = {json.dumps(case_ref)}; "
                f"document.getElementById('cycle').value = '1'; document.getElementById('purpose').value = {json.dumps(purpose)}; true")
        prac.click("#create-session")
        join_url = prac.wait(f"(t => t.includes('invite=') && !{json.dumps(links)}.includes(t) && t)"
                             "(document.getElementById('invite-link').textContent)", 15, "the new session's invite link")
        links.append(join_url)
        relay.secrets_seen.add(join_url.split("invite=")[1])
        fam = chromium.new_page(f"family ({purpose})")
        join_as_family(fam, join_url, consent=False)
        # The page reads the log again when the family comes in: wait for the row that read draws.
        rows = "JSON.stringify([...document.querySelectorAll('#cycles tbody tr')].map((r) => [...r.cells].map((c) => c.textContent)))"
        try:
            prac.wait(f"{rows} === {json.dumps(json.dumps([cells], separators=(',', ':')))}", 15, "the cycle in the log")
        except AssertionError as e:
            raise AssertionError(f"{e}\nrows: {prac.js(rows)}") from None
        assert prac.text("#cycles-status").startswith(summary), prac.text("#cycles-status")

    today = prac.js("new Date().toLocaleDateString(undefined, { dateStyle: 'medium' })")
    held("filming", [case_ref, "1", today, "not yet"], "0 complete cycles")
    held("review", [case_ref, "1", today, today], "1 complete cycle (filming and shared review held) with 1 family.")
    assert prac.text("#session-label") == f"{case_ref} · cycle 1 · shared review", "the Live heading names the open session"
    # The list is read again after each creation and join: wait for the read that has the review
    # (anywhere: created in the same second as the filming, it may sort below it, by id).
    labels = "[...document.querySelectorAll('#sessions li .session-label')].map((e) => e.textContent)"
    prac.wait(f"{labels}.some((t) => t.startsWith({json.dumps(f'{case_ref} · cycle 1 · shared review · ')}))", 15,
              "the shared review in the list")
    # "Download as CSV": the file the page hands the browser (its blob and its link's click caught; the
    # page's CSP lets nothing fetch the blob URL), one line a cycle.
    prac.js("URL.createObjectURL = ((make) => (blob) => { window.__blob = blob; return make(blob); })(URL.createObjectURL); "
            "HTMLAnchorElement.prototype.click = function () { window.__name = this.download; }; true")
    prac.click("#download-cycles")
    saved = prac.js("window.__blob.text().then((text) => ({ name: window.__name, text }))")
    log = relay.http("GET", "/v1/cycles", headers={"Authorization": f"Bearer {relay.token('cycles-' + case_ref)}"}).json()
    cycle = log["cases"][0]["cycles"][0]
    assert saved == {"name": "vig-cycle-log.csv",
                     "text": "case,cycle,filming held (UTC),shared review held (UTC),complete\r\n"
                             f"{case_ref},1,{cycle['filmedAt']},{cycle['reviewedAt']},yes\r\n"}, saved
    prac.screenshot(shots / "practitioner-cycle-log.png", 1280, 900)
    assert unlabelled_controls(prac) == []
    assert low_contrast(prac) == []


def test_a_held_session_made_without_labels_is_labelled_from_the_list_and_counts_in_the_cycle_log(relay, chromium, shots):
    """A trainee forgot the case and cycle of a session the family joined: the cycle log leaves it
    out and says so. "Labels…" on its list entry fills the form with its labels; saved, the list and
    the cycle log show it in its cycle."""
    case_ref = f"fam-{uuid.uuid4().hex[:6]}"
    token = relay.token("labels-" + case_ref)
    s = relay.create_session(token)
    p, _ = relay.join(s["sessionId"], token, "practitioner", role="practitioner", peer_present=False)
    f, _ = relay.join(s["sessionId"], s["inviteToken"], "family", role="family", peer_present=True)
    f.close()
    p.close()
    prac = chromium.new_page("practitioner")
    prac.navigate(relay.base_url + "/")
    prac.js(f"document.getElementById('token').value = {json.dumps(token)}; document.getElementById('save-token').click(); true")
    prac.wait("document.getElementById('cycles-status').textContent.includes('1 held session')", 10, "the unlabelled session counted apart")
    item = f"#sessions li[data-session-id='{s['sessionId']}']"
    prac.wait(f"Boolean(document.querySelector({json.dumps(item)}))", 10, "the session in the list")
    assert prac.js("document.getElementById('labels-editor').hidden")
    open_from_list(prac, s["sessionId"])
    assert prac.text("#session-label") == s["sessionId"][:8], "no labels yet: the start of its id"
    badges = f"[...document.querySelectorAll({json.dumps(item + ' .badge')})].map((b) => b.textContent)"
    assert "not in your cycle log: no case reference, cycle or purpose" in prac.js(badges), prac.js(badges)
    prac.click(f"{item} button[data-action=labels]")
    assert prac.js("document.activeElement.id") == "labels-case-ref"
    assert prac.js("[document.getElementById('labels-case-ref').value, document.getElementById('labels-cycle').value, "
                   "document.getElementById('labels-purpose').value]") == ["", "", ""]
    # A name is refused by the form itself, before anything is sent.
    prac.js("document.getElementById('labels-case-ref').value = 'Jane Smith'; true")
    prac.click("#labels-save")
    assert prac.text("#labels-status") == "" and not prac.js("document.getElementById('labels-case-ref').validity.valid")
    prac.js(f"document.getElementById('labels-case-ref').value = {json.dumps(case_ref)}; "
            "document.getElementById('labels-cycle').value = '1'; document.getElementById('labels-purpose').value = 'filming'; true")
    prac.click("#labels-save")
    prac.wait("document.getElementById('labels-status').textContent === 'Labels saved.'", 10, "the labels saved")
    today = prac.js("new Date().toLocaleDateString(undefined, { dateStyle: 'medium' })")
    rows = "JSON.stringify([...document.querySelectorAll('#cycles tbody tr')].map((r) => [...r.cells].map((c) => c.textContent)))"
    prac.wait(f"{rows} === {json.dumps(json.dumps([[case_ref, '1', today, 'not yet']], separators=(',', ':')))}", 10,
              "the session in its cycle")
    assert "held session" not in prac.text("#cycles-status"), prac.text("#cycles-status")
    prac.wait(f"document.querySelector({json.dumps(item + ' .session-label')})?.textContent.startsWith({json.dumps(case_ref + ' · cycle 1 · ')})",
              10, "the list entry's new label")
    assert prac.text("#labels-session").startswith(f"{case_ref} · cycle 1 · "), prac.text("#labels-session")
    assert not any(b.startswith("not in your cycle log") for b in prac.js(badges)), prac.js(badges)
    assert prac.text("#session-label") == f"{case_ref} · cycle 1", "the open session's heading has its new labels"
    listed = relay.http("GET", "/v1/sessions", headers={"Authorization": f"Bearer {token}"}).json()["sessions"][0]
    assert (listed["caseRef"], listed["cycle"], listed["purpose"]) == (case_ref, 1, "filming"), listed
    prac.screenshot(shots / "practitioner-labels.png", 1280, 900)
    prac.screenshot(shots / "practitioner-labels-phone.png", 390, 844, mobile=True)
    assert unlabelled_controls(prac) == []
    assert low_contrast(prac) == []
    prac.click("#labels-cancel")
    assert prac.js("document.getElementById('labels-editor').hidden")
    # Open again, then the browser forgotten: the form of that token's session goes with it.
    prac.click(f"{item} button[data-action=labels]")
    assert not prac.js("document.getElementById('labels-editor').hidden")
    prac.click("#forget-browser")
    assert prac.js("document.getElementById('labels-editor').hidden")


def test_a_late_summary_does_not_undo_the_familys_newer_consent(relay, chromium):
    """The session summary the practitioner's page reads (after a recording ends, a reconnect, a
    press of Refresh) can answer after the family's consent has come over the WebSocket (a busy
    reader thread): its older consent must not replace the newer one on the page (seen in CI)."""
    prac, fam = chromium.new_page("practitioner"), chromium.new_page("family")
    join_url, _ = open_session(prac, relay, relay.token("alice"))
    join_as_family(fam, join_url, consent=False)
    prac.wait("document.getElementById('consent-status').textContent.includes('has not agreed')", 15, "no consent yet")
    # The summary's answer is held back 2 s after the relay sent it; a flag is set once the page has taken it.
    prac.js("""(() => {
      const real = window.fetch;
      window.fetch = (url, opts) => /\\/v1\\/sessions\\/[0-9a-f]{32}$/.test(String(url))
        ? real(url, opts).then((res) => new Promise((done) => setTimeout(() => {
            const json = res.json.bind(res);
            res.json = () => json().then((v) => { setTimeout(() => { window.__lateSummaryTaken = true; }, 0); return v; });
            done(res);
          }, 2000)))
        : real(url, opts);
      return true;
    })()""")
    prac.click("#refresh-summary")
    fam.click("#consent-recording")
    prac.wait(CONSENT_GIVEN, 10, "the family's consent over the WebSocket")
    prac.wait("window.__lateSummaryTaken === true", 15, "the late summary to be taken")
    assert prac.js(CONSENT_GIVEN), prac.text("#consent-status")
