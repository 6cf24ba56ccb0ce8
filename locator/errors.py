"""One error tree for the library, the CLI and the web API.

Each error knows its HTTP status, a machine-readable ``code`` and, where it
applies, the ``field`` that caused it, so that every layer reports it the same
way: ``{"error": {"code": ..., "message": ..., "field": ...}}``. A message raised as a
:class:`~locator.messages.Message` also renders in Chinese (:meth:`LocatorError.message_in`).
"""

from __future__ import annotations

from typing import Any

from .messages import translated


class LocatorError(Exception):
    """Base of every error this package raises on purpose."""

    status = 500
    code = "internal_error"

    def __init__(self, message: str, *, field: str | None = None, details: Any = None):
        super().__init__(message)
        self.message = message
        self.field = field
        self.details = details

    def message_in(self, lang: str) -> str:
        """The message in ``lang`` (``zh`` or ``en``): a keyed
        :class:`~locator.messages.Message` is looked up, other text is as raised."""
        return translated(self.message, lang)

    def to_dict(self) -> dict[str, Any]:
        """The JSON error shape of the public contract."""
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field is not None:
            body["field"] = self.field
        if self.details is not None:
            body["details"] = self.details
        return {"error": body}


class InvalidParameter(LocatorError):
    """A request or call parameter is missing, malformed or out of range."""

    status = 400
    code = "invalid_parameter"


class NotFound(LocatorError):
    """The named object does not exist."""

    status = 404
    code = "not_found"


class Conflict(LocatorError):
    """The object changed since the caller read it (optimistic locking), or ids clash."""

    status = 409
    code = "conflict"


class PayloadTooLarge(LocatorError):
    """An upload or request body is larger than the configured limit."""

    status = 413
    code = "payload_too_large"


class UnsupportedFormat(LocatorError):
    """A file or media type that cannot be read."""

    status = 415
    code = "unsupported_format"


class ValidationFailed(LocatorError):
    """Input rows failed validation; ``details`` holds the row-by-row report."""

    status = 422
    code = "validation_failed"


class RateLimited(LocatorError):
    """Too many requests from one client."""

    status = 429
    code = "rate_limited"


class StorageError(LocatorError):
    """The database could not be reached or is not set up."""

    status = 503
    code = "storage_unavailable"


class Busy(LocatorError):
    """Too much heavy work is running or queued here; ``retry_after`` seconds to wait."""

    status = 503
    code = "busy"

    def __init__(self, message: str, *, retry_after: int = 30, field: str | None = None):
        super().__init__(message, field=field)
        self.retry_after = retry_after


class Unauthorized(LocatorError):
    """No valid credentials: a wrong name or password, a disabled account, a bad token."""

    status = 401
    code = "unauthorized"


class Forbidden(LocatorError):
    """The caller is known but may not do this (role, or a facility outside its areas)."""

    status = 403
    code = "forbidden"


class PreconditionFailed(LocatorError):
    """``If-Match`` names a version that is no longer the stored one."""

    status = 412
    code = "precondition_failed"


class PreconditionRequired(LocatorError):
    """A change that must say which version it changes (``If-Match``) did not."""

    status = 428
    code = "precondition_required"
