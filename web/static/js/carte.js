// The operational groups' map (`/carte`): perimeters, clustered markers coloured by status, filters
// by period, category, status, partner and quartier, counts per quartier, and a printable view in
// A4 or A3 landscape for meetings (`/carte?impression=A3` shows it without opening the print dialog).

import { get, query, requireUser, signOut } from "./api.js";
import { $, $$, h } from "./dom.js";
import { addQuartiers, clusterIcon, createMap, legend, statusMarker } from "./map.js";
import { ROLES, STATUSES, formatDate, formatDateTime } from "./vocabulary.js";

const PAGE = 500;
const MOST = 5000;
const MANAGERS = ["coordinateur", "admin"];
const state = { map: null, cluster: null, quartiers: null, partners: new Map(), reports: [], truncated: false };

const isoDay = (date) => date.toISOString().slice(0, 10);

function filters() {
  const form = $("#map-filters");
  const period = form.elements.period.value;
  let from = "";
  let to = "";
  if (period === "custom") {
    from = form.elements.created_from.value;
    to = form.elements.created_to.value;
  } else if (period !== "all") {
    from = isoDay(new Date(Date.now() - Number(period) * 86_400_000));
  }
  return {
    created_from: from, created_to: to,
    quartier: form.elements.quartier.value, category: form.elements.category.value,
    partner: form.elements.partner.value,
    status: $$("input[name=status]:checked", form).map((input) => input.value),
  };
}

function describeFilters(values) {
  const form = $("#map-filters");
  const label = (select) => select.options[select.selectedIndex]?.text;
  const parts = [form.elements.period.value === "custom"
    ? `du ${values.created_from || "début"} au ${values.created_to || "aujourd'hui"}` : label(form.elements.period)];
  for (const name of ["quartier", "category", "partner"]) if (form.elements[name].value) parts.push(label(form.elements[name]));
  if (values.status.length && values.status.length < Object.keys(STATUSES).length) {
    parts.push(values.status.map((s) => STATUSES[s]).join(", "));
  }
  return parts.join(" — ");
}

async function fetchAll(values) {
  const reports = [];
  let cursor;
  do {
    const page = await get(`/api/v1/gestion/reports${query({ ...values, limit: PAGE, cursor })}`);
    reports.push(...page.data);
    cursor = page.next_cursor;
  } while (cursor && reports.length < MOST);
  return { reports, truncated: Boolean(cursor) };
}

function popup(report) {
  return h("div", {},
    h("p", {}, h("strong", {}, report.reference)),
    h("p", {}, report.category.label, h("br"), h("span", { class: `badge status-${report.status}` }, report.status_label),
      report.overdue ? [" ", h("span", { class: "badge overdue" }, "En retard")] : null),
    h("p", { class: "meta" }, `Signalé le ${formatDate(report.created_at)}${report.partner ? ` — ${report.partner.name}` : ""}`),
    h("p", {}, h("a", { href: `/gestion?ref=${encodeURIComponent(report.reference)}` }, `Ouvrir ${report.reference}`)));
}

function countsTable(reports) {
  const rows = new Map();
  for (const report of reports) {
    const name = report.quartier?.nom || "Hors périmètre";
    const row = rows.get(name) || { total: 0, overdue: 0 };
    row[report.status] = (row[report.status] || 0) + 1;
    row.total += 1;
    if (report.overdue) row.overdue += 1;
    rows.set(name, row);
  }
  const statuses = Object.keys(STATUSES);
  const table = $("#counts");
  const caption = table.querySelector("caption");
  const head = h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Quartier"),
    ...statuses.map((s) => h("th", { scope: "col" }, STATUSES[s])), h("th", { scope: "col" }, "Total"),
    h("th", { scope: "col" }, "En retard")));
  const body = h("tbody", {}, ...[...rows.entries()].sort((a, b) => a[0].localeCompare(b[0], "fr")).map(([name, row]) =>
    h("tr", {}, h("th", { scope: "row" }, name), ...statuses.map((s) => h("td", {}, String(row[s] || 0))),
      h("td", {}, String(row.total)), h("td", {}, String(row.overdue)))));
  table.replaceChildren(caption, head, body);
}

async function show() {
  const values = filters();
  $("#map-error").hidden = true;
  $("#summary").textContent = "Chargement…";
  try {
    ({ reports: state.reports, truncated: state.truncated } = await fetchAll(values));
  } catch (error) {
    $("#map-error").textContent = error.message;
    $("#map-error").hidden = false;
    $("#summary").textContent = "";
    return;
  }
  state.cluster.clearLayers();
  state.cluster.addLayers(state.reports.map((report) => statusMarker(report).bindPopup(() => popup(report))));
  for (const report of state.reports) if (report.partner) state.partners.set(report.partner.id, report.partner.name);
  fillPartners();
  countsTable(state.reports);
  const count = state.reports.length;
  $("#summary").textContent = `${count} signalement${count > 1 ? "s" : ""}${state.truncated ? ` (les ${MOST} plus récents)` : ""} — ${describeFilters(values)}.`;
  $("#print-caption").textContent = `Carte des signalements — ${describeFilters(values)} — ${count} signalement${count > 1 ? "s" : ""} — état au ${formatDateTime(new Date().toISOString())}.`;
  fit(values.quartier);
  document.body.dataset.ready = "true";
}

