"""Sign-in lockouts (django-axes): who the client is, and what a locked-out person is told.

Axes counts failed sign-ins on the login page and the admin login alike, locks an account or an
address after ``ROLLCALL_LOGIN_FAILURE_LIMIT`` failures (settings), and keeps every attempt for
the admin's "Axes" pages (access attempts, failures, log).
"""

from __future__ import annotations

import math

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username, get_cool_off
from axes.models import AccessAttempt
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone


def client_ip(request: HttpRequest) -> str | None:
    """The client's address: REMOTE_ADDR, or with ``ROLLCALL_PROXY_COUNT`` proxies in front the
    address the outermost trusted proxy saw (X-Forwarded-For read from the right, so a client
    cannot choose its own address by sending the header)."""
    proxies: int = settings.ROLLCALL_PROXY_COUNT
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies and forwarded:
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if hops:
            return hops[-min(proxies, len(hops))]
    return request.META.get("REMOTE_ADDR")


def lockout_response(
    request: HttpRequest, original_response=None, credentials=None
) -> HttpResponse:
    """429 with a page that says what happened and when to try again, and ``Retry-After``.

    Each failure during a lockout starts the cool-off again, so the time is counted from now."""
    cool_off = get_cool_off(request)
    seconds = math.ceil(cool_off.total_seconds())
    context = {
        "retry_at": timezone.now() + cool_off,
        "retry_minutes": math.ceil(seconds / 60),
        "failure_limit": settings.AXES_FAILURE_LIMIT,
    }
    response = render(request, "registration/locked_out.html", context, status=429)
    response["Retry-After"] = str(seconds)
    return response


class SignInAttempts(AxesDatabaseHandler):
    """Axes' database handler, but a successful sign-in clears only that account's failures.

    Axes would also clear every failure from the same address, so anyone with an account could
    guess another's password four times, sign in to their own, and guess four more, forever."""

    def reset_user_attempts(self, request: HttpRequest, credentials: dict | None = None) -> int:
        username = get_client_username(request, credentials)
        deleted, _ = AccessAttempt.objects.filter(username=username).delete()
        return deleted
