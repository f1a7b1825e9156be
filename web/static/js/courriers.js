// The outbox page (/gestion/courriers): failed and pending mails, and "Renvoyer" for each.

import { ApiError, get, post, query } from "./api.js";
import { $, announce, h } from "./dom.js";
import { outboxCount, staffHeader } from "./staff_nav.js";
import { formatDateTime } from "./vocabulary.js";

const STATUS = { failed: "En échec", pending: "En attente", sent: "Parti" };

function failure(error) {
  const box = $("#outbox-error");
  box.textContent = error instanceof ApiError ? error.message : "Le serveur ne répond pas : réessayez.";
  box.hidden = false;
}

function row(message) {
  const resend = h("button", { type: "button", class: "secondary", onclick: async (event) => {
    const button = event.currentTarget;
    button.disabled = true;
    try {
      await post(`/api/v1/gestion/outbox/${message.id}/resend`);
      announce(`Courrier n° ${message.id} remis dans la file d'envoi.`);
      await load();
    } catch (error) {
      button.disabled = false;
      failure(error);
    }
  } }, message.status === "failed" ? "Renvoyer" : "Envoyer maintenant");
  resend.setAttribute("aria-label", `${resend.textContent} : ${message.subject}`);
  return h("tr", { "data-id": String(message.id), class: message.status === "failed" ? "is-overdue" : "" },
    h("td", {}, STATUS[message.status] || message.status),
    h("td", {}, h("strong", {}, message.kind_label), h("br"), message.subject),
    h("td", {}, message.recipient),
    h("td", {}, message.report_reference
      ? h("a", { href: `/gestion?ref=${encodeURIComponent(message.report_reference)}` }, message.report_reference) : "—"),
    h("td", {}, String(message.attempts)),
    h("td", {}, message.last_error || "—"),
    h("td", {}, formatDateTime(message.created_at)),
    h("td", {}, resend));
}

async function load() {
  $("#outbox-error").hidden = true;
  const status = $("#o-status").value;
  const page = await get(`/api/v1/gestion/outbox${query({ status })}`);
  $("#outbox-rows").replaceChildren(...page.data.map(row));
  $("#outbox-empty").hidden = page.count > 0;
  $("#outbox-table").hidden = page.count === 0;
  const { failed, pending } = page.totals;
  $("#totals").textContent = `${failed} en échec, ${pending} en attente.`;
}

async function start() {
  const user = await staffHeader();
  await outboxCount(user);
  const wanted = new URLSearchParams(location.search).get("status");
  if (wanted) $("#o-status").value = wanted;
  $("#outbox-filters").addEventListener("submit", (event) => {
    event.preventDefault();
    load().catch(failure);
  });
  await load();
  document.body.dataset.ready = "true";
}

start().catch(failure);
