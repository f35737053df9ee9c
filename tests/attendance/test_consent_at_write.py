"""Consent is re-checked where biometrics are written: a student who withdraws consent while their
class photo is being analysed gets no crop, no embedding, no face link and no mark from it."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from attendance.models import AttendanceRecord, Capture, DetectedFace, ReferencePhoto
from attendance.services import captures as capture_services
from attendance.services import photos as photo_services
from attendance.services import students as student_services
from tests.support.faces import CLASS, class_photo_bytes, make_classroom

pytestmark = pytest.mark.django_db
POWELL, BLAIR = CLASS[0], CLASS[1]


@pytest.fixture
def pair(face_models, admin_user, alice):
    """Powell and Blair, enrolled with ready reference photos."""
    room = make_classroom(admin_user, alice, [POWELL, BLAIR])
    for photo_id in ReferencePhoto.objects.values_list("pk", flat=True):
        photo_services.reference_photo_process(photo_id=photo_id)
    return room


def test_consent_withdrawn_between_detection_and_the_write_stores_nothing_of_them(
    pair, alice, monkeypatch, django_capture_on_commit_callbacks
):
    powell, blair = pair.student(POWELL), pair.student(BLAIR)
    upload = SimpleUploadedFile("class.jpg", class_photo_bytes([POWELL, BLAIR]), "image/jpeg")
    capture = capture_services.capture_create(
        session=pair.session, image_file=upload, source="upload", by=alice
    )
    # The faces are found and matched (the gallery still has Powell); then he withdraws.
    monkeypatch.setattr(
        capture_services,
        "before_biometric_write",
        lambda capture_id: student_services.consent_withdraw(student=powell),
        raising=False,  # today's code has no such hook: the test fails on what is stored
    )
    with django_capture_on_commit_callbacks(execute=True):
        capture_services.capture_process(capture_id=capture.pk)

    assert Capture.objects.get(pk=capture.pk).state == "done"
    faces = list(DetectedFace.objects.filter(capture=capture).order_by("index"))
    assert len(faces) == 2
    assert {f.student_id for f in faces} == {blair.pk, None}
    (his,) = [f for f in faces if f.student_id is None]
    assert (his.crop.name, his.embedding, his.decision) == ("", None, "unknown")
    assert all(c["student_id"] != powell.pk for f in faces for c in f.candidates)
    # Blair's face is decided as usual (marked, or left for review when its quality asks for a
    # person); Powell, who withdrew, is never marked.
    marked = set(AttendanceRecord.objects.values_list("student_id", flat=True))
    blairs = next(f for f in faces if f.student_id == blair.pk)
    assert marked == ({blair.pk} if blairs.decision == "auto" else set())
