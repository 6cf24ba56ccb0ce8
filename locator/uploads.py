"""Uploaded files kept between a comparison and its confirmation.

``/admin/import`` compares a file, shows the comparison and writes only when the user
confirms; the file waits here in between, for its owner only and for a limited time
(:data:`KEEP_MINUTES`). Every worker must find it whichever one answers the
confirmation: with Redis configured it lives there (with the same expiry), otherwise
in a directory on this machine, which serves the workers of one machine.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from .clock import Clock, system_clock, utc_now
from .errors import NotFound, StorageError
from .messages import Message

#: How long an upload waits for its confirmation.
KEEP_MINUTES = 60
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")


@dataclass(frozen=True)
class PendingUpload:
    """A file waiting for its owner to confirm what the comparison proposed."""

    token: str
    owner: str
    filename: str
    data: bytes
    options: dict[str, Any]
    created_at: dt.datetime


class PendingUploads(Protocol):
    def put(self, owner: str, filename: str, data: bytes, options: dict[str, Any]) -> str: ...

    def get(self, token: str, owner: str) -> PendingUpload: ...

    def discard(self, token: str) -> None: ...


def _expired(minutes: float) -> NotFound:
    return NotFound(Message("sync_expired", minutes=int(minutes)), field="upload")


def _meta(owner: str, filename: str, options: dict, at: dt.datetime) -> str:
    return json.dumps(
        {"owner": owner, "filename": filename, "options": options, "created_at": at.isoformat()},
        ensure_ascii=False,
    )


def _pending(token: str, meta: dict, data: bytes) -> PendingUpload:
    return PendingUpload(
        token=token,
        owner=meta["owner"],
        filename=meta["filename"],
        data=data,
        options=meta["options"],
        created_at=dt.datetime.fromisoformat(meta["created_at"]),
    )


class DirectoryUploads:
    """Pending uploads as files in one directory (the workers of one machine)."""

    def __init__(
        self, directory: str | os.PathLike, *, clock: Clock = system_clock, minutes: float = 0
    ) -> None:
        self.directory = Path(directory)
        self.clock = clock
        self.minutes = minutes or KEEP_MINUTES

    def put(self, owner: str, filename: str, data: bytes, options: dict[str, Any]) -> str:
        self.directory.mkdir(parents=True, exist_ok=True)
        self._sweep()
        token = secrets.token_urlsafe(24)
        for suffix, content in (
            (".bin", data),
            (".json", _meta(owner, filename, options, utc_now(self.clock)).encode()),
        ):
            partial = self.directory / f"{token}{suffix}.part"
            partial.write_bytes(content)
            os.replace(partial, self.directory / f"{token}{suffix}")
        return token

    def get(self, token: str, owner: str) -> PendingUpload:
        if not _TOKEN.match(token or ""):
            raise _expired(self.minutes)
        try:
            meta = json.loads((self.directory / f"{token}.json").read_text("utf-8"))
            data = (self.directory / f"{token}.bin").read_bytes()
        except (OSError, ValueError):
            raise _expired(self.minutes) from None
        found = _pending(token, meta, data)
        if found.owner != owner or self._too_old(found.created_at):
            raise _expired(self.minutes)
        return found

    def discard(self, token: str) -> None:
        if _TOKEN.match(token or ""):
            for suffix in (".bin", ".json"):
                (self.directory / f"{token}{suffix}").unlink(missing_ok=True)

    def _too_old(self, at: dt.datetime) -> bool:
        return utc_now(self.clock) - at > dt.timedelta(minutes=self.minutes)

    def _sweep(self) -> None:
        """Remove the uploads whose time is over."""
        for meta_path in self.directory.glob("*.json"):
            try:
                at = dt.datetime.fromisoformat(
                    json.loads(meta_path.read_text("utf-8"))["created_at"]
                )
            except (OSError, ValueError, KeyError):
                continue
            if self._too_old(at):
                self.discard(meta_path.stem)


class RedisUploads:
    """Pending uploads in Redis (every worker on every machine), expiring there."""

    PREFIX = "locator:upload:"

    def __init__(self, url: str, *, clock: Clock = system_clock, minutes: float = 0) -> None:
        import redis

        self.client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        self.clock = clock
        self.minutes = minutes or KEEP_MINUTES

    def put(self, owner: str, filename: str, data: bytes, options: dict[str, Any]) -> str:
        token = secrets.token_urlsafe(24)
        key = self.PREFIX + token
        meta = _meta(owner, filename, options, utc_now(self.clock))
        try:
            self.client.hset(key, mapping={"meta": meta.encode(), "data": data})
            self.client.expire(key, int(self.minutes * 60))
        except self._errors() as exc:
            raise StorageError(f"the shared store is unavailable: {type(exc).__name__}") from None
        return token

    def get(self, token: str, owner: str) -> PendingUpload:
        if not _TOKEN.match(token or ""):
            raise _expired(self.minutes)
        try:
            found = self.client.hgetall(self.PREFIX + token)
        except self._errors() as exc:
            raise StorageError(f"the shared store is unavailable: {type(exc).__name__}") from None
        if not found:
            raise _expired(self.minutes)
        upload = _pending(token, json.loads(found[b"meta"]), found[b"data"])
        if upload.owner != owner:
            raise _expired(self.minutes)
        return upload

    def discard(self, token: str) -> None:
        if _TOKEN.match(token or ""):
            try:
                self.client.delete(self.PREFIX + token)
            except self._errors():
                pass  # it expires anyway

    @staticmethod
    def _errors() -> tuple[type[Exception], ...]:
        import redis

        return (redis.RedisError, OSError)


def open_uploads(
    redis_url: str, directory: str | os.PathLike, *, clock: Clock = system_clock, minutes: float = 0
) -> PendingUploads:
    """Redis when ``redis_url`` is set, else ``directory``."""
    if redis_url:
        return RedisUploads(redis_url, clock=clock, minutes=minutes)
    return DirectoryUploads(directory, clock=clock, minutes=minutes)
