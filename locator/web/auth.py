"""Who is asking: sign-in with a session for the admin pages, a personal token for the
write API; CSRF tokens on every form; limits on sign-in attempts.

- Sessions are signed cookies (``LOCATOR_SECRET_KEY``), so they survive a restart and
  hold in every worker; ``HttpOnly``, ``SameSite=Lax`` and ``Secure`` over HTTPS. A
  session also carries a fingerprint of the password hash: a new password or a disabled
  account ends every session of that account.
- Every POST, PUT, PATCH and DELETE to a page needs the form's CSRF token (Flask-WTF);
  the JSON API authenticates by ``Authorization: Bearer`` and keeps no cookie state, so
  it is exempt.
- Sign-in attempts are limited per client address and per account name (Flask-Limiter;
  counters in Redis when ``LOCATOR_REDIS_URL`` is set, so all workers share them).
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable

from flask import Blueprint, Flask, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_wtf.csrf import CSRFError, CSRFProtect

from ..accounts import Accounts, User
from ..errors import Forbidden, LocatorError, Unauthorized
from . import state
from .errors import respond_error

bp = Blueprint("auth", __name__)
csrf = CSRFProtect()
limiter = Limiter(get_remote_address, default_limits=[])


def accounts() -> Accounts:
    """The accounts of the app's storage."""
    app_state = state()
    return Accounts(app_state.storage, app_state.clock)


def _fingerprint(user: User) -> str:
    return hashlib.sha256(f"{user.name}\0{user.password_changed_at}".encode()).hexdigest()[:16]


def current_user() -> User | None:
    """The signed-in account of this request's session, or None."""
    if "user" in g:
        return g.user
    user = None
    name = session.get("user")
    if name:
        try:
            found = accounts().get(name)
        except LocatorError:
            found = None
        if found is not None and not found.disabled and session.get("fp") == _fingerprint(found):
            user = found
        else:
            session.clear()
    g.user = user
    return user


def token_user() -> tuple[User, str]:
    """The owner of the request's ``Authorization: Bearer`` token and the actor its
    writes are recorded as; 401 otherwise."""
    header = request.headers.get("Authorization", "")
    scheme, _sep, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("an API token is required: Authorization: Bearer <token>")
    user, found = accounts().authenticate_token(token.strip())
    return user, f"token:{found.id} ({user.name})"


def signed_in(check: Callable[[User], bool] | None = None):
    """A page view for signed-in accounts (others go to the sign-in page) that pass
    ``check`` (others get 403)."""

    def decorate(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            user = current_user()
            if user is None:
                return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
            if check is not None and not check(user):
                raise Forbidden(_("Your account may not do this."))
            return view(*args, **kwargs)

        return wrapper

    return decorate


def _safe_next(target: str | None) -> str:
    """Only a path on this site (never ``//host`` or a scheme) is a place to go next."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("admin.facilities")


def _login_key() -> str:
    return f"login:{(request.form.get('name') or '').strip().lower()}"


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: state().settings.login_limit, methods=["POST"])
@limiter.limit(lambda: state().settings.login_limit, methods=["POST"], key_func=_login_key)
def login():
    """The sign-in form; a good name and password start a session."""
    error = None
    if request.method == "POST":
        try:
            user = accounts().authenticate(
                request.form.get("name", "").strip(), request.form.get("password", "")
            )
        except Unauthorized:
            error = _("Wrong name or password, or the account is disabled.")
        else:
            session.clear()
            session.permanent = True
            session["user"], session["fp"] = user.name, _fingerprint(user)
            return redirect(_safe_next(request.args.get("next")))
    status = 401 if error else 200
    return render_template("login.html", error=error, next=request.args.get("next")), status


@bp.post("/logout")
def logout():
    """End the session (a form with its CSRF token, so no other site can sign one out)."""
    session.clear()
    return redirect(url_for("pages.index"))


def init_app(app: Flask) -> None:
    """Sessions, CSRF and limits for ``app``."""
    settings = app.extensions["locator"].settings
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.public_url.startswith("https://"),
        PERMANENT_SESSION_LIFETIME=int(settings.session_hours * 3600),
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
        WTF_CSRF_SSL_STRICT=True,
        RATELIMIT_STORAGE_URI=settings.redis_url or "memory://",
        RATELIMIT_KEY_PREFIX="locator",
        RATELIMIT_HEADERS_ENABLED=True,
    )
    csrf.init_app(app)
    limiter.init_app(app)
    app.jinja_env.globals["current_user"] = current_user

    @app.errorhandler(CSRFError)
    def csrf_refused(exc: CSRFError):
        app.logger.warning("refused a form without a valid CSRF token: %s", exc.description)
        return respond_error(
            Forbidden(_("This form has expired or did not come from this site; reload it."))
        )
