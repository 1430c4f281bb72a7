// One WebSocket session with the relay: hello, welcome, messages, a heartbeat, and reconnection with backoff.
import { FLAG_INIT, SUBPROTOCOL, catchUp, hello, pacingPing, ping, sessionSocketUrl, decodeFrame } from "./protocol.js";

/** Close codes after which reconnecting cannot help. */
const FINAL_CLOSES = new Set([1000, 1002, 1008, 4001, 4404]);
/** Waits before each try to reach the relay again (the last repeats). */
export const BACKOFF_MS = [500, 1000, 2000, 4000, 8000, 10000];

/**
 * The heartbeat's timing. A network that goes silent (Wi-Fi gone, a phone out of range: packets
 * just stop, no reset) closes nothing: the browser notices after minutes, the relay after ~70 s.
 * Pages cannot send WebSocket pings, so each sends `{"type":"ping"}` (docs/PROTOCOL.md) and counts
 * any message received, text or binary, as life. The values:
 * - pingEveryMs 5 s: a pong a few seconds apart even when nothing else flows (no peer, no camera),
 *   at 30 bytes each way, nothing on any link.
 * - silenceLimitMs 12 s: more than two ping intervals, so one pong lost or late behind queued media
 *   never cuts a live link, and the drop is still seen within ~15 s (the relay's own limit is 70 s).
 *   A busy link delivers something far more often (a camera sends a frame every 100 ms); what it
 *   cannot cover is one single message that takes longer than this to arrive (the browser shows only
 *   whole messages), e.g. a multi-megabyte clip on a link below ~2 Mbit/s.
 * - checkEveryMs 1 s: how often the clock is read; times are measured, not ticks counted, so a
 *   throttled timer in a background tab only checks later, it never cuts early.
 * The same limit applies from a new socket's start to its first bytes, so an attempt made into a
 * silent network is given up after it too, and tried again.
 */
export const HEARTBEAT = Object.freeze({ pingEveryMs: 5000, silenceLimitMs: 12000, checkEveryMs: 1000 });

/**
 * Keeps a session connection open. Events (EventTarget): "state" (detail {state, attempt, code,
 * silent}: `silent` when the heartbeat gave up on a connection that received nothing for
 * HEARTBEAT.silenceLimitMs), "welcome" (detail: the welcome), "message" (detail: JSON object;
 * pongs are kept here), "pong" (detail: {id, relayMs}, for a ping sent with `ping(id)`), "frame" (detail:
 * decoded frame).
 * state is "connecting", "open", "reconnecting" or "closed".
 */
export class RelayConnection extends EventTarget {
  /** `notices`: the optional messages to ask for in every hello (e.g. "family_link_refused"). */
  constructor(sessionId, token, { notices = [] } = {}) {
    super();
    this.sessionId = sessionId;
    this.token = token;
    this.notices = notices;
    this.ws = null;
    this.attempt = 0;
    this.stopped = false;
    this.timer = null;
    this.welcomed = false;
    /** The heartbeat's interval while started (see HEARTBEAT). */
    this.heartbeat = null;
    /** performance.now() when this.ws started or last received anything. */
    this.lastHeardAt = 0;
    /** performance.now() of the last ping sent on this.ws. */
    this.lastPingAt = 0;
    /** Bytes handed to the sockets in all (text as its length): what a pong says has gone out. */
    this.bytesSent = 0;
    /** Per stream: init segments received on this socket (what `catch_up` says; see downlink.js). */
    this.starts = {};
  }

  start() {
    this.stopped = false;
    clearInterval(this.heartbeat);
    this.heartbeat = setInterval(() => this.beat(), HEARTBEAT.checkEveryMs);
    this.open();
  }

  /** Ends the session on purpose (bye) and stops reconnecting. */
  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    clearInterval(this.heartbeat);
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
    const text = JSON.stringify(message);
    this.ws.send(text);
    this.bytesSent += text.length;
    return true;
  }

  sendBinary(buffer) {
    if (!this.isOpen) return false;
    this.ws.send(buffer);
    this.bytesSent += buffer.byteLength;
    return true;
  }

  /**
   * Sends a ping whose pong comes back as a "pong" event with this `id` and the relay's time when
   * it got the ping (`relayMs`; see UplinkPacer).
   */
  ping(id) {
    return this.send(pacingPing(id));
  }

  /**
   * Asks the relay to skip this page to the present of `stream` (docs/PROTOCOL.md, "Slow viewers"),
   * saying how many of its init segments came on this socket, so that an ask about a stream that has
   * since ended (a clip may be on its way) is not taken for one about the next.
   */
  catchUp(stream) {
    return this.send(catchUp(this.starts[stream] ?? 0));
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
    this.starts = {};
    this.lastHeardAt = performance.now();
    ws.onopen = () => {
      this.lastHeardAt = performance.now();
      ws.send(JSON.stringify(hello(this.token, this.notices)));
    };
    ws.onmessage = (event) => {
      if (ws !== this.ws) return;
      this.lastHeardAt = performance.now();
      if (typeof event.data !== "string") {
        const frame = decodeFrame(event.data);
        if (!frame) return;
        if (frame.flags & FLAG_INIT) this.starts[frame.stream] = (this.starts[frame.stream] ?? 0) + 1;
        this.emit("frame", frame);
        return;
      }
      let message;
      try { message = JSON.parse(event.data); } catch { return; }
      if (message.type === "welcome") {
        this.welcomed = true;
        this.attempt = 0;
        this.lastPingAt = performance.now();
        this.emit("state", { state: "open" });
        this.emit("welcome", message);
      } else if (message.type === "pong") {
        if (message.id !== undefined) this.emit("pong", { id: message.id, relayMs: message.relayMs });
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
        clearInterval(this.heartbeat);
        this.emit("state", { state: "closed", code: event.code, reason: event.reason });
        return;
      }
      this.reconnectLater({ code: event.code });
    };
  }

  /** Waits the backoff for this attempt, saying so ("reconnecting"), then opens a new socket. */
  reconnectLater(detail) {
    const delay = BACKOFF_MS[Math.min(this.attempt, BACKOFF_MS.length - 1)];
    this.attempt += 1;
    this.emit("state", { state: "reconnecting", attempt: this.attempt, ...detail });
    this.timer = setTimeout(() => this.open(), delay);
  }

  /**
   * The heartbeat (every HEARTBEAT.checkEveryMs while started): pings an open connection every
   * HEARTBEAT.pingEveryMs, and drops a socket, open or still connecting, that has received nothing
   * for HEARTBEAT.silenceLimitMs.
   */
  beat() {
    const ws = this.ws;
    if (this.stopped || !ws || ws.readyState > WebSocket.OPEN) return; // closed: the backoff timer runs
    const now = performance.now();
    if (now - this.lastHeardAt > HEARTBEAT.silenceLimitMs) {
      this.dropSilent(ws);
    } else if (this.isOpen && now - this.lastPingAt >= HEARTBEAT.pingEveryMs) {
      this.lastPingAt = now;
      this.send(ping());
    }
  }

  /**
   * Gives up on a socket that went silent: stops listening to it (whatever it says later, a
   * `replaced` included, is no longer this page's business), closes it without waiting for the
   * relay's answer, and reconnects exactly as after a close.
   */
  dropSilent(ws) {
    ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
    ws.close();
    this.ws = null;
    this.welcomed = false;
    this.reconnectLater({ silent: true });
  }
}
