"""Student photos are biometric data: never public, and gone from disk with the student."""

from __future__ import annotations

import os

import pytest
from django.core.files.base import ContentFile
from django.db import transaction
from django.urls import reverse

from attendance.models import Capture, DetectedFace, ReferencePhoto, embedding_to_bytes
from attendance.services import students as student_services
from tests.conftest import jpeg_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def photo(student):
    photo = ReferencePhoto(student=student, status="ready", embedding=embedding_to_bytes([0.1] * 4))
    photo.image.save("ada.jpg", ContentFile(jpeg_bytes()), save=False)
    photo.face_crop.save("ada-crop.jpg", ContentFile(jpeg_bytes(16, 16)), save=False)
    photo.save()
    return photo


@pytest.fixture
def seen_face(session, student):
    capture = Capture(session=session, state="done")
    capture.image.save("class.jpg", ContentFile(jpeg_bytes(320, 240)), save=False)
    capture.save()
    face = DetectedFace(
        capture=capture,
        index=0,
        box=[1, 2, 3, 4],
        detector_score=0.99,
        decision="auto",
        student=student,
        embedding=embedding_to_bytes([0.2] * 4),
    )
    face.crop.save("face.jpg", ContentFile(jpeg_bytes(16, 16)), save=False)
    face.save()
    return face


def stored_paths(*fields):
    return [field.storage.path(field.name) for field in fields]


def test_photos_have_no_public_url(photo):
    with pytest.raises(ValueError):
        photo.image.url  # noqa: B018 -- the storage has no base URL at all


def test_deleting_a_student_removes_their_photos_and_face_crops_from_disk(
    photo, seen_face, student, django_capture_on_commit_callbacks
):
    paths = stored_paths(photo.image, photo.face_crop, seen_face.crop)
    assert all(os.path.exists(p) for p in paths)

    with django_capture_on_commit_callbacks(execute=True):
        student_services.student_delete(student=student)

    assert not any(os.path.exists(p) for p in paths)
    assert ReferencePhoto.objects.count() == 0
    seen_face.refresh_from_db()
    assert (seen_face.student, seen_face.embedding, seen_face.crop.name) == (None, None, "")


def test_withdrawing_consent_removes_photos_and_embeddings_but_keeps_the_student(
    photo, seen_face, student, django_capture_on_commit_callbacks
):
    paths = stored_paths(photo.image, photo.face_crop, seen_face.crop)
    with django_capture_on_commit_callbacks(execute=True):
        student_services.consent_withdraw(student=student)

    student.refresh_from_db()
    assert not student.has_photo_consent
    assert ReferencePhoto.objects.filter(student=student).count() == 0
    assert DetectedFace.objects.get(pk=seen_face.pk).embedding is None
    assert not any(os.path.exists(p) for p in paths)


def test_a_failed_delete_keeps_the_files(photo, student, django_capture_on_commit_callbacks):
    paths = stored_paths(photo.image)
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        student_services.student_delete(student=student)
        raise RuntimeError("the database went away")
    assert os.path.exists(paths[0])


def test_photo_files_are_served_only_to_people_who_may_see_them(
    client, photo, alice, bob, bobs_course, admin_user
):
    crop = reverse("attendance:reference_photo_file", args=[photo.pk, "crop"])
    image = reverse("attendance:reference_photo_file", args=[photo.pk, "image"])
    assert client.get(crop).status_code == 302  # anonymous: to the login page
    client.force_login(bob)
    assert client.get(crop).status_code == 404
    client.force_login(alice)
    assert client.get(crop).status_code == 200
    assert client.get(image).status_code == 404  # full reference photos are for admins
    client.force_login(admin_user)
    response = client.get(image)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert b"".join(response.streaming_content)[:2] == b"\xff\xd8"


def test_class_photos_are_served_only_to_the_sessions_teacher(client, seen_face, alice, bob):
    url = reverse("attendance:capture_file", args=[seen_face.capture_id])
    client.force_login(bob)
    assert client.get(url).status_code == 404
    client.force_login(alice)
    assert client.get(url).status_code == 200
