"""Drivers' reports (纠错) about a station, and their review by the union staff.

A driver, without an account, says that a station closed for good or for a while, is
not where the map puts it (with a pin), has wrong hours or a wrong phone number, lacks a
listed amenity or has one the list misses, has its truck parking full right now,
something else (in words), or that everything shown is still right (信息正确).

- :func:`parse_report` validates what a driver sends (the keyed messages of
  :mod:`locator.messages`, each naming its field); :class:`DriverReports.submit` stores
  it with the facility's city and county codes (for the editors of that area) and a
  salted daily hash of the client (:func:`client_hash`): never an address.
- Editors of the facility's area review the queue: accepting applies the change the
  category concerns through :class:`locator.editing.Editing` (validation, areas,
  optimistic locking, the history names the report: ``user:li (report:17)``) and sets
  ``verified_on`` to today (Asia/Shanghai); rejecting records the reason.
- When :data:`CONFIRMATIONS` different clients say "still right" within
  :data:`CONFIRMATION_DAYS`, ``verified_on`` becomes today by itself (actor
  ``reports:still_right``), audited like any edit.

Examples
--------
>>> values = parse_report({"category": "hours_wrong", "text": "每天8:00-20:00"})
>>> values.category, values.text
('hours_wrong', '每天8:00-20:00')
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import hmac
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any

from .clock import Clock, local_today, utc_now
from .crs import haversine_m, normalize_crs, to_wgs84
from .editing import Edited, Editing, version_changes
from .errors import Conflict, Forbidden, InvalidParameter, NotFound, ValidationFailed
from .messages import Message
from .model import AMENITIES, Facility, check_lon_lat, parse_amenity, parse_date

#: Report categories with their Chinese and English labels, in the order a driver sees them.
CATEGORIES: dict[str, dict[str, str]] = {
    "hours_wrong": {"zh": "营业时间不对", "en": "Opening hours are wrong"},
    "truck_parking_full": {"zh": "货车车位已满", "en": "Truck parking is full now"},
    "temporarily_closed": {"zh": "暂停营业", "en": "Temporarily closed"},
    "closed_for_good": {"zh": "已永久关闭", "en": "Closed for good"},
    "phone_wrong": {"zh": "电话不对", "en": "Phone number is wrong"},
    "not_here": {"zh": "位置不对", "en": "Not at this spot"},
    "amenity_missing": {"zh": "有未列出的设施", "en": "Has an amenity not listed"},
    "amenity_not_there": {"zh": "列出的设施没有", "en": "A listed amenity is not there"},
    "other": {"zh": "其他问题", "en": "Something else"},
    "still_right": {"zh": "信息正确", "en": "Everything is still right"},
}

#: The one detail a category asks for: ``text`` (optional words), ``text_required``,
#: ``amenity`` (which one, required) or ``point`` (a pin, required); none otherwise.
DETAILS: dict[str, str] = {
    "hours_wrong": "text",
    "phone_wrong": "text",
    "other": "text_required",
    "amenity_missing": "amenity",
    "amenity_not_there": "amenity",
    "not_here": "point",
}

#: Review states of a report with their labels.
REVIEW_STATES: dict[str, dict[str, str]] = {
    "pending": {"zh": "待处理", "en": "Pending"},
    "accepted": {"zh": "已采纳", "en": "Accepted"},
    "rejected": {"zh": "已驳回", "en": "Rejected"},
}

#: The longest text a driver may send, and the longest reason of a rejection.
MAX_TEXT = 500
#: A pin may lie at most this far from the station it moves (metres).
MAX_PIN_DISTANCE_M = 20_000
#: How many different clients saying "still right" within how many days verify a station.
CONFIRMATIONS = 3
CONFIRMATION_DAYS = 30
#: Who the automatic confirmation is recorded as.
CONFIRMATION_ACTOR = "reports:still_right"

#: Fields of a report body (``website`` is the honeypot: people never see or fill it).
BODY_FIELDS = ("category", "text", "amenity", "lon", "lat")
HONEYPOT = "website"

#: What an editor may type when accepting a report of a category (prefilled, see
#: :func:`accept_defaults`); every acceptance also sets ``verified_on``.
ACCEPT_INPUTS: dict[str, tuple[str, ...]] = {
    "temporarily_closed": ("closed_until",),
    "not_here": ("lon", "lat"),
    "hours_wrong": ("hours",),
    "phone_wrong": ("phone",),
    "truck_parking_full": ("truck_parking_spaces",),
}


@dataclasses.dataclass(frozen=True)
class ReportInput:
    """What a driver reported, validated (a pin in WGS-84)."""

    category: str
    text: str | None = None
    amenity: str | None = None
    lon: float | None = None
    lat: float | None = None


@dataclasses.dataclass(frozen=True)
class Report:
    """A stored report: what was said, when, about which facility, and its review."""

    id: int
    facility_id: str
    category: str
    created_at: dt.datetime
    text: str | None = None
    amenity: str | None = None
    lon: float | None = None
    lat: float | None = None
    #: A salted hash of the client for that day (:func:`client_hash`), never an address.
    client_hash: str | None = None
    status: str = "pending"
    reviewed_by: str | None = None
    reviewed_at: dt.datetime | None = None
    review_note: str | None = None
    #: The facility's city and county when the report came (for the editors of the area).
    city_code: str | None = None
    county_code: str | None = None

    def label(self, lang: str) -> str:
        """The category's label in ``lang``."""
        return CATEGORIES[self.category][lang]


