"""Folium map builders: library code that returns a ``folium.Map``; pages embed its parts.

Every string that comes from data is escaped for HTML *and* for the JavaScript
template literals folium wraps popups and tooltips in (backtick, ``$`` and ``\\``),
so a facility named ``<script>`` or `` `${...}` `` shows as text.

Data are WGS-84. On tiles drawn in another datum (GCJ-02 on Amap) everything drawn is
shifted to that datum first (:class:`TileDatum`); popups still show WGS-84 values.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence

import folium
import numpy as np
import shapely
from branca.element import MacroElement
from folium.elements import JSCSSMixin
from folium.map import Layer
from jinja2 import Template
from markupsafe import Markup, escape

from ..config import tile_layers
from ..crs import from_wgs84, normalize_crs
from ..model import AMENITIES, KINDS, STATUSES, AdminUnit, Facility

#: Marker colours by kind (colour-blind-safe where possible).
KIND_COLORS = {
    "driver_home": "#d62728",
    "service_station": "#1f77b4",
    "service_point": "#2ca02c",
    "logistics_park": "#9467bd",
    "service_area": "#ff7f0e",
    "legal_aid": "#8c564b",
    "other": "#7f7f7f",
}

#: The attribution of the OpenStreetMap data shown on every map (ODbL).
OSM_ATTRIBUTION = (
    'Data &copy; <a href="https://www.openstreetmap.org/copyright">'
    "OpenStreetMap</a> contributors (ODbL)"
)

TILES_UNAVAILABLE = {
    "zh": "底图无法加载，仅显示行政边界",
    "en": "Map tiles unavailable: showing boundaries only",
}

ANHUI_BOUNDS = [[29.39, 114.87], [34.66, 119.65]]

#: Decimals kept of a shifted coordinate: sub-millimetre, so a drawn point is the exact
#: shift of its WGS-84 position to 1e-9 degrees, at half the length of a full float.
SHIFTED_DECIMALS = 9


class TileDatum:
    """Shifts WGS-84 geometry to the datum the tiles are drawn in (GCJ-02 on Amap).

    Only what is drawn moves: data, popups and links stay WGS-84. With WGS-84 tiles
    (or no ``datum``) every method returns its input as it is. Each method converts all
    its coordinates in one vectorised call of :func:`locator.crs.from_wgs84`.
    """

    def __init__(self, tiles: Mapping[str, str | None] | None = None):
        self.name = normalize_crs((tiles or {}).get("datum"))
        self.shifts = self.name != "wgs84"

    def _shift(self, lons, lats) -> tuple[np.ndarray, np.ndarray]:
        lon, lat = from_wgs84(
            np.asarray(lons, dtype=np.float64), np.asarray(lats, dtype=np.float64), self.name
        )
        return np.round(lon, SHIFTED_DECIMALS), np.round(lat, SHIFTED_DECIMALS)

    def _shift_xy(self, xy: np.ndarray) -> np.ndarray:
        lon, lat = self._shift(xy[:, 0], xy[:, 1])
        return np.column_stack((lon, lat))

    def latlngs(
        self, lons: Sequence[float], lats: Sequence[float], decimals: int | None = None
    ) -> list[list[float]]:
        """``[lat, lon]`` pairs to draw (Leaflet's order); ``decimals`` rounds unshifted ones."""
        if self.shifts:
            lon, lat = self._shift(lons, lats)
            return np.column_stack((lat, lon)).tolist()
        if decimals is None:
            return [[lat, lon] for lon, lat in zip(lons, lats, strict=True)]
        return [
            [round(lat, decimals), round(lon, decimals)]
            for lon, lat in zip(lons, lats, strict=True)
        ]

    def bounds(self, bounds: Sequence[Sequence[float]]) -> list[list[float]]:
        """``[[south, west], [north, east]]`` to draw."""
        (south, west), (north, east) = bounds
        if not self.shifts:
            return [[south, west], [north, east]]
        return self.latlngs([west, east], [south, north])

    def geometries(self, shapes: Sequence) -> list:
        """Shapely geometries (``None`` allowed) shifted, every vertex in one call."""
        if not self.shifts:
            return list(shapes)
        return list(shapely.transform(np.asarray(shapes, dtype=object), self._shift_xy))

    def geojson(self, collection: dict) -> dict:
        """A FeatureCollection with its geometries shifted, as a copy (the input may be
        cached and is left as it is)."""
        if not self.shifts:
            return collection
        features = collection["features"]
        shapes = self.geometries(
            [shapely.geometry.shape(f["geometry"]) if f.get("geometry") else None for f in features]
        )
        return {
            **collection,
            "features": [
                {**feature, "geometry": None if shape is None else shapely.geometry.mapping(shape)}
                for feature, shape in zip(features, shapes, strict=True)
            ],
        }


_TEMPLATE_LITERAL = str.maketrans({"`": "&#96;", "$": "&#36;", "\\": "&#92;"})


def safe_text(value: object) -> Markup:
    """``value`` escaped for HTML and for a JavaScript template literal."""
    return Markup(str(escape("" if value is None else value)).translate(_TEMPLATE_LITERAL))


def label(vocabulary: Mapping[str, Mapping[str, str]], key: str, lang: str) -> str:
    """The label of a vocabulary key in ``lang`` (zh or en), or the key itself."""
    return vocabulary.get(key, {}).get(lang) or key


POPUP_LABELS = {
    "zh": {
        "kind": "类型",
        "status": "状态",
        "address": "地址",
        "phone": "电话",
        "hours": "开放时间",
        "amenities": "服务设施",
        "area": "所在地",
        "details": "详情",
    },
    "en": {
        "kind": "Kind",
        "status": "Status",
        "address": "Address",
        "phone": "Phone",
        "hours": "Hours",
        "amenities": "Amenities",
        "area": "Area",
        "details": "Details",
    },
}


def popup_html(f: Facility, lang: str = "zh", detail_url: str | None = None) -> Markup:
    """The popup of one facility; every field escaped."""
    lang = lang if lang in POPUP_LABELS else "zh"
    words = POPUP_LABELS[lang]
    rows = [
        (words["kind"], label(KINDS, f.kind, lang)),
        (words["status"], label(STATUSES, f.status, lang)),
    ]
    area = " ".join(filter(None, (f.city, f.county, f.township)))
    for key, value in (
        ("address", f.address),
        ("phone", f.phone),
        ("hours", f.hours),
        ("area", area),
    ):
        if value:
            rows.append((words[key], value))
    if f.amenities:
        rows.append(
            (words["amenities"], "、".join(label(AMENITIES, a, lang) for a in sorted(f.amenities)))
        )
    body = "".join(f"<tr><th>{safe_text(k)}</th><td>{safe_text(v)}</td></tr>" for k, v in rows)
    link = ""
    if detail_url:
        link = (
            f'<a class="popup-link" href="{safe_text(detail_url)}">'
            f"{safe_text(words['details'])}</a>"
        )
    return Markup(
        f'<div class="facility-popup" data-facility-id="{safe_text(f.id)}">'
        f"<h4>{safe_text(f.name)}</h4><table>{body}</table>{link}</div>"
    )


def marker_icon(kind: str) -> folium.DivIcon:
    """A round marker in the colour of ``kind``."""
    color = KIND_COLORS.get(kind, KIND_COLORS["other"])
    return folium.DivIcon(
        html=f'<span class="facility-dot" style="background:{color}"></span>',
        icon_size=(16, 16),
        icon_anchor=(8, 8),
        class_name=f"facility-marker kind-{kind}",
    )


class FacilityLayer(JSCSSMixin, Layer):
    """Facilities as clustered markers, built in the browser from compact data.

    One array row per facility (``[lat, lon, kind, tooltip, popup]``) instead of a
    block of generated JavaScript per marker keeps the page small for thousands
    of facilities. Tooltip and popup are escaped HTML made in Python; the array is
    embedded with ``tojson``, which escapes ``<``, ``>``, ``&`` and quotes.
    """

    _template = Template("""
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = (function () {
            var colors = {{ this.colors|tojson }};
            var group = L.markerClusterGroup({{ this.cluster_options|tojson }});
            {{ this.rows|tojson }}.forEach(function (row) {
                var kind = row[2];
                var icon = L.divIcon({
                    className: "facility-marker kind-" + kind,
                    html: '<span class="facility-dot" style="background:' +
                          (colors[kind] || colors.other) + '"></span>',
                    iconSize: [16, 16], iconAnchor: [8, 8]});
                var marker = L.marker([row[0], row[1]], {icon: icon, title: row[5]});
                marker.bindTooltip(row[3]);
                marker.bindPopup(row[4], {maxWidth: 320});
                group.addLayer(marker);
            });
            {% if this.show %}group.addTo({{ this._parent.get_name() }});{% endif %}
            return group;
        })();
        {% endmacro %}
    """)

    default_js = [
        (
            "markerclusterjs",
            "https://cdnjs.cloudflare.com/ajax/libs/"
            "leaflet.markercluster/1.4.1/leaflet.markercluster.js",
        )
    ]
    default_css = [
        (
            "markerclustercss",
            "https://cdnjs.cloudflare.com/ajax/libs/leaflet.markercluster/1.4.1/MarkerCluster.css",
        ),
        (
            "markerclusterdefaultcss",
            "https://cdnjs.cloudflare.com/ajax/libs/"
            "leaflet.markercluster/1.4.1/MarkerCluster.Default.css",
        ),
    ]

    def __init__(
        self,
        facilities: Sequence[Facility],
        *,
        lang: str = "zh",
        name: str = "facilities",
        detail_url: Callable[[Facility], str] | None = None,
        assets: Mapping[str, str] | None = None,
        show: bool = True,
        cluster_radius: int = 40,
        datum: TileDatum | None = None,
    ):
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "FacilityLayer"
        self.colors = KIND_COLORS
        self.cluster_options = {"showCoverageOnHover": False, "maxClusterRadius": cluster_radius}
        positions = (datum or TileDatum()).latlngs(
            [f.lon for f in facilities], [f.lat for f in facilities], decimals=6
        )
        self.rows = [
            [
                *position,
                f.kind,
                str(safe_text(f.name)),
                str(popup_html(f, lang, detail_url(f) if detail_url else None)),
                f.name,
            ]
            for f, position in zip(facilities, positions, strict=True)
        ]
        if assets:
            self.default_js = [("markerclusterjs", assets["markercluster_js"])]
            self.default_css = [
                ("markerclustercss", assets["markercluster_css"]),
                ("markerclusterdefaultcss", assets["markercluster_default_css"]),
            ]


class _Legend(MacroElement):
    """A legend control listing kinds with their colours and counts."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        (function () {
            var legend = L.control({position: "bottomright"});
            legend.onAdd = function () {
                var div = L.DomUtil.create("div", "map-legend");
                div.innerHTML = {{ this.html|tojson }};
                return div;
            };
            legend.addTo({{ this._parent.get_name() }});
        })();
        {% endmacro %}
    """)

    def __init__(self, html: str):
        super().__init__()
        self._name = "Legend"
        self.html = html


