"""The data model additions: amenities of the driver-home standard, parking fee and note,
tier, ``closed_until`` (left out of "open now" until that Shanghai day) and ``verified_on``
(the admin form's "still correct" button), through validation, both storage backends,
import and export (Chinese headers by default), the pages and the APIs."""

from __future__ import annotations

import ast
import datetime as dt
import html
import re
from pathlib import Path

import pytest

from locator.clock import FixedClock
from locator.editing import EDITABLE_FIELDS
from locator.errors import InvalidParameter
from locator.export import COLUMNS, HEADERS_ZH, export_facilities
from locator.hours import SHANGHAI, facility_open_state, open_state_label
from locator.ingest import import_file
from locator.messages import MESSAGES
from locator.model import (
    AMENITIES,
    Facility,
    parse_amenities,
    parse_parking_fee,
    validate_facility,
)
from locator.nearest import FacilityQuery, NearestIndex
from locator.storage import open_storage
from tests.web_fixtures import (
    PASSWORD,
    add_accounts,
    close_app,
    loaded_database,
    make_app,
)

NEW_FIELDS = ("parking_fee", "parking_fee_note", "tier", "closed_until", "verified_on")
#: Reopens on 10 December 2026 (Shanghai).
REOPENS = dt.date(2026, 12, 10)
BEFORE = dt.datetime(2026, 12, 9, 23, 59, tzinfo=SHANGHAI)
#: 16:30 UTC on the 9th is 00:30 on the 10th in Shanghai: open again.
REOPENED_UTC = dt.datetime(2026, 12, 9, 16, 30, tzinfo=dt.UTC)

BASE = {"name": "合肥司机之家", "kind": "driver_home", "lon": 117.2272, "lat": 31.8206}


def full(fid: str = "hf-1", **changes) -> Facility:
    """A facility with every new field set."""
    values = dict(
        id=fid,
        name="合肥新站司机之家",
        kind="driver_home",
        lon=117.2272,
        lat=31.8206,
        hours="24/7",
        amenities=frozenset({"food_heating", "drinking_water", "vehicle_security", "shower"}),
        parking_fee="paid",
        parking_fee_note="货车 20元/晚",
        tier="extended",
        closed_until=REOPENS,
        verified_on=dt.date(2026, 11, 30),
        source="union",
        source_id="HF-1",
    )
    values.update(changes)
    return Facility(**values)


# ---- vocabularies and validation -----------------------------------------------------------
def test_the_standards_amenities_have_labels_and_chinese_aliases():
    assert AMENITIES["food_heating"] == {"zh": "饭菜加热", "en": "Food heating"}
    assert AMENITIES["drinking_water"]["zh"] == "饮用水"
    assert AMENITIES["vehicle_security"] == {"zh": "车货安保", "en": "Vehicle and cargo security"}
    assert parse_amenities("饭菜加热、饮用水，车货安保") == {
        "food_heating",
        "drinking_water",
        "vehicle_security",
    }
    assert parse_amenities("微波炉;饮水机;安保") == {
        "food_heating",
        "drinking_water",
        "vehicle_security",
    }
    assert parse_amenities(["Food heating", "Drinking water", "Vehicle and cargo security"]) == {
        "food_heating",
        "drinking_water",
        "vehicle_security",
    }


@pytest.mark.parametrize(
    ("text", "fee", "note"),
    [
        ("免费", "free", None),
        ("收费", "paid", None),
        ("Free", "free", None),
        ("paid", "paid", None),
        ("是", "paid", None),  # "is parking charged?"
        ("否", "free", None),
        ("不收费", "free", None),
        ("收费 20元/晚", "paid", "20元/晚"),
        ("收费：货车 20元/晚", "paid", "货车 20元/晚"),
        ("免费（限停24小时）", "free", "限停24小时"),
        ("paid, 20 yuan a night", "paid", "20 yuan a night"),
        ("20元/晚", "paid", "20元/晚"),
        ("￥15/次", "paid", "￥15/次"),
        (True, "paid", None),
        ("", None, None),
        (None, None, None),
    ],
)
def test_parking_fee_reads_free_paid_and_a_note(text, fee, note):
    assert parse_parking_fee(text) == (fee, note)


