"""A gazetteer for the driver's search box: cities, counties, townships and facilities.

Names match as Chinese substrings, as full pinyin with or without spaces
(``hefei``, ``he fei``, ``mingguanglu``) and as pinyin initials (``hf``), case-insensitively.
Results are ranked exact name > prefix > substring, then cities and counties before
townships before facilities. Every place has a point: its seat, else a point inside its
polygon, else (for townships known only by name) its county's point, flagged
``approximate``.

One :class:`Gazetteer` is built per data version (the web app caches it by version).
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from pypinyin import Style, lazy_pinyin, pinyin

from .errors import InvalidParameter
from .model import AdminUnit, Facility

#: The longest query accepted, in characters.
MAX_QUERY_LENGTH = 50
MAX_LIMIT = 50
LEVELS = ("city", "county", "township", "facility")

_LEVEL_RANK = {level: i for i, level in enumerate(LEVELS)}
EXACT, PREFIX, SUBSTRING = 0, 1, 2

#: Suffixes that a place is often searched without (合肥市 → 合肥, 明光路街道 → 明光路).
_SUFFIXES = ("街道办事处", "办事处", "街道", "管委会", "镇", "乡", "市", "区", "县")
#: Most name variants kept per name (polyphonic characters multiply them).
_MAX_READINGS = 16
#: Characters that separate pinyin syllables in a query: "he fei", "xi'an", "he-fei".
_LATIN_SEPARATORS = re.compile(r"[\s'’\-_.·]+")


@dataclass(frozen=True)
class Place:
    """One search result: where a place is and what it is."""

    name: str
    level: str
    ref: str
    lon: float
    lat: float
    context: str = ""
    approximate: bool = False
    bbox: tuple[float, float, float, float] | None = None
    kind: str | None = None

    @property
    def code(self) -> str | None:
        """The admin code of a city, county or township (None for facilities)."""
        return None if self.level == "facility" else self.ref

    @property
    def facility_id(self) -> str | None:
        """The id of a facility (None for admin units)."""
        return self.ref if self.level == "facility" else None

    def to_feature(self) -> dict:
        """A GeoJSON Feature (RFC 7946); ``bbox`` is present when the place has a polygon."""
        feature = {
            "type": "Feature",
            "id": self.ref,
            "geometry": {"type": "Point", "coordinates": [round(self.lon, 7), round(self.lat, 7)]},
            "properties": {
                "name": self.name,
                "level": self.level,
                "code": self.code,
                "facility_id": self.facility_id,
                "kind": self.kind,
                "context": self.context,
                "approximate": self.approximate,
            },
        }
        if self.bbox is not None:
            feature["bbox"] = [round(v, 6) for v in self.bbox]
        return feature


@dataclass
class _Entry:
    place: Place
    names: list[str]  # the name and its short forms, lower case, without spaces
    pinyin: list[tuple[str, frozenset[int]]] = field(default_factory=list)  # text, syllable starts
    initials: list[str] = field(default_factory=list)
    order: tuple = ()


def normalize(text: str) -> str:
    """``text`` for matching: NFKC (full-width → half-width), lower case, no spaces."""
    text = unicodedata.normalize("NFKC", text).lower()
    return "".join(ch for ch in text if not ch.isspace() and unicodedata.category(ch)[0] != "C")


def short_names(name: str) -> list[str]:
    """``name`` and the forms people search it by: without 市/区/县/镇/乡/街道 (two characters
    at least remain) or a bracketed part."""
    forms = [name]
    bare = re.sub(r"[（(].*?[）)]", "", name).strip()
    if bare and bare != name:
        forms.append(bare)
    for form in list(forms):
        for suffix in _SUFFIXES:
            if form.endswith(suffix) and len(form) - len(suffix) >= 2:
                forms.append(form[: -len(suffix)])
                break
    return list(dict.fromkeys(forms))


#: Characters read differently in place names than most often elsewhere, or that people
#: type both ways (长丰 chang feng, 六安 lu an / liu an): every reading of these is indexed.
_POLYPHONES = frozenset("长行重乐厦都单曾会解朝蚌六枞歙圩堡铅莘洞尉车石沈柏朴")


def _clean(syllable: str) -> str:
    return re.sub(
        r"[^0-9a-z]", "", unicodedata.normalize("NFKC", syllable).lower().replace("ü", "v")
    )


_PIECES = re.compile(r"[\u3400-\u9fff]|[^\u3400-\u9fff]+")


@lru_cache(maxsize=20_000)
def readings(name: str) -> tuple[tuple[str, ...], ...]:
    """Pinyin readings of ``name`` as syllable tuples, the most likely first.

    Characters of place names with several common readings give several readings
    (长丰 → zhang feng, chang feng), at most 16; non-Chinese runs are kept as one
    lower-case "syllable" (``G3``); punctuation is dropped.
    """
    pieces = _PIECES.findall(name)
    default = lazy_pinyin(name, style=Style.NORMAL)  # reads words, not single characters
    if len(default) != len(pieces):
        default = [lazy_pinyin(piece, style=Style.NORMAL)[0] for piece in pieces]
    choices = []
    for piece, reading in zip(pieces, default, strict=True):
        found = [_clean(reading)]
        if piece in _POLYPHONES:
            found += [_clean(o) for o in pinyin(piece, style=Style.NORMAL, heteronym=True)[0]]
        found = [f for f in dict.fromkeys(found) if f]
        if found:
            choices.append(found)
    result = list(itertools.islice(itertools.product(*choices), _MAX_READINGS))
    # ü is typed as v or u
    result += [tuple(s.replace("v", "u") for s in r) for r in result if any("v" in s for s in r)]
    return tuple(dict.fromkeys(result))


def _pinyin_keys(
    names: Iterable[str], given: Iterable[str] = ()
) -> tuple[list[tuple[str, frozenset[int]]], list[str]]:
    syllable_sets: list[tuple[str, ...]] = []
    for text in given:  # a register's own pinyin ("ming guang lu") goes first
        syllables = tuple(s for s in re.split(r"[\s']+", text.lower()) if s)
        if syllables:
            syllable_sets.append(syllables)
    for name in names:
        syllable_sets.extend(readings(name))
    full: dict[str, frozenset[int]] = {}
    initials: dict[str, None] = {}
    for syllables in dict.fromkeys(syllable_sets):
        starts, offset = [], 0
        for s in syllables:
            starts.append(offset)
            offset += len(s)
        full.setdefault("".join(syllables), frozenset(starts))
        initials["".join(s[0] if s.isalpha() else s for s in syllables)] = None
    return list(full.items()), list(initials)


def _match_rank(key: str, query: str) -> int | None:
    if key == query:
        return EXACT
    if key.startswith(query):
        return PREFIX
    if query in key:
        return SUBSTRING
    return None


def _syllable_rank(key: str, starts: frozenset[int], query: str) -> int | None:
    """Like :func:`_match_rank`, but a substring must begin at a syllable."""
    if key == query:
        return EXACT
    if key.startswith(query):
        return PREFIX
    position = key.find(query, 1)
    while position != -1:
        if position in starts:
            return SUBSTRING
        position = key.find(query, position + 1)
    return None


def _location(unit: AdminUnit) -> tuple[float, float, tuple | None] | None:
    """A unit's point (seat, else a point inside its polygon) and polygon bounds."""
    bbox = tuple(unit.geometry.bounds) if unit.geometry is not None else None
    if unit.has_seat:
        return unit.seat_lon, unit.seat_lat, bbox
    if unit.geometry is not None and not unit.geometry.is_empty:
        point = unit.geometry.centroid
        if not unit.geometry.contains(point):
            point = unit.geometry.representative_point()
        return point.x, point.y, bbox
    return None


