"""Closed now vs closed for good, and verified vs stale, on SQLite and PostGIS: the
wording of a station's open state in Chinese and English, the page of a closed station
(banner, no call or navigation buttons, open alternatives), "x 天前核实", stale records in
the admin list and per county on /coverage. The app's clock is 2026-12-01T09:00+08:00
(a Tuesday) unless a test moves it."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import re

import pytest

from locator.freshness import stale_by_county, staleness, verified_text
from locator.hours import open_state_text
from locator.model import Facility
from tests.test_admin import IN_FEIDONG, IN_YAOHAI, signed_in
from tests.web_fixtures import (
    ADMIN_NOW,
    add_accounts,
    close_app,
    facility,
    loaded_database,
    make_app,
)

TODAY = dt.date(2026, 12, 1)
_ids = itertools.count(1)


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgis", marks=pytest.mark.postgis)]
)
def app(request, tmp_path_factory):
    url, cleanup = loaded_database(request.param, tmp_path_factory.mktemp("open"))
    add_accounts(url)
    app = make_app(url, now=ADMIN_NOW, login_limit="1000 per minute", data_check_seconds=0)
    yield app
    close_app(app)
    cleanup()


def _storage(app):
    return app.extensions["locator"].storage


def station(app, where=IN_YAOHAI, **fields) -> str:
    values = {"hours": "每天7:00-20:00", "phone": "0551-62000000", **fields}
    fid = f"test:open-{next(_ids)}"
    _storage(app).upsert_facilities(
        [facility(fid, f"状态站 {fid}", lon=where[0], lat=where[1], **values)], actor="test"
    )
    return fid


def page(app, fid, lang="zh", at=None) -> str:
    clock = app.extensions["locator"].clock
    if at is not None:
        clock.set(dt.datetime.fromisoformat(at))
    try:
        answer = app.test_client().get(f"/f/{fid}", query_string={"lang": lang})
    finally:
        clock.set(dt.datetime.fromisoformat(ADMIN_NOW))
    assert answer.status_code == 200
    return answer.get_data(as_text=True)


def open_text(html: str) -> tuple[str, str]:
    found = re.search(r'data-open-state="([a-z_]+)">[^<]*?[:：] ([^<]+)</span>', html)
    return found.group(1), found.group(2).strip()


def buttons(html: str) -> dict[str, bool]:
    return {
        "call": "button-call" in html,
        "navigate": 'class="navigate' in html,
        "banner": 'class="closed-banner"' in html,
    }


# ---- the wording, in the library ------------------------------------------------------------
def _f(**fields) -> Facility:
    return Facility(id="x", name="x", kind="driver_home", lon=117.3, lat=31.87, **fields)


@pytest.mark.parametrize(
    ("fields", "at", "zh", "en"),
    [
        ({"hours": "每天7:00-20:00"}, "2026-12-01T09:00", "营业中", "Open"),
        (
            {"hours": "每天7:00-20:00"},
            "2026-12-01T22:00",
            "已打烊，7:00 开门",
            "Closed, opens at 7:00",
        ),
        (
            {"hours": "每天7:00-20:00"},
            "2026-12-01T05:30",
            "已打烊，7:00 开门",
            "Closed, opens at 7:00",
        ),
        ({"hours": "Mo-Fr 08:00-18:00"}, "2026-12-05T10:00", "今日休息", "Closed today"),
        (
            {"hours": "Mo-Fr 08:00-18:00"},
            "2026-12-04T19:00",
            "已打烊，周一 8:00 开门",
            "Closed, opens at Mon 8:00",
        ),
        (
            {"hours": "24/7", "closed_until": dt.date(2026, 12, 20)},
            "2026-12-01T09:00",
            "暂停营业至 12月20日",
            "Temporarily closed until 20 December",
        ),
        (
            {"hours": "24/7", "closed_until": dt.date(2027, 1, 5)},
            "2026-12-01T09:00",
            "暂停营业至 2027年1月5日",
            "Temporarily closed until 5 January 2027",
        ),
        (
            {"hours": "24/7", "status": "closed"},
            "2026-12-01T09:00",
            "已关闭（停用）",
            "Closed for good",
        ),
        ({}, "2026-12-01T09:00", "时间未知", "Hours unknown"),
    ],
)
def test_open_state_wording(fields, at, zh, en):
    when = dt.datetime.fromisoformat(at)
    assert open_state_text(_f(**fields), "zh", when)[1] == zh
    assert open_state_text(_f(**fields), "en", when)[1] == en


def test_a_station_reopens_on_its_closed_until_day():
    f = _f(hours="24/7", closed_until=dt.date(2026, 12, 20))
    assert open_state_text(f, "zh", dt.datetime(2026, 12, 19, 23, 59))[0] == "temporarily_closed"
    assert open_state_text(f, "zh", dt.datetime(2026, 12, 20, 0, 0)) == ("open", "营业中")


# ---- the pages ------------------------------------------------------------------------------
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_outside_its_hours_a_station_keeps_its_buttons(app, lang):
    fid = station(app)
    html = page(app, fid, lang, at="2026-12-01T21:30:00+08:00")
    expected = {"zh": "已打烊，7:00 开门", "en": "Closed, opens at 7:00"}[lang]
    assert open_text(html) == ("closed", expected)
    assert buttons(html) == {"call": True, "navigate": True, "banner": False}


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_closed_until_a_date_has_a_banner_no_buttons_and_open_alternatives(app, lang):
    spot = (117.40 if lang == "zh" else 117.43, 31.75)  # no other test's station nearby
    fid = station(app, spot, closed_until=dt.date(2026, 12, 20))
    neighbour = station(app, (spot[0] + 0.002, spot[1]), hours="24/7")
    html = page(app, fid, lang)
    expected = {"zh": "暂停营业至 12月20日", "en": "Temporarily closed until 20 December"}[lang]
    assert open_text(html) == ("temporarily_closed", expected)
    assert buttons(html) == {"call": False, "navigate": False, "banner": True}
    banner = html.split('class="closed-banner"')[1].split("</section>")[0]
    assert expected in banner
    assert {"zh": "暂时停止营业", "en": "closed for now"}[lang] in banner
    links = re.findall(r'<li><a href="/f/([^"]+)">', banner)
    assert neighbour in links and fid not in links and 1 <= len(links) <= 3
    shown = banner.split(f'href="/f/{neighbour}"')[1].split("</li>")[0]
    assert {"zh": "营业中", "en": "Open"}[lang] in shown and "0.2 " in shown  # 190 m east
    assert "tel:" not in html and "uri.amap.com" not in html
    # on the day it reopens, the page is an open station's again
    reopened = page(app, fid, lang, at="2026-12-20T09:00:00+08:00")
    assert open_text(reopened)[0] == "open"
    assert buttons(reopened) == {"call": True, "navigate": True, "banner": False}


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_closed_for_good_keeps_its_page_with_a_banner_and_no_buttons(app, lang):
    fid = station(app, status="closed")
    html = page(app, fid, lang)
    expected = {"zh": "已关闭（停用）", "en": "Closed for good"}[lang]
    assert open_text(html) == ("closed_for_good", expected)
    assert buttons(html) == {"call": False, "navigate": False, "banner": True}
    banner = html.split('class="closed-banner"')[1].split("</section>")[0]
    assert {"zh": "已永久关闭", "en": "closed for good"}[lang] in banner
    assert re.search(r'<li><a href="/f/[^"]+">', banner)  # open alternatives nearby
    assert 'href="/' in banner.split("alternatives-more")[1]


# ---- verified x days ago, stale ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("verified", "zh", "en"),
    [
        (TODAY, "今天核实", "verified today"),
        (dt.date(2026, 11, 30), "1 天前核实", "verified 1 day ago"),
        (dt.date(2026, 11, 18), "13 天前核实", "verified 13 days ago"),
    ],
)
def test_the_station_page_says_when_it_was_verified(app, verified, zh, en):
    fid = station(app, verified_on=verified)
    for lang, text in (("zh", zh), ("en", en)):
        html = page(app, fid, lang)
        assert f'<span class="facility-verified">{text}</span>' in html
    assert "facility-verified" not in page(app, station(app))


def test_staleness_by_age_and_hours():
    with_hours, without = _f(hours="24/7"), _f()
    assert staleness(with_hours, TODAY) == "never"
    assert staleness(with_hours.replace(verified_on=dt.date(2026, 9, 2)), TODAY) is None  # 90
    assert staleness(with_hours.replace(verified_on=dt.date(2026, 9, 1)), TODAY) == "hours"
    assert staleness(without.replace(verified_on=dt.date(2026, 9, 1)), TODAY) is None
    assert staleness(without.replace(verified_on=dt.date(2026, 6, 4)), TODAY) is None  # 180
    assert staleness(without.replace(verified_on=dt.date(2026, 6, 3)), TODAY) == "old"
    assert staleness(with_hours.replace(verified_on=dt.date(2026, 9, 1)), TODAY, 180, 100) is None
    assert verified_text(without, TODAY, "zh") is None


def test_the_admin_list_marks_stale_records_and_filters_them(app):
    fresh = station(app, IN_FEIDONG, verified_on=dt.date(2026, 11, 1))
    old_hours = station(app, IN_FEIDONG, verified_on=dt.date(2026, 8, 1))
    never = station(app, IN_FEIDONG)
    client = signed_in(app, "feidong")
    html = client.get("/admin/facilities", query_string={"q": "状态站"}).get_data(as_text=True)

    def row(fid):
        return html.split(f"/admin/facilities/{fid}")[1].split("</tr>")[0]

    assert "is-stale" not in row(fresh) and "2026-11-01" in row(fresh)
    assert 'data-stale="hours"' in row(old_hours) and "营业时间超过 90 天未核实" in row(old_hours)
    assert 'data-stale="never"' in row(never) and "从未核实" in row(never)
    stale_only = client.get(
        "/admin/facilities", query_string={"q": "状态站", "stale": "1"}
    ).get_data(as_text=True)
    assert (
        f"/admin/facilities/{old_hours}" in stale_only
        and f"/admin/facilities/{never}" in stale_only
    )
    assert f"/admin/facilities/{fresh}" not in stale_only


def test_coverage_counts_stale_records_per_county(app):
    catalog = app.extensions["locator"].catalog.current()
    expected = stale_by_county(catalog.facilities, [("340122", "肥东县")], TODAY)[0]
    html = (
        app.test_client().get("/coverage", query_string={"county": "340122"}).get_data(as_text=True)
    )
    row = html.split('class="data-table stale-table"')[1].split('data-code="340122">')[1]
    row = row.split("</tr>")[0]
    cells = dict(re.findall(r'class="col-(\w+)">(\d+)<', row))
    assert cells == {
        "facilities": str(expected["facilities"]),
        "stale": str(expected["stale"]),
        "never": str(expected["never"]),
    }
    # a station verified today is not stale; one never verified is
    before = expected["stale"]
    station(app, IN_FEIDONG, verified_on=TODAY)
    station(app, IN_FEIDONG)
    html = (
        app.test_client().get("/coverage", query_string={"county": "340122"}).get_data(as_text=True)
    )
    row = html.split('class="data-table stale-table"')[1].split('data-code="340122">')[1]
    cells = dict(re.findall(r'class="col-(\w+)">(\d+)<', row.split("</tr>")[0]))
    assert int(cells["stale"]) == before + 1
    assert int(cells["facilities"]) == expected["facilities"] + 2


# ---- the list's wording: the nearest API says when a closed station opens -------------------
def test_nearest_says_when_a_closed_station_opens(app):
    spot = (117.45, 31.70)
    evening = station(app, spot, hours="每天7:00-20:00")
    weekdays = station(app, (spot[0] + 0.001, spot[1]), hours="Mo-Fr 08:00-18:00")
    clock = app.extensions["locator"].clock

    def properties(at):
        clock.set(dt.datetime.fromisoformat(at))
        try:
            answer = app.test_client().get(
                "/api/v1/nearest", query_string={"lon": spot[0], "lat": spot[1], "k": 2}
            )
        finally:
            clock.set(dt.datetime.fromisoformat(ADMIN_NOW))
        return {f["id"]: f["properties"] for f in answer.get_json()["features"]}

    friday_night = properties("2026-12-04T21:00:00+08:00")
    assert friday_night[evening]["open_state"] == "closed"
    assert (friday_night[evening]["opens_at"], friday_night[evening]["opens_days"]) == (
        "2026-12-05T07:00",
        1,
    )
    assert (friday_night[weekdays]["opens_at"], friday_night[weekdays]["opens_days"]) == (
        "2026-12-07T08:00",
        3,
    )
    saturday = properties("2026-12-05T10:00:00+08:00")
    assert saturday[weekdays]["closed_today"] is True and "opens_at" not in saturday[weekdays]
    assert saturday[evening]["open_state"] == "open"
    assert not {"opens_at", "closed_today"} & set(saturday[evening])
    document = app.test_client().get("/api/v1/openapi.json").get_json()
    assert "opens_at" in json.dumps(document) and "closed_today" in json.dumps(document)


def test_the_driver_page_carries_the_open_wording(app):
    html = app.test_client().get("/?lang=en").get_data(as_text=True)
    config = json.loads(re.search(r'id="config">(.*?)</script>', html, re.S).group(1))
    assert config["openStates"]["closed_today"] == "Closed today"
    assert config["openStates"]["closed_for_good"] == "Closed for good"
    assert config["openWording"]["opensAt"] == "Closed, opens at {time}"
    assert config["openWording"]["weekdays"][0] == "Mon"
    zh = app.test_client().get("/").get_data(as_text=True)
    config = json.loads(re.search(r'id="config">(.*?)</script>', zh, re.S).group(1))
    assert config["openWording"]["opensAt"] == "已打烊，{time} 开门"
    assert config["openWording"]["date"] == "{m}月{d}日"


def test_the_embed_popup_says_when_a_closed_station_opens(app):
    fid = station(app, (117.47, 31.69), hours="每天7:00-20:00")
    clock = app.extensions["locator"].clock
    clock.set(dt.datetime.fromisoformat("2026-12-01T21:00:00+08:00"))
    try:
        popup = app.test_client().get(f"/embed/facility/{fid}").get_json()
    finally:
        clock.set(dt.datetime.fromisoformat(ADMIN_NOW))
    assert (popup["open"], popup["opens_at"], popup["opens_days"]) == (
        "closed",
        "2026-12-02T07:00",
        1,
    )
    html = app.test_client().get("/embed?lang=en").get_data(as_text=True)
    config = json.loads(re.search(r'id="embed-config">(.*?)</script>', html, re.S).group(1))
    assert config["openWording"]["opensAt"] == "Closed, opens at {time}"