@pytest.mark.parametrize("text", ["看情况", "nothing", "freeway", "20"])
def test_an_unreadable_parking_fee_is_refused_in_both_languages(text):
    with pytest.raises(InvalidParameter) as info:
        parse_parking_fee(text)
    assert info.value.field == "parking_fee"
    assert info.value.message.key == "unknown_parking_fee"
    assert "免费" in info.value.message_in("zh") and text in info.value.message_in("zh")
    assert "free or paid" in info.value.message_in("en")


def test_validation_reads_labels_and_the_note_of_the_fee():
    f = validate_facility(
        {
            **BASE,
            "parking_fee": "收费 20元/晚",
            "tier": "基础型",
            "closed_until": "2026/12/10",
            "verified_on": "2026-11-30",
            "amenities": "饮用水、车货安保",
        }
    )
    assert (f.parking_fee, f.parking_fee_note, f.tier) == ("paid", "20元/晚", "basic")
    assert (f.closed_until, f.verified_on) == (REOPENS, dt.date(2026, 11, 30))
    assert f.amenities == {"drinking_water", "vehicle_security"}
    same_note = validate_facility(
        {**BASE, "parking_fee": "收费 20元/晚", "parking_fee_note": "20元/晚"}
    )
    assert same_note.parking_fee_note == "20元/晚"
    extended = validate_facility({**BASE, "tier": "Extended", "parking_fee": "free"})
    assert (extended.tier, extended.parking_fee, extended.parking_fee_note) == (
        "extended",
        "free",
        None,
    )
    empty = validate_facility(BASE)
    assert [getattr(empty, name) for name in NEW_FIELDS] == [None] * 5


@pytest.mark.parametrize(
    ("changes", "field", "key", "zh"),
    [
        ({"tier": "高级型"}, "tier", "unknown_tier", "基础型、扩展型"),
        ({"parking_fee": "看情况"}, "parking_fee", "unknown_parking_fee", "停车收费"),
        (
            {"parking_fee": "收费 20元/晚", "parking_fee_note": "30元/晚"},
            "parking_fee",
            "parking_fee_two_notes",
            "只在一处",
        ),
        ({"parking_fee_note": "元" * 201}, "parking_fee_note", "text_length", "上限 200"),
        ({"parking_fee_note": "20元\x00"}, "parking_fee_note", "control_characters", "控制字符"),
        ({"closed_until": "下周一"}, "closed_until", "date_like", "日期无法识别"),
        ({"verified_on": "2026-13-01"}, "verified_on", "date_like", "日期无法识别"),
        ({"verified_on": "2026-12-02"}, "verified_on", "verified_on_future", "晚于今天"),
    ],
)
def test_bad_new_fields_are_named_with_keyed_messages(changes, field, key, zh):
    with pytest.raises(InvalidParameter) as info:
        validate_facility({**BASE, **changes}, today=dt.date(2026, 12, 1))
    assert info.value.field == field
    assert info.value.message.key == key
    assert zh in info.value.message_in("zh")


def test_verified_on_in_the_future_passes_without_a_today():
    assert validate_facility({**BASE, "verified_on": "2030-01-01"}).verified_on == dt.date(
        2030, 1, 1
    )


def test_every_new_field_is_in_the_content_key_and_the_properties():
    f = full()
    props = f.to_properties()
    assert {k: props[k] for k in NEW_FIELDS} == {
        "parking_fee": "paid",
        "parking_fee_note": "货车 20元/晚",
        "tier": "extended",
        "closed_until": "2026-12-10",
        "verified_on": "2026-11-30",
    }
    assert {"food_heating", "drinking_water", "vehicle_security"} <= set(props["amenities"])
    others = {
        "parking_fee": "free",
        "parking_fee_note": "免费",
        "tier": "basic",
        "closed_until": None,
        "verified_on": dt.date(2026, 12, 1),
    }
    for name, other in others.items():
        assert f.replace(**{name: other}).content_key() != f.content_key(), name
    assert set(NEW_FIELDS) <= set(EDITABLE_FIELDS)
    assert set(NEW_FIELDS) <= set(COLUMNS) <= set(HEADERS_ZH)


