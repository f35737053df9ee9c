"""The one place where pages turn a service's domain error into something a person sees: a
message on the next page, or ``{"error": {"code", "message"}}`` with the error's 4xx for a page
asked for JSON. Views never decide a rule themselves; they call a service and translate."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect

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


def invalid_form(request: HttpRequest, text: str, to: str) -> HttpResponse:
    """A page form that did not validate: 400 JSON for the page's script, else a message."""
    if wants_json(request):
        return JsonResponse({"error": {"code": "invalid_input", "message": text}}, status=400)
    messages.error(request, text)
    return redirect(to)


def answer(
    request: HttpRequest, call: Callable[[], T], success: str | Callable[[T], str], to: str
) -> HttpResponse:
    """Run a service for a page form. The page's script (``Accept: application/json``) gets
    ``{"message"}`` or the error's JSON and updates in place; a plain form post gets a message and
    a redirect to ``to``, so every form works without JavaScript too."""
    if not wants_json(request):
        run_service(request, call, success)
        return redirect(to)
    try:
        result = call()
    except DomainError as error:
        return error_json(error)
    return JsonResponse({"message": success if isinstance(success, str) else success(result)})
