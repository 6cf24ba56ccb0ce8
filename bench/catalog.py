"""Benchmark: `locator init` on both backends, and catalog filters against a Python scan.

Run: ``.venv/bin/python bench/catalog.py [--postgis URL] [--n 100000]``. Prints ratios
against baselines measured in the same run (the machines are shared and noisy).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from locator.catalog import Catalog, FacilityFilter  # noqa: E402
from locator.geodata import load_default_data  # noqa: E402
from locator.model import AMENITIES, KINDS, Facility  # noqa: E402
from locator.storage import open_storage  # noqa: E402


def timed(fn, repeat: int = 5) -> float:
    """Median seconds of ``repeat`` calls."""
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def bench_init(url: str) -> tuple[float, float]:
    """Seconds for a first `locator init` and for a second (idempotent) one."""
    with open_storage(url, init=True) as storage:
        start = time.perf_counter()
        load_default_data(storage, ROOT / "geodata")
        first = time.perf_counter() - start
        start = time.perf_counter()
        load_default_data(storage, ROOT / "geodata")
        return first, time.perf_counter() - start


def synthetic(n: int) -> list[Facility]:
    rng = random.Random(1)
    kinds, amenities = list(KINDS), list(AMENITIES)
    return [
        Facility(
            f"f{i}",
            f"站点{i}",
            rng.choice(kinds),
            rng.uniform(73.5, 135),
            rng.uniform(18, 53.5),
            amenities=frozenset(rng.sample(amenities, 3)),
            city=rng.choice(["合肥市", "芜湖市", "蚌埠市"]),
        )
        for i in range(n)
    ]


def scan(facilities, flt: FacilityFilter) -> list[Facility]:
    w, s, e, n = flt.bbox
    return [
        f
        for f in facilities
        if w <= f.lon <= e
        and s <= f.lat <= n
        and f.kind in flt.kinds
        and flt.amenities <= f.amenities
    ][:100]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--postgis", default=None, help="postgresql:// URL to include PostGIS")
    parser.add_argument("--n", type=int, default=100_000, help="synthetic facilities")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        first, second = bench_init(f"sqlite:///{tmp}/bench.db")
    print(f"init (SQLite): first {first:.2f} s, again {second:.2f} s")
    if args.postgis:
        import psycopg

        schema = "locator_bench"
        with psycopg.connect(args.postgis, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
            conn.execute(f"CREATE SCHEMA {schema}")
        sep = "&" if "?" in args.postgis else "?"
        try:
            first, second = bench_init(
                f"{args.postgis}{sep}options=-csearch_path%3D{schema},public"
            )
        finally:
            with psycopg.connect(args.postgis, autocommit=True) as conn:
                conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        print(f"init (PostGIS): first {first:.2f} s, again {second:.2f} s")

    facilities = synthetic(args.n)
    catalog = Catalog(facilities)
    flt = FacilityFilter(
        bbox=(114.8, 29.4, 119.7, 34.7),
        kinds=frozenset({"driver_home", "service_area"}),
        amenities=frozenset({"shower"}),
    )
    assert [f.id for f in catalog.query(flt).items] == sorted(
        f.id for f in scan(catalog.facilities, flt)
    )
    fast = timed(lambda: catalog.query(flt))
    slow = timed(lambda: scan(catalog.facilities, flt))
    print(
        f"filter over {args.n:,} facilities: catalog {fast * 1e3:.2f} ms, "
        f"Python scan {slow * 1e3:.2f} ms, ratio {slow / fast:.1f}x"
    )


if __name__ == "__main__":
    main()
