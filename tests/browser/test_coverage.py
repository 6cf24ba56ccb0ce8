"""The planner's page in headless Chromium: township polygons, legend, mode switch,
suggested sites, gap table; no console errors and no requests outside the app.

A screenshot goes to ``tmp_path`` and, when ``LOCATOR_SCREENSHOT_DIR`` is set, to that
folder as ``screenshot-coverage.png``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.browser.test_map import assert_clean

pytestmark = pytest.mark.browser

MAP_JS = "window[document.querySelector('.folium-map').id]"
HEFEI_PAGE = "/coverage?city=合肥市"


def wait_for_coverage(session) -> None:
    page = session.page
    page.wait_for_selector(".leaflet-overlay-pane path.township", state="attached")
    page.wait_for_selector(".suggested-site")
    page.wait_for_function(f"() => !{MAP_JS}._animatingZoom")


def fills(page, status: str) -> set[str]:
    return set(
        page.eval_on_selector_all(
            f".leaflet-overlay-pane path.township.status-{status}",
            "paths => paths.map(p => p.getAttribute('fill'))",
        )
    )


@pytest.fixture
def hefei_numbers(desktop):
    """The API's view of Hefei, fetched through the page (same origin)."""
    desktop.goto("/api/v1/coverage/summary?city=合肥市")
    summary = desktop.page.evaluate("() => JSON.parse(document.body.innerText)")
    return summary["total"]


def test_coverage_page_draws_townships_legend_sites_and_tables(desktop, hefei_numbers, tmp_path):
    desktop.goto(HEFEI_PAGE)
    page = desktop.page
    wait_for_coverage(desktop)

    # every located township is an SVG path in the overlay pane
    townships = page.locator(".leaflet-overlay-pane path.township")
    assert townships.count() == hefei_numbers["located"] == 126
    assert page.locator("path.township.status-covered").count() == hefei_numbers["covered"]

    # the legend shows the distance classes; the covered/not legend waits hidden
    legend = page.locator(".map-legend")
    assert legend.is_visible()
    assert legend.locator(".legend-mode[data-mode=distance]").is_visible()
    assert not legend.locator(".legend-mode[data-mode=covered]").is_visible()
    assert "到最近站点的距离" in legend.inner_text()

    # the whole map, before any popup opens
    folder = os.environ.get("LOCATOR_SCREENSHOT_DIR")
    shot = tmp_path / "coverage.png"
    page.screenshot(path=str(shot))
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / "screenshot-coverage.png"))
    assert shot.stat().st_size > 10_000

    # suggested sites: numbered markers matching the table
    markers = page.locator(".suggested-site")
    assert markers.count() == 5
    assert sorted(markers.all_inner_texts()) == ["1", "2", "3", "4", "5"]
    rows = page.locator("table.sites-table tbody tr")
    assert rows.count() == 5
    first_name = rows.nth(0).locator("td.col-name").inner_text()
    page.locator(".suggested-site", has_text="1").first.click()
    popup = page.locator(".leaflet-popup-content .site-popup")
    popup.wait_for()
    assert first_name in popup.inner_text() and "新增覆盖需求" in popup.inner_text()

    # the gap table lists every township, unlocated at the end
    gap_rows = page.locator("table.gap-table tbody tr")
    assert gap_rows.count() == hefei_numbers["townships"] == 146
    assert (
        page.locator("table.gap-table tbody tr.status-unlocated").count()
        == hefei_numbers["unlocated"]
    )
    assert page.locator("table.county-table").is_visible()
    assert page.locator(".progress-chart").count() == 1

    assert_clean(desktop)


def test_switching_the_colouring_without_reloading(desktop):
    desktop.goto(HEFEI_PAGE)
    page = desktop.page
    wait_for_coverage(desktop)
    before = fills(page, "uncovered")
    assert len(before) > 1  # several distance classes
    page.locator('input[name="view"][value="covered"]').check()
    page.wait_for_function(
        "() => !document.querySelector('.legend-mode[data-mode=covered]').hidden"
    )
    assert fills(page, "uncovered") == {"#d7191c"}
    assert fills(page, "covered") == {"#2c7bb6"}
    assert not page.locator(".legend-mode[data-mode=distance]").is_visible()
    assert "view=covered" in page.url
    assert "view=covered" in page.locator("a.download-xlsx").get_attribute("href")
    assert_clean(desktop)


def test_county_choices_follow_the_city(desktop):
    desktop.goto(HEFEI_PAGE)
    page = desktop.page
    visible = page.eval_on_selector_all(
        "#coverage-county optgroup", "groups => groups.filter(g => !g.hidden).map(g => g.label)"
    )
    assert visible == ["合肥市"]
    page.select_option("#coverage-city", "")
    shown = page.eval_on_selector_all(
        "#coverage-county optgroup", "groups => groups.filter(g => !g.hidden).length"
    )
    assert shown == 16
    assert_clean(desktop)


def test_report_prints_without_the_toolbar(desktop):
    desktop.goto("/coverage/report?city=合肥市")
    page = desktop.page
    assert page.locator(".report-map svg path.svg-township").count() == 126
    assert page.locator(".report-toolbar").is_visible()
    page.emulate_media(media="print")
    assert not page.locator(".report-toolbar").is_visible()
    assert page.locator(".report-map svg").is_visible()
    assert_clean(desktop)
