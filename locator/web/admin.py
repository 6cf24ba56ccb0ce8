"""The pages where union staff keep the stations: ``/admin``.

Editors see and change the facilities of their areas; viewers see everything and change
nothing; admins also manage the accounts. Every form carries a CSRF token (checked by
:mod:`.auth`), every change goes through :class:`locator.editing.Editing` (the import's
validation, area checks, optimistic locking) and is recorded with who made it.
"""

from __future__ import annotations

import functools

from flask import (
    Blueprint,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _

from ..accounts import ROLES, User
from ..audit import ACTIONS, AUDIT_COLUMNS, AuditQuery, audit_log, audit_table, parse_day
from ..clock import local_now, local_today
from ..config import tile_layers
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
    Unauthorized,
    ValidationFailed,
)
from ..export import MEDIA_TYPES, table_bytes
from ..freshness import stale_label, staleness
from ..hours import OPEN_STATE_LABELS, SHANGHAI, preview_hours
from ..maps import ANHUI_BOUNDS, OSM_ATTRIBUTION, label
from ..messages import Message
from ..model import AMENITIES, KINDS, MAX_LENGTHS, PARKING_FEES, STATUSES, TIERS
from ..params import parse_int, parse_point, reject_unknown
from . import state
from .auth import accounts, current_user, signed_in
from .errors import answers_json
from .i18n import current_lang
from .pages import driver_csp
from .planner import attachment

bp = Blueprint("admin", __name__, url_prefix="/admin")

#: Form inputs that are text (empty means "not given"); ``verified_on`` is set by the
#: "still correct" button only.
_TEXT_INPUTS = [f for f in EDITABLE_FIELDS if f not in ("amenities", "verified_on")]
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
        "parking_fees": [(k, label(PARKING_FEES, k, lang)) for k in PARKING_FEES],
        "tiers": [(k, label(TIERS, k, lang)) for k in TIERS],
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
    settings = state().settings
    today = local_today(state().clock)

    def stale(f) -> str | None:
        return staleness(f, today, settings.stale_days, settings.stale_hours_days)

    facilities = state().catalog.current().facilities
    if args.get("stale") == "1":
        facilities = [f for f in facilities if stale(f)]
    found = listing(
        facilities,
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
        stale=stale,
        stale_label=lambda reason: stale_label(
            reason, current_lang(), settings.stale_days, settings.stale_hours_days
        ),
        **_vocabularies(),
    )


def _form_page(facility, values, *, error=None, conflict=None, status=200):
    """The facility form with its map picker (in the datum of the app's tiles), the
    place line and the hours preview, under the driver pages' policy (scripts and styles
    of this site, images from the tile servers)."""
    tiles = tile_layers(state().settings.tile_provider())
    point = _typed_point(values)
    picker = {
        "lang": current_lang(),
        "tiles": tiles,
        "attribution": OSM_ATTRIBUTION,
        "point": point,
        "bounds": _start_bounds(current_user()),
        "api": {"place": url_for("admin.place"), "hours": url_for("admin.hours_preview")},
        "text": {
            "marker": _("The facility's location: drag to move it"),
            "looking": _("Looking up the place…"),
            "failed": _("Could not check this: check your connection."),
            "tilesUnavailable": _(
                "Map tiles unavailable: click to set the point anyway, or type the coordinates."
            ),
        },
    }
    response = make_response(
        render_template(
            "admin/facility_form.html",
            facility=facility,
            values=values,
            error=error,
            conflict=conflict,
            picker=picker,
            place=_place_answer(*point) if point else None,
            hours_preview=_hours_answer(values.get("hours")),
            **_vocabularies(),
        ),
        status,
    )
    response.headers["Content-Security-Policy"] = driver_csp(tiles)
    return response


def _typed_point(values) -> list[float] | None:
    """The form's point in WGS-84 (its ``lon``/``lat`` in its ``crs``), or None."""
    try:
        lon, lat = parse_point(
            {k: str(values[k]) for k in ("lon", "lat", "crs") if values.get(k) is not None}
        )
    except InvalidParameter:
        return None
    return [float(lon), float(lat)]


def _start_bounds(user: User) -> list[list[float]]:
    """Where the map of a new facility starts: the editor's areas, else Anhui
    (``[[south, west], [north, east]]``, WGS-84)."""
    areas = set(user.areas) if user.role == "editor" else set()
    units = state().storage.admin_index().units  # cached per admin version
    shapes = [units[c].geometry for c in areas if c in units and units[c].geometry is not None]
    if not shapes:
        return ANHUI_BOUNDS
    boxes = [g.bounds for g in shapes]
    west, south = min(b[0] for b in boxes), min(b[1] for b in boxes)
    east, north = max(b[2] for b in boxes), max(b[3] for b in boxes)
    return [[south, west], [north, east]]


