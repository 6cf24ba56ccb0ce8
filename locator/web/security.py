"""Security headers on every response.

Pages may be framed only by this site (``frame-ancestors 'self'``); pages that are
meant to be embedded set their own policy. Browsers must not sniff content types.
"""

from __future__ import annotations

from flask import Flask, Response

#: Sent with every response that did not set the header itself.
HEADERS = (
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "strict-origin-when-cross-origin"),
    ("Content-Security-Policy", "frame-ancestors 'self'"),
)


def init_app(app: Flask) -> None:
    """Add the headers after each request, keeping any a view set itself."""

    @app.after_request
    def security_headers(response: Response) -> Response:
        for name, value in HEADERS:
            response.headers.setdefault(name, value)
        return response
