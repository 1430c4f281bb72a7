// WebM made safe for Media Source Extensions, as it streams in.
//
// Firefox's MSE drops media until the next video keyframe (seconds of live video) in two cases that
// MediaRecorder streams hit all the time:
// - a Cluster whose first video frame is not a keyframe (Chrome starts a cluster about every 120 ms,
//   Firefox every second; keyframes come every second from Chrome, every 7-8 s from Firefox);
// - a frame that comes more than twice the last frame's duration after it (a camera hiccup), when the
//   last frame's duration had to be guessed because the next frame was not appended yet.
// So the stream is rewritten: a Cluster starts at each video keyframe and nowhere else, and every
// block becomes a BlockGroup with its BlockDuration (the time to the next block of its track; a
// block waits for that one, about a frame). Times, frames and their order do not change. Chrome
// plays the result the same way.

const ID = {
  EBML: 0x1a45dfa3, SEGMENT: 0x18538067, CLUSTER: 0x1f43b675, TIMECODE: 0xe7, SIMPLE_BLOCK: 0xa3,
  BLOCK_GROUP: 0xa0, BLOCK: 0xa1, BLOCK_DURATION: 0x9b, REFERENCE_BLOCK: 0xfb, TRACKS: 0x1654ae6b,
  TRACK_ENTRY: 0xae, TRACK_NUMBER: 0xd7, TRACK_TYPE: 0x83, DISCARD_PADDING: 0x75a2, VIDEO: 0xe0, ALPHA_MODE: 0x53c0,
};
/** Elements that sit directly in the Segment: one of them ends a Cluster of unknown size. */
const LEVEL1 = new Set([0x114d9b74, 0x1549a966, ID.TRACKS, ID.CLUSTER, 0x1c53bb6b, 0x1254c367, 0x1043a770, 0x1941a469, ID.EBML]);
const UNKNOWN_SIZE = [0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
/** Bytes held while an element is incomplete; past it the stream is passed on unchanged. */
const MAX_HELD = 16 * 1024 * 1024;
/** Blocks waiting for their duration; past it the oldest goes out with a guessed one. */
const MAX_WAITING = 64;

export const isWebM = (bytes) => bytes[0] === 0x1a && bytes[1] === 0x45 && bytes[2] === 0xdf && bytes[3] === 0xa3;

/** An EBML variable-size integer at `at`: {value, length, unknown}, null if not all there, {invalid}. */
function readVint(bytes, at, keepMarker) {
  if (at >= bytes.length) return null;
  const first = bytes[at];
  let length = 1;
  while (length <= 8 && !(first & (0x100 >> length))) length += 1;
  if (length > 8) return { invalid: true };
  if (at + length > bytes.length) return null;
  let value = keepMarker ? first : first & ((0x100 >> length) - 1);
  let allOnes = value === (0x100 >> length) - 1;
  for (let i = 1; i < length; i++) {
    value = value * 256 + bytes[at + i];
    allOnes &&= bytes[at + i] === 0xff;
  }
  return { value, length, unknown: !keepMarker && allOnes };
}

/** An element's header at `at`: {id, size (null: unknown), headerLength}, null if not all there, {invalid}. */
function readHeader(bytes, at) {
  const id = readVint(bytes, at, true);
  if (!id) return null;
  if (id.invalid || id.length > 4) return { invalid: true };
  const size = readVint(bytes, at + id.length, false);
  if (!size) return null;
  if (size.invalid) return { invalid: true };
  return { id: id.value, size: size.unknown ? null : size.value, headerLength: id.length + size.length };
}

const uint = (bytes, from, to) => bytes.subarray(from, to).reduce((v, b) => v * 256 + b, 0);

function concat(parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

/** An element size as an EBML variable-size integer of the shortest length. */
function sizeVint(n) {
  let length = 1;
  while (n >= 2 ** (7 * length) - 1) length += 1;
  const out = [];
  for (let i = 0, v = n; i < length; i++, v = Math.floor(v / 256)) out.unshift(v % 256);
  out[0] |= 0x100 >> length;
  return out;
}

/** An unsigned (or, with `signed`, two's complement) big-endian integer in as few bytes as it needs. */
function intBytes(n, signed = false) {
  const out = [];
  let v = n;
  do {
    out.unshift(((v % 256) + 256) % 256);
    v = Math.floor(v / 256);
  } while (signed ? !(v === 0 && out[0] < 0x80) && !(v === -1 && out[0] >= 0x80) : v > 0);
  return out;
}

const element = (id, body) => [...intBytes(id), ...sizeVint(body.length), ...body];

/** The number of the first video track in a Tracks element's body, or null. */
function videoTrackNumber(body) {
  for (let at = 0; at < body.length;) {
    const h = readHeader(body, at);
    if (!h || h.invalid || h.size === null) return null;
    const start = at + h.headerLength, end = start + h.size;
    if (h.id === ID.TRACK_ENTRY) {
      let number = null, type = null;
      for (let p = start; p < end;) {
        const c = readHeader(body, p);
        if (!c || c.invalid || c.size === null) break;
        const from = p + c.headerLength;
        if (c.id === ID.TRACK_NUMBER) number = uint(body, from, from + c.size);
        if (c.id === ID.TRACK_TYPE) type = uint(body, from, from + c.size);
        p = from + c.size;
      }
      if (type === 1 && number !== null) return number;
    }
    at = end;
  }
  return null;
}

/**
 * A Tracks element's body with every video track's AlphaMode set to 0 (a copy; the same size).
 * Chrome's MediaRecorder marks VP8 camera tracks AlphaMode 1 with no alpha in any block, and
 * GStreamer-based browsers (WebKitGTK, so GNOME Web) then decode with an alpha decoder that fails on
 * the first frame ("Cannot handle streams without an initial alpha buffer"). A camera has no alpha.
 */
function withoutAlphaMode(body) {
  const out = body.slice();
  const walk = (from, to, inside) => {
    for (let at = from; at < to;) {
      const h = readHeader(out, at);
      if (!h || h.invalid || h.size === null) return;
      const start = at + h.headerLength, end = start + h.size;
      if (h.id === ID.TRACK_ENTRY || h.id === ID.VIDEO) walk(start, end, h.id);
      else if (h.id === ID.ALPHA_MODE && inside === ID.VIDEO) out.fill(0, start, end);
      at = end;
    }
  };
  walk(0, out.length, null);
  return out;
}

/**
 * Feed it a WebM stream in pieces (`push`, then `end` when nothing follows); each call returns the
 * rewritten bytes ready so far. A stream it cannot read is passed on unchanged from there on.
 */
export class MseWebM {
  constructor() {
    this.buffer = new Uint8Array(0);
    this.passThrough = false;
    this.videoTrack = null;
    this.inCluster = false;
    this.clusterEnd = null; // stream offset where a cluster of known size ends
    this.offset = 0; // stream offset of this.buffer[0]
    this.clusterTime = null;
    this.outTime = null; // timecode of the cluster being written out
    this.waiting = []; // blocks in stream order: {track, time, keyframe, flags, frame, duration}
    this.lastDuration = new Map(); // track -> duration of its latest block with a known one
    this.lastVideoTime = null;
    this.clusterOffset = 0; // stream offset of the cluster being read
    this.clusterVideoSeen = false;
    /** Called with (timecode, stream offset) of each cluster whose first video frame is a keyframe. */
    this.onKeyframeCluster = null;
  }

  push(bytes) {
    if (this.passThrough) return bytes;
    const out = [];
    this.buffer = this.buffer.length ? concat([this.buffer, bytes]) : bytes;
    let at = 0;
    while (at < this.buffer.length && !this.passThrough) {
      const used = this.step(this.buffer, at, out);
      if (used === 0) break;
      at += used;
      this.offset += used;
    }
    this.emitReady(out, false);
    if (!this.passThrough && this.buffer.length - at > MAX_HELD) this.passThrough = true;
    if (this.passThrough) {
      console.warn("WebM stream not understood; passed on as it is");
      this.emitReady(out, true);
      out.push(this.buffer.subarray(at));
      this.buffer = new Uint8Array(0);
    } else {
      this.buffer = this.buffer.slice(at);
    }
    return concat(out);
  }

  /** The end of the stream: the blocks still waiting go out, the last ones with a guessed duration. */
  end() {
    const out = [];
    this.emitReady(out, true);
    return concat(out);
  }

  /**
   * Frames were skipped (the relay's `skipped`): the waiting blocks go out, the partial element held
   * is dropped, and the next bytes are read as the start of a Cluster (the relay resumes at one).
   * The next block written opens a Cluster of its own, whatever its track: the player resets the
   * SourceBuffer's parser here, and a block outside a Cluster fails the append (the new cluster's
   * first block is often the sound's).
   */
  resync() {
    const out = [];
    this.emitReady(out, true);
    this.offset += this.buffer.length;
    this.buffer = new Uint8Array(0);
    this.inCluster = false;
    this.clusterEnd = null;
    this.outTime = null;
    return concat(out);
  }

  /** Reads the element at `at`; returns the bytes used (0: wait for more). */
  step(b, at, out) {
    if (this.inCluster && this.clusterEnd !== null && this.offset >= this.clusterEnd) this.inCluster = false;
    const h = readHeader(b, at);
    if (!h) return 0;
    if (h.invalid) { this.passThrough = true; return 0; }
    if (this.inCluster && this.clusterEnd === null && LEVEL1.has(h.id)) this.inCluster = false;
    const bodyAt = at + h.headerLength;

    if (!this.inCluster) {
      if (h.id === ID.SEGMENT) {
        // The rewritten stream has another length: the Segment's becomes unknown.
        this.emitReady(out, true);
        out.push(b.subarray(at, at + readVint(b, at, true).length), Uint8Array.from(UNKNOWN_SIZE));
        return h.headerLength;
      }
      if (h.id === ID.CLUSTER) {
        this.inCluster = true;
        this.clusterEnd = h.size === null ? null : this.offset + h.headerLength + h.size;
        this.clusterTime = null;
        this.clusterOffset = this.offset;
        this.clusterVideoSeen = false;
        return h.headerLength;
      }
      if (h.size === null) { this.passThrough = true; return 0; }
      if (bodyAt + h.size > b.length) return 0;
      this.emitReady(out, true);
      if (h.id === ID.TRACKS) {
        this.videoTrack = videoTrackNumber(b.subarray(bodyAt, bodyAt + h.size));
        out.push(b.subarray(at, bodyAt), withoutAlphaMode(b.subarray(bodyAt, bodyAt + h.size)));
      } else out.push(b.subarray(at, bodyAt + h.size));
      return h.headerLength + h.size;
    }

    // Inside a cluster: its Timecode and blocks; anything else (Position, PrevSize, Void) is dropped.
    if (h.size === null) { this.passThrough = true; return 0; }
    if (bodyAt + h.size > b.length) return 0;
    const body = b.subarray(bodyAt, bodyAt + h.size);
    if (h.id === ID.TIMECODE) {
      this.clusterTime = uint(body, 0, body.length);
    } else if (h.id === ID.SIMPLE_BLOCK) {
      if (!this.takeBlock(body, null, null)) return 0;
    } else if (h.id === ID.BLOCK_GROUP) {
      let block = null, duration = null, referenced = false, padding = null;
      for (let p = 0; p < body.length;) {
        const c = readHeader(body, p);
        if (!c || c.invalid || c.size === null || p + c.headerLength + c.size > body.length) break;
        const child = body.subarray(p + c.headerLength, p + c.headerLength + c.size);
        if (c.id === ID.BLOCK) block = child;
        if (c.id === ID.BLOCK_DURATION) duration = uint(child, 0, child.length);
        if (c.id === ID.REFERENCE_BLOCK) referenced = true;
        if (c.id === ID.DISCARD_PADDING) padding = body.subarray(p, p + c.headerLength + c.size);
        p += c.headerLength + c.size;
      }
      if (block && !this.takeBlock(block, duration, !referenced, padding)) return 0;
    }
    return h.headerLength + h.size;
  }

  /**
   * Queues one block: the body of a SimpleBlock, or of a BlockGroup's Block with its duration (or
   * null), whether it is a keyframe (no ReferenceBlock) and its DiscardPadding element (or null).
   * False if it cannot be read.
   */
  takeBlock(body, duration, groupKeyframe, padding = null) {
    const track = readVint(body, 0, false);
    if (this.clusterTime === null || !track || track.invalid || body.length < track.length + 3) {
      this.passThrough = true;
      return false;
    }
    const relative = (body[track.length] << 8 | body[track.length + 1]) << 16 >> 16;
    const flags = body[track.length + 2];
    const time = this.clusterTime + relative;
    const video = track.value === this.videoTrack;
    const keyframe = video && (groupKeyframe === null ? (flags & 0x80) !== 0 : groupKeyframe);
    if (video && !this.clusterVideoSeen) {
      this.clusterVideoSeen = true;
      if (keyframe) this.onKeyframeCluster?.(this.clusterTime, this.clusterOffset);
    }
    // The previous block of this track now knows how long it lasts.
    const previous = this.waiting.findLast((w) => w.track === track.value);
    if (previous && previous.duration === null) previous.duration = Math.max(0, time - previous.time);
    this.waiting.push({ track: track.value, time, keyframe, video, flags: flags & 0x0e, duration, padding,
                        head: body.subarray(0, track.length), frame: body.subarray(track.length + 3) });
    return true;
  }

  /** Writes out the waiting blocks in stream order while each knows its duration (all, with `all`). */
  emitReady(out, all) {
    while (this.waiting.length > 0) {
      const block = this.waiting[0];
      if (block.duration === null) {
        if (!all && this.waiting.length <= MAX_WAITING) break;
        block.duration = this.lastDuration.get(block.track) ?? 20;
      }
      this.waiting.shift();
      this.lastDuration.set(block.track, block.duration);
      this.writeBlock(block, out);
    }
  }

  writeBlock(block, out) {
    const { time } = block;
    if (block.keyframe || this.outTime === null || time - this.outTime > 32767 || time - this.outTime < -32768) {
      this.outTime = Math.max(0, time);
      out.push(Uint8Array.from([0x1f, 0x43, 0xb6, 0x75, ...UNKNOWN_SIZE, ...element(ID.TIMECODE, intBytes(this.outTime))]));
    }
    const relative = time - this.outTime;
    const blockHead = [...block.head, (relative >> 8) & 0xff, relative & 0xff, block.flags];
    const blockSize = blockHead.length + block.frame.length;
    const tail = [...element(ID.BLOCK_DURATION, intBytes(block.duration))];
    if (block.video && !block.keyframe && this.lastVideoTime !== null) {
      tail.push(...element(ID.REFERENCE_BLOCK, intBytes(Math.max(-32768, this.lastVideoTime - time), true)));
    }
    if (block.padding) tail.push(...block.padding);
    if (block.video) this.lastVideoTime = time;
    const blockElement = [ID.BLOCK, ...sizeVint(blockSize)];
    const groupSize = blockElement.length + blockSize + tail.length;
    out.push(Uint8Array.from([ID.BLOCK_GROUP, ...sizeVint(groupSize), ...blockElement, ...blockHead]), block.frame, Uint8Array.from(tail));
  }
}
