"""The write API: ``POST /api/v1/facilities``, ``PATCH`` and ``DELETE
/api/v1/facilities/{id}``.

A personal token (``Authorization: Bearer``) says who writes; its owner's areas say
where. ``PATCH`` and ``DELETE`` need ``If-Match`` with the version read (the
``version`` property or the ``ETag`` of these answers): 428 without it, 412 when the
facility changed since. Bodies are a JSON object of fields or a GeoJSON Feature with a
Point; ``crs=gcj02|bd09`` gives the datum of the coordinates sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Blueprint, current_app, request, url_for

from ...editing import Editing
from ...errors import Conflict, InvalidParameter, PreconditionFailed, PreconditionRequired
from ...messages import Message
from ...model import Facility
from ...params import parse_crs, reject_unknown
from .. import state
from ..auth import token_user
from ..bodies import read_json_object
from ..urls import absolute
from .facilities import GEOJSON

bp = Blueprint("api_writes", __name__, url_prefix="/api/v1")


def _values(body: Mapping[str, Any]) -> dict[str, Any]:
    """Fields from a flat object or a GeoJSON Feature (its Point gives lon and lat)."""
    if body.get("type") != "Feature":
        return dict(body)
    reject_unknown(body, {"type", "geometry", "properties", "id"}, what="field")
    values = dict(body.get("properties") or {})
    geometry = body.get("geometry")
    if geometry is not None:
        coordinates = geometry.get("coordinates") if isinstance(geometry, Mapping) else None
        if (
            not isinstance(geometry, Mapping)
            or geometry.get("type") != "Point"
            or not isinstance(coordinates, list)
            or len(coordinates) != 2
        ):
            raise InvalidParameter(Message("point_geometry"), field="geometry")
        values["lon"], values["lat"] = coordinates
    return values


#: A facility is a few hundred bytes; 64 KB leaves room for long texts.
WRITE_BODY_LIMIT = 64 * 1024


def _body() -> dict:
    return read_json_object(
        WRITE_BODY_LIMIT, example='{"name": "…", "kind": "driver_home", "lon": 117.2, "lat": 31.8}'
    )


def _expected_version() -> int:
    """The version of ``If-Match`` (``"3"``, ``W/"3"`` or ``3``)."""
    header = request.headers.get("If-Match")
    if header is None:
        raise PreconditionRequired(Message("if_match_required"), field="If-Match")
    text = header.strip().removeprefix("W/").strip('"')
    if not text.isdigit():
        raise InvalidParameter(Message("if_match_version", got=header), field="If-Match")
    return int(text)


def _answer(facility: Facility, status: int):
    feature = facility.to_feature()
    href = absolute(url_for("api.facility", facility_id=facility.id))
    feature["links"] = [{"rel": "self", "type": GEOJSON, "href": href}]
    response = current_app.json.response(feature)
    response.status_code = status
    response.mimetype = GEOJSON
    response.headers["ETag"] = f'"{facility.version}"'
    response.headers["Cache-Control"] = "no-store"
    if status == 201:
        response.headers["Location"] = href
    return response


def _stale(exc: Conflict) -> PreconditionFailed:
    return PreconditionFailed(exc.message, field="If-Match")


def _editing() -> Editing:
    return Editing(state().storage)


@bp.post("/facilities")
def create_facility():
    """Add a facility (201 with the stored Feature)."""
    reject_unknown(request.args, {"crs"})
    user, actor = token_user()
    values = _values(_body())
    edited = _editing().create(user, values, crs=parse_crs(request.args), actor=actor)
    return _answer(edited.facility, 201)


@bp.patch("/facilities/<path:facility_id>")
def update_facility(facility_id: str):
    """Change some fields of a facility (200 with the stored Feature)."""
    reject_unknown(request.args, {"crs"})
    user, actor = token_user()
    expected = _expected_version()
    values = _values(_body())
    try:
        edited = _editing().update(
            user,
            facility_id,
            values,
            expected_version=expected,
            crs=parse_crs(request.args),
            actor=actor,
        )
    except Conflict as exc:
        raise _stale(exc) from None
    return _answer(edited.facility, 200)


@bp.delete("/facilities/<path:facility_id>")
def delete_facility(facility_id: str):
    """Delete a facility (204; its history keeps it)."""
    reject_unknown(request.args, set())
    user, actor = token_user()
    expected = _expected_version()
    try:
        _editing().delete(user, facility_id, expected_version=expected, actor=actor)
    except Conflict as exc:
        raise _stale(exc) from None
    return "", 204
