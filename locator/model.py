"""The data model: facilities, admin units and the vocabularies they use.

Facilities are plain dataclasses validated at the boundary (:func:`validate_facility`);
geometry is always WGS-84 longitude/latitude here, other datums live only at the
edges (:mod:`locator.crs`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import InvalidParameter
from .messages import Message

#: Facility kinds with their Chinese and English labels, in display order.
KINDS: dict[str, dict[str, str]] = {
    "driver_home": {"zh": "司机之家", "en": "Driver home"},
    "service_station": {"zh": "工会服务站", "en": "Union service station"},
    "service_point": {"zh": "服务点/驿站", "en": "Service point"},
    "logistics_park": {"zh": "物流园区", "en": "Logistics park"},
    "service_area": {"zh": "高速服务区", "en": "Expressway service area"},
    "legal_aid": {"zh": "法律援助工作站", "en": "Legal aid station"},
    "other": {"zh": "其他", "en": "Other"},
}

STATUSES: dict[str, dict[str, str]] = {
    "open": {"zh": "运营中", "en": "Open"},
    "under_construction": {"zh": "建设中", "en": "Under construction"},
    "planned": {"zh": "规划中", "en": "Planned"},
    "closed": {"zh": "已关闭", "en": "Closed"},
}

AMENITIES: dict[str, dict[str, str]] = {
    "truck_parking": {"zh": "货车停车", "en": "Truck parking"},
    "parking": {"zh": "停车", "en": "Parking"},
    "rest_room": {"zh": "休息室", "en": "Rest room"},
    "beds": {"zh": "床位", "en": "Beds"},
    "shower": {"zh": "淋浴", "en": "Shower"},
    "laundry": {"zh": "洗衣", "en": "Laundry"},
    "canteen": {"zh": "餐饮", "en": "Canteen"},
    "hot_water": {"zh": "热水", "en": "Hot water"},
    "toilet": {"zh": "卫生间", "en": "Toilet"},
    "wifi": {"zh": "无线网络", "en": "Wi-Fi"},
    "charging": {"zh": "充电", "en": "Charging"},
    "medical_kit": {"zh": "医药箱", "en": "Medical kit"},
    "counseling": {"zh": "心理咨询", "en": "Counseling"},
    "legal_aid": {"zh": "法律援助", "en": "Legal aid"},
    "repair": {"zh": "维修", "en": "Repair"},
    "reading": {"zh": "阅读", "en": "Reading"},
    # From the Ministry of Transport's driver-home standard:
    "food_heating": {"zh": "饭菜加热", "en": "Food heating"},
    "drinking_water": {"zh": "饮用水", "en": "Drinking water"},
    "vehicle_security": {"zh": "车货安保", "en": "Vehicle and cargo security"},
}

#: Whether truck parking costs money; ``parking_fee_note`` says how much ("货车 20元/晚").
PARKING_FEES: dict[str, dict[str, str]] = {
    "free": {"zh": "免费", "en": "Free"},
    "paid": {"zh": "收费", "en": "Paid"},
}

#: The tiers of the Ministry of Transport's driver-home standard.
TIERS: dict[str, dict[str, str]] = {
    "basic": {"zh": "基础型", "en": "Basic"},
    "extended": {"zh": "扩展型", "en": "Extended"},
}

ADMIN_LEVELS = ("province", "city", "county", "township")

#: Maximum lengths of the free-text fields.
MAX_LENGTHS = {
    "id": 120,
    "name": 200,
    "address": 300,
    "phone": 60,
    "operator": 200,
    "website": 300,
    "hours": 300,
    "source": 120,
    "source_id": 120,
    "parking_fee": 200,
    "parking_fee_note": 200,
}

#: The fields derived from the admin units; never taken from input.
DERIVED_FIELDS = ("city", "city_code", "county", "county_code", "township", "township_code")


@dataclass
class Facility:
    """A place that serves drivers: a driver home, a union station, a service area..."""

    id: str
    name: str
    kind: str
    lon: float
    lat: float
    status: str = "open"
    address: str | None = None
    phone: str | None = None
    operator: str | None = None
    website: str | None = None
    hours: str | None = None
    amenities: frozenset[str] = frozenset()
    truck_parking_spaces: int | None = None
    opened_on: dt.date | None = None
    parking_fee: str | None = None  # a key of PARKING_FEES
    parking_fee_note: str | None = None
    tier: str | None = None  # a key of TIERS
    #: Temporarily closed until this day (Asia/Shanghai), reopening on it.
    closed_until: dt.date | None = None
    #: The day a person last confirmed the record.
    verified_on: dt.date | None = None
    city: str | None = None
    city_code: str | None = None
    county: str | None = None
    county_code: str | None = None
    township: str | None = None
    township_code: str | None = None
    source: str | None = None
    source_id: str | None = None
    updated_at: dt.datetime | None = None
    version: int = 0

    def content_key(self) -> tuple:
        """The fields a user sets; equal keys mean an upsert would change nothing."""
        return (
            self.name,
            self.kind,
            round(self.lon, 7),
            round(self.lat, 7),
            self.status,
            self.address,
            self.phone,
            self.operator,
            self.website,
            self.hours,
            tuple(sorted(self.amenities)),
            self.truck_parking_spaces,
            self.opened_on,
            self.source,
            self.source_id,
            self.parking_fee,
            self.parking_fee_note,
            self.tier,
            self.closed_until,
            self.verified_on,
        )

    def to_properties(self) -> dict[str, Any]:
        """JSON-ready properties (everything but id and geometry)."""
        return {
            "name": self.name,
            "kind": self.kind,
            "status": self.status,
            "address": self.address,
            "phone": self.phone,
            "operator": self.operator,
            "website": self.website,
            "hours": self.hours,
            "amenities": sorted(self.amenities),
            "truck_parking_spaces": self.truck_parking_spaces,
            "opened_on": self.opened_on.isoformat() if self.opened_on else None,
            "parking_fee": self.parking_fee,
            "parking_fee_note": self.parking_fee_note,
            "tier": self.tier,
            "closed_until": self.closed_until.isoformat() if self.closed_until else None,
            "verified_on": self.verified_on.isoformat() if self.verified_on else None,
            "city": self.city,
            "city_code": self.city_code,
            "county": self.county,
            "county_code": self.county_code,
            "township": self.township,
            "township_code": self.township_code,
            "source": self.source,
            "source_id": self.source_id,
            "updated_at": self.updated_at.isoformat() if self.updated_at else None,
            "version": self.version,
        }

    def to_feature(self) -> dict[str, Any]:
        """A GeoJSON Feature (RFC 7946) of this facility."""
        return {
            "type": "Feature",
            "id": self.id,
            "geometry": {"type": "Point", "coordinates": [self.lon, self.lat]},
            "properties": self.to_properties(),
        }

    def replace(self, **changes: Any) -> Facility:
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)


@dataclass
class AdminUnit:
    """A province, city, county or township, with polygon and/or seat point."""

    code: str
    name: str
    level: str
    parent_code: str | None = None
    geometry: Any = None  # shapely (Multi)Polygon in WGS-84, or None
    seat_lon: float | None = None
    seat_lat: float | None = None
    demand: dict[str, float] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def has_seat(self) -> bool:
        return self.seat_lon is not None and self.seat_lat is not None


@dataclass
class CandidateSite:
    """A point that is not a facility but may host one or carry demand (e.g. a junction)."""

    id: str
    kind: str
    name: str | None
    lon: float
    lat: float
    extra: dict[str, Any] = field(default_factory=dict)


def suggest(value: str, choices: Iterable[str]) -> str | None:
    """The nearest valid value to ``value``, for "did you mean" messages."""
    matches = difflib.get_close_matches(value, list(choices), n=1, cutoff=0.5)
    return matches[0] if matches else None


def _label_index(vocabulary: Mapping[str, Mapping[str, str]]) -> dict[str, str]:
    index: dict[str, str] = {}
    for key, labels in vocabulary.items():
        index[key.lower()] = key
        for label in labels.values():
            index[label.lower()] = key
            for part in label.split("/"):
                index[part.strip().lower()] = key
    return index


_KIND_INDEX = _label_index(KINDS)
_STATUS_INDEX = _label_index(STATUSES)
_AMENITY_INDEX = _label_index(AMENITIES)

# Common Chinese words found in unions' spreadsheets.
_KIND_INDEX.update(
    {
        "司机之家": "driver_home",
        "货车司机之家": "driver_home",
        "工会驿站": "service_point",
        "驿站": "service_point",
        "户外劳动者驿站": "service_point",
        "服务点": "service_point",
        "村级服务点": "service_point",
        "服务站": "service_station",
        "镇级综合服务站": "service_station",
        "工会服务站": "service_station",
        "综合服务站": "service_station",
        "服务区": "service_area",
        "高速服务区": "service_area",
        "物流园": "logistics_park",
        "物流园区": "logistics_park",
        "物流中心": "logistics_park",
        "法律援助": "legal_aid",
        "法律援助站": "legal_aid",
    }
)
_STATUS_INDEX.update(
    {
        "开放": "open",
        "营业": "open",
        "营业中": "open",
        "已建成": "open",
        "运营": "open",
        "在建": "under_construction",
        "建设中": "under_construction",
        "规划": "planned",
        "拟建": "planned",
        "关闭": "closed",
        "停用": "closed",
    }
)
_AMENITY_INDEX.update(
    {
        "停车场": "parking",
        "货车停车位": "truck_parking",
        "大车停车": "truck_parking",
        "休息": "rest_room",
        "休息区": "rest_room",
        "住宿": "beds",
        "床铺": "beds",
        "洗澡": "shower",
        "沐浴": "shower",
        "洗衣房": "laundry",
        "吃饭": "canteen",
        "食堂": "canteen",
        "餐厅": "canteen",
        "开水": "hot_water",
        "厕所": "toilet",
        "wi-fi": "wifi",
        "无线网": "wifi",
        "充电桩": "charging",
        "药箱": "medical_kit",
        "急救箱": "medical_kit",
        "心理疏导": "counseling",
        "修车": "repair",
        "汽修": "repair",
        "书屋": "reading",
        "图书角": "reading",
        "热饭": "food_heating",
        "加热饭菜": "food_heating",
        "微波炉": "food_heating",
        "饭菜加热服务": "food_heating",
        "microwave": "food_heating",
        "饮水": "drinking_water",
        "饮水机": "drinking_water",
        "直饮水": "drinking_water",
        "免费饮水": "drinking_water",
        "water": "drinking_water",
        "安保": "vehicle_security",
        "车辆安保": "vehicle_security",
        "车货安全": "vehicle_security",
        "车货看护": "vehicle_security",
        "security": "vehicle_security",
        "vehicle security": "vehicle_security",
    }
)
_TIER_INDEX = _label_index(TIERS)
_TIER_INDEX.update({"基础": "basic", "基本型": "basic", "扩展": "extended", "拓展型": "extended"})


def _lookup(value: Any, index: dict[str, str], vocabulary: Mapping, field_name: str) -> str:
    text = str(value).strip()
    key = index.get(text.lower())
    if key is None:
        hint = suggest(text.lower(), index.keys())
        message = Message(
            "unknown_term",
            field=field_name,
            value=text,
            hint=index[hint] if hint is not None else None,
            valid=", ".join(vocabulary),
        )
        raise InvalidParameter(message, field=field_name)
    return key


def parse_kind(value: Any) -> str:
    """A kind key from a key, a Chinese or English label; InvalidParameter otherwise."""
    return _lookup(value, _KIND_INDEX, KINDS, "kind")


def parse_status(value: Any) -> str:
    """A status key from a key or a label; InvalidParameter otherwise."""
    return _lookup(value, _STATUS_INDEX, STATUSES, "status")


def parse_amenity(value: Any) -> str:
    """An amenity key from a key or a label; InvalidParameter otherwise."""
    return _lookup(value, _AMENITY_INDEX, AMENITIES, "amenity")


_AMENITY_SEPARATORS = ",，、;；|/ "


def parse_amenities(value: Any) -> frozenset[str]:
    """A set of amenity keys from a list or a string separated by , ， 、 ; | / or spaces."""
    if value is None:
        return frozenset()
    if isinstance(value, str):
        text = value
        for sep in _AMENITY_SEPARATORS[1:]:
            text = text.replace(sep, ",")
        items = [part for part in (p.strip() for p in text.split(",")) if part]
    else:
        items = [str(v).strip() for v in value if str(v).strip()]
    return frozenset(parse_amenity(item) for item in items)


def _is_empty(value: Any) -> bool:
    return (
        value is None
        or (isinstance(value, str) and not value.strip())
        or (isinstance(value, float) and math.isnan(value))
    )


def parse_tier(value: Any) -> str | None:
    """A tier key from a key or a label (基础型, 扩展型); None when empty."""
    if _is_empty(value):
        return None
    text = str(value).strip()
    key = _TIER_INDEX.get(text.lower())
    if key is None:
        raise InvalidParameter(Message("unknown_tier", value=text), field="tier")
    return key


#: Words that open a parking-fee text, longest first; 是/否 answer "is parking charged?".
_FEE_WORDS = sorted(
    {
        "免费": "free",
        "免费停车": "free",
        "不收费": "free",
        "无偿": "free",
        "否": "free",
        "free": "free",
        "no": "free",
        "false": "free",
        "收费": "paid",
        "收费停车": "paid",
        "付费": "paid",
        "有偿": "paid",
        "是": "paid",
        "paid": "paid",
        "yes": "paid",
        "true": "paid",
    }.items(),
    key=lambda pair: -len(pair[0]),
)
_FEE_TRIM = " \t,，;；:：、()（）-—"
_PRICE = re.compile(r"\d\s*(元|块|yuan|rmb|cny)|[¥￥]\s*\d", re.IGNORECASE)


def parse_parking_fee(value: Any) -> tuple[str | None, str | None]:
    """A parking fee key (``free``, ``paid``) and the note written after it.

    ``免费``, ``收费``, ``free``, ``paid``, ``是`` (charged) and ``否`` are read, also when
    a note follows (``收费 20元/晚`` is paid with the note ``20元/晚``); a bare price
    (``20元/晚``) is paid with the price as its note. ``(None, None)`` when empty.
    """
    if _is_empty(value):
        return None, None
    if isinstance(value, bool):
        return ("paid" if value else "free"), None
    text = str(value).strip()
    lower = text.lower()
    for word, key in _FEE_WORDS:
        if not lower.startswith(word):
            continue
        rest = text[len(word) :]
        if word.isascii() and rest[:1].isalpha():
            continue  # "nothing", "freeway": not the word
        return key, rest.strip(_FEE_TRIM) or None
    if _PRICE.search(text):
        return "paid", text
    raise InvalidParameter(Message("unknown_parking_fee", value=text), field="parking_fee")


def check_lon_lat(lon: Any, lat: Any) -> tuple[float, float]:
    """Validated WGS-84-range floats; InvalidParameter naming ``lon`` or ``lat`` otherwise."""
    values = []
    for name, value, limit in (("lon", lon, 180.0), ("lat", lat, 90.0)):
        if value is None or (isinstance(value, str) and not value.strip()):
            raise InvalidParameter(Message("required", name=name), field=name)
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise InvalidParameter(
                Message("not_number", name=name, got=value), field=name
            ) from None
        if not math.isfinite(number) or abs(number) > limit:
            raise InvalidParameter(
                Message("number_between", name=name, low=-limit, high=limit), field=name
            )
        values.append(number)
    return values[0], values[1]


def parse_date(value: Any, field_name: str = "opened_on") -> dt.date | None:
    """A date from ISO text, a datetime or an Excel-style ``2024/5/1``; None when empty."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = str(value).strip().replace("/", "-").replace(".", "-")
    for suffix in ("日",):
        text = text.replace(suffix, "")
    text = text.replace("年", "-").replace("月", "-")
    try:
        parts = [int(p) for p in text.split(" ")[0].split("-")]
        if len(parts) == 2:
            parts.append(1)
        return dt.date(*parts)
    except (TypeError, ValueError):
        raise InvalidParameter(
            Message("date_like", name=field_name, got=value), field=field_name
        ) from None


