"""Deleting a student erases their biometrics and contact details at once, but never their
attendance records: a student with records stays as a name and a number (archived), from every
entry point. A student who was never marked leaves no row at all."""

from __future__ import annotations

from datetime import date, time

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.urls import reverse
from rest_framework.test import APIClient

from attendance.models import (
    AttendanceChange,
    AttendanceRecord,
    AuditEvent,
    Capture,
    DetectedFace,
    Enrollment,
    Student,
    embedding_to_bytes,
)
from attendance.selectors.sessions import roster_students
from attendance.services import courses as course_services
from attendance.services import records as record_services
from attendance.services import students as student_services
from tests.conftest import jpeg_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def grace(admin_user, course):
    grace = student_services.student_create(
        student_number="S002", full_name="Grace Hopper", consent_by=admin_user
    )
    course_services.enrollment_create(student=grace, course=course, joined_on=date(2026, 9, 1))
    return grace


@pytest.fixture
def marked(session, student, alice):
    """Ada was marked present by hand, and later excused with a remark."""
    record_services.attendance_mark(
        session=session, student=student, status="present", source="manual", by=alice
    )
    return record_services.attendance_mark(
        session=session, student=student, status="excused", source="manual", by=alice
    ).record


def face_of(capture, index, student, candidates):
    face = DetectedFace(
        capture=capture,
        index=index,
        box=[10 * index, 2, 30, 40],
        detector_score=0.99,
        decision="review" if student is None else "auto",
        student=student,
        distance=0.4,
        embedding=embedding_to_bytes([0.2] * 4),
        candidates=[{"student_id": s.pk, "distance": d} for s, d in candidates],
    )
    face.crop.save("face.jpg", ContentFile(jpeg_bytes(16, 16)), save=False)
    face.save()
    return face


@pytest.fixture
def class_photo(session, student, grace):
    """Face 0 is Ada (Grace a close second); face 1 is awaiting review, Ada or Grace."""
    capture = Capture(session=session, state="done")
    capture.image.save("class.jpg", ContentFile(jpeg_bytes(320, 240)), save=False)
    capture.save()
    ada_face = face_of(capture, 0, student, [(student, 0.4), (grace, 0.9)])
    unsure = face_of(capture, 1, None, [(grace, 0.7), (student, 0.75)])
    return capture, ada_face, unsure


def assert_archived_with_records(student, record_count: int) -> None:
    archived = Student.objects.get(pk=student.pk)
    assert archived.deleted_at is not None
    assert (archived.full_name, archived.student_number) == ("Ada Lovelace", "S001")
    assert (archived.email, archived.active, archived.has_photo_consent) == ("", False, False)
    assert AttendanceRecord.objects.filter(student=student).count() == record_count
    assert AttendanceChange.objects.filter(student=student).count() == 2
    assert not archived.photos.exists()
    assert not DetectedFace.objects.filter(student=student).exists()


# --- every entry point ---------------------------------------------------------------------------


def delete_on_the_page(client, admin_user, student):
    client.force_login(admin_user)
    url = reverse("attendance:student_delete", args=[student.pk])
    assert client.post(url, {"confirm": "yes"}).status_code == 302


def delete_in_the_admin(client, admin_user, student):
    client.force_login(admin_user)
    url = reverse("admin:attendance_student_delete", args=[student.pk])
    confirm = client.get(url)
    # The confirmation lists what goes; the records are not among it.
    assert "records kept" in confirm.content.decode()
    assert "Attendance record:" not in confirm.content.decode()
    assert client.post(url, {"post": "yes"}).status_code == 302


def delete_with_the_admin_action(client, admin_user, student):
    client.force_login(admin_user)
    url = reverse("admin:attendance_student_changelist")
    data = {"action": "delete_selected", ACTION_CHECKBOX_NAME: [student.pk], "post": "yes"}
    assert client.post(url, data).status_code == 302


def delete_in_code(client, admin_user, student):
    Student.objects.get(pk=student.pk).delete()


def delete_a_queryset_in_code(client, admin_user, student):
    Student.objects.filter(pk=student.pk).delete()


def delete_from_a_management_command(client, admin_user, student):
    call_command("shell", command=f"from attendance.models import Student; "
                 f"Student.objects.filter(pk={student.pk}).delete()")  # fmt: skip


@pytest.mark.parametrize(
    "delete",
    [
        delete_on_the_page,
        delete_in_the_admin,
        delete_with_the_admin_action,
        delete_in_code,
        delete_a_queryset_in_code,
        delete_from_a_management_command,
    ],
)
def test_deleting_a_student_keeps_their_records_under_their_name_and_number(
    delete, client, admin_user, student, marked, class_photo
):
    delete(client, admin_user, student)

    assert_archived_with_records(student, 1)
    record = AttendanceRecord.objects.get(student=student)
    assert (record.status, record.face) == ("excused", None)
    erasure = AuditEvent.objects.get(action="biometrics_erased")
    assert erasure.student_id == student.pk
    assert erasure.detail["why"] == "student deleted"


