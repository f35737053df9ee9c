"""The course matrix: students by sessions, with each row's, column's and the course's rate.

Everything is read with three queries whatever the course's size (sessions, enrollments, marks),
and counted with ``Counter`` over whole rows and columns.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, time
from itertools import compress

from django.db import connections
from django.db.models import Q
from django.utils import timezone

from attendance.models import AttendanceRecord, ClassSession, Course, Enrollment
from attendance.selectors.reports.rates import (
    NOT_ENROLLED,
    UNMARKED,
    Status,
    Tally,
    credit_for,
    is_held,
)


@dataclass
class SessionColumn:
    id: int
    date: date
    start_time: time
    state: str
    held: bool
    tally: Tally = field(default_factory=Tally)

    @property
    def rate(self) -> float | None:
        return self.tally.rate


@dataclass
class StudentRow:
    id: int
    student_number: str
    full_name: str
    # One entry per column of the matrix: a status, UNMARKED, or NOT_ENROLLED.
    cells: list[str | None]
    tally: Tally = field(default_factory=Tally)
    flagged: bool = False

    @property
    def rate(self) -> float | None:
        return self.tally.rate


@dataclass
class CourseMatrix:
    course: Course
    date_from: date | None
    date_to: date | None
    sessions: list[SessionColumn]
    students: list[StudentRow]
    tally: Tally

    @property
    def threshold(self) -> float:
        return float(self.course.attendance_threshold)

    @property
    def rate(self) -> float | None:
        return self.tally.rate

    @property
    def flagged(self) -> list[StudentRow]:
        return [row for row in self.students if row.flagged]

    def rate_histogram(self, *, bins: int = 10) -> list[int]:
        """How many students have a rate in each of ``bins`` equal bands of 0–100 % (100 goes in
        the last band); students with no rate yet are left out."""
        counts = [0] * bins
        for row in self.students:
            if row.rate is not None:
                counts[min(int(row.rate * bins / 100), bins - 1)] += 1
        return counts


def _sessions_in_range(
    course: Course, date_from: date | None, date_to: date | None
) -> list[ClassSession]:
    # A cancelled session did not take place: no column (its sheet still shows any marks).
    sessions = ClassSession.objects.filter(course=course).exclude(
        state=ClassSession.State.CANCELLED
    )
    if date_from:
        sessions = sessions.filter(date__gte=date_from)
    if date_to:
        sessions = sessions.filter(date__lte=date_to)
    return list(
        sessions.order_by("date", "start_time").only("id", "date", "start_time", "state", "course")
    )


def _enrollments(
    course: Course, student_ids: Iterable[int] | None, sessions: list[ClassSession]
) -> list[tuple]:
    enrollments = Enrollment.objects.filter(course=course)
    if student_ids is not None:
        enrollments = enrollments.filter(student_id__in=list(student_ids))
    if sessions:
        # Only students who belong to at least one session in the range.
        enrollments = enrollments.filter(joined_on__lte=sessions[-1].date).filter(
            Q(left_on__isnull=True) | Q(left_on__gte=sessions[0].date)
        )
    rows = enrollments.order_by(
        "student__full_name", "student__student_number", "joined_on"
    ).values_list(
        "student_id", "student__student_number", "student__full_name", "joined_on", "left_on"
    )
    # A student who left and rejoined has one enrollment per period: one row, all the periods.
    by_student: dict[int, tuple[int, str, str, list[Enrollment]]] = {}
    for student_id, number, name, joined_on, left_on in rows:
        by_student.setdefault(student_id, (student_id, number, name, []))[3].append(
            Enrollment(joined_on=joined_on, left_on=left_on)
        )
    return list(by_student.values())


def _fetch(queryset) -> list[tuple]:
    """The rows of a ``values_list`` queryset as the driver returns them: for the 18,000 marks of
    a big course, Django's per-row conversion would cost more than the query itself."""
    sql, params = queryset.query.sql_with_params()
    with connections[queryset.db].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def course_matrix(
    *,
    course: Course,
    date_from: date | None = None,
    date_to: date | None = None,
    student_ids: Iterable[int] | None = None,
    today: date | None = None,
) -> CourseMatrix:
    """Students by sessions of ``course`` between ``date_from`` and ``date_to`` (inclusive).

    Three queries: the sessions, the enrollments with their students, and the records' statuses.
    ``student_ids`` narrows the rows (a student's history reads one row per course). The counting
    is done by ``Counter`` over whole rows and columns, not cell by cell in Python.
    """
    today = today or timezone.localdate()
    sessions = _sessions_in_range(course, date_from, date_to)
    columns = [
        SessionColumn(s.id, s.date, s.start_time, s.state, is_held(s, today=today))
        for s in sessions
    ]
    enrollments = _enrollments(course, student_ids, sessions) if sessions else []
    by_student: dict[int, dict[int, str]] = {e[0]: {} for e in enrollments}
    if columns and enrollments:
        records = AttendanceRecord.objects.filter(session__in=[c.id for c in columns])
        if student_ids is not None:
            records = records.filter(student_id__in=list(by_student))
        for session_id, student_id, status in _fetch(
            records.values_list("session_id", "student_id", "status")
        ):
            if student_id in by_student:
                by_student[student_id][session_id] = status
    credit_of = {s: credit_for(s, course=course) for s in [*Status.values, UNMARKED]}
    ids = [c.id for c in columns]
    days = [c.date for c in columns]
    held = [c.held for c in columns]
    first, last = (days[0], days[-1]) if days else (None, None)
    threshold = float(course.attendance_threshold)
    rows = []
    for student_id, number, name, periods in enrollments:
        marks = by_student[student_id]
        cells: list[str | None] = [marks.get(i, UNMARKED) for i in ids]
        if len(periods) > 1 or not (periods[0].covers(first) and periods[0].covers(last)):
            # Enrollment.covers is the roster's rule (selectors.sessions.enrollments_covering).
            cells = [
                cell if any(p.covers(day) for p in periods) else NOT_ENROLLED
                for cell, day in zip(cells, days, strict=True)
            ]
        tally = Tally.of(Counter(compress(cells, held)), credit_of, held=True)
        rate = tally.rate
        rows.append(
            StudentRow(
                student_id, number, name, cells, tally, rate is not None and rate < threshold
            )
        )
    total = Tally()
    by_column: Iterable[Sequence[str | None]] = (
        zip(*(row.cells for row in rows), strict=True) if rows else ([] for _ in columns)
    )
    for column, column_cells in zip(columns, by_column, strict=True):
        column.tally = Tally.of(Counter(column_cells), credit_of, held=column.held)
        if column.held:
            total.merge(column.tally)
    return CourseMatrix(course, date_from, date_to, columns, rows, total)
