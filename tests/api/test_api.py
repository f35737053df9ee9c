"""What the API answers: error shape, filters, pagination, corrections, reports, docs."""

from __future__ import annotations

import re
from datetime import date, time

import pytest
from django.contrib.staticfiles import finders
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from attendance.models import AttendanceChange, AttendanceRecord
from attendance.services import courses as course_services
from attendance.services import records as record_services
from tests.api.conftest import api_client

pytestmark = pytest.mark.django_db


def error(response) -> dict:
    return response.json()["error"]


# Errors -------------------------------------------------------------------------------------


def test_anonymous_requests_get_401_with_the_error_shape():
    response = APIClient().get("/api/courses/")

    assert response.status_code == 401
    assert response.json() == {
        "error": {
            "code": "not_authenticated",
            "message": "Authentication credentials were not provided.",
        }
    }
    assert response["WWW-Authenticate"] == "Token"


def test_a_bad_token_is_refused():
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")

    response = client.get("/api/courses/")

    assert response.status_code == 401
    assert error(response)["code"] == "authentication_failed"


def test_something_of_someone_else_is_not_found(bob, bobs_course, course):
    response = api_client(bob).get(f"/api/courses/{course.pk}/")

    assert response.status_code == 404
    assert error(response) == {"code": "not_found", "message": "Not found, or not yours to see."}


def test_invalid_fields_are_listed_by_name(alice, course):
    response = api_client(alice).post(
        "/api/sessions/", {"course": course.pk, "date": "tomorrow"}, format="json"
    )

    assert response.status_code == 400
    body = error(response)
    assert body["code"] == "invalid"
    assert set(body["fields"]) == {"date", "start_time", "end_time"}


def test_a_domain_error_keeps_its_code_and_status(alice, course, session):
    response = api_client(alice).post(
        "/api/sessions/",
        {"course": course.pk, "date": "2026-10-05", "start_time": "09:00", "end_time": "10:00"},
        format="json",
    )

    assert response.status_code == 400
    assert error(response)["code"] == "session_exists"


def test_correcting_a_finalized_session_is_a_409(alice, session, student):
    record_services.session_finalize(session=session, by=alice)

    response = api_client(alice).post(
        "/api/records/",
        {"session": session.pk, "student": student.pk, "status": "late", "reason": "bus"},
        format="json",
    )

    assert response.status_code == 409
    assert error(response)["code"] == "session_finalized"


def test_a_file_that_is_not_an_image_is_refused_with_its_code(alice, session):
    upload = SimpleUploadedFile("notes.jpg", b"not a jpeg at all", content_type="image/jpeg")

    response = api_client(alice).post(
        "/api/captures/", {"session": session.pk, "image": upload}, format="multipart"
    )

    assert response.status_code == 400
    assert error(response)["code"] == "not_an_image"


def test_a_non_numeric_id_is_not_found(alice):
    response = api_client(alice).get("/api/courses/abc/")

    assert response.status_code == 404


def test_a_session_authenticated_write_needs_the_csrf_token(client, alice, course):
    api = APIClient(enforce_csrf_checks=True)
    api.force_login(alice)

    response = api.post(
        "/api/sessions/",
        {"course": course.pk, "date": "2026-10-07", "start_time": "09:00", "end_time": "10:00"},
        format="json",
    )

    assert response.status_code == 403
    assert error(response)["code"] == "permission_denied"
    assert api.get("/api/sessions/").status_code == 200


# Uploads ------------------------------------------------------------------------------------


def test_a_capture_upload_answers_202_with_where_to_poll(alice, session):
    from tests.api.conftest import jpeg_upload

    response = api_client(alice).post(
        "/api/captures/", {"session": session.pk, "image": jpeg_upload()}, format="multipart"
    )

    assert response.status_code == 202
    body = response.json()
    assert body["state"] == "queued"
    assert body["source"] == "api"
    assert body["url"] == f"http://testserver/api/captures/{body['id']}/"
    assert response["Location"] == body["url"]
    assert (body["faces"], body["marks"]) == ([], [])


def test_a_photo_of_a_student_without_consent_is_refused(admin_user, course):
    from attendance.services.students import student_create
    from tests.api.conftest import jpeg_upload

    nobody = student_create(student_number="S404", full_name="No Consent")

    response = api_client(admin_user).post(
        "/api/photos/", {"student": nobody.pk, "image": jpeg_upload()}, format="multipart"
    )

    assert response.status_code == 409
    assert error(response)["code"] == "no_consent"


