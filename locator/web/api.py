"""The JSON API (``/api/v1``): thin views over the catalog, GeoJSON out."""

from __future__ import annotations

import hashlib

from flask import Blueprint, current_app, jsonify, request, url_for

from ..crs import from_wgs84
from ..errors import InvalidParameter, PayloadTooLarge, UnsupportedFormat
from ..geojson import feature_collection, page_links
from ..nearest import DriveEstimate, Hit
from ..openapi import openapi_document
from ..params import parse_crs, parse_filter, parse_int, parse_nearest, parse_route_request
from ..places import MAX_LIMIT as PLACES_MAX_LIMIT
from . import state
from .jsonio import dumps_bytes

bp = Blueprint("api", __name__, url_prefix="/api/v1")

GEOJSON = "application/geo+json"

#: Parameters each endpoint knows; anything else is a 400, so typos do not pass silently.
FACILITY_PARAMS = {"bbox", "kind", "status", "amenity", "city", "county", "township", "q",
                   "limit", "offset"}


def _reject_unknown(allowed: set[str]) -> None:
    unknown = sorted(set(request.args) - allowed)
    if unknown:
        raise InvalidParameter(f"unknown parameter {unknown[0]!r}; known: "
                               f"{', '.join(sorted(allowed))}", field=unknown[0])


def cached_json(payload, *, version: int, mimetype: str = "application/json", max_age: int = 60):
    """A JSON response with an ETag of the data version and the request, and 304 when fresh.

    ``payload`` may be a callable, so that a fresh 304 skips building the body.
    """
    seed = f"{version}|{request.full_path}".encode()
    etag = hashlib.sha256(seed).hexdigest()[:32]
    if request.if_none_match.contains_weak(etag):
        response = current_app.response_class(b"", status=304)
    else:
        body = payload() if callable(payload) else payload
        response = current_app.response_class(dumps_bytes(body), mimetype=mimetype)
    response.headers["ETag"] = f'"{etag}"'
    response.headers["Cache-Control"] = f"public, max-age={max_age}"
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
    _reject_unknown(set())
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


PLACE_PARAMS = {"q", "limit"}


@bp.get("/places")
def places():
    """Cities, counties, townships and facilities whose name (or its pinyin) matches q."""
    _reject_unknown(PLACE_PARAMS)
    q = request.args.get("q")
    if q is None or not q.strip():
        raise InvalidParameter("q is required: a place or facility name, or its pinyin",
                               field="q")
    limit = parse_int(request.args, "limit", 10, 1, PLACES_MAX_LIMIT)
    gazetteer = state().gazetteer()
    found = gazetteer.search(q, limit)
    body = {"type": "FeatureCollection", "features": [place.to_feature() for place in found],
            "numberReturned": len(found), "query": q}
    return cached_json(body, version=gazetteer.data_version, mimetype=GEOJSON)


NEAREST_PARAMS = {"lon", "lat", "k", "kind", "status", "amenity", "open_now", "at", "max_km",
                  "min_truck_parking", "crs", "out_crs"}


def _estimate() -> DriveEstimate:
    settings = state().settings
    return DriveEstimate(settings.drive_detour_factor, settings.drive_speed_kmh)


def _hits_collection(hits: list[Hit], out_crs: str, extra: dict) -> dict:
    """Hits as a FeatureCollection; geometry in ``out_crs`` (WGS-84 unless asked)."""
    features = [hit.to_feature() for hit in hits]
    if out_crs != "wgs84":
        for feature in features:
            lon, lat = feature["geometry"]["coordinates"]
            feature["geometry"]["coordinates"] = list(from_wgs84(lon, lat, out_crs))
    body = feature_collection([], number_matched=len(features))
    body["features"] = features
    body["numberReturned"] = len(features)
    body["coordinate_datum"] = out_crs
    body["drive_time"] = _estimate().describe()
    body.update(extra)
    return body


@bp.get("/nearest")
def nearest():
    """The K nearest facilities (open ones by default) that have the wanted amenities."""
    _reject_unknown(NEAREST_PARAMS)
    args = parse_nearest(request.args)
    out_crs = parse_crs(request.args, "out_crs")
    catalog = state().catalog.current()
    query = {"lon": args["lon"], "lat": args["lat"], "k": args["k"]}

    def body():
        hits = catalog.nearest_index(_estimate()).nearest(**args)
        return _hits_collection(hits, out_crs, {"query": query})

    # Results depend on the clock when open_now is asked without a fixed time.
    max_age = 30 if args["query"].open_now and args["query"].at is None else 60
    return cached_json(body, version=catalog.data_version, mimetype=GEOJSON, max_age=max_age)


def _route_body() -> dict:
    if not request.is_json:
        raise UnsupportedFormat("send the route as JSON (Content-Type: application/json)")
    limit = int(state().settings.max_route_body_kb * 1024)
    if (request.content_length or 0) > limit:
        raise PayloadTooLarge(f"the route body is limited to {limit // 1024} KB")
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidParameter("the body must be a JSON object with a route", field="route")
    return body


@bp.post("/along-route")
def along_route():
    """Facilities within ``buffer_km`` of a route, in driving order."""
    args = parse_route_request(_route_body())
    out_crs = args.pop("out_crs")
    catalog = state().catalog.current()
    hits = catalog.nearest_index(_estimate()).along_route(**args)
    body = _hits_collection(hits, out_crs, {"buffer_km": args["buffer_km"]})
    return jsonify(body), 200, {"Content-Type": GEOJSON}
