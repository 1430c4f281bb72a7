"""Watching a recording on the practitioner's page, to choose clips by watching the film: in a real
headless Chromium (Debian's package, over the DevTools Protocol) and Firefox (firefox-esr, over
WebDriver BiDi), whose Media Source Extensions take WebM differently.

A 70 s WebM (ffmpeg's test picture, a keyframe every second) is recorded through the relay by the
protocol's own clients, with a mark at 65 s. The practitioner opens the session on the page and
watches the recording: a minute at a time (excerpts the relay cuts and keeps nowhere), the next
minute loading when one ends, the mark taking the player to just before it. "Clip starts here" and
"Clip ends here" fill the clip editor from where the picture is, and the clip made from them is the
span watched; "Mark here" marks the moment on screen, and the mark is removed again from the
recording's list. When the recordings are deleted, the watch closes and nothing of them stays."""

from __future__ import annotations

import json

import pytest

from contrast import low_contrast
from test_recording_http import _make_webm, record
from vrtest import bearer, wait_until
from webpages import open_from_list, page_width_on_phone, unlabelled_controls, video_played

pytestmark = pytest.mark.timeout(300)

POSITION = "document.querySelector('#watch .watch-position').textContent"
# Where the picture is on the recording's timeline, as the page works it out (ms), or null.
AT = ("(() => { const t = document.querySelector('#watch .watch-position').textContent.split(' of ')[0]; "
      "if (!t) return null; const [m, s] = t.split(':'); return Math.round((Number(m) * 60 + Number(s)) * 1000); })()")


@pytest.fixture(scope="module")
def webm70(tmp_path_factory) -> bytes:
    return _make_webm(tmp_path_factory.mktemp("webm") / "t70.webm", 70, "64x48")


