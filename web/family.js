// The family's page: consent, camera, streaming to the practitioner, recording indicator,
// withdrawal, and the practitioner's shared screen or clip during the shared review.
import { BACKOFF_MS, RelayConnection } from "./connection.js";
import { StreamSender } from "./sender.js";
import { MsePlayer } from "./player.js";
import { CATCH_UP } from "./downlink.js";
import { consent, RECORDING_ACTIVE, retentionPeriod, signal, STREAM_SCREEN } from "./protocol.js";
import { inviteStatus, parseInviteFragment } from "./invite.js";
import { ReviewFollower } from "./review.js";
import { $, show, showFor } from "./dom.js";
import { ScreenAwake } from "./awake.js";
import { FamilyCopies } from "./copies.js";

/**
 * The invite, a bearer token valid for days, comes in the link's fragment. It is taken out of the
 * address bar and the history at once (a family phone is often shared, and its history synced), and
 * kept for this tab only, so a reload still joins.
 */
function takeInvite() {
  const fromLink = parseInviteFragment(location.hash);
  if (fromLink) {
    try { sessionStorage.setItem("vigrelay.invite", JSON.stringify(fromLink)); } catch { /* storage off: this load only */ }
    history.replaceState(null, "", location.pathname + location.search);
    return fromLink;
  }
  try {
    const kept = JSON.parse(sessionStorage.getItem("vigrelay.invite") ?? "null");
    return typeof kept?.session === "string" && typeof kept?.invite === "string" ? kept : null;
  } catch {
    return null;
  }
}

const invite = takeInvite();
const ui = {
  consent: $("consent-recording"), child: $("consent-child"), childHint: $("child-hint"),
  supervisor: $("consent-supervisor"), supervisorChoice: $("supervisor-choice"),
  join: $("join"), joinProblem: $("join-problem"), facing: $("camera-facing"),
  before: $("before"), joinBox: $("join-box"), during: $("during"), left: $("left"), consentBox: $("consent-box"),
  connection: $("connection-status"), recording: $("recording-status"),
  preview: $("preview"), sharedBox: $("shared-box"), shared: $("shared-screen"),
  withdraw: $("withdraw"), withdrawStatus: $("withdraw-status"), leave: $("leave"),
  deleteBox: $("delete-box"), deleteVideos: $("delete-videos"), retention: $("retention-hint"),
  cameraStopped: $("camera-stopped"), cameraAgain: $("camera-again"), cameraAgainProblem: $("camera-again-problem"),
  cameraSwitch: $("camera-switch"), cameraSwitchProblem: $("camera-switch-problem"), cameraSlow: $("camera-slow"),
  screenSlow: $("screen-slow"), awakeHint: $("awake-hint"),
};

let connection = null;
let sender = null;
let camera = null;
let everConnected = false;
/** A deletion asked for outside the call is being sent (over HTTP, see deleteWithoutCamera). */
let deleting = false;
/** In the call: joined, and not left nor ended (another tab took it, or the link was refused). */
const inCall = () => connection !== null && !connection.stopped;
/** A consent answer changed while disconnected (after the first welcome): sent with the next one. */
let consentChanged = false;
/** The relay refused this link as the page opened (see inviteRefusal): nothing to join. */
let linkRefused = false;

/**
 * The family asked for the videos to be deleted and the relay has not yet answered that they are
 * (`recording` `deleted`). Kept for this tab, so a dropped connection, a reload or a closed call
 * still sends it: with every welcome until the answer comes.
 */
