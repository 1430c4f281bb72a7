// Fragmented MP4, as Safari's MediaRecorder writes it (and Chrome's for video/mp4): the codecs of an
// init segment (ftyp + moov), and, as the stream goes by, where each fragment (moof) starts, whether
// it starts with a video keyframe and its time on the camera's clock. The relay cannot find
// keyframes in MP4 itself: the sender flags the frames that start at one (sender.js), and the
// player places the recording's start from them (player.js).

const text = (bytes, at) => String.fromCharCode(bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]);
const u32 = (bytes, at) => ((bytes[at] << 24) | (bytes[at + 1] << 16) | (bytes[at + 2] << 8) | bytes[at + 3]) >>> 0;
const u64 = (bytes, at) => u32(bytes, at) * 2 ** 32 + u32(bytes, at + 4);
const hex2 = (n) => n.toString(16).toUpperCase().padStart(2, "0");
const dec2 = (n) => String(n).padStart(2, "0");

/** Whether bytes start an MP4 file (its first box is `ftyp`). */
export function isMp4(bytes) {
  return bytes.length >= 8 && text(bytes, 4) === "ftyp";
}

/** The boxes in bytes[from, to): {type, body (offset of the payload), end}; stops at a malformed size. */
function boxes(bytes, from = 0, to = bytes.length) {
  const out = [];
  let at = from;
  while (at + 8 <= to) {
    let size = u32(bytes, at), body = at + 8;
    if (size === 1 && at + 16 <= to) { size = u64(bytes, at + 8); body = at + 16; }
    else if (size === 0) size = to - at;
    if (size < body - at || at + size > to) break;
    out.push({ type: text(bytes, at + 4), body, end: at + size });
    at += size;
  }
  return out;
}

const child = (bytes, box, type) => box && boxes(bytes, box.body, box.end).find((b) => b.type === type);
const children = (bytes, box, type) => (box ? boxes(bytes, box.body, box.end).filter((b) => b.type === type) : []);

/** The RFC 6381 codec string of one sample entry (`avc1.64001F`, `vp09.00.10.08`, `mp4a.40.2`, ...). */
function codecString(bytes, entry) {
  // Visual sample entries hold 78 bytes of fields before their child boxes, audio ones 28.
  const config = (type, skip) => boxes(bytes, entry.body + skip, entry.end).find((b) => b.type === type);
  switch (entry.type) {
    case "avc1": case "avc3": {
      const c = config("avcC", 78);
      return c ? `${entry.type}.${hex2(bytes[c.body + 1])}${hex2(bytes[c.body + 2])}${hex2(bytes[c.body + 3])}` : "avc1.42E01E";
    }
    case "vp09": {
      const c = config("vpcC", 78);
      // Chrome writes level 0 (not stated), which its own MSE refuses in a codec string: say level 1.
      return c ? `vp09.${dec2(bytes[c.body + 4])}.${dec2(bytes[c.body + 5] || 10)}.${dec2(bytes[c.body + 6] >> 4)}` : "vp09.00.10.08";
    }
    case "av01": {
      const c = config("av1C", 78);
      if (!c) return "av01.0.04M.08";
      const a = bytes[c.body + 1], b = bytes[c.body + 2];
      const depth = b & 0x40 ? (b & 0x20 ? 12 : 10) : 8;
      return `av01.${a >> 5}.${dec2(a & 0x1f)}${b & 0x80 ? "H" : "M"}.${dec2(depth)}`;
    }
    case "hvc1": case "hev1": return `${entry.type}.1.6.L93.B0`;
    case "mp4a": return "mp4a.40.2";
    case "Opus": return "opus";
    default: return entry.type;
  }
}

/**
 * The tracks of an init segment: id, handler (`vide`, `soun`), timescale, codec string, and the
 * default sample flags its `trex` gives fragments that state none.
 */
export function mp4Tracks(init) {
  const moov = boxes(init).find((b) => b.type === "moov");
  if (!moov) return [];
  const trex = new Map(children(init, child(init, moov, "mvex"), "trex").map((t) => [u32(init, t.body + 4), u32(init, t.body + 16)]));
  return children(init, moov, "trak").map((trak) => {
    const tkhd = child(init, trak, "tkhd"), mdia = child(init, trak, "mdia");
    const mdhd = child(init, mdia, "mdhd"), hdlr = child(init, mdia, "hdlr");
    const stsd = child(init, child(init, child(init, mdia, "minf"), "stbl"), "stsd");
    const entry = stsd && boxes(init, stsd.body + 8, stsd.end)[0];
    const id = tkhd ? u32(init, tkhd.body + (init[tkhd.body] === 1 ? 20 : 12)) : 0;
    return {
      id,
      handler: hdlr ? text(init, hdlr.body + 8) : "",
      timescale: mdhd ? u32(init, mdhd.body + (init[mdhd.body] === 1 ? 20 : 12)) : 1000,
      codec: entry ? codecString(init, entry) : "",
      defaultFlags: trex.get(id) ?? 0,
    };
  });
}