# ---- validation ---------------------------------------------------------------------------
def _is_control(ch: str) -> bool:
    """Control, format (bidirectional overrides, zero-width) and separator characters
    other than a plain space, tab and newline."""
    if ch in "\t\n":
        return False
    return unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp")


def clean_text(value: Any, name: str, *, required: bool = False) -> str | None:
    """``value`` stripped, at most :data:`MAX_TEXT` characters, without control
    characters; None when empty (InvalidParameter naming ``name`` when ``required``)."""
    if value is None:
        text = ""
    elif isinstance(value, str):
        text = unicodedata.normalize("NFC", value).strip()
    else:
        raise InvalidParameter(Message("must_be_text", name=name), field=name)
    if not text:
        if required:
            raise InvalidParameter(Message("required", name=name), field=name)
        return None
    if len(text) > MAX_TEXT:
        raise InvalidParameter(
            Message("text_length", name=name, length=len(text), limit=MAX_TEXT), field=name
        )
    if any(_is_control(ch) for ch in text):
        raise InvalidParameter(Message("control_characters", name=name), field=name)
    return text


def _given(body: Mapping[str, Any], name: str) -> bool:
    value = body.get(name)
    return value is not None and not (isinstance(value, str) and not value.strip())


def parse_report(
    body: Mapping[str, Any], *, crs: str = "wgs84", facility: Facility | None = None
) -> ReportInput:
    """A driver's report from a JSON body (``category``, ``text``, ``amenity``, ``lon``,
    ``lat``; the pin in ``crs``), or :class:`ValidationFailed` naming the field.

    A pin is taken for ``not_here`` only (and required there), an amenity for the two
    amenity categories only; ``other`` needs words. With ``facility``, a pin farther than
    :data:`MAX_PIN_DISTANCE_M` from it is refused.
    """
    try:
        return _parse_report(body, crs, facility)
    except InvalidParameter as exc:
        raise ValidationFailed(exc.message, field=exc.field) from None


def _parse_report(body: Mapping[str, Any], crs: str, facility: Facility | None) -> ReportInput:
    unknown = sorted(set(body) - {*BODY_FIELDS, HONEYPOT})
    if unknown:
        raise InvalidParameter(
            Message("unknown_name", what="field", name=unknown[0], known=", ".join(BODY_FIELDS)),
            field=unknown[0],
        )
    category = body.get("category")
    if not isinstance(category, str) or not category.strip():
        raise InvalidParameter(Message("required", name="category"), field="category")
    category = category.strip()
    if category not in CATEGORIES:
        raise InvalidParameter(
            Message("one_of", name="category", choices=", ".join(CATEGORIES)), field="category"
        )
    detail = DETAILS.get(category, "")
    text = clean_text(body.get("text"), "text", required=detail == "text_required")
    amenity = None
    if detail == "amenity":
        if not _given(body, "amenity"):
            raise InvalidParameter(Message("required", name="amenity"), field="amenity")
        if not isinstance(body["amenity"], str):
            raise InvalidParameter(Message("must_be_text", name="amenity"), field="amenity")
        amenity = parse_amenity(body["amenity"])
    elif _given(body, "amenity"):
        raise InvalidParameter(
            Message("report_field_unused", name="amenity", categories=_with("amenity")),
            field="amenity",
        )
    lon = lat = None
    if detail == "point":
        for name in ("lon", "lat"):
            if isinstance(body.get(name), bool):  # JSON true is not a coordinate
                raise InvalidParameter(Message("number_only", name=name), field=name)
        lon, lat = check_lon_lat(body.get("lon"), body.get("lat"))
        crs = normalize_crs(crs)
        if crs != "wgs84":
            lon, lat = (float(v) for v in to_wgs84(lon, lat, crs))
        if facility is not None:
            metres = float(haversine_m(facility.lon, facility.lat, lon, lat))
            if metres > MAX_PIN_DISTANCE_M:
                raise InvalidParameter(
                    Message(
                        "report_pin_far",
                        km=round(metres / 1000, 1),
                        limit=MAX_PIN_DISTANCE_M // 1000,
                    ),
                    field="lon",
                )
    else:
        for name in ("lon", "lat"):
            if _given(body, name):
                raise InvalidParameter(
                    Message("report_field_unused", name=name, categories=_with("point")),
                    field=name,
                )
    return ReportInput(category, text, amenity, lon, lat)


