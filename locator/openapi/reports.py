"""The OpenAPI operation of drivers' reports (纠错, merged by :mod:`.document`)."""

from __future__ import annotations

from typing import Any

from ..driver_reports import CATEGORIES, DETAILS, MAX_PIN_DISTANCE_M, MAX_TEXT
from ..messages import MESSAGES
from ..model import AMENITIES

_ERROR = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}


def _with(detail: str) -> str:
    return ", ".join(k for k, v in DETAILS.items() if v == detail)


def report_paths(client_limit: str, facility_limit: str) -> dict[str, Any]:
    """The report operation, with the limits in force."""
    categories = "; ".join(f"`{k}` {v['zh']} ({v['en']})" for k, v in CATEGORIES.items())
    received = MESSAGES["report_received"]
    return {
        "/facilities/{id}/reports": {
            "post": {
                "summary": "Report a problem with a facility (纠错); no account needed",
                "description": (
                    f"Categories: {categories}. `lon`/`lat` (a pin, WGS-84 unless `crs` says "
                    f"otherwise, at most {MAX_PIN_DISTANCE_M // 1000} km from the facility) "
                    f"are required for {_with('point')} and refused otherwise; `amenity` is "
                    f"required for {_with('amenity')} and refused otherwise; `text` (at most "
                    f"{MAX_TEXT} characters, no control characters) is required for "
                    f"{_with('text_required')} and optional otherwise. Limited to "
                    f"{client_limit} per client and {facility_limit} stored reports per "
                    "facility (429). No cookies; no address is stored, only a salted hash "
                    "of the client for that day. Requests whose Origin is another site "
                    "are refused (403)."
                ),
                "parameters": [
                    {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}},
                    {
                        "name": "crs",
                        "in": "query",
                        "required": False,
                        "description": "datum of lon/lat: wgs84 (default), gcj02, bd09",
                        "schema": {"type": "string", "enum": ["wgs84", "gcj02", "bd09"]},
                    },
                ],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Report"}}
                    },
                },
                "responses": {
                    "201": {
                        "description": f"received: “{received['en']}” / “{received['zh']}”",
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/ReportReceived"}
                            }
                        },
                    },
                    "400": {"description": "A bad parameter or body", "content": _ERROR},
                    "403": {"description": "Sent from another site's page", "content": _ERROR},
                    "404": {"description": "No such facility", "content": _ERROR},
                    "415": {"description": "Not sent as JSON", "content": _ERROR},
                    "422": {
                        "description": "A field is invalid (error.field names it)",
                        "content": _ERROR,
                    },
                    "429": {
                        "description": "Too many reports from this client or for this facility",
                        "content": _ERROR,
                    },
                },
            }
        }
    }


def report_schemas() -> dict[str, Any]:
    """The report body and the answer."""
    received = MESSAGES["report_received"]
    return {
        "Report": {
            "type": "object",
            "required": ["category"],
            "properties": {
                "category": {"type": "string", "enum": list(CATEGORIES)},
                "text": {"type": "string", "maxLength": MAX_TEXT},
                "amenity": {"type": "string", "enum": list(AMENITIES)},
                "lon": {"type": "number", "minimum": -180, "maximum": 180},
                "lat": {"type": "number", "minimum": -90, "maximum": 90},
            },
            "additionalProperties": False,
        },
        "ReportReceived": {
            "type": "object",
            "properties": {
                "id": {"type": "integer", "description": "the stored report's number"},
                "status": {"type": "string", "enum": ["received"]},
                "message": {"type": "string", "example": received["en"]},
                "message_zh": {"type": "string", "example": received["zh"]},
            },
        },
    }
