"""The server backend: PostgreSQL with PostGIS, for several processes or machines.

Points and polygons are PostGIS geometries in WGS-84 (SRID 4326) with GiST
indexes; the rules (ids, admin assignment, locking, history, the data version)
live in :class:`~locator.storage.base.Storage` and behave exactly as on SQLite.
Every write takes one transaction-level advisory lock, so writers on any machine
are serialised and the data version never races. Each thread keeps its own
connection; reads outside a write end their transaction at once, so no
connection sits "idle in transaction".
"""

from __future__ import annotations

import datetime as dt
import threading
import weakref
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
import psycopg.errors
import shapely
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from ..accounts import AccountEvent, Token, User
from ..clock import Clock, system_clock
from ..driver_reports import Report
from ..errors import InvalidParameter, StorageError
from ..model import AdminUnit, CandidateSite, Facility
from ..roads.network import EDGE_COLUMNS, RoadNetworkInfo
from ._rows import (
    FACILITY_COLUMNS,
    facility_from_row,
    facility_from_snapshot,
    facility_snapshot,
    report_from_row,
)
from .base import HistoryEntry, Storage

#: The key of the advisory lock every write takes ("locator" in ASCII).
WRITE_LOCK_KEY = 0x6C6F6361746F72

# Text keys use the "C" collation so that ORDER BY sorts as SQLite does (by code point),
# whatever the database's default collation.
SCHEMA = (
    """CREATE TABLE IF NOT EXISTS meta (
        key TEXT COLLATE "C" PRIMARY KEY,
        value TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS facilities (
        id TEXT COLLATE "C" PRIMARY KEY,
        name TEXT NOT NULL,
        kind TEXT NOT NULL,
        status TEXT NOT NULL,
        geom geometry(Point, 4326) NOT NULL
            CHECK (ST_X(geom) BETWEEN -180 AND 180 AND ST_Y(geom) BETWEEN -90 AND 90),
        address TEXT, phone TEXT, operator TEXT, website TEXT, hours TEXT,
        amenities JSONB NOT NULL DEFAULT '[]',
        truck_parking_spaces INTEGER,
        opened_on DATE,
        parking_fee TEXT, parking_fee_note TEXT, tier TEXT,
        closed_until DATE, verified_on DATE,
        city TEXT, city_code TEXT, county TEXT, county_code TEXT,
        township TEXT, township_code TEXT,
        source TEXT, source_id TEXT,
        updated_at TIMESTAMPTZ NOT NULL,
        version INTEGER NOT NULL
    )""",
    """CREATE UNIQUE INDEX IF NOT EXISTS facilities_source
        ON facilities (source, source_id) WHERE source IS NOT NULL AND source_id IS NOT NULL""",
    "CREATE INDEX IF NOT EXISTS facilities_geom ON facilities USING gist (geom)",
    """CREATE TABLE IF NOT EXISTS facility_history (
        seq BIGSERIAL PRIMARY KEY,
        facility_id TEXT COLLATE "C" NOT NULL,
        version INTEGER NOT NULL,
        status TEXT,
        action TEXT NOT NULL,
        changed_at TIMESTAMPTZ NOT NULL,
        snapshot JSONB,
        actor TEXT
    )""",
    """CREATE INDEX IF NOT EXISTS facility_history_facility
        ON facility_history (facility_id, seq)""",
    """CREATE TABLE IF NOT EXISTS admin_units (
        code TEXT COLLATE "C" PRIMARY KEY,
        name TEXT NOT NULL,
        level TEXT NOT NULL,
        parent_code TEXT,
        geometry geometry(MultiPolygon, 4326),
        seat geometry(Point, 4326),
        demand JSONB NOT NULL DEFAULT '{}',
        extra JSONB NOT NULL DEFAULT '{}'
    )""",
    "CREATE INDEX IF NOT EXISTS admin_units_level ON admin_units (level)",
    "CREATE INDEX IF NOT EXISTS admin_units_geometry ON admin_units USING gist (geometry)",
    """CREATE TABLE IF NOT EXISTS candidate_sites (
        id TEXT COLLATE "C" PRIMARY KEY,
        kind TEXT NOT NULL,
        name TEXT,
        geom geometry(Point, 4326) NOT NULL,
        extra JSONB NOT NULL DEFAULT '{}'
    )""",
    "CREATE INDEX IF NOT EXISTS candidate_sites_kind ON candidate_sites (kind)",
    "CREATE INDEX IF NOT EXISTS candidate_sites_geom ON candidate_sites USING gist (geom)",
    """CREATE TABLE IF NOT EXISTS users (
        name TEXT COLLATE "C" PRIMARY KEY,
        role TEXT NOT NULL,
        areas JSONB NOT NULL DEFAULT '[]',
        password_hash TEXT NOT NULL,
        disabled BOOLEAN NOT NULL DEFAULT FALSE,
        created_at TIMESTAMPTZ NOT NULL,
        password_changed_at TIMESTAMPTZ NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS api_tokens (
        id BIGSERIAL PRIMARY KEY,
        user_name TEXT COLLATE "C" NOT NULL REFERENCES users (name),
        label TEXT NOT NULL DEFAULT '',
        token_hash TEXT NOT NULL UNIQUE,
        created_at TIMESTAMPTZ NOT NULL,
        last_used_at TIMESTAMPTZ,
        revoked_at TIMESTAMPTZ
    )""",
    "CREATE INDEX IF NOT EXISTS api_tokens_user ON api_tokens (user_name)",
    """CREATE TABLE IF NOT EXISTS account_events (
        seq BIGSERIAL PRIMARY KEY,
        at TIMESTAMPTZ NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        target TEXT NOT NULL,
        details JSONB NOT NULL DEFAULT '{}'
    )""",
)

