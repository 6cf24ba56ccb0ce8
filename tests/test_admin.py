"""Keeping the stations: sign-in, area roles, the admin pages and the write API, on SQLite
and PostGIS (real databases, real requests through the Flask test client).

The permission matrix covers every /admin page and write endpoint for anonymous
visitors, a viewer, an editor of 合肥市, an editor of 肥东县 and an admin."""

from __future__ import annotations

import csv
import html
import io
import json
import re

import openpyxl
import pytest

from locator.accounts import Accounts
from locator.clock import clock_from_text
from locator.crs import from_wgs84, haversine_m
from locator.hours import OPEN_STATE_LABELS, open_state
from locator.maps import ANHUI_BOUNDS
from locator.storage import open_storage
from tests.test_security import Tags, policy
from tests.web_fixtures import (
    ADMIN_NOW,
    PASSWORD,
    add_accounts,
    admin_polygon,
    assert_long_lived,
    asset_url,
    close_app,
    loaded_database,
    make_app,
    townships_at,
)
from tests.web_fixtures import ADMIN_ROLES as ROLES

FEIDONG = "340122"  # 肥东县, in 合肥市
YAOHAI = "340102"  # 瑶海区, in 合肥市
HEFEI = "340100"
#: A point in 肥东县 (店埠镇) and one in 瑶海区, both in 合肥市.
IN_FEIDONG = (117.4690, 31.8870)
IN_YAOHAI = (117.3300, 31.8700)
#: A point in 芜湖市, outside 合肥市.
IN_WUHU = (118.3760, 31.3260)
XSS = '<img src=x onerror="alert(1)">"><script>alert(2)</script>'


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgis", marks=pytest.mark.postgis)]
)
def url(request, tmp_path_factory):
    url, cleanup = loaded_database(request.param, tmp_path_factory.mktemp("admin"))
    add_accounts(url, ROLES)
    yield url
    cleanup()


@pytest.fixture(scope="module")
def app(url):
    app = make_app(url, now=ADMIN_NOW, login_limit="1000 per minute")
    yield app
    close_app(app)


def test_sign_in_attempts_are_limited_per_account(url):
    limited = make_app(url, login_limit="3 per minute")
    try:
        client = limited.test_client()
        token = csrf_token(client)
        codes = [
            client.post(
                "/login",
                data={"name": "viewer", "password": "wrong password!", "csrf_token": token},
            ).status_code
            for _ in range(4)
        ]
        assert codes == [401, 401, 401, 429]
        again = client.post(
            "/login", data={"name": "viewer", "password": PASSWORD, "csrf_token": token}
        )
        assert again.status_code == 429  # even the right password waits
    finally:
        close_app(limited)


def csrf_token(client, path="/login") -> str:
    page = client.get(path).get_data(as_text=True)
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, page[:300]
    return found.group(1)


def signed_in(app, who: str | None):
    client = app.test_client()
    if who is not None:
        token = csrf_token(client)
        answer = client.post(
            "/login", data={"name": who, "password": PASSWORD, "csrf_token": token}
        )
        assert answer.status_code == 302, answer.get_data(as_text=True)[:300]
    return client


def form_for(lon_lat, name="测试司机之家", **extra) -> dict:
    lon, lat = lon_lat
    return {
        "name": name,
        "kind": "driver_home",
        "status": "open",
        "lon": str(lon),
        "lat": str(lat),
        "crs": "wgs84",
        **extra,
    }


def stored(app, facility_id):
    return app.extensions["locator"].storage.get_facility(facility_id)


def add_through_form(app, who, lon_lat, **extra):
    client = signed_in(app, who)
    token = csrf_token(client, "/admin/facilities/new")
    return client.post(
        "/admin/facilities/new", data={**form_for(lon_lat, **extra), "csrf_token": token}
    )


@pytest.fixture(scope="module")
def yaohai_id(app):
    answer = add_through_form(app, "admin", IN_YAOHAI, name="瑶海测试站")
    assert answer.status_code == 302
    facility_id = answer.headers["Location"].split("/admin/facilities/")[1].split("?")[0]
    facility = stored(app, facility_id)
    assert facility.county_code == YAOHAI
    return facility_id


def test_signing_in_sets_a_hardened_cookie_and_wrong_passwords_are_refused(app):
    client = app.test_client()
    token = csrf_token(client)
    wrong = client.post(
        "/login", data={"name": "admin", "password": "nope nope nope", "csrf_token": token}
    )
    assert wrong.status_code == 401
    assert "Wrong name or password" in wrong.get_data(as_text=True) or "密码" in wrong.get_data(
        as_text=True
    )
    right = client.post("/login", data={"name": "admin", "password": PASSWORD, "csrf_token": token})
    assert right.status_code == 302
    cookie = right.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert PASSWORD not in cookie


