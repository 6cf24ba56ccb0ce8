"""Service areas as drivers know them (:mod:`locator.service_areas`): the carriageway sides
of one place paired, unnamed ones named after what lies near, and "both directions".

Points are placed at exact geodesic distances (pyproj, WGS-84) from a start, so each case
says how far apart its sides are; expected groups and names are written out by hand.
"""

from __future__ import annotations

import json
import re

import pyproj
import pytest

from locator.model import AdminUnit, CandidateSite, Facility
from locator.nearest import FacilityQuery, NearestIndex
from locator.service_areas import (
    BOTH_DIRECTIONS,
    SIDES,
    ServiceAreas,
    landmarks,
    split_name,
)
from locator.web import create_app

GEOD = pyproj.Geod(ellps="WGS84")
START = (117.0, 32.0)


def at(metres_east: float = 0.0, metres_north: float = 0.0, start=START) -> tuple[float, float]:
    """The point ``metres_east`` then ``metres_north`` of ``start``."""
    lon, lat, _ = GEOD.fwd(*start, 90.0, metres_east) if metres_east else (*start, 0)
    if metres_north:
        lon, lat, _ = GEOD.fwd(lon, lat, 0.0, metres_north)
    return float(lon), float(lat)


def area(fid: str, name: str, point: tuple[float, float], **fields) -> Facility:
    return Facility(fid, name, "service_area", *point, **fields)


def groups(areas: ServiceAreas) -> list[list[str]]:
    return sorted(sorted(s.id for s in p.sides) for p in areas.places)


# ---- names -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("合肥服务区（东区）", ("合肥服务区", "合肥服务区", "东区")),
        ("合肥服务区(西区)", ("合肥服务区", "合肥服务区", "西区")),
        ("合肥服务区北行", ("合肥服务区", "合肥服务区", "北行")),
        ("合肥服务区 南京方向", ("合肥服务区", "合肥服务区", "南京方向")),
        ("寒亭服務区", ("寒亭服务区", "寒亭服務区", None)),
        ("高速服务区（未命名）", (None, None, None)),
        ("服务区", (None, None, None)),
        ("", (None, None, None)),
        (None, (None, None, None)),
    ],
)
def test_split_name(name, expected):
    assert split_name(name) == expected


# ---- pairing ---------------------------------------------------------------------------
def test_the_two_sides_of_one_name_are_one_place_with_east_and_west():
    areas = ServiceAreas(
        [area("a", "君王服务区", at()), area("b", "君王服务区", at(metres_east=400))]
    )
    [place] = areas.places
    assert place.name == "君王服务区" and not place.name_derived and place.paired
    assert [(s.id, s.side) for s in place.sides] == [("a", "west"), ("b", "east")]
    assert areas.place_key("a") == areas.place_key("b") == "a"
    assert areas.summary() == {
        "points": 2,
        "places": 1,
        "paired": 1,
        "single": 0,
        "named_derived": 0,
        "unnamed_kept": 0,
    }


def test_direction_suffixes_and_traditional_forms_pair_and_keep_their_direction():
    areas = ServiceAreas(
        [
            area("a", "寒亭服務区（合肥方向）", at()),
            area("b", "寒亭服务区(南京方向)", at(metres_north=-300)),
        ]
    )
    [place] = areas.places
    assert [(s.side, s.direction) for s in place.sides] == [
        ("north", "合肥方向"),
        ("south", "南京方向"),
    ]
    props = areas.properties("b")
    assert props["place_id"] == "a" and props["side"] == "south"
    assert props["direction"] == "南京方向"
    assert [s["id"] for s in props["sides"]] == ["a", "b"]
    assert props["sides"][1]["coordinates"] == list(at(metres_north=-300))
    assert "name_derived" not in props  # both sides are named


@pytest.mark.parametrize(
    ("names", "apart_m", "expected"),
    [
        (("君王服务区", "君王服务区"), 2900, [["a", "b"]]),  # the same name, within 3 km
        (("君王服务区", "君王服务区"), 3200, [["a"], ["b"]]),  # ... but not beyond
        (("", "高速服务区（未命名）"), 1400, [["a", "b"]]),  # unnamed, within 1.5 km
        (("", ""), 1700, [["a"], ["b"]]),
        (("君王服务区", "服务区"), 1000, [["a", "b"]]),  # an unnamed one joins a named one
        (("君王服务区", ""), 2000, [["a"], ["b"]]),
        (("君王服务区", "釜山服务区"), 200, [["a"], ["b"]]),  # two names: two places
    ],
)
def test_pairing_limits(names, apart_m, expected):
    areas = ServiceAreas([area("a", names[0], at()), area("b", names[1], at(metres_east=apart_m))])
    assert groups(areas) == expected


