"""The session sheet: every student of one session with their mark, and the session's tally."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db.models import Q

from attendance.models import AttendanceRecord, ClassSession, Enrollment, Student
from attendance.selectors.reports.rates import UNMARKED, Tally, credit_for, is_held


@dataclass(frozen=True)
class SheetLine:
    student: Student
    record: AttendanceRecord | None
    enrolled: bool  # False for a record of a student who no longer belongs on that date

    @property
    def status(self) -> str:
        return self.record.status if self.record else UNMARKED


@dataclass(frozen=True)
class SessionSheet:
    session: ClassSession
    held: bool
    lines: list[SheetLine]
    tally: Tally


def session_sheet(*, session: ClassSession, today: date | None = None) -> SessionSheet:
    """Every student enrolled on the session's date, with their record (or none), plus anyone
    with a record who is no longer enrolled on that date, so that no mark is hidden."""
    records = {
        r.student_id: r
        for r in AttendanceRecord.objects.filter(session=session).select_related(
            "student", "marked_by"
        )
    }
    enrolled = Enrollment.objects.filter(
        course_id=session.course_id, joined_on__lte=session.date
    ).filter(Q(left_on__isnull=True) | Q(left_on__gte=session.date))
    students = {e.student_id: e.student for e in enrolled.select_related("student")}
    held = is_held(session, today=today)
    lines, tally = [], Tally()
    for student_id in students.keys() | records.keys():
        record = records.get(student_id)
        student = students[student_id] if student_id in students else records[student_id].student
        line = SheetLine(student, record, student_id in students)
        if line.enrolled:
            credit = credit_for(line.status, course=session.course) if held else None
            tally.add(line.status, credit)
        lines.append(line)
    lines.sort(key=lambda line: (line.student.full_name, line.student.student_number))
    return SessionSheet(session, held, lines, tally)
