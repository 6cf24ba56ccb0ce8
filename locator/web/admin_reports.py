"""``/admin/reports``: the drivers' reports (纠错) waiting for the editors of their areas.

- ``GET /admin/reports[?status=pending|accepted|rejected|all]``: the reports an account
  sees (editors: their areas; viewers, read-only, and admins: all), newest first and
  grouped per facility, beside the facility's recent history.
- ``POST /admin/reports/<id>/accept``: applies the report through the audited edit path
  (:meth:`locator.driver_reports.DriverReports.accept`) at the version the page showed,
  with the fields its category concerns prefilled from the report; ``verified_on``
  becomes today.
- ``POST /admin/reports/<id>/reject``: records why (required).

Both are CSRF-protected forms (:mod:`.auth`); a refused one shows the queue again with
the reason beside the report (403 outside one's areas, 409 when the facility or the
report changed meanwhile, 422 for a bad value).
"""

from __future__ import annotations

from flask import Blueprint, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _

from ..accounts import User
from ..config import tile_layers
from ..driver_reports import (
    ACCEPT_INPUTS,
    CATEGORIES,
    REVIEW_STATES,
    accept_defaults,
    amenity_label,
)
from ..errors import Conflict, LocatorError, NotFound, ValidationFailed
from ..hours import SHANGHAI
from ..maps import label
from ..model import STATUSES
from ..params import parse_int
from . import state
from .api.reports import driver_reports
from .auth import current_user, signed_in
from .i18n import current_lang
from .pages import driver_csp

bp = Blueprint("admin_reports", __name__, url_prefix="/admin")

#: The queue's status filter: a review state, or ``all``.
STATUS_FILTERS = (*REVIEW_STATES, "all")


def _can_write(user: User) -> bool:
    return user.can_write


def _local(at):
    """A stored UTC time as Shanghai wall-clock text."""
    return at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") if at else ""


def _queue_page(
    *,
    error: LocatorError | None = None,
    error_report: int | None = None,
    error_form: str = "",
    typed=None,
):
    """The queue; after a refused form, with the reason beside its report."""
    status = request.args.get("status", "pending")
    if status not in STATUS_FILTERS:
        status = "pending"
    user = current_user()
    groups = driver_reports().queue(user, status=None if status == "all" else status)
    lang = current_lang()
    # a refused form's report may be out of the list shown (reviewed meanwhile): then the
    # reason goes on top of the page
    shown_ids = {r.id for group in groups for r in group.reports}
    response = make_response(
        render_template(
            "admin/reports.html",
            groups=groups,
            status=status,
            statuses=[
                (key, REVIEW_STATES[key][lang] if key in REVIEW_STATES else _("All"))
                for key in STATUS_FILTERS
            ],
            categories={key: labels[lang] for key, labels in CATEGORIES.items()},
            review_states={key: labels[lang] for key, labels in REVIEW_STATES.items()},
            facility_statuses={key: label(STATUSES, key, lang) for key in STATUSES},
            inputs=ACCEPT_INPUTS,
            defaults=accept_defaults,
            amenity_label=lambda key: amenity_label(key, lang),
            local=_local,
            today=state().clock().astimezone(SHANGHAI).date(),
            error=error,
            error_message=error.message_in(lang) if error is not None else None,
            error_report=error_report if error_report in shown_ids else None,
            error_form=error_form,
            typed=typed or {},
            done=request.args.get("done"),
        ),
        error.status if error is not None else 200,
    )
    # No script at all on this page: the drivers' words are shown as text only.
    response.headers["Content-Security-Policy"] = driver_csp(
        tile_layers(state().settings.tile_provider())
    )
    return response


@bp.get("/reports")
@signed_in()
def reports():
    """The queue of drivers' reports of the account's areas, grouped per facility."""
    return _queue_page()


def _done(report_id: int, what: str):
    return redirect(url_for("admin_reports.reports", done=what, report=report_id))


@bp.post("/reports/<int:report_id>/accept")
@signed_in(_can_write)
def accept(report_id: int):
    """Apply a report to its facility (an audited edit naming the report)."""
    user = current_user()
    values = {k: v for k, v in request.form.items() if k != "csrf_token"}
    try:
        driver_reports().accept(
            user,
            report_id,
            values,
            expected_version=parse_int(request.form, "version", 0, 0, 10**9),
        )
    except (Conflict, NotFound, ValidationFailed) as exc:
        return _queue_page(error=exc, error_report=report_id, error_form="accept", typed=values)
    return _done(report_id, "accepted")


@bp.post("/reports/<int:report_id>/reject")
@signed_in(_can_write)
def reject(report_id: int):
    """Reject a report, saying why."""
    try:
        driver_reports().reject(current_user(), report_id, request.form.get("review_note"))
    except (Conflict, NotFound, ValidationFailed) as exc:
        return _queue_page(error=exc, error_report=report_id, error_form="reject")
    return _done(report_id, "rejected")
