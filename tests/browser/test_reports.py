"""Drivers' reports (纠错) end to end on a 360x740 phone in headless Chromium: a driver
reports "hours wrong" and "truck parking full" from a station's page in three taps
each; the editor of that county sees both in the queue and accepts one; the station's
page then shows the new hours and "今天核实", its history names the report, and
``verified_on`` is the app clock's today."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.browser.test_driver import phone_options
from tests.test_admin import IN_FEIDONG
from tests.web_fixtures import (
    ADMIN_NOW,
    PASSWORD,
    LiveServer,
    add_accounts,
    close_app,
    facility,
    loaded_database,
    make_app,
)

pytestmark = pytest.mark.browser

STATION = "test:report-phone"
TODAY = dt.date.fromisoformat(ADMIN_NOW[:10])  # the app clock's Shanghai day


@pytest.fixture(scope="module")
def reports_server(tmp_path_factory):
    """A live server with the admin tests' accounts and clock, on a database of its own,
    with one station in 肥东县 last verified in June."""
    url, cleanup = loaded_database("sqlite", tmp_path_factory.mktemp("reports-browser"))
    add_accounts(url)
    app = make_app(url, now=ADMIN_NOW, login_limit="1000 per minute", data_check_seconds=0)
    app.extensions["locator"].storage.upsert_facilities(
        [
            facility(
                STATION,
                "撮镇司机之家",
                lon=IN_FEIDONG[0],
                lat=IN_FEIDONG[1],
                hours="每天8:00-18:00",
                phone="0551-67770000",
                truck_parking_spaces=20,
                verified_on=dt.date(2026, 6, 1),
            )
        ],
        actor="test",
    )
    with LiveServer(app) as server:
        yield server, app
    close_app(app)
    cleanup()


def tap(page, locator) -> None:
    locator.tap()


def report_in_three_taps(page, label: str) -> None:
    """纠错 → the category → 发送, and the page says the report was received."""
    taps = [
        page.locator("#report-section .report-open"),
        page.locator("#report-section .report-category", has_text=label),
        page.locator("#report-section .report-send"),
    ]
    for target in taps:
        target.wait_for(state="visible")
        box = target.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 360, (label, box)
        tap(page, target)
    done = page.locator("#report-section .report-received")
    done.wait_for(state="visible")
    assert done.inner_text() == "已收到，谢谢"
    assert page.evaluate("document.documentElement.scrollWidth") <= 360


def test_a_driver_reports_from_a_phone_and_an_editor_accepts(reports_server, session_factory):
    server, app = reports_server
    storage = app.extensions["locator"].storage
    phone = session_factory(server.url, **phone_options())
    page = phone.page

    phone.goto(f"/f/{STATION}")
    report_in_three_taps(page, "营业时间不对")
    phone.goto(f"/f/{STATION}")
    report_in_three_taps(page, "货车车位已满")
    reports = storage.reports(facility_id=STATION)
    assert sorted(r.category for r in reports) == ["hours_wrong", "truck_parking_full"]
    assert all(r.status == "pending" and r.client_hash for r in reports)
    hours_report = next(r for r in reports if r.category == "hours_wrong")
    phone.assert_clean()

    # the editor of 肥东县 signs in and finds both reports of the station, newest first
    editor = session_factory(server.url)
    admin = editor.page
    editor.goto("/login?next=/admin/reports")
    admin.fill("input[name=name]", "feidong")
    admin.fill("input[name=password]", PASSWORD)
    with admin.expect_navigation():
        admin.click("form.admin-form button[type=submit]")
    assert admin.url.endswith("/admin/reports")
    group = admin.locator(f'section.report-group[data-facility-id="{STATION}"]')
    assert group.locator(".report-category").all_inner_texts() == ["货车车位已满", "营业时间不对"]
    item = group.locator(f"#report-{hours_report.id}")
    item.locator("input[name=hours]").fill("每天7:00-21:00")
    with admin.expect_navigation():
        item.locator(".report-accept-button").click()
    assert "done=accepted" in admin.url
    assert admin.locator(".form-saved").is_visible()
    remaining = admin.locator(f'section.report-group[data-facility-id="{STATION}"] .report-item')
    assert remaining.evaluate_all("items => items.map(i => i.dataset.category)") == [
        "truck_parking_full"
    ]

    # the station's page shows the change and that it was verified today
    phone.goto(f"/f/{STATION}")
    assert page.locator(".fact-hours").inner_text() == "每天7:00-21:00"
    assert page.locator(".facility-verified").inner_text() == "今天核实"
    stored = storage.get_facility(STATION)
    assert (stored.hours, stored.verified_on) == ("每天7:00-21:00", TODAY)
    # its history names the report
    editor.goto(f"/admin/facilities/{STATION}/history")
    assert f"user:feidong (report:{hours_report.id})" in admin.content()
    assert storage.get_report(hours_report.id).status == "accepted"
    editor.assert_clean()
    phone.assert_clean()
