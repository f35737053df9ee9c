"""The session page's forms about one student (a mark, its clearing, a remark) share one path:
the session as the asker sees it, the form checked, the student among those the asker may see,
one service."""

from __future__ import annotations

import pytest
from django.urls import reverse

from attendance.services import records as record_services
from attendance.services import students as student_services

pytestmark = pytest.mark.django_db

FORMS = {
    "session_mark": {"status": "present", "reason": ""},
    "session_remark": {"remark": "doctor's note"},
    "session_clear": {"reason": ""},
}


@pytest.fixture
def marked(session, student, alice):
    record_services.attendance_mark(
        session=session, student=student, status="late", source="manual", by=alice
    )


def post(client, view, session, **data):
    url = reverse(f"attendance:{view}", args=[session.pk])
    return client.post(url, {**FORMS[view], **data}, HTTP_ACCEPT="application/json")


@pytest.mark.parametrize("view", FORMS)
def test_alice_sets_it_for_her_student(view, client, alice, session, student, marked):
    client.force_login(alice)
    response = post(client, view, session, student=student.pk)
    assert response.status_code == 200
    assert "Ada Lovelace" in response.json()["message"]


@pytest.mark.parametrize("view", FORMS)
def test_a_student_alice_may_not_see_is_a_404(view, client, alice, session, admin_user):
    charlie = student_services.student_create(student_number="S099", full_name="Charlie")
    client.force_login(alice)
    assert post(client, view, session, student=charlie.pk).status_code == 404


@pytest.mark.parametrize("view", FORMS)
def test_a_form_without_a_student_is_refused_with_the_field_named(view, client, alice, session):
    client.force_login(alice)
    response = post(client, view, session, student="")
    assert response.status_code == 400
    assert "student" in response.content.decode()


@pytest.mark.parametrize("view", FORMS)
def test_bob_cannot_use_it_on_alices_session(view, client, bob, session, student, marked):
    client.force_login(bob)
    assert post(client, view, session, student=student.pk).status_code == 404
