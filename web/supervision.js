// "Sessions you supervise" on the practitioner page: GET /v1/supervision with this page's token
// lists the sessions whose practitioner named this token's id as their supervisor, while the family
// agrees. The supervisor reads one's summary, watches its recordings and plays its clips, and
// downloads them, with the same buttons as the practitioner (recordings.js); the relay lets them
// change nothing, and refuses every read once the family takes its agreement back.
import * as api from "./api.js";
import { markText } from "./clips.js";
import { $, el, show } from "./dom.js";
import { MsePlayer } from "./player.js";
import { clipButton, clipDownload, clipItem, downloadable, finished, recordingDownload, recordingText, watchButton } from "./recordings.js";
import { contentFact, supervisedLabel } from "./sessions.js";
import { RecordingWatch } from "./watch.js";

/** The supervised session shown below the list (its list entry), or null. */
let supervised = null;
/** Reads of the list and of the shown session's summary asked for so far: only the newest is drawn. */
let supervisedReads = 0;
let supervisedSummaryReads = 0;

$("refresh-supervised").addEventListener("click", () => renderSupervised());

export async function renderSupervised() {
  const read = ++supervisedReads;
  const list = $("supervised");
  if (!api.savedToken()) {
    list.replaceChildren();
    $("supervised-status").textContent = "Save your token to see the sessions you supervise.";
    return;
  }
  $("supervised-status").textContent = "Loading the sessions you supervise…";
  let page;
  try {
    page = await api.listSupervised({ limit: 200 });
  } catch (error) {
    if (read === supervisedReads) $("supervised-status").textContent = `Could not load the sessions you supervise: ${error.message}`;
    return;
  }
  if (read !== supervisedReads) return;  // a newer read draws the list
  list.replaceChildren(...page.sessions.map(supervisedItem));
  $("supervised-status").textContent = page.total === 0 ? "No sessions for you to watch now."
    : `${page.sessions.length} of ${page.total} session${page.total === 1 ? "" : "s"}.`;
  // The session shown is no longer one to watch: its recordings go from the page.
  if (supervised && !page.sessions.some((s) => s.sessionId === supervised.sessionId)) {
    closeSupervised();
    showSupervisedProblem("The session you were watching is no longer in your list: the family took back their agreement, "
      + "or its practitioner no longer names you as supervisor.");
  }
}

function supervisedItem(s) {
  const label = supervisedLabel(s);
  const watch = el("button", { type: "button", className: "small", textContent: "Recordings" });
  watch.setAttribute("aria-label", `Recordings of session ${label}`);
  watch.dataset.action = "watch";
  watch.addEventListener("click", () => openSupervised(s));
  const item = el("li", { className: s.sessionId === supervised?.sessionId ? "current" : "" },
    el("div", { className: "session-head" }, el("span", { className: "session-label", textContent: label }),
       el("span", { className: "session-actions" }, watch)),
    el("div", { className: "facts" }, el("span", { className: "badge", textContent: contentFact(s) })));
  item.dataset.sessionId = s.sessionId;
  return item;
}

/** Shows a supervised session's recordings and clips, from its summary (GET /v1/sessions/{id}). */
async function openSupervised(s) {
  const read = ++supervisedSummaryReads;
  supervised = s;
  stopSupervisedClip();
  supervisedWatch.close();
  for (const item of $("supervised").children) item.classList.toggle("current", item.dataset.sessionId === s.sessionId);
  show($("supervised-problem"), false);
  $("supervised-view-label").textContent = supervisedLabel(s);
  $("supervised-recordings").replaceChildren(el("li", { textContent: "Loading…" }));
  $("supervised-clips").replaceChildren();
  show($("supervised-view"));
  $("supervised-view-title").focus();
  let summary;
  try {
    summary = await api.sessionSummary(s.sessionId);
  } catch (error) {
    if (read === supervisedSummaryReads) {
      $("supervised-recordings").replaceChildren();
      showSupervisedProblem(`Could not read the session: ${error.message}`);
    }
    return;
  }
  if (read === supervisedSummaryReads) drawSupervised(s.sessionId, summary);
}

