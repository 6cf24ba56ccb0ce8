"""``locator user``: the accounts of the union staff, from the shell.

Every change made here is recorded in the account events with the actor ``cli``.
"""

from __future__ import annotations

import sys

import click

from ..accounts import ROLES, Accounts, check_name
from ..errors import InvalidParameter, LocatorError
from ..hours import SHANGHAI
from . import _fail, _storage

#: Who account changes from the shell are recorded as.
ACTOR = "cli"

_LANG = click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True)
_PASSWORD_STDIN = click.option(
    "--password-stdin",
    is_flag=True,
    help="read the password from the first line of standard input (for scripts)",
)

_TEXT = {
    "password": {"zh": "密码", "en": "Password"},
    "repeat": {"zh": "再次输入密码", "en": "Repeat the password"},
    "mismatch": {"zh": "两次输入的密码不一致", "en": "the two passwords differ"},
    "added": {"zh": "已添加用户 {name}（{role}）", "en": "added user {name} ({role})"},
    "disabled": {"zh": "已停用用户 {name}", "en": "disabled user {name}"},
    "enabled": {"zh": "已启用用户 {name}", "en": "enabled user {name}"},
    "passwd": {"zh": "已更改用户 {name} 的密码", "en": "changed the password of {name}"},
    "once": {
        "zh": "令牌 {id}（{name}）：只显示这一次，请立即妥善保存",
        "en": "token {id} of {name}: it will not be shown again, keep it now",
    },
    "revoked": {"zh": "已吊销令牌 {id}（{name}）", "en": "revoked token {id} of {name}"},
    "no_users": {
        "zh": "还没有用户：locator user add NAME --role admin",
        "en": "no users yet: locator user add NAME --role admin",
    },
    "no_tokens": {"zh": "用户 {name} 没有令牌", "en": "{name} has no tokens"},
    "users_head": {
        "zh": ("用户名", "角色", "负责区域", "状态", "有效令牌"),
        "en": ("name", "role", "areas", "state", "tokens"),
    },
    "tokens_head": {
        "zh": ("编号", "标签", "创建时间", "最近使用", "吊销时间"),
        "en": ("id", "label", "created", "last used", "revoked"),
    },
    "active": {"zh": "启用", "en": "active"},
    "off": {"zh": "停用", "en": "disabled"},
}


def _t(key: str, lang: str, **params) -> str:
    return _TEXT[key][lang].format(**params)


def _accounts(ctx: click.Context) -> Accounts:
    """The accounts of the configured storage (its tables checked), on the settings' clock."""
    storage = _storage(ctx)
    ctx.call_on_close(storage.close)
    return Accounts(storage, ctx.obj["settings"].clock())


