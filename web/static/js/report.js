// The reporting page (`/`): category, photos, place, description, contact; nearby reports of the
// same category before sending; a report made without network waits on the phone (outbox.js).
// Nothing typed or photographed is lost: the draft is kept in IndexedDB as it is written.

import { ApiError, get } from "./api.js";
import { $, announce, h } from "./dom.js";
import { busy, clearErrors, showErrors } from "./forms.js";
import { categoryIcon } from "./icons.js";
import { downscale } from "./downscale.js";
import * as outbox from "./outbox.js";
import * as place from "./report_place.js";
import { namePhoto, PhotoPicker } from "./photo_picker.js";
import * as store from "./store.js";
import { attributionText, formatBytes, formatDate, formatDistance } from "./vocabulary.js";
import * as waiting from "./waiting_list.js";

const config = window.GUSP_CONFIG || {};
const MAX_PHOTOS = config.maxPhotos ?? 5;
const MAX_BYTES = config.maxPhotoBytes ?? 15 * 1024 * 1024;
const DISPLAY_PX = config.displayMaxPx ?? 2048; // photos leave the phone at the size the server stores
const SEND_TIMEOUT_MS = 90_000;
const RETRY_EVERY_MS = 30_000;

const form = $("#report-form");
const state = { categories: [] };
const photos = new PhotoPicker({
  list: $("#photo-list"), warning: $("#photos-erreur"), maxPhotos: MAX_PHOTOS, maxBytes: MAX_BYTES,
  onChange: () => saveDraftPhotos(), focusWhenEmpty: $("#photo-files"),
  prepare: (file) => downscale(file, { maxPx: DISPLAY_PX }),
});

// --- categories ---------------------------------------------------------------------------------

function renderCategories(categories) {
  const grid = $("#categories");
  grid.replaceChildren(...categories.map((category) => h("div", { class: "category-tile" },
    h("input", { type: "radio", name: "category", id: `categorie-${category.code}`, value: category.code }),
    h("label", { for: `categorie-${category.code}` }, categoryIcon(category.icon), category.label),
  )));
}

const selectedCategory = () => form.querySelector("input[name=category]:checked")?.value || "";
const categoryLabel = (code) => state.categories.find((c) => c.code === code)?.label || code;

function selectCategory(code) {
  const input = form.querySelector(`input[name=category][value="${CSS.escape(code || "")}"]`);
  if (input) input.checked = true;
  describePrivacy();
}

/** A sensitive category says what the public will not see (photos, exact place). */
function describePrivacy() {
  const note = $("#category-privacy");
  const category = state.categories.find((c) => c.code === selectedCategory());
  const hidden = [];
  if (category && category.photos_public === false) hidden.push("vos photos");
  if (category && category.location_public === "quartier") hidden.push("le lieu exact (seul le quartier sera indiqué)");
  note.hidden = hidden.length === 0;
  note.textContent = hidden.length ? `Pour ce type de signalement, ${hidden.join(" et ")} ne seront pas publiés : seuls les agents de la Ville les verront.` : "";
}

// --- nearby reports of the same category ------------------------------------------------------

let nearbyTimer = null;
let nearbyAsked = "";

function refreshNearby() {
  clearTimeout(nearbyTimer);
  nearbyTimer = setTimeout(showNearby, 300);
}

async function showNearby() {
  const section = $("#nearby");
  const category = selectedCategory();
  const where = place.position();
  if (!category || !where) {
    section.hidden = true;
    return;
  }
  const asked = `${category}|${where.lat.toFixed(6)}|${where.lon.toFixed(6)}`;
  nearbyAsked = asked;
  let found;
  try {
    found = await get(`/api/v1/reports/nearby?category=${encodeURIComponent(category)}&lat=${where.lat}&lon=${where.lon}`);
  } catch {
    section.hidden = true; // offline: nothing to show, the report can still be made
    return;
  }
  if (asked !== nearbyAsked) return;
  section.hidden = found.data.length === 0;
  $("#nearby-list").replaceChildren(...found.data.map((report) => h("li", { class: "card" },
    report.thumbnail_url ? h("img", { src: report.thumbnail_url, alt: `Photo du signalement ${report.reference}` }) : null,
    h("div", { class: "body" },
      h("p", {}, h("strong", {}, report.reference), " ", h("span", { class: `badge status-${report.status}` }, report.status_label)),
      h("p", {}, report.description ? report.description.slice(0, 160) : "(sans description)"),
      h("p", { class: "meta" }, `À ${formatDistance(report.distance_m)} — signalé le ${formatDate(report.created_at)}`),
      h("button", {
        type: "button", class: "secondary", "aria-label": `C'est le même problème : suivre ${report.reference}`,
        onclick: () => followInstead(report),
      }, "C'est le même problème"),
    ),
  )));
  if (found.data.length) announce(`${found.data.length} signalement${found.data.length > 1 ? "s" : ""} de la même catégorie près d'ici.`);
}

