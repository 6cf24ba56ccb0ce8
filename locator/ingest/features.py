"""Readers of the formats with geometry into a :class:`~.table.RawTable`.

GeoJSON (and a JSON array of plain objects) is parsed whole, within
:data:`~.limits.MAX_TEXT_BYTES`; a FeatureCollection in another CRS is
reprojected to EPSG:4326. GeoPackage and Shapefile layers are read with pyogrio,
after their declared size is checked, and reprojected likewise; a Shapefile
without a ``.cpg`` gets its encoding guessed. Each record keeps its point, or the
reason its geometry is not one.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InvalidParameter, PayloadTooLarge, UnsupportedFormat
from .limits import _check_cells
from .table import RawRecord, RawTable, _empty


def _point_from_geojson(geometry: Any) -> tuple[tuple[float, float] | None, str | None]:
    if geometry is None:
        return None, None
    if not isinstance(geometry, dict):
        return None, "geometry is not a GeoJSON object"
    kind = geometry.get("type")
    coords = geometry.get("coordinates")
    if kind == "MultiPoint" and isinstance(coords, list) and len(coords) == 1:
        kind, coords = "Point", coords[0]
    if kind != "Point":
        return None, f"geometry must be a Point, got {kind}"
    if not coords:
        return None, None
    try:
        return (float(coords[0]), float(coords[1])), None
    except (TypeError, ValueError, IndexError):
        return None, f"the Point has invalid coordinates {coords!r}"


def _read_json(data: bytes, *, max_rows: int) -> RawTable:
    try:
        obj = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise UnsupportedFormat(f"the file is not valid JSON: {exc}", field="file") from None
    features: list[Any] | None = None
    crs_name = None
    if isinstance(obj, dict) and obj.get("type") == "FeatureCollection":
        features = obj.get("features") or []
        crs_name = ((obj.get("crs") or {}).get("properties") or {}).get("name")
    elif isinstance(obj, dict) and obj.get("type") == "Feature":
        features = [obj]
    elif isinstance(obj, list) and all(isinstance(o, dict) for o in obj):
        if obj and all(o.get("type") == "Feature" for o in obj):
            features = obj
        else:
            if len(obj) > max_rows:
                raise PayloadTooLarge(f"the file has more than {max_rows} records", field="file")
            headers: dict[str, None] = {}
            for o in obj:
                headers.update(dict.fromkeys(str(k) for k in o))
            _check_cells(len(headers), len(obj))
            records = [
                RawRecord(i, {h: None if _empty(o.get(h)) else o.get(h) for h in headers})
                for i, o in enumerate(obj, start=1)
            ]
            return RawTable(list(headers), records, "json")
    if features is None:
        raise UnsupportedFormat(
            "the JSON file is neither a GeoJSON FeatureCollection nor an array of objects",
            field="file",
        )
    if len(features) > max_rows:
        raise PayloadTooLarge(f"the file has more than {max_rows} features", field="file")
    headers = {}
    records = []
    for i, feature in enumerate(features, start=1):
        if not isinstance(feature, dict):
            feature = {}
        props = feature.get("properties")
        props = dict(props) if isinstance(props, dict) else {}
        if "id" in feature and "id" not in props:
            props = {"id": feature["id"], **props}
        headers.update(dict.fromkeys(str(k) for k in props))
        point, error = _point_from_geojson(feature.get("geometry"))
        records.append(RawRecord(i, props, point, error))
    _check_cells(len(headers), len(records))
    for r in records:
        r.values = {h: None if _empty(r.values.get(h)) else r.values.get(h) for h in headers}
    table = RawTable(list(headers), records, "geojson", has_geometry=True)
    if crs_name and not _is_wgs84_name(crs_name):
        _reproject_points(table, crs_name)
    return table


def _is_wgs84_name(name: str) -> bool:
    from pyproj import CRS

    if "CRS84" in name.upper():
        return True
    try:
        return CRS(name).to_epsg() == 4326
    except Exception:
        return False


def _reproject_points(table: RawTable, crs_name: str) -> None:
    from pyproj import CRS, Transformer

    try:
        transformer = Transformer.from_crs(CRS(crs_name), CRS("EPSG:4326"), always_xy=True)
    except Exception as exc:
        raise UnsupportedFormat(
            f"unknown coordinate reference system {crs_name!r}: {exc}", field="crs"
        ) from None
    located = [r for r in table.records if r.point is not None]
    if located:
        xs, ys = transformer.transform([r.point[0] for r in located], [r.point[1] for r in located])
        for r, x, y in zip(located, np.atleast_1d(xs), np.atleast_1d(ys), strict=True):
            r.point = (float(x), float(y))
    table.notes.append(
        (f"reprojected from {crs_name} to EPSG:4326", f"坐标已从 {crs_name} 转换为 EPSG:4326")
    )


def _python_value(value: Any) -> Any:
    import pandas as pd

    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, list | tuple | dict):
        return value
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, np.generic):
        return value.item()
    return value


def _shapefile_encoding(shp: Path) -> str | None:
    """The encoding to read a Shapefile's .dbf with, when GDAL would guess wrong."""
    siblings = {p.suffix.lower(): p for p in shp.parent.glob(shp.stem + ".*")}
    if ".cpg" in siblings or ".dbf" not in siblings:
        return None
    data = siblings[".dbf"].read_bytes()
    if len(data) < 32 or data[29] != 0:  # a language driver id: GDAL knows the code page
        return None
    if all(b < 128 for b in data):
        return None
    try:
        data.decode("utf-8")
        return "UTF-8"
    except UnicodeDecodeError:
        return "GB18030"


