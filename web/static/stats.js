// The statistics dashboard: filters → the /api/v1/stats endpoints → an SVG chart and, beside it,
// the same figures as an HTML table (accessibility, and for those who prefer numbers).
// Charts are drawn here in a few lines of SVG, no chart library; the map uses Leaflet and needs no
// tile server (perimeters and hotspots are drawn from the API; the tiles of GUSP_CONFIG.tileUrl if any).

import { currentUser, signOut } from "./js/api.js";
import { addQuartiers, createMap } from "./js/map.js";
import { ROLES } from "./js/vocabulary.js";

const MANAGERS = ["coordinateur", "admin"];
const SVG = "http://www.w3.org/2000/svg";
const nf = new Intl.NumberFormat("fr-FR");
const nf1 = new Intl.NumberFormat("fr-FR", { maximumFractionDigits: 1 });
const nf2 = new Intl.NumberFormat("fr-FR", { maximumFractionDigits: 2 });
// Figures come unrounded from the API and are rounded here, once, as in the PDF pack (README):
// rates to one decimal, shares to the whole percent, days to one decimal.
const pct = new Intl.NumberFormat("fr-FR", { style: "percent", maximumFractionDigits: 0 });
const MONTHS = ["janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.", "déc."];

const $ = (id) => document.getElementById(id);
let chartCount = 0;
let map = null;
let mapLayers = null;

function el(name, attributes = {}, ...children) {
  const node = document.createElement(name);
  for (const [key, value] of Object.entries(attributes)) {
    if (value !== null && value !== undefined) node.setAttribute(key, value);
  }
  for (const child of children) node.append(child ?? "");
  return node;
}

function svg(name, attributes = {}, text) {
  const node = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

async function getJson(url) {
  const response = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
  const body = await response.json().catch(() => null);
  if (!response.ok) {
    const error = new Error(body?.message || `Le serveur a répondu ${response.status}.`);
    error.status = response.status;
    throw error;
  }
  return body;
}

function query(extra = {}) {
  const form = new FormData($("filters"));
  const params = new URLSearchParams();
  for (const [key, value] of form.entries()) {
    if (value && key !== "interval" && key !== "compare") params.append(key, value);
  }
  for (const [key, value] of Object.entries(extra)) if (value) params.set(key, value);
  return params;
}

function periodLabel(row, interval) {
  if (interval === "month") {
    const [year, month] = row.period.split("-");
    return `${MONTHS[Number(month) - 1]} ${year}`;
  }
  return row.period.replace("-T", " T");
}

/** A table with a caption; `rows` are arrays of cells, the first one a row header. */
function table(caption, headers, rows, footer) {
  const head = el("tr", {}, ...headers.map((h) => el("th", { scope: "col" }, h)));
  const body = rows.map((cells) => el("tr", {}, el("th", { scope: "row" }, cells[0]),
    ...cells.slice(1).map((c) => el("td", {}, c))));
  const parts = [el("caption", {}, caption), el("thead", {}, head), el("tbody", {}, ...body)];
  if (footer) parts.push(el("tfoot", {}, el("tr", {}, el("th", { scope: "row" }, footer[0]),
    ...footer.slice(1).map((c) => el("td", {}, c)))));
  return el("div", { class: "table-wrap", tabindex: "0", role: "region", "aria-label": caption },
    el("table", {}, ...parts));
}

/**
 * Horizontal bars, one group per label, one bar per series (at most three), with values written
 * at the end of each bar. The SVG is an image with a title and a description; the table beside it
 * carries the numbers for assistive technologies.
 */
function barChart({ title, labels, series, format = nf.format }) {
  const id = `chart-${++chartCount}`;
  const barHeight = 18;
  const gap = 4;
  const groupHeight = series.length * (barHeight + gap) + 10;
  const labelWidth = 190;
  const width = 640;
  const plot = width - labelWidth - 70;
  const height = Math.max(groupHeight * labels.length + 30, 60);
  const max = Math.max(1, ...series.flatMap((s) => s.values.map((v) => v || 0)));
  const root = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-labelledby": `${id}-t ${id}-d`,
                            class: "chart", preserveAspectRatio: "xMinYMin meet" });
  root.append(svg("title", { id: `${id}-t` }, title));
  const summary = series.map((s) => `${s.name} : ${labels.map((l, i) => `${l} ${s.values[i] == null ? "—" : format(s.values[i])}`).join(", ")}`).join(". ");
  root.append(svg("desc", { id: `${id}-d` }, summary));
  labels.forEach((label, i) => {
    const y0 = i * groupHeight + 5;
    root.append(svg("text", { x: labelWidth - 8, y: y0 + groupHeight / 2, class: "label", "text-anchor": "end",
                              "dominant-baseline": "middle" }, label.length > 25 ? `${label.slice(0, 24)}…` : label));
    series.forEach((s, j) => {
      const value = s.values[i];
      const y = y0 + j * (barHeight + gap);
      const w = value ? Math.max(1, (value / max) * plot) : 0;
      root.append(svg("rect", { x: labelWidth, y, width: w, height: barHeight, class: `bar ${s.className}` }));
      root.append(svg("text", { x: labelWidth + w + 4, y: y + barHeight / 2, class: "value",
                                "dominant-baseline": "middle" }, value == null ? "—" : format(value)));
    });
  });
  root.append(svg("line", { x1: labelWidth, x2: labelWidth, y1: 0, y2: height - 20, class: "axis" }));
  const legend = el("ul", { class: "legend", "aria-hidden": "true" },
    ...series.map((s) => el("li", {}, el("span", { class: `swatch ${s.className}` }), s.name)));
  return el("figure", { class: "chart-figure" }, root, legend);
}

