// Watching a recording on the practitioner's page, a minute at a time: each minute is an excerpt
// (the recording's URL with ?fromMs=&toMs=, cut at keyframes by the relay, saved nowhere) played
// through Media Source Extensions like a clip. The whole file could be too big for a browser's
// player, and a browser's own file player may not seek in a recorded WebM. When a minute ends the
// next one loads and plays on. Only one minute of the family's video is held by the page at a time,
// and none once the watch is closed.
import * as api from "./api.js";
import { formatSeconds, markText } from "./clips.js";
import { el, show } from "./dom.js";
import { MsePlayer } from "./player.js";

/** How much of the recording one excerpt holds: the relay's longest (ClipPlan.defaultMaxSpanMs). */
const MINUTE_MS = 60_000;

/**
 * One recording being watched, drawn into `root` (an empty element). `clipEdge(recordingId, edge,
 * ms)`, when given, adds "Clip starts here" and "Clip ends here", with `edge` "from" or "to" and
 * `ms` where the picture is on the recording's timeline. `mark(recordingId, ms, note)`, when given,
 * adds "Mark here" with a note, and answers whether the mark went out (the page then shows it with
 * `showMarks` once the relay has it, or its refusal with `say`). `onRefused(error)` hears a refusal
 * (the family took its agreement back, the videos were deleted): the watch is closed by then.
 */
export class RecordingWatch {
  constructor(root, { label, clipEdge = null, mark = null, onRefused = null } = {}) {
    this.root = root;
    this.onRefused = onRefused;
    this.title = el("h3", { tabIndex: -1 });
    this.video = el("video", { controls: true, playsInline: true });
    this.video.setAttribute("aria-label", label);
    this.player = new MsePlayer(this.video, { live: false });
    this.earlier = el("button", { type: "button", className: "small", textContent: "◀ Minute before" });
    this.later = el("button", { type: "button", className: "small", textContent: "Minute after ▶" });
    this.slider = el("input", { type: "range", min: 0, step: 100, value: 0 });
    this.slider.setAttribute("aria-label", "Where in the recording to watch from");
    this.position = el("span", { className: "watch-position" });
    this.status = el("p", { className: "hint" });
    this.status.setAttribute("role", "status");
    this.status.setAttribute("aria-live", "polite");
    this.marks = el("div", { className: "watch-marks" });
    const close = el("button", { type: "button", className: "small", textContent: "Close" });
    close.setAttribute("aria-label", "Stop watching the recording");
    const bar = el("div", { className: "watch-bar" }, this.earlier, this.slider, this.later, this.position);
    const edges = clipEdge ? el("div", { className: "actions" }, ...[["from", "Clip starts here"], ["to", "Clip ends here"]].map(([edge, text]) => {
      const b = el("button", { type: "button", className: "small", textContent: text });
      b.dataset.edge = edge;
      b.addEventListener("click", () => { const at = this.at(); if (at !== null) clipEdge(this.recording.recordingId, edge, at); });
      return b;
    })) : "";
    const marking = mark ? this.markForm(mark) : "";
    root.replaceChildren(this.title, this.video, bar, this.marks, edges, marking, this.status, close);
    show(root, false);

    this.sessionId = null;
    this.recording = null;
    /** The excerpt playing: {fromMs, toMs} as the relay cut it; null before one is loaded. */
    this.excerpt = null;
    /** Loads asked for: only the newest is played. */
    this.loads = 0;
    this.earlier.addEventListener("click", () => this.go(Math.max(0, (this.excerpt?.fromMs ?? 0) - MINUTE_MS)));
    this.later.addEventListener("click", () => { if (this.excerpt) this.go(this.excerpt.toMs); });
    this.slider.addEventListener("change", () => this.go(Number(this.slider.value)));
    close.addEventListener("click", () => this.close());
    this.video.addEventListener("timeupdate", () => this.showPosition());
    // The minute ran out: the next one plays on, from where this one stopped.
    this.video.addEventListener("ended", () => {
      if (this.excerpt && this.excerpt.toMs < this.recording.durationMs) this.go(this.excerpt.toMs, { play: true });
    });
  }

