"""Links that open a facility in the map apps drivers use, each in that app's datum.

Facilities are stored in WGS-84; Amap (高德) and Tencent (腾讯) work in GCJ-02 and Baidu
(百度) in BD-09, so coordinates are converted here and the app is told the datum.
Every parameter value is percent-encoded (:func:`urllib.parse.quote`), so a name with
``&``, ``#``, ``<``, spaces or Chinese arrives intact.

The URL forms follow the apps' documentation (checked 2025/2026):

- Amap marker: https://lbs.amap.com/api/uri-api/guide/mobile-web/point —
  ``https://uri.amap.com/marker?position=lon,lat&name=&src=&coordinate=gaode&callnative=1``
  (``coordinate=gaode`` means GCJ-02; ``callnative=1`` opens the app on phones).
- Amap route: https://lbs.amap.com/api/uri-api/guide/travel/route —
  ``https://uri.amap.com/navigation?to=lon,lat,name&mode=car&src=&callnative=1``
  (GCJ-02; without ``from`` the phone's position is the start).
- Baidu marker: lbsyun.baidu.com "URI API / web" —
  ``https://api.map.baidu.com/marker?location=lat,lng&title=&content=&output=html&coord_type=bd09ll&src=``
  (latitude first; ``src`` is required, ``webapp.company.app``).
- Tencent marker: https://lbs.qq.com/webApi/uriV1/uriGuide/uriWebMarker —
  ``https://apis.map.qq.com/uri/v1/marker?marker=coord:lat,lng;title:;addr:&referer=``
  (latitude first; GCJ-02 is Tencent's default datum; ``referer`` is required).
- ``geo:lat,lon?q=lat,lon(label)`` (RFC 5870 with Android's label form), WGS-84, for
  any other map app on the phone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote

from .crs import wgs84_to_bd09, wgs84_to_gcj02
from .model import Facility, check_lon_lat

#: Who is calling, for the apps' statistics (Amap ``src``, Tencent ``referer``).
SOURCE = "locator"
#: Baidu asks for ``webapp.<company>.<app>``.
BAIDU_SOURCE = "webapp.locator.stations"
#: Decimal places of coordinates in links: 6 is about 0.1 m.
DIGITS = 6

#: App names shown on the buttons.
APP_LABELS = {
    "amap": {"zh": "高德地图", "en": "Amap (Gaode)"},
    "amap_route": {"zh": "高德导航", "en": "Amap route"},
    "baidu": {"zh": "百度地图", "en": "Baidu Maps"},
    "tencent": {"zh": "腾讯地图", "en": "Tencent Maps"},
    "geo": {"zh": "其他地图应用", "en": "Other map app"},
}

# Separators inside Tencent's marker value (``key:value;key:value|...``), Amap's ``to``
# (``lon,lat,name``) and the geo: label ``(name)`` have no escape; their full-width forms
# read the same to a person.
_TENCENT_FIELD = str.maketrans({";": "；", ":": "：", "|": "｜"})
_AMAP_TO = str.maketrans({",": "，"})
_GEO_LABEL = str.maketrans({"(": "（", ")": "）"})


def _q(value: object) -> str:
    """``value`` percent-encoded for a query parameter (nothing left unescaped)."""
    return quote(str(value), safe="")


def _num(value: float) -> str:
    text = f"{value:.{DIGITS}f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _pair(first: float, second: float) -> str:
    return f"{_num(first)},{_num(second)}"


def _label(name: str | None) -> str:
    return re.sub(r"\s+", " ", name or "").strip()


def amap_marker_url(lon: float, lat: float, name: str) -> str:
    """Amap's marker page (or app) at a WGS-84 point, sent in GCJ-02."""
    lon, lat = check_lon_lat(lon, lat)
    g_lon, g_lat = wgs84_to_gcj02(lon, lat)
    return (
        f"https://uri.amap.com/marker?position={_pair(g_lon, g_lat)}"
        f"&name={_q(_label(name))}&src={_q(SOURCE)}&coordinate=gaode&callnative=1"
    )