def test_the_messages_table_has_no_duplicate_keys():
    """A repeated key in the MESSAGES literal would silently replace the first one."""
    source = Path(__file__).resolve().parent.parent / "locator" / "messages.py"
    for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
        if isinstance(node, ast.AnnAssign) and getattr(node.target, "id", "") == "MESSAGES":
            keys = [k.value for k in node.value.keys]
            break
    duplicates = sorted({k for k in keys if keys.count(k) > 1})
    assert duplicates == []
    assert len(keys) == len(MESSAGES)
    for key in ("unknown_parking_fee", "parking_fee_two_notes", "unknown_tier"):
        assert key in MESSAGES


# ---- temporarily closed ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("at", "state"),
    [
        (dt.datetime(2026, 12, 1, 12, 0, tzinfo=SHANGHAI), "temporarily_closed"),
        (BEFORE, "temporarily_closed"),
        (BEFORE.astimezone(dt.UTC), "temporarily_closed"),
        (dt.datetime(2026, 12, 10, 0, 0, tzinfo=SHANGHAI), "open"),  # reopens that day
        (REOPENED_UTC, "open"),  # still the 9th in UTC
        (dt.datetime(2027, 3, 1, 8, 0, tzinfo=SHANGHAI), "open"),
    ],
)
def test_closed_until_wins_over_the_hours_until_that_shanghai_day(at, state):
    assert facility_open_state(full(), at) == state
    assert facility_open_state(full(closed_until=None), at) == "open"


def test_a_temporarily_closed_label_names_the_day():
    assert open_state_label("temporarily_closed", "zh", REOPENS) == "暂停营业至 12月10日"
    assert open_state_label("temporarily_closed", "en", REOPENS) == (
        "Temporarily closed until 10 December"
    )
    assert open_state_label("open", "zh") == "营业中"


def test_open_now_leaves_out_a_temporarily_closed_facility_until_it_reopens():
    closed = full("closed")
    other = full("other", lon=117.30, closed_until=None)
    index = NearestIndex([closed, other])
    query = FacilityQuery(open_now=True)
    assert [h.facility.id for h in index.nearest(117.2272, 31.8206, 5, query, now=BEFORE)] == [
        "other"
    ]
    every = index.nearest(117.2272, 31.8206, 5, now=BEFORE)
    assert [(h.facility.id, h.open_state) for h in every] == [
        ("closed", "temporarily_closed"),
        ("other", "open"),
    ]
    feature = every[0].to_feature()
    assert feature["properties"]["open_state"] == "temporarily_closed"
    assert feature["properties"]["closed_until"] == "2026-12-10"
    reopened = index.nearest(117.2272, 31.8206, 5, query, now=REOPENED_UTC)
    assert [h.facility.id for h in reopened] == ["closed", "other"]
    route = [[117.20, 31.8206], [117.35, 31.8206]]
    along = index.along_route(route, 2.0, query, now=BEFORE)
    assert [h.facility.id for h in along] == ["other"]


# ---- storage on both backends --------------------------------------------------------------
def test_the_new_fields_round_trip_through_storage(storage):
    written = full()
    assert storage.upsert_facilities([written]).inserted == ["hf-1"]
    stored = storage.get_facility("hf-1")
    assert stored.content_key() == written.content_key()
    assert [getattr(stored, n) for n in NEW_FIELDS] == [getattr(written, n) for n in NEW_FIELDS]
    assert type(stored.closed_until) is dt.date and type(stored.verified_on) is dt.date
    assert storage.upsert_facilities([written]).unchanged == ["hf-1"]
    verified = storage.upsert_facilities([written.replace(verified_on=dt.date(2026, 12, 1))])
    assert verified.updated == ["hf-1"]
    assert storage.get_facility("hf-1").version == 2
    assert storage.history("hf-1")[-1].facility.verified_on == dt.date(2026, 12, 1)
    storage.upsert_facilities([written.replace(**dict.fromkeys(NEW_FIELDS))])
    assert [getattr(storage.get_facility("hf-1"), n) for n in NEW_FIELDS] == [None] * 5


