/* The admin facility form: a map to set the location, the place line and the live
 * hours preview.
 *
 * One rule keeps the inputs and the datum select in agreement: a click on the map or a
 * drag of the marker fills the inputs in WGS-84 and sets the select to WGS-84 (on tiles
 * drawn in GCJ-02, Amap, the point is read back with LocatorMap, maptiles.js); typed or
 * pasted coordinates are read in the datum the select names, and the server
 * (config.api.place) gives their WGS-84 point, where the marker moves. Either way the
 * server says which city, county and township the point falls in and whether it lies in
 * the account's areas. The hours preview asks config.api.hours as the hours change.
 *
 * Every text from the server or the data reaches the page as text (textContent).
 */
(function () {
  "use strict";

  var config = JSON.parse(document.getElementById("picker-config").textContent);
  var T = config.text;
  var form = document.getElementById("facility-form");
  var lonInput = form.elements.lon, latInput = form.elements.lat, crsSelect = form.elements.crs;
  var hoursInput = form.elements.hours;
  var placeLine = document.getElementById("place-line");
  var hoursLine = document.getElementById("hours-preview");
  var box = document.getElementById("location-map");
  var pending = {place: 0, hours: 0};

  function debounce(fn, ms) {
    var timer = null;
    return function () {
      clearTimeout(timer);
      timer = setTimeout(fn, ms);
    };
  }

  // GET a JSON endpoint of the admin pages, in the page's language: {ok, body}.
  function getJSON(url, params) {
    var query = new URLSearchParams(params);
    query.set("lang", config.lang);
    return fetch(url + "?" + query.toString(), {
      credentials: "same-origin", headers: {Accept: "application/json"}
    }).then(function (response) {
      return response.json().then(function (body) { return {ok: response.ok, body: body}; });
    });
  }

  function errorText(got) {
    return got && got.body && got.body.error ? String(got.body.error.message) : T.failed;
  }

  // ---- the place line ------------------------------------------------------------------
  var placeAsked = 0;

  function lookUp(lon, lat, crs, moveMarker) {
    var mine = ++placeAsked;
    pending.place += 1;
    placeLine.classList.add("place-pending");
    if (!placeLine.textContent) { placeLine.textContent = T.looking; }
    var done = function () { pending.place -= 1; };
    getJSON(config.api.place, {lon: lon, lat: lat, crs: crs}).then(function (got) {
      done();
      if (mine !== placeAsked) { return; }
      placeLine.classList.remove("place-pending");
      if (!got.ok) {
        placeLine.textContent = errorText(got);
        placeLine.classList.add("place-outside");
        placeLine.dataset.field = got.body && got.body.error && got.body.error.field || "";
        return;
      }
      placeLine.textContent = String(got.body.text);
      placeLine.classList.toggle("place-outside", !got.body.inside);
      placeLine.dataset.field = "";
      if (moveMarker) { setMarker(got.body.lon, got.body.lat, true); }
    }, function () {
      done();
      if (mine !== placeAsked) { return; }
      placeLine.classList.remove("place-pending");
      placeLine.textContent = T.failed;
    });
  }

  // ---- the map -------------------------------------------------------------------------
  var plane = LocatorMap.datum(config.tiles.datum);  // GCJ-02 on Amap tiles
  var map = L.map(box, {maxZoom: 18, scrollWheelZoom: false});
  map.attributionControl.setPrefix('<a href="https://leafletjs.com">Leaflet</a>');
  map.attributionControl.addAttribution(config.attribution);
  if (config.point) {
    map.setView(plane.toMap(config.point[0], config.point[1]), 16);
  } else {
    var b = config.bounds;  // [[south, west], [north, east]] in WGS-84
    map.fitBounds([plane.toMap(b[0][1], b[0][0]), plane.toMap(b[1][1], b[1][0])]);
  }
  LocatorMap.addTiles(map, config.tiles, function () {
    box.classList.add("tiles-unavailable");
    var note = L.control({position: "topright"});
    note.onAdd = function () {
      var node = document.createElement("div");
      node.className = "tiles-note";
      node.textContent = T.tilesUnavailable;
      return node;
    };
    note.addTo(map);
  });

  var marker = null;

  function setMarker(lon, lat, pan) {
    var at = plane.toMap(lon, lat);
    if (marker === null) {
      marker = L.marker(at, {draggable: true, autoPan: true, title: T.marker, alt: T.marker})
        .addTo(map);
      marker.on("dragend", function () { pick(marker.getLatLng()); });
    } else {
      marker.setLatLng(at);
    }
    if (pan && !map.getBounds().contains(at)) { map.panTo(at); }
  }

  // A point of the map (in the tiles' datum): the inputs get its WGS-84 coordinates.
  function pick(latlng) {
    var wgs = plane.fromMap(latlng);
    lonInput.value = wgs[0].toFixed(7);
    latInput.value = wgs[1].toFixed(7);
    crsSelect.value = "wgs84";
    setMarker(wgs[0], wgs[1], false);
    lookUp(wgs[0], wgs[1], "wgs84", false);
  }

  map.on("click", function (event) { pick(event.latlng); });
  if (config.point) { setMarker(config.point[0], config.point[1], false); }

  // ---- typed or pasted coordinates -----------------------------------------------------
  var PAIR = /^\s*(-?\d+(?:\.\d+)?)\s*[,，\s]\s*(-?\d+(?:\.\d+)?)\s*$/;  // "117.46,31.88"

  var typed = debounce(function () {
    var lon = lonInput.value.trim(), lat = latInput.value.trim();
    if (!lon || !lat) { return; }
    lookUp(lon, lat, crsSelect.value, true);
  }, 300);

  lonInput.addEventListener("input", function () {
    var pair = PAIR.exec(lonInput.value);
    if (pair) {  // a "lon,lat" pair as map sites copy it, pasted into the longitude
      lonInput.value = pair[1];
      latInput.value = pair[2];
    }
    typed();
  });
  latInput.addEventListener("input", typed);
  crsSelect.addEventListener("change", typed);

  // ---- the hours preview ---------------------------------------------------------------
  var hoursAsked = 0;

  var preview = debounce(function () {
    var mine = ++hoursAsked;
    pending.hours += 1;
    hoursLine.classList.add("preview-pending");
    var done = function () { pending.hours -= 1; };
    getJSON(config.api.hours, {hours: hoursInput.value}).then(function (got) {
      done();
      if (mine !== hoursAsked) { return; }
      if (!got.ok) {
        hoursLine.className = "hours-preview hours-unreadable";
        hoursLine.textContent = errorText(got);
        return;
      }
      hoursLine.className = "hours-preview state-" + got.body.state +
        (got.body.readable === false ? " hours-unreadable" : "");
      hoursLine.textContent = String(got.body.text);
    }, function () {
      done();
      if (mine !== hoursAsked) { return; }
      hoursLine.className = "hours-preview";
      hoursLine.textContent = T.failed;
    });
  }, 400);
  if (hoursInput) { hoursInput.addEventListener("input", preview); }

  window.locatorAdminForm = {  // for tests
    map: map,
    datum: config.tiles.datum,
    marker: function () { return marker; },
    busy: function () { return pending.place + pending.hours > 0; }
  };
})();
