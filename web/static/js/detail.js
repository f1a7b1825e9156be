// A report's detail in the staff console: photos, staff timeline and the actions of one's role —
// coordinators qualify, assign, change status, merge and comment; a partner takes and resolves.
// Every form shows the API's message next to its field and keeps what was typed when it fails.

import { ApiError, get, post, superseding } from "./api.js";
import { blurEditor } from "./blur_editor.js";
import { $, announce, h } from "./dom.js";
import { busy, clearErrors, showErrors } from "./forms.js";
import {
  EVENT_KINDS, PARTNER_STATUSES, PRIORITIES, REASONS, SOURCES, STATUSES, TRANSITIONS,
  attributionText, formatBytes, formatDateTime,
} from "./vocabulary.js";

const MANAGERS = ["coordinateur", "admin"];
const MAX_BYTES = (window.GUSP_CONFIG || {}).maxPhotoBytes ?? 15 * 1024 * 1024;
let context = { user: null, lists: { partners: [], categories: [] }, onChange: () => {}, onClose: () => {} };
let container = null;
const openings = superseding(); // the last report asked for: a slower earlier answer must not replace it

export function setup(options) {
  context = options;
}

const api = (reference, action = "") => `/api/v1/gestion/reports/${encodeURIComponent(reference)}${action ? `/${action}` : ""}`;

export async function open(reference, element) {
  const stillLatest = openings.begin();
  container = element;
  element.hidden = false;
  element.replaceChildren(h("p", { role: "status" }, `Chargement de ${reference}…`));
  try {
    const report = await get(api(reference));
    if (!stillLatest()) return;
    render(report);
  } catch (error) {
    if (!stillLatest()) return;
    element.replaceChildren(heading(reference), h("p", { class: "notice notice--error", role: "alert" }, error.message));
  }
  // A focused box taller than the screen is scrolled to its middle: keep the reference and summary in view.
  element.focus({ preventScroll: true });
  element.scrollIntoView({ block: "start" });
}

export function close(element) {
  element.hidden = true;
  element.replaceChildren();
}

// --- small form builders -----------------------------------------------------------------------------

let uid = 0;
function field(name, label, control, hint) {
  uid += 1;
  control.id = `d-${name}-${uid}`;
  const hintNode = hint ? h("p", { class: "hint", id: `${control.id}-aide` }, hint) : null;
  if (hintNode) control.setAttribute("aria-describedby", hintNode.id);
  return h("div", { class: "field", "data-field": name }, h("label", { for: control.id }, label), hintNode, control,
    h("p", { class: "field-error", hidden: true }));
}

function selectField(name, label, entries, value, { empty = "Choisir…" } = {}) {
  const select = h("select", { name },
    empty ? h("option", { value: "" }, empty) : null,
    ...entries.map(([key, text]) => h("option", { value: key, selected: String(key) === String(value ?? "") }, text)));
  return field(name, label, select);
}

const textField = (name, label, { hint, long = true } = {}) =>
  field(name, label, long ? h("textarea", { name, maxlength: 4000, rows: 3 }) : h("input", { type: "text", name, maxlength: 200 }), hint);

function checkField(name, label) {
  uid += 1;
  const id = `d-${name}-${uid}`;
  return h("div", { "data-field": name }, h("div", { class: "check" },
    h("input", { type: "checkbox", id, name, value: "true" }), h("label", { for: id }, label)));
}

/** A form whose `run(form)` returns the updated report; errors land next to their fields. */
function actionForm(key, title, children, submitLabel, run) {
  const form = h("form", { novalidate: true, "aria-labelledby": `d-${key}-titre`, "data-action": key },
    h("h3", { id: `d-${key}-titre` }, title),
    h("div", { class: "error-summary", role: "alert", hidden: true }),
    ...children,
    h("button", { type: "submit" }, submitLabel));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    await busy(form, "Enregistrement…", async () => {
      try {
        const updated = await run(form);
        render(updated);
        announce(`${title} : enregistré.`);
        $("#detail-titre")?.focus();
        context.onChange();
      } catch (error) {
        showErrors(form, error);
      }
    });
  });
  return form;
}

const invalid = (field, message) => new ApiError(422, { message, errors: [{ field, message }] });
const value = (form, name) => form.elements[name]?.value.trim() || null;

// --- the detail -------------------------------------------------------------------------------------------

function heading(reference) {
  return h("header", {},
    h("h2", { id: "detail-titre", tabindex: "-1" }, reference),
    h("button", { type: "button", class: "secondary", onclick: () => context.onClose() },
      "Fermer", h("span", { class: "visually-hidden" }, ` le détail de ${reference}`)));
}