def _read_ogr(path: Path, fmt: str, *, layer: str | None, max_rows: int) -> RawTable:
    import pyogrio
    import shapely

    try:
        layers = [str(row[0]) for row in pyogrio.list_layers(path)]
    except Exception as exc:
        raise UnsupportedFormat(f"cannot read the {fmt} file: {exc}", field="file") from None
    if not layers:
        raise UnsupportedFormat(f"the {fmt} file has no layers", field="file")
    notes = []
    if layer is not None and fmt == "gpkg":
        if str(layer) not in layers:
            raise InvalidParameter(
                f"no layer {layer!r} in the file; layers: {', '.join(layers)}", field="sheet"
            )
        chosen = str(layer)
    else:
        chosen = layers[0]
        if len(layers) > 1:
            notes.append(
                (
                    f"read the first layer {chosen!r} of {len(layers)}",
                    f"读取了 {len(layers)} 个图层中的第一个“{chosen}”",
                )
            )
    encoding = _shapefile_encoding(path) if fmt == "shp" else None
    kwargs = {"encoding": encoding} if encoding else {}
    try:
        info = pyogrio.read_info(path, layer=chosen, **kwargs)
        if info.get("features", -1) > max_rows:
            raise PayloadTooLarge(f"the file has more than {max_rows} features", field="file")
        _check_cells(len(info.get("fields", ())), max(info.get("features", 0), 0))
        frame = pyogrio.read_dataframe(path, layer=chosen, **kwargs)
    except PayloadTooLarge:
        raise
    except Exception as exc:
        raise UnsupportedFormat(f"cannot read the {fmt} file: {exc}", field="file") from None
    if len(frame) > max_rows:
        raise PayloadTooLarge(f"the file has more than {max_rows} features", field="file")
    _check_cells(len(frame.columns), len(frame))
    import geopandas as gpd

    geometry = frame.geometry if isinstance(frame, gpd.GeoDataFrame) else None
    if geometry is not None and frame.crs is not None and frame.crs.to_epsg() != 4326:
        name = frame.crs.to_string()
        frame = frame.to_crs("EPSG:4326")
        geometry = frame.geometry
        if "CRS84" not in name.upper() and "4490" not in name:
            notes.append(
                (f"reprojected from {name} to EPSG:4326", f"坐标已从 {name} 转换为 EPSG:4326")
            )
    attributes = frame.drop(columns=[frame.geometry.name]) if geometry is not None else frame
    headers = [str(c) for c in attributes.columns]
    geoms = np.asarray(geometry.array, dtype=object) if geometry is not None else None
    records = []
    for i, cells in enumerate(attributes.itertuples(index=False, name=None)):
        values = {h: _python_value(v) for h, v in zip(headers, cells, strict=True)}
        values = {h: None if _empty(v) else v for h, v in values.items()}
        point, error = None, None
        if geoms is not None:
            geom = geoms[i]
            if geom is not None and not shapely.is_empty(geom):
                if geom.geom_type == "MultiPoint" and shapely.get_num_geometries(geom) == 1:
                    geom = shapely.get_geometry(geom, 0)
                if geom.geom_type == "Point":
                    point = (float(geom.x), float(geom.y))
                else:
                    error = f"geometry must be a Point, got {geom.geom_type}"
        records.append(RawRecord(i + 1, values, point, error))
    table = RawTable(headers, records, fmt, has_geometry=geoms is not None, sheet=chosen)
    table.notes.extend(notes)
    if encoding:
        table.notes.append(
            (
                f"the .dbf has no .cpg file; read it as {encoding}",
                f".dbf 没有 .cpg 编码文件，按 {encoding} 读取",
            )
        )
    return table
