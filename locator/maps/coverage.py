"""The planner's coverage map: library code returning a ``folium.Map``.

Townships are a choropleth coloured by the distance to the nearest counted facility
or by covered / not covered (switchable in the browser: ``locatorCoverage.setMode``);
townships known only by their seat are coloured dots. Over them: the merged grid
blind spots, facilities (clustered), optional radius rings, and the suggested sites
numbered by rank. Every data string is escaped with :func:`locator.maps.safe_text`
and embedded with ``tojson``. On GCJ-02 tiles (Amap) everything is drawn shifted to
GCJ-02 (:class:`locator.maps.TileDatum`); popups keep WGS-84 values.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import folium
import numpy as np
import shapely
from folium.map import Layer
from jinja2 import Template
from markupsafe import Markup, escape

from ..coverage import CoverageReport, TownshipCoverage
from ..model import KINDS, AdminUnit, Facility
from ..planning import ProposedSite, township_status
from ..reports import (
    COVERED_COLORS,
    LOCATED_LABELS,
    SOURCE_LABELS,
    STATUS_LABELS,
    covered_legend,
    distance_class,
    distance_legend,
)
from .facilities import (
    ANHUI_BOUNDS,
    KIND_COLORS,
    OSM_ATTRIBUTION,
    FacilityLayer,
    TileDatum,
    _Attribution,
    _Legend,
    _use_local_assets,
    add_tiles,
    boundaries_geojson,
    label,
    safe_text,
)

MODES = ("distance", "covered")

#: Labels of the map, by language.
MAP_TEXTS = {
    "zh": {
        "townships": "乡镇覆盖",
        "blind": "网格盲区",
        "facilities": "站点",
        "counted": "计入覆盖的站点",
        "others": "其他站点（不计入）",
        "rings": "服务半径",
        "sites": "建议选址",
        "counties": "县区界",
        "legend_distance": "到最近站点的距离",
        "legend_covered": "覆盖情况",
        "nearest": "最近站点",
        "distance": "距离",
        "inside": "辖区内站点",
        "share": "面积覆盖",
        "demand": "需求",
        "uncovered": "未覆盖需求",
        "rank": "缺口排名",
        "county": "县区",
        "located": "定位",
        "km": "公里",
        "site": "建议站点",
        "added": "新增覆盖需求",
        "cumulative": "累计新增",
        "reached": "新覆盖需求点",
        "source": "候选来源",
        "where": "位置",
        "none": "无",
        "blind_legend": "网格盲区边界（半径外）",
        "kinds": "站点类型",
    },
    "en": {
        "townships": "Township coverage",
        "blind": "Grid blind spots",
        "facilities": "Facilities",
        "counted": "Counted facilities",
        "others": "Other facilities (not counted)",
        "rings": "Service radius",
        "sites": "Suggested sites",
        "counties": "County boundaries",
        "legend_distance": "Distance to the nearest facility",
        "legend_covered": "Coverage",
        "nearest": "Nearest facility",
        "distance": "Distance",
        "inside": "Facilities inside",
        "share": "Area covered",
        "demand": "Demand",
        "uncovered": "Uncovered demand",
        "rank": "Gap rank",
        "county": "County",
        "located": "Located by",
        "km": "km",
        "site": "Suggested site",
        "added": "Demand added",
        "cumulative": "Cumulative",
        "reached": "Demand points reached",
        "source": "Candidate source",
        "where": "Where",
        "none": "none",
        "blind_legend": "Grid blind-spot outlines (beyond the radius)",
        "kinds": "Kinds",
    },
}


def _texts(lang: str) -> dict[str, str]:
    return MAP_TEXTS.get(lang, MAP_TEXTS["zh"])


class TownshipLayer(Layer):
    """Township polygons (and seat dots) coloured by mode; ``setMode`` restyles them."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = (function () {
            var mode = {{ this.mode|tojson }};
            var key = {distance: "cd", covered: "cc"};
            function style(feature) {
                return {color: "#555", weight: 0.7, opacity: 0.9, fillOpacity: 0.62,
                        fillColor: feature.properties[key[mode]]};
            }
            var layer = L.geoJSON({{ this.data|tojson }}, {
                style: style,
                pointToLayer: function (feature, latlng) {
                    return L.circleMarker(latlng, {radius: 6});
                },
                onEachFeature: function (feature, item) {
                    item.options.className = "township status-" + feature.properties.s;
                    item.bindTooltip(feature.properties.t, {sticky: true});
                    item.bindPopup(feature.properties.p, {maxWidth: 320});
                }
            });
            var api = window.locatorCoverage = window.locatorCoverage || {};
            api.townships = layer;
            api.map = {{ this._parent.get_name() }};
            api.mode = function () { return mode; };
            api.setMode = function (next) {
                if (!key[next]) { return; }
                mode = next;
                layer.setStyle(style);
                document.querySelectorAll(".legend-mode").forEach(function (el) {
                    el.hidden = el.getAttribute("data-mode") !== mode;
                });
            };
            return layer;
        })();
        {% endmacro %}
    """)

    def __init__(self, data: dict, *, mode: str, name: str):
        super().__init__(name=name, overlay=True, control=True, show=True)
        self._name = "TownshipLayer"
        self.data = data
        self.mode = mode


class PolygonLayer(Layer):
    """Polygons with one style and a CSS class (the merged blind spots, the outlines)."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.geoJSON({{ this.data|tojson }}, {
            style: function () { return {{ this.style|tojson }}; },
            className: {{ this.class_name|tojson }},
            interactive: {{ this.interactive|tojson }}
        });
        {% endmacro %}
    """)

    def __init__(
        self,
        data: dict,
        *,
        style: dict,
        class_name: str,
        name: str,
        show: bool = True,
        interactive: bool = False,
    ):
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "PolygonLayer"
        self.data = data
        self.style = style
        self.class_name = class_name
        self.interactive = interactive


class RingsLayer(Layer):
    """Circles of the service radius around facilities (non-interactive)."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = (function () {
            var group = L.layerGroup();
            {{ this.rows|tojson }}.forEach(function (row) {
                L.circle([row[0], row[1]], {radius: {{ this.radius_m|tojson }},
                    color: row[2], weight: 1, opacity: 0.7, fillOpacity: 0.06,
                    interactive: false, className: "radius-ring"}).addTo(group);
            });
            return group;
        })();
        {% endmacro %}
    """)

    def __init__(
        self,
        facilities: Sequence[Facility],
        radius_m: float,
        *,
        name: str,
        show: bool,
        datum: TileDatum | None = None,
    ):
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "RingsLayer"
        self.radius_m = radius_m
        centres = (datum or TileDatum()).latlngs(
            [f.lon for f in facilities], [f.lat for f in facilities], decimals=6
        )
        self.rows = [
            [*centre, KIND_COLORS.get(f.kind, "#555")]
            for f, centre in zip(facilities, centres, strict=True)
        ]


class SitesLayer(Layer):
    """Suggested sites as numbered markers with escaped popups."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = (function () {
            var group = L.featureGroup();
            {{ this.rows|tojson }}.forEach(function (row) {
                var icon = L.divIcon({className: "suggested-site",
                    html: '<span class="site-badge">' + row[2] + '</span>',
                    iconSize: [26, 26], iconAnchor: [13, 13]});
                var marker = L.marker([row[0], row[1]], {icon: icon, title: row[4],
                                                         zIndexOffset: 1000});
                marker.bindPopup(row[3], {maxWidth: 320});
                group.addLayer(marker);
            });
            return group;
        })();
        {% endmacro %}
    """)

    def __init__(
        self,
        sites: Sequence[ProposedSite],
        *,
        lang: str,
        name: str,
        weight_label: str = "",
        datum: TileDatum | None = None,
    ):
        super().__init__(name=name, overlay=True, control=True, show=True)
        self._name = "SitesLayer"
        positions = (datum or TileDatum()).latlngs([s.lon for s in sites], [s.lat for s in sites])
        self.rows = [
            [*position, int(s.rank), str(site_popup(s, lang, weight_label)), f"{s.rank}. {s.name}"]
            for s, position in zip(sites, positions, strict=True)
        ]


def _km(meters: float | None, lang: str) -> str:
    if meters is None:
        return _texts(lang)["none"]
    return f"{meters / 1000:.1f} {_texts(lang)['km']}"


def township_popup(row: TownshipCoverage, lang: str) -> Markup:
    """A township's popup: status, nearest facility, shares, demand; every field escaped."""
    words = _texts(lang)
    status = township_status(row)
    rows = [
        (words["county"], " ".join(filter(None, (row.city, row.county)))),
        (words["located"], label(LOCATED_LABELS, row.located, lang)),
        (words["nearest"], f"{row.nearest_name or words['none']} ({_km(row.nearest_m, lang)})"),
        (words["inside"], "" if row.facilities_inside is None else row.facilities_inside),
        (words["share"], "" if row.covered_share is None else f"{row.covered_share:.0%}"),
        (words["demand"], f"{row.demand:,.0f}"),
        (words["uncovered"], f"{row.demand - row.demand_covered:,.0f}"),
    ]
    if row.gap_rank is not None:
        rows.append((words["rank"], row.gap_rank))
    body = "".join(
        f"<tr><th>{safe_text(k)}</th><td>{safe_text(v)}</td></tr>" for k, v in rows if v != ""
    )
    return Markup(
        f'<div class="township-popup" data-code="{safe_text(row.code)}">'
        f"<h4>{safe_text(row.name)} <small>"
        f"{safe_text(label(STATUS_LABELS, status, lang))}</small></h4>"
        f"<table>{body}</table></div>"
    )


