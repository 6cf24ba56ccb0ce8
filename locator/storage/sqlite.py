"""The embedded default backend: one SQLite file in WAL mode.

Geometry is kept as longitude/latitude columns for points and WKB for polygons;
spatial queries run on the in-memory catalog, which every worker rebuilds when
the data version changes.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import threading
import weakref
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import shapely

from ..accounts import AccountEvent, Token, User
from ..clock import Clock, system_clock
from ..driver_reports import Report
from ..errors import StorageError
from ..model import AdminUnit, CandidateSite, Facility
from ..roads.network import EDGE_COLUMNS, RoadNetworkInfo
from ._rows import (
    FACILITY_COLUMNS,
    facility_from_row,
    facility_from_snapshot,
    facility_snapshot,
    facility_values,
    report_from_row,
)
from .base import HistoryEntry, Storage

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS facilities (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    lon REAL NOT NULL CHECK (lon BETWEEN -180 AND 180),
    lat REAL NOT NULL CHECK (lat BETWEEN -90 AND 90),
    address TEXT, phone TEXT, operator TEXT, website TEXT, hours TEXT,
    amenities TEXT NOT NULL DEFAULT '[]',
    truck_parking_spaces INTEGER,
    opened_on TEXT,
    parking_fee TEXT, parking_fee_note TEXT, tier TEXT,
    closed_until TEXT, verified_on TEXT,
    city TEXT, city_code TEXT, county TEXT, county_code TEXT,
    township TEXT, township_code TEXT,
    source TEXT, source_id TEXT,
    updated_at TEXT NOT NULL,
    version INTEGER NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS facilities_source
    ON facilities (source, source_id) WHERE source IS NOT NULL AND source_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS facilities_lon_lat ON facilities (lon, lat);
CREATE TABLE IF NOT EXISTS facility_history (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    facility_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    status TEXT,
    action TEXT NOT NULL,
    changed_at TEXT NOT NULL,
    snapshot TEXT,
    actor TEXT
);
CREATE INDEX IF NOT EXISTS facility_history_facility ON facility_history (facility_id, seq);
CREATE TABLE IF NOT EXISTS admin_units (
    code TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    level TEXT NOT NULL,
    parent_code TEXT,
    geometry BLOB,
    seat_lon REAL, seat_lat REAL,
    demand TEXT NOT NULL DEFAULT '{}',
    extra TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS admin_units_level ON admin_units (level);
CREATE TABLE IF NOT EXISTS candidate_sites (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    name TEXT,
    lon REAL NOT NULL, lat REAL NOT NULL,
    extra TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS users (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    areas TEXT NOT NULL DEFAULT '[]',
    password_hash TEXT NOT NULL,
    disabled INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    password_changed_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS api_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_name TEXT NOT NULL REFERENCES users (name),
    label TEXT NOT NULL DEFAULT '',
    token_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    last_used_at TEXT,
    revoked_at TEXT
);
CREATE INDEX IF NOT EXISTS api_tokens_user ON api_tokens (user_name);
CREATE TABLE IF NOT EXISTS account_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    details TEXT NOT NULL DEFAULT '{}'
);
"""

#: Drivers' reports (schema version 5): no address, a salted daily hash of the client.
REPORTS_SCHEMA = """
CREATE TABLE IF NOT EXISTS reports (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    facility_id TEXT NOT NULL,
    category TEXT NOT NULL,
    text TEXT,
    amenity TEXT,
    lon REAL CHECK (lon BETWEEN -180 AND 180),
    lat REAL CHECK (lat BETWEEN -90 AND 90),
    created_at TEXT NOT NULL,
    client_hash TEXT,
    status TEXT NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'accepted', 'rejected')),
    reviewed_by TEXT,
    reviewed_at TEXT,
    review_note TEXT,
    city_code TEXT,
    county_code TEXT
);
CREATE INDEX IF NOT EXISTS reports_facility ON reports (facility_id, id);
CREATE INDEX IF NOT EXISTS reports_status ON reports (status, id);
CREATE INDEX IF NOT EXISTS reports_county ON reports (county_code, id);
CREATE INDEX IF NOT EXISTS reports_city ON reports (city_code, id);
"""

