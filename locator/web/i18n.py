"""Chinese first, English available: ``?lang=en`` switches and a cookie remembers it."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Flask, g, request
from flask_babel import Babel

LANGUAGES = ("zh", "en")


def embed_request() -> bool:
    """Whether this request is for the embeddable widget, which never reads or sets the
    language cookie (a widget on another site leaves no state in the visitor's browser)."""
    path = request.path
    return path in ("/embed", "/embed.js", "/oembed") or path.startswith("/embed/")


def current_lang() -> str:
    """``zh`` or ``en`` for this request: the ``lang`` parameter, then the cookie, then zh."""
    lang = getattr(g, "lang", None)
    if lang is None:
        cookie = None if embed_request() else request.cookies.get("lang")
        asked = request.args.get("lang") or cookie or "zh"
        lang = asked if asked in LANGUAGES else "zh"
        g.lang = lang
    return lang


def switch_url(lang: str) -> str:
    """This page in ``lang``, keeping its other query parameters (repeated ones too)."""
    params = [(k, v) for k, values in request.args.lists() if k != "lang" for v in values]
    return f"{request.path}?{urlencode([*params, ('lang', lang)])}"


def init_app(app: Flask) -> None:
    """Set up Flask-Babel and remember an explicit language choice in a cookie."""
    Babel(app, locale_selector=current_lang)
    app.jinja_env.globals["current_lang"] = current_lang
    app.jinja_env.globals["lang_switch_url"] = switch_url

    @app.after_request
    def remember_lang(response):
        asked = request.args.get("lang")
        if (
            asked in LANGUAGES
            and not request.path.startswith("/api/")
            and not embed_request()
            and request.cookies.get("lang") != asked
        ):
            response.set_cookie("lang", asked, max_age=365 * 86400, samesite="Lax", httponly=True)
        return response
