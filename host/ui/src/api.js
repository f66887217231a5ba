// The client of /api/v1. A learner is identified by the HttpOnly cookie the
// server sets on POST /guests: the first call answered 401 gets one, then
// the browser sends it on every request (and on WebSocket upgrades).

const BASE = "/api/v1";

/** An API error answer: `{"error": {"code", "message", "hint"}}`. */
export class ApiError extends Error {
  constructor(status, error, headers) {
    super(error?.message ?? `the server answered ${status}`);
    this.status = status;
    this.code = error?.code ?? "http_" + status;
    this.hint = error?.hint ?? null;
    this.queuePosition = error?.queue_position ?? null;
    const retry = Number(headers?.get("Retry-After"));
    this.retryAfter = Number.isFinite(retry) && retry > 0 ? retry : (error?.retry_after_seconds ?? null);
  }
}

/** The server could not be reached at all. */
export class NetworkError extends Error {
  constructor(cause) {
    super("the server cannot be reached; check your connection");
    this.code = "network";
    this.cause = cause;
  }
}

let guest = null;

/** Gets a guest identity; concurrent callers share one request. */
function becomeGuest() {
  guest ??= fetch(`${BASE}/guests`, { method: "POST", credentials: "same-origin" })
    .then(async (res) => {
      if (!res.ok) throw new ApiError(res.status, (await res.json().catch(() => ({}))).error, res.headers);
    })
    .finally(() => { guest = null; });
  return guest;
}

/**
 * Calls the API. Options: `method`, `json` (a body to send as JSON), `body`
 * (raw bytes or text) with its `type` (default application/octet-stream),
 * `as` ("json" default, "bytes", "none"), `identify` (default true: on 401
 * get a guest identity and ask again; false: answer 401 as an error),
 * `signal`.
 */
export async function api(path, { method = "GET", json, body, type = "application/octet-stream", as = "json", identify = true, signal } = {}) {
  const headers = {};
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  } else if (body !== undefined) {
    headers["Content-Type"] = type;
  }
  for (let attempt = 0; ; attempt++) {
    let res;
    try {
      res = await fetch(BASE + path, { method, headers, body, credentials: "same-origin", signal });
    } catch (e) {
      if (e?.name === "AbortError") throw e;
      throw new NetworkError(e);
    }
    if (res.status === 401 && identify && attempt === 0) {
      await becomeGuest();
      continue;
    }
    if (!res.ok) {
      const payload = await res.json().catch(() => ({}));
      throw new ApiError(res.status, payload.error, res.headers);
    }
    if (res.status === 204 || as === "none") return null;
    if (as === "bytes") return new Uint8Array(await res.arrayBuffer());
    return res.json();
  }
}

/** `?a=1&b=2` from the set values of `params`, or "". */
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : "";
}

/** The WebSocket URL of the API path `path`. */
export function socketUrl(path) {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}${BASE}${path}`;
}

/** The WebSocket URL of a terminal. */
export function terminalSocketUrl(session, terminal) {
  return socketUrl(`/sessions/${encodeURIComponent(session)}/terminals/${encodeURIComponent(terminal)}/ws`);
}

/** The URL of an API path, for what fetch does not open (EventSource, links). */
export function apiUrl(path) {
  return BASE + path;
}
