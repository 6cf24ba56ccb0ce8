"""The in-memory catalog: filters equal a plain Python scan; reload on data version."""

from __future__ import annotations

import random

import pytest
from werkzeug.datastructures import MultiDict

from locator.catalog import Catalog, CatalogCache, FacilityFilter
from locator.errors import InvalidParameter, NotFound
from locator.model import AMENITIES, KINDS, STATUSES, Facility
from locator.params import parse_filter


def random_facilities(n: int, seed: int = 7) -> list[Facility]:
    rng = random.Random(seed)
    cities = [("合肥市", "340100"), ("芜湖市", "340200"), (None, None)]
    facilities = []
    for i in range(n):
        city, code = rng.choice(cities)
        facilities.append(
            Facility(
                id=f"f{i:04d}",
                name=f"站点{i} {rng.choice(['司机之家', '驿站', 'Rest'])}",
                kind=rng.choice(list(KINDS)),
                lon=rng.uniform(114.8, 119.7),
                lat=rng.uniform(29.4, 34.7),
                status=rng.choice(list(STATUSES)),
                amenities=frozenset(rng.sample(list(AMENITIES), rng.randint(0, 4))),
                city=city,
                city_code=code,
                address=rng.choice([None, "物流园路1号"]),
            )
        )
    return facilities


FILTERS = [
    FacilityFilter(),
    FacilityFilter(kinds=frozenset({"driver_home", "service_area"})),
    FacilityFilter(statuses=frozenset({"open"}), amenities=frozenset({"shower"})),
    FacilityFilter(amenities=frozenset({"shower", "laundry"})),
    FacilityFilter(bbox=(116.0, 30.0, 118.0, 32.5)),
    FacilityFilter(city="合肥市"),
    FacilityFilter(city="340200", kinds=frozenset({"other"})),
    FacilityFilter(q="司机之家"),
    FacilityFilter(q="物流园"),
    FacilityFilter(q="rest", bbox=(114, 29, 120, 35)),
]


def scan(facilities, flt: FacilityFilter):
    """The obvious loop, as the reference."""
    kept = []
    for f in facilities:
        if flt.bbox and not (
            flt.bbox[0] <= f.lon <= flt.bbox[2] and flt.bbox[1] <= f.lat <= flt.bbox[3]
        ):
            continue
        if flt.kinds and f.kind not in flt.kinds:
            continue
        if flt.statuses and f.status not in flt.statuses:
            continue
        if not flt.amenities <= f.amenities:
            continue
        if flt.city and flt.city not in (f.city, f.city_code):
            continue
        text = " ".join(filter(None, (f.name, f.address, f.township, f.county, f.city)))
        if flt.q and flt.q.lower() not in text.lower():
            continue
        kept.append(f.id)
    return sorted(kept)


@pytest.mark.parametrize("flt", FILTERS)
def test_filters_equal_a_scan(flt):
    facilities = random_facilities(2000)
    catalog = Catalog(facilities)
    page = catalog.query(flt, limit=5000)
    assert [f.id for f in page.items] == scan(facilities, flt)
    assert page.number_matched == len(page.items)


def test_paging_covers_every_match_once():
    catalog = Catalog(random_facilities(500))
    flt = FacilityFilter(kinds=frozenset({"driver_home", "other"}))
    expected = scan(catalog.facilities, flt)
    seen = []
    for offset in range(0, len(expected) + 40, 40):
        page = catalog.query(flt, limit=40, offset=offset)
        assert page.number_matched == len(expected)
        seen += [f.id for f in page.items]
    assert seen == expected


def test_bbox_across_the_antimeridian():
    catalog = Catalog(
        [
            Facility("east", "e", "other", 179.5, 0.0),
            Facility("west", "w", "other", -179.5, 0.0),
            Facility("mid", "m", "other", 0.0, 0.0),
        ]
    )
    page = catalog.query(FacilityFilter(bbox=(179.0, -1.0, -179.0, 1.0)))
    assert [f.id for f in page.items] == ["east", "west"]


def test_get_unknown_id():
    with pytest.raises(NotFound):
        Catalog([]).get("nope")


def test_parse_filter_accepts_repeated_and_comma_separated_values():
    flt = parse_filter(
        MultiDict(
            [
                ("kind", "driver_home,服务区"),
                ("kind", "驿站"),
                ("amenity", "shower"),
                ("bbox", "116,30,118,32"),
            ]
        )
    )
    assert flt.kinds == {"driver_home", "service_area", "service_point"}
    assert flt.amenities == {"shower"}
    assert flt.bbox == (116.0, 30.0, 118.0, 32.0)


@pytest.mark.parametrize(
    "args, field",
    [
        ({"bbox": "1,2,3"}, "bbox"),
        ({"bbox": "a,b,c,d"}, "bbox"),
        ({"bbox": "0,50,10,40"}, "bbox"),
        ({"bbox": "0,0,0,95"}, "bbox"),
        ({"kind": "shop"}, "kind"),
        ({"status": "gone"}, "status"),
        ({"amenity": "sauna"}, "amenity"),
        ({"q": "x" * 101}, "q"),
    ],
)
def test_parse_filter_errors_name_the_field(args, field):
    with pytest.raises(InvalidParameter) as info:
        parse_filter(MultiDict(args))
    assert info.value.field == field


def test_cache_rebuilds_only_when_the_data_version_moves(storage):
    builds = []

    def build(store):
        builds.append(store.data_version())
        return Catalog.from_storage(store)

    cache = CatalogCache(storage, build)
    assert len(cache.current()) == 0
    assert cache.current() is cache.current()
    storage.upsert_facilities([Facility("a", "站", "driver_home", 117.2, 31.8)])
    assert [f.id for f in cache.current().facilities] == ["a"]
    storage.upsert_facilities([Facility("a", "站", "driver_home", 117.2, 31.8)])  # unchanged
    cache.current()
    assert builds == [0, 1]


def test_cache_sees_own_writes_at_once_and_other_processes_within_the_interval(sqlite_url):
    import subprocess
    import sys
    import time

    from locator.storage import open_storage

    storage = open_storage(sqlite_url, init=True)
    cache = CatalogCache(storage, check_interval_s=0.3)
    assert len(cache.current()) == 0
    storage.upsert_facilities([Facility("mine", "站", "driver_home", 117.2, 31.8)])
    assert [f.id for f in cache.current().facilities] == ["mine"]  # own write: at once
    script = (
        "from locator.storage import open_storage; from locator.model import Facility; "
        f"s = open_storage({sqlite_url!r}); "
        "s.upsert_facilities([Facility('theirs', '站', 'driver_home', 117.3, 31.9)])"
    )
    subprocess.run([sys.executable, "-c", script], check=True)
    time.sleep(0.35)
    assert [f.id for f in cache.current().facilities] == ["mine", "theirs"]
    storage.close()
