"""The "API tokens" page: a user names, creates, lists and revokes their own tokens.

A new key is on the page that creates it and nowhere else: the database keeps only its hash.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from attendance.forms.tokens import ApiTokenForm
from attendance.models import ApiToken
from attendance.services import tokens as token_services
from attendance.views.confirm import ask_first


def _page(request: HttpRequest, *, form: ApiTokenForm, new_key: str | None = None, status=200):
    context = {
        "tokens": ApiToken.objects.filter(user=request.user),
        "form": form,
        "new_key": new_key,
    }
    return render(request, "attendance/tokens.html", context, status=status)


@login_required
def api_tokens(request: HttpRequest) -> HttpResponse:
    return _page(request, form=ApiTokenForm())


@require_POST
@login_required
def api_token_create(request: HttpRequest) -> HttpResponse:
    form = ApiTokenForm(request.POST)
    if not form.is_valid():
        return _page(request, form=form, status=400)
    new = token_services.api_token_create(user=request.user, name=form.cleaned_data["name"])
    messages.success(request, "New API token created. Copy it now: it is shown only once.")
    return _page(request, form=ApiTokenForm(), new_key=new.key)


@require_POST
@login_required
def api_token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(ApiToken, user=request.user, pk=pk)
    asked = ask_first(
        request,
        question=f"Revoke the token '{token.name}'? Anything using it stops working.",
        yes="Yes, revoke it",
        back=reverse("attendance:api_tokens"),
    )
    if asked:
        return asked
    if token_services.api_token_revoke(user=request.user, token_id=pk):
        messages.success(request, "API token revoked: it no longer works.")
    return redirect("attendance:api_tokens")


urlpatterns = [
    path("account/api-tokens/", api_tokens, name="api_tokens"),
    path("account/api-tokens/new/", api_token_create, name="api_token_create"),
    path("account/api-tokens/<int:pk>/revoke/", api_token_revoke, name="api_token_revoke"),
]
