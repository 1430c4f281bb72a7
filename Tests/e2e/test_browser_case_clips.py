"""The shared review in a session of its own, in real Chromium pages: a filming and its shared review
are two sessions of a case (the cycle log counts each), and the clips are cut in the filming. The
practitioner's page, in the review session, lists the clips of the case's other sessions and plays
one to the family in step, as it does the open session's own clips, and gives the review's family a
copy to keep. Sessions of another case, or without a case reference, list none."""

from __future__ import annotations

import hashlib
import json
import uuid

import pytest

from test_browser_family_copies import open_as_practitioner
from test_family_copies import filmed
from vrtest import bearer
from webpages import catch_downloads, downloaded, join_as_family, unlabelled_controls, video_played

pytestmark = pytest.mark.timeout(300)


def test_a_review_session_shows_the_family_the_clips_cut_in_its_filming(relay_factory, chromium):
    relay = relay_factory(["--family-copies"])
    pid, case = f"cc-{uuid.uuid4().hex[:8]}", f"fam-{uuid.uuid4().hex[:6]}"
    filming = filmed(relay, pid, {"caseRef": case, "cycle": 1, "purpose": "filming"})
    filming["p"].close()
    filming["f"].close()
    token = filming["token"]
    review = relay.create_session(token, {"caseRef": case, "cycle": 1, "purpose": "review"})
    other_case = relay.create_session(token, {"caseRef": "another-case", "cycle": 1, "purpose": "review"})
    unlabelled = relay.create_session(token)

    prac = chromium.new_page("practitioner")
    open_as_practitioner(prac, relay, token, review["sessionId"])
    item = f"#case-clips li[data-clip-id='{filming['clip']}']"
    prac.wait(f"document.querySelector(\"{item}\") !== null && !document.getElementById('case-clips-box').hidden", 15,
              "the filming's clip under the shared review")
    assert prac.js(f"document.querySelector(\"{item}\").dataset.sessionId") == filming["sid"]
    text = prac.text(item)
    assert text.startswith(f"{case} · cycle 1") and "she waits for his turn" in text, text
    assert prac.js("document.querySelectorAll('#case-clips li').length") == 1
    assert unlabelled_controls(prac) == []

    fam = chromium.new_page("family")
    join_as_family(fam, review["joinUrl"], consent=False)
    prac.wait("window.__vigrelay.state.familyPresent", 15, "the family in the review")
    prac.click(f"{item} .show-case-clip")
    prac.wait("document.getElementById('review-status').textContent.includes('The family sees this clip')", 15, "the clip shown")
    fam.wait("!document.getElementById('shared-box').hidden && document.getElementById('shared-screen').readyState >= 1",
             15, "the filming's clip on the family's page")
    prac.js("document.getElementById('review-video').play().then(() => true)")
    fam.wait(video_played("#shared-screen", 0.3), 15, "the clip to play on the family's page")

    # The review's family may keep it: given from the case's list, it is under "Clips to keep" on
    # the family's page in the review, and saved exactly.
    prac.click(f"{item} .give-clip")
    prac.wait(f"document.querySelector(\"{item} .take-back-clip\") !== null", 15, "the case clip shown as given")
    assert "given to the family" in prac.text(item) and "can now save the clip" in prac.text("#review-status")
    fam.wait("!document.getElementById('copies-box').hidden && document.querySelectorAll('#copies li').length === 1", 15,
             "the filming's clip to keep, on the review's family page")
    clip = relay.http("GET", f"/v1/sessions/{filming['sid']}/clips/{filming['clip']}", headers=bearer(token)).body
    catch_downloads(fam)
    fam.click("#copies button[aria-label^='Save clip 1']")
    assert downloaded(fam, 0, 15, "the saved clip") == {"name": "clip-1.webm", "size": len(clip), "sha256": hashlib.sha256(clip).hexdigest()}

    # Another case's session, and one without a case reference, list nothing of this case.
    for other in (other_case, unlabelled):
        prac.click(f"#sessions li[data-session-id=\"{other['sessionId']}\"] button[data-action=open]")
        prac.wait(f"document.getElementById('case-clips').dataset.sessionId === {json.dumps(other['sessionId'])}", 15,
                  "the other session's case clips read")
        assert prac.js("document.getElementById('case-clips-box').hidden && document.querySelectorAll('#case-clips li').length === 0")
