// A live stream arriving late on this page's download, and when to ask the relay to skip this viewer
// to the present (`{"type":"catch_up"}`, docs/PROTOCOL.md "Slow viewers"). Pure logic: MsePlayer
// feeds it the frames of a live stream as they arrive.
import { FLAG_INIT } from "./protocol.js";

/**
 * - lateMs 3 s: a live picture that far behind is no longer live for a conversation, and a link
 *   that keeps up never gets there (a keyframe on a link twice the camera's rate arrives in well
 *   under a second); the relay's own limit (8 MiB) is half a minute or more of a camera.
 * - retryMs 10 s: asked again if the relay's `skipped` has not come by then (it comes just before
 *   the frame the viewer resumes at, so it may wait for the sender's next keyframe).
 * - nothingWaitedRetryMs 2 s: asked again that long after the relay said nothing waited there
 *   (`frames` 0: the frames came late from their sender, or were already in the kernel's few
 *   KiB or on the way; on a slow download the next ask finds the backlog in the relay's queue,
 *   as the kernel keeps little unsent). At once after a skip that dropped frames.
 * - noticeMs 30 s: how long a page's "your connection is slow" notice stays after the relay last
 *   skipped frames for it (frames that waited at the relay: this page's download is what is slow).
 */
export const CATCH_UP = Object.freeze({ lateMs: 3000, retryMs: 10000, nothingWaitedRetryMs: 2000, noticeMs: 30000 });

/**
 * Watches one live stream. Each frame carries its sender's clock (`timeUs`, from when its recorder
 * started); its arrival time on this page's clock less that is the clocks' offset plus how long it
 * took to come, and the least of those since the stream's init segment is the offset plus the
 * quickest way through. The excess, `lateMs`, is how long the frame waited: behind the relay's
 * queue for this viewer, the sockets' buffers and the link. A sender whose own upload is slow shows
 * here too (its page paces itself: uplink.js); asking then costs nothing, the relay has nothing
 * queued for this viewer to drop.
 */
export class LagWatch {
  constructor() {
    /** How many times this page asked (for its notice and the tests). */
    this.asked = 0;
    this.reset();
  }

  /** A new connection, or a stream that starts over: nothing measured yet. */
  reset() {
    this.least = Infinity;
    /** How late the newest frame arrived, in ms. */
    this.lateMs = 0;
    /** The earliest time (nowMs) the relay may be asked again. */
    this.nextAskAt = -Infinity;
  }

  /**
   * A frame (`decodeFrame`'s) arrived at `nowMs` (performance.now()). Returns true when the relay
   * should be asked to catch up now (see CATCH_UP for how often).
   */
  frame(frame, nowMs) {
    if (frame.flags & FLAG_INIT) this.least = Infinity; // a new recorder: a new clock
    const offset = nowMs - frame.timeUs / 1000;
    this.least = Math.min(this.least, offset);
    this.lateMs = offset - this.least;
    if (this.lateMs < CATCH_UP.lateMs || nowMs < this.nextAskAt) return false;
    this.nextAskAt = nowMs + CATCH_UP.retryMs;
    this.asked += 1;
    return true;
  }

  /** The relay answered at `nowMs` (`skipped`, with the frames it skipped): see CATCH_UP. */
  skipped(frames, nowMs) {
    this.nextAskAt = frames > 0 ? nowMs : Math.min(this.nextAskAt, nowMs + CATCH_UP.nothingWaitedRetryMs);
  }
}
