// How fast this page's link carries what it sends, and the bitrate to ask of its camera (or screen)
// recorder so that the picture stays live on a slow link. Pure logic: the sender feeds it the
// pings it sends, their pongs and the clock, and does what it answers.
//
// The measure: a ping sent on the WebSocket waits behind every media frame sent before it, so the
// time to its pong is the link's queue plus the round trip. A link slower than the recorder fills
// that queue without end: the practitioner sees the family later and later (a 1 Mbit/s camera on a
// 200 kbit/s link is 4 s later for every second sent), and a page that hears nothing but pongs
// drops its connection after the heartbeat's 12 s. Each pong also says the link carried every byte
// sent before its ping by then, so two pongs with a queue between them measure the link's rate.
//
// What it does: once a ping is 1.5 s late, the sender stops its recorder and sends nothing until
// what is queued has gone (a ping sent after the stop is answered), as the relay skips a slow
// viewer to the present rather than play it the past; then it starts a new recorder at 0.7 times
// the rate the link carried meanwhile. A link that answers quickly for 30 s is tried 1.5 times
// higher, up to the full bitrate.
//
// The pong comes back behind what the relay queued for this page, so a slow download (a screen
// share the link cannot carry) lowers the upload too, until the relay skips this viewer's frames.
// A link that carries nothing for a while (Wi-Fi gone) looks the same as a slow one at first: a
// stop made without a pong since the late ping (not known to be slow) starts again at the bitrate
// before it unless the link's rate was measured meanwhile, also when the heartbeat has had to open
// a new socket.

