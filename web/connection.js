// One WebSocket session with the relay: hello, welcome, messages, and reconnection with backoff.
import { SUBPROTOCOL, hello, sessionSocketUrl, decodeFrame } from "./protocol.js";

/** Close codes after which reconnecting cannot help. */
const FINAL_CLOSES = new Set([1000, 1002, 1008, 4001, 4404]);
const BACKOFF_MS = [500, 1000, 2000, 4000, 8000, 10000];

/**
 * Keeps a session connection open. Events (EventTarget): "state" (detail {state, attempt, code}),
 * "welcome" (detail: the welcome), "message" (detail: JSON object), "frame" (detail: decoded frame).
 * state is "connecting", "open", "reconnecting" or "closed".
 */
export class RelayConnection extends EventTarget {
  constructor(sessionId, token) {
    super();
    this.sessionId = sessionId;
    this.token = token;
    this.ws = null;
    this.attempt = 0;
    this.stopped = false;
    this.timer = null;
    this.welcomed = false;
  }

  start() {
    this.stopped = false;
    this.open();
  }

  /** Ends the session on purpose (bye) and stops reconnecting. */
  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify({ type: "bye" }));
    this.ws?.close(1000);
    this.emit("state", { state: "closed" });
  }

  get isOpen() {
    return this.welcomed && this.ws?.readyState === WebSocket.OPEN;
  }

  get bufferedAmount() {
    return this.ws ? this.ws.bufferedAmount : 0;
  }

  send(message) {
    if (!this.isOpen) return false;
    this.ws.send(JSON.stringify(message));
    return true;
  }

  sendBinary(buffer) {
    if (!this.isOpen) return false;
    this.ws.send(buffer);
    return true;
  }

  emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  open() {
    this.welcomed = false;
    this.emit("state", { state: this.attempt === 0 ? "connecting" : "reconnecting", attempt: this.attempt });
    const ws = new WebSocket(sessionSocketUrl(this.sessionId), SUBPROTOCOL);
    ws.binaryType = "arraybuffer";
    this.ws = ws;
    ws.onopen = () => ws.send(JSON.stringify(hello(this.token)));
    ws.onmessage = (event) => {
      if (ws !== this.ws) return;
      if (typeof event.data !== "string") {
        const frame = decodeFrame(event.data);
        if (frame) this.emit("frame", frame);
        return;
      }
      let message;
      try { message = JSON.parse(event.data); } catch { return; }
      if (message.type === "welcome") {
        this.welcomed = true;
        this.attempt = 0;
        this.emit("state", { state: "open" });
        this.emit("welcome", message);
      } else {
        this.emit("message", message);
      }
    };
    ws.onclose = (event) => {
      if (ws !== this.ws) return;
      this.welcomed = false;
      if (this.stopped) return;
      if (FINAL_CLOSES.has(event.code)) {
        this.stopped = true;
        this.emit("state", { state: "closed", code: event.code, reason: event.reason });
        return;
      }
      const delay = BACKOFF_MS[Math.min(this.attempt, BACKOFF_MS.length - 1)];
      this.attempt += 1;
      this.emit("state", { state: "reconnecting", attempt: this.attempt, code: event.code });
      this.timer = setTimeout(() => this.open(), delay);
    };
  }
}
