"""HTTP caching and compression of the read endpoints: ETags by data version and
request, ``If-None-Match`` that also accepts a tag the compression layer suffixed, and
the gzip a view does itself at its own level.

Framework-free, so that the Flask views and the hot path (:mod:`.hotpath`) answer alike.
"""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from werkzeug.http import parse_etags

from .jsonio import dumps_bytes

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


def own_gzip(config: Mapping, accept_encoding: str | None, body: bytes, level: int) -> bytes | None:
    """``body`` gzipped at ``level`` where Flask-Compress (``config``) would gzip it at
    its own level; None otherwise (the body goes as it is, or Flask-Compress picks
    another coding). For answers whose CPU matters more than their last bytes."""
    if (
        list(config["COMPRESS_ALGORITHM"])[:1] != ["gzip"]
        or len(body) < config["COMPRESS_MIN_SIZE"]
        or plain_or_gzip(accept_encoding) != "gzip"
    ):
        return None
    return gzip.compress(body, compresslevel=level)


@dataclass(frozen=True)
class Answer:
    """What a read endpoint answers: the data version it was read from, its body (or a
    builder of it, not called for a 304), how long clients may keep it, its media type,
    and the gzip level it is compressed at here (None: the compression layer decides)."""

    version: int
    body: Any
    max_age: int = 60
    media_type: str = "application/json"
    gzip_level: int | None = None


@dataclass(frozen=True)
class Rendered:
    """An answer as HTTP: status, headers and the bytes to send."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes


def render(answer: Answer, environ: Mapping, config: Mapping) -> Rendered:
    """``answer`` for the request in ``environ`` (a WSGI environ): an ETag of the data
    version and the request, 304 when the client holds it, the body gzipped at the
    answer's own level where the client takes gzip, and ``Cache-Control``. The Flask
    views and the hot path both send what this returns."""
    etag = etag_for(answer.version, environ.get("PATH_INFO", ""), environ.get("QUERY_STRING", ""))
    cache = ("Cache-Control", cache_control(answer.max_age))
    held = matching_etag(environ.get("HTTP_IF_NONE_MATCH"), etag)
    if held is not None:
        return Rendered(304, [("ETag", f'"{held}"'), cache], b"")
    body = dumps_bytes(answer.body() if callable(answer.body) else answer.body)
    headers = [("Content-Type", answer.media_type)]
    zipped = (
        None
        if answer.gzip_level is None
        else own_gzip(config, environ.get("HTTP_ACCEPT_ENCODING"), body, answer.gzip_level)
    )
    if zipped:
        body = zipped
        headers += [("Content-Encoding", "gzip"), ("Vary", "Accept-Encoding")]
        etag = f"{etag}:gzip"  # as Flask-Compress tags what it compresses
    return Rendered(200, [*headers, ("ETag", f'"{etag}"'), cache], body)
