"""The OpenAPI 3 description of the HTTP API, built from the model's vocabularies."""

from __future__ import annotations

from typing import Any

from .. import __version__
from ..model import AMENITIES, KINDS, PARKING_FEES, STATUSES, TIERS
from ..nearest import REST_KINDS
from ..places import LEVELS, MAX_LIMIT, MAX_QUERY_LENGTH
from ..service_areas import SERVES, SIDES
from .coverage import coverage_paths, coverage_schemas
from .reports import report_paths, report_schemas
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


def openapi_document(
    server_url: str = "", report_limits: tuple[str, str] = ("30 per minute", "60 per hour")
) -> dict[str, Any]:
    """The OpenAPI 3.0 document of ``/api/v1`` (``report_limits``: the drivers' reports
    allowed per client and per facility)."""
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
            "amenities that must all be present (truck_parking: the amenity, or "
            "truck_parking_spaces above 0)",
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
        "parking_fee": {
            "type": "string",
            "enum": [*PARKING_FEES, None],
            "nullable": True,
            "description": "whether truck parking costs money; writes also take 免费/收费, "
            "是/否 (charged?) and a note after the word (收费 20元/晚)",
        },
        "parking_fee_note": {
            "type": "string",
            "nullable": True,
            "description": "what parking costs, e.g. 货车 20元/晚",
        },
        "tier": {
            "type": "string",
            "enum": [*TIERS, None],
            "nullable": True,
            "description": "driver-home tier of the Ministry of Transport: basic 基础型, "
            "extended 扩展型",
        },
        "closed_until": {
            "type": "string",
            "format": "date",
            "nullable": True,
            "description": "temporarily closed until this day (Asia/Shanghai), reopening "
            "on it; left out of open_now results before it",
        },
        "verified_on": {
            "type": "string",
            "format": "date",
            "nullable": True,
            "description": "the day a person last confirmed the record",
        },
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
        "open_state": {
            "type": "string",
            "enum": ["open", "closed", "unknown", "temporarily_closed"],
            "description": "temporarily_closed: closed_until is a later day",
        },
        "opens_at": {
            "type": "string",
            "description": "nearest and along-route, closed now by its hours: the next "
            "opening, Asia/Shanghai wall clock to the minute (2026-12-02T07:00)",
        },
        "opens_days": {
            "type": "integer",
            "description": "with opens_at: in how many days it opens (0 today, 1 tomorrow)",
        },
        "closed_today": {
            "type": "boolean",
            "description": "nearest and along-route: present (true) when the hours open at "
            "no time of today (Asia/Shanghai)",
        },
        "distance_along_m": {"type": "number"},
        "offset_m": {"type": "number"},
        "name_derived": {
            "type": "boolean",
            "description": "present (true) when the facility is stored without a name and "
            "shown with one derived from the data: a junction named like a service area "
            "within 2 km (釜山服务区), else <junction>附近服务区 (nearest named expressway "
            "junction within 10 km), <township>附近服务区 (township seat within 15 km) or "
            "<county>境内服务区; a derived name another place has too gets where its "
            "place lies from the others, 谯城区境内服务区（东）/（西）",
        },
        "place_id": {
            "type": "string",
            "description": "a side of a paired service area: the id of its place (the "
            "first side by id). The carriageway sides of one service area are one place: "
            "same name within 3 km, or unnamed within 1.5 km; each side stays a facility",
        },
        "place_name": {"type": "string", "description": "the name of the place"},
        "side": {
            "type": "string",
            "nullable": True,
            "enum": [*SIDES, None],
            "description": "where this side lies from the place's other side(s)",
        },
        "direction": {
            "type": "string",
            "nullable": True,
            "description": "the direction the side's name gives (东区, 合肥方向), if any",
        },
        "sides": {
            "type": "array",
            "description": "every side of the place",
            "items": {
                "type": "object",
                "properties": {
                    "id": {"type": "string"},
                    "name": {"type": "string"},
                    "side": {"type": "string", "nullable": True, "enum": [*SIDES, None]},
                    "direction": {"type": "string", "nullable": True},
                    "coordinates": {
                        "type": "array",
                        "items": {"type": "number"},
                        "minItems": 2,
                        "maxItems": 2,
                        "description": "lon, lat in the answer's datum",
                    },
                },
            },
        },
        "serves": {
            "type": "string",
            "enum": list(SERVES),
            "description": "nearest and along-route: a paired service area is one result "
            "(at its nearest side); both when two or more of its sides match the search "
            "(reachable from both directions, 双向), one_side when only this one does",
        },
    }
    kind_default = (
        "facility kinds (repeat or comma-separate); default: places to stop "
        f"({', '.join(sorted(REST_KINDS))}), without logistics parks; `any` for every kind"
    )
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
                    "summary": "The K nearest places to stop, open ones by default",
                    "description": "Exact great-circle K-nearest. Each feature has distance_m, "
                    "bearing_deg, drive_minutes_estimate (straight line x detour "
                    "factor at an average speed: an estimate) and open_state. The "
                    "carriageway sides of one service area are one result (see serves). "
                    "amenity_data says how many of the places nearby have any amenity "
                    "data, so that an empty answer to an amenity filter can say that "
                    "nobody knows rather than that there is none.",
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
                        _param(
                            "kind",
                            kind_default,
                            {
                                **enum_list,
                                "items": {"type": "string", "enum": [*KINDS, "any"]},
                            },
                            explode=False,
                        ),
                        *[p for p in facility_filters if p["name"] == "amenity"],
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
                                            "items": {
                                                "type": "string",
                                                "enum": [*KINDS, "any"],
                                            },
                                            "description": kind_default,
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
                        "amenity_data": {
                            "type": "object",
                            "description": "nearest only. Nearby: the k nearest places "
                            "of the same search without its amenity and truck parking "
                            "filters (the results themselves when there are none). "
                            "with_data: how many of them have any amenity data (amenities "
                            "or a count of truck parking spaces, on any side); with: how "
                            "many have each amenity asked for. with_data 0 with an "
                            "amenity asked: no information nearby (附近站点暂无…信息)",
                            "properties": {
                                "nearby": {"type": "integer"},
                                "with_data": {"type": "integer"},
                                "with": {
                                    "type": "object",
                                    "additionalProperties": {"type": "integer"},
                                },
                            },
                        },
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
    document["paths"].update(report_paths(*report_limits))
    document["components"]["schemas"].update(report_schemas())
    return document