def test_a_chain_of_areas_along_a_road_is_not_one_place():
    # Three of one name 2.5 km apart: the ends lie 5 km apart, beyond the 3 km of a place.
    chain = [area(f"s{i}", "长岭服务区", at(metres_east=2500 * i)) for i in range(3)]
    found = groups(ServiceAreas(chain))
    assert found == [["s0", "s1"], ["s2"]]


def test_other_kinds_and_statuses():
    closed = area("b", "君王服务区", at(metres_east=300), status="closed")
    home = Facility("h", "君王服务区", "driver_home", *at(metres_east=100))
    areas = ServiceAreas([area("a", "君王服务区", at()), closed, home])
    assert groups(areas) == [["a", "b"]]  # a closed side is still a side
    assert areas.place_of("h") is None and areas.place_key("h") == "h"


# ---- derived names ---------------------------------------------------------------------
def junction(name: str, point) -> CandidateSite:
    return CandidateSite(f"j:{name}", "junction", name, *point)


def township(name: str, point) -> AdminUnit:
    return AdminUnit(f"t:{name}", name, "township", "c", seat_lon=point[0], seat_lat=point[1])


def unnamed_pair(start=START) -> list[Facility]:
    return [
        area("u1", "高速服务区（未命名）", at(start=start), county="长丰县"),
        area("u2", "", at(metres_east=300, start=start), county="长丰县"),
    ]


@pytest.mark.parametrize(
    ("marks", "expected"),
    [
        # A junction named like a service area within 2 km: its name.
        (
            [junction("釜山服务区", at(metres_north=1800)), junction("陶楼枢纽", at(150))],
            "釜山服务区",
        ),
        # Else the nearest named junction within 10 km.
        (
            [junction("釜山服务区", at(metres_north=2300)), junction("陶楼枢纽", at(9500))],
            "陶楼枢纽附近服务区",
        ),
        ([junction("王铁", at(4000)), junction("陶楼枢纽", at(6000))], "王铁附近服务区"),
        # Else the nearest township seat within 15 km.
        (
            [junction("陶楼枢纽", at(10_500)), township("吴山镇", at(metres_north=14_000))],
            "吴山镇附近服务区",
        ),
        # Else its county.
        ([township("吴山镇", at(metres_north=15_500))], "长丰县境内服务区"),
    ],
)
def test_unnamed_places_take_the_name_of_what_lies_near(marks, expected):
    junctions = [m for m in marks if isinstance(m, CandidateSite)]
    units = [m for m in marks if isinstance(m, AdminUnit)]
    areas = ServiceAreas(unnamed_pair(), landmarks(junctions, units))
    [place] = areas.places
    assert (place.name, place.name_derived) == (expected, True)
    assert areas.derived_names == {"u1": expected, "u2": expected}
    assert [f.name for f in areas.renamed(unnamed_pair())] == [expected, expected]
    assert areas.properties("u2")["name_derived"] is True
    assert areas.properties("u2")["place_name"] == expected


def test_two_places_given_one_name_are_told_apart():
    west = unnamed_pair()
    east = [f.replace(id=f"e{f.id}", lon=f.lon + 0.25) for f in unnamed_pair()]
    three = [f.replace(id=f"x{f.id}", lon=f.lon + 0.5) for f in unnamed_pair()]
    areas = ServiceAreas(west + east)
    assert [p.name for p in areas.places] == ["长丰县境内服务区（东）", "长丰县境内服务区（西）"]
    assert areas.derived_names["u2"] == "长丰县境内服务区（西）"
    assert areas.derived_names["eu1"] == "长丰县境内服务区（东）"
    # Three in a row: the middle one lies nowhere from the others; numbered.
    names = sorted(p.name for p in ServiceAreas(west + east + three).places)
    assert names == [f"长丰县境内服务区（{n}）" for n in (1, 2, 3)]
    # A derived name that a named place has too: only the derived one changes.
    named = area("n", "釜山服务区", at(metres_east=-8000))
    marks = landmarks([junction("釜山服务区", at(metres_north=1000))])
    areas = ServiceAreas([*unnamed_pair(), named], marks)
    assert sorted((p.name, p.name_derived) for p in areas.places) == [
        ("釜山服务区", False),
        ("釜山服务区（东）", True),
    ]


def test_without_anything_near_nor_a_county_the_stored_name_stays():
    alone = [area("u", "高速服务区（未命名）", at())]
    areas = ServiceAreas(alone, landmarks([junction("陶楼枢纽", at(20_000))]))
    [place] = areas.places
    assert (place.name, place.name_derived) == ("高速服务区（未命名）", False)
    assert areas.derived_names == {} and areas.properties("u") == {}


