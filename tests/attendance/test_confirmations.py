"""A destructive action is never one click: withdrawing consent, deleting a student or a reference
photo and revoking an API token ask first. With JavaScript the page's confirm dialog says yes (and
adds ``confirm=yes``); without it the first post answers a page that asks, with the Yes button."""

from __future__ import annotations

import pytest
from django.urls import reverse

from attendance.models import ApiToken, ReferencePhoto, Student
from attendance.services import tokens as token_services
from tests.conftest import jpeg_bytes
from tests.support.faces import add_photo

pytestmark = pytest.mark.django_db


@pytest.fixture
def photo(student, tmp_path):
    path = tmp_path / "ada.jpg"
    path.write_bytes(jpeg_bytes())
    return add_photo(student, path)


def test_withdrawing_consent_asks_first_and_keeps_everything_until_yes(client, admin_user, student):
    client.force_login(admin_user)
    url = reverse("attendance:student_consent", args=[student.pk])

    asked = client.post(url, {"action": "withdraw"})

    assert asked.status_code == 200
    page = asked.content.decode()
    assert "Withdraw Ada Lovelace&#x27;s photo consent?" in page
    assert f'<form method="post" action="{url}"' in page
    assert '<input type="hidden" name="action" value="withdraw">' in page
    assert '<input type="hidden" name="confirm" value="yes">' in page
    student.refresh_from_db()
    assert student.has_photo_consent
    assert client.post(url, {"action": "withdraw", "confirm": "yes"}).status_code == 302
    student.refresh_from_db()
    assert not student.has_photo_consent


def test_deleting_a_student_asks_first(client, admin_user, student):
    client.force_login(admin_user)
    url = reverse("attendance:student_delete", args=[student.pk])

    assert "Delete Ada Lovelace? Their photos, faces" in client.post(url).content.decode()
    assert Student.objects.filter(pk=student.pk).exists()
    assert client.post(url, {"confirm": "yes"}).status_code == 302
    assert not Student.objects.filter(pk=student.pk).exists()


def test_deleting_a_reference_photo_asks_first(client, admin_user, photo):
    client.force_login(admin_user)
    url = reverse("attendance:photo_delete", args=[photo.pk])

    assert "Delete this reference photo of Ada Lovelace?" in client.post(url).content.decode()
    assert ReferencePhoto.objects.filter(pk=photo.pk).exists()
    assert client.post(url, {"confirm": "yes"}).status_code == 302
    assert not ReferencePhoto.objects.filter(pk=photo.pk).exists()


def test_revoking_a_token_asks_first(client, alice):
    token = token_services.api_token_create(user=alice, name="gradebook sync").token
    client.force_login(alice)
    url = reverse("attendance:api_token_revoke", args=[token.pk])

    assert "Revoke the token &#x27;gradebook sync&#x27;?" in client.post(url).content.decode()
    assert ApiToken.objects.filter(pk=token.pk).exists()
    client.post(url, {"confirm": "yes"})
    assert not ApiToken.objects.filter(pk=token.pk).exists()


def test_charlie_is_not_asked_about_alices_token(client, alice, bob):
    token = token_services.api_token_create(user=alice, name="gradebook sync").token
    client.force_login(bob)

    response = client.post(reverse("attendance:api_token_revoke", args=[token.pk]))

    assert response.status_code == 404
    assert ApiToken.objects.filter(pk=token.pk).exists()
