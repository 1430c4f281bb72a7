// The practitioner's page: token, sessions, the family's live camera, recording, marks, clips and
// the shared review; and, for a supervisor, the recordings of the sessions they supervise.
import * as api from "./api.js";
import { RelayConnection } from "./connection.js";
import { MsePlayer } from "./player.js";
import { CATCH_UP } from "./downlink.js";
import { StreamSender } from "./sender.js";
import { ReviewLeader } from "./review.js";
import { mark, record, renote, retentionPeriod, signal, unmark, RECORDING_ACTIVE, STREAM_CAMERA, STREAM_SCREEN } from "./protocol.js";
import { clipSpanAround, formatSeconds, markText } from "./clips.js";
import { $, el, saveBlob, show, showFor } from "./dom.js";
import { inviteRefusal, parseInviteFragment } from "./invite.js";
import { cycleCsv, cycleRows, cycleSummary } from "./cycles.js";
import { RecordingWatch } from "./watch.js";
import { clipButton, clipDownload, clipItem, clipSpan, downloadable, finished, recordingDownload, recordingText, watchButton } from "./recordings.js";
import { closeSupervised, renderSupervised } from "./supervision.js";
import { labelWords, labelsBody, sessionFacts, sessionLabel } from "./sessions.js";
import { ScreenAwake } from "./awake.js";
import { CaseClips } from "./caseclips.js";

const state = {
  sessionId: null, connection: null, recordingId: null, recordingStartedAt: 0,
  marks: [], familyPresent: false, screenSender: null, review: null,
  /** The relay lets the practitioner give the family copies of clips (its welcome says so). */
  familyCopies: false,
  /** The clips given to the open session's family to keep (its own or its case's): the summary's, by clip id. */
  givenCopies: new Map(),
};
const live = new MsePlayer($("live-video"));
// The family's camera arrives seconds late: the relay skips this page to the present (docs/PROTOCOL.md,
// "Slow viewers"). Only frames it skipped (`skipped` with frames) say that this page's download is
// what is slow, not the family's upload, so only they show "your connection is too slow".
live.onlate = () => state.connection?.catchUp(STREAM_CAMERA);

// --- token -----------------------------------------------------------------------------------
$("token").value = api.savedToken();
$("supervisor").value = api.savedSupervisor();
tokenStatus();
$("save-token").addEventListener("click", useToken);
$("token").addEventListener("change", useToken);
$("forget-browser").addEventListener("click", () => {
  api.forgetBrowser();
  $("token").value = "";
  $("supervisor").value = "";
  showInvite(null);
  show($("invite-box"), false);
  closeLabels();
  closeSupervised();
  renderSessions();
  renderCycles();
  renderSupervised();
  $("token-status").textContent = "This browser no longer keeps your token or any family's invite link.";
});

/** Saves the token typed, and shows that token's sessions, cycle log and the sessions it supervises. */
function useToken() {
  api.saveToken($("token").value.trim());
  tokenStatus();
  closeLabels();
  closeSupervised();
  renderSessions();
  renderCycles();
  renderSupervised();
}
function tokenStatus() {
  $("token-status").textContent = api.savedToken() ? "Token saved in this browser." : "No token yet: ask your administrator for one.";
}

// --- sessions --------------------------------------------------------------------------------
/** What "Open the other session" does, while the practitioner is asked (see leaveThen). */
let pendingLeave = null;

/**
 * Does `open` (create or open another session) at once, or, while the session open now is
 * recording, only once the practitioner confirms: a misclick while filming would otherwise take the
 * family off the screen, and the recording would go on unattended.
 */
function leaveThen(open) {
  if (!state.recordingId) { open(); return; }
  pendingLeave = open;
  show($("leave-confirm"));
  $("leave-confirm").scrollIntoView({ block: "nearest" });
  $("leave-no").focus();
}

function closeLeave() {
  pendingLeave = null;
  show($("leave-confirm"), false);
}

$("leave-yes").addEventListener("click", () => { const open = pendingLeave; closeLeave(); open?.(); });
$("leave-no").addEventListener("click", () => { closeLeave(); $("live-title").focus(); });

$("create-session").addEventListener("click", () => leaveThen(createSession));

async function createSession() {
  show($("create-status"), false);
  api.saveToken($("token").value.trim());
  const labels = { purpose: $("purpose").value };
  if ($("case-ref").value.trim()) labels.caseRef = $("case-ref").value.trim();
  if ($("cycle").value) labels.cycle = Number($("cycle").value);
  const supervisor = $("supervisor").value.trim();
  if (supervisor) labels.supervisor = supervisor;
  try {
    const created = await api.createSession(labels);
    api.rememberInvite(created.sessionId, created.joinUrl);
    // The next session is likely for the same supervisor: the field is filled with it next time.
    api.rememberSupervisor(supervisor);
    openSession(created.sessionId, created.joinUrl, created);
  } catch (error) {
    $("create-status").textContent = `Could not create the session: ${error.message}`;
    show($("create-status"));
  }
}

$("copy-invite").addEventListener("click", async () => {
  try {
    await navigator.clipboard.writeText($("invite-link").textContent);
    $("copy-status").textContent = "Copied.";
  } catch {
    getSelection().selectAllChildren($("invite-link"));
    $("copy-status").textContent = "Select the link and copy it.";
  }
});

/**
 * Shows the session's family link, or says this browser does not have it (a session made in another
 * browser, or forgotten): the relay never hands an existing link out again, only makes a new one.
 */
function showInvite(joinUrl) {
  $("invite-link").textContent = joinUrl ?? "";
  $("copy-status").textContent = "";
  const expires = joinUrl ? inviteExpiry(joinUrl) : null;
  $("invite-expiry").textContent = expires ? ` (it works until ${expires.toLocaleString([], { dateStyle: "medium", timeStyle: "short" })})` : "";
  show($("invite-known"), Boolean(joinUrl));
  show($("invite-unknown"), !joinUrl);
  show($("invite-stale"), false);
  // Said of the session's link before this one, or of another session.
  show($("family-refused"), false);
  askNewInvite(false);
  if (joinUrl) checkKeptInvite(joinUrl);
}

