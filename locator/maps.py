"""Folium map builders: library code that returns a ``folium.Map``; pages embed its parts.

Every string that comes from data is escaped for HTML *and* for the JavaScript
template literals folium wraps popups and tooltips in (backtick, ``$`` and ``\\``),
so a facility named ``<script>`` or `` `${...}` `` shows as text.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence

import folium
import shapely
from branca.element import MacroElement
from folium.elements import JSCSSMixin
from folium.map import Layer
from jinja2 import Template
from markupsafe import Markup, escape

from .model import AMENITIES, KINDS, STATUSES, AdminUnit, Facility

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
OSM_ATTRIBUTION = ('Data &copy; <a href="https://www.openstreetmap.org/copyright">'
                   "OpenStreetMap</a> contributors (ODbL)")

TILES_UNAVAILABLE = {"zh": "底图无法加载，仅显示行政边界",
                     "en": "Map tiles unavailable: showing boundaries only"}

ANHUI_BOUNDS = [[29.39, 114.87], [34.66, 119.65]]

_TEMPLATE_LITERAL = str.maketrans({"`": "&#96;", "$": "&#36;", "\\": "&#92;"})


def safe_text(value: object) -> Markup:
    """``value`` escaped for HTML and for a JavaScript template literal."""
    return Markup(str(escape("" if value is None else value)).translate(_TEMPLATE_LITERAL))


def label(vocabulary: Mapping[str, Mapping[str, str]], key: str, lang: str) -> str:
    """The label of a vocabulary key in ``lang`` (zh or en), or the key itself."""
    return vocabulary.get(key, {}).get(lang) or key


POPUP_LABELS = {
    "zh": {"kind": "类型", "status": "状态", "address": "地址", "phone": "电话",
           "hours": "开放时间", "amenities": "服务设施", "area": "所在地", "details": "详情"},
    "en": {"kind": "Kind", "status": "Status", "address": "Address", "phone": "Phone",
           "hours": "Hours", "amenities": "Amenities", "area": "Area", "details": "Details"},
}


def popup_html(f: Facility, lang: str = "zh", detail_url: str | None = None) -> Markup:
    """The popup of one facility; every field escaped."""
    lang = lang if lang in POPUP_LABELS else "zh"
    words = POPUP_LABELS[lang]
    rows = [(words["kind"], label(KINDS, f.kind, lang)),
            (words["status"], label(STATUSES, f.status, lang))]
    area = " ".join(filter(None, (f.city, f.county, f.township)))
    for key, value in (("address", f.address), ("phone", f.phone), ("hours", f.hours),
                       ("area", area)):
        if value:
            rows.append((words[key], value))
    if f.amenities:
        rows.append((words["amenities"], "、".join(
            label(AMENITIES, a, lang) for a in sorted(f.amenities))))
    body = "".join(f"<tr><th>{safe_text(k)}</th><td>{safe_text(v)}</td></tr>" for k, v in rows)
    link = ""
    if detail_url:
        link = (f'<a class="popup-link" href="{safe_text(detail_url)}">'
                f'{safe_text(words["details"])}</a>')
    return Markup(f'<div class="facility-popup" data-facility-id="{safe_text(f.id)}">'
                  f"<h4>{safe_text(f.name)}</h4><table>{body}</table>{link}</div>")


def marker_icon(kind: str) -> folium.DivIcon:
    """A round marker in the colour of ``kind``."""
    color = KIND_COLORS.get(kind, KIND_COLORS["other"])
    return folium.DivIcon(
        html=f'<span class="facility-dot" style="background:{color}"></span>',
        icon_size=(16, 16), icon_anchor=(8, 8), class_name=f"facility-marker kind-{kind}")


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

    default_js = [("markerclusterjs", "https://cdnjs.cloudflare.com/ajax/libs/"
                   "leaflet.markercluster/1.4.1/leaflet.markercluster.js")]
    default_css = [
        ("markerclustercss", "https://cdnjs.cloudflare.com/ajax/libs/leaflet.markercluster/"
         "1.4.1/MarkerCluster.css"),
        ("markerclusterdefaultcss", "https://cdnjs.cloudflare.com/ajax/libs/"
         "leaflet.markercluster/1.4.1/MarkerCluster.Default.css"),
    ]

    def __init__(self, facilities: Sequence[Facility], *, lang: str = "zh",
                 name: str = "facilities", detail_url: Callable[[Facility], str] | None = None,
                 assets: Mapping[str, str] | None = None, show: bool = True,
                 cluster_radius: int = 40):
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "FacilityLayer"
        self.colors = KIND_COLORS
        self.cluster_options = {"showCoverageOnHover": False,
                                "maxClusterRadius": cluster_radius}
        self.rows = [
            [round(f.lat, 6), round(f.lon, 6), f.kind, str(safe_text(f.name)),
             str(popup_html(f, lang, detail_url(f) if detail_url else None)), f.name]
            for f in facilities]
        if assets:
            self.default_js = [("markerclusterjs", assets["markercluster_js"])]
            self.default_css = [("markerclustercss", assets["markercluster_css"]),
                                ("markerclusterdefaultcss",
                                 assets["markercluster_default_css"])]


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
    """Removes the tile layer when its tiles cannot be reached, leaving boundaries only.

    Drivers often have a poor signal and some networks block tile servers: after
    ``threshold`` failed tiles and none loaded, the map says so instead of showing grey.
    """

    _template = Template("""
        {% macro script(this, kwargs) %}
        (function () {
            var map = {{ this._parent.get_name() }}, layer = {{ this.layer.get_name() }};
            var loaded = 0, failed = 0, gaveUp = false;
            layer.on("tileload", function () { loaded += 1; });
            layer.on("tileerror", function () {
                failed += 1;
                if (gaveUp || loaded > 0 || failed < {{ this.threshold }}) { return; }
                gaveUp = true;
                map.removeLayer(layer);
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

    def __init__(self, layer: folium.TileLayer, message: str, threshold: int = 4):
        super().__init__()
        self._name = "TileFallback"
        self.layer = layer
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
        for kind in KINDS if counts.get(kind))
    return f'<div class="legend-title">{escape(title)}</div>{rows}'


def boundaries_geojson(units: Sequence[AdminUnit], tolerance: float) -> dict:
    """A FeatureCollection of unit outlines, simplified for display."""
    features = []
    for unit in units:
        if unit.geometry is None:
            continue
        geometry = shapely.set_precision(
            shapely.simplify(unit.geometry, tolerance, preserve_topology=True), 1e-4)
        features.append({"type": "Feature", "geometry": shapely.geometry.mapping(geometry),
                         "properties": {"code": unit.code, "name": unit.name,
                                        "level": unit.level}})
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
    tiles : ``{"url": ..., "attribution": ...}``; a ``None`` url draws no tiles.
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
    names = {"city": "市界", "county": "县区界", "township": "乡镇街道界",
             "facilities": "站点"} if lang == "zh" else {
             "city": "Cities", "county": "Counties", "township": "Townships",
             "facilities": "Facilities"}
    names.update(layer_names or {})
    fmap = folium.Map(location=[31.85, 117.25], zoom_start=7, tiles=None,
                      control_scale=True, prefer_canvas=False)
    fmap.options["max_zoom"] = 18  # MarkerCluster needs it; without tiles nothing sets it
    if assets:
        _use_local_assets(fmap, assets)
    if tiles.get("url"):
        tile_layer = folium.TileLayer(tiles=tiles["url"],
                                      attr=tiles.get("attribution") or "tiles",
                                      name="tiles", control=False, max_zoom=18)
        tile_layer.add_to(fmap)
        _TileFallback(tile_layer, TILES_UNAVAILABLE.get(lang, TILES_UNAVAILABLE["zh"])
                      ).add_to(fmap)
    _Attribution(OSM_ATTRIBUTION).add_to(fmap)

    styles = {"city": {"color": "#444", "weight": 2, "fill": False},
              "county": {"color": "#888", "weight": 1, "fill": False, "dashArray": "4 3"},
              "township": {"color": "#6a9fb5", "weight": 0.8, "fill": False}}
    tolerances = {"city": 0.004, "county": 0.002, "township": 0.0008}
    for level in ("city", "county", "township"):
        units = [u for u in admin_units if u.level == level and u.geometry is not None]
        if not units:
            continue
        style = styles[level]
        layer = folium.GeoJson(
            boundaries_geojson(units, tolerances[level]), name=names[level],
            style_function=lambda _feature, style=style: style,
            show=level != "township", control=True, smooth_factor=1.0,
            tooltip=folium.GeoJsonTooltip(fields=["name"], labels=False, sticky=False)
            if level == "township" else None)
        layer.add_to(fmap)

    layer = FacilityLayer(facilities, lang=lang, name=names["facilities"],
                          detail_url=detail_url, assets=assets)
    layer.add_to(fmap)

    counts: dict[str, int] = {}
    for f in facilities:
        counts[f.kind] = counts.get(f.kind, 0) + 1
    title = legend_title or ("站点类型" if lang == "zh" else "Kinds")
    _Legend(legend_html(counts, lang, title)).add_to(fmap)
    folium.LayerControl(collapsed=True).add_to(fmap)
    fmap.fit_bounds(ANHUI_BOUNDS)
    return fmap


def _use_local_assets(fmap: folium.Map, assets: Mapping[str, str]) -> None:
    """Point the map at locally served Leaflet instead of CDNs (no jQuery or Bootstrap)."""
    fmap.default_js = [("leaflet", assets["leaflet_js"])]
    fmap.default_css = [("leaflet_css", assets["leaflet_css"])]


def map_parts(fmap: folium.Map) -> dict[str, Markup]:
    """The header (scripts, styles), body and script of a map, to embed in a page."""
    root = fmap.get_root()
    root.render()
    return {"header": Markup(root.header.render()), "html": Markup(root.html.render()),
            "script": Markup(root.script.render())}


def geojson_dumps(data: object) -> str:
    """Compact JSON for embedding GeoJSON."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))
