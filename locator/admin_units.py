"""Admin units in memory: point-in-polygon assignment of city, county and township."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import shapely

from .model import AdminUnit, Facility


class AdminIndex:
    """Assigns points to the admin units whose polygons contain them.

    A township found by polygon also fixes the county and city (its parents), so the
    three always agree; without a township polygon the county comes from the county
    polygons, and so on up. A point outside every known polygon keeps ``None``.
    """

    def __init__(self, units: Iterable[AdminUnit]):
        self.units = {unit.code: unit for unit in units}
        self._trees: dict[str, tuple[shapely.STRtree, list[AdminUnit]]] = {}
        for level in ("city", "county", "township"):
            located = sorted(
                (u for u in self.units.values() if u.level == level and u.geometry is not None),
                key=lambda u: u.code,
            )
            if located:
                geoms = [u.geometry for u in located]
                shapely.prepare(geoms)
                self._trees[level] = (shapely.STRtree(geoms), located)

    def _contain(self, level: str, points: np.ndarray) -> list[AdminUnit | None]:
        found: list[AdminUnit | None] = [None] * len(points)
        if level not in self._trees or len(points) == 0:
            return found
        tree, located = self._trees[level]
        point_idx, unit_idx = tree.query(points, predicate="within")
        # Several hits (a shared border): keep the lowest code, so results are stable.
        for p, u in sorted(
            zip(point_idx.tolist(), unit_idx.tolist(), strict=True),
            key=lambda pair: (pair[0], -pair[1]),
        ):
            found[p] = located[u]
        return found

    def _parent(self, unit: AdminUnit | None, level: str) -> AdminUnit | None:
        while unit is not None and unit.level != level:
            unit = self.units.get(unit.parent_code) if unit.parent_code else None
        return unit

    def locate(self, lons: Sequence[float], lats: Sequence[float]) -> list[dict[str, str | None]]:
        """City, county and township (name and code) for each point."""
        points = shapely.points(np.asarray(lons, dtype=float), np.asarray(lats, dtype=float))
        townships = self._contain("township", points)
        counties = self._contain("county", points)
        cities = self._contain("city", points)
        rows = []
        for township, county, city in zip(townships, counties, cities, strict=True):
            if township is not None:
                county = self._parent(township, "county") or county
            if county is not None:
                city = self._parent(county, "city") or city
            rows.append(
                {
                    "city": city.name if city else None,
                    "city_code": city.code if city else None,
                    "county": county.name if county else None,
                    "county_code": county.code if county else None,
                    "township": township.name if township else None,
                    "township_code": township.code if township else None,
                }
            )
        return rows

    def assign(self, facilities: Sequence[Facility]) -> list[Facility]:
        """Copies of ``facilities`` with their admin fields set from the polygons."""
        located = self.locate([f.lon for f in facilities], [f.lat for f in facilities])
        return [f.replace(**row) for f, row in zip(facilities, located, strict=True)]
