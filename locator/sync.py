"""A union's list against what is stored: the comparison, and the sync it confirms.

The unions' "摸清底数 / 明白账": before an uploaded list changes anything, every row
is compared with the stored facilities of the uploader's areas:

- **new**: no stored facility is this row (by id, or by ``source`` + ``source_id``);
- **changed** / **unchanged**: the stored facility this row is, field by field;
- **duplicate**: a new row that is likely a stored station under another name or
  numbering: same kind within :data:`DUPLICATE_RADIUS_M` and a similar name, or the
  same phone number (a number shared by several stations, an office line, does not
  count); or a repeat of an earlier row of the file;
- **missing**: stored facilities of the file's kinds in the compared areas that no
  row is (open ones only).

Each row gets a default action (add, update, skip, merge into the stored station) and
each missing facility one (keep, close), which the user confirms or changes;
:func:`apply_sync` then writes exactly that in one transaction, with optimistic
locking against every stored facility the comparison read: a change made meanwhile
refuses the whole sync and nothing is written.

Fields the file has no column for keep their stored values (a list without phone
numbers does not erase them); the web upload (``/admin/import``) and ``locator
import --compare`` / ``--close-missing`` share this module.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.spatial import cKDTree

from .crs import EARTH_RADIUS_M, haversine_m
from .editing import EDITABLE_FIELDS
from .errors import Conflict, Forbidden, InvalidParameter, ValidationFailed
from .ingest import DEFAULT_MAX_ROWS, ImportReport, RawTable, RowIssue, prepare_table, read_table
from .ingest.columns import FIELD_LABELS_ZH
from .ingest.pipeline import carried_fields, keep_uncarried
from .messages import Message
from .model import AMENITIES, KINDS, STATUSES, Facility

#: A new row this close to a stored facility of its kind with a similar name is a
#: likely duplicate.
DUPLICATE_RADIUS_M = 300.0
#: How alike two names must be (difflib's ratio of what is left after the place names
#: and the kind words are taken out).
NAME_SIMILARITY = 0.5
#: A moved point counts as a change beyond this distance (coordinates round-trip
#: through spreadsheets and datums to centimetres).
MOVE_TOLERANCE_M = 0.5

#: What a row of the file is, and what may be done with it (the first is the default).
ROW_ACTIONS: dict[str, tuple[str, ...]] = {
    "new": ("add", "skip"),
    "changed": ("update", "skip"),
    "unchanged": ("skip",),
    "duplicate": ("merge", "add", "skip"),
}
MISSING_ACTIONS = ("keep", "close")
STATUS_LABELS = {
    "new": {"zh": "新增", "en": "New"},
    "changed": {"zh": "有变化", "en": "Changed"},
    "unchanged": {"zh": "无变化", "en": "Unchanged"},
    "duplicate": {"zh": "疑似重复", "en": "Likely duplicate"},
    "missing": {"zh": "名单中没有", "en": "Missing from the file"},
}
ACTION_LABELS = {
    "add": {"zh": "新增", "en": "Add"},
    "update": {"zh": "更新", "en": "Update"},
    "skip": {"zh": "跳过", "en": "Skip"},
    "merge": {"zh": "合并到已有站点", "en": "Merge into the stored station"},
    "keep": {"zh": "保留", "en": "Keep"},
    "close": {"zh": "标为已关闭", "en": "Close"},
}
#: The compared fields in the order the comparison lists them.
COMPARED_FIELDS = tuple(f for f in EDITABLE_FIELDS if f != "lat")

_GENERIC_WORDS = sorted(
    {
        *(labels["zh"] for labels in KINDS.values()),
        "司机之家",
        "货车司机之家",
        "工会服务站",
        "服务站",
        "服务点",
        "服务区",
        "驿站",
        "爱心",
        "户外劳动者",
        "职工",
        "工会",
        "安徽省",
        "有限公司",
        "公司",
    },
    key=len,
    reverse=True,
)
_UNIT_SUFFIXES = ("街道办事处", "街道", "自治县", "市", "县", "区", "镇", "乡")
_SEPARATORS = re.compile(r"[\s·•()（）\[\]【】\-—_,，.。/、]+")


@dataclass(frozen=True)
class FieldChange:
    """One field a row would change: the stored value and the file's."""

    field: str
    old: Any
    new: Any
    #: For a moved point: how far, in metres.
    distance_m: float | None = None


