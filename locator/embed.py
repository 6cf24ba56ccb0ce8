"""The embeddable map widget: its options, the data it loads, the snippets editors paste
and the oEmbed document. No Flask here; :mod:`locator.web.embed` is the thin adapter.

A union website shows the widget with one line::

    <script src="https://HOST/embed.js" data-city="合肥市" data-kind="driver_home" async></script>

The loader turns the ``data-*`` attributes into the query of ``/embed`` and inserts an
iframe. Every query parameter is checked here by :func:`parse_embed_options`: a bad one
falls back to its default and is reported as an :class:`EmbedWarning` (the widget prints
them with ``console.warn``), so a typo never breaks a partner's page.

Examples
--------
>>> context = EmbedContext(cities=(Place("340100", "合肥市", "city"),), counties=(),
...                        tiles=("osm", "none"), default_tiles="osm")
>>> options, warnings = parse_embed_options(
...     {"city": "合肥", "kind": "司机之家,nonsense", "zoom": "40"}, context)
>>> options.city.code, options.kinds, options.zoom
('340100', ('driver_home',), None)
>>> [(w.param, w.value) for w in warnings]
[('kind', 'nonsense'), ('zoom', '40')]
"""

from __future__ import annotations

import re
from collections.abc import Container, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

from markupsafe import escape

from .catalog import FacilityFilter
from .errors import InvalidParameter, LocatorError, NotFound
from .model import (
    AMENITIES,
    KINDS,
    STATUSES,
    AdminUnit,
    Facility,
    check_lon_lat,
    parse_amenity,
    parse_kind,
    parse_status,
)
from .navigation import navigation_links, phone_links
from .nearest import REST_KINDS
from .service_areas import ServiceArea

#: Languages of the widget.
LANGUAGES = ("zh", "en")
#: Colour themes of the widget.
THEMES = ("light", "dark")
#: Zoom levels a partner may ask for (tiles exist from 3 to 18).
MIN_ZOOM, MAX_ZOOM = 3, 18
#: The map's height in CSS pixels: default and range.
DEFAULT_HEIGHT, MIN_HEIGHT, MAX_HEIGHT = 400, 160, 1600
#: The widget's width limit in the snippets (CSS pixels; none means the container's width).
MIN_WIDTH, MAX_WIDTH = 200, 4000
#: Statuses shown when the partner names none: the stations a driver can use today.
DEFAULT_STATUSES = ("open",)
#: Longer values are refused (no legitimate value comes near it).
MAX_VALUE_LENGTH = 200
#: At most this many facilities in one widget.
MAX_FEATURES = 5000
#: What the loader passes as ``id`` (to tell several widgets on one page apart).
_ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")
#: Extra height of a plain iframe (without the loader's resizing) that shows the list.
LIST_HEIGHT = 240
#: The footer line under the map.
FOOTER_HEIGHT = 28

#: The parameters of ``/embed``, with what each means (for the README and the builder).
PARAMETERS: dict[str, str] = {
    "city": "a city of Anhui, by name (合肥市, 合肥) or code (340100)",
    "county": "a county or district, by name or code (within the city, if one is given)",
    "kind": "facility kinds, keys or labels, comma-separated or repeated (default: places "
    "to stop, without logistics parks; any for every kind)",
    "amenity": "amenities every shown facility must have, comma-separated or repeated",
    "status": "statuses to show (default open; any for all)",
    "center": "the map's centre as lon,lat (WGS-84)",
    "zoom": f"the map's zoom level, {MIN_ZOOM}-{MAX_ZOOM}",
    "lang": "zh or en",
    "theme": "light or dark",
    "list": "on or off: the list of facilities under the map",
    "tiles": "the base map: osm, amap, tianditu (when configured) or none",
    "height": f"the map's height in pixels, {MIN_HEIGHT}-{MAX_HEIGHT}",
    "focus": "a facility id whose popup opens at start",
    "id": "set by the loader: the widget's name in its height messages",
}

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}
_MULTI = {"kind", "amenity", "status"}


class OEmbedFormatNotImplemented(LocatorError):
    """oEmbed asked for a format other than JSON (the spec's 501)."""

    status = 501
    code = "not_implemented"


