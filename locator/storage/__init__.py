"""Storage backends behind one interface; :func:`open_storage` picks one by URL."""

from __future__ import annotations

from ..clock import Clock, system_clock
from .base import HistoryEntry, Storage, WriteResult

__all__ = ["HistoryEntry", "Storage", "WriteResult", "open_storage"]


def open_storage(url: str, *, init: bool = False, clock: Clock = system_clock) -> Storage:
    """Open the database at ``url`` (``sqlite:///file.db`` or ``postgresql://...``).

    The PostGIS driver is imported only when a PostgreSQL URL is given. Writes record
    the time of ``clock``.
    """
    if url.startswith(("postgresql://", "postgres://", "postgresql+psycopg://")):
        try:
            from .postgis import PostGISStorage
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise ImportError(
                "PostgreSQL storage needs psycopg: pip install 'locator[postgis]'"
            ) from exc
        storage: Storage = PostGISStorage(url, clock=clock)
    else:
        from .sqlite import SQLiteStorage

        storage = SQLiteStorage(url, clock=clock)
    if init:
        storage.init_schema()
    return storage
