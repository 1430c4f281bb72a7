// The practitioner's session list (GET /v1/sessions) as plain facts: what each entry's state,
// consent and recordings mean in words, for the list on the practitioner's page; and the sessions
// they supervise (GET /v1/supervision), whose entries have the same shape.

/** "fam-042 · cycle 2 · 15 Jan 2027, 08:00" (local time), with "shared review" after the cycle for one. */
export function sessionLabel(s) {
  return [labelWords(s), createdWords(s)].filter(Boolean).join(" · ");
}

/** When the session was created, in local time: "15 Jan 2027, 08:00". */
function createdWords(s) {
  return new Date(s.createdAt).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

/** "fam-042 · cycle 2 · shared review" (the parts it has), or "" for a session without labels. */
export function labelWords(s) {
  return [s.caseRef, s.cycle ? `cycle ${s.cycle}` : null, s.purpose === "review" ? "shared review" : null].filter(Boolean).join(" · ");
}

/**
 * A supervised session, for its supervisor: "trainee-1 · fam-042 · cycle 2 · filming · 15 Jan 2027,
 * 08:00" (its practitioner first; the parts it has).
 */
export function supervisedLabel(s) {
  const purpose = { filming: "filming", review: "shared review" }[s.purpose];
  return [s.practitioner, s.caseRef, s.cycle ? `cycle ${s.cycle}` : null, purpose, createdWords(s)].filter(Boolean).join(" · ");
}

/**
 * The body of PATCH /v1/sessions/{id} from the labels form: each label as typed, or null (removed)
 * when its field is empty, so the session gets exactly the labels the form shows.
 */
export function labelsBody({ caseRef, cycle, purpose, supervisor }) {
  return { caseRef: caseRef.trim() || null, cycle: cycle === "" ? null : Number(cycle), purpose: purpose || null,
           supervisor: supervisor.trim() || null };
}

/**
 * Whom the session names as supervisor, and whether the family agrees that they may watch the
 * recordings (only with consent to recording), as a [text, kind] badge; null without either.
 */
function supervisorFact(s) {
  const agreed = s.consent === "given" && s.supervisorMayView;
  if (s.supervisor) return [`supervisor ${s.supervisor}: ${agreed ? "the family agreed they may watch" : "the family has not agreed"}`, ""];
  // The family agreed, but nobody is named: "Labels…" names them.
  return agreed ? ["the family agreed your supervisor may watch: none named", ""] : null;
}

/** "2 recordings (1.8 MB), 1 deleted, 1 clip": what the session holds. */
export function contentFact(s) {
  const parts = [`${s.recordingCount} recording${s.recordingCount === 1 ? "" : "s"}`];
  if (s.recordingCount > 0) parts[0] += ` (${formatBytes(s.recordingBytes)})`;
  if (s.deletedRecordingCount > 0) parts.push(`${s.deletedRecordingCount} deleted`);
  parts.push(`${s.clipCount} clip${s.clipCount === 1 ? "" : "s"}`);
  return parts.join(", ");
}

/** The entry's facts as [text, kind] badges; kind picks the style: live, rec, warn or "". */
export function sessionFacts(s) {
  const facts = [];
  if (s.state === "live") facts.push([`live: ${s.connected.join(" + ")}`, "live"]);
  else facts.push([s.state === "new" ? "nobody joined yet" : "ended", ""]);
  // The family's page was turned away on an old link within the hour (the relay forgets it once the
  // family joins or a new link is made): send them the newest, or make one.
  if (s.familyLinkRefused) {
    const at = new Date(s.familyLinkRefusedAt).toLocaleTimeString(undefined, { timeStyle: "short" });
    facts.push([`family tried ${s.familyLinkRefused === "replaced" ? "an older" : "an expired"} link at ${at}`, "warn"]);
  }
  // A session still to happen whose family link expired: open it and make a new one.
  const awaitingFamily = s.state === "new" || (s.state === "live" && !s.connected.includes("family"));
  if (awaitingFamily && s.familyLinkRefused !== "expired" && s.inviteExpiresAt && new Date(s.inviteExpiresAt) <= new Date()) {
    facts.push(["family link expired", "warn"]);
  }
  if (s.consent === "given") facts.push([`consent given${s.childAgreed ? " (child too)" : ""}`, ""]);
  else if (s.consent === "withdrawn") facts.push(["consent withdrawn", "warn"]);
  else facts.push(["no consent yet", ""]);
  const supervisor = supervisorFact(s);
  if (supervisor) facts.push(supervisor);
  if (s.recordingState === "recording") {
    facts.push([`● recording${s.awaiting?.length ? ` (waiting for the ${s.awaiting.join(" and ")})` : ""}`, "rec"]);
  }
  // Without all three labels a session is in no cycle: "Labels…" puts that right.
  const missing = [!s.caseRef && "case reference", !s.cycle && "cycle", !s.purpose && "purpose"].filter(Boolean);
  if (missing.length > 0) {
    const last = missing.pop();
    facts.push([`not in your cycle log: no ${missing.length ? `${missing.join(", ")} or ` : ""}${last}`, ""]);
  }
  facts.push([contentFact(s), ""]);
  return facts;
}

/** 1843200 -> "1.8 MB" (powers of 1000). */
export function formatBytes(bytes) {
  const units = ["B", "KB", "MB", "GB", "TB"];
  let value = bytes, unit = 0;
  while (value >= 1000 && unit < units.length - 1) { value /= 1000; unit += 1; }
  return unit === 0 ? `${bytes} B` : `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}
