"""A database that goes away mid-service: the app answers 503 in the error shape and its
page, saying nothing of where the database is (the log keeps that)."""

from __future__ import annotations

import logging
import uuid
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from locator.model import Facility
from locator.storage import open_storage
from tests.conftest import POSTGIS_URL
from tests.web_fixtures import close_app, make_app

pytestmark = pytest.mark.postgis


@pytest.fixture
def database():
    """A database of its own (so that connections to it can be refused), and its URL."""
    name = f"locator_outage_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(POSTGIS_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(POSTGIS_URL)
    url = urlunsplit(parts._replace(path=f"/{name}"))
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    yield name, url
    with psycopg.connect(POSTGIS_URL, autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        )
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')


def test_a_lost_database_gives_503_without_connection_details(database, caplog):
    name, url = database
    with open_storage(url, init=True) as storage:
        storage.upsert_facilities([Facility("a", "合肥司机之家", "driver_home", 117.23, 31.82)])
    app = make_app(url, data_check_seconds=0.0)
    client = app.test_client()
    try:
        assert client.get("/api/v1/facilities/a").status_code == 200
        with psycopg.connect(POSTGIS_URL, autocommit=True) as conn:
            conn.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                (name,),
            )
        host = urlsplit(url).hostname
        with caplog.at_level(logging.ERROR):
            api = client.get("/api/v1/facilities?limit=1")
            page = client.get("/f/a")
        assert api.status_code == 503 and page.status_code == 503
        error = api.get_json()["error"]
        assert error["code"] == "storage_unavailable"
        assert api.headers["Retry-After"] == "5"
        for body in (api.get_data(as_text=True), page.get_data(as_text=True)):
            assert "postgresql" not in body.lower()
            assert name not in body and host not in body and "5432" not in body
        assert "数据库" in page.get_data(as_text=True) or "database" in page.get_data(as_text=True)
        assert name in caplog.text  # the operator's log says which database
    finally:
        close_app(app)