# ---- admin units and what validation checks against ------------------------------------
@dataclass(frozen=True)
class Place:
    """A city or county the widget can be limited to."""

    code: str
    name: str
    level: str
    parent_code: str | None = None


def _short(name: str) -> str:
    """A name without its administrative suffix: 合肥市 -> 合肥, 肥西县 -> 肥西."""
    for suffix in ("自治县", "市", "县", "区"):
        if name.endswith(suffix) and len(name) > len(suffix) + 1:
            return name[: -len(suffix)]
    return name


@dataclass(frozen=True)
class EmbedContext:
    """What the options are checked against: admin units, tile providers, facility ids."""

    cities: tuple[Place, ...] = ()
    counties: tuple[Place, ...] = ()
    tiles: tuple[str, ...] = ("none",)
    default_tiles: str = "none"
    facility_ids: Container[str] = field(default_factory=frozenset)

    @classmethod
    def from_units(
        cls,
        units: Iterable[AdminUnit],
        *,
        tiles: Sequence[str],
        default_tiles: str,
        facility_ids: Container[str] = frozenset(),
    ) -> EmbedContext:
        """A context from the stored admin units (cities and counties only)."""
        cities, counties = [], []
        for unit in units:
            if unit.level == "city":
                cities.append(Place(unit.code, unit.name, "city", unit.parent_code))
            elif unit.level == "county":
                counties.append(Place(unit.code, unit.name, "county", unit.parent_code))
        return cls(
            tuple(sorted(cities, key=lambda p: p.code)),
            tuple(sorted(counties, key=lambda p: p.code)),
            tuple(tiles),
            default_tiles,
            facility_ids,
        )

    def find(self, text: str, places: Iterable[Place]) -> list[Place]:
        """Places whose code, name or short name (without 市/县/区) is ``text``."""
        text = text.strip()
        found = [p for p in places if text in (p.code, p.name)]
        if not found:
            found = [p for p in places if _short(p.name) == _short(text)]
        return found

    def counties_of(self, city: Place | None) -> tuple[Place, ...]:
        """The counties of ``city`` (all counties without one)."""
        if city is None:
            return self.counties
        return tuple(p for p in self.counties if p.parent_code == city.code)


# ---- options ---------------------------------------------------------------------------
@dataclass(frozen=True)
class EmbedWarning:
    """A parameter that was not understood, and what was used instead."""

    param: str
    value: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"param": self.param, "value": self.value, "message": self.message}


@dataclass(frozen=True)
class EmbedOptions:
    """What one widget shows; every field valid (see :func:`parse_embed_options`)."""

    city: Place | None = None
    county: Place | None = None
    kinds: tuple[str, ...] = ()  # none: places to stop (REST_KINDS); every kind: ``any``
    amenities: tuple[str, ...] = ()
    statuses: tuple[str, ...] = DEFAULT_STATUSES
    center: tuple[float, float] | None = None
    zoom: int | None = None
    lang: str = "zh"
    theme: str = "light"
    list: bool = False
    tiles: str | None = None  # None: the site's default provider
    height: int = DEFAULT_HEIGHT
    focus: str | None = None
    id: str | None = None

    def query(self, *, with_id: bool = False) -> list[tuple[str, str]]:
        """The options as query parameters, defaults left out, in a stable order."""
        pairs: list[tuple[str, str]] = []
        if self.city:
            pairs.append(("city", self.city.name))
        if self.county:
            pairs.append(("county", self.county.name))
        if self.kinds:
            pairs.append(("kind", self._kind_value()))
        if self.amenities:
            pairs.append(("amenity", ",".join(self.amenities)))
        if self.statuses != DEFAULT_STATUSES:
            pairs.append(
                (
                    "status",
                    "any" if set(self.statuses) == set(STATUSES) else ",".join(self.statuses),
                )
            )
        if self.center:
            pairs.append(("center", f"{self.center[0]:.6f},{self.center[1]:.6f}"))
        if self.zoom is not None:
            pairs.append(("zoom", str(self.zoom)))
        if self.lang != "zh":
            pairs.append(("lang", self.lang))
        if self.theme != "light":
            pairs.append(("theme", self.theme))
        if self.list:
            pairs.append(("list", "on"))
        if self.tiles:
            pairs.append(("tiles", self.tiles))
        if self.height != DEFAULT_HEIGHT:
            pairs.append(("height", str(self.height)))
        if self.focus:
            pairs.append(("focus", self.focus))
        if with_id and self.id:
            pairs.append(("id", self.id))
        return pairs

    def data_query(self) -> list[tuple[str, str]]:
        """The query of the widget's data: the filters only, admin units by code."""
        pairs = []
        if self.city:
            pairs.append(("city", self.city.code))
        if self.county:
            pairs.append(("county", self.county.code))
        if self.kinds:
            pairs.append(("kind", self._kind_value()))
        if self.amenities:
            pairs.append(("amenity", ",".join(self.amenities)))
        if set(self.statuses) != set(STATUSES):
            pairs.append(("status", ",".join(self.statuses)))
        return pairs

    def _kind_value(self) -> str:
        return "any" if set(self.kinds) == set(KINDS) else ",".join(self.kinds)

    def facility_filter(self) -> FacilityFilter:
        """The catalog filter of the facilities this widget shows (places to stop unless
        kinds are asked for)."""
        return FacilityFilter(
            kinds=frozenset(self.kinds) or REST_KINDS,
            amenities=frozenset(self.amenities),
            statuses=frozenset(self.statuses)
            if set(self.statuses) != set(STATUSES)
            else frozenset(),
            city=self.city.code if self.city else None,
            county=self.county.code if self.county else None,
        )

    def frame_height(self) -> int:
        """The height of a plain iframe (no resizing) that shows this widget whole."""
        return self.height + FOOTER_HEIGHT + (LIST_HEIGHT if self.list else 0)


