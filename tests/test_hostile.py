"""Hostile requests against a real server process (``locator serve`` on the shipped data):
each is refused (or answered) quickly with the error shape naming the parameter, never a
500, and the server's peak memory stays bounded.

The time bounds here are loose guards against work that is unbounded (these requests
took from 36 s to minutes, and gigabytes, before they were bounded), not speed figures;
``bench/hostile.py`` measures.
"""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pyproj
import pytest
from shapely.geometry import LineString, Point

from tests.service_area_reference import place_of
from tests.web_fixtures import raw_sites

#: Loose upper bound on the server time of a refused request (seconds).
QUICK_S = 5.0


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


class Server:
    """``locator serve`` in a process of its own, and raw HTTP requests to it."""

    def __init__(self, url: str, env: dict[str, str] | None = None):
        self.port = _free_port()
        command = [
            str(Path(sys.executable).parent / "locator"),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
        ]
        self.process = subprocess.Popen(
            command,
            env={**os.environ, "LOCATOR_DATABASE_URL": url, "LOCATOR_TILES": "none", **(env or {})},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                self.request("GET", "/api/v1/facilities?limit=1")
                return
            except OSError:
                time.sleep(0.2)
        self.process.kill()
        self.process.wait()
        raise AssertionError(self.process.stderr.read().decode()[-2000:])

    def request(
        self, method: str, path: str, body=None, headers: dict | None = None, chunked: bool = False
    ):
        """(status, headers, body bytes, seconds) of one request."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        started = time.perf_counter()
        try:
            conn.request(method, path, body=body, headers=headers or {}, encode_chunked=chunked)
            response = conn.getresponse()
            data = response.read()
        finally:
            conn.close()
        return response.status, dict(response.getheaders()), data, time.perf_counter() - started

    def post_json(self, path: str, body, **kwargs):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        return self.request("POST", path, data, {"Content-Type": "application/json"}, **kwargs)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process.stderr.close()


@pytest.fixture(scope="module")
def server(shipped_sqlite_url):
    running = Server(shipped_sqlite_url)
    try:
        # Warm up: the catalog, the planning data and a small coverage report are loaded.
        assert running.request("GET", "/api/v1/nearest?lon=117.23&lat=31.82")[0] == 200
        path = "/api/v1/coverage/summary?county=" + quote("肥东县")
        assert running.request("GET", path)[0] == 200
        running.baseline_mb = _rss_mb(running.process.pid)
        yield running
    finally:
        running.stop()


def _error(data: bytes) -> dict:
    return json.loads(data)["error"]


def _zigzag(n: int = 5000) -> list[list[float]]:
    """A route zig-zagging across China: millions of kilometres."""
    return [[73.5 + 61 * (i % 2), 18.5 + 34.5 * i / n] for i in range(n)]


HOSTILE = [
    pytest.param(
        "/api/v1/along-route",
        {"route": _zigzag(), "buffer_km": 50},
        400,
        "route",
        id="zigzag-route",
    ),
    pytest.param(
        "/api/v1/along-route",  # 3,600 km back and forth across Anhui
        {"route": [[116.0, 31.0], [119.0, 33.0]] * 5 + [[116.0, 31.0]], "buffer_km": 50},
        400,
        "buffer_km",
        id="wide-corridor",
    ),
    pytest.param(
        "/api/v1/plan",
        {"sites": 500, "demand": "grid", "candidates": "grid", "method": "exact", "resolution": 8},
        413,
        "resolution",
        id="exact-plan-res-8",
    ),
    pytest.param(
        "/api/v1/plan",
        {"sites": 500, "demand": "grid", "candidates": "grid", "method": "exact", "resolution": 6},
        413,
        "method",
        id="exact-plan-res-6",
    ),
    pytest.param(
        "/api/v1/plan",
        {"sites": 5, "demand": "grid", "candidates": "grid", "resolution": 8},
        413,
        "resolution",
        id="auto-plan-res-8",
    ),
]


@pytest.mark.parametrize("path, body, status, field", HOSTILE)
def test_expensive_requests_are_refused_before_the_work(server, path, body, status, field):
    got, headers, data, seconds = server.post_json(path, body)
    assert (got, _error(data)["field"]) == (status, field), data[:300]
    assert headers["Content-Type"] == "application/json"
    assert seconds < QUICK_S


def test_a_tiny_buffer_on_a_long_route_is_answered_quickly(server):
    status, _, data, seconds = server.post_json(
        "/api/v1/along-route", {"route": [[73.5, 18.5], [134.5, 53]], "buffer_km": 0.001}
    )
    assert status == 200
    assert json.loads(data)["features"] == []  # the line crosses no station within 1 m
    assert seconds < QUICK_S


def test_a_route_through_anhui_still_finds_stations_in_order(server):
    line = [[116.5, 31.5], [117.5, 32.0], [118.3, 31.3]]
    # By default places to stop: of the shipped data, the service areas near the route,
    # a pair of carriageway sides once. With kind=any, the logistics parks too.
    utm = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:32650", always_xy=True)
    route = LineString([utm.transform(lon, lat) for lon, lat in line])

    def places_within(metres, kinds):
        return {
            place_of().get(fid, (fid,))
            for fid, (kind, _name, lon, lat) in raw_sites().items()
            if kind in kinds and route.distance(Point(utm.transform(lon, lat))) <= metres
        }

    for extra, kinds in (
        ({}, {"service_area"}),
        ({"kind": "any"}, {"service_area", "logistics_park"}),
    ):
        status, _, data, _ = server.post_json(
            "/api/v1/along-route", {"route": line, "buffer_km": 5, **extra}
        )
        features = json.loads(data)["features"]
        along = [f["properties"]["distance_along_m"] for f in features]
        assert status == 200 and along == sorted(along)
        assert all(f["properties"]["offset_m"] <= 5000 for f in features)
        found = [place_of().get(f["id"], (f["id"],)) for f in features]
        assert found and len(found) == len(set(found))  # no service area twice
        # The projection and the sphere differ by metres: compare with a margin.
        assert places_within(4950, kinds) <= set(found) <= places_within(5050, kinds)
        assert {f["properties"]["kind"] for f in features} <= kinds
    assert len(features) > 10
    assert "logistics_park" in {f["properties"]["kind"] for f in features}


def test_a_bare_grid_request_lists_a_bounded_grid(server):
    status, _, data, seconds = server.request("GET", "/api/v1/coverage/grid")
    body = json.loads(data)
    assert status == 200 and 0 < len(body["features"]) <= 10_000
    assert body["summary"]["resolution"] <= 6
    assert len(data) < 8_000_000
    status, _, data, _ = server.request("GET", "/api/v1/coverage/grid?resolution=8")
    assert (status, _error(data)["field"]) == (413, "resolution")
    status, _, data, _ = server.request("GET", "/api/v1/coverage/grid?resolution=7&blind_only=true")
    assert status == 200 and json.loads(data)["blind_only"] is True


@pytest.mark.parametrize("depth", [40, 2000, 100_000])
def test_deeply_nested_json_is_a_400(server, depth):
    body = ('{"sites": 5, "what_if": ' + "[" * depth + "]" * depth + "}").encode()
    for path in ("/api/v1/plan", "/api/v1/along-route"):
        status, _, data, _ = server.post_json(path, body)
        assert (status, _error(data)["field"]) == (400, "body"), data[:300]
        assert "nested" in _error(data)["message"]


def test_chunked_bodies_meet_the_same_limit(server):
    big = json.dumps({"route": [[117.0 + i * 1e-7, 31.8] for i in range(60_000)]}).encode()
    assert len(big) > 1_000_000

    def chunks():
        for start in range(0, len(big), 65536):
            yield big[start : start + 65536]

    status, _, data, _ = server.request(
        "POST", "/api/v1/along-route", chunks(), {"Content-Type": "application/json"}, chunked=True
    )
    assert (status, _error(data)["code"]) == (413, "payload_too_large")
    status, _, data, _ = server.post_json("/api/v1/along-route", big)
    assert (status, _error(data)["code"]) == (413, "payload_too_large")
    small = json.dumps({"route": [[117.2, 31.8], [117.3, 31.9]], "buffer_km": 5}).encode()
    status, _, data, _ = server.request(
        "POST",
        "/api/v1/along-route",
        iter([small]),
        {"Content-Type": "application/json"},
        chunked=True,
    )
    assert status == 200 and json.loads(data)["type"] == "FeatureCollection"


def test_the_server_names_no_software(server):
    _, headers, _, _ = server.request("GET", "/")
    assert headers["Server"] == "locator"


def test_a_foreign_host_is_refused(server):
    for path in (
        "/",
        "/api/v1/nearest?lon=117.23&lat=31.82",
        "/f/x/qr.svg",
        "/api/v1/facilities?limit=1",
        "/oembed?url=http://evil.example/",
    ):
        status, _, data, _ = server.request("GET", path, headers={"Host": "evil.example"})
        assert status == 400, path
        assert b"evil.example" not in data


def test_memory_stays_bounded_through_the_hostile_requests(server):
    """Runs last in the module: the peak over all the requests above."""
    peak = _peak_rss_mb(server.process.pid)
    assert peak - server.baseline_mb < 400, (server.baseline_mb, peak)


def test_debug_is_refused_off_this_machine(shipped_sqlite_url):
    result = subprocess.run(
        [str(Path(sys.executable).parent / "locator"), "serve", "--host", "0.0.0.0", "--debug"],
        env={**os.environ, "LOCATOR_DATABASE_URL": shipped_sqlite_url},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "127.0.0.1" in result.stderr and "debug" in result.stderr
