// Blurring more of a photo (a number plate, a face the detector missed), for coordinators: draw a
// rectangle on the photo with the pointer (mouse, pen, finger), or type it in the four fields,
// which the drawing fills in too. The API re-makes the public photo and the thumbnail; the
// regions already blurred are outlined. Coordinates are pixels of the displayed photo.

import { post } from "./api.js";
import { h } from "./dom.js";

let uid = 0;

/** One editor per photo, built with the detail's `actionForm` (which shows the updated report). */
export function blurEditor(reference, photo, index, actionForm) {
  uid += 1;
  const id = `flou-${uid}`;
  const image = h("img", { src: photo.url, alt: `Photo ${index + 1} du signalement, à l'échelle (${photo.width} × ${photo.height} pixels)`,
    draggable: "false" });
  const draft = h("div", { class: "blur-draft", hidden: true });
  const stage = h("div", { class: "blur-stage" }, image, draft,
    ...photo.blur_regions.map((region) => place(h("div", { class: `blur-region blur-region--${region.source}`,
      title: region.source === "visage" ? "Visage flouté automatiquement" : "Zone floutée à la main" }), region, photo)));
  const number = (name, label, max) => h("div", { class: "field", "data-field": name },
    h("label", { for: `${id}-${name}` }, label),
    h("input", { type: "number", id: `${id}-${name}`, name, min: 0, max, step: 1, inputmode: "numeric", required: true }),
    h("p", { class: "field-error", hidden: true }));
  const fields = h("fieldset", { class: "blur-fields" },
    h("legend", {}, "Rectangle en pixels de la photo"),
    number("x", "À partir de la gauche (x)", photo.width - 1),
    number("y", "À partir du haut (y)", photo.height - 1),
    number("w", "Largeur", photo.width),
    number("h", "Hauteur", photo.height));

  const form = actionForm(`flouter-${photo.id}`, `Flouter une zone de la photo ${index + 1}`, [
    h("p", { class: "hint" }, "Tracez un rectangle sur la photo (plaque d'immatriculation, visage oublié…) ou saisissez-le ci-dessous. ",
      "La photo publique et sa vignette sont refaites ; l'original reste réservé aux coordinateurs."),
    stage,
    fields,
    photo.original_url ? h("p", {}, h("a", { href: photo.original_url, target: "_blank", rel: "noopener" },
      "Voir l'original non flouté (réservé aux coordinateurs)")) : null,
  ].filter(Boolean), "Flouter ce rectangle", () => {
    const value = (name) => Number(form.elements[name].value);
    return post(`/api/v1/gestion/reports/${encodeURIComponent(reference)}/photos/${photo.id}/blur`, {
      json: { rectangles: [{ x: value("x"), y: value("y"), w: value("w"), h: value("h") }] },
    });
  });
  form.classList.add("blur-editor");
  drawable(stage, image, draft, photo, form);
  return form;
}

function place(element, region, photo) {
  element.style.left = `${(100 * region.x) / photo.width}%`;
  element.style.top = `${(100 * region.y) / photo.height}%`;
  element.style.width = `${(100 * region.w) / photo.width}%`;
  element.style.height = `${(100 * region.h) / photo.height}%`;
  return element;
}

function drawable(stage, image, draft, photo, form) {
  let start = null;
  const at = (event) => {
    const box = image.getBoundingClientRect();
    const clamp = (value, max) => Math.max(0, Math.min(max, value));
    return {
      x: Math.round(clamp(((event.clientX - box.left) * photo.width) / box.width, photo.width)),
      y: Math.round(clamp(((event.clientY - box.top) * photo.height) / box.height, photo.height)),
    };
  };
  const rectangle = (a, b) => ({ x: Math.min(a.x, b.x), y: Math.min(a.y, b.y), w: Math.abs(a.x - b.x), h: Math.abs(a.y - b.y) });
  const show = (region) => {
    draft.hidden = false;
    place(draft, region, photo);
    for (const name of ["x", "y", "w", "h"]) form.elements[name].value = region[name];
  };
  stage.addEventListener("pointerdown", (event) => {
    event.preventDefault();
    stage.setPointerCapture(event.pointerId);
    start = at(event);
  });
  stage.addEventListener("pointermove", (event) => {
    if (start) show(rectangle(start, at(event)));
  });
  stage.addEventListener("pointerup", (event) => {
    if (!start) return;
    show(rectangle(start, at(event)));
    start = null;
  });
  // Typed values move the outline too, so that keyboard users see what they will blur.
  for (const name of ["x", "y", "w", "h"]) {
    form.elements[name].addEventListener("input", () => {
      const region = Object.fromEntries(["x", "y", "w", "h"].map((n) => [n, Number(form.elements[n].value) || 0]));
      if (region.w > 0 && region.h > 0) show(region);
    });
  }
}
