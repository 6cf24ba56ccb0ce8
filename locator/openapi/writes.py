"""The OpenAPI operations of the write API (merged by :mod:`.document`): creating,
changing and deleting facilities with a personal token and ``If-Match``."""

from __future__ import annotations

from typing import Any

from ..editing import EDITABLE_FIELDS

_ERROR = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
_FEATURE = {"application/geo+json": {"schema": {"$ref": "#/components/schemas/Facility"}}}

_ERRORS = {
    "401": "No valid API token (Authorization: Bearer)",
    "403": "The token's account may not write there (role, or outside its areas)",
    "404": "No such facility",
    "412": "If-Match names a version that is no longer stored",
    "422": "A field is invalid (error.field names it)",
    "428": "If-Match is required",
}


def _errors(*codes: str) -> dict[str, Any]:
    return {code: {"description": _ERRORS[code], "content": _ERROR} for code in codes}


_CRS = {
    "name": "crs",
    "in": "query",
    "required": False,
    "description": "datum of the coordinates sent: wgs84 (default), gcj02 (Amap), bd09 (Baidu)",
    "schema": {"type": "string", "enum": ["wgs84", "gcj02", "bd09"]},
}
_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
_IF_MATCH = {
    "name": "If-Match",
    "in": "header",
    "required": True,
    "description": 'the facility version read (its "version" property or ETag), e.g. "3"',
    "schema": {"type": "string"},
}
_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "oneOf": [
                    {"$ref": "#/components/schemas/FacilityFields"},
                    {"$ref": "#/components/schemas/Facility"},
                ]
            }
        }
    },
}
_SECURITY = [{"token": []}]


def write_operations() -> dict[str, dict[str, Any]]:
    """Operations by path, to merge into the read API's paths."""
    written = {"description": "the stored facility", "content": _FEATURE}
    return {
        "/facilities": {
            "post": {
                "summary": "Add a facility inside the token owner's areas",
                "security": _SECURITY,
                "parameters": [_CRS],
                "requestBody": _BODY,
                "responses": {"201": written, **_errors("401", "403", "422")},
            }
        },
        "/facilities/{id}": {
            "patch": {
                "summary": "Change some fields of a facility",
                "security": _SECURITY,
                "parameters": [_ID, _IF_MATCH, _CRS],
                "requestBody": _BODY,
                "responses": {"200": written, **_errors("401", "403", "404", "412", "422", "428")},
            },
            "delete": {
                "summary": "Delete a facility (its history keeps it)",
                "security": _SECURITY,
                "parameters": [_ID, _IF_MATCH],
                "responses": {
                    "204": {"description": "deleted"},
                    **_errors("401", "403", "404", "412", "428"),
                },
            },
        },
    }


def write_components() -> dict[str, Any]:
    """The security scheme and the body schema of the write API."""
    return {
        "securitySchemes": {
            "token": {
                "type": "http",
                "scheme": "bearer",
                "description": "a personal API token (locator user token NAME)",
            }
        },
        "schemas": {
            "FacilityFields": {
                "type": "object",
                "properties": {name: {} for name in EDITABLE_FIELDS},
                "additionalProperties": False,
            }
        },
    }