# Writes -------------------------------------------------------------------------------------


def test_a_correction_goes_through_the_service_with_source_api_and_the_reason(
    alice, session, student
):
    response = api_client(alice).post(
        "/api/records/",
        {"session": session.pk, "student": student.pk, "status": "excused", "reason": "Flu"},
        format="json",
    )

    assert response.status_code == 200
    assert response.json()["status"] == "excused"
    assert response.json()["source"] == "api"
    assert response.json()["marked_by"] == "alice"
    change = AttendanceChange.objects.get(session=session, student=student)
    assert (change.new_status, change.new_source, change.reason) == ("excused", "api", "Flu")


def test_sending_the_same_correction_twice_writes_one_record_and_one_change(
    alice, session, student
):
    body = {"session": session.pk, "student": student.pk, "status": "late", "reason": "bus"}
    client = api_client(alice)

    client.post("/api/records/", body, format="json")
    client.post("/api/records/", body, format="json")

    assert AttendanceRecord.objects.filter(session=session, student=student).count() == 1
    assert AttendanceChange.objects.filter(session=session, student=student).count() == 1


def test_a_correction_needs_a_reason(alice, session, student):
    response = api_client(alice).post(
        "/api/records/",
        {"session": session.pk, "student": student.pk, "status": "late"},
        format="json",
    )

    assert response.status_code == 400
    assert error(response)["fields"] == {"reason": ["This field is required."]}


def test_an_admin_creates_a_student_with_consent_recorded_under_their_name(admin_user):
    response = api_client(admin_user).post(
        "/api/students/",
        {"student_number": "S100", "full_name": "Grace Hopper", "consent": True},
        format="json",
    )

    assert response.status_code == 201
    assert response.json()["has_photo_consent"] is True


def test_a_student_number_of_someone_else_is_a_conflict_naming_them(admin_user, student):
    response = api_client(admin_user).post(
        "/api/students/", {"student_number": "S001", "full_name": "Again"}, format="json"
    )

    assert response.status_code == 409
    assert error(response)["code"] == "student_number_taken"
    assert error(response)["message"].startswith("Student number S001 belongs to Ada Lovelace")


# Filters and pages ----------------------------------------------------------------------------


@pytest.fixture
def three_sessions(course):
    return [
        course_services.session_create(
            course=course, date=date(2026, 10, day), start_time=time(9), end_time=time(10)
        )
        for day in (5, 12, 19)
    ]


def test_sessions_filter_by_date_range_and_course(alice, course, bobs_course, three_sessions):
    client = api_client(alice)

    response = client.get(
        "/api/sessions/", {"course": course.pk, "date_from": "2026-10-10", "date_to": "2026-10-19"}
    )

    assert [s["date"] for s in response.json()["results"]] == ["2026-10-12", "2026-10-19"]
    assert client.get("/api/sessions/", {"course": bobs_course.pk}).json()["count"] == 0


def test_records_filter_by_student_and_date(alice, student, three_sessions):
    for session in three_sessions:
        record_services.attendance_mark(
            session=session, student=student, status="present", source="manual", by=alice
        )

    response = api_client(alice).get(
        "/api/records/", {"student": student.pk, "date_from": "2026-10-12"}
    )

    assert [r["session_date"] for r in response.json()["results"]] == ["2026-10-12", "2026-10-19"]


def test_a_bad_filter_value_is_a_400(alice):
    response = api_client(alice).get("/api/sessions/", {"date_from": "last week"})

    assert response.status_code == 400
    assert list(error(response)["fields"]) == ["date_from"]


def test_lists_are_paginated(alice, three_sessions):
    body = api_client(alice).get("/api/sessions/", {"page_size": 2}).json()

    assert body["count"] == 3
    assert len(body["results"]) == 2
    assert body["next"] == "http://testserver/api/sessions/?page=2&page_size=2"


def test_a_page_past_the_end_is_not_found(alice, three_sessions):
    response = api_client(alice).get("/api/sessions/", {"page": 9})

    assert response.status_code == 404
    assert error(response)["code"] == "not_found"


# Reports ------------------------------------------------------------------------------------


