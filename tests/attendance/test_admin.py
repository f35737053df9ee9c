"""The Django admin works for every model, and never shows or edits what it must not."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.core.files.base import ContentFile
from django.urls import reverse

from attendance.models import AttendanceRecord, Capture, ReferencePhoto, Student
from attendance.services import records as record_services
from tests.conftest import jpeg_bytes

pytestmark = pytest.mark.django_db


def test_every_attendance_model_has_a_working_changelist(client, admin_user, student, session):
    client.force_login(admin_user)
    models = [m for m in admin.site._registry if m._meta.app_label == "attendance"]
    assert {m.__name__ for m in models} >= {
        "Course",
        "Student",
        "Enrollment",
        "ReferencePhoto",
        "ClassSession",
        "Capture",
        "AttendanceRecord",
        "AttendanceChange",
    }
    for model in models:
        url = reverse(f"admin:attendance_{model._meta.model_name}_changelist")
        assert client.get(url).status_code == 200, url


def test_a_student_page_in_the_admin_shows_no_embedding(client, admin_user, student):
    client.force_login(admin_user)
    body = client.get(reverse("admin:attendance_student_change", args=[student.pk])).content
    assert b"Ada Lovelace" in body
    assert b"embedding" not in body.lower()


def test_attendance_records_cannot_be_edited_around_the_audit_trail(
    client, admin_user, session, student
):
    record = record_services.attendance_mark(
        session=session, student=student, status="present", source="manual"
    ).record
    client.force_login(admin_user)
    url = reverse("admin:attendance_attendancerecord_change", args=[record.pk])
    client.post(url, {"status": "absent", "source": "manual"})
    assert AttendanceRecord.objects.get().status == "present"


def test_deleting_a_student_in_the_admin_goes_through_the_service(
    client, admin_user, student, monkeypatch
):
    erased = []
    monkeypatch.setattr(
        "attendance.services.students.student_biometrics_erase",
        lambda *, student: erased.append(student.pk) or {},
    )
    client.force_login(admin_user)
    url = reverse("admin:attendance_student_delete", args=[student.pk])
    assert client.post(url, {"post": "yes"}).status_code == 302
    assert erased == [student.pk]
    assert not Student.objects.exists()


def test_teachers_cannot_open_the_admin(client, alice):
    client.force_login(alice)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_pages_with_photos_link_to_the_permission_checked_files(
    client, admin_user, student, session
):
    photo = ReferencePhoto(student=student, status="ready")
    photo.image.save("ada.jpg", ContentFile(jpeg_bytes()), save=False)
    photo.save()
    capture = Capture(session=session, state="done")
    capture.image.save("class.jpg", ContentFile(jpeg_bytes()), save=False)
    capture.save()
    client.force_login(admin_user)
    pages = {
        reverse("admin:attendance_student_change", args=[student.pk]): reverse(
            "attendance:reference_photo_file", args=[photo.pk, "image"]
        ),
        reverse("admin:attendance_referencephoto_change", args=[photo.pk]): reverse(
            "attendance:reference_photo_file", args=[photo.pk, "image"]
        ),
        reverse("admin:attendance_capture_change", args=[capture.pk]): reverse(
            "attendance:capture_file", args=[capture.pk]
        ),
    }
    for page, file_url in pages.items():
        response = client.get(page)
        assert response.status_code == 200, page
        assert file_url in response.content.decode()


def test_photos_cannot_be_added_in_the_admin_around_the_consent_check(client, admin_user):
    client.force_login(admin_user)
    assert client.get(reverse("admin:attendance_referencephoto_add")).status_code == 403
