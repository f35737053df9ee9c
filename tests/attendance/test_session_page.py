"""The session page's forms: each one posts and redirects without JavaScript, and
answers JSON to the page's script so the roster changes in place. "Mark all unmarked" leaves
marked students alone; the header and the finalize confirmation name what is left to do."""

from __future__ import annotations

from datetime import date

import pytest
from django.urls import reverse

from attendance.models import AttendanceChange, AttendanceRecord
from attendance.services import courses as course_services
from attendance.services import records as record_services
from attendance.services import students as student_services

pytestmark = pytest.mark.django_db
JSON = {"HTTP_ACCEPT": "application/json"}


@pytest.fixture
def grace(admin_user, course):
    hopper = student_services.student_create(
        student_number="S002", full_name="Grace Hopper", consent_by=admin_user
    )
    course_services.enrollment_create(student=hopper, course=course, joined_on=date(2026, 9, 1))
    return hopper


def mark_url(session) -> str:
    return reverse("attendance:session_mark", args=[session.pk])


def test_a_mark_from_the_page_script_answers_json_and_changes_the_record(
    client, alice, session, student
):
    client.force_login(alice)
    response = client.post(mark_url(session), {"student": student.pk, "status": "late"}, **JSON)
    assert response.status_code == 200
    assert response.json()["message"] == "Ada Lovelace: late."
    record = AttendanceRecord.objects.get(session=session, student=student)
    assert (record.status, record.source, record.marked_by) == ("late", "manual", alice)


def test_without_javascript_the_same_form_redirects_back_to_the_page_it_came_from(
    client, alice, session, student
):
    client.force_login(alice)
    back = reverse("attendance:session_detail", args=[session.pk]) + "?from=review"
    response = client.post(
        mark_url(session), {"student": student.pk, "status": "late", "next": back}
    )
    assert (response.status_code, response["Location"]) == (302, back)
    elsewhere = client.post(
        mark_url(session), {"student": student.pk, "status": "late", "next": "https://evil.test/"}
    )
    assert elsewhere["Location"] == reverse("attendance:session_detail", args=[session.pk])


def test_a_refused_mark_answers_the_services_error_as_json(client, alice, session, student):
    record_services.session_finalize(session=session, by=alice)
    client.force_login(alice)
    response = client.post(mark_url(session), {"student": student.pk, "status": "late"}, **JSON)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "session_finalized"
    bad = client.post(mark_url(session), {"student": student.pk, "status": "asleep"}, **JSON)
    assert (bad.status_code, bad.json()["error"]["code"]) == (400, "invalid_input")


def test_charlie_cannot_mark_on_alices_session(client, bob, session, student):
    client.force_login(bob)
    response = client.post(mark_url(session), {"student": student.pk, "status": "late"}, **JSON)
    assert response.status_code == 404
    assert not AttendanceRecord.objects.exists()


def test_a_remark_from_the_page_script_answers_json(client, alice, session, student):
    record_services.attendance_mark(
        session=session, student=student, status="late", source="manual", by=alice
    )
    client.force_login(alice)
    response = client.post(
        reverse("attendance:session_remark", args=[session.pk]),
        {"student": student.pk, "remark": "bus was late"},
        **JSON,
    )
    assert (response.status_code, response.json()) == (
        200,
        {"message": "Remark saved for Ada Lovelace."},
    )
    assert AttendanceRecord.objects.get(student=student).remark == "bus was late"


def test_mark_all_unmarked_present_leaves_marked_students_alone_and_twice_marks_nobody(
    client, alice, session, student, grace
):
    record_services.attendance_mark(
        session=session, student=student, status="excused", source="manual", by=alice
    )
    client.force_login(alice)
    url = reverse("attendance:session_mark_unmarked", args=[session.pk])
    first = client.post(url, {"status": "present"}, **JSON)
    undo = reverse("attendance:session_mark_unmarked_undo", args=[session.pk])
    assert first.json() == {
        "message": "1 student(s) not marked yet are now present.",
        "undo": {"url": undo, "fields": {"students": str(grace.pk), "status": "present"}},
    }
    statuses = dict(AttendanceRecord.objects.values_list("student__full_name", "status"))
    assert statuses == {"Ada Lovelace": "excused", "Grace Hopper": "present"}
    changes = AttendanceChange.objects.count()
    second = client.post(url, {"status": "present"}, **JSON)
    assert second.json() == {"message": "0 student(s) not marked yet are now present."}
    assert AttendanceChange.objects.count() == changes


def test_mark_all_unmarked_takes_only_present_or_absent(client, alice, session, student):
    client.force_login(alice)
    url = reverse("attendance:session_mark_unmarked", args=[session.pk])
    response = client.post(url, {"status": "excused"}, **JSON)
    assert response.status_code == 400
    assert not AttendanceRecord.objects.exists()


def test_charlie_cannot_mark_all_on_alices_session(client, bob, session, student):
    client.force_login(bob)
    url = reverse("attendance:session_mark_unmarked", args=[session.pk])
    assert client.post(url, {"status": "present"}).status_code == 404
    assert not AttendanceRecord.objects.exists()


def test_the_header_counts_unmarked_students_and_finalize_names_them(
    client, alice, session, student, grace
):
    record_services.attendance_mark(
        session=session, student=student, status="present", source="manual", by=alice
    )
    client.force_login(alice)
    page = client.get(reverse("attendance:session_detail", args=[session.pk])).content.decode()
    assert "1 student not marked" in page
    panel = page[page.index('<section id="finalize"') :]
    assert "1 student not marked becomes absent:" in panel and "Grace Hopper" in panel
    assert "Yes, finalize and mark 1 absent" in panel


def test_every_roster_button_names_its_student_and_says_whether_it_is_pressed(
    client, alice, session, student
):
    record_services.attendance_mark(
        session=session, student=student, status="late", source="manual", by=alice
    )
    client.force_login(alice)
    page = client.get(reverse("attendance:session_detail", args=[session.pk])).content.decode()
    assert (
        '<button name="status" value="late" aria-pressed="true">Late'
        '<span class="sr-only">: Ada Lovelace</span></button>'
    ) in page
    assert page.count('aria-pressed="false"') == 3


def test_pages_carry_no_inline_script_style_or_handlers(client, alice, session, student):
    client.force_login(alice)
    page = client.get(reverse("attendance:session_detail", args=[session.pk])).content.decode()
    assert "<script>" not in page and "<style" not in page and "style=" not in page
    assert " onsubmit=" not in page and " onclick=" not in page
