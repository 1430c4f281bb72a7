// MediaRecorder -> media frames over the relay: one recorder per connection, first chunk flagged
// as init segment, a new recorder (new init segment) after a reconnect or when the link falls behind.
import { encodeFrame, FLAG_INIT } from "./protocol.js";

/** Types tried in order: WebM first, fragmented MP4 (Safari) otherwise. */
const TYPES = [
  "video/webm;codecs=vp8,opus", "video/webm;codecs=vp9,opus", "video/webm;codecs=vp8", "video/webm",
  "video/mp4;codecs=avc1,mp4a.40.2", "video/mp4",
];
/** Bytes waiting in the WebSocket above which chunks are dropped and the recorder restarted. */
const MAX_BUFFERED = 4 * 1024 * 1024;
const TIMESLICE_MS = 100;

export function pickMimeType() {
  if (typeof MediaRecorder === "undefined") return null;
  return TYPES.find((t) => MediaRecorder.isTypeSupported(t)) ?? "";
}

/** Sends a MediaStream as frames of one stream (1 camera, 2 screen) on a RelayConnection. */
export class StreamSender {
  constructor(connection, stream, streamNumber, { videoBitsPerSecond = 1_000_000 } = {}) {
    this.connection = connection;
    this.stream = stream;
    this.streamNumber = streamNumber;
    this.bitrate = videoBitsPerSecond;
    this.recorder = null;
    this.sequence = 0;
    this.generation = 0;
    this.mimeType = pickMimeType();
    this.framesSent = 0;
    this.restarts = 0;
  }

  /** Starts (or restarts) a recorder; its first chunk goes out as an init segment. */
  start() {
    this.stop();
    const generation = ++this.generation;
    const options = { videoBitsPerSecond: this.bitrate };
    if (this.mimeType) options.mimeType = this.mimeType;
    const recorder = new MediaRecorder(this.stream, options);
    this.recorder = recorder;
    let first = true;
    let backlog = Promise.resolve();
    const startedAt = performance.now();
    recorder.ondataavailable = (event) => {
      if (generation !== this.generation || event.data.size === 0) return;
      const isInit = first;
      first = false;
      const timeUs = (performance.now() - startedAt) * 1000;
      // Blob reads are asynchronous: chain them so frames keep their order.
      backlog = backlog.then(async () => {
        const payload = await event.data.arrayBuffer();
        if (generation !== this.generation) return;
        if (!isInit && this.connection.bufferedAmount > MAX_BUFFERED) {
          this.restarts += 1;
          queueMicrotask(() => this.start()); // behind: drop, start afresh once the queue drains
          return;
        }
        const frame = encodeFrame({ stream: this.streamNumber, flags: isInit ? FLAG_INIT : 0,
                                    sequence: this.sequence++, timeUs }, payload);
        if (this.connection.sendBinary(frame)) this.framesSent += 1;
      });
    };
    recorder.start(TIMESLICE_MS);
  }

  stop() {
    this.generation += 1;
    if (this.recorder && this.recorder.state !== "inactive") {
      try { this.recorder.stop(); } catch { /* already stopped */ }
    }
    this.recorder = null;
  }
}
