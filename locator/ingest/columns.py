"""Columns: which of the file's headers fills which of our fields.

The headers recognised for each field (English, Chinese and the short forms of
Shapefiles), the combined "lon,lat" headers, the headers ignored
on purpose, and the Chinese labels of our fields for messages. The header row of a
sheet is found by :func:`_header_row` (the row with most known headers among the
first ten); :func:`map_columns` then matches the headers to our fields, honouring
the user's ``mapping``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import InvalidParameter
from ..model import DERIVED_FIELDS
from .table import _empty

#: Header rows searched above the data (a title may sit above the header).
_HEADER_SEARCH_ROWS = 10

#: Our fields that a column can fill, with the headers recognised for each, best first.
FIELD_ALIASES: dict[str, tuple[str, ...]] = {
    "id": ("id", "编号", "站点编号", "站点id", "facility_id"),
    "name": (
        "name",
        "名称",
        "站点名称",
        "服务站名称",
        "驿站名称",
        "站名",
        "服务区名称",
        "司机之家名称",
        "title",
    ),
    "lon": (
        "lon",
        "lng",
        "longitude",
        "long",
        "lon_wgs84",
        "lng_wgs84",
        "经度",
        "东经",
        "x",
        "x坐标",
    ),
    "lat": ("lat", "latitude", "lat_wgs84", "纬度", "北纬", "y", "y坐标"),
    "address": ("address", "addr", "地址", "详细地址", "站点地址", "所在地址"),
    "kind": ("kind", "type", "类型", "站点类型", "类别"),
    "status": ("status", "状态", "建设状态", "运营状态"),
    "phone": ("phone", "tel", "telephone", "电话", "联系电话", "联系方式", "服务电话"),
    "hours": ("hours", "opening_hours", "营业时间", "开放时间", "服务时间"),
    "amenities": ("amenities", "服务设施", "服务项目", "设施", "配套设施", "服务功能"),
    "operator": ("operator", "运营单位", "管理单位", "运营方", "运营主体"),
    "website": ("website", "url", "网址", "网站"),
    "truck_parking_spaces": (
        "truck_parking_spaces",
        "truck_park",
        "货车停车位",
        "停车位数",
        "停车位",
        "货车车位数",
    ),
    "opened_on": ("opened_on", "建成时间", "开放日期", "启用时间", "建成日期", "启用日期"),
    "parking_fee": (
        "parking_fee",
        "停车收费",
        "停车费",
        "是否收费",
        "收费情况",
        "停车收费情况",
        "收费",
        "parking_fe",
    ),
    "parking_fee_note": (
        "parking_fee_note",
        "停车收费说明",
        "收费说明",
        "收费标准",
        "停车收费标准",
        "停车费标准",
        "fee_note",
    ),
    "tier": ("tier", "建设类型", "建设标准", "站点等级", "等级", "基础型/扩展型"),
    "closed_until": (
        "closed_until",
        "暂停营业至",
        "暂停至",
        "停业至",
        "临时关闭至",
        "closed_unt",
    ),
    "verified_on": (
        "verified_on",
        "核实日期",
        "最近核实",
        "核实时间",
        "最后核实日期",
        "last_verified",
        "verified_o",
    ),
    "source": ("source", "来源", "数据来源"),
    "source_id": ("source_id", "原编号", "source_i"),
}

#: Our fields, in report order.
FIELDS: tuple[str, ...] = tuple(FIELD_ALIASES)

#: Headers of one column holding "lon,lat".
COORDINATE_ALIASES = (
    "经纬度",
    "坐标",
    "经纬度坐标",
    "coordinates",
    "coords",
    "lnglat",
    "lonlat",
    "lng,lat",
    "lon,lat",
    "location",
    "经度,纬度",
    "经度纬度",
)

#: Headers we know and ignore on purpose: derived from the admin units or kept by storage.
IGNORED_ALIASES = (
    *DERIVED_FIELDS,
    "city_cod",
    "county_cod",
    "township",
    "township_c",
    "updated_at",
    "version",
    "row",
    "reason",
    "城市",
    "城市代码",
    "区县",
    "区县代码",
    "乡镇街道",
    "乡镇街道代码",
    "更新时间",
    "版本",
    "序号",
    "错误原因",
)

#: Chinese labels of our fields, for messages.
FIELD_LABELS_ZH: dict[str, str] = {
    "id": "编号",
    "name": "名称",
    "lon": "经度",
    "lat": "纬度",
    "address": "地址",
    "kind": "类型",
    "status": "状态",
    "phone": "电话",
    "hours": "营业时间",
    "amenities": "服务设施",
    "operator": "运营单位",
    "website": "网址",
    "truck_parking_spaces": "货车停车位",
    "opened_on": "建成时间",
    "parking_fee": "停车收费",
    "parking_fee_note": "停车收费说明",
    "tier": "建设类型",
    "closed_until": "暂停营业至",
    "verified_on": "核实日期",
    "source": "来源",
    "source_id": "原编号",
    "geometry": "几何",
    "coordinates": "经纬度",
    "sheet": "工作表",
    "mapping": "列映射",
}

_PARENS = re.compile(r"[(\[（【][^)\]）】]*[)\]）】]")
_HEADER_JUNK = re.compile(r"[\s_\-.*:#/：]+")


def normalize_header(text: Any) -> str:
    """A header reduced for matching: NFKC, lower case, no spaces, ``_``, ``-``, ``*``,
    or parenthesised notes such as ``经度(GCJ-02)``."""
    value = unicodedata.normalize("NFKC", str(text)).lower()
    value = _PARENS.sub("", value)
    return _HEADER_JUNK.sub("", value)


def _build_alias_index() -> dict[str, tuple[str, int]]:
    index: dict[str, tuple[str, int]] = {}
    for name, aliases in FIELD_ALIASES.items():
        for rank, alias in enumerate(aliases):
            index.setdefault(normalize_header(alias), (name, rank))
    return index


_ALIAS_INDEX = _build_alias_index()
_COORDINATE_INDEX = {normalize_header(a) for a in COORDINATE_ALIASES}
_IGNORED_INDEX = {normalize_header(a) for a in IGNORED_ALIASES}


def _known_header(text: Any, extra: set[str]) -> bool:
    key = normalize_header(text)
    return (
        key in _ALIAS_INDEX
        or key in _COORDINATE_INDEX
        or key in _IGNORED_INDEX
        or str(text).strip() in extra
    )


def _header_row(head: Sequence[Sequence[Any]], mapping: Mapping[str, Any] | None) -> int | None:
    """Index in ``head`` (the first rows of a sheet) of the header: the first row with most
    known headers (or headers named by ``mapping``), None when every row is empty."""
    extra = {str(v).strip() for v in (mapping or {}).values() if v is not None}
    header_idx, best = None, 0
    for i, cells in enumerate(head):
        texts = [c for c in cells if not _empty(c)]
        if not texts:
            continue
        if header_idx is None:
            header_idx = i
        score = sum(1 for c in texts if _known_header(c, extra))
        if score > best:
            header_idx, best = i, score
    return header_idx


@dataclass
class ColumnMap:
    """Which of the file's headers fills which of our fields."""

    fields: dict[str, str] = field(default_factory=dict)
    coordinates: str | None = None
    explicit: set[str] = field(default_factory=set)
    unknown: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    duplicates: list[tuple[str, str, str]] = field(default_factory=list)

    def used(self) -> dict[str, str]:
        """Field -> header, including ``coordinates`` for a combined column."""
        out = dict(self.fields)
        if self.coordinates is not None:
            out["coordinates"] = self.coordinates
        return out