def site_popup(site: ProposedSite, lang: str, weight_label: str = "") -> Markup:
    """A suggested site's popup: rank, name, where, source, the demand it adds."""
    words = _texts(lang)
    unit = f" ({weight_label})" if weight_label else ""
    rows = [
        (words["where"], " ".join(filter(None, (site.city, site.county, site.township)))),
        (words["source"], label(SOURCE_LABELS, site.source, lang)),
        (words["added"] + unit, f"{site.added:,.0f}"),
        (words["cumulative"], f"{site.cumulative:,.0f}"),
        (words["reached"], site.points_reached),
        ("经纬度" if lang == "zh" else "Lon, lat", f"{site.lon:.5f}, {site.lat:.5f}"),
    ]
    body = "".join(
        f"<tr><th>{safe_text(k)}</th><td>{safe_text(v)}</td></tr>" for k, v in rows if v != ""
    )
    return Markup(
        f'<div class="site-popup" data-rank="{site.rank}">'
        f"<h4>{safe_text(words['site'])} {site.rank}: {safe_text(site.name)}</h4>"
        f"<table>{body}</table></div>"
    )


def display_shape(geometry, tolerance: float, decimals: int = 4):
    """A polygon simplified for display, its coordinates rounded (4 decimals: about 10 m)."""
    shape = shapely.simplify(geometry, tolerance, preserve_topology=True)
    return shapely.transform(shape, lambda xy: np.round(xy, decimals))


