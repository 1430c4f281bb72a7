"""The web app across browsers: Firefox (Debian's firefox-esr, headless, driven over WebDriver BiDi
with its fake camera) together with Chromium (over the DevTools Protocol), as a family on one
browser and a practitioner on another would be.

1. The family in Firefox, the practitioner in Chromium: consent and join with the keyboard only,
   Firefox's camera (MediaRecorder WebM) live and smooth on the practitioner's page, recording (a
   file ffmpeg decodes) with the indicator on the family's page, a mark at the picture on screen,
   a clip cut from it and played on the family's page under the practitioner's control, the
   practitioner's screen on the family's page, withdrawal deleting the files.
2. The practitioner in Firefox, the family in Chromium: Chromium's camera live and smooth in
   Firefox (MSE), a recording with a mark made with the M key.

Screenshots of the Firefox pages go to the test's directory (and to $VIGRELAY_SCREENSHOTS if set)."""

from __future__ import annotations

import pytest

from contrast import low_contrast
from webpages import (check_recording, check_started_with_the_new_stream, join_as_family, make_clip_from_mark, mark_on_screen,
                      open_session, start_recording_after_keyframe, stop_recording_after_mark, join_with_keyboard, unlabelled_controls,
                      video_played, video_playing, video_state, wait_for_live_video, withdraw_and_check_deleted)

pytestmark = pytest.mark.timeout(240)


def test_family_in_firefox_practitioner_in_chromium(relay, firefox, chromium, shots, tmp_path):
    token = relay.token("alice")
    prac = chromium.new_page("practitioner (chromium)")
    fam = firefox.new_page("family (firefox)")
    problems = lambda: {"firefox": firefox.console_problems(), "chromium": chromium.console_problems()}  # noqa: E731

    join_url, session_id = open_session(prac, relay, token)
    fam.navigate(join_url)
    fam.screenshot(shots / "firefox-family-consent-phone.png", 390, 844, mobile=True)
    assert join_with_keyboard(fam, prac).startswith("video/webm")
    wait_for_live_video(prac, fam, problems)

    # --- recording from Firefox's camera, with a mark. Start is pressed just after a keyframe, the
    # next being 7-8 s away: the family's page starts a new recorder, and the recording starts at once.
    start_recording_after_keyframe(prac, fam)
    assert "Recording" in fam.text("#recording-status")
    on_screen = mark_on_screen(prac)
    assert fam.js("window.__vigrelay.sender.keyframeRestarts") == 1
    fam.screenshot(shots / "firefox-family-recording-phone.png", 390, 844, mobile=True)
    assert low_contrast(fam) == [], "as Firefox renders the family's page"
    stop_recording_after_mark(prac, fam, on_screen)

    auth = {"Authorization": f"Bearer {token}"}
    summary = check_recording(relay, prac, auth, session_id, on_screen, tmp_path / "recording.webm")
    assert len(summary["recordings"][0]["parts"]) == 1, summary["recordings"]
    check_started_with_the_new_stream(prac)

    # --- a clip of it, shown to the family: Firefox plays it under the practitioner's control
    clip_id = make_clip_from_mark(relay, prac, auth, session_id, tmp_path / "clip.webm")
    prac.click("#clips .show-clip")
    fam.wait("!document.getElementById('shared-box').hidden && document.getElementById('shared-screen').readyState >= 1",
             15, "the clip on the family's page")
    prac.js("document.getElementById('review-video').play().then(() => true)")
    try:
        fam.wait(video_played("#shared-screen", 0.3), 15, "the clip to play on the family's page")
    except AssertionError as e:
        raise AssertionError(f"{e}\nfamily: {video_state(fam, '#shared-screen')}; practitioner: {video_state(prac, '#review-video')}; "
                             f"console: {problems()}") from None
    prac.js("document.getElementById('review-video').pause(); true")
    fam.wait("document.getElementById('shared-screen').paused", 10, "the family's player to pause with the practitioner's")
    fam.screenshot(shots / "firefox-family-review-phone.png", 390, 844, mobile=True)

    # --- the practitioner's screen (Chromium) on the family's page (Firefox)
    prac.click("#share-screen")
    prac.wait("document.getElementById('review-status').textContent.includes('sees your screen')", 10, "screen sharing to start")
    fam.wait(video_playing("#shared-screen", 0.5), 30, "the practitioner's screen on the family's page")
    prac.click("#stop-review")
    fam.wait("document.getElementById('shared-box').hidden", 10, "the shared screen to close")

    # --- withdrawal from Firefox deletes the files
    withdraw_and_check_deleted(relay, prac, fam, auth, session_id, clip_id)
    fam.screenshot(shots / "firefox-family-withdrawn-phone.png", 390, 844, mobile=True)
    assert unlabelled_controls(fam) == []

    found = problems()
    assert not found["firefox"] and not [p for p in found["chromium"] if "favicon" not in p], f"console errors: {found}"


