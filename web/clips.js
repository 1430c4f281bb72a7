// Clip spans and time formatting for the practitioner's page.

export const MIN_CLIP_MS = 3000;
export const MAX_CLIP_MS = 10000;

/**
 * A 7 s span around a mark (3 s before, 4 s after), 3-10 s long, kept inside the recording and
 * inside the part the mark is in (`parts`: the summary's `{startMs, durationMs}`): the relay cuts a
 * clip from one part only, and a part can be short, as when the family's camera started a new stream
 * just after recording began. Its ends are on tenths of a second, rounded inwards, as the page's
 * From and To fields show them (a part starting at 129 ms shown as 0.1 s would be crossed again).
 */
export function clipSpanAround(atMs, durationMs, parts = []) {
  const part = parts.find((p) => atMs >= p.startMs && atMs < p.startMs + p.durationMs);
  const first = part ? part.startMs : 0, last = part ? part.startMs + part.durationMs : durationMs;
  let fromMs = Math.max(first, atMs - 3000);
  let toMs = Math.min(last, fromMs + 7000);
  if (toMs - fromMs < MIN_CLIP_MS) fromMs = Math.max(first, toMs - MIN_CLIP_MS);
  return [Math.ceil(fromMs / 100) * 100, Math.floor(toMs / 100) * 100];
}

/** 83400 -> "1:23.4". */
export function formatSeconds(ms) {
  const total = Math.max(0, ms) / 1000;
  const minutes = Math.floor(total / 60);
  const seconds = (total - minutes * 60).toFixed(1).padStart(4, "0");
  return `${minutes}:${seconds}`;
}

/**
 * A mark's or a clip's note as the page shows it. The relay lists a note it could not read (an
 * encrypted recording's note in a damaged file) as empty with `noteUnreadable`: said, not hidden.
 */
export const noteText = (item) => (item.noteUnreadable ? "(the note could not be read)" : item.note ?? "");

/** A mark as the pages list it: "1:05.5: she laughs", or its time alone when it has no note. */
export const markText = (m) => `${formatSeconds(m.atMs)}${noteText(m) ? `: ${noteText(m)}` : ""}`;
