"""Chinese first, English available: ``?lang=en`` switches and a cookie remembers it."""

from __future__ import annotations

from flask import Flask, g, request
from flask_babel import Babel

LANGUAGES = ("zh", "en")


def current_lang() -> str:
    """``zh`` or ``en`` for this request: the ``lang`` parameter, then the cookie, then zh."""
    lang = getattr(g, "lang", None)
    if lang is None:
        asked = request.args.get("lang") or request.cookies.get("lang") or "zh"
        lang = asked if asked in LANGUAGES else "zh"
        g.lang = lang
    return lang


def init_app(app: Flask) -> None:
    """Set up Flask-Babel and remember an explicit language choice in a cookie."""
    Babel(app, locale_selector=current_lang)
    app.jinja_env.globals["current_lang"] = current_lang

    @app.after_request
    def remember_lang(response):
        asked = request.args.get("lang")
        if (asked in LANGUAGES and not request.path.startswith("/api/")
                and request.cookies.get("lang") != asked):
            response.set_cookie("lang", asked, max_age=365 * 86400, samesite="Lax",
                                httponly=True)
        return response
