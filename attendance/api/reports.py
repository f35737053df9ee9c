"""Report figures as plain JSON-ready dicts, built straight from the report selectors.

Plain dicts rather than serializers: a 300 x 60 course is 18,000 cells and DRF's field machinery
would cost more than computing them. The shapes are documented by the *Report* serializers.
"""

from __future__ import annotations

from datetime import date

from django.contrib.auth.models import User
from rest_framework.renderers import JSONRenderer

from attendance.api.serializers import CourseSerializer, SessionSerializer, StudentSerializer
from attendance.models import ClassSession, Student
from attendance.selectors.reports import (
    CourseMatrix,
    SessionColumn,
    session_sheet,
    student_history,
)


def _session(column: SessionColumn) -> dict:
    return {
        "id": column.id,
        "date": column.date.isoformat(),
        "start_time": column.start_time.isoformat(),
        "state": column.state,
        "held": column.held,
        "tally": column.tally.as_dict(),
    }


def _range(matrix: CourseMatrix) -> dict:
    return {
        "date_from": matrix.date_from and matrix.date_from.isoformat(),
        "date_to": matrix.date_to and matrix.date_to.isoformat(),
    }


def course_report_dict(matrix: CourseMatrix) -> dict:
    return {
        "course": CourseSerializer(matrix.course).data,
        **_range(matrix),
        "threshold": matrix.threshold,
        "tally": matrix.tally.as_dict(),
        "rate_histogram": matrix.rate_histogram(),
        "sessions": [_session(column) for column in matrix.sessions],
        "students": [
            {
                "id": row.id,
                "student_number": row.student_number,
                "full_name": row.full_name,
                "flagged": row.flagged,
                "tally": row.tally.as_dict(),
                "statuses": row.cells,
            }
            for row in matrix.students
        ],
    }


def course_report_json(matrix: CourseMatrix) -> bytes:
    """The course report as the API sends it: rendered JSON, ready to cache."""
    return JSONRenderer().render(course_report_dict(matrix))


def session_report_data(*, session: ClassSession) -> dict:
    sheet = session_sheet(session=session)
    return {
        "session": SessionSerializer(session).data,
        "held": sheet.held,
        "tally": sheet.tally.as_dict(),
        "lines": [
            {
                "student": StudentSerializer(line.student).data,
                "enrolled": line.enrolled,
                "status": line.status,
                "source": line.record.source if line.record else "",
                "confidence": line.record.confidence if line.record else None,
                "marked_by": line.record.marked_by.username
                if line.record and line.record.marked_by
                else None,
                "marked_at": line.record.marked_at.isoformat() if line.record else None,
                "remark": line.record.remark if line.record else "",
            }
            for line in sheet.lines
        ],
    }


def student_report_data(
    *,
    user: User,
    student: Student,
    date_from: date | None = None,
    date_to: date | None = None,
) -> dict:
    history = student_history(user=user, student=student, date_from=date_from, date_to=date_to)
    courses = []
    for item in history:
        row = item.row
        courses.append(
            {
                "course": CourseSerializer(item.course).data,
                "threshold": item.matrix.threshold,
                "flagged": bool(row and row.flagged),
                "tally": row.tally.as_dict() if row else None,
                "sessions": [_session(column) for column in item.matrix.sessions],
                "statuses": row.cells if row else [],
            }
        )
    return {
        "student": StudentSerializer(student).data,
        "date_from": date_from and date_from.isoformat(),
        "date_to": date_to and date_to.isoformat(),
        "courses": courses,
    }
