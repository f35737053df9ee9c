"""Biometric data never outlives its purpose, and what admins do is on the audit trail."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.urls import reverse
from django.utils import timezone

from attendance.models import (
    AttendanceRecord,
    AuditEvent,
    Capture,
    ClassSession,
    DetectedFace,
    embedding_to_bytes,
)
from attendance.services import records as record_services
from attendance.services import students as student_services
from attendance.services.retention import retention_purge
from tests.conftest import jpeg_bytes

pytestmark = pytest.mark.django_db


def face_in(capture, index, student=None):
    face = DetectedFace(
        capture=capture,
        index=index,
        box=[index, 0, 4, 4],
        detector_score=0.9,
        decision="auto" if student else "unknown",
        student=student,
        embedding=embedding_to_bytes([0.5] * 4),
    )
    face.crop.save("f.jpg", ContentFile(jpeg_bytes(8, 8)), save=False)
    face.save()
    return face


@pytest.fixture
def photo_of_class(session, student):
    """A class photo of Ada's session: her face (marked present) and a stranger's."""
    capture = Capture(session=session, state="done")
    capture.image.save("class.jpg", ContentFile(jpeg_bytes(64, 48)), save=False)
    capture.save()
    hers, stranger = face_in(capture, 0, student), face_in(capture, 1)
    record_services.attendance_mark(
        session=session, student=student, status="present", source="face", face=hers
    )
    return capture, hers, stranger


def exists(field) -> bool:
    return storages["private"].exists(field.name)


def finalized_days_ago(session, days: int) -> None:
    ClassSession.objects.filter(pk=session.pk).update(
        state="finalized", finalized_at=timezone.now() - timedelta(days=days)
    )


def test_withdrawing_consent_erases_her_faces_in_class_photos_and_keeps_her_mark(
    photo_of_class, student, admin_user, django_capture_on_commit_callbacks
):
    capture, hers, stranger = photo_of_class
    crop = hers.crop.name
    with django_capture_on_commit_callbacks(execute=True):
        student_services.consent_withdraw(student=student, by=admin_user)
    hers.refresh_from_db()
    assert (hers.student, hers.crop.name, hers.embedding) == (None, "", None)
    assert not storages["private"].exists(crop)
    record = AttendanceRecord.objects.get(student=student)
    assert (record.status, record.face) == ("present", None)
    event = AuditEvent.objects.get(action="biometrics_erased")
    assert (event.student, event.by, event.detail["faces"]) == (student, admin_user, 1)


def test_past_retention_the_class_photo_and_unknown_faces_go_and_marks_stay(
    photo_of_class, session, django_capture_on_commit_callbacks
):
    capture, hers, stranger = photo_of_class
    files = {"photo": capture.image.name, "stranger": stranger.crop.name, "hers": hers.crop.name}
    finalized_days_ago(session, 31)
    with django_capture_on_commit_callbacks(execute=True):
        result = retention_purge()
    assert (result.class_photos, result.unknown_faces) == (1, 1)
    capture.refresh_from_db()
    stranger.refresh_from_db()
    assert capture.image.name == "" and capture.photo_deleted_at is not None
    assert (stranger.crop.name, stranger.embedding) == ("", None)
    store = storages["private"]
    assert not store.exists(files["photo"]) and not store.exists(files["stranger"])
    assert store.exists(files["hers"])  # the evidence behind Ada's mark stays
    assert AttendanceRecord.objects.get().status == "present"
    assert AuditEvent.objects.filter(action="retention_purged").count() == 1
    assert retention_purge().class_photos == 0  # twice deletes nothing more


def test_within_retention_or_reopened_nothing_goes(photo_of_class, session):
    finalized_days_ago(session, 29)
    assert retention_purge().class_photos == 0
    ClassSession.objects.filter(pk=session.pk).update(state="open", finalized_at=None)
    assert retention_purge(days=0).class_photos == 0


def test_retention_days_come_from_the_environment(settings, photo_of_class, session):
    settings.ROLLCALL_RETENTION_DAYS = 7
    finalized_days_ago(session, 8)
    assert retention_purge().class_photos == 1


def test_beat_runs_the_retention_task():
    from django.conf import settings

    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "attendance.retention_purge" in tasks


def test_records_cannot_be_deleted_in_the_admin(client, admin_user, session, student):
    record = record_services.attendance_mark(
        session=session, student=student, status="present", source="manual"
    ).record
    client.force_login(admin_user)
    url = reverse("admin:attendance_attendancerecord_delete", args=[record.pk])
    assert client.post(url, {"post": "yes"}).status_code == 403
    assert AttendanceRecord.objects.filter(pk=record.pk).exists()


def test_an_admin_edit_is_on_the_audit_trail(client, admin_user, course):
    client.force_login(admin_user)
    url = reverse("admin:attendance_course_change", args=[course.pk])
    body = {
        "code": "BIO101",
        "title": "Biology, renamed",
        "term": "2026-fall",
        "attendance_threshold": "75.00",
        "late_credit": "1.00",
        "excused_policy": "excluded",
        "enrollments-TOTAL_FORMS": "0",
        "enrollments-INITIAL_FORMS": "0",
    }
    assert client.post(url, body).status_code == 302
    event = AuditEvent.objects.get(action="admin_changed")
    assert event.by == admin_user and "Biology, renamed" in event.subject


def test_a_session_cannot_be_finalized_around_the_service_in_the_admin(client, admin_user, session):
    client.force_login(admin_user)
    page = client.get(reverse("admin:attendance_classsession_change", args=[session.pk]))
    assert b'name="state"' not in page.content
