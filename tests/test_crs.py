"""Tests of locator.crs: WGS-84 / GCJ-02 / BD-09 conversions, CRS names, haversine."""

from __future__ import annotations

import math

import numpy as np
import pytest
from pyproj import Geod

from locator import crs
from locator.errors import InvalidParameter

# --------------------------------------------------------------------------- published pairs
#
# Each pair comes from a public coordinate-transform project, cited next to it.
# Tolerances follow the source's precision:
#  * values printed with full double precision by an implementation of the public
#    formula: 1e-8 degrees;
#  * values given to 7 or 8 decimals: 1e-7 degrees;
#  * hujiulong/gcoord's city fixtures are real map-service coordinates; their GCJ-02
#    sits a consistent ~0.7 m (about 5e-6 degrees) from the public formula, so the
#    WGS-84 <-> GCJ-02 step is checked to 1e-5 degrees (~1 m), while their GCJ-02 ->
#    BD-09 step agrees with the formula to rounding (2e-7 degrees).

# (wgs_lon, wgs_lat, gcj_lon, gcj_lat, tolerance in degrees)
WGS_TO_GCJ = [
    # googollee/eviltransform, python/test.py (also go/transform_test.go): shanghai
    pytest.param(121.5272106, 31.1774276, 121.531541859215, 31.17530398364597, 1e-8, id="shanghai"),
    # googollee/eviltransform, python/test.py: shenzhen
    pytest.param(113.912316, 22.543847, 113.9171764808363, 22.540796131694766, 1e-8, id="shenzhen"),
    # googollee/eviltransform, python/test.py: beijing
    pytest.param(116.377817, 39.911954, 116.38404722455657, 39.91334545536069, 1e-8, id="beijing"),
    # wandergis/coordtransform, test/app.js: wgs84togcj02(116.404, 39.915)
    pytest.param(116.404, 39.915, 116.41024449916938, 39.91640428150164, 1e-8, id="wandergis"),
    # hujiulong/gcoord, test/unit/crs/WGS84.spec.ts: WGS84 to GCJ02 [123, 45] (8 decimals)
    pytest.param(123.0, 45.0, 123.00607541, 45.00197815, 1e-7, id="gcoord-123-45"),
]

# hujiulong/gcoord, test/fixtures/china-cities.json: WGS84, GCJ02 and BD09 of city centres.
# name: ((wgs lon, lat), (gcj lon, lat), (bd lon, lat))
GCOORD_CITIES = {
    # 安徽省 合肥市 蜀山区
    "hefei": ((117.221733, 31.8225875), (117.2272241, 31.8205971), (117.2336662, 31.8268776)),
    # 安徽省 铜陵市
    "tongling": ((117.8059091, 30.9477988), (117.8112693, 30.9455211), (117.8177498, 30.9515411)),
    # 安徽省 马鞍山市 雨山区
    "maanshan": ((118.5015613, 31.672428), (118.5067651, 31.6704563), (118.513345, 31.6761203)),
    # 上海市 黄浦区
    "shanghai": ((121.4691633, 31.2323443), (121.4737061, 31.2304194), (121.4802435, 31.2363541)),
    # 西藏自治区 拉萨市 城关区
    "lhasa": ((91.1706414, 29.655277), (91.1721167, 29.6524954), (91.1786184, 29.6585294)),
    # 海南省 三亚市
    "sanya": ((109.507813, 18.2545417), (109.5119135, 18.2528524), (109.5184703, 18.2585878)),
    # 黑龙江省 大兴安岭地区 塔河县
    "daxinganling": (
        (124.7038236, 52.3338635),
        (124.7115324, 52.3352664),
        (124.7180582, 52.3412419),
    ),
}
CITY_IDS = list(GCOORD_CITIES)
SERVICE_TOL = 1e-5  # map-service GCJ-02 vs the public formula, see above
ROUNDING_TOL = 2e-7  # both sides rounded to 7 decimals


@pytest.mark.parametrize("w_lon, w_lat, g_lon, g_lat, tol", WGS_TO_GCJ)
def test_wgs84_to_gcj02_matches_published_pairs(w_lon, w_lat, g_lon, g_lat, tol):
    lon, lat = crs.wgs84_to_gcj02(w_lon, w_lat)
    assert lon == pytest.approx(g_lon, abs=tol)
    assert lat == pytest.approx(g_lat, abs=tol)