class Gazetteer:
    """Places of one data version, searchable by Chinese name, pinyin and initials.

    Parameters
    ----------
    units : admin units (province, cities, counties, townships); provinces give context only.
    facilities : facilities, searched by name.
    data_version : the data version these come from.

    Examples
    --------
    >>> from locator.model import AdminUnit, Facility
    >>> g = Gazetteer([AdminUnit("340100", "合肥市", "city", seat_lon=117.23, seat_lat=31.82)],
    ...               [Facility("f1", "合肥北服务区", "service_area", 117.3, 32.0)])
    >>> [p.name for p in g.search("hf")]
    ['合肥市', '合肥北服务区']
    """

    def __init__(
        self, units: Sequence[AdminUnit], facilities: Sequence[Facility] = (), data_version: int = 0
    ):
        self.data_version = data_version
        by_code = {u.code: u for u in units}
        points: dict[str, tuple[float, float, tuple | None]] = {}
        for unit in units:
            located = _location(unit)
            if located is not None:
                points[unit.code] = located
        self.entries: list[_Entry] = []
        for unit in units:
            if unit.level not in ("city", "county", "township"):
                continue
            entry = self._unit_entry(unit, by_code, points)
            if entry is not None:
                self.entries.append(entry)
        for f in facilities:
            context = " ".join(filter(None, (f.city, f.county, f.township)))
            place = Place(f.name, "facility", f.id, f.lon, f.lat, context, kind=f.kind)
            self.entries.append(self._entry(place, [f.name]))

    @staticmethod
    def _ancestors(unit: AdminUnit, by_code: Mapping[str, AdminUnit]) -> list[AdminUnit]:
        chain, seen = [], {unit.code}
        parent = by_code.get(unit.parent_code or "")
        while parent is not None and parent.code not in seen:
            chain.append(parent)
            seen.add(parent.code)
            parent = by_code.get(parent.parent_code or "")
        return chain

    def _unit_entry(self, unit, by_code, points) -> _Entry | None:
        ancestors = self._ancestors(unit, by_code)
        # a city is placed in its province; the others in their city and county
        context = " ".join(
            a.name for a in reversed(ancestors) if (a.level == "province") == (unit.level == "city")
        )
        approximate = False
        located = points.get(unit.code)
        if located is None:
            # Known only by name: place it at its county (or city), and say so.
            for ancestor in ancestors:
                if ancestor.code in points and ancestor.level != "province":
                    lon, lat, _ = points[ancestor.code]
                    located, approximate = (lon, lat, None), True
                    break
        if located is None:
            return None
        lon, lat, bbox = located
        place = Place(
            unit.name, unit.level, unit.code, float(lon), float(lat), context, approximate, bbox
        )
        given = [unit.extra["pinyin"]] if unit.extra.get("pinyin") else []
        names = short_names(unit.name)
        short = unit.extra.get("short_name")
        if short and short not in names:
            names.append(short)
        return self._entry(place, names, given)

    @staticmethod
    def _entry(place: Place, names: list[str], given: Iterable[str] = ()) -> _Entry:
        full, initials = _pinyin_keys(names, given)
        return _Entry(
            place,
            [normalize(n) for n in names if normalize(n)],
            full,
            initials,
            (_LEVEL_RANK[place.level], place.approximate, len(place.name), place.ref),
        )

    def __len__(self) -> int:
        return len(self.entries)

    def search(self, q: str, limit: int = 10) -> list[Place]:
        """Places matching ``q``, best first; at most ``limit`` (1 to 50).

        An empty query, or one matching nothing, gives ``[]``; a query longer than
        50 characters is an :class:`InvalidParameter` naming ``q``.
        """
        if not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
            raise InvalidParameter(f"limit must be between 1 and {MAX_LIMIT}", field="limit")
        if q is None:
            return []
        if len(q) > MAX_QUERY_LENGTH:
            raise InvalidParameter(f"q is limited to {MAX_QUERY_LENGTH} characters", field="q")
        query = normalize(q)
        if not query:
            return []
        latin = None
        if query.isascii():
            latin = _LATIN_SEPARATORS.sub("", unicodedata.normalize("NFKC", q).lower())
            latin = latin if latin.isalnum() else None
        scored = []
        for entry in self.entries:
            rank = self._rank(entry, query, latin)
            if rank is not None:
                scored.append((rank, entry.order, entry.place))
        scored.sort(key=lambda item: (item[0], item[1]))
        return [place for _, _, place in scored[:limit]]

    @staticmethod
    def _rank(entry: _Entry, query: str, latin: str | None) -> int | None:
        best = None
        for name in entry.names:
            rank = _match_rank(name, query)
            if rank is not None and (best is None or rank < best):
                best = rank
                if best == EXACT:
                    return best
        if latin:
            for key, starts in entry.pinyin:
                rank = _syllable_rank(key, starts, latin)
                if rank is not None and (best is None or rank < best):
                    best = rank
            if len(latin) >= 2:
                for key in entry.initials:
                    rank = _match_rank(key, latin)
                    if rank is not None and (best is None or rank < best):
                        best = rank
        return best


def build_gazetteer(
    units: Sequence[AdminUnit], facilities: Sequence[Facility], data_version: int = 0
) -> Gazetteer:
    """A :class:`Gazetteer` of ``units`` and ``facilities`` (see the class)."""
    return Gazetteer(units, facilities, data_version)


__all__ = [
    "Gazetteer",
    "Place",
    "build_gazetteer",
    "normalize",
    "readings",
    "short_names",
    "MAX_QUERY_LENGTH",
    "MAX_LIMIT",
    "LEVELS",
]
