"""Coordinate datums used by Chinese web maps, and conversions between them.

Three datums matter for station coordinates in China:

``wgs84``
    WGS-84 (EPSG:4326), what GPS receivers, OpenStreetMap and most foreign
    services use.
``gcj02``
    GCJ-02, the "Mars coordinates" mandated for published maps in mainland
    China and used by Amap/Gaode, Tencent (QQ) maps and Google Maps in China.
    It is WGS-84 plus a deliberately obfuscated, position-dependent offset of a
    few hundred metres, computed with the Krasovsky 1940 ellipsoid
    (a = 6378245.0 m, e² = 0.00669342162296594323). Outside a rectangle roughly
    enclosing China (see :func:`out_of_china`) GCJ-02 equals WGS-84.
``bd09``
    BD-09 (``bd09ll``), Baidu maps: GCJ-02 plus a further small rotation and
    scaling (x_pi = pi * 3000 / 180) and a shift of about 0.0065°/0.006°.
    The BD-09 step is applied everywhere, as Baidu's public formula does.

The forward conversions (WGS-84 → GCJ-02 → BD-09) are the public closed
formulas. Their inverses have no closed form, so :func:`gcj02_to_wgs84` and
:func:`bd09_to_gcj02` solve ``forward(x) = target`` by fixed-point iteration
(``x <- x - (forward(x) - target)``), which converges to far below a millimetre.

Every conversion takes ``(lon, lat)``: Python scalars give a tuple of two
floats, sequences or numpy arrays give a tuple of two float64 arrays of the
broadcast shape. All work is vectorised with numpy.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from locator.errors import InvalidParameter

__all__ = [
    "CRS_NAMES",
    "EARTH_RADIUS_M",
    "bd09_to_gcj02",
    "bd09_to_wgs84",
    "from_wgs84",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "haversine_m",
    "normalize_crs",
    "out_of_china",
    "to_wgs84",
    "wgs84_to_bd09",
    "wgs84_to_gcj02",
]

CRS_NAMES = ("wgs84", "gcj02", "bd09")
"""Canonical datum names, as returned by :func:`normalize_crs`."""

EARTH_RADIUS_M = 6371008.8
"""Mean earth radius (IUGG R1) in metres, used by :func:`haversine_m`."""

# Krasovsky 1940 ellipsoid, as used by the GCJ-02 formula.
_A = 6378245.0
_EE = 0.00669342162296594323
# Baidu's constant.
_X_PI = math.pi * 3000.0 / 180.0

# The rectangle inside which GCJ-02 differs from WGS-84.
_LON_MIN, _LON_MAX = 72.004, 137.8347
_LAT_MIN, _LAT_MAX = 0.8293, 55.8271

# Inverse iterations: stop when the residual is below _TOL degrees (~1 µm).
_TOL = 1e-11
_MAX_ITER = 30

_ALIASES = {
    "wgs84": "wgs84",
    "wgs-84": "wgs84",
    "epsg:4326": "wgs84",
    "4326": "wgs84",
    "gps": "wgs84",
    "gcj02": "gcj02",
    "gcj-02": "gcj02",
    "amap": "gcj02",
    "gaode": "gcj02",
    "tencent": "gcj02",
    "qq": "gcj02",
    "mars": "gcj02",
    "bd09": "bd09",
    "bd-09": "bd09",
    "bd09ll": "bd09",
    "baidu": "bd09",
}

Pair = tuple[Any, Any]


# --------------------------------------------------------------------------- helpers


def _as_arrays(lon: Any, lat: Any) -> tuple[np.ndarray, np.ndarray, bool]:
    """Float64 copies of ``lon``/``lat`` broadcast together, and whether both were scalars."""
    lon_a = np.asarray(lon, dtype=np.float64)
    lat_a = np.asarray(lat, dtype=np.float64)
    scalar = lon_a.ndim == 0 and lat_a.ndim == 0
    lon_b, lat_b = np.broadcast_arrays(lon_a, lat_a)
    return np.array(lon_b, dtype=np.float64), np.array(lat_b, dtype=np.float64), scalar


def _result(lon: np.ndarray, lat: np.ndarray, scalar: bool) -> Pair:
    if scalar:
        return float(lon), float(lat)
    return lon, lat


def _apply(
    core: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]], lon: Any, lat: Any
) -> Pair:
    """Run an array-in/array-out conversion on scalars or arrays."""
    lon_a, lat_a, scalar = _as_arrays(lon, lat)
    with np.errstate(invalid="ignore"):  # NaN/inf in, NaN/inf out, without warnings
        out_lon, out_lat = core(lon_a, lat_a)
    return _result(out_lon, out_lat, scalar)


def _in_box(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    return (lon >= _LON_MIN) & (lon <= _LON_MAX) & (lat >= _LAT_MIN) & (lat <= _LAT_MAX)


def _gcj_offset(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The GCJ-02 shift (degrees) at a WGS-84 position, ignoring the China rectangle."""
    x = lon - 105.0
    y = lat - 35.0
    sqrt_abs_x = np.sqrt(np.abs(x))
    common = (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0

    d_lat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sqrt_abs_x
    d_lat += common
    d_lat += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    d_lat += (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0

    d_lon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sqrt_abs_x
    d_lon += common
    d_lon += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    d_lon += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0

    rad_lat = lat / 180.0 * np.pi
    magic = 1.0 - _EE * np.sin(rad_lat) ** 2
    sqrt_magic = np.sqrt(magic)
    d_lat = (d_lat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrt_magic) * np.pi)
    d_lon = (d_lon * 180.0) / (_A / sqrt_magic * np.cos(rad_lat) * np.pi)
    return d_lon, d_lat


def _bd_forward(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 -> BD-09, the closed formula."""
    z = np.hypot(lon, lat) + 0.00002 * np.sin(lat * _X_PI)
    theta = np.arctan2(lat, lon) + 0.000003 * np.cos(lon * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def _bd_inverse_closed(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """BD-09 -> GCJ-02, the published approximate closed formula (start value only)."""
    x = lon - 0.0065
    y = lat - 0.006
    z = np.hypot(x, y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta), z * np.sin(theta)


def _solve(
    forward: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]],
    target_lon: np.ndarray,
    target_lat: np.ndarray,
    start_lon: np.ndarray,
    start_lat: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Solve ``forward(x) = target`` by ``x <- x - (forward(x) - target)``, vectorised.

    Only points whose residual is still above the tolerance are recomputed, and
    the loop is bounded by ``_MAX_ITER`` (the map is a strong contraction, so a
    handful of rounds suffice in practice).
    """
    shape = start_lon.shape
    lon = start_lon.astype(np.float64).reshape(-1)
    lat = start_lat.astype(np.float64).reshape(-1)
    t_lon, t_lat = target_lon.reshape(-1), target_lat.reshape(-1)
    idx = np.flatnonzero(np.isfinite(lon) & np.isfinite(lat))
    for _ in range(_MAX_ITER):
        if idx.size == 0:
            break
        f_lon, f_lat = forward(lon[idx], lat[idx])
        r_lon = f_lon - t_lon[idx]
        r_lat = f_lat - t_lat[idx]
        lon[idx] -= r_lon
        lat[idx] -= r_lat
        idx = idx[(np.abs(r_lon) > _TOL) | (np.abs(r_lat) > _TOL)]
    return lon.reshape(shape), lat.reshape(shape)


# --------------------------------------------------------------------------- public API


def out_of_china(lon: Any, lat: Any) -> Any:
    """Whether a position lies outside the rectangle where GCJ-02 applies.

    The rectangle is lon 72.004..137.8347, lat 0.8293..55.8271 (bounds
    included, i.e. inside). It is a coarse box, not China's border.

    Parameters
    ----------
    lon, lat : float or array_like
        Longitude and latitude in degrees.

    Returns
    -------
    bool or numpy.ndarray of bool
        ``True`` where the point is outside the box (NaN counts as outside).
    """
    lon_a, lat_a, scalar = _as_arrays(lon, lat)
    outside = ~_in_box(lon_a, lat_a)
    return bool(outside) if scalar else outside


def _wgs84_to_gcj02_arr(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    inside = _in_box(lon, lat)
    d_lon, d_lat = _gcj_offset(lon[inside], lat[inside])
    lon[inside] += d_lon
    lat[inside] += d_lat
    return lon, lat


def _gcj02_to_wgs84_arr(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    inside = _in_box(lon, lat)
    g_lon, g_lat = lon[inside], lat[inside]

    def forward(w_lon: np.ndarray, w_lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        d_lon, d_lat = _gcj_offset(w_lon, w_lat)
        return w_lon + d_lon, w_lat + d_lat

    # Start from the one-step estimate: subtract the offset taken at the GCJ-02 point.
    d_lon, d_lat = _gcj_offset(g_lon, g_lat)
    lon[inside], lat[inside] = _solve(forward, g_lon, g_lat, g_lon - d_lon, g_lat - d_lat)
    return lon, lat


def _bd09_to_gcj02_arr(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    start_lon, start_lat = _bd_inverse_closed(lon, lat)
    return _solve(_bd_forward, lon, lat, start_lon, start_lat)


def wgs84_to_gcj02(lon: Any, lat: Any) -> Pair:
    """Convert WGS-84 to GCJ-02 (Amap/Gaode, Tencent).

    Parameters
    ----------
    lon, lat : float or array_like
        WGS-84 longitude and latitude in degrees.

    Returns
    -------
    tuple
        GCJ-02 ``(lon, lat)``: floats for scalar input, float64 arrays otherwise.
        Points outside the :func:`out_of_china` rectangle are returned unchanged.
    """
    return _apply(_wgs84_to_gcj02_arr, lon, lat)


def gcj02_to_wgs84(lon: Any, lat: Any) -> Pair:
    """Convert GCJ-02 to WGS-84 by iterating the forward formula.

    ``wgs84_to_gcj02(result)`` matches the input to 1e-11 degrees (about a
    micrometre). Points outside the :func:`out_of_china` rectangle are unchanged.

    Parameters
    ----------
    lon, lat : float or array_like
        GCJ-02 longitude and latitude in degrees.

    Returns
    -------
    tuple
        WGS-84 ``(lon, lat)``: floats for scalar input, float64 arrays otherwise.
    """
    return _apply(_gcj02_to_wgs84_arr, lon, lat)


def gcj02_to_bd09(lon: Any, lat: Any) -> Pair:
    """Convert GCJ-02 to BD-09 (Baidu).

    Parameters
    ----------
    lon, lat : float or array_like
        GCJ-02 longitude and latitude in degrees.

    Returns
    -------
    tuple
        BD-09 ``(lon, lat)``: floats for scalar input, float64 arrays otherwise.
    """
    return _apply(_bd_forward, lon, lat)


def bd09_to_gcj02(lon: Any, lat: Any) -> Pair:
    """Convert BD-09 to GCJ-02.

    Starts from Baidu's published closed-form inverse, which is off by up to
    about 0.25 m, and refines it until ``gcj02_to_bd09(result)`` matches the
    input to 1e-11 degrees.

    Parameters
    ----------
    lon, lat : float or array_like
        BD-09 longitude and latitude in degrees.

    Returns
    -------
    tuple
        GCJ-02 ``(lon, lat)``: floats for scalar input, float64 arrays otherwise.
    """
    return _apply(_bd09_to_gcj02_arr, lon, lat)


def wgs84_to_bd09(lon: Any, lat: Any) -> Pair:
    """Convert WGS-84 to BD-09, through GCJ-02.

    Parameters
    ----------
    lon, lat : float or array_like
        WGS-84 longitude and latitude in degrees.

    Returns
    -------
    tuple
        BD-09 ``(lon, lat)``: floats for scalar input, float64 arrays otherwise.
    """
    return _apply(lambda x, y: _bd_forward(*_wgs84_to_gcj02_arr(x, y)), lon, lat)


def bd09_to_wgs84(lon: Any, lat: Any) -> Pair:
    """Convert BD-09 to WGS-84, through GCJ-02 (both steps iterative inverses).

    Parameters
    ----------
    lon, lat : float or array_like
        BD-09 longitude and latitude in degrees.

    Returns
    -------
    tuple
        WGS-84 ``(lon, lat)``: floats for scalar input, float64 arrays otherwise.
    """
    return _apply(lambda x, y: _gcj02_to_wgs84_arr(*_bd09_to_gcj02_arr(x, y)), lon, lat)


def normalize_crs(name: str | None) -> str:
    """Canonical datum name for a user-supplied CRS name or alias.

    Parameters
    ----------
    name : str or None
        Case-insensitive name: ``wgs84``/``wgs-84``/``epsg:4326``/``4326``/``gps``,
        ``gcj02``/``gcj-02``/``amap``/``gaode``/``tencent``/``qq``/``mars``, or
        ``bd09``/``bd-09``/``bd09ll``/``baidu``. ``None`` or blank means WGS-84.

    Returns
    -------
    str
        One of :data:`CRS_NAMES`.

    Raises
    ------
    locator.errors.InvalidParameter
        For an unknown name, with ``field="crs"``.
    """
    if name is None:
        return "wgs84"
    if not isinstance(name, str):
        raise InvalidParameter(f"crs must be a string, one of {', '.join(CRS_NAMES)}", field="crs")
    key = name.strip().lower()
    if not key:
        return "wgs84"
    try:
        return _ALIASES[key]
    except KeyError:
        raise InvalidParameter(
            f"unknown crs {name!r}: accepted values are {', '.join(CRS_NAMES)} "
            f"(aliases: {', '.join(sorted(k for k in _ALIASES if k not in CRS_NAMES))})",
            field="crs",
        ) from None


def _unchanged(lon: Any, lat: Any) -> Pair:
    return _apply(lambda x, y: (x, y), lon, lat)


_TO_WGS84 = {"wgs84": _unchanged, "gcj02": gcj02_to_wgs84, "bd09": bd09_to_wgs84}
_FROM_WGS84 = {"wgs84": _unchanged, "gcj02": wgs84_to_gcj02, "bd09": wgs84_to_bd09}


def to_wgs84(lon: Any, lat: Any, crs: str | None) -> Pair:
    """Convert a position in datum ``crs`` to WGS-84.

    Parameters
    ----------
    lon, lat : float or array_like
        Longitude and latitude in degrees, in datum ``crs``.
    crs : str or None
        Any name accepted by :func:`normalize_crs`.

    Returns
    -------
    tuple
        WGS-84 ``(lon, lat)``: floats for scalar input, float64 arrays otherwise.
    """
    return _TO_WGS84[normalize_crs(crs)](lon, lat)


def from_wgs84(lon: Any, lat: Any, crs: str | None) -> Pair:
    """Convert a WGS-84 position to datum ``crs``.

    Parameters
    ----------
    lon, lat : float or array_like
        WGS-84 longitude and latitude in degrees.
    crs : str or None
        Target datum, any name accepted by :func:`normalize_crs`.

    Returns
    -------
    tuple
        ``(lon, lat)`` in ``crs``: floats for scalar input, float64 arrays otherwise.
    """
    return _FROM_WGS84[normalize_crs(crs)](lon, lat)


def haversine_m(lon1: Any, lat1: Any, lon2: Any, lat2: Any) -> Any:
    """Great-circle distance in metres on a sphere of radius 6371008.8 m.

    Parameters
    ----------
    lon1, lat1, lon2, lat2 : float or array_like
        Positions in degrees; arrays broadcast against each other.

    Returns
    -------
    float or numpy.ndarray
        Distance in metres: a float if all inputs are scalars.
    """
    args = [np.asarray(v, dtype=np.float64) for v in (lon1, lat1, lon2, lat2)]
    scalar = all(a.ndim == 0 for a in args)
    lam1, phi1, lam2, phi2 = (np.radians(a) for a in args)
    with np.errstate(invalid="ignore"):
        h = (
            np.sin((phi2 - phi1) / 2.0) ** 2
            + np.cos(phi1) * np.cos(phi2) * np.sin((lam2 - lam1) / 2.0) ** 2
        )
        dist = 2.0 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))
    return float(dist) if scalar else dist