/**
 * A kept link may have expired, or been replaced by one made in another browser or with
 * vigrelay-client: the relay is asked, with the link's own invite, and a link that would not join is
 * not offered for sending. No answer leaves the link shown (the family's page asks again).
 */
async function checkKeptInvite(joinUrl) {
  const link = inviteLink(joinUrl);
  const code = link && await inviteRefusal(link);
  if (!code || $("invite-link").textContent !== joinUrl) return;
  $("invite-stale").textContent = code === "invite_replaced"
    ? "The family link this browser kept was replaced by a newer one, made in another browser or with vigrelay-client. Send the family that newer link, or make a new one here (which replaces it)."
    : "The family link this browser kept no longer works: it may have expired. If the family needs it, make a new one.";
  show($("invite-known"), false);
  show($("invite-stale"));
}

/** The session and invite of a join link, or null. */
function inviteLink(joinUrl) {
  try {
    return parseInviteFragment(new URL(joinUrl).hash);
  } catch {
    return null;
  }
}

/** When the link's invite expires, read from the token itself (its first part is base64url JSON). */
function inviteExpiry(joinUrl) {
  try {
    const token = inviteLink(joinUrl).invite;
    const claims = JSON.parse(atob(token.split(".")[0].replace(/-/g, "+").replace(/_/g, "/")));
    return Number.isFinite(claims.exp) ? new Date(claims.exp * 1000) : null;
  } catch {
    return null;
  }
}

function askNewInvite(open) {
  show($("new-invite-confirm"), open);
  $("new-invite").setAttribute("aria-expanded", String(open));
  if (open) $("new-invite-status").textContent = "";
}

$("new-invite").addEventListener("click", () => askNewInvite($("new-invite-confirm").hidden));
$("new-invite-cancel").addEventListener("click", () => { askNewInvite(false); $("new-invite").focus(); });
$("new-invite-yes").addEventListener("click", async () => {
  const sessionId = state.sessionId;
  $("new-invite-yes").disabled = true;
  try {
    const link = await api.newInvite(sessionId);
    api.rememberInvite(sessionId, link.joinUrl);
    if (state.sessionId !== sessionId) return;
    showInvite(link.joinUrl);
    $("new-invite-status").textContent = "New link made: send it to the family. The links sent before no longer work.";
    refreshSessionsSoon();
    $("copy-invite").focus();
  } catch (error) {
    $("new-invite-status").textContent = `Could not make a new link: ${error.message}`;
  } finally {
    $("new-invite-yes").disabled = false;
  }
});

// The list comes from the relay (GET /v1/sessions): every session of this token, whichever browser
// made it, newest first, a page at a time.
const SESSIONS_PAGE = 50;
$("refresh-sessions").addEventListener("click", () => { renderSessions(); renderCycles(); });
$("more-sessions").addEventListener("click", () => renderSessions($("more-sessions").dataset.before));

/** Reads of the list asked for so far: only the newest one's answer is drawn (an older can arrive later). */
let sessionReads = 0;

async function renderSessions(before) {
  const read = ++sessionReads;
  const list = $("sessions");
  if (!api.savedToken()) {
    list.replaceChildren();
    $("sessions-status").textContent = "Save your token to see your sessions.";
    show($("more-sessions"), false);
    return;
  }
  $("sessions-status").textContent = "Loading your sessions…";
  let page;
  try {
    // A refresh keeps as many sessions in view as were shown (older pages loaded too), up to 200.
    const limit = before ? SESSIONS_PAGE : Math.min(200, Math.max(SESSIONS_PAGE, list.children.length));
    page = await api.listSessions({ limit, before });
  } catch (error) {
    if (read === sessionReads) $("sessions-status").textContent = `Could not load your sessions: ${error.message}`;
    return;
  }
  if (read !== sessionReads) return;  // a newer read draws the list
  const items = page.sessions.map(sessionItem);
  if (before) list.append(...items); else list.replaceChildren(...items);
  const shown = list.children.length;
  $("sessions-status").textContent = page.total === 0 ? "No sessions yet." : `${shown} of ${page.total} session${page.total === 1 ? "" : "s"}.`;
  $("more-sessions").dataset.before = page.nextBefore ?? "";
  show($("more-sessions"), Boolean(page.nextBefore));
  $("retention-note").textContent = retentionNote(page.retentionSeconds);
  show($("retention-note"), true);
  // A running recording grows: look again now and then while one is listed.
  if (!before && page.sessions.some((s) => s.recordingState === "recording")) refreshSessionsSoon(10_000);
}

/**
 * Draws cycle logs into the status line `${id}-status`, the table `id` and its "Download as CSV"
 * button `download-${id}` (saved as `fileName()`): your own, and a trainee's for their supervisor.
 * Returns draw(log, status); a null log clears the table.
 */
function cycleLogView(id, fileName) {
  let shown = null;
  $(`download-${id}`).addEventListener("click", () => {
    if (shown) saveBlob(new Blob([cycleCsv(shown)], { type: "text/csv" }), fileName());
  });
  return (log, status) => {
    $(`${id}-status`).textContent = status;
    const rows = (log ? cycleRows(log) : []).map((cells) => el("tr", {}, ...cells.map((text) => el("td", { textContent: text }))));
    $(id).tBodies[0].replaceChildren(...rows);
    show($(id), rows.length > 0);
    shown = rows.length > 0 ? log : null;
    show($(`download-${id}`), rows.length > 0);
  };
}

/** Reads of your cycle log asked for so far: only the newest is drawn. */
let cycleReads = 0;
const drawCycles = cycleLogView("cycles", () => "vig-cycle-log.csv");

