"""Running a school's people from the app: teachers invited by email, deactivated and listed;
password reset from the login page; students edited, searched and filtered; many students
enrolled at once and unenrolled with their history kept."""

from __future__ import annotations

import re
from datetime import date, time

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.urls import reverse

from attendance.models import AuditEvent, Enrollment, ReferencePhoto
from attendance.selectors.sessions import roster_students
from attendance.services import courses as course_services
from attendance.services import students as student_services
from attendance.services.tokens import api_token_create

pytestmark = pytest.mark.django_db
User = get_user_model()


def signs_in(client, username: str, password: str) -> bool:
    """Through the login page, as a person would (axes checks every sign-in)."""
    client.logout()
    response = client.post(reverse("login"), {"username": username, "password": password})
    return response.status_code == 302


def emailed_link(message) -> str:
    return re.search(r"https?://testserver(/\S+)", message.body).group(1)


def test_an_invited_teacher_sets_a_password_from_the_emailed_link_and_signs_in(
    client, admin_user, django_capture_on_commit_callbacks
):
    client.force_login(admin_user)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("attendance:teacher_create"),
            {
                "full_name": "Dora Diaz",
                "email": "dora@school.edu",
                "username": "dora",
                "role": "teacher",
            },
        )

    assert response.status_code == 302
    dora = User.objects.get(username="dora")
    assert (dora.get_full_name(), dora.is_staff, dora.has_usable_password()) == (
        "Dora Diaz",
        False,
        False,
    )
    assert [m.to for m in mail.outbox] == [["dora@school.edu"]]
    assert "Dora Diaz" in mail.outbox[0].body
    client.logout()
    form_url = client.get(emailed_link(mail.outbox[0]))["Location"]
    done = client.post(form_url, {"new_password1": "Tr1cky-pass!", "new_password2": "Tr1cky-pass!"})
    assert done.status_code == 302
    assert signs_in(client, "dora", "Tr1cky-pass!")


def test_when_the_mail_server_is_down_the_account_stays_and_the_invitation_is_sent_again(
    client, admin_user, settings
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2
    client.force_login(admin_user)

    response = client.post(
        reverse("attendance:teacher_create"),
        {
            "full_name": "Dora Diaz",
            "email": "dora@school.edu",
            "username": "dora",
            "role": "teacher",
        },
        follow=True,
    )

    assert "could not be sent" in response.content.decode()
    dora = User.objects.get(username="dora")
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    client.post(reverse("attendance:teacher_reinvite", args=[dora.pk]))
    assert [m.to for m in mail.outbox] == [["dora@school.edu"]]
    form_url = client.get(emailed_link(mail.outbox[0]))["Location"]
    client.post(form_url, {"new_password1": "Tr1cky-pass!", "new_password2": "Tr1cky-pass!"})
    assert signs_in(client, "dora", "Tr1cky-pass!")


def test_the_admin_role_makes_staff_and_a_taken_username_is_refused(
    client, admin_user, alice, django_capture_on_commit_callbacks
):
    client.force_login(admin_user)
    url = reverse("attendance:teacher_create")

    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            url, {"full_name": "Eve", "email": "eve@school.edu", "username": "eve", "role": "admin"}
        )
        taken = client.post(
            url, {"full_name": "A", "email": "a@school.edu", "username": "ALICE", "role": "teacher"}
        )

    assert User.objects.get(username="eve").is_staff
    assert taken.status_code == 400
    assert "is taken" in taken.content.decode()
    assert len(mail.outbox) == 1


def test_teachers_are_listed_by_full_name_and_only_admins_see_the_list(client, admin_user, alice):
    alice.first_name, alice.last_name = "Alice", "Adams"
    alice.save()
    client.force_login(alice)
    assert client.get(reverse("attendance:teacher_list")).status_code == 404

    client.force_login(admin_user)
    body = client.get(reverse("attendance:teacher_list")).content.decode()

    assert "Alice Adams" in body and "alice@example.edu" in body


def test_a_deactivated_teacher_can_no_longer_sign_in_and_can_be_reactivated(
    client, admin_user, alice
):
    client.force_login(admin_user)
    url = reverse("attendance:teacher_active", args=[alice.pk])

    key = api_token_create(user=alice, name="gradebook").key
    client.post(url, {"active": "0"})
    alice.refresh_from_db()
    assert not alice.is_active
    assert not signs_in(client, "alice", "alice-pass-1")
    assert client.get("/api/courses/", HTTP_AUTHORIZATION=f"Token {key}").status_code == 401
    assert AuditEvent.objects.filter(action="teacher_deactivated").count() == 1

    client.force_login(admin_user)
    client.post(url, {"active": "1"})
    assert signs_in(client, "alice", "alice-pass-1")


def test_an_admin_cannot_deactivate_themselves(client, admin_user):
    client.force_login(admin_user)

    client.post(reverse("attendance:teacher_active", args=[admin_user.pk]), {"active": "0"})

    admin_user.refresh_from_db()
    assert admin_user.is_active


def test_the_login_page_offers_a_password_reset_by_email(client, alice):
    page = client.get(reverse("login")).content.decode()
    assert reverse("password_reset") in page

    client.post(reverse("password_reset"), {"email": "alice@example.edu"})

    assert [m.to for m in mail.outbox] == [["alice@example.edu"]]
    form_url = client.get(emailed_link(mail.outbox[0]))["Location"]
    client.post(form_url, {"new_password1": "N3w-secret!", "new_password2": "N3w-secret!"})
    assert signs_in(client, "alice", "N3w-secret!")


