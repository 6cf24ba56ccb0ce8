"""Benchmark: K-nearest search in process and ``/api/v1/nearest`` over HTTP under gunicorn.

Run: ``.venv/bin/python bench/nearest.py`` (about 1.5-2 minutes), or ``--quick``
(about 30 s). ``--json FILE`` also writes the figures as JSON; ``--help`` lists the
sizes, durations and server settings.

(a) In process: p50/p99 latency of ``NearestIndex.nearest(lon, lat, k=5)`` (default
    filter: open facilities), timed one query at a time with ``time.perf_counter_ns``
    after a warm-up, over the shipped catalog and synthetic facilities spread uniformly
    over China; each against a brute-force haversine scan in numpy over the same
    facilities in the same run. A sample of other queries checks that both give the same
    ids and distances. Exit status 1 if they differ or a nearest answer is not 2xx.
(b) Over HTTP: ``wrk --latency`` against ``/api/v1/nearest`` of the real app and against a
    trivial Flask endpoint, both served by the same gunicorn settings on 127.0.0.1, run
    alternately (trivial, nearest, trivial, nearest...); the medians are reported, with
    the servers' CPU time per request (from /proc), which other jobs disturb far less.
    The real app is ``create_app()`` as production serves it: its hot path
    (``locator/web/hotpath.py``) answers plain GETs of ``/api/v1/nearest``, with or
    without gzip, and Flask everything else.

The machines are shared and noisy: read the ratios against the baselines of the same
run rather than the absolute figures. Needs ``wrk`` (``apt-get install wrk``).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from locator.crs import EARTH_RADIUS_M  # noqa: E402
from locator.geodata import load_default_data  # noqa: E402
from locator.model import AMENITIES, Facility  # noqa: E402
from locator.nearest import NearestIndex  # noqa: E402
from locator.storage import open_storage  # noqa: E402

K = 5
CHINA = (73.5, 18.0, 135.0, 53.5)  # west, south, east, north
ANHUI = (114.8, 29.4, 119.7, 34.7)
TARGET_P50_US = 50.0
TARGET_HTTP_RATIO = 0.70

# A plausible mix: union service points and stations dominate, ~90% open.
KIND_MIX = {
    "service_point": 40,
    "service_station": 20,
    "driver_home": 10,
    "service_area": 12,
    "logistics_park": 10,
    "legal_aid": 4,
    "other": 4,
}
STATUS_MIX = {"open": 90, "under_construction": 5, "planned": 3, "closed": 2}
HOURS_MIX = ("24/7", "Mo-Su 08:00-20:00", "Mo-Fr 08:30-17:30")


# ---- data ------------------------------------------------------------------------------
def real_catalog(db_path: Path) -> list[Facility]:
    """The shipped data loaded into a fresh SQLite file, as the app reads it."""
    with open_storage(f"sqlite:///{db_path}", init=True) as storage:
        load_default_data(storage, ROOT / "geodata")
        return storage.facilities()


def synthetic(n: int, seed: int = 1, hours_share: float = 0.0) -> list[Facility]:
    """``n`` facilities uniform over China's bounding box with a realistic kind/status mix."""
    rng = np.random.default_rng(seed)
    w, s, e, north = CHINA
    lon = rng.uniform(w, e, n).tolist()
    lat = rng.uniform(s, north, n).tolist()
    kinds = list(KIND_MIX)
    kind = rng.choice(len(kinds), n, p=np.array(list(KIND_MIX.values())) / 100).tolist()
    statuses = list(STATUS_MIX)
    status = rng.choice(len(statuses), n, p=np.array(list(STATUS_MIX.values())) / 100).tolist()
    # A few hundred amenity sets and parking sizes, shared between facilities.
    names = list(AMENITIES)
    sets = [
        frozenset(rng.choice(names, rng.integers(0, 6), replace=False).tolist()) for _ in range(256)
    ]
    amenity = rng.integers(0, len(sets), n).tolist()
    parking = rng.integers(-1, 60, n).tolist()
    hours = (rng.random(n) < hours_share).tolist()
    hours_pick = rng.integers(0, len(HOURS_MIX), n).tolist()
    return [
        Facility(
            f"syn:{i}",
            "站点",
            kinds[kind[i]],
            lon[i],
            lat[i],
            status=statuses[status[i]],
            amenities=sets[amenity[i]],
            truck_parking_spaces=parking[i] if parking[i] >= 0 else None,
            hours=HOURS_MIX[hours_pick[i]] if hours[i] else None,
        )
        for i in range(n)
    ]


