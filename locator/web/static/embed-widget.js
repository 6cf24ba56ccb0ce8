/* The widget inside the iframe (/embed): clustered stations, popups with navigation links,
 * "near me", an optional list, and its height posted to the host page.
 *
 * The configuration is the JSON block #embed-config (CSP allows no inline script). Every
 * string from the data goes into the page with textContent or DOM properties, never as
 * HTML. No cookies: nothing here reads or writes cookies or web storage.
 *
 * On GCJ-02 tiles (Amap) every point is shifted to GCJ-02 before it is drawn, and every
 * point read from the map (a click) is shifted back to WGS-84 (LocatorMap, maptiles.js).
 */
(function () {
  "use strict";

  var config = JSON.parse(document.getElementById("embed-config").textContent);
  var T = config.text;
  var PAGE = 10;

  (config.warnings || []).forEach(function (w) {
    console.warn("[locator embed] ignored " + w.param + "=" + JSON.stringify(w.value) +
                 ": " + w.message);
  });

  var $ = function (id) { return document.getElementById(id); };
  var wrapper = $("embed");
  var statusBox = $("embed-status");
  var statusText = $("embed-status-text");
  var retry = $("embed-retry");
  var list = $("embed-results");
  var listTitle = $("embed-list-title");
  var more = $("embed-more");

  var state = {
    features: [],
    markers: {},     // facility id -> marker
    origin: null,    // {lon, lat, label} in WGS-84
    shown: PAGE,
    clicked: null    // the last map click, in WGS-84 [lon, lat] (for tests)
  };

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }

  function fmt(template, values) {
    return template.replace(/\{(\w+)\}/g, function (match, key) {
      return Object.prototype.hasOwnProperty.call(values, key) ? String(values[key]) : match;
    });
  }

  function setStatus(text, kind, canRetry) {
    statusText.textContent = text || "";
    statusBox.hidden = !text;
    statusBox.className = "embed-status" + (kind ? " is-" + kind : "");
    retry.hidden = !canRetry;
    postHeight();
  }

  // ---- datums ----------------------------------------------------------------------------
  var plane = window.LocatorMap.datum(config.tiles.datum);  // maptiles.js
  /** A WGS-84 point as a LatLng of the map (GCJ-02 on Amap tiles). */
  var toMap = plane.toMap;
  /** A LatLng of the map as WGS-84 [lon, lat]. */
  var fromMap = plane.fromMap;

  function metres(lon1, lat1, lon2, lat2) {
    var rad = Math.PI / 180;
    var h = Math.pow(Math.sin((lat2 - lat1) * rad / 2), 2) +
      Math.cos(lat1 * rad) * Math.cos(lat2 * rad) * Math.pow(Math.sin((lon2 - lon1) * rad / 2), 2);
    return 2 * 6371008.8 * Math.asin(Math.sqrt(Math.min(1, h)));
  }

  function distanceText(m) {
    if (m < 1000) { return fmt(T.m, {n: Math.max(10, Math.round(m / 10) * 10)}); }
    var km = m / 1000;
    return fmt(T.km, {n: km < 100 ? km.toFixed(1) : String(Math.round(km))});
  }

  // ---- the map ---------------------------------------------------------------------------
  var mapBox = $("embed-map");
  mapBox.style.height = config.height + "px";
  var map = L.map(mapBox, {maxZoom: 18, minZoom: 3, scrollWheelZoom: false});
  // Wheel zoom only once the map was used: scrolling the host page must not zoom it.
  map.once("click focus", function () { map.scrollWheelZoom.enable(); });
  map.attributionControl.setPrefix('<a href="https://leafletjs.com" target="_blank" ' +
                                   'rel="noopener">Leaflet</a>');
  map.attributionControl.addAttribution(config.attribution);
  L.control.scale({imperial: false}).addTo(map);
  if (config.center) {
    map.setView(toMap(config.center[0], config.center[1]), config.zoom || 13);
  } else {
    map.fitBounds(config.bounds);
  }

  function tilesNote() {
    mapBox.classList.add("tiles-unavailable");
    var note = L.control({position: "topright"});
    note.onAdd = function () { return el("div", "embed-tiles-note", T.tilesUnavailable); };
    note.addTo(map);
  }

  window.LocatorMap.addTiles(map, config.tiles, function (failed) {
    if (failed) { tilesNote(); } else { mapBox.classList.add("tiles-none"); }
  });

  var cluster = L.markerClusterGroup({maxClusterRadius: 40, showCoverageOnHover: false,
                                      spiderfyOnMaxZoom: true});
  cluster.addTo(map);
  var originMarker = null;

  // One icon per kind: a dot in the kind's colour (set through the DOM, CSP-safe).
  var DotIcon = L.DivIcon.extend({
    createIcon: function (oldIcon) {
      var div = L.DivIcon.prototype.createIcon.call(this, oldIcon);
      div.style.background = this.options.color;
      return div;
    }
  });
  var icons = {};
  function icon(kind) {
    if (!icons[kind]) {
      var info = config.kinds[kind] || config.kinds.other;
      icons[kind] = new DotIcon({className: "embed-marker kind-" + kind, html: false,
                                 color: info.color, iconSize: [18, 18], iconAnchor: [9, 9],
                                 popupAnchor: [0, -8]});
    }
    return icons[kind];
  }

  // ---- popups ----------------------------------------------------------------------------
  /** A URL template with __ID__ filled with a facility id (its / and : kept). */
  function pathUrl(template, id) {
    var path = String(id).split("/").map(function (part) {
      return encodeURIComponent(part).replace(/%3A/gi, ":");
    }).join("/");
    return template.replace("__ID__", path);
  }

  function link(className, text, href) {
    var a = el("a", className, text);
    a.href = href;
    a.target = "_blank";  // never navigate the iframe (or the host page) away
    a.rel = "noopener noreferrer";
    return a;
  }

  function fact(dl, term, value) {
    if (value === undefined || value === null || value === "") { return null; }
    var row = el("div", "popup-fact");
    row.appendChild(el("dt", null, term));
    var dd = el("dd");
    if (value instanceof Node) { dd.appendChild(value); } else { dd.textContent = String(value); }
    row.appendChild(dd);
    dl.appendChild(row);
    return dd;
  }

  // The popup shows at once what the marker knows (name, kind, status, distance); its
  // details and navigation links come from /embed/facility/<id> (cached by the browser).
  var details = {};  // facility id -> details, or a Promise while loading

  function loadDetails(id) {
    if (!details[id]) {
      details[id] = fetch(pathUrl(config.detailsUrl, id))
        .then(function (response) {
          if (!response.ok) { throw new Error("HTTP " + response.status); }
          return response.json();
        })
        .then(function (body) { details[id] = body; return body; },
              function (error) { delete details[id]; throw error; });
    }
    return Promise.resolve(details[id]);
  }

  /** 营业中 / 已打烊，7:00 开门 / 今日休息 / 暂停营业至 12月20日 (locator.hours.open_state_text). */
  function openText(p) {
    var W = config.openWording;
    var label = config.openStates[p.open] || p.open;
    if (!W) { return fmt(label, {date: p.closed_until || ""}); }
    if (p.open === "closed" && p.closed_today) { return config.openStates.closed_today; }
    if (p.open === "closed" && p.opens_at) {
      var hm = p.opens_at.slice(11, 16).split(":");
      var time = Number(hm[0]) + ":" + hm[1];
      if (p.opens_days > 1) {
        var d = p.opens_at.slice(0, 10).split("-").map(Number);
        time = W.weekdays[(new Date(Date.UTC(d[0], d[1] - 1, d[2])).getUTCDay() + 6) % 7] +
          " " + time;
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

  function fillDetails(box, p) {
    var tags = box.querySelector(".popup-tags");
    if (p.open) {
      tags.appendChild(el("span", "popup-open state-" + p.open, T.now + " " + openText(p)));
    }
    var dl = el("dl", "popup-facts");
    fact(dl, T.address, p.address);
    fact(dl, T.area, p.area);
    if (p.hours) { fact(dl, T.hours, p.hours === "24/7" ? T.allDay : p.hours); }
    if (p.phones && p.phones.length) {
      var phones = el("span", "popup-phones");
      p.phones.forEach(function (pair, index) {
        if (index) { phones.appendChild(document.createTextNode(" / ")); }
        if (pair[1]) {
          phones.appendChild(link("popup-phone", pair[0], pair[1]));
        } else {
          phones.appendChild(document.createTextNode(pair[0]));
        }
      });
      fact(dl, T.phone, phones);
    }
    if (p.amenities && p.amenities.length) {
      fact(dl, T.amenities, p.amenities.map(function (a) {
        return config.amenities[a] || a;
      }).join("、"));
    }
    if (typeof p.truck_parking === "number") { fact(dl, T.truckParking, p.truck_parking); }
    fact(dl, T.operator, p.operator);

    var nav = el("div", "popup-nav");
    nav.setAttribute("role", "group");
    nav.setAttribute("aria-label", T.navigate);
    (p.nav || []).forEach(function (pair) {
      var a = link("nav-link nav-" + pair[0], config.apps[pair[0]] || pair[0], pair[1]);
      a.dataset.app = pair[0];
      nav.appendChild(a);
    });
    var slot = box.querySelector(".popup-more");
    slot.textContent = "";
    slot.classList.remove("is-loading");
    if (dl.childNodes.length) { slot.appendChild(dl); }
    slot.appendChild(nav);
    box.dataset.state = "ready";
  }

  function popupContent(feature, marker) {
    var p = feature.properties;
    var id = String(feature.id);
    var lon = feature.geometry.coordinates[0], lat = feature.geometry.coordinates[1];
    var box = el("div", "embed-popup");
    box.dataset.facilityId = id;
    box.appendChild(el("h3", "popup-name", p.name));

    var tags = el("p", "popup-tags");
    var kind = el("span", "popup-kind");
    var swatch = el("span", "popup-swatch");
    swatch.style.background = (config.kinds[p.kind] || config.kinds.other).color;
    kind.appendChild(swatch);
    kind.appendChild(document.createTextNode((config.kinds[p.kind] || {}).label || p.kind));
    tags.appendChild(kind);
    tags.appendChild(el("span", "popup-status status-" + p.status,
                        config.statuses[p.status] || p.status));
    box.appendChild(tags);
    if (state.origin) {
      box.appendChild(el("p", "popup-distance",
                         distanceText(metres(state.origin.lon, state.origin.lat, lon, lat))));
    }
    box.appendChild(el("div", "popup-more is-loading", T.loading));
    box.appendChild(link("popup-details", T.details + " ↗", pathUrl(config.facilityUrl, id)));
    if (window.LocatorReport && config.report) {  // 纠错 inside the popup (report.js)
      LocatorReport.attach(box, id, {config: config.report, name: p.name, locate: true,
                                     onChange: function () {
                                       if (marker.isPopupOpen()) { marker.getPopup().update(); }
                                     }});
    }

    var known = details[id];
    if (known && !known.then) {
      fillDetails(box, known);
    } else {
      box.dataset.state = "loading";
      loadDetails(id).then(function (body) {
        fillDetails(box, body);
        if (marker.isPopupOpen()) { marker.getPopup().update(); }
      }, function () {
        box.dataset.state = "error";
        box.querySelector(".popup-more").textContent = T.loadFailed;
      });
    }
    return box;
  }

  // ---- the list --------------------------------------------------------------------------
  // The sides of a paired service area (same "place") are one item: the nearest side.
  function ordered() {
    var features = state.features.slice();
    if (state.origin) {
      var o = state.origin;
      features.forEach(function (f) {
        f._distance = metres(o.lon, o.lat, f.geometry.coordinates[0], f.geometry.coordinates[1]);
      });
      features.sort(function (a, b) { return a._distance - b._distance; });
    }
    var sides = {};
    features.forEach(function (f) {
      var place = f.properties.place;
      if (place) { sides[place] = (sides[place] || 0) + 1; }
    });
    var seen = {};
    return features.filter(function (f) {
      var place = f.properties.place;
      if (!place) { return true; }
      if (seen[place]) { return false; }
      seen[place] = true;
      f._sides = sides[place];
      return true;
    });
  }

  function focusFacility(id) {
    var marker = state.markers[id];
    if (!marker) { return; }
    cluster.zoomToShowLayer(marker, function () { marker.openPopup(); });
  }

  function renderList() {
    if (!list) { return; }
    var features = ordered();
    list.textContent = "";
    listTitle.textContent = state.origin ? fmt(T.nearest, {place: state.origin.label})
                                         : fmt(T.count, {n: features.length});
    if (!features.length) {
      list.appendChild(el("li", "embed-empty", T.noResults));
    }
    features.slice(0, state.shown).forEach(function (feature) {
      var p = feature.properties;
      var id = String(feature.id);
      var item = el("li", "embed-item");
      item.dataset.id = id;
      var button = el("button", "embed-item-main");
      button.type = "button";
      var dot = el("span", "embed-item-dot");
      dot.style.background = (config.kinds[p.kind] || config.kinds.other).color;
      dot.setAttribute("aria-hidden", "true");
      button.appendChild(dot);
      var body = el("span", "embed-item-body");
      body.appendChild(el("span", "embed-item-name", p.place_name || p.name));
      var meta = el("span", "embed-item-meta", (config.kinds[p.kind] || {}).label || p.kind);
      if (feature._sides > 1) { meta.textContent += " · " + T.bothDirections; }
      if (state.origin) { meta.textContent += " · " + distanceText(feature._distance); }
      body.appendChild(meta);
      button.appendChild(body);
      button.addEventListener("click", function () { focusFacility(id); });
      item.appendChild(button);
      list.appendChild(item);
    });
    more.hidden = features.length <= state.shown;
    postHeight();
  }

  if (more) {
    more.addEventListener("click", function () {
      state.shown += PAGE;
      renderList();
    });
  }

  // ---- near me and map clicks ------------------------------------------------------------
  function setOrigin(lon, lat, label) {
    state.origin = {lon: lon, lat: lat, label: label};
    if (originMarker) { map.removeLayer(originMarker); }
    originMarker = L.circleMarker(toMap(lon, lat), {radius: 8, color: "#fff", weight: 3,
      fillColor: "#1565c0", fillOpacity: 1, className: "embed-origin"});
    originMarker.bindTooltip(el("span", "embed-origin-tooltip",
                                label === T.myPosition ? T.youAreHere : label));
    originMarker.addTo(map);
    state.shown = PAGE;
    renderList();
  }

  function showNearest() {
    var nearest = ordered().slice(0, 3);
    var points = [toMap(state.origin.lon, state.origin.lat)];
    nearest.forEach(function (f) {
      points.push(toMap(f.geometry.coordinates[0], f.geometry.coordinates[1]));
    });
    map.fitBounds(L.latLngBounds(points), {padding: [30, 30], maxZoom: 14});
  }

  var NearMe = L.Control.extend({
    options: {position: "topleft"},
    onAdd: function () {
      var box = L.DomUtil.create("div", "leaflet-bar embed-near-me");
      var button = el("button", "embed-near-me-button", T.nearMe);
      button.type = "button";
      button.id = "embed-near-me";
      L.DomEvent.disableClickPropagation(box);
      button.addEventListener("click", function () { locate(button); });
      box.appendChild(button);
      return box;
    }
  });
  map.addControl(new NearMe());

  function locate(button) {
    if (!("geolocation" in navigator)) {
      setStatus(T.geoUnsupported, "error");
      return;
    }
    setStatus(T.locating, "loading");
    button.disabled = true;
    navigator.geolocation.getCurrentPosition(function (position) {
      button.disabled = false;
      setStatus("");
      setOrigin(position.coords.longitude, position.coords.latitude, T.myPosition);
      showNearest();
    }, function (error) {
      button.disabled = false;
      setStatus({1: T.geoDenied, 2: T.geoUnavailable}[error.code] || T.geoUnavailable, "error");
    }, {enableHighAccuracy: true, timeout: 15000, maximumAge: 60000});
  }

  map.on("click", function (event) {
    var wgs = fromMap(event.latlng);  // GCJ-02 on Amap tiles -> WGS-84 before any distance
    state.clicked = wgs;
    setOrigin(wgs[0], wgs[1], T.mapPoint);
  });

  // ---- data ------------------------------------------------------------------------------
  function show(body) {
    state.features = body.features || [];
    cluster.clearLayers();
    state.markers = {};
    var markers = state.features.map(function (feature) {
      var p = feature.properties;
      var c = feature.geometry.coordinates;
      var marker = L.marker(toMap(c[0], c[1]), {icon: icon(p.kind), title: p.name,
                                                alt: p.name, riseOnHover: true});
      marker.bindPopup(function () { return popupContent(feature, marker); },
                       {maxWidth: 300, minWidth: 200, autoPanPadding: [12, 12]});
      state.markers[String(feature.id)] = marker;
      return marker;
    });
    cluster.addLayers(markers);
    if (!state.features.length) {
      setStatus(T.noResults);
    } else if (body.numberMatched > state.features.length) {
      setStatus(fmt(T.truncated, {n: state.features.length}));
    } else {
      setStatus("");
    }
    if (!config.center && markers.length) {
      // At once, not animated: a popup asked for right away must find the map at rest.
      map.fitBounds(cluster.getBounds(), {padding: [20, 20], maxZoom: 13, animate: false});
      if (config.zoom) { map.setZoom(config.zoom, {animate: false}); }
    }
    renderList();
    wrapper.dataset.state = "ready";
    window.requestAnimationFrame(function () {
      if (window.performance && performance.mark) { performance.mark("locator:markers"); }
    });
    if (config.focus) { focusFacility(config.focus); }
  }

  function load() {
    wrapper.dataset.state = "loading";
    setStatus(T.loading, "loading");
    fetch(config.dataUrl)
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      })
      .then(show)
      .catch(function (error) {
        wrapper.dataset.state = "error";
        setStatus(T.loadFailed, "error", true);
        console.warn("[locator embed] " + error);
      });
  }

  retry.addEventListener("click", load);

  // ---- height for the host page ----------------------------------------------------------
  // Posted when the ResizeObserver sees a change, and directly after each change made
  // here: Chromium pauses rendering (and so the observer) in cross-origin frames that are
  // scrolled out of view, but not scripts.
  var lastHeight = -1;
  function postHeight() {
    if (!config.id || window.parent === window) { return; }
    var height = Math.ceil(wrapper.getBoundingClientRect().height);
    if (height === lastHeight) { return; }
    lastHeight = height;
    // Only a height leaves the frame; the loader checks this frame's origin and window.
    window.parent.postMessage({type: "locator:height", id: config.id, height: height}, "*");
  }
  if ("ResizeObserver" in window) {
    new ResizeObserver(postHeight).observe(wrapper);
  } else {
    window.addEventListener("resize", postHeight);
    setInterval(postHeight, 500);
  }
  postHeight();

  window.locatorEmbed = {  // for tests and debugging in the browser
    map: map, cluster: cluster, datum: config.tiles.datum,
    markers: function () { return state.markers; },
    toMap: toMap, fromMap: fromMap,
    ids: function () { return state.features.map(function (f) { return String(f.id); }); },
    origin: function () { return state.origin; },
    clicked: function () { return state.clicked; }
  };
  load();
})();
