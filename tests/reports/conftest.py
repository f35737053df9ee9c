"""A small term of BIO101 with known marks, so every rate in the reports can be worked out by hand.

    sessions (all before TODAY):  Oct 5 (finalized)  Oct 12 (finalized)  Oct 19 (left open)
    Ada   (joined Sep 1)          present            late               excused
    Ben   (joined Oct 6)          -- not enrolled    absent             (no mark)

BIO101 counts late as half and leaves excused out of the rate; its threshold is 80 %. So Ada earns
1 + 0.5 over 2 counted sessions = 75 % (flagged), Ben 0 over 2 = 0 % (flagged); the sessions are
100 %, 25 % and 0 %; the course 1.5 / 4 = 37.5 %. A session in 2099 is still to come: it counts
for nobody.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time
from decimal import Decimal

import pytest
from django.core.cache import cache

from attendance.models import ClassSession, Course, Student
from attendance.services import courses as course_services
from attendance.services import records as record_services
from attendance.services import students as student_services

TODAY = date(2026, 11, 1)


@pytest.fixture(autouse=True)
def fresh_report_cache():
    """Reports are cached by course and data version; each test starts with an empty cache."""
    cache.clear()


@dataclass
class Term:
    course: Course
    ada: Student
    ben: Student
    oct5: ClassSession
    oct12: ClassSession
    oct19: ClassSession
    future: ClassSession


def mark(session, student, status, by):
    record_services.attendance_mark(
        session=session, student=student, status=status, source="manual", by=by
    )


@pytest.fixture
def term(course, alice, admin_user) -> Term:
    Course.objects.filter(pk=course.pk).update(
        late_credit=Decimal("0.50"), attendance_threshold=Decimal("80.00")
    )
    course.refresh_from_db()
    ada = student_services.student_create(student_number="S001", full_name="Ada Lovelace")
    ben = student_services.student_create(student_number="S002", full_name="Ben Franklin")
    course_services.enrollment_create(student=ada, course=course, joined_on=date(2026, 9, 1))
    course_services.enrollment_create(student=ben, course=course, joined_on=date(2026, 10, 6))

    def session(day):
        return course_services.session_create(
            course=course, date=day, start_time=time(9), end_time=time(10), room="B12"
        )

    oct5, oct12, oct19 = (
        session(date(2026, 10, 5)),
        session(date(2026, 10, 12)),
        session(date(2026, 10, 19)),
    )
    future = session(date(2099, 1, 5))
    mark(oct5, ada, "present", alice)
    mark(oct12, ada, "late", alice)
    mark(oct12, ben, "absent", alice)
    mark(oct19, ada, "excused", alice)
    record_services.session_finalize(session=oct5, by=alice)
    record_services.session_finalize(session=oct12, by=alice)
    return Term(course, ada, ben, oct5, oct12, oct19, future)
