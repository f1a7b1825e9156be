// The operational groups' map (`/carte`): perimeters, reports from the server's vector tiles (grouped
// by the server at low zooms, every report of the filters at any volume), filters by period,
// category, status, partner and quartier, exact counts per quartier from the API (the table is also
// the map's text alternative), and a printable view in A4 or A3 landscape for meetings
// (`/carte?impression=A3` shows it without opening the print dialog).
// Without Leaflet or the tiles, the filters and the table still work.

import { get, query, requireUser, signOut, superseding } from "./api.js";
import { $, $$, h } from "./dom.js";
import { addQuartiers, createMap, legend } from "./map.js";
import { ROLES, STATUSES, formatDateTime } from "./vocabulary.js";

const MANAGERS = ["coordinateur", "admin"];
const state = { map: null, tiles: null, quartiers: null, followed: [], partners: new Map(), categories: new Map(), counts: null };
const views = superseding(); // filters changed again while counting: only the last answer is shown

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

function popup(report) {
  return h("div", {},
    h("p", {}, h("strong", {}, report.reference)),
    h("p", {}, report.category.label, h("br"), h("span", { class: `badge status-${report.status}` }, STATUSES[report.status] || report.status),
      report.overdue ? [" ", h("span", { class: "badge overdue" }, "En retard")] : null),
    h("p", {}, h("a", { href: `/gestion?ref=${encodeURIComponent(report.reference)}` }, `Ouvrir ${report.reference}`)));
}

/** Per quartier and status, counted by the server for the same filters as the tiles (exact at any volume). */
function countsTable(counts, chosen) {
  const statuses = Object.keys(STATUSES).filter((s) => !chosen.length || chosen.includes(s));
  const table = $("#counts");
  const caption = table.querySelector("caption");
  const head = h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Quartier"),
    ...statuses.map((s) => h("th", { scope: "col" }, STATUSES[s])), h("th", { scope: "col" }, "Total"),
    h("th", { scope: "col" }, "En retard")));
  const rows = withFollowed(counts.data);
  const body = h("tbody", {}, ...rows.map((row) =>
    h("tr", {}, h("th", { scope: "row" }, row.quartier_name), ...statuses.map((s) => h("td", {}, String(row.by_status[s] || 0))),
      h("td", {}, String(row.total)), h("td", {}, String(row.overdue)))));
  const foot = h("tfoot", {}, h("tr", {}, h("th", { scope: "row" }, "Total"),
    ...statuses.map((s) => h("td", {}, String(counts.by_status[s] || 0))), h("td", {}, String(counts.total)),
    h("td", {}, String(counts.overdue))));
  table.replaceChildren(caption, head, body, foot);
}

/** The perimeters the user follows: a group its quartiers, everyone else every quartier. */
function followedQuartiers(user, collection) {
  const mine = new Set(user.quartier_ids || []);
  const features = collection?.features || [];
  return user.role === "groupe" && mine.size ? features.filter((f) => mine.has(f.properties.id)) : features;
}

/** Every followed quartier keeps its line, with 0 where nothing matches (narrowed by the quartier filter). */
function withFollowed(data) {
  const chosen = $("#map-filters").elements.quartier.value;
  const counted = new Set(data.map((row) => row.quartier_code));
  const empty = state.followed
    .filter((f) => !counted.has(f.properties.code) && (!chosen || f.properties.code === chosen))
    .map((f) => ({ quartier_code: f.properties.code, quartier_name: f.properties.nom, total: 0, overdue: 0, by_status: {} }));
  return [...data, ...empty].sort((a, b) => (a.quartier_code === null) - (b.quartier_code === null)
    || a.quartier_name.localeCompare(b.quartier_name, "fr"));
}

/** Resolves when the tiles of the view are drawn (or failed): for printing and for tests. */
function tilesSettled() {
  if (!state.tiles || !state.tiles.isLoading()) return Promise.resolve();
  return new Promise((resolve) => state.tiles.once("load", resolve));
}

async function show() {
  const stillLatest = views.begin();
  const values = filters();
  $("#map-error").hidden = true;
  $("#summary").textContent = "Chargement…";
  document.body.dataset.ready = "false";
  fit(values.quartier);
  if (state.tiles) {
    state.tiles.setFilters(values); // the tiles load while the counts are counted
    if (!state.map.hasLayer(state.tiles)) state.tiles.addTo(state.map);
  }
  try {
    const counts = await get(`/api/v1/stats/map${query(values)}`);
    if (!stillLatest()) return;
    state.counts = counts;
  } catch (error) {
    if (!stillLatest()) return;
    $("#map-error").textContent = error.message;
    $("#map-error").hidden = false;
    $("#summary").textContent = "";
    return;
  }
  countsTable(state.counts, values.status);
  const count = state.counts.total;
  const words = `${count.toLocaleString("fr-FR")} signalement${count > 1 ? "s" : ""}`;
  $("#summary").textContent = `${words} — ${describeFilters(values)}.`;
  $("#print-caption").textContent = `Carte des signalements — ${describeFilters(values)} — ${words} — état au ${formatDateTime(new Date().toISOString())}.`;
  await tilesSettled();
  if (stillLatest()) document.body.dataset.ready = "true";
}

