"""Accounts, area roles and API tokens on both backends (the ``storage`` fixture)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib

import pytest
from argon2 import PasswordHasher
from shapely.geometry import box

from locator import accounts as accounts_module
from locator.accounts import ROLES, Accounts, User
from locator.clock import FixedClock
from locator.errors import Conflict, InvalidParameter, NotFound, Unauthorized
from locator.model import AdminUnit, Facility

# 合肥市 with two of its counties, side by side; 安徽省 above them.
PROVINCE = AdminUnit(code="340000", name="安徽省", level="province", geometry=box(114, 29, 120, 35))
HEFEI = AdminUnit(
    code="340100", name="合肥市", level="city", parent_code="340000", geometry=box(117, 31, 118, 32)
)
YAOHAI = AdminUnit(
    code="340102",
    name="瑶海区",
    level="county",
    parent_code="340100",
    geometry=box(117.2, 31.8, 117.4, 31.95),
)
FEIDONG = AdminUnit(
    code="340122",
    name="肥东县",
    level="county",
    parent_code="340100",
    geometry=box(117.4, 31.8, 117.8, 32.0),
)
TOWNSHIP = AdminUnit(
    code="340122100",
    name="店埠镇",
    level="township",
    parent_code="340122",
    geometry=box(117.45, 31.85, 117.5, 31.9),
)

PASSWORD = "correct horse battery"
START = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))


@pytest.fixture
def clock():
    return FixedClock(START)


@pytest.fixture
def people(storage, clock):
    storage.replace_admin_units([PROVINCE, HEFEI, YAOHAI, FEIDONG, TOWNSHIP])
    return Accounts(storage, clock)


def _rows(storage, table: str) -> list[dict]:
    with storage._transaction() as tx:
        return [dict(row) for row in tx.execute(f"SELECT * FROM {table}").fetchall()]


def _stored_text(storage) -> str:
    """Every value of the account tables, as one text to search."""
    return repr([_rows(storage, t) for t in ("users", "api_tokens", "account_events")])


# ---- passwords ---------------------------------------------------------------------------
def test_add_stores_an_argon2id_hash_never_the_password(people, storage):
    added = people.add("alice", "editor", ["340122"], PASSWORD, actor="cli")
    assert added == User("alice", "editor", ("340122",), False, START, START)
    assert people.get("alice") == added
    [row] = _rows(storage, "users")
    assert row["password_hash"].startswith("$argon2id$")
    assert PASSWORD not in _stored_text(storage)
    assert not PasswordHasher().check_needs_rehash(row["password_hash"])  # default parameters
    assert PasswordHasher().verify(row["password_hash"], PASSWORD)


def test_authenticate_right_wrong_disabled_and_unknown(people, clock):
    people.add("alice", "viewer", [], PASSWORD, actor="cli")
    assert people.authenticate("alice", PASSWORD).name == "alice"
    messages = []
    for name, password in [
        ("alice", "wrong password!"),
        ("alice", PASSWORD.upper()),
        ("nobody", PASSWORD),
        ("", ""),
    ]:
        with pytest.raises(Unauthorized) as refused:
            people.authenticate(name, password)
        messages.append(refused.value.message)
    people.disable("alice", actor="cli")
    with pytest.raises(Unauthorized) as refused:
        people.authenticate("alice", PASSWORD)
    messages.append(refused.value.message)
    assert set(messages) == {"wrong name or password, or the account is disabled"}
    assert (refused.value.status, refused.value.code) == (401, "unauthorized")
    people.enable("alice", actor="cli")
    assert people.authenticate("alice", PASSWORD).disabled is False


def test_unknown_names_cost_an_argon2_verify_too(people, monkeypatch):
    """The time of an answer must not tell whether a name exists."""
    people.add("alice", "viewer", [], PASSWORD, actor="cli")
    checked = []

    class Counting(PasswordHasher):
        def verify(self, stored, password):
            checked.append(stored)
            return super().verify(stored, password)

    monkeypatch.setattr(accounts_module, "_hasher", Counting)
    for name in ("nobody", "alice"):
        with pytest.raises(Unauthorized):
            people.authenticate(name, "wrong password!")
    assert len(checked) == 2
    assert all(h.startswith("$argon2id$") for h in checked)
    assert checked[0] != checked[1]  # a decoy hash for the unknown name


def test_an_old_hash_is_renewed_on_sign_in(people, storage, clock):
    people.add("alice", "viewer", [], PASSWORD, actor="cli")
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    storage.replace_password_hash("alice", weak)
    events = storage.account_events()
    clock.advance(dt.timedelta(days=3))
    user = people.authenticate("alice", PASSWORD)
    renewed = storage.user_credentials("alice")[1]
    assert renewed != weak and renewed.startswith("$argon2id$")
    assert not PasswordHasher().check_needs_rehash(renewed)
    assert user.password_changed_at == START  # the same password: sessions go on
    assert storage.account_events() == events
    assert people.authenticate("alice", PASSWORD) == user


def test_set_password_replaces_the_old_one(people, clock):
    people.add("alice", "viewer", [], PASSWORD, actor="cli")
    clock.advance(dt.timedelta(hours=2))
    changed = people.set_password("alice", "another long secret", actor="user:root")
    assert changed.password_changed_at == START + dt.timedelta(hours=2)
    assert people.get("alice") == changed
    assert people.authenticate("alice", "another long secret") == changed
    with pytest.raises(Unauthorized):
        people.authenticate("alice", PASSWORD)
    with pytest.raises(NotFound):
        people.set_password("nobody", "another long secret", actor="cli")


@pytest.mark.parametrize(
    "name, password",
    [
        ("alice", "123456789"),  # 9 characters
        ("alice", "x" * 201),
        ("alice1234567", "alice1234567"),  # the user name
        ("Alice.Wang", "alice.wang"),  # the user name in another case
        ("alice", None),
    ],
)
def test_password_rules_name_the_password(people, storage, name, password):
    with pytest.raises(InvalidParameter) as bad:
        people.add(name, "viewer", [], password, actor="cli")
    assert bad.value.field == "password"
    people.add("bob", "viewer", [], PASSWORD, actor="cli")
    with pytest.raises(InvalidParameter) as bad:
        people.set_password("bob", "bob", actor="cli")
    assert bad.value.field == "password"
    assert [u.name for u in storage.users()] == ["bob"]


def test_passwords_of_10_and_200_characters_are_accepted(people):
    people.add("ten", "viewer", [], "0123456789", actor="cli")
    people.add("long", "viewer", [], "长" * 200, actor="cli")
    assert people.authenticate("long", "长" * 200).name == "long"


# ---- names, roles, areas -----------------------------------------------------------------
@pytest.mark.parametrize("name", ["张三", "li.si-01@hf_union", "ab", "x" * 64])
def test_good_names(people, name):
    assert people.add(name, "viewer", [], PASSWORD, actor="cli").name == name
    assert people.get(name).name == name


@pytest.mark.parametrize("name", ["a", "x" * 65, "li si", "a/b", "root;--", "", "tab\tname"])
def test_bad_names_name_the_name(people, storage, name):
    with pytest.raises(InvalidParameter) as bad:
        people.add(name, "viewer", [], PASSWORD, actor="cli")
    assert bad.value.field == "name"
    assert storage.users() == []


def test_names_are_unique_in_any_case(people):
    people.add("alice", "viewer", [], PASSWORD, actor="cli")
    for taken in ("alice", "ALICE"):
        with pytest.raises(Conflict) as clash:
            people.add(taken, "admin", [], PASSWORD, actor="cli")
        assert (clash.value.field, clash.value.status) == ("name", 409)
    assert [u.role for u in people.list()] == ["viewer"]


@pytest.mark.parametrize(
    "role, areas, field",
    [
        ("owner", [], "role"),
        ("editor", [], "area"),
        ("editor", ["  "], "area"),
        ("admin", ["340100"], "area"),
        ("viewer", ["340122"], "area"),
        ("editor", ["999999"], "area"),
        ("editor", ["340122100"], "area"),  # a township
        ("editor", ["340000"], "area"),  # the province
        ("editor", ["340122", "合肥市"], "area"),  # a name, not a code
    ],
)
def test_role_and_area_rules_name_the_field(people, storage, role, areas, field):
    with pytest.raises(InvalidParameter) as bad:
        people.add("alice", role, areas, PASSWORD, actor="cli")
    assert bad.value.field == field
    people.add("bob", "editor", ["340102"], PASSWORD, actor="cli")
    with pytest.raises(InvalidParameter) as bad:
        people.set_role("bob", role, areas, actor="cli")
    assert bad.value.field == field
    assert [(u.name, u.role, u.areas) for u in storage.users()] == [("bob", "editor", ("340102",))]


def test_set_role_changes_role_and_areas(people):
    people.add("alice", "editor", ["340122", " 340122 ", "340102"], PASSWORD, actor="cli")
    assert people.get("alice").areas == ("340122", "340102")  # without repeats, in order
    assert people.set_role("alice", "editor", ["340100"], actor="user:root").areas == ("340100",)
    assert people.set_role("alice", "viewer", [], actor="user:root") == people.get("alice")
    assert (people.get("alice").role, people.get("alice").areas) == ("viewer", ())
    with pytest.raises(NotFound):
        people.set_role("nobody", "viewer", [], actor="cli")


# ---- area scopes -------------------------------------------------------------------------
def test_editors_edit_inside_their_areas_only(people, storage):
    storage.upsert_facilities(
        [
            Facility(id="fd", name="店埠司机之家", kind="driver_home", lon=117.47, lat=31.87),
            Facility(id="yh", name="瑶海服务站", kind="service_station", lon=117.3, lat=31.85),
            Facility(id="hf", name="合肥城郊驿站", kind="service_point", lon=117.1, lat=31.2),
            Facility(id="nj", name="南京站", kind="other", lon=118.8, lat=32.05),
        ]
    )
    found = {f.id: f for f in storage.facilities()}
    assert (found["fd"].county_code, found["fd"].city_code) == ("340122", "340100")
    assert (found["yh"].county_code, found["yh"].city_code) == ("340102", "340100")
    assert (found["hf"].county_code, found["hf"].city_code) == (None, "340100")
    assert (found["nj"].county_code, found["nj"].city_code) == (None, None)

    users = {
        "admin": people.add("root", "admin", [], PASSWORD, actor="cli"),
        "feidong": people.add("feidong", "editor", ["340122"], PASSWORD, actor="cli"),
        "hefei": people.add("hefei", "editor", ["340100"], PASSWORD, actor="cli"),
        "two": people.add("two", "editor", ["340102", "340122"], PASSWORD, actor="cli"),
        "viewer": people.add("look", "viewer", [], PASSWORD, actor="cli"),
    }
    editable = {
        who: sorted(i for i, f in found.items() if user.can_edit(f)) for who, user in users.items()
    }
    assert editable == {
        "admin": ["fd", "hf", "nj", "yh"],
        "feidong": ["fd"],
        "hefei": ["fd", "hf", "yh"],
        "two": ["fd", "yh"],
        "viewer": [],
    }
    assert [(u.can_write, u.can_manage_users) for u in users.values()] == [
        (True, True),
        (True, False),
        (True, False),
        (True, False),
        (False, False),
    ]
    feidong = users["feidong"]
    assert feidong.can_edit_area("340122") and not feidong.can_edit_area("340102")
    assert feidong.can_edit_area(["340102", "340122"]) and not feidong.can_edit_area([None])
    assert users["admin"].can_edit_area([])
    off = dataclasses.replace(users["hefei"], disabled=True)
    assert not off.can_edit(found["fd"]) and not off.can_write


# ---- tokens ------------------------------------------------------------------------------
def test_a_token_is_shown_once_and_stored_hashed(people, storage, clock):
    people.add("alice", "editor", ["340122"], PASSWORD, actor="cli")
    plaintext, token = people.issue_token("alice", " import script ", actor="user:root")
    assert plaintext.startswith("lct_") and len(plaintext) == 4 + 43
    assert (token.owner, token.label, token.created_at, token.revoked_at) == (
        "alice",
        "import script",
        START,
        None,
    )
    assert plaintext not in repr(token) and not hasattr(token, "plaintext")
    [row] = _rows(storage, "api_tokens")
    assert row["token_hash"] == hashlib.sha256(plaintext.encode()).hexdigest()
    assert plaintext not in _stored_text(storage)
    assert plaintext[4:] not in _stored_text(storage)
    assert people.tokens("alice") == [token]

    clock.advance(dt.timedelta(minutes=5))
    assert people.user_for_token(plaintext) == people.get("alice")
    assert people.tokens("alice")[0].last_used_at == START + dt.timedelta(minutes=5)
    user, used = people.authenticate_token(plaintext)
    assert (user.name, used.id) == ("alice", token.id)
    other, _ = people.issue_token("alice", "", actor="cli")
    assert other != plaintext


def test_revoked_unknown_and_disabled_tokens_are_refused(people, clock):
    people.add("alice", "editor", ["340122"], PASSWORD, actor="cli")
    plaintext, token = people.issue_token("alice", "phone", actor="cli")
    keep, _kept = people.issue_token("alice", "script", actor="cli")
    for bad in ("", "lct_", "lct_" + "A" * 43, plaintext[:-1], plaintext + "x", "x" * 5000):
        with pytest.raises(Unauthorized):
            people.user_for_token(bad)

    people.disable("alice", actor="cli")
    with pytest.raises(Unauthorized):
        people.user_for_token(keep)
    with pytest.raises(Conflict):
        people.issue_token("alice", "", actor="cli")
    people.enable("alice", actor="cli")
    assert people.user_for_token(keep).name == "alice"

    revoked = people.revoke_token(token.id, actor="user:root")
    assert revoked.revoked_at == START and not revoked.active
    with pytest.raises(Unauthorized) as refused:
        people.user_for_token(plaintext)
    assert (refused.value.status, refused.value.code) == (401, "unauthorized")
    assert people.revoke_token(token.id, actor="cli") == revoked  # again: nothing more
    assert people.user_for_token(keep).name == "alice"
    with pytest.raises(NotFound):
        people.revoke_token(12345, actor="cli")
    with pytest.raises(NotFound):
        people.issue_token("nobody", "", actor="cli")
    with pytest.raises(InvalidParameter) as long_label:
        people.issue_token("alice", "x" * 101, actor="cli")
    assert long_label.value.field == "label"


# ---- the record of changes ---------------------------------------------------------------
def test_every_account_change_is_recorded_with_who_and_when(people, storage, clock):
    version = storage.data_version()
    people.add("alice", "editor", ["340122"], PASSWORD, actor="cli")
    clock.advance(dt.timedelta(minutes=1))
    people.set_role("alice", "editor", ["340100"], actor="user:root")
    people.set_role("alice", "editor", ["340100"], actor="user:root")  # no change
    clock.advance(dt.timedelta(minutes=1))
    people.set_password("alice", "another long secret", actor="user:alice")
    people.disable("alice", actor="user:root")
    people.disable("alice", actor="user:root")  # already
    people.enable("alice", actor="user:root")
    _plain, token = people.issue_token("alice", "script", actor="user:alice")
    people.revoke_token(token.id, actor="cli")
    people.authenticate("alice", "another long secret")  # signing in is not a change

    events = storage.account_events()
    assert [(e.actor, e.action, e.target) for e in reversed(events)] == [
        ("cli", "user.add", "alice"),
        ("user:root", "user.role", "alice"),
        ("user:alice", "user.password", "alice"),
        ("user:root", "user.disable", "alice"),
        ("user:root", "user.enable", "alice"),
        ("user:alice", "token.issue", "alice"),
        ("cli", "token.revoke", "alice"),
    ]
    assert [e.at for e in reversed(events)] == [
        START,
        START + dt.timedelta(minutes=1),
        *[START + dt.timedelta(minutes=2)] * 5,
    ]
    role = events[-2]
    assert role.details == {
        "role": "editor",
        "areas": ["340100"],
        "before": {"role": "editor", "areas": ["340122"]},
    }
    assert events[0].details == {"token_id": token.id, "label": "script"}
    assert "another long secret" not in _stored_text(storage)
    assert storage.data_version() == version  # the facility catalog is not reloaded


def test_roles_are_the_three():
    assert ROLES == ("admin", "editor", "viewer")