def test_an_unnamed_side_of_a_named_place_takes_its_name_not_a_derived_one():
    sides = [area("a", "南漪湖服务区", at()), area("b", "", at(metres_east=500))]
    areas = ServiceAreas(sides, landmarks([junction("陶楼枢纽", at(1000))]))
    [place] = areas.places
    assert (place.name, place.name_derived) == ("南漪湖服务区", False)
    assert areas.derived_names == {"b": "南漪湖服务区"}
    assert [f.name for f in areas.one_per_place(sides)] == ["南漪湖服务区"]


# ---- one result per place, "both directions" -------------------------------------------
def facilities_for_search() -> list[Facility]:
    return [
        area("sa:east", "君王服务区", at(100), amenities=frozenset({"shower"})),
        area("sa:west", "君王服务区", at(-300)),
        Facility("home", "司机之家", "driver_home", *at(metres_north=200)),
        Facility("park", "物流园", "logistics_park", *at(metres_north=-150)),
    ]


def test_the_nearest_side_stands_for_its_place_and_serves_both_directions():
    facilities = facilities_for_search()
    index = NearestIndex(facilities, places=ServiceAreas(facilities))
    hits = index.nearest(
        *START, k=3, query=FacilityQuery(kinds=frozenset({"service_area", "driver_home"}))
    )
    assert [h.facility.id for h in hits] == ["sa:east", "home"]  # k places; one per place
    feature = hits[0].to_feature()
    props = feature["properties"]
    assert props["serves"] == "both" and props["name"] == "君王服务区"
    assert sorted(s["id"] for s in props["sides"]) == ["sa:east", "sa:west"]
    assert props["distance_m"] == pytest.approx(100, abs=0.5)
    assert "serves" not in hits[1].to_feature()["properties"]


def test_a_place_whose_other_side_lacks_the_amenity_serves_one_side():
    facilities = facilities_for_search()
    index = NearestIndex(facilities, places=ServiceAreas(facilities))
    query = FacilityQuery(amenities=frozenset({"shower"}))
    [hit] = index.nearest(*at(-320), k=5, query=query)  # nearer the west side
    props = hit.to_feature()["properties"]
    assert hit.facility.id == "sa:east" and props["serves"] == "one_side"
    assert props["side"] == "east"


def test_amenity_data_counts_places_with_any_data():
    facilities = facilities_for_search()
    index = NearestIndex(facilities, places=ServiceAreas(facilities))
    hits = index.nearest(*START, k=5)
    assert [h.facility.id for h in hits] == ["sa:east", "park", "home"]
    data = index.amenity_data(hits, ["shower", "laundry"])
    assert data == {"nearby": 3, "with_data": 1, "with": {"shower": 1, "laundry": 0}}


def test_without_places_every_side_is_its_own_result():
    facilities = facilities_for_search()
    hits = NearestIndex(facilities).nearest(*START, k=5)
    assert [h.facility.id for h in hits] == ["sa:east", "park", "home", "sa:west"]


# ---- labels in both languages ----------------------------------------------------------
def test_labels_in_chinese_and_english():
    assert BOTH_DIRECTIONS == {"zh": "双向", "en": "both directions"}
    assert SIDES["east"] == {"zh": "东侧", "en": "east side"}
    assert {v["zh"] for v in SIDES.values()} == {"东侧", "西侧", "北侧", "南侧"}


@pytest.mark.parametrize(
    ("lang", "texts"),
    [
        (
            "zh",
            {
                "bothDirections": "双向",
                "oneSide": "仅{side}",
                "noAmenityData": "附近站点暂无{amenities}信息",
                "side": "东侧",
                "shower": "淋浴",
                "kinds": ("全部休息站点", "全部类型（含物流园区）"),
            },
        ),
        (
            "en",
            {
                "bothDirections": "both directions",
                "oneSide": "{side} only",
                "noAmenityData": "No {amenities} information for nearby stations",
                "side": "east side",
                "shower": "Shower",
                "kinds": ("Places to stop", "All kinds, logistics parks included"),
            },
        ),
    ],
)
def test_the_driver_page_labels(sqlite_url, lang, texts):
    app = create_app({"database_url": sqlite_url, "tiles": "none"})
    html = app.test_client().get(f"/?lang={lang}").get_data(as_text=True)
    config = json.loads(re.search(r'<script[^>]*id="config"[^>]*>(.*?)</script>', html, re.S)[1])
    for key in ("bothDirections", "oneSide", "noAmenityData"):
        assert config["text"][key] == texts[key]
    assert config["sides"]["east"] == texts["side"]
    assert config["amenities"]["shower"] == texts["shower"]
    # The kind filter: places to stop first (selected), every kind last.
    options = re.findall(r'<option value="([^"]*)"( selected)?>([^<]*)</option>', html)
    assert options[0] == ("", " selected", texts["kinds"][0])
    assert options[-1] == ("any", "", texts["kinds"][1])
    assert [value for value, _, _ in options[1:-1]][-1] == "logistics_park"
