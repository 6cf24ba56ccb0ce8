"""The OpenAPI 3 paths and schemas of the coverage endpoints (merged by :mod:`locator.openapi`)."""

from __future__ import annotations

from typing import Any

from ..coverage import DEFAULT_COUNTED_KINDS, DEMAND_WEIGHTS, MAX_RADIUS_KM
from ..grid import RESOLUTIONS
from ..model import KINDS
from ..planning import (
    CANDIDATE_SOURCES,
    DEMAND_SOURCES,
    MAX_CANDIDATE_POINTS,
    MAX_SITES,
    PLAN_METHODS,
)
from ..progress import FREQUENCIES


def _param(
    name: str, description: str, schema: dict, *, explode: bool | None = None
) -> dict[str, Any]:
    param = {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema,
    }
    if explode is not None:
        param["style"], param["explode"] = "form", explode
    return param


def _errors(*statuses: int) -> dict[str, Any]:
    text = {400: "Invalid parameter", 413: "Payload too large", 415: "Unsupported format"}
    return {
        str(s): {
            "description": text[s],
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
        for s in statuses
    }


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def coverage_parameters() -> list[dict[str, Any]]:
    """city, county, radius_km, kind, weight: what every coverage endpoint takes."""
    return [
        _param(
            "city",
            "city name (合肥市) or code (340100); default: the whole province",
            {"type": "string", "maxLength": 60},
        ),
        _param(
            "county",
            "county name or code (within the city, if both are given)",
            {"type": "string", "maxLength": 60},
        ),
        _param(
            "radius_km",
            "service radius, straight line",
            {
                "type": "number",
                "exclusiveMinimum": True,
                "minimum": 0,
                "maximum": MAX_RADIUS_KM,
                "default": 5,
            },
        ),
        _param(
            "kind",
            "facility kinds that count (repeat or comma-separate)",
            {
                "type": "array",
                "items": {"type": "string", "enum": list(KINDS)},
                "default": sorted(DEFAULT_COUNTED_KINDS),
            },
            explode=False,
        ),
        _param(
            "weight",
            "demand weight spread from the county figures",
            {"type": "string", "enum": list(DEMAND_WEIGHTS), "default": "population"},
        ),
    ]


def coverage_paths() -> dict[str, Any]:
    """The ``paths`` entries of the coverage endpoints."""
    common = coverage_parameters()
    geojson = "application/geo+json"
    return {
        "/townships": {
            "get": {
                "summary": "Townships with their coverage",
                "description": "A township is covered when a counted open facility lies inside "
                "it or within radius_km of its reference point (seat, else a "
                "point inside its polygon). Geometry: the polygon, else the "
                "reference point, else null (unlocated townships are listed, "
                "never dropped).",
                "operationId": "listTownshipCoverage",
                "parameters": [
                    *common,
                    _param(
                        "simplify",
                        "simplify polygons (about 50 m)",
                        {"type": "boolean", "default": False},
                    ),
                ],
                "responses": {
                    "200": {
                        "description": "A FeatureCollection",
                        "content": {geojson: {"schema": _ref("TownshipCollection")}},
                    },
                    **_errors(400),
                },
            }
        },
        "/coverage/summary": {
            "get": {
                "summary": "Coverage rolled up per county and city, and the total",
                "operationId": "coverageSummary",
                "parameters": common,
                "responses": {
                    "200": {
                        "description": "Rollups",
                        "content": {"application/json": {"schema": _ref("CoverageSummary")}},
                    },
                    **_errors(400),
                },
            }
        },
        "/coverage/grid": {
            "get": {
                "summary": "H3 grid cells with their nearest distance, or the merged blind spots",
                "operationId": "coverageGrid",
                "parameters": [
                    *common,
                    _param(
                        "resolution",
                        "H3 resolution (default: the finest under 60,000 cells for the area)",
                        {
                            "type": "integer",
                            "minimum": RESOLUTIONS.start,
                            "maximum": RESOLUTIONS.stop - 1,
                        },
                    ),
                    _param(
                        "blind_only",
                        "merge the uncovered cells into blind-spot polygons",
                        {"type": "boolean", "default": False},
                    ),
                ],
                "responses": {
                    "200": {
                        "description": "A FeatureCollection with a summary",
                        "content": {geojson: {"schema": _ref("GridCollection")}},
                    },
                    **_errors(400),
                },
            }
        },
        "/progress": {
            "get": {
                "summary": "Open facilities and covered townships per city over time",
                "operationId": "coverageProgress",
                "parameters": [
                    common[0],
                    common[2],
                    common[3],
                    _param(
                        "freq",
                        "period length",
                        {"type": "string", "enum": list(FREQUENCIES), "default": "monthly"},
                    ),
                    _param(
                        "periods",
                        "how many periods (default 30 days, 26 weeks, 24 months)",
                        {"type": "integer", "minimum": 1, "maximum": 366},
                    ),
                ],
                "responses": {
                    "200": {
                        "description": "The series",
                        "content": {"application/json": {"schema": _ref("ProgressSeries")}},
                    },
                    **_errors(400),
                },
            }
        },
        "/plan": {
            "post": {
                "summary": "Where N new sites would cover the most demand",
                "description": "Existing counted facilities stay fixed; each suggested site "
                "comes with the demand it adds given the ones before it, and the "
                "coverage curve for 1..N sites. method=auto solves exactly "
                "(spopt, CBC) when demand points x candidates <= 2,000,000, "
                "greedily with swaps otherwise. what_if adds temporary driver "
                "homes at the points given and returns the recomputed coverage.",
                "operationId": "planSites",
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref("PlanRequest")}},
                },
                "responses": {
                    "200": {
                        "description": "The plan",
                        "content": {"application/json": {"schema": _ref("PlanResult")}},
                    },
                    **_errors(400, 413, 415),
                },
            }
        },
    }