#: Drivers' reports (schema version 5): no address, a salted daily hash of the client.
REPORTS_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS reports (
        id BIGSERIAL PRIMARY KEY,
        facility_id TEXT COLLATE "C" NOT NULL,
        category TEXT NOT NULL,
        text TEXT,
        amenity TEXT,
        pin geometry(Point, 4326)
            CHECK (ST_X(pin) BETWEEN -180 AND 180 AND ST_Y(pin) BETWEEN -90 AND 90),
        created_at TIMESTAMPTZ NOT NULL,
        client_hash TEXT,
        status TEXT NOT NULL DEFAULT 'pending'
            CHECK (status IN ('pending', 'accepted', 'rejected')),
        reviewed_by TEXT,
        reviewed_at TIMESTAMPTZ,
        review_note TEXT,
        city_code TEXT,
        county_code TEXT
    )""",
    "CREATE INDEX IF NOT EXISTS reports_facility ON reports (facility_id, id)",
    "CREATE INDEX IF NOT EXISTS reports_status ON reports (status, id)",
    "CREATE INDEX IF NOT EXISTS reports_county ON reports (county_code, id)",
    "CREATE INDEX IF NOT EXISTS reports_city ON reports (city_code, id)",
)

#: The road network (schema version 6) in the layout pgRouting reads: ``road_edges``
#: with id, source, target, cost, reverse_cost (negative: closed), x1, y1, x2, y2, geom.
ROADS_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS road_network (
        one INTEGER PRIMARY KEY CHECK (one = 1),
        name TEXT NOT NULL, source TEXT NOT NULL, attribution TEXT NOT NULL,
        profile TEXT NOT NULL, coarse BOOLEAN NOT NULL, fingerprint TEXT NOT NULL,
        nodes INTEGER NOT NULL, edges INTEGER NOT NULL, total_km DOUBLE PRECISION NOT NULL,
        west DOUBLE PRECISION, south DOUBLE PRECISION, east DOUBLE PRECISION,
        north DOUBLE PRECISION, loaded_at TIMESTAMPTZ
    )""",
    """CREATE TABLE IF NOT EXISTS road_nodes (
        id BIGINT PRIMARY KEY,
        lon DOUBLE PRECISION NOT NULL, lat DOUBLE PRECISION NOT NULL,
        geom geometry(Point, 4326) GENERATED ALWAYS AS
            (ST_SetSRID(ST_MakePoint(lon, lat), 4326)) STORED
    )""",
    """CREATE TABLE IF NOT EXISTS road_edges (
        id BIGINT PRIMARY KEY,
        source BIGINT NOT NULL REFERENCES road_nodes (id),
        target BIGINT NOT NULL REFERENCES road_nodes (id),
        cost DOUBLE PRECISION NOT NULL, reverse_cost DOUBLE PRECISION NOT NULL,
        length_m DOUBLE PRECISION NOT NULL, road_class TEXT, maxspeed DOUBLE PRECISION,
        maxweight DOUBLE PRECISION, maxheight DOUBLE PRECISION, hgv TEXT,
        x1 DOUBLE PRECISION NOT NULL, y1 DOUBLE PRECISION NOT NULL,
        x2 DOUBLE PRECISION NOT NULL, y2 DOUBLE PRECISION NOT NULL,
        geom geometry(LineString, 4326) GENERATED ALWAYS AS
            (ST_SetSRID(ST_MakeLine(ST_MakePoint(x1, y1), ST_MakePoint(x2, y2)), 4326)) STORED
    )""",
    "CREATE INDEX IF NOT EXISTS road_edges_geom ON road_edges USING GIST (geom)",
    "CREATE INDEX IF NOT EXISTS road_nodes_geom ON road_nodes USING GIST (geom)",
)

