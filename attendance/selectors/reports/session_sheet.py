"""The session sheet: every student of one session with their mark, and the session's tally."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from attendance.models import AttendanceRecord, ClassSession, Student
from attendance.selectors.reports.rates import UNMARKED, Tally, credit_for, is_held
from attendance.selectors.sessions import roster_students


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
    students = {student.pk: student for student in roster_students(session=session)}
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
