// Clip spans and time formatting for the practitioner's page.

export const MIN_CLIP_MS = 3000;
export const MAX_CLIP_MS = 10000;

/** A 7 s span around a mark (3 s before, 4 s after), kept inside the recording and 3-10 s long. */
export function clipSpanAround(atMs, durationMs) {
  let fromMs = Math.max(0, atMs - 3000);
  let toMs = Math.min(durationMs, fromMs + 7000);
  if (toMs - fromMs < MIN_CLIP_MS) fromMs = Math.max(0, toMs - MIN_CLIP_MS);
  return [fromMs, toMs];
}

/** 83400 -> "1:23.4". */
export function formatSeconds(ms) {
  const total = Math.max(0, ms) / 1000;
  const minutes = Math.floor(total / 60);
  const seconds = (total - minutes * 60).toFixed(1).padStart(4, "0");
  return `${minutes}:${seconds}`;
}