/**
 * The cycle log (GET /v1/cycles): read when the page opens, the token is saved, the list is
 * refreshed by hand and when the family comes in, not with the list's own refreshes (it reads
 * every session's log on the relay). Only the newest read's answer is drawn: an older can arrive later.
 */
async function renderCycles() {
  const read = ++cycleReads;
  if (!api.savedToken()) {
    drawCycles(null, "Save your token to see your cycle log.");
    return;
  }
  let log;
  try {
    log = await api.cycleLog();
  } catch (error) {
    if (read === cycleReads) drawCycles(null, `Could not load your cycle log: ${error.message}`);
    return;
  }
  if (read === cycleReads) drawCycles(log, cycleSummary(log));
}

// A trainee's cycle log, for their supervisor (GET /v1/cycles?practitioner=ID): from the trainee's
// sessions that name this token's practitioner as supervisor. The count supervisors ask for.
let traineeShown = "";
let traineeReads = 0;
const drawTraineeCycles = cycleLogView("trainee-cycles", () => `vig-cycle-log-${traineeShown}.csv`);

$("trainee-cycles-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const read = ++traineeReads;
  const trainee = $("trainee").value.trim();
  drawTraineeCycles(null, "Loading…");
  let log;
  try {
    log = await api.cycleLog(trainee);
  } catch (error) {
    if (read === traineeReads) drawTraineeCycles(null, `Could not load the cycle log: ${error.message}`);
    return;
  }
  if (read !== traineeReads) return;
  traineeShown = trainee;
  drawTraineeCycles(log, log.cases.length === 0 && log.heldWithoutLabels === 0
    ? `No sessions of ${trainee} name you as their supervisor.` : `${trainee}: ${cycleSummary(log, { own: false })}`);
});

/** What the relay's retention (`retentionSeconds` of the list; absent: none) does to these recordings. */
function retentionNote(seconds) {
  const period = retentionPeriod(seconds);
  return period ? `This relay deletes a case's recordings and clips ${period} after its last session `
    + "(sessions with the same case reference; a session without one counts alone)."
    : "This relay keeps recordings until you delete them or the family withdraws consent.";
}

/** Refreshes the list a moment after something it shows changed (several changes, one request). */
let listRefresh = null;
function refreshSessionsSoon(delayMs = 500) {
  clearTimeout(listRefresh);
  listRefresh = setTimeout(() => renderSessions(), delayMs);
}

function sessionItem(s) {
  const label = sessionLabel(s);
  const open = el("button", { type: "button", className: "small", textContent: s.sessionId === state.sessionId ? "Open again" : "Open" });
  open.setAttribute("aria-label", `Open session ${label}`);
  open.dataset.action = "open";
  const reopen = () => { openSession(s.sessionId, api.savedInvite(s.sessionId), s); $("live-title").focus(); };
  // The same session again is a reconnect, not a leave.
  open.addEventListener("click", () => (s.sessionId === state.sessionId ? reopen() : leaveThen(reopen)));
  const labels = el("button", { type: "button", className: "small", textContent: "Labels…" });
  labels.setAttribute("aria-label", `Change the labels of session ${label}`);
  labels.dataset.action = "labels";
  labels.addEventListener("click", () => editLabels(s));
  const facts = el("div", { className: "facts" },
    ...sessionFacts(s).map(([text, kind]) => el("span", { className: kind ? `badge ${kind}` : "badge", textContent: text })));
  const item = el("li", { className: s.sessionId === state.sessionId ? "current" : "" },
    el("div", { className: "session-head" }, el("span", { className: "session-label", textContent: label }),
       el("span", { className: "session-actions" }, labels, open)), facts);
  item.dataset.sessionId = s.sessionId;
  return item;
}

/** The Live heading's name for the open session: its labels, or the start of its id without any. */
function showSessionTitle(sessionId, labels) {
  $("session-label").textContent = labelWords(labels ?? {}) || sessionId.slice(0, 8);
}

/**
 * The labels form, outside the list (which is redrawn while the practitioner types), filled with
 * one session's labels: saved with PATCH /v1/sessions/{id}, then the list and the cycle log are read again.
 */
let labelling = null;
function editLabels(s) {
  labelling = s;
  $("labels-session").textContent = sessionLabel(s);
  $("labels-case-ref").value = s.caseRef ?? "";
  $("labels-cycle").value = s.cycle ?? "";
  $("labels-purpose").value = s.purpose ?? "";
  $("labels-supervisor").value = s.supervisor ?? "";
  $("labels-status").textContent = "";
  show($("labels-editor"));
  $("labels-title").scrollIntoView({ block: "nearest" });
  $("labels-case-ref").focus();
}

/** Hides the labels form: cancelled, or another token (whose sessions these are not) saved or forgotten. */
function closeLabels() {
  show($("labels-editor"), false);
  labelling = null;
}

$("labels-cancel").addEventListener("click", () => { closeLabels(); $("refresh-sessions").focus(); });
$("labels-editor").addEventListener("submit", async (event) => {
  event.preventDefault();
  const entry = labelling;
  if (!entry) return;
  $("labels-save").disabled = true;
  $("labels-status").textContent = "Saving…";
  try {
    const saved = await api.changeLabels(entry.sessionId, labelsBody({
      caseRef: $("labels-case-ref").value, cycle: $("labels-cycle").value, purpose: $("labels-purpose").value,
      supervisor: $("labels-supervisor").value }));
    if (state.sessionId === entry.sessionId) {
      showSessionTitle(entry.sessionId, saved);
      caseClips.show(entry.sessionId, saved.caseRef);  // its case may be another now
    }
    if (labelling === entry) {
      const { caseRef, cycle, purpose, supervisor } = saved;
      labelling = { ...entry, caseRef, cycle, purpose, supervisor };
      $("labels-session").textContent = sessionLabel(labelling);
      $("labels-status").textContent = "Labels saved.";
    }
    renderSessions();
    renderCycles();
  } catch (error) {
    $("labels-status").textContent = `Could not save the labels: ${error.message}`;
  } finally {
    $("labels-save").disabled = false;
  }
});

