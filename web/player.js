// Plays relayed media frames in a <video> with Media Source Extensions: a new MediaSource per
// init segment, appends queued one at a time, playback kept near the live edge, old media trimmed.
// WebM is rewritten on the way in (webm.js) so that Firefox does not drop parts of it.
import { LagWatch } from "./downlink.js";
import { FLAG_END, FLAG_INIT, FLAG_KEYFRAME } from "./protocol.js";
import { isMp4, mp4Type, Mp4Scanner } from "./mp4.js";
import { isWebM, MseWebM } from "./webm.js";

/** The MSE type of an init segment, from its container and codec ids (MP4: its sample entries). */
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
  const fromBoxes = isMp4(bytes) ? mp4Type(bytes) : null;
  if (fromBoxes) return fromBoxes;
  const codecs = ["avc1.42E01E"];
  if (text.includes("mp4a")) codecs.push("mp4a.40.2");
  return `video/mp4;codecs="${codecs.join(",")}"`;
}

const KEEP_SECONDS = 30;
/** Queue marker: reset the SourceBuffer's parser before the next append (after skipped frames). */
const RESYNC = Symbol("resync");
/**
 * Media Source Extensions, or on an iPhone (which has no MediaSource) Safari's ManagedMediaSource
 * (iOS 17.1+). The ManagedMediaSource path is written to Apple's documentation but not tested here.
 */
