"""An admin sets up a course in the app; the teacher then logs in and sees only that course."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from attendance.models import (
    AttendanceChange,
    AttendanceRecord,
    ClassSession,
    Course,
    Enrollment,
    Student,
)

pytestmark = pytest.mark.django_db


def test_an_admin_sets_up_a_course_and_its_teacher_sees_only_it(client, admin_user, alice, bob):
    client.force_login(admin_user)
    response = client.post(
        reverse("attendance:course_create"),
        {
            "code": "MAT150",
            "title": "Calculus",
            "term": "2026-fall",
            "teachers": [alice.pk],
            "attendance_threshold": "75",
            "late_credit": "0.5",
            "excused_policy": "excluded",
        },
    )
    course = Course.objects.get(code="MAT150")
    assert response.status_code == 302
    assert list(course.teachers.all()) == [alice]

    client.post(
        reverse("attendance:student_create"),
        {
            "student_number": "S100",
            "full_name": "Emmy Noether",
            "email": "e@x.edu",
            "consent": "on",
        },
    )
    emmy = Student.objects.get(student_number="S100")
    assert emmy.consent_given_by == admin_user

    client.post(
        reverse("attendance:enrollment_create", args=[course.pk]),
        {"students": [emmy.pk], "joined_on": "2026-09-01"},
    )
    assert Enrollment.objects.filter(course=course, student=emmy).exists()

    client.post(
        reverse("attendance:sessions_generate", args=[course.pk]),
        {
            "first_day": "2026-09-07",
            "last_day": "2026-09-27",
            "weekdays": ["1", "3"],
            "start_time": "10:00",
            "end_time": "11:30",
            "room": "C3",
        },
    )
    assert ClassSession.objects.filter(course=course).count() == 6

    client.force_login(alice)
    home = client.get(reverse("attendance:home")).content.decode()
    assert "MAT150" in home
    client.force_login(bob)
    assert "MAT150" not in client.get(reverse("attendance:home")).content.decode()
    assert client.get(reverse("attendance:course_detail", args=[course.pk])).status_code == 404


def test_a_teacher_marks_a_student_by_hand_and_the_page_shows_the_audit_trail(
    client, alice, session, student
):
    client.force_login(alice)
    client.post(
        reverse("attendance:session_mark", args=[session.pk]),
        {"student": student.pk, "status": "late", "reason": "bus strike"},
    )
    page = client.get(reverse("attendance:session_detail", args=[session.pk])).content.decode()
    assert "bus strike" in page
    assert session.records.get().status == "late"


def test_an_invalid_session_form_shows_a_message_and_creates_nothing(client, alice, course):
    client.force_login(alice)
    response = client.post(
        reverse("attendance:session_create", args=[course.pk]),
        {"date": "2026-10-01", "start_time": "11:00", "end_time": "10:00"},
        follow=True,
    )
    assert "A session must end after it starts." in response.content.decode()
    assert course.sessions.count() == 0


def test_finalizing_from_the_page_marks_the_unmarked_absent(client, alice, session, student):
    client.force_login(alice)
    client.post(reverse("attendance:session_finalize", args=[session.pk]))
    session.refresh_from_db()
    assert session.state == "finalized"
    assert session.records.get(student=student).status == "absent"


def test_the_demo_has_a_marked_history_and_a_rerun_adds_nothing(settings, tmp_path):
    settings.ROLLCALL_DATASETS_DIR = tmp_path  # no LFW here: only the marks are under test
    call_command("seed_demo", stdout=io.StringIO())
    course = Course.objects.get(code="DEMO101")
    past = course.sessions.filter(date__lt=timezone.localdate())
    assert past.count() == 3
    assert all(session.state == "finalized" for session in past)
    assert AttendanceRecord.objects.filter(session__in=past).count() == 3 * 8
    changes = AttendanceChange.objects.count()

    call_command("seed_demo", stdout=io.StringIO())
    assert AttendanceChange.objects.count() == changes
