"""The upload workflow in Chromium: an editor of 肥东县 signs in, uploads the county's
list as an Excel file, sees the comparison (a renamed station proposed as a merge, a
station missing from the list), ticks the closed one and writes; the driver lookup then
has the renamed station once. ``LOCATOR_SCREENSHOT_DIR``: ``screenshot-import.png``."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import openpyxl
import pytest

from locator.accounts import Accounts
from locator.clock import clock_from_text
from locator.ingest import import_file
from locator.storage import open_storage
from tests.browser.test_driver import save_screenshot
from tests.test_sync import FIRST, HEADER, SECOND, _csv
from tests.web_fixtures import LiveServer, close_app, loaded_database, make_app

NOW = "2026-12-01T09:00:00+08:00"
PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    directory = tmp_path_factory.mktemp("import-live")
    url, cleanup = loaded_database("sqlite", directory)
    with open_storage(url) as storage:
        Accounts(storage, clock_from_text(NOW)).add(
            "feidong", "editor", ["340122"], PASSWORD, actor="test"
        )
        import_file(storage, _csv(directory / "first.csv", FIRST), source="肥东县总工会")
    app = make_app(url, now=NOW, upload_dir=str(directory / "uploads"), data_check_seconds=0)
    with LiveServer(app) as live:
        yield live
    close_app(app)
    cleanup()


def _workbook(path: Path) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(HEADER)
    for row in SECOND:
        sheet.append([float(v) if i in (2, 3) else v for i, v in enumerate(row)])
    book.save(path)
    return path


def _nearest_names(server_url: str) -> list[str]:
    query = "lon=117.4051&lat=31.8001&k=3&kind=driver_home"
    with urllib.request.urlopen(f"{server_url}/api/v1/nearest?{query}", timeout=10) as answer:
        return [f["properties"]["name"] for f in json.load(answer)["features"]]


def test_an_editor_uploads_compares_and_writes_the_county_list(session_factory, server, tmp_path):
    session = session_factory(server.url, viewport={"width": 1280, "height": 900})
    page = session.page
    session.goto("/login?next=/admin/import")
    page.fill("input[name=name]", "feidong")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/admin/import")
    page.set_input_files("input[name=file]", str(_workbook(tmp_path / "肥东县名单.xlsx")))
    page.fill("input[name=source]", "肥东县总工会")
    page.click("#import-form button[type=submit]")
    page.wait_for_selector("#import-counts")
    counts = {
        li.get_attribute("data-status"): int(li.inner_text().split()[0])
        for li in page.query_selector_all("#import-counts li")
    }
    assert (counts["new"], counts["changed"], counts["unchanged"], counts["duplicate"]) == (
        1,
        1,
        1,
        2,
    )
    merge = page.query_selector("tr[data-status=duplicate] select")
    assert merge.evaluate("s => s.value") == "merge"
    page.locator("ul.import-missing li", has_text="张集乡司机之家").locator(
        "input[name=close]"
    ).check()
    save_screenshot(page, tmp_path, "import", full_page=True)
    before = _nearest_names(server.url)
    assert before[0] == "肥东县撮镇司机之家" and "肥东县撮镇镇司机之家" not in before
    page.click("#apply-form button[type=submit]")
    done = page.wait_for_selector("#import-done")
    assert "合并 1 条" in done.inner_text() and "关闭 1 条" in done.inner_text()
    names = _nearest_names(server.url)
    assert names[0] == "肥东县撮镇镇司机之家"
    assert "肥东县撮镇司机之家" not in names  # one station, renamed, not two
    session.assert_clean()
