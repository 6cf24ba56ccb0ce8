"""The JSON API over real HTTP, on SQLite and PostGIS, against the shipped Anhui data.

Expected values come from the raw files in ``geodata/`` read with shapely
(:mod:`web_fixtures`), not from the app. Read-only tests share one loaded database per
backend (module scope); tests that write get a fresh database of their own.
"""

from __future__ import annotations

import json
import math
import threading
import urllib.error
import urllib.request
from urllib.parse import quote, urlencode, urlsplit

import pytest
from shapely.geometry import box

from locator.model import AMENITIES, KINDS, STATUSES
from locator.web.api.facilities import FACILITY_PARAMS
from tests.service_area_reference import name_key, place_names, place_of
from tests.web_fixtures import (
    HEFEI_CODE,
    LiveServer,
    add_facilities,
    admin_name,
    admin_polygon,
    close_app,
    facility,
    hefei_township_polygons,
    ids_within,
    load_into,
    make_app,
    raw_sites,
    townships_at,
)

API = "/api/v1"
HEFEI = "合肥市"
ALL = len(raw_sites())


@pytest.fixture(scope="module")
def url(loaded_url):
    """The shared ``app`` and ``client`` fixtures (conftest) serve this database."""
    return loaded_url


@pytest.fixture
def own_db(database_url):
    """A fresh database with the shipped data, for a test that writes: (url, client)."""
    load_into(database_url)
    app = make_app(database_url)
    yield database_url, app.test_client()
    close_app(app)


def get_json(client, path: str, expect: int = 200, **params):
    response = client.get(path, query_string=params or None)
    assert response.status_code == expect, response.get_data(as_text=True)[:500]
    return response.get_json()


def ids_of(body: dict) -> list[str]:
    return [feature["id"] for feature in body["features"]]


def matched_ids(client, **params) -> set[str]:
    """Every id a query matches (one page of the maximum size is enough for 312)."""
    body = get_json(client, f"{API}/facilities", limit=1000, **params)
    assert body["numberMatched"] == body["numberReturned"] == len(body["features"])
    return set(ids_of(body))


def assert_geojson(body: dict) -> None:
    """A FeatureCollection of Point features as RFC 7946 wants them."""
    assert body["type"] == "FeatureCollection"
    assert "crs" not in body  # RFC 7946 §4: WGS-84 only, no crs member
    assert isinstance(body["features"], list)
    for feature in body["features"]:
        assert feature["type"] == "Feature"
        assert isinstance(feature["id"], str) and feature["id"]
        geometry = feature["geometry"]
        assert geometry["type"] == "Point"
        lon, lat = geometry["coordinates"]
        assert all(isinstance(v, float | int) and math.isfinite(v) for v in (lon, lat))
        assert -180 <= lon <= 180 and -90 <= lat <= 90
        assert isinstance(feature["properties"], dict)
        assert {"name", "kind", "status"} <= feature["properties"].keys()
    assert body["numberReturned"] == len(body["features"])
    assert len(set(ids_of(body))) == len(body["features"])


# ---- the Hefei service areas, checked against shapely ----------------------------------------
def test_hefei_service_areas_match_an_independent_count(client):
    response = client.get(
        f"{API}/facilities", query_string={"kind": "service_area", "city": HEFEI, "limit": 1000}
    )
    assert response.status_code == 200
    assert response.mimetype == "application/geo+json"
    body = response.get_json()
    assert_geojson(body)

    hefei = admin_polygon(HEFEI_CODE)
    expected = ids_within(hefei, "service_area")
    assert len(expected) > 10  # the data really has them
    assert body["numberMatched"] == len(expected)
    assert set(ids_of(body)) == expected

    west, south, east, north = hefei.bounds
    for feature in body["features"]:
        lon, lat = feature["geometry"]["coordinates"]
        assert west <= lon <= east and south <= lat <= north  # [lon, lat], not [lat, lon]
        kind, name, raw_lon, raw_lat = raw_sites()[feature["id"]]
        assert (lon, lat) == pytest.approx((raw_lon, raw_lat), abs=1e-6)
        props = feature["properties"]
        assert props["kind"] == "service_area"
        assert props["city"] == HEFEI and props["city_code"] == HEFEI_CODE
        # Unnamed ones are listed with their place's name, derived when it has none
        # (陶楼枢纽附近服务区), and say so; both sides of a pair name their place.
        place = place_of()[feature["id"]]
        if name_key(name) is None:
            assert props["name"] == place_names()[place][0] and props["name_derived"] is True
        else:
            assert props["name"] == name and "name_derived" not in props
        if len(place) > 1:
            assert props["place_id"] == place[0]
            assert props["place_name"] == place_names()[place][0]
            assert sorted(side["id"] for side in props["sides"]) == list(place)
        else:
            assert "sides" not in props
        assert props["status"] == "open" and props["source"] == "osm"


