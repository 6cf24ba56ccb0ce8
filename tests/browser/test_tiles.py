"""Tiles that cannot be reached: the map drops them and says so, instead of showing grey."""

from __future__ import annotations

import pytest

from tests.web_fixtures import LiveServer, close_app, make_app

pytestmark = pytest.mark.browser

UNREACHABLE = "http://127.0.0.1:9/{z}/{x}/{y}.png"  # the discard port: nothing answers


@pytest.fixture(scope="module")
def tiled_server(live_db):
    app = make_app(live_db, tiles="osm", tile_url=UNREACHABLE, tile_attribution="test tiles")
    with LiveServer(app) as server:
        yield server
    close_app(app)


@pytest.mark.parametrize("path", ["/map", "/"])
def test_unreachable_tiles_fall_back_to_no_tiles(session_factory, tiled_server, path):
    session = session_factory(tiled_server.url)
    session.page.goto(tiled_server.url + path, wait_until="load")
    page = session.page
    page.wait_for_selector(".leaflet-container.tiles-unavailable")
    assert page.locator(".leaflet-tile-pane img").count() == 0  # the layer is gone
    assert "OpenStreetMap" in page.locator(".leaflet-control-attribution").inner_text()
    # The only requests that left the live server were the tiles that failed.
    assert session.outside and all(url.startswith("http://127.0.0.1:9/") for url in session.outside)
    assert session.page_errors == []
