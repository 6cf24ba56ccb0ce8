"""How fast a vehicle goes on each class of road, and which roads it may use.

The truck profile's speeds are planning figures for a loaded lorry on Chinese roads
(expressways are limited to 100 km/h for trucks, and far slower in practice); a
deployment sets its own with ``LOCATOR_ROAD_SPEEDS`` ("motorway=80,primary=50").
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from typing import Any

from ..errors import InvalidParameter

#: Truck speeds by OpenStreetMap ``highway`` class, km/h.
TRUCK_SPEEDS_KMH: dict[str, float] = {
    "motorway": 80.0,
    "motorway_link": 45.0,
    "trunk": 65.0,
    "trunk_link": 40.0,
    "primary": 55.0,
    "primary_link": 35.0,
    "secondary": 45.0,
    "secondary_link": 30.0,
    "tertiary": 35.0,
    "tertiary_link": 25.0,
    "unclassified": 30.0,
    "road": 30.0,
    "residential": 20.0,
    "living_street": 10.0,
    "service": 15.0,
}


@dataclass(frozen=True)
class VehicleProfile:
    """Speeds by road class, a speed cap, the vehicle's weight and height.

    ``unclassed_kmh`` is the speed of an edge without a class (the coarse network of
    major roads carries none); ``access_kmh`` the speed of the leg between a point and
    the road it is snapped to.
    """

    name: str = "truck"
    speeds_kmh: dict[str, float] = field(default_factory=lambda: dict(TRUCK_SPEEDS_KMH))
    cap_kmh: float = 90.0
    unclassed_kmh: float = 60.0
    access_kmh: float = 30.0
    weight_t: float = 18.0
    height_m: float = 4.0

    def speed_kmh(self, road_class: str | None, maxspeed_kmh: float | None = None) -> float:
        """The speed on an edge: its class's (or the unclassed one), under its
        ``maxspeed`` where tagged and under the cap."""
        speed = self.speeds_kmh.get(road_class or "", self.unclassed_kmh)
        if maxspeed_kmh is not None and not math.isnan(maxspeed_kmh) and maxspeed_kmh > 0:
            speed = min(speed, maxspeed_kmh)
        return min(speed, self.cap_kmh)

    def allows(self, hgv: str | None, maxweight_t: float | None, maxheight_m: float | None) -> bool:
        """Whether the vehicle may use an edge with these tags."""
        if hgv is not None and hgv.strip().lower() == "no":
            return False
        if maxweight_t is not None and not math.isnan(maxweight_t) and maxweight_t < self.weight_t:
            return False
        return not (
            maxheight_m is not None and not math.isnan(maxheight_m) and maxheight_m < self.height_m
        )

    def with_speeds(self, text: str | None) -> VehicleProfile:
        """This profile with the speeds of ``text`` ("motorway=80,primary=50") replaced."""
        if not text or not text.strip():
            return self
        speeds = dict(self.speeds_kmh)
        for part in text.split(","):
            road_class, _, value = part.partition("=")
            try:
                speed = float(value)
            except ValueError:
                speed = math.nan
            if not road_class.strip() or not 1 <= speed <= 200:
                raise InvalidParameter(
                    f"road speeds are class=km/h between 1 and 200, not {part.strip()!r}",
                    field="road_speeds",
                )
            speeds[road_class.strip()] = speed
        return replace(self, speeds_kmh=speeds)


# ---- reading OpenStreetMap tags ----------------------------------------------------------
_NUMBER = re.compile(r"^\s*(\d+(?:[.,]\d+)?)\s*([a-z\"']*)")
_FEET_INCHES = re.compile(r"^\s*(\d+)\s*'\s*(?:(\d+)\s*\")?\s*$")


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value == ""


def parse_maxspeed(value: Any) -> float | None:
    """``maxspeed`` in km/h ("60", "40 mph"); None for "none", "signals" or untagged."""
    if _is_missing(value):
        return None
    match = _NUMBER.match(str(value).lower())
    if not match:
        return None
    speed = float(match.group(1).replace(",", "."))
    return speed * 1.609344 if match.group(2) == "mph" else speed


def parse_maxweight(value: Any) -> float | None:
    """``maxweight`` in tonnes ("7.5", "20 t", "3500 kg"); None when untagged or unread."""
    if _is_missing(value):
        return None
    match = _NUMBER.match(str(value).lower())
    if not match:
        return None
    weight = float(match.group(1).replace(",", "."))
    unit = match.group(2)
    if unit == "kg":
        return weight / 1000.0
    if unit in ("lbs", "lb"):
        return weight * 0.00045359237
    if unit == "st":  # short tons
        return weight * 0.90718474
    return weight


def parse_maxheight(value: Any) -> float | None:
    """``maxheight`` in metres ("3.8", "3.8 m", "12'6\""); None for "default", "none"."""
    if _is_missing(value):
        return None
    text = str(value).lower()
    feet = _FEET_INCHES.match(text)
    if feet:
        return int(feet.group(1)) * 0.3048 + int(feet.group(2) or 0) * 0.0254
    match = _NUMBER.match(text)
    if not match:
        return None
    height = float(match.group(1).replace(",", "."))
    return height / 100.0 if match.group(2) == "cm" else height


def oneway_direction(oneway: Any, highway: Any, junction: Any = None) -> int:
    """1: only source→target; -1: only target→source; 0: both ways.

    Motorways, their links and roundabouts are one-way unless tagged ``oneway=no``.
    """
    text = "" if _is_missing(oneway) else str(oneway).strip().lower()
    if text in ("yes", "true", "1"):
        return 1
    if text in ("-1", "reverse"):
        return -1
    if text in ("no", "false", "0"):
        return 0
    implied = str(highway or "") in ("motorway", "motorway_link") or str(junction or "") in (
        "roundabout",
        "circular",
    )
    return 1 if implied else 0
