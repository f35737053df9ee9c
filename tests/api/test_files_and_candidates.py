"""Files through the API with token auth (the /files/ pages send a token client to the login
page), and a face's candidates with a match score."""

from __future__ import annotations

import pytest

from tests.conftest import jpeg_bytes

pytestmark = pytest.mark.django_db


def test_a_token_client_is_sent_to_the_login_page_by_the_files_view(clients, alices):
    # Why the API needs its own file URLs: the page's view knows only the browser session.
    response = clients["alice"].get(f"/files/captures/{alices.capture.pk}/")

    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_alice_downloads_her_class_photo_and_a_face_crop_with_her_token(clients, alices):
    photo = clients["alice"].get(f"/api/captures/{alices.capture.pk}/photo/")
    crop = clients["alice"].get(f"/api/faces/{alices.face.pk}/crop/", HTTP_ACCEPT="image/jpeg")

    assert photo.status_code == 200 and photo["Content-Type"] == "image/jpeg"
    assert b"".join(photo.streaming_content) == jpeg_bytes()
    assert crop.status_code == 200
    assert b"".join(crop.streaming_content) == jpeg_bytes(32, 32)
    assert photo["Cache-Control"] == "private, no-store"


def test_bob_gets_a_json_404_for_alices_photo_even_asking_for_an_image(clients, alices):
    response = clients["bob"].get(
        f"/api/captures/{alices.capture.pk}/photo/", HTTP_ACCEPT="image/jpeg"
    )

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_a_face_without_a_crop_is_a_404(clients, alices):
    alices.face.crop = ""
    alices.face.save()

    response = clients["alice"].get(f"/api/faces/{alices.face.pk}/crop/")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_a_face_shows_its_candidates_with_a_score(clients, alices, admin_user, settings):
    from attendance.services.students import student_create

    settings.ROLLCALL_MATCH_THRESHOLD = 1.0
    grace = student_create(student_number="S002", full_name="Grace Hopper", consent_by=admin_user)
    alices.face.candidates = [
        {"student_id": alices.student.pk, "distance": 0.5},
        {"student_id": grace.pk, "distance": 1.5},
        {"student_id": 999, "distance": 1.6},  # no such student (any more): never suggested
    ]
    alices.face.save()

    body = clients["alice"].get(f"/api/faces/{alices.face.pk}/").json()

    assert body["candidates"] == [
        {"student": alices.student.pk, "distance": 0.5, "score": 0.75},
        {"student": grace.pk, "distance": 1.5, "score": 0.25},
    ]
