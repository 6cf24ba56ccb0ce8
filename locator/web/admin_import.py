"""``/admin/import``: a union's list uploaded, compared with what is stored, confirmed.

1. ``GET /admin/import``: the upload form; ``POST`` reads the file (the import's
   readers, limits and row-by-row report), keeps it for its owner
   (:mod:`locator.uploads`) and goes to the comparison.
2. ``GET /admin/import/<token>``: new, changed (field by field), unchanged, likely
   duplicates and the stations missing from the file, each with its proposed action;
   ``…/comparison.xlsx`` downloads it.
3. ``POST /admin/import/<token>/apply``: writes what the user chose, all or nothing, as
   the user (``user:<name> (import:<file>)`` in the history). If the stored stations
   changed since the comparison was shown, nothing is written and the fresh
   comparison is shown instead (409).
"""

from __future__ import annotations

import functools
import os
from io import BytesIO

from flask import Blueprint, redirect, render_template, request, url_for

from ..accounts import User
from ..clock import local_now
from ..errors import Conflict, InvalidParameter, LocatorError, NotFound, ValidationFailed
from ..export import MEDIA_TYPES, table_bytes
from ..ingest import FIELDS, SUPPORTED_EXTENSIONS, ImportReport, map_columns, read_table
from ..ingest.columns import FIELD_LABELS_ZH
from ..messages import Message
from ..model import KINDS
from ..sync import (
    ACTION_LABELS,
    COMPARISON_COLUMNS,
    STATUS_LABELS,
    Comparison,
    apply_sync,
    compare_file,
    comparison_table,
    describe_change,
    describe_reason,
    label,
)
from . import state
from .admin import CRS_CHOICES, _units
from .auth import current_user, signed_in
from .i18n import current_lang
from .planner import attachment

bp = Blueprint("admin_import", __name__, url_prefix="/admin")

#: The options of an upload, as the form names them.
_OPTIONS = ("kind", "crs", "source", "scope", "sheet")


def _can_write(user: User) -> bool:
    return user.can_write


def _options(form) -> dict[str, str]:
    values = {name: (form.get(name) or "").strip()[:120] for name in _OPTIONS}
    if values["crs"] not in CRS_CHOICES:
        values["crs"] = "wgs84"
    return values


def _compare(data: bytes, filename: str, options: dict) -> Comparison:
    """The comparison of an upload, as the signed-in account may apply it."""
    return compare_file(
        state().storage,
        BytesIO(data),
        filename=filename,
        sheet=options.get("sheet") or None,
        mapping=options.get("mapping") or None,
        editor=current_user(),
        scope=[options["scope"]] if options.get("scope") else None,
        kind=options.get("kind") or None,
        crs=options.get("crs") or "wgs84",
        source=options.get("source") or os.path.splitext(os.path.basename(filename))[0],
    )


def _scopes(user: User) -> list:
    """Areas the account may compare: its own, or (admins) every city and county."""
    units = _units()
    if user.role == "admin":
        return sorted(units.values(), key=lambda u: u.code)
    return [units[code] for code in user.areas if code in units]


def _form_page(options=None, error=None, report=None, status=200):
    return (
        render_template(
            "admin/import.html",
            stage="upload",
            options=options or {"crs": "wgs84"},
            error=error,
            report=report,
            kinds=[(k, label(KINDS, k, current_lang())) for k in KINDS],
            crs_choices=CRS_CHOICES,
            scopes=_scopes(current_user()),
            extensions=", ".join(sorted(SUPPORTED_EXTENSIONS)),
        ),
        status,
    )


def _with_upload(view):
    """A view of one kept upload (the signed-in account's own); an upload no longer
    kept, or another account's, is answered on the upload form (404)."""

    @functools.wraps(view)
    def wrapper(token: str):
        try:
            upload = state().uploads.get(token, current_user().name)
        except NotFound as exc:
            return _form_page(error=exc, status=404)
        return view(token, upload)

    return wrapper


@bp.route("/import", methods=["GET", "POST"])
@signed_in(_can_write)
def upload():
    """The upload form; a posted file is compared, kept, and its comparison shown."""
    if request.method == "GET":
        return _form_page()
    options = _options(request.form)
    sent = request.files.get("file")
    if sent is None or not sent.filename:
        return _form_page(
            options, InvalidParameter(Message("upload_missing"), field="file"), status=400
        )
    data, filename = sent.read(), os.path.basename(sent.filename)
    try:
        _compare(data, filename, options)
    except ValidationFailed as exc:
        report = ImportReport.from_dict(exc.details) if isinstance(exc.details, dict) else None
        if report is not None and _columns_missing(report):
            token = state().uploads.put(current_user().name, filename, data, options)
            return redirect(url_for("admin_import.mapping", token=token))
        return _form_page(options, exc, report, status=exc.status)
    except LocatorError as exc:
        return _form_page(options, exc, status=exc.status)
    token = state().uploads.put(current_user().name, filename, data, options)
    return redirect(url_for("admin_import.comparison", token=token))