#: The road network (schema version 6): one at a time, edges in pgRouting's layout.
ROADS_SCHEMA = """
CREATE TABLE IF NOT EXISTS road_network (
    one INTEGER PRIMARY KEY CHECK (one = 1),
    name TEXT NOT NULL, source TEXT NOT NULL, attribution TEXT NOT NULL,
    profile TEXT NOT NULL, coarse INTEGER NOT NULL, fingerprint TEXT NOT NULL,
    nodes INTEGER NOT NULL, edges INTEGER NOT NULL, total_km REAL NOT NULL,
    west REAL, south REAL, east REAL, north REAL, loaded_at TEXT
);
CREATE TABLE IF NOT EXISTS road_nodes (
    id INTEGER PRIMARY KEY, lon REAL NOT NULL, lat REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS road_edges (
    id INTEGER PRIMARY KEY,
    source INTEGER NOT NULL REFERENCES road_nodes (id),
    target INTEGER NOT NULL REFERENCES road_nodes (id),
    cost REAL NOT NULL, reverse_cost REAL NOT NULL, length_m REAL NOT NULL,
    road_class TEXT, maxspeed REAL, maxweight REAL, maxheight REAL, hgv TEXT
);
"""

_REPORT_COLUMNS = (
    "facility_id, category, text, amenity, lon, lat, created_at, client_hash, status, "
    "reviewed_by, reviewed_at, review_note, city_code, county_code"
)


def _statements(script: str) -> list[str]:
    return [statement.strip() for statement in script.split(";") if statement.strip()]


class _Holder:
    """One thread's connection; its finalizer closes the connection with the thread."""

    __slots__ = ("conn", "__weakref__")

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn


def _release(connections: list, lock: Any, conn: sqlite3.Connection) -> None:
    with lock:
        if conn in connections:
            connections.remove(conn)
    conn.close()


def path_from_url(url: str) -> Path:
    """The file path of a ``sqlite:///relative`` or ``sqlite:////absolute`` URL, or a path."""
    if url.startswith("sqlite:///"):
        return Path(url[len("sqlite:///") :])
    if url.startswith("sqlite:"):
        raise StorageError(f"not a SQLite URL: {url!r} (use sqlite:///path/to/file.db)")
    return Path(url)


