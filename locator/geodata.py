"""The default data shipped in ``geodata/``: Anhui's admin units, demand and OSM sites.

:func:`load_default_data` builds (or refreshes) a database from those files; it is
idempotent: a second run finds nothing to change and leaves the data version alone.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

import shapely
from shapely.geometry import shape

from .model import AdminUnit, CandidateSite, Facility
from .roads.coarse import COARSE_EDGES, COARSE_NAME, read_coarse
from .roads.profile import VehicleProfile
from .storage import Storage

ADMIN_FILE = "anhui_admin_units.geojson"
TOWNSHIP_REGISTER = "anhui_townships_2023.csv"
TOWNSHIP_POLYGONS = "hefei_townships_2023.geojson"
POPULATION_FILE = "anhui_county_population_census2020.csv"
SERVICE_AREAS_FILE = "anhui_expressway_service_areas_osm.geojson"
LOGISTICS_FILE = "anhui_logistics_sites_osm.csv"
JUNCTIONS_FILE = "anhui_motorway_junctions_osm.geojson"

#: Name given to OpenStreetMap service areas that carry no name.
UNNAMED_SERVICE_AREA = "高速服务区（未命名）"
OSM_SOURCE = "osm"


@dataclass
class LoadSummary:
    """What :func:`load_default_data` found and changed."""

    admin_units: int
    townships_with_polygon: int
    townships_with_seat: int
    facilities: int
    inserted: int
    updated: int
    candidates: int
    data_version: int
    #: The loaded road network's name ("" when none is), and whether init loaded it.
    road_network: str = ""
    road_network_loaded: bool = False


def _read_json(path: Path) -> dict:
    with path.open(encoding="utf-8") as handle:
        return json.load(handle)


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def _parent_of(code: str, level: str) -> str | None:
    if level == "city":
        return code[:2] + "0000"
    if level == "county":
        return code[:4] + "00"
    return None


def _float_or_none(text: str | None) -> float | None:
    return float(text) if text not in (None, "") else None


def read_admin_units(geodata_dir: Path) -> list[AdminUnit]:
    """Province, cities, counties and townships of Anhui with polygons, seats and demand."""
    population = {row["adcode"]: row for row in _read_csv(geodata_dir / POPULATION_FILE)}
    units: dict[str, AdminUnit] = {}
    for feature in _read_json(geodata_dir / ADMIN_FILE)["features"]:
        props = feature["properties"]
        code, level = props["adcode"], props["level"]
        demand = {}
        if code in population:
            demand = {
                "population": float(population[code]["population_total"]),
                "transport_workers": float(
                    population[code]["employed_transport_storage_postal_longform"]
                ),
            }
        units[code] = AdminUnit(
            code=code,
            name=props["name"],
            level=level,
            parent_code=_parent_of(code, level),
            geometry=shapely.make_valid(shape(feature["geometry"])),
            demand=demand,
        )

    register = _read_csv(geodata_dir / TOWNSHIP_REGISTER)
    by_code12 = {row["code12"]: row for row in register}
    by_name = {(row["county_code"], row["name"]): row for row in register}
    townships: dict[str, AdminUnit] = {}
    for row in register:
        townships[row["code9"]] = AdminUnit(
            code=row["code9"],
            name=row["name"],
            level="township",
            parent_code=row["county_code"],
            seat_lon=_float_or_none(row["seat_lon_wgs84"]),
            seat_lat=_float_or_none(row["seat_lat_wgs84"]),
            extra={
                k: row[k] for k in ("code12", "short_name", "pinyin", "seat_source") if row.get(k)
            },
        )

    for feature in _read_json(geodata_dir / TOWNSHIP_POLYGONS)["features"]:
        props = feature["properties"]
        geometry = shapely.make_valid(shape(feature["geometry"]))
        name = props["name"]
        # Codes of the two sources drift apart (renumbered streets): trust the name
        # within the county first, the code only when the names agree.
        row = by_name.get((props["county_code"], name)) or by_name.get(
            (props["county_code"], name.removesuffix("办事处"))
        )
        if row is None and by_code12.get(props["code12"], {}).get("name") == name:
            row = by_code12[props["code12"]]
        if row is not None and townships[row["code9"]].geometry is None:
            unit = townships[row["code9"]]
            unit.geometry = geometry
            unit.extra["polygon_code12"] = props["code12"]
        else:
            # Development-zone units with a polygon but no register entry: keep them,
            # so their area is not lost to coverage. Their 12-digit code tells them apart
            # from the register's 9-digit township codes.
            code = props["code12"]
            townships[code] = AdminUnit(
                code=code,
                name=name,
                level="township",
                parent_code=props["county_code"],
                geometry=geometry,
                extra={"code12": props["code12"], "polygon_only": True},
            )
    units.update(townships)
    return sorted(units.values(), key=lambda unit: unit.code)


def read_default_facilities(geodata_dir: Path) -> list[Facility]:
    """Expressway service areas and logistics sites from OpenStreetMap."""
    facilities = []
    for feature in _read_json(geodata_dir / SERVICE_AREAS_FILE)["features"]:
        props = feature["properties"]
        lon, lat = feature["geometry"]["coordinates"][:2]
        facilities.append(
            Facility(
                id=f"{OSM_SOURCE}:{props['osm_id']}",
                name=props.get("name") or UNNAMED_SERVICE_AREA,
                kind="service_area",
                lon=float(lon),
                lat=float(lat),
                source=OSM_SOURCE,
                source_id=props["osm_id"],
            )
        )
    for row in _read_csv(geodata_dir / LOGISTICS_FILE):
        facilities.append(
            Facility(
                id=f"{OSM_SOURCE}:poi/{row['osm_id']}",
                name=row["name"],
                kind="logistics_park",
                lon=float(row["lon_wgs84"]),
                lat=float(row["lat_wgs84"]),
                source=OSM_SOURCE,
                source_id=f"poi/{row['osm_id']}",
            )
        )
    return facilities


def read_junctions(geodata_dir: Path) -> list[CandidateSite]:
    """Expressway exits and junctions: candidate and demand points, not facilities."""
    sites = []
    for feature in _read_json(geodata_dir / JUNCTIONS_FILE)["features"]:
        props = feature["properties"]
        lon, lat = feature["geometry"]["coordinates"][:2]
        extra = {"ref": props["ref"]} if props.get("ref") else {}
        sites.append(
            CandidateSite(
                id=f"{OSM_SOURCE}:{props['osm_id']}",
                kind="junction",
                name=props.get("name"),
                lon=float(lon),
                lat=float(lat),
                extra=extra,
            )
        )
    return sites


def load_default_data(
    storage: Storage, geodata_dir: str | Path, *, profile: VehicleProfile | None = None
) -> LoadSummary:
    """Load the shipped data into ``storage``; a second run changes nothing. The coarse
    road network takes the speeds of ``profile``."""
    geodata_dir = Path(geodata_dir)
    storage.init_schema()
    units = read_admin_units(geodata_dir)
    storage.replace_admin_units(units)
    result = storage.upsert_facilities(read_default_facilities(geodata_dir), actor="init")
    junctions = read_junctions(geodata_dir)
    storage.replace_candidates("junction", junctions)
    townships = [u for u in units if u.level == "township"]
    loaded = load_coarse_roads(storage, geodata_dir, profile)
    network = storage.road_network_info()
    return LoadSummary(
        admin_units=len(units),
        townships_with_polygon=sum(u.geometry is not None for u in townships),
        townships_with_seat=sum(u.has_seat for u in townships),
        facilities=len(storage.facilities()),
        inserted=len(result.inserted),
        updated=len(result.updated),
        candidates=len(junctions),
        data_version=storage.data_version(),
        road_network=network.name if network else "",
        road_network_loaded=loaded,
    )


def load_coarse_roads(
    storage: Storage, geodata_dir: str | Path, profile: VehicleProfile | None = None
) -> bool:
    """Load the shipped coarse road network unless another network was loaded (a
    detailed one from ``locator roads import`` is kept); True when it was (re)loaded."""
    geodata_dir = Path(geodata_dir)
    if not (geodata_dir / COARSE_EDGES).is_file():
        return False
    current = storage.road_network_info()
    if current is not None and current.name != COARSE_NAME:
        return False
    before = storage.road_version()
    storage.replace_road_network(read_coarse(geodata_dir, profile))
    return storage.road_version() != before
