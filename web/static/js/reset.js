// Password reset from the mailed link: the token leaves the address bar at once (history, shoulder
// surfing) and lives in memory only; the page is served with Referrer-Policy: no-referrer.

import { ApiError, post } from "./api.js";
import { $ } from "./dom.js";
import { busy, clearErrors, showErrors } from "./forms.js";

// Mailed links carry the token in the fragment (never sent to the server, so never logged);
// `?jeton=` still works for links mailed before.
const token = new URLSearchParams(location.hash.slice(1)).get("jeton")
  || new URLSearchParams(location.search).get("jeton") || "";
history.replaceState(null, "", location.pathname);

async function submit(event) {
  event.preventDefault();
  const form = event.currentTarget;
  clearErrors(form);
  const password = form.elements.password.value;
  const problems = [];
  if (!password) problems.push({ field: "password", message: "Ce champ est obligatoire." });
  if (password !== form.elements.confirmation.value) {
    problems.push({ field: "confirmation", message: "Les deux mots de passe ne sont pas identiques." });
  }
  if (problems.length) {
    showErrors(form, new ApiError(422, { message: problems[0].message, errors: problems }));
    return;
  }
  await busy(form, "Enregistrement…", async () => {
    try {
      await post("/api/v1/auth/password-reset/confirm", { json: { token, password } });
      form.hidden = true;
      const done = $("#done");
      done.hidden = false;
      done.tabIndex = -1;
      done.focus();
    } catch (error) {
      showErrors(form, error);
    }
  });
}

$("#show-password").addEventListener("change", (event) => {
  for (const input of document.querySelectorAll("input[autocomplete=new-password]")) {
    input.type = event.currentTarget.checked ? "text" : "password";
  }
});
if (!token) {
  $("#no-token").hidden = false;
  $("#reset-form").hidden = true;
} else {
  $("#reset-form").addEventListener("submit", submit);
}
document.body.dataset.ready = "true";