@dataclass
class RowMatch:
    """One row of the file against what is stored."""

    row: int
    status: str  # new, changed, unchanged or duplicate
    #: The facility as the file gives it, its id resolved (a new id for new rows).
    incoming: Facility
    #: The stored facility the row is (changed, unchanged) or likely duplicates.
    stored: Facility | None = None
    changes: tuple[FieldChange, ...] = ()
    #: Why a duplicate: "name" (similar name nearby), "phone" or "row" (repeats a row).
    reason: str | None = None
    distance_m: float | None = None
    #: The earlier row a duplicate repeats.
    duplicate_of_row: int | None = None

    @property
    def actions(self) -> tuple[str, ...]:
        if self.status == "duplicate" and self.stored is None:
            return ("skip", "add")
        return ROW_ACTIONS[self.status]

    @property
    def default_action(self) -> str:
        return self.actions[0]


@dataclass
class Comparison:
    """A file compared with what is stored: rows, missing facilities and the report."""

    rows: list[RowMatch]
    missing: list[Facility]
    report: ImportReport
    #: The city or county codes the missing list covers.
    scope: tuple[str, ...]
    #: Our fields the file has columns for (the others keep their stored values).
    carried: frozenset[str]
    kinds: tuple[str, ...]
    data_version: int = 0

    def counts(self) -> dict[str, int]:
        found = Counter(r.status for r in self.rows)
        counts = {status: found.get(status, 0) for status in ROW_ACTIONS}
        counts["missing"] = len(self.missing)
        counts["errors"] = self.report.rejected
        return counts

    def fingerprint(self) -> str:
        """A digest of what the comparison found and read: equal fingerprints mean the
        user confirms the same comparison (the page carries it to the confirmation)."""
        parts = [
            [
                m.row,
                m.status,
                m.stored.id if m.stored else None,
                m.stored.version if m.stored else None,
                repr(m.incoming.content_key()),
                m.duplicate_of_row,
            ]
            for m in self.rows
        ]
        parts.append([[f.id, f.version] for f in self.missing])
        parts.append([e.row for e in self.report.errors])
        text = json.dumps(parts, ensure_ascii=False, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:32]

    def default_actions(self) -> dict[int, str]:
        return {r.row: r.default_action for r in self.rows}

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (``locator import --compare --json``)."""
        return {
            "counts": self.counts(),
            "scope": list(self.scope),
            "rows": [
                {
                    "row": r.row,
                    "status": r.status,
                    "action": r.default_action,
                    "actions": list(r.actions),
                    "id": r.incoming.id,
                    "name": r.incoming.name,
                    "stored_id": r.stored.id if r.stored else None,
                    "stored_name": r.stored.name if r.stored else None,
                    "reason": r.reason,
                    "distance_m": _rounded(r.distance_m),
                    "duplicate_of_row": r.duplicate_of_row,
                    "changes": [
                        {
                            "field": c.field,
                            "old": _plain(c.old),
                            "new": _plain(c.new),
                            "distance_m": _rounded(c.distance_m),
                        }
                        for c in r.changes
                    ],
                }
                for r in self.rows
            ],
            "missing": [
                {"id": f.id, "name": f.name, "kind": f.kind, "county": f.county}
                for f in self.missing
            ],
            "report": self.report.to_dict(),
        }


@dataclass
class SyncResult:
    """What a confirmed sync wrote."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    merged: list[str] = field(default_factory=list)
    closed: list[str] = field(default_factory=list)
    skipped: int = 0
    data_version: int = 0

    def counts(self) -> dict[str, int]:
        return {
            "added": len(self.added),
            "updated": len(self.updated),
            "merged": len(self.merged),
            "closed": len(self.closed),
            "skipped": self.skipped,
        }