class _TileFallback(MacroElement):
    """Removes the tile layers when their tiles cannot be reached, leaving boundaries only.

    Drivers often have a poor signal and some networks block tile servers: after
    ``threshold`` failed base tiles and none loaded, the map drops the base layer and
    the label layer above it, and says so instead of showing grey.
    """

    _template = Template("""
        {% macro script(this, kwargs) %}
        (function () {
            var map = {{ this._parent.get_name() }}, layer = {{ this.layers[0].get_name() }};
            var loaded = 0, failed = 0, gaveUp = false;
            layer.on("tileload", function () { loaded += 1; });
            layer.on("tileerror", function () {
                failed += 1;
                if (gaveUp || loaded > 0 || failed < {{ this.threshold }}) { return; }
                gaveUp = true;
                map.removeLayer(layer);
                {%- for labels in this.layers[1:] %} map.removeLayer({{ labels.get_name() }});
                {%- endfor %}
                map.getContainer().classList.add("tiles-unavailable");
                var note = L.control({position: "topright"});
                note.onAdd = function () {
                    var div = L.DomUtil.create("div", "tiles-note");
                    div.textContent = {{ this.message|tojson }};
                    return div;
                };
                note.addTo(map);
            });
        })();
        {% endmacro %}
    """)

    def __init__(self, layers: Sequence[folium.TileLayer], message: str, threshold: int = 4):
        super().__init__()
        self._name = "TileFallback"
        self.layers = list(layers)
        self.message = message
        self.threshold = threshold


