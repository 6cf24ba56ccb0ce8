"""HTTP validation for the read endpoints: ETags by data version and request, and
``If-None-Match`` that also accepts a tag the compression layer suffixed.

Framework-free, so that the Flask views and the hot path (:mod:`.hotpath`) answer alike.
"""

from __future__ import annotations

import hashlib

from werkzeug.http import parse_etags

#: Content codings the compression layer may append to a strong tag (``"abc:gzip"``).
CODINGS = ("gzip", "br", "deflate", "zstd")


def etag_for(version: int, path: str, query_string: str) -> str:
    """The (unquoted) tag of an answer: the data version and the exact request."""
    seed = f"{version}|{path}?{query_string}".encode("utf-8", "surrogateescape")
    return hashlib.sha256(seed).hexdigest()[:32]


def matching_etag(if_none_match: str | None, etag: str) -> str | None:
    """The tag of ``If-None-Match`` that names this answer, else None.

    Weak comparison (RFC 9110 §13.1.2), so ``W/"abc"`` from a proxy matches; a tag
    with a content-coding suffix (``"abc:gzip"``, as sent back by a browser that got
    a compressed answer) matches too, and is the one returned, so that a 304 repeats
    the tag the client holds.
    """
    if not if_none_match:
        return None
    tags = parse_etags(if_none_match)
    if tags.star_tag:
        return etag
    for candidate in (etag, *(f"{etag}:{coding}" for coding in CODINGS)):
        if tags.contains_weak(candidate):
            return candidate
    return None


def cache_control(max_age: int) -> str:
    """The ``Cache-Control`` of a public answer kept ``max_age`` seconds."""
    return f"public, max-age={max_age}"
