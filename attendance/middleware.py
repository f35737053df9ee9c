"""Request guards that must run before anything reads the request."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string


class RequestSizeLimitMiddleware:
    """Refuse a request whose declared body is over ROLLCALL_MAX_REQUEST_BYTES with a 413, from
    its Content-Length alone: the body is never read (a 300 MB upload used to be read whole, into
    temporary files, before anything said no). Placed first in MIDDLEWARE, before CSRF and the
    session read request.POST."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = settings.ROLLCALL_MAX_REQUEST_BYTES
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0  # Django itself treats a malformed length as no body
        if length > limit:
            return self.too_large(request, length, limit)
        return self.get_response(request)

    def too_large(self, request: HttpRequest, length: int, limit: int) -> HttpResponse:
        message = (
            f"The upload is {length / 1e6:.0f} MB; at most {limit / 1e6:.0f} MB can be sent at "
            "once. Send fewer or smaller files (each file at most "
            f"{settings.ROLLCALL_MAX_UPLOAD_BYTES / 1e6:.0f} MB)."
        )
        if _wants_json(request):
            body = {"error": {"code": "request_too_large", "message": message}}
            response: HttpResponse = JsonResponse(body, status=413)
        else:
            page = render_to_string("errors/413.html", {"message": message})
            response = HttpResponse(page, status=413)
        # The unread body is still on the wire: this connection cannot carry another request.
        response["Connection"] = "close"
        return response


class QueryStringGuardMiddleware:
    """A query string holding a NUL character (``?q=%00``) is answered 400 on every page and
    endpoint: PostgreSQL refuses NUL in a text parameter, which used to surface as a 500."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if any("\x00" in value for values in request.GET.lists() for value in values[1]) or any(
            "\x00" in key for key in request.GET
        ):
            message = "The address contains a NUL character; remove it and try again."
            if _wants_json(request):
                body = {"error": {"code": "invalid_query", "message": message}}
                return JsonResponse(body, status=400)
            return HttpResponse(message, status=400, content_type="text/plain; charset=utf-8")
        return self.get_response(request)


def _wants_json(request: HttpRequest) -> bool:
    return request.path.startswith("/api/") or "application/json" in request.headers.get(
        "Accept", ""
    )