def coverage_schemas() -> dict[str, Any]:
    """The ``components.schemas`` entries of the coverage endpoints."""
    number = {"type": "number"}
    nullable_number = {"type": "number", "nullable": True}
    nullable_string = {"type": "string", "nullable": True}
    rollup = {
        "type": "object",
        "properties": {
            "code": {"type": "string"},
            "name": {"type": "string"},
            "level": {"type": "string", "enum": ["city", "county", "all", "province"]},
            **{
                k: {"type": "integer"}
                for k in ("townships", "located", "unlocated", "covered", "uncovered", "facilities")
            },
            "demand": number,
            "demand_covered": number,
            "population": nullable_number,
            "transport_workers": nullable_number,
            "covered_share": nullable_number,
            "demand_share": nullable_number,
            "facilities_per_100k_people": nullable_number,
            "facilities_per_10k_transport_workers": nullable_number,
        },
    }
    township = {
        "type": "object",
        "properties": {
            "code": {"type": "string"},
            "name": {"type": "string"},
            "county": nullable_string,
            "county_code": nullable_string,
            "city": nullable_string,
            "city_code": nullable_string,
            "located": {"type": "string", "enum": ["polygon", "seat", "unlocated"]},
            "status": {"type": "string", "enum": ["covered", "partly", "uncovered", "unlocated"]},
            "ref_lon": nullable_number,
            "ref_lat": nullable_number,
            "area_km2": nullable_number,
            "facilities_inside": {"type": "integer", "nullable": True},
            "nearest_id": nullable_string,
            "nearest_name": nullable_string,
            "nearest_m": nullable_number,
            "covered": {"type": "boolean", "nullable": True},
            "covered_share": nullable_number,
            "demand": number,
            "demand_covered": number,
            "gap_rank": {"type": "integer", "nullable": True},
        },
    }
    params = {
        "type": "object",
        "properties": {
            "radius_km": number,
            "kinds": {"type": "array", "items": {"type": "string"}},
            "statuses": {"type": "array", "items": {"type": "string"}},
            "weight": {"type": "string"},
        },
    }
    site = {
        "type": "object",
        "properties": {
            "rank": {"type": "integer"},
            "name": {"type": "string"},
            "lon": number,
            "lat": number,
            "source": {"type": "string"},
            "candidate_id": {"type": "string"},
            "added": number,
            "cumulative": number,
            "points_reached": {"type": "integer"},
            "city": nullable_string,
            "county": nullable_string,
            "township": nullable_string,
        },
    }
    points = {
        "oneOf": [
            {
                "type": "array",
                "maxItems": MAX_CANDIDATE_POINTS,
                "items": {
                    "oneOf": [
                        {"type": "array", "items": number, "minItems": 2, "maxItems": 2},
                        {
                            "type": "object",
                            "required": ["lon", "lat"],
                            "properties": {
                                "lon": number,
                                "lat": number,
                                "name": {"type": "string"},
                            },
                        },
                    ]
                },
            },
            {
                "type": "object",
                "description": "a GeoJSON FeatureCollection of points",
                "properties": {
                    "type": {"type": "string", "enum": ["FeatureCollection"]},
                    "features": {"type": "array", "items": {"type": "object"}},
                },
            },
        ]
    }
    summary = {
        "type": "object",
        "properties": {
            "params": params,
            "area": {"type": "object", "nullable": True},
            "total": _ref("Rollup"),
            "cities": {"type": "array", "items": _ref("Rollup")},
            "counties": {"type": "array", "items": _ref("Rollup")},
        },
    }
    return {
        "Rollup": rollup,
        "CoverageSummary": summary,
        "TownshipFeature": {
            "type": "object",
            "required": ["type", "geometry", "properties"],
            "properties": {
                "type": {"type": "string", "enum": ["Feature"]},
                "id": {"type": "string"},
                "geometry": {"type": "object", "nullable": True},
                "properties": township,
            },
        },
        "TownshipCollection": {
            "type": "object",
            "required": ["type", "features"],
            "properties": {
                "type": {"type": "string", "enum": ["FeatureCollection"]},
                "features": {"type": "array", "items": _ref("TownshipFeature")},
                "numberMatched": {"type": "integer"},
                "numberReturned": {"type": "integer"},
                "params": params,
                "summary": _ref("Rollup"),
            },
        },
        "GridCollection": {
            "type": "object",
            "required": ["type", "features"],
            "properties": {
                "type": {"type": "string", "enum": ["FeatureCollection"]},
                "features": {"type": "array", "items": {"type": "object"}},
                "blind_only": {"type": "boolean"},
                "summary": {
                    "type": "object",
                    "properties": {
                        "resolution": {"type": "integer"},
                        "cells": {"type": "integer"},
                        "cell_area_km2": number,
                        "blind_cells": {"type": "integer"},
                        "demand": number,
                        "demand_covered": number,
                        "demand_share": nullable_number,
                        "radius_km": number,
                    },
                },
            },
        },
        "ProgressSeries": {
            "type": "object",
            "properties": {
                "freq": {"type": "string", "enum": list(FREQUENCIES)},
                "periods": {"type": "integer"},
                "params": params,
                "city": nullable_string,
                "series": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "period_end": {"type": "string", "format": "date"},
                            "city_code": nullable_string,
                            "city": nullable_string,
                            "open_facilities": {"type": "integer"},
                            "covered_townships": {"type": "integer"},
                            "located_townships": {"type": "integer"},
                        },
                    },
                },
            },
        },
        "PlanRequest": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "sites": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": MAX_SITES,
                    "description": "how many new sites (required unless what_if is given)",
                },
                "radius_km": {
                    "type": "number",
                    "exclusiveMinimum": True,
                    "minimum": 0,
                    "maximum": MAX_RADIUS_KM,
                    "default": 5,
                },
                "candidates": {
                    "oneOf": [{"type": "string", "enum": list(CANDIDATE_SOURCES)}, points],
                    "default": "seats",
                },
                "crs": {
                    "type": "string",
                    "enum": ["wgs84", "gcj02", "bd09"],
                    "default": "wgs84",
                    "description": "datum of the candidate and what_if points",
                },
                "demand": {"type": "string", "enum": list(DEMAND_SOURCES), "default": "townships"},
                "method": {"type": "string", "enum": list(PLAN_METHODS), "default": "auto"},
                "city": {"type": "string"},
                "county": {"type": "string"},
                "kind": {
                    "oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]
                },
                "weight": {"type": "string", "enum": list(DEMAND_WEIGHTS)},
                "resolution": {
                    "type": "integer",
                    "minimum": RESOLUTIONS.start,
                    "maximum": RESOLUTIONS.stop - 1,
                },
                "set_cover": {
                    "type": "boolean",
                    "default": False,
                    "description": "also the fewest sites reaching all demand",
                },
                "what_if": {
                    "type": "array",
                    "maxItems": MAX_SITES,
                    "items": {"type": "array", "items": number, "minItems": 2, "maxItems": 2},
                },
            },
        },
        "PlanResult": {
            "type": "object",
            "properties": {
                "params": params,
                "area": {"type": "object", "nullable": True},
                "demand": {"type": "string"},
                "candidates": {"type": "string"},
                "sites_requested": {"type": "integer"},
                "sites": {"type": "array", "items": site},
                "curve": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "sites": {"type": "integer"},
                            "added": number,
                            "covered": number,
                            "share": nullable_number,
                        },
                    },
                },
                "baseline": number,
                "total": number,
                "added_total": number,
                "share_before": nullable_number,
                "share_after": nullable_number,
                "method": {"type": "string", "enum": ["greedy", "exact"]},
                "optimal": {"type": "boolean", "nullable": True},
                "set_cover": {"type": "object", "nullable": True},
                "coverage_check": {
                    "type": "object",
                    "nullable": True,
                    "description": "the suggested sites measured by the coverage rules (share "
                    "of each township's area within reach), as the township "
                    "figures will show them once built",
                    "properties": {
                        "share_before": nullable_number,
                        "share_after": nullable_number,
                        "added_demand": number,
                        "added_covered_townships": {"type": "integer"},
                    },
                },
                "what_if": {
                    "type": "object",
                    "properties": {
                        "before": summary,
                        "after": summary,
                        "added_demand": number,
                        "added_covered_townships": {"type": "integer"},
                        "newly_covered": {"type": "array", "items": {"type": "object"}},
                    },
                },
                "data_version": {"type": "integer"},
            },
        },
    }
