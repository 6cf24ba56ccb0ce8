"""Nearest and along-route search, checked against brute-force haversine on the sphere."""

from __future__ import annotations

import datetime as dt
import json
import random

import numpy as np
import pytest

from locator.crs import haversine_m
from locator.errors import InvalidParameter
from locator.hours import open_state
from locator.model import AMENITIES, KINDS, STATUSES, Facility
from locator.nearest import FacilityQuery, NearestIndex, bearing_deg
from tests.web_fixtures import GEODATA

SHANGHAI = dt.timezone(dt.timedelta(hours=8))
HOURS = [
    None,
    "24/7",
    "Mo-Su 08:00-20:00",
    "Mo-Su 22:00-06:00",
    "Mo-Fr 09:00-17:00",
    "not hours at all",
]


def random_facilities(n: int, seed: int = 3, box=(114.8, 29.4, 119.7, 34.7)) -> list[Facility]:
    rng = random.Random(seed)
    facilities = []
    for i in range(n):
        facilities.append(
            Facility(
                id=f"f{i:05d}",
                name=f"站{i}",
                kind=rng.choice(list(KINDS)),
                lon=rng.uniform(box[0], box[2]),
                lat=rng.uniform(box[1], box[3]),
                status=rng.choice(list(STATUSES) + ["open"] * 3),
                amenities=frozenset(rng.sample(list(AMENITIES), rng.randint(0, 5))),
                hours=rng.choice(HOURS),
                truck_parking_spaces=rng.choice([None, 0, 10, 50]),
            )
        )
    # Exact ties: several facilities at one spot.
    for j in range(4):
        facilities.append(
            Facility(
                id=f"tie{j}",
                name="同点",
                kind="driver_home",
                lon=117.0,
                lat=31.5,
                amenities=frozenset({"shower"}),
            )
        )
    return facilities


def matches(f: Facility, query: FacilityQuery) -> bool:
    """The filter, written out plainly."""
    if query.kinds and f.kind not in query.kinds:
        return False
    if query.statuses and f.status not in query.statuses:
        return False
    if not query.amenities <= f.amenities:
        return False
    if query.min_truck_parking is not None and (
        f.truck_parking_spaces is None or f.truck_parking_spaces < query.min_truck_parking
    ):
        return False
    return not query.open_now or open_state(f.hours, query.at) == "open"


def brute_force(kept, lon, lat, k, max_km=None):
    """Haversine distance to every kept facility, sorted by (distance, id)."""
    if not kept:
        return []
    d = haversine_m(lon, lat, np.array([f.lon for f in kept]), np.array([f.lat for f in kept]))
    rows = sorted(
        (float(dist), f.id)
        for dist, f in zip(d, kept, strict=True)
        if max_km is None or dist <= max_km * 1000
    )
    return rows[:k]


QUERIES = [
    (FacilityQuery(), None),
    (FacilityQuery(statuses=frozenset()), None),
    (FacilityQuery(kinds=frozenset({"driver_home"})), None),
    (
        FacilityQuery(
            kinds=frozenset({"legal_aid", "service_area"}), amenities=frozenset({"shower"})
        ),
        None,
    ),
    (FacilityQuery(amenities=frozenset({"shower", "laundry"})), 80.0),
    (FacilityQuery(min_truck_parking=10), None),
    (FacilityQuery(open_now=True, at=dt.datetime(2026, 11, 30, 23, 30, tzinfo=SHANGHAI)), None),
    (FacilityQuery(open_now=True, at=dt.datetime(2026, 11, 29, 12, 0, tzinfo=SHANGHAI)), 50.0),
    (FacilityQuery(), 3.0),
]


@pytest.mark.parametrize("query, max_km", QUERIES)
def test_nearest_equals_brute_force(query, max_km):
    facilities = random_facilities(3000)
    index = NearestIndex(facilities)
    kept = [f for f in facilities if matches(f, query)]
    rng = random.Random(11)
    for _ in range(400):
        lon, lat = rng.uniform(114, 120.5), rng.uniform(29, 35.2)
        k = rng.choice([1, 5, 10, 50])
        hits = index.nearest(lon, lat, k, query, max_km=max_km)
        expected = brute_force(kept, lon, lat, k, max_km)
        assert [h.facility.id for h in hits] == [fid for _, fid in expected]
        assert np.allclose([h.distance_m for h in hits], [d for d, _ in expected], atol=1.0)


