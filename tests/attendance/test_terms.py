"""Terms and sessions from the course page: it opens at today, generating a term skips the
installation's holidays (with a preview), and several sessions are cancelled or deleted at once."""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from attendance.errors import DomainError
from attendance.models import AuditEvent, ClassSession, Holiday
from attendance.selectors.reports import course_matrix
from attendance.services import courses as course_services
from attendance.services import records as record_services

pytestmark = pytest.mark.django_db

TERM = {
    "first_day": "2026-09-07",
    "last_day": "2026-09-27",
    "weekdays": ["0", "2"],
    "start_time": "10:00",
    "end_time": "11:00",
    "room": "C3",
}


def test_generating_a_term_skips_the_holidays_and_the_preview_creates_nothing(
    client, alice, course
):
    Holiday.objects.create(date=date(2026, 9, 16), name="School trip")
    client.force_login(alice)

    preview = client.post(reverse("attendance:sessions_generate_preview", args=[course.pk]), TERM)

    body = preview.content.decode()
    assert preview.status_code == 200
    assert "5 sessions will be created" in body
    assert "Wed 2026-09-16" in body and "School trip" in body
    assert ClassSession.objects.count() == 0

    client.post(reverse("attendance:sessions_generate", args=[course.pk]), TERM)

    assert [s.date.day for s in ClassSession.objects.order_by("date")] == [7, 9, 14, 21, 23]


def test_the_holiday_list_is_kept_by_admins_only(client, admin_user, alice):
    client.force_login(alice)
    assert client.get(reverse("attendance:holiday_list")).status_code == 404

    client.force_login(admin_user)
    client.post(reverse("attendance:holiday_list"), {"date": "2026-12-25", "name": "Christmas"})
    client.post(reverse("attendance:holiday_list"), {"date": "2026-12-25", "name": "Again"})

    assert list(Holiday.objects.values_list("name", flat=True)) == ["Christmas"]
    holiday = Holiday.objects.get()
    client.post(reverse("attendance:holiday_delete", args=[holiday.pk]))
    assert not Holiday.objects.exists()


@pytest.fixture
def three_sessions(course):
    return [
        course_services.session_create(
            course=course, date=date(2026, 10, day), start_time=time(9), end_time=time(10)
        )
        for day in (5, 12, 19)
    ]


def test_cancelled_sessions_count_for_nobody_and_take_no_marks(
    client, alice, course, student, three_sessions
):
    oct5, oct12, oct19 = three_sessions
    record_services.attendance_mark(
        session=oct5, student=student, status="present", source="manual", by=alice
    )
    client.force_login(alice)

    client.post(
        reverse("attendance:sessions_bulk", args=[course.pk]),
        {"sessions": [oct5.pk, oct12.pk], "action": "cancel"},
    )

    assert set(ClassSession.objects.values_list("date__day", "state")) == {
        (5, "cancelled"),
        (12, "cancelled"),
        (19, "open"),
    }
    matrix = course_matrix(course=course, today=date(2026, 11, 1))
    assert [(c.date.day, c.held) for c in matrix.sessions] == [(19, True)]
    assert AuditEvent.objects.filter(action="sessions_cancelled").count() == 1
    with pytest.raises(DomainError, match="cancelled"):
        record_services.attendance_mark(
            session=ClassSession.objects.get(pk=oct12.pk),
            student=student,
            status="present",
            source="manual",
            by=alice,
        )


def test_a_session_with_marks_is_never_deleted(client, alice, bob, course, student, three_sessions):
    oct5, oct12, oct19 = three_sessions
    record_services.attendance_mark(
        session=oct5, student=student, status="present", source="manual", by=alice
    )
    url = reverse("attendance:sessions_bulk", args=[course.pk])
    client.force_login(bob)
    assert client.post(url, {"sessions": [oct12.pk], "action": "delete"}).status_code == 404

    client.force_login(alice)
    refused = client.post(url, {"sessions": [oct5.pk, oct12.pk], "action": "delete"}, follow=True)

    assert "cancel it instead" in refused.content.decode()
    assert ClassSession.objects.count() == 3
    client.post(url, {"sessions": [oct12.pk, oct19.pk], "action": "delete"})
    assert list(ClassSession.objects.values_list("pk", flat=True)) == [oct5.pk]


def test_the_course_page_opens_at_today_with_the_next_session_pinned(client, alice, course):
    today = timezone.localdate()
    for offset in (-14, -7, 2, 9, 16):
        course_services.session_create(
            course=course, date=today + timedelta(offset), start_time=time(9), end_time=time(10)
        )
    client.force_login(alice)
    url = reverse("attendance:course_detail", args=[course.pk])

    page = client.get(url)

    assert page.context["pinned"].date == today + timedelta(2)
    assert [s.date for s in page.context["sessions"]] == [today + timedelta(d) for d in (2, 9, 16)]
    past = client.get(url, {"show": "past"}).context["sessions"]
    assert [s.date for s in past] == [today - timedelta(7), today - timedelta(14)]
    assert len(client.get(url, {"show": "all"}).context["sessions"]) == 5
    assert len(client.get(url, {"show": "all", "per_page": "2"}).context["sessions"]) == 2


def test_bob_and_anonymous_reach_nothing_of_alices_term(client, bob, course, three_sessions):
    preview = reverse("attendance:sessions_generate_preview", args=[course.pk])
    assert client.post(preview, TERM).status_code == 302  # to the login page
    client.force_login(bob)

    assert client.post(preview, TERM).status_code == 404
    assert (
        client.post(reverse("attendance:sessions_generate", args=[course.pk]), TERM).status_code
        == 404
    )
    assert client.get(reverse("attendance:course_detail", args=[course.pk])).status_code == 404
    assert ClassSession.objects.count() == 3


def test_adding_and_removing_a_holiday_in_the_app_is_on_the_audit_trail(client, admin_user):
    client.force_login(admin_user)

    client.post(reverse("attendance:holiday_list"), {"date": "2026-12-25", "name": "Christmas"})
    holiday = Holiday.objects.get()
    client.post(reverse("attendance:holiday_delete", args=[holiday.pk]))

    events = AuditEvent.objects.order_by("pk")
    assert [(e.action, e.by, e.subject) for e in events] == [
        ("holiday_added", admin_user, "Christmas (2026-12-25)"),
        ("holiday_removed", admin_user, "Christmas (2026-12-25)"),
    ]
    assert events[0].detail == {"date": "2026-12-25", "name": "Christmas"}


def test_a_holiday_refused_twice_writes_no_audit_event(admin_user):
    course_services.holiday_create(day=date(2026, 12, 25), name="Christmas", by=admin_user)
    with pytest.raises(DomainError):
        course_services.holiday_create(day=date(2026, 12, 25), name="Again", by=admin_user)

    assert AuditEvent.objects.filter(action="holiday_added").count() == 1
