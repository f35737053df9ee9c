"""Attendance reports: the session sheet, the course matrix and a student's history.

The pages, the CSV exports and the API all read these, so a figure is computed in one place.

How a rate is computed (the README repeats this):

* A session is *held* once it is finalized or its date is in the past. Sessions today or later that
  are still open are shown but count for nobody yet.
* A student *belongs* to a session when their enrollment covers its date (joined on or before, not
  left before). A student who joined mid-term is not absent for the sessions before they joined.
* In a held session a belonging student earns credit: present 1, late ``course.late_credit``,
  absent 0, no mark 0 (unmarked in a held session is absent). Excused follows
  ``course.excused_policy``: left out of the rate entirely, counted as present, or as absent.
* A student's rate is credit / counted sessions, in percent; a session's rate is the same over its
  students; the course's rate is the total credit over every counted cell. A rate with nothing
  counted is ``None`` (shown as "–"), never 0.
* A student whose rate is below ``course.attendance_threshold`` (percent) is flagged.

Everything is read with three queries whatever the course's size (sessions, enrollments, marks),
and counted with ``Counter`` over whole rows and columns. The course matrix page and API report
also keep what they build in the cache (``cached_course_report``), keyed by a cheap version of the
course's data, so a busy big course is computed once per change rather than once per request.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from itertools import compress
from typing import TypeVar

from django.contrib.auth.models import AbstractBaseUser
from django.db import connections
from django.db.models import Q
from django.utils import timezone

from attendance.caching import cache_get, cache_set
from attendance.models import (
    AttendanceChange,
    AttendanceRecord,
    ClassSession,
    Course,
    Enrollment,
    Student,
)
from attendance.selectors.access import courses_visible_to

Status = AttendanceRecord.Status
ExcusedPolicy = Course.ExcusedPolicy

T = TypeVar("T")

UNMARKED = ""  # a student who belongs to the session but has no record
NOT_ENROLLED = None  # a cell where the student did not belong to the course on that date

# Column names of every CSV export; documented in the README, never renamed.
CSV_COLUMNS = [
    "course_code",
    "course_term",
    "session_id",
    "session_date",
    "session_start",
    "session_state",
    "session_held",
    "student_number",
    "student_name",
    "status",
    "source",
    "confidence",
    "marked_by",
    "marked_at",
    "credit",
    "student_rate",
    "student_flagged",
    "session_rate",
]


def _percent(credit: float, counted: int) -> float | None:
    return None if counted == 0 else 100.0 * credit / counted


def credit_for(status: str, *, course: Course) -> float | None:
    """The credit a status earns in a held session, or None when it is left out of the rate."""
    if status == Status.PRESENT:
        return 1.0
    if status == Status.LATE:
        return float(course.late_credit)
    if status == Status.EXCUSED:
        policy = course.excused_policy
        if policy == ExcusedPolicy.PRESENT:
            return 1.0
        return 0.0 if policy == ExcusedPolicy.ABSENT else None
    return 0.0  # absent, or no mark at all


def is_held(session: ClassSession, *, today: date | None = None) -> bool:
    today = today or timezone.localdate()
    return session.state == ClassSession.State.FINALIZED or session.date < today


@dataclass
class Tally:
    """Counts of one row or column of the matrix."""

    present: int = 0
    late: int = 0
    absent: int = 0
    excused: int = 0
    unmarked: int = 0
    credit: float = 0.0
    counted: int = 0

    @property
    def rate(self) -> float | None:
        return _percent(self.credit, self.counted)

    def add(self, status: str, credit: float | None) -> None:
        if status == UNMARKED:
            self.unmarked += 1
        else:
            setattr(self, status, getattr(self, status) + 1)
        if credit is not None:
            self.credit += credit
            self.counted += 1

    @classmethod
    def of(cls, counts: Counter, credit_of: dict[str, float | None], *, held: bool) -> Tally:
        """From a count of statuses (None, "not enrolled", is ignored); credit only if held."""
        tally = cls(
            present=counts[Status.PRESENT],
            late=counts[Status.LATE],
            absent=counts[Status.ABSENT],
            excused=counts[Status.EXCUSED],
            unmarked=counts[UNMARKED],
        )
        if held:
            for status, credit in credit_of.items():
                if credit is not None and counts[status]:
                    tally.credit += credit * counts[status]
                    tally.counted += counts[status]
        return tally

    def merge(self, other: Tally) -> None:
        for name in ("present", "late", "absent", "excused", "unmarked", "credit", "counted"):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def as_dict(self) -> dict:
        rate = self.rate
        return {
            "present": self.present,
            "late": self.late,
            "absent": self.absent,
            "excused": self.excused,
            "unmarked": self.unmarked,
            "credit": round(self.credit, 4),
            "counted": self.counted,
            "rate": None if rate is None else round(rate, 1),
        }


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
    sessions = ClassSession.objects.filter(course=course)
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
    return list(
        enrollments.order_by("student__full_name", "student__student_number").values_list(
            "student_id",
            "student__student_number",
            "student__full_name",
            "joined_on",
            "left_on",
        )
    )


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
    for student_id, number, name, joined_on, left_on in enrollments:
        marks = by_student[student_id]
        cells: list[str | None] = [marks.get(i, UNMARKED) for i in ids]
        if joined_on > first or (left_on is not None and left_on < last):
            cells = [
                NOT_ENROLLED if day < joined_on or (left_on and day > left_on) else cell
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
    by_column = zip(*(row.cells for row in rows), strict=True) if rows else ([] for _ in columns)
    for column, cells in zip(columns, by_column, strict=True):
        column.tally = Tally.of(Counter(cells), credit_of, held=column.held)
        if column.held:
            total.merge(column.tally)
    return CourseMatrix(course, date_from, date_to, columns, rows, total)


# Caching: a big course's matrix is read far more often than its marks change. ----------------

REPORT_CACHE_SECONDS = 15 * 60


def _version_sql() -> str:
    # Plain SQL: composing these six subqueries through the ORM costs ~10 ms of Python on every
    # request, ten times what the database needs to answer them.
    session, enrollment, student, change = (
        model._meta.db_table for model in (ClassSession, Enrollment, Student, AttendanceChange)
    )
    teachers = Course.teachers.through._meta.db_table
    return f"""
        SELECT
          (SELECT COUNT(*) FROM {session} WHERE course_id = %(course)s),
          (SELECT MAX(updated_at) FROM {session} WHERE course_id = %(course)s),
          (SELECT COUNT(*) FROM {enrollment} WHERE course_id = %(course)s),
          (SELECT MAX(updated_at) FROM {enrollment} WHERE course_id = %(course)s),
          (SELECT MAX(s.updated_at) FROM {student} s
             JOIN {enrollment} e ON e.student_id = s.id WHERE e.course_id = %(course)s),
          (SELECT MAX(c.id) FROM {change} c
             JOIN {session} x ON c.session_id = x.id WHERE x.course_id = %(course)s),
          (SELECT COUNT(*) FROM {teachers} WHERE course_id = %(course)s),
          (SELECT MAX(id) FROM {teachers} WHERE course_id = %(course)s)
    """


def _data_version(course: Course) -> tuple:
    """Changes whenever anything a course's report shows changes: its sessions (count, last
    update), its enrollments and their students (count, last update), its marks (the audit
    trail gets a row for every change of a record, so its highest id moves with every mark) and
    its teachers (count, newest link)."""
    with connections[Course.objects.db].cursor() as cursor:
        cursor.execute(_version_sql(), {"course": course.pk})
        return tuple(cursor.fetchone())


def cached_course_report(
    *,
    course: Course,
    kind: str,
    build: Callable[[CourseMatrix], T],
    date_from: date | None = None,
    date_to: date | None = None,
) -> T:
    """``build(course_matrix(...))``, cached until the course's data, its rate settings or the
    date change. ``kind`` names what ``build`` makes (a page's parts, the API's JSON)."""
    today = timezone.localdate()
    # The course's own fields (title, threshold, late credit, excused policy) are on the row the
    # caller already loaded.
    settings = (
        course.updated_at,
        course.attendance_threshold,
        course.late_credit,
        course.excused_policy,
    )
    parts = ":".join(
        str(part)
        for part in (
            "rollcall-report",
            kind,
            course.pk,
            date_from,
            date_to,
            today,
            *settings,
            *_data_version(course),
        )
    )
    key = f"rollcall-report:{hashlib.sha256(parts.encode()).hexdigest()}"
    value = cache_get(key)
    if value is None:
        value = build(
            course_matrix(course=course, date_from=date_from, date_to=date_to, today=today)
        )
        cache_set(key, value, REPORT_CACHE_SECONDS)
    return value


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
        student = students.get(student_id) or record.student
        line = SheetLine(student, record, student_id in students)
        if line.enrolled:
            credit = credit_for(line.status, course=session.course) if held else None
            tally.add(line.status, credit)
        lines.append(line)
    lines.sort(key=lambda line: (line.student.full_name, line.student.student_number))
    return SessionSheet(session, held, lines, tally)


@dataclass(frozen=True)
class HistoryCourse:
    course: Course
    matrix: CourseMatrix

    @property
    def row(self) -> StudentRow | None:
        return self.matrix.students[0] if self.matrix.students else None


def student_history(
    *,
    user: AbstractBaseUser,
    student: Student,
    date_from: date | None = None,
    date_to: date | None = None,
) -> list[HistoryCourse]:
    """The student's attendance in each course they are enrolled in that ``user`` may see."""
    courses = courses_visible_to(user).filter(enrollments__student=student).distinct()
    return [
        HistoryCourse(
            course,
            course_matrix(
                course=course, date_from=date_from, date_to=date_to, student_ids=[student.pk]
            ),
        )
        for course in courses.order_by("term", "code")
    ]


