// A family link (`/join#session=ID&invite=TOKEN`), as both pages see it: the family's page joins with
// it, the practitioner's page shows the one this browser kept.

/** The session id and invite from a join link's fragment (`#session=ID&invite=TOKEN`). */
export function parseInviteFragment(hash) {
  const params = new URLSearchParams(hash.replace(/^#/, ""));
  const session = params.get("session");
  const invite = params.get("invite");
  return session && invite ? { session, invite } : null;
}

/**
 * Whether the relay would let a link join now (`GET /v1/sessions/{id}/invite`, asked with the link's
 * own invite). `refusal`: the refusal's code (`invite_replaced` for a link replaced by a newer one,
 * `unauthorized` for an expired or unknown one, `session_not_found`), or null when the link is good
 * or the relay did not answer: `hello` decides then. `supervised`: a good link's session names the
 * practitioner's supervisor; `familyCopies`: the relay gives the family copies of clips.
 * `fromFamily`: the family's page is asking, so a refusal is told to the practitioner in the
 * session too (`?from=family`).
 */
export async function inviteStatus({ session, invite }, { fromFamily = false } = {}) {
  try {
    const query = fromFamily ? "?from=family" : "";
    const response = await fetch(`/v1/sessions/${encodeURIComponent(session)}/invite${query}`, {
      headers: { Authorization: `Bearer ${invite}` }, cache: "no-store", credentials: "omit",
      signal: AbortSignal.timeout?.(5000),
    });
    const body = await response.json().catch(() => ({}));
    if (response.ok) return { refusal: null, supervised: body.supervised === true, familyCopies: body.familyCopies === true };
    // 401: expired, replaced or not this relay's; 404: no such session. Anything else (busy, down) is no answer.
    if (response.status !== 401 && response.status !== 404) return { refusal: null, supervised: false };
    return { refusal: body.code ?? "unauthorized", supervised: false };
  } catch {
    return { refusal: null, supervised: false };
  }
}

/** `inviteStatus`'s refusal alone. */
export async function inviteRefusal(link, options) {
  return (await inviteStatus(link, options)).refusal;
}
