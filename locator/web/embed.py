"""The embeddable widget: ``/embed`` (the page in the iframe), ``/embed.js`` (the loader a
partner site pastes), ``/embed/data.geojson`` (its data), ``/embed/builder`` (for
editors), ``/embed/snippet.json`` and ``/oembed``.

Nothing here reads or sets a cookie: the language comes from ``lang`` only (see
:mod:`locator.web.i18n`). The widget page is framed per ``embed_allowed_origins``;
every other page keeps ``frame-ancestors 'self'`` (:mod:`locator.web.security`).
"""

from __future__ import annotations

import hashlib

from flask import (
    Blueprint,
    Response,
    current_app,
    g,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from ..config import tile_layers
from ..embed import (
    LANGUAGES,
    MAX_FEATURES,
    MAX_HEIGHT,
    MAX_WIDTH,
    MIN_HEIGHT,
    MIN_WIDTH,
    EmbedContext,
    EmbedOptions,
    embed_url,
    facility_options,
    frame_ancestors,
    iframe_snippet,
    marker_feature,
    oembed_document,
    parse_allowed_origins,
    parse_embed_options,
    parse_oembed_request,
    popup_details,
    resolve_oembed_url,
    script_snippet,
    widget_csp,
)
from ..errors import InvalidParameter
from ..hours import OPEN_STATE_LABELS, facility_open_state, open_wording, opening_properties
from ..maps import ANHUI_BOUNDS, KIND_COLORS, OSM_ATTRIBUTION, label
from ..model import AMENITIES, KINDS, STATUSES
from ..navigation import APP_LABELS
from ..nearest import REST_KINDS
from ..params import parse_filter
from . import state
from .api.facilities import respond
from .api.reports import form_config as report_form_config
from .assets import buffered
from .caching import Answer
from .errors import answers_json
from .jsonio import dumps_bytes
from .security import permissions_policy
from .urls import site_url

bp = Blueprint("embed", __name__)

GEOJSON = "application/geo+json"

#: Tile providers a widget may ask for (``tianditu`` only with a key configured).
TILE_NAMES = ("osm", "amap", "tianditu", "none")

#: Parameters of the data endpoint; anything else is a 400.
DATA_PARAMS = {"city", "county", "kind", "amenity", "status"}

#: The builder page: scripts and frames of this site only.
BUILDER_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'self'"
)


@bp.before_request
def no_cookie_language():
    """The language of every embed response comes from ``lang`` alone (never a cookie)."""
    asked = (request.args.get("lang") or "").strip().lower()[:2]
    g.lang = asked if asked in LANGUAGES else "zh"


def _tile_names() -> tuple[str, ...]:
    settings = state().settings
    names = [
        name
        for name in TILE_NAMES
        if name in ("osm", "amap", "none") or settings.named_tile_provider(name)["url"]
    ]
    return tuple(names)


def _default_tiles() -> str:
    settings = state().settings
    if settings.tile_url:
        return "custom"
    return settings.tiles if settings.tiles in _tile_names() else "none"


def _tiles(name: str | None) -> dict:
    """The tile layers of a provider (the site's own when ``name`` is None)."""
    settings = state().settings
    key = name or _default_tiles()
    provider = settings.tile_provider() if key == "custom" else settings.named_tile_provider(key)
    return {"name": key, **tile_layers(provider)}


def embed_context() -> EmbedContext:
    """What options are checked against, built once per data version."""
    app_state = state()
    catalog = app_state.catalog.current()
    tiles, default_tiles = _tile_names(), _default_tiles()
    return app_state.results.get(
        "embed-context",
        (catalog.data_version, tiles, default_tiles),
        lambda: EmbedContext.from_units(
            app_state.storage.admin_units(),
            tiles=tiles,
            default_tiles=default_tiles,
            facility_ids=catalog.by_id,
        ),
    )


