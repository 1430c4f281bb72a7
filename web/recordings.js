// The practitioner page's recording and clip list items, shared by the open session's "Recordings
// and clips" and the supervisor's view of a trainee's session: their text, and their watch and
// download buttons. DOM builders only; what a button does with the page is the caller's.
import * as api from "./api.js";
import { formatSeconds, noteText } from "./clips.js";
import { el, saveBlob } from "./dom.js";

/** A recording in the list: "3f9a2c · complete · 0:42.0 " (its id's start, state and length). */
export function recordingText(r) {
  return `${r.recordingId.slice(0, 6)} · ${r.state}${r.durationMs ? " · " + formatSeconds(r.durationMs) : ""} `;
}

/** A recording to watch or cut clips from: it ended (stopped, or cut short by a crash) and was not deleted. */
export const finished = (r) => r.state === "complete" || r.state === "interrupted";

/** A recording that has a file to download: finished, and not deleted. */
export const downloadable = (r) => r.state !== "deleted" && r.state !== "recording";


/**
 * The "download" button of a recording of session `sessionId`, for its practitioner and for its
 * supervisor alike; a failure (the server's message) is told with `fail`.
 */
export function recordingDownload(sessionId, r, fail) {
  const download = el("button", { type: "button", className: "small", textContent: "download" });
  download.setAttribute("aria-label", `download recording ${r.recordingId.slice(0, 6)}`);
  download.dataset.action = "download";
  download.addEventListener("click", () => downloadBlob(() => api.recordingBlob(sessionId, r.recordingId),
                                                        `recording-${r.recordingId}.${fileExtension(r.mediaType)}`, fail));
  return download;
}

/** The "watch" button of a finished recording: `open` shows it in a RecordingWatch. */
export function watchButton(r, open) {
  const b = el("button", { type: "button", className: "small", textContent: "watch" });
  b.setAttribute("aria-label", `watch recording ${r.recordingId.slice(0, 6)}`);
  b.dataset.action = "watch-recording";
  b.addEventListener("click", open);
  return b;
}


/** A downloaded file's extension for a recording's media type: a clip has its recording's type. */
function fileExtension(mediaType) {
  return { "video/webm": "webm", "video/mp4": "mp4" }[mediaType] ?? "bin";
}


/** "0:01.0–0:08.0": where a clip was cut from its recording. */
export const clipSpan = (clip) => `${formatSeconds(clip.actualFromMs)}–${formatSeconds(clip.actualToMs)}`;

/** A clip's list item: its span and note, then its buttons. */
export function clipItem(clip) {
  const item = el("li", { className: "clip", textContent: `${clipSpan(clip)} ${noteText(clip)} ` });
  item.dataset.clipId = clip.clipId;
  return item;
}

/** A small button doing `text` to a clip, named for a screen reader with the clip's span. */
export function clipButton(clip, className, text) {
  const b = el("button", { type: "button", className: `small ${className}`, textContent: text });
  b.setAttribute("aria-label", `${text} the clip ${clipSpan(clip)}`);
  return b;
}

/**
 * The "download" button of a clip of session `sessionId` (`mediaType`: its recording's), for the
 * practitioner and the supervisor alike; a failure (the server's message) is told with `fail`.
 */
export function clipDownload(sessionId, clip, mediaType, fail) {
  const download = clipButton(clip, "download-clip", "download");
  download.addEventListener("click", () => downloadBlob(() => api.clipBlob(sessionId, clip.clipId),
                                                        `clip-${clip.clipId}.${fileExtension(mediaType)}`, fail));
  return download;
}


/** Offers what `load` fetches as the file `name`; a failure is told with `fail`, in the server's words. */
async function downloadBlob(load, name, fail) {
  try {
    saveBlob(await load(), name);
  } catch (error) {
    fail(`Could not download: ${error.message}`);
  }
}