  /** Plays `recording` (an entry of the session summary) of session `sessionId` from its start; `marks`: its marks. */
  open(sessionId, recording, marks = []) {
    this.sessionId = sessionId;
    this.recording = recording;
    this.title.textContent = `Watching recording ${recording.recordingId.slice(0, 6)} (${formatSeconds(recording.durationMs ?? 0)})`;
    this.slider.max = String(Math.max(0, (recording.durationMs ?? 0) - 1));
    this.showMarks(marks);
    this.root.dataset.recordingId = recording.recordingId;
    show(this.root);
    this.title.focus();
    this.go(0, { play: true });
  }

  /** The recording's marks, each a button that plays from 3 s before it. */
  showMarks(marks) {
    this.marks.replaceChildren(...marks.map((m) => {
      const b = el("button", { type: "button", className: "small", textContent: `mark ${markText(m)}` });
      b.setAttribute("aria-label", `Watch from just before the mark at ${formatSeconds(m.atMs)}`);
      b.addEventListener("click", () => this.go(Math.max(0, m.atMs - 3000), { play: true }));
      return b;
    }));
  }

  /** "Mark here", with a note: the moment on screen marked on the recording, as while filming. */
  markForm(mark) {
    const note = el("input", { type: "text", maxLength: 500, placeholder: "note for a mark here" });
    note.setAttribute("aria-label", "Note for a mark here");
    const button = el("button", { type: "button", className: "small", textContent: "Mark here" });
    button.dataset.action = "mark-here";
    button.addEventListener("click", () => {
      const at = this.at();
      if (at === null) return;
      if (mark(this.recording.recordingId, at, note.value.trim())) {
        note.value = "";
        this.say(`Marking ${formatSeconds(at)}…`);
      } else {
        this.say("Not connected to the session just now: mark again once the page says it is connected.");
      }
    });
    return el("div", { className: "actions" }, note, button);
  }

  /** Says `text` under the player (what happened to a mark, a load under way). */
  say(text) {
    this.status.textContent = text;
  }

  /** Loads the minute from `ms` (ms from the recording's start) and shows the picture there. */
  async go(ms, { play = false } = {}) {
    if (!this.recording) return;
    const load = ++this.loads;
    const at = Math.min(Math.max(0, Math.round(ms)), Math.max(0, (this.recording.durationMs ?? 1) - 1));
    this.status.textContent = `Loading from ${formatSeconds(at)}…`;
    let excerpt;
    try {
      excerpt = await api.recordingExcerpt(this.sessionId, this.recording.recordingId, at, at + MINUTE_MS);
    } catch (error) {
      if (load !== this.loads) return;
      this.close();
      this.onRefused?.(error);
      return;
    }
    if (load !== this.loads) return;  // a newer load, or closed meanwhile
    this.excerpt = excerpt;
    this.player.onready = () => {
      if (load !== this.loads) return;
      // The excerpt starts at the keyframe at or before `at`: show `at` itself.
      this.video.currentTime = this.player.startTime + Math.max(0, at - excerpt.fromMs) / 1000;
      if (play) this.video.play().catch(() => {});
      this.status.textContent = "";
    };
    this.player.load(excerpt.bytes);
    this.earlier.disabled = excerpt.fromMs <= 0;
    this.later.disabled = excerpt.toMs >= (this.recording.durationMs ?? 0);
  }

  /** Where the picture is on the recording's timeline (ms), or null with nothing loaded. */
  at() {
    if (!this.excerpt) return null;
    return Math.round(this.excerpt.fromMs + (this.video.currentTime - this.player.startTime) * 1000);
  }

  showPosition() {
    const at = this.at();
    if (at === null) return;
    this.position.textContent = `${formatSeconds(at)} of ${formatSeconds(this.recording.durationMs ?? 0)}`;
    if (document.activeElement !== this.slider) this.slider.value = String(at);
  }

  /** Stops watching: nothing of the recording stays on the page, and no load under way is shown. */
  close() {
    this.loads += 1;
    this.excerpt = null;
    this.recording = null;
    this.player.clear();
    this.position.textContent = "";
    this.status.textContent = "";
    delete this.root.dataset.recordingId;
    show(this.root, false);
  }

  /** The recording watched, or null. */
  get recordingId() {
    return this.recording?.recordingId ?? null;
  }
}
