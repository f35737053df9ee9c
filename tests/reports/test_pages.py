"""Report pages, their CSV exports and the API token page: who may see them and what they show."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse

from attendance.selectors.reports import CSV_COLUMNS

pytestmark = pytest.mark.django_db


@pytest.fixture
def alices_reports(term):
    return [
        reverse("attendance:report_course", args=[term.course.pk]),
        reverse("attendance:report_course_csv", args=[term.course.pk]),
        reverse("attendance:report_session", args=[term.oct12.pk]),
        reverse("attendance:report_session_csv", args=[term.oct12.pk]),
        reverse("attendance:report_student", args=[term.ada.pk]),
        reverse("attendance:report_student_csv", args=[term.ada.pk]),
    ]


def read_csv(response) -> list[dict]:
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response.content.startswith("\ufeff".encode())
    reader = csv.reader(io.StringIO(response.content.decode("utf-8-sig")))
    header = next(reader)
    assert header == CSV_COLUMNS
    return [dict(zip(header, row, strict=True)) for row in reader]


def test_anonymous_visitors_are_sent_to_log_in(client, alices_reports):
    for url in alices_reports:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("login"))


def test_alice_and_the_admin_open_every_report(client, alice, admin_user, alices_reports):
    for user in (alice, admin_user):
        client.force_login(user)
        for url in alices_reports:
            assert client.get(url).status_code == 200, (user, url)


def test_bob_gets_404_on_every_report_of_alices(client, bob, bobs_course, alices_reports):
    client.force_login(bob)
    for url in alices_reports:
        assert client.get(url).status_code == 404, url


def test_the_course_page_flags_students_and_draws_both_charts(client, alice, term):
    client.force_login(alice)
    response = client.get(reverse("attendance:report_course", args=[term.course.pk]))
    body = response.content.decode()

    assert body.count('<tr class="flagged">') == 2
    assert body.count('<svg class="chart"') == 2
    assert "threshold 80%" in body
    assert "<td class=l>L" in body
    assert "37.5%" in body


def test_the_course_page_filters_by_date(client, alice, term):
    client.force_login(alice)
    url = reverse("attendance:report_course", args=[term.course.pk])

    response = client.get(url, {"date_from": "2026-10-10", "date_to": "2026-10-20"})

    assert response.context["summary"]["sessions"] == 2
    assert 'title="Mon 2026-10-12 09:00"' in response.content.decode()
    assert 'title="Mon 2026-10-05 09:00"' not in response.content.decode()


def test_a_reversed_date_range_is_reported_and_not_applied(client, alice, term):
    client.force_login(alice)
    url = reverse("attendance:report_course", args=[term.course.pk])

    response = client.get(url, {"date_from": "2026-10-20", "date_to": "2026-10-10"})

    assert response.status_code == 200
    assert "&#x27;To&#x27; comes before &#x27;From&#x27;." in response.content.decode()
    assert response.context["summary"]["sessions"] == 4


def test_the_course_page_shows_a_new_mark_at_once_despite_the_cache(client, alice, term):
    from attendance.services.records import attendance_mark

    client.force_login(alice)
    url = reverse("attendance:report_course", args=[term.course.pk])
    assert client.get(url).context["summary"]["rate"] == 37.5

    attendance_mark(session=term.oct19, student=term.ben, status="present", source="manual")

    assert client.get(url).context["summary"]["rate"] == 2.5 / 4 * 100


def test_the_course_page_follows_a_change_of_the_courses_threshold(client, alice, term):
    client.force_login(alice)
    url = reverse("attendance:report_course", args=[term.course.pk])
    assert client.get(url).context["summary"]["flagged"] == 2

    term.course.attendance_threshold = 50
    term.course.save()

    assert client.get(url).context["summary"]["flagged"] == 1


def test_the_course_csv_has_one_row_per_student_and_session(client, alice, term):
    client.force_login(alice)
    url = reverse("attendance:report_course_csv", args=[term.course.pk])

    response = client.get(url, {"date_to": "2026-10-12"})
    rows = read_csv(response)

    assert response["Content-Disposition"] == (
        'attachment; filename="BIO101_2026-fall_matrix_start_2026-10-12.csv"'
    )
    assert [(r["session_date"], r["student_name"], r["status"]) for r in rows] == [
        ("2026-10-05", "Ada Lovelace", "present"),
        ("2026-10-12", "Ada Lovelace", "late"),
        ("2026-10-12", "Ben Franklin", "absent"),
    ]


def test_the_session_csv_names_who_marked_each_student(client, alice, term):
    client.force_login(alice)

    rows = read_csv(client.get(reverse("attendance:report_session_csv", args=[term.oct12.pk])))

    assert [(r["student_number"], r["status"], r["marked_by"], r["credit"]) for r in rows] == [
        ("S001", "late", "alice", "0.5"),
        ("S002", "absent", "alice", "0"),
    ]
    assert {r["session_rate"] for r in rows} == {"25.0"}


def test_the_student_csv_holds_only_courses_the_viewer_may_see(client, alice, term, bobs_course):
    from datetime import date

    from attendance.services.courses import enrollment_create, session_create

    enrollment_create(student=term.ada, course=bobs_course, joined_on=date(2026, 9, 1))
    session_create(
        course=bobs_course,
        date=date(2026, 10, 6),
        start_time=term.oct5.start_time,
        end_time=term.oct5.end_time,
    )
    client.force_login(alice)

    rows = read_csv(client.get(reverse("attendance:report_student_csv", args=[term.ada.pk])))

    assert {r["course_code"] for r in rows} == {"BIO101"}
    assert len(rows) == 4


def test_the_session_sheet_page_lists_status_source_and_marker(client, alice, term):
    client.force_login(alice)

    body = client.get(reverse("attendance:report_session", args=[term.oct12.pk])).content.decode()

    assert "Ada Lovelace" in body and "Ben Franklin" in body
    assert "Marked by hand" in body
    assert "25.0%" in body


def test_token_pages_need_a_login_and_a_post(client, alice):
    assert client.get(reverse("attendance:api_tokens")).status_code == 302
    client.force_login(alice)
    assert client.get(reverse("attendance:api_token_create")).status_code == 405


def test_the_course_session_and_student_pages_link_to_their_reports(client, alice, term):
    client.force_login(alice)
    pages = {
        "attendance:course_detail": (term.course.pk, "attendance:report_course"),
        "attendance:session_detail": (term.oct12.pk, "attendance:report_session"),
        "attendance:student_detail": (term.ada.pk, "attendance:report_student"),
    }
    for page, (pk, report) in pages.items():
        body = client.get(reverse(page, args=[pk])).content.decode()
        assert f'href="{reverse(report, args=[pk])}"' in body, page
    assert reverse("attendance:api_tokens") in body


def test_a_name_that_a_spreadsheet_would_run_is_exported_as_text(client, alice, term):
    from attendance.services.students import student_update

    student_update(student=term.ben, full_name='=HYPERLINK("http://evil.example","Ben")')
    client.force_login(alice)

    rows = read_csv(client.get(reverse("attendance:report_session_csv", args=[term.oct12.pk])))

    assert rows[0]["student_name"] == '\'=HYPERLINK("http://evil.example","Ben")'


def test_the_student_page_shows_each_course_with_a_dash_where_nothing_was_held(
    client, admin_user, term, bobs_course
):
    from datetime import date

    from attendance.services.courses import enrollment_create

    enrollment_create(student=term.ada, course=bobs_course, joined_on=date(2026, 9, 1))
    client.force_login(admin_user)

    body = client.get(reverse("attendance:report_student", args=[term.ada.pk])).content.decode()

    assert "Rate <strong>75.0%</strong>" in body
    assert "Rate <strong>–</strong>" in body
    assert "below the 80% threshold" in body
