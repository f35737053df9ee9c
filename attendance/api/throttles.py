"""API rate limits, answered ``429`` with ``Retry-After`` (DRF's Throttled, shaped by
``attendance.api.errors``).

Rates come from ``settings.ROLLCALL_API_RATES`` when a request is checked (DRF's own classes
read them once at import), so a deployment and a test can change them. Counters live in the
default cache: with ``ROLLCALL_CACHE_URL`` every web process shares them.
"""

from __future__ import annotations

import logging

from django.conf import settings
from redis.exceptions import RedisError
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

logger = logging.getLogger(__name__)
# What an unreachable cache raises (Django's Redis cache passes redis-py's errors through).
CACHE_ERRORS = (RedisError, OSError)
_cache_down_logged = False


def _cache_down(error: Exception) -> None:
    """Rates are a guard, not a gate: with the cache unreachable requests go through unmetered
    rather than the whole API answering 500. Logged once per process, not once per request."""
    global _cache_down_logged
    if not _cache_down_logged:
        logger.warning("API rates not enforced: the cache is unreachable (%s)", error)
        _cache_down_logged = True


class _SettingsRateThrottle(SimpleRateThrottle):
    def get_rate(self) -> str:
        return settings.ROLLCALL_API_RATES[self.scope]

    def allow_request(self, request: Request, view) -> bool:
        try:
            return super().allow_request(request, view)
        except CACHE_ERRORS as error:
            _cache_down(error)
            return True


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
        self.now = self.timer()
        try:
            self.history = self.cache.get(self.key, [])
        except CACHE_ERRORS as error:
            _cache_down(error)
            self.history = []
        while self.history and self.history[-1] <= self.now - self.duration:
            self.history.pop()
        return len(self.history) >= self.num_requests

    def record_failure(self) -> None:
        try:
            self.throttle_success()  # "success" in DRF's words: one more request in the window
        except CACHE_ERRORS as error:
            _cache_down(error)
