// The shared review of a case: the clips cut in the case's other sessions, to show to the family.
// A filming and its shared review are two sessions (the cycle log counts each); the clips are cut
// from the filming's recordings, so the review session's page offers them from there. A case is the
// practitioner's case reference (`caseRef`), as for the cycle log and retention.
import * as api from "./api.js";
import { clipButton, clipItem } from "./recordings.js";
import { sessionLabel } from "./sessions.js";
import { $, el, show } from "./dom.js";

/** Most sessions looked through for the case (the newest first, as the session list gives them). */
const CASE_SESSIONS = 200;

/**
 * Lists under the shared review the clips of the open session's case from its other sessions, each
 * with "preview" and "show to family", which `onPreview(sessionId, clip, toFamily)` does, then what
 * `more(sessionId, clip)` adds (a list of nodes: giving the family a copy). Reads only the
 * practitioner's own sessions (their token); a supervisor's view is elsewhere.
 */
export class CaseClips {
  constructor(onPreview, more = () => []) {
    this.onPreview = onPreview;
    this.more = more;
    this.reads = 0;
    /** What the last read found: [{session, summary}]. */
    this.found = [];
  }

  /** Shows the clips of `caseRef`'s sessions other than `sessionId` (none without a case reference). */
  async show(sessionId, caseRef) {
    const read = ++this.reads;
    this.clear();
    // Which session the list was last read for (automated checks wait for it).
    const done = () => { $("case-clips").dataset.sessionId = sessionId; };
    if (!caseRef) return done();
    let found = [];
    try {
      const page = await api.listSessions({ limit: CASE_SESSIONS });
      const others = page.sessions.filter((s) => s.caseRef === caseRef && s.sessionId !== sessionId && s.clipCount > 0);
      found = await Promise.all(others.map(async (s) => ({ session: s, summary: await api.sessionSummary(s.sessionId) })));
    } catch (error) {
      if (read !== this.reads) return;
      $("case-clips-status").textContent = `Could not read the clips of case ${caseRef}: ${error.message}`;
      show($("case-clips-box"));
      return done();
    }
    if (read !== this.reads) return;  // another session opened meanwhile
    this.found = found;
    $("case-clips-status").textContent = `Clips cut in your other sessions of case ${caseRef}, newest session first.`;
    this.redraw();
    done();
  }

  /** Draws what the last read found again (what `more` adds may have changed). */
  redraw() {
    const items = this.found.flatMap(({ session, summary }) => summary.clips.map((clip) => this.item(session, clip)));
    $("case-clips").replaceChildren(...items);
    show($("case-clips-box"), items.length > 0);
  }

  /** "fam-042 · cycle 1 · 25 Nov 2026, 10:00: 0:03.0–0:08.0 note [preview] [show to family]". */
  item(session, clip) {
    const item = clipItem(clip);
    item.prepend(el("span", { className: "from-session" }, `${sessionLabel(session)}: `));
    item.dataset.sessionId = session.sessionId;
    const preview = clipButton(clip, "preview-case-clip", "preview");
    preview.addEventListener("click", () => this.onPreview(session.sessionId, clip, false));
    const showIt = clipButton(clip, "show-case-clip", "show to family");
    showIt.addEventListener("click", () => this.onPreview(session.sessionId, clip, true));
    item.append(preview, " ", showIt);
    for (const node of this.more(session.sessionId, clip)) item.append(" ", node);
    return item;
  }

  clear() {
    this.found = [];
    $("case-clips").replaceChildren();
    delete $("case-clips").dataset.sessionId;
    $("case-clips-status").textContent = "";
    show($("case-clips-box"), false);
  }
}