/** Stacked horizontal bars: each label's parts side by side, in the given order. */
function stackedChart({ title, labels, parts }) {
  const id = `chart-${++chartCount}`;
  const labelWidth = 190;
  const width = 640;
  const plot = width - labelWidth - 60;
  const rowHeight = 26;
  const height = labels.length * rowHeight + 20;
  const totals = labels.map((_, i) => parts.reduce((sum, p) => sum + (p.values[i] || 0), 0));
  const max = Math.max(1, ...totals);
  const root = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-labelledby": `${id}-t ${id}-d`,
                            class: "chart" });
  root.append(svg("title", { id: `${id}-t` }, title));
  root.append(svg("desc", { id: `${id}-d` }, labels.map((l, i) =>
    `${l} : ${parts.map((p) => `${p.name} ${nf.format(p.values[i] || 0)}`).join(", ")}`).join(". ")));
  labels.forEach((label, i) => {
    const y = i * rowHeight + 4;
    root.append(svg("text", { x: labelWidth - 8, y: y + 10, class: "label", "text-anchor": "end",
                              "dominant-baseline": "middle" }, label.length > 25 ? `${label.slice(0, 24)}…` : label));
    let x = labelWidth;
    for (const p of parts) {
      const w = ((p.values[i] || 0) / max) * plot;
      if (w > 0) root.append(svg("rect", { x, y, width: w, height: 20, class: `bar ${p.className}` }));
      x += w;
    }
    root.append(svg("text", { x: x + 4, y: y + 10, class: "value", "dominant-baseline": "middle" }, nf.format(totals[i])));
  });
  const legend = el("ul", { class: "legend", "aria-hidden": "true" },
    ...parts.map((p) => el("li", {}, el("span", { class: `swatch ${p.className}` }), p.name)));
  return el("figure", { class: "chart-figure" }, root, legend);
}

function show(id, ...nodes) {
  $(id).replaceChildren(...nodes);
}

function empty(id, message = "Aucun signalement pour ces critères.") {
  show(id, el("p", { class: "hint" }, message));
}

/** Every period of the range (the API lists them, with or without reports) with this year's and last year's counts. */
function periodTable(data, interval) {
  const counts = new Map();
  for (const row of data.data) counts.set(row.period, (counts.get(row.period) || 0) + row.count);
  const previous = new Map();
  for (const row of data.comparison?.data || []) previous.set(row.period, (previous.get(row.period) || 0) + row.count);
  const shift = (p) => p.replace(/^\d{4}/, (y) => String(Number(y) - 1));
  const periods = data.periods?.length ? data.periods : [...counts.keys()];
  return periods.map((period) => ({ period, label: periodLabel({ period }, interval), count: counts.get(period) || 0,
                                    before: previous.get(shift(period)) || 0 }));
}

