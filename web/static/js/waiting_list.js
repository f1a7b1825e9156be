// What waits on the phone (reports made without network, or refused when sent later), what was
// sent meanwhile, and the references of the reports made or followed from this phone.

import { $, announce, h } from "./dom.js";
import * as outbox from "./outbox.js";
import { attributionText, formatDate, formatDateTime } from "./vocabulary.js";

const sentMeanwhile = [];
let correctInForm = () => {};

/** `onCorrect(item)`: put a refused report back in the form, with its errors. */
export function setup({ onCorrect }) {
  correctInForm = onCorrect;
  $("#pending-retry").addEventListener("click", flush);
}

function card(item) {
  const photos = item.photos.length ? `, ${item.photos.length} photo${item.photos.length > 1 ? "s" : ""}` : "";
  const body = [
    h("p", {}, h("strong", {}, item.label || "Signalement"), photos),
    item.fields.description ? h("p", {}, item.fields.description.slice(0, 120)) : null,
    h("p", { class: "meta" }, `Enregistré sur ce téléphone le ${formatDateTime(item.savedAt)}`),
  ];
  if (item.state === "refuse") {
    body.push(
      h("p", { class: "field-error" }, `Refusé par le serveur : ${item.error?.message || ""}`),
      h("div", { class: "button-row" },
        h("button", { type: "button", onclick: () => correct(item) }, "Corriger dans le formulaire"),
        h("button", { type: "button", class: "danger", onclick: () => abandon(item) }, "Supprimer")),
    );
  } else {
    body.push(h("p", {}, h("span", { class: "badge status-pris_en_compte" }, "En attente du réseau"),
      item.attempts ? ` — ${item.attempts} essai${item.attempts > 1 ? "s" : ""}` : ""));
  }
  return h("li", { class: "card" }, h("div", { class: "body" }, ...body));
}

function sentCard(report) {
  return h("li", { class: "card" }, h("div", { class: "body" },
    h("p", {}, h("span", { class: "badge status-resolu" }, "Envoyé"), " ", h("strong", {}, report.reference)),
    h("p", {}, `Quartier : ${attributionText(report.attribution)}`),
    h("p", {}, h("a", { href: `/suivi/${encodeURIComponent(report.reference)}` }, `Suivre le signalement ${report.reference}`))));
}

export async function render() {
  const items = (await outbox.waiting().catch(() => [])).sort((a, b) => a.savedAt.localeCompare(b.savedAt));
  const section = $("#pending");
  $("#pending-list").replaceChildren(...items.map(card), ...sentMeanwhile.map(sentCard));
  $("#pending-title").textContent = items.length
    ? `${items.length} signalement${items.length > 1 ? "s" : ""} en attente d'envoi`
    : "Signalements envoyés";
  $("#pending-retry").hidden = !items.some((item) => item.state === "attente");
  section.classList.toggle("notice--success", items.length === 0);
  section.hidden = items.length === 0 && sentMeanwhile.length === 0;
  return items;
}

async function correct(item) {
  await outbox.discard(item.key);
  await render();
  correctInForm(item);
}

async function abandon(item) {
  if (!window.confirm("Supprimer ce signalement de ce téléphone ? Il ne sera pas envoyé.")) return;
  await outbox.discard(item.key);
  await render();
  announce("Signalement supprimé du téléphone.");
}

/** Send what waits, then show the outcome. */
export async function flush() {
  await outbox.flush((event) => {
    if (event.type === "sent") {
      sentMeanwhile.push(event.report);
      announce(`Votre signalement en attente est envoyé : référence ${event.report.reference}.`);
    }
    if (event.type === "refused") announce("Un signalement en attente a été refusé : corrigez-le.");
  }).catch(() => {});
  await render();
  await renderMine();
}

export async function flushIfWaiting() {
  const items = await outbox.waiting().catch(() => []);
  if (items.some((item) => item.state === "attente")) await flush();
}

export async function renderMine() {
  const items = (await outbox.mine().catch(() => [])).sort((a, b) => b.savedAt.localeCompare(a.savedAt));
  $("#mine").hidden = items.length === 0;
  $("#mine-list").replaceChildren(...items.slice(0, 20).map((item) => h("li", {},
    h("a", { href: `/suivi/${encodeURIComponent(item.reference)}` }, item.reference),
    ` — ${item.label}${item.followed ? " (suivi)" : ""}, ${formatDate(item.savedAt)}`)));
}