def amap_route_url(lon: float, lat: float, name: str) -> str:
    """Amap's driving route from the phone's position to a WGS-84 point (sent in GCJ-02)."""
    lon, lat = check_lon_lat(lon, lat)
    g_lon, g_lat = wgs84_to_gcj02(lon, lat)
    target = f"{_pair(g_lon, g_lat)},{_label(name).translate(_AMAP_TO)}"
    return f"https://uri.amap.com/navigation?to={_q(target)}&mode=car&src={_q(SOURCE)}&callnative=1"


def baidu_marker_url(lon: float, lat: float, name: str, address: str | None = None) -> str:
    """Baidu's marker page (or app) at a WGS-84 point, sent in BD-09 (latitude first)."""
    lon, lat = check_lon_lat(lon, lat)
    b_lon, b_lat = wgs84_to_bd09(lon, lat)
    title = _label(name)
    return (
        f"https://api.map.baidu.com/marker?location={_pair(b_lat, b_lon)}"
        f"&title={_q(title)}&content={_q(_label(address) or title)}"
        f"&output=html&coord_type=bd09ll&src={_q(BAIDU_SOURCE)}"
    )


def tencent_marker_url(lon: float, lat: float, name: str, address: str | None = None) -> str:
    """Tencent's marker page (or app) at a WGS-84 point, sent in GCJ-02 (latitude first)."""
    lon, lat = check_lon_lat(lon, lat)
    g_lon, g_lat = wgs84_to_gcj02(lon, lat)
    title = _label(name).translate(_TENCENT_FIELD)
    addr = (_label(address) or _label(name)).translate(_TENCENT_FIELD)
    marker = f"coord:{_pair(g_lat, g_lon)};title:{title};addr:{addr}"
    return f"https://apis.map.qq.com/uri/v1/marker?marker={_q(marker)}&referer={_q(SOURCE)}"


def geo_uri(lon: float, lat: float, name: str) -> str:
    """A ``geo:`` URI (WGS-84) with the name as the label, for any map app."""
    lon, lat = check_lon_lat(lon, lat)
    point = _pair(lat, lon)
    return f"geo:{point}?q={point}({_q(_label(name).translate(_GEO_LABEL))})"


@dataclass(frozen=True)
class NavigationLink:
    """One way to open a place in a map app."""

    app: str
    url: str
    datum: str

    def label(self, lang: str = "zh") -> str:
        """The app's name in ``lang`` (zh or en)."""
        labels = APP_LABELS[self.app]
        return labels.get(lang) or labels["zh"]


def navigation_links(facility: Facility) -> list[NavigationLink]:
    """Links opening ``facility`` in Amap (marker and route), Baidu, Tencent and geo: apps.

    Examples
    --------
    >>> from locator.model import Facility
    >>> links = navigation_links(Facility("a", "司机之家", "driver_home", 117.2272, 31.8206))
    >>> [link.app for link in links]
    ['amap', 'amap_route', 'baidu', 'tencent', 'geo']
    >>> links[0].url.startswith("https://uri.amap.com/marker?position=117.232")
    True
    """
    f = facility
    return [
        NavigationLink("amap", amap_marker_url(f.lon, f.lat, f.name), "gcj02"),
        NavigationLink("amap_route", amap_route_url(f.lon, f.lat, f.name), "gcj02"),
        NavigationLink("baidu", baidu_marker_url(f.lon, f.lat, f.name, f.address), "bd09"),
        NavigationLink("tencent", tencent_marker_url(f.lon, f.lat, f.name, f.address), "gcj02"),
        NavigationLink("geo", geo_uri(f.lon, f.lat, f.name), "wgs84"),
    ]


def phone_links(phone: str | None) -> list[tuple[str, str]]:
    """``(shown text, tel: URI)`` for each number in a phone field (``0551-1234 / 138...``).

    The URI keeps digits and a leading ``+`` only; pieces without digits are dropped.

    Examples
    --------
    >>> phone_links("0551-6512 3456 / 13800000000")
    [('0551-6512 3456', 'tel:055165123456'), ('13800000000', 'tel:13800000000')]
    """
    if not phone:
        return []
    links = []
    for piece in re.split(r"\s*[/,，、;；]\s*", phone.strip()):
        digits = re.sub(r"[^\d+]", "", piece)
        digits = digits[:1] + digits[1:].replace("+", "")
        if sum(ch.isdigit() for ch in digits) >= 3:
            links.append((piece.strip(), f"tel:{digits}"))
    return links
