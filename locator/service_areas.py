"""Expressway service areas as drivers know them: one place, reached from both directions.

OpenStreetMap maps a service area as one ``highway=services`` area per carriageway side:
the shipped file holds 215 points for about 110 service areas, and a quarter of them have
no name. A driver knows one place, 君王服务区, with a side for each direction. This
module pairs the sides of one service area and names the unnamed ones, once per data
version, for the catalog (:class:`locator.catalog.Catalog`), so that every reader agrees:
nearest and along-route results, place search and coverage counts list a place once.
Both sides stay in storage, each with its own point.

Pairing (facilities of kind ``service_area``, whatever their status):

* two sides with the same name (compared after NFKC, without spaces, traditional forms
  made simple, and without a side suffix such as ``（东区）``, ``北行`` or ``合肥方向``)
  within :data:`NAMED_PAIR_M` (3 km: the shipped pairs lie 125 m to 1.6 km apart);
* two unnamed ones (no name, 高速服务区（未命名）, a bare 服务区) within
  :data:`UNNAMED_PAIR_M` (1.5 km: across the carriageway; the shipped ones lie 130-460 m
  apart, the next unnamed one is 16 km away);
* an unnamed one within :data:`UNNAMED_PAIR_M` of a named place joins it (the same area
  mapped twice).

Links are taken nearest first; a place never holds two different names nor spans more
than its limit (so no chain of service areas along a road becomes one place).

Each side keeps its ``direction`` where its name gives one (东区, 北行, 合肥方向), and gets
a ``side`` (east, west, north, south): where it lies from the place's other sides.

Unnamed places get a name, marked ``name_derived``, from what the data holds: the
nearest named expressway junction within :data:`SERVICE_JUNCTION_M` whose name is a
service area's (OpenStreetMap often names the exit to the area: 釜山服务区); else
"<junction>附近服务区" after the nearest named junction within :data:`JUNCTION_M`; else
"<township>附近服务区" after the nearest township seat within :data:`TOWNSHIP_M`; else
"<county>境内服务区". A derived name that another place has too gets where it lies
from the others (谯城区境内服务区（东）/（西）). The shipped data has no road names or
route numbers (a junction's ``ref`` is its exit number), so names such as
"G3 京台高速 xx 附近服务区" cannot be made.

No Flask here: :mod:`locator.catalog` builds one :class:`ServiceAreas` per data version.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

import numpy as np
from scipy.spatial import cKDTree

from .model import AdminUnit, CandidateSite, Facility
from .nearest import chord_to_m, m_to_chord, unit_vectors

KIND = "service_area"

#: Sides with the same name are one place within this distance.
NAMED_PAIR_M = 3000.0
#: Unnamed sides (and an unnamed one next to a named place) within this distance.
UNNAMED_PAIR_M = 1500.0
#: A junction named like a service area (釜山服务区) this close names an unnamed one.
SERVICE_JUNCTION_M = 2000.0
#: An unnamed service area is named after the nearest named junction this close...
JUNCTION_M = 10_000.0
#: ... else after the nearest township seat this close, else after its county.
TOWNSHIP_M = 15_000.0

#: Where a side lies from the other side(s) of its place.
SIDES: dict[str, dict[str, str]] = {
    "east": {"zh": "东侧", "en": "east side"},
    "west": {"zh": "西侧", "en": "west side"},
    "north": {"zh": "北侧", "en": "north side"},
    "south": {"zh": "南侧", "en": "south side"},
}
#: Where a place with a derived name lies from others of that name (in the name itself).
COMPASS = {"east": "东", "west": "西", "north": "北", "south": "南"}
#: A place whose sides both match a search: reachable from both directions.
BOTH_DIRECTIONS = {"zh": "双向", "en": "both directions"}
#: What ``serves`` says in results: every side of the place matches, or only one does.
SERVES = ("both", "one_side")

_UNNAMED_NAMES = ("", "服务区", "高速服务区", "高速公路服务区", "停车区", "高速服务区（未命名）")
_SIMPLE = str.maketrans(
    {
        "務": "务",
        "區": "区",
        "東": "东",
        "門": "门",
        "車": "车",
        "場": "场",
        "長": "长",
        "龍": "龙",
        "灣": "湾",
        "陽": "阳",
        "崗": "岗",
        "橋": "桥",
        "華": "华",
        "寧": "宁",
        "興": "兴",
        "縣": "县",
        "鎮": "镇",
        "鄉": "乡",
        "關": "关",
        "廣": "广",
        "嶺": "岭",
        "湯": "汤",
        "溝": "沟",
        "莊": "庄",
        "靈": "灵",
        "雲": "云",
    }
)
_DIRECTION = r"(?:[东西南北](?:区|侧|行|向|半幅)?|上行|下行|[\u3400-\u9fff]{1,8}方向)"
_BRACKETED = re.compile(rf"^(?P<base>.+?)\s*[(\[]\s*(?P<dir>{_DIRECTION})\s*[)\]]$")
_SUFFIXED = re.compile(rf"^(?P<base>.*?(?:服务区|停车区))\s*[-_·]?\s*(?P<dir>{_DIRECTION})$")
_SERVICE_NAME = re.compile(r"(?:服务区|停车区)$")


def _key(text: str) -> str:
    return "".join(text.split()).translate(_SIMPLE).lower()


_UNNAMED_KEYS = frozenset(_key(unicodedata.normalize("NFKC", n)) for n in _UNNAMED_NAMES)


def split_name(name: str | None) -> tuple[str | None, str | None, str | None]:
    """``(key, base, direction)`` of a service area's name.

    ``key`` compares names (None for an unnamed one), ``base`` is the name without a side
    suffix, ``direction`` the suffix (东区, 合肥方向) or None.

    >>> split_name("合肥服务区（东区）")
    ('合肥服务区', '合肥服务区', '东区')
    >>> split_name("寒亭服務区")
    ('寒亭服务区', '寒亭服務区', None)
    >>> split_name("高速服务区（未命名）")
    (None, None, None)
    """
    text = " ".join(unicodedata.normalize("NFKC", name or "").split())
    direction = None
    found = _BRACKETED.match(text) or _SUFFIXED.match(text)
    if found:
        text, direction = found["base"].strip(), found["dir"]
    key = _key(text)
    if key in _UNNAMED_KEYS:
        return None, None, direction
    return key, text, direction


@dataclass(frozen=True)
class Landmark:
    """A named point that can name an unnamed service area: a junction or a township seat."""

    name: str
    lon: float
    lat: float
    kind: str  # "junction" or "township"


def landmarks(
    junctions: Iterable[CandidateSite] = (), units: Iterable[AdminUnit] = ()
) -> list[Landmark]:
    """The named junctions and the township seats among ``junctions`` and ``units``."""
    found = [
        Landmark(j.name.strip(), j.lon, j.lat, "junction")
        for j in junctions
        if j.name and j.name.strip()
    ]
    found += [
        Landmark(u.name, u.seat_lon, u.seat_lat, "township")
        for u in units
        if u.level == "township" and u.has_seat and u.name
    ]
    return found


@dataclass(frozen=True)
class Side:
    """One carriageway side of a service area (one stored facility)."""

    id: str
    name: str  # the stored name
    lon: float
    lat: float
    side: str | None = None  # a key of SIDES, or None for a place of one side
    direction: str | None = None  # as the name gives it (东区, 合肥方向)

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "name": self.name,
            "side": self.side,
            "direction": self.direction,
            "coordinates": [self.lon, self.lat],
        }


@dataclass(frozen=True)
class ServiceArea:
    """A service area as a driver knows it: a name and one or more sides."""

    id: str  # the id of its first side (by id): stable while that side exists
    name: str
    name_derived: bool
    sides: tuple[Side, ...]

    @property
    def paired(self) -> bool:
        """Whether the place has more than one side."""
        return len(self.sides) > 1


def _centre(sides: Sequence[Side]) -> tuple[float, float]:
    return sum(s.lon for s in sides) / len(sides), sum(s.lat for s in sides) / len(sides)


def _side_of(point: tuple[float, float], others: Sequence[tuple[float, float]]) -> str | None:
    lon0 = sum(p[0] for p in others) / len(others)
    lat0 = sum(p[1] for p in others) / len(others)
    dx = (point[0] - lon0) * math.cos(math.radians(lat0))
    dy = point[1] - lat0
    if dx == 0 and dy == 0:
        return None
    if abs(dx) >= abs(dy):
        return "east" if dx > 0 else "west"
    return "north" if dy > 0 else "south"


class ServiceAreas:
    """The service areas of one set of facilities, carriageway sides paired (see the module).

    >>> sides = [Facility("a", "君王服务区", "service_area", 116.80, 33.95),
    ...          Facility("b", "君王服务区", "service_area", 116.802, 33.95)]
    >>> areas = ServiceAreas(sides)
    >>> [(p.name, [s.side for s in p.sides]) for p in areas.places]
    [('君王服务区', ['west', 'east'])]
    """

    def __init__(self, facilities: Iterable[Facility], known: Sequence[Landmark] = ()):
        areas = sorted((f for f in facilities if f.kind == KIND), key=lambda f: f.id)
        self._by_id: dict[str, ServiceArea] = {}
        #: Facility id -> the name it is shown with, for facilities stored without a name.
        self.derived_names: dict[str, str] = {}
        self.places: list[ServiceArea] = []
        if not areas:
            return
        names = [split_name(f.name) for f in areas]
        groups = _pair(areas, [key for key, _, _ in names])
        namer = _Namer(known)
        for members in groups:
            self._add([areas[i] for i in members], [names[i] for i in members], namer)
        self.places.sort(key=lambda p: p.id)
        self._tell_apart()

    def _add(self, members: list[Facility], names: list[tuple], namer: _Namer) -> None:
        bases = Counter(base for _, base, _ in names if base)
        if bases:
            name, derived = bases.most_common(1)[0][0], False
        else:
            name = namer.name(members)
            derived = name is not None
            name = name or members[0].name
        points = [(f.lon, f.lat) for f in members]
        sides = tuple(
            Side(
                f.id,
                f.name,
                f.lon,
                f.lat,
                _side_of(points[i], points[:i] + points[i + 1 :]) if len(members) > 1 else None,
                names[i][2],
            )
            for i, f in enumerate(members)
        )
        place = ServiceArea(members[0].id, name, derived, sides)
        self.places.append(place)
        for f, (_, base, _) in zip(members, names, strict=True):
            self._by_id[f.id] = place
            if base is None and f.name != name:
                self.derived_names[f.id] = name

    def _tell_apart(self) -> None:
        """A derived name that another place also has gets where its place lies from the
        others of that name (谯城区境内服务区（东）, ...（西）), else a number: a list never
        shows two places of one name because the data named neither."""
        held: dict[str, list[int]] = {}
        for i, place in enumerate(self.places):
            held.setdefault(place.name, []).append(i)
        for name, indices in held.items():
            derived = [i for i in indices if self.places[i].name_derived]
            if len(indices) < 2 or not derived:
                continue
            centres = {i: _centre(self.places[i].sides) for i in indices}
            labels = [
                _side_of(centres[i], [centres[j] for j in indices if j != i]) for i in derived
            ]
            if None in labels or len(set(labels)) < len(labels):
                suffixes = [str(n) for n in range(1, len(derived) + 1)]
            else:
                suffixes = [COMPASS[label] for label in labels]
            for i, suffix in zip(derived, suffixes, strict=True):
                place = replace(self.places[i], name=f"{name}（{suffix}）")
                self.places[i] = place
                for side in place.sides:
                    self._by_id[side.id] = place
                    if side.id in self.derived_names:
                        self.derived_names[side.id] = place.name

    def __len__(self) -> int:
        return len(self.places)

    def place_of(self, facility_id: str) -> ServiceArea | None:
        """The place of a service area facility (None for other facilities)."""
        return self._by_id.get(facility_id)

    def place_key(self, facility_id: str) -> str:
        """The id of the facility's place: its own id unless it is a side of a pair."""
        place = self._by_id.get(facility_id)
        return place.id if place is not None else facility_id

    def renamed(self, facilities: Sequence[Facility]) -> list[Facility]:
        """``facilities`` with the derived names of unnamed service areas applied."""
        names = self.derived_names
        if not names:
            return list(facilities)
        return [f.replace(name=names[f.id]) if f.id in names else f for f in facilities]

    def one_per_place(self, facilities: Sequence[Facility]) -> list[Facility]:
        """``facilities`` with each paired service area once: its first side, named as the
        place (for lists such as the place search)."""
        out = []
        for f in facilities:
            place = self._by_id.get(f.id)
            if place is None or not place.paired:
                out.append(f)
            elif place.id == f.id:
                out.append(f if f.name == place.name else f.replace(name=place.name))
        return out

    def properties(self, facility_id: str) -> dict:
        """What a facility's GeoJSON properties add: ``name_derived`` for a derived name;
        for a side of a pair ``place_id``, ``place_name``, its ``side`` and ``direction``
        and every side of the place (``sides``)."""
        props: dict = {}
        if facility_id in self.derived_names:
            props["name_derived"] = True
        place = self._by_id.get(facility_id)
        if place is not None and place.paired:
            own = next(s for s in place.sides if s.id == facility_id)
            props["place_id"] = place.id
            props["place_name"] = place.name
            props["side"] = own.side
            props["direction"] = own.direction
            props["sides"] = [s.to_dict() for s in place.sides]
        return props

    def summary(self) -> dict[str, int]:
        """How many service area points, places, pairs and derived names there are."""
        return {
            "points": len(self._by_id),
            "places": len(self.places),
            "paired": sum(p.paired for p in self.places),
            "single": sum(not p.paired for p in self.places),
            "named_derived": sum(p.name_derived for p in self.places),
            "unnamed_kept": sum(
                not p.name_derived and all(split_name(s.name)[0] is None for s in p.sides)
                for p in self.places
            ),
        }


