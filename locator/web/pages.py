"""HTML pages: the map of all facilities (for now), language switch."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, render_template
from flask_babel import gettext as _

from ..maps import build_facility_map, map_parts
from . import state
from .assets import map_assets
from .i18n import current_lang

bp = Blueprint("pages", __name__)

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


@bp.get("/")
def index():
    """The map of all facilities."""
    lang = current_lang()
    catalog = state().catalog.current()
    return render_template("map.html", map=_facility_map_parts(lang),
                           facility_count=len(catalog), lang=lang)


@bp.get("/sources")
def sources():
    """Where the shipped data comes from, and its licenses."""
    path = Path(state().settings.geodata_dir) / "SOURCES.md"
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    return render_template("sources.html", text=text)
