"""Chinese first, English on request; the switch keeps the page's parameters."""

from __future__ import annotations

import pytest

from locator.web import create_app


@pytest.fixture
def client(sqlite_url):
    from locator.storage import open_storage

    open_storage(sqlite_url, init=True).close()
    return create_app({"database_url": sqlite_url, "tiles": "none"}).test_client()


def test_language_switch_keeps_the_other_parameters(client):
    html = client.get(
        "/map?kind=driver_home&kind=service_area&city=%E5%90%88%E8%82%A5%E5%B8%82"
    ).get_data(as_text=True)
    assert (
        'href="/map?kind=driver_home&amp;kind=service_area&amp;'
        'city=%E5%90%88%E8%82%A5%E5%B8%82&amp;lang=en"'
    ) in html
