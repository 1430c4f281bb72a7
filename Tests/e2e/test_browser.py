"""The web app in a real headless Chromium (Debian's package), driven over the DevTools Protocol:
the family and the practitioner in two isolated browser contexts, with Chromium's fake camera.

Covers: consent, the family's camera reaching the practitioner's <video> (MSE), recording and a file
ffmpeg decodes, a mark, a clip (made from the mark, decoded), the shared review (screen share, and
a clip played in step on both sides), and withdrawal deleting the files. Screenshots of both pages
go to the test's directory (and to $VIGRELAY_SCREENSHOTS if set)."""

from __future__ import annotations

import pytest

from cdp import Browser, chromium_path
from webpages import (KNOWN_LIVE_RECORDING_NOTES, ffmpeg_errors, first_cluster_ms, join_as_family, open_session,
                      unlabelled_controls, video_playing, wait_for_live_video)

# Where the picture on the practitioner's screen is on the running recording's timeline (ms).
ON_SCREEN = ("(Math.round(document.getElementById('live-video').currentTime * 1000) - "
             "window.__vigrelay.live.recordingStartMs)")

pytestmark = pytest.mark.timeout(300)


@pytest.fixture
def browser(tmp_path):
    binary = chromium_path()
    if binary is None:
        pytest.fail("chromium not found: apt-get install chromium (scripts/test.sh installs it)", pytrace=False)
    b = Browser(tmp_path, binary)
    yield b
    b.close()


