"""A class photo whose faces are too small to recognise: the faces are kept and counted, the
teacher is told what to do, and nobody is matched or marked."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from attendance.models import AttendanceRecord, Capture, DetectedFace, ReferencePhoto
from attendance.services import captures as capture_services
from attendance.services import photos as photo_services
from tests.api.conftest import api_client
from tests.support.faces import CLASS, class_photo_bytes, make_classroom

pytestmark = pytest.mark.django_db

MESSAGE = "5 faces were too small to recognise: take the photo closer or in two halves."


@pytest.fixture
def classroom(face_models, admin_user, alice):
    """Five LFW people enrolled with two ready reference photos each."""
    room = make_classroom(admin_user, alice, CLASS)
    for photo_id in ReferencePhoto.objects.values_list("pk", flat=True):
        photo_services.reference_photo_process(photo_id=photo_id)
    return room


@pytest.fixture
def back_row_capture(classroom, alice) -> Capture:
    """The five enrolled students at the back of a hall: faces of 11-15 px in a 640x360 photo."""
    data = class_photo_bytes(CLASS, width=640, height=360, scale=(1.0, 1.0), max_tile=24)
    capture = capture_services.capture_create(
        session=classroom.session,
        image_file=SimpleUploadedFile("hall.jpg", data, content_type="image/jpeg"),
        source="upload",
        by=alice,
    )
    capture_services.capture_process(capture_id=capture.pk)
    return Capture.objects.get(pk=capture.pk)


def test_tiny_faces_are_kept_as_too_small_and_nobody_is_marked(back_row_capture):
    assert back_row_capture.state == "done", back_row_capture.failure_reason
    faces = list(back_row_capture.faces.order_by("index"))
    assert len(faces) == 5
    assert {face.decision for face in faces} == {"too_small"}
    assert all(face.student is None and face.embedding is None for face in faces)
    assert all(face.candidates == [] and face.crop for face in faces)
    assert all(max(face.box[2], face.box[3]) < 20 for face in faces)
    assert AttendanceRecord.objects.count() == 0
    assert back_row_capture.timings["faces"] == 0


def test_processing_the_photo_again_keeps_the_same_too_small_faces(back_row_capture):
    before = list(back_row_capture.faces.values_list("pk", "index", "decision"))

    capture_services.capture_process(capture_id=back_row_capture.pk, force=True)

    assert list(back_row_capture.faces.values_list("pk", "index", "decision")) == before
    assert DetectedFace.objects.count() == 5 and AttendanceRecord.objects.count() == 0


def test_the_teacher_is_told_how_many_faces_were_too_small_and_what_to_do(
    back_row_capture, client, alice
):
    client.force_login(alice)
    session_url = reverse("attendance:session_detail", args=[back_row_capture.session_id])
    detail_url = reverse("attendance:capture_detail", args=[back_row_capture.pk])
    status_url = reverse("attendance:capture_status", args=[back_row_capture.pk])

    assert MESSAGE in client.get(session_url).content.decode()
    assert MESSAGE in client.get(detail_url).content.decode()
    status = client.get(status_url).json()
    assert (status["faces"], status["unknown"], status["too_small"]) == (0, 0, 5)
    assert status["too_small_message"] == MESSAGE


def test_the_api_capture_detail_counts_the_too_small_faces(back_row_capture, alice):
    body = api_client(alice).get(f"/api/captures/{back_row_capture.pk}/").json()

    assert (body["too_small_count"], body["too_small_message"]) == (5, MESSAGE)
    assert [face["decision"] for face in body["faces"]] == ["too_small"] * 5
    assert body["marks"] == []


def test_a_photo_with_recognisable_faces_has_no_too_small_message(classroom, client, alice):
    data = class_photo_bytes(CLASS[:2])
    capture = capture_services.capture_create(
        session=classroom.session,
        image_file=SimpleUploadedFile("class.jpg", data, content_type="image/jpeg"),
        source="upload",
        by=alice,
    )
    capture_services.capture_process(capture_id=capture.pk)

    body = api_client(alice).get(f"/api/captures/{capture.pk}/").json()

    assert (body["too_small_count"], body["too_small_message"]) == (0, "")
    faces = capture.faces.all()
    assert sorted(f.decision != "too_small" for f in faces) == [True, True]
    # Both faces are recognisable: each is marked, or waits for the teacher's review.
    assert AttendanceRecord.objects.count() == sum(f.decision == "auto" for f in faces)
