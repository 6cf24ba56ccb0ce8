"""The JSON API (``/api/v1``): thin views over the catalog, GeoJSON out."""

from __future__ import annotations

import hashlib

from flask import Blueprint, jsonify, request, url_for

from ..catalog import parse_filter, parse_int
from ..errors import InvalidParameter
from ..geojson import feature_collection, page_links
from ..openapi import openapi_document
from . import state

bp = Blueprint("api", __name__, url_prefix="/api/v1")

GEOJSON = "application/geo+json"

#: Parameters each endpoint knows; anything else is a 400, so typos do not pass silently.
FACILITY_PARAMS = {"bbox", "kind", "status", "amenity", "city", "county", "township", "q",
                   "limit", "offset", "f"}


def _reject_unknown(allowed: set[str]) -> None:
    unknown = sorted(set(request.args) - allowed)
    if unknown:
        raise InvalidParameter(f"unknown parameter {unknown[0]!r}; known: "
                               f"{', '.join(sorted(allowed))}", field=unknown[0])


def cached_json(payload, *, version: int, mimetype: str = "application/json", max_age: int = 60):
    """A JSON response with an ETag of the data version and the request, and 304 when fresh."""
    seed = f"{version}|{request.full_path}".encode()
    etag = hashlib.sha256(seed).hexdigest()[:32]
    if request.if_none_match.contains_weak(etag):
        response = jsonify()
        response.status_code = 304
        response.data = b""
    else:
        response = jsonify(payload)
        response.mimetype = mimetype
    response.set_etag(etag)
    response.cache_control.public = True
    response.cache_control.max_age = max_age
    return response


@bp.get("/facilities")
def facilities():
    """Facilities filtered by bbox, kind, status, amenity, admin unit and text; paged."""
    _reject_unknown(FACILITY_PARAMS)
    settings = state().settings
    flt = parse_filter(request.args)
    limit = parse_int(request.args, "limit", settings.page_limit_default, 1,
                      settings.page_limit_max)
    offset = parse_int(request.args, "offset", 0, 0, 10_000_000)
    catalog = state().catalog.current()
    page = catalog.query(flt, limit=limit, offset=offset)
    links = page_links(request.base_url, request.args, page)
    body = feature_collection(page.items, number_matched=page.number_matched, links=links)
    return cached_json(body, version=catalog.data_version, mimetype=GEOJSON)


@bp.get("/facilities/<path:facility_id>")
def facility(facility_id: str):
    """One facility as a GeoJSON Feature."""
    _reject_unknown({"f"})
    catalog = state().catalog.current()
    feature = catalog.get(facility_id).to_feature()
    feature["links"] = [{"rel": "self", "type": GEOJSON,
                         "href": url_for("api.facility", facility_id=facility_id,
                                         _external=True)}]
    return cached_json(feature, version=catalog.data_version, mimetype=GEOJSON)


@bp.get("/openapi.json")
def openapi():
    """The OpenAPI 3 description of this API."""
    return jsonify(openapi_document(server_url=request.host_url.rstrip("/")))
