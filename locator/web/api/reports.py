"""Drivers' reports (纠错): ``POST /api/v1/facilities/{id}/reports``, no account needed.

Limited per client address (``LOCATOR_REPORT_LIMIT``, every request counts) and per
facility (``LOCATOR_REPORT_FACILITY_LIMIT``, stored reports count) by Flask-Limiter on
the sign-in limits' storage (Redis with ``LOCATOR_REDIS_URL``: all workers count
together); past either, 429 in the JSON error shape and nothing is stored.

No cookie is read or set and no CORS header is ever sent, so no other site can post
here from a browser: a form cannot send JSON (415), a script's cross-origin JSON needs a
preflight that is never granted, and a request whose ``Origin`` is another site's is
refused (403). The client's address is only hashed, per day (see
:func:`locator.driver_reports.client_hash`).
"""

from __future__ import annotations

import hashlib
from urllib.parse import urlsplit

from flask import Blueprint, current_app, g, request, url_for
from flask_babel import gettext as _
from flask_limiter.errors import RateLimitExceeded
from flask_limiter.util import get_remote_address

from ...driver_reports import HONEYPOT, MAX_TEXT, DriverReports, category_choices, parse_report
from ...errors import Forbidden, RateLimited
from ...maps import label
from ...messages import Message
from ...model import AMENITIES
from ...params import parse_crs, reject_unknown
from .. import state
from ..auth import limiter
from ..bodies import read_json_object
from ..errors import respond_error
from ..urls import site_url

bp = Blueprint("api_reports", __name__, url_prefix="/api/v1")

#: A report is a few hundred bytes; 8 KB holds 500 Chinese characters with room to spare.
REPORT_BODY_LIMIT = 8 * 1024
CLIENT_SCOPE = "report-client"
FACILITY_SCOPE = "report-facility"


def _client() -> str:
    return get_remote_address() or "unknown"


def _client_key() -> str:
    return f"report:{_client()}"


def _facility_key() -> str:
    facility_id = (request.view_args or {}).get("facility_id", "")
    return "report-facility:" + hashlib.sha256(facility_id.encode("utf-8")).hexdigest()[:32]


def _stored(response) -> bool:
    """Only reports actually stored count against a facility's limit."""
    return bool(g.get("report_stored"))


def driver_reports() -> DriverReports:
    """The drivers' reports of the app's storage, hashed with the app's secret key."""
    app_state = state()
    return DriverReports(app_state.storage, app_state.clock, current_app.config["SECRET_KEY"])


def form_config(lang: str) -> dict:
    """What the report form of a page needs (``report.js``): the endpoint, the
    categories and amenities in ``lang``, and its texts in the page's language."""
    return {
        "url": url_for("api_reports.create_report", facility_id="__ID__"),
        "categories": category_choices(lang),
        "amenities": [[key, label(AMENITIES, key, lang)] for key in AMENITIES],
        "honeypot": HONEYPOT,
        "maxText": MAX_TEXT,
        "text": {
            "open": _("Report a problem"),
            "title": _("Report a problem with this station"),
            "question": _("What is wrong?"),
            "send": _("Send"),
            "cancel": _("Cancel"),
            "sending": _("Sending…"),
            "received": _("Received, thank you"),
            "failed": _("Could not send: check your connection and try again."),
            "limited": _("Too many reports were sent from here; try again later."),
            "gone": _("This station is no longer listed."),
            "invalid": _("The report was not accepted; check what you entered."),
            "chooseFirst": _("Choose what is wrong first."),
            "hints": {
                "text": _("Details (optional)"),
                "hours_wrong": _("The right opening hours (optional)"),
                "phone_wrong": _("The right phone number (optional)"),
                "other": _("What is wrong? (required)"),
            },
            "textMissing": _("Say what is wrong."),
            "amenityHint": _("Which amenity?"),
            "amenityMissing": _("Choose the amenity."),
            "pinHintMap": _("Tap the map where the station really is."),
            "pinHintHere": _("Stand where the station really is and use your position."),
            "pinSet": _("Pin set:"),
            "pinMissing": _("Set the pin first."),
            "useMyPosition": _("Use my position"),
            "locating": _("Finding your position…"),
            "noPosition": _("Your position is not available right now."),
        },
    }


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def _same_origin() -> None:
    """403 for a browser request from another site's page (its ``Origin`` or
    ``Sec-Fetch-Site`` says so); requests without them (apps, scripts) pass."""
    origin = request.headers.get("Origin")
    ours = {_origin(request.host_url), _origin(site_url())}
    foreign = origin is not None and origin.strip().lower() not in ours
    if foreign or request.headers.get("Sec-Fetch-Site") == "cross-site":
        raise Forbidden("reports are accepted from this site's pages only", field="Origin")


@bp.post("/facilities/<path:facility_id>/reports")
@limiter.limit(lambda: state().settings.report_limit, key_func=_client_key, scope=CLIENT_SCOPE)
@limiter.limit(
    lambda: state().settings.report_facility_limit,
    key_func=_facility_key,
    scope=FACILITY_SCOPE,
    deduct_when=_stored,
)
def create_report(facility_id: str):
    """A driver's report about a facility (201 with its id and a received message)."""
    _same_origin()
    reject_unknown(request.args, {"crs"})
    crs = parse_crs(request.args)
    body = read_json_object(
        REPORT_BODY_LIMIT, example='{"category": "hours_wrong", "text": "每天8:00-20:00"}'
    )
    facility = state().catalog.current().get(facility_id)
    reports = driver_reports()
    honeypot = body.get(HONEYPOT)
    if honeypot not in (None, ""):
        submitted = reports.submit(facility, None, client=_client(), honeypot=honeypot)
    else:
        values = parse_report(body, crs=crs, facility=facility)
        submitted = reports.submit(facility, values, client=_client())
        g.report_stored = True
    received = Message("report_received")
    answer = {
        "id": submitted.report.id if submitted.report else None,
        "status": "received",
        "message": str(received),
        "message_zh": received.translated("zh"),
    }
    response = current_app.json.response(answer)
    response.status_code = 201
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.errorhandler(RateLimitExceeded)
def too_many(exc: RateLimitExceeded):
    """429 in the JSON error shape, saying which limit was reached."""
    settings = state().settings
    if exc.limit.scope == FACILITY_SCOPE:
        message = Message("report_rate_facility", limit=settings.report_facility_limit)
    else:
        message = Message("report_rate_client", limit=settings.report_limit)
    return respond_error(RateLimited(message))