# ---- import and export ------------------------------------------------------------------------
def test_a_union_sheet_with_the_new_columns_imports(storage, tmp_path):
    path = tmp_path / "stations.csv"
    path.write_text(
        "站点名称,类型,经度,纬度,服务设施,停车收费,建设类型,暂停营业至,核实日期,原编号\n"
        "新站司机之家,司机之家,117.2272,31.8206,饭菜加热、饮用水、车货安保,"
        "收费 20元/晚,基础型,2026/12/10,2026-11-30,1\n"
        "肥东驿站,驿站,117.4690,31.8870,饮水机,免费,扩展型,,,2\n"
        "坏站,驿站,117.4690,31.8870,,看情况,高级型,明天,,3\n",
        encoding="utf-8",
    )
    report = import_file(storage, path, skip_invalid=True)
    assert report.inserted == 2
    assert sorted((e.row, e.field) for e in report.errors) == [
        (4, "closed_until"),
        (4, "parking_fee"),
        (4, "tier"),
    ]
    zh = report.format_text("zh")
    assert "停车收费" in zh and "基础型、扩展型" in zh
    by_name = {f.name: f for f in storage.facilities()}
    first = by_name["新站司机之家"]
    assert first.amenities == {"food_heating", "drinking_water", "vehicle_security"}
    assert (first.parking_fee, first.parking_fee_note, first.tier) == ("paid", "20元/晚", "basic")
    assert (first.closed_until, first.verified_on) == (REOPENS, dt.date(2026, 11, 30))
    second = by_name["肥东驿站"]
    assert (second.parking_fee, second.parking_fee_note, second.tier) == ("free", None, "extended")
    assert second.amenities == {"drinking_water"}


def test_english_headers_import_the_new_fields(storage, tmp_path):
    path = tmp_path / "stations.csv"
    path.write_text(
        "name,kind,lon,lat,parking_fee,parking_fee_note,tier,closed_until,verified_on\n"
        "A,driver_home,117.2272,31.8206,paid,trucks 20 yuan/night,extended,2026-12-10,"
        "2026-11-30\n",
        encoding="utf-8",
    )
    assert import_file(storage, path).inserted == 1
    [f] = storage.facilities()
    assert (f.parking_fee, f.parking_fee_note, f.tier) == (
        "paid",
        "trucks 20 yuan/night",
        "extended",
    )
    assert (f.closed_until, f.verified_on) == (REOPENS, dt.date(2026, 11, 30))


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_chinese_export_edited_in_excel_imports_back_the_same(storage, tmp_path, fmt):
    """Export (Chinese headers and labels, the default) -> re-import -> the same facilities."""
    facilities = [
        full("union:HF-1"),
        full(
            "union:HF-2",
            name="肥东驿站",
            kind="service_point",
            lon=117.4690,
            lat=31.8870,
            status="under_construction",
            amenities=frozenset({"drinking_water"}),
            parking_fee="free",
            parking_fee_note=None,
            tier="basic",
            closed_until=None,
            verified_on=None,
            source_id="HF-2",
        ),
        full(
            "union:HF-3",
            name="无收费信息的站",
            kind="service_area",
            lon=118.38,
            lat=31.33,
            **dict.fromkeys(NEW_FIELDS),
            source_id="HF-3",
        ),
    ]
    path = tmp_path / f"facilities.{fmt}"
    export_facilities(facilities, path)
    if fmt == "csv":
        header = path.read_text("utf-8-sig").splitlines()[0].split(",")
        assert header == [HEADERS_ZH[c] for c in COLUMNS]
    report = import_file(storage, path)
    assert (report.inserted, report.errors, report.warnings) == (3, [], [])
    assert report.columns.keys() >= {"parking_fee", "parking_fee_note", "tier", "closed_until"}
    got = {f.id: f.content_key() for f in storage.facilities()}
    assert got == {f.id: f.content_key() for f in facilities}
    again = tmp_path / f"again.{fmt}"
    export_facilities(storage.facilities(), again)
    report = import_file(storage, again)
    assert (report.inserted, report.updated, report.unchanged) == (0, 0, 3)


