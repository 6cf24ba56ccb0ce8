"""HTML pages: the driver's search at ``/``, facility pages and their QR codes, the
overview map at ``/map`` and the sources page."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Mapping
from pathlib import Path

from flask import Blueprint, Response, render_template, request, url_for
from flask_babel import gettext as _
from markupsafe import Markup

from ..clock import local_today
from ..config import tile_layers
from ..embed import image_sources
from ..freshness import verified_text
from ..hours import (
    CLOSED_FOR_GOOD,
    OPEN_STATE_LABELS,
    TEMPORARILY_CLOSED,
    facility_open_state,
    open_state_text,
    open_wording,
)
from ..maps import (
    ANHUI_BOUNDS,
    KIND_COLORS,
    OSM_ATTRIBUTION,
    build_facility_map,
    label,
    map_parts,
    safe_text,
)
from ..model import AMENITIES, KINDS, PARKING_FEES, STATUSES, TIERS
from ..navigation import navigation_links, phone_links
from ..nearest import DRIVER_QUERY
from ..qr import qr_svg
from ..service_areas import SIDES
from . import state
from .api.reports import form_config as report_form_config
from .assets import map_assets
from .i18n import current_lang
from .security import permissions_policy
from .urls import absolute, has_public_url

bp = Blueprint("pages", __name__)

#: Amenity filter chips of the driver page, in this order.
DRIVER_AMENITIES = (
    "truck_parking",
    "rest_room",
    "shower",
    "laundry",
    "canteen",
    "hot_water",
    "toilet",
    "beds",
    "charging",
    "repair",
    "legal_aid",
)

#: How many facilities the driver page lists.
DRIVER_RESULTS = 10

#: The kind filter of the driver page: "" (the default) is every place to stop
#: (:data:`~locator.nearest.REST_KINDS`), then each kind, then every kind (``any``).
DRIVER_KINDS = (
    "driver_home",
    "service_station",
    "service_point",
    "service_area",
    "legal_aid",
    "logistics_park",
)

#: Inline script tags (no ``src``) in the header and body folium renders; the map's own
#: script is wrapped by the page's template.
_INLINE_SCRIPT_TAG = re.compile(r"<script(?=[\s>])(?![^>]*\ssrc=)", re.IGNORECASE)


def driver_csp(tiles: Mapping) -> str:
    """The policy of the driver's page and the facility pages: scripts and styles of this
    site only (no inline script, style element or style attribute; the config is a JSON
    block), data from this site, images from it and the tile servers of ``tiles`` (as
    :func:`locator.config.tile_layers` gives them), the service worker and the web
    manifest of this site (:mod:`locator.web.offline`)."""
    img = image_sources(layer["url"] for layer in tiles["layers"])
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; "
        f"img-src {img}; connect-src 'self'; worker-src 'self'; manifest-src 'self'; "
        "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'self'"
    )


def nonce_csp(nonce: str) -> str:
    """The policy of the pages with a folium map: scripts of this site, and inline
    scripts that carry this response's ``nonce``. Folium styles its elements inline, so
    styles are not limited here."""
    return (
        f"script-src 'self' 'nonce-{nonce}'; object-src 'none'; base-uri 'self'; "
        "frame-ancestors 'self'"
    )


def nonced_map(parts: Mapping[str, Markup], nonce: str) -> dict[str, Markup]:
    """A copy of a map's parts (:func:`locator.maps.map_parts`) with ``nonce`` on the
    inline script tags of its header and body; the cached parts stay as they are."""
    tag = f'<script nonce="{nonce}"'
    return {
        **parts,
        **{key: Markup(_INLINE_SCRIPT_TAG.sub(tag, str(parts[key]))) for key in ("header", "html")},
    }


def nonced_page(
    template: str, map_parts: Mapping[str, Markup] | None = None, **context
) -> Response:
    """``template`` rendered with a fresh nonce (``csp_nonce``, and on the script tags of
    ``map_parts``, given to the template as ``map``) and the policy that lets only
    scripts with that nonce run inline."""
    nonce = secrets.token_urlsafe(16)
    if map_parts is not None:
        context["map"] = nonced_map(map_parts, nonce)
    response = Response(render_template(template, csp_nonce=nonce, **context), mimetype="text/html")
    response.headers["Content-Security-Policy"] = nonce_csp(nonce)
    return response


def _facility_map_parts(lang: str) -> dict:
    """The rendered map of every facility, cached per data version, language and tiles."""
    app_state = state()
    catalog = app_state.catalog.current()
    tiles = app_state.settings.tile_provider()

    def build() -> dict:
        units = [
            u for u in app_state.storage.admin_units() if u.level in ("city", "county", "township")
        ]
        fmap = build_facility_map(
            catalog.facilities,
            units,
            lang=lang,
            tiles=tiles,
            assets=map_assets(),
            detail_url=lambda f: url_for("pages.facility", facility_id=f.id),
            legend_title=_("Kinds"),
            layer_names={
                "city": _("City boundaries"),
                "county": _("County boundaries"),
                "township": _("Township boundaries"),
                "facilities": _("Facilities"),
            },
        )
        return map_parts(fmap)

    return app_state.results.get(
        "facility-map", (catalog.data_version, lang), build, gate=app_state.gate
    )


def _with_csp(html: str, tiles: Mapping) -> Response:
    response = Response(html, mimetype="text/html")
    response.headers["Content-Security-Policy"] = driver_csp(tiles)
    return response


def _driver_texts() -> dict[str, str]:
    """Texts the driver page's script shows, in the page's language."""
    return {
        "locating": _("Finding your position…"),
        "geoDenied": _(
            "Location permission was denied. Search for a place or tap the map instead."
        ),
        "geoUnavailable": _(
            "Your position is not available right now. Search for a place or tap the map instead."
        ),
        "geoTimeout": _(
            "Finding your position took too long. Try again, or search for a place or tap the map."
        ),
        "geoUnsupported": _(
            "This browser cannot share your position. Search for a place or tap the map."
        ),
        "loading": _("Loading…"),
        "loadFailed": _("Could not load the stations: check your connection."),
        "searchFailed": _("Search failed: check your connection."),
        "retry": _("Retry"),
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
        "noAmenityData": _("No {amenities} information for nearby stations"),
        "bothDirections": _("both directions"),
        "oneSide": _("{side} only"),
        "derivedName": _("Name taken from the nearest junction or place: the map data has none"),
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
        "openWording": open_wording(lang),
        "amenities": {k: label(AMENITIES, k, lang) for k in DRIVER_AMENITIES},
        "sides": {k: v[lang] for k, v in SIDES.items()},
        "text": _driver_texts(),
        "report": report_form_config(lang),
    }


@bp.get("/")
def index():
    """The driver's page: nearest stations, place search, filters (mobile first)."""
    lang = current_lang()
    chips = [(key, label(AMENITIES, key, lang)) for key in DRIVER_AMENITIES]
    kinds = [
        ("", _("Places to stop")),
        *((key, label(KINDS, key, lang)) for key in DRIVER_KINDS),
        ("any", _("All kinds, logistics parks included")),
    ]
    config = _driver_config(lang)
    response = _with_csp(
        render_template("driver.html", config=config, chips=chips, kinds=kinds, lang=lang),
        config["tiles"],
    )
    response.headers["Permissions-Policy"] = permissions_policy("geolocation")
    return response


