"""The web adapter: ``create_app`` wires settings, storage, blueprints and error handling."""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, current_app
from flask_compress import Compress

from ..catalog import CatalogCache
from ..config import PROJECT_ROOT, Settings, load_settings
from ..storage import Storage, open_storage


@dataclass
class AppState:
    """What the views share: settings, the storage, the catalog and rendered pages."""

    settings: Settings
    storage: Storage
    catalog: CatalogCache
    page_cache: dict = field(default_factory=dict)
    page_lock: threading.Lock = field(default_factory=threading.Lock)


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
    app.json.ensure_ascii = False
    app.json.sort_keys = False
    app.config.update(
        COMPRESS_MIMETYPES=["text/html", "text/css", "application/javascript", "text/javascript",
                            "application/json", "application/geo+json", "image/svg+xml"],
        COMPRESS_MIN_SIZE=1024,
        COMPRESS_ALGORITHM=["gzip", "br", "deflate"],
    )
    app.config.update({k: v for k, v in test_config.items() if k.isupper()})
    Compress(app)

    storage = open_storage(settings.database_url)
    app.extensions["locator"] = AppState(settings, storage, CatalogCache(storage))

    from . import api, assets, errors, i18n, pages

    i18n.init_app(app)
    assets.init_app(app)
    errors.init_app(app)
    app.register_blueprint(assets.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(pages.bp)
    return app
