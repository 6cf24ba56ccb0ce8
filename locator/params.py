"""Request parameters: parsed and validated once, for the web API and the CLI alike.

Each parser takes a mapping of query parameters (a werkzeug ``MultiDict`` or a plain
dict) and raises :class:`~locator.errors.InvalidParameter` naming the bad field.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Set
from dataclasses import dataclass

import numpy as np

from .catalog import FacilityFilter
from .crs import normalize_crs, to_wgs84
from .errors import InvalidParameter
from .messages import Message
from .model import STATUSES, check_lon_lat, parse_amenity, parse_kind, parse_status
from .nearest import (
    DRIVER_QUERY,
    MAX_BUFFER_KM,
    MAX_K,
    REST_KINDS,
    FacilityQuery,
    Hit,
    NearestIndex,
    check_route,
)


def _values(args: Mapping, name: str) -> list[str]:
    """All values of a parameter, whether repeated (``?kind=a&kind=b``) or comma-separated."""
    raw = args.getlist(name) if hasattr(args, "getlist") else args.get(name)
    if raw is None:
        return []
    if isinstance(raw, str):
        raw = [raw]
    return [part.strip() for value in raw for part in str(value).split(",") if part.strip()]


def reject_unknown(args: Mapping, allowed: Set[str], what: str = "parameter") -> None:
    """InvalidParameter naming the first parameter (or body ``field``) not in ``allowed``
    (typos must not pass silently)."""
    unknown = sorted(set(args) - allowed)
    if unknown:
        raise InvalidParameter(
            Message("unknown_name", what=what, name=unknown[0], known=", ".join(sorted(allowed))),
            field=unknown[0],
        )


def _single(args: Mapping, name: str) -> str | None:
    values = _values(args, name)
    return values[0] if values else None


def parse_bbox(text: str) -> tuple[float, float, float, float]:
    """``west,south,east,north`` in WGS-84 degrees."""
    parts = text.split(",")
    if len(parts) != 4:
        raise InvalidParameter(Message("bbox_numbers"), field="bbox")
    try:
        west, south, east, north = (float(p) for p in parts)
    except ValueError:
        raise InvalidParameter(Message("bbox_numbers"), field="bbox") from None
    try:
        check_lon_lat(west, south)
        check_lon_lat(east, north)
    except InvalidParameter as exc:
        raise InvalidParameter(
            Message("prefixed", name="bbox", inner=exc.message), field="bbox"
        ) from None
    if south > north:
        raise InvalidParameter(Message("bbox_south_north"), field="bbox")
    return west, south, east, north


def parse_int(args: Mapping, name: str, default: int, low: int, high: int) -> int:
    """An integer parameter within ``[low, high]``."""
    text = _single(args, name)
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        raise InvalidParameter(
            Message("not_whole_number", name=name, got=text), field=name
        ) from None
    if not low <= value <= high:
        raise InvalidParameter(Message("int_between", name=name, low=low, high=high), field=name)
    return value


def parse_kinds(args: Mapping, default: frozenset[str] = frozenset()) -> frozenset[str]:
    """The kinds asked for (keys or labels, repeated or comma-separated), ``default`` when
    none is; ``kind=any`` asks for every kind (the empty set: no kind filter)."""
    values = _values(args, "kind")
    if not values:
        return default
    if [v.lower() for v in values] == ["any"]:
        return frozenset()
    return frozenset(parse_kind(v) for v in values)


def parse_filter(args: Mapping, default_kinds: frozenset[str] = frozenset()) -> FacilityFilter:
    """A :class:`FacilityFilter` from query parameters; InvalidParameter names the bad one.
    Without ``kind``, the kinds are ``default_kinds`` (by default: every kind)."""
    bbox_text = args.get("bbox")
    q = _single(args, "q")
    if q is not None and len(q) > 100:
        raise InvalidParameter(Message("too_long_text", name="q", limit=100), field="q")
    return FacilityFilter(
        bbox=parse_bbox(bbox_text) if bbox_text is not None else None,
        kinds=parse_kinds(args, default_kinds),
        statuses=frozenset(parse_status(v) for v in _values(args, "status")),
        amenities=frozenset(parse_amenity(v) for v in _values(args, "amenity")),
        city=_single(args, "city"),
        county=_single(args, "county"),
        township=_single(args, "township"),
        q=q,
    )


def parse_float(
    args: Mapping, name: str, default: float | None, low: float, high: float
) -> float | None:
    """A number parameter within ``[low, high]``."""
    text = _single(args, name)
    if text is None:
        return default
    try:
        value = float(text)
    except ValueError:
        raise InvalidParameter(Message("not_number", name=name, got=text), field=name) from None
    if not math.isfinite(value) or not low <= value <= high:
        raise InvalidParameter(Message("number_between", name=name, low=low, high=high), field=name)
    return value


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def parse_bool(args: Mapping, name: str, default: bool = False) -> bool:
    """``true/false``, ``1/0``, ``yes/no`` or ``on/off``."""
    text = _single(args, name)
    if text is None:
        return default
    if text.lower() in _TRUE:
        return True
    if text.lower() in _FALSE:
        return False
    raise InvalidParameter(Message("not_bool", name=name, got=text), field=name)


def parse_datetime(args: Mapping, name: str) -> dt.datetime | None:
    """An ISO 8601 date-time; without a zone it is Asia/Shanghai wall-clock time."""
    text = _single(args, name)
    if text is None:
        return None
    text = text.strip().replace("Z", "+00:00")
    if " " in text[10:]:  # an unescaped "+" of "+08:00" arrives as a space
        text = text[:10] + text[10:].replace(" ", "+")
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        raise InvalidParameter(Message("datetime_like", name=name), field=name) from None


def parse_crs(args: Mapping, name: str = "crs") -> str:
    """A datum name (``wgs84``, ``gcj02``, ``bd09`` or an alias), naming ``name`` if bad."""
    try:
        return normalize_crs(_single(args, name))
    except InvalidParameter as exc:
        raise InvalidParameter(
            Message("prefixed", name=name, inner=exc.message), field=name
        ) from None


def parse_point(args: Mapping, crs_field: str = "crs") -> tuple[float, float]:
    """``lon``/``lat`` in the datum named by ``crs``, as WGS-84."""
    lon, lat = check_lon_lat(_single(args, "lon"), _single(args, "lat"))
    crs = parse_crs(args, crs_field)
    if crs == "wgs84":
        return lon, lat
    return to_wgs84(lon, lat, crs)


_QUERY_FIELDS = ("kind", "status", "amenity", "open_now", "at", "min_truck_parking")


def parse_facility_query(args: Mapping) -> FacilityQuery:
    """What a driver wants: kinds (default: places to stop, :data:`~locator.nearest.REST_KINDS`;
    ``any`` for every kind, logistics parks included), statuses (default open), amenities,
    open now, parking."""
    if not any(name in args for name in _QUERY_FIELDS):
        return DRIVER_QUERY
    statuses = _values(args, "status")
    parking = _single(args, "min_truck_parking")
    return FacilityQuery(
        kinds=parse_kinds(args, REST_KINDS),
        statuses=(
            frozenset(STATUSES)
            if statuses == ["any"]
            else frozenset(parse_status(v) for v in statuses) or frozenset({"open"})
        ),
        amenities=frozenset(parse_amenity(v) for v in _values(args, "amenity")),
        open_now=parse_bool(args, "open_now"),
        at=parse_datetime(args, "at"),
        min_truck_parking=None
        if parking is None
        else parse_int(args, "min_truck_parking", 0, 0, 100_000),
    )


#: The query parameters of a nearest search.
NEAREST_PARAMS = frozenset(
    {
        "lon",
        "lat",
        "k",
        "kind",
        "status",
        "amenity",
        "open_now",
        "at",
        "max_km",
        "min_truck_parking",
        "crs",
        "out_crs",
    }
)


@dataclass(frozen=True)
class NearestRequest:
    """A driver's nearest search: a point (WGS-84), how many, how far, what kind of place,
    and the datum of the answer's coordinates."""

    lon: float
    lat: float
    k: int = 5
    max_km: float | None = None
    query: FacilityQuery = DRIVER_QUERY
    out_crs: str = "wgs84"

    @classmethod
    def from_args(cls, args: Mapping) -> NearestRequest:
        """From query parameters (``lon, lat`` in ``crs``, ``k``, ``max_km``, the filters,
        ``out_crs``); unknown parameters are refused."""
        reject_unknown(args, NEAREST_PARAMS)
        lon, lat = parse_point(args)
        return cls(
            lon,
            lat,
            parse_int(args, "k", 5, 1, MAX_K),
            parse_float(args, "max_km", None, 0.001, 20_000.0),
            parse_facility_query(args),
            parse_crs(args, "out_crs"),
        )

    def search(self, index: NearestIndex, now: dt.datetime | None = None) -> list[Hit]:
        """The hits of this request in ``index``, open states read at ``now``."""
        return index.nearest(self.lon, self.lat, self.k, self.query, self.max_km, now=now)

    def amenity_data(
        self, index: NearestIndex, hits: list[Hit], now: dt.datetime | None = None
    ) -> dict:
        """How many places near the point have any amenity data, and how many have each
        amenity asked for (see :meth:`NearestIndex.amenity_data`).

        "Near" is the ``k`` nearest places of this search without its amenity and truck
        parking filters (and then without open now; same point, kinds, statuses and
        ``max_km``): the ``hits`` themselves when there are no such filters. When none of
        them holds any amenity data, an empty answer means "nobody knows", not "there is
        none".
        """
        q = self.query
        nearby = hits
        if q.amenities or q.min_truck_parking is not None:
            plain = FacilityQuery(kinds=q.kinds, statuses=q.statuses)
            nearby = index.nearest(self.lon, self.lat, self.k, plain, self.max_km, now=now)
        return index.amenity_data(nearby, sorted(q.amenities))


