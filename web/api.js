// The relay's HTTP API with the practitioner's token (Authorization: Bearer), and the token and
// session ids kept in this browser's localStorage.
const TOKEN_KEY = "vigrelay.practitionerToken";
const SESSIONS_KEY = "vigrelay.sessions";

export const savedToken = () => localStorage.getItem(TOKEN_KEY) ?? "";
export const saveToken = (token) => (token ? localStorage.setItem(TOKEN_KEY, token) : localStorage.removeItem(TOKEN_KEY));

/** Sessions created in this browser, newest first: [{sessionId, joinUrl, createdAt, caseRef, cycle}]. */
export function savedSessions() {
  try { return JSON.parse(localStorage.getItem(SESSIONS_KEY) ?? "[]"); } catch { return []; }
}

export function rememberSession(session) {
  const list = savedSessions().filter((s) => s.sessionId !== session.sessionId);
  list.unshift(session);
  localStorage.setItem(SESSIONS_KEY, JSON.stringify(list.slice(0, 100)));
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
  return as === "blob" ? response.blob() : response.json();
}

export const createSession = (labels) => call("POST", "/v1/sessions", { body: labels });
export const sessionSummary = (id) => call("GET", `/v1/sessions/${id}`);
export const createClip = (id, clip) => call("POST", `/v1/sessions/${id}/clips`, { body: clip });
export const clipBlob = (id, clipId) => call("GET", `/v1/sessions/${id}/clips/${clipId}`, { as: "blob" });
export const recordingBlob = (id, recordingId) => call("GET", `/v1/sessions/${id}/recordings/${recordingId}`, { as: "blob" });