const withdrawal = {
  key: "vigrelay.withdrawal",
  memory: false,
  get asked() {
    try { return sessionStorage.getItem(this.key) === invite?.session; } catch { return this.memory; }
  },
  set asked(on) {
    this.memory = on;
    try {
      if (on) sessionStorage.setItem(this.key, invite.session); else sessionStorage.removeItem(this.key);
    } catch { /* storage off: this load only */ }
  },
};
const screenPlayer = new MsePlayer(ui.shared);
// The practitioner's screen arrives seconds late: the relay skips this page to the present
// (docs/PROTOCOL.md, "Slow viewers"); frames it skipped mean this page's download is slow, and the
// family is told why the screen jumps.
screenPlayer.onlate = () => connection?.catchUp(STREAM_SCREEN);
const review = new ReviewFollower(ui.shared, screenPlayer);
/** The clips the practitioner gave the family to keep, where the relay gives copies. */
const copies = new FamilyCopies(invite);

if (!invite) {
  show($("link-problem"));
  ui.join.disabled = true;
  ui.deleteVideos.disabled = true;
} else {
  // Asked as the page opens, so that a family on a link that expired or was replaced is told at once
  // and never starts the camera. Not asked again on "join": a phone may refuse the camera once a
  // network round trip has passed since the tap (a link replaced meanwhile is refused at hello).
  // A refusal is told to the practitioner too, who may be waiting in the session.
  inviteStatus(invite, { fromFamily: true }).then(({ refusal, supervised, familyCopies }) => {
    if (refusal && !connection) showLinkRefused(refusal);
    if (supervised) showSupervisorChoice(true);
    if (familyCopies) copies.offered(true);
  });
  // Asked before this page was reloaded, and not yet answered.
  if (withdrawal.asked) deleteWithoutCamera();
}

/** What the family is told when the relay refuses its link (`code`: the refusal's). */
function refusedLinkMessage(code) {
  return (code === "invite_replaced"
    ? "Your practitioner has sent you a newer link for this call, so this one no longer works: please open the newest link they sent. "
    : "We could not connect with this link. It may have expired: please ask your practitioner for a new one. ")
    + "You can still have the videos of this call deleted with the button below.";
}

/** A link the relay refused before the call: said at the top, and nothing left to join with. */
function showLinkRefused(code) {
  linkRefused = true;
  const problem = $("link-problem");
  problem.textContent = refusedLinkMessage(code);
  show(problem);
  for (const part of [ui.before, ui.consentBox, ui.joinBox]) show(part, false);
  ui.join.disabled = true;
}

ui.child.addEventListener("change", () => show(ui.childHint, ui.child.checked));
ui.consent.addEventListener("change", sendConsent);
ui.child.addEventListener("change", () => { if (ui.consent.checked) sendConsent(); });
// The supervisor's access, given or taken back, counts only with consent to recording: sent with it.
ui.supervisor.addEventListener("change", () => { if (ui.consent.checked) sendConsent(); });

/**
 * Shows the supervisor box only for a session whose practitioner named a supervisor (the link check
 * and `welcome` say so): anywhere else it would agree to nobody.
 */
function showSupervisorChoice(supervised) {
  show(ui.supervisorChoice, supervised);
  if (!supervised) ui.supervisor.checked = false;
}

/** The family's answers as ticked now, as the consent message. */
const consentAsTicked = () => consent(ui.consent.checked, ui.child.checked, ui.supervisor.checked);

function sendConsent() {
  if (!ui.consent.checked && everConnected) {
    withdraw();  // unticked during the call: a withdrawal, with its answer shown
  } else if (connection?.isOpen) {
    connection.send(consentAsTicked());
  } else if (everConnected) {
    consentChanged = true;
  }
}

/** The screen stays on during the call: a phone propped up to film turns it off after a minute or
 * two untouched, and its browser then stops the camera. Where the phone will not keep it on, the
 * family is told how to. */
const awake = new ScreenAwake((state) => show(ui.awakeHint, state === "unsupported" || state === "refused"));

// The practitioner hears when this page goes off screen during the call (another app, the phone
// locked by hand): a phone's browser then pauses the camera, and their picture stops.
document.addEventListener("visibilitychange", () => {
  if (ui.during.hidden || !connection?.isOpen) return;
  connection.send(signal({ page: document.visibilityState === "visible" ? "visible" : "hidden" }));
});

