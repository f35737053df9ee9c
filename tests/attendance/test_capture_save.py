"""Saving a class photo's faces and marks: a bounded number of queries, whatever the class size."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest
from django.core.files.base import ContentFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from attendance.models import AttendanceChange, AttendanceRecord, Capture
from attendance.services import captures as capture_services
from attendance.services import courses as course_services
from attendance.services import students as student_services
from facerec.types import AnalyzedFace, Face, Match
from tests.conftest import jpeg_bytes

pytestmark = pytest.mark.django_db


def enrolled_students(course, admin_user, count: int) -> list:
    students = []
    for n in range(count):
        student = student_services.student_create(
            student_number=f"Q{n:03d}", full_name=f"Student {n}", consent_by=admin_user
        )
        course_services.enrollment_create(
            student=student, course=course, joined_on=date(2026, 9, 1)
        )
        students.append(student)
    return students


def recognised(students: list) -> capture_services.CaptureAnalysis:
    """An analysis in which every student's face was matched automatically."""
    faces, matches = [], []
    for i, student in enumerate(students):
        box = (40 * i, 10, 36, 36)
        points = tuple((40.0 * i + dx, 20.0) for dx in (8, 28, 18, 10, 26))
        faces.append(
            AnalyzedFace(
                face=Face(box=box, landmarks=points, score=0.99),
                crop=np.full((160, 160, 3), 100 + i, np.uint8),
                embedding=np.zeros(8, np.float32),
            )
        )
        matches.append(Match(i, student.pk, 0.6, "auto", [(student.pk, 0.6)]))
    return capture_services.CaptureAnalysis(width=1920, height=1080, faces=faces, matches=matches)


def queries_to_save(session, students) -> int:
    capture = Capture(session=session, state=Capture.State.PROCESSING)
    capture.image.save("c.jpg", ContentFile(jpeg_bytes()), save=False)
    capture.save()
    with CaptureQueriesContext(connection) as queries:
        capture_services._save_analysis(capture.pk, "v", recognised(students), force=False)
    return len(queries)


def test_a_class_of_thirty_is_saved_in_as_many_queries_as_a_class_of_three(
    course, session, admin_user
):
    students = enrolled_students(course, admin_user, 33)
    other = course_services.session_create(
        course=course,
        date=date(2026, 10, 6),
        start_time=session.start_time,
        end_time=session.end_time,
    )

    small = queries_to_save(session, students[:3])
    large = queries_to_save(other, students[3:])

    assert AttendanceRecord.objects.filter(session=other, status="present").count() == 30
    assert AttendanceChange.objects.filter(session=other).count() == 30
    # The faces, the marks and their audit rows cost the same 22 queries for 3 or 30 (one at a
    # time, 30 cost 341).
    assert large == small