def practitioner_in_firefox_with_live_family(relay, firefox, chromium, name: str):
    """A session opened on a Firefox practitioner page, a Chromium family joined, its camera live on
    the practitioner's page. Returns (token, session id, practitioner page, family page, problems)."""
    token = relay.token("alice")
    prac = firefox.new_page(name)
    fam = chromium.new_page("family (chromium)")
    problems = lambda: {"firefox": firefox.console_problems(), "chromium": chromium.console_problems()}  # noqa: E731
    join_url, session_id = open_session(prac, relay, token)
    join_as_family(fam, join_url)
    wait_for_live_video(prac, fam, problems)
    return token, session_id, prac, fam, problems


def test_practitioner_in_firefox_watches_chromium_family(relay, firefox, chromium, shots):
    token, session_id, prac, fam, problems = practitioner_in_firefox_with_live_family(relay, firefox, chromium, "practitioner (firefox)")

    # Recording, and a mark with the M key, from Firefox.
    prac.click("#record-toggle")
    fam.wait("document.getElementById('recording-status').className === 'recording-on'", 10, "the family's recording indicator")
    prac.wait("window.__vigrelay.live.recordingStartMs !== null", 15, "the recording's first keyframe on the practitioner's page")
    prac.js("document.activeElement?.blur(); true")
    prac.press("m")
    prac.wait("document.querySelectorAll('#marks li').length === 1", 10, "the mark made with the M key")
    prac.screenshot(shots / "firefox-practitioner-live.png", 1280, 900)
    prac.screenshot(shots / "firefox-practitioner-phone.png", 390, 844, mobile=True)
    assert low_contrast(prac) == [], "as Firefox renders the practitioner's page"
    prac.click("#record-toggle")
    prac.wait("document.getElementById('recording-status').textContent === 'Not recording'", 15, "the recording to stop")
    summary = relay.http("GET", f"/v1/sessions/{session_id}", headers={"Authorization": f"Bearer {token}"}).json()
    assert summary["recordings"][0]["state"] == "complete" and len(summary["marks"]) == 1, summary

    found = problems()
    assert not found["firefox"] and not [p for p in found["chromium"] if "favicon" not in p], f"console errors: {found}"


def test_practitioner_in_firefox_shares_the_screen_with_a_chromium_family(relay, firefox_on_display, chromium):
    """The practitioner in Firefox shares the screen (getDisplayMedia: Firefox not headless, on an X
    virtual framebuffer, with no prompt as media.navigator.permission.disabled is set); Firefox
    records it (MediaRecorder, stream 2) and the family's page in Chromium plays it; then it stops."""
    _, _, prac, fam, problems = practitioner_in_firefox_with_live_family(relay, firefox_on_display, chromium,
                                                                         "practitioner (firefox on Xvfb)")

    # With the mouse: getDisplayMedia needs a user gesture of the last 5 s (see bidi.Page.js).
    prac.pointer_click("#share-screen")
    try:
        prac.wait("document.getElementById('review-status').textContent.includes('sees your screen')", 10, "screen sharing to start")
    except AssertionError as e:
        raise AssertionError(f"{e}; the page says {prac.text('#review-status')!r}") from None
    assert prac.js("document.getElementById('review-video').srcObject.getVideoTracks()[0].readyState") == "live"
    # Firefox shares no sound: the screen is recorded as video alone (a type naming opus gives no bytes).
    assert prac.js("window.__vigrelay.state.screenSender.mimeType") == "video/webm;codecs=vp8"
    try:
        fam.wait(video_playing("#shared-screen", 0.5), 30, "the practitioner's screen on the family's page")
    except AssertionError as e:
        raise AssertionError(f"{e}\nfamily: {video_state(fam, '#shared-screen')}; console: {problems()}") from None
    assert fam.js("document.getElementById('shared-screen').videoWidth") == 1280

    prac.click("#stop-review")
    fam.wait("document.getElementById('shared-box').hidden", 10, "the shared screen to close")
    assert prac.js("document.getElementById('review-video').srcObject") is None
    assert prac.text("#review-status") == "Not showing anything."

    found = problems()
    assert not found["firefox"] and not [p for p in found["chromium"] if "favicon" not in p], f"console errors: {found}"
