/* WGS-84 <-> GCJ-02 ("Mars coordinates" of Amap/Tencent tiles), the same formulas and
 * order of operations as locator/crs.py, so both give the same numbers (tested to 1e-9°).
 *
 * LocatorCRS.wgs84ToGcj02(lon, lat) -> [lon, lat]
 * LocatorCRS.gcj02ToWgs84(lon, lat) -> [lon, lat]  (fixed-point iteration to 1e-11°)
 * LocatorCRS.outOfChina(lon, lat)   -> true outside the box where GCJ-02 applies
 */
(function (root) {
  "use strict";

  var A = 6378245.0;                    // Krasovsky 1940 semi-major axis
  var EE = 0.00669342162296594323;      // and its eccentricity squared
  var PI = Math.PI;
  var LON_MIN = 72.004, LON_MAX = 137.8347, LAT_MIN = 0.8293, LAT_MAX = 55.8271;
  var TOL = 1e-11, MAX_ITER = 30;

  function inBox(lon, lat) {
    return lon >= LON_MIN && lon <= LON_MAX && lat >= LAT_MIN && lat <= LAT_MAX;
  }

  // The GCJ-02 shift in degrees at a WGS-84 position (crs._gcj_offset).
  function offset(lon, lat) {
    var x = lon - 105.0;
    var y = lat - 35.0;
    var sqrtAbsX = Math.sqrt(Math.abs(x));
    var common = (20.0 * Math.sin(6.0 * x * PI) + 20.0 * Math.sin(2.0 * x * PI)) * 2.0 / 3.0;

    var dLat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sqrtAbsX;
    dLat += common;
    dLat += (20.0 * Math.sin(y * PI) + 40.0 * Math.sin(y / 3.0 * PI)) * 2.0 / 3.0;
    dLat += (160.0 * Math.sin(y / 12.0 * PI) + 320.0 * Math.sin(y * PI / 30.0)) * 2.0 / 3.0;

    var dLon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sqrtAbsX;
    dLon += common;
    dLon += (20.0 * Math.sin(x * PI) + 40.0 * Math.sin(x / 3.0 * PI)) * 2.0 / 3.0;
    dLon += (150.0 * Math.sin(x / 12.0 * PI) + 300.0 * Math.sin(x / 30.0 * PI)) * 2.0 / 3.0;

    var radLat = lat / 180.0 * PI;
    var s = Math.sin(radLat);
    var magic = 1.0 - EE * (s * s);
    var sqrtMagic = Math.sqrt(magic);
    dLat = (dLat * 180.0) / ((A * (1.0 - EE)) / (magic * sqrtMagic) * PI);
    dLon = (dLon * 180.0) / (A / sqrtMagic * Math.cos(radLat) * PI);
    return [dLon, dLat];
  }

  function wgs84ToGcj02(lon, lat) {
    if (!inBox(lon, lat)) { return [lon, lat]; }
    var d = offset(lon, lat);
    return [lon + d[0], lat + d[1]];
  }

  function gcj02ToWgs84(lon, lat) {
    if (!inBox(lon, lat)) { return [lon, lat]; }
    // Start from the one-step estimate, then x <- x - (forward(x) - target).
    var d = offset(lon, lat);
    var x = lon - d[0], y = lat - d[1];
    for (var i = 0; i < MAX_ITER; i += 1) {
      var f = offset(x, y);
      var rLon = (x + f[0]) - lon, rLat = (y + f[1]) - lat;
      x -= rLon;
      y -= rLat;
      if (!(Math.abs(rLon) > TOL || Math.abs(rLat) > TOL)) { break; }
    }
    return [x, y];
  }

  root.LocatorCRS = {
    wgs84ToGcj02: wgs84ToGcj02,
    gcj02ToWgs84: gcj02ToWgs84,
    outOfChina: function (lon, lat) { return !inBox(lon, lat); }
  };
})(window);