def compare_file(
    storage: Any,
    path: Any,
    *,
    filename: str | None = None,
    sheet: str | None = None,
    max_rows: int = DEFAULT_MAX_ROWS,
    mapping: Mapping[str, Any] | None = None,
    **options: Any,
) -> Comparison:
    """Read a file and compare it (see :func:`compare_table` for ``options``)."""
    table = read_table(path, filename=filename, sheet=sheet, max_rows=max_rows, mapping=mapping)
    return compare_table(storage, table, mapping=mapping, **options)


def compare_table(
    storage: Any,
    table: RawTable,
    *,
    editor: Any = None,
    scope: Sequence[str] | None = None,
    kind: str | None = None,
    crs: str | None = "wgs84",
    source: str | None = None,
    mapping: Mapping[str, Any] | None = None,
) -> Comparison:
    """Compare a read table with the stored facilities, writing nothing.

    Parameters
    ----------
    storage : Storage
        What the file is compared with.
    table : RawTable
        What :func:`locator.ingest.read_table` returned.
    editor : User, optional
        Who uploads: rows (and the stored stations they would change) outside the
        editor's areas become row errors. None: the shell, everywhere.
    scope : sequence of str, optional
        City or county codes whose stored facilities the file should list (the
        missing ones are counted there). Default: the counties the file's rows lie in,
        within the editor's areas.
    kind, crs, source, mapping
        As for :func:`locator.ingest.import_table`.
    """
    index = storage.admin_index()
    facilities, rows, report = prepare_table(
        storage, table, kind=kind, crs=crs, source=source, mapping=mapping
    )
    carried = carried_fields(report)
    facilities = index.assign(facilities)
    stored_all = storage.facilities()
    by_id = {f.id: f for f in stored_all}
    matches: list[RowMatch] = []
    for row, incoming in zip(rows, facilities, strict=True):
        stored = by_id.get(incoming.id)
        if stored is None:
            matches.append(RowMatch(row, "new", incoming))
            continue
        changes = field_changes(stored, incoming)
        matches.append(
            RowMatch(row, "changed" if changes else "unchanged", incoming, stored, changes)
        )
    _check_areas(editor, matches, report)
    refused = {e.row for e in report.errors}
    matches = [m for m in matches if m.row not in refused]
    editable = stored_all if editor is None else [f for f in stored_all if editor.can_edit(f)]
    _find_duplicates(matches, editable, carried)
    codes = _scope_codes(editor, scope, matches)
    kinds = tuple(sorted({m.incoming.kind for m in matches}))
    matched = {m.stored.id for m in matches if m.stored is not None}
    missing = [
        f
        for f in stored_all
        if f.id not in matched and f.status != "closed" and f.kind in kinds and _in_codes(f, codes)
    ]
    return Comparison(
        rows=matches,
        missing=missing,
        report=report,
        scope=codes,
        carried=carried,
        kinds=kinds,
        data_version=storage.data_version(),
    )


def field_changes(stored: Facility, incoming: Facility) -> tuple[FieldChange, ...]:
    """What writing ``incoming`` over ``stored`` would change, field by field."""
    changes = []
    for name in COMPARED_FIELDS:
        if name == "lon":
            moved = float(haversine_m(stored.lon, stored.lat, incoming.lon, incoming.lat))
            if moved > MOVE_TOLERANCE_M:
                changes.append(
                    FieldChange(
                        "location",
                        (stored.lon, stored.lat),
                        (incoming.lon, incoming.lat),
                        distance_m=moved,
                    )
                )
            continue
        old, new = getattr(stored, name), getattr(incoming, name)
        if name == "amenities":
            old, new = sorted(old), sorted(new)
        if old != new:
            changes.append(FieldChange(name, old, new))
    return tuple(changes)