ui.join.addEventListener("click", async () => {
  show(ui.joinProblem, false);
  ui.join.disabled = true;
  try {
    camera = await openCamera();
  } catch (error) {
    ui.joinProblem.textContent = "We could not start your camera. Please allow this page to use the camera and microphone, then try again.";
    show(ui.joinProblem);
    ui.join.disabled = false;
    return;
  }
  if (linkRefused) {
    // Refused while the camera was being asked for: no call to join.
    stopCamera();
    return;
  }
  ui.preview.srcObject = camera;
  watchCamera(camera);
  offerCameraSwitch();
  show(ui.before, false);
  show(ui.joinBox, false);
  show(ui.deleteBox, false);
  // A deletion asked for outside the call and not yet answered goes on in the call (sent with its
  // welcome): the tries over HTTP stop once there is a call.
  // On a phone the call comes first (recording indicator, what is shown, the camera); the consent
  // choices stay on the page below it, and a deletion's progress shows right under its button.
  // Moved in the document, so the tab order follows.
  ui.withdraw.parentElement.after(ui.withdrawStatus);
  ui.during.append(ui.consentBox);
  show(ui.during);
  awake.keep();
  connect();
});

/** A camera, with sound: `video` says which (a facing mode or a device). */
function getCamera(video) {
  return navigator.mediaDevices.getUserMedia({ video: { ...video, width: { ideal: 1280 }, height: { ideal: 720 } }, audio: true });
}

/**
 * The camera the family chose (front or back), or, started again, the one it had (`deviceId`; if
 * that one is gone, one facing the chosen way).
 */
async function openCamera(deviceId) {
  if (deviceId) {
    try {
      return await getCamera({ deviceId: { exact: deviceId } });
    } catch { /* unplugged or taken: any camera facing the chosen way */ }
  }
  return getCamera({ facingMode: ui.facing.value });
}

/** The device's cameras. */
async function videoInputs() {
  return (await navigator.mediaDevices.enumerateDevices()).filter((d) => d.kind === "videoinput");
}

/** Which camera a stream comes from. */
function deviceOf(stream) {
  return stream?.getVideoTracks()[0]?.getSettings().deviceId ?? "";
}

function stopStream(stream) {
  stream?.getTracks().forEach((t) => t.stop());
}

/**
 * The family can switch between the phone's cameras during the call (the back one films the room
 * better; the front one shows them themselves): offered when the device has more than one.
 */
async function offerCameraSwitch() {
  try {
    show(ui.cameraSwitch, (await videoInputs()).length > 1);
  } catch {
    show(ui.cameraSwitch, false);  // cannot tell: offer nothing that may not work
  }
}

/**
 * The camera facing the other way (front and back, on a phone), or, where cameras do not say which
 * way they face (a laptop with a second camera), the next one. Throws when there is no other.
 */
async function openOtherCamera(from) {
  const facing = ui.facing.value === "user" ? "environment" : "user";
  try {
    const stream = await getCamera({ facingMode: { exact: facing } });
    if (deviceOf(stream) !== from) {
      ui.facing.value = facing;
      return stream;
    }
    stopStream(stream);
  } catch { /* no camera says it faces that way: take the next one */ }
  const cameras = await videoInputs();
  const next = cameras[(cameras.findIndex((d) => d.deviceId === from) + 1) % cameras.length];
  if (!next || next.deviceId === from) throw new Error("no other camera");
  return getCamera({ deviceId: { exact: next.deviceId } });
}

/**
 * Puts a newly opened camera in the old one's place: the preview, the watch for it stopping, and a
 * new stream to the relay (a recording running goes on with it as its next part).
 */
function useCamera(stream) {
  if (stream !== camera) stopStream(camera);
  camera = stream;
  ui.preview.srcObject = stream;
  watchCamera(stream);
  sender.stream = stream;
  if (connection.isOpen) sender.start();  // else the next welcome starts it
}