def _clean_text(value: Any, field_name: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    text = str(value).strip()
    if not text:
        return None
    limit = MAX_LENGTHS.get(field_name)
    if limit is not None and len(text) > limit:
        raise InvalidParameter(
            Message("text_length", name=field_name, length=len(text), limit=limit),
            field=field_name,
        )
    if any(ord(ch) < 32 and ch not in "\t\n" for ch in text):
        raise InvalidParameter(Message("control_characters", name=field_name), field=field_name)
    return text


def _parse_int(value: Any, field_name: str) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InvalidParameter(
            Message("not_whole_number", name=field_name, got=value), field=field_name
        ) from None
    if not number.is_integer() or number < 0:
        raise InvalidParameter(Message("whole_number_min_0", name=field_name), field=field_name)
    return int(number)


def validate_facility(data: Mapping[str, Any], *, today: dt.date | None = None) -> Facility:
    """Build a :class:`Facility` from loose input, or raise InvalidParameter naming the field.

    ``data`` holds WGS-84 ``lon``/``lat`` and the fields of the data model; labels in
    Chinese or English are accepted for kind, status, amenities, tier and parking fee.
    Derived fields (city, county, township) are ignored: they are assigned from the admin
    units. With ``today`` (Asia/Shanghai), a ``verified_on`` after it is refused.
    """
    lon, lat = check_lon_lat(data.get("lon"), data.get("lat"))
    name = _clean_text(data.get("name"), "name")
    if name is None:
        raise InvalidParameter(Message("required", name="name"), field="name")
    identifier = _clean_text(data.get("id"), "id")
    kind_value = data.get("kind")
    if kind_value is None or (isinstance(kind_value, str) and not kind_value.strip()):
        raise InvalidParameter(Message("required", name="kind"), field="kind")
    status_value = data.get("status")
    empty_status = status_value is None or (
        isinstance(status_value, str) and not status_value.strip()
    )
    return Facility(
        id=identifier or "",
        name=name,
        kind=parse_kind(kind_value),
        lon=lon,
        lat=lat,
        status="open" if empty_status else parse_status(status_value),
        address=_clean_text(data.get("address"), "address"),
        phone=_clean_text(data.get("phone"), "phone"),
        operator=_clean_text(data.get("operator"), "operator"),
        website=_clean_text(data.get("website"), "website"),
        hours=_clean_text(data.get("hours"), "hours"),
        amenities=parse_amenities(data.get("amenities")),
        truck_parking_spaces=_parse_int(data.get("truck_parking_spaces"), "truck_parking_spaces"),
        opened_on=parse_date(data.get("opened_on")),
        **_model_additions(data, today),
        source=_clean_text(data.get("source"), "source"),
        source_id=_clean_text(data.get("source_id"), "source_id"),
        version=int(data.get("version") or 0),
    )


def _model_additions(data: Mapping[str, Any], today: dt.date | None) -> dict[str, Any]:
    """The validated parking fee and note, tier, ``closed_until`` and ``verified_on``.

    A note written after the fee word (``收费 20元/晚``) is the note when
    ``parking_fee_note`` is empty; two different notes are refused.
    """
    _clean_text(data.get("parking_fee"), "parking_fee")  # length and control characters
    fee, written = parse_parking_fee(data.get("parking_fee"))
    note = _clean_text(data.get("parking_fee_note"), "parking_fee_note")
    if written is not None and note is not None and written != note:
        raise InvalidParameter(
            Message("parking_fee_two_notes", written=written, note=note), field="parking_fee"
        )
    verified = parse_date(data.get("verified_on"), "verified_on")
    if today is not None and verified is not None and verified > today:
        raise InvalidParameter(
            Message("verified_on_future", got=verified.isoformat(), today=today.isoformat()),
            field="verified_on",
        )
    return {
        "parking_fee": fee,
        "parking_fee_note": note if note is not None else written,
        "tier": parse_tier(data.get("tier")),
        "closed_until": parse_date(data.get("closed_until"), "closed_until"),
        "verified_on": verified,
    }
