// GUSP service worker: the public pages open without network once visited.
// Network first (fresh after each release), the cached copy when the network fails or takes too long.
// Staff pages and staff data are never cached. Reports made offline wait in IndexedDB (the page sends them).
// Map tiles (GUSP_TILE_URL) are kept once seen, in a cache of their own bounded to MAX_TILES.

// The tile settings (GUSP_TILE_URL) from the same script the pages read; kept by the browser with this worker.
try {
  importScripts("/config.js");
} catch {
  // not reachable at install: no tiles kept, everything else works
}

const CACHE = "gusp-v2"; // v2: photos are no longer cache-first (a photo hidden later must go)
// Pages name their assets under a release fingerprint (/static/v-<hash>/…): one cache key without it.
const FINGERPRINT = /^\/(static|vendor)\/v-[0-9a-f]+\//;
const TILES = "gusp-tiles-v1"; // map background tiles once seen, the oldest dropped beyond MAX_TILES
const MAX_TILES = 1500; // the quartiers from zoom 13 to 18 with room to spare (a few tens of MB)
const SLOW_NETWORK_MS = 4000;
const FOLLOW_PAGE = "/suivi/_";
const SHELL = [
  "/",
  FOLLOW_PAGE,
  "/config.js",
  "/static/gusp.css",
  "/static/favicon.svg",
  "/static/js/api.js",
  "/static/js/dom.js",
  "/static/js/downscale.js",
  "/static/js/follow.js",
  "/static/js/forms.js",
  "/static/js/icons.js",
  "/static/js/map.js",
  "/static/js/outbox.js",
  "/static/js/photo_picker.js",
  "/static/js/report.js",
  "/static/js/report_place.js",
  "/static/js/store.js",
  "/static/js/vocabulary.js",
  "/static/js/waiting_list.js",
  "/vendor/leaflet/dist/leaflet.js",
  "/vendor/leaflet/dist/leaflet.css",
  "/api/v1/categories",
  "/api/v1/quartiers",
];

self.addEventListener("install", (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    // One by one: a missing file must not prevent the others from being kept.
    await Promise.all(SHELL.map((url) => cache.add(new Request(url, { cache: "reload" })).catch(() => {})));
    await self.skipWaiting();
  })());
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) if (name !== CACHE && name !== TILES) await caches.delete(name);
    await self.clients.claim();
  })());
});

/** Whether a URL is a tile of the configured template (`{s}` subdomains included). */
const isTile = ((template) => {
  if (!template) return () => false;
  let probe;
  try {
    probe = new URL(template.replace(/\{s\}/g, "s").replace(/\{[xyz]\}/g, "0"));
  } catch {
    return () => false;
  }
  const anySubdomain = template.includes("{s}.");
  const host = anySubdomain ? probe.host.slice(probe.host.indexOf(".") + 1) : probe.host;
  const path = probe.pathname.split("0")[0];
  return (url) => url.protocol === probe.protocol && url.pathname.startsWith(path)
    && (anySubdomain ? url.host.endsWith(`.${host}`) : url.host === host);
})(self.GUSP_CONFIG?.tileUrl || "");

/** A tile from the cache when seen before (offline too); else from the network, kept for next time. */
async function tile(request) {
  const cache = await caches.open(TILES);
  const cached = await cache.match(request.url);
  if (cached) return cached;
  const response = await fetch(request);
  // Leaflet loads tiles as plain images: an opaque answer from a host without CORS is kept as well.
  if (response.ok || response.type === "opaque") {
    await cache.put(request.url, response.clone()).catch(() => {});
    const keys = await cache.keys(); // in the order they were put: the oldest first
    await Promise.all(keys.slice(0, Math.max(0, keys.length - MAX_TILES)).map((key) => cache.delete(key)));
  }
  return response;
}

/** What this worker answers for, and under which cache key; null: left to the browser. */
function cacheKey(url) {
  if (url.origin !== self.location.origin) return null;
  const path = url.pathname.replace(FINGERPRINT, "/$1/");
  if (path === "/") return "/";
  if (path.startsWith("/suivi/")) return FOLLOW_PAGE; // the same page for every reference
  if (path === "/config.js" || path.startsWith("/static/")) return path;
  if (path.startsWith("/vendor/leaflet")) return path;
  if (path === "/api/v1/categories" || path === "/api/v1/quartiers") return path;
  if (path.startsWith("/api/v1/reports/") && path !== "/api/v1/reports/nearby") return path; // public views
  if (path.startsWith("/media/")) return path; // public photos: kept for offline use while still public
  return null;
}

async function networkFirst(request, key) {
  const cache = await caches.open(CACHE);
  const network = fetch(request).then((response) => {
    if (response.ok) cache.put(key, response.clone()).catch(() => {});
    // gone or no longer public (a hidden photo): the cached copy goes too
    if (response.status === 404) cache.delete(key).catch(() => {});
    return response;
  });
  try {
    const answer = await Promise.race([network, new Promise((resolve) => setTimeout(resolve, SLOW_NETWORK_MS))]);
    if (answer) return answer;
  } catch {
    // no network: the cached copy below
  }
  return (await cache.match(key)) || network;
}

self.addEventListener("fetch", (event) => {
  const { request } = event;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (isTile(url)) {
    event.respondWith(tile(request));
    return;
  }
  const key = cacheKey(url);
  if (!key) return;
  event.respondWith(networkFirst(request, key));
});
