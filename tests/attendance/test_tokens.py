"""alice's API token: renewing replaces it (one token at most), revoking twice is harmless."""

from __future__ import annotations

import pytest
from rest_framework.authtoken.models import Token

from attendance.services import tokens as token_services

pytestmark = pytest.mark.django_db


def test_renewing_alices_token_replaces_the_old_one(alice, bob):
    bobs = token_services.api_token_renew(user=bob)
    first = token_services.api_token_renew(user=alice)
    second = token_services.api_token_renew(user=alice)

    assert first.key != second.key
    assert list(Token.objects.filter(user=alice).values_list("key", flat=True)) == [second.key]
    assert Token.objects.get(user=bob).key == bobs.key


def test_revoking_alices_token_twice_is_harmless(alice):
    token_services.api_token_renew(user=alice)

    assert token_services.api_token_revoke(user=alice) is True
    assert token_services.api_token_revoke(user=alice) is False
    assert not Token.objects.filter(user=alice).exists()
