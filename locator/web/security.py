"""Security headers on every response.

Pages may be framed only by this site (``frame-ancestors 'self'``); pages that are
meant to be embedded set their own policy. Browsers must not sniff content types.
No page may use the browser features of :data:`FEATURES` unless it allows one itself
(the driver's page and the widget ask for the phone's position).
"""

from __future__ import annotations

from flask import Flask, Response, request

#: Browser features denied to every page (and every frame in it) that does not allow them.
FEATURES = ("geolocation", "camera", "microphone", "payment", "usb")


def permissions_policy(*allowed: str) -> str:
    """The ``Permissions-Policy`` giving ``allowed`` features to this origin alone and
    denying the other :data:`FEATURES`.

    >>> permissions_policy("geolocation")
    'geolocation=(self), camera=(), microphone=(), payment=(), usb=()'
    """
    return ", ".join(f"{name}=(self)" if name in allowed else f"{name}=()" for name in FEATURES)


#: Sent with every response that did not set the header itself.
HEADERS = (
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "strict-origin-when-cross-origin"),
    ("Content-Security-Policy", "frame-ancestors 'self'"),
    ("Permissions-Policy", permissions_policy()),
)


#: Sent with answers over HTTPS (behind a proxy: as ``ProxyFix`` reads its headers):
#: browsers keep to HTTPS for this site for a year.
HSTS = ("Strict-Transport-Security", "max-age=31536000")


def headers_for(url_scheme: str) -> tuple[tuple[str, str], ...]:
    """The default headers of an answer to a request made with ``url_scheme``."""
    return (*HEADERS, HSTS) if url_scheme == "https" else HEADERS


def no_store_with_cookies(response: Response) -> Response:
    """Mark an answer that sets a cookie ``Cache-Control: private, no-store``, unless it
    is ``no-store`` already: no shared cache, and no service worker (which cannot see
    ``Set-Cookie``; :mod:`locator.web.offline`), keeps it."""
    if "Set-Cookie" in response.headers and not response.cache_control.no_store:
        response.headers["Cache-Control"] = "private, no-store"
    return response


def init_app(app: Flask) -> None:
    """Add the headers after each request, keeping any a view set itself."""

    @app.after_request
    def security_headers(response: Response) -> Response:
        for name, value in headers_for(request.scheme):
            response.headers.setdefault(name, value)
        return response
