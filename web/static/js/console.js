// The staff console (`/gestion`): filters of the triage API, the list and the map side by side,
// bulk actions for coordinators; a partner sees its own queue here. The detail is detail.js.

import { ApiError, get, post, query, requireUser, signOut, superseding } from "./api.js";
import { $, $$, announce, h } from "./dom.js";
import { outboxCount } from "./staff_nav.js";
import { busy, clearErrors, showErrors } from "./forms.js";
import { addQuartiers, createMap, legend } from "./map.js";
import * as detail from "./detail.js";
import { OPEN_STATUSES, PRIORITIES, REASONS, ROLES, STATUSES, formatDate } from "./vocabulary.js";

const PAGE_SIZE = 50;
const MANAGERS = ["coordinateur", "admin"];
const FILTER_NAMES = ["q", "quartier", "category", "partner", "priority", "created_from", "created_to", "sort", "overdue", "hors_perimetre"];

const state = { user: null, manager: false, reports: [], cursor: null, map: null, tiles: null, quartiers: null,
                selected: new Set(), lists: { partners: [], categories: [] }, current: null };
const listLoads = superseding(); // a search typed while an earlier list is on its way replaces it

const options = (select, entries) => select.append(...entries.map(([value, label]) => h("option", { value }, label)));

// --- filters, kept in the address so that a view can be shared and comes back on reload ----------------

function filtersFromForm() {
  const form = $("#filters");
  const values = {};
  for (const name of FILTER_NAMES) {
    const element = form.elements[name];
    if (!element) continue;
    values[name] = element.type === "checkbox" ? element.checked : element.value.trim();
  }
  values.status = $$("input[name=status]:checked", form).map((input) => input.value);
  return values;
}

function fillFilters(params) {
  const form = $("#filters");
  for (const name of FILTER_NAMES) {
    const element = form.elements[name];
    if (!element) continue;
    if (element.type === "checkbox") element.checked = params.get(name) === "true";
    else if (params.has(name)) element.value = params.get(name);
  }
  const statuses = params.has("status") ? params.getAll("status") : defaultStatuses();
  for (const input of $$("input[name=status]", form)) input.checked = statuses.includes(input.value);
}

function defaultStatuses() {
  return state.user.role === "partenaire" ? ["pris_en_compte", "en_cours"] : OPEN_STATUSES;
}

// --- the list and the map ---------------------------------------------------------------------------

function row(report) {
  const cells = [];
  if (state.manager) {
    cells.push(h("td", {}, h("input", {
      type: "checkbox", "aria-label": `Sélectionner ${report.reference}`, checked: state.selected.has(report.reference),
      onchange: (event) => select(report.reference, event.currentTarget.checked),
    })));
  }
  cells.push(
    h("td", {}, h("button", { type: "button", class: "link", "data-reference": report.reference,
      onclick: () => open(report.reference) }, report.reference)),
    h("td", { "data-label": "Catégorie" }, report.category.label),
    h("td", { "data-label": "Quartier" }, report.quartier?.nom || "Hors périmètre"),
    h("td", { "data-label": "Statut" }, h("span", { class: `badge status-${report.status}` }, report.status_label)),
    h("td", { "data-label": "Priorité" }, h("span", { class: `badge priority-${report.priority}` }, PRIORITIES[report.priority])),
    h("td", { "data-label": "Partenaire" }, report.partner?.name || "—"),
    h("td", { "data-label": "Signalé le" }, formatDate(report.created_at)),
    h("td", { "data-label": "Échéance" }, report.due_at ? formatDate(report.due_at) : "—",
      report.overdue ? [" ", h("span", { class: "badge overdue" }, "En retard")] : null),
  );
  return h("tr", { class: report.overdue ? "is-overdue" : null, dataset: { reference: report.reference } }, ...cells);
}

/** The map shows every report of the filters (vector tiles), not only the pages of the list loaded. */
function mapFilters(filters) {
  const { sort, ...rest } = filters;
  return rest;
}