def _check_areas(editor: Any, matches: list[RowMatch], report: ImportReport) -> None:
    """Row errors for rows the editor may not write: outside the areas, or changing a
    stored station outside them."""
    if editor is None:
        return
    for m in matches:
        for facility in (m.incoming, m.stored):
            if facility is not None and not editor.can_edit(facility):
                message = Message("outside_areas", where=facility.county or facility.city or "—")
                report.errors.append(
                    RowIssue(
                        m.row,
                        "lon",
                        report.columns.get("lon"),
                        str(message),
                        facility.name,
                        message.translated("zh"),
                    )
                )
                break
    report.errors.sort(key=lambda e: e.row or 0)


def _scope_codes(editor: Any, scope: Sequence[str] | None, matches: list[RowMatch]) -> tuple:
    if scope:
        codes = [c.strip() for c in scope if c and c.strip()]
        if editor is not None:
            outside = [c for c in codes if not editor.can_edit_area([c, c[:4] + "00"])]
            if outside:
                raise InvalidParameter(Message("outside_areas", where=outside[0]), field="scope")
        return tuple(sorted(set(codes)))
    found = set()
    for m in matches:
        code = m.incoming.county_code or m.incoming.city_code
        if code:
            found.add(code)
    return tuple(sorted(found))


def _in_codes(facility: Facility, codes: Sequence[str]) -> bool:
    return any(c in (facility.county_code, facility.city_code) for c in codes)


def phone_numbers(text: str | None) -> set[str]:
    """The numbers in a phone field, digits only (7 digits or more; ``+86`` dropped)."""
    if not text:
        return set()
    numbers = set()
    for part in re.split(r"[/、,，;；]|\s{2,}|或", text):
        digits = re.sub(r"\D", "", part)
        if digits.startswith("86") and len(digits) > 11:
            digits = digits[2:]
        if len(digits) >= 7:
            numbers.add(digits)
    return numbers


def name_core(name: str, facility: Facility) -> str:
    """What tells a name apart: without its place names and its kind words."""
    text = _SEPARATORS.sub("", name)
    places = set()
    for place in (facility.city, facility.county, facility.township):
        if place:
            places.add(place)
            for suffix in _UNIT_SUFFIXES:
                if place.endswith(suffix) and len(place) > len(suffix) + 1:
                    places.add(place[: -len(suffix)])
    for word in sorted(places, key=len, reverse=True) + _GENERIC_WORDS:
        text = text.replace(word, "")
    return text


def similar_names(a: Facility, b: Facility) -> bool:
    """Whether two names likely name one place (see :data:`NAME_SIMILARITY`)."""
    core_a, core_b = name_core(a.name, a), name_core(b.name, b)
    if not core_a or not core_b:
        return True  # a name that says no more than where and what
    if core_a in core_b or core_b in core_a:
        return True
    return difflib.SequenceMatcher(None, core_a, core_b).ratio() >= NAME_SIMILARITY


def _unit_vectors(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    lon, lat = np.radians(lon), np.radians(lat)
    return np.column_stack((np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)))


