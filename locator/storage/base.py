"""The storage interface: one base class, one implementation per database.

The base class holds the rules every backend shares (id resolution, admin
assignment, optimistic locking, history, the data version); a backend implements
the small set of ``_primitives`` inside its own transactions. Every public write
runs in one transaction: it lands whole or not at all.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
import uuid
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import shapely

from ..admin_units import AdminIndex
from ..clock import Clock, system_clock, utc_now
from ..errors import Conflict, InvalidParameter, NotFound, StorageError
from ..model import DERIVED_FIELDS, AdminUnit, CandidateSite, Facility


@dataclass
class WriteResult:
    """What a write did: ids inserted, updated and left unchanged, and the data version."""

    inserted: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    data_version: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.inserted or self.updated)

    def summary(self) -> dict[str, int]:
        return {
            "inserted": len(self.inserted),
            "updated": len(self.updated),
            "unchanged": len(self.unchanged),
            "data_version": self.data_version,
        }


@dataclass(frozen=True)
class HistoryEntry:
    """One change of a facility: its version, status and what happened."""

    facility_id: str
    version: int
    status: str | None
    action: str  # "insert", "update" or "delete"
    changed_at: dt.datetime
    #: A deleted facility as it was (deletions recorded since schema version 2), so that
    #: past progress periods still count it.
    facility: Facility | None = None


_local_writes = 0
_local_writes_lock = threading.Lock()


def local_writes() -> int:
    """How many write transactions this process has committed (on any storage).

    Readers that check the data version only now and then use it to see their own
    process's writes at once.
    """
    return _local_writes


def new_facility_id() -> str:
    return f"loc:{uuid.uuid4().hex[:16]}"


#: The version of the tables this code reads and writes. A database records its own in
#: ``meta.schema_version``: ``locator init`` brings an older database up through the
#: backend's :attr:`Storage.MIGRATIONS`, keeping its data; a newer one is refused.
SCHEMA_VERSION = 2  # 2: the history keeps a deleted facility as it was


class Storage(ABC):
    """The system of record for facilities, admin units and candidate sites."""

    #: A short name of the backend ("sqlite", "postgis").
    backend = "abstract"

    def __init__(self, clock: Clock = system_clock) -> None:
        self._admin_cache: tuple[int, AdminIndex] | None = None
        #: Where writes read the time they record (``updated_at``, the history).
        self.clock = clock

    #: ``{version: statements}`` taking a database from ``version - 1`` to ``version``.
    MIGRATIONS: Mapping[int, Sequence[str]] = {}

    # ---- the schema ----------------------------------------------------------------------
    def init_schema(self) -> None:
        """Create the tables if missing, or bring an older database's up to
        :data:`SCHEMA_VERSION`, keeping its data (idempotent; ``locator init``)."""
        with self._transaction() as tx:
            self._prepare_schema(tx)
            found = self._schema_version(tx)
            if found is not None:
                self._refuse_newer(found)
                for version in range(found + 1, SCHEMA_VERSION + 1):
                    for statement in self.MIGRATIONS[version]:
                        tx.execute(statement)
            self._create_tables(tx)
            if self._read_meta("schema_version", tx) != str(SCHEMA_VERSION):
                self._write_meta(tx, "schema_version", str(SCHEMA_VERSION))

    def schema_version(self) -> int | None:
        """The version of the stored tables; None when there are none yet."""
        return self._schema_version(None)

    def check_schema(self) -> None:
        """StorageError unless the tables are of :data:`SCHEMA_VERSION` (or not made yet:
        the first query then says to run ``locator init``)."""
        found = self.schema_version()
        if found is None or found == SCHEMA_VERSION:
            return
        self._refuse_newer(found)
        raise StorageError(
            f"the database's tables are of schema version {found} and this locator needs "
            f"{SCHEMA_VERSION}: run `locator init` to upgrade them (the data are kept)"
        )

    def _schema_version(self, tx: Any) -> int | None:
        if not self._has_tables(tx):
            return None
        stored = self._read_meta("schema_version", tx)
        return int(stored) if stored else 1  # made before versions were recorded

    @staticmethod
    def _refuse_newer(found: int) -> None:
        if found > SCHEMA_VERSION:
            raise StorageError(
                f"the database's tables are of schema version {found}, made by a newer "
                f"locator; this one knows up to {SCHEMA_VERSION}: upgrade locator"
            )

    # ---- what every backend implements -------------------------------------------------
    def _prepare_schema(self, tx: Any) -> None:
        """What the tables need first (PostGIS: the extension); nothing by default."""
        return None

    @abstractmethod
    def _has_tables(self, tx: Any = None) -> bool:
        """Whether the tables have been made."""

    @abstractmethod
    def _create_tables(self, tx: Any) -> None:
        """Create the tables and indexes of :data:`SCHEMA_VERSION` that are missing."""

    @abstractmethod
    def close(self) -> None:
        """Release connections."""

    @abstractmethod
    @contextmanager
    def _transaction(self) -> Iterator[Any]:
        """One write transaction, serialised against other writers; yields a handle."""

    @abstractmethod
    def _read_meta(self, key: str, tx: Any = None) -> str | None:
        """A value of the ``meta`` table."""

    @abstractmethod
    def _write_meta(self, tx: Any, key: str, value: str) -> None:
        """Set a value of the ``meta`` table."""

    @abstractmethod
    def _select_facilities(
        self, tx: Any = None, ids: Sequence[str] | None = None
    ) -> list[Facility]:
        """Stored facilities, all of them or those with ``ids``."""

    @abstractmethod
    def _select_ids_by_source(
        self, tx: Any, pairs: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], str]:
        """Ids of stored facilities by ``(source, source_id)``."""

    @abstractmethod
    def _upsert_rows(self, tx: Any, facilities: Sequence[Facility]) -> None:
        """Insert or replace these facilities by id."""

    @abstractmethod
    def _delete_rows(self, tx: Any, ids: Sequence[str]) -> None:
        """Delete these facilities by id."""

    @abstractmethod
    def _insert_history(self, tx: Any, entries: Sequence[HistoryEntry]) -> None:
        """Append history entries."""

    @abstractmethod
    def _select_history(self, facility_id: str | None) -> list[HistoryEntry]:
        """History entries, oldest first."""

    @abstractmethod
    def _replace_admin_rows(self, tx: Any, units: Sequence[AdminUnit]) -> None:
        """Replace all admin units."""

    @abstractmethod
    def _select_admin_units(self, level: str | None) -> list[AdminUnit]:
        """Stored admin units, ordered by code."""

    @abstractmethod
    def _replace_candidate_rows(self, tx: Any, kind: str, sites: Sequence[CandidateSite]) -> None:
        """Replace all candidate sites of one kind."""

    @abstractmethod
    def _select_candidates(self, kind: str | None) -> list[CandidateSite]:
        """Stored candidate sites, ordered by id."""

    @contextmanager
    def _write(self) -> Iterator[Any]:
        """A write transaction; once it commits, this process's write counter moves."""
        global _local_writes
        with self._transaction() as tx:
            yield tx
        with _local_writes_lock:
            _local_writes += 1

    # ---- versions ----------------------------------------------------------------------
    def data_version(self) -> int:
        """A number that grows with every change to stored data."""
        return int(self._read_meta("data_version") or 0)

    def _bump(self, tx: Any, key: str = "data_version") -> int:
        version = int(self._read_meta(key, tx) or 0) + 1
        self._write_meta(tx, key, str(version))
        if key != "data_version":
            return self._bump(tx)
        return version

    # ---- admin units -------------------------------------------------------------------
    def admin_units(self, level: str | None = None) -> list[AdminUnit]:
        """Admin units, optionally of one level, ordered by code."""
        return self._select_admin_units(level)

    def admin_index(self, tx: Any = None) -> AdminIndex:
        """The point-in-polygon index of the stored admin units, cached per admin version."""
        version = int(self._read_meta("admin_version", tx) or 0)
        if self._admin_cache is None or self._admin_cache[0] != version:
            self._admin_cache = (version, AdminIndex(self._select_admin_units(None)))
        return self._admin_cache[1]

    def replace_admin_units(self, units: Sequence[AdminUnit]) -> int:
        """Replace every admin unit and re-assign every facility; returns the data version."""
        codes = [u.code for u in units]
        if len(set(codes)) != len(codes):
            raise InvalidParameter("admin unit codes must be unique", field="code")
        units = sorted(
            (dataclasses.replace(u, geometry=as_multipolygon(u.geometry)) for u in units),
            key=lambda u: u.code,
        )
        if [_unit_key(u) for u in units] == [_unit_key(u) for u in self._select_admin_units(None)]:
            return self.data_version()
        index = AdminIndex(units)
        with self._write() as tx:
            self._replace_admin_rows(tx, units)
            current = self._select_facilities(tx)
            moved = [
                g
                for f, g in zip(current, index.assign(current), strict=True)
                if _derived(f) != _derived(g)
            ]
            if moved:
                self._upsert_rows(tx, moved)
            return self._bump(tx, "admin_version")

    # ---- facilities --------------------------------------------------------------------
    def facilities(self) -> list[Facility]:
        """Every stored facility, ordered by id."""
        return self._select_facilities()

    def get_facility(self, facility_id: str) -> Facility:
        """One facility; :class:`NotFound` when there is none with this id."""
        found = self._select_facilities(None, [facility_id])
        if not found:
            raise NotFound(f"no facility with id {facility_id!r}", field="id")
        return found[0]

    def history(self, facility_id: str | None = None) -> list[HistoryEntry]:
        """Changes of one facility, or of all, oldest first."""
        return self._select_history(facility_id)

    def resolve_ids(self, facilities: Sequence[Facility], tx: Any = None) -> list[Facility]:
        """Facilities with an id each: given, found by source + source id, or new."""
        pairs = [
            (f.source, f.source_id) for f in facilities if not f.id and f.source and f.source_id
        ]
        known = self._select_ids_by_source(tx, pairs) if pairs else {}
        resolved = []
        for f in facilities:
            if not f.id:
                if f.source and f.source_id:
                    key = (f.source, f.source_id)
                    f = f.replace(id=known.get(key) or f"{f.source}:{f.source_id}")
                else:
                    f = f.replace(id=new_facility_id())
            resolved.append(f)
        return resolved

    def upsert_facilities(
        self,
        facilities: Iterable[Facility],
        *,
        check_versions: bool = False,
        dry_run: bool = False,
    ) -> WriteResult:
        """Insert new facilities and update changed ones, in one transaction.

        Facilities equal to what is stored are left alone (no version bump), so
        writing the same data twice changes nothing. With ``check_versions`` each
        facility's ``version`` must equal the stored one (optimistic locking), else
        :class:`Conflict` and nothing is written. With ``dry_run`` the same checks run
        and the result says what would be inserted, updated and left unchanged, but
        nothing is written.
        """
        batch = list(facilities)
        self.admin_index()  # build outside the write lock; checked again inside
        result = WriteResult()
        with self._transaction() if dry_run else self._write() as tx:
            index = self.admin_index(tx)
            batch = self.resolve_ids(batch, tx)
            ids = [f.id for f in batch]
            if len(set(ids)) != len(ids):
                duplicates = sorted(i for i, n in Counter(ids).items() if n > 1)
                raise Conflict(
                    f"duplicate ids in one write: {', '.join(duplicates[:5])}", field="id"
                )
            stored = {f.id: f for f in self._select_facilities(tx, ids)}
            self._check_source_clashes(tx, batch)
            now = utc_now(self.clock)
            writes, history = [], []
            for f in index.assign(batch):
                old = stored.get(f.id)
                if old is None:
                    f = f.replace(version=1, updated_at=now)
                    result.inserted.append(f.id)
                    action = "insert"
                else:
                    if check_versions and f.version != old.version:
                        raise Conflict(
                            f"facility {f.id!r} changed since it was read "
                            f"(version {old.version}, not {f.version})",
                            field="version",
                        )
                    if old.content_key() == f.content_key() and _derived(old) == _derived(f):
                        result.unchanged.append(f.id)
                        continue
                    f = f.replace(version=old.version + 1, updated_at=now)
                    result.updated.append(f.id)
                    action = "update"
                writes.append(f)
                history.append(HistoryEntry(f.id, f.version, f.status, action, now))
            if writes and not dry_run:
                self._upsert_rows(tx, writes)
                self._insert_history(tx, history)
                result.data_version = self._bump(tx)
            else:
                result.data_version = int(self._read_meta("data_version", tx) or 0)
        return result

    def _check_source_clashes(self, tx: Any, batch: Sequence[Facility]) -> None:
        pairs = [(f.source, f.source_id) for f in batch if f.source and f.source_id]
        if len(set(pairs)) != len(pairs):
            raise Conflict(
                "two facilities in one write share source and source_id", field="source_id"
            )
        owners = self._select_ids_by_source(tx, pairs) if pairs else {}
        for f in batch:
            owner = owners.get((f.source, f.source_id))
            if owner is not None and owner != f.id:
                raise Conflict(
                    f"source {f.source!r} id {f.source_id!r} already belongs to facility {owner!r}",
                    field="source_id",
                )

    def delete_facility(self, facility_id: str, expected_version: int | None = None) -> int:
        """Delete one facility (optionally only at ``expected_version``); returns data version."""
        with self._write() as tx:
            found = self._select_facilities(tx, [facility_id])
            if not found:
                raise NotFound(f"no facility with id {facility_id!r}", field="id")
            if expected_version is not None and found[0].version != expected_version:
                raise Conflict(
                    f"facility {facility_id!r} changed since it was read", field="version"
                )
            self._delete_rows(tx, [facility_id])
            self._insert_history(
                tx,
                [
                    HistoryEntry(
                        facility_id,
                        found[0].version + 1,
                        None,
                        "delete",
                        utc_now(self.clock),
                        found[0],
                    )
                ],
            )
            return self._bump(tx)

    # ---- candidate sites ---------------------------------------------------------------
    def candidates(self, kind: str | None = None) -> list[CandidateSite]:
        """Candidate or demand points (e.g. expressway junctions), optionally of one kind."""
        return self._select_candidates(kind)

    def replace_candidates(self, kind: str, sites: Sequence[CandidateSite]) -> int:
        """Replace the candidate sites of one kind; returns the data version."""
        if [_site_key(s) for s in sorted(sites, key=lambda s: s.id)] == [
            _site_key(s) for s in self._select_candidates(kind)
        ]:
            return self.data_version()
        with self._write() as tx:
            self._replace_candidate_rows(tx, kind, sites)
            return self._bump(tx)

    def __enter__(self) -> Storage:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def as_multipolygon(geometry: Any) -> Any:
    """Polygons as one MultiPolygon (the stored type); ``None`` stays ``None``."""
    if geometry is None:
        return None
    parts = [g for g in shapely.get_parts(geometry) if g.geom_type in ("Polygon", "MultiPolygon")]
    polygons = [p for g in parts for p in shapely.get_parts(g)]
    if not polygons:
        raise InvalidParameter("an admin unit geometry must be a polygon", field="geometry")
    return shapely.MultiPolygon(polygons)


def _unit_key(u: AdminUnit) -> tuple:
    wkb = shapely.to_wkb(u.geometry) if u.geometry is not None else None
    return (u.code, u.name, u.level, u.parent_code, wkb, u.seat_lon, u.seat_lat, u.demand, u.extra)


def _site_key(s: CandidateSite) -> tuple:
    return (s.id, s.name, s.lon, s.lat, s.extra)


def _derived(f: Facility) -> tuple:
    return tuple(getattr(f, name) for name in DERIVED_FIELDS)
