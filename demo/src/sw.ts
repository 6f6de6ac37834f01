// The service worker that makes the demo work offline: at install it stores every file of the page
// (the list and a version are written in by demo/scripts/build.mjs); afterwards it answers from that
// store first and goes to the network only for anything else. A new build has a new version, so
// its files replace the old ones when the new worker activates.
declare const PRECACHE: string[];
declare const CACHE_VERSION: string;

interface ExtendableEvent extends Event { waitUntil(p: Promise<unknown>): void }
interface FetchEvent extends ExtendableEvent { request: Request; respondWith(r: Promise<Response>): void }
const sw = globalThis as unknown as { skipWaiting(): Promise<void>; clients: { claim(): Promise<void> }; addEventListener(type: string, fn: (e: FetchEvent) => void): void };

const CACHE = `mulfree-demo-${CACHE_VERSION}`;

sw.addEventListener("install", (e) => {
  e.waitUntil(caches.open(CACHE).then((c) => c.addAll(PRECACHE)).then(() => sw.skipWaiting()));
});

sw.addEventListener("activate", (e) => {
  e.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith("mulfree-demo-") && k !== CACHE).map((k) => caches.delete(k))))
      .then(() => sw.clients.claim()),
  );
});

sw.addEventListener("fetch", (e) => {
  if (e.request.method !== "GET") return;
  // the stored responses keep their COOP/COEP headers, so the page stays cross-origin isolated offline
  e.respondWith(caches.open(CACHE).then(async (c) => (await c.match(e.request, { ignoreSearch: e.request.mode === "navigate" })) ?? fetch(e.request)));
});
