// The console's only way to the server: the public API, with the signed-in user's tokens.
// An expired session asks to sign in again in a dialog and then retries the request, so
// the page (and any form being filled) is kept.

const KEY = "lanerunner.session";

export const session = {
  get() {
    try { return JSON.parse(sessionStorage.getItem(KEY) || "null"); } catch { return null; }
  },
  set(tokens, me) {
    const s = { access: tokens.access_token, refresh: tokens.refresh_token, me: me ?? this.get()?.me ?? null };
    sessionStorage.setItem(KEY, JSON.stringify(s));
    return s;
  },
  setMe(me) {
    const s = this.get();
    if (s) sessionStorage.setItem(KEY, JSON.stringify({ ...s, me }));
  },
  clear() { sessionStorage.removeItem(KEY); },
};

/** A refused request: `problem` is the server's problem+json (or one made up for a network failure). */
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || problem?.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

/** Set by the app: shows the sign-in dialog; resolves once signed in again, rejects if cancelled. */
export const hooks = { reauthenticate: null };

let refreshing = null;
/** One sign-in dialog however many requests find the session ended at once. */
let reauthenticating = null;

async function refresh() {
  const s = session.get();
  if (!s?.refresh) return false;
  refreshing ??= fetch("/v1/auth/refresh", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ refresh_token: s.refresh }),
  })
    .then(async (r) => (r.ok ? (session.set(await r.json()), true) : false))
    .catch(() => false)
    .finally(() => (refreshing = null));
  return refreshing;
}

/**
 * `api("POST", "/v1/loads", body, {idempotencyKey, ifMatch, contentType, headers: true, blob: true})`:
 * the JSON answer (with `{body, etag}` when `headers` is asked for; the body as a Blob when
 * `blob` is, for a file), or an ApiError.
 */
export async function api(method, path, body, opts = {}) {
  const headers = { accept: "application/json, application/problem+json" };
  // A body is JSON unless its type is given (`contentType: "text/csv"` sends it as it is).
  const raw = opts.contentType !== undefined;
  if (body !== undefined) headers["content-type"] = raw ? opts.contentType : "application/json";
  const s = session.get();
  if (s?.access && !opts.anonymous) headers.authorization = `Bearer ${s.access}`;
  if (opts.idempotencyKey) headers["idempotency-key"] = opts.idempotencyKey;
  if (opts.ifMatch) headers["if-match"] = opts.ifMatch;
  let res;
  try {
    res = await fetch(path, { method, headers, body: body === undefined || raw ? body : JSON.stringify(body) });
  } catch {
    throw new ApiError(0, { title: "The server could not be reached", detail: "Check your connection and try again." });
  }
  if (res.status === 401 && s?.access && !opts.anonymous && !opts.retried) {
    if (!(await refresh())) {
      // Signed out meanwhile (a request still in flight at sign-out): nothing to resume.
      if (!hooks.reauthenticate || !session.get()) throw new ApiError(401, { title: "Your session has ended" });
      reauthenticating ??= hooks.reauthenticate().finally(() => (reauthenticating = null));
      await reauthenticating;
    }
    return api(method, path, body, { ...opts, retried: true });
  }
  const type = res.headers.get("content-type") || "";
  if (opts.blob && res.ok) return res.blob();
  const data = res.status === 204 ? null : type.includes("json") ? await res.json().catch(() => null) : null;
  if (!res.ok) {
    throw new ApiError(res.status, data || {
      title: res.status >= 500 ? "The server had a problem" : `The server answered ${res.status}`,
      detail: res.status >= 500 ? "Nothing you entered is lost; try again in a moment." : undefined,
    });
  }
  return opts.headers ? { body: data, etag: res.headers.get("etag") } : data;
}

/** A key for one submission of a form: a retry of the same submission reuses it. */
export function idempotencyKey() {
  return crypto.randomUUID();
}

/**
 * The organization's events (the realtime socket) while this page is shown: `onEvent` gets
 * each one. When the server closes the socket (its access token expired), the session is
 * refreshed through the API and the socket reopened; leaving the page closes it.
 */
export function live(onEvent) {
  let ws = null;
  let left = false;
  const open = () => {
    const s = session.get();
    if (left || !s?.access) return;
    ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/v1/realtime?access_token=${encodeURIComponent(s.access)}`);
    ws.addEventListener("message", (m) => onEvent(JSON.parse(m.data)));
    ws.addEventListener("close", () => {
      if (left) return;
      // A cheap call refreshes the tokens when they have expired; then listen again.
      setTimeout(() => api("GET", "/v1/me").then(open, open), 1000);
    });
  };
  open();
  window.addEventListener("hashchange", () => { left = true; ws?.close(); }, { once: true });
}

/** Known places starting with `q` (`GET /v1/places`), for place inputs. */
export const completePlaces = (q) => api("GET", `/v1/places?q=${encodeURIComponent(q)}&limit=8`);
