// The phone's own storage (IndexedDB): reports waiting for the network, the draft being written,
// and the references of the reports made or followed from this phone.

const DB_NAME = "gusp";
const VERSION = 1;
export const OUTBOX = "outbox"; // {key (Idempotency-Key), savedAt, fields, photos: [{name, type, blob}], label, state, error}
export const MINE = "mine"; // {reference, savedAt, label, quartier, followed}
export const DRAFT = "draft"; // {id: "current", fields, photos, location}

let opening = null;

function open() {
  opening ||= new Promise((resolve, reject) => {
    const request = indexedDB.open(DB_NAME, VERSION);
    request.onupgradeneeded = () => {
      const db = request.result;
      if (!db.objectStoreNames.contains(OUTBOX)) db.createObjectStore(OUTBOX, { keyPath: "key" });
      if (!db.objectStoreNames.contains(MINE)) db.createObjectStore(MINE, { keyPath: "reference" });
      if (!db.objectStoreNames.contains(DRAFT)) db.createObjectStore(DRAFT, { keyPath: "id" });
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => {
      opening = null;
      reject(request.error);
    };
  });
  return opening;
}

async function run(storeName, mode, work) {
  const db = await open();
  return new Promise((resolve, reject) => {
    const transaction = db.transaction(storeName, mode);
    const result = work(transaction.objectStore(storeName));
    transaction.oncomplete = () => resolve(result?.result);
    transaction.onerror = () => reject(transaction.error);
    transaction.onabort = () => reject(transaction.error);
  });
}

export const put = (storeName, value) => run(storeName, "readwrite", (store) => store.put(value));
export const remove = (storeName, key) => run(storeName, "readwrite", (store) => store.delete(key));
export const read = (storeName, key) => run(storeName, "readonly", (store) => store.get(key));
export const all = (storeName) => run(storeName, "readonly", (store) => store.getAll());
