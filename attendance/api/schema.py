"""How the API's operations are described in the OpenAPI schema (REST_FRAMEWORK's
DEFAULT_SCHEMA_CLASS). Its own module: drf-spectacular loads it while its views import."""

from __future__ import annotations

from drf_spectacular.openapi import AutoSchema


class ApiSchema(AutoSchema):
    """Each request body in one media type: JSON where the view takes it, else multipart (the
    uploads). Form-encoded bodies are still accepted, just not documented: a generated client
    (openapi-python-client) cannot tell one model in three encodings apart."""

    def map_parsers(self) -> list:
        types = super().map_parsers()
        for preferred in ("application/json", "multipart/form-data"):
            if preferred in types:
                return [preferred]
        return types
