"""Response headers Django does not set itself."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse


def content_security_policy() -> str:
    """``ROLLCALL_CONTENT_SECURITY_POLICY`` as the header's value: ``directive sources; ...``."""
    policy: dict[str, str] = settings.ROLLCALL_CONTENT_SECURITY_POLICY
    return "; ".join(f"{directive} {sources}" for directive, sources in policy.items())


class ContentSecurityPolicyMiddleware:
    """Every response carries the site's Content-Security-Policy. No page needs inline script or
    style (they are static files), so an injected ``<script>`` or ``onerror=`` never runs even if
    some template forgot to escape a value."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.header = content_security_policy()

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", self.header)
        return response
