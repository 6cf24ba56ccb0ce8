"""Nearest facilities for a driver: exact great-circle K-nearest and search along a route.

Points live on the unit sphere as 3-D vectors; the straight (chord) distance between
two such vectors grows with the great-circle distance, so a KD-tree over them
(:class:`scipy.spatial.cKDTree`) answers great-circle K-nearest queries exactly,
with no projection and no scan. One :class:`NearestIndex` is built per data version
(see :attr:`locator.catalog.Catalog.nearest_index`).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
from scipy.spatial import cKDTree

from .crs import EARTH_RADIUS_M
from .errors import InvalidParameter
from .hours import OPEN, facility_open_state, local_time
from .model import AMENITIES, KINDS, STATUSES, Facility, check_lon_lat

if TYPE_CHECKING:
    from .service_areas import ServiceAreas

#: Defaults of the drive-time estimate (straight line x detour at an average speed),
#: used until a road network is loaded.
DEFAULT_DETOUR_FACTOR = 1.3
DEFAULT_SPEED_KMH = 50.0
MAX_K = 50
MAX_ROUTE_VERTICES = 5000
MAX_BUFFER_KM = 50.0
#: The longest route searched (a drive across China is about 5,000 km).
MAX_ROUTE_KM = 10_000.0
#: The largest corridor searched, route length x 2 x buffer (Anhui is 140,000 km²): at
#: the widest buffer a route of 2,000 km, at the default 5 km one of 10,000 km.
MAX_CORRIDOR_KM2 = 200_000.0
#: The most great-circle pieces a route is cut into; longer routes get longer pieces.
MAX_ROUTE_PIECES = 200_000

_KIND_NAMES = tuple(KINDS)
_STATUS_NAMES = tuple(STATUSES)
_KIND_CODE = {name: i for i, name in enumerate(KINDS)}
_STATUS_CODE = {name: i for i, name in enumerate(STATUSES)}
_AMENITY_BIT = {name: 1 << i for i, name in enumerate(AMENITIES)}


def unit_vectors(lon, lat) -> np.ndarray:
    """Points on the unit sphere, shape (n, 3), from degrees."""
    lon_r = np.radians(np.asarray(lon, dtype=float))
    lat_r = np.radians(np.asarray(lat, dtype=float))
    cos_lat = np.cos(lat_r)
    return np.stack([cos_lat * np.cos(lon_r), cos_lat * np.sin(lon_r), np.sin(lat_r)], axis=-1)


def chord_to_m(chord):
    """Great-circle metres from chord lengths on the unit sphere."""
    return 2.0 * EARTH_RADIUS_M * np.arcsin(np.minimum(np.asarray(chord) / 2.0, 1.0))


def m_to_chord(metres: float) -> float:
    """The chord length on the unit sphere of a great-circle distance in metres."""
    return 2.0 * math.sin(min(metres / EARTH_RADIUS_M, math.pi) / 2.0)


def _bearing(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """:func:`bearing_deg` for one pair of points, without numpy's per-call cost."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dl = math.radians(lon2 - lon1)
    y = math.sin(dl) * math.cos(p2)
    x = math.cos(p1) * math.sin(p2) - math.sin(p1) * math.cos(p2) * math.cos(dl)
    return math.degrees(math.atan2(y, x)) % 360.0


@lru_cache(maxsize=256)
def _lookup_table(codes: tuple[str, ...], wanted: frozenset[str]) -> np.ndarray:
    """A boolean table by code: which of the ``codes`` are ``wanted``."""
    table = np.zeros(len(codes), dtype=bool)
    table[[codes.index(name) for name in wanted]] = True
    table.setflags(write=False)
    return table


