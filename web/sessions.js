// The practitioner's session list (GET /v1/sessions) as plain facts: what each entry's state,
// consent and recordings mean in words, for the list on the practitioner's page.

/** "fam-042 · cycle 2 · 15 Jan 2027, 08:00" (local time), with "shared review" after the cycle for one. */
export function sessionLabel(s) {
  const created = new Date(s.createdAt).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
  return [labelWords(s), created].filter(Boolean).join(" · ");
}

/** "fam-042 · cycle 2 · shared review" (the parts it has), or "" for a session without labels. */
export function labelWords(s) {
  return [s.caseRef, s.cycle ? `cycle ${s.cycle}` : null, s.purpose === "review" ? "shared review" : null].filter(Boolean).join(" · ");
}

/**
 * The body of PATCH /v1/sessions/{id} from the labels form: each label as typed, or null (removed)
 * when its field is empty, so the session gets exactly the labels the form shows.
 */
export function labelsBody({ caseRef, cycle, purpose }) {
  return { caseRef: caseRef.trim() || null, cycle: cycle === "" ? null : Number(cycle), purpose: purpose || null };
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
  if (s.recordingState === "recording") {
    facts.push([`● recording${s.awaiting?.length ? ` (waiting for the ${s.awaiting.join(" and ")})` : ""}`, "rec"]);
  }
  // Without all three labels a session is in no cycle: "Labels…" puts that right.
  const missing = [!s.caseRef && "case reference", !s.cycle && "cycle", !s.purpose && "purpose"].filter(Boolean);
  if (missing.length > 0) {
    const last = missing.pop();
    facts.push([`not in your cycle log: no ${missing.length ? `${missing.join(", ")} or ` : ""}${last}`, ""]);
  }
  const parts = [`${s.recordingCount} recording${s.recordingCount === 1 ? "" : "s"}`];
  if (s.recordingCount > 0) parts[0] += ` (${formatBytes(s.recordingBytes)})`;
  if (s.deletedRecordingCount > 0) parts.push(`${s.deletedRecordingCount} deleted`);
  parts.push(`${s.clipCount} clip${s.clipCount === 1 ? "" : "s"}`);
  facts.push([parts.join(", "), ""]);
  return facts;
}

/** 1843200 -> "1.8 MB" (powers of 1000). */
export function formatBytes(bytes) {
  const units = ["B", "KB", "MB", "GB", "TB"];
  let value = bytes, unit = 0;
  while (value >= 1000 && unit < units.length - 1) { value /= 1000; unit += 1; }
  return unit === 0 ? `${bytes} B` : `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}
