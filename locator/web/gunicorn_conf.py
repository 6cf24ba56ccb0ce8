"""gunicorn settings for locator: ``gunicorn -c python:locator.web.gunicorn_conf
locator.web.wsgi:app``. Command-line options and ``GUNICORN_CMD_ARGS`` override them.

Threads, not processes, serve the many small requests (drivers' nearest queries); heavy
ones (coverage, grids, plans) run at most ``LOCATOR_HEAVY_REQUESTS`` at a time per
worker with ``LOCATOR_HEAVY_QUEUE`` waiting, so with these threads a worker always keeps
several free for the small requests while heavy ones run.
"""

import os

bind = os.environ.get("LOCATOR_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("LOCATOR_WORKERS", "2"))
worker_class = "gthread"
threads = int(os.environ.get("LOCATOR_THREADS", "8"))
# A plan may take up to half a minute; a worker silent for longer is restarted.
timeout = 120
graceful_timeout = 30
keepalive = 5
# No version in the Server header.
proc_name = "locator"

# Sessions are signed cookies: every worker must sign with the same key, or a session
# started in one worker is refused by the next (and lost on every restart).
if workers > 1 and not os.environ.get("LOCATOR_SECRET_KEY"):
    raise SystemExit(
        "LOCATOR_SECRET_KEY must be set when more than one worker serves "
        f"(LOCATOR_WORKERS={workers}): sessions are signed with it"
    )