def _values(args: Mapping, name: str) -> list[str]:
    raw = args.getlist(name) if hasattr(args, "getlist") else args.get(name)
    if raw is None:
        return []
    return [str(v) for v in (raw if isinstance(raw, list | tuple) else [raw])]


class _Parser:
    """Collects warnings while reading one set of parameters."""

    def __init__(self, args: Mapping):
        self.args = args
        self.warnings: list[EmbedWarning] = []

    def warn(self, param: str, value: str, message: str) -> None:
        self.warnings.append(EmbedWarning(param, value[:MAX_VALUE_LENGTH], message))

    def single(self, name: str) -> str | None:
        values = _values(self.args, name)
        if not values:
            return None
        if len(values) > 1 and len(set(values)) > 1:
            self.warn(
                name, ",".join(values), f"{name} is given {len(values)} times; the first is used"
            )
        value = values[0].strip()
        if len(value) > MAX_VALUE_LENGTH:
            self.warn(name, value, f"{name} is longer than {MAX_VALUE_LENGTH} characters; ignored")
            return None
        return value or None

    def several(self, name: str) -> list[str]:
        items = []
        for value in _values(self.args, name):
            if len(value) > MAX_VALUE_LENGTH:
                self.warn(
                    name, value, f"{name} is longer than {MAX_VALUE_LENGTH} characters; ignored"
                )
                continue
            items.extend(
                part.strip() for part in value.replace("，", ",").split(",") if part.strip()
            )
        return items

    def keys(self, name: str, parse, order: Iterable[str]) -> tuple[str, ...]:
        """Vocabulary keys (labels accepted), bad ones reported and dropped."""
        found = set()
        for item in self.several(name):
            try:
                found.add(parse(item))
            except InvalidParameter as exc:
                self.warn(name, item, exc.message)
        return tuple(key for key in order if key in found)

    def integer(self, name: str, low: int, high: int) -> int | None:
        text = self.single(name)
        if text is None:
            return None
        try:
            value = int(text)
        except ValueError:
            self.warn(name, text, f"{name} must be a whole number from {low} to {high}")
            return None
        if not low <= value <= high:
            self.warn(name, text, f"{name} must be from {low} to {high}")
            return None
        return value

    def choice(
        self,
        name: str,
        choices: Sequence[str],
        default: str,
        aliases: Mapping[str, str] | None = None,
    ) -> str:
        text = self.single(name)
        if text is None:
            return default
        key = text.lower()
        key = (aliases or {}).get(key, key)
        if key not in choices:
            self.warn(name, text, f"{name} must be one of {', '.join(choices)}; using {default}")
            return default
        return key