class _Attribution(MacroElement):
    """Adds the data attribution to the map's attribution control (shown without tiles too)."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        {{ this._parent.get_name() }}.attributionControl
            .setPrefix('<a href="https://leafletjs.com">Leaflet</a>')
            .addAttribution({{ this.text|tojson }});
        {% endmacro %}
    """)

    def __init__(self, text: str):
        super().__init__()
        self._name = "Attribution"
        self.text = text


def legend_html(counts: Mapping[str, int], lang: str, title: str) -> str:
    """The legend's HTML: one coloured row per kind present."""
    rows = "".join(
        f'<div class="legend-row" data-kind="{kind}"><span class="facility-dot" '
        f'style="background:{KIND_COLORS[kind]}"></span>{escape(label(KINDS, kind, lang))}'
        f' <span class="legend-count">{counts[kind]}</span></div>'
        for kind in KINDS
        if counts.get(kind)
    )
    return f'<div class="legend-title">{escape(title)}</div>{rows}'


def add_tiles(fmap: folium.Map, tiles: Mapping[str, str | None] | None, lang: str) -> None:
    """The provider's base layer and, above it, its label layer (Tianditu), with the
    provider's subdomains and attribution; both go when the tiles cannot be reached."""
    if not (tiles or {}).get("url"):
        return
    layers = []
    for index, spec in enumerate(tile_layers(tiles)["layers"]):
        extra = {"z_index": 2} if index else {}  # labels above the base map
        layer = folium.TileLayer(
            tiles=spec["url"],
            attr=spec["attribution"] or "tiles",
            name="labels" if index else "tiles",
            control=False,
            max_zoom=18,
            subdomains=spec["subdomains"],
            **extra,
        )
        layer.add_to(fmap)
        layers.append(layer)
    _TileFallback(layers, TILES_UNAVAILABLE.get(lang, TILES_UNAVAILABLE["zh"])).add_to(fmap)


