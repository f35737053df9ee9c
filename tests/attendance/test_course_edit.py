"""Editing a course: the page saves through ``course_update``, which validates like creating."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from attendance.models import Course
from attendance.services import courses as course_services

pytestmark = pytest.mark.django_db


def edit(course: Course, **changes) -> Course:
    fields = course_services.course_editable_fields(course)
    return course_services.course_update(course=course, **{**fields, **changes})


def test_course_update_changes_the_rules_and_hands_the_course_to_bob(course, bob):
    edit(course, title="  Marine Biology ", attendance_threshold=Decimal("75"), teachers=[bob])

    course.refresh_from_db()
    assert course.title == "Marine Biology"
    assert course.attendance_threshold == Decimal("75")
    assert list(course.teachers.all()) == [bob]


def test_course_update_refuses_an_invalid_rule_and_saves_nothing(course):
    with pytest.raises(ValidationError):
        edit(course, title="Renamed", late_credit=Decimal("1.5"))

    course.refresh_from_db()
    assert (course.title, course.late_credit) == ("Biology", Decimal("1"))


def test_an_admin_edits_a_course_on_its_page(client, admin_user, course, alice, bob):
    client.force_login(admin_user)
    response = client.post(
        reverse("attendance:course_edit", args=[course.pk]),
        {
            "code": "BIO101",
            "title": "Biology II",
            "term": "2026-fall",
            "teachers": [alice.pk, bob.pk],
            "attendance_threshold": "70",
            "late_credit": "0.5",
            "excused_policy": course.excused_policy,
        },
    )

    assert response.status_code == 302
    course.refresh_from_db()
    assert (course.title, course.late_credit) == ("Biology II", Decimal("0.5"))
    assert set(course.teachers.all()) == {alice, bob}


def test_alice_cannot_open_the_course_edit_page(client, alice, course):
    client.force_login(alice)
    assert client.get(reverse("attendance:course_edit", args=[course.pk])).status_code == 404