def parse_embed_options(
    args: Mapping, context: EmbedContext
) -> tuple[EmbedOptions, list[EmbedWarning]]:
    """Valid options from the query of ``/embed``, and a warning for each bad parameter.

    A bad value never raises: it falls back to the default (or, in a list such as
    ``kind``, is dropped) and is reported with the parameter's name.

    Parameters
    ----------
    args : the query parameters (a werkzeug ``MultiDict`` or a plain mapping).
    context : the admin units, tile providers and facility ids to check against.
    """
    p = _Parser(args)
    for name in sorted(set(args) - set(PARAMETERS)):
        p.warn(
            name,
            ",".join(_values(args, name)),
            f"unknown parameter {name!r}; known: {', '.join(PARAMETERS)}",
        )

    city = None
    city_text = p.single("city")
    if city_text is not None:
        found = context.find(city_text, context.cities)
        if len(found) == 1:
            city = found[0]
        else:
            p.warn("city", city_text, f"no city named {city_text!r}; showing every city")

    county = None
    county_text = p.single("county")
    if county_text is not None:
        found = context.find(county_text, context.counties_of(city))
        if len(found) == 1:
            county = found[0]
        elif len(found) > 1:
            p.warn(
                "county", county_text, f"{county_text!r} names {len(found)} counties; add the city"
            )
        elif city is not None and context.find(county_text, context.counties):
            p.warn("county", county_text, f"{county_text!r} is not in {city.name}")
        else:
            p.warn("county", county_text, f"no county named {county_text!r}")

    if [k.strip().lower() for k in _values(p.args, "kind")] == ["any"]:
        kinds = tuple(KINDS)
    else:
        kinds = p.keys("kind", parse_kind, KINDS)
    amenities = p.keys("amenity", parse_amenity, AMENITIES)

    statuses = DEFAULT_STATUSES
    status_items = p.several("status")
    if [s.lower() for s in status_items] == ["any"]:
        statuses = tuple(STATUSES)
    elif status_items:
        statuses = p.keys("status", parse_status, STATUSES) or DEFAULT_STATUSES

    center = None
    center_text = p.single("center")
    if center_text is not None:
        parts = center_text.split(",")
        try:
            if len(parts) != 2:
                raise InvalidParameter("center must be lon,lat")
            center = check_lon_lat(parts[0], parts[1])
        except InvalidParameter as exc:
            p.warn(
                "center", center_text, f"center must be lon,lat in degrees (WGS-84): {exc.message}"
            )

    zoom = p.integer("zoom", MIN_ZOOM, MAX_ZOOM)
    lang = p.choice(
        "lang",
        LANGUAGES,
        "zh",
        {"zh-cn": "zh", "zh_cn": "zh", "zh-hans": "zh", "en-us": "en", "en-gb": "en"},
    )
    theme = p.choice("theme", THEMES, "light")

    show_list = False
    list_text = p.single("list")
    if list_text is not None:
        if list_text.lower() in _TRUE:
            show_list = True
        elif list_text.lower() not in _FALSE:
            p.warn("list", list_text, "list must be on or off; using off")

    tiles = None
    tiles_text = p.single("tiles")
    if tiles_text is not None:
        if tiles_text.lower() in context.tiles:
            tiles = tiles_text.lower()
        elif tiles_text.lower() == "tianditu":
            p.warn(
                "tiles",
                tiles_text,
                "tianditu needs a key on the server "
                f"(LOCATOR_TIANDITU_KEY); using {context.default_tiles}",
            )
        else:
            p.warn(
                "tiles",
                tiles_text,
                f"tiles must be one of {', '.join(context.tiles)}; using {context.default_tiles}",
            )

    height = p.integer("height", MIN_HEIGHT, MAX_HEIGHT) or DEFAULT_HEIGHT

    focus = p.single("focus")
    if focus is not None and focus not in context.facility_ids:
        p.warn("focus", focus, f"no facility with id {focus!r}")
        focus = None

    frame_id = p.single("id")
    if frame_id is not None and not _ID_PATTERN.fullmatch(frame_id):
        p.warn("id", frame_id, "id must be 1-64 letters, digits, - or _")
        frame_id = None

    options = EmbedOptions(
        city=city,
        county=county,
        kinds=kinds,
        amenities=amenities,
        statuses=statuses,
        center=center,
        zoom=zoom,
        lang=lang,
        theme=theme,
        list=show_list,
        tiles=tiles,
        height=height,
        focus=focus,
        id=frame_id,
    )
    return options, p.warnings


