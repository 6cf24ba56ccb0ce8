"""The OpenAPI 3 description of the HTTP API, built from the model's vocabularies."""

from __future__ import annotations

from typing import Any

from .. import __version__
from ..model import AMENITIES, KINDS, STATUSES
from ..places import LEVELS, MAX_LIMIT, MAX_QUERY_LENGTH
from .coverage import coverage_paths, coverage_schemas
from .writes import write_components, write_operations


def _param(
    name: str,
    description: str,
    schema: dict,
    *,
    where: str = "query",
    required: bool = False,
    explode: bool | None = None,
) -> dict[str, Any]:
    param = {
        "name": name,
        "in": where,
        "required": required,
        "description": description,
        "schema": schema,
    }
    if explode is not None:
        param["style"], param["explode"] = "form", explode
    return param


def _error_responses(*statuses: int) -> dict[str, Any]:
    text = {
        400: "Invalid parameter",
        404: "Not found",
        409: "Conflict",
        413: "Payload too large",
        415: "Unsupported format",
        422: "Validation failed",
        429: "Too many requests",
    }
    return {
        str(s): {
            "description": text[s],
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
        for s in statuses
    }


def openapi_document(server_url: str = "") -> dict[str, Any]:
    """The OpenAPI 3.0 document of ``/api/v1``."""
    enum_list = {"type": "array", "items": {"type": "string"}}
    facility_filters = [
        _param(
            "bbox",
            "west,south,east,north in WGS-84 degrees",
            {"type": "array", "items": {"type": "number"}, "minItems": 4, "maxItems": 4},
            explode=False,
        ),
        _param(
            "kind",
            "facility kinds (repeat or comma-separate)",
            {**enum_list, "items": {"type": "string", "enum": list(KINDS)}},
            explode=False,
        ),
        _param(
            "status",
            "statuses",
            {**enum_list, "items": {"type": "string", "enum": list(STATUSES)}},
            explode=False,
        ),
        _param(
            "amenity",
            "amenities that must all be present",
            {**enum_list, "items": {"type": "string", "enum": list(AMENITIES)}},
            explode=False,
        ),
        _param("city", "city name (合肥市) or code (340100)", {"type": "string"}),
        _param("county", "county name or code", {"type": "string"}),
        _param("township", "township name or code", {"type": "string"}),
        _param("q", "text in name, address or place names", {"type": "string", "maxLength": 100}),
        _param(
            "limit", "page size", {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}
        ),
        _param("offset", "items to skip", {"type": "integer", "minimum": 0, "default": 0}),
    ]
    crs_schema = {"type": "string", "enum": ["wgs84", "gcj02", "bd09"], "default": "wgs84"}
    facility_properties = {
        "name": {"type": "string"},
        "kind": {"type": "string", "enum": list(KINDS)},
        "status": {"type": "string", "enum": list(STATUSES)},
        "address": {"type": "string", "nullable": True},
        "phone": {"type": "string", "nullable": True},
        "operator": {"type": "string", "nullable": True},
        "website": {"type": "string", "nullable": True},
        "hours": {
            "type": "string",
            "nullable": True,
            "description": "OpenStreetMap opening_hours, evaluated in Asia/Shanghai",
        },
        "amenities": {"type": "array", "items": {"type": "string", "enum": list(AMENITIES)}},
        "truck_parking_spaces": {"type": "integer", "nullable": True},
        "opened_on": {"type": "string", "format": "date", "nullable": True},
        **{
            name: {"type": "string", "nullable": True}
            for name in (
                "city",
                "city_code",
                "county",
                "county_code",
                "township",
                "township_code",
                "source",
                "source_id",
            )
        },
        "updated_at": {"type": "string", "format": "date-time", "nullable": True},
        "version": {"type": "integer"},
        "distance_m": {"type": "number", "description": "nearest and along-route only"},
        "bearing_deg": {"type": "number"},
        "drive_minutes_estimate": {"type": "number"},
        "open_state": {"type": "string", "enum": ["open", "closed", "unknown"]},
        "distance_along_m": {"type": "number"},
        "offset_m": {"type": "number"},
    }
    document = {
        "openapi": "3.0.3",
        "info": {
            "title": "locator API",
            "version": __version__,
            "description": "Driver stations, service points, logistics parks and "
            "expressway service areas; WGS-84 GeoJSON (RFC 7946).",
        },
        "servers": [{"url": f"{server_url}/api/v1"}],
        "paths": {
            "/facilities": {
                "get": {
                    "summary": "Facilities, filtered and paged",
                    "operationId": "listFacilities",
                    "parameters": facility_filters,
                    "responses": {
                        "200": {
                            "description": "A FeatureCollection",
                            "content": {
                                "application/geo+json": {
                                    "schema": {"$ref": "#/components/schemas/FacilityCollection"}
                                }
                            },
                        },
                        **_error_responses(400),
                    },
                }
            },
            "/facilities/{id}": {
                "get": {
                    "summary": "One facility",
                    "operationId": "getFacility",
                    "parameters": [
                        _param("id", "facility id", {"type": "string"}, where="path", required=True)
                    ],
                    "responses": {
                        "200": {
                            "description": "A Feature",
                            "content": {
                                "application/geo+json": {
                                    "schema": {"$ref": "#/components/schemas/Facility"}
                                }
                            },
                        },
                        **_error_responses(404),
                    },
                }
            },
            "/nearest": {
                "get": {
                    "summary": "The K nearest facilities, open ones by default",
                    "description": "Exact great-circle K-nearest. Each feature has distance_m, "
                    "bearing_deg, drive_minutes_estimate (straight line x detour "
                    "factor at an average speed: an estimate) and open_state.",
                    "operationId": "nearestFacilities",
                    "parameters": [
                        _param(
                            "lon",
                            "longitude of the driver",
                            {"type": "number", "minimum": -180, "maximum": 180},
                            required=True,
                        ),
                        _param(
                            "lat",
                            "latitude of the driver",
                            {"type": "number", "minimum": -90, "maximum": 90},
                            required=True,
                        ),
                        _param(
                            "k",
                            "how many",
                            {"type": "integer", "minimum": 1, "maximum": 50, "default": 5},
                        ),
                        *[p for p in facility_filters if p["name"] in ("kind", "amenity")],
                        _param(
                            "status",
                            "statuses (default open; `any` for all)",
                            {**enum_list, "items": {"type": "string", "enum": [*STATUSES, "any"]}},
                            explode=False,
                        ),
                        _param(
                            "open_now",
                            "only facilities open now (Asia/Shanghai); unknown "
                            "hours never count as open",
                            {"type": "boolean", "default": False},
                        ),
                        _param(
                            "at",
                            "evaluate open_now at this time instead of now (ISO 8601; "
                            "without a zone: Asia/Shanghai)",
                            {"type": "string", "format": "date-time"},
                        ),
                        _param("max_km", "search radius", {"type": "number", "minimum": 0.001}),
                        _param(
                            "min_truck_parking",
                            "minimum truck parking spaces",
                            {"type": "integer", "minimum": 0},
                        ),
                        _param("crs", "datum of lon/lat", crs_schema),
                        _param("out_crs", "datum of the returned geometry", crs_schema),
                    ],
                    "responses": {
                        "200": {
                            "description": "Facilities by distance",
                            "content": {
                                "application/geo+json": {
                                    "schema": {"$ref": "#/components/schemas/HitCollection"}
                                }
                            },
                        },
                        **_error_responses(400),
                    },
                }
            },
            "/along-route": {
                "post": {
                    "summary": "Facilities near a route, in driving order",
                    "operationId": "alongRoute",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["route"],
                                    "additionalProperties": False,
                                    "properties": {
                                        "route": {
                                            "oneOf": [
                                                {
                                                    "type": "object",
                                                    "required": ["type", "coordinates"],
                                                    "properties": {
                                                        "type": {
                                                            "type": "string",
                                                            "enum": ["LineString"],
                                                        },
                                                        "coordinates": {
                                                            "type": "array",
                                                            "items": {
                                                                "type": "array",
                                                                "items": {"type": "number"},
                                                            },
                                                            "minItems": 2,
                                                            "maxItems": 5000,
                                                        },
                                                    },
                                                },
                                                {
                                                    "type": "array",
                                                    "items": {
                                                        "type": "array",
                                                        "items": {"type": "number"},
                                                    },
                                                    "minItems": 2,
                                                    "maxItems": 5000,
                                                },
                                            ]
                                        },
                                        "buffer_km": {
                                            "type": "number",
                                            "minimum": 0.001,
                                            "maximum": 50,
                                            "default": 5,
                                        },
                                        "position": {
                                            "type": "array",
                                            "items": {"type": "number"},
                                            "minItems": 2,
                                            "maxItems": 2,
                                            "description": "only facilities ahead of this point",
                                        },
                                        "kind": {
                                            "type": "array",
                                            "items": {"type": "string", "enum": list(KINDS)},
                                        },
                                        "amenity": {
                                            "type": "array",
                                            "items": {"type": "string", "enum": list(AMENITIES)},
                                        },
                                        "status": {"type": "array", "items": {"type": "string"}},
                                        "open_now": {"type": "boolean"},
                                        "at": {"type": "string", "format": "date-time"},
                                        "min_truck_parking": {"type": "integer", "minimum": 0},
                                        "limit": {
                                            "type": "integer",
                                            "minimum": 1,
                                            "maximum": 1000,
                                            "default": 200,
                                        },
                                        "crs": crs_schema,
                                        "out_crs": crs_schema,
                                    },
                                }
                            }
                        },
                    },
                    "responses": {
                        "200": {
                            "description": "Facilities by distance along the route",
                            "content": {
                                "application/geo+json": {
                                    "schema": {"$ref": "#/components/schemas/HitCollection"}
                                }
                            },
                        },
                        **_error_responses(400, 413, 415),
                    },
                }
            },
            "/places": {
                "get": {
                    "summary": "Places by name: cities, counties, townships and facilities",
                    "description": "Matches Chinese substrings, full pinyin with or without "
                    "spaces (hefei, he fei) and pinyin initials (hf), "
                    "case-insensitively. Ranked exact name, then prefix, then "
                    "substring; cities and counties before townships before "
                    "facilities. A township known only by name is placed at its "
                    "county and flagged approximate.",
                    "operationId": "searchPlaces",
                    "parameters": [
                        _param(
                            "q",
                            "a name or its pinyin",
                            {"type": "string", "minLength": 1, "maxLength": MAX_QUERY_LENGTH},
                            required=True,
                        ),
                        _param(
                            "limit",
                            "how many",
                            {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": 10},
                        ),
                    ],
                    "responses": {
                        "200": {
                            "description": "Places, best first",
                            "content": {
                                "application/geo+json": {
                                    "schema": {"$ref": "#/components/schemas/PlaceCollection"}
                                }
                            },
                        },
                        **_error_responses(400),
                    },
                }
            },
            "/openapi.json": {
                "get": {
                    "summary": "This document",
                    "operationId": "getOpenAPI",
                    "responses": {
                        "200": {
                            "description": "OpenAPI 3 document",
                            "content": {"application/json": {}},
                        }
                    },
                }
            },
        },
        "components": {
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {
                        "error": {
                            "type": "object",
                            "required": ["code", "message"],
                            "properties": {
                                "code": {"type": "string"},
                                "message": {"type": "string"},
                                "field": {"type": "string"},
                            },
                        }
                    },
                },
                "Point": {
                    "type": "object",
                    "required": ["type", "coordinates"],
                    "properties": {
                        "type": {"type": "string", "enum": ["Point"]},
                        "coordinates": {
                            "type": "array",
                            "items": {"type": "number"},
                            "minItems": 2,
                            "maxItems": 2,
                        },
                    },
                },
                "Facility": {
                    "type": "object",
                    "required": ["type", "id", "geometry", "properties"],
                    "properties": {
                        "type": {"type": "string", "enum": ["Feature"]},
                        "id": {"type": "string"},
                        "geometry": {"$ref": "#/components/schemas/Point"},
                        "properties": {"type": "object", "properties": facility_properties},
                    },
                },
                "Place": {
                    "type": "object",
                    "required": ["type", "id", "geometry", "properties"],
                    "properties": {
                        "type": {"type": "string", "enum": ["Feature"]},
                        "id": {"type": "string"},
                        "bbox": {
                            "type": "array",
                            "items": {"type": "number"},
                            "minItems": 4,
                            "maxItems": 4,
                            "description": "bounds of the place's polygon, if any",
                        },
                        "geometry": {"$ref": "#/components/schemas/Point"},
                        "properties": {
                            "type": "object",
                            "properties": {
                                "name": {"type": "string"},
                                "level": {"type": "string", "enum": list(LEVELS)},
                                "code": {
                                    "type": "string",
                                    "nullable": True,
                                    "description": "admin code (cities, counties, townships)",
                                },
                                "facility_id": {"type": "string", "nullable": True},
                                "kind": {
                                    "type": "string",
                                    "nullable": True,
                                    "enum": [*KINDS, None],
                                },
                                "context": {
                                    "type": "string",
                                    "description": "where it is: 合肥市 瑶海区",
                                },
                                "approximate": {
                                    "type": "boolean",
                                    "description": "placed at its county",
                                },
                            },
                        },
                    },
                },
                "PlaceCollection": {
                    "type": "object",
                    "required": ["type", "features"],
                    "properties": {
                        "type": {"type": "string", "enum": ["FeatureCollection"]},
                        "features": {
                            "type": "array",
                            "items": {"$ref": "#/components/schemas/Place"},
                        },
                        "numberReturned": {"type": "integer"},
                        "query": {"type": "string"},
                    },
                },
                "HitCollection": {
                    "type": "object",
                    "required": ["type", "features"],
                    "properties": {
                        "type": {"type": "string", "enum": ["FeatureCollection"]},
                        "features": {
                            "type": "array",
                            "items": {"$ref": "#/components/schemas/Facility"},
                        },
                        "numberReturned": {"type": "integer"},
                        "coordinate_datum": {"type": "string"},
                        "drive_time": {"type": "object"},
                    },
                },
                "FacilityCollection": {
                    "type": "object",
                    "required": ["type", "features"],
                    "properties": {
                        "type": {"type": "string", "enum": ["FeatureCollection"]},
                        "features": {
                            "type": "array",
                            "items": {"$ref": "#/components/schemas/Facility"},
                        },
                        "numberMatched": {"type": "integer"},
                        "numberReturned": {"type": "integer"},
                        "links": {"type": "array", "items": {"type": "object"}},
                    },
                },
            }
        },
    }
    document["paths"].update(coverage_paths())
    document["components"]["schemas"].update(coverage_schemas())
    for path, operations in write_operations().items():
        document["paths"][path].update(operations)
    extra = write_components()
    document["components"]["schemas"].update(extra.pop("schemas"))
    document["components"].update(extra)
    return document
