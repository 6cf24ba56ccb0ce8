"""Grid blind spots: an H3 hexagon grid over an area, each cell's distance to the nearest
counted facility and its demand; the uncovered cells are the blind spots (网格化摸排)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import h3
import numpy as np
import shapely
from scipy.spatial import cKDTree
from shapely.geometry import mapping

from .coverage import CoverageParams, geodesic_area_m2, select_area
from .errors import InvalidParameter
from .messages import Message
from .model import AdminUnit, Facility
from .nearest import chord_to_m, unit_vectors

#: The finest grid chosen automatically stays under this many cells.
MAX_AUTO_CELLS = 60_000
RESOLUTIONS = range(5, 11)


def choose_resolution(area_km2: float, max_cells: int = MAX_AUTO_CELLS) -> int:
    """The finest H3 resolution (5-10) whose cells over ``area_km2`` stay under ``max_cells``."""
    best = RESOLUTIONS[0]
    for res in RESOLUTIONS:
        if area_km2 / h3.average_hexagon_area(res, "km^2") <= max_cells:
            best = res
    return best


@dataclass
class GridReport:
    """The cells of an area with distance to the nearest counted facility and demand."""

    resolution: int
    cells: list[str]
    lon: np.ndarray
    lat: np.ndarray
    nearest_m: np.ndarray
    demand: np.ndarray
    radius_m: float

    @property
    def covered(self) -> np.ndarray:
        return self.nearest_m <= self.radius_m

    def summary(self) -> dict:
        covered = self.covered
        total = float(self.demand.sum())
        return {
            "resolution": self.resolution,
            "cells": len(self.cells),
            "cell_area_km2": self.cell_area_km2(),
            "blind_cells": int((~covered).sum()),
            "demand": total,
            "demand_covered": float(self.demand[covered].sum()),
            "demand_share": float(self.demand[covered].sum() / total) if total else None,
        }

    def cell_area_km2(self) -> float:
        """The mean area of these cells: H3 cells in Anhui are ~20% below the global
        average of their resolution, so the average would overstate blind areas."""
        if not self.cells:
            return h3.average_hexagon_area(self.resolution, "km^2")
        sample = self.cells[:: max(1, len(self.cells) // 1000)]
        return float(np.mean([h3.cell_area(c, "km^2") for c in sample]))

    def blind_spots_geojson(self) -> dict:
        """Uncovered cells merged into polygons (one feature per connected blind spot)."""
        blind = [c for c, ok in zip(self.cells, self.covered, strict=True) if not ok]
        features = []
        if blind:
            shape = h3.cells_to_h3shape(blind)
            polygons = shape.polys if hasattr(shape, "polys") else [shape]
            for poly in polygons:
                geometry = shapely.geometry.shape(h3.h3shape_to_geo(poly))
                features.append(
                    {
                        "type": "Feature",
                        "geometry": mapping(geometry),
                        "properties": {"area_km2": round(geodesic_area_m2(geometry) / 1e6, 2)},
                    }
                )
        return {"type": "FeatureCollection", "features": features}

    def cells_geojson(self, only_blind: bool = False) -> dict:
        """One hexagon feature per cell with its distance and demand."""
        features = []
        for i, cell in enumerate(self.cells):
            if only_blind and self.covered[i]:
                continue
            ring = [[lng, lat] for lat, lng in h3.cell_to_boundary(cell)]
            ring.append(ring[0])
            features.append(
                {
                    "type": "Feature",
                    "id": cell,
                    "geometry": {"type": "Polygon", "coordinates": [ring]},
                    "properties": {
                        "nearest_m": round(float(self.nearest_m[i]), 1),
                        "covered": bool(self.covered[i]),
                        "demand": round(float(self.demand[i]), 2),
                    },
                }
            )
        return {"type": "FeatureCollection", "features": features}


def area_geometry(units: Sequence[AdminUnit], city: str | None = None, county: str | None = None):
    """The polygon of the chosen city or county, or of the province(s) loaded."""
    area = select_area(units, city, county)
    if area is not None:
        if area.geometry is None:
            raise InvalidParameter(Message("no_grid_polygon", area=area.name), field=area.level)
        return area.geometry
    top = [u.geometry for u in units if u.level == "province" and u.geometry is not None]
    if not top:
        top = [u.geometry for u in units if u.level == "city" and u.geometry is not None]
    if not top:
        raise InvalidParameter(Message("no_polygon"), field="city")
    return shapely.union_all(top)


#: Coarse cells are this many resolutions above the grid's, then expanded to children.
_COARSE_STEP = 3


def grid_cells(geometry, resolution: int) -> list[str]:
    """H3 cells whose centres lie in ``geometry``."""
    return _cells_and_centres(geometry, resolution)[0]


def _cells_and_centres(geometry, resolution: int) -> tuple[list[str], np.ndarray, np.ndarray]:
    """H3 cells whose centres lie in ``geometry`` (sorted), with their centres (lon, lat).

    The same cells as ``h3.h3shape_to_cells`` (whose containment is centre in polygon),
    found faster: the coarse cells ``_COARSE_STEP`` resolutions up over the area padded
    so that every ancestor of a fine cell centred in the area is among them, expanded to
    their children, whose centres are then tested against the area in one vectorised call.
    """
    if resolution not in RESOLUTIONS:
        raise InvalidParameter(
            Message("resolution_range", low=RESOLUTIONS.start, high=RESOLUTIONS.stop - 1),
            field="resolution",
        )
    empty = ([], np.zeros(0), np.zeros(0))
    if geometry is None or geometry.is_empty:
        return empty
    coarse_res = max(0, resolution - _COARSE_STEP)
    _, south, _, north = geometry.bounds
    km_per_degree = 111.32 * math.cos(math.radians(min(85.0, max(abs(south), abs(north)))))
    # A fine cell's centre lies within a coarse circumradius (~ edge) of its ancestor's
    # centre, plus a little for children straying out of their parent's hexagon.
    pad = (
        1.5 * h3.average_hexagon_edge_length(coarse_res, "km")
        + 2 * h3.average_hexagon_edge_length(resolution, "km")
    ) / km_per_degree
    coarse = h3.h3shape_to_cells(h3.geo_to_h3shape(mapping(geometry.buffer(pad))), coarse_res)
    # Children of sorted parents come nearly sorted, which the final sort exploits.
    candidates = [c for parent in sorted(coarse) for c in h3.cell_to_children(parent, resolution)]
    if not candidates:
        return empty
    centres = np.array([h3.cell_to_latlng(c) for c in candidates], dtype=float).reshape(-1, 2)
    shapely.prepare(geometry)
    inside = np.flatnonzero(shapely.contains_xy(geometry, centres[:, 1], centres[:, 0]))
    order = np.array(sorted(inside.tolist(), key=candidates.__getitem__), dtype=np.intp)
    return [candidates[i] for i in order], centres[order, 1], centres[order, 0]


@dataclass
class GridLayout:
    """The cells of an area with their centres and demand: independent of the facilities,
    so it can be kept while facilities change (it takes about a second for a province)."""

    resolution: int
    cells: list[str]
    lon: np.ndarray
    lat: np.ndarray
    demand: np.ndarray


def grid_layout(
    units: Sequence[AdminUnit],
    *,
    city: str | None = None,
    county: str | None = None,
    resolution: int | None = None,
    weight: str = "population",
    demand_points: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> GridLayout:
    """Lay the grid over an area and give each cell its demand.

    Demand is the counties' figures spread evenly over each county's cells (so the
    totals stay the census figures), or, with ``demand_points`` (lon, lat, weight
    arrays, e.g. an imported demand layer), the sum of the points in each cell.
    """
    geometry = area_geometry(units, city, county)
    if resolution is None:
        resolution = choose_resolution(geodesic_area_m2(geometry) / 1e6)
    cells, lon, lat = _cells_and_centres(geometry, resolution)
    if demand_points is not None:
        demand = _demand_from_points(cells, resolution, *demand_points)
    else:
        demand = _demand_from_counties(units, lon, lat, weight, cells, resolution)
    return GridLayout(resolution, cells, lon, lat, demand)


def blind_spots(
    units: Sequence[AdminUnit],
    facilities: Sequence[Facility],
    params: CoverageParams | None = None,
    *,
    city: str | None = None,
    county: str | None = None,
    resolution: int | None = None,
    layout: GridLayout | None = None,
    demand_points: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> GridReport:
    """The grid over an area with each cell's nearest distance and demand.

    Pass a ``layout`` made earlier by :func:`grid_layout` to skip laying the grid again.
    """
    params = params or CoverageParams()
    if layout is None:
        layout = grid_layout(
            units,
            city=city,
            county=county,
            resolution=resolution,
            weight=params.weight,
            demand_points=demand_points,
        )
    counted = [f for f in facilities if params.counts(f)]
    nearest = np.full(len(layout.cells), np.inf)
    if counted and len(layout.cells):
        tree = cKDTree(
            unit_vectors([f.lon for f in counted], [f.lat for f in counted]).reshape(-1, 3)
        )
        chords, _ = tree.query(unit_vectors(layout.lon, layout.lat).reshape(-1, 3), k=1)
        nearest = chord_to_m(chords)
    return GridReport(
        layout.resolution,
        layout.cells,
        layout.lon,
        layout.lat,
        np.asarray(nearest, dtype=float),
        layout.demand,
        params.radius_m,
    )


def _demand_from_counties(units, lon, lat, weight, cells=(), resolution=None) -> np.ndarray:
    """Each county's demand spread evenly over the cells whose centres lie in it (a cell
    in two counties, on a shared border, goes to the first). A county too small to hold
    a cell centre (a city district on a coarse grid) gives its demand to the cell that
    holds its representative point, when that cell is in the grid."""
    counties = [
        u for u in units if u.level == "county" and u.geometry is not None and u.demand.get(weight)
    ]
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    demand = np.zeros(len(lon))
    if not counties or len(lon) == 0:
        return demand
    owner = np.full(len(lon), -1)
    by_lon = np.argsort(lon, kind="stable")
    sorted_lon = lon[by_lon]
    for k, county in enumerate(counties):
        west, south, east, north = county.geometry.bounds
        lo = np.searchsorted(sorted_lon, west, side="left")
        hi = np.searchsorted(sorted_lon, east, side="right")
        candidates = by_lon[lo:hi]
        candidates = candidates[(lat[candidates] >= south) & (lat[candidates] <= north)]
        candidates = candidates[owner[candidates] < 0]
        if len(candidates):
            shapely.prepare(county.geometry)
            hit = shapely.contains_xy(county.geometry, lon[candidates], lat[candidates])
            owner[candidates[hit]] = k
    owned = owner >= 0
    cells_per_county = np.bincount(owner[owned], minlength=len(counties))
    totals = np.array([c.demand[weight] for c in counties], dtype=float)
    demand[owned] = totals[owner[owned]] / cells_per_county[owner[owned]]
    if resolution is not None and (cells_per_county == 0).any():
        index = {cell: i for i, cell in enumerate(cells)}
        for k in np.flatnonzero(cells_per_county == 0):
            point = counties[k].geometry.representative_point()
            i = index.get(h3.latlng_to_cell(point.y, point.x, resolution))
            if i is not None:
                demand[i] += totals[k]
    return demand


def _demand_from_points(cells, resolution, lon, lat, weight) -> np.ndarray:
    index = {cell: i for i, cell in enumerate(cells)}
    demand = np.zeros(len(cells))
    for x, y, w in zip(np.asarray(lon), np.asarray(lat), np.asarray(weight), strict=True):
        i = index.get(h3.latlng_to_cell(float(y), float(x), resolution))
        if i is not None:
            demand[i] += float(w)
    return demand
