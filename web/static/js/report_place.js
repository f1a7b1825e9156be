// Where the problem is, on the reporting page: the resident's GPS position, a pin on the map, or —
// when the map library did not load (bad network, missing install) — a quartier chosen from a list
// and a few words on the place. The report then goes to a point inside that quartier and the
// words go with its description, so that the coordinators know it is approximate.

import { $, h } from "./dom.js";
import { addQuartiers, createMap, fetchQuartiers, pinMarker, quartierAt } from "./map.js";

const HINT_MAP = "Utilisez votre position, ou touchez la carte à l'endroit du problème. Vous pouvez ensuite déplacer le repère.";
const HINT_LIST = "Utilisez votre position, ou choisissez le quartier et décrivez le lieu.";

const state = { location: null, quartiers: null, map: null, pin: null, onChange: () => {} };

const status = () => $("#location-status");
export const hasMap = () => state.map !== null;
/** The precise position (GPS, pin), or null: a quartier chosen from the list is not one. */
export const position = () => state.location;

/** Build the map (or the list when there is no map) and wire the buttons; `onChange` after each move. */
export function setup({ onChange }) {
  state.onChange = onChange;
  state.map = createMap($("#report-map"), { label: "Carte : touchez l'endroit du problème pour y placer le repère" });
  $("#locate").addEventListener("click", locate);
  if (state.map) {
    state.map.on("click", (event) => setLocation(event.latlng.lat, event.latlng.lng));
    $("#pin-center").addEventListener("click", () => {
      const centre = state.map.getCenter();
      setLocation(centre.lat, centre.lng);
    });
    addQuartiers(state.map).then(({ data }) => {
      state.quartiers = data;
      describe();
    }).catch(() => {});
    return;
  }
  for (const node of document.querySelectorAll(".with-map")) node.hidden = true;
  $("#place-without-map").hidden = false;
  status().textContent = HINT_LIST;
  fetchQuartiers().then((data) => {
    state.quartiers = data;
    const choices = data.features.filter((f) => f.properties.point)
      .map((f) => h("option", { value: f.properties.code }, f.properties.nom));
    $("#place-quartier").append(...choices);
    describe();
  }).catch(() => {
    $("#place-quartier").closest(".field").append(h("p", { class: "field-error" },
      "La liste des quartiers n'a pas pu être chargée : utilisez votre position, ou rechargez la page."));
  });
}

function describe() {
  const where = state.location;
  if (!where) return;
  const quartier = quartierAt(state.quartiers, where.lat, where.lon);
  const inQuartier = quartier ? `Quartier : ${quartier.nom}.` : "Ce lieu est hors des quartiers prioritaires ; le signalement sera tout de même transmis.";
  if (where.accuracy != null) {
    const rough = where.accuracy > 100 ? (state.map ? " C'est peu précis : vérifiez le repère et déplacez-le si besoin." : " C'est peu précis : décrivez le lieu ci-dessous.") : "";
    status().replaceChildren(h("span", { class: "accuracy" }, `Position trouvée, précise à ± ${Math.round(where.accuracy)} m.`),
      ` ${rough} ${inQuartier}${state.map ? " Vous pouvez déplacer le repère." : ""}`);
  } else {
    status().textContent = `Repère placé sur la carte. ${inQuartier}`;
  }
}

/** A position from the GPS, the map or a saved draft. */
export function setLocation(lat, lon, { accuracy = null, zoom = false, save = true } = {}) {
  state.location = { lat, lon, accuracy };
  if (state.map && !state.pin) {
    state.pin = pinMarker([lat, lon]).addTo(state.map);
    state.pin.on("dragend", () => {
      const point = state.pin.getLatLng();
      setLocation(point.lat, point.lng);
    });
  } else if (state.pin) {
    state.pin.setLatLng([lat, lon]);
  }
  if (state.map && zoom) state.map.setView([lat, lon], Math.max(state.map.getZoom(), 17), { animate: false });
  $("#location-erreur").hidden = true;
  describe();
  state.onChange({ save });
}

