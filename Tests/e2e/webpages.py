"""Steps and checks shared by the browser tests (test_browser.py in Chromium, test_firefox.py in
Firefox and Chromium together). A page is a cdp.Page or a bidi.Page: both have js, wait, click,
text, navigate and screenshot."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

# A complaint ffmpeg makes about a live browser recording that is not a decoding error (each frame
# decodes), reported to the lead rather than hidden: Chrome's MediaRecorder gives two video frames
# the same millisecond timestamp now and then. (A recording stopped while the camera streams used
# to end inside a block, "File ended prematurely"; the relay now cuts it at its last complete block,
# and these tests check that.)
KNOWN_LIVE_RECORDING_NOTES = ("non monotonically increasing dts to muxer",)

# The practitioner's page shows the family's consent ("has not agreed" contains "agreed to
# recording" too, so a looser test races a withdrawal).
CONSENT_GIVEN = "document.getElementById('consent-status').textContent.startsWith('The family agreed to recording')"


def ffmpeg_errors(path: Path, tolerate: tuple[str, ...] = ()) -> str:
    p = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-f", "null", "-"], capture_output=True, text=True, timeout=60)
    lines, dropped = [], False
    for line in p.stderr.splitlines():
        if not line.strip():
            continue
        # "Last message repeated N times" belongs to the line before it.
        repeat = line.strip().startswith("Last message repeated")
        dropped = (dropped if repeat else False) or any(t in line for t in tolerate)
        if not dropped:
            lines.append(line)
    return "\n".join(lines) + ("" if p.returncode == 0 else f" (exit {p.returncode})")


def _vint(b: bytes, at: int, keep_marker: bool = False) -> tuple[int, int]:
    length = 1
    while not b[at] & (0x100 >> length):
        length += 1
    value = b[at] if keep_marker else b[at] & ((0x100 >> length) - 1)
    for i in range(1, length):
        value = value * 256 + b[at + i]
    return value, length


def first_cluster_ms(webm: bytes) -> int:
    """The Timecode of a WebM file's first Cluster (where a recording starts on the stream's clock)."""
    at = 0
    _, n = _vint(webm, at, True)
    size, m = _vint(webm, at + n)
    at += n + m + size  # EBML header
    _, n = _vint(webm, at, True)
    _, m = _vint(webm, at + n)
    at += n + m  # into the Segment
    while True:
        element, n = _vint(webm, at, True)
        size, m = _vint(webm, at + n)
        if element == 0x1F43B675:
            at += n + m
            element, n = _vint(webm, at, True)
            size, m = _vint(webm, at + n)
            assert element == 0xE7, f"cluster without a Timecode first: {element:#x}"
            return int.from_bytes(webm[at + n + m:at + n + m + size], "big")
        at += n + m + size


def mp4_boxes(data: bytes, start: int, end: int):
    """(type, body start, end) of each MP4 box in `data[start:end]`, stopping at a size below a header."""
    at = start
    while at + 8 <= end:
        size = int.from_bytes(data[at:at + 4], "big")
        if size < 8:
            return
        yield data[at + 4:at + 8].decode("latin1"), at + 8, min(at + size, end)
        at += size


def first_fragment_ms(mp4: bytes) -> int:
    """The video track's decode time (ms) in a fragmented MP4 file's first fragment (where a
    recording starts on the stream's clock), from moov's track ids and timescales and the moof's tfdt."""
    tracks = {}
    for kind, body, end in mp4_boxes(mp4, 0, len(mp4)):
        if kind == "moov":
            for trak, tb, te in mp4_boxes(mp4, body, end):
                if trak != "trak":
                    continue
                parts = {k: (b, e) for k, b, e in mp4_boxes(mp4, tb, te)}
                tkhd = parts["tkhd"][0]
                track_id = int.from_bytes(mp4[tkhd + (20 if mp4[tkhd] == 1 else 12):][:4], "big")
                mdia = {k: b for k, b, e in mp4_boxes(mp4, *parts["mdia"])}
                timescale = int.from_bytes(mp4[mdia["mdhd"] + (20 if mp4[mdia["mdhd"]] == 1 else 12):][:4], "big")
                tracks[track_id] = (mp4[mdia["hdlr"] + 8:mdia["hdlr"] + 12], timescale)
        elif kind == "moof":
            for traf, fb, fe in mp4_boxes(mp4, body, end):
                if traf != "traf":
                    continue
                parts = {k: b for k, b, e in mp4_boxes(mp4, fb, fe)}
                handler, timescale = tracks[int.from_bytes(mp4[parts["tfhd"] + 4:][:4], "big")]
                if handler == b"vide":
                    tfdt = parts["tfdt"]
                    time = int.from_bytes(mp4[tfdt + 4:][:8 if mp4[tfdt] == 1 else 4], "big")
                    # Half up, as the pages and the relay round (Python's round() goes to even:
                    # 9154.5 ms would be 9154 here and 9155 on the page).
                    return (time * 1000 + timescale // 2) // timescale
    raise AssertionError("no video fragment in the MP4 file")


def watch_status(page) -> None:
    """Keeps every text the page's connection status shows (window.__statusShown, by a
    MutationObserver), so that a test sees a message even if the next one replaced it at once."""
    page.js("""(() => { const e = document.getElementById('connection-status'); window.__statusShown = [e.textContent];
        new MutationObserver(() => window.__statusShown.push(e.textContent)).observe(e, {childList: true, characterData: true, subtree: true});
        return true; })()""")


def wait_for_status(page, text: str, timeout: float, what: str, after: int = -1) -> int:
    """Waits until the connection status has shown a text containing `text` (later than the one
    numbered `after`, if given) since `watch_status`; returns that text's number. The failure lists
    what it showed."""
    find = (f"window.__statusShown.findIndex((t, i) => i > {after} && t.includes({json.dumps(text)})) + 1")
    try:
        return page.wait(find, timeout, what) - 1
    except AssertionError as e:
        raise AssertionError(f"{e}; the status showed {page.js('window.__statusShown')!r}") from None


def video_playing(selector: str, min_time: float = 0.5) -> str:
    """A condition: the <video> shows pictures, has played past min_time and is not paused."""
    return (f"(() => {{ const v = document.querySelector('{selector}'); "
            f"return v && v.videoWidth > 0 && v.currentTime > {min_time} && !v.paused; }})()")


def video_played(selector: str, seconds: float = 0.3) -> str:
    """A condition: the <video> shows pictures and has played `seconds` of media (its `played`
    ranges). For a clip, which may play to its end between two polls on a slow machine: that it
    played is what counts, not that it still is."""
    return (f"(() => {{ const v = document.querySelector('{selector}'); if (!v || v.videoWidth === 0) return false; "
            f"let s = 0; for (let i = 0; i < v.played.length; i++) s += v.played.end(i) - v.played.start(i); "
            f"return s >= {seconds}; }})()")


def live_video_state(page) -> dict:
    """What the practitioner's live player is doing, for a failure message."""
    return page.js("(() => { const v = document.getElementById('live-video'); const p = window.__vigrelay.live; "
                   "return {rs: v.readyState, t: v.currentTime, w: v.videoWidth, paused: v.paused, err: v.error && v.error.message, "
                   "type: p.type, waiting: p.waitingForInit, sb: !!p.sourceBuffer, q: p.queue.length, "
                   "ms: p.mediaSource && p.mediaSource.readyState, q2: v.getVideoPlaybackQuality(), "
                   "buf: (() => { try { const b = p.sourceBuffer.buffered; return [...Array(b.length).keys()].map(i => [b.start(i), b.end(i)]); } "
                   "catch (e) { return String(e); } })()}; })()")


def video_state(page, selector: str) -> dict:
    """A <video>'s state, for a failure message."""
    return page.js(f"(() => {{ const v = document.querySelector('{selector}'); "
                   "const b = [...Array(v.buffered.length).keys()].map(i => [v.buffered.start(i), v.buffered.end(i)]); "
                   "return {rs: v.readyState, t: v.currentTime, d: v.duration, w: v.videoWidth, paused: v.paused, "
                   "err: v.error && v.error.message, buffered: b}; })()")


def open_session(prac, relay, token: str, base_url: str | None = None) -> tuple[str, str]:
    """The practitioner saves their token and creates a session (on the page at `base_url`, by default
    the relay's own); returns (join URL, session id)."""
    prac.navigate((base_url or relay.base_url) + "/")
    prac.js(f"document.getElementById('token').value = {json.dumps(token)}; document.getElementById('save-token').click(); true")
    assert prac.js("localStorage.getItem('vigrelay.practitionerToken')") == token
    prac.click("#create-session")
    join_url = prac.wait("document.getElementById('invite-link').textContent", 15, "the invite link")
    assert join_url.startswith(relay.base_url + "/join#session=")
    relay.secrets_seen.add(join_url.split("invite=")[1])
    prac.wait("document.getElementById('connection-status').textContent.includes('Connected')", 15, "the practitioner to connect")
    return join_url, join_url.split("session=")[1].split("&")[0]


def open_from_list(prac, session_id: str, what: str = "the session in the list") -> None:
    """Clicks the session's Open button in the practitioner's list ("Your sessions"), once it is there."""
    button = f"#sessions li[data-session-id=\"{session_id}\"] button[data-action=open]"
    prac.wait(f"document.querySelector({json.dumps(button)}) !== null", 15, what)
    prac.click(button)


def join_as_family(fam, join_url: str | None = None, consent: bool = True) -> None:
    """The family opens the link (unless the page is open already), agrees to recording (or not)
    and starts the camera."""
    if join_url:
        fam.navigate(join_url)
    if consent:
        fam.click("#consent-recording")
    fam.click("#join")
    fam.wait("document.getElementById('connection-status').textContent.includes('Connected')", 20, "the family to connect")


def unlabelled_controls(page) -> list[str]:
    """Visible controls without an accessible name: buttons without text or aria-label, fields
    without a <label> or aria-label, videos without aria-label."""
    return page.js("""(() => [...document.querySelectorAll('button, input, select, textarea, video')]
        .filter((e) => e.getClientRects().length > 0)
        .filter((e) => !(e.getAttribute('aria-label') || '').trim())
        .filter((e) => e.tagName === 'BUTTON' ? !e.textContent.trim()
                     : e.tagName === 'VIDEO' ? true : !(e.labels && e.labels.length))
        .map((e) => e.outerHTML.slice(0, 80)))()""")


def join_with_keyboard(fam, prac) -> str:
    """The family, with the keyboard only, consents (Space) and joins (Enter); waits until it is
    connected and the practitioner's page shows the consent. Returns the recording type it chose."""
    tab_to(fam, "consent-recording")
    fam.press("Space")
    assert fam.js("document.getElementById('consent-recording').checked") is True
    tab_to(fam, "join")
    fam.press("Enter")
    fam.wait("document.getElementById('connection-status').textContent.includes('Connected')", 20, "the family to connect")
    prac.wait(CONSENT_GIVEN, 10, "the consent notice")
    return fam.js("window.__vigrelay.sender.mimeType")


def tab_to(page, element_id: str, limit: int = 40) -> None:
    """Moves the keyboard focus with Tab until it reaches the element (as a keyboard user would)."""
    seen = []
    for _ in range(limit):
        page.press("Tab")
        focused = page.js("document.activeElement?.id || document.activeElement?.tagName || ''")
        if focused == element_id:
            return
        seen.append(focused)
    raise AssertionError(f"{page.name}: Tab never reached #{element_id}; focus went through {seen}")


def remember_live_stream(prac) -> None:
    """Notes which stream the practitioner's live player shows now (see wait_for_live_video's `fresh`)."""
    prac.js("window.__liveBefore = window.__vigrelay.live.mediaSource; true")


def wait_for_live_video(prac, fam, problems, fresh: bool = False) -> None:
    """The family's camera plays on the practitioner's page and keeps advancing; with `fresh`, in a
    stream that started after `remember_live_stream` (a reconnect starts a new one)."""
    playing = video_playing("#live-video")
    if fresh:
        playing = f"window.__vigrelay.live.mediaSource !== window.__liveBefore && {playing}"
    try:
        prac.wait(playing, 30, "the family's camera on the practitioner's page")
    except AssertionError as e:
        sent = fam.js("({frames: window.__vigrelay?.sender?.framesSent, mime: window.__vigrelay?.sender?.mimeType})")
        raise AssertionError(f"{e}\nlive video: {live_video_state(prac)}; family sender: {sent}; console: {problems()}") from None
    # Smooth, not a picture now and then: within 3 s the video advances 2 s and shows 15 new frames.
    # Two cores run both browsers, the relay and the encoders: a window slowed by that is retried.
    sample = ("(() => { const v = document.getElementById('live-video'); "
              "return [v.currentTime, v.getVideoPlaybackQuality().totalVideoFrames, performance.now(), v.videoWidth]; })()")
    windows = []
    for _ in range(4):
        start = prac.js(sample)
        prac.wait(f"performance.now() > {start[2]} + 3000", 10, "3 s of live video")
        now = prac.js(sample)
        windows.append((round(now[0] - start[0], 2), now[1] - start[1]))
        if now[0] - start[0] > 2 and now[1] - start[1] >= 15 and now[3] > 0:
            return
    raise AssertionError(f"live video not smooth: (seconds of media, frames shown) in 3 s windows: {windows}; {live_video_state(prac)}")


# Where the picture on the practitioner's screen is on the running recording's timeline (ms).
ON_SCREEN = ("(Math.round(document.getElementById('live-video').currentTime * 1000) - "
             "window.__vigrelay.live.recordingStartMs)")


def mark_on_screen(prac) -> int:
    """Once 3 s of the recording are on the practitioner's screen, marks the moment shown (the
    recording starts at the first keyframe after Start, up to about 1 s later, or with the new stream
    a Firefox camera starts for it); returns its time on the recording's timeline."""
    try:
        prac.wait(f"window.__vigrelay.live.recordingStartMs !== null && {ON_SCREEN} > 3000", 25, "3 s of recording on screen")
    except AssertionError as e:
        start = prac.js("window.__vigrelay.live.recordingStartMs")
        raise AssertionError(f"{e}; recording start {start} ms, live player {live_video_state(prac)}") from None
    on_screen = prac.js(f"(() => {{ const ms = {ON_SCREEN}; document.getElementById('mark').click(); return ms; }})()")
    prac.wait("document.querySelectorAll('#marks li').length === 1", 10, "the mark on the timeline")
    return on_screen


def click_at(page, selector: str) -> float:
    """Clicks an enabled element; returns the page's clock (performance.now(), ms) at the click."""
    at = page.js(f"(() => {{ const e = document.querySelector({json.dumps(selector)}); "
                 "if (!e || e.disabled) return null; e.click(); return performance.now(); })()")
    assert at is not None, f"{page.name}: {selector} is missing or disabled"
    return at


def start_recording_after_keyframe(prac, fam) -> tuple[float, float]:
    """Starts recording just after a keyframe of the family's camera reached the practitioner's page:
    the worst moment, as the relay records from the next keyframe (Firefox makes one every 7-8 s).
    The family's indicator comes on. Returns the page's clock at the click and the live edge then
    (the newest camera time the page had, ms), both ms."""
    prac.wait("performance.now() - window.__vigrelay.live.keyframeAt < 300", 20, "a keyframe on the practitioner's page")
    at, edge = prac.js("(() => { const b = document.getElementById('live-video').buffered; "
                       "const edge = b.length ? b.end(b.length - 1) * 1000 : null; "
                       "document.getElementById('record-toggle').click(); return [performance.now(), edge]; })()")
    fam.wait("document.getElementById('recording-status').className === 'recording-on'", 10, "the family's recording indicator")
    return at, edge


def stop_recording_after_mark(prac, fam, on_screen: int) -> float:
    """Records 7 s past the mark (so the clip around it, 3 s before and 4 s after, ends before the
    recording does), then stops, and the family's indicator goes off. Returns the page's clock at
    the click (ms)."""
    prac.wait(f"{ON_SCREEN} > {on_screen} + 7000", 20, "7 s more of recording")
    at = click_at(prac, "#record-toggle")
    fam.wait("document.getElementById('recording-status').className === 'recording-off'", 15, "the indicator to go off")
    return at


def check_started_with_the_new_stream(prac) -> None:
    """For a camera that started a new stream at Start (a new recorder, whose clock starts again at
    its first keyframe): the recording starts less than 1.5 s of camera time into that stream, i.e.
    at its first keyframe, not a later one. Camera time, so the machine's delays do not count (the
    page's clock between Start and Stop did, and failed under load)."""
    start_ms = prac.js("window.__vigrelay.live.recordingStartMs")
    assert start_ms < 1500, f"the recording starts at {start_ms} ms of the camera's new stream: it started late"


def check_started_at_next_keyframe(prac, live_edge_ms: float) -> None:
    """The recording starts less than 1.5 s of camera time after the newest picture the practitioner's
    page had at Start (for a stream that went on through Start: same clock). Exact whatever the delays
    of the machine; a keyframe every second makes it at most about 1 s."""
    start_ms = prac.js("window.__vigrelay.live.recordingStartMs")
    assert start_ms - live_edge_ms < 1500, \
        f"the recording starts at {start_ms} ms of the camera's stream, {start_ms - live_edge_ms:.0f} ms after the picture shown at Start"


def check_recording(relay, prac, auth: dict, session_id: str, on_screen: int, path: Path) -> dict:
    """The session's one recording: complete, its mark where it was on screen, downloaded to `path`
    (`.webm`, or `.mp4` for a camera that records fragmented MP4: the type the relay must answer)
    starting at the keyframe cluster or fragment the page found, and decoded by ffmpeg. Returns the
    summary."""
    summary = relay.http("GET", f"/v1/sessions/{session_id}", headers=auth).json()
    rec = summary["recordings"][0]
    assert rec["state"] == "complete" and rec["durationMs"] > 5000, rec
    assert len(summary["marks"]) == 1 and abs(summary["marks"][0]["atMs"] - on_screen) <= 100, (summary["marks"], on_screen)
    media = relay.http("GET", f"/v1/sessions/{session_id}/recordings/{rec['recordingId']}", headers=auth, timeout=30)
    assert media.status == 200 and media.headers["content-type"] == f"video/{path.suffix[1:]}", (media.status, media.headers)
    path.write_bytes(media.body)
    # The practitioner's page found where the recording starts in the live stream (marks are placed
    # from the picture on screen): the same keyframe cluster (MP4: fragment) the relay started the file at.
    first_ms = first_fragment_ms(media.body) if path.suffix == ".mp4" else first_cluster_ms(media.body)
    page_ms = prac.js("window.__vigrelay.live.recordingStartMs")
    assert page_ms == first_ms, \
        f"the page placed the recording's start at {page_ms} ms of the camera's stream; the file starts at {first_ms} ms"
    errors = ffmpeg_errors(path, KNOWN_LIVE_RECORDING_NOTES)
    assert errors == "", f"ffmpeg on {path}: {errors}"
    return summary


def make_clip_from_mark(relay, prac, auth: dict, session_id: str, path: Path) -> str:
    """Makes the clip around the mark on the practitioner's page, downloads it to `path` (`.webm`, or
    `.mp4`: the type the relay must answer) and checks ffmpeg decodes it; returns its id."""
    # A mark's button is shown for a recording the page last read as running too; the clip editor
    # opens only once the page has read that it finished (it reads the session when told it stopped).
    prac.wait("!document.getElementById('clip-editor').disabled && ![...document.querySelectorAll('#recordings li')]"
              ".some((li) => / · recording\\b/.test(li.textContent))", 10, "the page to list the recording as finished")
    prac.wait("!!document.querySelector('#recordings button')", 10, "the mark's clip button")
    prac.click("#recordings button")
    prac.click("#make-clip")
    try:
        prac.wait("document.querySelectorAll('#clips li').length === 1", 20, "the clip in the list")
    except AssertionError as e:
        page = prac.js("({status: document.getElementById('clip-status').textContent, recording: document.getElementById('clip-recording').value, "
                       "from: document.getElementById('clip-from').value, to: document.getElementById('clip-to').value, "
                       "recordings: document.getElementById('recordings').textContent})")
        raise AssertionError(f"{e}\npractitioner's clip editor: {page}") from None
    clip_id = prac.js("document.querySelector('#clips li').dataset.clipId")
    clip = relay.http("GET", f"/v1/sessions/{session_id}/clips/{clip_id}", headers=auth, timeout=30)
    assert clip.status == 200 and clip.headers["content-type"] == f"video/{path.suffix[1:]}", (clip.status, clip.headers)
    path.write_bytes(clip.body)
    assert ffmpeg_errors(path, KNOWN_LIVE_RECORDING_NOTES) == ""
    return clip_id


def withdraw_and_check_deleted(relay, prac, fam, auth: dict, session_id: str, clip_id: str | None, suffix: str = "webm") -> None:
    """The family presses "stop and delete": both pages say the videos are deleted, the session's
    media (`*.webm`, or `*.mp4`) and index files are gone and its clip (if any) answers 404."""
    recordings_dir = relay.data_dir / "sessions" / session_id / "recordings"
    assert any(recordings_dir.glob(f"*.{suffix}"))
    fam.click("#withdraw")
    fam.wait("document.getElementById('withdraw-status').textContent.includes('deleted')", 15, "the deletion notice")
    prac.wait("document.getElementById('recording-status').textContent.includes('deleted')", 10, "the practitioner's notice")
    assert not any(recordings_dir.glob(f"*.{suffix}")) and not any(recordings_dir.glob("*.index"))
    if clip_id:
        assert relay.http("GET", f"/v1/sessions/{session_id}/clips/{clip_id}", headers=auth).status == 404


def catch_downloads(page) -> None:
    """From now on, each file the page offers for download (dom.js saveBlob: a blob URL, then a link's
    click) is kept in the page instead, in window.__downloads as {name, blob}: a headless browser
    saves nowhere a test reads, and the page's CSP lets nothing fetch the blob URL."""
    page.js("""(() => { window.__downloads = [];
        const make = URL.createObjectURL.bind(URL), blobs = new Map();
        URL.createObjectURL = (blob) => { const url = make(blob); blobs.set(url, blob); return url; };
        HTMLAnchorElement.prototype.click = function () { window.__downloads.push({ name: this.download, blob: blobs.get(this.href) }); };
        return true; })()""")


def downloaded(page, index: int, timeout: float, what: str) -> dict:
    """The `index`th file the page offered since `catch_downloads`, once it has: {name, size, sha256}."""
    page.wait(f"window.__downloads.length > {index}", timeout, what)
    return page.js(f"""(async () => {{ const d = window.__downloads[{index}];
        const bytes = await d.blob.arrayBuffer(), digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
        return {{ name: d.name, size: bytes.byteLength, sha256: [...digest].map((b) => b.toString(16).padStart(2, '0')).join('') }}; }})()""")


def page_width_on_phone(page, width: int = 390, height: int = 844) -> int:
    """How wide the page's content is (its scroll width, CSS px) on a phone screen `width` px wide
    (Chromium's device emulation, as cdp.Page.screenshot uses it): more than `width` scrolls sideways."""
    page.cmd("Emulation.setDeviceMetricsOverride", {"width": width, "height": height, "deviceScaleFactor": 2, "mobile": True})
    try:
        page.js("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))")
        return page.js("document.documentElement.scrollWidth")
    finally:
        page.cmd("Emulation.clearDeviceMetricsOverride")
