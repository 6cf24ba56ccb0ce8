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

from ..accounts import AccountEvent, Token, User
from ..admin_units import AdminIndex
from ..clock import Clock, system_clock, utc_now
from ..driver_reports import REVIEW_STATES, Report
from ..errors import Conflict, InvalidParameter, NotFound, StorageError
from ..model import DERIVED_FIELDS, AdminUnit, CandidateSite, Facility
from ..roads.network import (
    RoadNetwork,
    RoadNetworkInfo,
    edge_rows,
    network_from_rows,
    node_rows,
)


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
    """One change of a facility: its version, status, what happened and who did it."""

    facility_id: str
    version: int
    status: str | None
    action: str  # "insert", "update" or "delete"
    changed_at: dt.datetime
    #: The facility as the write left it (insert, update) or as it was (delete), so that
    #: past progress periods still count a deleted one and an edit can be compared or
    #: reverted. Kept for deletions since schema version 2, for every change since 3.
    facility: Facility | None = None
    #: Who made the write ("user:alice", "token:3 (alice)", "import:file.xlsx", "cli",
    #: "report:17"); None where it was not said, and for changes before schema version 3.
    actor: str | None = None


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
SCHEMA_VERSION = 6  # 2: the history keeps a deleted facility as it was
#                    3: accounts, API tokens, account events; who made each change
#                    4: parking fee and note, tier, closed_until, verified_on
#                    5: drivers' reports (纠错) and their review
#                    6: the road network (nodes, edges in pgRouting's layout)


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

    @abstractmethod
    def _select_users(self, tx: Any, name: str | None) -> list[tuple[User, str]]:
        """Stored accounts with their password hashes (all, or the one named), by name."""

    @abstractmethod
    def _insert_user(self, tx: Any, user: User, password_hash: str) -> None:
        """Insert one account."""

    @abstractmethod
    def _update_user(self, tx: Any, user: User, password_hash: str | None) -> None:
        """Rewrite one account's row (its password hash too, unless None)."""

    @abstractmethod
    def _select_tokens(
        self,
        tx: Any,
        *,
        owner: str | None = None,
        token_id: int | None = None,
        token_hash: str | None = None,
    ) -> list[Token]:
        """Stored API tokens (all, or those matching what is given), ordered by id."""

    @abstractmethod
    def _insert_token(
        self, tx: Any, owner: str, label: str, token_hash: str, at: dt.datetime
    ) -> int:
        """Insert one API token; returns its id."""

    @abstractmethod
    def _update_token(self, tx: Any, token: Token) -> None:
        """Rewrite one token's ``last_used_at`` and ``revoked_at``."""

    @abstractmethod
    def _insert_account_event(
        self,
        tx: Any,
        at: dt.datetime,
        actor: str,
        action: str,
        target: str,
        details: Mapping[str, Any],
    ) -> None:
        """Append one account event."""

    @abstractmethod
    def _select_account_events(self, limit: int | None) -> list[AccountEvent]:
        """Account events, newest first."""

    @abstractmethod
    def _insert_report(self, tx: Any, report: Report) -> int:
        """Insert one driver's report (its ``id`` is ignored); returns the new id."""

    @abstractmethod
    def _select_reports(
        self,
        tx: Any,
        *,
        report_id: int | None = None,
        facility_id: str | None = None,
        status: str | None = None,
        category: str | None = None,
        since: dt.datetime | None = None,
        areas: Sequence[str] | None = None,
        limit: int | None = None,
    ) -> list[Report]:
        """Stored reports matching what is given (``areas``: city or county codes),
        newest first."""

    @abstractmethod
    def _update_review(self, tx: Any, report: Report) -> None:
        """Rewrite one report's status, reviewer, review time and note."""

    @abstractmethod
    def _replace_road_rows(
        self, tx: Any, info: RoadNetworkInfo, nodes: list[tuple], edges: list[tuple]
    ) -> None:
        """Replace the stored road network by these node and edge rows."""

    @abstractmethod
    def _select_road_info(self) -> RoadNetworkInfo | None:
        """What is stored of the loaded network, None when there is none."""

    @abstractmethod
    def _select_road_rows(self) -> tuple[list[tuple], list[tuple]]:
        """The stored node rows ``(id, lon, lat)`` and edge rows ``(id, *EDGE_COLUMNS)``."""

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

    def facilities_by_id(self, ids: Sequence[str]) -> list[Facility]:
        """The stored facilities among ``ids`` (unknown ids are left out), ordered by id."""
        return self._select_facilities(None, list(ids)) if ids else []

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
        actor: str | None = None,
    ) -> WriteResult:
        """Insert new facilities and update changed ones, in one transaction.

        Facilities equal to what is stored are left alone (no version bump), so
        writing the same data twice changes nothing. With ``check_versions`` each
        facility's ``version`` must equal the stored one (optimistic locking), else
        :class:`Conflict` and nothing is written. With ``dry_run`` the same checks run
        and the result says what would be inserted, updated and left unchanged, but
        nothing is written. The history records each change with the facility as written
        and ``actor``, who made it (``"user:alice"``, ``"import:stations.xlsx"``).
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
                history.append(HistoryEntry(f.id, f.version, f.status, action, now, f, actor))
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

    def delete_facility(
        self, facility_id: str, expected_version: int | None = None, *, actor: str | None = None
    ) -> int:
        """Delete one facility (optionally only at ``expected_version``); returns data version.

        The history keeps the facility as it was, and ``actor``, who deleted it.
        """
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
                        actor,
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

    # ---- accounts ------------------------------------------------------------------------
    # Account writes run in a transaction of their own and never move the data version:
    # that number makes every worker reload its catalog of facilities.
    def users(self) -> list[User]:
        """Every account, ordered by name."""
        return [user for user, _hash in self._select_users(None, None)]

    def get_user(self, name: str) -> User:
        """One account; :class:`NotFound` when there is none with this name."""
        found = self._select_users(None, name)
        if not found:
            raise NotFound(f"no user named {name!r}", field="name")
        return found[0][0]

    def user_credentials(self, name: str) -> tuple[User, str] | None:
        """One account and its password hash, for checking a password; None if unknown."""
        found = self._select_users(None, name)
        return found[0] if found else None

    def add_user(self, user: User, password_hash: str, *, actor: str, at: dt.datetime) -> None:
        """Store a new account (:class:`Conflict` when the name is taken) and record it."""
        with self._transaction() as tx:
            if self._select_users(tx, user.name):
                raise Conflict(f"the user name {user.name!r} is taken", field="name")
            self._insert_user(tx, user, password_hash)
            self._insert_account_event(
                tx, at, actor, "user.add", user.name, {"role": user.role, "areas": list(user.areas)}
            )

    def update_user(
        self,
        user: User,
        *,
        password_hash: str | None = None,
        actor: str,
        action: str,
        at: dt.datetime,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        """Rewrite an account (and its password hash, when given) and record ``action``
        (``user.role``, ``user.password``, ``user.disable``, ``user.enable``)."""
        with self._transaction() as tx:
            if not self._select_users(tx, user.name):
                raise NotFound(f"no user named {user.name!r}", field="name")
            self._update_user(tx, user, password_hash)
            self._insert_account_event(tx, at, actor, action, user.name, details or {})

    def replace_password_hash(self, name: str, password_hash: str) -> None:
        """A new hash of the same password (new Argon2 parameters): not an account change,
        so nothing is recorded and ``password_changed_at`` stays."""
        with self._transaction() as tx:
            found = self._select_users(tx, name)
            if found:
                self._update_user(tx, found[0][0], password_hash)

    def api_tokens(self, owner: str | None = None) -> list[Token]:
        """API tokens (revoked ones too), all or one account's, ordered by id."""
        return self._select_tokens(None, owner=owner)

    def token_by_hash(self, token_hash: str) -> Token | None:
        """The token with this SHA-256 hex, or None."""
        found = self._select_tokens(None, token_hash=token_hash)
        return found[0] if found else None

    def add_token(
        self, owner: str, label: str, token_hash: str, *, actor: str, at: dt.datetime
    ) -> Token:
        """Store a new API token of ``owner`` (by its hash only) and record it."""
        with self._transaction() as tx:
            if not self._select_users(tx, owner):
                raise NotFound(f"no user named {owner!r}", field="name")
            token_id = self._insert_token(tx, owner, label, token_hash, at)
            self._insert_account_event(
                tx, at, actor, "token.issue", owner, {"token_id": token_id, "label": label}
            )
            return self._select_tokens(tx, token_id=token_id)[0]

    def revoke_token(self, token_id: int, *, actor: str, at: dt.datetime) -> Token:
        """Revoke a token and record it; a revoked one stays as it is. :class:`NotFound`
        when there is no token with this id."""
        with self._transaction() as tx:
            found = self._select_tokens(tx, token_id=token_id)
            if not found:
                raise NotFound(f"no API token with id {token_id}", field="token_id")
            token = found[0]
            if token.revoked_at is not None:
                return token
            token = dataclasses.replace(token, revoked_at=at)
            self._update_token(tx, token)
            self._insert_account_event(
                tx,
                at,
                actor,
                "token.revoke",
                token.owner,
                {"token_id": token.id, "label": token.label},
            )
            return token

    def touch_token(self, token_id: int, at: dt.datetime) -> None:
        """Note that a token was used at ``at`` (not an account change: not recorded)."""
        with self._transaction() as tx:
            found = self._select_tokens(tx, token_id=token_id)
            if found:
                self._update_token(tx, dataclasses.replace(found[0], last_used_at=at))

    def account_events(self, limit: int | None = None) -> list[AccountEvent]:
        """The record of account changes, newest first (at most ``limit``)."""
        return self._select_account_events(limit)

    # ---- drivers' reports ------------------------------------------------------------------
    # Like account writes, reports never move the data version: they change no facility.
    def add_report(self, report: Report) -> Report:
        """Store a driver's report; returns it with its new id."""
        with self._transaction() as tx:
            report_id = self._insert_report(tx, report)
            return self._select_reports(tx, report_id=report_id)[0]

    def reports(
        self,
        *,
        facility_id: str | None = None,
        status: str | None = None,
        category: str | None = None,
        since: dt.datetime | None = None,
        areas: Sequence[str] | None = None,
        limit: int | None = None,
    ) -> list[Report]:
        """Drivers' reports, newest first: of one facility, status or category, made at
        or after ``since``, in ``areas`` (reports whose city or county code is one of
        them; None: anywhere), at most ``limit``."""
        if status is not None and status not in REVIEW_STATES:
            raise InvalidParameter(f"unknown report status {status!r}", field="status")
        if since is not None:
            since = since.astimezone(dt.UTC).replace(microsecond=0)
        return self._select_reports(
            None,
            facility_id=facility_id,
            status=status,
            category=category,
            since=since,
            areas=None if areas is None else [a for a in areas if a],
            limit=limit,
        )

    def get_report(self, report_id: int) -> Report:
        """One report; :class:`NotFound` when there is none with this id."""
        found = self._select_reports(None, report_id=int(report_id))
        if not found:
            raise NotFound(f"no report with id {report_id}", field="id")
        return found[0]

    def review_report(
        self, report_id: int, *, status: str, reviewed_by: str, at: dt.datetime, note: str | None
    ) -> Report:
        """Mark a pending report ``accepted`` or ``rejected`` by ``reviewed_by`` at ``at``
        with ``note``; :class:`Conflict` when it was reviewed already."""
        if status not in ("accepted", "rejected"):
            raise InvalidParameter(f"a review accepts or rejects, not {status!r}", field="status")
        with self._transaction() as tx:
            found = self._select_reports(tx, report_id=int(report_id))
            if not found:
                raise NotFound(f"no report with id {report_id}", field="id")
            if found[0].status != "pending":
                raise Conflict(f"report {report_id} was already {found[0].status}", field="id")
            reviewed = dataclasses.replace(
                found[0],
                status=status,
                reviewed_by=reviewed_by,
                reviewed_at=at.astimezone(dt.UTC).replace(microsecond=0),
                review_note=note,
            )
            self._update_review(tx, reviewed)
            return reviewed

    # ---- the road network ------------------------------------------------------------------
    # One network is loaded at a time. Loading one never moves the data version (no
    # facility changes); it moves ``road_version``, on which road engines key their cache.
    def road_network_info(self) -> RoadNetworkInfo | None:
        """What network is loaded (name, source, size, extent), None when none is."""
        return self._select_road_info()

    def road_network(self) -> RoadNetwork | None:
        """The loaded network with its arrays, None when none is."""
        info = self._select_road_info()
        if info is None:
            return None
        nodes, edges = self._select_road_rows()
        return network_from_rows(info, nodes, edges)

    def road_version(self) -> int:
        """A number that grows each time another road network is loaded."""
        return int(self._read_meta("road_version") or 0)

    def replace_road_network(self, network: RoadNetwork) -> RoadNetworkInfo:
        """Load ``network`` in place of the stored one (the same network again: nothing
        changes); returns what is stored."""
        current = self._select_road_info()
        info = RoadNetworkInfo.of(network, utc_now(self.clock).replace(microsecond=0))
        if current is not None and (current.name, current.fingerprint, current.coarse) == (
            info.name,
            info.fingerprint,
            info.coarse,
        ):
            return current
        with self._transaction() as tx:
            self._replace_road_rows(tx, info, node_rows(network), edge_rows(network))
            version = int(self._read_meta("road_version", tx) or 0) + 1
            self._write_meta(tx, "road_version", str(version))
        return self._select_road_info()

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