def test_townships_match_an_independent_point_in_polygon(client):
    body = get_json(client, f"{API}/facilities", city=HEFEI, limit=1000)
    assert body["numberMatched"] == len(ids_within(admin_polygon(HEFEI_CODE)))
    with_township = 0
    for feature in body["features"]:
        lon, lat = feature["geometry"]["coordinates"]
        names = townships_at(lon, lat)
        assert len(names) <= 1, (feature["id"], names)
        township = feature["properties"]["township"]
        if names:
            with_township += 1
            assert township == names.pop(), feature["id"]
            assert feature["properties"]["township_code"]
        else:
            assert township is None, feature["id"]
    assert with_township > 30


# ---- paging --------------------------------------------------------------------------------
def test_first_middle_and_last_pages(client):
    first = get_json(client, f"{API}/facilities", limit=50)
    assert_geojson(first)
    assert first["numberMatched"] == ALL == 312
    assert first["numberReturned"] == 50
    rels = {link["rel"]: link for link in first["links"]}
    assert set(rels) == {"self", "next"}
    assert all(link["type"] == "application/geo+json" for link in first["links"])
    assert "offset=50" in rels["next"]["href"] and "limit=50" in rels["next"]["href"]

    middle = get_json(client, f"{API}/facilities", limit=50, offset=120)
    rels = {link["rel"]: link["href"] for link in middle["links"]}
    assert set(rels) == {"self", "next", "prev"}
    assert "offset=170" in rels["next"] and "offset=70" in rels["prev"]
    assert "offset=120" in rels["self"]

    last = get_json(client, f"{API}/facilities", limit=50, offset=300)
    assert last["numberReturned"] == 12
    assert {link["rel"] for link in last["links"]} == {"self", "prev"}

    near_start = get_json(client, f"{API}/facilities", limit=50, offset=5)
    prev = next(link["href"] for link in near_start["links"] if link["rel"] == "prev")
    assert "offset=0" in prev

    beyond = get_json(client, f"{API}/facilities", limit=50, offset=5000)
    assert beyond["features"] == [] and beyond["numberReturned"] == 0
    assert beyond["numberMatched"] == ALL


@pytest.mark.parametrize(
    ("params", "limit"),
    [
        ({}, 37),
        ({"kind": "logistics_park"}, 10),
        ({"kind": "service_area", "city": HEFEI}, 5),
    ],
)
def test_following_next_links_visits_every_match_once(client, params, limit):
    expected = matched_ids(client, **params)
    seen: list[str] = []
    url = f"{API}/facilities?{urlencode({**params, 'limit': limit})}"
    pages = 0
    while url:
        body = get_json(client, url)
        assert body["numberMatched"] == len(expected)
        assert body["numberReturned"] <= limit
        seen += ids_of(body)
        links = {link["rel"]: link["href"] for link in body["links"]}
        url = links.get("next")
        if url:
            # the other filters ride along
            assert all(f"{k}=" in url for k in params)
        pages += 1
        assert pages < 100
    assert len(seen) == len(set(seen))
    assert set(seen) == expected
    assert pages == math.ceil(len(expected) / limit)


