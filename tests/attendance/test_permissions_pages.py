"""Every page answers the owner, hides alice's things from bob (404) and opens them to admins."""

from __future__ import annotations

from datetime import time

import pytest
from django.urls import reverse
from django.utils import timezone

from attendance.services.courses import session_create

pytestmark = pytest.mark.django_db


def login(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def alices_pages(course, session, student):
    return [
        reverse("attendance:course_detail", args=[course.pk]),
        reverse("attendance:session_detail", args=[session.pk]),
        reverse("attendance:student_detail", args=[student.pk]),
    ]


def test_anonymous_visitors_are_sent_to_the_login_page(client, alices_pages):
    for url in [reverse("attendance:home"), *alices_pages]:
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


def test_alice_sees_her_course_sessions_and_students(client, alice, alices_pages):
    login(client, alice)
    for url in alices_pages:
        assert client.get(url).status_code == 200


def test_bob_gets_404_on_everything_of_alices(client, bob, bobs_course, alices_pages):
    login(client, bob)
    for url in alices_pages:
        assert client.get(url).status_code == 404


def test_an_admin_sees_everything(client, admin_user, alices_pages):
    login(client, admin_user)
    for url in alices_pages:
        assert client.get(url).status_code == 200


def test_a_teachers_home_lists_only_their_courses(client, alice, course, bobs_course):
    body = login(client, alice).get(reverse("attendance:home")).content.decode()
    assert "BIO101" in body
    assert "CHE201" not in body


def test_home_shows_todays_sessions(client, alice, course):
    today = session_create(
        course=course,
        date=timezone.localdate(),
        start_time=time(13),
        end_time=time(14),
        room="Lab 3",
    )
    body = login(client, alice).get(reverse("attendance:home")).content.decode()
    assert reverse("attendance:session_detail", args=[today.pk]) in body
    assert "Lab 3" in body


@pytest.mark.parametrize(
    "name", ["attendance:student_list", "attendance:student_create", "attendance:course_create"]
)
def test_management_pages_are_for_admins_only(client, alice, admin_user, name):
    url = reverse(name)
    assert login(client, alice).get(url).status_code == 404
    assert login(client, admin_user).get(url).status_code == 200


def test_bob_cannot_mark_attendance_in_alices_session(client, bob, session, student):
    login(client, bob)
    url = reverse("attendance:session_mark", args=[session.pk])
    response = client.post(url, {"student": student.pk, "status": "present"})
    assert response.status_code == 404
    assert session.records.count() == 0


def test_bob_cannot_finalize_alices_session(client, bob, session):
    login(client, bob)
    assert client.post(reverse("attendance:session_finalize", args=[session.pk])).status_code == 404
    session.refresh_from_db()
    assert session.is_open


def test_a_teacher_cannot_delete_a_student(client, alice, student):
    login(client, alice)
    assert client.post(reverse("attendance:student_delete", args=[student.pk])).status_code == 404
    assert type(student).objects.filter(pk=student.pk).exists()
