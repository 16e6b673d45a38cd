/* Service worker of the C@p Géo field app (scope /terrain/). Version {{ version }}.
 *
 * - App shell (page, scripts, styles, OpenLayers, icons): cache "terrain-shell-<version>",
 *   filled on install; the page itself is fetched from the network first (fresh when online),
 *   from the cache when the network is off; static files come from the cache first.
 * - Map tiles (WMS GetMap of the platform): cache "terrain-tiles", filled by the app when the
 *   package is downloaded, read cache first; kept across app versions.
 * - The sync API is never cached: the app keeps its data in IndexedDB.
 */
const VERSION = "{{ version }}";
const SHELL_CACHE = "terrain-shell-" + VERSION;
const TILE_CACHE = "terrain-tiles";
const SHELL_URLS = {{ shell_urls|safe }};
const APP_URL = {{ app_url|safe }};

self.addEventListener("install", (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(SHELL_CACHE);
    // One by one with the session cookie: the page needs it (no redirect to the login page).
    for (const url of SHELL_URLS) {
      const response = await fetch(url, {credentials: "same-origin", cache: "no-cache"});
      if (!response.ok || response.redirected) {
        throw new Error("Fichier de l'application indisponible : " + url);
      }
      await cache.put(url, response);
    }
    await self.skipWaiting();
  })());
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith("terrain-shell-") && name !== SHELL_CACHE) {
        await caches.delete(name);
      }
    }
    await self.clients.claim();
  })());
});

function isTile(url) {
  return url.pathname.endsWith("/ows") && url.searchParams.get("REQUEST") === "GetMap";
}

async function pageFromNetworkOrCache(request) {
  try {
    const response = await fetch(request);
    if (response.ok && !response.redirected) {
      const cache = await caches.open(SHELL_CACHE);
      await cache.put(APP_URL, response.clone());
    }
    return response;
  } catch (error) {
    const cached = await caches.match(APP_URL, {cacheName: SHELL_CACHE});
    if (cached) {
      return cached;
    }
    throw error;
  }
}

async function cacheFirst(request, cacheName, store) {
  const cached = await caches.match(request, {cacheName});
  if (cached) {
    return cached;
  }
  const response = await fetch(request);
  if (store && response.ok) {
    const cache = await caches.open(cacheName);
    await cache.put(request, response.clone());
  }
  return response;
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") {
    return;
  }
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) {
    return;
  }
  if (request.mode === "navigate" && url.pathname === APP_URL) {
    event.respondWith(pageFromNetworkOrCache(request));
  } else if (isTile(url)) {
    event.respondWith(cacheFirst(request, TILE_CACHE, true));
  } else if (SHELL_URLS.includes(url.pathname)) {
    event.respondWith(cacheFirst(request, SHELL_CACHE, false));
  }
});
