"""JSON for the web layer with orjson: several times faster than the standard library,
which matters on the hot read endpoints (``/api/v1/nearest``)."""

from __future__ import annotations

from typing import Any

import orjson
from flask.json.provider import JSONProvider

_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY


def _default(value: Any) -> Any:
    if isinstance(value, set | frozenset):
        return sorted(value)
    raise TypeError(f"cannot serialise {type(value).__name__} as JSON")


def dumps_bytes(value: Any) -> bytes:
    """UTF-8 JSON bytes (non-ASCII kept as is; NaN written as null)."""
    return orjson.dumps(value, default=_default, option=_OPTIONS)


class OrjsonProvider(JSONProvider):
    """Flask's ``app.json`` backed by orjson."""

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        return dumps_bytes(obj).decode()

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return orjson.loads(s)

    def response(self, *args: Any, **kwargs: Any):
        obj = self._prepare_response_obj(args, kwargs)
        return self._app.response_class(dumps_bytes(obj), mimetype="application/json")
