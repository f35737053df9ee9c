"""Undo: a teacher takes back a face decision (confirm, assign, unassign) or a first mark.

The face goes back to exactly what it was (face recognition's suggestion, or the person's earlier
decision), every mark that decision changed goes back too, and the audit trail keeps both the
change and its undo. Pages answer the toast's fetch in place and plain form posts alike; the API
has the same two actions.
"""

from __future__ import annotations

from datetime import date

import pytest
from django.urls import reverse

from attendance.errors import Conflict, InvalidInput
from attendance.models import AttendanceChange, AttendanceRecord, AuditEvent, DetectedFace
from attendance.services import captures as capture_services
from attendance.services import courses as course_services
from attendance.services import records as record_services
from attendance.services import students as student_services
from attendance.services.captures import capture_create
from tests.api.conftest import api_client, jpeg_upload, review_face

pytestmark = pytest.mark.django_db
Status, Source, Decision = AttendanceRecord.Status, AttendanceRecord.Source, DetectedFace.Decision
JSON = {"accept": "application/json"}


@pytest.fixture
def capture(alice, session):
    return capture_create(session=session, image_file=jpeg_upload(), source="upload", by=alice)


@pytest.fixture
def grace(admin_user, course):
    student = student_services.student_create(
        student_number="S002", full_name="Grace Hopper", consent_by=admin_user
    )
    course_services.enrollment_create(student=student, course=course, joined_on=date(2026, 9, 1))
    return student


def face_state(face: DetectedFace) -> tuple:
    face.refresh_from_db()
    return (face.student_id, face.distance, face.decision, face.decided_by_id)


def record_of(session, student) -> tuple | None:
    record = AttendanceRecord.objects.filter(session=session, student=student).first()
    return None if record is None else (record.status, record.source, record.face_id)


# --- the service ---------------------------------------------------------------------------------


def test_undoing_a_confirm_puts_the_suggestion_back_and_clears_the_mark_it_gave(
    alice, session, student, capture
):
    face = review_face(capture, student)
    capture_services.face_confirm(face=face, by=alice)

    capture_services.face_review_undo(face=face, by=alice)

    assert face_state(face) == (student.pk, 1.1, Decision.REVIEW, None)
    assert record_of(session, student) is None
    change = AttendanceChange.objects.filter(student=student).latest("pk")
    assert (change.old_status, change.new_status, change.changed_by) == ("present", "", alice)
    assert change.reason.startswith("Undo:")
    undone = AuditEvent.objects.get(action=AuditEvent.Action.FACE_REVIEW_UNDONE)
    assert (undone.by, undone.session, undone.detail["face"]) == (alice, session, face.pk)


def test_undoing_an_assign_gives_the_face_and_the_mark_back(
    alice, session, student, grace, capture
):
    face = review_face(capture, student)
    capture_services.face_confirm(face=face, by=alice)
    capture_services.face_assign(face=face, student=grace, by=alice)
    assert record_of(session, student) is None

    capture_services.face_review_undo(face=face, by=alice)

    assert face_state(face) == (student.pk, 1.1, Decision.CONFIRMED, alice.pk)
    assert record_of(session, student) == (Status.PRESENT, Source.MANUAL, face.pk)
    assert record_of(session, grace) is None


def test_undoing_an_unassign_gives_the_student_back_with_their_remark(
    alice, session, student, capture
):
    face = review_face(capture, student)
    capture_services.face_confirm(face=face, by=alice)
    record_services.attendance_remark(
        session=session, student=student, remark="front row", by=alice
    )
    capture_services.face_assign(face=face, student=None, by=alice)

    capture_services.face_review_undo(face=face, by=alice)

    assert face_state(face)[:3] == (student.pk, 1.1, Decision.CONFIRMED)
    record = AttendanceRecord.objects.get(session=session, student=student)
    assert (record.status, record.remark, record.marked_by) == (Status.PRESENT, "front row", alice)


def test_a_mark_set_by_hand_before_the_confirm_survives_its_undo(alice, session, student, capture):
    record_services.attendance_mark(
        session=session, student=student, status=Status.LATE, source=Source.MANUAL, by=alice
    )
    face = review_face(capture, student)
    capture_services.face_confirm(face=face, by=alice)

    capture_services.face_review_undo(face=face, by=alice)

    assert face_state(face)[2] == Decision.REVIEW
    assert record_of(session, student) == (Status.LATE, Source.MANUAL, None)


def test_undo_twice_is_refused_the_second_time(alice, student, capture):
    face = review_face(capture, student)
    capture_services.face_confirm(face=face, by=alice)
    capture_services.face_review_undo(face=face, by=alice)

    with pytest.raises(InvalidInput) as error:
        capture_services.face_review_undo(face=face, by=alice)

    assert error.value.code == "nothing_to_undo"
    assert AuditEvent.objects.filter(action=AuditEvent.Action.FACE_REVIEW_UNDONE).count() == 1


