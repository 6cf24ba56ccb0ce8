"""The one reader of JSON request bodies: a media type check, a limit on the bytes
actually read (``Content-Length`` may be absent or lie, as with chunked requests), and
a limit on nesting, before the body reaches any parser of ours."""

from __future__ import annotations

import orjson
from flask import request

from ..errors import InvalidParameter, PayloadTooLarge, UnsupportedFormat

#: The deepest nesting of arrays and objects a body may have (a GeoJSON polygon in a
#: FeatureCollection is 6 deep).
MAX_JSON_DEPTH = 32


def read_json_object(limit: int, *, example: str) -> dict:
    """The request's JSON object, at most ``limit`` bytes and :data:`MAX_JSON_DEPTH` deep.

    415 for another media type, 413 past the limit, 400 (naming ``body``) for anything
    that is not a JSON object; ``example`` shows what is expected.
    """
    if not request.is_json:
        raise UnsupportedFormat(
            "send the request as JSON (Content-Type: application/json)", field="body"
        )
    too_large = PayloadTooLarge(f"the body is limited to {limit // 1024:,} KB", field="body")
    if (request.content_length or 0) > limit:
        raise too_large
    raw = request.stream.read(limit + 1)
    if len(raw) > limit:
        raise too_large
    try:
        body = orjson.loads(raw or b"null")
    except orjson.JSONDecodeError as exc:
        if "depth" in str(exc).lower() or "recursion" in str(exc).lower():
            raise _too_deep() from None
        raise InvalidParameter("the body is not valid JSON", field="body") from None
    check_depth(body)
    if not isinstance(body, dict):
        raise InvalidParameter(f"the body must be a JSON object like {example}", field="body")
    return body


def _too_deep() -> InvalidParameter:
    return InvalidParameter(
        f"the body is nested more than {MAX_JSON_DEPTH} levels deep", field="body"
    )


def check_depth(value, limit: int = MAX_JSON_DEPTH) -> None:
    """InvalidParameter when arrays and objects in ``value`` nest deeper than ``limit``
    (checked without recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            raise _too_deep()
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
