// The shared review: the practitioner's screen (live, stream 2) or one clip played on both sides in
// step. The clip's file goes to the family as stream-2 frames of CLIP_PIECE bytes (the first flagged
// init segment, the last end of stream); play, pause and seek travel as `signal` messages:
// {"type":"signal","review":"screen"|"clip"|"play"|"pause"|"seek"|"end","t":seconds,"playing":bool}.
import { encodeFrame, FLAG_INIT, FLAG_END, STREAM_SCREEN, signal } from "./protocol.js";

/** Family side: shows what the practitioner shares and follows their play, pause and seek. */
export class ReviewFollower {
  constructor(video, player) {
    this.video = video;
    this.player = player;
    this.wanted = null; // {playing, t} for a clip not loaded yet
  }

  frame(frame) {
    this.player.push(frame);
  }

  signal(message, onShow) {
    const video = this.video;
    switch (message.review) {
      case "screen":
        this.player.live = true;
        onShow();
        break;
      case "clip":
        this.player.live = false;
        this.wanted = { playing: false, t: null }; // null: the clip's first frame
        this.player.onready = () => this.apply();
        onShow();
        break;
      case "play":
      case "pause":
      case "seek":
        // The leader says whether its player runs. Without that (a page from before it did), a seek
        // keeps what was last asked for: this player may not have started yet (the clip still
        // arriving), and taking its own state turned "play, then seek" into a pause.
        this.wanted = { playing: typeof message.playing === "boolean" ? message.playing
                          : message.review === "play" || (message.review === "seek" && (this.wanted?.playing ?? !video.paused)),
                        t: Number(message.t) || 0 };
        if (!this.player.onready && this.player.sourceBuffer && video.readyState > 0) this.apply(); // else once loaded
        break;
      default:
        break;
    }
  }

  apply() {
    if (!this.wanted) return;
    const { playing } = this.wanted;
    const t = this.wanted.t ?? this.player.startTime;
    if (Math.abs(this.video.currentTime - t) > 0.25) this.video.currentTime = t;
    if (playing) this.video.play().catch(() => {});
    else this.video.pause();
  }
}

/**
 * A clip goes out in pieces, each sent when the socket has sent all but CLIP_AHEAD bytes: on a slow
 * link every piece arrives as a message of its own and the heartbeat's pings and pongs pass between
 * them, where one multi-megabyte message would leave both pages hearing nothing for longer than the
 * heartbeat allows (they would drop the connection and send the clip again, for ever).
 */
const CLIP_PIECE = 64 * 1024;
const CLIP_AHEAD = 4 * CLIP_PIECE;
const CLIP_WAIT_MS = 20;

/** Practitioner side: sends a clip to the family and mirrors the local player's controls. */
export class ReviewLeader {
  constructor(connection) {
    this.connection = connection;
    this.video = null;
    this.handlers = [];
    this.sequence = 0;
    /** The clip sending now (an object per run), so that a newer one or stopMirroring ends it. */
    this.sending = null;
    /** The clip the family is shown: {clipId, bytes}, while mirroring. */
    this.clip = null;
  }

  /** Sends the clip's bytes (a Uint8Array) and starts mirroring `video` (which plays the same clip locally). */
  showClip(video, clipId, bytes) {
    this.stopMirroring();
    this.clip = { clipId, bytes };
    this.sendClip();
    this.video = video;
    const send = (review) => () => this.connection.send(signal({ review, t: video.currentTime, playing: !video.paused }));
    this.handlers = [["play", send("play")], ["pause", send("pause")], ["seeked", send("seek")]];
    for (const [event, handler] of this.handlers) video.addEventListener(event, handler);
  }

  /**
   * The family's page lost the clip it was shown (it, or this page, reconnected; the relay keeps no
   * copy of a clip): it goes again, playing or paused where the local player is.
   */
  showClipAgain() {
    if (!this.video || !this.clip) return;
    this.sendClip();
    this.connection.send(signal({ review: this.video.paused ? "pause" : "play", t: this.video.currentTime, playing: !this.video.paused }));
  }

  /** Sends the clip's signal and its bytes in pieces; a later sendClip (or stopMirroring) ends it. */
  async sendClip() {
    const run = {};
    this.sending = run;
    const { clipId, bytes } = this.clip;
    this.connection.send(signal({ review: "clip", clipId, bytes: bytes.byteLength }));
    for (let at = 0; at < bytes.byteLength; at += CLIP_PIECE) {
      while (this.connection.bufferedAmount > CLIP_AHEAD && this.sending === run) {
        await new Promise((resolve) => setTimeout(resolve, CLIP_WAIT_MS));
      }
      if (this.sending !== run) return;
      const end = Math.min(at + CLIP_PIECE, bytes.byteLength);
      const flags = (at === 0 ? FLAG_INIT : 0) | (end === bytes.byteLength ? FLAG_END : 0);
      // A dropped connection ends this run: the page sends the clip again when it is back.
      if (!this.connection.sendBinary(encodeFrame({ stream: STREAM_SCREEN, flags, sequence: this.sequence++ }, bytes.subarray(at, end)))) return;
    }
  }

  stopMirroring() {
    this.sending = null;
    if (!this.video) return;
    for (const [event, handler] of this.handlers) this.video.removeEventListener(event, handler);
    this.video = null;
    this.handlers = [];
    this.clip = null;
  }

  end() {
    this.stopMirroring();
    this.connection.send(signal({ review: "end" }));
  }
}
