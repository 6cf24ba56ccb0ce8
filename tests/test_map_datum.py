"""The folium maps on GCJ-02 tiles (Amap): everything drawn is shifted from WGS-84 to
GCJ-02, popups keep WGS-84; and a provider's label layer (Tianditu) is drawn too.

Values are read back from the rendered HTML and compared with
:func:`locator.crs.wgs84_to_gcj02` applied to the same map drawn on OSM tiles, or to
the data themselves.
"""

from __future__ import annotations

import copy
import json
import re

import numpy as np
import pytest
import shapely

from locator import planning
from locator.config import Settings
from locator.crs import haversine_m, wgs84_to_gcj02
from locator.maps import TileDatum, build_facility_map
from locator.maps.coverage import build_coverage_map, display_geometry
from tests.web_fixtures import close_app, make_app

HEFEI = "合肥市"
AMAP = Settings(tiles="amap").tile_provider()
OSM = Settings(tiles="osm").tile_provider()
TIANDITU = Settings(tiles="tianditu", tianditu_key="k").tile_provider()
EXACT = 1e-9  # degrees; shifted coordinates keep 9 decimals
FOLIUM_ID = re.compile(r"_[0-9a-f]{32}")


# ---- fixtures -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def url(shipped_sqlite_url):
    """The shared ``data`` and ``app`` fixtures (conftest) read this database."""
    return shipped_sqlite_url


@pytest.fixture(scope="module")
def boundary_units(data):
    return [u for u in data.units if u.level in ("city", "county", "township")]


def facility_map(data, units, tiles) -> str:
    return (
        build_facility_map(data.facilities, units, tiles=tiles, detail_url=lambda f: f"/f/{f.id}")
        .get_root()
        .render()
    )


@pytest.fixture(scope="module")
def facility_maps(data, boundary_units) -> dict[str, str]:
    return {
        name: facility_map(data, boundary_units, tiles)
        for name, tiles in (("osm", OSM), ("amap", AMAP))
    }


@pytest.fixture(scope="module")
def hefei(data):
    report = planning.coverage(data, city=HEFEI)
    plan = planning.plan(data, sites=3, city=HEFEI, report=report, method="greedy")
    blind = planning.blind_spots_for_display(planning.grid(data, report.params, city=HEFEI))
    return report, plan, blind


@pytest.fixture(scope="module")
def coverage_maps(data, hefei) -> dict[str, str]:
    report, plan, blind = hefei
    untouched = copy.deepcopy(blind)
    html = {
        name: build_coverage_map(
            report,
            data.units,
            data.facilities,
            blind_spots=blind,
            sites=plan.sites,
            rings=True,
            tiles=tiles,
            detail_url=lambda f: f"/f/{f.id}",
        )
        .get_root()
        .render()
        for name, tiles in (("osm", OSM), ("amap", AMAP))
    }
    assert blind == untouched  # the (cached) blind spots are copied, not shifted in place
    return html


# ---- reading the rendered maps ----------------------------------------------------------------
def json_after(html: str, marker: str, start: int = 0):
    """The JSON value after ``marker`` (the first one at or after ``start``)."""
    at = html.index(marker, start) + len(marker)
    while html[at].isspace():
        at += 1
    return json.JSONDecoder().raw_decode(html, at)[0]


def json_values_after(html: str, marker: str) -> list:
    values, start = [], 0
    while (at := html.find(marker, start)) >= 0:
        values.append(json_after(html, marker, at))
        start = at + 1
    return values


def facility_rows(html: str) -> dict[str, list]:
    """Marker rows ``[lat, lon, kind, tooltip, popup, title]`` by facility id."""
    rows = {}
    for match in re.finditer(r"L\.markerClusterGroup\(.*?\);\s*", html, re.S):
        for row in json.JSONDecoder().raw_decode(html, match.end())[0]:
            rows[re.search(r'data-facility-id="([^"]+)"', row[4]).group(1)] = row
    return rows


def layer_rows(html: str, class_name: str) -> list[list]:
    """The rows a RingsLayer or SitesLayer draws from."""
    at = html.index(f"var {class_name}_")
    return json_after(
        html, "L.featureGroup();" if class_name == "sites_layer" else "L.layerGroup();", at
    )


def positions(geometry: dict) -> np.ndarray:
    """Every ``[lon, lat]`` of a GeoJSON geometry, as an (n, 2) array."""
    out = []

    def walk(coords):
        if isinstance(coords[0], (int, float)):
            out.append(coords[:2])
        else:
            for part in coords:
                walk(part)

    walk(geometry["coordinates"])
    return np.array(out, dtype=np.float64)


def by_code(features: list[dict]) -> dict[str, dict]:
    return {f["properties"]["code"]: f["geometry"] for f in features}


