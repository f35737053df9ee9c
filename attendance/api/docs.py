"""The OpenAPI schema and Swagger UI: for signed-in users, unless ``ROLLCALL_API_DOCS_PUBLIC``.

The schema lists every endpoint and field, which is a map for an attacker as much as for a
script writer, so by default only people with an account read it. The setting is read per
request, so a test (or an admin flipping it) needs no restart of the URL configuration.

Swagger UI is the "split" variant: its start-up script is a separate same-origin request, not
an inline ``<script>``, so the page works under the site's Content-Security-Policy (whose
``script-src 'self'`` forbids inline code); its inline ``<style>`` is replaced by a static file in
``templates/drf_spectacular/swagger_ui.html``.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.permissions import AllowAny, BasePermission
from rest_framework.request import Request


def docs_open_to(user) -> bool:
    return settings.ROLLCALL_API_DOCS_PUBLIC or bool(user and user.is_authenticated)


class DocsPermission(BasePermission):
    message = "Sign in (or send a token) to read the API schema."

    def has_permission(self, request: Request, view) -> bool:
        return docs_open_to(request.user)


class SchemaView(SpectacularAPIView):
    permission_classes = [DocsPermission]


class DocsView(SpectacularSwaggerSplitView):
    permission_classes = [AllowAny]  # checked in get(): a person is sent to the login page

    @extend_schema(exclude=True)
    def get(self, request: Request, *args, **kwargs):
        if not docs_open_to(request.user):
            return redirect_to_login(request.get_full_path())
        return super().get(request, *args, **kwargs)
