"""Growing the gallery: a face a teacher confirms in an opted-in course's class photo becomes a
reference face of the student (consent, a cap per student, oldest first, never a corrected one)."""

from __future__ import annotations

import numpy as np
import pytest
from django.core.files.base import ContentFile
from django.urls import reverse

from attendance.models import Capture, DetectedFace, ReferencePhoto, embedding_to_bytes
from attendance.selectors.captures import session_gallery
from attendance.services import captures as capture_services
from attendance.services import face_models
from attendance.services import students as student_services
from attendance.services.gallery import GROWN_PER_STUDENT, course_gallery_growth_set
from facerec.model import backbone_dim, backbone_key
from tests.conftest import jpeg_bytes
from tests.support.faces import model_or_skip


def review_face(session, student, index: int = 0) -> DetectedFace:
    """A face the matcher suggested as ``student`` and left for review, with its crop and
    backbone vector kept (as the capture pipeline keeps them)."""
    capture = Capture.objects.create(session=session, state="done")
    vector = np.random.default_rng(index).normal(size=backbone_dim()).astype(np.float32)
    face = DetectedFace(
        capture=capture,
        index=0,
        box=[10, 10, 50, 60],
        detector_score=0.99,
        student=student,
        distance=1.1,
        decision=DetectedFace.Decision.REVIEW,
        backbone_embedding=embedding_to_bytes(vector / np.linalg.norm(vector)),
        backbone_key=backbone_key(),
    )
    face.crop.save("crop.jpg", ContentFile(jpeg_bytes()), save=False)
    face.save()
    return face


@pytest.fixture
def growing(course):
    model_or_skip()
    return course_gallery_growth_set(course=course, enabled=True)


def test_a_confirmed_face_becomes_a_reference_face_of_the_student(growing, session, student, alice):
    face = review_face(session, student)
    capture_services.face_confirm(face=face, by=alice)

    grown = ReferencePhoto.objects.get(face=face)
    assert (grown.student, grown.status) == (student, "ready")
    serving = face_models.serving_model().version
    assert grown.embeddings.filter(model_version=serving).exists()
    assert session_gallery(session=session, model_version=serving).photo_ids == (grown.pk,)


def test_a_course_that_did_not_opt_in_grows_nothing(course, session, student, alice):
    model_or_skip()
    capture_services.face_confirm(face=review_face(session, student), by=alice)
    assert not ReferencePhoto.objects.exists()


def test_a_face_corrected_later_is_removed_and_never_used(growing, session, student, alice):
    face = review_face(session, student)
    capture_services.face_confirm(face=face, by=alice)
    assert ReferencePhoto.objects.filter(face=face).exists()

    capture_services.face_assign(face=face, student=None, by=alice)
    assert not ReferencePhoto.objects.exists()
    # Confirming it again (now a corrected face with no suggestion) adds nothing either.
    face.refresh_from_db()
    assert face.decision == "corrected"


def test_an_undone_confirm_takes_the_face_out_of_the_gallery(growing, session, student, alice):
    face = review_face(session, student)
    capture_services.face_confirm(face=face, by=alice)
    capture_services.face_review_undo(face=face, by=alice)
    assert not ReferencePhoto.objects.exists()


def test_each_student_keeps_the_newest_faces_up_to_the_cap(growing, session, student, alice):
    faces = []
    for i in range(GROWN_PER_STUDENT + 2):
        faces.append(review_face(session, student, index=i))
        capture_services.face_confirm(face=faces[-1], by=alice)

    kept = set(ReferencePhoto.objects.filter(student=student).values_list("face_id", flat=True))
    assert kept == {f.pk for f in faces[-GROWN_PER_STUDENT:]}


def test_no_face_of_a_student_without_consent_is_kept(growing, session, student, alice, admin_user):
    face = review_face(session, student)
    student.consent_given_at = None
    student.save()
    capture_services.face_confirm(face=face, by=alice)
    assert not ReferencePhoto.objects.exists()


def test_withdrawing_consent_erases_the_grown_faces(growing, session, student, alice, admin_user):
    capture_services.face_confirm(face=review_face(session, student), by=alice)
    student_services.consent_withdraw(student=student, by=admin_user)
    assert not ReferencePhoto.objects.exists()


def test_only_an_admin_switches_a_course_s_growth(client, alice, admin_user, course):
    url = reverse("attendance:course_gallery_growth", args=[course.pk])
    client.force_login(alice)
    assert client.post(url, {"enabled": "on"}).status_code == 404
    client.force_login(admin_user)
    assert client.post(url, {"enabled": "on"}).status_code == 302
    course.refresh_from_db()
    assert course.grow_gallery
