// Calls to the GUSP JSON API. Every error of the API is {code, message, field?, errors?};
// a request that never reached the server is a NetworkError (kept apart: it can be retried).

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.message || `Le serveur a répondu ${status}.`);
    this.status = status;
    this.code = body?.code || "erreur";
    this.field = body?.field || null;
    this.errors = Array.isArray(body?.errors) ? body.errors : [];
    this.index = Number.isInteger(body?.index) ? body.index : null; // which of several files (photos)
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
  return answer(response.status, await response.text());
}

/** The JSON of an answer, or its ApiError. */
function answer(status, text) {
  if (status === 204) return null;
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (status < 200 || status >= 300) {
    if (!data && status >= 500) {
      data = { code: "serveur_indisponible", message: "Le serveur est momentanément indisponible ; réessayez." };
    }
    throw new ApiError(status, data);
  }
  return data;
}

/**
 * POST a form (FormData) and follow its upload: `onProgress(sent, total)` in bytes. fetch cannot
 * tell how much of a body has left, XMLHttpRequest can; answers and errors are those of request().
 */
export function upload(url, { form, headers = {}, onProgress = () => {} } = {}) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", url);
    xhr.setRequestHeader("Accept", "application/json");
    for (const [name, value] of Object.entries(headers)) xhr.setRequestHeader(name, value);
    if (csrfToken) xhr.setRequestHeader("X-CSRF-Token", csrfToken);
    xhr.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) onProgress(event.loaded, event.total);
    });
    xhr.addEventListener("load", () => {
      try {
        resolve(answer(xhr.status, xhr.responseText));
      } catch (error) {
        reject(error);
      }
    });
    for (const failure of ["error", "timeout", "abort"]) {
      xhr.addEventListener(failure, () => reject(new NetworkError()));
    }
    xhr.send(form);
  });
}

export const get = (url, options) => request("GET", url, options);
export const post = (url, options) => request("POST", url, options);

/**
 * Requests of which the last one asked for wins (a new search, another report opened): `begin()` gives
 * a check that stays true until a later request begins, `join()` one that follows the request begun last
 * (the next page of the same list). A slower earlier answer is then dropped, not shown over the new one.
 */
export function superseding() {
  let last = 0;
  const check = (mine) => () => mine === last;
  return { begin: () => check(++last), join: () => check(last) };
}

/** The signed-in member of staff, or null; remembers the CSRF token for the writes that follow. */
export async function currentUser() {
  // /auth/session answers 200 signed in or not: no 401 for the browser to log on every visit.
  const state = await get("/api/v1/auth/session");
  if (!state.authenticated) return null;
  setCsrfToken(state.csrf_token);
  return state.user;
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
