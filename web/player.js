// Plays relayed media frames in a <video> with Media Source Extensions: a new MediaSource per
// init segment, appends queued one at a time, playback kept near the live edge, old media trimmed.
import { FLAG_INIT, FLAG_KEYFRAME } from "./protocol.js";

/** The MSE type of an init segment, from its container and codec ids. */
export function sniffType(bytes) {
  const text = new TextDecoder("latin1").decode(bytes.subarray(0, Math.min(bytes.length, 4096)));
  if (bytes[0] === 0x1a && bytes[1] === 0x45 && bytes[2] === 0xdf && bytes[3] === 0xa3) {
    const codecs = [];
    if (text.includes("V_VP9")) codecs.push("vp9");
    else if (text.includes("V_VP8")) codecs.push("vp8");
    else if (text.includes("V_AV1")) codecs.push("av01.0.04M.08");
    else if (text.includes("V_MPEG4/ISO/AVC")) codecs.push("avc1.42E01E");
    if (text.includes("A_OPUS")) codecs.push("opus");
    return `video/webm;codecs="${codecs.join(",")}"`;
  }
  const codecs = ["avc1.42E01E"];
  if (text.includes("mp4a")) codecs.push("mp4a.40.2");
  return `video/mp4;codecs="${codecs.join(",")}"`;
}

const KEEP_SECONDS = 30;
/** Queue marker: reset the SourceBuffer's parser before the next append (after skipped frames). */
const RESYNC = Symbol("resync");

export class MsePlayer {
  /** live: follow the live edge; otherwise (a clip) keep everything and let the caller drive. */
  constructor(video, { live = true } = {}) {
    this.video = video;
    this.live = live;
    this.mediaSource = null;
    this.sourceBuffer = null;
    this.queue = [];
    this.waitingForInit = true;
    this.waitingForKeyframe = false;
    this.objectUrl = null;
    this.onready = null;
  }

  /** Feeds one decoded frame (from RelayConnection's "frame" event). */
  push(frame) {
    if (frame.flags & FLAG_INIT) this.reset(frame.payload);
    else if (this.waitingForInit) return;
    else if (this.waitingForKeyframe) {
      if (!(frame.flags & FLAG_KEYFRAME)) return;
      this.waitingForKeyframe = false;
      this.queue.push(RESYNC);
      this.enqueue(frame.payload);
    } else this.enqueue(frame.payload);
  }

  /** The stream starts over (a reconnect, a failed append): wait for the next init segment. */
  gap() {
    this.waitingForInit = true;
  }

  /**
   * The relay skipped frames (`skipped`: this viewer fell behind). The same stream goes on from a
   * keyframe, which the relay sends from the start of a WebM cluster: drop anything else until then,
   * reset the parser (the last frame before the gap may have ended mid-cluster) and jump ahead.
   */
  skipped() {
    if (!this.waitingForInit) this.waitingForKeyframe = true;
  }

  reset(initBytes) {
    this.detach();
    this.waitingForInit = false;
    this.waitingForKeyframe = false;
    const type = sniffType(initBytes);
    this.type = type;
    this.initHead = Array.from(initBytes.subarray(0, 8));
    const mediaSource = new MediaSource();
    this.mediaSource = mediaSource;
    this.queue = [initBytes.slice()];
    this.objectUrl = URL.createObjectURL(mediaSource);
    this.video.src = this.objectUrl;
    mediaSource.addEventListener("sourceopen", () => {
      if (mediaSource !== this.mediaSource) return;
      try {
        this.sourceBuffer = mediaSource.addSourceBuffer(MediaSource.isTypeSupported(type) ? type : type.split(";")[0]);
      } catch (error) {
        console.warn("cannot play this stream", type, error);
        return;
      }
      if (this.live) this.sourceBuffer.mode = "segments";
      this.sourceBuffer.addEventListener("updateend", () => this.afterAppend());
      this.pump();
    }, { once: true });
  }

  enqueue(bytes) {
    this.queue.push(bytes.slice());
    this.pump();
  }

  pump() {
    const sb = this.sourceBuffer;
    if (!sb || sb.updating || this.queue.length === 0 || this.mediaSource.readyState !== "open") return;
    if (this.queue[0] === RESYNC) {
      this.queue.shift();
      sb.abort();
      if (this.queue.length === 0) return;
    }
    try {
      sb.appendBuffer(this.queue.shift());
    } catch (error) {
      if (error.name === "QuotaExceededError") this.trim(true);
      else { console.warn("append failed; waiting for the next init segment", error); this.gap(); }
    }
  }

  afterAppend() {
    const video = this.video;
    const ranges = this.sourceBuffer?.buffered;
    if (this.live && ranges && ranges.length > 0) {
      const start = ranges.start(0), end = ranges.end(ranges.length - 1);
      // Behind the newest buffered range (after skipped frames) or far from the live edge: jump.
      const newest = ranges.start(ranges.length - 1);
      if (video.currentTime < newest || end - video.currentTime > 3) video.currentTime = Math.max(start, newest, end - 0.3);
      if (video.paused) video.play().catch(() => {});
      this.trim(false);
    }
    if (this.onready && ranges && ranges.length > 0) { const f = this.onready; this.onready = null; f(); }
    this.pump();
  }

  trim(force) {
    const sb = this.sourceBuffer;
    if (!sb || sb.updating || sb.buffered.length === 0) return;
    const from = sb.buffered.start(0), upTo = this.video.currentTime - (force ? 2 : KEEP_SECONDS);
    if (upTo > from) sb.remove(from, upTo);
  }

  detach() {
    this.sourceBuffer = null;
    this.mediaSource = null;
    this.queue = [];
    if (this.objectUrl) URL.revokeObjectURL(this.objectUrl);
    this.objectUrl = null;
  }

  /** Stops showing anything. */
  clear() {
    this.detach();
    this.waitingForInit = true;
    this.video.removeAttribute("src");
    this.video.load();
  }
}