/** The MSE type of an MP4 init segment, from its sample entries; null if it names none. */
export function mp4Type(init) {
  const codecs = mp4Tracks(init).map((t) => t.codec).filter(Boolean);
  return codecs.length ? `video/mp4;codecs="${codecs.join(",")}"` : null;
}

/**
 * What one moof says of the video track: whether its first sample is a sync sample (a keyframe) and
 * its decode time (ms). A moof without the video track is not a keyframe.
 */
export function fragmentInfo(moof, video, body = 8) {
  for (const traf of children(moof, { body, end: moof.length }, "traf")) {
    const tfhd = child(moof, traf, "tfhd");
    if (!tfhd || u32(moof, tfhd.body + 4) !== video.id) continue;
    const tfhdFlags = u32(moof, tfhd.body) & 0xffffff;
    let at = tfhd.body + 8, defaultFlags = video.defaultFlags;
    for (const [bit, size] of [[0x1, 8], [0x2, 4], [0x8, 4], [0x10, 4]]) if (tfhdFlags & bit) at += size;
    if (tfhdFlags & 0x20) defaultFlags = u32(moof, at);
    const tfdt = child(moof, traf, "tfdt");
    const decodeTime = tfdt ? (moof[tfdt.body] === 1 ? u64(moof, tfdt.body + 4) : u32(moof, tfdt.body + 4)) : 0;
    let flags = defaultFlags;
    const trun = child(moof, traf, "trun");
    if (trun) {
      const trunFlags = u32(moof, trun.body) & 0xffffff;
      let p = trun.body + 8;
      if (trunFlags & 0x1) p += 4;
      if (trunFlags & 0x4) flags = u32(moof, p);
      else if (trunFlags & 0x400) flags = u32(moof, p + (trunFlags & 0x100 ? 4 : 0) + (trunFlags & 0x200 ? 4 : 0));
    }
    // sample_is_non_sync_sample is bit 16 of the sample flags.
    return { keyframe: (flags & 0x10000) === 0, timeMs: Math.round((decodeTime * 1000) / video.timescale) };
  }
  return { keyframe: false, timeMs: null };
}

/**
 * Follows a fragmented MP4 stream after its init segment, whatever the chunking: `push` returns the
 * fragments whose moof box it completed, each with its stream offset (`base` + bytes before it),
 * keyframe and time. `openMoof` is the offset of a moof started but not complete yet (else null).
 * Media data is skipped by counting; only moof boxes (a few hundred bytes) are held.
 */
export class Mp4Scanner {
  constructor(init, base = 0) {
    this.video = mp4Tracks(init).find((t) => t.handler === "vide") ?? null;
    this.offset = base;
    this.resync();
  }

  /** The next byte starts a box (after a gap: the relay resumes at a fragment that starts with a keyframe). */
  resync() {
    this.header = [];
    this.skip = 0;
    this.moof = null;
    this.openMoof = null;
  }

  push(bytes) {
    const found = [];
    let i = 0;
    while (i < bytes.length) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, bytes.length - i);
        this.skip -= n; i += n; this.offset += n;
      } else if (this.moof) {
        const n = Math.min(this.moof.bytes.length - this.moof.filled, bytes.length - i);
        this.moof.bytes.set(bytes.subarray(i, i + n), this.moof.filled);
        this.moof.filled += n; i += n; this.offset += n;
        if (this.moof.filled === this.moof.bytes.length) {
          const info = this.video ? fragmentInfo(this.moof.bytes, this.video, this.moof.body) : { keyframe: false, timeMs: null };
          found.push({ offset: this.openMoof, ...info });
          this.moof = null;
          this.openMoof = null;
        }
      } else {
        this.header.push(bytes[i]); i += 1; this.offset += 1;
        if (this.header.length < 8) continue;
        const size = u32(this.header, 0), type = text(this.header, 4);
        if (size === 1 && this.header.length < 16) continue;
        const headerLength = this.header.length;
        const total = size === 1 ? u64(this.header, 8) : size;
        const start = this.offset - headerLength;
        this.header = [];
        if (total < headerLength) { this.skip = Infinity; continue; } // not MP4 from here on
        if (type === "moof" && total <= 1 << 20) {
          this.moof = { bytes: new Uint8Array(total), filled: headerLength, body: headerLength };
          this.openMoof = start;
          if (total === headerLength) { found.push({ offset: start, keyframe: false, timeMs: null }); this.moof = null; this.openMoof = null; }
        } else this.skip = total - headerLength;
      }
    }
    return found;
  }
}