def _pair(areas: Sequence[Facility], keys: Sequence[str | None]) -> list[list[int]]:
    """Groups of indices of ``areas`` that are one place (see the module for the rule)."""
    n = len(areas)
    xyz = unit_vectors([f.lon for f in areas], [f.lat for f in areas]).reshape(n, 3)
    close = cKDTree(xyz).query_pairs(m_to_chord(NAMED_PAIR_M), output_type="ndarray")
    links = []
    for i, j in close.tolist():
        d = float(chord_to_m(np.linalg.norm(xyz[i] - xyz[j])))
        ki, kj = keys[i], keys[j]
        if ki is not None and kj is not None:
            if ki == kj:
                links.append((d, i, j))
        elif d <= UNNAMED_PAIR_M:
            links.append((d, i, j))
    links.sort()
    group = list(range(n))
    members = {i: [i] for i in range(n)}
    for _, i, j in links:
        a, b = group[i], group[j]
        if a == b:
            continue
        merged = members[a] + members[b]
        named = {keys[m] for m in merged} - {None}
        if len(named) > 1:
            continue
        limit = NAMED_PAIR_M if named else UNNAMED_PAIR_M
        if any(
            float(chord_to_m(np.linalg.norm(xyz[p] - xyz[q]))) > limit
            for x, p in enumerate(merged)
            for q in merged[x + 1 :]
        ):
            continue
        for m in members[b]:
            group[m] = a
        members[a] = merged
        del members[b]
    return [sorted(ms) for _, ms in sorted(members.items(), key=lambda item: min(item[1]))]