def display_geometry(geometry, tolerance: float, decimals: int = 4) -> dict:
    """:func:`display_shape` as a GeoJSON geometry."""
    return shapely.geometry.mapping(display_shape(geometry, tolerance, decimals))


def township_layer_data(
    report: CoverageReport,
    units: Sequence[AdminUnit],
    *,
    lang: str,
    tolerance: float | None = None,
    datum: TileDatum | None = None,
) -> dict:
    """The compact GeoJSON of the township layer: simplified geometry, both colours,
    escaped tooltip and popup HTML. Unlocated townships have no feature.

    ``tolerance`` (degrees) defaults to about 100 m for a city or county and 200 m for
    the whole province. The rounded geometry is then shifted to ``datum``, if given, all
    townships in one vectorised call."""
    if tolerance is None:
        tolerance = 0.001 if report.area is not None else 0.002
    by_code = {u.code: u for u in units}
    radius_km = report.params.radius_km
    from ..reports import DISTANCE_COLORS

    features, shapes = [], []
    for row in report.townships:
        unit = by_code.get(row.code)
        if unit is not None and unit.geometry is not None:
            shapes.append(display_shape(unit.geometry, tolerance))
        elif row.ref_lon is not None:  # known by its seat only
            shapes.append(shapely.Point(round(row.ref_lon, 6), round(row.ref_lat, 6)))
        else:
            continue
        status = township_status(row)
        tooltip = (
            f"{safe_text(row.name)} · {safe_text(label(STATUS_LABELS, status, lang))}"
            f" · {safe_text(_km(row.nearest_m, lang))}"
        )
        features.append(
            {
                "type": "Feature",
                "geometry": None,
                "properties": {
                    "code": row.code,
                    "s": status,
                    "cd": DISTANCE_COLORS[distance_class(row, radius_km)],
                    "cc": COVERED_COLORS[status],
                    "t": tooltip,
                    "p": str(township_popup(row, lang)),
                },
            }
        )
    for feature, shape in zip(features, (datum or TileDatum()).geometries(shapes), strict=True):
        feature["geometry"] = shapely.geometry.mapping(shape)
    return {"type": "FeatureCollection", "features": features}


