"""Security headers on pages and API responses."""

from __future__ import annotations

import pytest

from locator.web import create_app


@pytest.fixture
def client(sqlite_url):
    from locator.storage import open_storage

    open_storage(sqlite_url, init=True).close()
    return create_app({"database_url": sqlite_url, "tiles": "none"}).test_client()


@pytest.mark.parametrize("path", ["/map", "/api/v1/facilities", "/api/v1/openapi.json",
                                  "/no-such-page", "/api/v1/facilities/none"])
def test_every_response_forbids_framing_by_others_and_sniffing(client, path):
    response = client.get(path)
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Security-Policy"] == "frame-ancestors 'self'"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


def test_api_sets_no_cookies(client):
    response = client.get("/api/v1/facilities?lang=en")
    assert "Set-Cookie" not in response.headers

