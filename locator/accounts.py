"""Accounts of the union staff who keep the stations, their area roles and API tokens.

Roles (:data:`ROLES`):

- ``admin``: everything, and manages the accounts;
- ``editor``: creates, edits, closes and deletes the facilities of its areas (city or
  county codes: a city's editor edits every county of that city);
- ``viewer``: reads the admin pages and downloads, changes nothing.

Passwords are hashed with Argon2id (``argon2-cffi``'s default parameters, rehashed on
sign-in when those change). Personal API tokens (``lct_...``) are random, shown once and
stored as SHA-256 only. Every change of an account is recorded with who made it
(``actor``: ``"cli"``, ``"user:alice"``) in the storage's account events.

Examples
--------
>>> from locator.clock import FixedClock
>>> accounts = Accounts(storage, FixedClock(dt.datetime(2026, 12, 1, 9)))  # doctest: +SKIP
>>> accounts.add("alice", "editor", ["340122"], "a long passphrase", actor="cli")  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
import secrets
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from .clock import Clock, system_clock, utc_now
from .errors import Conflict, InvalidParameter, NotFound, Unauthorized

if TYPE_CHECKING:
    from .model import Facility

ROLES = ("admin", "editor", "viewer")
#: Admin-unit levels an editor's area may be.
AREA_LEVELS = ("city", "county")

NAME_MIN, NAME_MAX = 2, 64
NAME_SYMBOLS = "._-@"
PASSWORD_MIN, PASSWORD_MAX = 10, 200
LABEL_MAX = 100

TOKEN_PREFIX = "lct_"
#: A token's ``last_used_at`` is written at most this often (each write takes the lock).
TOKEN_TOUCH_EVERY = dt.timedelta(minutes=1)

#: The one answer to a failed sign-in, whatever failed, so that it tells nothing.
SIGN_IN_FAILED = "wrong name or password, or the account is disabled"
TOKEN_REFUSED = "the API token is unknown or revoked, or its account is disabled"


@dataclass(frozen=True)
class User:
    """An account as the code sees it (never its password hash)."""

    name: str
    role: str
    areas: tuple[str, ...] = ()
    disabled: bool = False
    created_at: dt.datetime | None = None
    password_changed_at: dt.datetime | None = None

    @property
    def can_write(self) -> bool:
        """Whether the account may change facilities at all (admins and editors)."""
        return not self.disabled and self.role in ("admin", "editor")

    @property
    def can_manage_users(self) -> bool:
        """Whether the account manages accounts (admins)."""
        return not self.disabled and self.role == "admin"

    def can_edit_area(self, codes: str | Iterable[str | None]) -> bool:
        """Whether the account may edit in the area with ``codes`` (a facility's county and
        city codes; one code may be given as a string).

        Admins may edit anywhere, also where no code is known; an editor where one of
        the codes is one of its areas; a viewer nowhere.
        """
        if self.disabled:
            return False
        if self.role == "admin":
            return True
        if self.role != "editor":
            return False
        wanted = (codes,) if isinstance(codes, str) else tuple(codes)
        return any(code in self.areas for code in wanted if code)

    def can_edit(self, facility: Facility) -> bool:
        """Whether the account may create, edit, close or delete ``facility`` (by its
        derived ``county_code`` and ``city_code``)."""
        return self.can_edit_area((facility.county_code, facility.city_code))


@dataclass(frozen=True)
class Token:
    """A personal API token (its hash stays in storage; the text is shown once)."""

    id: int
    owner: str
    label: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None = None
    revoked_at: dt.datetime | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


@dataclass(frozen=True)
class AccountEvent:
    """One recorded change of an account: who (``actor``), when, what, to whom."""

    seq: int
    at: dt.datetime
    actor: str
    action: str  # user.add, user.role, user.password, user.disable, user.enable,
    #              token.issue, token.revoke
    target: str
    details: dict[str, Any] = field(default_factory=dict)


def token_hash(plaintext: str) -> str:
    """The SHA-256 hex of a token: what storage keeps and looks tokens up by."""
    return hashlib.sha256(plaintext.encode("utf-8")).hexdigest()


def check_name(name: str) -> str:
    """``name`` (NFC) if it is a valid account name, else InvalidParameter on ``name``."""
    name = unicodedata.normalize("NFC", name or "")
    if not NAME_MIN <= len(name) <= NAME_MAX:
        raise InvalidParameter(f"a user name has {NAME_MIN} to {NAME_MAX} characters", field="name")
    bad = [c for c in name if not (c.isalpha() or c in "0123456789" or c in NAME_SYMBOLS)]
    if bad:
        raise InvalidParameter(
            f"a user name has letters, digits and {' '.join(NAME_SYMBOLS)} only, not {bad[0]!r}",
            field="name",
        )
    return name


def check_password(password: str, name: str) -> None:
    """InvalidParameter on ``password`` unless it has 10 to 200 characters and is not
    the user name."""
    if not isinstance(password, str) or not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        raise InvalidParameter(
            f"a password has {PASSWORD_MIN} to {PASSWORD_MAX} characters", field="password"
        )
    if password.casefold() == name.casefold():
        raise InvalidParameter("the password must not be the user name", field="password")


def check_role(role: str) -> str:
    if role not in ROLES:
        raise InvalidParameter(
            f"role must be one of {', '.join(ROLES)}, not {role!r}", field="role"
        )
    return role


@functools.cache
def _hasher() -> PasswordHasher:
    return PasswordHasher()


@functools.cache
def _decoy_hash() -> str:
    """A hash to verify against for unknown names, so that timing does not tell."""
    return _hasher().hash(secrets.token_urlsafe(16))


class Accounts:
    """The accounts service over one storage; times come from ``clock``.

    Every method that changes something takes ``actor``, the one who makes the change,
    and records it in :meth:`locator.storage.Storage.account_events`.
    """

    def __init__(self, storage: Any, clock: Clock = system_clock) -> None:
        self.storage = storage
        self.clock = clock

    def _now(self) -> dt.datetime:
        return utc_now(self.clock)

    # ---- reading -----------------------------------------------------------------------
    def get(self, name: str) -> User:
        """One account; NotFound on ``name`` when there is none."""
        return self.storage.get_user(unicodedata.normalize("NFC", name or ""))

    def list(self) -> list[User]:
        """Every account, ordered by name."""
        return self.storage.users()

    def tokens(self, name: str) -> list[Token]:
        """The tokens of one account (revoked ones too), oldest first."""
        return self.storage.api_tokens(self.get(name).name)

    # ---- changing ----------------------------------------------------------------------
    def check_areas(self, role: str, areas: Iterable[str]) -> tuple[str, ...]:
        """The areas of an account of ``role``: codes of stored cities or counties,
        without repeats; InvalidParameter on ``area`` otherwise."""
        codes = tuple(dict.fromkeys(str(a).strip() for a in areas if str(a).strip()))
        if role == "editor" and not codes:
            raise InvalidParameter(
                "an editor needs at least one area (a city or county code)", field="area"
            )
        if role != "editor" and codes:
            raise InvalidParameter(f"the {role} role takes no areas", field="area")
        if codes:
            known = {u.code for u in self.storage.admin_units() if u.level in AREA_LEVELS}
            for code in codes:
                if code not in known:
                    raise InvalidParameter(
                        f"area {code!r} is not the code of a stored city or county",
                        field="area",
                    )
        return codes

    def add(self, name: str, role: str, areas: Sequence[str], password: str, *, actor: str) -> User:
        """A new account; Conflict on ``name`` when the name is taken (in any case)."""
        name = check_name(name)
        role = check_role(role)
        codes = self.check_areas(role, areas)
        check_password(password, name)
        taken = [u.name for u in self.storage.users() if u.name.casefold() == name.casefold()]
        if taken:
            raise Conflict(f"the user name {taken[0]!r} is taken", field="name")
        now = self._now()
        user = User(name, role, codes, False, now, now)
        self.storage.add_user(user, _hasher().hash(password), actor=actor, at=now)
        return user

    def set_role(self, name: str, role: str, areas: Sequence[str], *, actor: str) -> User:
        """Give an account another role and/or areas."""
        user = self.get(name)
        role = check_role(role)
        codes = self.check_areas(role, areas)
        changed = dataclasses.replace(user, role=role, areas=codes)
        if changed != user:
            self.storage.update_user(
                changed,
                actor=actor,
                action="user.role",
                at=self._now(),
                details={
                    "role": role,
                    "areas": list(codes),
                    "before": {"role": user.role, "areas": list(user.areas)},
                },
            )
        return changed

    def set_password(self, name: str, password: str, *, actor: str) -> User:
        """A new password (it ends the account's sessions: ``password_changed_at``)."""
        user = self.get(name)
        check_password(password, user.name)
        now = self._now()
        changed = dataclasses.replace(user, password_changed_at=now)
        self.storage.update_user(
            changed,
            password_hash=_hasher().hash(password),
            actor=actor,
            action="user.password",
            at=now,
        )
        return changed

    def disable(self, name: str, *, actor: str) -> User:
        """Stop an account from signing in and its tokens from working."""
        return self._set_disabled(name, True, actor)

    def enable(self, name: str, *, actor: str) -> User:
        """Let a disabled account sign in again (its unrevoked tokens work again)."""
        return self._set_disabled(name, False, actor)

    def _set_disabled(self, name: str, disabled: bool, actor: str) -> User:
        user = self.get(name)
        if user.disabled == disabled:
            return user
        changed = dataclasses.replace(user, disabled=disabled)
        action = "user.disable" if disabled else "user.enable"
        self.storage.update_user(changed, actor=actor, action=action, at=self._now())
        return changed

    # ---- passwords ---------------------------------------------------------------------
    def authenticate(self, name: str, password: str) -> User:
        """The account whose name and password these are; Unauthorized (one message for
        an unknown name, a wrong password and a disabled account) otherwise.

        The password is checked against a hash even for an unknown name, so the time an
        answer takes does not tell whether the name exists.
        """
        found = None
        if isinstance(name, str) and isinstance(password, str) and len(password) <= PASSWORD_MAX:
            found = self.storage.user_credentials(unicodedata.normalize("NFC", name))
        user, stored = found if found is not None else (None, _decoy_hash())
        try:
            _hasher().verify(stored, password if isinstance(password, str) else "")
        except (VerificationError, InvalidHashError):
            raise Unauthorized(SIGN_IN_FAILED) from None
        if user is None or user.disabled:
            raise Unauthorized(SIGN_IN_FAILED)
        if _hasher().check_needs_rehash(stored):
            self.storage.replace_password_hash(user.name, _hasher().hash(password))
        return user

    # ---- tokens ------------------------------------------------------------------------
    def issue_token(self, name: str, label: str = "", *, actor: str) -> tuple[str, Token]:
        """A new personal API token of the account: its text (shown this once, never
        stored) and its record."""
        user = self.get(name)
        if user.disabled:
            raise Conflict(f"the account {user.name!r} is disabled", field="name")
        label = (label or "").strip()
        if len(label) > LABEL_MAX:
            raise InvalidParameter(
                f"a token label has at most {LABEL_MAX} characters", field="label"
            )
        plaintext = TOKEN_PREFIX + secrets.token_urlsafe(32)
        token = self.storage.add_token(
            user.name, label, token_hash(plaintext), actor=actor, at=self._now()
        )
        return plaintext, token

    def revoke_token(self, token_id: int, *, actor: str) -> Token:
        """Revoke a token for good (revoking it again changes nothing)."""
        return self.storage.revoke_token(int(token_id), actor=actor, at=self._now())

    def authenticate_token(self, plaintext: str) -> tuple[User, Token]:
        """The account and token of a token's text; Unauthorized when the token is
        unknown or revoked or its account disabled."""
        found = None
        if (
            isinstance(plaintext, str)
            and plaintext.startswith(TOKEN_PREFIX)
            and len(plaintext) <= 200
        ):
            found = self.storage.token_by_hash(token_hash(plaintext))
        if found is None or not found.active:
            raise Unauthorized(TOKEN_REFUSED)
        try:
            user = self.storage.get_user(found.owner)
        except NotFound:
            raise Unauthorized(TOKEN_REFUSED) from None
        if user.disabled:
            raise Unauthorized(TOKEN_REFUSED)
        now = self._now()
        if found.last_used_at is None or now - found.last_used_at >= TOKEN_TOUCH_EVERY:
            self.storage.touch_token(found.id, now)
            found = dataclasses.replace(found, last_used_at=now)
        return user, found

    def user_for_token(self, plaintext: str) -> User:
        """The account of a token's text (see :meth:`authenticate_token`)."""
        return self.authenticate_token(plaintext)[0]
