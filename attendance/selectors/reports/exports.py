"""CSV rows of the course matrix and the session sheet: one set of columns for every export."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time

from django.utils import timezone

from attendance.models import AttendanceRecord, Course
from attendance.selectors.reports.matrix import CourseMatrix
from attendance.selectors.reports.rates import NOT_ENROLLED, UNMARKED, credit_for
from attendance.selectors.reports.session_sheet import SessionSheet

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
    "remark",
]

# Who marked a record that no person marked: the face pipeline (source "face").
AUTOMATIC_MARKER = "face recognition"


def _fmt_rate(rate: float | None) -> str:
    return "" if rate is None else f"{rate:.1f}"


def _fmt_time(moment: datetime | None) -> str:
    return "" if moment is None else timezone.localtime(moment).isoformat(timespec="seconds")


def _session_columns(course: Course, session_id: int, day: date, start: time, state: str) -> list:
    """The first columns of every CSV row: which course and session it is."""
    return [course.code, course.term, session_id, day.isoformat(), start.strftime("%H:%M"), state]


def _marker(username: str | None, source: str) -> str:
    if username:
        return username
    return AUTOMATIC_MARKER if source == AttendanceRecord.Source.FACE else ""


def _record_details(session_ids: list[int], student_ids: list[int] | None) -> dict:
    records = AttendanceRecord.objects.filter(session_id__in=session_ids)
    if student_ids is not None:
        records = records.filter(student_id__in=student_ids)
    return {
        (session_id, student_id): (source, confidence, _marker(username, source), marked_at, remark)
        for session_id, student_id, source, confidence, username, marked_at, remark in (
            records.values_list(
                "session_id",
                "student_id",
                "source",
                "confidence",
                "marked_by__username",
                "marked_at",
                "remark",
            )
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
            source, confidence, by, marked_at, remark = details.get(
                (column.id, row.id), ("", None, "", None, "")
            )
            credit = credit_for(status, course=course) if column.held else None
            yield [
                *_session_columns(course, column.id, column.date, column.start_time, column.state),
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
                remark,
            ]


def sheet_csv_rows(sheet: SessionSheet) -> Iterator[list]:
    session, course = sheet.session, sheet.session.course
    for line in sheet.lines:
        record = line.record
        counts = sheet.held and line.enrolled
        credit = credit_for(line.status, course=course) if counts else None
        yield [
            *_session_columns(course, session.pk, session.date, session.start_time, session.state),
            "yes" if sheet.held else "no",
            line.student.student_number,
            line.student.full_name,
            line.status or "unmarked",
            record.source if record else "",
            "" if record is None or record.confidence is None else f"{record.confidence:.3f}",
            _marker(record.marked_by.username if record.marked_by else None, record.source)
            if record
            else "",
            _fmt_time(record.marked_at) if record else "",
            "" if credit is None else f"{credit:g}",
            "",
            "",
            _fmt_rate(sheet.tally.rate),
            record.remark if record else "",
        ]


# The grid: one row per student and one column per session, as people lay it out in a
# spreadsheet. Values stay typed (rates are floats, an empty cell is None) so that the XLSX keeps
# numbers as numbers; the CSV writer formats them.
GRID_STATUS = {**{s: s for s in AttendanceRecord.Status.values}, UNMARKED: "unmarked"}


def matrix_grid_rows(matrix: CourseMatrix) -> Iterator[list]:
    """The header, one row per student (a status per session, blank where not enrolled, then
    rate and flag) and a last row of session rates with the course's rate."""
    yield [
        "student_number",
        "student_name",
        *(f"{c.date:%Y-%m-%d} {c.start_time:%H:%M}" for c in matrix.sessions),
        "rate",
        "flagged",
    ]
    for row in matrix.students:
        yield [
            row.student_number,
            row.full_name,
            *(None if cell is NOT_ENROLLED else GRID_STATUS[cell] for cell in row.cells),
            row.rate,
            "yes" if row.flagged else "no",
        ]
    yield [None, "Session rate", *(c.rate for c in matrix.sessions), matrix.rate, None]