class SQLiteStorage(Storage):
    """Storage in one SQLite file; safe for several processes (WAL, immediate writes)."""

    backend = "sqlite"

    def __init__(self, url: str, *, clock: Clock = system_clock):
        super().__init__(clock)
        self.path = path_from_url(url)
        self.url = f"sqlite:///{self.path}"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.RLock()
        self._conn  # noqa: B018 - open now, so a bad path fails here

    @property
    def _conn(self) -> sqlite3.Connection:
        """This thread's connection (SQLite connections must not be shared by threads)."""
        holder = getattr(self._local, "holder", None)
        conn = holder.conn if holder is not None else None
        if conn is None:
            try:
                conn = sqlite3.connect(
                    self.path, timeout=30, isolation_level=None, check_same_thread=False
                )
                conn.row_factory = sqlite3.Row
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
            except sqlite3.Error as exc:
                raise StorageError(f"cannot open SQLite database {self.path}: {exc}") from exc
            holder = _Holder(conn)
            # The thread-local holder dies with its thread (a server may start one per
            # request); close the connection then.
            weakref.finalize(holder, _release, self._connections, self._lock, conn)
            self._local.holder = holder
            with self._lock:
                self._connections.append(conn)
        return conn

    #: The new tables of a version are made by ``_create_tables`` after the migrations.
    MIGRATIONS = {
        2: ["ALTER TABLE facility_history ADD COLUMN snapshot TEXT"],
        3: ["ALTER TABLE facility_history ADD COLUMN actor TEXT"],
        4: [
            f"ALTER TABLE facilities ADD COLUMN {column}"
            for column in (
                "parking_fee TEXT",
                "parking_fee_note TEXT",
                "tier TEXT",
                "closed_until TEXT",
                "verified_on TEXT",
            )
        ],
        5: _statements(REPORTS_SCHEMA),
        6: _statements(ROADS_SCHEMA),
    }

    def _has_tables(self, tx: Any = None) -> bool:
        return bool(
            self._conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'"
            ).fetchall()
        )

    def _create_tables(self, tx: Any) -> None:
        for statement in _statements(SCHEMA + REPORTS_SCHEMA + ROADS_SCHEMA):
            tx.execute(statement)

    def close(self) -> None:
        with self._lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()
        self._local = threading.local()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        try:
            return self._conn.execute(sql, params).fetchall()
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):
                raise StorageError(
                    f"the database {self.path} is not set up; run `locator init`"
                ) from exc
            raise

    # ---- meta --------------------------------------------------------------------------
    def _read_meta(self, key: str, tx: Any = None) -> str | None:
        rows = self._query("SELECT value FROM meta WHERE key = ?", (key,))
        return rows[0]["value"] if rows else None

    def _write_meta(self, tx: Any, key: str, value: str) -> None:
        tx.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    # ---- facilities --------------------------------------------------------------------
    def _select_facilities(
        self, tx: Any = None, ids: Sequence[str] | None = None
    ) -> list[Facility]:
        columns = ", ".join(FACILITY_COLUMNS) + ", lon, lat"
        if ids is None:
            rows = self._query(f"SELECT {columns} FROM facilities ORDER BY id")
        else:
            rows = []
            for start in range(0, len(ids), 500):
                chunk = list(ids[start : start + 500])
                marks = ", ".join("?" for _ in chunk)
                rows += self._query(
                    f"SELECT {columns} FROM facilities WHERE id IN ({marks})", chunk
                )
            rows.sort(key=lambda row: row["id"])
        return [facility_from_row(dict(row)) for row in rows]

    def _select_ids_by_source(
        self, tx: Any, pairs: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], str]:
        found = {}
        for source, source_id in set(pairs):
            rows = self._query(
                "SELECT id FROM facilities WHERE source = ? AND source_id = ?", (source, source_id)
            )
            if rows:
                found[(source, source_id)] = rows[0]["id"]
        return found

    def _upsert_rows(self, tx: Any, facilities: Sequence[Facility]) -> None:
        columns = (*FACILITY_COLUMNS, "lon", "lat")
        updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c != "id")
        sql = (
            f"INSERT INTO facilities ({', '.join(columns)}) "
            f"VALUES ({', '.join('?' for _ in columns)}) "
            f"ON CONFLICT (id) DO UPDATE SET {updates}"
        )
        tx.executemany(sql, [facility_values(f) + [f.lon, f.lat] for f in facilities])

    def _delete_rows(self, tx: Any, ids: Sequence[str]) -> None:
        tx.executemany("DELETE FROM facilities WHERE id = ?", [(i,) for i in ids])

    def _insert_history(self, tx: Any, entries: Sequence[HistoryEntry]) -> None:
        tx.executemany(
            "INSERT INTO facility_history "
            "(facility_id, version, status, action, changed_at, snapshot, actor) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    e.facility_id,
                    e.version,
                    e.status,
                    e.action,
                    e.changed_at.isoformat(),
                    facility_snapshot(e.facility) if e.facility else None,
                    e.actor,
                )
                for e in entries
            ],
        )

    def _select_history(self, facility_id: str | None) -> list[HistoryEntry]:
        sql = (
            "SELECT facility_id, version, status, action, changed_at, snapshot, actor "
            "FROM facility_history"
        )
        params: tuple = ()
        if facility_id is not None:
            sql += " WHERE facility_id = ?"
            params = (facility_id,)
        rows = self._query(sql + " ORDER BY seq", params)
        return [
            HistoryEntry(
                r["facility_id"],
                r["version"],
                r["status"],
                r["action"],
                dt.datetime.fromisoformat(r["changed_at"]),
                facility_from_snapshot(r["snapshot"]),
                r["actor"],
            )
            for r in rows
        ]

    # ---- admin units -------------------------------------------------------------------
    def _replace_admin_rows(self, tx: Any, units: Sequence[AdminUnit]) -> None:
        tx.execute("DELETE FROM admin_units")
        tx.executemany(
            "INSERT INTO admin_units (code, name, level, parent_code, geometry, seat_lon, "
            "seat_lat, demand, extra) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    u.code,
                    u.name,
                    u.level,
                    u.parent_code,
                    shapely.to_wkb(u.geometry) if u.geometry is not None else None,
                    u.seat_lon,
                    u.seat_lat,
                    json.dumps(u.demand),
                    json.dumps(u.extra, ensure_ascii=False),
                )
                for u in units
            ],
        )

    def _select_admin_units(self, level: str | None) -> list[AdminUnit]:
        sql = (
            "SELECT code, name, level, parent_code, geometry, seat_lon, seat_lat, demand, "
            "extra FROM admin_units"
        )
        params: tuple = ()
        if level is not None:
            sql += " WHERE level = ?"
            params = (level,)
        rows = self._query(sql + " ORDER BY code", params)
        return [
            AdminUnit(
                code=r["code"],
                name=r["name"],
                level=r["level"],
                parent_code=r["parent_code"],
                geometry=shapely.from_wkb(r["geometry"]) if r["geometry"] is not None else None,
                seat_lon=r["seat_lon"],
                seat_lat=r["seat_lat"],
                demand=json.loads(r["demand"]),
                extra=json.loads(r["extra"]),
            )
            for r in rows
        ]

    # ---- candidate sites ---------------------------------------------------------------
    def _replace_candidate_rows(self, tx: Any, kind: str, sites: Sequence[CandidateSite]) -> None:
        tx.execute("DELETE FROM candidate_sites WHERE kind = ?", (kind,))
        tx.executemany(
            "INSERT INTO candidate_sites (id, kind, name, lon, lat, extra) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [
                (s.id, kind, s.name, s.lon, s.lat, json.dumps(s.extra, ensure_ascii=False))
                for s in sites
            ],
        )

    def _select_candidates(self, kind: str | None) -> list[CandidateSite]:
        sql = "SELECT id, kind, name, lon, lat, extra FROM candidate_sites"
        params: tuple = ()
        if kind is not None:
            sql += " WHERE kind = ?"
            params = (kind,)
        rows = self._query(sql + " ORDER BY id", params)
        return [
            CandidateSite(r["id"], r["kind"], r["name"], r["lon"], r["lat"], json.loads(r["extra"]))
            for r in rows
        ]

    # ---- accounts ----------------------------------------------------------------------
    def _select_users(self, tx: Any, name: str | None) -> list[tuple[User, str]]:
        sql = (
            "SELECT name, role, areas, password_hash, disabled, created_at, "
            "password_changed_at FROM users"
        )
        params: tuple = ()
        if name is not None:
            sql += " WHERE name = ?"
            params = (name,)
        return [
            (
                User(
                    r["name"],
                    r["role"],
                    tuple(json.loads(r["areas"])),
                    bool(r["disabled"]),
                    _time(r["created_at"]),
                    _time(r["password_changed_at"]),
                ),
                r["password_hash"],
            )
            for r in self._query(sql + " ORDER BY name", params)
        ]

    def _insert_user(self, tx: Any, user: User, password_hash: str) -> None:
        tx.execute(
            "INSERT INTO users (name, role, areas, password_hash, disabled, created_at, "
            "password_changed_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                user.name,
                user.role,
                json.dumps(list(user.areas)),
                password_hash,
                int(user.disabled),
                _text(user.created_at),
                _text(user.password_changed_at),
            ),
        )

    def _update_user(self, tx: Any, user: User, password_hash: str | None) -> None:
        tx.execute(
            "UPDATE users SET role = ?, areas = ?, disabled = ?, password_changed_at = ?, "
            "password_hash = COALESCE(?, password_hash) WHERE name = ?",
            (
                user.role,
                json.dumps(list(user.areas)),
                int(user.disabled),
                _text(user.password_changed_at),
                password_hash,
                user.name,
            ),
        )

    def _select_tokens(
        self,
        tx: Any,
        *,
        owner: str | None = None,
        token_id: int | None = None,
        token_hash: str | None = None,
    ) -> list[Token]:
        rows = self._query(
            "SELECT id, user_name, label, created_at, last_used_at, revoked_at FROM api_tokens "
            "WHERE (? IS NULL OR user_name = ?) AND (? IS NULL OR id = ?) "
            "AND (? IS NULL OR token_hash = ?) ORDER BY id",
            (owner, owner, token_id, token_id, token_hash, token_hash),
        )
        return [
            Token(
                r["id"],
                r["user_name"],
                r["label"],
                _time(r["created_at"]),
                _time(r["last_used_at"]),
                _time(r["revoked_at"]),
            )
            for r in rows
        ]

    def _insert_token(
        self, tx: Any, owner: str, label: str, token_hash: str, at: dt.datetime
    ) -> int:
        cursor = tx.execute(
            "INSERT INTO api_tokens (user_name, label, token_hash, created_at) VALUES (?, ?, ?, ?)",
            (owner, label, token_hash, _text(at)),
        )
        return int(cursor.lastrowid)

    def _update_token(self, tx: Any, token: Token) -> None:
        tx.execute(
            "UPDATE api_tokens SET last_used_at = ?, revoked_at = ? WHERE id = ?",
            (_text(token.last_used_at), _text(token.revoked_at), token.id),
        )

    def _insert_account_event(
        self,
        tx: Any,
        at: dt.datetime,
        actor: str,
        action: str,
        target: str,
        details: Mapping[str, Any],
    ) -> None:
        tx.execute(
            "INSERT INTO account_events (at, actor, action, target, details) "
            "VALUES (?, ?, ?, ?, ?)",
            (_text(at), actor, action, target, json.dumps(dict(details), ensure_ascii=False)),
        )

    def _select_account_events(self, limit: int | None) -> list[AccountEvent]:
        sql = "SELECT seq, at, actor, action, target, details FROM account_events ORDER BY seq DESC"
        params: tuple = ()
        if limit is not None:
            sql += " LIMIT ?"
            params = (int(limit),)
        return [
            AccountEvent(
                r["seq"],
                _time(r["at"]),
                r["actor"],
                r["action"],
                r["target"],
                json.loads(r["details"]),
            )
            for r in self._query(sql, params)
        ]

    # ---- drivers' reports ---------------------------------------------------------------
    def _insert_report(self, tx: Any, report: Report) -> int:
        cursor = tx.execute(
            f"INSERT INTO reports ({_REPORT_COLUMNS}) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                report.facility_id,
                report.category,
                report.text,
                report.amenity,
                report.lon,
                report.lat,
                _text(report.created_at),
                report.client_hash,
                report.status,
                report.reviewed_by,
                _text(report.reviewed_at),
                report.review_note,
                report.city_code,
                report.county_code,
            ),
        )
        return int(cursor.lastrowid)

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
        conditions, params = [], []
        for column, value in (
            ("id", report_id),
            ("facility_id", facility_id),
            ("status", status),
            ("category", category),
        ):
            if value is not None:
                conditions.append(f"{column} = ?")
                params.append(value)
        if since is not None:
            conditions.append("created_at >= ?")
            params.append(_text(since))
        if areas is not None:
            marks = ", ".join("?" for _ in areas)
            conditions.append(f"(city_code IN ({marks}) OR county_code IN ({marks}))")
            params += [*areas, *areas]
        sql = f"SELECT id, {_REPORT_COLUMNS} FROM reports"
        if conditions:
            sql += " WHERE " + " AND ".join(conditions)
        sql += " ORDER BY id DESC"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(int(limit))
        return [report_from_row(r, _time) for r in self._query(sql, params)]

    def _update_review(self, tx: Any, report: Report) -> None:
        tx.execute(
            "UPDATE reports SET status = ?, reviewed_by = ?, reviewed_at = ?, review_note = ? "
            "WHERE id = ?",
            (
                report.status,
                report.reviewed_by,
                _text(report.reviewed_at),
                report.review_note,
                report.id,
            ),
        )

    # ---- the road network ---------------------------------------------------------------
    def _replace_road_rows(
        self, tx: Any, info: RoadNetworkInfo, nodes: list[tuple], edges: list[tuple]
    ) -> None:
        for table in ("road_edges", "road_nodes", "road_network"):
            tx.execute(f"DELETE FROM {table}")
        west, south, east, north = info.extent
        tx.execute(
            "INSERT INTO road_network (one, name, source, attribution, profile, coarse, "
            "fingerprint, nodes, edges, total_km, west, south, east, north, loaded_at) "
            "VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                info.name,
                info.source,
                info.attribution,
                info.profile,
                int(info.coarse),
                info.fingerprint,
                info.nodes,
                info.edges,
                info.total_km,
                west,
                south,
                east,
                north,
                _text(info.loaded_at),
            ),
        )
        tx.executemany("INSERT INTO road_nodes (id, lon, lat) VALUES (?, ?, ?)", nodes)
        tx.executemany(
            f"INSERT INTO road_edges (id, {', '.join(EDGE_COLUMNS)}) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            edges,
        )

    def _select_road_info(self) -> RoadNetworkInfo | None:
        rows = self._query("SELECT * FROM road_network")
        if not rows:
            return None
        return RoadNetworkInfo.from_row(rows[0], _time(rows[0]["loaded_at"]))

    def _select_road_rows(self) -> tuple[list[tuple], list[tuple]]:
        nodes = [tuple(r) for r in self._query("SELECT id, lon, lat FROM road_nodes")]
        edges = [
            tuple(r) for r in self._query(f"SELECT id, {', '.join(EDGE_COLUMNS)} FROM road_edges")
        ]
        return nodes, edges


def _text(at: dt.datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


def _time(text: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(text) if text is not None else None