# ---- filters --------------------------------------------------------------------------------
def test_bbox_over_a_small_area_matches_an_independent_count(client):
    # central Hefei: the ring road and the airport area
    area = (117.15, 31.70, 117.35, 31.90)
    expected = ids_within(box(*area))
    # points exactly on the edge count as inside; make sure none sits there
    assert 3 <= len(expected) < 40
    got = matched_ids(client, bbox=",".join(map(str, area)))
    assert got == expected


def test_bbox_edges(client):
    assert len(matched_ids(client, bbox="114,29,120,35")) == ALL  # all of Anhui
    assert matched_ids(client, bbox="-10,-10,-9,-9") == set()  # the Gulf of Guinea
    # a point exactly on the box's corner is inside
    fid = "osm:way/161679435"
    _, _, lon, lat = raw_sites()[fid]
    assert fid in matched_ids(client, bbox=f"{lon},{lat},{lon + 0.01},{lat + 0.01}")
    assert len(matched_ids(client, bbox=f"{lon},{lat},{lon},{lat}")) >= 1
    # west > east means across the antimeridian: nothing in Anhui
    assert matched_ids(client, bbox="170,29,-170,35") == set()


def test_kind_repeated_comma_separated_and_labelled(client):
    service_areas = {fid for fid, site in raw_sites().items() if site[0] == "service_area"}
    logistics = {fid for fid, site in raw_sites().items() if site[0] == "logistics_park"}
    assert len(service_areas) == 215 and len(logistics) == 97
    assert matched_ids(client, kind="service_area") == service_areas
    assert matched_ids(client, kind="logistics_park") == logistics
    both = service_areas | logistics
    assert matched_ids(client, kind="service_area,logistics_park") == both
    body = get_json(client, f"{API}/facilities?kind=service_area&kind=logistics_park&limit=1")
    assert body["numberMatched"] == len(both)
    assert matched_ids(client, kind="driver_home") == set()
    assert matched_ids(client, kind="driver_home,logistics_park") == logistics
    assert matched_ids(client, kind="高速服务区") == service_areas  # Chinese label


def test_status(client):
    assert len(matched_ids(client, status="open")) == ALL
    assert matched_ids(client, status="closed") == set()
    assert len(matched_ids(client, status="planned,open")) == ALL
    assert len(matched_ids(client, status="运营中")) == ALL


def test_amenity_status_and_kind_on_inserted_facilities(own_db):
    url, client = own_db
    add_facilities(
        url,
        facility("test:a", "蜀山司机之家", amenities=frozenset({"shower", "canteen", "wifi"})),
        facility(
            "test:b",
            "包河驿站",
            kind="service_point",
            lon=117.30,
            lat=31.79,
            status="planned",
            amenities=frozenset({"shower"}),
        ),
        facility("test:c", "无设施站", kind="service_station"),
    )
    assert matched_ids(client, amenity="shower") == {"test:a", "test:b"}
    assert matched_ids(client, amenity="shower,canteen") == {"test:a"}  # all must be present
    assert matched_ids(client, amenity=["shower", "wifi"]) == {"test:a"}
    assert matched_ids(client, amenity="淋浴") == {"test:a", "test:b"}
    assert matched_ids(client, amenity="laundry") == set()
    assert matched_ids(client, status="planned") == {"test:b"}
    assert matched_ids(client, amenity="shower", status="open") == {"test:a"}
    assert matched_ids(client, kind=["driver_home", "service_point"]) == {"test:a", "test:b"}
    body = get_json(client, f"{API}/facilities/test:a")
    assert body["properties"]["amenities"] == ["canteen", "shower", "wifi"]
    assert body["properties"]["city"] == HEFEI
    assert len(matched_ids(client)) == ALL + 3


@pytest.mark.parametrize("code", ["340122", "340124"])  # 肥东县, 庐江县
def test_county_by_name_and_by_code(client, code):
    name = admin_name(code)
    expected = ids_within(admin_polygon(code))
    assert expected
    by_name = matched_ids(client, county=name)
    by_code = matched_ids(client, county=code)
    assert by_name == by_code == expected
    assert by_name <= matched_ids(client, city=HEFEI)


