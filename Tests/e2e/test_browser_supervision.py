"""Supervisor access with consent, on the web pages in a real headless Chromium (Debian's package),
driven over the DevTools Protocol: the practitioner, the family and the supervisor each in their own
isolated browser context, with Chromium's fake camera.

The practitioner names their supervisor on a new session; the family agrees to recording and, with
its own box, to the supervisor watching; the practitioner's page says so. After a short recording,
the supervisor's page (the same practitioner page, with the supervisor's token) lists the session
under "Sessions you supervise" and downloads the recording: the bytes the practitioner gets. The
family then unticks the supervisor's box: the download is refused with the relay's message shown,
and the session leaves the supervisor's list; the practitioner keeps the recording."""

from __future__ import annotations

import hashlib
import json
import uuid

import pytest

from contrast import low_contrast
from vrtest import new_practitioner, wait_until
from webpages import (ON_SCREEN, catch_downloads, click_at, downloaded, join_as_family, page_width_on_phone, start_recording_after_keyframe,
                      unlabelled_controls, video_played, video_playing)

pytestmark = pytest.mark.timeout(300)


def set_value(page, element_id: str, value: str) -> None:
    page.js(f"document.getElementById({json.dumps(element_id)}).value = {json.dumps(value)}; true")


def session_log(relay, session_id: str, event: str) -> list[dict]:
    path = relay.data_dir / "sessions" / session_id / "session.jsonl"
    return [e for e in map(json.loads, path.read_text().splitlines()) if e["event"] == event]