def test_an_admin_edits_a_students_name_number_and_email_with_an_audit_line(
    client, admin_user, student
):
    client.force_login(admin_user)

    response = client.post(
        reverse("attendance:student_edit", args=[student.pk]),
        {"student_number": "S900", "full_name": "Ada King", "email": "ada@school.edu"},
    )

    assert response.status_code == 302
    student.refresh_from_db()
    assert (student.student_number, student.full_name, student.email) == (
        "S900",
        "Ada King",
        "ada@school.edu",
    )
    event = AuditEvent.objects.get(action="student_changed")
    assert event.detail["full_name"] == ["Ada Lovelace", "Ada King"]


def test_the_student_list_searches_filters_and_counts_usable_photos(
    client, admin_user, course, student, jpeg_upload
):
    ReferencePhoto.objects.create(student=student, image=jpeg_upload, status="ready")
    ReferencePhoto.objects.create(student=student, image=jpeg_upload, status="rejected")
    ben = student_services.student_create(student_number="S002", full_name="Ben Franklin")
    student_services.student_create(student_number="S003", full_name="Cleo Ng")
    course_services.enrollment_create(student=ben, course=course, joined_on=date(2026, 9, 1))
    client.force_login(admin_user)
    url = reverse("attendance:student_list")

    def names(**query):
        return [s.full_name for s in client.get(url, query).context["students"]]

    assert names(q="fran") == ["Ben Franklin"]
    assert names(course=course.pk) == ["Ada Lovelace", "Ben Franklin"]
    assert names(needs_photos="1") == ["Ben Franklin", "Cleo Ng"]
    assert names(no_consent="1", course=course.pk) == ["Ben Franklin"]
    ada = client.get(url, {"q": "ada"}).context["students"][0]
    assert ada.usable_photos == 1


def test_the_enrol_dialog_hides_those_enrolled_and_enrols_many_at_once(
    client, admin_user, course, student
):
    ben = student_services.student_create(student_number="S002", full_name="Ben Franklin")
    cleo = student_services.student_create(student_number="S003", full_name="Cleo Ng")
    client.force_login(admin_user)

    page = client.get(reverse("attendance:course_detail", args=[course.pk]))
    offered = [s.pk for s in page.context["enroll_form"].fields["students"].queryset]
    assert offered == [ben.pk, cleo.pk]

    client.post(
        reverse("attendance:enrollment_create", args=[course.pk]),
        {"students": [ben.pk, cleo.pk], "joined_on": "2026-09-01"},
    )

    assert set(course.enrollments.values_list("student__student_number", flat=True)) == {
        "S001",
        "S002",
        "S003",
    }


def test_the_enrol_list_shows_a_bounded_page_of_matches_and_says_how_many(
    client, admin_user, course, monkeypatch
):
    from attendance.forms.enrollments import EnrollmentForm

    monkeypatch.setattr(EnrollmentForm, "SHOWN", 2)
    for number, name in [("S1", "Ada"), ("S2", "Ben"), ("S3", "Bea"), ("S4", "Cy")]:
        student_services.student_create(student_number=number, full_name=name)
    client.force_login(admin_user)
    url = reverse("attendance:course_detail", args=[course.pk])

    page = client.get(url)
    found = client.get(url, {"enrol_q": "be"})

    assert "2 shown of 4 not enrolled: search to find the others" in page.content.decode()
    shown = found.context["enroll_form"].fields["students"].queryset
    assert [s.full_name for s in shown] == ["Bea", "Ben"]


def test_unenrolling_keeps_the_history_and_leaves_later_rosters(
    client, admin_user, course, student
):
    before = course_services.session_create(
        course=course, date=date(2026, 10, 5), start_time=time(9), end_time=time(10)
    )
    after = course_services.session_create(
        course=course, date=date(2026, 10, 20), start_time=time(9), end_time=time(10)
    )
    enrollment = Enrollment.objects.get(course=course, student=student)
    client.force_login(admin_user)

    client.post(
        reverse("attendance:enrollment_end", args=[enrollment.pk]), {"left_on": "2026-10-10"}
    )

    enrollment.refresh_from_db()
    assert enrollment.left_on == date(2026, 10, 10)
    assert list(roster_students(session=before)) == [student]
    assert list(roster_students(session=after)) == []
    assert AuditEvent.objects.filter(action="enrollment_ended", student=student).count() == 1


def test_the_course_page_lists_teachers_by_full_name(client, alice, course):
    alice.first_name, alice.last_name = "Alice", "Adams"
    alice.save()
    client.force_login(alice)

    body = client.get(reverse("attendance:course_detail", args=[course.pk])).content.decode()

    assert "Teachers: Alice Adams" in body


def test_a_teacher_cannot_edit_students_or_change_enrolments(client, alice, course, student):
    enrollment = Enrollment.objects.get(course=course, student=student)
    client.force_login(alice)

    for url, data in [
        (reverse("attendance:student_edit", args=[student.pk]), {"full_name": "X"}),
        (reverse("attendance:enrollment_end", args=[enrollment.pk]), {"left_on": "2026-10-10"}),
        (reverse("attendance:enrollment_create", args=[course.pk]), {"students": [student.pk]}),
        (reverse("attendance:teacher_active", args=[alice.pk]), {"active": "0"}),
    ]:
        assert client.post(url, data).status_code == 404, url
    enrollment.refresh_from_db()
    assert enrollment.left_on is None
    assert (
        "Enrol students"
        not in client.get(reverse("attendance:course_detail", args=[course.pk])).content.decode()
    )
