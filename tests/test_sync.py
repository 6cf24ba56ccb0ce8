"""A union's list against what is stored (locator.sync), on SQLite and PostGIS: the
comparison's counts, field-level changes, duplicates (a renamed station, a shared
phone, a repeated row), the missing ones, and a confirmed sync written whole or not
at all."""

from __future__ import annotations

import pytest

from locator.errors import Conflict, ValidationFailed
from locator.ingest import import_file
from locator.sync import (
    apply_sync,
    compare_file,
    comparison_table,
    format_comparison,
    name_core,
    phone_numbers,
)

HEADER = ["名称", "类型", "经度", "纬度", "电话", "地址", "开放时间"]
#: The union's list of 肥东县 as first imported (WGS-84).
FIRST = [
    [
        "肥东县撮镇司机之家",
        "司机之家",
        "117.4050",
        "31.8000",
        "0551-67771234",
        "撮镇镇合马路",
        "24小时",
    ],
    ["肥东县店埠司机之家", "司机之家", "117.4690", "31.8870", "0551-67775678", "店埠镇", "24小时"],
    [
        "梁园镇货车司机之家",
        "司机之家",
        "117.5600",
        "31.9600",
        "13905510001",
        "梁园镇",
        "8:00-20:00",
    ],
    ["张集乡司机之家", "司机之家", "117.7000", "32.0500", "13905510002", "张集乡", "24小时"],
]
#: The next month's list: 撮镇 renamed (…撮镇镇…, same place), 店埠's phone changed,
#: 梁园 unchanged, 张集 gone, a new station, and that new one again a few metres off.
SECOND = [
    [
        "肥东县撮镇镇司机之家",
        "司机之家",
        "117.4051",
        "31.8001",
        "0551-67771234",
        "撮镇镇合马路",
        "24小时",
    ],
    ["肥东县店埠司机之家", "司机之家", "117.4690", "31.8870", "0551-67779999", "店埠镇", "24小时"],
    [
        "梁园镇货车司机之家",
        "司机之家",
        "117.5600",
        "31.9600",
        "13905510001",
        "梁园镇",
        "8:00-20:00",
    ],
    [
        "肥东县桥头集司机之家",
        "司机之家",
        "117.5200",
        "31.7100",
        "13905510003",
        "桥头集镇",
        "24小时",
    ],
    ["肥东县桥头集镇司机之家", "司机之家", "117.5201", "31.7101", "", "桥头集镇", "24小时"],
]


def _csv(path, rows, encoding="gbk"):
    text = "\n".join(",".join(r) for r in [HEADER, *rows]) + "\n"
    path.write_bytes(text.encode(encoding))
    return path


@pytest.fixture
def union(storage, units, tmp_path):
    """Storage with the shipped admin units and the first list imported as 肥东县总工会."""
    storage.replace_admin_units(units)
    import_file(storage, _csv(tmp_path / "first.csv", FIRST), source="肥东县总工会")
    return storage


def _by_name(comparison):
    return {m.incoming.name: m for m in comparison.rows}


def test_the_comparison_counts_new_changed_unchanged_missing_and_duplicates(union, tmp_path):
    before = union.data_version()
    comparison = compare_file(union, _csv(tmp_path / "second.csv", SECOND), source="肥东县总工会")
    assert comparison.counts() == {
        "new": 1,
        "changed": 1,
        "unchanged": 1,
        "duplicate": 2,
        "missing": 1,
        "errors": 0,
    }
    rows = _by_name(comparison)
    renamed = rows["肥东县撮镇镇司机之家"]
    assert (renamed.status, renamed.reason, renamed.default_action) == (
        "duplicate",
        "name",
        "merge",
    )
    assert renamed.stored.name == "肥东县撮镇司机之家"
    assert 10 < renamed.distance_m < 16  # 0.0001° in both directions at 31.8° N
    assert {c.field for c in renamed.changes} == {"name", "location"}
    changed = rows["肥东县店埠司机之家"]
    assert [(c.field, c.old, c.new) for c in changed.changes] == [
        ("phone", "0551-67775678", "0551-67779999")
    ]
    assert rows["梁园镇货车司机之家"].status == "unchanged"
    assert rows["肥东县桥头集司机之家"].status == "new"
    repeat = rows["肥东县桥头集镇司机之家"]
    assert (repeat.status, repeat.reason, repeat.duplicate_of_row) == ("duplicate", "row", 5)
    assert repeat.default_action == "skip"
    assert [f.name for f in comparison.missing] == ["张集乡司机之家"]
    assert comparison.scope == ("340122",)
    assert union.data_version() == before  # comparing writes nothing