def _read_password(from_stdin: bool, lang: str) -> str:
    """The new password: one line of standard input, or asked twice without echo."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = click.prompt(_t("password", lang), hide_input=True)
    second = click.prompt(_t("repeat", lang), hide_input=True)
    if first != second:
        raise InvalidParameter(_t("mismatch", lang), field="password")
    return first


def _when(at) -> str:
    """A stored time as Shanghai wall-clock time."""
    return "—" if at is None else at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


@click.group()
def user() -> None:
    """Accounts: add, list, disable and enable, passwords, personal API tokens."""


@user.command("add")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(ROLES), help="what the account may do")
@click.option(
    "--area",
    "areas",
    multiple=True,
    metavar="CODE",
    help="an editor's city or county code, e.g. 340100 or 340122 (repeatable)",
)
@_PASSWORD_STDIN
@_LANG
@click.pass_context
def add(ctx, name, role, areas, password_stdin, lang):
    """Add an account (the password is asked twice, or read with --password-stdin)."""
    people = _accounts(ctx)
    try:
        check_name(name)  # before asking for a password
        people.check_areas(role, areas)
        password = _read_password(password_stdin, lang)
        added = people.add(name, role, list(areas), password, actor=ACTOR)
    except LocatorError as exc:
        _fail(exc)
    click.echo(_t("added", lang, name=added.name, role=added.role))


@user.command("list")
@_LANG
@click.pass_context
def list_(ctx, lang):
    """The accounts: name, role, areas, whether disabled, active tokens."""
    people = _accounts(ctx)
    try:
        users = people.list()
        storage = people.storage
        names = {u.code: u.name for u in storage.admin_units() if u.level in ("city", "county")}
        active: dict[str, int] = {}
        for token in storage.api_tokens():
            if token.active:
                active[token.owner] = active.get(token.owner, 0) + 1
    except LocatorError as exc:
        _fail(exc)
    if not users:
        click.echo(_t("no_users", lang))
        return
    click.echo("\t".join(_TEXT["users_head"][lang]))
    for u in users:
        areas = "，".join(f"{names.get(code, '?')} ({code})" for code in u.areas) or "—"
        state = _t("off", lang) if u.disabled else _t("active", lang)
        click.echo("\t".join([u.name, u.role, areas, state, str(active.get(u.name, 0))]))


@user.command("disable")
@click.argument("name")
@_LANG
@click.pass_context
def disable(ctx, name, lang):
    """Disable an account: no sign-in, its tokens refused (until enabled again)."""
    try:
        done = _accounts(ctx).disable(name, actor=ACTOR)
    except LocatorError as exc:
        _fail(exc)
    click.echo(_t("disabled", lang, name=done.name))


@user.command("enable")
@click.argument("name")
@_LANG
@click.pass_context
def enable(ctx, name, lang):
    """Enable a disabled account again."""
    try:
        done = _accounts(ctx).enable(name, actor=ACTOR)
    except LocatorError as exc:
        _fail(exc)
    click.echo(_t("enabled", lang, name=done.name))


@user.command("passwd")
@click.argument("name")
@_PASSWORD_STDIN
@_LANG
@click.pass_context
def passwd(ctx, name, password_stdin, lang):
    """Set a new password (asked twice, or read with --password-stdin)."""
    people = _accounts(ctx)
    try:
        found = people.get(name)
        password = _read_password(password_stdin, lang)
        people.set_password(found.name, password, actor=ACTOR)
    except LocatorError as exc:
        _fail(exc)
    click.echo(_t("passwd", lang, name=found.name))


@user.command("token")
@click.argument("name")
@click.option("--label", default="", help="what the token is for, e.g. the import script")
@_LANG
@click.pass_context
def token(ctx, name, label, lang):
    """Issue a personal API token and print it, this once."""
    try:
        plaintext, issued = _accounts(ctx).issue_token(name, label, actor=ACTOR)
    except LocatorError as exc:
        _fail(exc)
    click.echo(plaintext)
    click.echo(_t("once", lang, id=issued.id, name=issued.owner), err=True)


@user.command("tokens")
@click.argument("name")
@_LANG
@click.pass_context
def tokens(ctx, name, lang):
    """The API tokens of an account (never their text)."""
    try:
        found = _accounts(ctx).tokens(name)
    except LocatorError as exc:
        _fail(exc)
    if not found:
        click.echo(_t("no_tokens", lang, name=name))
        return
    click.echo("\t".join(_TEXT["tokens_head"][lang]))
    for t in found:
        click.echo(
            "\t".join(
                [
                    str(t.id),
                    t.label or "—",
                    _when(t.created_at),
                    _when(t.last_used_at),
                    _when(t.revoked_at),
                ]
            )
        )


@user.command("revoke")
@click.argument("token_id", type=int)
@_LANG
@click.pass_context
def revoke(ctx, token_id, lang):
    """Revoke an API token by its id (see `locator user tokens NAME`)."""
    try:
        done = _accounts(ctx).revoke_token(token_id, actor=ACTOR)
    except LocatorError as exc:
        _fail(exc)
    click.echo(_t("revoked", lang, id=done.id, name=done.owner))