async function load({ more = false } = {}) {
  const filters = filtersFromForm();
  const stillLatest = more ? listLoads.join() : listLoads.begin(); // else both answers would fill the table
  if (!more) {
    history.replaceState(null, "", `/gestion${query({ ...filters, ref: state.current || undefined })}`);
    state.reports = [];
    state.cursor = null;
    $("#rows").replaceChildren();
  }
  $("#list-error").hidden = true;
  let page;
  try {
    page = await get(`/api/v1/gestion/reports${query({ ...filters, limit: PAGE_SIZE, cursor: more ? state.cursor : undefined })}`);
  } catch (error) {
    if (!stillLatest()) return;
    const box = $("#list-error");
    box.textContent = error.message;
    box.hidden = false;
    return;
  }
  if (!stillLatest()) return;
  state.reports.push(...page.data);
  state.cursor = page.next_cursor;
  $("#rows").append(...page.data.map(row));
  $("#count").textContent = `(${state.reports.length}${state.cursor ? " affichés, il y en a d'autres" : ""})`;
  $("#empty").hidden = state.reports.length > 0;
  $("#more").hidden = !state.cursor;
  if (!more && state.map && state.reports.length) {
    const bounds = L.latLngBounds(state.reports.map((r) => [r.lat, r.lon]));
    state.map.fitBounds(bounds.pad(0.2), { maxZoom: 16, animate: false });
  } else if (!more && state.map) {
    state.quartiers.then(({ layer }) => state.map.fitBounds(layer.getBounds(), { animate: false })).catch(() => {});
  }
  if (!more && state.tiles) {
    state.tiles.setFilters(mapFilters(filters)); // after the view is set: its tiles only
    if (!state.map.hasLayer(state.tiles)) state.tiles.addTo(state.map);
  }
  highlight(state.current);
  announce(`${state.reports.length} signalement${state.reports.length > 1 ? "s" : ""} affiché${state.reports.length > 1 ? "s" : ""}.`);
}

function highlight(reference) {
  for (const tr of $$("#rows tr")) tr.classList.toggle("is-current", tr.dataset.reference === reference);
  for (const [ref, marker] of state.tiles?.reportMarkers() || []) {
    marker.getElement()?.querySelector(".status-marker")?.classList.toggle("selected", ref === reference);
  }
}

// --- detail ------------------------------------------------------------------------------------------

async function open(reference) {
  state.current = reference;
  highlight(reference);
  const url = new URL(location.href);
  url.searchParams.set("ref", reference);
  history.replaceState(null, "", url);
  await detail.open(reference, $("#detail"));
  const marker = state.tiles?.reportMarkers().get(reference);
  if (marker) state.map.panTo(marker.getLatLng());
}

function closeDetail() {
  const reference = state.current;
  detail.close($("#detail"));
  state.current = null;
  highlight(null);
  const url = new URL(location.href);
  url.searchParams.delete("ref");
  history.replaceState(null, "", url);
  const button = reference && $(`#rows button[data-reference="${CSS.escape(reference)}"]`);
  (button || $("#liste")).focus();
}

// --- selection and bulk actions (coordinators) ------------------------------------------------------------

function select(reference, on) {
  if (on) state.selected.add(reference);
  else state.selected.delete(reference);
  showSelection();
}

function showSelection() {
  const count = state.selected.size;
  $("#bulk-count").textContent = `${count} signalement${count > 1 ? "s" : ""} sélectionné${count > 1 ? "s" : ""}`;
  $("#bulk-form").hidden = count === 0;
}

function bulkFields() {
  const action = $("#bulk-action").value;
  $("#bulk-partner-field").hidden = action !== "assign";
  $("#bulk-status-field").hidden = action !== "status";
  $("#bulk-reason-field").hidden = action !== "status" || $("#bulk-status").value !== "rejete";
}

async function bulk(event) {
  event.preventDefault();
  const form = event.currentTarget;
  clearErrors(form);
  const action = form.elements.action.value;
  const body = { references: [...state.selected], action, note: form.elements.note.value.trim() || null };
  if (action === "assign") body.partner_id = Number(form.elements.partner_id.value) || null;
  else {
    body.status = form.elements.status.value || null;
    body.reason = form.elements.reason.value || null;
  }
  await busy(form, "Application…", async () => {
    try {
      const result = await post("/api/v1/gestion/reports/bulk", { json: body });
      $("#bulk-results").replaceChildren(...result.data.map((item) => h("li", {},
        `${item.reference} : `, item.ok ? "fait" : h("span", { class: "field-error" }, item.message))));
      announce(`${result.succeeded} sur ${result.count} fait${result.succeeded > 1 ? "s" : ""}.`);
      state.selected = new Set(result.data.filter((item) => !item.ok).map((item) => item.reference));
      showSelection();
      $("#bulk-form").hidden = false;
      await load();
    } catch (error) {
      showErrors(form, error);
    }
  });
}