def test_family_and_practitioner_pages_end_to_end(relay, browser, shots, tmp_path):
    token = relay.token("alice")
    prac = browser.new_page("practitioner")
    fam = browser.new_page("family")

    # --- practitioner: token, session, invite
    join_url, session_id = open_session(prac, relay, token)

    # --- family: consent, camera, join
    fam.navigate(join_url)
    fam.screenshot(shots / "family-consent-phone.png", 390, 844, mobile=True)
    fam.screenshot(shots / "family-consent.png")
    join_as_family(fam)
    prac.wait("document.getElementById('consent-status').textContent.includes('agreed to recording')", 10, "the consent notice")

    # --- live video reaches the practitioner's <video>, and keeps advancing
    wait_for_live_video(prac, fam, lambda: browser.console_problems())

    # --- recording, with a mark
    prac.click("#record-toggle")
    fam.wait("document.getElementById('recording-status').className === 'recording-on'", 10, "the family's recording indicator")
    entry = f"document.querySelector('#sessions li[data-session-id=\"{session_id}\"]')"
    prac.wait(f"{entry}?.querySelector('.badge.rec') && {entry}.textContent.includes('live: family + practitioner')", 10,
              "the session list to show the recording and both sides")
    # The mark lands where the picture on the practitioner's screen is on the recording's timeline
    # (which starts at the first keyframe after Start: up to 2 s later from Chrome, 8 s from Firefox).
    prac.wait(f"window.__vigrelay.live.recordingStartMs !== null && {ON_SCREEN} > 3000", 25, "3 s of recording on screen")
    on_screen = prac.js(f"(() => {{ const ms = {ON_SCREEN}; document.getElementById('mark').click(); return ms; }})()")
    prac.wait("document.querySelectorAll('#marks li').length === 1", 10, "the mark on the timeline")
    fam.screenshot(shots / "family-recording-phone.png", 390, 844, mobile=True)
    prac.screenshot(shots / "practitioner-live-recording.png", 1280, 900)
    # Long enough that the clip around the mark (3 s before, 4 s after) ends before the recording does.
    prac.wait(f"{ON_SCREEN} > {on_screen} + 7000", 20, "7 s more of recording")
    prac.click("#record-toggle")
    fam.wait("document.getElementById('recording-status').className === 'recording-off'", 15, "the indicator to go off")

    auth = {"Authorization": f"Bearer {token}"}
    summary = relay.http("GET", f"/v1/sessions/{session_id}", headers=auth).json()
    assert summary["consent"]["recording"] is True
    rec = summary["recordings"][0]
    assert rec["state"] == "complete" and rec["durationMs"] > 5000, rec
    assert len(summary["marks"]) == 1 and abs(summary["marks"][0]["atMs"] - on_screen) <= 100, (summary["marks"], on_screen)
    media = relay.http("GET", f"/v1/sessions/{session_id}/recordings/{rec['recordingId']}", headers=auth, timeout=30)
    assert media.status == 200 and media.headers["content-type"] == "video/webm"
    (tmp_path / "recording.webm").write_bytes(media.body)
    # The practitioner's page found where the recording starts in the live stream (marks are placed
    # from the picture on screen): the same keyframe cluster the relay started the file at.
    assert prac.js("window.__vigrelay.live.recordingStartMs") == first_cluster_ms(media.body)
    assert ffmpeg_errors(tmp_path / "recording.webm", KNOWN_LIVE_RECORDING_NOTES) == ""

    # --- a clip from the mark, made and previewed on the page, decoded by ffmpeg
    prac.wait("!!document.querySelector('#recordings button')", 10, "the mark's clip button")
    prac.click("#recordings button")
    prac.click("#make-clip")
    prac.wait("document.querySelectorAll('#clips li').length === 1", 20, "the clip in the list")
    clip_id = prac.js("document.querySelector('#clips li').dataset.clipId")
    clip = relay.http("GET", f"/v1/sessions/{session_id}/clips/{clip_id}", headers=auth, timeout=30)
    assert clip.status == 200
    (tmp_path / "clip.webm").write_bytes(clip.body)
    assert ffmpeg_errors(tmp_path / "clip.webm", KNOWN_LIVE_RECORDING_NOTES) == ""
    prac.click("#clips .preview-clip")
    prac.wait("document.getElementById('review-video').readyState >= 1 && document.getElementById('review-video').duration > 2",
              15, "the clip preview to load")

    # --- shared review: a clip on both sides in step (signal play/pause/seek)
    prac.click("#clips .show-clip")
    fam.wait("!document.getElementById('shared-box').hidden && document.getElementById('shared-screen').readyState >= 1",
             15, "the clip on the family's page")
    prac.js("document.getElementById('review-video').play().then(() => true)")
    fam.wait(video_playing("#shared-screen", 0.3), 15, "the clip to play on the family's page")
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
        raise AssertionError(f"{e}; family {state}; practitioner {pstate}; console {browser.console_problems()}")
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
    # Every control has a name a screen reader can say (here with recordings and clips listed).
    assert unlabelled_controls(prac) == []
    prac.click("#stop-review")
    fam.wait("document.getElementById('shared-box').hidden", 10, "the shared screen to close")

    # --- withdrawal deletes the files
    recordings_dir = relay.data_dir / "sessions" / session_id / "recordings"
    assert any(recordings_dir.glob("*.webm"))
    fam.click("#withdraw")
    fam.wait("document.getElementById('withdraw-status').textContent.includes('deleted')", 15, "the deletion notice")
    prac.wait("document.getElementById('recording-status').textContent.includes('deleted')", 10, "the practitioner's notice")
    assert not any(recordings_dir.glob("*.webm")) and not any(recordings_dir.glob("*.index"))
    assert relay.http("GET", f"/v1/sessions/{session_id}/clips/{clip_id}", headers=auth).status == 404
    after = relay.http("GET", f"/v1/sessions/{session_id}", headers=auth).json()
    assert after["consent"]["recording"] is False and after["recordings"][0]["state"] == "deleted"
    fam.screenshot(shots / "family-withdrawn-phone.png", 390, 844, mobile=True)
    prac.click("#refresh-sessions")
    prac.wait(f"{entry}?.querySelector('.facts').textContent.includes('consent withdrawn') && "
              f"{entry}.querySelector('.facts').textContent.includes('0 recordings, 1 deleted, 0 clips')", 10, "the session list")
    assert prac.js(f"{entry}.querySelector('.badge.rec') === null"), "no recording runs any more"
    prac.screenshot(shots / "practitioner-after.png", 1280, 900)

    assert unlabelled_controls(fam) == []

    problems = [p for p in browser.console_problems() if "favicon" not in p]
    assert not problems, f"console errors: {problems}"
