"""Creating a teacher and their token without a shell: the admin API and create_teacher."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

from attendance.services.tokens import api_token_authenticate
from tests.api.conftest import api_client

pytestmark = pytest.mark.django_db


def test_an_admin_creates_a_teacher_whose_token_works_at_once(clients, alices):
    response = clients["admin"].post(
        "/api/teachers/",
        {"username": "dora", "email": "dora@example.edu", "full_name": "Dora Diaz"},
        format="json",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    dora = User.objects.get(pk=body["id"])
    assert (dora.is_staff, dora.first_name, dora.last_name) == (False, "Dora", "Diaz")
    assert not dora.has_usable_password()
    client = api_client()
    client.credentials(HTTP_AUTHORIZATION=f"Token {body['token']}")
    courses = client.get("/api/courses/").json()
    assert courses["count"] == 0  # a teacher of nothing yet sees nothing


def test_a_taken_username_is_a_400_naming_the_field(clients, alices):
    response = clients["admin"].post("/api/teachers/", {"username": "ALICE"}, format="json")

    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], list(error["fields"])) == ("username_taken", ["username"])


def test_the_command_creates_a_teacher_and_prints_the_token(capsys, db):
    call_command("create_teacher", "erin", "--email", "erin@example.edu", "--name", "Erin Ng")

    out = capsys.readouterr().out
    erin = User.objects.get(username="erin")
    key = out.split("API token: ")[1].split()[0]
    assert api_token_authenticate(key=key).user == erin
    assert not erin.is_staff


def test_the_command_refuses_a_taken_username(alice):
    with pytest.raises(CommandError, match="taken"):
        call_command("create_teacher", "alice")


def test_the_command_refuses_a_weak_password(db):
    with pytest.raises(CommandError, match="too short|too common"):
        call_command("create_teacher", "fay", "--password", "abc")
    assert not User.objects.filter(username="fay").exists()
