"""The `locator` command on both backends: init, import, export."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from locator.cli import main
from locator.errors import LocatorError
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


# ---- locator user ------------------------------------------------------------------------
NOW = "2026-12-01T09:00:00+08:00"
SECRET = "correct horse battery"


def _user_cli(url):
    """``locator --database url user ...`` with standard input, at a fixed time."""
    runner = CliRunner()

    def invoke(*args, input=None):
        return runner.invoke(
            main,
            ["--database", url, "user", *args],
            input=input,
            env={"LOCATOR_NOW": NOW},
            catch_exceptions=False,
        )

    return invoke


def test_user_commands_from_add_to_revoke(initialised):
    from locator.accounts import Accounts
    from locator.clock import FixedClock, clock_from_text

    user = _user_cli(initialised)
    added = user("add", "root", "--role", "admin", "--password-stdin", input=SECRET + "\n")
    assert added.exit_code == 0, added.output
    asked = user(
        "add", "张三", "--role", "editor", "--area", "340122", "--area", "340100", "--lang", "en",
        input=f"{SECRET}\n{SECRET}\n",
    )  # fmt: skip
    assert asked.exit_code == 0, asked.output
    assert "added user 张三 (editor)" in asked.output
    assert SECRET not in asked.output  # hidden input

    issued = user("token", "张三", "--label", "导入脚本")
    assert issued.exit_code == 0, issued.output
    [plaintext] = issued.stdout.split()
    assert plaintext.startswith("lct_")
    assert "只显示这一次" in issued.stderr
    english = user("token", "张三", "--lang", "en")
    assert "it will not be shown again" in english.stderr

    listed = user("list", "--lang", "en")
    assert listed.exit_code == 0
    assert listed.output.splitlines() == [
        "name\trole\tareas\tstate\ttokens",
        "root\tadmin\t—\tactive\t0",
        "张三\teditor\t肥东县 (340122)，合肥市 (340100)\tactive\t2",
    ]
    tokens = user("tokens", "张三", "--lang", "en").output.splitlines()
    assert tokens[0] == "id\tlabel\tcreated\tlast used\trevoked"
    assert tokens[1].split("\t")[1:] == ["导入脚本", "2026-12-01 09:00", "—", "—"]
    assert plaintext not in "\n".join(tokens)
    token_id = tokens[1].split("\t")[0]

    with open_storage(initialised) as storage:
        people = Accounts(storage, FixedClock(clock_from_text(NOW)()))
        assert people.user_for_token(plaintext).areas == ("340122", "340100")
        assert people.authenticate("张三", SECRET).role == "editor"
        version = storage.data_version()

    assert user("revoke", token_id).exit_code == 0
    assert user("disable", "张三").output.strip() == "已停用用户 张三"
    assert "停用\t1" in user("list").output
    assert user("enable", "张三").exit_code == 0
    changed = user("passwd", "张三", input="a new long secret\na new long secret\n")
    assert changed.exit_code == 0, changed.output

    with open_storage(initialised) as storage:
        people = Accounts(storage, FixedClock(clock_from_text(NOW)()))
        with pytest.raises(LocatorError):
            people.user_for_token(plaintext)
        with pytest.raises(LocatorError):
            people.authenticate("张三", SECRET)
        assert people.authenticate("张三", "a new long secret").name == "张三"
        events = storage.account_events()
        assert storage.data_version() == version
    assert {e.actor for e in events} == {"cli"}
    assert [e.action for e in reversed(events)] == [
        "user.add",
        "user.add",
        "token.issue",
        "token.issue",
        "token.revoke",
        "user.disable",
        "user.enable",
        "user.password",
    ]
    assert {e.at.isoformat() for e in events} == {"2026-12-01T01:00:00+00:00"}


@pytest.fixture(scope="module")
def user_cli(shipped_sqlite_url):
    user = _user_cli(shipped_sqlite_url)
    made = user("add", "taken", "--role", "viewer", "--password-stdin", input=SECRET + "\n")
    assert made.exit_code == 0, made.output
    return user


@pytest.mark.parametrize(
    "args, stdin, message",
    [
        (["add", "ed", "--role", "editor", "--password-stdin"], SECRET, "error [area]: an editor"),
        (["add", "ed", "--role", "editor", "--area", "999999"], "", "error [area]: area '999999'"),
        (["add", "ed", "--role", "viewer", "--area", "340100"], "", "error [area]: the viewer"),
        (["add", "a b", "--role", "viewer"], "", "error [name]:"),
        (["add", "ed", "--role", "viewer", "--password-stdin"], "short", "error [password]:"),
        (["add", "ed", "--role", "viewer", "--password-stdin"], "ed", "error [password]:"),
        (
            ["add", "ed", "--role", "viewer"],
            f"{SECRET}\nsomething else\n",
            "[password]: 两次输入的密码不一致",
        ),
        (["add", "TAKEN", "--role", "viewer", "--password-stdin"], SECRET, "is taken"),
        (["add", "ed", "--role", "owner"], "", "'owner' is not one of"),
        (["passwd", "nobody"], "", "error [name]: no user named 'nobody'"),
        (["disable", "nobody"], "", "error [name]:"),
        (["token", "nobody"], "", "error [name]:"),
        (["tokens", "nobody"], "", "error [name]:"),
        (["revoke", "999"], "", "error [token_id]: no API token with id 999"),
        (["revoke", "x"], "", "'x' is not a valid integer"),
    ],
)
def test_user_errors_exit_2_naming_the_field(user_cli, shipped_sqlite_url, args, stdin, message):
    result = user_cli(*args, input=stdin + "\n")
    assert result.exit_code == 2, result.output
    assert message in result.output
    with open_storage(shipped_sqlite_url) as storage:
        assert [u.name for u in storage.users()] == ["taken"]