def test_city_by_code(client):
    assert (
        matched_ids(client, city=HEFEI_CODE)
        == matched_ids(client, city=HEFEI)
        == ids_within(admin_polygon(HEFEI_CODE))
    )


@pytest.mark.parametrize("township", ["撮镇镇", "上派镇", "包公镇"])
def test_township(client, township):
    polygon = dict(hefei_township_polygons())[township]
    expected = ids_within(polygon)
    assert expected
    body = get_json(client, f"{API}/facilities", township=township, limit=1000)
    assert set(ids_of(body)) == expected
    code = body["features"][0]["properties"]["township_code"]
    assert matched_ids(client, township=code) == expected


def test_q_finds_chinese_substrings(client):
    named = {fid for fid, site in raw_sites().items() if "文集" in site[1]}
    assert len(named) == 2
    assert matched_ids(client, q="文集") == named
    logistics_named = {fid for fid, site in raw_sites().items() if "物流" in site[1]}
    assert matched_ids(client, q="物流") == logistics_named
    # place names count too: every facility in 肥东县 mentions it
    assert matched_ids(client, q="肥东") >= ids_within(admin_polygon("340122"))
    assert matched_ids(client, q="文集", kind="logistics_park") == set()
    assert matched_ids(client, q="没有这个地方") == set()


# ---- one facility ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "path", ["osm:way/161679435", "osm:way%2F161679435", quote("osm:way/161679435", safe="")]
)
def test_one_facility_with_a_slash_in_its_id(client, path):
    response = client.get(f"{API}/facilities/{path}")
    assert response.status_code == 200
    assert response.mimetype == "application/geo+json"
    feature = response.get_json()
    assert feature["type"] == "Feature"
    assert feature["id"] == "osm:way/161679435"
    _, name, lon, lat = raw_sites()["osm:way/161679435"]
    assert feature["geometry"] == {"type": "Point", "coordinates": [lon, lat]}
    assert feature["properties"]["name"] == name == "文集服务区"
    assert feature["properties"]["township"] in townships_at(lon, lat)
    self_link = feature["links"][0]
    assert self_link["rel"] == "self"
    assert urlsplit(self_link["href"]).path.endswith("/facilities/osm:way/161679435")
    assert response.headers["ETag"]


@pytest.mark.parametrize(
    "path", ["osm:way/1", "nope", "osm:way/161679435/extra", "%3Cscript%3E", "%E2%9C%93"]
)
def test_unknown_facility_is_a_404_error(client, path):
    response = client.get(f"{API}/facilities/{path}")
    assert response.status_code == 404
    assert response.mimetype == "application/json"
    error = response.get_json()["error"]
    assert error["code"] == "not_found"
    assert error["field"] == "id"
    assert isinstance(error["message"], str) and error["message"]


def test_one_facility_rejects_unknown_parameters(client):
    error = get_json(client, f"{API}/facilities/osm:way/161679435?kind=x", 400)["error"]
    assert error["code"] == "invalid_parameter" and error["field"] == "kind"


# ---- bad parameters -------------------------------------------------------------------------
BAD = [
    ("bbox=117,31,118", "bbox"),
    ("bbox=117,31,118,32,5", "bbox"),
    ("bbox=a,b,c,d", "bbox"),
    ("bbox=", "bbox"),
    ("bbox=117,32,118,31", "bbox"),  # south > north
    ("bbox=117,-91,118,31", "bbox"),
    ("bbox=117,31,118,90.5", "bbox"),
    ("bbox=181,31,182,32", "bbox"),
    ("bbox=nan,31,118,32", "bbox"),
    ("bbox=117,31,inf,32", "bbox"),
    ("bbox=117,31,118,32%00", "bbox"),
    ("limit=0", "limit"),
    ("limit=-1", "limit"),
    ("limit=100000", "limit"),
    ("limit=1001", "limit"),
    ("limit=abc", "limit"),
    ("limit=1.5", "limit"),
    ("limit=99999999999999999999999999", "limit"),
    ("offset=-1", "offset"),
    ("offset=x", "offset"),
    ("kind=unknown", "kind"),
    ("kind=servce_area", "kind"),
    ("kind=service_area,nope", "kind"),
    ("kind=%3Cscript%3Ealert(1)%3C/script%3E", "kind"),
    ("kind=%27%20OR%201=1%20--", "kind"),
    ("kind=%00", "kind"),
    ("kind=%F0%9F%9A%9A", "kind"),  # 🚚
    ("status=gone", "status"),
    ("amenity=unknown", "amenity"),
    ("amenity=showr", "amenity"),
    ("foo=bar", "foo"),
    ("lang=en", "lang"),
    ("kinds=service_area", "kinds"),
    ("%00=1", "\x00"),
    ("q=" + "x" * 101, "q"),
    ("q=" + "合" * 101, "q"),
    ("q=" + "a" * 20000, "q"),
]


