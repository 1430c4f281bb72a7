// The relay's HTTP API with the practitioner's token (Authorization: Bearer), and what this browser
// keeps in localStorage: the token, the invite links of sessions it created (the relay's list
// never carries invites), and the supervisor last named on a new session.
const TOKEN_KEY = "vigrelay.practitionerToken";
const INVITES_KEY = "vigrelay.invites";
const SUPERVISOR_KEY = "vigrelay.supervisor";
/** Where earlier versions of the page kept the sessions it created (with their invite links). */
const OLD_SESSIONS_KEY = "vigrelay.sessions";

export const savedToken = () => localStorage.getItem(TOKEN_KEY) ?? "";
export const saveToken = (token) => (token ? localStorage.setItem(TOKEN_KEY, token) : localStorage.removeItem(TOKEN_KEY));

/** The supervisor (their practitioner id) named on the last session created here, for the next one; "" for none. */
export const savedSupervisor = () => localStorage.getItem(SUPERVISOR_KEY) ?? "";
export const rememberSupervisor = (id) => (id ? localStorage.setItem(SUPERVISOR_KEY, id) : localStorage.removeItem(SUPERVISOR_KEY));

/** Invite links of sessions created in this browser, newest first: [{sessionId, joinUrl}] (at most 100). */
function savedInvites() {
  const read = (key) => { try { return JSON.parse(localStorage.getItem(key) ?? "[]"); } catch { return []; } };
  return [...read(INVITES_KEY), ...read(OLD_SESSIONS_KEY)];
}

/** The family's invite link of a session created in this browser, if it is still kept. */
export const savedInvite = (sessionId) => savedInvites().find((s) => s.sessionId === sessionId)?.joinUrl;

/**
 * Forgets everything this browser keeps for the practitioner: the token, the families' invite
 * links (each a bearer token to a family's call) and the supervisor's id, for a shared or
 * handed-on computer.
 */
export function forgetBrowser() {
  for (const key of [TOKEN_KEY, INVITES_KEY, OLD_SESSIONS_KEY, SUPERVISOR_KEY]) localStorage.removeItem(key);
}

export function rememberInvite(sessionId, joinUrl) {
  const list = savedInvites().filter((s) => s.sessionId !== sessionId);
  list.unshift({ sessionId, joinUrl });
  localStorage.setItem(INVITES_KEY, JSON.stringify(list.slice(0, 100)));
}

/** An error from the API, with the server's message (which says what to do). */
export class ApiError extends Error {
  constructor(status, body) {
    super(body?.message ?? `the server answered ${status}`);
    this.status = status;
    this.code = body?.code;
  }
}

async function call(method, path, { body, as = "json" } = {}) {
  const headers = { Authorization: `Bearer ${savedToken()}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body),
                                       cache: "no-store", credentials: "omit" });
  if (!response.ok) {
    let error = null;
    try { error = await response.json(); } catch { /* not JSON */ }
    throw new ApiError(response.status, error);
  }
  return as === "response" ? response : as === "blob" ? response.blob() : response.json();
}

export const createSession = (labels) => call("POST", "/v1/sessions", { body: labels });
/** A new family link for the session, replacing every earlier one: {sessionId, inviteToken, joinUrl, expiresAt}. */
export const newInvite = (id) => call("POST", `/v1/sessions/${id}/invite`);
/** A page of your sessions, newest first: {sessions, total, limit, nextBefore?}. */
export const listSessions = ({ limit = 50, before } = {}) =>
  call("GET", `/v1/sessions?limit=${limit}${before ? `&before=${before}` : ""}`);
/**
 * A page of the sessions you supervise (their practitioner named you, and the family agrees that you
 * may watch the recordings), newest first: {sessions, total, limit, nextBefore?}, as listSessions.
 */
export const listSupervised = ({ limit = 50, before } = {}) =>
  call("GET", `/v1/supervision?limit=${limit}${before ? `&before=${before}` : ""}`);
/** Your cycle log; with `practitioner`, as their supervisor, a trainee's (from their sessions naming you). */
export const cycleLog = (practitioner) =>
  call("GET", practitioner ? `/v1/cycles?practitioner=${encodeURIComponent(practitioner)}` : "/v1/cycles");
/** Sets the session's labels (null removes one): {sessionId, caseRef?, cycle?, purpose?, supervisor?}. */
export const changeLabels = (id, labels) => call("PATCH", `/v1/sessions/${id}`, { body: labels });
export const sessionSummary = (id) => call("GET", `/v1/sessions/${id}`);
export const createClip = (id, clip) => call("POST", `/v1/sessions/${id}/clips`, { body: clip });
/**
 * Gives session `id`'s family a copy of the clip to keep (`give`; a clip of `clipSessionId`, another
 * session of its case, when not `id`), or takes it back: {clipId, givenToFamily}.
 */
export const familyCopy = (id, clipId, give, clipSessionId = id) =>
  call(give ? "PUT" : "DELETE", `/v1/sessions/${id}/family-copies/${clipId}`,
       give && clipSessionId !== id ? { body: { sessionId: clipSessionId } } : {});
/** Gives a clip a new note ("" for none): the clip as the summary lists it. */
export const changeClipNote = (id, clipId, note) => call("PATCH", `/v1/sessions/${id}/clips/${clipId}`, { body: { note } });
export const clipBlob = (id, clipId) => call("GET", `/v1/sessions/${id}/clips/${clipId}`, { as: "blob" });
export const recordingBlob = (id, recordingId) => call("GET", `/v1/sessions/${id}/recordings/${recordingId}`, { as: "blob" });

/**
 * A stretch of a recording to watch (an excerpt: cut at keyframes like a clip, saved nowhere), with
 * the span it holds as the relay says: {bytes, fromMs, toMs} in ms from the recording's start.
 */
export async function recordingExcerpt(id, recordingId, fromMs, toMs) {
  const response = await call("GET", `/v1/sessions/${id}/recordings/${recordingId}?fromMs=${fromMs}&toMs=${toMs}`, { as: "response" });
  return { bytes: new Uint8Array(await response.arrayBuffer()), fromMs: Number(response.headers.get("x-vigrelay-from-ms")),
           toMs: Number(response.headers.get("x-vigrelay-to-ms")) };
}
