"""Row conversions shared by the SQL backends."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from ..driver_reports import Report
from ..model import Facility

#: Facility columns in storage order (geometry kept apart by each backend).
FACILITY_COLUMNS = (
    "id",
    "name",
    "kind",
    "status",
    "address",
    "phone",
    "operator",
    "website",
    "hours",
    "amenities",
    "truck_parking_spaces",
    "opened_on",
    "parking_fee",
    "parking_fee_note",
    "tier",
    "closed_until",
    "verified_on",
    "city",
    "city_code",
    "county",
    "county_code",
    "township",
    "township_code",
    "source",
    "source_id",
    "updated_at",
    "version",
)

#: Columns of dates, kept as ISO text by SQLite (and in history snapshots).
DATE_COLUMNS = ("opened_on", "closed_until", "verified_on")


def facility_values(f: Facility) -> list[Any]:
    """Column values of ``FACILITY_COLUMNS`` for one facility."""
    row = []
    for name in FACILITY_COLUMNS:
        value = getattr(f, name)
        if name == "amenities":
            value = json.dumps(sorted(value))
        elif name in DATE_COLUMNS:
            value = value.isoformat() if value else None
        elif name == "updated_at":
            value = value.isoformat() if value else None
        row.append(value)
    return row


def facility_from_row(row: dict[str, Any]) -> Facility:
    """A facility from a row mapping with ``FACILITY_COLUMNS`` plus ``lon`` and ``lat``."""
    values = dict(row)
    amenities = values.get("amenities")
    if isinstance(amenities, str):
        amenities = json.loads(amenities)
    values["amenities"] = frozenset(amenities or ())
    for name in DATE_COLUMNS:
        if isinstance(values.get(name), str):
            values[name] = dt.date.fromisoformat(values[name])
    updated = values.get("updated_at")
    if isinstance(updated, str):
        values["updated_at"] = dt.datetime.fromisoformat(updated)
    values["lon"] = float(values["lon"])
    values["lat"] = float(values["lat"])
    return Facility(**values)


def facility_snapshot(f: Facility) -> str:
    """One facility as JSON text, as the history keeps a deleted one."""
    values = dict(zip(FACILITY_COLUMNS, facility_values(f), strict=True))
    values["amenities"] = sorted(f.amenities)
    return json.dumps({**values, "lon": f.lon, "lat": f.lat}, ensure_ascii=False)


def facility_from_snapshot(snapshot: str | dict | None) -> Facility | None:
    """The facility of :func:`facility_snapshot` (PostgreSQL hands JSONB back parsed)."""
    if snapshot is None:
        return None
    return facility_from_row(json.loads(snapshot) if isinstance(snapshot, str) else snapshot)


def report_from_row(row: Any, when: Any) -> Report:
    """A stored report from its row (a mapping of its columns); ``when`` reads the
    backend's timestamps."""
    return Report(
        id=row["id"],
        facility_id=row["facility_id"],
        category=row["category"],
        created_at=when(row["created_at"]),
        text=row["text"],
        amenity=row["amenity"],
        lon=row["lon"],
        lat=row["lat"],
        client_hash=row["client_hash"],
        status=row["status"],
        reviewed_by=row["reviewed_by"],
        reviewed_at=when(row["reviewed_at"]),
        review_note=row["review_note"],
        city_code=row["city_code"],
        county_code=row["county_code"],
    )
