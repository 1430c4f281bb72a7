// MediaRecorder -> media frames over the relay: one recorder per connection, first chunk flagged
// as init segment, a new recorder (new init segment) after a reconnect, at another bitrate when the
// link falls behind or has room again (UplinkPacer), or when a recording starts and no keyframe is
// due soon.
import { encodeFrame, FLAG_INIT, FLAG_KEYFRAME } from "./protocol.js";
import { isMp4, Mp4Scanner } from "./mp4.js";
import { PACING, UplinkPacer } from "./uplink.js";
import { isWebM, MseWebM } from "./webm.js";

/** Types tried in order: WebM first, fragmented MP4 (Safari) otherwise. */
const TYPES = [
  "video/webm;codecs=vp8,opus", "video/webm;codecs=vp9,opus", "video/webm;codecs=vp8", "video/webm",
  "video/mp4;codecs=avc1,mp4a.40.2", "video/mp4",
];
/** Types that name an audio codec: only for a stream with sound (see pickMimeType). */
const WITH_AUDIO = /opus|mp4a/;
/** Bytes waiting in the WebSocket above which chunks are dropped and the recorder restarted lower. */
const MAX_BUFFERED = 4 * 1024 * 1024;
/** The sound's bitrate asked for once the link is slow (the browser's own choice otherwise). */
const SLOW_AUDIO_BPS = 32_000;
const TIMESLICE_MS = 100;
/** The keyframe interval asked of the recorder (Chrome keeps to it; Firefox makes one every 7-8 s). */
const KEYFRAME_INTERVAL_MS = 1000;
/**
 * A recording starts at the camera's next keyframe: when none is due within this long, a recording
 * that starts makes the sender start a new recorder, whose first chunk is a keyframe.
 */
const KEYFRAME_WAIT_MS = 1200;

/**
 * The first type this browser records, for `stream`: one naming an audio codec only if the stream
 * has an audio track. Firefox's MediaRecorder asked for "vp8,opus" on a video-only stream (its
 * screen: getDisplayMedia gives no sound there) records, says nothing, and never emits a byte.
 */
export function pickMimeType(stream) {
  if (typeof MediaRecorder === "undefined") return null;
  const sound = !stream || stream.getAudioTracks().length > 0;
  return TYPES.find((t) => (sound || !WITH_AUDIO.test(t)) && MediaRecorder.isTypeSupported(t)) ?? "";
}

/**
 * Sends a MediaStream as frames of one stream (1 camera, 2 screen) on a RelayConnection, at
 * `videoBitsPerSecond` while the link keeps up. When it falls behind, the recorder stops until the
 * link has drained and starts again lower (UplinkPacer; each new recorder is a new stream, so a
 * running recording gets a new part). `onBitrate(bitrate, target)` is called at each new bitrate.
 */
export class StreamSender {
  constructor(connection, stream, streamNumber, { videoBitsPerSecond = 1_000_000, onBitrate = null } = {}) {
    this.connection = connection;
    this.stream = stream;
    this.streamNumber = streamNumber;
    this.pacer = new UplinkPacer(videoBitsPerSecond, performance.now());
    this.onBitrate = onBitrate;
    /** Pings sent for the pacer, and the timer that sends them while a recorder runs. */
    this.pacingPings = 0;
    this.pacingTimer = null;
    /** Times the recorder stopped for the link to drain; the bitrate last told to onBitrate. */
    this.drains = 0;
    this.announced = videoBitsPerSecond;
    // A new socket: the pings in flight on the old one are gone with it (the page starts the sender).
    connection.addEventListener("welcome", () => {
      this.pacer.reset(performance.now());
      this.announce();
    });
    // Read as they come; acted on at the next ping (pongs that come together are read together).
    connection.addEventListener("pong", (e) => this.pacer.pongReceived(e.detail.id, performance.now(), e.detail.relayMs));
    this.recorder = null;
    this.sequence = 0;
    this.generation = 0;
    this.mimeType = pickMimeType(stream);
    this.framesSent = 0;
    this.restarts = 0;
    /** New recorders started for a recording's sake (keyframeSoon). */
    this.keyframeRestarts = 0;
    /** Whether the current recorder's init segment has gone out. */
    this.initSent = false;
    /**
     * The last keyframe the current recorder sent (a WebM cluster or MP4 fragment that starts with
     * one): when it went out (performance.now()) and its time on the camera's clock (ms).
     */
    this.lastKeyframe = null;
    /**
     * The time between this sender's last two keyframes from one recorder, on the camera's clock (ms).
     * Kept across recorders: a new one (after a reconnect) keeps the browser's pace, so its next
     * keyframe is known to be due before it has sent two.
     */
    this.keyframeIntervalMs = null;
  }

