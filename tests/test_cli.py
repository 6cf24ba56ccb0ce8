"""The `locator` command on both backends: init, import, export."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from locator.cli import main
from locator.storage import open_storage

BAD_CSV = """名称,经度,纬度,类型,服务设施
好站,117.23,31.82,司机之家,淋浴
坏站,abc,31.8,司机之家,
反站,31.8,117.2,驿站,
怪站,117.1,31.7,司机之加,洗衣
"""


@pytest.fixture
def run(database_url):
    runner = CliRunner()

    def invoke(*args):
        return runner.invoke(main, ["--database", database_url, *args], catch_exceptions=False)

    return invoke


@pytest.fixture
def initialised(run, database_url):
    result = run("init")
    assert result.exit_code == 0, result.output
    return database_url


def snapshot(url):
    with open_storage(url) as storage:
        return storage.data_version(), storage.facilities()


def test_init_is_idempotent(run, initialised):
    version, facilities = snapshot(initialised)
    assert len(facilities) == 312
    again = run("init")
    assert again.exit_code == 0
    assert "312 (0 new, 0 updated)" in again.output
    assert snapshot(initialised) == (version, facilities)


def test_import_with_bad_rows_reports_each_and_changes_nothing(run, initialised, tmp_path):
    path = tmp_path / "stations.csv"
    path.write_text(BAD_CSV, encoding="gb18030")
    before = snapshot(initialised)
    result = run("import", str(path))
    assert result.exit_code == 1
    for expected in ("第 3 行 经度(lon)", "第 4 行", "填反", "第 5 行 类型(kind)", "司机之家"):
        assert expected in result.output
    assert snapshot(initialised) == before


def test_skip_invalid_loads_good_rows_and_writes_rejects(run, initialised, tmp_path):
    path = tmp_path / "stations.csv"
    path.write_text(BAD_CSV, encoding="utf-8")
    rejects = tmp_path / "rejects.csv"
    result = run("import", str(path), "--skip-invalid", "--rejects", str(rejects), "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert (report["inserted"], len(report["errors"])) == (1, 3)
    lines = rejects.read_text(encoding="utf-8-sig").splitlines()
    assert [line.split(",")[0] for line in lines[1:]] == ["坏站", "反站", "怪站"]
    with open_storage(initialised) as storage:
        [added] = [f for f in storage.facilities() if f.name == "好站"]
    assert (added.kind, added.amenities, added.city) == ("driver_home", {"shower"}, "合肥市")


def test_dry_run_writes_nothing(run, initialised, tmp_path):
    path = tmp_path / "good.csv"
    path.write_text("名称,经度,纬度,类型\n新站,117.3,31.9,驿站\n", encoding="utf-8")
    before = snapshot(initialised)
    result = run("import", str(path), "--dry-run", "--json")
    assert result.exit_code == 0
    assert json.loads(result.output)["inserted"] == 1
    assert snapshot(initialised) == before


def test_export_then_import_round_trips(run, initialised, tmp_path):
    out = tmp_path / "hefei.geojson"
    result = run("export", "--out", str(out), "--city", "合肥市", "--kind", "service_area")
    assert result.exit_code == 0, result.output
    exported = json.loads(out.read_text(encoding="utf-8"))
    assert exported["features"]
    assert {f["properties"]["city"] for f in exported["features"]} == {"合肥市"}
    before = snapshot(initialised)
    again = run("import", str(out), "--json")
    assert again.exit_code == 0, again.output
    report = json.loads(again.output)
    assert (report["inserted"], report["updated"]) == (0, 0)
    assert report["unchanged"] == len(exported["features"])
    assert snapshot(initialised) == before


@pytest.mark.parametrize(
    "args, message",
    [
        (["import", "{file}", "--rejects", "r.csv"], "--rejects goes with --skip-invalid"),
        (["import", "{file}", "--map", "name"], "--map takes FIELD=HEADER"),
        (["import", "{file}", "--crs", "mars2000"], "crs"),
        (["export", "--out", "x.geojson", "--kind", "shop"], "kind"),
    ],
)
def test_usage_errors_are_clear(run, initialised, tmp_path, args, message):
    path = tmp_path / "good.csv"
    path.write_text("名称,经度,纬度,类型\n新站,117.3,31.9,驿站\n", encoding="utf-8")
    result = run(*[a.replace("{file}", str(path)) for a in args])
    assert result.exit_code == 2
    assert message in result.output