def test_the_keys_option_writes_field_names_and_keys(tmp_path):
    path = tmp_path / "keys.csv"
    export_facilities([full()], path, headers="en")
    lines = path.read_text("utf-8-sig").splitlines()
    row = dict(zip(lines[0].split(","), lines[1].split(","), strict=True))
    assert (row["parking_fee"], row["tier"], row["closed_until"]) == (
        "paid",
        "extended",
        "2026-12-10",
    )
    assert row["amenities"] == "drinking_water;food_heating;shower;vehicle_security"


def test_locator_export_writes_chinese_headers_unless_told(tmp_path):
    from click.testing import CliRunner

    from locator.cli import main

    url = f"sqlite:///{tmp_path / 'locator.db'}"
    with open_storage(url, init=True) as storage:
        storage.upsert_facilities([full()])
    runner = CliRunner()
    chinese, keys = tmp_path / "zh.csv", tmp_path / "en.csv"
    assert runner.invoke(main, ["--database", url, "export", "--out", str(chinese)]).exit_code == 0
    result = runner.invoke(
        main, ["--database", url, "export", "--out", str(keys), "--headers", "en"]
    )
    assert result.exit_code == 0, result.output
    assert chinese.read_text("utf-8-sig").startswith("编号,名称,类型,状态,经度,纬度")
    assert keys.read_text("utf-8-sig").startswith("id,name,kind,status,lon,lat")
    assert "收费,货车 20元/晚,扩展型" in chinese.read_text("utf-8-sig")


# ---- the web: pages, APIs, the admin form ----------------------------------------------------
XSS = '<img src=x onerror="alert(1)">'
IN_YAOHAI = (117.3300, 31.8700)  # 瑶海区, in 合肥市
IN_FEIDONG = (117.4690, 31.8870)  # 肥东县, in 合肥市


@pytest.fixture(scope="module")
def clock():
    return FixedClock(dt.datetime(2026, 12, 1, 9, 0, tzinfo=SHANGHAI))


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgis", marks=pytest.mark.postgis)]
)
def url(request, tmp_path_factory):
    url, cleanup = loaded_database(request.param, tmp_path_factory.mktemp("fields"))
    add_accounts(url)
    with open_storage(url) as storage:
        storage.upsert_facilities(
            [
                full("test:closed", lon=IN_YAOHAI[0], lat=IN_YAOHAI[1], parking_fee_note=XSS),
                full(
                    "test:open",
                    name="营业中的站",
                    lon=IN_YAOHAI[0] + 0.001,
                    lat=IN_YAOHAI[1],
                    closed_until=None,
                    source_id="HF-2",
                ),
            ]
        )
    yield url
    cleanup()


@pytest.fixture(scope="module")
def app(url, clock):
    app = make_app(url, LOCATOR_CLOCK=clock, login_limit="1000 per minute")
    yield app
    close_app(app)


@pytest.fixture(autouse=True)
def _reset(clock):
    clock.set(dt.datetime(2026, 12, 1, 9, 0, tzinfo=SHANGHAI))


def _csrf(client, path="/login") -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(as_text=True))
    assert found
    return found.group(1)


def _signed_in(app, who):
    client = app.test_client()
    if who is not None:
        answer = client.post(
            "/login", data={"name": who, "password": PASSWORD, "csrf_token": _csrf(client)}
        )
        assert answer.status_code == 302
    return client


def _stored(app, facility_id):
    return app.extensions["locator"].storage.get_facility(facility_id)


