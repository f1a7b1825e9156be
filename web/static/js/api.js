// Calls to the GUSP JSON API. Every error of the API is {code, message, field?, errors?};
// a request that never reached the server is a NetworkError (kept apart: it can be retried).

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.message || `Le serveur a répondu ${status}.`);
    this.status = status;
    this.code = body?.code || "erreur";
    this.field = body?.field || null;
    this.errors = Array.isArray(body?.errors) ? body.errors : [];
  }

  /** Worth sending again later: the server or a proxy failed, not the content. */
  get retryable() {
    return this.status >= 500 || this.status === 408 || this.status === 429;
  }
}

export class NetworkError extends Error {
  constructor() {
    super("Pas de connexion au serveur : vérifiez votre réseau.");
    this.retryable = true;
  }
}

let csrfToken = null;

export function setCsrfToken(token) {
  csrfToken = token;
}

/** fetch + JSON + French errors. `json` is sent as JSON; `form` (FormData) as multipart. */
export async function request(method, url, { json, form, headers = {}, signal } = {}) {
  const sent = new Headers(headers);
  sent.set("Accept", "application/json");
  let body;
  if (json !== undefined) {
    sent.set("Content-Type", "application/json");
    body = JSON.stringify(json);
  } else if (form) {
    body = form;
  }
  if (method !== "GET" && csrfToken) sent.set("X-CSRF-Token", csrfToken);
  let response;
  try {
    response = await fetch(url, { method, headers: sent, body, credentials: "same-origin", signal });
  } catch (error) {
    if (error.name === "AbortError") throw error; // cancelled on purpose; a TimeoutError is a bad network
    throw new NetworkError();
  }
  if (response.status === 204) return null;
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) {
    if (!data && response.status >= 500) {
      data = { code: "serveur_indisponible", message: "Le serveur est momentanément indisponible ; réessayez." };
    }
    throw new ApiError(response.status, data);
  }
  return data;
}

export const get = (url, options) => request("GET", url, options);
export const post = (url, options) => request("POST", url, options);

/** The signed-in member of staff, or null; remembers the CSRF token for the writes that follow. */
export async function currentUser() {
  try {
    const me = await get("/api/v1/auth/me");
    setCsrfToken(me.csrf_token);
    return me.user;
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return null;
    throw error;
  }
}

/** Pages for staff: send the visitor to the sign-in page and back here afterwards. */
export async function requireUser() {
  const user = await currentUser();
  if (!user) {
    const back = location.pathname + location.search;
    location.replace(`/connexion?suite=${encodeURIComponent(back)}`);
    return new Promise(() => {}); // the page is leaving
  }
  return user;
}

export async function signOut() {
  try {
    await post("/api/v1/auth/logout");
  } finally {
    location.assign("/connexion");
  }
}

/** A query string from an object; arrays repeat the key, empty values are left out. */
export function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    for (const item of Array.isArray(value) ? value : [value]) {
      if (item !== undefined && item !== null && item !== "" && item !== false) search.append(key, String(item));
    }
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}