def test_a_login_without_its_csrf_token_is_refused(app):
    client = app.test_client()
    answer = client.post("/login", data={"name": "admin", "password": PASSWORD})
    assert answer.status_code == 403
    assert "Set-Cookie" not in answer.headers or "session=;" in answer.headers.get("Set-Cookie", "")


def test_next_never_leaves_the_site(app):
    client = app.test_client()
    token = csrf_token(client)
    answer = client.post(
        "/login?next=//evil.example/x",
        data={"name": "admin", "password": PASSWORD, "csrf_token": token},
    )
    assert answer.status_code == 302
    assert answer.headers["Location"].endswith("/admin/facilities")


PAGES = [
    "/admin/facilities",
    "/admin/facilities/new",
    "/admin/users",
    "/admin/audit",
    "/admin/audit.csv",
    "/admin/audit.xlsx",
    "/admin/import",
    # the facility form's JSON helpers: 401 in the JSON error shape, not the sign-in page
    "/admin/place?lon=117.469&lat=31.887",
    "/admin/hours-preview?hours=24/7",
]
_AUDIT = {"/admin/audit": 200, "/admin/audit.csv": 200, "/admin/audit.xlsx": 200}
_IMPORT = {"/admin/import": 200}
_JSON = {"/admin/place?lon=117.469&lat=31.887": 200, "/admin/hours-preview?hours=24/7": 200}
EXPECTED_GET = {
    None: dict.fromkeys(PAGES, 302) | dict.fromkeys(_JSON, 401),
    "viewer": {"/admin/facilities": 200, "/admin/facilities/new": 403, "/admin/users": 403}
    | _AUDIT
    | {"/admin/import": 403}
    | _JSON,
    "hefei": {"/admin/facilities": 200, "/admin/facilities/new": 200, "/admin/users": 403}
    | _AUDIT
    | _IMPORT
    | _JSON,
    "feidong": {"/admin/facilities": 200, "/admin/facilities/new": 200, "/admin/users": 403}
    | _AUDIT
    | _IMPORT
    | _JSON,
    "admin": {"/admin/facilities": 200, "/admin/facilities/new": 200, "/admin/users": 200}
    | _AUDIT
    | _IMPORT
    | _JSON,
}


@pytest.mark.parametrize("who", list(EXPECTED_GET))
@pytest.mark.parametrize("path", PAGES)
def test_permission_matrix_pages(app, who, path):
    answer = signed_in(app, who).get(path)
    assert answer.status_code == EXPECTED_GET[who][path]
    if answer.status_code == 302:
        assert "/login" in answer.headers["Location"]
    if answer.status_code == 401:
        assert answer.get_json()["error"]["code"] == "unauthorized"


@pytest.mark.parametrize(
    ("who", "where", "status"),
    [
        (None, IN_FEIDONG, 302),
        ("viewer", IN_FEIDONG, 403),
        ("feidong", IN_FEIDONG, 302),
        ("feidong", IN_YAOHAI, 403),
        ("hefei", IN_YAOHAI, 302),
        ("hefei", IN_WUHU, 403),
        ("admin", IN_WUHU, 302),
    ],
)
def test_permission_matrix_adding_by_form(app, who, where, status):
    before = len(app.extensions["locator"].storage.facilities())
    client = signed_in(app, who)
    token = csrf_token(client, "/login")
    answer = client.post("/admin/facilities/new", data={**form_for(where), "csrf_token": token})
    assert answer.status_code == status
    after = len(app.extensions["locator"].storage.facilities())
    assert after == before + (1 if status == 302 and who else 0)


@pytest.mark.parametrize(
    ("who", "status"),
    [(None, 302), ("viewer", 403), ("feidong", 403), ("hefei", 302), ("admin", 302)],
)
def test_permission_matrix_editing_a_yaohai_station(app, yaohai_id, who, status):
    client = signed_in(app, who)
    facility = stored(app, yaohai_id)
    token = csrf_token(client, "/login")
    answer = client.post(
        f"/admin/facilities/{yaohai_id}",
        data={
            **form_for((facility.lon, facility.lat), name=f"瑶海测试站 {who}"),
            "version": facility.version,
            "csrf_token": token,
        },
    )
    assert answer.status_code == status
    changed = stored(app, yaohai_id)
    if status == 302 and who:
        assert changed.name == f"瑶海测试站 {who}"
        assert changed.version == facility.version + 1
    else:
        assert changed == facility


