"""Benchmark: hostile requests against gunicorn (``locator.web.gunicorn_conf``: 2 workers,
8 threads each) on the shipped data.

Run: ``.venv/bin/python bench/hostile.py`` (about a minute). ``--json FILE`` also writes
the figures.

(a) Each hostile request of the defects list once: status, wall time and the peak
    resident memory of the worker processes before and after (VmHWM from /proc).
(b) Nearest throughput from 4 client threads for a few seconds: alone (the baseline),
    then while 8 uncached plan requests run (``{"sites": 5}``, each with its own radius),
    then while 8 identical uncached province coverage requests run. Reported as ratios
    to the baseline of the same run; the machines are shared and noisy.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from locator.geodata import load_default_data  # noqa: E402
from locator.storage import open_storage  # noqa: E402


def zigzag(n: int = 5000) -> list[list[float]]:
    return [[73.5 + 61 * (i % 2), 18.5 + 34.5 * i / n] for i in range(n)]


HOSTILE = [
    (
        "along-route zigzag 5,000 vertices, buffer 50 km",
        "POST",
        "/api/v1/along-route",
        {"route": zigzag(), "buffer_km": 50},
    ),
    (
        "along-route 61 bytes across China, buffer 1 m",
        "POST",
        "/api/v1/along-route",
        {"route": [[73.5, 18.5], [134.5, 53]], "buffer_km": 0.001},
    ),
    (
        "plan 500 sites grid/grid exact res 8",
        "POST",
        "/api/v1/plan",
        {"sites": 500, "demand": "grid", "candidates": "grid", "method": "exact", "resolution": 8},
    ),
    (
        "plan 500 sites grid/grid exact res 6",
        "POST",
        "/api/v1/plan",
        {"sites": 500, "demand": "grid", "candidates": "grid", "method": "exact", "resolution": 6},
    ),
    ("GET /api/v1/coverage/grid (bare)", "GET", "/api/v1/coverage/grid", None),
    (
        "plan body nested 2,000 deep",
        "POST",
        "/api/v1/plan",
        b'{"sites": 5, "what_if": ' + b"[" * 2000 + b"]" * 2000 + b"}",
    ),
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def request(url: str, method: str = "GET", body=None, timeout: float = 600.0):
    data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    req = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json"} if data else {}
    )
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:
            payload = response.read()
            status = response.status
    except urllib.error.HTTPError as exc:
        payload, status = exc.read(), exc.code
    return status, len(payload), time.perf_counter() - started


def worker_pids(master: int) -> list[int]:
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return [int(pid) for pid in children]


def peak_mb(pids: list[int]) -> float:
    peaks = []
    for pid in pids:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                peaks.append(int(line.split()[1]) / 1024)
    return max(peaks)


def nearest_rate(base: str, seconds: float, threads: int = 4) -> float:
    stop = time.monotonic() + seconds
    counts = [0] * threads

    def loop(i: int) -> None:
        n = 0
        while time.monotonic() < stop:
            lon, lat = 116.0 + (n % 37) * 0.07, 30.5 + (n % 23) * 0.12
            status, _, _ = request(f"{base}/api/v1/nearest?lon={lon:.3f}&lat={lat:.3f}", timeout=60)
            n += status == 200
        counts[i] = n

    workers = [threading.Thread(target=loop, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return sum(counts) / seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="each throughput round")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="locator-hostile-"))
    url = f"sqlite:///{work / 'locator.db'}"
    with open_storage(url, init=True) as storage:
        load_default_data(storage, ROOT / "geodata")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "LOCATOR_DATABASE_URL": url,
        "LOCATOR_TILES": "none",
        "LOCATOR_SECRET_KEY": "bench-only",
    }
    master = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("gunicorn")),
            "-c",
            "python:locator.web.gunicorn_conf",
            "locator.web.wsgi:app",
            "-b",
            f"127.0.0.1:{port}",
        ],
        env=env,
        cwd=work,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    figures: dict = {"hostile": [], "throughput": {}}
    try:
        for _ in range(300):
            try:
                if request(f"{base}/api/v1/nearest?lon=117.23&lat=31.82", timeout=5)[0] == 200:
                    break
            except OSError:
                time.sleep(0.2)
        for _ in range(4):  # both workers load their catalog and planning data
            request(f"{base}/api/v1/coverage/summary?county=340122")
        pids = worker_pids(master.pid)
        print(f"workers {pids}: peak {peak_mb(pids):.0f} MB after warm-up")
        print("\n(a) hostile requests")
        for name, method, path, body in HOSTILE:
            before = peak_mb(pids)
            status, size, seconds = request(base + path, method, body)
            after = peak_mb(pids)
            row = {
                "request": name,
                "status": status,
                "bytes": size,
                "seconds": round(seconds, 3),
                "peak_mb_before": round(before),
                "peak_mb_after": round(after),
            }
            figures["hostile"].append(row)
            print(
                f"  {status} {seconds:7.3f} s {size:>10,} B  peak {before:.0f} -> "
                f"{after:.0f} MB  {name}"
            )

        print("\n(b) nearest throughput from 4 client threads")
        alone = nearest_rate(base, args.seconds)
        rounds = {"alone": alone}
        for label, make in (
            (
                "8 uncached plans",
                lambda i: ("POST", "/api/v1/plan", {"sites": 5, "radius_km": 4 + i / 10}),
            ),
            (
                "8 identical uncached province coverages",
                lambda i: ("GET", "/api/v1/coverage/summary?radius_km=9.7", None),
            ),
        ):
            with ThreadPoolExecutor(8) as pool:
                heavy = [
                    pool.submit(request, base + make(i)[1], make(i)[0], make(i)[2])
                    for i in range(8)
                ]
                rate = nearest_rate(base, args.seconds)
                statuses = sorted(f.result()[0] for f in heavy)
            rounds[label] = rate
            print(
                f"  {label}: {rate:.0f} req/s ({rate / alone:.0%} of alone); heavy "
                f"statuses {statuses}"
            )
        print(f"  alone: {alone:.0f} req/s")
        figures["throughput"] = {k: round(v, 1) for k, v in rounds.items()}
        figures["peak_mb_final"] = round(peak_mb(pids))
    finally:
        master.terminate()
        master.wait(timeout=30)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
