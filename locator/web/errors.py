"""One error handler: the JSON error shape from the endpoints that answer JSON, a short
page from the others.

A request that asks for JSON (``Accept``) gets JSON; so does one to an endpoint whose
blueprint is one of :data:`JSON_BLUEPRINTS` or whose view is marked with
:func:`answers_json`, and one that matched no endpoint under the API's path.
"""

from __future__ import annotations

from flask import Flask, current_app, jsonify, render_template, request
from flask_babel import gettext
from markupsafe import escape
from werkzeug.exceptions import HTTPException, SecurityError

from ..errors import Busy, LocatorError, StorageError, Unauthorized
from ..messages import Message
from .i18n import current_lang

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    412: "precondition_failed",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_format",
    422: "validation_failed",
    429: "rate_limited",
    503: "unavailable",
}


#: Page texts of common statuses, translated (the API keeps werkzeug's English text).
_PAGE_MESSAGES = {
    404: "This page does not exist.",
    405: "This address does not accept that kind of request.",
    413: "The upload is too large.",
    503: "The service is busy or its database is unavailable; try again shortly.",
}


#: Blueprints whose every view answers JSON.
JSON_BLUEPRINTS = frozenset({"api", "api_coverage", "api_writes", "api_reports"})


def answers_json(view):
    """Mark a view (outside :data:`JSON_BLUEPRINTS`) whose errors are JSON too."""
    view.answers_json = True
    return view


def _wants_json() -> bool:
    if request.accept_mimetypes.best == "application/json":
        return True
    if request.url_rule is None:  # no endpoint: the API's addresses answer JSON
        return request.path.startswith("/api/")
    view = current_app.view_functions.get(request.endpoint)
    return request.blueprint in JSON_BLUEPRINTS or getattr(view, "answers_json", False)


def _respond(status: int, body: dict, headers: list | None = None, page_text: str | None = None):
    """JSON ``body``, or the error page: the status's own text, else ``page_text`` (the
    message in the page's language), else the body's message."""
    headers = [(k, v) for k, v in (headers or []) if k.lower() != "content-type"]
    if _wants_json():
        return jsonify(body), status, headers
    message = _PAGE_MESSAGES.get(status)
    message = gettext(message) if message else page_text or body["error"]["message"]
    return render_template("error.html", status=status, message=message), status, headers


def public_error(exc: LocatorError) -> tuple[dict, list[tuple[str, str]]]:
    """The body and headers a client gets for ``exc``: connection details of a storage
    error (URLs, paths, server messages) go to the log only; a busy server says when to
    come back."""
    if isinstance(exc, StorageError):
        current_app.logger.error("storage unavailable: %s", exc.message)
        return (
            {
                "error": {
                    "code": exc.code,
                    "message": "the database is not available right now; try again shortly",
                }
            },
            [("Retry-After", "5")],
        )
    if isinstance(exc, Busy):
        return exc.to_dict(), [("Retry-After", str(exc.retry_after))]
    if isinstance(exc, Unauthorized):
        return exc.to_dict(), [("WWW-Authenticate", 'Bearer realm="locator"')]
    return exc.to_dict(), []


def respond_error(exc: LocatorError):
    """The answer to ``exc``: the JSON error shape or the error page in the page's
    language."""
    body, headers = public_error(exc)
    page_text = None if isinstance(exc, StorageError) else exc.message_in(current_lang())
    return _respond(exc.status, body, headers, page_text)


def init_app(app: Flask) -> None:
    """Register the handlers."""
    app.errorhandler(LocatorError)(respond_error)

    @app.errorhandler(RecursionError)
    def too_deep(exc: RecursionError):
        return _respond(
            400,
            {
                "error": {
                    "code": "invalid_parameter",
                    "message": "the request is nested too deeply",
                    "field": "body",
                }
            },
            page_text=Message("nested_too_deep").translated(current_lang()),
        )

    @app.errorhandler(MemoryError)
    def too_big(exc: MemoryError):
        app.logger.error("a request ran out of memory: %s %s", request.method, request.path)
        return _respond(
            413,
            {
                "error": {
                    "code": "payload_too_large",
                    "message": "the request needs more memory than this server gives one request",
                }
            },
        )

    @app.errorhandler(SecurityError)
    def untrusted_host(exc: SecurityError):
        # No URL can be built for a host the site does not answer: a bare answer.
        app.logger.warning("refused: %s", exc.description)
        body = {
            "error": {
                "code": "bad_request",
                "field": "Host",
                "message": "this site does not answer to that host name",
            }
        }
        if _wants_json():
            return jsonify(body), 400
        message = gettext("This site does not answer to that host name.")
        return (
            f"<!doctype html><title>400</title><p>{escape(message)}</p>",
            400,
            {"Content-Type": "text/html; charset=utf-8"},
        )

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        status = exc.code or 500
        code = _HTTP_CODES.get(status, "http_error")
        return _respond(
            status, {"error": {"code": code, "message": exc.description}}, exc.get_headers()
        )

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):  # pragma: no cover - a bug, logged
        app.logger.exception("unhandled error")
        return _respond(500, {"error": {"code": "internal_error", "message": "internal error"}})
