/* The driver's page: nearest stations by position, place search, filters, saved results.
 *
 * Every string that comes from the API is put into the page with textContent or other
 * DOM properties, never as HTML. The configuration (endpoints, labels, texts) comes from
 * the JSON block #config that the server renders.
 */
(function () {
  "use strict";

  var config = JSON.parse(document.getElementById("config").textContent);
  var T = config.text;
  var STORE_KEY = "locator.driver.v1";
  var FETCH_TIMEOUT_MS = 20000;

  var state = {
    origin: null,        // {lon, lat} in WGS-84
    originLabel: "",
    kind: "",            // "" = places to stop (the API's default), a kind, or "any"
    amenities: [],
    openNow: false,
    noData: "",          // "no shower information for nearby stations", or ""
    focusId: null,       // a facility to open once results are in
    request: null,       // AbortController of the nearest request in flight
    suggest: null,       // AbortController of the place search in flight
    markers: {},         // facility id -> Leaflet marker
    items: {},           // facility id -> <li>
    suggestions: [],
    active: -1
  };

  var $ = function (id) { return document.getElementById(id); };
  var statusBox = $("status");
  var statusText = $("status-text");
  var retryButton = $("retry");
  var nearMe = $("near-me");
  var list = $("results");
  var title = $("results-title");
  var input = $("place-search");
  var box = $("suggestions");
  var kindFilter = $("kind-filter");

  function fmt(template, values) {
    return template.replace(/\{(\w+)\}/g, function (match, key) {
      return Object.prototype.hasOwnProperty.call(values, key) ? String(values[key]) : match;
    });
  }

  /** 营业中 / 已打烊，7:00 开门 / 今日休息 / 暂停营业至 12月20日 (locator.hours.open_state_text). */
  function openText(p, open) {
    var W = config.openWording;
    var label = config.openStates[open] || open;
    if (!W) { return fmt(label, {date: p.closed_until || ""}); }
    if (open === "closed" && p.closed_today) { return config.openStates.closed_today; }
    if (open === "closed" && p.opens_at) {
      var hm = p.opens_at.slice(11, 16).split(":");
      var time = Number(hm[0]) + ":" + hm[1];
      if (p.opens_days > 1) {
        var d = p.opens_at.slice(0, 10).split("-").map(Number);
        var weekday = (new Date(Date.UTC(d[0], d[1] - 1, d[2])).getUTCDay() + 6) % 7;
        time = W.weekdays[weekday] + " " + time;
      }
      return fmt(W.opensAt, {time: time});
    }
    var date = "";
    if (p.closed_until) {
      var ymd = p.closed_until.split("-").map(Number);
      date = fmt(W.date, {m: ymd[1], d: ymd[2], month: W.months[ymd[1] - 1]});
    }
    return fmt(label, {date: date});
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }

  function setStatus(text, kind, retry) {
    statusText.textContent = text;
    statusBox.className = "status" + (kind ? " status-" + kind : "");
    retryButton.hidden = !retry;
  }

  function facilityUrl(id) {
    var path = String(id).split("/").map(function (part) {
      return encodeURIComponent(part).replace(/%3A/gi, ":");
    }).join("/");
    return config.facilityUrl.replace("__ID__", path);
  }

  function distanceText(metres) {
    if (metres < 1000) {
      return fmt(T.m, {n: Math.max(10, Math.round(metres / 10) * 10)});
    }
    var km = metres / 1000;
    return fmt(T.km, {n: km < 100 ? km.toFixed(1) : String(Math.round(km))});
  }

  // ---- the map -------------------------------------------------------------------------
  var map = L.map("driver-map", {zoomControl: true, attributionControl: true, maxZoom: 18});
  map.fitBounds(config.bounds);
  map.attributionControl.setPrefix('<a href="https://leafletjs.com">Leaflet</a>');
  map.attributionControl.addAttribution(config.attribution);
  L.control.scale({imperial: false}).addTo(map);
  window.locatorDriverMap = map;  // for tests and for debugging in the browser
  window.locatorDriver = {map: map, datum: config.tiles.datum,
                          markers: function () { return state.markers; }};
  var plane = LocatorMap.datum(config.tiles.datum);  // GCJ-02 on Amap tiles
  var toMap = plane.toMap;

  function tilesNote() {
    map.getContainer().classList.add("tiles-unavailable");
    var note = L.control({position: "topright"});
    note.onAdd = function () { return el("div", "tiles-note", T.tilesUnavailable); };
    note.addTo(map);
  }

  LocatorMap.addTiles(map, config.tiles, tilesNote);

  var cluster = L.markerClusterGroup({maxClusterRadius: 30, showCoverageOnHover: false,
                                      spiderfyOnMaxZoom: true});
  cluster.addTo(map);
  var originMarker = null;

  function showOrigin() {
    if (originMarker) { map.removeLayer(originMarker); }
    if (!state.origin) { return; }
    originMarker = L.circleMarker(toMap(state.origin.lon, state.origin.lat), {
      radius: 9, color: "#fff", weight: 3, fillColor: "#1565c0", fillOpacity: 1,
      className: "origin-marker"});
    var label = state.originLabel === T.myPosition ? T.youAreHere : state.originLabel;
    originMarker.bindTooltip(el("span", "origin-tooltip", label));
    originMarker.addTo(map);
  }

  // Black or white, whichever reads better on a kind's colour (WCAG contrast).
  function ink(hex) {
    var rgb = [1, 3, 5].map(function (i) {
      var c = parseInt(hex.slice(i, i + 2), 16) / 255;
      return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
    });
    var luminance = 0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2];
    return 1.05 / (luminance + 0.05) >= (luminance + 0.05) / 0.05 ? "#fff" : "#000";
  }

  function markerIcon(rank, kind) {
    var dot = el("span", "result-dot", rank);
    var color = (config.kinds[kind] || config.kinds.other).color;
    dot.style.background = color;
    dot.style.color = ink(color);
    return L.divIcon({html: dot, className: "result-marker kind-" + kind,
                      iconSize: [30, 30], iconAnchor: [15, 15], popupAnchor: [0, -12]});
  }

  function popupContent(feature) {
    var p = feature.properties;
    var wrap = el("div", "result-popup");
    wrap.appendChild(el("strong", "popup-name", p.name));
    var kind = config.kinds[p.kind] ? config.kinds[p.kind].label : p.kind;
    wrap.appendChild(el("div", "popup-meta", kind + " · " + distanceText(p.distance_m)));
    var link = el("a", "popup-link", T.details);
    link.href = facilityUrl(feature.id);
    wrap.appendChild(link);
    return wrap;
  }

  map.on("click", function (event) {
    closeSuggestions();
    var wgs = plane.fromMap(event.latlng);  // GCJ-02 on Amap tiles -> WGS-84
    setOrigin(wgs[0], wgs[1], T.mapPoint);
    loadNearest();
  });

  // ---- results -------------------------------------------------------------------------
  function highlight(id, scroll) {
    Object.keys(state.items).forEach(function (key) {
      state.items[key].classList.toggle("is-active", key === id);
    });
    var item = state.items[id];
    if (item && scroll) {
      item.scrollIntoView({block: "nearest", behavior: "smooth"});
    }
  }

  function openOnMap(id) {
    var marker = state.markers[id];
    if (!marker) { return; }
    highlight(id, false);
    cluster.zoomToShowLayer(marker, function () {
      map.panTo(marker.getLatLng());
      marker.openPopup();
    });
  }

  // A paired service area: "both directions", or which side matches ("east side only").
  function sidesText(p) {
    if (p.serves === "both") { return T.bothDirections; }
    if (p.serves === "one_side" && (p.direction || p.side)) {
      return fmt(T.oneSide, {side: p.direction || config.sides[p.side] || p.side});
    }
    return "";
  }

  // What the chosen amenities lack nearby: no station near has any amenity data.
  function noDataText(body) {
    var data = body.amenity_data;
    if (!state.amenities.length || !data || data.with_data !== 0 || !data.nearby) { return ""; }
    var labels = state.amenities.map(function (key) {
      var text = config.amenities[key] || key;
      return config.lang === "zh" ? text : text.toLowerCase();
    });
    return fmt(T.noAmenityData, {amenities: labels.join(config.lang === "zh" ? "、" : ", ")});
  }

  function render(features, savedAt) {
    cluster.clearLayers();
    list.textContent = "";
    state.markers = {};
    state.items = {};
    title.hidden = false;
    title.textContent = fmt(T.resultsNear, {place: state.originLabel});
    showOrigin();
    if (!features.length) {
      list.appendChild(el("li", "result-empty" + (state.noData ? " is-no-data" : ""),
                          state.noData || T.noResults));
    }
    var bounds = state.origin ? [toMap(state.origin.lon, state.origin.lat)] : [];
    features.forEach(function (feature, index) {
      var p = feature.properties;
      var id = String(feature.id);
      var rank = index + 1;
      var lon = feature.geometry.coordinates[0], lat = feature.geometry.coordinates[1];
      var kind = config.kinds[p.kind] || config.kinds.other;

      var item = el("li", "result");
      item.dataset.id = id;
      var main = el("button", "result-main");
      main.type = "button";
      var badge = el("span", "result-rank", rank);
      badge.style.background = kind.color;
      badge.style.color = ink(kind.color);
      badge.setAttribute("aria-hidden", "true");
      main.appendChild(badge);
      var body = el("span", "result-body");
      var name = el("span", "result-name", p.name);
      if (p.name_derived) { name.title = T.derivedName; }
      body.appendChild(name);
      var meta = el("span", "result-meta");
      meta.appendChild(el("span", "result-kind", kind.label));
      var sides = sidesText(p);
      if (sides) { meta.appendChild(el("span", "result-sides", sides)); }
      meta.appendChild(el("span", "result-distance", distanceText(p.distance_m)));
      if (typeof p.drive_minutes_estimate === "number") {
        var minutes = el("span", "result-minutes",
                         fmt(T.minutes, {n: Math.max(1, Math.round(p.drive_minutes_estimate))}));
        minutes.title = T.estimate;
        meta.appendChild(minutes);
      }
      body.appendChild(meta);
      main.appendChild(body);
      var open = p.open_state || "unknown";
      main.appendChild(el("span", "result-open state-" + open, openText(p, open)));
      main.addEventListener("click", function () { openOnMap(id); });
      item.appendChild(main);
      var link = el("a", "result-link", T.details);
      link.href = facilityUrl(id);
      link.setAttribute("aria-label", T.details + ": " + p.name);
      item.appendChild(link);
      if (window.LocatorReport && config.report) {  // 纠错: the form opens below (report.js)
        LocatorReport.attach(item, id, {config: config.report, name: p.name, locate: true});
      }
      list.appendChild(item);
      state.items[id] = item;

      var marker = L.marker(toMap(lon, lat), {icon: markerIcon(rank, p.kind), title: p.name,
                                         alt: p.name, riseOnHover: true});
      marker.bindPopup(popupContent(feature), {maxWidth: 260, autoPanPaddingTopLeft: [56, 10],
                                               autoPanPaddingBottomRight: [10, 30]});
      marker.on("click", function () { highlight(id, true); });
      cluster.addLayer(marker);
      state.markers[id] = marker;
      bounds.push(toMap(lon, lat));
    });
    if (savedAt) {
      showSavedStatus(savedAt);
      list.classList.add("is-saved");
    } else {
      list.classList.remove("is-saved");
    }
    if (bounds.length > 1) {
      map.fitBounds(bounds.slice(0, 6), {padding: [30, 30], maxZoom: 15});
    } else if (bounds.length === 1) {
      map.setView(bounds[0], Math.max(map.getZoom(), 12));
    }
    if (state.focusId && state.markers[state.focusId]) {
      openOnMap(state.focusId);
    }
    state.focusId = null;
  }

  // ---- saved results (for a poor signal) ------------------------------------------------
  // Marked with their age, "离线 · 3 分钟前的结果 · 12/3 08:30" (offline.js), kept up to date.
  var savedTimer = null;

  function showSavedStatus(savedAt) {
    var when = new Date(savedAt).toLocaleString(config.lang === "zh" ? "zh-CN" : "en",
      {month: "numeric", day: "numeric", hour: "2-digit", minute: "2-digit"});
    var note = function () {
      var age = window.LocatorOffline ? LocatorOffline.resultsNote(savedAt) : T.loadFailed;
      setStatus(age + " · " + when, "saved", true);
    };
    note();
    clearInterval(savedTimer);
    savedTimer = setInterval(function () {
      if (statusBox.classList.contains("status-saved")) { note(); } else { clearInterval(savedTimer); }
    }, 30000);
  }

  function save(features) {
    try {
      localStorage.setItem(STORE_KEY, JSON.stringify({
        savedAt: Date.now(), origin: state.origin, originLabel: state.originLabel,
        kind: state.kind, amenities: state.amenities, openNow: state.openNow,
        noData: state.noData, features: features}));
    } catch (error) { /* private mode or full: nothing saved */ }
  }

  function saved() {
    try {
      var data = JSON.parse(localStorage.getItem(STORE_KEY) || "null");
      return data && Array.isArray(data.features) ? data : null;
    } catch (error) {
      return null;
    }
  }

  function showSaved() {
    var data = saved();
    if (!data) { return false; }
    state.origin = data.origin;
    state.originLabel = data.originLabel || "";
    state.noData = data.noData || "";
    render(data.features, data.savedAt);
    return true;
  }

  // ---- loading -------------------------------------------------------------------------
  function setOrigin(lon, lat, label) {
    state.origin = {lon: lon, lat: lat};
    state.originLabel = label;
  }

  function busy(on) {
    list.setAttribute("aria-busy", on ? "true" : "false");
    document.body.classList.toggle("is-loading", on);
  }

  function loadNearest() {
    if (!state.origin) {
      setStatus(T.start);
      return;
    }
    if (state.request) { state.request.abort(); }
    var controller = new AbortController();
    state.request = controller;
    var timer = setTimeout(function () { controller.abort(); }, FETCH_TIMEOUT_MS);
    var params = new URLSearchParams({lon: state.origin.lon.toFixed(6),
                                      lat: state.origin.lat.toFixed(6), k: String(config.k)});
    if (state.kind) { params.set("kind", state.kind); }
    if (state.amenities.length) { params.set("amenity", state.amenities.join(",")); }
    if (state.openNow) { params.set("open_now", "true"); }
    busy(true);
    setStatus(T.loading, "loading");
    fetch(config.api.nearest + "?" + params.toString(),
          {signal: controller.signal, headers: {Accept: "application/geo+json"}})
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      })
      .then(function (body) {
        if (state.request !== controller) { return; }
        var features = body.features || [];
        state.noData = noDataText(body);
        save(features);
        setStatus(state.noData || (features.length ? "" : T.noResults), state.noData ? "info" : "");
        render(features, null);
      })
      .catch(function () {
        if (state.request !== controller) { return; }  // replaced by a newer request
        if (!showSaved()) {
          setStatus(T.loadFailed, "error", true);
        }
      })
      .then(function () {
        clearTimeout(timer);
        if (state.request === controller) {
          state.request = null;
          busy(false);
        }
      });
  }

  retryButton.addEventListener("click", function () {
    if (!state.origin) {
      var data = saved();
      if (data) { state.origin = data.origin; state.originLabel = data.originLabel; }
    }
    loadNearest();
  });

  // ---- near me -------------------------------------------------------------------------
  nearMe.addEventListener("click", function () {
    closeSuggestions();
    if (!("geolocation" in navigator)) {
      setStatus(T.geoUnsupported, "error");
      return;
    }
    setStatus(T.locating, "loading");
    nearMe.disabled = true;
    navigator.geolocation.getCurrentPosition(function (position) {
      nearMe.disabled = false;
      setOrigin(position.coords.longitude, position.coords.latitude, T.myPosition);
      loadNearest();
    }, function (error) {
      nearMe.disabled = false;
      var message = {1: T.geoDenied, 2: T.geoUnavailable, 3: T.geoTimeout}[error.code];
      setStatus(message || T.geoUnavailable, "error");
    }, {enableHighAccuracy: true, timeout: 15000, maximumAge: 60000});
  });

  // ---- filters -------------------------------------------------------------------------
  kindFilter.addEventListener("change", function () {
    state.kind = kindFilter.value;
    kindFilter.classList.toggle("is-set", Boolean(state.kind));
    if (state.origin) { loadNearest(); }
  });

  Array.prototype.forEach.call(document.querySelectorAll(".chip"), function (chip) {
    chip.addEventListener("click", function () {
      var on = chip.getAttribute("aria-pressed") !== "true";
      chip.setAttribute("aria-pressed", on ? "true" : "false");
      if (chip.dataset.openNow) {
        state.openNow = on;
      } else {
        var key = chip.dataset.amenity;
        state.amenities = state.amenities.filter(function (a) { return a !== key; });
        if (on) { state.amenities.push(key); }
      }
      if (state.origin) { loadNearest(); }
    });
  });

  // ---- place search --------------------------------------------------------------------
  var debounce = null;

  function closeSuggestions() {
    box.hidden = true;
    box.textContent = "";
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
    state.active = -1;
  }

  function setActive(index) {
    var options = box.querySelectorAll("[role=option]");
    if (!options.length) { return; }
    state.active = (index + options.length) % options.length;
    Array.prototype.forEach.call(options, function (option, i) {
      option.setAttribute("aria-selected", i === state.active ? "true" : "false");
    });
    input.setAttribute("aria-activedescendant", options[state.active].id);
  }

  function showSuggestions(features) {
    box.textContent = "";
    state.suggestions = features;
    state.active = -1;
    if (!features.length) {
      box.appendChild(el("li", "suggestion-empty", T.noSuggestions));
    }
    features.forEach(function (feature, index) {
      var p = feature.properties;
      var option = el("li", "suggestion");
      option.id = "suggestion-" + index;
      option.setAttribute("role", "option");
      option.setAttribute("aria-selected", "false");
      option.appendChild(el("span", "suggestion-name", p.name));
      var context = p.context || "";
      if (p.approximate) { context += (context ? " · " : "") + T.approximate; }
      if (context) { option.appendChild(el("span", "suggestion-context", context)); }
      option.addEventListener("click", function () { choose(feature); });
      box.appendChild(option);
    });
    box.hidden = false;
    input.setAttribute("aria-expanded", "true");
  }

  function searchPlaces(text, then) {
    if (state.suggest) { state.suggest.abort(); }
    var controller = new AbortController();
    state.suggest = controller;
    var params = new URLSearchParams({q: text, limit: "8"});
    fetch(config.api.places + "?" + params.toString(), {signal: controller.signal})
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      })
      .then(function (body) {
        if (state.suggest !== controller) { return; }
        state.suggest = null;
        showSuggestions(body.features || []);
        if (then) { then(body.features || []); }
      })
      .catch(function (error) {
        if (error.name === "AbortError") { return; }
        state.suggest = null;
        setStatus(T.searchFailed, "error");
      });
  }

  var ZOOM = {city: 10, county: 12, township: 14, facility: 15};

  function choose(feature) {
    var p = feature.properties;
    var lon = feature.geometry.coordinates[0], lat = feature.geometry.coordinates[1];
    closeSuggestions();
    input.value = p.name;
    if (feature.bbox && p.level !== "facility") {
      map.fitBounds([toMap(feature.bbox[0], feature.bbox[1]),
                     toMap(feature.bbox[2], feature.bbox[3])]);
    } else {
      map.setView(toMap(lon, lat), ZOOM[p.level] || 13);
    }
    state.focusId = p.level === "facility" ? String(p.facility_id) : null;
    setOrigin(lon, lat, p.name);
    loadNearest();
  }

  input.addEventListener("input", function () {
    clearTimeout(debounce);
    var text = input.value.trim();
    if (!text) {
      closeSuggestions();
      return;
    }
    debounce = setTimeout(function () { searchPlaces(text.slice(0, 50)); }, 250);
  });

  input.addEventListener("keydown", function (event) {
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      setActive(state.active + (event.key === "ArrowDown" ? 1 : -1));
    } else if (event.key === "Escape") {
      closeSuggestions();
    }
  });

  $("search-form").addEventListener("submit", function (event) {
    event.preventDefault();
    clearTimeout(debounce);
    var text = input.value.trim();
    if (!text) { return; }
    if (!box.hidden && state.suggestions.length) {
      choose(state.suggestions[Math.max(0, state.active)]);
      return;
    }
    searchPlaces(text.slice(0, 50), function (features) {
      if (features.length) { choose(features[0]); }
    });
  });

  document.addEventListener("click", function (event) {
    if (!$("search-form").contains(event.target)) { closeSuggestions(); }
  });

  // Offline when the page opens (the service worker's copy): show what was found last time.
  if (navigator.onLine === false || (window.LocatorOffline && LocatorOffline.pageSavedAt)) {
    showSaved();
  }
})();