async function loadVolumes(interval, compare) {
  const data = await getJson(`/api/v1/stats/volumes?${query({ group_by: "status", interval, compare })}`);
  const periods = periodTable(data, interval);
  if (!periods.length) return empty("volumes");
  const labels = periods.map((p) => p.label);
  const series = [{ name: "Période choisie", values: periods.map((p) => p.count), className: "s1" }];
  if (data.comparison) series.push({ name: "Un an plus tôt", values: periods.map((p) => p.before), className: "s2" });
  const headers = ["Période", "Signalements", ...(data.comparison ? ["Un an plus tôt", "Évolution"] : [])];
  const rows = periods.map((p) => {
    const cells = [p.label, nf.format(p.count)];
    if (data.comparison) cells.push(nf.format(p.before), p.before ? pct.format((p.count - p.before) / p.before) : "—");
    return cells;
  });
  const total = data.total;
  const footer = ["Total", nf.format(total), ...(data.comparison ? [nf.format(data.comparison.total),
    data.comparison.total ? pct.format((total - data.comparison.total) / data.comparison.total) : "—"] : [])];
  show("volumes", barChart({ title: "Signalements reçus par période", labels, series }),
       table("Signalements reçus par période", headers, rows, footer));
  $("scope-note").textContent = `${data.meta.basis} ${data.meta.duplicates}${data.meta.restriction ? ` ${data.meta.restriction}` : ""}`;
}

function notes(rows) {
  const found = [...new Set(rows.filter((r) => r.per_1000 == null && r.note).map((r) => r.note))];
  return found.length ? el("ul", { class: "hint notes" }, ...found.map((n, i) => el("li", {}, `${"*".repeat(i + 1)} ${n}`))) : "";
}

async function loadRates(compare) {
  const data = await getJson(`/api/v1/stats/rates?${query({ compare })}`);
  const rows = data.data.filter((r) => r.per_1000 != null);
  if (!data.data.length) return empty("rates");
  const previous = new Map((data.comparison?.data || []).map((r) => [r.quartier_code, r]));
  const series = [{ name: "Période choisie", values: rows.map((r) => r.per_1000), className: "s1" }];
  if (data.comparison) series.push({ name: "Un an plus tôt", values: rows.map((r) => previous.get(r.quartier_code)?.per_1000 ?? null), className: "s2" });
  const marked = [...new Set(data.data.filter((r) => r.per_1000 == null && r.note).map((r) => r.note))];
  const mark = (r) => (r.per_1000 == null && r.note ? "*".repeat(marked.indexOf(r.note) + 1) : "");
  const cells = data.data.map((r) => [`${r.quartier_name}${mark(r)}`, r.population ? nf.format(r.population) : "—", nf.format(r.count),
    r.per_1000 == null ? "—" : nf1.format(r.per_1000), r.share_resolved == null ? "—" : pct.format(r.share_resolved)]);
  const t = data.total;
  show("rates", barChart({ title: "Signalements pour 1 000 habitants, par quartier", labels: rows.map((r) => r.quartier_name),
                           series, format: nf1.format }),
       table("Signalements par quartier, pour 1 000 habitants, et part résolue",
             ["Quartier", "Habitants", "Signalements", "Pour 1 000 habitants", "% résolus"], cells,
             [t.quartier_name, t.population ? nf.format(t.population) : "—", nf.format(t.count),
              t.per_1000 == null ? "—" : nf1.format(t.per_1000), t.share_resolved == null ? "—" : pct.format(t.share_resolved)]),
       notes(data.data), el("p", { class: "hint" }, `${t.quartier_name} : ${t.note || ""}`),
       data.commune ? el("p", { class: "hint", id: "commune-rate" }, `${data.commune.quartier_name} : ${nf.format(data.commune.count)} signalements, `
         + `${nf1.format(data.commune.per_1000)} pour 1 000 habitants (${nf.format(data.commune.population)} habitants, Insee).`) : "");
}

async function loadCategories(compare) {
  const data = await getJson(`/api/v1/stats/volumes?${query({ group_by: "category", interval: "none", compare })}`);
  // Every category of either column: one with reports only a year ago still has its line.
  const byCode = new Map(data.data.map((r) => [r.category_code, { label: r.category_label, count: r.count, before: 0 }]));
  for (const r of data.comparison?.data || []) {
    const line = byCode.get(r.category_code) || { label: r.category_label, count: 0, before: 0 };
    line.before = r.count;
    byCode.set(r.category_code, line);
  }
  if (!byCode.size) return empty("categories");
  const rows = [...byCode.values()].sort((a, b) => b.count - a.count || b.before - a.before);
  const series = [{ name: "Période choisie", values: rows.map((r) => r.count), className: "s1" }];
  if (data.comparison) series.push({ name: "Un an plus tôt", values: rows.map((r) => r.before), className: "s2" });
  show("categories", barChart({ title: "Signalements par catégorie", labels: rows.map((r) => r.label), series }),
       table("Signalements par catégorie", ["Catégorie", "Signalements", "Part", ...(data.comparison ? ["Un an plus tôt"] : [])],
             rows.map((r) => [r.label, nf.format(r.count), data.total ? pct.format(r.count / data.total) : "—",
                              ...(data.comparison ? [nf.format(r.before)] : [])]),
             ["Total", nf.format(data.total), data.total ? pct.format(1) : "—", ...(data.comparison ? [nf.format(data.comparison.total)] : [])]));
}