function drawSupervised(sessionId, summary) {
  const recordings = summary.recordings.map((r) => {
    const item = el("li", { textContent: recordingText(r) });
    item.dataset.recordingId = r.recordingId;
    const marks = summary.marks.filter((m) => m.recordingId === r.recordingId);
    if (finished(r)) {
      item.append(watchButton(r, () => {
        show($("supervised-problem"), false);
        stopSupervisedClip();
        supervisedWatch.open(sessionId, r, marks);
      }), " ");
    }
    if (downloadable(r)) item.append(recordingDownload(sessionId, r, showSupervisedProblem));
    // The moments the practitioner marked while filming, with their notes: what supervision looks at.
    if (marks.length) {
      item.append(el("ul", { className: "marks" }, ...marks.map((m) =>
        el("li", { textContent: `Mark at ${markText(m)}` }))));
    }
    return item;
  });
  $("supervised-recordings").replaceChildren(...(recordings.length ? recordings : [el("li", { textContent: "No recordings." })]));
  const mediaTypes = new Map(summary.recordings.map((r) => [r.recordingId, r.mediaType]));
  $("supervised-clips").replaceChildren(...summary.clips.map((clip) => {
    const item = clipItem(clip);
    const play = clipButton(clip, "play-clip", "play");
    play.addEventListener("click", () => playSupervisedClip(sessionId, clip));
    item.append(play, " ", clipDownload(sessionId, clip, mediaTypes.get(clip.recordingId), showSupervisedProblem));
    return item;
  }));
}

// The supervisor's clips play below them, through Media Source Extensions like the review's (the
// clip keeps its recording's timestamps). Each is fetched when played and not kept: once the family
// takes its agreement back, the next play is refused, and closing the session clears the player.
const supervisedPlayer = new MsePlayer($("supervised-video"), { live: false });
let supervisedPlays = 0;
const supervisedWatch = new RecordingWatch($("supervised-watch"), {
  label: "The supervised recording you are watching",
  onRefused: (error) => showSupervisedProblem(`Could not watch the recording: ${error.message}`),
});

async function playSupervisedClip(sessionId, clip) {
  const play = ++supervisedPlays;
  show($("supervised-problem"), false);
  try {
    const bytes = new Uint8Array(await (await api.clipBlob(sessionId, clip.clipId)).arrayBuffer());
    if (play !== supervisedPlays || supervised?.sessionId !== sessionId) return;  // another clip, or session, since
    const video = $("supervised-video");
    supervisedPlayer.onready = () => { video.currentTime = supervisedPlayer.startTime; video.play().catch(() => {}); };
    supervisedWatch.close();
    supervisedPlayer.load(bytes);
    show(video);
  } catch (error) {
    if (play !== supervisedPlays) return;
    stopSupervisedClip();  // a refusal (the family took its agreement back) leaves no earlier clip on screen
    showSupervisedProblem(`Could not play the clip: ${error.message}`);
  }
}

/** What went wrong in the supervised session shown (the server's message, as a download refused). */
function showSupervisedProblem(text) {
  $("supervised-problem").textContent = text;
  show($("supervised-problem"));
}

/** No supervised session shown (another token, or it left the list), and no answer still coming drawn. */
export function closeSupervised() {
  supervised = null;
  supervisedSummaryReads += 1;
  show($("supervised-view"), false);
  show($("supervised-problem"), false);
  $("supervised-recordings").replaceChildren();
  $("supervised-clips").replaceChildren();
  stopSupervisedClip();
  supervisedWatch.close();
  for (const item of $("supervised").children) item.classList.remove("current");
}

/** No clip of a supervised session left playing, or coming. */
function stopSupervisedClip() {
  supervisedPlays += 1;
  supervisedPlayer.clear();
  show($("supervised-video"), false);
}
