"""The one place where pages turn a service's domain error into something a person sees: a
message on the next page, or ``{"error": {"code", "message"}}`` with the error's 4xx for a page
asked for JSON. Views never decide a rule themselves; they call a service and translate."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from django.contrib import messages
from django.db import InterfaceError, OperationalError
from django.forms import Form
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.views import defaults

from attendance.errors import DomainError

T = TypeVar("T")
UNDO_KEY = "rollcall_undo"


@dataclass(frozen=True)
class Undo:
    """How to take a change back: POST ``fields`` to ``url``. The page's script gets it in the
    JSON answer (the toast's Undo button); a plain form post finds it on the next page as a
    one-time form beside the message (``undo_offer``), so Undo needs no JavaScript either."""

    url: str
    fields: dict[str, str] = field(default_factory=dict)

    def as_json(self) -> dict:
        return {"url": self.url, "fields": self.fields}


def offer_undo(request: HttpRequest, undo: Undo | None, back: str = "") -> None:
    if undo is not None:
        fields = {**undo.fields, "next": back} if back else undo.fields
        request.session[UNDO_KEY] = {"url": undo.url, "fields": fields}


def undo_offer(request: HttpRequest) -> dict:
    """Context processor: the Undo of the change a plain form post just made, shown once."""
    session = getattr(request, "session", None)
    if session is None or UNDO_KEY not in session:
        return {}
    return {"undo_offer": session.pop(UNDO_KEY)}


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


def invalid_form(request: HttpRequest, form: Form, *, title: str, back: str) -> HttpResponse:
    """A page form that did not validate: 400 JSON for the page's script, else the 400 page
    listing what was wrong (``form_refused``)."""
    if wants_json(request):
        text = f"{title}: {form.errors.as_text()}"
        return JsonResponse({"error": {"code": "invalid_input", "message": text}}, status=400)
    return form_refused(request, form, title=title, back=back)


def answer(
    request: HttpRequest,
    call: Callable[[], T],
    success: str | Callable[[T], str],
    to: str,
    undo: Undo | Callable[[T], Undo | None] | None = None,
) -> HttpResponse:
    """Run a service for a page form. The page's script (``Accept: application/json``) gets
    ``{"message", "undo"}`` or the error's JSON and updates in place; a plain form post gets a
    message (and the Undo form) and a redirect to ``to``, so every form works without JavaScript
    too. ``undo`` is known before the call, or worked out from its result (``undo(result)``:
    what "mark all unmarked" marked is known only once it has run)."""
    if not wants_json(request):
        result = run_service(request, call, success)
        if result is not None:
            offer_undo(request, undo(result) if callable(undo) else undo, to)
        return redirect(to)
    try:
        result = call()
    except DomainError as error:
        return error_json(error)
    body: dict = {"message": success if isinstance(success, str) else success(result)}
    undo = undo(result) if callable(undo) else undo
    if undo is not None:
        body["undo"] = undo.as_json()
    return JsonResponse(body)


def form_refused(request: HttpRequest, form: Form, *, title: str, back: str) -> HttpResponse:
    """A 400 page listing what was wrong with a form posted from another page (a session's
    room with a line break, a reason with a NUL byte); nothing was saved."""
    refused = [
        (form.fields[name].label or name.replace("_", " ") if name in form.fields else "", m, "")
        for name, messages_ in form.errors.items()
        for m in messages_
    ]
    context = {"title": title, "refused": refused, "saved": [], "back": back}
    return render(request, "attendance/captures/upload_result.html", context, status=400)


def form_status(request: HttpRequest) -> int:
    """A form shown again after a POST was refused: 400, so that clients and tests see it."""
    return 400 if request.method == "POST" else 200


# A database that cannot be reached (stopped, restarting, a network cut) is an outage, not a bug.
DATABASE_DOWN = (OperationalError, InterfaceError)
RETRY_AFTER_SECONDS = 10


def server_error(request: HttpRequest) -> HttpResponse:
    """Django's ``handler500``, called while the exception is being handled. The database being
    unreachable (from a view, the session, the sign-in, a middleware) answers 503 with
    Retry-After; anything else is the usual 500 page."""
    if isinstance(sys.exc_info()[1], DATABASE_DOWN):
        return database_unavailable(request)
    return defaults.server_error(request)


def database_unavailable(request: HttpRequest) -> HttpResponse:
    message = "The database cannot be reached at the moment, so nothing can be shown or saved."
    response: HttpResponse
    if request.path.startswith("/api/") or wants_json(request):
        body = {"error": {"code": "unavailable", "message": message}}
        response = JsonResponse(body, status=503)
    else:
        # Rendered without the request: its context (the signed-in user) needs the database.
        page = render_to_string("errors/503.html", {"message": message})
        response = HttpResponse(page, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response