@pytest.mark.parametrize(("query", "field"), BAD, ids=[q[:40] for q, _ in BAD])
def test_bad_parameters_are_400_naming_the_field(client, query, field):
    response = client.get(f"{API}/facilities?{query}")
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"error"}
    error = body["error"]
    assert error["code"] == "invalid_parameter"
    assert error["field"] == field
    assert isinstance(error["message"], str) and 0 < len(error["message"]) < 2000


@pytest.mark.parametrize(
    ("query", "hint"),
    [
        ("kind=servce_area", "service_area"),
        ("kind=logistic_park", "logistics_park"),
        ("status=opne", "open"),
        ("amenity=showr", "shower"),
    ],
)
def test_near_misses_suggest_the_valid_value(client, query, hint):
    message = get_json(client, f"{API}/facilities?{query}", 400)["error"]["message"]
    assert f"did you mean '{hint}'" in message


HOSTILE = [
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    '"; DROP TABLE facilities; --',
    "a\x00b",
    "\x00",
    "🚚🚛",
    "%",
    "_",
    "\\",
    "${alert(1)}",
    "../../etc/passwd",
    "NULL",
    "\u202e",
    "\ufeff",
]


@pytest.mark.parametrize("text", HOSTILE)
@pytest.mark.parametrize("name", ["q", "city", "county", "township"])
def test_hostile_text_is_searched_for_not_executed(client, name, text):
    response = client.get(f"{API}/facilities", query_string={name: text})
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["numberMatched"] == 0 and body["features"] == []


def test_parameters_never_cause_a_500(client):
    values = [
        "",
        " ",
        ",",
        ",,,",
        "-0",
        "1e400",
        "0x10",
        "١٠",
        "9" * 400,
        "\x00",
        "🚚",
        "<b>",
        "' OR '1'='1",
        "%FF",
    ]
    for name in sorted(FACILITY_PARAMS):
        for value in values:
            response = client.get(f"{API}/facilities", query_string={name: value})
            assert response.status_code in (200, 400), (name, value, response.status_code)
            if response.status_code == 400:
                assert response.get_json()["error"]["field"] == name, (name, value)