def geojson_layers(html: str) -> list[dict]:
    """The FeatureCollections of folium GeoJson layers (``geo_json_..._add({...})``)."""
    return [
        value
        for value in json_values_after(html, "_add(")
        if isinstance(value, dict) and "features" in value
    ]


def township_boundaries(html: str) -> dict[str, dict]:
    for collection in geojson_layers(html):
        features = collection["features"]
        if features and features[0]["properties"].get("level") == "township":
            return by_code(features)
    raise AssertionError("no township boundaries in the map")


def assert_shifted(wgs: np.ndarray, drawn: np.ndarray) -> None:
    """``drawn`` is ``wgs`` converted to GCJ-02, to 1e-9 degrees, and a real shift."""
    lon, lat = wgs84_to_gcj02(wgs[:, 0], wgs[:, 1])
    assert drawn.shape == wgs.shape
    assert np.abs(drawn[:, 0] - lon).max() <= EXACT
    assert np.abs(drawn[:, 1] - lat).max() <= EXACT
    moved = haversine_m(wgs[:, 0], wgs[:, 1], drawn[:, 0], drawn[:, 1])
    assert 100 < moved.min() and moved.max() < 800  # GCJ-02 moves Anhui by a few hundred m


TILE_LAYER = re.compile(r'L\.tileLayer\(\s*("(?:[^"\\]|\\.)*"),\s*\{(.*?)\n\}', re.S)


def tile_layers(html: str) -> list[dict]:
    """Each tile layer's URL and options (a JavaScript object, read entry by entry)."""
    layers = []
    for url, body in TILE_LAYER.findall(html):
        options = dict(re.findall(r'^\s*"(\w+)": (.*?),?$', body, re.M))
        layers.append(
            {"url": json.loads(url), **{key: json.loads(value) for key, value in options.items()}}
        )
    return layers


def tile_urls(html: str) -> list[str]:
    return [layer["url"] for layer in tile_layers(html)]


# ---- the facility map (/map) ------------------------------------------------------------------
def test_facility_markers_are_shifted_on_amap_and_not_on_osm(data, facility_maps):
    osm, amap = facility_rows(facility_maps["osm"]), facility_rows(facility_maps["amap"])
    assert set(osm) == set(amap) == {f.id for f in data.facilities}
    for f in data.facilities:
        lon, lat = wgs84_to_gcj02(f.lon, f.lat)
        assert amap[f.id][0] == pytest.approx(lat, abs=EXACT), f.id
        assert amap[f.id][1] == pytest.approx(lon, abs=EXACT), f.id
        assert osm[f.id][:2] == [round(f.lat, 6), round(f.lon, 6)], f.id  # as before
        assert osm[f.id][:2] == pytest.approx([f.lat, f.lon], abs=5e-7)
        assert amap[f.id][2:] == osm[f.id][2:]  # kind, tooltip, popup (and /f/ link), title
        assert f'href="/f/{f.id}"' in amap[f.id][4]
    wgs = np.array([[f.lon, f.lat] for f in data.facilities])
    drawn = np.array([[amap[f.id][1], amap[f.id][0]] for f in data.facilities])
    assert_shifted(wgs, drawn)


def test_township_boundaries_are_shifted_on_amap(data, facility_maps):
    osm = township_boundaries(facility_maps["osm"])
    amap = township_boundaries(facility_maps["amap"])
    assert set(osm) == set(amap)
    assert len(osm) > 100  # the townships shipped with a polygon
    units = {u.code: u for u in data.units}
    for code in osm:
        wgs, drawn = positions(osm[code]), positions(amap[code])
        assert_shifted(wgs, drawn)
        # the OSM outline's first vertex is one of the township's own, on the 1e-4 grid
        own = shapely.get_coordinates(units[code].geometry)
        assert np.abs(own - wgs[0]).max(axis=1).min() <= 0.5e-4 + 1e-9, code
    # one township, spelled out
    code = sorted(osm)[0]
    (lon, lat), (g_lon, g_lat) = positions(osm[code])[0], positions(amap[code])[0]
    assert (g_lon, g_lat) == pytest.approx(wgs84_to_gcj02(lon, lat), abs=EXACT)


def test_city_and_county_outlines_and_bounds_are_shifted(facility_maps):
    osm, amap = geojson_layers(facility_maps["osm"]), geojson_layers(facility_maps["amap"])
    assert len(osm) == len(amap) == 3  # cities, counties, townships
    for before, after in zip(osm, amap, strict=True):
        assert_shifted(
            np.concatenate([positions(f["geometry"]) for f in before["features"]]),
            np.concatenate([positions(f["geometry"]) for f in after["features"]]),
        )
    (south, west), (north, east) = json_after(facility_maps["osm"], "fitBounds(\n")
    assert [[south, west], [north, east]] == [[29.39, 114.87], [34.66, 119.65]]
    drawn = json_after(facility_maps["amap"], "fitBounds(\n")
    assert drawn[0] == pytest.approx(wgs84_to_gcj02(west, south)[::-1], abs=EXACT)
    assert drawn[1] == pytest.approx(wgs84_to_gcj02(east, north)[::-1], abs=EXACT)
    assert json_after(facility_maps["osm"], "center: ") == [31.85, 117.25]
    assert json_after(facility_maps["amap"], "center: ") == pytest.approx(
        wgs84_to_gcj02(117.25, 31.85)[::-1], abs=EXACT
    )


