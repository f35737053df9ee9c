"""The page where a user creates and revokes their API token."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_POST
from rest_framework.authtoken.models import Token

from attendance.services import tokens as token_services


@login_required
def api_tokens(request: HttpRequest) -> HttpResponse:
    token = Token.objects.filter(user=request.user).first()
    return render(request, "attendance/tokens.html", {"token": token, "new_key": None})


@require_POST
@login_required
def api_token_create(request: HttpRequest) -> HttpResponse:
    """The key is shown on this response only; afterwards the page shows its first characters."""
    token = token_services.api_token_renew(user=request.user)
    messages.success(request, "New API token created. Copy it now: it is shown only once.")
    return render(request, "attendance/tokens.html", {"token": token, "new_key": token.key})


@require_POST
@login_required
def api_token_revoke(request: HttpRequest) -> HttpResponse:
    if token_services.api_token_revoke(user=request.user):
        messages.success(request, "API token revoked: it no longer works.")
    return redirect("attendance:api_tokens")


urlpatterns = [
    path("account/api-tokens/", api_tokens, name="api_tokens"),
    path("account/api-tokens/new/", api_token_create, name="api_token_create"),
    path("account/api-tokens/revoke/", api_token_revoke, name="api_token_revoke"),
]
