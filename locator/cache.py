"""Results computed once: a bounded cache whose values are built by one caller while
the others wait for it (single flight), and a gate that lets only a few heavy builds
run at once in a process, so that a worker stays responsive while they run.

Framework-free: the web adapter and the library use the same types.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator, Mapping
from concurrent.futures import Future
from contextlib import contextmanager
from typing import Any, TypeVar

from .errors import Busy

T = TypeVar("T")


class WorkGate:
    """At most ``running`` heavy builds at once in this process; at most ``waiting``
    more queue for at most ``wait_s`` seconds, and any beyond are refused with
    :class:`~locator.errors.Busy` (so a worker's threads are never all held by them).

    A thread already inside the gate enters again freely (a plan that needs a
    coverage report builds it in the same slot).
    """

    def __init__(self, running: int = 1, waiting: int = 4, wait_s: float = 30.0):
        self.running = max(1, int(running))
        self.waiting = max(0, int(waiting))
        self.wait_s = float(wait_s)
        self._slots = threading.BoundedSemaphore(self.running)
        self._queue = threading.Lock()
        self._queued = 0
        self._inside = threading.local()

    @contextmanager
    def enter(self) -> Iterator[None]:
        """Hold a slot for the block; Busy if none frees up in time."""
        depth = getattr(self._inside, "depth", 0)
        if depth:
            self._inside.depth = depth + 1
            try:
                yield
            finally:
                self._inside.depth = depth
            return
        if not self._slots.acquire(blocking=False):
            with self._queue:
                if self._queued >= self.waiting:
                    raise Busy(
                        "the server is busy with other reports; try again shortly",
                        retry_after=int(self.wait_s),
                    )
                self._queued += 1
            try:
                got = self._slots.acquire(timeout=self.wait_s)
            finally:
                with self._queue:
                    self._queued -= 1
            if not got:
                raise Busy(
                    "the server is busy with other reports; try again shortly",
                    retry_after=int(self.wait_s),
                )
        self._inside.depth = 1
        try:
            yield
        finally:
            self._inside.depth = 0
            self._slots.release()


class ResultCache:
    """Values by ``(namespace, key)``, each namespace keeping its most recently used
    ``sizes[namespace]`` entries (``default_size`` otherwise).

    :meth:`get` builds a missing value once: concurrent callers asking for the same
    key wait for the first one's result (or its error, which is not kept). Nothing is
    built while the cache's lock is held, so other keys are served meanwhile.
    """

    def __init__(self, sizes: Mapping[str, int] | None = None, default_size: int = 32):
        self.sizes = dict(sizes or {})
        self.default_size = default_size
        self._lock = threading.Lock()
        self._entries: dict[str, OrderedDict[Hashable, Any]] = {}
        self._building: dict[tuple[str, Hashable], Future] = {}
        #: How many values were built (not served from the cache), per namespace.
        self.builds: dict[str, int] = {}

    def get(
        self, namespace: str, key: Hashable, build: Callable[[], T], gate: WorkGate | None = None
    ) -> T:
        """The value under ``(namespace, key)``, built by ``build`` (inside ``gate``,
        when given) if missing."""
        full = (namespace, key)
        with self._lock:
            entries = self._entries.setdefault(namespace, OrderedDict())
            if key in entries:
                entries.move_to_end(key)
                return entries[key]
            pending = self._building.get(full)
            if pending is None:
                pending = self._building[full] = Future()
                owner = True
            else:
                owner = False
        if not owner:
            return pending.result()
        try:
            if gate is None:
                value = build()
            else:
                with gate.enter():
                    value = build()
        except BaseException as exc:
            with self._lock:
                del self._building[full]
            pending.set_exception(exc)
            raise
        with self._lock:
            entries[key] = value
            entries.move_to_end(key)
            while len(entries) > self.sizes.get(namespace, self.default_size):
                entries.popitem(last=False)
            del self._building[full]
            self.builds[namespace] = self.builds.get(namespace, 0) + 1
        pending.set_result(value)
        return value

    def drop(self, namespace: str, keep: Callable[[Hashable], bool]) -> None:
        """Forget the namespace's entries whose key ``keep`` refuses (stale versions)."""
        with self._lock:
            entries = self._entries.get(namespace)
            if entries:
                for key in [k for k in entries if not keep(k)]:
                    del entries[key]

    def keys(self, namespace: str) -> list[Hashable]:
        """The namespace's keys, least recently used first."""
        with self._lock:
            return list(self._entries.get(namespace, ()))

    def __len__(self) -> int:
        with self._lock:
            return sum(len(entries) for entries in self._entries.values())