_REPORT_SELECT = (
    "SELECT id, facility_id, category, text, amenity, ST_X(pin) AS lon, ST_Y(pin) AS lat, "
    "created_at, client_hash, status, reviewed_by, reviewed_at, review_note, city_code, "
    "county_code FROM reports "
    "WHERE (%(id)s::bigint IS NULL OR id = %(id)s) "
    "AND (%(facility_id)s::text IS NULL OR facility_id = %(facility_id)s) "
    "AND (%(status)s::text IS NULL OR status = %(status)s) "
    "AND (%(category)s::text IS NULL OR category = %(category)s) "
    "AND (%(since)s::timestamptz IS NULL OR created_at >= %(since)s) "
    "AND (%(areas)s::text[] IS NULL OR city_code = ANY(%(areas)s::text[]) "
    "OR county_code = ANY(%(areas)s::text[])) "
    "ORDER BY id DESC LIMIT %(limit)s"
)

_POINT = "ST_SetSRID(ST_MakePoint(%s::float8, %s::float8), 4326)"

_FACILITY_SELECT = (
    "SELECT "
    + ", ".join(FACILITY_COLUMNS)
    + ", ST_X(geom) AS lon, ST_Y(geom) AS lat FROM facilities"
)

_FACILITY_UPSERT = (
    "INSERT INTO facilities ("
    + ", ".join(FACILITY_COLUMNS)
    + ", geom) VALUES ("
    + ", ".join("%s" for _ in FACILITY_COLUMNS)
    + f", {_POINT}) "
    "ON CONFLICT (id) DO UPDATE SET "
    + ", ".join(f"{c} = EXCLUDED.{c}" for c in (*FACILITY_COLUMNS, "geom") if c != "id")
)

_HISTORY_SELECT = (
    "SELECT facility_id, version, status, action, changed_at, snapshot, actor FROM facility_history"
)

_USER_SELECT = (
    "SELECT name, role, areas, password_hash, disabled, created_at, password_changed_at "
    "FROM users WHERE %s::text IS NULL OR name = %s ORDER BY name"
)

_TOKEN_SELECT = (
    "SELECT id, user_name, label, created_at, last_used_at, revoked_at FROM api_tokens "
    "WHERE (%s::text IS NULL OR user_name = %s) AND (%s::bigint IS NULL OR id = %s) "
    "AND (%s::text IS NULL OR token_hash = %s) ORDER BY id"
)

_ADMIN_SELECT = (
    "SELECT code, name, level, parent_code, ST_AsBinary(geometry) AS geometry, "
    "ST_X(seat) AS seat_lon, ST_Y(seat) AS seat_lat, demand, extra FROM admin_units"
)