// --- live ------------------------------------------------------------------------------------
/** The screen stays on while the family is in the open session: a laptop left to show the filming
 * would otherwise dim and sleep, and the recording go on unattended. */
const awake = new ScreenAwake();

function setFamilyPresent(present) {
  state.familyPresent = present;
  if (!present) showFamilyLink(null);
  if (present) awake.keep(); else awake.release();
}

/** Opens the session (its labels, from the list or its creation, name it in the Live heading). */
function openSession(sessionId, joinUrl, labels) {
  closeLeave();
  clearReview();
  closeNoteEditor();
  state.connection?.stop();
  live.clear();
  Object.assign(state, { sessionId, recordingId: null, marks: [] });
  setFamilyPresent(false);
  clipBytes.clear();
  caseClips.show(sessionId, labels?.caseRef);
  // Nothing of the session open before stays: its recording state, recordings and clips, messages
  // and controls (this one's come with its welcome and summary).
  showRecordingState(null);
  renderRecordings({ recordings: [], marks: [], clips: [] });
  enableControls(false);
  status("Connecting…");
  for (const id of ["consent-status", "clip-status"]) $(id).textContent = "";
  showInvite(joinUrl);
  $("new-invite-status").textContent = "";
  show($("invite-box"));
  showSessionTitle(sessionId, labels);
  const connection = new RelayConnection(sessionId, api.savedToken(), { notices: ["family_link_refused"] });
  state.connection = connection;
  state.review = new ReviewLeader(connection);
  connection.addEventListener("state", (e) => onState(e.detail));
  let welcomedBefore = false;
  connection.addEventListener("welcome", (e) => {
    const again = welcomedBefore;
    welcomedBefore = true;
    setFamilyPresent(e.detail.peerPresent);
    if (state.familyPresent) renderCycles();
    const copies = e.detail.familyCopies === true;
    if (copies !== state.familyCopies) {
      state.familyCopies = copies;
      if (!again) refreshSummary();  // the clips' "give to the family" follows it
    }
    const family = state.familyPresent ? "The family is here."
      : again ? "Waiting for the family (they may be reconnecting)." : "Waiting for the family to join.";
    status(`${again ? "Connected again" : "Connected"}. ${family}`);
    enableControls(true);
    // What changed while this page was away (a recording that ended, consent withdrawn) is in the summary.
    if (again) {
      refreshSummary();
      // The screen stream this page was sending ended with the old connection: a new one starts.
      state.screenSender?.start();
      if (state.familyPresent) showReviewAgain();
    }
  });
  connection.addEventListener("message", (e) => onMessage(e.detail));
  connection.addEventListener("frame", (e) => { if (e.detail.stream === STREAM_CAMERA) live.push(e.detail); });
  connection.start();
  renderSessions();
  renderMarks();
  refreshSummary();
}

/**
 * The family's camera was lowered to keep up with their slow link (`{"camera":"slow"}`), or is back
 * at its full bitrate (`"full"`, or null: no family).
 */
function showFamilyLink(signal) {
  const slow = signal?.camera === "slow" && Number.isFinite(signal.bitsPerSecond);
  $("family-link").textContent = slow
    ? `The family's connection is slow, so their camera now sends about ${Math.round(signal.bitsPerSecond / 1000)} kbit/s: `
      + "the picture is less sharp, but stays live. A recording running goes on in a new part at each change."
    : "";
  show($("family-link"), slow);
}

function status(text, warn = false) {
  $("connection-status").textContent = text;
  $("connection-status").className = warn ? "status warn" : "status ok";
}

function onState({ state: s, code, reason }) {
  if (s === "reconnecting") { status("Connection lost. Reconnecting…", true); live.gap(); enableControls(false); }
  if (s === "closed" && code && code !== 1000) { setFamilyPresent(false); status(`Disconnected (${code}${reason ? ": " + reason : ""}). Check your token.`, true); enableControls(false); }
}

function enableControls(on) {
  for (const id of ["record-toggle", "mark", "refresh-summary", "share-screen", "live-sound"]) $(id).disabled = !on;
  $("mark").disabled = !on || !state.recordingId;
}

function onMessage(message) {
  if (["peer", "consent", "recording"].includes(message.type)) refreshSessionsSoon();
  // The family came in while the practitioner is here: the session is held, a step in its cycle.
  if (message.type === "peer" && message.event === "joined") renderCycles();
  switch (message.type) {
    case "peer":
      if (message.role === "family") {
        setFamilyPresent(message.event === "joined");
        status(state.familyPresent ? "The family has joined." : "The family has left (they may be reconnecting).", !state.familyPresent);
        if (!state.familyPresent) live.gap();
        else { showReviewAgain(); show($("family-refused"), false); }
      }
      break;
    case "signal":
      // The family's page went off screen (their camera may be paused) or came back; their camera
      // stopped by itself, or is on again.
      if (message.page === "hidden") status("The family's page is not on screen (another app, or their phone locked): their camera may be paused.", true);
      if (message.page === "visible") status("The family's page is back on screen.");
      if (message.camera === "stopped") status("The family's camera stopped (a phone call or another app may have taken it): their page asks them to start it again.", true);
      if (message.camera === "on") status("The family's camera is on again.");
      if (message.camera === "switched") status("The family switched to their other camera.");
      if (message.camera === "slow" || message.camera === "full") showFamilyLink(message);
      break;
    case "recording_space":
      // The relay's disk is low (no recording can start) or has room again: said before Start is pressed.
      if (!state.recordingId) {
        $("recording-status").textContent = message.low
          ? "The relay is low on disk space, so a recording cannot start now (the live video works). Ask whoever runs the relay to free space."
          : "There is room for recordings again.";
      }
      break;
    case "family_link_refused":
      showFamilyRefused(message.reason, message.secondsAgo);
      break;
    case "consent":
      consentMessages += 1;
      showConsent(message);
      if (message.recording !== true) forgetClips();
      break;
    case "recording":
      onRecording(message);
      break;
    case "marked":
      if (message.id === WATCH_MARK) {  // marked while watching: saved, so the summary has it, with its note
        watch.say("");
        refreshSummary();
        break;
      }
      state.marks.push({ markId: message.markId, recordingId: message.recordingId, ...(state.pendingMarks?.shift() ?? { atMs: 0 }) });
      renderMarks();
      break;
    case "unmarked":
      state.marks = state.marks.filter((m) => m.markId !== message.markId);
      renderMarks();
      refreshSummary();
      break;
    case "noted":
      noteSaved(message.markId);
      break;
    case "family_copy_fetched":
      // The family is fetching a clip given to them: the list says so once read again.
      refreshSummary();
      break;
    case "skipped":
      if (message.stream !== STREAM_CAMERA) break;
      live.skipped(message.frames);
      if (message.frames > 0) showFor($("own-link"), CATCH_UP.noticeMs);
      break;
    case "error":
      if (message.id === WATCH_MARK) watch.say(`Could not mark: ${message.message}`);
      else if (message.id === LIVE_MARK) {
        state.pendingMarks?.shift();
        $("recording-status").textContent = `Could not mark: ${message.message}`;
      }
      else if (message.id === UNMARK) {
        tellClipStatus(`Could not remove the mark: ${message.message}`);
        refreshSummary();
      } else if (message.id === RENOTE) {
        $("note-save").disabled = false;
        tellClipStatus(`Could not change the note: ${message.message}`);
      } else $("recording-status").textContent = message.message;
      break;
    default:
      break;
  }
}

