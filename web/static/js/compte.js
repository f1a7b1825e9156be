// "Mon compte" (/compte): who I am, and changing my own password (the current one first).

import { ApiError, post } from "./api.js";
import { $, h } from "./dom.js";
import { busy, clearErrors, showErrors } from "./forms.js";
import { staffHeader } from "./staff_nav.js";
import { ROLES, formatDateTime } from "./vocabulary.js";

async function start() {
  const user = await staffHeader();
  const facts = [["Nom", user.full_name], ["Adresse e-mail", user.email], ["Rôle", ROLES[user.role] || user.role],
    ["Dernière connexion", formatDateTime(user.last_login_at) || "—"]];
  $("#me").replaceChildren(...facts.flatMap(([term, text]) => [h("dt", {}, term), h("dd", {}, text)]));
  const form = $("#password-form");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    $("#password-done").hidden = true;
    const current = form.elements.current_password.value;
    const fresh = form.elements.new_password.value;
    if (fresh !== form.elements.confirmation.value) {
      showErrors(form, new ApiError(422, { code: "confirmation", field: "confirmation",
        message: "Les deux nouveaux mots de passe ne sont pas identiques." }));
      return;
    }
    try {
      await busy(form, "Enregistrement…", () => post("/api/v1/auth/password",
        { json: { current_password: current, new_password: fresh } }));
    } catch (error) {
      showErrors(form, error);
      return;
    }
    form.reset();
    $("#password-done").hidden = false;
  });
  document.body.dataset.ready = "true";
}

start();