def facility_options(facility: Facility, base: EmbedOptions | None = None) -> EmbedOptions:
    """A widget centred on ``facility`` with its popup open (for ``/f/<id>`` in oEmbed)."""
    return replace(
        base or EmbedOptions(),
        center=(facility.lon, facility.lat),
        zoom=15,
        focus=facility.id,
        statuses=tuple(STATUSES),
    )


# ---- the widget's data -----------------------------------------------------------------
def marker_feature(f: Facility, place: ServiceArea | None = None) -> dict:
    """The compact GeoJSON Feature of one facility in the widget's data: what its marker
    and list item show (name, kind, status; for a side of a paired service area, the
    ``place`` id and ``place_name``, so that the list shows the place once). The popup's
    details come on demand (:func:`popup_details`), so the data stays small for
    thousands of facilities."""
    props = {"name": f.name, "kind": f.kind, "status": f.status}
    if place is not None and place.paired:
        props["place"] = place.id
        props["place_name"] = place.name
    return {
        "type": "Feature",
        "id": f.id,
        "geometry": {"type": "Point", "coordinates": [round(f.lon, 6), round(f.lat, 6)]},
        "properties": props,
    }


def popup_details(f: Facility) -> dict:
    """What a facility's popup shows, as on its page ``/f/<id>``: address, area, hours,
    phones (with ``tel:`` links), amenities, truck parking, operator, and the navigation
    links of :func:`locator.navigation.navigation_links`; empty fields are left out.
    Labels are not included: the widget has them in its language."""
    props: dict = {"id": f.id, "name": f.name, "kind": f.kind, "status": f.status}
    area = " ".join(filter(None, (f.city, f.county, f.township)))
    for key, value in (
        ("address", f.address),
        ("area", area),
        ("hours", f.hours),
        ("operator", f.operator),
    ):
        if value:
            props[key] = value
    if f.phone:
        props["phones"] = [list(pair) for pair in phone_links(f.phone)] or [[f.phone, ""]]
    if f.amenities:
        props["amenities"] = [a for a in AMENITIES if a in f.amenities]
    if f.truck_parking_spaces is not None:
        props["truck_parking"] = f.truck_parking_spaces
    props["nav"] = [[link.app, link.url] for link in navigation_links(f)]
    return props


# ---- snippets --------------------------------------------------------------------------
def _attrs(pairs: Iterable[tuple[str, str | int | None]]) -> str:
    return " ".join(f'{name}="{escape(str(value))}"' for name, value in pairs if value is not None)


def embed_url(site_url: str, options: EmbedOptions) -> str:
    """The address of the widget page for ``options`` under ``site_url`` (no trailing /)."""
    query = urlencode(options.query())
    return f"{site_url}/embed" + (f"?{query}" if query else "")


#: The iframe's sandbox: its own scripts and origin (for its data), links in new tabs;
#: never the host page's navigation.
SANDBOX = "allow-scripts allow-same-origin allow-popups allow-popups-to-escape-sandbox"


def script_snippet(site_url: str, options: EmbedOptions, *, width: int | None = None) -> str:
    """The one-line ``<script>`` an editor pastes; each option a ``data-*`` attribute.

    Every value is HTML-escaped, so no option can close the attribute or the tag.

    >>> script_snippet("https://example.org", EmbedOptions(kinds=("driver_home",)))
    '<script src="https://example.org/embed.js" data-kind="driver_home" async></script>'
    """
    pairs: list[tuple[str, str | int | None]] = [("src", f"{site_url}/embed.js")]
    pairs += [(f"data-{name}", value) for name, value in options.query()]
    if width:
        pairs.append(("data-width", width))
    return f"<script {_attrs(pairs)} async></script>"