class _Namer:
    """Names for unnamed places from the nearest junctions and township seats."""

    def __init__(self, known: Sequence[Landmark]):
        self._trees: dict[str, tuple[cKDTree, list[Landmark]] | None] = {}
        service = [m for m in known if m.kind == "junction" and _SERVICE_NAME.search(m.name)]
        other = [m for m in known if m.kind == "junction" and not _SERVICE_NAME.search(m.name)]
        towns = [m for m in known if m.kind == "township"]
        for label, marks in (("service", service), ("junction", other), ("township", towns)):
            self._trees[label] = (
                (
                    cKDTree(
                        unit_vectors([m.lon for m in marks], [m.lat for m in marks]).reshape(-1, 3)
                    ),
                    marks,
                )
                if marks
                else None
            )

    def _nearest(self, label: str, lon: float, lat: float, within_m: float) -> Landmark | None:
        found = self._trees.get(label)
        if found is None:
            return None
        tree, marks = found
        chord, i = tree.query(unit_vectors(lon, lat), distance_upper_bound=m_to_chord(within_m))
        return marks[int(i)] if math.isfinite(chord) else None

    def name(self, members: Sequence[Facility]) -> str | None:
        lon = sum(f.lon for f in members) / len(members)
        lat = sum(f.lat for f in members) / len(members)
        mark = self._nearest("service", lon, lat, SERVICE_JUNCTION_M)
        if mark is not None:
            return mark.name
        for label, within in (("junction", JUNCTION_M), ("township", TOWNSHIP_M)):
            mark = self._nearest(label, lon, lat, within)
            if mark is not None:
                return f"{mark.name}附近服务区"
        county = next((f.county for f in members if f.county), None)
        return f"{county}境内服务区" if county else None


def place_keys(facilities: Sequence[Facility]) -> list[str]:
    """For each facility, the id of its place (see :meth:`ServiceAreas.place_key`)."""
    areas = ServiceAreas(facilities)
    return [areas.place_key(f.id) for f in facilities]


__all__ = [
    "BOTH_DIRECTIONS",
    "COMPASS",
    "JUNCTION_M",
    "Landmark",
    "NAMED_PAIR_M",
    "SIDES",
    "SERVICE_JUNCTION_M",
    "SERVES",
    "ServiceArea",
    "ServiceAreas",
    "Side",
    "TOWNSHIP_M",
    "UNNAMED_PAIR_M",
    "landmarks",
    "place_keys",
    "split_name",
]