def _with(detail: str) -> str:
    return ", ".join(k for k, v in DETAILS.items() if v == detail)


def client_hash(secret: str | bytes, client: str, day: dt.date) -> str:
    """A hash of ``client`` (an address) for one day: HMAC-SHA256 keyed by ``secret`` and
    the date, so the same client is recognised on that day only and the address cannot
    be read back (nor guessed without the secret).

    >>> a = client_hash("s", "10.0.0.1", dt.date(2026, 12, 1))
    >>> a == client_hash("s", "10.0.0.1", dt.date(2026, 12, 1)) != client_hash(
    ...     "s", "10.0.0.1", dt.date(2026, 12, 2))
    True
    """
    secret = secret.encode("utf-8") if isinstance(secret, str) else secret
    key = hashlib.sha256(b"locator-reports\0" + secret + b"\0" + day.isoformat().encode()).digest()
    return hmac.new(key, client.encode("utf-8"), hashlib.sha256).hexdigest()[:32]


# ---- acceptance -------------------------------------------------------------------------------
def accept_defaults(report: Report, facility: Facility | None) -> dict[str, Any]:
    """The values the acceptance form starts with: the report's words for hours and phone
    (else the stored value), the pin's point, the stored truck parking spaces."""
    stored = facility or Facility(id="", name="", kind="other", lon=0.0, lat=0.0)
    return {
        "hours": report.text or stored.hours or "",
        "phone": report.text or stored.phone or "",
        "lon": report.lon if report.lon is not None else "",
        "lat": report.lat if report.lat is not None else "",
        "closed_until": "",
        "truck_parking_spaces": (
            stored.truck_parking_spaces if stored.truck_parking_spaces is not None else ""
        ),
    }


def accepted_changes(
    report: Report, facility: Facility, values: Mapping[str, Any], today: dt.date
) -> dict[str, Any]:
    """The facility fields accepting ``report`` changes, from the editor's ``values``
    (the form of :data:`ACCEPT_INPUTS`), always with ``verified_on`` today."""
    category = report.category
    changes: dict[str, Any] = {}

    def value(name: str) -> str:
        raw = values.get(name)
        return str(raw).strip() if raw is not None else ""

    if category == "closed_for_good":
        changes["status"] = "closed"
    elif category == "temporarily_closed":
        if not value("closed_until"):
            raise InvalidParameter(Message("report_closed_until"), field="closed_until")
        until = parse_date(value("closed_until"), "closed_until")
        if until <= today:
            raise InvalidParameter(
                Message("report_closed_until_past", today=today.isoformat()),
                field="closed_until",
            )
        changes["closed_until"] = until.isoformat()
    elif category == "not_here":
        lon, lat = check_lon_lat(value("lon"), value("lat"))
        changes["lon"], changes["lat"] = lon, lat
    elif category in ("hours_wrong", "phone_wrong"):
        name = "hours" if category == "hours_wrong" else "phone"
        if not value(name):
            raise InvalidParameter(Message("report_value_required", name=name), field=name)
        changes[name] = value(name)
    elif category in ("amenity_missing", "amenity_not_there"):
        amenities = set(facility.amenities)
        if category == "amenity_missing":
            amenities.add(report.amenity)
        else:
            amenities.discard(report.amenity)
        changes["amenities"] = sorted(amenities)
    elif category == "truck_parking_full" and value("truck_parking_spaces"):
        changes["truck_parking_spaces"] = value("truck_parking_spaces")
    changes["verified_on"] = today.isoformat()
    return changes


