"""Drivers' reports (纠错) on SQLite and PostGIS: the API (values, limits, honeypot, no
address stored), the review queue by area, acceptance through the audited edit path and
the automatic "still right" confirmation. Real databases, real requests; the app's clock
is 2026-12-01T09:00+08:00."""

from __future__ import annotations

import datetime as dt
import html
import itertools
import json
import re
import uuid

import pytest

from locator.crs import from_wgs84
from locator.driver_reports import CATEGORIES, REVIEW_STATES, client_hash, parse_report
from locator.errors import ValidationFailed
from tests.test_admin import IN_FEIDONG, IN_YAOHAI, XSS, csrf_token, signed_in
from tests.web_fixtures import (
    ADMIN_NOW,
    add_accounts,
    close_app,
    facility,
    loaded_database,
    make_app,
)

TODAY = dt.date(2026, 12, 1)  # ADMIN_NOW in Shanghai
CREATED = dt.datetime(2026, 12, 1, 1, 0, tzinfo=dt.UTC)  # ADMIN_NOW in UTC
_ids = itertools.count(1)
_addresses = itertools.count(1)


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgis", marks=pytest.mark.postgis)]
)
def url(request, tmp_path_factory):
    url, cleanup = loaded_database(request.param, tmp_path_factory.mktemp("reports"))
    add_accounts(url)
    yield url
    cleanup()


@pytest.fixture(scope="module")
def app(url):
    app = make_app(url, now=ADMIN_NOW, login_limit="1000 per minute", data_check_seconds=0)
    yield app
    close_app(app)


@pytest.fixture(scope="module")
def editors(app):
    """Signed-in clients of the admin tests' accounts (anonymous: None)."""
    return {who: signed_in(app, who) for who in ("viewer", "hefei", "feidong", "admin")} | {
        None: app.test_client()
    }


def _storage(app):
    return app.extensions["locator"].storage


def station(app, where=IN_YAOHAI, **fields) -> str:
    """A new station (瑶海区 unless told otherwise) with hours, phone and amenities."""
    values = dict(
        hours="每天8:00-18:00",
        phone="0551-62000000",
        amenities=frozenset({"shower", "toilet"}),
        truck_parking_spaces=20,
    )
    values.update(fields)
    fid = f"test:report-{next(_ids)}"
    _storage(app).upsert_facilities(
        [facility(fid, f"测试站 {fid}", lon=where[0], lat=where[1], **values)], actor="test"
    )
    return fid


def address() -> str:
    """A client address no other test uses (each has its own rate-limit counters)."""
    n = next(_addresses)
    return f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"


def post(app, facility_id, body, *, client=None, query="", **headers):
    client = client or address()
    test_client = app.test_client()
    test_client.environ_base["REMOTE_ADDR"] = client
    path = f"/api/v1/facilities/{facility_id}/reports{query}"
    if isinstance(body, dict):
        return test_client.post(path, json=body, headers=headers)
    return test_client.post(path, data=body, headers=headers)


def reported(app, facility_id, body, **kwargs) -> int:
    answer = post(app, facility_id, body, **kwargs)
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()["id"]


# ---- the API --------------------------------------------------------------------------------
def test_a_report_is_stored_with_its_values_and_no_address(app):
    fid = station(app)
    answer = post(
        app, fid, {"category": "hours_wrong", "text": " 每天8:00-20:00 "}, client="10.9.8.7"
    )
    assert answer.status_code == 201
    body = answer.get_json()
    assert body == {
        "id": body["id"],
        "status": "received",
        "message": "Received, thank you.",
        "message_zh": "已收到，谢谢",
    }
    assert isinstance(body["id"], int)
    assert "Set-Cookie" not in answer.headers  # no cookie is read or set
    report = _storage(app).get_report(body["id"])
    stored = _storage(app).get_facility(fid)
    assert (report.facility_id, report.category, report.text) == (
        fid,
        "hours_wrong",
        "每天8:00-20:00",
    )
    assert (report.amenity, report.lon, report.lat) == (None, None, None)
    assert report.created_at == CREATED
    assert (report.status, report.reviewed_by, report.reviewed_at) == ("pending", None, None)
    assert (report.city_code, report.county_code) == (stored.city_code, stored.county_code)
    assert (report.city_code, report.county_code) == ("340100", "340102")
    # a salted daily hash: the app's secret key and the Shanghai date, never the address
    assert report.client_hash == client_hash(app.config["SECRET_KEY"], "10.9.8.7", TODAY)
    assert re.fullmatch(r"[0-9a-f]{32}", report.client_hash)
    [row] = _rows(app, f"SELECT * FROM reports WHERE id = {report.id}")
    assert "10.9.8.7" not in json.dumps(row, default=str)
    assert not {"ip", "address", "remote_addr", "user_agent"} & set(row)