const days = (v) => (v == null ? "—" : `${nf1.format(v)} j`);

async function loadDelays() {
  const data = await getJson(`/api/v1/stats/delays?${query({ group_by: "partner" })}`);
  if (!data.data.length) return empty("delays", "Aucun signalement résolu pendant la période.");
  const rows = data.data;
  const labels = rows.map((r) => r.partner_name);
  const cells = (r) => [nf.format(r.resolved), days(r.creation_to_resolution.median_days), days(r.creation_to_resolution.p90_days),
    days(r.creation_to_resolution.mean_days), days(r.assignment_to_resolution.median_days),
    days(r.assignment_to_resolution.p90_days), days(r.assignment_to_resolution.mean_days)];
  show("delays",
       barChart({ title: "Délai de la création à la résolution, en jours, par partenaire", labels, format: nf1.format,
                  series: [{ name: "Médiane", values: rows.map((r) => r.creation_to_resolution.median_days), className: "s1" },
                           { name: "90ᵉ centile", values: rows.map((r) => r.creation_to_resolution.p90_days), className: "s3" }] }),
       table("Délais de traitement des signalements résolus pendant la période (jours)",
             ["Partenaire", "Résolus", "Création → résolution : médiane", "90ᵉ centile", "moyenne",
              "Affectation → résolution : médiane", "90ᵉ centile", "moyenne"],
             rows.map((r) => [r.partner_name, ...cells(r)]), ["Ensemble", ...cells(data.total)]));
}

const AGE_CLASSES = { under_7: "a1", from_7_to_30: "a2", from_30_to_90: "a3", over_90: "a4" };

async function loadBacklog() {
  const data = await getJson(`/api/v1/stats/backlog?${query()}`);
  if (!data.data.length) return empty("backlog", "Aucun signalement ouvert.");
  const keys = Object.keys(data.buckets);
  const parts = keys.map((k) => ({ name: data.buckets[k], values: data.data.map((r) => r[k]), className: AGE_CLASSES[k] }));
  const line = (r) => [r.label, nf.format(r.open), ...keys.map((k) => nf.format(r[k])), nf.format(r.overdue)];
  show("backlog", stackedChart({ title: "Signalements ouverts par quartier et par ancienneté", labels: data.data.map((r) => r.label), parts }),
       table("Signalements ouverts aujourd'hui, par quartier et par ancienneté",
             ["Quartier", "Ouverts", ...keys.map((k) => data.buckets[k]), "En retard"], data.data.map(line), line(data.total)));
}

async function loadOverdue() {
  const data = await getJson(`/api/v1/stats/overdue?${query()}`);
  if (!data.data.length) return empty("overdue", "Aucun signalement avec échéance pendant la période.");
  const spec = [["resolved_on_time", "Résolus dans le délai", "o1"], ["resolved_late", "Résolus en retard", "o2"],
                ["open_on_time", "Ouverts, dans le délai", "o3"], ["open_overdue", "Ouverts, en retard", "o4"]];
  const line = (r) => [r.label, nf.format(r.with_deadline), ...spec.map(([k]) => nf.format(r[k])),
                       r.share_late == null ? "—" : pct.format(r.share_late)];
  show("overdue", stackedChart({ title: "Échéances par partenaire", labels: data.data.map((r) => r.label),
                                 parts: spec.map(([k, name, c]) => ({ name, values: data.data.map((r) => r[k]), className: c })) }),
       table("Échéances des signalements créés pendant la période, par partenaire",
             ["Partenaire", "Avec échéance", ...spec.map(([, name]) => name), "Part en retard"], data.data.map(line), line(data.total)));
}