@pytest.mark.parametrize("w_lon, w_lat, g_lon, g_lat, tol", WGS_TO_GCJ)
def test_gcj02_to_wgs84_inverts_published_pairs(w_lon, w_lat, g_lon, g_lat, tol):
    lon, lat = crs.gcj02_to_wgs84(g_lon, g_lat)
    # the iterative inverse is exact, so the error is the source's rounding only
    assert crs.haversine_m(lon, lat, w_lon, w_lat) < 0.05
    assert lon == pytest.approx(w_lon, abs=2 * tol)
    assert lat == pytest.approx(w_lat, abs=2 * tol)


def test_gcj02_to_bd09_matches_wandergis():
    # wandergis/coordtransform, test/app.js: gcj02tobd09(116.404, 39.915)
    lon, lat = crs.gcj02_to_bd09(116.404, 39.915)
    assert lon == pytest.approx(116.41036949371029, abs=1e-8)
    assert lat == pytest.approx(39.92133699351021, abs=1e-8)
    back = crs.bd09_to_gcj02(116.41036949371029, 39.92133699351021)
    assert back == pytest.approx((116.404, 39.915), abs=1e-9)


def test_bd09_to_gcj02_vs_wandergis_closed_form():
    # wandergis/coordtransform, test/app.js: bd09togcj02(116.404, 39.915) gives
    # [116.39762729119315, 39.90865673957631] with the closed-form approximation.
    # That formula is exact to about 0.05 m here; ours is the exact inverse.
    lon, lat = crs.bd09_to_gcj02(116.404, 39.915)
    assert lon == pytest.approx(116.39762729119315, abs=1e-6)
    assert lat == pytest.approx(39.90865673957631, abs=1e-6)
    assert crs.haversine_m(lon, lat, 116.39762729119315, 39.90865673957631) < 0.1
    # ... and ours maps forward onto the input exactly, the closed form does not.
    assert crs.gcj02_to_bd09(lon, lat) == pytest.approx((116.404, 39.915), abs=1e-10)
    fwd = crs.gcj02_to_bd09(116.39762729119315, 39.90865673957631)
    assert crs.haversine_m(*fwd, 116.404, 39.915) > 0.01


def test_wgs84_to_bd09_matches_gcoord():
    # hujiulong/gcoord, test/unit/crs/WGS84.spec.ts: WGS84 to BD09 [123, 45] (7 decimals)
    lon, lat = crs.wgs84_to_bd09(123.0, 45.0)
    assert lon == pytest.approx(123.0124491, abs=1e-7)
    assert lat == pytest.approx(45.0083293, abs=1e-7)


@pytest.mark.parametrize("city", CITY_IDS)
def test_gcoord_city_fixtures(city):
    (w_lon, w_lat), (g_lon, g_lat), (b_lon, b_lat) = GCOORD_CITIES[city]

    assert crs.wgs84_to_gcj02(w_lon, w_lat) == pytest.approx((g_lon, g_lat), abs=SERVICE_TOL)
    assert crs.gcj02_to_wgs84(g_lon, g_lat) == pytest.approx((w_lon, w_lat), abs=SERVICE_TOL)
    assert crs.haversine_m(*crs.gcj02_to_wgs84(g_lon, g_lat), w_lon, w_lat) < 1.0

    assert crs.gcj02_to_bd09(g_lon, g_lat) == pytest.approx((b_lon, b_lat), abs=ROUNDING_TOL)
    assert crs.bd09_to_gcj02(b_lon, b_lat) == pytest.approx((g_lon, g_lat), abs=ROUNDING_TOL)

    assert crs.wgs84_to_bd09(w_lon, w_lat) == pytest.approx((b_lon, b_lat), abs=SERVICE_TOL)
    assert crs.bd09_to_wgs84(b_lon, b_lat) == pytest.approx((w_lon, w_lat), abs=SERVICE_TOL)