def _rows(app, sql: str) -> list[dict]:
    storage = _storage(app)
    with storage._transaction() as tx:
        return [dict(r) for r in tx.execute(sql).fetchall()]


def test_the_client_hash_changes_with_the_shanghai_day(app):
    fid = station(app)
    clock = app.extensions["locator"].clock
    hashes = []
    try:
        for at in ("2026-12-01T23:59:00+08:00", "2026-12-02T00:01:00+08:00"):
            clock.set(dt.datetime.fromisoformat(at))  # both 2026-12-01 in UTC
            report_id = reported(app, fid, {"category": "still_right"}, client="10.7.7.7")
            hashes.append(_storage(app).get_report(report_id).client_hash)
    finally:
        clock.set(dt.datetime.fromisoformat(ADMIN_NOW))
    assert hashes[0] != hashes[1]
    assert hashes[1] == client_hash(app.config["SECRET_KEY"], "10.7.7.7", dt.date(2026, 12, 2))


@pytest.mark.parametrize(
    ("crs", "query"), [("wgs84", ""), ("gcj02", "?crs=gcj02"), ("bd09", "?crs=bd09")]
)
def test_a_pin_is_stored_in_wgs84_whatever_datum_it_came_in(app, crs, query):
    fid = station(app)
    lon, lat = 117.3312, 31.8715  # 瑶海区, about 150 m from the station
    sent = (lon, lat) if crs == "wgs84" else tuple(float(v) for v in from_wgs84(lon, lat, crs))
    report_id = reported(
        app, fid, {"category": "not_here", "lon": sent[0], "lat": sent[1]}, query=query
    )
    report = _storage(app).get_report(report_id)
    assert (report.lon, report.lat) == (pytest.approx(lon, abs=1e-6), pytest.approx(lat, abs=1e-6))


def test_an_amenity_report_takes_the_amenity_by_key_or_label(app):
    fid = station(app)
    first = reported(app, fid, {"category": "amenity_missing", "amenity": "laundry"})
    second = reported(app, fid, {"category": "amenity_not_there", "amenity": "淋浴"})
    assert _storage(app).get_report(first).amenity == "laundry"
    assert _storage(app).get_report(second).amenity == "shower"


def test_text_of_500_characters_is_taken(app):
    fid = station(app)
    report_id = reported(app, fid, {"category": "other", "text": "门" * 500})
    assert _storage(app).get_report(report_id).text == "门" * 500