def _texts() -> dict[str, str]:
    return {
        "nearMe": _("Near me"),
        "locating": _("Finding your position…"),
        "geoDenied": _("Location permission was denied. Tap the map instead."),
        "geoUnavailable": _("Your position is not available right now. Tap the map instead."),
        "geoUnsupported": _("This browser cannot share your position. Tap the map instead."),
        "loading": _("Loading…"),
        "loadFailed": _("Could not load the stations: check your connection."),
        "retry": _("Retry"),
        "noResults": _("No station matches these filters."),
        "truncated": _("Showing the first {n} stations; choose a city or kinds to see the rest."),
        "count": _("{n} stations"),
        "nearest": _("Nearest stations to {place}"),
        "myPosition": _("your position"),
        "mapPoint": _("the point you tapped"),
        "youAreHere": _("You are here"),
        "km": _("{n} km"),
        "m": _("{n} m"),
        "more": _("Show more"),
        "details": _("Details"),
        "navigate": _("Navigate there"),
        "call": _("Call"),
        "now": _("Now:"),
        "address": _("Address"),
        "area": _("Area"),
        "hours": _("Opening hours"),
        "allDay": _("24 hours"),
        "phone": _("Phone"),
        "amenities": _("Amenities"),
        "truckParking": _("Truck parking spaces"),
        "operator": _("Operator"),
        "tilesUnavailable": _("Map tiles unavailable: showing stations only"),
        "fullMap": _("Open the full map"),
        "mapLabel": _("Map of driver service stations"),
        "listLabel": _("Stations on the map"),
        "bothDirections": _("both directions"),
    }


def _widget_config(options: EmbedOptions, warnings: list) -> dict:
    lang = options.lang
    return {
        "id": options.id,
        "lang": lang,
        "theme": options.theme,
        "list": options.list,
        "height": options.height,
        "center": list(options.center) if options.center else None,
        "zoom": options.zoom,
        "focus": options.focus,
        "dataUrl": url_for("embed.data", **dict(options.data_query())),
        "detailsUrl": url_for("embed.details", facility_id="__ID__"),
        "facilityUrl": url_for(
            "pages.facility", facility_id="__ID__", **({"lang": lang} if lang != "zh" else {})
        ),
        "siteUrl": url_for("pages.index", **({"lang": lang} if lang != "zh" else {})),
        "tiles": _tiles(options.tiles),
        "attribution": OSM_ATTRIBUTION,
        "bounds": ANHUI_BOUNDS,
        "kinds": {k: {"label": label(KINDS, k, lang), "color": KIND_COLORS[k]} for k in KINDS},
        "statuses": {k: label(STATUSES, k, lang) for k in STATUSES},
        "amenities": {k: label(AMENITIES, k, lang) for k in AMENITIES},
        "apps": {k: v.get(lang) or v["zh"] for k, v in APP_LABELS.items()},
        "openStates": {k: v[lang] for k, v in OPEN_STATE_LABELS.items()},
        "openWording": open_wording(lang),
        "warnings": [w.to_dict() for w in warnings],
        "text": _texts(),
        "report": report_form_config(lang),
    }


def _title(options: EmbedOptions, facility_name: str | None = None) -> str:
    if facility_name:
        return facility_name
    place = (
        options.county.name if options.county else options.city.name if options.city else _("Anhui")
    )
    return _("Driver service stations: %(place)s", place=place)


@bp.app_template_global("oembed_link")
def oembed_link(page_url: str) -> str:
    """The oEmbed address of one of this site's pages (for discovery ``<link>`` tags)."""
    return (
        site_url()
        + url_for("embed.oembed", url=page_url, format="json")[len(request.script_root) :]
    )


