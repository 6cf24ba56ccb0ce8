"""Security headers on every response.

Pages may be framed only by this site (``frame-ancestors 'self'``); pages that are
meant to be embedded set their own policy. Browsers must not sniff content types.
"""

from __future__ import annotations

from flask import Flask, Response


def init_app(app: Flask) -> None:
    """Add the headers after each request, keeping any a view set itself."""

    @app.after_request
    def security_headers(response: Response) -> Response:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        if "Content-Security-Policy" not in response.headers:
            response.headers["Content-Security-Policy"] = "frame-ancestors 'self'"
        return response
