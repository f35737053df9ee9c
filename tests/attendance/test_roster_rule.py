""" "The student must be on the session's roster" is one rule in one service. The pages and the API
only translate its error: a message on the page, 400 ``not_enrolled`` with the student field in the
API. alice teaches the course; Ada is enrolled; Tom Outsider is not."""

from __future__ import annotations

from datetime import date

import pytest
from django.urls import reverse

from attendance.errors import NotOnRoster
from attendance.models import AttendanceChange, AttendanceRecord, DetectedFace
from attendance.services import captures as capture_services
from attendance.services import courses as course_services
from attendance.services import records as record_services
from attendance.services import students as student_services
from tests.api.conftest import api_client, jpeg_upload, review_face

pytestmark = pytest.mark.django_db


@pytest.fixture
def capture(alice, session):
    return capture_services.capture_create(
        session=session, image_file=jpeg_upload(), source="upload", by=alice
    )


@pytest.fixture
def outsider(admin_user, alice):
    """A student alice can see (she teaches them in another course) who is not on this roster."""
    tom = student_services.student_create(
        student_number="S404", full_name="Tom Outsider", consent_by=admin_user
    )
    other = course_services.course_create(
        code="CHE201", title="Chemistry", term="2026-fall", teachers=[alice]
    )
    course_services.enrollment_create(student=tom, course=other, joined_on=date(2026, 9, 1))
    return tom


def assert_nothing_changed(face: DetectedFace, student) -> None:
    face.refresh_from_db()
    assert (face.student, face.decision) == (student, DetectedFace.Decision.REVIEW)
    assert not AttendanceRecord.objects.exists()
    assert not AttendanceChange.objects.exists()


def test_the_service_refuses_a_face_given_to_a_student_off_the_roster(
    alice, student, outsider, capture
):
    face = review_face(capture, student)

    with pytest.raises(NotOnRoster) as error:
        capture_services.face_assign(face=face, student=outsider, by=alice)

    assert (error.value.code, error.value.field) == ("not_enrolled", "student")
    assert "Tom Outsider was not enrolled in BIO101" in error.value.message
    assert_nothing_changed(face, student)


def test_the_service_refuses_a_mark_for_a_student_off_the_roster(alice, session, outsider):
    with pytest.raises(NotOnRoster):
        record_services.attendance_mark(
            session=session, student=outsider, status="present", source="manual", by=alice
        )
    assert not AttendanceRecord.objects.exists()


def test_the_capture_page_shows_the_services_message(client, alice, student, outsider, capture):
    face = review_face(capture, student)
    client.force_login(alice)
    url = reverse("attendance:face_assign", args=[face.pk])

    page = client.post(url, {"student": outsider.pk}, follow=True).content.decode()
    answer = client.post(url, {"student": outsider.pk}, headers={"accept": "application/json"})

    assert "Tom Outsider was not enrolled in BIO101" in page
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "not_enrolled"
    assert_nothing_changed(face, student)


def test_the_session_page_shows_the_services_message_for_a_mark(client, alice, session, outsider):
    client.force_login(alice)
    page = client.post(
        reverse("attendance:session_mark", args=[session.pk]),
        {"student": outsider.pk, "status": "present", "reason": ""},
        follow=True,
    ).content.decode()

    assert "Tom Outsider was not enrolled in BIO101" in page
    assert not AttendanceRecord.objects.exists()


def test_the_api_answers_400_not_enrolled_on_the_student_field(
    alice, session, student, outsider, capture
):
    face = review_face(capture, student)
    client = api_client(alice)

    assigned = client.post(f"/api/faces/{face.pk}/assign/", {"student": outsider.pk}, format="json")
    marked = client.post(
        "/api/records/",
        {"session": session.pk, "student": outsider.pk, "status": "present", "reason": "x"},
        format="json",
    )

    for response in (assigned, marked):
        assert response.status_code == 400
        error = response.json()["error"]
        assert error["code"] == "not_enrolled"
        assert error["fields"]["student"] == [error["message"]]
    assert_nothing_changed(face, student)


def test_bob_cannot_give_a_face_of_alices_class_to_anyone(client, bob, student, capture):
    face = review_face(capture, student)
    client.force_login(bob)

    response = client.post(reverse("attendance:face_assign", args=[face.pk]), {"student": ""})

    assert response.status_code == 404
    assert_nothing_changed(face, student)