function gallery(title, photos, report, manager) {
  if (!photos.length) return null;
  return h("section", {}, h("h3", {}, title), h("ul", { class: "gallery" }, ...photos.map((photo, index) =>
    h("li", { "data-photo": photo.id },
      h("a", { href: photo.url, target: "_blank", rel: "noopener" },
        h("img", { src: photo.thumbnail_url, alt: `${title} ${index + 1} (ouvrir en grand)`, loading: "lazy" })),
      photoState(photo),
      manager ? photoToggle(report, photo, `${title} ${index + 1}`) : null))));
}

function photoState(photo) {
  if (photo.hidden) return h("p", { class: "meta photo-state" }, "Masquée au public");
  if (!photo.public) return h("p", { class: "meta photo-state" }, "Non publique (catégorie sensible ou en attente)");
  return h("p", { class: "meta photo-state" }, "Visible du public");
}

/** Hide a photo from the public surfaces, or show it again (coordinators); the staff still see it. */
function photoToggle(report, photo, name) {
  const action = photo.hidden ? "show" : "hide";
  const button = h("button", { type: "button", class: "secondary" },
    photo.hidden ? "Montrer au public" : "Masquer au public", h("span", { class: "visually-hidden" }, ` : ${name}`));
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      render(await post(api(report.reference, `photos/${photo.id}/${action}`)));
      announce(action === "hide" ? `${name} masquée au public.` : `${name} de nouveau visible du public.`);
      context.onChange();
    } catch (error) {
      button.disabled = false;
      announce(error.message);
    }
  });
  return button;
}

/** Prior moderation (GUSP_PUBLIC_MODERATION=before): the description and photos wait for this. */
function publishBlock(report, manager) {
  if (report.published) return null;
  const children = [h("p", { class: "notice" }, "Description et photos non publiées : le public ne voit que la catégorie et le statut.")];
  if (manager) {
    const button = h("button", { type: "button" }, "Publier la description et les photos");
    button.addEventListener("click", async () => {
      button.disabled = true;
      try {
        render(await post(api(report.reference, "publish")));
        announce("Description et photos publiées.");
        context.onChange();
      } catch (error) {
        button.disabled = false;
        announce(error.message);
      }
    });
    children.push(button);
  }
  return h("section", { class: "moderation", "data-moderation": "publish" }, ...children);
}

function eventText(event, report) {
  const data = event.data || {};
  const known = [...context.lists.partners, ...(report.partner ? [report.partner] : [])];
  const partnerName = (id) => known.find((p) => p.id === id)?.name || (id ? `partenaire n° ${id}` : "aucun");
  switch (event.kind) {
    case "status_changed":
      return `${STATUSES[data.old] || data.old} → ${STATUSES[data.new] || data.new}${data.reason ? ` (${REASONS[data.reason] || data.reason})` : ""}`;
    case "assigned":
      return `à ${partnerName(data.new)}`;
    case "priority_changed":
      return `${PRIORITIES[data.old] || data.old} → ${PRIORITIES[data.new] || data.new}`;
    case "category_changed":
      return `${data.old} → ${data.new}`;
    case "merged":
      return `doublon de ${data.master}`;
    case "duplicate_attached":
      return `${data.duplicate} rattaché`;
    case "photo_blurred":
      return `${data.rectangles} rectangle${data.rectangles > 1 ? "s" : ""} sur la photo ${(data.position ?? 0) + 1}`;
    default:
      return "";
  }
}

function timeline(report) {
  return h("section", { class: "staff-timeline" }, h("h3", {}, "Historique"),
    h("ol", { class: "timeline" }, ...report.staff_timeline.map((event) => h("li", {},
      h("time", { datetime: event.at }, formatDateTime(event.at)),
      h("strong", {}, EVENT_KINDS[event.kind] || event.kind), " ", eventText(event, report),
      event.actor ? h("span", { class: "meta" }, ` — ${event.actor}`) : null,
      event.note ? h("p", {}, event.note, event.note_public ? h("span", { class: "meta" }, " (visible du déclarant)") : null) : null,
    ))));
}