/** Nothing reaches the practitioner until the family starts the camera again: both are told. */
function cameraStopped() {
  sender.stop();
  show(ui.cameraSwitch, false);  // the one thing to do now is start it again
  ui.connection.textContent = "Connected, but your camera has stopped.";
  ui.connection.className = "status warn";
  show(ui.cameraAgainProblem, false);
  show(ui.cameraStopped);
  connection.send(signal({ camera: "stopped" }));
}

/**
 * The camera can stop by itself during the call: a phone call or another app takes it, its
 * permission is taken back, it is unplugged. Nothing then reaches the practitioner, so the family
 * is asked to start it again (a tap: a phone may not give the camera to a page without one), and the
 * practitioner's page is told. A recording running goes on with the new stream as its next part.
 */
function watchCamera(stream) {
  for (const track of stream.getVideoTracks()) {
    track.addEventListener("ended", () => {
      if (stream === camera && inCall()) cameraStopped();
    });
  }
}

ui.cameraAgain.addEventListener("click", async () => {
  ui.cameraAgain.disabled = true;
  show(ui.cameraAgainProblem, false);
  let stream;
  try {
    stream = await openCamera(deviceOf(camera));
  } catch {
    show(ui.cameraAgainProblem);
    return;
  } finally {
    ui.cameraAgain.disabled = false;
  }
  if (!inCall()) {  // left, or the call ended, while the camera was being asked for
    stopStream(stream);
    return;
  }
  useCamera(stream);
  offerCameraSwitch();
  show(ui.cameraStopped, false);
  ui.connection.textContent = "Your camera is on again.";
  ui.connection.className = "status ok";
  connection.send(signal({ camera: "on" }));
});

ui.cameraSwitch.addEventListener("click", async () => {
  ui.cameraSwitch.disabled = true;
  show(ui.cameraSwitchProblem, false);
  const from = deviceOf(camera);
  // A phone opens one camera at a time: this one stops first (stop() does not fire "ended").
  sender.stop();
  stopStream(camera);
  let stream = null, switched = true;
  try {
    stream = await openOtherCamera(from);
  } catch {
    switched = false;
    try { stream = await openCamera(from); } catch { stream = null; }
  } finally {
    ui.cameraSwitch.disabled = false;
  }
  if (!inCall()) {
    stopStream(stream);
    return;
  }
  if (!stream) {
    cameraStopped();
    return;
  }
  useCamera(stream);
  show(ui.cameraSwitchProblem, !switched);
  if (switched) connection.send(signal({ camera: "switched" }));
});

function connect() {
  connection = new RelayConnection(invite.session, invite.invite);
  sender = new StreamSender(connection, camera, 1, { onBitrate: cameraBitrateChanged });
  connection.addEventListener("state", (e) => onState(e.detail));
  connection.addEventListener("welcome", (e) => onWelcome(e.detail));
  connection.addEventListener("message", (e) => onMessage(e.detail));
  connection.addEventListener("frame", (e) => {
    if (e.detail.stream !== STREAM_SCREEN) return;
    showShared(true);
    review.frame(e.detail);
  });
  connection.start();
}

/**
 * The sender changed the camera's bitrate to keep up with this link (UplinkPacer): the family is
 * told in plain words, and the practitioner by a signal (docs/PROTOCOL.md, "Slow links").
 */
function cameraBitrateChanged(bitrate, target) {
  show(ui.cameraSlow, bitrate < target);
  if (bitrate < target) tellSlowCamera(); else connection.send(signal({ camera: "full" }));
}

/** Tells the practitioner the camera is lowered, if it is (also when they come, or come back). */
function tellSlowCamera() {
  if (sender.pacer.bitrate < sender.pacer.targetBps) connection.send(signal({ camera: "slow", bitsPerSecond: sender.pacer.bitrate }));
}

