"""A student's history: their row of the course matrix in each of their courses."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.contrib.auth.models import User

from attendance.models import Course, Student
from attendance.selectors.access import courses_visible_to
from attendance.selectors.reports.matrix import CourseMatrix, StudentRow, course_matrix


@dataclass(frozen=True)
class HistoryCourse:
    course: Course
    matrix: CourseMatrix

    @property
    def row(self) -> StudentRow | None:
        return self.matrix.students[0] if self.matrix.students else None


def student_history(
    *,
    user: User,
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