def _find_duplicates(matches: list[RowMatch], stored: list[Facility], carried: frozenset) -> None:
    """Mark new rows that are likely stored stations, or repeats of earlier rows."""
    new = [m for m in matches if m.status == "new"]
    if not new:
        return
    taken = {m.stored.id for m in matches if m.stored is not None}
    candidates = [f for f in stored if f.id not in taken]
    phone_owners = Counter(p for f in stored for p in phone_numbers(f.phone))
    by_phone: dict[str, Facility] = {}
    for f in candidates:
        for p in phone_numbers(f.phone):
            if phone_owners[p] == 1:
                by_phone[p] = f
    chord = 2.0 * np.sin(DUPLICATE_RADIUS_M / EARTH_RADIUS_M / 2.0)
    tree = (
        cKDTree(
            _unit_vectors(
                np.array([f.lon for f in candidates]), np.array([f.lat for f in candidates])
            )
        )
        if candidates
        else None
    )
    points = _unit_vectors(
        np.array([m.incoming.lon for m in new]), np.array([m.incoming.lat for m in new])
    )
    nearby = tree.query_ball_point(points, chord) if tree is not None else [[] for _ in new]
    claimed: set[str] = set()
    for m, near in zip(new, nearby, strict=True):
        best = _best_duplicate(m.incoming, [candidates[j] for j in near], claimed)
        if best is not None:
            _mark(m, best, "name", claimed, carried)
            continue
        if "phone" in carried:
            owner = next(
                (by_phone[p] for p in sorted(phone_numbers(m.incoming.phone)) if p in by_phone),
                None,
            )
            if owner is not None and owner.id not in claimed:
                _mark(m, owner, "phone", claimed, carried)
    _find_repeats(matches)


def _best_duplicate(incoming: Facility, near: list[Facility], claimed: set[str]):
    alike = [
        f
        for f in near
        if f.kind == incoming.kind and f.id not in claimed and similar_names(incoming, f)
    ]
    if not alike:
        return None
    return min(alike, key=lambda f: float(haversine_m(f.lon, f.lat, incoming.lon, incoming.lat)))


def _mark(
    m: RowMatch, stored: Facility, reason: str, claimed: set[str], carried: frozenset
) -> None:
    claimed.add(stored.id)
    m.status, m.stored, m.reason = "duplicate", stored, reason
    m.distance_m = float(haversine_m(stored.lon, stored.lat, m.incoming.lon, m.incoming.lat))
    m.changes = field_changes(stored, _merged(keep_uncarried(m.incoming, stored, carried), stored))


def _find_repeats(matches: list[RowMatch]) -> None:
    """New rows repeating an earlier row of the file (same kind, nearby, alike)."""
    if len(matches) < 2 or not any(m.status == "new" for m in matches):
        return
    points = _unit_vectors(
        np.array([m.incoming.lon for m in matches]), np.array([m.incoming.lat for m in matches])
    )
    chord = 2.0 * np.sin(DUPLICATE_RADIUS_M / EARTH_RADIUS_M / 2.0)
    for i, j in sorted(cKDTree(points).query_pairs(chord)):
        first, later = matches[i], matches[j]  # i < j: file order
        if later.status != "new" or first.duplicate_of_row is not None:
            continue
        if first.incoming.kind == later.incoming.kind and similar_names(
            first.incoming, later.incoming
        ):
            later.status, later.reason, later.duplicate_of_row = "duplicate", "row", first.row
            later.distance_m = float(
                haversine_m(
                    first.incoming.lon, first.incoming.lat, later.incoming.lon, later.incoming.lat
                )
            )


def _merged(incoming: Facility, stored: Facility) -> Facility:
    """The stored station taking the file's values, its id, version and the file's
    numbering (so that the next upload of the list finds it)."""
    return incoming.replace(id=stored.id, version=stored.version)