def test_ties_are_ordered_by_id_and_k_larger_than_matches():
    facilities = random_facilities(500)
    index = NearestIndex(facilities)
    hits = index.nearest(
        117.0,
        31.5,
        3,
        FacilityQuery(kinds=frozenset({"driver_home"}), amenities=frozenset({"shower"})),
    )
    assert [h.facility.id for h in hits] == ["tie0", "tie1", "tie2"]
    assert all(h.distance_m < 0.01 for h in hits)
    few = index.nearest(
        117.0,
        31.5,
        50,
        FacilityQuery(kinds=frozenset({"legal_aid"}), amenities=frozenset(AMENITIES)),
    )
    assert few == []
    legal = [f for f in facilities if f.kind == "legal_aid" and f.status == "open"]
    hits = index.nearest(117.0, 31.5, 50, FacilityQuery(kinds=frozenset({"legal_aid"})))
    assert len(hits) == min(50, len(legal))


def test_results_carry_bearing_and_labelled_estimate():
    index = NearestIndex(
        [
            Facility("n", "北", "driver_home", 117.0, 32.0),
            Facility("e", "东", "driver_home", 117.5, 31.5),
        ]
    )
    north, east = index.nearest(117.0, 31.6, 1)[0], index.nearest(117.5, 31.6, 1)[0]
    assert north.facility.id == "n" and north.bearing_deg == pytest.approx(0.0, abs=0.01)
    assert east.facility.id == "e" and east.bearing_deg == pytest.approx(180.0, abs=0.01)
    feature = north.to_feature()["properties"]
    expected = float(haversine_m(117.0, 31.6, 117.0, 32.0))
    assert feature["distance_m"] == pytest.approx(expected, abs=0.1)
    # straight line x 1.3 at 50 km/h
    assert feature["drive_minutes_estimate"] == pytest.approx(
        expected / 1000 * 1.3 / 50 * 60, abs=0.1
    )
    assert float(bearing_deg(117.0, 31.5, 118.0, 31.5)) == pytest.approx(89.74, abs=0.01)


@pytest.mark.parametrize(
    "hours, when, state",
    [
        ("24/7", dt.datetime(2026, 11, 30, 3, 0), "open"),
        ("Mo-Su 22:00-06:00", dt.datetime(2026, 11, 30, 23, 59), "open"),
        ("Mo-Su 22:00-06:00", dt.datetime(2026, 12, 1, 0, 1), "open"),
        ("Mo-Su 22:00-06:00", dt.datetime(2026, 12, 1, 6, 1), "closed"),
        ("Mo-Fr 09:00-17:00", dt.datetime(2026, 11, 29, 10, 0), "closed"),  # a Sunday
        ("Mo-Fr 09:00-17:00", dt.datetime(2026, 11, 30, 10, 0), "open"),
        ("garbage", dt.datetime(2026, 11, 30, 10, 0), "unknown"),
        (None, dt.datetime(2026, 11, 30, 10, 0), "unknown"),
    ],
)
def test_open_state_in_shanghai_across_midnight(hours, when, state):
    assert open_state(hours, when.replace(tzinfo=SHANGHAI)) == state
    # The same instant given in UTC is evaluated on Shanghai's clock.
    assert open_state(hours, when.replace(tzinfo=SHANGHAI).astimezone(dt.UTC)) == state


def test_open_now_never_counts_unknown_hours_as_open():
    index = NearestIndex(
        [
            Facility("bad", "坏", "driver_home", 117.0, 31.5, hours="whenever"),
            Facility("none", "无", "driver_home", 117.0, 31.5),
            Facility("far", "远", "driver_home", 118.0, 32.5, hours="24/7"),
        ]
    )
    hits = index.nearest(117.0, 31.5, 3, FacilityQuery(open_now=True))
    assert [h.facility.id for h in hits] == ["far"]


