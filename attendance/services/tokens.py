"""A user's API token: one at most, replaced or revoked by its owner."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import transaction
from rest_framework.authtoken.models import Token


@transaction.atomic
def api_token_renew(*, user: User) -> Token:
    """A new token for ``user``; the old one, if any, stops working at once."""
    Token.objects.filter(user=user).delete()
    return Token.objects.create(user=user)


@transaction.atomic
def api_token_revoke(*, user: User) -> bool:
    """Delete ``user``'s token; False when they had none."""
    deleted, _ = Token.objects.filter(user=user).delete()
    return deleted > 0
