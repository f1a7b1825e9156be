// The follow page (`/suivi/{reference}`): status, public timeline, photos before and after.
// Only the public view of the API is read: no personal data can appear here.

import { ApiError, get } from "./api.js";
import { $, h } from "./dom.js";
import { addQuartiers, createMap, statusMarker } from "./map.js";
import { attributionText, formatDate, formatDateTime } from "./vocabulary.js";

function gallery(list, photos, caption) {
  list.replaceChildren(...photos.map((photo, index) => h("li", {},
    h("a", { href: photo.url },
      h("img", {
        src: photo.thumbnail_url, width: photo.thumbnail_width, height: photo.thumbnail_height,
        alt: `${caption} ${index + 1} (agrandir)`, loading: "lazy",
      })),
  )));
}

function show(report) {
  document.title = `${report.reference} — ${report.status_label} — GUSP`;
  $("#title").textContent = `Signalement ${report.reference}`;
  const status = $("#status");
  status.textContent = report.status_label;
  status.className = `badge status-${report.status}`;
  $("#category").textContent = report.category.label;
  $("#quartier").textContent = attributionText(report.attribution);
  $("#created").textContent = formatDateTime(report.created_at);
  $("#handled-by").textContent = report.handled_by || "Les services de la Ville (pas encore confié à un partenaire)";
  $("#expected-by-term").hidden = $("#expected-by").hidden = !report.expected_by;
  $("#expected-by").textContent = report.expected_by ? formatDate(report.expected_by) : "";
  $("#description").textContent = !report.published
    ? "Description en attente de relecture par la Ville."
    : report.description || "(sans description : voir les photos)";
  if (report.duplicate_of) {
    const merged = $("#merged");
    merged.replaceChildren("Ce signalement décrit le même problème qu'un autre, qui est suivi à sa place : ",
      h("a", { href: `/suivi/${encodeURIComponent(report.duplicate_of)}` }, `suivre ${report.duplicate_of}`), ".");
    merged.hidden = false;
  }
  if (report.similar_count > 0) {
    const similar = $("#similar");
    similar.textContent = report.similar_count === 1
      ? "Une autre personne a signalé le même problème."
      : `${report.similar_count} autres personnes ont signalé le même problème.`;
    similar.hidden = false;
  }
  $("#photos-before").hidden = report.photos.length === 0;
  gallery($("#gallery-before"), report.photos, "Photo du signalement");
  $("#photos-after").hidden = report.after_photos.length === 0;
  gallery($("#gallery-after"), report.after_photos, "Photo après intervention");
  $("#timeline").replaceChildren(...report.timeline.map((event) => h("li", {},
    h("time", { datetime: event.at }, formatDateTime(event.at)),
    h("strong", {}, event.status_label || (event.kind === "merged" ? "Rattaché à un autre signalement" : "Message de la Ville")),
    event.note ? h("p", {}, event.note) : null,
  )));
  $("#report").hidden = false;
  if (!report.location) {  // a sensitive category: the place is public only as its quartier
    $("#follow-map").replaceWith(h("p", { id: "follow-place" }, "Lieu : ", attributionText(report.attribution),
      " (lieu exact non publié pour ce type de signalement)."));
    return;
  }
  const map = createMap($("#follow-map"), { center: [report.location.lat, report.location.lon], zoom: 16,
    label: "Carte du lieu du signalement" });
  if (!map) return; // no map library: the page says the rest
  addQuartiers(map, { fit: false }).catch(() => {});
  statusMarker({ ...report, lat: report.location.lat, lon: report.location.lon, overdue: false }).addTo(map);
}

async function start() {
  const reference = decodeURIComponent(location.pathname.split("/").pop() || "").trim().toUpperCase();
  try {
    const report = await get(`/api/v1/reports/${encodeURIComponent(reference)}`);
    $("#offline-copy").hidden = navigator.onLine;
    show(report);
  } catch (error) {
    $("#title").textContent = "Signalement introuvable";
    $("#not-found-message").textContent = error instanceof ApiError
      ? error.message
      : "Pas de réseau, et ce signalement n'a pas encore été consulté depuis ce téléphone : réessayez plus tard.";
    $("#reference").value = reference;
    $("#not-found").hidden = false;
  } finally {
    $("#loading").hidden = true;
    document.body.dataset.ready = "true";
  }
}

if ("serviceWorker" in navigator) navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(() => {});
start();