def test_confirming_the_defaults_merges_the_renamed_station(union, tmp_path):
    second = _csv(tmp_path / "second.csv", SECOND)
    comparison = compare_file(union, second, source="肥东县总工会")
    missing = comparison.missing[0]
    result = apply_sync(union, comparison, close=[missing.id], actor="user:feidong")
    assert result.counts() == {"added": 1, "updated": 1, "merged": 1, "closed": 1, "skipped": 2}
    stored = {f.name: f for f in union.facilities()}
    assert "肥东县撮镇司机之家" not in stored  # merged: one station, renamed, not two
    merged = stored["肥东县撮镇镇司机之家"]
    assert merged.id == _by_name(comparison)["肥东县撮镇镇司机之家"].stored.id
    assert merged.version == 2 and merged.lon == pytest.approx(117.4051)
    assert stored["肥东县店埠司机之家"].phone == "0551-67779999"
    assert stored["张集乡司机之家"].status == "closed"
    assert "肥东县桥头集镇司机之家" not in stored  # the repeated row was skipped
    assert len(stored) == 5
    by_feidong = sorted(
        (e.action, e.facility.name) for e in union.history() if e.actor == "user:feidong"
    )
    assert by_feidong == [
        ("insert", "肥东县桥头集司机之家"),
        ("update", "张集乡司机之家"),
        ("update", "肥东县店埠司机之家"),
        ("update", "肥东县撮镇镇司机之家"),
    ]
    # The merged station now carries the list's numbering: the same file again is all
    # unchanged, nothing new, nothing missing.
    again = compare_file(union, second, source="肥东县总工会")
    assert again.counts()["unchanged"] == 4
    assert again.counts()["new"] == again.counts()["missing"] == 0


def test_a_change_made_after_the_comparison_refuses_the_whole_sync(union, tmp_path):
    comparison = compare_file(union, _csv(tmp_path / "second.csv", SECOND), source="肥东县总工会")
    target = _by_name(comparison)["肥东县店埠司机之家"].stored
    union.upsert_facilities([target.replace(hours="8:00-18:00")], actor="user:other")
    before = {f.id: f.content_key() for f in union.facilities()}
    with pytest.raises(Conflict):
        apply_sync(union, comparison, actor="user:feidong")
    assert {f.id: f.content_key() for f in union.facilities()} == before


def test_chosen_actions_are_applied_and_impossible_ones_refused(union, tmp_path):
    comparison = compare_file(union, _csv(tmp_path / "second.csv", SECOND), source="肥东县总工会")
    rows = _by_name(comparison)
    renamed, changed = rows["肥东县撮镇镇司机之家"], rows["肥东县店埠司机之家"]
    before = union.data_version()
    with pytest.raises(ValidationFailed) as bad:
        apply_sync(union, comparison, actions={changed.row: "merge"})
    assert bad.value.field == "action" and "第 3 行" in bad.value.message_in("zh")
    with pytest.raises(ValidationFailed):
        apply_sync(union, comparison, actions={99: "add"})
    with pytest.raises(ValidationFailed):
        apply_sync(union, comparison, close=[changed.stored.id])  # not missing
    assert union.data_version() == before
    result = apply_sync(
        union, comparison, actions={renamed.row: "add", changed.row: "skip"}, actor="cli"
    )
    assert result.counts() == {"added": 2, "updated": 0, "merged": 0, "closed": 0, "skipped": 3}
    names = [f.name for f in union.facilities()]
    assert "肥东县撮镇司机之家" in names and "肥东县撮镇镇司机之家" in names
    assert next(f for f in union.facilities() if f.name == "肥东县店埠司机之家").phone == (
        "0551-67775678"
    )


def test_columns_missing_from_the_file_keep_the_stored_values(union, tmp_path):
    path = tmp_path / "names.csv"
    path.write_bytes(
        "名称,类型,经度,纬度\n肥东县店埠司机之家,司机之家,117.4690,31.8870\n".encode("gbk")
    )
    comparison = compare_file(union, path, source="肥东县总工会")
    (row,) = comparison.rows
    assert row.status == "unchanged"  # no phone column: the stored phone stays
    assert row.incoming.phone == "0551-67775678"
    assert comparison.carried >= {"name", "kind", "lon", "lat"}
    assert "phone" not in comparison.carried


def test_a_shared_office_line_is_not_a_duplicate_but_a_station_phone_is(union, tmp_path):
    path = tmp_path / "phones.csv"
    rows = [
        ["长临河服务点", "服务点/驿站", "117.6200", "31.9000", "13905510002", "", ""],
        ["别的名字的司机之家", "司机之家", "117.6000", "31.9000", "13905510001", "", ""],
    ]
    comparison = compare_file(union, _csv(path, rows), source="另一名单")
    found = _by_name(comparison)
    assert found["别的名字的司机之家"].reason == "phone"
    assert found["别的名字的司机之家"].stored.name == "梁园镇货车司机之家"
    # 张集乡's number, but that station is 20 km away and of another kind: still a phone
    # match (a station keeps its number when it moves), proposed for review.
    assert found["长临河服务点"].reason == "phone"
    union.upsert_facilities(
        [
            f.replace(id="", source="x", source_id=f.id, phone="0551-6777 0000")
            for f in union.facilities()
        ]
    )
    comparison = compare_file(
        union,
        _csv(
            tmp_path / "office.csv",
            [["新站", "司机之家", "117.3", "31.98", "0551-67770000", "", ""]],
        ),
    )
    assert comparison.rows[0].status == "new"  # that line is every station's: no identity