def test_the_facility_page_shows_the_new_fields(client, clock):
    page = client.get("/f/test:closed").get_data(as_text=True)
    assert 'data-open-state="temporarily_closed"' in page
    assert "暂停营业至 12月10日" in page
    assert '<time datetime="2026-11-30">2026-11-30</time>' in page
    assert "扩展型" in page and "收费" in page
    assert XSS not in page and "&lt;img src=x onerror=" in page  # the note is text
    english = client.get("/f/test:closed?lang=en").get_data(as_text=True)
    assert "Temporarily closed until 10 December" in english and "Extended" in english
    clock.set(dt.datetime(2026, 12, 10, 8, 0, tzinfo=SHANGHAI))
    reopened = client.get("/f/test:closed").get_data(as_text=True)
    assert 'data-open-state="open"' in reopened and "暂停营业至" not in reopened


def test_the_apis_answer_the_new_fields_and_open_now_follows_closed_until(client, clock):
    props = client.get("/api/v1/facilities/test:closed").get_json()["properties"]
    assert {k: props[k] for k in NEW_FIELDS} == {
        "parking_fee": "paid",
        "parking_fee_note": XSS,
        "tier": "extended",
        "closed_until": "2026-12-10",
        "verified_on": "2026-11-30",
    }
    near = f"/api/v1/nearest?lon={IN_YAOHAI[0]}&lat={IN_YAOHAI[1]}&k=2"
    states = {
        f["id"]: f["properties"]["open_state"] for f in client.get(near).get_json()["features"]
    }
    assert states == {"test:closed": "temporarily_closed", "test:open": "open"}
    opened = client.get(near + "&open_now=true").get_json()["features"]
    assert [f["id"] for f in opened if f["id"].startswith("test:")] == ["test:open"]
    popup = client.get("/embed/facility/test:closed").get_json()
    assert (popup["open"], popup["closed_until"]) == ("temporarily_closed", "2026-12-10")
    clock.set(dt.datetime(2026, 12, 9, 16, 30, tzinfo=dt.UTC))  # the 10th in Shanghai
    opened = client.get(near + "&open_now=true").get_json()["features"]
    assert {f["id"] for f in opened} >= {"test:closed", "test:open"}
    spec = client.get("/api/v1/openapi.json").get_json()
    schemas = spec["components"]["schemas"]
    facility_props = schemas["Facility"]["properties"]["properties"]["properties"]
    assert set(NEW_FIELDS) <= set(facility_props)
    assert "temporarily_closed" in facility_props["open_state"]["enum"]
    assert set(NEW_FIELDS) <= set(schemas["FacilityFields"]["properties"])


def test_the_admin_form_sets_the_new_fields_and_keeps_verified_on(app):
    client = _signed_in(app, "hefei")
    before = _stored(app, "test:open")
    form = {
        "name": before.name,
        "kind": "driver_home",
        "status": "open",
        "lon": str(before.lon),
        "lat": str(before.lat),
        "crs": "wgs84",
        "parking_fee": "free",
        "parking_fee_note": "限停 24 小时",
        "tier": "basic",
        "closed_until": "2026-12-20",
        "version": before.version,
        "csrf_token": _csrf(client),
    }
    answer = client.post("/admin/facilities/test:open", data=form)
    assert answer.status_code == 302, answer.get_data(as_text=True)[:500]
    after = _stored(app, "test:open")
    assert (after.parking_fee, after.parking_fee_note, after.tier) == (
        "free",
        "限停 24 小时",
        "basic",
    )
    assert after.closed_until == dt.date(2026, 12, 20)
    assert after.verified_on == before.verified_on == dt.date(2026, 11, 30)  # not an input
    page = html.unescape(client.get("/admin/facilities/test:open").get_data(as_text=True))
    assert '<option value="free" selected>免费</option>' in page
    assert '<option value="basic" selected>基础型</option>' in page
    assert 'name="closed_until" type="date" value="2026-12-20"' in page
    assert "核实日期" in page and "2026-11-30" in page and "信息无误" in page
    bad = client.post(
        "/admin/facilities/test:open",
        data={**form, "tier": "高级型", "version": after.version, "csrf_token": _csrf(client)},
    )
    assert bad.status_code == 422
    assert "基础型、扩展型" in html.unescape(bad.get_data(as_text=True))
    assert _stored(app, "test:open") == after