BAD_REPORTS = [
    ({}, "category", "category is required"),
    ({"category": "bogus"}, "category", "category must be one of hours_wrong"),
    ({"category": ["still_right"]}, "category", "category is required"),
    ({"category": "other"}, "text", "text is required"),
    ({"category": "other", "text": "   "}, "text", "text is required"),
    ({"category": "other", "text": "门" * 501}, "text", "text is 501 characters long"),
    ({"category": "hours_wrong", "text": "8:00\x07-20:00"}, "text", "control characters"),
    ({"category": "hours_wrong", "text": "abc\u202edef"}, "text", "control characters"),
    ({"category": "hours_wrong", "text": 8}, "text", "text must be text"),
    ({"category": "not_here"}, "lon", "lon is required"),
    ({"category": "not_here", "lon": 117.33, "lat": 95}, "lat", "lat must be between -90"),
    ({"category": "not_here", "lon": "x", "lat": 31.87}, "lon", "lon must be a number"),
    ({"category": "not_here", "lon": True, "lat": 31.87}, "lon", "lon must be a number"),
    ({"category": "not_here", "lon": 118.9, "lat": 31.87}, "lon", "at most 20 km away"),
    ({"category": "amenity_missing"}, "amenity", "amenity is required"),
    ({"category": "amenity_missing", "amenity": "spa"}, "amenity", "unknown amenity 'spa'"),
    ({"category": "hours_wrong", "amenity": "shower"}, "amenity", "only sent with"),
    ({"category": "still_right", "lon": 117.3, "lat": 31.8}, "lon", "only sent with"),
    ({"category": "still_right", "colour": "red"}, "colour", "unknown field 'colour'"),
]


@pytest.mark.parametrize(("body", "field", "message"), BAD_REPORTS)
def test_a_bad_report_is_422_naming_the_field_and_nothing_is_stored(app, body, field, message):
    fid = station(app)
    answer = post(app, fid, body)
    assert answer.status_code == 422
    error = answer.get_json()["error"]
    assert (error["code"], error["field"]) == ("validation_failed", field)
    assert message in error["message"]
    assert _storage(app).reports(facility_id=fid) == []


@pytest.mark.parametrize(
    ("body", "query", "status", "field"),
    [
        ({"category": "still_right"}, "?crs=nad27", 400, "crs"),
        ({"category": "still_right"}, "?lang=en", 400, "lang"),
        (b"category=still_right", "", 415, "body"),
        (b"[1, 2]", "", 400, "body"),
    ],
)
def test_bad_requests_are_refused_in_the_error_shape(app, body, query, status, field):
    fid = station(app)
    if isinstance(body, bytes) and body.startswith(b"["):
        answer = post(app, fid, body, query=query, **{"Content-Type": "application/json"})
    else:
        answer = post(app, fid, body, query=query)
    assert answer.status_code == status
    assert answer.get_json()["error"]["field"] == field
    assert _storage(app).reports(facility_id=fid) == []


def test_an_unknown_facility_is_404(app):
    answer = post(app, "test:no-such-station", {"category": "still_right"})
    assert answer.status_code == 404
    assert answer.get_json()["error"] == {
        "code": "not_found",
        "message": "no facility with id 'test:no-such-station'",
        "field": "id",
    }
    assert _storage(app).reports(facility_id="test:no-such-station") == []


def test_ids_with_slashes_reach_their_station(app):
    fid = "osm:way/161679435"  # a shipped expressway service area
    report_id = reported(app, fid, {"category": "truck_parking_full"})
    assert _storage(app).get_report(report_id).facility_id == fid


def test_the_honeypot_discards_the_report_but_answers_as_usual(app):
    fid = station(app)
    answer = post(app, fid, {"category": "other", "text": "buy now", "website": "http://spam"})
    assert answer.status_code == 201
    assert answer.get_json()["id"] is None
    assert answer.get_json()["message_zh"] == "已收到，谢谢"
    assert _storage(app).reports(facility_id=fid) == []
    # an empty honeypot (the page's hidden field) is a report like any other
    assert reported(app, fid, {"category": "still_right", "website": ""}) > 0


def test_the_31st_report_from_one_client_within_a_minute_is_429_and_not_stored(app):
    fid = station(app)
    client = address()
    for n in range(30):
        answer = post(app, fid, {"category": "other", "text": f"第 {n} 次"}, client=client)
        assert answer.status_code == 201, (n, answer.get_json())
    before = len(_storage(app).reports(facility_id=fid))
    answer = post(app, fid, {"category": "other", "text": "第 31 次"}, client=client)
    assert answer.status_code == 429
    assert answer.mimetype == "application/json"
    assert answer.get_json() == {
        "error": {
            "code": "rate_limited",
            "message": "too many reports from this connection (at most 30 per minute); "
            "try again later",
        }
    }
    assert int(answer.headers["Retry-After"]) > 0
    assert len(_storage(app).reports(facility_id=fid)) == before == 30
    # another client is not held back
    assert post(app, fid, {"category": "still_right"}).status_code == 201