function setUpMap() {
  if (map) return;
  map = createMap($("hotspots-map"), { label: "Carte des points chauds" }); // null without the map library
  if (!map) return;
  mapLayers = L.layerGroup().addTo(map);
  addQuartiers(map).catch(() => {});
}

async function loadHotspots() {
  const data = await getJson(`/api/v1/stats/hotspots?${query({ limit: "50" })}`);
  setUpMap();
  if (mapLayers) {
    mapLayers.clearLayers();
    const max = Math.max(1, ...data.data.map((h) => h.count));
    for (const h of data.data) {
      L.circleMarker([h.lat, h.lon], { radius: 5 + 15 * Math.sqrt(h.count / max), color: "#8d3800", weight: 2,
                                        fillColor: "#ff9940", fillOpacity: 0.6 })
        .bindTooltip(`${h.category_label} : ${nf.format(h.count)} signalements (${h.quartier_name})`)
        .addTo(mapLayers);
    }
  }
  if (!data.data.length) return empty("hotspots", "Aucun point chaud pendant la période.");
  const date = (d) => new Date(`${d}T12:00:00`).toLocaleDateString("fr-FR");
  show("hotspots", table(`Points chauds (${nf.format(data.count)} trouvés, les ${data.data.length} plus importants)`,
    ["Catégorie", "Signalements", "Quartier", "Rayon", "Premier", "Dernier", "Position"],
    data.data.map((h) => [h.category_label, nf.format(h.count), h.quartier_name, `${nf.format(Math.round(h.radius_m))} m`,
                          date(h.first_at), date(h.last_at), `${nf.format(h.lat)}, ${nf.format(h.lon)}`])));
}

function updateExports() {
  const params = query().toString();
  for (const link of document.querySelectorAll("[data-export]")) {
    link.href = `/api/v1/exports/reports.${link.dataset.export}${params ? `?${params}` : ""}`;
  }
  for (const link of document.querySelectorAll("[data-table]")) {
    link.href = `/api/v1/exports/tables/${link.dataset.table}.csv${params ? `?${params}` : ""}`;
  }
}

async function refresh() {
  const interval = $("f-interval").value;
  const compare = $("f-compare").checked ? "previous_year" : "";
  $("status").textContent = "Chargement des statistiques…";
  updateExports();
  const jobs = [loadVolumes(interval, compare), loadRates(compare), loadCategories(compare), loadDelays(),
                loadBacklog(), loadOverdue(), loadHotspots()];
  const results = await Promise.allSettled(jobs);
  const failed = results.filter((r) => r.status === "rejected");
  if (failed.some((r) => r.reason?.status === 401)) {
    $("sign-in").hidden = false;
    $("status").textContent = "";
    return;
  }
  $("status").textContent = failed.length ? `Certaines statistiques n'ont pas pu être chargées : ${failed[0].reason.message}`
                                          : "Statistiques à jour.";
}

async function fillSelect(select, url, value, label) {
  try {
    const data = await getJson(url);
    const items = Array.isArray(data) ? data : data.data || data.features || [];
    for (const item of items) {
      const source = item.properties || item;
      select.append(el("option", { value: value(source) }, label(source)));
    }
    return true;
  } catch {
    return false;
  }
}

async function start() {
  const user = await currentUser().catch(() => null);
  if (!user) { // asked without a 401: nothing to load before signing in
    $("sign-in").hidden = false;
    $("filters").hidden = true;
    return;
  }
  $("user-name").textContent = `${user.full_name} — ${ROLES[user.role] || user.role}`;
  $("sign-out").addEventListener("click", signOut);
  $("user-box").hidden = false;
  const today = new Date();
  const from = new Date(today.getFullYear(), today.getMonth() - 11, 1);
  const iso = (d) => `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
  $("f-from").value = iso(from);
  $("f-to").value = iso(today);
  await Promise.all([
    fillSelect($("f-quartier"), "/api/v1/quartiers", (q) => q.code, (q) => q.nom),
    fillSelect($("f-category"), "/api/v1/categories", (c) => c.code, (c) => c.label),
    // Partners are listed to those who manage them; a partner or a group sees its own scope only.
    MANAGERS.includes(user.role)
      ? fillSelect($("f-partner"), "/api/v1/partners", (p) => p.id, (p) => p.name).then((ok) => { $("partner-field").hidden = !ok; })
      : null,
  ]);
  $("filters").addEventListener("submit", (event) => {
    event.preventDefault();
    refresh();
  });
  refresh();
}

start();
