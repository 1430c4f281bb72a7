// The practitioner's VIG cycle log (GET /v1/cycles) in words: how many cycles are complete and
// with how many families, and each cycle's filming and review, for the practitioner's page.

/**
 * "3 complete cycles (filming and shared review held) with 2 families." and what the log leaves out;
 * `own`: the reader's own log (false: a trainee's, read by their supervisor, who cannot label it).
 */
export function cycleSummary(log, { own = true } = {}) {
  const n = log.completedCycles, families = log.familiesWithCompletedCycles;
  let text = `${n} complete cycle${n === 1 ? "" : "s"} (filming and shared review held) with ${families} famil${families === 1 ? "y" : "ies"}.`;
  const unlabelled = log.heldWithoutLabels;
  if (unlabelled > 0) {
    const fix = own ? `give ${unlabelled === 1 ? "it its" : "them their"} labels with "Labels…" in Your sessions`
      : "their practitioner can label them";
    text += ` ${unlabelled} held session${unlabelled === 1 ? " has" : "s have"} no case reference, cycle or purpose, so ${unlabelled === 1 ? "it is" : "they are"} not counted: ${fix}.`;
  }
  return text;
}

/** One row per cycle: [case, cycle, filming, review], each date in local time or what is still to do. */
export function cycleRows(log) {
  const day = (at) => new Date(at).toLocaleDateString(undefined, { dateStyle: "medium" });
  return log.cases.flatMap((c) => c.cycles.map((cycle) => [
    c.caseRef,
    String(cycle.cycle),
    cycle.filmedAt ? day(cycle.filmedAt) : "not yet",
    cycle.reviewedAt ? day(cycle.reviewedAt) : "not yet",
  ]));
}

/**
 * The log as CSV for a supervisor or an accreditation portfolio: one line per cycle, times in UTC
 * as the relay gives them. Case references are letters, digits and . _ - (the relay's rule), so no
 * cell needs quoting or could be read as a spreadsheet formula.
 */
export function cycleCsv(log) {
  const lines = [["case", "cycle", "filming held (UTC)", "shared review held (UTC)", "complete"]];
  for (const c of log.cases) {
    for (const cycle of c.cycles) {
      lines.push([c.caseRef, String(cycle.cycle), cycle.filmedAt ?? "", cycle.reviewedAt ?? "", cycle.complete ? "yes" : "no"]);
    }
  }
  return lines.map((cells) => cells.join(",")).join("\r\n") + "\r\n";
}
