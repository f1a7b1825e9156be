// Staff sign-in, then the page of one's role (or the page that sent here, `?suite=`).

import { ApiError, currentUser, post } from "./api.js";
import { $ } from "./dom.js";
import { busy, clearErrors, showErrors } from "./forms.js";

const HOME_BY_ROLE = { coordinateur: "/gestion", admin: "/gestion", partenaire: "/gestion", groupe: "/carte", agent: "/" };

// Control characters (browsers drop tabs and line breaks: "/\t/evil" becomes "//evil"), backslashes
// (read as "/"), and the same once percent-decoded.
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\\]/;

/** The decoded forms of a text, until decoding changes nothing (or fails). */
function decodings(text) {
  const forms = [text];
  for (let i = 0; i < 5; i += 1) {
    let next;
    try {
      next = decodeURIComponent(forms[forms.length - 1]);
    } catch {
      return null; // malformed escapes: refused
    }
    if (next === forms[forms.length - 1]) return forms;
    forms.push(next);
  }
  return null;
}

/** Only an absolute path of this site: `?suite=` must never turn sign-in into a redirector. */
export function safeNextPath(wanted) {
  if (typeof wanted !== "string" || !wanted.startsWith("/") || wanted.length > 2000) return null;
  const forms = decodings(wanted);
  if (!forms || forms.some((form) => UNSAFE.test(form) || form.startsWith("//"))) return null;
  let url;
  try {
    url = new URL(wanted, location.origin);
  } catch {
    return null;
  }
  if (url.origin !== location.origin || url.pathname.startsWith("//")) return null;
  return url.pathname + url.search + url.hash;
}

function nextPage(user) {
  return safeNextPath(new URLSearchParams(location.search).get("suite") || "") || HOME_BY_ROLE[user.role] || "/";
}

function required(form, names) {
  const errors = names.filter((name) => !form.elements[name].value.trim())
    .map((name) => ({ field: name, message: "Ce champ est obligatoire." }));
  if (errors.length) {
    showErrors(form, new ApiError(422, { message: errors[0].message, errors }));
    return false;
  }
  return true;
}

async function signIn(event) {
  event.preventDefault();
  const form = event.currentTarget;
  clearErrors(form);
  if (!required(form, ["email", "password"])) return;
  await busy(form, "Connexion…", async () => {
    try {
      const me = await post("/api/v1/auth/login", {
        json: { email: form.elements.email.value.trim(), password: form.elements.password.value },
      });
      location.assign(nextPage(me.user));
    } catch (error) {
      showErrors(form, error); // the password stays typed: correct and resend
    }
  });
}

async function requestReset(event) {
  event.preventDefault();
  const form = event.currentTarget;
  clearErrors(form);
  if (!required(form, ["email"])) return;
  await busy(form, "Envoi…", async () => {
    try {
      const answer = await post("/api/v1/auth/password-reset", { json: { email: form.elements.email.value.trim() } });
      const done = $("#reset-request-done");
      done.textContent = answer.message;
      done.hidden = false;
    } catch (error) {
      showErrors(form, error);
    }
  });
}

async function start() {
  $("#login-form").addEventListener("submit", signIn);
  $("#reset-request-form").addEventListener("submit", requestReset);
  $("#show-password").addEventListener("change", (event) => {
    $("#password").type = event.currentTarget.checked ? "text" : "password";
  });
  const user = await currentUser().catch(() => null);
  if (user && !new URLSearchParams(location.search).has("suite")) {
    location.replace(nextPage(user)); // already signed in
    return;
  }
  document.body.dataset.ready = "true";
}

start();
