"""Headless Debian Chromium (never a downloaded build) against a live server of the app.

One browser per session; each test gets a fresh context and page that may talk only to
the live server: every other request is aborted and recorded, and so are console
errors and uncaught page errors, for the tests to assert on.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from tests.web_fixtures import LiveServer, close_app, loaded_database, make_app

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

#: Playwright's timeouts (ms): generous for a loaded CI machine, never a fixed sleep.
TIMEOUT = 15_000


@pytest.fixture(scope="session")
def live_db(tmp_path_factory) -> Iterator[str]:
    """A SQLite database with the shipped data (the session's live server reads it)."""
    url, cleanup = loaded_database("sqlite", tmp_path_factory.mktemp("live"))
    yield url
    cleanup()


@pytest.fixture(scope="session")
def live_server(live_db) -> Iterator[LiveServer]:
    """The app on 127.0.0.1 (a free port) in a daemon thread, without map tiles."""
    app = make_app(live_db)
    with LiveServer(app) as server:
        yield server
    close_app(app)


@pytest.fixture(scope="session")
def browser():
    if not shutil.which(CHROMIUM):
        pytest.fail(
            f"the browser tests need Debian's chromium at {CHROMIUM} "
            "(make system-test-deps); never `playwright install`"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@dataclass
class Session:
    """A page and what it tried to do that a test may object to."""

    page: object
    base_url: str
    outside: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)

    def goto(self, path: str = "/"):
        response = self.page.goto(self.base_url + path, wait_until="load")
        assert response is not None and response.ok, (path, response and response.status)
        return response

    def assert_clean(self) -> None:
        assert self.outside == [], f"requests outside the live server: {self.outside}"
        assert self.page_errors == [], self.page_errors
        assert self.console_errors == [], self.console_errors


def open_session(browser, base_url: str, **context_options) -> tuple[object, Session]:
    """A new context and page bound to ``base_url``, with recorders attached."""
    context = browser.new_context(locale="zh-CN", **context_options)
    context.set_default_timeout(TIMEOUT)
    page = context.new_page()
    session = Session(page, base_url)

    def route(route):
        url = route.request.url
        if url == base_url or url.startswith(base_url + "/"):
            route.continue_()
        else:
            session.outside.append(url)
            route.abort("blockedbyclient")

    context.route("**/*", route)
    page.on(
        "console",
        lambda message: (
            message.type == "error"
            and session.console_errors.append(f"{message.text} @ {message.location}")
        ),
    )
    page.on("pageerror", lambda error: session.page_errors.append(str(error)))
    return context, session


@pytest.fixture
def session_factory(browser):
    """Opens sessions (desktop by default) and closes their contexts afterwards."""
    contexts = []

    def factory(base_url: str, **options) -> Session:
        options.setdefault("viewport", {"width": 1280, "height": 800})
        context, session = open_session(browser, base_url, **options)
        contexts.append(context)
        return session

    yield factory
    for context in contexts:
        context.close()


@pytest.fixture
def desktop(session_factory, live_server) -> Session:
    """A 1280x800 page on the session's live server."""
    return session_factory(live_server.url)