/** The pacing's constants (docs/PROTOCOL.md, "Slow links"). */
export const PACING = Object.freeze({
  /** A pacing ping this often while a stream is sent. */
  pingEveryMs: 500,
  /** A ping unanswered this long, or answered this late, means the link is behind. */
  lagLimitMs: 1500,
  /** Pongs within this long: the link keeps up with room to spare. */
  quietMs: 600,
  /** A lowered bitrate is this share of the rate the link was measured to carry. */
  headroom: 0.7,
  /** Without a measured rate, the bitrate is cut by this factor. */
  cut: 0.5,
  /** Never asked for less (the recorder's sound alone is ~30 kbit/s). */
  floorBps: 100_000,
  /** A lowered bitrate is tried this much higher after this long with every pong quiet. */
  raiseAfterMs: 30_000,
  raiseStep: 1.5,
  /** A raise that had to be taken back within its wait doubles the wait, up to this. */
  maxRaiseAfterMs: 300_000,
  /** Pongs older than this are forgotten. */
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
    /** Answered pings, oldest first: { sentAt, bytes, answeredAt }. */
    this.answered = [];
    /** When the recorder last started at a new bitrate (or stopped to drain). */
    this.changedAt = now;
    /**
     * While the sender waits for its queue to drain (else null): { since, measureFrom, before,
     * blind }: when it stopped, since when pongs measure the link, the bitrate before the stop, and
     * whether no pong had come since the late ping was sent.
     */
    this.draining = null;
    this.raiseAfterMs = PACING.raiseAfterMs;
    this.raisedAt = null;
    /** When the last pong came (null: none on this socket yet). */
    this.lastPongAt = null;
  }

  /**
   * A new socket: pings in flight on the old one will never be answered and its queue is gone; a
   * stop made while the old one answered nothing is undone (it was gone, not known to be slow).
   */
  reset(now) {
    if (this.draining?.blind) this.bitrate = this.draining.before;
    this.pending.clear();
    this.answered = [];
    this.draining = null;
    this.lastPongAt = null;
    this.changedAt = now;
  }

  pingSent(id, now, bytes) {
    this.pending.set(id, { sentAt: now, bytes });
  }

  /** A pong came: returns whether it answered one of this pacer's pings. */
  pongReceived(id, now) {
    const ping = this.pending.get(id);
    if (!ping) return false;
    this.pending.delete(id);
    this.lastPongAt = now;
    this.answered.push({ ...ping, answeredAt: now });
    while (this.answered.length && now - this.answered[0].answeredAt > PACING.keepMs) this.answered.shift();
    return true;
  }

  /**
   * How far behind the link is now (ms), by the pings sent since the recorder last started (those
   * sent before waited behind what it queued then): the oldest unanswered one's age, or the last
   * pong's round trip.
   */
  lag(now) {
    let lag = 0;
    for (const p of this.pending.values()) if (p.sentAt >= this.changedAt) lag = Math.max(lag, now - p.sentAt);
    const last = this.answered[this.answered.length - 1];
    if (last && last.sentAt >= this.changedAt) lag = Math.max(lag, last.answeredAt - last.sentAt);
    return lag;
  }

  /**
   * The rate (bits/s) the link carried while it had a queue, from pings sent since `since`: the
   * bytes sent between two pings over the time between their pongs, for the last two that came
   * late (a queue ahead of them kept the link busy between) at least half a second apart. Null
   * when not measured: pongs that come together after a silence measure nothing.
   */
  measuredBps(since) {
    const late = this.answered.filter((a) => a.sentAt >= since && a.answeredAt - a.sentAt > PACING.quietMs);
    const last = late[late.length - 1];
    const first = last && late.findLast((a) => a.answeredAt <= last.answeredAt - 500);
    if (!first || last.bytes <= first.bytes) return null;
    return ((last.bytes - first.bytes) * 8) / ((last.answeredAt - first.answeredAt) / 1000);
  }

  /**
   * What the sender does now: `{ stop: true, bitrate }` (stop the recorder and send nothing: the
   * link is behind), `{ bitrate }` (start a recorder at it: the queue has drained, or the link has
   * room for more), or null.
   */
  check(now) {
    if (this.draining) return this.drained(now);
    if (this.lag(now) > PACING.lagLimitMs) return this.behind(now);
    const quiet = this.lag(now) <= PACING.quietMs && this.answered.every((a) => a.answeredAt - a.sentAt <= PACING.quietMs);
    if (this.bitrate < this.targetBps && now - this.changedAt >= this.raiseAfterMs && this.answered.length > 0 && quiet) {
      this.raisedAt = now;
      return this.change(Math.min(this.targetBps, Math.round(this.bitrate * PACING.raiseStep)), now);
    }
    return null;
  }

  /**
   * The link is behind: the sender stops until what is queued has gone, at a lower bitrate (by the
   * rate measured, else by PACING.cut; the floor at least). A raise taken back this soon doubles
   * the wait before the next one.
   */
  behind(now) {
    const lag = this.lag(now);
    const blind = !(this.lastPongAt !== null && this.lastPongAt > now - lag);
    const measured = this.measuredBps(this.changedAt);
    const wanted = measured === null ? this.bitrate * PACING.cut : Math.min(measured * PACING.headroom, this.bitrate);
    if (this.raisedAt !== null && now - this.raisedAt < this.raiseAfterMs) {
      this.raiseAfterMs = Math.min(this.raiseAfterMs * 2, PACING.maxRaiseAfterMs);
    }
    this.raisedAt = null;
    this.draining = { since: now, measureFrom: this.changedAt, before: this.bitrate, blind };
    return { stop: true, ...this.change(Math.max(PACING.floorBps, Math.round(wanted)), now) };
  }

  /**
   * Draining: once a ping sent after the stop is answered, nothing is queued any more, and the
   * recorder starts again: at 0.7x what the link carried while it drained (no higher than before
   * the stop), else as lowered at the stop, or as before it if the stop was blind.
   */
  drained(now) {
    const { since, measureFrom, before, blind } = this.draining;
    if (!this.answered.some((a) => a.sentAt >= since)) return null;
    this.draining = null;
    const measured = this.measuredBps(measureFrom);
    const bitrate = measured !== null ? Math.min(before, Math.max(PACING.floorBps, Math.round(measured * PACING.headroom)))
      : blind ? before : this.bitrate;
    return this.change(bitrate, now);
  }

  change(bitrate, now) {
    this.bitrate = bitrate;
    this.changedAt = now;
    return { bitrate };
  }
}
