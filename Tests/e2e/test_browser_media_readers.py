"""The pages read the other side's media before Media Source Extensions see it: `MseWebM` rewrites
WebM (web/webm.js), `Mp4Scanner` finds MP4's keyframe fragments (web/mp4.js). What they read is what
the other side's browser sent, relayed as it came, so a damaged stream must never throw out of them,
which would stop the page's handling of that frame and leave its player half-fed: what they cannot
read they pass on as it is (WebM) or step over (MP4), and the player's own append errors wait for
the next init segment (web/player.js)."""

from __future__ import annotations

import json
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent.parent / "VigRelayCoreTests" / "Fixtures"
WEBM = FIXTURES / "testsrc-av-live.webm"  # VP8 + Opus as a browser streams it (unknown-size Segment)
MP4 = FIXTURES / "testsrc-av-frag.mp4"  # H.264 + AAC in fragments, as Safari records
MP4_INIT_END = 1240  # where its first moof starts: the init segment, the player's first frame

# Runs in the page: for each seed, the stream damaged (1-8 bytes overwritten, by any byte or by 0x00,
# 0x01 or 0xFF; in MP4 half of them a top-level box's size, given another: 0, 1, 4, huge, a byte off
# or any) and cut into random frames,
# fed to a reader as the player feeds it (with a resync now and then, as after the relay's skip).
# Seed 0 is the stream undamaged. Returns what each reader made of them and every exception.
FEED = """
async ([webm, mp4, initEnd, seeds]) => {
  const { MseWebM } = await import('/app/webm.js');
  const { Mp4Scanner } = await import('/app/mp4.js');
  const random = (seed) => () => {  // mulberry32: the same damage for the same seed
    seed = (seed + 0x6D2B79F5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const damaged = (source, next, sizes) => {
    const out = Uint8Array.from(source);
    const count = 1 + Math.floor(next() * 8);
    for (let i = 0; i < count; i++) {
      if (sizes.length && next() < 0.5) {
        const at = sizes[Math.floor(next() * sizes.length)];
        const size = ((source[at] << 24) | (source[at + 1] << 16) | (source[at + 2] << 8) | source[at + 3]) >>> 0;
        const other = [0, 1, 4, 0xFFFFFFFF, size - 1, size + 1, Math.floor(next() * 4294967296)][Math.floor(next() * 7)];
        for (let k = 0; k < 4; k++) out[at + k] = (other >>> (24 - 8 * k)) & 0xFF;
      } else out[Math.floor(next() * out.length)] = [0x00, 0x01, 0xFF, Math.floor(next() * 256)][Math.floor(next() * 4)];
    }
    return out;
  };
  const frames = (bytes, next) => {
    const out = [];
    for (let at = 0; at < bytes.length;) { const n = 1 + Math.floor(next() * 6000); out.push(bytes.subarray(at, at + n)); at += n; }
    return out;
  };
  const boxStarts = [];
  for (let at = 0; at + 8 <= mp4.length;) {
    boxStarts.push(at);
    at += ((mp4[at] << 24) | (mp4[at + 1] << 16) | (mp4[at + 2] << 8) | mp4[at + 3]) >>> 0;
  }
  const errors = [], results = { webm: [], mp4: [] };
  for (const seed of seeds) {
    const next = random(seed);
    try {
      const stream = seed === 0 ? Uint8Array.from(webm) : damaged(webm, next, []);
      const w = new MseWebM();
      let bytes = 0;
      for (const frame of frames(stream, next)) {
        if (seed !== 0 && next() < 0.05) bytes += w.resync().length;
        bytes += w.push(frame).length;
      }
      bytes += w.end().length;
      results.webm.push({ seed, passThrough: w.passThrough, bytes });
    } catch (e) { errors.push(`WebM seed ${seed}: ${e && e.stack || e}`); }
    try {
      const stream = seed === 0 ? Uint8Array.from(mp4) : damaged(mp4, next, boxStarts);
      const s = new Mp4Scanner(stream.subarray(0, initEnd), initEnd);
      const found = [];
      for (const frame of frames(stream.subarray(initEnd), next)) {
        if (seed !== 0 && next() < 0.05) s.resync();
        found.push(...s.push(frame));
      }
      const bad = found.filter((f) => !Number.isInteger(f.offset) || typeof f.keyframe !== "boolean");
      if (bad.length) errors.push(`MP4 seed ${seed}: fragments ${JSON.stringify(bad)}`);
      results.mp4.push({ seed, fragments: found.length, keyframes: found.filter((f) => f.keyframe).length,
                         times: seed === 0 ? found.map((f) => f.timeMs) : null });
    } catch (e) { errors.push(`MP4 seed ${seed}: ${e && e.stack || e}`); }
  }
  return { errors, results };
}
"""


def test_damaged_streams_never_throw_out_of_the_pages_media_readers(blank):
    webm, mp4 = list(WEBM.read_bytes()), list(MP4.read_bytes())
    out = blank.js(f"({FEED})({json.dumps([webm, mp4, MP4_INIT_END, list(range(0, 301))])})", timeout=60)
    assert out["errors"] == [], "\n".join(out["errors"][:10])
    webm_runs, mp4_runs = out["results"]["webm"], out["results"]["mp4"]
    assert len(webm_runs) == len(mp4_runs) == 301
    # The undamaged streams: the WebM rewritten (not passed through), the MP4's 8 fragments found,
    # every other one a keyframe, at the times ffprobe gives (Mp4FragmentTests).
    assert webm_runs[0]["passThrough"] is False and webm_runs[0]["bytes"] > 0, webm_runs[0]
    assert mp4_runs[0]["fragments"] == 8 and mp4_runs[0]["keyframes"] == 4, mp4_runs[0]
    assert mp4_runs[0]["times"] == [0, 521, 1021, 1521, 2021, 2521, 3021, 3521], mp4_runs[0]
    # The damage reached the readers' refusals: some WebM passed through, some MP4 lost fragments.
    assert any(r["passThrough"] for r in webm_runs[1:]), "no damaged WebM was passed through"
    assert any(r["fragments"] < 8 for r in mp4_runs[1:]), "no damaged MP4 lost a fragment"
