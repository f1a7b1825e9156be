// Leaflet maps of every page. The background tiles are optional (GUSP_CONFIG.tileUrl): without them
// the perimeters and markers are drawn all the same, on a plain background. The library itself is
// optional too (a bad network drops leaflet.js): `createMap` then answers null and pages go on without.

import { get } from "./api.js";
import { STATUSES } from "./vocabulary.js";

const L = window.L;
export const AIX = [43.5283, 5.4497];

function escapeText(text) {
  const span = document.createElement("span");
  span.textContent = text;
  return span.innerHTML;
}

/** Whether the map library loaded: a page without it keeps its lists and forms. */
export const mapsAvailable = () => Boolean(L && L.map);

/** A map with French controls; the background layer only when a tile URL is configured; null without Leaflet. */
export function createMap(element, { center = AIX, zoom = 13, label } = {}) {
  const config = window.GUSP_CONFIG || {};
  if (!mapsAvailable()) {
    element.hidden = true;
    return null;
  }
  if (label) {
    element.setAttribute("role", "region");
    element.setAttribute("aria-label", label);
  }
  const map = L.map(element, { zoomControl: false, keyboard: true, tapTolerance: 20, minZoom: 10, maxZoom: 19 });
  L.control.zoom({ zoomInTitle: "Zoomer", zoomOutTitle: "Dézoomer" }).addTo(map);
  map.attributionControl.setPrefix('<a href="https://leafletjs.com/" hreflang="en">Leaflet</a>');
  if (config.tileUrl) {
    L.tileLayer(config.tileUrl, { attribution: config.tileAttribution || "", maxZoom: 19 }).addTo(map);
  } else {
    element.classList.add("no-tiles");
  }
  map.setView(center, zoom);
  return map;
}

let quartiersPromise = null;

/** The perimeters (GeoJSON FeatureCollection), fetched once per page. */
export function fetchQuartiers() {
  quartiersPromise ||= get("/api/v1/quartiers").catch((error) => {
    quartiersPromise = null;
    throw error;
  });
  return quartiersPromise;
}

/** Draw the perimeters (not clickable: a tap goes through to the map) with their names. */
export async function addQuartiers(map, { fit = true, labels = true } = {}) {
  const data = await fetchQuartiers();
  if (labels && !map.getPane("quartier-labels")) {
    // Above the markers (600), below the popups (700): a name is never hidden under a marker or a cluster.
    const pane = map.createPane("quartier-labels");
    pane.style.zIndex = 650;
    pane.style.pointerEvents = "none";
  }
  const layer = L.geoJSON(data, {
    interactive: false,
    style: { color: "#000091", weight: 2, opacity: 0.9, fillColor: "#000091", fillOpacity: 0.07 },
    onEachFeature(feature, featureLayer) {
      if (labels) {
        featureLayer.bindTooltip(feature.properties.nom, {
          permanent: true, direction: "center", className: "quartier-label", interactive: false, pane: "quartier-labels",
        });
      }
    },
  }).addTo(map);
  if (fit && layer.getBounds().isValid()) map.fitBounds(layer.getBounds(), { padding: [10, 10], animate: false });
  return { layer, data };
}

function insideRing(lat, lon, ring) {
  let inside = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const [xi, yi] = ring[i];
    const [xj, yj] = ring[j];
    if ((yi > lat) !== (yj > lat) && lon < ((xj - xi) * (lat - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

/** The quartier whose perimeter holds the point, to tell the resident before sending (the server decides). */
export function quartierAt(collection, lat, lon) {
  for (const feature of collection?.features || []) {
    const geometry = feature.geometry;
    if (!geometry) continue;
    const polygons = geometry.type === "Polygon" ? [geometry.coordinates] : geometry.coordinates;
    for (const rings of polygons) {
      if (insideRing(lat, lon, rings[0]) && !rings.slice(1).some((hole) => insideRing(lat, lon, hole))) {
        return feature.properties;
      }
    }
  }
  return null;
}

const PIN_SVG = `<svg viewBox="0 0 32 42" aria-hidden="true" focusable="false">
  <path d="M16 1C7.7 1 1 7.6 1 15.8 1 27 16 41 16 41s15-14 15-25.2C31 7.6 24.3 1 16 1z" fill="#000091" stroke="#fff" stroke-width="2"/>
  <circle cx="16" cy="15.5" r="5.5" fill="#fff"/></svg>`;

/** The resident's pin: draggable with a finger or the mouse. */
export function pinMarker(latlng) {
  return L.marker(latlng, {
    draggable: true,
    autoPan: true,
    keyboard: false, // the "centre of the map" button is the keyboard way to place it
    icon: L.divIcon({ className: "pin", html: PIN_SVG, iconSize: [32, 42], iconAnchor: [16, 41] }),
  });
}

/** A report's marker: colour and shape by status, a red ring when overdue, a text for screen readers. */
export function statusMarker(report, { onSelect } = {}) {
  const status = report.status;
  const label = `${report.reference}, ${report.category?.label || ""}, ${STATUSES[status] || status}${report.overdue ? ", en retard" : ""}`;
  const marker = L.marker([report.lat, report.lon], {
    keyboard: true,
    title: label,
    status,
    icon: L.divIcon({
      className: "",
      iconSize: [22, 22],
      html: `<span class="status-marker shape-${status}${report.overdue ? " overdue" : ""}"><span class="visually-hidden">${escapeText(label)}</span></span>`,
    }),
  });
  if (onSelect) marker.on("click", () => onSelect(report, marker));
  return marker;
}

/** A group of reports from the server (`count`, one count per status): a ring shared out by status, the
 * count in the middle, its statuses in words for screen readers; Enter or a click zooms in. */
export function groupMarker(latlng, counts) {
  const total = counts.count;
  let angle = 0;
  const stops = [];
  const words = [];
  for (const status of Object.keys(STATUSES)) {
    if (!counts[status]) continue;
    const next = angle + (counts[status] / total) * 360;
    stops.push(`var(--s-${status}) ${angle}deg ${next}deg`);
    words.push(`${counts[status]} ${STATUSES[status].toLowerCase()}`);
    angle = next;
  }
  if (counts.overdue) words.push(`dont ${counts.overdue} en retard`);
  const label = `Groupe de ${total} signalements : ${words.join(", ")}. Entrée pour zoomer.`;
  const wide = total >= 1000;
  const icon = L.divIcon({
    className: "",
    iconSize: wide ? [52, 52] : [40, 40],
    html: `<div class="cluster${wide ? " cluster--wide" : ""}"><span aria-hidden="true">${total}</span></div><span class="visually-hidden">${escapeText(label)}</span>`,
  });
  // The pie of statuses is set through the CSSOM: the CSP refuses style attributes in HTML.
  const create = icon.createIcon.bind(icon);
  icon.createIcon = (old) => {
    const element = create(old);
    element.querySelector(".cluster").style.background = `conic-gradient(${stops.join(",")})`;
    return element;
  };
  return L.marker(latlng, { icon, keyboard: true, title: label, count: total });
}

/** The legend of status colours, as a list (colour is never the only clue: the text says it). */
export function legend(container) {
  container.replaceChildren();
  for (const [status, label] of Object.entries(STATUSES)) {
    const item = document.createElement("li");
    item.innerHTML = `<span class="status-marker shape-${status}" aria-hidden="true"></span>`;
    item.append(label);
    container.append(item);
  }
  const overdue = document.createElement("li");
  overdue.innerHTML = '<span class="status-marker overdue overdue-sample" aria-hidden="true"></span>';
  overdue.append("Cercle rouge : en retard");
  container.append(overdue);
}