def test_a_deleted_student_leaves_the_rosters_of_later_sessions_but_not_earlier_ones(
    student, marked, session, course
):
    later = course_services.session_create(
        course=course, date=date(2099, 1, 5), start_time=time(9), end_time=time(10)
    )
    student_services.student_delete(student=student)

    assert list(roster_students(session=session)) == [student]
    assert list(roster_students(session=later)) == []
    assert not Enrollment.objects.filter(student=student, left_on__isnull=True).exists()


def test_a_student_never_marked_is_removed_entirely_and_the_number_is_free_again(
    admin_user, course
):
    temp = student_services.student_create(student_number="S009", full_name="Temp")
    course_services.enrollment_create(student=temp, course=course, joined_on=date(2026, 9, 1))

    student_services.student_delete(student=temp, by=admin_user)

    assert not Student.objects.filter(pk=temp.pk).exists()
    assert AuditEvent.objects.get(action="biometrics_erased").subject == "Temp (S009) (deleted)"
    student_services.student_create(student_number="S009", full_name="Someone Else")


def test_a_deleted_students_record_shows_in_the_sheet_the_csv_and_the_api(
    client, alice, admin_user, student, marked, session, course
):
    student_services.student_delete(student=student, by=admin_user)
    client.force_login(alice)

    sheet = client.get(reverse("attendance:report_session", args=[session.pk]))
    csv = client.get(reverse("attendance:report_session_csv", args=[session.pk]))
    matrix = client.get(reverse("attendance:report_course_csv", args=[course.pk]))
    assert sheet.status_code == csv.status_code == matrix.status_code == 200
    assert "Ada Lovelace" in sheet.content.decode()
    assert "S001" in b"".join(csv.streaming_content if csv.streaming else [csv.content]).decode()
    api = APIClient()
    api.force_authenticate(alice)
    records = api.get("/api/records/", {"session": session.pk}).json()["results"]
    assert [(r["student"], r["status"]) for r in records] == [(student.pk, "excused")]


def test_a_deleted_students_page_says_so_and_consent_cannot_be_recorded_again(
    client, admin_user, student, marked
):
    student_services.student_delete(student=student, by=admin_user)
    client.force_login(admin_user)
    url = reverse("attendance:student_detail", args=[student.pk])
    assert (
        "only the name, the number and the attendance records" in client.get(url).content.decode()
    )
    # What is still held about them can still be handed over.
    export = client.get(reverse("attendance:student_export", args=[student.pk]))
    assert (export.status_code, export["Content-Type"]) == (200, "application/zip")

    response = client.post(
        reverse("attendance:student_consent", args=[student.pk]), {"action": "record"}, follow=True
    )

    assert "was deleted" in response.content.decode()
    assert not Student.objects.get(pk=student.pk).has_photo_consent


def test_a_deleted_student_is_not_listed_nor_enrolled_again(
    client, admin_user, student, marked, course
):
    student_services.student_delete(student=student, by=admin_user)
    api = APIClient()
    api.force_authenticate(admin_user)

    assert api.get("/api/students/").json()["results"] == []
    client.force_login(admin_user)
    assert "Ada Lovelace" not in client.get(reverse("attendance:student_list")).content.decode()
    with pytest.raises(Exception, match="deleted"):
        course_services.enrollment_create(student=Student.objects.get(pk=student.pk), course=course)


# --- candidate lists (the top-N suggestions of every face) ---------------------------------------


@pytest.mark.parametrize("erase", ["consent_withdraw", "student_delete"])
def test_erasing_a_student_removes_them_from_every_faces_candidates(
    erase, client, alice, student, grace, class_photo
):
    capture, _, unsure = class_photo

    getattr(student_services, erase)(student=student)

    unsure.refresh_from_db()
    assert [c["student_id"] for c in unsure.candidates] == [grace.pk]
    assert not DetectedFace.objects.filter(candidates__contains=[{"student_id": student.pk}])
    api = APIClient()
    api.force_authenticate(alice)
    faces = api.get("/api/faces/", {"capture": capture.pk}).json()["results"]
    assert {c["student"] for f in faces for c in f["candidates"]} == {grace.pk}
    client.force_login(alice)
    page = client.get(reverse("attendance:capture_detail", args=[capture.pk])).content.decode()
    closest = [line for line in page.splitlines() if "Closest:" in line]
    assert len(closest) == 1
    assert "Grace Hopper" in closest[0]
    assert "Ada Lovelace" not in closest[0]


def test_a_student_without_consent_is_never_suggested_even_from_a_list_stored_earlier(
    client, alice, student, grace, class_photo
):
    capture, _, unsure = class_photo
    # As if consent had been withdrawn before erasure cleaned candidate lists: the list still
    # names Ada, who has no consent now.
    Student.objects.filter(pk=student.pk).update(consent_given_at=None)

    api = APIClient()
    api.force_authenticate(alice)
    face = api.get(f"/api/faces/{unsure.pk}/").json()
    faces = api.get("/api/faces/", {"capture": capture.pk}).json()["results"]
    assert [c["student"] for c in face["candidates"]] == [grace.pk]
    assert {c["student"] for f in faces for c in f["candidates"]} == {grace.pk}
    client.force_login(alice)
    page = client.get(reverse("attendance:capture_detail", args=[capture.pk])).content.decode()
    closest = [line for line in page.splitlines() if "Closest:" in line]
    assert all("Ada Lovelace" not in line for line in closest)
