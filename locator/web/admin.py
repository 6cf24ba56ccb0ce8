"""The pages where union staff keep the stations: ``/admin``.

Editors see and change the facilities of their areas; viewers see everything and change
nothing; admins also manage the accounts. Every form carries a CSRF token (checked by
:mod:`.auth`), every change goes through :class:`locator.editing.Editing` (the import's
validation, area checks, optimistic locking) and is recorded with who made it.
"""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from flask_babel import gettext as _

from ..accounts import ROLES, User
from ..audit import ACTIONS, AUDIT_COLUMNS, AuditQuery, audit_log, audit_table, parse_day
from ..clock import local_now
from ..editing import (
    EDITABLE_FIELDS,
    MISSING_FIELDS,
    SORTS,
    Editing,
    editable_values,
    listing,
    version_changes,
)
from ..errors import (
    Conflict,
    Forbidden,
    InvalidParameter,
    LocatorError,
    NotFound,
    ValidationFailed,
)
from ..export import MEDIA_TYPES, table_bytes
from ..hours import OPEN_STATE_LABELS, open_state
from ..maps import label
from ..model import AMENITIES, KINDS, STATUSES
from ..params import parse_int
from . import state
from .auth import accounts, current_user, signed_in
from .i18n import current_lang
from .planner import attachment

bp = Blueprint("admin", __name__, url_prefix="/admin")

#: Form inputs that are text (empty means "not given").
_TEXT_INPUTS = [f for f in EDITABLE_FIELDS if f != "amenities"]
CRS_CHOICES = ("wgs84", "gcj02", "bd09")


def _can_write(user: User) -> bool:
    return user.can_write


def _can_manage(user: User) -> bool:
    return user.can_manage_users


def _form_values() -> dict:
    """The facility fields of the submitted form (empty inputs are not given)."""
    values = {name: request.form.get(name, "").strip() or None for name in _TEXT_INPUTS}
    values["amenities"] = request.form.getlist("amenities")
    return values


def _actor(user: User) -> str:
    return f"user:{user.name}"


def _editing() -> Editing:
    return Editing(state().storage)


def _units():
    """Cities and counties by code (names for the area lists and filters)."""
    return {u.code: u for u in state().storage.admin_units() if u.level in ("city", "county")}


def _vocabularies() -> dict:
    lang = current_lang()
    return {
        "kinds": [(k, label(KINDS, k, lang)) for k in KINDS],
        "statuses": [(k, label(STATUSES, k, lang)) for k in STATUSES],
        "amenities": [(k, label(AMENITIES, k, lang)) for k in AMENITIES],
        "crs_choices": CRS_CHOICES,
    }


@bp.get("/")
@signed_in()
def index():
    return redirect(url_for("admin.facilities"))


@bp.get("/facilities")
@signed_in()
def facilities():
    """The facility list of the account's areas, searchable, filtered, sorted, paged."""
    args = request.args
    found = listing(
        state().catalog.current().facilities,
        current_user(),
        q=args.get("q", "")[:100],
        kind=args.get("kind", ""),
        status=args.get("status", ""),
        county=args.get("county", ""),
        missing=args.get("missing", "") if args.get("missing") in MISSING_FIELDS else "",
        sort=args.get("sort", "name"),
        page=parse_int(args, "page", 1, 1, 100_000),
    )
    counties = sorted((u for u in _units().values() if u.level == "county"), key=lambda u: u.code)
    return render_template(
        "admin/facilities.html",
        listing=found,
        args=args,
        counties=counties,
        sorts=list(SORTS),
        missing_fields=MISSING_FIELDS,
        **_vocabularies(),
    )


def _form_page(facility, values, *, error=None, conflict=None, status=200):
    lang = current_lang()
    preview = None
    if facility is not None and facility.hours:
        preview = label(OPEN_STATE_LABELS, open_state(facility, state().clock()), lang)
    return (
        render_template(
            "admin/facility_form.html",
            facility=facility,
            values=values,
            error=error,
            conflict=conflict,
            hours_preview=preview,
            **_vocabularies(),
        ),
        status,
    )


@bp.route("/facilities/new", methods=["GET", "POST"])
@signed_in(_can_write)
def new_facility():
    """A form for a new facility; saving adds it inside the editor's areas."""
    if request.method == "GET":
        return _form_page(None, {"crs": "wgs84", "status": "open", "amenities": []})
    values = _form_values()
    try:
        edited = _editing().create(
            current_user(),
            values,
            crs=request.form.get("crs", "wgs84"),
            actor=_actor(current_user()),
        )
    except (InvalidParameter, ValidationFailed, Forbidden) as exc:  # shown on the form
        return _form_page(
            None, {**values, "crs": request.form.get("crs")}, error=exc, status=exc.status
        )
    return redirect(url_for("admin.facility", facility_id=edited.facility.id, saved=1))