_CANDIDATE_SELECT = (
    "SELECT id, kind, name, ST_X(geom) AS lon, ST_Y(geom) AS lat, extra FROM candidate_sites"
)


def redact_url(url: str) -> str:
    """``url`` without its password, for messages."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparsable URL>"
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)
    user = netloc[0].split(":", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc[1]}"))


def _libpq_url(url: str) -> str:
    """The URL libpq understands (SQLAlchemy's ``postgresql+psycopg://`` made plain)."""
    if url.startswith("postgresql+psycopg://"):
        return "postgresql://" + url[len("postgresql+psycopg://") :]
    return url


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    return value.astimezone(dt.UTC) if value is not None else None


class _Slot:
    """One thread's connection and whether it is inside a write transaction."""

    __slots__ = ("conn", "in_transaction", "__weakref__")

    def __init__(self, conn: psycopg.Connection):
        self.conn = conn
        self.in_transaction = False


def _release(connections: list, lock: Any, conn: psycopg.Connection) -> None:
    """Close a connection whose thread has ended (a weakref finalizer)."""
    with lock:
        if conn in connections:
            connections.remove(conn)
    try:
        conn.close()
    except Exception:  # noqa: BLE001 - closing is best effort at thread exit
        pass


class PostGISStorage(Storage):
    """Storage in a PostgreSQL database with PostGIS; safe for many processes and hosts."""

    backend = "postgis"

    def __init__(self, url: str, *, clock: Clock = system_clock):
        super().__init__(clock)
        self.url = url
        self._conninfo = _libpq_url(url)
        self._label = redact_url(url)
        try:
            params = conninfo_to_dict(self._conninfo)
        except psycopg.ProgrammingError as exc:
            raise StorageError(f"not a PostgreSQL URL: {self._label} ({exc})") from exc
        self._connect_kwargs: dict[str, Any] = {}
        if "connect_timeout" not in params:
            self._connect_kwargs["connect_timeout"] = 10
        self._local = threading.local()
        self._connections: list[psycopg.Connection] = []
        self._lock = threading.RLock()  # re-entrant: a finalizer may run while it is held
        self._slot  # noqa: B018 - connect now, so a bad URL fails here

    # ---- connections -------------------------------------------------------------------
    def _connect(self) -> psycopg.Connection:
        try:
            conn = psycopg.connect(
                self._conninfo, autocommit=False, row_factory=dict_row, **self._connect_kwargs
            )
        except psycopg.Error as exc:
            raise StorageError(
                f"cannot connect to PostgreSQL at {self._label}: {exc}".strip()
            ) from exc
        # Each statement must see what other writers committed before the lock was granted.
        conn.isolation_level = psycopg.IsolationLevel.READ_COMMITTED
        return conn

    @property
    def _slot(self) -> _Slot:
        """This thread's connection slot; a closed or broken connection is replaced."""
        slot = getattr(self._local, "slot", None)
        if slot is not None and not slot.conn.closed:
            return slot
        if slot is not None:
            with self._lock:
                if slot.conn in self._connections:
                    self._connections.remove(slot.conn)
        conn = self._connect()
        slot = _Slot(conn)
        # The thread-local slot dies with its thread; close the connection then.
        weakref.finalize(slot, _release, self._connections, self._lock, conn)
        with self._lock:
            self._connections.append(conn)
        self._local.slot = slot
        return slot

    def close(self) -> None:
        with self._lock:
            connections = list(self._connections)
            self._connections.clear()
        for conn in connections:
            conn.close()
        self._local = threading.local()

    @contextmanager
    def _errors(self) -> Iterator[None]:
        """Database errors that mean "unreachable" or "not set up" as StorageError."""
        try:
            yield
        except psycopg.errors.UndefinedTable as exc:
            raise StorageError(
                f"the database {self._label} is not set up; run `locator init`"
            ) from exc
        except psycopg.OperationalError as exc:
            raise StorageError(f"PostgreSQL at {self._label} failed: {exc}".strip()) from exc

    @contextmanager
    def _transaction(self) -> Iterator[psycopg.Connection]:
        slot = self._slot
        if slot.in_transaction:
            raise RuntimeError("PostGIS storage transactions do not nest")
        conn = slot.conn
        with self._errors():
            try:
                slot.in_transaction = True
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK_KEY,))
                yield conn
            except BaseException:
                slot.in_transaction = False
                try:
                    conn.rollback()
                except psycopg.Error:
                    pass  # a broken connection has nothing to roll back
                raise
            slot.in_transaction = False
            conn.commit()

    def _query(self, sql: str, params: Sequence[Any] = (), tx: Any = None) -> list[dict[str, Any]]:
        """Rows of one read: inside ``tx`` when given, else in a transaction of its own."""
        if tx is not None:
            return tx.execute(sql, params).fetchall()
        slot = self._slot
        if slot.in_transaction:  # a read inside this thread's write sees the write
            return slot.conn.execute(sql, params).fetchall()
        with self._errors():
            try:
                return slot.conn.execute(sql, params).fetchall()
            finally:
                if not slot.conn.closed:
                    slot.conn.rollback()  # end the read; never leave it idle in transaction

    # ---- schema ------------------------------------------------------------------------
    #: The new tables of a version are made by ``_create_tables`` after the migrations.
    MIGRATIONS = {
        2: ["ALTER TABLE facility_history ADD COLUMN snapshot JSONB"],
        3: ["ALTER TABLE facility_history ADD COLUMN actor TEXT"],
        4: [
            f"ALTER TABLE facilities ADD COLUMN {column}"
            for column in (
                "parking_fee TEXT",
                "parking_fee_note TEXT",
                "tier TEXT",
                "closed_until DATE",
                "verified_on DATE",
            )
        ],
        5: list(REPORTS_SCHEMA),
        6: list(ROADS_SCHEMA),
    }

    def _has_tables(self, tx: Any = None) -> bool:
        return self._query("SELECT to_regclass('meta') IS NOT NULL AS made", (), tx)[0]["made"]

    def _create_tables(self, tx: Any) -> None:
        for statement in (*SCHEMA, *REPORTS_SCHEMA, *ROADS_SCHEMA):
            tx.execute(statement)

    def _prepare_schema(self, tx: Any) -> None:
        installed = tx.execute(
            "SELECT extnamespace::regnamespace::text AS schema FROM pg_extension "
            "WHERE extname = 'postgis'"
        ).fetchone()
        if installed is None:
            try:
                tx.execute("CREATE EXTENSION IF NOT EXISTS postgis")
            except psycopg.errors.InsufficientPrivilege as exc:
                raise StorageError(
                    f"PostGIS is not installed in {self._label} and this user may not "
                    "install it; ask an administrator to run CREATE EXTENSION postgis"
                ) from exc
        elif tx.execute("SELECT to_regtype('geometry') AS t").fetchone()["t"] is None:
            raise StorageError(
                f"PostGIS is installed in schema {installed['schema']!r}, which is not "
                "on the search_path of this connection; add it (e.g. "
                "options=-csearch_path%3Dmyschema,public in the URL)"
            )

    # ---- meta --------------------------------------------------------------------------
    def _read_meta(self, key: str, tx: Any = None) -> str | None:
        rows = self._query("SELECT value FROM meta WHERE key = %s", (key,), tx)
        return rows[0]["value"] if rows else None

    def _write_meta(self, tx: Any, key: str, value: str) -> None:
        tx.execute(
            "INSERT INTO meta (key, value) VALUES (%s, %s) "
            "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
            (key, value),
        )

    # ---- facilities --------------------------------------------------------------------
    def _select_facilities(
        self, tx: Any = None, ids: Sequence[str] | None = None
    ) -> list[Facility]:
        if ids is None:
            rows = self._query(_FACILITY_SELECT + " ORDER BY id", (), tx)
        else:
            rows = self._query(
                _FACILITY_SELECT + " WHERE id = ANY(%s::text[]) ORDER BY id", (list(ids),), tx
            )
        facilities = []
        for row in rows:
            row["updated_at"] = _utc(row["updated_at"])
            facilities.append(facility_from_row(row))
        return facilities

    def _select_ids_by_source(
        self, tx: Any, pairs: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], str]:
        unique = sorted(set(pairs))
        if not unique:
            return {}
        rows = self._query(
            "SELECT f.id, f.source, f.source_id FROM facilities AS f "
            "JOIN unnest(%s::text[], %s::text[]) AS p(source, source_id) "
            "ON f.source = p.source AND f.source_id = p.source_id",
            ([s for s, _ in unique], [i for _, i in unique]),
            tx,
        )
        return {(r["source"], r["source_id"]): r["id"] for r in rows}

    def _upsert_rows(self, tx: Any, facilities: Sequence[Facility]) -> None:
        rows = []
        for f in facilities:
            values = [getattr(f, name) for name in FACILITY_COLUMNS]
            values[FACILITY_COLUMNS.index("amenities")] = Jsonb(sorted(f.amenities))
            rows.append([*values, f.lon, f.lat])
        if rows:
            with tx.cursor() as cur:
                cur.executemany(_FACILITY_UPSERT, rows)

    def _delete_rows(self, tx: Any, ids: Sequence[str]) -> None:
        tx.execute("DELETE FROM facilities WHERE id = ANY(%s::text[])", (list(ids),))

    def _insert_history(self, tx: Any, entries: Sequence[HistoryEntry]) -> None:
        if not entries:
            return
        with tx.cursor() as cur:
            cur.executemany(
                "INSERT INTO facility_history "
                "(facility_id, version, status, action, changed_at, snapshot, actor) "
                "VALUES (%s, %s, %s, %s, %s, %s::jsonb, %s)",
                [
                    (
                        e.facility_id,
                        e.version,
                        e.status,
                        e.action,
                        e.changed_at,
                        facility_snapshot(e.facility) if e.facility else None,
                        e.actor,
                    )
                    for e in entries
                ],
            )

    def _select_history(self, facility_id: str | None) -> list[HistoryEntry]:
        order = " ORDER BY seq"
        if facility_id is None:
            rows = self._query(_HISTORY_SELECT + order)
        else:
            rows = self._query(_HISTORY_SELECT + " WHERE facility_id = %s" + order, (facility_id,))
        return [
            HistoryEntry(
                r["facility_id"],
                r["version"],
                r["status"],
                r["action"],
                _utc(r["changed_at"]),
                facility_from_snapshot(r["snapshot"]),
                r["actor"],
            )
            for r in rows
        ]

    # ---- admin units -------------------------------------------------------------------
    def _replace_admin_rows(self, tx: Any, units: Sequence[AdminUnit]) -> None:
        rows = []
        for u in units:
            wkb = None
            if u.geometry is not None:
                if u.geometry.geom_type not in ("Polygon", "MultiPolygon"):
                    raise InvalidParameter(
                        f"admin unit {u.code!r}: geometry must be a Polygon or MultiPolygon, "
                        f"not {u.geometry.geom_type}",
                        field="geometry",
                    )
                wkb = shapely.to_wkb(u.geometry)
            rows.append(
                (
                    u.code,
                    u.name,
                    u.level,
                    u.parent_code,
                    wkb,
                    u.seat_lon,
                    u.seat_lat,
                    Jsonb(u.demand),
                    Jsonb(u.extra),
                )
            )
        tx.execute("DELETE FROM admin_units")
        if rows:
            with tx.cursor() as cur:
                cur.executemany(
                    "INSERT INTO admin_units (code, name, level, parent_code, geometry, seat, "
                    "demand, extra) VALUES (%s, %s, %s, %s, "
                    "ST_Multi(ST_Force2D(ST_GeomFromWKB(%s::bytea, 4326))), "
                    f"{_POINT}, %s, %s)",
                    rows,
                )

    def _select_admin_units(self, level: str | None) -> list[AdminUnit]:
        if level is None:
            rows = self._query(_ADMIN_SELECT + " ORDER BY code")
        else:
            rows = self._query(_ADMIN_SELECT + " WHERE level = %s ORDER BY code", (level,))
        return [
            AdminUnit(
                code=r["code"],
                name=r["name"],
                level=r["level"],
                parent_code=r["parent_code"],
                geometry=shapely.from_wkb(r["geometry"]) if r["geometry"] is not None else None,
                seat_lon=r["seat_lon"],
                seat_lat=r["seat_lat"],
                demand=r["demand"],
                extra=r["extra"],
            )
            for r in rows
        ]

    # ---- candidate sites ---------------------------------------------------------------
    def _replace_candidate_rows(self, tx: Any, kind: str, sites: Sequence[CandidateSite]) -> None:
        tx.execute("DELETE FROM candidate_sites WHERE kind = %s", (kind,))
        if sites:
            with tx.cursor() as cur:
                cur.executemany(
                    "INSERT INTO candidate_sites (id, kind, name, geom, extra) "
                    f"VALUES (%s, %s, %s, {_POINT}, %s)",
                    [(s.id, kind, s.name, s.lon, s.lat, Jsonb(s.extra)) for s in sites],
                )

    def _select_candidates(self, kind: str | None) -> list[CandidateSite]:
        if kind is None:
            rows = self._query(_CANDIDATE_SELECT + " ORDER BY id")
        else:
            rows = self._query(_CANDIDATE_SELECT + " WHERE kind = %s ORDER BY id", (kind,))
        return [
            CandidateSite(r["id"], r["kind"], r["name"], r["lon"], r["lat"], r["extra"])
            for r in rows
        ]

    # ---- accounts ----------------------------------------------------------------------
    def _select_users(self, tx: Any, name: str | None) -> list[tuple[User, str]]:
        return [
            (
                User(
                    r["name"],
                    r["role"],
                    tuple(r["areas"]),
                    r["disabled"],
                    _utc(r["created_at"]),
                    _utc(r["password_changed_at"]),
                ),
                r["password_hash"],
            )
            for r in self._query(_USER_SELECT, (name, name), tx)
        ]

    def _insert_user(self, tx: Any, user: User, password_hash: str) -> None:
        tx.execute(
            "INSERT INTO users (name, role, areas, password_hash, disabled, created_at, "
            "password_changed_at) VALUES (%s, %s, %s, %s, %s, %s, %s)",
            (
                user.name,
                user.role,
                Jsonb(list(user.areas)),
                password_hash,
                user.disabled,
                user.created_at,
                user.password_changed_at,
            ),
        )

    def _update_user(self, tx: Any, user: User, password_hash: str | None) -> None:
        tx.execute(
            "UPDATE users SET role = %s, areas = %s, disabled = %s, password_changed_at = %s, "
            "password_hash = COALESCE(%s, password_hash) WHERE name = %s",
            (
                user.role,
                Jsonb(list(user.areas)),
                user.disabled,
                user.password_changed_at,
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
            _TOKEN_SELECT, (owner, owner, token_id, token_id, token_hash, token_hash), tx
        )
        return [
            Token(
                r["id"],
                r["user_name"],
                r["label"],
                _utc(r["created_at"]),
                _utc(r["last_used_at"]),
                _utc(r["revoked_at"]),
            )
            for r in rows
        ]

    def _insert_token(
        self, tx: Any, owner: str, label: str, token_hash: str, at: dt.datetime
    ) -> int:
        row = tx.execute(
            "INSERT INTO api_tokens (user_name, label, token_hash, created_at) "
            "VALUES (%s, %s, %s, %s) RETURNING id",
            (owner, label, token_hash, at),
        ).fetchone()
        return int(row["id"])

    def _update_token(self, tx: Any, token: Token) -> None:
        tx.execute(
            "UPDATE api_tokens SET last_used_at = %s, revoked_at = %s WHERE id = %s",
            (token.last_used_at, token.revoked_at, token.id),
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
            "VALUES (%s, %s, %s, %s, %s)",
            (at, actor, action, target, Jsonb(dict(details))),
        )

    def _select_account_events(self, limit: int | None) -> list[AccountEvent]:
        rows = self._query(
            "SELECT seq, at, actor, action, target, details FROM account_events "
            "ORDER BY seq DESC LIMIT %s",
            (limit,),
        )
        return [
            AccountEvent(
                r["seq"], _utc(r["at"]), r["actor"], r["action"], r["target"], r["details"]
            )
            for r in rows
        ]

    # ---- drivers' reports ---------------------------------------------------------------
    def _insert_report(self, tx: Any, report: Report) -> int:
        # ST_MakePoint of NULLs is NULL: a report without a pin has none.
        row = tx.execute(
            "INSERT INTO reports (facility_id, category, text, amenity, pin, created_at, "
            "client_hash, status, reviewed_by, reviewed_at, review_note, city_code, "
            f"county_code) VALUES (%s, %s, %s, %s, {_POINT}, %s, %s, %s, %s, %s, %s, %s, %s) "
            "RETURNING id",
            (
                report.facility_id,
                report.category,
                report.text,
                report.amenity,
                report.lon,
                report.lat,
                report.created_at,
                report.client_hash,
                report.status,
                report.reviewed_by,
                report.reviewed_at,
                report.review_note,
                report.city_code,
                report.county_code,
            ),
        ).fetchone()
        return int(row["id"])

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
        params = {
            "id": report_id,
            "facility_id": facility_id,
            "status": status,
            "category": category,
            "since": since,
            "areas": list(areas) if areas is not None else None,
            "limit": limit,
        }
        return [report_from_row(r, _utc) for r in self._query(_REPORT_SELECT, params, tx)]

    def _update_review(self, tx: Any, report: Report) -> None:
        tx.execute(
            "UPDATE reports SET status = %s, reviewed_by = %s, reviewed_at = %s, "
            "review_note = %s WHERE id = %s",
            (report.status, report.reviewed_by, report.reviewed_at, report.review_note, report.id),
        )

    # ---- the road network ---------------------------------------------------------------
    def _replace_road_rows(
        self, tx: Any, info: RoadNetworkInfo, nodes: list[tuple], edges: list[tuple]
    ) -> None:
        tx.execute("TRUNCATE road_edges, road_nodes, road_network")
        west, south, east, north = info.extent
        tx.execute(
            "INSERT INTO road_network (one, name, source, attribution, profile, coarse, "
            "fingerprint, nodes, edges, total_km, west, south, east, north, loaded_at) "
            "VALUES (1, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (
                info.name,
                info.source,
                info.attribution,
                info.profile,
                info.coarse,
                info.fingerprint,
                info.nodes,
                info.edges,
                info.total_km,
                west,
                south,
                east,
                north,
                info.loaded_at,
            ),
        )
        at = {node_id: (lon, lat) for node_id, lon, lat in nodes}
        with tx.cursor() as cur:
            with cur.copy("COPY road_nodes (id, lon, lat) FROM STDIN") as copy:
                for row in nodes:
                    copy.write_row(row)
            columns = ", ".join(EDGE_COLUMNS)
            with cur.copy(f"COPY road_edges (id, {columns}, x1, y1, x2, y2) FROM STDIN") as copy:
                for row in edges:
                    copy.write_row((*row, *at[row[1]], *at[row[2]]))

    def _select_road_info(self) -> RoadNetworkInfo | None:
        rows = self._query("SELECT * FROM road_network")
        if not rows:
            return None
        return RoadNetworkInfo.from_row(rows[0], rows[0]["loaded_at"])

    def _select_road_rows(self) -> tuple[list[tuple], list[tuple]]:
        nodes = [
            (r["id"], r["lon"], r["lat"])
            for r in self._query("SELECT id, lon, lat FROM road_nodes")
        ]
        edges = [
            tuple(r[c] for c in ("id", *EDGE_COLUMNS))
            for r in self._query(f"SELECT id, {', '.join(EDGE_COLUMNS)} FROM road_edges")
        ]
        return nodes, edges
