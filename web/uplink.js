// How fast this page's link carries what it sends, and the bitrate to ask of its camera (or screen)
// recorder so that the picture stays live on a slow link. Pure logic: the sender feeds it the
// pings it sends, their pongs and the clock, and does what it answers.
//
// The measure: a ping sent on the WebSocket waits behind every media frame sent before it, and the
// relay's pong says when the ping arrived there (`relayMs`). That time less the time it was sent is
// the clocks' offset plus the link's delay; its least value on a socket is the offset plus the
// link's empty delay, so the excess over it is how long the ping waited behind the frames: how far
// behind the upload is, whatever waits on the way back (a download the link cannot carry). A link
// slower than the recorder fills that queue without end: the practitioner sees the family later
// and later (a 1 Mbit/s camera on a 200 kbit/s link is 4 s later for every second sent), and a page
// that hears nothing but pongs drops its connection after the heartbeat's 12 s. Two late pings also
// measure the link's rate: the bytes sent between them over the time between their arrivals.
//
// What it does: once a ping arrived 1.5 s late, the sender stops its recorder and sends nothing
// until a ping sent after the stop is answered (what was queued has gone), as the relay skips a
// slow viewer to the present rather than play it the past; then it starts a new recorder at 0.7
// times the rate the link carried meanwhile. A link that keeps its pings under 0.6 s for 30 s is
// tried 1.5 times higher, up to the full bitrate. A link that carries nothing (Wi-Fi gone) answers
// nothing and changes nothing: that is the heartbeat's to notice. The sender asks the pacer every
// 500 ms, not at each pong, so the pongs that come together after a silence are read together
// (the newest one, not late, says the link is back).

/** The pacing's constants (docs/PROTOCOL.md, "Slow links"). */
export const PACING = Object.freeze({
  /** A pacing ping this often while a stream is sent. */
  pingEveryMs: 500,
  /** A ping that arrived this late means the link is behind. */
  lagLimitMs: 1500,
  /** Pings that arrive within this long: the link keeps up with room to spare. */
  quietMs: 600,
  /** A lowered bitrate is this share of the rate the link was measured to carry. */
  headroom: 0.7,
  /** Without a measured rate, the bitrate is cut by this factor. */
  cut: 0.5,
  /** Never asked for less (the recorder's sound alone is ~30 kbit/s). */
  floorBps: 100_000,
  /** A lowered bitrate is tried this much higher after this long with every ping quiet. */
  raiseAfterMs: 30_000,
  raiseStep: 1.5,
  /** A raise that had to be taken back within twice its wait doubles the wait, up to this. */
  maxRaiseAfterMs: 300_000,
  /** Pings sent longer ago than this are forgotten once answered. */
  keepMs: 30_000,
});

/**
 * Decides when one sender stops, starts and at what bitrate. Owned by the page's single thread.
 * Times are performance.now() milliseconds; bytes are what the connection has sent in all.
 */
export class UplinkPacer {
  constructor(targetBps, now = 0) {
    /** What the sender asks of its recorder when the link keeps up. */
    this.targetBps = targetBps;
    /** What it asks now. */
    this.bitrate = targetBps;
    /** Pings not answered yet: id -> { sentAt, bytes }. */
    this.pending = new Map();
    /**
     * Answered pings, oldest first: { sentAt, bytes, arrivedAt, delay }: when the relay got it (its
     * clock, or the pong's arrival here from a relay that does not say), and how late (ms).
     */
    this.answered = [];
    /** The least of arrival less sending time on this socket (null: no pong yet). */
    this.base = null;
    /** When the recorder last started at a new bitrate (or stopped to drain). */
    this.changedAt = now;
    /**
     * While the sender waits for its queue to drain (else null): { since, measureFrom, before }:
     * when it stopped, since when pongs measure the link, and the bitrate before the stop.
     */
    this.draining = null;
    this.raiseAfterMs = PACING.raiseAfterMs;
    this.raisedAt = null;
  }

  /** A new socket: pings in flight on the old one will never be answered and its queue is gone. */
  reset(now) {
    this.pending.clear();
    this.answered = [];
    this.base = null;
    this.draining = null;
    this.changedAt = now;
  }