def iframe_snippet(
    site_url: str,
    options: EmbedOptions,
    *,
    width: int | None = None,
    height: int | None = None,
    title: str = "",
) -> str:
    """A plain ``<iframe>`` of the widget, for sites that do not allow scripts.

    Without the loader nothing resizes it: it is tall enough for the map and the list.
    """
    height = height or options.frame_height()
    style = "border:0;display:block;width:100%" + (f";max-width:{width}px" if width else "")
    pairs: list[tuple[str, str | int | None]] = [
        ("src", embed_url(site_url, options)),
        ("title", title or None),
        ("width", width or "100%"),
        ("height", height),
        ("style", style),
        ("loading", "lazy"),
        ("allow", "geolocation"),
        ("referrerpolicy", "strict-origin-when-cross-origin"),
        ("sandbox", SANDBOX),
    ]
    return f"<iframe {_attrs(pairs)}></iframe>"


# ---- oEmbed ----------------------------------------------------------------------------
#: The size of an oEmbed iframe when the consumer sets no limit.
OEMBED_WIDTH, OEMBED_HEIGHT = 640, 480


@dataclass(frozen=True)
class OEmbedTarget:
    """What an oEmbed ``url`` points at: the widget (with its query) or a facility."""

    kind: str  # "embed" or "facility"
    args: tuple[tuple[str, str], ...] = ()
    facility_id: str | None = None


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


def resolve_oembed_url(url: str, site_urls: Sequence[str]) -> OEmbedTarget:
    """Which widget an oEmbed ``url`` asks for; :class:`NotFound` unless it is this site's
    ``/embed``, ``/`` or ``/f/<id>`` (under one of ``site_urls``, with their path prefix).
    """
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise NotFound("url must be an address of this site's /embed, / or /f/<id>", field="url")
    for site in site_urls:
        site_parts = urlsplit(site)
        if _origin(site) != (parts.scheme.lower(), parts.netloc.lower()):
            continue
        prefix = site_parts.path.rstrip("/")
        if not parts.path.startswith(prefix + "/"):
            continue
        path = parts.path[len(prefix) :]
        args = tuple(parse_qsl(parts.query, keep_blank_values=True))
        if path == "/embed":
            return OEmbedTarget("embed", args)
        if path == "/":
            return OEmbedTarget("embed", tuple((k, v) for k, v in args if k == "lang"))
        if path.startswith("/f/") and len(path) > 3 and not path.endswith("/qr.svg"):
            return OEmbedTarget(
                "facility", tuple((k, v) for k, v in args if k == "lang"), unquote(path[3:])
            )
    raise NotFound("url must be an address of this site's /embed, / or /f/<id>", field="url")


def parse_oembed_request(args: Mapping) -> tuple[str, int | None, int | None]:
    """``url``, ``maxwidth`` and ``maxheight`` of an oEmbed request.

    Raises :class:`OEmbedFormatNotImplemented` for a format other than JSON and
    :class:`InvalidParameter` for a missing url or a bad size.
    """
    fmt = (args.get("format") or "json").strip().lower()
    if fmt != "json":
        raise OEmbedFormatNotImplemented(
            f"format {fmt!r} is not available; use json", field="format"
        )
    url = (args.get("url") or "").strip()
    if not url:
        raise InvalidParameter("url is required", field="url")
    sizes = []
    for name in ("maxwidth", "maxheight"):
        text = (args.get(name) or "").strip()
        if not text:
            sizes.append(None)
            continue
        try:
            value = int(text)
        except ValueError:
            raise InvalidParameter(f"{name} must be a whole number of pixels", field=name) from None
        if value < 1:
            raise InvalidParameter(f"{name} must be positive", field=name)
        sizes.append(value)
    return url, sizes[0], sizes[1]


