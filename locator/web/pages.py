"""HTML pages: the driver's search at ``/``, facility pages and their QR codes, the
overview map at ``/map`` and the sources page."""

from __future__ import annotations

import hashlib
from pathlib import Path

from flask import Blueprint, Response, render_template, request, url_for
from flask_babel import gettext as _

from ..config import tile_layers
from ..hours import OPEN_STATE_LABELS, open_state
from ..maps import ANHUI_BOUNDS, KIND_COLORS, OSM_ATTRIBUTION, build_facility_map, label, map_parts
from ..model import AMENITIES, KINDS, STATUSES
from ..navigation import navigation_links, phone_links
from ..qr import qr_svg
from . import state
from .assets import map_assets
from .i18n import current_lang

bp = Blueprint("pages", __name__)

#: Amenity filter chips of the driver page, in this order.
DRIVER_AMENITIES = ("truck_parking", "rest_room", "shower", "laundry", "canteen", "hot_water",
                    "toilet", "beds", "charging", "repair", "legal_aid")

#: How many facilities the driver page lists.
DRIVER_RESULTS = 10

#: Scripts only from this origin; no inline script runs (the config is a JSON block).
PAGE_CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
            "img-src * data: blob:; connect-src 'self'; object-src 'none'; "
            "base-uri 'self'; form-action 'self'; frame-ancestors 'self'")


def _facility_map_parts(lang: str) -> dict:
    """The rendered map of every facility, cached per data version, language and tiles."""
    app_state = state()
    catalog = app_state.catalog.current()
    tiles = app_state.settings.tile_provider()
    key = ("map", catalog.data_version, lang)
    with app_state.page_lock:
        parts = app_state.page_cache.get(key)
        if parts is None:
            units = [u for u in app_state.storage.admin_units() if u.level in
                     ("city", "county", "township")]
            fmap = build_facility_map(
                catalog.facilities, units, lang=lang, tiles=tiles, assets=map_assets(),
                detail_url=lambda f: url_for("pages.facility", facility_id=f.id),
                legend_title=_("Kinds"),
                layer_names={"city": _("City boundaries"), "county": _("County boundaries"),
                             "township": _("Township boundaries"),
                             "facilities": _("Facilities")})
            parts = map_parts(fmap)
            for stale in [k for k in app_state.page_cache
                          if k[0] == "map" and k[1] != catalog.data_version]:
                del app_state.page_cache[stale]
            app_state.page_cache[key] = parts
    return parts


def _with_csp(html: str) -> Response:
    response = Response(html, mimetype="text/html")
    response.headers["Content-Security-Policy"] = PAGE_CSP
    return response


def _driver_texts() -> dict[str, str]:
    """Texts the driver page's script shows, in the page's language."""
    return {
        "locating": _("Finding your position…"),
        "geoDenied": _("Location permission was denied. Search for a place or tap the map "
                       "instead."),
        "geoUnavailable": _("Your position is not available right now. Search for a place "
                            "or tap the map instead."),
        "geoTimeout": _("Finding your position took too long. Try again, or search for a "
                        "place or tap the map."),
        "geoUnsupported": _("This browser cannot share your position. Search for a place or "
                            "tap the map."),
        "loading": _("Loading…"),
        "loadFailed": _("Could not load the stations: check your connection."),
        "searchFailed": _("Search failed: check your connection."),
        "retry": _("Retry"),
        "saved": _("Saved results from {time}, shown while the network is down."),
        "noResults": _("No station found nearby with these filters."),
        "resultsNear": _("Nearest stations to {place}"),
        "myPosition": _("your position"),
        "mapPoint": _("the point you tapped"),
        "minutes": _("about {n} min"),
        "estimate": _("Drive time estimated from the straight-line distance"),
        "km": _("{n} km"),
        "m": _("{n} m"),
        "details": _("Details"),
        "approximate": _("approximate position"),
        "noSuggestions": _("No matching place"),
        "tilesUnavailable": _("Map tiles unavailable: showing stations only"),
        "youAreHere": _("You are here"),
        "start": _("Tap “Near me”, search for a place, or tap the map."),
    }


