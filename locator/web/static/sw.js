/* The service worker: the driver's page, the station pages already visited and the files
 * they load open without a network.
 *
 * Served at /sw.js by locator.web.offline, which puts its configuration first:
 * self.LOCATOR_OFFLINE = {version, home, pages, assets, assetPrefixes, never, timeoutMs,
 * maxPages}.
 *
 * - Files under content-hashed names (/static/x.<digest>.js, /vendor/...): kept at install
 *   and answered from the cache (such a name always means the same bytes).
 * - The driver's page and the station pages (GET, same origin): from the network first,
 *   its answer kept when it may be (200, not "no-store": the app sends every answer that
 *   sets a cookie so; "private" ones, such as a QR code without a public address, are
 *   kept, as this cache is the driver's own); without a network (or after timeoutMs on a weak signal)
 *   the kept copy, its <html> marked data-offline-saved-at="<ms>", which the page shows.
 * - Everything else is not touched and nothing of it is kept: every request but GET
 *   (POST, PATCH, DELETE...), the API (the driver's page keeps its last results itself,
 *   in localStorage), /admin, /login, /logout, /map, /embed, other sites.
 */
"use strict";

var CONFIG = self.LOCATOR_OFFLINE;
var ASSETS = "locator-assets-" + CONFIG.version;
var PAGES = "locator-pages";
var SAVED_AT = "X-Locator-Saved-At";
var HASHED = /^(.+)\.[0-9a-f]{12}(\.[^./]+)$/;
var MATCH = {ignoreVary: true};

function noop() {}

function under(pathname, prefix) {
  return pathname === prefix || pathname.indexOf(prefix.replace(/\/$/, "") + "/") === 0;
}

function never(url) {
  return CONFIG.never.some(function (prefix) { return under(url.pathname, prefix); });
}

function isPage(url) {
  return url.pathname === CONFIG.home || url.pathname.indexOf(CONFIG.pages) === 0;
}

function isAsset(url) {
  return HASHED.test(url.pathname) && CONFIG.assetPrefixes.some(function (prefix) {
    return url.pathname.indexOf(prefix) === 0;
  });
}

function unhashed(href) {
  var url = new URL(href);
  return url.origin + url.pathname.replace(HASHED, "$1$2");
}

function pageKey(href) {
  var url = new URL(href, self.location.href);
  url.hash = "";
  return url.href;
}

/* Whether an answer may be kept: a whole answer of this site, not no-store ("private"
 * forbids shared caches only: this one is the driver's own). */
function storable(response) {
  if (!response || response.status !== 200 || response.type !== "basic") { return false; }
  var control = (response.headers.get("Cache-Control") || "").toLowerCase();
  return !/(^|[\s,])no-store([\s,=]|$)/.test(control);
}

/* Keep a page's answer with the time it was kept (the body decoded, so its headers lose
 * Content-Encoding and Content-Length); the oldest pages beyond maxPages go. */
function keepPage(key, response) {
  if (!storable(response)) { return Promise.resolve(false); }
  var headers = new Headers(response.headers);
  headers.set(SAVED_AT, String(Date.now()));
  headers.delete("Content-Encoding");
  headers.delete("Content-Length");
  return response.blob().then(function (body) {
    var copy = new Response(body, {status: response.status, statusText: response.statusText,
                                   headers: headers});
    return caches.open(PAGES).then(function (cache) {
      return cache.put(key, copy).then(function () { return trim(cache); });
    });
  }).then(function () { return true; });
}

function trim(cache) {
  return cache.keys().then(function (keys) {
    var home = pageKey(CONFIG.home);
    var extra = keys.filter(function (request) { return request.url !== home; });
    var gone = extra.slice(0, Math.max(0, extra.length - CONFIG.maxPages));
    return Promise.all(gone.map(function (request) { return cache.delete(request); }));
  });
}

