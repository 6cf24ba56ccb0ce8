"""HTTP caching and compression of the read endpoints: ETags by data version and
request, ``If-None-Match`` that also accepts a tag the compression layer suffixed, and
the gzip a view does itself at its own level.

Framework-free, so that the Flask views and the hot path (:mod:`.hotpath`) answer alike.
"""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Mapping

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


def plain_or_gzip(accept_encoding: str | None) -> str | None:
    """``""`` (no coding) or ``"gzip"`` where Flask-Compress, configured with gzip
    first, would choose the same; None for anything else (q-values, ``*``, no gzip)."""
    if not accept_encoding or not accept_encoding.strip():
        return ""
    codings = {part.strip().lower() for part in accept_encoding.split(",")}
    if "gzip" not in codings or any(";" in c or c == "*" for c in codings):
        return None
    return "gzip"


def own_gzip(config: Mapping, accept_encoding: str | None, body: bytes, level: int
             ) -> bytes | None:
    """``body`` gzipped at ``level`` where Flask-Compress (``config``) would gzip it at
    its own level; None otherwise (the body goes as it is, or Flask-Compress picks
    another coding). For answers whose CPU matters more than their last bytes."""
    if (list(config["COMPRESS_ALGORITHM"])[:1] != ["gzip"] or len(body) < config[
            "COMPRESS_MIN_SIZE"] or plain_or_gzip(accept_encoding) != "gzip"):
        return None
    return gzip.compress(body, compresslevel=level)