def _driver_config(lang: str) -> dict:
    """What the driver page's script needs: endpoints, tiles, labels and texts."""
    return {
        "lang": lang,
        "api": {"nearest": url_for("api.nearest"), "places": url_for("api.places")},
        "facilityUrl": url_for("pages.facility", facility_id="__ID__"),
        "tiles": tile_layers(state().settings.tile_provider()),
        "attribution": OSM_ATTRIBUTION,
        "bounds": ANHUI_BOUNDS,
        "k": DRIVER_RESULTS,
        "kinds": {k: {"label": label(KINDS, k, lang), "color": KIND_COLORS[k]} for k in KINDS},
        "openStates": {k: v[lang] for k, v in OPEN_STATE_LABELS.items()},
        "text": _driver_texts(),
    }


@bp.get("/")
def index():
    """The driver's page: nearest stations, place search, filters (mobile first)."""
    lang = current_lang()
    chips = [(key, label(AMENITIES, key, lang)) for key in DRIVER_AMENITIES]
    return _with_csp(render_template("driver.html", config=_driver_config(lang), chips=chips,
                                     lang=lang))


@bp.get("/map")
def overview_map():
    """The map of all facilities, with admin boundaries (for planners)."""
    lang = current_lang()
    catalog = state().catalog.current()
    return render_template("map.html", map=_facility_map_parts(lang),
                           facility_count=len(catalog), lang=lang)


def facility_page_url(facility_id: str) -> str:
    """The absolute URL of a facility's page: under ``public_url`` when set (behind a proxy
    or for printed posters), else under the URL this request came to."""
    path = url_for("pages.facility", facility_id=facility_id)
    public = state().settings.public_url.strip()
    if public:
        return public.rstrip("/") + path[len(request.script_root):]
    return request.url_root.rstrip("/") + path[len(request.script_root):]


@bp.get("/f/<path:facility_id>")
def facility(facility_id: str):
    """One facility: details, open now, call and navigation buttons, QR code, small map."""
    lang = current_lang()
    f = state().catalog.current().get(facility_id)
    details = {
        "kind": label(KINDS, f.kind, lang),
        "status": label(STATUSES, f.status, lang),
        "open_state": (now := open_state(f.hours)),
        "open_label": OPEN_STATE_LABELS[now][lang],
        "amenities": [label(AMENITIES, a, lang) for a in AMENITIES if a in f.amenities],
        "area": " ".join(filter(None, (f.city, f.county, f.township))),
        "phones": phone_links(f.phone),
        "links": [(link.app, link.label(lang), link.url) for link in navigation_links(f)],
        "url": facility_page_url(f.id),
        "color": KIND_COLORS.get(f.kind, KIND_COLORS["other"]),
    }
    config = {"lat": f.lat, "lon": f.lon, "name": f.name, "color": details["color"],
              "tiles": _driver_config(lang)["tiles"], "attribution": OSM_ATTRIBUTION,
              "url": details["url"],
              "text": {"copied": _("Link copied"), "copyFailed": _("Copy this link:"),
                       "tilesUnavailable": _("Map tiles unavailable: showing stations only")}}
    return _with_csp(render_template("facility.html", f=f, d=details, config=config,
                                     lang=lang))


@bp.get("/f/<path:facility_id>/qr.svg")
def facility_qr(facility_id: str):
    """The QR code of a facility page's absolute URL, as SVG."""
    f = state().catalog.current().get(facility_id)
    svg = qr_svg(facility_page_url(f.id), title=f.name)
    response = Response(svg, mimetype="image/svg+xml")
    response.set_etag(hashlib.sha256(svg.encode("utf-8")).hexdigest()[:32])
    response.cache_control.public = True
    response.cache_control.max_age = 86400
    return response.make_conditional(request)


@bp.get("/sources")
def sources():
    """Where the shipped data comes from, and its licenses."""
    path = Path(state().settings.geodata_dir) / "SOURCES.md"
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    return render_template("sources.html", text=text)
