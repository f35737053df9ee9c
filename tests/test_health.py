"""/healthz says the process answers; /readyz says whether the database, the broker and the
file storage can be reached, and names what cannot."""

from __future__ import annotations

import pytest

from tests.support.outages import dead_redis_url, producer_on


def test_healthz_answers_a_load_balancer_probing_by_address_over_plain_http(client, settings):
    settings.SECURE_SSL_REDIRECT = True  # production: every other plain-HTTP request is redirected

    response = client.get("/healthz", HTTP_HOST="10.0.3.7:8000")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_is_ok_when_database_broker_and_storage_answer(client):
    response = client.get("/readyz", HTTP_HOST="10.0.3.7:8000")

    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "down": [],
        "checks": {"database": "ok", "broker": "ok", "storage": "ok"},
    }


@pytest.mark.django_db
def test_readyz_answers_503_naming_a_broker_that_is_down(client):
    with producer_on(dead_redis_url()):
        response = client.get("/readyz")

    assert response.status_code == 503
    body = response.json()
    assert body["down"] == ["broker"]
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["broker"].startswith("down: ")


@pytest.mark.django_db
def test_readyz_answers_503_naming_a_storage_it_cannot_write(client, settings, tmp_path):
    not_a_folder = tmp_path / "a-file"
    not_a_folder.write_text("")
    settings.STORAGES = {
        **settings.STORAGES,
        "private": {**settings.STORAGES["private"], "OPTIONS": {"location": not_a_folder}},
    }

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["down"] == ["storage"]
