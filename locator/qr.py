"""QR codes of facility pages, as SVG (``segno``), for posters and phones."""

from __future__ import annotations

import io

import segno

#: Error correction level Q restores up to a quarter of the code: posters get dirty.
ERROR_LEVEL = "q"
#: The quiet zone around the code, in modules (the QR standard asks for 4).
QUIET_ZONE = 4


def qr_code(data: str) -> segno.QRCode:
    """The (full-size, never micro) QR code of ``data`` at error correction level Q."""
    return segno.make(data, error=ERROR_LEVEL, micro=False, boost_error=False)


def qr_svg(data: str, *, scale: int = 4, title: str | None = None) -> str:
    """An SVG document of the QR code of ``data``: black on white, with the quiet zone.

    Examples
    --------
    >>> svg = qr_svg("https://example.org/f/osm:way/1")
    >>> svg.startswith('<?xml version="1.0" encoding="utf-8"?>') and "<path" in svg
    True
    """
    buffer = io.BytesIO()
    qr_code(data).save(
        buffer,
        kind="svg",
        scale=scale,
        border=QUIET_ZONE,
        dark="#000",
        light="#fff",
        xmldecl=True,
        svgns=True,
        title=title,
    )
    return buffer.getvalue().decode("utf-8")