def test_gcoord_cities_vectorised_equals_scalar():
    wgs = np.array([c[0] for c in GCOORD_CITIES.values()])
    lon, lat = crs.wgs84_to_bd09(wgs[:, 0], wgs[:, 1])
    for i, (w_lon, w_lat) in enumerate(wgs):
        assert (lon[i], lat[i]) == crs.wgs84_to_bd09(float(w_lon), float(w_lat))


# --------------------------------------------------------------------------- round trips

N_RANDOM = 20_000


@pytest.fixture(scope="module")
def china_points():
    """Random WGS-84 points over mainland China and Hainan (fixed seed)."""
    rng = np.random.default_rng(20240601)
    lon = rng.uniform(73.5, 135.0, N_RANDOM)
    lat = rng.uniform(18.0, 53.5, N_RANDOM)
    return lon, lat


def test_round_trip_wgs84_gcj02_wgs84(china_points):
    lon, lat = china_points
    g_lon, g_lat = crs.wgs84_to_gcj02(lon, lat)
    w_lon, w_lat = crs.gcj02_to_wgs84(g_lon, g_lat)
    assert crs.haversine_m(lon, lat, w_lon, w_lat).max() < 0.5
    # the iteration goes much further than the requirement
    assert np.abs(w_lon - lon).max() < 1e-9
    assert np.abs(w_lat - lat).max() < 1e-9


def test_round_trip_wgs84_bd09_wgs84(china_points):
    lon, lat = china_points
    b_lon, b_lat = crs.wgs84_to_bd09(lon, lat)
    w_lon, w_lat = crs.bd09_to_wgs84(b_lon, b_lat)
    assert crs.haversine_m(lon, lat, w_lon, w_lat).max() < 0.5
    assert np.abs(w_lon - lon).max() < 1e-9
    assert np.abs(w_lat - lat).max() < 1e-9


def test_round_trip_gcj02_wgs84_gcj02(china_points):
    # reuse the random points as GCJ-02 input: the inverse must hit them exactly
    lon, lat = china_points
    w_lon, w_lat = crs.gcj02_to_wgs84(lon, lat)
    g_lon, g_lat = crs.wgs84_to_gcj02(w_lon, w_lat)
    assert crs.haversine_m(lon, lat, g_lon, g_lat).max() < 0.5
    assert np.abs(g_lon - lon).max() < 1e-7
    assert np.abs(g_lat - lat).max() < 1e-7


def test_round_trip_gcj02_bd09_gcj02(china_points):
    lon, lat = china_points
    g_lon, g_lat = crs.bd09_to_gcj02(*crs.gcj02_to_bd09(lon, lat))
    assert np.abs(g_lon - lon).max() < 1e-9
    assert np.abs(g_lat - lat).max() < 1e-9
    b_lon, b_lat = crs.gcj02_to_bd09(*crs.bd09_to_gcj02(lon, lat))
    assert np.abs(b_lon - lon).max() < 1e-9
    assert np.abs(b_lat - lat).max() < 1e-9


def test_round_trip_bd09_wgs84_bd09(china_points):
    lon, lat = china_points
    b_lon, b_lat = crs.wgs84_to_bd09(*crs.bd09_to_wgs84(lon, lat))
    assert crs.haversine_m(lon, lat, b_lon, b_lat).max() < 0.5
    assert np.abs(b_lon - lon).max() < 1e-7
    assert np.abs(b_lat - lat).max() < 1e-7


def test_round_trip_near_the_sqrt_kink():
    # The GCJ-02 formula has sqrt(|lon - 105|) terms, steepest at lon = 105.
    lat = np.linspace(20.0, 50.0, 301)
    for lon0 in (105.0, 105.0 + 1e-12, 105.0 - 1e-9):
        lon = np.full_like(lat, lon0)
        w_lon, w_lat = crs.gcj02_to_wgs84(*crs.wgs84_to_gcj02(lon, lat))
        assert crs.haversine_m(lon, lat, w_lon, w_lat).max() < 0.01


# --------------------------------------------------------------------------- outside China

OUTSIDE = [
    pytest.param(-0.1276, 51.5072, id="london"),
    pytest.param(-74.0060, 40.7128, id="new-york"),
    pytest.param(151.2093, -33.8688, id="sydney"),
]