@pytest.mark.parametrize(
    ("who", "status"),
    [(None, 302), ("viewer", 403), ("feidong", 403), ("hefei", 302), ("admin", 302)],
)
def test_permission_matrix_verifying_a_yaohai_station(app, yaohai_id, who, status):
    """The "still correct" button sets verified_on to the clock's Shanghai date."""
    storage = app.extensions["locator"].storage
    storage.upsert_facilities([stored(app, yaohai_id).replace(verified_on=None)])
    facility = stored(app, yaohai_id)
    client = signed_in(app, who)
    token = csrf_token(client, "/login")
    answer = client.post(
        f"/admin/facilities/{yaohai_id}/verify",
        data={"version": facility.version, "csrf_token": token},
    )
    assert answer.status_code == status
    changed = stored(app, yaohai_id)
    if status == 302 and who:
        assert changed.verified_on.isoformat() == ADMIN_NOW[:10]
        assert changed.version == facility.version + 1
        assert storage.history(yaohai_id)[-1].actor == f"user:{who}"
    else:
        assert changed == facility


def test_an_editor_cannot_move_a_station_out_of_the_area(app):
    answer = add_through_form(app, "feidong", IN_FEIDONG, name="肥东站")
    assert answer.status_code == 302
    facility_id = answer.headers["Location"].split("/admin/facilities/")[1].split("?")[0]
    facility = stored(app, facility_id)
    client = signed_in(app, "feidong")
    token = csrf_token(client, "/login")
    moved = client.post(
        f"/admin/facilities/{facility_id}",
        data={
            **form_for(IN_YAOHAI, name="肥东站"),
            "version": facility.version,
            "csrf_token": token,
        },
    )
    assert moved.status_code == 403
    assert stored(app, facility_id) == facility


def test_a_form_without_csrf_token_changes_nothing(app, yaohai_id):
    client = signed_in(app, "admin")
    facility = stored(app, yaohai_id)
    answer = client.post(
        f"/admin/facilities/{yaohai_id}",
        data={**form_for((facility.lon, facility.lat), name="forged"), "version": facility.version},
    )
    assert answer.status_code == 403
    forged_token = client.post(
        f"/admin/facilities/{yaohai_id}",
        data={
            **form_for((facility.lon, facility.lat), name="forged"),
            "version": facility.version,
            "csrf_token": "IjEyMyI.forged.token",
        },
    )
    assert forged_token.status_code == 403
    assert stored(app, yaohai_id) == facility


def test_saving_over_a_newer_version_shows_both_and_loses_nothing(app, yaohai_id):
    first, second = signed_in(app, "admin"), signed_in(app, "hefei")
    facility = stored(app, yaohai_id)
    where = (facility.lon, facility.lat)
    token1, token2 = csrf_token(first, "/login"), csrf_token(second, "/login")
    ok = first.post(
        f"/admin/facilities/{yaohai_id}",
        data={
            **form_for(where, name="第一位编辑的名称"),
            "version": facility.version,
            "csrf_token": token1,
        },
    )
    assert ok.status_code == 302
    late = second.post(
        f"/admin/facilities/{yaohai_id}",
        data={
            **form_for(where, name="第二位编辑的名称", phone="0551-1234567"),
            "version": facility.version,
            "csrf_token": token2,
        },
    )
    assert late.status_code == 409
    page = html.unescape(late.get_data(as_text=True))
    assert "第一位编辑的名称" in page and "第二位编辑的名称" in page and "0551-1234567" in page
    assert stored(app, yaohai_id).name == "第一位编辑的名称"


def test_history_shows_who_changed_what_and_reverts(app, yaohai_id):
    client = signed_in(app, "admin")
    before = stored(app, yaohai_id)
    token = csrf_token(client, "/login")
    client.post(
        f"/admin/facilities/{yaohai_id}",
        data={
            **form_for((before.lon, before.lat), name="改名之后"),
            "version": before.version,
            "csrf_token": token,
        },
    )
    page = html.unescape(
        client.get(f"/admin/facilities/{yaohai_id}/history").get_data(as_text=True)
    )
    assert "user:admin" in page
    assert f"{before.name} → 改名之后" in page
    reverted = client.post(
        f"/admin/facilities/{yaohai_id}/revert",
        data={"to_version": before.version, "version": before.version + 1, "csrf_token": token},
    )
    assert reverted.status_code == 302
    now = stored(app, yaohai_id)
    assert now.name == before.name
    assert now.version == before.version + 2


def test_hostile_text_is_shown_as_text_in_the_admin_pages(app):
    answer = add_through_form(
        app,
        "admin",
        IN_YAOHAI,
        name=XSS,
        address=XSS,
        operator=XSS,
        hours=XSS,
        parking_fee="paid",
        parking_fee_note=XSS,
    )
    assert answer.status_code == 302
    client = signed_in(app, "admin")
    facility_id = answer.headers["Location"].split("/admin/facilities/")[1].split("?")[0]
    assert stored(app, facility_id).parking_fee_note == XSS
    for path in (
        "/admin/facilities?q=img",
        f"/admin/facilities/{facility_id}",
        f"/admin/facilities/{facility_id}/history",
        "/admin/audit",
        f"/f/{facility_id}",
    ):
        page = client.get(path).get_data(as_text=True)
        assert "<script>alert(2)" not in page and "<img src=x" not in page, path
        assert "&lt;script&gt;alert(2)" in page or "&lt;img src=x" in page, path