def apply_sync(
    storage: Any,
    comparison: Comparison,
    *,
    actions: Mapping[int, str] | None = None,
    close: Iterable[str] = (),
    actor: str | None = None,
    editor: Any = None,
    skip_invalid: bool = False,
) -> SyncResult:
    """Write what the user confirmed, in one transaction.

    Parameters
    ----------
    storage : Storage
        Where the comparison was made.
    comparison : Comparison
        What :func:`compare_table` returned.
    actions : mapping of int to str, optional
        Row number → action (see :data:`ROW_ACTIONS`); rows not given take their
        default.
    close : iterable of str
        Ids of missing facilities to close.
    actor : str, optional
        Who the history records.
    editor : User, optional
        Who confirms: every station written, before and after, must be in its areas.
    skip_invalid : bool
        Apply the valid rows even though others have errors (default: refuse).

    Raises
    ------
    ValidationFailed
        Rows with errors (without ``skip_invalid``), or an action a row cannot take.
    Conflict
        A stored facility changed since the comparison; nothing is written.
    """
    report = comparison.report
    if report.errors and not skip_invalid:
        raise ValidationFailed(
            Message("sync_has_errors", rejected=report.rejected, rows=report.rows),
            details=report.to_dict(),
        )
    chosen = dict(actions or {})
    known_rows = {m.row for m in comparison.rows}
    unknown = sorted(set(chosen) - known_rows)
    if unknown:
        raise ValidationFailed(Message("sync_unknown_row", row=unknown[0]), field="action")
    missing = {f.id: f for f in comparison.missing}
    close = list(dict.fromkeys(close))
    strangers = [i for i in close if i not in missing]
    if strangers:
        raise ValidationFailed(Message("sync_not_missing", id=strangers[0]), field="close")
    result = SyncResult()
    writes: list[Facility] = []
    for m in comparison.rows:
        action = chosen.get(m.row, m.default_action)
        if action not in m.actions:
            raise ValidationFailed(
                Message("sync_bad_action", row=m.row, action=action, allowed="/".join(m.actions)),
                field="action",
            )
        if action == "skip":
            result.skipped += 1
        elif action == "add":
            writes.append(m.incoming)
            result.added.append(m.incoming.id)
        elif action == "update":
            writes.append(m.incoming.replace(version=m.stored.version))
            result.updated.append(m.incoming.id)
        else:  # merge
            writes.append(
                _merged(keep_uncarried(m.incoming, m.stored, comparison.carried), m.stored)
            )
            result.merged.append(m.stored.id)
    for facility_id in close:
        writes.append(missing[facility_id].replace(status="closed"))
        result.closed.append(facility_id)
    _refuse_repeated_ids(writes)
    if editor is not None:
        before = {f.id: f for f in storage.facilities_by_id([f.id for f in writes])}
        for f in writes:
            for facility in (f, before.get(f.id)):
                if facility is not None and not editor.can_edit(facility):
                    where = facility.county or facility.city or "—"
                    raise Forbidden(Message("outside_areas", where=where), field="action")
    if writes:
        written = storage.upsert_facilities(writes, check_versions=True, actor=actor)
        result.data_version = written.data_version
    else:
        result.data_version = storage.data_version()
    return result


def _refuse_repeated_ids(writes: list[Facility]) -> None:
    repeated = [i for i, n in Counter(f.id for f in writes).items() if n > 1]
    if repeated:
        raise Conflict(Message("sync_twice", id=repeated[0]), field="action")


# ---- the comparison as a table (the XLSX download) and as text (the CLI) ---------------
COMPARISON_COLUMNS = (
    ("row", "行号"),
    ("status", "比对结果"),
    ("action", "建议操作"),
    ("name", "名称"),
    ("kind", "类型"),
    ("county", "区县"),
    ("facility_id", "站点编号"),
    ("stored_name", "已存名称"),
    ("changes", "变化"),
    ("distance_m", "距离(米)"),
    ("reason", "原因"),
)


def describe_change(change: FieldChange, lang: str) -> str:
    """``电话: 0551-1 → 0551-2`` or ``位置: 移动 35 米``."""
    zh = lang == "zh"
    if change.field == "location":
        metres = round(change.distance_m or 0)
        return f"位置: 移动 {metres} 米" if zh else f"location: moved {metres} m"
    name = FIELD_LABELS_ZH.get(change.field, change.field) if zh else change.field
    old, new = _shown(change.field, change.old, lang), _shown(change.field, change.new, lang)
    return f"{name}: {old} → {new}"