def coverage_legend_html(
    radius_km: float,
    mode: str,
    lang: str,
    kinds: Mapping[str, int] | None = None,
    sites: bool = False,
    blind: bool = False,
) -> str:
    """The legend: both colour modes (one shown), the blind spots, sites and kinds."""
    words = _texts(lang)
    out = []
    for key, title, entries in (
        ("distance", words["legend_distance"], distance_legend(radius_km, lang)),
        ("covered", words["legend_covered"], covered_legend(lang)),
    ):
        rows = "".join(
            f'<div class="legend-row"><span class="legend-swatch" '
            f'style="background:{color}"></span>{escape(text)}</div>'
            for color, text in entries
        )
        hidden = "" if key == mode else " hidden"
        out.append(
            f'<div class="legend-mode" data-mode="{key}"{hidden}>'
            f'<div class="legend-title">{escape(title)}</div>{rows}</div>'
        )
    if blind:
        out.append(
            f'<div class="legend-row"><span class="legend-swatch legend-blind">'
            f"</span>{escape(words['blind_legend'])}</div>"
        )
    if sites:
        out.append(
            f'<div class="legend-row"><span class="site-badge legend-badge">1</span>'
            f"{escape(words['sites'])}</div>"
        )
    if kinds:
        out.append(f'<div class="legend-title">{escape(words["kinds"])}</div>')
        out.extend(
            f'<div class="legend-row" data-kind="{kind}"><span class="facility-dot" '
            f'style="background:{KIND_COLORS[kind]}"></span>'
            f'{escape(label(KINDS, kind, lang))} <span class="legend-count">'
            f"{kinds[kind]}</span></div>"
            for kind in KINDS
            if kinds.get(kind)
        )
    return "".join(out)