def map_columns(headers: Sequence[str], mapping: Mapping[str, Any] | None = None) -> ColumnMap:
    """Match the file's headers to our fields.

    Parameters
    ----------
    headers : sequence of str
        The file's headers.
    mapping : mapping, optional
        ``{our_field: their_header}`` overriding the automatic match; ``coordinates``
        names a combined "lon,lat" column; a None value leaves a field unmapped.

    Returns
    -------
    ColumnMap
        The matches, and the headers left unknown or deliberately ignored.

    Raises
    ------
    InvalidParameter
        For an unknown field or a header not in the file (field ``mapping``).
    """
    result = ColumnMap()
    taken: set[str] = set()
    disabled: set[str] = set()
    for ours, theirs in (mapping or {}).items():
        if ours not in FIELD_ALIASES and ours != "coordinates":
            raise InvalidParameter(
                f"mapping names an unknown field {ours!r}; fields: "
                f"{', '.join((*FIELDS, 'coordinates'))}",
                field="mapping",
            )
        if theirs is None:
            disabled.add(ours)
            continue
        header = str(theirs)
        if header not in headers:
            matches = [h for h in headers if normalize_header(h) == normalize_header(header)]
            if not matches:
                raise InvalidParameter(
                    f"mapping for {ours!r}: no column {header!r} in the file; headers found: "
                    f"{', '.join(headers) or '(none)'}",
                    field="mapping",
                )
            header = matches[0]
        if ours == "coordinates":
            result.coordinates = header
        else:
            result.fields[ours] = header
        result.explicit.add(ours)
        taken.add(header)
    best: dict[str, tuple[int, str]] = {}
    coordinate_candidates = []
    for header in headers:
        if header in taken:
            continue
        key = normalize_header(header)
        if key in _ALIAS_INDEX:
            name, rank = _ALIAS_INDEX[key]
            if name in result.explicit or name in disabled:
                result.unknown.append(header)
            elif name not in best or rank < best[name][0]:
                if name in best:
                    result.duplicates.append((name, header, best[name][1]))
                best[name] = (rank, header)
            else:
                result.duplicates.append((name, best[name][1], header))
        elif key in _COORDINATE_INDEX:
            coordinate_candidates.append(header)
        elif key in _IGNORED_INDEX:
            result.ignored.append(header)
        else:
            result.unknown.append(header)
    for name in FIELDS:
        if name in best:
            result.fields[name] = best[name][1]
    has_pair = "lon" in result.fields and "lat" in result.fields
    if (
        result.coordinates is None
        and coordinate_candidates
        and not has_pair
        and "coordinates" not in disabled
    ):
        result.coordinates = coordinate_candidates[0]
        coordinate_candidates = coordinate_candidates[1:]
    result.ignored.extend(coordinate_candidates)
    if result.coordinates is not None and not has_pair:
        # A lone lon or lat column next to a combined one: the combined one wins.
        for name in ("lon", "lat"):
            if name in result.fields and name not in result.explicit:
                result.ignored.append(result.fields.pop(name))
    return result