def bearing_deg(lon1, lat1, lon2, lat2):
    """Initial great-circle bearing from point 1 to point 2, degrees clockwise from north."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dl = np.radians(np.asarray(lon2) - lon1)
    y = np.sin(dl) * np.cos(p2)
    x = np.cos(p1) * np.sin(p2) - np.sin(p1) * np.cos(p2) * np.cos(dl)
    return np.degrees(np.arctan2(y, x)) % 360.0


@dataclass(frozen=True)
class FacilityQuery:
    """Which facilities a driver wants. Statuses default to ``open`` only."""

    kinds: frozenset[str] = frozenset()
    statuses: frozenset[str] = frozenset({"open"})
    amenities: frozenset[str] = frozenset()
    open_now: bool = False
    at: dt.datetime | None = None
    min_truck_parking: int | None = None


#: Open facilities of any kind: the library's default.
DEFAULT_QUERY = FacilityQuery()
_NOTHING_LEFT = FacilityQuery(frozenset(), frozenset())

#: Places where a driver can stop and rest. Logistics parks are demand and candidate
#: places, not rest stops: they are listed only when asked for.
REST_KINDS = frozenset(
    {"driver_home", "service_station", "service_point", "legal_aid", "service_area"}
)
#: What a driver gets without filters (the API, the CLI, the driver page, the widget):
#: open places to stop.
DRIVER_QUERY = FacilityQuery(kinds=REST_KINDS)


@dataclass(slots=True)
class Hit:
    """One facility found, with how far it is and whether it is open."""

    facility: Facility
    distance_m: float
    bearing_deg: float | None
    drive_minutes: float | None
    open_state: str
    distance_along_m: float | None = None
    offset_m: float | None = None
    source: NearestIndex | None = None  # the index whose cached Feature to start from
    position: int = -1
    #: For a side of a paired service area: how many of the place's sides match the
    #: search (0 for other facilities).
    sides_matched: int = 0

    def to_feature(self) -> dict:
        """The facility's GeoJSON Feature with the search fields added to its properties.

        A new Feature and properties; the geometry is the index's cached one, to be
        replaced, never changed in place.
        """
        base = (
            self.source.feature(self.position)
            if self.source is not None
            else self.facility.to_feature()
        )
        props = dict(base["properties"])
        feature = {**base, "properties": props}
        props["distance_m"] = round(self.distance_m, 1)
        if self.bearing_deg is not None:
            props["bearing_deg"] = round(self.bearing_deg, 1)
        if self.drive_minutes is not None:
            props["drive_minutes_estimate"] = round(self.drive_minutes, 1)
        props["open_state"] = self.open_state
        if self.distance_along_m is not None:
            props["distance_along_m"] = round(self.distance_along_m, 1)
            props["offset_m"] = round(self.offset_m, 1)
        if self.sides_matched:
            props["serves"] = "both" if self.sides_matched > 1 else "one_side"
        return feature


@dataclass
class DriveEstimate:
    """Straight-line distance x detour factor at an average speed: an estimate, labelled so."""

    detour_factor: float = DEFAULT_DETOUR_FACTOR
    speed_kmh: float = DEFAULT_SPEED_KMH

    @classmethod
    def from_settings(cls, settings) -> DriveEstimate:
        """The estimate configured by ``LOCATOR_DRIVE_DETOUR_FACTOR`` and ``..._SPEED_KMH``."""
        return cls(settings.drive_detour_factor, settings.drive_speed_kmh)

    def minutes(self, distance_m):
        return np.asarray(distance_m) * self.detour_factor / (self.speed_kmh * 1000 / 60)

    def describe(self) -> dict:
        return {
            "method": "straight_line_estimate",
            "detour_factor": self.detour_factor,
            "speed_kmh": self.speed_kmh,
        }


@dataclass
class NearestIndex:
    """K-nearest and along-route search over one data version's facilities."""

    facilities: Sequence[Facility]
    estimate: DriveEstimate = field(default_factory=DriveEstimate)
    #: The paired service areas of these facilities: with them, the sides of one place
    #: are one result (the nearest side stands for it). None: every facility on its own.
    places: ServiceAreas | None = None

    def __post_init__(self):
        fs = self.facilities
        self.size = len(fs)
        self.lon = np.fromiter((f.lon for f in fs), dtype=float, count=self.size)
        self.lat = np.fromiter((f.lat for f in fs), dtype=float, count=self.size)
        self.xyz = unit_vectors(self.lon, self.lat).reshape(self.size, 3)
        self.kind = np.fromiter((_KIND_CODE[f.kind] for f in fs), dtype=np.int8, count=self.size)
        self.status = np.fromiter(
            (_STATUS_CODE[f.status] for f in fs), dtype=np.int8, count=self.size
        )
        self.amenity_bits = np.fromiter(
            (sum(_AMENITY_BIT[a] for a in f.amenities) for f in fs), dtype=np.int64, count=self.size
        )
        self.parking = np.fromiter(
            (-1 if f.truck_parking_spaces is None else f.truck_parking_spaces for f in fs),
            dtype=np.int64,
            count=self.size,
        )
        # Truck parking spaces are truck parking, whether or not the amenity is listed.
        self.amenity_bits |= np.where(self.parking > 0, _AMENITY_BIT["truck_parking"], 0)
        self.ids = [f.id for f in fs]
        self._features: list[dict | None] = [None] * self.size
        self._tree = cKDTree(self.xyz) if self.size else None
        self._subtrees: dict[tuple, tuple[cKDTree | None, np.ndarray]] = {}
        self._group_places()

    def _group_places(self) -> None:
        """``group``: for each facility the position of its place's first side (None when
        no place has several sides); ``_sides``: position -> the positions of its place."""
        self.group: np.ndarray | None = None
        self._sides: dict[int, np.ndarray] = {}
        if self.places is None:
            return
        position = {fid: i for i, fid in enumerate(self.ids)}
        group = np.arange(self.size)
        for place in self.places.places:
            members = sorted(position[s.id] for s in place.sides if s.id in position)
            if len(members) < 2:
                continue
            members = np.array(members)
            group[members] = members[0]
            for m in members.tolist():
                self._sides[m] = members
        if self._sides:
            self.group = group
            # Ties at equal distance are broken by id: the rank of each id.
            self._rank = np.empty(self.size, dtype=np.int64)
            self._rank[np.argsort(np.array(self.ids))] = np.arange(self.size)

    # ---- filters -----------------------------------------------------------------------
    def _passes(
        self, idx: np.ndarray, query: FacilityQuery, now: dt.datetime | None = None
    ) -> np.ndarray:
        keep = np.ones(len(idx), dtype=bool)
        if query.kinds:
            keep &= _lookup_table(_KIND_NAMES, query.kinds)[self.kind[idx]]
        if query.statuses and len(query.statuses) < len(STATUSES):
            keep &= _lookup_table(_STATUS_NAMES, query.statuses)[self.status[idx]]
        if query.amenities:
            wanted = sum(_AMENITY_BIT[a] for a in query.amenities)
            keep &= (self.amenity_bits[idx] & wanted) == wanted
        if query.min_truck_parking is not None:
            keep &= self.parking[idx] >= query.min_truck_parking
        if query.open_now:
            at = local_time(query.at or now)
            for j in np.flatnonzero(keep):
                keep[j] = facility_open_state(self.facilities[idx[j]], at) == OPEN
        return keep

    def _tree_for(
        self, query: FacilityQuery
    ) -> tuple[cKDTree | None, np.ndarray | None, FacilityQuery]:
        """A tree over the facilities of the wanted kinds and statuses (built once per
        combination), and what is left of the query to check on its results."""
        statuses = query.statuses if len(query.statuses) < len(STATUSES) else frozenset()
        if query.amenities or query.open_now or query.min_truck_parking is not None:
            rest = FacilityQuery(
                frozenset(),
                frozenset(),
                query.amenities,
                query.open_now,
                query.at,
                query.min_truck_parking,
            )
        else:
            rest = _NOTHING_LEFT
        if not query.kinds and not statuses:
            return self._tree, None, rest
        key = (query.kinds, statuses)
        if key not in self._subtrees:
            keep = np.ones(self.size, dtype=bool)
            if query.kinds:
                keep &= _lookup_table(_KIND_NAMES, key[0])[self.kind]
            if statuses:
                keep &= _lookup_table(_STATUS_NAMES, statuses)[self.status]
            members = np.flatnonzero(keep)
            tree = cKDTree(self.xyz[members]) if len(members) else None
            self._subtrees[key] = (tree, members)
        return (*self._subtrees[key], rest)

    # ---- K nearest ---------------------------------------------------------------------
    def nearest(
        self,
        lon: float,
        lat: float,
        k: int = 5,
        query: FacilityQuery | None = None,
        max_km: float | None = None,
        now: dt.datetime | None = None,
    ) -> list[Hit]:
        """The ``k`` nearest facilities passing ``query``, nearest first (ties by id).

        Exact: the KD-tree is asked for more neighbours until the ``k``-th match is
        nearer than every facility not yet examined, or ``max_km`` is reached. Open
        states are read at ``query.at``, else at ``now`` (default: the system clock).
        With :attr:`places`, the sides of a paired service area are one result: its
        nearest matching side (ties by id), and the ``k`` are ``k`` places.
        """
        query = query or DEFAULT_QUERY
        if not 1 <= k <= MAX_K:
            raise InvalidParameter(f"k must be between 1 and {MAX_K}", field="k")
        tree, members, rest = self._tree_for(query)
        if tree is None:
            return []
        unfiltered = not (rest.amenities or rest.open_now or rest.min_truck_parking is not None)
        n = tree.n
        lon_r, lat_r = math.radians(lon), math.radians(lat)
        cos_lat = math.cos(lat_r)
        point = (cos_lat * math.cos(lon_r), cos_lat * math.sin(lon_r), math.sin(lat_r))
        bound = m_to_chord(max_km * 1000.0) if max_km is not None else np.inf
        grouped = self.group is not None
        fetch = min(n, (k + 1 if unfiltered else k + 8) + (k + 1 if grouped else 0))
        while True:
            chords, found = tree.query(
                point, k=[fetch] if fetch == 1 else fetch, distance_upper_bound=bound
            )
            if found[-1] >= n:  # past max_km: the tree pads with n
                valid = found < n
                chords, found = chords[valid], found[valid]
            idx = members[found] if members is not None else found
            keep = None if unfiltered else self._passes(idx, rest, now)
            if len(found) < fetch or fetch >= n:
                break  # every facility within reach is in
            matched = chords if keep is None else chords[keep]
            if grouped:  # k places, each at its nearest side
                first = self._first_per_place(idx if keep is None else idx[keep], matched)
                matched = matched[first]
            # Complete when k matches are in and the farthest fetched lies beyond the
            # k-th match (so no tie at the edge is left outside).
            if len(matched) >= k and chords[-1] > matched[k - 1] + 1e-12:
                break
            fetch = min(n, fetch * 4)
        if keep is not None:
            idx, chords = idx[keep], chords[keep]
        if grouped:
            first = self._first_per_place(idx, chords)
            idx, chords = idx[first], chords[first]
        return self._hits(lon, lat, idx, chords, k, query, now)

    def _first_per_place(self, idx: np.ndarray, chords: np.ndarray) -> np.ndarray:
        """Positions in ``idx`` (ordered by distance) of each place's nearest side, in
        that order; sides at equal distance by id."""
        order = None
        if len(chords) > 1 and bool((chords[1:] == chords[:-1]).any()):
            order = np.lexsort((self._rank[idx], chords))
            idx = idx[order]
        _, first = np.unique(self.group[idx], return_index=True)
        first.sort()
        return first if order is None else order[first]

    def _hits(self, lon, lat, idx, chords, k, query, now) -> list[Hit]:
        scale = 2.0 * EARTH_RADIUS_M  # chord_to_m, without numpy's per-call cost
        distances = [scale * math.asin(min(c / 2.0, 1.0)) for c in chords.tolist()]
        idx = idx.tolist()
        # The tree returns neighbours by distance; equal distances are ordered by id.
        order = range(min(k, len(idx)))
        if len(set(distances[: k + 1])) < min(k + 1, len(distances)):
            order = sorted(range(len(idx)), key=lambda j: (distances[j], self.ids[idx[j]]))[:k]
        at = local_time(query.at or now)
        per_minute = self.estimate.speed_kmh * 1000.0 / 60.0 / self.estimate.detour_factor
        hits = []
        for j in order:
            i, d = idx[j], distances[j]
            f = self.facilities[i]
            hits.append(
                Hit(
                    f,
                    d,
                    _bearing(lon, lat, f.lon, f.lat),
                    d / per_minute,
                    facility_open_state(f, at),
                    source=self,
                    position=i,
                )
            )
        if self._sides:
            self._count_sides(hits, query, now)
        return hits

    def _count_sides(self, hits: list[Hit], query: FacilityQuery, now) -> None:
        """Set how many sides of its place match ``query`` on each hit of a paired place."""
        paired = [h for h in hits if h.position in self._sides]
        if not paired:
            return
        members = [self._sides[h.position] for h in paired]
        ok = self._passes(np.concatenate(members), query, now).tolist()
        start = 0
        for hit, sides in zip(paired, members, strict=True):
            hit.sides_matched = max(1, sum(ok[start : start + len(sides)]))
            start += len(sides)

    def feature(self, i: int) -> dict:
        """The GeoJSON Feature of facility ``i``, built once (facilities of one data
        version never change). Callers copy before they add to it. With :attr:`places`,
        a side of a paired service area is named as its place and tells its sides; a
        derived name says so (:meth:`~locator.service_areas.ServiceAreas.properties`)."""
        cached = self._features[i]
        if cached is None:
            cached = self.facilities[i].to_feature()
            if self.places is not None:
                extra = self.places.properties(self.ids[i])
                if extra:
                    props = cached["properties"]
                    props.update(extra)
                    if "place_name" in extra:
                        props["name"] = extra["place_name"]
            self._features[i] = cached
        return cached

    def amenity_data(self, hits: Sequence[Hit], amenities: Sequence[str] = ()) -> dict:
        """How many of the places of ``hits`` have any amenity data (amenities or a count
        of truck parking spaces, on any of their sides), and how many have each of
        ``amenities``: ``{"nearby": n, "with_data": m, "with": {amenity: count}}``."""
        with_data = 0
        counts = dict.fromkeys(amenities, 0)
        for hit in hits:
            sides = self._sides.get(hit.position)
            positions = [hit.position] if sides is None else sides.tolist()
            bits, parking = 0, -1
            for p in positions:
                bits |= int(self.amenity_bits[p])
                parking = max(parking, int(self.parking[p]))
            if bits or parking >= 0:
                with_data += 1
            for name in counts:
                if bits & _AMENITY_BIT[name]:
                    counts[name] += 1
        return {"nearby": len(hits), "with_data": with_data, "with": counts}

    # ---- along a route -----------------------------------------------------------------
    def _near_line(self, line: _Polyline, buffer_m: float) -> np.ndarray:
        """Facilities that may lie within ``buffer_m`` of the line: those within reach of
        vertices taken every ``buffer_m`` or so along it (so that a wide buffer does not
        ask the tree the same question at every piece)."""
        every = max(1, int(buffer_m // max(line.max_step_m, 1e-9)))
        probes = line.vertices[::every]
        if (len(line.vertices) - 1) % every:
            probes = np.vstack([probes, line.vertices[-1:]])
        reach = m_to_chord(buffer_m + every * line.max_step_m)
        found = []
        for start in range(0, len(probes), 1024):  # bounded lists per batch
            near = self._tree.query_ball_point(probes[start : start + 1024], r=reach)
            found.append(
                np.unique(np.fromiter((i for group in near for i in group), dtype=np.int64))
            )
        return np.unique(np.concatenate(found)) if found else np.zeros(0, dtype=np.int64)

    def along_route(
        self,
        route: Sequence[Sequence[float]],
        buffer_km: float = 5.0,
        query: FacilityQuery | None = None,
        position: tuple[float, float] | None = None,
        limit: int | None = None,
        now: dt.datetime | None = None,
    ) -> list[Hit]:
        """Facilities within ``buffer_km`` of a route, in driving order.

        Each hit has ``distance_along_m`` (from the route's start to the facility's
        nearest point on the route) and ``offset_m`` (its distance from the route).
        With ``position``, only facilities ahead of it along the route are kept. With
        :attr:`places`, a paired service area is listed once, at its first side.
        """
        query = query or DEFAULT_QUERY
        coords = check_route(route)
        if not 0 < buffer_km <= MAX_BUFFER_KM:
            raise InvalidParameter(
                f"buffer_km must be above 0 and at most {MAX_BUFFER_KM:g}", field="buffer_km"
            )
        length_m = check_corridor(coords, buffer_km)
        if self._tree is None:
            return []
        step_m = max(min(1000.0, buffer_km * 500.0), length_m / MAX_ROUTE_PIECES)
        line = _Polyline(coords, max_step_m=step_m)
        buffer_m = buffer_km * 1000.0
        candidates = self._near_line(line, buffer_m)
        if len(candidates) == 0:
            return []
        candidates = candidates[self._passes(candidates, query, now)]
        along, offset = line.locate(self.xyz[candidates])
        inside = offset <= buffer_m
        candidates, along, offset = candidates[inside], along[inside], offset[inside]
        start = 0.0
        if position is not None:
            plon, plat = check_lon_lat(*position)
            here, _ = line.locate(unit_vectors(plon, plat).reshape(1, 3))
            start = float(here[0])
            ahead = along >= start
            candidates, along, offset = candidates[ahead], along[ahead], offset[ahead]
        order = sorted(
            range(len(candidates)), key=lambda j: (along[j], offset[j], self.ids[candidates[j]])
        )
        if self.group is not None:  # a paired service area once, at its first side
            places = self.group[candidates].tolist()
            seen: set[int] = set()
            order = [j for j in order if not (places[j] in seen or seen.add(places[j]))]
        if limit is not None:
            order = order[:limit]
        at = local_time(query.at or now)
        hits = []
        for j in order:
            f = self.facilities[candidates[j]]
            # Drive time counts from the position (or the start) along the route.
            minutes = float(self.estimate.minutes(along[j] - start + offset[j]))
            hits.append(
                Hit(
                    f,
                    float(offset[j]),
                    None,
                    minutes,
                    facility_open_state(f, at),
                    float(along[j]),
                    float(offset[j]),
                    source=self,
                    position=int(candidates[j]),
                )
            )
        if self._sides:
            self._count_sides(hits, query, now)
        return hits


def route_length_m(coords: np.ndarray) -> float:
    """The great-circle length of a route of lon/lat vertices, in metres."""
    points = unit_vectors(coords[:, 0], coords[:, 1]).reshape(-1, 3)
    return float(_angle(points[:-1], points[1:]).sum() * EARTH_RADIUS_M)


def check_corridor(coords: np.ndarray, buffer_km: float) -> float:
    """The route's length in metres, after refusing a route longer than
    :data:`MAX_ROUTE_KM` or a corridor larger than :data:`MAX_CORRIDOR_KM2`."""
    length_km = route_length_m(coords) / 1000.0
    if length_km > MAX_ROUTE_KM:
        raise InvalidParameter(
            f"the route is {length_km:,.0f} km long; routes of at most "
            f"{MAX_ROUTE_KM:,.0f} km are searched",
            field="route",
        )
    if 2.0 * buffer_km * length_km > MAX_CORRIDOR_KM2:
        longest = MAX_CORRIDOR_KM2 / (2.0 * buffer_km)
        raise InvalidParameter(
            f"with buffer_km {buffer_km:g} a route may be at most {longest:,.0f} km long "
            f"(this one is {length_km:,.0f} km; the corridor is limited to "
            f"{MAX_CORRIDOR_KM2:,.0f} km²): choose a smaller buffer_km or a shorter route",
            field="buffer_km",
        )
    return length_km * 1000.0


def check_route(route) -> np.ndarray:
    """Route vertices as an (n, 2) lon/lat array; InvalidParameter naming ``route``."""
    if isinstance(route, dict):
        if route.get("type") != "LineString":
            raise InvalidParameter("route must be a GeoJSON LineString", field="route")
        route = route.get("coordinates")
    if not isinstance(route, list | tuple) or len(route) < 2:
        raise InvalidParameter("route needs at least 2 points", field="route")
    if len(route) > MAX_ROUTE_VERTICES:
        raise InvalidParameter(f"route has more than {MAX_ROUTE_VERTICES} points", field="route")
    coords = []
    for i, vertex in enumerate(route):
        if not isinstance(vertex, list | tuple) or len(vertex) < 2:
            raise InvalidParameter(f"route point {i} must be [lon, lat]", field="route")
        try:
            coords.append(check_lon_lat(vertex[0], vertex[1]))
        except InvalidParameter as exc:
            raise InvalidParameter(f"route point {i}: {exc.message}", field="route") from None
    return np.asarray(coords, dtype=float)


class _Polyline:
    """A route on the unit sphere, cut into great-circle pieces of at most ``max_step_m``."""

    def __init__(self, coords: np.ndarray, max_step_m: float):
        points = unit_vectors(coords[:, 0], coords[:, 1]).reshape(-1, 3)
        pieces = [points[:1]]
        for a, b in zip(points[:-1], points[1:], strict=True):
            angle = _angle(a, b)
            steps = max(1, math.ceil(angle * EARTH_RADIUS_M / max_step_m))
            t = np.linspace(0.0, 1.0, steps + 1)[1:]
            pieces.append(_slerp(a, b, angle, t))
        self.vertices = np.concatenate(pieces)
        starts, ends = self.vertices[:-1], self.vertices[1:]
        lengths = _angle(starts, ends) * EARTH_RADIUS_M
        self.max_step_m = float(lengths.max()) if len(lengths) else 0.0
        self.cumulative = np.concatenate([[0.0], np.cumsum(lengths)])
        self.starts, self.ends, self.lengths = starts, ends, lengths
        normals = np.cross(starts, ends)
        norms = np.linalg.norm(normals, axis=1)
        self.normals = np.divide(
            normals, norms[:, None], out=np.zeros_like(normals), where=norms[:, None] > 0
        )
        self._tree = cKDTree(self.vertices)

    def locate(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Distance along the route and offset from it, in metres, for each point."""
        along = np.empty(len(points))
        offset = np.empty(len(points))
        # Only the pieces next to the nearest few vertices can hold the nearest point.
        _, nearest = self._tree.query(points, k=min(4, len(self.vertices)))
        nearest = np.atleast_2d(nearest)
        last = len(self.starts) - 1
        for row, (p, vertex_ids) in enumerate(zip(points, nearest, strict=True)):
            segs = np.unique(np.clip(np.concatenate([vertex_ids - 1, vertex_ids]), 0, last))
            a, b, n = self.starts[segs], self.ends[segs], self.normals[segs]
            cross = np.clip(n @ p, -1.0, 1.0)
            foot = p - cross[:, None] * n
            foot_norm = np.linalg.norm(foot, axis=1)
            foot = np.divide(foot, foot_norm[:, None], out=a.copy(), where=foot_norm[:, None] > 0)
            from_a = _angle(a, foot)
            seg_len = self.lengths[segs] / EARTH_RADIUS_M
            between = np.abs(from_a + _angle(foot, b) - seg_len) < 1e-9
            to_a, to_b = _angle(a, p), _angle(b, p)
            dist = np.where(between, np.abs(np.arcsin(cross)), np.minimum(to_a, to_b))
            pos = np.where(between, from_a, np.where(to_a <= to_b, 0.0, seg_len))
            best = int(np.argmin(dist))
            along[row] = self.cumulative[segs[best]] + pos[best] * EARTH_RADIUS_M
            offset[row] = dist[best] * EARTH_RADIUS_M
        return along, offset


def _angle(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Angles between unit vectors (robust for tiny and large angles)."""
    cross = np.linalg.norm(np.cross(a, b), axis=-1)
    dot = np.sum(a * b, axis=-1)
    return np.arctan2(cross, dot)


def _slerp(a: np.ndarray, b: np.ndarray, angle: float, t: np.ndarray) -> np.ndarray:
    if angle < 1e-12:
        return np.repeat(b[None, :], len(t), axis=0)
    sin = math.sin(angle)
    return (np.sin((1 - t) * angle)[:, None] * a + np.sin(t * angle)[:, None] * b) / sin
