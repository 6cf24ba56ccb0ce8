"""Shared fixtures: fresh databases on both backends, the app, a client and a CLI runner."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from locator.storage import open_storage

TESTS = Path(__file__).resolve().parent
DATA = TESTS / "data"

#: The PostGIS server the tests use; the suite fails (not skips) when it is unreachable.
POSTGIS_URL = os.environ.get(
    "LOCATOR_TEST_POSTGIS_URL", "postgresql://postgres@127.0.0.1:5432/test"
)


def _postgis_schema_url():
    """A fresh schema in the test database and a URL whose search_path selects it."""
    import psycopg

    schema = f"t_{uuid.uuid4().hex[:12]}"
    try:
        with psycopg.connect(POSTGIS_URL, autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
            conn.execute(f'CREATE SCHEMA "{schema}"')
    except psycopg.OperationalError as exc:
        pytest.fail(
            f"PostGIS tests need a PostgreSQL server with PostGIS at {POSTGIS_URL} "
            f"(set LOCATOR_TEST_POSTGIS_URL; .ci/run installs it): {exc}"
        )
    sep = "&" if "?" in POSTGIS_URL else "?"
    return schema, f"{POSTGIS_URL}{sep}options=-csearch_path%3D{schema},public"


def _drop_schema(schema: str) -> None:
    import psycopg

    with psycopg.connect(POSTGIS_URL, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", pytest.param("postgis", marks=pytest.mark.postgis)])
def database_url(request, tmp_path):
    """A URL of an empty database, once for SQLite and once for PostGIS."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'locator.db'}"
        return
    schema, url = _postgis_schema_url()
    yield url
    _drop_schema(schema)


@pytest.fixture
def storage(database_url):
    """An initialised, empty storage on each backend."""
    store = open_storage(database_url, init=True)
    yield store
    store.close()


@pytest.fixture(scope="module")
def app(url):
    """The app over the module's ``url`` database (a module defines ``url``)."""
    from tests.web_fixtures import close_app, make_app

    app = make_app(url)
    yield app
    close_app(app)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture(scope="module")
def units():
    """The shipped admin units, read from ``geodata/``."""
    from locator.geodata import read_admin_units
    from tests.web_fixtures import GEODATA

    return read_admin_units(GEODATA)


@pytest.fixture(scope="module")
def by_code(units):
    return {u.code: u for u in units}


@pytest.fixture(scope="module")
def shipped_sqlite_url(tmp_path_factory):
    """A SQLite database with the shipped data, for a module that reads it on one backend."""
    from tests.web_fixtures import loaded_database

    url, cleanup = loaded_database("sqlite", tmp_path_factory.mktemp("shipped"))
    yield url
    cleanup()


@pytest.fixture(scope="module")
def data(url):
    """The planning data (units, facilities, demand) of the module's ``url`` database."""
    from locator import planning

    with open_storage(url) as storage:
        return planning.PlanningData.from_storage(storage)


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgis", marks=pytest.mark.postgis)]
)
def loaded_url(request, tmp_path_factory):
    """One database per backend with the shipped data, shared by a module's readers."""
    from tests.web_fixtures import loaded_database

    url, cleanup = loaded_database(request.param, tmp_path_factory.mktemp(request.param))
    yield url
    cleanup()


@pytest.fixture
def sqlite_url(tmp_path):
    return f"sqlite:///{tmp_path / 'locator.db'}"


def pytest_sessionfinish(session, exitstatus):
    """In CI a skipped test is a failure: no service may go missing unnoticed."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter else 0
    if os.environ.get("CI") and skipped and session.exitstatus == 0:
        reporter.write_line(f"CI: {skipped} tests were skipped; failing the run", red=True)
        session.exitstatus = 1
