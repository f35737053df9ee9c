"""The Django admin saves and deletes courses, students and enrollments through the services, so
their rules hold there too, and a domain error comes back as a message with nothing saved."""

from __future__ import annotations

from datetime import date

import pytest
from django.urls import reverse

from attendance.models import AuditEvent, Course, Enrollment, Student
from attendance.services import courses as course_services
from attendance.services import students as student_services

pytestmark = pytest.mark.django_db


def spy(monkeypatch, module, name: str) -> list[dict]:
    """Record the calls of a service while it still runs for real."""
    calls, real = [], getattr(module, name)

    def through(**kwargs):
        calls.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(module, name, through)
    return calls


def course_form(course: Course | None = None, *, enrollments=(), **changes) -> dict:
    data = {
        "code": "BIO101",
        "title": "Biology",
        "term": "2026-fall",
        "attendance_threshold": "80.00",
        "late_credit": "1.00",
        "excused_policy": "excluded",
        "enrollments-TOTAL_FORMS": str(len(enrollments)),
        "enrollments-INITIAL_FORMS": str(sum(1 for e in enrollments if e.get("id"))),
        "enrollments-MIN_NUM_FORMS": "0",
        "enrollments-MAX_NUM_FORMS": "1000",
    }
    for i, enrollment in enumerate(enrollments):
        for key, value in enrollment.items():
            data[f"enrollments-{i}-{key}"] = value
        if course is not None:
            data[f"enrollments-{i}-course"] = course.pk
    return {**data, **changes}


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


def test_adding_and_editing_a_course_in_the_admin_goes_through_the_course_services(
    admin_client, alice, monkeypatch
):
    created = spy(monkeypatch, course_services, "course_create")
    updated = spy(monkeypatch, course_services, "course_update")

    add = admin_client.post(
        reverse("admin:attendance_course_add"), course_form(teachers=[alice.pk])
    )
    assert add.status_code == 302
    course = Course.objects.get()
    change_url = reverse("admin:attendance_course_change", args=[course.pk])
    assert admin_client.post(change_url, course_form(course, title="  Cells ")).status_code == 302

    assert [c["code"] for c in created] == ["BIO101"]
    assert [c["course"].pk for c in updated] == [course.pk]
    course.refresh_from_db()
    assert (course.title, list(course.teachers.all())) == ("Cells", [])
    assert AuditEvent.objects.filter(action="admin_changed").count() == 1


def test_an_enrollment_added_on_the_admins_course_page_goes_through_enrollment_create(
    admin_client, course, student, monkeypatch
):
    Enrollment.objects.all().delete()
    enrolled = spy(monkeypatch, course_services, "enrollment_create")
    url = reverse("admin:attendance_course_change", args=[course.pk])
    form = course_form(course, enrollments=[{"student": student.pk, "joined_on": "2026-09-01"}])

    assert admin_client.post(url, form).status_code == 302

    assert [(c["student"], c["course"]) for c in enrolled] == [(student, course)]
    assert Enrollment.objects.get().joined_on == date(2026, 9, 1)


def test_an_admin_edit_that_makes_two_enrollment_periods_overlap_is_refused(
    admin_client, course, student
):
    first = Enrollment.objects.get()
    course_services.enrollment_end(enrollment=first, left_on=date(2026, 9, 30))
    course_services.enrollment_create(student=student, course=course, joined_on=date(2026, 10, 10))
    url = reverse("admin:attendance_enrollment_change", args=[first.pk])
    form = {"student": student.pk, "course": course.pk, "joined_on": "2026-09-01",
            "left_on": "2026-10-20"}  # fmt: skip

    response = admin_client.post(url, form, follow=True)

    assert "Nothing was saved" in response.content.decode()
    first.refresh_from_db()
    assert first.left_on == date(2026, 9, 30)
    assert not AuditEvent.objects.filter(action="admin_changed").exists()


def test_the_admin_cannot_enroll_a_deleted_student(admin_client, admin_user, student, session):
    from attendance.services import records as record_services

    record_services.attendance_mark(
        session=session, student=student, status="present", source="manual"
    )
    student_services.student_delete(student=student, by=admin_user)
    other = course_services.course_create(code="ART1", title="Art", term="2026-fall")
    form = {"student": student.pk, "course": other.pk, "joined_on": "2026-11-01"}

    response = admin_client.post(reverse("admin:attendance_enrollment_add"), form, follow=True)

    assert "was deleted" in response.content.decode()
    assert not Enrollment.objects.filter(course=other).exists()


def test_editing_a_student_in_the_admin_goes_through_student_update(
    admin_client, student, monkeypatch
):
    updates = spy(monkeypatch, student_services, "student_update")
    url = reverse("admin:attendance_student_change", args=[student.pk])
    form = {"student_number": "S001", "full_name": "Ada King", "email": "ada@example.edu",
            "active": "on", "photos-TOTAL_FORMS": "0", "photos-INITIAL_FORMS": "0"}  # fmt: skip

    assert admin_client.post(url, form).status_code == 302

    assert [u["full_name"] for u in updates] == ["Ada King"]
    assert Student.objects.get().full_name == "Ada King"
