// Streamium's offline copy: a return visit starts from this device, with no network at all.
//
// assets/build/offline.json (tools/offline.py) lists every file the page fetches from its own
// origin and a version naming their contents. One cache holds one whole version. Online
// (navigator.onLine) the page loads as without a worker: the browser's HTTP cache starts it
// fastest (measured, docs/benchmarks.md). Offline every file comes from the current copy. A new
// version is fetched in full beside the old and becomes current only once complete, so an
// offline start never mixes a new snapshot with an old runtime. What is about money is never
// cached: the chain API (api/), the signalling (peerjs), the devnet's pages (explorer/).
// config.json is kept from the last time the network gave it.

const PREFIX = "streamium-";
const META = PREFIX + "meta";  // holds "current": the version the page is served from
const MANIFEST = "./assets/build/offline.json";
const LIVE = ["api/", "peerjs", "explorer/"];  // under the site's own path (scope)
const CONFIG = new URL("./config.json", self.registration.scope).href;

let known = null;  // the current version, once read (a worker lives across many requests)
async function current() {
  if (known === null) {
    const answer = await (await caches.open(META)).match("current");
    known = answer ? await answer.text() : null;
  }
  return known;
}
const opened = {};  // version -> its open cache
function copyOf(version) {
  opened[version] = opened[version] || caches.open(PREFIX + version);
  return opened[version];
}

async function copyVersion() {
  // The newest manifest, and that version's whole copy (from the HTTP cache where it can).
  const manifest = await (await fetch(MANIFEST, { cache: "no-store" })).json();
  if (manifest.version === await current()) return;
  const cache = await caches.open(PREFIX + manifest.version);
  await cache.addAll(manifest.files);
  const meta = await caches.open(META);
  const config = await fetch(CONFIG, { cache: "no-store" });
  if (config.ok) await meta.put(CONFIG, config);
  await meta.put("current", new Response(manifest.version));
  known = manifest.version;
  for (const name of await caches.keys()) {
    if (name !== META && name !== PREFIX + manifest.version) await caches.delete(name);
  }
}

let updating = null;
function update() {
  updating = updating || copyVersion().catch(() => {}).finally(() => { updating = null; });
  return updating;
}

self.addEventListener("install", (event) => {
  event.waitUntil(copyVersion());
  self.skipWaiting();
});

self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

async function fromCopy(request) {
  const version = await current();
  const cache = version && await copyOf(version);
  const url = new URL(request.url);
  const key = request.mode === "navigate" ? "./" : url.origin + url.pathname;
  return cache ? cache.match(key, { ignoreSearch: true }) : undefined;
}

async function config(request) {
  const meta = await caches.open(META);
  try {
    const answer = await fetch(request);
    if (answer.ok) await meta.put(CONFIG, answer.clone());
    return answer;
  } catch (offline) {
    const kept = await meta.match(CONFIG);
    if (!kept) throw offline;
    const headers = new Headers(kept.headers);
    headers.set("X-Streamium-Offline", "1");  // the page says it started offline
    return new Response(await kept.blob(), { status: 200, headers });
  }
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  const scope = new URL(self.registration.scope);
  const inside = url.origin === scope.origin && url.pathname.startsWith(scope.pathname);
  const live = inside && LIVE.some((p) => url.pathname.startsWith(scope.pathname + p));
  if (request.method !== "GET" || !inside || live) {
    return;  // the network, as without a service worker
  }
  if (url.origin + url.pathname === CONFIG) {
    event.respondWith(config(request));
    return;
  }
  if (self.navigator.onLine) {  // online: left to the browser (its HTTP cache starts fastest)
    if (request.mode === "navigate") event.waitUntil(update());  // a new version, for the copy
    return;
  }
  event.respondWith((async () => (await fromCopy(request)) || fetch(request))());
});