async function followInstead(report) {
  await outbox.remember(report, { label: categoryLabel(selectedCategory()), followed: true });
  await clearDraft();
  location.assign(`/suivi/${encodeURIComponent(report.reference)}`);
}

// --- the form's content, its draft and its checks ------------------------------------------------

function readFields() {
  const value = (name) => form.elements[name].value.trim();
  const where = place.place();
  return {
    category: selectedCategory(),
    description: value("description"),
    lat: where.lat,
    lon: where.lon,
    accuracy_m: where.accuracy_m,
    contact_name: value("contact_name"),
    contact_email: value("contact_email"),
    contact_phone: value("contact_phone"),
    contact_consent: form.elements.contact_consent.checked ? "true" : "",
    source: "web",
  };
}

function fillForm(fields, saved) {
  selectCategory(fields.category);
  for (const name of ["description", "contact_name", "contact_email", "contact_phone"]) form.elements[name].value = fields[name] || "";
  form.elements.contact_consent.checked = fields.contact_consent === "true";
  if (fields.lat && fields.lon) {
    place.setLocation(Number(fields.lat), Number(fields.lon), {
      accuracy: fields.accuracy_m ? Number(fields.accuracy_m) : null, zoom: true, save: false,
    });
  }
  if (saved) photos.set(saved);
}

let draftTimer = null;
function saveDraft() {
  clearTimeout(draftTimer);
  draftTimer = setTimeout(() => store.put(store.DRAFT, {
    id: "fields", fields: { ...readFields(), ...(place.position() ? {} : { lat: "", lon: "", accuracy_m: "" }) }, place: place.draft(),
  }).catch(() => {}), 300);
}

function saveDraftPhotos() {
  store.put(store.DRAFT, { id: "photos", photos: photos.saved() }).catch(() => {});
}

async function clearDraft() {
  clearTimeout(draftTimer);
  await Promise.all([store.remove(store.DRAFT, "fields"), store.remove(store.DRAFT, "photos")]).catch(() => {});
}

async function restoreDraft() {
  const [fields, draftPhotos] = await Promise.all([store.read(store.DRAFT, "fields"), store.read(store.DRAFT, "photos")])
    .catch(() => [null, null]);
  if (fields) {
    fillForm(fields.fields, draftPhotos?.photos);
    place.restore(fields.place);
  }
  else if (draftPhotos?.photos?.length) photos.set(draftPhotos.photos);
}

function resetForm() {
  form.reset();
  photos.set([]);
  place.reset();
  $("#nearby").hidden = true;
  clearErrors(form);
}

/** The checks worth making before sending (the server makes them all again). */
function formProblems(fields) {
  const problems = [];
  if (!fields.category) problems.push({ field: "category", message: "Choisissez la catégorie du problème." });
  for (const message of photos.problems()) problems.push({ field: "photos", message });
  const placeProblem = place.problem();
  if (placeProblem) problems.push({ field: "location", message: placeProblem });
  if (!fields.description && photos.photos.length === 0) {
    problems.push({ field: "description", message: "Décrivez le problème, ou ajoutez une photo." });
  }
  const contact = fields.contact_name || fields.contact_email || fields.contact_phone;
  if (contact && !fields.contact_consent) {
    problems.push({ field: "contact_consent", message: "Pour laisser vos coordonnées, cochez la case qui autorise leur conservation." });
  }
  return problems;
}

/** Without the map, the resident's words on the place lead the description (the position is the quartier's). */
function withPlaceWords(fields) {
  const where = place.place();
  if (!where.words) return fields;
  const quartier = where.quartier ? ` (position approximative : quartier ${where.quartier})` : "";
  return { ...fields, description: [`Lieu : ${where.words}${quartier}`, fields.description].filter(Boolean).join(" — ") };
}

// --- sending --------------------------------------------------------------------------------------