  /** Starts (or restarts) a recorder; its first chunk goes out as an init segment. */
  start() {
    this.stop();
    const generation = ++this.generation;
    this.initSent = false;
    this.lastKeyframe = null;
    // A keyframe (and so a new WebM cluster) every second: a recording started mid-stream and a
    // viewer who joins late both start at one (Chrome; Firefox ignores the option, see keyframeSoon).
    const options = { videoBitsPerSecond: this.pacer.bitrate, videoKeyFrameIntervalDuration: KEYFRAME_INTERVAL_MS };
    if (this.pacer.bitrate < this.pacer.targetBps) options.audioBitsPerSecond = SLOW_AUDIO_BPS;
    if (this.mimeType) options.mimeType = this.mimeType;
    const recorder = new MediaRecorder(this.stream, options);
    this.recorder = recorder;
    // MediaRecorder's first chunks may hold only part of the header: hold bytes back until the first
    // media (WebM Cluster, MP4 moof) shows, then send the header alone as the init segment.
    let head = new Uint8Array(0);
    let backlog = Promise.resolve();
    // Reads the WebM going out for its keyframe clusters (the rewritten output is not used).
    let scan = null;
    // Fragmented MP4: finds the fragments that start with a keyframe (see sendMp4).
    let mp4 = null;
    const startedAt = performance.now();
    recorder.ondataavailable = (event) => {
      if (generation !== this.generation || event.data.size === 0) return;
      const timeUs = (performance.now() - startedAt) * 1000;
      // Blob reads are asynchronous: chain them so frames keep their order.
      backlog = backlog.then(async () => {
        let payload = new Uint8Array(await event.data.arrayBuffer());
        if (generation !== this.generation) return;
        if (!this.initSent) {
          head = concat(head, payload);
          const cut = firstMediaOffset(head);
          if (cut < 0) return;
          this.initSent = true;
          if (isWebM(head)) {
            scan = new MseWebM();
            scan.onKeyframeCluster = (timeMs) => this.keyframeSent(timeMs);
            scan.push(head);
          } else if (isMp4(head)) {
            mp4 = { scanner: new Mp4Scanner(head.subarray(0, cut), cut), held: new Uint8Array(0), heldAt: cut, first: true };
          }
          this.send(FLAG_INIT, head.subarray(0, cut), 0);
          payload = head.subarray(cut);
          if (payload.length === 0) return;
          if (mp4) { this.sendMp4(mp4, payload, timeUs); return; }
          this.send(FLAG_KEYFRAME, payload, timeUs); // the first media starts with a keyframe
          return;
        }
        if (this.connection.bufferedAmount > MAX_BUFFERED) {
          // Far behind (the pacer's pings did not tell in time): drop, drain and lower.
          this.restarts += 1;
          queueMicrotask(() => this.follow(this.pacer.behind(performance.now())));
          return;
        }
        if (mp4) { this.sendMp4(mp4, payload, timeUs); return; }
        scan?.push(payload);
        this.send(0, payload, timeUs);
      });
    };
    recorder.start(TIMESLICE_MS);
    this.pacingTimer = setInterval(() => this.pacingPing(), PACING.pingEveryMs);
  }

  /** Sends the pacer's ping (it waits behind the frames sent so far) and asks it what to do. */
  pacingPing() {
    const id = `pace-${++this.pacingPings}`;
    const bytes = this.connection.bytesSent;
    if (this.connection.ping(id)) this.pacer.pingSent(id, performance.now(), bytes);
    this.pace();
  }

  /** Does what the pacer asks now, if anything. */
  pace() {
    const change = this.pacer.check(performance.now());
    if (change) this.follow(change);
  }

  /**
   * Stops the recorder and sends nothing while the link drains (the pings go on), or starts a new
   * one at the pacer's bitrate; onBitrate hears of a new bitrate.
   */
  follow(change) {
    if (change.stop) {
      this.drains += 1;
      this.haltRecorder();
    } else {
      this.start();
    }
    this.announce();
  }

  announce() {
    if (this.pacer.bitrate === this.announced) return;
    this.announced = this.pacer.bitrate;
    this.onBitrate?.(this.pacer.bitrate, this.pacer.targetBps);
  }

