/* A facility's page: the small map of the spot, sharing and printing.
 *
 * The facility's name goes into the page as text (textContent), never as HTML.
 */
(function () {
  "use strict";

  var config = JSON.parse(document.getElementById("config").textContent);
  var T = config.text;

  function textNode(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    node.textContent = String(text);
    return node;
  }

  // ---- the map -------------------------------------------------------------------------
  var box = document.getElementById("facility-map");
  if (box && window.L) {
    var at = LocatorMap.datum(config.tiles.datum).toMap(config.lon, config.lat);
    var map = L.map(box, {scrollWheelZoom: false, dragging: !L.Browser.mobile, maxZoom: 18})
      .setView(at, 15);
    map.attributionControl.setPrefix('<a href="https://leafletjs.com">Leaflet</a>');
    map.attributionControl.addAttribution(config.attribution);
    LocatorMap.addTiles(map, config.tiles, function () {
      box.classList.add("tiles-unavailable");
      var control = L.control({position: "topright"});
      control.onAdd = function () {
        return textNode("div", "tiles-note", T.tilesUnavailable);
      };
      control.addTo(map);
    });
    L.circleMarker(at, {radius: 11, color: "#fff", weight: 3, fillColor: config.color,
                        fillOpacity: 1})
      .bindTooltip(textNode("span", "facility-tooltip", config.name), {permanent: false})
      .addTo(map);
    window.locatorFacilityMap = map;  // for tests
  }

  // ---- share and print -----------------------------------------------------------------
  var shareNote = document.getElementById("share-note");

  function say(text) { shareNote.textContent = text; }

  function showLink() {
    say(T.copyFailed + " ");
    var field = document.createElement("input");
    field.type = "text";
    field.readOnly = true;
    field.className = "share-url";
    field.value = config.url;
    shareNote.appendChild(field);
    field.focus();
    field.select();
  }

  document.getElementById("share").addEventListener("click", function () {
    var data = {title: config.name, text: config.name, url: config.url};
    var copy = function () {
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(config.url).then(function () { say(T.copied); }, showLink);
      } else {
        showLink();
      }
    };
    if (navigator.share) {
      navigator.share(data).catch(function (error) {
        if (!error || error.name !== "AbortError") { copy(); }
      });
    } else {
      copy();
    }
  });

  document.getElementById("print").addEventListener("click", function () { window.print(); });

  // ---- report a problem (纠错, report.js) -------------------------------------------------
  var reportBox = document.getElementById("report-section");
  if (reportBox && window.LocatorReport && config.report) {
    reportBox.hidden = false;
    // "Not at this spot": the pin is a tap on the small map (in the map's datum, read back
    // to WGS-84); this page may not ask for the phone's position.
    var pickPoint = !map ? null : function (onPoint) {
      var plane = LocatorMap.datum(config.tiles.datum);
      var pin = null;
      function onClick(event) {
        if (pin) {
          pin.setLatLng(event.latlng);
        } else {
          pin = L.circleMarker(event.latlng, {radius: 9, color: "#fff", weight: 3,
                                              fillColor: "#e65100", fillOpacity: 1,
                                              className: "report-pin-marker"}).addTo(map);
        }
        onPoint(plane.fromMap(event.latlng));
      }
      map.on("click", onClick);
      box.classList.add("is-picking");
      return function () {
        map.off("click", onClick);
        box.classList.remove("is-picking");
        if (pin) { map.removeLayer(pin); }
      };
    };
    LocatorReport.attach(reportBox, config.id, {config: config.report, name: config.name,
                                                pickPoint: pickPoint});
  }
})();
