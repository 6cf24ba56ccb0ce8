/* The installable, offline app on the driver's page and the station pages: registers the
 * service worker (/sw.js, see locator/web/offline.py), says how old a page or results kept
 * for offline use are, and offers "add to home screen" on the station pages.
 *
 * The configuration (worker URL, scope, texts) comes from the JSON block #offline-config.
 * A page the worker answered from its cache carries data-offline-saved-at on <html>.
 */
(function () {
  "use strict";

  var config = JSON.parse(document.getElementById("offline-config").textContent);
  var T = config.text;
  var savedAt = Number(document.documentElement.getAttribute("data-offline-saved-at")) || null;

  function fmt(template, values) {
    return template.replace(/\{(\w+)\}/g, function (match, key) {
      return Object.prototype.hasOwnProperty.call(values, key) ? String(values[key]) : match;
    });
  }

  /* "3 minutes ago" for a time in ms since the epoch. */
  function age(time) {
    var minutes = Math.floor(Math.max(0, Date.now() - time) / 60000);
    if (minutes < 1) { return T.justNow; }
    if (minutes < 60) { return minutes === 1 ? T.minute : fmt(T.minutes, {n: minutes}); }
    var hours = Math.floor(minutes / 60);
    if (hours < 48) { return hours === 1 ? T.hour : fmt(T.hours, {n: hours}); }
    var days = Math.floor(hours / 24);
    return fmt(T.days, {n: days});
  }

  window.LocatorOffline = {
    /** When the worker kept this page, if it was answered from its cache (else null). */
    pageSavedAt: savedAt,
    /** "Offline · results from 3 minutes ago" for results kept at ``time``. */
    resultsNote: function (time) { return fmt(T.results, {age: age(time)}); },
    /** "Offline · page saved 3 minutes ago" for a page kept at ``time``. */
    pageNote: function (time) { return fmt(T.page, {age: age(time)}); }
  };

  // ---- a station page answered from the cache says so, and how old it is ---------------
  var article = document.querySelector(".facility");
  if (savedAt && article) {
    var note = document.createElement("p");
    note.className = "offline-note";
    note.id = "offline-note";
    note.setAttribute("role", "status");
    var show = function () { note.textContent = window.LocatorOffline.pageNote(savedAt); };
    show();
    article.insertBefore(note, article.firstChild);
    setInterval(show, 30000);
  }

  // ---- the service worker --------------------------------------------------------------
  if ("serviceWorker" in navigator && window.isSecureContext) {
    var controlled = Boolean(navigator.serviceWorker.controller);
    navigator.serviceWorker.register(config.worker, {scope: config.scope}).catch(function () {
      /* no worker (private mode, storage full): the pages work online as before */
    });
    if (!controlled) {
      // Opened before the worker was there: ask it to keep this page (and its QR code).
      navigator.serviceWorker.ready.then(function (registration) {
        var urls = [location.href];
        var qr = document.querySelector(".qr img");
        if (qr) { urls.push(qr.src); }
        if (registration.active) { registration.active.postMessage({type: "keep", urls: urls}); }
      });
    }
  }

  // ---- add to home screen (station pages) ----------------------------------------------
  var install = document.getElementById("install");
  if (!install) { return; }
  var button = document.getElementById("install-button");
  var hint = document.getElementById("install-hint");
  var standalone = window.matchMedia && window.matchMedia("(display-mode: standalone)").matches;
  if (standalone || navigator.standalone) { return; }  // already opened as the app
  install.hidden = false;
  var prompt = null;
  window.addEventListener("beforeinstallprompt", function (event) {
    event.preventDefault();  // shown by our button, when the driver asks
    prompt = event;
    button.hidden = false;
    hint.hidden = true;
  });
  button.addEventListener("click", function () {
    if (!prompt) { return; }
    var asked = prompt;
    prompt = null;
    asked.prompt();
    Promise.resolve(asked.userChoice).then(function (choice) {
      if (choice && choice.outcome === "accepted") { install.hidden = true; }
    }, function () {}).then(function () {
      button.hidden = true;  // a prompt is given once; the hint stays for another time
      if (!install.hidden) { hint.hidden = false; }
    });
  });
  window.addEventListener("appinstalled", function () { install.hidden = true; });
})();