def query_points(n: int, bbox=CHINA, seed: int = 7) -> list[tuple[float, float]]:
    rng = np.random.default_rng(seed)
    w, s, e, north = bbox
    return list(zip(rng.uniform(w, e, n).tolist(), rng.uniform(s, north, n).tolist(), strict=True))


class BruteForce:
    """Haversine distance to every open facility in numpy; k smallest, ties by id."""

    def __init__(self, facilities: list[Facility]):
        open_ = [f for f in facilities if f.status == "open"]
        self.lon = np.radians(np.fromiter((f.lon for f in open_), float, len(open_)))
        self.lat = np.radians(np.fromiter((f.lat for f in open_), float, len(open_)))
        self.cos_lat = np.cos(self.lat)
        self.ids = np.array([f.id for f in open_])

    def nearest(self, lon: float, lat: float, k: int = K) -> tuple[list[str], np.ndarray]:
        lon_r, lat_r = math.radians(lon), math.radians(lat)
        a = (
            np.sin((self.lat - lat_r) / 2) ** 2
            + math.cos(lat_r) * self.cos_lat * np.sin((self.lon - lon_r) / 2) ** 2
        )
        d = 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.minimum(a, 1.0)))
        if len(d) > k:
            kth = np.partition(d, k - 1)[k - 1]
            cand = np.flatnonzero(d <= kth)
        else:
            cand = np.arange(len(d))
        order = cand[np.lexsort((self.ids[cand], d[cand]))][:k]
        return self.ids[order].tolist(), d[order]


# ---- (a) in process --------------------------------------------------------------------
def latencies_us(fn, points, warmup: int) -> np.ndarray:
    """Microseconds of ``fn(lon, lat)`` per point, one call at a time after a warm-up."""
    for lon, lat in points[:warmup]:
        fn(lon, lat)
    clock = time.perf_counter_ns
    out = np.empty(len(points))
    for i, (lon, lat) in enumerate(points):
        start = clock()
        fn(lon, lat)
        out[i] = clock() - start
    return out / 1000.0


def pct(values, q: float) -> float:
    return float(np.percentile(values, q))


def bench_in_process(name: str, facilities: list[Facility], args) -> dict:
    start = time.perf_counter()
    index = NearestIndex(facilities)
    build_s = time.perf_counter() - start
    brute = BruteForce(facilities)
    n = len(facilities)

    points = query_points(args.queries, seed=11)
    # The scan costs ~30 ms a query at 1,000,000: fewer brute-force queries there.
    brute_count = (
        args.brute_queries
        if n >= 1_000_000
        else min(args.queries, 1000)
        if n > 10_000
        else args.queries
    )
    brute_points = points[:brute_count]
    fast = latencies_us(lambda lon, lat: index.nearest(lon, lat, K), points, args.warmup)
    slow = latencies_us(brute.nearest, brute_points, min(args.warmup, 20))

    checks = query_points(args.verify, seed=23)
    equal = 0
    for lon, lat in checks:
        hits = index.nearest(lon, lat, K)
        ids, dist = brute.nearest(lon, lat, K)
        if [h.facility.id for h in hits] == ids and np.allclose(
            [h.distance_m for h in hits], dist, rtol=1e-9, atol=1e-3
        ):
            equal += 1
    row = {
        "name": name,
        "facilities": n,
        "build_s": build_s,
        "index_p50_us": pct(fast, 50),
        "index_p99_us": pct(fast, 99),
        "index_queries": len(points),
        "brute_p50_us": pct(slow, 50),
        "brute_p99_us": pct(slow, 99),
        "brute_queries": len(brute_points),
        "verified": len(checks),
        "equal": equal,
    }
    row["speedup_p50"] = row["brute_p50_us"] / row["index_p50_us"]
    return row