def test_a_facility_takes_at_most_60_stored_reports_an_hour(app):
    fid = station(app)
    for _n in range(5):  # refused reports do not count against the station
        assert post(app, fid, {"category": "other"}).status_code == 422
    for n in range(60):
        answer = post(app, fid, {"category": "truck_parking_full"})
        assert answer.status_code == 201, (n, answer.get_json())
    answer = post(app, fid, {"category": "truck_parking_full"})
    assert answer.status_code == 429
    assert answer.get_json()["error"]["message"] == (
        "this station has had many reports lately (at most 60 per hour); try again later"
    )
    assert len(_storage(app).reports(facility_id=fid)) == 60
    assert post(app, station(app), {"category": "truck_parking_full"}).status_code == 201


def test_other_sites_pages_cannot_post_reports(app):
    fid = station(app)
    for headers in (
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Sec-Fetch-Site": "cross-site"},
    ):
        answer = post(app, fid, {"category": "closed_for_good"}, **headers)
        assert answer.status_code == 403, headers
        assert answer.get_json()["error"]["field"] == "Origin"
        assert "Access-Control-Allow-Origin" not in answer.headers
    assert _storage(app).reports(facility_id=fid) == []
    # this site's own pages (the station page, the embed widget's frame) may
    same = post(app, fid, {"category": "still_right"}, Origin="http://localhost")
    assert same.status_code == 201
    assert "Access-Control-Allow-Origin" not in same.headers
    # a preflight for a cross-origin JSON post is never granted
    preflight = app.test_client().options(
        f"/api/v1/facilities/{fid}/reports",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert "Access-Control-Allow-Origin" not in preflight.headers


def test_the_report_endpoint_needs_no_csrf_token_while_forms_do(app):
    """The API blueprint is CSRF-exempt (no cookie involved); the admin forms are not."""
    fid = station(app)
    assert post(app, fid, {"category": "still_right"}).status_code == 201
    report_id = reported(app, fid, {"category": "still_right"})
    refused = signed_in(app, "admin").post(
        f"/admin/reports/{report_id}/reject", data={"review_note": "no token"}
    )
    assert refused.status_code == 403
    assert _storage(app).get_report(report_id).status == "pending"


def test_the_openapi_document_describes_reports(app):
    document = app.test_client().get("/api/v1/openapi.json").get_json()
    operation = document["paths"]["/facilities/{id}/reports"]["post"]
    assert "security" not in operation
    assert set(operation["responses"]) == {"201", "400", "403", "404", "415", "422", "429"}
    assert "已收到，谢谢" in operation["responses"]["201"]["description"]
    assert "30 per minute" in operation["description"]
    assert "60 per hour" in operation["description"]
    schema = document["components"]["schemas"]["Report"]
    assert schema["properties"]["category"]["enum"] == list(CATEGORIES)
    assert schema["properties"]["text"]["maxLength"] == 500
    assert [p["name"] for p in operation["parameters"]] == ["id", "crs"]


def test_parse_report_is_the_library_check():
    assert parse_report({"category": "still_right"}).category == "still_right"
    with pytest.raises(ValidationFailed) as refused:
        parse_report({"category": "other"})
    assert refused.value.field == "text"
    assert refused.value.message_in("zh") == "text 不能为空"


# ---- the pages carry the form -------------------------------------------------------------------
def _config(page: str, block: str = "config") -> dict:
    found = re.search(rf'<script type="application/json" id="{block}">(.*?)</script>', page, re.S)
    return json.loads(found.group(1))


@pytest.mark.parametrize(
    ("path", "block"),
    [("/f/osm:way/161679435", "config"), ("/", "config"), ("/embed?lang=zh", "embed-config")],
)
def test_the_pages_carry_the_report_form_config_and_script(app, path, block):
    page = app.test_client().get(path).get_data(as_text=True)
    config = _config(page, block)["report"]
    assert config["url"] == "/api/v1/facilities/__ID__/reports"
    labels = {c["key"]: c["label"] for c in config["categories"]}
    assert labels == {key: value["zh"] for key, value in CATEGORIES.items()}
    assert labels["still_right"] == "信息正确"
    assert {c["key"]: c["detail"] for c in config["categories"]}["not_here"] == "point"
    assert config["text"]["received"] == "已收到，谢谢"
    assert config["text"]["open"] == "纠错"
    assert config["honeypot"] == "website"
    assert re.search(r'<script src="/static/report[.\w]*\.js"', page)


def test_the_station_page_keeps_its_strict_policy_with_the_form(app):
    answer = app.test_client().get("/f/osm:way/161679435")
    policy = answer.headers["Content-Security-Policy"]
    assert "script-src 'self';" in policy and "style-src 'self';" in policy
    assert "unsafe-inline" not in policy
    assert 'id="report-section"' in answer.get_data(as_text=True)


# ---- the review queue -----------------------------------------------------------------------
def test_hostile_text_is_shown_escaped_in_the_queue(app, editors):
    fid = station(app)
    report_id = reported(app, fid, {"category": "other", "text": XSS})
    answer = editors["admin"].get("/admin/reports")
    page = answer.get_data(as_text=True)
    assert answer.status_code == 200
    assert XSS not in page and "<script>alert(2)" not in page and "<img src=x" not in page
    item = page.split(f'id="report-{report_id}"')[1].split("</li>")[0]
    shown = re.search(r'<p class="report-text">(.*?)</p>', item, re.S).group(1)
    # escaped (any of the entity forms a browser reads back as the same text), not markup
    assert "<" not in shown and ">" not in shown and '"' not in shown
    assert html.unescape(shown) == XSS
    assert "unsafe-inline" not in answer.headers["Content-Security-Policy"]
    assert "script-src 'self'" in answer.headers["Content-Security-Policy"]


def _queue(client, **query) -> dict[str, list[int]]:
    """The queue page as ``{facility id: [report ids, in page order]}``, in page order."""
    page = client.get("/admin/reports", query_string=query).get_data(as_text=True)
    groups: dict[str, list[int]] = {}
    for section in page.split('<section class="report-group"')[1:]:
        fid = html.unescape(re.search(r'data-facility-id="([^"]+)"', section).group(1))
        groups[fid] = [int(i) for i in re.findall(r'data-report-id="(\d+)"', section)]
    return groups


def test_the_queue_groups_per_facility_newest_first_with_the_history(app, editors):
    clock = app.extensions["locator"].clock
    first, second = station(app), station(app)
    try:
        clock.set(dt.datetime(2026, 11, 30, 8, 0, tzinfo=dt.UTC))
        old = reported(app, first, {"category": "hours_wrong"})
        clock.set(dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC))
        middle = reported(app, second, {"category": "phone_wrong", "text": "0551-1234567"})
        clock.set(dt.datetime(2026, 11, 30, 10, 0, tzinfo=dt.UTC))
        new = reported(app, first, {"category": "still_right"})
    finally:
        clock.set(dt.datetime.fromisoformat(ADMIN_NOW))
    groups = _queue(editors["hefei"])
    order = [fid for fid in groups if fid in (first, second)]
    assert order == [first, second]  # the group with the newest report first
    assert groups[first] == [new, old] and groups[second] == [middle]
    page = editors["hefei"].get("/admin/reports").get_data(as_text=True)
    section = page.split(f'data-facility-id="{first}"')[1].split('<section class="report-group"')[0]
    assert "2026-11-30 18:00" in section  # Shanghai time of the newest report
    assert "Recent changes" in section or "最近修改" in section
    assert "v1 · " in section and "test" in section  # the history beside: version 1 by "test"
    assert 'name="version" value="1"' in section


