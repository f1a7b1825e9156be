// Meeting packs (`/dossiers`): issue one (POST /api/v1/packs: computed, drawn and stored once), then
// the list of the packs already issued, newest first, each downloadable as it was issued.

import { ApiError, get, post, requireUser, signOut } from "./api.js";
import { $, h } from "./dom.js";

const day = (iso) => new Date(`${iso}T12:00:00`).toLocaleDateString("fr-FR");
const instant = (iso) => new Date(iso).toLocaleString("fr-FR", { timeZone: "Europe/Paris", dateStyle: "long", timeStyle: "short" });
const quartierNames = new Map([["ville", "Toute la commune"], ["hors_perimetre", "Hors périmètre"]]);

function coverage(codes) {
  return codes.map((code) => quartierNames.get(code) || code).join(", ");
}

async function showPacks() {
  const { data } = await get("/api/v1/packs");
  if (!data.length) {
    $("#packs").replaceChildren(h("p", { class: "hint" }, "Aucun dossier édité pour l'instant."));
    return;
  }
  const rows = data.map((pack) => h("tr", { dataset: { pack: pack.id } },
    h("th", { scope: "row" }, coverage(pack.quartier_codes)),
    h("td", {}, `du ${day(pack.period_start)} au ${day(pack.period_end)}`),
    h("td", {}, instant(pack.generated_at)),
    h("td", {}, pack.generated_by || "—"),
    h("td", {}, pack.url ? h("a", { href: pack.url, download: "" }, "Télécharger le PDF") : "PDF non conservé")));
  $("#packs").replaceChildren(h("div", { class: "table-wrap", tabindex: "0", role: "region", "aria-label": "Dossiers édités" },
    h("table", {}, h("caption", {}, "Dossiers de séance édités, du plus récent au plus ancien"),
      h("thead", {}, h("tr", {}, ...["Couverture", "Période", "Édité le", "Par", "Fichier"].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, ...rows))));
}

async function issue(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  $("#status").textContent = "Édition du dossier en cours…";
  try {
    const pack = await post("/api/v1/packs", { json: { quartier: [form.elements.coverage.value],
      from: form.elements.from.value, to: form.elements.to.value } });
    $("#status").replaceChildren("Dossier édité : ", h("a", { href: pack.url, download: "" }, "télécharger le PDF"), ".");
    await showPacks();
  } catch (error) {
    $("#status").textContent = error instanceof ApiError ? error.message : "Le dossier n'a pas pu être édité.";
  } finally {
    button.disabled = false;
  }
}

async function start() {
  const user = await requireUser();
  $("#user-name").textContent = user.full_name;
  $("#sign-out").addEventListener("click", signOut);
  const quartiers = await get("/api/v1/quartiers");
  const select = $("#p-coverage");
  for (const feature of quartiers.features || []) {
    const { code, nom } = feature.properties;
    quartierNames.set(code, nom);
    select.append(h("option", { value: code }, nom));
  }
  if (user.role === "groupe") { // a group issues packs for its quartiers only
    for (const option of [...select.options]) if (["ville", "hors_perimetre"].includes(option.value)) option.remove();
  }
  const today = new Date();
  const from = new Date(today.getFullYear(), today.getMonth() - 3, 1);
  const iso = (d) => `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
  $("#p-from").value = iso(from);
  $("#p-to").value = iso(today);
  $("#issue").addEventListener("submit", issue);
  await showPacks();
  document.body.dataset.ready = "true";
}

start();