def _facility_list(lang: str) -> list[tuple[str, list[dict]]]:
    """The map's text equivalent: every facility by city (in the order of their codes; by
    county, then name, within one), with its kind and the URL of its page; cached per data
    version and language."""
    app_state = state()
    catalog = app_state.catalog.current()

    def build() -> list[tuple[str, list[dict]]]:
        cities: dict[tuple[str, str], list[dict]] = {}
        for f in sorted(catalog.facilities, key=lambda f: (f.county_code or "", f.name, f.id)):
            city = (f.city_code or "~", f.city or _("Other places"))  # "~": unknown ones last
            cities.setdefault(city, []).append(
                {
                    # as the map's tooltips: escaped for HTML and a template literal
                    "name": safe_text(f.name),
                    "kind": label(KINDS, f.kind, lang),
                    "county": safe_text(f.county) if f.county else None,
                    "url": url_for("pages.facility", facility_id=f.id),
                }
            )
        return [(name, rows) for (_code, name), rows in sorted(cities.items())]

    return app_state.results.get(
        "facility-list", (catalog.data_version, lang), build, gate=app_state.gate
    )


@bp.get("/map")
def overview_map():
    """The map of all facilities, with admin boundaries (for planners), and the same
    facilities as a list of links."""
    lang = current_lang()
    catalog = state().catalog.current()
    return nonced_page(
        "map.html",
        _facility_map_parts(lang),
        facility_count=len(catalog),
        facility_list=_facility_list(lang),
        lang=lang,
    )


