"""Post-processing of the OpenAPI schema (drf-spectacular hooks): what the serializers cannot say."""

from __future__ import annotations

CLOSED_OBJECTS = ("EventSchemaRequest",)  # profiles.ingestion.validation refuses fields it does not know


def closed_objects(result, generator, request, public):
    """An event with an unknown field is rejected (custom data goes under `properties`): say so."""
    schemas = result.get("components", {}).get("schemas", {})
    for name in CLOSED_OBJECTS:
        if name in schemas:
            schemas[name]["additionalProperties"] = False
    return result
