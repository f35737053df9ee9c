"""The course matrix page and API report keep what they build in the cache, keyed by a cheap
version of the course's data: a big course's matrix is read far more often than its marks
change, so it is computed once per change rather than once per request.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import date
from typing import TypeVar

from django.db import connections
from django.utils import timezone

from attendance.caching import cache_get, cache_set
from attendance.models import AttendanceChange, ClassSession, Course, Enrollment, Student
from attendance.selectors.reports.matrix import CourseMatrix, course_matrix

T = TypeVar("T")


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