# ---- the audit log --------------------------------------------------------------------------
def _audit_rows(client, **query):
    answer = client.get("/admin/audit.csv", query_string=query)
    assert answer.status_code == 200, answer.get_data(as_text=True)[:300]
    text = answer.get_data(as_text=True)
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:])))


def test_the_audit_log_lists_each_change_with_its_user_and_filters(app):
    feidong = add_through_form(app, "feidong", IN_FEIDONG, name="审计肥东站")
    hefei = add_through_form(app, "hefei", IN_YAOHAI, name="=审计瑶海站")
    assert feidong.status_code == hefei.status_code == 302
    admin = signed_in(app, "admin")
    rows = _audit_rows(admin, actor="feidong")
    assert {r["名称"] for r in rows} >= {"审计肥东站"}
    assert {r["操作人"] for r in rows} == {"user:feidong"}
    mine = [r for r in rows if r["名称"] == "审计肥东站"]
    assert len(mine) == 1 and mine[0]["操作"] == "新增" and mine[0]["县区代码"] == FEIDONG
    assert "name: ∅ → 审计肥东站" in mine[0]["修改内容"]
    assert mine[0]["时间"].startswith("2026-12-01T09:00")  # Asia/Shanghai, the app's clock

    hefei_rows = _audit_rows(admin, actor="hefei", action="insert")
    assert "'=审计瑶海站" in {r["名称"] for r in hefei_rows}  # never read as a formula
    assert all(r["县区代码"] == YAOHAI for r in _audit_rows(admin, area=YAOHAI))
    assert "审计肥东站" not in {r["名称"] for r in _audit_rows(admin, area=YAOHAI)}
    # the web edits happened on 2026-12-01 by the app's clock
    assert _audit_rows(admin, actor="user:", since="2026-12-02") == []
    assert _audit_rows(admin, actor="user:", until="2026-11-30") == []
    on_the_day = _audit_rows(admin, actor="user:", since="2026-12-01", until="2026-12-01")
    assert {"审计肥东站", "'=审计瑶海站"} <= {r["名称"] for r in on_the_day}

    # an editor sees the changes of the own areas only; a viewer sees them all
    seen_by_feidong = _audit_rows(signed_in(app, "feidong"))
    assert seen_by_feidong and {r["县区代码"] for r in seen_by_feidong} == {FEIDONG}
    seen_by_viewer = {r["名称"] for r in _audit_rows(signed_in(app, "viewer"))}
    assert {"审计肥东站", "'=审计瑶海站"} <= seen_by_viewer


def test_the_audit_log_downloads_as_xlsx_and_shows_as_a_page(app):
    add_through_form(app, "feidong", IN_FEIDONG, name="审计表格站")
    admin = signed_in(app, "admin")
    answer = admin.get("/admin/audit.xlsx", query_string={"actor": "feidong"})
    assert answer.mimetype.endswith("spreadsheetml.sheet")
    assert "attachment" in answer.headers["Content-Disposition"]
    sheet = openpyxl.load_workbook(io.BytesIO(answer.data)).active
    header, *cells = list(sheet.iter_rows(values_only=True))
    assert header[:3] == ("时间", "操作人", "操作")
    names = [dict(zip(header, c, strict=True)) for c in cells]
    assert any(r["名称"] == "审计表格站" and r["操作人"] == "user:feidong" for r in names)
    page = html.unescape(
        admin.get("/admin/audit", query_string={"actor": "feidong"}).get_data(as_text=True)
    )
    assert "审计表格站" in page and "user:feidong" in page
    assert "修改记录" in page


@pytest.mark.parametrize(
    ("query", "field", "zh"),
    [
        ({"action": "bogus"}, "action", "无法识别的操作"),
        ({"since": "yesterday"}, "since", "必须是日期"),
        ({"area": "hefei"}, "area", "6 位"),
        ({"since": "2026-12-02", "until": "2026-12-01"}, "since", "晚于"),
    ],
)
def test_bad_audit_filters_are_named_in_the_page_language(app, query, field, zh):
    answer = signed_in(app, "admin").get("/admin/audit", query_string=query)
    assert answer.status_code == 400
    assert zh in html.unescape(answer.get_data(as_text=True))
    as_json = signed_in(app, "admin").get(
        "/admin/audit.csv", query_string=query, headers={"Accept": "application/json"}
    )
    assert as_json.status_code == 400 and as_json.get_json()["error"]["field"] == field


