// The shared review: the practitioner's screen (live, stream 2) or one clip played on both sides in
// step. The clip's file goes to the family as one stream-2 frame; play, pause and seek travel as
// `signal` messages: {"type":"signal","review":"screen"|"clip"|"play"|"pause"|"seek"|"end","t":seconds}.
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
        this.wanted = { playing: message.review === "play" || (message.review === "seek" && !video.paused),
                        t: Number(message.t) || 0 };
        if (this.player.sourceBuffer && video.readyState > 0) this.apply();
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

/** Practitioner side: sends a clip to the family and mirrors the local player's controls. */
export class ReviewLeader {
  constructor(connection) {
    this.connection = connection;
    this.video = null;
    this.handlers = [];
    this.sequence = 0;
    /** The clip the family is shown: {clipId, bytes}, while mirroring. */
    this.clip = null;
  }

  /** Sends the clip's bytes (a Uint8Array) and starts mirroring `video` (which plays the same clip locally). */
  showClip(video, clipId, bytes) {
    this.stopMirroring();
    this.clip = { clipId, bytes };
    this.sendClip();
    this.video = video;
    const send = (review) => () => this.connection.send(signal({ review, t: video.currentTime }));
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
    this.connection.send(signal({ review: this.video.paused ? "pause" : "play", t: this.video.currentTime }));
  }

  sendClip() {
    const { clipId, bytes } = this.clip;
    this.connection.send(signal({ review: "clip", clipId, bytes: bytes.byteLength }));
    this.connection.sendBinary(encodeFrame({ stream: STREAM_SCREEN, flags: FLAG_INIT | FLAG_END, sequence: this.sequence++ }, bytes));
  }

  stopMirroring() {
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
