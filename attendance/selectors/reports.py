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

Everything is read with a handful of queries whatever the course's size (sessions, enrollments,
records), and the arithmetic is done in Python over plain tuples.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Q
from django.utils import timezone

from attendance.models import AttendanceRecord, ClassSession, Course, Enrollment, Student
from attendance.selectors.access import courses_visible_to

Status = AttendanceRecord.Status
ExcusedPolicy = Course.ExcusedPolicy

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
    if status in (Status.PRESENT,):
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
    ``student_ids`` narrows the rows (a student's history reads one row per course).
    """
    today = today or timezone.localdate()
    sessions = _sessions_in_range(course, date_from, date_to)
    columns = [
        SessionColumn(s.id, s.date, s.start_time, s.state, is_held(s, today=today))
        for s in sessions
    ]
    enrollments = _enrollments(course, student_ids, sessions) if sessions else []
    position = {column.id: i for i, column in enumerate(columns)}
    statuses: dict[tuple[int, int], str] = {}
    if columns and enrollments:
        records = AttendanceRecord.objects.filter(session__in=[c.id for c in columns])
        if student_ids is not None:
            records = records.filter(student_id__in=[e[0] for e in enrollments])
        statuses = {
            (session_id, student_id): status
            for session_id, student_id, status in records.values_list(
                "session_id", "student_id", "status"
            )
        }
    credit_of = {s: credit_for(s, course=course) for s in [*Status.values, UNMARKED]}
    total = Tally()
    rows = []
    for student_id, number, name, joined_on, left_on in enrollments:
        row = StudentRow(student_id, number, name, [NOT_ENROLLED] * len(columns))
        for column in columns:
            if column.date < joined_on or (left_on is not None and column.date > left_on):
                continue
            status = statuses.get((column.id, student_id), UNMARKED)
            row.cells[position[column.id]] = status
            if column.held:
                credit = credit_of[status]
                row.tally.add(status, credit)
                column.tally.add(status, credit)
                total.add(status, credit)
            elif status != UNMARKED:
                row.tally.add(status, None)
                column.tally.add(status, None)
        rate = row.rate
        row.flagged = rate is not None and rate < float(course.attendance_threshold)
        rows.append(row)
    return CourseMatrix(course, date_from, date_to, columns, rows, total)


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
