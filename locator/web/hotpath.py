"""The hot path: ``GET /api/v1/nearest`` answered without Flask's request cycle.

A driver's nearest query costs about 60 µs of real work (parse, K-nearest, JSON);
Flask's request cycle around it (contexts, routing, the response object, after-request
hooks) costs more than that again. :class:`HotPath` is WSGI middleware in front of the
Flask app: it answers the plain, successful requests of the endpoints it knows straight
from the WSGI environ, with the body and headers the Flask view would send (ETag and
304, Cache-Control, gzip, ``Vary``, the security headers; ``tests/test_hotpath.py``
compares the two), and hands every other request to Flask unchanged: other paths and
methods, bad parameters (Flask renders the error), and ``Accept-Encoding`` values it
does not read the way Flask-Compress does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from urllib.parse import parse_qsl

from flask import Flask
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.exceptions import SecurityError
from werkzeug.wsgi import get_host

from . import AppState, security
from .api.facilities import nearest_answer
from .caching import Answer, plain_or_gzip, render

Endpoint = Callable[[AppState, ImmutableMultiDict], Answer]

#: Path -> what it answers. Each entry's Flask view sends the same answer.
ROUTES: dict[str, Endpoint] = {"/api/v1/nearest": nearest_answer}
STATUS_LINES = {200: "200 OK", 304: "304 NOT MODIFIED"}


def query_args(environ: dict) -> ImmutableMultiDict:
    """The query parameters as werkzeug's ``request.args`` reads them."""
    query = environ.get("QUERY_STRING", "").encode("latin-1").decode()
    return ImmutableMultiDict(parse_qsl(query, keep_blank_values=True, errors="werkzeug.url_quote"))


class HotPath:
    """WSGI middleware answering :data:`ROUTES` for GET; everything else goes to Flask."""

    def __init__(self, app: Flask):
        self.fallback = app.wsgi_app
        self.state: AppState = app.extensions["locator"]
        self.config = app.config
        self.gzip_first = list(self.config["COMPRESS_ALGORITHM"])[:1] == ["gzip"]

    def __call__(self, environ: dict, start_response) -> Iterable[bytes]:
        route = ROUTES.get(environ.get("PATH_INFO", ""))
        if route is not None and environ.get("REQUEST_METHOD") == "GET" and self._trusted(environ):
            answer = self._answer(environ, route)
            if answer is not None:
                status, headers, body = answer
                start_response(status, headers)
                return [body]
        return self.fallback(environ, start_response)

    def _trusted(self, environ: dict) -> bool:
        """Whether the request's host is one the site answers (else Flask refuses it)."""
        hosts = self.config["TRUSTED_HOSTS"]
        if hosts is None:
            return True
        try:
            get_host(environ, hosts)
        except SecurityError:
            return False
        return True

    def _answer(
        self, environ: dict, endpoint: Endpoint
    ) -> tuple[str, list[tuple[str, str]], bytes] | None:
        coding = plain_or_gzip(environ.get("HTTP_ACCEPT_ENCODING"))
        if coding is None or (coding and not self.gzip_first):
            return None
        try:
            answer = endpoint(self.state, query_args(environ))
        except Exception:  # noqa: BLE001 - bad parameters (LocatorError) or a fault:
            return None  # Flask answers either, in the error shape, and logs a fault
        rendered = render(answer, environ, self.config)
        headers = rendered.headers
        if rendered.status == 200:
            headers = [*headers, ("Content-Length", str(len(rendered.body)))]
        if not any(name == "Vary" for name, _ in headers):
            headers.append(("Vary", "Accept-Encoding"))
        headers += security.headers_for(environ.get("wsgi.url_scheme", "http"))
        return STATUS_LINES[rendered.status], headers, rendered.body