# ---- the write API --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tokens(url):
    with open_storage(url) as storage:
        people = Accounts(storage, clock_from_text("2026-12-01T09:00:00+08:00"))
        return {who: people.issue_token(who, "test", actor="test")[0] for who in ROLES}


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def test_write_api_needs_a_token(client):
    answer = client.post(
        "/api/v1/facilities", json={"name": "x", "kind": "other", "lon": 117.3, "lat": 31.8}
    )
    assert answer.status_code == 401
    assert answer.get_json()["error"]["code"] == "unauthorized"
    bad = client.post("/api/v1/facilities", json={}, headers=bearer("lct_not-a-token"))
    assert bad.status_code == 401


@pytest.mark.parametrize(
    ("who", "where", "status"),
    [
        ("viewer", IN_FEIDONG, 403),
        ("feidong", IN_YAOHAI, 403),
        ("feidong", IN_FEIDONG, 201),
        ("hefei", IN_WUHU, 403),
        ("admin", IN_WUHU, 201),
    ],
)
def test_write_api_creates_inside_the_owner_areas(client, tokens, who, where, status):
    lon, lat = where
    answer = client.post(
        "/api/v1/facilities",
        json={
            "name": "接口新站",
            "kind": "driver_home",
            "lon": lon,
            "lat": lat,
            "amenities": ["shower"],
        },
        headers=bearer(tokens[who]),
    )
    assert answer.status_code == status, answer.get_json()
    if status == 201:
        body = answer.get_json()
        assert body["properties"]["name"] == "接口新站"
        assert body["geometry"]["coordinates"] == pytest.approx([lon, lat])
        assert answer.headers["ETag"] == '"1"'
        assert answer.headers["Location"].endswith(f"/api/v1/facilities/{body['id']}")
    else:
        assert answer.get_json()["error"]["code"] == "forbidden"


def test_write_api_takes_gcj02_and_stores_wgs84(client, tokens):
    from locator.crs import wgs84_to_gcj02

    lon, lat = IN_FEIDONG
    glon, glat = wgs84_to_gcj02(lon, lat)
    answer = client.post(
        "/api/v1/facilities?crs=gcj02",
        json={
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [glon, glat]},
            "properties": {"name": "高德坐标站", "kind": "service_point"},
        },
        headers=bearer(tokens["feidong"]),
    )
    assert answer.status_code == 201
    got = answer.get_json()["geometry"]["coordinates"]
    assert got == pytest.approx([lon, lat], abs=1e-5)


def test_write_api_patch_needs_if_match_and_refuses_stale_versions(client, tokens):
    created = client.post(
        "/api/v1/facilities",
        json={"name": "待修改", "kind": "driver_home", "lon": IN_FEIDONG[0], "lat": IN_FEIDONG[1]},
        headers=bearer(tokens["feidong"]),
    ).get_json()
    path = f"/api/v1/facilities/{created['id']}"
    no_match = client.patch(path, json={"phone": "123"}, headers=bearer(tokens["feidong"]))
    assert no_match.status_code == 428
    ok = client.patch(
        path, json={"phone": "0551-888"}, headers={**bearer(tokens["feidong"]), "If-Match": '"1"'}
    )
    assert ok.status_code == 200
    assert ok.get_json()["properties"]["phone"] == "0551-888"
    assert ok.headers["ETag"] == '"2"'
    stale = client.patch(
        path, json={"phone": "999"}, headers={**bearer(tokens["feidong"]), "If-Match": '"1"'}
    )
    assert stale.status_code == 412
    assert stale.get_json()["error"]["code"] == "precondition_failed"
    invalid = client.patch(
        path, json={"lat": 95}, headers={**bearer(tokens["feidong"]), "If-Match": '"2"'}
    )
    assert invalid.status_code == 422
    assert invalid.get_json()["error"]["field"] == "lat"
    unknown = client.patch(
        path, json={"colour": "red"}, headers={**bearer(tokens["feidong"]), "If-Match": '"2"'}
    )
    assert unknown.status_code == 422
    assert unknown.get_json()["error"]["field"] == "colour"
    gone = client.delete(path, headers={**bearer(tokens["feidong"]), "If-Match": '"2"'})
    assert gone.status_code == 204
    assert client.get(path).status_code == 404


def test_api_writes_show_in_nearest_at_once(client, tokens):
    lon, lat = IN_WUHU[0] + 0.013, IN_WUHU[1] + 0.007
    created = client.post(
        "/api/v1/facilities",
        json={"name": "芜湖即时站", "kind": "driver_home", "lon": lon, "lat": lat},
        headers=bearer(tokens["admin"]),
    ).get_json()
    nearest = client.get(
        "/api/v1/nearest", query_string={"lon": lon, "lat": lat, "k": 1}
    ).get_json()
    assert nearest["features"][0]["id"] == created["id"]


