"""Questions about class sessions: today's, and who belongs on a session's roster."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.contrib.auth.models import User
from django.db.models import Q, QuerySet
from django.utils import timezone

from attendance.models import AttendanceRecord, ClassSession, Student
from attendance.selectors.access import sessions_visible_to


def sessions_on(*, user: User, day: date | None = None) -> QuerySet[ClassSession]:
    return sessions_visible_to(user).filter(date=day or timezone.localdate())


def roster_students(*, session: ClassSession) -> QuerySet[Student]:
    """Students enrolled in the session's course on the session's date (joined, not yet left)."""
    return (
        Student.objects.filter(
            enrollments__course_id=session.course_id, enrollments__joined_on__lte=session.date
        )
        .filter(Q(enrollments__left_on__isnull=True) | Q(enrollments__left_on__gte=session.date))
        .distinct()
        .order_by("full_name", "student_number")
    )


@dataclass(frozen=True)
class RosterLine:
    student: Student
    record: AttendanceRecord | None

    @property
    def status(self) -> str:
        return self.record.status if self.record else ""


def session_roster(*, session: ClassSession) -> list[RosterLine]:
    records = {
        record.student_id: record
        for record in AttendanceRecord.objects.filter(session=session).select_related("marked_by")
    }
    return [
        RosterLine(student, records.get(student.pk)) for student in roster_students(session=session)
    ]
