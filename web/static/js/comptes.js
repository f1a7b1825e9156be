// Accounts for admins (/gestion/comptes): the list, a form to create or change an account
// (role, partner, quartiers by their code, active), and "send a password link".

import { ApiError, get, post, request } from "./api.js";
import { $, $$, announce, h } from "./dom.js";
import { busy, clearErrors, showErrors } from "./forms.js";
import { staffHeader } from "./staff_nav.js";
import { ROLES, formatDateTime } from "./vocabulary.js";

const state = { users: [], partners: [], quartiers: [], me: null };
const URL = "/api/v1/admin/users";

function failure(error) {
  const box = $("#users-error");
  box.textContent = error instanceof ApiError ? error.message : "Le serveur ne répond pas : réessayez.";
  box.hidden = false;
}

function done(message) {
  $("#users-error").hidden = true;
  const box = $("#users-done");
  box.textContent = message;
  box.hidden = false;
  announce(message);
}

function scope(user) {
  if (user.partner_name) return user.partner_name;
  return user.quartiers.map((q) => q.nom).join(", ") || "—";
}

function row(user) {
  const edit = h("button", { type: "button", class: "secondary", onclick: () => fill(user) }, "Modifier");
  edit.setAttribute("aria-label", `Modifier le compte de ${user.full_name}`);
  const reset = h("button", { type: "button", class: "secondary", onclick: async () => {
    try {
      done((await post(`${URL}/${user.id}/password-reset`)).message);
    } catch (error) {
      failure(error);
    }
  } }, "Lien de mot de passe");
  reset.setAttribute("aria-label", `Envoyer un lien de mot de passe à ${user.full_name}`);
  return h("tr", { "data-id": String(user.id) },
    h("td", {}, user.full_name), h("td", {}, user.email), h("td", {}, ROLES[user.role] || user.role),
    h("td", {}, scope(user)), h("td", {}, user.active ? "Actif" : "Désactivé"),
    h("td", {}, formatDateTime(user.last_login_at) || "jamais"),
    h("td", {}, edit, " ", user.active ? reset : null));
}

async function load() {
  const page = await get(URL);
  state.users = page.data;
  $("#users-rows").replaceChildren(...page.data.map(row));
}

function roleFields() {
  const form = $("#user-form");
  const role = form.elements.role.value;
  $("#u-partner-field").hidden = role !== "partenaire";
  $("#u-quartiers-field").hidden = role !== "groupe";
}

function fill(user) {
  const form = $("#user-form");
  clearErrors(form);
  form.elements.id.value = user ? String(user.id) : "";
  form.elements.email.value = user?.email || "";
  form.elements.email.disabled = Boolean(user);
  form.elements.full_name.value = user?.full_name || "";
  form.elements.role.value = user?.role || "coordinateur";
  form.elements.partner_id.value = user?.partner_id ? String(user.partner_id) : "";
  const codes = new Set((user?.quartiers || []).map((q) => q.code));
  for (const box of $$("#u-quartiers input")) box.checked = codes.has(box.value);
  form.elements.active.checked = user ? user.active : true;
  $("#u-active-field").hidden = !user;
  $("#u-invite-hint").hidden = Boolean(user);
  $("#user-form-title").textContent = user ? `Modifier le compte de ${user.full_name}` : "Créer un compte";
  $("#u-submit").textContent = user ? "Enregistrer" : "Créer le compte";
  $("#u-cancel").hidden = !user;
  roleFields();
  if (user) form.elements.full_name.focus();
}

async function submit(event) {
  event.preventDefault();
  const form = event.currentTarget;
  clearErrors(form);
  const id = form.elements.id.value;
  const role = form.elements.role.value;
  const body = {
    full_name: form.elements.full_name.value.trim(),
    role,
    partner_id: role === "partenaire" && form.elements.partner_id.value ? Number(form.elements.partner_id.value) : null,
    quartiers: role === "groupe" ? $$("#u-quartiers input:checked").map((box) => box.value) : [],
  };
  try {
    if (id) {
      const saved = await busy(form, "Enregistrement…", () =>
        request("PATCH", `${URL}/${id}`, { json: { ...body, active: form.elements.active.checked } }));
      done(`Compte de ${saved.full_name} enregistré.`);
    } else {
      const created = await busy(form, "Création…", () => post(URL, { json: { ...body, email: form.elements.email.value.trim() } }));
      done(`Compte de ${created.full_name} créé : un lien pour choisir son mot de passe part vers ${created.email}.`);
    }
  } catch (error) {
    showErrors(form, error);
    return;
  }
  fill(null);
  await load();
}

async function start() {
  state.me = await staffHeader();
  if (state.me.role !== "admin") {
    failure(new ApiError(403, { message: "Seuls les administrateurs gèrent les comptes." }));
    $("#user-form").hidden = true;
    document.body.dataset.ready = "true";
    return;
  }
  const [partners, quartiers] = await Promise.all([get("/api/v1/partners"), get("/api/v1/quartiers")]);
  state.partners = partners;
  $("#u-partner").append(...partners.map((p) => h("option", { value: String(p.id) }, p.name)));
  $("#u-quartiers").append(...quartiers.features.map((f) => {
    const id = `q-${f.properties.code}`;
    return h("div", { class: "check" }, h("input", { type: "checkbox", id, value: f.properties.code }),
      h("label", { for: id }, `${f.properties.nom} (${f.properties.code})`));
  }));
  const form = $("#user-form");
  form.elements.role.addEventListener("change", roleFields);
  form.addEventListener("submit", submit);
  $("#u-cancel").addEventListener("click", () => fill(null));
  fill(null);
  await load();
  document.body.dataset.ready = "true";
}

start().catch(failure);
