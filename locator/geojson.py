"""GeoJSON (RFC 7946) documents with OGC API Features paging fields."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

from .catalog import Page
from .model import Facility

GEOJSON = "application/geo+json"


def feature_collection(
    facilities: Sequence[Facility],
    *,
    number_matched: int | None = None,
    links: list[dict] | None = None,
    to_feature: Callable[[Facility], dict] | None = None,
) -> dict[str, Any]:
    """A FeatureCollection of facilities with ``numberMatched``/``numberReturned``
    (each Feature from ``to_feature``, by default :meth:`Facility.to_feature`)."""
    features = [to_feature(f) if to_feature else f.to_feature() for f in facilities]
    body: dict[str, Any] = {"type": "FeatureCollection", "features": features}
    body["numberMatched"] = len(features) if number_matched is None else number_matched
    body["numberReturned"] = len(features)
    if links is not None:
        body["links"] = links
    return body


def page_links(base_url: str, args: Mapping, page: Page) -> list[dict[str, str]]:
    """``self``, ``next`` and ``prev`` links of a page, keeping the other parameters."""

    def href(offset: int) -> str:
        params = [
            (k, v)
            for k in args
            for v in (args.getlist(k) if hasattr(args, "getlist") else [args[k]])
            if k not in ("offset", "limit")
        ]
        params += [("limit", str(page.limit)), ("offset", str(offset))]
        return f"{base_url}?{urlencode(params)}"

    links = [{"rel": "self", "type": GEOJSON, "href": href(page.offset)}]
    if page.offset + page.limit < page.number_matched:
        links.append({"rel": "next", "type": GEOJSON, "href": href(page.offset + page.limit)})
    if page.offset > 0:
        # Past the end, "prev" leads to the last page that has items.
        last_page = max(0, page.number_matched - 1) // page.limit * page.limit
        links.append(
            {
                "rel": "prev",
                "type": GEOJSON,
                "href": href(max(0, min(page.offset - page.limit, last_page))),
            }
        )
    return links
