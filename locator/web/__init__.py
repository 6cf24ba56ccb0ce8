"""The web adapter: ``create_app`` wires settings, storage, blueprints and error handling."""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from flask import Flask, current_app
from flask.sessions import SecureCookieSessionInterface
from flask_compress import Compress

from ..catalog import CatalogCache
from ..config import PROJECT_ROOT, Settings, load_settings
from ..nearest import DriveEstimate
from ..places import Gazetteer
from ..storage import Storage, open_storage
from .jsonio import OrjsonProvider


@dataclass
class AppState:
    """What the views share: settings, the storage, the catalog and rendered pages."""

    settings: Settings
    storage: Storage
    catalog: CatalogCache
    page_cache: dict = field(default_factory=dict)
    page_lock: threading.Lock = field(default_factory=threading.Lock)

    @cached_property
    def estimate(self) -> DriveEstimate:
        """The drive-time estimate of the settings (straight line x detour at a speed)."""
        return DriveEstimate.from_settings(self.settings)

    def gazetteer(self) -> Gazetteer:
        """The place search of the current data version (built on first use, then kept)."""
        catalog = self.catalog.current()
        key = ("places", catalog.data_version)
        with self.page_lock:
            found = self.page_cache.get(key)
            if found is None:
                units = self.storage.admin_units()
                found = Gazetteer(units, catalog.facilities, catalog.data_version)
                for stale in [k for k in self.page_cache if k[0] == "places" and k != key]:
                    del self.page_cache[stale]
                self.page_cache[key] = found
        return found


class CookielessSessionInterface(SecureCookieSessionInterface):
    """Sessions only for requests that bring a session cookie: most requests (the API,
    the embed widget) have none, and skip the signing set-up."""

    def open_session(self, app, request):
        if app.config["SESSION_COOKIE_NAME"] not in request.cookies:
            return self.session_class()
        return super().open_session(app, request)


def state() -> AppState:
    """The :class:`AppState` of the current app."""
    return current_app.extensions["locator"]


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the Flask app.

    ``test_config`` may hold ``LOCATOR_SETTINGS`` (a :class:`Settings`) or keyword
    overrides of settings in lower case (``database_url``, ``tiles``...), and Flask
    config keys in upper case.
    """
    test_config = dict(test_config or {})
    settings = test_config.pop("LOCATOR_SETTINGS", None)
    if settings is None:
        overrides = {k: test_config.pop(k) for k in list(test_config) if k.islower()}
        settings = load_settings(**overrides)
    app = Flask(__name__, template_folder=str(PROJECT_ROOT / "templates"),
                static_folder="static", static_url_path="/static")
    app.config.from_mapping(
        SECRET_KEY=settings.secret_key or secrets.token_hex(32),
        MAX_CONTENT_LENGTH=int(settings.max_upload_mb * 1024 * 1024),
        JSON_SORT_KEYS=False,
        BABEL_DEFAULT_LOCALE="zh",
        BABEL_TRANSLATION_DIRECTORIES=str(PROJECT_ROOT / "locator" / "web" / "translations"),
    )
    app.json = OrjsonProvider(app)
    app.session_interface = CookielessSessionInterface()
    app.config.update(
        COMPRESS_MIMETYPES=["text/html", "text/css", "application/javascript", "text/javascript",
                            "application/json", "application/geo+json", "image/svg+xml"],
        COMPRESS_MIN_SIZE=1024,
        COMPRESS_EVALUATE_CONDITIONAL_REQUEST=False,  # the views answer If-None-Match
        COMPRESS_ALGORITHM=["gzip", "br", "deflate"],
    )
    app.config.update({k: v for k, v in test_config.items() if k.isupper()})
    Compress(app)

    storage = open_storage(settings.database_url)
    storage.check_schema()  # tables of an older or newer locator: say so now, not mid-request
    catalog = CatalogCache(storage, check_interval_s=settings.data_check_seconds)
    app.extensions["locator"] = AppState(settings, storage, catalog)

    from . import api, api_coverage, assets, embed, errors, i18n, pages, planner, security

    i18n.init_app(app)
    assets.init_app(app)
    errors.init_app(app)
    security.init_app(app)
    app.register_blueprint(assets.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(pages.bp)
    app.register_blueprint(api_coverage.bp)
    app.register_blueprint(planner.bp)
    app.register_blueprint(embed.bp)
    embed.init_app(app)

    from .hotpath import HotPath

    app.wsgi_app = HotPath(app)
    return app