function fit(quartierCode) {
  if (!state.map) return;
  const feature = state.quartiers?.features.find((f) => f.properties.code === quartierCode && f.geometry);
  if (feature) {
    state.map.fitBounds(L.geoJSON(feature).getBounds(), { padding: [20, 20], animate: false });
  } else {
    fitFollowed();
  }
}

/** Every perimeter the user follows in view (not only those with reports). */
function fitFollowed() {
  const drawn = state.followed.filter((f) => f.geometry);
  if (!drawn.length) return;
  const bounds = L.geoJSON({ type: "FeatureCollection", features: drawn }).getBounds();
  if (bounds.isValid()) state.map.fitBounds(bounds, { padding: [20, 20], animate: false });
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
  if (!state.map) {
    if (dialog) window.print();
    return;
  }
  state.map.invalidateSize();
  fit($("#map-filters").elements.quartier.value);
  if (dialog) tilesSettled().then(() => setTimeout(() => window.print(), 200)); // markers drawn first
}

window.addEventListener("afterprint", () => {
  if (new URLSearchParams(location.search).has("impression")) return;
  document.body.classList.remove("print-A4", "print-A3");
  state.map?.invalidateSize();
});

/** The partners in charge of reports this user sees (the partners' list is for managers only). */
async function visiblePartners() {
  const volumes = await get(`/api/v1/stats/volumes${query({ group_by: "partner", interval: "none", date_from: "1900-01-01" })}`);
  return volumes.data.filter((row) => row.partner_id).map((row) => ({ id: row.partner_id, name: row.partner_name }));
}

/** The map, its perimeters and its report tiles; null parts when Leaflet or the tiles' code is missing. */
async function startMap() {
  if (!window.L) {
    $("#map-error").textContent = "La carte n'a pas pu se charger ; le tableau par quartier reste à jour.";
    $("#map-error").hidden = false;
    return (await get("/api/v1/quartiers"));
  }
  state.map = createMap($("#group-map"), { label: "Carte des signalements par quartier" });
  state.map.on("popupopen", (event) => {
    event.popup.getElement()?.querySelector(".leaflet-popup-close-button")?.setAttribute("aria-label", "Fermer la bulle");
  });
  legend($("#legend"));
  try {
    const { reportTiles } = await import("./report_tiles.js");
    state.tiles = reportTiles({
      filters: filters(), categories: state.categories,
      popup,
    });
    state.tiles.on("tileerror", (event) => {
      console.warn("tuile", event.error);
      $("#map-error").textContent = "Une partie des points de la carte n'a pas pu se charger ; le tableau par quartier reste exact.";
      $("#map-error").hidden = false;
    });
  } catch (error) {
    console.error(error);
  }
  const { data } = await addQuartiers(state.map, { fit: true });
  return data;
}

async function start() {
  const user = await requireUser();
  for (const element of $$(".managers-only")) element.hidden = !MANAGERS.includes(user.role);
  $("#user-name").textContent = `${user.full_name} — ${ROLES[user.role] || user.role}`;
  $("#sign-out").addEventListener("click", signOut);

  const [quartiers, categories, partners] = await Promise.all([
    startMap(),
    get("/api/v1/categories").then((r) => r.data),
    MANAGERS.includes(user.role) ? get("/api/v1/partners") : visiblePartners(),
  ]);
  state.quartiers = quartiers;
  state.followed = followedQuartiers(user, quartiers);
  for (const category of categories) state.categories.set(category.code, category.label);
  $("#m-quartier").append(...quartiers.features.map((f) => h("option", { value: f.properties.code }, f.properties.nom)));
  $("#m-category").append(...categories.map((c) => h("option", { value: c.code }, c.label)));
  for (const partner of partners) state.partners.set(partner.id, partner.name);
  fillPartners();
  $("#m-status").append(...Object.entries(STATUSES).map(([value, label]) => h("div", { class: "check" },
    h("input", { type: "checkbox", id: `m-status-${value}`, name: "status", value, checked: true }),
    h("label", { for: `m-status-${value}` }, label))));

  const form = $("#map-filters");
  if (window.matchMedia("(max-width: 40rem)").matches) $("#map-filters-box").open = false; // a phone: the map first
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

  // The print layout first: the first view is drawn at the paper's size, and `data-ready` waits for it.
  const printed = new URLSearchParams(location.search).get("impression");
  if (printed === "A4" || printed === "A3") printAs(printed, { dialog: false });
  await show();
}

start().catch((error) => {
  console.error(error);
  $("#map-error").textContent = error.message || "La carte n'a pas pu se charger : rechargez la page.";
  $("#map-error").hidden = false;
});