/**
 * The family tried to join on a link the relay refused (`reason`: `replaced` or `expired`;
 * `secondsAgo`: when, as the relay counts it: it keeps a refusal for an hour for a practitioner
 * who opens the session after the family tried). Their page told them to ask for the newest link;
 * this says what to send. Hidden once they join or a new link is made.
 */
function showFamilyRefused(reason, secondsAgo = 0) {
  const minutes = Math.round(secondsAgo / 60);
  const when = minutes < 1 ? "" : minutes === 1 ? " a minute ago" : ` ${minutes} minutes ago`;
  $("family-refused").textContent = reason === "replaced"
    ? `The family tried to join${when} with an older link, which a newer one replaced. Send them the newest link again, or make a new one with “New link for the family…”.`
    : `The family tried to join${when} with a link that has expired. Make a new one with “New link for the family…” and send it to them.`;
  show($("family-refused"));
}

/** The family's consent (a notice, or the summary's `consent`), in words. */
function showConsent(message) {
  $("consent-status").textContent = message.recording
    ? `The family agreed to recording${message.childAgreed ? " (and the child aged 12+ agreed too)" : ""}`
      + `${message.supervisorMayView ? ", and your supervisor may watch the recordings" : ""}.`
    : "The family has not agreed to recording (or withdrew): recording is off and their videos are deleted.";
}

/**
 * The record button, Mark and the status line for a recording state (null: none known, as when a
 * session opens; the relay says `running` right after the welcome when one is).
 */
function showRecordingState(recordingState) {
  const active = RECORDING_ACTIVE.has(recordingState);
  $("record-toggle").textContent = active ? "Stop recording" : "Start recording";
  $("mark").disabled = !active;
  $("recording-status").textContent = active ? "● Recording" : recordingState === "deleted"
    ? "The family's videos were deleted." : recordingState === "failed" ? "Recording failed (see the server log)." : "Not recording";
  $("recording-status").className = active ? "recording-on" : "recording-off";
}

function onRecording(message) {
  const active = RECORDING_ACTIVE.has(message.state);
  if (active) {
    if (state.recordingId !== message.recordingId) {
      state.recordingStartedAt = performance.now();
      state.marks = [];
      if (message.state === "started") live.expectRecordingStart();
    }
    state.recordingId = message.recordingId;
  } else {
    state.recordingId = null;
  }
  showRecordingState(message.state);
  if (message.state === "deleted") forgetClips();
  if (!active) refreshSummary();
  renderMarks();
}

// The live video starts muted (browsers only autoplay muted video); the family's sound is a click away.
$("live-sound").addEventListener("click", () => {
  const video = $("live-video");
  video.muted = !video.muted;
  if (!video.muted) video.play().catch(() => {});
  $("live-sound").textContent = video.muted ? "Hear the family" : "Mute the family";
});

$("record-toggle").addEventListener("click", () => {
  state.connection?.send(record(state.recordingId ? "stop" : "start"));
});

/**
 * Where the moment on screen is on the recording's timeline: from the live video's own time once the
 * recording's first frame has come through (the recording starts at the camera's next keyframe, or
 * with the new stream the family's page starts for it, a moment after Start; also when this page
 * reconnected and the relay replays that same stream), else from the clock since Start (also in a
 * part after the family reconnected: the relay places it on the timeline).
 */
function markTime() {
  const base = live.recordingStartMs;
  if (base !== null && !live.waitingForInit) return Math.max(0, Math.round($("live-video").currentTime * 1000) - base);
  return Math.max(0, Math.round(performance.now() - state.recordingStartedAt));
}

// A mark made while filming: shown on the timeline once the relay saved it (`marked`, in the order
// sent); its errors carry LIVE_MARK as their id.
const LIVE_MARK = "live-mark";
function markNow() {
  if (!state.recordingId) return;
  const atMs = markTime(), note = $("mark-note").value.trim();
  if (!state.connection?.send({ ...mark(state.recordingId, atMs, note || undefined), id: LIVE_MARK })) {
    $("recording-status").textContent = "Not connected to the session just now: mark again once the page says it is connected.";
    return;
  }
  (state.pendingMarks ??= []).push({ atMs, note });
  $("mark-note").value = "";
}
$("mark").addEventListener("click", markNow);
document.addEventListener("keydown", (event) => {
  const typing = event.target instanceof HTMLInputElement || event.target instanceof HTMLSelectElement || event.target instanceof HTMLTextAreaElement;
  if (!typing && !event.repeat && (event.key === "m" || event.key === "M") && !event.ctrlKey && !event.metaKey && !event.altKey) {
    event.preventDefault();
    markNow();
  }
});

