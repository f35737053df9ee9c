"""Finalizing never hides a pending decision, is a few set-based queries whatever the roster's
size, and is on the audit trail, like reopening."""

from __future__ import annotations

from datetime import date

import pytest
from django.urls import reverse

from attendance.errors import Conflict
from attendance.models import AttendanceChange, AttendanceRecord, AuditEvent, Capture, Student
from attendance.selectors.sessions import session_pending_review
from attendance.services import courses as course_services
from attendance.services import records as record_services
from tests.api.conftest import api_client, review_face

pytestmark = pytest.mark.django_db


def capture_in(session, state: str) -> Capture:
    return Capture.objects.create(session=session, image="captures/x.jpg", state=state)


@pytest.fixture
def waiting(session, student):
    """One face of a done capture awaits review; a second capture is still processing."""
    done = capture_in(session, Capture.State.DONE)
    review_face(done, student)
    busy = capture_in(session, Capture.State.PROCESSING)
    return done, busy


def test_the_pending_selector_counts_faces_to_review_and_unfinished_captures(session, waiting):
    done, busy = waiting
    pending = session_pending_review(session=session)
    assert (pending.face_count, pending.capture_ids) == (1, [busy.pk])
    assert pending.faces_by_capture == {done.pk: [1]}


def test_finalize_is_refused_while_a_face_awaits_review(session, student, alice, waiting):
    done, busy = waiting
    with pytest.raises(Conflict) as error:
        record_services.session_finalize(session=session, by=alice)
    assert error.value.code == "pending_review"
    assert "1 face needs your review" in error.value.message
    assert f"capture #{done.pk}" in error.value.message
    assert f"capture #{busy.pk} is still being processed" in error.value.message
    session.refresh_from_db()
    assert session.is_open and not AttendanceRecord.objects.exists()


def test_finalize_anyway_goes_through_and_says_so_in_the_audit(session, student, alice, waiting):
    assert record_services.session_finalize(session=session, by=alice, force=True) == 1
    event = AuditEvent.objects.get(action=AuditEvent.Action.SESSION_FINALIZED)
    assert (event.session, event.by) == (session, alice)
    assert event.detail["forced"] is True and event.detail["faces_to_review"] == 1


def test_reopening_is_on_the_audit_trail(session, student, alice, bob):
    record_services.session_finalize(session=session, by=alice)
    record_services.session_reopen(session=session, by=bob)
    events = AuditEvent.objects.filter(session=session).order_by("pk")
    actions = list(events.values_list("action", "by__username"))
    assert actions == [("session_finalized", "alice"), ("session_reopened", "bob")]


def test_the_session_page_says_how_many_faces_need_review(client, session, alice, waiting):
    client.force_login(alice)
    page = client.get(reverse("attendance:session_detail", args=[session.pk])).content.decode()
    assert "1 face needs your review" in page


def test_the_finalize_button_is_refused_then_forced(client, session, student, alice, waiting):
    client.force_login(alice)
    url = reverse("attendance:session_finalize", args=[session.pk])
    response = client.post(url, follow=True)
    assert "1 face needs your review" in response.content.decode()
    session.refresh_from_db()
    assert session.is_open
    client.post(url, {"force": "1"})
    session.refresh_from_db()
    assert not session.is_open


def test_the_api_finalize_is_a_409_naming_the_pending_work_unless_forced(
    session, student, alice, waiting
):
    done, busy = waiting
    client = api_client(alice)
    response = client.post(f"/api/sessions/{session.pk}/finalize/")
    assert response.status_code == 409
    body = response.json()["error"]
    assert body["code"] == "pending_review"
    assert f"capture #{busy.pk}" in body["message"]
    pending = client.get(f"/api/sessions/{session.pk}/pending/").json()
    assert (pending["faces_to_review"], pending["capture_ids"]) == (1, [busy.pk])
    forced = client.post(f"/api/sessions/{session.pk}/finalize/", {"force": True}, format="json")
    assert forced.status_code == 200 and forced.json()["state"] == "finalized"


def enroll_many(course, count: int) -> None:
    # The bulk path a roster import takes: a few statements instead of a few per student.
    students = Student.objects.bulk_create(
        Student(student_number=f"N{n:05}", full_name=f"Student {n}") for n in range(count)
    )
    course_services.enrollments_create_bulk(
        pairs=[(student, course) for student in students], joined_on=date(2026, 9, 1)
    )


@pytest.mark.parametrize("roster_size", [20, 400])
def test_finalize_takes_the_same_few_queries_for_any_roster(
    session, course, alice, roster_size, django_assert_max_num_queries
):
    enroll_many(course, roster_size)
    # A fixed handful whatever the roster: the lock, the roster, two bulk inserts, the audit rows
    # and the webhook endpoints that want "session.finalized".
    with django_assert_max_num_queries(13):
        absent = record_services.session_finalize(session=session, by=alice)
    assert absent == roster_size
    assert (
        AttendanceRecord.objects.filter(status="absent", source="finalize").count() == roster_size
    )
    assert AttendanceChange.objects.filter(new_status="absent").count() == roster_size
