"""Reviewing faces through the API: the same rules and audit trail as the capture page."""

from __future__ import annotations

from datetime import date

import pytest

from attendance.models import AttendanceChange, AttendanceRecord, DetectedFace
from attendance.services import courses as course_services
from attendance.services import records as record_services
from attendance.services import students as student_services
from attendance.services.captures import capture_create
from tests.api.conftest import api_client, jpeg_upload, review_face

pytestmark = pytest.mark.django_db


@pytest.fixture
def capture(alice, session):
    return capture_create(session=session, image_file=jpeg_upload(), source="upload", by=alice)


@pytest.fixture
def grace(admin_user, course):
    """A second student on the roster."""
    student = student_services.student_create(
        student_number="S002", full_name="Grace Hopper", consent_by=admin_user
    )
    course_services.enrollment_create(student=student, course=course, joined_on=date(2026, 9, 1))
    return student


def test_confirming_a_suggested_face_marks_the_student_present_by_hand(
    alice, session, student, capture
):
    face = review_face(capture, student)

    response = api_client(alice).post(f"/api/faces/{face.pk}/confirm/")

    assert response.status_code == 200
    assert response.json()["decision"] == "confirmed"
    record = AttendanceRecord.objects.get(session=session, student=student)
    assert (record.status, record.source, record.face_id) == ("present", "manual", face.pk)
    change = AttendanceChange.objects.get(session=session, student=student)
    assert change.changed_by == alice
    assert "confirmed by hand" in change.reason


def test_assigning_a_face_to_another_student_moves_the_mark(
    alice, session, student, grace, capture
):
    face = review_face(capture, student)
    api_client(alice).post(f"/api/faces/{face.pk}/confirm/")

    response = api_client(alice).post(
        f"/api/faces/{face.pk}/assign/", {"student": grace.pk}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["student"] == grace.pk
    assert AttendanceRecord.objects.get(session=session, student=grace).status == "present"
    assert not AttendanceRecord.objects.filter(session=session, student=student).exists()


def test_a_face_assigned_to_nobody_takes_back_the_mark_it_gave(alice, session, student, capture):
    face = review_face(capture, student)
    api_client(alice).post(f"/api/faces/{face.pk}/confirm/")

    response = api_client(alice).post(
        f"/api/faces/{face.pk}/assign/", {"student": None}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["student"] is None
    assert not AttendanceRecord.objects.filter(session=session, student=student).exists()


def test_a_student_off_the_roster_is_a_field_error_and_nothing_changes(
    alice, admin_user, student, capture
):
    outsider = student_services.student_create(
        student_number="S999", full_name="Not Enrolled", consent_by=admin_user
    )
    face = review_face(capture, student)

    response = api_client(admin_user).post(
        f"/api/faces/{face.pk}/assign/", {"student": outsider.pk}, format="json"
    )

    assert response.status_code == 400
    assert "student" in response.json()["error"]["fields"]
    face.refresh_from_db()
    assert (face.student, face.decision) == (student, DetectedFace.Decision.REVIEW)


def test_a_face_with_no_suggestion_cannot_be_confirmed(alice, capture):
    face = review_face(capture, None)

    response = api_client(alice).post(f"/api/faces/{face.pk}/confirm/")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "nothing_to_confirm"


def test_faces_of_a_finalized_session_are_a_409_and_keep_their_marks(
    alice, session, student, capture
):
    face = review_face(capture, student)
    record_services.session_finalize(session=session, by=alice, force=True)

    response = api_client(alice).post(
        f"/api/faces/{face.pk}/assign/", {"student": None}, format="json"
    )

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "session_finalized"
    face.refresh_from_db()
    assert face.student == student


def test_faces_filter_by_capture_and_decision(alice, student, grace, capture):
    review_face(capture, student, index=0)
    confirmed = review_face(capture, grace, index=1)
    api_client(alice).post(f"/api/faces/{confirmed.pk}/confirm/")

    response = api_client(alice).get(
        "/api/faces/", {"capture": capture.pk, "decision": "confirmed"}
    )

    assert [face["id"] for face in response.json()["results"]] == [confirmed.pk]
