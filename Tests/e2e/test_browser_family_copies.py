"""Copies of clips for the family, in real Chromium pages against a relay started with
`--family-copies` (the family's page also in Firefox): the practitioner gives a clip from the session's clip list, the family's page
(opened with its link, before or without joining the call) lists it, plays it and saves exactly the
clip's bytes; in the call, the family's list follows the practitioner taking it back and giving it again.
A relay without the option offers none of it."""

from __future__ import annotations

import hashlib
import json

import pytest

from contrast import low_contrast
from test_family_copies import filmed
from vrtest import bearer
from webpages import catch_downloads, downloaded, join_as_family, open_from_list, unlabelled_controls, video_played

pytestmark = pytest.mark.timeout(300)


def open_as_practitioner(prac, relay, token: str, session_id: str) -> None:
    """The practitioner saves their token and opens the session from their list."""
    prac.navigate(relay.base_url + "/")
    prac.js(f"document.getElementById('token').value = {json.dumps(token)}; document.getElementById('save-token').click(); true")
    open_from_list(prac, session_id)
    prac.wait("document.getElementById('connection-status').textContent.includes('Connected')", 15, "the practitioner to connect")


def family_copies_shown(fam) -> str:
    return "(() => { const box = document.getElementById('copies-box'); return !box.hidden && document.querySelectorAll('#copies li').length; })()"


def test_the_family_saves_on_its_page_the_clip_its_practitioner_gave(relay_factory, chromium, shots):
    relay = relay_factory(["--family-copies"])
    s = filmed(relay)
    s["p"].close()
    s["f"].close()
    clip = relay.http("GET", f"/v1/sessions/{s['sid']}/clips/{s['clip']}", headers=bearer(s["token"])).body
    join_url = f"{relay.base_url}/join#session={s['sid']}&invite={s['invite']}"

    prac = chromium.new_page("practitioner")
    open_as_practitioner(prac, relay, s["token"], s["sid"])
    give = f"#clips li[data-clip-id='{s['clip']}'] button.give-clip"
    prac.wait(f"document.querySelector(\"{give}\") !== null", 15, "the clip's 'give to the family' button")
    prac.click(give)
    prac.wait(f"document.querySelector(\"#clips li[data-clip-id='{s['clip']}'] button.take-back-clip\") !== null", 15,
              "the clip shown as given, with 'take back'")
    assert "given to the family" in prac.text(f"#clips li[data-clip-id='{s['clip']}']")
    assert "can now save the clip" in prac.text("#clip-status")

    # The family opens its link after the call: the clip is there to save, without joining.
    fam = chromium.new_page("family")
    fam.navigate(join_url)
    fam.wait(family_copies_shown(fam), 15, "the family's clips to keep")
    assert fam.text("#copies li").startswith("Clip 1 · 4 seconds") or fam.text("#copies li").startswith("Clip 1 · 3 seconds"), fam.text("#copies li")
    assert [label.split(" (")[0] for label in fam.js("[...document.querySelectorAll('#copies button')].map((b) => b.getAttribute('aria-label'))")] \
        == ["Watch clip 1", "Save clip 1"]
    assert unlabelled_controls(fam) == [] and unlabelled_controls(prac) == []
    assert low_contrast(fam) == [] and low_contrast(prac) == []
    fam.screenshot(shots / "family-copies-phone.png", 390, 844, mobile=True)
    # The family watches it on the page before saving it.
    fam.click("#copies button[aria-label^='Watch clip 1']")
    fam.wait(video_played("#copy-video", 0.3), 15, "the clip to play on the family's page")
    catch_downloads(fam)
    fam.click("#copies button[aria-label^='Save clip 1']")
    saved = downloaded(fam, 0, 15, "the saved clip")
    assert saved == {"name": "clip-1.webm", "size": len(clip), "sha256": hashlib.sha256(clip).hexdigest()}
    fam.wait("document.getElementById('copies-status').textContent.includes('is saved')", 5, "the saved notice")
    prac.wait(f"document.querySelector(\"#clips li[data-clip-id='{s['clip']}']\").textContent.includes('given to the family, who fetched it')",
              15, "the practitioner's page to say the family fetched it")

    # In the call, the family's list follows the practitioner at once.
    join_as_family(fam, consent=False)
    prac.click(f"#clips li[data-clip-id='{s['clip']}'] button.take-back-clip")
    fam.wait("document.getElementById('copies-box').hidden", 15, "the clip taken back from the family's list")
    assert fam.js("document.getElementById('copy-video').hidden"), "nothing of a clip taken back stays on the page"
    prac.wait(f"document.querySelector(\"{give}\") !== null", 15, "the clip offered to give again")
    prac.click(give)
    fam.wait(family_copies_shown(fam), 15, "the clip given again, on the family's page in the call")


def test_a_relay_without_family_copies_offers_none(relay, chromium):
    s = filmed(relay)
    s["p"].close()
    s["f"].close()
    prac = chromium.new_page("practitioner")
    open_as_practitioner(prac, relay, s["token"], s["sid"])
    prac.wait(f"document.querySelector(\"#clips li[data-clip-id='{s['clip']}'] button.download-clip\") !== null", 15, "the clip in the list")
    assert prac.js("document.querySelectorAll('#clips button.give-clip, #clips button.take-back-clip').length") == 0
    fam = chromium.new_page("family")
    # The link check as the page opens says the relay gives no copies: the page never asks for them.
    fam.add_init_script("""window.__asked = []; const plain = window.fetch.bind(window);
        window.fetch = async (url, options) => { const r = await plain(url, options); window.__asked.push(String(url)); return r; };""")
    fam.navigate(f"{relay.base_url}/join#session={s['sid']}&invite={s['invite']}")
    fam.wait("window.__asked.some((url) => url.includes('/invite'))", 15, "the family's page checking its link")
    join_as_family(fam, consent=False)
    assert fam.js("document.getElementById('copies-box').hidden") is True
    assert not fam.js("window.__asked.filter((url) => url.includes('family-copies'))"), "no copies asked of a relay that gives none"


def test_a_family_in_firefox_watches_and_saves_its_copy(relay_factory, firefox):
    relay = relay_factory(["--family-copies"])
    s = filmed(relay)
    s["p"].close()
    s["f"].close()
    assert relay.http("PUT", f"/v1/sessions/{s['sid']}/family-copies/{s['clip']}", headers=bearer(s["token"])).status == 200
    clip = relay.http("GET", f"/v1/sessions/{s['sid']}/clips/{s['clip']}", headers=bearer(s["token"])).body
    fam = firefox.new_page("family (firefox)")
    fam.navigate(f"{relay.base_url}/join#session={s['sid']}&invite={s['invite']}")
    fam.wait(family_copies_shown(fam), 15, "the family's clips to keep")
    fam.click("#copies button[aria-label^='Watch clip 1']")
    fam.wait(video_played("#copy-video", 0.3), 15, "the clip to play in Firefox")
    catch_downloads(fam)
    fam.click("#copies button[aria-label^='Save clip 1']")
    assert downloaded(fam, 0, 15, "the saved clip") == {"name": "clip-1.webm", "size": len(clip), "sha256": hashlib.sha256(clip).hexdigest()}
    assert unlabelled_controls(fam) == [] and low_contrast(fam) == [], "as Firefox renders the family's page"