def test_the_course_report_has_the_same_figures_as_the_page(alice, term):
    body = api_client(alice).get(f"/api/reports/courses/{term.course.pk}/").json()

    assert body["tally"]["rate"] == 37.5
    assert [s["tally"]["rate"] for s in body["sessions"]] == [100.0, 25.0, 0.0, None]
    assert [(s["full_name"], s["tally"]["rate"], s["flagged"]) for s in body["students"]] == [
        ("Ada Lovelace", 75.0, True),
        ("Ben Franklin", 0.0, True),
    ]
    assert body["students"][1]["statuses"] == [None, "absent", "", ""]
    assert body["rate_histogram"] == [1, 0, 0, 0, 0, 0, 0, 1, 0, 0]


def test_the_course_report_filters_by_date(alice, term):
    body = (
        api_client(alice)
        .get(f"/api/reports/courses/{term.course.pk}/", {"date_to": "2026-10-05"})
        .json()
    )

    assert [s["date"] for s in body["sessions"]] == ["2026-10-05"]
    assert body["date_to"] == "2026-10-05"
    assert [s["full_name"] for s in body["students"]] == ["Ada Lovelace"]


def test_a_reversed_report_range_is_a_400(alice, term):
    response = api_client(alice).get(
        f"/api/reports/courses/{term.course.pk}/",
        {"date_from": "2026-10-20", "date_to": "2026-10-01"},
    )

    assert response.status_code == 400
    assert error(response)["fields"] == {"date_to": ["date_to comes before date_from."]}


def test_the_session_report_lists_who_marked_whom(alice, term):
    body = api_client(alice).get(f"/api/reports/sessions/{term.oct12.pk}/").json()

    assert [(x["student"]["full_name"], x["status"], x["marked_by"]) for x in body["lines"]] == [
        ("Ada Lovelace", "late", "alice"),
        ("Ben Franklin", "absent", "alice"),
    ]
    assert body["tally"]["rate"] == 25.0


def test_the_student_report_holds_each_visible_course(admin_user, term):
    body = api_client(admin_user).get(f"/api/reports/students/{term.ada.pk}/").json()

    assert [(c["course"]["code"], c["tally"]["rate"]) for c in body["courses"]] == [
        ("BIO101", 75.0)
    ]


# Schema and docs ------------------------------------------------------------------------------


def test_the_schema_is_openapi_3_for_a_signed_in_user(client, alice):
    client.force_login(alice)

    response = client.get("/api/schema/", HTTP_ACCEPT="application/json")

    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert "/api/captures/{id}/" in schema["paths"]
    assert set(schema["components"]["securitySchemes"]) == {"tokenAuth", "cookieAuth"}


def test_a_token_reads_the_schema_too(alice):
    response = api_client(alice).get("/api/schema/", HTTP_ACCEPT="application/json")

    assert response.status_code == 200