@pytest.mark.parametrize("k", [0, 51, -1])
def test_k_out_of_range(k):
    with pytest.raises(InvalidParameter) as info:
        NearestIndex(random_facilities(10)).nearest(117, 31, k)
    assert info.value.field == "k"


def test_empty_index():
    assert NearestIndex([]).nearest(117, 31, 5) == []
    assert NearestIndex([]).along_route([[117, 31], [118, 32]]) == []


# ---- along a route --------------------------------------------------------------------------
def test_along_route_matches_brute_force_on_a_densified_line():
    facilities = random_facilities(3000, seed=5)
    index = NearestIndex(facilities)
    route = [[115.5, 30.0], [116.8, 31.2], [117.3, 31.9], [118.6, 32.3], [119.2, 33.8]]
    hits = index.along_route(route, buffer_km=5, query=FacilityQuery(statuses=frozenset()))
    # Reference: distance to a dense sampling of the same great-circle pieces.
    from locator.nearest import _Polyline

    dense = _Polyline(np.asarray(route, float), max_step_m=20.0)
    lat = np.degrees(np.arcsin(dense.vertices[:, 2]))
    lon = np.degrees(np.arctan2(dense.vertices[:, 1], dense.vertices[:, 0]))
    expected = {}
    for f in facilities:
        d = haversine_m(f.lon, f.lat, lon, lat)
        j = int(np.argmin(d))
        if d[j] <= 5000 - 15:
            expected[f.id] = (dense.cumulative[j], d[j])
    found = {h.facility.id: (h.distance_along_m, h.offset_m) for h in hits}
    assert set(expected) <= set(found)
    for fid, (along, offset) in found.items():
        assert offset <= 5000
        if fid in expected:
            assert along == pytest.approx(expected[fid][0], abs=25)
            assert offset == pytest.approx(expected[fid][1], abs=2)
    alongs = [h.distance_along_m for h in hits]
    assert alongs == sorted(alongs)


def test_along_a_real_expressway_lists_service_areas_in_driving_order():
    """G40 (沪陕高速) east of Hefei: 文集 then 大墅 service areas, then Nanjing."""
    features = json.loads(
        (GEODATA / "anhui_expressway_service_areas_osm.geojson").read_text(encoding="utf-8")
    )["features"]
    facilities = [
        Facility(
            f"osm:{f['properties']['osm_id']}",
            f["properties"]["name"] or "?",
            "service_area",
            *f["geometry"]["coordinates"],
        )
        for f in features
    ]
    index = NearestIndex(facilities)
    positions = {f.name: (f.lon, f.lat) for f in facilities}
    route = [
        [117.30, 31.87],
        list(positions["文集服务区"]),
        list(positions["大墅服务区"]),
        [118.60, 32.10],
    ]
    hits = index.along_route(route, buffer_km=2)
    names = [h.facility.name for h in hits]
    assert names.index("文集服务区") < names.index("大墅服务区")
    driving_west = index.along_route(route[::-1], buffer_km=2)
    west_names = [h.facility.name for h in driving_west]
    assert west_names.index("大墅服务区") < west_names.index("文集服务区")
    ahead = index.along_route(route, buffer_km=2, position=(117.9, 32.0))
    assert "文集服务区" not in [h.facility.name for h in ahead]
    assert "大墅服务区" in [h.facility.name for h in ahead]


@pytest.mark.parametrize(
    "route, message",
    [
        ([[117, 31]], "at least 2"),
        ({"type": "Point", "coordinates": [117, 31]}, "LineString"),
        ([[117, 31], [200, 31]], "route point 1"),
        ([[117, 31], "x"], "route point 1"),
        ([[117, 31]] * 5001, "more than"),
    ],
)
def test_malformed_routes_name_the_field(route, message):
    with pytest.raises(InvalidParameter, match=message) as info:
        NearestIndex(random_facilities(10)).along_route(route)
    assert info.value.field == "route"


@pytest.mark.parametrize("buffer_km", [0, -1, 51])
def test_buffer_out_of_range(buffer_km):
    with pytest.raises(InvalidParameter) as info:
        NearestIndex(random_facilities(10)).along_route([[117, 31], [118, 32]], buffer_km=buffer_km)
    assert info.value.field == "buffer_km"