function fit(quartierCode) {
  const feature = state.quartiers?.features.find((f) => f.properties.code === quartierCode && f.geometry);
  if (feature) {
    state.map.fitBounds(L.geoJSON(feature).getBounds(), { padding: [20, 20], animate: false });
  } else if (state.reports.length) {
    state.map.fitBounds(L.latLngBounds(state.reports.map((r) => [r.lat, r.lon])).pad(0.1), { maxZoom: 16, animate: false });
  } else if (state.quartiers) {
    state.map.fitBounds(L.geoJSON(state.quartiers).getBounds(), { padding: [10, 10], animate: false });
  }
}

function fillPartners() {
  const select = $("#m-partner");
  const chosen = select.value;
  const known = new Set([...select.options].map((o) => o.value));
  for (const [id, name] of [...state.partners.entries()].sort((a, b) => a[1].localeCompare(b[1], "fr"))) {
    if (!known.has(String(id))) select.append(h("option", { value: id }, name));
  }
  select.value = chosen;
}

/** Lay the page out at the paper's size; `dialog`: open the browser's print dialog too. */
function printAs(size, { dialog = true } = {}) {
  document.body.classList.remove("print-A4", "print-A3");
  document.body.classList.add(`print-${size}`);
  $("#page-size").href = `/static/print-${size}.css`; // a file: the CSP refuses inline styles
  state.map.invalidateSize();
  fit($("#map-filters").elements.quartier.value);
  if (dialog) setTimeout(() => window.print(), 400); // let the tiles and markers settle
}

window.addEventListener("afterprint", () => {
  if (new URLSearchParams(location.search).has("impression")) return;
  document.body.classList.remove("print-A4", "print-A3");
  state.map.invalidateSize();
});

async function start() {
  const user = await requireUser();
  for (const element of $$(".managers-only")) element.hidden = !MANAGERS.includes(user.role);
  $("#user-name").textContent = `${user.full_name} — ${ROLES[user.role] || user.role}`;
  $("#sign-out").addEventListener("click", signOut);

  state.map = createMap($("#group-map"), { label: "Carte des signalements par quartier" });
  state.map.on("popupopen", (event) => {
    event.popup.getElement()?.querySelector(".leaflet-popup-close-button")?.setAttribute("aria-label", "Fermer la bulle");
  });
  state.cluster = L.markerClusterGroup({ iconCreateFunction: clusterIcon, showCoverageOnHover: false, maxClusterRadius: 45, animate: false,
    chunkedLoading: true }).addTo(state.map);
  legend($("#legend"));

  const [{ data: quartiers }, categories, partners] = await Promise.all([
    addQuartiers(state.map, { fit: true }),
    get("/api/v1/categories").then((r) => r.data),
    MANAGERS.includes(user.role) ? get("/api/v1/partners") : Promise.resolve([]),
  ]);
  state.quartiers = quartiers;
  $("#m-quartier").append(...quartiers.features.map((f) => h("option", { value: f.properties.code }, f.properties.nom)));
  $("#m-category").append(...categories.map((c) => h("option", { value: c.code }, c.label)));
  for (const partner of partners) state.partners.set(partner.id, partner.name);
  fillPartners();
  $("#m-status").append(...Object.entries(STATUSES).map(([value, label]) => h("div", { class: "check" },
    h("input", { type: "checkbox", id: `m-status-${value}`, name: "status", value, checked: true }),
    h("label", { for: `m-status-${value}` }, label))));

  const form = $("#map-filters");
  form.elements.period.addEventListener("change", () => {
    const custom = form.elements.period.value === "custom";
    $("#m-from-field").hidden = !custom;
    $("#m-to-field").hidden = !custom;
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    show();
  });
  $("#print-a4").addEventListener("click", () => printAs("A4"));
  $("#print-a3").addEventListener("click", () => printAs("A3"));

  await show();
  const printed = new URLSearchParams(location.search).get("impression");
  if (printed === "A4" || printed === "A3") printAs(printed, { dialog: false });
}

start().catch((error) => {
  console.error(error);
  $("#map-error").textContent = error.message || "La carte n'a pas pu se charger : rechargez la page.";
  $("#map-error").hidden = false;
});
