"""Post-processing of the OpenAPI schema (drf-spectacular hooks): what the serializers cannot say."""

from __future__ import annotations

CLOSED_OBJECTS = ("EventSchemaRequest",)  # profiles.ingestion.validation refuses fields it does not know
ERROR = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorSchema"}}}}
# Answers any operation may give, whatever its view says: a URL refused before the view (a NUL in it,
# shop_ai.middleware), and for API-key operations the key check and the rate limit per key.
EVERY_OPERATION = {"400": "Malformed request (e.g. a NUL character in the URL)"}
WITH_API_KEY = {"401": "Missing, unknown or revoked API key",
                "429": "Over the API key's rate limit (API_RATE_LIMIT); retry after Retry-After seconds"}


def closed_objects(result, generator, request, public):
    """An event with an unknown field is rejected (custom data goes under `properties`): say so."""
    schemas = result.get("components", {}).get("schemas", {})
    for name in CLOSED_OBJECTS:
        if name in schemas:
            schemas[name]["additionalProperties"] = False
    return result


def shared_errors(result, generator, request, public):
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            answers = {**EVERY_OPERATION, **(WITH_API_KEY if operation.get("security") else {})}
            for status, description in answers.items():
                operation["responses"].setdefault(status, {**ERROR, "description": description})
    return result