def _columns_missing(report: ImportReport) -> bool:
    """Whether the file was refused for a column we could not find (a mapping helps)."""
    return any(e.row is None and e.field in MAPPABLE for e in report.errors)


#: The fields a user may point at a column of the file, in the order the form lists them.
MAPPABLE = tuple(f for f in FIELDS if f not in ("id", "source", "source_id"))


@bp.route("/import/<token>/mapping", methods=["GET", "POST"])
@signed_in(_can_write)
@_with_upload
def mapping(token: str, upload):
    """The step for files whose headers we do not know: which column is which field."""
    headers = read_table(
        BytesIO(upload.data), filename=upload.filename, sheet=upload.options.get("sheet") or None
    ).headers
    chosen = dict(upload.options.get("mapping") or {})
    error, report = None, None
    if request.method == "POST":
        chosen = {
            name: request.form[f"map-{name}"]
            for name in MAPPABLE
            if request.form.get(f"map-{name}") in headers
        }
        options = {**upload.options, "mapping": chosen}
        try:
            _compare(upload.data, upload.filename, options)
        except ValidationFailed as exc:
            error = exc
            if isinstance(exc.details, dict):
                report = ImportReport.from_dict(exc.details)
        except LocatorError as exc:
            error = exc
        else:
            state().uploads.discard(token)
            fresh = state().uploads.put(current_user().name, upload.filename, upload.data, options)
            return redirect(url_for("admin_import.comparison", token=fresh))
    else:
        automatic = map_columns(headers).fields
        chosen = {**{k: v for k, v in automatic.items() if k in MAPPABLE}, **chosen}
    lang = current_lang()
    return (
        render_template(
            "admin/import.html",
            stage="mapping",
            token=token,
            upload=upload,
            headers=headers,
            chosen=chosen,
            fields=[
                (name, FIELD_LABELS_ZH.get(name, name) if lang == "zh" else name)
                for name in MAPPABLE
            ],
            error=error,
            report=report,
        ),
        error.status if error else 200,
    )


def _comparison_page(token, upload, comparison, *, error=None, status=200):
    lang = current_lang()
    return (
        render_template(
            "admin/import.html",
            stage="compare",
            token=token,
            upload=upload,
            comparison=comparison,
            counts=comparison.counts(),
            status_labels={k: v[lang] for k, v in STATUS_LABELS.items()},
            action_labels={k: v[lang] for k, v in ACTION_LABELS.items()},
            kind_label=lambda key: label(KINDS, key, lang),
            describe_change=lambda change: describe_change(change, lang),
            describe_reason=lambda match: describe_reason(match, lang),
            units=_units(),
            error=error,
        ),
        status,
    )


@bp.get("/import/<token>")
@signed_in(_can_write)
@_with_upload
def comparison(token: str, upload):
    return _comparison_page(token, upload, _compare(upload.data, upload.filename, upload.options))


@bp.get("/import/<token>/comparison.xlsx")
@signed_in(_can_write)
@_with_upload
def comparison_download(token: str, upload):
    found = _compare(upload.data, upload.filename, upload.options)
    names, cells = comparison_table(found, current_lang())
    data = table_bytes("xlsx", [k for k, _zh in COMPARISON_COLUMNS], names, cells, sheet="比对")
    stamp = local_now(state().clock).strftime("%Y%m%d")
    return attachment(
        data, MEDIA_TYPES["xlsx"], (f"comparison-{stamp}.xlsx", f"比对结果_{stamp}.xlsx")
    )


def _chosen_actions(form, comparison: Comparison) -> dict[int, str]:
    return {m.row: form[f"action-{m.row}"] for m in comparison.rows if form.get(f"action-{m.row}")}


@bp.post("/import/<token>/apply")
@signed_in(_can_write)
@_with_upload
def apply(token: str, upload):
    """Write what the user chose; a comparison that changed meanwhile writes nothing."""
    found = _compare(upload.data, upload.filename, upload.options)
    if request.form.get("fingerprint") != found.fingerprint():
        return _comparison_page(
            token, upload, found, error=Conflict(Message("sync_changed_meanwhile")), status=409
        )
    user = current_user()
    try:
        result = apply_sync(
            state().storage,
            found,
            actions=_chosen_actions(request.form, found),
            close=request.form.getlist("close"),
            actor=f"user:{user.name} (import:{upload.filename})",
            editor=user,
        )
    except Conflict:
        fresh = _compare(upload.data, upload.filename, upload.options)
        return _comparison_page(
            token, upload, fresh, error=Conflict(Message("sync_changed_meanwhile")), status=409
        )
    except ValidationFailed as exc:
        return _comparison_page(token, upload, found, error=exc, status=exc.status)
    state().uploads.discard(token)
    return render_template(
        "admin/import.html",
        stage="done",
        upload=upload,
        result=result,
        counts=result.counts(),
        actor=f"user:{user.name} (import:{upload.filename})",
    )