def test_a_face_changed_by_a_later_decision_is_not_undone(alice, student, capture):
    first = review_face(capture, student, index=0)
    second = review_face(capture, None, index=1)
    capture_services.face_confirm(face=first, by=alice)
    # Ada moves to the second face: the first one is freed by that later decision.
    capture_services.face_assign(face=second, student=student, by=alice)

    with pytest.raises(Conflict) as error:
        capture_services.face_review_undo(face=first, by=alice)

    assert error.value.code == "changed_since"
    assert face_state(first)[:3] == (None, None, Decision.CORRECTED)
    assert face_state(second)[0] == student.pk


def test_faces_of_a_finalized_session_cannot_be_undone(alice, session, student, capture):
    face = review_face(capture, student)
    capture_services.face_confirm(face=face, by=alice)
    record_services.session_finalize(session=session, by=alice, force=True)

    with pytest.raises(Conflict) as error:
        capture_services.face_review_undo(face=face, by=alice)

    assert error.value.code == "session_finalized"
    assert face_state(face)[2] == Decision.CONFIRMED


# --- the pages: the toast's fetch and a plain form -----------------------------------------------


def test_a_confirm_answers_how_to_undo_it_and_the_undo_needs_no_reload(
    client, alice, session, student, capture
):
    face = review_face(capture, student)
    client.force_login(alice)

    body = client.post(reverse("attendance:face_confirm", args=[face.pk]), headers=JSON).json()

    assert body["undo"] == {"url": reverse("attendance:face_undo", args=[face.pk]), "fields": {}}
    undone = client.post(body["undo"]["url"], headers=JSON)
    assert undone.status_code == 200
    assert undone.json()["message"] == "Face 1 is back to Ada Lovelace (needs review)."
    assert face_state(face)[2] == Decision.REVIEW


def test_without_javascript_the_next_page_offers_undo_as_a_form(
    client, alice, session, student, capture
):
    face = review_face(capture, student)
    client.force_login(alice)

    page = client.post(reverse("attendance:face_confirm", args=[face.pk]), follow=True)

    undo_url = reverse("attendance:face_undo", args=[face.pk])
    assert f'<form method="post" action="{undo_url}"' in page.content.decode()
    client.post(undo_url)
    assert face_state(face)[2] == Decision.REVIEW
    # The offer is shown once: the page after the undo has no undo of the undo.
    assert (
        undo_url
        not in client.get(reverse("attendance:capture_detail", args=[capture.pk])).content.decode()
    )


def test_a_first_mark_is_undone_back_to_not_marked(client, alice, session, student):
    client.force_login(alice)
    mark = reverse("attendance:session_mark", args=[session.pk])

    body = client.post(mark, {"student": student.pk, "status": "late"}, headers=JSON).json()

    clear = reverse("attendance:session_clear", args=[session.pk])
    assert body["undo"] == {"url": clear, "fields": {"student": str(student.pk)}}
    assert client.post(clear, body["undo"]["fields"], headers=JSON).status_code == 200
    assert record_of(session, student) is None
    change = AttendanceChange.objects.filter(student=student).latest("pk")
    assert (change.old_status, change.new_status, change.changed_by) == ("late", "", alice)


def test_without_javascript_a_first_mark_offers_the_clear_form(client, alice, session, student):
    client.force_login(alice)
    mark = reverse("attendance:session_mark", args=[session.pk])

    page = client.post(mark, {"student": student.pk, "status": "late"}, follow=True)

    html = page.content.decode()
    clear = reverse("attendance:session_clear", args=[session.pk])
    assert f'<form method="post" action="{clear}"' in html
    assert f'<input type="hidden" name="student" value="{student.pk}">' in html
    assert client.post(clear, {"student": student.pk}).status_code == 302
    assert record_of(session, student) is None


def test_a_changed_mark_is_undone_back_to_the_status_before(client, alice, session, student):
    client.force_login(alice)
    mark = reverse("attendance:session_mark", args=[session.pk])
    client.post(mark, {"student": student.pk, "status": "present"}, headers=JSON)

    body = client.post(mark, {"student": student.pk, "status": "late"}, headers=JSON).json()

    assert body["undo"] == {
        "url": mark,
        "fields": {"student": str(student.pk), "status": "present"},
    }


def test_charlie_cannot_undo_alices_faces_or_clear_her_marks(
    client, alice, bob, session, student, capture
):
    face = review_face(capture, student)
    capture_services.face_confirm(face=face, by=alice)
    client.force_login(bob)

    assert client.post(reverse("attendance:face_undo", args=[face.pk])).status_code == 404
    clear = reverse("attendance:session_clear", args=[session.pk])
    assert client.post(clear, {"student": student.pk}).status_code == 404
    assert face_state(face)[2] == Decision.CONFIRMED
    assert record_of(session, student) is not None


# --- the API -------------------------------------------------------------------------------------


