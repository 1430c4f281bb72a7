// vigrelay protocol v1 (docs/PROTOCOL.md): media frame headers and the JSON messages the pages send.

export const SUBPROTOCOL = "vigrelay.v1";
export const HEADER_BYTES = 16;
export const STREAM_CAMERA = 1;
export const STREAM_SCREEN = 2;
export const FLAG_INIT = 1;
export const FLAG_KEYFRAME = 2;
export const FLAG_END = 4;

/** The 16-byte big-endian header followed by the payload, as one ArrayBuffer. */
export function encodeFrame({ stream, flags = 0, sequence = 0, timeUs = 0 }, payload) {
  const bytes = new Uint8Array(HEADER_BYTES + payload.byteLength);
  const view = new DataView(bytes.buffer);
  view.setUint8(0, 1);
  view.setUint8(1, stream);
  view.setUint8(2, flags);
  view.setUint8(3, 0);
  view.setUint32(4, sequence >>> 0);
  view.setBigUint64(8, BigInt(Math.max(0, Math.floor(timeUs))));
  bytes.set(new Uint8Array(payload), HEADER_BYTES);
  return bytes.buffer;
}

/** Reads a frame's header; null when the buffer is too short or of another version. */
export function decodeFrame(buffer) {
  if (buffer.byteLength < HEADER_BYTES) return null;
  const view = new DataView(buffer);
  if (view.getUint8(0) !== 1) return null;
  return {
    stream: view.getUint8(1),
    flags: view.getUint8(2),
    sequence: view.getUint32(4),
    timeUs: Number(view.getBigUint64(8)),
    payload: new Uint8Array(buffer, HEADER_BYTES),
  };
}

/** The WebSocket URL of a session on the server that served this page. */
export function sessionSocketUrl(sessionId) {
  return `wss://${location.host}/v1/sessions/${encodeURIComponent(sessionId)}/ws`;
}

/** The first message; `notices`: the optional messages this page wants (docs/PROTOCOL.md, Joining). */
export const hello = (token, notices = []) => (notices.length ? { type: "hello", token, notices } : { type: "hello", token });

/** The relay's `retentionSeconds` (welcome, session list) in words, e.g. "60 days"; null when absent. */
export function retentionPeriod(seconds) {
  if (!Number.isInteger(seconds) || seconds <= 0) return null;
  const [count, unit] = seconds >= 86400 ? [Math.round(seconds / 86400), "day"]
    : seconds >= 3600 ? [Math.round(seconds / 3600), "hour"] : [Math.max(1, Math.round(seconds / 60)), "minute"];
  return `${count} ${unit}${count === 1 ? "" : "s"}`;
}
/**
 * The family's consent answer. `childAgreed` (a child aged 12+ agreed too) and `supervisorMayView`
 * (the practitioner's supervisor may watch the recordings) count only with `recording`, and are
 * sent only when true: consent without `supervisorMayView` takes the supervisor's access back.
 */
export function consent(recording, childAgreed = false, supervisorMayView = false) {
  if (!recording) return { type: "consent", recording };
  const message = { type: "consent", recording: true };
  if (childAgreed) message.childAgreed = true;
  if (supervisorMayView) message.supervisorMayView = true;
  return message;
}
export const record = (action) => ({ type: "record", action });
export const mark = (recordingId, atMs, note) => (note ? { type: "mark", recordingId, atMs, note } : { type: "mark", recordingId, atMs });
/** Removes a mark the relay gave in `marked` (the answer is `unmarked`, or `mark_not_found`). */
export const unmark = (recordingId, markId) => ({ type: "unmark", recordingId, markId });
/** A mark's new note ("" for none). */
export const renote = (recordingId, markId, note) => ({ type: "note", recordingId, markId, note });
export const signal = (body) => ({ ...body, type: "signal" });
/** The heartbeat; the relay answers the sender `{"type":"pong"}` (see connection.js, HEARTBEAT). */
export const ping = () => ({ type: "ping" });
/** A pacing ping (uplink.js): its pong comes back with this `id` and the relay's time of arrival. */
export const pacingPing = (id) => ({ type: "ping", id, clock: true });

/**
 * Asks the relay to skip this viewer to the present of the stream it watches (downlink.js): what
 * waits for it is dropped, and `skipped` comes just before the frame it resumes at. `starts`: the
 * stream's init segments received on this connection.
 */
export const catchUp = (starts) => ({ type: "catch_up", starts });

/** Recording states during which the camera is being recorded. */
export const RECORDING_ACTIVE = new Set(["started", "running"]);