  pingSent(id, now, bytes) {
    this.pending.set(id, { sentAt: now, bytes });
  }

  /**
   * A pong came (`relayMs`: when the relay got the ping, if it said): returns whether it answered
   * one of this pacer's pings.
   */
  pongReceived(id, now, relayMs) {
    const ping = this.pending.get(id);
    if (!ping) return false;
    this.pending.delete(id);
    const arrivedAt = Number.isFinite(relayMs) ? relayMs : now;
    this.base = Math.min(this.base ?? Infinity, arrivedAt - ping.sentAt);
    this.answered.push({ ...ping, arrivedAt, delay: arrivedAt - ping.sentAt - this.base });
    while (this.answered.length && now - this.answered[0].sentAt > PACING.keepMs) this.answered.shift();
    return true;
  }

  /**
   * How far behind the link is (ms): how late the newest answered ping sent since the recorder
   * last started arrived (those sent before waited behind what it queued then); 0 when none is.
   */
  lag() {
    const last = this.answered[this.answered.length - 1];
    return last && last.sentAt >= this.changedAt ? last.delay : 0;
  }

  /**
   * The rate (bits/s) the link carried while it had a queue, from pings sent since `since`: the
   * bytes sent between two pings over the time between their arrivals, for the last two that
   * arrived late (a queue ahead of them kept the link busy between) at least half a second apart.
   * Null when not measured.
   */
  measuredBps(since) {
    const late = this.answered.filter((a) => a.sentAt >= since && a.delay > PACING.quietMs);
    const last = late[late.length - 1];
    const first = last && late.findLast((a) => a.arrivedAt <= last.arrivedAt - 500);
    if (!first || last.bytes <= first.bytes) return null;
    return ((last.bytes - first.bytes) * 8) / ((last.arrivedAt - first.arrivedAt) / 1000);
  }

  /**
   * What the sender does now: `{ stop: true, bitrate }` (stop the recorder and send nothing: the
   * link is behind), `{ bitrate }` (start a recorder at it: the queue has drained, or the link has
   * room for more), or null.
   */
  check(now) {
    if (this.draining) return this.drained(now);
    if (this.lag() > PACING.lagLimitMs) return this.behind(now);
    const quiet = this.answered.every((a) => a.delay <= PACING.quietMs);
    if (this.bitrate < this.targetBps && now - this.changedAt >= this.raiseAfterMs && this.answered.length > 0 && quiet) {
      this.raisedAt = now;
      return this.change(Math.min(this.targetBps, Math.round(this.bitrate * PACING.raiseStep)), now);
    }
    return null;
  }

  /**
   * The link is behind: the sender stops until what is queued has gone, at a lower bitrate (by the
   * rate measured, else by PACING.cut; the floor at least). A raise taken back within twice the
   * wait before it doubles the wait before the next one.
   */
  behind(now) {
    const measured = this.measuredBps(this.changedAt);
    const wanted = measured === null ? this.bitrate * PACING.cut : Math.min(measured * PACING.headroom, this.bitrate);
    if (this.raisedAt !== null && now - this.raisedAt < 2 * this.raiseAfterMs) {
      this.raiseAfterMs = Math.min(this.raiseAfterMs * 2, PACING.maxRaiseAfterMs);
    }
    this.raisedAt = null;
    this.draining = { since: now, measureFrom: this.changedAt, before: this.bitrate };
    return { stop: true, ...this.change(Math.max(PACING.floorBps, Math.round(wanted)), now) };
  }

  /**
   * Draining: once a ping sent after the stop is answered, nothing is queued any more, and the
   * recorder starts again: at 0.7x what the link carried while it drained (no higher than before
   * the stop), else as lowered at the stop.
   */
  drained(now) {
    const { since, measureFrom, before } = this.draining;
    if (!this.answered.some((a) => a.sentAt >= since)) return null;
    this.draining = null;
    const measured = this.measuredBps(measureFrom);
    const bitrate = measured === null ? this.bitrate : Math.min(before, Math.max(PACING.floorBps, Math.round(measured * PACING.headroom)));
    return this.change(bitrate, now);
  }

  change(bitrate, now) {
    this.bitrate = bitrate;
    this.changedAt = now;
    return { bitrate };
  }
}