const MediaSourceKind = globalThis.MediaSource ?? globalThis.ManagedMediaSource;
const managed = !globalThis.MediaSource && !!globalThis.ManagedMediaSource;

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
    /** Called once, when a clip (a stream that ends: FLAG_END) is wholly appended and its length known. */
    this.onready = null;
    /** Called when a live stream arrives seconds late (LagWatch): the page asks the relay to catch up. */
    this.onlate = null;
    this.lag = new LagWatch();
    this.rewriter = null;
    /** Fragmented MP4: finds its keyframe fragments and their times (mp4.js), as the rewriter does for WebM. */
    this.mp4 = null;
    this.endWhenAppended = false;
    this.bytesIn = 0; // payload bytes of the current stream, from its init segment on
    /** Stream offset from which the recording's first keyframe cluster is looked for; null: none is. */
    this.recordingFrom = null;
    /** Media time (ms) where the relay's recording of this stream starts, once known. */
    this.recordingStartMs = null;
    /** performance.now() when the newest cluster that starts with a keyframe came in (for checks). */
    this.keyframeAt = null;
    /** The current stream's init segment (a copy), to know the same stream when it comes again. */
    this.initBytes = null;
    // A clip starts where it was cut: seeking before its first frame would show nothing.
    video.addEventListener("seeking", () => {
      if (!this.live && this.sourceBuffer && video.currentTime < this.startTime - 0.05) video.currentTime = this.startTime;
    });
    // The live player's own seeks (to the live edge) hold appends until they are done: WebKitGTK's
    // web process hung now and then when the next append came while its seek was under way.
    this.seekingSince = null;
    video.addEventListener("seeked", () => { this.seekingSince = null; this.pump(); });
  }

  /** Feeds one decoded frame (from RelayConnection's "frame" event). End of stream: nothing follows. */
  push(frame) {
    if (this.live && this.lag.frame(frame, performance.now())) this.onlate?.();
    if (frame.flags & FLAG_INIT) this.reset(frame.payload);
    else if (this.waitingForKeyframe) {
      if (!(frame.flags & FLAG_KEYFRAME)) return;
      this.resync();
      this.enqueue(frame.payload);
    } else if (!this.waitingForInit) this.enqueue(frame.payload);
    if (frame.flags & FLAG_END && !this.waitingForInit) {
      const rest = this.rewriter?.end();
      if (rest?.length) this.queue.push(rest);
      this.endWhenAppended = true;
      this.pump();
    }
  }

  /** Plays one whole file (a clip): its bytes are appended, then the stream is ended. */
  load(bytes) {
    this.push({ flags: FLAG_INIT | FLAG_END, payload: bytes });
  }

  /** Where the buffered media starts (a clip keeps its recording's timestamps), or 0. */
  get startTime() {
    const ranges = this.sourceBuffer?.buffered;
    return ranges && ranges.length > 0 ? ranges.start(0) : 0;
  }

  /**
   * A recording of this stream was just started: the relay records from the first cluster that
   * starts with a keyframe in the bytes that follow (PROTOCOL.md), or from the first byte of a new
   * stream if its init segment comes first (the family's camera restarted). Finding that cluster
   * sets `recordingStartMs`, so that a moment on screen can be placed on the recording's timeline
   * (WebM timecodes in ms, as MediaRecorder writes them).
   */
  expectRecordingStart() {
    this.recordingStartMs = null;
    this.recordingFrom = this.bytesIn;
  }

  /** The stream starts over (a reconnect, a failed append): wait for the next init segment. */
  gap() {
    this.waitingForInit = true;
    this.lag.reset();
  }

  /**
   * The relay skipped `frames` (`skipped`: this viewer fell behind). The same stream goes on from a
   * keyframe, which the relay sends from the start of a WebM cluster: drop anything else until then.
   * None (0: the answer to a `catch_up` when nothing waited at the relay): nothing changes.
   */
  skipped(frames) {
    this.lag.skipped(frames, performance.now());
    if (frames > 0 && !this.waitingForInit) this.waitingForKeyframe = true;
  }

  /** At the keyframe after a skip: the rewriter and the SourceBuffer's parser start afresh there. */
  resync() {
    this.waitingForKeyframe = false;
    this.mp4?.resync();
    const rest = this.rewriter?.resync();
    if (rest?.length) this.queue.push(rest);
    this.queue.push(RESYNC);
  }

  reset(initBytes) {
    this.detach();
    this.waitingForInit = false;
    this.waitingForKeyframe = false;
    const type = sniffType(initBytes);
    this.type = type;
    this.initHead = Array.from(initBytes.subarray(0, 8));
    this.rewriter = isWebM(initBytes) ? new MseWebM() : null;
    this.mp4 = null;
    if (this.rewriter) this.rewriter.onKeyframeCluster = (timeMs, offset) => this.keyframeSeen(timeMs, offset);
    this.endWhenAppended = false;
    this.bytesIn = 0;
    this.lastEnd = null;
    this.chunkSeconds = 0;
    // The same stream again: this page reconnected, and the relay replays the camera from its newest
    // keyframe. Its header is byte for byte the one before (each recorder writes random track UIDs
    // into its own) and its clock goes on, so a recording start found before still holds.
    const sameStream = this.initBytes !== null && sameBytes(this.initBytes, initBytes);
    this.initBytes = initBytes.slice();
    if (!(sameStream && this.recordingStartMs !== null)) {
      // A recording still looking for its start takes this stream from its first cluster; one that
      // found it goes on in a new part, whose place on the recording's timeline the relay decides.
      this.recordingFrom = this.recordingFrom !== null && this.recordingStartMs === null ? 0 : null;
      this.recordingStartMs = null;
    }
    if (!MediaSourceKind) {
      console.warn("this browser has no Media Source Extensions: cannot play the stream");
      return;
    }
    const mediaSource = new MediaSourceKind();
    this.mediaSource = mediaSource;
    this.queue = [];
    this.enqueue(initBytes);
    if (isMp4(initBytes)) this.mp4 = new Mp4Scanner(initBytes, initBytes.length);
    if (managed) {
      this.video.disableRemotePlayback = true; // required for ManagedMediaSource without an AirPlay source
      this.video.srcObject = mediaSource;
    } else {
      this.objectUrl = URL.createObjectURL(mediaSource);
      this.video.src = this.objectUrl;
    }
    mediaSource.addEventListener("sourceopen", () => {
      if (mediaSource !== this.mediaSource) return;
      try {
        this.sourceBuffer = mediaSource.addSourceBuffer(MediaSourceKind.isTypeSupported(type) ? type : type.split(";")[0]);
      } catch (error) {
        console.warn("cannot play this stream", type, error);
        return;
      }
      if (this.live) this.sourceBuffer.mode = "segments";
      const sourceBuffer = this.sourceBuffer;
      sourceBuffer.addEventListener("updateend", () => { if (sourceBuffer === this.sourceBuffer) this.afterAppend(); });
      this.pump();
    }, { once: true });
  }

  /** A cluster or fragment that starts with a keyframe came in, at stream offset `offset`. */
  keyframeSeen(timeMs, offset) {
    this.keyframeAt = performance.now();
    if (this.recordingFrom !== null && this.recordingStartMs === null && offset >= this.recordingFrom) this.recordingStartMs = timeMs;
  }

  enqueue(bytes) {
    if (this.mp4) {
      for (const f of this.mp4.push(bytes)) if (f.keyframe && f.timeMs !== null) this.keyframeSeen(f.timeMs, f.offset);
    }
    this.bytesIn += bytes.length;
    const out = this.rewriter ? this.rewriter.push(bytes) : bytes;
    if (out.length > 0) this.queue.push(out.slice());
    this.pump();
  }

  pump() {
    const sb = this.sourceBuffer;
    if (!sb || sb.updating || this.queue.length === 0 || this.mediaSource.readyState !== "open") return;
    // A seek into buffered media ends at once; one that does not within a second may need media, so
    // appends go on.
    if (this.seekingSince !== null && this.video.seeking && performance.now() - this.seekingSince < 1000) {
      setTimeout(() => this.pump(), 100);
      return;
    }
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
      // Stay in the newest buffered range, near its end: a browser that dropped frames up to a
      // keyframe leaves a gap, which playback would otherwise stop at.
      const start = ranges.start(ranges.length - 1), end = ranges.end(ranges.length - 1);
      // Playback stays as far behind the edge as one append brings media (WebM from MediaRecorder:
      // about 0.1 s; Chrome's MP4 comes a fragment, a second, at a time), or it runs dry before
      // every append and shows a picture now and then.
      if (this.lastEnd !== null && end > this.lastEnd) this.chunkSeconds = Math.max(end - this.lastEnd, this.chunkSeconds * 0.9);
      this.lastEnd = end;
      const margin = Math.max(0.3, this.chunkSeconds + 0.2);
      if (video.currentTime < start || end - video.currentTime > margin + 3) {
        this.seekingSince = performance.now();
        video.currentTime = Math.max(start, end - margin);
      }
      if (video.paused) video.play().catch(() => {});
      this.trim(false);
    }
    if (this.endWhenAppended && this.queue.length === 0 && this.mediaSource?.readyState === "open") {
      this.endWhenAppended = false;
      try { this.mediaSource.endOfStream(); } catch { /* closed meanwhile */ }
      // Only now is the clip's whole length known: a seek made earlier, while it came in pieces,
      // stopped at the end of what had arrived.
      if (this.onready && ranges && ranges.length > 0) { const f = this.onready; this.onready = null; f(); }
    }
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
    this.lag.reset();
    this.initBytes = null;
    this.waitingForInit = true;
    if (managed) this.video.srcObject = null;
    this.video.removeAttribute("src");
    this.video.load();
  }
}

function sameBytes(a, b) {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