function onState({ state, code, reason }) {
  if (state === "reconnecting") {
    sender.stop();
    screenPlayer.gap();
    ui.connection.textContent = "The connection dropped. Reconnecting…";
    ui.connection.className = "status warn";
  } else if (state === "closed" && code !== undefined && code !== 1000) {
    // The call cannot go on here: the camera goes off, so it is never on without a call.
    stopCamera();
    ui.connection.textContent = code === 4001
      ? "This call was opened on another device or tab, so it stopped here."
      : refusedLinkMessage(reason);
    ui.connection.className = "status warn";
  }
}

function onWelcome(welcome) {
  showRetention(welcome.retentionSeconds);
  showSupervisorChoice(welcome.supervised === true);
  ui.connection.textContent = everConnected ? "Connected again." : welcome.peerPresent
    ? "Connected. Your practitioner can see you." : "Connected. Waiting for your practitioner to join.";
  ui.connection.className = "status ok";
  // A recording still running is announced right after welcome ("running"); one that ended while
  // this page was disconnected is not, so the indicator starts off on every (re)connection.
  showRecording({ state: "unknown" });
  if (withdrawal.asked) {
    connection.send(consent(false));
    showWithdrawal("Recording stopped. Deleting the videos…");
    // Consent given again since: for what is recorded from now on.
    if (ui.consent.checked) connection.send(consentAsTicked());
  } else if (consentChanged || (!everConnected && ui.consent.checked)) {
    sendConsent();
  }
  consentChanged = false;
  everConnected = true;
  copies.offered(welcome.familyCopies === true);
  if (ui.cameraStopped.hidden) sender.start();  // else it starts once the family starts the camera again
  if (welcome.peerPresent) tellSlowCamera();
}

/** How long the videos are kept, as the relay said in welcome (nothing when it keeps them until deleted). */
function showRetention(seconds) {
  const period = retentionPeriod(seconds);
  if (period) {
    ui.retention.textContent = `Recorded videos are deleted at the latest ${period} after your last call with your practitioner, `
      + "and at once if you ask.";
  }
  show(ui.retention, Boolean(period));
}

function onMessage(message) {
  if (withdrawalAnswer(message)) return;
  switch (message.type) {
    case "peer":
      if (message.role === "practitioner") {
        ui.connection.textContent = message.event === "joined"
          ? "Your practitioner has joined and can see you." : "Your practitioner has left for now.";
        if (message.event === "joined") tellSlowCamera();
        if (message.event === "left") { showShared(false); screenPlayer.clear(); }
      }
      break;
    case "recording":
      showRecording(message);
      // The recording starts at the camera's next keyframe: make sure one comes at once.
      if (message.state === "started") sender.keyframeSoon();
      break;
    case "consent":
      // The relay's record of the answers (also when rejoining, after a reload): the boxes show it.
      ui.consent.checked = message.recording === true;
      ui.supervisor.checked = message.recording === true && message.supervisorMayView === true;
      break;
    case "supervision":
      // The practitioner named a supervisor during the call, or removed theirs: ask, or stop asking.
      showSupervisorChoice(message.supervised === true);
      break;
    case "signal":
      review.signal(message, () => showShared(true));
      if (message.review === "end") { showShared(false); screenPlayer.clear(); }
      break;
    case "family_copies":
      // The practitioner gave a clip to keep, or took one back.
      copies.refresh();
      break;
    case "skipped":
      if (message.stream !== STREAM_SCREEN) break;
      screenPlayer.skipped(message.frames);
      if (message.frames > 0) showFor(ui.screenSlow, CATCH_UP.noticeMs);
      break;
    default:
      break;
  }
}

/** What the practitioner shows takes the space; the family's own camera shrinks beside it. */
function showShared(on) {
  show(ui.sharedBox, on);
  ui.during.classList.toggle("sharing", on);
}

function showRecording(message) {
  if (RECORDING_ACTIVE.has(message.state)) {
    ui.recording.textContent = "● Recording";
    ui.recording.className = "recording-on";
  } else {
    ui.recording.textContent = "Not recording";
    ui.recording.className = "recording-off";
  }
}