@pytest.mark.parametrize("lon, lat", OUTSIDE)
def test_outside_china_gcj02_equals_wgs84(lon, lat):
    assert crs.out_of_china(lon, lat) is True
    assert crs.wgs84_to_gcj02(lon, lat) == (lon, lat)
    assert crs.gcj02_to_wgs84(lon, lat) == (lon, lat)
    assert crs.to_wgs84(lon, lat, "gcj02") == (lon, lat)
    # BD-09's own step is applied everywhere, and still inverts exactly
    assert crs.wgs84_to_bd09(lon, lat) == crs.gcj02_to_bd09(lon, lat)
    assert crs.bd09_to_wgs84(*crs.wgs84_to_bd09(lon, lat)) == pytest.approx((lon, lat), abs=1e-10)


def test_outside_china_vectorised_mixes_inside_and_outside():
    lon = np.array([-0.1276, 117.2272, -74.0060, 151.2093, 121.4737])
    lat = np.array([51.5072, 31.8206, 40.7128, -33.8688, 31.2304])
    g_lon, g_lat = crs.wgs84_to_gcj02(lon, lat)
    outside = crs.out_of_china(lon, lat)
    assert outside.tolist() == [True, False, True, True, False]
    assert np.array_equal(g_lon[outside], lon[outside])
    assert np.array_equal(g_lat[outside], lat[outside])
    assert np.all(g_lon[~outside] != lon[~outside])
    w_lon, w_lat = crs.gcj02_to_wgs84(g_lon, g_lat)
    assert crs.haversine_m(lon, lat, w_lon, w_lat).max() < 1e-3


def test_out_of_china_rectangle_edges():
    # the rectangle 72.004..137.8347 x 0.8293..55.8271, edges included
    assert crs.out_of_china(117.2, 31.8) is False
    assert crs.out_of_china(72.004, 30.0) is False
    assert crs.out_of_china(137.8347, 30.0) is False
    assert crs.out_of_china(100.0, 0.8293) is False
    assert crs.out_of_china(100.0, 55.8271) is False
    assert crs.out_of_china(72.0039, 30.0) is True
    assert crs.out_of_china(137.8348, 30.0) is True
    assert crs.out_of_china(100.0, 0.8292) is True
    assert crs.out_of_china(100.0, 55.8272) is True
    assert crs.out_of_china(float("nan"), 30.0) is True


# --------------------------------------------------------------------------- types and shapes

ALL_CONVERSIONS = [
    crs.wgs84_to_gcj02,
    crs.gcj02_to_wgs84,
    crs.gcj02_to_bd09,
    crs.bd09_to_gcj02,
    crs.wgs84_to_bd09,
    crs.bd09_to_wgs84,
]


@pytest.mark.parametrize("func", ALL_CONVERSIONS, ids=lambda f: f.__name__)
def test_scalar_in_floats_out(func):
    out = func(117.2272, 31.8206)
    assert isinstance(out, tuple) and len(out) == 2
    assert type(out[0]) is float and type(out[1]) is float
    # ints and numpy scalars count as scalars too
    out_int = func(117, 31)
    assert type(out_int[0]) is float and type(out_int[1]) is float
    out_np = func(np.float64(117.2272), np.float32(31.8206))
    assert type(out_np[0]) is float and type(out_np[1]) is float


@pytest.mark.parametrize("func", ALL_CONVERSIONS, ids=lambda f: f.__name__)
def test_array_in_arrays_out_same_shape(func):
    lon = np.linspace(116.0, 118.0, 12).reshape(3, 4)
    lat = np.linspace(30.0, 33.0, 12).reshape(3, 4)
    lon_before, lat_before = lon.copy(), lat.copy()
    out_lon, out_lat = func(lon, lat)
    assert isinstance(out_lon, np.ndarray) and isinstance(out_lat, np.ndarray)
    assert out_lon.shape == (3, 4) and out_lat.shape == (3, 4)
    assert out_lon.dtype == np.float64 and out_lat.dtype == np.float64
    # inputs are not modified in place
    assert np.array_equal(lon, lon_before) and np.array_equal(lat, lat_before)
    # element-wise equal to the scalar path
    for i in range(3):
        for j in range(4):
            s_lon, s_lat = func(float(lon[i, j]), float(lat[i, j]))
            assert out_lon[i, j] == pytest.approx(s_lon, abs=1e-12)
            assert out_lat[i, j] == pytest.approx(s_lat, abs=1e-12)


