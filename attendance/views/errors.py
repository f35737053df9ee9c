"""The one place where pages turn a service's domain error into something a person sees: a
message on the next page, or ``{"error": {"code", "message"}}`` with the error's 4xx for a page
asked for JSON. Views never decide a rule themselves; they call a service and translate."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from django.contrib import messages
from django.http import HttpRequest, JsonResponse

from attendance.errors import DomainError

T = TypeVar("T")


def wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def error_json(error: DomainError, status: int | None = None) -> JsonResponse:
    body = {"error": {"code": error.code, "message": error.message}}
    return JsonResponse(body, status=status or error.http_status)


def run_service(
    request: HttpRequest, call: Callable[[], T], success: str | Callable[[T], str]
) -> T | None:
    """Run a service and say how it went: ``success`` (or ``success(result)``) as a message, or
    the service's domain error as a message instead of failing the request (then None)."""
    try:
        result = call()
    except DomainError as error:
        messages.error(request, error.message)
        return None
    messages.success(request, success if isinstance(success, str) else success(result))
    return result