def oembed_document(
    site_url: str,
    options: EmbedOptions,
    *,
    title: str,
    provider_name: str,
    maxwidth: int | None = None,
    maxheight: int | None = None,
) -> dict:
    """The oEmbed 1.0 ``rich`` response: an iframe no larger than ``maxwidth`` x
    ``maxheight``; the map's height is set so that the widget fits the iframe."""
    width = min(OEMBED_WIDTH, maxwidth) if maxwidth else OEMBED_WIDTH
    height = min(OEMBED_HEIGHT, maxheight) if maxheight else OEMBED_HEIGHT
    extra = FOOTER_HEIGHT + (LIST_HEIGHT if options.list else 0)
    map_height = min(MAX_HEIGHT, max(MIN_HEIGHT, height - extra))
    options = replace(options, height=map_height, id=None)
    html = iframe_snippet(site_url, options, width=width, height=height, title=title)
    return {
        "version": "1.0",
        "type": "rich",
        "provider_name": provider_name,
        "provider_url": f"{site_url}/",
        "title": title,
        "html": html,
        "width": width,
        "height": height,
        "cache_age": 3600,
    }


# ---- Content-Security-Policy -----------------------------------------------------------
_HOST_SOURCE = re.compile(
    r"(?P<scheme>https?)://(?P<host>(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?"
    r"(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*)(:(?P<port>\d{1,5}|\*))?/?"
)


def parse_allowed_origins(text: str) -> tuple[list[str], list[str]]:
    """The origins of ``embed_allowed_origins`` as CSP sources, and the entries refused.

    Entries are comma- or space-separated: ``*`` (any site), or
    ``scheme://host[:port]`` with an optional ``*.`` wildcard for subdomains.

    >>> parse_allowed_origins("https://gh.example.org, http://*.ahzgh.cn:8080/, javascript:x")
    (['https://gh.example.org', 'http://*.ahzgh.cn:8080'], ['javascript:x'])
    """
    sources, refused = [], []
    for entry in re.split(r"[\s,]+", text or ""):
        if not entry:
            continue
        if entry == "*":
            sources.append("*")
            continue
        match = _HOST_SOURCE.fullmatch(entry.lower())
        if match is None:
            refused.append(entry)
            continue
        source = f"{match['scheme']}://{match['host']}"
        if match["port"]:
            source += f":{match['port']}"
        if source not in sources:
            sources.append(source)
    return sources, refused


def frame_ancestors(text: str) -> str:
    """The ``frame-ancestors`` directive of the widget: this site, and the allowed origins.

    >>> frame_ancestors("*")
    'frame-ancestors *'
    >>> frame_ancestors("https://a.example, bad value")
    "frame-ancestors 'self' https://a.example"
    >>> frame_ancestors("")
    "frame-ancestors 'self'"
    """
    sources, _refused = parse_allowed_origins(text)
    if "*" in sources:
        return "frame-ancestors *"
    return " ".join(["frame-ancestors", "'self'", *sources])


def tile_sources(urls: Iterable[str | None]) -> list[str]:
    """CSP ``img-src`` sources of tile URL templates: ``{s}`` in the first label of the
    host becomes ``*.``; a placeholder elsewhere in the host allows the whole scheme."""
    sources: list[str] = []
    for url in urls:
        if not url:
            continue
        parts = urlsplit(url)
        host = parts.netloc
        labels = host.split(".")
        if "{" in ".".join(labels[1:]) or not parts.scheme:
            source = f"{parts.scheme or 'https'}:"
        elif "{" in labels[0]:
            source = f"{parts.scheme}://*." + ".".join(labels[1:])
        else:
            source = f"{parts.scheme}://{host}"
        if source not in sources:
            sources.append(source)
    return sources


def image_sources(tile_urls: Iterable[str | None]) -> str:
    """The ``img-src`` sources of a page with a Leaflet map: this site, ``data:`` (the
    blank image Leaflet puts into unloaded tiles) and the tile servers.

    >>> image_sources(["https://tile.openstreetmap.org/{z}/{x}/{y}.png", None])
    "'self' data: https://tile.openstreetmap.org"
    """
    return " ".join(["'self'", "data:", *tile_sources(tile_urls)])


def widget_csp(ancestors: str, tile_urls: Iterable[str | None]) -> str:
    """The widget page's policy: its own scripts and styles only (no inline code), data
    from this site, images from this site and the tile servers, framed per the allow-list.
    """
    return (
        "default-src 'none'; script-src 'self'; style-src 'self'; "
        f"img-src {image_sources(tile_urls)}; connect-src 'self'; base-uri 'none'; "
        f"form-action 'none'; {ancestors}"
    )