function renderMarks() {
  const timeline = $("timeline");
  const spanMs = Math.max(60_000, state.recordingId ? performance.now() - state.recordingStartedAt : 0,
                          ...state.marks.map((m) => m.atMs + 5000));
  timeline.replaceChildren(...state.marks.map((m) => {
    const tick = el("span", { className: "tick", title: formatSeconds(m.atMs) });
    tick.style.setProperty("--at", `${(m.atMs / spanMs) * 100}%`);
    return tick;
  }));
  $("marks").replaceChildren(...state.marks.map((m) =>
    el("li", {}, `Mark at ${markText(m)} `, unmarkButton(m))));
}

// A mark made by mistake (a stray "M"), or to be made again with another note, is removed; the
// relay answers `unmarked` once its log and the note on disk say so (errors carry UNMARK as their id).
const UNMARK = "unmark";
function unmarkButton(m) {
  const b = el("button", { type: "button", className: "small", textContent: "✕", title: "Remove this mark" });
  b.dataset.action = "unmark";
  b.setAttribute("aria-label", `Remove the mark at ${formatSeconds(m.atMs)}`);
  b.addEventListener("click", () => {
    b.disabled = state.connection?.send({ ...unmark(m.recordingId, m.markId), id: UNMARK }) ?? false;
    if (!b.disabled) tellClipStatus("Could not remove the mark: not connected to the relay; try again once reconnected.");
  });
  return b;
}

// A mark's or a clip's note is changed in place (a typo, or more to say): "note" on it opens the
// editor with the note. A mark's goes over the WebSocket (`note`; the relay answers `noted` once the
// note on disk is the new one, errors carry RENOTE), a clip's over HTTP (PATCH .../clips/{clipId}).
const RENOTE = "renote";
/** What the editor changes: {markId?, note, save(note)} (`note` as sent), or null when closed. */
let noteEditing = null;

/** The "note" button of a mark or clip, named for `what` ("the mark at 0:01.2"). */
function noteButton(what, note, editing) {
  const b = el("button", { type: "button", className: "small", textContent: "note", title: note ?? "" });
  b.dataset.action = "note";
  b.setAttribute("aria-label", `Change the note of ${what}`);
  b.addEventListener("click", () => {
    noteEditing = { ...editing, note: null };
    $("note-label").textContent = `Note for ${what}`;
    $("note-text").value = note ?? "";
    $("note-save").disabled = false;
    show($("note-editor"));
    $("note-text").focus();
  });
  return b;
}

const markNoteButton = (m) => noteButton(`the mark at ${formatSeconds(m.atMs)}`, m.noteUnreadable ? "" : m.note, {
  markId: m.markId,
  save: (note) => {
    const sent = state.connection?.send({ ...renote(m.recordingId, m.markId, note), id: RENOTE }) ?? false;
    if (!sent) throw new Error("not connected to the relay; try again once reconnected");
  },  // done when `noted` comes
});

const clipNoteButton = (clip) => noteButton(`the clip ${clipSpan(clip)}`,
  clip.noteUnreadable ? "" : clip.note, {
    save: async (note) => {
      await api.changeClipNote(state.sessionId, clip.clipId, note);
      noteSaved(null);
    },
  });

$("note-save").addEventListener("click", async () => {
  const editing = noteEditing;
  if (!editing) return;
  editing.note = $("note-text").value.trim();
  $("note-save").disabled = true;
  try {
    await editing.save(editing.note);
  } catch (error) {
    $("note-save").disabled = false;
    tellClipStatus(`Could not change the note: ${error.message}`);
  }
});
$("note-cancel").addEventListener("click", closeNoteEditor);

function closeNoteEditor() {
  noteEditing = null;
  show($("note-editor"), false);
}

/** The relay saved the note (of mark `markId`, or a clip's: null): the lists show it. */
function noteSaved(markId) {
  if (markId && noteEditing?.markId === markId) {
    for (const m of state.marks) if (m.markId === markId) m.note = noteEditing.note;
    renderMarks();
  }
  if (!markId || noteEditing?.markId === markId) closeNoteEditor();
  tellClipStatus("Note saved.");
  refreshSummary();
}

// --- recordings and clips --------------------------------------------------------------------
$("refresh-summary").addEventListener("click", refreshSummary);

// Each read of the summary is numbered; an answer that comes after a later read was asked for is
// dropped. Answers can come out of order (one may wait behind a stalled connection after a network
// drop), and an older one would show a stopped recording as still running and keep the clip editor shut.
let summaryReads = 0;
/** Consent messages heard on the WebSocket: newer than any summary asked for before them. */
let consentMessages = 0;

async function refreshSummary() {
  if (!state.sessionId) return;
  const read = ++summaryReads;
  const consentHeard = consentMessages;
  try {
    const summary = await api.sessionSummary(state.sessionId);
    if (read !== summaryReads) return;
    // The family's answer that came over the WebSocket meanwhile is newer than this read.
    if (consentMessages === consentHeard) showConsent(summary.consent ?? { recording: false });
    renderRecordings(summary);
  } catch (error) {
    if (read === summaryReads) $("clip-status").textContent = `Could not read the session: ${error.message}`;
  }
}