@pytest.mark.parametrize(
    ("lang", "text"),
    [("zh", "lat 必须在 -90 到 90 之间"), ("en", "lat must be between -90 and 90")],
)
def test_form_errors_use_the_import_messages_in_the_page_language(app, lang, text):
    client = signed_in(app, "admin")
    token = csrf_token(client, "/login")
    answer = client.post(
        f"/admin/facilities/new?lang={lang}",
        data={**form_for((117.3, 95)), "csrf_token": token},
    )
    assert answer.status_code == 422
    page = html.unescape(answer.get_data(as_text=True))
    assert text in page
    assert 'value="95"' in page  # what was typed stays in the form


def test_several_workers_need_a_secret_key():
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "LOCATOR_SECRET_KEY"}
    run = subprocess.run(
        [sys.executable, "-c", "import locator.web.gunicorn_conf"],
        env={**env, "LOCATOR_WORKERS": "2"},
        capture_output=True,
        text=True,
    )
    assert run.returncode != 0 and "LOCATOR_SECRET_KEY" in run.stderr
    ok = subprocess.run(
        [sys.executable, "-c", "import locator.web.gunicorn_conf"],
        env={**env, "LOCATOR_WORKERS": "2", "LOCATOR_SECRET_KEY": "k" * 32},
        capture_output=True,
    )
    assert ok.returncode == 0


def test_the_openapi_document_describes_the_write_api(client):
    document = client.get("/api/v1/openapi.json").get_json()
    assert document["components"]["securitySchemes"]["token"]["scheme"] == "bearer"
    post = document["paths"]["/facilities"]["post"]
    assert post["security"] == [{"token": []}] and set(post["responses"]) == {
        "201",
        "401",
        "403",
        "422",
    }
    patch = document["paths"]["/facilities/{id}"]["patch"]
    assert {p["name"] for p in patch["parameters"]} == {"id", "If-Match", "crs"}
    assert {"412", "428"} <= set(patch["responses"])
    assert "delete" in document["paths"]["/facilities/{id}"]


# ---- the facility form's map picker, place line and hours preview ------------------------
def _json_get(app, who, path, **query):
    answer = signed_in(app, who).get(path, query_string=query)
    assert answer.mimetype == "application/json", answer.get_data(as_text=True)[:200]
    if answer.status_code == 200:
        assert answer.headers["Cache-Control"] == "no-store"
    return answer.status_code, answer.get_json()


@pytest.mark.parametrize(
    ("who", "where", "inside", "note"),
    [
        ("feidong", IN_FEIDONG, True, "在您可编辑的区域内。"),
        ("feidong", IN_YAOHAI, False, "不在您可编辑的区域内：无法保存。"),
        ("hefei", IN_YAOHAI, True, "在您可编辑的区域内。"),
        ("hefei", IN_WUHU, False, "不在您可编辑的区域内：无法保存。"),
        ("admin", IN_WUHU, True, "在您可编辑的区域内。"),
        ("viewer", IN_FEIDONG, False, "您的账号不能修改站点。"),
    ],
)
def test_the_place_line_names_the_units_and_whether_the_point_is_in_the_areas(
    app, who, where, inside, note
):
    status, body = _json_get(app, who, "/admin/place", lon=where[0], lat=where[1])
    assert status == 200
    assert body["inside"] is inside
    assert (body["lon"], body["lat"], body["crs"]) == (*where, "wgs84")
    # what saving would store: the same city, county and township as a form save
    saved = app.extensions["locator"].storage.admin_index().locate([where[0]], [where[1]])[0]
    levels = [level for level in ("city", "county", "township") if saved[level]]
    assert levels[:2] == ["city", "county"]  # townships only where polygons are (Hefei)
    for level in ("city", "county", "township"):
        want = {"name": saved[level], "code": saved[f"{level}_code"]} if saved[level] else None
        assert body[level] == want
    names = " ".join(saved[level] for level in levels)
    assert body["text"] == f"{names} · {note}"
    if where == IN_FEIDONG:
        assert body["county"] == {"name": "肥东县", "code": FEIDONG}
        assert body["township"]["name"] in townships_at(*IN_FEIDONG)  # a second opinion
    if where == IN_WUHU:
        assert body["city"]["name"] == "芜湖市"


@pytest.mark.parametrize("crs", ["gcj02", "bd09"])
def test_the_place_line_reads_amap_and_baidu_coordinates(app, crs):
    lon, lat = from_wgs84(*IN_FEIDONG, crs)
    assert haversine_m(lon, lat, *IN_FEIDONG) > 100  # a real shift
    status, body = _json_get(app, "feidong", "/admin/place", lon=lon, lat=lat, crs=crs, lang="en")
    assert status == 200 and body["crs"] == "wgs84"
    assert haversine_m(body["lon"], body["lat"], *IN_FEIDONG) < 0.01
    assert body["county"]["code"] == FEIDONG and body["inside"] is True
    assert body["text"].endswith("· Inside the areas you may edit.")


