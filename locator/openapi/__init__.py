"""The OpenAPI 3 description of the HTTP API (:mod:`.document`), with the coverage
endpoints' paths and schemas in :mod:`.coverage`."""

from .document import openapi_document

__all__ = ["openapi_document"]