function renderRecordings(summary) {
  // A recording this page still shows as running that the relay has finished: it stopped (or was
  // deleted) while this page was disconnected, so the notice never reached it.
  const shown = summary.recordings.find((r) => r.recordingId === state.recordingId);
  if (shown && shown.state !== "recording") {
    onRecording({ type: "recording", state: shown.state === "deleted" ? "deleted" : "stopped", recordingId: shown.recordingId });
    return;
  }
  const done = summary.recordings.filter(finished);
  // A recording watched that is no longer there to watch (deleted, or another session opened).
  if (watch.recordingId && !done.some((r) => r.recordingId === watch.recordingId)) watch.close();
  $("recordings").replaceChildren(...summary.recordings.map((r) => {
    const item = el("li", { textContent: recordingText(r) });
    item.dataset.recordingId = r.recordingId;
    const marks = summary.marks.filter((x) => x.recordingId === r.recordingId);
    for (const m of marks) {
      // Each mark as one unit: what it is, then a clip around it, its note, then its removal.
      const use = el("button", { type: "button", className: "small", textContent: "clip" });
      use.setAttribute("aria-label", `Prepare a clip around the mark at ${formatSeconds(m.atMs)}`);
      use.addEventListener("click", () => prepareClip(r, m.atMs, m.note));
      item.append(el("span", { className: "mark-item" }, `mark ${formatSeconds(m.atMs)}`, use, markNoteButton(m), unmarkButton(m)), " ");
    }
    if (finished(r)) item.append(watchButton(r, () => watch.open(state.sessionId, r, marks)), " ");
    if (r.recordingId === watch.recordingId) watch.showMarks(marks);
    if (downloadable(r)) item.append(recordingDownload(state.sessionId, r, tellClipStatus));
    return item;
  }));
  const select = $("clip-recording");
  select.replaceChildren(...done.map((r) => el("option", { value: r.recordingId, textContent: `${r.recordingId.slice(0, 6)} (${formatSeconds(r.durationMs ?? 0)})` })));
  $("clip-editor").disabled = done.length === 0;
  const mediaTypes = new Map(summary.recordings.map((r) => [r.recordingId, r.mediaType]));
  state.givenCopies = new Map((summary.familyCopies ?? []).map((c) => [c.clipId, c]));
  $("clips").replaceChildren(...summary.clips.map((clip) => renderClip(clip, mediaTypes.get(clip.recordingId))));
  caseClips.redraw();
}

/** What went wrong with the open session's recordings and clips: said beside the clip editor. */
const tellClipStatus = (text) => { $("clip-status").textContent = text; };

// The open session's recordings play a minute at a time (watch.js); "Clip starts/ends here" fill the
// clip editor from where the picture is, so a clip can be chosen by watching the film, and "Mark
// here" marks the moment as while filming (its reply and errors carry WATCH_MARK as their id).
const WATCH_MARK = "watch-mark";
const watch = new RecordingWatch($("watch"), {
  label: "The recording you are watching",
  clipEdge: (recordingId, edge, ms) => {
    $("clip-recording").value = recordingId;
    $(edge === "from" ? "clip-from" : "clip-to").value = (ms / 1000).toFixed(1);
    tellClipStatus(`Clip ${edge === "from" ? "starts" : "ends"} at ${formatSeconds(ms)}.`);
  },
  mark: (recordingId, atMs, note) => state.connection?.send({ ...mark(recordingId, atMs, note || undefined), id: WATCH_MARK }) ?? false,
  onRefused: (error) => tellClipStatus(`Could not watch the recording: ${error.message}`),
});

function prepareClip(recording, atMs, note) {
  const [fromMs, toMs] = clipSpanAround(atMs, recording.durationMs ?? atMs + 5000, recording.parts ?? []);
  $("clip-recording").value = recording.recordingId;
  $("clip-from").value = (fromMs / 1000).toFixed(1);
  $("clip-to").value = (toMs / 1000).toFixed(1);
  $("clip-note").value = note ?? "";
  $("clip-from").focus();
}

$("make-clip").addEventListener("click", async () => {
  const fromMs = Math.round(Number($("clip-from").value) * 1000), toMs = Math.round(Number($("clip-to").value) * 1000);
  if (!(toMs - fromMs >= 3000 && toMs - fromMs <= 10000)) {
    $("clip-status").textContent = "A clip runs 3 to 10 seconds: adjust From and To.";
    return;
  }
  const body = { recordingId: $("clip-recording").value, fromMs, toMs };
  if ($("clip-note").value.trim()) body.note = $("clip-note").value.trim();
  try {
    const clip = await api.createClip(state.sessionId, body);
    $("clip-status").textContent = `Clip made: ${clipSpan(clip)}.`;
    refreshSummary();
    refreshSessionsSoon();
  } catch (error) {
    $("clip-status").textContent = `Could not make the clip: ${error.message}`;
  }
});

function renderClip(clip, mediaType) {
  const item = clipItem(clip);
  const preview = clipButton(clip, "preview-clip", "preview");
  preview.addEventListener("click", () => previewClip(clip, false));
  const showIt = clipButton(clip, "show-clip", "show to family");
  showIt.addEventListener("click", () => previewClip(clip, true));
  item.append(preview, " ", showIt, " ", clipDownload(state.sessionId, clip, mediaType, tellClipStatus), " ", clipNoteButton(clip));
  item.append(...familyCopyControls(state.sessionId, clip));
  return item;
}

/**
 * "given to the family" and "take back", or "give to the family", for a clip of session
 * `clipSessionId` (the open one, or another of its case): the open session's family saves it on
 * their page with their link; taken back, a copy they saved already stays theirs. Offered where the
 * relay gives copies (a copy given before it stopped can still be taken back).
 */
function familyCopyControls(clipSessionId, clip) {
  const given = state.givenCopies.get(clip.clipId);
  if (!state.familyCopies && !given) return [];
  const said = given?.fetchedAt ? "given to the family, who fetched it" : "given to the family";
  return [...(given ? [" ", el("span", { className: "given" }, said)] : []), " ", familyCopyButton(clipSessionId, clip, !given)];
}