@bp.route("/facilities/<path:facility_id>", methods=["GET", "POST"])
@signed_in()
def facility(facility_id: str):
    """One facility's form; saving writes the changes (409 with both versions when
    someone saved it since the form was opened)."""
    stored = state().storage.get_facility(facility_id)
    if request.method == "GET":
        return _form_page(stored, {**editable_values(stored), "crs": "wgs84"})
    user = current_user()
    if not user.can_write:
        raise Forbidden(_("Your account may not do this."))
    values = _form_values()
    crs = request.form.get("crs", "wgs84")
    expected = parse_int(request.form, "version", 0, 0, 10**9)
    try:
        edited = _editing().update(
            user, facility_id, values, expected_version=expected, crs=crs, actor=_actor(user)
        )
    except Conflict:
        return _form_page(
            stored,
            {**values, "crs": crs},
            conflict={"yours": values, "stored": editable_values(stored)},
            status=409,
        )
    except (InvalidParameter, ValidationFailed) as exc:
        return _form_page(stored, {**values, "crs": crs}, error=exc, status=exc.status)
    return redirect(url_for("admin.facility", facility_id=edited.facility.id, saved=1))


@bp.post("/facilities/<path:facility_id>/delete")
@signed_in(_can_write)
def delete_facility(facility_id: str):
    user = current_user()
    expected = parse_int(request.form, "version", 0, 0, 10**9)
    _editing().delete(user, facility_id, expected_version=expected, actor=_actor(user))
    return redirect(url_for("admin.facilities"))


@bp.get("/facilities/<path:facility_id>/history")
@signed_in()
def history(facility_id: str):
    """Every version of a facility with what changed, and a way back to each."""
    entries = state().storage.history(facility_id)
    if not entries:
        raise NotFound(_("This facility has no history."), field="id")
    try:
        current_version = state().storage.get_facility(facility_id).version
    except NotFound:
        current_version = 0  # deleted: a revert brings it back
    return render_template(
        "admin/history.html",
        facility_id=facility_id,
        entries=entries,
        changes=version_changes(entries),
        latest=current_version,
        current_version=current_version,
    )


@bp.post("/facilities/<path:facility_id>/revert")
@signed_in(_can_write)
def revert(facility_id: str):
    user = current_user()
    edited = _editing().revert(
        user,
        facility_id,
        parse_int(request.form, "to_version", 0, 1, 10**9),
        expected_version=parse_int(request.form, "version", 0, 0, 10**9),
        actor=_actor(user),
    )
    return redirect(url_for("admin.history", facility_id=edited.facility.id))


#: Rows the audit page shows at once (the download has them all).
AUDIT_PAGE_ROWS = 500


@bp.get("/audit")
@bp.get("/audit.<fmt>")
@signed_in()
def audit(fmt: str = ""):
    """Every change, filterable by who, area, kind and dates; ``.csv`` / ``.xlsx`` download.

    Editors see the changes of their areas, viewers and admins all of them.
    """
    args = request.args
    query = AuditQuery(
        actor=args.get("actor", "").strip()[:100],
        area=args.get("area", "").strip(),
        action=args.get("action", "").strip(),
        since=parse_day(args.get("since"), "since"),
        until=parse_day(args.get("until"), "until"),
    )
    user = current_user()
    rows = audit_log(state().storage.history(), query)
    if user.role == "editor":
        rows = [r for r in rows if user.can_edit_area((r.county_code, r.city_code))]
    if fmt:
        if fmt not in ("csv", "xlsx"):
            raise NotFound(_("No such download."), field="format")
        lang = current_lang()
        names, cells = audit_table(rows, lang)
        data = table_bytes(fmt, [key for key, _zh in AUDIT_COLUMNS], names, cells, sheet="修改记录")
        stamp = local_now(state().clock).strftime("%Y%m%d")
        return attachment(
            data, MEDIA_TYPES[fmt], (f"audit-{stamp}.{fmt}", f"修改记录_{stamp}.{fmt}")
        )
    return render_template(
        "admin/audit.html",
        rows=rows[:AUDIT_PAGE_ROWS],
        total=len(rows),
        args=args,
        actions=ACTIONS,
        units=_units(),
    )


@bp.route("/users", methods=["GET", "POST"])
@signed_in(_can_manage)
def users():
    """The accounts (admins only): add one, change a role or areas, disable."""
    error = None
    if request.method == "POST":
        action = request.form.get("action", "add")
        name = request.form.get("name", "").strip()
        areas = [
            a for a in request.form.get("areas", "").replace("，", ",").split(",") if a.strip()
        ]
        actor = _actor(current_user())
        try:
            if action == "add":
                accounts().add(
                    name,
                    request.form.get("role", ""),
                    [a.strip() for a in areas],
                    request.form.get("password", ""),
                    actor=actor,
                )
            elif action == "role":
                accounts().set_role(
                    name, request.form.get("role", ""), [a.strip() for a in areas], actor=actor
                )
            elif action == "disable":
                accounts().disable(name, actor=actor)
            elif action == "enable":
                accounts().enable(name, actor=actor)
            else:
                raise InvalidParameter("unknown action", field="action")
        except LocatorError as exc:
            error = exc
        else:
            return redirect(url_for("admin.users"))
    return (
        render_template(
            "admin/users.html",
            users=accounts().list(),
            roles=ROLES,
            units=_units(),
            error=error,
        ),
        error.status if error else 200,
    )
