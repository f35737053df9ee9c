"""One shape for every API error, whatever raised it:

    {"error": {"code": "not_found", "message": "No such course.", "fields": {...}}}

``code`` is stable and machine-readable; ``message`` is for a person; ``fields`` (only for invalid
input) maps each field name to its messages. Domain errors keep their own code and HTTP status.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from attendance.errors import DomainError

# DRF's own codes are mostly fine; these are renamed so that every 404 says "not_found" etc.
_CODES = {
    exceptions.NotFound: "not_found",
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.AuthenticationFailed: "authentication_failed",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.ParseError: "parse_error",
    exceptions.Throttled: "throttled",
    exceptions.ValidationError: "invalid",
}


def error_body(code: str, message: str, fields: dict | None = None) -> dict:
    body: dict = {"code": code, "message": message}
    if fields:
        body["fields"] = fields
    return {"error": body}


def _flatten(detail) -> dict[str, list[str]]:
    """DRF's nested ValidationError detail as {field: [messages]} (nested fields dotted)."""
    if isinstance(detail, dict):
        flat: dict[str, list[str]] = {}
        for name, value in detail.items():
            nested = _flatten(value)
            for key, messages in nested.items():
                flat[f"{name}.{key}" if key else str(name)] = messages
        return flat
    if isinstance(detail, list) and any(isinstance(item, dict | list) for item in detail):
        flat = {}
        for i, item in enumerate(detail):
            for key, messages in _flatten(item).items():
                flat[f"{i}.{key}" if key else str(i)] = messages
        return flat
    items = detail if isinstance(detail, list) else [detail]
    return {"": [str(item) for item in items]}


def _validation_response(detail) -> Response:
    fields = _flatten(detail)
    general = fields.pop("", None) or fields.pop("non_field_errors", None)
    message = general[0] if general else "The request has invalid fields."
    return Response(error_body("invalid", message, fields), status=status.HTTP_400_BAD_REQUEST)


def api_exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, DomainError):
        message = exc.api_message or exc.message
        fields = {exc.field: [message]} if exc.field else None
        return Response(error_body(exc.code, message, fields), status=exc.http_status)
    if isinstance(exc, DjangoValidationError):
        # A service's full_clean() found something the serializer did not check.
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"": exc.messages}
        return _validation_response(detail)
    if isinstance(exc, exceptions.ValidationError):
        return _validation_response(exc.detail)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound("Not found, or not yours to see.")
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # a bug: let Django report it as a 500
    code = _CODES.get(type(exc)) or getattr(exc, "default_code", "error")
    detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
    response.data = error_body(code, str(detail))
    return response