  /**
   * A recording of this stream has just started. The relay records from the stream's next keyframe
   * (or from a new stream's init segment), and Firefox's MediaRecorder makes one only every 7-8 s
   * whatever it is asked, so a recording would start up to that long after Start. So a new recorder
   * starts (its init segment and first keyframe go out at once, and the recording starts with them)
   * unless this recorder's init segment is still to go out, or its next keyframe is due within
   * KEYFRAME_WAIT_MS. Due means: when the last one went out, plus the keyframe interval on the
   * camera's clock (not on the page's, which a busy machine's late chunks would stretch).
   *
   * Not restarting when a keyframe is due also keeps the recording whole: a keyframe of the old
   * recorder that the relay received just before the new recorder's init segment would start the
   * recording with a part a fraction of a second long (Chrome, whose recorders make one every second,
   * after a reconnect, when the interval was only learned per recorder).
   */
  keyframeSoon() {
    if (!this.recorder || !this.initSent) return;
    const last = this.lastKeyframe;
    if (last && this.keyframeIntervalMs !== null && last.at + this.keyframeIntervalMs - performance.now() <= KEYFRAME_WAIT_MS) return;
    this.keyframeRestarts += 1;
    this.start();
  }

  /** A keyframe (camera time `timeMs`) went out now: it and the interval say when the next is due. */
  keyframeSent(timeMs) {
    if (this.lastKeyframe) this.keyframeIntervalMs = timeMs - this.lastKeyframe.timeMs;
    this.lastKeyframe = { at: performance.now(), timeMs };
  }

  /**
   * Sends fragmented MP4 so that every fragment that starts with a keyframe starts a frame flagged
   * keyframe: the relay cannot parse MP4, and starts recordings, late joiners and a slow viewer's
   * resumption at such frames (PROTOCOL.md). A chunk is split at those fragments, and the bytes of a
   * fragment header (moof) not complete yet are held back until it is, as only then is it known
   * whether it starts with a keyframe.
   */
  sendMp4(mp4, payload, timeUs) {
    const found = mp4.scanner.push(payload);
    const bytes = mp4.held.length ? concat(mp4.held, payload) : payload;
    const base = mp4.heldAt;
    for (const f of found) if (f.keyframe && f.timeMs !== null) this.keyframeSent(f.timeMs);
    const open = mp4.scanner.openMoof;
    const end = open !== null && open >= base ? open - base : bytes.length;
    const cuts = found.filter((f) => f.keyframe && f.offset > base && f.offset - base < end).map((f) => f.offset - base);
    let from = 0;
    for (const to of [...cuts, end]) {
      if (to > from) {
        const keyframe = mp4.first || found.some((f) => f.keyframe && f.offset === base + from);
        this.send(keyframe ? FLAG_KEYFRAME : 0, bytes.subarray(from, to), timeUs);
        mp4.first = false;
      }
      from = to;
    }
    mp4.held = bytes.slice(end);
    mp4.heldAt = base + end;
  }

  send(flags, bytes, timeUs) {
    const frame = encodeFrame({ stream: this.streamNumber, flags, sequence: this.sequence++, timeUs }, bytes);
    if (this.connection.sendBinary(frame)) this.framesSent += 1;
  }

  stop() {
    clearInterval(this.pacingTimer);
    this.pacingTimer = null;
    this.haltRecorder();
  }

  /** Stops the recorder; what it records from now on is dropped. */
  haltRecorder() {
    this.generation += 1;
    if (this.recorder && this.recorder.state !== "inactive") {
      try { this.recorder.stop(); } catch { /* already stopped */ }
    }
    this.recorder = null;
  }
}

function concat(a, b) {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

/** Offset of the first WebM Cluster (ID 1F 43 B6 75) or MP4 `moof` box; -1 when not in yet. */
export function firstMediaOffset(bytes) {
  const isWebM = bytes[0] === 0x1a && bytes[1] === 0x45;
  for (let i = 0; i + 4 <= bytes.length; i++) {
    if (isWebM && bytes[i] === 0x1f && bytes[i + 1] === 0x43 && bytes[i + 2] === 0xb6 && bytes[i + 3] === 0x75) return i;
    if (!isWebM && i >= 4 && bytes[i] === 0x6d && bytes[i + 1] === 0x6f && bytes[i + 2] === 0x6f && bytes[i + 3] === 0x66) return i - 4;
  }
  return -1;
}
