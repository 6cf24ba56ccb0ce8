"""Maps drawn by the library (folium), embedded by the pages.

- :mod:`locator.maps.facilities`: the facility map (``/map``), shared layers, tiles,
  escaping and datum shifting;
- :mod:`locator.maps.coverage`: the planner's coverage map (``/coverage``).
"""

from .facilities import (
    ANHUI_BOUNDS,
    KIND_COLORS,
    OSM_ATTRIBUTION,
    TileDatum,
    build_facility_map,
    label,
    map_parts,
    popup_html,
    safe_text,
)

__all__ = [
    "ANHUI_BOUNDS",
    "KIND_COLORS",
    "OSM_ATTRIBUTION",
    "TileDatum",
    "build_facility_map",
    "label",
    "map_parts",
    "popup_html",
    "safe_text",
]