# ---- caching --------------------------------------------------------------------------------
def test_etag_and_304(client):
    path = f"{API}/facilities?kind=service_area&city={quote(HEFEI)}"
    first = client.get(path)
    assert first.status_code == 200
    etag = first.headers["ETag"]
    assert etag.startswith('"') and etag.endswith('"')
    assert first.cache_control.public and first.cache_control.max_age == 60

    again = client.get(path, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.data == b""
    assert again.headers["ETag"] == etag
    assert again.cache_control.max_age == 60

    listed = client.get(path, headers={"If-None-Match": f'"other", {etag}'})
    assert listed.status_code == 304

    stale = client.get(path, headers={"If-None-Match": '"not-this-one"'})
    assert stale.status_code == 200 and stale.get_json()["numberMatched"] > 0

    other = client.get(f"{API}/facilities?kind=logistics_park")
    assert other.headers["ETag"] != etag

    one = client.get(f"{API}/facilities/osm:way/161679435")
    assert (
        client.get(
            f"{API}/facilities/osm:way/161679435", headers={"If-None-Match": one.headers["ETag"]}
        ).status_code
        == 304
    )


def test_weak_etag_from_a_proxy_still_validates(client):
    """RFC 9110 §13.1.2: If-None-Match uses the weak comparison (nginx's gzip weakens tags)."""
    path = f"{API}/facilities?kind=service_area"
    etag = client.get(path).headers["ETag"]
    response = client.get(path, headers={"If-None-Match": f"W/{etag}"})
    assert response.status_code == 304


def test_a_write_changes_the_etag_and_shows_the_new_facility(own_db):
    url, client = own_db
    path = f"{API}/facilities?city={quote(HEFEI)}&limit=1000"
    before = client.get(path)
    etag = before.headers["ETag"]
    count = before.get_json()["numberMatched"]
    assert client.get(path, headers={"If-None-Match": etag}).status_code == 304

    add_facilities(url, facility("test:new", "新建司机之家"))

    after = client.get(path, headers={"If-None-Match": etag})
    assert after.status_code == 200
    assert after.headers["ETag"] != etag
    body = after.get_json()
    assert body["numberMatched"] == count + 1
    assert "test:new" in ids_of(body)
    new = get_json(client, f"{API}/facilities/test:new")
    assert new["properties"]["name"] == "新建司机之家"
    assert new["properties"]["version"] == 1

    # the same write again changes nothing, so the new tag stays valid
    add_facilities(url, facility("test:new", "新建司机之家"))
    assert client.get(path, headers={"If-None-Match": after.headers["ETag"]}).status_code == 304

    add_facilities(url, facility("test:new", "新建司机之家（改名）"))
    renamed = get_json(client, f"{API}/facilities/test:new")
    assert renamed["properties"]["name"] == "新建司机之家（改名）"
    assert renamed["properties"]["version"] == 2


# ---- OpenAPI --------------------------------------------------------------------------------
def _refs(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _resolve(document: dict, ref: str):
    assert ref.startswith("#/"), ref
    node = document
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        assert part in node, ref
        node = node[part]
    return node


@pytest.fixture
def openapi(client):
    response = client.get(f"{API}/openapi.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    return response.get_json()


def test_openapi_structure(openapi):
    try:
        from openapi_spec_validator import validate
    except ImportError:
        validate = None
    if validate is not None:  # pragma: no cover - not installed in every environment
        validate(openapi)
    assert openapi["openapi"].startswith("3.")
    assert openapi["info"]["title"] and openapi["info"]["version"]
    assert openapi["servers"][0]["url"].endswith("/api/v1")
    paths = openapi["paths"]
    assert {"/facilities", "/facilities/{id}"} <= set(paths)
    for path, item in paths.items():
        assert path.startswith("/")
        for method, operation in item.items():
            assert method in {"get", "put", "post", "delete", "patch", "head", "options"}
            assert operation["responses"], (path, method)
            assert all(code.isdigit() or code == "default" for code in operation["responses"])
            templated = {part[1:-1] for part in path.split("/") if part.startswith("{")}
            in_path = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            assert templated == in_path, path
            for parameter in operation.get("parameters", []):
                assert parameter["in"] in {"query", "path", "header", "cookie"}
                assert "schema" in parameter or "content" in parameter
                if parameter["in"] == "path":
                    assert parameter["required"] is True
    refs = list(_refs(openapi))
    assert refs
    for ref in refs:
        _resolve(openapi, ref)


def test_openapi_vocabularies_and_limits(openapi, app):
    params = {p["name"]: p for p in openapi["paths"]["/facilities"]["get"]["parameters"]}
    assert params["kind"]["schema"]["items"]["enum"] == list(KINDS)
    assert params["status"]["schema"]["items"]["enum"] == list(STATUSES)
    assert params["amenity"]["schema"]["items"]["enum"] == list(AMENITIES)
    settings = app.extensions["locator"].settings
    assert params["limit"]["schema"]["maximum"] == settings.page_limit_max
    assert params["limit"]["schema"]["default"] == settings.page_limit_default
    assert params["q"]["schema"]["maxLength"] == 100


def test_openapi_documents_every_accepted_parameter(openapi):
    documented = {p["name"] for p in openapi["paths"]["/facilities"]["get"]["parameters"]}
    assert documented == FACILITY_PARAMS


def test_every_documented_parameter_is_accepted(client, openapi):
    examples = {
        "bbox": "116,31,118,33",
        "kind": "service_area",
        "status": "open",
        "amenity": "shower",
        "city": HEFEI,
        "county": "肥东县",
        "township": "撮镇镇",
        "q": "服务区",
        "limit": "10",
        "offset": "0",
        "f": "json",
    }
    for parameter in openapi["paths"]["/facilities"]["get"]["parameters"]:
        name = parameter["name"]
        response = client.get(f"{API}/facilities", query_string={name: examples[name]})
        assert response.status_code == 200, (name, response.get_data(as_text=True)[:500])


# ---- errors outside the views ---------------------------------------------------------------
@pytest.mark.parametrize("path", [f"{API}/nope", f"{API}/", "/api/v2/facilities", "/api/"])
def test_unknown_api_path_is_a_json_404(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert response.mimetype == "application/json"
    error = response.get_json()["error"]
    assert error["code"] == "not_found" and error["message"]


_WRITABLE = {
    f"{API}/facilities": {"post"},
    f"{API}/facilities/osm:way/161679435": {"patch", "delete"},
}
_NOT_ALLOWED = [
    (path, method)
    for path in [f"{API}/facilities", f"{API}/facilities/osm:way/161679435", f"{API}/openapi.json"]
    for method in ["post", "put", "delete", "patch"]
    if method not in _WRITABLE.get(path, ())  # the write methods: tests/test_admin.py
]


@pytest.mark.parametrize(("path", "method"), _NOT_ALLOWED)
def test_other_methods_are_a_json_405(client, method, path):
    response = getattr(client, method)(path, json={"name": "x"})
    assert response.status_code == 405
    assert response.mimetype == "application/json"
    error = response.get_json()["error"]
    assert error["code"] == "method_not_allowed" and error["message"]


def test_405_names_the_allowed_methods(client):
    response = client.put(f"{API}/facilities")
    assert response.status_code == 405
    assert set(response.headers["Allow"].replace(" ", "").split(",")) >= {"GET", "HEAD", "POST"}


# ---- a real socket --------------------------------------------------------------------------
def _fetch(url: str, headers: dict | None = None) -> tuple[int, dict, bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, dict(exc.headers), exc.read()


def test_over_a_real_socket(app):
    expected = ids_within(admin_polygon(HEFEI_CODE), "service_area")
    with LiveServer(app) as server:
        url = (
            f"{server.url}{API}/facilities?"
            f"{urlencode({'kind': 'service_area', 'city': HEFEI, 'limit': 10})}"
        )
        seen: list[str] = []
        etag = None
        while url:
            status, headers, data = _fetch(url)
            assert status == 200
            assert headers["Content-Type"].startswith("application/geo+json")
            etag = etag or headers["ETag"]
            body = json.loads(data)
            assert body["numberMatched"] == len(expected)
            seen += ids_of(body)
            links = {link["rel"]: link["href"] for link in body["links"]}
            assert links["self"].startswith(server.url)  # links name the real host and port
            url = links.get("next")
        assert sorted(seen) == sorted(expected)

        first = (
            f"{server.url}{API}/facilities?"
            f"{urlencode({'kind': 'service_area', 'city': HEFEI, 'limit': 10})}"
        )
        status, _, data = _fetch(first, {"If-None-Match": etag})
        assert status == 304 and data == b""

        status, headers, data = _fetch(f"{server.url}{API}/facilities?limit=0")
        assert status == 400
        assert json.loads(data)["error"]["field"] == "limit"

        status, _, data = _fetch(f"{server.url}{API}/facilities/osm:way/161679435")
        assert status == 200 and json.loads(data)["properties"]["name"] == "文集服务区"

        # concurrent readers, each thread with its own database connection
        results: list[int] = []
        errors: list[BaseException] = []

        def read() -> None:
            try:
                _, _, payload = _fetch(f"{server.url}{API}/facilities?limit=1000")
                results.append(json.loads(payload)["numberMatched"])
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=read) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert not errors
        assert results == [ALL] * 8
