"""API token services: each token is alice's own; revoking twice is harmless, and never reaches
bob's tokens."""

from __future__ import annotations

import pytest

from attendance.models import ApiToken
from attendance.services import tokens as token_services

pytestmark = pytest.mark.django_db


def test_each_new_token_has_its_own_key_and_alices_do_not_touch_bobs(alice, bob):
    bobs = token_services.api_token_create(user=bob, name="bob's script")
    first = token_services.api_token_create(user=alice, name="laptop")
    second = token_services.api_token_create(user=alice, name="gradebook")

    assert len({bobs.key, first.key, second.key}) == 3
    assert all(new.key.startswith("rc_") and len(new.key) > 40 for new in (first, second))
    assert list(ApiToken.objects.filter(user=alice).values_list("name", flat=True)) == [
        "gradebook",
        "laptop",
    ]
    assert token_services.api_token_authenticate(key=bobs.key).user == bob


def test_revoking_alices_token_twice_is_harmless_and_bob_cannot(alice, bob):
    new = token_services.api_token_create(user=alice, name="laptop")

    assert token_services.api_token_revoke(user=bob, token_id=new.token.pk) is False
    assert token_services.api_token_revoke(user=alice, token_id=new.token.pk) is True
    assert token_services.api_token_revoke(user=alice, token_id=new.token.pk) is False
    assert token_services.api_token_authenticate(key=new.key) is None


def test_an_unknown_key_authenticates_nobody(alice):
    token_services.api_token_create(user=alice, name="laptop")

    assert token_services.api_token_authenticate(key="rc_not-a-key") is None