/* A kept page, its <html> marked with the time it was kept; null when there is none. */
function savedPage(key) {
  return caches.open(PAGES).then(function (cache) {
    return cache.match(key, MATCH);
  }).then(function (response) {
    if (!response) { return null; }
    var savedAt = Number(response.headers.get(SAVED_AT)) || 0;
    var type = response.headers.get("Content-Type") || "";
    if (!savedAt || type.indexOf("text/html") !== 0) { return response; }
    return response.text().then(function (html) {
      var at = html.search(/<html[\s>]/i);
      if (at >= 0) {
        html = html.slice(0, at + 5) + ' data-offline-saved-at="' + savedAt + '"' +
          html.slice(at + 5);
      }
      return new Response(html, {status: response.status, statusText: response.statusText,
                                 headers: response.headers});
    });
  }).catch(function () { return null; });
}

/* The network first; the kept copy when the network fails, answers 5xx, or is slow. */
function page(event) {
  var key = pageKey(event.request.url);
  var copy = null;
  var network = fetch(event.request).then(function (response) {
    copy = response.clone();
    return response;
  });
  event.waitUntil(network.then(function () { return keepPage(key, copy); }).catch(noop));
  return new Promise(function (resolve) {
    var settled = false;
    function answer(response) {
      if (!settled && response) { settled = true; resolve(response); }
    }
    var timer = setTimeout(function () { savedPage(key).then(answer); }, CONFIG.timeoutMs);
    network.then(function (response) {
      clearTimeout(timer);
      if (response.status >= 500) {
        savedPage(key).then(function (saved) { answer(saved || response); });
      } else {
        answer(response);
      }
    }, function () {
      clearTimeout(timer);
      savedPage(key).then(function (saved) { answer(saved || Response.error()); });
    });
  });
}

/* A hashed file: from the cache, else the network (and kept). Offline, a file kept under
 * another digest of the same name serves a page that an older worker kept. */
function asset(request) {
  return caches.open(ASSETS).then(function (cache) {
    return cache.match(request, MATCH).then(function (hit) {
      if (hit) { return hit; }
      return fetch(request).then(function (response) {
        if (storable(response)) { cache.put(request, response.clone()).catch(noop); }
        return response;
      }, function () {
        return cache.keys().then(function (keys) {
          var name = unhashed(request.url);
          var same = keys.filter(function (kept) { return unhashed(kept.url) === name; })[0];
          return same ? cache.match(same, MATCH) : Response.error();
        });
      });
    });
  });
}

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(ASSETS).then(function (cache) {
    return cache.addAll(CONFIG.assets);
  }).then(function () {
    var home = pageKey(CONFIG.home);
    return fetch(home, {credentials: "same-origin"}).then(function (response) {
      return keepPage(home, response);
    }).catch(noop);
  }).then(function () {
    return self.skipWaiting();
  }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (name) {
      return name.indexOf("locator-assets-") === 0 && name !== ASSETS;
    }).map(function (name) { return caches.delete(name); }));
  }).then(function () {
    return self.clients.claim();
  }));
});

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") { return; }
  var url = new URL(request.url);
  if (url.origin !== self.location.origin || never(url)) { return; }
  if (isPage(url) && (request.mode === "navigate" || request.destination === "image")) {
    event.respondWith(page(event));
  } else if (isAsset(url)) {
    event.respondWith(asset(request));
  }
});

/* A page opened before this worker controlled it asks to be kept: {type: "keep", urls}. */
self.addEventListener("message", function (event) {
  var data = event.data || {};
  if (data.type !== "keep" || !Array.isArray(data.urls)) { return; }
  event.waitUntil(Promise.all(data.urls.slice(0, 4).map(function (href) {
    var url = new URL(String(href), self.location.href);
    if (url.origin !== self.location.origin || never(url) || !isPage(url)) { return null; }
    var key = pageKey(url.href);
    return caches.open(PAGES).then(function (cache) {
      return cache.match(key, MATCH);
    }).then(function (kept) {
      if (kept) { return null; }
      return fetch(key, {credentials: "same-origin"}).then(function (response) {
        return keepPage(key, response);
      });
    }).catch(noop);
  })));
});
