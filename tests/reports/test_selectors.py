"""The report figures, worked out by hand from the term in conftest.py."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from attendance.models import Course
from attendance.selectors.reports import (
    CSV_COLUMNS,
    course_matrix,
    matrix_csv_rows,
    session_sheet,
    student_history,
)
from attendance.services import courses as course_services
from tests.reports.conftest import TODAY

pytestmark = pytest.mark.django_db


def rates(matrix):
    return {row.full_name: row.rate for row in matrix.students}


def test_student_rates_count_late_as_half_and_leave_excused_out(term):
    matrix = course_matrix(course=term.course, today=TODAY)

    assert rates(matrix) == {"Ada Lovelace": 75.0, "Ben Franklin": 0.0}
    assert [row.flagged for row in matrix.students] == [True, True]
    assert matrix.rate == 37.5


def test_session_rates_treat_unmarked_as_absent_once_held(term):
    matrix = course_matrix(course=term.course, today=TODAY)

    assert [c.rate for c in matrix.sessions] == [100.0, 25.0, 0.0, None]
    assert [c.held for c in matrix.sessions] == [True, True, True, False]
    oct19 = matrix.sessions[2].tally
    assert (oct19.excused, oct19.unmarked, oct19.counted) == (1, 1, 1)


def test_a_student_who_joined_mid_term_is_not_absent_before_joining(term):
    matrix = course_matrix(course=term.course, today=TODAY)

    ben = matrix.students[1]
    assert ben.cells == [None, "absent", "", ""]
    assert ben.tally.counted == 2


def test_excused_can_count_as_present_or_absent(term):
    Course.objects.filter(pk=term.course.pk).update(excused_policy="present")
    term.course.refresh_from_db()
    assert rates(course_matrix(course=term.course, today=TODAY))["Ada Lovelace"] == pytest.approx(
        83.333, abs=0.001
    )

    Course.objects.filter(pk=term.course.pk).update(excused_policy="absent")
    term.course.refresh_from_db()
    assert rates(course_matrix(course=term.course, today=TODAY))["Ada Lovelace"] == 50.0


def test_a_student_at_the_threshold_is_not_flagged(term):
    Course.objects.filter(pk=term.course.pk).update(attendance_threshold=Decimal("75.00"))
    term.course.refresh_from_db()

    matrix = course_matrix(course=term.course, today=TODAY)

    assert [(row.full_name, row.flagged) for row in matrix.students] == [
        ("Ada Lovelace", False),
        ("Ben Franklin", True),
    ]


def test_a_date_range_keeps_only_its_sessions_and_students(term):
    matrix = course_matrix(
        course=term.course, date_from=date(2026, 10, 1), date_to=date(2026, 10, 5), today=TODAY
    )

    assert [c.date for c in matrix.sessions] == [date(2026, 10, 5)]
    assert rates(matrix) == {"Ada Lovelace": 100.0}


def test_a_student_who_left_is_not_counted_after_leaving(term):
    enrollment = term.course.enrollments.get(student=term.ben)
    course_services.enrollment_end(enrollment=enrollment, left_on=date(2026, 10, 13))

    ben = course_matrix(course=term.course, today=TODAY).students[1]

    assert ben.cells == [None, "absent", None, None]


def test_a_course_with_no_sessions_has_no_rates(course, student):
    matrix = course_matrix(course=course, today=TODAY)

    assert (matrix.sessions, matrix.students, matrix.rate) == ([], [], None)


def test_the_rate_histogram_puts_each_student_in_a_ten_percent_band(term):
    histogram = course_matrix(course=term.course, today=TODAY).rate_histogram()

    assert histogram == [1, 0, 0, 0, 0, 0, 0, 1, 0, 0]


def test_the_matrix_takes_the_same_few_queries_however_big_the_course(
    term, django_assert_max_num_queries
):
    with django_assert_max_num_queries(3):
        course_matrix(course=term.course, today=TODAY)


def test_the_session_sheet_lists_every_enrolled_student_with_who_marked(term, alice):
    sheet = session_sheet(session=term.oct12, today=TODAY)

    assert [(line.student.full_name, line.status) for line in sheet.lines] == [
        ("Ada Lovelace", "late"),
        ("Ben Franklin", "absent"),
    ]
    assert [line.record.marked_by for line in sheet.lines] == [alice, alice]
    assert sheet.tally.rate == 25.0


def test_the_session_sheet_keeps_a_mark_of_a_student_no_longer_enrolled(term):
    term.course.enrollments.filter(student=term.ada).update(joined_on=date(2026, 10, 10))

    sheet = session_sheet(session=term.oct5, today=TODAY)

    assert [(line.student.full_name, line.enrolled) for line in sheet.lines] == [
        ("Ada Lovelace", False)
    ]
    assert sheet.tally.counted == 0


def test_a_teacher_sees_a_students_history_only_in_their_own_courses(term, alice, bobs_course):
    course_services.enrollment_create(
        student=term.ada, course=bobs_course, joined_on=date(2026, 9, 1)
    )

    history = student_history(user=alice, student=term.ada)

    assert [item.course.code for item in history] == ["BIO101"]
    assert history[0].row.rate == 75.0


def test_an_admin_sees_a_students_history_in_every_course(term, admin_user, bobs_course):
    course_services.enrollment_create(
        student=term.ada, course=bobs_course, joined_on=date(2026, 9, 1)
    )

    history = student_history(user=admin_user, student=term.ada)

    assert [item.course.code for item in history] == ["BIO101", "CHE201"]
    assert history[1].row is None  # CHE201 has no session yet


def test_csv_rows_are_one_per_student_and_session_they_belonged_to(term, alice):
    rows = list(matrix_csv_rows(course_matrix(course=term.course, today=TODAY)))

    assert len(rows) == 4 + 3  # Ada in every session, Ben from Oct 12
    as_dicts = [dict(zip(CSV_COLUMNS, row, strict=True)) for row in rows]
    oct12_ada = as_dicts[1]
    assert oct12_ada["session_date"] == "2026-10-12"
    assert oct12_ada["student_number"] == "S001"
    assert oct12_ada["status"] == "late"
    assert oct12_ada["source"] == "manual"
    assert oct12_ada["marked_by"] == "alice"
    assert oct12_ada["credit"] == "0.5"
    assert oct12_ada["student_rate"] == "75.0"
    assert oct12_ada["student_flagged"] == "yes"
    assert oct12_ada["session_rate"] == "25.0"
    future = as_dicts[3]
    assert (future["session_held"], future["status"], future["credit"]) == ("no", "unmarked", "")