def build_coverage_map(
    report: CoverageReport,
    units: Sequence[AdminUnit],
    facilities: Sequence[Facility] = (),
    *,
    mode: str = "distance",
    blind_spots: dict | None = None,
    sites: Sequence[ProposedSite] = (),
    rings: bool = False,
    lang: str = "zh",
    tiles: Mapping[str, str | None] | None = None,
    assets: Mapping[str, str] | None = None,
    detail_url: Callable[[Facility], str] | None = None,
    weight_label: str = "",
) -> folium.Map:
    """The coverage map of a report's area.

    Parameters
    ----------
    report : the coverage of the area's townships.
    units : all admin units (township polygons, county outlines).
    facilities : facilities to show as markers; counted ones also get radius rings.
    mode : initial colouring, ``distance`` or ``covered``.
    blind_spots : merged blind-spot polygons (GeoJSON) to draw, if any.
    sites : suggested sites, numbered by rank.
    rings : show the radius rings at first (they are in the layer control either way).
    tiles, assets, detail_url : as for :func:`locator.maps.build_facility_map` (on
        ``gcj02`` tiles everything is drawn shifted to GCJ-02).

    Examples
    --------
    >>> from shapely.geometry import box
    >>> from locator.coverage import township_coverage
    >>> county = AdminUnit("340102", "瑶海区", "county", demand={"population": 1000.0})
    >>> town = AdminUnit("340102001", "街道", "township", "340102",
    ...                  geometry=box(117.30, 31.85, 117.32, 31.87))
    >>> report = township_coverage([county, town], [])
    >>> html = build_coverage_map(report, [county, town]).get_root().render()
    >>> '"s": "uncovered"' in html  # the township's status, its CSS class in the browser
    True
    """
    if mode not in MODES:
        mode = "distance"
    words = _texts(lang)
    datum = TileDatum(tiles)
    fmap = folium.Map(
        location=datum.latlngs([117.25], [31.85])[0],
        zoom_start=8,
        tiles=None,
        control_scale=True,
        prefer_canvas=False,
    )
    fmap.options["max_zoom"] = 18
    if assets:
        _use_local_assets(fmap, assets)
    add_tiles(fmap, tiles, lang)
    _Attribution(OSM_ATTRIBUTION).add_to(fmap)

    area = report.area
    county_codes = {t.county_code for t in report.townships if t.county_code}
    counties = [
        u
        for u in units
        if u.level == "county" and u.code in county_codes and u.geometry is not None
    ]
    if counties:
        PolygonLayer(
            boundaries_geojson(counties, 0.001, datum),
            name=words["counties"],
            style={"color": "#333", "weight": 1.4, "fill": False, "dashArray": "5 4"},
            class_name="county-outline",
        ).add_to(fmap)
    TownshipLayer(
        township_layer_data(report, units, lang=lang, datum=datum),
        mode=mode,
        name=words["townships"],
    ).add_to(fmap)
    if blind_spots and blind_spots.get("features"):
        PolygonLayer(
            datum.geojson(blind_spots),
            name=words["blind"],
            style={"color": "#4a148c", "weight": 1.6, "fill": False, "dashArray": "4 3"},
            class_name="blind-spot",
        ).add_to(fmap)

    counted = [f for f in facilities if report.params.counts(f)]
    RingsLayer(
        counted, report.params.radius_m, name=words["rings"], show=rings, datum=datum
    ).add_to(fmap)
    others = [f for f in facilities if not report.params.counts(f)]
    if counted:
        FacilityLayer(
            counted,
            lang=lang,
            name=words["counted"],
            detail_url=detail_url,
            assets=assets,
            cluster_radius=30,
            datum=datum,
        ).add_to(fmap)
    if others:
        FacilityLayer(
            others,
            lang=lang,
            name=words["others"],
            detail_url=detail_url,
            assets=assets,
            show=False,
            cluster_radius=30,
            datum=datum,
        ).add_to(fmap)
    if sites:
        SitesLayer(
            sites, lang=lang, name=words["sites"], weight_label=weight_label, datum=datum
        ).add_to(fmap)

    kinds: dict[str, int] = {}
    for f in facilities:
        kinds[f.kind] = kinds.get(f.kind, 0) + 1
    _Legend(
        coverage_legend_html(
            report.params.radius_km,
            mode,
            lang,
            kinds,
            sites=bool(sites),
            blind=bool(blind_spots and blind_spots.get("features")),
        )
    ).add_to(fmap)
    folium.LayerControl(collapsed=False).add_to(fmap)
    if area is not None and area.geometry is not None:
        west, south, east, north = area.geometry.bounds
        fmap.fit_bounds(datum.bounds([[south, west], [north, east]]))
    else:
        fmap.fit_bounds(datum.bounds(ANHUI_BOUNDS))
    return fmap


__all__ = [
    "MODES",
    "build_coverage_map",
    "coverage_legend_html",
    "site_popup",
    "township_layer_data",
    "township_popup",
]