@pytest.mark.parametrize("func", ALL_CONVERSIONS, ids=lambda f: f.__name__)
def test_sequences_broadcasting_empty_and_nan(func):
    out_lon, out_lat = func([117.1, 117.2, 117.3], [31.8, 31.9, 32.0])
    assert out_lon.shape == (3,) and out_lat.shape == (3,)

    out_lon, out_lat = func(np.array([117.1, 117.2]), 31.8)  # scalar lat broadcasts
    assert out_lon.shape == (2,) and out_lat.shape == (2,)
    assert (out_lon[1], out_lat[1]) == pytest.approx(func(117.2, 31.8), abs=1e-12)

    out_lon, out_lat = func(np.array([]), np.array([]))
    assert out_lon.shape == (0,) and out_lat.shape == (0,)

    # NaN (and inf) pass through as non-finite, without warnings (warnings are errors here)
    out_lon, out_lat = func(np.array([np.nan, 117.2, np.inf]), np.array([31.8, np.nan, 31.8]))
    finite = np.isfinite(out_lon) & np.isfinite(out_lat)
    assert not finite.any()


def test_out_of_china_vectorised_shape():
    lon = np.array([[117.2, -0.1], [151.2, 100.0]])
    lat = np.array([[31.8, 51.5], [-33.9, 40.0]])
    out = crs.out_of_china(lon, lat)
    assert out.dtype == bool and out.shape == (2, 2)
    assert out.tolist() == [[False, True], [True, False]]


def test_gcj02_shift_in_hefei_is_a_few_hundred_metres():
    lon, lat = 117.2272, 31.8206  # Hefei, around the provincial government
    g_lon, g_lat = crs.wgs84_to_gcj02(lon, lat)
    shift = crs.haversine_m(lon, lat, g_lon, g_lat)
    assert 300.0 < shift < 700.0
    # GCJ-02 lies east (and slightly south) of WGS-84 around Hefei
    assert g_lon > lon and g_lat < lat
    # BD-09 adds roughly another kilometre
    b_lon, b_lat = crs.gcj02_to_bd09(g_lon, g_lat)
    assert 500.0 < crs.haversine_m(g_lon, g_lat, b_lon, b_lat) < 1500.0


def test_gcj02_shift_over_china_is_bounded(china_points):
    lon, lat = china_points
    shift = crs.haversine_m(lon, lat, *crs.wgs84_to_gcj02(lon, lat))
    assert shift.min() > 0.0
    assert shift.max() < 1000.0


# --------------------------------------------------------------------------- CRS names

ALIASES = {
    "wgs84": ["wgs84", "WGS84", "wgs-84", "WGS-84", "epsg:4326", "EPSG:4326", "4326", "gps"],
    "gcj02": ["gcj02", "GCJ02", "gcj-02", "amap", "AMap", "gaode", "tencent", "qq", "QQ", "mars"],
    "bd09": ["bd09", "BD09", "bd-09", "bd09ll", "BD09LL", "baidu", "Baidu"],
}


@pytest.mark.parametrize(
    "alias, expected", [(a, name) for name, aliases in ALIASES.items() for a in aliases]
)
def test_normalize_crs_aliases(alias, expected):
    assert crs.normalize_crs(alias) == expected
    assert crs.normalize_crs(f"  {alias} ") == expected


def test_normalize_crs_default_and_names():
    assert crs.CRS_NAMES == ("wgs84", "gcj02", "bd09")
    assert crs.normalize_crs(None) == "wgs84"
    assert crs.normalize_crs("") == "wgs84"
    assert crs.normalize_crs("   ") == "wgs84"
    for name in crs.CRS_NAMES:
        assert crs.normalize_crs(name) == name


@pytest.mark.parametrize("bad", ["utm", "epsg:3857", "bd09mc", "gcj", "wgs 84", 4326])
def test_normalize_crs_rejects_unknown(bad):
    with pytest.raises(InvalidParameter) as info:
        crs.normalize_crs(bad)
    err = info.value
    assert err.field == "crs"
    assert err.status == 400
    for name in crs.CRS_NAMES:
        assert name in err.message
    assert err.to_dict()["error"]["field"] == "crs"