# ---- the coverage map (/coverage) -------------------------------------------------------------
def test_coverage_townships_outlines_and_blind_spots_are_shifted(coverage_maps, hefei):
    report, _plan, blind = hefei
    osm, amap = (json_values_after(coverage_maps[name], "L.geoJSON(") for name in ("osm", "amap"))
    assert len(osm) == len(amap) == 3  # county outlines, townships, blind spots
    townships_osm, townships_amap = by_code(osm[1]["features"]), by_code(amap[1]["features"])
    assert set(townships_osm) == set(townships_amap)
    assert len(townships_osm) > 100
    for code, geometry in townships_osm.items():
        assert townships_amap[code]["type"] == geometry["type"]
        assert_shifted(positions(geometry), positions(townships_amap[code]))
    seats = {t.code: t for t in report.townships}
    for code, geometry in townships_osm.items():  # seat-only townships are points
        if geometry["type"] == "Point":
            assert geometry["coordinates"] == [
                round(seats[code].ref_lon, 6),
                round(seats[code].ref_lat, 6),
            ]
    for before, after in ((osm[0], amap[0]), (osm[2], amap[2])):
        assert_shifted(
            np.concatenate([positions(f["geometry"]) for f in before["features"]]),
            np.concatenate([positions(f["geometry"]) for f in after["features"]]),
        )
    assert osm[2] == json.loads(json.dumps(blind))  # drawn as given on WGS-84 tiles
    assert [f["properties"] for f in amap[1]["features"]] == [
        f["properties"] for f in osm[1]["features"]
    ]  # popups and tooltips unchanged


def test_coverage_markers_rings_and_sites_are_shifted(data, coverage_maps, hefei):
    _report, plan, _blind = hefei
    osm, amap = facility_rows(coverage_maps["osm"]), facility_rows(coverage_maps["amap"])
    assert set(osm) == set(amap) == {f.id for f in data.facilities}
    wgs = np.array([[f.lon, f.lat] for f in data.facilities])
    assert_shifted(wgs, np.array([[amap[f.id][1], amap[f.id][0]] for f in data.facilities]))
    assert all(amap[k][2:] == osm[k][2:] for k in osm)

    rings_osm = layer_rows(coverage_maps["osm"], "rings_layer")
    rings_amap = layer_rows(coverage_maps["amap"], "rings_layer")
    assert len(rings_osm) == len(rings_amap) > 0
    assert_shifted(
        np.array([[r[1], r[0]] for r in rings_osm]), np.array([[r[1], r[0]] for r in rings_amap])
    )

    sites_osm = layer_rows(coverage_maps["osm"], "sites_layer")
    sites_amap = layer_rows(coverage_maps["amap"], "sites_layer")
    assert len(sites_amap) == len(plan.sites) == 3
    for site, before, after in zip(plan.sites, sites_osm, sites_amap, strict=True):
        assert before[:2] == [site.lat, site.lon]
        lon, lat = wgs84_to_gcj02(site.lon, site.lat)
        assert after[:2] == pytest.approx([lat, lon], abs=EXACT)
        assert after[2:] == before[2:]
        assert f"{site.lon:.5f}, {site.lat:.5f}" in after[3]  # the popup shows WGS-84


def test_coverage_bounds_are_shifted(coverage_maps, hefei):
    report, _plan, _blind = hefei
    west, south, east, north = report.area.geometry.bounds
    assert json_after(coverage_maps["osm"], "fitBounds(\n") == [[south, west], [north, east]]
    drawn = json_after(coverage_maps["amap"], "fitBounds(\n")
    assert drawn[0] == pytest.approx(wgs84_to_gcj02(west, south)[::-1], abs=EXACT)
    assert drawn[1] == pytest.approx(wgs84_to_gcj02(east, north)[::-1], abs=EXACT)