def test_the_place_line_says_when_a_point_is_outside_every_city(app):
    status, body = _json_get(app, "feidong", "/admin/place", lon=100.0, lat=40.0)
    assert status == 200
    assert body["city"] is body["county"] is body["township"] is None
    assert body["inside"] is False
    assert body["text"] == "不在已载入的任何城市范围内：请核对坐标及其坐标系。"


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ({"lon": "abc", "lat": "31.8"}, "lon", "lon 必须是数字，实际为 'abc'"),
        ({"lon": "117.4", "lat": "95"}, "lat", "lat 必须在 -90 到 90 之间"),
        ({"lon": "117.4", "lat": "95", "lang": "en"}, "lat", "lat must be between -90 and 90"),
        ({"lon": "117.4"}, "lat", "lat 不能为空"),
        ({"lon": "117.4", "lat": "31.8", "crs": "utm"}, "crs", "crs："),
        ({"lon": "117.4", "lat": "31.8", "zoom": "3"}, "zoom", "无法识别的参数 'zoom'"),
    ],
)
def test_the_place_line_refuses_bad_coordinates_naming_the_field(app, query, field, message):
    status, body = _json_get(app, "feidong", "/admin/place", **query)
    assert status == 400
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "field"}
    assert body["error"]["code"] == "invalid_parameter" and body["error"]["field"] == field
    assert body["error"]["message"].startswith(message)


#: The app's clock says Tuesday 2026-12-01 09:00 in Shanghai.
HOURS_CASES = [
    ("每天8:00-20:00", "open", True, "营业中，营业至今天 20:00", "Open now, until 20:00"),
    ("24/7", "open", True, "营业中", "Open now"),
    (
        "周一至周五 10:00-17:00",
        "closed",
        True,
        "已关闭，今天 10:00 开始营业",
        "Closed now, opens at 10:00",
    ),
    ("20:00-次日8:00", "closed", True, "已关闭，今天 20:00 开始营业", "Closed now, opens at 20:00"),
    ("Mo-Fr 08:00-24:00", "open", True, "营业中，营业至今天 24:00", "Open now, until 24:00"),
    (
        "We 08:00-12:00",
        "closed",
        True,
        "已关闭，明天 08:00 开始营业",
        "Closed now, opens tomorrow at 08:00",
    ),
    (
        "Sa 08:00-12:00",
        "closed",
        True,
        "已关闭，周六 08:00 开始营业",
        "Closed now, opens on Saturday at 08:00",
    ),
    ("Mo-Su off", "closed", True, "已关闭", "Closed now"),
    (
        "Mo-Su unknown",
        "unknown",
        True,
        "时间未知：营业时间中注明未知",
        "Hours unknown: the hours say so",
    ),
    (
        "节假日另行通知",
        "unknown",
        False,
        "营业时间“节假日另行通知”无法识别，该站点将不会显示为营业中；请写成“24小时”“每天8:00-20:00”"
        "“周一至周五 9:00-17:00”等形式",
        "hours '节假日另行通知' cannot be read, so this station never shows as open now; "
        "write them like 24小时, 每天8:00-20:00, 周一至周五 9:00-17:00 or in OpenStreetMap "
        "opening_hours syntax",
    ),
    (
        "",
        "unknown",
        None,
        "未填写营业时间：司机看到“时间未知”",
        "No hours given: drivers see “hours unknown”",
    ),
]


@pytest.mark.parametrize(("hours", "state", "readable", "zh", "en"), HOURS_CASES)
def test_the_hours_preview_tells_open_closed_opens_at_or_unreadable_by_the_app_clock(
    app, hours, state, readable, zh, en
):
    now = app.extensions["locator"].clock()
    assert now.isoformat() == ADMIN_NOW
    status, body = _json_get(app, "hefei", "/admin/hours-preview", hours=hours)
    assert status == 200
    assert (body["state"], body["readable"], body["text"]) == (state, readable, zh)
    assert body["state"] == open_state(hours, now)  # what drivers see at the same time
    assert body["label"] == OPEN_STATE_LABELS[state]["zh"]
    status, english = _json_get(app, "hefei", "/admin/hours-preview", hours=hours, lang="en")
    assert english["text"] == en and english["label"] == OPEN_STATE_LABELS[state]["en"]
    if "10:00" in en:
        assert body["next_change"] == "2026-12-01T10:00:00+08:00"
    if hours in ("24/7", "Mo-Su off", ""):
        assert body["next_change"] is None


