"""Record the public API's answers on the shipped data, or compare them with a record.

Run ``.venv/bin/python bench/answers.py record FILE`` before a refactor and
``.venv/bin/python bench/answers.py compare FILE`` after it: every status, header (but
``Date``) and (decompressed) body of a fixed set of requests must be byte-for-byte the same; the
differences are listed and the exit status is 1 when there are any. The app runs in
process on a fresh SQLite database of the shipped data, with its clock fixed.
"""

from __future__ import annotations

import argparse
import base64
import gzip
import hashlib
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from locator.clock import clock_from_text  # noqa: E402
from locator.geodata import load_default_data  # noqa: E402
from locator.storage import open_storage  # noqa: E402
from locator.web import create_app  # noqa: E402

NOW = "2026-12-01T10:00+08:00"
HEFEI = "340100"

GETS = [
    "/api/v1/facilities?limit=3",
    "/api/v1/facilities?city=合肥市&kind=service_area&limit=5&offset=2",
    "/api/v1/facilities?bbox=117,31.5,117.5,32&amenity=toilet",
    "/api/v1/facilities/nope",
    "/api/v1/nearest?lon=117.23&lat=31.82",
    "/api/v1/nearest?lon=117.23&lat=31.82&k=10&open_now=true&kind=service_area",
    "/api/v1/nearest?lon=117.236&lat=31.818&crs=gcj02&out_crs=bd09",
    "/api/v1/nearest?lon=200&lat=31",
    "/api/v1/places?q=hefei",
    "/api/v1/places?q=肥东",
    f"/api/v1/townships?city={HEFEI}",
    "/api/v1/townships?county=肥东县&radius_km=8&simplify=true",
    "/api/v1/coverage/summary",
    f"/api/v1/coverage/summary?city={HEFEI}&weight=transport_workers",
    f"/api/v1/coverage/grid?city={HEFEI}&resolution=7",
    f"/api/v1/coverage/grid?city={HEFEI}&blind_only=true",
    "/api/v1/coverage/grid?resolution=4",
    "/api/v1/progress",
    f"/api/v1/progress?city={HEFEI}&freq=weekly&periods=6",
    "/api/v1/openapi.json",
    "/api/v1/nearest?lon=117.23&lat=31.82&typo=1",
]

POSTS = [
    ("/api/v1/plan", {"sites": 5, "city": HEFEI}),
    ("/api/v1/plan", {"sites": 3, "county": "肥东县", "candidates": "grid", "resolution": 7}),
    ("/api/v1/plan", {"sites": 3, "city": HEFEI, "what_if": [[117.3, 31.9]]}),
    ("/api/v1/plan", {"sites": 0}),
    (
        "/api/v1/along-route",
        {"route": [[116.5, 31.5], [117.5, 32.0], [118.3, 31.3]], "buffer_km": 5},
    ),
    ("/api/v1/along-route", {"route": [[116.5, 31.5]]}),
]


def answers() -> dict:
    work = Path(tempfile.mkdtemp(prefix="locator-answers-"))
    url = f"sqlite:///{work / 'locator.db'}"
    with open_storage(url, init=True, clock=clock_from_text(NOW)) as storage:
        load_default_data(storage, ROOT / "geodata")
    app = create_app({"database_url": url, "tiles": "none", "now": NOW})
    client = app.test_client()
    found = {}
    for path in GETS:
        for encoding in ("", "gzip"):
            response = client.get(path, headers={"Accept-Encoding": encoding})
            found[f"GET {path} [{encoding}]"] = _record(response)
    for path, body in POSTS:
        response = client.post(path, json=body)
        found[f"POST {path} {json.dumps(body, ensure_ascii=False)}"] = _record(response)
    app.extensions["locator"].storage.close()
    return found


def _record(response) -> dict:
    data = response.get_data()
    if response.headers.get("Content-Encoding") == "gzip":  # its header holds a time
        data = gzip.decompress(data)
    return {
        "status": response.status_code,
        "headers": sorted([k, v] for k, v in response.headers.items() if k != "Date"),
        "sha256": hashlib.sha256(data).hexdigest(),
        "body": base64.b64encode(data[:4000]).decode(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=("record", "compare"))
    parser.add_argument("file", type=Path)
    args = parser.parse_args()
    now = answers()
    if args.mode == "record":
        args.file.write_text(json.dumps(now, indent=1, ensure_ascii=False))
        print(f"recorded {len(now)} answers in {args.file}")
        return 0
    before = json.loads(args.file.read_text())
    differ = [key for key in before if before[key] != now.get(key)]
    differ += [key for key in now if key not in before]
    for key in differ:
        old, new = before.get(key), now.get(key)
        print(f"differs: {key}")
        if old and new:
            for part in ("status", "headers", "sha256"):
                if old[part] != new[part]:
                    print(f"  {part}: {old[part]} -> {new[part]}")
    print(f"{len(now) - len(differ)} of {len(now)} answers the same")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
