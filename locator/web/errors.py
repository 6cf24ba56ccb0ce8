"""One error handler: the JSON error shape under /api, a short page elsewhere."""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from flask_babel import gettext
from werkzeug.exceptions import HTTPException

from ..errors import LocatorError

_HTTP_CODES = {400: "bad_request", 404: "not_found", 405: "method_not_allowed",
               409: "conflict", 413: "payload_too_large", 415: "unsupported_format",
               422: "validation_failed", 429: "rate_limited"}


#: Page texts of common statuses, translated (the API keeps werkzeug's English text).
_PAGE_MESSAGES = {404: "This page does not exist.",
                  405: "This address does not accept that kind of request.",
                  413: "The upload is too large."}


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def _respond(status: int, body: dict, headers: list | None = None):
    headers = [(k, v) for k, v in (headers or []) if k.lower() != "content-type"]
    if _wants_json():
        return jsonify(body), status, headers
    message = _PAGE_MESSAGES.get(status)
    message = gettext(message) if message else body["error"]["message"]
    return render_template("error.html", status=status, message=message), status, headers


def init_app(app: Flask) -> None:
    """Register the handlers."""

    @app.errorhandler(LocatorError)
    def locator_error(exc: LocatorError):
        return _respond(exc.status, exc.to_dict())

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        status = exc.code or 500
        code = _HTTP_CODES.get(status, "http_error")
        return _respond(status, {"error": {"code": code, "message": exc.description}},
                        exc.get_headers())

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):  # pragma: no cover - a bug, logged
        app.logger.exception("unhandled error")
        return _respond(500, {"error": {"code": "internal_error",
                                        "message": "internal error"}})
