"""``locator serve``: werkzeug's server for one machine, saying nothing of its software.

For production run gunicorn (``locator.web.wsgi:app``). ``debug`` turns on werkzeug's
reloader and interactive debugger, which runs any Python typed into an error page, so it
is refused on any address but this machine's own.
"""

from __future__ import annotations

from flask import Flask
from werkzeug.serving import WSGIRequestHandler, run_simple

from ..errors import InvalidParameter

#: Addresses only this machine reaches.
LOOPBACK = ("127.0.0.1", "localhost", "::1")


class RequestHandler(WSGIRequestHandler):
    """Werkzeug's handler with a ``Server`` header that names no software versions."""

    def version_string(self) -> str:
        return "locator"


def serve(app: Flask, host: str, port: int, *, debug: bool = False) -> None:
    """Serve ``app`` on ``host:port`` until interrupted."""
    if debug and host not in LOOPBACK:
        raise InvalidParameter(
            "--debug runs an interactive Python console in error pages: "
            "it is only allowed with --host 127.0.0.1",
            field="debug",
        )
    app.debug = debug
    run_simple(
        host,
        port,
        app,
        use_reloader=debug,
        use_debugger=debug,
        threaded=True,
        request_handler=RequestHandler,
    )