def test_to_and_from_wgs84_dispatch():
    lon, lat = 117.2272, 31.8206
    assert crs.from_wgs84(lon, lat, "Gaode") == crs.wgs84_to_gcj02(lon, lat)
    assert crs.from_wgs84(lon, lat, "baidu") == crs.wgs84_to_bd09(lon, lat)
    assert crs.from_wgs84(lon, lat, None) == (lon, lat)
    assert crs.to_wgs84(lon, lat, "tencent") == crs.gcj02_to_wgs84(lon, lat)
    assert crs.to_wgs84(lon, lat, "BD09LL") == crs.bd09_to_wgs84(lon, lat)
    assert crs.to_wgs84(lon, lat, "gps") == (lon, lat)
    out = crs.to_wgs84(lon, lat, "")
    assert type(out[0]) is float and out == (lon, lat)

    arr_lon, arr_lat = np.array([lon, 118.4329]), np.array([lat, 31.3525])
    for name in crs.CRS_NAMES:
        c_lon, c_lat = crs.from_wgs84(arr_lon, arr_lat, name)
        assert isinstance(c_lon, np.ndarray) and c_lon.shape == (2,)
        w_lon, w_lat = crs.to_wgs84(c_lon, c_lat, name)
        assert crs.haversine_m(arr_lon, arr_lat, w_lon, w_lat).max() < 1e-3
    # the identity case returns a copy, not the caller's array
    same_lon, _ = crs.to_wgs84(arr_lon, arr_lat, "wgs84")
    same_lon[0] = 0.0
    assert arr_lon[0] == lon

    with pytest.raises(InvalidParameter) as info:
        crs.to_wgs84(lon, lat, "web-mercator")
    assert info.value.field == "crs"
    with pytest.raises(InvalidParameter):
        crs.from_wgs84(lon, lat, "osgb")


# --------------------------------------------------------------------------- haversine


def test_haversine_one_degree_of_latitude():
    d = crs.haversine_m(117.0, 31.0, 117.0, 32.0)
    assert type(d) is float
    assert d == pytest.approx(111_195.0, abs=1.0)  # 6371008.8 * pi / 180
    assert d == pytest.approx(6371008.8 * math.pi / 180.0, rel=1e-12)


def test_haversine_basic_properties():
    assert crs.haversine_m(117.2, 31.8, 117.2, 31.8) == 0.0
    a = crs.haversine_m(117.2, 31.8, 118.4, 31.3)
    b = crs.haversine_m(118.4, 31.3, 117.2, 31.8)
    assert a == pytest.approx(b, rel=1e-15)
    # one degree of longitude on the equator equals one of latitude
    assert crs.haversine_m(0.0, 0.0, 1.0, 0.0) == pytest.approx(
        crs.haversine_m(0.0, 0.0, 0.0, 1.0), rel=1e-12
    )
    # antipodes: half the circumference
    assert crs.haversine_m(0.0, 0.0, 180.0, 0.0) == pytest.approx(math.pi * 6371008.8, rel=1e-12)
    assert crs.EARTH_RADIUS_M == 6371008.8


def test_haversine_vectorised_broadcasts():
    lon2 = np.array([[117.0, 118.0], [119.0, 120.0]])
    d = crs.haversine_m(117.0, 31.0, lon2, 31.0)
    assert isinstance(d, np.ndarray) and d.shape == (2, 2)
    assert d[0, 0] == 0.0
    assert np.all(np.diff(d.ravel()) > 0)
    for (i, j), value in np.ndenumerate(d):
        assert value == pytest.approx(crs.haversine_m(117.0, 31.0, float(lon2[i, j]), 31.0))


def test_haversine_hefei_wuhu_against_pyproj_geod():
    hefei = (117.2272, 31.8206)
    wuhu = (118.4329, 31.3525)
    _, _, geodesic = Geod(ellps="WGS84").inv(hefei[0], hefei[1], wuhu[0], wuhu[1])
    d = crs.haversine_m(*hefei, *wuhu)
    assert 120_000 < d < 130_000
    assert d == pytest.approx(geodesic, rel=0.005)
