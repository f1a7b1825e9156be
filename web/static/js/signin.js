// Staff sign-in, then the page of one's role (or the page that sent here, `?suite=`).

import { ApiError, currentUser, post } from "./api.js";
import { $ } from "./dom.js";
import { busy, clearErrors, showErrors } from "./forms.js";

const HOME_BY_ROLE = { coordinateur: "/gestion", admin: "/gestion", partenaire: "/gestion", groupe: "/carte", agent: "/" };

/** Only a path of this site: `?suite=https://elsewhere` must not turn sign-in into a redirector. */
function nextPage(user) {
  const wanted = new URLSearchParams(location.search).get("suite") || "";
  if (wanted.startsWith("/") && !wanted.startsWith("//") && !wanted.startsWith("/\\")) return wanted;
  return HOME_BY_ROLE[user.role] || "/";
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