def _shown(name: str, value: Any, lang: str) -> str:
    if value is None or value == [] or value == "":
        return "（空）" if lang == "zh" else "(empty)"
    vocabulary = {"kind": KINDS, "status": STATUSES}.get(name)
    if vocabulary is not None:
        return label(vocabulary, value, lang)
    if name == "amenities":
        return "、".join(label(AMENITIES, a, lang) for a in value)
    return str(value)


def describe_reason(m: RowMatch, lang: str) -> str:
    zh = lang == "zh"
    if m.reason == "name":
        return "同类站点名称相近" if zh else "same kind, similar name nearby"
    if m.reason == "phone":
        return "电话相同" if zh else "same phone number"
    if m.reason == "row":
        return f"与第 {m.duplicate_of_row} 行重复" if zh else f"repeats row {m.duplicate_of_row}"
    return ""


def comparison_table(comparison: Comparison, lang: str = "zh") -> tuple[list[str], list[list]]:
    """Header names and rows of the comparison, missing facilities last."""
    zh = lang == "zh"
    names = [zh_name if zh else key for key, zh_name in COMPARISON_COLUMNS]
    cells = []
    for m in comparison.rows:
        target = m.stored
        cells.append(
            [
                m.row,
                STATUS_LABELS[m.status][lang],
                ACTION_LABELS[m.default_action][lang],
                m.incoming.name,
                label(KINDS, m.incoming.kind, lang),
                (target or m.incoming).county or "",
                target.id if target else m.incoming.id,
                target.name if target else "",
                "；".join(describe_change(c, lang) for c in m.changes),
                _rounded(m.distance_m),
                describe_reason(m, lang),
            ]
        )
    for f in comparison.missing:
        cells.append(
            [
                None,
                STATUS_LABELS["missing"][lang],
                ACTION_LABELS["keep"][lang],
                f.name,
                label(KINDS, f.kind, lang),
                f.county or "",
                f.id,
                f.name,
                "",
                None,
                "",
            ]
        )
    return names, cells


def format_comparison(comparison: Comparison, lang: str = "zh") -> str:
    """The comparison as the CLI prints it: counts, then one line per row that is not
    unchanged, then the missing facilities."""
    counts = comparison.counts()
    zh = lang == "zh"
    if zh:
        head = (
            f"比对：新增 {counts['new']} 条，有变化 {counts['changed']} 条，无变化 "
            f"{counts['unchanged']} 条，疑似重复 {counts['duplicate']} 条，名单中没有 "
            f"{counts['missing']} 条，出错 {counts['errors']} 行。"
        )
    else:
        head = (
            f"Comparison: {counts['new']} new, {counts['changed']} changed, "
            f"{counts['unchanged']} unchanged, {counts['duplicate']} likely duplicates, "
            f"{counts['missing']} missing from the file, {counts['errors']} rows with errors."
        )
    lines = [head]
    if comparison.scope:
        lines.append(("比对范围：" if zh else "Compared areas: ") + ", ".join(comparison.scope))
    _, cells = comparison_table(comparison, lang)
    for m, cell in zip(comparison.rows, cells, strict=False):
        if m.status == "unchanged":
            continue
        where = f"第 {m.row} 行" if zh else f"row {m.row}"
        detail = cell[8] or cell[10]
        target = f" → {cell[7]} ({cell[6]})" if m.stored is not None else ""
        lines.append(
            f"  {where} [{cell[1]}] {m.incoming.name}{target}{'：' if zh else ': '}{detail}".rstrip(
                "：: "
            )
        )
    for f in comparison.missing:
        lines.append(f"  [{STATUS_LABELS['missing'][lang]}] {f.name} ({f.id}, {f.county or ''})")
    return "\n".join(lines)


def label(vocabulary: Mapping[str, Mapping[str, str]], key: str, lang: str) -> str:
    return vocabulary.get(key, {}).get(lang) or key


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return [round(v, 7) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value