@bp.get("/embed")
def widget():
    """The widget page meant for an iframe: map, clusters, popups, near me, a list."""
    options, warnings = parse_embed_options(request.args, embed_context())
    g.lang = options.lang
    config = _widget_config(options, warnings)
    page_url = f"{site_url()}/embed" + (
        f"?{request.query_string.decode()}" if request.query_string else ""
    )
    html = render_template(
        "embed.html",
        config=config,
        options=options,
        lang=options.lang,
        title=_title(options),
        oembed_url=oembed_link(page_url),
    )
    response = Response(html, mimetype="text/html")
    settings = state().settings
    tile_urls = [layer["url"] for layer in config["tiles"]["layers"]]
    response.headers["Content-Security-Policy"] = widget_csp(
        frame_ancestors(settings.embed_allowed_origins), tile_urls
    )
    response.headers["Permissions-Policy"] = permissions_policy("geolocation")
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@bp.get("/embed.js")
def loader():
    """The loader a partner site includes: inserts and resizes the widget's iframe."""
    response = buffered(send_from_directory(current_app.static_folder, "embed.js", max_age=3600))
    response.cache_control.public = True
    response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response


@bp.get("/embed/data.geojson")
@answers_json
def data():
    """The widget's facilities: position, name, kind and status; ETag by data version.
    Without ``kind``, the places to stop (``kind=any`` for every kind)."""
    unknown = sorted(set(request.args) - DATA_PARAMS)
    if unknown:
        raise InvalidParameter(f"unknown parameter {unknown[0]!r}", field=unknown[0])
    flt = parse_filter(request.args, default_kinds=REST_KINDS)
    catalog = state().catalog.current()

    def body() -> dict:
        page = catalog.query(flt, limit=MAX_FEATURES)
        return {
            "type": "FeatureCollection",
            "numberMatched": page.number_matched,
            "numberReturned": len(page.items),
            "features": [marker_feature(f, catalog.places.place_of(f.id)) for f in page.items],
        }

    return respond(Answer(catalog.data_version, body, media_type=GEOJSON))