@dataclasses.dataclass(frozen=True)
class _Confirmations:
    """The editor of the automatic "still right" confirmation: anywhere."""

    name: str = CONFIRMATION_ACTOR

    def can_edit(self, facility: Facility) -> bool:
        return True


@dataclasses.dataclass(frozen=True)
class Submitted:
    """What a submission did: the stored report (None when it was discarded: the
    honeypot was filled) and whether it verified the facility."""

    report: Report | None
    verified: bool = False


@dataclasses.dataclass(frozen=True)
class ReportGroup:
    """The reports of one facility in the queue, newest first, with its recent history."""

    facility_id: str
    facility: Facility | None
    reports: list[Report]
    #: The facility's latest changes, newest first, and what each changed.
    history: list[Any]
    changes: dict[int, list[tuple[str, Any, Any]]]
    #: Whether the account looking may accept and reject these reports.
    can_review: bool


class DriverReports:
    """Drivers' reports over one storage: submission, the review queue, the reviews.

    ``secret`` salts the client hashes (the app's secret key).
    """

    #: How many recent changes of a facility the queue shows beside its reports.
    HISTORY_SHOWN = 5

    def __init__(self, storage: Any, clock: Clock, secret: str | bytes) -> None:
        self.storage = storage
        self.clock = clock
        self.secret = secret

    # ---- drivers ------------------------------------------------------------------------
    def submit(
        self,
        facility: Facility,
        values: ReportInput | None,
        *,
        client: str,
        honeypot: Any = None,
    ) -> Submitted:
        """Store a report about ``facility`` from ``client`` (an address, hashed here and
        never stored); a filled ``honeypot`` discards it. Three "still right" reports
        from different clients within :data:`CONFIRMATION_DAYS` verify the facility."""
        if honeypot not in (None, "", False) or values is None:
            return Submitted(None)
        now = utc_now(self.clock)
        report = self.storage.add_report(
            Report(
                id=0,
                facility_id=facility.id,
                category=values.category,
                created_at=now,
                text=values.text,
                amenity=values.amenity,
                lon=values.lon,
                lat=values.lat,
                client_hash=client_hash(self.secret, client, local_today(self.clock)),
                city_code=facility.city_code,
                county_code=facility.county_code,
            )
        )
        verified = report.category == "still_right" and self._confirm(facility.id)
        return Submitted(report, verified)

    def _confirm(self, facility_id: str) -> bool:
        """Verify the facility when enough different clients said "still right"."""
        since = utc_now(self.clock) - dt.timedelta(days=CONFIRMATION_DAYS)
        pending = self.storage.reports(
            facility_id=facility_id, category="still_right", status="pending", since=since
        )
        if len({r.client_hash for r in pending if r.client_hash}) < CONFIRMATIONS:
            return False
        try:
            stored = self.storage.get_facility(facility_id)
            today = local_today(self.clock)
            if stored.verified_on != today:
                Editing(self.storage).update(
                    _Confirmations(),
                    facility_id,
                    {"verified_on": today.isoformat()},
                    expected_version=stored.version,
                    actor=CONFIRMATION_ACTOR,
                )
        except (Conflict, NotFound):
            return False  # changed or deleted meanwhile: the next confirmation tries again
        note = f"{len(pending)} confirmations"
        for report in pending:
            try:
                self._review(report.id, "accepted", CONFIRMATION_ACTOR, note)
            except Conflict:
                pass  # reviewed by someone meanwhile
        return True

    # ---- the queue ------------------------------------------------------------------------
    def may_review(self, user: Any, report: Report, facility: Facility | None) -> bool:
        """Whether ``user`` may accept or reject ``report``: an editor of the facility's
        area (as it is now, else as it was when reported) or an admin."""
        if not getattr(user, "can_write", False):
            return False
        if facility is not None:
            return user.can_edit(facility)
        return user.can_edit_area((report.county_code, report.city_code))

    def _visible(self, user: Any, report: Report, facility: Facility | None) -> bool:
        if user.role in ("admin", "viewer"):
            return True
        codes = [report.county_code, report.city_code]
        if facility is not None:
            codes += [facility.county_code, facility.city_code]
        return any(code in user.areas for code in codes if code)

    def queue(
        self, user: Any, *, status: str | None = "pending", limit: int = 500
    ) -> list[ReportGroup]:
        """The reports ``user`` sees (editors: their areas; viewers and admins: all), of
        ``status`` (None: all), grouped per facility; the groups ordered by their newest
        report, each with the facility's recent history."""
        areas = None if user.role in ("admin", "viewer") else tuple(user.areas)
        found = self.storage.reports(status=status, areas=areas, limit=limit)
        ids = sorted({r.facility_id for r in found})
        facilities = {f.id: f for f in self.storage.facilities_by_id(ids)}
        groups: dict[str, list[Report]] = {}
        for report in found:  # newest first
            if self._visible(user, report, facilities.get(report.facility_id)):
                groups.setdefault(report.facility_id, []).append(report)
        result = []
        for facility_id, reports in groups.items():
            facility = facilities.get(facility_id)
            history = self.storage.history(facility_id)
            result.append(
                ReportGroup(
                    facility_id,
                    facility,
                    reports,
                    list(reversed(history))[: self.HISTORY_SHOWN],
                    version_changes(history),
                    self.may_review(user, reports[0], facility),
                )
            )
        return result

    # ---- reviews --------------------------------------------------------------------------
    def _reviewable(self, user: Any, report_id: int) -> tuple[Report, Facility | None]:
        report = self.storage.get_report(report_id)
        try:
            facility = self.storage.get_facility(report.facility_id)
        except NotFound:
            facility = None
        if not self.may_review(user, report, facility):
            where = (facility.county or facility.city) if facility else None
            raise Forbidden(Message("outside_areas", where=where or "—"), field="id")
        if report.status != "pending":
            raise Conflict(
                Message("report_reviewed", id=report.id, status=report.status), field="id"
            )
        return report, facility

    def _review(self, report_id: int, status: str, who: str, note: str | None) -> Report:
        return self.storage.review_report(
            report_id, status=status, reviewed_by=who, at=utc_now(self.clock), note=note
        )

    def accept(
        self,
        user: Any,
        report_id: int,
        values: Mapping[str, Any],
        *,
        expected_version: int,
    ) -> Edited:
        """Apply ``report`` to its facility as ``user`` (the fields of its category from
        ``values``, and ``verified_on`` today), at the facility version the editor saw
        (:class:`Conflict` when it changed since), then mark the report accepted."""
        report, facility = self._reviewable(user, report_id)
        if facility is None:
            raise NotFound(Message("report_facility_gone"), field="id")
        note = clean_text(values.get("review_note"), "review_note")
        try:
            changes = accepted_changes(report, facility, values, local_today(self.clock))
        except InvalidParameter as exc:
            raise ValidationFailed(exc.message, field=exc.field) from None
        edited = Editing(self.storage).update(
            user,
            facility.id,
            changes,
            expected_version=expected_version,
            actor=f"user:{user.name} (report:{report.id})",
        )
        self._review(report.id, "accepted", f"user:{user.name}", note)
        return edited

    def reject(self, user: Any, report_id: int, reason: Any) -> Report:
        """Mark ``report`` rejected by ``user`` with ``reason`` (required)."""
        report, _facility = self._reviewable(user, report_id)
        try:
            note = clean_text(reason, "review_note")
        except InvalidParameter as exc:
            raise ValidationFailed(exc.message, field=exc.field) from None
        if note is None:
            raise ValidationFailed(Message("report_reason_required"), field="review_note")
        return self._review(report.id, "rejected", f"user:{user.name}", note)


def amenity_label(key: str | None, lang: str) -> str:
    """An amenity's label in ``lang`` ("" for None)."""
    if not key:
        return ""
    return AMENITIES.get(key, {}).get(lang, key)


def category_choices(lang: str) -> list[dict[str, str]]:
    """The categories as a form offers them: key, label and the detail it asks for."""
    return [
        {"key": key, "label": labels[lang], "detail": DETAILS.get(key, "")}
        for key, labels in CATEGORIES.items()
    ]


def review_state_label(status: str, lang: str) -> str:
    return REVIEW_STATES[status][lang]


def latest_first(reports: Sequence[Report]) -> list[Report]:
    """``reports`` newest first (by id)."""
    return sorted(reports, key=lambda r: r.id, reverse=True)
