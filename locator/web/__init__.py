"""The web adapter: ``create_app`` wires settings, storage, blueprints and error handling."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from flask import Flask, current_app, request
from flask.sessions import SecureCookieSessionInterface
from flask_compress import Compress
from werkzeug.middleware.proxy_fix import ProxyFix

from ..cache import ResultCache, WorkGate
from ..catalog import CatalogCache
from ..clock import Clock
from ..config import Settings, load_settings, shipped_dir
from ..nearest import DriveEstimate
from ..places import Gazetteer
from ..planner import RESULT_SIZES as PLANNER_RESULT_SIZES
from ..storage import Storage, open_storage
from ..uploads import PendingUploads, open_uploads
from .assets import ASSET_ENDPOINTS
from .jsonio import OrjsonProvider
from .security import no_store_with_cookies


@dataclass
class AppState:
    """What the views share: settings, the storage, the catalog and rendered pages."""

    settings: Settings
    storage: Storage
    catalog: CatalogCache
    #: Where the app reads "now" (open-now answers, progress, reports, writes).
    clock: Clock
    #: Computed results (reports, grids, plans, rendered maps) by data version and
    #: parameters, each built once however many requests want it.
    results: ResultCache = field(default_factory=lambda: ResultCache(RESULT_CACHE_SIZES))
    #: Where uploads wait without Redis (see :mod:`locator.uploads`).
    upload_dir: str = ""

    @cached_property
    def uploads(self) -> PendingUploads:
        """Uploaded lists waiting for their confirmation (Redis when configured)."""
        return open_uploads(
            self.settings.redis_url,
            self.upload_dir,
            clock=self.clock,
            minutes=self.settings.upload_keep_minutes,
        )

    @cached_property
    def gate(self) -> WorkGate:
        """How many heavy computations this worker runs at once, and queues."""
        return WorkGate(
            self.settings.heavy_requests,
            self.settings.heavy_queue,
            self.settings.heavy_wait_seconds,
        )

    @cached_property
    def estimate(self) -> DriveEstimate:
        """The drive-time estimate of the settings (straight line x detour at a speed)."""
        return DriveEstimate.from_settings(self.settings)

    def gazetteer(self) -> Gazetteer:
        """The place search of the current data version (built on first use, then kept)."""
        catalog = self.catalog.current()
        return self.results.get(
            "places",
            catalog.data_version,
            lambda: Gazetteer(
                self.storage.admin_units(), catalog.one_per_place, catalog.data_version
            ),
        )


#: How many results of each kind a worker keeps (others: 32).
RESULT_CACHE_SIZES = {
    **PLANNER_RESULT_SIZES,  # grid layouts, township polygons, grid cells (up to MBs)
    "places": 1,
    "embed-context": 2,
    "facility-map": 4,  # the rendered overview map, per language
    "coverage-map": 8,
    "planner": 2,  # a planner per data version
}


class CookielessSessionInterface(SecureCookieSessionInterface):
    """Sessions only for requests that bring a session cookie: most requests (the API,
    the embed widget) have none, and skip the signing set-up."""

    def open_session(self, app, request):
        if app.config["SESSION_COOKIE_NAME"] not in request.cookies:
            return self.session_class()
        return super().open_session(app, request)

    def should_set_cookie(self, app, session) -> bool:
        # A static file never refreshes a signed-in session: its answer sets no cookie, so
        # it keeps its long cache lifetime (no_store_with_cookies) for signed-in editors.
        if request.endpoint in ASSET_ENDPOINTS and not session.modified:
            return False
        return super().should_set_cookie(app, session)

    def save_session(self, app, session, response):
        super().save_session(app, session, response)
        # The last step of every answer, after each view and hook that may set a cookie.
        no_store_with_cookies(response)


def state() -> AppState:
    """The :class:`AppState` of the current app."""
    return current_app.extensions["locator"]


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the Flask app.

    ``test_config`` may hold ``LOCATOR_SETTINGS`` (a :class:`Settings`) or keyword
    overrides of settings in lower case (``database_url``, ``tiles``...), a clock as
    ``LOCATOR_CLOCK`` (default: the settings' :meth:`~Settings.clock`), and Flask
    config keys in upper case.
    """
    test_config = dict(test_config or {})
    clock = test_config.pop("LOCATOR_CLOCK", None)
    settings = test_config.pop("LOCATOR_SETTINGS", None)
    if settings is None:
        overrides = {k: test_config.pop(k) for k in list(test_config) if k.islower()}
        settings = load_settings(**overrides)
    app = Flask(
        __name__,
        template_folder=str(shipped_dir("templates")),
        static_folder="static",
        static_url_path="/static",
    )
    app.config.from_mapping(
        SECRET_KEY=settings.secret_key or secrets.token_hex(32),
        MAX_CONTENT_LENGTH=int(settings.max_upload_mb * 1024 * 1024),
        JSON_SORT_KEYS=False,
        BABEL_DEFAULT_LOCALE="zh",
        BABEL_TRANSLATION_DIRECTORIES=str(Path(__file__).resolve().parent / "translations"),
    )
    app.json = OrjsonProvider(app)
    app.session_interface = CookielessSessionInterface()
    app.config.update(
        COMPRESS_MIMETYPES=[
            "text/html",
            "text/css",
            "application/javascript",
            "text/javascript",
            "application/json",
            "application/geo+json",
            "image/svg+xml",
        ],
        COMPRESS_MIN_SIZE=1024,
        COMPRESS_EVALUATE_CONDITIONAL_REQUEST=False,  # the views answer If-None-Match
        COMPRESS_ALGORITHM=["gzip", "br", "deflate"],
    )
    from .urls import trusted_hosts

    app.config["TRUSTED_HOSTS"] = trusted_hosts(settings)
    app.config.update({k: v for k, v in test_config.items() if k.isupper()})
    Compress(app)

    clock = clock or settings.clock()
    storage = open_storage(settings.database_url, clock=clock)
    storage.check_schema()  # tables of an older or newer locator: say so now, not mid-request
    catalog = CatalogCache(storage, check_interval_s=settings.data_check_seconds)
    upload_dir = settings.upload_dir or str(Path(app.instance_path) / "uploads")
    app.extensions["locator"] = AppState(settings, storage, catalog, clock, upload_dir=upload_dir)

    from . import (
        admin,
        admin_import,
        admin_reports,
        assets,
        auth,
        embed,
        errors,
        i18n,
        pages,
        planner,
        security,
    )
    from .api import coverage as api_coverage
    from .api import facilities as api
    from .api import reports as api_reports
    from .api import writes as api_writes

    i18n.init_app(app)
    assets.init_app(app)
    errors.init_app(app)
    security.init_app(app)
    auth.init_app(app)
    app.register_blueprint(assets.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(pages.bp)
    app.register_blueprint(api_coverage.bp)
    app.register_blueprint(planner.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(admin_import.bp)
    app.register_blueprint(api_writes.bp)
    app.register_blueprint(admin_reports.bp)
    app.register_blueprint(api_reports.bp)
    for bp in (api.bp, api_coverage.bp, api_writes.bp, api_reports.bp, embed.bp):
        auth.csrf.exempt(bp)  # JSON without cookie state: tokens or no account at all
    app.register_blueprint(embed.bp)
    embed.init_app(app)
    from . import offline

    offline.init_app(app)  # the web manifest and the service worker

    from .hotpath import HotPath

    app.wsgi_app = HotPath(app)
    if settings.trusted_proxies > 0:
        # Behind that many proxies, their X-Forwarded-* headers tell the client's scheme,
        # host, address and path prefix (werkzeug's ProxyFix); never trusted otherwise.
        n = settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n, x_port=n, x_prefix=n)
    return app