function render(report) {
  const role = context.user.role;
  const manager = MANAGERS.includes(role);
  const contact = report.contact;
  const facts = [
    ["Catégorie", report.category.label],
    ["Quartier", attributionText(report.attribution)],
    ["Partenaire", report.partner?.name || "Aucun"],
    ["Signalé le", formatDateTime(report.created_at)],
    ["Échéance", report.due_at ? formatDateTime(report.due_at) : "—"],
    ["Source", SOURCES[report.source] || report.source],
  ];
  if (report.similar_count) facts.push(["Signalements similaires", String(report.similar_count)]);
  if (report.master_reference) facts.push(["Doublon de", report.master_reference]);
  if (report.duplicate_references?.length) facts.push(["Doublons fusionnés ici", report.duplicate_references.join(", ")]);
  container.setAttribute("aria-labelledby", "detail-titre");
  container.replaceChildren(...[
    heading(report.reference),
    h("p", {}, h("span", { class: `badge status-${report.status}` }, report.status_label), " ",
      h("span", { class: `badge priority-${report.priority}` }, `Priorité ${PRIORITIES[report.priority].toLowerCase()}`), " ",
      report.overdue ? h("span", { class: "badge overdue" }, "En retard") : null),
    h("dl", { class: "facts" }, ...facts.flatMap(([term, text]) => [h("dt", {}, term), h("dd", {}, text)])),
    publishBlock(report, manager),
    h("h3", {}, "Description"),
    h("p", {}, report.description || "(sans description)"),
    report.public_description !== report.description && report.published
      ? h("p", { class: "meta" }, "Lue par le public : ", report.public_description || "(rien)") : null,
    report.location_public ? null : h("p", { class: "meta" }, "Lieu public : quartier seulement (catégorie sensible)."),
    contact ? h("section", {}, h("h3", {}, "Contact du déclarant (confidentiel)"),
      h("p", {}, [contact.name, contact.email, contact.phone].filter(Boolean).join(" — ") || "—")) : null,
    gallery("Photo du signalement", report.photos, report, manager),
    gallery("Photo après intervention", report.after_photos, report, manager),
    manager && report.staff_photos?.length ? h("section", { class: "blur-editors" }, h("h3", {}, "Flouter des zones"),
      ...report.staff_photos.map((photo, index) => blurEditor(report.reference, photo, index, actionForm))) : null,
    h("div", { class: "actions-grid" }, ...(manager ? managerActions(report) : partnerActions(report, role))),
    timeline(report),
  ].filter(Boolean));
  if (manager) loadDuplicates(report);
}

// --- coordinators ----------------------------------------------------------------------------------------

function managerActions(report) {
  const ref = report.reference;
  const forms = [];
  forms.push(actionForm("qualifier", "Qualifier", [
    selectField("category", "Catégorie", context.lists.categories.map((c) => [c.code, c.label]), report.category.code, { empty: null }),
    selectField("priority", "Priorité", Object.entries(PRIORITIES), report.priority, { empty: null }),
  ], "Enregistrer la qualification", async (form) => {
    let updated = null;
    if (form.elements.category.value !== report.category.code) {
      updated = await post(api(ref, "category"), { json: { category: form.elements.category.value } });
    }
    if (form.elements.priority.value !== report.priority) {
      updated = await post(api(ref, "priority"), { json: { priority: form.elements.priority.value } });
    }
    if (!updated) throw invalid("category", "Rien n'a changé : choisissez une autre catégorie ou priorité.");
    return updated;
  }));

  forms.push(actionForm("affecter", "Affecter à un partenaire", [
    selectField("partner_id", "Partenaire", context.lists.partners.map((p) => [p.id, p.name]), report.partner?.id),
    textField("note", "Note pour le partenaire (facultative)"),
  ], "Affecter", (form) => {
    const partner = Number(form.elements.partner_id.value);
    if (!partner) throw invalid("partner_id", "Choisissez le partenaire.");
    return post(api(ref, "assign"), { json: { partner_id: partner, note: value(form, "note") } });
  }));

  const next = TRANSITIONS[report.status] || [];
  if (next.length) forms.push(statusForm(report, next, true));

  forms.push(actionForm("doublon", "Doublon d'un autre signalement", [
    h("div", { class: "duplicates", "aria-live": "polite" }),
    field("master_reference", "Référence du signalement maître", h("input", { type: "text", name: "master_reference", maxlength: 32 }),
      "Ce signalement-ci sera rejeté comme doublon et compté sur le maître."),
    textField("note", "Note (facultative, interne sauf si cochée)"),
    checkField("note_public", "Note visible du déclarant (numéros et e-mails masqués)"),
  ], "Fusionner dans le maître", (form) => {
    const master = value(form, "master_reference");
    if (!master) throw invalid("master_reference", "Indiquez la référence du signalement maître.");
    return post(api(ref, "merge"), { json: {
      master_reference: master, note: value(form, "note"), note_public: form.elements.note_public.checked,
    } });
  }));

  forms.push(commentForm(report, true));
  return forms;
}

