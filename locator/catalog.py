"""The read side: every facility in memory, filtered fast, rebuilt per data version.

Storage is the system of record; each process keeps a :class:`Catalog` and swaps in
a new one when :meth:`Storage.data_version` moves (see :class:`CatalogCache`), so many
workers, on one machine or many, serve the same data without asking the database
for every query.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from .errors import NotFound
from .model import AMENITIES, Facility
from .nearest import DriveEstimate, NearestIndex
from .service_areas import Landmark, ServiceAreas, landmarks
from .storage import Storage
from .storage.base import local_writes


@dataclass(frozen=True)
class FacilityFilter:
    """Which facilities a query wants; empty sets mean "any"."""

    bbox: tuple[float, float, float, float] | None = None
    kinds: frozenset[str] = frozenset()
    statuses: frozenset[str] = frozenset()
    amenities: frozenset[str] = frozenset()
    city: str | None = None
    county: str | None = None
    township: str | None = None
    q: str | None = None


@dataclass(frozen=True)
class Page:
    """One page of a filtered query."""

    items: list[Facility]
    number_matched: int
    limit: int
    offset: int


class Catalog:
    """Facilities of one data version, with column arrays for vectorised filters.

    The carriageway sides of a service area are paired here, once, and unnamed service
    areas are named (:class:`~locator.service_areas.ServiceAreas`, from ``known``
    junctions and township seats): :attr:`facilities` carry those names, so every
    reader shows the same; :meth:`stored` gives a facility as stored.
    """

    def __init__(
        self,
        facilities: Sequence[Facility],
        data_version: int = 0,
        known: Sequence[Landmark] = (),
    ):
        stored = sorted(facilities, key=lambda f: f.id)
        self.places = ServiceAreas(stored, known)
        self._stored = {f.id: f for f in stored if f.id in self.places.derived_names}
        self.facilities = self.places.renamed(stored)
        self.data_version = data_version
        self.by_id = {f.id: f for f in self.facilities}
        self.lon = np.array([f.lon for f in self.facilities], dtype=float)
        self.lat = np.array([f.lat for f in self.facilities], dtype=float)
        self.kind = np.array([f.kind for f in self.facilities], dtype=object)
        self.status = np.array([f.status for f in self.facilities], dtype=object)
        # Truck parking spaces are truck parking, whether or not the amenity is listed.
        self.amenity_bits = np.array(
            [
                _amenity_bits(f.amenities)
                | (_TRUCK_PARKING if (f.truck_parking_spaces or 0) > 0 else 0)
                for f in self.facilities
            ],
            dtype=np.int64,
        )
        self._admin = {
            level: (
                np.array([getattr(f, level) for f in self.facilities], dtype=object),
                np.array([getattr(f, f"{level}_code") for f in self.facilities], dtype=object),
            )
            for level in ("city", "county", "township")
        }
        self._nearest: NearestIndex | None = None
        self._lock = threading.Lock()
        self._text = np.array(
            [
                " ".join(filter(None, (f.name, f.address, f.township, f.county, f.city))).lower()
                for f in self.facilities
            ],
            dtype=object,
        )

    def nearest_index(self, estimate: DriveEstimate | None = None) -> NearestIndex:
        """The K-nearest index of this data version (built on first use, then kept)."""
        index = self._nearest
        if index is None or (estimate is not None and index.estimate != estimate):
            with self._lock:
                index = self._nearest
                if index is None or (estimate is not None and index.estimate != estimate):
                    index = NearestIndex(self.facilities, estimate or DriveEstimate(), self.places)
                    self._nearest = index
        return index

    @classmethod
    def from_storage(cls, storage: Storage) -> Catalog:
        """Read every facility of ``storage`` (the version is read first, so never newer),
        with the named junctions and township seats that name unnamed service areas."""
        version = storage.data_version()
        known = landmarks(storage.candidates("junction"), storage.admin_units("township"))
        return cls(storage.facilities(), version, known)

    def stored(self, facility: Facility) -> Facility:
        """``facility`` as stored (without a derived name)."""
        return self._stored.get(facility.id, facility)

    def to_feature(self, facility: Facility) -> dict:
        """The facility's GeoJSON Feature, with what the catalog adds: ``name_derived``,
        and for a side of a paired service area its place and sides
        (:meth:`~locator.service_areas.ServiceAreas.properties`)."""
        feature = facility.to_feature()
        feature["properties"].update(self.places.properties(facility.id))
        return feature

    @property
    def one_per_place(self) -> list[Facility]:
        """The facilities with each paired service area once, named as the place."""
        return self.places.one_per_place(self.facilities)

    def __len__(self) -> int:
        return len(self.facilities)

    def get(self, facility_id: str) -> Facility:
        """One facility by id; :class:`NotFound` otherwise."""
        try:
            return self.by_id[facility_id]
        except KeyError:
            raise NotFound(f"no facility with id {facility_id!r}", field="id") from None

    def mask(self, flt: FacilityFilter) -> np.ndarray:
        """A boolean array: which facilities pass ``flt``."""
        keep = np.ones(len(self.facilities), dtype=bool)
        if flt.bbox is not None:
            west, south, east, north = flt.bbox
            inside_lon = (
                (self.lon >= west) & (self.lon <= east)
                if west <= east
                else (self.lon >= west) | (self.lon <= east)
            )  # across 180°
            keep &= inside_lon & (self.lat >= south) & (self.lat <= north)
        if flt.kinds:
            keep &= np.isin(self.kind, list(flt.kinds))
        if flt.statuses:
            keep &= np.isin(self.status, list(flt.statuses))
        if flt.amenities:
            wanted = _amenity_bits(flt.amenities)
            keep &= (self.amenity_bits & wanted) == wanted
        for level in ("city", "county", "township"):
            value = getattr(flt, level)
            if value:
                names, codes = self._admin[level]
                keep &= (names == value) | (codes == value)
        if flt.q:
            needle = flt.q.lower()
            keep &= np.fromiter(
                (needle in text for text in self._text), dtype=bool, count=len(self._text)
            )
        return keep

    def query(self, flt: FacilityFilter, *, limit: int = 100, offset: int = 0) -> Page:
        """A page of the facilities that pass ``flt``, ordered by id."""
        matched = np.flatnonzero(self.mask(flt))
        chosen = matched[offset : offset + limit]
        return Page([self.facilities[i] for i in chosen], int(len(matched)), limit, offset)


_AMENITY_ORDER = {name: i for i, name in enumerate(AMENITIES)}
_TRUCK_PARKING = 1 << _AMENITY_ORDER["truck_parking"]


def _amenity_bits(amenities: Iterable[str]) -> int:
    bits = 0
    for name in amenities:
        bits |= 1 << _AMENITY_ORDER[name]
    return bits


class CatalogCache:
    """The current :class:`Catalog` of a storage, rebuilt when its data version moves."""

    def __init__(
        self,
        storage: Storage,
        build: Callable[[Storage], Catalog] | None = None,
        check_interval_s: float = 0.0,
    ):
        self.storage = storage
        self._build = build or Catalog.from_storage
        self._catalog: Catalog | None = None
        self._lock = threading.Lock()
        self.check_interval_s = check_interval_s
        self._checked: tuple[float, int] = (-math.inf, -1)  # (when, local write count)

    def current(self) -> Catalog:
        """The catalog of the stored data as of now.

        The data version is read from storage (one small query) at most every
        ``check_interval_s`` seconds, and at once after a write by this process; so a
        write by another worker shows within that interval.
        """
        catalog = self._catalog
        now, writes = time.monotonic(), local_writes()
        if (
            catalog is not None
            and writes == self._checked[1]
            and now - self._checked[0] < self.check_interval_s
        ):
            return catalog
        version = self.storage.data_version()
        self._checked = (now, writes)
        if catalog is not None and catalog.data_version == version:
            return catalog
        with self._lock:
            if self._catalog is None or self._catalog.data_version != version:
                self._catalog = self._build(self.storage)
            return self._catalog
