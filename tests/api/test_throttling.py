"""API rates: per user (all their tokens together), uploads stricter, wrong tokens per address.
Over a rate the answer is 429 with Retry-After and the usual error shape. The rates here are tiny
so that a few requests reach them; the defaults are in settings.ROLLCALL_API_RATES."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.api.conftest import api_client, jpeg_upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def rates(settings):
    settings.ROLLCALL_API_RATES = {"anon": "3/min", "user": "5/min", "uploads": "2/min"}


def statuses(client, n: int, url: str = "/api/courses/") -> list[int]:
    return [client.get(url).status_code for _ in range(n)]


def test_alice_over_her_rate_gets_429_with_retry_after(rates, alice):
    client = api_client(alice)

    assert statuses(client, 5) == [200] * 5
    response = client.get("/api/courses/")

    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 60
    assert response.json()["error"]["code"] == "throttled"


def test_alices_tokens_share_one_budget(rates, alice):
    first, second = api_client(alice), api_client(alice)  # two tokens

    assert statuses(first, 3) + statuses(second, 3) == [200] * 5 + [429]


def test_bob_is_not_slowed_by_alice(rates, alice, bob):
    statuses(api_client(alice), 6)

    assert api_client(bob).get("/api/courses/").status_code == 200


def test_uploads_have_a_stricter_budget_of_their_own(rates, alice, session):
    client = api_client(alice)

    answers = [
        client.post(
            "/api/captures/",
            {"session": session.pk, "image": jpeg_upload(color=(60 * i, 80, 160))},
            format="multipart",
        ).status_code
        for i in range(3)
    ]

    assert answers == [202, 202, 429]
    assert client.get("/api/captures/").status_code == 200  # reading is still within the rate


def test_guessing_tokens_is_throttled_even_when_a_guess_is_right(rates, alice):
    guesser = APIClient(REMOTE_ADDR="10.6.6.6")
    guesser.credentials(HTTP_AUTHORIZATION="Token rc_wrong")
    assert statuses(guesser, 3) == [401] * 3

    right = api_client(alice)
    right.defaults["REMOTE_ADDR"] = "10.6.6.6"
    response = right.get("/api/courses/")

    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    right.defaults["REMOTE_ADDR"] = "10.0.0.2"  # another address is not affected
    assert right.get("/api/courses/").status_code == 200


def test_without_credentials_the_public_docs_are_throttled_per_address(rates, settings):
    settings.ROLLCALL_API_DOCS_PUBLIC = True
    client = APIClient()

    assert statuses(client, 4, "/api/schema/") == [200] * 3 + [429]


def test_with_the_cache_unreachable_the_api_still_answers_unmetered(rates, alice, settings):
    client = api_client(alice)
    wrong = APIClient()
    wrong.credentials(HTTP_AUTHORIZATION="Token rc_wrong")
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens on port 1
        }
    }

    assert statuses(client, 7) == [200] * 7
    assert statuses(wrong, 4) == [401] * 4