async function loadDuplicates(report) {
  const box = container.querySelector("form[data-action=doublon] .duplicates");
  if (!box) return;
  let found = [];
  try {
    found = await get(api(report.reference, "duplicates"));
  } catch {
    return;
  }
  if (!found.length) {
    box.replaceChildren(h("p", { class: "meta" }, "Aucun doublon probable à proximité."));
    return;
  }
  box.replaceChildren(h("p", {}, "Doublons probables (même catégorie, à proximité) :"), h("ul", {}, ...found.map((other) =>
    h("li", {}, h("strong", {}, other.reference), other.later ? " (signalé après celui-ci)" : "",
      ` — ${STATUSES[other.status]}, à ${Math.round(other.distance_m)} m : `,
      other.description.slice(0, 80), " ",
      h("button", { type: "button", class: "link", onclick: () => {
        const form = container.querySelector("form[data-action=doublon]");
        form.elements.master_reference.value = other.reference;
        form.elements.master_reference.focus();
      } }, `Choisir ${other.reference} comme maître`)))));
}

function statusForm(report, allowed, manager) {
  const reasonField = selectField("reason", "Motif du rejet", Object.entries(REASONS), "");
  reasonField.hidden = true;
  const statusField = selectField("status", "Nouveau statut", allowed.map((s) => [s, STATUSES[s]]), "");
  statusField.querySelector("select").addEventListener("change", (event) => {
    reasonField.hidden = event.currentTarget.value !== "rejete";
  });
  return actionForm("statut", "Changer le statut", [
    statusField,
    reasonField,
    textField("note", "Note (facultative)"),
    manager ? checkField("note_public", "Note visible du déclarant (page de suivi et e-mail)") : null,
  ].filter(Boolean), "Changer le statut", (form) => {
    const status = form.elements.status.value;
    if (!status) throw invalid("status", "Choisissez le nouveau statut.");
    return post(api(report.reference, "status"), { json: {
      status, note: value(form, "note"), note_public: Boolean(form.elements.note_public?.checked),
      reason: status === "rejete" ? value(form, "reason") : null,
    } });
  });
}

function commentForm(report, manager) {
  return actionForm("commentaire", "Commenter", [
    textField("note", "Commentaire"),
    manager ? checkField("public", "Visible du déclarant (page de suivi)") : null,
  ].filter(Boolean), "Ajouter le commentaire", (form) => post(api(report.reference, "comments"), {
    json: { note: form.elements.note.value, public: Boolean(form.elements.public?.checked) },
  }));
}

// --- partners (and read-only roles) ---------------------------------------------------------------------

function partnerActions(report, role) {
  const forms = [];
  if (role === "partenaire") {
    if (report.status === "pris_en_compte") {
      forms.push(actionForm("prendre", "Prendre en charge", [
        h("p", {}, "Le signalement passe « En cours de traitement » : le déclarant le voit sur sa page de suivi."),
      ], "Prendre en charge", () => post(api(report.reference, "status"), { json: { status: "en_cours" } })));
    }
    if (["pris_en_compte", "en_cours"].includes(report.status)) forms.push(resolveForm(report));
    const allowed = (TRANSITIONS[report.status] || []).filter((s) => PARTNER_STATUSES.includes(s) && s !== "resolu");
    if (allowed.length && report.status !== "pris_en_compte") forms.push(statusForm(report, allowed, false));
  }
  forms.push(commentForm(report, false));
  return forms;
}

function resolveForm(report) {
  const photo = h("input", { type: "file", name: "after_photo", accept: "image/*", capture: "environment" });
  const chosen = h("p", { class: "meta", "aria-live": "polite" });
  photo.addEventListener("change", () => {
    const file = photo.files[0];
    chosen.textContent = file ? `Photo choisie : ${file.name} (${formatBytes(file.size)})` : "";
  });
  const photoField = field("after_photo", "Photo « après »", photo, "Prenez le lieu sous le même angle que la photo du signalement.");
  photoField.append(chosen);
  return actionForm("resoudre", "Résoudre", [
    textField("note", "Message pour le déclarant", { hint: "Visible sur la page de suivi et envoyé par e-mail au déclarant qui l'a demandé." }),
    photoField,
  ], "Marquer comme résolu", (form) => {
    const file = photo.files[0];
    if (file && file.size > MAX_BYTES) {
      throw invalid("after_photo", `Cette photo pèse ${formatBytes(file.size)} : ${formatBytes(MAX_BYTES)} au plus.`);
    }
    const data = new FormData();
    if (value(form, "note")) data.append("note", value(form, "note"));
    if (file) data.append("after_photo", file, file.name || "apres.jpg");
    return post(api(report.reference, "resolve"), { form: data });
  });
}