function locate() {
  const fallback = state.map ? "touchez la carte pour placer le repère" : "choisissez le quartier et décrivez le lieu";
  if (!("geolocation" in navigator)) {
    status().textContent = `Ce téléphone ne donne pas sa position : ${fallback}.`;
    return;
  }
  status().textContent = "Recherche de votre position…";
  navigator.geolocation.getCurrentPosition(
    (position) => setLocation(position.coords.latitude, position.coords.longitude, {
      accuracy: position.coords.accuracy, zoom: true,
    }),
    (error) => {
      status().textContent = {
        1: `Vous avez refusé la localisation : ${fallback}.`,
        2: `Votre position est introuvable pour l'instant : ${fallback}.`,
        3: `Votre position n'a pas pu être trouvée à temps : réessayez, ou ${fallback}.`,
      }[error.code] || `Position indisponible : ${fallback}.`;
    },
    { enableHighAccuracy: true, timeout: 20_000, maximumAge: 30_000 },
  );
}

/** The quartier chosen in the list (without map), as a GeoJSON feature, or null. */
function chosenQuartier() {
  const code = $("#place-quartier").value;
  return code ? state.quartiers?.features.find((f) => f.properties.code === code) || null : null;
}

/** Rough radius of a quartier, in metres: how far its point may be from the problem. */
function radiusMetres(feature, [lon0, lat0]) {
  const rings = feature.geometry.type === "Polygon" ? [feature.geometry.coordinates[0]] : feature.geometry.coordinates.map((p) => p[0]);
  let farthest = 0;
  for (const [lon, lat] of rings.flat()) {
    const dx = (lon - lon0) * 111_320 * Math.cos((lat0 * Math.PI) / 180);
    const dy = (lat - lat0) * 110_540;
    farthest = Math.max(farthest, Math.hypot(dx, dy));
  }
  return Math.min(Math.round(farthest), 100_000);
}

/** The place as the server takes it: {lat, lon, accuracy_m, words} — words go into the description. */
export function place() {
  const words = $("#place-text").value.trim();
  if (state.location) {
    const { lat, lon, accuracy } = state.location;
    return { lat: lat.toFixed(7), lon: lon.toFixed(7), accuracy_m: accuracy != null ? accuracy.toFixed(1) : "", words: hasMap() ? "" : words };
  }
  const quartier = chosenQuartier();
  if (!quartier || state.map) return { lat: "", lon: "", accuracy_m: "", words: "" };
  const [lon, lat] = quartier.properties.point;
  return { lat: lat.toFixed(7), lon: lon.toFixed(7), accuracy_m: String(radiusMetres(quartier, [lon, lat])), words,
           quartier: quartier.properties.nom };
}

/** What is wrong with the place before sending, or null. */
export function problem() {
  const where = place();
  if (!where.lat) {
    return hasMap() ? "Indiquez le lieu : utilisez votre position ou touchez la carte."
      : "Indiquez le lieu : utilisez votre position, ou choisissez le quartier.";
  }
  if (!state.location && !where.words) return "Décrivez le lieu (rue, bâtiment, repère) : la position du quartier seule ne suffit pas.";
  return null;
}

/** The words saved with the draft (the list and the text; the position is in the fields). */
export const draft = () => ({ quartier: $("#place-quartier").value, text: $("#place-text").value });

export function restore(saved) {
  if (!saved) return;
  $("#place-text").value = saved.text || "";
  const select = $("#place-quartier");
  const pick = () => { select.value = saved.quartier || ""; };
  if (state.quartiers) pick();
  else fetchQuartiers().then(() => setTimeout(pick, 0)).catch(() => {});
}

export function reset() {
  state.location = null;
  if (state.pin) {
    state.pin.remove();
    state.pin = null;
  }
  $("#place-quartier").value = "";
  $("#place-text").value = "";
  status().textContent = state.map ? HINT_MAP : HINT_LIST;
}
