/* Tiles and datums for the Leaflet pages (driver page, facility page, embed widget).
 *
 * Data are WGS-84. On tiles drawn in GCJ-02 (Amap) every point is shifted to GCJ-02
 * before it is drawn, and every point read from the map (a click) is shifted back
 * (LocatorCRS, chinacrs.js, which must be loaded first).
 *
 * LocatorMap.datum(name)       -> {toMap(lon, lat) -> L.LatLng, fromMap(latlng) -> [lon, lat]}
 * LocatorMap.addTiles(map, tiles, onUnavailable)
 *     tiles = {datum, layers: [{url, subdomains, attribution}, ...]} (base first); adds
 *     them, and calls onUnavailable() when there are none or the base layer's tiles
 *     cannot be reached (then the layers are removed rather than left grey).
 */
(function (root) {
  "use strict";

  var GIVE_UP_AFTER = 4;  // failed base tiles, with none loaded

  function datum(name) {
    var gcj = name === "gcj02";
    return {
      gcj: gcj,
      toMap: function (lon, lat) {
        if (gcj) {
          var g = root.LocatorCRS.wgs84ToGcj02(lon, lat);
          return L.latLng(g[1], g[0]);
        }
        return L.latLng(lat, lon);
      },
      fromMap: function (latlng) {
        if (gcj) { return root.LocatorCRS.gcj02ToWgs84(latlng.lng, latlng.lat); }
        return [latlng.lng, latlng.lat];
      }
    };
  }

  function addTiles(map, tiles, onUnavailable) {
    var layers = (tiles && tiles.layers || []).map(function (layer) {
      return L.tileLayer(layer.url, {subdomains: layer.subdomains || "abc",
                                     attribution: layer.attribution, maxZoom: 18});
    });
    if (!layers.length) {
      onUnavailable(false);
      return layers;
    }
    var loaded = 0, failed = 0, gaveUp = false;
    layers[0].on("tileload", function () { loaded += 1; });
    layers[0].on("tileerror", function () {
      failed += 1;
      if (gaveUp || loaded > 0 || failed < GIVE_UP_AFTER) { return; }
      gaveUp = true;  // blocked or unreachable: say so instead of grey squares
      layers.forEach(function (layer) { map.removeLayer(layer); });
      onUnavailable(true);
    });
    layers.forEach(function (layer) { layer.addTo(map); });
    return layers;
  }

  root.LocatorMap = {datum: datum, addTiles: addTiles};
})(window);
