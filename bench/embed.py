"""Benchmark: the embeddable widget's page weight and its time to first markers.

Run: ``.venv/bin/python bench/embed.py`` (about 30 s). ``--json FILE`` also writes the
figures; ``--loads N`` changes the number of loads (default 5); ``--synthetic N`` adds a
scenario with N more facilities spread over Anhui (default 2000; 0 to skip).

The app (tiles ``none``: no tile images are counted, and none could load offline) runs on
127.0.0.1 with the shipped data in a fresh SQLite file, served by werkzeug's threaded
server in this process; Flask-Compress gzips as for any browser. Debian's headless
Chromium (``/usr/bin/chromium``) loads ``/embed``:

- page weight: the sum of ``encodedBodySize`` (compressed bytes, without headers) of the
  document and every resource, from the Resource Timing API, by type;
- time to first markers: the ``locator:markers`` mark the widget sets in the first
  animation frame after its markers are on the map (ms after navigation start); the
  median of ``--loads`` loads, each in a new browser context (empty cache: a first
  visit), after one warm-up load that fills the server's per-version caches. The time
  until Playwright sees a marker element is printed beside it as a cross-check.

Targets (from the issue): at most 150 KB compressed without tiles; first markers within
1 s. Exit status 1 when a target of the shipped-data scenarios is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from locator.geodata import load_default_data  # noqa: E402
from locator.model import Facility  # noqa: E402
from locator.storage import open_storage  # noqa: E402
from locator.web import create_app  # noqa: E402
from tests.web_fixtures import LiveServer  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
TARGET_BYTES = 150_000
TARGET_MS = 1000.0
ANHUI = (114.9, 29.4, 119.6, 34.6)

SCENARIOS = [
    ("all shipped facilities, map only", "/embed"),
    ("Hefei, with the list", "/embed?city=合肥市&list=on"),
]

_WEIGHTS = """() => {
    const kind = e => {
        if (e.entryType === 'navigation') return 'document';
        const path = new URL(e.name).pathname;
        if (path.endsWith('.js')) return 'script';
        if (path.endsWith('.css')) return 'stylesheet';
        if (path.includes('data.geojson')) return 'data';
        return 'other';
    };
    const out = {};
    performance.getEntriesByType('navigation').concat(performance.getEntriesByType('resource'))
        .forEach(e => {
            const k = kind(e);
            out[k] = out[k] || {count: 0, encoded: 0, decoded: 0};
            out[k].count += 1;
            out[k].encoded += e.encodedBodySize;
            out[k].decoded += e.decodedBodySize;
        });
    return out;
}"""


def synthetic(n: int, seed: int = 3) -> list[Facility]:
    """``n`` open union stations at random points of Anhui's bounding box."""
    rng = np.random.default_rng(seed)
    w, s, e, north = ANHUI
    lon, lat = rng.uniform(w, e, n), rng.uniform(s, north, n)
    kinds = rng.choice(["service_station", "service_point", "driver_home"], n)
    return [
        Facility(
            f"bench:{i}",
            f"职工服务站{i}号",
            str(kinds[i]),
            float(lon[i]),
            float(lat[i]),
            address=f"安徽省某县某路{i}号",
            phone="0551-12345678",
            hours="Mo-Su 08:00-20:00",
            amenities=frozenset({"rest_room", "hot_water"}),
        )
        for i in range(n)
    ]


def load_once(browser, url: str) -> dict:
    """One load in a fresh context: weights by type, the markers mark, the seen time."""
    context = browser.new_context(viewport={"width": 800, "height": 600})
    page = context.new_page()
    start = time.perf_counter()
    page.goto(url, wait_until="commit")
    page.wait_for_selector(".leaflet-marker-icon, .marker-cluster", state="visible", timeout=30_000)
    seen_ms = (time.perf_counter() - start) * 1000
    page.wait_for_function("() => performance.getEntriesByName('locator:markers').length")
    page.wait_for_load_state("load")
    mark = page.evaluate("() => performance.getEntriesByName('locator:markers')[0].startTime")
    weights = page.evaluate(_WEIGHTS)
    count = page.evaluate("() => window.locatorEmbed.ids().length")
    context.close()
    return {"weights": weights, "markers_ms": mark, "seen_ms": seen_ms, "facilities": count}


