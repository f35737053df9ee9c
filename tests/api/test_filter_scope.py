"""A list filter naming something the caller may not see answers an empty page, as an id that does
not exist would: never rows that confirm the thing exists or show who is in it.

bob and charlie teach one student in common (Sam). bob also teaches Bea, who is only his. charlie
asks every list, filtered by each of bob's course, session, student and capture ids, and sees
nothing; bob, asking the same, sees his rows (so the filters are not simply empty).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time

import pytest
from django.contrib.auth import get_user_model

from attendance.services import courses as course_services
from attendance.services import records as record_services
from attendance.services import students as student_services
from attendance.services.captures import capture_create
from attendance.services.photos import reference_photo_add
from tests.api.conftest import api_client, jpeg_upload, review_face

pytestmark = pytest.mark.django_db


@dataclass
class BobsThings:
    course: int
    session: int
    student: int  # Bea: only in bob's course
    capture: int


@pytest.fixture
def charlie(db):
    return get_user_model().objects.create_user("charlie", "charlie@example.edu", "charlie-pass-1")


@pytest.fixture
def bobs(admin_user, bob, charlie) -> BobsThings:
    chemistry = course_services.course_create(
        code="CHE201", title="Chemistry", term="2026-fall", teachers=[bob]
    )
    physics = course_services.course_create(
        code="PHY101", title="Physics", term="2026-fall", teachers=[charlie]
    )
    sam = student_services.student_create(
        student_number="S100", full_name="Sam Shared", consent_by=admin_user
    )
    bea = student_services.student_create(
        student_number="S200", full_name="Bea Bobsonly", consent_by=admin_user
    )
    for student, course in [(sam, chemistry), (sam, physics), (bea, chemistry)]:
        course_services.enrollment_create(
            student=student, course=course, joined_on=date(2026, 9, 1)
        )
    session = course_services.session_create(
        course=chemistry, date=date(2026, 10, 5), start_time=time(9), end_time=time(10)
    )
    for student in (sam, bea):
        record_services.attendance_mark(
            session=session, student=student, status="present", source="manual", by=bob
        )
    reference_photo_add(student=bea, image_file=jpeg_upload(), by=admin_user)
    capture = capture_create(session=session, image_file=jpeg_upload(), source="upload", by=bob)
    review_face(capture, sam)
    return BobsThings(course=chemistry.pk, session=session.pk, student=bea.pk, capture=capture.pk)


# Every id filter of every list: (list, filter, which of bob's ids it names).
FILTERS = [
    ("students", "course", "course"),
    ("enrollments", "course", "course"),
    ("enrollments", "student", "student"),
    ("sessions", "course", "course"),
    ("photos", "student", "student"),
    ("captures", "course", "course"),
    ("captures", "session", "session"),
    ("faces", "capture", "capture"),
    ("faces", "session", "session"),
    ("records", "course", "course"),
    ("records", "session", "session"),
    ("records", "student", "student"),
]


def _names(body: dict) -> list[str]:
    return [str(row.get("full_name") or row.get("id")) for row in body["results"]]


@pytest.mark.parametrize(("resource", "name", "thing"), FILTERS)
def test_charlie_filtering_by_bobs_ids_gets_an_empty_page(
    charlie, bob, bobs, resource, name, thing
):
    url = f"/api/{resource}/?{name}={getattr(bobs, thing)}"

    charlies = api_client(charlie).get(url)
    bobs_own = api_client(bob).get(url)

    assert charlies.status_code == 200
    assert charlies.json()["count"] == 0, _names(charlies.json())
    assert bobs_own.json()["count"] >= 1


def test_charlie_filtering_by_bobs_course_does_not_learn_who_they_share(charlie, bobs):
    body = api_client(charlie).get(f"/api/students/?course={bobs.course}").json()

    assert body == {"count": 0, "next": None, "previous": None, "results": []}


def test_charlie_filtering_by_his_own_course_still_sees_the_shared_student(charlie, bobs):
    physics = charlie.courses_taught.get().pk

    body = api_client(charlie).get(f"/api/students/?course={physics}").json()

    assert _names(body) == ["Sam Shared"]
