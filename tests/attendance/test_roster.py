"""Who belongs on a session: exactly the students whose enrollment in *that course* covers the
session's date. Ada takes biology (alice's) and chemistry (bob's); her history in one course never
decides whether she is on the other's roster. Roster, gallery, finalize, sheet, matrix and the API
all ask the same selector."""

from __future__ import annotations

from datetime import date, time

import pytest

from attendance.models import AttendanceRecord, Enrollment, ReferencePhoto
from attendance.selectors.captures import gallery_photos
from attendance.selectors.reports import NOT_ENROLLED, UNMARKED, course_matrix, session_sheet
from attendance.selectors.sessions import roster_students
from attendance.services import courses as course_services
from attendance.services import records as record_services
from attendance.services import students as student_services
from tests.api.conftest import api_client

pytestmark = pytest.mark.django_db
SEP_1, OCT_1, OCT_20 = date(2026, 9, 1), date(2026, 10, 1), date(2026, 10, 20)


def on(course, day):
    return course_services.session_create(
        course=course, date=day, start_time=time(9), end_time=time(10)
    )


@pytest.fixture
def ada(admin_user, course, bobs_course):
    """Ada, enrolled in biology and chemistry since September 1st."""
    ada = student_services.student_create(
        student_number="S001", full_name="Ada Lovelace", consent_by=admin_user
    )
    for taken in (course, bobs_course):
        course_services.enrollment_create(student=ada, course=taken, joined_on=SEP_1)
    return ada


def leave(student, course, day):
    enrollment = Enrollment.objects.get(student=student, course=course, left_on__isnull=True)
    course_services.enrollment_end(enrollment=enrollment, left_on=day)


def test_leaving_chemistry_keeps_ada_on_the_biology_roster(ada, course, bobs_course):
    leave(ada, bobs_course, OCT_1)
    assert list(roster_students(session=on(course, date(2026, 10, 5)))) == [ada]


def test_finalize_marks_ada_absent_in_biology_although_she_left_chemistry(
    ada, course, bobs_course, alice
):
    leave(ada, bobs_course, OCT_1)
    session = on(course, date(2026, 10, 5))
    assert record_services.session_finalize(session=session, by=alice) == 1
    assert AttendanceRecord.objects.get(session=session).student == ada


def test_leaving_biology_takes_ada_off_its_roster_though_she_stays_in_chemistry(
    ada, course, bobs_course, alice
):
    leave(ada, course, OCT_1)
    session = on(course, date(2026, 10, 5))
    assert list(roster_students(session=session)) == []
    assert [line.student for line in session_sheet(session=session).lines] == []
    assert record_services.session_finalize(session=session, by=alice) == 0
    # ... and she is still on chemistry's.
    assert list(roster_students(session=on(bobs_course, date(2026, 10, 5)))) == [ada]


def test_a_student_who_left_is_not_in_the_gallery(ada, course, bobs_course):
    photo = ReferencePhoto.objects.create(
        student=ada,
        image="reference/x.jpg",
        status="ready",
        model_version="m1",
        embedding=b"\0" * 8,
    )
    photo.embeddings.create(model_version="m1", embedding=b"\0" * 8)
    leave(ada, course, OCT_1)
    assert list(gallery_photos(session=on(course, date(2026, 10, 5)), model_version="m1")) == []
    assert gallery_photos(session=on(bobs_course, date(2026, 10, 5)), model_version="m1").count()


def test_a_late_joiner_belongs_from_the_day_they_joined(admin_user, course, ada):
    ben = student_services.student_create(student_number="S002", full_name="Ben Okafor")
    course_services.enrollment_create(student=ben, course=course, joined_on=date(2026, 10, 10))
    assert list(roster_students(session=on(course, date(2026, 10, 5)))) == [ada]
    assert list(roster_students(session=on(course, date(2026, 10, 10)))) == [ada, ben]


def test_a_student_who_rejoins_is_off_the_roster_in_the_gap_and_back_after(
    ada, course, bobs_course, alice
):
    leave(ada, course, OCT_1)
    course_services.enrollment_create(student=ada, course=course, joined_on=OCT_20)
    before = on(course, date(2026, 9, 28))
    gap = on(course, date(2026, 10, 12))
    after = on(course, date(2026, 10, 26))
    assert [list(roster_students(session=s)) for s in (before, gap, after)] == [[ada], [], [ada]]
    assert record_services.session_finalize(session=gap, by=alice) == 0
    assert record_services.session_finalize(session=after, by=alice) == 1

    matrix = course_matrix(course=course, today=date(2026, 11, 1))
    (row,) = matrix.students
    assert row.cells == [UNMARKED, NOT_ENROLLED, "absent"]


def test_the_api_lists_a_sessions_roster_with_the_same_rule(ada, course, bobs_course, alice):
    leave(ada, course, OCT_1)
    gap = on(course, date(2026, 10, 12))
    course_services.enrollment_create(student=ada, course=course, joined_on=OCT_20)
    after = on(course, date(2026, 10, 26))
    client = api_client(alice)
    assert client.get("/api/students/", {"session": gap.pk}).json()["count"] == 0
    assert client.get("/api/students/", {"session": after.pk}).json()["count"] == 1


def test_bob_filtering_by_alices_session_sees_nobody(ada, course, bob):
    session = on(course, date(2026, 10, 12))
    assert api_client(bob).get("/api/students/", {"session": session.pk}).json()["count"] == 0
