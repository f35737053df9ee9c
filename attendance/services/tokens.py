"""API tokens: created with a key shown once, stored as a hash, revoked by deleting the row."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from attendance.models import ApiToken, api_token_digest

KEY_PREFIX = "rc_"  # new keys say what they are (secret scanners can match on it)
DISPLAY_CHARS = 10
# last_used_at is written at most this often per token: not a database write on every call.
LAST_USED_PRECISION = timedelta(minutes=1)


@dataclass(frozen=True)
class NewToken:
    token: ApiToken
    key: str  # the only time the plain key exists outside the client


@transaction.atomic
def api_token_create(*, user: User, name: str) -> NewToken:
    """A new token for ``user``; it expires after ``ROLLCALL_API_TOKEN_LIFETIME_DAYS`` (if set)."""
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    now = timezone.now()
    days: int = settings.ROLLCALL_API_TOKEN_LIFETIME_DAYS
    token = ApiToken(
        user=user,
        name=name.strip(),
        key_hash=api_token_digest(key),
        prefix=key[:DISPLAY_CHARS],
        created_at=now,
        expires_at=now + timedelta(days=days) if days else None,
    )
    token.full_clean()
    token.save()
    return NewToken(token=token, key=key)


def api_token_revoke(*, user: User, token_id: int) -> bool:
    """Delete one of the user's tokens (it stops working at once); False if it was not theirs."""
    deleted, _ = ApiToken.objects.filter(user=user, pk=token_id).delete()
    return deleted > 0


def api_token_authenticate(*, key: str) -> ApiToken | None:
    """The live token with this key, its use recorded; None if unknown or expired."""
    token = ApiToken.objects.select_related("user").filter(key_hash=api_token_digest(key)).first()
    now = timezone.now()
    if token is None or token.is_expired(now=now):
        return None
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_PRECISION:
        # A plain UPDATE: two concurrent calls both writing "now" is harmless.
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token