@bp.get("/embed/facility/<path:facility_id>")
@answers_json
def details(facility_id: str):
    """A popup's details: the fields of ``/f/<id>``, open now, and navigation links."""
    if request.args:
        name = sorted(request.args)[0]
        raise InvalidParameter(f"unknown parameter {name!r}", field=name)
    catalog = state().catalog.current()
    f = catalog.get(facility_id)
    # "Open now" follows the clock: with opening hours the ETag changes every minute.
    now = state().clock()
    minute = int(now.timestamp() // 60) if f.hours or f.closed_until else 0
    seed = f"{catalog.data_version}|{minute}|{request.path}".encode()
    etag = hashlib.sha256(seed).hexdigest()[:32]
    if request.if_none_match.contains_weak(etag):
        response = current_app.response_class(b"", status=304)
    else:
        body = popup_details(f)
        if f.hours or f.closed_until:
            body["open"] = facility_open_state(f, now)
            if body["open"] == "closed":  # 已打烊，7:00 开门 or 今日休息
                body.update(opening_properties(f, now))
            if body["open"] == "temporarily_closed":
                body["closed_until"] = f.closed_until.isoformat()
        response = current_app.response_class(dumps_bytes(body), mimetype="application/json")
    response.headers["ETag"] = f'"{etag}"'
    response.headers["Cache-Control"] = "public, max-age=60"
    return response


def _builder_config() -> dict:
    lang = g.lang
    context = embed_context()
    tile_labels = {
        "osm": _("OpenStreetMap"),
        "amap": _("Amap (GCJ-02)"),
        "tianditu": _("Tianditu"),
        "none": _("No base map"),
        "custom": _("This site's base map"),
    }
    tiles = [(name, tile_labels[name]) for name in context.tiles]
    return {
        "lang": lang,
        "snippetUrl": url_for("embed.snippet"),
        "cities": [
            {
                "code": c.code,
                "name": c.name,
                "counties": [{"code": k.code, "name": k.name} for k in context.counties_of(c)],
            }
            for c in context.cities
        ],
        "defaultTiles": context.default_tiles,
        "tiles": tiles,
        "limits": {
            "minHeight": MIN_HEIGHT,
            "maxHeight": MAX_HEIGHT,
            "minWidth": MIN_WIDTH,
            "maxWidth": MAX_WIDTH,
        },
        "text": {
            "copied": _("Copied"),
            "copyFailed": _("Select the code and copy it"),
            "previewTitle": _("Preview of the widget"),
        },
    }


@bp.get("/embed/builder")
def builder():
    """For editors: choose the options, see the widget, copy the snippet."""
    lang = g.lang
    config = _builder_config()
    return _with_csp(
        render_template(
            "embed_builder.html",
            config=config,
            lang=lang,
            kinds=[(k, label(KINDS, k, lang)) for k in KINDS],
            amenities=[(k, label(AMENITIES, k, lang)) for k in AMENITIES],
            statuses=[(k, label(STATUSES, k, lang)) for k in STATUSES],
        ),
        BUILDER_CSP,
    )


def _with_csp(html: str, csp: str) -> Response:
    response = Response(html, mimetype="text/html")
    response.headers["Content-Security-Policy"] = csp
    # The preview's "near me" asks for the position inside this page's own iframe.
    response.headers["Permissions-Policy"] = permissions_policy("geolocation")
    return response


def _width() -> int | None:
    text = (request.args.get("width") or "").strip()
    if not text:
        return None
    try:
        width = int(text)
    except ValueError:
        raise InvalidParameter("width must be a whole number of pixels", field="width") from None
    if not MIN_WIDTH <= width <= MAX_WIDTH:
        raise InvalidParameter(f"width must be from {MIN_WIDTH} to {MAX_WIDTH}", field="width")
    return width


@bp.get("/embed/snippet.json")
@answers_json
def snippet():
    """The snippets of a set of options (for the builder): script, iframe, widget URL."""
    width = _width()
    args = request.args.copy()
    args.pop("width", None)
    options, warnings = parse_embed_options(args, embed_context())
    g.lang = options.lang
    root = site_url()
    body = {
        "script": script_snippet(root, options, width=width),
        "iframe": iframe_snippet(root, options, width=width, title=_title(options)),
        "url": embed_url(root, options),
        "preview": url_for("embed.widget", **dict(options.query()), id="preview"),
        "height": options.frame_height(),
        "warnings": [w.to_dict() for w in warnings],
    }
    return current_app.response_class(dumps_bytes(body), mimetype="application/json")


@bp.get("/oembed")
@answers_json
def oembed():
    """oEmbed (JSON, ``rich``) for this site's ``/embed``, ``/`` and ``/f/<id>`` URLs."""
    url, maxwidth, maxheight = parse_oembed_request(request.args)
    root = site_url()
    roots = [root] + (
        [request.url_root.rstrip("/")] if request.url_root.rstrip("/") != root else []
    )
    target = resolve_oembed_url(url, roots)
    options, _warnings = parse_embed_options(MultiDict(target.args), embed_context())
    facility_name = None
    if target.kind == "facility":
        f = state().catalog.current().get(target.facility_id)
        options = facility_options(f, options)
        facility_name = f.name
    g.lang = options.lang
    doc = oembed_document(
        root,
        options,
        title=_title(options, facility_name),
        provider_name=_("Driver service stations"),
        maxwidth=maxwidth,
        maxheight=maxheight,
    )
    response = current_app.response_class(dumps_bytes(doc), mimetype="application/json")
    response.cache_control.public = True
    response.cache_control.max_age = 3600
    return response


def allowed_origins_problems(text: str) -> list[str]:
    """Entries of ``embed_allowed_origins`` that are not origins (logged at start)."""
    return parse_allowed_origins(text)[1]


def init_app(app) -> None:
    """Warn once about allow-list entries that cannot be used."""
    refused = allowed_origins_problems(app.extensions["locator"].settings.embed_allowed_origins)
    if refused:
        app.logger.warning(
            "LOCATOR_EMBED_ALLOWED_ORIGINS: ignoring %s (use scheme://host[:port] or *)",
            ", ".join(refused),
        )
