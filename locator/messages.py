"""Library prose in Chinese and English, looked up by key.

An error carries a :class:`Message`: a key into :data:`MESSAGES` and its parameters. It
is a ``str`` (the English text, which the JSON API answers), and renders in another
language on request (:meth:`Message.translated`), so a page, the CLI or an import report
shows Chinese by lookup, never by rewriting the English text.

Parameters are formatted with :meth:`str.format`; a parameter that is itself a
:class:`Message` is rendered in the same language. A template may also be a function
of the language-independent parameters, for texts that need more than substitution.
Vocabulary labels (kinds, statuses, amenities) live beside the vocabularies in
:mod:`locator.model`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

LANGUAGES = ("zh", "en")

Template = str | Callable[[Mapping[str, Any]], str]


def _choices_zh(vocabulary: Mapping[str, Mapping[str, str]]) -> str:
    return "、".join(v["zh"] for v in vocabulary.values())


def _unknown_term_zh(p: Mapping[str, Any]) -> str:
    from .model import AMENITIES, KINDS, STATUSES

    label, vocabulary = {
        "kind": ("类型", KINDS),
        "status": ("状态", STATUSES),
        "amenity": ("服务设施", AMENITIES),
    }[p["field"]]
    text = f"无法识别的{label}“{p['value']}”"
    if p.get("hint"):
        text += f"，是否应为“{vocabulary[p['hint']]['zh']}”({p['hint']})？"
    return text + f" 可选：{_choices_zh(vocabulary)}"


def _unknown_term_en(p: Mapping[str, Any]) -> str:
    text = f"unknown {p['field']} {p['value']!r}"
    if p.get("hint"):
        text += f"; did you mean {p['hint']!r}?"
    return text + f" (valid: {p['valid']})"


def _review_state_zh(status: str) -> str:
    from .driver_reports import REVIEW_STATES

    return REVIEW_STATES.get(status, {}).get("zh", status)


#: Chinese names of the fields an accepted report may correct.
_REPORT_FIELDS_ZH = {"hours": "营业时间", "phone": "电话"}


_WEEKDAYS_EN = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_WEEKDAYS_ZH = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")


def _when_en(p: Mapping[str, Any], at: str = "") -> str:
    """A time of the hours preview (``days`` ahead, ``weekday``, ``time``, ``date``)."""
    if p["days"] == 0:
        return f"{at}{p['time']}"
    if p["days"] == 1:
        return f"tomorrow {at}{p['time']}"
    if p["days"] < 7:
        return f"on {_WEEKDAYS_EN[p['weekday']]} {at}{p['time']}"
    return f"on {p['date']} {at}{p['time']}"


def _when_zh(p: Mapping[str, Any]) -> str:
    day = {0: "今天", 1: "明天"}.get(p["days"])
    if day is None:
        day = _WEEKDAYS_ZH[p["weekday"]] if p["days"] < 7 else p["date"]
    return f"{day} {p['time']}"


#: Every keyed text: ``key -> {"en": template, "zh": template}``.
MESSAGES: dict[str, dict[str, Template]] = {
    # ---- parameters and fields -----------------------------------------------------------
    "required": {"en": "{name} is required", "zh": "{name} 不能为空"},
    "not_number": {
        "en": "{name} must be a number, got {got!r}",
        "zh": "{name} 必须是数字，实际为 {got!r}",
    },
    "number_between": {
        "en": "{name} must be between {low:g} and {high:g}",
        "zh": "{name} 必须在 {low:g} 到 {high:g} 之间",
    },
    "int_between": {
        "en": "{name} must be between {low} and {high}",
        "zh": "{name} 必须在 {low} 到 {high} 之间",
    },
    "not_whole_number": {
        "en": "{name} must be a whole number, got {got!r}",
        "zh": "{name} 必须是整数，实际为 {got!r}",
    },
    "whole_number_min_0": {
        "en": "{name} must be a whole number of 0 or more",
        "zh": "{name} 必须是大于等于 0 的整数",
    },
    "not_bool": {
        "en": "{name} must be true or false, got {got!r}",
        "zh": "{name} 必须是 true 或 false，实际为 {got!r}",
    },
    "bool_only": {"en": "{name} must be true or false", "zh": "{name} 必须是 true 或 false"},
    "number_only": {"en": "{name} must be a number", "zh": "{name} 必须是数字"},
    "single_value": {"en": "{name} must be a single value", "zh": "{name} 只能有一个值"},
    "one_of": {"en": "{name} must be one of {choices}", "zh": "{name} 必须是以下之一：{choices}"},
    "unknown_name": {
        "en": "unknown {what} {name!r}; known: {known}",
        "zh": "无法识别的{what_zh} {name!r}；可用：{known}",
    },
    "too_long_text": {
        "en": "{name} is limited to {limit} characters",
        "zh": "{name} 最多 {limit} 个字符",
    },
    "text_length": {
        "en": "{name} is {length} characters long; the limit is {limit}",
        "zh": "{name} 长度为 {length} 个字符，超过上限 {limit}",
    },
    "control_characters": {"en": "{name} contains control characters", "zh": "{name} 含有控制字符"},
    "date_like": {
        "en": "{name} must be a date like 2024-05-01, got {got!r}",
        "zh": "{name} 日期无法识别，应写作 2024-05-01 这样的格式，实际为 {got!r}",
    },
    "datetime_like": {
        "en": "{name} must be an ISO date-time like 2026-11-30T08:00+08:00",
        "zh": "{name} 必须是 ISO 日期时间，例如 2026-11-30T08:00+08:00",
    },
    "prefixed": {"en": "{name}: {inner}", "zh": "{name}：{inner}"},
    "unknown_term": {"en": _unknown_term_en, "zh": _unknown_term_zh},
    "bbox_numbers": {
        "en": "bbox must be four numbers: west,south,east,north",
        "zh": "bbox 必须是四个数字：西,南,东,北",
    },
    "bbox_south_north": {
        "en": "bbox: south must not be above north",
        "zh": "bbox：南边界不能在北边界之北",
    },
    # ---- areas -------------------------------------------------------------------------------
    "unknown_area": {"en": "unknown {level} {value!r}", "zh": "找不到{level_zh}“{value}”"},
    "county_not_in_city": {
        "en": "county {county!r} is not in city {city!r}",
        "zh": "区县“{county}”不属于“{city}”",
    },
    "no_grid_polygon": {
        "en": "{area} has no polygon to lay a grid on",
        "zh": "{area} 没有边界数据，无法铺设网格",
    },
    "no_polygon": {"en": "no polygon to lay a grid on", "zh": "没有边界数据，无法铺设网格"},
    # ---- coverage and plans ------------------------------------------------------------------
    "radius_range": {
        "en": "radius_km must be above 0 and at most {high:g}",
        "zh": "radius_km 必须大于 0 且不超过 {high:g}",
    },
    "known_kinds": {"en": "kinds must be known facility kinds", "zh": "kind 必须是已知的站点类型"},
    "known_statuses": {"en": "statuses must be known statuses", "zh": "status 必须是已知的状态"},
    "resolution_range": {
        "en": "resolution must be between {low} and {high}",
        "zh": "resolution 必须在 {low} 到 {high} 之间",
    },
    "grid_listed_cells": {
        "en": "resolution {resolution} would list about {cells:,.0f} cells of this area; "
        "one answer lists at most {limit:,}: choose a coarser resolution, a smaller area, "
        "or blind_only=true",
        "zh": "网格级别 {resolution} 将列出本区域约 {cells:,.0f} 个网格，一次最多列出 "
        "{limit:,} 个：请选择更粗的网格级别、更小的区域，或 blind_only=true",
    },
    "grid_cells": {
        "en": "resolution {resolution} would lay about {cells:,.0f} cells over this area; "
        "the limit is {limit:,}: choose a coarser resolution or a smaller area",
        "zh": "网格级别 {resolution} 将在本区域铺设约 {cells:,.0f} 个网格，上限为 "
        "{limit:,}：请选择更粗的网格级别或更小的区域",
    },
    "cover_pairs": {
        "en": "at resolution {resolution} this plan would compare about {pairs:,.0f} pairs of "
        "candidates and demand points within the radius; the limit is {limit:,}: choose a "
        "coarser resolution, a smaller area or a smaller radius",
        "zh": "在网格级别 {resolution} 下，本次选址需比较半径内约 {pairs:,.0f} 对候选点与需求点，"
        "上限为 {limit:,}：请选择更粗的网格级别、更小的区域或更小的半径",
    },
    "periods_range": {
        "en": "periods must be between 1 and 3660",
        "zh": "periods 必须在 1 到 3660 之间",
    },
    "sites_range": {
        "en": "sites must be a whole number from 1 to {high}",
        "zh": "sites 必须是 1 到 {high} 之间的整数",
    },
    "sites_required": {
        "en": "sites is required: how many new sites to suggest",
        "zh": "缺少 sites：需要建议多少个新站点",
    },
    "no_candidates": {
        "en": "there are no candidate sites in this area",
        "zh": "本区域没有这类候选站址",
    },
    "what_if_empty": {"en": "what_if needs at least one point", "zh": "what_if 至少需要一个点"},
    "what_if_max": {
        "en": "what_if takes at most {high} points",
        "zh": "what_if 最多 {high} 个点",
    },
    "kind_list": {
        "en": "kind must be a kind or a list of kinds",
        "zh": "kind 必须是一种类型或类型列表",
    },
    # ---- editing ---------------------------------------------------------------------------
    "outside_areas": {
        "en": "this facility lies in {where}, outside the areas you may edit",
        "zh": "该站点位于{where}，不在您可编辑的区域内",
    },
    "no_version": {"en": "no stored version {version}", "zh": "没有第 {version} 版的记录"},
    "stale_version": {
        "en": "facility {id!r} changed since it was read (version {stored}, not {given})",
        "zh": "站点 {id} 在您打开后已被修改（当前第 {stored} 版，您编辑的是第 {given} 版）",
    },
    "point_geometry": {
        "en": "geometry must be a Point with [lon, lat]",
        "zh": "geometry 必须是含 [经度, 纬度] 的点",
    },
    "if_match_required": {
        "en": "If-Match is required: the version of the facility you read",
        "zh": "缺少 If-Match：请给出您读取的站点版本",
    },
    "if_match_version": {
        "en": 'If-Match must be a facility version such as "3", got {got!r}',
        "zh": 'If-Match 必须是站点版本号，例如 "3"，实际为 {got!r}',
    },
    # ---- siting -----------------------------------------------------------------------------
    "no_candidate_sites": {"en": "there are no candidate sites", "zh": "没有候选站址"},
    "candidates_file_empty": {
        "en": "the candidates file has no rows",
        "zh": "候选站址文件中没有数据行",
    },
    "candidates_list_empty": {"en": "candidates is an empty list", "zh": "候选站址列表为空"},
    # ---- audit log -------------------------------------------------------------------------
    "audit_action": {
        "en": "unknown kind of change {action!r}; use one of {choices}",
        "zh": "无法识别的操作“{action}”，可选：{choices}",
    },
    "audit_area": {
        "en": "area must be a 6-digit city or county code, got {area!r}",
        "zh": "地区必须是 6 位市或县区代码，实际为“{area}”",
    },
    "audit_dates": {
        "en": "the first day ({since}) is after the last day ({until})",
        "zh": "开始日期（{since}）晚于结束日期（{until}）",
    },
    "audit_day": {
        "en": "{field} must be a date such as 2026-11-30, got {got!r}",
        "zh": "{field} 必须是日期，例如 2026-11-30，实际为“{got}”",
    },
    # ---- the comparison of an uploaded list (sync) -----------------------------------------
    "sync_has_errors": {
        "en": "{rejected} of {rows} rows have errors; nothing was written",
        "zh": "{rows} 行中有 {rejected} 行出错，未写入任何数据",
    },
    "sync_unknown_row": {
        "en": "row {row} is not in the comparison",
        "zh": "比对结果中没有第 {row} 行",
    },
    "sync_not_missing": {
        "en": "facility {id!r} is not among the stations missing from the file",
        "zh": "站点 {id} 不在“名单中没有”的站点之列",
    },
    "sync_bad_action": {
        "en": "row {row} cannot take the action {action!r}; it may take {allowed}",
        "zh": "第 {row} 行不能执行“{action}”，可选：{allowed}",
    },
    "sync_twice": {
        "en": "facility {id!r} would be written twice; choose one row for it",
        "zh": "站点 {id} 会被写入两次，请只保留一行",
    },
    "sync_expired": {
        "en": "this upload is no longer kept (uploads are kept for {minutes} minutes); "
        "upload the file again",
        "zh": "该上传已过期（上传文件保留 {minutes} 分钟），请重新上传",
    },
    "sync_changed_meanwhile": {
        "en": "stored stations changed since the comparison; nothing was written. Compare again",
        "zh": "比对之后已有站点被修改，未写入任何数据，请重新比对",
    },
    "upload_missing": {"en": "choose a file to upload", "zh": "请选择要上传的文件"},
    # ---- data model additions: parking fee, tier, closed until, verified on ---------------
    "unknown_parking_fee": {
        "en": "parking_fee {value!r} is neither free nor paid: write free or paid "
        "(免费 or 收费), a note may follow, e.g. 收费 20元/晚",
        "zh": "无法识别的停车收费“{value}”，应为“免费”或“收费”，可附说明，例如“收费 20元/晚”",
    },
    "parking_fee_two_notes": {
        "en": "parking_fee carries the note {written!r} and parking_fee_note says {note!r}: "
        "write the note in one place",
        "zh": "停车收费中写有说明“{written}”，停车收费说明又写着“{note}”，请只在一处填写",
    },
    "unknown_tier": {
        "en": "unknown tier {value!r} (valid: basic 基础型, extended 扩展型)",
        "zh": "无法识别的建设类型“{value}”，可选：基础型、扩展型",
    },
    "verified_on_future": {
        "en": "verified_on {got} is after today ({today})",
        "zh": "核实日期 {got} 晚于今天（{today}）",
    },
    "verify_stale": {
        "en": "Someone saved this facility after you opened it: check it again, then confirm",
        "zh": "打开页面后已有人修改了该站点，请重新核对后再确认信息无误",
    },
    # ---- the hours preview of the facility form ----------------------------------------------
    "hours_open": {"en": "Open now", "zh": "营业中"},
    "hours_open_until": {
        "en": lambda p: f"Open now, until {_when_en(p)}",
        "zh": lambda p: f"营业中，营业至{_when_zh(p)}",
    },
    "hours_opens_at": {
        "en": lambda p: f"Closed now, opens {_when_en(p, 'at ')}",
        "zh": lambda p: f"已关闭，{_when_zh(p)} 开始营业",
    },
    "hours_closed": {"en": "Closed now", "zh": "已关闭"},
    "hours_unknown": {
        "en": "Hours unknown: the hours say so",
        "zh": "时间未知：营业时间中注明未知",
    },
    "hours_missing": {
        "en": "No hours given: drivers see “hours unknown”",
        "zh": "未填写营业时间：司机看到“时间未知”",
    },
    "hours_unreadable": {
        "en": "hours {hours!r} cannot be read, so this station never shows as open now; "
        "write them like 24小时, 每天8:00-20:00, 周一至周五 9:00-17:00 or in "
        "OpenStreetMap opening_hours syntax",
        "zh": "营业时间“{hours}”无法识别，该站点将不会显示为营业中；请写成"
        "“24小时”“每天8:00-20:00”“周一至周五 9:00-17:00”等形式",
    },
    # ---- drivers' reports (纠错) and their review ---------------------------------------------
    "must_be_text": {"en": "{name} must be text", "zh": "{name} 必须是文字"},
    "report_field_unused": {
        "en": "{name} is only sent with the categories {categories}",
        "zh": "{name} 只用于以下类别：{categories}",
    },
    "report_pin_far": {
        "en": "the pin is {km} km from the station; it may be at most {limit} km away",
        "zh": "标记位置距离站点 {km} 公里，最远只能 {limit} 公里",
    },
    "report_received": {"en": "Received, thank you.", "zh": "已收到，谢谢"},
    "report_rate_client": {
        "en": "too many reports from this connection (at most {limit}); try again later",
        "zh": "此网络提交的纠错太多（最多 {limit}），请稍后再试",
    },
    "report_rate_facility": {
        "en": "this station has had many reports lately (at most {limit}); try again later",
        "zh": "该站点近期收到的纠错太多（最多 {limit}），请稍后再试",
    },
    "report_reviewed": {
        "en": lambda p: f"report {p['id']} was already reviewed ({p['status']})",
        "zh": lambda p: f"第 {p['id']} 号纠错已经处理过（{_review_state_zh(p['status'])}）",
    },
    "report_closed_until": {
        "en": "enter the date until which the station is closed",
        "zh": "请填写暂停营业的截止日期",
    },
    "report_closed_until_past": {
        "en": "the station must be closed until a day after today ({today})",
        "zh": "暂停营业的截止日期应晚于今天（{today}）",
    },
    "report_value_required": {
        "en": lambda p: f"enter the corrected {p['name']}",
        "zh": lambda p: f"请填写正确的{_REPORT_FIELDS_ZH.get(p['name'], p['name'])}",
    },
    "report_reason_required": {"en": "say why the report is rejected", "zh": "请填写驳回理由"},
    "report_facility_gone": {
        "en": "the station of this report no longer exists; reject the report instead",
        "zh": "该纠错所指的站点已不存在，请驳回",
    },
    # ---- generic ---------------------------------------------------------------------------
    "nested_too_deep": {"en": "the request is nested too deeply", "zh": "请求的嵌套层级过深"},
    # ---- places to stop and paired service areas (nearest results) ---------------------------
    "nearby_no_amenity_data": {
        "en": lambda p: (
            f"no {_amenity_labels(p['amenities'], 'en')} information for nearby stations"
        ),
        "zh": lambda p: f"附近站点暂无{_amenity_labels(p['amenities'], 'zh')}信息",
    },
    "both_directions": {"en": "both directions", "zh": "双向"},
    "one_side_only": {"en": "{side} only", "zh": "仅{side}"},
}


def _amenity_labels(names, lang: str) -> str:
    from .model import AMENITIES

    labels = [AMENITIES[n][lang] if n in AMENITIES else n for n in names]
    return "、".join(labels) if lang == "zh" else ", ".join(label.lower() for label in labels)


#: Chinese names of the words some templates take as parameters.
WORDS_ZH = {
    "parameter": "参数",
    "field": "字段",
    "city": "城市",
    "county": "区县",
    "township": "乡镇",
    "province": "省",
}


def render(key: str, lang: str, params: Mapping[str, Any]) -> str:
    """The text of ``key`` in ``lang`` (``zh`` or ``en``; English when ``lang`` has none)."""
    entry = MESSAGES[key]
    template = entry.get(lang) or entry["en"]
    values = {k: v.translated(lang) if isinstance(v, Message) else v for k, v in params.items()}
    for name, value in params.items():  # e.g. level="county" also gives level_zh="区县"
        if isinstance(value, str) and value in WORDS_ZH:
            values.setdefault(f"{name}_zh", WORDS_ZH[value])
    if callable(template):
        return template(values)
    return template.format(**values)


class Message(str):
    """A keyed text: the English rendering, which also knows its key and parameters."""

    key: str
    params: Mapping[str, Any]

    def __new__(cls, key: str, **params: Any) -> Message:
        if key not in MESSAGES:
            raise KeyError(f"no message {key!r}")
        self = super().__new__(cls, render(key, "en", params))
        self.key = key
        self.params = params
        return self

    def translated(self, lang: str) -> str:
        """This text in ``lang``."""
        return render(self.key, lang, self.params)


def translated(text: str, lang: str) -> str:
    """``text`` in ``lang`` when it is a :class:`Message`; other text as it is."""
    return text.translated(lang) if isinstance(text, Message) else text
