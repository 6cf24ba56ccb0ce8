"""The storage contract: every test runs on SQLite and on PostGIS (the ``storage`` fixture)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import sqlite3
import threading

import psycopg
import pytest
import shapely
from click.testing import CliRunner
from shapely.geometry import box

from locator.accounts import User
from locator.cli import main as cli_main
from locator.clock import FixedClock
from locator.driver_reports import Report
from locator.errors import Conflict, NotFound, StorageError
from locator.model import AdminUnit, CandidateSite, Facility
from locator.storage import base, open_storage
from locator.web import create_app

# Hefei, Anhui: a city square, a county inside it and a township inside the county.
CITY = AdminUnit(
    code="340100",
    name="合肥市",
    level="city",
    parent_code="340000",
    geometry=box(116.9, 31.5, 117.7, 32.2),
    seat_lon=117.227,
    seat_lat=31.820,
    demand={"trucks": 1200.5, "riders": 30000.0},
    extra={"拼音": "Hefei", "rank": 1, "tags": ["省会", "capital"]},
)
COUNTY = AdminUnit(
    code="340104",
    name="蜀山区",
    level="county",
    parent_code="340100",
    geometry=box(117.1, 31.7, 117.3, 31.9),
    seat_lon=117.26,
    seat_lat=31.85,
)
TOWNSHIP = AdminUnit(
    code="340104001",
    name="三里庵街道",
    level="township",
    parent_code="340104",
    geometry=box(117.20, 31.80, 117.25, 31.85),
)

IN_TOWNSHIP = (117.22, 31.83)
IN_COUNTY_ONLY = (117.15, 31.75)
IN_CITY_ONLY = (117.5, 32.0)
OUTSIDE = (118.8, 32.05)  # Nanjing

NO_ADMIN = dict.fromkeys(
    ("city", "city_code", "county", "county_code", "township", "township_code")
)


def facility(fid: str = "", **changes) -> Facility:
    values = dict(
        id=fid, name=f"司机之家 {fid}", kind="driver_home", lon=117.22, lat=31.83, status="open"
    )
    values.update(changes)
    return Facility(**values)


def snapshot(storage) -> tuple:
    """Everything a write could change."""
    return (
        storage.facilities(),
        storage.history(),
        storage.admin_units(),
        storage.candidates(),
        storage.data_version(),
    )


# ---- schema and URLs ---------------------------------------------------------------------
def test_init_schema_is_idempotent(storage):
    storage.upsert_facilities([facility("a")])
    before = snapshot(storage)
    storage.init_schema()
    storage.init_schema()
    assert snapshot(storage) == before
    assert [f.id for f in storage.facilities()] == ["a"]


def test_url_reopens_the_same_database(storage):
    assert isinstance(storage.url, str)
    assert storage.backend in ("sqlite", "postgis")
    with open_storage(storage.url) as other:
        assert other.backend == storage.backend
        assert other.url == storage.url


def test_missing_tables_raise_storage_error(database_url):
    with open_storage(database_url) as store:
        with pytest.raises(StorageError, match="not set up; run `locator init`"):
            store.facilities()
        with pytest.raises(StorageError, match="not set up"):
            store.upsert_facilities([facility("a")])
        store.init_schema()
        assert store.facilities() == []
        assert store.data_version() == 0


def _set_schema_version(storage, version: int | None) -> None:
    """Record ``version`` (None: no record, as databases made before versions were) as an
    older or newer locator would have left it."""
    with storage._transaction() as tx:
        tx.execute("DELETE FROM meta WHERE key = 'schema_version'")
        if version is not None:
            storage._write_meta(tx, "schema_version", str(version))


#: The facility columns schema version 4 added.
NEW_IN_4 = ("parking_fee", "parking_fee_note", "tier", "closed_until", "verified_on")


def _as_made_by(storage, version: int) -> None:
    """The tables as locator of schema ``version`` made them: what later versions added is
    dropped (version 1 recorded no version)."""
    with storage._transaction() as tx:
        if version < 5:
            tx.execute("DROP TABLE reports")
        if version < 4:
            for column in NEW_IN_4:
                tx.execute(f"ALTER TABLE facilities DROP COLUMN {column}")
        if version < 3:
            tx.execute("ALTER TABLE facility_history DROP COLUMN actor")
            for table in ("account_events", "api_tokens", "users"):
                tx.execute(f"DROP TABLE {table}")
        if version < 2:
            tx.execute("ALTER TABLE facility_history DROP COLUMN snapshot")
    _set_schema_version(storage, version if version > 1 else None)


def test_schema_version_is_recorded_and_checked(database_url):
    with open_storage(database_url) as store:
        assert store.schema_version() is None
        store.check_schema()  # nothing made yet: the first query says "run locator init"
        store.init_schema()
        assert store.schema_version() == base.SCHEMA_VERSION
        assert store._read_meta("schema_version") == str(base.SCHEMA_VERSION)
        store.check_schema()


def test_locator_init_upgrades_a_version_1_database(storage):
    """Version 1 (databases made before versions were recorded) kept no copy of deleted
    facilities in the history; ``locator init`` adds it and keeps every row."""
    storage.upsert_facilities([facility("a"), facility("b", lon=117.5, lat=32.0)])
    storage.delete_facility("b")
    facilities, history, *rest = snapshot(storage)
    _as_made_by(storage, 1)
    assert storage.schema_version() == 1
    with pytest.raises(
        StorageError, match="version 1 and this locator needs 6: run `locator init` to upgrade them"
    ):
        storage.check_schema()

    storage.init_schema()
    assert storage.schema_version() == base.SCHEMA_VERSION == 6
    storage.check_schema()
    # every row kept; the old deletion has no copy of "b" (version 1 kept none)
    assert snapshot(storage) == (
        facilities,
        [dataclasses.replace(e, facility=None) for e in history],
        *rest,
    )
    assert history[-1].facility is not None
    kept = storage.get_facility("a")
    storage.delete_facility("a")
    assert storage.history("a")[-1].facility == kept


def test_the_history_keeps_a_deleted_facility_as_it_was(storage):
    storage.upsert_facilities(
        [
            facility(
                "a",
                amenities=frozenset({"shower", "parking"}),
                hours="24小时",
                truck_parking_spaces=12,
                opened_on=dt.date(2025, 5, 1),
            )
        ]
    )
    kept = storage.get_facility("a")
    storage.delete_facility("a")
    [insert, delete] = storage.history("a")
    assert (insert.action, insert.facility) == ("insert", kept)  # since schema version 3
    assert delete.action == "delete" and delete.facility == kept
    assert delete.facility.amenities == frozenset({"shower", "parking"})


def test_a_newer_database_is_refused_and_left_as_it_is(storage, tmp_path):
    storage.upsert_facilities([facility("a")])
    _set_schema_version(storage, base.SCHEMA_VERSION + 1)
    before = snapshot(storage)
    newer = f"schema version {base.SCHEMA_VERSION + 1}, made by a newer locator"
    with pytest.raises(StorageError, match=newer):
        storage.check_schema()
    with pytest.raises(StorageError, match=newer):
        storage.init_schema()
    with pytest.raises(StorageError, match=newer):
        create_app({"database_url": storage.url, "tiles": "none"})
    result = CliRunner().invoke(
        cli_main, ["--database", storage.url, "export", "--out", str(tmp_path / "out.csv")]
    )
    assert result.exit_code == 2 and "upgrade locator" in result.output
    assert not (tmp_path / "out.csv").exists()
    assert snapshot(storage) == before
    assert storage._read_meta("schema_version") == str(base.SCHEMA_VERSION + 1)


def test_locator_init_migrates_an_older_database_keeping_its_data(storage, monkeypatch):
    """A future version 2 that adds a column: the mechanism ``locator init`` runs."""
    storage.upsert_facilities([facility("a"), facility("b", lon=117.5, lat=32.0)])
    before = snapshot(storage)
    monkeypatch.setattr(base, "SCHEMA_VERSION", base.SCHEMA_VERSION + 1)
    monkeypatch.setattr(
        type(storage),
        "MIGRATIONS",
        {base.SCHEMA_VERSION: ["ALTER TABLE facilities ADD COLUMN verified_by TEXT"]},
    )
    with pytest.raises(StorageError, match="run `locator init` to upgrade them"):
        storage.check_schema()
    storage.init_schema()
    assert storage.schema_version() == base.SCHEMA_VERSION
    storage.check_schema()
    assert snapshot(storage) == before
    with storage._transaction() as tx:  # the new column is there, empty
        rows = tx.execute("SELECT id, verified_by FROM facilities ORDER BY id").fetchall()
    assert [tuple(r[k] for k in ("id", "verified_by")) for r in rows] == [("a", None), ("b", None)]
    storage.init_schema()  # and once is enough
    assert snapshot(storage) == before


# ---- facilities: round trip and upsert counts ----------------------------------------------
def test_facility_round_trip_keeps_every_field(storage):
    written = facility(
        "hf-001",
        name="合肥物流园司机之家",
        kind="logistics_park",
        status="under_construction",
        lon=117.123456789012,
        lat=31.987654321098,
        address="合肥市蜀山区长江西路 1 号",
        phone="0551-12345678",
        operator="合肥市总工会",
        website="https://example.org/hf",
        hours="24 小时",
        amenities=frozenset({"shower", "wifi", "truck_parking"}),
        truck_parking_spaces=40,
        opened_on=dt.date(2024, 5, 1),
        source="union-xls",
        source_id="row-7",
    )
    before = dt.datetime.now(dt.UTC).replace(microsecond=0)
    result = storage.upsert_facilities([written])
    assert result.inserted == ["hf-001"]
    [stored] = storage.facilities()
    assert stored == storage.get_facility("hf-001")
    assert stored.name == "合肥物流园司机之家"
    assert stored.kind == "logistics_park"
    assert stored.status == "under_construction"
    assert isinstance(stored.lon, float) and isinstance(stored.lat, float)
    assert abs(stored.lon - 117.123456789012) < 1e-9
    assert abs(stored.lat - 31.987654321098) < 1e-9
    assert stored.address == "合肥市蜀山区长江西路 1 号"
    assert stored.phone == "0551-12345678"
    assert stored.operator == "合肥市总工会"
    assert stored.website == "https://example.org/hf"
    assert stored.hours == "24 小时"
    assert stored.amenities == frozenset({"shower", "wifi", "truck_parking"})
    assert isinstance(stored.amenities, frozenset)
    assert stored.truck_parking_spaces == 40
    assert stored.opened_on == dt.date(2024, 5, 1)
    assert type(stored.opened_on) is dt.date
    assert (stored.source, stored.source_id) == ("union-xls", "row-7")
    assert stored.version == 1
    assert stored.updated_at.utcoffset() == dt.timedelta(0)
    assert before <= stored.updated_at <= dt.datetime.now(dt.UTC)
    assert stored.updated_at == stored.updated_at.astimezone(dt.UTC)


def test_empty_optional_fields_round_trip(storage):
    storage.upsert_facilities([facility("bare", amenities=frozenset())])
    stored = storage.get_facility("bare")
    assert stored.amenities == frozenset()
    assert stored.opened_on is None
    assert stored.truck_parking_spaces is None
    assert (stored.address, stored.source, stored.source_id) == (None, None, None)


def test_facilities_are_ordered_by_id(storage):
    ids = ["b", "B", "a-2", "a10", "a2", "_x", "Z", "站点"]
    storage.upsert_facilities([facility(i) for i in ids])
    assert [f.id for f in storage.facilities()] == sorted(ids)


def test_upsert_counts_insert_update_unchanged(storage):
    first = storage.upsert_facilities([facility("a"), facility("b")])
    assert (first.inserted, first.updated, first.unchanged) == (["a", "b"], [], [])
    assert first.data_version == storage.data_version() == 1
    history = storage.history()

    again = storage.upsert_facilities([facility("a"), facility("b")])
    assert (again.inserted, again.updated, again.unchanged) == ([], [], ["a", "b"])
    assert not again.changed
    assert again.data_version == storage.data_version() == 1
    assert [f.version for f in storage.facilities()] == [1, 1]
    assert storage.history() == history

    third = storage.upsert_facilities([facility("a", name="renamed"), facility("b"), facility("c")])
    assert (third.inserted, third.updated, third.unchanged) == (["c"], ["a"], ["b"])
    assert third.summary() == {"inserted": 1, "updated": 1, "unchanged": 1, "data_version": 2}
    assert {f.id: f.version for f in storage.facilities()} == {"a": 2, "b": 1, "c": 1}
    assert storage.get_facility("a").name == "renamed"


def test_version_increments_on_each_update(storage):
    storage.upsert_facilities([facility("a")])
    for n, status in enumerate(["planned", "under_construction", "open", "closed"], start=2):
        result = storage.upsert_facilities([facility("a", status=status)])
        assert result.updated == ["a"]
        stored = storage.get_facility("a")
        assert (stored.version, stored.status) == (n, status)
    assert storage.get_facility("a").version == 5


def test_optimistic_locking_rejects_a_stale_version(storage):
    storage.upsert_facilities([facility("a"), facility("b")])
    storage.upsert_facilities([facility("a", name="second")])  # a is now at version 2
    before = snapshot(storage)

    stale = [facility("b", name="b new", version=1), facility("a", name="lost", version=1)]
    with pytest.raises(Conflict) as info:
        storage.upsert_facilities(stale, check_versions=True)
    assert info.value.field == "version"
    assert snapshot(storage) == before  # b's valid update did not land either

    fresh = [facility("b", name="b new", version=1), facility("a", name="won", version=2)]
    result = storage.upsert_facilities(fresh, check_versions=True)
    assert sorted(result.updated) == ["a", "b"]
    assert storage.get_facility("a").name == "won"
    assert storage.get_facility("a").version == 3


def test_duplicate_ids_in_one_batch_conflict_and_write_nothing(storage):
    storage.upsert_facilities([facility("keep")])
    before = snapshot(storage)
    with pytest.raises(Conflict, match="duplicate ids") as info:
        storage.upsert_facilities(
            [facility("new"), facility("keep", name="x"), facility("new", name="again")]
        )
    assert info.value.field == "id"
    assert snapshot(storage) == before


def test_source_clash_mid_batch_leaves_data_as_before(storage):
    storage.upsert_facilities(
        [facility("a", source="xls", source_id="1"), facility("b", source="xls", source_id="2")]
    )
    before = snapshot(storage)
    batch = [
        facility("b", name="changed", source="xls", source_id="2"),
        facility("c"),
        facility("d", source="xls", source_id="1"),
    ]  # belongs to "a"
    with pytest.raises(Conflict, match="already belongs to facility 'a'"):
        storage.upsert_facilities(batch)
    assert snapshot(storage) == before


def test_database_error_mid_batch_rolls_back_everything(storage):
    storage.upsert_facilities([facility("a"), facility("b")])
    before = snapshot(storage)
    # Rows before the bad one are written first; the database rejects the longitude.
    batch = [facility("a", name="changed"), facility("c"), facility("z", lon=200.0)]
    with pytest.raises((sqlite3.IntegrityError, psycopg.IntegrityError)):
        storage.upsert_facilities(batch)
    assert snapshot(storage) == before
    # The storage is usable afterwards.
    assert storage.upsert_facilities([facility("c")]).inserted == ["c"]


def test_client_side_error_mid_write_rolls_back_everything(storage):
    # Errors raised in Python after earlier statements ran (not by the database, which
    # would abort the transaction itself) must roll back too.
    storage.upsert_facilities([facility("a"), facility("b")])
    storage.replace_admin_units([CITY])
    before = snapshot(storage)
    with pytest.raises((sqlite3.ProgrammingError, psycopg.ProgrammingError)):
        storage.upsert_facilities(
            [facility("a", name="changed"), facility("c"), facility("z", phone=object())]
        )
    assert snapshot(storage) == before
    # The old admin units are deleted before the new ones are inserted.
    unserialisable = AdminUnit(code="2", name="bad", level="city", extra={"x": object()})
    with pytest.raises(TypeError):
        storage.replace_admin_units([COUNTY, unserialisable])
    assert snapshot(storage) == before


def test_ids_resolve_by_source_and_source_id(storage):
    first = storage.upsert_facilities([facility(source="union-xls", source_id="7")])
    assert first.inserted == ["union-xls:7"]
    second = storage.upsert_facilities([facility(name="更名", source="union-xls", source_id="7")])
    assert (second.inserted, second.updated) == ([], ["union-xls:7"])
    [stored] = storage.facilities()
    assert (stored.id, stored.name, stored.version) == ("union-xls:7", "更名", 2)

    # A facility stored under its own id is found by its source pair too.
    storage.upsert_facilities([facility("custom", source="osm", source_id="n42")])
    third = storage.upsert_facilities([facility(name="osm again", source="osm", source_id="n42")])
    assert third.updated == ["custom"]
    assert [f.id for f in storage.facilities()] == ["custom", "union-xls:7"]

    # Without id and source, every write is a new facility with a generated id.
    fresh = storage.upsert_facilities([facility(), facility()])
    assert len(fresh.inserted) == 2 and len(set(fresh.inserted)) == 2
    assert all(i.startswith("loc:") for i in fresh.inserted)
    assert len(storage.facilities()) == 4


def test_get_facility_not_found(storage):
    storage.upsert_facilities([facility("a")])
    with pytest.raises(NotFound) as info:
        storage.get_facility("missing")
    assert info.value.field == "id"


# ---- delete and history ----------------------------------------------------------------
def test_delete_facility_records_history(storage):
    storage.upsert_facilities([facility("a", status="planned"), facility("b")])
    storage.upsert_facilities([facility("a", status="open")])
    version_before = storage.data_version()

    with pytest.raises(Conflict):
        storage.delete_facility("a", expected_version=1)
    assert storage.get_facility("a").version == 2
    assert storage.data_version() == version_before

    deleted = storage.delete_facility("a", expected_version=2)
    assert deleted == version_before + 1 == storage.data_version()
    with pytest.raises(NotFound):
        storage.get_facility("a")
    assert [f.id for f in storage.facilities()] == ["b"]
    assert [(e.version, e.status, e.action) for e in storage.history("a")] == [
        (1, "planned", "insert"),
        (2, "open", "update"),
        (3, None, "delete"),
    ]

    with pytest.raises(NotFound):
        storage.delete_facility("a")
    assert storage.data_version() == deleted


def test_history_entries_are_ordered_with_statuses(storage):
    storage.upsert_facilities([facility("b", status="planned"), facility("a")])
    storage.upsert_facilities([facility("b", status="under_construction")])
    storage.upsert_facilities([facility("b", status="under_construction")])  # unchanged
    storage.upsert_facilities([facility("b", status="open")])

    entries = storage.history("b")
    assert [(e.facility_id, e.version, e.status, e.action) for e in entries] == [
        ("b", 1, "planned", "insert"),
        ("b", 2, "under_construction", "update"),
        ("b", 3, "open", "update"),
    ]
    for entry in entries:
        assert entry.changed_at.utcoffset() == dt.timedelta(0)
    assert [e.changed_at for e in entries] == sorted(e.changed_at for e in entries)

    everything = storage.history()
    # The log keeps the order of the writes.
    assert [(e.facility_id, e.version) for e in everything] == [
        ("b", 1),
        ("a", 1),
        ("b", 2),
        ("b", 3),
    ]
    assert ("a", 1, "open", "insert") in [
        (e.facility_id, e.version, e.status, e.action) for e in everything
    ]
    assert storage.history("missing") == []


# ---- admin units -----------------------------------------------------------------------
def test_admin_units_round_trip(storage):
    seat_only = AdminUnit(
        code="340000",
        name="安徽省",
        level="province",
        seat_lon=117.283,
        seat_lat=31.861,
        extra={"简称": "皖"},
    )
    multi = AdminUnit(
        code="340121",
        name="长丰县",
        level="county",
        parent_code="340100",
        geometry=shapely.MultiPolygon(
            [box(117.0, 32.0, 117.1, 32.1), box(117.2, 32.0, 117.3, 32.1)]
        ),
    )
    version = storage.replace_admin_units([TOWNSHIP, multi, CITY, seat_only, COUNTY])
    assert version == storage.data_version() == 1

    stored = storage.admin_units()
    assert [u.code for u in stored] == ["340000", "340100", "340104", "340104001", "340121"]
    by_code = {u.code: u for u in stored}
    for written in (CITY, COUNTY, TOWNSHIP, multi):
        got = by_code[written.code]
        assert (got.name, got.level, got.parent_code) == (
            written.name,
            written.level,
            written.parent_code,
        )
        assert got.geometry.equals(written.geometry)
        assert got.geometry.geom_type in ("Polygon", "MultiPolygon")
    city = by_code["340100"]
    assert city.name == "合肥市"
    assert (city.seat_lon, city.seat_lat) == (117.227, 31.820)
    assert city.demand == {"trucks": 1200.5, "riders": 30000.0}
    assert city.extra == {"拼音": "Hefei", "rank": 1, "tags": ["省会", "capital"]}
    assert by_code["340104001"].seat_lon is None and by_code["340104001"].seat_lat is None
    assert by_code["340104001"].demand == {} and by_code["340104001"].extra == {}
    province = by_code["340000"]
    assert province.geometry is None
    assert province.has_seat and (province.seat_lon, province.seat_lat) == (117.283, 31.861)
    assert province.extra == {"简称": "皖"}

    assert [u.code for u in storage.admin_units("county")] == ["340104", "340121"]
    assert storage.admin_units("village") == []


def test_replace_admin_units_replaces_all(storage):
    storage.replace_admin_units([CITY, COUNTY, TOWNSHIP])
    storage.replace_admin_units([COUNTY])
    assert [u.code for u in storage.admin_units()] == ["340104"]
    storage.replace_admin_units([])
    assert storage.admin_units() == []
    assert storage.data_version() == 3


def test_facilities_get_city_county_and_township(storage):
    storage.replace_admin_units([CITY, COUNTY, TOWNSHIP])
    storage.upsert_facilities(
        [
            facility("t", lon=IN_TOWNSHIP[0], lat=IN_TOWNSHIP[1]),
            facility("c", lon=IN_COUNTY_ONLY[0], lat=IN_COUNTY_ONLY[1]),
            facility("y", lon=IN_CITY_ONLY[0], lat=IN_CITY_ONLY[1]),
            facility("o", lon=OUTSIDE[0], lat=OUTSIDE[1]),
        ]
    )
    got = {f.id: f for f in storage.facilities()}

    def admin(f):
        return {name: getattr(f, name) for name in NO_ADMIN}

    assert admin(got["t"]) == {
        "city": "合肥市",
        "city_code": "340100",
        "county": "蜀山区",
        "county_code": "340104",
        "township": "三里庵街道",
        "township_code": "340104001",
    }
    assert admin(got["c"]) == {
        "city": "合肥市",
        "city_code": "340100",
        "county": "蜀山区",
        "county_code": "340104",
        "township": None,
        "township_code": None,
    }
    assert admin(got["y"]) == {**NO_ADMIN, "city": "合肥市", "city_code": "340100"}
    assert admin(got["o"]) == NO_ADMIN


def test_derived_fields_from_input_are_ignored(storage):
    storage.replace_admin_units([CITY])
    storage.upsert_facilities(
        [facility("o", lon=OUTSIDE[0], lat=OUTSIDE[1], city="伪造", city_code="999999")]
    )
    stored = storage.get_facility("o")
    assert (stored.city, stored.city_code) == (None, None)


def test_replace_admin_units_reassigns_stored_facilities(storage):
    storage.upsert_facilities(
        [
            facility("t", lon=IN_TOWNSHIP[0], lat=IN_TOWNSHIP[1]),
            facility("o", lon=OUTSIDE[0], lat=OUTSIDE[1]),
        ]
    )
    assert all(f.city is None and f.township is None for f in storage.facilities())
    before = storage.data_version()

    version = storage.replace_admin_units([CITY, COUNTY, TOWNSHIP])
    assert version == storage.data_version() > before
    t, o = storage.get_facility("t"), storage.get_facility("o")
    assert (t.city, t.county_code, t.township) == ("合肥市", "340104", "三里庵街道")
    assert (o.city, o.county, o.township) == (None, None, None)
    # A unit moved: the township is gone, the facility keeps county and city only.
    again = storage.replace_admin_units([CITY, COUNTY])
    assert again > version
    t = storage.get_facility("t")
    assert (t.city_code, t.county_code, t.township, t.township_code) == (
        "340100",
        "340104",
        None,
        None,
    )
    storage.replace_admin_units([])
    assert {name: getattr(storage.get_facility("t"), name) for name in NO_ADMIN} == NO_ADMIN


def test_duplicate_admin_codes_are_rejected(storage):
    from locator.errors import InvalidParameter

    with pytest.raises(InvalidParameter):
        storage.replace_admin_units([CITY, CITY])
    assert storage.admin_units() == []
    assert storage.data_version() == 0


# ---- candidate sites -------------------------------------------------------------------
def test_candidate_sites_round_trip_per_kind(storage):
    junctions = [
        CandidateSite(
            "j2",
            "junction",
            "肥西枢纽",
            117.123456789,
            31.7654321,
            {"roads": ["G3", "G40"], "aadt": 52000},
        ),
        CandidateSite("j1", "junction", None, 117.3, 31.9),
    ]
    tolls = [CandidateSite("t1", "toll", "合肥南收费站", 117.25, 31.75, {"lanes": 12})]
    v1 = storage.replace_candidates("junction", junctions)
    v2 = storage.replace_candidates("toll", tolls)
    assert v2 == v1 + 1 == storage.data_version()

    everything = storage.candidates()
    assert [s.id for s in everything] == ["j1", "j2", "t1"]
    j1, j2, t1 = everything
    assert j2 == junctions[0]
    assert (j1.kind, j1.name, j1.lon, j1.lat, j1.extra) == ("junction", None, 117.3, 31.9, {})
    assert isinstance(j2.lon, float) and abs(j2.lon - 117.123456789) < 1e-9
    assert t1 == tolls[0]
    assert [s.id for s in storage.candidates("junction")] == ["j1", "j2"]
    assert storage.candidates("toll") == tolls

    storage.replace_candidates("junction", [])
    assert storage.candidates() == tolls
    assert storage.candidates("junction") == []


# ---- data version and several Storage objects --------------------------------------------
def test_data_version_grows_with_each_changing_write(storage):
    seen = [storage.data_version()]
    assert seen == [0]
    storage.upsert_facilities([facility("a")])
    seen.append(storage.data_version())
    storage.upsert_facilities([facility("a")])  # unchanged
    assert storage.data_version() == seen[-1]
    storage.upsert_facilities([facility("a", name="changed")])
    seen.append(storage.data_version())
    storage.replace_admin_units([CITY])  # re-assigns "a"
    seen.append(storage.data_version())
    storage.replace_candidates("junction", [CandidateSite("j", "junction", None, 117, 31)])
    seen.append(storage.data_version())
    storage.delete_facility("a")
    seen.append(storage.data_version())
    assert seen == sorted(set(seen))
    assert len(seen) == 6


def test_two_storage_objects_see_each_others_writes(storage):
    with open_storage(storage.url) as other:
        assert other.data_version() == storage.data_version() == 0
        other.upsert_facilities([facility("from-other")])
        assert storage.data_version() == other.data_version() == 1
        assert [f.id for f in storage.facilities()] == ["from-other"]

        storage.upsert_facilities([facility("from-first")])
        assert other.data_version() == 2
        assert [f.id for f in other.facilities()] == ["from-first", "from-other"]

        other.replace_admin_units([CITY, COUNTY, TOWNSHIP])
        # The first object's cached admin index follows the admin version.
        storage.upsert_facilities([facility("late", lon=IN_TOWNSHIP[0], lat=IN_TOWNSHIP[1])])
        assert other.get_facility("late").township_code == "340104001"
        assert storage.data_version() == other.data_version() == 4


def _run_in_threads(*targets) -> None:
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(targets))

    def run(target):
        try:
            barrier.wait(timeout=30)
            target()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(t,)) for t in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads)
    assert errors == []


def test_two_threads_writing_at_once_both_land(storage):
    def writer(prefix):
        def write():
            for n in range(10):
                storage.upsert_facilities(
                    [facility(f"{prefix}-{n:02}"), facility(f"{prefix}-{n:02}-b")]
                )
                assert storage.get_facility(f"{prefix}-{n:02}").version == 1

        return write

    _run_in_threads(writer("left"), writer("right"))
    ids = [f.id for f in storage.facilities()]
    assert len(ids) == 40
    assert {i.split("-")[0] for i in ids} == {"left", "right"}
    assert storage.data_version() == 20  # no increment was lost


def test_writers_on_two_storage_objects_do_not_lose_versions(storage):
    with open_storage(storage.url) as other:

        def writer(store, prefix):
            def write():
                for n in range(8):
                    store.upsert_facilities([facility(f"{prefix}{n}")])

            return write

        _run_in_threads(writer(storage, "p"), writer(other, "q"))
        assert storage.data_version() == other.data_version() == 16
        assert len(other.facilities()) == 16
        assert len(storage.history()) == 16


def test_history_survives_delete_and_recreate(storage):
    storage.upsert_facilities([facility("a", status="planned")])
    storage.upsert_facilities([facility("a", status="open")])
    storage.delete_facility("a")
    storage.upsert_facilities([facility("a", status="open")])

    assert [(e.version, e.status, e.action) for e in storage.history("a")] == [
        (1, "planned", "insert"),
        (2, "open", "update"),
        (3, None, "delete"),
        (1, "open", "insert"),
    ]


def test_dry_run_upsert_counts_like_a_write_and_writes_nothing(storage):
    first = Facility(id="t:1", name="撮镇司机之家", kind="driver_home", lon=117.3, lat=31.9)
    storage.upsert_facilities([first])
    version = storage.data_version()
    added = Facility(id="t:2", name="新站", kind="other", lon=117.4, lat=31.8)
    batch = [first.replace(name="撮镇镇司机之家"), added]
    planned = storage.upsert_facilities(batch, dry_run=True)
    assert (planned.inserted, planned.updated, planned.unchanged) == (["t:2"], ["t:1"], [])
    assert planned.data_version == version == storage.data_version()
    assert [f.name for f in storage.facilities()] == ["撮镇司机之家"]
    written = storage.upsert_facilities(batch)
    assert (written.inserted, written.updated) == (planned.inserted, planned.updated)


# ---- schema version 3: who made each change, accounts -------------------------------------
def _raw_rows(storage, sql: str) -> list[dict]:
    with storage._transaction() as tx:
        return [dict(row) for row in tx.execute(sql).fetchall()]


def test_locator_init_upgrades_a_version_2_database(storage):
    """A database of version 2 (history without actor, only deletions with a copy, no
    accounts) is brought to the current version by ``locator init`` with every row kept."""
    storage.upsert_facilities([facility("a", status="planned"), facility("b", lon=117.5)])
    storage.upsert_facilities([facility("a", status="open")])
    storage.delete_facility("b", actor="cli")
    facilities, history, *rest = snapshot(storage)
    _as_made_by(storage, 2)
    with storage._transaction() as tx:  # version 2 kept a copy for deletions only
        tx.execute("UPDATE facility_history SET snapshot = NULL WHERE action <> 'delete'")
    rows = _raw_rows(storage, "SELECT * FROM facility_history ORDER BY seq")
    assert [(r["facility_id"], r["action"], r["snapshot"] is not None) for r in rows] == [
        ("a", "insert", False),
        ("b", "insert", False),
        ("a", "update", False),
        ("b", "delete", True),
    ]
    assert "actor" not in rows[0]
    assert storage.schema_version() == 2
    with pytest.raises(
        StorageError, match="version 2 and this locator needs 6: run `locator init`"
    ):
        storage.check_schema()

    storage.init_schema()
    assert storage.schema_version() == base.SCHEMA_VERSION == 6
    storage.check_schema()
    kept = [
        dataclasses.replace(e, actor=None, facility=e.facility if e.action == "delete" else None)
        for e in history
    ]
    assert snapshot(storage) == (facilities, kept, *rest)
    assert storage.history("b")[-1].facility.name == "司机之家 b"
    columns = _raw_rows(storage, "SELECT * FROM facility_history")[0]
    assert {"snapshot", "actor"} <= set(columns)
    for table in ("users", "api_tokens", "account_events"):
        assert _raw_rows(storage, f"SELECT * FROM {table}") == []
    # the new tables and column work
    storage.add_user(ALICE, "$argon2id$x", actor="cli", at=ALICE.created_at)
    assert storage.users() == [ALICE]
    storage.upsert_facilities([facility("a", status="closed")], actor="user:alice")
    assert storage.history("a")[-1].actor == "user:alice"
    storage.init_schema()  # and once is enough
    assert storage.users() == [ALICE]


# ---- schema version 4: parking fee, tier, closed_until, verified_on -------------------------
def test_locator_init_upgrades_a_version_3_database_keeping_its_data(storage):
    """Version 3 had no parking fee, tier, closed_until or verified_on, and its history
    snapshots lack them: ``locator init`` adds the columns (empty) and keeps every row."""
    storage.upsert_facilities([facility("a", hours="24/7"), facility("b", lon=117.5)], actor="cli")
    storage.delete_facility("b", actor="cli")
    facilities, history, *rest = snapshot(storage)
    _as_made_by(storage, 3)
    drop = " - ".join(f"'{c}'" for c in NEW_IN_4)
    old_snapshots = (
        f"UPDATE facility_history SET snapshot = snapshot - {drop}"
        if storage.backend == "postgis"
        else "UPDATE facility_history SET snapshot = json_remove(snapshot, "
        + ", ".join(f"'$.{c}'" for c in NEW_IN_4)
        + ")"
    )
    with storage._transaction() as tx:
        tx.execute(old_snapshots)
    assert not set(_raw_rows(storage, "SELECT * FROM facilities")[0]) & set(NEW_IN_4)
    with pytest.raises(StorageError, match="version 3 and this locator needs 6: run `locator"):
        storage.check_schema()

    storage.init_schema()
    assert storage.schema_version() == base.SCHEMA_VERSION == 6
    storage.check_schema()
    assert snapshot(storage) == (facilities, history, *rest)
    row = _raw_rows(storage, "SELECT * FROM facilities")[0]
    assert {c: row[c] for c in NEW_IN_4} == dict.fromkeys(NEW_IN_4)
    # the new columns take values, and once is enough
    filled = facility(
        "a",
        hours="24/7",
        parking_fee="paid",
        parking_fee_note="货车 20元/晚",
        tier="extended",
        closed_until=dt.date(2026, 12, 10),
        verified_on=dt.date(2026, 12, 1),
    )
    assert storage.upsert_facilities([filled]).updated == ["a"]
    storage.init_schema()
    got = storage.get_facility("a")
    assert (got.parking_fee, got.parking_fee_note, got.tier) == ("paid", "货车 20元/晚", "extended")
    assert (got.closed_until, got.verified_on) == (dt.date(2026, 12, 10), dt.date(2026, 12, 1))
    assert type(got.closed_until) is dt.date and type(got.verified_on) is dt.date
    assert storage.history("a")[-1].facility == got


def test_history_keeps_who_made_each_change_and_the_facility_it_left(storage):
    storage.replace_admin_units([CITY, COUNTY, TOWNSHIP])
    storage.upsert_facilities([facility("a", status="planned")], actor="import:stations.xlsx")
    planned = storage.get_facility("a")
    storage.upsert_facilities([facility("a", status="planned")], actor="user:bob")  # unchanged
    storage.upsert_facilities([facility("a", status="open")], dry_run=True, actor="user:bob")
    storage.upsert_facilities([facility("a", status="open")], actor="token:3 (alice)")
    opened = storage.get_facility("a")
    storage.delete_facility("a", actor="cli")
    storage.upsert_facilities([facility("z")])  # nobody said who

    entries = storage.history("a")
    assert [(e.version, e.action, e.status, e.actor) for e in entries] == [
        (1, "insert", "planned", "import:stations.xlsx"),
        (2, "update", "open", "token:3 (alice)"),
        (3, "delete", None, "cli"),
    ]
    assert [e.facility for e in entries] == [planned, opened, opened]
    assert entries[0].facility.township_code == "340104001"
    assert entries[1].facility.version == 2 and entries[1].facility.status == "open"
    assert storage.history("z")[0].actor is None
    assert storage.history("z")[0].facility == storage.get_facility("z")


def test_progress_counts_the_same_with_a_copy_in_every_history_row(storage):
    """Progress reads the copies of deleted facilities only: inserts and updates that now
    carry one change nothing."""
    from locator.progress import progress_series

    clock = FixedClock(dt.datetime(2026, 3, 10, 12, tzinfo=dt.UTC))
    store = open_storage(storage.url, clock=clock)
    try:
        store.replace_admin_units([CITY, COUNTY, TOWNSHIP])
        store.upsert_facilities([facility("a", status="planned"), facility("b")])
        clock.set(dt.datetime(2026, 4, 10, 12, tzinfo=dt.UTC))
        store.upsert_facilities([facility("a", status="open")], actor="user:alice")
        clock.set(dt.datetime(2026, 5, 10, 12, tzinfo=dt.UTC))
        store.delete_facility("b", actor="user:alice")
        history = store.history()
        assert all(e.facility is not None for e in history)
        args = (store.admin_units(), store.facilities())
        kwargs = dict(end=dt.date(2026, 6, 30), freq="monthly", periods=4)
        with_copies = progress_series(*args, history, **kwargs)
        deletions_only = [
            e if e.action == "delete" else dataclasses.replace(e, facility=None, actor=None)
            for e in history
        ]
        assert progress_series(*args, deletions_only, **kwargs) == with_copies
        totals = [(p.period_end.month, p.open_facilities) for p in with_copies if p.city is None]
        assert totals == [(3, 1), (4, 2), (5, 1), (6, 1)]
    finally:
        store.close()


ALICE = User(
    "张三.hf",
    "editor",
    ("340122", "340100"),
    False,
    dt.datetime(2026, 12, 1, 1, 0, tzinfo=dt.UTC),
    dt.datetime(2026, 12, 1, 1, 0, tzinfo=dt.UTC),
)


def test_accounts_round_trip_and_leave_the_data_version_alone(storage):
    storage.upsert_facilities([facility("a")])
    version, writes = storage.data_version(), base.local_writes()
    at = dt.datetime(2026, 12, 1, 2, 30, tzinfo=dt.UTC)
    viewer = User("viewer-1", "viewer", (), False, at, at)
    storage.add_user(viewer, "$argon2id$viewer", actor="user:root", at=at)
    storage.add_user(ALICE, "$argon2id$alice", actor="cli", at=ALICE.created_at)
    assert storage.users() == [viewer, ALICE]  # by name, code point order
    assert storage.get_user("张三.hf") == ALICE
    assert storage.user_credentials("张三.hf") == (ALICE, "$argon2id$alice")
    assert storage.user_credentials("nobody") is None
    with pytest.raises(NotFound) as missing:
        storage.get_user("nobody")
    assert missing.value.field == "name"
    with pytest.raises(Conflict) as taken:
        storage.add_user(ALICE, "$argon2id$other", actor="cli", at=at)
    assert taken.value.field == "name"

    later = at + dt.timedelta(hours=1)
    changed = dataclasses.replace(ALICE, role="viewer", areas=(), disabled=True)
    storage.update_user(changed, actor="user:root", action="user.role", at=later, details={"x": 1})
    assert storage.user_credentials("张三.hf") == (changed, "$argon2id$alice")
    storage.update_user(
        dataclasses.replace(changed, password_changed_at=later),
        password_hash="$argon2id$new",
        actor="cli",
        action="user.password",
        at=later,
    )
    assert storage.user_credentials("张三.hf")[1] == "$argon2id$new"
    storage.replace_password_hash("张三.hf", "$argon2id$rehashed")  # not recorded
    assert storage.user_credentials("张三.hf") == (
        dataclasses.replace(changed, password_changed_at=later),
        "$argon2id$rehashed",
    )
    with pytest.raises(NotFound):
        storage.update_user(viewer.__class__("ghost", "viewer"), actor="cli", action="x", at=at)

    events = storage.account_events()
    assert [(e.actor, e.action, e.target) for e in events] == [
        ("cli", "user.password", "张三.hf"),
        ("user:root", "user.role", "张三.hf"),
        ("cli", "user.add", "张三.hf"),
        ("user:root", "user.add", "viewer-1"),
    ]
    assert events[1].details == {"x": 1} and events[1].at == later
    assert events[2].details == {"role": "editor", "areas": ["340122", "340100"]}
    assert [e.seq for e in storage.account_events(limit=2)] == [e.seq for e in events[:2]]
    assert (storage.data_version(), base.local_writes()) == (version, writes)


def test_api_tokens_are_stored_by_hash_and_revoked_once(storage):
    at = ALICE.created_at
    storage.add_user(ALICE, "$argon2id$alice", actor="cli", at=at)
    version = storage.data_version()
    first = storage.add_token("张三.hf", "导入脚本", "a" * 64, actor="cli", at=at)
    second = storage.add_token("张三.hf", "", "b" * 64, actor="user:root", at=at)
    assert (first.owner, first.label, first.created_at, first.active) == (
        "张三.hf",
        "导入脚本",
        at,
        True,
    )
    assert second.id > first.id
    assert storage.token_by_hash("a" * 64) == first
    assert storage.token_by_hash("c" * 64) is None
    assert storage.api_tokens("张三.hf") == storage.api_tokens() == [first, second]
    assert storage.api_tokens("nobody") == []
    with pytest.raises(NotFound):
        storage.add_token("nobody", "", "d" * 64, actor="cli", at=at)
    with pytest.raises(Exception):  # noqa: B017 - the unique index, whatever the driver
        storage.add_token("张三.hf", "again", "a" * 64, actor="cli", at=at)

    used = at + dt.timedelta(minutes=5)
    storage.touch_token(first.id, used)
    assert storage.token_by_hash("a" * 64).last_used_at == used
    revoked = storage.revoke_token(first.id, actor="user:root", at=used)
    assert revoked == dataclasses.replace(first, last_used_at=used, revoked_at=used)
    assert storage.revoke_token(first.id, actor="cli", at=used + dt.timedelta(1)) == revoked
    with pytest.raises(NotFound) as unknown:
        storage.revoke_token(9999, actor="cli", at=used)
    assert unknown.value.field == "token_id"
    assert [(e.actor, e.action, e.details) for e in storage.account_events()] == [
        ("user:root", "token.revoke", {"token_id": first.id, "label": "导入脚本"}),
        ("user:root", "token.issue", {"token_id": second.id, "label": ""}),
        ("cli", "token.issue", {"token_id": first.id, "label": "导入脚本"}),
        ("cli", "user.add", {"role": "editor", "areas": ["340122", "340100"]}),
    ]
    assert storage.data_version() == version


# ---- schema version 5: drivers' reports (纠错) ------------------------------------------------
def _report(facility_id: str = "a", **changes) -> Report:
    values = dict(
        id=0,
        facility_id=facility_id,
        category="hours_wrong",
        created_at=dt.datetime(2026, 12, 1, 1, 0, tzinfo=dt.UTC),
        text="每天8:00-20:00",
        client_hash="0" * 32,
        city_code="340100",
        county_code="340104",
    )
    values.update(changes)
    return Report(**values)


def test_reports_are_stored_filtered_newest_first_and_reviewed_once(storage):
    version = storage.data_version()
    first = storage.add_report(_report())
    pin = storage.add_report(
        _report(
            "b",
            category="not_here",
            text=None,
            lon=117.2345678,
            lat=31.8234567,
            created_at=dt.datetime(2026, 12, 2, 3, 4, 5, tzinfo=dt.UTC),
            city_code="340100",
            county_code="340122",
        )
    )
    other = storage.add_report(_report("c", category="still_right", text=None, city_code="341200"))
    assert (first.id, pin.id, other.id) == (first.id, first.id + 1, first.id + 2)
    assert first == _report(id=first.id)  # every field as given, status pending
    assert (pin.lon, pin.lat) == (pytest.approx(117.2345678), pytest.approx(31.8234567))
    assert pin.created_at == dt.datetime(2026, 12, 2, 3, 4, 5, tzinfo=dt.UTC)
    assert storage.data_version() == version  # reports change no facility

    assert [r.id for r in storage.reports()] == [other.id, pin.id, first.id]
    assert [r.id for r in storage.reports(facility_id="b")] == [pin.id]
    assert [r.id for r in storage.reports(category="still_right")] == [other.id]
    assert [r.id for r in storage.reports(areas=["340122"])] == [pin.id]
    assert [r.id for r in storage.reports(areas=["340100"])] == [pin.id, first.id]
    assert storage.reports(areas=[]) == []
    shanghai = FixedClock(dt.datetime(2026, 1, 1)).at.tzinfo  # a naive time is Shanghai's
    since = dt.datetime(2026, 12, 2, 11, 4, 5, tzinfo=shanghai)  # 03:04:05 UTC
    assert [r.id for r in storage.reports(since=since)] == [pin.id]
    assert [r.id for r in storage.reports(limit=2)] == [other.id, pin.id]

    at = dt.datetime(2026, 12, 3, 8, 0, 30, 123, tzinfo=dt.UTC)
    rejected = storage.review_report(
        first.id, status="rejected", reviewed_by="user:li", at=at, note="营业时间未变"
    )
    assert rejected == dataclasses.replace(
        first,
        status="rejected",
        reviewed_by="user:li",
        reviewed_at=at.replace(microsecond=0),
        review_note="营业时间未变",
    )
    assert storage.get_report(first.id) == rejected
    assert [r.id for r in storage.reports(status="pending")] == [other.id, pin.id]
    with pytest.raises(Conflict):
        storage.review_report(first.id, status="accepted", reviewed_by="user:x", at=at, note=None)
    assert storage.get_report(first.id) == rejected
    with pytest.raises(NotFound):
        storage.get_report(9999)
    with pytest.raises(NotFound):
        storage.review_report(9999, status="accepted", reviewed_by="user:x", at=at, note=None)


def test_locator_init_upgrades_a_version_4_database_keeping_its_data(storage):
    """Version 4 had no reports table: ``locator init`` makes it (and its indexes) and
    keeps every row."""
    storage.upsert_facilities([facility("a", verified_on=dt.date(2026, 11, 1))], actor="cli")
    before = snapshot(storage)
    _as_made_by(storage, 4)
    with pytest.raises(StorageError, match="version 4 and this locator needs 6: run `locator"):
        storage.check_schema()
    with pytest.raises(StorageError):
        storage.reports()

    storage.init_schema()
    assert storage.schema_version() == base.SCHEMA_VERSION == 6
    storage.check_schema()
    assert snapshot(storage) == before
    assert storage.reports() == []
    stored = storage.add_report(_report())
    storage.init_schema()  # once is enough
    assert storage.reports() == [stored]
    assert _raw_rows(storage, "SELECT * FROM reports")[0]["client_hash"] == "0" * 32