def test_the_api_undoes_a_face_decision(alice, session, student, capture):
    face = review_face(capture, student)
    api_client(alice).post(f"/api/faces/{face.pk}/confirm/")

    response = api_client(alice).post(f"/api/faces/{face.pk}/undo/")

    assert response.status_code == 200
    assert (response.json()["decision"], response.json()["student"]) == ("review", student.pk)
    assert record_of(session, student) is None
    again = api_client(alice).post(f"/api/faces/{face.pk}/undo/")
    assert (again.status_code, again.json()["error"]["code"]) == (400, "nothing_to_undo")


def test_the_api_clears_a_mark_with_a_reason(alice, bob, bobs_course, session, student):
    record = record_services.attendance_mark(
        session=session, student=student, status=Status.LATE, source=Source.API, by=alice
    ).record

    assert api_client(bob).post(f"/api/records/{record.pk}/clear/").status_code == 404
    response = api_client(alice).post(
        f"/api/records/{record.pk}/clear/", {"reason": "wrong student"}, format="json"
    )

    assert response.status_code == 204
    assert record_of(session, student) is None
    change = AttendanceChange.objects.filter(student=student).latest("pk")
    assert (change.new_status, change.reason, change.changed_by) == ("", "wrong student", alice)


# --- "mark all unmarked" and its Undo ------------------------------------------------------------


def test_undoing_mark_all_unmarked_clears_exactly_the_marks_it_set(alice, session, student, grace):
    record_services.attendance_mark(
        session=session, student=student, status=Status.LATE, source=Source.MANUAL, by=alice
    )
    marked = record_services.attendance_mark_unmarked(
        session=session, status=Status.PRESENT, by=alice
    )
    assert marked == [grace]

    undone = record_services.attendance_mark_unmarked_undo(
        session=session, student_ids=[s.pk for s in marked], status=Status.PRESENT, by=alice
    )

    assert undone == [grace]
    assert record_of(session, grace) is None
    assert record_of(session, student) == (Status.LATE, Source.MANUAL, None)  # set before: kept
    change = AttendanceChange.objects.filter(student=grace).latest("pk")
    assert (change.old_status, change.new_status, change.changed_by) == ("present", "", alice)
    assert change.reason.startswith("Undo:")


def test_a_mark_changed_after_mark_all_unmarked_survives_its_undo(alice, session, student, grace):
    marked = record_services.attendance_mark_unmarked(
        session=session, status=Status.ABSENT, by=alice
    )
    record_services.attendance_mark(
        session=session, student=grace, status=Status.EXCUSED, source=Source.MANUAL, by=alice
    )

    undone = record_services.attendance_mark_unmarked_undo(
        session=session, student_ids=[s.pk for s in marked], status=Status.ABSENT, by=alice
    )

    assert undone == [student]
    assert record_of(session, grace) == (Status.EXCUSED, Source.MANUAL, None)
    assert record_of(session, student) is None


def test_mark_all_unmarked_answers_its_undo_and_the_undo_needs_no_reload(
    client, alice, session, student, grace
):
    client.force_login(alice)
    url = reverse("attendance:session_mark_unmarked", args=[session.pk])

    body = client.post(url, {"status": "absent"}, headers=JSON).json()

    undo = reverse("attendance:session_mark_unmarked_undo", args=[session.pk])
    ids = ",".join(str(pk) for pk in sorted([student.pk, grace.pk]))
    assert body["undo"] == {"url": undo, "fields": {"students": ids, "status": "absent"}}
    answer = client.post(undo, body["undo"]["fields"], headers=JSON)
    assert answer.status_code == 200
    assert "2 mark(s) taken back" in answer.json()["message"]
    assert not AttendanceRecord.objects.filter(session=session).exists()


def test_without_javascript_mark_all_unmarked_offers_the_undo_form(
    client, alice, session, student, grace
):
    client.force_login(alice)
    url = reverse("attendance:session_mark_unmarked", args=[session.pk])

    page = client.post(url, {"status": "present"}, follow=True)

    html = page.content.decode()
    undo = reverse("attendance:session_mark_unmarked_undo", args=[session.pk])
    assert f'<form method="post" action="{undo}"' in html
    ids = ",".join(str(pk) for pk in sorted([student.pk, grace.pk]))
    assert f'<input type="hidden" name="students" value="{ids}">' in html
    assert client.post(undo, {"students": ids, "status": "present"}).status_code == 302
    assert not AttendanceRecord.objects.filter(session=session).exists()


def test_charlie_cannot_undo_mark_all_unmarked_on_alices_session(
    client, alice, bob, session, student
):
    record_services.attendance_mark_unmarked(session=session, status=Status.PRESENT, by=alice)
    client.force_login(bob)

    undo = reverse("attendance:session_mark_unmarked_undo", args=[session.pk])
    answer = client.post(undo, {"students": str(student.pk), "status": "present"})

    assert answer.status_code == 404
    assert record_of(session, student) == (Status.PRESENT, Source.MANUAL, None)