def test_rows_outside_the_editors_areas_are_errors_and_block_the_sync(union, tmp_path, units):
    from locator.accounts import User

    editor = User(name="feidong", role="editor", areas=("340122",))
    rows = [*SECOND[:2], ["包河区司机之家", "司机之家", "117.3000", "31.8500", "", "", ""]]
    comparison = compare_file(
        union, _csv(tmp_path / "mixed.csv", rows), source="肥东县总工会", editor=editor
    )
    assert [(e.row, e.field) for e in comparison.report.errors] == [(4, "lon")]
    assert "包河区" in comparison.report.errors[0].message_zh
    assert comparison.counts()["errors"] == 1
    before = union.data_version()
    with pytest.raises(ValidationFailed):
        apply_sync(union, comparison, actor="user:feidong")
    assert union.data_version() == before


def test_the_comparison_as_a_table_and_as_text(union, tmp_path):
    comparison = compare_file(union, _csv(tmp_path / "second.csv", SECOND), source="肥东县总工会")
    names, cells = comparison_table(comparison, "zh")
    assert names[:3] == ["行号", "比对结果", "建议操作"]
    assert len(cells) == len(SECOND) + 1
    by_name = {c[3]: c for c in cells}
    assert by_name["肥东县店埠司机之家"][8] == "电话: 0551-67775678 → 0551-67779999"
    assert by_name["肥东县撮镇镇司机之家"][2] == "合并到已有站点"
    assert by_name["张集乡司机之家"][1] == "名单中没有"
    text = format_comparison(comparison, "zh")
    assert text.splitlines()[0] == (
        "比对：新增 1 条，有变化 1 条，无变化 1 条，疑似重复 2 条，名单中没有 1 条，出错 0 行。"
    )
    assert "梁园镇货车司机之家" not in text  # unchanged rows are not listed
    english = format_comparison(comparison, "en")
    assert english.startswith("Comparison: 1 new, 1 changed, 1 unchanged, 2 likely duplicates")


def test_names_and_phones_are_read_for_their_identity(units):
    from locator.admin_units import AdminIndex
    from locator.model import Facility

    (where,) = AdminIndex(units).assign(
        [Facility(id="a", name="", kind="driver_home", lon=117.405, lat=31.8)]
    )
    assert name_core("肥东县撮镇镇司机之家", where) == ""
    assert name_core("合肥市肥东县撮镇“八斗”货车司机之家", where) == "“八斗”"
    assert phone_numbers("0551-67771234 / 139 0551 0001") == {"055167771234", "13905510001"}
    assert phone_numbers("+86 139-0551-0001、12351") == {"13905510001"}


def _cli(storage, *args):
    from click.testing import CliRunner

    from locator.cli import main

    return CliRunner().invoke(
        main, ["--database", storage.url, "import", *args], catch_exceptions=False
    )


def test_the_shell_compares_and_then_syncs(union, tmp_path):
    second = str(_csv(tmp_path / "second.csv", SECOND))
    before = union.data_version()
    compared = _cli(union, second, "--source", "肥东县总工会", "--compare")
    assert compared.exit_code == 0, compared.output
    lines = compared.output.splitlines()
    assert lines[0].startswith(
        "比对：新增 1 条，有变化 1 条，无变化 1 条，疑似重复 2 条，名单中没有 1 条"
    )
    assert any(
        "第 2 行 [疑似重复] 肥东县撮镇镇司机之家 → 肥东县撮镇司机之家" in line for line in lines
    )
    assert any("[名单中没有] 张集乡司机之家" in line for line in lines)
    assert lines[-1] == "仅比对，未写入任何数据。"
    assert union.data_version() == before
    synced = _cli(union, second, "--source", "肥东县总工会", "--close-missing", "--json")
    assert synced.exit_code == 0, synced.output
    import json

    applied = json.loads(synced.output)["applied"]
    assert {k: applied[k] for k in ("added", "updated", "merged", "closed", "skipped")} == {
        "added": 1,
        "updated": 1,
        "merged": 1,
        "closed": 1,
        "skipped": 2,
    }
    closed = [f for f in union.facilities() if f.status == "closed"]
    assert [f.name for f in closed] == ["张集乡司机之家"]
    assert {e.actor for e in union.history() if e.version > 1} == {"import:second.csv"}


def test_the_confirming_editor_must_be_allowed_every_write(union, tmp_path):
    from locator.accounts import User
    from locator.errors import Forbidden

    rows = [*SECOND[:2], ["包河区司机之家", "司机之家", "117.3000", "31.8500", "", "", ""]]
    comparison = compare_file(union, _csv(tmp_path / "mixed.csv", rows), source="肥东县总工会")
    assert comparison.report.errors == []  # compared from the shell: everywhere
    before = union.data_version()
    with pytest.raises(Forbidden) as refused:
        apply_sync(union, comparison, editor=User(name="feidong", role="editor", areas=("340122",)))
    assert "包河区" in refused.value.message_in("zh")
    assert union.data_version() == before
