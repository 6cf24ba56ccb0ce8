"""/admin/import on SQLite and PostGIS: a union-style spreadsheet (GBK CSV, XLSX with
Chinese headers) uploaded, compared with the stored stations, confirmed and written
as the user; uploads kept for their owner only, in a directory or in Redis."""

from __future__ import annotations

import html
import io
import re

import openpyxl
import pytest

from locator.clock import clock_from_text
from locator.ingest import import_file
from locator.storage import open_storage
from locator.uploads import DirectoryUploads, RedisUploads
from tests.test_admin import PASSWORD, ROLES, XSS, csrf_token, signed_in
from tests.test_sync import FIRST, HEADER, SECOND, _csv
from tests.web_fixtures import close_app, loaded_database, make_app

NOW = "2026-12-01T09:00:00+08:00"
SOURCE = "肥东县总工会"


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgis", marks=pytest.mark.postgis)]
)
def url(request, tmp_path_factory):
    """The shipped data, the test accounts and 肥东县's first list."""
    from locator.accounts import Accounts

    directory = tmp_path_factory.mktemp("import")
    url, cleanup = loaded_database(request.param, directory)
    with open_storage(url) as storage:
        people = Accounts(storage, clock_from_text(NOW))
        for name, (role, areas) in ROLES.items():
            people.add(name, role, areas, PASSWORD, actor="test")
        import_file(storage, _csv(directory / "first.csv", FIRST), source=SOURCE)
    yield url
    cleanup()


@pytest.fixture(scope="module")
def app(url, tmp_path_factory):
    upload_dir = tmp_path_factory.mktemp("uploads")
    app = make_app(url, now=NOW, login_limit="1000 per minute", upload_dir=str(upload_dir))
    yield app
    close_app(app)


def _storage(app):
    return app.extensions["locator"].storage


def _upload(client, data: bytes, filename: str, **options):
    token = csrf_token(client, "/admin/import")
    return client.post(
        "/admin/import",
        data={"csrf_token": token, "file": (io.BytesIO(data), filename), **options},
        content_type="multipart/form-data",
    )


def _gbk_csv(rows) -> bytes:
    return ("\n".join(",".join(r) for r in [HEADER, *rows]) + "\n").encode("gbk")


def _xlsx(rows) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["肥东县司机之家名单（2026年12月）"])  # a title above the header
    sheet.append(HEADER)
    for r in rows:
        sheet.append([float(v) if i in (2, 3) else v for i, v in enumerate(r)])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _counts(page: str) -> dict[str, int]:
    return {
        status: int(n)
        for status, n in re.findall(r'data-status="(\w+)"><strong>(\d+)</strong>', page)
    }


def _stored_driver_homes_missing(app, listed: set[str]) -> int:
    """Open driver homes stored in 肥东县 that the list does not name (shipped data too)."""
    return sum(
        1
        for f in _storage(app).facilities()
        if f.county_code == "340122"
        and f.kind == "driver_home"
        and f.status != "closed"
        and f.name not in listed
    )


@pytest.mark.parametrize(
    ("maker", "filename"), [(_gbk_csv, "肥东县名单.csv"), (_xlsx, "肥东县名单.xlsx")]
)
def test_an_upload_shows_the_comparison_before_anything_is_written(app, maker, filename):
    client = signed_in(app, "feidong")
    before = _storage(app).data_version()
    answer = _upload(client, maker(SECOND), filename, source=SOURCE)
    assert answer.status_code == 302
    page = client.get(answer.headers["Location"]).get_data(as_text=True)
    missing = _stored_driver_homes_missing(app, {r[0] for r in SECOND} | {"肥东县撮镇司机之家"})
    assert _counts(page) == {
        "new": 1,
        "changed": 1,
        "unchanged": 1,
        "duplicate": 2,
        "missing": missing,
    }
    renamed = re.search(r'<tr data-row="(\d+)" data-status="duplicate">(.*?)</tr>', page, re.S)
    assert "肥东县撮镇镇司机之家" in renamed.group(2) and "肥东县撮镇司机之家" in renamed.group(2)
    assert '<option value="merge" selected>合并到已有站点</option>' in renamed.group(2)
    assert "电话: 0551-67775678 → 0551-67779999" in page
    assert 'name="close" value=' in page and "张集乡司机之家" in page
    assert _storage(app).data_version() == before