# CSV rows -------------------------------------------------------------------------------------


def _fmt_rate(rate: float | None) -> str:
    return "" if rate is None else f"{rate:.1f}"


def _fmt_time(moment: datetime | None) -> str:
    return "" if moment is None else timezone.localtime(moment).isoformat(timespec="seconds")


def _record_details(session_ids: list[int], student_ids: list[int] | None) -> dict:
    records = AttendanceRecord.objects.filter(session_id__in=session_ids)
    if student_ids is not None:
        records = records.filter(student_id__in=student_ids)
    return {
        (session_id, student_id): (source, confidence, username or "", marked_at)
        for session_id, student_id, source, confidence, username, marked_at in records.values_list(
            "session_id", "student_id", "source", "confidence", "marked_by__username", "marked_at"
        )
    }


def matrix_csv_rows(matrix: CourseMatrix, *, only_student: int | None = None) -> Iterator[list]:
    """One row per student and session where the student belonged to the course (CSV_COLUMNS)."""
    course = matrix.course
    details = _record_details(
        [c.id for c in matrix.sessions], None if only_student is None else [only_student]
    )
    for row in matrix.students:
        for column, status in zip(matrix.sessions, row.cells, strict=True):
            if status is NOT_ENROLLED:
                continue
            source, confidence, by, marked_at = details.get(
                (column.id, row.id), ("", None, "", None)
            )
            credit = credit_for(status, course=course) if column.held else None
            yield [
                course.code,
                course.term,
                column.id,
                column.date.isoformat(),
                column.start_time.strftime("%H:%M"),
                column.state,
                "yes" if column.held else "no",
                row.student_number,
                row.full_name,
                status or "unmarked",
                source,
                "" if confidence is None else f"{confidence:.3f}",
                by,
                _fmt_time(marked_at),
                "" if credit is None else f"{credit:g}",
                _fmt_rate(row.rate),
                "yes" if row.flagged else "no",
                _fmt_rate(column.rate),
            ]


def sheet_csv_rows(sheet: SessionSheet) -> Iterator[list]:
    session, course = sheet.session, sheet.session.course
    for line in sheet.lines:
        record = line.record
        counts = sheet.held and line.enrolled
        credit = credit_for(line.status, course=course) if counts else None
        yield [
            course.code,
            course.term,
            session.pk,
            session.date.isoformat(),
            session.start_time.strftime("%H:%M"),
            session.state,
            "yes" if sheet.held else "no",
            line.student.student_number,
            line.student.full_name,
            line.status or "unmarked",
            record.source if record else "",
            "" if record is None or record.confidence is None else f"{record.confidence:.3f}",
            record.marked_by.username if record and record.marked_by else "",
            _fmt_time(record.marked_at) if record else "",
            "" if credit is None else f"{credit:g}",
            "",
            "",
            _fmt_rate(sheet.tally.rate),
        ]
