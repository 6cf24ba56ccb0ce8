"""The JSON API (``/api/v1``): thin views over the catalog, GeoJSON out."""

from __future__ import annotations

from collections.abc import Mapping

from flask import Blueprint, current_app, jsonify, request, url_for

from ...crs import from_wgs84
from ...errors import InvalidParameter
from ...geojson import feature_collection, page_links
from ...hours import CLOSED, opening_properties
from ...nearest import DriveEstimate, Hit
from ...openapi import openapi_document
from ...params import NearestRequest, RouteRequest, parse_filter, parse_int, reject_unknown
from ...places import MAX_LIMIT as PLACES_MAX_LIMIT
from .. import AppState, state
from ..bodies import read_json_object
from ..caching import Answer, render
from ..urls import absolute, site_url

bp = Blueprint("api", __name__, url_prefix="/api/v1")

GEOJSON = "application/geo+json"

#: Parameters each endpoint knows; anything else is a 400, so typos do not pass silently.
FACILITY_PARAMS = {
    "bbox",
    "kind",
    "status",
    "amenity",
    "city",
    "county",
    "township",
    "q",
    "limit",
    "offset",
}


def _reject_unknown(allowed: set[str]) -> None:
    reject_unknown(request.args, allowed)


def respond(answer: Answer):
    """The Flask response of a read endpoint's answer (see :func:`.caching.render`)."""
    rendered = render(answer, request.environ, current_app.config)
    return current_app.response_class(
        rendered.body, status=rendered.status, headers=rendered.headers
    )


@bp.get("/facilities")
def facilities():
    """Facilities filtered by bbox, kind, status, amenity, admin unit and text; paged."""
    _reject_unknown(FACILITY_PARAMS)
    settings = state().settings
    flt = parse_filter(request.args)
    limit = parse_int(
        request.args, "limit", settings.page_limit_default, 1, settings.page_limit_max
    )
    offset = parse_int(request.args, "offset", 0, 0, 10_000_000)
    catalog = state().catalog.current()
    page = catalog.query(flt, limit=limit, offset=offset)
    links = page_links(absolute(request.path), request.args, page)
    body = feature_collection(
        page.items, number_matched=page.number_matched, links=links, to_feature=catalog.to_feature
    )
    return respond(Answer(catalog.data_version, body, media_type=GEOJSON))


@bp.get("/facilities/<path:facility_id>")
def facility(facility_id: str):
    """One facility as a GeoJSON Feature."""
    _reject_unknown(set())
    catalog = state().catalog.current()
    feature = catalog.to_feature(catalog.get(facility_id))
    feature["links"] = [
        {
            "rel": "self",
            "type": GEOJSON,
            "href": absolute(url_for("api.facility", facility_id=facility_id)),
        }
    ]
    return respond(Answer(catalog.data_version, feature, media_type=GEOJSON))


@bp.get("/openapi.json")
def openapi():
    """The OpenAPI 3 description of this API."""
    settings = state().settings
    limits = (settings.report_limit, settings.report_facility_limit)
    return jsonify(openapi_document(server_url=site_url(), report_limits=limits))


PLACE_PARAMS = {"q", "limit"}


@bp.get("/places")
def places():
    """Cities, counties, townships and facilities whose name (or its pinyin) matches q."""
    _reject_unknown(PLACE_PARAMS)
    q = request.args.get("q")
    if q is None or not q.strip():
        raise InvalidParameter("q is required: a place or facility name, or its pinyin", field="q")
    limit = parse_int(request.args, "limit", 10, 1, PLACES_MAX_LIMIT)
    gazetteer = state().gazetteer()
    found = gazetteer.search(q, limit)
    body = {
        "type": "FeatureCollection",
        "features": [place.to_feature() for place in found],
        "numberReturned": len(found),
        "query": q,
    }
    return respond(Answer(gazetteer.data_version, body, media_type=GEOJSON))


#: The gzip level of nearest answers: each is unique and a few KB, and they come
#: constantly. On a 3.5 KB answer (k = 5) level 1 gives 973 bytes against level 6's
#: 925, for about 70% of the CPU time.
NEAREST_GZIP_LEVEL = 1


def _hits_collection(
    hits: list[Hit], out_crs: str, estimate: DriveEstimate, extra: dict, now=None
) -> dict:
    """Hits as a FeatureCollection; geometry in ``out_crs`` (WGS-84 unless asked); a hit
    closed now by its hours says when it opens (:func:`locator.hours.opening_properties`)."""
    features = [hit.to_feature() for hit in hits]
    for hit, feature in zip(hits, features, strict=True):
        if hit.open_state == CLOSED:
            feature["properties"].update(opening_properties(hit.facility, now))
    if out_crs != "wgs84":
        for feature in features:  # a new geometry: the index's cached one stays WGS-84
            lon, lat = feature["geometry"]["coordinates"]
            feature["geometry"] = {
                "type": "Point",
                "coordinates": list(from_wgs84(lon, lat, out_crs)),
            }
            props = feature["properties"]
            if "sides" in props:  # new side dicts too
                props["sides"] = [
                    {**side, "coordinates": list(from_wgs84(*side["coordinates"], out_crs))}
                    for side in props["sides"]
                ]
    body = feature_collection([], number_matched=len(features))
    body["features"] = features
    body["numberReturned"] = len(features)
    body["coordinate_datum"] = out_crs
    body["drive_time"] = estimate.describe()
    body.update(extra)
    return body


def nearest_answer(app_state: AppState, args: Mapping) -> Answer:
    """``/api/v1/nearest`` for query parameters ``args``; shared by the Flask view and
    the hot path, so that both answer alike. Bad parameters raise InvalidParameter."""
    wanted = NearestRequest.from_args(args)
    catalog = app_state.catalog.current()
    estimate = app_state.estimate
    query = {"lon": wanted.lon, "lat": wanted.lat, "k": wanted.k}

    def body() -> dict:
        index, now = catalog.nearest_index(estimate), app_state.clock()
        hits = wanted.search(index, now)
        extra = {"query": query, "amenity_data": wanted.amenity_data(index, hits, now)}
        return _hits_collection(hits, wanted.out_crs, estimate, extra, wanted.query.at or now)

    # Results depend on the clock when open_now is asked without a fixed time.
    max_age = 30 if wanted.query.open_now and wanted.query.at is None else 60
    return Answer(catalog.data_version, body, max_age, GEOJSON, NEAREST_GZIP_LEVEL)


@bp.get("/nearest")
def nearest():
    """The K nearest places to stop (open ones by default; ``kind`` for others, ``any``
    for every kind) that have the wanted amenities; a paired service area is one place."""
    return respond(nearest_answer(state(), request.args))


@bp.post("/along-route")
def along_route():
    """Facilities within ``buffer_km`` of a route, in driving order."""
    app_state = state()
    wanted = RouteRequest.from_body(
        read_json_object(
            int(app_state.settings.max_route_body_kb * 1024),
            example='{"route": [[117.2, 31.8], [117.5, 31.9]], "buffer_km": 5}',
        )
    )
    index = app_state.catalog.current().nearest_index(app_state.estimate)
    now = app_state.clock()
    body = _hits_collection(
        wanted.search(index, now),
        wanted.out_crs,
        app_state.estimate,
        {"buffer_km": wanted.buffer_km},
        wanted.query.at or now,
    )
    return jsonify(body), 200, {"Content-Type": GEOJSON}