def run_scenario(browser, base: str, name: str, path: str, loads: int) -> dict:
    load_once(browser, base + path)  # warm-up: server caches for this data version
    runs = [load_once(browser, base + path) for _ in range(loads)]
    weights = runs[-1]["weights"]
    total = sum(v["encoded"] for v in weights.values())
    result = {
        "scenario": name,
        "path": path,
        "facilities": runs[-1]["facilities"],
        "bytes_by_type": {k: v["encoded"] for k, v in sorted(weights.items())},
        "uncompressed_by_type": {k: v["decoded"] for k, v in sorted(weights.items())},
        "requests": sum(v["count"] for v in weights.values()),
        "total_bytes": total,
        "markers_ms": [round(r["markers_ms"], 1) for r in runs],
        "markers_ms_median": round(statistics.median(r["markers_ms"] for r in runs), 1),
        "seen_ms_median": round(statistics.median(r["seen_ms"] for r in runs), 1),
    }
    return result


def report(result: dict) -> None:
    print(f"\n{result['scenario']} ({result['path']}, {result['facilities']} facilities)")
    for kind, size in result["bytes_by_type"].items():
        raw = result["uncompressed_by_type"][kind]
        print(f"  {kind:<11} {size / 1000:8.1f} KB compressed  ({raw / 1000:7.1f} KB raw)")
    ok_bytes = result["total_bytes"] <= TARGET_BYTES
    ok_ms = result["markers_ms_median"] <= TARGET_MS
    print(
        f"  {'total':<11} {result['total_bytes'] / 1000:8.1f} KB in {result['requests']} "
        f"requests (target <= {TARGET_BYTES / 1000:.0f} KB: "
        f"{'met' if ok_bytes else 'MISSED'})"
    )
    print(
        f"  first markers: median {result['markers_ms_median']:.0f} ms of "
        f"{result['markers_ms']} (target <= {TARGET_MS:.0f} ms: "
        f"{'met' if ok_ms else 'MISSED'}); a marker seen by Playwright after "
        f"{result['seen_ms_median']:.0f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--loads", type=int, default=5, help="loads per scenario (median)")
    parser.add_argument(
        "--synthetic",
        type=int,
        default=2000,
        help="extra facilities of a further scenario (0: skip)",
    )
    parser.add_argument("--json", default=None, help="also write the figures to this file")
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        sys.exit(f"needs Debian's chromium at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    print(
        f"load average {os.getloadavg()[0]:.2f}; {args.loads} loads per scenario, "
        "each in a new browser context"
    )
    results = []
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        databases = [("shipped", f"sqlite:///{tmp}/shipped.db", 0)]
        if args.synthetic:
            databases.append(("synthetic", f"sqlite:///{tmp}/synthetic.db", args.synthetic))
        for label, url, extra in databases:
            with open_storage(url, init=True) as storage:
                load_default_data(storage, ROOT / "geodata")
                if extra:
                    storage.upsert_facilities(synthetic(extra))
            app = create_app({"database_url": url, "tiles": "none"})
            scenarios = (
                SCENARIOS
                if label == "shipped"
                else [(f"shipped + {extra} synthetic facilities, map only", "/embed")]
            )
            with LiveServer(app) as server:
                for name, path in scenarios:
                    result = run_scenario(browser, server.url, name, path, args.loads)
                    result["database"] = label
                    report(result)
                    results.append(result)
            app.extensions["locator"].storage.close()
        browser.close()
    if args.json:
        Path(args.json).write_text(json.dumps(results, ensure_ascii=False, indent=2))
    missed = [
        r
        for r in results
        if r["database"] == "shipped"
        and (r["total_bytes"] > TARGET_BYTES or r["markers_ms_median"] > TARGET_MS)
    ]
    sys.exit(1 if missed else 0)


if __name__ == "__main__":
    main()