def boundaries_geojson(
    units: Sequence[AdminUnit], tolerance: float, datum: TileDatum | None = None
) -> dict:
    """A FeatureCollection of unit outlines, simplified for display (then shifted to
    ``datum``, if given). Names are HTML-escaped: tooltips show them as HTML."""
    units = [unit for unit in units if unit.geometry is not None]
    shapes = [
        shapely.set_precision(
            shapely.simplify(unit.geometry, tolerance, preserve_topology=True), 1e-4
        )
        for unit in units
    ]
    features = [
        {
            "type": "Feature",
            "geometry": shapely.geometry.mapping(shape),
            "properties": {"code": unit.code, "name": str(escape(unit.name)), "level": unit.level},
        }
        for unit, shape in zip(units, (datum or TileDatum()).geometries(shapes), strict=True)
    ]
    return {"type": "FeatureCollection", "features": features}


def build_facility_map(
    facilities: Sequence[Facility],
    admin_units: Sequence[AdminUnit] = (),
    *,
    lang: str = "zh",
    tiles: Mapping[str, str | None] | None = None,
    assets: Mapping[str, str] | None = None,
    detail_url: Callable[[Facility], str] | None = None,
    legend_title: str | None = None,
    layer_names: Mapping[str, str] | None = None,
) -> folium.Map:
    """A map of ``facilities`` coloured by kind and clustered, over admin boundaries.

    Parameters
    ----------
    facilities : the facilities to show (WGS-84).
    admin_units : units whose polygons are drawn (cities, counties, townships).
    lang : ``"zh"`` or ``"en"`` for labels.
    tiles : a provider of :data:`locator.config.TILE_PROVIDERS` (``url``, ``attribution``,
        optional ``labels``, ``subdomains`` and ``datum``); a ``None`` url draws no
        tiles. On ``gcj02`` tiles everything is drawn shifted to GCJ-02.
    assets : URLs of Leaflet and MarkerCluster files, to serve them locally;
        keys ``leaflet_js``, ``leaflet_css``, ``markercluster_js``,
        ``markercluster_css``, ``markercluster_default_css``.
    detail_url : builds the link of a facility's page, shown in its popup.

    Examples
    --------
    >>> from locator.model import Facility
    >>> m = build_facility_map([Facility("a", "司机之家", "driver_home", 117.2, 31.8)])
    >>> "facility-marker" in m.get_root().render()
    True
    """
    tiles = tiles or {"url": None, "attribution": ""}
    names = (
        {"city": "市界", "county": "县区界", "township": "乡镇街道界", "facilities": "站点"}
        if lang == "zh"
        else {
            "city": "Cities",
            "county": "Counties",
            "township": "Townships",
            "facilities": "Facilities",
        }
    )
    names.update(layer_names or {})
    datum = TileDatum(tiles)
    fmap = folium.Map(
        location=datum.latlngs([117.25], [31.85])[0],
        zoom_start=7,
        tiles=None,
        control_scale=True,
        prefer_canvas=False,
    )
    fmap.options["max_zoom"] = 18  # MarkerCluster needs it; without tiles nothing sets it
    if assets:
        _use_local_assets(fmap, assets)
    add_tiles(fmap, tiles, lang)
    _Attribution(OSM_ATTRIBUTION).add_to(fmap)

    styles = {
        "city": {"color": "#444", "weight": 2, "fill": False},
        "county": {"color": "#888", "weight": 1, "fill": False, "dashArray": "4 3"},
        "township": {"color": "#6a9fb5", "weight": 0.8, "fill": False},
    }
    tolerances = {"city": 0.004, "county": 0.002, "township": 0.0008}
    for level in ("city", "county", "township"):
        units = [u for u in admin_units if u.level == level and u.geometry is not None]
        if not units:
            continue
        style = styles[level]
        layer = folium.GeoJson(
            boundaries_geojson(units, tolerances[level], datum),
            name=names[level],
            style_function=lambda _feature, style=style: style,
            show=level != "township",
            control=True,
            smooth_factor=1.0,
            tooltip=folium.GeoJsonTooltip(fields=["name"], labels=False, sticky=False)
            if level == "township"
            else None,
        )
        layer.add_to(fmap)

    layer = FacilityLayer(
        facilities,
        lang=lang,
        name=names["facilities"],
        detail_url=detail_url,
        assets=assets,
        datum=datum,
    )
    layer.add_to(fmap)

    counts: dict[str, int] = {}
    for f in facilities:
        counts[f.kind] = counts.get(f.kind, 0) + 1
    title = legend_title or ("站点类型" if lang == "zh" else "Kinds")
    _Legend(legend_html(counts, lang, title)).add_to(fmap)
    folium.LayerControl(collapsed=True).add_to(fmap)
    fmap.fit_bounds(datum.bounds(ANHUI_BOUNDS))
    return fmap


def _use_local_assets(fmap: folium.Map, assets: Mapping[str, str]) -> None:
    """Point the map at locally served Leaflet instead of CDNs (no jQuery or Bootstrap)."""
    fmap.default_js = [("leaflet", assets["leaflet_js"])]
    fmap.default_css = [("leaflet_css", assets["leaflet_css"])]


#: Folium's ``<meta name="viewport">``, which forbids zooming (``user-scalable=no``): the
#: page that embeds the map has its own, which lets readers zoom.
_FOLIUM_VIEWPORT = re.compile(r"<meta\s+name=\"viewport\"[^>]*>", re.IGNORECASE)


def map_parts(fmap: folium.Map) -> dict[str, Markup]:
    """The header (scripts, styles; not folium's viewport), body and script of a map, to
    embed in a page."""
    root = fmap.get_root()
    root.render()
    return {
        "header": Markup(_FOLIUM_VIEWPORT.sub("", root.header.render())),
        "html": Markup(root.html.render()),
        "script": Markup(root.script.render()),
    }


def geojson_dumps(data: object) -> str:
    """Compact JSON for embedding GeoJSON."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))
