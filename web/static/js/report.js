// The reporting page (`/`): category, photos, place, description, contact; nearby reports of the
// same category before sending; a report made without network waits on the phone (outbox.js).
// Nothing typed or photographed is lost: the draft is kept in IndexedDB as it is written.

import { ApiError, get } from "./api.js";
import { $, announce, h } from "./dom.js";
import { busy, clearErrors, showErrors } from "./forms.js";
import { categoryIcon } from "./icons.js";
import { downscale } from "./downscale.js";
import { addQuartiers, createMap, pinMarker, quartierAt } from "./map.js";
import * as outbox from "./outbox.js";
import { PhotoPicker } from "./photo_picker.js";
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
const state = { categories: [], location: null, quartiers: null, map: null, pin: null };
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

// --- location -----------------------------------------------------------------------------------

function describeLocation() {
  const status = $("#location-status");
  const where = state.location;
  if (!where) return;
  const quartier = quartierAt(state.quartiers, where.lat, where.lon);
  const inQuartier = quartier ? `Quartier : ${quartier.nom}.` : "Ce lieu est hors des quartiers prioritaires ; le signalement sera tout de même transmis.";
  if (where.accuracy != null) {
    const rough = where.accuracy > 100 ? " C'est peu précis : vérifiez le repère et déplacez-le si besoin." : "";
    status.replaceChildren(h("span", { class: "accuracy" }, `Position trouvée, précise à ± ${Math.round(where.accuracy)} m.`),
      ` ${rough} ${inQuartier} Vous pouvez déplacer le repère.`);
  } else {
    status.textContent = `Repère placé sur la carte. ${inQuartier}`;
  }
}

function setLocation(lat, lon, { accuracy = null, zoom = false, save = true } = {}) {
  state.location = { lat, lon, accuracy };
  if (!state.pin) {
    state.pin = pinMarker([lat, lon]).addTo(state.map);
    state.pin.on("dragend", () => {
      const point = state.pin.getLatLng();
      setLocation(point.lat, point.lng);
    });
  } else {
    state.pin.setLatLng([lat, lon]);
  }
  if (zoom) state.map.setView([lat, lon], Math.max(state.map.getZoom(), 17), { animate: false });
  $("#location-erreur").hidden = true;
  describeLocation();
  refreshNearby();
  if (save) saveDraft();
}

function locate() {
  const status = $("#location-status");
  if (!("geolocation" in navigator)) {
    status.textContent = "Ce téléphone ne donne pas sa position : touchez la carte pour placer le repère.";
    return;
  }
  status.textContent = "Recherche de votre position…";
  navigator.geolocation.getCurrentPosition(
    (position) => setLocation(position.coords.latitude, position.coords.longitude, {
      accuracy: position.coords.accuracy, zoom: true,
    }),
    (error) => {
      status.textContent = {
        1: "Vous avez refusé la localisation : touchez la carte à l'endroit du problème pour placer le repère.",
        2: "Votre position est introuvable pour l'instant : touchez la carte pour placer le repère.",
        3: "Votre position n'a pas pu être trouvée à temps : réessayez, ou touchez la carte pour placer le repère.",
      }[error.code] || "Position indisponible : touchez la carte pour placer le repère.";
    },
    { enableHighAccuracy: true, timeout: 20_000, maximumAge: 30_000 },
  );
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
  if (!category || !state.location) {
    section.hidden = true;
    return;
  }
  const asked = `${category}|${state.location.lat.toFixed(6)}|${state.location.lon.toFixed(6)}`;
  nearbyAsked = asked;
  let found;
  try {
    found = await get(`/api/v1/reports/nearby?category=${encodeURIComponent(category)}&lat=${state.location.lat}&lon=${state.location.lon}`);
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
  return {
    category: selectedCategory(),
    description: value("description"),
    lat: state.location ? state.location.lat.toFixed(7) : "",
    lon: state.location ? state.location.lon.toFixed(7) : "",
    accuracy_m: state.location?.accuracy != null ? state.location.accuracy.toFixed(1) : "",
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
    setLocation(Number(fields.lat), Number(fields.lon), {
      accuracy: fields.accuracy_m ? Number(fields.accuracy_m) : null, zoom: true, save: false,
    });
  }
  if (saved) photos.set(saved);
}

let draftTimer = null;
function saveDraft() {
  clearTimeout(draftTimer);
  draftTimer = setTimeout(() => store.put(store.DRAFT, { id: "fields", fields: readFields() }).catch(() => {}), 300);
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
  if (fields) fillForm(fields.fields, draftPhotos?.photos);
  else if (draftPhotos?.photos?.length) photos.set(draftPhotos.photos);
}

function resetForm() {
  form.reset();
  photos.set([]);
  state.location = null;
  if (state.pin) {
    state.pin.remove();
    state.pin = null;
  }
  $("#location-status").textContent = "Utilisez votre position, ou touchez la carte à l'endroit du problème. Vous pouvez ensuite déplacer le repère.";
  $("#nearby").hidden = true;
  clearErrors(form);
}

/** The checks worth making before sending (the server makes them all again). */
function formProblems(fields) {
  const problems = [];
  if (!fields.category) problems.push({ field: "category", message: "Choisissez la catégorie du problème." });
  for (const message of photos.problems()) problems.push({ field: "photos", message });
  if (!fields.lat) problems.push({ field: "location", message: "Indiquez le lieu : utilisez votre position ou touchez la carte." });
  if (!fields.description && photos.photos.length === 0) {
    problems.push({ field: "description", message: "Décrivez le problème, ou ajoutez une photo." });
  }
  const contact = fields.contact_name || fields.contact_email || fields.contact_phone;
  if (contact && !fields.contact_consent) {
    problems.push({ field: "contact_consent", message: "Pour laisser vos coordonnées, cochez la case qui autorise leur conservation." });
  }
  return problems;
}

// --- sending --------------------------------------------------------------------------------------

async function submit(event) {
  event.preventDefault();
  clearErrors(form);
  await photos.ready(); // a photo just chosen is being downscaled
  const fields = readFields();
  const problems = formProblems(fields);
  if (problems.length) {
    showErrors(form, new ApiError(422, { code: "formulaire_invalide", message: problems[0].message, errors: problems }));
    return;
  }
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
        showErrors(form, error); // everything typed and chosen is still in the form
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

  state.map = createMap($("#report-map"), { label: "Carte : touchez l'endroit du problème pour y placer le repère" });
  state.map.on("click", (event) => setLocation(event.latlng.lat, event.latlng.lng));
  addQuartiers(state.map).then(({ data }) => {
    state.quartiers = data;
    describeLocation();
  }).catch(() => {});

  $("#locate").addEventListener("click", locate);
  $("#pin-center").addEventListener("click", () => {
    const centre = state.map.getCenter();
    setLocation(centre.lat, centre.lng);
  });
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