def test_the_hours_preview_is_bounded_like_the_hours_field(app):
    status, body = _json_get(app, "hefei", "/admin/hours-preview", hours=" 24/7" + " " * 300)
    assert status == 200 and body["state"] == "open"
    status, body = _json_get(app, "hefei", "/admin/hours-preview", hours="2" * 301)
    assert status == 400
    assert body["error"] == {
        "code": "invalid_parameter",
        "field": "hours",
        "message": "hours 最多 300 个字符",
    }
    status, body = _json_get(app, "hefei", "/admin/hours-preview", hours="24/7", at="x")
    assert status == 400 and body["error"]["field"] == "at"


def _picker(page: str) -> dict:
    found = re.search(r'<script type="application/json" id="picker-config">(.*?)</script>', page)
    assert found, page[:300]
    return json.loads(found.group(1))


def test_the_form_has_a_map_picker_under_the_driver_pages_policy(app, url):
    client = signed_in(app, "feidong")
    answer = client.get("/admin/facilities/new")
    assert answer.status_code == 200
    directives = policy(answer)
    assert directives["script-src"] == directives["style-src"] == "'self'"
    assert directives["connect-src"] == "'self'" and directives["img-src"] == "'self' data:"
    assert directives["object-src"] == "'none'" and directives["frame-ancestors"] == "'self'"
    page = answer.get_data(as_text=True)
    tags = Tags(page)
    assert tags.inline_scripts() == []
    assert [tag for tag, attrs in tags.tags if "style" in attrs or tag == "style"] == []
    scripts = [attrs["src"] for tag, attrs in tags.tags if tag == "script" and attrs.get("src")]
    form_js = asset_url(app, "admin-form.js")
    assert scripts[-1] == form_js and all(s.startswith("/") for s in scripts)
    assert b"picker-config" in assert_long_lived(client, form_js)
    picker = _picker(page)
    assert picker["point"] is None and picker["tiles"] == {"datum": "wgs84", "layers": []}
    west, south, east, north = admin_polygon(FEIDONG).bounds  # the editor's area
    assert picker["bounds"] == [[south, west], [north, east]]
    assert picker["api"] == {"place": "/admin/place", "hours": "/admin/hours-preview"}
    everywhere = _picker(
        signed_in(app, "admin").get("/admin/facilities/new").get_data(as_text=True)
    )
    assert everywhere["bounds"] == ANHUI_BOUNDS

    amap = make_app(url, now=ADMIN_NOW, tiles="amap", login_limit="1000 per minute")
    try:
        answer = signed_in(amap, "feidong").get("/admin/facilities/new")
        assert policy(answer)["img-src"] == "'self' data: https://*.is.autonavi.com"
        assert _picker(answer.get_data(as_text=True))["tiles"]["datum"] == "gcj02"
    finally:
        close_app(amap)


def test_a_stored_station_opens_with_its_point_place_and_hours_preview(app):
    answer = add_through_form(
        app, "feidong", IN_FEIDONG, name="预览站", hours="周一至周五 10:00-17:00"
    )
    assert answer.status_code == 302
    page = signed_in(app, "feidong").get(answer.headers["Location"])
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert _picker(text)["point"] == list(IN_FEIDONG)
    assert re.search(
        r'<p id="hours-preview" class="hours-preview state-closed"[^>]*>'
        r"已关闭，今天 10:00 开始营业</p>",
        text,
    )
    place = re.search(r'<p id="place-line" class="place-line"[^>]*>([^<]*)</p>', text)
    assert (
        place
        and place.group(1).startswith("合肥市 肥东县 ")
        and "在您可编辑的区域内" in place.group(1)
    )
    # a form sent back (422) keeps what was typed: its point, in the datum typed
    glon, glat = from_wgs84(*IN_FEIDONG, "gcj02")
    client = signed_in(app, "feidong")
    refused = client.post(
        "/admin/facilities/new",
        data={
            **form_for((glon, glat), name="", crs="gcj02", hours="节假日另行通知"),
            "csrf_token": csrf_token(client, "/login"),
        },
    )
    assert refused.status_code == 422
    again = refused.get_data(as_text=True)
    assert haversine_m(*_picker(again)["point"], *IN_FEIDONG) < 0.01
    assert "hours-unreadable" in again and "无法识别" in html.unescape(again)


def test_the_forms_length_limits_are_the_models(app):
    from locator.model import MAX_LENGTHS

    page = signed_in(app, "admin").get("/admin/facilities/new").get_data(as_text=True)
    limits = {
        attrs["name"]: int(attrs["maxlength"])
        for tag, attrs in Tags(page).tags
        if tag in ("input", "textarea") and "maxlength" in attrs and "name" in attrs
    }
    assert {"name", "address", "phone", "website", "hours", "parking_fee_note"} <= set(limits)
    assert {field: MAX_LENGTHS[field] for field in limits if field in MAX_LENGTHS} == {
        field: limit for field, limit in limits.items() if field in MAX_LENGTHS
    }
