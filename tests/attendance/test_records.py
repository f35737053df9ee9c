"""Marking attendance: one record per student and session, an audit row per change, finalize."""

from __future__ import annotations

from datetime import date, time

import pytest

from attendance.errors import Conflict, InvalidInput
from attendance.models import AttendanceChange, AttendanceRecord
from attendance.services import courses as course_services
from attendance.services import records as record_services
from attendance.services import students as student_services

pytestmark = pytest.mark.django_db
Status, Source = AttendanceRecord.Status, AttendanceRecord.Source


def mark(session, student, status, source=Source.MANUAL, **kwargs):
    return record_services.attendance_mark(
        session=session, student=student, status=status, source=source, **kwargs
    )


def test_marking_creates_one_record_and_one_audit_row(session, student, alice):
    result = mark(session, student, Status.PRESENT, by=alice, reason="saw her")
    assert result.changed
    change = AttendanceChange.objects.get()
    assert (change.old_status, change.new_status, change.changed_by, change.reason) == (
        "",
        "present",
        alice,
        "saw her",
    )


def test_marking_the_same_thing_twice_writes_nothing_the_second_time(session, student):
    mark(session, student, Status.PRESENT, source=Source.FACE, confidence=0.9)
    again = mark(session, student, Status.PRESENT, source=Source.FACE, confidence=0.9)
    assert not again.changed
    assert AttendanceRecord.objects.count() == 1
    assert AttendanceChange.objects.count() == 1


def test_a_correction_keeps_the_old_status_in_the_audit_trail(session, student, alice):
    mark(session, student, Status.PRESENT, source=Source.FACE, confidence=0.8)
    mark(session, student, Status.LATE, by=alice, reason="came at 9:20")
    record = AttendanceRecord.objects.get()
    assert (record.status, record.source, record.marked_by) == ("late", "manual", alice)
    assert list(AttendanceChange.objects.values_list("old_status", "new_status")) == [
        ("", "present"),
        ("present", "late"),
    ]


def test_face_recognition_never_overrides_a_mark_set_by_hand(session, student, alice):
    mark(session, student, Status.EXCUSED, by=alice, reason="doctor's note")
    result = mark(session, student, Status.PRESENT, source=Source.FACE, overwrite_manual=False)
    assert not result.changed
    assert AttendanceRecord.objects.get().status == "excused"


def test_an_unknown_status_is_refused(session, student):
    with pytest.raises(InvalidInput) as error:
        mark(session, student, "asleep")
    assert error.value.code == "invalid_status"


def test_a_student_who_joined_after_the_session_cannot_be_marked(session, course, admin_user):
    late_joiner = student_services.student_create(student_number="S9", full_name="Late Joiner")
    course_services.enrollment_create(
        student=late_joiner, course=course, joined_on=date(2026, 11, 1)
    )
    with pytest.raises(InvalidInput) as error:
        mark(session, late_joiner, Status.PRESENT)
    assert error.value.code == "not_enrolled"


def test_finalizing_marks_only_the_unmarked_enrolled_students_absent(
    session, course, student, alice
):
    seen = student_services.student_create(student_number="S2", full_name="Grace Hopper")
    course_services.enrollment_create(student=seen, course=course, joined_on=date(2026, 9, 1))
    later = student_services.student_create(student_number="S3", full_name="Joined Later")
    course_services.enrollment_create(student=later, course=course, joined_on=date(2026, 10, 20))
    mark(session, seen, Status.PRESENT, source=Source.FACE)

    assert record_services.session_finalize(session=session, by=alice) == 1

    statuses = dict(AttendanceRecord.objects.values_list("student__student_number", "status"))
    assert statuses == {"S001": "absent", "S2": "present"}
    session.refresh_from_db()
    assert session.state == "finalized" and session.finalized_by == alice


def test_finalizing_twice_changes_nothing_the_second_time(session, student, alice):
    record_services.session_finalize(session=session, by=alice)
    assert record_services.session_finalize(session=session, by=alice) == 0
    assert AttendanceChange.objects.count() == 1


def test_a_finalized_session_refuses_changes_until_reopened(session, student, alice):
    record_services.session_finalize(session=session, by=alice)
    with pytest.raises(Conflict) as error:
        mark(session, student, Status.PRESENT)
    assert error.value.code == "session_finalized"
    record_services.session_reopen(session=session, by=alice)
    assert mark(session, student, Status.EXCUSED, by=alice).record.status == "excused"


def test_clearing_a_mark_keeps_its_history(session, student, alice):
    mark(session, student, Status.PRESENT, source=Source.FACE)
    assert record_services.attendance_clear(
        session=session, student=student, by=alice, reason="wrong face"
    )
    assert AttendanceRecord.objects.count() == 0
    assert list(
        AttendanceChange.objects.filter(student=student).values_list("old_status", "new_status")
    ) == [("", "present"), ("present", "")]


def test_weekly_sessions_are_generated_once_per_chosen_weekday(course):
    created = course_services.sessions_generate_weekly(
        course=course,
        first_day=date(2026, 9, 7),  # a Monday
        last_day=date(2026, 9, 20),
        weekdays={0, 3},
        start_time=time(9),
        end_time=time(10),
    )
    assert [s.date for s in created] == [
        date(2026, 9, 7),
        date(2026, 9, 10),
        date(2026, 9, 14),
        date(2026, 9, 17),
    ]
    again = course_services.sessions_generate_weekly(
        course=course,
        first_day=date(2026, 9, 7),
        last_day=date(2026, 9, 20),
        weekdays={0, 3},
        start_time=time(9),
        end_time=time(10),
    )
    assert again == []
    assert course.sessions.count() == 4


def test_a_session_must_end_after_it_starts(course):
    with pytest.raises(InvalidInput) as error:
        course_services.session_create(
            course=course, date=date(2026, 9, 7), start_time=time(10), end_time=time(9)
        )
    assert error.value.code == "session_times"