def test_the_supervisor_watches_the_recordings_only_while_the_family_agrees(relay, chromium, shots):
    trainee, token = new_practitioner(relay, "trainee")
    sup, sup_token = new_practitioner(relay, "sup")
    case_ref = f"fam-{uuid.uuid4().hex[:6]}"
    auth = {"Authorization": f"Bearer {token}"}
    prac = chromium.new_page("practitioner")
    fam = chromium.new_page("family")

    # --- the practitioner names their supervisor on a new session
    prac.navigate(relay.base_url + "/")
    set_value(prac, "token", token)
    prac.click("#save-token")
    assert prac.js("document.getElementById('supervisor').value") == "", "no supervisor named before"
    set_value(prac, "case-ref", case_ref)
    set_value(prac, "cycle", "1")
    set_value(prac, "supervisor", sup)
    prac.click("#create-session")
    join_url = prac.wait("document.getElementById('invite-link').textContent", 15, "the invite link")
    relay.secrets_seen.add(join_url.split("invite=")[1])
    session_id = join_url.split("session=")[1].split("&")[0]
    prac.wait("document.getElementById('connection-status').textContent.includes('Connected')", 15, "the practitioner to connect")
    assert prac.js("localStorage.getItem('vigrelay.supervisor')") == sup, "kept for the next session"
    listed, = [e for e in relay.http("GET", "/v1/sessions", headers=auth).json()["sessions"] if e["sessionId"] == session_id]
    assert (listed["supervisor"], listed["supervisorMayView"]) == (sup, False), listed
    entry = f"document.querySelector('#sessions li[data-session-id=\"{session_id}\"]')"
    prac.wait(f"{entry}?.textContent.includes({json.dumps(f'supervisor {sup}: the family has not agreed')})", 10,
              "the supervisor in the session list")
    assert unlabelled_controls(prac) == [] and low_contrast(prac) == []

    # --- the family agrees to recording and to the supervisor watching, then joins
    fam.navigate(join_url)
    # Asked only where a supervisor is named: the link check says so as the page opens.
    fam.wait("!document.getElementById('supervisor-choice').hidden", 10, "the supervisor box for a supervised session")
    assert fam.text("label[for=consent-supervisor]") == \
        "My practitioner's supervisor may also watch the videos, to check and support their work."
    assert "untick" in fam.text("#supervisor-hint") and "only with your practitioner" in fam.text("#supervisor-hint")
    fam.click("#consent-supervisor")
    assert page_width_on_phone(fam) <= 390, "the family's page scrolls sideways on a phone"
    fam.screenshot(shots / "family-consent-supervisor-phone.png", 390, 844, mobile=True)
    assert unlabelled_controls(fam) == [] and low_contrast(fam) == []
    join_as_family(fam, consent=True)
    agreed = "The family agreed to recording, and your supervisor may watch the recordings."
    prac.wait(f"document.getElementById('consent-status').textContent === {json.dumps(agreed)}", 15, "the family's agreement")
    prac.wait(f"{entry}?.textContent.includes({json.dumps(f'supervisor {sup}: the family agreed they may watch')})", 10,
              "the agreement in the session list")

    # --- a short recording
    prac.wait(video_playing("#live-video"), 30, "the family's camera on the practitioner's page")
    start_recording_after_keyframe(prac, fam)
    prac.wait(f"window.__vigrelay.live.recordingStartMs !== null && {ON_SCREEN} > 4500", 25, "4.5 s of recording on screen")
    set_value(prac, "mark-note", "she waits for his turn")
    click_at(prac, "#mark")
    prac.wait("document.querySelectorAll('#marks li').length === 1", 10, "the mark on the timeline")
    assert prac.text("#marks li").startswith("Mark at ") and prac.text("#marks li").endswith(": she waits for his turn ✕"), \
        prac.text("#marks li")
    # A stray mark (the M key), removed at once from the list of marks: the supervisor never sees it.
    prac.js("document.body.dispatchEvent(new KeyboardEvent('keydown', {key: 'm', bubbles: true})); true")
    prac.wait("document.querySelectorAll('#marks li').length === 2", 10, "the stray mark on the timeline")
    prac.click("#marks li:nth-child(2) button[data-action=unmark]")
    prac.wait("document.querySelectorAll('#marks li').length === 1", 10, "the stray mark removed")
    assert [e["markId"] for e in session_log(relay, session_id, "mark_removed")] == \
        [e["markId"] for e in session_log(relay, session_id, "mark")][1:], "the relay removed the second mark"
    click_at(prac, "#record-toggle")
    fam.wait("document.getElementById('recording-status').className === 'recording-off'", 15, "the family's indicator off")

    def finished():
        recordings = relay.http("GET", f"/v1/sessions/{session_id}", headers=auth).json()["recordings"]
        return recordings[0] if len(recordings) == 1 and recordings[0]["state"] == "complete" else None
    rec = wait_until(finished, 15, "the recording to be complete")
    rid = rec["recordingId"]
    owner_copy = relay.http("GET", f"/v1/sessions/{session_id}/recordings/{rid}", headers=auth, timeout=30)
    assert owner_copy.status == 200 and len(owner_copy.body) > 10_000, owner_copy
    made = relay.http("POST", f"/v1/sessions/{session_id}/clips", headers=auth,
                      body=json.dumps({"recordingId": rid, "fromMs": 0, "toMs": 3500, "note": "turn-taking"}).encode())
    assert made.status == 201, made
    clip_id = made.json()["clipId"]

    # --- the supervisor's page lists the session and downloads the recording
    supervisor = chromium.new_page("supervisor")
    supervisor.navigate(relay.base_url + "/")
    set_value(supervisor, "token", sup_token)
    supervisor.click("#save-token")
    item = f"#supervised li[data-session-id=\"{session_id}\"]"
    supervisor.wait(f"document.querySelector({json.dumps(item)}) !== null", 10, "the session under Sessions you supervise")
    label = supervisor.text(f"{item} .session-label")
    assert label.startswith(f"{trainee} · {case_ref} · cycle 1 · filming · "), label
    assert supervisor.text(f"{item} .facts").startswith("1 recording ("), supervisor.text(f"{item} .facts")
    assert supervisor.text("#supervised-status") == "1 of 1 session."
    supervisor.wait("document.getElementById('sessions-status').textContent === 'No sessions yet.'", 10, "their own (empty) list")
    supervisor.click(f"{item} button[data-action=watch]")
    download = f"#supervised-recordings li[data-recording-id=\"{rid}\"] button[data-action=download]"
    supervisor.wait(f"document.querySelector({json.dumps(download)}) !== null", 10, "the recording's download button")
    assert supervisor.text("#supervised-view-label") == label
    # The moment the practitioner marked, with its note: what supervision looks at.
    mark = supervisor.text(f"#supervised-recordings li[data-recording-id=\"{rid}\"] .marks li")
    assert mark.startswith("Mark at ") and mark.endswith(": she waits for his turn"), mark
    catch_downloads(supervisor)
    supervisor.click(download)
    got = downloaded(supervisor, 0, 30, "the supervisor's download")
    assert got == {"name": f"recording-{rid}.webm", "size": len(owner_copy.body), "sha256": hashlib.sha256(owner_copy.body).hexdigest()}, \
        (got, len(owner_copy.body))
    logged = wait_until(lambda: session_log(relay, session_id, "supervisor_download"), 10, "the download in the session's log")
    assert [(e["supervisor"], e["recordingId"]) for e in logged] == [(sup, rid)], logged
    assert supervisor.js("document.getElementById('supervised-problem').hidden")
    # The practitioner's clip plays on the supervisor's page.
    play = f"#supervised-clips li[data-clip-id=\"{clip_id}\"] button.play-clip"
    assert supervisor.js("document.getElementById('supervised-video').hidden"), "no player before a clip is played"
    supervisor.click(play)
    supervisor.wait(video_played("#supervised-video"), 20, "the clip playing on the supervisor's page")
    assert supervisor.js("document.getElementById('supervised-problem').hidden")
    # And the recording itself, a minute at a time: each minute fetched from the first byte is logged.
    watch = f"#supervised-recordings li[data-recording-id=\"{rid}\"] button[data-action=watch-recording]"
    supervisor.click(watch)
    supervisor.wait("!document.getElementById('supervised-watch').hidden", 5, "the watch to open")
    assert supervisor.js("document.getElementById('supervised-video').hidden"), "the clip makes way for the recording"
    supervisor.wait("document.querySelector('#supervised-watch .watch-position').textContent !== ''", 20, "the first minute loaded")
    supervisor.js("document.querySelector('#supervised-watch video').play(); true")
    supervisor.wait(video_played("#supervised-watch video", 0.5), 20, "the recording playing on the supervisor's page")
    assert not supervisor.js("document.querySelector('#supervised-watch [data-edge]')"), "no clip editing for the supervisor"
    logged = wait_until(lambda: [e for e in session_log(relay, session_id, "supervisor_download") if "fromMs" in e], 10,
                        "the watched minute in the session's log")
    assert [(e["supervisor"], e["recordingId"], e["fromMs"], e["toMs"]) for e in logged] == [(sup, rid, 0, 60_000)], logged
    supervisor.screenshot(shots / "supervisor-sessions.png", 1280, 900)
    supervisor.screenshot(shots / "supervisor-sessions-phone.png", 390, 844, mobile=True)
    assert page_width_on_phone(supervisor) <= 390, "the supervisor's page scrolls sideways on a phone"
    assert unlabelled_controls(supervisor) == [] and low_contrast(supervisor) == []

    # --- the family takes the supervisor's access back: the recording stays with the practitioner
    fam.click("#consent-supervisor")
    prac.wait("document.getElementById('consent-status').textContent === 'The family agreed to recording.'", 15,
              "the practitioner told the supervisor may no longer watch")
    assert fam.js("document.getElementById('consent-recording').checked && !document.getElementById('consent-supervisor').checked")
    assert fam.js("document.getElementById('withdraw-status').hidden"), "taking the supervisor's access back deletes nothing"
    supervisor.click(download)
    supervisor.wait("!document.getElementById('supervised-problem').hidden", 10, "the refusal on the supervisor's page")
    problem = supervisor.text("#supervised-problem")
    assert problem.startswith("Could not download: the family has not agreed that the practitioner's supervisor may watch"), problem
    assert supervisor.js("window.__downloads.length") == 1, "nothing more was offered"
    supervisor.click(play)
    supervisor.wait("document.getElementById('supervised-problem').textContent.startsWith('Could not play the clip: the family has not agreed')",
                    10, "the refused clip on the supervisor's page")
    assert supervisor.js("document.getElementById('supervised-video').hidden"), "the clip played before is gone from the page"
    supervisor.click(watch)
    supervisor.wait("document.getElementById('supervised-problem').textContent.startsWith('Could not watch the recording: the family has not agreed')",
                    10, "the refused recording on the supervisor's page")
    assert supervisor.js("document.getElementById('supervised-watch').hidden"), "nothing of the recording stays on the page"
    supervisor.screenshot(shots / "supervisor-refused.png", 1280, 900)
    assert low_contrast(supervisor) == []
    supervisor.click("#refresh-supervised")
    supervisor.wait("document.getElementById('supervised-status').textContent === 'No sessions for you to watch now.' && "
                    "document.getElementById('supervised').children.length === 0", 10, "the supervisor's list to empty")
    assert supervisor.js("document.getElementById('supervised-view').hidden"), "the session's recordings are gone from the page"
    assert supervisor.text("#supervised-problem").startswith("The session you were watching is no longer in your list")
    assert relay.http("GET", f"/v1/sessions/{session_id}/recordings/{rid}", headers=auth, timeout=30).body == owner_copy.body
    prac.click("#refresh-sessions")
    prac.wait(f"{entry}?.textContent.includes({json.dumps(f'supervisor {sup}: the family has not agreed')})", 10,
              "the session list to say the family no longer agrees")

    # --- the trainee's cycle log, for their supervisor: no video, so also now the family took it back
    set_value(supervisor, "trainee", trainee)
    supervisor.click("#trainee-cycles-form button[type=submit]")
    supervisor.wait("!document.getElementById('trainee-cycles').hidden", 10, "the trainee's cycle log")
    assert supervisor.text("#trainee-cycles tbody td") == case_ref
    status = supervisor.text("#trainee-cycles-status")
    assert status.startswith(f"{trainee}: 0 complete cycles (filming and shared review held)"), status
    set_value(supervisor, "trainee", "someone-else")
    supervisor.click("#trainee-cycles-form button[type=submit]")
    supervisor.wait("document.getElementById('trainee-cycles-status').textContent === "
                    "'No sessions of someone-else name you as their supervisor.'", 10, "an empty log for anyone else")
    assert supervisor.js("document.getElementById('trainee-cycles').hidden")

    # --- the labels editor shows the supervisor, and says what the relay refuses
    prac.click(f"#sessions li[data-session-id=\"{session_id}\"] button[data-action=labels]")
    assert prac.js("document.getElementById('labels-supervisor').value") == sup
    set_value(prac, "labels-supervisor", trainee)
    prac.click("#labels-save")
    prac.wait("document.getElementById('labels-status').textContent.startsWith('Could not save the labels: supervisor must be another')",
              10, "the relay's refusal of the practitioner as their own supervisor")
    # No supervisor named any more, during the call: the family's page stops asking at once; one
    # named again, it asks again.
    for named, hidden in (("", "true"), (sup, "false")):
        set_value(prac, "labels-supervisor", named)
        prac.click("#labels-save")
        prac.wait("document.getElementById('labels-status').textContent === 'Labels saved.'", 10, f"the labels saved ({named!r})")
        fam.wait(f"document.getElementById('supervisor-choice').hidden === {hidden}", 10, f"the family's supervisor box hidden: {hidden}")
    assert not fam.js("document.getElementById('consent-supervisor').checked"), "asked again, not agreed for them"
    prac.click("#labels-cancel")
    # The next session's form starts with the supervisor named last.
    prac.navigate(relay.base_url + "/")
    assert prac.js("document.getElementById('supervisor').value") == sup

    # The refused download (403) is logged by the browser: an answer, not a fault.
    problems = [p for p in chromium.console_problems() if "favicon" not in p and "403" not in p and "400" not in p]
    assert not problems, f"console errors: {problems}"