def facility_page_url(facility_id: str) -> str:
    """The absolute URL of a facility's page: under ``public_url`` when set (behind a proxy
    or for printed posters), else under the (trusted) address this request came to."""
    return absolute(url_for("pages.facility", facility_id=facility_id))


#: How many open alternatives the page of a closed station lists.
ALTERNATIVES = 3


def open_alternatives(f, lang: str, at) -> list[dict]:
    """The nearest open places to stop (not temporarily closed) other than ``f``, with
    their distance and wording now: what the page of a closed station offers instead."""
    app_state = state()
    index = app_state.catalog.current().nearest_index(app_state.estimate)
    hits = index.nearest(f.lon, f.lat, k=ALTERNATIVES + 1, query=DRIVER_QUERY, now=at)
    found = []
    for hit in hits:
        other = hit.facility
        if other.id == f.id or facility_open_state(other, at) == TEMPORARILY_CLOSED:
            continue
        found.append(
            {
                "id": other.id,
                "name": other.name,
                "km": round(hit.distance_m / 1000, 1),
                "state": open_state_text(other, lang, at),
            }
        )
    return found[:ALTERNATIVES]


@bp.get("/f/<path:facility_id>")
def facility(facility_id: str):
    """One facility: details, open now, call and navigation buttons, QR code, small map;
    a station closed for good or for a while says so, without call or navigation
    buttons, and lists the nearest open alternatives."""
    lang = current_lang()
    f = state().catalog.current().get(facility_id)
    at = state().clock()
    shown, wording = open_state_text(f, lang, at)
    closed = shown in (CLOSED_FOR_GOOD, TEMPORARILY_CLOSED)
    details = {
        "kind": label(KINDS, f.kind, lang),
        "status": label(STATUSES, f.status, lang),
        "open_state": shown,
        "open_label": wording,
        "closed": closed,
        "alternatives": open_alternatives(f, lang, at) if closed else [],
        "verified": verified_text(f, local_today(state().clock), lang),
        "tier": label(TIERS, f.tier, lang) if f.tier else None,
        "parking_fee": label(PARKING_FEES, f.parking_fee, lang) if f.parking_fee else None,
        "amenities": [label(AMENITIES, a, lang) for a in AMENITIES if a in f.amenities],
        "area": " ".join(filter(None, (f.city, f.county, f.township))),
        "phones": phone_links(f.phone),
        "links": [(link.app, link.label(lang), link.url) for link in navigation_links(f)],
        "url": facility_page_url(f.id),
        "public_url": has_public_url(),
        "color": KIND_COLORS.get(f.kind, KIND_COLORS["other"]),
    }
    config = {
        "lat": f.lat,
        "lon": f.lon,
        "name": f.name,
        "color": details["color"],
        "tiles": _driver_config(lang)["tiles"],
        "attribution": OSM_ATTRIBUTION,
        "url": details["url"],
        "id": f.id,
        "report": report_form_config(lang),
        "text": {
            "copied": _("Link copied"),
            "copyFailed": _("Copy this link:"),
            "tilesUnavailable": _("Map tiles unavailable: showing stations only"),
        },
    }
    return _with_csp(
        render_template("facility.html", f=f, d=details, config=config, lang=lang), config["tiles"]
    )


@bp.get("/f/<path:facility_id>/qr.svg")
def facility_qr(facility_id: str):
    """The QR code of a facility page's absolute URL, as SVG."""
    f = state().catalog.current().get(facility_id)
    url = facility_page_url(f.id)
    public = has_public_url()
    title = f.name if public else f"{f.name} ({_('no public address set')}: {url})"
    svg = qr_svg(url, title=title)
    response = Response(svg, mimetype="image/svg+xml")
    response.set_etag(hashlib.sha256(svg.encode("utf-8")).hexdigest()[:32])
    # A code for the address the request came to is kept by this client only, briefly.
    response.cache_control.public = public
    response.cache_control.private = not public
    response.cache_control.max_age = 86400 if public else 300
    if not public:
        response.headers["X-Locator-Public-Url"] = "unset"
    return response.make_conditional(request)


@bp.get("/sources")
def sources():
    """Where the shipped data comes from, and its licenses."""
    path = Path(state().settings.geodata_dir) / "SOURCES.md"
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    return nonced_page("sources.html", text=text)