// --- start ---------------------------------------------------------------------------------------------

async function referentials() {
  const [categories, quartiers, partners] = await Promise.all([
    get("/api/v1/categories").then((r) => r.data),
    get("/api/v1/quartiers").then((r) => r.features.map((f) => f.properties)),
    state.manager ? get("/api/v1/partners") : Promise.resolve([]),
  ]);
  state.lists = { categories, partners: partners.filter((p) => p.active) };
  options($("#f-category"), categories.map((c) => [c.code, c.label]));
  options($("#f-quartier"), quartiers.map((q) => [q.code, q.nom]));
  options($("#f-partner"), partners.map((p) => [String(p.id), p.name]));
  options($("#f-priority"), Object.entries(PRIORITIES));
  options($("#bulk-partner"), state.lists.partners.map((p) => [String(p.id), p.name]));
  options($("#bulk-status"), Object.entries(STATUSES));
  options($("#bulk-reason"), Object.entries(REASONS));
  $("#f-status").append(...Object.entries(STATUSES).map(([value, label]) => h("div", { class: "check" },
    h("input", { type: "checkbox", id: `f-status-${value}`, name: "status", value }),
    h("label", { for: `f-status-${value}` }, label))));
}

/** The map beside the list, its reports from the tiles; the list works alone without Leaflet or tiles. */
async function startMap() {
  if (!window.L) return;
  state.map = createMap($("#console-map"), { label: "Carte des signalements de la liste" });
  legend($("#legend"));
  state.quartiers = addQuartiers(state.map, { fit: false });
  state.quartiers.catch(() => {});
  try {
    const { reportTiles } = await import("./report_tiles.js");
    const categories = new Map(state.lists.categories.map((c) => [c.code, c.label]));
    state.tiles = reportTiles({ filters: mapFilters(filtersFromForm()), categories,
      onReport: (report) => open(report.reference) });
    state.tiles.on("load", () => highlight(state.current));
  } catch (error) {
    console.error(error);
  }
}

async function start() {
  state.user = await requireUser();
  state.manager = MANAGERS.includes(state.user.role);
  for (const element of $$(".managers-only")) element.hidden = !state.manager;
  $("#user-name").textContent = `${state.user.full_name} — ${ROLES[state.user.role] || state.user.role}`;
  $("#sign-out").addEventListener("click", signOut);
  for (const element of $$(".admins-only")) element.hidden = state.user.role !== "admin";
  outboxCount(state.user, $("#outbox-alert")); // not awaited: the list comes first
  if (state.user.role === "partenaire") {
    $("#page-title").textContent = "Ma file de signalements";
    document.title = "Ma file de signalements — GUSP";
  }

  await referentials();
  await startMap();
  detail.setup({ user: state.user, lists: state.lists, onChange: () => load(), onClose: closeDetail });
  const params = new URLSearchParams(location.search);
  fillFilters(params);
  if (window.matchMedia("(max-width: 40rem)").matches) $("#filters-box").open = false; // a phone: the list first

  $("#filters").addEventListener("submit", (event) => {
    event.preventDefault();
    load();
  });
  $("#f-clear").addEventListener("click", () => {
    $("#filters").reset();
    fillFilters(new URLSearchParams());
    load();
  });
  $("#more").addEventListener("click", () => load({ more: true }));
  $("#select-all").addEventListener("change", (event) => {
    for (const box of $$("#rows input[type=checkbox]")) {
      box.checked = event.currentTarget.checked;
      select(box.closest("tr").dataset.reference, box.checked);
    }
  });
  $("#bulk-action").addEventListener("change", bulkFields);
  $("#bulk-status").addEventListener("change", bulkFields);
  $("#bulk-form").addEventListener("submit", bulk);
  document.addEventListener("keydown", (event) => {
    const typing = event.target.closest("input, textarea, select");
    if (event.key === "/" && !typing) {
      event.preventDefault();
      $("#f-q").focus();
    }
    if (event.key === "Escape" && state.current) closeDetail();
  });

  await load();
  if (params.get("ref")) await open(params.get("ref"));
  document.body.dataset.ready = "true";
}

start().catch((error) => {
  const box = $("#list-error");
  box.textContent = error instanceof ApiError ? error.message : "La page n'a pas pu se charger : rechargez-la.";
  box.hidden = false;
});