def test_an_editor_sees_the_reports_of_their_areas_and_a_viewer_reads_them(app, editors):
    yaohai = reported(app, station(app, IN_YAOHAI), {"category": "still_right"})
    feidong = reported(app, station(app, IN_FEIDONG), {"category": "still_right"})

    def shown(who):
        return {i for ids in _queue(editors[who]).values() for i in ids}

    assert {yaohai, feidong} <= shown("hefei") and {yaohai, feidong} <= shown("admin")
    assert feidong in shown("feidong") and yaohai not in shown("feidong")
    assert {yaohai, feidong} <= shown("viewer")
    viewer_page = editors["viewer"].get("/admin/reports").get_data(as_text=True)
    assert "report-accept" not in viewer_page and "report-reject" not in viewer_page
    anonymous = editors[None].get("/admin/reports")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]


def _accept(client, report_id, **fields):
    return client.post(
        f"/admin/reports/{report_id}/accept",
        data={"csrf_token": csrf_token(client, "/admin/reports"), **fields},
    )


def _reject(client, report_id, reason):
    return client.post(
        f"/admin/reports/{report_id}/reject",
        data={"csrf_token": csrf_token(client, "/admin/reports"), "review_note": reason},
    )


def test_an_editor_of_feidong_cannot_review_a_yaohai_report(app, editors):
    fid = station(app, IN_YAOHAI)
    report_id = reported(app, fid, {"category": "closed_for_good"})
    before = _storage(app).get_facility(fid)
    for who, status in (("feidong", 403), ("viewer", 403), (None, 302)):
        if who is None:  # with a valid token (from /login): sent to sign in
            client = editors[None]
            token = csrf_token(client, "/login")
            accepted = client.post(
                f"/admin/reports/{report_id}/accept", data={"version": 1, "csrf_token": token}
            )
            rejected = client.post(
                f"/admin/reports/{report_id}/reject", data={"review_note": "x", "csrf_token": token}
            )
            assert "/login" in accepted.headers["Location"]
        else:
            accepted = _accept(editors[who], report_id, version=before.version)
            rejected = _reject(editors[who], report_id, "不在本区")
        assert (accepted.status_code, rejected.status_code) == (status, status), who
    assert _storage(app).get_facility(fid) == before
    assert _storage(app).get_report(report_id).status == "pending"
    # the editor of the city may
    assert _accept(editors["hefei"], report_id, version=before.version).status_code == 302
    assert _storage(app).get_facility(fid).status == "closed"


