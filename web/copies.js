// The family's page: the clips the practitioner gave the family to keep (where the relay gives copies,
// `vigrelay serve --family-copies`), under "Clips to keep": each to watch here and to save on the
// device, fetched with the family's link (`GET /v1/sessions/{id}/family-copies[/{clipId}]`).
import { MsePlayer } from "./player.js";
import { $, el, saveBlob, show } from "./dom.js";

/** "Clips to keep" on the family's page, for the session and invite of the family's link. */
export class FamilyCopies {
  constructor(invite) {
    this.invite = invite;
    /** The relay gives copies (the link check and `welcome` say so): only then is the list asked for. */
    this.on = false;
    /** Reads of the list, so that only the newest one's answer is shown. */
    this.reads = 0;
    /** The clips fetched to watch or save, by clip id, and the one on screen. */
    this.blobs = new Map();
    this.watched = null;
    // Played through Media Source Extensions, as the review's clips: a browser's own file player may
    // not play or seek a clip cut from a live recording.
    this.player = new MsePlayer($("copy-video"), { live: false });
  }

  get path() {
    return `/v1/sessions/${encodeURIComponent(this.invite.session)}/family-copies`;
  }

  /** The family's link as an Authorization header. */
  get request() {
    return { headers: { Authorization: `Bearer ${this.invite.invite}` }, cache: "no-store", credentials: "omit" };
  }

  /** The relay said whether it gives copies: the list is read now, or hidden. */
  offered(on) {
    this.on = on;
    if (on) this.refresh(); else show($("copies-box"), false);
  }

  /**
   * Lists the clips given, each to watch and to save. Asked when the page opens with a link that
   * works, at each welcome, when the practitioner gives or takes one back, and after a deletion.
   */
  async refresh() {
    if (!this.on) return;
    const read = ++this.reads;
    let clips = [];
    try {
      const response = await fetch(this.path, this.request);
      if (response.ok) clips = (await response.json()).clips ?? [];
    } catch { /* offline: the next welcome asks again */ return; }
    if (read !== this.reads) return;
    // A clip taken back (or deleted) leaves nothing of it on the page.
    const listed = new Set(clips.map((clip) => clip.clipId));
    for (const id of this.blobs.keys()) if (!listed.has(id)) this.blobs.delete(id);
    if (this.watched && !listed.has(this.watched)) {
      this.watched = null;
      this.player.clear();
      show($("copy-video"), false);
    }
    $("copies").replaceChildren(...clips.map((clip, i) => this.item(clip, i + 1)));
    show($("copies-box"), clips.length > 0);
  }

  /** The clip's file, fetched once with the family's link. */
  async blob(clip) {
    if (!this.blobs.has(clip.clipId)) {
      const response = await fetch(`${this.path}/${clip.clipId}`, this.request);
      if (!response.ok) throw new Error(String(response.status));
      this.blobs.set(clip.clipId, await response.blob());
    }
    return this.blobs.get(clip.clipId);
  }

  /** "Clip 2 · 6 seconds [Watch] [Save clip 2]". */
  item(clip, n) {
    const seconds = Math.max(1, Math.round(clip.durationMs / 1000));
    const say = (text) => { $("copies-status").textContent = text; };
    const failed = (what) => {
      say(`Clip ${n} could not be ${what} just now. Please try again; if it is no longer offered, your practitioner has taken it back.`);
      this.refresh();
    };
    const watch = this.button("Watch", `Watch clip ${n} (${seconds} seconds) here`, async () => {
      const bytes = new Uint8Array(await (await this.blob(clip)).arrayBuffer());
      const video = $("copy-video");
      this.watched = clip.clipId;
      this.player.onready = () => { video.currentTime = this.player.startTime; video.play().catch(() => {}); };
      this.player.load(bytes);
      show(video);
      say(`Clip ${n} is playing below.`);
    }, () => failed("played"));
    const name = `clip-${n}.${clip.mediaType === "video/mp4" ? "mp4" : "webm"}`;
    const save = this.button(`Save clip ${n}`, `Save clip ${n} (${seconds} seconds) on this device`, async () => {
      saveBlob(await this.blob(clip), name);
      say(`Clip ${n} is saved on this device, as ${name} in your downloads.`);
    }, () => failed("saved"));
    return el("li", { className: "copy" }, `Clip ${n} · ${seconds} seconds `, watch, " ", save);
  }

  /** A button that runs `action` (disabled meanwhile), and `fail` if it throws. */
  button(text, label, action, fail) {
    const b = el("button", { type: "button", textContent: text });
    b.setAttribute("aria-label", label);
    b.addEventListener("click", async () => {
      b.disabled = true;
      try { await action(); } catch { fail(); } finally { b.disabled = false; }
    });
    return b;
  }
}
