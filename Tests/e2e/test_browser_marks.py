"""A mark's and a clip's note changed on the practitioner's page, in real Chromium against the relay:
"note" on a mark in the recording's line opens the editor with the note, Save sends `note`, and once
the relay answers `noted` the summary (and so every view of the mark) has the new note; "note" on a
clip does the same over HTTP (PATCH)."""

from __future__ import annotations

import json

import pytest

from test_browser_family_copies import open_as_practitioner
from test_marks import mark, recorded, summary_marks
from vrtest import bearer
from webpages import unlabelled_controls

pytestmark = pytest.mark.timeout(180)


def test_the_practitioner_puts_a_marks_and_a_clips_note_right_on_the_page(relay, chromium):
    r = recorded(relay)
    first = mark(r["p"], r["rid"], 1200, "she hands him teh block")
    r["p"].close()
    r["f"].close()
    token = relay.token("alice")
    prac = chromium.new_page("practitioner")
    open_as_practitioner(prac, relay, token, r["sid"])
    button = f"#recordings li[data-recording-id='{r['rid']}'] button[data-action=note]"
    prac.wait(f"document.querySelector(\"{button}\") !== null", 15, "the mark's note button")
    assert prac.js(f"document.querySelector(\"{button}\").getAttribute('aria-label')") == "Change the note of the mark at 0:01.2"
    prac.click(button)
    assert prac.js("!document.getElementById('note-editor').hidden && document.activeElement.id === 'note-text'")
    assert prac.js("document.getElementById('note-text').value") == "she hands him teh block"
    assert prac.text("#note-label") == "Note for the mark at 0:01.2"
    assert unlabelled_controls(prac) == []
    prac.js("document.getElementById('note-text').value = 'she hands him the block'; true")
    prac.click("#note-save")
    prac.wait("document.getElementById('clip-status').textContent === 'Note saved.' && document.getElementById('note-editor').hidden",
              15, "the relay's answer")
    assert [(m["markId"], m["note"]) for m in summary_marks(relay, r["sid"])] == [(first, "she hands him the block")]
    prac.wait(f"document.querySelector(\"{button}\").title === 'she hands him the block'", 15, "the mark's line read again")

    # A clip's note, the same way (over HTTP).
    made = relay.http("POST", f"/v1/sessions/{r['sid']}/clips", headers=bearer(token),
                      body=json.dumps({"recordingId": r["rid"], "fromMs": 0, "toMs": 3500, "note": "turn-takign"}).encode())
    assert made.status == 201, made
    prac.click("#refresh-summary")
    clip_note = f"#clips li[data-clip-id='{made.json()['clipId']}'] button[data-action=note]"
    prac.wait(f"document.querySelector(\"{clip_note}\") !== null", 15, "the clip's note button")
    prac.click(clip_note)
    assert prac.js("document.getElementById('note-text').value") == "turn-takign"
    assert prac.text("#note-label").startswith("Note for the clip ")
    prac.js("document.getElementById('note-text').value = 'turn-taking'; true")
    prac.click("#note-save")
    prac.wait("document.getElementById('note-editor').hidden && document.getElementById('clip-status').textContent === 'Note saved.'",
              15, "the clip's note saved")
    clips = relay.http("GET", f"/v1/sessions/{r['sid']}", headers=bearer(token)).json()["clips"]
    assert [c["note"] for c in clips] == ["turn-taking"]