def _place_answer(lon: float, lat: float) -> dict:
    """Where a WGS-84 point falls, for the form's place line: city, county, township and
    whether the signed-in account may save a facility there, said in the page's language."""
    user = current_user()
    found = _editing().locate(user, lon, lat)
    units = found.units
    levels = ("city", "county", "township")
    if units["city"] is None and units["county"] is None:
        note = _("Outside every loaded city: check the coordinates and their datum.")
    elif not user.can_write:
        note = _("Your account may not change facilities.")
    elif found.editable:
        note = _("Inside the areas you may edit.")
    else:
        note = _("Outside the areas you may edit: saving will be refused.")
    names = [units[level] for level in levels if units[level]]
    return {
        "lon": lon,
        "lat": lat,
        "crs": "wgs84",
        **{
            level: {"name": units[level], "code": units[f"{level}_code"]} if units[level] else None
            for level in levels
        },
        "inside": found.editable and user.can_write,
        "text": " ".join([*names, "·", note]) if names else note,
    }


def _hours_answer(hours: str | None) -> dict:
    """The hours preview at the app's clock, in the page's language."""
    lang = current_lang()
    preview = preview_hours(hours, state().clock())
    change = preview.next_change
    return {
        "state": preview.state,
        "label": OPEN_STATE_LABELS[preview.state][lang],
        "readable": preview.readable,
        "normalized": preview.normalized,
        "next_change": change.replace(tzinfo=SHANGHAI).isoformat() if change else None,
        "text": preview.message(hours).translated(lang),
    }


def _signed_in_json(view):
    """A JSON view for signed-in accounts; others get 401 in the JSON error shape (a
    page's script cannot follow the redirect to the sign-in page)."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        if current_user() is None:
            raise Unauthorized(_("Sign in first."))
        return view(*args, **kwargs)

    return answers_json(wrapper)


def _json_answer(body: dict):
    response = jsonify(body)
    response.headers["Cache-Control"] = "no-store"  # per account, and "now" moves on
    return response


def _in_page_language(exc: InvalidParameter) -> InvalidParameter:
    """``exc`` with its message in the page's language (the form shows it as it is)."""
    return InvalidParameter(exc.message_in(current_lang()), field=exc.field)


@bp.get("/place")
@_signed_in_json
def place():
    """``?lon=..&lat=..&crs=..``: the city, county and township of a point and whether
    it lies in the account's areas (the form's place line, before saving)."""
    try:
        reject_unknown(request.args, {"lon", "lat", "crs", "lang"})
        lon, lat = parse_point(request.args)
    except InvalidParameter as exc:
        raise _in_page_language(exc) from None
    return _json_answer(_place_answer(float(lon), float(lat)))


@bp.get("/hours-preview")
@_signed_in_json
def hours_preview():
    """``?hours=..``: open now, opens at, closed or unknown at the app's clock, and
    whether the hours can be read (the form's live preview)."""
    limit = MAX_LENGTHS["hours"]
    try:
        reject_unknown(request.args, {"hours", "lang"})
        hours = request.args.get("hours", "").strip()  # as the form stores it
        if len(hours) > limit:
            raise InvalidParameter(
                Message("too_long_text", name="hours", limit=limit), field="hours"
            )
    except InvalidParameter as exc:
        raise _in_page_language(exc) from None
    return _json_answer(_hours_answer(hours))


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


@bp.post("/facilities/<path:facility_id>/verify")
@signed_in(_can_write)
def verify_facility(facility_id: str):
    """The "still correct" button: ``verified_on`` becomes today (Asia/Shanghai), an
    audited edit at the version the form showed (409 on the form when someone saved it
    since)."""
    user = current_user()
    expected = parse_int(request.form, "version", 0, 0, 10**9)
    try:
        edited = _editing().verify(user, facility_id, expected_version=expected, actor=_actor(user))
    except Conflict:
        stored = state().storage.get_facility(facility_id)
        stale = Conflict(Message("verify_stale"), field="version")
        values = {**editable_values(stored), "crs": "wgs84"}
        return _form_page(stored, values, error=stale, status=409)
    return redirect(url_for("admin.facility", facility_id=edited.facility.id, verified=1))


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
