"""API fixtures: token-authenticated clients for alice, bob and the admin, and one of each of
alice's things (course, student, enrollment, session, record, reference photo, capture)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from attendance.models import (
    AttendanceRecord,
    Capture,
    ClassSession,
    Course,
    DetectedFace,
    Enrollment,
    FaceModel,
    Job,
    ReferencePhoto,
    Student,
    WebhookEndpoint,
)
from attendance.services import records as record_services
from attendance.services.captures import capture_create
from attendance.services.photos import reference_photo_add
from attendance.services.tokens import api_token_create
from attendance.services.webhooks import webhook_endpoint_create
from tests.conftest import jpeg_bytes
from tests.reports.conftest import term  # noqa: F401  (the hand-worked term, for report tests)
from tests.webhooks.receiver import receiver  # noqa: F401  (a real HTTP receiver)


def api_client(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        key = api_token_create(user=user, name="tests").key
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def jpeg_upload(name: str = "photo.jpg", color=(200, 120, 40)) -> SimpleUploadedFile:
    """A small JPEG; another ``color`` is another photo (the same bytes twice are a duplicate)."""
    return SimpleUploadedFile(name, jpeg_bytes(color=color), content_type="image/jpeg")


def roster_upload(text: str) -> SimpleUploadedFile:
    return SimpleUploadedFile("roster.csv", text.encode(), content_type="text/csv")


@pytest.fixture(autouse=True)
def fresh_report_cache():
    """Reports are cached by course and data version; each test starts with an empty cache."""
    cache.clear()


@dataclass
class Things:
    course: Course
    student: Student
    enrollment: Enrollment
    session: ClassSession
    record: AttendanceRecord
    photo: ReferencePhoto
    capture: Capture
    face: DetectedFace
    webhook: WebhookEndpoint
    job: Job
    face_model: FaceModel


@pytest.fixture
def alices(alice, course, student, session) -> Things:
    result = record_services.attendance_mark(
        session=session, student=student, status="present", source="manual", by=alice
    )
    photo = reference_photo_add(student=student, image_file=jpeg_upload(), by=alice)
    capture = capture_create(session=session, image_file=jpeg_upload(), source="upload", by=alice)
    return Things(
        course=course,
        student=student,
        enrollment=Enrollment.objects.get(course=course, student=student),
        session=session,
        record=result.record,
        photo=photo,
        capture=capture,
        face=with_crop(review_face(capture, student)),
        # An admin's endpoint (nothing listens on port 9): the webhooks API has a row to reach.
        webhook=webhook_endpoint_create(
            url="http://127.0.0.1:9/hooks", events=["session.finalized"], by=None
        ),
        job=Job.objects.create(kind=Job.Kind.CAPTURE_UPLOAD, created_by=alice, session=session),
        face_model=trained_face_model(),
    )


def trained_face_model() -> FaceModel:
    """A model "trained here" (the identity head: the serving backbones alone), unevaluated."""
    from facerec.model import Head, backbone_dim, backbone_signature

    return FaceModel.objects.create(
        version="school-siamese-api-test",
        source=FaceModel.Source.TRAINED,
        backbone_signature=backbone_signature(),
        threshold=1.0,
        review_threshold=1.1,
        weights=Head.identity(backbone_dim()).to_bytes(),
    )


def with_crop(face: DetectedFace) -> DetectedFace:
    face.crop.save("crop.jpg", ContentFile(jpeg_bytes(32, 32)))
    return face


def review_face(capture: Capture, student: Student, index: int = 0) -> DetectedFace:
    """A face of ``capture`` the matcher suggested as ``student`` but left for review."""
    return DetectedFace.objects.create(
        capture=capture,
        index=index,
        box=[10 + 60 * index, 10, 50, 60],
        detector_score=0.99,
        student=student,
        distance=1.1,
        decision=DetectedFace.Decision.REVIEW,
    )


@pytest.fixture
def clients(alice, bob, admin_user, bobs_course) -> dict[str, APIClient]:
    return {
        "anonymous": api_client(),
        "alice": api_client(alice),
        "bob": api_client(bob),
        "admin": api_client(admin_user),
    }