# ---- tile layers ------------------------------------------------------------------------------
def test_tianditu_draws_its_label_layer_and_the_fallback_drops_both(data, hefei):
    report, _plan, _blind = hefei
    maps = {
        "facility": build_facility_map(data.facilities[:3], tiles=TIANDITU),
        "coverage": build_coverage_map(report, data.units, tiles=TIANDITU),
    }
    for name, fmap in maps.items():
        html = fmap.get_root().render()
        assert tile_urls(html) == [TIANDITU["url"], TIANDITU["labels"]], name
        assert "cva_w" in TIANDITU["labels"] and "tk=k" in TIANDITU["labels"]
        for layer in tile_layers(html):
            assert layer["subdomains"] == "01234567", name
            assert layer["attribution"] == TIANDITU["attribution"], name
        base, labels = re.findall(r"var (tile_layer_\w+) = L\.tileLayer\(", html)
        assert f"layer = {base};" in html
        assert f"map.removeLayer(layer); map.removeLayer({labels});" in html, name
        assert html.index(f"{labels}.addTo(") > html.index(f"{base}.addTo(")  # above


@pytest.mark.parametrize("tiles", [OSM, AMAP])
def test_other_providers_have_one_layer_with_their_subdomains(data, tiles):
    html = build_facility_map(data.facilities[:3], tiles=tiles).get_root().render()
    assert tile_urls(html) == [tiles["url"]]
    assert "cva_w" not in html and "labels" not in html
    (layer,) = tile_layers(html)
    assert layer["subdomains"] == (tiles.get("subdomains") or "abc")
    assert layer["attribution"] == tiles["attribution"]
    base = re.search(r"var (tile_layer_\w+) = L\.tileLayer\(", html).group(1)
    assert "map.removeLayer(layer);\n" in html and f"layer = {base};" in html


def test_no_tiles_draw_no_layer_and_no_fallback(data):
    html = (
        build_facility_map(data.facilities[:3], tiles=Settings(tiles="none").tile_provider())
        .get_root()
        .render()
    )
    assert "L.tileLayer(" not in html and "tileerror" not in html


# ---- WGS-84 tiles change nothing ------------------------------------------------------------
def test_a_missing_datum_draws_as_wgs84(data, boundary_units, facility_maps):
    tiles = {"url": OSM["url"], "attribution": OSM["attribution"]}  # no "datum"
    html = facility_map(data, boundary_units, tiles)
    assert FOLIUM_ID.sub("_", html) == FOLIUM_ID.sub("_", facility_maps["osm"])


def test_tile_datum_leaves_wgs84_input_as_it_is():
    wgs = TileDatum({"datum": "wgs84"})
    assert not wgs.shifts and not TileDatum(None).shifts and TileDatum(AMAP).shifts
    collection = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [117.2, 31.8]},
                "properties": {},
            }
        ],
    }
    assert wgs.geojson(collection) is collection
    assert wgs.latlngs([117.1234567], [31.7654321], decimals=6) == [[31.765432, 117.123457]]
    assert wgs.bounds([[29.39, 114.87], [34.66, 119.65]]) == [[29.39, 114.87], [34.66, 119.65]]
    shifted = TileDatum(AMAP).geojson(collection)
    assert collection["features"][0]["geometry"]["coordinates"] == [117.2, 31.8]
    assert list(shifted["features"][0]["geometry"]["coordinates"]) == pytest.approx(
        wgs84_to_gcj02(117.2, 31.8), abs=EXACT
    )
    assert TileDatum(AMAP).latlngs([], []) == []


# ---- through the pages --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def amap_app(url):
    app = make_app(url, tiles="amap")
    yield app
    close_app(app)


def test_map_and_coverage_pages_draw_in_gcj02_on_amap(amap_app, data, facility_maps):
    client = amap_app.test_client()
    html = client.get("/map").get_data(as_text=True)
    rows = facility_rows(html)
    f = data.facilities[0]
    lon, lat = wgs84_to_gcj02(f.lon, f.lat)
    assert rows[f.id][:2] == pytest.approx([lat, lon], abs=EXACT)
    assert AMAP["url"].replace("&", "\\u0026") in html
    osm = township_boundaries(facility_maps["osm"])
    code, geometry = next(iter(township_boundaries(html).items()))
    assert_shifted(positions(osm[code]), positions(geometry))

    response = client.get("/coverage", query_string={"city": HEFEI})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    townships = by_code(json_after(html, "var layer = L.geoJSON(")["features"])
    units = {u.code: u for u in data.units}
    polygons = [code for code, g in townships.items() if g["type"] != "Point"]
    assert len(polygons) > 100
    for code in polygons:  # the city's townships, simplified as the page does (~100 m)
        wgs = positions(display_geometry(units[code].geometry, 0.001))
        assert_shifted(wgs, positions(townships[code]))
    rows = facility_rows(html)  # the city's facilities
    assert len(rows) > 10
    by_id = {f.id: f for f in data.facilities}
    assert_shifted(
        np.array([[by_id[i].lon, by_id[i].lat] for i in rows]),
        np.array([[row[1], row[0]] for row in rows.values()]),
    )
