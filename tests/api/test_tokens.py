"""API tokens: stored as hashes (the key is shown once, when created), named, listed with their last
use, expiring when the admin sets ROLLCALL_API_TOKEN_LIFETIME_DAYS; tokens from before keep
working after the migration hashes them."""

from __future__ import annotations

import hashlib
import importlib
from datetime import timedelta

import pytest
from django.apps import apps
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def ApiToken():  # noqa: N802  (imported when used: this file must also run, and fail, before it)
    from attendance.models import ApiToken

    return ApiToken


def with_key(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def create_on_the_page(client, name: str) -> str:
    body = client.post(reverse("attendance:api_token_create"), {"name": name}).content.decode()
    return body.split('<code id="new-key"')[1].split(">", 1)[1].split("<", 1)[0]


def test_alice_names_a_token_sees_its_key_once_and_the_key_works(client, alice):
    client.force_login(alice)

    key = create_on_the_page(client, "gradebook sync")

    assert with_key(key).get("/api/courses/").status_code == 200
    page = client.get(reverse("attendance:api_tokens")).content.decode()
    assert "gradebook sync" in page
    assert key[:10] in page and key not in page


def test_the_database_keeps_only_a_hash_of_the_key(client, alice):
    client.force_login(alice)

    key = create_on_the_page(client, "gradebook sync")

    row = ApiToken().objects.get(user=alice)
    assert row.key_hash == hashlib.sha256(key.encode()).hexdigest()
    stored = [str(value) for value in ApiToken().objects.filter(user=alice).values().get().values()]
    assert key not in stored


def test_alice_has_several_named_tokens_and_revoking_one_leaves_the_other(client, alice):
    client.force_login(alice)
    sync = create_on_the_page(client, "gradebook sync")
    laptop = create_on_the_page(client, "my laptop")

    client.post(
        reverse("attendance:api_token_revoke", args=[ApiToken().objects.get(name="my laptop").pk]),
        {"confirm": "yes"},
    )

    assert with_key(laptop).get("/api/courses/").status_code == 401
    assert with_key(sync).get("/api/courses/").status_code == 200
    assert list(ApiToken().objects.values_list("name", flat=True)) == ["gradebook sync"]


def test_bob_cannot_revoke_alices_token(client, alice, bob):
    client.force_login(alice)
    key = create_on_the_page(client, "gradebook sync")
    client.force_login(bob)

    client.post(reverse("attendance:api_token_revoke", args=[ApiToken().objects.get().pk]))

    assert with_key(key).get("/api/courses/").status_code == 200


def test_a_token_without_a_name_is_refused_with_a_message(client, alice):
    client.force_login(alice)

    response = client.post(reverse("attendance:api_token_create"), {"name": "  "})

    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    assert not ApiToken().objects.exists()


def test_the_page_lists_when_each_token_was_last_used(client, alice):
    client.force_login(alice)
    key = create_on_the_page(client, "gradebook sync")
    assert ApiToken().objects.get().last_used_at is None

    with_key(key).get("/api/courses/")

    used = ApiToken().objects.get().last_used_at
    assert timezone.now() - used < timedelta(seconds=30)
    page = client.get(reverse("attendance:api_tokens")).content.decode()
    assert f"<td>{timezone.localtime(used):%Y-%m-%d %H:%M}</td>" in page


def test_tokens_never_expire_unless_the_admin_sets_a_lifetime(client, alice):
    client.force_login(alice)

    create_on_the_page(client, "gradebook sync")

    assert ApiToken().objects.get().expires_at is None


def test_with_a_lifetime_a_token_stops_working_when_it_expires(client, alice, settings):
    settings.ROLLCALL_API_TOKEN_LIFETIME_DAYS = 30
    client.force_login(alice)
    key = create_on_the_page(client, "gradebook sync")
    token = ApiToken().objects.get()
    assert token.expires_at - token.created_at == timedelta(days=30)
    assert with_key(key).get("/api/courses/").status_code == 200

    ApiToken().objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    response = with_key(key).get("/api/courses/")
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "Invalid or expired token."
    assert "expired" in client.get(reverse("attendance:api_tokens")).content.decode()


def test_a_bearer_header_works_too(client, alice):
    client.force_login(alice)
    key = create_on_the_page(client, "gradebook sync")
    bearer = APIClient()
    bearer.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")

    assert bearer.get("/api/courses/").status_code == 200


def test_a_plain_token_from_before_is_hashed_by_the_migration_and_keeps_working(alice):
    old_key = "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b"  # a rest_framework.authtoken key
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE authtoken_token (key varchar(40) PRIMARY KEY,"
            " created timestamp with time zone NOT NULL, user_id integer NOT NULL)"
        )
        cursor.execute(
            "INSERT INTO authtoken_token VALUES (%s, %s, %s)", [old_key, timezone.now(), alice.pk]
        )
    migration = importlib.import_module("attendance.migrations.0014_api_tokens")

    with connection.schema_editor() as editor:
        migration.hash_old_tokens(apps, editor)

    assert with_key(old_key).get("/api/courses/").status_code == 200
    token = ApiToken().objects.get(user=alice)
    assert (token.prefix, token.key_hash) == (
        old_key[:10],
        hashlib.sha256(old_key.encode()).hexdigest(),
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM authtoken_token")
        assert cursor.fetchone() == (0,)


def test_admins_list_every_token_with_its_last_use_but_never_a_key(client, alice, admin_user):
    client.force_login(alice)
    key = create_on_the_page(client, "gradebook sync")
    client.force_login(admin_user)

    page = client.get("/admin/attendance/apitoken/").content.decode()

    assert "gradebook sync" in page and "alice" in page
    assert key not in page and ApiToken().objects.get().key_hash not in page
