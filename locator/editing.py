"""Edits of single facilities by people: create, change, delete and revert.

Every edit is validated as an import row is (:func:`locator.model.validate_facility`,
the same messages), placed in its city, county and township before it is judged,
allowed only inside the editor's areas (before *and* after a move), written with
optimistic locking (the version the editor read) and recorded with who made it.
The web form, the write API and the shell share this one path.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, Protocol

from .clock import local_today, system_clock
from .crs import normalize_crs, to_wgs84
from .errors import Forbidden, InvalidParameter, NotFound, ValidationFailed
from .messages import Message
from .model import Facility, parse_parking_fee, validate_facility

#: Fields an editor sets (the rest are derived or kept by storage).
EDITABLE_FIELDS = (
    "name",
    "kind",
    "status",
    "lon",
    "lat",
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
)


class Editor(Protocol):
    """Who edits: an account (:class:`locator.accounts.User`)."""

    name: str

    def can_edit(self, facility: Facility) -> bool: ...


def editable_values(f: Facility) -> dict[str, Any]:
    """The editable fields of ``f`` as :func:`validate_facility` takes them."""
    values = {name: getattr(f, name) for name in EDITABLE_FIELDS}
    values["amenities"] = sorted(f.amenities)
    return values


def _in_wgs84(values: dict[str, Any], crs: str) -> dict[str, Any]:
    """``values`` with ``lon``/``lat`` converted from ``crs`` (checked as numbers first)."""
    crs = normalize_crs(crs)
    if crs == "wgs84" or values.get("lon") is None or values.get("lat") is None:
        return values
    try:
        lon, lat = float(values["lon"]), float(values["lat"])
    except (TypeError, ValueError):
        return values  # validate_facility names the bad one
    lon, lat = to_wgs84(lon, lat, crs)
    return {**values, "lon": float(lon), "lat": float(lat)}


def _refuse_unknown(values: Mapping[str, Any]) -> None:
    unknown = sorted(set(values) - set(EDITABLE_FIELDS))
    if unknown:
        raise ValidationFailed(
            Message(
                "unknown_name", what="field", name=unknown[0], known=", ".join(EDITABLE_FIELDS)
            ),
            field=unknown[0],
        )


def _fee_note(value: Any) -> str | None:
    """The note written in a parking fee text, if it reads (validation reports it else)."""
    try:
        return parse_parking_fee(value)[1]
    except InvalidParameter:
        return None


@dataclasses.dataclass(frozen=True)
class Edited:
    """What an edit did: the facility as stored now (None once deleted) and the data
    version after it."""

    facility: Facility | None
    data_version: int
    changed: bool


@dataclasses.dataclass(frozen=True)
class Located:
    """Where a WGS-84 point falls: its city, county and township (``name``/``code`` keys
    as :meth:`locator.admin_units.AdminIndex.locate` gives them, None outside every
    known unit) and whether the editor may keep a facility there."""

    lon: float
    lat: float
    units: Mapping[str, str | None]
    editable: bool


class Editing:
    """Single-facility edits over one storage."""

    def __init__(self, storage: Any) -> None:
        self.storage = storage

    def place(
        self, values: Mapping[str, Any], *, crs: str = "wgs84", check_verified: bool = True
    ) -> Facility:
        """A validated facility from form or API ``values`` (``lon``/``lat`` in ``crs``),
        with its city, county and township assigned: what saving would store. With
        ``check_verified``, a ``verified_on`` after today (Asia/Shanghai) is refused."""
        _refuse_unknown(values)
        clock = getattr(self.storage, "clock", system_clock)
        today = local_today(clock) if check_verified else None
        try:
            facility = validate_facility(_in_wgs84(dict(values), crs), today=today)
        except InvalidParameter as exc:  # a field of the facility, not of the request
            raise ValidationFailed(exc.message, field=exc.field) from None
        return self.storage.admin_index().assign([facility])[0]

    def locate(self, editor: Editor, lon: float, lat: float) -> Located:
        """Where a facility at WGS-84 ``lon``/``lat`` would be placed, and whether
        ``editor`` may save it there (the check :meth:`create` and :meth:`update` make)."""
        units = self.storage.admin_index().locate([lon], [lat])[0]
        probe = Facility(id="", name="", kind="other", lon=lon, lat=lat, **units)
        return Located(lon, lat, units, editor.can_edit(probe))

    def _check_area(self, editor: Editor, facility: Facility, field: str) -> None:
        if not editor.can_edit(facility):
            where = facility.county or facility.city or "—"
            raise Forbidden(Message("outside_areas", where=where), field=field)

    def create(
        self, editor: Editor, values: Mapping[str, Any], *, crs: str = "wgs84", actor: str
    ) -> Edited:
        """Add a facility inside the editor's areas."""
        facility = self.place(values, crs=crs).replace(id="", source="web", source_id=None)
        self._check_area(editor, facility, "lon")
        result = self.storage.upsert_facilities([facility], actor=actor)
        stored = self.storage.get_facility(result.inserted[0])
        return Edited(stored, result.data_version, True)

    def update(
        self,
        editor: Editor,
        facility_id: str,
        changes: Mapping[str, Any],
        *,
        expected_version: int,
        crs: str = "wgs84",
        actor: str,
    ) -> Edited:
        """Change some fields of a stored facility (the others stay); :class:`Conflict`
        when it changed since ``expected_version`` was read."""
        stored = self.storage.get_facility(facility_id)
        self._check_area(editor, stored, "id")
        _refuse_unknown(changes)
        moved = {**editable_values(stored), **_in_wgs84(dict(changes), crs)}
        if "parking_fee_note" not in changes and _fee_note(changes.get("parking_fee")):
            moved["parking_fee_note"] = None  # "收费 30元/晚" replaces the stored note
        facility = self.place(moved, check_verified="verified_on" in changes).replace(
            id=stored.id,
            source=stored.source,
            source_id=stored.source_id,
            version=expected_version,
        )
        self._check_area(editor, facility, "lon")
        result = self.storage.upsert_facilities([facility], check_versions=True, actor=actor)
        return Edited(self.storage.get_facility(stored.id), result.data_version, result.changed)

    def verify(
        self, editor: Editor, facility_id: str, *, expected_version: int, actor: str
    ) -> Edited:
        """Record that a person confirmed the record today (Asia/Shanghai): ``verified_on``,
        an audited edit like any other."""
        today = local_today(getattr(self.storage, "clock", system_clock))
        return self.update(
            editor,
            facility_id,
            {"verified_on": today.isoformat()},
            expected_version=expected_version,
            actor=actor,
        )

    def delete(
        self, editor: Editor, facility_id: str, *, expected_version: int, actor: str
    ) -> Edited:
        """Delete a stored facility (kept in its history)."""
        stored = self.storage.get_facility(facility_id)
        self._check_area(editor, stored, "id")
        version = self.storage.delete_facility(
            facility_id, expected_version=expected_version, actor=actor
        )
        return Edited(None, version, True)

    def revert(
        self,
        editor: Editor,
        facility_id: str,
        to_version: int,
        *,
        expected_version: int,
        actor: str,
    ) -> Edited:
        """Write the facility as it was at ``to_version`` (a new, audited version)."""
        for entry in self.storage.history(facility_id):
            if entry.version == to_version and entry.facility is not None:
                old = entry.facility
                break
        else:
            raise NotFound(Message("no_version", version=to_version), field="version")
        try:
            current = self.storage.get_facility(facility_id)
        except NotFound:
            current = None
        if current is None:  # a deleted facility comes back
            self._check_area(editor, old, "id")
            restored = old.replace(version=0)
            result = self.storage.upsert_facilities([restored], actor=actor)
            return Edited(self.storage.get_facility(facility_id), result.data_version, True)
        return self.update(
            editor,
            facility_id,
            editable_values(old),
            expected_version=expected_version,
            actor=actor,
        )