ACCEPTED = [
    ("closed_for_good", {}, {}, {"status": "closed"}),
    (
        "temporarily_closed",
        {"text": "装修"},
        {"closed_until": "2026-12-20"},
        {"closed_until": dt.date(2026, 12, 20)},
    ),
    (
        "not_here",
        {"lon": 117.3321, "lat": 31.8712},
        {},
        {"lon": pytest.approx(117.3321), "lat": pytest.approx(31.8712)},
    ),
    ("hours_wrong", {"text": "每天8:00-20:00"}, {}, {"hours": "每天8:00-20:00"}),
    ("hours_wrong", {}, {"hours": "24小时"}, {"hours": "24小时"}),
    ("phone_wrong", {"text": "0551-63331234"}, {}, {"phone": "0551-63331234"}),
    (
        "amenity_missing",
        {"amenity": "laundry"},
        {},
        {"amenities": frozenset({"shower", "toilet", "laundry"})},
    ),
    ("amenity_not_there", {"amenity": "shower"}, {}, {"amenities": frozenset({"toilet"})}),
    ("truck_parking_full", {}, {"truck_parking_spaces": "40"}, {"truck_parking_spaces": 40}),
    ("truck_parking_full", {}, {}, {}),
    ("other", {"text": "门口在修路"}, {}, {}),
    ("still_right", {}, {}, {}),
]


