"""Results computed once and heavy work let in a few at a time: the cache and the gate on
their own, then in the app under concurrent requests on a real socket."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

from locator.cache import ResultCache, WorkGate
from locator.errors import Busy
from tests.web_fixtures import LiveServer, close_app, make_app


# ---- the cache ------------------------------------------------------------------------------
def test_concurrent_callers_of_one_key_share_one_build():
    cache = ResultCache()
    calls = []
    started = threading.Barrier(8)

    def build():
        calls.append(threading.get_ident())
        time.sleep(0.2)
        return object()

    def ask():
        started.wait()
        return cache.get("report", ("v1", 5.0), build)

    with ThreadPoolExecutor(8) as pool:
        values = list(pool.map(lambda _: ask(), range(8)))
    assert len(calls) == 1
    assert all(v is values[0] for v in values)
    assert cache.builds == {"report": 1}
    assert cache.get("report", ("v1", 5.0), build) is values[0] and len(calls) == 1


def test_a_failed_build_reaches_every_waiter_and_is_not_kept():
    cache = ResultCache()
    attempts = []
    barrier = threading.Barrier(4)

    def failing():
        attempts.append(1)
        time.sleep(0.1)
        raise ValueError("bad area")

    def ask():
        barrier.wait()
        with pytest.raises(ValueError, match="bad area"):
            cache.get("report", "k", failing)

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda _: ask(), range(4)))
    assert len(attempts) == 1 and len(cache) == 0
    assert cache.get("report", "k", lambda: 42) == 42  # the next caller builds again


def test_each_namespace_keeps_its_most_recent_entries():
    cache = ResultCache({"small": 2}, default_size=3)
    for i in range(5):
        cache.get("small", i, lambda i=i: i)
        cache.get("other", i, lambda i=i: i)
    assert cache.keys("small") == [3, 4] and cache.keys("other") == [2, 3, 4]
    cache.get("small", 3, lambda: "not built")  # a hit moves it to the end
    assert cache.keys("small") == [4, 3]
    cache.drop("other", keep=lambda key: key >= 3)
    assert cache.keys("other") == [3, 4]


def test_other_keys_are_served_while_one_builds():
    cache = ResultCache()
    release = threading.Event()
    with ThreadPoolExecutor(1) as pool:
        slow = pool.submit(cache.get, "report", "slow", lambda: release.wait(5) and "slow")
        while not cache._building:
            time.sleep(0.001)
        assert cache.get("report", "fast", lambda: "fast") == "fast"
        release.set()
        assert slow.result() == "slow"


# ---- the gate -------------------------------------------------------------------------------
def test_the_gate_queues_a_few_and_refuses_the_rest():
    gate = WorkGate(running=1, waiting=1, wait_s=5)
    inside, release = threading.Event(), threading.Event()

    def hold():
        with gate.enter():
            inside.set()
            release.wait(5)
        return "held"

    def queued():
        with gate.enter():
            return "queued"

    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(hold)
        inside.wait(5)
        second = pool.submit(queued)
        while gate._queued == 0:
            time.sleep(0.001)
        with pytest.raises(Busy) as info:  # one running, one waiting: no room
            with gate.enter():
                pass
        assert info.value.status == 503 and info.value.retry_after == 5
        release.set()
        assert (first.result(), second.result()) == ("held", "queued")


def test_a_wait_past_its_time_is_refused_and_nested_entries_pass():
    gate = WorkGate(running=1, waiting=2, wait_s=0.05)
    with gate.enter():
        with gate.enter():  # the same thread, already inside
            pass
        with ThreadPoolExecutor(1) as pool:
            waited = pool.submit(lambda: gate.enter().__enter__())
            with pytest.raises(Busy):
                waited.result()
    with gate.enter():
        pass  # the slot is free again


# ---- in the app -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def url(shipped_sqlite_url):
    return shipped_sqlite_url


def _get(url: str) -> tuple[int, dict, float]:
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(url, timeout=120) as response:
            return response.status, json.loads(response.read()), time.perf_counter() - started
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read()), time.perf_counter() - started


def test_eight_identical_uncached_requests_compute_once_and_nearest_stays_quick(url):
    app = make_app(url)
    results = app.extensions["locator"].results
    try:
        with LiveServer(app) as live:
            assert _get(f"{live.url}/api/v1/nearest?lon=117.23&lat=31.82")[0] == 200
            before = results.builds.get("planner-coverage", 0)
            coverage = f"{live.url}/api/v1/coverage/summary?radius_km=7.3"
            with ThreadPoolExecutor(8) as pool:
                answers = [pool.submit(_get, coverage) for _ in range(8)]
                nearest = []
                while not all(a.done() for a in answers):
                    nearest.append(_get(f"{live.url}/api/v1/nearest?lon=117.3&lat=31.9&k=5"))
                bodies = [a.result() for a in answers]
        assert {status for status, _, _ in bodies} == {200}
        assert all(body == bodies[0][1] for _, body, _ in bodies)
        assert bodies[0][1]["total"]["townships"] > 1000
        assert results.builds["planner-coverage"] == before + 1  # computed once
        assert nearest and all(status == 200 for status, _, _ in nearest)
        assert max(seconds for _, _, seconds in nearest) < 1.0
    finally:
        close_app(app)


def test_heavy_requests_past_the_queue_get_503_with_retry_after(url):
    app = make_app(url, heavy_requests=1, heavy_queue=0)
    results = app.extensions["locator"].results
    try:
        with LiveServer(app) as live:
            with ThreadPoolExecutor(1) as pool:
                first = pool.submit(_get, f"{live.url}/api/v1/coverage/summary?radius_km=6.1")
                while not results._building and not first.done():
                    time.sleep(0.001)
                request = urllib.request.Request(
                    f"{live.url}/api/v1/coverage/summary?radius_km=6.2"
                )
                with pytest.raises(urllib.error.HTTPError) as info:
                    urllib.request.urlopen(request, timeout=60)
                assert first.result()[0] == 200
        assert info.value.code == 503
        assert info.value.headers["Retry-After"] == "60"
        assert json.loads(info.value.read())["error"]["code"] == "busy"
        info.value.close()
    finally:
        close_app(app)
