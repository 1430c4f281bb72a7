"""The web app in a real headless Chromium (Debian's package), driven over the DevTools Protocol:
the family and the practitioner in two isolated browser contexts, with Chromium's fake camera.

Covers: consent, the family's camera reaching the practitioner's <video> (MSE), recording and a file
ffmpeg decodes, a mark, a clip (made from the mark, decoded), the shared review (screen share, and
a clip played in step on both sides), and withdrawal deleting the files. Screenshots of both pages
go to the test's directory (and to $VIGRELAY_SCREENSHOTS if set)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from cdp import Browser, chromium_path

pytestmark = pytest.mark.timeout(300)


@pytest.fixture
def browser(tmp_path):
    binary = chromium_path()
    if binary is None:
        pytest.fail("chromium not found: apt-get install chromium (scripts/test.sh installs it)", pytrace=False)
    b = Browser(tmp_path, binary)
    yield b
    b.close()


@pytest.fixture
def shots(tmp_path):
    out = tmp_path / "screenshots"
    out.mkdir()
    yield out
    target = os.environ.get("VIGRELAY_SCREENSHOTS")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        for png in out.glob("*.png"):
            shutil.copy(png, Path(target) / png.name)


# A complaint ffmpeg makes about a live browser recording that is not a decoding error (each frame
# decodes), reported to the lead rather than hidden: Chrome's MediaRecorder gives two video frames
# the same millisecond timestamp now and then. (A recording stopped while the camera streams used
# to end inside a block, "File ended prematurely"; the relay now cuts it at its last complete block,
# and this test checks that.)
KNOWN_LIVE_RECORDING_NOTES = ("non monotonically increasing dts to muxer",)


def ffmpeg_errors(path: Path, tolerate: tuple[str, ...] = ()) -> str:
    p = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-f", "null", "-"], capture_output=True, text=True, timeout=60)
    lines = [line for line in p.stderr.splitlines() if line.strip() and not any(t in line for t in tolerate)]
    return "\n".join(lines) + ("" if p.returncode == 0 else f" (exit {p.returncode})")


def console_problems(browser) -> list[str]:
    out = []
    for e in browser.events:
        if e["method"] == "Runtime.exceptionThrown":
            out.append(e["params"]["exceptionDetails"].get("exception", {}).get("description", "exception"))
        elif e["method"] == "Runtime.consoleAPICalled" and e["params"]["type"] in ("error", "warning"):
            out.append(" ".join(str(a.get("value", a.get("description", ""))) for a in e["params"]["args"]))
    return out


def video_playing(selector: str, min_time: float = 0.5) -> str:
    return (f"(() => {{ const v = document.querySelector('{selector}'); "
            f"return v && v.videoWidth > 0 && v.currentTime > {min_time} && !v.paused; }})()")


def test_family_and_practitioner_pages_end_to_end(relay, browser, shots, tmp_path):
    token = relay.token("alice")
    prac = browser.new_page("practitioner")
    fam = browser.new_page("family")

    # --- practitioner: token, session, invite
    prac.navigate(relay.base_url + "/")
    prac.js(f"document.getElementById('token').value = {json.dumps(token)}; document.getElementById('save-token').click(); true")
    assert prac.js("localStorage.getItem('vigrelay.practitionerToken')") == token
    prac.click("#create-session")
    join_url = prac.wait("document.getElementById('invite-link').textContent", 15, "the invite link")
    assert join_url.startswith(relay.base_url + "/join#session=")
    session_id = join_url.split("session=")[1].split("&")[0]
    relay.secrets_seen.add(join_url.split("invite=")[1])
    prac.wait("document.getElementById('connection-status').textContent.includes('Connected')", 15, "the practitioner to connect")

    # --- family: consent, camera, join
    fam.navigate(join_url)
    fam.screenshot(shots / "family-consent-phone.png", 390, 844, mobile=True)
    fam.screenshot(shots / "family-consent.png")
    fam.click("#consent-recording")
    fam.click("#join")
    fam.wait("document.getElementById('connection-status').textContent.includes('Connected')", 20, "the family to connect")
    prac.wait("document.getElementById('consent-status').textContent.includes('agreed to recording')", 10, "the consent notice")

    # --- live video reaches the practitioner's <video>, and keeps advancing
    try:
        prac.wait(video_playing("#live-video"), 30, "the family's camera on the practitioner's page")
    except AssertionError:
        diag = prac.js("(() => { const v = document.getElementById('live-video'); const p = window.__vigrelay.live; "
                       "return {rs: v.readyState, t: v.currentTime, w: v.videoWidth, paused: v.paused, err: v.error && v.error.message, "
                       "src: v.src, waiting: p.waitingForInit, sb: !!p.sourceBuffer, q: p.queue.length, "
                       "buf: p.sourceBuffer ? [...Array(p.sourceBuffer.buffered.length).keys()].map(i => [p.sourceBuffer.buffered.start(i), p.sourceBuffer.buffered.end(i)]) : null}; })()")
        sent = fam.js("({frames: window.__vigrelay?.sender?.framesSent, mime: window.__vigrelay?.sender?.mimeType})")
        raise AssertionError(f"live video: {diag}; family sender: {sent}; console: {console_problems(browser)}")
    t0 = prac.js("document.getElementById('live-video').currentTime")
    prac.wait(f"document.getElementById('live-video').currentTime > {t0} + 1", 15, "live video to advance")
    assert prac.js("document.getElementById('live-video').videoWidth") > 0

    # --- recording, with a mark
    prac.click("#record-toggle")
    fam.wait("document.getElementById('recording-status').className === 'recording-on'", 10, "the family's recording indicator")
    entry = f"document.querySelector('#sessions li[data-session-id=\"{session_id}\"]')"
    prac.wait(f"{entry}?.querySelector('.badge.rec') && {entry}.textContent.includes('live: family + practitioner')", 10,
              "the session list to show the recording and both sides")
    prac.wait("window.__vigrelay.state.recordingId && performance.now() - window.__vigrelay.state.recordingStartedAt > 4000", 15, "4 s of recording")
    prac.click("#mark")
    prac.wait("document.querySelectorAll('#marks li').length === 1", 10, "the mark on the timeline")
    fam.screenshot(shots / "family-recording-phone.png", 390, 844, mobile=True)
    prac.screenshot(shots / "practitioner-live-recording.png", 1280, 900)
    # Long enough that the clip around the mark ends well before the recording does.
    prac.wait("performance.now() - window.__vigrelay.state.recordingStartedAt > 15000", 20, "15 s of recording")
    prac.click("#record-toggle")
    fam.wait("document.getElementById('recording-status').className === 'recording-off'", 15, "the indicator to go off")

    auth = {"Authorization": f"Bearer {token}"}
    summary = relay.http("GET", f"/v1/sessions/{session_id}", headers=auth).json()
    assert summary["consent"]["recording"] is True
    rec = summary["recordings"][0]
    assert rec["state"] == "complete" and rec["durationMs"] > 5000, rec
    assert len(summary["marks"]) == 1 and 3000 <= summary["marks"][0]["atMs"] <= 8000, summary["marks"]
    media = relay.http("GET", f"/v1/sessions/{session_id}/recordings/{rec['recordingId']}", headers=auth, timeout=30)
    assert media.status == 200 and media.headers["content-type"] == "video/webm"
    (tmp_path / "recording.webm").write_bytes(media.body)
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
            "v.currentTime = (v.seekable.length ? v.seekable.start(0) : 0) + 1.0; return true; })()")
    target = prac.wait("(() => { const v = document.getElementById('review-video'); "
                       "return !v.seeking && v.paused ? String(v.currentTime) : ''; })()", 10, "the practitioner's seek")
    try:
        fam.wait("(() => { const v = document.getElementById('shared-screen'); return v.paused && Math.abs(v.currentTime - " + target + ") < 0.3; })()",
                 10, f"the family's player to pause at {target} s")
    except AssertionError as e:
        state = fam.js("(() => { const v = document.getElementById('shared-screen'); return {t: v.currentTime, p: v.paused, rs: v.readyState, d: v.duration}; })()")
        pstate = prac.js("(() => { const v = document.getElementById('review-video'); return {t: v.currentTime, p: v.paused}; })()")
        raise AssertionError(f"{e}; family {state}; practitioner {pstate}; console {console_problems(browser)}")
    fam.screenshot(shots / "family-review-phone.png", 390, 844, mobile=True)

    # --- shared review: the practitioner's screen (getDisplayMedia -> stream 2)
    prac.js("document.getElementById('review-status').textContent = ''; true")
    prac.click("#share-screen")
    prac.wait("document.getElementById('review-status').textContent !== ''", 10, "screen sharing to start or fail")
    shared = prac.text("#review-status")
    assert "sees your screen" in shared, f"screen sharing did not start in headless Chromium: {shared}"
    fam.wait(video_playing("#shared-screen", 0.5), 30, "the practitioner's screen on the family's page")
    prac.screenshot(shots / "practitioner-review.png", 1280, 900)
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

    problems = [p for p in console_problems(browser) if "favicon" not in p]
    assert not problems, f"console errors: {problems}"