@pytest.mark.parametrize(("category", "report", "form", "changed"), ACCEPTED)
def test_accepting_applies_the_change_through_the_audited_path(
    app, editors, category, report, form, changed
):
    fid = station(app, verified_on=dt.date(2026, 6, 1))
    before = _storage(app).get_facility(fid)
    report_id = reported(app, fid, {"category": category, **report})
    client = editors["hefei"]
    if category in ("hours_wrong", "phone_wrong") and report.get("text"):
        page = client.get("/admin/reports").get_data(as_text=True)
        item = page.split(f'id="report-{report_id}"')[1].split("</li>")[0]
        name = "hours" if category == "hours_wrong" else "phone"
        assert f'name="{name}" maxlength' in item
        assert f'value="{html.escape(report["text"])}"' in item  # prefilled from the report
        form = {name: report["text"]}
    if category == "not_here":
        form = {"lon": str(report["lon"]), "lat": str(report["lat"])}  # the prefilled pin
    answer = _accept(client, report_id, version=before.version, review_note="核实过", **form)
    assert answer.status_code == 302, answer.get_data(as_text=True)[:500]
    assert "done=accepted" in answer.headers["Location"]

    after = _storage(app).get_facility(fid)
    assert after.verified_on == TODAY
    assert after.version == before.version + 1
    expected = {"verified_on": TODAY, **changed}
    for name in ("status", "closed_until", "lon", "lat", "hours", "phone", "amenities"):
        assert getattr(after, name) == expected.get(name, getattr(before, name)), name
    assert after.truck_parking_spaces == changed.get("truck_parking_spaces", 20)
    entry = _storage(app).history(fid)[-1]
    assert entry.actor == f"user:hefei (report:{report_id})"
    assert entry.facility == after
    stored = _storage(app).get_report(report_id)
    assert (stored.status, stored.reviewed_by, stored.review_note) == (
        "accepted",
        "user:hefei",
        "核实过",
    )
    assert stored.reviewed_at == CREATED
    # the history page and the audit log name the report
    history = client.get(f"/admin/facilities/{fid}/history").get_data(as_text=True)
    assert f"user:hefei (report:{report_id})" in history


def test_a_bad_value_or_a_stale_version_changes_nothing(app, editors):
    fid = station(app)
    client = editors["hefei"]
    stale = reported(app, fid, {"category": "closed_for_good"})
    before = _storage(app).get_facility(fid)
    _storage(app).upsert_facilities([before.replace(name="改过的名字")], actor="test")
    changed = _storage(app).get_facility(fid)
    answer = _accept(client, stale, version=before.version)
    assert answer.status_code == 409
    assert _storage(app).get_facility(fid) == changed
    assert _storage(app).get_report(stale).status == "pending"

    closed = reported(app, fid, {"category": "temporarily_closed"})
    for until, message in (("", "请填写暂停营业的截止日期"), ("2026-12-01", "应晚于今天")):
        answer = _accept(client, closed, version=changed.version, closed_until=until)
        assert answer.status_code == 422
        item = answer.get_data(as_text=True).split(f'id="report-{closed}"')[1].split("</li>")[0]
        assert message in item
    hours = reported(app, fid, {"category": "hours_wrong"})
    answer = _accept(client, hours, version=changed.version, hours="")
    assert answer.status_code == 422 and "请填写正确的营业时间" in answer.get_data(as_text=True)
    assert _storage(app).get_facility(fid) == changed
    assert {r.status for r in _storage(app).reports(facility_id=fid)} == {"pending"}


def test_rejecting_needs_a_reason_and_records_it(app, editors):
    fid = station(app)
    report_id = reported(app, fid, {"category": "closed_for_good"})
    before = _storage(app).get_facility(fid)
    client = editors["hefei"]
    answer = _reject(client, report_id, "  ")
    assert answer.status_code == 422
    assert "请填写驳回理由" in answer.get_data(as_text=True)
    assert _storage(app).get_report(report_id).status == "pending"
    assert _reject(client, report_id, "昨天刚去过，照常营业").status_code == 302
    report = _storage(app).get_report(report_id)
    assert (report.status, report.reviewed_by, report.review_note, report.reviewed_at) == (
        "rejected",
        "user:hefei",
        "昨天刚去过，照常营业",
        CREATED,
    )
    assert _storage(app).get_facility(fid) == before  # a rejection changes no station
    # reviewed once: a second review is refused, the first stays
    again = _accept(client, report_id, version=before.version)
    assert again.status_code == 409
    assert "已经处理过（已驳回）" in again.get_data(as_text=True)
    assert _storage(app).get_report(report_id) == report
    rejected = _queue(client, status="rejected")
    assert report_id in rejected[fid]
    assert fid not in _queue(client) or report_id not in _queue(client)[fid]


