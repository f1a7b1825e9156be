// Reports on their way to the server. Each is saved on the phone with its Idempotency-Key before
// the first try, and sent again with the same key until the server answers: created exactly once,
// even when an answer is lost on a bad network.

import { upload } from "./api.js";
import { problemsOf } from "./forms.js";
import { namePhoto } from "./photo_picker.js";
import * as store from "./store.js";

const inFlight = new Map();
let flushing = null;

function newKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Save a report to send; `fields` are the form's text fields, `photos` [{name, type, blob}]. */
export async function enqueue({ fields, photos, label }) {
  const item = { key: newKey(), savedAt: new Date().toISOString(), fields, photos, label, state: "attente", error: null, attempts: 0 };
  try {
    await store.put(store.OUTBOX, item);
    item.stored = true;
  } catch {
    item.stored = false; // no IndexedDB (private browsing): it can be sent now, not kept for later
  }
  return item;
}

function formData(item) {
  const form = new FormData();
  for (const [name, value] of Object.entries(item.fields)) {
    if (value !== undefined && value !== null && value !== "") form.append(name, String(value));
  }
  for (const photo of item.photos) form.append("photos", photo.blob, photo.name || "photo.jpg");
  return form;
}

/** One try; the same promise for concurrent callers of the same item. `onProgress(sent, total)`: the upload's bytes. */
export function send(item, { onProgress } = {}) {
  if (!inFlight.has(item.key)) {
    const attempt = upload("/api/v1/reports", { form: formData(item), headers: { "Idempotency-Key": item.key }, onProgress })
      .then(async (report) => {
        await store.remove(store.OUTBOX, item.key);
        await remember(report, { label: item.label });
        return report;
      })
      .finally(() => inFlight.delete(item.key));
    inFlight.set(item.key, attempt);
  }
  return inFlight.get(item.key);
}

/** A refused report stays on the phone, with the reasons, until the resident corrects it. */
export async function markRefused(item, refused) {
  const error = namePhoto(refused, item.photos);
  item.state = "refuse";
  item.error = { message: error.message, problems: problemsOf(error) };
  await store.put(store.OUTBOX, item);
}

export const waiting = () => store.all(store.OUTBOX);
export const discard = (key) => store.remove(store.OUTBOX, key);

/** Send every waiting report, oldest first; stop at the first network failure. */
export function flush(listener = () => {}) {
  flushing ||= (async () => {
    const items = (await store.all(store.OUTBOX))
      .filter((item) => item.state === "attente")
      .sort((a, b) => a.savedAt.localeCompare(b.savedAt));
    for (const item of items) {
      try {
        const report = await send(item);
        listener({ type: "sent", item, report });
      } catch (error) {
        if (error.retryable) {
          item.attempts += 1;
          await store.put(store.OUTBOX, item);
          listener({ type: "waiting", item });
          break;
        }
        await markRefused(item, error);
        listener({ type: "refused", item, error });
      }
    }
  })().finally(() => {
    flushing = null;
  });
  return flushing;
}

/** Keep the reference of a report made or followed from this phone. */
export async function remember(report, { label, followed = false } = {}) {
  await store.put(store.MINE, {
    reference: report.reference,
    savedAt: new Date().toISOString(),
    label: label || report.category?.label || "",
    quartier: report.attribution?.quartier?.nom || null,
    followed,
  });
}

export const mine = () => store.all(store.MINE);