def test_anonymous_callers_get_no_schema_and_are_sent_to_sign_in_for_the_docs(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    docs = client.get("/api/docs/")
    script = client.get("/api/docs/?script=")

    assert schema.status_code == 401
    assert "openapi" not in schema.content.decode()
    assert (docs.status_code, docs["Location"]) == (302, "/accounts/login/?next=/api/docs/")
    assert script.status_code == 302


def test_a_setting_opens_the_schema_and_docs_to_everyone(client, settings):
    settings.ROLLCALL_API_DOCS_PUBLIC = True

    assert client.get("/api/schema/", HTTP_ACCEPT="application/json").status_code == 200
    assert client.get("/api/docs/").status_code == 200


def test_the_docs_load_their_assets_locally_not_from_a_cdn(client, alice):
    client.force_login(alice)
    body = client.get("/api/docs/").content.decode()

    assert "/static/drf_spectacular_sidecar/" in body
    assert "cdn" not in body.lower()
    assert "https://" not in body
    assets = re.findall(r'/static/([^"\']+)', body)
    assert len(assets) == 5  # Swagger UI's css, two scripts and icon, and its page style
    assert all(finders.find(asset) for asset in assets), assets


def test_the_docs_start_swagger_ui_from_a_script_file_not_inline(client, alice):
    client.force_login(alice)
    body = client.get("/api/docs/").content.decode()

    assert '<script src="/api/docs/?script="></script>' in body
    assert "<script>" not in body and "<style" not in body
    script = client.get("/api/docs/?script=")
    assert script["Content-Type"] == "application/javascript"
    assert "SwaggerUIBundle" in script.content.decode()
    assert "/api/schema/" in script.content.decode()


def test_the_course_report_is_also_browsable_in_html(alice, term):
    response = api_client(alice).get(
        f"/api/reports/courses/{term.course.pk}/", HTTP_ACCEPT="text/html"
    )

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert "Ada Lovelace" in response.content.decode()


def test_the_course_report_follows_a_new_enrollment_and_a_finalized_session(
    alice, admin_user, term
):
    from attendance.services.students import student_create

    client = api_client(alice)
    url = f"/api/reports/courses/{term.course.pk}/"
    assert len(client.get(url).json()["students"]) == 2

    cy = student_create(student_number="S003", full_name="Cy Young")
    course_services.enrollment_create(student=cy, course=term.course, joined_on=date(2026, 9, 1))
    body = client.get(url).json()
    assert [s["full_name"] for s in body["students"]] == [
        "Ada Lovelace",
        "Ben Franklin",
        "Cy Young",
    ]
    assert body["students"][2]["tally"]["unmarked"] == 3  # three held sessions, no mark

    record_services.session_finalize(session=term.future, by=alice)
    body = client.get(url).json()
    assert [s["held"] for s in body["sessions"]] == [True, True, True, True]
    assert body["students"][2]["tally"]["absent"] == 1  # set absent at finalization


def test_the_course_report_shows_a_renamed_course_and_its_new_teachers(alice, bob, term):
    client = api_client(alice)
    url = f"/api/reports/courses/{term.course.pk}/"
    client.get(url)

    term.course.title = "Advanced Biology"
    term.course.save()
    term.course.teachers.add(bob)

    course = client.get(url).json()["course"]
    assert (course["title"], sorted(course["teachers"])) == ("Advanced Biology", ["alice", "bob"])


def test_listing_captures_takes_the_same_queries_for_one_or_many(
    alice, session, django_assert_max_num_queries
):
    from attendance.services.captures import capture_create
    from tests.api.conftest import jpeg_upload

    for i in range(3):
        photo = jpeg_upload(color=(60 * i, 80, 160))
        capture_create(session=session, image_file=photo, source="upload", by=alice)
    client = api_client(alice)

    with django_assert_max_num_queries(6):  # token, count, captures, faces, their records
        response = client.get("/api/captures/")

    assert response.json()["count"] == 3


# Courses --------------------------------------------------------------------------------------


@pytest.mark.parametrize("username", ["ali\x00ce", "alice\x1b", "\x00"])
def test_a_teacher_username_with_a_control_character_is_a_400_not_a_500(admin_user, username):
    """Found by the schema fuzz: PostgreSQL refuses a NUL byte in a lookup, which was a 500."""
    response = api_client(admin_user).post(
        "/api/courses/",
        {"code": "PHY110", "title": "Physics", "term": "2026-fall", "teachers": [username]},
        format="json",
    )

    assert response.status_code == 400
    assert "teachers" in str(response.json())


def test_an_admin_creates_a_course_with_its_rate_rules(admin_user, alice):
    response = api_client(admin_user).post(
        "/api/courses/",
        {
            "code": "PHY110",
            "title": "Physics",
            "term": "2026-fall",
            "teachers": ["alice"],
            "attendance_threshold": "75.00",
            "late_credit": "0.50",
            "excused_policy": "present",
        },
        format="json",
    )

    assert response.status_code == 201
    body = response.json()
    assert (body["attendance_threshold"], body["late_credit"], body["excused_policy"]) == (
        "75.00",
        "0.50",
        "present",
    )
    assert body["teachers"] == ["alice"]


def test_a_course_left_without_rate_rules_gets_the_defaults(admin_user):
    response = api_client(admin_user).post(
        "/api/courses/", {"code": "ART1", "title": "Art", "term": "2026-fall"}, format="json"
    )

    assert response.status_code == 201
    assert (response.json()["late_credit"], response.json()["excused_policy"]) == (
        "1.00",
        "excluded",
    )


def test_a_late_credit_above_one_is_refused_by_name(admin_user):
    response = api_client(admin_user).post(
        "/api/courses/",
        {"code": "ART2", "title": "Art", "term": "2026-fall", "late_credit": "1.5"},
        format="json",
    )

    assert response.status_code == 400
    assert set(error(response)["fields"]) == {"late_credit"}