@dataclasses.dataclass(frozen=True)
class Listing:
    """One page of the admin facility list."""

    items: list[Facility]
    total: int
    page: int
    pages: int


#: Sort orders of the admin list.
SORTS = {
    "name": lambda f: (f.name, f.id),
    "updated": lambda f: (-(f.updated_at.timestamp() if f.updated_at else 0), f.id),
    "county": lambda f: (f.county_code or "", f.name),
}

#: Fields the admin list can find empty ("missing phone").
MISSING_FIELDS = (
    "phone",
    "hours",
    "address",
    "opened_on",
    "truck_parking_spaces",
    "verified_on",
)


def listing(
    facilities: Any,
    editor: Any,
    *,
    q: str = "",
    kind: str = "",
    status: str = "",
    county: str = "",
    missing: str = "",
    sort: str = "name",
    page: int = 1,
    per_page: int = 50,
) -> Listing:
    """The facilities an account keeps (an editor: those of their areas; admins and
    viewers: all), filtered, sorted and paged."""
    areas = set(getattr(editor, "areas", ()) or ())
    everything = editor.role in ("admin", "viewer")
    needle = q.strip().lower()
    chosen = [
        f
        for f in facilities
        if (everything or f.city_code in areas or f.county_code in areas)
        and (not needle or needle in f.name.lower() or needle in (f.address or "").lower())
        and (not kind or f.kind == kind)
        and (not status or f.status == status)
        and (not county or f.county_code == county)
        and (not missing or getattr(f, missing, None) in (None, ""))
    ]
    chosen.sort(key=SORTS.get(sort, SORTS["name"]))
    pages = max(1, -(-len(chosen) // per_page))
    page = min(max(page, 1), pages)
    start = (page - 1) * per_page
    return Listing(chosen[start : start + per_page], len(chosen), page, pages)


def version_changes(entries: Any) -> dict[int, list[tuple[str, Any, Any]]]:
    """Field-level differences of each version from the one before it (history entries
    in order, with their snapshots): ``{version: [(field, before, after), ...]}``."""
    changes: dict[int, list[tuple[str, Any, Any]]] = {}
    before: dict[str, Any] = {}
    for entry in entries:
        if entry.facility is None:
            continue
        after = editable_values(entry.facility) if entry.action != "delete" else {}
        names = [n for n in EDITABLE_FIELDS if before.get(n) != after.get(n)]
        changes[entry.version] = [(n, before.get(n), after.get(n)) for n in names]
        before = after
    return changes