function familyCopyButton(clipSessionId, clip, give) {
  const b = clipButton(clip, give ? "give-clip" : "take-back-clip", give ? "give to the family" : "take back");
  // Said beside the list the clip is in: the open session's clips, or the case's under the review.
  const tell = clipSessionId === state.sessionId ? tellClipStatus : (text) => { $("review-status").textContent = text; };
  b.addEventListener("click", async () => {
    b.disabled = true;
    try {
      await api.familyCopy(state.sessionId, clip.clipId, give, clipSessionId);
      tell(give ? `The family can now save the clip ${clipSpan(clip)} on their page, to keep.`
        : "Taken back: the family can no longer save that clip (a copy they saved already stays theirs).");
      refreshSummary();
    } catch (error) {
      b.disabled = false;
      tell(`Could not ${give ? "give the clip to" : "take the clip back from"} the family: ${error.message}`);
    }
  });
  return b;
}

// Clips play here through Media Source Extensions, as on the family's page: a browser's own file
// player may not seek in a live WebM (Chrome cannot play Firefox's recordings from a file).
const reviewPlayer = new MsePlayer($("review-video"), { live: false });
/** Clips loaded to show, by "sessionId/clipId" (the case's other sessions' clips too). */
const clipBytes = new Map();
/** The clips of the open session's case cut in its other sessions: a review shows the filming's. */
const caseClips = new CaseClips((sessionId, clip, toFamily) => previewClip(clip, toFamily, sessionId),
                                (sessionId, clip) => familyCopyControls(sessionId, clip));

/**
 * The family withdrew consent, or its videos were deleted: no clip of them stays on this page, and
 * none is shown to the family again (a returning family is otherwise sent the last clip). A screen
 * share is not a clip and goes on.
 */
function forgetClips() {
  const held = clipBytes.size > 0 || Boolean(state.review?.clip);
  clipBytes.clear();
  watch.close();
  if (state.review?.clip) state.review.end();
  if (!held || state.screenSender) return;
  reviewPlayer.clear();
  $("review-status").textContent = "The family's videos were deleted: no clip is shown.";
  $("stop-review").disabled = true;
}
async function loadClip(sessionId, clipId) {
  const key = `${sessionId}/${clipId}`;
  if (!clipBytes.has(key)) {
    const blob = await api.clipBlob(sessionId, clipId);
    clipBytes.set(key, new Uint8Array(await blob.arrayBuffer()));
  }
  return clipBytes.get(key);
}

/** Plays a clip of the open session (or, `sessionId`, of another of its case) here, and to the family. */
async function previewClip(clip, toFamily, sessionId = state.sessionId) {
  try {
    const bytes = await loadClip(sessionId, clip.clipId);
    const video = $("review-video");
    stopScreenShare();
    state.review.stopMirroring();
    reviewPlayer.onready = () => { video.currentTime = reviewPlayer.startTime; };
    reviewPlayer.load(bytes);
    if (toFamily) {
      state.review.showClip(video, clip.clipId, bytes);
      $("review-status").textContent = "The family sees this clip. Play, pause and seek here: their player follows.";
      $("stop-review").disabled = false;
    } else {
      $("review-status").textContent = "Preview (only you).";
    }
  } catch (error) {
    $("review-status").textContent = `Could not load the clip: ${error.message}`;
  }
}

// --- shared review: screen -------------------------------------------------------------------
$("share-screen").addEventListener("click", async () => {
  let stream;
  try {
    stream = await navigator.mediaDevices.getDisplayMedia({ video: { frameRate: 15 }, audio: true });
  } catch (error) {
    $("review-status").textContent = `Screen sharing did not start: ${error.message}`;
    return;
  }
  state.review.stopMirroring();
  stopScreenShare();
  // The player below shows what the family sees: the screen itself, not the last clip.
  reviewPlayer.clear();
  $("review-video").muted = true;
  $("review-video").srcObject = stream;
  $("review-video").play().catch(() => {});
  state.connection.send(signal({ review: "screen" }));
  // On a slow upload the screen goes at what the link carries (docs/PROTOCOL.md, "Slow links"), and this page says so.
  const screenBitrate = (bitrate, target) => {
    $("review-status").textContent = bitrate < target
      ? `The family sees your screen. Your connection is slow, so it goes at about ${Math.round(bitrate / 1000)} kbit/s: less sharp, but live.`
      : "The family sees your screen.";
  };
  state.screenSender = new StreamSender(state.connection, stream, STREAM_SCREEN, { videoBitsPerSecond: 1_500_000, onBitrate: screenBitrate });
  state.screenSender.start();
  stream.getVideoTracks()[0].addEventListener("ended", () => { stopScreenShare(); state.review.end(); });
  $("review-status").textContent = "The family sees your screen.";
  $("stop-review").disabled = false;
});

/**
 * What the family is shown in the shared review, again after a drop (or when the family joins): the
 * family's page clears it when this page leaves, and a returning family's page has no clip (the
 * relay keeps none; it replays a screen stream by itself). A screen share is announced again.
 */
function showReviewAgain() {
  if (state.screenSender) state.connection.send(signal({ review: "screen" }));
  else state.review.showClipAgain();
}

/**
 * Nothing shown in the shared review stays when a session opens (another, or the same again): no
 * clip of the family left, no screen share. That family's page clears its view when this page leaves.
 */
function clearReview() {
  state.review?.stopMirroring();
  stopScreenShare();
  reviewPlayer.clear();
  $("review-status").textContent = "";
  $("stop-review").disabled = true;
}

function stopScreenShare() {
  if (!state.screenSender) return;
  $("review-video").srcObject = null;
  $("review-video").muted = false;
  state.screenSender.stop();
  state.screenSender.stream.getTracks().forEach((t) => t.stop());
  state.screenSender = null;
}

$("stop-review").addEventListener("click", () => {
  stopScreenShare();
  state.review.end();
  $("review-status").textContent = "Not showing anything.";
  $("stop-review").disabled = true;
});

renderSessions();
renderCycles();
renderSupervised();
window.__vigrelay = { state, live, awake, get clipsHeld() { return clipBytes.size; } };
