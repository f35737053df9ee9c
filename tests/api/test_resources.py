"""Complete resources: courses, students and enrollments changed and deleted with the pages' rules
(records are never deleted as a side effect), consent as a resource, bulk writes, and duplicates
that answer the same way everywhere (same request twice: the same answer, no second row)."""

from __future__ import annotations

from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from attendance.models import (
    AuditEvent,
    Capture,
    Course,
    Enrollment,
    ReferencePhoto,
    Student,
)
from attendance.services import records as record_services
from tests.api.conftest import api_client
from tests.conftest import jpeg_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(admin_user):
    return api_client(admin_user)


def error(response) -> dict:
    return response.json()["error"]


def jpeg(color=(10, 200, 90)) -> SimpleUploadedFile:
    return SimpleUploadedFile("p.jpg", jpeg_bytes(color=color), content_type="image/jpeg")


def actions() -> list[str]:
    return list(AuditEvent.objects.order_by("pk").values_list("action", flat=True))


def mark(session, student, alice) -> None:
    record_services.attendance_mark(
        session=session, student=student, status="present", source="manual", by=alice
    )


# Courses ----------------------------------------------------------------------------------------


def test_an_admin_changes_a_course_title_and_the_change_is_audited(admin, alice, course):
    response = admin.patch(f"/api/courses/{course.pk}/", {"title": "Marine Biology"}, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["title"] == "Marine Biology"
    assert response.json()["teachers"] == ["alice"]  # what was not sent stays
    event = AuditEvent.objects.get(action="course_changed")
    assert event.detail == {"title": ["Biology", "Marine Biology"]}
    assert event.by.username == "admin"


def test_a_teacher_cannot_change_their_course(alice, course):
    response = api_client(alice).patch(f"/api/courses/{course.pk}/", {"title": "X"}, format="json")

    assert response.status_code == 403
    assert Course.objects.get(pk=course.pk).title == "Biology"


def test_a_course_with_records_is_not_deleted(admin, alice, course, student, session):
    mark(session, student, alice)

    response = admin.delete(f"/api/courses/{course.pk}/")

    assert response.status_code == 409
    assert error(response)["code"] == "has_attendance_records"
    assert "1 attendance records" in error(response)["message"]
    assert Course.objects.filter(pk=course.pk).exists()


def test_a_course_without_records_is_deleted_and_audited(admin, course, student, session):
    response = admin.delete(f"/api/courses/{course.pk}/")

    assert response.status_code == 204
    assert not Course.objects.filter(pk=course.pk).exists()
    assert Student.objects.filter(pk=student.pk).exists()
    event = AuditEvent.objects.get(action="course_deleted")
    assert event.detail == {"sessions": 1, "enrollments": 1}
    assert event.subject.startswith("BIO101 Biology")


# Students ---------------------------------------------------------------------------------------


def test_a_student_is_archived_with_patch_and_keeps_their_records(admin, alice, student, session):
    mark(session, student, alice)

    response = admin.patch(f"/api/students/{student.pk}/", {"active": False}, format="json")

    assert response.status_code == 200
    assert response.json()["active"] is False
    assert student.records.count() == 1
    assert AuditEvent.objects.get(action="student_changed").detail == {"active": [True, False]}


def test_a_deleted_student_keeps_their_records_as_on_the_pages(admin, alice, student, session):
    mark(session, student, alice)

    response = admin.delete(f"/api/students/{student.pk}/")

    assert response.status_code == 204
    kept = Student.objects.get(pk=student.pk)
    assert kept.deleted_at is not None
    assert kept.records.count() == 1


def test_a_student_without_records_is_deleted(admin, student):
    assert admin.delete(f"/api/students/{student.pk}/").status_code == 204
    assert not Student.objects.filter(pk=student.pk).exists()


# Enrollments ------------------------------------------------------------------------------------


def test_an_enrollment_is_ended_with_a_left_on_date(admin, student, course):
    enrollment = Enrollment.objects.get(student=student, course=course)

    response = admin.patch(
        f"/api/enrollments/{enrollment.pk}/", {"left_on": "2026-10-31"}, format="json"
    )
    again = admin.patch(
        f"/api/enrollments/{enrollment.pk}/", {"left_on": "2026-10-31"}, format="json"
    )

    assert response.status_code == again.status_code == 200
    assert response.json() == again.json()
    assert response.json()["left_on"] == "2026-10-31"
    assert actions().count("enrollment_ended") == 1


def test_an_enrollment_with_records_is_ended_not_deleted(admin, alice, student, course, session):
    mark(session, student, alice)
    enrollment = Enrollment.objects.get(student=student, course=course)

    response = admin.delete(f"/api/enrollments/{enrollment.pk}/")

    assert response.status_code == 409
    assert error(response)["code"] == "has_attendance_records"
    assert "left_on" in error(response)["message"]
    assert Enrollment.objects.filter(pk=enrollment.pk).exists()


def test_an_enrollment_made_by_mistake_is_deleted(admin, student, course):
    enrollment = Enrollment.objects.get(student=student, course=course)

    assert admin.delete(f"/api/enrollments/{enrollment.pk}/").status_code == 204
    assert not Enrollment.objects.filter(pk=enrollment.pk).exists()
    assert "enrollment_deleted" in actions()


# Consent ----------------------------------------------------------------------------------------


def test_consent_is_recorded_once_with_who_when_and_how(admin, course):
    carl = Student.objects.create(student_number="S050", full_name="Carl Sagan")

    first = admin.post(f"/api/students/{carl.pk}/consent/", {"method": "paper_form"}, format="json")
    second = admin.post(
        f"/api/students/{carl.pk}/consent/", {"method": "paper_form"}, format="json"
    )

    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()
    body = first.json()
    assert body["given"] is True
    assert (body["given_by"], body["method"]) == ("admin", "paper_form")
    assert [(e["action"], e["by"], e["method"]) for e in body["history"]] == [
        ("consent_recorded", "admin", "paper_form")
    ]


def test_withdrawing_consent_erases_the_photos_as_the_page_does(admin, alice, student):
    upload = admin.post(
        "/api/photos/", {"student": student.pk, "image": jpeg()}, format="multipart"
    )
    assert upload.status_code == 202

    response = admin.delete(f"/api/students/{student.pk}/consent/?method=email")

    assert response.status_code == 200
    assert response.json()["given"] is False
    assert ReferencePhoto.objects.filter(student=student).count() == 0
    last = response.json()["history"][-1]
    assert (last["action"], last["method"], last["reference_photos"]) == (
        "biometrics_erased",
        "email",
        1,
    )
    # Again: nothing more to erase, nothing more in the trail.
    assert admin.delete(f"/api/students/{student.pk}/consent/").json() == response.json()


def test_a_teacher_reads_consent_but_cannot_change_it(alice, bob, student):
    assert api_client(alice).get(f"/api/students/{student.pk}/consent/").json()["given"] is True
    assert api_client(alice).delete(f"/api/students/{student.pk}/consent/").status_code == 403
    assert api_client(bob).get(f"/api/students/{student.pk}/consent/").status_code == 404


def test_the_no_consent_error_names_the_api_call(admin, course):
    carl = Student.objects.create(student_number="S050", full_name="Carl Sagan")

    response = admin.post("/api/photos/", {"student": carl.pk, "image": jpeg()}, format="multipart")

    assert response.status_code == 409
    assert error(response)["code"] == "no_consent"
    assert f"POST /api/students/{carl.pk}/consent/" in error(response)["message"]
    assert "page" not in error(response)["message"]


# Duplicates -------------------------------------------------------------------------------------


def test_the_same_class_photo_twice_is_one_capture(alice, session):
    client = api_client(alice)

    first = client.post(
        "/api/captures/", {"session": session.pk, "image": jpeg()}, format="multipart"
    )
    again = client.post(
        "/api/captures/", {"session": session.pk, "image": jpeg()}, format="multipart"
    )
    other = client.post(
        "/api/captures/",
        {"session": session.pk, "image": jpeg(color=(1, 2, 3))},
        format="multipart",
    )

    assert (first.status_code, again.status_code, other.status_code) == (202, 200, 202)
    assert first.json()["duplicate_of"] is None
    assert again.json()["duplicate_of"] == again.json()["id"] == first.json()["id"]
    assert Capture.objects.filter(session=session).count() == 2
    capture = Capture.objects.get(pk=first.json()["id"])
    assert len(capture.content_sha256) == 64


def test_the_same_reference_photo_twice_is_one_photo(admin, student):
    first = admin.post("/api/photos/", {"student": student.pk, "image": jpeg()}, format="multipart")
    again = admin.post("/api/photos/", {"student": student.pk, "image": jpeg()}, format="multipart")

    assert (first.status_code, again.status_code) == (202, 200)
    assert again.json()["duplicate_of"] == first.json()["id"]
    assert ReferencePhoto.objects.filter(student=student).count() == 1


def test_the_same_student_twice_is_one_student(admin):
    body = {"student_number": "S300", "full_name": "Mae Jemison", "email": "mae@example.edu"}

    first = admin.post("/api/students/", body, format="json")
    again = admin.post("/api/students/", body, format="json")
    clash = admin.post("/api/students/", {**body, "full_name": "Someone Else"}, format="json")

    assert (first.status_code, again.status_code, clash.status_code) == (201, 200, 409)
    assert first.json() == again.json()
    assert error(clash)["code"] == "student_number_taken"
    assert Student.objects.filter(student_number="S300").count() == 1


def test_the_same_enrollment_twice_is_one_enrollment(admin, course):
    carl = Student.objects.create(student_number="S050", full_name="Carl Sagan")
    body = {"student": carl.pk, "course": course.pk, "joined_on": "2026-09-01"}

    first = admin.post("/api/enrollments/", body, format="json")
    again = admin.post("/api/enrollments/", body, format="json")

    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json() == again.json()
    assert Enrollment.objects.filter(student=carl).count() == 1


def test_the_same_course_and_session_twice_are_one_each(admin, alice, course):
    body = {"code": "AST1", "title": "Astronomy", "term": "2026-fall", "teachers": ["alice"]}
    first, again = (admin.post("/api/courses/", body, format="json") for _ in range(2))
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json() == again.json()

    when = {"course": course.pk, "date": "2026-11-02", "start_time": "09:00", "end_time": "10:00"}
    made, remade = (api_client(alice).post("/api/sessions/", when, format="json") for _ in range(2))
    assert (made.status_code, remade.status_code) == (201, 200)
    assert made.json() == remade.json()
    assert Course.objects.filter(code="AST1").count() == 1


def test_the_same_webhook_subscription_twice_is_one_endpoint(admin):
    from attendance.models import WebhookEndpoint

    body = {"url": "https://lms.example.edu/hooks", "events": ["capture.done"], "secret": "s1"}
    first, again = (admin.post("/api/webhooks/", body, format="json") for _ in range(2))
    other = admin.post("/api/webhooks/", {**body, "events": ["record.changed"]}, format="json")

    assert (first.status_code, again.status_code, other.status_code) == (201, 200, 201)
    assert first.json() == again.json()
    assert WebhookEndpoint.objects.count() == 2


# Bulk -------------------------------------------------------------------------------------------

ROSTER = [
    {
        "student_number": "B1",
        "full_name": "Grace Hopper",
        "consent": True,
        "consent_method": "email",
    },
    {"student_number": "B2", "full_name": "Alan Turing", "email": "alan@example.edu"},
    {"student_number": "B3", "full_name": "Emmy Noether"},
]


def test_bulk_students_are_created_then_unchanged_then_updated(admin):
    first = admin.post("/api/students/bulk/", ROSTER, format="json")
    again = admin.post("/api/students/bulk/", ROSTER, format="json")
    renamed = [{**ROSTER[0], "full_name": "Grace B. Hopper"}, ROSTER[1]]
    update = admin.post("/api/students/bulk/", renamed, format="json")

    assert first.status_code == again.status_code == update.status_code == 200
    assert first.json()["counts"] == {"created": 3, "updated": 0, "unchanged": 0}
    assert again.json()["counts"] == {"created": 0, "updated": 0, "unchanged": 3}
    assert [r["outcome"] for r in update.json()["results"]] == ["updated", "unchanged"]
    assert [r["id"] for r in again.json()["results"]] == [r["id"] for r in first.json()["results"]]
    grace = Student.objects.get(student_number="B1")
    assert (grace.has_photo_consent, grace.consent_method) == (True, "email")
    history = admin.get(f"/api/students/{grace.pk}/consent/").json()["history"]
    assert [(e["action"], e["method"]) for e in history] == [("consent_recorded", "email")]
    assert Student.objects.filter(student_number__startswith="B").count() == 3


def test_bulk_students_are_all_or_nothing(admin):
    bad = [*ROSTER, {"student_number": "B4", "full_name": ""}]

    response = admin.post("/api/students/bulk/", bad, format="json")

    assert response.status_code == 400
    assert list(error(response)["fields"]) == ["3.full_name"]
    assert not Student.objects.filter(student_number__startswith="B").exists()


def test_bulk_has_a_limit_and_refuses_repeats(admin):
    too_many = [{"student_number": f"X{i}", "full_name": "Same"} for i in range(501)]
    repeated = [ROSTER[0], ROSTER[0]]

    over = admin.post("/api/students/bulk/", too_many, format="json")
    twice = admin.post("/api/students/bulk/", repeated, format="json")

    assert over.status_code == twice.status_code == 400
    assert "500" in str(error(over))
    assert list(error(twice)["fields"]) == ["1"]
    assert not Student.objects.filter(student_number__startswith="X").exists()


def test_bulk_enrollments_enroll_then_end(admin, course):
    ids = [
        r["id"] for r in admin.post("/api/students/bulk/", ROSTER, format="json").json()["results"]
    ]
    items = [{"student": pk, "course": course.pk, "joined_on": "2026-09-01"} for pk in ids]

    first = admin.post("/api/enrollments/bulk/", items, format="json")
    again = admin.post("/api/enrollments/bulk/", items, format="json")
    ended = admin.post(
        "/api/enrollments/bulk/", [{**items[0], "left_on": "2026-10-31"}], format="json"
    )
    ended_again = admin.post(
        "/api/enrollments/bulk/", [{**items[0], "left_on": "2026-10-31"}], format="json"
    )

    assert first.json()["counts"] == {"created": 3, "updated": 0, "unchanged": 0}
    assert again.json()["counts"] == {"created": 0, "updated": 0, "unchanged": 3}
    assert ended.json()["results"][0]["outcome"] == "updated"
    assert ended_again.json()["results"][0]["outcome"] == "unchanged"
    assert Enrollment.objects.filter(course=course, student_id__in=ids).count() == 3
    assert Enrollment.objects.get(student_id=ids[0]).left_on == date(2026, 10, 31)


def test_bulk_enrollments_name_the_item_that_fails(admin, course, bobs_course):
    ids = [
        r["id"] for r in admin.post("/api/students/bulk/", ROSTER, format="json").json()["results"]
    ]
    items = [
        {"student": ids[0], "course": course.pk, "joined_on": "2026-09-01"},
        {
            "student": ids[1],
            "course": course.pk,
            "joined_on": "2026-09-10",
            "left_on": "2026-09-01",
        },
    ]

    response = admin.post("/api/enrollments/bulk/", items, format="json")

    assert response.status_code == 400
    assert error(response)["code"] == "left_before_joined"
    assert error(response)["message"].startswith("Item 1:")
    assert not Enrollment.objects.filter(student_id__in=ids).exists()


# Reference photos -------------------------------------------------------------------------------


def test_reference_photos_filter_by_course_and_status(admin, student, course, bobs_course):
    admin.post("/api/photos/", {"student": student.pk, "image": jpeg()}, format="multipart")

    in_course = admin.get(f"/api/photos/?course={course.pk}&status=pending").json()
    elsewhere = admin.get(f"/api/photos/?course={bobs_course.pk}").json()

    assert [(p["student"], p["status"]) for p in in_course["results"]] == [(student.pk, "pending")]
    assert elsewhere["count"] == 0