function showWithdrawal(text, problem = false) {
  ui.withdrawStatus.textContent = text;
  ui.withdrawStatus.classList.toggle("warn", problem);
  show(ui.withdrawStatus);
}

/**
 * What the relay says of a deletion, in the call or in answer to a withdrawal over HTTP: the
 * videos are deleted (a withdrawal's answer, or the practitioner deleted them), or deleting failed.
 * True when the message was that.
 */
function withdrawalAnswer(message) {
  if (message.type === "recording" && message.state === "deleted") {
    videosDeleted();
    return true;
  }
  if (message.type === "error" && message.code === "internal_error" && withdrawal.asked) {
    deletionFailed();
    return true;
  }
  return false;
}

function videosDeleted() {
  withdrawal.asked = false;
  copies.refresh();  // the clips went with the videos
  showRecording({ state: "deleted" });
  showWithdrawal("The videos of this call have been deleted.");
}

/** The request stays asked: the next welcome, reload or press sends it again. */
function deletionFailed() {
  showWithdrawal("The videos could not all be deleted just now, because of a problem on the server. "
    + "Please press the delete button again to try again. If it keeps happening, tell your practitioner.", true);
}

/**
 * Stops recording and has the videos deleted: unticks consent, then tells the relay in the call,
 * as soon as the call is connected again, or, outside the call, over HTTP.
 */
function withdraw() {
  ui.consent.checked = false;
  ui.child.checked = false;
  ui.supervisor.checked = false;
  show(ui.childHint, false);
  withdrawal.asked = true;
  if (connection?.send(consent(false))) {
    showWithdrawal("Recording stopped. Deleting the videos…");
  } else if (inCall()) {
    showWithdrawal("Not connected right now: recording will stop and the videos will be deleted as soon as we reconnect.");
  } else {
    deleteWithoutCamera();
  }
}

/**
 * Outside the call (before joining, after leaving, after a reload): asks the relay over HTTP
 * (`POST /v1/sessions/{id}/withdrawal`, which takes the invite even after it expired), without
 * joining the call, and tries again while the relay cannot be reached.
 */
async function deleteWithoutCamera() {
  if (deleting) return;
  deleting = true;
  showWithdrawal("Deleting the videos…");
  try {
    for (let attempt = 0; withdrawal.asked && !inCall(); attempt += 1) {
      let response;
      try {
        response = await fetch(`/v1/sessions/${encodeURIComponent(invite.session)}/withdrawal`, {
          method: "POST", headers: { Authorization: `Bearer ${invite.invite}` }, cache: "no-store", credentials: "omit",
        });
      } catch {
        showWithdrawal("Not connected right now: the videos will be deleted as soon as we reconnect.");
        await new Promise((resolve) => { setTimeout(resolve, BACKOFF_MS[Math.min(attempt, BACKOFF_MS.length - 1)]); });
        continue;
      }
      if (response.ok) {
        videosDeleted();
      } else if (response.status === 500) {
        deletionFailed();
      } else {
        showWithdrawal("This link can no longer be used to delete the videos. Please ask your practitioner to delete them.", true);
      }
      return;
    }
  } finally {
    deleting = false;
  }
}

ui.withdraw.addEventListener("click", withdraw);
ui.deleteVideos.addEventListener("click", withdraw);

/** Stops sending and turns the camera off (its light too). */
function stopCamera() {
  awake.release();
  sender?.stop();
  stopStream(camera);
  ui.preview.srcObject = null;
}

ui.leave.addEventListener("click", () => {
  stopCamera();
  connection?.stop();
  show(ui.during, false);
  show(ui.left);
  show(ui.deleteBox);
  ui.deleteBox.after(ui.withdrawStatus);
});


// For automated checks and debugging in the console.
window.__vigrelay = { get connection() { return connection; }, get sender() { return sender; }, get camera() { return camera; }, screen: screenPlayer, awake };