ROUTE_FIELDS = {
    "route",
    "buffer_km",
    "kind",
    "status",
    "amenity",
    "open_now",
    "at",
    "min_truck_parking",
    "position",
    "crs",
    "out_crs",
    "limit",
}


class Args(dict):
    """Query-style arguments (name -> list of strings) that answer ``getlist``."""

    def __init__(self, values: Mapping | None = None):
        super().__init__()
        for name, value in (values or {}).items():
            if value is None:
                continue
            items = value if isinstance(value, list | tuple) else [value]
            self[name] = [str(v).lower() if isinstance(v, bool) else str(v) for v in items]

    def get(self, key, default=None):
        values = super().get(key)
        return values[0] if values else default

    def getlist(self, key) -> list[str]:
        return list(super().get(key) or [])


def _body_as_args(body: Mapping) -> Args:
    """JSON body fields as query-style arguments, so one set of parsers serves both."""
    return Args({name: body.get(name) for name in ROUTE_FIELDS - {"route", "position"}})


@dataclass(frozen=True)
class RouteRequest:
    """Places near a route (WGS-84 vertices), in driving order: the corridor, what kind
    of place, where the driver is now, how many, and the datum of the answer."""

    route: tuple[tuple[float, float], ...]
    buffer_km: float = 5.0
    query: FacilityQuery = DRIVER_QUERY
    position: tuple[float, float] | None = None
    limit: int = 200
    out_crs: str = "wgs84"

    @classmethod
    def from_body(cls, body: Mapping) -> RouteRequest:
        """From a JSON object: ``route`` is a GeoJSON LineString or a list of
        ``[lon, lat]``; ``crs`` names the datum of ``route`` and ``position`` (converted
        to WGS-84 here); unknown fields are refused."""
        reject_unknown(body, ROUTE_FIELDS, what="field")
        args = _body_as_args(body)
        crs = parse_crs(args, "crs")
        route = check_route(body.get("route"))
        if crs != "wgs84":
            lons, lats = to_wgs84(route[:, 0], route[:, 1], crs)
            route = np.column_stack([lons, lats])
        position = body.get("position")
        if position is not None:
            if not isinstance(position, list | tuple) or len(position) != 2:
                raise InvalidParameter("position must be [lon, lat]", field="position")
            try:
                position = check_lon_lat(*position)
            except InvalidParameter as exc:
                raise InvalidParameter(
                    Message("prefixed", name="position", inner=exc.message), field="position"
                ) from None
            if crs != "wgs84":
                position = to_wgs84(*position, crs)
        return cls(
            tuple(map(tuple, route.tolist())),
            parse_float(args, "buffer_km", 5.0, 0.001, MAX_BUFFER_KM),
            parse_facility_query(args),
            position,
            parse_int(args, "limit", 200, 1, 1000),
            parse_crs(args, "out_crs"),
        )

    def search(self, index: NearestIndex, now: dt.datetime | None = None) -> list[Hit]:
        """The hits of this request in ``index``, open states read at ``now``."""
        return index.along_route(
            self.route, self.buffer_km, self.query, self.position, self.limit, now=now
        )