def test_the_comparison_downloads_as_xlsx(app):
    client = signed_in(app, "feidong")
    location = _upload(client, _gbk_csv(SECOND), "名单.csv", source=SOURCE).headers["Location"]
    answer = client.get(location + "/comparison.xlsx")
    assert answer.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(answer.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("行号", "比对结果", "建议操作")
    by_name = {r[3]: r for r in rows[1:]}
    assert by_name["肥东县店埠司机之家"][1] == "有变化"
    assert by_name["肥东县撮镇镇司机之家"][2] == "合并到已有站点"
    assert by_name["张集乡司机之家"][1] == "名单中没有"


def test_an_upload_is_kept_for_its_owner_only(app):
    owner = signed_in(app, "feidong")
    location = _upload(owner, _gbk_csv(SECOND), "名单.csv", source=SOURCE).headers["Location"]
    other = signed_in(app, "hefei")
    answer = other.get(location)
    assert answer.status_code == 404
    assert "该上传已过期" in answer.get_data(as_text=True)
    assert signed_in(app, "viewer").get(location).status_code == 403
    assert app.test_client().get(location).status_code == 302  # to the sign-in page


def test_rows_outside_the_editors_areas_block_the_write(app):
    client = signed_in(app, "feidong")
    rows = [*SECOND[:2], ["包河区司机之家", "司机之家", "117.3000", "31.8500", "", "", ""]]
    location = _upload(client, _gbk_csv(rows), "名单.csv", source=SOURCE).headers["Location"]
    page = client.get(location).get_data(as_text=True)
    assert "第 4 行" in page and "包河区" in page and "不在您可编辑的区域内" in page
    assert "写入这些变更" not in page  # no button to write
    before = _storage(app).data_version()
    forced = client.post(
        location + "/apply",
        data={"csrf_token": csrf_token(client, location), "fingerprint": _fingerprint(page)},
    )
    assert forced.status_code == 422
    assert _storage(app).data_version() == before


def test_hostile_names_are_text_on_the_comparison_page(app):
    client = signed_in(app, "feidong")
    rows = [[XSS.replace(",", "，"), "司机之家", "117.6000", "31.9000", "", "", ""]]
    location = _upload(client, _gbk_csv(rows).decode("gbk").encode("utf-8-sig"), "x.csv").headers[
        "Location"
    ]
    page = client.get(location).get_data(as_text=True)
    assert "<script>alert(2)</script>" not in page and "<img src=x" not in page
    assert html.escape(XSS.replace(",", "，"), quote=False)[:20] in page


def test_a_bad_file_is_refused_on_the_form_with_its_reason(app):
    client = signed_in(app, "feidong")
    no_coordinates = "名称,类型\n某站,司机之家\n".encode("gbk")
    answer = _upload(client, no_coordinates, "名单.csv")
    assert answer.headers["Location"].endswith("/mapping")  # asks which column is which
    broken = _upload(client, b"PK\x03\x04 not really a workbook", "名单.xlsx")
    assert broken.status_code in (400, 415, 422)
    assert 'role="alert"' in broken.get_data(as_text=True)
    unknown = _upload(client, b"\x00\x01binary", "名单.exe")
    assert unknown.status_code in (400, 415)
    missing = client.post(
        "/admin/import",
        data={"csrf_token": csrf_token(client, "/admin/import")},
        content_type="multipart/form-data",
    )
    assert missing.status_code == 400 and "请选择要上传的文件" in missing.get_data(as_text=True)


def test_a_forged_confirmation_writes_nothing(app):
    client = signed_in(app, "feidong")
    location = _upload(client, _gbk_csv(SECOND), "名单.csv", source=SOURCE).headers["Location"]
    page = client.get(location).get_data(as_text=True)
    before = _storage(app).data_version()
    forged = client.post(location + "/apply", data={"fingerprint": _fingerprint(page)})
    assert forged.status_code == 403  # no CSRF token
    assert _storage(app).data_version() == before


def test_a_change_made_after_the_comparison_asks_to_compare_again(app):
    client = signed_in(app, "hefei")
    rows = [["瑶海区测试司机之家", "司机之家", "117.3300", "31.8700", "0551-1234567", "", ""]]
    location = _upload(client, _gbk_csv(rows), "瑶海.csv", source="瑶海区总工会").headers[
        "Location"
    ]
    page = client.get(location).get_data(as_text=True)
    # Meanwhile someone adds a station there: the row is now a likely duplicate of it.
    storage = _storage(app)
    from locator.model import Facility

    storage.upsert_facilities(
        [Facility(id="", name="瑶海区测试司机之家", kind="driver_home", lon=117.3301, lat=31.8701)],
        actor="user:admin",
    )
    before = storage.data_version()
    late = client.post(
        location + "/apply",
        data={"csrf_token": csrf_token(client, location), "fingerprint": _fingerprint(page)},
    )
    assert late.status_code == 409
    body = late.get_data(as_text=True)
    assert "比对之后已有站点被修改" in body
    assert 'data-status="duplicate"' in body  # the fresh comparison is shown
    assert storage.data_version() == before


def _fingerprint(page: str) -> str:
    return re.search(r'name="fingerprint" value="([0-9a-f]+)"', page).group(1)


def _confirm(client, location, page, **choices):
    data = {"csrf_token": csrf_token(client, location), "fingerprint": _fingerprint(page)}
    data.update(choices)
    return client.post(location + "/apply", data=data)


def test_confirming_writes_exactly_the_comparison_as_the_user(app):
    """It writes the second list (the tests after it write nothing)."""
    client = signed_in(app, "feidong")
    location = _upload(client, _gbk_csv(SECOND), "12月名单.csv", source=SOURCE).headers["Location"]
    page = client.get(location).get_data(as_text=True)
    zhangji = next(f for f in _storage(app).facilities() if f.name == "张集乡司机之家")
    before = {f.id: f for f in _storage(app).facilities()}
    done = _confirm(client, location, page, close=zhangji.id)
    assert done.status_code == 200, done.get_data(as_text=True)[:500]
    text = done.get_data(as_text=True)
    assert "新增 1 条，更新 1 条，合并 1 条，关闭 1 条，跳过 2 条" in text
    after = {f.id: f for f in _storage(app).facilities()}
    changed = {i for i in after if i not in before or after[i] != before[i]}
    names = sorted(after[i].name for i in changed)
    assert names == [
        "张集乡司机之家",
        "肥东县店埠司机之家",
        "肥东县撮镇镇司机之家",
        "肥东县桥头集司机之家",
    ]
    assert after[zhangji.id].status == "closed"
    assert "肥东县撮镇司机之家" not in {f.name for f in after.values()}
    audit = (
        signed_in(app, "admin")
        .get("/admin/audit.csv", query_string={"actor": "feidong"})
        .get_data(as_text=True)
    )
    assert audit.count("user:feidong (import:12月名单.csv)") == 4
    again = client.get(location)
    assert again.status_code == 404  # the upload is gone once written


def test_uploads_wait_in_a_directory_for_their_time(tmp_path):
    clock = clock_from_text(NOW)
    uploads = DirectoryUploads(tmp_path, clock=clock, minutes=30)
    token = uploads.put("feidong", "名单.csv", b"a,b\n", {"crs": "gcj02"})
    found = uploads.get(token, "feidong")
    assert (found.filename, found.data, found.options) == ("名单.csv", b"a,b\n", {"crs": "gcj02"})
    with pytest.raises(Exception, match="expired|过期|no longer"):
        uploads.get(token, "hefei")
    with pytest.raises(Exception, match="no longer"):
        uploads.get("../../etc/passwd", "feidong")
    later = DirectoryUploads(
        tmp_path, clock=clock_from_text("2026-12-01T09:31:00+08:00"), minutes=30
    )
    with pytest.raises(Exception, match="no longer"):
        later.get(token, "feidong")
    later.put("feidong", "b.csv", b"x", {})  # sweeps what is over
    assert not (tmp_path / f"{token}.bin").exists()


def test_uploads_wait_in_redis_for_every_worker():
    uploads = RedisUploads("redis://127.0.0.1:6379/0", clock=clock_from_text(NOW), minutes=5)
    token = uploads.put("feidong", "名单.xlsx", b"\x00\x01" * 1000, {"scope": "340122"})
    other_worker = RedisUploads("redis://127.0.0.1:6379/0", clock=clock_from_text(NOW), minutes=5)
    found = other_worker.get(token, "feidong")
    assert found.data == b"\x00\x01" * 1000 and found.options == {"scope": "340122"}
    ttl = uploads.client.ttl(RedisUploads.PREFIX + token)
    assert 0 < ttl <= 300
    with pytest.raises(Exception, match="no longer"):
        other_worker.get(token, "hefei")
    other_worker.discard(token)
    with pytest.raises(Exception, match="no longer"):
        uploads.get(token, "feidong")


@pytest.mark.parametrize(
    ("who", "status"),
    [(None, 302), ("viewer", 403), ("hefei", 302), ("feidong", 302), ("admin", 302)],
)
def test_permission_matrix_uploading(app, who, status):
    client = signed_in(app, who)
    token = csrf_token(client, "/login")
    answer = client.post(
        "/admin/import",
        data={"csrf_token": token, "file": (io.BytesIO(_gbk_csv(SECOND)), "名单.csv")},
        content_type="multipart/form-data",
    )
    assert answer.status_code == status
    if who is None:
        assert "/login" in answer.headers["Location"]
    elif status == 302:
        assert "/admin/import/" in answer.headers["Location"]


def test_a_file_over_the_upload_limit_is_refused(url, tmp_path):
    small = make_app(
        url, now=NOW, login_limit="1000 per minute", max_upload_mb=0.01, upload_dir=str(tmp_path)
    )
    try:
        client = signed_in(small, "feidong")
        before = _storage(small).data_version()
        big = _gbk_csv(SECOND * 200)
        assert len(big) > 0.01 * 1024 * 1024
        answer = _upload(client, big, "名单.csv")
        assert answer.status_code == 413
        assert _storage(small).data_version() == before
        assert not list(tmp_path.iterdir())  # nothing kept
    finally:
        close_app(small)


def test_unknown_headers_get_a_mapping_step(app):
    client = signed_in(app, "feidong")
    rows = "站点,东经度数,北纬度数,分类\n梁园镇货车司机之家,117.5600,31.9600,司机之家\n"
    answer = _upload(client, rows.encode("gbk"), "自定义表头.csv", source=SOURCE)
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/mapping")
    page = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert '<option value="东经度数" >东经度数</option>' in page.replace("  ", " ")
    assert "名称" in page and "经度" in page
    mapped = client.post(
        answer.headers["Location"],
        data={
            "csrf_token": csrf_token(client, answer.headers["Location"]),
            "map-name": "站点",
            "map-lon": "东经度数",
            "map-lat": "北纬度数",
            "map-kind": "分类",
            "map-phone": "no such header",  # ignored: not a column of the file
        },
    )
    assert mapped.status_code == 302, mapped.get_data(as_text=True)[:400]
    compared = client.get(mapped.headers["Location"]).get_data(as_text=True)
    assert _counts(compared)["unchanged"] == 1  # 梁园 found by its columns, phone kept
    half = _upload(client, rows.encode("gbk"), "自定义表头.csv")
    still = client.post(
        half.headers["Location"],
        data={"csrf_token": csrf_token(client, half.headers["Location"]), "map-name": "站点"},
    )
    assert still.status_code == 422
    assert "经度" in still.get_data(as_text=True)