def test_the_still_correct_button_is_an_audited_edit_with_a_version(app, clock):
    clock.set(dt.datetime(2026, 12, 3, 23, 30, tzinfo=SHANGHAI))  # 15:30 UTC
    client = _signed_in(app, "hefei")
    before = _stored(app, "test:closed")
    path = "/admin/facilities/test:closed/verify"
    forged = client.post(path, data={"version": before.version})
    assert forged.status_code == 403
    stale = client.post(path, data={"version": before.version - 1, "csrf_token": _csrf(client)})
    assert stale.status_code == 409
    assert "请重新核对" in html.unescape(stale.get_data(as_text=True))
    assert _stored(app, "test:closed") == before
    answer = client.post(path, data={"version": before.version, "csrf_token": _csrf(client)})
    assert answer.status_code == 302 and "verified=1" in answer.headers["Location"]
    after = _stored(app, "test:closed")
    assert after.verified_on == dt.date(2026, 12, 3)  # Shanghai's date, not UTC's
    assert after.version == before.version + 1
    assert after.content_key() == before.replace(verified_on=dt.date(2026, 12, 3)).content_key()
    entry = app.extensions["locator"].storage.history("test:closed")[-1]
    assert (entry.action, entry.actor, entry.facility.verified_on) == (
        "update",
        "user:hefei",
        dt.date(2026, 12, 3),
    )
    page = html.unescape(client.get(answer.headers["Location"]).get_data(as_text=True))
    assert "已确认信息无误" in page and "2026-12-03" in page
    outside = _signed_in(app, "feidong")  # 瑶海区 is not theirs
    refused = outside.post(path, data={"version": after.version, "csrf_token": _csrf(outside)})
    assert refused.status_code == 403
    assert _stored(app, "test:closed") == after


def test_the_write_api_takes_the_new_fields(app, url, clock):
    from locator.accounts import Accounts

    with open_storage(url) as storage:
        token, _ = Accounts(storage, clock).issue_token("feidong", "fields", actor="test")
    client = app.test_client()
    auth = {"Authorization": f"Bearer {token}"}
    created = client.post(
        "/api/v1/facilities",
        json={
            "name": "肥东新站",
            "kind": "driver_home",
            "lon": IN_FEIDONG[0],
            "lat": IN_FEIDONG[1],
            "parking_fee": "收费 20元/晚",
            "tier": "扩展型",
            "amenities": ["food_heating", "饮用水"],
            "closed_until": "2026-12-05",
        },
        headers=auth,
    )
    assert created.status_code == 201, created.get_json()
    props = created.get_json()["properties"]
    assert (props["parking_fee"], props["parking_fee_note"], props["tier"]) == (
        "paid",
        "20元/晚",
        "extended",
    )
    assert props["amenities"] == ["drinking_water", "food_heating"]
    path = f"/api/v1/facilities/{created.get_json()['id']}"
    changed = client.patch(
        path, json={"parking_fee": "收费 30元/晚"}, headers={**auth, "If-Match": '"1"'}
    )
    assert changed.status_code == 200
    assert changed.get_json()["properties"]["parking_fee_note"] == "30元/晚"  # replaces it
    future = client.patch(
        path, json={"verified_on": "2026-12-02"}, headers={**auth, "If-Match": '"2"'}
    )
    assert future.status_code == 422
    assert future.get_json()["error"]["field"] == "verified_on"
    today = client.patch(
        path, json={"verified_on": "2026-12-01"}, headers={**auth, "If-Match": '"2"'}
    )
    assert today.get_json()["properties"]["verified_on"] == "2026-12-01"
