// The photos chosen for a report: taken with the camera or picked from the phone, prepared once
// (`prepare`: downscaled before upload), shown as thumbnails that can be removed; too many or too
// heavy ones are flagged before sending.

import { ApiError } from "./api.js";
import { announce, h } from "./dom.js";
import { formatBytes } from "./vocabulary.js";

export class PhotoPicker {
  constructor({ list, warning, maxPhotos, maxBytes, onChange = () => {}, focusWhenEmpty = null, prepare = async (file) => file }) {
    Object.assign(this, { list, warning, maxPhotos, maxBytes, onChange, focusWhenEmpty, prepare });
    this.photos = []; // {id, name, type, blob, url}
    this.ids = 0;
    this.preparing = Promise.resolve();
  }

  /** Resolves when every chosen photo is prepared and listed: wait for it before saving or sending. */
  ready() {
    return this.preparing;
  }

  /** What should be fixed before sending, in French: one message per problem. */
  problems() {
    const problems = [];
    if (this.photos.length > this.maxPhotos) {
      const extra = this.photos.length - this.maxPhotos;
      problems.push(`Vous avez choisi ${this.photos.length} photos : ${this.maxPhotos} au plus. Retirez-en ${extra}.`);
    }
    for (const photo of this.photos) {
      if (photo.blob.size > this.maxBytes) {
        problems.push(`La photo « ${photo.name} » pèse ${formatBytes(photo.blob.size)} : ${formatBytes(this.maxBytes)} au plus par photo.`);
      }
    }
    return problems;
  }

  /** The photos as stored and sent: [{name, type, blob}]. */
  saved() {
    return this.photos.map(({ name, type, blob }) => ({ name, type, blob }));
  }

  /** Add chosen files, prepared one after the other (a phone decodes one large photo at a time). */
  add(files, { quiet = false, prepared = false } = {}) {
    const chosen = [...files];
    const work = this.preparing.then(async () => {
      const ready = [];
      for (const file of chosen) ready.push(prepared ? file : await this.prepare(file));
      this.append(ready, quiet);
    });
    this.preparing = work.catch(() => {});
    return work;
  }

  append(files, quiet) {
    for (const file of files) {
      this.ids += 1;
      this.photos.push({ id: this.ids, name: file.name || `photo-${this.ids}.jpg`, type: file.type, blob: file,
                         url: URL.createObjectURL(file) });
    }
    this.render();
    this.onChange();
    if (!quiet) {
      const n = this.photos.length;
      announce(`${n} photo${n > 1 ? "s" : ""} choisie${n > 1 ? "s" : ""}.`);
    }
  }

  remove(id) {
    const index = this.photos.findIndex((p) => p.id === id);
    if (index >= 0) URL.revokeObjectURL(this.photos[index].url);
    this.photos = this.photos.filter((p) => p.id !== id);
    this.render();
    this.onChange();
    announce("Photo retirée.");
    const buttons = this.list.querySelectorAll("button"); // keep the keyboard focus nearby
    (buttons[Math.min(index, buttons.length - 1)] || this.focusWhenEmpty)?.focus();
  }

  /** Replace the photos by saved ones (a draft, or a report to correct). */
  set(saved) {
    for (const photo of this.photos) URL.revokeObjectURL(photo.url);
    this.photos = [];
    const files = (saved || []).map((p) => new File([p.blob], p.name, { type: p.type || p.blob.type }));
    return this.add(files, { quiet: true, prepared: true }); // prepared when first chosen: the same bytes again
  }

  render() {
    this.list.replaceChildren(...this.photos.map((photo, index) => {
      const number = index + 1;
      const image = h("img", { src: photo.url, alt: `Photo ${number} : ${photo.name}` });
      image.addEventListener("error", () => image.replaceWith(h("span", { class: "meta" }, `Photo ${number} (aperçu indisponible)`)));
      return h("li", {},
        image,
        h("span", { class: photo.blob.size > this.maxBytes ? "too-big" : "meta" }, formatBytes(photo.blob.size)),
        h("button", {
          type: "button", class: "secondary", "aria-label": `Retirer la photo ${number} (${photo.name})`,
          onclick: () => this.remove(photo.id),
        }, "Retirer"),
      );
    }));
    const problems = this.problems();
    this.warning.textContent = problems.join(" ");
    this.warning.hidden = problems.length === 0;
  }
}

/** A refused photo named by its number and file name (the API says which by its index among those sent). */
export function namePhoto(error, photos) {
  if (!(error instanceof ApiError) || error.field !== "photos" || error.index === null || !photos[error.index]) return error;
  return new ApiError(error.status, {
    code: error.code, field: error.field, index: error.index,
    message: `Photo ${error.index + 1} (« ${photos[error.index].name} ») : ${error.message}`,
  });
}
