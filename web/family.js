// The family's page: consent, camera, streaming to the practitioner, recording indicator,
// withdrawal, and the practitioner's shared screen or clip during the shared review.
import { RelayConnection } from "./connection.js";
import { StreamSender } from "./sender.js";
import { MsePlayer } from "./player.js";
import { consent, parseInviteFragment, RECORDING_ACTIVE, STREAM_SCREEN } from "./protocol.js";
import { ReviewFollower } from "./review.js";
import { $, show } from "./dom.js";

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
  join: $("join"), joinProblem: $("join-problem"), facing: $("camera-facing"),
  before: $("before"), joinBox: $("join-box"), during: $("during"), left: $("left"), consentBox: $("consent-box"),
  connection: $("connection-status"), recording: $("recording-status"),
  preview: $("preview"), sharedBox: $("shared-box"), shared: $("shared-screen"),
  withdraw: $("withdraw"), withdrawStatus: $("withdraw-status"), leave: $("leave"),
};

let connection = null;
let sender = null;
let camera = null;
let everConnected = false;
/** A withdrawal asked for while disconnected: sent with the next welcome. */
let pendingWithdrawal = false;
/** A consent answer changed while disconnected (after the first welcome): sent with the next one. */
let consentChanged = false;
const screenPlayer = new MsePlayer(ui.shared);
const review = new ReviewFollower(ui.shared, screenPlayer);

if (!invite) {
  show($("link-problem"));
  ui.join.disabled = true;
}

ui.child.addEventListener("change", () => show(ui.childHint, ui.child.checked));
ui.consent.addEventListener("change", sendConsent);
ui.child.addEventListener("change", () => { if (ui.consent.checked) sendConsent(); });

function sendConsent() {
  if (connection?.isOpen) {
    connection.send(consent(ui.consent.checked, ui.child.checked));
  } else if (everConnected) {
    consentChanged = true;
    if (!ui.consent.checked) {
      ui.withdrawStatus.textContent = "Not connected right now: recording will stop and the videos will be deleted as soon as we reconnect.";
      show(ui.withdrawStatus);
    }
  }
}

ui.join.addEventListener("click", async () => {
  show(ui.joinProblem, false);
  ui.join.disabled = true;
  try {
    camera = await navigator.mediaDevices.getUserMedia({
      video: { facingMode: ui.facing.value, width: { ideal: 1280 }, height: { ideal: 720 } },
      audio: true,
    });
  } catch (error) {
    ui.joinProblem.textContent = "We could not start your camera. Please allow this page to use the camera and microphone, then try again.";
    show(ui.joinProblem);
    ui.join.disabled = false;
    return;
  }
  ui.preview.srcObject = camera;
  show(ui.before, false);
  show(ui.joinBox, false);
  // On a phone the call comes first (recording indicator, what is shown, the camera); the consent
  // choices stay on the page below it. Moved in the document, so the tab order follows.
  ui.during.append(ui.consentBox);
  show(ui.during);
  connect();
});

function connect() {
  connection = new RelayConnection(invite.session, invite.invite);
  sender = new StreamSender(connection, camera, 1);
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

function onState({ state, code }) {
  if (state === "reconnecting") {
    sender.stop();
    screenPlayer.gap();
    ui.connection.textContent = "The connection dropped. Reconnecting…";
    ui.connection.className = "status warn";
  } else if (state === "closed" && code !== undefined && code !== 1000) {
    sender?.stop();
    ui.connection.textContent = code === 4001
      ? "This call was opened on another device or tab, so it stopped here."
      : "We could not connect with this link. It may have expired: please ask your practitioner for a new one.";
    ui.connection.className = "status warn";
  }
}

function onWelcome(welcome) {
  ui.connection.textContent = everConnected ? "Connected again." : welcome.peerPresent
    ? "Connected. Your practitioner can see you." : "Connected. Waiting for your practitioner to join.";
  ui.connection.className = "status ok";
  // A recording still running is announced right after welcome ("running"); one that ended while
  // this page was disconnected is not, so the indicator starts off on every (re)connection.
  showRecording({ state: "unknown" });
  if (pendingWithdrawal) {
    pendingWithdrawal = false;
    connection.send(consent(false));
  } else if (consentChanged || (!everConnected && ui.consent.checked)) {
    sendConsent();
  }
  consentChanged = false;
  everConnected = true;
  sender.start();
}

function onMessage(message) {
  switch (message.type) {
    case "peer":
      if (message.role === "practitioner") {
        ui.connection.textContent = message.event === "joined"
          ? "Your practitioner has joined and can see you." : "Your practitioner has left for now.";
        if (message.event === "left") { showShared(false); screenPlayer.clear(); }
      }
      break;
    case "recording":
      showRecording(message);
      // The recording starts at the camera's next keyframe: make sure one comes at once.
      if (message.state === "started") sender.keyframeSoon();
      break;
    case "consent":
      ui.consent.checked = message.recording === true;
      break;
    case "signal":
      review.signal(message, () => showShared(true));
      if (message.review === "end") { showShared(false); screenPlayer.clear(); }
      break;
    case "skipped":
      if (message.stream === STREAM_SCREEN) screenPlayer.skipped();
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
  if (message.state === "deleted") {
    ui.withdrawStatus.textContent = "The videos of this call have been deleted.";
    show(ui.withdrawStatus);
  }
}

ui.withdraw.addEventListener("click", () => {
  ui.consent.checked = false;
  ui.child.checked = false;
  show(ui.childHint, false);
  if (connection?.send(consent(false))) {
    ui.withdrawStatus.textContent = "Recording stopped. Deleting the videos…";
  } else {
    ui.withdrawStatus.textContent = "Not connected right now: the videos will be deleted as soon as we reconnect.";
    pendingWithdrawal = true;
  }
  show(ui.withdrawStatus);
});

ui.leave.addEventListener("click", () => {
  sender?.stop();
  connection?.stop();
  camera?.getTracks().forEach((t) => t.stop());
  show(ui.during, false);
  show(ui.left);
});


// For automated checks and debugging in the console.
window.__vigrelay = { get connection() { return connection; }, get sender() { return sender; }, screen: screenPlayer };