@pytest.mark.parametrize("browser_name", ["chromium", "firefox"])
def test_the_practitioner_watches_a_recording_a_minute_at_a_time_and_clips_from_it(relay, request, browser_name, webm70, shots):
    browser = request.getfixturevalue(browser_name)
    rec = record(relay, webm70, size=8192)
    sid, rid, token = rec["sid"], rec["rid"], rec["token"]
    duration = rec["stopped"]["durationMs"]
    assert duration >= 69_000, rec["stopped"]
    rec["p"].send_json({"type": "mark", "recordingId": rid, "atMs": 65_500, "note": "she laughs"})
    assert rec["p"].recv_json().get("type") == "marked"
    rec["p"].close()
    rec["f"].close()

    prac = browser.new_page(f"practitioner ({browser_name})")
    prac.navigate(relay.base_url + "/")
    prac.js(f"document.getElementById('token').value = {json.dumps(token)}; document.getElementById('save-token').click(); true")
    open_from_list(prac, sid)
    watch_button = f"#recordings li[data-recording-id=\"{rid}\"] button[data-action=watch-recording]"
    prac.wait(f"document.querySelector({json.dumps(watch_button)}) !== null", 15, "the recording's watch button")
    assert prac.js("document.getElementById('watch').hidden")

    # --- the first minute, from the start
    prac.click(watch_button)
    prac.wait("!document.getElementById('watch').hidden", 5, "the watch to open")
    assert prac.text("#watch h3").startswith(f"Watching recording {rid[:6]} (1:09.")
    # It plays at once; the test presses play as well, once the minute is there (where autoplay is refused).
    prac.wait(f"{AT} !== null", 20, "the first minute loaded")
    prac.js("document.querySelector('#watch video').play(); true")
    prac.wait(video_played("#watch video", 1.0), 20, "the first minute playing")
    assert 0 <= prac.js(AT) < 60_000, prac.js(POSITION)
    assert prac.js("document.querySelector('#watch .watch-bar button').disabled"), "nothing before the first minute"

    # --- the minute ends: the next one loads and plays on from where it stopped
    prac.js("(() => { const v = document.querySelector('#watch video'); v.currentTime = v.buffered.end(0) - 0.4; v.play(); return true; })()")
    earlier = "document.querySelector('#watch .watch-bar button')"
    prac.wait(f"!{earlier}.disabled && {AT} >= 60500", 20, "the next minute playing on")
    prac.wait(video_played("#watch video", 0.5), 20, "pictures from the second minute")
    later = "[...document.querySelectorAll('#watch .watch-bar button')].find((b) => b.textContent.startsWith('Minute after'))"
    assert prac.js(f"{later}.disabled"), "the second minute runs to the recording's end"

    # --- the mark plays from 3 s before it
    mark = prac.js("[...document.querySelectorAll('#watch .watch-marks button')].map((b) => b.textContent)")
    assert mark == ["mark 1:05.5: she laughs"], mark
    prac.js("document.querySelector('#watch .watch-marks button').click(); true")
    prac.wait(f"{AT} >= 62400 && {AT} < 65500 && !document.querySelector('#watch video').paused", 20, "playing from 3 s before the mark")
    prac.js("document.querySelector('#watch video').pause(); true")
    # --- the slider picks a moment between keyframes: the excerpt starts at the keyframe before, and
    # the player shows the moment itself; the clip is chosen by watching
    prac.js("(() => { const s = document.querySelector('#watch input[type=range]'); s.value = '62500'; "
            "s.dispatchEvent(new Event('change')); return true; })()")
    prac.wait(f"document.querySelector('#watch [role=status]').textContent === '' && Math.abs({AT} - 62500) <= 100", 20,
              "the picture at 1:02.5")
    assert prac.js("document.querySelector('#watch video').paused"), "the slider shows the moment; it does not play"
    prac.click("#watch button[data-edge=from]")
    start = float(prac.js("document.getElementById('clip-from').value"))
    assert 62.4 <= start <= 62.6, start
    assert prac.js("document.getElementById('clip-recording').value") == rid
    assert prac.text("#clip-status").startswith("Clip starts at 1:0")
    prac.js("(() => { const v = document.querySelector('#watch video'); v.currentTime += 5; return true; })()")
    prac.wait(f"Math.abs({AT} - {round(start * 1000) + 5000}) <= 150", 10, "five seconds on")
    prac.click("#watch button[data-edge=to]")
    end = float(prac.js("document.getElementById('clip-to').value"))
    assert 4.8 <= end - start <= 5.2, (start, end)
    # --- marking while watching, as while filming: the mark is the relay's, with its note
    at = prac.js(AT)
    prac.js("(() => { const n = document.querySelector('#watch input[type=text]'); n.value = 'he hands her the cup'; return true; })()")
    prac.click("#watch button[data-action=mark-here]")
    prac.wait("[...document.querySelectorAll('#watch .watch-marks button')].length === 2", 15, "the new mark in the watch")
    marks = relay.http("GET", f"/v1/sessions/{sid}", headers=bearer(token)).json()["marks"]
    assert sorted((m["atMs"], m.get("note")) for m in marks) == [(65_500, "she laughs"), (at, "he hands her the cup")], (marks, at)
    assert prac.js("document.querySelector('#watch input[type=text]').value") == ""
    prac.screenshot(shots / f"{browser_name}-practitioner-watch.png", 1280, 900)
    prac.screenshot(shots / f"{browser_name}-practitioner-watch-phone.png", 390, 844, mobile=True)
    if browser_name == "chromium":  # device emulation is Chromium's
        assert page_width_on_phone(prac) <= 390, "the watch scrolls sideways on a phone"
    assert unlabelled_controls(prac) == [] and low_contrast(prac) == []
    prac.click("#make-clip")
    prac.wait("document.getElementById('clip-status').textContent.startsWith('Clip made')", 15, "the clip")
    clip, = relay.http("GET", f"/v1/sessions/{sid}", headers=bearer(token)).json()["clips"]
    assert (clip["fromMs"], clip["toMs"]) == (round(start * 1000), round(end * 1000)), clip
    assert clip["actualFromMs"] <= clip["fromMs"] and clip["actualToMs"] >= clip["toMs"]

    # --- the mark made while watching, removed again from the recording's list: gone from the relay and the watch
    removals = "[...document.querySelectorAll('#recordings button[data-action=unmark]')]"
    assert prac.js(f"{removals}.length") == 2
    prac.js(f"{removals}.find((b) => !b.getAttribute('aria-label').endsWith('1:05.5')).click(); true")
    prac.wait(f"{removals}.length === 1 && [...document.querySelectorAll('#watch .watch-marks button')].length === 1", 15,
              "the mark removed from the list and the watch")
    marks = relay.http("GET", f"/v1/sessions/{sid}", headers=bearer(token)).json()["marks"]
    assert [(m["atMs"], m.get("note")) for m in marks] == [(65_500, "she laughs")], marks
    assert prac.js(f"{removals}[0].getAttribute('aria-label')") == "Remove the mark at 1:05.5"

    # --- the minute before; then the recordings are deleted: the watch closes, nothing of them stays
    prac.js("[...document.querySelectorAll('#watch .watch-bar button')][0].click(); true")
    prac.wait(f"{AT} !== null && {AT} < 60000", 20, "the minute before")
    r = relay.http("DELETE", f"/v1/sessions/{sid}/recordings", headers=bearer(token))
    assert r.status == 200, r
    prac.wait("document.getElementById('watch').hidden", 15, "the watch closed once the recordings were deleted")
    assert prac.js("document.querySelector('#watch video').getAttribute('src')") is None
    assert wait_until(lambda: not prac.js(f"document.querySelector({json.dumps(watch_button)})"), 15, "no watch button left")
    problems = [p for p in browser.console_problems() if "favicon" not in p]
    assert not problems, f"console errors: {problems}"
