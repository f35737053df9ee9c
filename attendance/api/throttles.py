"""API rate limits, answered ``429`` with ``Retry-After`` (DRF's Throttled, shaped by
``attendance.api.errors``).

Rates come from ``settings.ROLLCALL_API_RATES`` when a request is checked (DRF's own classes
read them once at import), so a deployment and a test can change them. Counters live in the
default cache: with ``ROLLCALL_CACHE_URL`` every web process shares them.
"""

from __future__ import annotations

from django.conf import settings
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle


class _SettingsRateThrottle(SimpleRateThrottle):
    def get_rate(self) -> str:
        return settings.ROLLCALL_API_RATES[self.scope]


class AnonThrottle(_SettingsRateThrottle):
    """Calls without credentials, per client address."""

    scope = "anon"

    def get_cache_key(self, request: Request, view) -> str | None:
        if request.user and request.user.is_authenticated:
            return None
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class UserThrottle(_SettingsRateThrottle):
    """Per person: all of a user's tokens and their browser session share one budget, so making
    more tokens does not buy more requests."""

    scope = "user"

    def get_cache_key(self, request: Request, view) -> str | None:
        if not (request.user and request.user.is_authenticated):
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}


class UploadThrottle(UserThrottle):
    """Uploads (a view with ``upload_throttled = True``, its ``create``) run face detection on
    the worker: a stricter budget of their own, on top of the per-user one."""

    scope = "uploads"

    def get_cache_key(self, request: Request, view) -> str | None:
        is_upload = getattr(view, "upload_throttled", False) and view.action == "create"
        if not is_upload:
            return None
        return super().get_cache_key(request, view)


class BadTokenThrottle(_SettingsRateThrottle):
    """Wrong tokens, per client address, at the anonymous rate. Checked before a key is looked
    up: once an address has used up its budget even a right key is answered 429, so guessing
    keys gains nothing. (DRF's throttles run after authentication, too late for this.)"""

    scope = "anon"
    cache_format = "throttle_bad_token_%(ident)s"

    def blocked(self, request: Request) -> bool:
        self.key = self.cache_format % {"ident": self.get_ident(request)}
        self.history = self.cache.get(self.key, [])
        self.now = self.timer()
        while self.history and self.history[-1] <= self.now - self.duration:
            self.history.pop()
        return len(self.history) >= self.num_requests

    def record_failure(self) -> None:
        self.throttle_success()  # "success" in DRF's words: one more request in the window