async function submit(event) {
  event.preventDefault();
  clearErrors(form);
  await photos.ready(); // a photo just chosen is being downscaled
  const problems = formProblems(readFields());
  if (problems.length) {
    showErrors(form, new ApiError(422, { code: "formulaire_invalide", message: problems[0].message, errors: problems }));
    return;
  }
  const fields = withPlaceWords(readFields());
  const item = await outbox.enqueue({ fields, photos: photos.saved(), label: categoryLabel(fields.category) });
  await busy(form, "Envoi en cours…", async () => {
    try {
      const report = await Promise.race([outbox.send(item, { onProgress: showProgress }), timeout(SEND_TIMEOUT_MS)]);
      await clearDraft();
      resetForm();
      showSent(report);
    } catch (error) {
      if (error.retryable && !item.stored) {
        showErrors(form, new ApiError(503, {
          code: "hors_ligne",
          message: "Pas de réseau, et ce navigateur ne peut pas garder le signalement : réessayez quand le réseau revient.",
        }));
      } else if (error.retryable) {
        await clearDraft();
        resetForm();
        await waiting.render();
        const pending = $("#pending");
        pending.tabIndex = -1;
        pending.focus();
        announce("Pas de réseau : votre signalement est gardé sur ce téléphone et partira dès le retour du réseau.");
      } else {
        await outbox.discard(item.key);
        showErrors(form, namePhoto(error, item.photos)); // everything typed and chosen is still in the form
      }
    } finally {
      $("#send-progress").hidden = true;
    }
  });
}

/** How much of the report (photos above all) has left the phone. */
function showProgress(sent, total) {
  const percent = Math.floor((100 * sent) / total);
  const bar = $("#send-progress");
  bar.hidden = false;
  bar.value = percent;
  bar.setAttribute("aria-valuetext", `${percent} % envoyés (${formatBytes(sent)} sur ${formatBytes(total)})`);
  form.querySelector("[type=submit]").textContent = `Envoi en cours… ${percent} %`;
}

function timeout(ms) {
  return new Promise((_, reject) => setTimeout(() => reject(Object.assign(new Error("Le réseau est trop lent."), { retryable: true })), ms));
}

function showSent(report) {
  form.hidden = true;
  const section = $("#sent");
  $("#sent-reference").textContent = report.reference;
  $("#sent-quartier").textContent = attributionText(report.attribution);
  $("#sent-moderation").hidden = report.published !== false;  // GUSP_PUBLIC_MODERATION=before
  const link = $("#sent-link");
  link.href = `/suivi/${encodeURIComponent(report.reference)}`;
  link.textContent = `Suivre le signalement ${report.reference}`;
  section.hidden = false;
  section.focus();
  section.scrollIntoView({ block: "start" });
  waiting.renderMine();
}

function newReport() {
  $("#sent").hidden = true;
  form.hidden = false;
  form.querySelector("input[name=category]")?.focus();
}

/** A report refused after waiting on the phone comes back into the form, with the server's messages. */
function correct(item) {
  $("#sent").hidden = true;
  form.hidden = false;
  resetForm();
  fillForm(item.fields, item.photos);
  saveDraft();
  if (item.error?.problems) {
    showErrors(form, new ApiError(422, { message: item.error.message, errors: item.error.problems }));
  }
}

function showNetwork() {
  $("#network-status").hidden = navigator.onLine;
}

// --- start -----------------------------------------------------------------------------------------

async function start() {
  for (const node of document.querySelectorAll(".max-photos")) node.textContent = String(MAX_PHOTOS);
  for (const node of document.querySelectorAll(".max-size")) node.textContent = formatBytes(MAX_BYTES);
  for (const node of document.querySelectorAll(".retention")) node.textContent = `${config.contactRetentionMonths ?? 12} mois`;

  place.setup({ onChange: ({ save }) => {
    refreshNearby();
    if (save) saveDraft();
  } });
  for (const input of [$("#photo-camera"), $("#photo-files")]) {
    input.addEventListener("change", () => {
      photos.add([...input.files]);
      input.value = "";
    });
  }
  form.addEventListener("input", saveDraft);
  form.addEventListener("change", (event) => {
    if (event.target.name === "category") {
      describePrivacy();
      refreshNearby();
    }
    saveDraft();
  });
  form.addEventListener("submit", submit);
  $("#new-report").addEventListener("click", newReport);
  window.addEventListener("online", () => {
    showNetwork();
    waiting.flush();
  });
  window.addEventListener("offline", showNetwork);
  showNetwork();

  try {
    state.categories = (await get("/api/v1/categories")).data;
    renderCategories(state.categories);
  } catch {
    $("#categories").replaceChildren(h("p", { class: "field-error" },
      "Les catégories n'ont pas pu être chargées : vérifiez votre réseau puis rechargez la page."));
  }
  await restoreDraft();
  waiting.setup({ onCorrect: correct });
  await waiting.render();
  await waiting.renderMine();
  if (navigator.onLine) waiting.flush();
  setInterval(() => navigator.onLine && waiting.flushIfWaiting(), RETRY_EVERY_MS);
  document.body.dataset.ready = "true";
}

if ("serviceWorker" in navigator) {
  navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(() => {});
}
start();