# ---- "still right" from several drivers -------------------------------------------------------
def test_three_drivers_saying_still_right_verify_the_station(app):
    fid = station(app, verified_on=dt.date(2026, 5, 1))
    storage = _storage(app)
    versions = []
    for n, client in enumerate(("10.50.0.1", "10.50.0.2", "10.50.0.2", "10.50.0.3")):
        reported(app, fid, {"category": "still_right"}, client=client)
        versions.append(storage.get_facility(fid).verified_on)
        if n < 3:
            assert storage.get_facility(fid).verified_on == dt.date(2026, 5, 1), n
    assert versions[-1] == TODAY
    entry = storage.history(fid)[-1]
    assert (entry.actor, entry.action) == ("reports:still_right", "update")
    assert entry.facility.verified_on == TODAY
    reports = storage.reports(facility_id=fid)
    assert {(r.status, r.reviewed_by) for r in reports} == {("accepted", "reports:still_right")}
    # a fourth confirmation on the same day changes nothing more
    reported(app, fid, {"category": "still_right"}, client="10.50.0.4")
    assert storage.history(fid)[-1] == entry
    assert storage.get_report(reports[0].id).status == "accepted"


def test_one_client_or_old_confirmations_do_not_verify(app):
    storage = _storage(app)
    alone = station(app)
    for _n in range(3):
        reported(app, alone, {"category": "still_right"}, client="10.51.0.1")
    assert storage.get_facility(alone).verified_on is None
    clock = app.extensions["locator"].clock
    old = station(app)
    try:
        clock.set(dt.datetime(2026, 10, 31, 9, 0, tzinfo=dt.UTC))  # 31 days before
        reported(app, old, {"category": "still_right"}, client="10.51.0.2")
    finally:
        clock.set(dt.datetime.fromisoformat(ADMIN_NOW))
    for client in ("10.51.0.3", "10.51.0.4"):
        reported(app, old, {"category": "still_right"}, client=client)
    assert storage.get_facility(old).verified_on is None
    reported(app, old, {"category": "still_right"}, client="10.51.0.5")
    assert storage.get_facility(old).verified_on == TODAY


def test_review_states_have_labels():
    assert set(REVIEW_STATES) == {"pending", "accepted", "rejected"}


# ---- counters shared by the workers (last: it points the limiter at Redis) -------------------
def test_with_redis_every_worker_counts_the_same_reports(url):
    """Two apps (two workers) on one Redis: 30 reports through the first, the 31st through
    the second is refused."""
    redis = "redis://127.0.0.1:6379/0"
    client = f"10.{uuid.uuid4().int % 200 + 50}.{uuid.uuid4().int % 256}.{uuid.uuid4().int % 256}"
    first = make_app(url, now=ADMIN_NOW, redis_url=redis, data_check_seconds=0)
    fid = f"test:redis-{uuid.uuid4().hex[:12]}"
    try:
        _storage(first).upsert_facilities([facility(fid, "Redis 测试站", lon=117.33, lat=31.87)])
        for _n in range(30):
            assert post(first, fid, {"category": "still_right"}, client=client).status_code == 201
        second = make_app(url, now=ADMIN_NOW, redis_url=redis, data_check_seconds=0)
        try:
            refused = post(second, fid, {"category": "still_right"}, client=client)
            assert refused.status_code == 429
            assert refused.get_json()["error"]["code"] == "rate_limited"
            assert len(_storage(second).reports(facility_id=fid)) == 30
        finally:
            close_app(second)
    finally:
        close_app(first)