def print_in_process(row: dict) -> None:
    print(
        f"  {row['name']:<24} {row['facilities']:>9,}  build {row['build_s']:6.2f} s  "
        f"index p50 {row['index_p50_us']:7.1f} µs  p99 {row['index_p99_us']:7.1f} µs  | "
        f"brute p50 {row['brute_p50_us']:9.1f} µs  p99 {row['brute_p99_us']:9.1f} µs  "
        f"({row['brute_queries']} q)  | brute/index {row['speedup_p50']:7.1f}x  "
        f"| equal {row['equal']}/{row['verified']}"
    )


# ---- (b) HTTP --------------------------------------------------------------------------
PING_APP = """\
from flask import Flask, jsonify

app = Flask(__name__)


@app.get("/ping")
def ping():
    return jsonify({"status": "ok"})
"""

LOCATOR_APP = """\
import sys

sys.path.insert(0, {root!r})
from locator.web import create_app  # noqa: E402

app = create_app({{"database_url": {url!r}, "tiles": "none"}})
# Build the catalog and the K-nearest index now, not on the first measured request.
assert app.test_client().get("/api/v1/nearest?lon=117.2&lat=31.8&k=5").status_code == 200
"""

WRK_SCRIPT = """\
local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
end
function init(args)
  math.randomseed(os.time() * 100 + id)
end
{headers}request = function()
  local lon = {w} + math.random() * {dw}
  local lat = {s} + math.random() * {ds}
  return wrk.format("GET", string.format("{path}?lon=%.5f&lat=%.5f&k={k}", lon, lat))
end
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


_LOCAL = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via a proxy


def get(url: str, timeout: float = 5.0) -> tuple[int, bytes]:
    with _LOCAL.open(url, timeout=timeout) as response:
        return response.status, response.read()


class Server:
    """A gunicorn master on 127.0.0.1, stopped (by its own pid) on :meth:`stop`."""

    def __init__(self, module: str, workdir: Path, args, probe: str):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = workdir / f"{module}.log"
        cmd = [
            str(Path(sys.executable).with_name("gunicorn")),
            f"{module}:app",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            str(args.workers),
            "--worker-class",
            args.worker_class,
            "--chdir",
            str(workdir),
            "--log-level",
            "warning",
            "--timeout",
            "60",
            "--graceful-timeout",
            "5",
        ]
        if args.worker_class == "gthread":
            cmd += ["--threads", str(args.threads)]
        self.proc = subprocess.Popen(
            cmd, stdout=self.log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                if get(self.base + probe)[0] == 200:
                    return
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(
                    f"gunicorn {module} did not start; log:\n"
                    + self.log.read_text(errors="replace")[-3000:]
                )
            time.sleep(0.2)

    def cpu_seconds(self) -> float:
        """User + system CPU seconds used so far by the master and its workers (Linux)."""
        pids = [self.proc.pid]
        try:
            children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
            pids += [int(p) for p in children.read_text().split()]
        except OSError:
            return math.nan
        total = 0
        for pid in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # a worker that just exited
            total += int(fields[11]) + int(fields[12])  # utime, stime
        return total / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


_UNITS = {"us": 1.0, "ms": 1e3, "s": 1e6}


def _us(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()
    return float(number) * _UNITS[unit]


def run_wrk(url: str, script: Path, args, duration: float) -> dict:
    cmd = [
        "wrk",
        "-t",
        str(args.wrk_threads),
        "-c",
        str(args.connections),
        "-d",
        f"{duration:g}s",
        "--timeout",
        "10s",
        "--latency",
        "-s",
        str(script),
        url,
    ]
    out = subprocess.run(
        cmd, capture_output=True, text=True, check=True, timeout=duration + 60
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    lat = dict(re.findall(r"^\s+(50|99)%\s+(\S+)$", out, re.M))
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors:.*", out)
    return {
        "rps": rps,
        "p50_us": _us(lat["50"]),
        "p99_us": _us(lat["99"]),
        "requests": int(re.search(r"(\d+) requests in", out).group(1)),
        "non_2xx": int(non2xx.group(1)) if non2xx else 0,
        "socket_errors": errors.group(0) if errors else None,
    }


def bench_http(db_path: Path, workdir: Path, args) -> dict:
    (workdir / "bench_ping_app.py").write_text(PING_APP)
    (workdir / "bench_locator_app.py").write_text(
        LOCATOR_APP.format(root=str(ROOT), url=f"sqlite:///{db_path}")
    )
    w, s, e, north = ANHUI
    scripts = {}
    for name, path in (("trivial", "/ping"), ("nearest", "/api/v1/nearest")):
        scripts[name] = workdir / f"{name}.lua"
        headers = (
            f'wrk.headers["Accept-Encoding"] = "{args.accept_encoding}"\n'
            if args.accept_encoding
            else ""
        )
        scripts[name].write_text(
            WRK_SCRIPT.format(w=w, s=s, dw=e - w, ds=north - s, path=path, k=K, headers=headers)
        )
    servers: dict[str, Server] = {}
    try:
        servers["trivial"] = Server("bench_ping_app", workdir, args, "/ping")
        servers["nearest"] = Server(
            "bench_locator_app", workdir, args, "/api/v1/nearest?lon=117.2&lat=31.8&k=5"
        )
        # The real thing answers: 200, GeoJSON with K features, for a few points.
        for lon, lat in query_points(20, ANHUI, seed=3):
            status, body = get(
                f"{servers['nearest'].base}/api/v1/nearest?lon={lon:.5f}&lat={lat:.5f}&k={K}"
            )
            features = json.loads(body).get("features")
            if status != 200 or not features or len(features) != K:
                raise RuntimeError(f"unexpected /api/v1/nearest answer: {status} {body[:200]!r}")
        for name in ("trivial", "nearest"):  # warm both (imports, caches, both workers)
            run_wrk(servers[name].base, scripts[name], args, min(2.0, args.duration))
        runs: dict[str, list[dict]] = {"trivial": [], "nearest": []}
        for _ in range(args.rounds):
            for name in ("trivial", "nearest"):
                cpu = servers[name].cpu_seconds()
                result = run_wrk(servers[name].base, scripts[name], args, args.duration)
                cpu = servers[name].cpu_seconds() - cpu
                result["server_cpu_us_per_request"] = cpu * 1e6 / max(result["requests"], 1)
                runs[name].append(result)
                print(
                    f"    {name:<8} {result['rps']:8.0f} req/s  p50 "
                    f"{result['p50_us'] / 1e3:6.2f} ms  p99 {result['p99_us'] / 1e3:6.2f} ms  "
                    f"server CPU {result['server_cpu_us_per_request']:5.0f} µs/request"
                    + (f"  non-2xx {result['non_2xx']}" if result["non_2xx"] else "")
                    + (f"  {result['socket_errors']}" if result["socket_errors"] else ""),
                    flush=True,
                )
    finally:
        for server in servers.values():
            server.stop()
    summary = {
        name: {
            key: statistics.median(r[key] for r in rs)
            for key in ("rps", "p50_us", "p99_us", "server_cpu_us_per_request")
        }
        for name, rs in runs.items()
    }
    summary["ratio"] = summary["nearest"]["rps"] / summary["trivial"]["rps"]
    summary["round_ratios"] = [
        n["rps"] / t["rps"] for t, n in zip(runs["trivial"], runs["nearest"], strict=True)
    ]
    summary["cpu_ratio"] = (
        summary["trivial"]["server_cpu_us_per_request"]
        / summary["nearest"]["server_cpu_us_per_request"]
    )
    summary["non_2xx_nearest"] = sum(r["non_2xx"] for r in runs["nearest"])
    summary["runs"] = runs
    return summary


# ---- main ------------------------------------------------------------------------------
def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="a short run (smaller counts)")
    parser.add_argument(
        "--sizes", default=None, help="synthetic sizes, comma-separated (default 100000,1000000)"
    )
    parser.add_argument(
        "--queries",
        type=int,
        default=None,
        help="timed query points per data set (default 3000; quick 500)",
    )
    parser.add_argument(
        "--brute-queries",
        type=int,
        default=None,
        help="brute-force queries at 1,000,000 and more (default 200)",
    )
    parser.add_argument("--warmup", type=int, default=200, help="untimed queries first")
    parser.add_argument(
        "--verify", type=int, default=200, help="queries whose ids are compared with brute force"
    )
    parser.add_argument(
        "--hours-share",
        type=float,
        default=0.0,
        help="share of synthetic facilities with opening hours (default 0, as in the shipped data)",
    )
    parser.add_argument(
        "--duration", type=float, default=None, help="seconds per wrk run (default 6; quick 3)"
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=None,
        help="alternating trivial/nearest rounds (default 5; quick 2)",
    )
    parser.add_argument("--connections", type=int, default=16, help="wrk connections")
    parser.add_argument("--wrk-threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument(
        "--worker-class",
        default="gthread",
        choices=["gthread", "sync"],
        help="gunicorn worker class (default gthread: keeps connections "
        "alive; sync closes one per request)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=2,
        help="threads per gthread worker (default 2: 4 and 8 were no faster on 2 cores)",
    )
    parser.add_argument(
        "--accept-encoding",
        default=None,
        help="send this Accept-Encoding (e.g. gzip) to both endpoints, as "
        "browsers do; the app then gzips nearest answers (> 1 KB)",
    )
    parser.add_argument("--skip-http", action="store_true", help="only the in-process part")
    parser.add_argument("--json", type=Path, default=None, help="also write figures here")
    args = parser.parse_args()
    quick = args.quick
    sizes_text = "100000,1000000" if args.sizes is None else args.sizes
    sizes = [int(x) for x in sizes_text.split(",") if x.strip()]
    args.queries = args.queries or (500 if quick else 3000)
    args.brute_queries = args.brute_queries or (50 if quick else 200)
    args.verify = min(args.verify, 50) if quick else args.verify
    args.duration = args.duration or (3.0 if quick else 6.0)
    args.rounds = args.rounds or (2 if quick else 5)

    if not args.skip_http and shutil.which("wrk") is None:
        print(
            "wrk is not installed: apt-get install -y wrk  (or run with --skip-http)",
            file=sys.stderr,
        )
        return 2

    started = time.monotonic()
    load = os.getloadavg()[0]
    results: dict = {
        "k": K,
        "cpu_count": os.cpu_count(),
        "load_avg_1min_at_start": load,
        "in_process": [],
    }
    print(
        f"{os.cpu_count()} CPUs, load average {load:.2f} at start (a shared machine: read "
        "the ratios)"
    )
    all_equal = True
    with tempfile.TemporaryDirectory(prefix="bench-nearest-") as tmp:
        tmp_path = Path(tmp)
        db_path = tmp_path / "locator.db"
        print(
            f"(a) in process: K={K} nearest open facilities, {args.queries:,} random "
            f"query points over China, one at a time (perf_counter_ns)"
        )
        print(
            "    index = NearestIndex.nearest(lon, lat, 5), Hit objects included; brute "
            "force = numpy haversine\n    over the open facilities (ids and distances "
            "only), same run; equal = same ids and distances"
        )
        if args.hours_share:
            print(f"    {args.hours_share:.0%} of synthetic facilities have opening hours")
        datasets = [("shipped catalog (Anhui)", lambda: real_catalog(db_path))]
        share = args.hours_share
        datasets += [
            ("synthetic over China", lambda n=n: synthetic(n, hours_share=share)) for n in sizes
        ]
        for name, make in datasets:
            facilities = make()
            row = bench_in_process(name, facilities, args)
            del facilities
            results["in_process"].append(row)
            all_equal &= row["equal"] == row["verified"]
            print_in_process(row)
        print(f"  results equal brute force: {'yes' if all_equal else 'no'}")
        results["results_equal_brute_force"] = all_equal
        big = [r for r in results["in_process"] if r["facilities"] >= 1_000_000]
        if big:
            p50 = big[0]["index_p50_us"]
            print(
                f"  p50 at {big[0]['facilities']:,}: {p50:.1f} µs   "
                f"target: p50 < {TARGET_P50_US:.0f} µs at 1,000,000 -> "
                f"{'met' if p50 < TARGET_P50_US else 'NOT met'}"
            )
        else:
            print(
                f"  target: p50 < {TARGET_P50_US:.0f} µs at 1,000,000 (not measured: "
                "no size of 1,000,000 or more)"
            )

        if not args.skip_http:
            cls = args.worker_class + (
                f", {args.threads} threads" if args.worker_class == "gthread" else ""
            )
            print(
                f"\n(b) HTTP: gunicorn {args.workers} workers ({cls}) on 127.0.0.1; "
                f"wrk {args.wrk_threads} threads, {args.connections} connections, "
                f"{args.duration:g} s per run, {args.rounds} alternating rounds\n"
                f"    trivial = plain Flask /ping; nearest = the real app over the shipped "
                f"data, k={K}, random points in Anhui"
                + (f"; Accept-Encoding: {args.accept_encoding}" if args.accept_encoding else "")
            )
            http = bench_http(db_path, tmp_path, args)
            results["http"] = http
            results["http_settings"] = {
                "workers": args.workers,
                "worker_class": args.worker_class,
                "threads": args.threads if args.worker_class == "gthread" else None,
                "accept_encoding": args.accept_encoding,
                "connections": args.connections,
                "wrk_threads": args.wrk_threads,
                "duration_s": args.duration,
                "rounds": args.rounds,
            }
            t, n = http["trivial"], http["nearest"]
            for label, m in (("trivial /ping", t), (f"/api/v1/nearest k={K}", n)):
                print(
                    f"  median {label:<20} {m['rps']:8.0f} req/s  p50 "
                    f"{m['p50_us'] / 1e3:6.2f} ms  p99 {m['p99_us'] / 1e3:6.2f} ms  "
                    f"server CPU {m['server_cpu_us_per_request']:5.0f} µs/request"
                )
            ok = "met" if http["ratio"] >= TARGET_HTTP_RATIO else "NOT met"
            rounds = " ".join(f"{r:.0%}" for r in http["round_ratios"])
            print(
                f"  nearest/trivial throughput: {http['ratio']:.0%} (per round: {rounds})   "
                f"target: >= {TARGET_HTTP_RATIO:.0%} -> {ok}"
            )
            print(
                f"  server CPU per request, trivial/nearest: {http['cpu_ratio']:.0%} (the "
                "throughput ratio if the server alone were the bottleneck; steadier under "
                "noise)"
            )
            print(f"  non-2xx nearest responses: {http['non_2xx_nearest']}")
            if http["non_2xx_nearest"]:
                all_equal = False

    results["runtime_s"] = time.monotonic() - started
    print(f"\ntotal {results['runtime_s']:.0f} s")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
        print(f"\nwrote {args.json}")
    return 0 if all_equal else 1


if __name__ == "__main__":
    sys.exit(main())
